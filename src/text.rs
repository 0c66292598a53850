//! Renderings of deterministic evaluations: a readable table, JSON and CSV. Pure functions from
//! results to text; the binary decides where the text goes.

use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{Evaluation, ModelSpec, Outcome};
use crate::money::MoneyUnit;

#[derive(Serialize)]
struct JsonScenario<'a> {
    scenario: &'a str,
    /// The unit of every amount of the scenario's figures.
    money_unit: MoneyUnit,
    themes: Vec<JsonOutcome<'a>>,
    total: JsonOutcome<'a>,
    /// The local method's measures (models with outcome-level themes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    local: Option<&'a crate::local::LocalEval>,
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
    annual: f64,
    share_of_budget: Option<f64>,
    npv: f64,
    npv_without: f64,
    npv_single_party: f64,
}

fn allocations<'a>(m: &'a ModelSpec, a: &[crate::model::Allocation]) -> Vec<JsonAllocation<'a>> {
    a.iter()
        .filter(|x| x.share != 0.0)
        .map(|x| JsonAllocation {
            partner: &m.partners[x.partner].id,
            share: x.share,
            annual: x.annual_bn,
            share_of_budget: x.share_of_budget,
            npv: x.npv_bn,
            npv_without: x.npv_without,
            npv_single_party: x.npv_single_party,
        })
        .collect()
}

/// The keys of an evaluation's JSON that hold amounts of money (numbers or yearly lists).
const JSON_MONEY_KEYS: [&str; 15] = [
    "npv",
    "pv_benefits",
    "pv_costs",
    "net_annual",
    "addressable_spend",
    "gross_benefits",
    "costs",
    "net",
    "discounted_net",
    "annual",
    "npv_without",
    "npv_single_party",
    "pv_public",
    "public_npv",
    "budget_impact",
];

/// Multiply every amount of money in `v` (the values of [`JSON_MONEY_KEYS`], at any depth) by `k`.
fn scale_money(v: &mut serde_json::Value, k: f64, money: bool) {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            for (key, x) in o.iter_mut() {
                scale_money(x, k, JSON_MONEY_KEYS.contains(&key.as_str()));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| scale_money(x, k, money)),
        Value::Number(n) if money => {
            if let Some(x) = n.as_f64().and_then(|x| serde_json::Number::from_f64(x * k)) {
                *n = x;
            }
        }
        _ => {}
    }
}

/// "1 pass", "2 passes": a count with its noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// JSON: one object per scenario with every theme's outcome and the headline total, amounts in
/// the evaluations' readable unit ([`money_unit`]) named by each scenario's `money_unit`.
pub fn evaluation_json(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let money = money_unit(evals);
    let out: Vec<JsonScenario> = evals
        .iter()
        .map(|(s, e)| JsonScenario {
            scenario: &m.scenarios[*s],
            money_unit: money,
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
            local: e.local.as_ref(),
        })
        .collect();
    let mut s = if money == MoneyUnit::Billion {
        serde_json::to_string_pretty(&out).expect("evaluation serialises")
    } else {
        let mut v = serde_json::to_value(&out).expect("evaluation serialises");
        scale_money(&mut v, money.per_bn(), false);
        serde_json::to_string_pretty(&v).expect("evaluation serialises")
    };
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

/// CSV in long form: `scenario,theme,measure,year,value,unit` (year empty for five-year
/// measures); amounts in the evaluations' readable unit ([`money_unit`]), which `unit` names.
pub fn evaluation_csv(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let money = money_unit(evals);
    let k = money.per_bn();
    let mut o = String::from("scenario,theme,measure,year,value,unit\n");
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
                    let _ = writeln!(o, "{sc},{id},{name},{},{},{money}", t + 1, y * k);
                }
            }
            let m = money.symbol();
            let scalars = [
                ("npv", Some(x.npv * k), m),
                ("pv_benefits", Some(x.pv_benefits * k), m),
                ("pv_costs", Some(x.pv_costs * k), m),
                ("net_annual", Some(x.net_annual * k), m),
                (
                    "share_of_addressable",
                    Some(x.share_of_addressable),
                    "share",
                ),
                ("leakage_to_zero", x.leakage_to_zero, "share"),
                (
                    "delay_to_zero_years",
                    Some(x.delay_to_zero.whole_years as f64),
                    "years",
                ),
                (
                    "delay_to_zero_exact",
                    Some(x.delay_to_zero.exact_years),
                    "years",
                ),
                ("breakeven_year", x.breakeven_year.map(f64::from), "year"),
            ];
            for (name, v, unit) in scalars {
                let _ = writeln!(
                    o,
                    "{sc},{id},{name},,{},{unit}",
                    v.map_or(String::new(), |v| v.to_string())
                );
            }
        }
    }
    o
}

