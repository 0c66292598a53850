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

fn logit(y: f64) -> f64 {
    libm::log(y / (1.0 - y))
}

impl Metalog {
    /// Fit `terms` coefficients to the pairs (p_i, x_i). The caller has checked that the p are
    /// strictly increasing in (0, 1), the x strictly increasing and inside the bounds, and
    /// 2 <= terms <= number of pairs.
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
}
