use std::fs;

use crate::{bin, run_expect, run_ok};

#[test]
fn every_bad_example_gives_its_expected_message_and_exit_code_2() {
    let mut dir: Vec<_> = fs::read_dir("tests/bad")
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    dir.sort();
    assert!(
        dir.len() >= 17,
        "expected one example per kind of mistake, found {}",
        dir.len()
    );
    for path in dir {
        let expected = fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|_| panic!("{} has no .expected file", path.display()));
        let out = bin().arg("validate").arg(&path).output().unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
        assert!(!stderr.contains("panicked"), "{}: {stderr}", path.display());
        let first = stderr.lines().next().unwrap_or("");
        assert_eq!(
            first,
            format!("error: {}", expected.trim_end()),
            "{}",
            path.display()
        );
        assert!(out.stdout.is_empty(), "data on stdout for a bad file");
    }
}

#[test]
fn the_valid_example_and_the_embedded_model_validate() {
    let o = run_ok(bin().args([
        "validate",
        "tests/data/council.toml",
        "distributions/ey2013.toml",
    ]));
    // One line per file, saying what it holds (the files' own counts).
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "tests/data/council.toml: ok, model file: 1 theme, 2 partners, scenarios [\"low\", \"central\"]",
            "distributions/ey2013.toml: ok, model file: 5 themes, 7 partners, scenarios [\"prudent\", \"base\"]",
        ],
        "{err}"
    );
}

#[test]
fn a_missing_file_is_bad_input_naming_the_path() {
    let out = run_expect(2, bin().args(["evaluate", "no/such/model.toml"]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no/such/model.toml"));
}
