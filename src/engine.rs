//! The Monte Carlo engine: draws inputs, evaluates the model once per draw, and keeps the
//! per-draw outcomes in draw order.
//!
//! Invariants:
//! - the inputs of draw `i` depend only on (seed, the input's stream name, `i`, and for Latin
//!   hypercube / Sobol the number of draws): never on threads, block size or evaluation order;
//! - draws are processed in fixed blocks of `block_size`; blocks run in parallel (rayon) and are
//!   concatenated in block order, so every output is bit-identical for any number of threads;
//! - no floating-point reduction happens in parallel;
//! - a draw whose outcome is not finite is an error naming the draw and its inputs, unless the
//!   caller asked for such draws to be counted and skipped.
//!
//! The engine computes and reports progress through a callback; it never prints.

use rayon::prelude::*;

use crate::dist::{std_normal_cdfs_interp, std_normal_quantiles};
use crate::distfile::{DistSet, Input};
use crate::error::Error;
use crate::kernel::{
    Padded, Slid, ThemeCols, ThemeEval, ThemeFlows, TotalBlock, TotalEval, TotalPart,
    add_partner_npvs, add_partner_npvs_block, breakeven_block, slid_profile_pv,
    theme_delay_to_zero, theme_flows,
};
use crate::local::{LOCAL_MEASURES, LocalEval};
use crate::model::{Amounts, Inputs, ModelSpec};
use crate::params::{Restore, Target, ThemeField, apply};
use crate::rng::path_key;
use crate::sampler::{Dimension, Sampler, SamplerKind};

/// Per-entity continuous outcomes kept per draw, in column order. The present value of costs
/// (PV of benefits − NPV) and leakage-to-zero (max(NPV, 0) / PV of benefits) are derived from
/// these when summarising, which saves two columns per entity.
pub const ENTITY_MEASURES: [&str; 3] = ["npv", "pv_benefits", "delay_to_zero"];

/// One of an entity's engine measures, in the order of [`ENTITY_MEASURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    Npv,
    PvBenefits,
    DelayToZero,
}

impl Measure {
    /// Every measure, in column order.
    pub const ALL: [Measure; 3] = [Measure::Npv, Measure::PvBenefits, Measure::DelayToZero];
}

/// One of an entity's measures of the local method, in the order of [`LOCAL_MEASURES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalMeasure {
    PublicValueNpv,
    PublicValueBcr,
    Roi,
}

impl LocalMeasure {
    /// Every measure, in column order.
    pub const ALL: [LocalMeasure; 3] = [
        LocalMeasure::PublicValueNpv,
        LocalMeasure::PublicValueBcr,
        LocalMeasure::Roi,
    ];
}

/// What an outcome column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    /// Entity `.0`'s measure (themes in model order, then the total).
    Entity(usize, Measure),
    /// Partner `.0`'s share of the headline NPV.
    PartnerNpv(usize),
    /// Entity `.0`'s measure of the local method.
    Local(usize, LocalMeasure),
    /// Partner `.0`'s net present budget impact (local method).
    BudgetImpact(usize),
}

/// Where each outcome column of a plan is: every entity's [`ENTITY_MEASURES`] (themes in model
/// order, then the total), each partner's NPV, then, for a model with outcome-level themes, every
/// entity's [`LOCAL_MEASURES`] and each partner's budget impact. Every reader of the columns finds
/// them here ([`Plan::layout`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Themes and the total.
    pub entities: usize,
    pub partners: usize,
    /// Whether the local method's columns follow.
    pub local: bool,
}

impl Layout {
    /// Entity `e`'s measure `m`: the entity columns come first, so their place does not depend
    /// on the rest of the layout.
    pub fn entity(e: usize, m: Measure) -> usize {
        e * ENTITY_MEASURES.len() + m as usize
    }

    pub fn partner_npv(&self, p: usize) -> usize {
        self.entities * ENTITY_MEASURES.len() + p
    }

    /// First column of the local method's measures.
    pub fn local_base(&self) -> usize {
        self.partner_npv(self.partners)
    }

    pub fn local(&self, e: usize, m: LocalMeasure) -> usize {
        self.local_base() + e * LOCAL_MEASURES.len() + m as usize
    }

    pub fn budget_impact(&self, p: usize) -> usize {
        self.local_base() + self.entities * LOCAL_MEASURES.len() + p
    }

    /// Number of the local method's columns (0 without outcome-level themes).
    pub fn n_local(&self) -> usize {
        if self.local {
            self.entities * LOCAL_MEASURES.len() + self.partners
        } else {
            0
        }
    }

    /// Number of outcome columns.
    pub fn n_columns(&self) -> usize {
        self.local_base() + self.n_local()
    }

    /// What column `c` (< `n_columns()`) holds.
    pub fn column(&self, c: usize) -> Column {
        let (k, lk) = (Measure::ALL.len(), LocalMeasure::ALL.len());
        let lb = self.local_base();
        if c < self.entities * k {
            Column::Entity(c / k, Measure::ALL[c % k])
        } else if c < lb {
            Column::PartnerNpv(c - self.entities * k)
        } else if c < lb + self.entities * lk {
            Column::Local((c - lb) / lk, LocalMeasure::ALL[(c - lb) % lk])
        } else {
            Column::BudgetImpact(c - lb - self.entities * lk)
        }
    }
}

/// Default number of draws per block.
pub const DEFAULT_BLOCK: u64 = 4096;

/// A theme's numbers that a batch of draws reads straight from its inputs' values
/// ([`Plan::evaluate_batch`]): its delay, and what its gross benefit and scaled cost are made of
/// ([`Amounts`]).
const PLAIN: [ThemeField; 10] = [
    ThemeField::Delay,
    ThemeField::Cohort,
    ThemeField::Volume,
    ThemeField::Engagement,
    ThemeField::GrossBenefit,
    ThemeField::Realisation,
    ThemeField::Cashability,
    ThemeField::OptimismBiasBenefit,
    ThemeField::OptimismBiasCost,
    ThemeField::ScaledCost,
];

/// The place of a theme's plain number `f` in [`PLAIN`] (and in a theme's sources of them,
/// `Plan::plain`): `None` for a field that is not one. A `const fn`, so that the batch reads its
/// numbers by name at constant places.
const fn plain_slot(f: ThemeField) -> Option<usize> {
    Some(match f {
        ThemeField::Delay => 0,
        ThemeField::Cohort => 1,
        ThemeField::Volume => 2,
        ThemeField::Engagement => 3,
        ThemeField::GrossBenefit => 4,
        ThemeField::Realisation => 5,
        ThemeField::Cashability => 6,
        ThemeField::OptimismBiasBenefit => 7,
        ThemeField::OptimismBiasCost => 8,
        ThemeField::ScaledCost => 9,
        _ => return None,
    })
}

// Checked when the crate compiles: each field of PLAIN is at its slot (that no other field has
// one is a test, `only_the_plain_numbers_have_a_slot`).
const _: () = {
    let mut i = 0;
    while i < PLAIN.len() {
        assert!(matches!(plain_slot(PLAIN[i]), Some(j) if j == i));
        i += 1;
    }
};

/// [`plain_slot`] of a field known to be plain, evaluated at compile time where it is used.
const fn slot(f: ThemeField) -> usize {
    match plain_slot(f) {
        Some(i) => i,
        None => panic!("not one of a theme's plain numbers"),
    }
}

/// Draws sampled together, input by input, then evaluated together (one by one for a plan that
/// is not batched: [`Plan::evaluate_batch`]) before their outcomes are written to the columns.
const BATCH: usize = 64;

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub draws: u64,
    pub seed: u64,
    pub sampler: SamplerKind,
    pub block_size: u64,
    /// Count and skip draws with a non-finite outcome instead of failing.
    pub skip_nonfinite: bool,
}

impl RunOptions {
    /// The draws of blocks `0..b` ([`draws_before`]).
    pub fn draws_to(&self, b: u64) -> u64 {
        draws_before(b, self.block_size, self.draws)
    }

    /// The draws of blocks `first..end`.
    pub fn block_draws(&self, first: u64, end: u64) -> u64 {
        self.draws_to(end) - self.draws_to(first)
    }
}

/// The draws of blocks `0..b` of a run of `draws` draws in blocks of `block`: the number of the
/// first draw of block `b`, or every draw from the last block on.
pub fn draws_before(b: u64, block: u64, draws: u64) -> u64 {
    b.saturating_mul(block).min(draws)
}

