//! Variance-based global sensitivity analysis: first-order and total Sobol' indices of one or
//! several model outputs, each with a percentile-bootstrap confidence interval.
//!
//! Design (Saltelli et al. 2010). With `k` inputs and `N` base draws, `A` and `B` are two
//! independent `N × k` matrices of uniforms in (0, 1), read from the caller's random-access
//! source `uniform(row, col)`: columns `0..k` are `A`, columns `k..2k` are `B`. `AB_i` is `A`
//! with column `i` taken from `B`. The model runs on every row of `A`, `B` and each `AB_i`,
//! `N (k + 2)` runs in all; it receives a row of `k` uniforms and maps them to its own input
//! distributions itself. With `f_A`, `f_B`, `f_ABi` the outputs of row `j`:
//!
//! ```text
//! Var(Y) = 1/(2N − 1) Σ_j [(f_A − m)² + (f_B − m)²],   m = 1/(2N) Σ_j (f_A + f_B)
//! V_i    = 1/N  Σ_j (f_B − m) (f_ABi − f_A)       Saltelli et al. 2010, Table 2 (b)
//! V_Ti   = 1/(2N) Σ_j (f_A − f_ABi)²               Jansen 1999; Saltelli et al. 2010, Table 2 (f)
//! S_i = V_i / Var(Y),   S_Ti = V_Ti / Var(Y)
//! ```
//!
//! The first-order sum centres `f_B` on the pooled mean `m`. The uncentred form of the paper has
//! the same expectation, but its Monte Carlo variance grows with the square of the output's mean,
//! which for an NPV is usually much larger than its spread; centring adds a bias of
//! `(S_Ti − S_i)/(2N)`, at most `1/(2N)`. Confidence intervals are percentile intervals (Efron &
//! Tibshirani 1993, ch. 13) over `resamples` bootstrap resamples of the `N` base rows, drawn with
//! replacement by SplitMix64 (Steele, Lea & Flood 2014) from the caller's seed; an index's
//! standard error is the standard deviation of its bootstrap replicates.
//!
//! Invariants:
//! - Results are a pure function of the arguments: the same bits for any number of threads. Rows
//!   are evaluated in parallel in fixed blocks of [`BLOCK_ROWS`] and stored by row; every
//!   floating-point reduction then runs sequentially in row order; bootstrap resamples run in
//!   parallel but each has its own generator, seeded from `(seed, resample)` only.
//! - Outputs are analysed independently from the same runs and the same resamples, so one call
//!   with `m` outputs returns, bit for bit, what `m` single-output calls would.
//! - The model only ever sees uniforms strictly inside (0, 1), and every output it returns is
//!   finite; otherwise the call fails with the first offending row in row order.
//! - An output with zero variance (in the data or in a resample) has all indices set to 0.
//!
//! Correlated inputs. The estimators assume the `k` uniforms are independent, and each index
//! belongs to a uniform, not to a named model input. If the model turns the uniforms into
//! correlated inputs (copula, Cholesky factor), `S_i` also counts what input `i` carries of its
//! correlated partners, totals can fall below first-order indices, and the sum of the `S_i` can
//! exceed 1: `S_Ti − S_i` is no longer the interaction share, nor does a small `S_Ti` mean the
//! input can be fixed. Either run with the correlations removed, or read the indices as Mara,
//! Tarantola & Annoni's "full" indices, which is exact only for the input that comes first in
//! the conditioning (Rosenblatt or Cholesky) order.
//!
//! Sources: A. Saltelli, P. Annoni, I. Azzini, F. Campolongo, M. Ratto, S. Tarantola, "Variance
//! based sensitivity analysis of model output. Design and estimator for the total sensitivity
//! index", Comput. Phys. Commun. 181 (2010) 259–270. M. J. W. Jansen, "Analysis of variance
//! designs for model output", Comput. Phys. Commun. 117 (1999) 35–43. B. Efron, R. J.
//! Tibshirani, "An Introduction to the Bootstrap", Chapman & Hall, 1993. G. L. Steele, D. Lea,
//! C. H. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014. T. A. Mara,
//! S. Tarantola, P. Annoni, "Non-parametric methods for global sensitivity analysis of model
//! output with dependent inputs", Environ. Model. Softw. 72 (2015) 173–183.

use crate::rng::mix64;
use rayon::prelude::*;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bootstrap resamples unless the caller asks for another number.
pub const DEFAULT_RESAMPLES: usize = 500;
/// Confidence level of the intervals unless the caller asks for another.
pub const DEFAULT_LEVEL: f64 = 0.95;
/// Fewest base draws accepted: below this a bootstrap over rows says little.
pub const MIN_BASE_DRAWS: u64 = 64;
/// Fewest bootstrap resamples accepted: fewer give unstable percentile interval ends.
pub const MIN_RESAMPLES: usize = 100;
/// Base rows per parallel work item. Results do not depend on it.
pub const BLOCK_ROWS: usize = 256;

/// What to compute: design size, bootstrap size, confidence level and bootstrap seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SobolConfig {
    /// `N`, rows of `A` and of `B`; the model runs `N (k + 2)` times.
    pub base_draws: u64,
    /// Bootstrap resamples of the `N` rows.
    pub resamples: usize,
    /// Confidence level of the percentile intervals, strictly between 0 and 1.
    pub level: f64,
    /// Seed of the bootstrap's generator.
    pub seed: u64,
}

impl SobolConfig {
    /// `base_draws` rows, bootstrap seeded by `seed`, default resamples and level.
    pub fn new(base_draws: u64, seed: u64) -> Self {
        SobolConfig {
            base_draws,
            resamples: DEFAULT_RESAMPLES,
            level: DEFAULT_LEVEL,
            seed,
        }
    }
}

