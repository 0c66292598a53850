use std::fs;

use crate::{bin, run_expect, run_ok};

/// Warning lines (without the `warning: ` prefix) on stderr.
fn warnings(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter_map(|l| l.strip_prefix("warning: ").map(str::to_string))
        .collect()
}

/// Each file under tests/warn/ is valid but holds one likely slip: `validate` accepts it (exit 0)
/// and prints exactly the warnings of its `.expected` file, located; with `--deny-warnings` it
/// exits 2. Distribution files are checked against tests/data/council.toml, which has none.
#[test]
fn every_slip_gives_its_located_warning_and_deny_warnings_exits_2() {
    let mut files: Vec<_> = fs::read_dir("tests/warn")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 8,
        "one example per slip, found {}",
        files.len()
    );
    for f in files {
        let expected = fs::read_to_string(f.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", f.display()));
        let expected: Vec<String> = expected.lines().map(str::to_string).collect();
        let o = run_ok(
            bin()
                .args(["validate", "--model", "tests/data/council.toml"])
                .arg(&f),
        );
        assert_eq!(warnings(&o.stderr), expected, "{}", f.display());
        let o = run_expect(
            2,
            bin()
                .args([
                    "validate",
                    "--deny-warnings",
                    "--model",
                    "tests/data/council.toml",
                ])
                .arg(&f),
        );
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(warnings(&o.stderr), expected, "{}", f.display());
        assert!(
            stderr.contains("denied by --deny-warnings"),
            "{}: {stderr}",
            f.display()
        );
    }
}

/// The embedded 2013 model and its default distributions, the shipped local example and the
/// test council give no warnings, in `validate` and in a run.
#[test]
fn shipped_files_give_no_warnings() {
    // Each case's files together: its distribution files are checked against its model.
    for files in [
        &[
            "distributions/ey2013.toml",
            "distributions/ey2013_default.toml",
        ][..],
        &["tests/data/council.toml"],
        &[
            "examples/gm_troubled_families/model.toml",
            "examples/gm_troubled_families/dists.toml",
        ],
    ] {
        let o = run_ok(bin().args(["--deny-warnings", "validate"]).args(files));
        assert!(warnings(&o.stderr).is_empty());
        // Each file validated: an `ok` line per file, not an empty output.
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(
            err.lines().filter(|l| l.contains(": ok, ")).count(),
            files.len(),
            "{err}"
        );
    }
    let o = run_ok(bin().args(["run", "--deny-warnings", "--draws", "200"]));
    assert!(warnings(&o.stderr).is_empty());
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.starts_with("npvrisk ") && table.lines().any(|l| l.starts_with("total ")),
        "{table}"
    );
    let o = run_ok(bin().args([
        "run",
        "--deny-warnings",
        "--draws",
        "200",
        "examples/gm_troubled_families/model.toml",
        "--dist",
        "examples/gm_troubled_families/dists.toml",
    ]));
    assert!(warnings(&o.stderr).is_empty());
    assert!(String::from_utf8_lossy(&o.stdout).contains("200 draws"));
}

/// The commands that load a model show its warnings, and the run commands those of their
/// distributions, from the one place that computes them; `--deny-warnings` stops each before
/// any output.
#[test]
fn evaluate_run_sensitivity_report_and_batch_show_the_warnings() {
    let model = "tests/warn/profile_percent.toml";
    let expected = fs::read_to_string("tests/warn/profile_percent.expected").unwrap();
    let o = run_ok(bin().args(["evaluate", model]));
    assert_eq!(warnings(&o.stderr), vec![expected.trim_end().to_string()]);
    let o = run_expect(2, bin().args(["evaluate", model, "--deny-warnings"]));
    assert!(o.stdout.is_empty());

    let dist = "tests/warn/median_far_from_point.toml";
    let expected = fs::read_to_string("tests/warn/median_far_from_point.expected").unwrap();
    let expected = vec![expected.trim_end().to_string()];
    let o = run_ok(bin().args([
        "run",
        "tests/data/council.toml",
        "--draws",
        "100",
        "--dist",
        dist,
    ]));
    assert_eq!(warnings(&o.stderr), expected);
    for cmd in ["run", "sensitivity", "report"] {
        let dir = crate::temp_dir(&format!("deny-{cmd}"));
        let o = run_expect(
            2,
            bin()
                .args([
                    cmd,
                    "tests/data/council.toml",
                    "--draws",
                    "100",
                    "--dist",
                    dist,
                ])
                .args(["--deny-warnings", "--out"])
                .arg(dir.join("out")),
        );
        assert_eq!(warnings(&o.stderr), expected, "{cmd}");
        assert!(o.stdout.is_empty(), "{cmd}");
        assert!(!dir.join("out").exists(), "{cmd} wrote its folder");
    }

    // A batch manifest: the warnings of its model and distributions, given once with the file
    // they are in, whether the file is the manifest's (`dist` at the top) or a scenario's own.
    let dir = crate::temp_dir("deny-batch");
    let manifest = dir.join("batch.toml");
    let here = std::env::current_dir().unwrap();
    let (model, dist) = (
        here.join("tests/data/council.toml").display().to_string(),
        here.join(dist).display().to_string(),
    );
    for text in [
        format!(
            "model = {model:?}\ndist = [{dist:?}]\ndraws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n"
        ),
        format!(
            "model = {model:?}\ndraws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\ndist = [{dist:?}]\n"
        ),
    ] {
        fs::write(&manifest, &text).unwrap();
        let o = run_ok(bin().arg("batch").arg(&manifest));
        let w = warnings(&o.stderr);
        assert_eq!(w.len(), 1, "{text}: {w:?}");
        assert!(
            w[0].contains("median_far_from_point.toml:4:8:")
                && w[0].contains("median is 1032× the parameter's point value 0.004"),
            "{text}: {w:?}"
        );
        let o = run_expect(2, bin().arg("batch").arg(&manifest).arg("--deny-warnings"));
        // Stopped by the same warning, before any output.
        assert!(
            String::from_utf8_lossy(&o.stderr)
                .contains("median is 1032× the parameter's point value"),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty());
    }
}
