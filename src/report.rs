//! The reviewer's report: one self-contained HTML file (charts inline as SVG, no network access)
//! with the headline review, the summary table with Monte Carlo standard errors, thresholds,
//! breakeven years, partner risk, sensitivity results and the run's metadata. Produces text; the
//! binary writes files.

use std::fmt::Write as _;

use crate::charts::{self, BoxStats};
use crate::engine::{Draws, Layout, Measure, Plan};
use crate::sensitivity::Sensitivity;
use crate::stats::{OrderStats, Sorted, mean_sd};
use crate::summary::{Stat, Summary, horizon_npv, horizon_npv_capital};

/// A chart: file stem and SVG document.
pub type Chart = (String, String);

pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The summary's money unit ([`Summary::money_unit`]) and a formatter of amounts (£bn) in it:
/// "£13.8m".
fn money(s: &Summary) -> (&'static str, impl Fn(f64) -> String + Copy) {
    let u = s.money_unit();
    (u.symbol(), move |x: f64| u.format(x, 1))
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// A ratio or an amount to two decimals.
fn two(x: f64) -> String {
    format!("{x:.2}")
}

/// Every chart of the report, in order.
pub fn charts(plan: &Plan, s: &Summary, sens: &Sensitivity, d: &Draws) -> Vec<Chart> {
    let (unit, bn) = money(s);
    let mut out = Vec::new();
    let headline: Vec<usize> = s
        .outcomes
        .iter()
        .enumerate()
        .filter(|(_, e)| e.headline)
        .map(|(i, _)| i)
        .collect();
    // Distribution of NPV with the published / scenario values marked; the total first.
    let mut order = headline.clone();
    order.rotate_right(1);
    for &e in &order {
        let id = &s.outcomes[e].id;
        let sorted = Sorted::new(d.outcomes[Layout::entity(e, Measure::Npv)].clone())
            .map(|x| x.values().to_vec())
            .unwrap_or_default();
        let markers: Vec<(String, f64)> = s
            .headline_review
            .iter()
            .find(|r| &r.id == id)
            .map(|r| {
                let published: Vec<_> = r
                    .points
                    .iter()
                    .filter(|p| p.label.starts_with("published"))
                    .collect();
                let chosen = if published.is_empty() {
                    r.points.iter().collect()
                } else {
                    published
                };
                chosen
                    .iter()
                    .map(|p| (format!("{} {}", p.label, bn(p.npv)), p.npv))
                    .collect()
            })
            .unwrap_or_default();
        out.push((
            format!("npv_{id}"),
            charts::histogram_cdf(
                &format!(
                    "{} NPV, {}: simulated distribution and S-curve",
                    horizon_npv_capital(plan.model.horizon_years),
                    label(id)
                ),
                &format!(
                    "{} NPV ({unit}, {} prices)",
                    horizon_npv_capital(plan.model.horizon_years),
                    plan.model.price_base
                ),
                &sorted,
                &markers,
                &bn,
            ),
        ));
    }
    if let Some(total) = sens.central_npv.iter().find(|(id, _)| id == "total") {
        let bars: Vec<(String, f64, f64)> = sens
            .tornado
            .iter()
            .map(|b| (factor_label(&b.factor), b.total_low, b.total_high))
            .collect();
        out.push((
            "tornado".into(),
            charts::tornado(
                "Tornado: total NPV with each input at its P10 and P90, others at their medians",
                &format!(
                    "Total {} NPV ({unit})",
                    horizon_npv(plan.model.horizon_years)
                ),
                total.1,
                "All inputs at their medians",
                &bars,
                &bn,
            ),
        ));
    }
    let leak: Vec<(String, Vec<(f64, f64)>)> = headline
        .iter()
        .map(|&e| {
            (
                label(&s.outcomes[e].id),
                s.outcomes[e]
                    .leakage_curve
                    .iter()
                    .map(|c| (c.x, c.p_npv_positive))
                    .collect(),
            )
        })
        .collect();
    out.push((
        "leakage_curve".into(),
        charts::curves(
            "Leakage: probability that the NPV stays positive when a share of benefits leaks",
            "Share of benefits lost",
            "P(NPV > 0)",
            &leak,
            &pct,
            &pct,
        ),
    ));
    let delay: Vec<(String, Vec<(f64, f64)>)> = headline
        .iter()
        .map(|&e| {
            (
                label(&s.outcomes[e].id),
                s.outcomes[e]
                    .delay_curve
                    .iter()
                    .map(|c| (c.x, c.p_npv_positive))
                    .collect(),
            )
        })
        .collect();
    out.push((
        "delay_curve".into(),
        charts::curves(
            "Delay: probability that the NPV stays positive when benefits slip",
            "Extra delay of benefits (years)",
            "P(NPV > 0)",
            &delay,
            &|x| format!("{x:.1}"),
            &pct,
        ),
    ));
    let years: Vec<String> = s.outcomes[0]
        .breakeven_year
        .iter()
        .map(|y| {
            y.year
                .map_or("not within 5 years".to_string(), |v| format!("Year {v}"))
        })
        .collect();
    let be: Vec<(String, Vec<f64>)> = headline
        .iter()
        .map(|&e| {
            (
                label(&s.outcomes[e].id),
                s.outcomes[e].breakeven_year.iter().map(|y| y.p).collect(),
            )
        })
        .collect();
    out.push((
        "breakeven".into(),
        charts::bars(
            "Breakeven year: first year cumulative discounted net benefit is at least zero",
            "Breakeven year",
            "Probability",
            &years,
            &be,
            &pct,
        ),
    ));
    let layout = plan.layout();
    let boxes: Vec<(String, BoxStats)> = plan
        .model
        .partners
        .iter()
        .enumerate()
        .filter(|(p, _)| s.partners[*p].npv.mean != 0.0)
        .filter_map(|(p, partner)| {
            let v = &d.outcomes[layout.partner_npv(p)];
            let st = Sorted::new(v.clone())?;
            Some((
                partner.id.clone(),
                BoxStats {
                    p5: st.quantile(0.05),
                    p25: st.quantile(0.25),
                    p50: st.quantile(0.5),
                    p75: st.quantile(0.75),
                    p95: st.quantile(0.95),
                    mean: mean_sd(v).0,
                },
            ))
        })
        .collect();
    let span = horizon_npv(plan.model.horizon_years);
    out.push(("partners".into(), charts::boxplots(&format!("Who bears the risk: each department's share of the headline {span} NPV (box P25-P75, whiskers P5-P95)"), &format!("Share of {span} NPV ({unit})"), &boxes, &bn)));
    out.extend(driver_charts(plan, sens, d, unit, &bn));
    if let Some(sob) = sens.sobol.iter().find(|r| r.entity == "total") {
        let items: Vec<(String, charts::Estimate, charts::Estimate)> = sob
            .factors
            .iter()
            .map(|f| {
                (
                    factor_label(&f.factor),
                    (f.first[0], f.first[1], f.first[2]),
                    (f.total[0], f.total[1], f.total[2]),
                )
            })
            .collect();
        out.push((
            "sobol".into(),
            charts::interval_bars(
                &format!(
                    "Sobol indices of the total NPV ({} base draws, {} model runs)",
                    sob.base_draws, sob.model_runs
                ),
                "Share of the variance of the total NPV",
                &items,
            ),
        ));
    }
    out
}

/// Points of a scatter plot: at most this many draws, evenly spaced in draw order.
pub const SCATTER_POINTS: usize = 2000;
/// Inputs shown in scatter plots against the total NPV (the largest rank correlations).
const SCATTER_INPUTS: usize = 4;
/// Factors drawn in the spider chart (the largest tornado swings).
const SPIDER_FACTORS: usize = 6;
/// Slices of equal numbers of draws along an input whose mean NPV is a scatter plot's trend.
const TREND_SLICES: usize = 25;
/// Points along the draws at which the convergence chart evaluates its statistics.
const CONVERGENCE_POINTS: usize = 40;

/// A number with three significant digits (inputs have no common unit).
fn sig3(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (2 - x.abs().log10().floor() as i32).clamp(0, 8) as usize;
    format!("{x:.decimals$}")
}

/// The charts that need the draws of the total NPV with the inputs: the spider chart, scatter
/// plots of the leading inputs against the total NPV, the convergence of the total NPV's
/// statistics, and each input's distribution.
fn driver_charts(
    plan: &Plan,
    sens: &Sensitivity,
    d: &Draws,
    unit: &str,
    bn: &dyn Fn(f64) -> String,
) -> Vec<Chart> {
    let mut out = Vec::new();
    let Some(total) = plan.entities.iter().position(|e| e == "total") else {
        return out;
    };
    let y = &d.outcomes[Layout::entity(total, Measure::Npv)];
    // Spider: the total NPV against each leading factor's percentile, the others at medians.
    let names: Vec<String> = sens
        .tornado
        .iter()
        .take(SPIDER_FACTORS)
        .map(|b| b.factor.clone())
        .collect();
    let levels = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99];
    let lines: Vec<(String, Vec<(f64, f64)>)> = crate::sensitivity::spider(plan, &names, &levels)
        .into_iter()
        .map(|(n, l)| (factor_label(&n), l))
        .collect();
    out.push((
        "spider".into(),
        charts::curves(
            "Spider: total NPV with one input at each percentile of its distribution, the others at their medians",
            "Percentile of the input's distribution",
            &format!("Total {} NPV ({unit})", horizon_npv(plan.model.horizon_years)),
            &lines,
            &pct,
            bn,
        ),
    ));
    // Scatter plots of the inputs with the largest rank correlations with the total NPV.
    let mut rank: Vec<_> = sens.rank.iter().filter(|r| r.entity == "total").collect();
    rank.sort_by(|a, b| b.spearman.abs().total_cmp(&a.spearman.abs()));
    let step = d.n.div_ceil(SCATTER_POINTS).max(1);
    for r in rank.iter().take(SCATTER_INPUTS) {
        let Some(i) = plan.set.inputs.iter().position(|x| x.param.path == r.input) else {
            continue;
        };
        let x = &d.inputs[i];
        let points: Vec<(f64, f64)> = (0..d.n).step_by(step).map(|j| (x[j], y[j])).collect();
        let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let slices = TREND_SLICES.min(pairs.len());
        let trend: Vec<(f64, f64)> = (0..slices)
            .map(|k| {
                let part = &pairs[k * pairs.len() / slices..(k + 1) * pairs.len() / slices];
                let m = part.len() as f64;
                (
                    part.iter().map(|p| p.0).sum::<f64>() / m,
                    part.iter().map(|p| p.1).sum::<f64>() / m,
                )
            })
            .collect();
        out.push((
            format!("scatter_{}", r.input.replace(['.', '[', ']'], "_")),
            charts::scatter(
                &format!(
                    "{} against the total NPV (Spearman {:.2})",
                    factor_label(&r.input),
                    r.spearman
                ),
                &factor_label(&r.input),
                &format!(
                    "Total {} NPV ({unit})",
                    horizon_npv(plan.model.horizon_years)
                ),
                &points,
                &trend,
                (
                    &format!("Draws ({} of {}, evenly spaced)", points.len(), d.n),
                    &format!("Trend: mean NPV in {slices} slices along the input"),
                ),
                &sig3,
                bn,
            ),
        ));
    }
    // Convergence of the total NPV's mean and percentiles with their 95% confidence bands.
    let mut series: Vec<charts::BandSeries> = vec![
        ("mean".into(), Vec::new()),
        ("P5".into(), Vec::new()),
        ("P50".into(), Vec::new()),
        ("P95".into(), Vec::new()),
    ];
    let points = CONVERGENCE_POINTS.min(d.n);
    for j in 1..=points {
        let m = d.n * j / points;
        let prefix = &y[..m];
        let (mean, sd) = mean_sd(prefix);
        let half = 1.96 * sd / (m as f64).sqrt();
        series[0].1.push((m as f64, mean, mean - half, mean + half));
        let mut sorted = prefix.to_vec();
        radsort::sort(&mut sorted);
        for (k, p) in [(1, 0.05), (2, 0.5), (3, 0.95)] {
            let at = |r: f64| sorted[(r.max(1.0).ceil() as usize - 1).min(m - 1)];
            let mf = m as f64;
            let w = 1.96 * (mf * p * (1.0 - p)).sqrt();
            series[k]
                .1
                .push((mf, at(mf * p), at(mf * p - w), at(mf * p + w)));
        }
    }
    out.push((
        "convergence".into(),
        charts::band_lines(
            "Convergence: the total NPV's mean and percentiles as the draws accumulate",
            "Draws",
            &format!("Total {} NPV ({unit})", horizon_npv(plan.model.horizon_years)),
            &series,
            "Bands are 95% confidence intervals: the mean ± 1.96 standard errors; a percentile p between the order statistics of ranks mp ± 1.96·√(mp(1−p)) of the first m draws (distribution-free).",
            &|x| format!("{x:.0}"),
            bn,
        ),
    ));
    // Each input's distribution as drawn.
    for (i, input) in plan.set.inputs.iter().enumerate() {
        let mut v = d.inputs[i].clone();
        radsort::sort(&mut v);
        let none: [(&str, f64); 0] = [];
        out.push((
            format!("input_{}", input.param.path.replace(['.', '[', ']'], "_")),
            charts::histogram_cdf(
                &format!(
                    "Input {}: {}",
                    factor_label(&input.param.path),
                    input.dist.describe()
                ),
                &input.param.path,
                &v,
                &none,
                &sig3,
            ),
        ));
    }
    out
}

