//! Engine checks: determinism, agreement with the deterministic model, statistical accuracy on a
//! model with a closed-form answer, correlations, golden values.

use npvrisk::distfile;
use npvrisk::engine::{Draws, ENTITY_MEASURES, Layout, Measure, Plan, RunOptions};
use npvrisk::format::parse_model;
use npvrisk::sampler::{Dimension, Sampler, SamplerKind};
use npvrisk::stats::{OrderStats, Sorted, mean_sd, spearman};

use crate::{
    bin, default_plan, ey2013, one_theme_model, plan_of, read_json, run_expect, run_ok, temp_dir,
    total_npv_mean,
};

fn opts(draws: u64, sampler: SamplerKind, block: u64) -> RunOptions {
    RunOptions {
        draws,
        seed: 7,
        sampler,
        block_size: block,
        skip_nonfinite: false,
    }
}

fn run_with_threads(plan: &Plan, o: &RunOptions, threads: usize) -> Draws {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| plan.run(o, &|_| {})).unwrap()
}

#[test]
fn draws_are_bit_identical_for_any_thread_count_and_block_size() {
    let plan = default_plan();
    for sampler in [
        SamplerKind::MonteCarlo,
        SamplerKind::LatinHypercube,
        SamplerKind::Sobol,
    ] {
        let reference = run_with_threads(&plan, &opts(5000, sampler, 4096), 1);
        for (threads, block) in [(2, 4096), (3, 1000), (2, 7), (1, 5000)] {
            let d = run_with_threads(&plan, &opts(5000, sampler, block), threads);
            assert!(
                d == reference,
                "{sampler:?}: threads {threads}, block {block} differ"
            );
        }
    }
}

/// The engine samples a batch of draws input by input; each row must be what sampling and
/// evaluating that draw alone gives. Here "alone" is written out with public items, one draw at a
/// time: each stream's uniform from `Sampler::uniform`; the Gaussian copula of the correlated
/// streams (normal scores, the factor's rows summed in order from 0, the interpolated normal
/// CDF, clamped inside (0, 1)); each input's values from `InputDist::values`, or, for an input
/// sampled through a normal score on a correlated stream, from the copula's score itself
/// (`InputDist::values_batch_at_scores`); the model from `Plan::evaluate_values`. Block size 100
/// puts batch boundaries at rows 64, 100, 164, …, and the last block is partial. Three sets: the
/// default (correlated, with partner shares, so each draw restores the theme's shares from the
/// template first), the default without its correlation and shares (each draw overwrites the
/// previous one's inputs in place), and the default with a PERT input moved onto a correlated
/// discrete input's stream.
#[test]
fn every_row_of_a_run_is_its_draw_sampled_and_evaluated_alone() {
    use npvrisk::dist::{std_normal_cdf_interp, std_normal_quantile};
    let m = ey2013();
    let full = distfile::load(&m, &[("d.toml".into(), crate::DEFAULT_DISTS.into())]).unwrap();
    let mut plain = full.clone();
    plain.correlation = None;
    plain.inputs.retain(|i| !i.param.path.contains("shares"));
    assert!(plain.inputs.len() < full.inputs.len());
    // A correlated stream that carries an input reading its uniform (a discrete delay) and one
    // taking its score (a PERT cost overrun moved onto the delay's stream).
    let mut mixed = full.clone();
    let path = |p: &str| mixed.inputs.iter().position(|i| i.param.path == p).unwrap();
    let (delay, overrun) = (
        path("themes.work_skills.delay_years"),
        path("themes.work_skills.optimism_bias_cost"),
    );
    assert!(!mixed.inputs[delay].dist.samples_from_scores());
    assert!(mixed.inputs[overrun].dist.samples_from_scores());
    mixed.inputs[overrun].stream = mixed.inputs[delay].stream.clone();
    let s = m.scenario_index("base").unwrap();
    // Inputs whose values came from a copula's score: the default's correlated realisations.
    let mut scored = 0;
    for set in [full, plain, mixed] {
        let plan = Plan::new(m.clone(), s, set).unwrap();
        let factors = plan.factors();
        // A list-valued input (one value per year) exercises the batch layout of several values.
        assert!(plan.set.inputs.iter().any(|i| i.param.width() > 1));
        // The stream (factor) of each correlated input, in the copula's order.
        let corr = plan.set.correlation.as_ref().map(|c| {
            let streams: Vec<usize> = c
                .inputs
                .iter()
                .map(|&k| factors.iter().position(|f| f.inputs.contains(&k)).unwrap())
                .collect();
            (c, streams)
        });
        for sampler in [
            SamplerKind::MonteCarlo,
            SamplerKind::LatinHypercube,
            SamplerKind::Sobol,
        ] {
            let o = opts(730, sampler, 100);
            let d = plan.run(&o, &|_| {}).unwrap();
            let design = Sampler::new(sampler, o.seed, o.draws).unwrap();
            let dims: Vec<Dimension> = factors
                .iter()
                .enumerate()
                .map(|(k, f)| Dimension::new(&f.name, k as u32))
                .collect();
            for i in 0..o.draws {
                let mut u: Vec<f64> = dims.iter().map(|dim| design.uniform(dim, i)).collect();
                // Per stream, the copula's normal score when it is correlated.
                let mut score = vec![None; dims.len()];
                if let Some((c, streams)) = &corr {
                    let z: Vec<f64> = streams.iter().map(|&k| std_normal_quantile(u[k])).collect();
                    for (row, &k) in streams.iter().enumerate() {
                        let mut sum = 0.0;
                        for (f, zj) in c.factor[row].iter().zip(&z) {
                            sum += f * zj;
                        }
                        score[k] = Some(sum);
                        u[k] = std_normal_cdf_interp(sum)
                            .clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
                    }
                }
                // Each input's values: from the copula's score itself for an input sampled
                // through a normal score, from its stream's uniform otherwise.
                let mut values: Vec<Vec<f64>> = Vec::new();
                for (k, input) in plan.set.inputs.iter().enumerate() {
                    let f = factors.iter().position(|f| f.inputs.contains(&k)).unwrap();
                    let mut v = vec![0.0; input.param.width()];
                    match score[f] {
                        Some(z) if input.dist.samples_from_scores() => {
                            assert!(input.dist.values_batch_at_scores(&[z], &mut v));
                            scored += 1;
                        }
                        _ => input.dist.values(u[f], &mut v),
                    }
                    assert_eq!(d.inputs[k][i as usize].to_bits(), v[0].to_bits());
                    values.push(v);
                }
                let row = plan.evaluate_values(&values);
                for (c, col) in d.outcomes.iter().enumerate() {
                    assert_eq!(
                        col[i as usize].to_bits(),
                        row[c].to_bits(),
                        "{sampler:?} draw {i}: {}",
                        plan.outcome_name(c)
                    );
                }
            }
        }
    }
    assert!(scored > 0, "no input took a copula's score");
}

