//! Independent oracles for every statistic of the run summary.
//!
//! The fixture is a model whose NPV is an affine function of one uniform input, so every reported
//! figure has a closed form: one theme, three undiscounted years, full activity from year 1,
//! gross benefit G ~ U(0, 2) a year and a one-off cost c in year 1, so
//! NPV = 3G − c ~ U(−c, 6 − c), PV(benefits) = 3G, leakage-to-zero L = 1 − c/(3G) when G > c/3
//! (else 0), delay-to-zero D = 3L (the benefit stream loses G per year of delay), breakeven in the
//! first year k with kG ≥ c. Each statistic is checked twice: against the closed form, within
//! four Monte Carlo standard errors computed here from the true distribution (never the program's
//! own error estimates), and, where the draws are kept (`--keep-draws`), exactly against the draws
//! (sorted, counted and averaged here).

use std::path::Path;

use serde_json::Value;

use crate::{bin, run_ok, temp_dir, with_files};

/// The fixture model. Scenario `low` has G = 0.5, c = 3; `base` has G = 1.5, c = 2. An indicative
/// theme (NPV 3 × 1 − 0.5 = 2.5, no uncertain input) must stay out of the total and the partners.
pub const UNIFORM_MODEL: &str = r#"
[model]
name = "uniform oracle"
price_base = "test"
horizon_years = 3
discount_rate = 0.0
scenarios = ["low", "base"]

[[partners]]
id = "A"
name = "A"
budget_class = "DEL"
budget_bn = 10.0

[[partners]]
id = "B"
name = "B"

[[themes]]
id = "t"
name = "T"
addressable_spend_bn = 100.0
profile = [1.0]
gross_benefit_bn = { low = 0.5, base = 1.5 }
one_off_costs_bn = { low = [3.0, 0.0, 0.0], base = [2.0, 0.0, 0.0] }
partner_shares = { A = 0.25, B = 0.75 }

[[themes]]
id = "ind"
name = "Indicative"
indicative = true
addressable_spend_bn = 10.0
profile = [1.0]
gross_benefit_bn = 1.0
one_off_costs_bn = [0.5, 0.0, 0.0]
partner_shares = { A = 0.5, B = 0.5 }
"#;

pub const UNIFORM_DISTS: &str = r#"
[[input]]
path = "themes.t.gross_benefit_bn"
kind = "uniform"
min = 0.0
max = 2.0
"#;

/// Write the fixture files into `dir`; (model, distributions).
pub fn fixture_files(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let m = dir.join("uniform.toml");
    let d = dir.join("uniform_dists.toml");
    std::fs::write(&m, UNIFORM_MODEL).unwrap();
    std::fs::write(&d, UNIFORM_DISTS).unwrap();
    (m, d)
}

/// The exact distribution of each outcome for a one-off cost `c` (G ~ U(0, 2)).
#[derive(Clone, Copy, Debug)]
pub struct Exact {
    pub c: f64,
}