/// A readable name for a factor or input path: `themes.work_skills.delay_years` becomes
/// "work skills: delay years".
pub fn factor_label(name: &str) -> String {
    let words = |s: &str| s.replace(['_', '.'], " ");
    match name.strip_prefix("themes.").and_then(|r| r.split_once('.')) {
        Some((theme, field)) => format!("{}: {}", words(theme), words(field)),
        None => match name.split_once('.') {
            Some((a, b)) => format!("{}: {}", words(a), words(b)),
            None => words(name),
        },
    }
}

fn label(id: &str) -> String {
    match id {
        "total" => "headline total".to_string(),
        other => other.replace('_', " "),
    }
}

/// The local cost-benefit method's measures: public value NPV and BCR, ROI, payback year and
/// each agency's net present budget impact, each with its distribution.
fn local_html(o: &mut String, l: &crate::summary::LocalSummary, bn: &dyn Fn(f64) -> String) {
    // A percentile that is not among the run's (`--percentiles`) is shown as not computed.
    let q = |st: &Stat, p: f64, f: &dyn Fn(f64) -> String| not_computed_or(st.percentile(p), f);
    let _ = writeln!(
        o,
        "<h2 id=\"local\">Local cost-benefit measures</h2><p>Public value = fiscal + economic + social benefits. BCR = PV of public value / PV of costs; ROI = (PV of fiscal benefits − PV of costs) / PV of costs; payback = first year whose cumulative discounted fiscal net benefit is ≥ 0.</p>"
    );
    let _ = writeln!(
        o,
        "<table><tr><th>theme</th><th>public value NPV: P10</th><th>P50</th><th>P90</th><th>BCR: P10</th><th>P50</th><th>P90</th><th>ROI: P10</th><th>P50</th><th>P90</th><th>payback year</th></tr>"
    );
    for e in &l.entities {
        let pb: Vec<String> = e
            .payback_year
            .iter()
            .filter(|y| y.p >= 0.005)
            .map(|y| match y.year {
                Some(t) => format!("Y{t}: {}", pct(y.p)),
                None => format!("none: {}", pct(y.p)),
            })
            .collect();
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.id),
            q(&e.public_value_npv, 0.1, bn),
            q(&e.public_value_npv, 0.5, bn),
            q(&e.public_value_npv, 0.9, bn),
            q(&e.public_value_bcr, 0.1, &two),
            q(&e.public_value_bcr, 0.5, &two),
            q(&e.public_value_bcr, 0.9, &two),
            q(&e.roi, 0.1, &pct),
            q(&e.roi, 0.5, &pct),
            q(&e.roi, 0.9, &pct),
            pb.join(" ")
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(
        o,
        "<table id=\"budget_impact\"><tr><th>agency</th><th>net present budget impact: P10</th><th>P50</th><th>P90</th><th>P(impact &lt; 0)</th></tr>"
    );
    for p in &l.budget_impact {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&p.id),
            q(&p.npv, 0.1, bn),
            q(&p.npv, 0.5, bn),
            q(&p.npv, 0.9, bn),
            pct(p.p_negative)
        );
    }
    let _ = writeln!(o, "</table>");
}

