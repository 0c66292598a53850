//! Shard files: one shard's share of a run, and the exact merge of shards.
//!
//! A run of B blocks split into N shards gives shard K (0-based) the contiguous blocks
//! `⌊K·B/N⌋ .. ⌊(K+1)·B/N⌋`. Because the inputs of a draw depend only on (seed, stream, draw),
//! a shard computes exactly what a single process would for those blocks.
//!
//! The same container holds three kinds of content (the header's `content`):
//!
//! - `stats`: a shard's pass-1 statistics ([`crate::stream::First`]: the moments of the aligned
//!   subtrees of its draws, threshold counts, whole-year counts, and cells of count/min/max), a few
//!   megabytes whatever the number of draws, then what the sieve of its pass 1 kept whole
//!   ([`crate::stream::SieveFinds`]: the cells near each wanted rank with their values, growing
//!   as the square root of the shard's draws, 18 MB for 10^7 draws of the embedded model; absent
//!   without a sieve, and in files written before shards had sieves). What a sieve keeps does
//!   not depend on the shard's threads (`StreamConfig::sieve_round`), and each cell's values are
//!   written sorted: a shard made again, on any number of threads, is the same file. Merged
//!   exactly in any order.
//! - `pass`: a shard's results of a later pass ([`crate::stream::ColPass`] per column: cells and
//!   collected values), for the grids of the pass plan whose SHA-256 is `grids_sha256`.
//! - `draws`: every kept draw of some blocks (the chunks of a checkpointed run).
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `NPVRSHRD` |
//! | 8 | 8 | header length H (u64) |
//! | 16 | H | header, UTF-8 JSON ([`ShardHeader`]): format version, npvrisk version, content, model and distribution files (name, SHA-256, contents), scenario, seed, sampler, draws, block size, reported percentiles/interval/thresholds, shard K of N, blocks `first..end`, kept rows, column counts, pass number and grids hash |
//! | 16+H | … | the body: for `draws`, S (u64) then the S skipped draw indices (u64), each outcome column (8·R bytes, f64), each entity's whole-year delay-to-zero (R bytes) then each breakeven year (R bytes), each input column (8·R bytes); for `stats`, the encoding of [`crate::stream::First`] then of [`crate::stream::SieveFinds`], for `pass`, the per-column pass results (documented there) |
//! | end − 32 | 32 | SHA-256 of every byte before it |

use serde::{Deserialize, Serialize};

use crate::engine::{Draws, Plan};
use crate::error::Error;

/// Version of the shard layout (3: moments reduced over a tree of draws, not of blocks).
pub const FORMAT_VERSION: u32 = 3;
const MAGIC: &[u8; 8] = b"NPVRSHRD";

/// A file a run was made from, with its contents so that a merge can rebuild the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFile {
    pub file: String,
    pub sha256: String,
    pub contents: String,
}

/// Everything that identifies a run, and which part of it a shard holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardHeader {
    pub format_version: u32,
    pub npvrisk_version: String,
    /// `stats`, `pass` or `draws`.
    pub content: String,
    /// Whether the model is the embedded default (its review shows the published figures).
    pub embedded_model: bool,
    pub model: SourceFile,
    pub distributions: Vec<SourceFile>,
    pub scenario: String,
    pub seed: u64,
    pub sampler: String,
    pub draws: u64,
    pub block_size: u64,
    pub skip_nonfinite: bool,
    /// What the merged summary reports (as `run --percentiles --interval --threshold`).
    pub percentiles: Vec<f64>,
    pub interval: f64,
    pub thresholds: Vec<f64>,
    pub shard: u64,
    pub shards: u64,
    pub first_block: u64,
    pub end_block: u64,
    pub rows: u64,
    pub outcome_columns: u64,
    pub entities: u64,
    pub input_columns: u64,
    /// For `pass` content: the pass (2, 3, …) and the SHA-256 of its plan's grids.
    pub pass: u32,
    pub grids_sha256: String,
}

impl ShardHeader {
    /// The fields every shard of one run must share (everything but the shard's own part).
    fn identity(&self) -> ShardHeader {
        ShardHeader {
            shard: 0,
            first_block: 0,
            end_block: 0,
            rows: 0,
            content: String::new(),
            pass: 0,
            grids_sha256: String::new(),
            ..self.clone()
        }
    }
}

