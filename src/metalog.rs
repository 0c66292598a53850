//! Metalog distributions (Keelin, Decision Analysis 13(4), 2016): a quantile function that is a
//! linear combination of basis functions of the probability `y`,
//!
//! M(y) = a1 + a2 L + a3 (y − ½) L + a4 (y − ½) + a5 (y − ½)² + a6 (y − ½)² L + …,
//! with L = ln(y / (1 − y)),
//!
//! fitted to k ≥ 3 expert quantile pairs (p_i, x_i) by solving Y a = z (exactly when the number
//! of terms equals the number of pairs; in the least-squares sense when there are more pairs),
//! where z is x unbounded, ln(x − lo) bounded below (log-metalog), or ln((x − lo)/(hi − x))
//! bounded on both sides (logit-metalog). The quantile is then z⁻¹(M(y)). The linear system is
//! solved by nalgebra's singular value decomposition.
//!
//! A set of coefficients is a distribution only if M is strictly increasing; this is checked on a
//! grid of 4,000 probabilities spread evenly on the logit scale over ±37 (y from ~1e-16 to
//! 1 − 1e-16), through y(1 − y) M'(y), which stays finite in both tails.
//!
//! [`Metalog::fit_data`] fits a metalog to observations the way the R package rmetalog
//! (Faber & Jung; its `metalog()` with the default `step_len = 0.01`) does, so that its
//! published examples can be reproduced: the data are sorted; with at most 100 observations each
//! one is a pair (p_i, x_(i)) at the plotting position p_i = (i − ½)/n (tied values keep their
//! own positions); with more, the data are first summarised by their sample quantiles (R's
//! default, type 7: linear interpolation between order statistics at (n − 1)p) at 117 fixed
//! probabilities, 0.001 to 0.009 by 0.001, 0.01 to 0.99 by 0.01 and 0.991 to 0.999 by 0.001.
//! The coefficients are then the ordinary least-squares fit to those pairs, as for quantile
//! pairs.

use nalgebra::{DMatrix, DVector};

/// Largest number of terms accepted (Keelin's tables go to 16; above it the basis is
/// ill-conditioned).
pub const MAX_TERMS: usize = 16;

/// The basis function values at probability y (with L = logit(y) passed in for accuracy).
fn basis(j: usize, y: f64, l: f64) -> f64 {
    let c = y - 0.5;
    match j {
        0 => 1.0,
        1 => l,
        2 => c * l,
        3 => c,
        _ => {
            // j (0-based) even from 4: c^(j/2); odd from 5: c^((j-1)/2) L.
            if j.is_multiple_of(2) {
                libm::pow(c, (j / 2) as f64)
            } else {
                libm::pow(c, ((j - 1) / 2) as f64) * l
            }
        }
    }
}

/// y(1 − y) times the derivative of basis function j at y.
fn basis_slope(j: usize, y: f64, l: f64) -> f64 {
    let c = y - 0.5;
    let w = y * (1.0 - y);
    match j {
        0 => 0.0,
        1 => 1.0,
        2 => w * l + c,
        3 => w,
        _ => {
            if j.is_multiple_of(2) {
                let k = (j / 2) as f64;
                w * k * libm::pow(c, k - 1.0)
            } else {
                let k = ((j - 1) / 2) as f64;
                w * k * libm::pow(c, k - 1.0) * l + libm::pow(c, k)
            }
        }
    }
}

/// The transform between the data scale and the scale on which M is linear.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Bounds {
    Unbounded,
    Lower(f64),
    Both(f64, f64),
    /// Bounded above only: fitted to ln(hi − x) with the probabilities reversed.
    Upper(f64),
}

/// A fitted, feasible metalog.
#[derive(Clone, Debug)]
pub struct Metalog {
    pub coef: Vec<f64>,
    pub bounds: Bounds,
    pub mean: f64,
}

/// Why a metalog could not be built; `Display`-ready text for the caller to locate.
#[derive(Debug, Clone, PartialEq)]
pub enum MetalogError {
    /// The coefficients do not give an increasing quantile function: M'(y) <= 0 at `y`.
    NotIncreasing { y: f64, coef: Vec<f64> },
    /// The system could not be solved (rank deficient).
    Singular,
}

