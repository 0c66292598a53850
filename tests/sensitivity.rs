use npvrisk::engine::Plan;
use npvrisk::sensitivity::{self, SensitivityOptions};

use crate::engine::{LINEAR_DISTS, linear_model};
use crate::{bin, monte_carlo, one_theme_model, plan_of, run_expect, run_ok, temp_dir, with_files};

/// NPV = 3 G − C with G ~ N(10, 1), C ~ N(3, 0.5) (both truncated at 0, immaterially).
fn linear_plan() -> Plan {
    plan_of(&linear_model(), LINEAR_DISTS)
}

#[test]
fn tornado_and_switching_values_match_the_closed_form() {
    let plan = linear_plan();
    let bars = sensitivity::tornado(&plan, (0.1, 0.9));
    // G moves NPV three times as much per unit and has twice C's sd: G first.
    assert_eq!(bars[0].factor, "themes.t.gross_benefit_bn");
    let z90 = 1.2815515655446004;
    assert!(
        (bars[0].swing - 3.0 * 2.0 * z90 * 1.0).abs() < 1e-6,
        "{}",
        bars[0].swing
    );
    assert!(
        (bars[1].swing - 2.0 * z90 * 0.5).abs() < 1e-6,
        "{}",
        bars[1].swing
    );
    let sv = sensitivity::switching_values(&plan);
    let g = sv
        .iter()
        .find(|v| v.factor == "themes.t.gross_benefit_bn" && v.entity == "total")
        .unwrap();
    // 3 G − 3 = 0 at G = 1 (C at its median 3); inside the support [0, ∞) far in the lower tail.
    assert!((g.switching_value.unwrap() - 1.0).abs() < 1e-9, "{g:?}");
    assert!(g.inside_distribution && g.percentile.unwrap() < 1e-10);
    let c = sv
        .iter()
        .find(|v| v.factor == "themes.t.one_off_costs_bn[0]" && v.entity == "total")
        .unwrap();
    assert!((c.switching_value.unwrap() - 30.0).abs() < 1e-8, "{c:?}");
    assert!((c.change_pct.unwrap() - 900.0).abs() < 1e-6);
}

#[test]
fn sobol_indices_of_the_linear_model_cover_their_analytic_values() {
    let plan = linear_plan();
    let o = SensitivityOptions {
        levels: (0.1, 0.9),
        sobol_base: 4096,
        bootstrap: 500,
        confidence: 0.95,
        seed: 11,
    };
    let r = sensitivity::sobol(&plan, &o).unwrap();
    let total = r.iter().find(|x| x.entity == "total").unwrap();
    // Linear and independent: S_i = S_Ti = V_i / V with V_i = c_i² σ_i², V = Σ V_j = 9.25
    // (9 for G, 0.25 for C). First and total order are equal here, so this test cannot tell the
    // estimators apart; the interacting model below does.
    //
    // Tolerances: 4 plain Monte Carlo standard errors of each estimator with N base rows, from
    // its summand's moments for normal inputs (the Sobol design only makes them smaller). With
    // β = b − μ, α = a − μ (independent, variance σ_i²) and S = Σ c_j β_j:
    // - total (Jansen): summand d²/2, d = c_i(a_i − b_i) ~ N(0, 2V_i), so Var = 2V_i²;
    // - first order: summand S · c_i(β_i − α_i), mean V_i, second moment 2V_i² + 2V_i·V, so
    //   Var = V_i² + 2V_i·V.
    let n = o.sobol_base as f64;
    let v = 9.25;
    for (f, vi) in [
        ("themes.t.gross_benefit_bn", 9.0),
        ("themes.t.one_off_costs_bn[0]", 0.25),
    ] {
        let exact = vi / v;
        let se_total = (2.0 * vi * vi / n).sqrt() / v;
        let se_first = ((vi * vi + 2.0 * vi * v) / n).sqrt() / v;
        // Tight enough to mean something: for C, 4 se_first = 0.0146 against its index 0.027.
        let x = total.factors.iter().find(|x| x.factor == f).unwrap();
        assert!(
            (x.first[0] - exact).abs() < 4.0 * se_first,
            "{f} first {:?} vs {exact} (se {se_first})",
            x.first
        );
        assert!(
            (x.total[0] - exact).abs() < 4.0 * se_total,
            "{f} total {:?} vs {exact} (se {se_total})",
            x.total
        );
        // The bootstrap interval holds its point (its width and coverage are checked against
        // the estimator's closed-form error in the next test).
        assert!(x.first[1] <= x.first[0] && x.first[0] <= x.first[2]);
    }
}

