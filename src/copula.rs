//! The Gaussian copula's normal-score correlations that give target Spearman rank correlations,
//! for any marginals (continuous, discrete, tied, clipped), and the repair of a matrix of them
//! to the nearest correlation matrix.
//!
//! An input is drawn as `x = v(U)`, `U = Φ(Z)`, `v` monotone (the input's quantile function, or
//! for `between_scenarios` the position along the prudent→base line). Two inputs whose normal
//! scores `Z₁, Z₂` have correlation `r` have the population Spearman correlation
//!
//! ```text
//! ρ_s(r) = s₁ s₂ Corr(G₁(U₁), G₂(U₂))
//! ```
//!
//! where `sᵢ` is +1 (−1) when `vᵢ` increases (decreases) and `Gᵢ` is the input's mid-distribution
//! function seen from `U`: `G(u) = u` where `v` is strictly monotone, and the midpoint of the
//! interval where `v` is flat (an atom of the input: a discrete value, a clipped end). This is
//! what the sample Spearman correlation with mid-ranks for ties converges to. `E G = 1/2` and
//! `Var G = (1 − Σ pⱼ³)/12` over the atoms' probabilities `pⱼ`. For two continuous inputs,
//! `ρ_s = (6/π) asin(r/2)`, so `r = 2 sin(π ρ_s / 6)`; otherwise `E[G₁ G₂]` is integrated
//! deterministically: writing `Z₂ = r Z₁ + √(1 − r²) W`,
//!
//! ```text
//! E[G₁ G₂] = ∫ φ(z) G₁(Φ(z)) h₂(z) dz,   h₂(z) = E_W[G₂(Φ(r z + √(1 − r²) W))]
//! ```
//!
//! with `h₂` exact on `G₂`'s flat pieces (normal probabilities) and Gauss–Legendre on its
//! increasing pieces, and the outer integral by Gauss–Legendre on panels split at every place
//! the integrand has a kink, over |z| ≤ 8.5 (the mass beyond is below 1e-16). `ρ_s(r)` increases
//! in `r`, so the `r` meeting a target is found by safeguarded regula falsi on [−1, 1]; a target
//! outside [ρ_s(−1), ρ_s(1)] (ties limit how strongly two discrete inputs can be rank-correlated)
//! is met as closely as possible, at r = ±1, and reported.
//!
//! A matrix of pairwise-solved `r` need not be positive semi-definite; [`nearest_correlation`]
//! repairs it by Higham's alternating projections with Dykstra's correction (N. J. Higham,
//! "Computing the nearest correlation matrix — a problem from finance", IMA J. Numer. Anal. 22
//! (2002) 329–343), in the Frobenius norm.

use crate::dist::{std_normal_cdf, std_normal_quantile};

/// Normal scores beyond ±`Z_MAX` are ignored in the integrals (Φ(−8.5) ≈ 1e-17).
const Z_MAX: f64 = 8.5;
/// Atoms smaller than this are treated as continuous (see [`Marginal::with_flats`]).
pub const SMALLEST_ATOM: f64 = 1e-3;
/// Widest quadrature panel in normal-score units.
const PANEL: f64 = 0.25;

/// How an input's value depends on its uniform, as far as ranks are concerned.
#[derive(Debug, Clone, PartialEq)]
pub struct Marginal {
    /// +1 when the value increases with the uniform, −1 when it decreases, 0 when it is constant
    /// (a constant input has no rank correlation with anything).
    pub direction: f64,
    /// The intervals of the uniform on which the value is constant (atoms), sorted and disjoint
    /// (they may touch); the value is strictly monotone elsewhere.
    pub flats: Vec<(f64, f64)>,
}

impl Marginal {
    /// A continuous, increasing marginal.
    pub fn continuous() -> Marginal {
        Marginal {
            direction: 1.0,
            flats: Vec::new(),
        }
    }