/// One sensitivity index: the estimate from all `N` rows, the percentile bootstrap interval
/// `[low, high]` at the requested level, and the bootstrap standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Index {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
    pub std_error: f64,
}

/// Indices of one model output.
#[derive(Debug, Clone, PartialEq)]
pub struct SobolIndices {
    /// First-order index `S_i` of each input, in input order.
    pub first: Vec<Index>,
    /// Total index `S_Ti` of each input, in input order.
    pub total: Vec<Index>,
    /// `Var(Y)` estimated from the `2N` outputs of `A` and `B`.
    pub variance: f64,
    /// `N`, the number of base draws.
    pub n_base: u64,
    /// Model runs, `N (k + 2)`.
    pub runs: u64,
}

/// One of the design's matrices: `A`, `B`, or `AB_i` (`A` with column `i` from `B`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    A,
    B,
    AB(usize),
}

impl fmt::Display for Matrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matrix::A => write!(f, "A"),
            Matrix::B => write!(f, "B"),
            Matrix::AB(i) => write!(f, "AB_{i}"),
        }
    }
}

/// Why indices could not be computed.
#[derive(Debug, Clone, PartialEq)]
pub enum SobolError {
    /// `inputs` is zero.
    NoInputs,
    /// `outputs` is zero.
    NoOutputs,
    /// `base_draws` is below [`MIN_BASE_DRAWS`].
    TooFewBaseDraws { base_draws: u64 },
    /// The design's `base_draws × (inputs + 2) × outputs` stored values cannot be addressed.
    TooManyBaseDraws {
        base_draws: u64,
        max: u64,
        inputs: usize,
        outputs: usize,
    },
    /// `level` is not strictly between 0 and 1.
    Level { level: f64 },
    /// `resamples` is below [`MIN_RESAMPLES`].
    TooFewResamples { resamples: usize },
    /// The uniform source returned a value outside (0, 1).
    Uniform { row: u64, col: usize, value: f64 },
    /// The model left an output non-finite (NaN also when it did not write the output).
    Output {
        matrix: Matrix,
        row: u64,
        output: usize,
        value: f64,
    },
}

impl fmt::Display for SobolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SobolError::NoInputs => write!(f, "`inputs` = 0: must be at least 1"),
            SobolError::NoOutputs => write!(f, "`outputs` = 0: must be at least 1"),
            SobolError::TooFewBaseDraws { base_draws } => write!(
                f,
                "`base draws` = {base_draws}: must be at least {MIN_BASE_DRAWS} for the \
                 bootstrap confidence intervals"
            ),
            SobolError::TooManyBaseDraws {
                base_draws,
                max,
                inputs,
                outputs,
            } => write!(
                f,
                "`base draws` = {base_draws}: at most {max} with {inputs} inputs and {outputs} \
                 outputs"
            ),
            SobolError::Level { level } => {
                write!(f, "`level` = {level}: must lie strictly between 0 and 1")
            }
            SobolError::TooFewResamples { resamples } => write!(
                f,
                "`resamples` = {resamples}: must be at least {MIN_RESAMPLES}"
            ),
            SobolError::Uniform { row, col, value } => write!(
                f,
                "`uniform(row {row}, column {col})` = {value}: must lie strictly between 0 and 1"
            ),
            SobolError::Output {
                matrix,
                row,
                output,
                value,
            } => write!(
                f,
                "model output {output} at row {row} of matrix {matrix} = {value}: must be finite \
                 (NaN also means the model did not write it)"
            ),
        }
    }
}

impl std::error::Error for SobolError {}

/// First-order and total indices of a single-output model with `inputs` uniforms.
///
/// `uniform(row, col)` must return the design's uniform for base row `row < N` and column
/// `col < 2·inputs` (columns `0..inputs` are `A`, the rest `B`), strictly inside (0, 1), and
/// the same value whenever asked. `model` maps a row of `inputs` uniforms to a finite output.
pub fn sobol_indices(
    inputs: usize,
    config: &SobolConfig,
    uniform: &(dyn Fn(u64, usize) -> f64 + Sync),
    model: &(dyn Fn(&[f64]) -> f64 + Sync),
) -> Result<SobolIndices, SobolError> {
    let one = |x: &[f64], out: &mut [f64]| out[0] = model(x);
    let mut all = sobol_indices_multi(inputs, 1, config, uniform, &one)?;
    Ok(all.swap_remove(0))
}

