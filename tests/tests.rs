//! Integration tests, compiled into one binary. Each module states what it checks.

/// One example file per kind of bad model input, each with its expected message.
mod bad_input;
/// Batches of scenarios with common random numbers; differences and their errors against kept draws
/// and the spread over seeds.
mod batch;
/// The report: HTML in a headless browser (ignored without chromium), Excel workbook.
mod browser;
/// The binary's exit codes, output streams and formats.
mod cli;
/// `paths`, `calibrate` and `throughput` from the command line, their output checked.
mod commands;
/// Model conventions under their less common branches, against hand-computed values.
mod conventions;
/// Correlations that are met, inputs that follow another's position, Shapley effects.
mod correlations;
/// The Monte Carlo engine: determinism, accuracy, correlations, bad distribution files.
mod engine;
/// `npvrisk fit`: expert quantiles to a ranked set of fits and a distribution-file entry.
mod fit;
/// docs/model-format.md against the fields the parsers accept; `init` and a new case's report.
mod format_reference;
/// A deterministic mutation fuzzer of the loaders over the committed corpus (tests/fuzz/).
mod fuzz;
/// Kept draws of streamed, resumed and sharded runs: the rows of a run in memory.
mod kept_draws;
/// Outcome-level themes (the local cost-benefit method) and the shipped local example.
mod local;
/// Money in the model's own unit (`money_unit`): £m and £bn models agree; `_bn` names.
mod money;
/// Options the other modules leave out, from the command line, their output checked.
mod options;
/// Every statistic of the run summary against closed forms and the kept draws.
mod oracles;
/// Distribution files overlaid on the defaults; `defaults` and `validate` on every kind of file.
mod overlays;
/// The run pipeline called as a library: every execution gives the same bits; typed errors.
mod pipeline;
/// Bad input and faults: no panic, no abort, nothing written outside `--out`, no silent NaN.
mod reliability;
/// The 2013 reproduction: calibration, committed results, figures that must stay reproduced.
mod reproduction;
/// Sensitivity analysis: closed-form checks on a linear model, bootstrap intervals, CLI errors.
mod sensitivity;
/// Shards: exact merge in any order, Slurm array variables and scripts, bad shard files.
mod shards;
/// Streamed summaries: the same bits as in memory, exact order statistics, their errors over seeds.
mod stream;
/// Warnings for likely slips (tests/warn/), `--deny-warnings`.
mod warnings;

/// Path of the built `npvrisk` binary.
pub fn bin() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_npvrisk"))
}

