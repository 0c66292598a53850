//! Options the other modules do not run from the command line, each with its output checked:
//! `run --max-draws`, `reproduce --model/--published/--no-write`, `sensitivity`'s methods
//! (each alone) and their options, `--format csv` (xlsx refused), `report`'s run and analysis
//! options and formats (and no `--method`), `--sampler mc` given, `throughput`'s plan options
//! against `run`'s draws, `fit --upper`, `merge --format csv` and its table, and
//! `batch --threads`.

use std::path::Path;

use crate::engine::{LINEAR_DISTS, linear_model};
use crate::{bin, read_json, run_expect, run_ok, temp_dir, with_files, without_timing};

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

/// A report of 1,000 draws with the smallest Sobol design and bootstrap, quiet, into the
/// folder given next (`--out`).
const SMALL_REPORT: [&str; 8] = [
    "--draws",
    "1000",
    "--sobol-n",
    "64",
    "--bootstrap",
    "100",
    "-q",
    "--out",
];

/// The first element of the array `v` for which `f` holds (a test failure showing `v` if none).
fn json_row(v: &serde_json::Value, f: impl Fn(&serde_json::Value) -> bool) -> &serde_json::Value {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .find(|x| f(x))
        .unwrap_or_else(|| panic!("no such row in {v}"))
}

