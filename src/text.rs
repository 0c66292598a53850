//! Renderings of deterministic evaluations: a readable table, JSON and CSV. Pure functions from
//! results to text; the binary decides where the text goes.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Evaluation, ModelSpec, Outcome};

#[derive(Serialize)]
struct JsonScenario<'a> {
    scenario: &'a str,
    themes: Vec<JsonOutcome<'a>>,
    total: JsonOutcome<'a>,
}

#[derive(Serialize)]
struct JsonOutcome<'a> {
    id: &'a str,
    headline: bool,
    #[serde(flatten)]
    outcome: &'a Outcome,
    partners: Vec<JsonAllocation<'a>>,
}

#[derive(Serialize)]
struct JsonAllocation<'a> {
    partner: &'a str,
    share: f64,
    annual_bn: f64,
    share_of_budget: Option<f64>,
    npv_bn: f64,
    npv_without: f64,
    npv_single_party: f64,
}

fn allocations<'a>(m: &'a ModelSpec, a: &[crate::model::Allocation]) -> Vec<JsonAllocation<'a>> {
    a.iter()
        .filter(|x| x.share != 0.0)
        .map(|x| JsonAllocation {
            partner: &m.partners[x.partner].id,
            share: x.share,
            annual_bn: x.annual_bn,
            share_of_budget: x.share_of_budget,
            npv_bn: x.npv_bn,
            npv_without: x.npv_without,
            npv_single_party: x.npv_single_party,
        })
        .collect()
}

/// JSON: one object per scenario with every theme's outcome and the headline total.
pub fn evaluation_json(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let out: Vec<JsonScenario> = evals
        .iter()
        .map(|(s, e)| JsonScenario {
            scenario: &m.scenarios[*s],
            themes: m
                .themes
                .iter()
                .zip(&e.themes)
                .zip(&e.allocations)
                .map(|((t, o), a)| JsonOutcome {
                    id: &t.id,
                    headline: !t.indicative,
                    outcome: o,
                    partners: allocations(m, a),
                })
                .collect(),
            total: JsonOutcome {
                id: "total",
                headline: true,
                outcome: &e.total,
                partners: allocations(m, &e.total_allocations),
            },
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&out).expect("evaluation serialises");
    s.push('\n');
    s
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String, none: &str) -> String {
    v.map_or(none.to_string(), f)
}

fn outcome_rows<'a>(m: &'a ModelSpec, e: &'a Evaluation) -> Vec<(String, &'a Outcome)> {
    let mut rows: Vec<(String, &Outcome)> = m
        .themes
        .iter()
        .zip(&e.themes)
        .map(|(t, o)| {
            (
                if t.indicative {
                    format!("{} *", t.id)
                } else {
                    t.id.clone()
                },
                o,
            )
        })
        .collect();
    rows.push(("total".into(), &e.total));
    rows
}

/// CSV in long form: `scenario,theme,measure,year,value` (year empty for five-year measures).
pub fn evaluation_csv(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let mut o = String::from("scenario,theme,measure,year,value\n");
    for (s, e) in evals {
        let sc = &m.scenarios[*s];
        let mut ids: Vec<&str> = m.themes.iter().map(|t| t.id.as_str()).collect();
        ids.push("total");
        let outcomes: Vec<&Outcome> = e.themes.iter().chain(std::iter::once(&e.total)).collect();
        for (id, x) in ids.iter().zip(outcomes) {
            for (name, v) in [
                ("gross_benefits", &x.flows.gross_benefits),
                ("costs", &x.flows.costs),
                ("net", &x.flows.net),
                ("discounted_net", &x.flows.discounted_net),
            ] {
                for (t, y) in v.iter().enumerate() {
                    let _ = writeln!(o, "{sc},{id},{name},{},{y}", t + 1);
                }
            }
            let scalars = [
                ("npv", Some(x.npv)),
                ("pv_benefits", Some(x.pv_benefits)),
                ("pv_costs", Some(x.pv_costs)),
                ("net_annual", Some(x.net_annual)),
                ("share_of_addressable", Some(x.share_of_addressable)),
                ("leakage_to_zero", x.leakage_to_zero),
                (
                    "delay_to_zero_years",
                    Some(x.delay_to_zero.whole_years as f64),
                ),
                ("delay_to_zero_exact", Some(x.delay_to_zero.exact_years)),
                ("breakeven_year", x.breakeven_year.map(f64::from)),
            ];
            for (name, v) in scalars {
                let _ = writeln!(
                    o,
                    "{sc},{id},{name},,{}",
                    v.map_or(String::new(), |v| v.to_string())
                );
            }
        }
    }
    o
}