impl Exact {
    /// G below which NPV ≤ 0.
    fn a(self) -> f64 {
        self.c / 3.0
    }
    pub fn npv_mean(self) -> f64 {
        3.0 - self.c
    }
    /// SD of U(−c, 6 − c): 6/√12.
    pub fn npv_sd(self) -> f64 {
        6.0 / 12f64.sqrt()
    }
    pub fn npv_quantile(self, p: f64) -> f64 {
        -self.c + 6.0 * p
    }
    pub fn npv_cdf(self, x: f64) -> f64 {
        ((x + self.c) / 6.0).clamp(0.0, 1.0)
    }
    /// Density of the NPV inside its support.
    pub fn npv_density(self) -> f64 {
        1.0 / 6.0
    }
    /// P(L ≤ l) for l ≥ 0: P(G ≤ a / (1 − l)) = a / (2(1 − l)), capped at 1.
    pub fn leak_cdf(self, l: f64) -> f64 {
        if l < 0.0 {
            0.0
        } else if l >= 1.0 {
            1.0
        } else {
            (self.a() / (2.0 * (1.0 - l))).min(1.0)
        }
    }
    /// Quantile of L (p above the point mass at 0).
    pub fn leak_quantile(self, p: f64) -> f64 {
        if p <= self.a() / 2.0 {
            0.0
        } else {
            1.0 - self.a() / (2.0 * p)
        }
    }
    /// Density of L at its p-quantile (p above the point mass): a / (2 (1 − l)²).
    pub fn leak_density_at(self, p: f64) -> f64 {
        let l = self.leak_quantile(p);
        self.a() / (2.0 * (1.0 - l).powi(2))
    }
    /// E[L] = ½ ∫_a^2 (1 − a/g) dg.
    pub fn leak_mean(self) -> f64 {
        let a = self.a();
        0.5 * ((2.0 - a) - a * (2.0 / a).ln())
    }
    /// SD of L, from E[L²] = ½ ∫_a^2 (1 − a/g)² dg.
    pub fn leak_sd(self) -> f64 {
        let a = self.a();
        let m2 = 0.5 * ((2.0 - a) - 2.0 * a * (2.0 / a).ln() + a * a * (1.0 / a - 0.5));
        (m2 - self.leak_mean().powi(2)).sqrt()
    }
    /// P(breakeven year = k), k = 1, 2, 3: the first year with k G ≥ c; `None` = never.
    pub fn breakeven(self, k: Option<u32>) -> f64 {
        let p_g_ge = |x: f64| (1.0 - x / 2.0).clamp(0.0, 1.0);
        match k {
            Some(1) => p_g_ge(self.c),
            Some(k) if k <= 3 => p_g_ge(self.c / k as f64) - p_g_ge(self.c / (k - 1) as f64),
            Some(_) => 0.0,
            None => 1.0 - p_g_ge(self.c / 3.0),
        }
    }
    /// P(smallest whole delay with NPV ≤ 0 = k): 0 when NPV ≤ 0, else ⌈D⌉ with D = 3L.
    pub fn delay_whole(self, k: u32) -> f64 {
        if k == 0 {
            self.leak_cdf(0.0)
        } else {
            self.leak_cdf(k as f64 / 3.0) - self.leak_cdf((k - 1) as f64 / 3.0)
        }
    }
}

/// Binomial standard error of an estimated probability, from the true probability.
pub fn binomial_se(p: f64, n: f64) -> f64 {
    (p * (1.0 - p) / n).sqrt()
}

/// Asymptotic standard error of the sample p-quantile: √(p(1−p)/n) / density.
pub fn quantile_se(p: f64, n: f64, density: f64) -> f64 {
    binomial_se(p, n) / density
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Equal up to the rounding of reading a number back from JSON (serde_json's default parser may
/// be one unit in the last place off).
fn same(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 4.0 * f64::EPSILON * got.abs().max(want.abs()),
        "{what}: {got} vs {want}"
    );
}

fn close(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: {got} vs {want} (tolerance {tol})"
    );
}

/// The outcome entry `id` of a summary.
pub fn outcome<'a>(s: &'a Value, id: &str) -> &'a Value {
    s["outcomes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["id"] == id)
        .unwrap_or_else(|| panic!("no outcome {id}"))
}

/// The options a summary was asked for.
pub struct Asked {
    pub percentiles: Vec<f64>,
    pub interval: f64,
    pub thresholds: Vec<f64>,
}

impl Default for Asked {
    fn default() -> Self {
        Asked {
            percentiles: vec![0.05, 0.1, 0.5, 0.9, 0.95],
            interval: 0.9,
            thresholds: Vec::new(),
        }
    }
}

