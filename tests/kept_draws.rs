//! Kept draws (`--keep-draws`) of every way of running: in memory, streamed, checkpointed and
//! resumed, sharded and joined by `merge` — the same rows, in draw order, in bounded memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use npvrisk::draws_out::{DrawsFormat, read_parquet};
use npvrisk::error::Error;
use npvrisk::export::Format;
use npvrisk::run::{Hooks, RunSpec, merge, run, run_with};

use crate::temp_dir;

/// A small case (a dozen columns per draw), past the streamed pilot (2^18 draws) so that pass 1
/// keeps draws both from the pilot in memory and from regenerated chunks; 100-draw blocks give a
/// checkpointed run several chunks to be interrupted between.
fn base(format: DrawsFormat) -> RunSpec {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    RunSpec {
        model: Some(data.join("council.toml")),
        dist: vec![data.join("council_dists.toml")],
        draws: 300_007,
        seed: 17,
        block_size: 100,
        keep_draws: true,
        draws_format: Some(format),
        ..RunSpec::default()
    }
}

/// [`base`] where about one draw in eight overflows and is skipped (`--skip-nonfinite`).
fn skipping(format: DrawsFormat) -> RunSpec {
    let mut s = base(format);
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    s.dist.push(data.join("overflow_dists.toml"));
    s.skip_nonfinite = true;
    s
}

/// Run `spec` with Ctrl-C as good as pressed: each attempt saves a chunk of pass 1 (or of a
/// later pass) and stops; resume until the run finishes. The number of attempts.
fn run_interrupted(spec: RunSpec, ck: &Path) -> usize {
    let hooks = Hooks {
        stop: Arc::new(AtomicBool::new(true)),
        ..Hooks::default()
    };
    let mut attempts = 0;
    let mut s = RunSpec {
        checkpoint: Some(ck.to_path_buf()),
        ..spec
    };
    loop {
        attempts += 1;
        match run_with(&s, &hooks) {
            Ok(_) => return attempts,
            Err(Error::Interrupted { .. }) => {
                s.checkpoint = None;
                s.resume = Some(ck.to_path_buf());
            }
            Err(e) => panic!("attempt {attempts}: {e}"),
        }
        assert!(attempts < 100, "the run makes no progress");
    }
}

/// Run `spec` as `n` shards into `dir/shards` (shard `interrupted`, if any, checkpointed and
/// stopped after every chunk until it is done), then merge them in reverse order into
/// `dir/merged`, joining their kept draws.
fn shards_then_merge(dir: &Path, n: u64, spec: RunSpec, interrupted: Option<u64>) {
    let format = spec.draws_format;
    for k in 0..n {
        let s = RunSpec {
            shard: Some((k, n)),
            out: Some(dir.join("shards")),
            ..spec.clone()
        };
        if interrupted == Some(k) {
            assert!(run_interrupted(s, &dir.join("ck-shard")) > 2);
        } else {
            run(&s).unwrap();
        }
    }
    let files: Vec<PathBuf> = (0..n)
        .rev()
        .map(|k| dir.join(format!("shards/shard-{k:05}-of-{n:05}.npvshard")))
        .collect();
    merge(&files, Some(&dir.join("merged")), Format::Csv, None, format).unwrap();
}

fn read(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files of kept-draw parts left in a checkpoint folder.
fn parts_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("draws-"))
        .collect()
}

/// `s` writing to the folder `name` of `dir`.
fn out_in(dir: &Path, name: &str, s: RunSpec) -> RunSpec {
    RunSpec {
        out: Some(dir.join(name)),
        ..s
    }
}

