//! Summary statistics in passes over the blocks of a run, exact and in bounded memory.
//!
//! A run's summary needs, for every column (each entity's NPV, PV of benefits, PV of costs,
//! leakage-to-zero and delay-to-zero, each partner's NPV, each input): its mean and standard
//! deviation, counts below fixed thresholds, and a few order statistics (percentiles, the ranks of
//! their standard errors, the minimum and maximum). None of these needs the draws to be kept:
//!
//! - **Moments** (count, mean, sum of squared deviations) are reduced over a fixed binary tree
//!   whose leaves are the draws, sibling nodes combined with Chan's formula. The tree depends
//!   only on the number of draws, so a block, a shard or an MPI rank reduces the aligned
//!   subtrees inside its own draws and a merge completes the rest: the same bits for any block
//!   size and any split into shards, chunks or threads.
//! - **Counts** (values ≤ or < a threshold, whole-year outcomes) are integers, added in any order.
//! - **Order statistics** are found exactly, not estimated. A *pilot* (the draws numbered below
//!   [`PILOT_DRAWS`], the same whatever the split) brackets each wanted rank; pass 1 counts every
//!   value into cells: fine bins inside the brackets, one cell for each gap between them, each cell
//!   keeping its count, minimum and maximum. The cell holding a rank is then either a single value
//!   (resolved), or small enough to be collected whole in the next pass (the draws are regenerated,
//!   since the inputs of draw `i` depend only on the seed and `i`), or subdivided again. Most
//!   ranks are resolved after two passes; a point mass (e.g. NPV ≤ 0 giving leakage 0) is resolved
//!   from its cell's minimum and maximum after one. A run in one process usually saves the second
//!   pass: pass 1 collects its brackets whole when they are small (up to about 10^7 draws), and
//!   otherwise, when it runs every block from block 0 in this process (in one range or, as a
//!   checkpointed run, several; not resumed, not keeping its draws), keeps as it counts them the
//!   values of the bins that may still hold a wanted rank, fewer as the counts grow (the sieve,
//!   `Sieve`). So does a shard or MPI rank over its own blocks: it hands the merge what its sieve
//!   kept whole ([`SieveFinds`]), and the merge takes a rank from the cell holding it when the
//!   parts' values there number the cell's merged count (`Passes::sieved_parts`).
//!
//! The result equals what sorting every column would give, bit for bit, so a summary streamed over
//! 10⁹ draws, merged from shards or computed from draws in memory is the same summary.
//!
//! A pass over regenerated draws runs each block and tallies it at once, each task (one a
//! thread, taking the next run of consecutive blocks not yet taken, runs that shrink to one
//! block) into statistics of its own; the tasks'
//! statistics are appended and their collected values and moments' trees put in block order
//! (`Regenerate::fold_blocks`), so that they are a pass in order's in every bit. When the grids
//! have many cells ([`FOLD_CELLS`]) the tasks share one set of them instead, which each flushes
//! into after each block. A pass over draws in
//! memory and pass 1 of a run that keeps its draws (which must see them in order) take chunks of
//! blocks.
//! Memory: the pilot (≈300 bytes a draw: 2¹⁸ draws, or in a run in one process the 2¹⁶ its
//! grids come from unless they need more, with only the correlated inputs of the rest of the
//! 2¹⁸, `PilotInputs`), the cells (a few MB per column, one set per task only while they are
//! few), one block of draws per thread or one chunk of draws, and at most
//! `collect_budget` collected values (64 MB) in any later pass; pass 1 collects only in runs of
//! up to about 10^7 draws in one process, at most `collect_first_budget` (128 MB there), and
//! keeps a sieve in larger ones (its values peak half-way through the pass, in proportion to
//! √draws: about 55 MB at 10^8 draws of the embedded model and 135 MB at 10^9); a shard keeps
//! one over its blocks (about 35 MB more for a third of 3·10^7 draws, 18 MB of it written).

use std::collections::HashMap;
use std::ops::Range;
use std::sync::OnceLock;

use crate::cast::index_of;
use rayon::prelude::*;

use crate::engine::{Draws, Layout, Measure, Plan, RunError, RunOptions, draws_before, one_zero};
use crate::stats::{OrderStats, SortedAt, prefix_len, ranks, spearman_matrix};
use crate::summary::{
    self, ColumnStats, CorrelationSummary, Metadata, ReviewPoints, Summary, SummaryOptions,
};

/// Draws numbered below this form the pilot on which the achieved rank correlations are measured.
pub const PILOT_DRAWS: u64 = 1 << 18;

/// Draws numbered below this bracket the wanted ranks for pass 1 (a shard computes them itself).
pub const GRID_PILOT_DRAWS: u64 = 1 << 14;

/// The blocks holding the draws numbered below [`PILOT_DRAWS`] (`full`: the draws of a run's
/// achieved correlations) or [`GRID_PILOT_DRAWS`] (a shard's pilot), from block 0, at least one.
/// A run in one process ([`FirstPass::new`], checkpointed or not) runs fewer as its pilot when
/// its grids need fewer.
pub fn pilot_blocks(opts: &RunOptions, full: bool) -> u64 {
    blocks_below(opts, if full { PILOT_DRAWS } else { GRID_PILOT_DRAWS })
}

/// The blocks from block 0 that hold the draws numbered below `limit`, at least one.
fn blocks_below(opts: &RunOptions, limit: u64) -> u64 {
    let size = opts.block_size.min(opts.draws);
    limit.min(opts.draws).div_ceil(size).max(1)
}

pub use crate::summary::SUMMARY_MEASURES;

/// Tuning of the passes. The summary does not depend on it; only time and memory do. (The pilot's
/// size, [`PILOT_DRAWS`], is fixed: the achieved correlations are measured on it.)
#[derive(Debug, Clone, PartialEq)]
pub struct StreamConfig {
    /// Blocks regenerated at a time by pass 1 when the draws are kept (passes otherwise run and
    /// tally block by block, `Regenerate::fold_blocks`).
    pub chunk_blocks: u64,
    /// Bins of a bracket or of a subdivided cell.
    pub bins: u32,
    /// Largest cell collected whole; larger cells are subdivided.
    pub collect_cap: u64,
    /// Most values a later pass collects over all columns: the smallest cells are collected
    /// while they fit, the others are subdivided (one more pass instead of more memory).
    pub collect_budget: u64,
    /// Draws numbered below this (at most [`PILOT_DRAWS`]) bracket the wanted ranks for pass 1.
    /// Every part of a run must use the same grids, so shards, merges and MPI ranks keep
    /// [`GRID_PILOT_DRAWS`]; a run in one process (checkpointed or not: a resumed run runs its
    /// pilot again) gets tighter brackets from more draws: it runs this many as its pilot, and
    /// more only when its grids need the wide pilot's ([`FirstPass::new`]).
    pub grid_pilot: u64,
    /// Draws numbered below this (at most [`PILOT_DRAWS`], and not below `grid_pilot`) bracket the
    /// wanted ranks instead when the brackets from `grid_pilot` would leave a bracket to be
    /// counted into bins in pass 1 (too many of the run's values in it to collect), or would
    /// collect more than `collect_budget` values in all: brackets `√(wide_pilot / grid_pilot)`
    /// times narrower, so that more runs finish in one pass, and in less memory. Equal to
    /// `grid_pilot`: never.
    pub wide_pilot: u64,
    /// Pass 1 collects the values of brackets whose expected counts are at most this (0: never),
    /// instead of counting them into bins, when it can collect them all (`collect_first_budget`):
    /// the ranks are then found without a second pass.
    pub collect_first: u64,
    /// Most values pass 1 is expected to collect over all columns. Pass 1 collects only when
    /// every bracket fits (each within `collect_first`, all within this), so that the run takes
    /// one pass; otherwise it collects none. Larger than `collect_budget`, it trades memory for
    /// a pass in runs of a few million draws, not in the largest, which bin their brackets.
    pub collect_first_budget: u64,
    /// Pass 1 of a run in one process taken from block 0 (in one range or several), not keeping
    /// its draws, or over a shard's or MPI rank's blocks ([`StreamConfig::part`]), keeps the values
    /// of the bins that may hold a wanted rank, those within this many standard deviations of
    /// where it is expected (`Sieve`), when its brackets are binned: the ranks are then found
    /// without a second pass. 0: never. Wider keeps more values (the peak grows
    /// in proportion); narrower more often leaves a rank outside the bins kept, found by a second
    /// pass.
    pub sieve_sigmas: f64,
    /// About the most values the sieve keeps over all columns (not counting the room of their
    /// vectors, and up to what a round brings: `sieve_round`). Where the sieve settles past it,
    /// the column keeping the most gives up its sieve, then the next, until the rest fit: their
    /// bins are dropped and their ranks left to a second pass. So what the sieve keeps stays
    /// near this whatever the wanted ranks (a batch's S-curves want 99 more of the total NPV).
    pub sieve_budget: u64,
    /// Draws in a round of the sieve (whole blocks, at least 8 of them: [`sieve_round`]; the
    /// first rounds of a part are shorter: [`SIEVE_ROUND`]). Its bins narrow and its budget is
    /// checked only between rounds, where every block before is counted and none after, so
    /// that what it keeps, and so a shard's file, is the same in every bit whatever the
    /// threads. Larger keeps more values between narrowings; smaller has the threads wait for
    /// each other more often (a round holds 512 blocks of 4,096 draws: many threads share it).
    pub sieve_round: u64,
}

impl StreamConfig {
    /// The configuration of a run in one process: brackets from the first 2¹⁶ draws of the
    /// pilot (4 times the shards' grid pilot: brackets half as wide), or from the whole 2¹⁸-draw
    /// pilot when those would not all be collected or would collect more than a later pass may
    /// (finding the brackets' ends in 2¹⁸ values costs 4% more instructions at 10^6 draws than
    /// in 2¹⁶, where the narrower brackets save nothing), collected in pass 1 while they hold at
    /// most 2¹⁷ values each (1 MB) and 2²⁴ in all (128 MB), so that runs up to about 10^7 draws
    /// of the embedded model finish in one pass over the draws; when the draws are kept, chunks
    /// of 4 blocks (about 5 MB of draws for the embedded model: 8% less CPU time than 16 blocks
    /// at 2·10^6 draws, the draws still in cache when they are folded); past that, a sieve of
    /// 6 standard deviations (one pass at 10^9 draws, peak 240 MB for the embedded model),
    /// holding about 2²⁵ values at most (256 MB of them; a run of 10^9 draws held 1.5·10⁷ at its
    /// peak).
    pub fn single_process() -> StreamConfig {
        StreamConfig {
            chunk_blocks: 4,
            grid_pilot: 1 << 16,
            wide_pilot: PILOT_DRAWS,
            collect_first: 1 << 17,
            collect_first_budget: 1 << 24,
            sieve_sigmas: 6.0,
            sieve_budget: 1 << 25,
            ..StreamConfig::default()
        }
    }
}

impl StreamConfig {
    /// The configuration of pass 1 over a part of a run (a shard's blocks, an MPI rank's): the
    /// grids of [`StreamConfig::default`], which the merge makes again, with the sieve of a run in
    /// one process (its rounds are both's default) over the part's blocks
    /// ([`Setup::first_pass_sieved`], or [`FirstPass::holding`] for a shard saving its progress).
    pub fn part() -> StreamConfig {
        let one = StreamConfig::single_process();
        StreamConfig {
            sieve_sigmas: one.sieve_sigmas,
            sieve_budget: one.sieve_budget,
            ..StreamConfig::default()
        }
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            chunk_blocks: 64,
            bins: 4096,
            collect_cap: 1 << 20,
            collect_budget: 1 << 23,
            grid_pilot: GRID_PILOT_DRAWS,
            wide_pilot: GRID_PILOT_DRAWS,
            collect_first: 0,
            collect_first_budget: 1 << 23,
            sieve_sigmas: 0.0,
            sieve_budget: u64::MAX,
            sieve_round: SIEVE_ROUND,
        }
    }
}

/// One summarised column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Col {
    /// An engine outcome column.
    Outcome(usize),
    /// PV of benefits − NPV of an entity.
    PvCosts(usize),
    /// max(NPV, 0) / PV of benefits of an entity (0 when NPV ≤ 0).
    Leakage(usize),
    /// An input's first value.
    Input(usize),
}

/// The summarised columns: `SUMMARY_MEASURES` per entity, each partner's NPV, each input, then
/// the local method's columns ([`Layout::n_local`]).
pub fn columns(plan: &Plan) -> Vec<Col> {
    let l = plan.layout();
    let mut c = Vec::new();
    for e in 0..l.entities {
        c.extend([
            Col::Outcome(Layout::entity(e, Measure::Npv)),
            Col::Outcome(Layout::entity(e, Measure::PvBenefits)),
            Col::PvCosts(e),
            Col::Leakage(e),
            Col::Outcome(Layout::entity(e, Measure::DelayToZero)),
        ]);
    }
    c.extend((0..l.partners).map(|p| Col::Outcome(l.partner_npv(p))));
    c.extend((0..plan.set.inputs.len()).map(Col::Input));
    // The local method's measures, in their order (none for a model without outcome-level
    // themes).
    c.extend((l.local_base()..l.n_columns()).map(Col::Outcome));
    c
}

/// The values of column `c` in rows `rows` of `d` (derived columns are written into `buf`).
fn values<'a>(d: &'a Draws, c: Col, rows: Range<usize>, buf: &'a mut Vec<f64>) -> &'a [f64] {
    match c {
        Col::Outcome(j) => &d.outcomes[j][rows],
        Col::Input(i) => &d.inputs[i][rows],
        Col::PvCosts(e) | Col::Leakage(e) => {
            let npv = &d.outcomes[Layout::entity(e, Measure::Npv)][rows.clone()];
            let pvb = &d.outcomes[Layout::entity(e, Measure::PvBenefits)][rows];
            buf.clear();
            // As the engine's columns, no −0: `b − n` is −0 only for b = −0, which the
            // columns do not hold; `n / b` is −0 when it underflows with b < 0.
            if matches!(c, Col::PvCosts(_)) {
                buf.extend(pvb.iter().zip(npv).map(|(b, n)| b - n));
            } else {
                buf.extend(
                    npv.iter()
                        .zip(pvb)
                        .map(|(n, b)| if *n > 0.0 { one_zero(n / b) } else { 0.0 }),
                );
            }
            buf
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Moments over a fixed tree of draws.

/// Count, mean and sum of squared deviations of some draws.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Moments {
    pub n: u64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Of draws `0..v.len()` whose values are `v`: the root of their [`Tree`].
    pub fn of(v: &[f64]) -> Moments {
        let mut t = Tree::default();
        t.push_draws((0, v.len() as u64), v, &[]);
        Tree::root(&t.nodes, v.len() as u64).unwrap_or_default()
    }

    /// Of the draws of a whole node of the tree ([`Tree`]): `v.len()` values, a power of two up
    /// to [`WHOLE_NODE`], reduced pairwise up the node's levels. Siblings of `2^l` draws each
    /// combine with the weights `b.n / n = 1/2` and `a.n · (b.n / n) = 2^(l-1)`, exact powers of
    /// two, so written out level by level this is [`Moments::combine`]'s arithmetic operation for
    /// operation: the same bits as combining the draws one node at a time.
    // Always inlined, so that `tally_first_avx2` compiles it for AVX2.
    #[inline(always)]
    pub fn of_whole_node(v: &[f64]) -> Moments {
        let n = v.len();
        assert!(
            n.is_power_of_two() && n <= WHOLE_NODE,
            "{n} draws in a whole node"
        );
        if n == 1 {
            return Moments {
                n: 1,
                mean: v[0],
                m2: 0.0,
            };
        }
        // Levels 1 and 2 at once, from four draws: at level 1, `(0 + 0) + d·d·(1 · 1/2)` is
        // `d·d·(1/2)` in every bit, and at level 2 the weight `2 · (2/4)` is 1.
        let pair = |a: f64, b: f64| {
            let d = b - a;
            (a + d * 0.5, d * d * 0.5)
        };
        if n == 2 {
            let (mean, m2) = pair(v[0], v[1]);
            return Moments { n: 2, mean, m2 };
        }
        let (mut mean, mut m2) = ([0.0; WHOLE_NODE / 4], [0.0; WHOLE_NODE / 4]);
        for ((m, q), x) in mean.iter_mut().zip(&mut m2).zip(v.chunks_exact(4)) {
            let ((ma, qa), (mb, qb)) = (pair(x[0], x[1]), pair(x[2], x[3]));
            let d = mb - ma;
            *m = ma + d * 0.5;
            *q = qa + qb + d * d;
        }
        // Then level by level, each from the one below, in place (node k of a level is written
        // after nodes 2k and 2k + 1 below it are read), with the weights 2, 4, ….
        let (mut h, mut w) = (n / 4, 2.0);
        while h >= 2 {
            h /= 2;
            for k in 0..h {
                let d = mean[2 * k + 1] - mean[2 * k];
                mean[k] = mean[2 * k] + d * 0.5;
                m2[k] = m2[2 * k] + m2[2 * k + 1] + d * d * w;
            }
            w *= 2.0;
        }
        Moments {
            n: n as u64,
            mean: mean[0],
            m2: m2[0],
        }
    }

    /// Of `n ≥ 1` draws of the one finite value `x` (kept in a node of the tree): what reducing
    /// them gives, bit for bit (a run's values are finite: a draw with a value past
    /// [`crate::engine::MAX_OUTCOME`] or NaN is skipped). Two draws give
    /// `x + (x − x)/2 = x + 0`, which is `x` but for −0 (+0 then), and every combination above
    /// leaves it; one draw is `x` itself.
    pub fn of_constant(x: f64, n: u64) -> Moments {
        Moments {
            n,
            mean: if n == 1 { x } else { x + 0.0 },
            m2: 0.0,
        }
    }

    /// Of the draws of `a` then `b` (Chan, Golub & LeVeque).
    pub fn combine(a: Moments, b: Moments) -> Moments {
        if a.n == 0 {
            return b;
        }
        if b.n == 0 {
            return a;
        }
        let n = a.n + b.n;
        let d = b.mean - a.mean;
        let nf = n as f64;
        Moments {
            n,
            mean: a.mean + d * (b.n as f64 / nf),
            m2: a.m2 + b.m2 + d * d * (a.n as f64 * (b.n as f64 / nf)),
        }
    }

    /// Mean and sample standard deviation (0 for a single draw).
    pub fn mean_sd(&self) -> (f64, f64) {
        let sd = if self.n > 1 {
            (self.m2 / (self.n - 1) as f64).sqrt()
        } else {
            0.0
        };
        (self.mean, sd)
    }
}

/// Most draws [`Moments::of_whole_node`] reduces at once, on the stack; a larger node is pushed
/// to its tree in nodes of this many draws, which combine as they come.
pub const WHOLE_NODE: usize = 256;

/// Moments of consecutive draws, reduced as far as the fixed tree allows: leaf `i` is draw `i`
/// (no draw if it was skipped), and node (level l, index i) covers draws `i·2^l .. (i+1)·2^l`
/// and is the combination of its two children. The tree depends on nothing but the draws, so
/// any split of them into blocks, chunks, threads, shards or MPI ranks reduces to the same bits.
/// Draws are pushed in order; the nodes left are the maximal aligned subtrees of the draws pushed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tree {
    pub nodes: Vec<(u32, u64, Moments)>,
}

impl Tree {
    /// Push the draws `s..e` that follow those pushed: `v` the values of those kept, in order,
    /// and `skipped` (sorted) the numbers of the others. Each maximal aligned node inside
    /// `s..e` is pushed: one without skipped draws reduced at once (in nodes of at most
    /// [`WHOLE_NODE`] draws), one with some as its two halves, down to the skipped
    /// draws' leaves.
    // Always inlined, so that `tally_first_avx2` compiles it for AVX2.
    #[inline(always)]
    pub fn push_draws(&mut self, (s, e): (u64, u64), v: &[f64], skipped: &[u64]) {
        debug_assert_eq!((e - s) as usize, v.len() + skipped.len());
        debug_assert!(skipped.is_sorted() && skipped.iter().all(|i| (s..e).contains(i)));
        self.push_nodes((s, e), 0, skipped, |row, n| {
            Moments::of_whole_node(&v[row..row + n])
        });
    }

    /// [`Tree::push_draws`] of draws whose kept values are all `x`, bit for bit.
    pub fn push_constant(&mut self, (s, e): (u64, u64), x: f64, skipped: &[u64]) {
        self.push_nodes((s, e), 0, skipped, |_, n| Moments::of_constant(x, n as u64));
    }

    /// Push the maximal aligned nodes of draws `s..e`, whose kept values start at row `row`
    /// and whose skipped draws are `skipped`. A node without skipped draws is pushed whole,
    /// `whole(row, n)` giving the moments of the `n` values from row `row`, in nodes of at most
    /// [`WHOLE_NODE`] draws; a node with some is pushed as its two halves, down to the skipped
    /// draws' leaves, which are empty.
    #[inline(always)]
    fn push_nodes(
        &mut self,
        (s, e): (u64, u64),
        mut row: usize,
        skipped: &[u64],
        whole: impl Fn(usize, usize) -> Moments + Copy,
    ) {
        let (mut at, mut sk) = (s, 0);
        let lw = WHOLE_NODE.trailing_zeros();
        while at < e {
            // The largest aligned node at `at` inside `at..e`.
            let l = at.trailing_zeros().min(63 - (e - at).leading_zeros());
            let end = at + (1 << l);
            let k = skipped[sk..].partition_point(|&i| i < end);
            if k > 0 {
                if l == 0 {
                    self.push_node((0, at, Moments::default()));
                } else {
                    let mid = at + (1 << (l - 1));
                    let kl = skipped[sk..sk + k].partition_point(|&i| i < mid);
                    let nl = (mid - at) as usize - kl;
                    self.push_split((at, mid), row, &skipped[sk..sk + kl], whole);
                    self.push_split((mid, end), row + nl, &skipped[sk + kl..sk + k], whole);
                }
                row += (end - at) as usize - k;
                sk += k;
            } else if l <= lw {
                let n = 1 << l;
                self.push_node((l, at >> l, whole(row, n)));
                row += n;
            } else {
                for j in (at >> lw)..(end >> lw) {
                    self.push_node((lw, j, whole(row, WHOLE_NODE)));
                    row += WHOLE_NODE;
                }
            }
            at = end;
        }
    }

    /// [`Tree::push_nodes`] of an aligned node's half, out of line: only a node with skipped
    /// draws comes here.
    #[inline(never)]
    fn push_split(
        &mut self,
        (s, e): (u64, u64),
        row: usize,
        skipped: &[u64],
        whole: impl Fn(usize, usize) -> Moments + Copy,
    ) {
        self.push_nodes((s, e), row, skipped, whole);
    }

    /// Push the node of an aligned subtree whose draws come right after those pushed, combined
    /// with the nodes before as pushing its draws one by one would have: an aligned subtree's
    /// draws never combine with draws before it until all of them are in. Pushed out of that
    /// order, a node combines only with its sibling pushed just before it, into their parent:
    /// nodes pushed in any order never make a node one pass would not.
    fn push_node(&mut self, node: (u32, u64, Moments)) {
        self.nodes.push(node);
        while self.nodes.len() >= 2 {
            let (lb, ib, mb) = self.nodes[self.nodes.len() - 1];
            let (la, ia, ma) = self.nodes[self.nodes.len() - 2];
            if la != lb || ia % 2 != 0 || ib != ia + 1 {
                break;
            }
            self.nodes.truncate(self.nodes.len() - 2);
            self.nodes.push((la + 1, ia / 2, Moments::combine(ma, mb)));
        }
    }

    /// The moments of draws `0..draws`, from the nodes of trees that together cover them (in
    /// any order). `None` when a draw is missing.
    pub fn root<'a>(
        nodes: impl IntoIterator<Item = &'a (u32, u64, Moments)>,
        draws: u64,
    ) -> Option<Moments> {
        let map: HashMap<(u32, u64), Moments> =
            nodes.into_iter().map(|(l, i, m)| ((*l, *i), *m)).collect();
        fn value(
            map: &HashMap<(u32, u64), Moments>,
            l: u32,
            i: u64,
            draws: u64,
        ) -> Option<Moments> {
            if let Some(m) = map.get(&(l, i)) {
                return Some(*m);
            }
            if l == 0 {
                return None;
            }
            let left = value(map, l - 1, 2 * i, draws)?;
            if ((2 * i + 1) << (l - 1)) >= draws {
                return Some(left);
            }
            Some(Moments::combine(left, value(map, l - 1, 2 * i + 1, draws)?))
        }
        let top = 64 - (draws.max(1) - 1).leading_zeros();
        value(&map, top, 0, draws)
    }
}

// ---------------------------------------------------------------------------------------------
// Cells.

/// A closed value range `[lo, hi]` either split into `bins` equal bins or (`bins` = 0) whose
/// values are collected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub lo: f64,
    pub hi: f64,
    pub bins: u32,
    scale: f64,
}

impl Region {
    pub fn new(lo: f64, hi: f64, bins: u32) -> Region {
        let w = hi - lo;
        let scale = if bins > 0 && w > 0.0 && w.is_finite() {
            bins as f64 / w
        } else {
            0.0
        };
        Region {
            lo,
            hi,
            bins,
            scale,
        }
    }

    /// Bin of `v` in `[lo, hi]`: non-decreasing in `v`.
    fn bin(&self, v: f64) -> usize {
        // `v ≥ lo`, so the product is not negative.
        index_of((v - self.lo) * self.scale).min(self.bins as usize - 1)
    }
}

/// Count, minimum and maximum of the values in a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    pub n: u64,
    pub min: f64,
    pub max: f64,
}

impl Default for Cell {
    fn default() -> Self {
        Cell {
            n: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Cell {
    /// Whether `n` values whose smallest is `lo` and largest `hi` are all of this cell's: as
    /// many, with its bounds bit for bit.
    fn is_all_of(&self, n: u64, lo: f64, hi: f64) -> bool {
        n == self.n && lo.to_bits() == self.min.to_bits() && hi.to_bits() == self.max.to_bits()
    }

    /// Whether the values `v` (in any order, at least one) are all of this cell's
    /// ([`Cell::is_all_of`]).
    fn holds_all_of(&self, v: &[f64]) -> bool {
        let lo = v.iter().copied().min_by(f64::total_cmp);
        let hi = v.iter().copied().max_by(f64::total_cmp);
        matches!((lo, hi), (Some(lo), Some(hi)) if self.is_all_of(v.len() as u64, lo, hi))
    }

    /// Count `v` in. The minimum and maximum are selects (one instruction each) rather than
    /// `f64::min`/`max`, whose NaN handling costs four more: both keep the old bound for a NaN
    /// `v`, which the engine's draws never hold anyway.
    #[inline]
    fn add(&mut self, v: f64) {
        count_in(&mut self.n, &mut self.min, &mut self.max, v);
    }

    /// As `n ≥ 1` calls of `add(v)`: the minimum and maximum of a value with itself again are
    /// what they were after the first.
    fn add_repeated(&mut self, v: f64, n: u64) {
        debug_assert!(n > 0);
        self.n += n;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    fn merge(&mut self, o: &Cell) {
        self.n += o.n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
    }
}

/// [`Cell::add`] on a cell's fields wherever they are kept. Of equal values (±0), the bounds keep
/// the first.
#[inline(always)]
fn count_in(n: &mut u64, min: &mut f64, max: &mut f64, v: f64) {
    *n += 1;
    *min = if v < *min { v } else { *min };
    *max = if v > *max { v } else { *max };
}

/// Which brackets a pass collects, given each column's bracket sizes (expected or counted
/// values): those of at most `cap` values, smallest first (ties in column, then bracket order),
/// while the pass's total stays within `budget`; the rest are subdivided.
fn within_budget(sizes: &[Vec<f64>], cap: f64, budget: f64) -> Vec<Vec<bool>> {
    let mut order: Vec<(f64, usize, usize)> = sizes
        .iter()
        .enumerate()
        .flat_map(|(c, col)| col.iter().enumerate().map(move |(j, &n)| (n, c, j)))
        .filter(|(n, _, _)| *n <= cap)
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut collect: Vec<Vec<bool>> = sizes.iter().map(|col| vec![false; col.len()]).collect();
    let mut total = 0.0;
    for (n, c, j) in order {
        if total + n > budget {
            break;
        }
        total += n;
        collect[c][j] = true;
    }
    collect
}

/// Values [`ColPass::add`] places together.
const PLACE_CHUNK: usize = 256;

/// Most regions a column's grid has for [`ColPass::add`]'s fast placement (more are placed one
/// value at a time).
const FAST_REGIONS: usize = 16;

/// Disjoint regions in increasing order; cells are, in value order: the gap before region 0,
/// region 0's bins, the gap before region 1, …, the gap after the last region. Two grids are
/// equal when their regions are: the rest is derived from them.
#[derive(Debug, Clone)]
pub struct Grid {
    regions: Vec<Region>,
    /// Cell index of each region's first bin.
    starts: Vec<usize>,
    /// Each region's upper end, contiguous for [`Grid::region_of`].
    his: Vec<f64>,
    /// Cell index of each gap: before region `i`, then after the last.
    gaps: Vec<usize>,
    /// Each region's lower end, then NaN (no value is inside a region past the last).
    los: Vec<f64>,
    /// With up to 8 regions, their upper ends padded with +∞ (which no value is above), for
    /// [`ColPass::add`]'s count of each value's region over all of them at once.
    his8: Option<[f64; 8]>,
    cells: usize,
}

enum Place {
    Cell(usize),
    Collect(usize),
}

impl PartialEq for Grid {
    fn eq(&self, o: &Grid) -> bool {
        self.regions == o.regions
    }
}

impl Grid {
    pub fn new(regions: Vec<Region>) -> Grid {
        let mut starts = Vec::with_capacity(regions.len());
        let mut at = 0;
        for r in &regions {
            at += 1;
            starts.push(at);
            at += r.bins as usize;
        }
        let mut gaps: Vec<usize> = starts.iter().map(|s| s - 1).collect();
        gaps.push(at);
        let his: Vec<f64> = regions.iter().map(|r| r.hi).collect();
        let his8 = (his.len() <= 8).then(|| {
            let mut padded = [f64::INFINITY; 8];
            padded[..his.len()].copy_from_slice(&his);
            padded
        });
        Grid {
            his8,
            his,
            los: regions.iter().map(|r| r.lo).chain([f64::NAN]).collect(),
            regions,
            starts,
            gaps,
            cells: at + 1,
        }
    }

    /// The regions, in increasing order.
    pub fn regions(&self) -> &[Region] {
        &self.regions
    }

    /// Cell index of the gap before region `i` (`i` = number of regions: the last gap).
    fn gap(&self, i: usize) -> usize {
        self.gaps[i]
    }

    /// Index of the first region whose upper end is not below `v` (the number of regions when
    /// none is): a count over the few regions of a column, without branches, rather than a
    /// binary search whose branches the random values defeat.
    fn region_of(&self, v: f64) -> usize {
        prefix_len(&self.his, |hi| hi < v)
    }

    /// Where a value goes: the cell or collection of the region it is inside, else the gap
    /// before the first region above it.
    fn place(&self, v: f64) -> Place {
        self.inside(v)
            .map_or_else(|gap| Place::Cell(self.gap(gap)), |i| self.place_in(i, v))
    }

    /// The region `v` is inside, else (`Err`) the index of the gap before the first region above
    /// it.
    #[inline]
    fn inside(&self, v: f64) -> Result<usize, usize> {
        let i = self.region_of(v);
        if self.is_inside(i, v) { Ok(i) } else { Err(i) }
    }

    /// Whether `v`, whose region is `i` (by [`Grid::region_of`], or pass 1's count over `his`, the
    /// same count), is inside that region: not below its lower end (`los` past the last region is
    /// NaN, so never inside there).
    #[inline(always)]
    fn is_inside(&self, i: usize, v: f64) -> bool {
        v >= self.los[i]
    }

    /// Where a value inside region `i` goes: the region's collection when it is collected (has
    /// no bins), else its bin's cell.
    #[inline]
    fn place_in(&self, i: usize, v: f64) -> Place {
        let r = &self.regions[i];
        if r.bins == 0 {
            Place::Collect(i)
        } else {
            Place::Cell(self.starts[i] + r.bin(v))
        }
    }
}

/// What one pass gathers for one column: its cells and the values of its collected regions.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColPass {
    pub cells: Vec<Cell>,
    pub collected: Vec<Vec<f64>>,
    /// Set when the cells are kept elsewhere, shared by the tasks of a pass ([`SharedCells`]):
    /// what would go into `cells` (which is then empty) waits here until it is flushed there.
    deferred: Option<Deferred>,
}

/// A cell's index as [`Deferred`] keeps it: a grid's cells are held in memory, far fewer than
/// 2^32 of them.
fn cell_index(i: usize) -> u32 {
    debug_assert!(u32::try_from(i).is_ok());
    i as u32
}

/// The cells of a pass over regenerated draws, one set for all its tasks
/// (`Regenerate::fold_blocks`), when the grids have more than [`FOLD_CELLS`] cells: each task's
/// [`ColPass`] then has none of its own ([`ColPass::without_cells`]) and flushes what it counted
/// into these after each block. A cell's count, minimum and maximum do not depend on the order
/// its values come in (the columns hold no NaN and no −0: `one_zero`), so the cells are the
/// same, in every bit, whatever the tasks, threads and the moments of their flushes. The cells'
/// memory no longer grows with the threads; each task still keeps its flush buffers (16 bytes a
/// value counted into a cell in a block) and its collected values.
struct SharedCells(Vec<std::sync::Mutex<Vec<Cell>>>);

impl SharedCells {
    /// Empty cells of `grids`, when they have more than `fold_cells` in all; `None` otherwise
    /// (each task then keeps cells of its own).
    fn over(grids: &[Grid], fold_cells: usize) -> Option<SharedCells> {
        let cells: usize = grids.iter().map(|g| g.cells).sum();
        (cells > fold_cells).then(|| {
            SharedCells(
                grids
                    .iter()
                    .map(|g| std::sync::Mutex::new(vec![Cell::default(); g.cells]))
                    .collect(),
            )
        })
    }

    /// A task's empty statistics of a column on grid `g`: its own cells, or none when shared.
    fn empty(shared: Option<&SharedCells>, g: &Grid) -> ColPass {
        match shared {
            Some(_) => ColPass::without_cells(g),
            None => ColPass::new(g),
        }
    }

    /// Flush what the passes of the columns (in order) have counted into the shared cells,
    /// through `sieve` when pass 1 has one.
    fn flush<'a>(&self, passes: impl Iterator<Item = &'a mut ColPass>, sieve: Option<&Sieve>) {
        for (c, (cells, p)) in self.0.iter().zip(passes).enumerate() {
            // A poisoned lock means a task panicked; the panic reaches the caller anyway.
            let mut cells = cells.lock().unwrap_or_else(|e| e.into_inner());
            Sieve::flush_through(sieve, c, &mut cells, p);
        }
    }

    /// Give the passes of the columns (the pass's result, in order) the shared cells, with what
    /// they have counted since their last flush (through `sieve` when pass 1 has one).
    fn into_passes<'a>(self, passes: impl Iterator<Item = &'a mut ColPass>, sieve: Option<&Sieve>) {
        for (c, (cells, p)) in self.0.into_iter().zip(passes).enumerate() {
            let mut cells = cells.into_inner().unwrap_or_else(|e| e.into_inner());
            Sieve::flush_through(sieve, c, &mut cells, p);
            p.cells = cells;
            p.deferred = None;
        }
    }
}

/// What a [`ColPass`] without cells of its own has counted since its last flush: values for
/// cells and whole cells (the gaps' tallies) to merge, each with its cell's index.
#[derive(Debug, Clone, PartialEq, Default)]
struct Deferred {
    values: Vec<(u32, f64)>,
    cells: Vec<(u32, Cell)>,
}

impl ColPass {
    /// Nothing counted yet, on grid `g`.
    pub fn new(g: &Grid) -> ColPass {
        ColPass {
            cells: vec![Cell::default(); g.cells],
            collected: vec![Vec::new(); g.regions.len()],
            deferred: None,
        }
    }

    /// Nothing counted yet, on grid `g`, with no cells of its own: what it counts into cells
    /// waits to be flushed into cells kept elsewhere ([`ColPass::flush`]). Its collected values
    /// are its own.
    fn without_cells(g: &Grid) -> ColPass {
        ColPass {
            cells: Vec::new(),
            collected: vec![Vec::new(); g.regions.len()],
            deferred: Some(Deferred::default()),
        }
    }

    /// Count what waits to be counted into `cells` (the grid's cells, kept elsewhere), in the
    /// order it came; nothing waits afterwards.
    fn flush(&mut self, cells: &mut [Cell]) {
        if let Some(d) = &mut self.deferred {
            for &(i, v) in &d.values {
                cells[i as usize].add(v);
            }
            for (i, c) in &d.cells {
                cells[*i as usize].merge(c);
            }
            d.values.clear();
            d.cells.clear();
        }
    }

    /// Merge cell `c` into cell `i`, here or, without cells of its own, later.
    #[inline]
    fn merge_cell(&mut self, i: usize, c: Cell) {
        match &mut self.deferred {
            None => self.cells[i].merge(&c),
            Some(d) => d.cells.push((cell_index(i), c)),
        }
    }

    /// Add values to the cells (gaps included: pass 1).
    // Always inlined, so that `tally_first_avx2` compiles it for AVX2.
    #[inline(always)]
    fn add(&mut self, g: &Grid, vals: &[f64]) {
        let r = g.regions.len();
        if r > FAST_REGIONS {
            for &v in vals {
                self.put(g.place(v), v);
            }
            return;
        }
        // The values' regions are found a chunk at a time, region by region over the chunk's
        // values: a loop the compiler vectorises, where one value at a time is a chain of
        // comparisons per value. Then each value goes to its cell or its collection.
        let mut regions = [0u64; PLACE_CHUNK];
        // The gaps' cells, and one more that the values inside a region update instead, so
        // that placing a value in a gap takes no branch (a value is inside a region about one
        // time in ten, at random). The values inside are then placed one by one. The counts,
        // minima and maxima are kept apart: in an array of cells, rustc 1.95 compiled a cell's
        // minimum and maximum for AVX2 into one masked store (`vmaskmovpd`), which profiling
        // showed as pass 1's hottest instruction.
        const GAP_CELLS: usize = FAST_REGIONS + 2;
        let mut gap_n = [0u64; GAP_CELLS];
        let mut gap_min = [f64::INFINITY; GAP_CELLS];
        let mut gap_max = [f64::NEG_INFINITY; GAP_CELLS];
        let mut inside = [0u16; PLACE_CHUNK];
        for chunk in vals.chunks(PLACE_CHUNK) {
            let regions = &mut regions[..chunk.len()];
            // Up to 8 regions, each value's count over all their upper ends at once (the ends
            // padded with +∞, which no value is above): the count stays in a register.
            if let Some(his) = &g.his8 {
                for (i, &v) in regions.iter_mut().zip(chunk) {
                    *i = his.iter().map(|&hi| u64::from(hi < v)).sum();
                }
            } else {
                regions.fill(0);
                for &hi in &g.his {
                    for (i, &v) in regions.iter_mut().zip(chunk) {
                        *i += u64::from(hi < v);
                    }
                }
            }
            let mut n_inside = 0;
            for (k, (&i, &v)) in regions.iter().zip(chunk).enumerate() {
                let i = i as usize;
                // Region `i` is the first whose upper end is not below `v`.
                let is_inside = g.is_inside(i, v);
                inside[n_inside] = k as u16;
                n_inside += usize::from(is_inside);
                // Asks for a select (`cmov`) rather than a branch, which would be mispredicted
                // about one value in ten.
                let c = std::hint::select_unpredictable(is_inside, FAST_REGIONS + 1, i);
                count_in(&mut gap_n[c], &mut gap_min[c], &mut gap_max[c], v);
            }
            for &k in &inside[..n_inside] {
                let (i, v) = (regions[usize::from(k)] as usize, chunk[usize::from(k)]);
                self.put(g.place_in(i, v), v);
            }
        }
        for i in 0..=r {
            let c = Cell {
                n: gap_n[i],
                min: gap_min[i],
                max: gap_max[i],
            };
            self.merge_cell(g.gap(i), c);
        }
    }

    /// Count `v` where `p` says.
    #[inline]
    fn put(&mut self, p: Place, v: f64) {
        match (p, &mut self.deferred) {
            (Place::Cell(i), None) => self.cells[i].add(v),
            (Place::Cell(i), Some(d)) => d.values.push((cell_index(i), v)),
            (Place::Collect(r), _) => self.collected[r].push(v),
        }
    }

    /// As `add` on `n ≥ 1` copies of `v`: one placement.
    fn add_repeated(&mut self, g: &Grid, v: f64, n: u64) {
        match g.place(v) {
            Place::Cell(i) => {
                let mut c = Cell::default();
                c.add_repeated(v, n);
                self.merge_cell(i, c);
            }
            Place::Collect(r) => self.collected[r].extend(std::iter::repeat_n(v, n as usize)),
        }
    }

    /// Add the values that fall inside the regions (later passes: the gaps are not needed).
    fn add_inside(&mut self, g: &Grid, vals: &[f64]) {
        let (Some(first), Some(last)) = (g.regions.first(), g.regions.last()) else {
            return;
        };
        let (lo, hi) = (first.lo, last.hi);
        for &v in vals {
            if v < lo || v > hi {
                continue;
            }
            if let Ok(i) = g.inside(v) {
                self.put(g.place_in(i, v), v);
            }
        }
    }

    pub fn merge(&mut self, mut o: ColPass) {
        for (a, b) in self.cells.iter_mut().zip(&o.cells) {
            a.merge(b);
        }
        for (a, mut b) in self
            .collected
            .iter_mut()
            .zip(std::mem::take(&mut o.collected))
        {
            a.append(&mut b);
        }
        // What waits in `o` waits here too, or is counted here when this pass has its cells;
        // `o`'s own cells wait here when this pass has none.
        match (&mut self.deferred, o.deferred.take()) {
            (None, None) => {}
            (Some(a), None) => a.cells.extend(
                o.cells
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| c.n > 0)
                    .map(|(i, c)| (cell_index(i), *c)),
            ),
            (Some(a), Some(mut b)) => {
                a.values.append(&mut b.values);
                a.cells.append(&mut b.cells);
            }
            (None, Some(b)) => {
                o.deferred = Some(b);
                o.flush(&mut self.cells);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sieve: pass 1 keeps the values of the bins near each wanted rank.

/// Pass 1's values of the bins that may hold a wanted rank, kept as they are counted, so that a
/// run whose brackets are binned (too many values to collect whole: a run in one process of more
/// than about 10^7 draws) usually finds its order statistics without a second pass.
///
/// Every value counted into a bin of a binned bracket is kept at first. As the sieve's own counts
/// of the cells grow (over every range of the pass: each range's shared cells start empty), the
/// bins that may hold a wanted rank narrow, where it settles ([`SIEVE_ROUND`], so that what
/// it keeps does not depend on the threads): once `m` of the run's `N` draws are counted there,
/// the number of them below the value of rank `r` is hypergeometric (for exchangeable draws, as
/// plain Monte Carlo's are, they are a random `m` of the `N`, in whatever order they came), with
/// mean `q·m` and variance `m·q(1 − q)(N − m)/(N − 1)`, `q = r/N`. The bins within `sigmas`
/// standard deviations of it (and Bernstein's `sigmas²/3` more, for the skewed counts near either
/// end) stay; the others are dropped with their values, and a dropped bin is never kept again.
/// (Quasi-random draws are more even than that: their windows are wider than they need be.) The memory peaks about half-way through,
/// at about `sigmas·√(q(1 − q)·N)` values a wanted rank (nearby ranks share theirs).
///
/// The summary does not depend on it. A rank is taken from the sieve only when the bin holding it
/// (in pass 1's merged cells) was kept throughout, which the number of its kept values, equal to
/// the cell's count, confirms; any other rank is found by a later pass, as without the sieve. The
/// kept values come in any order and only their order statistics are read.
pub(crate) struct Sieve {
    cols: Vec<std::sync::Mutex<SieveCol>>,
    /// The run's draws and the width of the bins' windows, in standard deviations.
    draws: u64,
    sigmas: f64,
    /// The most values kept over all columns ([`StreamConfig::sieve_budget`]).
    budget: u64,
    /// The draws of a round ([`StreamConfig::sieve_round`]), and the first block of the part
    /// of the run whose pass 1 it sees, from which its rounds are counted ([`SIEVE_ROUND`]).
    round: u64,
    begin: u64,
}

/// The sieve of one column.
struct SieveCol {
    grid: Grid,
    /// The wanted ranks, increasing.
    ranks: Vec<u64>,
    /// Per cell: the region whose kept values hold the cell's, or [`DROPPED`] (a gap, a region
    /// of one value, whose count, minimum and maximum say everything, or a dropped bin).
    slot: Vec<u32>,
    /// Per region: the kept values of its bins.
    kept: Vec<Vec<f64>>,
    /// Per cell: the values counted into it so far (through this sieve, in every range of the
    /// pass: the shared cells of one range start empty).
    counts: Vec<u64>,
    /// Draws counted so far, and how many before the bins narrow again.
    seen: u64,
    next: u64,
}

/// A cell whose values are not kept.
const DROPPED: u32 = u32::MAX;

/// The bins narrow at the first round's end (below) where the draws counted have reached this,
/// then at the first where they have grown by [`SIEVE_GROWTH`]: the values kept between two
/// narrowings add a tenth (and a round's) to the peak, and the narrowings (a walk over a
/// column's cells and kept values, about 90 of them at 10^9 draws) cost little beside the pass.
const SIEVE_FIRST: u64 = 1 << 12;
const SIEVE_GROWTH: f64 = 1.1;

/// The draws of a round of the sieve ([`StreamConfig::sieve_round`]). It settles
/// (`Sieve::settle`: narrows, checks its budget) where a pass reaches the end of a round,
/// every block before it counted and none after: a pass with a sieve runs its blocks in rounds,
/// the threads sharing each round. The rounds of a part of a run (the whole run, a shard's or an
/// MPI rank's blocks) end at its first block plus 8, 16, 32, ... blocks while those are fewer
/// than [`sieve_round`] blocks (in blocks of 4,096 draws: 512), then at each multiple of those,
/// and at the run's end: the same blocks however a checkpointed pass is cut into ranges, and
/// whether its first blocks come from the pilot (offered) or are run again. Within a round the
/// sieve keeps what comes.
pub const SIEVE_ROUND: u64 = 1 << 21;

/// The blocks of a round of `round` draws in blocks of `size` draws: at least 8, so that large
/// blocks still give every thread one.
pub fn sieve_round(round: u64, size: u64) -> u64 {
    (round / size.max(1)).max(8)
}

impl Sieve {
    /// A sieve for pass 1 on `grids` over a run of `draws` draws wanting `ranks` (per column), or
    /// none when pass 1 counts no bracket into bins (nothing for a later pass to find).
    pub(crate) fn new(
        grids: &[Grid],
        ranks: &[Vec<u64>],
        draws: u64,
        sigmas: f64,
        budget: u64,
    ) -> Option<Sieve> {
        let binned = grids.iter().any(|g| g.regions.iter().any(|r| r.bins > 1));
        (binned && sigmas > 0.0).then(|| Sieve {
            cols: grids
                .iter()
                .zip(ranks)
                .map(|(g, r)| {
                    let mut slot = vec![DROPPED; g.cells];
                    for (k, reg) in g.regions.iter().enumerate() {
                        if reg.bins > 1 {
                            let s = g.starts[k];
                            slot[s..s + reg.bins as usize].fill(k as u32);
                        }
                    }
                    std::sync::Mutex::new(SieveCol {
                        grid: g.clone(),
                        ranks: r.clone(),
                        slot,
                        kept: vec![Vec::new(); g.regions.len()],
                        counts: vec![0; g.cells],
                        seen: 0,
                        next: SIEVE_FIRST,
                    })
                })
                .collect(),
            draws,
            sigmas,
            budget,
            round: SIEVE_ROUND,
            begin: 0,
        })
    }

    /// With rounds of `round` draws ([`StreamConfig::sieve_round`]), counted from block
    /// `begin`, the first of the part of the run it sees.
    pub(crate) fn with_rounds(mut self, round: u64, begin: u64) -> Sieve {
        self.round = round;
        self.begin = begin;
        self
    }

    /// The block at which the round holding block `a` (at or after its first block) ends, in a
    /// run of `blocks` blocks of `size` draws ([`SIEVE_ROUND`]).
    fn round_end(&self, a: u64, size: u64, blocks: u64) -> u64 {
        let whole = sieve_round(self.round, size);
        let r = a.saturating_sub(self.begin);
        let doubled = (r + 1).next_power_of_two().max(8);
        let next = if doubled < whole {
            doubled
        } else {
            (r / whole + 1).saturating_mul(whole)
        };
        self.begin.saturating_add(next).min(blocks)
    }

    /// Take blocks `first..end` of a run of `blocks` blocks of `size` draws in rounds: `work(a, b)`
    /// on each stretch `a..b` up to a round's end or `end`, the sieve settling after a stretch
    /// that ended its round (and not after one cut short by `end`: the next range goes on with
    /// that round).
    fn by_rounds<E>(
        &self,
        (first, end): (u64, u64),
        size: u64,
        blocks: u64,
        mut work: impl FnMut(u64, u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut a = first;
        while a < end {
            let round_end = self.round_end(a, size, blocks);
            let b = round_end.min(end);
            work(a, b)?;
            if b == round_end {
                self.settle();
            }
            a = b;
        }
        Ok(())
    }

    /// The values kept, over all columns.
    #[cfg(test)]
    fn held(&self) -> u64 {
        (0..self.cols.len()).map(|c| self.col(c).held()).sum()
    }

    fn col(&self, c: usize) -> std::sync::MutexGuard<'_, SieveCol> {
        // A poisoned lock means a task panicked; the panic reaches the caller anyway.
        self.cols[c].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Count, and keep those in the bins kept, column `c`'s values `v`: values counted into
    /// cells that are not shared (a pilot's, summarised from memory), offered before any shared
    /// ones. As when the same values are flushed ([`SieveCol::take`]), so that a part's sieve
    /// is the same whether its first blocks come from the pilot or are run again.
    fn offer(&self, c: usize, v: &[f64]) {
        let mut s = self.col(c);
        for &x in v {
            // A gap's cell is counted, never kept; a collected region is neither (there is none
            // when binned), as a flush does.
            if let Place::Cell(cell) = s.grid.place(x) {
                s.seen += 1;
                s.counts[cell] += 1;
                s.keep(cell, x);
            }
        }
    }

    /// Narrow the bins of the columns whose counts have grown enough; then, past the budget,
    /// drop the sieve of the column keeping the most values (the lower column on a tie), then
    /// of the next, until the rest fit: their ranks go to a later pass.
    ///
    /// Called only at a round's end, where every block before has been counted and none after
    /// ([`SIEVE_ROUND`]), so that what it decides depends on those blocks alone, not on the
    /// order the threads counted them in: what the sieve keeps is then the same, in every bit,
    /// whatever the threads.
    fn settle(&self) {
        let mut held = Vec::with_capacity(self.cols.len());
        for c in 0..self.cols.len() {
            let mut s = self.col(c);
            if s.seen >= s.next {
                s.narrow(self.draws, self.sigmas);
            }
            held.push(s.held());
        }
        let mut total: u64 = held.iter().sum();
        let mut most: Vec<usize> = (0..held.len()).collect();
        most.sort_by_key(|&c| (std::cmp::Reverse(held[c]), c));
        for c in most {
            if total <= self.budget {
                break;
            }
            self.col(c).give_up();
            total -= held[c];
        }
    }

    /// Flush what column `c`'s pass `p` has counted into the shared `cells`, through `sieve`
    /// when there is one.
    fn flush_through(sieve: Option<&Sieve>, c: usize, cells: &mut [Cell], p: &mut ColPass) {
        match sieve {
            Some(s) => s.flush(c, cells, p),
            None => p.flush(cells),
        }
    }

    /// Flush what column `c`'s pass has counted into the shared `cells`, keeping the values of
    /// the bins kept (which narrow only when the sieve settles: [`Sieve::settle`]).
    fn flush(&self, c: usize, cells: &mut [Cell], p: &mut ColPass) {
        let mut s = self.col(c);
        if let Some(d) = &p.deferred {
            s.take(d);
        }
        p.flush(cells);
    }

    /// Resolve the ranks of `res` whose bins were kept whole, from pass 1's merged statistics
    /// `first`. An error when a bin kept more values than its cell counted.
    fn resolve(self, res: &mut Resolver, first: &First) -> Result<(), StreamError> {
        let cols: Vec<SieveCol> = self
            .cols
            .into_iter()
            .map(|c| c.into_inner().unwrap_or_else(|e| e.into_inner()))
            .collect();
        res.targets
            .par_iter_mut()
            .zip(&first.cols)
            .zip(cols)
            .try_for_each(|((ts, c), s)| s.resolve(ts, &c.pass.cells))
    }
}

/// What the sieve of pass 1 over a part of a run's blocks (a shard's, an MPI rank's) kept
/// whole: per column, the cells it kept from the part's first value to its last, each with its
/// values. Merged with the other parts' (their values of a cell joined), a cell whose values
/// number its count in the run's merged cells gives the ranks in it ([`Passes::sieved_parts`]):
/// a part's blocks are some of the run's draws, so the hypergeometric windows of the sieve hold
/// for it as for the whole run. A part that dropped a cell holding values gives the merge fewer
/// than the count, and the rank goes to a later pass, as without the sieve.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SieveFinds {
    /// Per column: (cell, its values sorted), by increasing cell.
    cols: Vec<Vec<(u64, Vec<f64>)>>,
}

impl Sieve {
    /// Its state, from which [`Sieve::restore`] continues it in another process: per column,
    /// the values it has counted and the count at which its bins narrow next, then per cell the
    /// region whose values it keeps ([`DROPPED`] for none) and the cell's count, then per region
    /// the values kept, sorted (in `f64::total_cmp`'s order: the same bytes whatever the order
    /// the threads kept them in). Handed to `out` a column at a time.
    pub(crate) fn encode_state_to(&self, out: &mut dyn FnMut(&[u8])) {
        let mut o = Vec::new();
        put_u64(&mut o, self.cols.len() as u64);
        for c in 0..self.cols.len() {
            let mut s = self.col(c);
            // In place: the order of the values kept means nothing.
            s.kept.iter_mut().for_each(|v| radsort::sort(v));
            put_u64(&mut o, s.seen);
            put_u64(&mut o, s.next);
            put_u64(&mut o, s.slot.len() as u64);
            for (&k, &n) in s.slot.iter().zip(&s.counts) {
                put_u64(&mut o, u64::from(k));
                put_u64(&mut o, n);
            }
            put_u64(&mut o, s.kept.len() as u64);
            for v in &s.kept {
                put_u64(&mut o, v.len() as u64);
                put_f64s(&mut o, v);
            }
            out(&o);
            o.clear();
        }
    }

    /// The sieve [`Sieve::new`] makes from these arguments, in the state read from `r` that was
    /// saved ([`Sieve::encode_state_to`]) by a sieve made from the same ones; `None` when there is
    /// no such sieve, or the state is unreadable or is no state a save could hold: a cell keeping
    /// values of a region other than its own, counts that do not sum to the values counted, more
    /// values counted than the run has draws, a next narrowing before the first, or a region
    /// keeping values outside its ends or in a bin dropped or out of order (a save sorts them), or
    /// any when it has no bins to keep. (The next narrowing may be reached already: the bins narrow
    /// where the sieve settles, which a save between two such points has not reached.) The state is
    /// read to its end; whether it is the one saved is for `r` to say ([`BodyReader::verified`],
    /// which the caller asks). (Whether its kept values are those of the blocks it says it saw
    /// cannot be known here: a bin kept whole is checked against pass 1's count when it gives a
    /// rank.)
    pub(crate) fn restore(
        r: &mut BodyReader<impl std::io::Read>,
        grids: &[Grid],
        ranks: &[Vec<u64>],
        draws: u64,
        sigmas: f64,
        budget: u64,
    ) -> Option<Sieve> {
        let mut sieve = Sieve::new(grids, ranks, draws, sigmas, budget)?;
        if r.len(8)? != grids.len() {
            return None;
        }
        for (col, g) in sieve.cols.iter_mut().zip(grids) {
            let c = col.get_mut().unwrap_or_else(|e| e.into_inner());
            let (seen, next) = (r.u64()?, r.u64()?);
            if r.len(16)? != g.cells {
                return None;
            }
            let mut counted = 0u64;
            for (slot, count) in c.slot.iter_mut().zip(&mut c.counts) {
                let k = u32::try_from(r.u64()?).ok()?;
                // A bin is only ever dropped: a cell keeps its own region's values or none.
                if k != DROPPED && k != *slot {
                    return None;
                }
                *slot = k;
                *count = r.u64()?;
                counted = counted.checked_add(*count)?;
            }
            let reachable = seen <= draws && next >= SIEVE_FIRST;
            if counted != seen || !reachable || r.len(8)? != g.regions.len() {
                return None;
            }
            for (k, (reg, kept)) in g.regions.iter().zip(&mut c.kept).enumerate() {
                let n = r.len(8)?;
                let v = r.f64s(n)?;
                let start = g.starts[k];
                let in_kept_bin = |x: &f64| {
                    reg.lo <= *x && *x <= reg.hi && c.slot[start + reg.bin(*x)] != DROPPED
                };
                let sorted = v.is_sorted_by(|a, b| a.total_cmp(b).is_le());
                if !v.is_empty() && (reg.bins < 2 || !v.iter().all(in_kept_bin) || !sorted) {
                    return None;
                }
                *kept = v;
            }
            (c.seen, c.next) = (seen, next);
        }
        if !r.done() {
            return None;
        }
        Some(sieve)
    }

    /// Whether what it keeps can be of pass 1's statistics `first` over the blocks it has seen:
    /// no cell keeps more values than they count there, and one keeping as many keeps all of
    /// them. A sieve that does not fit would be found inconsistent when it gives a rank
    /// (`resolve_in_cells`); one that fits stays so as both go on over the same blocks.
    fn fits(&self, first: &First) -> bool {
        self.cols.len() == first.cols.len()
            && (0..self.cols.len()).all(|c| self.col(c).fits(&first.cols[c].pass.cells))
    }

    /// What the sieve kept whole once its part of the run is over. (Its bins narrowed last
    /// when the counts were at least 1/[`SIEVE_GROWTH`] of the part's, less a round's
    /// ([`SIEVE_ROUND`]): narrowing again would drop little.)
    pub(crate) fn finds(self) -> SieveFinds {
        SieveFinds {
            cols: self
                .cols
                .into_par_iter()
                .map(|c| c.into_inner().unwrap_or_else(|e| e.into_inner()).finds())
                .collect(),
        }
    }
}

impl SieveFinds {
    /// Append the encoding: the number of columns (0 without a sieve), then per column the
    /// number of cells and, per cell, its index and its values (a list of f64).
    pub fn encode(&self, o: &mut Vec<u8>) {
        self.encode_to(&mut |part| o.extend_from_slice(part));
    }

    /// [`SieveFinds::encode`], handed to `out` in consecutive parts (a cell at a time).
    pub fn encode_to(&self, out: &mut dyn FnMut(&[u8])) {
        Self::encode_where(Some(self), |_, _| true, out);
    }

    /// [`SieveFinds::encode`] of only the cells `asked` (per column, increasing: as
    /// [`decode_asked`] reads them), for a merge that asks for the cells holding ranks.
    pub fn encode_asked(finds: Option<&SieveFinds>, asked: &[Vec<u64>], o: &mut Vec<u8>) {
        let is_asked = |c: usize, i: u64| asked.get(c).is_some_and(|a| a.binary_search(&i).is_ok());
        Self::encode_where(finds, is_asked, &mut |part| o.extend_from_slice(part));
    }

    /// The encoding of the cells `(column, cell)` that `keep` takes, handed to `out` a cell at a
    /// time.
    fn encode_where(
        finds: Option<&SieveFinds>,
        keep: impl Fn(usize, u64) -> bool,
        out: &mut dyn FnMut(&[u8]),
    ) {
        let cols = finds.map_or(&[][..], |f| &f.cols[..]);
        let mut o = Vec::new();
        put_u64(&mut o, cols.len() as u64);
        for (c, cells) in cols.iter().enumerate() {
            let kept: Vec<&(u64, Vec<f64>)> = cells.iter().filter(|(i, _)| keep(c, *i)).collect();
            put_u64(&mut o, kept.len() as u64);
            for (i, v) in kept {
                put_u64(&mut o, *i);
                put_u64(&mut o, v.len() as u64);
                put_f64s(&mut o, v);
                out(&o);
                o.clear();
            }
        }
        out(&o);
    }

    /// Read an encoding of no columns or `cols` columns from `r`, handing `visit` each cell
    /// (column, index, values) in order; `None` when it is unreadable, has another number of
    /// columns, or `visit` refuses a cell.
    fn read_encoded(
        r: &mut Reader,
        cols: usize,
        mut visit: impl FnMut(usize, u64, Vec<f64>) -> Option<()>,
    ) -> Option<()> {
        let n = r.len(8)?;
        if n != 0 && n != cols {
            return None;
        }
        for c in 0..n {
            for _ in 0..r.len(16)? {
                let i = r.u64()?;
                let m = r.len(8)?;
                visit(c, i, r.f64s(m)?)?;
            }
        }
        Some(())
    }

    /// Add to `wanted` (per column: the cells asked for) the values of the cells it asks for, as
    /// [`add_encoded_finds`] does from an encoding.
    pub fn add_to(&self, wanted: &mut [HashMap<u64, Vec<f64>>]) {
        for (cells, w) in self.cols.iter().zip(wanted) {
            for (i, v) in cells {
                if let Some(acc) = w.get_mut(i) {
                    acc.extend_from_slice(v);
                }
            }
        }
    }

    /// Read an encoding from `r`, adding to `wanted` (per column: the cells asked for) the
    /// values of the cells it asks for; `None` when it is unreadable or has another number of
    /// columns (none is fine: a part without a sieve).
    fn add_encoded(r: &mut Reader, wanted: &mut [HashMap<u64, Vec<f64>>]) -> Option<()> {
        Self::read_encoded(r, wanted.len(), |c, i, v| {
            if let Some(acc) = wanted[c].get_mut(&i) {
                acc.extend(v);
            }
            Some(())
        })
    }

    /// Read an encoding from `r` without keeping anything: whether it is readable and fits the
    /// part's own non-empty cells `own` (per column, by increasing index), as
    /// [`First::add_encoded_part`] says.
    fn check_encoded(r: &mut Reader, own: &[Vec<(u64, Cell)>]) -> Option<()> {
        let mut last: Option<(usize, u64)> = None;
        Self::read_encoded(r, own.len(), |c, i, v| {
            if last.is_some_and(|l| l >= (c, i)) {
                return None;
            }
            last = Some((c, i));
            let cells = &own[c];
            let k = cells.binary_search_by_key(&i, |(j, _)| *j).ok()?;
            cells[k].1.holds_all_of(&v).then_some(())
        })
    }
}

impl SieveCol {
    /// [`Sieve::fits`] for one column, whose statistics' cells are `cells`.
    fn fits(&self, cells: &[Cell]) -> bool {
        if cells.len() != self.slot.len() {
            return false;
        }
        // Per cell kept: the number of its values and their smallest and largest, in one walk
        // over the kept values (what `finds` would give, without copying them).
        let mut held = vec![(0u64, f64::NAN, f64::NAN); cells.len()];
        self.each_kept(|i, x| {
            let (n, lo, hi) = &mut held[i];
            if *n == 0 || x.total_cmp(lo).is_lt() {
                *lo = x;
            }
            if *n == 0 || x.total_cmp(hi).is_gt() {
                *hi = x;
            }
            *n += 1;
        });
        held.iter()
            .zip(cells)
            .all(|(&(n, lo, hi), cell)| n == 0 || n < cell.n || cell.is_all_of(n, lo, hi))
    }

    /// Call `f(i, x)` with each kept value `x` and its cell `i`, region by region, each region's
    /// values in the order kept. (A region keeps only values of its cells still kept: a bin's
    /// go as it is dropped, [`SieveCol::purge`].)
    fn each_kept(&self, mut f: impl FnMut(usize, f64)) {
        for (k, v) in self.kept.iter().enumerate() {
            let (reg, start) = (&self.grid.regions[k], self.grid.starts[k]);
            for &x in v {
                f(start + reg.bin(x), x);
            }
        }
    }

    /// The values kept.
    fn held(&self) -> u64 {
        self.kept.iter().map(|v| v.len() as u64).sum()
    }

    /// Drop every bin, and the values kept: the column's ranks go to a later pass. Nor does it
    /// narrow again: nothing is left to drop.
    fn give_up(&mut self) {
        self.slot.fill(DROPPED);
        self.kept.iter_mut().for_each(|v| *v = Vec::new());
        self.next = u64::MAX;
    }

    /// Keep `v`, counted into `cell`, when the cell's values are kept.
    #[inline]
    fn keep(&mut self, cell: usize, v: f64) {
        let k = self.slot[cell];
        if k != DROPPED {
            self.kept[k as usize].push(v);
        }
    }

    /// Keep what a task's pass is about to flush into the shared cells, and count its draws.
    fn take(&mut self, d: &Deferred) {
        self.seen += d.values.len() as u64;
        for &(i, v) in &d.values {
            self.counts[i as usize] += 1;
            self.keep(i as usize, v);
        }
        for &(i, c) in &d.cells {
            self.seen += c.n;
            let i = i as usize;
            self.counts[i] += c.n;
            if self.slot[i] == DROPPED {
                continue;
            }
            // Into a bin, only a block's repeated value comes as a cell (`ColPass::add_repeated`);
            // were it ever another tally, the bin's values would be unknown: it is dropped.
            let k = self.slot[i] as usize;
            if c.min.to_bits() == c.max.to_bits() {
                self.kept[k].extend(std::iter::repeat_n(c.min, c.n as usize));
            } else {
                // The values it kept go at once, so that the values kept are always those of
                // the cells kept, whatever the order the blocks came in (what the budget counts).
                self.slot[i] = DROPPED;
                self.purge(k);
            }
        }
    }

    /// Remove from region `k`'s kept values those of cells dropped.
    fn purge(&mut self, k: usize) {
        let (reg, start) = (&self.grid.regions[k], self.grid.starts[k]);
        let slot = &self.slot;
        let v = &mut self.kept[k];
        v.retain(|&x| slot[start + reg.bin(x)] != DROPPED);
        if v.len() < v.capacity() / 4 {
            v.shrink_to_fit();
        }
    }

    /// Drop the bins that can no longer hold a wanted rank, given the cells' counts so far (`m`
    /// of the run's `draws`).
    fn narrow(&mut self, draws: u64, sigmas: f64) {
        // The counts below each cell, and below the end.
        let cells = self.counts.len();
        let mut cum = Vec::with_capacity(cells + 1);
        let mut at = 0u64;
        cum.push(0);
        for &n in &self.counts {
            at += n;
            cum.push(at);
        }
        let m = at;
        // `seen` is this sum kept as it grows, so that a flush need not walk the cells.
        debug_assert_eq!(m, self.seen);
        // `m` is at least `SIEVE_FIRST`: the next narrowing is some draws away.
        self.next = (m as f64 * SIEVE_GROWTH) as u64;
        let (mf, nf) = (m as f64, draws as f64);
        let mut live = vec![false; cells];
        for &r in &self.ranks {
            let q = r as f64 / nf;
            let var = mf * q * (1.0 - q) * (nf - mf).max(0.0) / (nf - 1.0).max(1.0);
            // Bernstein's margin: `sigmas²/3` more than the normal's, for the ranks near either
            // end, whose counts have the skewed tails of a Poisson count.
            let h = sigmas * var.sqrt() + sigmas * sigmas / 3.0 + 1.0;
            let (lo, hi) = (q * mf - h, q * mf + h);
            // The cells whose values may rank from `lo` to `hi` among those counted: those
            // ending at or above `lo` and starting at or below `hi` (empty ones included). The
            // cells before `a` start below `lo`, so `a ≤ b`.
            let a = cum[1..].partition_point(|&e| (e as f64) < lo);
            let b = cum[..cells].partition_point(|&s| (s as f64) <= hi);
            live[a..b].fill(true);
        }
        let mut dropped = vec![false; self.kept.len()];
        for (s, &l) in self.slot.iter_mut().zip(&live) {
            if *s != DROPPED && !l {
                dropped[*s as usize] = true;
                *s = DROPPED;
            }
        }
        for (k, d) in dropped.into_iter().enumerate() {
            if d {
                self.purge(k);
            }
        }
    }

    /// Resolve the column's ranks in `ts` whose cells (of pass 1's merged `cells`) were kept
    /// whole: those whose kept values number the cell's count (they are some of its values, so
    /// then all of them).
    fn resolve(
        self,
        ts: &mut [(u64, Result<f64, Bracket>)],
        cells: &[Cell],
    ) -> Result<(), StreamError> {
        resolve_in_cells(ts, cells, |i| self.values_of(i))
    }

    /// The values kept of cell `i`, in no order; `None` when the cell is not kept.
    fn values_of(&self, i: usize) -> Option<Vec<f64>> {
        let k = *self.slot.get(i).filter(|&&k| k != DROPPED)? as usize;
        let (reg, start) = (&self.grid.regions[k], self.grid.starts[k]);
        Some(
            self.kept[k]
                .iter()
                .copied()
                .filter(|&x| start + reg.bin(x) == i)
                .collect(),
        )
    }

    /// The cells kept, in order, each with its values sorted (in `f64::total_cmp`'s order, so
    /// that they do not depend on the order the threads kept them in); those with none are left
    /// out.
    ///
    /// A cell's values all come from its region's: each region's are counted by cell, then
    /// placed into vectors of those sizes (no search per value).
    fn finds(&self) -> Vec<(u64, Vec<f64>)> {
        let mut count = vec![0usize; self.slot.len()];
        self.each_kept(|i, _| count[i] += 1);
        let mut by_cell: Vec<Vec<f64>> = count.iter().map(|&n| Vec::with_capacity(n)).collect();
        self.each_kept(|i, x| by_cell[i].push(x));
        by_cell
            .into_iter()
            .enumerate()
            .filter(|(_, v)| !v.is_empty())
            .map(|(i, mut v)| {
                radsort::sort(&mut v);
                (i as u64, v)
            })
            .collect()
    }
}

/// Resolve the ranks in `ts` (one column's, increasing) that lie in a single cell of pass 1's
/// merged `cells` whose values `values(i)` gives (in any order; `None` when they are not known)
/// and numbers in full: some of a cell's values, as many as its count, are all of them. Fewer
/// leave the rank to a later pass; more, or as many whose smallest or largest is not the cell's,
/// are an inconsistency. `values` is asked once per cell.
fn resolve_in_cells(
    ts: &mut [(u64, Result<f64, Bracket>)],
    cells: &[Cell],
    mut values: impl FnMut(usize) -> Option<Vec<f64>>,
) -> Result<(), StreamError> {
    let mut sorted: HashMap<usize, Option<Vec<f64>>> = HashMap::new();
    let mut below = 0u64;
    let mut i = 0;
    for (r, t) in ts.iter_mut() {
        let Err(b) = *t else { continue };
        // The ranks increase: the cell of this one is at or after the last one's.
        while i < cells.len() && below + cells[i].n <= *r {
            below += cells[i].n;
            i += 1;
        }
        if !(i < cells.len() && below == b.offset && cells[i].n == b.count) {
            continue;
        }
        let v = sorted.entry(i).or_insert_with(|| {
            values(i).map(|mut v| {
                v.sort_by(f64::total_cmp);
                v
            })
        });
        let Some(v) = v else { continue };
        match (v.len() as u64).cmp(&b.count) {
            std::cmp::Ordering::Equal => {
                // Every value of the cell: its smallest and largest are the cell's own (the
                // values of parts joined, those of every part).
                let (lo, hi) = (v[0], v[v.len() - 1]);
                if !cells[i].is_all_of(b.count, lo, hi) {
                    return Err(StreamError::Inconsistent(format!(
                        "pass 1's sieve kept values from {lo} to {hi} of a bin whose values it counted from {} to {}",
                        cells[i].min, cells[i].max
                    )));
                }
                *t = Ok(v[(*r - b.offset) as usize]);
            }
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Greater => {
                return Err(StreamError::Inconsistent(format!(
                    "pass 1's sieve kept {} values of a bin where it counted {}",
                    v.len(),
                    b.count
                )));
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pass 1: everything but the order statistics inside cells.

/// Thresholds of one column and the number of values in each bucket between them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Counts {
    /// Sorted, distinct.
    pub at: Vec<f64>,
    /// Bucket `j`: values `v` with `at[j-1] < v ≤ at[j]` (`le`) or `at[j-1] ≤ v < at[j]` (`lt`); the last
    /// bucket holds the values above every threshold.
    pub buckets: Vec<u64>,
}

impl Counts {
    fn new(mut at: Vec<f64>) -> Counts {
        at.sort_by(f64::total_cmp);
        at.dedup_by(|a, b| a.to_bits() == b.to_bits());
        Counts {
            buckets: vec![0; at.len() + 1],
            at,
        }
    }

    /// Add each value `x` of `v` to bucket `j`, the number of thresholds `t` with `pred(t, x)`
    /// (nothing without thresholds). `pred` must hold on a prefix of the thresholds, as `t < x`
    /// and `t ≤ x` do on sorted thresholds: then the values with more than `j` thresholds are
    /// those for which threshold `j` holds, and each bucket is the difference of two such
    /// counts. Each threshold's count is one branch-free pass that the compiler vectorises,
    /// instead of a search and an increment of a bucket per value.
    // Always inlined, so that `tally_first_avx2` compiles it for AVX2.
    #[inline(always)]
    fn add(&mut self, v: &[f64], pred: impl Fn(f64, f64) -> bool) {
        if self.at.is_empty() {
            return;
        }
        let mut above_prev = v.len() as u64;
        for (j, &t) in self.at.iter().enumerate() {
            let above: u64 = v.iter().map(|&x| u64::from(pred(t, x))).sum();
            // Thresholds are finite where they are read; a NaN one would break the prefix.
            debug_assert!(above <= above_prev, "threshold {t} breaks the prefix");
            self.buckets[j] += above_prev - above;
            above_prev = above;
        }
        self.buckets[self.at.len()] += above_prev;
    }

    /// As `add` on `n` copies of `x`: they all go to one bucket.
    fn add_repeated(&mut self, x: f64, n: u64, pred: impl Fn(f64, f64) -> bool) {
        if self.at.is_empty() {
            return;
        }
        self.buckets[prefix_len(&self.at, |t| pred(t, x))] += n;
    }

    fn count(&self, x: f64) -> Option<u64> {
        let j = self.at.iter().position(|t| t.to_bits() == x.to_bits())?;
        Some(self.buckets[..=j].iter().sum())
    }

    fn merge(&mut self, o: &Counts) {
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
    }
}

/// Pass-1 statistics of one column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColFirst {
    pub tree: Tree,
    pub le: Counts,
    pub lt: Counts,
    pub pass: ColPass,
}

/// Pass-1 statistics of a run or of some of its blocks; merged across shards exactly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct First {
    pub kept: u64,
    pub skipped: u64,
    pub cols: Vec<ColFirst>,
    /// Per entity: counts of whole-year delay-to-zero and of breakeven year.
    pub delay_whole: Vec<Vec<u64>>,
    pub breakeven: Vec<Vec<u64>>,
}

impl First {
    /// Add the statistics of other blocks of the same run. The moments' tree nodes are pushed in
    /// order (as `Tree::push_node` does): the blocks right after this one's (pass 1 in block order,
    /// in chunks or ranges) combine with them as one pass over all the blocks would, so that the
    /// result is the same, in every bit and in its encoding; other blocks' nodes are kept beside.
    pub fn merge(&mut self, o: First) {
        self.kept += o.kept;
        self.skipped += o.skipped;
        // Column by column in parallel: appending the collected values of a pass's parts (the
        // pilot's blocks and the rest, a checkpoint's chunks, shards) is most of a merge.
        self.cols
            .par_iter_mut()
            .zip(o.cols)
            .with_max_len(1)
            .for_each(|(a, b)| {
                for node in b.tree.nodes {
                    a.tree.push_node(node);
                }
                a.le.merge(&b.le);
                a.lt.merge(&b.lt);
                a.pass.merge(b.pass);
            });
        for (a, b) in self
            .delay_whole
            .iter_mut()
            .zip(&o.delay_whole)
            .chain(self.breakeven.iter_mut().zip(&o.breakeven))
        {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
    }
}

/// The kept rows of blocks `first_block..end_block` of a run, held in `d` from row `row0`.
/// Block `b` holds draws `draws_before(b, block, draws)..draws_before(b + 1, block, draws)`;
/// those not kept are among `d.skipped`, which may hold other blocks' too.
pub struct Chunk<'a> {
    pub d: &'a Draws,
    pub row0: usize,
    pub first_block: u64,
    pub end_block: u64,
    pub block: u64,
    pub draws: u64,
}

/// A block of a [`Chunk`]: its number, its draws, those of them skipped, and its kept rows
/// in the chunk's `d`.
#[derive(Debug, PartialEq)]
pub(crate) struct ChunkBlock<'a> {
    pub(crate) b: u64,
    pub(crate) draws: (u64, u64),
    pub(crate) skipped: &'a [u64],
    pub(crate) rows: Range<usize>,
}

impl Chunk<'_> {
    /// The draws of blocks `b..e`.
    fn draws_of(&self, (b, e): (u64, u64)) -> (u64, u64) {
        (
            draws_before(b, self.block, self.draws),
            draws_before(e, self.block, self.draws),
        )
    }

    /// The chunk's blocks, in order.
    pub(crate) fn blocks(&self) -> impl Iterator<Item = ChunkBlock<'_>> {
        let mut row = self.row0;
        (self.first_block..self.end_block).map(move |b| {
            let (s, e) = self.draws_of((b, b + 1));
            let skipped = skipped_in(&self.d.skipped, (s, e));
            let rows = row..row + (e - s) as usize - skipped.len();
            row = rows.end;
            ChunkBlock {
                b,
                draws: (s, e),
                skipped,
                rows,
            }
        })
    }

    /// The draws skipped in the chunk's blocks.
    fn skipped(&self) -> u64 {
        let draws = self.draws_of((self.first_block, self.end_block));
        skipped_in(&self.d.skipped, draws).len() as u64
    }

    fn rows(&self) -> Range<usize> {
        let (s, e) = self.draws_of((self.first_block, self.end_block));
        self.row0..self.row0 + (e - s - self.skipped()) as usize
    }
}

/// The skipped draws (sorted) numbered in `s..e`.
pub fn skipped_in(skipped: &[u64], (s, e): (u64, u64)) -> &[u64] {
    &skipped[skipped.partition_point(|&i| i < s)..skipped.partition_point(|&i| i < e)]
}

/// What a run is summarised for: thresholds and wanted ranks of every column.
#[derive(Debug, Clone, PartialEq)]
pub struct Queries {
    pub le: Vec<Vec<f64>>,
    pub lt: Vec<Vec<f64>>,
    /// Wanted ranks per column, for a run keeping `n` draws.
    pub ranks: Vec<Vec<u64>>,
}

/// Records what the summary reads of a column.
struct Recorder {
    n: usize,
    ranks: std::cell::RefCell<Vec<u64>>,
    le: std::cell::RefCell<Vec<f64>>,
    lt: std::cell::RefCell<Vec<f64>>,
}

impl OrderStats for Recorder {
    fn len(&self) -> usize {
        self.n
    }
    fn at(&self, r: usize) -> f64 {
        self.ranks.borrow_mut().push(r as u64);
        0.0
    }
    fn count_le(&self, x: f64) -> usize {
        self.le.borrow_mut().push(x);
        0
    }
    fn count_lt(&self, x: f64) -> usize {
        self.lt.borrow_mut().push(x);
        0
    }
}

/// The thresholds and ranks a summary of `n` kept draws reads, found by assembling it once from
/// recorders (so they can never disagree with what [`summary::assemble`] asks for).
pub fn queries(plan: &Plan, n: u64, o: &SummaryOptions, extra: &ReviewPoints) -> Queries {
    let cols = columns(plan).len();
    let recs: Vec<Recorder> = (0..cols)
        .map(|_| Recorder {
            n: n as usize,
            ranks: Default::default(),
            le: Default::default(),
            lt: Default::default(),
        })
        .collect();
    let zeros = |len: usize| vec![vec![0u64; len]; plan.entities.len()];
    let h = plan.model.horizon_years;
    let (dw, be) = (zeros(h + 2), zeros(h + 1));
    let cs = ColumnStats {
        stats: recs.iter().map(|r| r as &dyn OrderStats).collect(),
        moments: vec![(0.0, 0.0); cols],
        delay_whole: &dw,
        breakeven: &be,
    };
    let meta = Metadata {
        horizon_years: h,
        ..dummy_meta()
    };
    summary::assemble(plan, &cs, None, n as usize, 0, meta, o, extra);
    let mut q = Queries {
        le: Vec::new(),
        lt: Vec::new(),
        ranks: Vec::new(),
    };
    for r in recs {
        let mut ranks = r.ranks.into_inner();
        ranks.sort_unstable();
        ranks.dedup();
        q.ranks.push(ranks);
        q.le.push(r.le.into_inner());
        q.lt.push(r.lt.into_inner());
    }
    q
}

fn dummy_meta() -> Metadata {
    Metadata {
        horizon_years: 5,
        npvrisk_version: String::new(),
        model: summary::FileHash {
            file: String::new(),
            sha256: String::new(),
        },
        distributions: Vec::new(),
        scenario: String::new(),
        seed: 0,
        sampler: String::new(),
        draws: 0,
        block_size: 0,
        standard_errors: String::new(),
        percentile_method: String::new(),
    }
}

/// Rows of `d` (whose first row is draw 0's block) that are draws numbered below `limit`.
fn pilot_rows(d: &Draws, limit: u64) -> usize {
    let below = d.skipped.partition_point(|&i| i < limit) as u64;
    (limit.saturating_sub(below) as usize).min(d.n)
}

/// A column's brackets for its wanted `ranks` among `n` values, from the pilot's values `v`
/// (not empty): `(lo, hi, expected number of the run's values in [lo, hi])`, disjoint and in
/// increasing order. Around each rank, its pilot order statistics some 6 standard errors either
/// side; overlapping brackets are joined. A value the pilot repeats at an end of a bracket (a
/// point mass, e.g. leakage 0 whenever the NPV is not positive) is a bracket of its own (`lo =
/// hi`, expected 0: one cell, never collected), so that the rest of the bracket can be collected
/// without it.
fn brackets(v: &[f64], ranks: &[u64], n: u64) -> Vec<(f64, f64, f64)> {
    let p = v.len() as f64;
    // Brackets as pilot indices, joined where their values overlap.
    let mut br: Vec<(usize, usize)> = ranks
        .iter()
        .map(|&r| {
            let q = if n > 1 {
                r as f64 / (n - 1) as f64
            } else {
                0.0
            };
            let i = q * (p - 1.0);
            let d = 6.0 * (p * q * (1.0 - q)).sqrt() + 2.0;
            let lo = (i - d).floor().clamp(0.0, p - 1.0) as usize;
            let hi = (i + d).ceil().clamp(0.0, p - 1.0) as usize;
            (lo, hi)
        })
        .collect();
    br.sort_unstable();
    // Only the brackets' ends and the values either side of them are read: their sorted values,
    // found without a sort.
    let top = v.len() - 1;
    let ends = SortedAt::new(
        v,
        br.iter()
            .flat_map(|&(lo, hi)| [lo, hi].map(|i| [i.saturating_sub(1), i, (i + 1).min(top)]))
            .flatten()
            .collect(),
    );
    let mut joined: Vec<(usize, usize)> = Vec::new();
    for (lo, hi) in br {
        match joined.last_mut() {
            Some(last) if ends.at(lo) <= ends.at(last.1) => last.1 = last.1.max(hi),
            _ => joined.push((lo, hi)),
        }
    }
    // Whether the value at pilot index `i` is repeated: a run of equal values holding `i` holds
    // one of its neighbours too.
    let repeated = |i: usize| {
        let x = ends.at(i);
        (i > 0 && ends.at(i - 1) == x) || (i < top && ends.at(i + 1) == x)
    };
    // Expected number of the run's values in the pilot's `lo..=hi` (at least one).
    let expected = |lo: usize, hi: usize| (hi + 1).saturating_sub(lo).max(1) as f64 / p * n as f64;
    let mut out = Vec::new();
    for (mut lo, mut hi) in joined {
        let (a, b) = (ends.at(lo), ends.at(hi));
        if a == b {
            out.push((a, a, 0.0));
            continue;
        }
        // The point masses at the ends, then what lies strictly between them.
        let (tied_a, tied_b) = (repeated(lo), repeated(hi));
        let mut mid = (a, b);
        if tied_a {
            out.push((a, a, 0.0));
            lo = v.iter().filter(|&&x| x <= a).count();
            mid.0 = a.next_up();
        }
        if tied_b {
            hi = v.iter().filter(|&&x| x < b).count() - 1;
            mid.1 = b.next_down();
        }
        if mid.0 <= mid.1 {
            out.push((mid.0, mid.1, expected(lo, hi)));
        }
        if tied_b {
            out.push((b, b, 0.0));
        }
    }
    out
}

/// Pass-1 grids: around each wanted rank (for `n` draws) a bracket of the pilot's order
/// statistics wide enough to hold it with near certainty ([`brackets`]); and how many values
/// pass 1 is expected to collect in all.
fn first_grids(
    plan: &Plan,
    pilot: &Draws,
    rows: usize,
    ranks: &[Vec<u64>],
    n: u64,
    cfg: &StreamConfig,
) -> (Vec<Grid>, f64) {
    let brackets: Vec<Vec<(f64, f64, f64)>> = columns(plan)
        .par_iter()
        .zip(ranks)
        .map(|(&c, ranks)| {
            if rows == 0 {
                return Vec::new();
            }
            let mut buf = Vec::new();
            let v = values(pilot, c, 0..rows, &mut buf);
            assert!(
                v.iter().all(|x| x.is_finite()),
                "the engine keeps only finite draws"
            );
            brackets(v, ranks, n)
        })
        .collect();
    // Collected in pass 1: brackets expected to hold at most `collect_first` values.
    let expected: Vec<Vec<f64>> = brackets
        .iter()
        .map(|br| br.iter().map(|b| b.2).collect())
        .collect();
    let mut collect = within_budget(
        &expected,
        cfg.collect_first as f64,
        cfg.collect_first_budget as f64,
    );
    // Pass 1 collects only when that spares the run a second pass: when it collects every
    // bracket (of more than one value; those of one always fit, expecting none, and are never
    // collected: `first_region`). A second pass finds a rank in a bracket's bins about as soon
    // as in its collected values, without holding them through pass 1.
    if collect.iter().flatten().any(|k| !k) {
        collect.iter_mut().for_each(|co| co.fill(false));
    }
    let collected = expected
        .iter()
        .zip(&collect)
        .flat_map(|(e, co)| e.iter().zip(co).filter(|(_, k)| **k).map(|(x, _)| x))
        .sum();
    let grids = brackets
        .iter()
        .zip(&collect)
        .map(|(br, co)| {
            Grid::new(
                br.iter()
                    .zip(co)
                    .map(|(&(a, b, _), &k)| first_region(a, b, k, cfg.bins))
                    .collect(),
            )
        })
        .collect();
    (grids, collected)
}

/// Pass 1's region for the bracket `[a, b]`: collected whole (`collect`) or split into `bins`.
/// A bracket of one value is one cell, never collected: its count, minimum and maximum say
/// everything, and collecting it would store every draw of a point mass there (leakage 0 whenever
/// the NPV is not positive, 1.6% of the default run's draws for health and social care: 16
/// million values at 10^9 draws, since the pilot's expected count sees only the bracket's width).
fn first_region(a: f64, b: f64, collect: bool, bins: u32) -> Region {
    let bins = if a == b {
        1
    } else if collect {
        0
    } else {
        bins
    };
    Region::new(a, b, bins)
}

/// Add a chunk's rows to pass-1 statistics, the columns in parallel (`par`) or one after
/// another (when each thread tallies blocks of its own).
fn add_first(plan: &Plan, cols: &[Col], grids: &[Grid], acc: &mut First, ch: &Chunk, par: bool) {
    let rows = ch.rows();
    acc.kept += rows.len() as u64;
    let column = |((a, &c), g): ((&mut ColFirst, &Col), &Grid)| {
        let mut buf = Vec::new();
        let v = values(ch.d, c, rows.clone(), &mut buf);
        tally_first(a, g, ch, v);
    };
    if par {
        acc.cols
            .par_iter_mut()
            .zip(cols)
            .zip(grids)
            .for_each(column);
    } else {
        acc.cols.iter_mut().zip(cols).zip(grids).for_each(column);
    }
    for e in 0..plan.entities.len() {
        count_bins(&mut acc.delay_whole[e], &ch.d.delay_whole[e][rows.clone()]);
        count_bins(&mut acc.breakeven[e], &ch.d.breakeven[e][rows.clone()]);
    }
}

/// Most bins [`count_bins`] counts with a pass per bin.
const COUNTED_BINS: usize = 16;

/// Count each value `x` of `xs` into its bin, `hist[x] += 1`. A few bins (whole years of a
/// short horizon) are counted one after another over runs of at most 255 values, in bytes: loops
/// the compiler vectorises, where an increment per value is a load and a store each. With more
/// bins (a horizon of up to 200 years has 202) a pass per bin would cost more than it saves, and
/// each value is counted where it falls. Every value must have a bin (a panic otherwise).
fn count_bins(hist: &mut [u64], xs: &[u8]) {
    if hist.len() > COUNTED_BINS {
        for &x in xs {
            hist[usize::from(x)] += 1;
        }
        return;
    }
    for run in xs.chunks(usize::from(u8::MAX)) {
        let mut counted = 0;
        for (b, h) in (0..=u8::MAX).zip(hist.iter_mut()) {
            let n = run.iter().fold(0u8, |n, &x| n + u8::from(x == b));
            *h += u64::from(n);
            counted += usize::from(n);
        }
        assert_eq!(counted, run.len(), "a value past the {} bins", hist.len());
    }
}

/// Add one column's values `v` of chunk `ch` to its pass-1 statistics: the moments of the
/// blocks' draws, the threshold counts and the cells.
fn tally_first(a: &mut ColFirst, g: &Grid, ch: &Chunk, v: &[f64]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        unsafe { tally_first_avx2(a, g, ch, v) };
        return;
    }
    tally_first_body(a, g, ch, v);
}

/// [`tally_first_body`] compiled for AVX2, where the branch-free counts and the first levels of
/// the moments' tree take four values an instruction rather than two. The same IEEE operations
/// in the same order (AVX2 does not bring `fma`, and Rust never contracts a multiply and an
/// add), so the same bits as the portable code. The gain needs the helpers compiled into this
/// function: `Tree::push_draws`, `Counts::add` and `ColPass::add` are `#[inline(always)]` for
/// it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn tally_first_avx2(a: &mut ColFirst, g: &Grid, ch: &Chunk, v: &[f64]) {
    tally_first_body(a, g, ch, v);
}

/// The body of [`tally_first`].
#[inline(always)]
fn tally_first_body(a: &mut ColFirst, g: &Grid, ch: &Chunk, v: &[f64]) {
    // A column no sampled input moves (a theme nothing touches, a partner with no share) has
    // one value, in every bit, throughout: its moments are known and it is placed once.
    let constant = match v.split_first() {
        Some((&x, rest)) if rest.iter().all(|y| y.to_bits() == x.to_bits()) => Some(x),
        _ => None,
    };
    for k in ch.blocks() {
        let rows = k.rows.start - ch.row0..k.rows.end - ch.row0;
        match constant {
            Some(x) => a.tree.push_constant(k.draws, x, k.skipped),
            None => a.tree.push_draws(k.draws, &v[rows], k.skipped),
        }
    }
    // Bucket of x: the number of thresholds below it (`le`) or at or below it (`lt`).
    let le = |t, x| t < x;
    let lt = |t, x| t <= x;
    match constant {
        Some(x) => {
            let n = v.len() as u64;
            a.le.add_repeated(x, n, le);
            a.lt.add_repeated(x, n, lt);
            a.pass.add_repeated(g, x, n);
        }
        _ => {
            a.le.add(v, le);
            a.lt.add(v, lt);
            a.pass.add(g, v);
        }
    }
}

fn add_pass(cols: &[Col], grids: &[Grid], acc: &mut [ColPass], ch: &Chunk, par: bool) {
    let rows = ch.rows();
    let column = |((a, &c), g): ((&mut ColPass, &Col), &Grid)| {
        if !g.regions().is_empty() {
            let mut buf = Vec::new();
            a.add_inside(g, values(ch.d, c, rows.clone(), &mut buf));
        }
    };
    if par {
        acc.par_iter_mut().zip(cols).zip(grids).for_each(column);
    } else {
        acc.iter_mut().zip(cols).zip(grids).for_each(column);
    }
}

// ---------------------------------------------------------------------------------------------
// Sources of draws.

/// Where a pass gets its draws: from memory or by running the engine again.
pub trait Source: Sync {
    /// The engine that regenerates these draws, when nothing needs them in block order: a pass
    /// then runs each block and tallies it at once (`Regenerate::fold_blocks`).
    fn engine(&self) -> Option<&Regenerate<'_>> {
        None
    }

    /// Call `f` with the rows of blocks `first..end`, in consecutive chunks in block order.
    fn chunks(
        &self,
        first: u64,
        end: u64,
        f: &mut dyn FnMut(&Chunk) -> Result<(), RunError>,
    ) -> Result<(), RunError>;
}

/// Draws of a whole run, in memory.
pub struct InMemory<'a> {
    pub d: &'a Draws,
    pub block: u64,
    pub draws: u64,
}

impl Source for InMemory<'_> {
    fn chunks(
        &self,
        first: u64,
        end: u64,
        f: &mut dyn FnMut(&Chunk) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        // The rows of the blocks before `first`.
        let before = Chunk {
            d: self.d,
            row0: 0,
            first_block: 0,
            end_block: first,
            block: self.block,
            draws: self.draws,
        };
        f(&Chunk {
            row0: before.rows().end,
            first_block: first,
            end_block: end,
            ..before
        })
    }
}

/// Draws regenerated by the engine: block by block, tallied at once (`Regenerate::fold_blocks`),
/// or `chunk_blocks` blocks at a time ([`Source::chunks`]).
pub struct Regenerate<'a> {
    pub plan: &'a Plan,
    pub opts: &'a RunOptions,
    pub chunk_blocks: u64,
    /// Called with the number of draws finished.
    pub progress: &'a (dyn Fn(u64) + Sync),
}

impl Regenerate<'_> {
    /// The run's block size (at most its draws) and number of blocks.
    fn size_and_blocks(&self) -> Result<(u64, u64), RunError> {
        let opts = self.opts;
        Ok((opts.block_size.min(opts.draws), Plan::block_count(opts)?))
    }

    /// Run blocks `first..end` and fold them into statistics: each task runs a block and adds it
    /// at once (`add`), its draws still in cache and no thread waiting for another between the
    /// two, into statistics of its own (from `empty`). There is one task a thread, and each takes
    /// the next run of blocks not yet taken ([`take_run`]: runs that shrink as the blocks left
    /// do, down to one block), so that no thread waits for another's share at the end: a thread
    /// that finishes early takes the blocks that are left, in ever smaller runs. Within a run the
    /// blocks are consecutive, so the nodes of their moments' trees combine as they come (a task
    /// given scattered blocks would hold every block's nodes to the end: several a block when
    /// the block size is not a power of two). The tasks' statistics are then appended
    /// (`append`) and put in block order: the values each region collected, block by block, and
    /// the moments' trees (`ColPasses::in_block_order`); the rest (counts, cells, minima and
    /// maxima) does not depend on the order. So the result is a chunked pass's in every bit,
    /// whatever the threads and whichever task ran which block (cells shared by the tasks,
    /// `SharedCells`, are so because their tallies do not depend on order). On failure the error
    /// is the lowest failing block's, as in the chunked pass: runs are taken in increasing order
    /// and a task runs a run's blocks in order, a task runs no block after its first failing
    /// one, and blocks above the lowest failure found so far are not run, so every block below
    /// it was run by the task that took it.
    fn fold_blocks<T: Send + ColPasses>(
        &self,
        first: u64,
        end: u64,
        empty: &(dyn Fn() -> T + Sync),
        add: &(dyn Fn(&mut T, &Chunk) + Sync),
        append: fn(&mut T, T),
    ) -> Result<T, RunError> {
        use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
        /// One task's statistics, the blocks it ran (in increasing order) and, before each and
        /// after the last, how many values each region of each column had collected (column by
        /// column, region by region: `width` numbers a row).
        struct Task<T> {
            acc: T,
            blocks: Vec<u64>,
            starts: Vec<usize>,
            failure: Option<(u64, RunError)>,
        }
        let opts = self.opts;
        let size = opts.block_size.min(opts.draws);
        let failed = AtomicU64::new(u64::MAX);
        let next = AtomicU64::new(first);
        let n_tasks = usize::try_from(end.saturating_sub(first))
            .unwrap_or(usize::MAX)
            .min(rayon::current_num_threads())
            .max(1);
        let mut tasks: Vec<Task<T>> = (0..n_tasks)
            .into_par_iter()
            .with_max_len(1)
            .map(|_| {
                let mut t = Task {
                    acc: empty(),
                    blocks: Vec::new(),
                    starts: Vec::new(),
                    failure: None,
                };
                let mut d = self.plan.empty_draws();
                let mut kept = Vec::new();
                let mut taken = first..first;
                while let Some(b) = taken.next().or_else(|| {
                    taken = take_run(&next, end, n_tasks);
                    taken.next()
                }) {
                    if b > failed.load(Relaxed) {
                        break;
                    }
                    if let Err(e) =
                        self.plan
                            .run_blocks_into(opts, b, b + 1, self.progress, &mut d, &mut kept)
                    {
                        failed.fetch_min(b, Relaxed);
                        t.failure = Some((b, e));
                        break;
                    }
                    t.blocks.push(b);
                    note_lengths(&mut t.acc, &mut t.starts);
                    let ch = Chunk {
                        d: &d,
                        row0: 0,
                        first_block: b,
                        end_block: b + 1,
                        block: size,
                        draws: opts.draws,
                    };
                    add(&mut t.acc, &ch);
                }
                // And after the last block: each block's values end where the next one's start.
                note_lengths(&mut t.acc, &mut t.starts);
                // The draws' buffers go as the task ends; only the statistics wait.
                t
            })
            .collect();
        if let Some((_, e)) = tasks
            .iter_mut()
            .filter_map(|t| t.failure.take())
            .min_by_key(|(b, _)| *b)
        {
            return Err(e);
        }
        if tasks.len() == 1 {
            // One task ran every block, in order.
            let t = tasks.pop().expect("one task");
            return Ok(t.acc);
        }
        // Each task's collected values, taken out before the statistics are appended, then put
        // back together block by block, region by region.
        let regions: Vec<usize> = tasks[0]
            .acc
            .col_passes()
            .map(|p| p.collected.len())
            .collect();
        let width: usize = regions.iter().sum();
        let mut parts: Vec<Vec<Vec<f64>>> = (0..width)
            .map(|_| Vec::with_capacity(tasks.len()))
            .collect();
        for t in &mut tasks {
            let values = t
                .acc
                .col_passes()
                .flat_map(|p| std::mem::take(&mut p.collected));
            for (part, v) in parts.iter_mut().zip(values) {
                part.push(v);
            }
        }
        // Every task has each column's regions (`ColPass::new` sizes them from the grid).
        debug_assert!(parts.iter().all(|p| p.len() == tasks.len()));
        let mut order: Vec<(u64, usize, usize)> = tasks
            .iter()
            .enumerate()
            .flat_map(|(i, t)| t.blocks.iter().enumerate().map(move |(k, &b)| (b, i, k)))
            .collect();
        order.sort_unstable();
        let starts: Vec<&[usize]> = tasks.iter().map(|t| t.starts.as_slice()).collect();
        let mut collected = parts
            .into_par_iter()
            .enumerate()
            .map(|(at, part)| collected_in_block_order(&order, &starts, width, at, part))
            .collect::<Vec<_>>()
            .into_iter();
        let mut accs = tasks.into_iter().map(|t| t.acc);
        let mut acc = accs.next().expect("at least one task");
        for o in accs {
            append(&mut acc, o);
        }
        for (p, n) in acc.col_passes().zip(regions) {
            p.collected = collected.by_ref().take(n).collect();
        }
        acc.in_block_order();
        Ok(acc)
    }
}

/// The next run of blocks not yet taken by the `tasks` tasks of [`Regenerate::fold_blocks`]
/// (`next` is the first of them, `end` the pass's end): empty once every block is. A run is half
/// of a task's fair share of the blocks left, at least one, so the runs shrink as the blocks
/// left do, and the last ones, a block each, even out the tasks' ends.
fn take_run(next: &std::sync::atomic::AtomicU64, end: u64, tasks: usize) -> Range<u64> {
    use std::sync::atomic::Ordering::Relaxed;
    let mut at = next.load(Relaxed);
    loop {
        if at >= end {
            return end..end;
        }
        let k = ((end - at) / (2 * tasks as u64).max(1)).max(1);
        match next.compare_exchange_weak(at, at + k, Relaxed, Relaxed) {
            Ok(_) => return at..at + k,
            Err(now) => at = now,
        }
    }
}

/// Append to `starts` how many values each region of each column of `acc` has collected
/// (column by column, region by region): a row of [`Regenerate::fold_blocks`]'s table.
fn note_lengths(acc: &mut impl ColPasses, starts: &mut Vec<usize>) {
    for p in acc.col_passes() {
        starts.extend(p.collected.iter().map(Vec::len));
    }
}

/// The values that one region (the `at`-th of the `width` regions of every column, counted
/// column by column) collected in the tasks of [`Regenerate::fold_blocks`], in block order:
/// `parts[i]` is what task `i` collected there, `starts[i]` its table of lengths before each of
/// its blocks and after the last (`width` a row), and `order` the blocks as `(block, task, k)`,
/// sorted: block `block` was task `task`'s `k`-th. The tasks' values are freed once copied, so
/// that at the end of a pass only the regions being copied are held twice, not all of them.
fn collected_in_block_order(
    order: &[(u64, usize, usize)],
    starts: &[&[usize]],
    width: usize,
    at: usize,
    parts: Vec<Vec<f64>>,
) -> Vec<f64> {
    let mut v = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for &(_, i, k) in order {
        let s = starts[i];
        v.extend_from_slice(&parts[i][s[k * width + at]..s[(k + 1) * width + at]]);
    }
    v
}

impl Regenerate<'_> {
    /// [`Regenerate::fold_blocks`] into statistics holding one [`ColPass`] per column of
    /// `grids`, whose tasks share one set of cells when the grids have more than `fold_cells`
    /// (`SharedCells`): `empty` is then given the shared cells, for passes without cells of
    /// their own, each task flushes into them after each block, and the result gets them back.
    /// Pass 1's `sieve`, when given, takes what is flushed into shared cells (and without them
    /// nothing more: its ranks are then found by a later pass).
    #[allow(clippy::too_many_arguments)]
    fn fold_blocks_sharing<T: Send + ColPasses>(
        &self,
        first: u64,
        end: u64,
        grids: &[Grid],
        fold_cells: usize,
        sieve: Option<&Sieve>,
        empty: &(dyn Fn(Option<&SharedCells>) -> T + Sync),
        add: &(dyn Fn(&mut T, &Chunk) + Sync),
        append: fn(&mut T, T),
    ) -> Result<T, RunError> {
        let shared = SharedCells::over(grids, fold_cells);
        let fold = |a, b| {
            self.fold_blocks(
                a,
                b,
                &|| empty(shared.as_ref()),
                &|acc, ch| {
                    add(acc, ch);
                    if let Some(s) = &shared {
                        s.flush(acc.col_passes(), sieve);
                    }
                },
                append,
            )
        };
        let mut acc = match sieve {
            None => fold(first, end)?,
            Some(sv) => {
                // In rounds, the sieve settling at each round's end.
                let (size, blocks) = self.size_and_blocks()?;
                let mut acc = fold(first, first)?;
                sv.by_rounds((first, end), size, blocks, |a, b| {
                    append(&mut acc, fold(a, b)?);
                    Ok(())
                })?;
                acc
            }
        };
        if let Some(s) = shared {
            s.into_passes(acc.col_passes(), sieve);
        }
        Ok(acc)
    }
}

/// Statistics holding one [`ColPass`] per column, in column order.
trait ColPasses {
    fn col_passes(&mut self) -> impl Iterator<Item = &mut ColPass>;

    /// Put in block order what appending statistics of blocks out of order leaves otherwise
    /// (the moments' trees; the collected values are put in order by `fold_blocks`).
    fn in_block_order(&mut self) {}
}

impl ColPasses for First {
    fn col_passes(&mut self) -> impl Iterator<Item = &mut ColPass> {
        self.cols.iter_mut().map(|c| &mut c.pass)
    }

    /// Each column's tree pushed again node by node in the order of their first draws: the
    /// nodes a pass in draw order would have made (a node combines only with its sibling).
    fn in_block_order(&mut self) {
        for c in &mut self.cols {
            let mut nodes = std::mem::take(&mut c.tree.nodes);
            nodes.sort_by_key(|&(level, i, _)| i << level);
            for n in nodes {
                c.tree.push_node(n);
            }
        }
    }
}

impl ColPasses for Vec<ColPass> {
    fn col_passes(&mut self) -> impl Iterator<Item = &mut ColPass> {
        self.iter_mut()
    }
}

impl Source for Regenerate<'_> {
    fn engine(&self) -> Option<&Regenerate<'_>> {
        Some(self)
    }

    fn chunks(
        &self,
        first: u64,
        end: u64,
        f: &mut dyn FnMut(&Chunk) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        let size = self.opts.block_size.min(self.opts.draws);
        let mut b = first;
        // One buffer for the whole pass: its pages are touched once, not once per chunk.
        let mut d = self.plan.empty_draws();
        let mut kept = Vec::new();
        while b < end {
            let e = (b + self.chunk_blocks.max(1)).min(end);
            self.plan
                .run_blocks_into(self.opts, b, e, self.progress, &mut d, &mut kept)?;
            f(&Chunk {
                d: &d,
                row0: 0,
                first_block: b,
                end_block: e,
                block: size,
                draws: self.opts.draws,
            })?;
            b = e;
        }
        Ok(())
    }
}

/// Where a run keeps its draws as pass 1 produces them, in draw order (a file of the kept draws,
/// say: see [`crate::draws_out::Sink`]).
pub trait DrawSink: Send {
    /// Take rows `rows` of `d`: the kept draws of consecutive blocks, the first of which starts at
    /// draw index `start`. A failure is described for the user (naming the file).
    fn put(&mut self, d: &Draws, rows: Range<usize>, start: u64) -> Result<(), String>;
}

/// A source whose chunks also go to a [`DrawSink`], in order, before the pass sees them.
pub struct Keeping<'a, 's> {
    inner: &'a dyn Source,
    sink: std::sync::Mutex<&'a mut (dyn DrawSink + 's)>,
    /// The run's block size (its draws per block).
    block: u64,
}

impl<'a, 's> Keeping<'a, 's> {
    /// `inner`'s chunks, also handed to `sink`; `block` is the run's draws per block.
    pub fn new(inner: &'a dyn Source, sink: &'a mut (dyn DrawSink + 's), block: u64) -> Self {
        Keeping {
            inner,
            sink: std::sync::Mutex::new(sink),
            block,
        }
    }
}

impl Source for Keeping<'_, '_> {
    fn chunks(
        &self,
        first: u64,
        end: u64,
        f: &mut dyn FnMut(&Chunk) -> Result<(), RunError>,
    ) -> Result<(), RunError> {
        self.inner.chunks(first, end, &mut |ch| {
            self.sink
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .put(ch.d, ch.rows(), ch.first_block * self.block)
                .map_err(RunError::Output)?;
            f(ch)
        })
    }
}

// ---------------------------------------------------------------------------------------------
/// The correlated inputs of pilot draws that pass 1 regenerates rather than holding them from
/// the pilot, kept as pass 1 meets them for the achieved correlations ([`Setup::achieved`]). A
/// run whose grids need only the first 2¹⁶ draws runs only those as its pilot, so that the draws
/// up to 2¹⁸ are not held whole (most of a 10^6-draw run's memory): their correlated inputs are
/// all it needs of them.
///
/// Each of those inputs gets a column holding the pilot's rows of it with room for every draw of
/// the blocks (the pilot's own column is freed); each block's rows go to its place (the blocks
/// finish in any order), and the room a skipped draw leaves is closed when they are given back
/// ([`Setup::add_pilot_inputs`]): the pilot's rows are copied once, the blocks' rows once.
struct PilotInputs {
    /// The blocks whose inputs are kept.
    blocks: Range<u64>,
    block: u64,
    /// The correlated inputs, and the pilot's rows before the blocks' (where their room starts).
    inputs: Vec<usize>,
    base: usize,
    state: std::sync::Mutex<KeptInputs>,
}

/// What [`PilotInputs`] holds while pass 1 runs.
#[derive(Default)]
struct KeptInputs {
    /// One column per correlated input: the pilot's rows, then room for the blocks'.
    columns: Vec<Vec<f64>>,
    /// The blocks kept: the block, its kept rows and the draws it skipped.
    blocks: Vec<(u64, usize, Vec<u64>)>,
}

impl PilotInputs {
    /// To keep the correlated inputs of `blocks` of the run (`opts`, blocks of `block` draws),
    /// after the pilot's rows of them (its columns of them are freed).
    fn new(
        plan: &Plan,
        pilot: &mut Draws,
        blocks: Range<u64>,
        block: u64,
        opts: &RunOptions,
    ) -> PilotInputs {
        // Nothing is taken over when there is nothing to keep: the pilot holds every draw of the
        // correlations, which may be read while pass 1 runs.
        let inputs = match &plan.set.correlation {
            Some(c) if !blocks.is_empty() => c.inputs.clone(),
            _ => Vec::new(),
        };
        let room = opts.block_draws(blocks.start, blocks.end);
        let base = pilot.n;
        // Each column allocated zeroed (`vec!` of 0.0: `calloc`, whose fresh mappings the
        // kernel zeroes page by page as the blocks' rows are first written, by whichever task
        // keeps them) rather than grown and filled here: filling 2 MB a column for a 10^6-draw
        // run kept one thread faulting its pages in for 10 ms while the other waited.
        let columns = inputs
            .iter()
            .map(|&i| {
                let mut c = vec![0.0; base + room as usize];
                c[..base].copy_from_slice(&pilot.inputs[i][..base]);
                pilot.inputs[i] = Vec::new();
                c
            })
            .collect();
        PilotInputs {
            blocks,
            block,
            inputs,
            base,
            state: std::sync::Mutex::new(KeptInputs {
                columns,
                blocks: Vec::new(),
            }),
        }
    }

    /// Keep the inputs of the chunk's blocks among those wanted, with the draws they skipped.
    fn keep(&self, ch: &Chunk) {
        for c in ch.blocks() {
            if self.blocks.contains(&c.b) {
                let at = self.base + ((c.b - self.blocks.start) * self.block) as usize;
                let n = c.rows.len();
                let mut k = self.state.lock().unwrap_or_else(|e| e.into_inner());
                for (col, &i) in k.columns.iter_mut().zip(&self.inputs) {
                    col[at..at + n].copy_from_slice(&ch.d.inputs[i][c.rows.clone()]);
                }
                k.blocks.push((c.b, n, c.skipped.to_vec()));
            }
        }
    }
}

// The whole computation.

/// A run's pilot, its pass-1 grids and what the summary reads: the same in every shard.
pub struct Setup {
    pub pilot: Draws,
    /// Pilot rows measuring the achieved correlations (`None`: a shard's pilot, grids only).
    pub corr_rows: Option<usize>,
    pub grids: Vec<Grid>,
    pub queries: Queries,
    /// The achieved correlations, once computed ([`Setup::achieved`]).
    achieved: OnceLock<Result<Option<CorrelationSummary>, StreamError>>,
}

impl Setup {
    /// `pilot`: the run's draws from block 0 on, covering at least the draws numbered below
    /// `GRID_PILOT_DRAWS`, and below `PILOT_DRAWS` when `full` (or all draws).
    pub fn new(
        plan: &Plan,
        draws: u64,
        pilot: Draws,
        full: bool,
        o: &SummaryOptions,
        extra: &ReviewPoints,
        cfg: &StreamConfig,
    ) -> Setup {
        let Ok(setup) = Setup::growing(plan, draws, pilot, full, o, extra, cfg, |_, _| {
            Ok::<(), std::convert::Infallible>(())
        });
        setup
    }

    /// As [`Setup::new`], from a pilot that may hold only the draws numbered below
    /// `cfg.grid_pilot` (or all draws): when the grids need the wide pilot's draws, `grow(pilot,
    /// limit)` is called to append those numbered below `limit` that it lacks. The achieved
    /// correlations need the draws below `PILOT_DRAWS` too: those the pilot still lacks are
    /// added by [`Setup::add_pilot_inputs`] (or run by [`FirstPass::resume_at`]) before the
    /// correlations are read.
    #[allow(clippy::too_many_arguments)]
    fn growing<E>(
        plan: &Plan,
        draws: u64,
        mut pilot: Draws,
        full: bool,
        o: &SummaryOptions,
        extra: &ReviewPoints,
        cfg: &StreamConfig,
        grow: impl FnOnce(&mut Draws, u64) -> Result<(), E>,
    ) -> Result<Setup, E> {
        let queries = queries(plan, draws, o, extra);
        let grids_from = |pilot: &Draws, limit| {
            let rows = pilot_rows(pilot, limit);
            (
                rows,
                first_grids(plan, pilot, rows, &queries.ranks, draws, cfg),
            )
        };
        let (rows, (narrow, collected)) = grids_from(&pilot, cfg.grid_pilot);
        // A region in bins (not one value, not collected) may need a later pass.
        let binned = |g: &[Grid]| g.iter().any(|g| g.regions().iter().any(|r| r.bins > 1));
        // Within the pilot's draws (past them, the rows would depend on the block size).
        let wide = cfg
            .wide_pilot
            .min(if full { PILOT_DRAWS } else { GRID_PILOT_DRAWS });
        let costly = binned(&narrow) || collected > cfg.collect_budget as f64;
        if costly && wide > cfg.grid_pilot {
            grow(&mut pilot, wide)?;
        }
        let grids = if costly && pilot_rows(&pilot, wide) > rows {
            let (_, (wide_grids, _)) = grids_from(&pilot, wide);
            wide_grids
        } else {
            narrow
        };
        Ok(Setup {
            corr_rows: full.then(|| pilot_rows(&pilot, PILOT_DRAWS)),
            pilot,
            grids,
            queries,
            achieved: OnceLock::new(),
        })
    }

    /// Give the pilot back the correlated inputs pass 1 kept for it ([`PilotInputs`]), with
    /// those of its own draws, so that the achieved correlations read every draw numbered below
    /// `PILOT_DRAWS`. The pilot then holds only those inputs: its other columns are emptied, as
    /// its outcomes were ([`Draws::keep_inputs_only`]).
    fn add_pilot_inputs(&mut self, p: PilotInputs) -> Result<(), StreamError> {
        let KeptInputs {
            mut columns,
            mut blocks,
        } = p.state.into_inner().unwrap_or_else(|e| e.into_inner());
        if p.blocks.is_empty() {
            return Ok(());
        }
        blocks.sort_unstable_by_key(|(b, _, _)| *b);
        if !blocks.iter().map(|(b, _, _)| *b).eq(p.blocks.clone()) {
            return Err(StreamError::Inconsistent(format!(
                "pass 1 kept the inputs of {} of the pilot's blocks {}..{}",
                blocks.len(),
                p.blocks.start,
                p.blocks.end
            )));
        }
        // Each block's rows from its place to the end of those before it.
        let mut end = p.base;
        for (b, n, skipped) in blocks {
            let at = p.base + ((b - p.blocks.start) * p.block) as usize;
            for c in &mut columns {
                c.copy_within(at..at + n, end);
            }
            end += n;
            self.pilot.skipped.extend(skipped);
        }
        for c in self.pilot.inputs.iter_mut() {
            *c = Vec::new();
        }
        for (mut c, i) in columns.into_iter().zip(p.inputs) {
            c.truncate(end);
            self.pilot.inputs[i] = c;
        }
        self.pilot.n = end;
        if self.corr_rows.is_some() {
            self.corr_rows = Some(pilot_rows(&self.pilot, PILOT_DRAWS));
        }
        Ok(())
    }

    /// The achieved rank correlations of the correlated inputs on the pilot's draws (`None`
    /// without a correlation block), computed on the first call. An error for a shard's pilot,
    /// which holds no correlation sample.
    pub fn achieved(&self, plan: &Plan) -> Result<Option<CorrelationSummary>, StreamError> {
        self.achieved
            .get_or_init(|| match self.corr_rows {
                Some(rows) => Ok(correlation(plan, &self.pilot, rows)),
                None if plan.set.correlation.is_none() => Ok(None),
                None => Err(StreamError::Inconsistent(
                    "the pilot holds no correlation sample (a shard's pilot cannot finish a summary)"
                        .into(),
                )),
            })
            .clone()
    }

    /// Compute the pilot by running the engine: the blocks holding the draws numbered below
    /// `PILOT_DRAWS` when `full`, else below `GRID_PILOT_DRAWS`.
    pub fn run_pilot(plan: &Plan, opts: &RunOptions, full: bool) -> Result<Draws, RunError> {
        plan.run_blocks(opts, 0, pilot_blocks(opts, full), &|_| {})
    }

    /// The blocks whose draws the pilot of a setup made by [`Setup::new`] holds, from block 0
    /// ([`pilot_blocks`]); one made by [`FirstPass::new`] may hold fewer.
    pub fn pilot_blocks(&self, opts: &RunOptions) -> u64 {
        pilot_blocks(opts, self.corr_rows.is_some())
    }

    /// Empty pass-1 statistics.
    pub fn empty_first(&self, plan: &Plan) -> First {
        self.empty_first_sharing(plan, None)
    }

    /// Empty pass-1 statistics, whose passes have no cells of their own when `shared` holds them.
    fn empty_first_sharing(&self, plan: &Plan, shared: Option<&SharedCells>) -> First {
        let h = plan.model.horizon_years;
        First {
            kept: 0,
            skipped: 0,
            cols: self
                .grids
                .iter()
                .enumerate()
                .map(|(c, g)| ColFirst {
                    tree: Tree::default(),
                    le: Counts::new(self.queries.le[c].clone()),
                    lt: Counts::new(self.queries.lt[c].clone()),
                    pass: SharedCells::empty(shared, g),
                })
                .collect(),
            delay_whole: vec![vec![0; h + 2]; plan.entities.len()],
            breakeven: vec![vec![0; h + 1]; plan.entities.len()],
        }
    }

    /// Pass 1 over blocks `first..end`.
    pub fn first_pass(
        &self,
        plan: &Plan,
        src: &dyn Source,
        first: u64,
        end: u64,
    ) -> Result<First, RunError> {
        self.first_pass_sharing(plan, src, first, end, FOLD_CELLS, None, None)
    }

    /// [`Setup::first_pass`] over the blocks `first..end` of a part of the run (a shard's, an
    /// MPI rank's) that the engine runs, with a sieve when `cfg` asks for one and the pass counts
    /// brackets into bins: the pass-1 statistics, and what the sieve kept whole for the merge.
    pub fn first_pass_sieved(
        &self,
        plan: &Plan,
        src: &Regenerate,
        (first, end): (u64, u64),
        cfg: &StreamConfig,
    ) -> Result<(First, Option<SieveFinds>), RunError> {
        let sieve = Sieve::new(
            &self.grids,
            &self.queries.ranks,
            src.opts.draws,
            cfg.sieve_sigmas,
            cfg.sieve_budget,
        )
        .map(|s| s.with_rounds(cfg.sieve_round, first));
        let f = self.first_pass_keeping(plan, src, (first, end), None, sieve.as_ref())?;
        Ok((f, sieve.map(Sieve::finds)))
    }

    /// [`Setup::first_pass`], keeping the inputs of the pilot's blocks among them in `inputs`
    /// when given,
    /// and the values of the bins near the wanted ranks in `sieve` when given (which sees what
    /// the tasks flush into shared cells: they then share them whatever their number).
    fn first_pass_keeping(
        &self,
        plan: &Plan,
        src: &dyn Source,
        (first, end): (u64, u64),
        inputs: Option<&PilotInputs>,
        sieve: Option<&Sieve>,
    ) -> Result<First, RunError> {
        let fold_cells = if sieve.is_some() { 0 } else { FOLD_CELLS };
        self.first_pass_sharing(plan, src, first, end, fold_cells, inputs, sieve)
    }

    /// [`Setup::first_pass`], whose tasks over regenerated draws share one set of cells when the
    /// grids have more than `fold_cells` ([`SharedCells`]), keeping pilot inputs in `inputs` and
    /// what is flushed into the shared cells in `sieve`.
    #[allow(clippy::too_many_arguments)]
    fn first_pass_sharing(
        &self,
        plan: &Plan,
        src: &dyn Source,
        first: u64,
        end: u64,
        fold_cells: usize,
        inputs: Option<&PilotInputs>,
        sieve: Option<&Sieve>,
    ) -> Result<First, RunError> {
        let cols = columns(plan);
        if let Some(engine) = src.engine() {
            return self.first_pass_fused(
                plan,
                &cols,
                engine,
                (first, end),
                fold_cells,
                inputs,
                sieve,
            );
        }
        let mut acc = self.empty_first(plan);
        src.chunks(first, end, &mut |ch| {
            add_first(plan, &cols, &self.grids, &mut acc, ch, true);
            acc.skipped += ch.skipped();
            if let Some(p) = inputs {
                p.keep(ch);
            }
            Ok(())
        })?;
        Ok(acc)
    }

    /// Pass 1 over blocks the engine runs, each block tallied as soon as it is run
    /// ([`Regenerate::fold_blocks`]), into cells of each task's own or, with `shared`, into
    /// those.
    #[allow(clippy::too_many_arguments)]
    fn first_pass_fused(
        &self,
        plan: &Plan,
        cols: &[Col],
        engine: &Regenerate,
        (first, end): (u64, u64),
        fold_cells: usize,
        inputs: Option<&PilotInputs>,
        sieve: Option<&Sieve>,
    ) -> Result<First, RunError> {
        engine.fold_blocks_sharing(
            first,
            end,
            &self.grids,
            fold_cells,
            sieve,
            &|shared| self.empty_first_sharing(plan, shared),
            &|acc, ch| {
                add_first(plan, cols, &self.grids, acc, ch, false);
                acc.skipped += ch.skipped();
                if let Some(p) = inputs {
                    p.keep(ch);
                }
            },
            First::merge,
        )
    }
}

/// Most cells, over all columns, of a pass over regenerated draws whose tasks each keep cells of
/// their own (`Regenerate::fold_blocks`; about 1.5 MB a task): the tasks of a pass whose grids
/// have more (regions in bins, as from about 10^7 draws in pass 1 and at 10^9 in later passes)
/// share one set (`SharedCells`), so that its memory does not grow with the number of threads.
pub const FOLD_CELLS: usize = 1 << 16;

/// A later pass over blocks `first..end` with one grid per column (columns with no region are
/// skipped).
pub fn pass(
    plan: &Plan,
    src: &dyn Source,
    grids: &[Grid],
    first: u64,
    end: u64,
) -> Result<Vec<ColPass>, RunError> {
    pass_sharing(plan, src, grids, first, end, FOLD_CELLS)
}

/// [`pass`], whose tasks over regenerated draws share one set of cells when the grids have more
/// than `fold_cells` ([`SharedCells`]).
fn pass_sharing(
    plan: &Plan,
    src: &dyn Source,
    grids: &[Grid],
    first: u64,
    end: u64,
    fold_cells: usize,
) -> Result<Vec<ColPass>, RunError> {
    let cols = columns(plan);
    if let Some(engine) = src.engine() {
        return engine.fold_blocks_sharing(
            first,
            end,
            grids,
            fold_cells,
            None,
            &|shared| {
                grids
                    .iter()
                    .map(|g| SharedCells::empty(shared, g))
                    .collect::<Vec<ColPass>>()
            },
            &|acc, ch| add_pass(&cols, grids, acc, ch, false),
            |acc, o| {
                for (a, b) in acc.iter_mut().zip(o) {
                    a.merge(b);
                }
            },
        );
    }
    let mut acc: Vec<ColPass> = grids.iter().map(ColPass::new).collect();
    src.chunks(first, end, &mut |ch| {
        add_pass(&cols, grids, &mut acc, ch, true);
        Ok(())
    })?;
    Ok(acc)
}

/// Where a wanted rank is known to lie: `count` values in `[lo, hi]`, `offset` values below.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bracket {
    offset: u64,
    count: u64,
    lo: f64,
    hi: f64,
}

/// The search for every wanted order statistic of every column.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Per column: (rank, where it lies, or its value once found).
    targets: Vec<Vec<(u64, Result<f64, Bracket>)>>,
    passes: u32,
}

/// Find rank `r` among the cells of `cells` (whose values all lie above `offset` others).
fn locate(cells: &[Cell], offset: u64, r: u64) -> Result<f64, Bracket> {
    let mut cum = offset;
    for c in cells {
        if r < cum + c.n {
            let b = Bracket {
                offset: cum,
                count: c.n,
                lo: c.min,
                hi: c.max,
            };
            return if c.min == c.max || r == cum {
                Ok(c.min)
            } else if r == cum + c.n - 1 {
                Ok(c.max)
            } else {
                Err(b)
            };
        }
        cum += c.n;
    }
    unreachable!("rank {r} lies beyond the cells' {cum} values")
}

/// Where a rank lies in pass 1's results.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Spot {
    /// Position `.1`, in value order, of collected region `.0`'s values.
    Collected(usize, usize),
    /// Among the cells: its value, or the cell that brackets it.
    Cells(Result<f64, Bracket>),
}

/// Where rank `r` lies in pass 1's results on grid `g`: its cells in value order, with each
/// collected region's values in its place. Only the collected regions' sizes are read.
fn spot_first(g: &Grid, cells: &[Cell], collected: &[Vec<f64>], r: u64) -> Spot {
    let mut offset = 0;
    let mut at = 0;
    for (i, reg) in g.regions().iter().enumerate() {
        if reg.bins > 0 {
            continue;
        }
        // The cells before this collected region, then its values.
        let before = &cells[at..g.starts[i]];
        let n: u64 = before.iter().map(|c| c.n).sum();
        if r < offset + n {
            return Spot::Cells(locate(before, offset, r));
        }
        offset += n;
        let len = collected[i].len() as u64;
        if r < offset + len {
            return Spot::Collected(i, (r - offset) as usize);
        }
        offset += len;
        at = g.starts[i];
    }
    Spot::Cells(locate(&cells[at..], offset, r))
}

/// Per collected region, the values a sort puts at its wanted positions, found without sorting
/// the region ([`SortedAt`]).
struct Picked(Vec<SortedAt>);

impl Picked {
    /// For the spots of the wanted ranks among `collected` regions.
    fn new(collected: &[Vec<f64>], spots: &[Spot]) -> Picked {
        let mut wanted = vec![Vec::new(); collected.len()];
        for s in spots {
            if let Spot::Collected(i, j) = *s {
                wanted[i].push(j);
            }
        }
        Picked(
            wanted
                .into_iter()
                .zip(collected)
                .map(|(w, v)| SortedAt::new(v, w))
                .collect(),
        )
    }

    /// The value or bracket at `spot`, one of the spots `self` was made for.
    fn value(&self, spot: Spot) -> Result<f64, Bracket> {
        match spot {
            Spot::Collected(i, j) => Ok(self.0[i].at(j)),
            Spot::Cells(x) => x,
        }
    }
}

impl Resolver {
    /// Place each wanted rank (for the `first.kept` draws kept) in pass 1's cells and collected
    /// regions (`grids`: pass 1's grids).
    /// Only the wanted positions of the collected regions are found (`stats::SortedAt`): less
    /// work than sorting the regions (each expected to hold at most `collect_first` values, 2¹⁷
    /// in one process).
    pub fn new(first: &First, ranks: &[Vec<u64>], grids: &[Grid]) -> Resolver {
        let targets = first
            .cols
            .par_iter()
            .zip(ranks)
            .zip(grids)
            .map(|((c, rs), g)| {
                let p = &c.pass;
                let spots: Vec<Spot> = rs
                    .iter()
                    .map(|&r| spot_first(g, &p.cells, &p.collected, r))
                    .collect();
                let picked = Picked::new(&p.collected, &spots);
                rs.iter()
                    .zip(spots)
                    .map(|(&r, s)| (r, picked.value(s)))
                    .collect()
            })
            .collect();
        Resolver { targets, passes: 1 }
    }

    /// Grids of the next pass: each unresolved bracket collected when small, else subdivided.
    /// `None` when every rank is resolved.
    pub fn next(&self, cfg: &StreamConfig) -> Option<Vec<Grid>> {
        let brackets: Vec<Vec<Bracket>> = self
            .targets
            .iter()
            .map(|ts| {
                let mut br: Vec<Bracket> = ts.iter().filter_map(|(_, t)| t.err()).collect();
                br.sort_by(|a, b| a.lo.total_cmp(&b.lo));
                br.dedup();
                br
            })
            .collect();
        if brackets.iter().all(Vec::is_empty) {
            return None;
        }
        // Which brackets are collected: those of at most `collect_cap` values. Only counts
        // decide, so every shard of a run plans the same pass. Subdividing always ends: each
        // pass narrows a cell 4096-fold until its values are equal (resolved from its minimum
        // and maximum). Counts are exact in f64 (below 2^53).
        let counts: Vec<Vec<f64>> = brackets
            .iter()
            .map(|br| br.iter().map(|b| b.count as f64).collect())
            .collect();
        let collect = within_budget(&counts, cfg.collect_cap as f64, cfg.collect_budget as f64);
        Some(
            brackets
                .iter()
                .zip(&collect)
                .map(|(br, co)| {
                    Grid::new(
                        br.iter()
                            .zip(co)
                            .map(|(b, &k)| Region::new(b.lo, b.hi, if k { 0 } else { cfg.bins }))
                            .collect(),
                    )
                })
                .collect(),
        )
    }

    /// Take in a pass's results (merged over every block of the run).
    pub fn apply(&mut self, grids: &[Grid], mut res: Vec<ColPass>) -> Result<(), StreamError> {
        self.passes += 1;
        for ((ts, g), p) in self.targets.iter_mut().zip(grids).zip(res.iter_mut()) {
            for v in &mut p.collected {
                v.sort_by(f64::total_cmp);
            }
            for (r, t) in ts.iter_mut() {
                let Err(b) = *t else { continue };
                let i = g
                    .regions()
                    .iter()
                    .position(|x| x.lo == b.lo && x.hi == b.hi)
                    .ok_or_else(|| {
                        StreamError::Inconsistent("a bracket has no region in its pass".into())
                    })?;
                let reg = &g.regions()[i];
                if reg.bins == 0 {
                    let v = &p.collected[i];
                    if v.len() as u64 != b.count {
                        return Err(StreamError::Inconsistent(format!(
                            "a pass collected {} values where pass 1 counted {}: the draws differ between passes",
                            v.len(),
                            b.count
                        )));
                    }
                    *t = Ok(v[(*r - b.offset) as usize]);
                } else {
                    let cells = &p.cells[g.starts[i]..g.starts[i] + reg.bins as usize];
                    let n: u64 = cells.iter().map(|c| c.n).sum();
                    if n != b.count {
                        return Err(StreamError::Inconsistent(format!(
                            "a pass counted {n} values where the previous one counted {}: the draws differ between passes",
                            b.count
                        )));
                    }
                    *t = locate(cells, b.offset, *r);
                }
            }
        }
        Ok(())
    }

    pub fn passes(&self) -> u32 {
        self.passes
    }
}

/// A column's statistics once every wanted rank is resolved.
struct Resolved {
    n: usize,
    at: HashMap<u64, f64>,
    le: Counts,
    lt: Counts,
}

impl OrderStats for Resolved {
    fn len(&self) -> usize {
        self.n
    }
    fn at(&self, r: usize) -> f64 {
        self.at[&(r as u64)]
    }
    fn count_le(&self, x: f64) -> usize {
        self.le
            .count(x)
            .expect("thresholds are recorded before pass 1") as usize
    }
    fn count_lt(&self, x: f64) -> usize {
        self.lt
            .count(x)
            .expect("thresholds are recorded before pass 1") as usize
    }
}

/// Achieved rank correlations of the correlated inputs, on the pilot's draws.
fn correlation(plan: &Plan, pilot: &Draws, rows: usize) -> Option<CorrelationSummary> {
    let c = plan.set.correlation.as_ref()?;
    let names = c
        .inputs
        .iter()
        .map(|&i| plan.set.inputs[i].param.path.clone())
        .collect();
    // One task an input: ranking a continuous input (a sort) costs several times a discrete
    // one (a count), and rayon's halves would leave one thread most of the sorts.
    let ranked: Vec<Vec<f64>> = c
        .inputs
        .par_iter()
        .with_max_len(1)
        .map(|&a| ranks(&pilot.inputs[a][..rows]))
        .collect();
    let achieved = spearman_matrix(&ranked);
    Some(CorrelationSummary {
        draws: rows,
        inputs: names,
        target: c.rank.clone(),
        achieved,
    })
}

/// Why a streamed summary failed.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamError {
    Run(RunError),
    /// Every draw was skipped.
    NoDraws {
        skipped: u64,
    },
    /// An internal inconsistency (e.g. shards or passes that disagree).
    Inconsistent(String),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Run(e) => write!(f, "{e}"),
            StreamError::NoDraws { skipped } => {
                write!(f, "all {skipped} draws gave non-finite outcomes")
            }
            StreamError::Inconsistent(m) => write!(f, "{m}"),
        }
    }
}

impl From<RunError> for StreamError {
    fn from(e: RunError) -> Self {
        StreamError::Run(e)
    }
}

/// The passes after pass 1 of a run, as a loop its caller drives: `next` gives the grids of the
/// next pass (none when every wanted order statistic is known), the caller runs that pass over
/// every block however it runs blocks (in this process, on shards, on MPI ranks, from a
/// checkpoint, or from files) and hands the merged results to `apply`; `finish` assembles the
/// summary. Nothing here does I/O or decides when to stop: a caller that only plans the next pass
/// (`merge --next-pass`) stops after `next`.
pub struct Passes<'a> {
    plan: &'a Plan,
    setup: &'a Setup,
    first: First,
    res: Resolver,
    meta: Metadata,
    o: &'a SummaryOptions,
    extra: &'a ReviewPoints,
    cfg: &'a StreamConfig,
}

impl<'a> Passes<'a> {
    /// Start from merged pass-1 statistics of the whole run: those of part of it are refused.
    pub fn new(
        plan: &'a Plan,
        setup: &'a Setup,
        first: First,
        meta: Metadata,
        o: &'a SummaryOptions,
        extra: &'a ReviewPoints,
        cfg: &'a StreamConfig,
    ) -> Result<Passes<'a>, StreamError> {
        if first.kept.checked_add(first.skipped) != Some(meta.draws) {
            return Err(StreamError::Inconsistent(format!(
                "pass 1 counted {} kept and {} skipped draws of a run of {}",
                first.kept, first.skipped, meta.draws
            )));
        }
        if first.kept == 0 {
            return Err(StreamError::NoDraws {
                skipped: first.skipped,
            });
        }
        let n = first.kept;
        let ranks = if n == meta.draws {
            setup.queries.ranks.clone()
        } else {
            queries(plan, n, o, extra).ranks
        };
        let res = Resolver::new(&first, &ranks, &setup.grids);
        Ok(Passes {
            plan,
            setup,
            first,
            res,
            meta,
            o,
            extra,
            cfg,
        })
    }

    /// Resolve the ranks whose bins pass 1's sieve kept whole (those it did not keep wait for
    /// the next pass, as before).
    pub(crate) fn sieved(&mut self, s: Sieve) -> Result<(), StreamError> {
        s.resolve(&mut self.res, &self.first)
    }

    /// The cells of pass 1's merged statistics holding a rank left to find, per column, each
    /// with no values yet: what a merge asks of the parts' sieves ([`Passes::sieved_parts`]).
    pub fn sieve_wanted(&self) -> Vec<HashMap<u64, Vec<f64>>> {
        self.res
            .targets
            .iter()
            .zip(&self.first.cols)
            .map(|(ts, c)| {
                let mut wanted = HashMap::new();
                // The walk that resolves them, asked for every cell it would read.
                let _ = resolve_in_cells(&mut ts.clone(), &c.pass.cells, |i| {
                    wanted.insert(i as u64, Vec::new());
                    None
                });
                wanted
            })
            .collect()
    }

    /// Resolve the ranks in the cells of `found` (from [`Passes::sieve_wanted`]) whose values
    /// the parts' sieves gave in full (the others wait for the next pass, as before).
    pub fn sieved_parts(
        &mut self,
        mut found: Vec<HashMap<u64, Vec<f64>>>,
    ) -> Result<(), StreamError> {
        for ((ts, c), f) in self
            .res
            .targets
            .iter_mut()
            .zip(&self.first.cols)
            .zip(&mut found)
        {
            resolve_in_cells(ts, &c.pass.cells, |i| f.remove(&(i as u64)))?;
        }
        Ok(())
    }

    /// As [`Passes::sieved`], but only when the sieve finds every rank left: otherwise nothing is
    /// taken from it, and the later passes are those of a pass 1 without a sieve. A checkpointed
    /// run takes this, so that its later passes' grids do not depend on whether pass 1 had a
    /// sieve: resumed in a later pass, its pass 1 read back has none, and the pass's saved state
    /// (kept for its grids) is found again.
    pub(crate) fn sieved_whole(&mut self, s: Sieve) -> Result<(), StreamError> {
        let mut res = self.res.clone();
        s.resolve(&mut res, &self.first)?;
        if res.next(self.cfg).is_none() {
            self.res = res;
        }
        Ok(())
    }

    /// The grids of the next pass, or none when the summary can be finished.
    pub fn next(&self) -> Option<Vec<Grid>> {
        self.res.next(self.cfg)
    }

    /// Take a pass's results over every block (merged), run with the grids `next` gave.
    pub fn apply(&mut self, grids: &[Grid], results: Vec<ColPass>) -> Result<(), StreamError> {
        self.res.apply(grids, results)
    }

    /// Run every remaining pass with `pass` (the grids in, the merged results over every block
    /// out) and finish: the one loop every way of running passes shares.
    pub fn run<E, F>(mut self, pass: &mut F) -> Result<(Summary, u32), E>
    where
        E: From<StreamError>,
        F: FnMut(&[Grid]) -> Result<Vec<ColPass>, E>,
    {
        while let Some(grids) = self.next() {
            let r = pass(&grids)?;
            self.apply(&grids, r)?;
        }
        Ok(self.finish()?)
    }

    /// The summary, once `next` gives no further pass; and the number of passes made.
    pub fn finish(self) -> Result<(Summary, u32), StreamError> {
        let Passes {
            plan,
            setup,
            first,
            res,
            meta,
            o,
            extra,
            cfg,
        } = self;
        if res.next(cfg).is_some() {
            return Err(StreamError::Inconsistent(
                "the summary was finished before its last pass".into(),
            ));
        }
        let n = first.kept;
        // Every draw of the run, kept or skipped: the leaves of the moments' tree.
        let draws = meta.draws;
        let passes = res.passes();
        let mut moments = Vec::new();
        let mut resolved = Vec::new();
        for (c, ts) in first.cols.into_iter().zip(res.targets) {
            let m = Tree::root(&c.tree.nodes, draws).ok_or_else(|| {
                StreamError::Inconsistent("the draws' moments do not cover the run".into())
            })?;
            moments.push(m.mean_sd());
            resolved.push(Resolved {
                n: n as usize,
                at: ts
                    .into_iter()
                    .map(|(r, v)| (r, v.expect("resolved")))
                    .collect(),
                le: c.le,
                lt: c.lt,
            });
        }
        let cs = ColumnStats {
            stats: resolved.iter().map(|r| r as &dyn OrderStats).collect(),
            moments,
            delay_whole: &first.delay_whole,
            breakeven: &first.breakeven,
        };
        let corr = setup.achieved(plan)?;
        Ok((
            summary::assemble(
                plan,
                &cs,
                corr,
                n as usize,
                first.skipped as usize,
                meta,
                o,
                extra,
            ),
            passes,
        ))
    }
}

/// Number of blocks of a run described by its metadata.
fn blocks_of(meta: &Metadata) -> u64 {
    meta.draws.div_ceil(meta.block_size.min(meta.draws))
}

/// Summarise a run whose draws are all in memory (at least one kept draw: a run with every draw
/// skipped has nothing to summarise, which its caller reports).
pub fn summarise(
    plan: &Plan,
    d: &Draws,
    meta: Metadata,
    o: &SummaryOptions,
    extra: &ReviewPoints,
) -> Summary {
    summarise_draws(plan, d, meta, o, extra)
        .expect("the draws in memory hold at least one kept draw")
}

/// Summarise a run whose draws are all in memory.
pub fn summarise_draws(
    plan: &Plan,
    d: &Draws,
    meta: Metadata,
    o: &SummaryOptions,
    extra: &ReviewPoints,
) -> Result<Summary, StreamError> {
    let cfg = StreamConfig::default();
    let blocks = blocks_of(&meta);
    let src = InMemory {
        d,
        block: meta.block_size.min(meta.draws),
        draws: meta.draws,
    };
    let pilot = d.clone_rows(pilot_rows(d, PILOT_DRAWS));
    let setup = Setup::new(plan, meta.draws, pilot, true, o, extra, &cfg);
    let first = setup.first_pass(plan, &src, 0, blocks)?;
    let r = Passes::new(plan, &setup, first, meta, o, extra, &cfg)?.run(&mut |g| -> Result<
        _,
        StreamError,
    > {
        Ok(pass(plan, &src, g, 0, blocks)?)
    })?;
    Ok(r.0)
}

/// Call `f` with `inner`, or with `inner` passing its chunks to `keep` first when there is one.
fn keeping<T>(
    inner: &dyn Source,
    block: u64,
    keep: &mut Option<&mut dyn DrawSink>,
    f: &mut dyn FnMut(&dyn Source) -> Result<T, RunError>,
) -> Result<T, RunError> {
    match keep {
        Some(sink) => f(&Keeping::new(inner, &mut **sink, block)),
        None => f(inner),
    }
}

/// Whether [`FirstPass::resume_sieved_at`] goes on with the saved sieve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restored {
    Yes,
    /// The state is no state that sieve could reach or does not fit pass 1's statistics, or
    /// pass 1 keeps no sieve or resumes at its first block (where it starts one afresh, without
    /// reading the state): it goes on without the saved one.
    Unfit,
    /// The file it was read from is not the one saved (its checksum does not match): pass 1
    /// goes on without a sieve.
    Damaged,
}

/// Pass 1 of a run in one process (or of a shard), taken range by range in block order from any
/// block: the blocks whose draws the pilot holds are summarised from it, not run again, and the
/// rest are regenerated.
///
/// A run started by [`FirstPass::new`] runs as its pilot only the draws its grids are made from
/// (the first `cfg.grid_pilot`, or the wide pilot's when the grids need those): the achieved
/// correlations' draws beyond them (up to `PILOT_DRAWS`) are regenerated by pass 1 as any other,
/// which keeps only their correlated inputs (`PilotInputs`). Held whole, they would be most of
/// a 10^6-draw run's memory. (A run resumed past the pilot's blocks runs them all again instead:
/// [`FirstPass::resume_at`].)
pub struct FirstPass<'a> {
    /// The run's engine, which regenerates the blocks the pilot does not hold (and reports
    /// their progress).
    src: &'a Regenerate<'a>,
    setup: Setup,
    /// The blocks from block 0 whose draws the pilot holds, and those holding the draws
    /// numbered below `PILOT_DRAWS` (the correlations' draws; `held` when it holds them all).
    held: u64,
    corr_blocks: u64,
    /// Once pass 1 has passed the pilot's blocks: the correlations' inputs kept as it goes.
    inputs: Option<PilotInputs>,
    /// The block the next range starts at.
    next: u64,
    /// `StreamConfig::sieve_sigmas`, `sieve_budget` and `sieve_round` (0 sigmas: no sieve), and the
    /// sieve of a pass 1 started at its first block `begin` (0 for a run's, a shard's first), from
    /// one range to the next until [`FirstPass::take_sieve`].
    sieve_sigmas: f64,
    sieve_budget: u64,
    sieve_round: u64,
    sieve: Option<Sieve>,
    begin: u64,
}

impl<'a> FirstPass<'a> {
    /// Run the pilot of the run `src` regenerates (its grids' draws) and make its pass-1 grids
    /// and queries. `src`'s progress is called with the draws pass 1 finishes, those of blocks
    /// the pilot holds included (the pilot's own run is not counted: pass 1 counts its blocks).
    pub fn new(
        src: &'a Regenerate<'a>,
        o: &SummaryOptions,
        extra: &ReviewPoints,
        cfg: &StreamConfig,
    ) -> Result<FirstPass<'a>, StreamError> {
        let (plan, opts) = (src.plan, src.opts);
        Plan::block_count(opts)?;
        let corr_blocks = pilot_blocks(opts, true);
        let mut held = blocks_below(opts, cfg.grid_pilot).min(corr_blocks);
        let pilot = plan.run_blocks(opts, 0, held, &|_| {})?;
        let setup = Setup::growing(plan, opts.draws, pilot, true, o, extra, cfg, |p, limit| {
            let end = blocks_below(opts, limit).min(corr_blocks);
            grow_pilot(plan, opts, p, &mut held, end)
        })?;
        Ok(FirstPass {
            src,
            setup,
            held,
            corr_blocks,
            inputs: None,
            next: 0,
            sieve_sigmas: cfg.sieve_sigmas,
            sieve_budget: cfg.sieve_budget,
            sieve_round: cfg.sieve_round,
            sieve: None,
            begin: 0,
        })
    }

    /// Pass 1 of the run `src` regenerates from a setup whose pilot holds every draw it needs
    /// ([`Setup::new`]: a shard's, or a run's whole pilot), from block `first`, with the sieve
    /// `cfg` asks for (a shard's, [`StreamConfig::part`]) when it starts there in this process:
    /// a shard resumed past its first block has the one saved with its state, if it is given it
    /// ([`FirstPass::resume_sieved_at`]), else none.
    pub fn holding(
        src: &'a Regenerate<'a>,
        setup: Setup,
        first: u64,
        cfg: &StreamConfig,
    ) -> FirstPass<'a> {
        let held = setup.pilot_blocks(src.opts);
        FirstPass {
            src,
            setup,
            held,
            corr_blocks: held,
            inputs: None,
            next: first,
            sieve_sigmas: cfg.sieve_sigmas,
            sieve_budget: cfg.sieve_budget,
            sieve_round: cfg.sieve_round,
            sieve: None,
            begin: first,
        }
    }

    /// The run's pilot, grids and queries (the correlations are read from [`FirstPass::finish`]'s:
    /// the pilot lacks some of their draws until then).
    pub(crate) fn setup(&self) -> &Setup {
        &self.setup
    }

    /// Resume pass 1 at block `start` (its blocks before were summarised by an earlier attempt).
    /// The correlations' inputs of those blocks are not met again: when `start` is past the
    /// pilot's blocks, the pilot is given every draw numbered below `PILOT_DRAWS`, as a
    /// checkpointed run's pilot was before.
    pub fn resume_at(&mut self, start: u64) -> Result<(), RunError> {
        assert!(
            self.inputs.is_none() && self.next <= start,
            "pass 1 resumes before it starts"
        );
        if start > self.next {
            // Blocks passed over are not offered to the sieve: it could no longer find a rank
            // (`resume_sieved_at` restores the state it had after them).
            self.sieve = None;
        }
        if start > self.held {
            let pilot = &mut self.setup.pilot;
            grow_pilot(
                self.src.plan,
                self.src.opts,
                pilot,
                &mut self.held,
                self.corr_blocks,
            )?;
            self.setup.corr_rows = Some(pilot_rows(&self.setup.pilot, PILOT_DRAWS));
        }
        self.next = start;
        Ok(())
    }

    /// Pass 1 over blocks `first..end`, which follow the blocks of the earlier calls, handing
    /// their draws to `keep` when given.
    pub fn blocks(
        &mut self,
        first: u64,
        end: u64,
        mut keep: Option<&mut dyn DrawSink>,
    ) -> Result<First, StreamError> {
        assert_eq!(first, self.next, "pass 1 takes its blocks in order");
        let (plan, opts) = (self.src.plan, self.src.opts);
        let size = opts.block_size.min(opts.draws);
        let mid = end.min(self.held).max(first);
        // A sieve sees every value of the pass when the pass starts at its first block in this
        // process (a resumed pass 1 has none, unless restored as it was saved with the pass's
        // statistics: `resume_sieved_at`) over blocks run and tallied at once (a run keeping its draws takes them in chunks, counted into
        // each task's own cells). It is kept from one range to the next, as a checkpointed run
        // takes its chunks; a range keeping its draws ends it.
        if keep.is_some() {
            self.sieve = None;
        } else if first == self.begin {
            let s = &self.setup;
            self.sieve = Sieve::new(
                &s.grids,
                &s.queries.ranks,
                opts.draws,
                self.sieve_sigmas,
                self.sieve_budget,
            )
            .map(|s| s.with_rounds(self.sieve_round, self.begin));
        }
        let sieve = self.sieve.take();
        let mut acc = None;
        if first < mid {
            // The pilot's values are counted into cells of their own: the sieve is offered
            // those of the range's blocks here, before any shared ones (which come only after
            // the pilot's last block).
            if let Some(sv) = &sieve {
                // Round by round, settling at each round's end, as when the blocks are run.
                let (pilot, cols) = (&self.setup.pilot, columns(plan));
                let rows_to = |b| pilot_rows(pilot, opts.draws_to(b));
                let blocks = Plan::block_count(opts)?;
                sv.by_rounds((first, mid), size, blocks, |a, b| {
                    let rows = rows_to(a)..rows_to(b);
                    cols.par_iter().enumerate().for_each(|(c, &col)| {
                        let mut buf = Vec::new();
                        sv.offer(c, values(pilot, col, rows.clone(), &mut buf));
                    });
                    Ok::<(), RunError>(())
                })?;
            }
            let in_memory = InMemory {
                d: &self.setup.pilot,
                block: size,
                draws: opts.draws,
            };
            let setup = &self.setup;
            acc = Some(keeping(&in_memory, size, &mut keep, &mut |s| {
                setup.first_pass(plan, s, first, mid)
            })?);
            (self.src.progress)(opts.block_draws(first, mid));
        }
        if mid < end {
            let spawn = self.inputs.is_none();
            let (blocks, pilot) = (self.held..self.corr_blocks, &mut self.setup.pilot);
            let inputs: &PilotInputs = self.inputs.get_or_insert_with(|| {
                // Only the pilot's correlated inputs are read again (the achieved correlations).
                let correlated = plan.set.correlation.as_ref().map(|c| &c.inputs[..]);
                pilot.keep_inputs_only(correlated.unwrap_or_default());
                PilotInputs::new(plan, pilot, blocks, size, opts)
            });
            let (setup, src) = (&self.setup, self.src);
            let rest = rayon::in_place_scope(|scope| {
                // With every draw of the correlations held already (pass 1 keeps none of their
                // inputs, and the pilot's columns stay in place), they are computed beside the
                // rest of pass 1 (one task, taken by whichever thread is free), not alone at the
                // end; the outcome is kept in `setup` and read when the summary is finished.
                if spawn && inputs.blocks.is_empty() && setup.corr_rows.is_some() {
                    scope.spawn(|_| {
                        let _ = setup.achieved(plan);
                    });
                }
                keeping(src, size, &mut keep, &mut |s| {
                    setup.first_pass_keeping(plan, s, (mid, end), Some(inputs), sieve.as_ref())
                })
            })?;
            match &mut acc {
                Some(a) => a.merge(rest),
                None => acc = Some(rest),
            }
        }
        self.next = end;
        self.sieve = sieve;
        Ok(acc.unwrap_or_else(|| self.setup.empty_first(plan)))
    }

    /// Resume pass 1 at block `start` ([`FirstPass::resume_at`]) with the sieve an earlier
    /// attempt had there, in the state it saved (`Sieve::encode_state_to`) with pass 1's
    /// statistics `first` over the blocks before, read from `state` (as it is read: a saved
    /// sieve is not held whole beside the one restored); without one when the state is no state
    /// that sieve could reach (`Sieve::restore`), does not fit `first` (`Sieve::fits`), or pass
    /// 1 keeps none ([`Restored::Unfit`]), or when `state` is not what was saved
    /// ([`Restored::Damaged`]).
    pub fn resume_sieved_at(
        &mut self,
        start: u64,
        state: &mut BodyReader<impl std::io::Read>,
        first: &First,
    ) -> Result<Restored, RunError> {
        self.resume_at(start)?;
        if start > self.begin && self.sieve.is_none() {
            let (s, opts) = (&self.setup, self.src.opts);
            let sieve = Sieve::restore(
                state,
                &s.grids,
                &s.queries.ranks,
                opts.draws,
                self.sieve_sigmas,
                self.sieve_budget,
            )
            .map(|s| s.with_rounds(self.sieve_round, self.begin));
            // Read to its end, checksummed: a state read from a file is taken only once the
            // whole file is known to be the one saved.
            if !state.verified() {
                return Ok(Restored::Damaged);
            }
            self.sieve = sieve.filter(|s| s.fits(first));
        }
        Ok(if self.sieve.is_some() {
            Restored::Yes
        } else {
            Restored::Unfit
        })
    }

    /// Pass 1's sieve after the blocks taken so far, if it has one (its state:
    /// [`Sieve::encode_state_to`]).
    pub(crate) fn sieve(&self) -> Option<&Sieve> {
        self.sieve.as_ref()
    }

    /// Whether pass 1 keeps a sieve where it can (not with `--no-sieve`).
    pub(crate) fn sieving(&self) -> bool {
        self.sieve_sigmas > 0.0
    }

    /// The sieve of a pass 1 started at its first block in this process, in one range or several
    /// ([`Sieve`]): what it kept of the values near the wanted ranks, for [`Passes::sieved`].
    /// Taken once the pass is over: its ranks are resolved against every block's statistics.
    pub(crate) fn take_sieve(&mut self) -> Option<Sieve> {
        self.sieve.take()
    }

    /// The setup once pass 1 is over, its pilot holding the inputs of every draw the achieved
    /// correlations read.
    pub fn finish(mut self) -> Result<Setup, StreamError> {
        if let Some(inputs) = self.inputs.take() {
            self.setup.add_pilot_inputs(inputs)?;
        }
        Ok(self.setup)
    }
}

/// Give a pilot holding blocks `0..held` those up to `end` it lacks (none when it holds them).
fn grow_pilot(
    plan: &Plan,
    opts: &RunOptions,
    pilot: &mut Draws,
    held: &mut u64,
    end: u64,
) -> Result<(), RunError> {
    if end > *held {
        plan.run_blocks_onto(opts, *held, end, &|_| {}, pilot, &mut Vec::new())?;
        *held = end;
    }
    Ok(())
}

/// Run and summarise `opts.draws` draws without holding them: pass 1 and each further pass
/// regenerate the draws, and pass 1 hands them to `keep` when given (the kept draws, written
/// chunk by chunk as they come). Returns the summary and the number of passes.
#[allow(clippy::too_many_arguments)]
pub fn run_streamed(
    plan: &Plan,
    opts: &RunOptions,
    meta: Metadata,
    o: &SummaryOptions,
    extra: &ReviewPoints,
    cfg: &StreamConfig,
    progress: &(dyn Fn(u64) + Sync),
    keep: Option<&mut dyn DrawSink>,
) -> Result<(Summary, u32), StreamError> {
    let blocks = Plan::block_count(opts)?;
    let src = Regenerate {
        plan,
        opts,
        chunk_blocks: cfg.chunk_blocks,
        progress,
    };
    let mut p = FirstPass::new(&src, o, extra, cfg)?;
    let first = p.blocks(0, blocks, keep)?;
    let sieve = p.take_sieve();
    let setup = p.finish()?;
    let mut passes = Passes::new(plan, &setup, first, meta, o, extra, cfg)?;
    if let Some(s) = sieve {
        passes.sieved(s)?;
    }
    passes.run(&mut |g| Ok(pass(plan, &src, g, 0, blocks)?))
}

// ---------------------------------------------------------------------------------------------
// Binary encoding, for shard files (little-endian u64 and f64; every list preceded by its length).
//
// - [`First`]: kept, skipped; entities E, then per entity its whole-year delay counts and its
//   breakeven counts (each a list of u64); columns C, then per column: its tree nodes (level,
//   index, n as u64; mean, m2 as f64), its `le` thresholds (f64) and buckets (u64), the same for
//   `lt`, and its pass-1 [`ColPass`].
// - [`ColPass`]: number of cells, then the non-empty cells (index, n as u64; min, max as f64), then
//   the collected regions, each a list of f64.
// - grids (a pass plan): columns C, then per column its regions (lo, hi as f64; bins as u64).
// - [`SieveFinds`] (after a shard's or MPI rank's `First`): columns C (0 without a sieve), then
//   per column its cells kept, each its index (u64) and its values (a list of f64).

use crate::shard::{BodyReader, Reader, put_f64s, put_u64};

fn put_u64s(o: &mut Vec<u8>, v: &[u64]) {
    put_u64(o, v.len() as u64);
    for x in v {
        put_u64(o, *x);
    }
}

fn get_u64s(r: &mut Reader) -> Option<Vec<u64>> {
    let n = r.len(8)?;
    (0..n).map(|_| r.u64()).collect()
}

fn put_counts(o: &mut Vec<u8>, c: &Counts) {
    put_u64(o, c.at.len() as u64);
    put_f64s(o, &c.at);
    put_u64s(o, &c.buckets);
}

fn get_counts(r: &mut Reader) -> Option<Counts> {
    let n = r.len(8)?;
    let at = r.f64s(n)?;
    let buckets = get_u64s(r)?;
    (buckets.len() == at.len() + 1).then_some(Counts { at, buckets })
}

impl ColPass {
    pub fn encode(&self, o: &mut Vec<u8>) {
        put_u64(o, self.cells.len() as u64);
        let full: Vec<usize> = (0..self.cells.len())
            .filter(|&i| self.cells[i].n > 0)
            .collect();
        put_u64(o, full.len() as u64);
        for i in full {
            let c = &self.cells[i];
            put_u64(o, i as u64);
            put_u64(o, c.n);
            put_f64s(o, &[c.min, c.max]);
        }
        put_u64(o, self.collected.len() as u64);
        for v in &self.collected {
            put_u64(o, v.len() as u64);
            put_f64s(o, v);
        }
    }

    /// Add an encoded pass of the same grid to this one, cell by cell (an encoding holds only
    /// its non-empty cells; it is never expanded into a second full set); `None` when it is
    /// unreadable or its grid has another shape.
    pub fn add_encoded(&mut self, r: &mut Reader) -> Option<()> {
        self.add_encoded_noting(r, None).map(|_| ())
    }

    /// [`ColPass::add_encoded`], appending the encoding's own non-empty cells (index and cell,
    /// by increasing index as they are written) to `note` when given; the number of values the
    /// encoding holds (counted into its cells or collected).
    fn add_encoded_noting(
        &mut self,
        r: &mut Reader,
        mut note: Option<&mut Vec<(u64, Cell)>>,
    ) -> Option<u64> {
        if usize::try_from(r.u64()?).ok()? != self.cells.len() {
            return None;
        }
        let mut values = 0u64;
        let mut last = None;
        for _ in 0..r.len(32)? {
            let i = r.u64()?;
            let c = Cell {
                n: r.u64()?,
                min: r.f64()?,
                max: r.f64()?,
            };
            // As `encode` writes them: cells holding values, by increasing index, each with its
            // smallest value at most its largest.
            if c.n == 0
                || last.is_some_and(|l| l >= i)
                || c.min > c.max
                || c.min.is_nan()
                || c.max.is_nan()
            {
                return None;
            }
            last = Some(i);
            values = values.checked_add(c.n)?;
            let cell = self.cells.get_mut(usize::try_from(i).ok()?)?;
            cell.n.checked_add(c.n)?;
            cell.merge(&c);
            if let Some(note) = note.as_deref_mut() {
                note.push((i, c));
            }
        }
        if r.len(8)? != self.collected.len() {
            return None;
        }
        for v in &mut self.collected {
            let m = r.len(8)?;
            values = values.checked_add(m as u64)?;
            v.extend(r.f64s(m)?);
        }
        Some(values)
    }
}

impl First {
    pub fn encode(&self) -> Vec<u8> {
        let mut o = Vec::new();
        self.encode_to(&mut |part| o.extend_from_slice(part));
        o
    }

    /// [`First::encode`], handed to `out` in consecutive parts (a column at a time), so that the
    /// whole encoding is never held at once.
    pub fn encode_to(&self, out: &mut dyn FnMut(&[u8])) {
        let mut o = Vec::new();
        put_u64(&mut o, self.kept);
        put_u64(&mut o, self.skipped);
        put_u64(&mut o, self.delay_whole.len() as u64);
        for (d, b) in self.delay_whole.iter().zip(&self.breakeven) {
            put_u64s(&mut o, d);
            put_u64s(&mut o, b);
        }
        put_u64(&mut o, self.cols.len() as u64);
        for c in &self.cols {
            put_u64(&mut o, c.tree.nodes.len() as u64);
            for (l, i, m) in &c.tree.nodes {
                put_u64(&mut o, *l as u64);
                put_u64(&mut o, *i);
                put_u64(&mut o, m.n);
                put_f64s(&mut o, &[m.mean, m.m2]);
            }
            put_counts(&mut o, &c.le);
            put_counts(&mut o, &c.lt);
            c.pass.encode(&mut o);
            out(&o);
            o.clear();
        }
        out(&o);
    }

    /// Add encoded statistics of other blocks of the same run, as [`First::merge`] would, without
    /// expanding them into a second full set of cells; `None` when they are unreadable or were
    /// gathered with other grids or thresholds (then `self` is partly added to and must be
    /// dropped). Start from [`Setup::empty_first`]. With `part`, the blocks they must be of,
    /// checked as [`First::add_encoded_part`] checks a shard's (an MPI rank's, which sends its
    /// sieve values later, only for the cells asked for).
    pub fn add_encoded(&mut self, b: &[u8], part: Option<Part>) -> Option<()> {
        let mut r = Reader::new(b);
        self.add_encoded_noting(&mut r, None, part)?;
        r.done().then_some(())
    }

    /// A part's pass-1 statistics and what its sieve kept ([`First::encode`], then
    /// [`SieveFinds::encode`]; nothing after the statistics without a sieve): the body of a
    /// shard's file.
    pub fn encode_part(&self, finds: Option<&SieveFinds>) -> Vec<u8> {
        let mut o = Vec::new();
        self.encode_part_to(finds, &mut |part| o.extend_from_slice(part));
        o
    }

    /// [`First::encode_part`], handed to `out` in consecutive parts, so that the whole
    /// encoding is never held at once.
    pub fn encode_part_to(&self, finds: Option<&SieveFinds>, out: &mut dyn FnMut(&[u8])) {
        self.encode_to(out);
        if let Some(f) = finds {
            f.encode_to(out);
        }
    }

    /// Add a part's encoded statistics ([`First::encode_part`]) as [`First::add_encoded`] does,
    /// checking what its sieve kept can be read; returns where that starts in `b`, for
    /// [`add_encoded_finds`]. A part written before parts had sieves ends with its statistics:
    /// its sieve kept nothing.
    ///
    /// The statistics are checked to be of the part's blocks and draws (`part`, known from
    /// elsewhere than its statistics: a shard's header, an MPI rank's number): kept and skipped
    /// draws make up its draws, each column's moments cover each of its draws once (`tiles`)
    /// and count its kept draws, as do the column's threshold counts, its cells and collected
    /// values, and each entity's whole-year delays and breakeven years.
    ///
    /// What the sieve kept is checked against the part's own cells: each cell it gives is one
    /// the part counted values into, with exactly those values (as many, the smallest and the
    /// largest the cell's own, bit for bit), the cells of a column in increasing order; the
    /// columns none, or as many as the statistics'. A merge then takes a cell's joined values
    /// only when they are every part's.
    pub fn add_encoded_part(&mut self, b: &[u8], part: Part) -> Option<usize> {
        let mut r = Reader::new(b);
        let mut own = vec![Vec::new(); self.cols.len()];
        self.add_encoded_noting(&mut r, Some(&mut own), Some(part))?;
        let at = r.position();
        if !r.done() {
            SieveFinds::check_encoded(&mut r, &own)?;
        }
        r.done().then_some(at)
    }

    /// [`First::add_encoded`] of the encoding at `r`, leaving `r` after it, appending each
    /// column's own non-empty cells to `note[column]` when given (one vector per column); with
    /// `part`, checked as [`First::add_encoded_part`] says.
    fn add_encoded_noting(
        &mut self,
        r: &mut Reader,
        mut note: Option<&mut [Vec<(u64, Cell)>]>,
        part: Option<Part>,
    ) -> Option<()> {
        let kept = r.u64()?;
        let skipped = r.u64()?;
        self.kept = self.kept.checked_add(kept)?;
        self.skipped = self.skipped.checked_add(skipped)?;
        // Whether `n` values (`None`: more than 2^64) are one per kept draw, when checking.
        let one_each = |n: Option<u64>| part.is_none() || n == Some(kept);
        let sum = |v: &[u64]| v.iter().try_fold(0u64, |s, x| s.checked_add(*x));
        if part.is_some_and(|p| kept.checked_add(skipped) != Some(p.draws)) {
            return None;
        }
        if r.len(16)? != self.delay_whole.len() {
            return None;
        }
        for (d, b) in self.delay_whole.iter_mut().zip(&mut self.breakeven) {
            for (acc, v) in [(d, get_u64s(r)?), (b, get_u64s(r)?)] {
                if acc.len() != v.len() || !one_each(sum(&v)) {
                    return None;
                }
                for (x, y) in acc.iter_mut().zip(v) {
                    *x = x.checked_add(y)?;
                }
            }
        }
        if r.len(8)? != self.cols.len() {
            return None;
        }
        for (k, c) in self.cols.iter_mut().enumerate() {
            let from = c.tree.nodes.len();
            for _ in 0..r.len(40)? {
                let l = u32::try_from(r.u64()?).ok()?;
                let i = r.u64()?;
                let n = r.u64()?;
                let (mean, m2) = (r.f64()?, r.f64()?);
                c.tree.nodes.push((l, i, Moments { n, mean, m2 }));
            }
            let own = &c.tree.nodes[from..];
            let values = own.iter().try_fold(0u64, |s, (_, _, m)| s.checked_add(m.n));
            if part.is_some_and(|p| !tiles(own, p.from, p.from + p.draws)) || !one_each(values) {
                return None;
            }
            for a in [&mut c.le, &mut c.lt] {
                let b = get_counts(r)?;
                // Each kept draw counted once; without thresholds, none.
                let want = if b.at.is_empty() { 0 } else { kept };
                // (As many buckets as `a`'s: one more than its thresholds, `get_counts`.)
                if bits(&a.at) != bits(&b.at) || (part.is_some() && sum(&b.buckets) != Some(want)) {
                    return None;
                }
                for (x, y) in a.buckets.iter_mut().zip(&b.buckets) {
                    *x = x.checked_add(*y)?;
                }
            }
            let placed = c
                .pass
                .add_encoded_noting(r, note.as_deref_mut().and_then(|n| n.get_mut(k)))?;
            if !one_each(Some(placed)) {
                return None;
            }
        }
        Some(())
    }
}

/// The draws `from..from + draws` of a part of a run (a shard's blocks, an MPI rank's), which
/// its statistics must be of ([`First::add_encoded_part`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub from: u64,
    pub draws: u64,
}

impl Part {
    /// The draws of blocks `first..end` of the run `opts`.
    pub fn of(opts: &RunOptions, (first, end): (u64, u64)) -> Part {
        Part {
            from: opts.draws_to(first),
            draws: opts.block_draws(first, end),
        }
    }
}

/// The cells a merge asks the parts' sieves for ([`Passes::sieve_wanted`]): per column, their
/// number, then each (u64), increasing.
pub fn encode_asked(wanted: &[HashMap<u64, Vec<f64>>]) -> Vec<u8> {
    let mut o = Vec::new();
    put_u64(&mut o, wanted.len() as u64);
    for w in wanted {
        let mut cells: Vec<u64> = w.keys().copied().collect();
        cells.sort_unstable();
        put_u64s(&mut o, &cells);
    }
    o
}

/// Read [`encode_asked`]'s cells; `None` when unreadable or not increasing.
pub fn decode_asked(b: &[u8]) -> Option<Vec<Vec<u64>>> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    for _ in 0..r.len(8)? {
        let cells = get_u64s(&mut r)?;
        if !cells.is_sorted_by(|a, b| a < b) {
            return None;
        }
        out.push(cells);
    }
    r.done().then_some(out)
}

/// Add to `wanted` ([`Passes::sieve_wanted`]) the values a part's sieve kept of the cells it
/// asks for, from the encoding `b` that [`First::add_encoded_part`] found; `None` when it is
/// unreadable.
pub fn add_encoded_finds(wanted: &mut [HashMap<u64, Vec<f64>>], b: &[u8]) -> Option<()> {
    if b.is_empty() {
        return Some(());
    }
    let mut r = Reader::new(b);
    SieveFinds::add_encoded(&mut r, wanted)?;
    r.done().then_some(())
}

/// Whether the nodes `(level, index, _)` of a tree of draws' moments cover draws `first..end`
/// exactly once: node (l, i) holds draws `i·2^l..(i + 1)·2^l` ([`Tree::push_draws`] combines
/// two nodes only when both are whole).
fn tiles(nodes: &[(u32, u64, Moments)], first: u64, end: u64) -> bool {
    let span = |&(l, i, _): &(u32, u64, Moments)| -> Option<(u64, u64)> {
        let w = 1u64.checked_shl(l)?;
        let s = i.checked_mul(w)?;
        Some((s, s.checked_add(w)?))
    };
    let Some(mut spans) = nodes.iter().map(span).collect::<Option<Vec<_>>>() else {
        return false;
    };
    spans.sort_unstable();
    spans
        .into_iter()
        .try_fold(first, |at, (s, e)| (s == at).then_some(e))
        == Some(end)
}

fn bits(v: &[f64]) -> Vec<u64> {
    v.iter().map(|x| x.to_bits()).collect()
}

/// Encode a pass's results, one per column.
pub fn encode_passes(p: &[ColPass]) -> Vec<u8> {
    let mut o = Vec::new();
    encode_passes_to(p, &mut |part| o.extend_from_slice(part));
    o
}

/// [`encode_passes`], handed to `out` a column at a time.
pub fn encode_passes_to(p: &[ColPass], out: &mut dyn FnMut(&[u8])) {
    let mut o = Vec::new();
    put_u64(&mut o, p.len() as u64);
    for c in p {
        c.encode(&mut o);
        out(&o);
        o.clear();
    }
    out(&o);
}

/// Encode a pass plan's grids.
pub fn encode_grids(g: &[Grid]) -> Vec<u8> {
    let mut o = Vec::new();
    put_u64(&mut o, g.len() as u64);
    for grid in g {
        put_u64(&mut o, grid.regions().len() as u64);
        for r in grid.regions() {
            put_f64s(&mut o, &[r.lo, r.hi]);
            put_u64(&mut o, r.bins as u64);
        }
    }
    o
}

pub fn decode_grids(b: &[u8]) -> Option<Vec<Grid>> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    for _ in 0..r.len(8)? {
        let mut regions = Vec::new();
        for _ in 0..r.len(24)? {
            let (lo, hi) = (r.f64()?, r.f64()?);
            let bins = u32::try_from(r.u64()?).ok()?;
            if !lo.is_finite() || !hi.is_finite() || lo > hi || bins > 1 << 20 {
                return None;
            }
            regions.push(Region::new(lo, hi, bins));
        }
        out.push(Grid::new(regions));
    }
    r.done().then_some(out)
}

/// Merge pass results from several parts of the run.
pub fn merge_passes(parts: Vec<Vec<ColPass>>) -> Option<Vec<ColPass>> {
    let mut it = parts.into_iter();
    let mut acc = it.next()?;
    for p in it {
        if p.len() != acc.len() {
            return None;
        }
        for (a, b) in acc.iter_mut().zip(p) {
            if a.cells.len() != b.cells.len() || a.collected.len() != b.collected.len() {
                return None;
            }
            a.merge(b);
        }
    }
    Some(acc)
}

/// Add an encoded pass (one [`ColPass`] per column, as [`encode_passes`] writes) to `acc`, as
/// [`merge_passes`] would; `None` when it is unreadable or its grids have another shape.
pub fn add_encoded_passes(acc: &mut [ColPass], b: &[u8]) -> Option<()> {
    let mut r = Reader::new(b);
    if r.len(16)? != acc.len() {
        return None;
    }
    for a in acc.iter_mut() {
        a.add_encoded(&mut r)?;
    }
    r.done().then_some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Sieve::restore`] from a state's bytes, read as a saved file's body.
    fn restore_from(
        state: &[u8],
        grids: &[Grid],
        ranks: &[Vec<u64>],
        draws: u64,
        sigmas: f64,
        budget: u64,
    ) -> Option<Sieve> {
        let mut r = crate::shard::body_reader(state);
        Sieve::restore(&mut r, grids, ranks, draws, sigmas, budget)
    }
    use crate::engine::ENTITY_MEASURES;
    use crate::stats::Sorted;

    fn moments_naive(v: &[f64]) -> (f64, f64) {
        let n = v.len() as f64;
        let m = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
        (m, var.sqrt())
    }

    fn block_values(b: u64) -> Vec<f64> {
        (0..7)
            .map(|i| ((b * 7 + i) as f64 * 0.37).sin() * 10.0 + 3.0)
            .collect()
    }

    use crate::embedded::default_plan;

    /// The tasks of a pass over regenerated blocks take runs of consecutive blocks: every block
    /// once and in order, each run half of a task's fair share of the blocks left, at least one.
    /// Those sizes shrink to a block each at the end, and make few runs (at most
    /// `2·tasks·(ln blocks + 1) + 1`), where one block at a time made a run of every block: a
    /// task's moments' trees then hold a few nodes a run, not a few a block.
    #[test]
    fn tasks_take_runs_of_consecutive_blocks_that_shrink_to_one() {
        use std::sync::atomic::AtomicU64;
        for (first, end, tasks) in [
            (0, 245, 2),
            (3, 3003, 2),
            (0, 1, 4),
            (5, 9, 8),
            (0, 1000, 1),
        ] {
            let next = AtomicU64::new(first);
            let mut runs = Vec::new();
            loop {
                let r = take_run(&next, end, tasks);
                if r.is_empty() {
                    break;
                }
                runs.push(r);
            }
            let blocks: Vec<u64> = runs.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(blocks, (first..end).collect::<Vec<_>>(), "{first}..{end}");
            for r in &runs {
                let fair = (end - r.start) / (2 * tasks as u64);
                assert_eq!(r.end - r.start, fair.max(1), "{first}..{end}: {runs:?}");
            }
            assert!(take_run(&next, end, tasks).is_empty());
        }
        // Nothing to take.
        assert!(take_run(&AtomicU64::new(7), 7, 2).is_empty());
    }

    /// Which blocks each task of a pass ran, in the order it ran them: a task's statistics are
    /// one list, and appending tasks' statistics keeps their lists apart.
    struct TaskBlocks(Vec<Vec<u64>>);

    impl ColPasses for TaskBlocks {
        fn col_passes(&mut self) -> impl Iterator<Item = &mut ColPass> {
            std::iter::empty()
        }
    }

    /// `Regenerate::fold_blocks` hands its tasks runs of consecutive blocks: in a pool of four
    /// threads over 400 blocks, every block is run once, and the tasks' blocks fall into at most
    /// `2·tasks·(ln blocks + 1) + 1` runs of consecutive blocks (the runs `take_run` hands out,
    /// whatever the threads' interleaving; one block at a time, interleaved, made hundreds).
    #[test]
    fn a_pass_over_regenerated_blocks_gives_its_tasks_runs_of_consecutive_blocks() {
        let plan = default_plan();
        let opts = RunOptions {
            draws: 20_000,
            seed: 3,
            sampler: crate::sampler::SamplerKind::MonteCarlo,
            block_size: 50,
            skip_nonfinite: false,
        };
        let src = Regenerate {
            plan: &plan,
            opts: &opts,
            chunk_blocks: 8,
            progress: &|_| {},
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(4)
            .build()
            .unwrap();
        let TaskBlocks(tasks) = pool
            .install(|| {
                src.fold_blocks(
                    0,
                    400,
                    &|| TaskBlocks(vec![Vec::new()]),
                    &|t, ch| t.0[0].extend(ch.first_block..ch.end_block),
                    |a, b| a.0.extend(b.0),
                )
            })
            .unwrap();
        let mut all: Vec<u64> = tasks.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..400).collect::<Vec<_>>());
        let runs: usize = tasks
            .iter()
            .map(|t| 1 + t.windows(2).filter(|w| w[1] != w[0] + 1).count())
            .sum();
        let most = 2.0 * tasks.len() as f64 * (400f64.ln() + 1.0) + 1.0;
        assert!(runs as f64 <= most, "{runs} runs: {tasks:?}");
    }

    /// The summarised columns of the embedded model, named: per entity its NPV, PV of benefits,
    /// PV of costs, leakage and delay-to-zero; then each partner's NPV; then each input.
    #[test]
    fn the_summarised_columns_are_each_entitys_measures_then_partners_then_inputs() {
        let plan = default_plan();
        let cols = columns(&plan);
        let (n_e, n_p, n_i) = (
            plan.entities.len(),
            plan.model.partners.len(),
            plan.set.inputs.len(),
        );
        assert_eq!(plan.layout().n_local(), 0);
        assert_eq!(cols.len(), 5 * n_e + n_p + n_i);
        for e in 0..n_e {
            let name = |c: Col| match c {
                Col::Outcome(j) => plan.outcome_name(j),
                Col::PvCosts(x) => format!("{}.pv_costs", plan.entities[x]),
                Col::Leakage(x) => format!("{}.leakage", plan.entities[x]),
                Col::Input(i) => plan.set.inputs[i].param.path.clone(),
            };
            let got: Vec<String> = cols[5 * e..5 * e + 5].iter().map(|&c| name(c)).collect();
            let ent = &plan.entities[e];
            let want: Vec<String> = ["npv", "pv_benefits", "pv_costs", "leakage", "delay_to_zero"]
                .iter()
                .map(|m| format!("{ent}.{m}"))
                .collect();
            assert_eq!(got, want);
        }
        for p in 0..n_p {
            let Col::Outcome(j) = cols[5 * n_e + p] else {
                panic!("partner {p} is not an outcome column");
            };
            assert_eq!(
                plan.outcome_name(j),
                format!("partner.{}.npv", plan.model.partners[p].id)
            );
        }
        let inputs: Vec<Col> = (0..n_i).map(Col::Input).collect();
        assert_eq!(cols[5 * n_e + n_p..], inputs[..]);
    }

    /// A model with outcome-level themes: its local columns follow the inputs, in the layout's
    /// order.
    #[test]
    fn the_local_columns_follow_the_inputs_in_the_layouts_order() {
        let plan = crate::embedded::local_example_plan();
        let (cols, l) = (columns(&plan), plan.layout());
        assert!(l.n_local() > 0);
        let first = 5 * l.entities + l.partners + plan.set.inputs.len();
        let local: Vec<Col> = (l.local_base()..l.n_columns()).map(Col::Outcome).collect();
        assert_eq!(cols[first..], local[..]);
    }

    /// Draws of the default plan whose outcomes are all 0 but entity 1's NPV and PV of
    /// benefits.
    fn entity_1_draws(npv: Vec<f64>, pv_benefits: Vec<f64>) -> Draws {
        let mut d = default_plan().empty_draws();
        d.n = npv.len();
        for c in d.outcomes.iter_mut() {
            *c = vec![0.0; d.n];
        }
        let k = ENTITY_MEASURES.len();
        d.outcomes[k] = npv;
        d.outcomes[k + 1] = pv_benefits;
        d
    }

    /// The derived columns by hand: PV of costs = PV of benefits − NPV; leakage = NPV / PV of
    /// benefits when the NPV is positive, else 0.
    #[test]
    fn derived_columns_are_costs_and_leakage_by_hand() {
        let d = entity_1_draws(vec![2.0, -1.0, 0.0], vec![4.0, 3.0, 5.0]);
        let k = ENTITY_MEASURES.len();
        let mut buf = Vec::new();
        assert_eq!(values(&d, Col::PvCosts(1), 0..3, &mut buf), [2.0, 4.0, 5.0]);
        assert_eq!(values(&d, Col::Leakage(1), 0..3, &mut buf), [0.5, 0.0, 0.0]);
        assert_eq!(values(&d, Col::Leakage(1), 1..3, &mut buf), [0.0, 0.0]);
        assert_eq!(values(&d, Col::Outcome(k + 1), 1..2, &mut buf), [3.0]);
    }

    /// A leakage that underflows with a negative PV of benefits is +0, not −0, as every column
    /// of draws ([`one_zero`]); so is a PV of costs of zero. A theme with nothing (NPV and PV of
    /// benefits both 0) has leakage 0, not 0/0.
    #[test]
    fn derived_columns_hold_no_negative_zero() {
        // The smallest positive NPV over a negative PV of benefits: the quotient rounds to −0.
        assert_eq!((f64::from_bits(1) / -1e10).to_bits(), (-0.0f64).to_bits());
        let d = entity_1_draws(vec![f64::from_bits(1), 3.0, 0.0], vec![-1e10, 3.0, 0.0]);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut buf = Vec::new();
        let leak = values(&d, Col::Leakage(1), 0..3, &mut buf);
        assert_eq!(bits(leak), bits(&[0.0, 1.0, 0.0]));
        let costs = values(&d, Col::PvCosts(1), 0..3, &mut buf);
        assert_eq!(bits(costs), bits(&[-1e10, 0.0, 0.0]));
    }

    /// A one-value bracket in pass 1 is a single cell even when the budget would collect it: a
    /// point mass of a million values there is counted, not stored, and its rank is exact.
    #[test]
    fn a_one_value_bracket_is_counted_not_collected() {
        let point = first_region(0.0, 0.0, true, 64);
        assert_eq!(point.bins, 1);
        assert_eq!(first_region(0.0, 1.0, true, 64).bins, 0);
        assert_eq!(first_region(0.0, 1.0, false, 64).bins, 64);
        let g = Grid::new(vec![point]);
        let mut p = ColPass::new(&g);
        let v: Vec<f64> = (0..1_000_000)
            .map(|i| if i % 3 == 0 { -1.0 } else { 0.0 })
            .collect();
        p.add(&g, &v);
        assert!(p.collected.iter().all(|c| c.is_empty()));
        // Cells: below, the point, above.
        let n: Vec<u64> = p.cells.iter().map(|c| c.n).collect();
        assert_eq!(n, vec![333_334, 666_666, 0]);
        assert_eq!(
            spot_first(&g, &p.cells, &p.collected, 500_000),
            Spot::Cells(Ok(0.0))
        );
    }

    /// `spot_first` against sorting, rank by rank: on a grid of two collected regions, a
    /// binned one and a point (with gaps between), every rank of the values added resolves to
    /// the sorted values' element at that rank, or to a bracket that holds it: `offset` values
    /// below, `count` values from `lo` to `hi`, exactly the sorted values in those places.
    /// Then `Resolver::new`, which finds only the wanted positions of the collected regions
    /// instead of sorting them, on subsets of the ranks: the same value or bracket for each.
    #[test]
    fn spot_first_finds_every_rank_as_sorting_does() {
        let g = Grid::new(vec![
            Region::new(1.0, 2.0, 0),
            Region::new(3.0, 5.0, 4),
            Region::new(6.0, 6.05, 0),
            Region::new(7.0, 7.0, 1),
        ]);
        // A spread over [0, 9] with repeats, and each region's ends. The first collected
        // region holds more values than `sorted_at` sorts outright, the second fewer.
        let mut v: Vec<f64> = (0..20_000)
            .map(|i| ((i * 37) % 181) as f64 / 20.0 + (i % 7) as f64 * 1e-9)
            .collect();
        v.extend([1.0, 2.0, 3.0, 5.0, 6.0, 6.05, 7.0, 7.0, 0.0, 9.0]);
        let mut p = ColPass::new(&g);
        p.add(&g, &v);
        // The first and third regions are collected and hold values.
        assert!(!p.collected[0].is_empty() && !p.collected[2].is_empty());
        let unsorted = p.clone();
        for c in &mut p.collected {
            c.sort_by(f64::total_cmp);
        }
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        // The collected regions are sorted here, so each spot is read where it points.
        let by_sorting: Vec<Result<f64, Bracket>> = (0..sorted.len() as u64)
            .map(|r| match spot_first(&g, &p.cells, &p.collected, r) {
                Spot::Collected(i, j) => Ok(p.collected[i][j]),
                Spot::Cells(x) => x,
            })
            .collect();
        assert!(p.collected[0].len() > 1 << 11 && p.collected[2].len() < 1 << 10);
        let n = sorted.len() as u64;
        let first_collected = p.cells[..g.starts[0]].iter().map(|c| c.n).sum::<u64>();
        assert_eq!(
            spot_first(&g, &p.cells, &p.collected, first_collected + 5),
            Spot::Collected(0, 5)
        );
        for ranks in [
            (0..n).step_by(7).collect::<Vec<u64>>(),
            vec![first_collected + 3],
            vec![
                n - 1,
                first_collected + 5,
                first_collected + 1,
                0,
                first_collected + 5,
            ],
            (0..n).collect(),
        ] {
            let first = First {
                kept: n,
                cols: vec![ColFirst {
                    pass: unsorted.clone(),
                    ..Default::default()
                }],
                ..Default::default()
            };
            let res = Resolver::new(
                &first,
                std::slice::from_ref(&ranks),
                std::slice::from_ref(&g),
            );
            let found: Vec<u64> = res.targets[0].iter().map(|t| t.0).collect();
            assert_eq!(found, ranks, "every rank, in order");
            for (r, t) in &res.targets[0] {
                let want = by_sorting[*r as usize];
                match (t, want) {
                    (Ok(x), Ok(y)) => assert_eq!(x.to_bits(), y.to_bits(), "rank {r}"),
                    _ => assert_eq!(*t, want, "rank {r}"),
                }
            }
        }
        let (mut exact, mut bracketed) = (0, 0);
        for (r, found) in (0..n).zip(by_sorting) {
            match found {
                Ok(x) => {
                    assert_eq!(x, sorted[r as usize], "rank {r}");
                    exact += 1;
                }
                Err(b) => {
                    assert!(b.offset <= r && r < b.offset + b.count, "rank {r}: {b:?}");
                    let inside = &sorted[b.offset as usize..(b.offset + b.count) as usize];
                    assert_eq!(inside.first(), Some(&b.lo), "rank {r}: {b:?}");
                    assert_eq!(inside.last(), Some(&b.hi), "rank {r}: {b:?}");
                    bracketed += 1;
                }
            }
        }
        // Both outcomes occur: the collected regions, points and cell ends resolve exactly,
        // the binned region's and the gaps' inner ranks need another pass.
        assert!(
            exact > 0 && bracketed > 0,
            "{exact} exact, {bracketed} bracketed"
        );
    }

    /// Moments of draws by hand: 2, 4, 4, 4, 5, 5, 7, 9 has mean 5 and squared deviations
    /// 9 + 1 + 1 + 1 + 0 + 0 + 4 + 16 = 32, so the sample sd is √(32 / 7); up the tree, the
    /// pairs give means 3, 4, 5, 8 and squares 2, 0, 0, 2, then 3.5, 6.5 and 3, 11, then 5 and
    /// 3 + 11 + 3²·2. Constant draws keep their value exactly (0.1 · 3 / 3 is
    /// 0.10000000000000002 in doubles); no draws are empty.
    #[test]
    fn moments_of_draws_by_hand() {
        let m = Moments::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!((m.n, m.mean, m.m2), (8, 5.0, 32.0));
        let (mean, sd) = m.mean_sd();
        assert_eq!(mean, 5.0);
        assert!((sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-15, "{sd}");
        assert_ne!((0.1 + 0.1 + 0.1) / 3.0, 0.1);
        let c = Moments::of(&[0.1, 0.1, 0.1]);
        assert_eq!((c.n, c.mean, c.m2), (3, 0.1, 0.0));
        assert_eq!(Moments::of(&[]), Moments::default());
        // One draw: standard deviation 0, not NaN.
        assert_eq!(Moments::of(&[4.5]).mean_sd(), (4.5, 0.0));
    }

    /// Chan's combination against the moments of the concatenation by hand: 1, 2, 3 and 10, 20
    /// have mean 36 / 5 = 7.2 and squared deviations 6.2² + 5.2² + 4.2² + 2.8² + 12.8² = 254.8.
    /// Combining with nothing gives the other side back, bit for bit.
    #[test]
    fn combined_moments_are_those_of_the_concatenated_draws() {
        let a = Moments::of(&[1.0, 2.0, 3.0]);
        let b = Moments::of(&[10.0, 20.0]);
        for m in [Moments::combine(a, b), Moments::combine(b, a)] {
            assert_eq!(m.n, 5);
            assert!((m.mean - 7.2).abs() < 1e-14, "{}", m.mean);
            assert!((m.m2 - 254.8).abs() < 1e-12, "{}", m.m2);
            assert!((m.mean_sd().1 - (254.8f64 / 4.0).sqrt()).abs() < 1e-13);
        }
        assert_eq!(Moments::combine(a, Moments::default()), a);
        assert_eq!(Moments::combine(Moments::default(), b), b);
    }

    /// Pushing six draws one by one leaves the maximal aligned subtrees: draws 0–3 (level 2)
    /// and 4–5 (level 1), each the combination of its children in draw order.
    #[test]
    fn pushed_draws_reduce_to_their_maximal_aligned_subtrees() {
        let x = block_values(2);
        let m: Vec<Moments> = x[..6].iter().map(|&v| Moments::of(&[v])).collect();
        let mut t = Tree::default();
        for (i, v) in (0u64..).zip(&x[..6]) {
            t.push_draws((i, i + 1), &[*v], &[]);
        }
        let c = Moments::combine;
        let left = c(c(m[0], m[1]), c(m[2], m[3]));
        let right = c(m[4], m[5]);
        assert_eq!(t.nodes, vec![(2, 0, left), (1, 2, right)]);
        assert_eq!(Tree::root(&t.nodes, 6), Some(c(left, right)));
        assert_eq!(Moments::of(&x[..6]), c(left, right));
        // One draw is its own root; a tree not starting at draw 0 is not a run's root.
        assert_eq!(Tree::root(&[(0, 0, m[3])], 1), Some(m[3]));
        assert_eq!(Tree::root(&[(1, 2, right)], 6), None);
    }

    /// Values of every sign and many magnitudes, some repeated: where the order of additions
    /// shows in the last bits.
    fn wide_values(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                let x = (i as f64 * 0.731).sin();
                match i % 5 {
                    0 => x * 1e9,
                    1 => x * 1e-3 + 7.0,
                    2 => 0.1,
                    3 => -x * 1e4,
                    _ => x,
                }
            })
            .collect()
    }

    /// The tree's definition, node by node: a node's moments are its halves' combined.
    fn by_halves(v: &[f64]) -> Moments {
        match v.len() {
            0 => Moments::default(),
            1 => Moments {
                n: 1,
                mean: v[0],
                m2: 0.0,
            },
            n => {
                let h = n.next_power_of_two() / 2;
                Moments::combine(by_halves(&v[..h]), by_halves(&v[h..]))
            }
        }
    }

    /// A whole node reduced level by level, with the powers of two written out, is
    /// `Moments::combine` applied node by node, in every bit, for every node size it takes.
    /// So is a larger node pushed in whole nodes, and the root of any number of draws.
    #[test]
    fn a_whole_node_is_its_draws_combined_node_by_node() {
        let v = wide_values(3000);
        let bits = |m: Moments| (m.n, m.mean.to_bits(), m.m2.to_bits());
        for l in 0..=WHOLE_NODE.trailing_zeros() {
            let n = 1 << l;
            for at in [0, 5, 700] {
                let x = &v[at..at + n];
                assert_eq!(
                    bits(Moments::of_whole_node(x)),
                    bits(by_halves(x)),
                    "{n} at {at}"
                );
            }
        }
        for n in [1, 2, 3, 255, 257, 1024, 2048, 3000] {
            assert_eq!(bits(Moments::of(&v[..n])), bits(by_halves(&v[..n])), "{n}");
        }
        // And the mean of a plain sum, to its rounding (the values reach 1e9).
        let plain = v.iter().sum::<f64>() / v.len() as f64;
        assert!((Moments::of(&v).mean - plain).abs() <= 1e9 * 1e-13);
    }

    /// A whole node is a power of two of at most `WHOLE_NODE` draws: three draws, or twice
    /// the most, are refused rather than reduced as some other tree would.
    #[test]
    fn a_whole_node_of_another_size_is_refused() {
        // Without the check, 0 draws would give empty moments and 3 or 12 wrong ones; more
        // than a whole node's draws would fail only on an index out of bounds.
        for n in [0, 3, 12] {
            let v = vec![1.0; n];
            let r = std::panic::catch_unwind(|| Moments::of_whole_node(&v));
            assert!(r.is_err(), "{n} draws");
        }
    }

    /// The root of the tree of draws does not depend on how the draws are pushed: one by one,
    /// or in blocks of any size, with skipped draws in places (a whole node's worth of them
    /// included) and none in others, the same bits. A constant column's shortcut gives what
    /// reducing its values would, −0 included.
    #[test]
    fn the_tree_of_draws_is_the_same_bits_for_any_block_size_and_skipped_draws() {
        // Past draw 2,048 none is skipped: whole nodes of 512 draws and more are pushed there.
        let draws = 3000u64;
        let values = wide_values(draws as usize);
        let mut skipped: Vec<u64> = vec![0, 3, 4, 5, 700, 1023, 1024, 1499];
        skipped.extend(256..512);
        skipped.sort_unstable();
        let kept: Vec<(u64, f64)> = (0..draws)
            .zip(values.iter().copied())
            .filter(|(i, _)| !skipped.contains(i))
            .collect();
        let push = |t: &mut Tree, s: u64, e: u64, constant: Option<f64>| {
            let v: Vec<f64> = kept
                .iter()
                .filter(|(i, _)| (s..e).contains(i))
                .map(|&(_, x)| constant.unwrap_or(x))
                .collect();
            let sk: Vec<u64> = skipped
                .iter()
                .copied()
                .filter(|i| (s..e).contains(i))
                .collect();
            match constant {
                Some(x) => t.push_constant((s, e), x, &sk),
                None => t.push_draws((s, e), &v, &sk),
            }
        };
        let root = |block: u64, constant: Option<f64>| {
            let mut t = Tree::default();
            let mut s = 0;
            while s < draws {
                let e = (s + block).min(draws);
                push(&mut t, s, e, constant);
                s = e;
            }
            let m = Tree::root(&t.nodes, draws).expect("the draws are covered");
            (m.n, m.mean.to_bits(), m.m2.to_bits())
        };
        let one_by_one = root(1, None);
        assert_eq!(one_by_one.0, kept.len() as u64);
        for block in [2, 3, 7, 64, 100, 256, 300, 1000, 1024, 3000, 4096] {
            assert_eq!(root(block, None), one_by_one, "blocks of {block}");
        }
        for x in [0.1, -3.5, 0.0, -0.0] {
            let reduced = {
                let v: Vec<f64> = vec![x; kept.len()];
                let mut t = Tree::default();
                t.push_draws((0, draws), &v, &skipped);
                let m = Tree::root(&t.nodes, draws).unwrap();
                (m.n, m.mean.to_bits(), m.m2.to_bits())
            };
            for block in [1, 7, 1024, 4096] {
                assert_eq!(root(block, Some(x)), reduced, "{x} in blocks of {block}");
            }
        }
        // One kept draw of −0 keeps its sign; two give +0 (−0 + 0).
        assert_eq!(
            Moments::of_constant(-0.0, 1).mean.to_bits(),
            (-0.0f64).to_bits()
        );
        assert_eq!(
            Moments::of_constant(-0.0, 2).mean.to_bits(),
            0.0f64.to_bits()
        );
        assert_eq!(Moments::of(&[-0.0, -0.0]).mean.to_bits(), 0.0f64.to_bits());
    }

    /// A region's bins by hand: [0, 10] in 5 bins of width 2, closed at both ends (10 is in the
    /// last bin); a region of zero width has one bin.
    #[test]
    fn a_region_places_values_in_equal_bins() {
        let r = Region::new(0.0, 10.0, 5);
        for (v, bin) in [
            (0.0, 0),
            (1.99, 0),
            (2.0, 1),
            (5.0, 2),
            (7.9, 3),
            (8.0, 4),
            (10.0, 4),
        ] {
            assert_eq!(r.bin(v), bin, "{v}");
        }
        let point = Region::new(3.0, 3.0, 4);
        assert_eq!(point.bin(3.0), 0);
    }

    /// The whole years' counts, bin by bin over runs of at most 255 values, are one increment per
    /// value: runs that end before, at and after 255 values, and values in every bin, the last
    /// included.
    #[test]
    fn count_bins_is_an_increment_per_value() {
        let mut state = 12345u64;
        for len in [0usize, 1, 254, 255, 256, 511, 1000] {
            let xs: Vec<u8> = (0..len)
                .map(|_| {
                    state = state
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1);
                    ((state >> 33) % 7) as u8
                })
                .collect();
            let mut one_by_one = vec![3u64; 7];
            for &x in &xs {
                one_by_one[usize::from(x)] += 1;
            }
            let mut binned = vec![3u64; 7];
            count_bins(&mut binned, &xs);
            assert_eq!(binned, one_by_one, "{len} values");
        }
        // 255 copies of one value: a run's byte count at its largest.
        let mut h = vec![0u64; 2];
        count_bins(&mut h, &[1; 600]);
        assert_eq!(h, [0, 600]);
        // More bins than are counted a pass each (a long horizon): counted value by value.
        let xs: Vec<u8> = (0..700).map(|i| (i * 7 % 41) as u8).collect();
        let mut by_value = vec![0u64; 41];
        for &x in &xs {
            by_value[usize::from(x)] += 1;
        }
        let mut h = vec![0u64; 41];
        count_bins(&mut h, &xs);
        assert_eq!(h, by_value);
    }

    #[test]
    #[should_panic(expected = "a value past the 3 bins")]
    fn count_bins_refuses_a_value_without_a_bin() {
        count_bins(&mut [0; 3], &[0, 1, 3]);
    }

    /// With more bins than are counted a pass each, a value without a bin still panics.
    #[test]
    #[should_panic(expected = "index out of bounds")]
    fn count_bins_of_many_bins_refuses_a_value_without_a_bin() {
        count_bins(&mut [0; COUNTED_BINS + 1], &[0, 1, COUNTED_BINS as u8 + 1]);
    }

    /// A cell's values resolve its ranks when they number its count and their smallest and
    /// largest are its own; fewer leave them; more, or another smallest or largest, are an
    /// inconsistency.
    #[test]
    fn a_cells_values_resolve_its_ranks_only_when_they_are_all_of_them() {
        let cells = [
            Cell {
                n: 2,
                min: -1.0,
                max: 0.0,
            },
            Cell {
                n: 3,
                min: 1.0,
                max: 3.0,
            },
        ];
        let wanted = || {
            let b = Bracket {
                offset: 2,
                count: 3,
                lo: 1.0,
                hi: 3.0,
            };
            vec![(2u64, Err(b)), (3, Err(b)), (4, Err(b))]
        };
        let run = |v: Vec<f64>| {
            let mut ts = wanted();
            resolve_in_cells(&mut ts, &cells, |i| (i == 1).then(|| v.clone())).map(|()| {
                ts.iter()
                    .map(|(_, t)| t.as_ref().ok().copied())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            run(vec![3.0, 1.0, 2.0]).unwrap(),
            vec![Some(1.0), Some(2.0), Some(3.0)]
        );
        assert_eq!(run(vec![3.0, 1.0]).unwrap(), vec![None, None, None]);
        for v in [
            vec![3.0, 1.0, 2.0, 2.5],
            vec![3.0, 1.5, 2.0],
            vec![2.5, 1.0, 2.0],
        ] {
            assert!(
                matches!(run(v.clone()), Err(StreamError::Inconsistent(_))),
                "{v:?}"
            );
        }
    }

    /// A pass's encoded cells are read only as `encode` writes them: each holding values, by
    /// increasing index, its smallest at most its largest, and none whose count would overflow
    /// the cell it is added to.
    #[test]
    fn encoded_cells_are_read_only_as_they_are_written() {
        let plan = default_plan();
        let opts = monte_carlo(3_001, 5);
        let setup = part_setup(&plan, &opts, &binned());
        let g = setup
            .grids
            .iter()
            .find(|g| g.cells >= 2)
            .expect("a grid of two cells or more");
        let encoded = |cells: &[(u64, u64, f64, f64)]| {
            let mut o = Vec::new();
            put_u64(&mut o, g.cells as u64);
            put_u64(&mut o, cells.len() as u64);
            for &(i, n, lo, hi) in cells {
                put_u64(&mut o, i);
                put_u64(&mut o, n);
                put_f64s(&mut o, &[lo, hi]);
            }
            put_u64(&mut o, g.regions().len() as u64);
            for _ in g.regions() {
                put_u64(&mut o, 0);
            }
            o
        };
        let read = |pass: &mut ColPass, cells: &[(u64, u64, f64, f64)]| {
            pass.add_encoded(&mut Reader::new(&encoded(cells)))
        };
        let fresh = || ColPass::new(g);
        assert_eq!(
            read(&mut fresh(), &[(0, 2, 0.5, 1.5), (1, 1, 2.0, 2.0)]),
            Some(())
        );
        for bad in [
            &[(0, 0, 0.5, 0.5)][..],
            &[(1, 1, 0.5, 0.5), (0, 1, 0.5, 0.5)],
            &[(0, 1, 0.5, 0.5), (0, 1, 0.5, 0.5)],
            &[(0, 1, 1.5, 0.5)],
            &[(0, 1, f64::NAN, 0.5)],
            &[(0, 1, 0.5, f64::NAN)],
        ] {
            assert_eq!(read(&mut fresh(), bad), None, "{bad:?}");
        }
        let mut full = fresh();
        full.cells[0].n = u64::MAX;
        assert_eq!(read(&mut full, &[(0, 1, 0.5, 0.5)]), None);
    }

    /// A part's tree of moments covers its draws exactly once: the nodes a tree of draws
    /// `3..11` keeps tile `3..11` and nothing else; a node given twice, a gap, a node past the
    /// end or one of 2^64 draws do not.
    #[test]
    fn a_parts_tree_tiles_its_draws_and_no_others() {
        let mut t = Tree::default();
        t.push_draws((3, 11), &[1.0; 8], &[]);
        let nodes: Vec<(u32, u64)> = t.nodes.iter().map(|&(l, i, _)| (l, i)).collect();
        assert!(nodes.len() > 1 && nodes.iter().any(|n| n.0 > 0));
        let tiles_of = |n: &[(u32, u64)], a, b| {
            let with: Vec<_> = n.iter().map(|&(l, i)| (l, i, Moments::of(&[]))).collect();
            tiles(&with, a, b)
        };
        assert!(tiles_of(&nodes, 3, 11));
        // In any order.
        let rev: Vec<_> = nodes.iter().rev().copied().collect();
        assert!(tiles_of(&rev, 3, 11));
        for (a, b) in [(3, 12), (2, 11), (0, 11), (3, 10), (4, 11)] {
            assert!(!tiles_of(&nodes, a, b), "{a}..{b}");
        }
        let twice: Vec<_> = nodes.iter().chain(&nodes[..1]).copied().collect();
        assert!(!tiles_of(&twice, 3, 11));
        assert!(!tiles_of(&nodes[1..], 3, 11));
        assert!(!tiles_of(&[(64, 0)], 0, u64::MAX));
        assert!(!tiles_of(&[(63, 2)], 0, u64::MAX));
        assert!(tiles_of(&[], 5, 5));
        assert!(!tiles_of(&[], 5, 6));
    }

    /// Threshold counts: sorted and deduplicated thresholds, each value in the bucket of the
    /// number of thresholds strictly below it (`le`, as `add_first` fills it) or at or below it
    /// (`lt`), and `count(x)` the values in the buckets up to x's.
    #[test]
    fn counts_add_up_the_buckets_to_a_threshold() {
        let mut c = Counts::new(vec![2.0, 0.0, 2.0, 1.0]);
        assert_eq!(c.at, vec![0.0, 1.0, 2.0]);
        let x = [-1.0, 0.0, 0.5, 1.0, 1.0, 2.0, 3.0];
        c.add(&x, |t, x| t < x);
        // At or below 0: -1, 0; then 0.5, 1, 1; then 2; 3 is above every threshold.
        assert_eq!(c.buckets, vec![2, 3, 1, 1]);
        assert_eq!(c.count(0.0), Some(2));
        assert_eq!(c.count(1.0), Some(5));
        assert_eq!(c.count(2.0), Some(6));
        assert_eq!(c.count(1.5), None);
        let mut lt = Counts::new(vec![0.0, 1.0, 2.0]);
        lt.add(&x, |t, x| t <= x);
        // A value equal to a threshold counts it: -1; 0, 0.5; 1, 1; 2, 3.
        assert_eq!(lt.buckets, vec![1, 2, 2, 2]);
        // Adding accumulates.
        lt.add(&[0.5, 7.0], |t, x| t <= x);
        assert_eq!(lt.buckets, vec![1, 3, 2, 3]);
        let mut d = Counts::new(vec![0.0, 1.0, 2.0]);
        d.buckets = vec![1, 1, 1, 1];
        d.merge(&c);
        assert_eq!(d.buckets, vec![3, 4, 2, 2]);
        // Without thresholds nothing is counted.
        let mut none = Counts::new(Vec::new());
        none.add(&x, |t, x| t < x);
        assert_eq!(none.buckets, vec![0]);
    }

    /// Counting threshold by threshold puts every value where a search for its bucket does: 21
    /// thresholds (a leakage column's) with ties, values on and between them, both predicates;
    /// then thresholds −0 and +0 (both kept: they differ in bits) with NaN, ±0 and ±∞ values, an
    /// empty slice, and a second call adding to the first.
    #[test]
    fn counts_add_agrees_with_each_values_bucket() {
        let grid: Vec<f64> = (0..=20).map(|i| f64::from(i) * 0.05).collect();
        let mut on_grid: Vec<f64> = (0..2000).map(|i| f64::from(i) * 7.3e-4 - 0.2).collect();
        on_grid.extend(grid.iter().copied());
        let zeros = vec![-1.0, -0.0, 0.0, 2.0];
        let odd = vec![
            f64::NAN,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1.0,
            -1.0,
        ];
        for (at, x) in [(grid, on_grid), (zeros, odd)] {
            for le in [true, false] {
                let pred = |t: f64, x: f64| if le { t < x } else { t <= x };
                let mut c = Counts::new(at.clone());
                assert_eq!(c.at.len(), at.len(), "the thresholds are distinct in bits");
                c.add(&x, pred);
                c.add(&[], pred);
                c.add(&x[..x.len() / 2], pred);
                let mut by_value = vec![0u64; at.len() + 1];
                for &v in x.iter().chain(&x[..x.len() / 2]) {
                    by_value[prefix_len(&c.at, |t| pred(t, v))] += 1;
                }
                assert_eq!(c.buckets, by_value, "le {le}, thresholds {at:?}");
            }
        }
    }

    /// Pass 1's `add`, which places a chunk of values at a time, puts every value where
    /// `Grid::place` puts it one at a time, into cells updated as before the chunked placement
    /// (`f64::min`/`max`): binned, collected and one-value regions, values on their ends, in the
    /// gaps and past both ends (±∞, NaN, ±0 too), over several chunks, on grids of none (one gap
    /// cell), 4, 8 (the most whose upper ends are counted all at once, padded with +∞), 9 and
    /// exactly `FAST_REGIONS` regions (the chunked path's largest), and on a grid the chunked path
    /// does not take (more regions).
    #[test]
    fn pass_one_places_values_as_one_at_a_time() {
        let few = Grid::new(vec![
            Region::new(-2.0, -1.0, 3),
            Region::new(0.0, 0.0, 1),
            Region::new(0.5, 1.5, 0),
            Region::new(3.0, 4.0, 0),
        ]);
        let spaced = |n: usize| {
            Grid::new(
                (0..n)
                    .map(|i| {
                        let lo = i as f64 * 0.5 - 5.0;
                        Region::new(lo, lo + 0.25, if i % 2 == 0 { 0 } else { 2 })
                    })
                    .collect(),
            )
        };
        let mut v: Vec<f64> = (0..3 * PLACE_CHUNK + 17)
            .map(|i| ((i * 7919) % 1201) as f64 / 100.0 - 6.0)
            .collect();
        v.extend([-2.0, -1.0, 0.0, -0.0, 0.5, 1.5, 3.0, 4.0, 3.25]);
        v.extend([f64::INFINITY, -f64::INFINITY, f64::NAN]);
        let grids = [
            few,
            spaced(8),
            spaced(9),
            spaced(FAST_REGIONS),
            spaced(FAST_REGIONS + 3),
            Grid::new(Vec::new()),
        ];
        for g in grids {
            let mut by_chunks = ColPass::new(&g);
            by_chunks.add(&g, &v);
            let mut one_by_one = ColPass::new(&g);
            for &x in &v {
                match g.place(x) {
                    Place::Cell(i) => {
                        let c = &mut one_by_one.cells[i];
                        c.n += 1;
                        c.min = c.min.min(x);
                        c.max = c.max.max(x);
                    }
                    Place::Collect(r) => one_by_one.collected[r].push(x),
                }
            }
            assert_eq!(by_chunks, one_by_one, "{} regions", g.regions.len());
            if !g.regions.is_empty() {
                assert!(by_chunks.collected.iter().any(|c| !c.is_empty()));
                assert!(by_chunks.cells.iter().filter(|c| c.n > 0).count() > 3);
            }
        }
    }

    /// A column's pass-1 tallies (moments, threshold counts, cells and collections) are
    /// the same bits from the code `tally_first` dispatches to on this processor (AVX2 where it
    /// has it) as from the portable code: on grids of none, 4 and 20 regions (the chunked and
    /// the one-at-a-time placement), values on the thresholds and ends, ±0, ±∞ and NaN, blocks
    /// of 300 draws from draw 900 with a last one shorter and skipped draws in some, and a
    /// column of one value throughout.
    #[test]
    fn pass_one_tallies_are_the_same_bits_on_every_code_path() {
        let plan = default_plan();
        let mut d = plan.empty_draws();
        d.skipped = vec![900, 1199, 1200, 1201, 1450];
        let mut v: Vec<f64> = (0..2 * PLACE_CHUNK + 91)
            .map(|i| ((i * 7919) % 1201) as f64 / 100.0 - 6.0 + i as f64 * 1e-9)
            .collect();
        v.extend([-2.0, -1.0, 0.0, -0.0, 0.5, 1.5, 2.5, 3.0, 4.0]);
        v.extend([f64::INFINITY, -f64::INFINITY, f64::NAN]);
        let many = Grid::new(
            (0..20)
                .map(|i| {
                    let lo = i as f64 * 0.5 - 5.0;
                    Region::new(lo, lo + 0.25, if i % 2 == 0 { 0 } else { 2 })
                })
                .collect(),
        );
        let few = Grid::new(vec![
            Region::new(-2.0, -1.0, 3),
            Region::new(0.0, 0.0, 1),
            Region::new(0.5, 1.5, 0),
            Region::new(3.0, 4.0, 0),
        ]);
        let constant = vec![2.5; 700];
        for g in [Grid::new(Vec::new()), few, many] {
            for v in [&v, &constant] {
                let draws = 900 + (v.len() + d.skipped.len()) as u64;
                let ch = Chunk {
                    d: &d,
                    row0: 0,
                    first_block: 3,
                    end_block: draws.div_ceil(300),
                    block: 300,
                    draws,
                };
                let fresh = || ColFirst {
                    le: Counts::new(vec![-1.0, 0.0, 2.5]),
                    lt: Counts::new(vec![-1.0, 0.0, 2.5]),
                    pass: ColPass::new(&g),
                    ..Default::default()
                };
                let mut portable = fresh();
                tally_first_body(&mut portable, &g, &ch, v);
                let mut dispatched = fresh();
                tally_first(&mut dispatched, &g, &ch, v);
                // Debug prints distinct values distinctly, −0 included (every NaN prints alike).
                let bits = |c: &ColFirst| format!("{c:?}");
                assert_eq!(bits(&portable), bits(&dispatched), "{:?}", g.regions);
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    let mut avx2 = fresh();
                    // SAFETY: the processor has AVX2, checked just above.
                    unsafe { tally_first_avx2(&mut avx2, &g, &ch, v) };
                    assert_eq!(bits(&portable), bits(&avx2), "{:?}", g.regions);
                } else {
                    eprintln!("no AVX2 here: only the portable path was compared");
                }
                let in_tree: u64 = portable.tree.nodes.iter().map(|n| n.2.n).sum();
                assert_eq!(in_tree, v.len() as u64);
                // Each bucket by brute force: the thresholds below a value (`le`), or at or
                // below it (`lt`); NaN is above none.
                for (counts, pred) in [
                    (&portable.le, (|t, x| t < x) as fn(f64, f64) -> bool),
                    (&portable.lt, |t, x| t <= x),
                ] {
                    let mut by_value = vec![0u64; 4];
                    for &x in v {
                        by_value[counts.at.iter().filter(|&&t| pred(t, x)).count()] += 1;
                    }
                    assert_eq!(counts.buckets, by_value);
                }
            }
        }
        // The constant column sits on the threshold 2.5: above two thresholds, at the third.
        let g = Grid::new(Vec::new());
        let ch = Chunk {
            d: &d,
            row0: 0,
            first_block: 0,
            end_block: 1,
            block: constant.len() as u64,
            draws: constant.len() as u64,
        };
        let mut c = ColFirst {
            le: Counts::new(vec![-1.0, 0.0, 2.5]),
            lt: Counts::new(vec![-1.0, 0.0, 2.5]),
            pass: ColPass::new(&g),
            ..Default::default()
        };
        tally_first(&mut c, &g, &ch, &constant);
        assert_eq!(c.le.buckets, vec![0, 0, 700, 0]);
        assert_eq!(c.lt.buckets, vec![0, 0, 0, 700]);
    }

    /// A gap cell, like any cell, keeps the first of equal bounds: +0 then −0 leave +0 as both
    /// its minimum and maximum, −0 then +0 leave −0; on both of pass 1's paths (the chunked
    /// one, and one value at a time past `FAST_REGIONS` regions).
    #[test]
    fn a_gap_cell_keeps_the_first_of_equal_bounds() {
        let many = (0..FAST_REGIONS + 1)
            .map(|i| Region::new(1.0 + i as f64, 1.5 + i as f64, 1))
            .collect();
        for g in [Grid::new(vec![Region::new(1.0, 2.0, 2)]), Grid::new(many)] {
            for (vals, first) in [([0.0, -0.0], 0.0f64), ([-0.0, 0.0], -0.0)] {
                let mut p = ColPass::new(&g);
                p.add(&g, &vals);
                let c = p.cells[g.gap(0)];
                assert_eq!(c.n, 2);
                assert_eq!(c.min.to_bits(), first.to_bits(), "{vals:?}");
                assert_eq!(c.max.to_bits(), first.to_bits(), "{vals:?}");
            }
        }
    }

    /// Later passes add only the values inside a grid's regions: binned ones to their cells,
    /// collected ones to their region; the gaps' values are dropped, unlike pass 1's `add`.
    #[test]
    fn a_later_pass_keeps_only_the_values_inside_the_regions() {
        let g = Grid::new(vec![Region::new(0.0, 1.0, 2), Region::new(5.0, 6.0, 0)]);
        let v = [-1.0, 0.0, 0.2, 0.7, 1.0, 3.0, 5.5, 6.0, 7.0];
        let mut p = ColPass::new(&g);
        p.add_inside(&g, &v);
        // Cells: gap, the two bins of [0, 1] (the first holds its lower end 0), gap, (collected
        // region), gap.
        let n: Vec<u64> = p.cells.iter().map(|c| c.n).collect();
        assert_eq!(n, vec![0, 2, 2, 0, 0]);
        assert_eq!((p.cells[1].min, p.cells[1].max), (0.0, 0.2));
        assert_eq!((p.cells[2].min, p.cells[2].max), (0.7, 1.0));
        assert_eq!(p.collected, vec![vec![], vec![5.5, 6.0]]);
        let mut first = ColPass::new(&g);
        first.add(&g, &v);
        let n: Vec<u64> = first.cells.iter().map(|c| c.n).collect();
        assert_eq!(n, vec![1, 2, 2, 1, 1]);
    }

    /// A block of one repeated value is tallied once (`add_repeated`), exactly as value by value:
    /// in a gap, a binned region, a collected region, on a region's ends and on thresholds, at
    /// ±0 (distinct in bits) and on a grid without regions, into cells that already hold values.
    #[test]
    fn a_repeated_value_is_tallied_as_each_copy_would_be() {
        let grids = [
            Grid::new(vec![Region::new(-0.0, 1.0, 2), Region::new(5.0, 6.0, 0)]),
            Grid::new(Vec::new()),
        ];
        let at = vec![-1.0, -0.0, 0.0, 0.5, 5.0];
        let before = [0.3, -2.0, 5.5, 9.0];
        for g in &grids {
            for x in [-3.0, -0.0, 0.0, 0.2, 0.5, 1.0, 3.0, 5.0, 5.5, 6.0, 7.0] {
                for n in [1usize, 2, 7] {
                    let copies = vec![x; n];
                    let (mut one, mut each) = (ColPass::new(g), ColPass::new(g));
                    one.add(g, &before);
                    each.add(g, &before);
                    one.add_repeated(g, x, n as u64);
                    each.add(g, &copies);
                    assert_eq!(
                        (one.cells.len(), one.collected.clone()),
                        (each.cells.len(), each.collected.clone()),
                        "{x} ×{n}"
                    );
                    for (a, b) in one.cells.iter().zip(&each.cells) {
                        assert_eq!(
                            (a.n, a.min.to_bits(), a.max.to_bits()),
                            (b.n, b.min.to_bits(), b.max.to_bits()),
                            "{x} ×{n}"
                        );
                    }
                    for le in [true, false] {
                        let pred = |t: f64, x: f64| if le { t < x } else { t <= x };
                        let (mut one, mut each) =
                            (Counts::new(at.clone()), Counts::new(at.clone()));
                        one.add(&before, pred);
                        each.add(&before, pred);
                        one.add_repeated(x, n as u64, pred);
                        each.add(&copies, pred);
                        assert_eq!(one.buckets, each.buckets, "{x} ×{n}, le {le}");
                    }
                }
            }
        }
    }

    /// Kept rows per block by hand: blocks of 10 over 35 draws (the last block holds 5), draws
    /// 3, 12, 19, 20 and 34 skipped; blocks 1..4 keep 10 − 2 (12, 19), 10 − 1 (20), 5 − 1 (34).
    /// A chunk's rows run from its first row over the kept rows of its blocks.
    #[test]
    fn kept_rows_per_block_and_a_chunks_rows_by_hand() {
        let plan = default_plan();
        let mut d = plan.empty_draws();
        d.skipped = vec![3, 12, 19, 20, 34];
        let ch = Chunk {
            d: &d,
            row0: 7,
            first_block: 1,
            end_block: 4,
            block: 10,
            draws: 35,
        };
        let block = |b, draws, skipped, rows| ChunkBlock {
            b,
            draws,
            skipped,
            rows,
        };
        let want = [
            block(1, (10, 20), &[12, 19][..], 7..15),
            block(2, (20, 30), &[20], 15..24),
            block(3, (30, 35), &[34], 24..28),
        ];
        assert!(ch.blocks().eq(want));
        assert_eq!((ch.rows(), ch.skipped()), (7..28, 4));
        let first = Chunk {
            row0: 0,
            first_block: 0,
            end_block: 1,
            ..ch
        };
        assert_eq!((first.rows(), first.skipped()), (0..9, 1));
    }

    /// Merging pass-1 statistics of two sets of draws: counts add, tree nodes combine when the
    /// second's draws follow the first's (and are kept beside otherwise), collected values are
    /// joined, cells merge, whole-year counts add.
    #[test]
    fn pass_one_statistics_of_two_parts_merge_field_by_field() {
        let g = Grid::new(vec![Region::new(0.0, 1.0, 0)]);
        // Four draws from `from`, those of `skipped` skipped and the others `vals`.
        let part = |from: u64, skipped: &[u64], vals: &[f64], le: Vec<u64>, dw: Vec<u64>| {
            let mut pass = ColPass::new(&g);
            pass.add(&g, vals);
            let mut c = Counts::new(vec![0.5]);
            c.buckets = le;
            let mut tree = Tree::default();
            tree.push_draws((from, from + 4), vals, skipped);
            First {
                kept: vals.len() as u64,
                skipped: skipped.len() as u64,
                cols: vec![ColFirst {
                    tree,
                    le: c.clone(),
                    lt: c,
                    pass,
                }],
                breakeven: vec![dw.iter().map(|x| x * 10).collect()],
                delay_whole: vec![dw],
            }
        };
        let (va, vb) = ([0.25, 2.0, -1.0], [0.75, 3.0]);
        let mut a = part(0, &[1], &va, vec![2, 1], vec![1, 2]);
        let b = part(4, &[5, 7], &vb, vec![1, 1], vec![0, 5]);
        let node = |p: &First| {
            assert_eq!(p.cols[0].tree.nodes.len(), 1);
            p.cols[0].tree.nodes[0]
        };
        let (na, nb) = (node(&a), node(&b));
        assert_eq!(((na.0, na.1), (nb.0, nb.1)), ((2, 0), (2, 1)));
        // Draws 4..8 after draws 0..4: one node, their parent, as one pass over both forms it.
        let mut later_first = b.clone();
        a.merge(b);
        assert_eq!((a.kept, a.skipped), (5, 3));
        let c = &a.cols[0];
        let parent = Moments::combine(na.2, nb.2);
        assert_eq!(c.tree.nodes, vec![(3, 0, parent)]);
        // Draws 0..4 after draws 4..8: nothing combines, the nodes are kept beside each other.
        later_first.merge(part(0, &[1], &va, vec![2, 1], vec![1, 2]));
        let nodes = &later_first.cols[0].tree.nodes;
        assert_eq!((nodes.len(), (nodes[0].0, nodes[0].1)), (2, (2, 1)));
        assert_eq!(Tree::root(nodes, 8), Some(parent));
        assert_eq!(c.le.buckets, vec![3, 2]);
        assert_eq!(c.lt.buckets, vec![3, 2]);
        assert_eq!(c.pass.collected, vec![vec![0.25, 0.75]]);
        let n: Vec<u64> = c.pass.cells.iter().map(|x| x.n).collect();
        assert_eq!(n, vec![1, 2]);
        assert_eq!((c.pass.cells[1].min, c.pass.cells[1].max), (2.0, 3.0));
        assert_eq!(a.delay_whole, vec![vec![1, 7]]);
        assert_eq!(a.breakeven, vec![vec![10, 70]]);
    }

    /// Brackets against the sorted pilot: disjoint and increasing, each rank's pilot order
    /// statistic inside one, expected counts the pilot's share of the run; a value the pilot
    /// repeats at a bracket's end is a bracket of its own, and no other bracket ends at a
    /// repeated value. Pilots of 12,000 values, shuffled: `z` zeros (a point mass at the bottom),
    /// distinct values in (0, 1), `t` twos (one at the top); `z` and `t` swept so that a mass
    /// ends just below, at and just above a bracket's end (a run of equal values reaching the end
    /// from either side).
    #[test]
    fn brackets_hold_their_ranks_and_split_off_a_repeated_end() {
        let p = 12_000;
        // Ranks among n = p values: rank r's pilot position is r itself.
        let ranks = [2040, 6000, 9959];
        let mut checked_split = 0;
        let sweep = (1700..1800)
            .map(|k| (k, 2000))
            .chain((1700..1800).map(|k| (2000, k)));
        for (z, t) in sweep {
            let mut v: Vec<f64> = (0..p)
                .map(|i| {
                    if i < z {
                        0.0
                    } else if i < p - t {
                        (i - z + 1) as f64 / (p - z - t + 1) as f64
                    } else {
                        2.0
                    }
                })
                .collect();
            let mut sorted = v.clone();
            // A fixed shuffle (an LCG): `brackets` must not rely on the order.
            let mut s = 1u64;
            for i in (1..v.len()).rev() {
                s = s
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                v.swap(i, (s >> 33) as usize % (i + 1));
            }
            sorted.sort_by(f64::total_cmp);
            let got = brackets(&v, &ranks, p as u64);
            assert!(got.len() >= 3, "z {z} t {t}: {got:?}");
            let count = |a: f64, b: f64| sorted.iter().filter(|&&x| a <= x && x <= b).count();
            for w in got.windows(2) {
                assert!(w[0].1 < w[1].0, "z {z} t {t}: {got:?}");
            }
            for &(a, b, e) in &got {
                if a == b {
                    assert_eq!(e, 0.0);
                    assert!(count(a, a) >= 2, "z {z} t {t}: a point bracket at {a}");
                } else {
                    assert!(
                        count(a, a) <= 1 && count(b, b) <= 1,
                        "z {z} t {t}: [{a}, {b}]"
                    );
                    let share = count(a, b).max(1) as f64 / p as f64 * p as f64;
                    assert_eq!(e, share, "z {z} t {t}: [{a}, {b}]");
                }
            }
            for r in ranks {
                let x = sorted[r as usize];
                assert!(
                    got.iter().any(|&(a, b, _)| a <= x && x <= b),
                    "z {z} t {t}: {r}"
                );
            }
            if got.first() == Some(&(0.0, 0.0, 0.0)) && got.last() == Some(&(2.0, 2.0, 0.0)) {
                checked_split += 1;
                assert_eq!(got.len(), 5, "z {z} t {t}: {got:?}");
                assert_eq!(got[1].0, 0f64.next_up());
                assert_eq!(got[3].1, 2f64.next_down());
            }
        }
        // Both masses split off wherever they reach into the outer brackets: those of ranks 2040
        // and 9959 reach 6·√(p·q(1 − q)) + 2 = 248.9 positions either side, to 1791 and 10208,
        // so for z ≥ 1792 (t = 2000) and t ≥ 1792 (z = 2000): 8 + 8 pilots.
        assert_eq!(checked_split, 16);
    }

    /// Which brackets a pass collects: those of at most `cap` values, smallest first (ties by
    /// column, then bracket), while the total stays within the budget.
    #[test]
    fn brackets_are_collected_smallest_first_within_the_budget() {
        let sizes = vec![vec![50.0, 10.0, 500.0], vec![10.0, 30.0]];
        // cap 100 leaves out the 500; budget 60 takes 10 (col 0), 10 (col 1), 30, then stops
        // before the 50.
        let c = within_budget(&sizes, 100.0, 60.0);
        assert_eq!(c, vec![vec![false, true, false], vec![true, true]]);
        let all = within_budget(&sizes, 1e9, 1e9);
        assert_eq!(all, vec![vec![true, true, true], vec![true, true]]);
        let none = within_budget(&sizes, 5.0, 1e9);
        assert_eq!(none, vec![vec![false, false, false], vec![false, false]]);
        // A total exactly at the budget is within it: 10 + 10 + 30 = 50.
        let exact = within_budget(&sizes, 100.0, 50.0);
        assert_eq!(exact, vec![vec![false, true, false], vec![true, true]]);
    }

    /// A rank among cells: exact when its cell holds one value, or it is the cell's first or
    /// last value (its minimum or maximum), else the cell's bracket, with the count of values
    /// below it.
    #[test]
    fn a_rank_is_located_in_its_cell() {
        let cell = |n, min, max| Cell { n, min, max };
        let cells = [cell(2, 0.0, 1.0), cell(3, 2.0, 4.0), cell(4, 5.0, 5.0)];
        // 10 values lie below these cells.
        assert_eq!(locate(&cells, 10, 10).ok(), Some(0.0));
        assert_eq!(locate(&cells, 10, 11).ok(), Some(1.0));
        assert_eq!(locate(&cells, 10, 12).ok(), Some(2.0));
        assert_eq!(locate(&cells, 10, 14).ok(), Some(4.0));
        assert_eq!(locate(&cells, 10, 16).ok(), Some(5.0));
        let b = locate(&cells, 10, 13).unwrap_err();
        assert_eq!((b.offset, b.count, b.lo, b.hi), (12, 3, 2.0, 4.0));
    }

    #[test]
    fn the_tree_of_draws_gives_the_same_bits_for_any_split() {
        for blocks in [1u64, 2, 5, 8, 13, 64, 100] {
            let mut whole = Tree::default();
            for b in 0..blocks {
                whole.push_draws((7 * b, 7 * b + 7), &block_values(b), &[]);
            }
            let one = Tree::root(&whole.nodes, 7 * blocks).unwrap();
            let all: Vec<f64> = (0..blocks).flat_map(block_values).collect();
            let (m, sd) = moments_naive(&all);
            let (m1, sd1) = one.mean_sd();
            assert!((m - m1).abs() < 1e-12 && (sd - sd1).abs() < 1e-12);
            // Blocks of 7 draws split at every pair of cut points, merged in reverse order.
            for a in 0..blocks {
                for c in a..=blocks {
                    let mut parts = [Tree::default(), Tree::default(), Tree::default()];
                    for b in 0..blocks {
                        let k = if b < a {
                            0
                        } else if b < c {
                            1
                        } else {
                            2
                        };
                        parts[k].push_draws((7 * b, 7 * b + 7), &block_values(b), &[]);
                    }
                    let nodes: Vec<_> = parts.iter().rev().flat_map(|t| t.nodes.iter()).collect();
                    let r = Tree::root(nodes, 7 * blocks).unwrap();
                    assert_eq!(r.mean.to_bits(), one.mean.to_bits(), "{blocks} {a} {c}");
                    assert_eq!(r.m2.to_bits(), one.m2.to_bits(), "{blocks} {a} {c}");
                }
            }
            if blocks > 1 {
                // The last block missing is noticed.
                let mut t = Tree::default();
                for b in 0..blocks - 1 {
                    t.push_draws((7 * b, 7 * b + 7), &block_values(b), &[]);
                }
                assert!(Tree::root(&t.nodes, 7 * blocks).is_none());
            }
        }
    }

    #[test]
    fn cells_are_in_value_order() {
        let g = Grid::new(vec![
            Region::new(-1.0, 1.0, 8),
            Region::new(2.0, 2.0, 1),
            Region::new(3.0, 5.0, 0),
        ]);
        let mut last = 0;
        let mut x = -3.0;
        while x < 2.9 {
            match g.place(x) {
                Place::Cell(i) => {
                    assert!(i >= last, "{x}");
                    last = i;
                }
                Place::Collect(_) => panic!("{x} collected"),
            }
            x += 0.01;
        }
        assert!(matches!(g.place(4.0), Place::Collect(2)));
        assert!(matches!(g.place(5.5), Place::Cell(c) if c == g.cells - 1));
        assert!(matches!(g.place(1.0), Place::Cell(8)));
    }

    #[test]
    fn an_encoded_pass_adds_like_a_merge_and_another_grid_is_refused() {
        let g = Grid::new(vec![Region::new(-1.0, 1.0, 8), Region::new(3.0, 5.0, 0)]);
        let v: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * 0.618_033_988_7).fract() * 7.0 - 2.0)
            .collect();
        let (a, b) = v.split_at(400);
        let (mut pa, mut pb) = (ColPass::new(&g), ColPass::new(&g));
        pa.add(&g, a);
        pb.add(&g, b);
        assert!(pb.collected[1].len() > 100 && pb.cells.iter().any(|c| c.n == 0));
        let mut merged = pa.clone();
        merged.merge(pb.clone());
        let bytes = encode_passes(std::slice::from_ref(&pb));
        // Only the non-empty cells are written (index, count, minimum, maximum: 32 bytes each),
        // after the pass count, the cell count and the count of cells written; then the count
        // of collected regions and each one's length and values.
        let full = pb.cells.iter().filter(|c| c.n > 0).count();
        let collected: usize = pb.collected.iter().map(|v| 8 + 8 * v.len()).sum();
        assert_eq!(bytes.len(), 3 * 8 + 32 * full + 8 + collected);
        let mut added = pa.clone();
        add_encoded_passes(std::slice::from_mut(&mut added), &bytes).unwrap();
        assert_eq!(added, merged);
        // A pass over another grid, or a truncated encoding, is refused.
        let g2 = Grid::new(vec![Region::new(-1.0, 1.0, 9), Region::new(3.0, 5.0, 0)]);
        let mut other = ColPass::new(&g2);
        assert!(add_encoded_passes(std::slice::from_mut(&mut other), &bytes).is_none());
        let mut cut = pa.clone();
        assert!(
            add_encoded_passes(std::slice::from_mut(&mut cut), &bytes[..bytes.len() - 1]).is_none()
        );
    }

    /// A checkpoint's grids decode to what was encoded, at the edges of what is allowed (a
    /// one-value region, the most bins a region may have, a collected region); a grid that no
    /// run could have written (an inverted or non-finite range, too many bins, a trailing byte)
    /// is refused, each fault alone.
    #[test]
    fn encoded_grids_round_trip_and_a_corrupt_grid_is_refused() {
        let max_bins = 1u32 << 20;
        let grids = vec![
            Grid::new(vec![
                Region::new(-1.5, 1.0, 8),
                Region::new(2.0, 2.0, 1),
                Region::new(3.0, 5.0, 0),
            ]),
            Grid::new(vec![Region::new(0.0, 4.0, max_bins)]),
            Grid::new(Vec::new()),
        ];
        let bytes = encode_grids(&grids);
        assert_eq!(decode_grids(&bytes), Some(grids.clone()));
        // Grids are equal when their regions are: another bin count, end or region differs.
        let other = [
            Grid::new(vec![Region::new(0.0, 4.0, max_bins - 1)]),
            Grid::new(vec![Region::new(0.0, 4.5, max_bins)]),
            Grid::new(vec![
                Region::new(0.0, 4.0, max_bins),
                Region::new(5.0, 6.0, 0),
            ]),
        ];
        for o in other {
            assert_ne!(grids[1], o);
        }
        let one = |lo: f64, hi: f64, bins: u32| {
            encode_grids(&[Grid::new(vec![
                Region::new(0.0, 1.0, 2),
                Region::new(lo, hi, bins),
            ])])
        };
        assert!(decode_grids(&one(2.0, 3.0, max_bins)).is_some());
        for (lo, hi, bins, fault) in [
            (3.0, 2.0, 4, "lo above hi"),
            (f64::NAN, 3.0, 4, "lo not a number"),
            (2.0, f64::INFINITY, 4, "hi infinite"),
            (f64::NEG_INFINITY, 3.0, 0, "lo infinite"),
            (2.0, 3.0, max_bins + 1, "too many bins"),
        ] {
            assert_eq!(decode_grids(&one(lo, hi, bins)), None, "{fault}");
        }
        let mut long = one(2.0, 3.0, 4);
        long.push(0);
        assert_eq!(decode_grids(&long), None, "a trailing byte");
    }

    /// Pass-1 statistics encoded by one shard add to another's (counts of draws and tallies
    /// summed) only when both counted against the same thresholds: a shard of another run
    /// (other thresholds) is refused.
    #[test]
    fn encoded_pass_one_statistics_with_other_thresholds_are_refused() {
        let g = Grid::new(vec![Region::new(0.0, 1.0, 0)]);
        // `le` counted against `le_at`, `lt` against `lt_at`.
        let first = |le_at: f64, lt_at: f64, buckets: Vec<u64>| {
            let counts = |at| {
                let mut c = Counts::new(vec![at]);
                c.buckets = buckets.clone();
                c
            };
            First {
                kept: 3,
                skipped: 0,
                cols: vec![ColFirst {
                    tree: Tree::default(),
                    le: counts(le_at),
                    lt: counts(lt_at),
                    pass: ColPass::new(&g),
                }],
                breakeven: vec![vec![0, 3]],
                delay_whole: vec![vec![3, 0]],
            }
        };
        let mut shard = first(0.5, 0.75, vec![2, 1]);
        shard.skipped = 1;
        let bytes = shard.encode();
        let mut same = first(0.5, 0.75, vec![0, 0]);
        same.kept = 4;
        same.skipped = 2;
        assert_eq!(same.add_encoded(&bytes, None), Some(()));
        assert_eq!(same.cols[0].le.buckets, vec![2, 1]);
        assert_eq!(same.cols[0].lt.buckets, vec![2, 1]);
        // Draws kept and skipped, and the whole-year tallies, add up across the two.
        assert_eq!((same.kept, same.skipped), (4 + 3, 2 + 1));
        assert_eq!(same.breakeven, vec![vec![0, 6]]);
        assert_eq!(same.delay_whole, vec![vec![6, 0]]);
        for (le_at, lt_at) in [(0.25, 0.75), (0.5, 0.25)] {
            let mut other = first(le_at, lt_at, vec![0, 0]);
            assert_eq!(
                other.add_encoded(&bytes, None),
                None,
                "le at {le_at}, lt at {lt_at}"
            );
        }
    }

    /// A checkpointed pass's chunks merge column by column as `ColPass::merge` does; parts with
    /// another number of columns, or a column with other cells or other collected regions, are
    /// refused (each alone), and so is nothing to merge.
    #[test]
    fn merge_passes_joins_parts_column_by_column_and_refuses_other_shapes() {
        let g = [
            Grid::new(vec![Region::new(-1.0, 1.0, 4), Region::new(3.0, 5.0, 0)]),
            Grid::new(vec![Region::new(0.0, 2.0, 2)]),
        ];
        let part = |vals: &[f64]| -> Vec<ColPass> {
            g.iter()
                .map(|g| {
                    let mut p = ColPass::new(g);
                    p.add(g, vals);
                    p
                })
                .collect()
        };
        let (a, b) = (part(&[-2.0, 0.5, 4.0, 9.0]), part(&[0.25, 3.5, 1.5]));
        let want: Vec<ColPass> = a
            .iter()
            .zip(&b)
            .map(|(x, y)| {
                let mut m = x.clone();
                m.merge(y.clone());
                m
            })
            .collect();
        assert_eq!(want[0].collected[1], vec![4.0, 3.5]);
        assert_eq!(merge_passes(vec![a.clone(), b.clone()]), Some(want));
        assert_eq!(merge_passes(Vec::new()), None, "nothing to merge");
        assert_eq!(
            merge_passes(vec![a.clone(), b[..1].to_vec()]),
            None,
            "columns"
        );
        let mut cells = b.clone();
        cells[1] = ColPass::new(&Grid::new(vec![Region::new(0.0, 2.0, 3)]));
        assert_eq!(cells[1].collected.len(), a[1].collected.len());
        assert_eq!(merge_passes(vec![a.clone(), cells]), None, "cells");
        let mut collected = b.clone();
        collected[1].collected.push(Vec::new());
        assert_eq!(merge_passes(vec![a, collected]), None, "collected regions");
    }

    #[test]
    fn passes_find_exact_order_statistics_of_awkward_samples() {
        // Unlimited, then a budget below a single collected cell's size, then one between.
        for budget in [u64::MAX, 40, 120] {
            awkward_samples_with_budget(budget);
        }
    }

    fn awkward_samples_with_budget(budget: u64) {
        // Point masses, a heavy tail and duplicates: every rank must match the sorted sample.
        let mut v: Vec<f64> = (0..20_000)
            .map(|i| {
                let u = ((i as f64 + 0.5) * 0.618_033_988_7).fract();
                match i % 5 {
                    0 => 0.0,
                    1 => 1.0 / (1.0 - u).max(1e-9),
                    2 => (u * 4.0).floor(),
                    _ => u - 0.5,
                }
            })
            .collect();
        v.push(1e12);
        let cfg = StreamConfig {
            bins: 16,
            collect_cap: 50,
            collect_budget: budget,
            ..StreamConfig::default()
        };
        let sorted = Sorted::new(v.clone()).unwrap();
        let n = v.len() as u64;
        let ranks: Vec<u64> = vec![0, 1, 17, n / 5, n / 2, n / 2 + 1, n - 3, n - 1];
        // Pass 1 with a grid bracketing a few of the ranks from a small "pilot".
        let pilot = Sorted::new(v[..500].to_vec()).unwrap();
        let g = Grid::new(vec![
            Region::new(pilot.values()[100], pilot.values()[200], cfg.bins),
            Region::new(pilot.values()[300], pilot.values()[300], 1),
        ]);
        let mut p = ColPass::new(&g);
        p.add(&g, &v);
        let first = First {
            kept: n,
            cols: vec![ColFirst {
                pass: p,
                ..Default::default()
            }],
            ..Default::default()
        };
        let mut res = Resolver::new(
            &first,
            std::slice::from_ref(&ranks),
            std::slice::from_ref(&g),
        );
        while let Some(grids) = res.next(&cfg) {
            let mut p = ColPass::new(&grids[0]);
            // Values arrive in two halves, merged: a pass's result does not depend on order.
            let (a, b) = v.split_at(v.len() / 3);
            p.add(&grids[0], b);
            let mut q = ColPass::new(&grids[0]);
            q.add(&grids[0], a);
            q.merge(p);
            let collected: usize = q.collected.iter().map(Vec::len).sum();
            assert!(
                collected as u64 <= budget,
                "budget {budget}: a pass collected {collected} values"
            );
            res.apply(&grids, vec![q]).unwrap();
        }
        assert!(
            res.passes() > 2,
            "budget {budget}: the small cap must force subdivision"
        );
        for (r, t) in &res.targets[0] {
            assert_eq!(
                t.unwrap().to_bits(),
                sorted.at(*r as usize).to_bits(),
                "budget {budget}: rank {r}"
            );
        }
    }

    use crate::sampler::SamplerKind;
    // Spearman's coefficient written out from its definition, in the sensitivity tests.
    use crate::sensitivity::tests::spearman as spearman_by_hand;

    /// The council example where about one draw in eight overflows (tests/data).
    fn overflowing_plan() -> Plan {
        let read = |f: &str| {
            let path = format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
            (path.clone(), std::fs::read_to_string(&path).unwrap())
        };
        let (mf, ms) = read("council.toml");
        let model = crate::format::parse_model(&mf, &ms).unwrap();
        let set = crate::distfile::load(
            &model,
            &[read("council_dists.toml"), read("overflow_dists.toml")],
        )
        .unwrap();
        let scen = model.scenario_index("central").unwrap();
        Plan::new(model, scen, set).unwrap()
    }

    /// A source that hands on another's chunks only: pass 1 over it is the chunked pass.
    struct Chunked<'a>(&'a dyn Source);

    impl Source for Chunked<'_> {
        fn chunks(
            &self,
            first: u64,
            end: u64,
            f: &mut dyn FnMut(&Chunk) -> Result<(), RunError>,
        ) -> Result<(), RunError> {
            self.0.chunks(first, end, f)
        }
    }

    /// Pass 1 over blocks the engine runs (each task tallying its own blocks) gives the chunked
    /// pass's statistics, in every bit (and a later pass its cells and collected values): moments' tree nodes, counts, cells, collected values
    /// and skipped draws, for 1, 2 and 3 threads, a range of blocks not starting at 0 (its
    /// first node has no sibling) and a plan whose draws are skipped. The chunked pass over the
    /// same draws held in memory gives the same too, but for the skipped draws, which it counts
    /// over the whole run.
    #[test]
    fn pass_one_over_the_engine_equals_pass_one_over_the_draws_in_memory() {
        for (plan, skip) in [(default_plan(), false), (overflowing_plan(), true)] {
            let opts = RunOptions {
                draws: 9000,
                seed: 5,
                sampler: SamplerKind::MonteCarlo,
                block_size: 300,
                skip_nonfinite: skip,
            };
            let pilot = Setup::run_pilot(&plan, &opts, false).unwrap();
            // Few bins, so that a later pass on these grids runs block by block too.
            let cfg = StreamConfig {
                collect_first: 1 << 10,
                bins: 16,
                ..StreamConfig::default()
            };
            let o = SummaryOptions::default();
            let setup = Setup::new(&plan, opts.draws, pilot, false, &o, &Vec::new(), &cfg);
            assert!(setup.grids.iter().map(|g| g.cells).sum::<usize>() <= FOLD_CELLS);
            let (b0, b1) = (3, 29);
            let src = Regenerate {
                plan: &plan,
                opts: &opts,
                chunk_blocks: 4,
                progress: &|_| {},
            };
            let want = setup.first_pass(&plan, &Chunked(&src), b0, b1).unwrap();
            assert!(
                want.cols
                    .iter()
                    .any(|c| c.pass.collected.iter().any(|v| !v.is_empty())),
                "some values are collected"
            );
            assert!(want.cols.iter().all(|c| c.tree.nodes.len() > 1));
            assert_eq!(skip, want.skipped > 0, "the plans skip draws or do not");
            let d = plan.run_blocks(&opts, 0, 30, &|_| {}).unwrap();
            let mem = InMemory {
                d: &d,
                block: opts.block_size,
                draws: opts.draws,
            };
            let in_memory = setup.first_pass(&plan, &mem, b0, b1).unwrap();
            assert!(
                in_memory.encode() == want.encode(),
                "skip {skip}: in memory"
            );
            // Each task with cells of its own, and (`fold_cells` 0) the tasks sharing one set.
            for (threads, fold_cells) in (1..=3).flat_map(|t| [(t, FOLD_CELLS), (t, 0)]) {
                let got = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        setup.first_pass_sharing(&plan, &src, b0, b1, fold_cells, None, None)
                    })
                    .unwrap();
                let case = format!("{threads} threads, skip {skip}, fold cells {fold_cells}");
                assert!(got == want, "{case}");
                // The same bits (a signed zero included), as a shard would save them.
                assert!(got.encode() == want.encode(), "{case}");
            }
            // A later pass (here on the pass-1 grids) over the engine, each task adding its own
            // blocks, likewise: the chunked pass's cells and collected values, in every bit.
            let later_sharing = |src: &dyn Source, fold_cells| {
                encode_passes(&pass_sharing(&plan, src, &setup.grids, b0, b1, fold_cells).unwrap())
            };
            let later = |src: &dyn Source| later_sharing(src, FOLD_CELLS);
            let collected = pass(&plan, &Chunked(&src), &setup.grids, b0, b1).unwrap();
            assert!(
                collected
                    .iter()
                    .any(|c| c.collected.iter().any(|v| !v.is_empty())),
                "a later pass collects values"
            );
            // It counts values into cells too (a later pass counts no gap), and so does pass 1
            // into cells of its regions, not only of the gaps between them.
            assert!(collected.iter().any(|c| c.cells.iter().any(|x| x.n > 0)));
            let binned = |g: &Grid, cells: &[Cell]| {
                g.regions().iter().enumerate().any(|(i, r)| {
                    r.bins > 0
                        && cells[g.starts[i]..g.starts[i] + r.bins as usize]
                            .iter()
                            .any(|x| x.n > 0)
                })
            };
            assert!(
                setup
                    .grids
                    .iter()
                    .zip(&want.cols)
                    .any(|(g, c)| binned(g, &c.pass.cells))
            );
            let want = later(&Chunked(&src));
            assert!(later(&mem) == want, "skip {skip}: a later pass in memory");
            for (threads, fold_cells) in (1..=3).flat_map(|t| [(t, FOLD_CELLS), (t, 0)]) {
                let got = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| later_sharing(&src, fold_cells));
                assert!(
                    got == want,
                    "{threads} threads, skip {skip}, fold cells {fold_cells}: a later pass"
                );
            }
        }
    }

    /// A pass without cells of its own counts into cells kept elsewhere what a pass with cells
    /// counts into its own: values, repeated values and the gaps' tallies, flushed at once or
    /// after merging, into another such pass or into one with cells; its collected values stay
    /// its own, in order.
    #[test]
    fn a_pass_without_cells_counts_what_a_pass_with_cells_would() {
        let g = Grid::new(vec![
            Region::new(0.1, 0.3, 8),
            Region::new(0.5, 0.6, 0),
            Region::new(0.8, 0.9, 4),
        ]);
        let v: Vec<f64> = (0..600)
            .map(|i| ((f64::from(i) + 0.5) * 0.618_033_988_7).fract())
            .collect();
        let (a, rest) = v.split_at(150);
        let (b, c) = rest.split_at(250);
        let mut want = ColPass::new(&g);
        for part in [a, b, c] {
            want.add(&g, part);
        }
        want.add_repeated(&g, 0.2, 3);
        want.add_repeated(&g, 0.7, 2);
        let counted = want.cells.iter().filter(|c| c.n > 0).count();
        assert!(counted > 8 && want.collected[1].len() > 10, "{counted}");

        // Flushed at once into cells kept apart.
        let mut cells = vec![Cell::default(); g.cells];
        let mut p = ColPass::without_cells(&g);
        assert!(p.cells.is_empty());
        for part in [a, b, c] {
            p.add(&g, part);
            p.flush(&mut cells);
        }
        p.add_repeated(&g, 0.2, 3);
        p.add_repeated(&g, 0.7, 2);
        p.flush(&mut cells);
        assert_eq!(
            p.deferred,
            Some(Deferred::default()),
            "nothing waits after a flush"
        );
        assert!(cells == want.cells);
        assert!(p.collected == want.collected);

        // Merged unflushed: into a pass with cells, through one without.
        let mut with = ColPass::new(&g);
        with.add(&g, a);
        let mut q = ColPass::without_cells(&g);
        q.add(&g, b);
        let mut r = ColPass::without_cells(&g);
        r.add(&g, c);
        r.add_repeated(&g, 0.2, 3);
        r.add_repeated(&g, 0.7, 2);
        q.merge(r);
        assert!(q.cells.is_empty());
        with.merge(q);
        assert!(with == want);
        // A pass with cells merged into one without: its cells wait there too.
        let mut without = ColPass::without_cells(&g);
        without.add(&g, a);
        let mut with = ColPass::new(&g);
        with.add(&g, b);
        with.add(&g, c);
        with.add_repeated(&g, 0.2, 3);
        with.add_repeated(&g, 0.7, 2);
        without.merge(with);
        let mut cells = vec![Cell::default(); g.cells];
        without.flush(&mut cells);
        assert!(cells == want.cells);
        assert!(without.collected == want.collected);

        // Through the shared cells: the passes of two tasks, flushed, merged, handed back.
        let shared = SharedCells::over(std::slice::from_ref(&g), 0).unwrap();
        assert!(SharedCells::over(std::slice::from_ref(&g), g.cells).is_none());
        let mut t1 = [SharedCells::empty(Some(&shared), &g)];
        let mut t2 = [SharedCells::empty(Some(&shared), &g)];
        t1[0].add(&g, a);
        shared.flush(t1.iter_mut(), None);
        t1[0].add(&g, b);
        t2[0].add(&g, c);
        t2[0].add_repeated(&g, 0.2, 3);
        t2[0].add_repeated(&g, 0.7, 2);
        shared.flush(t2.iter_mut(), None);
        // Nothing waits in a task after its flush: its buffer does not grow with its blocks.
        assert_eq!(t2[0].deferred, Some(Deferred::default()));
        let [t2] = t2;
        t1[0].merge(t2);
        shared.into_passes(t1.iter_mut(), None);
        assert!(t1[0] == want);
    }

    /// Brackets that pass 1 would collect whole, but more values in all than a later pass may
    /// collect, are taken from the wide pilot instead: the grids are then those of a
    /// configuration whose own grid pilot is the wide one. Within that budget the grid pilot's
    /// brackets stay.
    #[test]
    fn brackets_collecting_more_than_a_later_pass_may_come_from_the_wide_pilot() {
        let plan = default_plan();
        let opts = monte_carlo(300_007, 5);
        let pilot = Setup::run_pilot(&plan, &opts, false).unwrap();
        let o = SummaryOptions::default();
        let grids = |grid_pilot: u64, wide_pilot: u64, collect_budget: u64| {
            let cfg = StreamConfig {
                grid_pilot,
                wide_pilot,
                collect_first: 1 << 20,
                collect_first_budget: 1 << 30,
                collect_budget,
                ..StreamConfig::default()
            };
            let setup = Setup::new(
                &plan,
                opts.draws,
                pilot.clone(),
                false,
                &o,
                &Vec::new(),
                &cfg,
            );
            setup.grids
        };
        let narrow = grids(1 << 10, 1 << 10, 1 << 30);
        let wide = grids(1 << 12, 1 << 12, 1 << 30);
        assert!(narrow != wide);
        // Every bracket of the narrow pilot is collected (none binned): only the total decides.
        assert!(
            narrow
                .iter()
                .all(|g| g.regions().iter().all(|r| r.bins <= 1))
        );
        let collected = |g: &[Grid]| -> usize {
            g.iter()
                .map(|g| g.regions().iter().filter(|r| r.bins == 0).count())
                .sum()
        };
        assert!(collected(&narrow) > 100, "{}", collected(&narrow));
        assert!(grids(1 << 10, 1 << 12, 1 << 30) == narrow);
        assert!(grids(1 << 10, 1 << 12, 1 << 10) == wide);

        // When pass 1 cannot collect every bracket, it collects none.
        let q = queries(&plan, opts.draws, &o, &Vec::new());
        let rows = pilot_rows(&pilot, 1 << 10);
        let first = |collect_first_budget: u64, collect_budget: u64| {
            let cfg = StreamConfig {
                collect_first: 1 << 20,
                collect_first_budget,
                collect_budget,
                ..StreamConfig::default()
            };
            first_grids(&plan, &pilot, rows, &q.ranks, opts.draws, &cfg)
        };
        let (every, all) = first(1 << 30, 1 << 30);
        assert!(every == narrow && all > 1e5, "{all}");
        let (none, within) = first((all * 0.75) as u64, 1 << 30);
        assert_eq!(within, 0.0);
        assert!(none.iter().all(|g| g.regions().iter().all(|r| r.bins > 0)));
        assert!(none.iter().any(|g| g.regions().iter().any(|r| r.bins > 1)));
    }

    /// A run in one process finishes 20,011 draws in one pass: pass 1 collects the
    /// values around every wanted rank. The configuration of shards and merges, which collects
    /// nothing in pass 1, takes more (the run is past its 2¹⁴-draw grid pilot), for the same
    /// summary.
    #[test]
    fn a_small_run_in_one_process_takes_one_pass() {
        let plan = default_plan();
        let opts = monte_carlo(20_011, 5);
        let run = |cfg: &StreamConfig| streamed(&plan, &opts, meta_of(&opts), cfg);
        let (one, passes) = run(&StreamConfig::single_process());
        assert_eq!(passes, 1);
        let (more, passes) = run(&StreamConfig::default());
        assert!(passes > 1, "{passes}");
        assert_eq!(
            serde_json::to_string(&one).unwrap(),
            serde_json::to_string(&more).unwrap()
        );
    }

    /// The options of a run of `draws` draws of [`overflowing_plan`] in blocks of 1,000, which
    /// skips about one draw in eight.
    fn skipping(draws: u64) -> RunOptions {
        RunOptions {
            skip_nonfinite: true,
            ..monte_carlo(draws, 9)
        }
    }

    /// A run in one process whose pass 1 bins its brackets rather than collecting them, from a
    /// pilot of 2^12 draws: the sieve's tests' configuration.
    fn binned() -> StreamConfig {
        StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 12,
            collect_first: 0,
            // Rounds of 8 blocks: the sieve settles several times in runs of a few 10^4 draws.
            sieve_round: 1,
            ..StreamConfig::single_process()
        }
    }

    /// The options of a Monte Carlo run of `draws` draws with `seed`, in blocks of 1,000.
    fn monte_carlo(draws: u64, seed: u64) -> RunOptions {
        RunOptions {
            draws,
            seed,
            sampler: SamplerKind::MonteCarlo,
            block_size: 1000,
            skip_nonfinite: false,
        }
    }

    /// The metadata of a run of `opts`.
    fn meta_of(opts: &RunOptions) -> Metadata {
        Metadata {
            draws: opts.draws,
            block_size: opts.block_size,
            ..dummy_meta()
        }
    }

    /// [`run_streamed`] with the default summary options, no review points, no progress and
    /// no sink of kept draws: the summary and the number of passes.
    fn streamed(
        plan: &Plan,
        opts: &RunOptions,
        meta: Metadata,
        cfg: &StreamConfig,
    ) -> (Summary, u32) {
        let o = SummaryOptions::default();
        run_streamed(plan, opts, meta, &o, &Vec::new(), cfg, &|_| {}, None).unwrap()
    }

    /// A run that skips draws reduces the moments of its kept draws, every one of them: each
    /// input's mean is a plain mean of its kept values to their rounding (n·ε of the largest),
    /// in memory and streamed. A tree taken over fewer draws than the run's (a prefix) would
    /// give the mean of other draws, or no root at all.
    #[test]
    fn a_skipping_runs_means_are_those_of_its_kept_draws() {
        let (plan, opts) = (overflowing_plan(), skipping(40_003));
        let d = plan.run(&opts, &|_| {}).unwrap();
        assert!(d.skipped.len() > 1000, "{} skipped", d.skipped.len());
        let o = SummaryOptions::default();
        let mem = summarise(&plan, &d, meta_of(&opts), &o, &Vec::new());
        let cfg = StreamConfig::single_process();
        let (streamed, _) = streamed(&plan, &opts, meta_of(&opts), &cfg);
        assert_eq!(mem.inputs.len(), d.inputs.len());
        for (k, v) in d.inputs.iter().enumerate() {
            let v = &v[..d.n];
            let plain = v.iter().sum::<f64>() / v.len() as f64;
            let big = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let tol = v.len() as f64 * f64::EPSILON * big;
            for s in [&mem, &streamed] {
                let got = s.inputs[k].mean;
                assert!((got - plain).abs() <= tol, "input {k}: {got} vs {plain}");
            }
        }
    }

    /// A run that skips draws has the same summary, every bit, whatever its block size: in
    /// memory, streamed in one pass, with a sieve, and in the configuration of shards and
    /// merges (several passes). The moments' tree has the draws as leaves, a skipped draw an
    /// empty one, so neither the blocks nor where the skipped draws fall in them matter.
    #[test]
    fn a_skipping_runs_summary_is_the_same_bits_for_any_block_size() {
        let plan = overflowing_plan();
        let o = SummaryOptions::default();
        let meta = meta_of(&skipping(40_003));
        let mut seen = None;
        for block_size in [1000, 4096, 333, 64] {
            let opts = RunOptions {
                block_size,
                ..skipping(40_003)
            };
            let d = plan.run(&opts, &|_| {}).unwrap();
            assert!(d.skipped.len() > 1000, "{} skipped", d.skipped.len());
            let mut all = vec![summarise(&plan, &d, meta.clone(), &o, &Vec::new())];
            for cfg in [
                StreamConfig::single_process(),
                binned(),
                StreamConfig::default(),
            ] {
                all.push(streamed(&plan, &opts, meta.clone(), &cfg).0);
            }
            for s in all {
                let json = serde_json::to_string(&s).unwrap();
                let first = seen.get_or_insert_with(|| json.clone());
                assert!(*first == json, "block size {block_size}");
            }
        }
    }

    /// A run whose pilot holds only the grids' draws (here the first 2¹², or 2¹⁴ where the
    /// narrow grids would collect too much and the pilot grows) gets the correlated inputs of
    /// the rest of the correlations' 2¹⁸ draws from pass 1, which regenerates them: the same
    /// summary, correlations included, as the draws in memory. About one draw in eight is
    /// skipped, so blocks have rows to close up behind them, and the blocks of 1,000 draws put
    /// one across draw 2¹⁸, whose later rows the correlations leave out.
    #[test]
    fn a_pilot_of_the_grids_draws_gives_the_correlations_every_pilot_draw() {
        let (plan, opts) = (overflowing_plan(), skipping(270_001));
        let o = SummaryOptions::default();
        let meta = || meta_of(&opts);
        let d = plan.run(&opts, &|_| {}).unwrap();
        let below = d.skipped.partition_point(|&i| i < PILOT_DRAWS) as u64;
        assert!(below > 20_000, "{below} draws skipped below 2^18");
        let mem = summarise(&plan, &d, meta(), &o, &Vec::new());
        let corr = mem.correlation.as_ref().unwrap();
        assert_eq!(corr.draws as u64, PILOT_DRAWS - below);
        let narrow = StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 12,
            ..StreamConfig::single_process()
        };
        let grown = StreamConfig {
            wide_pilot: 1 << 14,
            collect_budget: 0,
            ..narrow.clone()
        };
        /// A sink of kept draws that counts them: pass 1 then takes chunks of several blocks
        /// (`chunk_blocks`), whose skipped draws each block must take only its own of.
        struct Count(u64);
        impl DrawSink for Count {
            fn put(&mut self, _: &Draws, rows: Range<usize>, _: u64) -> Result<(), String> {
                self.0 += rows.len() as u64;
                Ok(())
            }
        }
        for (cfg, keep) in [(&narrow, false), (&grown, false), (&narrow, true)] {
            let mut kept = Count(0);
            let sink = keep.then_some(&mut kept as &mut dyn DrawSink);
            let (streamed, _) =
                run_streamed(&plan, &opts, meta(), &o, &Vec::new(), cfg, &|_| {}, sink).unwrap();
            assert_eq!(
                serde_json::to_string(&mem).unwrap(),
                serde_json::to_string(&streamed).unwrap(),
                "{cfg:?}, keeping the draws: {keep}"
            );
            assert_eq!(kept.0, if keep { d.n as u64 } else { 0 });
        }
    }

    /// Pass 1 of `draws` draws (blocks of 1,000, about one draw in eight skipped) resumed at each
    /// of `starts` (as a checkpointed run resumes it, from statistics saved by an interrupted
    /// attempt) gives the summary of the draws in memory, correlations included, and reports
    /// every draw it does not take from the saved statistics once. The pilot holds the grids'
    /// draws (the first `held` blocks) when resumed within them, and every draw of the
    /// correlations (the first `corr` blocks) when resumed past them: the blocks summarised
    /// before are not met again. The rest of pass 1 is taken in two ranges, as a checkpoint's
    /// chunks take it.
    fn resumed_pass_one(draws: u64, cfg: &StreamConfig, (held, corr): (u64, u64), starts: &[u64]) {
        let (plan, opts) = (overflowing_plan(), skipping(draws));
        let o = SummaryOptions::default();
        let meta = || meta_of(&opts);
        let d = plan.run(&opts, &|_| {}).unwrap();
        let mem = serde_json::to_string(&summarise(&plan, &d, meta(), &o, &Vec::new())).unwrap();
        let blocks = Plan::block_count(&opts).unwrap();
        let rows_below = |limit: u64| {
            let limit = limit.min(opts.draws);
            (limit - d.skipped.partition_point(|&i| i < limit) as u64) as usize
        };
        let src = || Regenerate {
            plan: &plan,
            opts: &opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        };
        for &start in starts {
            let before_src = src();
            let mut before = FirstPass::new(&before_src, &o, &Vec::new(), cfg).unwrap();
            let saved = before.blocks(0, start, None).unwrap().encode();
            let counted = std::sync::atomic::AtomicU64::new(0);
            let count = |n| {
                counted.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            };
            let counting = Regenerate {
                progress: &count,
                ..src()
            };
            let mut p = FirstPass::new(&counting, &o, &Vec::new(), cfg).unwrap();
            assert_eq!(p.setup().pilot.n, rows_below(held * 1000), "from {start}");
            p.resume_at(start).unwrap();
            let pilot = if start > held { corr } else { held } * 1000;
            assert_eq!(p.setup().pilot.n, rows_below(pilot), "from {start}");
            let mut first = p.setup().empty_first(&plan);
            first.add_encoded(&saved, None).unwrap();
            let mid = (start + blocks) / 2;
            first.merge(p.blocks(start, mid, None).unwrap());
            let without_the_end = first.clone();
            first.merge(p.blocks(mid, blocks, None).unwrap());
            let setup = p.finish().unwrap();
            // Statistics missing the run's last blocks are refused, not summarised.
            let e = Passes::new(&plan, &setup, without_the_end, meta(), &o, &Vec::new(), cfg).err();
            let refused = matches!(e, Some(StreamError::Inconsistent(_)));
            assert_eq!(refused, mid < blocks, "from {start}");
            assert_eq!(
                counted.into_inner() + opts.draws_to(start),
                draws,
                "from {start}"
            );
            let (s, _) = Passes::new(&plan, &setup, first, meta(), &o, &Vec::new(), cfg)
                .unwrap()
                .run(&mut |g| -> Result<_, StreamError> { Ok(pass(&plan, &src(), g, 0, blocks)?) })
                .unwrap();
            assert_eq!(mem, serde_json::to_string(&s).unwrap(), "from {start}");
        }
    }

    /// [`resumed_pass_one`] on 40,001 draws, every one of them among the correlations' (blocks
    /// 0..41), the grids' pilot blocks 0..5 (2^12 draws): resumed from the start, inside the
    /// pilot's blocks, at their end, among the correlations' blocks whose inputs pass 1 keeps,
    /// and at the end of pass 1.
    #[test]
    fn pass_one_resumed_at_any_block_gives_the_summary_of_the_draws() {
        let cfg = StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 12,
            ..StreamConfig::single_process()
        };
        resumed_pass_one(40_001, &cfg, (5, 41), &[0, 3, 5, 20, 41]);
    }

    /// [`resumed_pass_one`] on 300,001 draws, past the correlations' 2^18 (blocks 0..263):
    /// resumed among the correlations' blocks, at their end and past it, with a pilot of the
    /// grids' draws (blocks 0..5) and with one grown to every draw of the correlations (the
    /// narrow grids collecting more than a pass may), which a resumed run does not grow again.
    /// Too slow for an unoptimised build.
    #[test]
    #[cfg_attr(
        debug_assertions,
        ignore = "300,001 draws a few times over: run in release"
    )]
    fn pass_one_resumed_past_the_correlations_draws_gives_the_summary_of_the_draws() {
        let narrow = StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 12,
            ..StreamConfig::single_process()
        };
        resumed_pass_one(300_001, &narrow, (5, 263), &[100, 263, 280]);
        let grown = StreamConfig {
            wide_pilot: PILOT_DRAWS,
            collect_budget: 0,
            ..narrow.clone()
        };
        resumed_pass_one(300_001, &grown, (263, 263), &[0, 280]);
    }

    /// The pilot grows to the wide pilot's draws only when the grids need them: when the narrow
    /// grids would collect more than a pass may (here a budget of 0) and the wide pilot is
    /// wider. Then it is asked once, for exactly those draws, and the grids are those of a
    /// pilot that held them from the start; otherwise it is not asked at all.
    #[test]
    fn the_pilot_grows_only_when_the_grids_need_the_wide_pilots_draws() {
        let plan = default_plan();
        let opts = monte_carlo(40_000, 3);
        let o = SummaryOptions::default();
        let run = |limit: u64| {
            plan.run_blocks(&opts, 0, limit.div_ceil(1000), &|_| {})
                .unwrap()
        };
        let narrow = StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 14,
            ..StreamConfig::single_process()
        };
        let costly = StreamConfig {
            collect_budget: 0,
            ..narrow.clone()
        };
        let costly_not_wider = StreamConfig {
            wide_pilot: 1 << 12,
            ..costly.clone()
        };
        for (cfg, grows) in [
            (&narrow, false),
            (&costly, true),
            (&costly_not_wider, false),
        ] {
            let mut asked = Vec::new();
            let setup = Setup::growing(
                &plan,
                opts.draws,
                run(1 << 12),
                true,
                &o,
                &Vec::new(),
                cfg,
                |p, limit| {
                    asked.push(limit);
                    let held = p.n as u64;
                    p.append(
                        plan.run_blocks(&opts, held / 1000, limit.div_ceil(1000), &|_| {})
                            .unwrap(),
                    );
                    Ok::<(), std::convert::Infallible>(())
                },
            );
            let Ok(setup) = setup;
            assert_eq!(asked, if grows { vec![1 << 14] } else { vec![] }, "{cfg:?}");
            let whole = Setup::new(&plan, opts.draws, run(1 << 14), true, &o, &Vec::new(), cfg);
            assert!(setup.grids == whole.grids, "{cfg:?}");
        }
    }

    /// A run of fewer draws than the grids' pilot holds them all in its pilot: when the grids
    /// would rather have the wide pilot's draws, there are none to add, and the run is the draws
    /// in memory's summary.
    #[test]
    fn a_run_within_the_grids_pilot_has_no_draws_to_grow_it_by() {
        let plan = default_plan();
        let opts = monte_carlo(3001, 4);
        let o = SummaryOptions::default();
        let meta = meta_of(&opts);
        let cfg = StreamConfig {
            grid_pilot: 1 << 12,
            wide_pilot: 1 << 14,
            collect_budget: 0,
            ..StreamConfig::single_process()
        };
        let d = plan.run(&opts, &|_| {}).unwrap();
        let mem = summarise(&plan, &d, meta.clone(), &o, &Vec::new());
        let (streamed, _) =
            run_streamed(&plan, &opts, meta, &o, &Vec::new(), &cfg, &|_| {}, None).unwrap();
        assert_eq!(
            serde_json::to_string(&mem).unwrap(),
            serde_json::to_string(&streamed).unwrap()
        );
    }

    /// Blocks run onto draws that hold the blocks before them (a pilot that grows) give the
    /// draws of all the blocks run at once, skipped draws and their rows included, in every
    /// bit: with some draws skipped in both parts, and with none.
    #[test]
    fn blocks_run_onto_the_draws_before_them_are_the_draws_of_all_of_them() {
        for (plan, skip) in [(overflowing_plan(), true), (default_plan(), false)] {
            let opts = RunOptions {
                draws: 5003,
                seed: 8,
                sampler: SamplerKind::MonteCarlo,
                block_size: 500,
                skip_nonfinite: skip,
            };
            let whole = plan.run_blocks(&opts, 0, 11, &|_| {}).unwrap();
            let mut grown = plan.run_blocks(&opts, 0, 4, &|_| {}).unwrap();
            let done = std::sync::atomic::AtomicU64::new(0);
            let progress = |n: u64| {
                done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            };
            plan.run_blocks_onto(&opts, 4, 11, &progress, &mut grown, &mut Vec::new())
                .unwrap();
            assert_eq!(done.into_inner(), 5003 - 2000);
            assert!(grown == whole, "skipping: {skip}");
            let before = whole.skipped.partition_point(|&i| i < 2000);
            assert_eq!(before > 0 && before < whole.skipped.len(), skip);
        }
    }

    /// A failing pass 1, or later pass, over blocks the engine runs reports what the chunked
    /// engine reports for the same blocks (the first non-finite draw of the lowest failing block), whatever the
    /// threads: with every block failing, and with blocks of 4 draws of which some fail and
    /// some do not (a task meets good blocks after a failing one's). On one thread it stops
    /// soon after the failure: the blocks above it are not run.
    #[test]
    fn pass_one_over_the_engine_reports_the_first_failing_draw() {
        let plan = overflowing_plan();
        for (block_size, draws) in [(300, 9000), (4, 400)] {
            let mut opts = RunOptions {
                draws,
                seed: 5,
                sampler: SamplerKind::MonteCarlo,
                block_size,
                skip_nonfinite: true,
            };
            let blocks = draws / block_size;
            let pilot = Setup::run_pilot(&plan, &opts, false).unwrap();
            let o = SummaryOptions::default();
            // Few bins, so that a later pass on these grids runs block by block too.
            let cfg = StreamConfig {
                bins: 16,
                ..StreamConfig::default()
            };
            let setup = Setup::new(&plan, opts.draws, pilot, false, &o, &Vec::new(), &cfg);
            assert!(setup.grids.iter().map(|g| g.cells).sum::<usize>() <= FOLD_CELLS);
            // Which blocks fail: some do and, with small blocks, some do not.
            let skipping = plan.run_blocks(&opts, 0, blocks, &|_| {}).unwrap();
            let failing: std::collections::BTreeSet<u64> =
                skipping.skipped.iter().map(|i| i / block_size).collect();
            assert!(!failing.is_empty(), "block size {block_size}");
            if block_size == 4 {
                assert!(
                    failing.len() * 2 < blocks as usize,
                    "most small blocks succeed"
                );
            }
            opts.skip_nonfinite = false;
            let want = plan.run_blocks(&opts, 2, blocks, &|_| {}).unwrap_err();
            assert!(matches!(want, RunError::NonFinite { .. }), "{want}");
            for threads in 1..=3 {
                let done = std::sync::atomic::AtomicU64::new(0);
                let progress = |n: u64| {
                    done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                };
                let src = Regenerate {
                    plan: &plan,
                    opts: &opts,
                    chunk_blocks: 4,
                    progress: &progress,
                };
                let got = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| setup.first_pass(&plan, &src, 2, blocks))
                    .unwrap_err();
                assert_eq!(got, want, "block size {block_size}, {threads} threads");
                if threads == 1 && block_size == 4 {
                    // One thread runs the tasks left to right: the blocks up to the first
                    // failure, then none, wherever the range is split. (The failure in the
                    // range's first half makes the task of its second half, if rayon splits it
                    // there, skip its blocks rather than never start.)
                    let lowest = *failing.range(2..).next().unwrap();
                    assert!(lowest < 2 + (blocks - 2) / 2, "the fixture fails early");
                    let ran = done.load(std::sync::atomic::Ordering::Relaxed);
                    assert_eq!(ran, (lowest - 1) * block_size, "draws run");
                }
                let later = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| pass(&plan, &src, &setup.grids, 2, blocks))
                    .unwrap_err();
                assert_eq!(
                    later, want,
                    "a later pass: block size {block_size}, {threads} threads"
                );
                // Likewise with the tasks sharing their cells, pass 1 and a later pass.
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                let shared = pool
                    .install(|| setup.first_pass_sharing(&plan, &src, 2, blocks, 0, None, None))
                    .unwrap_err();
                assert_eq!(
                    shared, want,
                    "shared cells: {block_size}, {threads} threads"
                );
                let shared = pool
                    .install(|| pass_sharing(&plan, &src, &setup.grids, 2, blocks, 0))
                    .unwrap_err();
                assert_eq!(
                    shared, want,
                    "a later pass, shared cells: {threads} threads"
                );
            }
        }
    }

    fn pilot_setup(plan: &Plan, full: bool) -> Setup {
        let opts = monte_carlo(3000, 11);
        let pilot = Setup::run_pilot(plan, &opts, full).unwrap();
        let o = SummaryOptions::default();
        Setup::new(
            plan,
            opts.draws,
            pilot,
            full,
            &o,
            &Vec::new(),
            &StreamConfig::default(),
        )
    }

    #[test]
    fn a_stream_error_says_what_failed() {
        // What a user reads when a streamed summary fails: the run's own message, the number of
        // draws when every one was skipped, or the inconsistency found.
        let run = RunError::Options("draws must be positive".into());
        assert_eq!(
            StreamError::from(run.clone()).to_string(),
            "draws must be positive"
        );
        assert_eq!(StreamError::from(run.clone()), StreamError::Run(run));
        assert_eq!(
            StreamError::NoDraws { skipped: 12 }.to_string(),
            "all 12 draws gave non-finite outcomes"
        );
        assert_eq!(
            StreamError::Inconsistent("shards disagree".into()).to_string(),
            "shards disagree"
        );
    }

    /// The achieved correlations are the Spearman coefficients of the pilot's correlated
    /// inputs, pair by pair; a plan without a correlation block has none; a shard's pilot
    /// (`full` = false) holds no correlation sample, so it cannot give them.
    #[test]
    fn the_achieved_correlations_are_the_pilots_spearman_coefficients() {
        let plan = default_plan();
        let c = plan
            .set
            .correlation
            .clone()
            .expect("the default has a correlation block");
        let s = pilot_setup(&plan, true);
        let got = s.achieved(&plan).unwrap().expect("a correlated plan");
        assert_eq!(got.draws, 3000);
        assert_eq!(got.target, c.rank);
        assert_eq!(got.achieved.len(), c.inputs.len());
        for (a, &ia) in c.inputs.iter().enumerate() {
            assert_eq!(got.inputs[a], plan.set.inputs[ia].param.path);
            for (b, &ib) in c.inputs.iter().enumerate() {
                let want = if a == b {
                    1.0
                } else {
                    spearman_by_hand(&s.pilot.inputs[ia], &s.pilot.inputs[ib])
                };
                let d = (got.achieved[a][b] - want).abs();
                assert!(
                    d < 1e-12,
                    "({a}, {b}): {} against {want}",
                    got.achieved[a][b]
                );
            }
        }

        let shard = pilot_setup(&plan, false);
        assert!(matches!(
            shard.achieved(&plan),
            Err(StreamError::Inconsistent(m)) if m.contains("no correlation sample")
        ));

        let mut plain = default_plan();
        plain.set.correlation = None;
        assert!(
            pilot_setup(&plain, true)
                .achieved(&plain)
                .unwrap()
                .is_none()
        );
        assert!(
            pilot_setup(&plain, false)
                .achieved(&plain)
                .unwrap()
                .is_none()
        );
    }

    /// A run in one process whose pass 1 counts its brackets into bins (none collected whole)
    /// finds every order statistic in its sieve, in one pass, with the summary of the draws in
    /// memory, on one thread and on two (whose tasks flush into the shared cells in any order),
    /// whether or not it skips draws. Without the sieve it takes two passes.
    #[test]
    fn the_sieve_finds_the_ranks_of_binned_brackets_in_one_pass() {
        // The default model, whose grids have more cells than tasks keep of their own, and the
        // council example skipping about one draw in eight, in brackets of 16 bins: fewer.
        for (plan, skip) in [(default_plan(), false), (overflowing_plan(), true)] {
            let opts = RunOptions {
                draws: 40_003,
                seed: 12,
                sampler: SamplerKind::MonteCarlo,
                block_size: 1000,
                skip_nonfinite: skip,
            };
            let o = SummaryOptions::default();
            let meta = meta_of(&opts);
            let d = plan.run(&opts, &|_| {}).unwrap();
            let mem = summarise(&plan, &d, meta.clone(), &o, &Vec::new());
            let mem = serde_json::to_string(&mem).unwrap();
            // Grids from the first 4,096 draws, their brackets in bins: the pilot holds blocks
            // 0..5, the other 35 are regenerated.
            let with_sigmas = |sieve_sigmas| StreamConfig {
                sieve_sigmas,
                bins: if skip { 16 } else { 4096 },
                ..binned()
            };
            let run = |cfg: &StreamConfig, threads| {
                let (s, passes) = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap()
                    .install(|| {
                        let m = meta.clone();
                        run_streamed(&plan, &opts, m, &o, &Vec::new(), cfg, &|_| {}, None)
                    })
                    .unwrap();
                (serde_json::to_string(&s).unwrap(), passes)
            };
            // A run in one process's sieve.
            let sigmas = StreamConfig::single_process().sieve_sigmas;
            let cfg = with_sigmas(sigmas);
            let p = Setup::run_pilot(&plan, &opts, true).unwrap();
            let setup = Setup::new(&plan, opts.draws, p, true, &o, &Vec::new(), &cfg);
            let cells: usize = setup.grids.iter().map(|g| g.cells).sum();
            assert_eq!(cells > FOLD_CELLS, !skip, "{cells} cells");
            let sieve = Sieve::new(
                &setup.grids,
                &setup.queries.ranks,
                opts.draws,
                sigmas,
                u64::MAX,
            );
            assert!(sieve.is_some());
            for threads in [1, 2] {
                assert_eq!(run(&cfg, threads), (mem.clone(), 1), "{threads} threads");
            }
            assert_eq!(run(&with_sigmas(0.0), 2), (mem, 2));
        }
    }

    /// A Monte Carlo run of `plan` (`draws`, `seed`, blocks of 1,000 draws), its metadata and
    /// the JSON of the default summary of its draws in memory, for streamed runs to match.
    fn summarised_in_memory(plan: &Plan, draws: u64, seed: u64) -> (RunOptions, Metadata, String) {
        let opts = monte_carlo(draws, seed);
        let meta = meta_of(&opts);
        let d = plan.run(&opts, &|_| {}).unwrap();
        let o = SummaryOptions::default();
        let mem = summarise(plan, &d, meta.clone(), &o, &Vec::new());
        (opts, meta, serde_json::to_string(&mem).unwrap())
    }

    /// A sieve too narrow to hold the ranks (windows of about one value either side of where
    /// each is expected) leaves those it lost to a second pass, for the same summary.
    #[test]
    fn ranks_outside_a_narrow_sieve_are_found_by_a_second_pass() {
        let plan = default_plan();
        let (opts, meta, mem) = summarised_in_memory(&plan, 30_001, 13);
        let o = SummaryOptions::default();
        let cfg = StreamConfig {
            sieve_sigmas: 1e-9,
            ..binned()
        };
        let (s, passes) =
            run_streamed(&plan, &opts, meta, &o, &Vec::new(), &cfg, &|_| {}, None).unwrap();
        assert_eq!((serde_json::to_string(&s).unwrap(), passes), (mem, 2));
        // Nor did it find any of the ranks the cells left; two standard deviations find some of
        // them, not all.
        let (cells_left, sieve_left, _) = sieved_pass_one(&plan, &opts, &cfg);
        assert!(cells_left > 0 && sieve_left == cells_left);
        let two = StreamConfig {
            sieve_sigmas: 2.0,
            ..cfg.clone()
        };
        let (cells_left, sieve_left, _) = sieved_pass_one(&plan, &opts, &two);
        assert!(
            0 < sieve_left && sieve_left < cells_left,
            "{sieve_left} of {cells_left}"
        );
        // Six standard deviations find them all, having dropped bins on the way.
        let wide = StreamConfig {
            sieve_sigmas: 6.0,
            ..cfg
        };
        let (cells_left, sieve_left, dropped) = sieved_pass_one(&plan, &opts, &wide);
        assert!(cells_left > 0 && sieve_left == 0 && dropped > 0);
    }

    /// Pass 1 of a run in one range with `cfg`, and its ranks resolved from its sieve: the ranks
    /// the cells left unresolved, those the sieve left, and the bins it dropped. On one thread,
    /// so that the sieve narrows after the same blocks every time.
    fn sieved_pass_one(
        plan: &Plan,
        opts: &RunOptions,
        cfg: &StreamConfig,
    ) -> (usize, usize, usize) {
        sieved_pass_one_cut(plan, opts, cfg, &[])
    }

    /// [`sieved_pass_one`] with pass 1 taken in ranges from block 0 to each of `cuts`
    /// (increasing, inside the run's blocks) and on to the end, as a checkpointed run takes it.
    fn sieved_pass_one_cut(
        plan: &Plan,
        opts: &RunOptions,
        cfg: &StreamConfig,
        cuts: &[u64],
    ) -> (usize, usize, usize) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build();
        pool.unwrap()
            .install(|| sieved_pass_one_here(plan, opts, cfg, cuts))
    }

    /// Pass 1 of the run `opts` with `cfg` (default summary options) in ranges from block 0 to
    /// each of `cuts` and on to the end, the ranges' statistics merged as a checkpointed run
    /// merges its chunks': those statistics, the pass's sieve and its setup.
    fn sieved_in_ranges(
        plan: &Plan,
        opts: &RunOptions,
        cfg: &StreamConfig,
        cuts: &[u64],
    ) -> (First, Sieve, Setup) {
        let src = Regenerate {
            plan,
            opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        };
        let o = SummaryOptions::default();
        let mut p = FirstPass::new(&src, &o, &Vec::new(), cfg).unwrap();
        let ends = cuts
            .iter()
            .copied()
            .chain([Plan::block_count(opts).unwrap()]);
        let mut first: Option<First> = None;
        let mut a = 0;
        for b in ends {
            let f = p.blocks(a, b, None).unwrap();
            match &mut first {
                Some(x) => x.merge(f),
                None => first = Some(f),
            }
            a = b;
        }
        let sieve = p.take_sieve().unwrap();
        (first.unwrap(), sieve, p.finish().unwrap())
    }

    /// What pass 1's sieve keeps (its saved state, its finds) is the same in every bit whatever
    /// the threads counting the blocks and however the pass is cut into ranges: it narrows
    /// and checks its budget only between rounds, and sorts what it writes. With room for
    /// everything, and with a budget some columns go past.
    #[test]
    fn a_sieve_keeps_the_same_values_whatever_the_threads() {
        let plan = default_plan();
        let opts = monte_carlo(40_001, 21);
        let mut finds_bytes = Vec::new();
        for budget in [u64::MAX, 3_000] {
            let cfg = StreamConfig {
                sieve_budget: budget,
                ..binned()
            };
            let kept = |threads: usize, cuts: &[u64]| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads);
                pool.build().unwrap().install(|| {
                    let (_, sieve, _) = sieved_in_ranges(&plan, &opts, &cfg, cuts);
                    let mut state = Vec::new();
                    sieve.encode_state_to(&mut |b| state.extend_from_slice(b));
                    let mut finds = Vec::new();
                    sieve.finds().encode(&mut finds);
                    (state, finds)
                })
            };
            let one = kept(1, &[]);
            let held: usize = one.1.len();
            assert!(
                held > 1000,
                "budget {budget}: the sieve keeps values ({held} bytes)"
            );
            for (threads, cuts) in [(2, &[][..]), (2, &[]), (3, &[]), (2, &[7, 19])] {
                assert!(
                    kept(threads, cuts) == one,
                    "budget {budget}, {threads} threads, cut at {cuts:?}"
                );
            }
            finds_bytes.push(held);
        }
        // The budget made some columns give up.
        assert!(finds_bytes[1] < finds_bytes[0], "{finds_bytes:?}");
    }

    /// A round of the sieve is 2^21 draws in whole blocks (512 of the default 4,096 draws,
    /// 2,097 of 1,000), and at least 8 blocks, so that large blocks still give each thread one;
    /// a part of a run (a shard, an MPI rank) keeps the rounds of a run in one process. Rounds
    /// end 8, 16, 32, ... blocks past the part's first block while those are fewer than a
    /// round's, then at multiples of a round's blocks past it, and at the run's end.
    #[test]
    fn a_sieve_round_is_2_21_draws_in_whole_blocks_and_the_first_ones_double() {
        assert_eq!(SIEVE_ROUND, 1 << 21);
        assert_eq!(sieve_round(SIEVE_ROUND, crate::engine::DEFAULT_BLOCK), 512);
        assert_eq!(sieve_round(SIEVE_ROUND, 1000), 2097);
        assert_eq!(sieve_round(SIEVE_ROUND, 1 << 16), 32);
        assert_eq!(sieve_round(SIEVE_ROUND, 1 << 30), 8);
        assert_eq!(sieve_round(1, 1000), 8);
        let one = StreamConfig::single_process().sieve_round;
        assert_eq!(
            (one, StreamConfig::part().sieve_round),
            (SIEVE_ROUND, SIEVE_ROUND)
        );
        let g = Grid::new(vec![Region::new(0.0, 1.0, 4)]);
        let sieve = |begin| {
            Sieve::new(std::slice::from_ref(&g), &[vec![1]], 1 << 40, 6.0, u64::MAX)
                .unwrap()
                .with_rounds(SIEVE_ROUND, begin)
        };
        let (size, blocks) = (4096, 1 << 20);
        for begin in [0, 100] {
            let s = sieve(begin);
            for (a, end) in [
                (0, 8),
                (7, 8),
                (8, 16),
                (9, 16),
                (255, 256),
                (256, 512),
                (511, 512),
                (512, 1024),
                (1000, 1024),
                (1024, 1536),
                (1536, 2048),
            ] {
                assert_eq!(
                    s.round_end(begin + a, size, blocks),
                    begin + end,
                    "{begin} {a}"
                );
            }
            // The run's end ends the last.
            assert_eq!(s.round_end(begin + 1536, size, begin + 1600), begin + 1600);
        }
        // Blocks of 10^5 draws: rounds of 8 blocks from the start.
        let s = sieve(3);
        assert_eq!(s.round_end(3, 100_000, 1000), 11);
        assert_eq!(s.round_end(12, 100_000, 1000), 19);
    }

    /// The run's end ends a round: a run shorter than a round (20 blocks of 1,000 draws) settles
    /// its sieve there once, so a sieve without room gives up its values, and its ranks go to a
    /// second pass; with room it finds some of them.
    #[test]
    fn a_sieve_settles_at_the_runs_end() {
        let plan = default_plan();
        let opts = monte_carlo(20_000, 3);
        let with = |sieve_budget| StreamConfig {
            sieve_budget,
            sieve_round: SIEVE_ROUND,
            ..binned()
        };
        let (cells_left, sieve_left, _) = sieved_pass_one(&plan, &opts, &with(0));
        assert!(
            cells_left > 0 && sieve_left == cells_left,
            "{cells_left} {sieve_left}"
        );
        let (cells_left, sieve_left, _) = sieved_pass_one(&plan, &opts, &with(u64::MAX));
        assert!(sieve_left < cells_left, "{cells_left} {sieve_left}");
    }

    /// [`sieved_pass_one_cut`] on the current thread pool.
    fn sieved_pass_one_here(
        plan: &Plan,
        opts: &RunOptions,
        cfg: &StreamConfig,
        cuts: &[u64],
    ) -> (usize, usize, usize) {
        let (first, sieve, setup) = sieved_in_ranges(plan, opts, cfg, cuts);
        let dropped = sieve
            .cols
            .iter()
            .map(|c| {
                let c = c.lock().unwrap();
                let g = &c.grid;
                (g.regions.iter().zip(&g.starts))
                    .filter(|(r, _)| r.bins > 1)
                    .flat_map(|(r, &s)| &c.slot[s..s + r.bins as usize])
                    .filter(|&&k| k == DROPPED)
                    .count()
            })
            .sum();
        let (o, meta, extra) = (SummaryOptions::default(), meta_of(opts), Vec::new());
        let mut passes = Passes::new(plan, &setup, first, meta, &o, &extra, cfg);
        let passes = passes.as_mut().unwrap();
        let left = |p: &Passes| {
            p.res
                .targets
                .iter()
                .flatten()
                .filter(|t| t.1.is_err())
                .count()
        };
        let before = left(passes);
        passes.sieved(sieve).unwrap();
        (before, left(passes), dropped)
    }

    /// The sieve of one column on one region of 100 bins, one value in each: the values kept
    /// and the bins dropped by a narrowing, and the ranks taken from the bins kept whole.
    #[test]
    fn the_sieve_keeps_the_bins_within_its_window_of_each_rank() {
        let g = Grid::new(vec![Region::new(0.0, 100.0, 100)]);
        // Cells: the gap below (0), bins 0..100 (1..=100), the gap above (101).
        let mut cells = vec![Cell::default(); g.cells];
        let vals: Vec<f64> = (0..100).map(|j| j as f64 + 0.5).collect();
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &vals);
        // Rank 100 of 200 draws, after 100 counted: q = 0.5, variance 100·0.25·100/199 = 12.56,
        // 2 standard deviations, 4/3 and one: h = 9.42, positions 40.58..59.42 among the 100
        // counted: bins 40..=59 (bin j holds position j).
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![100]], 200, 2.0, u64::MAX).unwrap();
        sieve.col(0).next = 100;
        sieve.flush(0, &mut cells, &mut pass);
        // A flush keeps; the bins narrow where the sieve settles.
        assert_eq!(sieve.col(0).kept[0], vals);
        sieve.settle();
        let s = sieve.col(0);
        let live: Vec<usize> = (0..100).filter(|&j| s.slot[1 + j] != DROPPED).collect();
        assert_eq!(live, (40..=59).collect::<Vec<_>>());
        assert_eq!(s.kept[0], vals[40..=59].to_vec());
        // Its room shrinks with it (it held 100 values, in room for 128).
        assert!(s.kept[0].capacity() < 32, "{}", s.kept[0].capacity());
        assert_eq!(s.next, 110);
        assert_eq!(s.seen, 100);
        assert!(cells[1..=100].iter().all(|c| c.n == 1));
        drop(s);
        // Values that come later are kept only in the bins kept.
        let mut more = ColPass::without_cells(&g);
        more.add(&g, &[10.25, 45.25, 45.75, 57.5, 60.25, 60.75]);
        sieve.flush(0, &mut cells, &mut more);
        assert_eq!(sieve.col(0).kept[0].len(), 20 + 3);
        // Ranks 46..=48 lie in bin 45 (46 values below it: bins 0..45 and 10.25), 60 in bin 57,
        // 3 in bin 3 (dropped) and 65 in bin 60 (dropped), the middle of its three values.
        let first = first_of(cells.clone());
        let ranks = vec![vec![3, 46, 47, 48, 60, 65]];
        let mut res = Resolver::new(&first, &ranks, std::slice::from_ref(&g));
        let got = |res: &Resolver| -> Vec<Option<f64>> {
            res.targets[0].iter().map(|(_, t)| t.ok()).collect()
        };
        // The cells alone give a bin's minimum and maximum (bin 3's one value, bin 45's first
        // and last of 45.25, 45.5 and 45.75, bin 57's 57.5 twice); the middles need the values.
        let (by_cells, all) = (
            [Some(3.5), Some(45.25), None, Some(45.75), Some(57.5), None],
            [
                Some(3.5),
                Some(45.25),
                Some(45.5),
                Some(45.75),
                Some(57.5),
                None,
            ],
        );
        assert_eq!(got(&res), by_cells);
        sieve.resolve(&mut res, &first).unwrap();
        assert_eq!(got(&res), all);
        // A window whose ends lie close to a bin's: rank 15 of 21 draws after 19 counted,
        // q = 15/21, variance 19·q(1 − q)·2/20 = 0.38776, h = 2·0.62270 + 4/3 + 1 = 3.57873,
        // positions 9.9927..17.1502 around q·19 = 13.5714: bins 9..=17.
        let g = Grid::new(vec![Region::new(0.0, 19.0, 19)]);
        let mut cells = vec![Cell::default(); g.cells];
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &vals[..19]);
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![15]], 21, 2.0, u64::MAX).unwrap();
        sieve.col(0).next = 19;
        sieve.flush(0, &mut cells, &mut pass);
        sieve.settle();
        let s = sieve.col(0);
        let live: Vec<usize> = (0..19).filter(|&j| s.slot[1 + j] != DROPPED).collect();
        assert_eq!(live, (9..=17).collect::<Vec<_>>());
    }

    /// A bin whose kept values are fewer than its cell counts (a value it never saw) is not
    /// resolved from them.
    #[test]
    fn a_bin_the_sieve_did_not_see_whole_is_left_to_a_later_pass() {
        let g = Grid::new(vec![Region::new(0.0, 10.0, 10)]);
        let mut cells = vec![Cell::default(); g.cells];
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![1]], 3, 6.0, u64::MAX).unwrap();
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.1, 3.7]);
        sieve.flush(0, &mut cells, &mut pass);
        // A third value in the same bin, counted behind the sieve's back.
        cells[4].add(3.4);
        let first = first_of(cells);
        let mut res = Resolver::new(&first, &[vec![1]], std::slice::from_ref(&g));
        assert!(res.targets[0][0].1.is_err());
        sieve.resolve(&mut res, &first).unwrap();
        assert!(res.targets[0][0].1.is_err());
    }

    /// The sieve counts the values its columns keep, pilot's and flushed, less those dropped;
    /// where it settles past its budget, the column keeping the most gives up (the lower on a
    /// tie), then the next, until the rest fit: their bins and values are dropped, and their
    /// ranks are left to a later pass. The other columns keep theirs. Between two settlings
    /// nothing is given up.
    #[test]
    fn a_column_that_takes_the_sieve_past_its_budget_gives_up() {
        let g = Grid::new(vec![Region::new(0.0, 10.0, 10)]);
        let grids = [g.clone(), g.clone()];
        let held = |s: &Sieve| s.held();
        let sieve = Sieve::new(&grids, &[vec![1], vec![1]], 6, 6.0, 4).unwrap();
        let mut cells = [
            vec![Cell::default(); g.cells],
            vec![Cell::default(); g.cells],
        ];
        sieve.offer(0, &[3.1, 3.4, 12.0]);
        assert_eq!(held(&sieve), 2);
        // Offered values are counted as flushed ones are, a gap's (12) too.
        let c = sieve.col(0);
        assert_eq!(
            (c.seen, c.counts[4], c.counts.iter().sum::<u64>()),
            (3, 2, 3)
        );
        drop(c);
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[5.5, 5.6]);
        sieve.flush(1, &mut cells[1], &mut pass);
        // Four values: at the budget, not past it.
        sieve.settle();
        assert_eq!(held(&sieve), 4);
        assert_eq!(sieve.col(1).kept[0], [5.5, 5.6]);
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.7]);
        sieve.flush(0, &mut cells[0], &mut pass);
        // Five values, kept until the sieve settles.
        assert_eq!(held(&sieve), 5);
        assert_eq!(sieve.col(0).kept[0].len(), 3);
        sieve.settle();
        // Column 0 keeps three of the five: it gave them up; column 1 keeps its two.
        assert_eq!(held(&sieve), 2);
        assert!(sieve.col(0).kept[0].is_empty());
        assert!(sieve.col(0).slot.iter().all(|&k| k == DROPPED));
        assert_eq!(sieve.col(0).next, u64::MAX, "it narrows no more");
        assert_eq!(sieve.col(1).kept[0], [5.5, 5.6]);
        // Nor does it keep anything more.
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.8]);
        sieve.flush(0, &mut cells[0], &mut pass);
        sieve.settle();
        assert!(sieve.col(0).kept[0].is_empty());
        assert_eq!(held(&sieve), 2);
        // Past the budget, the column keeping the most gives up, whether it comes before or
        // after the other, which keeps its values.
        for (big, small) in [(0, 1), (1, 0)] {
            let sv = Sieve::new(&grids, &[vec![1], vec![1]], 6, 6.0, 3).unwrap();
            sv.offer(big, &[1.1, 1.2, 1.3]);
            sv.offer(small, &[2.5]);
            sv.settle();
            assert_eq!(held(&sv), 1, "{big}");
            assert!(sv.col(big).kept[0].is_empty());
            assert_eq!(sv.col(small).kept[0], [2.5]);
        }
        // Of two keeping as many, the lower gives up, and then the other need not: the budget
        // is met.
        let even = Sieve::new(&grids, &[vec![1], vec![1]], 6, 6.0, 5).unwrap();
        even.offer(0, &[1.1, 1.2, 1.3]);
        even.offer(1, &[2.5, 2.6, 2.7]);
        even.settle();
        assert_eq!(held(&even), 3);
        assert!(even.col(0).kept[0].is_empty());
        assert_eq!(even.col(1).kept[0], [2.5, 2.6, 2.7]);
        // Both give up when the first's giving up leaves the rest past the budget.
        let both = Sieve::new(&grids, &[vec![1], vec![1]], 6, 6.0, 2).unwrap();
        both.offer(0, &[1.1, 1.2, 1.3]);
        both.offer(1, &[2.5, 2.6, 2.7]);
        both.settle();
        assert_eq!(held(&both), 0);
        // Column 0's rank (its second value, 3.4, in a cell of 3.1 and 3.4 offered from the
        // pilot, counted here by hand) is left to a later pass; column 1's is found.
        cells[0][4].add(3.1);
        cells[0][4].add(3.4);
        let first = First {
            cols: cells
                .iter()
                .map(|c| ColFirst {
                    pass: ColPass {
                        cells: c.clone(),
                        ..ColPass::default()
                    },
                    ..ColFirst::default()
                })
                .collect(),
            ..First::default()
        };
        let mut res = Resolver::new(&first, &[vec![1], vec![1]], &grids);
        sieve.resolve(&mut res, &first).unwrap();
        assert!(res.targets[0][0].1.is_err());
        assert_eq!(res.targets[1][0].1, Ok(5.6));
    }

    /// A run in one process keeps its sieve near a budget with room for twice what a run of
    /// 10^9 draws of the embedded model held at its peak (1.5·10^7 values), and no more than
    /// 2²⁵ values (256 MB); the default, which keeps no sieve, sets none.
    #[test]
    fn a_run_in_one_process_budgets_its_sieve_above_what_10_9_draws_hold() {
        let b = StreamConfig::single_process().sieve_budget;
        assert!((30_000_000..=1 << 25).contains(&b), "{b}");
        assert_eq!(StreamConfig::default().sieve_budget, u64::MAX);
    }

    /// A part of a run (a shard, an MPI rank) keeps the sieve of a run in one process over the
    /// grids of the default configuration, which the merge makes again: every other setting is
    /// the default's.
    #[test]
    fn a_part_of_a_run_keeps_a_sieve_on_the_grids_the_merge_makes() {
        let (part, one) = (StreamConfig::part(), StreamConfig::single_process());
        assert!(part.sieve_sigmas > 0.0);
        assert_eq!(
            (part.sieve_sigmas, part.sieve_budget),
            (one.sieve_sigmas, one.sieve_budget)
        );
        let without_sieve = StreamConfig {
            sieve_sigmas: 0.0,
            sieve_budget: u64::MAX,
            ..part
        };
        assert_eq!(without_sieve, StreamConfig::default());
    }

    /// What the sieve holds falls when a narrowing drops values: the count follows the values
    /// its columns keep.
    #[test]
    fn the_sieve_counts_the_values_a_narrowing_drops() {
        let g = Grid::new(vec![Region::new(0.0, 100.0, 100)]);
        let mut cells = vec![Cell::default(); g.cells];
        let vals: Vec<f64> = (0..100).map(|j| j as f64 + 0.5).collect();
        for &v in &vals {
            match g.place(v) {
                Place::Cell(i) => cells[i].add(v),
                Place::Collect(_) => unreachable!("no collected region"),
            }
        }
        let held = |s: &Sieve| s.held();
        // With room for 1,000 values, then for 10 once the pilot's are offered.
        for budget in [1000, 10] {
            let mut sieve =
                Sieve::new(std::slice::from_ref(&g), &[vec![100]], 200, 2.0, 1000).unwrap();
            sieve.offer(0, &vals);
            assert_eq!(held(&sieve), 100);
            sieve.budget = budget;
            {
                // As if the 100 values had been flushed: their cells' counts.
                let mut s = sieve.col(0);
                s.counts = cells.iter().map(|c| c.n).collect();
                s.seen = 100;
                s.next = 100;
            }
            // Settling narrows: the window of
            // `the_sieve_keeps_the_bins_within_its_window_of_each_rank`, bins 40..=59. Its 20
            // values fit in 1,000; not in 10, and the column gives them up.
            sieve.settle();
            if budget == 1000 {
                assert_eq!(sieve.col(0).kept[0], vals[40..=59].to_vec());
                assert_eq!(held(&sieve), 20);
            } else {
                assert!(sieve.col(0).kept[0].is_empty());
                assert_eq!(held(&sieve), 0);
            }
        }
    }

    /// What a sieve kept whole leaves out a cell dropped as a flush came (a tally of several
    /// values, whose values are unknown: those it kept before go at once) and a dropped bin's
    /// values; a cell kept gives every value counted into it.
    #[test]
    fn a_sieves_finds_are_the_cells_it_kept_whole() {
        let g = Grid::new(vec![Region::new(0.0, 10.0, 10)]);
        let bin = |b: usize| g.starts[0] + b;
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![5]], 100, 6.0, 1000).unwrap();
        sieve.offer(0, &[1.5, 1.25, 2.5, 7.5]);
        {
            let mut s = sieve.col(0);
            // Bin 7 dropped by a narrowing (its values go with it); bin 2 kept as is.
            s.slot[bin(7)] = DROPPED;
            s.kept[0].retain(|&x| x != 7.5);
            // Bin 1 then receives a cell of two different values: dropped as it is taken, with
            // its values 1.5 and 1.25.
            let d = Deferred {
                values: vec![],
                cells: vec![(
                    cell_index(bin(1)),
                    Cell {
                        n: 2,
                        min: 1.0,
                        max: 1.75,
                    },
                )],
            };
            s.take(&d);
            assert_eq!(s.slot[bin(1)], DROPPED);
            assert_eq!(s.kept[0], [2.5]);
        }
        assert_eq!(sieve.finds().cols, vec![vec![(bin(2) as u64, vec![2.5])]]);
    }

    /// A sieve's finds and its fit, computed by counting each region's values by cell, are what
    /// grouping every kept value by its cell gives (a map from cell to values, sorted), each
    /// cell's values in a vector of their size, over random values in three regions, random
    /// bins dropped (their values with them, as a narrowing drops them) and random cells: ±0,
    /// repeated values and values on bin edges included.
    #[test]
    fn a_sieves_finds_and_fit_are_its_kept_values_grouped_by_cell() {
        let g = Grid::new(vec![
            Region::new(-1.0, 1.0, 8),
            Region::new(2.0, 3.0, 3),
            Region::new(5.0, 9.0, 16),
        ]);
        use rand::RngExt;
        let mut rng = crate::rng::PhiloxRng::new(7, 1);
        let mut next = move |n: u64| rng.random_range(0..n);
        let pick = [
            -1.0, -0.0, 0.0, 0.25, 1.0, 2.0, 2.5, 3.0, 5.0, 5.25, 9.0, 4.0, 10.0,
        ];
        let mut mismatched_fit = 0;
        for round in 0..200 {
            let sieve =
                Sieve::new(std::slice::from_ref(&g), &[vec![50]], 100, 6.0, u64::MAX).unwrap();
            let values: Vec<f64> = (0..1 + next(60))
                .map(|_| match next(3) {
                    0 => pick[next(pick.len() as u64) as usize],
                    _ => -1.5 + next(1100) as f64 / 100.0,
                })
                .collect();
            sieve.offer(0, &values);
            let mut s = sieve.col(0);
            for _ in 0..next(6) {
                let i = next(g.cells as u64) as usize;
                s.slot[i] = DROPPED;
            }
            for k in 0..s.kept.len() {
                s.purge(k);
            }
            // The map the finds were once built with.
            let mut by_cell: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
            for (k, v) in s.kept.iter().enumerate() {
                for &x in v {
                    let i = g.starts[k] + g.regions[k].bin(x);
                    if s.slot[i] != DROPPED {
                        by_cell.entry(i).or_default().push(x);
                    }
                }
            }
            let expected: Vec<(u64, Vec<f64>)> = by_cell
                .into_iter()
                .map(|(i, mut v)| {
                    v.sort_by(f64::total_cmp);
                    (i as u64, v)
                })
                .collect();
            let bits = |f: &[(u64, Vec<f64>)]| -> Vec<(u64, Vec<u64>)> {
                f.iter()
                    .map(|(i, v)| (*i, v.iter().map(|x| x.to_bits()).collect()))
                    .collect()
            };
            let finds = s.finds();
            assert_eq!(bits(&finds), bits(&expected), "round {round}");
            // Each cell's values in a vector of their size: no room to spare beside the sieve.
            assert!(finds.iter().all(|(_, v)| v.capacity() == v.len()));
            // Cells that the values fit or not: their own, one counting more, and a random
            // edit of one kept cell's count or bounds.
            let mut cells = vec![Cell::default(); g.cells];
            for (i, v) in &expected {
                let c = &mut cells[*i as usize];
                c.n = v.len() as u64;
                c.min = v.iter().copied().min_by(f64::total_cmp).unwrap();
                c.max = v.iter().copied().max_by(f64::total_cmp).unwrap();
            }
            assert!(s.fits(&cells), "round {round}");
            if let Some((i, _)) = expected.get(next(expected.len().max(1) as u64) as usize) {
                let c = &mut cells[*i as usize];
                match next(4) {
                    0 => c.n += 1,
                    1 => c.n -= 1,
                    2 => c.min = -c.min - 1.0,
                    _ => c.max = if c.max == 0.0 { -c.max } else { c.max + 0.5 },
                }
            }
            let oracle = expected.iter().all(|(i, v)| {
                let cell = &cells[*i as usize];
                (v.len() as u64) < cell.n || cell.holds_all_of(v)
            });
            assert_eq!(s.fits(&cells), oracle, "round {round}");
            mismatched_fit += usize::from(!oracle);
            assert!(!s.fits(&cells[1..]));
        }
        // The edits made some cells not fit.
        assert!(mismatched_fit > 20, "{mismatched_fit}");
    }

    /// A run whose sieve has no room finds the ranks of its binned brackets in a second pass,
    /// with the summary of the draws in memory; with room, in one.
    #[test]
    fn a_sieve_without_room_leaves_the_ranks_to_a_second_pass() {
        let plan = default_plan();
        let (opts, meta, mem) = summarised_in_memory(&plan, 20_001, 14);
        let o = SummaryOptions::default();
        let room = |sieve_budget| StreamConfig {
            sieve_budget,
            ..binned()
        };
        for (budget, passes) in [(0, 2), (1 << 24, 1)] {
            let (s, n) = run_streamed(
                &plan,
                &opts,
                meta.clone(),
                &o,
                &Vec::new(),
                &room(budget),
                &|_| {},
                None,
            )
            .unwrap();
            assert_eq!(
                (serde_json::to_string(&s).unwrap(), n),
                (mem.clone(), passes)
            );
        }
        let (cells_left, sieve_left, _) = sieved_pass_one(&plan, &opts, &room(0));
        assert!(cells_left > 0 && sieve_left == cells_left);
    }

    /// The sieve counts what each range of pass 1 flushes into that range's own shared cells,
    /// which start empty, and narrows on the sum: the 100 values of
    /// `the_sieve_keeps_the_bins_within_its_window_of_each_rank` flushed in two halves into two
    /// sets of cells narrow to the same window, bins 40..=59, as when flushed at once.
    #[test]
    fn the_sieve_narrows_on_the_counts_of_every_range() {
        let g = Grid::new(vec![Region::new(0.0, 100.0, 100)]);
        let vals: Vec<f64> = (0..100).map(|j| j as f64 + 0.5).collect();
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![100]], 200, 2.0, u64::MAX).unwrap();
        sieve.col(0).next = 100;
        for half in vals.chunks(50) {
            let mut pass = ColPass::without_cells(&g);
            pass.add(&g, half);
            sieve.flush(0, &mut vec![Cell::default(); g.cells], &mut pass);
        }
        sieve.settle();
        let s = sieve.col(0);
        assert_eq!(s.seen, 100);
        assert!(s.counts[1..=100].iter().all(|&n| n == 1), "{:?}", s.counts);
        let live: Vec<usize> = (0..100).filter(|&j| s.slot[1 + j] != DROPPED).collect();
        assert_eq!(live, (40..=59).collect::<Vec<_>>());
        assert_eq!(s.kept[0], vals[40..=59].to_vec());
    }

    /// As `a_sieve_kept_across_ranges_finds_what_one_range_finds`, with about one draw in eight
    /// skipped and ranges that start and end inside the pilot's blocks (0..5): the pilot's rows
    /// offered to the sieve are those of each range's blocks, the skipped draws apart.
    #[test]
    fn a_sieve_kept_across_ranges_with_skipped_draws_finds_what_one_range_finds() {
        let (plan, opts) = (overflowing_plan(), skipping(20_001));
        let cfg = binned();
        let one = sieved_pass_one(&plan, &opts, &cfg);
        assert!(one.0 > 0 && one.1 < one.0, "{one:?}");
        for cuts in [&[1, 3][..], &[2, 4, 13]] {
            assert_eq!(
                sieved_pass_one_cut(&plan, &opts, &cfg, cuts),
                one,
                "{cuts:?}"
            );
        }
    }

    /// A checkpointed run takes from its sieve only when it finds every rank left
    /// (`Passes::sieved_whole`): with two standard deviations, which leave some, its next pass
    /// has the grids of a pass 1 without a sieve (those a run resumed in that pass makes again,
    /// its pass 1 read back without one), where `sieved` would narrow them; with six, which leave
    /// none, there is no next pass.
    #[test]
    fn a_checkpointed_run_takes_from_its_sieve_all_the_ranks_or_none() {
        let plan = default_plan();
        let opts = monte_carlo(30_001, 13);
        let base = binned();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        for (sigmas, leaves) in [(2.0, true), (6.0, false)] {
            let cfg = StreamConfig {
                sieve_sigmas: sigmas,
                ..base.clone()
            };
            // The next pass's grids, after taking the sieve's ranks by `take` or not at all.
            type Take = fn(&mut Passes<'_>, Sieve) -> Result<(), StreamError>;
            let next = |take: Option<Take>| {
                pool.install(|| {
                    let (first, sieve, setup) = sieved_in_ranges(&plan, &opts, &cfg, &[7]);
                    let (o, extra, meta) = (SummaryOptions::default(), Vec::new(), meta_of(&opts));
                    let mut passes =
                        Passes::new(&plan, &setup, first, meta, &o, &extra, &cfg).unwrap();
                    if let Some(take) = take {
                        take(&mut passes, sieve).unwrap();
                    }
                    passes.next()
                })
            };
            let without = next(None);
            assert!(without.is_some(), "{sigmas}: the cells leave ranks");
            if leaves {
                let sieved = next(Some(|p, s| p.sieved(s)));
                assert!(sieved.is_some() && sieved != without, "{sigmas}");
                assert_eq!(next(Some(|p, s| p.sieved_whole(s))), without, "{sigmas}");
            } else {
                assert_eq!(next(Some(|p, s| p.sieved(s))), None, "{sigmas}");
                assert_eq!(next(Some(|p, s| p.sieved_whole(s))), None, "{sigmas}");
            }
        }
    }

    /// Pass-1 statistics of one column whose pass has `cells`.
    fn first_of(cells: Vec<Cell>) -> First {
        let pass = ColPass {
            cells,
            ..ColPass::default()
        };
        First {
            cols: vec![ColFirst {
                pass,
                ..ColFirst::default()
            }],
            ..First::default()
        }
    }

    /// A block's repeated value comes to the sieve as a cell of its copies, kept as that many
    /// values, which a rank between them is found from.
    #[test]
    fn the_sieve_keeps_a_repeated_value_as_its_copies() {
        let g = Grid::new(vec![Region::new(0.0, 10.0, 10)]);
        let mut cells = vec![Cell::default(); g.cells];
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![2]], 5, 6.0, u64::MAX).unwrap();
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.1, 3.9]);
        pass.add_repeated(&g, 3.5, 3);
        sieve.flush(0, &mut cells, &mut pass);
        assert_eq!(sieve.col(0).kept[0], [3.1, 3.9, 3.5, 3.5, 3.5]);
        assert_eq!(sieve.col(0).seen, 5);
        // Rank 2 is the middle of bin 3's five values (cell 4).
        let first = first_of(cells);
        let mut res = Resolver::new(&first, &[vec![2]], std::slice::from_ref(&g));
        assert!(res.targets[0][0].1.is_err());
        sieve.resolve(&mut res, &first).unwrap();
        assert_eq!(res.targets[0][0].1, Ok(3.5));
    }

    /// A sieve's saved state restores to the same state; a state it could not reach, or cut
    /// short or run on, restores to none.
    #[test]
    fn a_sieve_state_restores_as_saved_and_only_a_state_it_could_reach() {
        // Cells: gap, 10 bins of [0, 10], gap, 5 bins of [20, 30], gap, a collected region, gap.
        let g = Grid::new(vec![
            Region::new(0.0, 10.0, 10),
            Region::new(20.0, 30.0, 5),
            Region::new(40.0, 50.0, 0),
        ]);
        let (grids, ranks) = (std::slice::from_ref(&g), &[vec![2]][..]);
        let new = || Sieve::new(grids, ranks, 100, 6.0, u64::MAX).unwrap();
        let sieve = new();
        let mut cells = vec![Cell::default(); g.cells];
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.1, 3.9, 25.0, 45.0, 15.0]);
        sieve.flush(0, &mut cells, &mut pass);
        let state = |s: &Sieve| {
            let mut o = Vec::new();
            s.encode_state_to(&mut |b| o.extend_from_slice(b));
            o
        };
        let saved = state(&sieve);
        let restore = |b: &[u8]| restore_from(b, grids, ranks, 100, 6.0, u64::MAX);
        let back = restore(&saved).expect("restored");
        assert_eq!(state(&back), saved);
        assert_eq!(back.col(0).kept, [vec![3.1, 3.9], vec![25.0], vec![]]);
        // Counted: the values of cells (the collected region's is not one).
        assert_eq!(back.col(0).seen, 4);
        assert_eq!(back.held(), 3);
        // A fresh sieve's state is not this one.
        assert_ne!(state(&new()), saved);
        // It fits the cells it counted into; not cells counting fewer values than it keeps of
        // one, nor as many with another largest; but it may keep fewer than a cell counts.
        assert!(back.fits(&first_of(cells.clone())));
        let edited = |edit: &dyn Fn(&mut Cell)| {
            let mut c = cells.clone();
            edit(&mut c[4]);
            back.fits(&first_of(c))
        };
        assert!(!edited(&|c| c.n -= 1));
        assert!(!edited(&|c| c.max = 3.95));
        assert!(edited(&|c| c.n += 1));
        assert!(!back.fits(&first_of(cells[1..].to_vec())));
        assert!(!back.fits(&First::default()));
        // Offsets: the column count, then the column's values counted, next narrowing and cell
        // count, then (region, count) per cell, then the region count and each region's values.
        let slot = |i: usize| 32 + 16 * i;
        let count = |i: usize| slot(i) + 8;
        let values = 32 + 16 * g.cells + 8;
        let with = |at: usize, word: u64| {
            let mut b = saved.clone();
            b[at..at + 8].copy_from_slice(&word.to_le_bytes());
            b
        };
        // Cell 4 is a bin of region 0, cell 12 a bin of region 1.
        assert_eq!(saved[slot(4)..slot(4) + 8], 0u64.to_le_bytes());
        assert_eq!(saved[slot(12)..slot(12) + 8], 1u64.to_le_bytes());
        // A bin dropped (bin 4 of region 0, keeping no value) is a state it can reach; so is a
        // column given up (no next narrowing).
        assert!(restore(&with(slot(5), u64::from(DROPPED))).is_some());
        assert!(restore(&with(16, u64::MAX)).is_some());
        // More values counted than the run's 100 draws, however they sum.
        let n4 = u64::from_le_bytes(saved[count(4)..count(4) + 8].try_into().unwrap());
        let mut more = with(8, 4 + 97);
        more[count(4)..count(4) + 8].copy_from_slice(&(n4 + 97).to_le_bytes());
        assert!(restore(&more).is_none());
        more[8..16].copy_from_slice(&(4u64 + 96).to_le_bytes());
        more[count(4)..count(4) + 8].copy_from_slice(&(n4 + 96).to_le_bytes());
        assert!(restore(&more).is_some());
        // Past the first narrowing (in a run of 10^4 draws), the next one may be at or below
        // the values counted: a state saved between two settlings has not narrowed yet. It
        // may not be before the first.
        let mut past = with(8, 5000);
        past[count(4)..count(4) + 8].copy_from_slice(&(n4 + 4996).to_le_bytes());
        let of_10k = |b: &[u8]| restore_from(b, grids, ranks, 10_000, 6.0, u64::MAX);
        for (next, ok) in [(SIEVE_FIRST - 1, false), (SIEVE_FIRST, true), (5000, true)] {
            past[16..24].copy_from_slice(&next.to_le_bytes());
            assert_eq!(of_10k(&past).is_some(), ok, "next {next}");
        }
        let mut beyond = saved.clone();
        let end = beyond.len() - 8;
        beyond[end..].copy_from_slice(&1u64.to_le_bytes());
        beyond.extend_from_slice(&45.5f64.to_le_bytes());
        for (what, bad) in [
            ("cut short", saved[..saved.len() - 1].to_vec()),
            ("run on", [&saved[..], &[0]].concat()),
            ("two columns", with(0, 2)),
            ("another cell count", with(24, g.cells as u64 + 1)),
            ("a bin keeping another region's values", with(slot(4), 1)),
            ("a gap keeping a region's values", with(slot(0), 0)),
            ("a region past the last", with(slot(12), 3)),
            (
                "counts that do not sum to the values counted",
                with(count(4), 9),
            ),
            (
                "a kept value in a bin dropped",
                with(slot(4), u64::from(DROPPED)),
            ),
            (
                "kept values out of order",
                with(values + 8, 3.95f64.to_bits()),
            ),
            (
                "a next narrowing before the first",
                with(16, SIEVE_FIRST - 1),
            ),
            (
                "a kept value outside its region",
                with(values + 8, 15.0f64.to_bits()),
            ),
            (
                "a kept value that is NaN",
                with(values + 8, f64::NAN.to_bits()),
            ),
            ("values kept in a region without bins", beyond),
        ] {
            assert!(restore(&bad).is_none(), "{what}");
        }
        // Nor in a region of one bin (a cell whose count, minimum and maximum say everything),
        // but in one of two.
        for (bins, kept) in [(1, false), (2, true)] {
            let g = Grid::new(vec![
                Region::new(0.0, 10.0, bins),
                Region::new(20.0, 30.0, 5),
            ]);
            let g = std::slice::from_ref(&g);
            let mut st = state(&Sieve::new(g, ranks, 100, 6.0, u64::MAX).unwrap());
            assert!(restore_from(&st, g, ranks, 100, 6.0, u64::MAX).is_some());
            // Region 0's value count, then a value.
            let at = 32 + 16 * g[0].cells + 8;
            st[at..at + 8].copy_from_slice(&1u64.to_le_bytes());
            st.splice(at + 8..at + 8, 6.0f64.to_le_bytes());
            let back = restore_from(&st, g, ranks, 100, 6.0, u64::MAX);
            assert_eq!(back.is_some(), kept, "{bins} bins");
        }
        // Any state restored is the state saved, byte for byte: of a thousand edits of whole
        // words or single bytes, each restores to none or to a sieve whose state is the edit.
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        let mut restored = 0;
        for _ in 0..1000 {
            let mut b = saved.clone();
            let at = next(b.len());
            if next(2) == 0 {
                let w = at / 8 * 8;
                let word = [
                    0,
                    1,
                    2,
                    3,
                    u64::from(DROPPED),
                    15.0f64.to_bits(),
                    9.5f64.to_bits(),
                ];
                b[w..w + 8].copy_from_slice(&word[next(word.len())].to_le_bytes());
            } else {
                b[at] ^= 1 << next(8);
            }
            if let Some(s) = restore(&b) {
                assert_eq!(state(&s), b);
                restored += 1;
            }
        }
        assert!(restored > 0);
        // No sieve to restore: no bins, or none wanted.
        assert!(restore_from(&saved, grids, ranks, 100, 0.0, u64::MAX).is_none());
        let flat = Grid::new(vec![Region::new(0.0, 10.0, 0)]);
        assert!(restore_from(&saved, std::slice::from_ref(&flat), ranks, 100, 6.0, 9).is_none());
    }

    /// A pass whose first blocks come from its pilot (offered to the sieve: blocks 0..5 of
    /// blocks of 1,000 draws, short of the first round's end at 8) keeps the sieve of the same
    /// blocks all run again (a part's pass, `first_pass_sieved`), byte for byte: the offered
    /// values are counted as flushed ones are, and the sieve settles at round ends alone.
    #[test]
    fn a_sieve_offered_the_pilot_keeps_what_one_flushed_its_blocks_keeps() {
        let plan = default_plan();
        let opts = monte_carlo(40_001, 9);
        // Windows of one standard deviation: a narrowing anywhere else than a round's end would
        // drop bins the sieve keeps.
        let cfg = StreamConfig {
            sieve_sigmas: 1.0,
            ..binned()
        };
        let (_, offered, setup) = sieved_in_ranges(&plan, &opts, &cfg, &[]);
        assert!(setup.pilot_blocks(&opts) > 0);
        let src = quiet_source(&plan, &opts, &cfg);
        let blocks = Plan::block_count(&opts).unwrap();
        let (_, run) = setup
            .first_pass_sieved(&plan, &src, (0, blocks), &cfg)
            .unwrap();
        let encoded = |f: &SieveFinds| {
            let mut o = Vec::new();
            f.encode(&mut o);
            o
        };
        let run = encoded(&run.expect("binned brackets, a sieve"));
        assert!(run.len() > 1000);
        assert!(encoded(&offered.finds()) == run);
    }

    /// A pass 1 resumed at a block with its sieve as saved there ends with a sieve that finds
    /// every rank an uninterrupted pass's does; a state that does not restore leaves it none.
    /// The run is longer than the achieved correlations' draws (2^18, which a resumed pass holds
    /// in memory): its last blocks are run again and counted through the restored sieve. Resumed
    /// inside those draws, it keeps the uninterrupted sieve byte for byte.
    #[test]
    fn a_pass_resumed_with_its_saved_sieve_finds_what_an_uninterrupted_one_does() {
        let plan = default_plan();
        let opts = monte_carlo(330_003, 14);
        let (mid, end) = (300, 331);
        let cfg = binned();
        let src = quiet_source(&plan, &opts, &cfg);
        let o = SummaryOptions::default();
        let mut a = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        let before = a.blocks(0, mid, None).unwrap();
        let seen = |p: &FirstPass| p.sieve().unwrap().col(0).seen;
        let seen_before = seen(&a);
        let mut state = Vec::new();
        a.sieve()
            .expect("a sieve from block 0")
            .encode_state_to(&mut |b| state.extend_from_slice(b));
        let mut whole = before.clone();
        whole.merge(a.blocks(mid, end, None).unwrap());
        let seen_after = seen(&a);
        let found = |p: &mut FirstPass, first: &First| {
            let setup = p.setup();
            let mut res = Resolver::new(first, &setup.queries.ranks, &setup.grids);
            p.take_sieve().unwrap().resolve(&mut res, first).unwrap();
            res.targets
        };
        let uninterrupted = found(&mut a, &whole);
        assert!(uninterrupted.iter().flatten().any(|(_, t)| t.is_ok()));
        let mut b = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        assert_eq!(
            b.resume_sieved_at(mid, &mut crate::shard::body_reader(&state), &before)
                .unwrap(),
            Restored::Yes
        );
        assert_eq!(seen(&b), seen_before);
        let mut resumed = before.clone();
        resumed.merge(b.blocks(mid, end, None).unwrap());
        // The blocks from `mid` on were counted through the restored sieve.
        assert!(seen(&b) > seen_before);
        assert_eq!(seen(&b), seen_after);
        assert_eq!(resumed, whole);
        assert_eq!(found(&mut b, &resumed), uninterrupted);
        let mut c = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        assert_eq!(
            c.resume_sieved_at(mid, &mut crate::shard::body_reader(&state[1..]), &before)
                .unwrap(),
            Restored::Unfit
        );
        c.blocks(mid, end, None).unwrap();
        assert!(c.take_sieve().is_none());
        // Without a sieve (`--no-sieve`) there is none to go on with either.
        assert!(a.sieving());
        let none = StreamConfig {
            sieve_sigmas: 0.0,
            ..cfg.clone()
        };
        let mut e = FirstPass::new(&src, &o, &Vec::new(), &none).unwrap();
        assert!(!e.sieving());
        assert_eq!(
            e.resume_sieved_at(mid, &mut crate::shard::body_reader(&state), &before)
                .unwrap(),
            Restored::Unfit
        );
        // Nor with statistics it does not fit: none counted where it keeps values.
        let mut f = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        let nothing = f.setup().empty_first(&plan);
        assert_eq!(
            f.resume_sieved_at(mid, &mut crate::shard::body_reader(&state), &nothing)
                .unwrap(),
            Restored::Unfit
        );
        // At its first block there is nothing to go on with: the pass makes its sieve afresh.
        let mut d = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        assert_eq!(
            d.resume_sieved_at(0, &mut crate::shard::body_reader(&state), &before)
                .unwrap(),
            Restored::Unfit
        );
        assert!(d.sieve().is_none());
        d.blocks(0, end, None).unwrap();
        assert_eq!(found(&mut d, &whole), uninterrupted);
        // Resumed inside the correlations' draws (at block 256: its pilot then holds the
        // blocks up to 263, which the sieve is offered rather than flushed), it keeps the sieve
        // an uninterrupted pass keeps, byte for byte: offered values are counted as flushed
        // ones are, and the rounds end at the same blocks.
        let mid = 256;
        let state = |p: &FirstPass| {
            let mut s = Vec::new();
            p.sieve()
                .unwrap()
                .encode_state_to(&mut |b| s.extend_from_slice(b));
            s
        };
        let mut a = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        let before = a.blocks(0, mid, None).unwrap();
        let saved = state(&a);
        a.blocks(mid, end, None).unwrap();
        let mut b = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
        let restored = b.resume_sieved_at(mid, &mut crate::shard::body_reader(&saved), &before);
        assert_eq!(restored.unwrap(), Restored::Yes);
        b.blocks(mid, end, None).unwrap();
        assert!(state(&b) == state(&a));
    }

    /// A bin whose kept values outnumber its cell's count (a value seen twice) is an error, not
    /// a rank.
    #[test]
    fn a_bin_the_sieve_kept_more_of_than_were_counted_is_an_error() {
        let g = Grid::new(vec![Region::new(0.0, 10.0, 10)]);
        let mut cells = vec![Cell::default(); g.cells];
        let sieve = Sieve::new(std::slice::from_ref(&g), &[vec![1]], 3, 6.0, u64::MAX).unwrap();
        let mut pass = ColPass::without_cells(&g);
        pass.add(&g, &[3.1, 3.4, 3.7]);
        sieve.flush(0, &mut cells, &mut pass);
        sieve.offer(0, &[3.4]);
        let first = first_of(cells);
        let mut res = Resolver::new(&first, &[vec![1]], std::slice::from_ref(&g));
        let e = sieve.resolve(&mut res, &first);
        assert!(matches!(e, Err(StreamError::Inconsistent(_))), "{e:?}");
    }

    /// Only a pass 1 started at block 0, not keeping its draws, has a sieve, kept from one range
    /// to the next (a checkpointed run's chunks): one resumed past block 0, or with a range
    /// keeping its draws (counted into its tasks' own cells), would not give it every value.
    #[test]
    fn only_pass_one_from_block_0_not_keeping_its_draws_has_a_sieve() {
        let plan = default_plan();
        let opts = monte_carlo(12_003, 14);
        let cfg = binned();
        let src = Regenerate {
            plan: &plan,
            opts: &opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        };
        let o = SummaryOptions::default();
        struct Drop;
        impl DrawSink for Drop {
            fn put(&mut self, _: &Draws, _: Range<usize>, _: u64) -> Result<(), String> {
                Ok(())
            }
        }
        // Blocks 0..13 (ranges, whether each keeps its draws), resumed at a block or not, and
        // whether the pass has a sieve at its end.
        for (ranges, resume, sieve) in [
            (vec![(0, 13, false)], None, true),
            (vec![(0, 13, true)], None, false),
            (vec![(0, 6, false), (6, 13, false)], None, true),
            (
                vec![(0, 4, false), (4, 9, false), (9, 13, false)],
                None,
                true,
            ),
            (vec![(0, 6, false), (6, 13, true)], None, false),
            (vec![(0, 6, true), (6, 13, false)], None, false),
            (vec![(6, 13, false)], Some(6), false),
        ] {
            let mut p = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
            if let Some(b) = resume {
                p.resume_at(b).unwrap();
            }
            for &(a, b, keep) in &ranges {
                let mut sink = Drop;
                let sink = keep.then_some(&mut sink as &mut dyn DrawSink);
                p.blocks(a, b, sink).unwrap();
            }
            assert_eq!(
                p.take_sieve().is_some(),
                sieve,
                "{ranges:?} from {resume:?}"
            );
        }
        // Blocks passed over between two ranges (a resume past the next block) end the sieve:
        // it would never see block 2's values. A resume at the next block passes over none.
        for (at, sieve) in [(3, false), (2, true)] {
            let mut p = FirstPass::new(&src, &o, &Vec::new(), &cfg).unwrap();
            p.blocks(0, 2, None).unwrap();
            p.resume_at(at).unwrap();
            p.blocks(at, 13, None).unwrap();
            assert_eq!(p.take_sieve().is_some(), sieve, "resumed at {at}");
        }
    }

    /// Pass 1 taken in ranges from block 0 keeps one sieve throughout, which finds what the sieve
    /// of pass 1 in one range finds (on one thread both flush the same values in the same
    /// order): the ranks the cells leave, every one here, with the summary of the draws in
    /// memory in one pass.
    #[test]
    fn a_sieve_kept_across_ranges_finds_what_one_range_finds() {
        let plan = default_plan();
        let (opts, meta, mem) = summarised_in_memory(&plan, 20_001, 14);
        let cfg = binned();
        let one = sieved_pass_one(&plan, &opts, &cfg);
        assert!(one.0 > 0 && one.1 == 0, "{one:?}");
        for cuts in [&[1, 10][..], &[3, 7, 11, 20]] {
            assert_eq!(
                sieved_pass_one_cut(&plan, &opts, &cfg, cuts),
                one,
                "{cuts:?}"
            );
        }
        let (first, sieve, setup) = sieved_in_ranges(&plan, &opts, &cfg, &[5, 12]);
        let (o, extra) = (SummaryOptions::default(), Vec::new());
        let blocks = Plan::block_count(&opts).unwrap();
        let src = Regenerate {
            plan: &plan,
            opts: &opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        };
        let mut passes = Passes::new(&plan, &setup, first, meta, &o, &extra, &cfg).unwrap();
        passes.sieved(sieve).unwrap();
        let (s, n) = passes
            .run(&mut |g| -> Result<_, StreamError> { Ok(pass(&plan, &src, g, 0, blocks)?) })
            .unwrap();
        assert_eq!((serde_json::to_string(&s).unwrap(), n), (mem, 1));
    }

    /// A run split into parts (as shards and MPI ranks split it), each with a sieve of its own
    /// over its blocks, finds in the parts' sieves every rank the merged cells leave: the merge
    /// takes them from the encoded parts and needs no second pass, for the summary of the draws
    /// in memory. Sieves too narrow to hold the ranks, and parts encoded without what their
    /// sieves kept (as before parts had sieves), leave the ranks to a second pass, for the same
    /// summary.
    #[test]
    fn the_sieves_of_a_runs_parts_find_the_ranks_of_the_merged_cells() {
        let plan = default_plan();
        let (opts, meta, mem) = summarised_in_memory(&plan, 20_001, 14);
        let narrow = StreamConfig {
            sieve_sigmas: 1e-9,
            ..binned()
        };
        let (all, some, none) = ([true; 3], [true, false, true], [false; 3]);
        for (cfg, with_finds, passes) in [
            (binned(), all, 1),
            (narrow, all, 2),
            (binned(), none, 2),
            (binned(), some, 2),
        ] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(1)
                .build()
                .unwrap();
            let (s, n) =
                pool.install(|| merged_parts(&plan, &opts, meta.clone(), &cfg, with_finds));
            assert_eq!(
                (s, n),
                (mem.clone(), passes),
                "{} σ, {with_finds:?}",
                cfg.sieve_sigmas
            );
        }
    }

    /// What a part's sieve kept, encoded whole (a shard's file) or for the cells asked (an MPI
    /// rank's answer), gives a merge the values of the cells it wants and nothing else; the
    /// cells asked round-trip; cut, padded or ill-formed encodings are refused.
    #[test]
    fn encoded_sieve_finds_give_the_cells_asked_and_bad_ones_are_refused() {
        let finds = SieveFinds {
            cols: vec![
                vec![(2, vec![1.5, -2.0]), (5, vec![3.0])],
                vec![(1, vec![4.0]), (9, vec![])],
            ],
        };
        let wanted = || -> Vec<HashMap<u64, Vec<f64>>> {
            vec![
                HashMap::from([(2, vec![]), (7, vec![])]),
                HashMap::from([(1, vec![0.5])]),
            ]
        };
        let mut whole = Vec::new();
        finds.encode(&mut whole);
        let mut w = wanted();
        add_encoded_finds(&mut w, &whole).unwrap();
        let expect = vec![
            HashMap::from([(2, vec![1.5, -2.0]), (7, vec![])]),
            HashMap::from([(1, vec![0.5, 4.0])]),
        ];
        assert_eq!(w, expect);
        // Rank 0 adds its own values without encoding them: the same.
        let mut w = wanted();
        finds.add_to(&mut w);
        assert_eq!(w, expect);
        // The cells asked, each column's increasing, and only those answered.
        let asked = decode_asked(&encode_asked(&wanted())).unwrap();
        assert_eq!(asked, vec![vec![2, 7], vec![1]]);
        let mut answer = Vec::new();
        SieveFinds::encode_asked(Some(&finds), &asked, &mut answer);
        assert!(answer.len() < whole.len());
        let mut w = wanted();
        add_encoded_finds(&mut w, &answer).unwrap();
        assert_eq!(w, expect);
        // The answer fits the part's own cells (count, smallest and largest value).
        let cell = |n, min, max| Cell { n, min, max };
        let own = vec![
            vec![(2, cell(2, -2.0, 1.5)), (5, cell(1, 3.0, 3.0))],
            vec![(1, cell(1, 4.0, 4.0))],
        ];
        let mut r = Reader::new(&answer);
        assert_eq!(SieveFinds::check_encoded(&mut r, &own), Some(()));
        assert!(r.done());
        // No sieve: nothing added, whether the section is empty or absent.
        let mut none = Vec::new();
        SieveFinds::default().encode(&mut none);
        SieveFinds::encode_asked(None, &asked, &mut none);
        for b in [&none[..8], &none[8..], &[][..]] {
            let mut w = wanted();
            add_encoded_finds(&mut w, b).unwrap();
            assert_eq!(w, wanted());
        }
        // Refused: cut short, a byte more, another number of columns, cells not increasing.
        let mut w = wanted();
        assert!(add_encoded_finds(&mut w, &whole[..whole.len() - 1]).is_none());
        let mut padded = whole.clone();
        padded.push(0);
        assert!(add_encoded_finds(&mut wanted(), &padded).is_none());
        assert!(add_encoded_finds(&mut wanted()[..1], &whole).is_none());
        let mut r = Reader::new(&answer[..answer.len() - 8]);
        assert!(SieveFinds::check_encoded(&mut r, &own).is_none());
        for cells in [[3, 2], [2, 2]] {
            let mut bad = Vec::new();
            put_u64(&mut bad, 1);
            put_u64s(&mut bad, &cells);
            assert!(decode_asked(&bad).is_none(), "{cells:?}");
        }
        let ask = encode_asked(&wanted());
        assert!(decode_asked(&ask[..ask.len() - 1]).is_none());
    }

    /// The engine regenerating the run `opts`, in chunks of `cfg`'s, reporting no progress.
    fn quiet_source<'a>(
        plan: &'a Plan,
        opts: &'a RunOptions,
        cfg: &StreamConfig,
    ) -> Regenerate<'a> {
        Regenerate {
            plan,
            opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        }
    }

    /// The setup of a part of the run `opts` (a shard's: its grids from the shards' pilot),
    /// summarised with the default options.
    fn part_setup(plan: &Plan, opts: &RunOptions, cfg: &StreamConfig) -> Setup {
        let pilot = Setup::run_pilot(plan, opts, false).unwrap();
        Setup::new(
            plan,
            opts.draws,
            pilot,
            false,
            &SummaryOptions::default(),
            &Vec::new(),
            cfg,
        )
    }

    /// Statistics of a part read back with what its sieve kept: where that starts is returned,
    /// and a body with bytes past a readable section, or a cut one, is refused.
    #[test]
    fn a_parts_statistics_are_read_up_to_its_sieves_values() {
        let plan = default_plan();
        let (opts, _, _) = summarised_in_memory(&plan, 3_001, 5);
        let cfg = binned();
        let src = quiet_source(&plan, &opts, &cfg);
        let setup = part_setup(&plan, &opts, &cfg);
        let (f, finds) = setup.first_pass_sieved(&plan, &src, (0, 2), &cfg).unwrap();
        let finds = finds.expect("binned brackets, a sieve");
        assert!(finds.cols.iter().any(|c| !c.is_empty()));
        let stats = f.encode();
        let body = f.encode_part(Some(&finds));
        let whole = Part::of(&opts, (0, 2));
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&body, whole),
            Some(stats.len())
        );
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&stats, whole),
            Some(stats.len())
        );
        let mut more = body.clone();
        more.push(1);
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&more, whole),
            None
        );
        // Statistics of other blocks or draws than the part's are refused, as are statistics
        // whose counts do not add up to the draws it kept: one more kept (the first word), one
        // more skipped (the second).
        for other in [(0, 3), (1, 2), (0, 1), (2, 4)] {
            let p = Part::of(&opts, other);
            assert_eq!(setup.empty_first(&plan).add_encoded_part(&body, p), None);
        }
        let fewer = Part {
            draws: whole.draws - 1,
            ..whole
        };
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&body, fewer),
            None
        );
        // An MPI rank's statistics alone (its sieve values come later) are checked the same way.
        assert_eq!(
            setup.empty_first(&plan).add_encoded(&stats, Some(whole)),
            Some(())
        );
        assert_eq!(
            setup.empty_first(&plan).add_encoded(&stats, Some(fewer)),
            None
        );
        assert_eq!(
            setup.empty_first(&plan).add_encoded(&body, Some(whole)),
            None
        );
        // As many draws, in other blocks (the moments cover the draws of blocks 0..2).
        let moved_on = Part {
            from: opts.draws_to(1),
            ..whole
        };
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&body, moved_on),
            None
        );
        // An entity's whole-year delays with one more (empty) year: the counts add up, the
        // years do not.
        let mut longer = f.clone();
        longer.delay_whole[0].push(0);
        assert_eq!(
            setup
                .empty_first(&plan)
                .add_encoded_part(&longer.encode(), whole),
            None
        );
        // A column's threshold counts, cells or moments counting one value more than it kept.
        let c = f
            .cols
            .iter()
            .position(|c| !c.le.at.is_empty())
            .expect("a column with thresholds");
        let edits: [&dyn Fn(&mut ColFirst); 3] = [
            &|x| x.le.buckets[0] += 1,
            &|x| {
                let cell = x.pass.cells.iter_mut().find(|c| c.n > 0).unwrap();
                cell.n += 1;
            },
            &|x| x.tree.nodes[0].2.n += 1,
        ];
        for (k, edit) in edits.iter().enumerate() {
            let mut one_more = f.clone();
            edit(&mut one_more.cols[c]);
            let b = one_more.encode();
            assert_eq!(
                setup.empty_first(&plan).add_encoded_part(&b, whole),
                None,
                "{k}"
            );
            assert_eq!(
                setup.empty_first(&plan).add_encoded(&b, None),
                Some(()),
                "{k}"
            );
        }
        // A column without thresholds counting a value.
        let mut counted = f.clone();
        let bare = counted
            .cols
            .iter_mut()
            .find(|c| c.le.at.is_empty())
            .expect("a column without thresholds");
        bare.le.buckets[0] += 1;
        let b = counted.encode();
        assert_eq!(setup.empty_first(&plan).add_encoded_part(&b, whole), None);
        assert_eq!(setup.empty_first(&plan).add_encoded(&b, None), Some(()));
        for word in [0, 8] {
            let mut one_more = stats.clone();
            one_more[word] ^= 1;
            assert_eq!(
                setup.empty_first(&plan).add_encoded_part(&one_more, whole),
                None
            );
            assert_eq!(
                setup.empty_first(&plan).add_encoded(&one_more, None),
                Some(())
            );
        }
        // One draw fewer kept and one more skipped: the draws add up, the columns' counts do
        // not.
        let mut moved = stats.clone();
        let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let (kept, skipped) = (word(&moved, 0), word(&moved, 8));
        moved[..8].copy_from_slice(&(kept - 1).to_le_bytes());
        moved[8..16].copy_from_slice(&(skipped + 1).to_le_bytes());
        assert_eq!(
            setup.empty_first(&plan).add_encoded_part(&moved, whole),
            None
        );
        assert_eq!(setup.empty_first(&plan).add_encoded(&moved, None), Some(()));
        assert_eq!(
            setup
                .empty_first(&plan)
                .add_encoded_part(&body[..body.len() - 1], whole),
            None
        );
        // Sieve values that are not the part's own cells' are refused: a value missing, the
        // largest moved past the cell's (the smallest kept), a cell given twice, a cell it never
        // counted into, a column missing.
        let (c, k) = finds
            .cols
            .iter()
            .enumerate()
            .find_map(|(c, cells)| {
                let spread = |v: &[f64]| v.iter().any(|y| *y != v[0]);
                cells.iter().position(|(_, v)| spread(v)).map(|k| (c, k))
            })
            .expect("a cell of several different values");
        let bad = |edit: &dyn Fn(&mut SieveFinds)| {
            let mut f2 = finds.clone();
            edit(&mut f2);
            setup
                .empty_first(&plan)
                .add_encoded_part(&f.encode_part(Some(&f2)), whole)
        };
        assert_eq!(bad(&|_| {}), Some(stats.len()));
        assert_eq!(
            bad(&|x| {
                x.cols[c][k].1.pop();
            }),
            None
        );
        assert_eq!(
            bad(&|x| {
                let v = &mut x.cols[c][k].1;
                let top = v.iter().copied().fold(f64::MIN, f64::max);
                v.iter_mut()
                    .filter(|y| **y == top)
                    .for_each(|y| *y = top + 1.0);
            }),
            None
        );
        assert_eq!(
            bad(&|x| {
                let again = x.cols[c][k].clone();
                x.cols[c].push(again);
            }),
            None
        );
        assert_eq!(
            bad(&|x| x.cols[c].push((u64::from(u32::MAX), vec![0.5]))),
            None
        );
        assert_eq!(
            bad(&|x| {
                x.cols.pop();
            }),
            None
        );
        // The statistics read the same either way.
        let (mut a, mut b) = (setup.empty_first(&plan), setup.empty_first(&plan));
        a.add_encoded_part(&body, whole).unwrap();
        b.add_encoded(&stats, None).unwrap();
        assert_eq!(a.encode(), b.encode());
    }

    /// A pass 1 held from a part's first block (a checkpointed shard's) keeps a sieve from that
    /// block, across its ranges, whose values fit the part's statistics; resumed past that block,
    /// or configured without one, it has none.
    #[test]
    fn a_part_held_from_its_first_block_keeps_a_sieve_and_a_resumed_one_none() {
        let plan = default_plan();
        let opts = monte_carlo(7_001, 5);
        let cfg = binned();
        let src = quiet_source(&plan, &opts, &cfg);
        let setup = || part_setup(&plan, &opts, &cfg);
        let mut p = FirstPass::holding(&src, setup(), 2, &cfg);
        let mut f = p.blocks(2, 3, None).unwrap();
        f.merge(p.blocks(3, 6, None).unwrap());
        let finds = p.take_sieve().expect("a sieve from block 2").finds();
        assert!(finds.cols.iter().any(|c| !c.is_empty()));
        let body = f.encode_part(Some(&finds));
        assert_eq!(
            setup()
                .empty_first(&plan)
                .add_encoded_part(&body, Part::of(&opts, (2, 6))),
            Some(f.encode().len())
        );
        let mut resumed = FirstPass::holding(&src, setup(), 2, &cfg);
        resumed.resume_at(3).unwrap();
        resumed.blocks(3, 6, None).unwrap();
        assert!(resumed.take_sieve().is_none());
        let none = StreamConfig {
            sieve_sigmas: 0.0,
            ..cfg.clone()
        };
        let mut without = FirstPass::holding(&src, setup(), 2, &none);
        without.blocks(2, 6, None).unwrap();
        assert!(without.take_sieve().is_none());
    }

    /// A part's pass 1 held from its first block, its first blocks from the pilot (a
    /// checkpointed shard's), has the statistics and the sieve, byte for byte, of the part's
    /// pass 1 run at once (a plain shard's), taken in one range or in two: the pilot's blocks,
    /// then the rest, and the ranges are merged in block order, so their moments form the same
    /// tree.
    #[test]
    fn a_part_taken_from_its_pilot_is_the_same_bytes_as_one_run_at_once() {
        let plan = default_plan();
        // 40 blocks, of which the pilot (2^14 draws) holds the first 17.
        let opts = monte_carlo(40_000, 5);
        let cfg = binned();
        let src = quiet_source(&plan, &opts, &cfg);
        let setup = || part_setup(&plan, &opts, &cfg);
        let (first, cut, end) = (0, 9, 31);
        let (f, finds) = setup()
            .first_pass_sieved(&plan, &src, (first, end), &cfg)
            .unwrap();
        let want = f.encode_part(finds.as_ref());
        let bytes = |p: &mut FirstPass, f: First| {
            let finds = p.take_sieve().map(Sieve::finds);
            assert!(
                finds
                    .as_ref()
                    .is_some_and(|f| f.cols.iter().any(|c| !c.is_empty()))
            );
            f.encode_part(finds.as_ref())
        };
        let mut one = FirstPass::holding(&src, setup(), first, &cfg);
        let f = one.blocks(first, end, None).unwrap();
        assert!(bytes(&mut one, f) == want, "in one range");
        let mut two = FirstPass::holding(&src, setup(), first, &cfg);
        let mut f = two.blocks(first, cut, None).unwrap();
        f.merge(two.blocks(cut, end, None).unwrap());
        assert!(bytes(&mut two, f) == want, "in two ranges");
    }

    /// The summary (JSON) and passes of the run `opts` split into 3 parts, each running pass 1
    /// over its blocks with `cfg`'s sieve, encoded (with what their sieves kept, or without) and
    /// merged; later passes run in this process. Asserts the parts' sieves found every rank
    /// exactly when the merge takes one pass.
    fn merged_parts(
        plan: &Plan,
        opts: &RunOptions,
        meta: Metadata,
        cfg: &StreamConfig,
        with_finds: [bool; 3],
    ) -> (String, u32) {
        let (o, extra) = (SummaryOptions::default(), Vec::new());
        let blocks = Plan::block_count(opts).unwrap();
        let src = Regenerate {
            plan,
            opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &|_| {},
        };
        let pilot = |full| Setup::run_pilot(plan, opts, full).unwrap();
        let part = Setup::new(plan, opts.draws, pilot(false), false, &o, &extra, cfg);
        let parts: Vec<Vec<u8>> = (0..3)
            .map(|k| {
                let (a, b) = crate::shard::shard_blocks(k, 3, blocks);
                let (f, finds) = part.first_pass_sieved(plan, &src, (a, b), cfg).unwrap();
                assert!(finds.is_some(), "the brackets are binned");
                f.encode_part(finds.as_ref().filter(|_| with_finds[k as usize]))
            })
            .collect();
        let setup = Setup::new(plan, opts.draws, pilot(true), true, &o, &extra, cfg);
        let mut first = setup.empty_first(plan);
        let at: Vec<usize> = (0..3)
            .zip(&parts)
            .map(|(k, p)| {
                let range = crate::shard::shard_blocks(k, 3, blocks);
                first.add_encoded_part(p, Part::of(opts, range)).unwrap()
            })
            .collect();
        let mut passes = Passes::new(plan, &setup, first, meta, &o, &extra, cfg).unwrap();
        assert!(passes.next().is_some(), "the cells leave ranks to find");
        let mut wanted = passes.sieve_wanted();
        assert!(wanted.iter().any(|w| !w.is_empty()));
        for ((p, &a), &w) in parts.iter().zip(&at).zip(&with_finds) {
            assert_eq!(a == p.len(), !w);
            add_encoded_finds(&mut wanted, &p[a..]).unwrap();
        }
        let left = |p: &Passes| {
            p.next()
                .map_or(0, |g| g.iter().map(|x| x.regions().len()).sum::<usize>())
        };
        let before = left(&passes);
        passes.sieved_parts(wanted).unwrap();
        let found_all = passes.next().is_none();
        // Without one part's values, the ranks of the cells that part counted values into are
        // left to the next pass, and those of the cells it did not are found (on one thread,
        // the same ones every time).
        if with_finds == [true, false, true] {
            assert!((1..before).contains(&left(&passes)), "{before}");
        }
        let (s, n) = passes
            .run(&mut |g| -> Result<_, StreamError> { Ok(pass(plan, &src, g, 0, blocks)?) })
            .unwrap();
        assert_eq!(found_all, n == 1);
        (serde_json::to_string(&s).unwrap(), n)
    }
}