    /// A marginal with the given atoms (intervals of the uniform), increasing elsewhere.
    /// Overlapping intervals are merged. Atoms of probability below [`SMALLEST_ATOM`] are
    /// treated as continuous: they change a rank correlation by less than the square of their
    /// size (1e-6), far below any Monte Carlo error, and an empirical distribution of many
    /// distinct values would otherwise make the quadrature slow.
    pub fn with_flats(direction: f64, mut flats: Vec<(f64, f64)>) -> Marginal {
        flats.retain(|(a, b)| b - a >= SMALLEST_ATOM);
        flats.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(flats.len());
        for (a, b) in flats {
            match merged.last_mut() {
                // Overlapping (not merely touching) intervals are one atom.
                Some(last) if a < last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        let constant = merged.len() == 1 && merged[0].0 <= 0.0 && merged[0].1 >= 1.0;
        Marginal {
            direction: if constant { 0.0 } else { direction },
            flats: merged,
        }
    }

    fn is_continuous(&self) -> bool {
        self.flats.is_empty()
    }

    /// Var G(U) = (1 − Σ p³)/12.
    fn grade_variance(&self) -> f64 {
        let cubes: f64 = self.flats.iter().map(|(a, b)| (b - a).powi(3)).sum();
        (1.0 - cubes) / 12.0
    }

    /// The pieces of [0, 1] in normal-score units: (z_lo, z_hi, Some(mid) on a flat, None where
    /// G(u) = u).
    fn pieces(&self) -> Vec<(f64, f64, Option<f64>)> {
        let z = |u: f64| std_normal_quantile(u.clamp(0.0, 1.0));
        let mut out = Vec::new();
        let mut at = 0.0;
        for &(a, b) in &self.flats {
            if a > at {
                out.push((z(at), z(a), None));
            }
            out.push((z(a), z(b), Some(0.5 * (a + b))));
            at = b;
        }
        if at < 1.0 {
            out.push((z(at), f64::INFINITY, None));
        }
        out
    }
}

/// Gauss–Legendre nodes and weights on [−1, 1] (Newton on the Legendre recurrence).
fn gauss_legendre(n: usize) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut x = (std::f64::consts::PI * (i as f64 + 0.75) / (n as f64 + 0.5)).cos();
        let mut dp = 0.0;
        for _ in 0..100 {
            let (mut p0, mut p1) = (1.0, x);
            for k in 2..=n {
                let p2 = ((2 * k - 1) as f64 * x * p1 - (k - 1) as f64 * p0) / k as f64;
                p0 = p1;
                p1 = p2;
            }
            dp = n as f64 * (x * p1 - p0) / (x * x - 1.0);
            let dx = p1 / dp;
            x -= dx;
            if dx.abs() < 1e-16 {
                break;
            }
        }
        out.push((x, 2.0 / ((1.0 - x * x) * dp * dp)));
    }
    out
}

/// ∫ f over [a, b] by Gauss–Legendre on panels no wider than [`PANEL`].
fn integrate(gl: &[(f64, f64)], a: f64, b: f64, f: &mut dyn FnMut(f64) -> f64) -> f64 {
    if b <= a {
        return 0.0;
    }
    let panels = ((b - a) / PANEL).ceil().max(1.0) as usize;
    let w = (b - a) / panels as f64;
    let mut total = 0.0;
    for p in 0..panels {
        let (lo, hi) = (a + p as f64 * w, a + (p + 1) as f64 * w);
        let (c, h) = (0.5 * (lo + hi), 0.5 * (hi - lo));
        let mut s = 0.0;
        for &(x, wt) in gl {
            s += wt * f(c + h * x);
        }
        total += s * h;
    }
    total
}