#[test]
fn streamed_resumed_and_sharded_runs_keep_the_draws_of_a_run_in_memory() {
    let dir = temp_dir("kept");
    let at = |name: &str, s: RunSpec| out_in(&dir, name, s);
    // The kept rows' draw indices jump over the skipped draws, in every way of running.
    let csv = skipping(DrawsFormat::Csv);
    // The reference: the draws held in memory, written at the end.
    run(&at("memory", csv.clone())).unwrap();
    let reference = read(&dir.join("memory/draws.csv"));
    let text = String::from_utf8(reference.clone()).unwrap();
    let index: Vec<u64> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    let skipped = 300_007 - index.len();
    assert!(
        skipped > 10_000 && skipped < 100_000,
        "{skipped} draws skipped"
    );
    assert!(index.windows(2).all(|w| w[0] < w[1]) && *index.last().unwrap() < 300_007);

    // Streamed: written as pass 1 goes, byte for byte the same file.
    let streamed = RunSpec {
        stream: true,
        ..csv.clone()
    };
    run(&at("streamed", streamed.clone())).unwrap();
    assert!(
        read(&dir.join("streamed/draws.csv")) == reference,
        "streamed"
    );

    // Checkpointed and stopped after every chunk, then resumed: still the same file, and the
    // parts it was kept in are gone from the checkpoint folder.
    let attempts = run_interrupted(at("resumed", streamed.clone()), &dir.join("ck"));
    assert!(
        attempts > 5,
        "{attempts} attempts: the run was hardly interrupted"
    );
    assert!(read(&dir.join("resumed/draws.csv")) == reference, "resumed");
    assert_eq!(parts_in(&dir.join("ck")), Vec::<String>::new());

    // Three shards, the middle one checkpointed and interrupted, joined by merge.
    shards_then_merge(&dir, 3, csv, Some(1));
    assert!(read(&dir.join("merged/draws.csv")) == reference, "merged");

    // And the same summary, its count of skipped draws included: the resumed run's pass 1 was
    // stopped inside the pilot (2^18 draws, 2,622 blocks here), whose blocks it summarises from
    // memory a chunk at a time.
    let summary = |name: &str| {
        let text = String::from_utf8(read(&dir.join(name).join("summary.json"))).unwrap();
        crate::without_timing(&text).to_string()
    };
    let memory = summary("memory");
    assert!(
        memory.contains("\"skipped_nonfinite\": "),
        "no count of skipped draws"
    );
    for name in ["streamed", "resumed", "merged"] {
        assert!(summary(name) == memory, "{name}: the summary differs");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn parquet_draws_of_streamed_resumed_and_sharded_runs_read_back_as_in_memory() {
    let dir = temp_dir("kept-pq");
    let at = |name: &str, s: RunSpec| out_in(&dir, name, s);
    // With skipped draws too: the `draw` column jumps over them.
    let pq = skipping(DrawsFormat::Parquet);
    run(&at("memory", pq.clone())).unwrap();
    let reference = read_parquet(&dir.join("memory/draws.parquet")).unwrap();
    let kept = reference.cols[0].len();
    assert!(
        kept < 290_000 && reference.cols[0][kept - 1] < 300_007.0,
        "{kept} rows"
    );
    // Streamed: the same row groups, so the same bytes.
    let streamed = RunSpec {
        stream: true,
        ..pq.clone()
    };
    run(&at("streamed", streamed.clone())).unwrap();
    assert!(
        read(&dir.join("streamed/draws.parquet")) == read(&dir.join("memory/draws.parquet")),
        "streamed"
    );
    // Resumed and merged: the parts' row groups are joined as they are, so the row groups
    // differ, but every column holds the same values.
    run_interrupted(at("resumed", streamed), &dir.join("ck"));
    shards_then_merge(&dir, 2, pq, None);
    for name in ["resumed", "merged"] {
        let got = read_parquet(&dir.join(name).join("draws.parquet")).unwrap();
        assert_eq!(got.names, reference.names, "{name}");
        assert!(got.groups.len() > 1, "{name}: {:?}", got.groups);
        assert_eq!(got.groups.iter().sum::<usize>(), kept, "{name}");
        for (j, (a, b)) in got.cols.iter().zip(&reference.cols).enumerate() {
            let same =
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{name}: column {}", reference.names[j]);
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_keep_draws_from_the_command_line_joins_the_shards_draws_into_the_single_runs() {
    // `run --shard K/N --keep-draws` then `merge --keep-draws`, as a user types them, in both
    // formats: CSV the same bytes as one process, Parquet the same values in every column.
    use crate::{bin, run_ok};
    let dir = temp_dir("kept-merge-cli");
    let case = [
        "--draws",
        "20000",
        "--block-size",
        "500",
        "--keep-draws",
        "-q",
    ];
    for format in ["csv", "parquet"] {
        let at = |name: &str| dir.join(format!("{format}-{name}"));
        run_ok(
            bin()
                .arg("run")
                .args(case)
                .args(["--draws-format", format, "--out"])
                .arg(at("single")),
        );
        for k in [2, 0, 1] {
            run_ok(
                bin()
                    .arg("run")
                    .args(case)
                    .args(["--draws-format", format, "--shard", &format!("{k}/3")])
                    .arg("--out")
                    .arg(at("shards")),
            );
        }
        let files: Vec<PathBuf> = (0..3)
            .map(|k| at("shards").join(format!("shard-{k:05}-of-00003.npvshard")))
            .collect();
        run_ok(
            bin()
                .arg("merge")
                .args(&files)
                .args(["--keep-draws", "--draws-format", format, "-q", "--out"])
                .arg(at("merged")),
        );
        let file = format!("draws.{format}");
        let (one, joined) = (at("single").join(&file), at("merged").join(&file));
        if format == "csv" {
            let text = read(&one);
            assert_eq!(
                text.iter().filter(|b| **b == b'\n').count(),
                20_001,
                "a header and a row per draw"
            );
            assert!(read(&joined) == text, "{format}: the joined draws differ");
        } else {
            let (a, b) = (read_parquet(&one).unwrap(), read_parquet(&joined).unwrap());
            assert_eq!(a.names, b.names);
            assert_eq!(b.groups.iter().sum::<usize>(), 20_000);
            for (j, (x, y)) in a.cols.iter().zip(&b.cols).enumerate() {
                let same =
                    x.len() == y.len() && x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
                assert!(same, "{format}: column {}", a.names[j]);
            }
        }
        let summary = |d: PathBuf| {
            let mut v: serde_json::Value =
                serde_json::from_slice(&read(&d.join("summary.json"))).unwrap();
            v.as_object_mut().unwrap().remove("timing");
            v
        };
        assert_eq!(summary(at("merged")), summary(at("single")), "{format}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kept_draws_that_cannot_be_written_or_joined_are_refused() {
    let dir = temp_dir("kept-bad");
    let expect_input = |r: Result<String, Error>, says: &str| match r {
        Err(e @ Error::Input(_)) => {
            assert_eq!(e.exit_code(), 2);
            assert!(e.to_string().contains(says), "{e}");
        }
        other => panic!("expected bad input ({says}), got {other:?}"),
    };
    // SIPmath holds whole columns: not from a streamed run.
    expect_input(
        run(&RunSpec {
            stream: true,
            out: Some(dir.join("s")),
            ..base(DrawsFormat::Sipmath)
        }),
        "`--draws-format sipmath`",
    );
    assert!(!dir.join("s").exists());
    // Nor can a shard.
    expect_input(
        run(&RunSpec {
            shard: Some((0, 2)),
            out: Some(dir.join("s")),
            ..base(DrawsFormat::Sipmath)
        }),
        "`--draws-format sipmath`",
    );
    assert!(!dir.join("s").exists());
    // MPI ranks do not write draws (shards do).
    expect_input(
        run(&RunSpec {
            mpi: true,
            out: Some(dir.join("mpi")),
            ..base(DrawsFormat::Csv)
        }),
        "`--keep-draws` with `--mpi`",
    );
    // Later passes of shards read the draws again; pass 1 keeps them.
    expect_input(
        run(&RunSpec {
            shard: Some((0, 2)),
            pass: Some(dir.join("pass2.npvplan")),
            out: Some(dir.join("p")),
            ..base(DrawsFormat::Csv)
        }),
        "`--keep-draws` with `--pass`",
    );
    // Shards run without --keep-draws have no draws to join.
    let plain = RunSpec {
        draws: 5_000,
        keep_draws: false,
        draws_format: None,
        ..base(DrawsFormat::Csv)
    };
    let files: Vec<PathBuf> = (0..2)
        .map(|k| {
            run(&RunSpec {
                shard: Some((k, 2)),
                out: Some(dir.join("plain")),
                ..plain.clone()
            })
            .unwrap();
            dir.join(format!("plain/shard-{k:05}-of-00002.npvshard"))
        })
        .collect();
    let join = |files: &[PathBuf]| {
        merge(
            files,
            Some(&dir.join("m")),
            Format::Csv,
            None,
            Some(DrawsFormat::Csv),
        )
    };
    expect_input(join(&files), "has no kept draws next to it");
    // A draws file cut short (or of another run) does not add up to its shards' rows.
    for k in 0..2 {
        run(&RunSpec {
            shard: Some((k, 2)),
            out: Some(dir.join("plain")),
            keep_draws: true,
            draws_format: Some(DrawsFormat::Csv),
            ..plain.clone()
        })
        .unwrap();
    }
    let one = dir.join("plain/shard-00001-of-00002.draws.csv");
    let text = std::fs::read_to_string(&one).unwrap();
    let cut: Vec<&str> = text.lines().take(10).collect();
    std::fs::write(&one, cut.join("\n") + "\n").unwrap();
    expect_input(join(&files), "hold 2509 rows, their shard files count 5000");
    assert!(!dir.join("m/draws.csv").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_command_line_refuses_draws_it_would_not_keep_and_slurm_keeps_them_in_pass_one() {
    use crate::{bin, run_expect, run_ok};
    let dir = temp_dir("kept-cli");
    for (args, says) in [
        (
            vec![
                "run",
                "--draws",
                "100",
                "--shard",
                "0/2",
                "--pass",
                "p",
                "--keep-draws",
                "--out",
                "o",
            ],
            "`--keep-draws` with `--pass`",
        ),
        (
            vec!["merge", "x.npvshard", "--draws-format", "parquet"],
            "--keep-draws",
        ),
        (
            vec![
                "merge",
                "x.npvshard",
                "--keep-draws",
                "--draws-format",
                "sipmath",
            ],
            "sipmath",
        ),
        (
            vec!["merge", "x.npvshard", "--keep-draws"],
            "`--keep-draws` needs `--out DIR`",
        ),
    ] {
        let o = run_expect(2, bin().current_dir(&dir).args(&args));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    assert!(!dir.join("o").exists());
    // `slurm` checks the options as a shard would, before writing a script.
    let o = run_expect(
        2,
        bin().args([
            "slurm",
            "--shards",
            "4",
            "--out",
            "big",
            "--",
            "--keep-draws",
            "--draws-format",
            "sipmath",
        ]),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("run as a shard") && err.contains("sipmath"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    // The Slurm script: the pass-1 array and the final merge keep the draws, pass 2 does not.
    let o = run_ok(bin().args([
        "slurm",
        "--shards",
        "4",
        "--out",
        "big",
        "--",
        "--draws",
        "1000000",
        "--keep-draws",
        "--draws-format",
        "parquet",
    ]));
    let script = String::from_utf8_lossy(&o.stdout);
    let line = |start: &str| {
        script
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line starting {start:?}:\n{script}"))
            .to_string()
    };
    assert!(line("SHARD_CMD=").contains("--keep-draws --draws-format parquet"));
    assert!(!line("PASS_CMD=").contains("--keep-draws"));
    assert!(!line("RUN=").contains("--keep-draws"));
    let merge = script
        .lines()
        .find(|l| l.contains("merge") && l.contains("--format json"))
        .unwrap();
    assert!(
        merge.contains("--keep-draws --draws-format parquet"),
        "{merge}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