/// A distribution file in `dir` with one input, work and skills' realisation ~ U(0.5, 1), for
/// the embedded model without its default distributions.
fn one_input_file(dir: &Path) -> std::path::PathBuf {
    let one = dir.join("one.toml");
    std::fs::write(
        &one,
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n",
    )
    .unwrap();
    one
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
    // Other published figures: health and social care's base NPV printed as 13.0 instead of
    // 12.0. The shipped model still gives 12.0, so that one figure leaves its band and, with
    // no note explaining it, counts as unexplained; the rest of the tally is unchanged.
    let figures = std::fs::read_to_string(&published).unwrap();
    let line = "npv_5yr = { prudent = \"5.8\", base = \"12.0\" }";
    assert!(figures.contains(line), "the figure is in the file");
    let other = dir.join("published.toml");
    std::fs::write(
        &other,
        figures.replacen(line, "npv_5yr = { prudent = \"5.8\", base = \"13.0\" }", 1),
    )
    .unwrap();
    let o = run_ok(
        bin()
            .current_dir(&dir)
            .args(["reproduce", "-q", "--no-write", "--published"])
            .arg(&other),
    );
    let tally = |out: &str, k: usize| -> usize {
        let last = out.lines().last().unwrap();
        last.split(": ")
            .nth(1)
            .unwrap()
            .split(", ")
            .nth(k)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let shipped_out = stdout(&run_ok(bin().current_dir(&dir).args([
        "reproduce",
        "-q",
        "--no-write",
    ])));
    let out = stdout(&o);
    assert_eq!(tally(&out, 0), tally(&shipped_out, 0) - 1, "{out}");
    assert_eq!(tally(&out, 1), tally(&shipped_out, 1), "{out}");
    assert_eq!(tally(&out, 2), tally(&shipped_out, 2) + 1, "{out}");
    std::fs::remove_file(&other).unwrap();
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
    // A model of another case against the report's figures: refused, naming both files.
    let o = run_expect(
        2,
        bin()
            .current_dir(&dir)
            .args(["reproduce", "-q", "--no-write", "--model"])
            .arg(root.join("tests/data/council.toml")),
    );
    let want = format!(
        "error: `{}` against the published figures of `distributions/ey2013_published.toml`: the model has no scenario `prudent`",
        root.join("tests/data/council.toml").display()
    );
    assert!(stderr(&o).starts_with(&want), "{}", stderr(&o));
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
        json_row(&v["switching"], |x| {
            x["factor"] == f && x["entity"] == "total"
        })["switching_value"]
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
    // Each analysis prints its own table as CSV, the same bytes as its file in --out.
    for (method, file, header) in [
        ("tornado", "tornado.csv", "factor,inputs,central_value,"),
        (
            "switching",
            "switching.csv",
            "factor,input,entity,central_value,switching_value,",
        ),
        ("rank", "rank.csv", "input,entity,spearman,"),
        ("sobol", "sobol.csv", "entity,factor,first,"),
    ] {
        let out = dir.join(format!("csv-{method}"));
        let o = run_ok(
            with_files("sensitivity", &m, &d)
                .args([
                    "--method", method, "--format", "csv", "-q", "--draws", "2000",
                ])
                .args(["--sobol-n", "256", "--out"])
                .arg(&out),
        );
        let written = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(stdout(&o), written, "{method}");
        assert!(written.starts_with(header), "{method}: {written}");
    }
    // Every analysis at once has no single CSV: refused with the way out, nothing written.
    let out = dir.join("csv-all");
    let o = run_expect(
        2,
        with_files("sensitivity", &m, &d)
            .args(["--format", "csv", "-q", "--out"])
            .arg(&out),
    );
    assert!(stderr(&o).contains("--method tornado|switching|rank|sobol"));
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
    let total = crate::oracles::outcome(&v, "total");
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
    // The folder's summary.json holds the same mean (another writer of the same summary).
    assert_eq!(mean, crate::total_npv_mean(&dir.join("r2/summary.json")));
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
    let one = one_input_file(&dir);
    let plan = [
        "--draws",
        "2000",
        "--seed",
        "9",
        "--sampler",
        "sobol",
        "--block-size",
        "500",
        "--skip-nonfinite",
        "-q",
    ];
    let prudent = ["--scenario", "prudent"];
    let o = run_ok(
        bin()
            .args(["throughput", "--no-default-dists", "--dist"])
            .arg(&one)
            .args(plan)
            .args(prudent),
    );
    let out = stdout(&o);
    assert!(
        out.contains(", 2000 draws, 1 input, sampler sobol"),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("engine ")), "{out}");
    // The draws `run` keeps with the same plan options, in a scenario.
    let kept = |name: &str, scenario: &[&str]| {
        let out = dir.join(name);
        run_ok(
            bin()
                .args(["run", "--no-default-dists", "--dist"])
                .arg(&one)
                .args(plan)
                .args(scenario)
                .args(["--keep-draws", "--out"])
                .arg(&out),
        );
        crate::oracles::Kept::read(&out.join("draws.csv"))
    };
    // The checksum adds, three times each, the first outcome of draw 0 (health and social
    // care's NPV, which the scenario sets) and the sum of every draw's input (which the sampler
    // and seed set): those of `run` with the same options.
    let k = kept("prudent", &prudent);
    let sum: f64 = k.col("input:themes.work_skills.realisation").iter().sum();
    let want = 3.0 * k.col("health_social_care.npv")[0] + 3.0 * sum;
    let got: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("(checksum "))
        .unwrap_or_else(|| panic!("{out}"))
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    // ... and not those of the base scenario (the default).
    assert_ne!(
        kept("base", &[]).col("health_social_care.npv")[0],
        k.col("health_social_care.npv")[0]
    );
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
    // The default format, the table, also as a single process prints it: the same draws and
    // seed in its header, the same figures below.
    let table = stdout(&run_ok(bin().arg("merge").args(&shards).arg("-q")));
    let single = stdout(&run_ok(
        with_files("run", &m, &d).args(["--draws", "6000", "-q"]),
    ));
    assert_eq!(table, single);
    // ... which is what `--format table` asks for.
    let asked = stdout(&run_ok(
        with_files("run", &m, &d).args(["--draws", "6000", "-q", "--format", "table"]),
    ));
    assert_eq!(asked, single);
    let header = format!(
        "npvrisk {} | scenario `base` | 6000 draws (mc sampler, seed 20130110)\n",
        env!("CARGO_PKG_VERSION")
    );
    assert!(table.starts_with(&header), "{table}");
    // The total's mean, printed first on its row, within 4 standard errors of 3·10 − 3.
    let mean: f64 = table
        .lines()
        .find_map(|l| l.strip_prefix("total "))
        .unwrap_or_else(|| panic!("{table}"))
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (mean - 27.0).abs() < 4.0 * 9.25f64.sqrt() / 6000f64.sqrt(),
        "{table}"
    );
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

