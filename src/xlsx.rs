//! The summary (and sensitivity) tables as an Excel workbook, one sheet per table, for analysts
//! who work in spreadsheets. Produces bytes; the caller writes them atomically.

use rust_xlsxwriter::{Chart, ChartType, Format, Workbook, Worksheet, XlsxError};

use crate::money::MoneyUnit;
use crate::sensitivity::Sensitivity;
use crate::summary::{Stat, Summary};

/// An amount already in `unit` as text with its unit, for titles: "£12.345bn".
fn money_text(v: f64, unit: MoneyUnit) -> String {
    let sign = if v < 0.0 { "-" } else { "" };
    format!("{sign}£{:.3}{}", v.abs(), unit.suffix())
}

/// What a column holds, which sets its number format and the unit in its header.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// An amount of money in the workbook's unit (the summary's readable unit), with three
    /// decimals of the unit (£1m when the unit is £bn).
    Money(MoneyUnit),
    /// A standard error of an amount (one more decimal).
    MoneySe(MoneyUnit),
    /// A probability or a share, as a percentage.
    Percent,
    /// A number of years.
    Years,
    /// A number without unit.
    Plain,
}

impl Kind {
    /// Excel's number format: `"£"#,##0.000"bn"` for money in £bn.
    fn number_format(self) -> String {
        let money = |unit: MoneyUnit, decimals: usize| {
            let d = "0".repeat(decimals);
            let m = match unit.suffix() {
                "" => String::new(),
                s => format!("\"{s}\""),
            };
            format!("\"£\"#,##0.{d}{m};-\"£\"#,##0.{d}{m}")
        };
        match self {
            Kind::Money(u) => money(u, 3),
            Kind::MoneySe(u) => money(u, 4),
            Kind::Percent => "0.0%".to_string(),
            Kind::Years => "0.00".to_string(),
            Kind::Plain => "0.0000".to_string(),
        }
    }

    fn format(self) -> Format {
        Format::new().set_num_format(self.number_format())
    }

    /// A header with this kind's unit: "mean (£bn)".
    fn header(self, name: &str) -> String {
        match self {
            Kind::Money(u) | Kind::MoneySe(u) => format!("{name} ({u})"),
            Kind::Percent => format!("{name} (%)"),
            Kind::Years => format!("{name} (years)"),
            Kind::Plain => name.to_string(),
        }
    }
}

/// The header row, bold, frozen with the first `frozen_cols` columns.
fn header_frozen(ws: &mut Worksheet, cols: &[&str], frozen_cols: u16) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold().set_text_wrap();
    for (c, h) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    ws.set_freeze_panes(1, frozen_cols)?;
    Ok(())
}

fn header(ws: &mut Worksheet, cols: &[&str]) -> Result<(), XlsxError> {
    header_frozen(ws, cols, 0)
}

/// A header of columns of the given kinds, units added.
fn header_kinds(ws: &mut Worksheet, cols: &[(&str, Kind)]) -> Result<(), XlsxError> {
    let names: Vec<String> = cols.iter().map(|(n, k)| k.header(n)).collect();
    let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    header(ws, &refs)
}

/// A number in the format of its kind (nothing when it is not finite: an empty cell, never a
/// text "NaN").
fn num(ws: &mut Worksheet, r: u32, c: u16, v: f64, kind: Kind) -> Result<(), XlsxError> {
    if v.is_finite() {
        ws.write_number_with_format(r, c, v, &kind.format())?;
    }
    Ok(())
}

/// Column widths from the contents, headers wrapped within a readable width.
fn widths(ws: &mut Worksheet) {
    ws.set_autofit_max_width(420).autofit();
}

fn stat_row(
    ws: &mut Worksheet,
    r: u32,
    first: &[&str],
    s: &Stat,
    kind: Kind,
) -> Result<(), XlsxError> {
    let se = match kind {
        Kind::Money(u) => Kind::MoneySe(u),
        other => other,
    };
    let mut c = 0u16;
    for f in first {
        ws.write_string(r, c, *f)?;
        c += 1;
    }
    for (v, k) in [(s.mean, kind), (s.se_mean, se), (s.sd, kind)] {
        num(ws, r, c, v, k)?;
        c += 1;
    }
    for p in &s.percentiles {
        num(ws, r, c, p.value, kind)?;
        num(ws, r, c + 1, p.se, se)?;
        c += 2;
    }
    num(ws, r, c, s.interval[1], kind)?;
    num(ws, r, c + 1, s.interval[2], kind)?;
    num(ws, r, c + 2, s.below[0].p, Kind::Percent)?;
    num(ws, r, c + 3, s.below[0].se, Kind::Percent)?;
    Ok(())
}

