//! `npvrisk fit`: distributions fitted to an expert's quantiles, in the manner of SHELF's
//! `fitdist` (Oakley & O'Hagan): every candidate kind is fitted by minimising the sum of
//! squared differences between its CDF at the elicited values and the elicited probabilities,
//! S = Σ (F(x_i) − p_i)², and the candidates are ranked by S (ties: by max |F(x_i) − p_i|).
//!
//! Candidates: the metalog through all the pairs (exact when it is feasible, S = 0 up to
//! rounding), normal, lognormal and gamma (support (0, ∞)), and, when both bounds are given,
//! beta and the classic PERT (shape 4) on them. A candidate whose support leaves the given
//! bounds is not offered. The two-parameter fits use argmin's Nelder–Mead simplex from a start
//! fitted by least squares on the quantile scale.

// `!(a > b)` rejects NaN together with the out-of-order values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;

use crate::dist::{Dist, std_normal_quantile};

/// One expert quantile: P(X <= x) = p.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    pub p: f64,
    pub x: f64,
}

/// A fitted candidate.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub kind: &'static str,
    pub dist: Dist,
    /// Σ (F(x_i) − p_i)².
    pub sse: f64,
    /// max |F(x_i) − p_i|.
    pub max_err: f64,
    /// The distribution-file fields (`name = value` lines) that rebuild `dist`.
    pub fields: Vec<(String, String)>,
}

/// Parse `p:x,p:x,…`; errors name the pair and what is allowed.
pub fn parse_pairs(s: &str) -> Result<Vec<Pair>, String> {
    let mut out = Vec::new();
    for (i, item) in s.split(',').enumerate() {
        let item = item.trim();
        let bad = |why: &str| format!("--quantiles pair {} `{item}`: {why}", i + 1);
        let (p, x) = item
            .split_once(':')
            .ok_or_else(|| bad("must be `probability:value`, e.g. `0.5:100`"))?;
        let p: f64 = p
            .trim()
            .parse()
            .map_err(|_| bad("the probability must be a number"))?;
        let x: f64 = x
            .trim()
            .parse()
            .map_err(|_| bad("the value must be a number"))?;
        out.push(Pair { p, x });
    }
    Ok(out)
}

/// Check an elicited set: at least 3 pairs, probabilities strictly increasing in (0, 1), values
/// finite, strictly increasing and strictly inside the bounds.
pub fn check_pairs(
    pairs: &[Pair],
    lower: Option<f64>,
    upper: Option<f64>,
) -> Result<(), crate::error::Error> {
    if pairs.len() < 3 {
        return Err(crate::error::Error::Input(format!(
            "--quantiles has {} pair(s): at least 3 `probability:value` pairs are needed",
            pairs.len()
        )));
    }
    for b in [lower, upper].into_iter().flatten() {
        if !b.is_finite() {
            return Err(crate::error::Error::Input(format!(
                "bound {b}: must be finite"
            )));
        }
    }
    if let (Some(lo), Some(hi)) = (lower, upper)
        && !(lo < hi)
    {
        return Err(crate::error::Error::Input(format!(
            "--lower = {lo}: must be < --upper = {hi}"
        )));
    }
    for (i, q) in pairs.iter().enumerate() {
        let at = format!("--quantiles pair {} `{}:{}`", i + 1, q.p, q.x);
        if !(q.p > 0.0 && q.p < 1.0) {
            return Err(crate::error::Error::Input(format!(
                "{at}: probability {} must lie in (0, 1)",
                q.p
            )));
        }
        if !q.x.is_finite() {
            return Err(crate::error::Error::Input(format!(
                "{at}: value must be finite"
            )));
        }
        if i > 0 {
            let prev = pairs[i - 1];
            if !(q.p > prev.p) {
                return Err(crate::error::Error::Input(format!(
                    "{at}: probabilities must be strictly increasing (previous {})",
                    prev.p
                )));
            }
            if !(q.x > prev.x) {
                return Err(crate::error::Error::Input(format!(
                    "{at}: values must be strictly increasing with the probabilities \
                     (previous {})",
                    prev.x
                )));
            }
        }
        if let Some(lo) = lower
            && !(q.x > lo)
        {
            return Err(crate::error::Error::Input(format!(
                "{at}: value must be > --lower = {lo}"
            )));
        }
        if let Some(hi) = upper
            && !(q.x < hi)
        {
            return Err(crate::error::Error::Input(format!(
                "{at}: value must be < --upper = {hi}"
            )));
        }
    }
    Ok(())
}

