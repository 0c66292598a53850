//! Streamed summaries: the same bits as a summary of the draws in memory, and exact order
//! statistics (checked against sorting the draws).

use npvrisk::engine::{ENTITY_MEASURES, RunOptions};
use npvrisk::sampler::SamplerKind;
use npvrisk::stream::{StreamConfig, run_streamed, summarise};
use npvrisk::summary::{FileHash, Metadata, SummaryOptions};

use crate::{bin, default_plan, run_expect};

fn meta(o: &RunOptions) -> Metadata {
    Metadata {
        horizon_years: 5,
        npvrisk_version: "test".into(),
        model: FileHash::of("m", "m"),
        distributions: Vec::new(),
        scenario: "base".into(),
        seed: o.seed,
        sampler: o.sampler.name().into(),
        draws: o.draws,
        block_size: o.block_size,
        standard_errors: String::new(),
        percentile_method: String::new(),
    }
}

#[test]
fn a_streamed_summary_is_the_same_bits_as_the_summary_of_the_draws_in_memory() {
    let plan = default_plan();
    let so = SummaryOptions {
        percentiles: vec![0.001, 0.05, 0.1, 0.5, 0.9, 0.95, 0.999],
        interval: 0.8,
        thresholds: vec![5.0, -1.0],
        // The total NPV's own further percentiles (a batch's S-curve) are order statistics like
        // the others, so they too must be the same bits.
        total_npv_percentiles: vec![0.25, 0.5, 0.75],
    };
    // Tiny bins and collection cap force subdivision over several passes.
    let subdivide = StreamConfig {
        chunk_blocks: 3,
        bins: 4,
        collect_cap: 16,
        ..StreamConfig::default()
    };
    // Brackets collected in pass 1: with the whole run as its pilot (one process, 30,011 draws),
    // and, over more draws than the pilot, with the rest regenerated in chunks.
    let collect_first = StreamConfig {
        chunk_blocks: 3,
        grid_pilot: 1 << 14,
        collect_first: 1 << 16,
        ..StreamConfig::default()
    };
    // Brackets from the first 2¹² draws hold some 28,000 of 300,007 draws each, more than pass 1
    // collects here (24,000), so a second pass finds the ranks; with the wide pilot of 2¹⁴ draws
    // they are half as wide and pass 1 collects them all.
    let narrow = StreamConfig {
        chunk_blocks: 3,
        grid_pilot: 1 << 12,
        wide_pilot: 1 << 12,
        collect_first: 24_000,
        ..StreamConfig::default()
    };
    let wide = StreamConfig {
        wide_pilot: 1 << 14,
        ..narrow.clone()
    };
    const ALL: [SamplerKind; 3] = [
        SamplerKind::MonteCarlo,
        SamplerKind::LatinHypercube,
        SamplerKind::Sobol,
    ];
    let configs = [
        (subdivide, 30_011, 3..=9, &ALL[..]),
        (StreamConfig::single_process(), 30_011, 1..=1, &ALL[..]),
        (collect_first, 300_007, 1..=1, &ALL[..1]),
        (narrow, 300_007, 2..=2, &ALL[..1]),
        (wide, 300_007, 1..=1, &ALL[..1]),
    ];
    for (cfg, draws, (sampler, want_passes)) in configs
        .iter()
        .flat_map(|(c, n, p, ss)| ss.iter().map(move |s| (c, *n, (*s, p.clone()))))
    {
        let o = RunOptions {
            draws,
            seed: 11,
            sampler,
            block_size: 1000,
            skip_nonfinite: false,
        };
        let draws = plan.run(&o, &|_| {}).unwrap();
        let mem = summarise(&plan, &draws, meta(&o), &so, &Vec::new());
        let (streamed, passes) =
            run_streamed(&plan, &o, meta(&o), &so, &Vec::new(), cfg, &|_| {}, None).unwrap();
        assert!(
            want_passes.contains(&passes),
            "{passes} passes, expected {want_passes:?}: {cfg:?}"
        );
        assert_eq!(
            serde_json::to_string(&mem).unwrap(),
            serde_json::to_string(&streamed).unwrap(),
            "{sampler:?}"
        );
        // And the percentiles are those of the draws sorted here, exactly (their standard
        // errors, the same bits as in memory, are checked against their spread over seeds in
        // the next test, and against the closed form in tests/oracles.rs).
        let k = ENTITY_MEASURES.len();
        for (e, ent) in mem.outcomes.iter().enumerate() {
            let mut v = draws.outcomes[e * k].clone();
            v.sort_by(f64::total_cmp);
            // The total reports the union of both lists in order; the others only `percentiles`.
            let want: Vec<f64> = if ent.id == "total" {
                vec![0.001, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.999]
            } else {
                so.percentiles.clone()
            };
            let got: Vec<f64> = ent.npv.percentiles.iter().map(|p| p.p).collect();
            assert_eq!(got, want, "{}", ent.id);
            for p in &ent.npv.percentiles {
                // Hyndman & Fan's type 7, written out: position h = (n − 1)p, interpolated
                // between the order statistics on either side.
                let h = (v.len() - 1) as f64 * p.p;
                let lo = h.floor() as usize;
                let (a, b) = (v[lo], v[(lo + 1).min(v.len() - 1)]);
                let want = a + (h - lo as f64) * (b - a);
                assert_eq!(p.value.to_bits(), want.to_bits(), "{} P{}", ent.id, p.p);
            }
            assert_eq!(ent.npv.min, v[0]);
            assert_eq!(ent.npv.max, *v.last().unwrap());
            let negative = v.iter().filter(|x| **x < 0.0).count();
            assert_eq!(ent.npv.below[0].p, negative as f64 / v.len() as f64);
            let naive = draws.outcomes[e * k].iter().sum::<f64>() / draws.n as f64;
            // A left-to-right sum of n values is within about n·ε (relative) of the exact one.
            let tol = draws.n as f64 * f64::EPSILON * naive.abs().max(1.0);
            assert!(
                (ent.npv.mean - naive).abs() <= tol,
                "{}: {} vs {naive}",
                ent.id,
                ent.npv.mean
            );
        }
    }
}

