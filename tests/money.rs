//! Money in the model's own unit: a model written in £m gives the results of the same model in
//! £bn, its distributions and `--threshold` in £m too; the former `_bn` names in a £m model are
//! refused, and overlay the unsuffixed names on a £bn model.

use std::path::Path;

use serde_json::Value;

use crate::{bin, run_expect, run_ok, temp_dir};

/// Every number of `a` and `b` (same shape) agrees to rounding: the two runs draw the same
/// numbers and differ only by the conversions between £m and £bn (a few ulps each).
fn same_numbers(a: &Value, b: &Value, at: &str) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            assert_eq!(
                x.keys().collect::<Vec<_>>(),
                y.keys().collect::<Vec<_>>(),
                "{at}"
            );
            for (k, v) in x {
                same_numbers(v, &y[k], &format!("{at}.{k}"));
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            assert_eq!(x.len(), y.len(), "{at}");
            for (i, (v, w)) in x.iter().zip(y).enumerate() {
                same_numbers(v, w, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!(
                (x - y).abs() <= 1e-9 * x.abs().max(y.abs()) + 1e-12,
                "{at}: {x} vs {y}"
            );
        }
        _ => assert_eq!(a, b, "{at}"),
    }
}

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn a_model_in_millions_gives_the_results_of_the_same_model_in_billions() {
    let dir = temp_dir("money-units");
    let dists = std::fs::read_to_string("tests/data/council_dists.toml").unwrap();
    // A distribution on an amount of money: the first year's one-off cost, £3m to £6m, written in
    // each model's unit; one stream, so both models draw the same numbers.
    let setup = |path: &str, k: f64| {
        format!(
            "{dists}\n[[input]]\npath = \"{path}\"\nkind = \"triangular\"\nmin = {}\nmode = {}\nmax = {}\nstream = \"setup\"\n",
            3.0 * k,
            4.0 * k,
            6.0 * k
        )
    };
    let bn_dists = dir.join("bn.toml");
    let m_dists = dir.join("m.toml");
    std::fs::write(
        &bn_dists,
        setup("themes.families.one_off_costs_bn[0]", 1e-3),
    )
    .unwrap();
    std::fs::write(&m_dists, setup("themes.families.one_off_costs[0]", 1.0)).unwrap();
    let run = |model: &str, dists: &Path, threshold: &str, out: &str| {
        run_ok(
            bin()
                .args(["--quiet", "run", model, "--draws", "4000", "--seed", "11"])
                .arg("--dist")
                .arg(dists)
                .args(["--threshold", threshold, "--out"])
                .arg(dir.join(out)),
        );
        summary(&dir.join(out))
    };
    // The same threshold, -£2m, as a plain number in each model's unit.
    let a = run("tests/data/council.toml", &bn_dists, "-0.002", "bn");
    let b = run("tests/data/council_m.toml", &m_dists, "-2", "m");
    // An amount with its unit means the same in either model.
    let c = run("tests/data/council.toml", &bn_dists, "-£2m", "bn_unit");
    // Both are shown in £m, the readable unit of a case of a few million pounds.
    for s in [&a, &b, &c] {
        assert_eq!(s["money_unit"], "£m");
    }
    for key in ["outcomes", "partners", "headline_review"] {
        same_numbers(&a[key], &b[key], key);
        same_numbers(&a[key], &c[key], key);
    }
    let below = &b["outcomes"][0]["npv"]["below"];
    assert_eq!(below[1]["threshold"], -2.0, "{below}");
    assert!(below[1]["p"].as_f64().unwrap() > 0.0, "{below}");
    // The £m model run as above (its summary `b`), with the options a case adds.
    let council_m = || {
        let mut c = bin();
        c.args(["--quiet", "run", "tests/data/council_m.toml"])
            .args(["--draws", "4000", "--seed", "11"]);
        c
    };
    // The table has a column for the threshold, in its own unit, beside P(NPV<0).
    let o = run_ok(
        council_m()
            .args(["--threshold", "-2", "--dist"])
            .arg(&m_dists),
    );
    let table = String::from_utf8(o.stdout).unwrap();
    let header = table
        .lines()
        .find(|l| l.contains("P(NPV<0)"))
        .unwrap_or_else(|| panic!("{table}"));
    let (at0, at2) = (header.find("P(NPV<0)"), header.find("P(NPV<-2)"));
    assert!(at0.is_some() && at0 < at2, "{header}");
    let row = table
        .lines()
        .skip_while(|l| *l != header)
        .find(|l| l.starts_with("families"))
        .unwrap_or_else(|| panic!("{table}"));
    let p = format!("{:.1}% (", below[1]["p"].as_f64().unwrap() * 100.0);
    assert!(row.contains(&p), "{p:?} not in {row}");
    // The drawn one-off cost is reported in the unit it was drawn in: the model's.
    let input = |s: &Value, path: &str| {
        s["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["path"] == path)
            .unwrap_or_else(|| panic!("no input {path}"))["p50"]
            .as_f64()
            .unwrap()
    };
    let (pa, pb) = (
        input(&a, "themes.families.one_off_costs_bn[0]"),
        input(&b, "themes.families.one_off_costs[0]"),
    );
    assert!((3.0..6.0).contains(&pb), "{pb}");
    assert!((pa * 1e3 - pb).abs() < 1e-9 * pb, "{pa} vs {pb}");
    // The sampled amount moves the NPV: the run with a wider cost has a wider NPV than without.
    run_ok(
        council_m()
            .args(["--dist", "tests/data/council_dists.toml", "--out"])
            .arg(dir.join("no_setup")),
    );
    let sd = |s: &Value| s["outcomes"][0]["npv"]["sd"].as_f64().unwrap();
    assert!(sd(&b) > sd(&summary(&dir.join("no_setup"))));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bn_path_is_refused_in_a_millions_model_and_overlays_its_new_name_in_a_billions_model() {
    let dir = temp_dir("money-paths");
    let f = dir.join("bn.toml");
    std::fs::write(
        &f,
        "[[input]]\npath = \"themes.families.scaled_cost_bn\"\nkind = \"fixed\"\nvalue = 0.001\n",
    )
    .unwrap();
    let o = run_expect(
        2,
        bin()
            .args(["validate", "--model", "tests/data/council_m.toml"])
            .arg(&f),
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("`scaled_cost_bn` is in £bn, but this model's amounts of money are in £m")
            && e.contains("themes.families.scaled_cost"),
        "{e}"
    );
    // The council model states its benefit per member, so it has no scaled_cost at all; take
    // the embedded model (in £bn), where both names of one amount are one parameter: the later
    // file's input replaces the earlier one.
    let old = dir.join("old.toml");
    let new = dir.join("new.toml");
    std::fs::write(
        &old,
        "[[input]]\npath = \"themes.work_skills.gross_benefit_bn\"\nkind = \"fixed\"\nvalue = 1.5\n",
    )
    .unwrap();
    std::fs::write(
        &new,
        "[[input]]\npath = \"themes.work_skills.gross_benefit\"\nkind = \"uniform\"\nmin = 1.5\nmax = 2.5\n",
    )
    .unwrap();
    let o = run_ok(
        bin()
            .args(["run", "--draws", "200", "--dist"])
            .arg(&old)
            .arg("--dist")
            .arg(&new)
            .args(["--format", "json"]),
    );
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<&str> = s["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["path"].as_str().unwrap())
        .filter(|p| p.contains("work_skills.gross_benefit"))
        .collect();
    assert_eq!(paths, ["themes.work_skills.gross_benefit"]);
    let note = String::from_utf8_lossy(&o.stderr);
    assert!(note.contains("(1 overriding)"), "{note}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_fixes_an_amount_in_the_models_unit() {
    let dir = temp_dir("money-batch");
    let model = std::fs::read_to_string("tests/data/council_m.toml").unwrap();
    std::fs::write(dir.join("model.toml"), model).unwrap();
    std::fs::copy("tests/data/council_dists.toml", dir.join("dists.toml")).unwrap();
    // The first year's one-off cost is £4m in the model: fixed at 4 it is unchanged, fixed at 5
    // it costs £1m more in the undiscounted first year, £1.15m with the 15% cost uplift.
    let manifest = dir.join("batch.toml");
    std::fs::write(
        &manifest,
        "model = \"model.toml\"\ndist = [\"dists.toml\"]\ndraws = 2000\nreference = \"as_is\"\n\n\
         [[scenario]]\nname = \"as_is\"\n\n\
         [[scenario]]\nname = \"same\"\nset = { \"themes.families.one_off_costs[0]\" = 4 }\n\n\
         [[scenario]]\nname = \"more\"\nset = { \"themes.families.one_off_costs[0]\" = 5 }\n",
    )
    .unwrap();
    let o = run_ok(
        bin()
            .args(["--quiet", "batch"])
            .arg(&manifest)
            .args(["--format", "csv"]),
    );
    let csv = String::from_utf8(o.stdout).unwrap();
    let diff = |scenario: &str| -> f64 {
        let l = csv
            .lines()
            .find(|l| l.starts_with(&format!("{scenario},total,")))
            .unwrap_or_else(|| panic!("{csv}"));
        let c: Vec<&str> = l.split(',').collect();
        assert_eq!(c[11], "£m", "{l}");
        c[8].parse().unwrap()
    };
    assert_eq!(diff("same"), 0.0, "{csv}");
    assert!((diff("more") + 1.15).abs() < 1e-9, "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}
