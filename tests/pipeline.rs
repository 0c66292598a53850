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
    let cut = t.find(",\n  \"timing\"").expect("timing is the last field");
    t[..cut].to_string()
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
    assert!(dir.join("memory/draws.csv").exists());
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
    assert!(dir.join("checkpointed/summary.xlsx").exists());
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
    let draws = 30_011;
    for (name, stream, checkpoint) in [
        ("memory", false, false),
        ("streamed", true, false),
        ("checkpointed", true, true),
    ] {
        let count = std::sync::Arc::new(Count::default());
        let hooks = npvrisk::run::Hooks {
            observer: count.clone(),
            ..Default::default()
        };
        let spec = RunSpec {
            draws,
            seed: 5,
            block_size: 1000,
            stream,
            checkpoint: checkpoint.then(|| dir.join("ck")),
            out: Some(dir.join(name)),
            ..RunSpec::default()
        };
        npvrisk::run::run_with(&spec, &hooks).unwrap();
        assert_eq!(*count.starts.lock().unwrap(), vec![draws], "{name}");
        assert_eq!(count.finished.load(Ordering::Relaxed), 1, "{name}");
        // Every pass reports every draw once: pass k ends at k × draws.
        let done = count.done.load(Ordering::Relaxed);
        assert!(
            done >= draws && done % draws == 0,
            "{name}: {done} draws reported"
        );
        if !stream {
            assert_eq!(done, draws, "{name}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