/// The blocks of shard `k` of `n` in a run of `blocks` blocks.
pub fn shard_blocks(k: u64, n: u64, blocks: u64) -> (u64, u64) {
    let at = |i: u64| ((i as u128 * blocks as u128) / n as u128) as u64;
    (at(k), at(k + 1))
}

/// Parse `K/N` (0 ≤ K < N).
pub fn parse_shard(s: &str) -> Result<(u64, u64), Error> {
    let bad = || {
        Error::Input(format!(
            "`--shard` = {s:?}: must be K/N with 0 ≤ K < N, e.g. 0/4 for the first of four shards"
        ))
    };
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u64, u64) = (
        k.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || k >= n {
        return Err(bad());
    }
    Ok((k, n))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// Encode a file: header, body, checksum.
pub fn encode_body(h: &ShardHeader, body: &[u8]) -> Vec<u8> {
    let mut o = head(h);
    o.extend_from_slice(body);
    let sum = sha256(&o);
    o.extend_from_slice(&sum);
    o
}

/// What a file puts before its body: the magic and the header.
fn head(h: &ShardHeader) -> Vec<u8> {
    let header = serde_json::to_vec(h).expect("header serialises");
    let mut o = Vec::with_capacity(16 + header.len());
    o.extend_from_slice(MAGIC);
    o.extend_from_slice(&(header.len() as u64).to_le_bytes());
    o.extend_from_slice(&header);
    o
}

/// Where an encoding goes, part by part.
pub type Out<'a> = dyn FnMut(&[u8]) + 'a;

/// A body handed over part by part: called once, with the function that takes each part in turn.
pub type BodyParts<'a> = dyn Fn(&mut Out) + 'a;

/// Write the file [`encode_body`] encodes, atomically, from the body `body` hands, part by part,
/// to the function it is given: the parts are checksummed and written as they come, so that the
/// body is never held whole (a pass's statistics can be a hundred megabytes).
pub fn write_body_with(
    path: &std::path::Path,
    h: &ShardHeader,
    body: &BodyParts<'_>,
) -> Result<(), Error> {
    use sha2::Digest;
    let head = head(h);
    crate::output::write_atomic_with(path, &mut |f| {
        let mut sum = sha2::Sha256::new();
        sum.update(&head);
        f.write_all(&head)?;
        let mut written = Ok(());
        body(&mut |part| {
            if written.is_ok() {
                sum.update(part);
                written = f.write_all(part);
            }
        });
        written?;
        f.write_all(&sum.finalize())
    })
}

/// Encode some blocks' draws (`content` = `draws`).
pub fn encode(h: &ShardHeader, d: &Draws) -> Vec<u8> {
    let mut o = Vec::with_capacity(
        16 + d.n * (8 * (d.outcomes.len() + d.inputs.len()) + 2 * d.breakeven.len()),
    );
    put_u64(&mut o, d.skipped.len() as u64);
    for s in &d.skipped {
        put_u64(&mut o, *s);
    }
    for col in &d.outcomes {
        put_f64s(&mut o, col);
    }
    for col in d.delay_whole.iter().chain(&d.breakeven) {
        o.extend_from_slice(col);
    }
    for col in &d.inputs {
        put_f64s(&mut o, col);
    }
    let h = ShardHeader {
        content: "draws".into(),
        ..h.clone()
    };
    encode_body(&h, &o)
}

pub fn put_u64(o: &mut Vec<u8>, v: u64) {
    o.extend_from_slice(&v.to_le_bytes());
}

pub fn put_f64s(o: &mut Vec<u8>, v: &[f64]) {
    for x in v {
        o.extend_from_slice(&x.to_le_bytes());
    }
}

/// Reads a body written with [`put_u64`] and [`put_f64s`]; `None` when it is cut short.
pub struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8]) -> Reader<'a> {
        Reader { b, at: 0 }
    }
    /// Whether every byte was read.
    pub fn done(&self) -> bool {
        self.at == self.b.len()
    }
    /// The bytes read so far.
    pub fn position(&self) -> usize {
        self.at
    }
    pub fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn f64(&mut self) -> Option<f64> {
        Some(f64::from_bits(self.u64()?))
    }
    /// A length, checked against the bytes left (each item at least `min_bytes` long).
    pub fn len(&mut self, min_bytes: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(min_bytes)? <= self.b.len() - self.at).then_some(n)
    }
    pub fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        let raw = self.take(n.checked_mul(8)?)?;
        Some(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    }
}

