//! The sensitivity analysis against oracles written here. The models are small and their NPVs
//! affine in each factor (in its value, or in its position between two scenarios), so every
//! tornado end, switching value and percentile has a closed form, computed below from the
//! model's own numbers; rank correlations and scenario regions are recomputed by brute force from
//! the kept draws.
//!
//! Both models discount at 25% a year over three years from year 1: factors 1, 0.8, 0.64
//! (sum 2.44), all exact in binary except 0.8 and 0.64, hence the 1e-9 tolerances.

use super::*;
use crate::engine::{DEFAULT_BLOCK, ENTITY_MEASURES, Plan, RunOptions};
use crate::sampler::SamplerKind;

/// Discount factors of both models.
const DF: [f64; 3] = [1.0, 0.8, 0.64];
const SUM_DF: f64 = 2.44;

fn plan_of(model: &str, dists: &str) -> Plan {
    let model = crate::format::parse_model("m.toml", model).unwrap();
    let set = crate::distfile::load(&model, &[("d.toml".into(), dists.into())]).unwrap();
    let scen = model.scenario_index("base").unwrap();
    Plan::new(model, scen, set).unwrap()
}

/// Options of the smallest Sobol design and bootstrap the estimators accept.
fn smallest_design() -> SensitivityOptions {
    SensitivityOptions {
        levels: (0.1, 0.9),
        sobol_base: 64,
        bootstrap: 100,
        confidence: 0.9,
        seed: 1,
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * (1.0 + want.abs()),
        "{what}: {got} against {want}"
    );
}