/// The readable money unit of deterministic evaluations: chosen, as a run's, from the largest
/// NPV, PV of benefits or PV of costs ([`MoneyUnit::readable`]).
pub fn money_unit(evals: &[(usize, Evaluation)]) -> MoneyUnit {
    let largest = evals
        .iter()
        .flat_map(|(_, e)| e.themes.iter().chain(std::iter::once(&e.total)))
        .map(|o| o.npv.abs().max(o.pv_benefits.abs()).max(o.pv_costs.abs()))
        .fold(0.0, f64::max);
    MoneyUnit::readable(largest)
}

/// An amount to `prec` decimals, or in exponent form (at most 7 characters, so that the yearly
/// columns stay apart) from 10^12 up: a model may hold amounts up to 10^100, which would otherwise
/// print as a hundred digits.
fn amount(v: f64, prec: usize) -> String {
    if v.abs() < 1e12 {
        format!("{v:.prec$}")
    } else {
        format!("{v:.1e}")
    }
}

/// A readable summary table per scenario.
pub fn evaluation_table(m: &ModelSpec, evals: &[(usize, Evaluation)]) -> String {
    let mut o = String::new();
    let money = money_unit(evals);
    let (unit, k) = (money.symbol(), money.per_bn());
    let _ = writeln!(
        o,
        "{} ({} prices, {} years)",
        m.name, m.price_base, m.horizon_years
    );
    for (s, e) in evals {
        let _ = writeln!(o, "\nScenario `{}` ({unit})", m.scenarios[*s]);
        let _ = writeln!(
            o,
            "{:<24} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9} {:>10} {:>9}",
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
                "{:<24} {:>8} {:>8} {:>8} {:>9} {:>6}% {:>9} {:>10} {:>9}",
                name,
                amount(x.npv * k, 2),
                amount(x.pv_benefits * k, 2),
                amount(x.pv_costs * k, 2),
                amount(x.net_annual * k, 2),
                amount(x.share_of_addressable * 100.0, 1),
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
                    .map(|v| format!("{:>8}", amount(v * k, 2)))
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
                "  {:<12} {:>6} {:>10} {:>8}",
                p.id,
                amount(a.annual_bn * k, 2),
                opt(
                    a.share_of_budget,
                    |b| format!(
                        "{}% {}",
                        amount(b * 100.0, 2),
                        p.budget.map_or("", |(c, _)| c.label())
                    ),
                    "-"
                ),
                amount(a.npv_bn * k, 2)
            );
        }
    }
    for (s, e) in evals {
        let Some(l) = &e.local else { continue };
        o.push('\n');
        wrap_text(
            &mut o,
            &format!(
                "Local cost-benefit measures, scenario `{}` ({unit}; ROI = (PV fiscal − PV costs) / PV costs, BCR = PV public value / PV costs, payback = breakeven year)",
                m.scenarios[*s]
            ),
            0,
        );
        let _ = writeln!(
            o,
            "{:<26} {:>12} {:>8} {:>8} {:>10}",
            "theme", "public NPV", "BCR", "ROI", "payback"
        );
        for (i, (name, x)) in outcome_rows(m, e).into_iter().enumerate() {
            // A ratio over costs whose present value is 0 does not exist: "n/a", not NaN.
            let roi = if l.roi[i].is_finite() {
                format!("{}%", amount(l.roi[i] * 100.0, 0))
            } else {
                "n/a".into()
            };
            let bcr = if l.bcr[i].is_finite() {
                amount(l.bcr[i], 2)
            } else {
                "n/a".into()
            };
            let _ = writeln!(
                o,
                "{:<26} {:>12} {:>8} {:>8} {:>10}",
                name,
                amount(l.public_npv[i] * k, 2),
                bcr,
                roi,
                opt(
                    x.breakeven_year.map(f64::from),
                    |y| format!("year {y}"),
                    "none"
                ),
            );
        }
        let _ = writeln!(o, "Net present budget impact per agency ({unit})");
        for (p, v) in m.partners.iter().zip(&l.budget_impact) {
            let _ = writeln!(o, "  {:<12} {:>8}", p.id, amount(v * k, 2));
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

/// Long-form CSV of a run summary: `entity,measure,statistic,value,se,unit`. Amounts of money
/// are in the run's readable unit ([`crate::summary::Summary::money_unit`]), which the `unit`
/// column names ("£m"); the other units are `share`, `years`, `ratio` and, for the
/// `p_below_` rows, `probability` (their threshold is in the money unit).
pub fn summary_csv(s: &crate::summary::Summary) -> String {
    use crate::summary::Stat;
    let money = s.money_unit();
    let s = &s.in_unit(money);
    let mut o = String::from("entity,measure,statistic,value,se,unit\n");
    let mut stat = |entity: &str, measure: &str, st: &Stat, unit: &str| {
        let _ = writeln!(
            o,
            "{entity},{measure},mean,{},{},{unit}",
            st.mean,
            cell(st.se_mean)
        );
        let _ = writeln!(o, "{entity},{measure},sd,{},,{unit}", cell(st.sd));
        for p in &st.percentiles {
            let _ = writeln!(
                o,
                "{entity},{measure},p{},{},{},{unit}",
                pct_label(p.p),
                p.value,
                cell(p.se)
            );
        }
        let _ = writeln!(
            o,
            "{entity},{measure},interval{}_low,{},,{unit}",
            pct_label(st.interval[0]),
            st.interval[1]
        );
        let _ = writeln!(
            o,
            "{entity},{measure},interval{}_high,{},,{unit}",
            pct_label(st.interval[0]),
            st.interval[2]
        );
        for b in &st.below {
            let _ = writeln!(
                o,
                "{entity},{measure},p_below_{},{},{},probability",
                b.threshold,
                b.p,
                cell(b.se)
            );
        }
    };
    let m = money.symbol();
    for e in &s.outcomes {
        stat(&e.id, "npv", &e.npv, m);
        stat(&e.id, "pv_benefits", &e.pv_benefits, m);
        stat(&e.id, "pv_costs", &e.pv_costs, m);
        stat(&e.id, "leakage_to_zero", &e.leakage_to_zero, "share");
        stat(&e.id, "delay_to_zero", &e.delay_to_zero, "years");
    }
    for p in &s.partners {
        stat(&format!("partner.{}", p.id), "npv", &p.npv, m);
    }
    if let Some(l) = &s.local {
        for e in &l.entities {
            stat(&e.id, "public_value_npv", &e.public_value_npv, m);
            stat(&e.id, "public_value_bcr", &e.public_value_bcr, "ratio");
            stat(&e.id, "roi", &e.roi, "ratio");
        }
        for p in &l.budget_impact {
            stat(&format!("partner.{}", p.id), "budget_impact", &p.npv, m);
        }
    }
    o
}

/// `v` with `d` decimals, or "n/a" for a statistic that does not exist for the draws (a
/// standard error or correlation from a single draw is NaN).
fn fixed(v: f64, d: usize) -> String {
    if v.is_finite() {
        format!("{v:.d$}")
    } else {
        "n/a".into()
    }
}

/// A CSV cell: the number, or empty when the statistic does not exist for the draws (as the `se`
/// cell of a row that has no standard error).
fn cell(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        String::new()
    }
}

fn pct_label(p: f64) -> String {
    let s = format!("{}", p * 100.0);
    s.trim_end_matches(".0").replace('.', "_")
}

/// Width of the terminal summaries, in characters.
pub const WIDTH: usize = 100;

/// "median [P10, P90]" of `st` scaled by `scale`, to `prec` decimals with `unit` after the
/// median; its mean ("mean x") when the run did not compute those percentiles (`--percentiles`
/// without 0.1, 0.5 or 0.9): never a NaN.
fn spread(st: &crate::summary::Stat, scale: f64, prec: usize, unit: &str) -> String {
    match (st.percentile(0.5), bracket(st, scale, prec)) {
        (Some(m), b) if !b.is_empty() => format!("{:.prec$}{unit}{b}", m * scale),
        _ => format!("mean {:.prec$}{unit}", st.mean * scale),
    }
}

/// " [P10, P90]" of `st` as [`spread`] writes it, or nothing when either was not computed.
fn bracket(st: &crate::summary::Stat, scale: f64, prec: usize) -> String {
    match (st.percentile(0.1), st.percentile(0.9)) {
        (Some(a), Some(b)) => format!(" [{:.prec$}, {:.prec$}]", a * scale, b * scale),
        _ => String::new(),
    }
}

/// Appends `head` and then `items` separated by `sep`, starting a new line indented by `indent`
/// spaces whenever the next item would pass [`WIDTH`] (an item wider than a line gets a line of
/// its own).
fn wrap_items(o: &mut String, head: &str, items: &[String], sep: &str, indent: usize) {
    let mut line = head.to_string();
    let mut len = line.chars().count();
    // A head ending in a space is followed by the first item directly; otherwise by `sep`.
    let mut fresh = line.trim().is_empty() || line.ends_with(' ');
    let flush = |o: &mut String, line: &str| {
        o.push_str(line.trim_end());
        o.push('\n');
    };
    for it in items {
        let w = it.chars().count();
        if !fresh && len + sep.chars().count() + w > WIDTH {
            flush(o, &line);
            line = " ".repeat(indent);
            len = indent;
            fresh = true;
        }
        if fresh && len + w > WIDTH {
            // Wider than what is left of the line: on lines of its own, wrapped at its words.
            if !line.trim().is_empty() {
                flush(o, &line);
            }
            wrap_text(o, it, indent);
            line = " ".repeat(indent);
            len = indent;
            continue;
        }
        if !fresh {
            line.push_str(sep);
            len += sep.chars().count();
        }
        line.push_str(it);
        len += w;
        fresh = false;
    }
    if !line.trim().is_empty() || items.is_empty() {
        flush(o, &line);
    }
}

/// Appends `text` wrapped at word boundaries to [`WIDTH`], every line indented by `indent`.
fn wrap_text(o: &mut String, text: &str, indent: usize) {
    let pad = " ".repeat(indent);
    let opts = textwrap::Options::new(WIDTH)
        .initial_indent(&pad)
        .subsequent_indent(&pad)
        .break_words(false);
    for l in textwrap::wrap(text, opts) {
        o.push_str(&l);
        o.push('\n');
    }
}

/// Appends a table with a name column and right-aligned value columns, split into as few
/// blocks of columns (each repeating the name column) as keep its lines within [`WIDTH`].
fn blocked_table(o: &mut String, corner: &str, headers: &[String], rows: &[(String, Vec<String>)]) {
    let nw = rows
        .iter()
        .map(|(n, _)| n.chars().count())
        .chain(std::iter::once(corner.chars().count()))
        .max()
        .unwrap_or(0);
    let cw = |c: usize| {
        rows.iter()
            .map(|(_, v)| v[c].chars().count())
            .chain(std::iter::once(headers[c].chars().count()))
            .max()
            .unwrap_or(0)
            + 2
    };
    let widths: Vec<usize> = (0..headers.len()).map(cw).collect();
    let widest = widths.iter().copied().max().unwrap_or(1);
    let per_line = (WIDTH.saturating_sub(nw) / widest).max(1);
    let blocks = headers.len().div_ceil(per_line).max(1);
    let per_block = headers.len().div_ceil(blocks).max(1);
    for (b, cols) in (0..headers.len())
        .collect::<Vec<_>>()
        .chunks(per_block)
        .enumerate()
    {
        if b > 0 {
            o.push('\n');
        }
        let _ = write!(o, "{corner:<nw$}");
        for &c in cols {
            let _ = write!(o, "{:>w$}", headers[c], w = widths[c]);
        }
        o.push('\n');
        for (name, cells) in rows {
            let _ = write!(o, "{name:<nw$}");
            for &c in cols {
                let _ = write!(o, "{:>w$}", cells[c], w = widths[c]);
            }
            o.push('\n');
        }
    }
}

/// A threshold in a column header, to six significant digits (a threshold of £10m in a table
/// in £m is 0.01 £bn × 1000, which is not exactly 10): `10`, `-2.5`, `0.125`.
fn threshold_label(v: f64) -> String {
    crate::error::show_significant(v, 6)
}

/// A readable summary of a run.
pub fn summary_table(s: &crate::summary::Summary) -> String {
    let m = &s.metadata;
    let mut o = String::new();
    let money = s.money_unit();
    let (unit, k) = (money.symbol(), money.per_bn());
    let _ = writeln!(
        o,
        "npvrisk {} | scenario `{}` | {} draws ({} sampler, seed {}){}",
        m.npvrisk_version,
        m.scenario,
        s.kept_draws,
        m.sampler,
        m.seed,
        if s.skipped_nonfinite > 0 {
            format!(", {} non-finite draws skipped", s.skipped_nonfinite)
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "{} uncertain input{}; {} NPV, {unit}, with Monte Carlo standard errors in brackets\n",
        s.inputs.len(),
        if s.inputs.len() == 1 { "" } else { "s" },
        crate::summary::horizon_npv(s.metadata.horizon_years)
    );
    let pcts: Vec<String> = s.outcomes.first().map_or(vec![], |e| {
        e.npv
            .percentiles
            .iter()
            .map(|p| format!("P{}", pct_label(p.p)))
            .collect()
    });
    let mut headers = vec!["mean".to_string()];
    headers.extend(pcts);
    // P(NPV < 0), then one column for each `--threshold`, in the table's unit.
    let below: Vec<f64> = s.outcomes.first().map_or(vec![0.0], |e| {
        e.npv.below.iter().map(|b| b.threshold).collect()
    });
    headers.extend(
        below
            .iter()
            .map(|t| format!("P(NPV<{})", threshold_label(t * k))),
    );
    let rows: Vec<(String, Vec<String>)> = s
        .outcomes
        .iter()
        .map(|e| {
            let name = if e.headline {
                e.id.clone()
            } else {
                format!("{} *", e.id)
            };
            let mut cells = vec![format!(
                "{:.2} ({})",
                e.npv.mean * k,
                fixed(e.npv.se_mean * k, 3)
            )];
            for p in &e.npv.percentiles {
                cells.push(format!("{:.2} ({})", p.value * k, fixed(p.se * k, 3)));
            }
            for b in &e.npv.below {
                cells.push(format!("{:.1}% ({})", b.p * 100.0, fixed(b.se * 100.0, 2)));
            }
            (name, cells)
        })
        .collect();
    blocked_table(&mut o, "NPV", &headers, &rows);
    let _ = writeln!(
        o,
        "\nHeadline review: where the scenario values fall in the simulated distribution"
    );
    for r in &s.headline_review {
        let n = r.points.len();
        let mut items: Vec<String> = r
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{} {:.1} at P{:.0}{}",
                    p.label,
                    p.npv * k,
                    p.percentile_rank * 100.0,
                    if i + 1 < n { "," } else { ";" }
                )
            })
            .collect();
        items.push(format!(
            "P({:.1} ≤ NPV ≤ {:.1}) = {:.1}%",
            r.range[0] * k,
            r.range[1] * k,
            r.p_within_range * 100.0
        ));
        let head = format!("  {:<24} ", r.id);
        let indent = head.chars().count().min(30);
        wrap_items(&mut o, &head, &items, " ", indent);
    }
    let _ = writeln!(
        o,
        "\nThresholds (median [P10, P90]); breakeven year probabilities"
    );
    for e in s.outcomes.iter().filter(|e| e.headline) {
        let be: Vec<String> = e
            .breakeven_year
            .iter()
            .filter(|y| y.p > 0.0)
            .map(|y| {
                format!(
                    "{}: {:.0}%",
                    y.year.map_or("none".into(), |v| format!("Y{v}")),
                    y.p * 100.0
                )
            })
            .collect();
        let head = format!("  {:<24} ", e.id);
        let indent = head.chars().count().min(30);
        wrap_items(
            &mut o,
            &head,
            &[
                format!(
                    "leakage-to-zero {}",
                    spread(&e.leakage_to_zero, 100.0, 1, "%")
                ),
                format!("delay-to-zero {}", spread(&e.delay_to_zero, 1.0, 1, "y")),
            ],
            "  ",
            indent,
        );
        let mut years = vec!["breakeven".to_string()];
        years.extend(be);
        wrap_items(&mut o, &" ".repeat(indent), &years, " ", indent + 10);
    }
    let _ = writeln!(
        o,
        "\nWho bears the risk: each partner's share of the headline NPV"
    );
    for p in s.partners.iter().filter(|p| p.npv.mean != 0.0) {
        let _ = writeln!(
            o,
            "  {:<12} mean {:>7.2}  P(net benefit < 0) = {:.1}%",
            p.id,
            p.npv.mean * k,
            p.p_negative * 100.0
        );
    }
    if let Some(l) = &s.local {
        o.push('\n');
        wrap_text(
            &mut o,
            &format!(
                "Local cost-benefit measures (median [P10, P90]): public value NPV ({unit}), public value BCR, ROI = (PV fiscal − PV costs) / PV costs, payback year"
            ),
            0,
        );
        for e in &l.entities {
            let pb: Vec<String> = e
                .payback_year
                .iter()
                .filter(|y| y.p >= 0.005)
                .map(|y| match y.year {
                    Some(t) => format!("Y{t}: {:.0}%", y.p * 100.0),
                    None => format!("none: {:.0}%", y.p * 100.0),
                })
                .collect();
            let head = format!("  {:<22} ", e.id);
            let indent = head.chars().count().min(30);
            wrap_items(
                &mut o,
                &head,
                &[
                    format!("NPV {}", spread(&e.public_value_npv, k, 2, "")),
                    format!("BCR {}", spread(&e.public_value_bcr, 1.0, 2, "")),
                    format!("ROI {}", spread(&e.roi, 100.0, 0, "%")),
                ],
                "  ",
                indent,
            );
            let mut years = vec!["payback".to_string()];
            years.extend(pb);
            wrap_items(&mut o, &" ".repeat(indent), &years, " ", indent + 8);
        }
        wrap_text(
            &mut o,
            &format!(
                "Net present budget impact per agency ({unit}): cashable fiscal benefits less its share of the costs"
            ),
            0,
        );
        for p in &l.budget_impact {
            let _ = writeln!(
                o,
                "  {:<12} {}  P(impact < 0) = {:.1}%",
                p.id,
                match p.npv.percentile(0.5) {
                    Some(m) => format!("median {:>8.2}{}", m * k, bracket(&p.npv, k, 2)),
                    None => spread(&p.npv, k, 2, ""),
                },
                p.p_negative * 100.0
            );
        }
    }
    if !s.inputs.is_empty() {
        let _ = writeln!(
            o,
            "\nUncertain inputs (P10 / P50 / P90 of the value drawn) and where each comes from"
        );
        let num = |x: f64| {
            if x.abs() >= 1000.0 {
                format!("{x:.0}")
            } else {
                format!("{x:.3}")
            }
        };
        let pw = s.inputs.iter().map(|i| i.path.chars().count()).max();
        let kw = s.inputs.iter().map(|i| i.kind.chars().count()).max();
        let (pw, kw) = (pw.unwrap_or(0), kw.unwrap_or(0));
        for i in &s.inputs {
            let nums = format!("{} / {} / {}", num(i.p10), num(i.p50), num(i.p90));
            let one_line = format!("  {:<pw$} {:<kw$} {nums}", i.path, i.kind);
            if one_line.chars().count() <= WIDTH {
                let _ = writeln!(o, "{one_line}");
            } else {
                // A long path on its line, the distribution and its percentiles under it.
                let _ = writeln!(o, "  {}", i.path);
                let _ = writeln!(o, "      {:<kw$} {nums}", i.kind);
            }
            if let Some(src) = &i.source {
                wrap_text(&mut o, src, 6);
            }
        }
    }
    if let Some(c) = &s.correlation {
        let _ = writeln!(
            o,
            "\nRank correlations, target → achieved (on {} draws)",
            c.draws
        );
        // The pairs given a target are listed; the rest (target 0) are summarised in one line.
        let (mut others, mut worst, mut unmeasured) = (0usize, 0.0f64, false);
        for i in 0..c.inputs.len() {
            for j in 0..i {
                if c.target[i][j] == 0.0 {
                    others += 1;
                    worst = worst.max(c.achieved[i][j].abs());
                    unmeasured |= !c.achieved[i][j].is_finite();
                    continue;
                }
                wrap_items(
                    &mut o,
                    "  ",
                    &[
                        format!("{} ~", c.inputs[i]),
                        format!(
                            "{}: {:.3} → {}",
                            c.inputs[j],
                            c.target[i][j],
                            fixed(c.achieved[i][j], 3)
                        ),
                    ],
                    " ",
                    6,
                );
            }
        }
        if others > 0 {
            let _ = writeln!(
                o,
                "  {others} {}{}: target 0, achieved within ±{}",
                if others < c.inputs.len() * (c.inputs.len() - 1) / 2 {
                    "other "
                } else {
                    ""
                },
                if others == 1 { "pair" } else { "pairs" },
                fixed(if unmeasured { f64::NAN } else { worst }, 3)
            );
        }
    }
    if s.outcomes.iter().any(|e| !e.headline) {
        let _ = writeln!(o, "\n* indicative theme, left out of the total");
    }
    o
}