/// Check an NPV-like Stat of U(lo, lo + 6 w) scaled by `w` (w = 1 for the NPV itself, a partner's
/// share for a partner) against its closed form.
fn check_uniform_stat(what: &str, st: &Value, x: Exact, w: f64, n: f64, asked: &Asked) {
    let z = 4.0;
    let sigma = w * x.npv_sd();
    close(
        &format!("{what} mean"),
        f(&st["mean"]),
        w * x.npv_mean(),
        z * sigma / n.sqrt(),
    );
    // The sample SD of a uniform: Var(s²) ≈ (μ₄ − σ⁴)/n with μ₄ = 9σ⁴/5, so s has relative
    // standard error √(0.8/n)/2.
    let rel_sd = (0.8 / n).sqrt() / 2.0;
    close(
        &format!("{what} sd"),
        f(&st["sd"]),
        sigma,
        z * rel_sd * sigma,
    );
    // Standard error of the mean: σ/√n, up to the error of the sample SD.
    let se_true = sigma / n.sqrt();
    close(
        &format!("{what} se_mean"),
        f(&st["se_mean"]),
        se_true,
        z * rel_sd * se_true,
    );
    // Min and max: P(min > lo + 6w·t/n) = (1 − t/n)^n ≈ e^−t; t = 20 is never exceeded.
    let (lo, hi) = (w * -x.c, w * (6.0 - x.c));
    let slack = 20.0 * (hi - lo) / n;
    let (mn, mx) = (f(&st["min"]), f(&st["max"]));
    assert!(lo <= mn && mn <= lo + slack, "{what} min {mn}");
    assert!(hi - slack <= mx && mx <= hi, "{what} max {mx}");
    let density = x.npv_density() / w;
    let pcts = st["percentiles"].as_array().unwrap();
    assert_eq!(pcts.len(), asked.percentiles.len(), "{what} percentiles");
    for (pv, &p) in pcts.iter().zip(&asked.percentiles) {
        assert_eq!(f(&pv["p"]), p);
        let se = quantile_se(p, n, density);
        close(
            &format!("{what} P{p}"),
            f(&pv["value"]),
            w * x.npv_quantile(p),
            z * se,
        );
        // The reported error: the distribution-free 95% order-statistic interval's half-width
        // / 1.96. For a uniform its width is the spacing of m ≈ 2·1.96·√(np(1−p)) ranks, whose
        // relative standard error is 1/√m (a sum of m exponential spacings), ±1 rank rounding.
        let m = 2.0 * 1.96 * (n * p * (1.0 - p)).sqrt();
        close(
            &format!("{what} se of P{p}"),
            f(&pv["se"]),
            se,
            se * (z / m.sqrt() + 2.0 / m),
        );
    }
    // The central interval at the level asked.
    let iv = st["interval"].as_array().unwrap();
    assert_eq!(f(&iv[0]), asked.interval, "{what} interval level");
    let a = (1.0 - asked.interval) / 2.0;
    for (v, p) in [(&iv[1], a), (&iv[2], 1.0 - a)] {
        close(
            &format!("{what} interval bound at {p}"),
            f(v),
            w * x.npv_quantile(p),
            z * quantile_se(p, n, density),
        );
    }
    // P(value < threshold) for 0 and each threshold asked (given in £bn of this outcome).
    let below = st["below"].as_array().unwrap();
    let mut th = vec![0.0];
    th.extend(asked.thresholds.iter().copied().filter(|t| *t != 0.0));
    assert_eq!(below.len(), th.len(), "{what} thresholds");
    for (b, t) in below.iter().zip(th) {
        assert_eq!(f(&b["threshold"]), t);
        let p = x.npv_cdf(t / w);
        let se = binomial_se(p, n);
        let got = f(&b["p"]);
        close(&format!("{what} P(<{t})"), got, p, z * se);
        check_binomial_se(&format!("{what} se of P(<{t})"), f(&b["se"]), p, n);
    }
}

/// A reported standard error of an estimated probability: the binomial one at the estimate,
/// so between the binomial errors at the ends of the 4-SE band around the true probability `p`
/// (√(q(1−q)/n) is monotone on each side of ½, largest at ½).
fn check_binomial_se(what: &str, got: f64, p: f64, n: f64) {
    let se = binomial_se(p, n);
    let (lo, hi) = ((p - 4.0 * se).max(0.0), (p + 4.0 * se).min(1.0));
    let (e1, e2) = (binomial_se(lo, n), binomial_se(hi, n));
    let top = if lo <= 0.5 && 0.5 <= hi {
        binomial_se(0.5, n)
    } else {
        e1.max(e2)
    };
    assert!(
        e1.min(e2) * (1.0 - 1e-12) <= got && got <= top * (1.0 + 1e-12),
        "{what}: {got} outside [{}, {top}] (exact {se})",
        e1.min(e2)
    );
}