fn close_opt(got: Option<f64>, want: Option<f64>, what: &str) {
    match (got, want) {
        (Some(g), Some(w)) => close(g, w, what),
        (None, None) => {}
        _ => panic!("{what}: {got:?} against {want:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Model 1: one value per input.
//
// Theme t (headline): profile 1, NPV_t = 2.44 G − C − 0.64 O, G = gross benefit ~ U(8, 12),
//   C = year-1 one-off cost ~ Tri(1, 2, 4), O = year-3 ongoing cost, fixed at 0.5.
// Theme v (headline): profile 0.5, 1, 1 (discounted sum 0.5 + 0.8 + 0.64 = 1.94), gross 4,
//   one-off cost 6 in year 1: NPV_v = 7.76 R − 6 − 0.8 K, R = realisation ~ Tri(0.5, 0.7, 1),
//   K = year-2 one-off cost ~ {0 w.p. 0.6, 5 w.p. 0.4} (median 0).
// Theme u (indicative): NPV_u = 2.44 H − 1, H = gross ~ U(2, 4); left out of the total.
// Total = NPV_t + NPV_v.
// ---------------------------------------------------------------------------------------------

const MODEL1: &str = r#"
[model]
name = "affine"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 10.0
one_off_costs = [2.0, 0.0, 0.0]
partner_shares = { A = 1.0 }

[[themes]]
id = "v"
name = "V"
addressable_spend = 100.0
profile = [0.5, 1.0]
gross_benefit = 4.0
realisation = 0.8
one_off_costs = [6.0, 0.0, 0.0]
partner_shares = { A = 1.0 }

[[themes]]
id = "u"
name = "U"
indicative = true
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 3.0
one_off_costs = [1.0, 0.0, 0.0]
partner_shares = { A = 1.0 }
"#;

const DISTS1: &str = r#"
[[input]]
path = "themes.t.gross_benefit"
kind = "uniform"
min = 8.0
max = 12.0

[[input]]
path = "themes.t.one_off_costs[0]"
kind = "triangular"
min = 1.0
mode = 2.0
max = 4.0

[[input]]
path = "themes.t.ongoing_costs[2]"
kind = "fixed"
value = 0.5

[[input]]
path = "themes.u.gross_benefit"
kind = "uniform"
min = 2.0
max = 4.0

[[input]]
path = "themes.v.one_off_costs[1]"
kind = "discrete"
values = [0.0, 5.0]
weights = [0.6, 0.4]

[[input]]
path = "themes.v.realisation"
kind = "triangular"
min = 0.5
mode = 0.7
max = 1.0
"#;

const G: &str = "themes.t.gross_benefit";
const C: &str = "themes.t.one_off_costs[0]";
const O: &str = "themes.t.ongoing_costs[2]";
const H: &str = "themes.u.gross_benefit";
const K: &str = "themes.v.one_off_costs[1]";
const R: &str = "themes.v.realisation";

fn plan1() -> Plan {
    plan_of(MODEL1, DISTS1)
}

/// Quantile of U(a, b).
fn uniform_q(a: f64, b: f64, u: f64) -> f64 {
    a + u * (b - a)
}

/// Quantile of Tri(a, c, b) (mode c), by inverting F(x) = (x − a)² / ((b − a)(c − a)) below
/// the mode and 1 − (b − x)² / ((b − a)(b − c)) above.
fn tri_q(a: f64, c: f64, b: f64, u: f64) -> f64 {
    if u <= (c - a) / (b - a) {
        a + (u * (b - a) * (c - a)).sqrt()
    } else {
        b - ((1.0 - u) * (b - a) * (b - c)).sqrt()
    }
}

fn tri_cdf(a: f64, c: f64, b: f64, x: f64) -> f64 {
    if x <= c {
        (x - a) * (x - a) / ((b - a) * (c - a))
    } else {
        1.0 - (b - x) * (b - x) / ((b - a) * (b - c))
    }
}

/// Quantile of the discrete K: 0 up to its cumulative weight 0.6, then 5.
fn k_q(u: f64) -> f64 {
    if u <= 0.6 { 0.0 } else { 5.0 }
}

fn npv_t(g: f64, c: f64) -> f64 {
    SUM_DF * g - c - DF[2] * 0.5
}

fn npv_v(r: f64, k: f64) -> f64 {
    4.0 * (0.5 * DF[0] + DF[1] + DF[2]) * r - 6.0 - DF[1] * k
}

/// Each input of model 1 at position `u`.
fn at1(name: &str, u: f64) -> f64 {
    match name {
        G => uniform_q(8.0, 12.0, u),
        C => tri_q(1.0, 2.0, 4.0, u),
        O => 0.5,
        H => uniform_q(2.0, 4.0, u),
        K => k_q(u),
        R => tri_q(0.5, 0.7, 1.0, u),
        _ => unreachable!("{name}"),
    }
}

/// Model 1's headline NPVs (t, v, total) with input `name` at position `u`, the others at
/// their medians.
fn npvs1(name: &str, u: f64) -> [f64; 3] {
    let x = |n: &str| at1(n, if n == name { u } else { 0.5 });
    let t = SUM_DF * x(G) - x(C) - DF[2] * x(O);
    let v = npv_v(x(R), x(K));
    [t, v, t + v]
}

#[test]
fn the_hand_formulas_are_those_of_the_engine() {
    // A guard on the oracle itself: the engine's NPVs at a few positions equal the formulas
    // above (u is not mentioned in the total, and the indicative theme's NPV is 2.44 H − 1).
    let plan = plan1();
    let factors = plan.factors();
    for u in [0.05, 0.3, 0.77] {
        let pos = vec![u; factors.len()];
        let out = plan.evaluate_at(&pos, None);
        let m = ENTITY_MEASURES.len();
        let t = npv_t(at1(G, u), at1(C, u));
        let v = npv_v(at1(R, u), at1(K, u));
        close(out[0], t, "t");
        close(out[m], v, "v");
        close(out[2 * m], SUM_DF * at1(H, u) - 1.0, "u");
        close(out[3 * m], t + v, "total");
    }
}

#[test]
fn central_npvs_are_the_headline_entities_at_their_medians() {
    let plan = plan1();
    let c = central(&plan);
    let want = npvs1(G, 0.5);
    let names: Vec<&str> = c.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["t", "v", "total"]);
    for ((n, got), w) in c.iter().zip(want) {
        close(*got, w, n);
    }
}

#[test]
fn tornado_bars_hold_each_factor_at_p10_and_p90_and_sort_by_swing() {
    let plan = plan1();
    let bars = tornado(&plan, (0.1, 0.9));
    // Swings of the total: G 2.44 × (11.6 − 8.4) = 7.808; K 0.8 × 5 = 4; R 7.76 × (P90 − P10)
    // = 7.76 × ((1 − √0.015) − 0.6) = 2.15; C (4 − √0.6) − (1 + √0.3) = 1.68; O fixed and H
    // outside the total: 0, in stream order.
    let order: Vec<&str> = bars.iter().map(|b| b.factor.as_str()).collect();
    assert_eq!(order, [G, K, R, C, O, H]);
    for b in &bars {
        let name = b.factor.as_str();
        assert_eq!(b.inputs, [name]);
        close(b.central_value, at1(name, 0.5), name);
        close(b.low_value, at1(name, 0.1), name);
        close(b.high_value, at1(name, 0.9), name);
        let (lo, hi) = (npvs1(name, 0.1), npvs1(name, 0.9));
        close(b.total_low, lo[2], name);
        close(b.total_high, hi[2], name);
        close(b.swing, (hi[2] - lo[2]).abs(), name);
        // Headline themes only: the indicative u is left out.
        let ids: Vec<&str> = b.themes.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["t", "v"], "{name}");
        for (k, t) in b.themes.iter().enumerate() {
            close(t.low, lo[k], name);
            close(t.high, hi[k], name);
        }
    }
    // The closed forms of the comment, for the record.
    close(bars[0].swing, 2.44 * 3.2, "G swing");
    close(bars[1].swing, 4.0, "K swing");
    close(
        bars[3].swing,
        3.0 - 0.6f64.sqrt() - 0.3f64.sqrt(),
        "C swing",
    );
    // A cost's high value lowers the NPV: its swing is the absolute difference.
    assert!(bars[3].total_high < bars[3].total_low);
    assert_eq!(bars[4].swing, 0.0);
    assert_eq!(bars[5].swing, 0.0);
    // Other levels are honoured: P25 and P75 of G.
    let b = tornado(&plan, (0.25, 0.75));
    let g = b.iter().find(|b| b.factor == G).unwrap();
    close(g.low_value, 9.0, "G P25");
    close(g.high_value, 11.0, "G P75");
    close(g.total_low, npvs1(G, 0.25)[2], "G total at P25");
}

#[test]
fn spider_lines_move_one_factor_through_the_levels() {
    // Model 1 with t's benefits split between two partners, so that no partner's NPV equals the
    // total's (with A holding all of it, a line read from A's column would pass); the total is
    // unchanged.
    let model = MODEL1
        .replacen(
            "[[partners]]\nid = \"A\"\nname = \"A\"\n",
            "[[partners]]\nid = \"A\"\nname = \"A\"\n\n[[partners]]\nid = \"B\"\nname = \"B\"\n",
            1,
        )
        .replacen(
            "partner_shares = { A = 1.0 }",
            "partner_shares = { A = 0.5, B = 0.5 }",
            1,
        );
    let plan = plan_of(&model, DISTS1);
    assert_eq!(plan.model.partners.len(), 2);
    let levels = [0.1, 0.5, 0.9];
    let names = vec![K.to_string(), "no.such.factor".to_string(), G.to_string()];
    let lines = spider(&plan, &names, &levels);
    let got: Vec<&str> = lines.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(got, [K, G]);
    for (name, line) in &lines {
        assert_eq!(line.len(), levels.len());
        for (&(u, y), &want_u) in line.iter().zip(&levels) {
            assert_eq!(u, want_u);
            close(y, npvs1(name, u)[2], name);
        }
    }
}

/// Model 1's switching values in closed form, with the entity's NPV linear in the input.
#[test]
fn switching_values_of_single_inputs_are_the_roots_of_the_affine_npvs() {
    let plan = plan1();
    let sv = switching_values(&plan);
    let c0 = npvs1(G, 0.5);
    let (t0, v0, total0) = (c0[0], c0[1], c0[2]);
    let find = |input: &str, entity: &str| {
        sv.iter()
            .find(|s| s.input == input && s.entity == entity)
            .unwrap_or_else(|| panic!("{input} / {entity}"))
    };
    // Every factor for the total and for the headline theme it moves; u is not headline, so H
    // has the total only.
    let mut pairs: Vec<(String, String)> = sv
        .iter()
        .map(|s| (s.input.clone(), s.entity.clone()))
        .collect();
    pairs.sort();
    let mut want: Vec<(String, String)> = [
        (G, "t"),
        (G, "total"),
        (C, "t"),
        (C, "total"),
        (O, "t"),
        (O, "total"),
        (H, "total"),
        (K, "v"),
        (K, "total"),
        (R, "v"),
        (R, "total"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    want.sort();
    assert_eq!(pairs, want);
    for s in &sv {
        assert_eq!(s.factor, s.input);
        close(s.central_value, at1(&s.input, 0.5), &s.input);
    }

    // G: the NPV is 2.44 G + (NPV − 24.4) with G's median 10, zero at G = 10 − NPV / 2.44:
    // inside G's physical range [0, ∞) but below U(8, 12).
    for (e, npv) in [("t", t0), ("total", total0)] {
        let s = find(G, e);
        let x = 10.0 - npv / SUM_DF;
        close_opt(s.switching_value, Some(x), "G");
        close_opt(s.change_pct, Some((x - 10.0) / 10.0 * 100.0), "G change");
        assert!(!s.inside_distribution && s.percentile.is_none(), "{s:?}");
        assert_eq!(
            s.note,
            "outside its distribution, inside the physical range"
        );
    }
    // C: NPV falls one for one with C: zero at C_median + NPV, above Tri(1, 2, 4).
    let cm = at1(C, 0.5);
    for (e, npv) in [("t", t0), ("total", total0)] {
        let s = find(C, e);
        close_opt(s.switching_value, Some(cm + npv), "C");
        close_opt(s.change_pct, Some(npv / cm * 100.0), "C change");
        assert!(s.percentile.is_none());
    }
    // O: fixed at 0.5, NPV falls by 0.64 per unit: zero at 0.5 + NPV / 0.64; a fixed input's
    // support is its value, so outside.
    let s = find(O, "t");
    close_opt(s.switching_value, Some(0.5 + t0 / 0.64), "O");
    assert!(!s.inside_distribution);
    // H does not move the total: no root anywhere in [0, ∞).
    let s = find(H, "total");
    assert_eq!(s.switching_value, None);
    assert_eq!(s.change_pct, None);
    assert!(!s.inside_distribution && s.percentile.is_none());
    assert_eq!(
        s.note,
        "no switching value in the physical range (a number ≥ 0)"
    );
    // K (median 0): on v the root 0 + v0 / 0.8 is negative (v0 < 0), outside [0, ∞); on the
    // total it is total0 / 0.8 > 5, outside the support but inside the physical range; the
    // change from a median of 0 has no percentage.
    assert!(v0 < 0.0 && total0 / 0.8 > 5.0);
    assert_eq!(find(K, "v").switching_value, None);
    let s = find(K, "total");
    close_opt(s.switching_value, Some(total0 / 0.8), "K");
    assert_eq!(s.change_pct, None);
    assert!(s.percentile.is_none());
    // R: v is zero at R = 6 / 7.76, inside Tri(0.5, 0.7, 1) above its mode; the total would need
    // R = (6 − t0) / 7.76 < 0, outside the share's range [0, 1].
    let x = 6.0 / 7.76;
    let s = find(R, "v");
    close_opt(s.switching_value, Some(x), "R");
    let p = tri_cdf(0.5, 0.7, 1.0, x);
    close_opt(s.percentile, Some(p), "R percentile");
    assert!(s.inside_distribution);
    assert_eq!(
        s.note,
        format!(
            "inside its distribution, at the {:.1}th percentile",
            p * 100.0
        )
    );
    let rm = at1(R, 0.5);
    close_opt(s.change_pct, Some((x - rm) / rm * 100.0), "R change");
    assert!((6.0 - t0) / 7.76 < 0.0);
    let s = find(R, "total");
    assert_eq!(s.switching_value, None);
    assert_eq!(
        s.note,
        "no switching value in the physical range (a share in [0, 1])"
    );
}

// ---------------------------------------------------------------------------------------------
// Model 2: grouped factors, a follower, list-valued inputs, positions between two scenarios.
//
// A `between_scenarios` input with low_percentile 0 takes value low + t (mode − low) with
// t ~ PERT(0, 1, upper) of shape 4: upper = 2 (symmetric extension) unless the physical range
// cuts it, so t/2 ~ Beta(3, 3), CDF I(x) = 10x³ − 15x⁴ + 6x⁵; a share from 0.5 to 1 has
// upper = 1, so t ~ Beta(5, 1), CDF t⁵.
//
// Theme w: gross 2, realisation R_w = 0.5 + 0.5 t_w (t_w ~ Beta(5, 1)), one-off costs
//   (3 − t_w, 1, 1) following R_w's position (one factor, driver R_w although the follower's
//   path sorts first): NPV_w = 4.88 R_w − (3 − t_w) − 1.44 = −2 + 3.44 t_w.
// Theme x: gross G_x = 8 + 4s and one-off cost 15 + 20s share one stream `x_scale` (s uniform);
//   ongoing costs (1 − 0.5 t_x, 2 − t_x, 2 − t_x) between scenarios, t_x/2 ~ Beta(3, 3):
//   NPV_x = 2.44 (8 + 4s) − (15 + 20s) − (3.88 − 1.94 t_x) = 0.64 − 10.24 s + 1.94 t_x.
// Theme y: gross 2 + 2 t_g and one-off cost 11 − 2 t_c, each between scenarios (t/2 ~
//   Beta(3, 3)), each its own factor with one value: NPV_y = 2.44 (2 + 2 t_g) − (11 − 2 t_c).
// ---------------------------------------------------------------------------------------------

const MODEL2: &str = r#"
[model]
name = "grouped"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["prudent", "base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "w"
name = "W"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 2.0
realisation = { prudent = 0.5, base = 1.0 }
one_off_costs = { prudent = [3.0, 1.0, 1.0], base = [2.0, 1.0, 1.0] }
partner_shares = { A = 1.0 }

[[themes]]
id = "x"
name = "X"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 10.0
one_off_costs = [25.0, 0.0, 0.0]
ongoing_costs = { prudent = [1.0, 2.0, 2.0], base = [0.5, 1.0, 1.0] }
partner_shares = { A = 1.0 }

[[themes]]
id = "y"
name = "Y"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = { prudent = 2.0, base = 4.0 }
one_off_costs = { prudent = [11.0, 0.0, 0.0], base = [9.0, 0.0, 0.0] }
partner_shares = { A = 1.0 }
"#;

const DISTS2: &str = r#"
[[input]]
path = "themes.w.realisation"
kind = "between_scenarios"
low_percentile = 0.0

[[input]]
path = "themes.w.one_off_costs"
kind = "between_scenarios"
follow = "themes.w.realisation"

[[input]]
path = "themes.x.gross_benefit"
kind = "uniform"
min = 8.0
max = 12.0
stream = "x_scale"

[[input]]
path = "themes.x.one_off_costs[0]"
kind = "uniform"
min = 15.0
max = 35.0
stream = "x_scale"

[[input]]
path = "themes.x.ongoing_costs"
kind = "between_scenarios"
low_percentile = 0.0

[[input]]
path = "themes.y.gross_benefit"
kind = "between_scenarios"
low_percentile = 0.0

[[input]]
path = "themes.y.one_off_costs[0]"
kind = "between_scenarios"
low_percentile = 0.0
"#;

const RW: &str = "themes.w.realisation";
const CW: &str = "themes.w.one_off_costs";
const XS: &str = "x_scale";
const GX: &str = "themes.x.gross_benefit";
const CX: &str = "themes.x.one_off_costs[0]";
const OX: &str = "themes.x.ongoing_costs";
const GY: &str = "themes.y.gross_benefit";
const CY: &str = "themes.y.one_off_costs[0]";

fn plan2() -> Plan {
    plan_of(MODEL2, DISTS2)
}

/// I_x(3, 3) = 10x³ − 15x⁴ + 6x⁵.
fn beta33_cdf(x: f64) -> f64 {
    x * x * x * (10.0 - 15.0 * x + 6.0 * x * x)
}

/// Its inverse by bisection (increasing on [0, 1]).
fn beta33_q(u: f64) -> f64 {
    let (mut a, mut b) = (0.0, 1.0);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        if beta33_cdf(m) < u { a = m } else { b = m }
    }
    0.5 * (a + b)
}

/// Position t at `u` of a between-scenarios input with t/2 ~ Beta(3, 3).
fn t33(u: f64) -> f64 {
    2.0 * beta33_q(u)
}

/// Position of w's factor at `u`: t ~ Beta(5, 1), quantile u^(1/5).
fn tw(u: f64) -> f64 {
    u.powf(0.2)
}

/// Model 2's factors by stream name, in their order, and their driver's value at position `u`.
fn driver2(factor: &str, u: f64) -> f64 {
    match factor {
        RW => 0.5 + 0.5 * tw(u),
        XS => 8.0 + 4.0 * u,
        OX => 1.0 + t33(u) * (0.5 - 1.0),
        GY => 2.0 + 2.0 * t33(u),
        CY => 11.0 - 2.0 * t33(u),
        _ => unreachable!("{factor}"),
    }
}

/// NPVs of w, x, y and the total with factor `factor` at `u`, the others at their medians.
fn npvs2(factor: &str, u: f64) -> [f64; 4] {
    let pos = |f: &str| if f == factor { u } else { 0.5 };
    let w = -2.0 + 3.44 * tw(pos(RW));
    let x = 0.64 - 10.24 * pos(XS) + 1.94 * t33(pos(OX));
    let y = SUM_DF * (2.0 + 2.0 * t33(pos(GY))) - (11.0 - 2.0 * t33(pos(CY)));
    [w, x, y, w + x + y]
}

#[test]
fn grouped_and_following_inputs_form_one_factor_named_by_their_stream() {
    let plan = plan2();
    // The hand formulas against the engine at a few joint positions.
    let factors = plan.factors();
    let names: Vec<&str> = factors.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, [RW, OX, GY, CY, XS]);
    for u in [0.1, 0.5, 0.8] {
        let out = plan.evaluate_at(&vec![u; factors.len()], None);
        let m = ENTITY_MEASURES.len();
        let w = -2.0 + 3.44 * tw(u);
        let x = 0.64 - 10.24 * u + 1.94 * t33(u);
        let y = SUM_DF * (2.0 + 2.0 * t33(u)) - (11.0 - 2.0 * t33(u));
        for (k, want) in [w, x, y, w + x + y].into_iter().enumerate() {
            close(out[k * m], want, &format!("entity {k} at {u}"));
        }
    }
    // The driver: the followed input for w (its follower sorts first), the first for x_scale.
    let by = |n: &str| factors.iter().find(|f| f.name == n).unwrap();
    let path = |i: usize| plan.set.inputs[i].param.path.as_str();
    assert_eq!(path(by(RW).inputs[0]), CW);
    assert_eq!(path(driver(&plan, by(RW))), RW);
    assert_eq!(path(driver(&plan, by(XS))), GX);
    assert_eq!(path(driver(&plan, by(GY))), GY);
    // The notes name each group and its driver.
    let n = notes(&plan);
    assert_eq!(n.len(), 2, "{n:?}");
    assert!(n[0].starts_with(&format!("Factor `{RW}` moves {CW}, {RW} together")));
    assert!(n[0].contains(&format!("its driver, {RW})")), "{}", n[0]);
    assert!(n[1].starts_with(&format!("Factor `{XS}` moves {GX}, {CX} together")));
    assert!(n[1].contains(&format!("its driver, {GX})")), "{}", n[1]);
    assert!(notes(&plan1()).is_empty());
}

#[test]
fn tornado_of_grouped_factors_gives_the_driver_first_and_its_values() {
    let plan = plan2();
    let bars = tornado(&plan, (0.1, 0.9));
    let mut swings = Vec::new();
    for b in &bars {
        let f = b.factor.as_str();
        let want_inputs: Vec<&str> = match f {
            RW => vec![RW, CW],
            XS => vec![GX, CX],
            _ => vec![f],
        };
        assert_eq!(b.inputs, want_inputs);
        close(b.central_value, driver2(f, 0.5), f);
        close(b.low_value, driver2(f, 0.1), f);
        close(b.high_value, driver2(f, 0.9), f);
        let (lo, hi) = (npvs2(f, 0.1), npvs2(f, 0.9));
        close(b.total_low, lo[3], f);
        close(b.total_high, hi[3], f);
        close(b.swing, (hi[3] - lo[3]).abs(), f);
        let ids: Vec<&str> = b.themes.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(ids, ["w", "x", "y"]);
        for (k, t) in b.themes.iter().enumerate() {
            close(t.low, lo[k], f);
            close(t.high, hi[k], f);
        }
        swings.push((hi[3] - lo[3]).abs());
    }
    // Largest swing first: x_scale 10.24 × 0.8 = 8.19, then y's gross (4.88 × (t90 − t10)),
    // y's cost (2 × (t90 − t10)), x's ongoing (1.94 × …), w (3.44 × (0.9^0.2 − 0.1^0.2)).
    assert!(swings.windows(2).all(|p| p[0] >= p[1]), "{swings:?}");
    let order: Vec<&str> = bars.iter().map(|b| b.factor.as_str()).collect();
    assert_eq!(order, [XS, GY, CY, OX, RW]);
}

#[test]
fn switching_values_of_grouped_and_between_scenario_inputs() {
    let plan = plan2();
    let sv = switching_values(&plan);
    let c0 = npvs2(RW, 0.5);
    let (w0, x0, y0, total0) = (c0[0], c0[1], c0[2], c0[3]);
    let find = |factor: &str, entity: &str| {
        sv.iter()
            .find(|s| s.factor == factor && s.entity == entity)
            .unwrap_or_else(|| panic!("{factor} / {entity}"))
    };
    assert_eq!(sv.len(), 10, "each factor for its theme and the total");
    const GROUPED: &str = "(grouped or list-valued factor: searched within its distribution)";

    // w's factor (grouped, list-valued follower): NPV_w = −2 + 3.44 t is zero at t = 2 / 3.44,
    // at position u = t⁵; the driver's value there is 0.5 + 0.5 t.
    let t: f64 = 2.0 / 3.44;
    let u = t.powi(5);
    let s = find(RW, "w");
    assert_eq!(s.input, RW);
    close(s.central_value, driver2(RW, 0.5), "Rw central");
    close_opt(s.switching_value, Some(0.5 + 0.5 * t), "Rw");
    close_opt(s.percentile, Some(u), "Rw percentile");
    assert!(s.inside_distribution);
    assert_eq!(
        s.note,
        format!(
            "inside its distribution, at the {:.1}th percentile {GROUPED}",
            u * 100.0
        )
    );
    let cv = driver2(RW, 0.5);
    close_opt(
        s.change_pct,
        Some((0.5 + 0.5 * t - cv) / cv * 100.0),
        "Rw change",
    );
    // On the total (negative at the medians) it would need t = t_med − total0 / 3.44 > 1, beyond
    // the position's maximum.
    assert!(total0 < 0.0 && tw(0.5) - total0 / 3.44 > 1.0);
    let s = find(RW, "total");
    assert_eq!(s.switching_value, None);
    assert_eq!(s.percentile, None);
    assert_eq!(
        s.note,
        "no switching value inside its distribution (grouped or list-valued factor: searched within its distribution only)"
    );
    assert!(w0 > 0.0);

    // x_scale: NPV falls by 10.24 per unit of s: zero at s = 0.5 + NPV / 10.24, the driver G_x
    // there 8 + 4s.
    for (e, npv) in [("x", x0), ("total", total0)] {
        let s = find(XS, e);
        assert_eq!(s.input, GX);
        let u = 0.5 + npv / 10.24;
        assert!(u > 0.0 && u < 1.0);
        close_opt(s.switching_value, Some(8.0 + 4.0 * u), "x_scale");
        close_opt(s.percentile, Some(u), "x_scale percentile");
        close_opt(
            s.change_pct,
            Some((8.0 + 4.0 * u - 10.0) / 10.0 * 100.0),
            "x_scale change",
        );
    }

    // x's ongoing costs (one list-valued input): NPV rises by 1.94 per unit of t: zero at
    // t = 1 − NPV / 1.94, inside (0, 2) for the total only; the first year's value there is
    // 1 − 0.5 t, its position I(t / 2).
    assert!(1.0 - x0 / 1.94 > 2.0);
    assert_eq!(find(OX, "x").switching_value, None);
    let t = 1.0 - total0 / 1.94;
    let s = find(OX, "total");
    close_opt(s.switching_value, Some(1.0 - 0.5 * t), "ongoing");
    close_opt(
        s.percentile,
        Some(beta33_cdf(t / 2.0)),
        "ongoing percentile",
    );

    // y's gross (one value between scenarios, searched over [0, ∞)): NPV = 2.44 G − c_med, so
    // zero at G = 4 − NPV / 2.44, its position t = (G − 2) / 2 and percentile I(t / 2).
    for (e, npv) in [("y", y0), ("total", total0)] {
        let s = find(GY, e);
        let g = 4.0 - npv / SUM_DF;
        let t = (g - 2.0) / 2.0;
        assert!(t > 0.0 && t < 2.0);
        close_opt(s.switching_value, Some(g), "Gy");
        close_opt(s.percentile, Some(beta33_cdf(t / 2.0)), "Gy percentile");
        assert!(s.inside_distribution);
        close_opt(s.change_pct, Some((g - 4.0) / 4.0 * 100.0), "Gy change");
    }
    // y's cost (low scenario above the mode: the value falls as the position rises): zero at
    // c = 9 + NPV, position t = (11 − c) / 2, so the value's percentile is 1 − I(t / 2).
    for (e, npv) in [("y", y0), ("total", total0)] {
        let s = find(CY, e);
        let c = 9.0 + npv;
        let t = (11.0 - c) / 2.0;
        assert!(t > 0.0 && t < 2.0);
        close_opt(s.switching_value, Some(c), "Cy");
        close_opt(
            s.percentile,
            Some(1.0 - beta33_cdf(t / 2.0)),
            "Cy percentile",
        );
    }
}

#[test]
fn percentile_of_a_value_inside_and_outside_the_support() {
    let plan1 = plan1();
    fn dist<'a>(p: &'a Plan, path: &str) -> &'a InputDist {
        &p.set
            .inputs
            .iter()
            .find(|i| i.param.path == path)
            .unwrap()
            .dist
    }
    let g = dist(&plan1, G);
    // U(8, 12): (x − 8) / 4 inside, ends included; nothing outside.
    close_opt(percentile_of(g, 9.0), Some(0.25), "9");
    close_opt(percentile_of(g, 8.0), Some(0.0), "8");
    close_opt(percentile_of(g, 12.0), Some(1.0), "12");
    assert_eq!(percentile_of(g, 7.999), None);
    assert_eq!(percentile_of(g, 12.001), None);
    let plan2 = plan2();
    // y's gross: 2 + 2t, t/2 ~ Beta(3, 3) on [0, 2]: values 2 to 6.
    let gy = dist(&plan2, GY);
    close_opt(percentile_of(gy, 3.0), Some(beta33_cdf(0.25)), "Gy 3");
    close_opt(percentile_of(gy, 2.0), Some(0.0), "Gy 2");
    close_opt(percentile_of(gy, 6.0), Some(1.0), "Gy 6");
    assert_eq!(percentile_of(gy, 1.9), None);
    assert_eq!(percentile_of(gy, 6.1), None);
    // y's cost: 11 − 2t, values 7 to 11, decreasing in t.
    let cy = dist(&plan2, CY);
    close_opt(
        percentile_of(cy, 10.0),
        Some(1.0 - beta33_cdf(0.25)),
        "Cy 10",
    );
    close_opt(percentile_of(cy, 7.0), Some(0.0), "Cy 7");
    close_opt(percentile_of(cy, 11.0), Some(1.0), "Cy 11");
    assert_eq!(percentile_of(cy, 11.5), None);
    assert_eq!(percentile_of(cy, 6.5), None);
}

