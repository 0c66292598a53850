//! Calibration: derive the parameters a report does not publish (gross benefit level, cost
//! schedule) from the figures it does, and write them out as a model file.
//!
//! The rules are closed form, so anyone can re-run them (`npvrisk calibrate`) and a test checks
//! that the shipped model file is exactly what they produce. For each theme and scenario `s`
//! (year 1 undiscounted, 3.5%, `S = Σ_t p_t d_t` the discounted profile):
//!
//! 1. The yearly rows are shifted equally so that they add up to the printed total (the report
//!    rounds rows and totals separately).
//! 2. Gross benefit at full potential: `G = NPV / (leakage × S)`, because leakage-to-zero is NPV
//!    over the present value of benefits (§6.x scenario 1). Without a published leakage (annex),
//!    `G` is the smallest level that keeps every yearly cost non-negative, and at least the net
//!    annual benefit.
//! 3. Yearly cost: `c_t = G p_t − row_t / d_t`. With `costs = "shared"` the two scenarios' cost
//!    schedules are averaged into one.
//! 4. Activity-scaled cost (follows the profile): `V = G − net_annual` (the steady state net of
//!    ongoing cost), capped at `min_t c_t / p_t` so that no one-off cost is negative.
//! 5. One-off costs: `c_t − V p_t`.
//!
//! The base scenario's `G` is written as the gross benefit and the prudent one as a realisation
//! rate `G_prudent / G_base` (headline themes), so that the Monte Carlo engine can vary realisation
//! between them. Amounts are rounded to £1,000 (1e-6 £bn) in the file.

use std::fmt::Write as _;

use crate::error::Error;
use crate::model::discount_factors;
use crate::published::{CostRule, PubTheme, Published};

/// The discount rate of the report (§3.4: "a discount factor of 3.5%").
pub const REPORT_DISCOUNT_RATE: f64 = 0.035;

/// Calibrated values of one theme, per scenario (in the published file's scenario order).
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeCalibration {
    pub id: String,
    pub gross_bn: Vec<f64>,
    pub scaled_cost_bn: Vec<f64>,
    pub one_off_bn: Vec<Vec<f64>>,
    /// Whether costs are the same in every scenario.
    pub shared_costs: bool,
}