/// The RNG floor's checksum adds each draw's input values, input by input, then moves to the next
/// draw, block by block; with twenty inputs (some of several values, some correlated) that order
/// is visible in the bits. The same sum, taken in the test over a run's input columns, which
/// hold each input's first value as drawn (−0 written as +0, which leaves these sums alone: each
/// starts from +0).
#[test]
fn the_floor_sums_the_run_s_inputs_draw_by_draw() {
    let plan = default_plan();
    let o = opts(3000, SamplerKind::MonteCarlo, 700);
    let d = plan.run(&o, &|_| {}).unwrap();
    let by_block: f64 = (0..d.n)
        .collect::<Vec<_>>()
        .chunks(700)
        .map(|rows| {
            let mut acc = 0.0;
            for &i in rows {
                for col in &d.inputs {
                    acc += col[i];
                }
            }
            acc
        })
        .sum();
    assert_eq!(plan.rng_floor(&o).unwrap().to_bits(), by_block.to_bits());
}

#[test]
fn the_engine_evaluates_exactly_as_the_deterministic_model() {
    let plan = default_plan();
    for s in 0..plan.model.scenarios.len() {
        let x = plan.model.inputs(s);
        let fast = plan.evaluate_inputs(&x);
        let e = plan.model.evaluate(s);
        let outcomes: Vec<&npvrisk::model::Outcome> = e.themes.iter().chain([&e.total]).collect();
        for (i, o) in outcomes.iter().enumerate() {
            // One kernel: the engine's measures are the model's, bit for bit.
            let at = |m| fast[Layout::entity(i, m)];
            let (npv, pvb, delay) = (
                at(Measure::Npv),
                at(Measure::PvBenefits),
                at(Measure::DelayToZero),
            );
            assert_eq!(npv.to_bits(), o.npv.to_bits(), "npv of entity {i}");
            assert_eq!(pvb.to_bits(), o.pv_benefits.to_bits(), "entity {i}");
            assert_eq!(
                delay.to_bits(),
                o.delay_to_zero.exact_years.to_bits(),
                "delay of entity {i}"
            );
            // Derived as the summary derives them (PV of benefits − NPV, where the model sums the
            // discounted costs), so equal to rounding.
            let tol = 1e-12;
            assert!(((pvb - npv) - o.pv_costs).abs() < tol);
            let leak = if npv > 0.0 { npv / pvb } else { 0.0 };
            assert!((leak - o.leakage_to_zero.unwrap_or(0.0)).abs() < tol);
        }
    }
}

/// One theme, no discounting, profile 1: NPV = 3 G − C with G ~ N(10, 1) and C ~ N(3, 0.5)
/// (truncated at 0, which at 10 and 6 standard deviations changes nothing measurable), so
/// NPV ~ N(27, √(9 + 0.25)).
pub fn linear_model() -> String {
    one_theme_model(
        r#"
name = "linear"
horizon_years = 3
discount_rate = 0.0"#,
        r#"
addressable_spend_bn = 100.0
profile = [1.0]
gross_benefit_bn = 10.0
one_off_costs_bn = [3.0, 0.0, 0.0]"#,
    )
}

pub const LINEAR_DISTS: &str = r#"
[[input]]
path = "themes.t.gross_benefit_bn"
kind = "truncated_normal"
mean = 10.0
sd = 1.0
min = 0.0

[[input]]
path = "themes.t.one_off_costs_bn[0]"
kind = "truncated_normal"
mean = 3.0
sd = 0.5
min = 0.0
"#;