#[test]
fn a_streamed_percentiles_standard_error_is_its_spread_over_seeds() {
    // R streamed runs of the embedded model on seeds 1..=R: each reported percentile varies from
    // seed to seed as its reported standard error says. The sample p-quantile of n draws is
    // asymptotically normal, so with σ² its true variance, (R − 1)·s²/σ² of the R values is
    // χ²(R − 1); σ² is taken as the mean of the R reported se², allowing for
    // - its own error, 4 of its standard errors from the replicates' spread of se², and
    // - the bias of the order-statistic interval behind the reported error: its ranks are
    //   rounded outwards, up to 2 ranks wider than the m = 2·1.96·√(np(1−p)) ranks of the
    //   interval, so se² up to (1 + 2/m)² too large.
    // The bounds split a 10⁻³ chance of a false alarm over every outcome, percentile and side.
    const R: u64 = 100;
    let plan = default_plan();
    let so = SummaryOptions {
        percentiles: vec![0.05, 0.1, 0.5, 0.9, 0.95],
        interval: 0.9,
        thresholds: Vec::new(),
        total_npv_percentiles: Vec::new(),
    };
    let n = 10_007;
    // (outcome, p) → (value, se) per seed.
    let mut reps: std::collections::BTreeMap<(String, u64), Vec<(f64, f64)>> = Default::default();
    for seed in 1..=R {
        let o = RunOptions {
            draws: n,
            seed,
            sampler: SamplerKind::MonteCarlo,
            block_size: 1000,
            skip_nonfinite: false,
        };
        let (sum, _) = run_streamed(
            &plan,
            &o,
            meta(&o),
            &so,
            &Vec::new(),
            &StreamConfig::single_process(),
            &|_| {},
            None,
        )
        .unwrap();
        for ent in &sum.outcomes {
            for p in &ent.npv.percentiles {
                reps.entry((ent.id.clone(), (p.p * 100.0).round() as u64))
                    .or_default()
                    .push((p.value, p.se));
            }
        }
    }
    // Outcomes no input moves have no spread and report no error: nothing to compare.
    reps.retain(|_, v| v.iter().any(|x| x.1 > 0.0));
    let alpha = 1e-3 / (2.0 * reps.len() as f64);
    let mut checked = std::collections::BTreeSet::new();
    for ((id, pct), v) in &reps {
        let p = *pct as f64 / 100.0;
        let (ratio, lo, hi) = crate::variance_ratio(v, alpha);
        let m = 2.0 * 1.96 * (n as f64 * p * (1.0 - p)).sqrt();
        let bias = (1.0 + 2.0 / m).powi(2);
        // A too large se² lowers the ratio: the allowance widens the lower bound.
        let (a, b) = (lo / bias, hi);
        assert!(
            a <= ratio && ratio <= b,
            "{id} P{pct}: variance over seeds / mean reported se² = {ratio}, allowed [{a}, {b}]"
        );
        checked.insert(id.clone());
    }
    // The three headline themes and the total (the indicative themes are constant).
    assert_eq!(checked.len(), 4, "{checked:?}");
}

