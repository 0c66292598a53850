//! Shapley effects of dependent inputs: each input's share of the output variance under the
//! inputs' joint distribution (here a Gaussian copula), with bootstrap intervals.
//!
//! The Shapley effect of input `i` (Owen 2014; Song, Nelson & Staum 2016) is its average
//! marginal contribution to a cost function `c` over the orderings of the inputs:
//!
//! ```text
//! Sh_i = Σ_{S ⊆ K∖{i}} |S|! (k − |S| − 1)! / k! · [c(S ∪ {i}) − c(S)],
//! c(S) = E[Var(Y | X_{−S})]
//! ```
//!
//! (Song et al. show that this `c` and `Var(E[Y | X_S])` give the same effects.) They are
//! non-negative, sum to `c(K) = Var(Y)`, need no independence, and share an interaction or a
//! correlation between the inputs involved (Owen & Prieur 2017). For independent inputs and an
//! additive model they equal the first-order (and total) Sobol indices.
//!
//! Estimator. The inputs are `k` uniforms `U_j = Φ(Z_j)` whose normal scores `Z` have
//! correlation matrix `R` (the copula; the identity for independent inputs). For every row of
//! the design, `Z = A G` and an independent copy `Z' = A G'` (`A Aᵀ = R`, `G`, `G'` standard
//! normal from the caller's uniforms, columns `0..k` and `k..2k`). For a subset `S`,
//!
//! ```text
//! X̃_S = Z'_S + B_S (Z_{−S} − Z'_{−S}),  X̃_{−S} = Z_{−S},   B_S = R_{S,−S} R_{−S,−S}⁺
//! ```
//!
//! redraws `X_S` from its conditional distribution given `X_{−S}` (the residual of the copy
//! `Z'` is independent of `Z'_{−S}` and has the conditional covariance), so
//! `c(S) = E[(f(X) − f(X̃^S))²] / 2` (a Jansen-type estimator). Every subset in a row uses the
//! same `Z` and `Z'` (common random numbers), and each row gives one value per input,
//! `h_i = Σ_S w_{i,S} (f(X) − f(X̃^S))²/2`, whose mean over rows is `Sh_i`; the variance is
//! estimated by the same rows' `c(K)`. In each row the `h_i` sum to that row's `c(K)` term, so
//! the estimated effects sum exactly to the estimated variance; shares are `Sh_i / Var(Y)`.
//!
//! Subsets. With `k ≤ max_exact` inputs every subset is evaluated (`2^k` model runs per row)
//! and the weights are the exact Shapley weights; with more, `permutations` random orderings
//! (Castro, Gómez & Tejada 2009; Song et al. 2016) drawn by SplitMix64 from the seed give the
//! weights, and only their prefix sets are evaluated. Either way the result is a deterministic
//! function of the arguments, the same bits for any number of threads: rows are evaluated in
//! parallel into their own slots and every sum runs in row order. Intervals are percentile
//! bootstrap intervals over resampled rows, as in [`crate::sobol_indices`].
//!
//! Sources: A. B. Owen, "Sobol' indices and Shapley value", SIAM/ASA J. Uncertainty
//! Quantification 2 (2014) 245–251. E. Song, B. L. Nelson, J. Staum, "Shapley effects for
//! global sensitivity analysis: theory and computation", SIAM/ASA JUQ 4 (2016) 1060–1083.
//! A. B. Owen, C. Prieur, "On Shapley value for measuring importance of dependent inputs",
//! SIAM/ASA JUQ 5 (2017) 986–1002. J. Castro, D. Gómez, J. Tejada, "Polynomial calculation of
//! the Shapley value based on sampling", Comput. Oper. Res. 36 (2009) 1726–1730.

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::dist::{std_normal_cdf, std_normal_quantile};
use crate::sobol_indices::{Index, bootstrap_counts, bootstrap_summary};

/// Base rows per parallel work item. Results do not depend on it.
const BLOCK_ROWS: usize = 64;

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ShapleyConfig {
    /// Rows of the design; each runs the model once per evaluated subset, plus once.
    pub base_draws: u64,
    /// Bootstrap resamples of the rows.
    pub resamples: usize,
    /// Confidence level of the intervals, in (0, 1).
    pub level: f64,
    /// Seed of the bootstrap and of the sampled orderings.
    pub seed: u64,
    /// Evaluate every subset when there are at most this many inputs.
    pub max_exact: usize,
    /// Orderings sampled when there are more.
    pub permutations: usize,
}