/// Display unit for money: £bn, or £m when every total is below £1bn.
fn money_unit(evals: &[(usize, Evaluation)]) -> (&'static str, f64) {
    let largest = evals
        .iter()
        .flat_map(|(_, e)| e.themes.iter().chain(std::iter::once(&e.total)))
        .map(|o| o.pv_benefits.abs().max(o.pv_costs.abs()))
        .fold(0.0, f64::max);
    if largest < 1.0 {
        ("£m", 1000.0)
    } else {
        ("£bn", 1.0)
    }
}

/// A readable summary table per scenario.
pub fn evaluation_table(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let mut o = String::new();
    let (unit, k) = money_unit(evals);
    let _ = writeln!(
        o,
        "{} ({} prices, {} years)",
        m.name, m.price_base, m.horizon_years
    );
    for (s, e) in evals {
        let _ = writeln!(o, "\nScenario `{}` ({unit})", m.scenarios[*s]);
        let _ = writeln!(
            o,
            "{:<26} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9} {:>11} {:>10}",
            "theme",
            "NPV",
            "PV ben",
            "PV cost",
            "net/yr",
            "% addr",
            "leakage",
            "delay (yr)",
            "breakeven"
        );
        for (name, x) in outcome_rows(m, e) {
            let _ = writeln!(
                o,
                "{:<26} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>6.1}% {:>9} {:>11} {:>10}",
                name,
                x.npv * k,
                x.pv_benefits * k,
                x.pv_costs * k,
                x.net_annual * k,
                x.share_of_addressable * 100.0,
                opt(
                    x.leakage_to_zero,
                    |l| format!("{:.1}%", l * 100.0),
                    "negative"
                ),
                format!(
                    "{} ({:.2})",
                    x.delay_to_zero.whole_years, x.delay_to_zero.exact_years
                ),
                opt(
                    x.breakeven_year.map(f64::from),
                    |y| format!("year {y}"),
                    "none"
                ),
            );
        }
        let _ = writeln!(
            o,
            "\n{:<26} {}",
            "discounted net by year",
            (1..=m.horizon_years)
                .map(|t| format!("{:>8}", format!("Y{t}")))
                .collect::<String>()
        );
        for (name, x) in outcome_rows(m, e) {
            let _ = writeln!(
                o,
                "{:<26} {}",
                name,
                x.flows
                    .discounted_net
                    .iter()
                    .map(|v| format!("{:>8.2}", v * k))
                    .collect::<String>()
            );
        }
        let _ = writeln!(
            o,
            "\nPartner allocations of the headline total (annual net {unit}, % of budget, NPV share {unit})"
        );
        for a in e.total_allocations.iter().filter(|a| a.share != 0.0) {
            let p = &m.partners[a.partner];
            let _ = writeln!(
                o,
                "  {:<12} {:>6.2} {:>10} {:>8.2}",
                p.id,
                a.annual_bn * k,
                opt(
                    a.share_of_budget,
                    |b| format!(
                        "{:.2}% {}",
                        b * 100.0,
                        p.budget.map_or("", |(c, _)| c.label())
                    ),
                    "-"
                ),
                a.npv_bn * k
            );
        }
    }
    if m.themes.iter().any(|t| t.indicative) {
        let _ = writeln!(
            o,
            "\n* indicative theme: reported, left out of the headline total"
        );
    }
    o
}
