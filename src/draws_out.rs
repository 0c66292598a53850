//! Writing a run's kept draws (`run --keep-draws`) in one of three formats, each streamed to a
//! writer as it is produced rather than built in memory:
//!
//! - **CSV** (`draws.csv`): one row per kept draw.
//! - **SIPmath 3.0** (`draws.SIPmath`): a library JSON of the Probability Management standard,
//!   one SIP per column, each a `SIP_Array` of its values indexed by the trial counter (the
//!   `Index` generator of `PM_Index`), so SIPmath tools read the draws as they are, coherently
//!   across columns: trial k of every SIP is the k-th kept draw.
//! - **Parquet** (`draws.parquet`): one column per column, written in row groups of
//!   [`ROW_GROUP`] draws, uncompressed, with the `parquet` crate's column writers.
//!
//! The columns are the same in every format and in this order: `draw` (the draw's index in the
//! run; draws skipped for a non-finite outcome are left out, so indices can jump), `input:PATH`
//! for each uncertain input (the first value it took in the draw), each outcome
//! (`ENTITY.MEASURE`, then each partner's NPV share), then per entity the whole years of delay to
//! zero and the breakeven year (0: not within the horizon). Numbers are written so that they read
//! back as the same bits: shortest round-trip decimals in CSV and JSON, IEEE doubles in Parquet.

use std::io::{self, Write};
use std::str::FromStr;
use std::sync::Arc;

use crate::engine::{Draws, Plan};

/// Draws per Parquet row group (about 8 MB per 16 columns of doubles).
pub const ROW_GROUP: usize = 65_536;

/// The file format of the kept draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DrawsFormat {
    #[default]
    Csv,
    Sipmath,
    Parquet,
}

impl DrawsFormat {
    /// The names `--draws-format` takes.
    pub const NAMES: [&'static str; 3] = ["csv", "sipmath", "parquet"];

    /// The file the draws are written to in the output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            DrawsFormat::Csv => "draws.csv",
            DrawsFormat::Sipmath => "draws.SIPmath",
            DrawsFormat::Parquet => "draws.parquet",
        }
    }
}

impl FromStr for DrawsFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(DrawsFormat::Csv),
            "sipmath" => Ok(DrawsFormat::Sipmath),
            "parquet" => Ok(DrawsFormat::Parquet),
            _ => Err(format!(
                "unknown draws format `{s}`: use {}",
                DrawsFormat::NAMES.join(", ")
            )),
        }
    }
}

/// One column of the kept draws.
enum Column<'a> {
    /// The draw indices (computed from the skipped ones).
    Draw,
    Real(&'a [f64]),
    Small(&'a [u8]),
}

/// The columns of the kept draws: names and data, in file order.
fn columns<'a>(plan: &Plan, d: &'a Draws) -> Vec<(String, Column<'a>)> {
    let mut c = vec![("draw".to_string(), Column::Draw)];
    for (i, col) in plan.set.inputs.iter().zip(&d.inputs) {
        c.push((format!("input:{}", i.param.path), Column::Real(&col[..d.n])));
    }
    for (k, col) in d.outcomes.iter().enumerate() {
        c.push((plan.outcome_name(k), Column::Real(&col[..d.n])));
    }
    for (e, name) in plan.entities.iter().enumerate() {
        c.push((
            format!("{name}.delay_to_zero_whole"),
            Column::Small(&d.delay_whole[e][..d.n]),
        ));
        c.push((
            format!("{name}.breakeven_year"),
            Column::Small(&d.breakeven[e][..d.n]),
        ));
    }
    c
}

/// The column names of the kept draws of `plan`, in file order.
pub fn column_names(plan: &Plan, d: &Draws) -> Vec<String> {
    columns(plan, d).into_iter().map(|(n, _)| n).collect()
}

/// The run's index of each of the `n` kept draws of rows `from..to`: kept draws are all draws
/// except the skipped ones (sorted), in order.
fn draw_indices(skipped: &[u64], from: usize, to: usize) -> Vec<u64> {
    let mut out = Vec::with_capacity(to - from);
    // The first row's index is `from` plus the number of skipped indices at or below it.
    let mut s = 0usize;
    let mut idx = from as u64;
    while s < skipped.len() && skipped[s] <= idx {
        s += 1;
        idx = from as u64 + s as u64;
    }
    for _ in from..to {
        while s < skipped.len() && skipped[s] == idx {
            s += 1;
            idx += 1;
        }
        out.push(idx);
        idx += 1;
    }
    out
}