/// Tornado bars as CSV: the total NPVs and swing in the readable money unit
/// ([`crate::sensitivity::Sensitivity::money_unit`]) named by the `money_unit` column; the
/// input values in their parameter's unit.
pub fn tornado_csv(s: &crate::sensitivity::Sensitivity) -> String {
    let money = s.money_unit();
    let s = &s.in_unit(money);
    let mut o = String::from(
        "factor,inputs,central_value,low_value,high_value,total_npv_low,total_npv_high,swing,money_unit\n",
    );
    for b in &s.tornado {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{money}",
            b.factor,
            b.inputs.join(" "),
            b.central_value,
            b.low_value,
            b.high_value,
            b.total_low,
            b.total_high,
            b.swing
        );
    }
    o
}

/// Switching values as CSV.
pub fn switching_csv(s: &crate::sensitivity::Sensitivity) -> String {
    let mut o = String::from(
        "factor,input,entity,central_value,switching_value,change_pct,inside_distribution,percentile,note\n",
    );
    let f = |v: Option<f64>| v.map_or(String::new(), |x| x.to_string());
    for v in &s.switching {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},\"{}\"",
            v.factor,
            v.input,
            v.entity,
            v.central_value,
            f(v.switching_value),
            f(v.change_pct),
            v.inside_distribution,
            f(v.percentile),
            v.note.replace('"', "'")
        );
    }
    o
}