/// A model, a scenario and a distribution set, ready to draw.
pub struct Plan {
    pub model: ModelSpec,
    pub scenario: usize,
    pub set: DistSet,
    template: Inputs,
    /// One sampling dimension per distinct stream (sorted by name).
    dims: Vec<Dimension>,
    /// Stream index of each input.
    input_stream: Vec<usize>,
    /// Stream index of each correlated input (copula order).
    corr_streams: Vec<usize>,
    /// Per stream: its row in the copula, when it is correlated.
    corr_row: Vec<Option<usize>>,
    /// Per input: its stream's row in the copula when its values come through the normal score
    /// of its uniform ([`InputDist::samples_from_scores`]), which the copula's scores then give
    /// directly.
    scored: Vec<Option<usize>>,
    /// Per row of the copula: whether an input on its stream reads the uniform itself.
    corr_uniform: Vec<bool>,
    /// Per theme: its evaluation when no uncertain input touches it (computed once).
    constant: Vec<Option<ThemeEval>>,
    /// Per theme: its slid profile PVs ([`slid_profile_pv`]) when no input moves its profile or
    /// the discount rate (computed once).
    slid: Vec<Option<Vec<f64>>>,
    /// Per theme: its profile laid out for the kernel ([`Padded`]), when its slid profile PVs are
    /// in `slid`.
    profiles: Vec<Option<Padded>>,
    /// Per theme: the input that gives each of its [`PLAIN`] numbers (the last one that targets
    /// it), if any, in a batched plan; the other inputs are applied to a copy of the model's
    /// inputs draw by draw.
    plain: Vec<[Option<usize>; PLAIN.len()]>,
    others: Vec<usize>,
    /// Per theme: whether an input moves its partner shares, and its one-off or ongoing costs.
    shares_move: Vec<bool>,
    costs_move: Vec<bool>,
    /// Whether a batch of draws is evaluated column by column ([`Plan::evaluate_batch`]): when
    /// the model has no outcome-level themes and every theme an input touches keeps its profile
    /// and the discount rates.
    batched: bool,
    /// What each draw restores from the template before its inputs are applied: the parts an
    /// input reads before it overwrites them. Every other input overwrites its own field each
    /// draw, so nothing else carries over from the draw before.
    resets: Vec<Restore>,
    /// Entities: the themes, then the headline total.
    pub entities: Vec<String>,
    /// Whether the model has outcome-level themes, so that each draw also gives the local
    /// method's measures ([`crate::local::LOCAL_MEASURES`] per entity, then each partner's net
    /// present budget impact), in columns after the partners'.
    pub local: bool,
}

/// Largest outcome magnitude a draw may give: beyond it the sums of squares of the moments could
/// overflow, so such a draw counts as non-finite (an error, or skipped with `skip_nonfinite`).
pub const MAX_OUTCOME: f64 = 1e100;

/// Why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// A draw gave a non-finite outcome.
    NonFinite {
        draw: u64,
        inputs: Vec<(String, f64)>,
        measure: String,
        /// Whether the measure is a ratio over the costs (a local benefit-cost ratio or return
        /// on investment), NaN when their present value is 0.
        over_costs: bool,
    },
    /// Bad options (e.g. zero draws).
    Options(String),
    /// The kept draws could not be written (a full disk, say): the message names the file.
    Output(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NonFinite {
                draw,
                inputs,
                measure,
                over_costs,
            } => {
                write!(
                    f,
                    "draw {draw} gave a non-finite {measure} (or one beyond ±1e100, whose square would overflow the statistics)"
                )?;
                let check = if inputs.is_empty() {
                    write!(
                        f,
                        "; no input is drawn: the model file's own values give it"
                    )?;
                    "the model file's values"
                } else {
                    let parts: Vec<String> =
                        inputs.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                    write!(f, "; its inputs: {}", parts.join(", "))?;
                    "the distributions of these inputs"
                };
                if *over_costs {
                    write!(
                        f,
                        " (a benefit-cost ratio or return on investment over costs whose present value is 0)"
                    )?;
                }
                write!(
                    f,
                    "\nhint: check {check}, or pass --skip-nonfinite to count and skip such draws"
                )
            }
            RunError::Options(m) | RunError::Output(m) => write!(f, "{m}"),
        }
    }
}

/// `v` with a negative zero made positive, every other value as it is (a NaN stays a NaN). The
/// engine writes one zero into the columns of [`Draws`]: IEEE 754 leaves the sign of
/// `min(−0, +0)` to the implementation, so a cell's minimum or maximum (`crate::stream`) could
/// otherwise depend on the order in which the compiled `f64::min` and `f64::max` see equal
/// values, and differ from the order statistic that sorting (by total order, −0 before +0)
/// gives.
#[inline(always)]
pub(crate) fn one_zero(v: f64) -> f64 {
    // Not an identity in IEEE arithmetic, so not folded away: −0 + 0 = +0.
    v + 0.0
}

/// Every draw's outcomes, in draw order. The engine writes no −0 into any column (`one_zero`).
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// Number of draws kept (excluding skipped ones).
    pub n: usize,
    /// The outcome columns, in the order of [`Plan::layout`]: `ENTITY_MEASURES` for each entity
    /// (entity-major), each partner's NPV, then the local method's columns if any.
    pub outcomes: Vec<Vec<f64>>,
    /// Per entity: whole-year delay-to-zero and breakeven year (0 = not within the horizon).
    pub delay_whole: Vec<Vec<u8>>,
    pub breakeven: Vec<Vec<u8>>,
    /// The first value each input took in each draw.
    pub inputs: Vec<Vec<f64>>,
    /// Draw indices skipped for non-finite outcomes.
    pub skipped: Vec<u64>,
}

impl Draws {
    /// Free the outcome, whole-year delay and breakeven columns and the columns of every input
    /// but `inputs`, keeping those (and `n`): what a streamed run's pilot still needs once pass 1
    /// has summarised its blocks (the achieved correlations read its correlated inputs).
    pub fn keep_inputs_only(&mut self, inputs: &[usize]) {
        for (i, c) in self.inputs.iter_mut().enumerate() {
            if !inputs.contains(&i) {
                *c = Vec::new();
            }
        }
        for c in self.outcomes.iter_mut() {
            *c = Vec::new();
        }
        for c in self.delay_whole.iter_mut().chain(self.breakeven.iter_mut()) {
            *c = Vec::new();
        }
    }

    /// A copy of the first `rows` rows (with every skipped draw index).
    pub fn clone_rows(&self, rows: usize) -> Draws {
        let rows = rows.min(self.n);
        Draws {
            n: rows,
            outcomes: self.outcomes.iter().map(|c| c[..rows].to_vec()).collect(),
            delay_whole: self
                .delay_whole
                .iter()
                .map(|c| c[..rows].to_vec())
                .collect(),
            breakeven: self.breakeven.iter().map(|c| c[..rows].to_vec()).collect(),
            inputs: self.inputs.iter().map(|c| c[..rows].to_vec()).collect(),
            skipped: self.skipped.clone(),
        }
    }

    /// The outcome columns as one `ndarray` matrix, a row per kept draw and a column per outcome
    /// in the engine's layout ([`Plan::outcome_name`] names column `c`), for analysis with the
    /// ndarray ecosystem. A copy, in row-major order.
    pub fn outcome_matrix(&self) -> ndarray::Array2<f64> {
        columns_to_matrix(&self.outcomes, self.n)
    }

    /// The inputs' first values as one `ndarray` matrix, a row per kept draw and a column per
    /// uncertain input in the distribution set's order. A copy, in row-major order.
    pub fn input_matrix(&self) -> ndarray::Array2<f64> {
        columns_to_matrix(&self.inputs, self.n)
    }

    /// Append the draws that follow these ones (e.g. the next shard's blocks).
    pub fn append(&mut self, mut other: Draws) {
        self.n += other.n;
        for (a, b) in self.outcomes.iter_mut().zip(&mut other.outcomes) {
            a.append(b);
        }
        for (a, b) in self.delay_whole.iter_mut().zip(&mut other.delay_whole) {
            a.append(b);
        }
        for (a, b) in self.breakeven.iter_mut().zip(&mut other.breakeven) {
            a.append(b);
        }
        for (a, b) in self.inputs.iter_mut().zip(&mut other.inputs) {
            a.append(b);
        }
        self.skipped.append(&mut other.skipped);
    }
}

/// Columns of `n` values each as an `n × columns` matrix.
fn columns_to_matrix(cols: &[Vec<f64>], n: usize) -> ndarray::Array2<f64> {
    ndarray::Array2::from_shape_fn((n, cols.len()), |(r, c)| cols[c][r])
}

/// Reusable scratch space of one worker.
#[derive(Debug, Default)]
struct Workspace {
    themes: Vec<ThemeEval>,
    /// Whether `themes[t]` holds the plan's precomputed evaluation of an untouched theme.
    holds_constant: Vec<bool>,
    total: TotalEval,
    slid: Vec<f64>,
    local: LocalEval,
    batch: BatchScratch,
}

/// One theme's columns over a batch ([`Plan::evaluate_batch`]).
#[derive(Debug, Default)]
struct ThemeBatch {
    gross: Vec<f64>,
    scaled: Vec<f64>,
    uplift: Vec<f64>,
    delay: Vec<f64>,
    /// Year by year, each year's draws together.
    fixed: Vec<f64>,
    discounted_net: Vec<f64>,
    npv: Vec<f64>,
    pv_benefits: Vec<f64>,
    pv_costs: Vec<f64>,
    breakeven: Vec<u32>,
    /// Partner by partner (`p·m + j`), when an input moves them.
    shares: Vec<f64>,
}

/// Scratch space of [`Plan::evaluate_batch`].
#[derive(Debug, Default)]
struct BatchScratch {
    themes: Vec<ThemeBatch>,
    total: TotalBlock,
    partners: Vec<f64>,
    /// A theme's constant NPV for every draw of the batch.
    npv: Vec<f64>,
    slid: Vec<f64>,
    frac: Vec<f64>,
    cum: Vec<f64>,
}

