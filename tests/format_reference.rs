//! `docs/model-format.md` describes every field the parsers accept. The accepted names come from
//! the parsers themselves: a table given an unknown field is rejected with serde's message
//! listing the fields its struct accepts ("unknown field `x`, expected one of `a`, `b`, ..."),
//! so a field added to a struct and not to the reference fails here.

use std::path::Path;

use crate::{bin, run_expect, run_ok, temp_dir};

const DOC: &str = "docs/model-format.md";
const PROBE: &str = "zz_not_a_field";

/// The text of the section under `heading` (up to the next heading).
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("{DOC} has no heading {heading:?}"));
    let rest = &doc[start + heading.len() + 2..];
    let end = rest.find("\n#").unwrap_or(rest.len());
    &rest[..end]
}

/// The backquoted words after "expected" in the first error line of `validate` on `file`.
fn accepted(file: &Path, extra: &[&str]) -> Vec<String> {
    let o = run_expect(2, bin().arg("validate").args(extra).arg(file));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains(&format!("unknown field `{PROBE}`")))
        .unwrap_or_else(|| panic!("{}: no unknown-field error: {stderr}", file.display()));
    let list = line.split_once("expected").expect("a list of fields").1;
    let names: Vec<String> = list
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    assert!(!names.is_empty(), "{line}");
    names
}

/// `src` with the probe field put at the start of table `header` (`""`: the top level).
fn inject(src: &str, header: &str) -> String {
    if header.is_empty() {
        return format!("{PROBE} = 1\n{src}");
    }
    let at = src
        .find(&format!("\n{header}\n"))
        .unwrap_or_else(|| panic!("no {header}"));
    let cut = at + header.len() + 2;
    format!("{}{PROBE} = 1\n{}", &src[..cut], &src[cut..])
}

