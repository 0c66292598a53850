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