fn stat_header(ws: &mut Worksheet, first: &[&str], s: &Stat, kind: Kind) -> Result<(), XlsxError> {
    let mut cols: Vec<String> = first.iter().map(|x| x.to_string()).collect();
    cols.extend(["mean", "se(mean)", "sd"].map(|c| kind.header(c)));
    for p in &s.percentiles {
        cols.push(kind.header(&format!("P{}", p.p * 100.0)));
        cols.push(kind.header(&format!("se(P{})", p.p * 100.0)));
    }
    cols.push(kind.header(&format!("{}% interval low", s.interval[0] * 100.0)));
    cols.push(kind.header(&format!("{}% interval high", s.interval[0] * 100.0)));
    cols.push("P(< 0) (%)".into());
    cols.push("se(P(< 0)) (%)".into());
    let refs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    header_frozen(ws, &refs, first.len() as u16)
}

/// Picks one statistic of an entity's summary.
type StatOf = fn(&crate::summary::EntitySummary) -> &Stat;

/// Build the workbook.
pub fn workbook(s: &Summary, sens: Option<&Sensitivity>) -> Result<Vec<u8>, String> {
    build(s, sens).map_err(|e| format!("cannot build the workbook: {e}"))
}

fn build(s: &Summary, sens: Option<&Sensitivity>) -> Result<Vec<u8>, XlsxError> {
    // Every amount of the workbook in the summary's readable unit, named in each header.
    let unit = s.money_unit();
    let s = &s.in_unit(unit);
    let sens = sens.map(|x| x.in_unit(unit));
    let sens = sens.as_ref();
    let money = Kind::Money(unit);
    let mut wb = Workbook::new();
    {
        let ws = wb.add_worksheet().set_name("Run")?;
        let m = &s.metadata;
        let rows: Vec<(String, String)> = vec![
            ("npvrisk version".into(), m.npvrisk_version.clone()),
            (
                "model".into(),
                format!("{} (sha256 {})", m.model.file, m.model.sha256),
            ),
            (
                "distributions".into(),
                m.distributions
                    .iter()
                    .map(|d| format!("{} (sha256 {})", d.file, d.sha256))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            ("scenario".into(), m.scenario.clone()),
            ("seed".into(), m.seed.to_string()),
            ("sampler".into(), m.sampler.clone()),
            ("draws".into(), m.draws.to_string()),
            ("kept draws".into(), s.kept_draws.to_string()),
            ("standard errors".into(), m.standard_errors.clone()),
        ];
        header(ws, &["item", "value"])?;
        for (r, (k, v)) in rows.iter().enumerate() {
            ws.write_string(r as u32 + 1, 0, k)?;
            // Counts (seed, draws) as numbers; the rest as text.
            match v.parse::<u64>() {
                Ok(n) if n < 1 << 53 => {
                    ws.write_number_with_format(
                        r as u32 + 1,
                        1,
                        n as f64,
                        &Format::new()
                            .set_num_format("0")
                            .set_align(rust_xlsxwriter::FormatAlign::Left),
                    )?;
                }
                _ => {
                    ws.write_string(r as u32 + 1, 1, v)?;
                }
            }
        }
        ws.set_column_width(0, 18)?;
        ws.set_column_width(1, 100)?;
    }
    let measures: [(&str, StatOf, Kind); 5] = [
        ("NPV", |e| &e.npv, money),
        ("PV benefits", |e| &e.pv_benefits, money),
        ("PV costs", |e| &e.pv_costs, money),
        ("Leakage to zero", |e| &e.leakage_to_zero, Kind::Percent),
        ("Delay to zero", |e| &e.delay_to_zero, Kind::Years),
    ];
    for (name, pick, kind) in measures {
        let ws = wb.add_worksheet().set_name(name)?;
        if let Some(e0) = s.outcomes.first() {
            stat_header(ws, &["entity", "headline"], pick(e0), kind)?;
        }
        for (r, e) in s.outcomes.iter().enumerate() {
            stat_row(
                ws,
                r as u32 + 1,
                &[&e.id, if e.headline { "yes" } else { "no" }],
                pick(e),
                kind,
            )?;
        }
        widths(ws);
    }
    distribution_sheet(&mut wb, s, unit)?;
    {
        let ws = wb.add_worksheet().set_name("Headline review")?;
        header_kinds(
            ws,
            &[
                ("entity", Kind::Plain),
                ("point", Kind::Plain),
                ("NPV", money),
                ("percentile rank", Kind::Percent),
                ("P(within range)", Kind::Percent),
                ("se", Kind::Percent),
            ],
        )?;
        let mut r = 1;
        for rv in &s.headline_review {
            for p in &rv.points {
                ws.write_string(r, 0, &rv.id)?;
                ws.write_string(r, 1, &p.label)?;
                num(ws, r, 2, p.npv, money)?;
                num(ws, r, 3, p.percentile_rank, Kind::Percent)?;
                num(ws, r, 4, rv.p_within_range, Kind::Percent)?;
                num(ws, r, 5, rv.p_within_range_se, Kind::Percent)?;
                r += 1;
            }
        }
        widths(ws);
    }
    {
        let ws = wb.add_worksheet().set_name("Breakeven")?;
        header_kinds(
            ws,
            &[
                ("entity", Kind::Plain),
                ("year", Kind::Plain),
                ("probability", Kind::Percent),
                ("note", Kind::Plain),
            ],
        )?;
        let mut r = 1;
        for e in &s.outcomes {
            for y in &e.breakeven_year {
                ws.write_string(r, 0, &e.id)?;
                // The year as a number; not breaking even within the horizon leaves it empty.
                match y.year {
                    Some(v) => {
                        ws.write_number(r, 1, v as f64)?;
                    }
                    None => {
                        ws.write_string(r, 3, "not within the horizon")?;
                    }
                }
                num(ws, r, 2, y.p, Kind::Percent)?;
                r += 1;
            }
        }
        widths(ws);
    }
    {
        let ws = wb.add_worksheet().set_name("Partners")?;
        if let Some(p0) = s.partners.first() {
            stat_header(ws, &["partner"], &p0.npv, money)?;
        }
        for (r, p) in s.partners.iter().enumerate() {
            stat_row(ws, r as u32 + 1, &[&p.id], &p.npv, money)?;
        }
        widths(ws);
    }
    {
        let ws = wb.add_worksheet().set_name("Inputs")?;
        header(
            ws,
            &[
                "path", "kind", "stream", "mean", "P10", "P50", "P90", "source", "file",
            ],
        )?;
        for (r, i) in s.inputs.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &i.path)?;
            ws.write_string(r, 1, &i.kind)?;
            ws.write_string(r, 2, &i.stream)?;
            // Inputs have their own units (shares, years, amounts): plain numbers.
            for (c, v) in [i.mean, i.p10, i.p50, i.p90].into_iter().enumerate() {
                num(ws, r, 3 + c as u16, v, Kind::Plain)?;
            }
            ws.write_string(r, 7, i.source.as_deref().unwrap_or(""))?;
            ws.write_string(r, 8, &i.file)?;
        }
        widths(ws);
    }
    if let Some(c) = &s.correlation {
        let ws = wb.add_worksheet().set_name("Correlation")?;
        header(
            ws,
            &["input a", "input b", "target rank correlation", "achieved"],
        )?;
        let mut r = 1;
        for a in 0..c.inputs.len() {
            for b in 0..a {
                ws.write_string(r, 0, &c.inputs[a])?;
                ws.write_string(r, 1, &c.inputs[b])?;
                num(ws, r, 2, c.target[a][b], Kind::Plain)?;
                num(ws, r, 3, c.achieved[a][b], Kind::Plain)?;
                r += 1;
            }
        }
        widths(ws);
    }
    if let Some(x) = sens {
        let central = x
            .central_npv
            .iter()
            .find(|(id, _)| id == "total")
            .map_or(f64::NAN, |c| c.1);
        let ws = wb.add_worksheet().set_name("Tornado")?;
        header_kinds(
            ws,
            &[
                ("factor", Kind::Plain),
                ("inputs", Kind::Plain),
                ("central value", Kind::Plain),
                ("low value", Kind::Plain),
                ("high value", Kind::Plain),
                ("total NPV low", money),
                ("total NPV high", money),
                ("swing", money),
                ("change low", money),
                ("change high", money),
            ],
        )?;
        for (r, b) in x.tornado.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &b.factor)?;
            ws.write_string(r, 1, b.inputs.join(", "))?;
            for (c, (v, k)) in [
                (b.central_value, Kind::Plain),
                (b.low_value, Kind::Plain),
                (b.high_value, Kind::Plain),
                (b.total_low, money),
                (b.total_high, money),
                (b.swing, money),
                (b.total_low - central, money),
                (b.total_high - central, money),
            ]
            .into_iter()
            .enumerate()
            {
                num(ws, r, c as u16 + 2, v, k)?;
            }
        }
        widths(ws);
        let rows = x.tornado.len() as u32;
        if rows > 0 {
            let mut chart = Chart::new(ChartType::Bar);
            for (col, name) in [
                (8u16, "Input at its low value"),
                (9, "Input at its high value"),
            ] {
                chart
                    .add_series()
                    .set_name(name)
                    .set_categories(("Tornado", 1, 0, rows, 0))
                    .set_values(("Tornado", 1, col, rows, col))
                    .set_overlap(100)
                    .set_gap(40);
            }
            chart.title().set_name(&format!(
                "Tornado: change in the total NPV from {} with all inputs at their medians",
                money_text(central, unit)
            ));
            chart
                .x_axis()
                .set_name(&format!(
                    "Change in the total {} NPV ({})",
                    crate::summary::horizon_npv(s.metadata.horizon_years),
                    unit
                ))
                .set_num_format(money.number_format());
            chart.y_axis().set_reverse();
            chart.set_width(900).set_height(120 + 28 * rows);
            ws.insert_chart(rows + 3, 0, &chart)?;
        }
        let ws = wb.add_worksheet().set_name("Switching values")?;
        header_kinds(
            ws,
            &[
                ("factor", Kind::Plain),
                ("input", Kind::Plain),
                ("entity", Kind::Plain),
                ("central value", Kind::Plain),
                ("switching value", Kind::Plain),
                ("change", Kind::Percent),
                ("inside distribution", Kind::Plain),
                ("percentile", Kind::Percent),
                ("note", Kind::Plain),
            ],
        )?;
        for (r, v) in x.switching.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &v.factor)?;
            ws.write_string(r, 1, &v.input)?;
            ws.write_string(r, 2, &v.entity)?;
            num(ws, r, 3, v.central_value, Kind::Plain)?;
            if let Some(sv) = v.switching_value {
                num(ws, r, 4, sv, Kind::Plain)?;
            }
            if let Some(c) = v.change_pct {
                num(ws, r, 5, c / 100.0, Kind::Percent)?;
            }
            ws.write_string(r, 6, if v.inside_distribution { "yes" } else { "no" })?;
            if let Some(p) = v.percentile {
                num(ws, r, 7, p, Kind::Percent)?;
            }
            ws.write_string(r, 8, &v.note)?;
        }
        widths(ws);
        let ws = wb.add_worksheet().set_name("Rank correlation")?;
        header_kinds(
            ws,
            &[
                ("input", Kind::Plain),
                ("entity", Kind::Plain),
                ("Spearman", Kind::Plain),
                ("contribution to variance", Kind::Percent),
            ],
        )?;
        for (r, v) in x.rank.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &v.input)?;
            ws.write_string(r, 1, &v.entity)?;
            num(ws, r, 2, v.spearman, Kind::Plain)?;
            num(ws, r, 3, v.contribution, Kind::Percent)?;
        }
        widths(ws);
        let ws = wb.add_worksheet().set_name("Sobol")?;
        header(
            ws,
            &[
                "entity",
                "factor",
                "first",
                "first low",
                "first high",
                "total",
                "total low",
                "total high",
                "Shapley",
                "Shapley low",
                "Shapley high",
                "inputs",
            ],
        )?;
        let mut r = 1;
        for e in &x.sobol {
            // Ranked by Shapley effect (the share of variance under the run's joint
            // distribution); Sobol indices assume independent factors.
            let mut fs: Vec<_> = e.factors.iter().collect();
            fs.sort_by(|a, b| b.shapley[0].total_cmp(&a.shapley[0]));
            for f in fs {
                ws.write_string(r, 0, &e.entity)?;
                ws.write_string(r, 1, &f.factor)?;
                for (c, v) in f.first.iter().chain(&f.total).chain(&f.shapley).enumerate() {
                    num(ws, r, c as u16 + 2, *v, Kind::Plain)?;
                }
                ws.write_string(r, 11, f.inputs.join(", "))?;
                r += 1;
            }
        }
        let ws = wb.add_worksheet().set_name("Scenario analysis")?;
        let threshold = format!("NPV threshold ({})", unit);
        header(
            ws,
            &[
                "entity",
                "region",
                &threshold,
                "draws",
                "total draws",
                "input",
                "overall median",
                "subset median",
                "SD",
                "shift (SD)",
                "significant (|shift| >= 0.5)",
            ],
        )?;
        let mut r = 1;
        for g in &x.scenario {
            for i in &g.inputs {
                ws.write_string(r, 0, &g.entity)?;
                ws.write_string(r, 1, &g.region)?;
                num(ws, r, 2, g.threshold, money)?;
                num(ws, r, 3, g.draws as f64, Kind::Plain)?;
                num(ws, r, 4, g.total_draws as f64, Kind::Plain)?;
                ws.write_string(r, 5, &i.input)?;
                num(ws, r, 6, i.overall_median, Kind::Plain)?;
                num(ws, r, 7, i.subset_median, Kind::Plain)?;
                num(ws, r, 8, i.sd, Kind::Plain)?;
                num(ws, r, 9, i.shift_sd, Kind::Plain)?;
                ws.write_boolean(r, 10, i.significant)?;
                r += 1;
            }
        }
        widths(ws);
    }
    wb.save_to_buffer()
}