impl ShapleyConfig {
    /// `base_draws` rows, every subset up to 10 inputs, 128 orderings above.
    pub fn new(base_draws: u64, seed: u64) -> Self {
        ShapleyConfig {
            base_draws,
            resamples: crate::sobol_indices::DEFAULT_RESAMPLES,
            level: crate::sobol_indices::DEFAULT_LEVEL,
            seed,
            max_exact: 10,
            permutations: 128,
        }
    }
}

/// Shapley effects of one output.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapleyEffects {
    /// Each input's share of the variance, `Sh_i / Var(Y)` (they sum to 1).
    pub shares: Vec<Index>,
    /// Each input's effect `Sh_i`, in the output's squared units (they sum to `variance`).
    pub effects: Vec<f64>,
    /// `Var(Y)` under the joint distribution.
    pub variance: f64,
    pub n_base: u64,
    /// Model runs.
    pub runs: u64,
    /// Whether every subset was evaluated (exact Shapley weights) or orderings were sampled.
    pub all_subsets: bool,
}

/// The subsets to evaluate (bit masks, the full set included) and each input's weight on each.
fn plan_subsets(k: usize, cfg: &ShapleyConfig) -> (Vec<u64>, Vec<Vec<f64>>, bool) {
    let mut weights: Vec<BTreeMap<u64, f64>> = vec![BTreeMap::new(); k];
    let exact = k <= cfg.max_exact;
    if exact {
        // w(s) = s! (k − s − 1)! / k!
        let w = |s: usize| -> f64 {
            let mut x = 1.0 / k as f64;
            // 1 / (k · C(k − 1, s))
            let mut binom = 1.0;
            for j in 0..s {
                binom = binom * (k - 1 - j) as f64 / (j + 1) as f64;
            }
            x /= binom;
            x
        };
        for (i, wi) in weights.iter_mut().enumerate() {
            for s in 0u64..(1u64 << k) {
                if s & (1 << i) != 0 {
                    continue;
                }
                let ws = w(s.count_ones() as usize);
                *wi.entry(s | (1 << i)).or_insert(0.0) += ws;
                if s != 0 {
                    *wi.entry(s).or_insert(0.0) -= ws;
                }
            }
        }
    } else {
        let mut rng = crate::sobol_indices::SplitMix64::new(cfg.seed ^ 0x5348_4150_4c45_5900);
        let m = cfg.permutations as f64;
        for _ in 0..cfg.permutations {
            let mut order: Vec<usize> = (0..k).collect();
            for j in (1..k).rev() {
                let l = rng.below(j as u64 + 1) as usize;
                order.swap(j, l);
            }
            let mut prefix = 0u64;
            for &i in &order {
                *weights[i].entry(prefix | (1 << i)).or_insert(0.0) += 1.0 / m;
                if prefix != 0 {
                    *weights[i].entry(prefix).or_insert(0.0) -= 1.0 / m;
                }
                prefix |= 1 << i;
            }
        }
    }
    let mut subsets: Vec<u64> = weights.iter().flat_map(|w| w.keys().cloned()).collect();
    subsets.push((1u64 << k) - 1);
    subsets.sort_unstable();
    subsets.dedup();
    let dense = weights
        .iter()
        .map(|w| {
            subsets
                .iter()
                .map(|s| w.get(s).cloned().unwrap_or(0.0))
                .collect()
        })
        .collect();
    (subsets, dense, exact)
}

/// A symmetric factor `A Aᵀ = r` of a positive semi-definite matrix.
fn factor(r: &[Vec<f64>]) -> Result<nalgebra::DMatrix<f64>, String> {
    let k = r.len();
    let m = nalgebra::DMatrix::from_fn(k, k, |i, j| r[i][j]);
    let eig = nalgebra::SymmetricEigen::try_new(m, 1e-14, 10_000)
        .ok_or("the correlation matrix's eigen decomposition did not converge")?;
    if eig.eigenvalues.iter().any(|&l| l < -1e-9) {
        return Err("the correlation matrix is not positive semi-definite".into());
    }
    let l = eig.eigenvalues.map(|x| x.max(0.0).sqrt());
    Ok(&eig.eigenvectors * nalgebra::DMatrix::from_diagonal(&l))
}

