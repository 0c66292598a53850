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
    assert_eq!(lines.next(), Some("scenario,theme,measure,year,value,unit"));
    let rows: Vec<&str> = lines.collect();
    assert!(
        rows.iter()
            .all(|l| l.starts_with("central,") && l.split(',').count() == 6)
    );
    // The council's amounts are millions: shown in £m.
    let npv = rows
        .iter()
        .find(|l| l.starts_with("central,total,npv,"))
        .unwrap();
    assert!(npv.ends_with(",£m"), "{npv}");
}

#[test]
fn unknown_scenario_and_bad_usage_exit_2() {
    let out = run_expect(2, bin().args(["evaluate", "--scenario", "optimistic"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no scenario `optimistic`"));
    let out = run_expect(2, bin().args(["evaluate", "--format", "yaml"]));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yaml") && err.contains("--format"), "{err}");
    let out = run_expect(2, bin().args(["no-such-command"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-command"));
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
        "init",
        "defaults",
        "fit",
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
    // Options of `run` that `throughput` would ignore: its command line does not offer them.
    for opt in [
        &["--out", "o"][..],
        &["--format", "json"],
        &["--keep-draws"],
        &["--shard", "0/2"],
        &["--stream"],
        &["--checkpoint", "ck"],
        &["--precision", "0.01"],
    ] {
        let out = run_expect(
            2,
            bin().arg("throughput").args(opt).args(["--draws", "100"]),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(opt[0]), "throughput {opt:?}: {err}");
    }
    // A program building the run itself gets the same refusal from the library, naming the option.
    use npvrisk::run::RunSpec;
    let base = || RunSpec {
        draws: 100,
        ..RunSpec::default()
    };
    for (spec, opt) in [
        (
            RunSpec {
                out: Some("o".into()),
                ..base()
            },
            "--out",
        ),
        (
            RunSpec {
                stream: true,
                ..base()
            },
            "--stream",
        ),
        (
            RunSpec {
                keep_draws: true,
                ..base()
            },
            "--keep-draws",
        ),
    ] {
        match npvrisk::run::throughput(&spec) {
            Err(npvrisk::error::Error::Input(m)) => assert!(m.contains(opt), "{opt}: {m}"),
            other => panic!("{opt}: {other:?}"),
        }
    }
    // `--mpi` in a build without MPI: refused with the advice, not an unknown option.
    #[cfg(not(feature = "mpi"))]
    {
        let out = run_expect(2, bin().args(["run", "--mpi", "--draws", "100"]));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("built without MPI support") && err.contains("--features mpi"),
            "{err}"
        );
    }
    // A format a command does not write is refused, naming it.
    let dir = temp_dir("cli-formats");
    for args in [
        vec!["evaluate", "--format", "xlsx"],
        vec!["batch", "m.toml", "--format", "json"],
        vec!["batch", "m.toml", "--format", "xlsx"],
        vec!["merge", "x.npvshard", "--format", "xlsx"],
        vec![
            "merge",
            "x.npvshard",
            "--next-pass",
            "p",
            "--format",
            "json",
        ],
        vec!["merge", "x.npvshard", "--next-pass", "p", "--out", "o"],
        vec![
            "run", "--draws", "100", "--shard", "0/2", "--format", "json", "--out", "s",
        ],
    ] {
        let out = run_expect(2, bin().args(&args));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--format"),
            "{args:?}"
        );
    }
    // Every way of running that ends in a summary writes the workbook it asks for (one exporter):
    // a checkpointed run as a plain one. A shard ends in a shard file, not a summary: refused.
    let ck = dir.join("ck");
    run_ok(
        bin()
            .args(["run", "--draws", "100", "--format", "xlsx", "--out"])
            .arg(dir.join("o"))
            .arg("--checkpoint")
            .arg(&ck),
    );
    let book = std::fs::read(dir.join("o/summary.xlsx")).expect("a checkpointed run's workbook");
    assert!(book.starts_with(b"PK"), "summary.xlsx is not a zip file");
    // It holds the run's figures: the total NPV's mean of its summary.json.
    crate::assert_workbook_holds(
        &dir.join("o/summary.xlsx"),
        crate::total_npv_mean(&dir.join("o/summary.json")),
    );
    let out = run_expect(
        2,
        bin()
            .args([
                "run", "--draws", "100", "--format", "xlsx", "--shard", "0/2", "--out",
            ])
            .arg(dir.join("s")),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard"));
    assert!(
        !dir.join("s").exists(),
        "a refused shard created its folder"
    );
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
    // With --dir, every page the main page refers to (`npvrisk-run(1)`, ...) is written.
    let dir = temp_dir("cli-man");
    let o = run_ok(bin().args(["man", "--dir"]).arg(&dir));
    assert!(o.stdout.is_empty());
    let referred: Vec<&str> = man
        .lines()
        .filter_map(|l| l.strip_prefix("npvrisk\\-")?.strip_suffix("(1)"))
        .collect();
    assert!(referred.len() >= 15, "{referred:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("npvrisk.1")).unwrap(),
        man,
        "the main page is the one printed"
    );
    for sub in referred {
        let page = std::fs::read_to_string(dir.join(format!("npvrisk-{sub}.1")))
            .unwrap_or_else(|e| panic!("npvrisk-{sub}.1: {e}"));
        assert!(
            page.contains(&format!(".TH npvrisk-{sub} 1")),
            "{sub}: {page}"
        );
    }
    let run = std::fs::read_to_string(dir.join("npvrisk-run.1")).unwrap();
    assert!(run.contains("\\-\\-draws"), "{run}");
    assert!(run.contains("\"npvrisk 0.1.0 (commit "), "{run}");
    let _ = std::fs::remove_dir_all(&dir);
    let v = String::from_utf8(run_ok(bin().arg("--version")).stdout).unwrap();
    assert!(v.starts_with("npvrisk 0.1.0 (commit "), "{v}");
}

/// Every line of `text` is at most 100 characters wide (characters, not bytes: `≤`, `→`, `£`).
fn assert_fits_100(what: &str, text: &str) {
    for l in text.lines() {
        assert!(
            l.chars().count() <= 100,
            "{what}: line of {} characters: {l:?}",
            l.chars().count()
        );
    }
}

/// The terminal summary of `run` fits 100 columns; its correlation section lists exactly the
/// pairs with a non-zero target (as in the JSON summary of the same run) and summarises the
/// others in one line with the largest achieved correlation among them.
#[test]
fn run_summary_fits_100_columns_and_lists_only_targeted_correlations() {
    let args = ["run", "--draws", "20000"];
    let table = String::from_utf8(run_ok(bin().args(args)).stdout).unwrap();
    assert_fits_100("run", &table);
    let json: serde_json::Value =
        serde_json::from_slice(&run_ok(bin().args(args).args(["--format", "json"])).stdout)
            .unwrap();
    let c = &json["correlation"];
    let m = |k: &str, i: usize, j: usize| c[k][i][j].as_f64().unwrap();
    let n = c["inputs"].as_array().unwrap().len();
    let (mut set, mut zero, mut worst) = (Vec::new(), 0, 0.0f64);
    for i in 0..n {
        for j in 0..i {
            if m("target", i, j) == 0.0 {
                zero += 1;
                worst = worst.max(m("achieved", i, j).abs());
            } else {
                set.push(format!(
                    "{}: {:.3} → {:.3}",
                    c["inputs"][j].as_str().unwrap(),
                    m("target", i, j),
                    m("achieved", i, j)
                ));
            }
        }
    }
    assert!(
        !set.is_empty() && zero > 0,
        "the model has both kinds of pair"
    );
    let section: Vec<&str> = table
        .split("\nRank correlations, target → achieved")
        .nth(1)
        .expect("a correlation section")
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    let listed: Vec<&&str> = section.iter().filter(|l| l.contains(" → ")).collect();
    assert_eq!(listed.len(), set.len(), "{section:#?}");
    for (l, want) in listed.iter().zip(&set) {
        assert!(l.ends_with(want.as_str()), "{l:?} vs {want:?}");
    }
    assert_eq!(
        section.last().copied(),
        Some(format!("  {zero} other pairs: target 0, achieved within ±{worst:.3}").as_str())
    );
    // Every pair is accounted for: the listed ones (one or two lines each) and the summary.
    assert!(section.len() <= 2 * set.len() + 1);
}

/// A model with outcome-level themes (the local measures) and its evaluation fit 100 columns, as
/// do the 2013 model's evaluation and sensitivity report.
#[test]
fn local_summary_and_evaluations_fit_100_columns() {
    let dir = "examples/gm_troubled_families";
    let out = run_ok(bin().args([
        "run",
        &format!("{dir}/model.toml"),
        "--dist",
        &format!("{dir}/dists.toml"),
        "--draws",
        "20000",
    ]));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Local cost-benefit measures"), "{table}");
    assert_fits_100("run (local)", &table);
    for model in [None, Some(format!("{dir}/model.toml"))] {
        let out = run_ok(bin().arg("evaluate").args(model.iter()));
        let table = String::from_utf8(out.stdout).unwrap();
        assert_fits_100("evaluate", &table);
        if model.is_none() {
            // The report's headline (§1.1): £9.4bn prudent and £20.6bn base, to its rounding
            // (the scenario tables' total rows, those with a % of addressable spend).
            let totals: Vec<f64> = table
                .lines()
                .filter(|l| l.starts_with("total ") && l.contains('%'))
                .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
                .collect();
            assert_eq!(totals.len(), 2, "{table}");
            assert!(
                (totals[0] - 9.4).abs() <= 0.05 && (totals[1] - 20.6).abs() <= 0.05,
                "{totals:?}"
            );
        } else {
            assert!(table.lines().any(|l| l.starts_with("total ")), "{table}");
        }
    }
    let out = run_ok(bin().args(["sensitivity", "--draws", "1000", "--sobol-n", "256"]));
    let table = String::from_utf8(out.stdout).unwrap();
    assert_fits_100("sensitivity", &table);
    for heading in ["Central NPVs", "Tornado:", "Switching values", "Sobol"] {
        assert!(table.contains(heading), "{heading} missing from:\n{table}");
    }
}

/// `--quiet`, before or after the subcommand: nothing on stderr for a successful run (no
/// `wrote DIR`, no timing), the same stdout; errors are still printed.
#[test]
fn quiet_silences_stderr_but_not_output_or_errors() {
    let dir = temp_dir("quiet");
    let out_dir = dir.join("out");
    let run = |quiet: &[&str]| {
        run_ok(
            bin()
                .args(quiet)
                .args(["run", "--draws", "500", "--out"])
                .arg(&out_dir),
        )
    };
    let loud = run(&[]);
    assert!(String::from_utf8_lossy(&loud.stderr).contains("wrote"));
    let quiet = run(&["--quiet"]);
    assert!(
        quiet.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&quiet.stderr)
    );
    let after = run_ok(
        bin()
            .args(["run", "--draws", "500", "-q", "--out"])
            .arg(&out_dir),
    );
    assert!(after.stderr.is_empty());
    // Timing is on stderr only, so stdout is the same bytes.
    assert_eq!(quiet.stdout, loud.stdout);
    assert_eq!(after.stdout, loud.stdout);
    let err = run_expect(2, bin().args(["--quiet", "evaluate", "no-such-model.toml"]));
    assert!(String::from_utf8_lossy(&err.stderr).contains("error:"));
    let _ = std::fs::remove_dir_all(dir);
}

/// The batch table of the README's example batch fits 100 columns: its name columns are as wide
/// as the longest name.
#[test]
fn batch_table_fits_100_columns() {
    let dir = temp_dir("cli-batch-width");
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results/ey2013/batch/scenarios.toml"),
    )
    .unwrap();
    let small: String = manifest
        .lines()
        .map(|l| {
            if l.starts_with("draws = ") {
                "draws = 2000"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let m = dir.join("batch.toml");
    std::fs::write(&m, small).unwrap();
    let table = String::from_utf8(run_ok(bin().arg("batch").arg(&m)).stdout).unwrap();
    assert!(table.contains("grid.delay_years=1"), "{table}");
    assert_fits_100("batch", &table);
    let _ = std::fs::remove_dir_all(&dir);
}