/// Rank correlations as CSV.
pub fn rank_csv(s: &crate::sensitivity::Sensitivity) -> String {
    let mut o = String::from("input,entity,spearman,contribution_to_variance\n");
    for r in &s.rank {
        let _ = writeln!(
            o,
            "{},{},{},{}",
            r.input, r.entity, r.spearman, r.contribution
        );
    }
    o
}

/// Sobol indices (factors independent) and Shapley effects (under the run's joint
/// distribution) as CSV.
pub fn sobol_csv(s: &crate::sensitivity::Sensitivity) -> String {
    let mut o = String::from(
        "entity,factor,first,first_low,first_high,total,total_low,total_high,shapley,shapley_low,shapley_high,inputs\n",
    );
    for r in &s.sobol {
        for f in &r.factors {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                r.entity,
                f.factor,
                f.first[0],
                f.first[1],
                f.first[2],
                f.total[0],
                f.total[1],
                f.total[2],
                f.shapley[0],
                f.shapley[1],
                f.shapley[2],
                f.inputs.join(" ")
            );
        }
    }
    o
}

/// A readable sensitivity report for the terminal.
pub fn sensitivity_table(s: &crate::sensitivity::Sensitivity) -> String {
    let money = s.money_unit();
    let unit = money.symbol();
    let s = &s.in_unit(money);
    let mut o = String::new();
    let n = s.central_npv.len();
    let central: Vec<String> = s
        .central_npv
        .iter()
        .enumerate()
        .map(|(i, (id, v))| format!("{id} {v:.2}{}", if i + 1 < n { "," } else { "" }))
        .collect();
    wrap_items(
        &mut o,
        &format!("Central NPVs (every input at its median), {unit}:"),
        &central,
        " ",
        2,
    );
    if !s.tornado.is_empty() {
        let _ = writeln!(
            o,
            "\nTornado: total NPV with one factor at its low / high level, the others at their medians ({unit})"
        );
        for b in &s.tornado {
            wrap_items(
                &mut o,
                &format!(
                    "  {:<48} {:>8.2} {:>8.2}   swing {:>6.2}",
                    b.factor, b.total_low, b.total_high, b.swing
                ),
                &[format!(
                    "({} {:.3} .. {:.3})",
                    b.inputs[0], b.low_value, b.high_value
                )],
                "   ",
                6,
            );
        }
    }
    if !s.switching.is_empty() {
        let _ = writeln!(
            o,
            "\nSwitching values: the value at which the NPV reaches zero, the others at their medians"
        );
        for v in &s.switching {
            let sv = match (v.switching_value, v.change_pct) {
                (Some(x), Some(c)) => format!("{x:.4} ({c:+.1}% from {:.4})", v.central_value),
                (Some(x), None) => format!("{x:.4}"),
                _ => "none".into(),
            };
            wrap_items(
                &mut o,
                &format!("  {:<48} {}", v.factor, v.entity),
                &[format!("{sv:<34} {}", v.note)],
                " ",
                6,
            );
        }
    }
    if !s.rank.is_empty() {
        let _ = writeln!(
            o,
            "\nRank correlation with the total NPV (Spearman) and share of variance (normalised ρ²)"
        );
        let mut r: Vec<&crate::sensitivity::RankCorrelation> =
            s.rank.iter().filter(|r| r.entity == "total").collect();
        r.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
        for x in r {
            let _ = writeln!(
                o,
                "  {:<52} {:>7.3} {:>7.1}%",
                x.input,
                x.spearman,
                x.contribution * 100.0
            );
        }
    }
    for r in s.sobol.iter().filter(|r| r.entity == "total") {
        o.push('\n');
        wrap_text(
            &mut o,
            &format!(
                "Variance of the total NPV: Sobol indices assume independent factors (the copula is not applied; variance {:.3} {unit}², {} base draws, {} model runs); Shapley effects are shares of the variance under the run's joint distribution, correlations included (variance {:.3} {unit}², {} rows, {} model runs{}). 95% bootstrap intervals.",
                r.variance,
                r.base_draws,
                r.model_runs,
                r.shapley.variance,
                r.shapley.base_draws,
                r.shapley.model_runs,
                if r.shapley.all_subsets {
                    ", every subset of the factors"
                } else {
                    ", sampled orderings"
                }
            ),
            0,
        );
        for f in &r.factors {
            wrap_items(
                &mut o,
                &format!("  {:<48}", f.factor),
                &[
                    format!(
                        "Sobol first {:.3} [{:.3}, {:.3}]",
                        f.first[0], f.first[1], f.first[2]
                    ),
                    format!(
                        "total {:.3} [{:.3}, {:.3}]",
                        f.total[0], f.total[1], f.total[2]
                    ),
                    format!(
                        "Shapley {:.3} [{:.3}, {:.3}]",
                        f.shapley[0], f.shapley[1], f.shapley[2]
                    ),
                ],
                "  ",
                6,
            );
        }
    }
    for r in s.scenario.iter().filter(|r| r.entity == "total") {
        let what = if r.region == "npv_below_zero" {
            "NPV < 0".to_string()
        } else {
            format!("worst 10%, NPV ≤ {:.2} {unit}", r.threshold)
        };
        o.push('\n');
        wrap_text(
            &mut o,
            &format!(
                "Scenario analysis, total NPV, {what} ({} of {} draws): inputs whose median there differs from their overall median by at least {} SD (significant; @RISK's convention, a threshold on the size of the shift, not a hypothesis test)",
                r.draws,
                r.total_draws,
                crate::sensitivity::SCENARIO_SIGNIFICANT_SD
            ),
            0,
        );
        let sig: Vec<_> = r.inputs.iter().filter(|i| i.significant).collect();
        if sig.is_empty() {
            let _ = writeln!(o, "  none");
        }
        for i in sig {
            wrap_items(
                &mut o,
                &format!("  {:<52}", i.input),
                &[format!(
                    "median {:.4} → {:.4}  shift {:+.2} SD",
                    i.overall_median, i.subset_median, i.shift_sd
                )],
                " ",
                6,
            );
        }
    }
    for n in &s.notes {
        o.push('\n');
        wrap_text(&mut o, &format!("note: {n}"), 0);
    }
    o
}

/// Scenario analysis as CSV: every headline NPV, region and input; the region's NPV bound in the
/// readable money unit named by the `money_unit` column.
pub fn scenario_csv(s: &crate::sensitivity::Sensitivity) -> String {
    let money = s.money_unit();
    let s = &s.in_unit(money);
    let mut o = String::from(
        "entity,region,threshold,draws,total_draws,input,overall_median,subset_median,sd,shift_sd,significant,money_unit\n",
    );
    for r in &s.scenario {
        for i in &r.inputs {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{},{},{},{money}",
                r.entity,
                r.region,
                r.threshold,
                r.draws,
                r.total_draws,
                i.input,
                i.overall_median,
                i.subset_median,
                i.sd,
                i.shift_sd,
                i.significant
            );
        }
    }
    o
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_count_takes_its_noun_in_the_right_number() {
        assert_eq!(super::count(1, "pass", "passes"), "1 pass");
        assert_eq!(super::count(2, "pass", "passes"), "2 passes");
        assert_eq!(super::count(0, "theme", "themes"), "0 themes");
    }
}