#[test]
fn a_linear_model_with_normal_inputs_matches_its_closed_form_within_monte_carlo_error() {
    let plan = plan_of(&linear_model(), LINEAR_DISTS);
    let (mu, sigma) = (27.0, (9.0f64 + 0.25).sqrt());
    let n = 200_000u64;
    for sampler in [
        SamplerKind::MonteCarlo,
        SamplerKind::LatinHypercube,
        SamplerKind::Sobol,
    ] {
        let d = run_with_threads(&plan, &opts(n, sampler, 4096), 2);
        let npv = &d.outcomes[0];
        let (mean, sd) = mean_sd(npv);
        // Tolerances: 4 standard errors of each estimator under independent draws (LHS and Sobol
        // are at least as precise for a linear function).
        let se_mean = sigma / (n as f64).sqrt();
        let se_sd = sigma / (2.0 * n as f64).sqrt();
        assert!(
            (mean - mu).abs() < 4.0 * se_mean,
            "{sampler:?}: mean {mean}"
        );
        assert!((sd - sigma).abs() < 4.0 * se_sd, "{sampler:?}: sd {sd}");
        let s = Sorted::new(npv.clone()).unwrap();
        for (p, z) in [
            (0.05, -1.6448536269514722),
            (0.5, 0.0),
            (0.95, 1.6448536269514722),
        ] {
            let q = s.quantile(p);
            let exact = mu + sigma * z;
            // The sample quantile's asymptotic standard error, σ √(p(1−p)/n) / φ(z) for a normal
            // (φ the standard normal density), from the closed form, not the program's estimate.
            let phi = (-z * z / 2.0f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let se_q = sigma * (p * (1.0 - p) / n as f64).sqrt() / phi;
            assert!(
                (q - exact).abs() < 4.0 * se_q,
                "{sampler:?}: P{p} {q} vs {exact} (se {se_q})"
            );
        }
    }
}

#[test]
fn achieved_rank_correlation_matches_the_target_within_monte_carlo_error() {
    let dists = format!(
        "{LINEAR_DISTS}\n[correlation]\ninputs = [\"themes.t.gross_benefit_bn\", \"themes.t.one_off_costs_bn[0]\"]\nrank = [[1.0, 0.6], [0.6, 1.0]]\n"
    );
    let plan = plan_of(&linear_model(), &dists);
    let n = 100_000u64;
    let d = run_with_threads(&plan, &opts(n, SamplerKind::MonteCarlo, 4096), 2);
    let rho = spearman(&d.inputs[0], &d.inputs[1]);
    // The Gaussian copula with normal correlation 2 sin(πρ/6) has Spearman correlation exactly ρ.
    // Standard error of Spearman's ρ ≈ (1 − ρ²) / √n under normality, well below 0.003 here.
    let se = (1.0 - 0.36) / (n as f64).sqrt();
    assert!((rho - 0.6).abs() < 4.0 * se, "achieved {rho}");
}

#[test]
fn golden_values_are_pinned_to_a_seed() {
    // Regression pin, not an oracle: computed once with this seed, so any change to the random
    // numbers, the distributions or the model arithmetic shows up here. Update only for an
    // intended change, and say so. The same quantity (each draw's total NPV) is checked
    // independently by `the_engine_evaluates_exactly_as_the_deterministic_model` (every draw
    // against the model evaluated on the drawn inputs) and by the closed-form linear models in
    // tests/oracles.rs and `a_linear_model_with_normal_inputs_matches_its_closed_form...`.
    let plan = default_plan();
    let d = run_with_threads(&plan, &opts(1000, SamplerKind::MonteCarlo, 4096), 2);
    let total = plan.entities.len() - 1;
    let npv = &d.outcomes[total * ENTITY_MEASURES.len()];
    let got = [npv[0].to_bits(), npv[1].to_bits(), npv[999].to_bits()];
    assert_eq!(
        got,
        GOLDEN,
        "total NPV of draws 0, 1, 999: {:?}",
        npv.iter().take(2).collect::<Vec<_>>()
    );
}

// Updated when the delays' copula correlation was solved for their discrete distribution
// (0.604 instead of 0.518) and the families cost lines came to follow realisation's position;
// and again when the copula's Φ became the interpolated one (`std_normal_cdf_interp`, within
// 4.7e-14 of Φ: the draws moved by less than 4e-13) and the default came to draw volume,
// cashability and partner shares (new streams; the total NPV moves with volume and cashability);
// and again when the PERT and gamma quantiles came to use `dist::exp_sampling` (within 2 ulp of
// exp: draw 1 moved by 2 ulp), and when the embedded model became the joint fit's calibration
// (new gross benefits, costs and shares).
// Updated again when the recalibration with the total's fraction figures moved families' base
// one-off cost of year 3 by £1,000 (draws 1 and 999 move in the last bits; draw 0 is unchanged).
// Updated again when inputs sampled through a normal score came to take a correlated stream's
// copula score directly, without the round trip through Φ and back (draws 0, 1 and 999 move by
// 197, 48 and 10 ulp).
const GOLDEN: [u64; 3] = [
    4622011974224527141,
    4623115423886841228,
    4625393285086534068,
];

/// The summary does not depend on the threads or the block size: moments are reduced over a
/// tree of draws, not of blocks, so even their last bits stay (only the timing, and the block
/// size the metadata records, differ).
#[test]
fn run_summary_json_is_identical_for_any_threads_and_block_size_apart_from_timing() {
    let dir = temp_dir("threads");
    let mut jsons = Vec::new();
    for (t, block) in [("1", "4096"), ("2", "4096"), ("2", "1000"), ("1", "333")] {
        let out = dir.join(format!("{t}-{block}"));
        run_ok(
            bin()
                .args([
                    "run",
                    "--draws",
                    "20000",
                    "--threads",
                    t,
                    "--block-size",
                    block,
                    "--format",
                    "json",
                    "--out",
                ])
                .arg(&out),
        );
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        assert_eq!(v["metadata"]["block_size"], block.parse::<u64>().unwrap());
        v["metadata"].as_object_mut().unwrap().remove("block_size");
        jsons.push(serde_json::to_string(&v).unwrap());
    }
    assert!(jsons.iter().all(|j| *j == jsons[0]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_bad_distribution_example_gives_its_expected_message_and_exit_code_2() {
    let mut files: Vec<_> = std::fs::read_dir("tests/bad_dist")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 18);
    for f in files {
        let expected = std::fs::read_to_string(f.with_extension("expected")).unwrap();
        let o = bin()
            .args(["run", "tests/data/council.toml", "--draws", "10", "--dist"])
            .arg(&f)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", f.display());
        assert!(!stderr.contains("panicked"));
        assert_eq!(
            stderr.lines().next().unwrap_or(""),
            format!("error: {}", expected.trim_end()),
            "{}",
            f.display()
        );
    }
}

#[test]
fn bad_run_options_exit_2_with_a_clear_message() {
    for (args, needle) in [
        (vec!["run", "--draws", "0"], "`--draws` = 0"),
        (
            vec!["run", "--percentiles", "0.5,1.5"],
            "each must lie in (0, 1)",
        ),
        (vec!["run", "--interval", "1"], "`--interval` = 1"),
        (vec!["run", "--threads", "0"], "`--threads` = 0"),
        (vec!["run", "--keep-draws"], "needs `--out DIR`"),
        (vec!["run", "--sampler", "halton"], "invalid value 'halton'"),
        (vec!["run", "--precision", "2"], "`--precision` = 2"),
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

#[test]
fn keep_draws_writes_every_draw_and_nothing_else_in_the_folder() {
    let dir = temp_dir("keep");
    run_ok(
        bin()
            .args([
                "run",
                "tests/data/council.toml",
                "--dist",
                "tests/data/council_dists.toml",
                "--draws",
                "500",
                "--keep-draws",
                "--out",
            ])
            .arg(&dir),
    );
    // One row per draw, in order, each with the model's identities: the one theme is the
    // headline total, and the two partners' shares of it add up to it.
    let kept = crate::oracles::Kept::read(&dir.join("draws.csv"));
    let order: Vec<f64> = (0..500).map(f64::from).collect();
    assert_eq!(kept.col("draw"), order);
    let total = kept.col("total.npv");
    assert_eq!(kept.col("families.npv"), total);
    let (council, nhs) = (kept.col("partner.council.npv"), kept.col("partner.NHS.npv"));
    for (i, t) in total.iter().enumerate() {
        let shared = council[i] + nhs[i];
        assert!((shared - t).abs() <= 1e-12 * t.abs().max(1e-9), "draw {i}");
    }
    // The summary's mean (in its money unit, £m here) is the mean of these draws (in £bn).
    let summary = dir.join("summary.json");
    assert_eq!(read_json(&summary)["money_unit"], "£m");
    let mean = total_npv_mean(&summary);
    let draws_mean = total.iter().sum::<f64>() / 500.0 * 1e3;
    assert!((draws_mean - mean).abs() <= 1e-9 * mean.abs(), "{mean}");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ".npvrisk.lock",
            "draws.csv",
            "npvrisk-manifest.json",
            "summary.csv",
            "summary.json"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kept_draws_as_sipmath_and_parquet_hold_the_csv_draws_bit_for_bit() {
    let dir = temp_dir("draws-formats");
    let run = |format: &str| {
        let out = dir.join(format);
        run_ok(
            bin()
                .args(["run", "--draws", "3000", "--seed", "4", "--keep-draws"])
                .args(["--draws-format", format, "--out"])
                .arg(&out),
        );
        out
    };
    let csv_dir = run("csv");
    let crate::oracles::Kept {
        names: header,
        rows,
    } = crate::oracles::Kept::read(&csv_dir.join("draws.csv"));
    assert_eq!(rows.len(), 3000);
    assert!(header.len() > 20, "{header:?}");
    let summary = |d: &std::path::Path| {
        let s = std::fs::read_to_string(d.join("summary.json")).unwrap();
        s[..s.find("\"timing\"").unwrap()].to_string()
    };

    let sip_dir = run("sipmath");
    assert_eq!(
        summary(&sip_dir),
        summary(&csv_dir),
        "same run, same summary"
    );
    let lib: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sip_dir.join("draws.SIPmath")).unwrap()).unwrap();
    let sips = lib["sips"].as_array().unwrap();
    assert_eq!(sips.len(), header.len(), "one SIP per column");
    for (j, sip) in sips.iter().enumerate() {
        assert_eq!(sip["name"], header[j]);
        let v = sip["arguments"]["value"].as_array().unwrap();
        assert_eq!(v.len(), rows.len(), "{}", header[j]);
        for (r, x) in v.iter().enumerate() {
            assert_eq!(
                x.as_f64().unwrap().to_bits(),
                rows[r][j].to_bits(),
                "{} trial {r}",
                header[j]
            );
        }
    }

    let pq_dir = run("parquet");
    assert_eq!(summary(&pq_dir), summary(&csv_dir));
    let npvrisk::draws_out::ParquetColumns {
        names,
        groups,
        cols,
    } = npvrisk::draws_out::read_parquet(&pq_dir.join("draws.parquet")).unwrap();
    assert_eq!(names, header);
    assert_eq!(groups.len(), 1);
    for (j, col) in cols.iter().enumerate() {
        assert_eq!(col.len(), rows.len());
        for (r, x) in col.iter().enumerate() {
            assert_eq!(x.to_bits(), rows[r][j].to_bits(), "{} row {r}", header[j]);
        }
    }
    // Streamed to disk, each file is still listed in the folder's manifest with its size and hash.
    for (d, file) in [
        (&csv_dir, "draws.csv"),
        (&sip_dir, "draws.SIPmath"),
        (&pq_dir, "draws.parquet"),
    ] {
        let m: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join("npvrisk-manifest.json")).unwrap())
                .unwrap();
        assert_eq!(m["complete"], true);
        let entry = m["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["file"] == file)
            .unwrap_or_else(|| panic!("{file} not in the manifest: {m}"));
        let bytes = std::fs::read(d.join(file)).unwrap();
        assert_eq!(entry["bytes"].as_u64(), Some(bytes.len() as u64), "{file}");
        assert_eq!(
            entry["sha256"].as_str().unwrap(),
            npvrisk::summary::sha256_hex(&bytes),
            "{file}"
        );
        let others = ["draws.csv", "draws.SIPmath", "draws.parquet"];
        for o in others.iter().filter(|o| **o != file) {
            assert!(!d.join(o).exists(), "{o} written with {file}");
        }
    }
    // Refused: a draws format without kept draws, where no draws are kept, an unknown format.
    for (args, needle) in [
        (vec!["run", "--draws-format", "parquet"], "--keep-draws"),
        (
            vec!["sensitivity", "--draws", "100", "--draws-format", "csv"],
            "--draws-format",
        ),
        (
            vec!["run", "--keep-draws", "--draws-format", "xlsx"],
            "invalid value 'xlsx'",
        ),
    ] {
        let o = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs python3 with jsonschema; run by .ci/run"]
fn sipmath_draws_validate_against_the_published_schema() {
    let dir = temp_dir("sipmath-schema");
    run_ok(
        bin()
            .args([
                "run",
                "--draws",
                "200",
                "--keep-draws",
                "--draws-format",
                "sipmath",
            ])
            .arg("--out")
            .arg(&dir),
    );
    let lib = dir.join("draws.SIPmath");
    // The library as written must validate; the same library with a SIP stripped of its `ref`
    // and `function` (required by the schema) must not: the check can fail.
    let broken = dir.join("broken.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&lib).unwrap()).unwrap();
    let sip = v["sips"][1].as_object_mut().unwrap();
    sip.remove("ref");
    sip.remove("function");
    std::fs::write(&broken, serde_json::to_vec(&v).unwrap()).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft7Validator.check_schema(schema)\n\
        for path, want in ((sys.argv[2], True), (sys.argv[3], False)):\n\
        \x20   try:\n\
        \x20       jsonschema.validate(json.load(open(path)), schema)\n\
        \x20       ok = True\n\
        \x20   except jsonschema.ValidationError as e:\n\
        \x20       ok = False\n\
        \x20       print(path, e.message[:200])\n\
        \x20   assert ok == want, (path, ok)\n\
        print('checked')\n";
    run_python(
        "python3",
        script,
        &[
            "tests/data/sipmath/multi-lib-schema-2021-08-19.json".as_ref(),
            lib.as_os_str(),
            broken.as_os_str(),
        ],
        "checked",
        "python3 (.ci/run installs it with python3-jsonschema)",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs python3 with pyarrow (NPVRISK_PYTHON); run by .ci/run"]
fn parquet_draws_read_back_with_pyarrow_as_the_csv_values() {
    // The same run written as CSV (in memory), as Parquet in several row groups by a streamed
    // run, and as Parquet joined by `merge` from two shards' files: pyarrow must read every
    // column of each Parquet file with the CSV's name and exactly its values.
    let dir = temp_dir("parquet-pyarrow");
    let run_args = ["run", "--draws", "150000", "--seed", "4", "--keep-draws"];
    run_ok(
        bin()
            .args(run_args)
            .args(["--draws-format", "csv", "--out"])
            .arg(dir.join("c")),
    );
    run_ok(
        bin()
            .args(run_args)
            .args(["--stream", "--draws-format", "parquet", "--out"])
            .arg(dir.join("p")),
    );
    for k in 0..2 {
        run_ok(
            bin()
                .args(run_args)
                .args(["--draws-format", "parquet", "--shard", &format!("{k}/2")])
                .arg("--out")
                .arg(dir.join("shards")),
        );
    }
    run_ok(
        bin()
            .arg("merge")
            .arg(dir.join("shards/shard-00000-of-00002.npvshard"))
            .arg(dir.join("shards/shard-00001-of-00002.npvshard"))
            .args(["--keep-draws", "--draws-format", "parquet", "--out"])
            .arg(dir.join("m")),
    );
    let script = "import csv, sys, pyarrow.parquet as pq\n\
        f = pq.ParquetFile(sys.argv[1])\n\
        assert f.metadata.num_row_groups > 1, f.metadata.num_row_groups\n\
        t = f.read()\n\
        rows = list(csv.reader(open(sys.argv[2])))\n\
        head, body = rows[0], rows[1:]\n\
        assert t.column_names == head, (t.column_names[:3], head[:3])\n\
        assert t.num_rows == len(body), (t.num_rows, len(body))\n\
        for j, name in enumerate(head):\n\
        \x20   col = t.column(j).to_pylist()\n\
        \x20   for i, r in enumerate(body):\n\
        \x20       assert float(r[j]) == float(col[i]), (name, i, r[j], col[i])\n\
        print('checked', t.num_rows, 'rows', len(head), 'columns', f.metadata.num_row_groups, 'row groups')\n";
    let python = std::env::var("NPVRISK_PYTHON").unwrap_or_else(|_| "python3".into());
    for parquet in ["p/draws.parquet", "m/draws.parquet"] {
        run_python(
            &python,
            script,
            &[
                dir.join(parquet).as_os_str(),
                dir.join("c/draws.csv").as_os_str(),
            ],
            "checked 150000 rows",
            "python3 with pyarrow (.ci/run installs it in a virtual environment)",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Sobol and Shapley designs meet the same out-of-scale amounts as a run's draws: refused
/// (exit 2) with the entity and the amount, never indices of NaN; the message points to
/// `--skip-nonfinite`, which leaves the indices out (`report_skips_non_finite_draws_...`).
#[test]
fn a_sobol_design_out_of_scale_is_an_error_not_nan_indices() {
    for n in ["64", "256"] {
        let o = run_expect(
            2,
            bin().args([
                "sensitivity",
                "tests/data/council.toml",
                "--dist",
                "tests/data/overflow_dists.toml",
                "--method",
                "sobol",
                "--bootstrap",
                "100",
                "--sobol-n",
                n,
            ]),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("the Sobol design evaluates the model where the NPV of `")
                && err.contains("beyond ±1e100")
                && err.contains("--skip-nonfinite"),
            "{n}: {err}"
        );
        assert!(o.stdout.is_empty(), "{n}");
    }
}

#[test]
fn a_non_finite_draw_is_an_error_naming_the_draw_and_its_inputs_or_is_counted_on_request() {
    let args = [
        "run",
        "tests/data/council.toml",
        "--dist",
        "tests/data/overflow_dists.toml",
        "--draws",
        "2000",
    ];
    let o = bin().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("gave a non-finite"), "{stderr}");
    assert!(
        stderr.contains("themes.families.benefit_per_engaged_gbp = "),
        "{stderr}"
    );
    assert!(!stderr.contains("NaN"), "{stderr}");

    let o = run_ok(
        bin()
            .args(args)
            .args(["--skip-nonfinite", "--format", "json"]),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let skipped = v["skipped_nonfinite"].as_u64().unwrap();
    let kept = v["kept_draws"].as_u64().unwrap();
    assert!(
        skipped > 0 && kept > 0 && skipped + kept == 2000,
        "{skipped} + {kept}"
    );
    assert!(!String::from_utf8_lossy(&o.stdout).contains("NaN"));
    // The kept draws' statistics are numbers (an overflowing moment would be null).
    for e in v["outcomes"].as_array().unwrap() {
        for m in ["mean", "sd", "se_mean"] {
            assert!(e["npv"][m].is_f64(), "{}: {m} = {}", e["id"], e["npv"][m]);
        }
    }
}

#[test]
fn precision_doubles_the_draws_until_every_reported_percentile_is_precise_enough() {
    // Relative: each percentile's standard error at most 10% of the larger of its size and the
    // NPV's standard deviation; absolute: at most £20m.
    // Started below what each needs (the median's standard error is about 1.25 SD / √n, so the
    // relative target needs more than about 160 draws).
    let check = |precision: &str, start: u64, allowed: &dyn Fn(f64, f64) -> f64| {
        let o = run_ok(bin().args([
            "run",
            "--draws",
            &start.to_string(),
            "--precision",
            precision,
            "--format",
            "json",
        ]));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let draws = v["metadata"]["draws"].as_u64().unwrap();
        assert!(
            draws > start && draws.is_multiple_of(start) && (draws / start).is_power_of_two(),
            "{precision}: {draws} draws from {start}"
        );
        let mut tight = false;
        for e in v["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["headline"] == true)
        {
            let sd = e["npv"]["sd"].as_f64().unwrap();
            for p in e["npv"]["percentiles"].as_array().unwrap() {
                let (value, se) = (p["value"].as_f64().unwrap(), p["se"].as_f64().unwrap());
                let limit = allowed(value, sd);
                assert!(
                    se <= limit,
                    "{precision}: {}: P{} se {se} > {limit}",
                    e["id"],
                    p["p"]
                );
                // Half the draws would not have been enough: some percentile was above the
                // limit at draws / 2, so its standard error now is above about limit / sqrt(2)
                // (within the Monte Carlo noise of a standard error estimate).
                tight |= se > 0.5 * limit;
            }
        }
        assert!(
            tight,
            "{precision}: every standard error far below its limit"
        );
        // The reported standard errors are not only the program's word: the same draws, kept,
        // give each headline percentile and its standard error recomputed here (type 7; ranks
        // np ± 1.96·√(np(1 − p)) of the sorted draws, the distribution-free interval whose
        // width / (2·1.96) is the error, as stats.rs documents), and those meet the limit.
        let dir = temp_dir("precision-kept");
        run_ok(
            bin()
                .args([
                    "run",
                    "--draws",
                    &draws.to_string(),
                    "--keep-draws",
                    "--out",
                ])
                .arg(&dir),
        );
        let kept = crate::oracles::Kept::read(&dir.join("draws.csv"));
        assert_eq!(kept.rows.len() as u64, draws);
        for e in v["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["headline"] == true)
        {
            let name = format!("{}.npv", e["id"].as_str().unwrap());
            let mut x = kept.col(&name);
            x.sort_by(f64::total_cmp);
            let n = x.len() as f64;
            let sd = e["npv"]["sd"].as_f64().unwrap();
            for pc in e["npv"]["percentiles"].as_array().unwrap() {
                let p = pc["p"].as_f64().unwrap();
                let value = crate::oracles::type7(&x, p);
                let half = 1.96 * (n * p * (1.0 - p)).sqrt();
                let r = |k: f64| (k.max(0.0) as usize).min(x.len() - 1);
                let se = (x[r((n * p + half).ceil())] - x[r((n * p - half).floor())]) / 3.92;
                let tol = 1e-9 * value.abs().max(1.0);
                assert!(
                    (pc["value"].as_f64().unwrap() - value).abs() <= tol,
                    "{precision}: {name} P{p}: {} against {value}",
                    pc["value"]
                );
                assert!(
                    (pc["se"].as_f64().unwrap() - se).abs() <= 1e-9 * se.max(1e-3),
                    "{precision}: {name} P{p}: se {} against {se}",
                    pc["se"]
                );
                assert!(
                    se <= allowed(value, sd),
                    "{precision}: {name} P{p}: se {se}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    };
    check("0.1", 100, &|value, sd| 0.1 * value.abs().max(sd));
    check("20m", 500, &|_, _| 0.02);
    check("£0.02bn", 500, &|_, _| 0.02);
}

/// A model with a per-year rate schedule and year 2 as the undiscounted year, so that a sampled
/// rate that rebuilt the factors from a flat rate and year 1 would change the NPV.
const SCHEDULE_MODEL: &str = r#"
[model]
name = "schedule"
price_base = "2024-25"
horizon_years = 4
discount_rate = [0.035, 0.035, 0.03, 0.025]
undiscounted_year = 2
scenarios = ["central"]

[[partners]]
id = "council"
name = "Council"
budget_class = "DEL"
budget_bn = 1.0

[[partners]]
id = "NHS"
name = "NHS"
budget_class = "DEL"
budget_bn = 2.0

[[themes]]
id = "a"
name = "A"
addressable_spend_bn = 1.0
profile = [0.5, 1.0]
gross_benefit_bn = 0.4
realisation = 1.0
cashability = 1.0
optimism_bias_benefit = 0.0
optimism_bias_cost = 0.0
one_off_costs_bn = [0.3, 0.1, 0, 0]
ongoing_costs_bn = [0.02, 0.02, 0.02, 0.02]
scaled_cost_bn = 0.05
[themes.partner_shares]
council = 0.6
NHS = 0.4
"#;

fn plan_with(model: &str, dists: &str) -> Result<Plan, String> {
    let m = parse_model("m.toml", model).map_err(|e| e.to_string())?;
    let set = distfile::load(&m, &[("d.toml".into(), dists.into())]).map_err(|e| e.to_string())?;
    Plan::new(m, 0, set).map_err(|e| e.to_string())
}

fn npv_of_fixed_run(plan: &Plan) -> Vec<f64> {
    let d = plan
        .run(&opts(3, SamplerKind::MonteCarlo, 2), &|_| {})
        .unwrap();
    d.outcomes.iter().map(|c| c[2]).collect()
}

#[test]
fn fixed_distributions_at_the_point_values_reproduce_the_deterministic_model() {
    // Discount rate (whole schedule, the reference year's value 0.025, and one year), a partner
    // share and a scalar, each fixed at the model's own value: the run equals `evaluate`.
    let dists = r#"
[[input]]
path = "discount_rate"
kind = "fixed"
value = 0.025
[[input]]
path = "discount_rate[2]"
kind = "fixed"
value = 0.03
[[input]]
path = "themes.a.partner_shares.council"
kind = "fixed"
value = 0.6
[[input]]
path = "themes.a.realisation"
kind = "fixed"
value = 1.0
"#;
    let plan = plan_with(SCHEDULE_MODEL, dists).unwrap();
    let e = plan.model.evaluate(0);
    let run = npv_of_fixed_run(&plan);
    let layout = plan.evaluate_inputs(&plan.model.inputs(0));
    assert_eq!(run, layout, "a fixed run differs from the point evaluation");
    let npv = |name: &str| {
        run[(0..plan.n_outcomes())
            .find(|&c| plan.outcome_name(c) == name)
            .unwrap()]
    };
    assert_eq!(npv("total.npv"), e.total.npv);
    assert_eq!(npv("partner.council.npv"), 0.6 * e.total.npv);
    assert_eq!(npv("partner.NHS.npv"), 0.4 * e.total.npv);
    // The embedded model: a fixed discount rate at its own 3.5% leaves every NPV unchanged.
    let m = ey2013();
    let s = m.scenario_index("base").unwrap();
    let set = distfile::load(
        &m,
        &[(
            "d.toml".into(),
            "[[input]]\npath = \"discount_rate\"\nkind = \"fixed\"\nvalue = 0.035\n".into(),
        )],
    )
    .unwrap();
    let plan = Plan::new(m, s, set).unwrap();
    let e = plan.model.evaluate(s);
    let run = npv_of_fixed_run(&plan);
    let total = (0..plan.n_outcomes())
        .find(|&c| plan.outcome_name(c) == "total.npv")
        .unwrap();
    assert_eq!(run[total], e.total.npv);
}

#[test]
fn a_sampled_rate_shifts_the_schedule_and_keeps_the_undiscounted_year() {
    // 1 point more in the reference year moves every year's rate by 1 point; year 2 stays at 1.
    let plan = plan_with(
        SCHEDULE_MODEL,
        "[[input]]\npath = \"discount_rate\"\nkind = \"fixed\"\nvalue = 0.035\n",
    )
    .unwrap();
    let mut x = plan.model.inputs(0);
    x.discount_factors = vec![1.045, 1.0, 1.0 / 1.04, 1.0 / (1.04 * 1.035)];
    let expected = plan.evaluate_inputs(&x);
    assert_eq!(npv_of_fixed_run(&plan), expected);
}

/// Apply each input of `set` to `x` at its value for the uniform 0.5, in the set's order (the
/// order a run applies them in).
pub fn apply_medians(x: &mut npvrisk::model::Inputs, set: &distfile::DistSet) {
    for i in &set.inputs {
        let mut v = vec![0.0; i.param.width()];
        i.dist.values(0.5, &mut v);
        npvrisk::params::apply(x, i.param.target, &v);
    }
}

#[test]
fn a_schedule_drawn_whole_and_per_year_takes_the_year_draw_after_the_shift() {
    // The stated rule (distributions/README.md): the whole schedule's draw shifts every year, then
    // `discount_rate[i]` sets year i's rate, whatever the order in the file.
    let dists = "[[input]]\npath = \"discount_rate[2]\"\nkind = \"fixed\"\nvalue = 0.05\n\
                 [[input]]\npath = \"discount_rate\"\nkind = \"fixed\"\nvalue = 0.035\n";
    let plan = plan_with(SCHEDULE_MODEL, dists).unwrap();
    let mut x = plan.model.inputs(0);
    apply_medians(&mut x, &plan.set);
    let want = [0.045, 0.045, 0.05, 0.035];
    for (r, w) in x.discount_rates.iter().zip(want) {
        assert!((r - w).abs() < 1e-15, "{:?}", x.discount_rates);
    }
    // The run applies them in the same order.
    assert_eq!(npv_of_fixed_run(&plan), plan.evaluate_inputs(&x));
    // The same for a cost schedule drawn whole by its former name (`…_bn`, which sorts after
    // `[` by its bytes) and one year of it.
    let two = SCHEDULE_MODEL
        .replace(
            r#"scenarios = ["central"]"#,
            r#"scenarios = ["prudent", "base"]"#,
        )
        .replace(
            "one_off_costs_bn = [0.3, 0.1, 0, 0]",
            "one_off_costs_bn = { prudent = [0.4, 0.2, 0, 0], base = [0.3, 0.1, 0, 0] }",
        );
    let dists = "[[input]]\npath = \"themes.a.one_off_costs[1]\"\nkind = \"fixed\"\nvalue = 0.7\n\
                 [[input]]\npath = \"themes.a.one_off_costs_bn\"\nkind = \"between_scenarios\"\n\
                 low_percentile = 0\nextend = \"none\"\n";
    let plan = plan_with(&two, dists).unwrap();
    let paths: Vec<&str> = plan
        .set
        .inputs
        .iter()
        .map(|i| i.param.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["themes.a.one_off_costs_bn", "themes.a.one_off_costs[1]"]
    );
    let mut x = plan.model.inputs(0);
    apply_medians(&mut x, &plan.set);
    // Year 1 moved with the whole draw (between the scenarios' 0.4 and 0.3), year 2 is the
    // year's own draw.
    let y1 = x.themes[0].one_off_costs_bn[0];
    assert!(y1 > 0.3 && y1 < 0.4, "{y1}");
    assert_eq!(x.themes[0].one_off_costs_bn[1], 0.7);
}

/// Inputs that read what they overwrite (a whole rate schedule shifts from the model's; a drawn
/// share rescales the others) must see the model's values in every draw, not the draw before's.
/// A block of one draw starts from the model, so a run in blocks of one is the reference. In
/// larger blocks the draws before would show in the bits: a schedule shifted from the last
/// draw's rounds differently, and a share drawn at 1 leaves the others at 0, which no later draw
/// could rescale back.
#[test]
fn inputs_that_rescale_or_shift_start_every_draw_from_the_model() {
    let gm = std::fs::read_to_string(crate::local::GM).unwrap();
    let all_or_part = |path: &str| {
        format!(
            "[[input]]\npath = \"{path}\"\nkind = \"discrete\"\nvalues = [0.3, 1.0]\nweights = [0.5, 0.5]\n"
        )
    };
    let themes = "themes.families";
    let cases = [
        (
            SCHEDULE_MODEL,
            "[[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.01\nmax = 0.06\n"
                .to_string(),
        ),
        (SCHEDULE_MODEL, all_or_part("themes.a.partner_shares.NHS")),
        (&gm, all_or_part(&format!("{themes}.cost_shares.TFP"))),
        (
            &gm,
            all_or_part(&format!(
                "{themes}.outcomes.reduced_demand.agency_shares.DWP"
            )),
        ),
    ];
    for (model, dists) in cases {
        let plan = plan_with(model, &dists).unwrap();
        let alone = plan
            .run(&opts(400, SamplerKind::MonteCarlo, 1), &|_| {})
            .unwrap();
        let together = plan
            .run(&opts(400, SamplerKind::MonteCarlo, 400), &|_| {})
            .unwrap();
        assert!(alone == together, "{dists}");
    }
}

#[test]
fn a_drawn_share_keeps_the_shares_summing_to_one_or_is_refused() {
    let plan = plan_with(
        SCHEDULE_MODEL,
        "[[input]]\npath = \"themes.a.partner_shares.NHS\"\nkind = \"uniform\"\nmin = 0\nmax = 1\n",
    )
    .unwrap();
    let d = plan
        .run(&opts(500, SamplerKind::MonteCarlo, 64), &|_| {})
        .unwrap();
    let col = |name: &str| {
        &d.outcomes[(0..plan.n_outcomes())
            .find(|&c| plan.outcome_name(c) == name)
            .unwrap()]
    };
    let (total, council, nhs) = (
        col("total.npv"),
        col("partner.council.npv"),
        col("partner.NHS.npv"),
    );
    for r in 0..d.n {
        assert!((council[r] + nhs[r] - total[r]).abs() <= 1e-12 * total[r].abs());
        assert!((nhs[r] / total[r] - d.inputs[0][r]).abs() < 1e-12);
    }
    // Council 1 / NHS 0: nothing can absorb a drawn council share below 1.
    let lopsided = SCHEDULE_MODEL.replace("council = 0.6\nNHS = 0.4", "council = 1\nNHS = 0");
    let err = plan_with(
        &lopsided,
        "[[input]]\npath = \"themes.a.partner_shares.council\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1\n",
    )
    .err()
    .unwrap();
    assert!(
        err.contains("d.toml:2:8") && err.contains("every other partner's share"),
        "{err}"
    );
    // Two drawn shares of one theme: refused at the second, located.
    let err = plan_with(
        SCHEDULE_MODEL,
        "[[input]]\npath = \"themes.a.partner_shares.NHS\"\nkind = \"fixed\"\nvalue = 0.4\n[[input]]\npath = \"themes.a.partner_shares.council\"\nkind = \"fixed\"\nvalue = 0.6\n",
    )
    .err()
    .unwrap();
    assert!(
        err.contains("d.toml:6:8") && err.contains("one partner share per theme"),
        "{err}"
    );
}

/// Run the Python `script` with `args`; it must exit 0 and print `expect` (`needs` says how the
/// interpreter and its packages are provided, for a missing one).
fn run_python(python: &str, script: &str, args: &[&std::ffi::OsStr], expect: &str, needs: &str) {
    let o = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect(needs);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success() && out.contains(expect),
        "{args:?}: {out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The RNG floor's stages on one uniform(0, 1) input: its quantile is the uniform itself
/// (0 + u·1), so the three stages sum the same values in the same order, and with no
/// correlation the copula adds nothing; the sum is that of the input column a run draws.
#[test]
fn the_floor_stages_generate_the_run_s_uniforms() {
    use npvrisk::engine::Floor;
    let dists = "[[input]]\npath = \"themes.t.gross_benefit_bn\"\nkind = \"uniform\"\nmin = 0.0\nmax = 1.0\n";
    let plan = plan_with(&linear_model(), dists).unwrap();
    let o = opts(5000, SamplerKind::LatinHypercube, 700);
    let u = plan.floor(&o, Floor::Uniforms).unwrap();
    assert_eq!(
        u.to_bits(),
        plan.floor(&o, Floor::Copula).unwrap().to_bits()
    );
    assert_eq!(u.to_bits(), plan.rng_floor(&o).unwrap().to_bits());
    let d = plan.run(&o, &|_| {}).unwrap();
    let by_block: f64 = d.inputs[0].chunks(700).map(|b| b.iter().sum::<f64>()).sum();
    assert_eq!(u.to_bits(), by_block.to_bits());
    // Latin hypercube: one draw in each of the 5000 strata, so the sum is 2500 ± 0.5.
    assert!((u - 2500.0).abs() <= 0.5, "{u}");
}

/// With a correlation the copula stage moves the uniforms: two uniform(0, 1) inputs at rank
/// correlation 0.8 have quantiles equal to their copula uniforms, so the copula stage sums the
/// same values as the whole floor (in another association: equal to rounding), and differs from
/// the raw uniforms' sum by the copula's rearrangement (of order √n, far above rounding).
#[test]
fn the_floor_s_copula_stage_applies_the_correlation() {
    use npvrisk::engine::Floor;
    let dists = "[[input]]\npath = \"themes.t.gross_benefit_bn\"\nkind = \"uniform\"\nmin = 0.0\nmax = 1.0\n\n\
                 [[input]]\npath = \"themes.t.one_off_costs_bn[0]\"\nkind = \"uniform\"\nmin = 0.0\nmax = 1.0\n\n\
                 [correlation]\ninputs = [\"themes.t.gross_benefit_bn\", \"themes.t.one_off_costs_bn[0]\"]\n\
                 rank = [[1.0, 0.8], [0.8, 1.0]]\n";
    let plan = plan_with(&linear_model(), dists).unwrap();
    let o = opts(5000, SamplerKind::MonteCarlo, 700);
    let raw = plan.floor(&o, Floor::Uniforms).unwrap();
    let copula = plan.floor(&o, Floor::Copula).unwrap();
    let all = plan.rng_floor(&o).unwrap();
    assert!((copula - all).abs() <= 1e-12 * all, "{copula} vs {all}");
    assert!((raw - copula).abs() > 1e-6, "{raw} vs {copula}");
    // The whole floor sums the run's two input columns.
    let d = plan.run(&o, &|_| {}).unwrap();
    let inputs: f64 = d.inputs.iter().flatten().sum();
    assert!((inputs - all).abs() <= 1e-12 * all, "{inputs} vs {all}");
    // Inputs that take the copula's scores (PERT) leave their streams' uniforms raw: the stage's
    // checksum then takes the scores, and still differs from the raw uniforms'.
    let pert = dists.replace(
        "kind = \"uniform\"\nmin = 0.0\nmax = 1.0",
        "kind = \"pert\"\nmin = 0.0\nmode = 0.3\nmax = 1.0",
    );
    assert_eq!(pert.matches("pert").count(), 2);
    let plan = plan_with(&linear_model(), &pert).unwrap();
    let raw = plan.floor(&o, Floor::Uniforms).unwrap();
    let copula = plan.floor(&o, Floor::Copula).unwrap();
    assert!((raw - copula).abs() > 1e-6, "{raw} vs {copula}");
}

/// The draws as `ndarray` matrices: row r, column c is draw r's outcome (or input) c, the same
/// bits as the columns; the shapes are kept draws × outcomes and kept draws × inputs.
#[test]
fn draws_read_as_ndarray_matrices_row_by_draw() {
    let plan = default_plan();
    let d = plan
        .run(&opts(1_000, SamplerKind::MonteCarlo, 300), &|_| {})
        .unwrap();
    let m = d.outcome_matrix();
    assert_eq!(m.dim(), (1_000, plan.n_outcomes()));
    let x = d.input_matrix();
    assert_eq!(x.dim(), (1_000, d.inputs.len()));
    for r in [0, 1, 299, 300, 999] {
        for (c, col) in d.outcomes.iter().enumerate() {
            assert_eq!(
                m[[r, c]].to_bits(),
                col[r].to_bits(),
                "outcome {c}, draw {r}"
            );
        }
        for (c, col) in d.inputs.iter().enumerate() {
            assert_eq!(x[[r, c]].to_bits(), col[r].to_bits(), "input {c}, draw {r}");
        }
    }
    // A column of the matrix is the whole column: the total NPV's mean through ndarray.
    let k = ENTITY_MEASURES.len();
    let total = plan.entities.len() - 1;
    let mean = m.column(total * k).sum() / 1_000.0;
    let direct = d.outcomes[total * k].iter().sum::<f64>() / 1_000.0;
    assert!(
        (mean - direct).abs() <= 1e-12 * direct.abs(),
        "{mean} vs {direct}"
    );
}

/// A realisation drawn as −0 or +0 (a discrete distribution listing both): the distribution gives
/// −0 to the lower half of the uniforms, and the input column of the draws holds +0 there, as
/// every column does, so that the summaries' cells and sorting see one zero. This exercises the
/// input columns' writer; no outcome of this model can be −0 (its sums start from +0), so the
/// outcome columns' `one_zero` is checked here only as far as they hold no −0.
#[test]
fn no_column_of_draws_holds_a_negative_zero() {
    let dists = "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"discrete\"\n\
                 values = [-0.0, 0.0]\nweights = [0.5, 0.5]\nsource = \"test\"\n";
    let plan = plan_of(npvrisk::embedded::EY2013_MODEL, dists);
    let mut drawn = [0.0; 2];
    plan.set.inputs[0]
        .dist
        .values_batch(&[0.25, 0.75], &mut drawn);
    let neg = (-0.0f64).to_bits();
    assert_eq!(
        drawn.map(f64::to_bits),
        [neg, 0],
        "the fixture must draw −0 and +0"
    );
    let d = plan
        .run(&opts(4096, SamplerKind::MonteCarlo, 1000), &|_| {})
        .unwrap();
    assert_eq!(d.n, 4096);
    assert!(d.inputs[0].iter().all(|&v| v == 0.0));
    for (i, col) in d.inputs.iter().chain(&d.outcomes).enumerate() {
        assert!(
            col.iter().all(|v| v.to_bits() != neg),
            "column {i} holds −0"
        );
    }
}

/// A schedule's values for a batch of uniforms are `low + t·(mode − low)` with `t` the position
/// drawn from each uniform and clipped, and its values one uniform at a time, bit for bit: a
/// batch longer than the positions computed at once (64), not a multiple of it, from the
/// uniforms' ends to the middle, with a clip that binds at both ends; and a schedule of no years
/// writes nothing. From the uniforms' normal scores (a copula's), the same values again.
#[test]
fn a_schedule_batch_is_its_values_one_uniform_at_a_time() {
    use npvrisk::dist::Dist;
    use npvrisk::distfile::InputDist;
    let (low, mode) = (vec![1.0, 0.5, -2.0], vec![3.0, 0.25, 4.0]);
    let t_dist = Dist::pert(0.0, 0.3, 1.0, 4.0).unwrap();
    let clip = (0.1, 0.7);
    let dist = InputDist::Between {
        low: low.clone(),
        mode: mode.clone(),
        t_dist: t_dist.clone(),
        clip,
    };
    let mut u: Vec<f64> = (0..150).map(|i| (i as f64 + 0.5) / 150.0).collect();
    u.extend([0.0, 1.0, 0.5]);
    let mut batch = vec![f64::NAN; 3 * u.len()];
    dist.values_batch(&u, &mut batch);
    let mut clipped = [false; 2];
    for (j, &uj) in u.iter().enumerate() {
        let t = t_dist.quantile(uj).clamp(clip.0, clip.1);
        let want: Vec<u64> = low
            .iter()
            .zip(&mode)
            .map(|(l, md)| (l + t * (md - l)).to_bits())
            .collect();
        let got: Vec<u64> = batch[3 * j..3 * j + 3]
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(got, want, "uniform {uj}");
        let mut one = [f64::NAN; 3];
        dist.values(uj, &mut one);
        assert_eq!(one.map(f64::to_bits).to_vec(), want, "uniform {uj}, alone");
        clipped[0] |= t == clip.0;
        clipped[1] |= t == clip.1;
    }
    assert_eq!(clipped, [true, true], "the clip must bind at both ends");
    // From the normal scores of the uniforms inside (0, 1), as a copula gives them: the same
    // values, bit for bit.
    let inside: Vec<f64> = u.iter().copied().filter(|u| *u > 0.0 && *u < 1.0).collect();
    let z: Vec<f64> = inside
        .iter()
        .map(|&u| npvrisk::dist::std_normal_quantile(u))
        .collect();
    assert!(dist.samples_from_scores());
    let mut scored = vec![f64::NAN; 3 * z.len()];
    assert!(dist.values_batch_at_scores(&z, &mut scored));
    let mut want = vec![f64::NAN; 3 * z.len()];
    dist.values_batch(&inside, &mut want);
    assert_eq!(
        scored.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
        want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
    );
    let none = InputDist::Between {
        low: Vec::new(),
        mode: Vec::new(),
        t_dist,
        clip,
    };
    none.values_batch(&u, &mut []);
    assert!(none.values_batch_at_scores(&z, &mut []));
    // An input that does not sample from scores says so and writes nothing.
    let flat = InputDist::Direct(Dist::uniform(0.0, 1.0).unwrap());
    assert!(!flat.samples_from_scores());
    let mut out = [7.0; 2];
    assert!(!flat.values_batch_at_scores(&z[..2], &mut out));
    assert_eq!(out, [7.0; 2]);
}
