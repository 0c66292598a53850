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
use std::ops::Range;
use std::str::FromStr;
use std::sync::Arc;

use crate::engine::{Draws, Plan};

/// Draws per Parquet row group (about 8 MB per 16 columns of doubles).
pub const ROW_GROUP: usize = 65_536;

/// The key of the Parquet file's metadata naming the run the draws are of.
pub const TITLE_KEY: &str = "npvrisk.run";

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

    /// The name `--draws-format` takes for this format.
    pub fn name(self) -> &'static str {
        match self {
            DrawsFormat::Csv => "csv",
            DrawsFormat::Sipmath => "sipmath",
            DrawsFormat::Parquet => "parquet",
        }
    }

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

/// The run's indices of kept draws, in order: every draw index from a start, except the skipped
/// ones.
struct Indices<'a> {
    /// Skipped draw indices (sorted), from the first at or after the next index on.
    skipped: &'a [u64],
    next: u64,
}

impl<'a> Indices<'a> {
    /// The kept draws from draw index `start` on, given the skipped draw indices (sorted; those
    /// before `start` are ignored).
    fn from(skipped: &'a [u64], start: u64) -> Indices<'a> {
        let s = skipped.partition_point(|&i| i < start);
        Indices {
            skipped: &skipped[s..],
            next: start,
        }
    }

    /// The next kept draw's index.
    fn next_kept(&mut self) -> u64 {
        while let Some((&first, rest)) = self.skipped.split_first()
            && first == self.next
        {
            self.skipped = rest;
            self.next += 1;
        }
        self.next += 1;
        self.next - 1
    }
}

/// Write the kept draws `d` of `plan` (a whole run's, from draw 0) in `format` to `w`. `title`
/// names the run in the SIPmath library and the Parquet file's metadata (its model and seed, say).
pub fn write(
    format: DrawsFormat,
    plan: &Plan,
    d: &Draws,
    title: &str,
    w: &mut (dyn Write + Send),
) -> io::Result<()> {
    if format == DrawsFormat::Sipmath {
        return write_sipmath(plan, d, title, w);
    }
    let mut sink = Sink::new(format, plan, title, w)?;
    sink.push(d, 0..d.n, 0)?;
    sink.finish().map(|_| ())
}

/// Kept draws written as they are produced, rows of consecutive blocks at a time, to a CSV or
/// Parquet file (SIPmath holds each column whole, so it is written from draws in memory by
/// [`write()`] only). Memory stays bounded: a CSV line, or one Parquet row group being filled.
pub struct Sink<'a, W: Write + Send> {
    plan: &'a Plan,
    out: Out<W>,
    /// Rows written so far.
    pub rows: u64,
}

enum Out<W: Write + Send> {
    Csv {
        w: W,
        line: String,
    },
    Parquet {
        w: parquet::file::writer::SerializedFileWriter<W>,
        cols: Vec<Buffer>,
        row_group: usize,
        filled: usize,
    },
}

/// A Parquet column's values of the row group being filled.
enum Buffer {
    Int64(Vec<i64>),
    Double(Vec<f64>),
    Int32(Vec<i32>),
}

impl<'a, W: Write + Send> Sink<'a, W> {
    /// A sink writing `plan`'s kept draws to `w` in `format` (CSV or Parquet), its header (CSV) or
    /// file head (Parquet) written now.
    pub fn new(format: DrawsFormat, plan: &'a Plan, title: &str, w: W) -> io::Result<Self> {
        match format {
            DrawsFormat::Csv => Sink::csv(plan, w),
            DrawsFormat::Parquet => Sink::parquet(plan, title, w, ROW_GROUP),
            DrawsFormat::Sipmath => Err(io::Error::other(
                "a SIPmath library holds each column whole: it is written from draws in memory",
            )),
        }
    }

    fn csv(plan: &'a Plan, mut w: W) -> io::Result<Self> {
        let empty = plan.empty_draws();
        writeln!(w, "{}", column_names(plan, &empty).join(","))?;
        Ok(Sink {
            plan,
            out: Out::Csv {
                w,
                line: String::new(),
            },
            rows: 0,
        })
    }