/// Scratch space of one worker's sampling: a batch of draws, input by input.
#[derive(Debug)]
struct SampleScratch {
    /// One row of [`BATCH`] uniforms per stream, then one row of normal scores per correlated
    /// stream.
    u: Vec<f64>,
    /// The copula's sums (normal scores), one row of [`BATCH`] per correlated stream.
    s: Vec<f64>,
    /// Per input: `BATCH` draws of its `width` values, draw by draw.
    values: Vec<Vec<f64>>,
}

/// The uniforms `Φ(z)` of a copula's normal scores `z`, kept strictly inside (0, 1) so that
/// every quantile function stays finite.
fn copula_uniforms(z: &[f64], u: &mut [f64]) {
    std_normal_cdfs_interp(z, u);
    for u in u {
        *u = u.clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
    }
}

/// One block's share of the output columns.
struct BlockSlices<'a> {
    outcomes: Vec<&'a mut [f64]>,
    delay_whole: Vec<&'a mut [u8]>,
    breakeven: Vec<&'a mut [u8]>,
    inputs: Vec<&'a mut [f64]>,
    kept: &'a mut [bool],
}

/// `bad[j]`: whether any of the columns of `BATCH` values in `out` holds a NaN or a value beyond
/// ±[`MAX_OUTCOME`] in row `j`, for the first `m` rows.
fn flag_bad(out: &[f64], m: usize, bad: &mut [bool; BATCH]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above).
        unsafe { flag_bad_avx2(out, m, bad) };
        return;
    }
    flag_bad_portable(out, m, bad);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn flag_bad_avx2(out: &[f64], m: usize, bad: &mut [bool; BATCH]) {
    flag_bad_portable(out, m, bad);
}

// Always inlined, so that `flag_bad_avx2` compiles it for AVX2.
#[inline(always)]
fn flag_bad_portable(out: &[f64], m: usize, bad: &mut [bool; BATCH]) {
    bad[..m].fill(false);
    for col in out.chunks_exact(BATCH) {
        for (b, v) in bad[..m].iter_mut().zip(col) {
            *b |= v.is_nan() | (v.abs() > MAX_OUTCOME);
        }
    }
}

/// A moved theme's gross benefit, scaled cost, cost uplift and delay for the `m` draws of a batch
/// ([`Amounts`]): each of its [`PLAIN`] numbers from its input's values (`src`, in that order)
/// or the scenario's (`th`), its cohort from `cohort`.
#[inline(always)]
fn fill_amounts(
    b: &mut ThemeBatch,
    m: usize,
    th: &crate::model::ThemeInputs,
    src: &[Option<&[f64]>; PLAIN.len()],
    cohort: impl Fn(usize) -> Option<f64>,
) {
    let at = |f: usize, j: usize, v: f64| src[f].map_or(v, |c| c[j]);
    for j in 0..m {
        let a = Amounts {
            cohort: cohort(j),
            volume: at(const { slot(ThemeField::Volume) }, j, th.volume),
            engagement: at(const { slot(ThemeField::Engagement) }, j, th.engagement),
            gross_benefit: at(
                const { slot(ThemeField::GrossBenefit) },
                j,
                th.gross_benefit,
            ),
            realisation: at(const { slot(ThemeField::Realisation) }, j, th.realisation),
            cashability: at(const { slot(ThemeField::Cashability) }, j, th.cashability),
            optimism_bias_benefit: at(
                const { slot(ThemeField::OptimismBiasBenefit) },
                j,
                th.optimism_bias_benefit,
            ),
            optimism_bias_cost: at(
                const { slot(ThemeField::OptimismBiasCost) },
                j,
                th.optimism_bias_cost,
            ),
            scaled_cost: at(const { slot(ThemeField::ScaledCost) }, j, th.scaled_cost),
        };
        b.gross[j] = a.full_gross_bn();
        b.scaled[j] = a.full_scaled_cost_bn();
        b.uplift[j] = 1.0 + a.optimism_bias_cost;
        b.delay[j] = at(const { slot(ThemeField::Delay) }, j, th.delay_years);
    }
}

/// Make `c` hold `n` values (their contents are overwritten by the caller). A column that must
/// grow beyond its capacity is allocated afresh as zeros, which the allocator maps without
/// writing them, so its pages are first touched by the threads that fill its blocks, in
/// parallel, instead of all by this thread in `resize`.
fn grow_to<T: Copy + Default>(c: &mut Vec<T>, n: usize) {
    if c.capacity() < n {
        *c = vec![T::default(); n];
    } else {
        c.resize(n, T::default());
    }
}

/// `c` resized to its first `base` rows and `n` more, keeping those `base` (with `base` = 0, as
/// [`grow_to`]).
fn grow_after<T: Copy + Default>(c: &mut Vec<T>, base: usize, n: usize) {
    if base == 0 {
        grow_to(c, n);
    } else {
        c.truncate(base);
        c.resize(base + n, T::default());
    }
}

/// Split columns past their first `base` rows into per-block slices (block b gets rows
/// `base + b·size..`).
fn split_columns<T>(
    cols: &mut [Vec<T>],
    base: usize,
    size: usize,
    blocks: usize,
) -> Vec<Vec<&mut [T]>> {
    let mut per: Vec<Vec<&mut [T]>> = (0..blocks)
        .map(|_| Vec::with_capacity(cols.len()))
        .collect();
    for col in cols.iter_mut() {
        for (b, chunk) in col[base..].chunks_mut(size).enumerate() {
            per[b].push(chunk);
        }
    }
    per
}

impl Plan {
    /// Prepare a run of `model` in `scenario` with distribution set `set`. Fails when two
    /// correlated inputs share a stream (they already move together).
    pub fn new(model: ModelSpec, scenario: usize, set: DistSet) -> Result<Plan, Error> {
        let template = model.inputs(scenario);
        // Sobol dimensions: the position of each stream among the sorted distinct streams.
        let mut streams: Vec<String> = set.inputs.iter().map(|i| i.stream.clone()).collect();
        streams.sort();
        streams.dedup();
        let dims = streams
            .iter()
            .enumerate()
            .map(|(k, s)| Dimension {
                stream: path_key(s),
                index: k as u32,
            })
            .collect();
        let input_stream: Vec<usize> = set
            .inputs
            .iter()
            .map(|i| streams.iter().position(|s| *s == i.stream).unwrap())
            .collect();
        let corr_streams: Vec<usize> = match &set.correlation {
            None => Vec::new(),
            Some(c) => c.inputs.iter().map(|&i| input_stream[i]).collect(),
        };
        for (a, sa) in corr_streams.iter().enumerate() {
            if corr_streams[..a].contains(sa) {
                return Err(Error::Input(format!(
                    "correlated inputs share the stream `{}`; inputs on one stream already move together, so correlate only one of them",
                    streams[*sa]
                )));
            }
        }
        let corr_row: Vec<Option<usize>> = (0..streams.len())
            .map(|k| corr_streams.iter().position(|&c| c == k))
            .collect();
        let scored: Vec<Option<usize>> = set
            .inputs
            .iter()
            .zip(&input_stream)
            .map(|(i, &k)| corr_row[k].filter(|_| i.dist.samples_from_scores()))
            .collect();
        let corr_uniform = corr_streams
            .iter()
            .map(|k| (0..set.inputs.len()).any(|i| input_stream[i] == *k && scored[i].is_none()))
            .collect();
        let mut entities: Vec<String> = model.themes.iter().map(|t| t.id.clone()).collect();
        entities.push("total".into());
        let touched = |ti: usize| {
            set.inputs.iter().any(|i| match i.param.target {
                Target::DiscountRate(_) => true,
                Target::Theme(t, _) => t == ti,
            })
        };
        let moves_profile = |ti: usize| {
            set.inputs.iter().any(|i| match i.param.target {
                Target::DiscountRate(_) => true,
                // A theme that lists outcomes compiles its profile from every outcome input.
                Target::Theme(t, f) => {
                    t == ti
                        && (matches!(f, ThemeField::Profile(_))
                            || template.themes[ti].local.is_some())
                }
            })
        };
        let df = &template.discount_factors;
        let slid: Vec<Option<Vec<f64>>> = (0..template.themes.len())
            .map(|ti| {
                (!moves_profile(ti)).then(|| {
                    let mut v = Vec::new();
                    slid_profile_pv(&template.themes[ti], df, &mut v);
                    v
                })
            })
            .collect();
        // An untouched theme's profile and rates are the template's, so its table is in `slid`.
        let constant: Vec<Option<ThemeEval>> = (0..template.themes.len())
            .map(|ti| {
                (!touched(ti)).then(|| {
                    let mut e = ThemeEval::default();
                    let table = slid[ti]
                        .as_ref()
                        .expect("untouched themes keep their profile");
                    e.compute(&template.themes[ti], df, table);
                    e
                })
            })
            .collect();
        let mut resets: Vec<Restore> = set
            .inputs
            .iter()
            .filter_map(|i| Restore::of(i.param.target))
            .collect();
        resets.sort_unstable();
        resets.dedup();
        let local = model.themes.iter().any(|t| t.local.is_some());
        let h = df.len();
        let profiles: Vec<Option<Padded>> = (0..template.themes.len())
            .map(|ti| {
                slid[ti]
                    .is_some()
                    .then(|| Padded::new(&template.themes[ti].profile, h))
            })
            .collect();
        let shares_move = (0..template.themes.len())
            .map(|ti| resets.contains(&Restore::Shares(ti)))
            .collect();
        let costs_move = (0..template.themes.len())
            .map(|ti| {
                set.inputs.iter().any(|i| {
                    matches!(i.param.target,
                        Target::Theme(t, ThemeField::OneOff(_) | ThemeField::Ongoing(_)) if t == ti)
                })
            })
            .collect();
        let batched = !local
            && (0..template.themes.len()).all(|ti| constant[ti].is_some() || slid[ti].is_some());
        let n_t = template.themes.len();
        let mut plain = vec![[None; PLAIN.len()]; if batched { n_t } else { 0 }];
        let mut others = Vec::new();
        for (k, i) in set.inputs.iter().enumerate() {
            match i.param.target {
                Target::Theme(ti, f) if batched && plain_slot(f).is_some() => {
                    plain[ti][slot(f)] = Some(k);
                }
                _ => others.push(k),
            }
        }
        Ok(Plan {
            plain,
            others,
            profiles,
            shares_move,
            costs_move,
            batched,
            local,
            model,
            scenario,
            set,
            template,
            dims,
            input_stream,
            corr_streams,
            corr_row,
            scored,
            corr_uniform,
            constant,
            slid,
            resets,
            entities,
        })
    }