/// Why [`Metalog::fit_data`] could not fit the data; `index` is the 0-based position of the
/// observation in the data as given.
#[derive(Debug, Clone, PartialEq)]
pub enum DataError {
    /// `terms` outside [2, MAX_TERMS].
    Terms { terms: usize },
    /// Fewer observations than 3 or than the number of terms.
    TooFew { n: usize, terms: usize },
    /// An observation that is NaN or infinite.
    NotFinite { index: usize, value: f64 },
    /// An observation not strictly inside the bounds (the transform is infinite on a bound).
    OutsideBounds {
        index: usize,
        value: f64,
        bounds: Bounds,
    },
    /// The least-squares fit failed or is not a distribution.
    Fit(MetalogError),
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataError::Terms { terms } => write!(
                f,
                "terms = {terms}: a metalog fitted to data takes 2 to {MAX_TERMS} terms"
            ),
            DataError::TooFew { n, terms } => write!(
                f,
                "{n} observations: a {terms}-term metalog needs at least {} observations",
                (*terms).max(3)
            ),
            DataError::NotFinite { index, value } => write!(
                f,
                "observation {} is {value}: observations must be finite numbers",
                index + 1
            ),
            DataError::OutsideBounds {
                index,
                value,
                bounds,
            } => {
                let allowed = match bounds {
                    Bounds::Unbounded => "any finite number".to_string(),
                    Bounds::Lower(lo) => format!("greater than the lower bound {lo}"),
                    Bounds::Upper(hi) => format!("less than the upper bound {hi}"),
                    Bounds::Both(lo, hi) => {
                        format!("strictly between the bounds {lo} and {hi}")
                    }
                };
                write!(
                    f,
                    "observation {} is {value}: observations must be {allowed}",
                    index + 1
                )
            }
            DataError::Fit(MetalogError::Singular) => f.write_str(
                "the metalog least-squares system is singular for these data \
                 (too few distinct values for the number of terms)",
            ),
            DataError::Fit(MetalogError::NotIncreasing { y, coef }) => write!(
                f,
                "infeasible: the {}-term metalog fitted to these data (coefficients {}) is not \
                 increasing near probability {y:.3e} (use fewer terms or bounds)",
                coef.len(),
                coef.iter()
                    .map(|a| format!("{a:.6}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

impl std::error::Error for DataError {}

/// The probability step of the data summary (rmetalog's default `step_len`).
pub const DATA_STEP: f64 = 0.01;

/// Above this many observations the data are summarised by their sample quantiles (as rmetalog).
pub const DATA_SUMMARY_ABOVE: usize = 100;

/// The pairs (p, x) a metalog is fitted to from `sorted` observations (ascending, finite):
/// every observation at its plotting position (i − ½)/n when there are at most
/// [`DATA_SUMMARY_ABOVE`]; else the type-7 sample quantiles at rmetalog's 117 probabilities
/// (tails in steps of DATA_STEP/10, the body in steps of DATA_STEP).
pub fn data_pairs(sorted: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let n = sorted.len();
    if n <= DATA_SUMMARY_ABOVE {
        let p = (0..n).map(|i| (i as f64 + 0.5) / n as f64).collect();
        return (p, sorted.to_vec());
    }
    let steps = libm::round(1.0 / DATA_STEP) as usize;
    let tail = DATA_STEP / 10.0;
    let p: Vec<f64> = (1..10)
        .map(|j| j as f64 * tail)
        .chain((1..steps).map(|j| j as f64 * DATA_STEP))
        .chain((1..10).map(|j| 1.0 - DATA_STEP + j as f64 * tail))
        .collect();
    let x = p
        .iter()
        .map(|&u| {
            let h = (n - 1) as f64 * u;
            let lo = (libm::floor(h) as usize).min(n - 1);
            let hi = (lo + 1).min(n - 1);
            let w = h - lo as f64;
            if w > 0.0 && sorted[hi] != sorted[lo] {
                (1.0 - w) * sorted[lo] + w * sorted[hi]
            } else {
                sorted[lo]
            }
        })
        .collect();
    (p, x)
}

fn logit(y: f64) -> f64 {
    libm::log(y / (1.0 - y))
}

impl Metalog {
    /// Fit `terms` coefficients to the pairs (p_i, x_i). The caller has checked that the p are
    /// strictly increasing in (0, 1), the x strictly increasing (non-decreasing for the data
    /// pairs of [`Metalog::fit_data`]) and inside the bounds, and 2 <= terms <= number of pairs.
    pub fn fit(
        p: &[f64],
        x: &[f64],
        terms: usize,
        bounds: Bounds,
    ) -> Result<Metalog, MetalogError> {
        let n = p.len();
        let z: Vec<f64> = x.iter().map(|&v| Self::to_z(bounds, v)).collect();
        let (ps, zs): (Vec<f64>, Vec<f64>) = match bounds {
            // ln(hi − x) decreases in x: fit it as a quantile at 1 − p, then mirror.
            Bounds::Upper(_) => (p.iter().map(|v| 1.0 - v).collect(), z),
            _ => (p.to_vec(), z),
        };
        let y = DMatrix::from_fn(n, terms, |i, j| basis(j, ps[i], logit(ps[i])));
        let rhs = DVector::from_vec(zs);
        let svd = y.svd(true, true);
        let smax = svd.singular_values.max();
        if svd.singular_values.min().partial_cmp(&(1e-12 * smax))
            != Some(std::cmp::Ordering::Greater)
        {
            return Err(MetalogError::Singular);
        }
        let a = svd.solve(&rhs, 0.0).map_err(|_| MetalogError::Singular)?;
        let coef: Vec<f64> = a.iter().copied().collect();
        let mut m = Metalog {
            coef,
            bounds,
            mean: 0.0,
        };
        if let Some(y) = m.first_non_increasing() {
            return Err(MetalogError::NotIncreasing { y, coef: m.coef });
        }
        m.mean = m.integrate_mean();
        Ok(m)
    }

    /// Fit `terms` coefficients to observations `data` (any order) by least squares, as
    /// rmetalog's `metalog()` does (see the module notes and [`data_pairs`]). The data must be
    /// finite and strictly inside `bounds`, at least 3 and at least `terms` of them.
    pub fn fit_data(data: &[f64], terms: usize, bounds: Bounds) -> Result<Metalog, DataError> {
        if !(2..=MAX_TERMS).contains(&terms) {
            return Err(DataError::Terms { terms });
        }
        let (lo, hi) = match bounds {
            Bounds::Unbounded => (f64::NEG_INFINITY, f64::INFINITY),
            Bounds::Lower(lo) => (lo, f64::INFINITY),
            Bounds::Upper(hi) => (f64::NEG_INFINITY, hi),
            Bounds::Both(lo, hi) => (lo, hi),
        };
        for (index, &value) in data.iter().enumerate() {
            if !value.is_finite() {
                return Err(DataError::NotFinite { index, value });
            }
            if !(value > lo && value < hi) {
                return Err(DataError::OutsideBounds {
                    index,
                    value,
                    bounds,
                });
            }
        }
        if data.len() < terms.max(3) {
            return Err(DataError::TooFew {
                n: data.len(),
                terms,
            });
        }
        let mut sorted = data.to_vec();
        sorted.sort_by(f64::total_cmp);
        let (p, x) = data_pairs(&sorted);
        Metalog::fit(&p, &x, terms, bounds).map_err(DataError::Fit)
    }

    fn to_z(bounds: Bounds, x: f64) -> f64 {
        match bounds {
            Bounds::Unbounded => x,
            Bounds::Lower(lo) => libm::log(x - lo),
            Bounds::Upper(hi) => libm::log(hi - x),
            Bounds::Both(lo, hi) => libm::log((x - lo) / (hi - x)),
        }
    }

    /// M at logit t (y = 1/(1 + e^−t)).
    fn m_at_logit(&self, t: f64) -> f64 {
        let y = 1.0 / (1.0 + libm::exp(-t));
        self.m(y, t)
    }

    fn m(&self, y: f64, l: f64) -> f64 {
        self.coef
            .iter()
            .enumerate()
            .map(|(j, a)| a * basis(j, y, l))
            .sum()
    }

    /// The first grid probability at which y(1 − y) M'(y) <= 0, if any.
    fn first_non_increasing(&self) -> Option<f64> {
        const N: usize = 4000;
        (0..=N).find_map(|i| {
            let t = -37.0 + 74.0 * i as f64 / N as f64;
            let y = 1.0 / (1.0 + libm::exp(-t));
            let s: f64 = self
                .coef
                .iter()
                .enumerate()
                .map(|(j, a)| a * basis_slope(j, y, t))
                .sum();
            if s > 0.0 { None } else { Some(y) }
        })
    }

    fn untransform(&self, z: f64) -> f64 {
        match self.bounds {
            Bounds::Unbounded => z,
            Bounds::Lower(lo) => lo + libm::exp(z),
            Bounds::Upper(hi) => hi - libm::exp(z),
            Bounds::Both(lo, hi) => {
                if z > 0.0 {
                    let e = libm::exp(-z);
                    (hi + lo * e) / (1.0 + e)
                } else {
                    let e = libm::exp(z);
                    (lo + hi * e) / (1.0 + e)
                }
            }
        }
        .clamp(self.support().0, self.support().1)
    }

    /// Quantile at u in (0, 1).
    pub fn quantile(&self, u: f64) -> f64 {
        let y = if let Bounds::Upper(_) = self.bounds {
            1.0 - u
        } else {
            u
        };
        self.untransform(self.m(y, logit(y)))
    }

    /// P(X <= x), by bisection on the logit of the probability (M is increasing).
    pub fn cdf(&self, x: f64) -> f64 {
        let (lo, hi) = self.support();
        if x <= lo {
            return 0.0;
        }
        if x >= hi {
            return 1.0;
        }
        let z = Self::to_z(self.bounds, x);
        let (mut a, mut b) = (-745.0_f64, 745.0_f64);
        for _ in 0..200 {
            let mid = 0.5 * (a + b);
            if mid <= a || mid >= b {
                break;
            }
            if self.m_at_logit(mid) < z {
                a = mid;
            } else {
                b = mid;
            }
        }
        let y = 1.0 / (1.0 + libm::exp(-0.5 * (a + b)));
        if let Bounds::Upper(_) = self.bounds {
            1.0 - y
        } else {
            y
        }
    }

    pub fn support(&self) -> (f64, f64) {
        match self.bounds {
            Bounds::Unbounded => (f64::NEG_INFINITY, f64::INFINITY),
            Bounds::Lower(lo) => (lo, f64::INFINITY),
            Bounds::Upper(hi) => (f64::NEG_INFINITY, hi),
            Bounds::Both(lo, hi) => (lo, hi),
        }
    }

    /// E(X) = ∫ Q(Φ(s)) φ(s) ds by the trapezoid rule on the normal score s over ±38; infinite
    /// when a semi-bounded tail is too heavy (the coefficient of L in the tail, the sum of the L
    /// terms at y = 1, is >= 1, so exp(M) ~ (y/(1−y))^b has no mean).
    fn integrate_mean(&self) -> f64 {
        if matches!(self.bounds, Bounds::Lower(_) | Bounds::Upper(_)) {
            let tail: f64 = self
                .coef
                .iter()
                .enumerate()
                .filter(|(j, _)| *j == 1 || *j == 2 || (*j >= 5 && !j.is_multiple_of(2)))
                .map(|(j, a)| a * basis(j, 1.0, 1.0))
                .sum();
            if tail >= 1.0 {
                return match self.bounds {
                    Bounds::Lower(_) => f64::INFINITY,
                    _ => f64::NEG_INFINITY,
                };
            }
        }
        let f = |s: f64| {
            let u = crate::dist::std_normal_cdf(s);
            if !(u > 0.0 && u < 1.0) {
                return 0.0;
            }
            let q = self.quantile(u);
            q * libm::exp(-0.5 * s * s) * 0.398_942_280_401_432_7
        };
        let (n, a, b) = (20_000usize, -38.0, 38.0);
        let h = (b - a) / n as f64;
        h * (0.5 * (f(a) + f(b)) + (1..n).map(|i| f(a + i as f64 * h)).sum::<f64>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: [f64; 3] = [0.1, 0.5, 0.9];

    /// Keelin (2016): the 3-term metalog through P10/P50/P90 = 80/100/130 has coefficients
    /// a1 = 100, a2 = 50 / (2 ln 9) = 11.378, a3 = 10 / (0.8 ln 9) = 5.689.
    #[test]
    fn three_term_reference_coefficients_and_quantiles() {
        let m = Metalog::fit(&P, &[80.0, 100.0, 130.0], 3, Bounds::Unbounded).unwrap();
        for (a, want) in m.coef.iter().zip([100.0, 11.378, 5.689]) {
            assert!((a - want).abs() < 5e-4, "{:?}", m.coef);
        }
        for (p, x) in P.iter().zip([80.0, 100.0, 130.0]) {
            assert!(
                (m.quantile(*p) - x).abs() < 1e-9 * x,
                "{p}: {}",
                m.quantile(*p)
            );
        }
        // Keelin's closed form for the 3-term mean: a1 + a3 / 2.
        let want = m.coef[0] + 0.5 * m.coef[2];
        assert!((m.mean - want).abs() < 1e-8 * want, "{} vs {want}", m.mean);
    }

    #[test]
    fn cdf_inverts_the_quantile_for_every_bound_kind() {
        let x = [80.0, 100.0, 130.0];
        for b in [
            Bounds::Unbounded,
            Bounds::Lower(50.0),
            Bounds::Upper(200.0),
            Bounds::Both(50.0, 200.0),
        ] {
            let m = Metalog::fit(&P, &x, 3, b).unwrap();
            for (p, v) in P.iter().zip(x) {
                assert!((m.quantile(*p) - v).abs() < 1e-9 * v, "{b:?} {p}");
            }
            for i in 1..1000 {
                let u = i as f64 / 1000.0;
                let q = m.quantile(u);
                let (lo, hi) = m.support();
                assert!(q > lo && q < hi, "{b:?} {u}: {q}");
                assert!((m.cdf(q) - u).abs() < 1e-12, "{b:?} {u}: {}", m.cdf(q));
            }
        }
    }

    /// More pairs than terms: pairs taken from a known 4-term metalog are fitted back exactly
    /// by least squares.
    #[test]
    fn least_squares_recovers_a_known_metalog() {
        let truth = Metalog {
            coef: vec![10.0, 2.0, 0.5, 1.0],
            bounds: Bounds::Unbounded,
            mean: 0.0,
        };
        let p = [0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.98];
        let x: Vec<f64> = p.iter().map(|&u| truth.quantile(u)).collect();
        let m = Metalog::fit(&p, &x, 4, Bounds::Unbounded).unwrap();
        for (a, b) in m.coef.iter().zip(&truth.coef) {
            assert!((a - b).abs() < 1e-10, "{:?}", m.coef);
        }
    }

    /// a3 / a2 beyond Keelin's 3-term feasibility limit (1.66711) is rejected; just inside it is
    /// accepted.
    #[test]
    fn feasibility_limit_of_the_three_term_metalog() {
        let l = libm::log(9.0);
        let make = |ratio: f64| {
            let (a2, a3) = (1.0, ratio);
            [-a2 * l + 0.4 * a3 * l, 0.0, a2 * l + 0.4 * a3 * l]
        };
        assert!(Metalog::fit(&P, &make(1.66), 3, Bounds::Unbounded).is_ok());
        assert!(matches!(
            Metalog::fit(&P, &make(1.68), 3, Bounds::Unbounded),
            Err(MetalogError::NotIncreasing { .. })
        ));
    }

    /// rmetalog's published example (its README): the 3,474 fish sizes of
    /// tests/data/fishsize/, 9 terms, bounded on (0, 60), have quartiles 7.241 / 9.840 / 12.063
    /// (printed to 3 decimals, hence ±0.0005).
    #[test]
    fn fit_data_reproduces_rmetalog_fish_size_quartiles() {
        let text = include_str!("../tests/data/fishsize/fishsize.csv");
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("FishSize"));
        let data: Vec<f64> = lines.map(|l| l.parse().unwrap()).collect();
        assert_eq!(data.len(), 3474);
        let m = Metalog::fit_data(&data, 9, Bounds::Both(0.0, 60.0)).unwrap();
        assert_eq!(m.coef.len(), 9);
        for (u, want) in [(0.25, 7.241), (0.5, 9.840), (0.75, 12.063)] {
            let q = m.quantile(u);
            assert!((q - want).abs() <= 5e-4, "P{}: {q} vs {want}", u * 100.0);
        }
    }

    /// At most 100 observations: each is fitted at its plotting position (i − ½)/n, so data
    /// placed exactly on a 3-term metalog's quantiles there give back its coefficients, in any
    /// order; bounded data likewise on the transformed scale.
    #[test]
    fn fit_data_recovers_a_metalog_from_its_quantiles_at_the_plotting_positions() {
        for (bounds, coef) in [
            (Bounds::Unbounded, vec![100.0, 11.378, 5.689]),
            (Bounds::Both(0.0, 60.0), vec![-1.6, 0.4, 0.3]),
            (Bounds::Lower(2.0), vec![1.0, 0.25, -0.1]),
        ] {
            let truth = Metalog {
                coef: coef.clone(),
                bounds,
                mean: 0.0,
            };
            let n = 40;
            // Reversed order: fit_data sorts.
            let data: Vec<f64> = (0..n)
                .rev()
                .map(|i| truth.quantile((i as f64 + 0.5) / n as f64))
                .collect();
            let m = Metalog::fit_data(&data, 3, bounds).unwrap();
            for (a, b) in m.coef.iter().zip(&coef) {
                assert!((a - b).abs() < 1e-9, "{bounds:?}: {:?}", m.coef);
            }
        }
    }

    /// Above 100 observations the summary pairs are the type-7 sample quantiles at rmetalog's
    /// 117 probabilities: for the data 1, 2, …, 201 the quantile at p is 1 + 200 p.
    #[test]
    fn data_summary_is_type_7_quantiles_on_the_rmetalog_grid() {
        let data: Vec<f64> = (1..=201).map(f64::from).collect();
        let (p, x) = data_pairs(&data);
        assert_eq!(p.len(), 117);
        let want: Vec<f64> = (1..10)
            .map(|j| j as f64 / 1000.0)
            .chain((1..100).map(|j| j as f64 / 100.0))
            .chain((1..10).map(|j| 0.99 + j as f64 / 1000.0))
            .collect();
        for ((a, b), v) in p.iter().zip(&want).zip(&x) {
            assert!((a - b).abs() < 1e-15, "{a} vs {b}");
            assert!((v - (1.0 + 200.0 * b)).abs() < 1e-12, "{b}: {v}");
        }
        // Ties: the quantile between two equal order statistics is that value.
        let mut tied = vec![5.0; 150];
        tied.extend(std::iter::repeat_n(7.0, 51));
        let (_, x) = data_pairs(&tied);
        assert!(
            x.iter()
                .all(|&v| v == 5.0 || v == 7.0 || (v > 5.0 && v < 7.0))
        );
        assert_eq!(x[0], 5.0);
        assert_eq!(x[116], 7.0);
        // p = 0.75: h = 150, the 151st order statistic, the first 7.
        assert_eq!(x[9 + 74], 7.0);
        // p = 0.74: h = 148, between two 5s.
        assert_eq!(x[9 + 73], 5.0);
    }

    #[test]
    fn fit_data_rejects_bad_data_with_the_observation() {
        let ok = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(Metalog::fit_data(&ok, 3, Bounds::Unbounded).is_ok());
        let e = Metalog::fit_data(&[1.0, f64::NAN, 3.0], 3, Bounds::Unbounded).unwrap_err();
        assert!(matches!(e, DataError::NotFinite { index: 1, value } if value.is_nan()));
        assert!(e.to_string().contains("observation 2 is NaN"), "{e}");
        let e = Metalog::fit_data(&[1.0, 2.0, 0.0, 3.0], 3, Bounds::Both(0.0, 60.0)).unwrap_err();
        assert_eq!(
            e,
            DataError::OutsideBounds {
                index: 2,
                value: 0.0,
                bounds: Bounds::Both(0.0, 60.0)
            }
        );
        assert!(
            e.to_string().contains("observation 3 is 0")
                && e.to_string()
                    .contains("strictly between the bounds 0 and 60"),
            "{e}"
        );
        let e = Metalog::fit_data(&[1.0, 2.0, 61.0], 3, Bounds::Upper(60.0)).unwrap_err();
        assert!(
            matches!(e, DataError::OutsideBounds { index: 2, .. }),
            "{e}"
        );
        assert_eq!(
            Metalog::fit_data(&ok[..4], 5, Bounds::Unbounded).unwrap_err(),
            DataError::TooFew { n: 4, terms: 5 }
        );
        assert_eq!(
            Metalog::fit_data(&ok[..2], 2, Bounds::Unbounded).unwrap_err(),
            DataError::TooFew { n: 2, terms: 2 }
        );
        for terms in [1, MAX_TERMS + 1] {
            assert_eq!(
                Metalog::fit_data(&ok, terms, Bounds::Unbounded).unwrap_err(),
                DataError::Terms { terms }
            );
        }
    }

    /// Three observations are fitted exactly at p = 1/6, 1/2, 5/6; placed on a 3-term
    /// "metalog" with a3/a2 = 1.7 (beyond the feasibility limit 1.66711) they are increasing, but
    /// the fitted quantile function is not.
    #[test]
    fn fit_data_rejects_an_infeasible_fit() {
        let l = libm::log(5.0);
        let (a2, a3) = (1.0, 1.7);
        let data = [a2 * l + a3 * l / 3.0, -a2 * l + a3 * l / 3.0, 0.0];
        let e = Metalog::fit_data(&data, 3, Bounds::Unbounded).unwrap_err();
        match &e {
            DataError::Fit(MetalogError::NotIncreasing { coef, .. }) => {
                assert!((coef[1] - a2).abs() < 1e-12 && (coef[2] - a3).abs() < 1e-12);
            }
            _ => panic!("{e:?}"),
        }
        assert!(
            e.to_string().starts_with("infeasible: the 3-term metalog"),
            "{e}"
        );
    }
}