/// First-order and total indices of each of `outputs` model outputs, from the same runs.
///
/// As [`sobol_indices`], except that `model` writes its `outputs` values into the slice it is
/// given (pre-filled with NaN, so an unwritten output is reported). Returns one
/// [`SobolIndices`] per output, in output order.
pub fn sobol_indices_multi(
    inputs: usize,
    outputs: usize,
    config: &SobolConfig,
    uniform: &(dyn Fn(u64, usize) -> f64 + Sync),
    model: &(dyn Fn(&[f64], &mut [f64]) + Sync),
) -> Result<Vec<SobolIndices>, SobolError> {
    let n = validate(inputs, outputs, config)?;
    let k = inputs;
    let m = outputs;
    let runs = config.base_draws * (k as u64 + 2);
    let columns = transpose(&evaluate(k, m, n, uniform, model)?, k, m, n);

    let ones = vec![1; n];
    let width = 2 * k;
    let mut points = vec![0.0; m * width];
    let variances: Vec<f64> = columns
        .iter()
        .zip(points.chunks_mut(width))
        .map(|(column, ratios)| estimate(column, k, &ones, ratios))
        .collect();

    let seed = config.seed;
    let replicates: Vec<Vec<f64>> = (0..config.resamples)
        .into_par_iter()
        .map_init(
            || vec![0; n],
            |counts, r| {
                resample(seed, r, counts);
                let mut ratios = vec![0.0; m * width];
                for (column, out) in columns.iter().zip(ratios.chunks_mut(width)) {
                    estimate(column, k, counts, out);
                }
                ratios
            },
        )
        .collect();

    let mut sample = vec![0.0; config.resamples];
    let mut results = Vec::with_capacity(m);
    for (o, variance) in variances.into_iter().enumerate() {
        let mut first = Vec::with_capacity(k);
        let mut total = Vec::with_capacity(k);
        for s in 0..width {
            let at = o * width + s;
            for (x, replicate) in sample.iter_mut().zip(&replicates) {
                *x = replicate[at];
            }
            let index = summarise(points[at], &mut sample, config.level);
            if s < k {
                first.push(index);
            } else {
                total.push(index);
            }
        }
        results.push(SobolIndices {
            first,
            total,
            variance,
            n_base: config.base_draws,
            runs,
        });
    }
    Ok(results)
}

/// Checks the arguments; returns `N` as an index.
fn validate(inputs: usize, outputs: usize, config: &SobolConfig) -> Result<usize, SobolError> {
    if inputs == 0 {
        return Err(SobolError::NoInputs);
    }
    if outputs == 0 {
        return Err(SobolError::NoOutputs);
    }
    let base_draws = config.base_draws;
    if base_draws < MIN_BASE_DRAWS {
        return Err(SobolError::TooFewBaseDraws { base_draws });
    }
    let max = inputs
        .checked_add(2)
        .and_then(|c| c.checked_mul(outputs))
        .map_or(0, |per_row| usize::MAX / per_row);
    let n = match usize::try_from(base_draws) {
        Ok(n) if n <= max => n,
        _ => {
            return Err(SobolError::TooManyBaseDraws {
                base_draws,
                max: max as u64,
                inputs,
                outputs,
            });
        }
    };
    let level = config.level;
    let level_ok = level > 0.0 && level < 1.0;
    if !level_ok {
        return Err(SobolError::Level { level });
    }
    if config.resamples < MIN_RESAMPLES {
        return Err(SobolError::TooFewResamples {
            resamples: config.resamples,
        });
    }
    Ok(n)
}

/// Runs the model on every row of the design. The result is row-major: base row `j` holds
/// `k + 2` groups of `m` outputs, for `A`, `B`, `AB_0`, …, `AB_{k-1}` in that order.
fn evaluate(
    k: usize,
    m: usize,
    n: usize,
    uniform: &(dyn Fn(u64, usize) -> f64 + Sync),
    model: &(dyn Fn(&[f64], &mut [f64]) + Sync),
) -> Result<Vec<f64>, SobolError> {
    let stride = (k + 2) * m;
    let mut raw = vec![0.0; n * stride];
    // Lowest failing block so far. Blocks after it are skipped; blocks before it always run, so
    // the error reported is the first in row order whatever the scheduling.
    let first_bad = AtomicUsize::new(usize::MAX);
    let outcomes: Vec<Result<(), SobolError>> = raw
        .par_chunks_mut(BLOCK_ROWS * stride)
        .enumerate()
        .map(|(b, block)| {
            if b > first_bad.load(Ordering::Relaxed) {
                return Ok(());
            }
            let outcome = evaluate_block(b * BLOCK_ROWS, block, k, m, uniform, model);
            if outcome.is_err() {
                first_bad.fetch_min(b, Ordering::Relaxed);
            }
            outcome
        })
        .collect();
    outcomes.into_iter().collect::<Result<(), _>>()?;
    Ok(raw)
}

/// Evaluates the base rows from `row0` on whose outputs `block` holds (see [`evaluate`]).
fn evaluate_block(
    row0: usize,
    block: &mut [f64],
    k: usize,
    m: usize,
    uniform: &(dyn Fn(u64, usize) -> f64 + Sync),
    model: &(dyn Fn(&[f64], &mut [f64]) + Sync),
) -> Result<(), SobolError> {
    let mut a = vec![0.0; k];
    let mut b = vec![0.0; k];
    let mut x = vec![0.0; k];
    for (offset, out) in block.chunks_mut((k + 2) * m).enumerate() {
        let row = (row0 + offset) as u64;
        for (col, value) in a.iter_mut().chain(b.iter_mut()).enumerate() {
            let u = uniform(row, col);
            if !(u > 0.0 && u < 1.0) {
                return Err(SobolError::Uniform { row, col, value: u });
            }
            *value = u;
        }
        let mut groups = out.chunks_mut(m);
        let mut run = |input: &[f64], matrix: Matrix| {
            let group = groups.next().expect("k + 2 output groups per row");
            group.fill(f64::NAN);
            model(input, group);
            match group.iter().position(|y| !y.is_finite()) {
                Some(output) => Err(SobolError::Output {
                    matrix,
                    row,
                    output,
                    value: group[output],
                }),
                None => Ok(()),
            }
        };
        run(&a, Matrix::A)?;
        run(&b, Matrix::B)?;
        for i in 0..k {
            x.copy_from_slice(&a);
            x[i] = b[i];
            run(&x, Matrix::AB(i))?;
        }
    }
    Ok(())
}

