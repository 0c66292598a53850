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