#[test]
fn every_field_the_parsers_accept_is_in_the_reference() {
    let doc = std::fs::read_to_string(DOC).unwrap();
    let dir = temp_dir("format-reference");
    run_ok(bin().arg("init").arg(dir.join("case")));
    let case = dir.join("case");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    let model = read(&case.join("model.toml"));
    let dists = read(&case.join("dists.toml"));
    let manifest = read(&case.join("batch.toml"));
    let defaults = read(Path::new("distributions/ey2013_default.toml"));
    let published = read(Path::new("distributions/ey2013_published.toml"));
    // (the file's text, the table to probe, the heading documenting it, validate's options)
    let model_opt = [
        "--model".to_string(),
        case.join("model.toml").display().to_string(),
    ];
    let probes: Vec<(&str, &str, &str, Vec<String>)> = vec![
        (&model, "", "### Model file: top level", vec![]),
        (&model, "[model]", "### Model file: `[model]`", vec![]),
        (
            &model,
            "[[partners]]",
            "### Model file: `[[partners]]`",
            vec![],
        ),
        (&model, "[[themes]]", "### Model file: `[[themes]]`", vec![]),
        (
            &model,
            "[[themes.outcomes]]",
            "### Model file: `[[themes.outcomes]]`",
            vec![],
        ),
        (
            &dists,
            "",
            "### Distribution file: top level",
            model_opt.to_vec(),
        ),
        (
            &dists,
            "[[input]]",
            "### Distribution file: `[[input]]`",
            model_opt.to_vec(),
        ),
        (
            &defaults,
            "[correlation]",
            "### Distribution file: `[correlation]`",
            vec![],
        ),
        (&manifest, "", "### Batch manifest: top level", vec![]),
        (
            &manifest,
            "[[scenario]]",
            "### Batch manifest: `[[scenario]]`",
            vec![],
        ),
        (&published, "", "### Published figures: top level", vec![]),
        (
            &published,
            "[[partners]]",
            "### Published figures: `[[partners]]`",
            vec![],
        ),
        (
            &published,
            "[[themes]]",
            "### Published figures: `[[themes]]`",
            vec![],
        ),
        (
            &published,
            "[total.figures]",
            "### Published figures: `figures` tables",
            vec![],
        ),
    ];
    let mut checked = 0;
    for (i, (src, header, heading, opts)) in probes.iter().enumerate() {
        // In the case folder, so that the manifest finds its model and distributions.
        let f = case.join(format!("probe{i}.toml"));
        std::fs::write(&f, inject(src, header)).unwrap();
        let opts: Vec<&str> = opts.iter().map(String::as_str).collect();
        let text = section(&doc, heading);
        for name in accepted(&f, &opts) {
            assert!(
                text.contains(&format!("| `{name}` |")),
                "{DOC}, {heading}: no row for `{name}`, which the parser accepts in {header:?}"
            );
            checked += 1;
        }
    }
    // `[total]` is written as `[total.figures]` in the file: probe it as its own table.
    let f = case.join("probe_total.toml");
    std::fs::write(
        &f,
        published.replacen(
            "[total.figures]",
            &format!("[total]\n{PROBE} = 1\n\n[total.figures]"),
            1,
        ),
    )
    .unwrap();
    let text = section(&doc, "### Published figures: `[total]`");
    for name in accepted(&f, &[]) {
        assert!(text.contains(&format!("| `{name}` |")), "[total]: `{name}`");
        checked += 1;
    }
    // Every distribution kind.
    let f = case.join("probe_kind.toml");
    std::fs::write(
        &f,
        "[[input]]\npath = \"discount_rate\"\nkind = \"zz_not_a_kind\"\n",
    )
    .unwrap();
    let o = run_expect(2, bin().arg("validate").arg(&f));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let kinds = stderr
        .split_once("must be one of ")
        .unwrap_or_else(|| panic!("{stderr}"))
        .1
        .lines()
        .next()
        .unwrap();
    let text = section(&doc, "### Distribution file: `[[input]]`");
    for k in kinds.split(", ") {
        let k = k.split(" (").next().unwrap().trim();
        assert!(
            text.contains(&format!("`{k}`")),
            "{DOC}: distribution kind `{k}` is not described"
        );
        checked += 1;
    }
    assert!(checked > 100, "only {checked} names checked");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The done-when of a new case: `init`, `validate` of everything it wrote, and a report, as
/// written; a second `init` into the same folder is refused and changes nothing.
#[test]
fn init_validate_report_runs_as_written_and_init_never_overwrites() {
    let dir = temp_dir("init-case");
    let case = dir.join("mycase");
    run_ok(bin().arg("init").arg(&case));
    let mut files: Vec<_> = std::fs::read_dir(&case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3);
    let o = run_ok(bin().args(["--deny-warnings", "validate"]).args(&files));
    let e = String::from_utf8_lossy(&o.stderr);
    for want in [
        "ok, model file",
        "ok, distribution file",
        "ok, batch manifest",
    ] {
        assert!(e.contains(want), "{e}");
    }
    let out = case.join("report");
    // As a user would type it, default options.
    run_ok(
        bin()
            .arg("report")
            .arg(case.join("model.toml"))
            .arg("--dist")
            .arg(case.join("dists.toml"))
            .arg("--out")
            .arg(&out),
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The case has no published figures: its review speaks of its scenario values.
    assert!(html.contains("where do the scenario values fall"));
    assert!(
        !html.contains("published"),
        "a new case's report mentions published figures"
    );
    // Every figure in the model is either sourced or marked as an assumption.
    let model = std::fs::read_to_string(case.join("model.toml")).unwrap();
    assert!(model.contains("ILLUSTRATIVE ASSUMPTIONS"));
    // The case is written in £m, with the unsuffixed names, and every output speaks £m.
    assert!(model.contains("money_unit = \"£m\""), "{model}");
    assert!(model.contains("scaled_cost = 13.8"), "{model}");
    assert!(
        !model
            .lines()
            .any(|l| l.split('#').next().unwrap().contains("_bn")),
        "a `_bn` field in the £m template"
    );
    money_in_millions_throughout(&out);

    // A second init: refused (exit 2), nothing rewritten.
    std::fs::write(case.join("dists.toml"), "# mine\n").unwrap();
    let o = run_expect(2, bin().arg("init").arg(&case));
    assert!(String::from_utf8_lossy(&o.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read_to_string(case.join("dists.toml")).unwrap(),
        "# mine\n"
    );
    // One file of the three present is enough to refuse, and none of the others is written.
    let other = dir.join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("batch.toml"), "# mine\n").unwrap();
    let o = run_expect(2, bin().arg("init").arg(&other));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("batch.toml already exists"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!other.join("model.toml").exists());
    assert!(!other.join("dists.toml").exists());
    // A folder that is a file.
    let o = run_expect(2, bin().arg("init").arg(other.join("batch.toml")));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists and is not a folder"));

    // With a broken model file among the files, its distribution file is not checked against
    // another model: it is reported as unchecked, naming the model file.
    std::fs::write(
        case.join("model.toml"),
        "[model]
name = 1
",
    )
    .unwrap();
    let o = run_expect(
        2,
        bin()
            .arg("validate")
            .arg(case.join("model.toml"))
            .arg(case.join("batch.toml")),
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("model.toml:2:8"), "{e}");
    std::fs::write(
        case.join("dists.toml"),
        std::fs::read_to_string("templates/init/dists.toml").unwrap(),
    )
    .unwrap();
    let o = run_expect(
        2,
        bin()
            .arg("validate")
            .arg(case.join("model.toml"))
            .arg(case.join("dists.toml")),
    );
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains(&format!(
            "{}: not checked: its model file {} (the one among the files) is rejected",
            case.join("dists.toml").display(),
            case.join("model.toml").display()
        )),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every output of a report folder of a case in £m states £m and none says £bn: the CSV's unit
/// column, the JSON files' `money_unit`, the HTML, the charts and the workbook's parts.
fn money_in_millions_throughout(out: &Path) {
    let csv = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("entity,measure,statistic,value,se,unit"));
    let mut money_rows = 0;
    for l in lines {
        let cells: Vec<&str> = l.split(',').collect();
        let unit = cells[5];
        match (cells[1], cells[2].starts_with("p_below_")) {
            (_, true) => assert_eq!(unit, "probability", "{l}"),
            ("npv" | "pv_benefits" | "pv_costs" | "public_value_npv" | "budget_impact", _) => {
                assert_eq!(unit, "£m", "{l}");
                money_rows += 1;
            }
            _ => assert!(["share", "years", "ratio"].contains(&unit), "{l}"),
        }
    }
    assert!(money_rows > 20, "{money_rows} money rows");
    // The values are in £m: the total NPV's mean is millions, not thousandths of a billion.
    let mean: f64 = csv
        .lines()
        .find(|l| l.starts_with("total,npv,mean,"))
        .unwrap()
        .split(',')
        .nth(3)
        .unwrap()
        .parse()
        .unwrap();
    assert!((1.0..1000.0).contains(&mean.abs()), "total NPV mean {mean}");
    for f in ["summary.json", "sensitivity.json"] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join(f)).unwrap()).unwrap();
        assert_eq!(v["money_unit"], "£m", "{f}");
    }
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.matches("£m").count() > 10, "the report shows £m");
    // No £bn in any file of the folder (text files and the workbook's XML parts).
    let mut texts: Vec<(String, String)> = Vec::new();
    let mut stack = vec![out.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "xlsx") {
                let mut zip = zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).unwrap();
                for i in 0..zip.len() {
                    let mut f = zip.by_index(i).unwrap();
                    let name = format!("{}:{}", p.display(), f.name().unwrap_or_default());
                    let mut s = String::new();
                    if std::io::Read::read_to_string(&mut f, &mut s).is_ok() {
                        texts.push((name, s));
                    }
                }
            } else if let Ok(s) = std::fs::read_to_string(&p) {
                texts.push((p.display().to_string(), s));
            }
        }
    }
    assert!(texts.len() > 10, "{} files read", texts.len());
    for (name, text) in &texts {
        assert!(!text.contains("£bn"), "{name} says £bn");
        assert!(
            !text.contains("&quot;bn&quot;"),
            "{name} has a £bn number format"
        );
    }
    assert!(
        texts
            .iter()
            .any(|(n, t)| n.ends_with("xl/styles.xml") && t.contains("&quot;m&quot;")),
        "the workbook's money format is in £m"
    );
}