// ---------------------------------------------------------------------------------------------
// The root finders.
// ---------------------------------------------------------------------------------------------

#[test]
fn bisect_finds_the_root_of_increasing_and_decreasing_functions() {
    let s2 = std::f64::consts::SQRT_2;
    let up = |x: f64| x * x - 2.0;
    let down = |x: f64| 2.0 - x * x;
    close(bisect(&up, 0.0, 2.0), s2, "up");
    close(bisect(&down, 0.0, 2.0), s2, "down");
    close(bisect(&up, 2.0, 0.0), s2, "reversed");
    // An exact midpoint root is returned as is.
    assert_eq!(bisect(&|x: f64| x - 1.0, 0.0, 2.0), 1.0);
    // Far from 0 the tolerance is relative.
    close(
        bisect(&|x: f64| x - 1234.5678, 0.0, 1e4),
        1234.5678,
        "large",
    );
    // It stops once the bracket is within 1e-12 (1 + |a|): from [0, 2] around √2 that takes the
    // first k with 2 / 2^k ≤ 1e-12 (1 + √2), k = 40 halvings, one evaluation each after g(a).
    let calls = std::cell::Cell::new(0);
    let counted = |x: f64| {
        calls.set(calls.get() + 1);
        x * x - 2.0
    };
    close(bisect(&counted, 0.0, 2.0), s2, "counted");
    let k = (2.0 / (1e-12 * (1.0 + s2))).log2().ceil() as usize;
    assert_eq!(k, 40);
    assert_eq!(calls.get(), 1 + k);
}

