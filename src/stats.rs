//! Summary statistics of Monte Carlo output, with their Monte Carlo standard errors.
//!
//! All reductions run sequentially over the draws in draw order, so the result depends only on the
//! values, never on how the draws were computed (threads, blocks, shards). Standard errors are those
//! of independent draws; for Latin hypercube and Sobol samples they are conservative (the true
//! error of those designs is usually smaller).

/// A sorted copy of a sample, checked once: finite values only, at least one.
#[derive(Debug, Clone)]
pub struct Sorted(Vec<f64>);

impl Sorted {
    /// Sort a sample. Returns `None` when it is empty or holds a non-finite value.
    pub fn new(mut v: Vec<f64>) -> Option<Sorted> {
        if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
            return None;
        }
        // Radix sort: the same order as `total_cmp`, several times faster on large samples.
        // Constant outcomes (e.g. a theme no input touches) are already in order.
        if !v.is_sorted_by(|a, b| a <= b) {
            radsort::sort(&mut v);
        }
        Some(Sorted(v))
    }

    pub fn values(&self) -> &[f64] {
        &self.0
    }
}

impl OrderStats for Sorted {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn at(&self, r: usize) -> f64 {
        self.0[r]
    }

    fn count_le(&self, x: f64) -> usize {
        self.0.partition_point(|v| *v <= x)
    }

    fn count_lt(&self, x: f64) -> usize {
        self.0.partition_point(|v| *v < x)
    }
}

/// What the summary needs of a sample's distribution: its size, its order statistics and counts
/// below thresholds. Implemented by a sorted sample ([`Sorted`]) and by the passes of
/// [`crate::stream`], which find the same order statistics without holding the sample.
pub trait OrderStats {
    /// Size of the sample (at least 1).
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The order statistic of 0-based rank `r` (the `r+1`-th smallest value).
    fn at(&self, r: usize) -> f64;
    /// Number of values ≤ x.
    fn count_le(&self, x: f64) -> usize;
    /// Number of values < x.
    fn count_lt(&self, x: f64) -> usize;

    fn min(&self) -> f64 {
        self.at(0)
    }

    fn max(&self) -> f64 {
        self.at(self.len() - 1)
    }

    /// The p-quantile, linear interpolation between order statistics (Hyndman & Fan type 7).
    fn quantile(&self, p: f64) -> f64 {
        let n = self.len();
        let h = (n - 1) as f64 * p.clamp(0.0, 1.0);
        let lo = h.floor() as usize;
        let hi = (lo + 1).min(n - 1);
        let (a, b) = (self.at(lo), self.at(hi));
        a + (h - lo as f64) * (b - a)
    }

    /// Monte Carlo standard error of the p-quantile, from the distribution-free confidence
    /// interval of order statistics: ranks `np ± z √(np(1−p))` bound a ≈95% interval (z = 1.96),
    /// whose half-width / z estimates the standard error.
    fn quantile_se(&self, p: f64) -> f64 {
        let len = self.len();
        let n = len as f64;
        if len < 2 {
            return f64::NAN;
        }
        let z = 1.96;
        let half = z * (n * p * (1.0 - p)).sqrt();
        let lo = ((n * p - half).floor().max(0.0) as usize).min(len - 1);
        let hi = ((n * p + half).ceil().max(0.0) as usize).min(len - 1);
        (self.at(hi) - self.at(lo)) / (2.0 * z)
    }

    /// Share of the sample ≤ x (the empirical CDF).
    fn ecdf(&self, x: f64) -> f64 {
        self.count_le(x) as f64 / self.len() as f64
    }

    /// Share of the sample strictly below x.
    fn below(&self, x: f64) -> f64 {
        self.count_lt(x) as f64 / self.len() as f64
    }
}

/// Mean and standard deviation (Welford, in order) of a sample.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let mut mean = 0.0;
    let mut m2 = 0.0;
    for (i, x) in v.iter().enumerate() {
        let d = x - mean;
        mean += d / (i + 1) as f64;
        m2 += d * (x - mean);
    }
    let sd = if v.len() > 1 {
        (m2 / (v.len() - 1) as f64).sqrt()
    } else {
        0.0
    };
    (mean, sd)
}

/// Standard error of an estimated probability from `n` independent draws.
pub fn proportion_se(p: f64, n: usize) -> f64 {
    (p * (1.0 - p) / n as f64).sqrt()
}