/// `B_S = R_{S,−S} R_{−S,−S}⁺` of subset `s` (rows: inputs in S; columns: inputs not in S).
fn conditional(r: &[Vec<f64>], s: u64) -> (Vec<usize>, Vec<usize>, nalgebra::DMatrix<f64>) {
    let k = r.len();
    let ins: Vec<usize> = (0..k).filter(|&j| s & (1 << j) != 0).collect();
    let outs: Vec<usize> = (0..k).filter(|&j| s & (1 << j) == 0).collect();
    if outs.is_empty() {
        return (ins, outs, nalgebra::DMatrix::zeros(0, 0));
    }
    let r_so = nalgebra::DMatrix::from_fn(ins.len(), outs.len(), |a, b| r[ins[a]][outs[b]]);
    let r_oo = nalgebra::DMatrix::from_fn(outs.len(), outs.len(), |a, b| r[outs[a]][outs[b]]);
    let pinv = r_oo
        .pseudo_inverse(1e-10)
        .unwrap_or_else(|_| nalgebra::DMatrix::zeros(outs.len(), outs.len()));
    (ins, outs, r_so * pinv)
}

/// Shapley effects of each of `outputs` model outputs of `k` inputs whose normal scores have
/// correlation matrix `corr` (k × k, positive semi-definite, unit diagonal).
///
/// `uniform(row, col)` gives the design's independent uniforms, strictly inside (0, 1), for
/// `col < 2k`; `model` maps `k` uniforms (already through the copula) to its outputs, which
/// must be finite.
pub fn shapley_effects(
    k: usize,
    outputs: usize,
    corr: &[Vec<f64>],
    cfg: &ShapleyConfig,
    uniform: &(dyn Fn(u64, usize) -> f64 + Sync),
    model: &(dyn Fn(&[f64], &mut [f64]) + Sync),
) -> Result<Vec<ShapleyEffects>, String> {
    if k == 0 || outputs == 0 {
        return Err("Shapley effects need at least one input and one output".into());
    }
    if k > 40 {
        return Err(format!(
            "{k} factors: Shapley effects are computed for at most 40"
        ));
    }
    if corr.len() != k || corr.iter().any(|r| r.len() != k) {
        return Err(format!("the correlation matrix must be {k} × {k}"));
    }
    if cfg.base_draws < crate::sobol_indices::MIN_BASE_DRAWS {
        return Err(format!(
            "{} base draws: Shapley effects need at least {}",
            cfg.base_draws,
            crate::sobol_indices::MIN_BASE_DRAWS
        ));
    }
    if !(cfg.level > 0.0 && cfg.level < 1.0) || cfg.resamples < crate::sobol_indices::MIN_RESAMPLES
    {
        return Err("bootstrap level must be in (0, 1) and resamples at least 100".into());
    }
    let a = factor(corr)?;
    let (subsets, weights, exact) = plan_subsets(k, cfg);
    let cond: Vec<_> = subsets.iter().map(|&s| conditional(corr, s)).collect();
    let full = subsets.len() - 1; // the full set sorts last
    let n = usize::try_from(cfg.base_draws).map_err(|_| "too many base draws".to_string())?;
    let m = outputs;
    // Per row: h_0..h_{k−1}, then the variance term, for each output.
    let stride = (k + 1) * m;
    let mut rows = vec![0.0; n * stride];
    let results: Vec<Result<(), String>> = rows
        .par_chunks_mut(BLOCK_ROWS * stride)
        .enumerate()
        .map(|(b, block)| {
            let mut g = vec![0.0; 2 * k];
            let mut x = vec![0.0; k];
            let mut u = vec![0.0; k];
            let mut f0 = vec![0.0; m];
            let mut f = vec![0.0; m];
            let mut q = vec![0.0; subsets.len() * m];
            let to_u = |z: f64| std_normal_cdf(z).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
            for (off, out) in block.chunks_mut(stride).enumerate() {
                let row = (b * BLOCK_ROWS + off) as u64;
                for (c, gc) in g.iter_mut().enumerate() {
                    let v = uniform(row, c);
                    if !(v > 0.0 && v < 1.0) {
                        return Err(format!("uniform(row {row}, column {c}) = {v}: must lie strictly between 0 and 1"));
                    }
                    *gc = std_normal_quantile(v);
                }
                let z: Vec<f64> = (0..k)
                    .map(|i| (0..k).map(|j| a[(i, j)] * g[j]).sum())
                    .collect();
                let zp: Vec<f64> = (0..k)
                    .map(|i| (0..k).map(|j| a[(i, j)] * g[k + j]).sum())
                    .collect();
                for (ui, zi) in u.iter_mut().zip(&z) {
                    *ui = to_u(*zi);
                }
                f0.fill(f64::NAN);
                model(&u, &mut f0);
                if let Some(o) = f0.iter().position(|v| !v.is_finite()) {
                    return Err(format!("model output {o} at row {row} is {}: must be finite", f0[o]));
                }
                for (si, (ins, outs, bs)) in cond.iter().enumerate() {
                    x.copy_from_slice(&z);
                    for (ra, &j) in ins.iter().enumerate() {
                        let mut v = zp[j];
                        for (cb, &l) in outs.iter().enumerate() {
                            v += bs[(ra, cb)] * (z[l] - zp[l]);
                        }
                        x[j] = v;
                    }
                    for (ui, xi) in u.iter_mut().zip(&x) {
                        *ui = to_u(*xi);
                    }
                    f.fill(f64::NAN);
                    model(&u, &mut f);
                    for o in 0..m {
                        if !f[o].is_finite() {
                            return Err(format!("model output {o} at row {row} is {}: must be finite", f[o]));
                        }
                        let d = f[o] - f0[o];
                        q[si * m + o] = 0.5 * d * d;
                    }
                }
                for o in 0..m {
                    for i in 0..k {
                        let mut h = 0.0;
                        for (si, w) in weights[i].iter().enumerate() {
                            if *w != 0.0 {
                                h += w * q[si * m + o];
                            }
                        }
                        out[o * (k + 1) + i] = h;
                    }
                    out[o * (k + 1) + k] = q[full * m + o];
                }
            }
            Ok(())
        })
        .collect();
    results.into_iter().collect::<Result<(), String>>()?;

    // Means (in row order) with row multiplicities `counts`: k effects and the variance.
    let means = |o: usize, counts: &[u64]| -> Vec<f64> {
        let mut s = vec![0.0; k + 1];
        for (row, &c) in rows.chunks(stride).zip(counts) {
            if c > 0 {
                for (sj, v) in s.iter_mut().zip(&row[o * (k + 1)..(o + 1) * (k + 1)]) {
                    *sj += c as f64 * v;
                }
            }
        }
        s.iter().map(|v| v / n as f64).collect()
    };
    let shares_of = |mv: &[f64]| -> Vec<f64> {
        let var = mv[k];
        mv[..k]
            .iter()
            .map(|e| if var > 0.0 { e / var } else { 0.0 })
            .collect()
    };
    let ones = vec![1u64; n];
    let replicates: Vec<Vec<Vec<f64>>> = (0..cfg.resamples)
        .into_par_iter()
        .map(|r| {
            let mut counts = vec![0u64; n];
            bootstrap_counts(cfg.seed, r, &mut counts);
            (0..m).map(|o| shares_of(&means(o, &counts))).collect()
        })
        .collect();
    let runs = cfg.base_draws * (subsets.len() as u64 + 1);
    let mut out = Vec::with_capacity(m);
    let mut sample = vec![0.0; cfg.resamples];
    for o in 0..m {
        let mv = means(o, &ones);
        let point = shares_of(&mv);
        let shares = (0..k)
            .map(|i| {
                for (x, rep) in sample.iter_mut().zip(&replicates) {
                    *x = rep[o][i];
                }
                bootstrap_summary(point[i], &mut sample, cfg.level)
            })
            .collect();
        out.push(ShapleyEffects {
            shares,
            effects: mv[..k].to_vec(),
            variance: mv[k],
            n_base: cfg.base_draws,
            runs,
            all_subsets: exact,
        });
    }
    Ok(out)
}