/// Round to 1e-6 (£1,000 when the unit is £bn), the precision written to the model file.
pub fn round6(x: f64) -> f64 {
    let r = (x * 1e6).round() / 1e6;
    if r == 0.0 { 0.0 } else { r }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// Calibrate one theme.
pub fn calibrate_theme(t: &PubTheme, n_scenarios: usize) -> Result<ThemeCalibration, Error> {
    let rows = t.figures.rows.as_ref().ok_or_else(|| {
        Error::Input(format!(
            "theme `{}` has no published yearly rows to calibrate on",
            t.id
        ))
    })?;
    let h = rows[0].len();
    let df = discount_factors(&vec![REPORT_DISCOUNT_RATE; h], 1);
    let mut gross = Vec::new();
    let mut costs: Vec<Vec<f64>> = Vec::new();
    let mut target_scaled = Vec::new();
    for s in 0..n_scenarios {
        let p: Vec<f64> = t.profile[s].iter().map(|x| x.value).collect();
        let r: Vec<f64> = rows[s].iter().map(|x| x.value).collect();
        if p.len() != h || r.len() != h {
            return Err(Error::Input(format!(
                "theme `{}`: profile and rows must both have {h} years",
                t.id
            )));
        }
        let sum_r: f64 = r.iter().sum();
        let total = t
            .figures
            .pilot_totals
            .as_ref()
            .or(t.figures.npv_5yr.as_ref())
            .map_or(sum_r, |v| v[s].value);
        let shift = (total - sum_r) / h as f64;
        let r: Vec<f64> = r.iter().map(|x| x + shift).collect();
        let s_disc: f64 = p.iter().zip(&df).map(|(a, b)| a * b).sum();
        let annual = t.figures.net_annual.as_ref().map(|v| v[s].value);
        let g = match &t.figures.leakage_to_zero {
            Some(l) => total / (l[s].value * s_disc),
            None => {
                let floor = p
                    .iter()
                    .zip(&r)
                    .zip(&df)
                    .filter(|((pt, _), _)| **pt > 0.0)
                    .map(|((pt, rt), d)| rt / d / pt)
                    .fold(f64::NEG_INFINITY, f64::max);
                floor.max(annual.unwrap_or(f64::NEG_INFINITY))
            }
        };
        if !(g.is_finite() && g > 0.0) {
            return Err(Error::Input(format!(
                "theme `{}`: calibrated gross benefit {g} is not positive",
                t.id
            )));
        }
        let c: Vec<f64> = (0..h).map(|i| g * p[i] - r[i] / df[i]).collect();
        gross.push(g);
        costs.push(c);
        target_scaled.push(annual.map_or(0.0, |a| g - a));
    }
    let shared = t.costs == CostRule::Shared;
    if shared && t.profile_per_scenario {
        return Err(Error::Input(format!(
            "theme `{}`: shared costs need one profile for all scenarios",
            t.id
        )));
    }
    let groups: Vec<Vec<usize>> = if shared {
        vec![(0..n_scenarios).collect()]
    } else {
        (0..n_scenarios).map(|s| vec![s]).collect()
    };
    let mut scaled = vec![0.0; n_scenarios];
    let mut one_off = vec![vec![0.0; h]; n_scenarios];
    for g in groups {
        let p: Vec<f64> = t.profile[g[0]].iter().map(|x| x.value).collect();
        let c: Vec<f64> = (0..h)
            .map(|i| mean(&g.iter().map(|&s| costs[s][i]).collect::<Vec<_>>()))
            .collect();
        let cap = p
            .iter()
            .zip(&c)
            .filter(|(pt, _)| **pt > 0.0)
            .map(|(pt, ct)| ct / pt)
            .fold(f64::INFINITY, f64::min);
        let target = mean(&g.iter().map(|&s| target_scaled[s]).collect::<Vec<_>>());
        let v = round6(target.min(cap).max(0.0));
        let o: Vec<f64> = (0..h).map(|i| round6((c[i] - v * p[i]).max(0.0))).collect();
        for &s in &g {
            scaled[s] = v;
            one_off[s] = o.clone();
        }
    }
    Ok(ThemeCalibration {
        id: t.id.clone(),
        gross_bn: gross.into_iter().map(round6).collect(),
        scaled_cost_bn: scaled,
        one_off_bn: one_off,
        shared_costs: shared,
    })
}

/// Calibrate every theme of a published file.
pub fn calibrate(p: &Published) -> Result<Vec<ThemeCalibration>, Error> {
    p.themes
        .iter()
        .map(|t| calibrate_theme(t, p.scenarios.len()))
        .collect()
}

fn num(x: f64) -> String {
    let s = format!("{x}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

fn list(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| num(*x)).collect();
    format!("[{}]", items.join(", "))
}

fn per_scenario<T>(scenarios: &[String], vals: &[T], f: impl Fn(&T) -> String) -> String {
    let all_same = vals.windows(2).all(|w| f(&w[0]) == f(&w[1]));
    if all_same {
        f(&vals[0])
    } else {
        let items: Vec<String> = scenarios
            .iter()
            .zip(vals)
            .map(|(s, v)| format!("{s} = {}", f(v)))
            .collect();
        format!("{{ {} }}", items.join(", "))
    }
}

/// Write the calibrated model file. Every number carries a comment naming its source section or
/// saying that it is calibrated or an assumption.
pub fn model_toml(p: &Published, cal: &[ThemeCalibration]) -> String {
    let sc = &p.scenarios;
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        "# The 2013 national aggregation of the Whole Place Community Budget pilots (Ernst & Young for"
    );
    let _ = writeln!(
        w,
        "# the LGA, January 2013; {}), as an npvrisk model.",
        p.source
    );
    let _ = writeln!(w, "#");
    let _ = writeln!(
        w,
        "# GENERATED by `npvrisk calibrate` from distributions/ey2013_published.toml; do not edit by hand."
    );
    let _ = writeln!(
        w,
        "# Values marked \"calibrated\" are derived from published figures by the rules in"
    );
    let _ = writeln!(
        w,
        "# src/calibrate.rs; \"assumption\" values say why they were chosen. Money in £bn, 2012-13 prices."
    );
    let _ = writeln!(w);
    let _ = writeln!(w, "[model]");
    let _ = writeln!(
        w,
        "name = \"Whole Place Community Budgets: national aggregation (EY 2013)\""
    );
    let _ = writeln!(
        w,
        "price_base = \"2012-13\"  # §3.4: costs and benefit values as at 2012-13"
    );
    let _ = writeln!(
        w,
        "horizon_years = 5  # §3.4: the benefits profile is over 5 years; year 1 = y/e 31/03/13"
    );
    let _ = writeln!(
        w,
        "discount_rate = {}  # §3.4: discount factor of 3.5% (Green Book)",
        num(REPORT_DISCOUNT_RATE)
    );
    let _ = writeln!(
        w,
        "undiscounted_year = 1  # assumption: year 1 is the price-base year; this convention reproduces the yearly rows"
    );
    let _ = writeln!(
        w,
        "scenarios = [{}]  # §3.1: the base and prudent scenarios",
        sc.iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for partner in &p.partners {
        let _ = writeln!(w);
        let _ = writeln!(w, "[[partners]]");
        let _ = writeln!(w, "id = \"{}\"", partner.id);
        let _ = writeln!(w, "name = \"{}\"", partner.name);
        match &partner.budget {
            Some((class, b)) => {
                let _ = writeln!(w, "budget_class = \"{class}\"  # {}", partner.source);
                let _ = writeln!(w, "budget_bn = {}  # {}", num(b.value), partner.source);
            }
            None => {
                let _ = writeln!(w, "# no budget: {}", partner.source);
            }
        }
    }
    for (t, c) in p.themes.iter().zip(cal) {
        let sec = &t.section;
        let _ = writeln!(w);
        let _ = writeln!(w, "# {}", "-".repeat(94));
        let _ = writeln!(w, "[[themes]]");
        let _ = writeln!(w, "id = \"{}\"", t.id);
        let _ = writeln!(w, "name = \"{}\"", t.name);
        if t.indicative {
            let _ = writeln!(
                w,
                "indicative = true  # {sec}: annex, \"an indicative assessment\"; left out of headline totals"
            );
        }
        let _ = writeln!(
            w,
            "addressable_spend_bn = {}  # {sec} overall summary: total annual recurring addressable cost",
            num(t.addressable_spend_bn.value)
        );
        let profile: Vec<Vec<f64>> = t
            .profile
            .iter()
            .map(|v| v.iter().map(|x| x.value).collect())
            .collect();
        let _ = writeln!(
            w,
            "profile = {}  # {sec} benefit realisation table, Profile (%)",
            per_scenario(sc, &profile, |v| list(v))
        );
        let _ = writeln!(
            w,
            "delay_years = 0.0  # the published profile starts in year 1"
        );
        let base = sc.iter().position(|s| s == "base").unwrap_or(sc.len() - 1);
        let gross_base = c.gross_bn[base];
        if t.indicative {
            let _ = writeln!(
                w,
                "gross_benefit_bn = {}  # calibrated: per pilot, the smallest level keeping yearly costs non-negative",
                per_scenario(sc, &c.gross_bn, |x| num(*x))
            );
            let _ = writeln!(
                w,
                "realisation = 1.0  # assumption: the pilot's own profile already carries its realisation"
            );
        } else {
            let real: Vec<f64> = c.gross_bn.iter().map(|g| round6(g / gross_base)).collect();
            match &t.cohort {
                Some(cohort) => {
                    let _ = writeln!(
                        w,
                        "cohort = {}  # {sec}.1: the Troubled Families Unit cohort",
                        num(cohort.value)
                    );
                    let _ = writeln!(
                        w,
                        "engagement = 1.0  # assumption: the aggregation scales benefits over the whole TFU cohort"
                    );
                    let _ = writeln!(
                        w,
                        "benefit_per_engaged_gbp = {}  # calibrated: base gross benefit at full potential (£{}bn) per family",
                        num((gross_base * 1e9 / cohort.value * 100.0).round() / 100.0),
                        num(gross_base)
                    );
                }
                None => {
                    let _ = writeln!(
                        w,
                        "gross_benefit_bn = {}  # calibrated: base NPV / (base leakage-to-zero × discounted profile)",
                        num(gross_base)
                    );
                }
            }
            let _ = writeln!(
                w,
                "realisation = {}  # calibrated: prudent gross benefit relative to base (base realises the full potential)",
                per_scenario(sc, &real, |x| num(*x))
            );
        }
        let _ = writeln!(
            w,
            "cashability = 1.0  # assumption: the report models cashable benefits only (§3.3)"
        );
        let _ = writeln!(
            w,
            "optimism_bias_benefit = 0.0  # assumption: the published figures carry no separate adjustment"
        );
        let _ = writeln!(w, "optimism_bias_cost = 0.0  # assumption: as above");
        let _ = writeln!(
            w,
            "one_off_costs_bn = {}  # calibrated: yearly costs from the rows, less the activity-scaled cost",
            per_scenario(sc, &c.one_off_bn, |v| list(v))
        );
        let _ = writeln!(
            w,
            "ongoing_costs_bn = {}  # assumption: ongoing costs are carried by the activity-scaled cost",
            list(&vec![0.0; c.one_off_bn[0].len()])
        );
        match &t.cohort {
            Some(cohort) if !t.indicative => {
                let per: Vec<f64> = c
                    .scaled_cost_bn
                    .iter()
                    .map(|v| (v * 1e9 / cohort.value * 100.0).round() / 100.0)
                    .collect();
                let _ = writeln!(
                    w,
                    "cost_per_engaged_gbp = {}  # calibrated: gross less net annual benefit, per family",
                    per_scenario(sc, &per, |x| num(*x))
                );
            }
            _ => {
                let _ = writeln!(
                    w,
                    "scaled_cost_bn = {}  # calibrated: gross less net annual benefit, capped so one-off costs stay ≥ 0",
                    per_scenario(sc, &c.scaled_cost_bn, |x| num(*x))
                );
            }
        }
        let sum: f64 = t.partner_shares.iter().map(|(_, s)| s.value).sum();
        let _ = writeln!(
            w,
            "[themes.partner_shares]  # {sec} partner allocation table, allocation of net benefit (%)"
        );
        let mut assigned = 0.0;
        let last = t.partner_shares.len() - 1;
        for (i, (id, s)) in t.partner_shares.iter().enumerate() {
            if sum > 1.0 + 1e-9 {
                // The last share takes the rounding remainder so the shares sum to exactly 1.
                let v = if i == last {
                    round6(1.0 - assigned)
                } else {
                    round6(s.value / sum)
                };
                assigned += v;
                let _ = writeln!(
                    w,
                    "{id} = {}  # {} scaled by 1/{}: the published shares sum to {}%",
                    num(v),
                    s.text,
                    num(sum),
                    num((sum * 100.0).round())
                );
            } else {
                let _ = writeln!(w, "{id} = {}  # {}", num(s.value), s.text);
            }
        }
        if sum < 1.0 - 1e-9 {
            let _ = writeln!(
                w,
                "unallocated = {}  # remainder: the published shares sum to {}%",
                num(round6(1.0 - sum)),
                num((sum * 100.0).round())
            );
        }
    }
    o
}