/// Check every figure of a summary of the uniform fixture against its closed form. `x` gives
/// the run scenario's one-off cost; the deterministic review points are those of the model's
/// scenarios (low: 3·0.5 − 3 = −1.5; base: 3·1.5 − 2 = 2.5) whatever the run's scenario.
pub fn check_closed_form(s: &Value, x: Exact, asked: &Asked) {
    let n = s["kept_draws"].as_u64().unwrap() as f64;
    let z = 4.0;
    let t = outcome(s, "t");
    let total = outcome(s, "total");
    assert_eq!(t["headline"], true);
    assert_eq!(total["headline"], true);
    for e in [t, total] {
        let id = e["id"].as_str().unwrap();
        check_uniform_stat(&format!("{id} npv"), &e["npv"], x, 1.0, n, asked);
        // PV of benefits = 3G ~ U(0, 6): the NPV shifted by c.
        let pvb = &e["pv_benefits"];
        close(
            "pv_benefits mean",
            f(&pvb["mean"]),
            3.0,
            z * x.npv_sd() / n.sqrt(),
        );
        for (pv, &p) in pvb["percentiles"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&asked.percentiles)
        {
            close(
                &format!("pv_benefits P{p}"),
                f(&pv["value"]),
                6.0 * p,
                z * quantile_se(p, n, 1.0 / 6.0),
            );
        }
        // PV of costs is c in every draw (up to the rounding of PV(benefits) − NPV).
        let pvc = &e["pv_costs"];
        close("pv_costs mean", f(&pvc["mean"]), x.c, 1e-12);
        assert!(f(&pvc["sd"]) < 1e-12, "pv_costs sd {}", pvc["sd"]);
        // Leakage-to-zero.
        let l = &e["leakage_to_zero"];
        close(
            &format!("{id} leakage mean"),
            f(&l["mean"]),
            x.leak_mean(),
            z * x.leak_sd() / n.sqrt(),
        );
        close(
            &format!("{id} leakage sd"),
            f(&l["sd"]),
            x.leak_sd(),
            // L is bounded in [0, 1): Var(s²) ≤ E[(L−μ)⁴]/n ≤ σ²/n, so s has error ≤ 1/(2√n).
            z / (2.0 * n.sqrt()),
        );
        assert_eq!(f(&l["min"]), 0.0, "leakage is 0 when NPV ≤ 0");
        for (pv, &p) in l["percentiles"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&asked.percentiles)
        {
            let want = x.leak_quantile(p);
            let mass = x.leak_cdf(0.0);
            let tol = if (p - mass).abs() < z * binomial_se(mass, n) {
                // Near the point mass at 0 the quantile jumps; skip the closed-form check.
                continue;
            } else if p < mass {
                0.0
            } else {
                z * quantile_se(p, n, x.leak_density_at(p))
            };
            close(&format!("{id} leakage P{p}"), f(&pv["value"]), want, tol);
        }
        assert_eq!(f(&l["below"][0]["p"]), 0.0, "P(leakage < 0)");
        // Delay-to-zero: D = 3L, in years.
        let d = &e["delay_to_zero"];
        close(
            &format!("{id} delay mean"),
            f(&d["mean"]),
            3.0 * x.leak_mean(),
            z * 3.0 * x.leak_sd() / n.sqrt(),
        );
        // Whole-year delay distribution and breakeven years.
        let dw = e["delay_to_zero_whole"].as_array().unwrap();
        assert_eq!(dw.len(), 3 + 2, "k = 0 ..= horizon + 1");
        for (k, v) in dw.iter().enumerate() {
            assert_eq!(v["year"].as_u64(), Some(k as u64));
            let p = x.delay_whole(k as u32);
            close(
                &format!("{id} P(delay whole = {k})"),
                f(&v["p"]),
                p,
                z * binomial_se(p, n),
            );
        }
        let be = e["breakeven_year"].as_array().unwrap();
        let years: Vec<Option<u64>> = be.iter().map(|v| v["year"].as_u64()).collect();
        assert_eq!(years, [Some(1), Some(2), Some(3), None], "{id}");
        for v in be {
            let k = v["year"].as_u64().map(|k| k as u32);
            let p = x.breakeven(k);
            close(
                &format!("{id} P(breakeven = {k:?})"),
                f(&v["p"]),
                p,
                z * binomial_se(p, n),
            );
        }
        // Curves: P(NPV > 0) when a share x of benefits leaks is P(L > x); when benefits slip
        // by x years, P(D > x) = P(L > x/3).
        let lc = e["leakage_curve"].as_array().unwrap();
        assert_eq!(lc.len(), 21);
        for (i, v) in lc.iter().enumerate() {
            let xi = i as f64 / 20.0;
            assert_eq!(f(&v["x"]), xi);
            let p = 1.0 - x.leak_cdf(xi);
            close(
                &format!("{id} leakage curve at {xi}"),
                f(&v["p_npv_positive"]),
                p,
                z * binomial_se(p, n),
            );
        }
        let dc = e["delay_curve"].as_array().unwrap();
        assert_eq!(dc.len(), 4 * 3 + 1);
        for (i, v) in dc.iter().enumerate() {
            let xi = i as f64 / 4.0;
            assert_eq!(f(&v["x"]), xi);
            let p = 1.0 - x.leak_cdf(xi / 3.0);
            close(
                &format!("{id} delay curve at {xi}"),
                f(&v["p_npv_positive"]),
                p,
                z * binomial_se(p, n),
            );
        }
    }
    // The indicative theme: 3 × 1 − 0.5 in every draw, reported but outside the headline.
    let ind = outcome(s, "ind");
    assert_eq!(ind["headline"], false);
    assert_eq!(f(&ind["npv"]["mean"]), 2.5);
    assert_eq!(f(&ind["npv"]["sd"]), 0.0);
    // The total is theme t alone (the indicative theme is left out).
    assert_eq!(t["npv"], total["npv"], "total = headline theme t");
    // Partners: shares 0.25 and 0.75 of t (the indicative theme's shares do not count).
    let partners = s["partners"].as_array().unwrap();
    assert_eq!(partners.len(), 2);
    for (pt, (id, w)) in partners.iter().zip([("A", 0.25), ("B", 0.75)]) {
        assert_eq!(pt["id"], id);
        check_uniform_stat(
            &format!("partner {id}"),
            &pt["npv"],
            x,
            w,
            n,
            // The thresholds are in £bn of the partner's own NPV, as for every outcome.
            asked,
        );
        let p = x.npv_cdf(0.0);
        close(
            &format!("partner {id} P(NPV < 0)"),
            f(&pt["p_negative"]),
            p,
            z * binomial_se(p, n),
        );
        check_binomial_se(
            &format!("partner {id} se of P(NPV < 0)"),
            f(&pt["p_negative_se"]),
            p,
            n,
        );
    }
    // Headline review: t and the total, each with the model's two scenarios.
    let review = s["headline_review"].as_array().unwrap();
    let ids: Vec<&str> = review.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["t", "total"]);
    for r in review {
        let pts = r["points"].as_array().unwrap();
        let got: Vec<(&str, f64)> = pts
            .iter()
            .map(|p| (p["label"].as_str().unwrap(), f(&p["npv"])))
            .collect();
        assert_eq!(got, [("model low", -1.5), ("model base", 2.5)]);
        for p in pts {
            let v = f(&p["npv"]);
            let want = x.npv_cdf(v);
            close(
                &format!("percentile rank of {v}"),
                f(&p["percentile_rank"]),
                want,
                z * binomial_se(want, n),
            );
        }
        assert_eq!(r["range"], serde_json::json!([-1.5, 2.5]));
        let p = x.npv_cdf(2.5) - x.npv_cdf(-1.5);
        close(
            "P(within range)",
            f(&r["p_within_range"]),
            p,
            z * binomial_se(p, n),
        );
        check_binomial_se("se of P(within range)", f(&r["p_within_range_se"]), p, n);
    }
    // The input: G ~ U(0, 2).
    let inp = &s["inputs"][0];
    assert_eq!(inp["path"], "themes.t.gross_benefit_bn");
    close(
        "input mean",
        f(&inp["mean"]),
        1.0,
        z * 2.0 / (12.0 * n).sqrt(),
    );
    for (k, p) in [("p10", 0.1), ("p50", 0.5), ("p90", 0.9)] {
        close(
            &format!("input {k}"),
            f(&inp[k]),
            2.0 * p,
            z * quantile_se(p, n, 0.5),
        );
    }
}