#[test]
fn report_refuses_a_method() {
    // The report's sections and sheets need every analysis: `--method` is not an option of
    // `report` (it was once accepted and ignored), so it is refused before anything is written.
    let dir = temp_dir("opt-report-method");
    let (m, d) = linear_files(&dir);
    let out = dir.join("r");
    let o = run_expect(
        2,
        with_files("report", &m, &d)
            .args(["--method", "tornado", "--draws", "1000", "--out"])
            .arg(&out),
    );
    assert!(stderr(&o).contains("--method"), "{}", stderr(&o));
    assert!(!out.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_takes_the_run_and_analysis_options() {
    let dir = temp_dir("opt-report-all");
    let (m, d) = linear_files(&dir);
    // A second scenario, `low`, where the theme realises half its benefit: NPV = 1.5 G − C.
    let model = std::fs::read_to_string(&m).unwrap();
    let two = model
        .replacen(
            "scenarios = [\"base\"]",
            "scenarios = [\"low\", \"base\"]",
            1,
        )
        .replacen(
            "gross_benefit_bn = 10.0\n",
            "gross_benefit_bn = 10.0\nrealisation = { low = 0.5, base = 1.0 }\n",
            1,
        );
    assert!(
        two.contains("\"low\", \"base\"") && two.contains("low = 0.5"),
        "{two}"
    );
    std::fs::write(&m, two).unwrap();
    let opts = [
        "--draws",
        "4000",
        "--seed",
        "5",
        "--sampler",
        "lhs",
        "--scenario",
        "low",
        "--block-size",
        "1000",
        "--levels",
        "0.25,0.75",
        "--confidence",
        "0.9",
        "--sobol-n",
        "256",
        "--bootstrap",
        "100",
        "-q",
    ];
    let report = |threads: &str, out: &Path| {
        run_ok(
            with_files("report", &m, &d)
                .args(opts)
                .args(["--threshold", "10", "--interval", "0.8"])
                .args(["--threads", threads, "--format", "xlsx", "--out"])
                .arg(out),
        )
    };
    let (r1, r2) = (dir.join("r1"), dir.join("r2"));
    let o = report("1", &r1);
    // xlsx: the workbook is report.xlsx in the folder; nothing on stdout.
    assert!(o.stdout.is_empty(), "{}", stdout(&o));
    assert!(
        std::fs::read(r1.join("report.xlsx"))
            .unwrap()
            .starts_with(b"PK")
    );
    let s = read_json(&r1.join("summary.json"));
    let meta = &s["metadata"];
    assert_eq!(meta["draws"], 4000);
    assert_eq!(meta["seed"], 5);
    assert_eq!(meta["sampler"], "lhs");
    assert_eq!(meta["scenario"], "low");
    assert_eq!(meta["block_size"], 1000);
    let total = crate::oracles::outcome(&s, "total");
    // In `low`, NPV = 1.5 G − C ~ N(12, 2.5) (the truncations at 0 are 10 and 6 sd away; in
    // `base` it would be N(27, 9.25)). Tolerances are 4 plain Monte Carlo standard errors
    // (Latin hypercube draws are at least as precise).
    let (mu, sigma, n) = (12.0, 2.5f64.sqrt(), 4000.0);
    use statrs::distribution::{Continuous, ContinuousCDF, Normal};
    let npv = Normal::new(mu, sigma).unwrap();
    // P(NPV < 10), by the binomial standard error.
    let below = json_row(&total["npv"]["below"], |b| b["threshold"] == 10.0);
    let p = npv.cdf(10.0);
    let got = below["p"].as_f64().unwrap();
    assert!(
        (got - p).abs() < 4.0 * (p * (1.0 - p) / n).sqrt(),
        "{got} vs {p}"
    );
    // The 80% interval: the 10th and 90th percentiles, each within 4 standard errors of a
    // sample quantile, √(q(1 − q)/n) / f(x_q).
    let iv = total["npv"]["interval"].as_array().unwrap();
    assert_eq!(iv[0], 0.8);
    for (q, got) in [(0.1, &iv[1]), (0.9, &iv[2])] {
        let x = npv.inverse_cdf(q);
        let se = (q * (1.0 - q) / n).sqrt() / npv.pdf(x);
        let got = got.as_f64().unwrap();
        assert!((got - x).abs() < 4.0 * se, "q {q}: {got} vs {x}");
    }
    // The tornado at the 25th and 75th percentiles: G = 10 ∓ 0.6745, total NPV 1.5 G − 3.
    let csv = std::fs::read_to_string(r1.join("tornado.csv")).unwrap();
    let row: Vec<f64> = csv
        .lines()
        .find(|l| l.starts_with("themes.t.gross_benefit_bn,"))
        .unwrap_or_else(|| panic!("{csv}"))
        .split(',')
        .skip(3)
        .take(4)
        .map(|x| x.parse().unwrap())
        .collect();
    let z = 0.6744897501960817;
    for (got, want) in row
        .iter()
        .zip([10.0 - z, 10.0 + z, 12.0 - 1.5 * z, 12.0 + 1.5 * z])
    {
        assert!((got - want).abs() < 1e-6, "{csv}");
    }
    // Every analysis is there, whatever the command line: `report` has no `--method`.
    let sens = read_json(&r1.join("sensitivity.json"));
    for section in ["tornado", "switching", "rank", "sobol", "scenario"] {
        assert!(!sens[section].as_array().unwrap().is_empty(), "{section}");
    }
    // The Sobol design of 256 base draws: 256 (k + 2) model runs for k = 2 inputs.
    let sobol = json_row(&sens["sobol"], |e| e["entity"] == "total");
    assert_eq!(sobol["base_draws"], 256);
    assert_eq!(sobol["model_runs"], 1024);
    // The analyses are exactly those `sensitivity` computes with the same options (whose
    // levels, confidence and bootstrap are each checked in the next test), and neither the
    // summary nor the analyses depend on the number of threads.
    let o = run_ok(with_files("sensitivity", &m, &d).args(opts).args([
        "--threads",
        "1",
        "--format",
        "json",
    ]));
    let alone: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(alone, sens);
    report("2", &r2);
    let text = |d: &Path| std::fs::read_to_string(d.join("summary.json")).unwrap();
    assert_eq!(without_timing(&text(&r2)), without_timing(&text(&r1)));
    assert_eq!(read_json(&r2.join("sensitivity.json")), sens);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensitivity_runs_only_the_method_asked_with_its_options() {
    let dir = temp_dir("opt-sens-methods");
    let (m, d) = linear_files(&dir);
    let sens = |args: &[&str]| -> serde_json::Value {
        let o = run_ok(
            with_files("sensitivity", &m, &d)
                .args(["--seed", "3", "--format", "json", "-q"])
                .args(args),
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let sections = ["tornado", "switching", "rank", "sobol", "scenario"];
    let only = |v: &serde_json::Value, wanted: &[&str]| {
        for s in sections {
            let n = v[s].as_array().unwrap().len();
            assert_eq!(
                n > 0,
                wanted.contains(&s),
                "{s}: {n} rows, wanted {wanted:?}"
            );
        }
    };
    // Rank correlations and scenario analysis, from the draws: the worst tenth of 2,000 draws.
    let rank = sens(&["--method", "rank", "--draws", "2000"]);
    only(&rank, &["rank", "scenario"]);
    let worst = json_row(&rank["scenario"], |r| {
        r["entity"] == "total" && r["region"] == "worst_10pct"
    });
    assert_eq!(
        (worst["draws"].as_u64(), worst["total_draws"].as_u64()),
        (Some(200), Some(2000))
    );
    // G's rank correlation with the total NPV: Spearman's coefficient of a bivariate normal
    // with correlation ρ = 3/√9.25 is (6/π) asin(ρ/2) = 0.9850; within 4 standard errors, by
    // Bonett & Wright's variance of its Fisher transform, (1 + r_s²/2)/(n − 3), times the
    // transform's derivative, so (1 − r_s²)·√((1 + r_s²/2)/(n − 3)) (the 1.06/(n − 3) of
    // Fieller, Hartley & Pearson understates it at a correlation this high).
    let rho: f64 = 3.0 / 9.25f64.sqrt();
    let want = 6.0 / std::f64::consts::PI * (rho / 2.0).asin();
    let r = json_row(&rank["rank"], |r| {
        r["entity"] == "total" && r["input"] == "themes.t.gross_benefit_bn"
    })["spearman"]
        .as_f64()
        .unwrap();
    assert!(
        (r - want).abs() < 4.0 * (1.0 - want * want) * ((1.0 + want * want / 2.0) / 1997.0).sqrt(),
        "{r} vs {want}"
    );
    // Another sampler draws other values, so other coefficients.
    let lhs = sens(&["--method", "rank", "--draws", "2000", "--sampler", "lhs"]);
    assert_ne!(lhs["rank"], rank["rank"]);
    // The draws do not depend on the block size or the number of threads.
    let blocks = sens(&[
        "--method",
        "rank",
        "--draws",
        "2000",
        "--block-size",
        "300",
        "--threads",
        "1",
    ]);
    assert_eq!(blocks, rank);
    // The tornado alone, at the quartiles: G = 10 ∓ 0.6745.
    let t = sens(&[
        "--method",
        "tornado",
        "--levels",
        "0.25,0.75",
        "--scenario",
        "base",
    ]);
    only(&t, &["tornado"]);
    let g = json_row(&t["tornado"], |b| {
        b["factor"] == "themes.t.gross_benefit_bn"
    });
    let z = 0.6744897501960817;
    for (k, want) in [
        ("low_value", 10.0 - z),
        ("high_value", 10.0 + z),
        ("swing", 6.0 * z),
    ] {
        let got = g[k].as_f64().unwrap();
        assert!((got - want).abs() < 1e-6, "{k}: {got} vs {want}");
    }
    // Sobol indices alone: 256 base draws, 256 (k + 2) runs.
    let sobol = |confidence: &str, bootstrap: &str| {
        let v = sens(&[
            "--method",
            "sobol",
            "--sobol-n",
            "256",
            "--confidence",
            confidence,
            "--bootstrap",
            bootstrap,
        ]);
        only(&v, &["sobol"]);
        let total = json_row(&v["sobol"], |e| e["entity"] == "total").clone();
        assert_eq!(total["base_draws"], 256);
        assert_eq!(total["model_runs"], 1024);
        total["factors"][0]["first"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect::<Vec<f64>>()
    };
    // [estimate, low, high]. The same resamples at two levels: the same estimate, the 50%
    // interval strictly inside the 99% one.
    let (narrow, wide) = (sobol("0.5", "200"), sobol("0.99", "200"));
    assert_eq!(narrow[0], wide[0]);
    assert!(
        wide[1] < narrow[1] && narrow[2] < wide[2],
        "{narrow:?} {wide:?}"
    );
    // Another number of resamples: the same estimate, another interval.
    let more = sobol("0.5", "2000");
    assert_eq!(more[0], narrow[0]);
    assert_ne!(more[1..], narrow[1..]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sensitivity_evaluates_the_scenario_asked() {
    // One input on work and skills: the central NPV of the other themes is the scenario's own,
    // as `evaluate` gives it, for each scenario.
    let dir = temp_dir("opt-sens-scenario");
    let one = one_input_file(&dir);
    let mut central = Vec::new();
    for scenario in ["prudent", "base"] {
        let o = run_ok(
            bin()
                .args(["sensitivity", "--no-default-dists", "--dist"])
                .arg(&one)
                .args(["--method", "switching", "--format", "json", "-q"])
                .args(["--scenario", scenario]),
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let hsc = json_row(&v["central_npv"], |c| c[0] == "health_social_care")[1]
            .as_f64()
            .unwrap();
        let o = run_ok(bin().args(["evaluate", "--format", "json", "--scenario", scenario]));
        let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let want = json_row(&e[0]["themes"], |t| t["id"] == "health_social_care")["npv"]
            .as_f64()
            .unwrap();
        // Bit for bit: one kernel evaluates the model for both commands.
        assert_eq!(hsc, want, "{scenario}");
        central.push(hsc);
    }
    assert!(central[0] < central[1], "prudent below base: {central:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn report_skips_non_finite_draws_on_request_and_takes_the_dists_alone() {
    // A draw that overflows is an error naming it, unless --skip-nonfinite counts and skips
    // such draws (about one in eight here).
    let dir = temp_dir("opt-report-skip");
    // The small report's options, with 2,000 draws: enough for the tail to reach the overflow.
    assert_eq!(SMALL_REPORT[..2], ["--draws", "1000"]);
    let args: Vec<&str> = [
        "report",
        "tests/data/council.toml",
        "--dist",
        "tests/data/overflow_dists.toml",
        "--draws",
        "2000",
    ]
    .into_iter()
    .chain(SMALL_REPORT[2..].iter().copied())
    .collect();
    let out = dir.join("r");
    let o = run_expect(2, bin().args(&args).arg(&out));
    assert!(stderr(&o).contains("gave a non-finite"), "{}", stderr(&o));
    run_ok(bin().args(&args).arg(&out).arg("--skip-nonfinite"));
    // The Sobol design cannot skip a point: the report leaves its indices out and says why,
    // rather than showing NaN.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("NaN"), "NaN in the report");
    assert!(
        html.contains("Sobol indices and Shapley effects not computed: the Sobol design"),
        "no note on the Sobol indices"
    );
    let s = read_json(&out.join("summary.json"));
    let (skipped, kept) = (
        s["skipped_nonfinite"].as_u64().unwrap(),
        s["kept_draws"].as_u64().unwrap(),
    );
    assert!(
        skipped > 0 && kept > 0 && skipped + kept == 2000,
        "{skipped} + {kept}"
    );
    // --no-default-dists: the embedded model with one input from the file, none of its defaults.
    let one = one_input_file(&dir);
    let out = dir.join("alone");
    run_ok(
        bin()
            .args(["report", "--no-default-dists", "--dist"])
            .arg(&one)
            .args(SMALL_REPORT)
            .arg(&out),
    );
    let s = read_json(&out.join("summary.json"));
    let inputs = s["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0]["path"], "themes.work_skills.realisation");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Labels name the model's own horizon: a three-year model's NPV is "three-year" in the table,
/// the report and the workbook's charts, never the embedded model's "five-year".
#[test]
fn labels_name_the_models_own_horizon() {
    let dir = temp_dir("opt-horizon");
    let (m, d) = linear_files(&dir);
    let o = run_ok(with_files("run", &m, &d).args(["--draws", "1000"]));
    let table = stdout(&o);
    assert!(table.contains("; three-year NPV, "), "{table}");
    assert!(!table.to_lowercase().contains("five-year"), "{table}");
    let out = dir.join("report");
    run_ok(with_files("report", &m, &d).args(SMALL_REPORT).arg(&out));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("Three-year NPV"), "no three-year label");
    assert!(html.contains("the three-year net present value"));
    assert!(!html.to_lowercase().contains("five-year"));
    // The embedded model's five years.
    let o = run_ok(bin().args(["run", "--draws", "1000"]));
    assert!(stdout(&o).contains("; five-year NPV, "));
    let _ = std::fs::remove_dir_all(&dir);
}