fn json_without_timing(out: &std::process::Output) -> serde_json::Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    v
}

#[test]
fn run_stream_gives_the_in_memory_summary_also_when_draws_are_skipped() {
    let args = [
        "run",
        "tests/data/council.toml",
        "--dist",
        "tests/data/overflow_dists.toml",
        "--draws",
        "3000",
        "--block-size",
        "128",
        "--skip-nonfinite",
        "--format",
        "json",
    ];
    let mem = json_without_timing(&bin().args(args).output().unwrap());
    let streamed = json_without_timing(&bin().args(args).arg("--stream").output().unwrap());
    assert!(mem["skipped_nonfinite"].as_u64().unwrap() > 0);
    assert_eq!(mem, streamed);
}

#[test]
fn a_streamed_run_keeps_no_sipmath_draws_and_writes_nothing() {
    // Streamed runs keep CSV and Parquet draws as they go (tests/kept_draws.rs); a SIPmath
    // library holds whole columns, so it is refused before anything runs.
    let out_dir =
        std::env::temp_dir().join(format!("npvrisk-never-written-{}", std::process::id()));
    let out = run_expect(
        2,
        bin()
            .args(["run", "--draws", "100", "--stream", "--keep-draws"])
            .args(["--draws-format", "sipmath", "--out"])
            .arg(&out_dir),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--draws-format sipmath") && err.contains("parquet or csv"),
        "{err}"
    );
    assert!(!out_dir.exists());
}

/// A local model's streamed summary (the Greater Manchester example): each local measure (public
/// value NPV, BCR and ROI of each entity, each partner's budget impact) summarises its own column
/// of the kept draws: the minimum, maximum and mean, and the median as the type-7 interpolation
/// between its two order statistics, all computed here from `draws.csv` (to 1e-12 of the column's
/// scale: the draws are kept in £bn, the summary is in the model's £m).
#[test]
fn a_local_models_measures_summarise_their_own_columns_of_the_kept_draws() {
    let dir = crate::temp_dir("stream-local");
    run_expect(
        0,
        bin().args([
            "run",
            "examples/gm_troubled_families/model.toml",
            "--dist",
            "examples/gm_troubled_families/dists.toml",
            "--draws",
            "3000",
            "--keep-draws",
            "--draws-format",
            "csv",
            "--out",
            dir.to_str().unwrap(),
        ]),
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("summary.json")).unwrap()).unwrap();
    let kept = crate::oracles::Kept::read(&dir.join("draws.csv"));
    assert_eq!(kept.rows.len(), 3000);
    // Kept draws are in £bn whatever the model's unit (docs/draws.md); this model's is £m.
    assert_eq!(summary["money_unit"], "£m");
    let check = |name: &str, stats: &serde_json::Value, unit: f64| {
        let mut x: Vec<f64> = kept.col(name).iter().map(|v| v * unit).collect();
        let got = |k: &str| stats[k].as_f64().unwrap_or_else(|| panic!("{name} {k}"));
        x.sort_by(f64::total_cmp);
        let n = x.len();
        let scale = x[0].abs().max(x[n - 1].abs());
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * scale;
        assert!(
            close(got("min"), x[0]),
            "{name} min {} vs {}",
            got("min"),
            x[0]
        );
        assert!(close(got("max"), x[n - 1]), "{name} max");
        let mean = x.iter().sum::<f64>() / n as f64;
        assert!(close(got("mean"), mean), "{name} mean");
        // Type 7 at p = 0.5: h = (n − 1)/2 = 1499.5.
        let median = x[1499] + 0.5 * (x[1500] - x[1499]);
        let p50 = stats["percentiles"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["p"].as_f64() == Some(0.5))
            .unwrap()["value"]
            .as_f64()
            .unwrap();
        assert!(
            (p50 - median).abs() <= 1e-12 * scale,
            "{name} median {p50} vs {median}"
        );
    };
    let local = &summary["local"];
    let mut checked = 0;
    for e in local["entities"].as_array().unwrap() {
        let id = e["id"].as_str().unwrap();
        for (m, unit) in [
            ("public_value_npv", 1e3),
            ("public_value_bcr", 1.0),
            ("roi", 1.0),
        ] {
            check(&format!("{id}.{m}"), &e[m], unit);
            checked += 1;
        }
    }
    for p in local["budget_impact"].as_array().unwrap() {
        let id = p["id"].as_str().unwrap();
        check(&format!("partner.{id}.budget_impact"), &p["npv"], 1e3);
        checked += 1;
    }
    // Two entities (the theme and the total) and eight partners.
    assert_eq!(checked, 2 * 3 + 8);
    let _ = std::fs::remove_dir_all(&dir);
}
