//! Calibration: derive the parameters a report does not publish (gross benefit per scenario,
//! one-off, ongoing and activity-scaled cost schedules, the exact partner shares behind the
//! rounded printed ones) from the figures it does, and write them out as a model file.
//!
//! The parameters are those of the joint fit ([`crate::fit::joint_fit`] under
//! [`Conventions::SHIPPED`]): the values that put the largest number of published figures inside
//! their rounding bands (then the most figures of the cost-benefit tables, then the figures
//! nearest their band centres). Anyone can re-run it (`npvrisk calibrate`), and `calibrate
//! --check` (in CI) checks that the shipped model file is exactly what it produces. Each
//! calibrated number is written with the published figures that pin it: the reproduced figures
//! whose value depends on it.
//!
//! The base scenario's gross benefit is written as the gross benefit and the prudent one as a
//! realisation rate `G_prudent / G_base` (headline themes), so that the Monte Carlo engine can
//! vary realisation between them. Amounts are rounded to £1,000 (1e-6 £bn) in the file.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::error::Error;
use crate::fit::{
    Conventions, JointFit, Mode, ShareRule, headline_offsets, joint_fit, theme_problem, total_figs,
};
use crate::published::{CostRule, Published};

/// The discount rate of the report (§3.4: "a discount factor of 3.5%").
pub const REPORT_DISCOUNT_RATE: f64 = crate::fit::RATE;

/// Calibrated values of one theme, per scenario (in the published file's scenario order).
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeCalibration {
    pub id: String,
    pub gross_bn: Vec<f64>,
    pub scaled_cost_bn: Vec<f64>,
    pub one_off_bn: Vec<Vec<f64>>,
    /// The flat fixed ongoing cost (every year), per scenario.
    pub ongoing_bn: Vec<f64>,
    /// Effective share per partner id, in the published order.
    pub shares: Vec<(String, f64)>,
    /// What the shares leave unallocated (0 when shares are read over the allocated total).
    pub unallocated: f64,
    /// Whether costs are the same in every scenario.
    pub shared_costs: bool,
    /// The reproduced figures that pin the gross benefit, the cost schedules, the
    /// activity-scaled cost and the shares.
    pub pins: Pins,
}

/// The reproduced figures each calibrated quantity of a theme depends on, as text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Pins {
    pub gross: String,
    pub costs: String,
    pub scaled: String,
    pub shares: String,
}

/// Round to 1e-6 (£1,000 when the unit is £bn), the precision written to the model file.
pub fn round6(x: f64) -> f64 {
    let r = (x * 1e6).round() / 1e6;
    if r == 0.0 { 0.0 } else { r }
}