    /// Where each outcome column is.
    pub fn layout(&self) -> Layout {
        Layout {
            entities: self.entities.len(),
            partners: self.model.partners.len(),
            local: self.local,
        }
    }

    /// Number of outcome columns.
    pub fn n_outcomes(&self) -> usize {
        self.layout().n_columns()
    }

    /// Name of an outcome column, e.g. `total.npv` or `partner.DH.npv`.
    pub fn outcome_name(&self, c: usize) -> String {
        let partner = |p: usize| &self.model.partners[p].id;
        match self.layout().column(c) {
            Column::Entity(e, m) => format!("{}.{}", self.entities[e], ENTITY_MEASURES[m as usize]),
            Column::PartnerNpv(p) => format!("partner.{}.npv", partner(p)),
            Column::Local(e, m) => format!("{}.{}", self.entities[e], LOCAL_MEASURES[m as usize]),
            Column::BudgetImpact(p) => format!("partner.{}.budget_impact", partner(p)),
        }
    }

    /// Scratch space for [`Plan::sample_batch`] on batches of up to [`BATCH`] draws.
    fn sample_scratch(&self) -> SampleScratch {
        SampleScratch {
            u: vec![0.0; (self.dims.len() + self.corr_streams.len()) * BATCH],
            s: vec![0.0; self.corr_streams.len() * BATCH],
            values: self
                .set
                .inputs
                .iter()
                .map(|i| vec![0.0; i.param.width() * BATCH])
                .collect(),
        }
    }

    /// Sample draws `start..start + m` (`m ≤ BATCH`) up to `stage`, input by input over the
    /// batch: each stream's uniforms, then the copula (its normal scores, and their uniforms for
    /// the inputs that read them), then each input's values (`values[k][j·w..(j + 1)·w]` for
    /// draw `start + j`, as drawn, in the input's unit). Every value is the same, bit for bit,
    /// as sampling the draws one at a time.
    fn sample_batch(
        &self,
        sampler: &Sampler,
        start: u64,
        m: usize,
        s: &mut SampleScratch,
        stage: Floor,
    ) {
        let n_dims = self.dims.len();
        let (u, z) = s.u.split_at_mut(n_dims * BATCH);
        for (k, d) in self.dims.iter().enumerate() {
            sampler.uniforms(d, start, &mut u[k * BATCH..k * BATCH + m]);
        }
        if stage == Floor::Uniforms {
            return;
        }
        if let Some(c) = &self.set.correlation {
            // Gaussian copula: normal scores, mixed by the factor of the normal correlation
            // (each draw's sum taken in the same order as one draw at a time).
            for (zj, &k) in z.chunks_exact_mut(BATCH).zip(&self.corr_streams) {
                std_normal_quantiles(&u[k * BATCH..k * BATCH + m], &mut zj[..m]);
            }
            for (row, &k) in self.corr_streams.iter().enumerate() {
                let acc = &mut s.s[row * BATCH..row * BATCH + m];
                acc.fill(0.0);
                for (f, zj) in c.factor[row].iter().zip(z.chunks_exact(BATCH)) {
                    // A zero entry (a block-diagonal correlation has many) adds ±0 to a sum that
                    // starts at +0 and so is never −0: it changes nothing and is skipped. (The
                    // scores are finite: the uniforms are inside (0, 1).)
                    if *f == 0.0 {
                        continue;
                    }
                    for (a, z) in acc.iter_mut().zip(&zj[..m]) {
                        *a += f * z;
                    }
                }
                // The uniforms, for the stream's inputs that read them; the others take the
                // scores (`scored`).
                if self.corr_uniform[row] {
                    copula_uniforms(acc, &mut u[k * BATCH..k * BATCH + m]);
                }
            }
        }
        if stage == Floor::Copula {
            return;
        }
        for (((input, &k), v), scored) in self
            .set
            .inputs
            .iter()
            .zip(&self.input_stream)
            .zip(&mut s.values)
            .zip(&self.scored)
        {
            let w = input.param.width();
            match *scored {
                Some(row) => {
                    let z = &s.s[row * BATCH..row * BATCH + m];
                    let done = input.dist.values_batch_at_scores(z, &mut v[..m * w]);
                    assert!(done, "a scored input samples from scores");
                }
                None => input
                    .dist
                    .values_batch(&u[k * BATCH..k * BATCH + m], &mut v[..m * w]),
            }
        }
    }

    /// Draw `start + j` of the last [`Plan::sample_batch`] written into `work`, its values
    /// converted to the engine's units in `s.values` (see [`Plan::to_engine_batch`]).
    fn apply_draw(&self, s: &SampleScratch, j: usize, work: &mut Inputs) {
        for r in &self.resets {
            r.restore(work, &self.template);
        }
        for (input, v) in self.set.inputs.iter().zip(&s.values) {
            let w = input.param.width();
            apply(work, input.param.target, &v[j * w..(j + 1) * w]);
        }
    }

    /// Convert the first `m` draws' values of a batch to the engine's units, in place.
    fn to_engine_batch(&self, s: &mut SampleScratch, m: usize) {
        for (input, v) in self.set.inputs.iter().zip(&mut s.values) {
            input.param.to_engine(&mut v[..m * input.param.width()]);
        }
    }

    /// Evaluate one draw's inputs into `out` (continuous outcomes) and the discrete outcomes,
    /// with the kernel ([`crate::kernel`]) that `model::evaluate` uses.
    ///
    /// `cached`: whether `x` is a draw of this plan's scenario, so that themes no input touches
    /// can take their precomputed evaluation and themes whose profile and discount rate no input
    /// moves their precomputed slid profile PVs.
    fn evaluate(
        &self,
        x: &Inputs,
        cached: bool,
        out: &mut [f64],
        delay_whole: &mut [u8],
        be: &mut [u8],
        ws: &mut Workspace,
    ) {
        let df = &x.discount_factors;
        let n_t = x.themes.len();
        let layout = self.layout();
        let entity = |out: &mut [f64], e: usize, [npv, pvb, delay]: [f64; 3]| {
            out[Layout::entity(e, Measure::Npv)] = npv;
            out[Layout::entity(e, Measure::PvBenefits)] = pvb;
            out[Layout::entity(e, Measure::DelayToZero)] = delay;
        };
        ws.themes.resize_with(n_t, ThemeEval::default);
        ws.holds_constant.resize(n_t, false);
        for (ti, th) in x.themes.iter().enumerate() {
            let e = &mut ws.themes[ti];
            match &self.constant[ti] {
                Some(c) if cached => {
                    if !ws.holds_constant[ti] {
                        e.clone_from(c);
                        ws.holds_constant[ti] = true;
                    }
                }
                _ => {
                    ws.holds_constant[ti] = false;
                    let slid = match &self.slid[ti] {
                        Some(s) if cached => s,
                        _ => {
                            slid_profile_pv(th, df, &mut ws.slid);
                            &ws.slid
                        }
                    };
                    e.compute(th, df, slid);
                }
            }
            entity(out, ti, [e.npv, e.pv_benefits, e.delay.exact_years]);
            delay_whole[ti] = e.delay.whole_years as u8;
            be[ti] = e.breakeven.unwrap_or(0) as u8;
        }
        let partners = &mut out[layout.partner_npv(0)..layout.local_base()];
        partners.fill(0.0);
        for (ti, th) in x.themes.iter().enumerate() {
            if x.headline[ti] {
                add_partner_npvs(partners, &th.partner_shares, ws.themes[ti].npv);
            }
        }
        ws.total.compute(&ws.themes, &x.headline);
        let t = &ws.total;
        entity(out, n_t, [t.npv, t.pv_benefits, t.delay.exact_years]);
        delay_whole[n_t] = t.delay.whole_years as u8;
        be[n_t] = t.breakeven.unwrap_or(0) as u8;
        if self.local {
            let evals = &ws.themes;
            ws.local.compute(
                &x.themes,
                &x.headline,
                df,
                |t| (evals[t].npv, evals[t].pv_benefits, evals[t].pv_costs),
                self.model.partners.len(),
            );
            let l = &ws.local;
            for e in 0..=n_t {
                out[layout.local(e, LocalMeasure::PublicValueNpv)] = l.public_npv[e];
                out[layout.local(e, LocalMeasure::PublicValueBcr)] = l.bcr[e];
                out[layout.local(e, LocalMeasure::Roi)] = l.roi[e];
            }
            for (p, v) in l.budget_impact.iter().enumerate() {
                out[layout.budget_impact(p)] = *v;
            }
        }
    }