    /// A Parquet sink writing row groups of `row_group` draws.
    fn parquet(plan: &'a Plan, title: &str, w: W, row_group: usize) -> io::Result<Self> {
        use parquet::file::writer::SerializedFileWriter;
        let empty = plan.empty_draws();
        let cols = columns(plan, &empty);
        let schema = Arc::new(parquet_schema(&cols)?);
        let props = writer_properties(&cols, title, row_group);
        let writer = SerializedFileWriter::new(w, schema, Arc::new(props)).map_err(pq)?;
        let buffers = cols
            .iter()
            .map(|(_, c)| match c {
                Column::Draw => Buffer::Int64(Vec::with_capacity(row_group)),
                Column::Real(_) => Buffer::Double(Vec::with_capacity(row_group)),
                Column::Small(_) => Buffer::Int32(Vec::with_capacity(row_group)),
            })
            .collect();
        Ok(Sink {
            plan,
            out: Out::Parquet {
                w: writer,
                cols: buffers,
                row_group,
                filled: 0,
            },
            rows: 0,
        })
    }

    /// Write rows `rows` of `d`, the kept draws of consecutive blocks of the run whose first
    /// block starts at draw index `start` (`d.skipped` holds the skipped draw indices).
    pub fn push(&mut self, d: &Draws, rows: Range<usize>, start: u64) -> io::Result<()> {
        let cols = columns(self.plan, d);
        let mut idx = Indices::from(&d.skipped, start);
        self.rows += rows.len() as u64;
        match &mut self.out {
            Out::Csv { w, line } => {
                for r in rows {
                    use std::fmt::Write as _;
                    line.clear();
                    for (j, (_, c)) in cols.iter().enumerate() {
                        if j > 0 {
                            line.push(',');
                        }
                        let _ = match c {
                            Column::Draw => write!(line, "{}", idx.next_kept()),
                            Column::Real(v) => write!(line, "{}", v[r]),
                            Column::Small(v) => write!(line, "{}", v[r]),
                        };
                    }
                    line.push('\n');
                    w.write_all(line.as_bytes())?;
                }
                Ok(())
            }
            Out::Parquet {
                w,
                cols: bufs,
                row_group,
                filled,
            } => {
                let mut from = rows.start;
                while from < rows.end {
                    let to = (from + (*row_group - *filled)).min(rows.end);
                    for ((_, c), b) in cols.iter().zip(bufs.iter_mut()) {
                        match (c, b) {
                            (Column::Draw, Buffer::Int64(b)) => {
                                b.extend((from..to).map(|_| idx.next_kept() as i64))
                            }
                            (Column::Real(v), Buffer::Double(b)) => {
                                b.extend_from_slice(&v[from..to])
                            }
                            (Column::Small(v), Buffer::Int32(b)) => {
                                b.extend(v[from..to].iter().map(|&x| i32::from(x)))
                            }
                            _ => unreachable!("a buffer per column, of its type"),
                        }
                    }
                    *filled += to - from;
                    from = to;
                    if *filled == *row_group {
                        write_row_group(w, bufs)?;
                        *filled = 0;
                    }
                }
                Ok(())
            }
        }
    }

    /// Write what is left (the last row group, the Parquet footer), flush, and give back the
    /// writer.
    pub fn finish(self) -> io::Result<W> {
        match self.out {
            Out::Csv { mut w, .. } => {
                w.flush()?;
                Ok(w)
            }
            Out::Parquet {
                mut w,
                mut cols,
                filled,
                ..
            } => {
                if filled > 0 {
                    write_row_group(&mut w, &mut cols)?;
                }
                let mut inner = w.into_inner().map_err(pq)?;
                inner.flush()?;
                Ok(inner)
            }
        }
    }
}

/// The properties of a Parquet file of kept draws with columns `cols`, named `title`.
fn writer_properties(
    cols: &[(String, Column<'_>)],
    title: &str,
    row_group: usize,
) -> parquet::file::properties::WriterProperties {
    use parquet::file::metadata::KeyValue;
    use parquet::file::properties::WriterProperties;
    // Doubles drawn at random do not repeat: no dictionary for them; the small counts have a
    // handful of values and keep it.
    let mut props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_max_row_group_row_count(Some(row_group))
        .set_created_by(format!("npvrisk {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(Some(vec![KeyValue::new(
            TITLE_KEY.to_string(),
            title.to_string(),
        )]));
    for (name, c) in cols {
        if matches!(c, Column::Small(_)) {
            props = props.set_column_dictionary_enabled(name.as_str().into(), true);
        }
    }
    props.build()
}