/// The kept draws: header names and rows of numbers.
pub struct Kept {
    pub names: Vec<String>,
    pub rows: Vec<Vec<f64>>,
}

impl Kept {
    pub fn read(path: &Path) -> Kept {
        let text = std::fs::read_to_string(path).unwrap();
        let mut lines = text.lines();
        let names: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let rows = lines
            .map(|l| l.split(',').map(|v| v.parse::<f64>().unwrap()).collect())
            .collect();
        Kept { names, rows }
    }

    pub fn col(&self, name: &str) -> Vec<f64> {
        let i = self
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.names));
        self.rows.iter().map(|r| r[i]).collect()
    }
}

/// Type-7 sample quantile of sorted values, written out here from its definition: the
/// value at 1-based position 1 + (n − 1)p, interpolated linearly.
pub fn type7(sorted: &[f64], p: f64) -> f64 {
    let pos = (sorted.len() - 1) as f64 * p;
    let i = pos.floor() as usize;
    let j = (i + 1).min(sorted.len() - 1);
    sorted[i] * (1.0 - (pos - i as f64)) + sorted[j] * (pos - i as f64)
}

/// Check a Stat exactly against the values it summarises (sorted, counted, averaged here).
fn check_stat_against(what: &str, st: &Value, v: &[f64], asked: &Asked) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    let scale = v.iter().fold(1.0f64, |m, x| m.max(x.abs()));
    close(&format!("{what} mean"), f(&st["mean"]), mean, 1e-12 * scale);
    close(
        &format!("{what} sd"),
        f(&st["sd"]),
        var.sqrt(),
        1e-9 * scale,
    );
    close(
        &format!("{what} se_mean"),
        f(&st["se_mean"]),
        var.sqrt() / n.sqrt(),
        1e-9 * scale / n.sqrt(),
    );
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    same(&format!("{what} min"), f(&st["min"]), s[0]);
    same(&format!("{what} max"), f(&st["max"]), s[s.len() - 1]);
    for (pv, &p) in st["percentiles"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&asked.percentiles)
    {
        close(
            &format!("{what} P{p}"),
            f(&pv["value"]),
            type7(&s, p),
            1e-12 * scale,
        );
    }
    let a = (1.0 - asked.interval) / 2.0;
    close(
        &format!("{what} interval low"),
        f(&st["interval"][1]),
        type7(&s, a),
        1e-12 * scale,
    );
    close(
        &format!("{what} interval high"),
        f(&st["interval"][2]),
        type7(&s, 1.0 - a),
        1e-12 * scale,
    );
    for b in st["below"].as_array().unwrap() {
        let t = f(&b["threshold"]);
        let p = v.iter().filter(|x| **x < t).count() as f64 / n;
        same(&format!("{what} P(< {t})"), f(&b["p"]), p);
        close(
            &format!("{what} se of P(< {t})"),
            f(&b["se"]),
            (p * (1.0 - p) / n).sqrt(),
            1e-15,
        );
    }
}