/// Exact Shapley effects of `y = Σ βᵢ Xᵢ` with `X ~ N(0, Σ)` (Owen & Prieur 2017): `c(S)` is
/// the conditional variance `β_Sᵀ (Σ_SS − Σ_{S,−S} Σ_{−S,−S}⁻¹ Σ_{−S,S}) β_S`, combined with
/// the exact Shapley weights. For checking the estimator; `k` up to about 20.
pub fn linear_gaussian_shapley(beta: &[f64], cov: &[Vec<f64>]) -> Vec<f64> {
    let k = beta.len();
    let c = |s: u64| -> f64 {
        let ins: Vec<usize> = (0..k).filter(|&j| s & (1 << j) != 0).collect();
        let outs: Vec<usize> = (0..k).filter(|&j| s & (1 << j) == 0).collect();
        let sss = nalgebra::DMatrix::from_fn(ins.len(), ins.len(), |a, b| cov[ins[a]][ins[b]]);
        let cond = if outs.is_empty() {
            sss
        } else {
            let so = nalgebra::DMatrix::from_fn(ins.len(), outs.len(), |a, b| cov[ins[a]][outs[b]]);
            let oo =
                nalgebra::DMatrix::from_fn(outs.len(), outs.len(), |a, b| cov[outs[a]][outs[b]]);
            let inv = oo.pseudo_inverse(1e-12).expect("pseudo-inverse");
            &sss - &so * inv * so.transpose()
        };
        let b = nalgebra::DVector::from_fn(ins.len(), |a, _| beta[ins[a]]);
        (b.transpose() * cond * b)[(0, 0)]
    };
    let cfg = ShapleyConfig {
        max_exact: usize::MAX,
        ..ShapleyConfig::new(64, 0)
    };
    let (subsets, weights, _) = plan_subsets(k, &cfg);
    let cs: Vec<f64> = subsets.iter().map(|&s| c(s)).collect();
    weights
        .iter()
        .map(|w| w.iter().zip(&cs).map(|(a, b)| a * b).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uniforms of a fixed-seed generator, random access by (row, col).
    /// 24 replicates of the estimator on independent rows (row offsets of 10^6), each with its
    /// own bootstrap seed (`seed + replicate`).
    fn replicated(
        k: usize,
        outputs: usize,
        r: &[Vec<f64>],
        rows: u64,
        seed: u64,
        model: &(dyn Fn(&[f64], &mut [f64]) + Sync),
    ) -> Vec<Vec<ShapleyEffects>> {
        (0..24u64)
            .map(|rep| {
                let cfg = ShapleyConfig {
                    resamples: 200,
                    ..ShapleyConfig::new(rows, seed + rep)
                };
                let u = move |row: u64, col: usize| uniform(row + rep * 1_000_000, col);
                shapley_effects(k, outputs, r, &cfg, &u, model).unwrap()
            })
            .collect()
    }

    fn uniform(row: u64, col: usize) -> f64 {
        let mut z = row
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add((col as u64 + 1).wrapping_mul(0xd1b5_4a32_d192_ed03));
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    #[test]
    fn two_correlated_gaussian_inputs_match_owen_and_prieur() {
        // Y = β₁X₁ + β₂X₂, unit variances, correlation ρ:
        // Sh₁ = ½[β₁²(2 − ρ²) + β₂²ρ² + 2ρβ₁β₂] (and symmetrically).
        let (b1, b2, rho) = (1.0, 2.0, 0.6);
        let cov = vec![vec![1.0, rho], vec![rho, 1.0]];
        let sh = linear_gaussian_shapley(&[b1, b2], &cov);
        let want1 = 0.5 * (b1 * b1 * (2.0 - rho * rho) + b2 * b2 * rho * rho + 2.0 * rho * b1 * b2);
        let var = b1 * b1 + b2 * b2 + 2.0 * rho * b1 * b2;
        assert!((sh[0] - want1).abs() < 1e-12, "{sh:?}");
        assert!((sh[0] + sh[1] - var).abs() < 1e-12);
    }

    #[test]
    #[allow(clippy::needless_range_loop)] // inputs indexed alike in several arrays
    fn the_estimator_matches_the_linear_gaussian_closed_form() {
        // Four inputs with unequal scales, a correlated block, a negative correlation and an
        // independent input; the model maps the uniforms to normals itself.
        let sd = [1.0, 2.0, 0.5, 1.5];
        let beta = [1.0, -0.7, 3.0, 0.4];
        let r = vec![
            vec![1.0, 0.5, 0.3, 0.0],
            vec![0.5, 1.0, -0.4, 0.0],
            vec![0.3, -0.4, 1.0, 0.0],
            vec![0.0, 0.0, 0.0, 1.0],
        ];
        let cov: Vec<Vec<f64>> = (0..4)
            .map(|i| (0..4).map(|j| r[i][j] * sd[i] * sd[j]).collect())
            .collect();
        let exact = linear_gaussian_shapley(&beta, &cov);
        let var: f64 = exact.iter().sum();
        let model = |u: &[f64], out: &mut [f64]| {
            out[0] = (0..4)
                .map(|j| beta[j] * sd[j] * std_normal_quantile(u[j]))
                .sum();
        };
        // 24 replicates on independent rows (each with its own bootstrap): the yardsticks are
        // their spread and the level's coverage, not the program's own standard error
        // (`sobol_indices::tests::assert_replicates`).
        let reps: Vec<ShapleyEffects> = replicated(4, 1, &r, 2048, 11, &model)
            .into_iter()
            .map(|mut e| e.remove(0))
            .collect();
        let cfg = ShapleyConfig::new(8192, 11);
        let e = &reps[0];
        assert!(e.all_subsets);
        let total: f64 = e.shares.iter().map(|s| s.estimate).sum();
        assert!((total - 1.0).abs() < 1e-12, "shares sum to {total}");
        assert!((e.effects.iter().sum::<f64>() - e.variance).abs() < 1e-9 * e.variance);
        for i in 0..4 {
            let shares: Vec<_> = reps.iter().map(|e| e.shares[i]).collect();
            crate::sobol_indices::tests::assert_replicates(
                &format!("Shapley share {i}"),
                &shares,
                exact[i] / var,
                cfg.level,
            );
        }
        // Sampled orderings estimate the same effects.
        let cfg = ShapleyConfig {
            max_exact: 2,
            permutations: 64,
            ..cfg
        };
        let p = shapley_effects(4, 1, &r, &cfg, &uniform, &model).unwrap();
        assert!(!p[0].all_subsets);
        let total: f64 = p[0].shares.iter().map(|s| s.estimate).sum();
        assert!((total - 1.0).abs() < 1e-12);
        // Sampling 64 orderings adds its own error to the rows' error: bounded here by the
        // replicates' spread of the exact shares at these rows (8192, a quarter of the 2048-row
        // spread's square) plus 0.02 for the orderings, an allowance, not a derived bound.
        for i in 0..4 {
            let want = exact[i] / var;
            let xs: Vec<f64> = reps.iter().map(|e| e.shares[i].estimate).collect();
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            let sd =
                (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (xs.len() - 1) as f64).sqrt();
            assert!(
                (p[0].shares[i].estimate - want).abs() < 4.0 * sd / 2.0 + 0.02,
                "input {i}: {} vs {want}",
                p[0].shares[i].estimate
            );
        }
    }

    #[test]
    fn independent_additive_inputs_give_their_variance_shares() {
        let r = vec![vec![1.0, 0.0], vec![0.0, 1.0]];
        let model = |u: &[f64], out: &mut [f64]| {
            out[0] = 3.0 * std_normal_quantile(u[0]) + std_normal_quantile(u[1]);
            out[1] = u[1];
        };
        let cfg = ShapleyConfig::new(4096, 5);
        let e = shapley_effects(2, 2, &r, &cfg, &uniform, &model).unwrap();
        // Share 9/10 of the first input, against replicates' spread (the yardstick is not the
        // program's own standard error).
        let reps: Vec<_> = replicated(2, 2, &r, 1024, 5, &model)
            .into_iter()
            .map(|e| e[0].shares[0])
            .collect();
        crate::sobol_indices::tests::assert_replicates("3 X + Y: X", &reps, 0.9, cfg.level);
        assert!(e[1].shares[0].estimate.abs() < 1e-15);
        assert!((e[1].shares[1].estimate - 1.0).abs() < 1e-15);
        // Deterministic and thread-independent.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let again = pool.install(|| shapley_effects(2, 2, &r, &cfg, &uniform, &model).unwrap());
        assert_eq!(again, e);
    }
}