#[test]
fn nearest_root_searches_both_ways_within_the_bounds() {
    let inf = f64::INFINITY;
    let two = |x: f64| (x - 1.0) * (x - 4.0);
    close_opt(nearest_root(&two, 2.0, -inf, inf), Some(1.0), "from 2");
    close_opt(nearest_root(&two, 3.0, -inf, inf), Some(4.0), "from 3");
    close_opt(
        nearest_root(&two, 3.0, -inf, 3.5),
        Some(1.0),
        "4 beyond the bound",
    );
    close_opt(
        nearest_root(&two, 2.0, 1.5, inf),
        Some(4.0),
        "1 beyond the bound",
    );
    assert_eq!(nearest_root(&two, 2.0, 1.5, 3.5), None);
    // A root at x0 itself, and one exactly at a bound.
    assert_eq!(nearest_root(&two, 4.0, 0.0, 10.0), Some(4.0));
    close_opt(
        nearest_root(&|x: f64| x - 3.0, 1.0, 0.0, 3.0),
        Some(3.0),
        "at the bound",
    );
    close_opt(
        nearest_root(&|x: f64| x + 3.0, 1.0, -3.0, 5.0),
        Some(-3.0),
        "at the lower bound",
    );
    // Roots far away (the steps double) and near 0 (the scale floor).
    close_opt(
        nearest_root(&|x: f64| x - 1e6, 1.0, 0.0, inf),
        Some(1e6),
        "far",
    );
    close_opt(
        nearest_root(&|x: f64| 5.0 - x, 0.0, -inf, inf),
        Some(5.0),
        "from 0",
    );
    assert_eq!(nearest_root(&|x: f64| x * x + 1.0, 0.5, -inf, inf), None);
    // Two roots close together below x0: the steps (0.02, 0.04, 0.08, … times x0) land between
    // them before passing both, so the nearer, 1.5, is found.
    close_opt(
        nearest_root(&|x: f64| (x - 1.0) * (x - 1.5), 2.0, -inf, inf),
        Some(1.5),
        "close pair",
    );
    // Of a root on each side, the nearer wins even when it was found second: 2.5 (0.5 away)
    // over 1 (1 away).
    close_opt(
        nearest_root(&|x: f64| (x - 1.0) * (x - 2.5), 2.0, -inf, inf),
        Some(2.5),
        "nearer second",
    );
    // Steps scale with x0: from 0.001 the first steps are 1e-5, 2e-5, …, so two roots 1e-4 and
    // 2e-4 above are told apart (a step of order 1 would pass both).
    close_opt(
        nearest_root(&|x: f64| (x - 0.0011) * (x - 0.0012), 0.001, 0.0, inf),
        Some(0.0011),
        "small scale",
    );
    // Decreasing and increasing alike; a root on the left only.
    close_opt(
        nearest_root(&|x: f64| 2.0 - x, 10.0, 0.0, inf),
        Some(2.0),
        "left",
    );
}