/// Check a summary exactly against the kept draws of the same run, computing every derived
/// quantity per draw here from G (the input) and the draw's NPV and PV(benefits).
pub fn check_against_draws(s: &Value, k: &Kept, x: Exact, asked: &Asked) {
    let n = k.rows.len();
    assert_eq!(s["kept_draws"].as_u64(), Some(n as u64));
    let g = k.col("input:themes.t.gross_benefit_bn");
    let c = x.c;
    for id in ["t", "total"] {
        let e = outcome(s, id);
        let npv = k.col(&format!("{id}.npv"));
        let pvb = k.col(&format!("{id}.pv_benefits"));
        let delay = k.col(&format!("{id}.delay_to_zero"));
        let whole = k.col(&format!("{id}.delay_to_zero_whole"));
        let be = k.col(&format!("{id}.breakeven_year"));
        for i in 0..n {
            // The model by hand: NPV = 3G − c, PV(benefits) = 3G.
            close("draw npv", npv[i], 3.0 * g[i] - c, 1e-12);
            close("draw pv_benefits", pvb[i], 3.0 * g[i], 1e-12);
            // Delay: benefits G·(3 − D) after D years of slip, so NPV(D) = G(3 − D) − c = 0.
            if npv[i] > 0.0 {
                close(
                    "NPV at the exact delay",
                    g[i] * (3.0 - delay[i]) - c,
                    0.0,
                    1e-9,
                );
            } else {
                assert_eq!(delay[i], 0.0);
            }
            // Smallest whole delay with NPV ≤ 0, and first year with cumulative net ≥ 0.
            let w = (0..=4)
                .find(|&d| g[i] * (3.0 - d as f64) - c <= 0.0)
                .unwrap();
            assert_eq!(whole[i], w as f64, "draw {i}: G = {}", g[i]);
            let b = (1..=3).find(|&y| y as f64 * g[i] - c >= 0.0).unwrap_or(0);
            assert_eq!(be[i], b as f64, "draw {i}: G = {}", g[i]);
        }
        check_stat_against(&format!("{id} npv"), &e["npv"], &npv, asked);
        check_stat_against(&format!("{id} pv_benefits"), &e["pv_benefits"], &pvb, asked);
        let pvc: Vec<f64> = pvb.iter().zip(&npv).map(|(b, v)| b - v).collect();
        check_stat_against(&format!("{id} pv_costs"), &e["pv_costs"], &pvc, asked);
        let leak: Vec<f64> = npv
            .iter()
            .zip(&pvb)
            .map(|(v, b)| if *v > 0.0 { v / b } else { 0.0 })
            .collect();
        check_stat_against(
            &format!("{id} leakage"),
            &e["leakage_to_zero"],
            &leak,
            asked,
        );
        check_stat_against(&format!("{id} delay"), &e["delay_to_zero"], &delay, asked);
        let share = |v: &[f64], k: f64| v.iter().filter(|x| **x == k).count() as f64 / n as f64;
        for v in e["delay_to_zero_whole"].as_array().unwrap() {
            let k = v["year"].as_u64().unwrap() as f64;
            same(
                &format!("{id} delay whole {k}"),
                f(&v["p"]),
                share(&whole, k),
            );
        }
        for v in e["breakeven_year"].as_array().unwrap() {
            let k = v["year"].as_u64().unwrap_or(0) as f64;
            same(&format!("{id} breakeven {k}"), f(&v["p"]), share(&be, k));
        }
        for v in e["leakage_curve"].as_array().unwrap() {
            let x = f(&v["x"]);
            let p = leak.iter().filter(|l| **l > x).count() as f64 / n as f64;
            same(
                &format!("{id} leakage curve {x}"),
                f(&v["p_npv_positive"]),
                p,
            );
        }
        for v in e["delay_curve"].as_array().unwrap() {
            let x = f(&v["x"]);
            let p = delay.iter().filter(|d| **d > x).count() as f64 / n as f64;
            same(&format!("{id} delay curve {x}"), f(&v["p_npv_positive"]), p);
        }
    }
    let total = k.col("total.npv");
    for (i, (id, w)) in [("A", 0.25), ("B", 0.75)].into_iter().enumerate() {
        let v = k.col(&format!("partner.{id}.npv"));
        for (a, b) in v.iter().zip(&total) {
            close("partner share of the draw's NPV", *a, w * b, 1e-12);
        }
        let pt = &s["partners"][i];
        check_stat_against(&format!("partner {id}"), &pt["npv"], &v, asked);
        let p = v.iter().filter(|x| **x < 0.0).count() as f64 / n as f64;
        same("partner P(NPV < 0)", f(&pt["p_negative"]), p);
        close(
            "partner se",
            f(&pt["p_negative_se"]),
            (p * (1.0 - p) / n as f64).sqrt(),
            1e-15,
        );
    }
    for r in s["headline_review"].as_array().unwrap() {
        let v = k.col(&format!("{}.npv", r["id"].as_str().unwrap()));
        for p in r["points"].as_array().unwrap() {
            let x = f(&p["npv"]);
            let rank = v.iter().filter(|y| **y <= x).count() as f64 / n as f64;
            same("percentile rank", f(&p["percentile_rank"]), rank);
        }
        let within = v.iter().filter(|y| (-1.5..=2.5).contains(*y)).count() as f64 / n as f64;
        same("P(within range)", f(&r["p_within_range"]), within);
        close(
            "review se",
            f(&r["p_within_range_se"]),
            (within * (1.0 - within) / n as f64).sqrt(),
            1e-15,
        );
    }
}

