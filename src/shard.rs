//! Shard files: one shard's share of a run's draws, and the exact merge of shards.
//!
//! A run of B blocks split into N shards gives shard K (0-based) the contiguous blocks
//! `⌊K·B/N⌋ .. ⌊(K+1)·B/N⌋`. Because the inputs of a draw depend only on (seed, stream, draw),
//! a shard computes exactly the rows a single process would, and merging the shards in block
//! order rebuilds the single-process draws bit for bit, whatever order the files are given in.
//!
//! Layout (all integers little-endian):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0 | 8 | magic `NPVRSHRD` |
//! | 8 | 8 | header length H (u64) |
//! | 16 | H | header, UTF-8 JSON ([`ShardHeader`]): format version, npvrisk version, model and distribution files (name, SHA-256, contents), scenario, seed, sampler, draws, block size, shard K of N, blocks `first..end`, kept rows R, column counts |
//! | 16+H | 8 + 8·S | S (u64), then the S skipped draw indices (u64) |
//! | … | 8·R per column | each outcome column (f64), in the engine's column order |
//! | … | R per column | each entity's whole-year delay-to-zero (u8), then each breakeven year (u8) |
//! | … | 8·R per column | each input column (f64) |
//! | end − 32 | 32 | SHA-256 of every byte before it |

use serde::{Deserialize, Serialize};

use crate::engine::{Draws, Plan};

/// Version of the shard layout.
pub const FORMAT_VERSION: u32 = 1;
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
}

impl ShardHeader {
    /// The fields every shard of one run must share (everything but the shard's own part).
    fn identity(&self) -> ShardHeader {
        ShardHeader {
            shard: 0,
            first_block: 0,
            end_block: 0,
            rows: 0,
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
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let bad = || {
        format!(
            "`--shard` = {s:?}: must be K/N with 0 ≤ K < N, e.g. 0/4 for the first of four shards"
        )
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

/// Encode a shard.
pub fn encode(h: &ShardHeader, d: &Draws) -> Vec<u8> {
    let header = serde_json::to_vec(h).expect("header serialises");
    let rows = d.n;
    let mut o = Vec::with_capacity(
        64 + header.len()
            + rows * (8 * (d.outcomes.len() + d.inputs.len()) + 2 * d.breakeven.len()),
    );
    o.extend_from_slice(MAGIC);
    o.extend_from_slice(&(header.len() as u64).to_le_bytes());
    o.extend_from_slice(&header);
    o.extend_from_slice(&(d.skipped.len() as u64).to_le_bytes());
    for s in &d.skipped {
        o.extend_from_slice(&s.to_le_bytes());
    }
    for col in &d.outcomes {
        for v in col {
            o.extend_from_slice(&v.to_le_bytes());
        }
    }
    for col in d.delay_whole.iter().chain(&d.breakeven) {
        o.extend_from_slice(col);
    }
    for col in &d.inputs {
        for v in col {
            o.extend_from_slice(&v.to_le_bytes());
        }
    }
    let sum = sha256(&o);
    o.extend_from_slice(&sum);
    o
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn f64s(&mut self, n: usize) -> Option<Vec<f64>> {
        let raw = self.take(n.checked_mul(8)?)?;
        Some(
            raw.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
        )
    }
}

/// Decode and verify a shard file. `name` is used in error messages.
pub fn decode(name: &str, bytes: &[u8]) -> Result<(ShardHeader, Draws), String> {
    if bytes.len() < 8 + 8 + 32 || &bytes[..8] != MAGIC {
        return Err(format!(
            "`{name}` is not an npvrisk shard file (no `NPVRSHRD` header)"
        ));
    }
    let (body, trailer) = bytes.split_at(bytes.len() - 32);
    if sha256(body) != trailer {
        return Err(format!(
            "`{name}` is truncated or corrupted: its SHA-256 checksum does not match its contents"
        ));
    }
    let corrupt = |what: &str| format!("`{name}` is corrupted: {what}");
    let mut r = Reader { b: body, at: 8 };
    let hlen = usize::try_from(r.u64().ok_or_else(|| corrupt("no header length"))?)
        .map_err(|_| corrupt("header length"))?;
    let h: ShardHeader =
        serde_json::from_slice(r.take(hlen).ok_or_else(|| corrupt("header cut short"))?)
            .map_err(|e| corrupt(&format!("unreadable header: {e}")))?;
    if h.format_version != FORMAT_VERSION {
        return Err(format!(
            "`{name}` has shard format version {}; this npvrisk reads version {FORMAT_VERSION}",
            h.format_version
        ));
    }
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
    if r.at != body.len() {
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
            &id.model.sha256[..12],
            reference.model.file,
            &reference.model.sha256[..12]
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

/// Check that shards come from one run and together hold every block exactly once, and join
/// them in block order. `shards` are (file name, header, draws) in any order.
pub fn merge(
    mut shards: Vec<(String, ShardHeader, Draws)>,
) -> Result<(ShardHeader, Draws), String> {
    let Some((first_name, first, _)) = shards.first() else {
        return Err("no shard files given".into());
    };
    let (first_name, first) = (first_name.clone(), first.clone());
    let reference = first.identity();
    for (name, h, _) in &shards {
        if let Some(what) = identity_mismatch(h, &first) {
            return Err(format!(
                "`{name}` comes from a different run than `{first_name}`: {what}"
            ));
        }
    }
    shards.sort_by_key(|(_, h, _)| (h.first_block, h.end_block));
    let blocks = reference
        .draws
        .div_ceil(reference.block_size.min(reference.draws));
    let mut problems = Vec::new();
    let mut next = 0u64;
    let mut prev_name = String::new();
    for (name, h, _) in &shards {
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
        return Err(format!(
            "the shards do not cover the run's {blocks} blocks exactly once: {}",
            problems.join("; ")
        ));
    }
    let mut it = shards.into_iter();
    let (_, h0, mut all) = it.next().expect("at least one shard");
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

    #[test]
    fn shard_option_is_checked() {
        assert_eq!(parse_shard("2/4"), Ok((2, 4)));
        for bad in ["0/0", "4/4", "a/2", "3", "-1/2"] {
            assert!(parse_shard(bad).is_err(), "{bad}");
        }
    }
}
