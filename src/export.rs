//! The one way out for a run's summary: every command that ends in a summary (`run` in memory,
//! streamed or checkpointed, `merge`, `run --mpi`) hands it here with the format asked for, so a
//! format works for all of them or is refused for all of them. The output folder gets its files
//! as one set ([`crate::output::publish`]); what goes to standard output is returned for the
//! command layer to print.

use std::path::Path;

use crate::draws_out::DrawsFormat;
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

impl Format {
    /// The name `--format` takes for this format.
    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
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
/// between identical runs). Amounts of money are in the run's readable unit
/// ([`Summary::money_unit`]), named by the top-level `money_unit`.
pub fn summary_json(s: &Summary, secs: f64) -> String {
    json_with_timing(in_money_unit(s), s, secs)
}

/// The summary as JSON with its amounts in [`Summary::money_unit`] and that unit as `money_unit`.
fn in_money_unit(s: &Summary) -> serde_json::Value {
    let unit = s.money_unit();
    let mut v = serde_json::to_value(s.in_unit(unit)).expect("summary serialises");
    v.as_object_mut()
        .unwrap()
        .insert("money_unit".into(), serde_json::json!(unit));
    v
}

/// [`summary_json`] listing only the percentiles `shown` of every statistic: a summary computed
/// with more percentiles (each an exact order statistic, independent of the others) gives the
/// same bits as one computed with `shown` alone.
pub fn summary_json_with(s: &Summary, secs: f64, shown: &[f64]) -> String {
    fn keep(v: &mut serde_json::Value, shown: &[f64]) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "percentiles"
                        && let serde_json::Value::Array(a) = x
                    {
                        a.retain(|e| {
                            e.get("p")
                                .and_then(|p| p.as_f64())
                                .is_none_or(|p| shown.contains(&p))
                        });
                    } else {
                        keep(x, shown);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(|x| keep(x, shown)),
            _ => {}
        }
    }
    let mut v = in_money_unit(s);
    keep(&mut v, shown);
    json_with_timing(v, s, secs)
}

fn json_with_timing(mut v: serde_json::Value, s: &Summary, secs: f64) -> String {
    v.as_object_mut().unwrap().insert(
        "timing".into(),
        serde_json::json!({ "seconds": secs, "draws_per_second": s.metadata.draws as f64 / secs }),
    );
    let mut t = serde_json::to_string_pretty(&v).expect("summary serialises");
    t.push('\n');
    t
}

/// The kept draws of a run, for its output folder.
pub enum Kept<'a> {
    /// Draws in memory, written in their format with the summary.
    Memory(&'a Plan, &'a Draws, DrawsFormat),
    /// A draws file written to its temporary in the folder while the run went.
    Staged(crate::output::Staged),
}

/// How the kept draws name their run (in the SIPmath library and the Parquet metadata).
pub fn draws_title(m: &crate::summary::Metadata) -> String {
    draws_title_of(&m.model.file, m.seed, m.draws)
}

/// [`draws_title`] from the model file's name, the seed and the number of draws.
pub fn draws_title_of(model_file: &str, seed: u64, draws: u64) -> String {
    format!("{model_file}, seed {seed}, {draws} draws")
}

/// Write a run's summary into `out` (when given) as one set replacing the previous run there:
/// `summary.json`, `summary.csv`, the kept draws in their format (streamed into the folder, see
/// [`crate::draws_out`]) and, for `Format::Xlsx`, the workbook `summary.xlsx`. Returns what to
/// print.
pub fn summary(
    s: &Summary,
    secs: f64,
    format: Format,
    out: Option<&Path>,
    keep: Option<Kept<'_>>,
) -> Result<String, Error> {
    check(format, out)?;
    let json = summary_json(s, secs);
    if let Some(dir) = out {
        let mut files = vec![
            ("summary.json".to_string(), json.as_bytes().to_vec()),
            ("summary.csv".to_string(), text::summary_csv(s).into_bytes()),
        ];
        if format == Format::Xlsx {
            let book = crate::xlsx::workbook(s, None).map_err(Error::Internal)?;
            files.push(("summary.xlsx".to_string(), book));
        }
        let staged = match keep {
            None => Vec::new(),
            Some(Kept::Staged(f)) => vec![f],
            Some(Kept::Memory(plan, d, f)) => {
                crate::output::lock_folder(dir)?;
                let mut w = crate::output::Staging::create(dir, f.file_name())?;
                crate::draws_out::write(f, plan, d, &draws_title(&s.metadata), &mut w)
                    .map_err(|e| w.error(&e))?;
                vec![w.finish()?]
            }
        };
        crate::output::publish_with(dir, &files, staged)?;
    }
    Ok(match format {
        Format::Table => text::summary_table(s),
        Format::Json => json,
        Format::Csv => text::summary_csv(s),
        Format::Xlsx => String::new(),
    })
}