/// The body of a shard file read as it is needed, checksummed as it goes
/// ([`BodyReader::verified`]), so that it is never held whole (a saved sieve can be hundreds of
/// megabytes). Its header is read and checked as [`decode_body`] does when it is opened
/// ([`BodyReader::open`]).
pub struct BodyReader<R> {
    r: R,
    /// Bytes of the body not read yet (the checksum's 32 follow them).
    left: u64,
    sum: sha2::Sha256,
    /// Whether a read failed (the file changed or could not be read).
    failed: bool,
}

/// Largest header [`BodyReader::open`] reads: the run's identity with the text of its model and
/// distribution files, a few hundred kilobytes at most in practice.
pub const MAX_HEADER_BYTES: u64 = 64 << 20;

impl<R: std::io::Read> BodyReader<R> {
    /// Read the header of the shard file `r` (`size` bytes long; `name` names it in errors) and
    /// return it with a reader of the body, whose checksum is checked once it has been read
    /// ([`BodyReader::verified`]), not before.
    pub fn open(name: &str, mut r: R, size: u64) -> Result<(ShardHeader, BodyReader<R>), Error> {
        use sha2::Digest;
        let mut start = [0u8; 16];
        if size < 8 + 8 + 32 || r.read_exact(&mut start).is_err() || &start[..8] != MAGIC {
            return Err(not_a_shard_file(name));
        }
        let corrupt = |what: &str| Error::Input(format!("`{name}` is corrupted: {what}"));
        let hlen = u64::from_le_bytes(start[8..].try_into().unwrap());
        if hlen > size - 16 - 32 {
            return Err(corrupt("header cut short"));
        }
        // Checked before it is read into memory: a damaged length must not ask for the file.
        if hlen > MAX_HEADER_BYTES {
            return Err(corrupt(&format!(
                "a header of {hlen} bytes, more than the {MAX_HEADER_BYTES} one may have"
            )));
        }
        let mut raw = vec![0u8; hlen as usize];
        r.read_exact(&mut raw)
            .map_err(|e| Error::Input(format!("cannot read `{name}`: {e}")))?;
        let h = header_of(name, &raw)?;
        let mut sum = sha2::Sha256::new();
        sum.update(start);
        sum.update(&raw);
        let body = BodyReader {
            r,
            left: size - 16 - hlen - 32,
            sum,
            failed: false,
        };
        Ok((h, body))
    }

    /// Read `buf.len()` bytes of the body into `buf`, into the checksum too.
    fn fill(&mut self, buf: &mut [u8]) -> Option<()> {
        use sha2::Digest;
        if self.failed || (buf.len() as u64) > self.left {
            return None;
        }
        if self.r.read_exact(buf).is_err() {
            self.failed = true;
            return None;
        }
        self.sum.update(&*buf);
        self.left -= buf.len() as u64;
        Some(())
    }

    pub fn u64(&mut self) -> Option<u64> {
        let mut b = [0u8; 8];
        self.fill(&mut b)?;
        Some(u64::from_le_bytes(b))
    }

    /// A length, checked against the bytes left (each item at least `min_bytes` long).
    pub fn len(&mut self, min_bytes: usize) -> Option<usize> {
        let n = usize::try_from(self.u64()?).ok()?;
        (n.checked_mul(min_bytes)? as u64 <= self.left).then_some(n)
    }