/// Rearranges the row-major outputs into one column block per output: `f_A` (`n` values), then
/// `f_B`, then `f_AB0`, …, `f_AB(k-1)`.
fn transpose(raw: &[f64], k: usize, m: usize, n: usize) -> Vec<Vec<f64>> {
    (0..m)
        .map(|o| {
            let mut column = vec![0.0; (k + 2) * n];
            for (j, row) in raw.chunks_exact((k + 2) * m).enumerate() {
                for (s, group) in row.chunks_exact(m).enumerate() {
                    column[s * n + j] = group[o];
                }
            }
            column
        })
        .collect()
}

/// Writes `[S_0, …, S_{k-1}, S_T0, …, S_T(k-1)]` of one output into `ratios` and returns
/// `Var(Y)`, with row `j` counted `weights[j]` times (all ones for the point estimate, the
/// multiplicities of a resample for the bootstrap). The weights sum to `N`. All sums run in row
/// order.
fn estimate(column: &[f64], k: usize, weights: &[u64], ratios: &mut [f64]) -> f64 {
    let n = weights.len();
    let (f_a, rest) = column.split_at(n);
    let (f_b, f_ab) = rest.split_at(n);
    let nf = n as f64;
    let mut sum = 0.0;
    for ((&w, &a), &b) in weights.iter().zip(f_a).zip(f_b) {
        if w > 0 {
            sum += w as f64 * (a + b);
        }
    }
    let mean = sum / (2.0 * nf);
    let mut squares = 0.0;
    for ((&w, &a), &b) in weights.iter().zip(f_a).zip(f_b) {
        if w > 0 {
            squares += w as f64 * ((a - mean) * (a - mean) + (b - mean) * (b - mean));
        }
    }
    let variance = squares / (2.0 * nf - 1.0);

    let (first, total) = ratios.split_at_mut(k);
    for ((f_abi, s), st) in f_ab.chunks_exact(n).zip(first).zip(total) {
        let mut v = 0.0;
        let mut vt = 0.0;
        for (((&w, &a), &b), &ab) in weights.iter().zip(f_a).zip(f_b).zip(f_abi) {
            if w > 0 {
                let w = w as f64;
                v += w * (b - mean) * (ab - a);
                vt += w * (a - ab) * (a - ab);
            }
        }
        let (vi, vti) = (v / nf, vt / (2.0 * nf));
        (*s, *st) = if variance > 0.0 {
            (vi / variance, vti / variance)
        } else {
            (0.0, 0.0)
        };
    }
    variance
}

/// Fills `counts` with the multiplicities of a resample of `counts.len()` rows drawn with
/// replacement, from the generator of resample `r` (shared with [`crate::shapley`]).
pub(crate) fn bootstrap_counts(seed: u64, r: usize, counts: &mut [u64]) {
    resample(seed, r, counts)
}

/// The bootstrap summary of an estimate from its replicates (shared with [`crate::shapley`]).
pub(crate) fn bootstrap_summary(estimate: f64, sample: &mut [f64], level: f64) -> Index {
    summarise(estimate, sample, level)
}

/// Fills `counts` with the multiplicities of a resample of `counts.len()` rows drawn with
/// replacement, from the generator of resample `r`.
fn resample(seed: u64, r: usize, counts: &mut [u64]) {
    counts.fill(0);
    let n = counts.len() as u64;
    // Resample `r` is seeded with output `r + 1` of SplitMix64(seed): distinct seeds, and
    // streams that overlap with negligible probability.
    let mut rng = SplitMix64::new(mix64(seed.wrapping_add(GOLDEN.wrapping_mul(r as u64 + 1))));
    for _ in 0..n {
        counts[rng.below(n) as usize] += 1;
    }
}

/// The bootstrap summary of one index: percentile interval at `level` and standard error from
/// the replicates in `sample` (which is left sorted).
fn summarise(estimate: f64, sample: &mut [f64], level: f64) -> Index {
    let r = sample.len() as f64;
    let mean = sample.iter().sum::<f64>() / r;
    let squares = sample.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>();
    let std_error = (squares / (r - 1.0)).sqrt();
    sample.sort_unstable_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Index {
        estimate,
        low: quantile(sample, tail),
        high: quantile(sample, 1.0 - tail),
        std_error,
    }
}

