//! The one way out for a run's summary: every command that ends in a summary (`run` in memory,
//! streamed or checkpointed, `merge`, `run --mpi`) hands it here with the format asked for, so a
//! format works for all of them or is refused for all of them. The output folder gets its files
//! as one set ([`crate::output::publish`]); what goes to standard output is returned for the
//! command layer to print.

use std::path::Path;

use crate::engine::{Draws, Plan};
use crate::error::Error;
use crate::summary::Summary;
use crate::text;

/// What a command prints on standard output.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table for the terminal.
    Table,
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook, written into the output folder (nothing is printed).
    Xlsx,
}

/// Refuse a format that cannot be produced before any work is done: a workbook needs an output
/// folder to go into.
pub fn check(format: Format, out: Option<&Path>) -> Result<(), Error> {
    if format == Format::Xlsx && out.is_none() {
        return Err(Error::Input(
            "`--format xlsx` writes a workbook into the output folder: give `--out DIR`".into(),
        ));
    }
    Ok(())
}

/// Summary JSON with timing appended as its own top-level field (the only field that differs
/// between identical runs).
pub fn summary_json(s: &Summary, secs: f64) -> String {
    let mut v = serde_json::to_value(s).expect("summary serialises");
    v.as_object_mut().unwrap().insert(
        "timing".into(),
        serde_json::json!({ "seconds": secs, "draws_per_second": s.metadata.draws as f64 / secs }),
    );
    let mut t = serde_json::to_string_pretty(&v).expect("summary serialises");
    t.push('\n');
    t
}

/// Write a run's summary into `out` (when given) as one set replacing the previous run there:
/// `summary.json`, `summary.csv`, the kept draws (`draws.csv`) and, for `Format::Xlsx`, the
/// workbook `summary.xlsx`. Returns what to print.
pub fn summary(
    s: &Summary,
    secs: f64,
    format: Format,
    out: Option<&Path>,
    keep: Option<(&Plan, &Draws)>,
) -> Result<String, Error> {
    check(format, out)?;
    let json = summary_json(s, secs);
    if let Some(dir) = out {
        let mut files = vec![
            ("summary.json".to_string(), json.as_bytes().to_vec()),
            ("summary.csv".to_string(), text::summary_csv(s).into_bytes()),
        ];
        if let Some((plan, d)) = keep {
            files.push(("draws.csv".to_string(), draws_csv(plan, d).into_bytes()));
        }
        if format == Format::Xlsx {
            let book = crate::xlsx::workbook(s, None).map_err(Error::Internal)?;
            files.push(("summary.xlsx".to_string(), book));
        }
        crate::output::publish(dir, &files).map_err(Error::Input)?;
    }
    Ok(match format {
        Format::Table => text::summary_table(s),
        Format::Json => json,
        Format::Csv => text::summary_csv(s),
        Format::Xlsx => String::new(),
    })
}

/// Every kept draw's inputs and outcomes as CSV: the draw's index, one column per input
/// (`input:PATH`), one per outcome, and each entity's whole-year delay-to-zero and breakeven year.
pub fn draws_csv(plan: &Plan, d: &Draws) -> String {
    use std::fmt::Write as _;
    let mut o = String::from("draw");
    for i in &plan.set.inputs {
        let _ = write!(o, ",input:{}", i.param.path);
    }
    for c in 0..plan.n_outcomes() {
        let _ = write!(o, ",{}", plan.outcome_name(c));
    }
    for e in &plan.entities {
        let _ = write!(o, ",{e}.delay_to_zero_whole,{e}.breakeven_year");
    }
    o.push('\n');
    // Kept draws are all draws except the skipped ones, in order.
    let mut skipped = d.skipped.iter().peekable();
    let mut idx = 0u64;
    for r in 0..d.n {
        while skipped.peek() == Some(&&idx) {
            skipped.next();
            idx += 1;
        }
        let _ = write!(o, "{idx}");
        for col in &d.inputs {
            let _ = write!(o, ",{}", col[r]);
        }
        for col in &d.outcomes {
            let _ = write!(o, ",{}", col[r]);
        }
        for e in 0..plan.entities.len() {
            let _ = write!(o, ",{},{}", d.delay_whole[e][r], d.breakeven[e][r]);
        }
        o.push('\n');
        idx += 1;
    }
    o
}