    pub fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        let bytes = n.checked_mul(8)?;
        if bytes as u64 > self.left {
            return None;
        }
        let mut v = Vec::with_capacity(n);
        let mut buf = [0u8; 1 << 16];
        let mut at = 0;
        while at < bytes {
            let part = &mut buf[..(bytes - at).min(1 << 16)];
            self.fill(part)?;
            v.extend(
                part.chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap())),
            );
            at += part.len();
        }
        Some(v)
    }

    /// Whether every byte of the body was read.
    pub fn done(&self) -> bool {
        self.left == 0
    }

    /// Whether the body is the one its file's checksum was made from: read to its end (the bytes
    /// left are passed over) and checked.
    pub fn verified(&mut self) -> bool {
        use sha2::Digest;
        let mut buf = [0u8; 1 << 16];
        while self.left > 0 {
            let n = self.left.min(buf.len() as u64) as usize;
            if self.fill(&mut buf[..n]).is_none() {
                return false;
            }
        }
        let mut trailer = [0u8; 32];
        if self.failed || self.r.read_exact(&mut trailer).is_err() {
            return false;
        }
        self.sum.clone().finalize()[..] == trailer
    }

    /// The rest of the body, if the whole is the one its checksum was made from.
    pub fn rest(mut self) -> Option<Vec<u8>> {
        let mut v = vec![0u8; usize::try_from(self.left).ok()?];
        self.fill(&mut v)?;
        self.verified().then_some(v)
    }
}

/// A header for tests' files.
#[cfg(test)]
pub(crate) fn test_header() -> ShardHeader {
    let source = SourceFile {
        file: "m.toml".into(),
        sha256: crate::summary::sha256_hex(b"x = 1"),
        contents: "x = 1".into(),
    };
    ShardHeader {
        format_version: FORMAT_VERSION,
        npvrisk_version: "test".into(),
        content: "stats".into(),
        embedded_model: false,
        model: source.clone(),
        distributions: vec![source],
        scenario: "base".into(),
        seed: 1,
        sampler: "mc".into(),
        draws: 10,
        block_size: 4,
        skip_nonfinite: false,
        percentiles: vec![0.5],
        interval: 0.9,
        thresholds: vec![0.0],
        shard: 0,
        shards: 1,
        first_block: 0,
        end_block: 3,
        rows: 10,
        outcome_columns: 2,
        entities: 1,
        input_columns: 1,
        pass: 0,
        grids_sha256: String::new(),
    }
}

/// A reader of `body`, as a file holding it would give one ([`BodyReader::open`]), for tests.
#[cfg(test)]
pub(crate) fn body_reader(body: &[u8]) -> BodyReader<std::io::Cursor<Vec<u8>>> {
    let bytes = encode_body(&test_header(), body);
    let size = bytes.len() as u64;
    BodyReader::open("test", std::io::Cursor::new(bytes), size)
        .unwrap()
        .1
}

/// The error for a file `name` that does not start as a shard file does (too short for one, or
/// without its magic bytes).
fn not_a_shard_file(name: &str) -> Error {
    Error::Input(format!(
        "`{name}` is not an npvrisk shard file (no `NPVRSHRD` header)"
    ))
}

/// The header `raw` of the file `name`: of this format's version, well formed.
fn header_of(name: &str, raw: &[u8]) -> Result<ShardHeader, Error> {
    let corrupt = |what: &str| Error::Input(format!("`{name}` is corrupted: {what}"));
    let version: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| corrupt(&format!("unreadable header: {e}")))?;
    if version["format_version"] != FORMAT_VERSION {
        return Err(Error::Input(format!(
            "`{name}` has shard format version {}; this npvrisk reads version {FORMAT_VERSION}: make the shards again with this version",
            version["format_version"]
        )));
    }
    let h: ShardHeader =
        serde_json::from_slice(raw).map_err(|e| corrupt(&format!("unreadable header: {e}")))?;
    h.check()
        .map_err(|what| corrupt(&format!("header {what}")))?;
    Ok(h)
}

/// Verify a file's checksum and read its header; returns the header and the body.
pub fn decode_body<'a>(name: &str, bytes: &'a [u8]) -> Result<(ShardHeader, &'a [u8]), Error> {
    if bytes.len() < 8 + 8 + 32 || &bytes[..8] != MAGIC {
        return Err(not_a_shard_file(name));
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 32);
    if sha256(body) != trailer {
        return Err(Error::Input(format!(
            "`{name}` is truncated or corrupted: its SHA-256 checksum does not match its contents"
        )));
    }
    let corrupt = |what: &str| Error::Input(format!("`{name}` is corrupted: {what}"));
    let mut r = Reader { b: body, at: 8 };
    let hlen = usize::try_from(r.u64().ok_or_else(|| corrupt("no header length"))?)
        .map_err(|_| corrupt("header length"))?;
    let raw = r.take(hlen).ok_or_else(|| corrupt("header cut short"))?;
    let h = header_of(name, raw)?;
    Ok((h, &body[r.at..]))
}