// ---------------------------------------------------------------------------------------------
// Rank correlations and scenario analysis, by brute force from the kept draws.
// ---------------------------------------------------------------------------------------------

fn draws_of(plan: &Plan, n: u64) -> Draws {
    let o = RunOptions {
        draws: n,
        seed: 7,
        sampler: SamplerKind::MonteCarlo,
        block_size: DEFAULT_BLOCK,
        skip_nonfinite: false,
    };
    plan.run(&o, &|_| {}).unwrap()
}

/// Ranks 1..n, ties given the mean of the ranks they span.
fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].partial_cmp(&v[b]).unwrap());
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let mean = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = mean;
        }
        i = j + 1;
    }
    r
}

/// Spearman's ρ as the Pearson correlation of average ranks; 0 when a column is constant.
/// Written out from the definition (a comparison sort, not `stats::ranks`' radix sort), for the
/// tests of every module that reports a rank correlation.
pub(crate) fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[test]
fn rank_correlations_are_spearman_of_each_input_with_each_headline_npv() {
    let plan = plan1();
    let d = draws_of(&plan, 401);
    let rc = rank_correlations(&plan, &d);
    let m = ENTITY_MEASURES.len();
    // Headline entities t, v and the total (index 3; u at index 2 is left out), inputs in order.
    let entities = [(0, "t"), (1, "v"), (3, "total")];
    let ni = plan.set.inputs.len();
    assert_eq!(rc.len(), entities.len() * ni);
    for (k, &(e, name)) in entities.iter().enumerate() {
        let y = &d.outcomes[e * m];
        let rho: Vec<f64> = d.inputs.iter().map(|x| spearman(x, y)).collect();
        let sum: f64 = rho.iter().map(|r| r * r).sum();
        for i in 0..ni {
            let r = &rc[k * ni + i];
            assert_eq!(r.entity, name);
            assert_eq!(r.input, plan.set.inputs[i].param.path);
            assert!(
                (r.spearman - rho[i]).abs() < 1e-12,
                "{} / {name}: {} against {}",
                r.input,
                r.spearman,
                rho[i]
            );
            assert!((r.contribution - rho[i] * rho[i] / sum).abs() < 1e-12);
        }
    }
    // The fixed input has no rank correlation (a constant column), the indicative theme's
    // input none with t, and G nearly all of t's (t = 2.44 G − C − 0.32, G's range the wider).
    let get = |input: &str, e: &str| {
        rc.iter()
            .find(|r| r.input == input && r.entity == e)
            .unwrap()
    };
    assert_eq!(get(O, "total").spearman, 0.0);
    assert_eq!(get(O, "total").contribution, 0.0);
    assert!(get(G, "t").spearman > 0.9);
    assert!(get(C, "t").spearman < 0.0);
    assert!(get(K, "v").spearman < 0.0);
}