/// Write the kept draws `d` of `plan` in `format` to `w`. `title` names the run in the SIPmath
/// library (its model and seed, say).
pub fn write(
    format: DrawsFormat,
    plan: &Plan,
    d: &Draws,
    title: &str,
    w: &mut (dyn Write + Send),
) -> io::Result<()> {
    match format {
        DrawsFormat::Csv => write_csv(plan, d, w),
        DrawsFormat::Sipmath => write_sipmath(plan, d, title, w),
        DrawsFormat::Parquet => write_parquet(plan, d, title, w),
    }
}

/// Rows per block of the CSV writer (the draw indices of a block are computed at once).
const CSV_BLOCK: usize = 4096;

fn write_csv(plan: &Plan, d: &Draws, w: &mut dyn Write) -> io::Result<()> {
    let cols = columns(plan, d);
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    writeln!(w, "{}", names.join(","))?;
    let mut line = String::new();
    for from in (0..d.n).step_by(CSV_BLOCK) {
        let to = (from + CSV_BLOCK).min(d.n);
        let idx = draw_indices(&d.skipped, from, to);
        for r in from..to {
            use std::fmt::Write as _;
            line.clear();
            for (j, (_, c)) in cols.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                let _ = match c {
                    Column::Draw => write!(line, "{}", idx[r - from]),
                    Column::Real(v) => write!(line, "{}", v[r]),
                    Column::Small(v) => write!(line, "{}", v[r]),
                };
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
    }
    Ok(())
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("a string serialises")
}

fn write_sipmath(plan: &Plan, d: &Draws, title: &str, w: &mut dyn Write) -> io::Result<()> {
    let cols = columns(plan, d);
    let provenance = format!(
        "npvrisk {}: the {} kept draws of a run of the model `{}`; trial k of every SIP is the k-th kept draw",
        env!("CARGO_PKG_VERSION"),
        d.n,
        plan.model.name
    );
    write!(
        w,
        "{{\n\"name\": {},\n\"version\": \"1\",\n\"provenance\": {},\n\"globalVariables\": [],\n\
         \"U01\": {{\"rng\": [{{\"name\": \"index\", \"function\": \"Index\", \"arguments\": {{\"counter\": \"PM_Index\"}}}}]}},\n\
         \"sips\": [",
        json_string(title),
        json_string(&provenance)
    )?;
    for (j, (name, c)) in cols.iter().enumerate() {
        write!(
            w,
            "{}\n{{\"name\": {}, \"ref\": {{\"source\": \"rng\", \"name\": \"index\"}}, \"function\": \"SIP_Array\", \
             \"arguments\": {{\"type\": \"array\", \"value\": [",
            if j > 0 { "," } else { "" },
            json_string(name)
        )?;
        for from in (0..d.n).step_by(CSV_BLOCK) {
            let to = (from + CSV_BLOCK).min(d.n);
            let idx = matches!(c, Column::Draw).then(|| draw_indices(&d.skipped, from, to));
            for r in from..to {
                if r > 0 {
                    w.write_all(b",")?;
                }
                match c {
                    Column::Draw => write!(w, "{}", idx.as_ref().expect("indices")[r - from])?,
                    Column::Small(v) => write!(w, "{}", v[r])?,
                    Column::Real(v) => {
                        let x = v[r];
                        if !x.is_finite() {
                            return Err(io::Error::other(format!(
                                "column `{name}` holds a non-finite value ({x}) in kept draw {r}, which JSON cannot hold"
                            )));
                        }
                        serde_json::to_writer(&mut *w, &x).map_err(io::Error::other)?;
                    }
                }
            }
        }
        write!(w, "]}}}}")?;
    }
    writeln!(w, "\n]\n}}")
}

fn pq(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(format!("Parquet: {e}"))
}

/// The Parquet schema of the kept draws: `draw` INT64, the reals DOUBLE, the small counts INT32
/// annotated as unsigned 8-bit integers; every column required.
fn parquet_schema(cols: &[(String, Column<'_>)]) -> io::Result<parquet::schema::types::Type> {
    use parquet::basic::{LogicalType, Repetition, Type as Physical};
    use parquet::schema::types::Type;
    let fields = cols
        .iter()
        .map(|(name, c)| {
            let (physical, logical) = match c {
                Column::Draw => (Physical::INT64, Some(LogicalType::integer(64, false))),
                Column::Real(_) => (Physical::DOUBLE, None),
                Column::Small(_) => (Physical::INT32, Some(LogicalType::integer(8, false))),
            };
            Type::primitive_type_builder(name, physical)
                .with_repetition(Repetition::REQUIRED)
                .with_logical_type(logical)
                .build()
                .map(Arc::new)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(pq)?;
    Type::group_type_builder("draws")
        .with_fields(fields)
        .build()
        .map_err(pq)
}

fn write_parquet(
    plan: &Plan,
    d: &Draws,
    title: &str,
    w: &mut (dyn Write + Send),
) -> io::Result<()> {
    write_parquet_in(plan, d, title, w, ROW_GROUP)
}

/// [`write_parquet`] in row groups of `row_group` draws.
fn write_parquet_in(
    plan: &Plan,
    d: &Draws,
    title: &str,
    w: &mut (dyn Write + Send),
    row_group: usize,
) -> io::Result<()> {
    use parquet::data_type::{DoubleType, Int32Type, Int64Type};
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    let cols = columns(plan, d);
    let schema = Arc::new(parquet_schema(&cols)?);
    // Doubles drawn at random do not repeat: no dictionary for them; the small counts have a
    // handful of values and keep it.
    let mut props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(row_group))
        .set_created_by(format!("npvrisk {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            "npvrisk.run".to_string(),
            title.to_string(),
        )]));
    for (name, c) in &cols {
        if matches!(c, Column::Small(_)) {
            props = props.set_column_dictionary_enabled(name.as_str().into(), true);
        }
    }
    let mut writer = SerializedFileWriter::new(w, schema, Arc::new(props.build())).map_err(pq)?;
    let mut small: Vec<i32> = Vec::with_capacity(row_group);
    for from in (0..d.n).step_by(row_group) {
        let to = (from + row_group).min(d.n);
        let mut rg = writer.next_row_group().map_err(pq)?;
        for (_, c) in &cols {
            let mut col = rg
                .next_column()
                .map_err(pq)?
                .ok_or_else(|| io::Error::other("Parquet: fewer columns than the schema"))?;
            match c {
                Column::Draw => {
                    let idx: Vec<i64> = draw_indices(&d.skipped, from, to)
                        .into_iter()
                        .map(|i| i as i64)
                        .collect();
                    col.typed::<Int64Type>()
                        .write_batch(&idx, None, None)
                        .map_err(pq)?;
                }
                Column::Real(v) => {
                    col.typed::<DoubleType>()
                        .write_batch(&v[from..to], None, None)
                        .map_err(pq)?;
                }
                Column::Small(v) => {
                    small.clear();
                    small.extend(v[from..to].iter().map(|&x| i32::from(x)));
                    col.typed::<Int32Type>()
                        .write_batch(&small, None, None)
                        .map_err(pq)?;
                }
            }
            col.close().map_err(pq)?;
        }
        rg.close().map_err(pq)?;
    }
    writer.close().map_err(pq)?;
    Ok(())
}

/// A Parquet file of kept draws read back: the column names, the rows of each row group, and
/// every column's values as f64 (the integer columns exactly).
#[derive(Debug, Clone, PartialEq)]
pub struct ParquetColumns {
    pub names: Vec<String>,
    pub groups: Vec<usize>,
    pub cols: Vec<Vec<f64>>,
}

/// Read a Parquet file of kept draws (as [`write()`] makes them) with the `parquet` crate's column
/// readers; an error names the file.
pub fn read_parquet(path: &std::path::Path) -> Result<ParquetColumns, crate::error::Error> {
    use parquet::column::reader::ColumnReader;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let name = path.display();
    let bad = |e: &dyn std::fmt::Display| {
        crate::error::Error::Input(format!("cannot read `{name}` as Parquet draws: {e}"))
    };
    let file = std::fs::File::open(path).map_err(|e| bad(&e))?;
    let r = SerializedFileReader::new(file).map_err(|e| bad(&e))?;
    let schema = r.metadata().file_metadata().schema_descr_ptr();
    let names: Vec<String> = schema
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); names.len()];
    let mut groups = Vec::new();
    for g in 0..r.num_row_groups() {
        let rg = r.get_row_group(g).map_err(|e| bad(&e))?;
        let n = rg.metadata().num_rows() as usize;
        groups.push(n);
        for (i, col) in cols.iter_mut().enumerate() {
            let got = match rg.get_column_reader(i).map_err(|e| bad(&e))? {
                ColumnReader::DoubleColumnReader(mut c) => {
                    let mut v = Vec::new();
                    let k = c
                        .read_records(n, None, None, &mut v)
                        .map_err(|e| bad(&e))?
                        .0;
                    col.extend(v);
                    k
                }
                ColumnReader::Int64ColumnReader(mut c) => {
                    let mut v = Vec::new();
                    let k = c
                        .read_records(n, None, None, &mut v)
                        .map_err(|e| bad(&e))?
                        .0;
                    col.extend(v.into_iter().map(|x| x as f64));
                    k
                }
                ColumnReader::Int32ColumnReader(mut c) => {
                    let mut v = Vec::new();
                    let k = c
                        .read_records(n, None, None, &mut v)
                        .map_err(|e| bad(&e))?
                        .0;
                    col.extend(v.into_iter().map(f64::from));
                    k
                }
                _ => {
                    return Err(bad(&format!(
                        "column `{}` has an unexpected type",
                        names[i]
                    )));
                }
            };
            if got != n {
                return Err(bad(&format!(
                    "column `{}` holds {got} of its row group's {n} rows",
                    names[i]
                )));
            }
        }
    }
    Ok(ParquetColumns {
        names,
        groups,
        cols,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draw_indices_leave_out_the_skipped_draws() {
        // Draws 0..10 with 0, 3, 4 and 9 skipped: kept 1, 2, 5, 6, 7, 8.
        let skipped = [0, 3, 4, 9];
        assert_eq!(draw_indices(&skipped, 0, 6), vec![1, 2, 5, 6, 7, 8]);
        for from in 0..6 {
            for to in from..=6 {
                assert_eq!(
                    draw_indices(&skipped, from, to),
                    draw_indices(&skipped, 0, 6)[from..to].to_vec(),
                    "{from}..{to}"
                );
            }
        }
        assert_eq!(draw_indices(&[], 3, 6), vec![3, 4, 5]);
        // Skipped draws after the kept ones change nothing.
        assert_eq!(draw_indices(&[7, 8], 0, 3), vec![0, 1, 2]);
    }

    /// The default model's plan, its draws with a few draws marked skipped (so that the draw
    /// indices jump), and the CSV of those draws parsed: header and rows.
    fn sample() -> (Plan, Draws, Vec<String>, Vec<Vec<String>>) {
        let model = crate::format::parse_model(
            crate::embedded::EY2013_MODEL_FILE,
            crate::embedded::EY2013_MODEL,
        )
        .unwrap();
        let dists = include_str!("../distributions/ey2013_default.toml");
        let set = crate::distfile::load(&model, &[("default.toml".into(), dists.into())]).unwrap();
        let scen = model.scenario_index("base").unwrap();
        let plan = Plan::new(model, scen, set).unwrap();
        let opts = crate::engine::RunOptions {
            draws: 2500,
            seed: 11,
            sampler: crate::sampler::SamplerKind::MonteCarlo,
            block_size: crate::engine::DEFAULT_BLOCK,
            skip_nonfinite: false,
        };
        let mut d = plan.run(&opts, &|_| {}).unwrap();
        // As if draws 0, 7, 8 and 3000 had been skipped: only the `draw` column changes.
        d.skipped = vec![0, 7, 8, 3000];
        let mut csv = Vec::new();
        write(DrawsFormat::Csv, &plan, &d, "t", &mut csv).unwrap();
        let text = String::from_utf8(csv).unwrap();
        let mut lines = text.lines();
        let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
        let rows: Vec<Vec<String>> = lines
            .map(|l| l.split(',').map(String::from).collect())
            .collect();
        (plan, d, header, rows)
    }

    /// A CSV cell's value as an f64 (integers are exact in an f64 at these sizes).
    fn cell(s: &str) -> f64 {
        s.parse().unwrap_or_else(|_| panic!("not a number: {s}"))
    }

    #[test]
    fn csv_has_one_row_per_kept_draw_and_the_indices_jump_over_the_skipped() {
        let (plan, d, header, rows) = sample();
        assert_eq!(header, column_names(&plan, &d));
        assert_eq!(header[0], "draw");
        assert_eq!(rows.len(), d.n);
        assert!(rows.iter().all(|r| r.len() == header.len()));
        let idx: Vec<&str> = rows.iter().take(8).map(|r| r[0].as_str()).collect();
        assert_eq!(idx, ["1", "2", "3", "4", "5", "6", "9", "10"]);
        assert_eq!(rows[d.n - 1][0], (d.n - 1 + 3).to_string());
        // The reals read back as the draws' bits.
        let first_input = 1;
        for (r, row) in rows.iter().enumerate() {
            assert_eq!(cell(&row[first_input]).to_bits(), d.inputs[0][r].to_bits());
        }
    }

    #[test]
    fn sipmath_has_one_sip_per_csv_column_holding_its_values_bit_for_bit() {
        let (plan, d, header, rows) = sample();
        let mut out = Vec::new();
        write(DrawsFormat::Sipmath, &plan, &d, "a run", &mut out).unwrap();
        let lib: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(lib["name"], "a run");
        // The fields SIPmath 3.0 requires of a library and of each SIP (name, ref with source
        // and name, function, arguments), the data SIPs indexed by the trial counter.
        let rng = &lib["U01"]["rng"][0];
        assert_eq!(rng["function"], "Index");
        assert_eq!(rng["arguments"]["counter"], "PM_Index");
        let sips = lib["sips"].as_array().unwrap();
        assert_eq!(sips.len(), header.len());
        for (j, (sip, name)) in sips.iter().zip(&header).enumerate() {
            assert_eq!(sip["name"], name.as_str());
            assert_eq!(sip["ref"]["source"], "rng");
            assert_eq!(sip["ref"]["name"], rng["name"]);
            assert_eq!(sip["function"], "SIP_Array");
            assert_eq!(sip["arguments"]["type"], "array");
            let v = sip["arguments"]["value"].as_array().unwrap();
            assert_eq!(v.len(), d.n, "{name}");
            for (r, x) in v.iter().enumerate() {
                let x = x.as_f64().unwrap();
                assert_eq!(
                    x.to_bits(),
                    cell(&rows[r][j]).to_bits(),
                    "{name}, trial {r}"
                );
            }
        }
    }

    #[test]
    fn parquet_read_back_is_the_csv_bit_for_bit_in_row_groups() {
        let (plan, d, header, rows) = sample();
        let path =
            std::env::temp_dir().join(format!("npvrisk-draws-{}.parquet", std::process::id()));
        let mut f = std::fs::File::create(&path).unwrap();
        write_parquet_in(&plan, &d, "a run", &mut f, 1000).unwrap();
        drop(f);
        let ParquetColumns {
            names,
            groups,
            cols,
        } = read_parquet(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        assert_eq!(names, header);
        assert_eq!(groups, vec![1000, 1000, 500]);
        for (j, col) in cols.iter().enumerate() {
            assert_eq!(col.len(), d.n);
            for (r, x) in col.iter().enumerate() {
                assert_eq!(
                    x.to_bits(),
                    cell(&rows[r][j]).to_bits(),
                    "{}, row {r}",
                    header[j]
                );
            }
        }
    }

    #[test]
    fn formats_parse_and_name_their_files() {
        for n in DrawsFormat::NAMES {
            let f: DrawsFormat = n.parse().unwrap();
            assert!(f.file_name().starts_with("draws."));
        }
        let e = "xlsx".parse::<DrawsFormat>().unwrap_err();
        assert!(e.contains("xlsx") && e.contains("parquet"), "{e}");
    }
}
