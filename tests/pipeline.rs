//! The run pipeline called as a library: every way of executing a run (draws in memory,
//! streamed, checkpointed, sharded and merged) gives the same summary bits, through one exporter,
//! and failures come back as typed errors rather than exit codes.

use npvrisk::error::Error;
use npvrisk::export::Format;
use npvrisk::run::{RunSpec, merge, run};

use crate::temp_dir;

/// The summary JSON a run wrote into `dir`, without its timing (the one field that differs).
fn summary(dir: &std::path::Path) -> String {
    let t = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    crate::without_timing(&t).to_string()
}

#[test]
fn every_execution_of_a_run_gives_the_same_summary_bits() {
    let dir = temp_dir("pipeline");
    let base = RunSpec {
        draws: 30_011,
        seed: 5,
        block_size: 1000,
        ..RunSpec::default()
    };
    let at = |name: &str, s: RunSpec| RunSpec {
        out: Some(dir.join(name)),
        ..s
    };
    let printed = run(&at(
        "memory",
        RunSpec {
            keep_draws: true,
            format: Format::Json,
            ..base.clone()
        },
    ))
    .unwrap();
    let reference = summary(&dir.join("memory"));
    // What is printed is the summary written, timing aside.
    assert!(printed.starts_with(&reference), "printed JSON differs");
    // The kept draws are the run's: a row per draw, and their total NPV averages (summed here)
    // to the summary's mean, up to the rounding of n additions in another order.
    let kept = crate::oracles::Kept::read(&dir.join("memory/draws.csv"));
    let total = kept.col("total.npv");
    assert_eq!(total.len(), 30_011);
    let mean = total.iter().sum::<f64>() / total.len() as f64;
    let big = total.iter().fold(0.0f64, |m, x| m.max(x.abs()));
    let reported = crate::total_npv_mean(&dir.join("memory/summary.json"));
    assert!(
        (mean - reported).abs() <= 2.0 * total.len() as f64 * f64::EPSILON * big,
        "{mean} vs {reported}"
    );
    run(&at(
        "streamed",
        RunSpec {
            stream: true,
            ..base.clone()
        },
    ))
    .unwrap();
    assert_eq!(summary(&dir.join("streamed")), reference, "streamed");
    run(&at(
        "checkpointed",
        RunSpec {
            stream: true,
            checkpoint: Some(dir.join("ck")),
            format: Format::Xlsx,
            ..base.clone()
        },
    ))
    .unwrap();
    assert_eq!(
        summary(&dir.join("checkpointed")),
        reference,
        "checkpointed"
    );
    crate::assert_workbook_holds(
        &dir.join("checkpointed/summary.xlsx"),
        crate::total_npv_mean(&dir.join("checkpointed/summary.json")),
    );
    let n = 3;
    for k in 0..n {
        run(&at(
            "shards",
            RunSpec {
                shard: Some((k, n)),
                ..base.clone()
            },
        ))
        .unwrap();
    }
    let files: Vec<std::path::PathBuf> = (0..n)
        .map(|k| dir.join(format!("shards/shard-{k:05}-of-{n:05}.npvshard")))
        .collect();
    merge(&files, Some(&dir.join("merged")), Format::Csv, None, None).unwrap();
    assert_eq!(summary(&dir.join("merged")), reference, "merged shards");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_library_reports_bad_input_as_a_typed_error_and_writes_nothing() {
    let dir = temp_dir("pipeline-bad");
    let out = dir.join("o");
    for (spec, says) in [
        (
            RunSpec {
                draws: 0,
                out: Some(out.clone()),
                ..RunSpec::default()
            },
            "`--draws` = 0",
        ),
        (
            RunSpec {
                format: Format::Xlsx,
                ..RunSpec::default()
            },
            "give `--out DIR`",
        ),
        (
            RunSpec {
                draws: 100,
                scenario: Some("central".into()),
                out: Some(out.clone()),
                ..RunSpec::default()
            },
            "`--scenario` = \"central\"",
        ),
    ] {
        match run(&spec) {
            Err(e @ Error::Input(_)) => {
                assert_eq!(e.exit_code(), 2);
                assert!(e.to_string().contains(says), "{e}");
            }
            other => panic!("expected bad input ({says}), got {other:?}"),
        }
        assert!(!out.join("summary.json").exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An observer counting what a run reports.
#[derive(Default)]
struct Count {
    starts: std::sync::Mutex<Vec<u64>>,
    done: std::sync::atomic::AtomicU64,
    finished: std::sync::atomic::AtomicU64,
}

impl npvrisk::run::Observer for Count {
    fn start(&self, draws: u64) {
        self.starts.lock().unwrap().push(draws);
    }
    fn advance(&self, draws: u64) {
        self.done
            .fetch_add(draws, std::sync::atomic::Ordering::Relaxed);
    }
    fn finish(&self) {
        self.finished
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[test]
fn the_callers_observer_sees_every_pass_over_the_draws() {
    use std::sync::atomic::Ordering;
    let dir = temp_dir("pipeline-observer");
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    // Past the streamed pilot (2^18 draws), so that a streamed pass 1 regenerates draws and
    // later passes go over them again.
    let draws = 300_007;
    let base = RunSpec {
        model: Some(data.join("council.toml")),
        dist: vec![data.join("council_dists.toml")],
        draws,
        seed: 5,
        block_size: 1000,
        ..RunSpec::default()
    };
    let observed = |name: &str, spec: RunSpec| {
        let count = std::sync::Arc::new(Count::default());
        let hooks = npvrisk::run::Hooks {
            observer: count.clone(),
            ..Default::default()
        };
        let spec = RunSpec {
            out: Some(dir.join(name)),
            ..spec
        };
        npvrisk::run::run_with(&spec, &hooks).unwrap();
        assert_eq!(count.finished.load(Ordering::Relaxed), 1, "{name}");
        let starts = count.starts.lock().unwrap().clone();
        (starts, count.done.load(Ordering::Relaxed))
    };
    // Held in memory: one pass over the draws.
    let (starts, done) = observed(
        "memory",
        RunSpec {
            keep_draws: true,
            ..base.clone()
        },
    );
    assert_eq!((starts, done), (vec![draws], draws), "memory");
    // Streamed, and streamed with a checkpoint: every pass reports every draw once (the pilot's
    // too, summarised from memory rather than run again), so pass k ends at k × draws. Either
    // takes one pass at `draws` (pass 1 collects the values around every wanted rank). From
    // about 10^7 draws of this case pass 1 counts its brackets into bins, and still takes one
    // pass: its sieve keeps the values of the bins near each rank, from one checkpointed chunk
    // to the next too (a run resumed past block 0 has none).
    let many = 16_000_017;
    for (name, checkpoint, n, passes) in [
        ("streamed", None, draws, 1),
        ("checkpointed", Some(dir.join("ck")), draws, 1),
        ("streamed-many", None, many, 1),
        ("checkpointed-many", Some(dir.join("ck-many")), many, 1),
    ] {
        let (starts, done) = observed(
            name,
            RunSpec {
                draws: n,
                stream: true,
                checkpoint,
                ..base.clone()
            },
        );
        assert_eq!(starts, vec![n], "{name}");
        assert_eq!(done, passes * n, "{name}");
    }
    // A shard, plain or checkpointed: one start, its own blocks' draws once.
    for (name, checkpoint) in [("shard", None), ("shard-ck", Some(dir.join("ck-shard")))] {
        let (starts, done) = observed(
            name,
            RunSpec {
                shard: Some((1, 2)),
                checkpoint,
                ..base.clone()
            },
        );
        assert_eq!(starts.len(), 1, "{name}: {starts:?}");
        assert_eq!(done, draws - 150 * 1000, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_asked_for_one_analysis_is_refused_and_writes_nothing() {
    // A report has every analysis: a program asking for one alone gets an input error (the
    // command line has no `--method` for `report`), and no folder.
    let dir = temp_dir("pipeline-report-method");
    let out = dir.join("r");
    let spec = npvrisk::run::SensSpec {
        run: RunSpec {
            draws: 1000,
            out: Some(out.clone()),
            ..RunSpec::default()
        },
        method: npvrisk::run::Method::Tornado,
        levels: vec![0.1, 0.9],
        sobol_n: 64,
        bootstrap: 100,
        confidence: 0.95,
    };
    match npvrisk::run::report(&spec) {
        Err(Error::Input(m)) => assert!(m.contains("`method` must be `all`"), "{m}"),
        other => panic!("{:?}", other.map(|_| ())),
    }
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}