/// Median of a sample (mean of the middle two when even).
fn median_of(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// Sample standard deviation (n − 1), two passes.
fn sd_of(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[test]
fn scenario_regions_are_the_draws_below_zero_and_the_worst_tenth() {
    let plan = plan1();
    for n in [401u64, 400] {
        let d = draws_of(&plan, n);
        let regions = scenario_analysis(&plan, &d);
        let m = ENTITY_MEASURES.len();
        let entities = [(0, "t"), (1, "v"), (3, "total")];
        assert_eq!(regions.len(), 2 * entities.len());
        let n = n as usize;
        let k = n.div_ceil(10);
        for (j, &(e, name)) in entities.iter().enumerate() {
            let y = &d.outcomes[e * m];
            let below: Vec<usize> = (0..n).filter(|&i| y[i] < 0.0).collect();
            let mut by_value: Vec<usize> = (0..n).collect();
            by_value.sort_by(|&a, &b| y[a].partial_cmp(&y[b]).unwrap().then(a.cmp(&b)));
            let worst: Vec<usize> = by_value[..k].to_vec();
            let bound = y[by_value[k - 1]];
            for (r, (region, threshold, rows)) in [
                ("npv_below_zero", 0.0, below),
                ("worst_10pct", bound, worst),
            ]
            .into_iter()
            .enumerate()
            {
                let got = &regions[2 * j + r];
                assert_eq!(got.entity, name);
                assert_eq!(got.region, region);
                assert_eq!(got.threshold, threshold, "{name} {region}");
                assert_eq!(got.draws, rows.len(), "{name} {region}");
                assert_eq!(got.total_draws, n);
                if rows.is_empty() {
                    assert!(got.inputs.is_empty());
                    continue;
                }
                assert_eq!(got.inputs.len(), plan.set.inputs.len());
                for (i, x) in d.inputs.iter().enumerate() {
                    let path = &plan.set.inputs[i].param.path;
                    let s = got.inputs.iter().find(|s| &s.input == path).unwrap();
                    let sub: Vec<f64> = rows.iter().map(|&r| x[r]).collect();
                    let (om, sm, sd) = (median_of(x), median_of(&sub), sd_of(x));
                    let shift = if sd > 0.0 { (sm - om) / sd } else { 0.0 };
                    close(s.overall_median, om, path);
                    close(s.subset_median, sm, path);
                    close(s.sd, sd, path);
                    close(s.shift_sd, shift, path);
                    assert_eq!(s.significant, shift.abs() >= 0.5, "{path}");
                }
                let shifts: Vec<f64> = got.inputs.iter().map(|s| s.shift_sd.abs()).collect();
                assert!(shifts.windows(2).all(|p| p[0] >= p[1]), "{shifts:?}");
            }
        }
        // t and the total are positive in every draw (t ≥ 2.44 × 8 − 4 − 0.32, total ≥ that
        // − 6 − 4 + 3.88); v's is negative in some draws, and low R and high K bring it there:
        // every draw with K = 5 (40%) is in, so K's median there is 5, two sd above its overall 0.
        assert_eq!(regions[0].draws, 0);
        assert_eq!(regions[4].draws, 0);
        let v = &regions[2];
        assert!(v.draws > 0 && v.draws < n);
        assert_eq!(v.inputs[0].input, K);
        assert!(v.inputs[0].significant);
        assert!(!v.inputs.last().unwrap().significant);
        let r = v.inputs.iter().find(|s| s.input == R).unwrap();
        assert!(r.shift_sd < 0.0);
        let k = v.inputs.iter().find(|s| s.input == K).unwrap();
        assert!(k.shift_sd > 0.0);
    }
    assert!(scenario_analysis(&plan, &plan.empty_draws()).is_empty());
}

#[test]
fn scenario_worst_tenth_breaks_ties_by_draw_order() {
    // Only K moves v's NPV (R fixed): the NPV takes two values, so the worst tenth is the first
    // ⌈n/10⌉ draws with K = 5 in draw order.
    let dists = DISTS1.replace(
        "kind = \"triangular\"\nmin = 0.5\nmode = 0.7\nmax = 1.0",
        "kind = \"fixed\"\nvalue = 0.7",
    );
    let plan = plan_of(MODEL1, &dists);
    let d = draws_of(&plan, 95);
    let regions = scenario_analysis(&plan, &d);
    let v = &regions[3];
    assert_eq!(v.region, "worst_10pct");
    assert_eq!(v.draws, 10);
    let ki = plan
        .set
        .inputs
        .iter()
        .position(|i| i.param.path == K)
        .unwrap();
    let gi = plan
        .set
        .inputs
        .iter()
        .position(|i| i.param.path == G)
        .unwrap();
    let rows: Vec<usize> = (0..95)
        .filter(|&r| d.inputs[ki][r] == 5.0)
        .take(10)
        .collect();
    assert_eq!(rows.len(), 10);
    let g: Vec<f64> = rows.iter().map(|&r| d.inputs[gi][r]).collect();
    let s = v.inputs.iter().find(|s| s.input == G).unwrap();
    close(s.subset_median, median_of(&g), "G in the worst tenth");
    close(v.threshold, npv_v(0.7, 5.0), "bound");
}

// ---------------------------------------------------------------------------------------------
// Sobol indices and Shapley effects of a model with an interaction.
// ---------------------------------------------------------------------------------------------

#[test]
fn sobol_first_and_total_and_shapley_of_a_product() {
    // NPV = 2.44 G R − C, G ~ U(1, 3), R ~ U(0, 1), C ~ U(0, 1) independent (three factors, so
    // that a design of 2 + k columns differs from one of 2k). With a = 2.44², μ_G = 2,
    // σ²_G = 1/3, E[G²] = 13/3, μ_R = 1/2, σ²_R = 1/12, E[R²] = 1/3, σ²_C = 1/12:
    // V = a (E[G²] E[R²] − (μ_G μ_R)²) + σ²_C = 4a/9 + 1/12;
    // S_G = a μ_R² σ²_G / V = (a/12) / V, S_TG = a E[R²] σ²_G / V = (a/9) / V,
    // S_R = a μ_G² σ²_R / V = (a/3) / V, S_TR = a E[G²] σ²_R / V = (13a/36) / V,
    // S_C = S_TC = (1/12) / V; Shapley effects (S + S_T) / 2 for G and R (their interaction is
    // shared equally), S_C for C. First and total orders of G and R differ by (a/36) / V = 0.061.
    // Tolerance 0.03: under independent sampling the estimators' standard deviations at
    // N = 4096 are about 0.019 (first order, the largest) and 0.008 (total order), found by
    // simulation; at N = 32768 they are √8 times smaller, so 0.03 is over four of them, and a
    // scrambled Sobol design is more precise still for this smooth integrand. The Shapley
    // effects use N/4 = 8192 rows.
    let model = r#"
[model]
name = "product"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 2.0
realisation = 0.5
one_off_costs = [0.5, 0.0, 0.0]
partner_shares = { A = 1.0 }
"#;
    let dists = r#"
[[input]]
path = "themes.t.gross_benefit"
kind = "uniform"
min = 1.0
max = 3.0

[[input]]
path = "themes.t.one_off_costs[0]"
kind = "uniform"
min = 0.0
max = 1.0

[[input]]
path = "themes.t.realisation"
kind = "uniform"
min = 0.0
max = 1.0
"#;
    let plan = plan_of(model, dists);
    let o = SensitivityOptions {
        levels: (0.1, 0.9),
        sobol_base: 32768,
        bootstrap: 100,
        confidence: 0.9,
        seed: 3,
    };
    let r = sobol(&plan, &o).unwrap();
    let names: Vec<&str> = r.iter().map(|x| x.entity.as_str()).collect();
    assert_eq!(names, ["t", "total"]);
    let a = SUM_DF * SUM_DF;
    let v = 4.0 * a / 9.0 + 1.0 / 12.0;
    for x in &r {
        assert!((x.variance - v).abs() < 0.05 * v, "{}", x.variance);
        assert!((x.shapley.variance - v).abs() < 0.05 * v);
        assert_eq!(x.base_draws, 32768);
        assert_eq!(x.model_runs, 32768 * 5);
        assert_eq!(x.shapley.base_draws, 8192);
        assert!(x.shapley.all_subsets);
        let f: Vec<&str> = x.factors.iter().map(|f| f.factor.as_str()).collect();
        assert_eq!(
            f,
            [
                "themes.t.gross_benefit",
                "themes.t.one_off_costs[0]",
                "themes.t.realisation"
            ]
        );
        let (sg, stg) = (a / 12.0 / v, a / 9.0 / v);
        let (sr, str_) = (a / 3.0 / v, 13.0 * a / 36.0 / v);
        let sc = 1.0 / 12.0 / v;
        for (f, first, total, sh) in [
            (&x.factors[0], sg, stg, (sg + stg) / 2.0),
            (&x.factors[1], sc, sc, sc),
            (&x.factors[2], sr, str_, (sr + str_) / 2.0),
        ] {
            assert_eq!(f.inputs, [f.factor.as_str()]);
            let ok = |got: [f64; 3], want: f64, what: &str| {
                assert!(
                    (got[0] - want).abs() < 0.03 && got[1] <= got[0] && got[0] <= got[2],
                    "{} {what}: {got:?} against {want}",
                    f.factor
                );
            };
            ok(f.first, first, "first");
            ok(f.total, total, "total");
            ok(f.shapley, sh, "shapley");
        }
    }
    // No factor: refused.
    let none = plan_of(model, "");
    assert!(
        sobol(&none, &o)
            .unwrap_err()
            .contains("at least one uncertain input")
    );
}

// ---------------------------------------------------------------------------------------------
// Units.
// ---------------------------------------------------------------------------------------------

fn analysis_of(plan: &Plan) -> Sensitivity {
    let d = draws_of(plan, 200);
    Sensitivity {
        central_npv: central(plan),
        tornado: tornado(plan, (0.1, 0.9)),
        switching: switching_values(plan),
        rank: rank_correlations(plan, &d),
        sobol: vec![SobolResult {
            entity: "total".into(),
            variance: 2.0,
            base_draws: 64,
            model_runs: 256,
            shapley: ShapleySummary {
                variance: 3.0,
                base_draws: 64,
                model_runs: 512,
                all_subsets: true,
            },
            factors: vec![SobolFactor {
                factor: "f".into(),
                inputs: vec!["f".into()],
                first: [0.1, 0.05, 0.2],
                total: [0.3, 0.2, 0.4],
                shapley: [0.2, 0.1, 0.3],
            }],
        }],
        scenario: scenario_analysis(plan, &d),
        notes: notes(plan),
    }
}

#[test]
fn in_unit_scales_money_only() {
    let s = analysis_of(&plan1());
    let k = 1000.0;
    let m = s.in_unit(MoneyUnit::Million);
    for (a, b) in s.central_npv.iter().zip(&m.central_npv) {
        assert_eq!(a.0, b.0);
        close(b.1, a.1 * k, &a.0);
    }
    for (a, b) in s.tornado.iter().zip(&m.tornado) {
        close(b.total_low, a.total_low * k, "low");
        close(b.total_high, a.total_high * k, "high");
        close(b.swing, a.swing * k, "swing");
        // Input values stay in their parameter's unit.
        assert_eq!(
            (b.central_value, b.low_value, b.high_value),
            (a.central_value, a.low_value, a.high_value)
        );
        for (x, y) in a.themes.iter().zip(&b.themes) {
            close(y.low, x.low * k, "theme low");
            close(y.high, x.high * k, "theme high");
        }
    }
    for (a, b) in s.switching.iter().zip(&m.switching) {
        assert_eq!(a.switching_value, b.switching_value);
        assert_eq!(a.percentile, b.percentile);
        assert_eq!(a.change_pct, b.change_pct);
    }
    for (a, b) in s.rank.iter().zip(&m.rank) {
        assert_eq!((a.spearman, a.contribution), (b.spearman, b.contribution));
    }
    close(m.sobol[0].variance, 2.0 * k * k, "variance");
    close(m.sobol[0].shapley.variance, 3.0 * k * k, "shapley variance");
    assert_eq!(m.sobol[0].factors[0].first, [0.1, 0.05, 0.2]);
    assert_eq!(m.sobol[0].factors[0].total, [0.3, 0.2, 0.4]);
    assert_eq!(m.sobol[0].factors[0].shapley, [0.2, 0.1, 0.3]);
    for (a, b) in s.scenario.iter().zip(&m.scenario) {
        close(b.threshold, a.threshold * k, "threshold");
        for (x, y) in a.inputs.iter().zip(&b.inputs) {
            assert_eq!(
                (x.overall_median, x.subset_median, x.sd, x.shift_sd),
                (y.overall_median, y.subset_median, y.sd, y.shift_sd)
            );
        }
    }
    // Thousands and pounds likewise.
    let p = s.in_unit(MoneyUnit::Pound);
    close(p.central_npv[0].1, s.central_npv[0].1 * 1e9, "£");
    close(p.sobol[0].variance, 2.0 * 1e18, "£² variance");
    let t = s.in_unit(MoneyUnit::Thousand);
    close(t.tornado[0].swing, s.tornado[0].swing * 1e6, "£k");
    // £bn: unchanged.
    let b = s.in_unit(MoneyUnit::Billion);
    assert_eq!(b.central_npv, s.central_npv);
    assert_eq!(b.sobol[0].variance, 2.0);
    assert_eq!(b.tornado[0].swing, s.tornado[0].swing);
}

#[test]
fn money_unit_follows_the_largest_central_or_tornado_npv() {
    let mut s = analysis_of(&plan1());
    // Totals of some £20bn: £bn.
    assert_eq!(s.money_unit(), MoneyUnit::Billion);
    // Central NPVs of £0.5k at most; a tornado total of −£0.3bn (a negative end counts by its
    // size) makes it £m, as does a high end of £0.2bn alone.
    for (_, v) in &mut s.central_npv {
        *v = 5e-7;
    }
    for b in &mut s.tornado {
        b.total_low = 1e-7;
        b.total_high = 1e-7;
    }
    assert_eq!(s.money_unit(), MoneyUnit::Pound);
    s.central_npv[1].1 = -5e-6;
    assert_eq!(s.money_unit(), MoneyUnit::Thousand);
    s.tornado[2].total_low = -0.3;
    assert_eq!(s.money_unit(), MoneyUnit::Million);
    s.tornado[2].total_low = 0.0;
    s.tornado[4].total_high = 0.2;
    assert_eq!(s.money_unit(), MoneyUnit::Million);
    s.central_npv[0].1 = -2.0;
    assert_eq!(s.money_unit(), MoneyUnit::Billion);
    s.central_npv[0].1 = 0.0;
    // The JSON is written in that unit and names it.
    let j: serde_json::Value = serde_json::from_str(&s.json()).unwrap();
    assert_eq!(j["money_unit"], "£m");
    close(
        j["tornado"][4]["total_high"].as_f64().unwrap(),
        200.0,
        "json total_high",
    );
    close(
        j["central_npv"][1][1].as_f64().unwrap(),
        -5e-3,
        "json central",
    );
    assert!(s.json().ends_with("}\n"));
}

#[test]
fn factor_correlation_and_notes_of_correlated_inputs() {
    // G ~ R at rank 0.5 (continuous marginals: normal-score correlation 2 sin(π ρ / 6)), G ~ K at
    // 0.3 (K discrete: solved for its ties instead), R ~ K 0.
    let dists = format!(
        "{DISTS1}\n[correlation]\ninputs = [\"{G}\", \"{R}\", \"{K}\"]\nrank = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.0], [0.3, 0.0, 1.0]]\n"
    );
    let plan = plan_of(MODEL1, &dists);
    let fc = factor_correlation(&plan);
    // Factors G, C, O, H, K, R (stream order).
    let (g, k, r) = (0, 4, 5);
    let c = plan.set.correlation.as_ref().unwrap();
    let continuous = |rho: f64| 2.0 * (std::f64::consts::PI * rho / 6.0).sin();
    assert_eq!(fc.len(), 6);
    for (i, row) in fc.iter().enumerate() {
        assert_eq!(row.len(), 6);
        for (j, &x) in row.iter().enumerate() {
            let want = match (i.min(j), i.max(j)) {
                _ if i == j => 1.0,
                (0, 5) => continuous(0.5),
                // The solved value sits where G and K meet (the copula's, indices 0 and 2 of its
                // inputs); it is not the continuous formula's.
                (0, 4) => c.normal[0][2],
                _ => 0.0,
            };
            close(x, want, &format!("[{i}][{j}]"));
        }
    }
    assert!((fc[g][k] - continuous(0.3)).abs() > 1e-6 && fc[g][k] > 0.0);
    assert_eq!(fc[k][r], 0.0);
    let n = notes(&plan);
    assert_eq!(n.len(), 2 + c.notes.len(), "{n:?}");
    assert!(
        n[0].starts_with(&format!(
            "Inputs correlated by design: {R} ~ {G} (0.5); {K} ~ {G} (0.3). "
        )),
        "{}",
        n[0]
    );
    assert!(
        n[1].starts_with(&format!(
            "Normal-score correlations of the copula solved for inputs with ties or clipped ends, so that their rank correlations meet the targets: {K} ~ {G}: {:.3} (2 sin(πρ/6) would give {:.3}, rank correlation ",
            fc[g][k],
            continuous(0.3)
        )),
        "{}",
        n[1]
    );
    assert!(!n[1].contains(&format!("{R} ~ {G}")));
    // Without the discrete input, no solved note.
    let dists = format!(
        "{DISTS1}\n[correlation]\ninputs = [\"{G}\", \"{R}\"]\nrank = [[1.0, -0.4], [-0.4, 1.0]]\n"
    );
    let plan = plan_of(MODEL1, &dists);
    close(factor_correlation(&plan)[r][g], continuous(-0.4), "G ~ R");
    let n = notes(&plan);
    assert_eq!(
        n.len(),
        1 + plan.set.correlation.as_ref().unwrap().notes.len()
    );
    assert!(n[0].starts_with(&format!("Inputs correlated by design: {R} ~ {G} (-0.4). ")));
    // A zero target alone gives no note of pairs.
    let dists = format!(
        "{DISTS1}\n[correlation]\ninputs = [\"{G}\", \"{R}\"]\nrank = [[1.0, 0.0], [0.0, 1.0]]\n"
    );
    let plan = plan_of(MODEL1, &dists);
    assert_eq!(
        notes(&plan).len(),
        plan.set.correlation.as_ref().unwrap().notes.len()
    );
    assert_eq!(factor_correlation(&plan)[r][g], 0.0);
}

#[test]
fn rank_correlations_with_a_constant_outcome_are_zero() {
    // Only the indicative theme's input is uncertain: every headline NPV is constant, so every
    // correlation is 0 and so is every contribution (not 0/0).
    let dists =
        "[[input]]\npath = \"themes.u.gross_benefit\"\nkind = \"uniform\"\nmin = 2.0\nmax = 4.0\n";
    let plan = plan_of(MODEL1, dists);
    let d = draws_of(&plan, 50);
    let rc = rank_correlations(&plan, &d);
    assert_eq!(rc.len(), 3);
    for r in &rc {
        assert_eq!((r.spearman, r.contribution), (0.0, 0.0), "{r:?}");
    }
}

#[test]
fn a_zero_npv_is_not_below_zero_and_ties_go_by_draw_order() {
    // NPV = 2.44 G R with G ∈ {0, 1} (equal weights) and R ~ U(0, 1): exactly 0 when G = 0.
    // No draw is below zero; the worst tenth is the first ⌈n/10⌉ draws with G = 0.
    let model = r#"
[model]
name = "zero"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 1.0
partner_shares = { A = 1.0 }
"#;
    let dists = r#"
[[input]]
path = "themes.t.gross_benefit"
kind = "discrete"
values = [0.0, 1.0]
weights = [0.5, 0.5]

[[input]]
path = "themes.t.realisation"
kind = "uniform"
min = 0.0
max = 1.0
"#;
    let plan = plan_of(model, dists);
    let n = 120;
    let d = draws_of(&plan, n as u64);
    let regions = scenario_analysis(&plan, &d);
    assert_eq!(regions.len(), 4);
    assert_eq!(regions[0].region, "npv_below_zero");
    assert_eq!(regions[0].draws, 0);
    let worst = &regions[1];
    assert_eq!(worst.draws, 12);
    assert_eq!(worst.threshold, 0.0);
    let zero: Vec<usize> = (0..n).filter(|&i| d.inputs[0][i] == 0.0).collect();
    assert!(zero.len() > 12);
    let r: Vec<f64> = zero[..12].iter().map(|&i| d.inputs[1][i]).collect();
    let s = worst
        .inputs
        .iter()
        .find(|s| s.input == "themes.t.realisation")
        .unwrap();
    close(
        s.subset_median,
        median_of(&r),
        "R in the first twelve zero draws",
    );
}

#[test]
fn switching_value_of_a_discount_rate_moves_every_headline_entity() {
    // One rate r for every year, d = 1/(1 + r). Theme t: benefit 4 in year 1 only, cost 1 in
    // year 3: NPV_t = 4 − d², zero at d = 2, r = −0.5, inside the rate's range (−1, ∞) but
    // below U(0, 0.5). Theme z: benefit 1 a year, no cost: 1 + d + d² > 0 for every rate, and
    // so the total 5 + d: no switching value. Every headline entity is touched by the rate.
    let model = r#"
[model]
name = "rate"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend = 100.0
profile = [1.0, 0.0]
gross_benefit = 4.0
one_off_costs = [0.0, 0.0, 1.0]
partner_shares = { A = 1.0 }

[[themes]]
id = "z"
name = "Z"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 1.0
partner_shares = { A = 1.0 }
"#;
    let dists = "[[input]]\npath = \"discount_rate\"\nkind = \"uniform\"\nmin = 0.0\nmax = 0.5\n";
    let plan = plan_of(model, dists);
    let sv = switching_values(&plan);
    let entities: Vec<&str> = sv.iter().map(|s| s.entity.as_str()).collect();
    assert_eq!(entities, ["t", "z", "total"]);
    let t = &sv[0];
    close(t.central_value, 0.25, "median rate");
    close_opt(t.switching_value, Some(-0.5), "rate");
    close_opt(t.change_pct, Some(-300.0), "rate change");
    assert!(t.percentile.is_none());
    for s in &sv[1..] {
        assert_eq!(s.switching_value, None, "{}", s.entity);
        assert_eq!(
            s.note,
            "no switching value in the physical range (a finite rate > -1)"
        );
    }
    // The tornado: d at P10 and P90 (r = 0.05, 0.45), the total 5 + d.
    let bars = tornado(&plan, (0.1, 0.9));
    close(bars[0].total_low, 5.0 + 1.0 / 1.05, "low");
    close(bars[0].total_high, 5.0 + 1.0 / 1.45, "high");
    close(bars[0].themes[0].low, 4.0 - 1.0 / (1.05 * 1.05), "t low");
}

#[test]
fn a_grouped_factor_is_searched_short_of_its_infinite_ends() {
    // Gross G ~ N(10, 1) and one-off cost C ~ N(34, 1) (truncated at 0, ten and more standard
    // deviations away: immaterial) share a stream: at position u both are at
    // z = Φ⁻¹(u), NPV = 2.44 (10 + z) − (34 + z) = −9.6 + 1.44 z, zero at z = 6.67, beyond
    // Φ⁻¹(1 − 1e-9) = 6.0: no switching value inside the distribution (not a root at an
    // infinite quantile). With C ~ N(30, 1) the root z = 3.89 is inside, at u = Φ(3.89).
    let model = one_theme_model();
    for (mean, root) in [(34.0, None), (30.0, Some(5.6f64 / 1.44))] {
        let dists = format!(
            "[[input]]\npath = \"themes.t.gross_benefit\"\nkind = \"truncated_normal\"\nmean = 10.0\nsd = 1.0\nmin = 0.0\nstream = \"s\"\n\n[[input]]\npath = \"themes.t.one_off_costs[0]\"\nkind = \"truncated_normal\"\nmean = {mean}\nsd = 1.0\nmin = 0.0\nstream = \"s\"\n"
        );
        let plan = plan_of(&model, &dists);
        let sv = switching_values(&plan);
        assert_eq!(sv.len(), 2);
        for s in &sv {
            match root {
                None => assert_eq!(s.switching_value, None, "{s:?}"),
                Some(z) => {
                    close_opt(s.switching_value, Some(10.0 + z), "G at the root");
                    // Φ(z) by its upper tail, from statrs (another library).
                    let u = 1.0 - statrs::function::erf::erfc(z / std::f64::consts::SQRT_2) / 2.0;
                    let p = s.percentile.unwrap();
                    assert!((p - u).abs() < 1e-9, "{p} against {u}");
                }
            }
        }
    }
}

/// A one-theme model with no uncertain field of its own: gross 10, profile 1, one-off cost 20.
fn one_theme_model() -> String {
    r#"
[model]
name = "one"
price_base = "test"
horizon_years = 3
discount_rate = 0.25
scenarios = ["base"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend = 100.0
profile = [1.0]
gross_benefit = 10.0
one_off_costs = [20.0, 0.0, 0.0]
partner_shares = { A = 1.0 }
"#
    .to_string()
}

#[test]
fn sobol_and_shapley_refuse_more_factors_than_the_sequence_has_dimensions() {
    // 513 factors need 2 × 513 = 1026 columns of Sobol points, beyond the 1024 the sampler has:
    // both designs are refused with an error (not a panic, not a design of fewer columns).
    let zeros = vec!["0.0"; 200].join(", ");
    let mut model = String::from(
        "[model]\nname = \"wide\"\nprice_base = \"test\"\nhorizon_years = 200\nscenarios = [\"base\"]\n\n[[partners]]\nid = \"A\"\nname = \"A\"\n",
    );
    let mut dists = String::new();
    for th in 0..3 {
        model.push_str(&format!(
            "\n[[themes]]\nid = \"t{th}\"\nname = \"T{th}\"\naddressable_spend = 100.0\nprofile = [1.0]\ngross_benefit = 1.0\none_off_costs = [{zeros}]\npartner_shares = {{ A = 1.0 }}\n"
        ));
        for i in 0..171 {
            dists.push_str(&format!(
                "[[input]]\npath = \"themes.t{th}.one_off_costs[{i}]\"\nkind = \"uniform\"\nmin = 0.0\nmax = 1.0\n\n"
            ));
        }
    }
    let plan = plan_of(&model, &dists);
    assert_eq!(plan.factors().len(), 513);
    let o = smallest_design();
    for e in [
        sobol(&plan, &o).unwrap_err(),
        shapley(&plan, &o).unwrap_err(),
    ] {
        assert!(e.contains("1026") && e.contains("1024"), "{e}");
    }
}

/// The Sobol and Shapley designs meet NPVs beyond ±1e100 where a distribution's tail is out of
/// scale: each is an error naming the design and the amount (never NaN indices), and
/// `sobol_skipping` (a run that skips its non-finite draws) leaves the indices out with the
/// note saying why. Within scale the same designs give indices and no note.
#[test]
fn a_design_out_of_scale_is_an_error_or_when_skipping_a_note() {
    let plan_with = |dists: &str| {
        let text = std::fs::read_to_string("tests/data/council.toml").unwrap();
        let model = crate::format::parse_model("council.toml", &text).unwrap();
        let dists = std::fs::read_to_string(dists).unwrap();
        let set = crate::distfile::load(&model, &[("d.toml".into(), dists)]).unwrap();
        let scen = model.scenario_index("central").unwrap();
        Plan::new(model, scen, set).unwrap()
    };
    let o = smallest_design();
    let wide = plan_with("tests/data/overflow_dists.toml");
    for (e, design) in [
        (sobol(&wide, &o).unwrap_err(), "Sobol"),
        (shapley(&wide, &o).unwrap_err(), "Shapley"),
    ] {
        let says = format!("the {design} design evaluates the model where the NPV of `");
        assert!(e.starts_with(&says) && e.contains("beyond ±1e100"), "{e}");
    }
    let (indices, note) = sobol_skipping(&wide, &o).unwrap();
    assert!(indices.is_empty());
    let note = note.unwrap();
    assert!(
        note.starts_with("Sobol indices and Shapley effects not computed: the Sobol design"),
        "{note}"
    );
    let fine = plan_with("tests/data/council_dists.toml");
    let (indices, note) = sobol_skipping(&fine, &o).unwrap();
    assert_eq!(note, None);
    let plain = sobol(&fine, &o).unwrap();
    assert_eq!(format!("{indices:?}"), format!("{plain:?}"));
    assert!(!indices.is_empty());
    for f in indices.iter().flat_map(|r| &r.factors) {
        assert!(
            f.first.iter().chain(&f.total).all(|x| x.is_finite()),
            "{f:?}"
        );
    }
}
