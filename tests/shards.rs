use std::path::{Path, PathBuf};

use crate::{bin, run_expect, run_ok, temp_dir};

const RUN: [&str; 5] = ["run", "--draws", "30000", "--block-size", "1000"];

/// The summary JSON in `path` without its `timing` field (the last key), as bytes.
fn without_timing(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).unwrap();
    crate::without_timing(&text).as_bytes().to_vec()
}

fn shards(dir: &Path, n: u64) -> Vec<PathBuf> {
    shards_with(dir, n, |_| Vec::new())
}

/// [`shards`], each shard `k` run with the further arguments `more(k)`.
fn shards_with(dir: &Path, n: u64, more: impl Fn(u64) -> Vec<std::ffi::OsString>) -> Vec<PathBuf> {
    for k in 0..n {
        run_ok(
            bin()
                .args(RUN)
                .args(["--shard", &format!("{k}/{n}"), "--out"])
                .arg(dir)
                .args(more(k)),
        );
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len() as u64, n);
    files
}

/// `merge FILES --next-pass PLAN`, which must succeed: its notes.
fn plan_next_pass(files: &[PathBuf], plan: &Path) -> String {
    let o = run_ok(bin().arg("merge").args(files).arg("--next-pass").arg(plan));
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn merge(files: &[PathBuf], out: &Path) -> std::process::Output {
    bin()
        .arg("merge")
        .args(files)
        .arg("--out")
        .arg(out)
        .args(["--format", "json"])
        .output()
        .unwrap()
}

#[test]
fn shards_merged_in_any_order_give_the_single_process_summary_byte_for_byte() {
    let dir = temp_dir("shards");
    let single = dir.join("single");
    run_ok(
        bin()
            .args(RUN)
            .args(["--format", "json", "--out"])
            .arg(&single),
    );
    let reference = without_timing(&single.join("summary.json"));
    for n in [4u64, 7] {
        let files = shards(&dir.join(format!("s{n}")), n);
        // Two shuffled orders: reversed, and odd positions first.
        let reversed: Vec<PathBuf> = files.iter().rev().cloned().collect();
        let interleaved: Vec<PathBuf> = files
            .iter()
            .skip(1)
            .step_by(2)
            .chain(files.iter().step_by(2))
            .cloned()
            .collect();
        for (i, order) in [reversed, interleaved].iter().enumerate() {
            let out = dir.join(format!("m{n}-{i}"));
            let o = merge(order, &out);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(0), "{err}");
            // The shards' sieves found every percentile the merged cells leave: no pass over
            // the draws after the shards' own.
            assert!(
                err.contains(&format!(
                    "merged {n} shards (30000 draws, 1 pass over them)"
                )),
                "{err}"
            );
            assert!(
                without_timing(&out.join("summary.json")) == reference,
                "{n} shards, order {i}"
            );
        }
        // Shards saving their progress keep a sieve too (one resumed past its first block
        // would not: the sieve is not saved).
        let ck = dir.join(format!("ck{n}"));
        let saving = shards_with(&dir.join(format!("c{n}")), n, |k| {
            vec!["--checkpoint".into(), ck.join(k.to_string()).into()]
        });
        let out = dir.join(format!("mc{n}"));
        let o = merge(&saving, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("1 pass over them"), "{err}");
        assert!(without_timing(&out.join("summary.json")) == reference);
        // Planning a second pass plans none, and a shard given that plan has nothing to do.
        let plan = dir.join(format!("p{n}.npvplan"));
        let err = plan_next_pass(&files, &plan);
        assert!(err.contains("no further pass is needed"), "{err}");
        let o = run_ok(
            bin()
                .args(RUN)
                .args(["--shard", &format!("0/{n}"), "--pass"])
                .arg(&plan)
                .arg("--out")
                .arg(dir.join(format!("none{n}"))),
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("plans no further pass: nothing to do"),
            "{err}"
        );
        assert!(!dir.join(format!("none{n}")).exists());
        // A merge writes the workbook as a single run does (one exporter for every command).
        let out = dir.join(format!("x{n}"));
        run_ok(
            bin()
                .arg("merge")
                .args(&files)
                .args(["--format", "xlsx", "--out"])
                .arg(&out),
        );
        crate::assert_workbook_holds(
            &out.join("summary.xlsx"),
            crate::total_npv_mean(&out.join("summary.json")),
        );
        assert!(without_timing(&out.join("summary.json")) == reference);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_second_pass_planned_by_merge_and_run_by_the_shards_gives_the_single_process_summary() {
    let dir = temp_dir("shards-pass2");
    let single = dir.join("single");
    run_ok(
        bin()
            .args(RUN)
            .args(["--format", "json", "--out"])
            .arg(&single),
    );
    let n = 5u64;
    let sdir = dir.join("s");
    // Shards told to keep no sieve (some saving their progress) leave percentiles to a second
    // pass, which the shards run.
    let ck = dir.join("ck");
    let files = shards_with(&sdir, n, |k| {
        let mut a = vec!["--no-sieve".into()];
        if k % 2 == 1 {
            a.extend(["--checkpoint".into(), ck.join(k.to_string()).into()]);
        }
        a
    });
    // Without its sieve's values a shard's file is smaller.
    let sieved = shards_with(&dir.join("sieved"), n, |_| Vec::new());
    let size = |p: &PathBuf| std::fs::metadata(p).unwrap().len();
    for k in [0, 2, 4] {
        assert!(size(&files[k]) < size(&sieved[k]), "shard {k}");
    }
    let plan = dir.join("pass2.npvplan");
    let err = plan_next_pass(&files, &plan);
    assert!(err.contains("wrote the plan of pass 2"), "{err}");
    for k in (0..n).rev() {
        run_ok(
            bin()
                .args(RUN)
                .args(["--shard", &format!("{k}/{n}"), "--pass"])
                .arg(&plan)
                .arg("--out")
                .arg(&sdir),
        );
    }
    let mut all: Vec<PathBuf> = std::fs::read_dir(&sdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    all.sort();
    assert_eq!(all.len() as u64, 2 * n);
    all.reverse();
    let out = dir.join("merged");
    let o = merge(&all, &out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(!err.contains("computed here"), "{err}");
    assert!(err.contains("2 passes over them"), "{err}");
    assert!(
        without_timing(&out.join("summary.json")) == without_timing(&single.join("summary.json"))
    );
    // A pass file missing is named; a plan of another run is refused.
    let some: Vec<PathBuf> = all
        .iter()
        .filter(|p| !p.ends_with(format!("pass2-shard-00003-of-0000{n}.npvshard")))
        .cloned()
        .collect();
    let o = merge(&some, &dir.join("never"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("pass 2") && err.contains("missing"), "{err}");
    assert!(!dir.join("never").exists());
    let o = run_expect(
        2,
        bin()
            .args(RUN)
            .args(["--seed", "5", "--shard", "0/5", "--pass"])
            .arg(&plan)
            .arg("--out")
            .arg(dir.join("never")),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("plan of a different run") && err.contains("seed 5"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn slurm_array_variables_choose_the_shard() {
    // An array numbered from 1: task IDs 1, 2, 3 are shards 0, 1, 2 of 3, and together they
    // merge into the single-process summary (every block once).
    let dir = temp_dir("slurm-env");
    let parts = dir.join("parts");
    for (id, shard) in [("2", 1), ("1", 0), ("3", 2)] {
        run_ok(
            bin()
                .args(RUN)
                .arg("--out")
                .arg(&parts)
                .env("SLURM_ARRAY_TASK_ID", id)
                .env("SLURM_ARRAY_TASK_COUNT", "3")
                .env("SLURM_ARRAY_TASK_MIN", "1"),
        );
        assert!(
            parts
                .join(format!("shard-{shard:05}-of-00003.npvshard"))
                .exists(),
            "task {id}"
        );
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&parts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let merged = dir.join("merged");
    let o = merge(&files, &merged);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let single = dir.join("single");
    run_ok(bin().args(RUN).arg("--out").arg(&single));
    assert!(
        without_timing(&merged.join("summary.json"))
            == without_timing(&single.join("summary.json"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_shards_are_rejected_naming_the_file_and_the_mismatch_and_nothing_is_written() {
    let dir = temp_dir("bad-shards");
    let files = shards(&dir.join("s"), 3);
    let out = dir.join("out");
    let check = |files: &[PathBuf], needle: &str| {
        let o = merge(files, &out);
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(needle), "expected {needle:?} in {err}");
        assert!(!out.exists(), "a failed merge wrote {}", out.display());
    };
    // A block range missing, and one given twice.
    check(&files[..2], "blocks 20..30 are missing");
    check(
        &[
            files[0].clone(),
            files[1].clone(),
            files[1].clone(),
            files[2].clone(),
        ],
        "appear twice",
    );
    // A shard of another run (another seed).
    let other = dir.join("other");
    run_ok(
        bin()
            .args(RUN)
            .args(["--seed", "99", "--shard", "2/3", "--out"])
            .arg(&other),
    );
    let foreign = other.join("shard-00002-of-00003.npvshard");
    check(
        &[files[0].clone(), files[1].clone(), foreign.clone()],
        "comes from a different run",
    );
    check(
        &[files[0].clone(), files[1].clone(), foreign],
        "seed 99 against",
    );
    // Truncated, and one flipped byte.
    let bytes = std::fs::read(&files[2]).unwrap();
    let cut = dir.join("truncated.npvshard");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    check(
        &[files[0].clone(), files[1].clone(), cut.clone()],
        "truncated.npvshard` is truncated or corrupted",
    );
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 3] ^= 0x40;
    let bad = dir.join("flipped.npvshard");
    std::fs::write(&bad, &flipped).unwrap();
    check(
        &[files[0].clone(), files[1].clone(), bad],
        "flipped.npvshard` is truncated or corrupted",
    );
    let not = dir.join("not-a-shard.npvshard");
    std::fs::write(&not, "hello").unwrap();
    check(&[not], "is not an npvrisk shard file");
    // Shard ids out of range.
    for spec in ["0/0", "3/3", "x/2"] {
        let o = bin()
            .args(RUN)
            .args(["--shard", spec, "--out"])
            .arg(dir.join("x"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{spec}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("`--shard`"),
            "{spec}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_slurm_script_runs_an_array_a_plan_a_second_array_and_a_merge_in_order() {
    let o = run_ok(bin().args([
        "slurm",
        "--shards",
        "4",
        "--out",
        "/scratch/r",
        "--cpus-per-task",
        "8",
        "--",
        "--draws",
        "1000000",
    ]));
    let script = String::from_utf8(o.stdout).unwrap();
    assert!(script.starts_with("#!/bin/bash"));
    assert!(script.contains("--array=0-3 --cpus-per-task=8"));
    // The shard command sits in double quotes: `$` is escaped so that the array task expands it.
    assert!(script.contains("RAYON_NUM_THREADS=\\${SLURM_CPUS_PER_TASK:-1}"));
    assert!(script.contains(
        "run --draws 1000000 --shard \\${SLURM_ARRAY_TASK_ID}/4 --out /scratch/r/shards"
    ));
    assert!(script.contains("--dependency=afterok:\"$ARRAY_JOB\""));
    assert!(
        script.contains("merge /scratch/r/shards/*.npvshard --next-pass /scratch/r/pass2.npvplan")
    );
    assert!(script.contains("--dependency=afterok:\"$PLAN_JOB\""));
    assert!(script.contains("--pass /scratch/r/pass2.npvplan"));
    assert!(script.contains("--dependency=afterok:\"$PASS_JOB\""));
    assert!(script.contains("merge /scratch/r/shards/*.npvshard --out /scratch/r"));
    // The resubmission example names an array task that exists.
    assert!(
        script.contains("#   sbatch --array=3 --cpus-per-task=8"),
        "{script}"
    );
    for (args, needle) in [
        (
            vec!["slurm", "--shards", "0", "--out", "x"],
            "`--shards` = 0",
        ),
        (
            vec![
                "slurm", "--shards", "2", "--out", "x", "--", "--draws", "zero",
            ],
            "not valid for `npvrisk run`",
        ),
        (
            vec![
                "slurm", "--shards", "2", "--out", "x", "--", "--shard", "1/2",
            ],
            "sets the shard",
        ),
        (
            vec![
                "slurm",
                "--shards",
                "2",
                "--cpus-per-task",
                "0",
                "--out",
                "x",
            ],
            "`--cpus-per-task` = 0",
        ),
        (
            // 10,000 draws are 3 blocks of 4,096: a fourth array task would have none.
            vec![
                "slurm", "--shards", "4", "--out", "x", "--", "--draws", "10000",
            ],
            "`--shards` = 4: more than the run's 3 blocks",
        ),
        (
            // The run's files are read now, not by every array task on the cluster.
            vec![
                "slurm",
                "--shards",
                "2",
                "--out",
                "x",
                "--",
                "tests/data/no_such_model.toml",
            ],
            "tests/data/no_such_model.toml",
        ),
        (
            vec![
                "slurm",
                "--shards",
                "2",
                "--out",
                "x",
                "--",
                "tests/data/council.toml",
                "--dist",
                "distributions/ey2013_default.toml",
            ],
            "distributions/ey2013_default.toml:",
        ),
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}"
        );
    }
}

/// A stand-in for Slurm's `sbatch`, for running a script `npvrisk slurm` wrote on a machine
/// without Slurm: each job runs at once, in the foreground, its `--wrap` command under `sh` (as
/// sbatch wraps it), an array's tasks one after the other with `SLURM_ARRAY_TASK_ID` set, the
/// output in the `--output` file (`%a` the task). A failed job fails the submission, so the
/// script stops there. Dependencies hold by construction: jobs run in submission order.
const SBATCH: &str = r#"#!/bin/bash
set -euo pipefail
array="" wrap="" output=/dev/null
for a in "$@"; do
    case "$a" in
        --array=*) array=${a#--array=} ;;
        --wrap=*) wrap=${a#--wrap=} ;;
        --output=*) output=${a#--output=} ;;
        --cpus-per-task=*) export SLURM_CPUS_PER_TASK=${a#--cpus-per-task=} ;;
    esac
done
[ -n "$wrap" ] || { echo "sbatch stand-in: no --wrap" >&2; exit 1; }
if [ -n "$array" ]; then
    for ((i = ${array%-*}; i <= ${array#*-}; i++)); do
        SLURM_ARRAY_TASK_ID=$i sh -c "$wrap" > "${output//%a/$i}" 2>&1
    done
else
    sh -c "$wrap" > "$output" 2>&1
fi
echo "$$"
"#;

/// `npvrisk slurm --shards N --cpus-per-task 1 --npvrisk EXE --out OUT`: the script of a cluster
/// run whose jobs call `exe`; the caller adds the run's options or the batch.
fn slurm_with(shards: u32, exe: &Path, out: &Path) -> std::process::Command {
    let mut c = bin();
    c.args([
        "slurm",
        "--shards",
        &shards.to_string(),
        "--cpus-per-task",
        "1",
        "--npvrisk",
    ])
    .arg(exe)
    .arg("--out")
    .arg(out);
    c
}

#[test]
fn the_slurm_script_run_as_written_with_the_given_binary_gives_the_single_process_outputs() {
    // `--npvrisk PATH`: every command of the script runs PATH, here a link with a space in its
    // folder and another name, with no `npvrisk` on the PATH the script sees. Pass 1 keeps the
    // draws and the final `merge --keep-draws` joins them: the summary and the draws must be
    // those of one process, bit for bit.
    let dir = temp_dir("slurm-standin");
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let sbatch = tools.join("sbatch");
    std::fs::write(&sbatch, SBATCH).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&sbatch, std::fs::Permissions::from_mode(0o755)).unwrap();
    let exe = dir.join("cluster bin/npvrisk-1.0");
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_npvrisk"), &exe).unwrap();
    let path = format!("{}:/usr/bin:/bin", tools.display());
    for d in path.split(':') {
        assert!(!Path::new(d).join("npvrisk").exists(), "npvrisk in {d}");
    }
    let run = ["--draws", "30000", "--block-size", "1000", "--keep-draws"];
    let single = dir.join("single");
    run_ok(
        bin()
            .arg("run")
            .args(run)
            .args(["--format", "json", "-q", "--out"])
            .arg(&single),
    );
    let cluster = dir.join("cluster out");
    let o = run_ok(slurm_with(3, &exe, &cluster).arg("--").args(run));
    let script = String::from_utf8(o.stdout).unwrap();
    // Outside comments, the binary is only ever called by its quoted path.
    let quoted = format!("'{}'", exe.display());
    let code: Vec<&str> = script.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(
        code.iter()
            .map(|l| l.matches(&quoted).count())
            .sum::<usize>(),
        3,
        "RUN, the plan's merge and the final merge:\n{script}"
    );
    assert!(
        !code.iter().any(|l| l.contains(" npvrisk ")),
        "a bare npvrisk:\n{script}"
    );
    let file = dir.join("submit.sh");
    std::fs::write(&file, &script).unwrap();
    let s = std::process::Command::new("bash")
        .arg(&file)
        .env("PATH", &path)
        .current_dir(&dir)
        .output()
        .unwrap();
    let logs = std::fs::read_dir(cluster.join("logs"))
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                    format!("{}:\n{text}", e.file_name().to_string_lossy())
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default();
    assert!(
        s.status.success(),
        "{}\n{logs}",
        String::from_utf8_lossy(&s.stderr)
    );
    assert!(
        String::from_utf8_lossy(&s.stdout).starts_with("submitted shard array "),
        "{}",
        String::from_utf8_lossy(&s.stdout)
    );
    // Three pass-1 shards, each with its draws, and three pass-2 files: the second pass ran as
    // the array's jobs, not inside the merge.
    let mut names: Vec<String> = std::fs::read_dir(cluster.join("shards"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".npvshard")).count(),
        6,
        "{names:?}"
    );
    assert!(!logs.contains("computed here"), "{logs}");
    assert!(
        without_timing(&cluster.join("summary.json"))
            == without_timing(&single.join("summary.json"))
    );
    let draws = |d: &Path| std::fs::read(d.join("draws.csv")).unwrap();
    assert!(draws(&cluster) == draws(&single), "the joined draws differ");
    assert_eq!(
        draws(&single).iter().filter(|b| **b == b'\n').count(),
        30_001,
        "a header and a row per draw"
    );
    // The merge job's stdout is the single run's JSON, timing apart.
    let json = |b: &[u8]| {
        let mut v: serde_json::Value = serde_json::from_slice(b).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    let merged = std::fs::read(cluster.join("merged-stdout.json")).unwrap();
    let one = run_ok(
        bin()
            .arg("run")
            .args(&run[..4])
            .args(["--format", "json", "-q"]),
    );
    assert_eq!(json(&merged), json(&one.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a running Slurm cluster; .ci/run starts a single-node one and runs this"]
fn a_real_slurm_array_and_merge_give_the_single_process_summary() {
    let dir = temp_dir("slurm-real");
    let single = dir.join("single");
    run_ok(
        bin()
            .args(RUN)
            .args(["--format", "json", "--out"])
            .arg(&single),
    );
    let cluster = dir.join("cluster");
    let exe = Path::new(env!("CARGO_BIN_EXE_npvrisk"));
    let o = run_ok(slurm_with(4, exe, &cluster).arg("--").args(&RUN[1..]));
    let merged = cluster.join("summary.json");
    submit_and_wait(&dir, &o.stdout, &cluster, &merged);
    // The merge writes atomically, so once the file exists it is complete.
    assert!(without_timing(&merged) == without_timing(&single.join("summary.json")));
    // Four pass-1 shards and no pass-2 file: the shards' sieves found every percentile, so the
    // plan job planned no pass, the second array had nothing to run and the merge took one pass.
    assert_eq!(
        std::fs::read_dir(cluster.join("shards")).unwrap().count(),
        4
    );
    let plan = std::fs::read_to_string(cluster.join("logs/plan.log")).unwrap();
    assert!(plan.contains("no further pass is needed"), "{plan}");
    // The merge job's log gets its last line after the summary is in place: read it once that
    // line is there (read at once, it was once still empty).
    let merge_log = cluster.join("logs/merge.log");
    let read_log = || std::fs::read_to_string(&merge_log).unwrap_or_default();
    wait_for("the merge job's last line in its log", 60, &|| {
        read_log().contains("merged ")
    });
    let log = read_log();
    assert!(!log.contains("computed here"), "{log}");
    assert!(log.contains("1 pass over them"), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The checkpoint chunk files in a folder, sorted (none if the folder does not exist yet).
fn chunk_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().path())
                .filter(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with("chunk-"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// A checkpointed run held in memory: one that keeps its draws (a run that does not is streamed,
/// checkpointed or not). Five chunks of blocks.
const CKPT_RUN: [&str; 8] = [
    "run",
    "--draws",
    "80000",
    "--block-size",
    "1000",
    "--keep-draws",
    "--draws-format",
    "parquet",
];

#[test]
fn a_resumed_run_is_byte_identical_to_an_uninterrupted_one() {
    let dir = temp_dir("resume");
    let (reference, _) = plain_summary(&dir, &CKPT_RUN.map(String::from));

    // Checkpointed from the start.
    let ck = dir.join("ck");
    run_ok(
        bin()
            .args(CKPT_RUN)
            .arg("--checkpoint")
            .arg(&ck)
            .arg("--out")
            .arg(dir.join("a")),
    );
    assert!(without_timing(&dir.join("a/summary.json")) == reference);

    // Lose two chunks and corrupt a third, as a killed node would leave them: resume recomputes them.
    let chunks = chunk_files(&ck);
    assert!(chunks.len() >= 4, "{}", chunks.len());
    std::fs::remove_file(&chunks[0]).unwrap();
    std::fs::remove_file(&chunks[2]).unwrap();
    let mut b = std::fs::read(&chunks[3]).unwrap();
    b.truncate(b.len() - 100);
    std::fs::write(&chunks[3], b).unwrap();
    run_ok(
        bin()
            .args(CKPT_RUN)
            .arg("--resume")
            .arg(&ck)
            .arg("--out")
            .arg(dir.join("b")),
    );
    assert!(without_timing(&dir.join("b/summary.json")) == reference);

    // A folder of another run is refused, and left as it was.
    let before: Vec<_> = chunks.iter().map(|c| std::fs::read(c).unwrap()).collect();
    let o = run_expect(
        2,
        bin()
            .args(CKPT_RUN)
            .args(["--seed", "5", "--resume"])
            .arg(&ck)
            .arg("--out")
            .arg(dir.join("c")),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("holds a different run"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let after: Vec<_> = chunks.iter().map(|c| std::fs::read(c).unwrap()).collect();
    assert!(before == after);
    let o = run_expect(
        2,
        bin()
            .args(CKPT_RUN)
            .arg("--resume")
            .arg(dir.join("nothing-here"))
            .arg("--out")
            .arg(dir.join("d")),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("is not a checkpoint folder of npvrisk"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ctrl_c_stops_a_checkpointed_run_and_says_how_to_resume() {
    let dir = temp_dir("sigint");
    let ck = dir.join("ck");
    // Held in memory (it keeps its draws): 313 chunks of 16 blocks, some 1.5 s on one thread.
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let (model, dists) = (data.join("council.toml"), data.join("council_dists.toml"));
    let big: [&std::ffi::OsStr; 13] = [
        "run".as_ref(),
        model.as_os_str(),
        "--dist".as_ref(),
        dists.as_os_str(),
        "--draws".as_ref(),
        "1000000".as_ref(),
        "--block-size".as_ref(),
        "200".as_ref(),
        "--threads".as_ref(),
        "1".as_ref(),
        "--keep-draws".as_ref(),
        "--draws-format".as_ref(),
        "parquet".as_ref(),
    ];
    let child = bin()
        .args(big)
        .arg("--checkpoint")
        .arg(&ck)
        .arg("--out")
        .arg(dir.join("stopped"))
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the first chunk, then interrupt.
    let started = std::time::Instant::now();
    loop {
        if !chunk_files(&ck).is_empty() {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no chunk written");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(
        err.contains("interrupted") && err.contains("--resume"),
        "{err}"
    );
    let done = chunk_files(&ck).len();
    assert!(done < 313, "stopped before the end ({done} of 313 chunks)");
    assert!(!dir.join("stopped/summary.json").exists());
    run_ok(
        bin()
            .args(big)
            .arg("--resume")
            .arg(&ck)
            .arg("--out")
            .arg(dir.join("resumed")),
    );
    run_ok(bin().args(big).arg("--out").arg(dir.join("plain")));
    assert!(
        without_timing(&dir.join("resumed/summary.json"))
            == without_timing(&dir.join("plain/summary.json"))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg(feature = "mpi")]
#[ignore = "needs Open MPI's mpirun; .ci/run installs it and runs this with --features mpi"]
fn mpi_runs_with_2_and_3_ranks_give_the_single_process_summary() {
    let dir = temp_dir("mpi");
    let single = dir.join("single");
    run_ok(
        bin()
            .args(RUN)
            .args(["--format", "json", "--out"])
            .arg(&single),
    );
    let reference = without_timing(&single.join("summary.json"));
    // With their sieves the ranks take one pass; without (`--no-sieve`), rank 0 plans a second
    // pass that every rank runs over its blocks.
    for (ranks, sieve) in [("2", true), ("3", true), ("3", false)] {
        let out = dir.join(format!("mpi{ranks}-{sieve}"));
        let o = std::process::Command::new("mpirun")
            .args([
                "--allow-run-as-root",
                "--oversubscribe",
                "-n",
                ranks,
                env!("CARGO_BIN_EXE_npvrisk"),
            ])
            .args(RUN)
            .args(["--mpi", "--format", "json", "--out"])
            .arg(&out)
            .args((!sieve).then_some("--no-sieve"))
            .output()
            .expect("mpirun (Open MPI) must be installed for this test");
        assert_eq!(
            o.status.code(),
            Some(0),
            "{ranks} ranks: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            without_timing(&out.join("summary.json")) == reference,
            "{ranks} ranks"
        );
        let err = String::from_utf8_lossy(&o.stderr);
        let passes = if sieve { "1 pass" } else { "2 passes" };
        assert!(
            err.contains(&format!("{passes} over them")),
            "{ranks} ranks: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[cfg(feature = "mpi")]
#[ignore = "needs Open MPI's mpirun; .ci/run installs it and runs this with --features mpi"]
fn mpi_runs_whose_ranks_disagree_stop_every_rank_with_exit_2_and_write_nothing() {
    // Rank 1 is given another seed (MPMD syntax): rank 0 must refuse its statistics and stop the
    // whole job, not merge them, and rank 1 must not be left waiting for a plan. `timeout` turns
    // a hang into a failure (exit 124).
    let dir = temp_dir("mpi-mismatch");
    let out = dir.join("out");
    let exe = env!("CARGO_BIN_EXE_npvrisk");
    let o = std::process::Command::new("timeout")
        .args(["120", "mpirun", "--allow-run-as-root", "--oversubscribe"])
        .args(["-n", "1", exe])
        .args(RUN)
        .args(["--mpi", "--out"])
        .arg(&out)
        .args([":", "-n", "1", exe])
        .args(RUN)
        .args(["--mpi", "--seed", "7", "--out"])
        .arg(&out)
        .output()
        .expect("timeout and mpirun (Open MPI) must be installed for this test");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("rank 1 runs a different run than rank 0") && err.contains("seed 7"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_slurm_script_of_a_batch_runs_an_array_of_scenario_shards_and_a_merge() {
    let dir = temp_dir("slurm-batch-script");
    let manifest = dir.join("batch.toml");
    std::fs::write(
        &manifest,
        "draws = 1000\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\nset = { \"discount_rate\" = 0.05 }\n",
    )
    .unwrap();
    let o = run_ok(
        bin()
            .args([
                "slurm",
                "--shards",
                "3",
                "--out",
                "/scratch/my batch",
                "--batch",
            ])
            .arg(&manifest),
    );
    let script = String::from_utf8(o.stdout).unwrap();
    let m = manifest.display().to_string();
    assert!(script.contains("--array=0-2 --cpus-per-task=2"));
    // A folder name with a space is quoted for the shell inside the double-quoted command.
    assert!(script.contains(&format!(
        "batch {m} --shard \\${{SLURM_ARRAY_TASK_ID}}/3 --out '/scratch/my batch'/shards\""
    )));
    assert!(script.contains("mkdir -p '/scratch/my batch'/shards '/scratch/my batch'/logs"));
    assert!(script.contains("--dependency=afterok:\"$ARRAY_JOB\""));
    assert!(script.contains(&format!(
        "batch {m} --merge '/scratch/my batch'/shards --out '/scratch/my batch' --format csv"
    )));
    // The manifest is checked before anything is submitted; run options do not apply.
    std::fs::write(&manifest, "draws = 0\n").unwrap();
    let o = run_expect(
        2,
        bin()
            .args(["slurm", "--shards", "3", "--out", "x", "--batch"])
            .arg(&manifest),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("missing field `reference`"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run_expect(
        2,
        bin()
            .args(["slurm", "--shards", "3", "--out", "x", "--batch"])
            .arg(&manifest)
            .args(["--", "--draws", "10"]),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("takes its options from the manifest"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a running Slurm cluster; .ci/run starts a single-node one and runs this"]
fn a_real_slurm_batch_array_and_merge_give_the_single_process_batch() {
    let dir = temp_dir("slurm-real-batch");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, crate::batch::MANIFEST).unwrap();
    let single = dir.join("single");
    run_ok(bin().arg("batch").arg(&manifest).arg("--out").arg(&single));
    let cluster = dir.join("cluster");
    let exe = Path::new(env!("CARGO_BIN_EXE_npvrisk"));
    let o = run_ok(slurm_with(3, exe, &cluster).arg("--batch").arg(&manifest));
    // The resubmission example names the last of the 3 tasks.
    let script = String::from_utf8_lossy(&o.stdout);
    assert!(
        script.contains("#   sbatch --array=2 --cpus-per-task=1"),
        "{script}"
    );
    let merged = cluster.join("comparison.csv");
    submit_and_wait(&dir, &o.stdout, &cluster, &merged);
    // The merge renames comparison.csv into place last, so once it exists every file is complete.
    assert!(
        std::fs::read(&merged).unwrap() == std::fs::read(single.join("comparison.csv")).unwrap()
    );
    for s in [
        "default",
        "rate5",
        "grid.delay_years=0",
        "grid.delay_years=1",
    ] {
        let a = single.join(s).join("summary.json");
        let b = cluster.join(s).join("summary.json");
        assert!(without_timing(&a) == without_timing(&b), "{s}");
    }
    assert_eq!(
        std::fs::read_dir(cluster.join("shards")).unwrap().count(),
        3
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Send SIGINT to a child, as Ctrl-C would.
fn interrupt(child: &std::process::Child) {
    let s = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(s.success());
}

/// Wait until `f` holds, up to `secs` seconds.
fn wait_for(what: &str, secs: u64, f: &dyn Fn() -> bool) {
    let started = std::time::Instant::now();
    while !f() {
        assert!(
            started.elapsed().as_secs() < secs,
            "waited {secs} s for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Submit a script `npvrisk slurm` printed (`script`, saved in `dir`) and wait up to 5 minutes
/// for its merge job to write `merged` (renamed into place last, so complete once it exists).
fn submit_and_wait(dir: &Path, script: &[u8], cluster: &Path, merged: &Path) {
    let path = dir.join("submit.sh");
    std::fs::write(&path, script).unwrap();
    let s = std::process::Command::new("bash")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        s.status.success(),
        "submission failed: {}",
        String::from_utf8_lossy(&s.stderr)
    );
    let logs = cluster.join("logs");
    let what = format!("the merge job (logs in {})", logs.display());
    wait_for(&what, 300, &|| merged.exists());
}

/// A streamed run of two passes: the percentiles 1%, 2%, …, 99% have brackets that join into
/// one per column, too many values for pass 1 to collect, so that a second pass finds them.
fn stream_run() -> Vec<String> {
    let percentiles: Vec<String> = (1..=99).map(|k| format!("0.{k:02}")).collect();
    [
        "run",
        "--draws",
        "1000000",
        "--block-size",
        "1024",
        "--stream",
    ]
    .into_iter()
    .map(String::from)
    .chain(["--percentiles".into(), percentiles.join(",")])
    .collect()
}

/// A saved sieve's state (`Sieve::encode_state_to`: per column, the values counted, the next
/// narrowing, the cells' regions and counts, then each region's kept values) with each region's
/// values kept twice.
fn sieve_keeping_twice(state: &[u8]) -> Vec<u8> {
    let mut at = 0;
    let mut word = |o: &mut Vec<u8>| {
        let w = &state[at..at + 8];
        o.extend_from_slice(w);
        at += 8;
        u64::from_le_bytes(w.try_into().unwrap()) as usize
    };
    let mut o = Vec::new();
    for _ in 0..word(&mut o) {
        word(&mut o);
        word(&mut o);
        for _ in 0..2 * word(&mut o) {
            word(&mut o);
        }
        for _ in 0..word(&mut o) {
            let n = word(&mut o);
            let len = o.len();
            o.truncate(len - 8);
            o.extend_from_slice(&(2 * n as u64).to_le_bytes());
            let mut values = Vec::new();
            for _ in 0..n {
                word(&mut values);
            }
            o.extend_from_slice(&values);
            o.extend_from_slice(&values);
        }
    }
    assert_eq!(at, state.len());
    o
}

/// Ctrl-C to the checkpointed run `child` (saving to `ck`) in pass 1: once the run has started
/// (its identity is written, then the pilot runs), it stops at the next chunk of blocks and
/// saves pass 1 so far. (Its first chunk begins with the pilot's blocks, summarised from memory.)
/// Returns what it printed.
fn interrupted_in_pass_1(child: std::process::Child, ck: &Path) -> String {
    wait_for("the checkpoint folder", 120, &|| {
        ck.join("run.npvshard").exists()
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    interrupt(&child);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: pass 1 over"), "{err}");
    err
}

/// `args` run plainly into `dir/plain`: its summary without timing, and what it printed.
fn plain_summary(dir: &Path, args: &[String]) -> (Vec<u8>, String) {
    let plain = dir.join("plain");
    let o = run_ok(
        bin()
            .args(args)
            .args(["--format", "json", "--out"])
            .arg(&plain),
    );
    (
        without_timing(&plain.join("summary.json")),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `args` started with `more` (say `--checkpoint FOLDER`) and `--out out`, what it prints to
/// its error output piped.
fn started(args: &[String], more: &[&std::ffi::OsStr], out: &Path) -> std::process::Child {
    bin()
        .args(args)
        .args(more)
        .arg("--out")
        .arg(out)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// A checkpointed run interrupted in pass 1 saves its sieve beside pass 1's statistics and,
/// resumed, goes on with it: one pass, as without the interruption, and the same bytes. A
/// damaged saved sieve, or one that contradicts the statistics, gives a note and a second pass;
/// the same bytes again.
#[test]
fn a_checkpointed_run_resumed_in_pass_1_goes_on_with_its_saved_sieve() {
    let dir = temp_dir("resume-sieve");
    let (reference, err) = plain_summary(&dir, &stream_run());
    assert!(err.contains("(1 pass"), "{err}");
    let ck = dir.join("ck");
    let start = |flag: &str, ck: &Path, out: &Path, more: &[&str]| {
        let mut args = stream_run();
        args.extend(more.iter().map(|m| m.to_string()));
        started(&args, &[flag.as_ref(), ck.as_os_str()], out)
    };
    interrupted_in_pass_1(start("--checkpoint", &ck, &dir.join("out"), &[]), &ck);
    // The saved sieves (named by the blocks their statistics end at): the one saved with the
    // statistics, whatever the saves before.
    let sieves = |ck: &Path| -> Vec<PathBuf> {
        std::fs::read_dir(ck)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("stream-pass1-sieve-")
            })
            .collect()
    };
    let saved = sieves(&ck);
    assert_eq!(saved.len(), 1, "{saved:?}");
    let sieve = &saved[0];
    let name = sieve.file_name().unwrap();
    // Copies of the folder whose saved sieve is damaged, is cut short (its checksum made
    // again), or is well formed but keeps every value twice: more values of a bin than pass
    // 1's statistics count there.
    let bytes = std::fs::read(sieve).unwrap();
    let (h, body) = npvrisk::shard::decode_body("sieve", &bytes).unwrap();
    let mut damaged = bytes.clone();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 1;
    let short = npvrisk::shard::encode_body(&h, &body[..body.len() - 8]);
    let twice = npvrisk::shard::encode_body(&h, &sieve_keeping_twice(body));
    let copies = [
        ("damaged", damaged),
        ("short", short),
        ("twice", twice),
        ("nosieve", bytes.clone()),
        ("stale", bytes.clone()),
        ("elsewhere", bytes.clone()),
    ];
    for (copy, sieve) in copies {
        let to = dir.join(copy);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&ck).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
        std::fs::write(to.join(name), sieve).unwrap();
    }
    // A run killed between a later save's sieve and its statistics leaves that sieve beside
    // the one saved with the statistics ("stale"); a folder may also hold only a sieve of other
    // blocks than its statistics' ("elsewhere"). Only the sieve saved where the statistics end
    // is read, and every other is removed.
    let end: u64 = name
        .to_str()
        .and_then(|n| n.strip_prefix("stream-pass1-sieve-"))
        .and_then(|n| n.strip_suffix(".npvshard"))
        .and_then(|n| n.parse().ok())
        .unwrap();
    let later = format!("stream-pass1-sieve-{}.npvshard", end + 1);
    std::fs::write(dir.join("stale").join(&later), &bytes).unwrap();
    std::fs::rename(
        dir.join("elsewhere").join(name),
        dir.join("elsewhere").join(&later),
    )
    .unwrap();
    // Resumed with `--no-sieve`, the saved sieve is not looked for.
    for (copy, passes, note, more) in [
        ("ck", "(1 pass", None, &[][..]),
        ("damaged", "(2 passes", Some("is not the saved sieve"), &[]),
        (
            "short",
            "(2 passes",
            Some("does not fit this run's pass 1"),
            &[],
        ),
        (
            "twice",
            "(2 passes",
            Some("does not fit this run's pass 1"),
            &[],
        ),
        ("nosieve", "(2 passes", None, &["--no-sieve"]),
        ("stale", "(1 pass", None, &[]),
        ("elsewhere", "(2 passes", None, &[]),
    ] {
        let (ck, out) = (dir.join(copy), dir.join(format!("out-{copy}")));
        let o = start("--resume", &ck, &out, more)
            .wait_with_output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{err}");
        assert!(err.contains(passes), "{passes} not in {err}");
        match note {
            Some(n) => assert!(err.contains(n), "{n} not in {err}"),
            None => assert!(!err.contains("stream-pass1-sieve-"), "{err}"),
        }
        assert!(without_timing(&out.join("summary.json")) == reference);
        // Pass 1 over, its sieve used: none is left in the folder.
        assert_eq!(sieves(&ck), Vec::<PathBuf>::new());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpointed run whose sieve cannot be saved (here every name it could be saved under is a
/// folder) says so and saves pass 1's statistics all the same; resumed, it goes on without a
/// sieve and takes a second pass, to the same summary.
#[test]
fn a_checkpointed_run_whose_sieve_cannot_be_saved_goes_on_without_it() {
    let dir = temp_dir("unsaved-sieve");
    let (reference, _) = plain_summary(&dir, &stream_run());
    let ck = dir.join("ck");
    // The run's 977 blocks: a sieve saved after blocks up to E is `stream-pass1-sieve-E`.
    for end in 1..=977 {
        std::fs::create_dir_all(
            ck.join(format!("stream-pass1-sieve-{end}.npvshard"))
                .join("x"),
        )
        .unwrap();
    }
    let start = |flag: &str| {
        started(
            &stream_run(),
            &[flag.as_ref(), ck.as_os_str()],
            &dir.join("out"),
        )
    };
    let err = interrupted_in_pass_1(start("--checkpoint"), &ck);
    assert!(err.contains("pass 1's sieve is not saved"), "{err}");
    assert!(ck.join("stream-pass1.npvshard").is_file(), "{err}");
    let o = start("--resume").wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("(2 passes"), "{err}");
    // A folder where the sieve would be is no saved sieve: passed over without a note.
    assert!(!err.contains("is not the saved sieve"), "{err}");
    assert!(without_timing(&dir.join("out").join("summary.json")) == reference);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A checkpointed shard interrupted in pass 1 saves its sieve and, resumed, goes on with it: its
/// file then carries the cells its sieve kept from its first block, and the merge takes one pass,
/// as with the uninterrupted shard; without the saved sieve, the merge takes two. The same
/// summary each way.
#[test]
fn a_checkpointed_shard_resumed_in_pass_1_goes_on_with_its_saved_sieve() {
    let dir = temp_dir("resume-shard-sieve");
    let mut args = stream_run();
    // Two shards of 10^6 draws each: time to interrupt one in pass 1.
    args[2] = "2000000".into();
    let shard = |k: u64, more: &[&std::ffi::OsStr], out: &Path| {
        let mut args = args.clone();
        args.extend(["--shard".into(), format!("{k}/2")]);
        started(&args, more, out)
    };
    let finished = |child: std::process::Child| {
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert_eq!(o.status.code(), Some(0), "{err}");
        err
    };
    let whole = dir.join("whole");
    for k in 0..2 {
        finished(shard(k, &[], &whole));
    }
    let file = |d: &Path, k: u64| d.join(format!("shard-{k:05}-of-00002.npvshard"));
    // The merge of shard 0 with a shard 1: its summary and what it printed.
    let merged = |one: &Path, to: &str| {
        let out = dir.join(to);
        let o = run_ok(
            bin()
                .arg("merge")
                .arg(file(&whole, 0))
                .arg(one)
                .arg("--out")
                .arg(&out),
        );
        (
            without_timing(&out.join("summary.json")),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (reference, err) = merged(&file(&whole, 1), "m-whole");
    assert!(err.contains("1 pass over them"), "{err}");
    let ck = dir.join("ck");
    interrupted_in_pass_1(
        shard(
            1,
            &["--checkpoint".as_ref(), ck.as_os_str()],
            &dir.join("unused"),
        ),
        &ck,
    );
    let saved: Vec<PathBuf> = std::fs::read_dir(&ck)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("stream-pass1-sieve-")
        })
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    // A copy of the folder without its sieve.
    let bare = dir.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    for e in std::fs::read_dir(&ck).unwrap() {
        let e = e.unwrap();
        if e.path() != saved[0] {
            std::fs::copy(e.path(), bare.join(e.file_name())).unwrap();
        }
    }
    for (from, passes) in [(&ck, "1 pass over them"), (&bare, "2 passes over them")] {
        let name = from.file_name().unwrap().to_string_lossy().into_owned();
        let out = dir.join(format!("resumed-{name}"));
        let err = finished(shard(1, &["--resume".as_ref(), from.as_os_str()], &out));
        assert!(!err.contains("stream-pass1-sieve-"), "{err}");
        let (summary, err) = merged(&file(&out, 1), &format!("m-{name}"));
        assert!(err.contains(passes), "{passes} not in {err}");
        assert!(summary == reference, "{name}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_streamed_run_interrupted_in_each_pass_and_resumed_is_byte_identical() {
    // Without a sieve, so that the run takes a second pass to interrupt.
    let stream_run = || {
        let mut r = stream_run();
        r.push("--no-sieve".into());
        r
    };
    let dir = temp_dir("resume-stream");
    let (reference, _) = plain_summary(&dir, &stream_run());
    let ck = dir.join("ck");
    let out = dir.join("out");
    let start = |flag: &str| started(&stream_run(), &[flag.as_ref(), ck.as_os_str()], &out);
    // Ctrl-C in pass 1.
    let err = interrupted_in_pass_1(start("--checkpoint"), &ck);
    assert!(err.contains("hint: resume with"), "{err}");
    assert!(err.contains("--resume"), "{err}");
    let pass1 = ck.join("stream-pass1.npvshard");
    let saved = std::fs::metadata(&pass1).unwrap().modified().unwrap();
    assert!(!out.join("summary.json").exists());

    // Resumed, then Ctrl-C again once pass 1 is complete (its file is saved again): it stops in
    // pass 2 and saves pass 2 so far.
    let child = start("--resume");
    wait_for("the end of pass 1", 120, &|| {
        std::fs::metadata(&pass1).and_then(|m| m.modified()).ok() != Some(saved)
    });
    interrupt(&child);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: pass 2 over"), "{err}");
    assert!(ck.join("stream-pass2.npvshard").exists());

    // Resumed to the end: the same bytes as the uninterrupted run. Pass 1 is complete in the
    // folder, so it is read back, not computed (and saved) again.
    let pass1_done = std::fs::metadata(&pass1).unwrap().modified().unwrap();
    let o = start("--resume").wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(without_timing(&out.join("summary.json")) == reference);
    assert_eq!(
        std::fs::metadata(&pass1).unwrap().modified().unwrap(),
        pass1_done,
        "the saved pass 1 was not used"
    );

    // The folder of a streamed run is not resumed as a run held in memory (one that keeps its
    // draws), nor by another run.
    let kept = dir.join("kept");
    for (extra, needle) in [
        (
            vec!["--keep-draws", "--out", kept.to_str().unwrap()],
            "whose draws were streamed",
        ),
        (vec!["--seed", "5"], "holds a different run"),
    ] {
        let mut run = stream_run();
        run.retain(|a| a != "--stream");
        let o = run_expect(2, bin().args(run).args(&extra).arg("--resume").arg(&ck));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpointed_run_within_its_pilot_saves_pass_1_and_resumes_from_it() {
    // 100,000 draws, all among the 2^18 draws of the achieved correlations, and one pass: its state
    // is saved all the same, so a resumed run reads it back rather than computing it again (and
    // runs again only the draws the correlations read, which pass 1 is not there to give).
    let dir = temp_dir("ck-pilot");
    let run = ["run", "--draws", "100000", "--format", "json", "--out"];
    run_ok(bin().args(run).arg(dir.join("plain")));
    let reference = without_timing(&dir.join("plain/summary.json"));
    let ck = dir.join("ck");
    run_ok(
        bin()
            .args(run)
            .arg(dir.join("a"))
            .arg("--checkpoint")
            .arg(&ck),
    );
    assert!(without_timing(&dir.join("a/summary.json")) == reference);
    let pass1 = ck.join("stream-pass1.npvshard");
    let saved = std::fs::metadata(&pass1)
        .and_then(|m| m.modified())
        .expect("pass 1 saved");
    run_ok(bin().args(run).arg(dir.join("b")).arg("--resume").arg(&ck));
    assert!(without_timing(&dir.join("b/summary.json")) == reference);
    assert_eq!(
        std::fs::metadata(&pass1).unwrap().modified().unwrap(),
        saved,
        "the saved pass 1 was not used"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_interrupted_shard_resumes_and_merges_to_the_same_summary() {
    let dir = temp_dir("resume-shard");
    const SHARD_RUN: [&str; 5] = ["run", "--draws", "2000000", "--block-size", "512"];
    let shard = |k: u64, extra: &[&std::ffi::OsStr], out: &Path| {
        bin()
            .args(SHARD_RUN)
            .arg("--shard")
            .arg(format!("{k}/2"))
            .args(extra)
            .arg("--out")
            .arg(out)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let whole = dir.join("whole");
    for k in 0..2 {
        let o = shard(k, &[], &whole).wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0));
    }
    let resumed = dir.join("resumed");
    let o = shard(0, &[], &resumed).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Shard 1, checkpointed, interrupted during pass 1, then resumed.
    let ck = dir.join("ck");
    let child = shard(1, &["--checkpoint".as_ref(), ck.as_os_str()], &resumed);
    wait_for("the checkpoint folder", 120, &|| {
        ck.join("run.npvshard").exists()
    });
    std::thread::sleep(std::time::Duration::from_millis(300));
    interrupt(&child);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted: pass 1 over"), "{err}");
    assert!(!resumed.join("shard-00001-of-00002.npvshard").exists());
    // Another shard's folder is refused.
    let o = shard(0, &["--resume".as_ref(), ck.as_os_str()], &resumed)
        .wait_with_output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds shard 1 of 2"));
    let o = shard(1, &["--resume".as_ref(), ck.as_os_str()], &resumed)
        .wait_with_output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let merge = |from: &Path, to: &Path| {
        let mut files: Vec<PathBuf> = std::fs::read_dir(from)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        run_ok(bin().arg("merge").args(&files).arg("--out").arg(to));
        without_timing(&to.join("summary.json"))
    };
    // The resumed shard is the file the whole one is, byte for byte: its chunks (of 256 blocks,
    // eight here) and the statistics saved before the interruption are appended in block order,
    // their moments forming the tree one pass forms.
    let name = "shard-00001-of-00002.npvshard";
    let bytes = |d: &Path| std::fs::read(d.join(name)).unwrap();
    assert!(bytes(&whole) == bytes(&resumed), "the resumed shard's file");
    assert!(merge(&whole, &dir.join("m1")) == merge(&resumed, &dir.join("m2")));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A shard made again is the same file, byte for byte, whatever its threads: its sieve narrows
/// and checks its budget only between rounds of blocks that the threads finish together (here
/// after 8, 16, 32, 64 and 128 of the shard's 146 blocks), and writes each cell's values sorted.
/// Before, what it kept depended on the order the threads flushed, and every making of the same
/// shard differed. Made with `--checkpoint`, it is the same file too: its chunks' moments are
/// appended into the tree one pass over the blocks makes (before, they were listed side by side,
/// the pilot's blocks apart, and the file differed, though not the merged summary).
#[test]
fn a_shard_made_again_on_any_threads_is_the_same_file() {
    let dir = temp_dir("shard-threads");
    let make_with = |name: &str, threads: &str, more: &[&std::ffi::OsStr]| -> Vec<u8> {
        let out = dir.join(name);
        run_ok(
            bin()
                .args(["run", "--draws", "1200000", "--seed", "5", "--shard", "0/2"])
                .args(["--threads", threads, "--out"])
                .arg(&out)
                .args(more),
        );
        let files: Vec<PathBuf> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        std::fs::read(&files[0]).unwrap()
    };
    let make = |name: &str, threads: &str| make_with(name, threads, &[]);
    let one = make("t1", "1");
    // The sieve's values are a good part of the file: it kept some.
    assert!(one.len() > 1 << 20, "{} bytes", one.len());
    for (name, threads) in [("t2", "2"), ("t2-again", "2"), ("t3", "3")] {
        assert!(make(name, threads) == one, "{threads} threads ({name})");
    }
    let ck = dir.join("ck");
    let checkpointed = make_with("ck-out", "2", &["--checkpoint".as_ref(), ck.as_os_str()]);
    assert!(checkpointed == one, "checkpointed");
}