/// Join files of kept draws of one run, each holding the draws of consecutive blocks, given in
/// block order, into one file of `format` written to `w`, named `title`: a CSV's rows are copied
/// after one header, a Parquet file's row groups are copied as they are encoded (not decoded),
/// so memory stays bounded whatever their size. Every file must have the columns of `plan`'s
/// draws. Returns the rows written and the writer; an error names the file.
pub fn concat<W: Write + Send>(
    format: DrawsFormat,
    plan: &Plan,
    title: &str,
    parts: &[std::path::PathBuf],
    mut w: W,
) -> Result<(u64, W), String> {
    let empty = plan.empty_draws();
    let cols = columns(plan, &empty);
    let names: Vec<&str> = cols.iter().map(|(n, _)| n.as_str()).collect();
    let mut rows = 0u64;
    match format {
        DrawsFormat::Csv => {
            use std::io::BufRead;
            let header = format!("{}\n", names.join(","));
            w.write_all(header.as_bytes()).map_err(|e| e.to_string())?;
            for p in parts {
                let bad = |e: &dyn std::fmt::Display| format!("`{}`: {e}", p.display());
                let f = std::fs::File::open(p).map_err(|e| bad(&e))?;
                let mut r = io::BufReader::with_capacity(1 << 20, f);
                let mut line = Vec::new();
                r.read_until(b'\n', &mut line).map_err(|e| bad(&e))?;
                if line != header.as_bytes() {
                    return Err(bad(&"its columns are not those of this run's draws"));
                }
                loop {
                    line.clear();
                    if r.read_until(b'\n', &mut line).map_err(|e| bad(&e))? == 0 {
                        break;
                    }
                    if line.last() != Some(&b'\n') {
                        return Err(bad(&"its last row is cut short"));
                    }
                    rows += 1;
                    w.write_all(&line).map_err(|e| e.to_string())?;
                }
            }
            w.flush().map_err(|e| e.to_string())?;
            Ok((rows, w))
        }
        DrawsFormat::Parquet => {
            use parquet::column::writer::ColumnCloseResult;
            use parquet::file::metadata::{PageIndexPolicy, ParquetMetaDataReader};
            use parquet::file::writer::SerializedFileWriter;
            let schema = Arc::new(parquet_schema(&cols).map_err(|e| e.to_string())?);
            let props = Arc::new(writer_properties(&cols, title, ROW_GROUP));
            let mut out = SerializedFileWriter::new(w, schema.clone(), props)
                .map_err(|e| pq(e).to_string())?;
            for p in parts {
                let bad = |e: &dyn std::fmt::Display| format!("`{}`: {e}", p.display());
                let f = std::fs::File::open(p).map_err(|e| bad(&e))?;
                let meta = ParquetMetaDataReader::new()
                    .with_page_index_policy(PageIndexPolicy::Optional)
                    .parse_and_finish(&f)
                    .map_err(|e| bad(&e))?;
                if meta.file_metadata().schema() != schema.as_ref() {
                    return Err(bad(&"its columns are not those of this run's draws"));
                }
                let run = meta.file_metadata().key_value_metadata().and_then(|kv| {
                    kv.iter()
                        .find(|k| k.key == TITLE_KEY)
                        .and_then(|k| k.value.clone())
                });
                if run.as_deref() != Some(title) {
                    return Err(bad(&format!(
                        "it holds the draws of {}, not of this run ({title})",
                        run.as_deref().unwrap_or("an unnamed run")
                    )));
                }
                let index = meta.page_index();
                for (g, rg) in meta.row_groups().iter().enumerate() {
                    let mut rg_out = out.next_row_group().map_err(|e| bad(&e))?;
                    for (c, column) in rg.columns().iter().enumerate() {
                        rg_out
                            .append_column(
                                &f,
                                ColumnCloseResult {
                                    bytes_written: column.compressed_size() as u64,
                                    rows_written: rg.num_rows() as u64,
                                    metadata: column.clone(),
                                    bloom_filter: None,
                                    column_index: index.and_then(|i| i.column_index(g, c)).cloned(),
                                    offset_index: index.and_then(|i| i.offset_index(g, c)).cloned(),
                                },
                            )
                            .map_err(|e| bad(&e))?;
                    }
                    rg_out.close().map_err(|e| bad(&e))?;
                    rows += rg.num_rows() as u64;
                }
            }
            let mut w = out.into_inner().map_err(|e| pq(e).to_string())?;
            w.flush().map_err(|e| e.to_string())?;
            Ok((rows, w))
        }
        DrawsFormat::Sipmath => Err("a SIPmath library is written from draws in memory".into()),
    }
}

