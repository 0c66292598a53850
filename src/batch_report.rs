//! The page of charts a batch writes to its output folder (`batch.html`): the scenarios' S-curves
//! (cumulative distributions) of the headline total NPV overlaid, and each scenario's difference
//! from the reference scenario with its Monte Carlo standard-error interval. The charts are those
//! of [`crate::charts`]; the page carries the same layout self-check as the report
//! ([`crate::report::LAYOUT_CHECK_SCRIPT`]).
//!
//! The S-curve of a scenario is its quantiles at [`curve_probabilities`], computed as the summary
//! computes its percentiles (linear interpolation between order statistics), so the curve passes
//! through every percentile a scenario's `summary.json` reports at those probabilities.

use std::fmt::Write as _;

use crate::charts;
use crate::money::MoneyUnit;
use crate::report::{LAYOUT_CHECK_SCRIPT, esc, strip_xml_decl};
use crate::stats::{OrderStats, Sorted};

/// Steps of the S-curve's probability grid: quantiles at k / CURVE_STEPS.
const CURVE_STEPS: u32 = 200;

/// Most scenarios overlaid on the S-curve chart (the legend names each one).
pub const MAX_CURVES: usize = 12;

/// Most scenarios on the differences chart (one row each).
pub const MAX_ROWS: usize = 60;

/// z of the differences' intervals: ±1.96 standard errors, about 95%.
const Z: f64 = 1.96;

/// Probabilities of the S-curve's points: P0.5 to P99.5 in steps of 0.5%, which include the
/// summary's percentiles (5, 10, 50, 90, 95). The extremes (the minimum and maximum draws) are
/// left out so that a few far draws do not squeeze the body of the curves.
pub fn curve_probabilities() -> Vec<f64> {
    (1..CURVE_STEPS)
        .map(|k| f64::from(k) / f64::from(CURVE_STEPS))
        .collect()
}

/// The S-curve of a sample: its quantiles at [`curve_probabilities`]; `None` when the sample is
/// empty or holds a non-finite value.
pub fn s_curve(values: &[f64]) -> Option<Vec<f64>> {
    let s = Sorted::new(values.to_vec())?;
    Some(
        curve_probabilities()
            .into_iter()
            .map(|p| s.quantile(p))
            .collect(),
    )
}

/// One scenario on the page: its name, its S-curve of the total NPV (£bn, at
/// [`curve_probabilities`]; empty when unknown), and its total NPV's mean difference from the
/// reference with that difference's standard error.
pub struct ScenarioCurve {
    pub name: String,
    pub curve: Vec<f64>,
    pub diff: f64,
    pub diff_se: f64,
}

/// A money formatter for values up to `largest` in absolute value spread over `span` (£bn): in
/// the readable unit of `largest` ([`MoneyUnit::readable`]), with the decimals the span needs.
fn money_fmt(largest: f64, span: f64) -> (&'static str, Box<dyn Fn(f64) -> String>) {
    let u = MoneyUnit::readable(largest);
    let span = u.from_bn(span).abs();
    let d = if span > 0.0 && span.is_finite() {
        (1 - span.log10().floor() as i32).clamp(0, 6) as usize
    } else {
        1
    };
    (u.symbol(), Box::new(move |x: f64| u.format(x, d)))
}

fn extent(v: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    v.filter(|x| x.is_finite()).fold(None, |acc, x| {
        Some(acc.map_or((x, x), |(lo, hi): (f64, f64)| (lo.min(x), hi.max(x))))
    })
}

/// The two charts of a batch, as `(id, svg)`: `s_curves` and `differences`. `reference` names the
/// reference scenario; scenarios beyond [`MAX_CURVES`] and [`MAX_ROWS`] are left off (the
/// reference is always on the S-curve chart).
pub fn charts(
    reference: &str,
    scenarios: &[ScenarioCurve],
    horizon_years: usize,
) -> Vec<(String, String)> {
    let probs = curve_probabilities();
    let mut shown: Vec<&ScenarioCurve> = scenarios
        .iter()
        .filter(|s| s.name == reference)
        .chain(scenarios.iter().filter(|s| s.name != reference))
        .filter(|s| !s.curve.is_empty())
        .take(MAX_CURVES)
        .collect();
    // Legend and colours in manifest order.
    shown.sort_by_key(|s| scenarios.iter().position(|t| t.name == s.name));
    let (lo, hi) = extent(shown.iter().flat_map(|s| s.curve.iter().copied())).unwrap_or((0.0, 0.0));
    let rows: Vec<(&str, f64, f64)> = scenarios
        .iter()
        .take(MAX_ROWS)
        .map(|s| (s.name.as_str(), s.diff, s.diff_se))
        .collect();
    let (dlo, dhi) = extent(
        rows.iter()
            .flat_map(|(_, d, se)| [*d - Z * se.abs(), *d + Z * se.abs(), *d]),
    )
    .unwrap_or((0.0, 0.0));
    // One money unit on the page: that of the largest amount of either chart.
    let largest = [lo, hi, dlo, dhi]
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let (unit, fmt) = money_fmt(largest, hi - lo);
    let series: Vec<(String, Vec<(f64, f64)>)> = shown
        .iter()
        .map(|s| {
            let name = if s.name == reference {
                format!("{} (reference)", s.name)
            } else {
                s.name.clone()
            };
            (
                name,
                s.curve.iter().copied().zip(probs.iter().copied()).collect(),
            )
        })
        .collect();
    let pct = |p: f64| format!("{:.0}%", p * 100.0);
    let curves = charts::curves(
        "Cumulative distribution of the headline total NPV, per scenario",
        &format!(
            "{} NPV, headline total ({unit}; P0.5 to P99.5)",
            crate::summary::horizon_npv_capital(horizon_years)
        ),
        "Probability NPV ≤ x",
        &series,
        &fmt,
        &pct,
    );

    let (dunit, dfmt) = money_fmt(largest, dhi.max(0.0) - dlo.min(0.0));
    let diffs = charts::differences(
        &format!("Difference of each scenario's mean total NPV from `{reference}`"),
        &format!("Mean NPV minus the reference's ({dunit}), common random numbers"),
        &rows,
        Z,
        "±1.96 standard errors (95% interval)",
        &dfmt,
    );
    vec![
        ("s_curves".to_string(), curves),
        ("differences".to_string(), diffs),
    ]
}

