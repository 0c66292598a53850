use crate::{bin, run_expect, run_ok, temp_dir};

/// The reference triplet P10/P50/P90 = 80/100/130: the metalog through it ranks first, and the
/// printed entry is a valid distribution-file input that a run accepts.
#[test]
fn fit_ranks_the_exact_metalog_first_and_prints_a_valid_entry() {
    let out = run_ok(bin().args([
        "fit",
        "--quantiles",
        "0.1:0.8,0.5:1,0.9:1.3",
        "--lower",
        "0",
        "--path",
        "themes.families.delay_years",
    ]));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().find(|l| l.starts_with("# 1 ")).unwrap();
    assert!(first.contains("metalog"), "{text}");
    for kind in ["lognormal", "gamma"] {
        assert!(text.contains(kind), "{kind} not fitted: {text}");
    }
    assert!(text.contains("not offered: normal"), "{text}");
    assert!(text.contains("kind = \"metalog\"\nprobabilities = [0.1, 0.5, 0.9]"));
    let dir = temp_dir("fit");
    let file = dir.join("fitted.toml");
    std::fs::write(&file, &text).unwrap();
    // The run draws the input through the expert's quantiles: the share of draws at or below
    // each is its probability, within four binomial standard errors.
    draws_meet_quantiles(&dir, &file, 3, &[(0.1, 0.8), (0.5, 1.0), (0.9, 1.3)]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_quantile_sets_exit_2_with_a_clear_message() {
    for (q, extra, needle) in [
        ("0.5:100,0.9:130", vec![], "at least 3"),
        (
            "0.1:80,0.5:70,0.9:130",
            vec![],
            "pair 2 `0.5:70`: values must be strictly increasing",
        ),
        (
            "0.1:80,0.5:100,1:130",
            vec![],
            "pair 3 `1:130`: probability 1 must lie in (0, 1)",
        ),
        (
            "0.1:80,0.5:100,0.9:130",
            vec!["--upper", "120"],
            "value must be < --upper = 120",
        ),
        (
            "0.1:80;0.5:100",
            vec![],
            "pair 1 `0.1:80;0.5:100`: the value must be a number",
        ),
    ] {
        let out = run_expect(
            2,
            bin()
                .args(["fit", "--path", "x", "--quantiles", q])
                .args(extra),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{q}: {err}");
        assert!(out.stdout.is_empty());
    }
}

/// A distribution-file metalog fitted to observations: rmetalog's fish-size data
/// (tests/data/fishsize/), 9 terms on (0, 60). The run draws it with rmetalog's published
/// quartiles 7.241 / 9.840 / 12.063: the share of draws at or below each is its probability,
/// within four binomial standard errors.
#[test]
fn a_metalog_fitted_to_csv_observations_is_drawn_with_rmetalogs_quartiles() {
    let dir = temp_dir("fit-data");
    let csv = std::fs::canonicalize("tests/data/fishsize/fishsize.csv").unwrap();
    let entry = |extra: &str| {
        format!(
            "[[input]]\npath = \"themes.families.delay_years\"\nkind = \"metalog\"\n\
             csv = {:?}\ncolumn = \"FishSize\"\nmin = 0.0\nmax = 60.0\n{extra}",
            csv.display().to_string()
        )
    };
    let file = dir.join("fish.toml");
    std::fs::write(&file, entry("terms = 9\n")).unwrap();
    draws_meet_quantiles(
        &dir,
        &file,
        5,
        &[(0.25, 7.241), (0.5, 9.840), (0.75, 12.063)],
    );
    // Bad entries: no `terms`; both observations and quantile pairs; an observation on a bound.
    let bad_csv = dir.join("bad.csv");
    std::fs::write(&bad_csv, "w\n3\n5\n0\n7\n").unwrap();
    for (text, needle) in [
        (entry(""), "needs `terms`"),
        (
            entry("terms = 3\nprobabilities = [0.1, 0.5, 0.9]\nquantiles = [1.0, 2.0, 3.0]\n"),
            "not both",
        ),
        (
            "[[input]]\npath = \"themes.families.delay_years\"\nkind = \"metalog\"\n\
             csv = \"bad.csv\"\ncolumn = \"w\"\nterms = 3\nmin = 0.0\nmax = 60.0\n"
                .to_string(),
            "observation 3 is 0: observations must be strictly between the bounds 0 and 60",
        ),
    ] {
        std::fs::write(&file, &text).unwrap();
        let out = run_expect(
            2,
            bin()
                .arg("validate")
                .arg(&file)
                .args(["--model", "tests/data/council.toml"]),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("fish.toml:"), "{err}");
        assert!(err.contains(needle), "{text}\n{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Run the example council with the distribution file `file` on its families delay (20,000 draws,
/// kept) and check the share of draws at or below each quantile `q` is its probability `p`,
/// within four binomial standard errors.
fn draws_meet_quantiles(
    dir: &std::path::Path,
    file: &std::path::Path,
    seed: u64,
    pairs: &[(f64, f64)],
) {
    let n = 20_000;
    run_ok(
        bin()
            .args(["run", "tests/data/council.toml", "--draws", &n.to_string()])
            .args(["--seed", &seed.to_string(), "--keep-draws", "--dist"])
            .arg(file)
            .arg("--out")
            .arg(dir.join("out")),
    );
    let kept = crate::oracles::Kept::read(&dir.join("out/draws.csv"));
    let x = kept.col("input:themes.families.delay_years");
    assert_eq!(x.len(), n);
    for &(p, q) in pairs {
        let share = x.iter().filter(|v| **v <= q).count() as f64 / n as f64;
        let se = crate::oracles::binomial_se(p, n as f64);
        assert!((share - p).abs() < 4.0 * se, "P({q}) = {share} vs {p}");
    }
}