/// A percentile's value formatted by `f`, or a dash marked as not computed when the run did not
/// ask for that percentile (`--percentiles`): never a NaN in the page.
fn not_computed_or(v: Option<f64>, f: &dyn Fn(f64) -> String) -> String {
    match v {
        Some(v) => f(v),
        None => "<span title=\"not computed: not among the run's --percentiles\">—</span>".into(),
    }
}

fn stat_cells(st: &Stat, f: &dyn Fn(f64) -> String) -> String {
    let mut c = format!("<td>{} <small>±{}</small></td>", f(st.mean), f(st.se_mean));
    for p in &st.percentiles {
        let _ = write!(c, "<td>{} <small>±{}</small></td>", f(p.value), f(p.se));
    }
    c
}

/// The HTML report.
pub fn html(
    plan: &Plan,
    s: &Summary,
    sens: &Sensitivity,
    charts: &[Chart],
    reproduction: Option<&str>,
) -> String {
    let m = &s.metadata;
    let (unit, bn) = money(s);
    let k = s.money_unit().per_bn();
    let mut o = String::new();
    o.push_str(&page_head(
        &format!("npvrisk report: {}", esc(&plan.model.name)),
        r#"table { border-collapse: collapse; margin: 1em 0; font-size: .9em; }
th, td { border: 1px solid #ddd; padding: .3em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; } small { color: #666; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
.note { background: #f7f7f0; border-left: 4px solid #cc9; padding: .5em 1em; }
code { font-size: .9em; }
"#,
    ));
    let _ = write!(
        o,
        r#"<h1>npvrisk report: {name}</h1>
<p>Monte Carlo sensitivity analysis of the {span} net present value, {draws} draws. Money in {unit} at {base} prices unless stated. Figures after ± are Monte Carlo standard errors.</p>
"#,
        name = esc(&plan.model.name),
        span = horizon_npv(plan.model.horizon_years),
        draws = s.kept_draws,
        base = esc(&plan.model.price_base)
    );
    // Headline review.
    // A model's own scenarios are "scenario values"; only a model reviewed against a report's
    // printed figures (the embedded 2013 model) asks about "published figures".
    let published = s
        .headline_review
        .iter()
        .any(|r| r.points.iter().any(|p| p.label.starts_with("published")));
    let _ = writeln!(
        o,
        "<h2>Headline review: {}</h2>",
        if published {
            "how likely are the published figures?"
        } else {
            "where do the scenario values fall in the simulated distribution?"
        }
    );
    let _ = writeln!(
        o,
        "<table><tr><th>theme</th><th>point</th><th>NPV</th><th>percentile in the simulation</th></tr>"
    );
    for r in &s.headline_review {
        for p in &r.points {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
                esc(&label(&r.id)),
                esc(&p.label),
                bn(p.npv),
                p.percentile_rank * 100.0
            );
        }
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><b>P({} ≤ NPV ≤ {})</b></td><td colspan=\"2\"><b>{:.1}%</b> <small>±{:.2}</small></td></tr>",
            esc(&label(&r.id)),
            bn(r.range[0]),
            bn(r.range[1]),
            r.p_within_range * 100.0,
            r.p_within_range_se * 100.0
        );
    }
    let _ = writeln!(o, "</table>");
    for (name, svg) in charts.iter().filter(|(n, _)| n.starts_with("npv_")) {
        let _ = writeln!(
            o,
            "<figure id=\"{}\">{}</figure>",
            esc(name),
            strip_xml_decl(svg)
        );
    }
    let figure = |o: &mut String, name: &str| {
        if let Some((_, svg)) = charts.iter().find(|(n, _)| n == name) {
            let _ = writeln!(o, "<figure id=\"{name}\">{}</figure>", strip_xml_decl(svg));
        }
    };
    // Summary table.
    let _ = writeln!(
        o,
        "<h2>Summary of the {} NPV</h2><table><tr><th>theme</th><th>mean</th>",
        horizon_npv(plan.model.horizon_years)
    );
    if let Some(e) = s.outcomes.first() {
        for p in &e.npv.percentiles {
            let _ = write!(o, "<th>P{}</th>", p.p * 100.0);
        }
    }
    let _ = writeln!(o, "<th>P(NPV &lt; 0)</th></tr>");
    for e in &s.outcomes {
        let name = if e.headline {
            label(&e.id)
        } else {
            format!("{} (indicative, not in total)", label(&e.id))
        };
        let b = &e.npv.below[0];
        let _ = writeln!(
            o,
            "<tr><td>{}</td>{}<td>{:.1}% <small>±{:.2}</small></td></tr>",
            esc(&name),
            stat_cells(&e.npv, &|x| format!("{:.2}", x * k)),
            b.p * 100.0,
            b.se * 100.0
        );
    }
    let _ = writeln!(o, "</table>");
    figure(&mut o, "convergence");
    // Thresholds.
    let _ = writeln!(
        o,
        "<h2>Thresholds: how much can go wrong before the NPV reaches zero</h2>"
    );
    let _ = writeln!(
        o,
        "<table><tr><th>theme</th><th>leakage-to-zero: median [P10, P90]</th><th>delay-to-zero (years): median [P10, P90]</th></tr>"
    );
    for e in s.outcomes.iter().filter(|e| e.headline) {
        let q = |st: &Stat, p: f64, f: &dyn Fn(f64) -> String| not_computed_or(st.percentile(p), f);
        let share = |v: f64| format!("{:.0}%", v * 100.0);
        let years = |v: f64| format!("{v:.1}");
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{} [{}, {}]</td><td>{} [{}, {}]</td></tr>",
            esc(&label(&e.id)),
            q(&e.leakage_to_zero, 0.5, &share),
            q(&e.leakage_to_zero, 0.1, &share),
            q(&e.leakage_to_zero, 0.9, &share),
            q(&e.delay_to_zero, 0.5, &years),
            q(&e.delay_to_zero, 0.1, &years),
            q(&e.delay_to_zero, 0.9, &years)
        );
    }
    let _ = writeln!(o, "</table>");
    for name in ["leakage_curve", "delay_curve", "breakeven"] {
        if let Some((_, svg)) = charts.iter().find(|(n, _)| n == name) {
            let _ = writeln!(o, "<figure id=\"{name}\">{}</figure>", strip_xml_decl(svg));
        }
    }
    // Partners.
    let _ = writeln!(
        o,
        "<h2>Who bears the risk</h2><table><tr><th>department</th><th>mean share of NPV</th><th>P5</th><th>P95</th><th>P(net benefit &lt; 0)</th></tr>"
    );
    for p in s.partners.iter().filter(|p| p.npv.mean != 0.0) {
        let q = |x: f64| not_computed_or(p.npv.percentile(x), &two);
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{:.1}%</td></tr>",
            esc(&p.id),
            p.npv.mean,
            q(0.05),
            q(0.95),
            p.p_negative * 100.0
        );
    }
    let _ = writeln!(o, "</table>");
    if let Some((_, svg)) = charts.iter().find(|(n, _)| n == "partners") {
        let _ = writeln!(
            o,
            "<figure id=\"partners\">{}</figure>",
            strip_xml_decl(svg)
        );
    }
    if let Some(l) = &s.local {
        local_html(&mut o, l, &bn);
    }
    // Sensitivity.
    let _ = writeln!(o, "<h2>Which assumptions drive the answer</h2>");
    if let Some((_, svg)) = charts.iter().find(|(n, _)| n == "tornado") {
        let _ = writeln!(o, "<figure id=\"tornado\">{}</figure>", strip_xml_decl(svg));
    }
    figure(&mut o, "spider");
    let _ = writeln!(
        o,
        "<h3>The leading inputs against the total NPV</h3><p>Each dot is one draw (an evenly spaced sample of at most {SCATTER_POINTS} draws, in draw order); the trend is the mean NPV over all draws in slices of equal size along the input.</p>"
    );
    for (name, _) in charts.iter().filter(|(n, _)| n.starts_with("scatter_")) {
        figure(&mut o, name);
    }
    let _ = writeln!(
        o,
        "<h3>Switching values (Green Book): the value at which the NPV reaches zero, other inputs at their medians</h3><table><tr><th>input</th><th>NPV of</th><th>median value</th><th>switching value</th><th>change</th><th>where</th></tr>"
    );
    for v in &sens.switching {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&v.factor),
            esc(&label(&v.entity)),
            v.central_value,
            v.switching_value
                .map_or("none".to_string(), |x| format!("{x:.4}")),
            v.change_pct.map_or(String::new(), |c| format!("{c:+.0}%")),
            esc(&v.note)
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(
        o,
        "<h3>Rank correlation with the total NPV</h3><table><tr><th>input</th><th>Spearman</th><th>share of variance (normalised ρ²)</th></tr>"
    );
    let mut rank: Vec<_> = sens.rank.iter().filter(|r| r.entity == "total").collect();
    rank.sort_by(|a, b| b.contribution.total_cmp(&a.contribution));
    for r in rank {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.1}%</td></tr>",
            esc(&r.input),
            r.spearman,
            r.contribution * 100.0
        );
    }
    let _ = writeln!(o, "</table>");
    if let Some((_, svg)) = charts.iter().find(|(n, _)| n == "sobol") {
        let _ = writeln!(
            o,
            "<h3>Variance-based (Sobol) indices</h3><figure id=\"sobol\">{}</figure>",
            strip_xml_decl(svg)
        );
    }
    for r in sens.sobol.iter().filter(|r| r.entity == "total") {
        let _ = writeln!(
            o,
            "<h3>Drivers of the total NPV, ranked by Shapley effect</h3><p>Shapley effects are each factor's share of the NPV's variance under the run's own joint distribution, correlations included (variance {:.3}; {}); they sum to 1. Sobol indices treat the factors as independent (variance {:.3}). 95% bootstrap intervals in brackets.</p><table><tr><th>factor</th><th>inputs</th><th>Shapley effect</th><th>Sobol first order (independent)</th><th>Sobol total order (independent)</th></tr>",
            r.shapley.variance,
            if r.shapley.all_subsets {
                "every subset of the factors"
            } else {
                "sampled orderings"
            },
            r.variance
        );
        let mut f: Vec<_> = r.factors.iter().collect();
        f.sort_by(|a, b| b.shapley[0].total_cmp(&a.shapley[0]));
        for x in f {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td style=\"text-align:left\">{}</td><td>{:.3} [{:.3}, {:.3}]</td><td>{:.3} [{:.3}, {:.3}]</td><td>{:.3} [{:.3}, {:.3}]</td></tr>",
                esc(&x.factor),
                esc(&x.inputs.join(", ")),
                x.shapley[0],
                x.shapley[1],
                x.shapley[2],
                x.first[0],
                x.first[1],
                x.first[2],
                x.total[0],
                x.total[1],
                x.total[2]
            );
        }
        let _ = writeln!(o, "</table>");
    }
    for r in sens.scenario.iter().filter(|r| r.entity == "total") {
        let what = if r.region == "npv_below_zero" {
            "the total NPV is below zero".to_string()
        } else {
            format!("the total NPV is in its worst 10% (≤ {:.2})", r.threshold)
        };
        let _ = writeln!(
            o,
            "<h3>Scenario analysis: what goes wrong when {what}</h3><p>{} of {} draws. Each input's median in those draws minus its overall median, in standard deviations of the input; a shift of at least {} SD is marked significant (the convention of @RISK's scenario analysis: a threshold on the size of the shift, not a hypothesis test).</p><table><tr><th>input</th><th>overall median</th><th>median here</th><th>shift (SD)</th><th>significant</th></tr>",
            r.draws,
            r.total_draws,
            crate::sensitivity::SCENARIO_SIGNIFICANT_SD
        );
        for i in &r.inputs {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:+.2}</td><td>{}</td></tr>",
                esc(&i.input),
                i.overall_median,
                i.subset_median,
                i.shift_sd,
                if i.significant { "yes" } else { "" }
            );
        }
        let _ = writeln!(o, "</table>");
    }
    for n in &sens.notes {
        let _ = writeln!(o, "<p class=\"note\">{}</p>", esc(n));
    }
    // Metadata.
    let _ = writeln!(o, "<h2>Run</h2><table>");
    let rows = [
        ("npvrisk version", m.npvrisk_version.clone()),
        (
            "model",
            format!("{} (sha256 {})", m.model.file, m.model.sha256),
        ),
        (
            "distributions",
            m.distributions
                .iter()
                .map(|d| format!("{} (sha256 {})", d.file, d.sha256))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ("scenario for fixed inputs", m.scenario.clone()),
        ("seed", m.seed.to_string()),
        ("sampler", m.sampler.clone()),
        ("draws", m.draws.to_string()),
        ("standard errors", m.standard_errors.clone()),
        ("percentiles", m.percentile_method.clone()),
    ];
    for (k, v) in rows {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td style=\"text-align:left\"><code>{}</code></td></tr>",
            k,
            esc(&v)
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(
        o,
        "<h3>Uncertain inputs</h3><table><tr><th>input</th><th>kind</th><th>P10</th><th>P50</th><th>P90</th><th>source</th></tr>"
    );
    for i in &s.inputs {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td style=\"text-align:left\">{}</td></tr>",
            esc(&i.path),
            esc(&i.kind),
            i.p10,
            i.p50,
            i.p90,
            esc(i.source.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(o, "</table>");
    let _ = writeln!(
        o,
        "<h3>The uncertain inputs as drawn</h3><p>Each input's draws in this run (the first value of a yearly list), with its mean and median.</p>"
    );
    for (name, _) in charts.iter().filter(|(n, _)| n.starts_with("input_")) {
        figure(&mut o, name);
    }
    if let Some(r) = reproduction {
        let _ = writeln!(o, "<p>{}</p>", esc(r));
    }
    o.push_str(LAYOUT_CHECK_SCRIPT);
    o.push_str("\n</body></html>");
    o
}

/// A self-check a browser test reads, for any page of `<figure>`s holding inline SVG charts:
/// every chart laid out with a non-zero size, every element of a chart inside the chart's box
/// (its viewBox as laid out), and no two texts of a chart overlapping as the browser lays them
/// out. Each text's box is its bounding box in its own coordinates (rotation included through its
/// transform), with the top and bottom fifth of the font's em box left out: glyphs rarely reach
/// them, and the charts stack lines closer than the full em box. The result is in the body's
/// `data-check` (`ok:N` for N charts), `data-overlaps` and `data-outside` attributes and on the
/// console (`npvrisk-report-check`, one `npvrisk-report-overlap`/`-outside` line per fault).
pub const LAYOUT_CHECK_SCRIPT: &str = r#"<script>
function npvriskCorners(t) {
  var b = t.getBBox(), m = t.getCTM(), inset = 0.2 * b.height;
  var y0 = b.y + inset, y1 = b.y + b.height - inset;
  return [[b.x, y0], [b.x + b.width, y0], [b.x + b.width, y1], [b.x, y1]].map(function (p) {
    return [m.a * p[0] + m.c * p[1] + m.e, m.b * p[0] + m.d * p[1] + m.f];
  });
}
function npvriskOverlap(a, b) {
  var polys = [a, b];
  for (var k = 0; k < 2; k++) {
    var p = polys[k];
    for (var i = 0; i < 4; i++) {
      var q = p[(i + 1) % 4], nx = q[1] - p[i][1], ny = p[i][0] - q[0];
      var pa = a.map(function (c) { return c[0] * nx + c[1] * ny; });
      var pb = b.map(function (c) { return c[0] * nx + c[1] * ny; });
      var len = Math.sqrt(nx * nx + ny * ny) || 1;
      if (Math.max.apply(null, pa) - Math.min.apply(null, pb) < 0.5 * len ||
          Math.max.apply(null, pb) - Math.min.apply(null, pa) < 0.5 * len) return false;
    }
  }
  return true;
}
window.addEventListener('load', function () {
  var charts = document.querySelectorAll('figure svg');
  var bad = 0, overlaps = 0, outside = 0;
  charts.forEach(function (c) {
    var r = c.getBoundingClientRect();
    if (!(r.width > 0 && r.height > 0)) bad++;
    c.querySelectorAll('text, line, rect, circle, polyline, polygon, path').forEach(function (e) {
      var b = e.getBoundingClientRect();
      if (b.left < r.left - 0.5 || b.right > r.right + 0.5 || b.top < r.top - 0.5 || b.bottom > r.bottom + 0.5) {
        outside++;
        console.log('npvrisk-report-outside ' + c.parentNode.id + ': <' + e.tagName + '> ' + (e.textContent || ''));
      }
    });
    var texts = Array.prototype.slice.call(c.querySelectorAll('text'));
    var boxes = texts.map(npvriskCorners);
    for (var i = 0; i < texts.length; i++) for (var j = i + 1; j < texts.length; j++) {
      if (npvriskOverlap(boxes[i], boxes[j])) {
        overlaps++;
        console.log('npvrisk-report-overlap ' + c.parentNode.id + ': "' + texts[i].textContent + '" and "' + texts[j].textContent + '"');
      }
    }
  });
  var ok = bad === 0 && overlaps === 0 && outside === 0;
  document.body.setAttribute('data-check', (ok ? 'ok:' : 'bad:') + charts.length);
  document.body.setAttribute('data-overlaps', String(overlaps));
  document.body.setAttribute('data-outside', String(outside));
  console.log('npvrisk-report-check ' + document.body.getAttribute('data-check') + ' overlaps ' + overlaps + ' outside ' + outside);
});
</script>"#;

/// The start of an HTML page of ours, up to its `<body>`: the title, and the page style (the
/// common body and heading rules, then `css`).
pub fn page_head(title: &str, css: &str) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }}
h1 {{ font-size: 1.6em; }} h2 {{ border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }}
{css}</style></head><body>
"#
    )
}

/// Inline SVG must not carry an XML declaration.
pub fn strip_xml_decl(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(svg, |(_, r)| r.trim_start()),
        None => svg,
    }
}