/// The batch page: a heading, what the charts show, and the charts. `heading` names the batch;
/// `draws` and `seed` are the runs' settings; `total` is the number of scenarios.
pub fn html(
    heading: &str,
    reference: &str,
    draws: u64,
    seed: u64,
    total: usize,
    charts: &[(String, String)],
) -> String {
    let mut o = String::new();
    o.push_str(&crate::report::page_head(
        &format!("npvrisk batch: {}", esc(heading)),
        "figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }\n",
    ));
    let _ = write!(
        o,
        r#"<h1>npvrisk batch: {name}</h1>
<p>{total} scenarios, {draws} draws each with the same seed ({seed}) and common random numbers: an input a scenario does not change takes the same value in the same draw in every scenario. The reference scenario is <code>{reference}</code>. Every figure is in <code>comparison.csv</code> and each scenario's <code>summary.json</code>.</p>
"#,
        name = esc(heading),
        reference = esc(reference),
    );
    let note = |n: usize, max: usize, what: &str| {
        if n > max {
            format!(" The chart shows {what} {max} of the {n} scenarios.")
        } else {
            String::new()
        }
    };
    for (id, svg) in charts {
        let (h, text) = match id.as_str() {
            "s_curves" => (
                "How likely each NPV is, per scenario",
                format!(
                    "The share of draws with a headline total NPV at or below each value: a curve further right is better; where two curves cross, neither scenario is better at every level of risk.{}",
                    note(total, MAX_CURVES, "the reference and the first")
                ),
            ),
            "differences" => (
                "Differences from the reference",
                format!(
                    "Each scenario's mean total NPV minus the reference's, estimated from the per-draw differences, with ±1.96 Monte Carlo standard errors of the difference.{}",
                    note(total, MAX_ROWS, "the first")
                ),
            ),
            _ => ("", String::new()),
        };
        let _ = writeln!(
            o,
            "<h2>{}</h2><p>{}</p>\n<figure id=\"{}\">{}</figure>",
            esc(h),
            esc(&text),
            esc(id),
            strip_xml_decl(svg)
        );
    }
    o.push_str(LAYOUT_CHECK_SCRIPT);
    o.push_str("\n</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_holds_the_summary_percentiles_exactly() {
        let probs = curve_probabilities();
        for p in crate::summary::SummaryOptions::default().percentiles {
            assert!(probs.contains(&p), "{p} not on the grid");
        }
        assert!(probs.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(probs.first(), Some(&0.005));
        assert_eq!(probs.last(), Some(&0.995));
    }

    #[test]
    fn a_curve_passes_through_the_sample_quantiles_and_rises() {
        // 1001 values 0, 0.001, ..., 1 shuffled: the type-7 p-quantile is p itself.
        let mut v: Vec<f64> = (0..=1000).map(|i| f64::from(i) / 1000.0).collect();
        v.reverse();
        v.swap(3, 700);
        let c = s_curve(&v).unwrap();
        for (q, p) in c.iter().zip(curve_probabilities()) {
            assert!((q - p).abs() < 1e-12, "{q} at {p}");
        }
        assert!(c.windows(2).all(|w| w[0] <= w[1]));
        assert!(s_curve(&[]).is_none());
        assert!(s_curve(&[1.0, f64::NAN]).is_none());
    }

    #[test]
    fn money_ticks_say_what_they_are() {
        let (u, f) = money_fmt(2.0, 3.0);
        assert_eq!(u, "£bn");
        assert_eq!(f(-1.5), "-£1.5bn");
        let (u, f) = money_fmt(0.02, 0.004);
        assert_eq!(u, "£m");
        assert_eq!(f(0.0025), "£2.5m");
        assert_eq!(f(-0.00001), "£0.0m");
    }

    #[test]
    fn the_page_holds_both_charts_and_the_check() {
        let probs = curve_probabilities();
        let scen = |name: &str, shift: f64, diff: f64| ScenarioCurve {
            name: name.into(),
            curve: probs.iter().map(|p| 10.0 * (p - 0.5) + shift).collect(),
            diff,
            diff_se: 0.05,
        };
        let s = vec![scen("base", 1.0, 0.0), scen("rate5", 0.2, -0.8)];
        let c = charts("base", &s, 5);
        assert_eq!(c.len(), 2);
        assert!(c[0].1.contains("base (reference)") && c[0].1.contains("rate5"));
        assert!(c[1].1.contains("class=\"difference\""));
        let page = html("b.toml", "base", 1000, 1, 2, &c);
        assert_eq!(page.matches("<figure").count(), 2);
        assert!(page.contains("npvrisk-report-check"));
        assert!(!page.contains("<?xml"));
    }
}
