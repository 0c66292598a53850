use std::path::{Path, PathBuf};

use crate::oracles::Kept;
use crate::{bin, run_ok, temp_dir, without_timing};

/// Four scenarios: the reference, a discount rate, and a two-point grid over a delay.
/// A batch of the default model: a reference, a changed discount rate and a two-point grid.
pub const MANIFEST: &str = "draws = 20000\nreference = \"default\"\n\n[[scenario]]\nname = \"default\"\n\n[[scenario]]\nname = \"rate5\"\nset = { \"discount_rate\" = 0.05 }\n\n[grid]\n\"themes.work_skills.delay_years\" = [0.0, 1.0]\n";

/// The scenario folders of a batch output.
const SCENARIOS: [&str; 4] = [
    "default",
    "rate5",
    "grid.delay_years=0",
    "grid.delay_years=1",
];

/// Run `npvrisk` with `args`, expecting success; its stdout.
fn ok(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let o = bin().args(args).output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Run `npvrisk` with `args`, expecting exit code 2; its stderr.
fn fails(args: &[&std::ffi::OsStr]) -> String {
    let o = bin().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    err
}

fn os<S: AsRef<std::ffi::OsStr> + ?Sized>(s: &S) -> &std::ffi::OsStr {
    s.as_ref()
}

#[test]
fn a_batch_split_over_shards_and_merged_gives_the_bytes_of_one_process() {
    let dir = temp_dir("batch-shards");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let single = dir.join("single");
    let csv = ok(&[
        os("batch"),
        os(&manifest),
        os("--out"),
        os(&single),
        os("--format"),
        os("csv"),
    ]);
    for (n, order) in [
        (2, vec![1, 0]),
        (3, vec![2, 0, 1]),
        (5, vec![4, 2, 0, 3, 1]),
    ] {
        let parts = dir.join(format!("parts{n}"));
        for k in order {
            ok(&[
                os("batch"),
                os(&manifest),
                os("--shard"),
                os(&format!("{k}/{n}")),
                os("--out"),
                os(&parts),
            ]);
        }
        let merged = dir.join(format!("merged{n}"));
        let merged_csv = ok(&[
            os("batch"),
            os(&manifest),
            os("--merge"),
            os(&parts),
            os("--out"),
            os(&merged),
            os("--format"),
            os("csv"),
        ]);
        assert!(merged_csv == csv, "{n} shards: printed comparison differs");
        for f in ["comparison.csv", "s_curves.csv", "batch.html"] {
            assert!(
                std::fs::read(merged.join(f)).unwrap() == std::fs::read(single.join(f)).unwrap(),
                "{n} shards: {f} differs"
            );
        }
        for s in SCENARIOS {
            let a = std::fs::read_to_string(single.join(s).join("summary.json")).unwrap();
            let b = std::fs::read_to_string(merged.join(s).join("summary.json")).unwrap();
            assert!(
                without_timing(&a) == without_timing(&b),
                "{n} shards: {s}/summary.json differs"
            );
        }
    }
    // Slurm's array variables choose the shard when --shard is not given.
    let env_parts = dir.join("env");
    run_ok(
        bin()
            .arg("batch")
            .arg(&manifest)
            .arg("--out")
            .arg(&env_parts)
            .env("SLURM_ARRAY_TASK_ID", "1")
            .env("SLURM_ARRAY_TASK_COUNT", "2"),
    );
    let made = std::fs::read_to_string(env_parts.join("batch-shard-00001-of-00002.json")).unwrap();
    assert!(
        made.contains("\"shard\":1,\"shards\":2,"),
        "{}",
        &made[..200]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_batch_shards_exit_2_naming_the_file_and_the_mismatch_and_damage_nothing() {
    let dir = temp_dir("batch-shards-bad");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, MANIFEST.replace("20000", "3000")).unwrap();
    let parts = dir.join("parts");
    for k in 0..3 {
        ok(&[
            os("batch"),
            os(&manifest),
            os("--shard"),
            os(&format!("{k}/3")),
            os("--out"),
            os(&parts),
        ]);
    }
    let out = dir.join("out");
    ok(&[
        os("batch"),
        os(&manifest),
        os("--merge"),
        os(&parts),
        os("--out"),
        os(&out),
    ]);
    let before = std::fs::read(out.join("comparison.csv")).unwrap();
    let name = |k: usize| format!("batch-shard-{k:05}-of-00003.json");
    // A folder holding a copy of the shards, changed by `edit`.
    let case = |tag: &str, edit: &dyn Fn(&Path)| -> PathBuf {
        let d = dir.join(tag);
        std::fs::create_dir_all(&d).unwrap();
        for k in 0..3 {
            std::fs::copy(parts.join(name(k)), d.join(name(k))).unwrap();
        }
        edit(&d);
        d
    };
    let flip = |d: &Path| {
        let p = d.join(name(2));
        let mut b = std::fs::read(&p).unwrap();
        let at = b.len() / 2;
        b[at] = if b[at] == b'1' { b'2' } else { b'1' };
        std::fs::write(&p, b).unwrap();
    };
    let truncate = |d: &Path| {
        let p = d.join(name(1));
        let b = std::fs::read(&p).unwrap();
        std::fs::write(&p, &b[..b.len() - 100]).unwrap();
    };
    let drop_one = |d: &Path| std::fs::remove_file(d.join(name(1))).unwrap();
    let twice = |d: &Path| {
        std::fs::copy(d.join(name(0)), d.join("batch-shard-copy.json")).unwrap();
    };
    let other_split = |d: &Path| {
        std::fs::remove_file(d.join(name(2))).unwrap();
        ok(&[
            os("batch"),
            os(&manifest),
            os("--shard"),
            os("1/2"),
            os("--out"),
            os(d),
        ]);
    };
    let empty = |d: &Path| {
        for k in 0..3 {
            std::fs::remove_file(d.join(name(k))).unwrap();
        }
    };
    // Contents changed and the checksum made again over them, as a crafted file would be.
    let reseal = |d: &Path, change: &dyn Fn(&mut serde_json::Value)| {
        let p = d.join(name(0));
        let text = std::fs::read_to_string(&p).unwrap();
        let (_, json) = text.split_once('\n').unwrap();
        let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
        change(&mut v);
        let json = serde_json::to_string(&v).unwrap();
        let sum = npvrisk::summary::sha256_hex(json.as_bytes());
        std::fs::write(&p, format!("npvrisk-batch-shard sha256={sum}\n{json}")).unwrap();
    };
    let infinite_curve = |d: &Path| {
        reseal(d, &|v| {
            v["done"][0]["curve"][3] = f64::INFINITY.to_bits().into();
        })
    };
    let short_curve = |d: &Path| {
        reseal(d, &|v| {
            v["done"][0]["curve"].as_array_mut().unwrap().truncate(3);
        })
    };
    let no_summary = |d: &Path| reseal(d, &|v| v["done"][0]["summary_json"] = "{}".into());
    let resealed = |what: &str| {
        format!(
            "{}` is not a readable batch shard (scenario `{}`'s {what}",
            name(0),
            SCENARIOS[0]
        )
    };
    type Edit<'a> = &'a dyn Fn(&Path);
    let cases: [(&str, Edit, String); 9] = [
        ("curve", &infinite_curve, resealed("S-curve")),
        ("short", &short_curve, resealed("S-curve")),
        (
            "summary",
            &no_summary,
            resealed("summary is not a run summary"),
        ),
        (
            "flip",
            &flip,
            format!(
                "{}` is not a readable batch shard (checksum mismatch",
                name(2)
            ),
        ),
        (
            "truncate",
            &truncate,
            format!(
                "{}` is not a readable batch shard (checksum mismatch",
                name(1)
            ),
        ),
        (
            "missing",
            &drop_one,
            "batch shards 1 of 3 are missing".into(),
        ),
        (
            "twice",
            &twice,
            "the same batch shard is in more than one file".into(),
        ),
        ("split", &other_split, "come from different splits".into()),
        ("empty", &empty, "holds no batch shard files".into()),
    ];
    for (tag, edit, needle) in cases {
        let d = case(tag, edit);
        let err = fails(&[
            os("batch"),
            os(&manifest),
            os("--merge"),
            os(&d),
            os("--out"),
            os(&out),
        ]);
        assert!(err.contains(&needle), "{tag}: {needle:?} not in {err}");
    }
    // Shards of a different batch: the manifest has changed since.
    let changed = dir.join("changed.toml");
    std::fs::write(&changed, MANIFEST.replace("20000", "4000")).unwrap();
    let err = fails(&[
        os("batch"),
        os(&changed),
        os("--merge"),
        os(&parts),
        os("--out"),
        os(&out),
    ]);
    assert!(err.contains("comes from a different batch"), "{err}");
    assert!(err.contains("batch-shard-00000-of-00003.json"), "{err}");
    // Bad shard specifications.
    for (spec, needle) in [
        ("0/0", "must be K/N"),
        ("3/3", "must be K/N"),
        ("x", "must be K/N"),
    ] {
        let err = fails(&[
            os("batch"),
            os(&manifest),
            os("--shard"),
            os(spec),
            os("--out"),
            os(&parts),
        ]);
        assert!(err.contains(needle), "{spec}: {err}");
    }
    let err = fails(&[os("batch"), os(&manifest), os("--shard"), os("0/2")]);
    assert!(err.contains("give `--out DIR`"), "{err}");
    // Nothing already written was damaged by the failed merges.
    assert!(std::fs::read(out.join("comparison.csv")).unwrap() == before);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_batch_shares_random_numbers_so_differences_are_precise_and_the_reference_is_a_plain_run() {
    let dir = temp_dir("batch");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let out = dir.join("out");
    let o = run_ok(
        bin()
            .arg("batch")
            .arg(&manifest)
            .arg("--out")
            .arg(&out)
            .args(["--format", "csv"]),
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
    let reference = |entity: &str| {
        rows.iter()
            .find(|r| r[0] == "default" && r[1] == entity)
            .unwrap()
    };
    for r in &rows {
        // Each difference is the difference of the two means in the table (the mean of the
        // paired differences is the difference of the means, up to rounding), and the error if
        // the runs were independent is √(se² + se_ref²) from the table's own columns.
        let rf = reference(r[1]);
        let scale = f(r, 2).abs().max(f(rf, 2).abs()).max(1.0);
        assert!(
            (f(r, 8) - (f(r, 2) - f(rf, 2))).abs() <= 1e-12 * scale,
            "{r:?}"
        );
        let indep = (f(r, 3).powi(2) + f(rf, 3).powi(2)).sqrt();
        assert!((f(r, 10) - indep).abs() <= 1e-12 * indep, "{r:?}");
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
    run_ok(
        bin()
            .args(["run", "--draws", "20000", "--keep-draws", "--out"])
            .arg(&plain),
    );
    let a = std::fs::read_to_string(out.join("default/summary.json")).unwrap();
    let b = std::fs::read_to_string(plain.join("summary.json")).unwrap();
    assert!(without_timing(&a) == without_timing(&b));
    // The paired differences, from the kept draws of two separate runs: the reference, and the
    // model with the 5% rate written into its file (what `set` does), on the same seed.
    let model = dir.join("rate5.toml");
    let text = npvrisk::embedded::EY2013_MODEL;
    let line = "\ndiscount_rate = 0.035 ";
    assert_eq!(text.matches(line).count(), 1, "the model's one rate line");
    std::fs::write(&model, text.replace(line, "\ndiscount_rate = 0.05 ")).unwrap();
    let dists = dir.join("defaults.toml");
    std::fs::write(&dists, crate::DEFAULT_DISTS).unwrap();
    let rate5 = dir.join("rate5");
    run_ok(
        crate::with_files("run", &model, &dists)
            .args(["--draws", "20000", "--keep-draws", "-q", "--out"])
            .arg(&rate5),
    );
    let (k0, k5) = (
        Kept::read(&plain.join("draws.csv")),
        Kept::read(&rate5.join("draws.csv")),
    );
    assert_eq!(k0.names, k5.names);
    let mut inputs = 0;
    for name in k0.names.iter().filter(|n| n.starts_with("input:")) {
        assert!(k0.col(name) == k5.col(name), "{name}: not common draws");
        inputs += 1;
    }
    assert!(inputs > 10, "{inputs} input columns");
    for r in rows.iter().filter(|r| r[0] == "rate5") {
        assert_eq!(r[11], "£bn", "{r:?}");
        let col = format!("{}.npv", r[1]);
        let d: Vec<f64> = k5
            .col(&col)
            .iter()
            .zip(k0.col(&col))
            .map(|(a, b)| a - b)
            .collect();
        let n = d.len() as f64;
        assert_eq!(n, 20000.0);
        let mean = d.iter().sum::<f64>() / n;
        let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        // The program sums over a tree of blocks, this test left to right: each sum of n terms
        // is within n·ε·(largest term) of the exact one, so the means differ by at most
        // 2n·ε·max|d| and the variances by 2n·ε·(2 max|d|)², the sds by that over sd (about
        // 1e-9 relative here). That is far below what a wrong formula changes: n − 1 for n in
        // the sd moves the standard error by 2.5e-5 relative, n for √n by a factor 141.
        let big = d.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let tol_mean = 2.0 * n * f64::EPSILON * big;
        assert!(
            (f(r, 8) - mean).abs() <= tol_mean,
            "{r:?}: mean of differences {mean}"
        );
        let tol_sd = 2.0 * n * f64::EPSILON * (2.0 * big).powi(2) / sd;
        let se = sd / n.sqrt();
        assert!(
            (f(r, 9) - se).abs() <= tol_sd / n.sqrt(),
            "{r:?}: sd(differences)/√n = {se}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_standard_error_of_a_batch_difference_is_the_spread_of_the_difference_over_seeds() {
    // R batches of one changed scenario, each on its own seed: the reported differences vary
    // from seed to seed as the reported standard error says. With σ² the true variance of a
    // difference, (R − 1)·s²/σ² of the R differences is χ²(R − 1) (a mean of 2000 paired
    // differences is normal to a good approximation); σ² is taken as the mean of the R reported
    // se², whose own relative error (the sample sd of 2000 differences, ~1/√(2·2000) each,
    // averaged) is allowed for by 4 of its standard errors from the replicates' spread. The
    // bounds split a 10⁻³ chance of a false alarm over the entities and both sides.
    const R: usize = 30;
    let dir = temp_dir("batch-replicates");
    let manifest = dir.join("batch.toml");
    let mut diffs: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    for seed in 1..=R {
        std::fs::write(
            &manifest,
            format!(
                "draws = 2000\nseed = {seed}\nreference = \"default\"\n\n[[scenario]]\nname = \"default\"\n\n\
                 [[scenario]]\nname = \"rate5\"\nset = {{ \"discount_rate\" = 0.05 }}\n"
            ),
        )
        .unwrap();
        let csv = String::from_utf8(ok(&[
            os("batch"),
            os(&manifest),
            os("--format"),
            os("csv"),
            os("-q"),
        ]))
        .unwrap();
        for l in csv.lines().filter(|l| l.starts_with("rate5,")) {
            let c: Vec<&str> = l.split(',').collect();
            diffs
                .entry(c[1].to_string())
                .or_default()
                .push((c[8].parse().unwrap(), c[9].parse().unwrap()));
        }
    }
    assert_eq!(diffs.len(), 4, "three headline themes and the total");
    let alpha = 1e-3 / (2.0 * diffs.len() as f64);
    for (entity, v) in &diffs {
        assert_eq!(v.len(), R);
        let (ratio, lo, hi) = crate::variance_ratio(v, alpha);
        assert!(
            lo <= ratio && ratio <= hi,
            "{entity}: variance of the differences over seeds / mean reported se² = {ratio}, \
             allowed [{lo}, {hi}]"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_batch_manifests_exit_2_naming_the_problem() {
    // Each message names the file, line and column of the value at fault (`m.toml:L:C`).
    let dir = temp_dir("batch-bad");
    for (body, needle) in [
        (
            "draws = 100\nreference = \"x\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:2:13: `reference` = \"x\": must name one of the scenarios",
        ),
        (
            // The second of two equal names is the one at fault.
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:6:8: `scenario.name` = \"a\": scenario names must be unique",
        ),
        (
            // A comment mentioning the key does not mislead the location.
            "# draws: how many\ndraws = 0\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:2:9: `draws` = 0",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\nset = { \"themes.work_skills.realisaton\" = 0.5 }\n",
            "m.toml:7:9: `scenario.set` = \"themes.work_skills.realisaton\": names no parameter of the model (did you mean `themes.work_skills.realisation`?)",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\nset = { \"themes.work_skills.realisation\" = 1.5 }\n",
            "m.toml:5:44: `scenario.set.themes.work_skills.realisation` = 1.5: the parameter is a share in [0, 1]",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[grid]\n\"discount_rate\" = [0.03, -2]\n",
            // Located at the value, not the list.
            "m.toml:6:26: `grid.discount_rate` = -2",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[grid]\n\"discount_rate\" = []\n",
            "m.toml:6:19: `grid.discount_rate` = []: must list at least one value",
        ),
        (
            "draws = 100\nreference = \"a\"\nsampler = \"halton\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:3:11: `sampler` = \"halton\"",
        ),
        ("drawz = 100\n", "unknown field `drawz`"),
        // A file the manifest names and that cannot be read: located at its name.
        (
            "model = \"nope.toml\"\ndraws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:1:9: `model` = \"nope.toml\": cannot read",
        ),
        (
            "dist = [\"nope.toml\"]\ndraws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n",
            "m.toml:1:9: `dist` = \"nope.toml\": cannot read",
        ),
        (
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\ndist = [\"nope.toml\"]\n",
            "m.toml:5:9: `scenario.dist` = \"nope.toml\": cannot read",
        ),
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

/// A fixed value's warning points at the manifest's line and field, not at the distribution file
/// the batch writes for the scenario's fixed values: the second of two `set` values (the file
/// lists them in path order) and a grid value at its place in its list, once, however many
/// combinations of the other axis take it. Extreme values are shown in exponent form, as given.
#[test]
fn a_fixed_values_warning_points_at_the_manifest() {
    let dir = temp_dir("batch-set-warning");
    let m = dir.join("m.toml");
    std::fs::write(
        &m,
        concat!(
            "draws = 100\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\n",
            "set = { \"themes.work_skills.gross_benefit_bn\" = 1977.0, \"discount_rate\" = 0.03 }\n",
            "[grid]\n",
            "\"discount_rate\" = [0.03, 5e20]\n",
            "\"themes.work_skills.realisation\" = [0.5, 0.6, 0.7]\n",
        ),
    )
    .unwrap();
    let o = run_ok(bin().arg("validate").arg(&m));
    let err = String::from_utf8_lossy(&o.stderr);
    let name = m.display();
    for want in [
        format!(
            "{name}:7:49: `scenario.set.themes.work_skills.gross_benefit_bn` = 1977: the distribution's median is 1000×"
        ),
        format!("{name}:9:26: `grid.discount_rate` = 5e20: the distribution's median is 1.429e22×"),
    ] {
        assert_eq!(err.matches(&want).count(), 1, "{want:?} once in {err}");
    }
    assert!(
        !err.contains("#b.set") && !err.contains("input.value"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_batch_s_curves_pass_through_each_scenarios_reported_percentiles() {
    let dir = temp_dir("batch-curves");
    let manifest = dir.join("batch.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let out = dir.join("out");
    ok(&[os("batch"), os(&manifest), os("--out"), os(&out)]);
    let curves = std::fs::read_to_string(out.join("s_curves.csv")).unwrap();
    let mut lines = curves.lines();
    assert_eq!(lines.next(), Some("scenario,p,total_npv,money_unit"));
    let points: Vec<(String, f64, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 4, "{l}");
            // The embedded model's totals are billions.
            assert_eq!(f[3], "£bn", "{l}");
            (
                f[0].to_string(),
                f[1].parse().unwrap(),
                f[2].parse().unwrap(),
            )
        })
        .collect();
    assert_eq!(points.len(), SCENARIOS.len() * 199);
    for s in SCENARIOS {
        let curve: Vec<(f64, f64)> = points
            .iter()
            .filter(|(n, _, _)| n == s)
            .map(|(_, p, v)| (*p, *v))
            .collect();
        assert_eq!(curve.len(), 199, "{s}");
        assert!(
            curve
                .windows(2)
                .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
            "{s}: the S-curve rises"
        );
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(s).join("summary.json")).unwrap(),
        )
        .unwrap();
        let total = summary["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == "total")
            .expect("a total");
        let reported = total["npv"]["percentiles"].as_array().unwrap();
        assert!(reported.len() >= 5);
        for r in reported {
            let (p, v) = (r["p"].as_f64().unwrap(), r["value"].as_f64().unwrap());
            let on = curve.iter().find(|(q, _)| *q == p);
            let (_, c) = on.unwrap_or_else(|| panic!("{s}: P{p} is not on the curve"));
            assert_eq!(
                c.to_bits(),
                v.to_bits(),
                "{s}: P{p} is {v}, the curve has {c}"
            );
        }
    }
    // The page holds both charts, each scenario named on the S-curves, and the self-check.
    let page = std::fs::read_to_string(out.join("batch.html")).unwrap();
    assert!(
        page.contains("<figure id=\"s_curves\">") && page.contains("<figure id=\"differences\">")
    );
    for s in SCENARIOS {
        assert!(page.contains(&format!(">{s}")), "{s} not on the page");
    }
    assert!(page.contains("npvrisk-report-check"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A distribution file a manifest names is read from the manifest's folder, and so is a CSV it
/// names from its own: the batch runs the same from any working folder.
#[test]
fn a_batch_finds_its_files_relative_to_the_manifest_from_any_folder() {
    let dir = temp_dir("batch-relative");
    let case = dir.join("case");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(case.join("v.csv"), "x\n0.5\n0.6\n0.7\n").unwrap();
    std::fs::write(
        case.join("d.toml"),
        "[[input]]\npath = \"themes.work_skills.realisation\"\nkind = \"empirical\"\ncsv = \"v.csv\"\ncolumn = \"x\"\n",
    )
    .unwrap();
    std::fs::write(
        case.join("b.toml"),
        "dist = [\"d.toml\"]\ndraws = 300\nreference = \"a\"\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\nset = { \"themes.work_skills.delay_years\" = 1 }\n",
    )
    .unwrap();
    let csv = |cwd: &Path, manifest: &Path, out: &Path| {
        run_ok(
            bin()
                .current_dir(cwd)
                .arg("batch")
                .arg(manifest)
                .arg("--out")
                .arg(out),
        );
        std::fs::read(out.join("comparison.csv")).unwrap()
    };
    let inside = csv(&case, Path::new("b.toml"), &dir.join("o1"));
    let outside = csv(&dir, Path::new("case/b.toml"), &dir.join("o2"));
    assert_eq!(inside, outside);
    // Shards made from either folder are of one batch: they merge into the same comparison.
    let parts = dir.join("parts");
    for (k, cwd, manifest) in [(0, &case, "b.toml"), (1, &dir, "case/b.toml")] {
        run_ok(
            bin()
                .current_dir(cwd)
                .args(["batch", manifest, "--shard", &format!("{k}/2"), "--out"])
                .arg(&parts),
        );
    }
    run_ok(
        bin()
            .current_dir(&dir)
            .args(["batch", "case/b.toml", "--merge"])
            .arg(&parts)
            .arg("--out")
            .arg(dir.join("o3")),
    );
    assert_eq!(
        std::fs::read(dir.join("o3/comparison.csv")).unwrap(),
        inside
    );
    let _ = std::fs::remove_dir_all(&dir);
}
