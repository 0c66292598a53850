//! Distribution files overlaid on the embedded model's defaults (`--dist`, `--no-default-dists`,
//! batch manifests), `npvrisk defaults` and `npvrisk validate` on every kind of file.

use std::path::{Path, PathBuf};

use npvrisk::stats::spearman;
use serde_json::Value;

use crate::oracles::Kept;
use crate::{bin, run_expect, run_ok, temp_dir};

const DEFAULTS: &str = "distributions/ey2013_default.toml";

/// The number of inputs in the default distribution file, counted from the file.
fn n_defaults() -> usize {
    std::fs::read_to_string(DEFAULTS)
        .unwrap()
        .lines()
        .filter(|l| l.trim() == "[[input]]")
        .count()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p
}

/// A run of the embedded model keeping its draws; its summary, draws and stderr.
fn run_kept(dir: &Path, tag: &str, extra: &[&std::ffi::OsStr]) -> (Value, Kept, String) {
    let out = dir.join(tag);
    let o = run_ok(
        bin()
            .args(["run", "--draws", "4000", "--seed", "5", "--keep-draws"])
            .args(extra)
            .args(["--format", "json", "--out"])
            .arg(&out),
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    (v, Kept::read(&out.join("draws.csv")), stderr(&o))
}

const WORK: &str = "input:themes.work_skills.realisation";
const HEALTH: &str = "input:themes.health_social_care.realisation";
const FAMILIES: &str = "input:themes.families_complex_needs.realisation";

#[test]
fn a_dist_file_on_the_embedded_model_adds_to_its_defaults_and_overrides_by_path() {
    let dir = temp_dir("overlay-add");
    let n = n_defaults();
    // One input overriding a default, one new (the discount rate is not drawn by default).
    let mine = write(
        &dir,
        "mine.toml",
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"uniform\"\nmin = 0.70\nmax = 0.71\n\n\
         [[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.03\nmax = 0.04\n",
    );
    let (base, base_kept, base_err) = run_kept(&dir, "base", &[]);
    assert!(
        base_err.contains(&format!(
            "distributions: {n} default = {n} uncertain inputs"
        )),
        "{base_err}"
    );
    let (v, kept, err) = run_kept(&dir, "mine", &["--dist".as_ref(), mine.as_os_str()]);
    let want = format!(
        "distributions: {n} default + 2 from {} (1 overriding) = {} uncertain inputs",
        mine.display(),
        n + 1
    );
    assert!(err.contains(&want), "expected {want:?} in {err}");
    assert_eq!(v["inputs"].as_array().unwrap().len(), n + 1);
    assert_eq!(base["inputs"].as_array().unwrap().len(), n);
    // The overriding input is drawn from the new file, the new one is drawn ...
    assert!(kept.col(WORK).iter().all(|x| (0.70..=0.71).contains(x)));
    assert!(base_kept.col(WORK).iter().any(|x| *x < 0.6));
    assert!(
        kept.col("input:discount_rate")
            .iter()
            .all(|x| (0.03..=0.04).contains(x))
    );
    // ... and the defaults not overridden are still drawn, with the same draws (the copula of
    // the default file is kept and the other inputs' streams do not move).
    assert_eq!(kept.col(HEALTH), base_kept.col(HEALTH));
    assert_eq!(kept.col(FAMILIES), base_kept.col(FAMILIES));

    // --no-default-dists: only the file's inputs.
    let (v, kept, err) = run_kept(
        &dir,
        "only",
        &[
            "--no-default-dists".as_ref(),
            "--dist".as_ref(),
            mine.as_os_str(),
        ],
    );
    assert!(
        err.contains(&format!(
            "distributions: 2 from {} = 2 uncertain inputs",
            mine.display()
        )),
        "{err}"
    );
    assert_eq!(v["inputs"].as_array().unwrap().len(), 2);
    assert!(!kept.names.iter().any(|c| c == HEALTH), "{:?}", kept.names);

    // Sensitivity and report take the same distributions (one loader).
    let o = run_ok(
        bin()
            .args(["sensitivity", "--method", "tornado", "--draws", "200"])
            .args(["--no-default-dists", "--dist"])
            .arg(&mine),
    );
    assert!(
        stderr(&o).contains("distributions: 2 from"),
        "{}",
        stderr(&o)
    );
    // ... and its tornado has a bar for each of the file's inputs only.
    let table = String::from_utf8_lossy(&o.stdout);
    let bars: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("  themes.") || l.starts_with("  discount_rate"))
        .filter(|l| l.contains("swing"))
        .collect();
    assert_eq!(bars.len(), 2, "{table}");

    // A model file has no defaults: --no-default-dists there is refused, naming why.
    let o = run_expect(
        2,
        bin().args([
            "run",
            "tests/data/council.toml",
            "--no-default-dists",
            "--draws",
            "10",
        ]),
    );
    assert!(
        stderr(&o)
            .contains("`--no-default-dists`: only the embedded model has default distributions"),
        "{}",
        stderr(&o)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_later_correlation_replaces_the_defaults_one_and_may_name_overridden_paths() {
    let dir = temp_dir("overlay-corr");
    // The default correlates the three realisations at 0.5. This file redefines two of them and
    // correlates those two at 0.9; the third (left at its default) is then independent of them.
    let mine = write(
        &dir,
        "corr.toml",
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n\n\
         [[input]]\npath = \"themes.health_social_care.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n\n\
         [correlation]\ninputs = [\"themes.work_skills.realisation\", \"themes.health_social_care.realisation\"]\n\
         rank = [[1.0, 0.9], [0.9, 1.0]]\n",
    );
    let (_, base, _) = run_kept(&dir, "base", &[]);
    let (_, kept, err) = run_kept(&dir, "corr", &["--dist".as_ref(), mine.as_os_str()]);
    assert!(err.contains("(2 overriding)"), "{err}");
    // Each within four standard errors of a rank correlation ρ on n draws of a Gaussian copula,
    // √((1 + ρ²/2)(1 − ρ²)²/(n − 3)) (Bonett and Wright 2000; 1/√(n − 1) exactly at ρ = 0).
    let tol = |rho: f64, n: usize| {
        4.0 * ((1.0 + rho * rho / 2.0) * (1.0 - rho * rho).powi(2) / (n as f64 - 3.0)).sqrt()
    };
    let n = kept.rows.len();
    let r = spearman(&kept.col(WORK), &kept.col(HEALTH));
    assert!((r - 0.9).abs() < tol(0.9, n), "work~health {r}");
    let r = spearman(&kept.col(WORK), &kept.col(FAMILIES));
    assert!(
        r.abs() < tol(0.0, n),
        "work~families {r} (the default's 0.5 replaced)"
    );
    // Under the defaults alone the same pair is correlated at the default's 0.5 (the replacement
    // is visible).
    let r0 = spearman(&base.col(WORK), &base.col(FAMILIES));
    assert!(
        (r0 - 0.5).abs() < tol(0.5, base.rows.len()),
        "default work~families {r0}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_manifest_adds_its_files_to_the_defaults_or_starts_from_none() {
    let dir = temp_dir("overlay-batch");
    let n = n_defaults();
    write(
        &dir,
        "mine.toml",
        "[[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.03\nmax = 0.04\n",
    );
    let body =
        "dist = [\"mine.toml\"]\ndraws = 200\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n";
    let m = write(&dir, "add.toml", body);
    let o = run_ok(bin().arg("batch").arg(&m).args(["--format", "csv"]));
    // The file is named by its path from here, as `run --dist` names it.
    assert!(
        stderr(&o).contains(&format!(
            "distributions: {n} default + 1 from {} = {} uncertain inputs",
            dir.join("mine.toml").display(),
            n + 1
        )),
        "{}",
        stderr(&o)
    );
    let m = write(
        &dir,
        "none.toml",
        &format!("no_default_dists = true\n{body}"),
    );
    let o = run_ok(bin().arg("batch").arg(&m).args(["--format", "csv"]));
    assert!(
        stderr(&o).contains(&format!(
            "distributions: 1 from {} = 1 uncertain input\n",
            dir.join("mine.toml").display()
        )),
        "{}",
        stderr(&o)
    );
    // On a model file the field is refused, located.
    let m = write(
        &dir,
        "model.toml",
        &format!(
            "model = \"{}\"\nno_default_dists = true\ndraws = 10\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
            std::fs::canonicalize("tests/data/council.toml")
                .unwrap()
                .display()
        ),
    );
    let o = run_expect(2, bin().arg("batch").arg(&m));
    let e = stderr(&o);
    assert!(
        e.contains("model.toml:2:20: `no_default_dists` = true"),
        "{e}"
    );
    assert!(
        e.contains("only the embedded model has default distributions"),
        "{e}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn defaults_prints_the_embedded_files_verbatim() {
    for (what, file) in [
        ("model", "distributions/ey2013.toml"),
        ("distributions", DEFAULTS),
        ("published", "distributions/ey2013_published.toml"),
    ] {
        let o = run_ok(bin().args(["defaults", what]));
        assert!(
            o.stdout == std::fs::read(file).unwrap(),
            "`defaults {what}` differs from {file}"
        );
    }
    let o = run_ok(bin().arg("defaults"));
    let list = String::from_utf8(o.stdout).unwrap();
    for f in [
        "ey2013.toml",
        "ey2013_default.toml",
        "ey2013_published.toml",
    ] {
        assert!(list.contains(f), "{list}");
    }
    let o = run_expect(2, bin().args(["defaults", "everything"]));
    assert!(
        stderr(&o).contains("invalid value 'everything'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn validate_recognises_models_distributions_manifests_and_published_figures_by_content() {
    let dir = temp_dir("validate-kinds");
    // Names that say nothing of the content.
    let model = write(
        &dir,
        "a.txt",
        &std::fs::read_to_string("tests/data/council.toml").unwrap(),
    );
    let dists = write(
        &dir,
        "b.txt",
        "[[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.03\nmax = 0.04\n",
    );
    let manifest = write(
        &dir,
        "c.txt",
        "dist = [\"b.txt\"]\ndraws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
    );
    let published = write(
        &dir,
        "d.txt",
        &std::fs::read_to_string("distributions/ey2013_published.toml").unwrap(),
    );
    let o = run_ok(
        bin()
            .arg("validate")
            .args([&model, &dists, &manifest, &published]),
    );
    let e = stderr(&o);
    // The distribution file is checked against the one model file among the files.
    let for_model = format!("ok, distribution file for {}: 1 input", model.display());
    for (f, what) in [
        (&model, "ok, model file: 1 theme, 2 partners"),
        (&dists, for_model.as_str()),
        (
            &manifest,
            "ok, batch manifest: 1 scenario, reference `a`, 100 draws",
        ),
        (&published, "ok, published-figures file: 5 themes"),
    ] {
        assert!(e.contains(&format!("{}: {what}", f.display())), "{e}");
    }

    // Mistakes, each located; the good files are still reported and the exit code is 2.
    let bad_dist = write(
        &dir,
        "e.txt",
        "[[input]]\npath = \"discount_rat\"\nkind = \"uniform\"\nmin = 0.03\nmax = 0.04\n",
    );
    let bad_manifest = write(
        &dir,
        "f.txt",
        "draws = 0\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
    );
    let bad_scenario = write(
        &dir,
        "g.txt",
        "draws = 10\nreference = \"a\"\n[[scenario]]\nname = \"a\"\ndist = [\"e.txt\"]\n",
    );
    let o = run_expect(
        2,
        bin()
            .arg("validate")
            .args([&model, &bad_dist, &bad_manifest, &bad_scenario]),
    );
    let e = stderr(&o);
    for want in [
        format!("{}: ok, model file", model.display()),
        format!(
            "{}:2:8: `input.path` = \"discount_rat\": names no parameter of the model",
            bad_dist.display()
        ),
        format!(
            "{}:1:9: `draws` = 0: must be at least 1",
            bad_manifest.display()
        ),
        // The scenario's file named by its path from here, not the manifest's folder.
        format!(
            "scenario `a`: {}:2:8: `input.path` = \"discount_rat\"",
            bad_dist.display()
        ),
        "error: 3 of 4 files rejected".to_string(),
    ] {
        assert!(e.contains(&want), "expected {want:?} in {e}");
    }

    // A distribution file is checked against --model when given: the embedded model's paths
    // are then unknown, the model file's accepted.
    let council = write(
        &dir,
        "h.txt",
        "[[input]]\npath = \"themes.families.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n",
    );
    let emb = write(
        &dir,
        "i.txt",
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"uniform\"\nmin = 0.5\nmax = 1.0\n",
    );
    let o = run_expect(
        2,
        bin()
            .args(["validate", "--model", "tests/data/council.toml"])
            .args([&council, &emb]),
    );
    let e = stderr(&o);
    assert!(
        e.contains(&format!(
            "{}: ok, distribution file for tests/data/council.toml: 1 input",
            council.display()
        )),
        "{e}"
    );
    assert!(
        e.contains(&format!(
            "{}:2:8: `input.path` = \"themes.work_skills.realisation\"",
            emb.display()
        )),
        "{e}"
    );

    // Two model files among the files: which one a distribution file describes is not guessed
    // (it used to be checked against the embedded model, whose paths the council's file lacks).
    let other = write(
        &dir,
        "j.txt",
        &std::fs::read_to_string("tests/data/council.toml").unwrap(),
    );
    let o = run_expect(2, bin().arg("validate").args([&model, &other, &council]));
    let e = stderr(&o);
    let want = format!(
        "{}: not checked: the files hold 2 model files ({}, {}); name the one it describes with `--model`",
        council.display(),
        model.display(),
        other.display()
    );
    assert!(e.contains(&want), "expected {want:?} in {e}");
    assert!(e.contains("error: 1 of 3 files rejected"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
