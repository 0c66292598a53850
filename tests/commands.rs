//! The subcommands the other modules do not run: `paths`, `calibrate` and `throughput`, each
//! with its output checked against what it must say.

use crate::oracles::fixture_files;
use crate::{bin, run_expect, run_ok, temp_dir, with_files};

#[test]
fn paths_lists_every_parameter_a_distribution_file_can_name_with_its_values() {
    let dir = temp_dir("paths");
    let (m, _) = fixture_files(&dir);
    let o = run_ok(bin().arg("paths").arg(&m));
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let paths: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    // The fixture's parameters (two themes stated at theme level, two partners).
    for p in [
        "discount_rate",
        "themes.t.gross_benefit",
        "themes.t.one_off_costs",
        "themes.t.realisation",
        "themes.t.delay_years",
        "themes.ind.gross_benefit",
    ] {
        assert!(paths.contains(&p), "{p} missing from {paths:?}");
    }
    assert!(
        !paths.iter().any(|p| p.contains("cohort")),
        "no per-member field"
    );
    // Each line shows the point value per scenario, as in the model file.
    let line = |p: &str| lines.iter().find(|l| l[0] == p).unwrap();
    assert_eq!(line("themes.t.gross_benefit")[2], "low = 0.5; base = 1.5");
    // An amount names its unit, the model's (the fixture is in £bn).
    assert_eq!(line("themes.t.gross_benefit")[1], "a number ≥ 0, in £bn");
    assert!(!paths.iter().any(|p| p.ends_with("_bn")), "{paths:?}");
    assert_eq!(
        line("themes.t.one_off_costs")[2],
        "low = 3 0 0; base = 2 0 0"
    );
    assert_eq!(line("discount_rate")[2], "low = 0; base = 0");
    // Every listed path is accepted by a distribution file: a run with a narrow distribution on
    // each one, at its base value, succeeds (whole yearly lists by their first year).
    for l in &lines {
        let base: f64 = l[2]
            .split("base = ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let path = if l[2].split("base = ").nth(1).unwrap().contains(' ') {
            format!("{}[0]", l[0])
        } else {
            l[0].to_string()
        };
        let (lo, hi) = if base > 0.0 {
            (base * 0.99, base)
        } else {
            (0.0, 0.01)
        };
        let d = dir.join("one.toml");
        std::fs::write(
            &d,
            format!(
                "[[input]]\npath = \"{path}\"\nkind = \"uniform\"\nmin = {lo:?}\nmax = {hi:?}\n"
            ),
        )
        .unwrap();
        let o = run_ok(with_files("run", &m, &d).args(["--draws", "50", "--format", "json"]));
        // The run drew that path, inside the range given.
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let inputs = v["inputs"].as_array().unwrap();
        assert_eq!(inputs.len(), 1, "{path}");
        assert_eq!(inputs[0]["path"], path.as_str());
        let mean = inputs[0]["mean"].as_f64().unwrap();
        assert!(
            lo <= mean && mean <= hi,
            "{path}: mean {mean} outside [{lo}, {hi}]"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn calibrate_prints_the_shipped_model_and_check_tells_a_difference() {
    // The shipped model is the calibration's output, byte for byte ...
    let shipped = std::fs::read_to_string("distributions/ey2013.toml").unwrap();
    let o = run_ok(bin().arg("calibrate"));
    assert!(String::from_utf8(o.stdout).unwrap() == shipped);
    let o = run_ok(bin().args(["calibrate", "--check"]));
    assert!(String::from_utf8_lossy(&o.stderr).contains("matches the calibration"));
    // ... and it reproduces the published headline: base total £20.6bn, prudent £9.4bn (§6.1).
    let dir = temp_dir("calibrate");
    let out = dir.join("cal.toml");
    run_ok(bin().args(["calibrate", "--out"]).arg(&out));
    assert!(std::fs::read_to_string(&out).unwrap() == shipped);
    let o = run_ok(bin().arg("evaluate").arg(&out).args(["--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (i, published) in [(0, 9.4), (1, 20.6)] {
        let npv = v[i]["total"]["npv"].as_f64().unwrap();
        assert!(
            (npv - published).abs() <= 0.05,
            "{}: {npv}",
            v[i]["scenario"]
        );
    }
    // Calibrating other published figures gives another model, which --check refuses (exit 1).
    let published = std::fs::read_to_string("distributions/ey2013_published.toml").unwrap();
    // Health and social care's base NPV, from which its gross benefit level is derived.
    let changed = published.replacen("base = \"12.0\"", "base = \"13.0\"", 1);
    assert_ne!(changed, published, "the figure is in the file");
    let p = dir.join("published.toml");
    std::fs::write(&p, &changed).unwrap();
    let o = run_ok(bin().args(["calibrate", "--published"]).arg(&p));
    assert!(String::from_utf8(o.stdout).unwrap() != shipped);
    let o = run_expect(
        1,
        bin().args(["calibrate", "--check", "--published"]).arg(&p),
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("differs from the calibration"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn throughput_reports_its_run_and_a_checksum_of_the_draws_it_made() {
    let dir = temp_dir("throughput");
    let (m, d) = fixture_files(&dir);
    let args = ["--draws", "5000", "--seed", "21", "--threads", "2"];
    let o = run_ok(
        with_files("throughput", &m, &d)
            .args(args)
            .args(["--sampler", "lhs"]),
    );
    let text = String::from_utf8(o.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0], "threads 2, 5000 draws, 1 input, sampler lhs",
        "{text}"
    );
    let num = |l: &str, i: usize| -> f64 {
        l.split_whitespace()
            .nth(i)
            .unwrap()
            .trim_matches(|c| c == '(' || c == ')' || c == 's')
            .parse()
            .unwrap()
    };
    // engine <rate> draws/s (<seconds> s): draws / rate is the time, which is printed to the
    // millisecond.
    for (l, name) in [(lines[1], "engine"), (lines[2], "rng")] {
        assert!(l.starts_with(name), "{l}");
        let off = if name == "rng" { 1 } else { 0 };
        let (rate, secs) = (num(l, 1 + off), num(l, 3 + off));
        assert!((5000.0 / rate - secs).abs() <= 0.5e-3 + 1e-9, "{l}");
    }
    // The ratio (printed to 0.01) is the engine's rate over the floor's.
    let engine = num(lines[1], 1);
    let floor = num(lines[2], 2);
    assert!(lines[3].starts_with("ratio"));
    assert!((num(lines[3], 1) - engine / floor).abs() <= 0.005 + 1e-6 * engine / floor);
    // Memory per kept draw, from its definition: 8 bytes per outcome column (3 measures × 3
    // entities + 2 partners), 2 bytes per entity, 8 per input: 88 + 6 + 8.
    assert_eq!(lines[4], "memory     102 bytes per kept draw");
    // The checksum adds, three times each, the first outcome of draw 0 (theme t's NPV) and the
    // sum of every draw's input: the same draws as `run` with the same options.
    let out = dir.join("kept");
    run_ok(
        with_files("run", &m, &d)
            .args(args)
            .args(["--sampler", "lhs", "--keep-draws", "--out"])
            .arg(&out),
    );
    // The floor's stages per draw, each printed to the nanosecond: timings, so only their form
    // and the first stage's positive time are checked here (what each stage generates is
    // checked in `engine::the_floor_stages_*`).
    let parts: Vec<f64> = lines[5]
        .split(',')
        .map(|p| {
            let w: Vec<&str> = p.split_whitespace().collect();
            let i = w.iter().position(|x| *x == "ns").unwrap();
            w[i - 1].parse().unwrap()
        })
        .collect();
    assert!(lines[5].starts_with("per draw   uniforms "), "{text}");
    assert_eq!(parts.len(), 4, "{text}");
    assert!(parts[0] > 0.0, "{text}");
    let kept = crate::oracles::Kept::read(&out.join("draws.csv"));
    let g: f64 = kept.col("input:themes.t.gross_benefit_bn").iter().sum();
    let npv0 = kept.col("t.npv")[0];
    let want = 3.0 * npv0 + 3.0 * g;
    let got: f64 = lines[6]
        .trim_start_matches("(checksum ")
        .trim_end_matches(')')
        .parse()
        .unwrap();
    assert!((got - want).abs() < 1e-9 * want.abs(), "{got} vs {want}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn paths_without_a_model_lists_the_embedded_models_parameters() {
    // The embedded model is the shipped file: the same list as `paths` given that file.
    let o = run_ok(bin().arg("paths"));
    let text = String::from_utf8(o.stdout).unwrap();
    let shipped = run_ok(bin().args(["paths", "distributions/ey2013.toml"]));
    assert_eq!(text, String::from_utf8(shipped.stdout).unwrap());
    // Work and skills' realisation, with the point values the shipped file gives it.
    let file = std::fs::read_to_string("distributions/ey2013.toml").unwrap();
    let theme = file.split("id = \"work_skills\"").nth(1).unwrap();
    let spec = theme
        .lines()
        .find_map(|l| l.strip_prefix("realisation = { prudent = "))
        .unwrap();
    let prudent = spec.split(',').next().unwrap().trim();
    let line = text
        .lines()
        .find(|l| l.starts_with("themes.work_skills.realisation\t"))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line,
        format!("themes.work_skills.realisation\ta share in [0, 1]\tprudent = {prudent}; base = 1")
    );
}