/// Write the buffered columns as one row group and empty them.
fn write_row_group<W: Write + Send>(
    w: &mut parquet::file::writer::SerializedFileWriter<W>,
    cols: &mut [Buffer],
) -> io::Result<()> {
    use parquet::data_type::{DoubleType, Int32Type, Int64Type};
    let mut rg = w.next_row_group().map_err(pq)?;
    for b in cols.iter_mut() {
        let mut col = rg
            .next_column()
            .map_err(pq)?
            .ok_or_else(|| io::Error::other("Parquet: fewer columns than the schema"))?;
        match b {
            Buffer::Int64(v) => {
                col.typed::<Int64Type>()
                    .write_batch(v, None, None)
                    .map_err(pq)?;
                v.clear();
            }
            Buffer::Double(v) => {
                col.typed::<DoubleType>()
                    .write_batch(v, None, None)
                    .map_err(pq)?;
                v.clear();
            }
            Buffer::Int32(v) => {
                col.typed::<Int32Type>()
                    .write_batch(v, None, None)
                    .map_err(pq)?;
                v.clear();
            }
        }
        col.close().map_err(pq)?;
    }
    rg.close().map_err(pq)?;
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
        let mut idx = Indices::from(&d.skipped, 0);
        for r in 0..d.n {
            if r > 0 {
                w.write_all(b",")?;
            }
            match c {
                Column::Draw => write!(w, "{}", idx.next_kept())?,
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

/// Read up to `n` records of a column chunk onto `col` as f64; the number read.
fn records<T: parquet::data_type::DataType>(
    mut c: parquet::column::reader::ColumnReaderImpl<T>,
    n: usize,
    col: &mut Vec<f64>,
    to_f64: impl Fn(T::T) -> f64,
) -> parquet::errors::Result<usize> {
    let mut v = Vec::new();
    let k = c.read_records(n, None, None, &mut v)?.0;
    col.extend(v.into_iter().map(to_f64));
    Ok(k)
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
                ColumnReader::DoubleColumnReader(c) => records(c, n, col, |x| x),
                ColumnReader::Int64ColumnReader(c) => records(c, n, col, |x| x as f64),
                ColumnReader::Int32ColumnReader(c) => records(c, n, col, f64::from),
                _ => {
                    return Err(bad(&format!(
                        "column `{}` has an unexpected type",
                        names[i]
                    )));
                }
            }
            .map_err(|e| bad(&e))?;
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
    fn indices_leave_out_the_skipped_draws() {
        let take = |skipped: &[u64], start: u64, n: usize| {
            let mut i = Indices::from(skipped, start);
            (0..n).map(|_| i.next_kept()).collect::<Vec<u64>>()
        };
        // Draws 0..12 with 0, 3, 4 and 9 skipped: kept 1, 2, 5, 6, 7, 8, 10, 11.
        let skipped = [0, 3, 4, 9];
        assert_eq!(take(&skipped, 0, 8), vec![1, 2, 5, 6, 7, 8, 10, 11]);
        assert_eq!(take(&skipped, 3, 3), vec![5, 6, 7]);
        assert_eq!(take(&[], 3, 3), vec![3, 4, 5]);
        // From every start, by brute force.
        for start in 0..12 {
            let want: Vec<u64> = (start..).filter(|i| !skipped.contains(i)).take(6).collect();
            assert_eq!(take(&skipped, start, 6), want, "from {start}");
        }
    }

    /// The default model's plan, its draws with a few draws marked skipped (so that the draw
    /// indices jump), and the CSV of those draws parsed: header and rows.
    fn sample() -> (Plan, Draws, Vec<String>, Vec<Vec<String>>) {
        let plan = crate::embedded::default_plan();
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
        let mut sink = Sink::parquet(&plan, "a run", &mut f, 1000).unwrap();
        sink.push(&d, 0..d.n, 0).unwrap();
        sink.finish().unwrap();
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
    fn draws_pushed_in_pieces_write_the_same_file_as_at_once() {
        let (plan, d, _, rows) = sample();
        for format in [DrawsFormat::Csv, DrawsFormat::Parquet] {
            let mut whole = Vec::new();
            write(format, &plan, &d, "t", &mut whole).unwrap();
            let mut pieces = Vec::new();
            let mut sink = Sink::new(format, &plan, "t", &mut pieces).unwrap();
            let mut r = 0;
            for len in [1, 6, 993, 0, 1000] {
                let to = (r + len).min(d.n);
                // Each piece starts at its first row's draw index (from the CSV of the whole).
                let start = rows.get(r).map_or(0, |row| cell(&row[0]) as u64);
                sink.push(&d, r..to, start).unwrap();
                r = to;
            }
            sink.push(&d, r..d.n, cell(&rows[r][0]) as u64).unwrap();
            assert_eq!(sink.rows, d.n as u64);
            sink.finish().unwrap();
            assert!(
                whole == pieces,
                "{format:?}: the pieces differ from the whole"
            );
        }
    }

    #[test]
    fn files_of_consecutive_blocks_join_into_the_whole() {
        let (plan, d, _, rows) = sample();
        let dir = std::env::temp_dir().join(format!("npvrisk-concat-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for format in [DrawsFormat::Csv, DrawsFormat::Parquet] {
            let mut whole = Vec::new();
            write(format, &plan, &d, "t", &mut whole).unwrap();
            // Three parts, the middle one empty.
            let mut parts = Vec::new();
            for (i, (from, to)) in [(0, 1200), (1200, 1200), (1200, d.n)]
                .into_iter()
                .enumerate()
            {
                let path = dir.join(format!("part{i}.{}", format.name()));
                let f = std::fs::File::create(&path).unwrap();
                let mut sink = match format {
                    DrawsFormat::Csv => Sink::csv(&plan, f),
                    _ => Sink::parquet(&plan, "t", f, 500),
                }
                .unwrap();
                let start = rows.get(from).map_or(0, |r| cell(&r[0]) as u64);
                sink.push(&d, from..to, start).unwrap();
                sink.finish().unwrap();
                parts.push(path);
            }
            let (n, joined) = concat(format, &plan, "t", &parts, Vec::new()).unwrap();
            assert_eq!(n, d.n as u64);
            match format {
                DrawsFormat::Csv => assert!(joined == whole, "CSV parts differ from the whole"),
                _ => {
                    let path = dir.join("joined.parquet");
                    std::fs::write(&path, &joined).unwrap();
                    let j = read_parquet(&path).unwrap();
                    // Row groups of 500 in each part: 500, 500, 200 | 500, 500, 300.
                    assert_eq!(j.groups, vec![500, 500, 200, 500, 500, 300]);
                    std::fs::write(&path, &whole).unwrap();
                    let w = read_parquet(&path).unwrap();
                    assert_eq!(j.names, w.names);
                    assert!(j.cols == w.cols, "Parquet parts differ from the whole");
                }
            }
            // A part of another model's draws is refused, naming it.
            let other = dir.join(format!("other.{}", format.name()));
            std::fs::write(&other, "draw,x\n1,2\n").unwrap();
            let e = concat(
                format,
                &plan,
                "t",
                &[parts[0].clone(), other.clone()],
                Vec::new(),
            )
            .unwrap_err();
            assert!(e.contains("other."), "{e}");
        }
        let _ = std::fs::remove_dir_all(&dir);
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