    /// Evaluate the first `m` draws of the last [`Plan::sample_batch`] (converted to the engine's
    /// units) column by column, each theme's draws together through the kernel
    /// ([`theme_flows`], [`TotalBlock`]): outcome `c` of draw `j` into `out[c·BATCH + j]`, and
    /// entity `e`'s whole-year delay-to-zero and breakeven year into `delay_whole[e·BATCH + j]`
    /// and `be[e·BATCH + j]`. Each draw's figures are the bits [`Plan::evaluate`] gives it
    /// (the same operations in the same order). Only for a plan that is [`Plan::batched`].
    fn evaluate_batch(
        &self,
        s: &SampleScratch,
        m: usize,
        work: &mut Inputs,
        bs: &mut BatchScratch,
        (out, delay_whole, be): (&mut [f64], &mut [u8], &mut [u8]),
    ) {
        let df = &self.template.discount_factors;
        let h = df.len();
        let n_t = self.template.themes.len();
        let n_p = self.model.partners.len();
        let layout = self.layout();
        bs.themes.resize_with(n_t, ThemeBatch::default);
        for (ti, b) in bs.themes.iter_mut().enumerate() {
            if self.constant[ti].is_some() {
                continue;
            }
            for v in [
                &mut b.gross,
                &mut b.scaled,
                &mut b.uplift,
                &mut b.delay,
                &mut b.npv,
                &mut b.pv_benefits,
                &mut b.pv_costs,
            ] {
                v.resize(m, 0.0);
            }
            let laid_out = b.fixed.len() == h * m;
            b.fixed.resize(h * m, 0.0);
            if !self.costs_move[ti] && !laid_out {
                // The scenario's costs for every draw, written when the batch's size changes
                // (they stay from the batch before otherwise).
                let th = &self.template.themes[ti];
                for (t, year) in b.fixed.chunks_exact_mut(m).enumerate() {
                    year.fill(th.one_off_costs_bn[t] + th.ongoing_costs_bn[t]);
                }
            }
            b.discounted_net.resize(h * m, 0.0);
            b.breakeven.resize(m, 0);
            if self.shares_move[ti] {
                b.shares.resize(n_p * m, 0.0);
            }
        }
        // The inputs other than the themes' plain numbers applied to `work` as one draw at a time
        // applies them, then what the kernel reads of them gathered into each moved theme's
        // columns.
        for j in 0..m {
            for r in &self.resets {
                r.restore(work, &self.template);
            }
            for &k in &self.others {
                let w = self.set.inputs[k].param.width();
                apply(
                    work,
                    self.set.inputs[k].param.target,
                    &s.values[k][j * w..(j + 1) * w],
                );
            }
            for (ti, b) in bs.themes.iter_mut().enumerate() {
                if self.constant[ti].is_some() {
                    continue;
                }
                let th = &work.themes[ti];
                if self.costs_move[ti] {
                    for t in 0..h {
                        b.fixed[t * m + j] = th.one_off_costs_bn[t] + th.ongoing_costs_bn[t];
                    }
                }
                if self.shares_move[ti] {
                    for (p, v) in th.partner_shares.iter().enumerate() {
                        b.shares[p * m + j] = *v;
                    }
                }
            }
        }
        // Each moved theme's plain numbers: its inputs' values, or the scenario's.
        for (ti, b) in bs.themes.iter_mut().enumerate() {
            if self.constant[ti].is_some() {
                continue;
            }
            let th = &self.template.themes[ti];
            let src = self.plain[ti].map(|k| k.map(|k| &s.values[k][..m]));
            // A loop of its own for each kind of cohort: with one loop for every theme, forming
            // the cohort product for each draw (the two arms of `Amounts::scale` selected rather
            // than branched on) took a quarter of the batches' time in a profile of the peer
            // configuration, for reasons the profile does not show.
            match (src[const { slot(ThemeField::Cohort) }], th.cohort) {
                (Some(c), _) => fill_amounts(b, m, th, &src, |j| Some(c[j])),
                (None, Some(c)) => fill_amounts(b, m, th, &src, |_| Some(c)),
                (None, None) => fill_amounts(b, m, th, &src, |_| None),
            }
        }
        /// Column `c` of a batch's `m` draws, in a batch laid out column by column.
        fn col<T>(batch: &mut [T], c: usize, m: usize) -> &mut [T] {
            &mut batch[c * BATCH..c * BATCH + m]
        }
        for (ti, b) in bs.themes.iter_mut().enumerate() {
            let [c_npv, c_pvb, c_delay] = Measure::ALL.map(|x| Layout::entity(ti, x));
            let (dw, years) = (col(delay_whole, ti, m), col(be, ti, m));
            if let Some(c) = &self.constant[ti] {
                col(out, c_npv, m).fill(c.npv);
                col(out, c_pvb, m).fill(c.pv_benefits);
                col(out, c_delay, m).fill(c.delay.exact_years);
                dw.fill(c.delay.whole_years as u8);
                years.fill(c.breakeven.unwrap_or(0) as u8);
                continue;
            }
            let (Some(unit), Some(profile)) = (&self.slid[ti], &self.profiles[ti]) else {
                unreachable!("a batched plan keeps every moved theme's profile");
            };
            let cols = ThemeCols {
                gross: &b.gross,
                scaled: &b.scaled,
                uplift: &b.uplift,
                delay: &b.delay,
                fixed: &b.fixed,
            };
            let flows = ThemeFlows {
                npv: &mut b.npv,
                pv_benefits: &mut b.pv_benefits,
                pv_costs: &mut b.pv_costs,
                discounted_net: &mut b.discounted_net,
                gross: &mut [],
                costs: &mut [],
            };
            theme_flows(&cols, profile, df, flows, &mut bs.slid, &mut bs.frac);
            bs.cum.resize(m, 0.0);
            breakeven_block(&b.discounted_net, m, &mut bs.cum, &mut b.breakeven);
            let delays = col(out, c_delay, m);
            for j in 0..m {
                let d = theme_delay_to_zero(
                    Slid::new(unit, b.gross[j]),
                    b.delay[j],
                    b.pv_costs[j],
                    b.npv[j],
                    h,
                );
                delays[j] = d.exact_years;
                dw[j] = d.whole_years as u8;
            }
            col(out, c_npv, m).copy_from_slice(&b.npv[..m]);
            col(out, c_pvb, m).copy_from_slice(&b.pv_benefits[..m]);
            for (to, &y) in years.iter_mut().zip(&b.breakeven[..m]) {
                *to = y as u8;
            }
        }
        // The partners' NPVs: each draw's shares of the headline themes' NPVs, in theme order
        // (partner by partner, each partner's draws together).
        bs.partners.clear();
        bs.partners.resize(m * n_p, 0.0);
        let headline = &self.template.headline;
        for (ti, b) in bs.themes.iter().enumerate() {
            if !headline[ti] || n_p == 0 {
                continue;
            }
            let fixed_shares = &self.template.themes[ti].partner_shares;
            let (npv, shares, each) = match &self.constant[ti] {
                Some(c) => {
                    bs.npv.clear();
                    bs.npv.resize(m, c.npv);
                    (&bs.npv, fixed_shares, 0)
                }
                None if self.shares_move[ti] => (&b.npv, &b.shares, 1),
                None => (&b.npv, fixed_shares, 0),
            };
            add_partner_npvs_block(&mut bs.partners, m, shares, each, npv);
        }
        for (p, row) in bs.partners.chunks_exact(m).enumerate() {
            col(out, layout.partner_npv(p), m).copy_from_slice(row);
        }
        let parts = bs
            .themes
            .iter()
            .enumerate()
            .filter(|(ti, _)| headline[*ti])
            .map(|(ti, b)| match &self.constant[ti] {
                Some(c) => c.part(),
                None => TotalPart {
                    npv: &b.npv,
                    pv_benefits: &b.pv_benefits,
                    pv_costs: &b.pv_costs,
                    discounted_net: &b.discounted_net,
                    own_delay: &b.delay,
                    gross: &b.gross,
                    unit: self.slid[ti].as_deref().unwrap_or(&[]),
                    each: 1,
                },
            });
        let t = &mut bs.total;
        t.compute(parts, m, h);
        let [c_npv, c_pvb, c_delay] = Measure::ALL.map(|x| Layout::entity(n_t, x));
        col(out, c_npv, m).copy_from_slice(&t.npv[..m]);
        col(out, c_pvb, m).copy_from_slice(&t.pv_benefits[..m]);
        let (dw, years) = (col(delay_whole, n_t, m), col(be, n_t, m));
        let delays = col(out, c_delay, m);
        for (j, d) in t.delay[..m].iter().enumerate() {
            delays[j] = d.exact_years;
            dw[j] = d.whole_years as u8;
            years[j] = t.breakeven[j] as u8;
        }
    }

