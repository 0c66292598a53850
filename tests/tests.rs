//! Integration tests, compiled into one binary. Each module states what it checks.

/// One example file per kind of bad model input, each with its expected message.
mod bad_input;
/// Batches of scenarios with common random numbers.
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
/// A deterministic mutation fuzzer of the loaders over the committed corpus (tests/fuzz/).
mod fuzz;
/// Outcome-level themes (the local cost-benefit method) and the shipped local example.
mod local;
/// Every statistic of the run summary against closed forms and the kept draws.
mod oracles;
/// Distribution files overlaid on the defaults; `defaults` and `validate` on every kind of file.
mod overlays;
/// Bad input and faults: no panic, no abort, nothing written outside `--out`, no silent NaN.
mod reliability;
/// The 2013 reproduction: calibration, committed results, figures that must stay reproduced.
mod reproduction;
/// Sensitivity analysis: closed-form checks on a linear model, CLI errors.
mod sensitivity;
/// Shards: exact merge in any order, Slurm array variables, bad shard files.
mod shards;
/// Streamed summaries: the same bits as in memory, exact order statistics.
mod stream;

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