/// Most columns of each kind a header may declare (a model has a few hundred at most).
const MAX_COLUMNS: u64 = 1 << 24;

/// Whether `s` is a SHA-256 in lowercase hex.
fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ShardHeader {
    /// Check every field of a header read from a file, whose checksum only says it is the file
    /// that was written, not that a program wrote it: what is wrong, naming the field and value.
    pub fn check(&self) -> Result<(), Error> {
        let bad = |field: &str, value: String, allowed: &str| {
            Err(Error::Input(format!("`{field}` = {value}: {allowed}")))
        };
        const CONTENTS: [&str; 7] = [
            "stats",
            "pass",
            "plan",
            "draws",
            "",
            "streamed run",
            "sieve",
        ];
        if !CONTENTS.contains(&self.content.as_str()) {
            return bad(
                "content",
                format!("{:?}", self.content),
                "must be \"stats\", \"pass\", \"plan\", \"draws\", \"streamed run\" or \"sieve\"",
            );
        }
        let files = std::iter::once(&self.model).chain(&self.distributions);
        for (i, f) in files.enumerate() {
            let field = if i == 0 {
                "model.sha256".to_string()
            } else {
                format!("distributions[{}].sha256", i - 1)
            };
            if !is_sha256_hex(&f.sha256) {
                return bad(
                    &field,
                    format!("{:?}", f.sha256),
                    "must be a SHA-256 (64 lowercase hex digits)",
                );
            }
            if crate::summary::sha256_hex(f.contents.as_bytes()) != f.sha256 {
                return bad(
                    &field,
                    format!("{:?}", f.sha256),
                    "must be the SHA-256 of the file's recorded contents",
                );
            }
        }
        if !["mc", "lhs", "sobol"].contains(&self.sampler.as_str()) {
            return bad(
                "sampler",
                format!("{:?}", self.sampler),
                "must be \"mc\", \"lhs\" or \"sobol\"",
            );
        }
        if self.draws == 0 {
            return bad("draws", "0".into(), "must be at least 1");
        }
        if self.block_size == 0 {
            return bad("block_size", "0".into(), "must be at least 1");
        }
        if self.shards == 0 || self.shard >= self.shards {
            return bad(
                "shard",
                format!("{} of {}", self.shard, self.shards),
                "must be K of N with 0 ≤ K < N",
            );
        }
        let blocks = self.draws.div_ceil(self.block_size);
        if self.first_block > self.end_block || self.end_block > blocks {
            return bad(
                "first_block..end_block",
                format!("{}..{}", self.first_block, self.end_block),
                &format!("must be a range of the run's {blocks} blocks"),
            );
        }
        let most_rows = (self.end_block - self.first_block).saturating_mul(self.block_size);
        if self.rows > most_rows {
            return bad(
                "rows",
                self.rows.to_string(),
                &format!("must be at most {most_rows} (the draws of its blocks)"),
            );
        }
        for (field, v) in [
            ("outcome_columns", self.outcome_columns),
            ("entities", self.entities),
            ("input_columns", self.input_columns),
        ] {
            if v > MAX_COLUMNS {
                return bad(
                    field,
                    v.to_string(),
                    &format!("must be at most {MAX_COLUMNS}"),
                );
            }
        }
        if let Some(p) = self.percentiles.iter().find(|p| !(**p > 0.0 && **p < 1.0)) {
            return bad("percentiles", p.to_string(), "each must lie in (0, 1)");
        }
        if !(self.interval > 0.0 && self.interval < 1.0) {
            return bad("interval", self.interval.to_string(), "must lie in (0, 1)");
        }
        if let Some(t) = self.thresholds.iter().find(|t| !t.is_finite()) {
            return bad("thresholds", t.to_string(), "each must be finite");
        }
        if !(self.grids_sha256.is_empty() || is_sha256_hex(&self.grids_sha256)) {
            return bad(
                "grids_sha256",
                format!("{:?}", self.grids_sha256),
                "must be empty or a SHA-256 (64 lowercase hex digits)",
            );
        }
        Ok(())
    }
}