    /// Fill one block's rows. Returns the draw indices whose outcome was not finite (only when
    /// `skip` is set; otherwise the first one is an error).
    ///
    /// Draws are evaluated in batches of [`BATCH`] rows into a scratch buffer (column by column,
    /// `BATCH` rows each), then written to the block's columns: one contiguous run per column instead of a store into every
    /// column per draw (the columns are page-aligned, so per-draw stores into all of them alias
    /// in the cache).
    fn run_block(
        &self,
        sampler: &Sampler,
        start: u64,
        cols: BlockSlices,
        skip: bool,
    ) -> Result<Vec<u64>, RunError> {
        let n_ent = self.entities.len();
        let n_out = self.n_outcomes();
        let mut work = self.template.clone();
        let mut sample = self.sample_scratch();
        let mut ws = Workspace::default();
        let mut skipped = Vec::new();
        // One batch's outcomes, whole-year delays and breakeven years, column by column
        // (`BATCH` rows each), and one draw's outcomes.
        let mut b_out = vec![0.0; BATCH * n_out];
        let mut b_dw = vec![0u8; BATCH * n_ent];
        let mut b_be = vec![0u8; BATCH * n_ent];
        let mut row = vec![0.0; n_out];
        let (mut row_dw, mut row_be) = (vec![0u8; n_ent], vec![0u8; n_ent]);
        let mut bad = [false; BATCH];
        let BlockSlices {
            mut outcomes,
            mut delay_whole,
            mut breakeven,
            mut inputs,
            kept,
        } = cols;
        let rows = kept.len();
        let mut r0 = 0;
        while r0 < rows {
            let m = BATCH.min(rows - r0);
            let i0 = start + r0 as u64;
            self.sample_batch(sampler, i0, m, &mut sample, Floor::Quantiles);
            // The input columns keep each input's first value as drawn (−0 written as +0), before
            // unit conversion.
            for ((col, input), v) in inputs.iter_mut().zip(&self.set.inputs).zip(&sample.values) {
                let w = input.param.width();
                for (c, v) in col[r0..r0 + m].iter_mut().zip(v.chunks_exact(w)) {
                    *c = one_zero(v[0]);
                }
            }
            self.to_engine_batch(&mut sample, m);
            if self.batched {
                self.evaluate_batch(
                    &sample,
                    m,
                    &mut work,
                    &mut ws.batch,
                    (&mut b_out, &mut b_dw, &mut b_be),
                );
            } else {
                for j in 0..m {
                    self.apply_draw(&sample, j, &mut work);
                    self.evaluate(&work, true, &mut row, &mut row_dw, &mut row_be, &mut ws);
                    for (c, v) in row.iter().enumerate() {
                        b_out[c * BATCH + j] = *v;
                    }
                    for e in 0..n_ent {
                        b_dw[e * BATCH + j] = row_dw[e];
                        b_be[e * BATCH + j] = row_be[e];
                    }
                }
            }
            // Every outcome checked without a branch per value; a draw's first offending one is
            // searched for only when there is one.
            let is_bad = |v: f64| v.is_nan() | (v.abs() > MAX_OUTCOME);
            flag_bad(&b_out, m, &mut bad);
            for j in 0..m {
                let r = r0 + j;
                kept[r] = !bad[j];
                if !bad[j] {
                    continue;
                }
                if skip {
                    skipped.push(i0 + j as u64);
                    continue;
                }
                let c = (0..n_out)
                    .find(|c| is_bad(b_out[c * BATCH + j]))
                    .unwrap_or_default();
                return Err(RunError::NonFinite {
                    draw: i0 + j as u64,
                    inputs: self
                        .set
                        .inputs
                        .iter()
                        .zip(&inputs)
                        .map(|(inp, col)| (inp.param.path.clone(), col[r]))
                        .collect(),
                    measure: self.outcome_name(c),
                    over_costs: matches!(
                        self.layout().column(c),
                        Column::Local(_, LocalMeasure::PublicValueBcr | LocalMeasure::Roi)
                    ),
                });
            }
            // Skipped rows are written too (they are dropped afterwards by `kept`).
            for (col, b) in outcomes.iter_mut().zip(b_out.chunks_exact(BATCH)) {
                for (v, x) in col[r0..r0 + m].iter_mut().zip(b) {
                    *v = one_zero(*x);
                }
            }
            for e in 0..n_ent {
                delay_whole[e][r0..r0 + m].copy_from_slice(&b_dw[e * BATCH..e * BATCH + m]);
                breakeven[e][r0..r0 + m].copy_from_slice(&b_be[e * BATCH..e * BATCH + m]);
            }
            r0 += m;
        }
        Ok(skipped)
    }

