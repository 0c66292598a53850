use std::path::{Path, PathBuf};

use crate::{bin, read_json, run_expect, run_ok, temp_dir};

/// Run `cmd`, expecting exit code 2 with no panic; its stderr.
fn refused(cmd: &mut std::process::Command) -> String {
    let o = run_expect(2, cmd);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err.contains("panicked"), "{cmd:?}: {err}");
    err
}

fn has(err: &str, needles: &[&str]) {
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
}

/// The draws and seed that `dir/summary.json` records: which run wrote it.
fn summary_run(dir: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let m = &v["metadata"];
    (m["draws"].as_u64().unwrap(), m["seed"].as_u64().unwrap())
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut v = Vec::new();
    if dir.exists() {
        walk(dir, dir, &mut v);
    }
    v.sort();
    v
}

#[test]
fn an_empty_correlation_is_a_located_error() {
    let dir = temp_dir("rel-corr-empty");
    let f = dir.join("corr.toml");
    std::fs::write(&f, "[correlation]\ninputs = []\nrank = []\n").unwrap();
    let err = refused(bin().args(["run", "--draws", "100", "--dist"]).arg(&f));
    has(&err, &["corr.toml:2:10:", "`correlation.inputs` = []"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_correlated_input_fixed_by_a_later_file_is_a_located_error() {
    let dir = temp_dir("rel-corr-fixed");
    let fixed = dir.join("fixed.toml");
    std::fs::write(
        &fixed,
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"fixed\"\nvalue = 0.8\n",
    )
    .unwrap();
    let err = refused(
        bin()
            .args(["run", "--draws", "100", "--dist"])
            .arg("distributions/ey2013_default.toml")
            .arg("--dist")
            .arg(&fixed),
    );
    has(
        &err,
        &[
            "distributions/ey2013_default.toml:",
            "\"themes.work_skills.realisation\"",
            "constant",
            "fixed.toml",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sizes_beyond_memory_are_refused_before_allocating_stating_the_memory() {
    for (opt, v) in [
        ("--bootstrap", "18446744073709551615"),
        ("--bootstrap", "100000000000"),
        ("--sobol-n", "1000000000"),
    ] {
        let err = refused(bin().args(["sensitivity", "--draws", "1000", opt, v]));
        has(&err, &[opt, v, "of memory", "GB this command may use"]);
    }
    let err = refused(bin().args(["sensitivity", "--method", "rank", "--draws", "10000000000"]));
    has(&err, &["`--draws` = 10000000000", "of memory"]);
}

#[test]
fn threads_beyond_the_limit_are_bad_input() {
    let err = refused(bin().args(["run", "--draws", "10", "--threads", "1000000"]));
    has(&err, &["`--threads` = 1000000", "must be in [1, 4096]"]);
    // The variable a Slurm script sets is checked the same way, by every command (rayon would
    // start every thread it names, and ignore one it cannot read), even where `--threads`
    // overrides it.
    for v in ["1000000", "two", "-1", "1.5", " 2 "] {
        for args in [
            &["run", "--draws", "10"][..],
            &["run", "--draws", "10", "--threads", "1"],
            &["reproduce"],
        ] {
            let err = refused(bin().args(args).env("RAYON_NUM_THREADS", v));
            has(&err, &["`RAYON_NUM_THREADS`", v, "[1, 4096]"]);
        }
    }
    for v in ["", "0", "1", "2"] {
        crate::run_ok(
            bin()
                .args(["run", "--draws", "10"])
                .env("RAYON_NUM_THREADS", v),
        );
    }
}

#[test]
fn pipes_devices_and_folders_are_refused_as_model_files_without_blocking() {
    let dir = temp_dir("rel-fifo");
    let fifo = dir.join("model.toml");
    let s = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(s.success());
    for p in [fifo.as_path(), Path::new("/dev/zero"), dir.as_path()] {
        // A FIFO with no writer would block the read forever: the test would hang, not fail, so
        // bound it.
        let mut child = bin()
            .arg("validate")
            .arg(p)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        while child.try_wait().unwrap().is_none() {
            if started.elapsed().as_secs() > 10 {
                let _ = child.kill();
                panic!("`validate {}` still running after 10 s", p.display());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {err}", p.display());
        has(&err, &[&p.display().to_string(), "give the path of a file"]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bad_cell_in_a_crlf_csv_is_reported_on_its_own_line() {
    let dir = temp_dir("rel-crlf");
    let mut csv = String::from("draw,value\r\n");
    for i in 1..21 {
        csv.push_str(&format!("{i},0.{i}\r\n"));
    }
    csv.push_str("21,oops\r\n");
    std::fs::write(dir.join("values.csv"), csv).unwrap();
    std::fs::write(
        dir.join("d.toml"),
        "[[input]]\npath = \"themes.families.realisation\"\nkind = \"empirical\"\ncsv = \"values.csv\"\ncolumn = \"value\"\n",
    )
    .unwrap();
    let err = refused(
        bin()
            .args(["run", "tests/data/council.toml", "--draws", "10", "--dist"])
            .arg(dir.join("d.toml")),
    );
    has(&err, &["values.csv:22:1:", "\"oops\""]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A CSV that starts with a byte-order mark (as a spreadsheet's "CSV UTF-8" writes) is read as
/// the same file without it: its first column keeps its name, the draws their values.
#[test]
fn a_csv_with_a_byte_order_mark_is_read_as_without_it() {
    let dir = temp_dir("rel-bom");
    let body = "value,draw\n0.5,1\n0.61,2\n0.72,3\n0.9,4\n";
    let summary = |bom: &str| {
        std::fs::write(dir.join("values.csv"), format!("{bom}{body}")).unwrap();
        std::fs::write(
            dir.join("d.toml"),
            "[[input]]\npath = \"themes.families.realisation\"\nkind = \"empirical\"\ncsv = \"values.csv\"\ncolumn = \"value\"\n",
        )
        .unwrap();
        let o = crate::run_ok(
            bin()
                .args([
                    "run",
                    "tests/data/council.toml",
                    "--draws",
                    "200",
                    "--format",
                    "json",
                ])
                .arg("--dist")
                .arg(dir.join("d.toml")),
        );
        let mut v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v.as_object_mut().unwrap().remove("metadata");
        v
    };
    assert_eq!(summary("\u{feff}"), summary(""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tests/data/council.toml` with its cohort and benefit per member both `amount`, as `dir/m.toml`.
fn council_scaled(dir: &Path, amount: &str) -> PathBuf {
    let src = std::fs::read_to_string("tests/data/council.toml")
        .unwrap()
        .replace("cohort = 2000", &format!("cohort = {amount}"))
        .replace(
            "benefit_per_engaged_gbp = 9000",
            &format!("benefit_per_engaged_gbp = {amount}"),
        );
    assert!(
        src.matches(&format!("= {amount}\n")).count() == 2,
        "both replaced"
    );
    let m = dir.join("m.toml");
    std::fs::write(&m, src).unwrap();
    m
}

#[test]
fn a_model_whose_figures_overflow_is_refused_by_validate_and_evaluate() {
    let dir = temp_dir("rel-evaluate-overflow");
    let m = council_scaled(&dir, "1e300");
    for cmd in ["validate", "evaluate"] {
        let o = run_expect(2, bin().arg(cmd).arg(&m));
        let err = String::from_utf8_lossy(&o.stderr);
        has(&err, &["m.toml:", "`themes.families`", "overflow"]);
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(!out.contains("inf") && !out.contains("NaN"), "{out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Amounts far beyond any real case but within what a run can summarise print in exponent form,
/// each table's columns apart, not as dozens of digits.
#[test]
fn evaluate_prints_huge_amounts_in_exponent_form() {
    let dir = temp_dir("rel-evaluate-huge");
    let m = council_scaled(&dir, "1e40");
    let o = crate::run_ok(bin().arg("evaluate").arg(&m));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("families ") && l.contains("year"))
        .unwrap_or_else(|| panic!("{out}"));
    // NPV, PV of benefits, PV of costs and net annual benefit, in £bn: the JSON's figures (the
    // model in £bn, so no unit change) to two significant digits.
    let cells: Vec<&str> = row.split_whitespace().collect();
    let json = crate::run_ok(bin().arg("evaluate").arg(&m).args(["--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let theme = &v[0]["themes"][0];
    assert_eq!(v[0]["scenario"], "low");
    for (cell, key) in cells[1..5]
        .iter()
        .zip(["npv", "pv_benefits", "pv_costs", "net_annual"])
    {
        let want = format!("{:.1e}", theme[key].as_f64().unwrap());
        assert_eq!(*cell, want, "{key} in {row}");
    }
    assert!(cells[1].ends_with("e70"), "{row}");
    // The local measures' tables too: a value per family of 1e99 £.
    let gm = std::fs::read_to_string(crate::local::GM).unwrap();
    let line = gm
        .lines()
        .find(|l| l.starts_with("fiscal_cashable_gbp = "))
        .expect("the example states a cashable fiscal value");
    let fc = dir.join("fc.toml");
    std::fs::write(&fc, gm.replace(line, "fiscal_cashable_gbp = 1e99")).unwrap();
    let out = String::from_utf8(crate::run_ok(bin().arg("evaluate").arg(&fc)).stdout).unwrap();
    assert!(out.lines().all(|l| l.chars().count() <= 100), "{out}");
    let json = crate::run_ok(bin().arg("evaluate").arg(&fc).args(["--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let local = &v[0]["local"];
    let e1 = |x: &serde_json::Value| format!("{:.1e}", x.as_f64().unwrap());
    let row = out
        .lines()
        .skip_while(|l| !l.starts_with("Local cost-benefit measures"))
        .find(|l| l.starts_with("families "))
        .unwrap_or_else(|| panic!("{out}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    let roi = format!(
        "{}%",
        e1(&(local["roi"][0].as_f64().unwrap() * 100.0).into())
    );
    assert_eq!(
        cells[1..4],
        [e1(&local["public_npv"][0]), e1(&local["bcr"][0]), roi],
        "{row}"
    );
    let impact = out
        .lines()
        .skip_while(|l| !l.starts_with("Net present budget impact"))
        .nth(1)
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        impact.ends_with(&e1(&local["budget_impact"][0])),
        "{impact}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn draws_whose_moments_would_overflow_are_an_error_naming_the_inputs_or_skipped_on_request() {
    let dir = temp_dir("rel-moments-overflow");
    let d = dir.join("d.toml");
    // Every outcome is finite, about 1e300: their squares overflow.
    std::fs::write(
        &d,
        "[[input]]\npath = \"themes.families.benefit_per_engaged_gbp\"\nkind = \"uniform\"\nmin = 1e299\nmax = 1e300\n",
    )
    .unwrap();
    let run = || {
        let mut c = bin();
        c.args([
            "run",
            "tests/data/council.toml",
            "--draws",
            "1000",
            "--dist",
        ])
        .arg(&d);
        c
    };
    let err = refused(&mut run());
    has(
        &err,
        &[
            "gave a non-finite",
            "themes.families.benefit_per_engaged_gbp = ",
        ],
    );
    let err = refused(run().arg("--skip-nonfinite"));
    has(&err, &["all 1000 draws gave non-finite outcomes"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_failed_run_leaves_no_folder_it_created_and_keeps_one_that_was_there() {
    let dir = temp_dir("rel-failed-out");
    // Draw 11 overflows: the streamed run fails after it has started writing its draws file.
    let run = |out: &Path| {
        let mut c = bin();
        c.args([
            "run",
            "tests/data/council.toml",
            "--dist",
            "tests/data/council_dists.toml",
            "--dist",
            "tests/data/overflow_dists.toml",
            "--draws",
            "300007",
            "--stream",
            "--keep-draws",
            "--format",
            "csv",
            "--out",
        ])
        .arg(out);
        c
    };
    for sub in ["new", "nested/deeper/new"] {
        let out = dir.join(sub);
        let err = refused(&mut run(&out));
        has(&err, &["gave a non-finite"]);
        // Nor the parents made for it.
        let top = dir.join(sub.split('/').next().unwrap());
        assert!(!top.exists(), "{sub}: {:?}", files_under(&top));
    }
    // A folder that was there stays, with the user's files, and no file of the failed run.
    let out = dir.join("there");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    refused(&mut run(&out));
    assert_eq!(files_under(&out), [".npvrisk.lock", "notes.txt"]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same through the library: `run::run_with` that fails removes the output folder it
/// created (and its parents), while a folder this process created and locked for other work,
/// still empty, is left alone; and the folder of a failed run that was there stays.
#[test]
fn a_failed_library_run_removes_only_its_own_new_folder() {
    use npvrisk::draws_out::DrawsFormat;
    use npvrisk::run::{RunSpec, run_with};
    let dir = temp_dir("rel-failed-lib");
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    // Other work of the same process: a folder it created and locked, empty so far.
    let other = dir.join("other/busy");
    npvrisk::output::lock_folder(&other).unwrap();
    let spec = |out: &Path| RunSpec {
        model: Some(data.join("council.toml")),
        // Draw 11 overflows: the streamed run fails after it has started writing its draws.
        dist: vec![
            data.join("council_dists.toml"),
            data.join("overflow_dists.toml"),
        ],
        draws: 300_007,
        stream: true,
        keep_draws: true,
        draws_format: Some(DrawsFormat::Csv),
        out: Some(out.to_path_buf()),
        ..RunSpec::default()
    };
    let out = dir.join("nested/new");
    let err = run_with(&spec(&out), &Default::default()).unwrap_err();
    has(&err.to_string(), &["gave a non-finite"]);
    assert!(!dir.join("nested").exists(), "{:?}", files_under(&dir));
    assert_eq!(files_under(&other), [".npvrisk.lock"]);
    let there = dir.join("there");
    std::fs::create_dir_all(&there).unwrap();
    std::fs::write(there.join("notes.txt"), "mine").unwrap();
    run_with(&spec(&there), &Default::default()).unwrap_err();
    assert_eq!(files_under(&there), [".npvrisk.lock", "notes.txt"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn one_draw_prints_n_a_for_the_statistics_it_cannot_have() {
    let o = run_ok(bin().args(["run", "--draws", "1"]));
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(table.contains("(n/a)"), "{table}");
    assert!(!table.contains("NaN") && !table.contains("inf"), "{table}");
    let o = run_ok(bin().args(["run", "--draws", "1", "--format", "csv"]));
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(!csv.contains("NaN") && !csv.contains("inf"), "{csv}");
    assert!(csv.contains("total,npv,sd,,,£bn\n"), "{csv}");
    let o = run_ok(bin().args(["run", "--draws", "1", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let npv = &v["outcomes"][0]["npv"];
    assert!(npv["sd"].is_null() && npv["se_mean"].is_null(), "{npv}");
    assert!(npv["mean"].is_f64(), "{npv}");
    // Rank correlations do not exist over one draw: refused, not shown as 0.
    let dir = temp_dir("one-draw-rank");
    let out = dir.join("report");
    let refused = [
        run_expect(
            2,
            bin().args(["sensitivity", "--draws", "1", "--method", "rank"]),
        ),
        run_expect(
            2,
            bin()
                .args(["report", "--draws", "1", "--sobol-n", "256", "--out"])
                .arg(&out),
        ),
    ];
    for o in refused {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("`--draws` = 1: rank correlations need at least 2 draws"),
            "{err}"
        );
    }
    assert!(!out.join("report.html").exists());
    // The analyses that take no draws run.
    run_ok(bin().args(["sensitivity", "--draws", "1", "--method", "tornado", "-q"]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Options beyond what a run can take are refused (exit 2), naming the option and its limit.
#[test]
fn options_beyond_what_a_run_can_take_are_refused() {
    // A run to a precision may not plan more draws than a run can number.
    let o = run_expect(
        2,
        bin().args([
            "run",
            "--precision",
            "0.001",
            "--max-draws",
            "18446744073709551615",
        ]),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr)
            .contains("`--max-draws` = 18446744073709551615: at most 2^48"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // A threshold beyond any outcome, and a fit for no parameter, are refused.
    for (args, says) in [
        (
            &["run", "--draws", "10", "--threshold", "1e308bn"][..],
            "`--threshold` = 1e308 £bn: must be a finite amount within ±1e100 £bn",
        ),
        (
            &[
                "fit",
                "--quantiles",
                "0.05:80,0.5:100,0.95:130",
                "--path",
                "",
            ],
            "`--path` = \"\": give the path",
        ),
    ] {
        let o = run_expect(2, bin().args(args));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(o.stdout.is_empty(), "{args:?}");
    }
}

/// Rewrite the JSON header of a shard file and recompute its checksum, as a crafted file would.
fn craft_shard(from: &Path, to: &Path, edit: &dyn Fn(&mut serde_json::Value)) {
    let bytes = std::fs::read(from).unwrap();
    let hlen = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[16..16 + hlen]).unwrap();
    edit(&mut header);
    let body = &bytes[16 + hlen..bytes.len() - 32];
    let h = serde_json::to_vec(&header).unwrap();
    let mut o = b"NPVRSHRD".to_vec();
    o.extend_from_slice(&(h.len() as u64).to_le_bytes());
    o.extend_from_slice(&h);
    o.extend_from_slice(body);
    use sha2::Digest;
    let sum: [u8; 32] = sha2::Sha256::digest(&o).into();
    o.extend_from_slice(&sum);
    std::fs::write(to, o).unwrap();
}

/// A change to a shard header.
type Edit = dyn Fn(&mut serde_json::Value);

const RUN: [&str; 5] = ["run", "--draws", "6000", "--block-size", "1000"];

fn two_shards(dir: &Path) -> Vec<PathBuf> {
    two_shards_sieving(dir, true)
}

/// [`two_shards`], with or without (`--no-sieve`) their sieves: without, their merge leaves
/// percentiles to a second pass.
fn two_shards_sieving(dir: &Path, sieve: bool) -> Vec<PathBuf> {
    (0..2)
        .map(|k| {
            let mut c = bin();
            c.args(RUN)
                .args(["--shard", &format!("{k}/2"), "--out"])
                .arg(dir);
            if !sieve {
                c.arg("--no-sieve");
            }
            run_ok(&mut c);
            dir.join(format!("shard-{k:05}-of-00002.npvshard"))
        })
        .collect()
}

#[test]
fn crafted_shard_headers_are_refused_field_by_field() {
    let dir = temp_dir("rel-crafted");
    let files = two_shards(&dir.join("s"));
    let edits: Vec<(&str, Box<Edit>)> = vec![
        (
            "`model.sha256` = \"abc\"",
            Box::new(|h| h["model"]["sha256"] = "abc".into()),
        ),
        ("`block_size` = 0", Box::new(|h| h["block_size"] = 0.into())),
        ("`draws` = 0", Box::new(|h| h["draws"] = 0.into())),
        ("`shard` = 2 of 2", Box::new(|h| h["shard"] = 2.into())),
        (
            "`first_block..end_block` = 5..9",
            Box::new(|h| {
                h["first_block"] = 5.into();
                h["end_block"] = 9.into();
            }),
        ),
        (
            "`percentiles` = 2",
            Box::new(|h| h["percentiles"] = serde_json::json!([0.5, 2.0])),
        ),
    ];
    let bad = dir.join("bad.npvshard");
    let out = dir.join("out");
    for (needle, edit) in &edits {
        craft_shard(&files[1], &bad, edit);
        let err = refused(
            bin()
                .arg("merge")
                .arg(&files[0])
                .arg(&bad)
                .arg("--out")
                .arg(&out),
        );
        has(&err, &["bad.npvshard` is corrupted: header", needle]);
        assert!(!out.exists());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn merge_next_pass_never_overwrites_an_input_or_an_existing_file() {
    let dir = temp_dir("rel-next-pass");
    let files = two_shards_sieving(&dir.join("s"), false);
    let before = std::fs::read(&files[1]).unwrap();
    let err = refused(
        bin()
            .arg("merge")
            .args(&files)
            .arg("--next-pass")
            .arg(&files[1]),
    );
    has(&err, &["`--next-pass`", "one of the files being merged"]);
    // The same file by another spelling of its path.
    let other = dir.join("s/../s/shard-00001-of-00002.npvshard");
    let err = refused(
        bin()
            .arg("merge")
            .args(&files)
            .arg("--next-pass")
            .arg(&other),
    );
    has(&err, &["one of the files being merged"]);
    assert_eq!(std::fs::read(&files[1]).unwrap(), before);
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, "mine").unwrap();
    let err = refused(
        bin()
            .arg("merge")
            .args(&files)
            .arg("--next-pass")
            .arg(&notes),
    );
    has(&err, &["is not a pass plan", "refusing to overwrite"]);
    assert_eq!(std::fs::read_to_string(&notes).unwrap(), "mine");
    // A plan may be written, and written again (the same bytes) ...
    // (The second write is seen by the file's modification time, not only by its bytes.)
    let plan = dir.join("pass2.npvplan");
    let mut written = Vec::new();
    let mut modified = Vec::new();
    for _ in 0..2 {
        std::thread::sleep(std::time::Duration::from_millis(50));
        run_ok(
            bin()
                .arg("merge")
                .args(&files)
                .arg("--next-pass")
                .arg(&plan),
        );
        written.push(std::fs::read(&plan).unwrap());
        modified.push(std::fs::metadata(&plan).unwrap().modified().unwrap());
    }
    assert!(modified[1] > modified[0], "the plan was not written again");
    assert!(written[0] == written[1]);
    // ... and it is the plan of this run: its second pass, merged with the first, gives the
    // summary of the run in one process.
    let mut pass2 = Vec::new();
    for k in 0..2 {
        let out = dir.join(format!("p{k}"));
        run_ok(
            bin()
                .args(RUN)
                .args(["--shard", &format!("{k}/2"), "--pass"])
                .arg(&plan)
                .arg("--out")
                .arg(&out),
        );
        for e in std::fs::read_dir(&out).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "npvshard") {
                pass2.push(p);
            }
        }
    }
    let merged = run_ok(
        bin()
            .arg("merge")
            .args(&files)
            .args(&pass2)
            .args(["--format", "csv", "-q"]),
    );
    let whole = run_ok(bin().args(RUN).args(["--format", "csv", "-q"]));
    assert!(
        merged.stdout == whole.stdout,
        "{}",
        String::from_utf8_lossy(&merged.stdout)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

const BATCH: &str = "draws = 2000\nreference = \"default\"\n\n[[scenario]]\nname = \"default\"\n";

#[test]
fn batch_scenario_names_that_are_not_plain_folder_names_are_refused_and_nothing_is_written() {
    let dir = temp_dir("rel-batch-names");
    let out = dir.join("inner/out");
    for name in ["..", ".", ".hidden", "a/b", &"x".repeat(300)] {
        let m = dir.join("inner/batch.toml");
        std::fs::create_dir_all(m.parent().unwrap()).unwrap();
        std::fs::write(
            &m,
            format!(
                "{BATCH}\n[[scenario]]\nname = \"{name}\"\nset = {{ \"discount_rate\" = 0.05 }}\n"
            ),
        )
        .unwrap();
        let err = refused(bin().arg("batch").arg(&m).arg("--out").arg(&out));
        has(
            &err,
            &["batch.toml:8:8:", "`scenario.name`", "plain folder name"],
        );
        assert_eq!(files_under(&dir), ["inner/batch.toml"], "{name:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_of_more_draws_than_memory_holds_is_accepted_because_its_scenarios_stream() {
    // 10^11 draws per scenario would need terabytes held in memory; a batch streams each
    // scenario (and pairs the differences block by block), so the manifest is valid as it stands.
    let dir = temp_dir("rel-batch-draws");
    let m = dir.join("batch.toml");
    std::fs::write(&m, BATCH.replace("2000", "100000000000")).unwrap();
    let out = run_ok(bin().arg("validate").arg(&m));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("100000000000 draws"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_grid_beyond_the_cap_is_a_located_error() {
    let dir = temp_dir("rel-batch-grid");
    let m = dir.join("batch.toml");
    let axis: Vec<String> = (0..1000).map(|i| format!("{}.0", i % 50)).collect();
    std::fs::write(
        &m,
        format!(
            "{BATCH}\n[grid]\n\"themes.work_skills.delay_years\" = [{a}]\n\"discount_rate\" = [{b}]\n",
            a = axis.join(", "),
            b = (0..200).map(|i| format!("0.0{}", i % 10)).collect::<Vec<_>>().join(", ")
        ),
    )
    .unwrap();
    let err = refused(bin().arg("batch").arg(&m));
    has(
        &err,
        &[
            "batch.toml:9:1:",
            "`grid` = 200000 combinations",
            "at most 100000",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_shard_whose_index_is_not_below_its_count_is_refused() {
    let dir = temp_dir("rel-batch-shard");
    let m = dir.join("batch.toml");
    std::fs::write(&m, BATCH).unwrap();
    let parts = dir.join("parts");
    run_ok(
        bin()
            .arg("batch")
            .arg(&m)
            .args(["--shard", "0/1", "--out"])
            .arg(&parts),
    );
    let f = parts.join("batch-shard-00000-of-00001.json");
    let text = std::fs::read_to_string(&f).unwrap();
    let (_, json) = text.split_once('\n').unwrap();
    let json = json.replace("\"shard\":0", "\"shard\":1");
    use sha2::Digest;
    let sum: String = sha2::Sha256::digest(json.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(&f, format!("npvrisk-batch-shard sha256={sum}\n{json}")).unwrap();
    let err = refused(bin().arg("batch").arg(&m).arg("--merge").arg(&parts));
    has(
        &err,
        &[
            "batch-shard-00000-of-00001.json",
            "`shard` = 1 of `shards` = 1",
        ],
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The files an output folder's manifest lists, if it says the folder is complete.
fn manifest_files(dir: &Path) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(dir.join("npvrisk-manifest.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    if v["complete"] != true {
        return None;
    }
    let mut files: Vec<String> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    Some(files)
}

/// `files` plus the manifest and the lock file, sorted, as `files_under` lists a folder.
fn with_bookkeeping(files: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = files.iter().map(|s| s.to_string()).collect();
    v.push(".npvrisk.lock".into());
    v.push("npvrisk-manifest.json".into());
    v.sort();
    v
}

#[test]
fn a_rerun_replaces_the_previous_runs_files_and_keeps_the_users() {
    let dir = temp_dir("rel-rerun");
    let out = dir.join("out");
    run_ok(
        bin()
            .args([
                "run",
                "--draws",
                "2000",
                "--keep-draws",
                "--format",
                "xlsx",
                "--out",
            ])
            .arg(&out),
    );
    assert_eq!(
        files_under(&out),
        with_bookkeeping(&["draws.csv", "summary.csv", "summary.json", "summary.xlsx"])
    );
    assert_eq!(summary_run(&out).0, 2000);
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    run_ok(
        bin()
            .args(["run", "--draws", "1000", "--seed", "5", "--out"])
            .arg(&out),
    );
    assert_eq!(
        files_under(&out),
        with_bookkeeping(&["notes.txt", "summary.csv", "summary.json"])
    );
    // The summary is the second run's, and the user's file is untouched.
    assert_eq!(summary_run(&out), (1000, 5));
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        manifest_files(&out).unwrap(),
        ["summary.csv", "summary.json"]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_removes_the_folders_of_scenarios_no_longer_in_its_manifest_but_not_the_users_files() {
    let dir = temp_dir("rel-batch-stale");
    let m = dir.join("batch.toml");
    let out = dir.join("out");
    let scenario = |name: &str| {
        format!("\n[[scenario]]\nname = \"{name}\"\nset = {{ \"discount_rate\" = 0.05 }}\n")
    };
    std::fs::write(
        &m,
        format!("{BATCH}{}{}", scenario("old"), scenario("kept_by_user")),
    )
    .unwrap();
    run_ok(bin().arg("batch").arg(&m).arg("--out").arg(&out));
    std::fs::write(out.join("kept_by_user/mine.txt"), "mine").unwrap();
    std::fs::write(&m, BATCH).unwrap();
    run_ok(bin().arg("batch").arg(&m).arg("--out").arg(&out));
    assert_eq!(
        files_under(&out),
        with_bookkeeping(&[
            "batch.html",
            "comparison.csv",
            "default/summary.json",
            "kept_by_user/mine.txt",
            "s_curves.csv"
        ])
    );
    // The tables are the second batch's: every row is the one scenario left (199 S-curve
    // points), and its summary has the manifest's draws.
    let rows = |file: &str| -> Vec<String> {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        text.lines().skip(1).map(String::from).collect()
    };
    let (comparison, curves) = (rows("comparison.csv"), rows("s_curves.csv"));
    assert!(!comparison.is_empty());
    assert_eq!(curves.len(), 199);
    for row in comparison.iter().chain(&curves) {
        assert!(row.starts_with("default,"), "{row}");
    }
    assert_eq!(
        read_json(&out.join("default/summary.json"))["metadata"]["draws"],
        2000
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn temporaries_left_by_killed_runs_are_removed_and_those_of_live_ones_kept() {
    let dir = temp_dir("rel-temporaries");
    let out = dir.join("out");
    run_ok(bin().args(["run", "--draws", "1000", "--out"]).arg(&out));
    // A process that has ended: its pid names no process (until reused, unlikely within a test).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = format!(".summary.json.{}.tmp", gone.id());
    let live = format!(".summary.json.{}.tmp", std::process::id());
    std::fs::write(out.join(&dead), "half").unwrap();
    std::fs::write(out.join(&live), "being written").unwrap();
    run_ok(bin().args(["run", "--draws", "500", "--out"]).arg(&out));
    assert!(!out.join(&dead).exists(), "{dead} is still there");
    assert_eq!(
        std::fs::read_to_string(out.join(&live)).unwrap(),
        "being written",
        "{live} was removed or changed"
    );
    assert_eq!(summary_run(&out).0, 500);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Start `npvrisk` with `args` in the background.
fn spawn(args: &[&std::ffi::OsStr]) -> std::process::Child {
    bin()
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_second_run_on_a_folder_in_use_exits_2_naming_the_first() {
    let dir = temp_dir("rel-lock");
    let out = dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let ck = dir.join("ck");
    let os = |s: &str| std::ffi::OsString::from(s);
    let long = |flag: &str, d: &Path| -> Vec<std::ffi::OsString> {
        vec![
            os("run"),
            os("--draws"),
            os("100000000"),
            os("--stream"),
            os(flag),
            d.as_os_str().to_owned(),
        ]
    };
    for (flag, d) in [("--out", &out), ("--checkpoint", &ck)] {
        let args = long(flag, d);
        let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let mut first = spawn(&refs);
        // Wait until the first run holds the lock (it writes its name into the lock file).
        let lock = d.join(".npvrisk.lock");
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(&lock).is_ok_and(|t| t.contains(&first.id().to_string())) {
            assert!(
                started.elapsed().as_secs() < 30,
                "the first run never locked {}",
                d.display()
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for second in [
            vec![
                os("run"),
                os("--draws"),
                os("100"),
                os("--out"),
                d.as_os_str().to_owned(),
            ],
            vec![
                os("run"),
                os("--draws"),
                os("100"),
                os("--resume"),
                d.as_os_str().to_owned(),
            ],
            vec![
                os("sensitivity"),
                os("--method"),
                os("tornado"),
                os("--out"),
                d.as_os_str().to_owned(),
            ],
        ] {
            let err = refused(bin().args(&second));
            has(
                &err,
                &[
                    "is in use by npvrisk process",
                    &first.id().to_string(),
                    "wait for it to finish, or use another folder",
                ],
            );
        }
        first.kill().unwrap();
        first.wait().unwrap();
    }
    // Once the holder is gone (killed), the lock is free again: the next run writes its summary.
    run_ok(bin().args(["run", "--draws", "100", "--out"]).arg(&out));
    assert_eq!(summary_run(&out).0, 100);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn runs_killed_while_writing_leave_one_run_or_a_folder_the_next_run_repairs() {
    let dir = temp_dir("rel-kill");
    let out = dir.join("out");
    let keep = ["run", "--draws", "150000", "--keep-draws", "--out"];
    run_ok(bin().args(keep).arg(&out));
    // How long a run takes here, to spread the kills over it, the writing at the end included.
    let t = std::time::Instant::now();
    run_ok(bin().args(["run", "--draws", "150000", "--out"]).arg(&out));
    let whole = t.elapsed().as_millis() as u64;
    let mut incomplete = 0;
    for i in 0..8u64 {
        // Alternate: a run keeping its draws over one that did not, and the other way round.
        let args: &[&str] = if i % 2 == 0 { &keep } else { &keep[..3] };
        let mut cmd = bin();
        cmd.args(args);
        if i % 2 == 1 {
            cmd.arg("--out");
        }
        let mut child = cmd
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(whole * (4 + i) / 12));
        let _ = child.kill();
        let _ = child.wait();
        let ours = ["draws.csv", "summary.csv", "summary.json"];
        let present: Vec<String> = files_under(&out)
            .into_iter()
            .filter(|f| ours.contains(&f.as_str()))
            .collect();
        match manifest_files(&out) {
            // Complete: exactly the files of one run, whole.
            Some(listed) => {
                assert_eq!(present, listed, "kill {i}");
                let (draws, _) = summary_run(&out);
                if listed.iter().any(|f| f == "draws.csv") {
                    let csv = std::fs::read_to_string(out.join("draws.csv")).unwrap();
                    assert_eq!(csv.lines().count() as u64, draws + 1, "kill {i}");
                }
            }
            None => incomplete += 1,
        }
    }
    // Whatever the kills left, the next run leaves exactly its own files.
    run_ok(bin().args(["run", "--draws", "700", "--out"]).arg(&out));
    assert_eq!(
        files_under(&out),
        with_bookkeeping(&["summary.csv", "summary.json"]),
        "{incomplete} kills left the folder incomplete"
    );
    assert_eq!(summary_run(&out).0, 700);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model file with `n` themes like the example council's.
fn many_themes(n: usize) -> String {
    let mut s = String::from(
        "[model]\nname = \"many\"\nprice_base = \"2024-25\"\nhorizon_years = 5\nscenarios = [\"low\", \"central\"]\n\n[[partners]]\nid = \"council\"\nname = \"C\"\nbudget_class = \"DEL\"\nbudget_bn = 1.2\n\n[[partners]]\nid = \"NHS\"\nname = \"N\"\nbudget_class = \"DEL\"\nbudget_bn = 2.5\n",
    );
    for i in 0..n {
        s.push_str(&format!(
            "\n[[themes]]\nid = \"t{i}\"\nname = \"Theme {i}\"\naddressable_spend_bn = 0.09\nprofile = [0.2, 0.5, 0.8, 1.0]\ncohort = 2000\nengagement = {{ low = 0.5, central = 0.7 }}\nbenefit_per_engaged_gbp = 9000\nrealisation = {{ low = 0.7, central = 0.9 }}\none_off_costs_bn = [0.004, 0.001, 0, 0, 0]\ncost_per_engaged_gbp = 1500\npartner_shares = {{ council = 0.55, NHS = 0.45 }}\n"
        ));
    }
    s
}

/// A file of many themes is read whole and each theme checked (the linear growth of the time
/// this takes is measured by `benches/validate_many.sh`, not here: timing is no test).
#[test]
fn a_model_of_many_themes_validates_counting_every_theme() {
    let dir = temp_dir("rel-many");
    let f = dir.join("m.toml");
    std::fs::write(&f, many_themes(20_000)).unwrap();
    let o = run_ok(bin().arg("validate").arg(&f));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(": ok, model file: 20000 themes, 2 partners"),
        "{err}"
    );
    // The last theme is checked like the first: a bad share there is found and located.
    let bad = many_themes(20_000);
    let last = bad.rfind("council = 0.55").unwrap();
    let bad = format!(
        "{}council = 0.65{}",
        &bad[..last],
        &bad[last + "council = 0.55".len()..]
    );
    std::fs::write(&f, &bad).unwrap();
    let o = run_expect(2, bin().arg("validate").arg(&f));
    let err = String::from_utf8_lossy(&o.stderr);
    let line = bad[..last].matches('\n').count() + 1;
    assert!(err.contains(&format!("m.toml:{line}:")), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model whose own values give an outcome beyond ±1e100 (an amount out of scale) is refused
/// before any draw, located at the theme, by `validate` as by `run`. A theme stated outcome by outcome
/// without costs is a warning at the theme: its benefit-cost ratio over no costs stops a run at
/// its first draw with a message saying so, unless a distribution draws the costs above 0.
#[test]
fn models_whose_own_values_cannot_be_run_are_refused_or_explained() {
    let dir = temp_dir("rel-point-values");
    let gm = std::fs::read_to_string(crate::local::GM).unwrap();
    let huge = dir.join("huge.toml");
    let cohort = gm
        .lines()
        .find(|l| l.starts_with("cohort = "))
        .expect("the example states a cohort");
    std::fs::write(&huge, gm.replace(cohort, "cohort = 1e150")).unwrap();
    // A batch of it too, and the batch's manifest.
    let manifest = dir.join("b.toml");
    std::fs::write(
        &manifest,
        "model = \"huge.toml\"\ndraws = 10\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
    )
    .unwrap();
    for (cmd, file) in [
        (&["run", "--draws", "100"][..], &huge),
        (&["validate"], &huge),
        (&["batch"], &manifest),
        (&["validate"], &manifest),
    ] {
        let err = refused(bin().args(cmd).arg(file));
        has(
            &err,
            &[
                "huge.toml:",
                "`themes.families`",
                "its NPV in scenario `central` is ",
                "out of scale",
            ],
        );
    }
    // An outcome-level measure out of scale (the NPV itself in range): located at the theme too.
    let social = gm
        .lines()
        .find(|l| l.starts_with("social_gbp = 0"))
        .expect("the example states a social value");
    let soc = dir.join("soc.toml");
    std::fs::write(&soc, gm.replace(social, "social_gbp = 1e110")).unwrap();
    for cmd in [&["run", "--draws", "100"][..], &["validate"]] {
        let err = refused(bin().args(cmd).arg(&soc));
        has(
            &err,
            &[
                "soc.toml:",
                "`themes.families`",
                "give families.public_value_npv = 4.062e104",
                "out of scale",
            ],
        );
    }
    let free = dir.join("free.toml");
    std::fs::write(
        &free,
        gm.replace("scaled_cost_bn = 0.138", "scaled_cost_bn = 0.0"),
    )
    .unwrap();
    let o = crate::run_ok(bin().arg("validate").arg(&free));
    has(
        &String::from_utf8_lossy(&o.stderr),
        &["free.toml:", "`themes.families`", "benefit-cost ratio"],
    );
    let err = refused(bin().args(["run", "--draws", "100"]).arg(&free));
    has(
        &err,
        &[
            "families.public_value_bcr",
            "no input is drawn",
            "over costs whose present value is 0",
        ],
    );
    let drawn = dir.join("drawn.toml");
    std::fs::write(
        &drawn,
        "[[input]]\npath = \"themes.families.scaled_cost\"\nkind = \"uniform\"\nmin = 0.1\nmax = 0.2\n",
    )
    .unwrap();
    crate::run_ok(
        bin()
            .args(["run", "--draws", "100"])
            .arg(&free)
            .arg("--dist")
            .arg(&drawn),
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An output never replaces (nor, as a previous run's file, removes) a file the command read as
/// an input, and an atomic write never puts a file in place of a link or folder: each is refused
/// (exit 2) and the file is left as it was.
#[test]
fn outputs_never_replace_the_inputs_they_were_computed_from() {
    let dir = temp_dir("inputs-kept");
    // Kept draws read back as an empirical input, then the run written into their folder: once
    // replacing draws.csv (--keep-draws), once removing it as the previous run's file.
    let d = dir.join("d");
    run_ok(
        bin()
            .args(["run", "-q", "--draws", "50", "--keep-draws", "--out"])
            .arg(&d),
    );
    let draws = std::fs::read(d.join("draws.csv")).unwrap();
    let col = "input:themes.work_skills.realisation";
    std::fs::write(
        dir.join("e.toml"),
        format!("[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"empirical\"\ncsv = \"d/draws.csv\"\ncolumn = \"{col}\"\n"),
    )
    .unwrap();
    for keep in [true, false] {
        let mut cmd = bin();
        cmd.args(["run", "-q", "--draws", "50", "--dist"])
            .arg(dir.join("e.toml"))
            .arg("--out")
            .arg(&d);
        if keep {
            cmd.arg("--keep-draws");
        }
        let o = run_expect(2, &mut cmd);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("draws.csv` is an input of this command"),
            "{err}"
        );
        assert_eq!(std::fs::read(d.join("draws.csv")).unwrap(), draws);
    }
    // `calibrate --out` onto its own published figures.
    let published = dir.join("published.toml");
    std::fs::copy("distributions/ey2013_published.toml", &published).unwrap();
    let before = std::fs::read(&published).unwrap();
    let o = run_expect(
        2,
        bin()
            .args(["calibrate", "--published"])
            .arg(&published)
            .arg("--out")
            .arg(&published),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("is an input of this command"));
    assert_eq!(std::fs::read(&published).unwrap(), before);
    // A link and a folder are not files to write: refused, left as they were.
    let target = dir.join("target.toml");
    std::fs::write(&target, "mine").unwrap();
    let link = dir.join("link.toml");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for out in [&link, &dir] {
        let o = run_expect(2, bin().args(["calibrate", "--out"]).arg(out));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("it is not a regular file"), "{err}");
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "mine");
    let _ = std::fs::remove_dir_all(&dir);
}