fn phi(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// E_W[G₂(Φ(m + s W))], W standard normal.
fn inner(
    gl: &[(f64, f64)],
    b: &Marginal,
    pieces: &[(f64, f64, Option<f64>)],
    m: f64,
    s: f64,
) -> f64 {
    if s <= 1e-12 {
        // |r| = 1: Z₂ = m exactly.
        let u = std_normal_cdf(m);
        return match pieces.iter().find(|p| m >= p.0 && m <= p.1) {
            Some((_, _, Some(mid))) => *mid,
            _ => u,
        };
    }
    if b.is_continuous() {
        // E Φ(m + s W) = Φ(m / √(1 + s²)).
        return std_normal_cdf(m / (1.0 + s * s).sqrt());
    }
    let mut total = 0.0;
    for &(zlo, zhi, mid) in pieces {
        let (wlo, whi) = ((zlo - m) / s, (zhi - m) / s);
        match mid {
            Some(c) => total += c * (std_normal_cdf(whi) - std_normal_cdf(wlo)),
            None => {
                let (lo, hi) = (wlo.max(-Z_MAX), whi.min(Z_MAX));
                total += integrate(gl, lo, hi, &mut |w| std_normal_cdf(m + s * w) * phi(w));
            }
        }
    }
    total
}

/// The population Spearman rank correlation of two inputs whose normal scores have
/// correlation `r` in [−1, 1].
pub fn spearman(r: f64, a: &Marginal, b: &Marginal) -> f64 {
    let sign = a.direction * b.direction;
    if sign == 0.0 {
        return 0.0;
    }
    if a.is_continuous() && b.is_continuous() {
        return sign * 6.0 / std::f64::consts::PI * (r / 2.0).asin();
    }
    let gl = gauss_legendre(12);
    let s = (1.0 - r * r).max(0.0).sqrt();
    let pa = a.pieces();
    let pb = b.pieces();
    // Outer panels: split where G₁ has a kink, and where h₂ changes fastest (G₂'s kinks seen
    // through z₂ = r z₁), so each panel's integrand is smooth.
    let mut cuts: Vec<f64> = vec![-Z_MAX, Z_MAX];
    for p in &pa {
        cuts.push(p.0);
        cuts.push(p.1);
    }
    if r != 0.0 {
        for p in &pb {
            cuts.push(p.0 / r);
            cuts.push(p.1 / r);
        }
    }
    cuts.retain(|c| c.is_finite() && c.abs() <= Z_MAX);
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let mut e = 0.0;
    for w in cuts.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let zm = 0.5 * (lo + hi);
        let mid = pa.iter().find(|p| zm >= p.0 && zm <= p.1).and_then(|p| p.2);
        e += integrate(&gl, lo, hi, &mut |z| {
            let g1 = mid.unwrap_or_else(|| std_normal_cdf(z));
            phi(z) * g1 * inner(&gl, b, &pb, r * z, s)
        });
    }
    sign * (e - 0.25) / (a.grade_variance() * b.grade_variance()).sqrt()
}

/// The normal-score correlation found for one target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solved {
    /// The normal-score correlation.
    pub r: f64,
    /// The Spearman correlation it gives (equal to the target when `reachable`).
    pub spearman: f64,
    /// Whether the target lies inside what the two marginals allow.
    pub reachable: bool,
}

/// The normal-score correlation `r` whose Spearman correlation for marginals `a`, `b` is
/// `target`; deterministic, to about 1e-12 in `r`.
pub fn solve(target: f64, a: &Marginal, b: &Marginal) -> Solved {
    let sign = a.direction * b.direction;
    if target == 0.0 || sign == 0.0 {
        return Solved {
            r: 0.0,
            spearman: 0.0,
            reachable: target == 0.0,
        };
    }
    if a.is_continuous() && b.is_continuous() {
        let r = 2.0 * (std::f64::consts::PI * sign * target / 6.0).sin();
        return Solved {
            r,
            spearman: target,
            reachable: true,
        };
    }
    // g(r) = s₁ s₂ (ρ_s(r) − target) = Corr(G₁, G₂)(r) − s₁ s₂ target increases with r.
    let g = |r: f64| sign * (spearman(r, a, b) - target);
    let (mut lo, mut hi) = (-1.0, 1.0);
    let (mut glo, mut ghi) = (g(lo), g(hi));
    for (end, at) in [(lo, glo), (hi, ghi)] {
        if (end < 0.0 && at >= 0.0) || (end > 0.0 && at <= 0.0) {
            return Solved {
                r: end,
                spearman: spearman(end, a, b),
                reachable: at == 0.0,
            };
        }
    }
    // Illinois regula falsi, with a bisection step whenever the bracket shrinks too slowly.
    let mut side = 0;
    let mut r = 0.0;
    for it in 0..200 {
        let width = hi - lo;
        r = if it % 4 == 3 {
            0.5 * (lo + hi)
        } else {
            (lo * ghi - hi * glo) / (ghi - glo)
        };
        let gr = g(r);
        if gr == 0.0 {
            break;
        }
        if gr < 0.0 {
            lo = r;
            glo = gr;
            if side == -1 {
                ghi *= 0.5;
            }
            side = -1;
        } else {
            hi = r;
            ghi = gr;
            if side == 1 {
                glo *= 0.5;
            }
            side = 1;
        }
        if hi - lo < 1e-13 || (width - (hi - lo)).abs() < 1e-15 {
            break;
        }
    }
    Solved {
        r,
        spearman: spearman(r, a, b),
        reachable: true,
    }
}