    /// Run all draws. `progress` is called with the number of draws finished in each block.
    pub fn run(
        &self,
        opts: &RunOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Draws, RunError> {
        let blocks = Self::block_count(opts)?;
        self.run_blocks(opts, 0, blocks, progress)
    }

    /// Number of blocks of a run (checks the options).
    pub fn block_count(opts: &RunOptions) -> Result<u64, RunError> {
        if opts.draws == 0 {
            return Err(RunError::Options("`draws` = 0: must be at least 1".into()));
        }
        if opts.block_size == 0 {
            return Err(RunError::Options(
                "`block_size` = 0: must be at least 1".into(),
            ));
        }
        Ok(opts.draws.div_ceil(opts.block_size.min(opts.draws)))
    }

    /// Run blocks `first..end` of a run (rows `first·size` up to `end·size` or the last draw).
    /// The rows are exactly those a full run computes for these blocks, bit for bit.
    pub fn run_blocks(
        &self,
        opts: &RunOptions,
        first: u64,
        end: u64,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Draws, RunError> {
        let mut d = self.empty_draws();
        let mut kept = Vec::new();
        self.run_blocks_into(opts, first, end, progress, &mut d, &mut kept)?;
        Ok(d)
    }

    /// [`Plan::run_blocks`] into `d` (which must have this plan's layout), reusing its columns'
    /// memory: a pass over many chunks touches its pages once, not once per chunk. `kept` is
    /// scratch space.
    pub fn run_blocks_into(
        &self,
        opts: &RunOptions,
        first: u64,
        end: u64,
        progress: &(dyn Fn(u64) + Sync),
        d: &mut Draws,
        kept: &mut Vec<bool>,
    ) -> Result<(), RunError> {
        d.n = 0;
        d.skipped.clear();
        self.run_blocks_onto(opts, first, end, progress, d, kept)
    }

    /// [`Plan::run_blocks`] appended to `d`, which holds the kept draws of the blocks before
    /// `first` (a pilot that grows; none for [`Plan::run_blocks_into`]): the blocks' rows are
    /// written after its own, in its columns, rather than into columns of their own that are
    /// then copied. `kept` is scratch space.
    pub fn run_blocks_onto(
        &self,
        opts: &RunOptions,
        first: u64,
        end: u64,
        progress: &(dyn Fn(u64) + Sync),
        d: &mut Draws,
        kept: &mut Vec<bool>,
    ) -> Result<(), RunError> {
        let base = d.n;
        let total_blocks = Self::block_count(opts)?;
        if first >= end || end > total_blocks {
            return Err(RunError::Options(format!(
                "blocks {first}..{end} are not inside the run's {total_blocks} blocks"
            )));
        }
        let sampler = Sampler::new(opts.sampler, opts.seed, opts.draws)
            .map_err(|e| RunError::Options(e.to_string()))?;
        sampler
            .check_dimensions(self.dims.len())
            .map_err(|e| RunError::Options(e.to_string()))?;
        let too_many = || {
            RunError::Options(format!(
                "`draws` = {}: too many for this machine's memory",
                opts.draws
            ))
        };
        let size = usize::try_from(opts.block_size.min(opts.draws)).map_err(|_| too_many())?;
        let r0 = usize::try_from(first)
            .map_err(|_| too_many())?
            .checked_mul(size)
            .ok_or_else(too_many)?;
        let r1 = usize::try_from(opts.draws_to(end)).map_err(|_| too_many())?;
        let n = r1 - r0;
        let blocks = n.div_ceil(size);
        // Every row past `base` is written by its block (or dropped below), so old contents
        // may stay.
        d.n = base + n;
        for c in d.outcomes.iter_mut().chain(d.inputs.iter_mut()) {
            grow_after(c, base, n);
        }
        for c in d.delay_whole.iter_mut().chain(d.breakeven.iter_mut()) {
            grow_after(c, base, n);
        }
        kept.clear();
        kept.resize(n, true);
        let results: Vec<Result<Vec<u64>, RunError>> = {
            let outcomes = split_columns(&mut d.outcomes, base, size, blocks);
            let dws = split_columns(&mut d.delay_whole, base, size, blocks);
            let bes = split_columns(&mut d.breakeven, base, size, blocks);
            let ins = split_columns(&mut d.inputs, base, size, blocks);
            let mut slices: Vec<BlockSlices> = Vec::with_capacity(blocks);
            for ((((o, w), b), i), k) in outcomes
                .into_iter()
                .zip(dws)
                .zip(bes)
                .zip(ins)
                .zip(kept.chunks_mut(size))
            {
                slices.push(BlockSlices {
                    outcomes: o,
                    delay_whole: w,
                    breakeven: b,
                    inputs: i,
                    kept: k,
                });
            }
            slices
                .into_par_iter()
                .enumerate()
                .map(|(b, cols)| {
                    let start = (r0 + b * size) as u64;
                    let rows = cols.kept.len() as u64;
                    let r = self.run_block(&sampler, start, cols, opts.skip_nonfinite);
                    progress(rows);
                    r
                })
                .collect()
        };
        let before = d.skipped.len();
        for r in results {
            d.skipped.extend(r?);
        }
        let skipped = d.skipped.len() - before;
        if skipped > 0 {
            // Drop skipped rows (past `base`), keeping draw order.
            fn compact<T: Copy>(col: &mut Vec<T>, base: usize, kept: &[bool]) {
                let mut w = base;
                for (r, &k) in kept.iter().enumerate() {
                    if k {
                        col[w] = col[base + r];
                        w += 1;
                    }
                }
                col.truncate(w);
            }
            for c in d.outcomes.iter_mut().chain(d.inputs.iter_mut()) {
                compact(c, base, kept);
            }
            for c in d.delay_whole.iter_mut().chain(d.breakeven.iter_mut()) {
                compact(c, base, kept);
            }
            d.n = base + n - skipped;
        }
        Ok(())
    }

    /// Refuse a model whose own values (its scenario's, nothing drawn) give an outcome beyond
    /// ±[`MAX_OUTCOME`] (infinite included): an amount out of scale in the model file
    /// `model_file` (text `src`, its parts where `layout` says), which every draw near it would
    /// repeat. The error is located at the theme when the outcome is a theme's. (A NaN is left to
    /// the draws: a ratio over costs that are 0 in the file may have them drawn above 0.)
    pub fn check_point_values(
        &self,
        model_file: &str,
        src: &str,
        layout: &crate::format::Layout,
    ) -> Result<(), Error> {
        let out = self.evaluate_inputs(&self.template);
        let Some(c) = out.iter().position(|v| v.abs() > MAX_OUTCOME) else {
            return Ok(());
        };
        let scenario = &self.model.scenarios[self.scenario];
        let why = "beyond ±1e100 (whose square would overflow the statistics)";
        let theme = match self.layout().column(c) {
            Column::Entity(e, _) | Column::Local(e, _) => {
                self.model.themes.get(e).zip(layout.themes.get(e))
            }
            Column::PartnerNpv(_) | Column::BudgetImpact(_) => None,
        };
        Err(match theme {
            Some((t, part)) => Error::Input(
                crate::error::InputError::value(
                    model_file,
                    src,
                    part.span.start,
                    format!("themes.{}", t.id),
                    format!("{:?}", t.id),
                    format!(
                        "its own values in scenario `{scenario}` give {} = {:.3e}, {why}: an amount of this theme is out of scale",
                        self.outcome_name(c),
                        out[c]
                    ),
                )
                .to_string(),
            ),
            None => Error::Input(format!(
                "`{model_file}`: the model's own values in its scenario `{scenario}` give {} = {:.3e}, {why}: an amount in the file is out of scale; `npvrisk evaluate {model_file}` shows each theme's flows",
                self.outcome_name(c),
                out[c]
            )),
        })
    }

    /// Evaluate arbitrary inputs (e.g. another scenario of the same model) in the engine's layout.
    pub fn evaluate_inputs(&self, x: &Inputs) -> Vec<f64> {
        let mut out = vec![0.0; self.n_outcomes()];
        let mut dw = vec![0u8; self.entities.len()];
        let mut be = vec![0u8; self.entities.len()];
        self.evaluate(
            x,
            false,
            &mut out,
            &mut dw,
            &mut be,
            &mut Workspace::default(),
        );
        out
    }
}

impl Plan {
    /// The RNG floor: generate exactly the variates a run of `opts` draws (uniforms, copula,
    /// quantile transforms) in the same parallel blocks, and do nothing else. Returns a checksum
    /// so the work cannot be optimised away.
    pub fn rng_floor(&self, opts: &RunOptions) -> Result<f64, RunError> {
        self.floor(opts, Floor::Quantiles)
    }

    /// The RNG floor up to `stage` (see [`Floor`]): the same blocks as [`Plan::rng_floor`],
    /// stopping after the raw uniforms, or after the copula, or (the floor itself) after every
    /// input's quantile. Returns a checksum of what was generated.
    pub fn floor(&self, opts: &RunOptions, stage: Floor) -> Result<f64, RunError> {
        let sampler = Sampler::new(opts.sampler, opts.seed, opts.draws)
            .map_err(|e| RunError::Options(e.to_string()))?;
        let blocks = opts.draws.div_ceil(opts.block_size);
        // Per stream, the row of its normal scores where the copula stage gives no uniform.
        let score_rows: Vec<Option<usize>> = self
            .corr_row
            .iter()
            .map(|row| row.filter(|&r| stage == Floor::Copula && !self.corr_uniform[r]))
            .collect();
        let sums: Vec<f64> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let (start, end) = (opts.draws_to(b), opts.draws_to(b + 1));
                let mut s = self.sample_scratch();
                let mut acc = 0.0;
                let mut i0 = start;
                while i0 < end {
                    let m = BATCH.min((end - i0) as usize);
                    self.sample_batch(&sampler, i0, m, &mut s, stage);
                    // Draw by draw, as one draw at a time would add them.
                    if stage == Floor::Quantiles {
                        for j in 0..m {
                            for (input, v) in self.set.inputs.iter().zip(&s.values) {
                                acc += v[j * input.param.width()];
                            }
                        }
                    } else {
                        // Each stream's uniform; after the copula, its normal score instead where
                        // that is all the copula gave (its inputs take the scores).
                        for j in 0..m {
                            acc += score_rows
                                .iter()
                                .enumerate()
                                .map(|(k, row)| match row {
                                    Some(row) => s.s[row * BATCH + j],
                                    None => s.u[k * BATCH + j],
                                })
                                .sum::<f64>();
                        }
                    }
                    i0 += m as u64;
                }
                acc
            })
            .collect();
        Ok(sums.iter().sum())
    }
}

/// How much of a draw's sampling [`Plan::floor`] does: each stage includes the ones before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Floor {
    /// One uniform per random stream, from the counter-based generator and the sampler's design.
    Uniforms,
    /// Then the Gaussian copula of the correlated streams: their normal scores, and the
    /// uniforms of those whose inputs read them (nothing more without correlation). The
    /// checksum takes a stream's score where the copula gave it no uniform.
    Copula,
    /// Then every input's value through its quantile function: the RNG floor.
    Quantiles,
}

/// A factor for one-at-a-time and variance-based sensitivity: one random stream and the inputs
/// that draw from it (usually one input; several when inputs share a `stream`).
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub name: String,
    /// Indices into the plan's inputs.
    pub inputs: Vec<usize>,
}