#[test]
fn bootstrap_intervals_have_the_width_of_the_estimators_error_and_cover_the_true_indices() {
    // `--bootstrap B` resamples the N base rows of the design: its percentile interval at
    // level L spans ±z·se around the index (z = Φ⁻¹((1 + L)/2)), where se is the standard error
    // the estimator would have on N independent rows (a bootstrap treats rows as independent;
    // the scrambled Sobol design is only more precise, so the intervals should over-cover).
    //
    // That se, for Y = a₁X₁ + a₂X₂ (X standard normal; a₁² = 9 for G, a₂² = 0.25 for C,
    // V = 9.25, S_i = a_i²/V), by the delta method on the ratio V̂_i / V̂ with the row summands
    // of the estimators (sobol_indices.rs) — W = ((f_A − μ)² + (f_B − μ)²)/2 for V̂,
    // F = (f_B − μ)(f_ABi − f_A) for V̂_i, T = (f_A − f_ABi)²/2 for V̂_Ti — and Isserlis'
    // theorem for the Gaussian moments: Var W = V², Var F = 3a⁴ + 2a²b², Cov(F, W) = a²V,
    // Var T = 2a⁴, Cov(T, W) = a⁴ (b² = V − a²), so that
    //   N·Var(Ŝ_i)  = Var(F − S_i W)/V² = 2 S_i,
    //   N·Var(Ŝ_Ti) = Var(T − S_i W)/V² = S_i²(3 − 2 S_i).
    //
    // Yardsticks, over R runs on seeds 1..=R (each its own scramble and resamples), never the
    // program's own error: the mean width within 4 standard errors (from the widths' spread)
    // of 2z·se, z for B resamples (below); the mean estimate within 4 of its own of S_i; the
    // number of intervals covering S_i at least the count a Binomial(R, L) falls below with
    // probability under 10⁻⁴.
    use statrs::distribution::{Binomial, DiscreteCDF};
    // 40 runs: the coverage floor is then 28 (of 36 expected).
    const R: u64 = 40;
    let dir = temp_dir("sens-bootstrap");
    let (m, d) = (dir.join("m.toml"), dir.join("d.toml"));
    std::fs::write(&m, linear_model()).unwrap();
    std::fs::write(&d, LINEAR_DISTS).unwrap();
    let (n, level, resamples) = (4096.0f64, 0.9, 400.0f64);
    // The interval's ends are type-7 quantiles of the B resampled indices, whose order
    // statistic of rank k lies on average at the (k/(B + 1))-quantile: the low end at
    // position h = (B − 1)(1 − L)/2 sits on average at z_B = −Σ weights·Φ⁻¹(rank/(B + 1))
    // standard errors, a little inside Φ⁻¹((1 + L)/2) = 1.645 (about 1.62 here).
    let z = {
        use statrs::distribution::{ContinuousCDF, Normal};
        let phi = Normal::standard();
        let h = (resamples - 1.0) * (1.0 - level) / 2.0;
        let (k, f) = (h.floor(), h - h.floor());
        let at = |rank: f64| phi.inverse_cdf(rank / (resamples + 1.0));
        -((1.0 - f) * at(k + 1.0) + f * at(k + 2.0))
    };
    let v = 9.25;
    let factors = [
        ("themes.t.gross_benefit_bn", 9.0 / v),
        ("themes.t.one_off_costs_bn[0]", 0.25 / v),
    ];
    // [factor][first, total, shapley] → (estimate, low, high) per seed.
    let mut got = vec![vec![Vec::new(); 3]; factors.len()];
    for seed in 1..=R {
        let o = run_ok(
            with_files("sensitivity", &m, &d)
                .args([
                    "--method",
                    "sobol",
                    "--sobol-n",
                    "4096",
                    "--bootstrap",
                    &resamples.to_string(),
                ])
                .args(["--confidence", "0.9", "--format", "json", "-q", "--seed"])
                .arg(seed.to_string()),
        );
        let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let total = s["sobol"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["entity"] == "total")
            .unwrap();
        for (i, (name, _)) in factors.iter().enumerate() {
            let x = total["factors"]
                .as_array()
                .unwrap()
                .iter()
                .find(|x| x["factor"] == *name)
                .unwrap();
            for (j, key) in ["first", "total", "shapley"].into_iter().enumerate() {
                let t = |k: usize| x[key][k].as_f64().unwrap();
                got[i][j].push((t(0), t(1), t(2)));
            }
        }
    }
    let r = R as f64;
    let mean_sd = |xs: &[f64]| {
        let m = xs.iter().sum::<f64>() / r;
        let sd = (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (r - 1.0)).sqrt();
        (m, sd)
    };
    let binomial = Binomial::new(level, R).unwrap();
    let floor = (0..=R).find(|&k| binomial.cdf(k) > 1e-4).unwrap();
    for (i, (name, si)) in factors.iter().enumerate() {
        for (j, key) in ["first", "total", "shapley"].into_iter().enumerate() {
            let reps = &got[i][j];
            let what = format!("{name} {key}");
            let covered = reps.iter().filter(|(_, l, h)| l <= si && si <= h).count() as u64;
            assert!(
                covered >= floor,
                "{what}: {covered} of {R} intervals cover {si} (at least {floor})"
            );
            if key == "shapley" {
                // Its estimator's error has no closed form here: coverage only.
                continue;
            }
            let (m, sd) = mean_sd(&reps.iter().map(|x| x.0).collect::<Vec<_>>());
            assert!(
                (m - si).abs() <= 4.0 * sd / r.sqrt(),
                "{what}: mean estimate {m} vs {si} (spread {sd})"
            );
            let se = if key == "first" {
                (2.0 * si / n).sqrt()
            } else {
                si * ((3.0 - 2.0 * si) / n).sqrt()
            };
            let widths: Vec<f64> = reps.iter().map(|(_, l, h)| h - l).collect();
            let (w, wsd) = mean_sd(&widths);
            assert!(
                (w - 2.0 * z * se).abs() <= 4.0 * wsd / r.sqrt(),
                "{what}: mean width {w} vs 2z·se = {} (spread {wsd})",
                2.0 * z * se
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn rank_correlations_order_the_inputs_by_influence() {
    let plan = linear_plan();
    let o = monte_carlo(20_000, 3);
    let d = plan.run(&o, &|_| {}).unwrap();
    let r = sensitivity::rank_correlations(&plan, &d);
    let g = r
        .iter()
        .find(|x| x.input == "themes.t.gross_benefit_bn" && x.entity == "total")
        .unwrap();
    let c = r
        .iter()
        .find(|x| x.input == "themes.t.one_off_costs_bn[0]" && x.entity == "total")
        .unwrap();
    // Pearson correlation of NPV with G is 3/√9.25 = 0.986, with C −0.5/√9.25 = −0.164; for
    // jointly normal variables Spearman = (6/π) asin(ρ/2). Standard error ≈ (1 − ρ²)/√n.
    let spearman = |rho: f64| 6.0 / std::f64::consts::PI * (rho / 2.0).asin();
    let n = 20_000f64;
    for (x, rho) in [(g, 3.0 / 9.25f64.sqrt()), (c, -0.5 / 9.25f64.sqrt())] {
        let exact = spearman(rho);
        let se = (1.0 - exact * exact) / n.sqrt();
        assert!(
            (x.spearman - exact).abs() < 4.0 * se,
            "{} vs {exact}",
            x.spearman
        );
    }
    assert!((g.contribution + c.contribution - 1.0).abs() < 1e-12);
}

#[test]
fn sensitivity_bad_input_exits_2_and_leaves_no_files() {
    for (args, needle) in [
        (
            vec![
                "sensitivity",
                "tests/data/council.toml",
                "--method",
                "sobol",
            ],
            "no input has a distribution",
        ),
        (vec!["sensitivity", "--levels", "0.1,1.2"], "`--levels`"),
        (
            vec!["sensitivity", "--method", "sobol", "--sobol-n", "32"],
            "`--sobol-n` = 32: must be at least 64",
        ),
        (
            vec!["sensitivity", "--method", "sobol", "--sobol-n", "0"],
            "`--sobol-n` = 0: must be at least 64",
        ),
        (
            vec!["report", "--bootstrap", "0", "--out", "/nonexistent/r"],
            "`--bootstrap` = 0: must be at least 100",
        ),
        (
            vec!["sensitivity", "--confidence", "1.5"],
            "`--confidence` = 1.5",
        ),
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dir = temp_dir("sens-unwritable");
    std::fs::write(dir.join("blocker"), "x").unwrap();
    let o = run_expect(
        2,
        bin()
            .args(["sensitivity", "--method", "tornado", "--out"])
            .arg(dir.join("blocker/out")),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "cannot create folder `{}`",
            dir.join("blocker/out").display()
        )),
        "{err}"
    );
    assert!(o.stdout.is_empty(), "nothing printed as if it had run");
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no partial files"
    );
}

/// NPV = 3·R·C − 0.5 over one year, with realisation R and cashability C independent U(0, 1): a
/// product, so the factors interact. Var(Y) = 9(E[R²]E[C²] − E[R]²E[C]²) = 9(1/9 − 1/16) =
/// 7/16; V_R = 9 Var(R) E[C]² = 3/16, so S_R = S_C = 3/7, and S_TR = 1 − S_C = 4/7: the
/// first-order and total indices differ by 1/7, the interaction's share.
fn product_model() -> String {
    one_theme_model(
        r#"
name = "product"
horizon_years = 1
discount_rate = 0.0"#,
        r#"
addressable_spend_bn = 100.0
profile = [1.0]
gross_benefit_bn = 3.0
one_off_costs_bn = [0.5]"#,
    )
}

const PRODUCT_DISTS: &str = r#"
[[input]]
path = "themes.t.realisation"
kind = "uniform"
min = 0.0
max = 1.0

[[input]]
path = "themes.t.cashability"
kind = "uniform"
min = 0.0
max = 1.0
"#;

/// Plain Monte Carlo standard errors of the two estimators with N base rows, from their
/// summands' moments under Y = 3RC − 0.5 (for the factor R; C is symmetric). The Sobol design
/// only makes them smaller.
fn product_sobol_se(n: f64) -> (f64, f64) {
    let v = 7.0 / 16.0;
    // Total (Jansen): summand d²/2 with d = f_A − f_AB = 3C(R − R'). E[d²] = 9·⅓·⅙ = ½,
    // E[d⁴] = 81·E[C⁴]·E[(R − R')⁴] = 81·⅕·(1/15).
    let (d2, d4) = (0.5, 81.0 / 75.0);
    let se_total = ((d4 - d2 * d2) / 4.0 / n).sqrt() / v;
    // First order: summand (f_B − m)(f_AB − f_A) = 9(R_B C_B − ¼)·C_A(R_B − R_A), m = E[Y] = ¼.
    // Its mean is V_R = 3/16; its second moment is 81·E[C_A²]·E[(XC − ¼)²(X² − X + ⅓)] with
    // X = R_B, C = C_B, i.e. 81·⅓·∫₀¹ (X²/3 − X/4 + 1/16)(X² − X + ⅓) dX (Boole's rule is exact
    // for this quartic).
    let q = |x: f64| (x * x / 3.0 - x / 4.0 + 1.0 / 16.0) * (x * x - x + 1.0 / 3.0);
    let integral =
        (7.0 * q(0.0) + 32.0 * q(0.25) + 12.0 * q(0.5) + 32.0 * q(0.75) + 7.0 * q(1.0)) / 90.0;
    let m2 = 81.0 / 3.0 * integral;
    let se_first = ((m2 - (3.0f64 / 16.0).powi(2)) / n).sqrt() / v;
    (se_first, se_total)
}

#[test]
fn sensitivity_of_an_interacting_model_matches_its_closed_form_in_every_table() {
    let dir = temp_dir("sens-out");
    let (m, d) = (dir.join("product.toml"), dir.join("product_dists.toml"));
    std::fs::write(&m, product_model()).unwrap();
    std::fs::write(&d, PRODUCT_DISTS).unwrap();
    let out = dir.join("out");
    let sobol_n: f64 = 4096.0;
    let draws: f64 = 20_000.0;
    let o = run_ok(
        with_files("sensitivity", &m, &d)
            .args([
                "--draws",
                "20000",
                "--sobol-n",
                "4096",
                "--bootstrap",
                "200",
            ])
            .args(["--seed", "17", "--format", "json", "--out"])
            .arg(&out),
    );
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    // The folder's tornado.csv (another writer of the same analysis) has the JSON's swings.
    let csv = std::fs::read_to_string(out.join("tornado.csv")).unwrap();
    for b in s["tornado"].as_array().unwrap() {
        let row = csv
            .lines()
            .find(|l| l.starts_with(&format!("{},", b["factor"].as_str().unwrap())))
            .unwrap_or_else(|| panic!("{csv}"));
        let swing: f64 = row.split(',').nth(7).unwrap().parse().unwrap();
        assert_eq!(swing, b["swing"].as_f64().unwrap(), "{row}");
    }
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    // The model's amounts are in £bn; its NPVs, below £1bn, are shown in £m: `m(x)` is an
    // amount of the analysis back in £bn.
    assert_eq!(s["money_unit"], "£m");
    let m = |v: &serde_json::Value| f(v) / 1e3;
    let factors = ["themes.t.cashability", "themes.t.realisation"];
    // Central NPV: both at their medians, 3 · ½ · ½ − 0.5.
    let central = s["central_npv"].as_array().unwrap();
    assert!(
        central
            .iter()
            .any(|c| c[0] == "total" && (m(&c[1]) - 0.25).abs() < 1e-12)
    );
    // Tornado: one factor at its 10th and 90th percentile, the other at its median:
    // 1.5 · 0.1 − 0.5 and 1.5 · 0.9 − 0.5, a swing of 1.2 for each.
    let tornado = s["tornado"].as_array().unwrap();
    assert_eq!(tornado.len(), 2);
    for b in tornado {
        assert!(factors.contains(&b["factor"].as_str().unwrap()));
        assert!((m(&b["total_low"]) + 0.35).abs() < 1e-9, "{b}");
        assert!((m(&b["total_high"]) - 0.85).abs() < 1e-9, "{b}");
        assert!((m(&b["swing"]) - 1.2).abs() < 1e-9, "{b}");
    }
    // Switching values: 1.5 x − 0.5 = 0 at x = ⅓, the ⅓ quantile of U(0, 1), −33.3% from ½.
    let total_sv: Vec<&serde_json::Value> = s["switching"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["entity"] == "total")
        .collect();
    assert_eq!(total_sv.len(), 2);
    for v in total_sv {
        assert!((f(&v["switching_value"]) - 1.0 / 3.0).abs() < 1e-6, "{v}");
        assert!((f(&v["percentile"]) - 1.0 / 3.0).abs() < 1e-6, "{v}");
        assert!((f(&v["change_pct"]) + 100.0 / 3.0).abs() < 1e-3, "{v}");
        assert_eq!(v["inside_distribution"], true);
    }
    // Rank correlations: Spearman(R, RC) = 12 E[F_R(R) F_Y(RC)] − 3 with F_Y(y) = y − y ln y,
    // i.e. 12 (E[R²C] − E[R² ln R]E[C] − E[R²]E[C ln C]) − 3 = 12 (1/6 + 1/18 + 1/12) − 3 = ⅔.
    // Its sampling SD is below 1/√n here (asymptotic variance of Spearman's ρ for this
    // bounded, smooth pair is well under 1).
    let rank: Vec<&serde_json::Value> = s["rank"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"] == "total")
        .collect();
    assert_eq!(rank.len(), 2);
    for r in &rank {
        assert!(
            (f(&r["spearman"]) - 2.0 / 3.0).abs() < 4.0 / draws.sqrt(),
            "{r}"
        );
    }
    let contrib: f64 = rank.iter().map(|r| f(&r["contribution"])).sum();
    assert!((contrib - 1.0).abs() < 1e-12);
    // Sobol: first order 3/7, total 4/7, within 4 plain Monte Carlo standard errors (at most
    // 0.07, less than half the 1/7 between them, so neither can pass for the other).
    let (se_first, se_total) = product_sobol_se(sobol_n);
    assert!(4.0 * se_first.max(se_total) < 0.5 / 7.0);
    let sobol = s["sobol"].as_array().unwrap();
    let total = sobol.iter().find(|r| r["entity"] == "total").unwrap();
    assert_eq!(total["base_draws"], 4096);
    assert_eq!(total["model_runs"], 4096 * 4);
    // A variance of amounts, in (£m)².
    assert!(
        (f(&total["variance"]) / 1e6 - 7.0 / 16.0).abs() < 0.05,
        "{total}"
    );
    for x in total["factors"].as_array().unwrap() {
        let first = f(&x["first"][0]);
        let tot = f(&x["total"][0]);
        assert!((first - 3.0 / 7.0).abs() < 4.0 * se_first, "first {x}");
        assert!((tot - 4.0 / 7.0).abs() < 4.0 * se_total, "total {x}");
    }
    // The CSV tables hold the same figures as the JSON.
    let sobol_csv = std::fs::read_to_string(out.join("sobol.csv")).unwrap();
    let rows: Vec<Vec<&str>> = sobol_csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').collect())
        .collect();
    assert_eq!(rows.len(), 2 * 2, "(theme t, total) × two factors");
    for r in &rows {
        let j = sobol.iter().find(|e| e["entity"] == r[0]).unwrap()["factors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["factor"] == r[1])
            .unwrap();
        assert_eq!(r[2].parse::<f64>().unwrap(), f(&j["first"][0]));
        assert_eq!(r[5].parse::<f64>().unwrap(), f(&j["total"][0]));
    }
    // The tornado's amounts are in the unit its `money_unit` column names.
    let tornado_csv = std::fs::read_to_string(out.join("tornado.csv")).unwrap();
    for l in tornado_csv.lines().skip(1) {
        let c: Vec<&str> = l.split(',').collect();
        assert_eq!(c[8], "£m", "{l}");
        assert!(
            (c[5].parse::<f64>().unwrap() / 1e3 + 0.35).abs() < 1e-9,
            "{l}"
        );
    }
    for (file, rows) in [
        ("tornado.csv", 2),
        ("switching.csv", 2 * 2),
        ("rank.csv", 2 * 2),
    ] {
        let text = std::fs::read_to_string(out.join(file)).unwrap();
        assert_eq!(text.lines().count(), 1 + rows, "{file}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard normal CDF and density.
fn phi_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x / std::f64::consts::SQRT_2)
}
fn phi_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// For standard normals (X, Y) with correlation ρ, the CDF at x of X given Y ≤ q, and its
/// density: ∫_{−∞}^{q} φ(y) Φ((x − ρy)/√(1−ρ²)) dy / Φ(q), by the trapezoid rule on a fine grid.
fn conditional_cdf_pdf(rho: f64, q: f64, x: f64) -> (f64, f64) {
    let s = (1.0 - rho * rho).sqrt();
    let (lo, steps) = (-12.0, 200_000);
    let h = (q - lo) / steps as f64;
    let (mut c, mut d) = (0.0, 0.0);
    for k in 0..=steps {
        let y = lo + k as f64 * h;
        let w = if k == 0 || k == steps { 0.5 } else { 1.0 };
        let z = (x - rho * y) / s;
        c += w * phi_pdf(y) * phi_cdf(z);
        d += w * phi_pdf(y) * phi_pdf(z) / s;
    }
    (c * h / phi_cdf(q), d * h / phi_cdf(q))
}

#[test]
fn scenario_analysis_matches_the_conditional_medians_of_a_linear_gaussian_model() {
    let plan = linear_plan();
    let n = 200_000u64;
    let o = monte_carlo(n, 7);
    let d = plan.run(&o, &|_| {}).unwrap();
    let regions = sensitivity::scenario_analysis(&plan, &d);
    // NPV = 3G − C has mean 27 and sd 3.04: no draw is below zero.
    let below = regions
        .iter()
        .find(|r| r.entity == "total" && r.region == "npv_below_zero")
        .unwrap();
    assert_eq!(below.draws, 0);
    assert!(below.inputs.is_empty());
    let worst = regions
        .iter()
        .find(|r| r.entity == "total" && r.region == "worst_10pct")
        .unwrap();
    assert_eq!(worst.draws, (n as usize).div_ceil(10));
    // In the NPV's worst tenth, each input's median shift (in its SDs) is the median of X given
    // Y ≤ z₀.₁ for standard normals with the input's correlation with the NPV: 3/σ for G,
    // −0.5/σ for C, σ = √9.25. Solved by bisection on the conditional CDF.
    let sigma = 9.25f64.sqrt();
    let q = -1.2815515655446004;
    let k = worst.draws as f64;
    for (path, rho) in [
        ("themes.t.gross_benefit_bn", 3.0 / sigma),
        ("themes.t.one_off_costs_bn[0]", -0.5 / sigma),
    ] {
        let (mut a, mut b) = (-6.0, 6.0);
        for _ in 0..60 {
            let m = 0.5 * (a + b);
            if conditional_cdf_pdf(rho, q, m).0 < 0.5 {
                a = m
            } else {
                b = m
            }
        }
        let exact = 0.5 * (a + b);
        let density = conditional_cdf_pdf(rho, q, exact).1;
        // Standard error of a sample median, 1/(2 f √k) in SD units, plus that of the overall
        // median and sd (small next to it); tolerance four of them.
        let se = 1.0 / (2.0 * density * k.sqrt()) + 1.0 / (2.0 * phi_pdf(0.0) * (n as f64).sqrt());
        let row = worst.inputs.iter().find(|i| i.input == path).unwrap();
        assert!(
            (row.shift_sd - exact).abs() < 4.0 * se,
            "{path}: shift {} vs {exact} (se {se})",
            row.shift_sd
        );
        assert_eq!(row.significant, row.shift_sd.abs() >= 0.5);
    }
    // The benefit is shifted far down (significant), the cost up a little (not significant);
    // the rows come largest shift first.
    assert_eq!(worst.inputs[0].input, "themes.t.gross_benefit_bn");
    assert!(worst.inputs[0].significant && !worst.inputs[1].significant);
}