/// Quantile `p` of sorted, non-empty `sorted`, interpolating linearly between order statistics
/// (Hyndman & Fan type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let last = sorted.len() - 1;
    let h = p * last as f64;
    let lo = (h.floor() as usize).min(last);
    let hi = (lo + 1).min(last);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Weyl-sequence increment of SplitMix64 (the golden ratio in 64-bit fixed point).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64: the bootstrap's generator (also the Shapley estimator's, [`crate::shapley`]).
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix64(self.state)
    }

    /// A draw in `0..n` by multiply-high (Lemire 2019); the bias, at most `n / 2^64`, is
    /// negligible for any design that fits in memory.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// Random-access Monte Carlo uniforms: the `col`-th SplitMix64 output from a per-row seed,
    /// mapped to `(x + 1/2)·2^-53` with `x` the top 53 bits, so strictly inside (0, 1).
    fn mc_uniform(seed: u64) -> impl Fn(u64, usize) -> f64 + Sync {
        move |row, col| {
            let row_seed = mix64(seed ^ mix64(row.wrapping_add(1)));
            let bits = mix64(row_seed.wrapping_add(GOLDEN.wrapping_mul(col as u64 + 1)));
            ((bits >> 11) as f64 + 0.5) * (-53f64).exp2()
        }
    }

    const ISHIGAMI_A: f64 = 7.0;
    const ISHIGAMI_B: f64 = 0.1;

    fn ishigami(u: &[f64]) -> f64 {
        let x: Vec<f64> = u.iter().map(|u| -PI + 2.0 * PI * u).collect();
        x[0].sin() + ISHIGAMI_A * x[1].sin().powi(2) + ISHIGAMI_B * x[2].powi(4) * x[0].sin()
    }

    const LINEAR: [f64; 4] = [1.0, 2.0, 3.0, 0.0];

    fn linear(u: &[f64]) -> f64 {
        u.iter().zip(LINEAR).map(|(x, c)| c * x).sum()
    }

    /// Replicates of an estimate: `R` runs of the estimator on independent draws (seeds 1..=R),
    /// each with its own bootstrap.
    const REPLICATES: u64 = 24;

    fn replicated(k: usize, n: u64, f: &(dyn Fn(&[f64]) -> f64 + Sync)) -> Vec<SobolIndices> {
        (1..=REPLICATES)
            .map(|r| {
                let config = SobolConfig {
                    resamples: 200,
                    ..SobolConfig::new(n, 1000 + r)
                };
                sobol_indices(k, &config, &mc_uniform(r), f).unwrap()
            })
            .collect()
    }

    /// Checks one index against its analytic value with yardsticks taken from the replicates,
    /// not from the program's own error estimate:
    /// - the replicates' mean is within 4 standard errors (their spread / √R) of the value;
    /// - the program's bootstrap standard error, averaged, agrees with the replicates' spread
    ///   within 4 standard errors of a sample standard deviation (relative 1/√(2(R − 1)));
    /// - the bootstrap intervals cover the value in at least the share the level promises,
    ///   less 4 binomial standard errors.
    pub(crate) fn assert_replicates(name: &str, reps: &[Index], analytic: f64, level: f64) {
        let r = reps.len() as f64;
        let mean = reps.iter().map(|i| i.estimate).sum::<f64>() / r;
        let sd = (reps
            .iter()
            .map(|i| (i.estimate - mean).powi(2))
            .sum::<f64>()
            / (r - 1.0))
            .sqrt();
        let se_boot = reps.iter().map(|i| i.std_error).sum::<f64>() / r;
        let covered = reps
            .iter()
            .filter(|i| i.low <= analytic && analytic <= i.high)
            .count() as f64;
        eprintln!(
            "{name}: mean {mean:.5} spread {sd:.5} bootstrap se {se_boot:.5} covered {covered}/{r} analytic {analytic:.5}"
        );
        assert!(
            (mean - analytic).abs() <= 4.0 * sd / r.sqrt(),
            "{name}: mean of replicates {mean} vs analytic {analytic} (spread {sd})"
        );
        let rel = 4.0 / (2.0 * (r - 1.0)).sqrt();
        assert!(
            (se_boot / sd - 1.0).abs() <= rel,
            "{name}: bootstrap se {se_boot} against the replicates' spread {sd}"
        );
        let floor = level - 4.0 * (level * (1.0 - level) / r).sqrt();
        assert!(
            covered / r >= floor,
            "{name}: intervals cover {covered} of {r} (at least {floor} expected)"
        );
    }

    fn bits(results: &[SobolIndices]) -> Vec<u64> {
        let mut out = Vec::new();
        for r in results {
            out.extend([r.variance.to_bits(), r.n_base, r.runs]);
            for i in r.first.iter().chain(&r.total) {
                out.extend([i.estimate, i.low, i.high, i.std_error].map(f64::to_bits));
            }
        }
        out
    }

    fn pool(threads: usize) -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
    }

    #[test]
    fn ishigami_matches_analytic_indices() {
        let (a, b) = (ISHIGAMI_A, ISHIGAMI_B);
        let pi4 = PI.powi(4);
        let pi8 = PI.powi(8);
        let v = a * a / 8.0 + b * pi4 / 5.0 + b * b * pi8 / 18.0 + 0.5;
        let v1 = 0.5 * (1.0 + b * pi4 / 5.0).powi(2);
        let v2 = a * a / 8.0;
        let v3 = 0.0;
        let vt1 = v1 + 8.0 * b * b * pi8 / 225.0;
        let vt2 = v2;
        let vt3 = 8.0 * b * b * pi8 / 225.0;

        let reps = replicated(3, 1 << 11, &ishigami);
        assert_eq!(reps[0].n_base, 2048);
        assert_eq!(reps[0].runs, 2048 * 5);
        for (i, (vi, vti)) in [(v1, vt1), (v2, vt2), (v3, vt3)].into_iter().enumerate() {
            let first: Vec<Index> = reps.iter().map(|r| r.first[i]).collect();
            let total: Vec<Index> = reps.iter().map(|r| r.total[i]).collect();
            assert_replicates(&format!("S_{}", i + 1), &first, vi / v, DEFAULT_LEVEL);
            assert_replicates(&format!("S_T{}", i + 1), &total, vti / v, DEFAULT_LEVEL);
        }
        // The variance: within 4 standard errors of the replicates' mean.
        let vs: Vec<f64> = reps.iter().map(|r| r.variance).collect();
        let mv = vs.iter().sum::<f64>() / vs.len() as f64;
        let sv = (vs.iter().map(|x| (x - mv).powi(2)).sum::<f64>() / (vs.len() - 1) as f64).sqrt();
        assert!(
            (mv - v).abs() <= 4.0 * sv / (vs.len() as f64).sqrt(),
            "variance {mv} vs {v}"
        );
    }

    #[test]
    fn linear_model_indices_are_squared_coefficient_shares() {
        let norm: f64 = LINEAR.iter().map(|c| c * c).sum();
        let reps = replicated(4, 1 << 11, &linear);
        for (i, c) in LINEAR.into_iter().enumerate().take(3) {
            let first: Vec<Index> = reps.iter().map(|r| r.first[i]).collect();
            let total: Vec<Index> = reps.iter().map(|r| r.total[i]).collect();
            assert_replicates(&format!("S_{}", i + 1), &first, c * c / norm, DEFAULT_LEVEL);
            assert_replicates(
                &format!("S_T{}", i + 1),
                &total,
                c * c / norm,
                DEFAULT_LEVEL,
            );
        }
        let r = &reps[0];
        // The model ignores input 4, so f(AB_4) = f(A) row by row and both estimators are
        // exactly zero, in every resample too.
        for index in [r.first[3], r.total[3]] {
            assert_eq!(index.estimate, 0.0);
            assert_eq!((index.low, index.high, index.std_error), (0.0, 0.0, 0.0));
        }
    }

    #[test]
    fn several_outputs_equal_separate_runs() {
        let config = SobolConfig {
            resamples: 200,
            ..SobolConfig::new(1000, 3)
        };
        let uniform = mc_uniform(5);
        let second = |u: &[f64]| linear(&[u[0], u[1], u[2], 0.5]) * 1.0e6 + 3.0e8;
        let both = |u: &[f64], out: &mut [f64]| {
            out[0] = ishigami(u);
            out[1] = second(u);
        };
        let together = sobol_indices_multi(3, 2, &config, &uniform, &both).unwrap();
        let apart = [
            sobol_indices(3, &config, &uniform, &ishigami).unwrap(),
            sobol_indices(3, &config, &uniform, &second).unwrap(),
        ];
        assert_eq!(bits(&together), bits(&apart));
    }

    #[test]
    fn same_bits_for_any_thread_count() {
        // 5000 rows: 20 blocks, the last one partial.
        let config = SobolConfig::new(5000, 11);
        let uniform = mc_uniform(13);
        let both = |u: &[f64], out: &mut [f64]| {
            out[0] = ishigami(u);
            out[1] = linear(&[u[0], u[1], u[2], 0.0]);
        };
        let run = |threads| {
            pool(threads).install(|| sobol_indices_multi(3, 2, &config, &uniform, &both).unwrap())
        };
        let one = bits(&run(1));
        assert_eq!(one, bits(&run(2)));
        assert_eq!(one, bits(&run(3)));
    }

    #[test]
    fn constant_output_has_zero_indices() {
        let config = SobolConfig::new(64, 1);
        let both = |u: &[f64], out: &mut [f64]| {
            out[0] = linear(&[u[0], u[1], 0.0, 0.0]);
            out[1] = 2.5;
        };
        let r = sobol_indices_multi(2, 2, &config, &mc_uniform(2), &both).unwrap();
        assert_eq!(r[1].variance, 0.0);
        for index in r[1].first.iter().chain(&r[1].total) {
            assert_eq!(
                (index.estimate, index.low, index.high, index.std_error),
                (0.0, 0.0, 0.0, 0.0)
            );
        }
        assert!(r[0].variance > 0.0);
    }

    #[test]
    fn rejects_bad_arguments() {
        let uniform = mc_uniform(0);
        let ok = SobolConfig::new(64, 0);
        let err = |inputs, config: SobolConfig| {
            sobol_indices(inputs, &config, &uniform, &linear).unwrap_err()
        };

        let e = err(4, SobolConfig::new(63, 0));
        assert_eq!(e, SobolError::TooFewBaseDraws { base_draws: 63 });
        let message = e.to_string();
        assert!(message.contains("`base draws` = 63") && message.contains("at least 64"));

        let e = err(0, ok);
        assert_eq!(e, SobolError::NoInputs);
        assert_eq!(e.to_string(), "`inputs` = 0: must be at least 1");

        for level in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            let e = err(4, SobolConfig { level, ..ok });
            assert!(matches!(e, SobolError::Level { .. }), "{level}");
            assert!(e.to_string().contains("strictly between 0 and 1"));
        }
        assert_eq!(
            err(
                4,
                SobolConfig {
                    resamples: 99,
                    ..ok
                }
            ),
            SobolError::TooFewResamples { resamples: 99 }
        );
        // The least allowed is allowed.
        let least = SobolConfig {
            resamples: MIN_RESAMPLES,
            ..ok
        };
        assert!(sobol_indices(4, &least, &uniform, &linear).is_ok());
        // A uniform of exactly 0 (or 1) is outside (0, 1): refused, naming where.
        for edge in [0.0, 1.0] {
            let at_edge = |row: u64, col: usize| {
                if (row, col) == (3, 0) {
                    edge
                } else {
                    uniform(row, col)
                }
            };
            assert_eq!(
                sobol_indices(4, &ok, &at_edge, &linear).unwrap_err(),
                SobolError::Uniform {
                    row: 3,
                    col: 0,
                    value: edge
                }
            );
        }

        let none = |_: &[f64], _: &mut [f64]| {};
        assert_eq!(
            sobol_indices_multi(4, 0, &ok, &uniform, &none).unwrap_err(),
            SobolError::NoOutputs
        );
        let e = sobol_indices_multi(usize::MAX, 1, &ok, &uniform, &none).unwrap_err();
        assert!(matches!(e, SobolError::TooManyBaseDraws { max: 0, .. }));
    }

    #[test]
    fn reports_first_bad_value_in_row_order() {
        let config = SobolConfig::new(2000, 0);
        let uniform = mc_uniform(0);
        // Only row 700 of AB_1 (A's column 0, B's column 1) and row 1900 of A fail; they sit in
        // different blocks, and with any scheduling the first in row order is reported.
        let model = |u: &[f64]| {
            let ab1_700 = u[0] == uniform(700, 0) && u[1] == uniform(700, 5);
            if ab1_700 || u[0] == uniform(1900, 0) {
                f64::NAN
            } else {
                linear(u)
            }
        };
        let expected = SobolError::Output {
            matrix: Matrix::AB(1),
            row: 700,
            output: 0,
            value: f64::NAN,
        };
        for threads in [1, 2] {
            let e = pool(threads).install(|| sobol_indices(4, &config, &uniform, &model));
            let e = e.unwrap_err();
            // NaN != NaN, so compare the message.
            assert_eq!(e.to_string(), expected.to_string());
        }

        let bad = |row: u64, col: usize| if row == 99 && col == 6 { 1.0 } else { 0.5 };
        assert_eq!(
            sobol_indices(4, &config, &bad, &linear).unwrap_err(),
            SobolError::Uniform {
                row: 99,
                col: 6,
                value: 1.0
            }
        );

        let unwritten = |_: &[f64], out: &mut [f64]| out[0] = 1.0;
        let e = sobol_indices_multi(4, 2, &config, &uniform, &unwritten).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("model output 1 at row 0 of matrix A = NaN")
        );
    }

    /// The estimators of the module documentation written out over an explicit list of rows,
    /// `(f_A, f_B, [f_AB0, …])`, a resample listed with its repeats: no weights, no shortcuts.
    fn listed_estimates(rows: &[(f64, f64, Vec<f64>)]) -> (f64, Vec<f64>, Vec<f64>) {
        let n = rows.len() as f64;
        let mean = rows.iter().map(|r| r.0 + r.1).sum::<f64>() / (2.0 * n);
        let var = rows
            .iter()
            .map(|r| (r.0 - mean).powi(2) + (r.1 - mean).powi(2))
            .sum::<f64>()
            / (2.0 * n - 1.0);
        let k = rows[0].2.len();
        let first = (0..k)
            .map(|i| {
                let vi = rows
                    .iter()
                    .map(|r| (r.1 - mean) * (r.2[i] - r.0))
                    .sum::<f64>()
                    / n;
                vi / var
            })
            .collect();
        let total = (0..k)
            .map(|i| {
                let vti = rows.iter().map(|r| (r.0 - r.2[i]).powi(2)).sum::<f64>() / (2.0 * n);
                vti / var
            })
            .collect();
        (var, first, total)
    }

    fn assert_close(name: &str, got: f64, want: f64, rel: f64) {
        assert!(
            (got - want).abs() <= rel * want.abs(),
            "{name}: {got} against {want} (relative tolerance {rel})"
        );
    }

    /// Point estimates against the formulas applied by hand to the model's runs, on a model whose
    /// mean (about 102) is far from zero against its spread (about 1), so that any slip in the
    /// centring (`f − m` written `f + m`), in a divisor (`2N − 1`) or in a difference
    /// (`f_ABi − f_A`) moves the result far beyond rounding. Both computations sum the same
    /// terms in the same row order (the weights are all 1, exact), so they differ by rounding
    /// only (a 128-term sum errs by at most about 128·2^-53 ≈ 1.4e-14 of the sum of its terms'
    /// magnitudes); the tolerance, 1e-9, is far above that and far below the smallest such slip
    /// (`2N + 1` for `2N − 1`: 1.6% at N = 64).
    #[test]
    fn point_estimates_are_the_documented_formulas_on_the_runs() {
        let n = 64;
        let uniform = mc_uniform(7);
        let f = |u: &[f64]| 100.0 + 3.0 * u[0] + u[1] * u[1] + u[0] * u[1];
        let config = SobolConfig {
            resamples: MIN_RESAMPLES,
            ..SobolConfig::new(n, 1)
        };
        let got = sobol_indices(2, &config, &uniform, &f).unwrap();
        let rows: Vec<(f64, f64, Vec<f64>)> = (0..n)
            .map(|j| {
                let a = [uniform(j, 0), uniform(j, 1)];
                let b = [uniform(j, 2), uniform(j, 3)];
                let ab = vec![f(&[b[0], a[1]]), f(&[a[0], b[1]])];
                (f(&a), f(&b), ab)
            })
            .collect();
        let (var, first, total) = listed_estimates(&rows);
        assert_close("Var(Y)", got.variance, var, 1e-9);
        for i in 0..2 {
            assert_close(&format!("S_{i}"), got.first[i].estimate, first[i], 1e-9);
            assert_close(&format!("S_T{i}"), got.total[i].estimate, total[i], 1e-9);
        }
        // The estimates are not degenerate: u0 carries most of the variance.
        assert!(first[0] > 0.5 && total[1] > 0.05, "{first:?} {total:?}");
    }

    /// A bootstrap resample's estimate is the estimate on the resampled rows listed out with
    /// their repeats. Row 1 is left out, and its outputs are finite but so large that any
    /// arithmetic on them overflows: a left-out row must not enter a single sum (`0 · ∞` is NaN).
    #[test]
    fn resample_estimate_is_the_estimate_on_the_listed_rows() {
        // k = 1; rows (f_A, f_B, f_AB0).
        let rows = [
            (1.0, 4.0, 2.0),
            (1.0e308, 1.0e308, -1.0e308),
            (3.0, 0.5, 1.0),
            (2.0, 6.0, 5.0),
            (0.0, 1.0, 0.25),
        ];
        let weights = [2, 0, 1, 2, 0];
        let mut column = Vec::new();
        column.extend(rows.iter().map(|r| r.0));
        column.extend(rows.iter().map(|r| r.1));
        column.extend(rows.iter().map(|r| r.2));
        let mut ratios = [0.0; 2];
        let variance = estimate(&column, 1, &weights, &mut ratios);

        let listed: Vec<(f64, f64, Vec<f64>)> = rows
            .iter()
            .zip(weights)
            .flat_map(|(r, w)| std::iter::repeat_n((r.0, r.1, vec![r.2]), w as usize))
            .collect();
        assert_eq!(listed.len(), 5);
        let (var, first, total) = listed_estimates(&listed);
        assert_close("Var(Y)", variance, var, 1e-12);
        assert_close("S_0", ratios[0], first[0], 1e-12);
        assert_close("S_T0", ratios[1], total[0], 1e-12);
    }

    /// The bootstrap summary by hand. Replicates 7, 0, 3, 1 (unsorted on purpose): mean 11/4,
    /// squared deviations 28.75, standard error √(28.75 / 3). At level 0.5 the tails are 1/4
    /// each; type-7 quantiles of the sorted 0, 1, 3, 7: p = 1/4 sits at h = 3/4, between 0 and
    /// 1, so 0.75; p = 3/4 at h = 9/4, between 3 and 7, so 3 + 4/4 = 4.
    #[test]
    fn bootstrap_summary_by_hand() {
        let mut sample = [7.0, 0.0, 3.0, 1.0];
        let index = bootstrap_summary(0.5, &mut sample, 0.5);
        assert_eq!(index.estimate, 0.5);
        assert_close("std error", index.std_error, (28.75f64 / 3.0).sqrt(), 1e-15);
        assert_close("low", index.low, 0.75, 1e-15);
        assert_close("high", index.high, 4.0, 1e-15);
        assert_eq!(sample, [0.0, 1.0, 3.0, 7.0], "left sorted");

        // Level 0.9 on 0, 1, …, 100: the 5th and 95th percentiles fall on order statistics.
        let mut sample: Vec<f64> = (0..=100).rev().map(f64::from).collect();
        let index = bootstrap_summary(0.0, &mut sample, 0.9);
        assert_close("low at 0.9", index.low, 5.0, 1e-12);
        assert_close("high at 0.9", index.high, 95.0, 1e-12);
    }

    /// Replicates far from zero against their spread: 10^6 + 0.1, 0.2, 0.4, 0.7 have the sample
    /// standard deviation of 0.1, 0.2, 0.4, 0.7, which is √(0.21 / 3) = √0.07. The inputs carry
    /// a rounding of at most ulp(10^6)/2 ≈ 5.8e-11 each, so the value is known to about 1e-9
    /// relative; the one-pass form Σ(x + m)(x − m) (equal in exact arithmetic) loses about
    /// 2·10^-3 here to cancellation.
    #[test]
    fn bootstrap_standard_error_is_stable_far_from_zero() {
        let mut sample = [0.1, 0.2, 0.4, 0.7].map(|d| 1.0e6 + d);
        let index = bootstrap_summary(0.0, &mut sample, DEFAULT_LEVEL);
        assert_close("std error", index.std_error, 0.07f64.sqrt(), 1e-9);
    }

    /// SplitMix64 against the reference implementation (Vigna, splitmix64.c): the first four
    /// outputs from state 1477776061723855037, as published with that code and reproduced in
    /// the `rand_xoshiro` crate's tests.
    #[test]
    fn splitmix64_matches_the_reference_outputs() {
        let mut rng = SplitMix64::new(1_477_776_061_723_855_037);
        let got: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(
            got,
            [
                1_985_237_415_132_408_290,
                2_979_275_885_539_914_483,
                13_511_426_838_097_143_398,
                8_488_337_342_461_049_707
            ]
        );
    }

    /// The documented bootstrap stream: resample `r` draws its `n` rows from a SplitMix64 seeded
    /// with output `r + 1` of SplitMix64(seed), each row `⌊x·n / 2^64⌋` of a 64-bit output `x`.
    /// The stream is part of the results' bits for a given seed, so it is pinned. Stale counts
    /// in the buffer are cleared.
    #[test]
    fn bootstrap_counts_follow_the_documented_stream() {
        let (seed, n) = (2024, 37usize);
        for r in [0usize, 3] {
            let mut outer = SplitMix64::new(seed);
            let key = (0..=r).map(|_| outer.next_u64()).last().unwrap();
            let mut inner = SplitMix64::new(key);
            let mut expected = vec![0u64; n];
            for _ in 0..n {
                let x = inner.next_u64();
                expected[((u128::from(x) * n as u128) >> 64) as usize] += 1;
            }
            let mut counts = vec![7u64; n];
            bootstrap_counts(seed, r, &mut counts);
            assert_eq!(counts, expected, "resample {r}");
            assert_eq!(counts.iter().sum::<u64>(), n as u64);
        }
    }

    /// Once a block fails, the blocks after it are not run: on one thread, blocks run in order,
    /// so a model that fails on its first run is called exactly once, not once per block.
    #[test]
    fn blocks_after_a_failure_are_skipped() {
        let config = SobolConfig::new(3 * BLOCK_ROWS as u64, 0);
        let calls = AtomicUsize::new(0);
        let model = |_: &[f64]| {
            calls.fetch_add(1, Ordering::Relaxed);
            f64::NAN
        };
        let e = pool(1)
            .install(|| sobol_indices(2, &config, &mc_uniform(1), &model))
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("model output 0 at row 0 of matrix A")
        );
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }
}