/// [`solve`] over the pairs of a correlation block, each distinct problem once: inputs that share
/// a distribution and a target (the default delays, three inputs of one distribution at rank
/// correlation 0.5, three pairs of one problem) take the first pair's answer, which is the same
/// bits. A problem is the target and the two marginals in order, compared bit for bit (+0 and −0
/// apart), so that the memo never gives an answer `solve` would not. The quadrature behind one
/// discrete pair takes a few milliseconds, and a run solves its block before any draw.
#[derive(Debug, Default)]
pub struct SolveMemo {
    solved: Vec<(Vec<u64>, Solved)>,
}

impl SolveMemo {
    /// [`solve`]`(target, a, b)`, or its answer to the same problem solved before.
    pub fn solve(&mut self, target: f64, a: &Marginal, b: &Marginal) -> Solved {
        // The problem's bits: the target, the first marginal's number of atoms (where the second
        // marginal starts), then each marginal's direction and atoms.
        fn bits(m: &Marginal) -> impl Iterator<Item = u64> + '_ {
            let atoms = m.flats.iter().flat_map(|&(lo, hi)| [lo, hi]);
            [m.direction].into_iter().chain(atoms).map(f64::to_bits)
        }
        let key: Vec<u64> = [target.to_bits(), a.flats.len() as u64]
            .into_iter()
            .chain(bits(a))
            .chain(bits(b))
            .collect();
        if let Some((_, s)) = self.solved.iter().find(|(k, _)| *k == key) {
            return *s;
        }
        let s = solve(target, a, b);
        self.solved.push((key, s));
        s
    }
}

/// Smallest eigenvalue of a symmetric matrix.
pub fn min_eigenvalue(m: &[Vec<f64>]) -> f64 {
    let k = m.len();
    let mat = nalgebra::DMatrix::from_fn(k, k, |i, j| m[i][j]);
    nalgebra::SymmetricEigen::new(mat)
        .eigenvalues
        .iter()
        .cloned()
        .fold(f64::INFINITY, f64::min)
}