/// Decode and verify a file of draws (`content` = `draws`). `name` is used in error messages.
pub fn decode(name: &str, bytes: &[u8]) -> Result<(ShardHeader, Draws), Error> {
    let (h, body) = decode_body(name, bytes)?;
    if h.content != "draws" {
        return Err(Error::Input(format!(
            "`{name}` holds {} of a run, not its draws",
            h.content
        )));
    }
    let corrupt = |what: &str| Error::Input(format!("`{name}` is corrupted: {what}"));
    let mut r = Reader::new(body);
    let rows = usize::try_from(h.rows).map_err(|_| corrupt("row count"))?;
    let skipped_n = usize::try_from(r.u64().ok_or_else(|| corrupt("no skipped count"))?)
        .map_err(|_| corrupt("skipped count"))?;
    let mut skipped = Vec::with_capacity(skipped_n.min(1 << 20));
    for _ in 0..skipped_n {
        skipped.push(r.u64().ok_or_else(|| corrupt("skipped draws cut short"))?);
    }
    let mut outcomes = Vec::new();
    for _ in 0..h.outcome_columns {
        outcomes.push(
            r.f64s(rows)
                .ok_or_else(|| corrupt("outcome columns cut short"))?,
        );
    }
    let mut small = Vec::new();
    for _ in 0..2 * h.entities {
        small.push(
            r.take(rows)
                .ok_or_else(|| corrupt("delay and breakeven columns cut short"))?
                .to_vec(),
        );
    }
    let breakeven = small.split_off(h.entities as usize);
    let mut inputs = Vec::new();
    for _ in 0..h.input_columns {
        inputs.push(
            r.f64s(rows)
                .ok_or_else(|| corrupt("input columns cut short"))?,
        );
    }
    if !r.done() {
        return Err(corrupt("bytes left over after the last column"));
    }
    Ok((
        h,
        Draws {
            n: rows,
            outcomes,
            delay_whole: small,
            breakeven,
            inputs,
            skipped,
        },
    ))
}

/// The first 12 characters of a hash, for messages.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// What differs between the runs two shard headers come from, if anything (a shard's own part,
/// its blocks and rows, is not part of a run's identity).
pub fn identity_mismatch(a: &ShardHeader, b: &ShardHeader) -> Option<String> {
    let (id, reference) = (a.identity(), b.identity());
    if id == reference {
        return None;
    }
    let what = if id.model.sha256 != reference.model.sha256 {
        format!(
            "model {} (sha256 {}) against {} (sha256 {})",
            id.model.file,
            short(&id.model.sha256),
            reference.model.file,
            short(&reference.model.sha256)
        )
    } else if id.distributions != reference.distributions {
        "distribution files (names or SHA-256 differ)".to_string()
    } else if id.seed != reference.seed {
        format!("seed {} against {}", id.seed, reference.seed)
    } else if id.sampler != reference.sampler {
        format!("sampler {} against {}", id.sampler, reference.sampler)
    } else if id.draws != reference.draws {
        format!("draws {} against {}", id.draws, reference.draws)
    } else if id.block_size != reference.block_size {
        format!(
            "block size {} against {}",
            id.block_size, reference.block_size
        )
    } else if id.npvrisk_version != reference.npvrisk_version {
        format!(
            "npvrisk version {} against {}",
            id.npvrisk_version, reference.npvrisk_version
        )
    } else if id.scenario != reference.scenario {
        format!("scenario {} against {}", id.scenario, reference.scenario)
    } else if id.percentiles != reference.percentiles
        || id.interval != reference.interval
        || id.thresholds != reference.thresholds
    {
        "reported percentiles, interval or thresholds".to_string()
    } else if id.shards != reference.shards {
        format!(
            "a split into {} shards against {}",
            id.shards, reference.shards
        )
    } else {
        "run settings".to_string()
    };
    Some(what)
}