/// The reported percentiles of each headline entity's NPV as a table (cumulative probability
/// against NPV) and a native chart of those S-curves: the distribution the summary holds,
/// without the draws.
fn distribution_sheet(wb: &mut Workbook, s: &Summary, unit: MoneyUnit) -> Result<(), XlsxError> {
    let money = Kind::Money(unit);
    let headline: Vec<_> = s.outcomes.iter().filter(|e| e.headline).collect();
    let Some(first) = headline.first() else {
        return Ok(());
    };
    let ps: Vec<f64> = first.npv.percentiles.iter().map(|p| p.p).collect();
    if ps.is_empty() {
        return Ok(());
    }
    let ws = wb.add_worksheet().set_name("NPV distribution")?;
    let mut cols = vec![Kind::Percent.header("cumulative probability")];
    cols.extend(
        headline
            .iter()
            .map(|e| money.header(&format!("NPV {}", e.id))),
    );
    let refs: Vec<&str> = cols.iter().map(|c| c.as_str()).collect();
    header(ws, &refs)?;
    for (r, p) in ps.iter().enumerate() {
        num(ws, r as u32 + 1, 0, *p, Kind::Percent)?;
        for (c, e) in headline.iter().enumerate() {
            if let Some(q) = e.npv.percentiles.iter().find(|q| q.p == *p) {
                num(ws, r as u32 + 1, c as u16 + 1, q.value, money)?;
            }
        }
    }
    widths(ws);
    let last = ps.len() as u32;
    let mut chart = Chart::new(ChartType::ScatterStraightWithMarkers);
    for (c, e) in headline.iter().enumerate() {
        let col = c as u16 + 1;
        chart
            .add_series()
            .set_name(e.id.as_str())
            .set_categories(("NPV distribution", 1, col, last, col))
            .set_values(("NPV distribution", 1, 0, last, 0));
    }
    chart.title().set_name(&format!(
        "{} NPV: cumulative probability at the reported percentiles",
        crate::summary::horizon_npv_capital(s.metadata.horizon_years)
    ));
    chart
        .x_axis()
        .set_name(&format!(
            "{} NPV ({})",
            crate::summary::horizon_npv_capital(s.metadata.horizon_years),
            unit
        ))
        .set_num_format(money.number_format());
    chart
        .y_axis()
        .set_name("Cumulative probability")
        .set_num_format("0%")
        .set_min(0.0)
        .set_max(1.0);
    chart.set_width(900).set_height(480);
    ws.insert_chart(last + 3, 0, &chart)?;
    Ok(())
}