/// The correlation matrix nearest to symmetric `a` in the Frobenius norm (Higham 2002,
/// alternating projections with Dykstra's correction), to `tol` in successive iterates.
pub fn nearest_correlation(a: &[Vec<f64>], tol: f64) -> Vec<Vec<f64>> {
    let k = a.len();
    let a = nalgebra::DMatrix::from_fn(k, k, |i, j| a[i][j]);
    let mut ds = nalgebra::DMatrix::<f64>::zeros(k, k);
    let mut y = a.clone();
    for _ in 0..10_000 {
        let r = &y - &ds;
        // Projection onto the positive semi-definite cone.
        let eig = nalgebra::SymmetricEigen::new(r.clone());
        let mut l = eig.eigenvalues.clone();
        for v in l.iter_mut() {
            *v = v.max(0.0);
        }
        let x =
            &eig.eigenvectors * nalgebra::DMatrix::from_diagonal(&l) * eig.eigenvectors.transpose();
        let x = (&x + x.transpose()) * 0.5;
        ds = &x - &r;
        // Projection onto unit-diagonal matrices.
        let mut ynew = x.clone();
        for i in 0..k {
            ynew[(i, i)] = 1.0;
        }
        let change = (&ynew - &y).norm() / ynew.norm();
        y = ynew;
        if change < tol && (&y - &x).norm() / y.norm() < tol {
            break;
        }
    }
    (0..k)
        .map(|i| (0..k).map(|j| y[(i, j)]).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays() -> Marginal {
        // Values 0 / 0.5 / 1 / 2 with weights 0.5 / 0.25 / 0.15 / 0.1.
        Marginal::with_flats(1.0, vec![(0.0, 0.5), (0.5, 0.75), (0.75, 0.9), (0.9, 1.0)])
    }

    /// The memo answers every pair in the bits `solve` gives it, and solves each problem (the
    /// target and the two marginals in order, bit for bit) once: pairs repeated, reversed,
    /// with another target, another marginal, or a target of −0 against +0.
    #[test]
    fn the_memo_answers_as_solve_and_solves_each_problem_once() {
        let d = delays();
        let other = Marginal::with_flats(1.0, vec![(0.0, 0.4), (0.4, 0.75), (0.9, 1.0)]);
        let c = Marginal::continuous();
        let problems = [
            (0.5, &d, &d),
            (0.5, &d, &d),
            (0.3, &d, &d),
            (0.5, &d, &other),
            (0.5, &other, &d),
            (0.5, &d, &d),
            (0.5, &c, &d),
            (0.0, &d, &d),
            (-0.0, &d, &d),
            (0.5, &d, &other),
        ];
        let mut memo = SolveMemo::default();
        for (t, a, b) in problems {
            let (got, want) = (memo.solve(t, a, b), solve(t, a, b));
            assert_eq!(
                (got.r.to_bits(), got.spearman.to_bits(), got.reachable),
                (want.r.to_bits(), want.spearman.to_bits(), want.reachable),
                "{t} {a:?} {b:?}"
            );
        }
        assert_eq!(memo.solved.len(), 7);
        // The marginals differ, so do their answers: the memo would be wrong to share them.
        assert_ne!(solve(0.5, &d, &d).r, solve(0.5, &d, &other).r);
    }

    #[test]
    fn continuous_marginals_follow_the_closed_form() {
        let c = Marginal::continuous();
        for rho in [-0.9, -0.3, 0.1, 0.5, 0.95] {
            let s = solve(rho, &c, &c);
            assert!((s.r - 2.0 * (std::f64::consts::PI * rho / 6.0).sin()).abs() < 1e-15);
        }
        // The quadrature path, forced with one small atom: it moves the Spearman correlation by
        // less than the cube of its size.
        let nearly = Marginal::with_flats(1.0, vec![(0.5, 0.5 + 1e-3)]);
        for r in [-0.8, 0.3, 0.6, 0.9] {
            let exact = 6.0 / std::f64::consts::PI * (r / 2.0f64).asin();
            assert!(
                (spearman(r, &nearly, &nearly) - exact).abs() < 1e-8,
                "r = {r}"
            );
            assert!((spearman(r, &nearly, &c) - exact).abs() < 1e-8, "r = {r}");
        }
    }

    #[test]
    fn many_small_atoms_count_as_continuous() {
        // An empirical distribution of 5,000 distinct values: its atoms (2e-4 each) are
        // dropped, and the closed form applies.
        let d = crate::dist::Dist::empirical((0..5000).map(|i| i as f64).collect()).unwrap();
        let m = Marginal::with_flats(1.0, d.atoms());
        assert!(m.flats.is_empty());
        // Fifty distinct values (atoms of 0.02) keep their ties, and solve quickly.
        let d = crate::dist::Dist::empirical((0..5000).map(|i| (i % 50) as f64).collect()).unwrap();
        let m = Marginal::with_flats(1.0, d.atoms());
        assert_eq!(m.flats.len(), 50);
        let s = solve(0.5, &m, &m);
        assert!(s.reachable && (s.spearman - 0.5).abs() < 1e-10 && s.r > 0.5176);
    }

    #[test]
    fn the_delays_need_a_normal_score_correlation_of_0_604() {
        let d = delays();
        // The old copula (r = 2 sin(π 0.5 / 6) = 0.5176) gives the measured 0.42.
        let old = spearman(2.0 * (std::f64::consts::PI * 0.5 / 6.0).sin(), &d, &d);
        assert!((old - 0.42).abs() < 0.005, "{old}");
        let s = solve(0.5, &d, &d);
        assert!(s.reachable);
        assert!((s.r - 0.604).abs() < 0.0005, "{}", s.r);
        assert!((s.spearman - 0.5).abs() < 1e-10);
        // Decreasing against increasing: the sign flips, the size does not.
        let down = Marginal::with_flats(-1.0, d.flats.clone());
        let t = solve(-0.5, &down, &d);
        assert!((t.r - s.r).abs() < 1e-9, "{}", t.r);
        // Perfect rank correlation is out of reach only through ties it cannot have: two equal
        // marginals reach 1 at r = 1.
        assert!((spearman(1.0, &d, &d) - 1.0).abs() < 1e-9);
        // A Bernoulli(0.5) against a continuous input cannot reach 0.9.
        let coin = Marginal::with_flats(1.0, vec![(0.0, 0.5), (0.5, 1.0)]);
        let u = solve(0.9, &coin, &Marginal::continuous());
        assert!(!u.reachable && u.r == 1.0 && u.spearman < 0.9, "{u:?}");
    }

    #[test]
    fn the_solved_correlation_holds_in_a_simulation() {
        // Independent check of the quadrature: bivariate normals with the solved r, pushed
        // through a discrete and a clipped continuous marginal, sample Spearman with mid-ranks.
        let d = delays();
        let clipped = Marginal::with_flats(1.0, vec![(0.0, 0.1)]);
        let s = solve(0.5, &d, &clipped);
        let n = 1 << 18;
        let mut rng = 0x1234_5678_9abc_def0u64;
        let mut next = || {
            rng = rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = rng;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 + 0.5 / (1u64 << 53) as f64
        };
        let q = |u: f64| -> f64 {
            if u <= 0.5 {
                0.0
            } else if u <= 0.75 {
                0.5
            } else if u <= 0.9 {
                1.0
            } else {
                2.0
            }
        };
        let (mut x, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            let (z1, w) = (std_normal_quantile(next()), std_normal_quantile(next()));
            let z2 = s.r * z1 + (1.0 - s.r * s.r).sqrt() * w;
            x.push(q(std_normal_cdf(z1)));
            y.push(std_normal_cdf(z2).max(0.1));
        }
        let rho = crate::stats::pearson(&crate::stats::ranks(&x), &crate::stats::ranks(&y));
        // Standard error of a Spearman correlation near 0.5 on n draws: about (1 − ρ²)/√n.
        let se = 0.75 / (n as f64).sqrt();
        assert!((rho - 0.5).abs() < 4.0 * se, "{rho} (r = {})", s.r);
    }

    #[test]
    fn higham_nearest_correlation_matrix() {
        // Higham (2002), §4: the nearest correlation matrix to this one.
        let a = vec![
            vec![1.0, 1.0, 0.0],
            vec![1.0, 1.0, 1.0],
            vec![0.0, 1.0, 1.0],
        ];
        let x = nearest_correlation(&a, 1e-12);
        let want = [
            [1.0, 0.7607, 0.1573],
            [0.7607, 1.0, 0.7607],
            [0.1573, 0.7607, 1.0],
        ];
        for i in 0..3 {
            for j in 0..3 {
                assert!((x[i][j] - want[i][j]).abs() < 1e-4, "{x:?}");
            }
        }
        assert!(min_eigenvalue(&x) > -1e-9);
        // A correlation matrix is its own nearest.
        let c = vec![vec![1.0, 0.3], vec![0.3, 1.0]];
        let y = nearest_correlation(&c, 1e-12);
        assert!((y[0][1] - 0.3).abs() < 1e-12);
    }
}
