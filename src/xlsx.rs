//! The summary (and sensitivity) tables as an Excel workbook, one sheet per table, for analysts
//! who work in spreadsheets. Produces bytes; the caller writes them atomically.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use crate::sensitivity::Sensitivity;
use crate::summary::{Stat, Summary};

fn header(ws: &mut Worksheet, cols: &[&str]) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    for (c, h) in cols.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn num(ws: &mut Worksheet, r: u32, c: u16, v: f64) -> Result<(), XlsxError> {
    if v.is_finite() {
        ws.write_number(r, c, v)?;
    }
    Ok(())
}

fn stat_row(ws: &mut Worksheet, r: u32, first: &[&str], s: &Stat) -> Result<(), XlsxError> {
    let mut c = 0u16;
    for f in first {
        ws.write_string(r, c, *f)?;
        c += 1;
    }
    for v in [s.mean, s.se_mean, s.sd] {
        num(ws, r, c, v)?;
        c += 1;
    }
    for p in &s.percentiles {
        num(ws, r, c, p.value)?;
        num(ws, r, c + 1, p.se)?;
        c += 2;
    }
    num(ws, r, c, s.interval[1])?;
    num(ws, r, c + 1, s.interval[2])?;
    num(ws, r, c + 2, s.below[0].p)?;
    num(ws, r, c + 3, s.below[0].se)?;
    Ok(())
}

fn stat_header(ws: &mut Worksheet, first: &[&str], s: &Stat) -> Result<(), XlsxError> {
    let mut cols: Vec<String> = first.iter().map(|x| x.to_string()).collect();
    cols.extend(["mean", "se(mean)", "sd"].map(String::from));
    for p in &s.percentiles {
        cols.push(format!("P{}", p.p * 100.0));
        cols.push(format!("se(P{})", p.p * 100.0));
    }
    cols.push(format!("{}% interval low", s.interval[0] * 100.0));
    cols.push(format!("{}% interval high", s.interval[0] * 100.0));
    cols.push("P(< 0)".into());
    cols.push("se(P(< 0))".into());
    let refs: Vec<&str> = cols.iter().map(|s| s.as_str()).collect();
    header(ws, &refs)
}

/// Picks one statistic of an entity's summary.
type StatOf = fn(&crate::summary::EntitySummary) -> &Stat;

/// Build the workbook.
pub fn workbook(s: &Summary, sens: Option<&Sensitivity>) -> Result<Vec<u8>, String> {
    build(s, sens).map_err(|e| format!("cannot build the workbook: {e}"))
}