/// Ranks (1-based, ties averaged) of a sample, in its original order.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    // Stable radix sort of the indices by value: ties stay in index order, as a stable
    // comparison sort would leave them.
    let mut idx: Vec<usize> = (0..v.len()).collect();
    radsort::sort_by_key(&mut idx, |&i| v[i]);
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation of two equally long samples (NaN if either is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let (ma, sa) = mean_sd(a);
    let (mb, sb) = mean_sd(b);
    if sa == 0.0 || sb == 0.0 {
        return f64::NAN;
    }
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        s += (x - ma) * (y - mb);
    }
    s / ((a.len() - 1) as f64 * sa * sb)
}

/// Pearson correlations of every pair of columns (1 on the diagonal): each column's mean and
/// standard deviation are computed once and each pair once, with the same arithmetic as
/// [`pearson`], so every entry has the bits `pearson` gives.
pub fn pearson_matrix(cols: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let ms: Vec<(f64, f64)> = cols.iter().map(|c| mean_sd(c)).collect();
    let k = cols.len();
    let mut m = vec![vec![1.0; k]; k];
    for a in 0..k {
        for b in a + 1..k {
            let ((ma, sa), (mb, sb)) = (ms[a], ms[b]);
            let r = if sa == 0.0 || sb == 0.0 {
                f64::NAN
            } else {
                let mut s = 0.0;
                for (x, y) in cols[a].iter().zip(&cols[b]) {
                    s += (x - ma) * (y - mb);
                }
                s / ((cols[a].len() - 1) as f64 * sa * sb)
            };
            m[a][b] = r;
            m[b][a] = r;
        }
    }
    m
}

/// Spearman rank correlation.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    pearson(&ranks(a), &ranks(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_matrix_has_the_bits_of_pearson_pair_by_pair() {
        let cols = vec![
            vec![1.0, 2.0, 3.5, 4.0, 0.5],
            vec![2.0, 1.0, 4.0, 3.0, 0.0],
            vec![5.0, 5.0, 5.0, 5.0, 5.0],
        ];
        let m = pearson_matrix(&cols);
        for a in 0..3 {
            assert_eq!(m[a][a], 1.0);
            for b in 0..3 {
                if a != b {
                    let p = pearson(&cols[a], &cols[b]);
                    assert!(
                        p.to_bits() == m[a][b].to_bits() || (p.is_nan() && m[a][b].is_nan()),
                        "({a}, {b}): {p} vs {}",
                        m[a][b]
                    );
                }
            }
        }
        // Hand-worked: x̄ = 2.2, ȳ = 2; Σ(x−x̄)(y−ȳ) = 8.0, Σ(x−x̄)² = 9.3, Σ(y−ȳ)² = 10.
        assert!((m[0][1] - 8.0 / (9.3f64 * 10.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn quantiles_interpolate_order_statistics() {
        let s = Sorted::new(vec![4.0, 1.0, 3.0, 2.0, 5.0]).unwrap();
        assert_eq!(s.quantile(0.0), 1.0);
        assert_eq!(s.quantile(0.5), 3.0);
        assert_eq!(s.quantile(0.125), 1.5);
        assert_eq!(s.ecdf(3.0), 0.6);
        assert_eq!(s.below(3.0), 0.4);
        assert!(Sorted::new(vec![1.0, f64::NAN]).is_none());
        assert!(Sorted::new(vec![]).is_none());
    }

    #[test]
    fn welford_matches_two_pass() {
        let v: Vec<f64> = (0..1000)
            .map(|i| ((i * 7919) % 1000) as f64 / 7.0 + 1e6)
            .collect();
        let (m, sd) = mean_sd(&v);
        let m2 = v.iter().sum::<f64>() / v.len() as f64;
        let var = v.iter().map(|x| (x - m2).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
        assert!((m - m2).abs() < 1e-6 && (sd - var.sqrt()).abs() < 1e-9);
    }

    #[test]
    fn spearman_is_one_for_monotone_and_handles_ties() {
        let a = [1.0, 2.0, 3.0, 4.0];
        let b = [10.0, 20.0, 30.0, 1000.0];
        assert!((spearman(&a, &b) - 1.0).abs() < 1e-12);
        assert_eq!(ranks(&[2.0, 1.0, 2.0]), vec![2.5, 1.0, 2.5]);
    }

    #[test]
    fn quantile_se_of_uniform_median_matches_theory() {
        // For U(0,1), the median's standard error is 1 / (2 √n) (density 1 at the median).
        let n = 40_001;
        let s = Sorted::new((0..n).map(|i| (i as f64 + 0.5) / n as f64).collect()).unwrap();
        let se = s.quantile_se(0.5);
        let theory = 0.5 / (n as f64).sqrt();
        assert!((se / theory - 1.0).abs() < 0.02, "{se} vs {theory}");
    }
}