/// A fresh empty folder under the system temp folder.
pub fn temp_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("npvrisk-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run `cmd` to completion and check that it exited with `code`, showing the command and its
/// stderr when it did not; its output.
pub fn run_expect(code: i32, cmd: &mut std::process::Command) -> std::process::Output {
    let o = cmd.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(code),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// Run `cmd` and check that it succeeded (exit code 0); its output.
pub fn run_ok(cmd: &mut std::process::Command) -> std::process::Output {
    run_expect(0, cmd)
}

/// `npvrisk SUBCOMMAND MODEL --dist DISTS`, to which a test adds its options.
pub fn with_files(
    subcommand: &str,
    model: &std::path::Path,
    dists: &std::path::Path,
) -> std::process::Command {
    let mut c = bin();
    c.arg(subcommand).arg(model).arg("--dist").arg(dists);
    c
}

/// The default distributions of the embedded model.
pub const DEFAULT_DISTS: &str = npvrisk::embedded::EY2013_DISTS;

/// The embedded 2013 model.
pub fn ey2013() -> npvrisk::model::ModelSpec {
    npvrisk::format::parse_model(
        npvrisk::embedded::EY2013_MODEL_FILE,
        npvrisk::embedded::EY2013_MODEL,
    )
    .unwrap()
}

/// The embedded model's base scenario with its default distributions.
pub fn default_plan() -> npvrisk::engine::Plan {
    let m = ey2013();
    let set = npvrisk::distfile::load(&m, &[("d.toml".into(), DEFAULT_DISTS.into())]).unwrap();
    let s = m.scenario_index("base").unwrap();
    npvrisk::engine::Plan::new(m, s, set).unwrap()
}

/// The first scenario of the model `model` with the distribution file `dists`.
pub fn plan_of(model: &str, dists: &str) -> npvrisk::engine::Plan {
    let m = npvrisk::format::parse_model("m.toml", model).unwrap();
    let set = npvrisk::distfile::load(&m, &[("d.toml".into(), dists.into())]).unwrap();
    npvrisk::engine::Plan::new(m, 0, set).unwrap()
}

/// Options of a plain Monte Carlo run of `draws` draws from `seed`, in blocks of 4096.
pub fn monte_carlo(draws: u64, seed: u64) -> npvrisk::engine::RunOptions {
    npvrisk::engine::RunOptions {
        draws,
        seed,
        sampler: npvrisk::sampler::SamplerKind::MonteCarlo,
        block_size: 4096,
        skip_nonfinite: false,
    }
}

/// A model with one scenario `base`, one partner `A` and one theme `t` (name `T`) that `A`
/// wholly owns: `model` holds the `[model]` fields besides `price_base` and `scenarios`,
/// `theme` the theme's fields besides its id, name and partner shares.
pub fn one_theme_model(model: &str, theme: &str) -> String {
    format!(
        "[model]\nprice_base = \"test\"\nscenarios = [\"base\"]\n{model}\n\n\
         [[partners]]\nid = \"A\"\nname = \"A\"\n\n\
         [[themes]]\nid = \"t\"\nname = \"T\"\npartner_shares = {{ A = 1.0 }}\n{theme}\n"
    )
}

/// Replicates of an estimate with its reported standard error, `(estimate, se)` per seed: the
/// variance of the estimates over the seeds divided by the mean reported se², and the range a
/// correct standard error allows for that ratio with false-alarm probability `alpha` on each
/// side: the χ²(R − 1)/(R − 1) quantiles, widened by 4 standard errors of the mean se² (the
/// reported se itself varies from seed to seed). Returns (ratio, low, high).
pub fn variance_ratio(v: &[(f64, f64)], alpha: f64) -> (f64, f64, f64) {
    use statrs::distribution::{ChiSquared, ContinuousCDF};
    let r = v.len() as f64;
    let mean = v.iter().map(|x| x.0).sum::<f64>() / r;
    let s2 = v.iter().map(|x| (x.0 - mean).powi(2)).sum::<f64>() / (r - 1.0);
    let se2: Vec<f64> = v.iter().map(|x| x.1 * x.1).collect();
    let sigma2 = se2.iter().sum::<f64>() / r;
    let spread = (se2.iter().map(|x| (x - sigma2).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
    let rel = 4.0 * spread / r.sqrt() / sigma2;
    let chi2 = ChiSquared::new(r - 1.0).unwrap();
    (
        s2 / sigma2,
        chi2.inverse_cdf(alpha) / (r - 1.0) * (1.0 - rel),
        chi2.inverse_cdf(1.0 - alpha) / (r - 1.0) * (1.0 + rel),
    )
}

/// The workbook at `path` opens (calamine) and one of its sheets holds the number `value`.
pub fn assert_workbook_holds(path: &std::path::Path, value: f64) {
    use calamine::{Reader, open_workbook_auto};
    let mut wb = open_workbook_auto(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let found = wb.sheet_names().iter().any(|name| {
        wb.worksheet_range(name).unwrap().rows().any(|r| {
            r.iter().any(|c| {
                matches!(c, calamine::Data::Float(x) if (x - value).abs() <= 1e-9 * value.abs().max(1.0))
            })
        })
    });
    assert!(found, "{} does not hold {value}", path.display());
}

/// A summary JSON's text without its `timing` field (the last key: the one part of the summary
/// that differs between runs of the same draws).
pub fn without_timing(text: &str) -> &str {
    &text[..text
        .find(",\n  \"timing\"")
        .expect("timing is the last field")]
}

/// The JSON file at `path`.
pub fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The mean of the total's NPV in a summary.json (in its money unit).
pub fn total_npv_mean(summary_json: &std::path::Path) -> f64 {
    oracles::outcome(&read_json(summary_json), "total")["npv"]["mean"]
        .as_f64()
        .unwrap()
}
