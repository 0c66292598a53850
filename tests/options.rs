//! Options the other modules do not run from the command line, each with its output checked:
//! `run --max-draws`, `reproduce --model/--published/--no-write`, `sensitivity --method
//! switching` and `--format csv` (xlsx refused), `report --format`, `--sampler mc` given, `throughput`'s
//! plan options, `fit --upper`, `merge --format csv` and `batch --threads`.

use std::path::Path;

use crate::engine::{LINEAR_DISTS, linear_model};
use crate::{bin, run_expect, run_ok, temp_dir, with_files};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The linear model (NPV = 3 G − C, G ~ N(10, 1), C ~ N(3, 0.5)) written to `dir`.
fn linear_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (m, d) = (dir.join("m.toml"), dir.join("d.toml"));
    std::fs::write(&m, linear_model()).unwrap();
    std::fs::write(&d, LINEAR_DISTS).unwrap();
    (m, d)
}

#[test]
fn a_precision_out_of_reach_stops_at_max_draws_and_says_so() {
    let dir = temp_dir("opt-max-draws");
    let (m, d) = linear_files(&dir);
    let o = run_ok(with_files("run", &m, &d).args([
        "--precision",
        "0.00001",
        "--draws",
        "1000",
        "--max-draws",
        "4000",
        "--format",
        "json",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // 1,000 doubled twice: the cap.
    assert_eq!(v["metadata"]["draws"], 4000);
    let err = stderr(&o);
    assert!(err.contains("stopped at --max-draws 4000"), "{err}");
    // A cap below the first step is refused, naming both.
    let o = run_expect(
        2,
        with_files("run", &m, &d).args([
            "--precision",
            "0.01",
            "--draws",
            "1000",
            "--max-draws",
            "10",
        ]),
    );
    assert!(
        stderr(&o).contains("`--max-draws` = 10: below `--draws` = 1000"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reproduce_reads_the_model_and_figures_given_and_no_write_writes_nothing() {
    let dir = temp_dir("opt-reproduce");
    let root = std::env::current_dir().unwrap();
    let model = root.join("distributions/ey2013.toml");
    let published = root.join("distributions/ey2013_published.toml");
    // The shipped files given explicitly: the shipped tally.
    let o = run_ok(
        bin()
            .current_dir(&dir)
            .args(["reproduce", "-q", "--no-write", "--model"])
            .arg(&model)
            .arg("--published")
            .arg(&published),
    );
    let csv = std::fs::read_to_string("results/ey2013/reproduction.csv").unwrap();
    let within = csv
        .lines()
        .skip(1)
        .filter(|l| l.split(',').nth(9) == Some("true"))
        .count();
    let total = csv.lines().count() - 1;
    let tally = format!("{total} figures: {within} within tolerance");
    assert!(stdout(&o).contains(&tally), "{}", stdout(&o));
    // --no-write: nothing in the working folder (the default output is results/ey2013 there).
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // A model with health and social care's gross benefit halved loses that theme's figures.
    let shipped = std::fs::read_to_string(&model).unwrap();
    let line = shipped
        .lines()
        .find(|l| l.starts_with("gross_benefit_bn = "))
        .unwrap();
    let v: f64 = line["gross_benefit_bn = ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let changed = dir.join("half.toml");
    std::fs::write(
        &changed,
        shipped.replacen(line, &format!("gross_benefit_bn = {}", v / 2.0), 1),
    )
    .unwrap();
    let o = run_ok(
        bin()
            .current_dir(&dir)
            .args(["reproduce", "-q", "--no-write", "--model"])
            .arg(&changed),
    );
    let out = stdout(&o);
    let last = out.lines().last().unwrap();
    let now: usize = last
        .split(" figures: ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(now + 10 < within, "{last}");
    assert!(
        out.contains("  NO"),
        "an un-noted figure outside its band shows as NO"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensitivity_switching_values_and_its_csv_format() {
    let dir = temp_dir("opt-sens");
    let (m, d) = linear_files(&dir);
    // Switching values, the other input at its median: 3G − 3 = 0 at G = 1; 30 − C = 0 at C = 30.
    let o = run_ok(with_files("sensitivity", &m, &d).args([
        "--method",
        "switching",
        "--format",
        "json",
        "-q",
    ]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["tornado"].as_array().unwrap().len(), 0, "switching only");
    let sv = |f: &str| {
        v["switching"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["factor"] == f && x["entity"] == "total")
            .unwrap()["switching_value"]
            .as_f64()
            .unwrap()
    };
    assert!((sv("themes.t.gross_benefit_bn") - 1.0).abs() < 1e-6);
    assert!((sv("themes.t.one_off_costs_bn[0]") - 30.0).abs() < 1e-6);
    // The tornado as CSV: G at its P10 and P90 (10 ∓ 1.2816), total NPV 3G − 3.
    let o = run_ok(
        with_files("sensitivity", &m, &d).args(["--method", "tornado", "--format", "csv", "-q"]),
    );
    let csv = stdout(&o);
    let row = csv
        .lines()
        .find(|l| l.starts_with("themes.t.gross_benefit_bn,"))
        .unwrap_or_else(|| panic!("{csv}"));
    let c: Vec<f64> = row
        .split(',')
        .skip(2)
        .take(6)
        .map(|x| x.parse().unwrap())
        .collect();
    let z = 1.2815515655446004;
    for (got, want) in [
        (c[1], 10.0 - z),
        (c[2], 10.0 + z),
        (c[3], 3.0 * (10.0 - z) - 3.0),
        (c[4], 3.0 * (10.0 + z) - 3.0),
        (c[5], 6.0 * z),
    ] {
        assert!((got - want).abs() < 1e-6, "{row}");
    }
    // The tornado's workbook is the report's (with the run summary): `sensitivity` refuses
    // xlsx with that advice, and writes nothing.
    let out = dir.join("wb");
    let o = run_expect(
        2,
        with_files("sensitivity", &m, &d)
            .args(["--method", "tornado", "--format", "xlsx", "-q", "--out"])
            .arg(&out),
    );
    assert!(
        stderr(&o).contains("use `npvrisk report`"),
        "{}",
        stderr(&o)
    );
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_prints_its_summary_in_the_format_asked() {
    let dir = temp_dir("opt-report");
    let (m, d) = linear_files(&dir);
    let o = run_ok(
        with_files("report", &m, &d)
            .args([
                "--draws",
                "4000",
                "--sobol-n",
                "256",
                "--bootstrap",
                "100",
                "--format",
                "json",
                "-q",
            ])
            .args(["--percentiles", "0.25,0.75", "--out"])
            .arg(dir.join("r")),
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = v["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == "total")
        .unwrap();
    let ps: Vec<f64> = total["npv"]["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["p"].as_f64().unwrap())
        .collect();
    assert_eq!(ps, [0.25, 0.75]);
    // NPV mean 27 (3·10 − 3), standard deviation √(9 + 0.25) = 3.04: within 4 standard errors.
    let mean = total["npv"]["mean"].as_f64().unwrap();
    assert!((mean - 27.0).abs() < 4.0 * 3.041 / 4000f64.sqrt(), "{mean}");
    let o = run_ok(
        with_files("report", &m, &d)
            .args([
                "--draws",
                "4000",
                "--sobol-n",
                "256",
                "--bootstrap",
                "100",
                "--format",
                "csv",
                "-q",
                "--out",
            ])
            .arg(dir.join("r2")),
    );
    let csv = stdout(&o);
    assert!(
        csv.starts_with("entity,measure,statistic,value,se,unit\n"),
        "{csv}"
    );
    let mean: f64 = csv
        .lines()
        .find(|l| l.starts_with("total,npv,mean,"))
        .unwrap_or_else(|| panic!("{csv}"))
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!((mean - 27.0).abs() < 4.0 * 3.041 / 4000f64.sqrt(), "{mean}");
    // The same summary as the folder's summary.csv.
    let file = std::fs::read_to_string(dir.join("r2/summary.csv")).unwrap();
    assert!(file == csv);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_default_sampler_given_explicitly_gives_the_same_bits() {
    let a = run_ok(bin().args(["run", "--draws", "3000", "--format", "json", "-q"]));
    let b = run_ok(bin().args([
        "run",
        "--draws",
        "3000",
        "--format",
        "json",
        "-q",
        "--sampler",
        "mc",
    ]));
    // The run's timing aside (the last field).
    let body = |o: &std::process::Output| {
        let s = stdout(o);
        s[..s.find("\"timing\"").expect("timing")].to_string()
    };
    assert!(body(&a) == body(&b));
    let c = run_ok(bin().args([
        "run",
        "--draws",
        "3000",
        "--format",
        "json",
        "-q",
        "--sampler",
        "lhs",
    ]));
    assert!(body(&a) != body(&c), "another sampler, other draws");
}

#[test]
fn throughput_takes_the_plan_options() {
    let dir = temp_dir("opt-throughput");
    // The embedded model with one input only (no default distributions), prudent point values.
    let one = dir.join("one.toml");
    std::fs::write(
        &one,
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n",
    )
    .unwrap();
    let o = run_ok(
        bin()
            .args(["throughput", "--no-default-dists", "--dist"])
            .arg(&one)
            .args([
                "--draws",
                "2000",
                "--scenario",
                "prudent",
                "--block-size",
                "500",
                "--skip-nonfinite",
                "-q",
            ]),
    );
    let out = stdout(&o);
    assert!(out.contains(", 2000 draws, 1 input, sampler mc"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("engine ")), "{out}");
    // An unknown scenario is refused, naming it.
    let o = run_expect(
        2,
        bin().args(["throughput", "--scenario", "optimistic", "--draws", "100"]),
    );
    assert!(stderr(&o).contains("optimistic"), "{}", stderr(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fit_with_both_bounds_offers_the_bounded_fits_within_them() {
    let o = run_ok(bin().args([
        "fit",
        "--quantiles",
        "0.05:80,0.5:100,0.95:130",
        "--lower",
        "0",
        "--upper",
        "200",
        "--path",
        "themes.x.y",
    ]));
    let out = stdout(&o);
    // The unbounded kinds are not offered; the entry keeps the bounds.
    for k in ["normal", "lognormal", "gamma"] {
        assert!(
            out.contains(&format!(
                "# not offered: {k}: its support leaves the given bounds"
            )),
            "{out}"
        );
    }
    assert!(out.contains("min = 0.0\nmax = 200.0\n"), "{out}");
    // A bound inside the quantiles is refused.
    let o = run_expect(
        2,
        bin().args([
            "fit",
            "--quantiles",
            "0.05:80,0.5:100,0.95:130",
            "--upper",
            "120",
        ]),
    );
    assert!(stderr(&o).contains("--upper"), "{}", stderr(&o));
}

#[test]
fn merge_writes_the_csv_a_single_process_writes() {
    let dir = temp_dir("opt-merge-csv");
    let (m, d) = linear_files(&dir);
    let whole =
        run_ok(with_files("run", &m, &d).args(["--draws", "6000", "--format", "csv", "-q"]));
    let mut shards = Vec::new();
    for k in 0..2 {
        let out = dir.join(format!("s{k}"));
        run_ok(
            with_files("run", &m, &d)
                .args([
                    "--draws",
                    "6000",
                    "-q",
                    "--shard",
                    &format!("{k}/2"),
                    "--out",
                ])
                .arg(&out),
        );
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "npvshard") {
                shards.push(p);
            }
        }
    }
    assert_eq!(shards.len(), 2);
    let merged = run_ok(
        bin()
            .arg("merge")
            .args(&shards)
            .args(["--format", "csv", "-q"]),
    );
    assert!(
        stdout(&merged) == stdout(&whole),
        "merged:\n{}\nwhole:\n{}",
        stdout(&merged),
        stdout(&whole)
    );
    assert!(stdout(&whole).lines().any(|l| l.starts_with("total,npv,")));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_on_one_thread_gives_the_bytes_of_a_batch_on_two() {
    let dir = temp_dir("opt-batch-threads");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, crate::batch::MANIFEST.replace("20000", "3000")).unwrap();
    let run = |t: &str| {
        let o = run_ok(bin().arg("batch").arg(&manifest).args([
            "--threads",
            t,
            "--format",
            "csv",
            "-q",
        ]));
        stdout(&o)
    };
    let (one, two) = (run("1"), run("2"));
    assert!(one == two, "one thread:\n{one}\ntwo:\n{two}");
    assert!(one.lines().any(|l| l.starts_with("rate5,")), "{one}");
    let _ = std::fs::remove_dir_all(&dir);
}