impl Plan {
    /// The factors of the plan, one per distinct stream, in stream order.
    pub fn factors(&self) -> Vec<Factor> {
        let mut names: Vec<String> = self.set.inputs.iter().map(|i| i.stream.clone()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .enumerate()
            .map(|(k, name)| Factor {
                inputs: (0..self.set.inputs.len())
                    .filter(|&i| self.input_stream[i] == k)
                    .collect(),
                name,
            })
            .collect()
    }

    /// Evaluate with each factor at quantile position `u[k]` (no copula: factors independent),
    /// optionally overriding one input's values, in the engine's outcome layout.
    pub fn evaluate_at(&self, u: &[f64], set_input: Option<(usize, &[f64])>) -> Vec<f64> {
        self.evaluate_with(|k, input, buf| match set_input {
            Some((i, v)) if i == k => buf.copy_from_slice(v),
            _ => input.dist.values(u[self.input_stream[k]], buf),
        })
    }

    /// Evaluate with each input at the values given, input `k` at `values[k]` (as drawn, in its
    /// own unit: as many as its parameter has), in the engine's outcome layout.
    ///
    /// # Panics
    /// If the values are not one list per input, each as long as its parameter.
    pub fn evaluate_values(&self, values: &[Vec<f64>]) -> Vec<f64> {
        assert_eq!(
            values.len(),
            self.set.inputs.len(),
            "evaluate_values: one list per input"
        );
        self.evaluate_with(|k, input, buf| {
            assert_eq!(
                values[k].len(),
                buf.len(),
                "evaluate_values: {}",
                input.param.path
            );
            buf.copy_from_slice(&values[k]);
        })
    }

    /// Evaluate with each input `k` at the values `values(k, input, buf)` writes into `buf` (as
    /// many as its parameter has, in its own unit).
    fn evaluate_with(&self, mut values: impl FnMut(usize, &Input, &mut [f64])) -> Vec<f64> {
        let mut work = self.template.clone();
        let mut buf = Vec::new();
        for (k, input) in self.set.inputs.iter().enumerate() {
            let w = input.param.width();
            buf.resize(w, 0.0);
            values(k, input, &mut buf[..w]);
            input.param.to_engine(&mut buf[..w]);
            apply(&mut work, input.param.target, &buf[..w]);
        }
        let mut out = vec![0.0; self.n_outcomes()];
        let mut dw = vec![0u8; self.entities.len()];
        let mut be = vec![0u8; self.entities.len()];
        self.evaluate(
            &work,
            true,
            &mut out,
            &mut dw,
            &mut be,
            &mut Workspace::default(),
        );
        out
    }
}

impl Plan {
    /// Draws with no rows, in this plan's layout (a shard that holds no block).
    pub fn empty_draws(&self) -> Draws {
        let n_ent = self.entities.len();
        Draws {
            n: 0,
            outcomes: vec![Vec::new(); self.n_outcomes()],
            delay_whole: vec![Vec::new(); n_ent],
            breakeven: vec![Vec::new(); n_ent],
            inputs: vec![Vec::new(); self.set.inputs.len()],
            skipped: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Column, Layout, LocalMeasure, Measure, Plan, RunOptions, draws_before, one_zero};

    /// The fields a batch reads from its inputs' values are those of PLAIN, each at its own slot,
    /// and no other field of a theme has one (the compiler checks only the first half).
    #[test]
    fn only_the_plain_numbers_have_a_slot() {
        use super::{PLAIN, plain_slot};
        use crate::params::{OutcomeField, ThemeField as F};
        let every = [
            F::AddressableSpend,
            F::Delay,
            F::Cohort,
            F::Volume,
            F::Engagement,
            F::GrossBenefit,
            F::Realisation,
            F::Cashability,
            F::OptimismBiasBenefit,
            F::OptimismBiasCost,
            F::ScaledCost,
            F::Profile(None),
            F::Profile(Some(0)),
            F::OneOff(None),
            F::OneOff(Some(2)),
            F::Ongoing(None),
            F::Ongoing(Some(1)),
            F::Share(0),
            F::CostShare(1),
            F::Outcome(0, OutcomeField::Cohort),
            F::Outcome(1, OutcomeField::AgencyShare(0)),
        ];
        for f in every {
            // Exhaustive: a new field of a theme does not compile here until it is listed.
            match f {
                F::AddressableSpend
                | F::Delay
                | F::Cohort
                | F::Volume
                | F::Engagement
                | F::GrossBenefit
                | F::Realisation
                | F::Cashability
                | F::OptimismBiasBenefit
                | F::OptimismBiasCost
                | F::ScaledCost
                | F::Profile(_)
                | F::OneOff(_)
                | F::Ongoing(_)
                | F::Share(_)
                | F::CostShare(_)
                | F::Outcome(..) => {}
            }
            let at = PLAIN.iter().position(|p| *p == f);
            assert_eq!(plain_slot(f), at, "{f:?}");
        }
    }

    /// A batch of draws evaluated column by column gives every draw the bits that evaluating it
    /// alone gives: outcomes, whole-year delays and breakeven years, over inputs of every kind
    /// the batch reads (a cohort, a volume, plain numbers, fractional delays, a yearly cost, a
    /// partner share that rescales the others) and themes no input touches.
    #[test]
    fn a_batch_gives_each_draw_the_bits_one_draw_at_a_time_gives() {
        use crate::distfile::load;
        use crate::embedded::{EY2013_MODEL, EY2013_MODEL_FILE};
        use crate::format::parse_model;
        use crate::sampler::SamplerKind;
        let model = parse_model(EY2013_MODEL_FILE, EY2013_MODEL).unwrap();
        let dists = r#"
            [[input]]
            path = "themes.families_complex_needs.cohort"
            kind = "uniform"
            min = 50000.0
            max = 150000.0
            [[input]]
            path = "themes.work_skills.volume_factor"
            kind = "uniform"
            min = 0.5
            max = 1.5
            [[input]]
            path = "themes.health_social_care.realisation"
            kind = "uniform"
            min = 0.2
            max = 1.0
            [[input]]
            path = "themes.health_social_care.delay_years"
            kind = "uniform"
            min = 0.0
            max = 3.5
            [[input]]
            path = "themes.families_complex_needs.delay_years"
            kind = "uniform"
            min = 0.0
            max = 2.0
            [[input]]
            path = "themes.work_skills.optimism_bias_cost"
            kind = "uniform"
            min = 0.0
            max = 0.6
            [[input]]
            path = "themes.work_skills.one_off_costs_bn[1]"
            kind = "uniform"
            min = 0.0
            max = 2.0
            [[input]]
            path = "themes.health_social_care.partner_shares.DH"
            kind = "uniform"
            min = 0.0
            max = 1.0
        "#;
        let set = load(&model, &[("t.toml".into(), dists.into())]).unwrap();
        let scen = model.scenario_index("base").unwrap();
        let batched = Plan::new(model.clone(), scen, set.clone()).unwrap();
        assert!(batched.batched);
        assert!(
            batched.constant.iter().any(Option::is_some),
            "an untouched theme"
        );
        let mut alone = Plan::new(model, scen, set).unwrap();
        alone.batched = false;
        // Blocks of 300 draws: batches of 64 and a last one of 44.
        let opts = RunOptions {
            draws: 1000,
            seed: 11,
            sampler: SamplerKind::MonteCarlo,
            block_size: 300,
            skip_nonfinite: false,
        };
        let (a, b) = (
            batched.run(&opts, &|_| {}).unwrap(),
            alone.run(&opts, &|_| {}).unwrap(),
        );
        let bits = |c: &[Vec<f64>]| -> Vec<Vec<u64>> {
            c.iter()
                .map(|c| c.iter().map(|v| v.to_bits()).collect())
                .collect()
        };
        assert_eq!(a.n, 1000);
        assert_eq!(bits(&a.outcomes), bits(&b.outcomes));
        assert_eq!(a.delay_whole, b.delay_whole);
        assert_eq!(a.breakeven, b.breakeven);
        // The draws move what they should: fractional delays, a total that varies.
        let total = &a.outcomes[Layout::entity(batched.entities.len() - 1, Measure::Npv)];
        assert!(total.iter().any(|v| *v != total[0]));
        // A model with outcome-level themes is evaluated one draw at a time.
        assert!(!crate::embedded::local_example_plan().batched);
        assert!(crate::embedded::default_plan().batched);
    }

    /// Blocks of 4 draws over 10: block b starts at draw 4b, and the last (2 draws) ends at the
    /// run's end, as does every block past it; a block larger than the run holds it all.
    #[test]
    fn the_draws_before_a_block_stop_at_the_runs_end() {
        let opts = RunOptions {
            draws: 10,
            seed: 1,
            sampler: crate::sampler::SamplerKind::MonteCarlo,
            block_size: 4,
            skip_nonfinite: false,
        };
        let to: Vec<u64> = (0..6).map(|b| opts.draws_to(b)).collect();
        assert_eq!(to, [0, 4, 8, 10, 10, 10]);
        assert_eq!(opts.block_draws(1, 2), 4);
        assert_eq!(opts.block_draws(2, 3), 2);
        assert_eq!(opts.block_draws(0, 3), 10);
        assert_eq!(draws_before(1, 20, 10), 10);
        assert_eq!(draws_before(u64::MAX, 2, 10), 10);
    }

    /// Every column has one place: the layout's positions, in column order, are 0, 1, 2, … with
    /// the entity measures first (entity by entity), then the partners' NPVs, then the local
    /// measures (entity by entity) and the budget impacts; and `column` names each one's place.
    #[test]
    fn the_layout_places_every_column_once_in_order() {
        let (measures, local) = (Measure::ALL, LocalMeasure::ALL);
        // Each variant names its column (the names the outputs carry).
        let names = measures.map(|m| super::ENTITY_MEASURES[m as usize]);
        assert_eq!(names, ["npv", "pv_benefits", "delay_to_zero"]);
        let names = local.map(|m| super::LOCAL_MEASURES[m as usize]);
        assert_eq!(names, ["public_value_npv", "public_value_bcr", "roi"]);
        for with_local in [false, true] {
            let l = Layout {
                entities: 3,
                partners: 2,
                local: with_local,
            };
            let mut want = Vec::new();
            for e in 0..3 {
                want.extend(measures.map(|m| (Layout::entity(e, m), Column::Entity(e, m))));
            }
            want.extend((0..2).map(|p| (l.partner_npv(p), Column::PartnerNpv(p))));
            if with_local {
                for e in 0..3 {
                    want.extend(local.map(|m| (l.local(e, m), Column::Local(e, m))));
                }
                want.extend((0..2).map(|p| (l.budget_impact(p), Column::BudgetImpact(p))));
            }
            assert_eq!(l.n_columns(), want.len());
            assert_eq!(l.n_local(), if with_local { 11 } else { 0 });
            assert_eq!(l.local_base(), 11);
            for (c, (at, col)) in want.into_iter().enumerate() {
                assert_eq!(at, c, "{col:?}");
                assert_eq!(l.column(c), col, "column {c}");
            }
        }
    }

    #[test]
    fn one_zero_makes_only_a_negative_zero_positive() {
        assert_eq!(one_zero(-0.0).to_bits(), 0.0f64.to_bits());
        for v in [
            0.0,
            1.5,
            -1.5,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(one_zero(v).to_bits(), v.to_bits(), "{v}");
        }
        assert!(one_zero(f64::NAN).is_nan());
    }
}