fn errors(d: &Dist, pairs: &[Pair]) -> (f64, f64) {
    let mut sse = 0.0;
    let mut max = 0.0_f64;
    for q in pairs {
        let e = d.cdf(q.x) - q.p;
        sse += e * e;
        max = max.max(e.abs());
    }
    (sse, max)
}

struct Objective<'a> {
    pairs: &'a [Pair],
    make: &'a dyn Fn(&[f64]) -> Option<Dist>,
}

impl CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        Ok(match (self.make)(p) {
            Some(d) => {
                let s = errors(&d, self.pairs).0;
                if s.is_finite() { s } else { 1e10 }
            }
            None => 1e10,
        })
    }
}

/// Nelder–Mead from `start` (deterministic); the best parameters and their distribution.
fn minimise(
    pairs: &[Pair],
    make: &dyn Fn(&[f64]) -> Option<Dist>,
    start: Vec<f64>,
) -> Option<(Vec<f64>, Dist)> {
    let mut simplex = vec![start.clone()];
    for i in 0..start.len() {
        let mut v = start.clone();
        v[i] += 0.1 * v[i].abs().max(0.1);
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex).with_sd_tolerance(1e-14).ok()?;
    let res = Executor::new(Objective { pairs, make }, solver)
        .configure(|s| s.max_iters(4000))
        .run()
        .ok()?;
    let best = res.state().get_best_param()?.clone();
    let d = make(&best)?;
    Some((best, d))
}