/// "year_1, year_2 (base, prudent); npv_5yr (base)": figures grouped by name, in order.
fn pin_text(keys: &[&crate::fit::Key], scenarios: &[String]) -> String {
    let mut by: BTreeMap<(usize, String), Vec<usize>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for k in keys {
        // A figure of the headline total is named as such ("total npv_5yr").
        let name = if k.theme == "total" {
            format!("total {}", k.figure)
        } else {
            k.figure.clone()
        };
        if !order.contains(&name) {
            order.push(name.clone());
        }
        let o = order.iter().position(|f| *f == name).unwrap_or(0);
        let s = scenarios.iter().position(|x| *x == k.scenario).unwrap_or(0);
        by.entry((o, name)).or_default().push(s);
    }
    if by.is_empty() {
        return "no reproduced figure (set by the secondary objective)".into();
    }
    by.into_iter()
        .map(|((_, f), ss)| {
            let names: Vec<&str> = ss.iter().map(|s| scenarios[*s].as_str()).collect();
            format!("{f} ({})", names.join(", "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Calibrate every theme of a published file: the joint fit's parameters, in model terms.
pub fn calibrate(p: &Published) -> Result<Vec<ThemeCalibration>, Error> {
    let fit = joint_fit(p, &Conventions::SHIPPED);
    Ok(from_fit(p, &fit))
}

/// The model parameters of a joint fit.
pub fn from_fit(p: &Published, fit: &JointFit) -> Vec<ThemeCalibration> {
    let ns = p.scenarios.len();
    let conv = &fit.conv;
    // The headline total's reproduced figures (its NPV, net annual benefit, % of spend and the
    // partners' fractions of the NPV) constrain the headline themes' unknowns too.
    let (hoffs, _) = headline_offsets(p);
    let sh: Vec<Vec<(String, f64)>> = fit.themes.iter().map(|t| t.shares.clone()).collect();
    let totals: Vec<crate::fit::Fig> = total_figs(p, conv, Mode::Proof, Some(&sh))
        .into_iter()
        .filter(|f| fit.inside.iter().any(|(k, ok)| *ok && *k == f.key))
        .collect();
    p.themes
        .iter()
        .zip(&fit.themes)
        .enumerate()
        .map(|(ti, (t, tf))| {
            let lay = &tf.lay;
            let x = &tf.x;
            let gross: Vec<f64> = (0..ns).map(|s| round6(x[lay.g(s)])).collect();
            let mut one_off = Vec::new();
            let mut ongoing = Vec::new();
            let mut scaled = Vec::new();
            for s in 0..ns {
                let k = lay.group(s);
                let o = round6(x[lay.o(k)]);
                one_off.push(
                    (0..lay.h)
                        .map(|i| round6((round6(x[lay.f(k, i)]) - o).max(0.0)))
                        .collect::<Vec<_>>(),
                );
                ongoing.push(o);
                scaled.push(round6(x[lay.v(k)]));
            }
            // Which reproduced figures depend on which unknowns.
            let (_, prob) = theme_problem(p, t, conv, Mode::Proof, Some(&tf.shares));
            let mut kept: Vec<crate::fit::Fig> = prob
                .figs
                .into_iter()
                .filter(|f| fit.inside.iter().any(|(k, ok)| *ok && *k == f.key))
                .collect();
            // The total's figures over this theme's own unknowns (its slice of their rows).
            if let Some(&(_, off)) = hoffs.iter().find(|(i, _)| *i == ti) {
                // A partner's fraction pins this theme's share of that partner only where the
                // theme has one.
                let holds = |f: &crate::fit::Fig| match f.key.figure.split_once('.') {
                    Some((_, pid)) => tf.shares.iter().any(|(id, _)| id == pid),
                    None => true,
                };
                kept.extend(totals.iter().filter(|f| holds(f)).map(|f| {
                    crate::fit::Fig {
                        key: f.key.clone(),
                        rows: f
                            .rows
                            .iter()
                            .map(|r| crate::fit::Row {
                                a: r.a[off..off + lay.n()].to_vec(),
                                ..r.clone()
                            })
                            .collect(),
                        value: None,
                    }
                }));
            }
            let touching = |vars: &[usize], partner: bool| -> String {
                let keys: Vec<&crate::fit::Key> = kept
                    .iter()
                    .filter(|f| f.key.figure.contains('.') == partner)
                    .filter(|f| f.rows.iter().any(|r| vars.iter().any(|j| r.a[*j] != 0.0)))
                    .map(|f| &f.key)
                    .collect();
                pin_text(&keys, &p.scenarios)
            };
            let gvars: Vec<usize> = (0..ns).map(|s| lay.g(s)).collect();
            let cvars: Vec<usize> = (0..lay.groups)
                .flat_map(|k| (0..=lay.h).map(move |i| lay.f(k, i)))
                .collect();
            let vvars: Vec<usize> = (0..lay.groups).map(|k| lay.v(k)).collect();
            let all: Vec<usize> = (0..lay.n()).collect();
            let pins = Pins {
                gross: touching(&gvars, false),
                costs: touching(&cvars, false),
                scaled: touching(&vvars, false),
                shares: touching(&all, true),
            };
            // Shares to 1e-6; over the allocated total the largest (the first listed of equal
            // largest) takes the rounding remainder so that they sum to 1 exactly.
            let mut shares: Vec<(String, f64)> = tf
                .shares
                .iter()
                .map(|(id, e)| (id.clone(), round6(*e)))
                .collect();
            let mut unallocated = round6(tf.unallocated);
            if conv.shares == ShareRule::Unallocated && unallocated.abs() >= 1e-5 {
                let sum: f64 = shares.iter().map(|s| s.1).sum();
                unallocated = round6(1.0 - sum);
            } else {
                unallocated = 0.0;
                let big =
                    (0..shares.len()).fold(0, |b, i| if shares[i].1 > shares[b].1 { i } else { b });
                let rest: f64 = (0..shares.len())
                    .filter(|i| *i != big)
                    .map(|i| shares[i].1)
                    .sum();
                shares[big].1 = round6(1.0 - rest);
            }
            ThemeCalibration {
                id: t.id.clone(),
                gross_bn: gross,
                scaled_cost_bn: scaled,
                one_off_bn: one_off,
                ongoing_bn: ongoing,
                shares,
                unallocated,
                shared_costs: t.costs == CostRule::Shared,
                pins,
            }
        })
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
        let pins = &c.pins;
        let _ = writeln!(w, "# gross benefit pinned by: {}", pins.gross);
        if t.indicative {
            let _ = writeln!(
                w,
                "gross_benefit_bn = {}  # calibrated (joint fit): per pilot, gross benefit at full potential",
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
                        "benefit_per_engaged_gbp = {}  # calibrated (joint fit): base gross benefit at full potential (£{}bn) per family",
                        num((gross_base * 1e9 / cohort.value * 100.0).round() / 100.0),
                        num(gross_base)
                    );
                }
                None => {
                    let _ = writeln!(
                        w,
                        "gross_benefit_bn = {}  # calibrated (joint fit): base gross benefit at full potential",
                        num(gross_base)
                    );
                }
            }
            let _ = writeln!(
                w,
                "realisation = {}  # calibrated (joint fit): prudent gross benefit relative to base (base realises the full potential)",
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
        let _ = writeln!(w, "# one-off and ongoing costs pinned by: {}", pins.costs);
        let _ = writeln!(
            w,
            "one_off_costs_bn = {}  # calibrated (joint fit): each year's fixed cost less the ongoing cost",
            per_scenario(sc, &c.one_off_bn, |v| list(v))
        );
        let h = c.one_off_bn[0].len();
        let _ = writeln!(
            w,
            "ongoing_costs_bn = {}  # calibrated (joint fit): the fixed cost every year carries (lowers the net annual benefit)",
            per_scenario(sc, &c.ongoing_bn, |x| list(&vec![*x; h]))
        );
        let _ = writeln!(w, "# activity-scaled cost pinned by: {}", pins.scaled);
        match &t.cohort {
            Some(cohort) if !t.indicative => {
                let per: Vec<f64> = c
                    .scaled_cost_bn
                    .iter()
                    .map(|v| (v * 1e9 / cohort.value * 100.0).round() / 100.0)
                    .collect();
                let _ = writeln!(
                    w,
                    "cost_per_engaged_gbp = {}  # calibrated (joint fit): activity-scaled cost at full activity, per family",
                    per_scenario(sc, &per, |x| num(*x))
                );
            }
            _ => {
                let _ = writeln!(
                    w,
                    "scaled_cost_bn = {}  # calibrated (joint fit): activity-scaled cost at full activity (follows the profile)",
                    per_scenario(sc, &c.scaled_cost_bn, |x| num(*x))
                );
            }
        }
        let sum: f64 = t.partner_shares.iter().map(|(_, s)| s.value).sum();
        let _ = writeln!(w, "# shares pinned by: {}", pins.shares);
        let _ = writeln!(
            w,
            "[themes.partner_shares]  # {sec} partner allocation table, allocation of net benefit (%)"
        );
        for ((id, s), (_, v)) in t.partner_shares.iter().zip(&c.shares) {
            let _ = writeln!(
                w,
                "{id} = {}  # calibrated (joint fit): printed {}, read over the allocated total (printed shares sum to {}%)",
                num(*v),
                s.text,
                num((sum * 100.0).round())
            );
        }
        if c.unallocated > 0.0 {
            let _ = writeln!(
                w,
                "unallocated = {}  # calibrated (joint fit): the remainder of the fitted shares",
                num(c.unallocated)
            );
        }
    }
    o
}