fn build(s: &Summary, sens: Option<&Sensitivity>) -> Result<Vec<u8>, XlsxError> {
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
            ws.write_string(r as u32 + 1, 1, v)?;
        }
    }
    let measures: [(&str, StatOf); 5] = [
        ("NPV", |e| &e.npv),
        ("PV benefits", |e| &e.pv_benefits),
        ("PV costs", |e| &e.pv_costs),
        ("Leakage to zero", |e| &e.leakage_to_zero),
        ("Delay to zero", |e| &e.delay_to_zero),
    ];
    for (name, pick) in measures {
        let ws = wb.add_worksheet().set_name(name)?;
        if let Some(e0) = s.outcomes.first() {
            stat_header(ws, &["entity", "headline"], pick(e0))?;
        }
        for (r, e) in s.outcomes.iter().enumerate() {
            stat_row(
                ws,
                r as u32 + 1,
                &[&e.id, if e.headline { "yes" } else { "no" }],
                pick(e),
            )?;
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Headline review")?;
        header(
            ws,
            &[
                "entity",
                "point",
                "NPV £bn",
                "percentile rank",
                "P(within range)",
                "se",
            ],
        )?;
        let mut r = 1;
        for rv in &s.headline_review {
            for p in &rv.points {
                ws.write_string(r, 0, &rv.id)?;
                ws.write_string(r, 1, &p.label)?;
                num(ws, r, 2, p.npv)?;
                num(ws, r, 3, p.percentile_rank)?;
                num(ws, r, 4, rv.p_within_range)?;
                num(ws, r, 5, rv.p_within_range_se)?;
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Breakeven")?;
        header(ws, &["entity", "year", "probability"])?;
        let mut r = 1;
        for e in &s.outcomes {
            for y in &e.breakeven_year {
                ws.write_string(r, 0, &e.id)?;
                ws.write_string(
                    r,
                    1,
                    y.year
                        .map_or("not within horizon".to_string(), |v| v.to_string()),
                )?;
                num(ws, r, 2, y.p)?;
                r += 1;
            }
        }
    }
    {
        let ws = wb.add_worksheet().set_name("Partners")?;
        if let Some(p0) = s.partners.first() {
            stat_header(ws, &["partner"], &p0.npv)?;
        }
        for (r, p) in s.partners.iter().enumerate() {
            stat_row(ws, r as u32 + 1, &[&p.id], &p.npv)?;
        }
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
            num(ws, r, 3, i.mean)?;
            num(ws, r, 4, i.p10)?;
            num(ws, r, 5, i.p50)?;
            num(ws, r, 6, i.p90)?;
            ws.write_string(r, 7, i.source.as_deref().unwrap_or(""))?;
            ws.write_string(r, 8, &i.file)?;
        }
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
                num(ws, r, 2, c.target[a][b])?;
                num(ws, r, 3, c.achieved[a][b])?;
                r += 1;
            }
        }
    }
    if let Some(x) = sens {
        let ws = wb.add_worksheet().set_name("Tornado")?;
        header(
            ws,
            &[
                "factor",
                "inputs",
                "central value",
                "low value",
                "high value",
                "total NPV low",
                "total NPV high",
                "swing",
            ],
        )?;
        for (r, b) in x.tornado.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &b.factor)?;
            ws.write_string(r, 1, b.inputs.join(", "))?;
            for (c, v) in [
                b.central_value,
                b.low_value,
                b.high_value,
                b.total_low,
                b.total_high,
                b.swing,
            ]
            .iter()
            .enumerate()
            {
                num(ws, r, c as u16 + 2, *v)?;
            }
        }
        let ws = wb.add_worksheet().set_name("Switching values")?;
        header(
            ws,
            &[
                "factor",
                "input",
                "entity",
                "central value",
                "switching value",
                "change %",
                "inside distribution",
                "percentile",
                "note",
            ],
        )?;
        for (r, v) in x.switching.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &v.factor)?;
            ws.write_string(r, 1, &v.input)?;
            ws.write_string(r, 2, &v.entity)?;
            num(ws, r, 3, v.central_value)?;
            if let Some(sv) = v.switching_value {
                num(ws, r, 4, sv)?;
            }
            if let Some(c) = v.change_pct {
                num(ws, r, 5, c)?;
            }
            ws.write_string(r, 6, if v.inside_distribution { "yes" } else { "no" })?;
            if let Some(p) = v.percentile {
                num(ws, r, 7, p)?;
            }
            ws.write_string(r, 8, &v.note)?;
        }
        let ws = wb.add_worksheet().set_name("Rank correlation")?;
        header(
            ws,
            &["input", "entity", "Spearman", "contribution to variance"],
        )?;
        for (r, v) in x.rank.iter().enumerate() {
            let r = r as u32 + 1;
            ws.write_string(r, 0, &v.input)?;
            ws.write_string(r, 1, &v.entity)?;
            num(ws, r, 2, v.spearman)?;
            num(ws, r, 3, v.contribution)?;
        }
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
                    num(ws, r, c as u16 + 2, *v)?;
                }
                ws.write_string(r, 11, f.inputs.join(", "))?;
                r += 1;
            }
        }
        let ws = wb.add_worksheet().set_name("Scenario analysis")?;
        header(
            ws,
            &[
                "entity",
                "region",
                "threshold",
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
                num(ws, r, 2, g.threshold)?;
                num(ws, r, 3, g.draws as f64)?;
                num(ws, r, 4, g.total_draws as f64)?;
                ws.write_string(r, 5, &i.input)?;
                num(ws, r, 6, i.overall_median)?;
                num(ws, r, 7, i.subset_median)?;
                num(ws, r, 8, i.sd)?;
                num(ws, r, 9, i.shift_sd)?;
                ws.write_boolean(r, 10, i.significant)?;
                r += 1;
            }
        }
    }
    wb.save_to_buffer()
}