/// Least-squares line through (z_i, y_i): (intercept, slope).
fn line(z: &[f64], y: &[f64]) -> (f64, f64) {
    let n = z.len() as f64;
    let (mz, my) = (z.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = z.iter().zip(y).map(|(a, b)| (a - mz) * (b - my)).sum();
    let sxx: f64 = z.iter().map(|a| (a - mz) * (a - mz)).sum();
    let slope = if sxx > 0.0 { sxy / sxx } else { 1.0 };
    (my - slope * mz, slope)
}

/// A number as TOML writes it (shortest round-trip form, always a float).
fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.contains(['.', 'e', 'i', 'N']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn list(v: &[f64]) -> String {
    format!(
        "[{}]",
        v.iter().map(|x| num(*x)).collect::<Vec<_>>().join(", ")
    )
}

type Fields = Vec<(String, String)>;

/// Fit every admissible candidate and return them ranked, best first, with the kinds not
/// offered and why.
pub fn fit(
    pairs: &[Pair],
    lower: Option<f64>,
    upper: Option<f64>,
) -> (Vec<Candidate>, Vec<(&'static str, String)>) {
    let p: Vec<f64> = pairs.iter().map(|q| q.p).collect();
    let x: Vec<f64> = pairs.iter().map(|q| q.x).collect();
    let z: Vec<f64> = p.iter().map(|&v| std_normal_quantile(v)).collect();
    let lo = lower.unwrap_or(f64::NEG_INFINITY);
    let hi = upper.unwrap_or(f64::INFINITY);
    let mut out: Vec<Candidate> = Vec::new();
    let mut skipped: Vec<(&'static str, String)> = Vec::new();
    let mut push = |kind: &'static str, fitted: Result<(Dist, Fields), String>| match fitted {
        Ok((d, fields)) => {
            let (a, b) = d.support();
            if a >= lo && b <= hi {
                let (sse, max_err) = errors(&d, pairs);
                out.push(Candidate {
                    kind,
                    dist: d,
                    sse,
                    max_err,
                    fields,
                });
            } else {
                skipped.push((kind, "its support leaves the given bounds".into()));
            }
        }
        Err(why) => skipped.push((kind, why)),
    };

    let no_fit = || "the minimiser found no valid parameters".to_string();

    // Metalog through every pair, with the bounds given.
    match Dist::metalog(&p, &x, None, lower, upper) {
        Ok(d) => {
            let mut f: Fields = vec![
                ("probabilities".into(), list(&p)),
                ("quantiles".into(), list(&x)),
            ];
            if let Some(l) = lower {
                f.push(("min".into(), num(l)));
            }
            if let Some(u) = upper {
                f.push(("max".into(), num(u)));
            }
            push("metalog", Ok((d, f)));
        }
        Err(e) => push("metalog", Err(e.to_string())),
    }

    // Normal (mean, ln sd).
    let (m0, s0) = line(&z, &x);
    let make = |v: &[f64]| Dist::normal(v[0], libm::exp(v[1])).ok();
    push(
        "normal",
        minimise(pairs, &make, vec![m0, libm::log(s0.abs().max(1e-12))])
            .map(|(v, d)| {
                let f = vec![
                    ("mean".into(), num(v[0])),
                    ("sd".into(), num(libm::exp(v[1]))),
                ];
                (d, f)
            })
            .ok_or_else(no_fit),
    );

    // Lognormal (ln median, ln sigma) and gamma (ln shape, ln scale): values must be > 0.
    if x[0] > 0.0 {
        let ln: Vec<f64> = x.iter().map(|v| libm::log(*v)).collect();
        let (mu0, s0) = line(&z, &ln);
        let s0 = s0.abs().max(1e-6);
        let c90 = std_normal_quantile(0.9);
        let make = |v: &[f64]| {
            Dist::lognormal_median_p90(libm::exp(v[0]), libm::exp(v[0] + libm::exp(v[1]) * c90))
                .ok()
        };
        push(
            "lognormal",
            minimise(pairs, &make, vec![mu0, libm::log(s0)])
                .map(|(v, d)| {
                    let f = vec![
                        ("median".into(), num(libm::exp(v[0]))),
                        ("p90".into(), num(libm::exp(v[0] + libm::exp(v[1]) * c90))),
                    ];
                    (d, f)
                })
                .ok_or_else(no_fit),
        );
        // Gamma from the lognormal's moments.
        let s2 = s0 * s0;
        let mean = libm::exp(mu0 + 0.5 * s2);
        let var = (libm::exp(s2) - 1.0) * mean * mean;
        let make = |v: &[f64]| Dist::gamma(libm::exp(v[0]), libm::exp(v[1])).ok();
        push(
            "gamma",
            minimise(
                pairs,
                &make,
                vec![libm::log(mean * mean / var), libm::log(var / mean)],
            )
            .map(|(v, d)| {
                let f = vec![
                    ("shape".into(), num(libm::exp(v[0]))),
                    ("scale".into(), num(libm::exp(v[1]))),
                ];
                (d, f)
            })
            .ok_or_else(no_fit),
        );
    } else {
        push("lognormal", Err("needs every value > 0".into()));
        push("gamma", Err("needs every value > 0".into()));
    }

    // Beta (ln alpha, ln beta) and classic PERT (logit of the mode's position) on the bounds.
    if let (Some(l), Some(u)) = (lower, upper) {
        let w = u - l;
        let y: Vec<f64> = x.iter().map(|v| (v - l) / w).collect();
        let n = y.len() as f64;
        let m = y.iter().sum::<f64>() / n;
        let v = (y.iter().map(|t| (t - m) * (t - m)).sum::<f64>() / n).max(1e-6);
        let common = (m * (1.0 - m) / v - 1.0).max(0.5);
        let make = |v: &[f64]| Dist::beta_scaled(libm::exp(v[0]), libm::exp(v[1]), l, u).ok();
        let start = vec![libm::log(m * common), libm::log((1.0 - m) * common)];
        push(
            "beta",
            minimise(pairs, &make, start)
                .map(|(v, d)| {
                    let f = vec![
                        ("alpha".into(), num(libm::exp(v[0]))),
                        ("beta".into(), num(libm::exp(v[1]))),
                        ("min".into(), num(l)),
                        ("max".into(), num(u)),
                    ];
                    (d, f)
                })
                .ok_or_else(no_fit),
        );
        let med = pairs
            .iter()
            .min_by(|a, b| (a.p - 0.5).abs().total_cmp(&(b.p - 0.5).abs()))
            .map_or(0.5, |q| (q.x - l) / w)
            .clamp(0.01, 0.99);
        let mode_of = |t: f64| l + w / (1.0 + libm::exp(-t));
        let make = |v: &[f64]| Dist::pert(l, mode_of(v[0]), u, 4.0).ok();
        push(
            "pert",
            minimise(pairs, &make, vec![libm::log(med / (1.0 - med))])
                .map(|(v, d)| {
                    let f = vec![
                        ("min".into(), num(l)),
                        ("mode".into(), num(mode_of(v[0]))),
                        ("max".into(), num(u)),
                    ];
                    (d, f)
                })
                .ok_or_else(no_fit),
        );
    } else {
        push("beta", Err("needs --lower and --upper".into()));
        push("pert", Err("needs --lower and --upper".into()));
    }

    out.sort_by(|a, b| {
        a.sse
            .total_cmp(&b.sse)
            .then(a.max_err.total_cmp(&b.max_err))
    });
    (out, skipped)
}

/// The ranked table, then the best candidate as a `[[input]]` entry for `path`.
pub fn render(
    pairs: &[Pair],
    ranked: &[Candidate],
    skipped: &[(&'static str, String)],
    path: &str,
) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Fits to {} expert quantiles, ranked by S = sum of (F(x_i) - p_i)^2",
        pairs.len()
    );
    let _ = writeln!(s, "# rank  kind        S           max|F(x_i)-p_i|");
    for (i, c) in ranked.iter().enumerate() {
        let _ = writeln!(
            s,
            "# {:<5} {:<11} {:<11.3e} {:.3e}",
            i + 1,
            c.kind,
            c.sse,
            c.max_err
        );
    }
    for (k, why) in skipped {
        let _ = writeln!(s, "# not offered: {k}: {why}");
    }
    if let Some(best) = ranked.first() {
        let elicited = pairs
            .iter()
            .map(|q| format!("{}:{}", q.p, q.x))
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(s, "\n[[input]]");
        let _ = writeln!(s, "path = {path:?}");
        let _ = writeln!(s, "kind = \"{}\"", best.kind);
        for (k, v) in &best.fields {
            let _ = writeln!(s, "{k} = {v}");
        }
        let _ = writeln!(
            s,
            "source = \"Expert quantiles {elicited}; best of npvrisk fit (S = {:.3e})\"",
            best.sse
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs_of(d: &Dist, p: &[f64]) -> Vec<Pair> {
        p.iter()
            .map(|&p| Pair {
                p,
                x: d.quantile(p),
            })
            .collect()
    }

    fn field(c: &Candidate, name: &str) -> f64 {
        c.fields
            .iter()
            .find(|(k, _)| k == name)
            .unwrap()
            .1
            .parse()
            .unwrap()
    }

    const P: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

    /// Quantiles taken from a known distribution are fitted back by that kind (S ~ 0 and its
    /// parameters recovered to the minimiser's tolerance).
    #[test]
    fn known_distributions_are_recovered() {
        type Case = (
            &'static str,
            Dist,
            Option<(f64, f64)>,
            [(&'static str, f64); 2],
        );
        let cases: [Case; 3] = [
            (
                "normal",
                Dist::normal(100.0, 15.0).unwrap(),
                None,
                [("mean", 100.0), ("sd", 15.0)],
            ),
            (
                "gamma",
                Dist::gamma(3.0, 2.0).unwrap(),
                None,
                [("shape", 3.0), ("scale", 2.0)],
            ),
            (
                "beta",
                Dist::beta_scaled(2.0, 5.0, 10.0, 30.0).unwrap(),
                Some((10.0, 30.0)),
                [("alpha", 2.0), ("beta", 5.0)],
            ),
        ];
        for (kind, d, b, want) in cases {
            let pairs = pairs_of(&d, &P);
            check_pairs(&pairs, b.map(|b| b.0), b.map(|b| b.1)).unwrap();
            let (ranked, _) = fit(&pairs, b.map(|b| b.0), b.map(|b| b.1));
            let c = ranked.iter().find(|c| c.kind == kind).unwrap();
            assert!(c.sse < 1e-12, "{kind}: S = {}", c.sse);
            for (name, v) in want {
                assert!(
                    (field(c, name) - v).abs() < 1e-4 * v,
                    "{kind} {name}: {:?}",
                    c.fields
                );
            }
            // The metalog through the same points also reproduces them.
            assert!(ranked.iter().any(|c| c.kind == "metalog" && c.sse < 1e-20));
        }
    }

    #[test]
    fn bad_sets_are_rejected_naming_the_pair() {
        let p = |s: &str| parse_pairs(s).unwrap();
        for (s, lo, hi, needle) in [
            ("0.1:1,0.5:2", None, None, "at least 3"),
            (
                "0.1:1,0.5:2,1.2:3",
                None,
                None,
                "pair 3 `1.2:3`: probability 1.2 must lie in (0, 1)",
            ),
            (
                "0.1:1,0.5:0.5,0.9:3",
                None,
                None,
                "pair 2 `0.5:0.5`: values must be strictly",
            ),
            (
                "0.5:1,0.1:2,0.9:3",
                None,
                None,
                "pair 2 `0.1:2`: probabilities must be strictly",
            ),
            (
                "0.1:1,0.5:2,0.9:3",
                Some(1.5),
                None,
                "pair 1 `0.1:1`: value must be > --lower",
            ),
            (
                "0.1:1,0.5:2,0.9:3",
                None,
                Some(2.5),
                "pair 3 `0.9:3`: value must be < --upper",
            ),
        ] {
            let e = check_pairs(&p(s), lo, hi).unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
        assert!(
            parse_pairs("0.1:1,0.5-2")
                .unwrap_err()
                .contains("pair 2 `0.5-2`")
        );
        assert!(
            parse_pairs("0.1:1,x:2")
                .unwrap_err()
                .contains("probability must be a number")
        );
    }
}