/// Run the fixture from the command line with `args` added; the summary JSON (timing removed)
/// and the folder it was written to.
pub fn run_fixture(tag: &str, args: &[&str]) -> (Value, std::path::PathBuf) {
    let dir = temp_dir(tag);
    let (m, d) = fixture_files(&dir);
    let out = dir.join("out");
    let o = run_ok(
        with_files("run", &m, &d)
            .args(args)
            .args(["--format", "json", "--out"])
            .arg(&out),
    );
    let mut v: Value = serde_json::from_slice(&o.stdout).unwrap();
    v.as_object_mut().unwrap().remove("timing");
    (v, out)
}

const DRAWS: &str = "40000";

#[test]
fn every_summary_statistic_matches_its_closed_form_and_the_kept_draws() {
    let (s, out) = run_fixture(
        "oracle-mem",
        &["--draws", DRAWS, "--seed", "101", "--keep-draws"],
    );
    let asked = Asked::default();
    let x = Exact { c: 2.0 };
    check_closed_form(&s, x, &asked);
    check_against_draws(&s, &Kept::read(&out.join("draws.csv")), x, &asked);
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn streamed_and_merged_summaries_match_the_closed_form_too() {
    let (mem, dir) = run_fixture(
        "oracle-stream",
        &["--draws", DRAWS, "--seed", "102", "--block-size", "1000"],
    );
    let (streamed, _) = run_fixture(
        "oracle-stream2",
        &[
            "--draws",
            DRAWS,
            "--seed",
            "102",
            "--block-size",
            "1000",
            "--stream",
        ],
    );
    check_closed_form(&streamed, Exact { c: 2.0 }, &Asked::default());
    // The same figures as in memory (the metadata names other files).
    for key in ["outcomes", "partners", "headline_review"] {
        assert_eq!(mem[key], streamed[key], "streamed {key} = in memory");
    }
    // Two shards, then a merge that runs the second pass itself.
    let root = dir.parent().unwrap().to_path_buf();
    let (m, d) = fixture_files(&root);
    let shards = root.join("shards");
    for k in ["0/2", "1/2"] {
        run_ok(
            with_files("run", &m, &d)
                .args(["--draws", DRAWS, "--seed", "102", "--block-size", "1000"])
                .args(["--shard", k, "--out"])
                .arg(&shards),
        );
    }
    let mut files: Vec<_> = std::fs::read_dir(&shards)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let o = run_ok(
        bin()
            .arg("merge")
            .args(&files)
            .args(["--format", "json", "--out"])
            .arg(root.join("merged")),
    );
    let mut merged: Value = serde_json::from_slice(&o.stdout).unwrap();
    merged.as_object_mut().unwrap().remove("timing");
    check_closed_form(&merged, Exact { c: 2.0 }, &Asked::default());
    for key in ["outcomes", "partners", "headline_review"] {
        assert_eq!(mem[key], merged[key], "merged {key} = in memory");
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn percentiles_interval_thresholds_and_scenario_options_change_what_is_reported() {
    // Another interval level, other percentiles, two thresholds, and the `low` scenario's point
    // values for the inputs without a distribution (the one-off cost becomes 3).
    let (s, out) = run_fixture(
        "oracle-options",
        &[
            "--draws",
            DRAWS,
            "--seed",
            "103",
            "--keep-draws",
            "--interval",
            "0.5",
            "--percentiles",
            "0.25,0.75,0.99",
            "--threshold",
            "1.0",
            "--threshold=-2.5",
            "--scenario",
            "low",
        ],
    );
    let asked = Asked {
        percentiles: vec![0.25, 0.75, 0.99],
        interval: 0.5,
        thresholds: vec![1.0, -2.5],
    };
    assert_eq!(s["metadata"]["scenario"], "low");
    let x = Exact { c: 3.0 };
    check_closed_form(&s, x, &asked);
    check_against_draws(&s, &Kept::read(&out.join("draws.csv")), x, &asked);
    let _ = std::fs::remove_dir_all(out.parent().unwrap());
}

#[test]
fn latin_hypercube_and_sobol_stratify_as_theory_says() {
    // With one uniform input, n = 2^15 Latin hypercube or Sobol points put exactly one draw in
    // each interval [i/n, (i+1)/n) of the uniform, so the i-th smallest NPV lies in
    // [−c + 6i/n, −c + 6(i+1)/n]: a type-7 percentile interpolates between the order statistics
    // ⌊(n−1)p⌋ and the next, so it and the exact −c + 6p both lie in an interval of width 12/n
    // (plain Monte Carlo: ≈ 6√(p(1−p)/n), 90 times more at the median). The mean of such a stratified sample of an
    // affine function has standard deviation √(Σ Var within stratum)/n = √3 / n^1.5 (plain
    // Monte Carlo: √3/√n).
    let n = 1u64 << 15;
    let nf = n as f64;
    let x = Exact { c: 2.0 };
    for sampler in ["lhs", "sobol"] {
        let (s, _) = run_fixture(
            &format!("oracle-{sampler}"),
            &[
                "--draws",
                &n.to_string(),
                "--seed",
                "104",
                "--sampler",
                sampler,
            ],
        );
        assert_eq!(s["metadata"]["sampler"], sampler);
        let npv = &outcome(&s, "total")["npv"];
        for pv in npv["percentiles"].as_array().unwrap() {
            let p = f(&pv["p"]);
            close(
                &format!("{sampler} P{p}"),
                f(&pv["value"]),
                x.npv_quantile(p),
                12.0 / nf,
            );
        }
        // Owen-scrambled Sobol points are not independent across strata; allow ten times the
        // stratified bound, still 4,000 times below plain Monte Carlo's 4 standard errors.
        let sd = 3f64.sqrt() / nf.powf(1.5);
        close(
            &format!("{sampler} mean"),
            f(&npv["mean"]),
            x.npv_mean(),
            10.0 * 4.0 * sd,
        );
        close(
            &format!("{sampler} P(NPV < 0)"),
            f(&npv["below"][0]["p"]),
            x.npv_cdf(0.0),
            1.0 / nf,
        );
    }
}
