use crate::{bin, temp_dir};

fn without_timing(text: &str) -> &str {
    &text[..text
        .find(",\n  \"timing\"")
        .expect("timing is the last field")]
}

#[test]
fn a_batch_shares_random_numbers_so_differences_are_precise_and_the_reference_is_a_plain_run() {
    let dir = temp_dir("batch");
    let manifest = dir.join("batch.toml");
    std::fs::write(
        &manifest,
        "draws = 20000\nreference = \"default\"\n\n[[scenario]]\nname = \"default\"\n\n[[scenario]]\nname = \"rate5\"\nset = { \"discount_rate\" = 0.05 }\n\n[grid]\n\"themes.work_skills.delay_years\" = [0.0, 1.0]\n",
    )
    .unwrap();
    let out = dir.join("out");
    let o = bin()
        .arg("batch")
        .arg(&manifest)
        .arg("--out")
        .arg(&out)
        .args(["--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let csv = String::from_utf8(o.stdout).unwrap();
    let rows: Vec<Vec<&str>> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(
        rows.len(),
        4 * 4,
        "four scenarios × (three headline themes + total)"
    );
    let f = |r: &Vec<&str>, i: usize| r[i].parse::<f64>().unwrap();
    for r in &rows {
        if r[0] == "default" {
            assert_eq!(
                (f(r, 8), f(r, 9)),
                (0.0, 0.0),
                "the reference differs from itself by exactly 0"
            );
        }
        if r[0] == "rate5" {
            // A higher discount rate lowers every positive NPV; common random numbers make the
            // difference's standard error far smaller than independent runs' would be.
            assert!(f(r, 8) < 0.0, "{r:?}");
            assert!(f(r, 9) * 10.0 < f(r, 10), "{r:?}");
        }
        if r[0].starts_with("grid.") && r[1] == "health_social_care" {
            assert_eq!(
                f(r, 8),
                0.0,
                "fixing work and skills' delay leaves health and social care's draws unchanged"
            );
        }
    }
    // The reference scenario's summary is exactly a plain run's.
    let plain = dir.join("plain");
    let o = bin()
        .args(["run", "--draws", "20000", "--out"])
        .arg(&plain)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let a = std::fs::read_to_string(out.join("default/summary.json")).unwrap();
    let b = std::fs::read_to_string(plain.join("summary.json")).unwrap();
    assert!(without_timing(&a) == without_timing(&b));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_batch_manifests_exit_2_naming_the_problem() {
    let dir = temp_dir("batch-bad");
    for (body, needle) in [
        (
            "draws = 100\nreference = \"x\"\n[[scenario]]\nname = \"a\"\n",
            "`reference` = \"x\": must name one of the scenarios",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "scenario names must be unique",
        ),
        (
            "draws = 0\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "`draws` = 0",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\nset = { \"themes.work_skills.realisaton\" = 0.5 }\n",
            "did you mean `themes.work_skills.realisation`",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\nset = { \"themes.work_skills.realisation\" = 1.5 }\n",
            "must stay inside that range",
        ),
        (
            "draws = 100\nreference = \"a\"\nsampler = \"halton\"\n[[scenario]]\nname = \"a\"\n",
            "`sampler`",
        ),
        ("drawz = 100\n", "unknown field `drawz`"),
    ] {
        let m = dir.join("m.toml");
        std::fs::write(&m, body).unwrap();
        let o = bin().arg("batch").arg(&m).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{body}: {err}");
        assert!(err.contains(needle), "{needle:?} not in {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
