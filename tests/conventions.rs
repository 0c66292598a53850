//! The model's conventions under their less common branches, each against values computed by
//! hand here: a per-year discount rate schedule, another undiscounted year, breakeven exactly at
//! a cumulative net of zero, and delay-to-zero with a fractional own delay (checked by evaluating
//! the delayed benefit stream here, by brute force, at the reported delay).

use npvrisk::distfile;
use npvrisk::engine::{ENTITY_MEASURES, Plan};
use npvrisk::format::parse_model;
use serde_json::Value;

use crate::{bin, monte_carlo, one_theme_model, plan_of, run_ok, temp_dir, with_files};

/// A model with one theme worth 1 a year from year 1, no costs: its yearly discounted net
/// benefits are the discount factors themselves.
fn annuity_model(rates: &str, undiscounted_year: u32) -> String {
    one_theme_model(
        &format!(
            r#"
name = "annuity"
horizon_years = 4
discount_rate = {rates}
undiscounted_year = {undiscounted_year}"#
        ),
        r#"
addressable_spend_bn = 10.0
profile = [1.0]
gross_benefit_bn = 1.0"#,
    )
}

fn evaluate_json(model: &str, tag: &str) -> Value {
    let dir = temp_dir(tag);
    let path = dir.join("m.toml");
    std::fs::write(&path, model).unwrap();
    let o = run_ok(bin().arg("evaluate").arg(&path).args(["--format", "json"]));
    let _ = std::fs::remove_dir_all(&dir);
    serde_json::from_slice(&o.stdout).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn a_per_year_discount_schedule_discounts_each_year_by_its_own_rate() {
    // rates[i] is the rate between year i and year i+1 (1-based years; the first is unused when
    // year 1 is the base year). By hand, year 1 as base: 1, 1/1.1, 1/(1.1·1.2),
    // 1/(1.1·1.2·1.05); year 3 as base: years before it are compounded forward,
    // 1.1·1.2, 1.2, 1, 1/1.05.
    let rates = "[0.07, 0.10, 0.20, 0.05]";
    for (base, expected) in [
        (
            1,
            [1.0, 1.0 / 1.1, 1.0 / (1.1 * 1.2), 1.0 / (1.1 * 1.2 * 1.05)],
        ),
        (3, [1.1 * 1.2, 1.2, 1.0, 1.0 / 1.05]),
    ] {
        let v = evaluate_json(&annuity_model(rates, base), &format!("rates{base}"));
        let total = &v[0]["total"];
        let got = floats(&total["flows"]["discounted_net"]);
        for (t, (g, e)) in got.iter().zip(expected).enumerate() {
            assert!(
                (g - e).abs() < 1e-12,
                "base year {base}, year {}: {g} vs {e}",
                t + 1
            );
        }
        let npv = total["npv"].as_f64().unwrap();
        assert!((npv - expected.iter().sum::<f64>()).abs() < 1e-12, "{npv}");
    }
    // And the Monte Carlo engine discounts the same way: with G ~ U(0, 2) the mean NPV is
    // Σ df · E[G] = Σ df, within 4 standard errors (σ = Σ df · 2/√12).
    let dists = "[[input]]\npath = \"themes.t.gross_benefit_bn\"\nkind = \"uniform\"\nmin = 0.0\nmax = 2.0\n";
    let plan = plan_of(&annuity_model(rates, 1), dists);
    let n = 20_000u64;
    let d = plan.run(&monte_carlo(n, 5), &|_| {}).unwrap();
    let sum_df = 1.0 + 1.0 / 1.1 + 1.0 / (1.1 * 1.2) + 1.0 / (1.1 * 1.2 * 1.05);
    let total = plan.entities.len() - 1;
    let npv = &d.outcomes[total * ENTITY_MEASURES.len()];
    let mean = npv.iter().sum::<f64>() / n as f64;
    let se = sum_df * 2.0 / (12.0 * n as f64).sqrt();
    assert!((mean - sum_df).abs() < 4.0 * se, "{mean} vs {sum_df}");
    // Draw by draw, NPV / G is exactly Σ df.
    for (v, g) in npv.iter().zip(&d.inputs[0]) {
        assert!((v / g - sum_df).abs() < 1e-12);
    }
}

/// Benefits of 1 from year 2 (profile 0 in year 1), a one-off cost in year 1, no discounting:
/// cumulative net is −cost after year 1, −cost + G after year 2, −cost + 2G after year 3.
fn boundary_model(g: f64, cost: f64) -> String {
    one_theme_model(
        r#"
name = "boundary"
horizon_years = 3
discount_rate = 0.0"#,
        &format!(
            r#"
addressable_spend_bn = 10.0
profile = [0.0, 1.0]
gross_benefit_bn = {g:?}
one_off_costs_bn = [{cost:?}, 0.0, 0.0]"#
        ),
    )
}

#[test]
fn breakeven_is_the_first_year_whose_cumulative_net_reaches_exactly_zero() {
    // Cost 1, G = 1: cumulative −1, 0, 1 (exact in binary): breakeven in year 2, the year the
    // cumulative net is exactly 0 (≥ 0, not > 0).
    let v = evaluate_json(&boundary_model(1.0, 1.0), "be-eval");
    let total = &v[0]["total"];
    assert_eq!(floats(&total["flows"]["discounted_net"]), [-1.0, 1.0, 1.0]);
    assert_eq!(total["breakeven_year"], 2);
    // G = 0.5: cumulative −1, −0.5, 0: breakeven in the last year, with NPV exactly 0, which
    // counts as "already negative" for leakage and delay.
    let v = evaluate_json(&boundary_model(0.5, 1.0), "be-eval2");
    let total = &v[0]["total"];
    assert_eq!(total["npv"], 0.0);
    assert_eq!(total["breakeven_year"], 3);
    assert_eq!(total["leakage_to_zero"], Value::Null);
    assert_eq!(total["delay_to_zero"]["whole_years"], 0);
}

#[test]
fn breakeven_year_probabilities_count_the_boundary_year() {
    // G is 1 with probability ¼ (breakeven exactly at year 2) and 0.5 otherwise (exactly at
    // year 3, NPV exactly 0): P(year 2) = ¼, P(year 3) = ¾, never "not within the horizon".
    let dir = temp_dir("be-run");
    let m = dir.join("m.toml");
    let d = dir.join("d.toml");
    std::fs::write(&m, boundary_model(1.0, 1.0)).unwrap();
    std::fs::write(
        &d,
        "[[input]]\npath = \"themes.t.gross_benefit_bn\"\nkind = \"discrete\"\nvalues = [1.0, 0.5]\nweights = [0.25, 0.75]\n",
    )
    .unwrap();
    let out = dir.join("out");
    let n = 20_000.0;
    let o = run_ok(
        with_files("run", &m, &d)
            .args(["--draws", "20000", "--seed", "9", "--keep-draws"])
            .args(["--format", "json", "--out"])
            .arg(&out),
    );
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let kept = crate::oracles::Kept::read(&out.join("draws.csv"));
    let g = kept.col("input:themes.t.gross_benefit_bn");
    let share_one = g.iter().filter(|x| **x == 1.0).count() as f64 / n;
    let share_half = g.iter().filter(|x| **x == 0.5).count() as f64 / n;
    assert!(g.iter().all(|x| *x == 1.0 || *x == 0.5));
    // The sample share of G = 1 is itself within 4 binomial SE of ¼.
    let se = crate::oracles::binomial_se(0.25, n);
    assert!((share_one - 0.25).abs() < 4.0 * se, "{share_one}");
    let total = crate::oracles::outcome(&s, "total");
    let be: Vec<(Option<u64>, f64)> = total["breakeven_year"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["year"].as_u64(), v["p"].as_f64().unwrap()))
        .collect();
    assert_eq!(
        be,
        [
            (Some(1), 0.0),
            (Some(2), share_one),
            (Some(3), share_half),
            (None, 0.0)
        ]
    );
    // NPV = 2G − 1: exactly 0 for G = 0.5, which is not below 0 but is at most 0.
    assert_eq!(total["npv"]["below"][0]["p"], 0.0);
    let dw = &total["delay_to_zero_whole"][0];
    assert_eq!(dw["p"].as_f64().unwrap(), share_half);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A model with one theme: profile, discount rate, gross benefit, one-off cost in year 1, own
/// delay; horizon 5.
fn delay_model(profile: &str, rate: f64, g: f64, cost: f64, own: f64) -> String {
    one_theme_model(
        &format!(
            r#"
name = "delay"
horizon_years = 5
discount_rate = {rate:?}"#
        ),
        &format!(
            r#"
addressable_spend_bn = 10.0
profile = {profile}
delay_years = {own:?}
gross_benefit_bn = {g:?}
one_off_costs_bn = [{cost:?}, 0.0, 0.0, 0.0, 0.0]"#
        ),
    )
}

/// NPV with the benefit stream slid by `delay` years, by brute force from the conventions: the
/// share of full benefit in year t is (1 − f)·p(t − k) + f·p(t − k − 1) with k = ⌊delay⌋,
/// f = delay − k, p(j) = 0 for j < 1 and the last listed value past the list; year t is
/// discounted by 1/(1 + r)^(t − 1); the cost falls in year 1.
fn npv_by_hand(profile: &[f64], rate: f64, g: f64, cost: f64, delay: f64) -> f64 {
    let p = |j: i64| -> f64 {
        if j < 1 {
            0.0
        } else {
            profile[(j as usize).min(profile.len()) - 1]
        }
    };
    let k = delay.floor() as i64;
    let f = delay - k as f64;
    let mut npv = -cost;
    for t in 1..=5i64 {
        let share = (1.0 - f) * p(t - k) + f * p(t - k - 1);
        npv += g * share / (1.0 + rate).powi(t as i32 - 1);
    }
    npv
}

/// The exact and whole delay-to-zero of the model, from the deterministic evaluation and from
/// the Monte Carlo engine's evaluation, checked by brute force: the NPV at the own delay plus
/// the exact extra delay is 0, and the whole figure is the smallest whole extra delay with
/// NPV ≤ 0.
fn check_delay_to_zero(profile: &[f64], rate: f64, g: f64, cost: f64) {
    let prof = format!("{profile:?}");
    for own in [0.0, 0.3, 0.5, 1.7] {
        let m = parse_model("m.toml", &delay_model(&prof, rate, g, cost, own)).unwrap();
        let e = m.evaluate(0);
        assert!((e.total.npv - npv_by_hand(profile, rate, g, cost, own)).abs() < 1e-12);
        let whole = (0..=7)
            .find(|&k| npv_by_hand(profile, rate, g, cost, own + k as f64) <= 0.0)
            .unwrap();
        // The theme's figure and the total's (computed separately; the same here).
        for (what, d) in [
            ("theme", e.themes[0].delay_to_zero),
            ("total", e.total.delay_to_zero),
        ] {
            let at = npv_by_hand(profile, rate, g, cost, own + d.exact_years);
            assert!(
                at.abs() < 1e-9,
                "{what}, own delay {own}: NPV {at} at the reported exact delay {} (should be 0)",
                d.exact_years
            );
            assert_eq!(d.whole_years, whole, "{what}, own delay {own}");
        }
        // The engine's own evaluation of the same inputs.
        let set = distfile::load(&m, &[]).unwrap();
        let plan = Plan::new(m.clone(), 0, set).unwrap();
        let fast = plan.evaluate_inputs(&m.inputs(0));
        let k = ENTITY_MEASURES.len();
        for ent in [0, 1] {
            let exact = fast[ent * k + 2];
            let at = npv_by_hand(profile, rate, g, cost, own + exact);
            assert!(
                at.abs() < 1e-9,
                "engine, own delay {own}: NPV {at} at its exact delay {exact}"
            );
        }
    }
}

#[test]
fn delay_to_zero_solves_npv_zero_with_a_fractional_own_delay_when_npv_is_linear_in_delay() {
    // Constant profile, no discounting: NPV(D) = G(5 − D) − c, linear in the delay, so linear
    // interpolation between whole years is exact whatever the own delay. Root at D = 2.5.
    check_delay_to_zero(&[1.0], 0.0, 1.0, 2.5);
}

/// With ramp-up and discounting the NPV is not linear in the delay: its kinks fall at whole
/// total delays, so with a fractional own delay they fall between whole extra years.
#[test]
fn delay_to_zero_solves_npv_zero_with_a_fractional_own_delay_under_ramp_up_and_discounting() {
    check_delay_to_zero(&[0.2, 0.6, 1.0], 0.035, 3.0, 4.0);
}

#[test]
fn a_sampled_discount_rate_keeps_the_models_undiscounted_year() {
    // Year 2 as the base year, constant 3.5%: factors 1.035, 1, 1/1.035, 1/1.035². A rate drawn
    // from a distribution so narrow that every draw is 3.5% to within 1e-12 must give the same NPV.
    let m = parse_model("m.toml", &annuity_model("0.035", 2)).unwrap();
    let expected: f64 = [1.035, 1.0, 1.0 / 1.035, 1.0 / 1.035f64.powi(2)]
        .iter()
        .sum();
    assert!((m.evaluate(0).total.npv - expected).abs() < 1e-12);
    let dists = "[[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.034999999999999\nmax = 0.035\n";
    let set = distfile::load(&m, &[("d.toml".into(), dists.into())]).unwrap();
    let plan = Plan::new(m, 0, set).unwrap();
    let d = plan.run(&monte_carlo(10, 1), &|_| {}).unwrap();
    let total = plan.entities.len() - 1;
    for v in &d.outcomes[total * ENTITY_MEASURES.len()] {
        assert!((v - expected).abs() < 1e-9, "{v} vs {expected}");
    }
}