/// Check that parts (file name, header) come from one run and together hold every block exactly
/// once. Returns the run's number of blocks.
pub fn check_parts(parts: &[(String, &ShardHeader)]) -> Result<u64, Error> {
    let Some((first_name, first)) = parts.first() else {
        return Err(Error::Input("no shard files given".into()));
    };
    for (name, h) in parts {
        if let Some(what) = identity_mismatch(h, first) {
            return Err(Error::Input(format!(
                "`{name}` comes from a different run than `{first_name}`: {what}"
            )));
        }
    }
    let mut sorted: Vec<&(String, &ShardHeader)> = parts.iter().collect();
    sorted.sort_by_key(|(_, h)| (h.first_block, h.end_block));
    let blocks = first.draws.div_ceil(first.block_size.min(first.draws));
    let mut problems = Vec::new();
    let mut next = 0u64;
    let mut prev_name = String::new();
    for (name, h) in sorted {
        if h.first_block > next {
            problems.push(format!(
                "blocks {}..{} are missing (no shard holds them)",
                next, h.first_block
            ));
        } else if h.first_block < next {
            problems.push(format!(
                "blocks {}..{} appear twice: in `{prev_name}` and `{name}`",
                h.first_block,
                next.min(h.end_block)
            ));
        }
        if h.end_block > next {
            next = h.end_block;
            prev_name = name.clone();
        }
    }
    if next < blocks {
        problems.push(format!(
            "blocks {next}..{blocks} are missing (no shard holds them)"
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Input(format!(
            "the shards do not cover the run's {blocks} blocks exactly once: {}",
            problems.join("; ")
        )));
    }
    Ok(blocks)
}

/// Check that parts of draws come from one run and hold every block exactly once, and join them
/// in block order. `parts` are (file name, header, draws) in any order.
pub fn merge(mut parts: Vec<(String, ShardHeader, Draws)>) -> Result<(ShardHeader, Draws), Error> {
    let blocks = check_parts(
        &parts
            .iter()
            .map(|(n, h, _)| (n.clone(), h))
            .collect::<Vec<_>>(),
    )?;
    parts.sort_by_key(|(_, h, _)| (h.first_block, h.end_block));
    let mut it = parts.into_iter();
    let (_, h0, mut all) = it.next().expect("at least one part");
    for (_, _, d) in it {
        all.append(d);
    }
    Ok((
        ShardHeader {
            shard: 0,
            first_block: 0,
            end_block: blocks,
            rows: all.n as u64,
            ..h0
        },
        all,
    ))
}

/// Column counts of a plan, for a shard header.
pub fn columns(plan: &Plan) -> (u64, u64, u64) {
    (
        plan.n_outcomes() as u64,
        plan.entities.len() as u64,
        plan.set.inputs.len() as u64,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_blocks_contiguously_and_completely() {
        for (blocks, n) in [(10u64, 3u64), (7, 7), (3, 5), (1000, 7)] {
            let mut next = 0;
            for k in 0..n {
                let (a, b) = shard_blocks(k, n, blocks);
                assert_eq!(a, next);
                assert!(b >= a);
                next = b;
            }
            assert_eq!(next, blocks);
        }
    }

    /// A file written part by part has the bytes of the whole encoding, whatever the parts
    /// (none, empty ones, one byte, all at once), and reads back.
    #[test]
    fn a_body_written_in_parts_is_the_body_encoded_whole() {
        let h = test_header();
        let body: Vec<u8> = (0..1000u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = std::env::temp_dir().join(format!("npvrisk-shard-{}", std::process::id()));
        let path = dir.join("s.npvshard");
        let splits: [&[usize]; 4] = [&[], &[0, 0, 1], &[999], &[1000]];
        for cuts in splits {
            write_body_with(&path, &h, &|out| {
                let mut at = 0;
                for &c in cuts {
                    out(&body[at..c]);
                    at = c;
                }
                out(&body[at..]);
            })
            .unwrap();
            let bytes = std::fs::read(&path).unwrap();
            assert_eq!(bytes, encode_body(&h, &body), "{cuts:?}");
            let (back, read) = decode_body("s", &bytes).unwrap();
            assert_eq!((back, read), (h.clone(), &body[..]));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A body read from its file as a stream gives the words and values written, in pieces
    /// larger than the reader's buffer too, and is verified once read to its end, whatever was
    /// read of it; its rest only then. A length beyond the bytes left, or a read past the body,
    /// gives nothing; a body with one byte changed reads, but is not verified; a body cut short
    /// is not verified;
    /// a header longer than its file or than a header may be, or a file that is not a shard
    /// file, does not open.
    #[test]
    fn a_body_read_as_a_stream_is_verified_by_its_checksum() {
        let h = test_header();
        let values: Vec<f64> = (0..20_000).map(|i| i as f64 * 0.5 - 7.0).collect();
        let mut body = Vec::new();
        put_u64(&mut body, 3);
        put_u64(&mut body, values.len() as u64);
        put_f64s(&mut body, &values);
        put_u64(&mut body, u64::MAX);
        let dir = std::env::temp_dir().join(format!("npvrisk-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.npvshard");
        let bytes = encode_body(&h, &body);
        std::fs::write(&path, &bytes).unwrap();
        let open = |p: &std::path::Path| {
            let f = std::fs::File::open(p).map_err(|e| Error::Input(e.to_string()))?;
            let size = f.metadata().unwrap().len();
            BodyReader::open("s", std::io::BufReader::new(f), size)
        };
        let (back, mut r) = open(&path).unwrap();
        assert_eq!(back, h);
        assert_eq!(r.u64(), Some(3));
        let n = r.len(8).unwrap();
        assert_eq!(r.f64s(n), Some(values.clone()));
        assert!(!r.done());
        assert_eq!(r.len(8), None, "a length beyond the bytes left");
        assert!(r.done());
        // A length whose items just fill the bytes left reads; one more item does not.
        let mut exact = Vec::new();
        put_u64(&mut exact, 2);
        put_f64s(&mut exact, &[1.0, 2.0]);
        for (n, ok) in [(2u64, true), (3, false)] {
            let mut b = exact.clone();
            b[..8].copy_from_slice(&n.to_le_bytes());
            std::fs::write(&path, encode_body(&h, &b)).unwrap();
            let (_, mut short) = open(&path).unwrap();
            assert_eq!(short.len(8).is_some(), ok, "{n} items");
        }
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(r.u64(), None, "past the body");
        assert!(r.verified());
        // Read in part, or not at all: the rest is checked too.
        let (_, mut part) = open(&path).unwrap();
        assert_eq!(part.u64(), Some(3));
        assert!(part.verified());
        assert!(open(&path).unwrap().1.verified());
        // The rest of a body is given only when the whole is verified.
        let (_, mut rest) = open(&path).unwrap();
        assert_eq!(rest.u64(), Some(3));
        assert_eq!(rest.rest().as_deref(), Some(&body[8..]));
        // One byte changed in the values: they read, but the file is not the one saved.
        let mut damaged = bytes.clone();
        let at = bytes.len() - 32 - 8 - 8 * 1000;
        damaged[at] ^= 4;
        std::fs::write(&path, &damaged).unwrap();
        let (_, mut r) = open(&path).unwrap();
        assert_eq!(r.u64(), Some(3));
        let n = r.len(8).unwrap();
        assert!(r.f64s(n).is_some());
        assert!(!r.verified());
        assert_eq!(open(&path).unwrap().1.rest(), None);
        // Cut short: its checksum is not where it was; a header cut short, or another file,
        // does not open.
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(!open(&path).unwrap().1.verified());
        std::fs::write(&path, &bytes[..40]).unwrap();
        assert!(open(&path).is_err());
        // A header longer than the file, or than a header may be, is not read.
        let hlen = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
        std::fs::write(&path, &bytes[..16 + hlen as usize + 31]).unwrap();
        assert!(open(&path).is_err());
        let mut long = bytes.clone();
        long[8..16].copy_from_slice(&(MAX_HEADER_BYTES + 1).to_le_bytes());
        long.resize(long.len() + (MAX_HEADER_BYTES as usize), 0);
        std::fs::write(&path, &long).unwrap();
        let e = open(&path).err().unwrap().to_string();
        assert!(e.contains("more than the"), "{e}");
        std::fs::write(&path, b"a summary, not a shard file, of more than 48 bytes").unwrap();
        assert!(open(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shard_option_is_checked() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        for bad in ["0/0", "4/4", "a/2", "3", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
