use crate::{bin, run_expect, run_ok, temp_dir};

#[test]
fn evaluate_json_is_valid_and_matches_the_table_totals() {
    let out = run_ok(bin().args(["evaluate", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let scenarios = v.as_array().unwrap();
    assert_eq!(scenarios.len(), 2);
    let base = &scenarios[1];
    assert_eq!(base["scenario"], "base");
    let npv = base["total"]["npv"].as_f64().unwrap();
    // The published headline base figure is £20.6bn (§6.1).
    assert!((npv - 20.6).abs() <= 0.05, "{npv}");
    let themes: f64 = base["themes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["headline"] == true)
        .map(|t| t["npv"].as_f64().unwrap())
        .sum();
    assert!((themes - npv).abs() < 1e-12);
}

#[test]
fn evaluate_csv_has_a_header_and_long_rows() {
    let out = run_ok(bin().args([
        "evaluate",
        "tests/data/council.toml",
        "--format",
        "csv",
        "--scenario",
        "central",
    ]));
    let s = String::from_utf8(out.stdout).unwrap();
    let mut lines = s.lines();
    assert_eq!(lines.next(), Some("scenario,theme,measure,year,value"));
    assert!(lines.all(|l| l.starts_with("central,") && l.split(',').count() == 5));
}

#[test]
fn unknown_scenario_and_bad_usage_exit_2() {
    let out = run_expect(2, bin().args(["evaluate", "--scenario", "optimistic"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario `optimistic`"));
    run_expect(2, bin().args(["evaluate", "--format", "yaml"]));
    run_expect(2, bin().args(["no-such-command"]));
}

#[test]
fn an_unwritable_output_folder_is_bad_input_and_leaves_nothing() {
    let dir = temp_dir("unwritable");
    let blocker = dir.join("file");
    std::fs::write(&blocker, "not a folder").unwrap();
    let out = run_expect(
        2,
        bin().args(["reproduce", "--out"]).arg(blocker.join("sub")),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot create folder"));
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn no_subcommand_runs_the_default_model() {
    // `npvrisk` alone is `npvrisk run` with its defaults: the embedded model in its `base`
    // scenario, 200,000 plain Monte Carlo draws, seed 20130110, a table with the total.
    let out = run_ok(&mut bin());
    let s = String::from_utf8(out.stdout).unwrap();
    let first = s.lines().next().unwrap();
    assert!(
        first.contains("scenario `base` | 200000 draws (mc sampler, seed 20130110)"),
        "{first}"
    );
    assert!(s.lines().any(|l| l.starts_with("total")), "{s}");
}

/// Every subcommand's help fits 100 columns and gives every option a description; the options a
/// subcommand cannot honour are refused with exit 2, never accepted and ignored.
#[test]
fn every_option_has_help_and_unsupported_combinations_are_refused() {
    let subcommands = [
        "run",
        "throughput",
        "sensitivity",
        "report",
        "reproduce",
        "evaluate",
        "slurm",
        "batch",
        "merge",
        "paths",
        "validate",
        "calibrate",
        "completions",
        "man",
    ];
    let mut options = 0;
    for sub in subcommands {
        let out = run_ok(bin().args([sub, "--help"]).env("COLUMNS", "100"));
        let help = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = help.lines().collect();
        for (i, l) in lines.iter().enumerate() {
            assert!(
                l.chars().count() <= 100,
                "`{sub} --help` line wider than 100 columns: {l:?}"
            );
            let t = l.trim_start();
            // An option: `-x`, `--long` (a possible value's line is `- value: ...`).
            let is_option = t.starts_with("--")
                || (t.starts_with('-') && t[1..].starts_with(|c: char| c.is_ascii_alphanumeric()));
            // Options are indented by 2 to 6 columns, help text by more.
            let indent = l.len() - t.len();
            if !is_option || !(2..=6).contains(&indent) {
                continue;
            }
            options += 1;
            // `  --opt <V>  help` on one line, or the help on the next, more indented line.
            let spec_end = t.find("  ").map(|p| t[p..].trim().is_empty());
            let same_line = spec_end == Some(false);
            let next_line = lines.get(i + 1).is_some_and(|n| {
                let nt = n.trim_start();
                !nt.is_empty() && !nt.starts_with("--") && n.len() - nt.len() > indent
            });
            assert!(
                same_line || next_line,
                "`{sub}`: option without help: {l:?}"
            );
        }
    }
    assert!(
        options > 60,
        "only {options} options found in the help texts"
    );

    // Options of `run` that `sensitivity` and `report` cannot honour.
    for sub in ["sensitivity", "report"] {
        for opt in [
            &["--stream"][..],
            &["--keep-draws"],
            &["--shard", "0/2"],
            &["--checkpoint", "ck"],
            &["--resume", "ck"],
            &["--precision", "0.01"],
        ] {
            let out = run_expect(2, bin().arg(sub).args(opt).args(["--draws", "100"]));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(opt[0]), "{sub} {opt:?}: {err}");
        }
    }
    // A format a command does not write is refused, naming it.
    let dir = temp_dir("cli-formats");
    for args in [
        vec!["evaluate", "--format", "xlsx"],
        vec!["batch", "m.toml", "--format", "json"],
        vec!["batch", "m.toml", "--format", "xlsx"],
        vec!["merge", "x.npvshard", "--format", "xlsx"],
    ] {
        let out = run_expect(2, bin().args(&args));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--format"),
            "{args:?}"
        );
    }
    let ck = dir.join("ck");
    let out = run_expect(
        2,
        bin()
            .args(["run", "--draws", "100", "--format", "xlsx", "--out"])
            .arg(dir.join("o"))
            .arg("--checkpoint")
            .arg(&ck),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--checkpoint"));
    assert!(!ck.exists(), "a refused run created its checkpoint folder");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn completions_man_page_and_version() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run_ok(bin().args(["completions", shell]));
        let s = String::from_utf8(out.stdout).unwrap();
        assert!(s.contains("npvrisk") && s.contains("--draws"), "{shell}");
    }
    let man = String::from_utf8(run_ok(bin().arg("man")).stdout).unwrap();
    assert!(man.contains(".TH npvrisk 1") && man.contains("sensitivity"));
    let v = String::from_utf8(run_ok(bin().arg("--version")).stdout).unwrap();
    assert!(v.starts_with("npvrisk 0.1.0 (commit "), "{v}");
}
