//! Input distributions of the Monte Carlo engine, all sampled by inversion.
//!
//! A [`Dist`] turns a uniform `u` in (0, 1), supplied by the caller, into a draw through
//! its quantile function (inverse CDF), so plain Monte Carlo, Latin hypercube and Sobol
//! streams drive the same code and a Gaussian copula can feed correlated `u`s in (or, for
//! the kinds that invert through a table in the normal score of `u`, its normal scores
//! themselves: [`Dist::quantiles_at_scores`]).
//! Invariants: a `Dist` exists only if its validating constructor accepted the
//! parameters (the fields are private), so every `Dist` is a proper distribution;
//! `quantile` is non-decreasing in `u` (for beta, PERT and gamma up to one unit in the last
//! place: [`exp_sampling`] may round one ulp down where it changes table step), stays inside
//! `support()`, never allocates and never panics; and every number it returns is
//! bit-identical on every machine, because all transcendental functions come from `libm`
//! (pure Rust, independent of the platform libm) or are built from it with plain arithmetic
//! ([`exp_sampling`]), no fused multiply-add is used, and the inversion tables are built by a
//! deterministic algorithm. Over a slice ([`Dist::quantiles`], [`std_normal_quantiles`]), the
//! normal scores, the tables and the map back to x run four values at a time with AVX2 where the
//! processor has it; each lane takes the scalar code's operations in the same order, so the
//! bits do not depend on it. Kinds whose inverse CDF has no closed form (beta, PERT,
//! gamma) invert through a table built once at construction (0.1-10 ms) whose error is
//! checked against the exact CDF while it is built: |cdf(quantile(u)) - u| <= 1e-13 and
//! <= 1e-10 min(u, 1 - u), or up to 100 times that where the CDF's own rounding noise
//! stops the refinement (very large shapes); u below 9.5e-18 is solved exactly instead.

// `!(x > 0.0)` is how the validators reject NaN together with the out-of-range values;
// the rewrite clippy suggests (`x <= 0.0`) would let NaN through.
#![allow(clippy::neg_cmp_op_on_partial_ord)]
// Published coefficients (Wichura's AS 241, Stirling series) are kept with their digits.
#![allow(clippy::excessive_precision)]

use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;

use crate::cast::{float_of, index_of};
use crate::stats::prefix_len;

/// Shape of the classic PERT: Beta with `a = 1 + 4 (mode - min) / (max - min)`.
pub const PERT_DEFAULT_SHAPE: f64 = 4.0;

/// Allowed distance between the sum of discrete weights and 1.
pub const WEIGHT_SUM_TOLERANCE: f64 = 1e-9;

/// Accepted range of beta, PERT-implied and gamma shape parameters. Inside it the
/// incomplete beta and gamma functions stay accurate to ~1e-12 or better and a table
/// builds in at most ~10 ms. Above it, the continued fraction's rounding noise in the
/// upper tail of a lopsided beta (one shape small, the other huge) passes 1e-11; below
/// it, quantiles underflow to 0 for most u and the tables pass 8192 intervals.
pub const SHAPE_RANGE: (f64, f64) = (1e-2, 1e5);

/// Smallest normal probability a truncated normal's interval may carry; below it the
/// renormalisation constant is no longer representable with relative accuracy.
pub const MIN_TRUNCATED_MASS: f64 = 1e-300;

/// Widest accepted triangular, `max - min`. The quantile and the CDF form products of two
/// distances within the support (each at most the width squared): at this width they stay
/// below 1e306, finite with room to spare; from a width of about 1.3e154 on they overflow, and
/// the quantiles become infinite or NaN. (Any support this wide is far outside what a cost or
/// benefit can be in any currency.)
pub const TRIANGULAR_MAX_WIDTH: f64 = 1e153;

/// ln(sqrt(2 pi)).
const LN_SQRT_2PI: f64 = 0.918_938_533_204_672_741_78;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a constructor rejected its parameters. `Display` names the field, its value and
/// what is allowed, e.g. "`sd` = 0: must be > 0".
#[derive(Debug, Clone, PartialEq)]
pub enum DistError {
    /// NaN or infinite where a finite number is required.
    NotFinite { field: String, value: f64 },
    /// NaN where any number, infinities included, would do (truncation bounds).
    NotANumber { field: String },
    /// Must be strictly positive.
    NotPositive { field: String, value: f64 },
    /// Must be non-negative.
    Negative { field: String, value: f64 },
    /// Must lie in the interval from `lo` to `hi` (open if `open`, else closed), called
    /// `range` when that is not empty.
    OutOfRange {
        field: String,
        value: f64,
        range: &'static str,
        lo: f64,
        hi: f64,
        open: bool,
    },
    /// Must stand in `relation` ("<" or ">") to another quantity.
    Order {
        field: String,
        value: f64,
        relation: &'static str,
        other: String,
        other_value: f64,
    },
    /// Discrete weights do not sum to 1 within [`WEIGHT_SUM_TOLERANCE`].
    WeightSum { sum: f64 },
    /// A list that needs at least one element is empty.
    Empty { field: &'static str },
    /// `values` and `weights` differ in length.
    LengthMismatch { values: usize, weights: usize },
    /// A truncated normal's interval carries (almost) no probability.
    NoMass { min: f64, max: f64, mass: f64 },
    /// Two expert quantiles too close (relative to the third) to be told apart once
    /// transformed to the scale on which the J-QPD constants are computed.
    Indistinct {
        field: &'static str,
        value: f64,
        other: &'static str,
        other_value: f64,
    },
    /// Any other rule of a kind's parameters: "`field` = value: must ...".
    Invalid {
        field: String,
        value: String,
        allowed: String,
    },
}

/// Prints a parameter value compactly: plain notation for ordinary magnitudes,
/// scientific notation for very small or very large ones.
struct Num(f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        let a = v.abs();
        if v == 0.0 || !v.is_finite() || (1e-4..1e16).contains(&a) {
            write!(f, "{v}")
        } else {
            write!(f, "{v:e}")
        }
    }
}

impl fmt::Display for DistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFinite { field, value } => {
                write!(f, "`{field}` = {}: must be finite", Num(*value))
            }
            Self::NotANumber { field } => {
                write!(
                    f,
                    "`{field}` = NaN: must be a number (infinities are allowed)"
                )
            }
            Self::NotPositive { field, value } => {
                write!(f, "`{field}` = {}: must be > 0", Num(*value))
            }
            Self::Negative { field, value } => {
                write!(f, "`{field}` = {}: must be >= 0", Num(*value))
            }
            Self::OutOfRange {
                field,
                value,
                range,
                lo,
                hi,
                open,
            } => {
                write!(f, "`{field}` = {}: must lie in ", Num(*value))?;
                if !range.is_empty() {
                    write!(f, "{range} = ")?;
                }
                let (l, r) = if *open { ("(", ")") } else { ("[", "]") };
                write!(f, "{l}{}, {}{r}", Num(*lo), Num(*hi))
            }
            Self::Order {
                field,
                value,
                relation,
                other,
                other_value,
            } => write!(
                f,
                "`{field}` = {}: must be {relation} `{other}` = {}",
                Num(*value),
                Num(*other_value)
            ),
            Self::WeightSum { sum } => write!(
                f,
                "`weights` sum to {}: must sum to 1 (tolerance {})",
                Num(*sum),
                Num(WEIGHT_SUM_TOLERANCE)
            ),
            Self::Empty { field } => {
                write!(f, "`{field}` is empty: must hold at least 1 value")
            }
            Self::LengthMismatch { values, weights } => write!(
                f,
                "`weights` has {weights} entries: must have one per entry of `values` ({values})"
            ),
            Self::NoMass { min, max, mass } => write!(
                f,
                "`[min, max]` = [{}, {}]: must carry normal probability >= {} (carries {})",
                Num(*min),
                Num(*max),
                Num(MIN_TRUNCATED_MASS),
                Num(*mass)
            ),
            Self::Indistinct {
                field,
                value,
                other,
                other_value,
            } => write!(
                f,
                "`{field}` = {}: must differ from `{other}` = {} by more than rounding on the \
                 transformed scale",
                Num(*value),
                Num(*other_value)
            ),
            Self::Invalid {
                field,
                value,
                allowed,
            } => write!(f, "`{field}` = {value}: {allowed}"),
        }
    }
}

impl std::error::Error for DistError {}

fn finite(field: &str, value: f64) -> Result<f64, DistError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(DistError::NotFinite {
            field: field.to_owned(),
            value,
        })
    }
}

fn positive(field: &str, value: f64) -> Result<f64, DistError> {
    finite(field, value)?;
    if !(value > 0.0) {
        return Err(DistError::NotPositive {
            field: field.to_owned(),
            value,
        });
    }
    Ok(value)
}

/// `value < other_value`, reported as "`field` = v: must be < `other` = w".
fn less(field: &str, value: f64, other: &str, other_value: f64) -> Result<(), DistError> {
    if value < other_value {
        Ok(())
    } else {
        Err(DistError::Order {
            field: field.to_owned(),
            value,
            relation: "<",
            other: other.to_owned(),
            other_value,
        })
    }
}

/// `value > other_value`, reported as "`field` = v: must be > `other` = w".
fn greater(field: &str, value: f64, other: &str, other_value: f64) -> Result<(), DistError> {
    if value > other_value {
        Ok(())
    } else {
        Err(DistError::Order {
            field: field.to_owned(),
            value,
            relation: ">",
            other: other.to_owned(),
            other_value,
        })
    }
}

fn in_range(
    field: &str,
    value: f64,
    range: &'static str,
    lo: f64,
    hi: f64,
) -> Result<f64, DistError> {
    if value >= lo && value <= hi {
        Ok(value)
    } else {
        Err(DistError::OutOfRange {
            field: field.to_owned(),
            value,
            range,
            lo,
            hi,
            open: false,
        })
    }
}

/// A beta or gamma shape: finite, > 0 and inside [`SHAPE_RANGE`].
fn shape_param(field: &str, value: f64) -> Result<f64, DistError> {
    positive(field, value)?;
    in_range(field, value, "", SHAPE_RANGE.0, SHAPE_RANGE.1)
}

// ---------------------------------------------------------------------------------------
// Standard normal
// ---------------------------------------------------------------------------------------

/// Standard normal CDF, Phi(x) = erfc(-x / sqrt 2) / 2. Going through `erfc` keeps full
/// relative accuracy in the lower tail; Phi(-x) gives the upper tail with the same care.
pub fn std_normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// Half-width of the interval on which [`std_normal_cdf_interp`] interpolates.
const CDF_TABLE_Z: f64 = 4.0;
/// Nodes per unit of z of [`std_normal_cdf_interp`].
const CDF_TABLE_STEPS: f64 = 32.0;

/// Coefficients (of t⁰ … t⁵, t ∈ [0, 1] across the interval) of the quintic Hermite interpolant
/// of Φ on each interval between nodes, built once from [`std_normal_cdf`] and the density.
fn cdf_table() -> &'static [[f64; 6]] {
    static TABLE: std::sync::OnceLock<Vec<[f64; 6]>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let h = 1.0 / CDF_TABLE_STEPS;
        let n = (2.0 * CDF_TABLE_Z * CDF_TABLE_STEPS) as usize;
        // Φ, h·Φ' and h²·Φ'' at a node (Φ' = φ, Φ'' = −zφ).
        let node = |i: usize| {
            let z = -CDF_TABLE_Z + i as f64 * h;
            let pdf = libm::exp(-0.5 * z * z - LN_SQRT_2PI);
            (std_normal_cdf(z), h * pdf, h * h * (-z * pdf))
        };
        (0..n)
            .map(|i| {
                let (f0, d0, s0) = node(i);
                let (f1, d1, s1) = node(i + 1);
                [
                    f0,
                    d0,
                    0.5 * s0,
                    -10.0 * f0 - 6.0 * d0 - 1.5 * s0 + 10.0 * f1 - 4.0 * d1 + 0.5 * s1,
                    15.0 * f0 + 8.0 * d0 + 1.5 * s0 - 15.0 * f1 + 7.0 * d1 - s1,
                    -6.0 * f0 - 3.0 * d0 - 0.5 * s0 + 6.0 * f1 - 3.0 * d1 + 0.5 * s1,
                ]
            })
            .collect()
    })
}

/// Standard normal CDF for the Gaussian copula's inner loop: on |x| ≤ 4, the quintic Hermite
/// interpolant of Φ between nodes 1/32 apart (it matches Φ, φ and φ' at both ends of each
/// interval); outside, [`std_normal_cdf`]. The interpolation error is at most
/// max|Φ⁽⁶⁾|·(h/2)⁶/6! = 2.31·(1/64)⁶/720 ≈ 4.7e-14, that is a relative error below 1.5e-9 in
/// either tail (Φ(−4) = 3.17e-5); a few ulps of rounding come on top. Plain multiplications and
/// additions in a fixed order: the same bits on every machine.
pub fn std_normal_cdf_interp(x: f64) -> f64 {
    if !(x.abs() <= CDF_TABLE_Z) {
        return std_normal_cdf(x);
    }
    let table = cdf_table();
    let t = (x + CDF_TABLE_Z) * CDF_TABLE_STEPS;
    let i = index_of(t).min(table.len() - 1);
    let t = t - float_of(i as u64);
    let c = &table[i];
    ((((c[5] * t + c[4]) * t + c[3]) * t + c[2]) * t + c[1]) * t + c[0]
}

/// Steps of e^x's table per factor of 2 ([`exp_table`]).
const EXP_STEPS: i64 = 128;

/// 2^(j/128) for j = 0..128, from libm's `exp2` (correctly rounded here to within its 1 ulp).
fn exp_table() -> &'static [f64; EXP_STEPS as usize] {
    static TABLE: std::sync::OnceLock<[f64; EXP_STEPS as usize]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|j| libm::exp2(j as f64 / EXP_STEPS as f64)))
}

/// e^x for the samplers' inner loops (the beta, PERT and gamma quantiles map their table's y to
/// x through it, and so do their tables when they are built), several times as fast as libm's
/// `exp` and within 2 ulp of the system's exp (tested; 1 ulp in practice): x = (k / 128)·ln 2 + r
/// with |r| ≤ ln 2 / 256, e^x = 2^(k / 128)·e^r, 2^(j / 128) from a table and e^r from its Taylor
/// polynomial of degree 5 (truncation below 1e-18 relative). ln 2 / 128 is split in two (fdlibm's
/// `ln2_hi`, 32 significant bits, and `ln2_lo`) so that k·ln2_hi is exact for |k| < 2^21 (here
/// |k| ≤ 129,265) and r carries no cancellation error. Not monotone to the last bit: where k
/// changes, the result can step one ulp down. Outside |x| ≤ 700, and for NaN, libm's `exp`.
/// Plain multiplications and additions in a fixed order: the same bits on every machine.
#[inline]
pub fn exp_sampling(x: f64) -> f64 {
    if !(x.abs() <= EXP_REACH) {
        return libm::exp(x);
    }
    let kf = (x * EXP_INV).round();
    let k = kf as i64;
    let r = (x - kf * EXP_LN2_HI) - kf * EXP_LN2_LO;
    let p = r + r * r * (EXP_C2 + r * (EXP_C3 + r * (EXP_C4 + r * EXP_C5)));
    let t = exp_table()[(k & (EXP_STEPS - 1)) as usize];
    // k / 128 rounded down, as a power of two: within the normal range for |x| ≤ 700.
    let two_e = f64::from_bits(((k >> 7) + 1023) as u64 * (1u64 << 52));
    (t + t * p) * two_e
}

/// [`exp_sampling`]'s reach: beyond it (and for NaN), libm's `exp`.
const EXP_REACH: f64 = 700.0;
/// ln 2 / 128 in two parts (see [`exp_sampling`]), and its inverse.
const EXP_LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1 / EXP_STEPS as f64;
const EXP_LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10 / EXP_STEPS as f64;
const EXP_INV: f64 = EXP_STEPS as f64 / std::f64::consts::LN_2;
/// The Taylor coefficients 1/2!, …, 1/5! of [`exp_sampling`]'s e^r.
const EXP_C2: f64 = 0.5;
const EXP_C3: f64 = 1.0 / 6.0;
const EXP_C4: f64 = 1.0 / 24.0;
const EXP_C5: f64 = 1.0 / 120.0;

/// True if every `u` lies in (0, 1): every value tested, without a branch each (a loop the
/// compiler vectorises), since they nearly always all are.
fn all_inside(u: &[f64]) -> bool {
    u.iter().fold(true, |all, &u| all & (u > 0.0) & (u < 1.0))
}

/// Numerator of the central part of [`std_normal_quantile`] (AS 241's A7 down to A0), a
/// polynomial in r = 0.180625 − q², highest power first.
const CENTRAL_NUM: [f64; 8] = [
    2.5090809287301226727e3,
    3.3430575583588128105e4,
    6.7265770927008700853e4,
    4.5921953931549871457e4,
    1.3731693765509461125e4,
    1.9715909503065514427e3,
    1.3314166789178437745e2,
    3.3871328727963666080,
];
/// Denominator of the central part of [`std_normal_quantile`] (B7 down to B1, then 1).
const CENTRAL_DEN: [f64; 8] = [
    5.2264952788528545610e3,
    2.8729085735721942674e4,
    3.9307895800092710610e4,
    2.1213794301586595867e4,
    5.3941960214247511077e3,
    6.8718700749205790830e2,
    4.2313330701600911252e1,
    1.0,
];

/// `(((c₀·r + c₁)·r + c₂)·r + …)·r + c₇`: a polynomial's Horner evaluation, highest power
/// first, in this fixed order (the vectorised passes take the same steps, for the same bits).
#[inline(always)]
fn horner(c: &[f64; 8], r: f64) -> f64 {
    let mut acc = c[0];
    for &k in &c[1..] {
        acc = acc * r + k;
    }
    acc
}

/// Standard normal quantile by Wichura's algorithm AS 241 (PPND16, Applied Statistics
/// 37(3), 1988), relative accuracy about 1e-16. Returns -inf for `p <= 0`, +inf for
/// `p >= 1` and NaN for NaN. The upper half uses `1 - p`, exact there by Sterbenz's
/// lemma, so the upper tail is as accurate as the lower one.
#[inline]
pub fn std_normal_quantile(p: f64) -> f64 {
    if !(p > 0.0 && p < 1.0) {
        return if p <= 0.0 {
            f64::NEG_INFINITY
        } else if p >= 1.0 {
            f64::INFINITY
        } else {
            f64::NAN
        };
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q * horner(&CENTRAL_NUM, r) / horner(&CENTRAL_DEN, r);
    }
    std_normal_quantile_tail(p, q)
}

/// Numerator of [`std_normal_quantile`]'s near tail (r = √(−ln tail) ≤ 5, AS 241's C7 down to
/// C0), a polynomial in r − 1.6, highest power first.
const NEAR_NUM: [f64; 8] = [
    7.74545014278341407640e-4,
    2.27238449892691845833e-2,
    2.41780725177450611770e-1,
    1.27045825245236838258,
    3.64784832476320460504,
    5.76949722146069140550,
    4.63033784615654529590,
    1.42343711074968357734,
];
/// Denominator of the near tail (D7 down to D1, then 1).
const NEAR_DEN: [f64; 8] = [
    1.05075007164441684324e-9,
    5.47593808499534494600e-4,
    1.51986665636164571966e-2,
    1.48103976427480074590e-1,
    6.89767334985100004550e-1,
    1.67638483018380384940,
    2.05319162663775882187,
    1.0,
];
/// Numerator of the far tail (r > 5, E7 down to E0), a polynomial in r − 5.
const FAR_NUM: [f64; 8] = [
    2.01033439929228813265e-7,
    2.71155556874348757815e-5,
    1.24266094738807843860e-3,
    2.65321895265761230930e-2,
    2.96560571828504891230e-1,
    1.78482653991729133580,
    5.46378491116411436990,
    6.65790464350110377720,
];
/// Denominator of the far tail (F7 down to F1, then 1).
const FAR_DEN: [f64; 8] = [
    2.04426310338993978564e-15,
    1.42151175831644588870e-7,
    1.84631831751005468180e-5,
    7.86869131145613259100e-4,
    1.48753612908506148525e-2,
    1.36929880922735805310e-1,
    5.99832206555887937690e-1,
    1.0,
];

/// [`std_normal_quantile`] for |p - 0.5| > 0.425 (q = p - 0.5), out of line: the central
/// part is the one inlined into the samplers' loops.
#[inline(never)]
fn std_normal_quantile_tail(p: f64, q: f64) -> f64 {
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let r = libm::sqrt(-libm::log(tail));
    let v = if r <= 5.0 {
        let r = r - 1.6;
        horner(&NEAR_NUM, r) / horner(&NEAR_DEN, r)
    } else {
        let r = r - 5.0;
        horner(&FAR_NUM, r) / horner(&FAR_DEN, r)
    };
    if q < 0.0 { -v } else { v }
}

/// [`std_normal_quantile`] of each `p` into `out`, bit for bit: four at a time with AVX2 where
/// the processor has it (the central part, and the near tail with libm's `log` taken step for
/// step; the far tail, below about 1.4e-11 from either end, p outside (0, 1) and NaN one at a
/// time), one at a time otherwise.
///
/// # Panics
/// If `p` and `out` differ in length.
pub fn std_normal_quantiles(p: &[f64], out: &mut [f64]) {
    assert_eq!(
        p.len(),
        out.len(),
        "std_normal_quantiles: one output per probability"
    );
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { simd::normal_quantiles(p, out) };
        return;
    }
    for (o, &p) in out.iter_mut().zip(p) {
        *o = std_normal_quantile(p);
    }
}

/// [`std_normal_cdf_interp`] of each `x` into `out`, bit for bit, four at a time with AVX2
/// where the processor has it.
///
/// # Panics
/// If `x` and `out` differ in length.
pub fn std_normal_cdfs_interp(x: &[f64], out: &mut [f64]) {
    assert_eq!(
        x.len(),
        out.len(),
        "std_normal_cdfs_interp: one output per score"
    );
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { simd::normal_cdfs_interp(x, out) };
        return;
    }
    for (o, &x) in out.iter_mut().zip(x) {
        *o = std_normal_cdf_interp(x);
    }
}

/// [`exp_sampling`] of each value, in place, bit for bit, four at a time with AVX2 where the
/// processor has it.
pub fn exp_samplings(x: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { simd::exp_samplings(x) };
        return;
    }
    for v in x.iter_mut() {
        *v = exp_sampling(*v);
    }
}

/// ln phi(z) of the standard normal density.
fn ln_std_normal_pdf(z: f64) -> f64 {
    -0.5 * z * z - LN_SQRT_2PI
}

/// Normal score of a probability given as the pair (s, 1 - s), each computed directly
/// by the caller, so that values close to 1 keep their relative accuracy.
fn normal_score(s: f64, s_complement: f64) -> f64 {
    if s <= 0.5 {
        std_normal_quantile(s)
    } else {
        -std_normal_quantile(s_complement)
    }
}

// ---------------------------------------------------------------------------------------
// Incomplete beta and gamma functions
// ---------------------------------------------------------------------------------------

/// Guard against division by zero in the modified Lentz algorithm (Numerical Recipes,
/// 3rd ed., section 5.2).
const LENTZ_TINY: f64 = 1e-300;
/// Iteration cap of the series and continued fractions: they need O(sqrt(shape)) terms,
/// a few thousand at the top of [`SHAPE_RANGE`].
const MAX_TERMS: usize = 1_000_000;
/// Shapes from which the Stirling form of the prefactors is used.
const STIRLING_FROM: f64 = 10.0;

/// ln Gamma(a) - [(a - 1/2) ln a - a + ln sqrt(2 pi)] for a >= 10: the Stirling series
/// with Bernoulli-number coefficients (Abramowitz & Stegun 6.1.40); eight terms leave an
/// error below 1e-17 at a = 10.
fn stirling_corr(a: f64) -> f64 {
    let x = 1.0 / a;
    let x2 = x * x;
    x * (1.0 / 12.0
        + x2 * (-1.0 / 360.0
            + x2 * (1.0 / 1260.0
                + x2 * (-1.0 / 1680.0
                    + x2 * (1.0 / 1188.0
                        + x2 * (-691.0 / 360360.0
                            + x2 * (1.0 / 156.0 - x2 * (3617.0 / 122400.0))))))))
}

/// e - ln(1 + e) without cancellation for small |e|. With r = e / (2 + e),
/// ln(1 + e) = 2 atanh(r), so e - ln(1 + e) = 2 r^2 / (1 - r) - 2 (r^3/3 + r^5/5 + ...),
/// a sum of terms that do not cancel; |r| <= 1/3 for |e| <= 1/2.
fn e_minus_log1p(e: f64) -> f64 {
    if e.abs() > 0.5 {
        return e - libm::log1p(e);
    }
    let r = e / (2.0 + e);
    let r2 = r * r;
    let mut term = 1.0;
    let mut sum = 0.0;
    let mut k = 3.0;
    while term > 1e-18 {
        sum += term / k;
        term *= r2;
        k += 2.0;
    }
    2.0 * r2 / (1.0 - r) - 2.0 * r * r2 * sum
}

/// ln B(a, b). For a large argument the difference ln Gamma(q) - ln Gamma(p + q) is
/// formed from Stirling's series so that two huge, nearly equal log-gammas never get
/// subtracted (the idea of ALGDIV in DiDonato & Morris, ACM TOMS 18(3), 1992).
fn ln_beta(a: f64, b: f64) -> f64 {
    let (p, q) = if a < b { (a, b) } else { (b, a) };
    if q < STIRLING_FROM {
        libm::lgamma(p) + libm::lgamma(q) - libm::lgamma(p + q)
    } else {
        libm::lgamma(p) - p * libm::log(p + q) - (q - 0.5) * libm::log1p(p / q)
            + p
            + stirling_corr(q)
            - stirling_corr(p + q)
    }
}

/// Regularised incomplete beta I_x(a, b) and its complement, both to relative accuracy,
/// by the continued fraction of Numerical Recipes (3rd ed., section 6.4).
///
/// The tables work in y = logit(x) - ln(a / b), the logit measured from that of
/// x0 = a / (a + b): centred near 0, so y carries absolute precision where the mass is,
/// and x follows from y as 1 / (1 + rho e^-y), rho = b / a, with relative precision.
#[derive(Clone, Debug)]
struct BetaFn {
    a: f64,
    b: f64,
    /// ln B(a, b), for the direct prefactor.
    ln_beta: f64,
    /// min(a, b) >= 10: use the Stirling-form prefactor.
    large: bool,
    x0: f64,
    xc0: f64,
    ln_x0: f64,
    ln_xc0: f64,
    rho: f64,
    ln_rho: f64,
    /// Constant part of the Stirling-form prefactor.
    stirling_const: f64,
}

/// A point of the beta CDF: x, 1 - x, their logarithms (finite even where x underflows)
/// and e1 = x / x0 - 1, e2 = (1 - x) / (1 - x0) - 1, accurate near x0.
struct BetaPoint {
    x: f64,
    xc: f64,
    ln_x: f64,
    ln_xc: f64,
    e1: f64,
    e2: f64,
}

impl BetaFn {
    fn new(a: f64, b: f64) -> Self {
        let s = a + b;
        let (ln_a, ln_b, ln_s) = (libm::log(a), libm::log(b), libm::log(s));
        let stirling_const =
            0.5 * (ln_a + ln_b - ln_s) - LN_SQRT_2PI - stirling_corr(a) - stirling_corr(b)
                + stirling_corr(s);
        Self {
            a,
            b,
            ln_beta: ln_beta(a, b),
            large: a.min(b) >= STIRLING_FROM,
            x0: a / s,
            xc0: b / s,
            ln_x0: ln_a - ln_s,
            ln_xc0: ln_b - ln_s,
            rho: b / a,
            ln_rho: ln_b - ln_a,
            stirling_const,
        }
    }

    /// (x, 1 - x) at y, each with relative precision: from whichever of
    /// x / (1 - x) = e^y / rho and (1 - x) / x = rho e^-y is at most 1.
    #[inline]
    fn x_from_y(&self, y: f64) -> (f64, f64) {
        if y <= self.ln_rho {
            let v = exp_sampling(y) / self.rho;
            let r = 1.0 / (1.0 + v);
            (v * r, r)
        } else {
            let t = self.rho * exp_sampling(-y);
            let r = 1.0 / (1.0 + t);
            (r, t * r)
        }
    }

    fn point_from_y(&self, y: f64) -> BetaPoint {
        let (x, xc) = self.x_from_y(y);
        // ln t = ln((1 - x) / x); log1p of the smaller ratio gives the other logarithm.
        let ln_t = self.ln_rho - y;
        let (ln_x, ln_xc) = if y <= self.ln_rho {
            let ln_xc = -libm::log1p(libm::exp(y) / self.rho);
            (ln_xc - ln_t, ln_xc)
        } else {
            let ln_x = -libm::log1p(self.rho * libm::exp(-y));
            (ln_x, ln_x + ln_t)
        };
        // With m = e^-y - 1 (exact through expm1): e1 = -rho m / (1 + rho e^-y) and
        // e2 = m / (1 + rho e^-y), free of the cancellation in x / x0 - 1.
        let m = libm::expm1(-y);
        let d = 1.0 + self.rho * (1.0 + m);
        BetaPoint {
            x,
            xc,
            ln_x,
            ln_xc,
            e1: -self.rho * m / d,
            e2: m / d,
        }
    }

    fn point_from_x(&self, x: f64, xc: f64) -> BetaPoint {
        // The logarithm of the part near 1 comes from the small part through log1p:
        // ln(1 - x) from a rounded 1 - x would cost b * eps relative in (1 - x)^b.
        let (ln_x, ln_xc) = if x <= 0.5 {
            (libm::log(x), libm::log1p(-x))
        } else {
            (libm::log1p(-xc), libm::log(xc))
        };
        BetaPoint {
            x,
            xc,
            ln_x,
            ln_xc,
            e1: (x - self.x0) / self.x0,
            e2: (xc - self.xc0) / self.xc0,
        }
    }

    /// ln[x^a (1 - x)^b / B(a, b)], which is also ln of x (1 - x) f(x). For large shapes
    /// the form of DiDonato & Morris (BRCOMP, ACM TOMS 18(3), 1992) is used: with
    /// e1, e2 as in [`BetaPoint`] (a e1 + b e2 = 0), the value is
    /// -a g(e1) - b g(e2) + ln sqrt(ab / (2 pi (a + b))) - Stirling corrections,
    /// g(e) = e - ln(1 + e) >= 0, free of the cancellation between a ln x + b ln(1 - x)
    /// and ln B(a, b) that costs ~(a + b) eps otherwise.
    fn ln_front(&self, p: &BetaPoint) -> f64 {
        if !self.large {
            return self.a * p.ln_x + self.b * p.ln_xc - self.ln_beta;
        }
        // Away from x0 (|e| > 1/2) nothing cancels and e comes straight from x.
        let g1 = if p.e1.abs() <= 0.5 {
            e_minus_log1p(p.e1)
        } else {
            (p.x / self.x0 - 1.0) - (p.ln_x - self.ln_x0)
        };
        let g2 = if p.e2.abs() <= 0.5 {
            e_minus_log1p(p.e2)
        } else {
            (p.xc / self.xc0 - 1.0) - (p.ln_xc - self.ln_xc0)
        };
        self.stirling_const - (self.a * g1 + self.b * g2)
    }

    /// (I_x(a, b), 1 - I_x(a, b)); the fraction converges quickly below the mean, so
    /// above it the symmetry I_x(a, b) = 1 - I_{1-x}(b, a) is used.
    fn pq(&self, p: &BetaPoint, ln_front: f64) -> (f64, f64) {
        let (a, b) = (self.a, self.b);
        if p.x < (a + 1.0) / (a + b + 2.0) {
            let lower = libm::exp(ln_front) * beta_cf(a, b, p.x, p.xc) / a;
            (lower, 1.0 - lower)
        } else {
            let upper = libm::exp(ln_front) * beta_cf(b, a, p.xc, p.x) / b;
            (1.0 - upper, upper)
        }
    }

    fn cdf01(&self, x: f64, xc: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if xc <= 0.0 {
            return 1.0;
        }
        let p = self.point_from_x(x, xc);
        self.pq(&p, self.ln_front(&p)).0
    }
}

/// Continued fraction for I_x(a, b) (Numerical Recipes, 3rd ed., eq. 6.4.5), evaluated by
/// the modified Lentz method; called below (a + 1) / (a + b + 2), where it converges in
/// O(sqrt(max(a, b))) terms. Takes x and xc = 1 - x, each accurate on its own: when x is
/// the one near 1, the step 1 + K x d is formed as (1 + K d) - K xc d. A rounded 1 - xc
/// would shift every partial numerator by the same relative eps, i.e. move the point of
/// evaluation, which costs ~ a eps relative for a large first shape (Beta(1e5, 1) near
/// x = 1: 6e-12 instead of 2e-14). Some of that sensitivity remains in the recurrence
/// itself for lopsided shapes, which is what bounds [`SHAPE_RANGE`] above.
fn beta_cf(a: f64, b: f64, x: f64, xc: f64) -> f64 {
    let near_one = x > 0.5;
    // 1 + k x d, with x = 1 - xc when x is near 1.
    let step = |k: f64, d: f64| {
        let v = if near_one {
            (1.0 + k * d) - k * xc * d
        } else {
            1.0 + k * x * d
        };
        if v.abs() < LENTZ_TINY { LENTZ_TINY } else { v }
    };
    // 1 + k x / c
    let step_c = |k: f64, c: f64| {
        let v = if near_one {
            (1.0 + k / c) - k * xc / c
        } else {
            1.0 + k * x / c
        };
        if v.abs() < LENTZ_TINY { LENTZ_TINY } else { v }
    };
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 / step(-qab / qap, 1.0);
    let mut h = d;
    for m in 1..MAX_TERMS {
        let m = m as f64;
        let m2 = 2.0 * m;
        let k = m * (b - m) / ((qam + m2) * (a + m2));
        d = 1.0 / step(k, d);
        c = step_c(k, c);
        h *= d * c;
        let k = -(a + m) * (qab + m) / ((a + m2) * (qap + m2));
        d = 1.0 / step(k, d);
        c = step_c(k, c);
        let del = d * c;
        h *= del;
        // A NaN never converges: stop at once (the result is NaN either way).
        if (del - 1.0).abs() <= f64::EPSILON || del.is_nan() {
            break;
        }
    }
    h
}

/// Regularised incomplete gamma P(k, x) and Q(k, x), both to relative accuracy: the
/// series below k + 1 and the Legendre continued fraction above it (Numerical Recipes,
/// 3rd ed., section 6.2). Tables work in y = ln(x / k), centred on the mean.
#[derive(Clone, Debug)]
struct GammaFn {
    k: f64,
    ln_gamma_k: f64,
    ln_k: f64,
    large: bool,
    stirling_const: f64,
}

/// A point of the gamma CDF: x, ln x, e = x / k - 1 and ln(1 + e) = ln(x / k).
struct GammaPoint {
    x: f64,
    ln_x: f64,
    e: f64,
    ln1p_e: f64,
}

impl GammaFn {
    fn new(k: f64) -> Self {
        Self {
            k,
            ln_gamma_k: libm::lgamma(k),
            ln_k: libm::log(k),
            large: k >= STIRLING_FROM,
            stirling_const: 0.5 * libm::log(k) - LN_SQRT_2PI - stirling_corr(k),
        }
    }

    fn point_from_y(&self, y: f64) -> GammaPoint {
        GammaPoint {
            x: self.k * libm::exp(y),
            ln_x: self.ln_k + y,
            e: libm::expm1(y),
            ln1p_e: y,
        }
    }

    fn point_from_x(&self, x: f64) -> GammaPoint {
        let ln_x = libm::log(x);
        GammaPoint {
            x,
            ln_x,
            e: (x - self.k) / self.k,
            ln1p_e: ln_x - self.ln_k,
        }
    }

    /// ln[x^k e^-x / Gamma(k)], which is also ln of x f(x). For large k it equals
    /// -k g(e) + ln sqrt(k / (2 pi)) - Stirling correction, g(e) = e - ln(1 + e)
    /// (Temme's form, as in RCOMP of DiDonato & Morris, ACM TOMS 12(4), 1986), which
    /// avoids cancelling k ln x - x against ln Gamma(k).
    fn ln_front(&self, p: &GammaPoint) -> f64 {
        if !self.large {
            return self.k * p.ln_x - p.x - self.ln_gamma_k;
        }
        let g = if p.e.abs() <= 0.5 {
            e_minus_log1p(p.e)
        } else {
            p.e - p.ln1p_e
        };
        self.stirling_const - self.k * g
    }

    fn pq(&self, p: &GammaPoint, ln_front: f64) -> (f64, f64) {
        let k = self.k;
        if p.x < k + 1.0 {
            let lower = libm::exp(ln_front) * gamma_series(k, p.x);
            (lower, 1.0 - lower)
        } else {
            let upper = libm::exp(ln_front) * gamma_cf(k, p.x);
            (1.0 - upper, upper)
        }
    }

    fn cdf1(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        if x == f64::INFINITY {
            return 1.0;
        }
        let p = self.point_from_x(x);
        self.pq(&p, self.ln_front(&p)).0
    }
}

/// sum_{n >= 0} x^n / (k (k + 1) ... (k + n)), so that P(k, x) = x^k e^-x / Gamma(k) * sum.
fn gamma_series(k: f64, x: f64) -> f64 {
    let mut ap = k;
    let mut del = 1.0 / k;
    let mut sum = del;
    for _ in 0..MAX_TERMS {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if del.abs() <= sum.abs() * f64::EPSILON {
            break;
        }
    }
    sum
}

/// Continued fraction with Q(k, x) = x^k e^-x / Gamma(k) * cf (modified Lentz).
fn gamma_cf(k: f64, x: f64) -> f64 {
    let mut b = x + 1.0 - k;
    let mut c = 1.0 / LENTZ_TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_TERMS {
        let i = i as f64;
        let an = -i * (i - k);
        b += 2.0;
        d = an * d + b;
        if d.abs() < LENTZ_TINY {
            d = LENTZ_TINY;
        }
        c = b + an / c;
        if c.abs() < LENTZ_TINY {
            c = LENTZ_TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() <= f64::EPSILON {
            break;
        }
    }
    h
}

// ---------------------------------------------------------------------------------------
// Tabulated inversion
// ---------------------------------------------------------------------------------------
//
// For beta and gamma, the quantile is tabulated as y(z), where z = Phi^-1(u) is the
// normal score and y a transform of x that makes y(z) smooth and nearly linear
// (logit x for beta, ln x for gamma: both tails of y are then polynomial-like in z).
// Nodes are equally spaced in z on [Z_LO, Z_HI], so the interval is found by one
// multiplication, and each interval holds the quintic Hermite interpolant of y, y', y''
// at its ends (error ~ h^6 y^(6) / 46080). The derivatives are exact: with
// w(y) = |dF/dy| (the density of Y), y' = phi(z) / w(y) and
// y'' = -z y' - y'^2 d ln w / dy. The grid is halved until, at every interval midpoint
// (where a quintic Hermite error peaks), the u-error w * |y_interp - y_exact| is at most
// TABLE_TOL_ABS and at most TABLE_TOL_REL * min(u, 1 - u), and the interpolant's
// derivative has positive Bernstein coefficients on every interval, which proves it
// increasing. This is the idea of Hörmann & Leydold's Hermite-interpolation inversion
// ("Continuous random variate generation by fast numerical inversion", ACM TOMACS
// 13(4), 2003), moved to the normal-score scale.

const Z_LO: f64 = -8.5;
const Z_HI: f64 = 8.5;
const TABLE_TOL_ABS: f64 = 1e-13;
const TABLE_TOL_REL: f64 = 1e-10;
/// Accepted excess over the tolerance once refinement has stalled on rounding noise.
const TABLE_NOISE_SLACK: f64 = 100.0;
const TABLE_MIN_INTERVALS: usize = 16;
const TABLE_MAX_INTERVALS: usize = 1 << 13;

/// A distribution in a transformed variable y, as needed by the table builder.
trait Family {
    /// (P(Y <= y), P(Y > y), ln w(y)).
    fn eval(&self, y: f64) -> (f64, f64, f64);
    /// d ln w / dy.
    fn d_ln_w(&self, y: f64) -> f64;
}

impl Family for BetaFn {
    fn eval(&self, y: f64) -> (f64, f64, f64) {
        let p = self.point_from_y(y);
        let lf = self.ln_front(&p);
        let (lower, upper) = self.pq(&p, lf);
        (lower, upper, lf)
    }
    fn d_ln_w(&self, y: f64) -> f64 {
        // d/dy [a ln x + b ln(1 - x)] with dx/dy = x (1 - x).
        self.a - (self.a + self.b) * self.x_from_y(y).0
    }
}

impl Family for GammaFn {
    fn eval(&self, y: f64) -> (f64, f64, f64) {
        let p = self.point_from_y(y);
        let lf = self.ln_front(&p);
        let (lower, upper) = self.pq(&p, lf);
        (lower, upper, lf)
    }
    fn d_ln_w(&self, y: f64) -> f64 {
        self.k - self.k * libm::exp(y)
    }
}

/// Solves P(Y <= y) = target (`lower`) or P(Y > y) = target (upper tail) for y, given
/// ln target. Newton's method on ln P (or -ln Q): the densities of Y are log-concave
/// (d^2 ln w / dy^2 is -(a + b) x (1 - x) for beta, -x for gamma), hence so are P and Q
/// (Bagnoli & Bergstrom, Economic Theory 26(2), 2005), so the iteration cannot cycle;
/// a bracket kept from the signs seen so far catches any step that leaves it, and an
/// expanding search finds the bracket when the start is far off.
fn solve_y<F: Family>(fam: &F, lower: bool, ln_target: f64, guess: f64) -> f64 {
    let mut lo = f64::NEG_INFINITY;
    let mut hi = f64::INFINITY;
    let mut y = guess;
    let mut expand = 1.0;
    for _ in 0..400 {
        let (p, q, lw) = fam.eval(y);
        let (g, dg) = if lower {
            let lp = libm::log(p);
            (lp - ln_target, libm::exp(lw - lp))
        } else {
            let lq = libm::log(q);
            (ln_target - lq, libm::exp(lw - lq))
        };
        if g == 0.0 {
            return y;
        }
        if g < 0.0 {
            lo = y;
        } else if g > 0.0 {
            hi = y;
        }
        let newton = y - g / dg;
        if newton > lo && newton < hi {
            // Newton converges quadratically, so once a step is this small the error
            // left is of order step^2: full precision.
            let done = (newton - y).abs() <= 1e-12 * y.abs().max(1.0);
            y = newton;
            if done {
                return y;
            }
        } else if lo.is_finite() && hi.is_finite() {
            y = 0.5 * (lo + hi);
            if y <= lo || y >= hi {
                return y;
            }
        } else if lo.is_finite() {
            expand *= 2.0;
            y = lo + expand;
        } else {
            expand *= 2.0;
            y = hi - expand;
        }
    }
    y
}

#[derive(Clone, Copy, Debug)]
struct Node {
    y: f64,
    /// dy/dz
    d1: f64,
    /// d2y/dz2
    d2: f64,
    ln_w: f64,
}

fn exact_node<F: Family>(fam: &F, z: f64, guess: f64) -> Node {
    let lower = z <= 0.0;
    let ln_target = libm::log(std_normal_cdf(-z.abs()));
    let y = solve_y(fam, lower, ln_target, guess);
    let (_, _, ln_w) = fam.eval(y);
    let d1 = libm::exp(ln_std_normal_pdf(z) - ln_w);
    let d2 = -z * d1 - d1 * d1 * fam.d_ln_w(y);
    Node { y, d1, d2, ln_w }
}

/// Monomial coefficients in s in [0, 1] of the quintic matching value, first and second
/// derivative at both ends of an interval of width h.
fn quintic(n0: &Node, n1: &Node, h: f64) -> [f64; 6] {
    let c0 = n0.y;
    let c1 = h * n0.d1;
    let c2 = 0.5 * h * h * n0.d2;
    let a = n1.y - c0 - c1 - c2;
    let b = h * n1.d1 - c1 - 2.0 * c2;
    let c = h * h * n1.d2 - 2.0 * c2;
    [
        c0,
        c1,
        c2,
        10.0 * a - 4.0 * b + 0.5 * c,
        -15.0 * a + 7.0 * b - c,
        6.0 * a - 3.0 * b + 0.5 * c,
    ]
}

/// The quintic at s, by Estrin's scheme: pairs evaluated independently, which halves the
/// dependency chain of Horner's rule on the hot path.
#[inline]
fn poly5(c: &[f64; 6], s: f64) -> f64 {
    let s2 = s * s;
    (c[0] + c[1] * s) + s2 * ((c[2] + c[3] * s) + s2 * (c[4] + c[5] * s))
}

/// True if the derivative of the quintic is positive on [0, 1]: its degree-4 Bernstein
/// coefficients are all positive (a sufficient condition, by the convex-hull property).
fn increasing(c: &[f64; 6]) -> bool {
    let a = [c[1], 2.0 * c[2], 3.0 * c[3], 4.0 * c[4], 5.0 * c[5]];
    let b = [
        a[0],
        a[0] + a[1] / 4.0,
        a[0] + a[1] / 2.0 + a[2] / 6.0,
        a[0] + 0.75 * a[1] + 0.5 * a[2] + a[3] / 4.0,
        a[0] + a[1] + a[2] + a[3] + a[4],
    ];
    b.iter().all(|&v| v > 0.0)
}

/// Piecewise-quintic y(z) on [Z_LO, Z_HI].
#[derive(Clone)]
struct InvTable {
    inv_h: f64,
    coef: Box<[[f64; 6]]>,
}

impl fmt::Debug for InvTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InvTable({} intervals)", self.coef.len())
    }
}

impl InvTable {
    fn build<F: Family>(fam: &F) -> Self {
        let mut n = TABLE_MIN_INTERVALS;
        let mut h = (Z_HI - Z_LO) / n as f64;
        // Initial nodes: solve at z = 0, then march outwards, each solve starting from
        // the neighbour's second-order Taylor extrapolation.
        let mid = n / 2;
        let mut nodes = vec![
            Node {
                y: 0.0,
                d1: 0.0,
                d2: 0.0,
                ln_w: 0.0
            };
            n + 1
        ];
        nodes[mid] = exact_node(fam, 0.0, 0.0);
        for i in mid + 1..=n {
            let p = nodes[i - 1];
            let guess = p.y + h * p.d1 + 0.5 * h * h * p.d2;
            nodes[i] = exact_node(fam, Z_LO + i as f64 * h, guess);
        }
        for i in (0..mid).rev() {
            let p = nodes[i + 1];
            let guess = p.y - h * p.d1 + 0.5 * h * h * p.d2;
            nodes[i] = exact_node(fam, Z_LO + i as f64 * h, guess);
        }
        let mut prev_worst = f64::INFINITY;
        loop {
            let coef: Vec<[f64; 6]> = (0..n)
                .map(|i| quintic(&nodes[i], &nodes[i + 1], h))
                .collect();
            let mut monotone = true;
            // Largest u-error at a midpoint, in units of the tolerance there.
            let mut worst: f64 = 0.0;
            let mut mids = Vec::with_capacity(n);
            for (i, c) in coef.iter().enumerate() {
                let z = Z_LO + (i as f64 + 0.5) * h;
                let y_interp = poly5(c, 0.5);
                let exact = exact_node(fam, z, y_interp);
                let u_err = libm::exp(exact.ln_w) * (y_interp - exact.y).abs();
                let tol = TABLE_TOL_ABS.min(TABLE_TOL_REL * std_normal_cdf(-z.abs()));
                worst = worst.max(u_err / tol);
                monotone &= increasing(c);
                mids.push(exact);
            }
            // Accept at tolerance, or once halving h stops paying (the u-error no longer
            // falls by the ~64x a sixth-order method gives): then what is left is the
            // rounding noise of the exact CDF itself, which only very large shapes
            // (thousands and up) lift near the tolerance.
            let stalled = worst > prev_worst / 4.0 && worst <= TABLE_NOISE_SLACK;
            if monotone && (worst <= 1.0 || stalled) || n >= TABLE_MAX_INTERVALS {
                return Self {
                    inv_h: 1.0 / h,
                    coef: coef.into_boxed_slice(),
                };
            }
            prev_worst = worst;
            let mut finer = Vec::with_capacity(2 * n + 1);
            for i in 0..n {
                finer.push(nodes[i]);
                finer.push(mids[i]);
            }
            finer.push(nodes[n]);
            nodes = finer;
            n *= 2;
            h = (Z_HI - Z_LO) / n as f64;
        }
    }

    /// y at normal score z, or None outside [Z_LO, Z_HI] (u below Phi(-8.5) ~ 9.5e-18;
    /// above the table, u would have to exceed the largest double below 1).
    #[inline]
    fn eval(&self, z: f64) -> Option<f64> {
        if !(Z_LO..=Z_HI).contains(&z) {
            return None;
        }
        let t = (z - Z_LO) * self.inv_h;
        let i = index_of(t).min(self.coef.len() - 1);
        Some(poly5(&self.coef[i], t - float_of(i as u64)))
    }

    /// y at the first node, a starting point for solves beyond the table.
    fn first_y(&self) -> f64 {
        self.coef[0][0]
    }
}

/// The table's y for each `u` in (0, 1), into `out`, in two passes over the slice: the normal
/// scores, then the table (or the exact solve beyond it). The staged quantiles' first two stages.
#[inline]
fn table_ys<F: Family>(fam: &F, table: &InvTable, u: &[f64], out: &mut [f64]) {
    std_normal_quantiles(u, out);
    table_ys_then(table, out, |j, z| table_y(fam, table, z, u[j]));
}

/// [`table_ys`] at normal scores `z` themselves instead of uniforms (copied into `out`, then
/// replaced by the table's y), the exact solve beyond the table's reach taking the tail
/// probability from each score ([`table_y_at_score`]).
#[inline]
fn table_ys_at_scores<F: Family>(fam: &F, table: &InvTable, z: &[f64], out: &mut [f64]) {
    out.copy_from_slice(z);
    table_ys_then(table, out, |_, z| table_y_at_score(fam, table, z));
}

/// The table's y at each normal score in `out` (replaced by it), four at a time with AVX2;
/// `beyond(j, z)` gives draw `j`'s y where the vector code leaves it (a score beyond the table's
/// reach, and the values past the last group of four).
#[inline]
fn table_ys_then(table: &InvTable, out: &mut [f64], beyond: impl Fn(usize, f64) -> f64) {
    #[cfg(target_arch = "x86_64")]
    if simd::available() {
        // SAFETY: the processor has AVX2 (checked just above).
        unsafe { simd::table_ys(table, &beyond, out) };
        return;
    }
    for (j, o) in out.iter_mut().enumerate() {
        *o = beyond(j, *o);
    }
}

/// The table's y at normal score `z` = Φ⁻¹(u), or the exact solve beyond the table's reach.
#[inline(always)]
fn table_y<F: Family>(fam: &F, table: &InvTable, z: f64, u: f64) -> f64 {
    match table.eval(z) {
        Some(y) => y,
        None => y_beyond_table(fam, table, u),
    }
}

/// The table's y at normal score `z` itself (not the score of a uniform), or the exact solve
/// beyond the table's reach at the tail probability of `z`.
#[inline(always)]
fn table_y_at_score<F: Family>(fam: &F, table: &InvTable, z: f64) -> f64 {
    match table.eval(z) {
        Some(y) => y,
        None => y_beyond_score(fam, table, z),
    }
}

/// y for a normal score beyond the table (|z| > 8.5): the exact solve at the tail probability
/// `Φ(−|z|)`, computed from `z` (through `erfc`, to full relative accuracy) rather than from
/// `Φ(z)`, which above the table rounds to 1 and would lose the upper tail. Probabilities below
/// the smallest normal double are taken as it, as the copula's uniforms are.
#[cold]
fn y_beyond_score<F: Family>(fam: &F, table: &InvTable, z: f64) -> f64 {
    let lower = z < 0.0;
    let p = std_normal_cdf(if lower { z } else { -z }).max(f64::MIN_POSITIVE);
    solve_tail(fam, table, lower, libm::log(p))
}

/// y for a probability outside the table: an exact solve, slow but reached only for
/// u < 9.5e-18.
#[cold]
fn y_beyond_table<F: Family>(fam: &F, table: &InvTable, u: f64) -> f64 {
    if u <= 0.5 {
        solve_tail(fam, table, true, libm::log(u))
    } else {
        solve_tail(fam, table, false, libm::log(1.0 - u))
    }
}

/// The exact solve beyond the table in the lower tail (`lower`) or the upper one, at the log of
/// the tail probability, started from the table's first node or from 0.
fn solve_tail<F: Family>(fam: &F, table: &InvTable, lower: bool, ln_p: f64) -> f64 {
    let start = if lower { table.first_y() } else { 0.0 };
    solve_y(fam, lower, ln_p, start)
}

// ---------------------------------------------------------------------------------------
// Kinds
// ---------------------------------------------------------------------------------------

/// Beta(a, b) on [min, max], sampled through a logit-space table.
#[derive(Clone, Debug)]
struct ScaledBeta {
    f: BetaFn,
    table: InvTable,
    min: f64,
    max: f64,
    width: f64,
}

impl ScaledBeta {
    fn new(a: f64, b: f64, min: f64, max: f64) -> Self {
        let f = BetaFn::new(a, b);
        let table = InvTable::build(&f);
        Self {
            f,
            table,
            min,
            max,
            width: max - min,
        }
    }

    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        self.x_at(table_y(&self.f, &self.table, std_normal_quantile(u), u))
    }

    /// The draw at the table's `y`. Measured from the nearer end so that x near max keeps its
    /// precision.
    #[inline(always)]
    fn x_at(&self, y: f64) -> f64 {
        let (x, xc) = self.f.x_from_y(y);
        if x <= 0.5 {
            (self.min + self.width * x).min(self.max)
        } else {
            (self.max - self.width * xc).max(self.min)
        }
    }

    /// [`ScaledBeta::quantile`] of each `u` (all in (0, 1)), bit for bit, in three passes
    /// over the slice (normal scores, the table, the map back to x): each pass is a short
    /// loop of independent draws that the processor overlaps, where one draw at a time is a
    /// single long chain of dependent operations.
    fn quantiles(&self, u: &[f64], out: &mut [f64]) {
        table_ys(&self.f, &self.table, u, out);
        self.x_ats(out);
    }

    /// [`ScaledBeta::quantiles`] from normal scores `z` instead of uniforms: its last two
    /// passes.
    fn quantiles_at_scores(&self, z: &[f64], out: &mut [f64]) {
        table_ys_at_scores(&self.f, &self.table, z, out);
        self.x_ats(out);
    }

    /// [`ScaledBeta::x_at`] of each table y in `out`, in place.
    fn x_ats(&self, out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        if simd::available() {
            // SAFETY: the processor has AVX2 (checked just above).
            unsafe { simd::beta_x_ats(self, out) };
            return;
        }
        for o in out.iter_mut() {
            *o = self.x_at(*o);
        }
    }

    fn cdf(&self, x: f64) -> f64 {
        self.f
            .cdf01((x - self.min) / self.width, (self.max - x) / self.width)
    }

    fn mean(&self) -> f64 {
        self.min + self.width * self.f.a / (self.f.a + self.f.b)
    }
}

/// The Beta shapes of a (modified) PERT on [min, max] (see [`Dist::pert`]), after checking
/// its parameters.
fn pert_shapes(min: f64, mode: f64, max: f64, shape: f64) -> Result<(f64, f64), DistError> {
    finite("min", min)?;
    finite("mode", mode)?;
    finite("max", max)?;
    less("min", min, "max", max)?;
    let width = finite("max - min", max - min)?;
    in_range("mode", mode, "[min, max]", min, max)?;
    positive("shape", shape)?;
    in_range("shape", shape, "", 0.0, SHAPE_RANGE.1)?;
    let a = 1.0 + shape * (mode - min) / width;
    let b = 1.0 + shape * (max - mode) / width;
    // shape · (max − mode) overflows when the distances are beyond about 1e303.
    finite("alpha = 1 + shape (mode - min) / (max - min)", a)?;
    finite("beta = 1 + shape (max - mode) / (max - min)", b)?;
    Ok((a, b))
}

/// Gamma(k, scale), sampled through a log-space table.
#[derive(Clone, Debug)]
struct ScaledGamma {
    f: GammaFn,
    table: InvTable,
    scale: f64,
    /// scale * k, the factor in front of e^y.
    scale_k: f64,
}

impl ScaledGamma {
    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        self.scale_k * exp_sampling(table_y(&self.f, &self.table, std_normal_quantile(u), u))
    }

    /// [`ScaledGamma::quantile`] of each `u` (all in (0, 1)), bit for bit, in passes over the
    /// slice as [`ScaledBeta::quantiles`] does.
    fn quantiles(&self, u: &[f64], out: &mut [f64]) {
        table_ys(&self.f, &self.table, u, out);
        self.scale_ys(out);
    }

    /// [`ScaledGamma::quantiles`] from normal scores `z` instead of uniforms, as
    /// [`ScaledBeta::quantiles_at_scores`].
    fn quantiles_at_scores(&self, z: &[f64], out: &mut [f64]) {
        table_ys_at_scores(&self.f, &self.table, z, out);
        self.scale_ys(out);
    }

    /// The draws at the table's ys in `out`, in place.
    fn scale_ys(&self, out: &mut [f64]) {
        exp_samplings(out);
        for o in out.iter_mut() {
            *o *= self.scale_k;
        }
    }
}

/// Normal(mean, sd) restricted to [min, max]. Inversion runs on whichever side of the
/// normal keeps the interval's probabilities away from 1: the lower CDF when the interval
/// reaches below the mean, the upper tail probability Phi(-z) when it lies wholly above,
/// so even an interval like [8 sd, 9 sd] is inverted to full relative accuracy.
#[derive(Clone, Debug)]
struct TruncNormal {
    mean: f64,
    sd: f64,
    min: f64,
    max: f64,
    /// Interval wholly above the mean: work with upper tail probabilities.
    upper: bool,
    /// Phi(alpha) (lower) or Phi(-alpha) (upper), alpha = (min - mean) / sd.
    pa: f64,
    /// Normal probability of [min, max].
    mass: f64,
}

impl TruncNormal {
    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        let x = if self.upper {
            let q = self.pa - u * self.mass;
            self.mean - self.sd * std_normal_quantile(q)
        } else {
            let p = self.pa + u * self.mass;
            self.mean + self.sd * std_normal_quantile(p)
        };
        x.clamp(self.min, self.max)
    }

    fn cdf(&self, x: f64) -> f64 {
        if x <= self.min {
            return 0.0;
        }
        if x >= self.max {
            return 1.0;
        }
        let z = (x - self.mean) / self.sd;
        let c = if self.upper {
            (self.pa - std_normal_cdf(-z)) / self.mass
        } else {
            (std_normal_cdf(z) - self.pa) / self.mass
        };
        c.clamp(0.0, 1.0)
    }

    fn mean(&self) -> f64 {
        // E[X] = mu + sigma (phi(alpha) - phi(beta)) / Z, the truncated-normal mean
        // (Johnson, Kotz & Balakrishnan, Continuous Univariate Distributions vol. 1,
        // 2nd ed., ch. 13).
        let pdf = |t: f64| {
            if t.is_finite() {
                libm::exp(ln_std_normal_pdf(t))
            } else {
                0.0
            }
        };
        let alpha = (self.min - self.mean) / self.sd;
        let beta = (self.max - self.mean) / self.sd;
        let m = self.mean + self.sd * (pdf(alpha) - pdf(beta)) / self.mass;
        m.clamp(self.min, self.max)
    }
}

/// Hyperbolic core shared by J-QPD-S and the unbounded variant: with n in {-1, 0, 1},
/// k = sqrt(1 + (delta c)^2), the map
///     H(z) = k z + n c sqrt(1 + delta^2 z^2) = sinh(asinh(delta z) + asinh(n c delta)) / delta
/// and its inverse H^-1(v) = k v - n c sqrt(1 + delta^2 v^2). Where the two terms have
/// opposite signs they are combined through (k z + n c R)(k z - n c R) = z^2 - c^2, which
/// removes the cancellation and makes H(-n c) = 0 exact.
#[derive(Clone, Debug)]
struct Hyperbola {
    n: f64,
    c: f64,
    k: f64,
    delta: f64,
}

impl Hyperbola {
    /// Fits to quantiles l < b < h at probabilities (0.1, 0.5, 0.9) (their logarithms
    /// for J-QPD-S). Returns the hyperbola and the scale s = min(b - l, h - b) / c of
    /// value = anchor + s H(z); the anchor, where H = 0, is given by [`Self::pick`].
    fn fit(l: f64, b: f64, h: f64, c: f64) -> (Self, f64) {
        let m = (b - l).min(h - b);
        let mut skew = l + h - 2.0 * b;
        if !skew.is_finite() {
            // l + h or 2b overflows (quantiles near ±f64::MAX whose gaps are finite): the
            // same sign from the gaps.
            skew = (h - b) - (b - l);
        }
        let n = if skew > 0.0 {
            1.0
        } else if skew < 0.0 {
            -1.0
        } else {
            0.0
        };
        let r = (h - l) / (2.0 * m);
        let dc = libm::sqrt((r * r - 1.0).max(0.0));
        (
            Self {
                n,
                c,
                k: if n == 0.0 { 1.0 } else { r },
                delta: dc / c,
            },
            m / c,
        )
    }

    /// The anchoring quantile: P10 for right skew (n = 1), P90 for left skew, else P50.
    fn pick(&self, x10: f64, x50: f64, x90: f64) -> f64 {
        if self.n > 0.0 {
            x10
        } else if self.n < 0.0 {
            x90
        } else {
            x50
        }
    }

    #[inline]
    fn forward(&self, z: f64) -> f64 {
        if self.n == 0.0 {
            return z;
        }
        let r = libm::sqrt(1.0 + (self.delta * z) * (self.delta * z));
        let ncr = self.n * self.c * r;
        if (z >= 0.0) == (self.n > 0.0) {
            self.k * z + ncr
        } else {
            (z - self.c) * (z + self.c) / (self.k * z - ncr)
        }
    }

    fn inverse(&self, v: f64) -> f64 {
        if self.n == 0.0 {
            return v;
        }
        let r = libm::sqrt(1.0 + (self.delta * v) * (self.delta * v));
        let ncr = self.n * self.c * r;
        if (v >= 0.0) != (self.n > 0.0) {
            self.k * v - ncr
        } else {
            (v - self.c) * (v + self.c) / (self.k * v + ncr)
        }
    }

    /// E[g(H(Z))] for Z standard normal, by the trapezoid rule. Where delta > 1 the
    /// substitution z = sinh(t) / delta makes the integrand entire (the square root's
    /// branch points at z = +-i / delta would otherwise slow the rule down).
    fn expectation(&self, g: impl Fn(f64, f64) -> f64) -> f64 {
        // g(h, ln phi(z)) returns g(h) phi(z), so callers can combine exponents.
        const Z_MAX: f64 = 38.0;
        if self.delta <= 1.0 {
            trapezoid(|z| g(self.forward(z), ln_std_normal_pdf(z)), -Z_MAX, Z_MAX)
        } else {
            let t_max = libm::asinh(Z_MAX * self.delta);
            trapezoid(
                |t| {
                    let z = libm::sinh(t) / self.delta;
                    g(self.forward(z), ln_std_normal_pdf(z)) * libm::cosh(t) / self.delta
                },
                -t_max,
                t_max,
            )
        }
    }
}

/// Trapezoid rule on [a, b], halving the step until two successive estimates agree to
/// 1e-14 relative. For the smooth, fast-decaying integrands used here the rule converges
/// geometrically (Trefethen & Weideman, SIAM Review 56(3), 2014).
fn trapezoid(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let mut n = 64usize;
    let mut h = (b - a) / n as f64;
    let mut sum = 0.5 * (f(a) + f(b)) + (1..n).map(|i| f(a + i as f64 * h)).sum::<f64>();
    let mut est = h * sum;
    for _ in 0..12 {
        sum += (0..n).map(|i| f(a + (i as f64 + 0.5) * h)).sum::<f64>();
        n *= 2;
        h *= 0.5;
        let next = h * sum;
        if (next - est).abs() <= 1e-14 * next.abs() {
            return next;
        }
        est = next;
    }
    est
}

/// J-QPD-B of Hadlock & Bickel (Decision Analysis 14(1), 2017, eq. 7): on [lo, hi],
/// Q(p) = lo + (hi - lo) Phi(xi + lambda sinh(delta (Phi^-1(p) + n c))), with
/// L, B, H the normal scores of the scaled P10, P50, P90, c = Phi^-1(0.9),
/// n = sgn(L + H - 2B), xi = L, B or H, delta = acosh((H - L) / (2 min(B - L, H - B))) / c
/// and lambda = (H - L) / sinh(2 delta c). When n = 0 (delta = 0) the limit
/// Q(p) = lo + (hi - lo) Phi(B + (H - L) / (2c) Phi^-1(p)) is used.
#[derive(Clone, Debug)]
struct JqpdB {
    lo: f64,
    hi: f64,
    width: f64,
    xi: f64,
    lambda: f64,
    delta: f64,
    nc: f64,
    mean: f64,
}

impl JqpdB {
    /// Normal score of x in [lo, hi] scaled to [0, 1], by the nearer end.
    fn score(x: f64, lo: f64, hi: f64) -> f64 {
        normal_score((x - lo) / (hi - lo), (hi - x) / (hi - lo))
    }

    /// From the scores l < b < h of P10, P50, P90.
    fn new(l: f64, b: f64, h: f64, lo: f64, hi: f64) -> Self {
        let width = hi - lo;
        let c = std_normal_quantile(0.9);
        let skew = l + h - 2.0 * b;
        let r = (h - l) / (2.0 * (b - l).min(h - b));
        let delta = libm::acosh(r.max(1.0)) / c;
        let mut d = if skew != 0.0 && delta > 0.0 {
            let n = skew.signum();
            Self {
                lo,
                hi,
                width,
                xi: if n > 0.0 { l } else { h },
                lambda: (h - l) / libm::sinh(2.0 * delta * c),
                delta,
                nc: n * c,
                mean: 0.0,
            }
        } else {
            Self {
                lo,
                hi,
                width,
                xi: b,
                lambda: (h - l) / (2.0 * c),
                delta: 0.0,
                nc: 0.0,
                mean: 0.0,
            }
        };
        let ex = trapezoid(
            |z| {
                let v = d.score_at(z);
                std_normal_cdf(v) * libm::exp(ln_std_normal_pdf(z))
            },
            -38.0,
            38.0,
        );
        d.mean = (lo + width * ex).clamp(lo, hi);
        d
    }

    /// Normal score (in the scaled bounded space) at the input normal score z.
    #[inline]
    fn score_at(&self, z: f64) -> f64 {
        if self.delta == 0.0 {
            self.xi + self.lambda * z
        } else {
            self.xi + self.lambda * libm::sinh(self.delta * (z + self.nc))
        }
    }

    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        let v = self.score_at(std_normal_quantile(u));
        let x = if v <= 0.0 {
            self.lo + self.width * std_normal_cdf(v)
        } else {
            self.hi - self.width * std_normal_cdf(-v)
        };
        x.clamp(self.lo, self.hi)
    }

    fn cdf(&self, x: f64) -> f64 {
        if x <= self.lo {
            return 0.0;
        }
        if x >= self.hi {
            return 1.0;
        }
        let v = normal_score((x - self.lo) / self.width, (self.hi - x) / self.width);
        let z = if self.delta == 0.0 {
            (v - self.xi) / self.lambda
        } else {
            libm::asinh((v - self.xi) / self.lambda) / self.delta - self.nc
        };
        std_normal_cdf(z)
    }
}

/// J-QPD-S of Hadlock & Bickel (2017, eq. 9), semi-bounded at `bound`:
/// Q(p) = bound + theta exp(lambda sinh(asinh(delta Phi^-1(p)) + asinh(n c delta))),
/// with L, B, H = ln(P10 - bound), ln(P50 - bound), ln(P90 - bound), written through the
/// [`Hyperbola`] as bound + theta exp(s H(z)), s = lambda delta = min(B - L, H - B) / c.
/// `dir = -1` mirrors it for a support (-inf, bound]: fitted to bound - x, with z -> -z.
#[derive(Clone, Debug)]
struct JqpdS {
    bound: f64,
    dir: f64,
    theta: f64,
    s: f64,
    hyp: Hyperbola,
    mean: f64,
}

impl JqpdS {
    /// `d10 < d50 < d90` are the distances of the quantiles from the bound, ordered
    /// in the mirrored space, and `ln_d` their logarithms.
    fn new(bound: f64, dir: f64, d: [f64; 3], ln_d: [f64; 3]) -> Self {
        let c = std_normal_quantile(0.9);
        let (hyp, s) = Hyperbola::fit(ln_d[0], ln_d[1], ln_d[2], c);
        // theta is the input distance itself, so the anchoring quantile is exact.
        let theta = hyp.pick(d[0], d[1], d[2]);
        let ln_theta = libm::log(theta);
        let ex = hyp.expectation(|h, ln_pdf| libm::exp(s * h + ln_pdf + ln_theta));
        Self {
            bound,
            dir,
            theta,
            s,
            hyp,
            mean: bound + dir * ex,
        }
    }

    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        let z = self.dir * std_normal_quantile(u);
        self.bound + self.dir * self.theta * libm::exp(self.s * self.hyp.forward(z))
    }

    fn cdf(&self, x: f64) -> f64 {
        let d = self.dir * (x - self.bound);
        if !(d > 0.0) {
            return if self.dir > 0.0 { 0.0 } else { 1.0 };
        }
        let z = self.hyp.inverse(libm::log(d / self.theta) / self.s);
        std_normal_cdf(self.dir * z)
    }

    fn support(&self) -> (f64, f64) {
        if self.dir > 0.0 {
            (self.bound, f64::INFINITY)
        } else {
            (f64::NEG_INFINITY, self.bound)
        }
    }
}

/// Unbounded quantile-parameterised distribution: the J-QPD-S construction applied to
/// the quantiles themselves instead of their logarithms,
/// Q(p) = theta + lambda sinh(asinh(delta Phi^-1(p)) + asinh(n c delta)),
/// i.e. a location-scale sinh-arcsinh transform of a normal (Jones & Pewsey, Biometrika
/// 96(4), 2009) whose three parameters are fixed in closed form by P10, P50, P90.
/// It matches the three quantiles exactly, is increasing for every ordered triplet, has
/// normal-like tails on both sides (with different scales when skewed), all moments, and
/// reduces to the normal with sd (P90 - P10) / (2 c) for a symmetric triplet.
#[derive(Clone, Debug)]
struct JqpdU {
    theta: f64,
    s: f64,
    hyp: Hyperbola,
    mean: f64,
}

impl JqpdU {
    fn new(p10: f64, p50: f64, p90: f64) -> Self {
        let c = std_normal_quantile(0.9);
        let (hyp, s) = Hyperbola::fit(p10, p50, p90, c);
        let theta = hyp.pick(p10, p50, p90);
        let ex = hyp.expectation(|h, ln_pdf| h * libm::exp(ln_pdf));
        Self {
            theta,
            s,
            hyp,
            mean: theta + s * ex,
        }
    }

    #[inline]
    fn quantile(&self, u: f64) -> f64 {
        self.theta + self.s * self.hyp.forward(std_normal_quantile(u))
    }

    fn cdf(&self, x: f64) -> f64 {
        std_normal_cdf(self.hyp.inverse((x - self.theta) / self.s))
    }
}

#[derive(Clone, Debug)]
enum Kind {
    Fixed(f64),
    Uniform {
        min: f64,
        max: f64,
        width: f64,
    },
    Triangular {
        min: f64,
        mode: f64,
        max: f64,
        /// F(mode) = (mode - min) / (max - min)
        f_mode: f64,
    },
    Pert(Box<ScaledBeta>),
    Normal {
        mean: f64,
        sd: f64,
    },
    TruncatedNormal(TruncNormal),
    LogNormal {
        mu: f64,
        sigma: f64,
    },
    Beta(Box<ScaledBeta>),
    Gamma(Box<ScaledGamma>),
    Discrete {
        /// Sorted values with positive weight.
        values: Box<[f64]>,
        /// Cumulative normalised weights; the last is exactly 1.
        cum: Box<[f64]>,
        mean: f64,
    },
    Bernoulli(f64),
    Empirical {
        sorted: Box<[f64]>,
        mean: f64,
    },
    JqpdB(JqpdB),
    JqpdS(JqpdS),
    JqpdU(JqpdU),
    Metalog(Box<crate::metalog::Metalog>),
}

/// The left-continuous inverse of a discrete CDF with cumulative weights `cum` (the last
/// exactly 1) over sorted `values`, at `u` in (0, 1).
///
/// The weights below `u` are a prefix of `cum`: the cumulative sums rise, and only in the tail,
/// where rounding can put a sum a hair above the last's exact 1, can one fall, and there every
/// entry is at least 1, above `u`. So their count is the index, counted without a branch for a
/// few weights ([`prefix_len`]): a binary search's branches go either way at random, each a
/// mispredicted jump about half the time.
#[inline]
fn discrete_quantile(values: &[f64], cum: &[f64], u: f64) -> f64 {
    values[prefix_len(cum, |c| c < u).min(values.len() - 1)]
}

/// A validated univariate distribution, sampled by inversion with [`Dist::quantile`].
#[derive(Clone, Debug)]
pub struct Dist(Kind);

/// Sampling by inversion from any `rand` generator: `quantile` of a uniform strictly inside
/// (0, 1) made from the generator's next `u64` as the engine makes it ([`crate::rng::unit_from`]),
/// so a [`crate::rng::PhiloxRng`] gives the engine's values for an input's stream.
impl rand_distr::Distribution<f64> for Dist {
    fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        self.quantile(crate::rng::unit_from(rng))
    }
}

impl Dist {
    /// A constant: every draw is `value`.
    pub fn fixed(value: f64) -> Result<Dist, DistError> {
        Ok(Dist(Kind::Fixed(finite("value", value)?)))
    }

    /// Uniform on [min, max], min < max.
    pub fn uniform(min: f64, max: f64) -> Result<Dist, DistError> {
        finite("min", min)?;
        finite("max", max)?;
        less("min", min, "max", max)?;
        let width = finite("max - min", max - min)?;
        Ok(Dist(Kind::Uniform { min, max, width }))
    }

    /// Triangular on [min, max] with the given mode, min <= mode <= max, min < max.
    pub fn triangular(min: f64, mode: f64, max: f64) -> Result<Dist, DistError> {
        finite("min", min)?;
        finite("mode", mode)?;
        finite("max", max)?;
        less("min", min, "max", max)?;
        let width = finite("max - min", max - min)?;
        if width > TRIANGULAR_MAX_WIDTH {
            return Err(DistError::Invalid {
                field: "max - min".into(),
                value: Num(width).to_string(),
                allowed: format!(
                    "must be at most {} (the triangular's CDF squares the width)",
                    Num(TRIANGULAR_MAX_WIDTH)
                ),
            });
        }
        in_range("mode", mode, "[min, max]", min, max)?;
        Ok(Dist(Kind::Triangular {
            min,
            mode,
            max,
            f_mode: (mode - min) / (max - min),
        }))
    }

    /// (Modified) PERT: Beta(a, b) on [min, max] with
    /// a = 1 + shape (mode - min) / (max - min), b = 1 + shape (max - mode) / (max - min)
    /// (Vose, Risk Analysis, 3rd ed., 2008); `shape` = [`PERT_DEFAULT_SHAPE`] is the
    /// classic PERT, whose mean is (min + 4 mode + max) / 6.
    pub fn pert(min: f64, mode: f64, max: f64, shape: f64) -> Result<Dist, DistError> {
        let (a, b) = pert_shapes(min, mode, max, shape)?;
        Ok(Dist(Kind::Pert(Box::new(ScaledBeta::new(a, b, min, max)))))
    }

    /// `Dist::pert(min, mode, max, shape)?.cdf(x)`, bit for bit, without building the
    /// distribution's quantile table: for searches that evaluate many candidate PERTs'
    /// CDFs and sample none of them.
    pub fn pert_cdf(min: f64, mode: f64, max: f64, shape: f64, x: f64) -> Result<f64, DistError> {
        let (a, b) = pert_shapes(min, mode, max, shape)?;
        if x.is_nan() {
            return Ok(f64::NAN);
        }
        let width = max - min;
        Ok(BetaFn::new(a, b).cdf01((x - min) / width, (max - x) / width))
    }

    /// Normal(mean, sd), sd > 0.
    pub fn normal(mean: f64, sd: f64) -> Result<Dist, DistError> {
        finite("mean", mean)?;
        positive("sd", sd)?;
        Ok(Dist(Kind::Normal { mean, sd }))
    }

    /// Normal(mean, sd) conditioned on [min, max]; either bound may be infinite. The
    /// interval must carry at least [`MIN_TRUNCATED_MASS`] of the normal's probability.
    pub fn truncated_normal(mean: f64, sd: f64, min: f64, max: f64) -> Result<Dist, DistError> {
        finite("mean", mean)?;
        positive("sd", sd)?;
        for (field, v) in [("min", min), ("max", max)] {
            if v.is_nan() {
                return Err(DistError::NotANumber {
                    field: field.to_owned(),
                });
            }
        }
        less("min", min, "max", max)?;
        let alpha = (min - mean) / sd;
        let beta = (max - mean) / sd;
        let upper = alpha > 0.0;
        let (pa, pb) = if upper {
            (std_normal_cdf(-alpha), std_normal_cdf(-beta))
        } else {
            (std_normal_cdf(alpha), std_normal_cdf(beta))
        };
        let mass = (pb - pa).abs();
        if !(mass >= MIN_TRUNCATED_MASS) {
            return Err(DistError::NoMass { min, max, mass });
        }
        Ok(Dist(Kind::TruncatedNormal(TruncNormal {
            mean,
            sd,
            min,
            max,
            upper,
            pa,
            mass,
        })))
    }

    /// Lognormal with the given mean and standard deviation of X itself:
    /// sigma^2 = ln(1 + sd^2 / mean^2), mu = ln(mean) - sigma^2 / 2.
    pub fn lognormal_mean_sd(mean: f64, sd: f64) -> Result<Dist, DistError> {
        positive("mean", mean)?;
        positive("sd", sd)?;
        let cv = sd / mean;
        let var_log = libm::log1p(cv * cv);
        let sigma = libm::sqrt(var_log);
        let mu = libm::log(mean) - 0.5 * var_log;
        Self::lognormal_checked(mu, sigma)
    }

    /// Lognormal with the given median and 90th percentile, 0 < median < p90:
    /// mu = ln(median), sigma = ln(p90 / median) / Phi^-1(0.9).
    pub fn lognormal_median_p90(median: f64, p90: f64) -> Result<Dist, DistError> {
        positive("median", median)?;
        positive("p90", p90)?;
        greater("p90", p90, "median", median)?;
        let mu = libm::log(median);
        let sigma = (libm::log(p90) - mu) / std_normal_quantile(0.9);
        Self::lognormal_checked(mu, sigma)
    }

    /// Lognormal with the given 10th and 90th percentiles, 0 < p10 < p90:
    /// mu = (ln p10 + ln p90) / 2, sigma = (ln p90 - ln p10) / (2 Phi^-1(0.9)).
    pub fn lognormal_p10_p90(p10: f64, p90: f64) -> Result<Dist, DistError> {
        positive("p10", p10)?;
        positive("p90", p90)?;
        greater("p90", p90, "p10", p10)?;
        let (l10, l90) = (libm::log(p10), libm::log(p90));
        let mu = 0.5 * (l10 + l90);
        let sigma = (l90 - l10) / (2.0 * std_normal_quantile(0.9));
        Self::lognormal_checked(mu, sigma)
    }

    fn lognormal_checked(mu: f64, sigma: f64) -> Result<Dist, DistError> {
        // Guards against parameters so extreme that the log-scale ones round to 0 or inf.
        finite("mu (log-scale mean)", mu)?;
        positive("sigma (log-scale sd)", sigma)?;
        Ok(Dist(Kind::LogNormal { mu, sigma }))
    }

    /// Beta(alpha, beta) on [0, 1]; shapes in [`SHAPE_RANGE`].
    pub fn beta(alpha: f64, beta: f64) -> Result<Dist, DistError> {
        Self::beta_scaled(alpha, beta, 0.0, 1.0)
    }

    /// Beta(alpha, beta) stretched to [min, max].
    pub fn beta_scaled(alpha: f64, beta: f64, min: f64, max: f64) -> Result<Dist, DistError> {
        shape_param("alpha", alpha)?;
        shape_param("beta", beta)?;
        finite("min", min)?;
        finite("max", max)?;
        less("min", min, "max", max)?;
        finite("max - min", max - min)?;
        Ok(Dist(Kind::Beta(Box::new(ScaledBeta::new(
            alpha, beta, min, max,
        )))))
    }

    /// Beta on [0, 1] with the given mean and standard deviation (method of moments):
    /// nu = mean (1 - mean) / sd^2 - 1, alpha = mean nu, beta = (1 - mean) nu; requires
    /// 0 < mean < 1 and sd^2 < mean (1 - mean).
    pub fn beta_mean_sd(mean: f64, sd: f64) -> Result<Dist, DistError> {
        finite("mean", mean)?;
        if !(mean > 0.0 && mean < 1.0) {
            return Err(DistError::OutOfRange {
                field: "mean".to_owned(),
                value: mean,
                range: "",
                lo: 0.0,
                hi: 1.0,
                open: true,
            });
        }
        positive("sd", sd)?;
        let var_max = mean * (1.0 - mean);
        less("sd", sd, "sqrt(mean*(1-mean))", libm::sqrt(var_max))?;
        let nu = var_max / (sd * sd) - 1.0;
        // sd < sqrt(var_max) can still round to nu <= 0 right at the limit.
        positive("mean*(1-mean)/sd^2 - 1", nu)?;
        let (a, b) = (mean * nu, (1.0 - mean) * nu);
        shape_param("alpha (from mean, sd)", a)?;
        shape_param("beta (from mean, sd)", b)?;
        Ok(Dist(Kind::Beta(Box::new(ScaledBeta::new(a, b, 0.0, 1.0)))))
    }

    /// Gamma with the given shape k and scale theta (mean k theta); k in [`SHAPE_RANGE`].
    pub fn gamma(shape: f64, scale: f64) -> Result<Dist, DistError> {
        shape_param("shape", shape)?;
        positive("scale", scale)?;
        let f = GammaFn::new(shape);
        let table = InvTable::build(&f);
        Ok(Dist(Kind::Gamma(Box::new(ScaledGamma {
            f,
            table,
            scale,
            scale_k: scale * shape,
        }))))
    }

    /// Discrete distribution on finite `values` with `weights` >= 0 summing to 1 within
    /// [`WEIGHT_SUM_TOLERANCE`] (the weights are then renormalised exactly). Values of
    /// zero weight are dropped; repeated values are allowed.
    pub fn discrete(values: Vec<f64>, weights: Vec<f64>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return Err(DistError::Empty { field: "values" });
        }
        if values.len() != weights.len() {
            return Err(DistError::LengthMismatch {
                values: values.len(),
                weights: weights.len(),
            });
        }
        for (i, &v) in values.iter().enumerate() {
            finite(&format!("values[{i}]"), v)?;
        }
        for (i, &w) in weights.iter().enumerate() {
            let field = format!("weights[{i}]");
            finite(&field, w)?;
            if w < 0.0 {
                return Err(DistError::Negative { field, value: w });
            }
        }
        let sum: f64 = weights.iter().sum();
        if !((sum - 1.0).abs() <= WEIGHT_SUM_TOLERANCE) {
            return Err(DistError::WeightSum { sum });
        }
        let mut pairs: Vec<(f64, f64)> = values
            .into_iter()
            .zip(weights)
            .filter(|&(_, w)| w > 0.0)
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut acc = 0.0;
        let mut mean = 0.0;
        let mut cum = Vec::with_capacity(pairs.len());
        for &(v, w) in &pairs {
            acc += w;
            mean += v * w;
            cum.push(acc / sum);
        }
        if let Some(last) = cum.last_mut() {
            *last = 1.0;
        }
        Ok(Dist(Kind::Discrete {
            values: pairs.iter().map(|p| p.0).collect(),
            cum: cum.into_boxed_slice(),
            mean: mean / sum,
        }))
    }

    /// Bernoulli(p): draws 1.0 with probability p, else 0.0; p in [0, 1].
    pub fn bernoulli(p: f64) -> Result<Dist, DistError> {
        finite("p", p)?;
        in_range("p", p, "", 0.0, 1.0)?;
        Ok(Dist(Kind::Bernoulli(p)))
    }

    /// The empirical distribution of a sample (at least one finite value). Its quantile
    /// is the inverse of the empirical CDF (Hyndman & Fan 1996, type 1):
    /// Q(u) = x_(ceil(n u)), so draws reproduce the sample values with equal
    /// probability 1/n each, and `mean()` is the sample mean. No interpolation: values
    /// outside the observed ones never appear.
    pub fn empirical(values: Vec<f64>) -> Result<Dist, DistError> {
        if values.is_empty() {
            return Err(DistError::Empty { field: "values" });
        }
        for (i, &v) in values.iter().enumerate() {
            finite(&format!("values[{i}]"), v)?;
        }
        let mut sorted = values;
        sorted.sort_by(f64::total_cmp);
        let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
        Ok(Dist(Kind::Empirical {
            sorted: sorted.into_boxed_slice(),
            mean,
        }))
    }

    /// Distribution through an expert's P10 < P50 < P90, with optional `bounds` (lo, hi),
    /// lo < P10 and P90 < hi, either of which may be infinite:
    /// - lo and hi finite: J-QPD-B (Hadlock & Bickel, Decision Analysis 14(1), 2017);
    /// - lo finite, hi = +inf: J-QPD-S, same paper;
    /// - lo = -inf, hi finite: J-QPD-S mirrored about hi;
    /// - no bounds (or both infinite): the J-QPD-S construction applied to the quantiles
    ///   themselves rather than their logarithms, Q(p) = P_anchor + lambda
    ///   sinh(asinh(delta z) + asinh(n c delta)), z = Phi^-1(p): a sinh-arcsinh transform
    ///   of a normal (Jones & Pewsey, Biometrika 96(4), 2009) with normal-like tails on
    ///   both sides; a symmetric triplet gives the normal with sd (P90 - P10) / (2 c).
    ///
    /// All reproduce the three quantiles exactly (up to rounding) and have closed-form
    /// quantile and CDF functions.
    pub fn from_quantiles(
        p10: f64,
        p50: f64,
        p90: f64,
        bounds: Option<(f64, f64)>,
    ) -> Result<Dist, DistError> {
        finite("p10", p10)?;
        finite("p50", p50)?;
        finite("p90", p90)?;
        less("p10", p10, "p50", p50)?;
        less("p50", p50, "p90", p90)?;
        finite("p90 - p10", p90 - p10)?;
        let (lo, hi) = bounds.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
        // Named as a distribution file names the bounds.
        for (field, v) in [("min", lo), ("max", hi)] {
            if v.is_nan() {
                return Err(DistError::NotANumber {
                    field: field.to_owned(),
                });
            }
        }
        greater("p10", p10, "min", lo)?;
        less("p90", p90, "max", hi)?;
        let kind = match (lo.is_finite(), hi.is_finite()) {
            (true, true) => {
                finite("max - min", hi - lo)?;
                let t = [p10, p50, p90].map(|x| JqpdB::score(x, lo, hi));
                resolvable(t, ["p10", "p50", "p90"], [p10, p50, p90])?;
                Kind::JqpdB(JqpdB::new(t[0], t[1], t[2], lo, hi))
            }
            (true, false) => {
                finite("p90 - min", p90 - lo)?;
                let d = [p10 - lo, p50 - lo, p90 - lo];
                let t = d.map(libm::log);
                resolvable(t, ["p10", "p50", "p90"], [p10, p50, p90])?;
                Kind::JqpdS(JqpdS::new(lo, 1.0, d, t))
            }
            (false, true) => {
                finite("max - p10", hi - p10)?;
                let d = [hi - p90, hi - p50, hi - p10];
                let t = d.map(libm::log);
                resolvable(t, ["p90", "p50", "p10"], [p90, p50, p10])?;
                Kind::JqpdS(JqpdS::new(hi, -1.0, d, t))
            }
            (false, false) => {
                let t = [p10, p50, p90];
                resolvable(t, ["p10", "p50", "p90"], t)?;
                Kind::JqpdU(JqpdU::new(p10, p50, p90))
            }
        };
        Ok(Dist(kind))
    }

    /// The draw for a uniform `u` in (0, 1): the quantile function (left-continuous
    /// inverse of the CDF for the discrete kinds). `u <= 0` and `u >= 1` return the
    /// ends of `support()` (possibly infinite), NaN returns NaN.
    #[inline]
    pub fn quantile(&self, u: f64) -> f64 {
        if !(u > 0.0 && u < 1.0) {
            return self.quantile_at_edge(u);
        }
        match &self.0 {
            Kind::Fixed(v) => *v,
            Kind::Uniform { min, max, width } => (min + u * width).min(*max),
            Kind::Triangular {
                min,
                mode,
                max,
                f_mode,
            } => triangular_quantile(*min, *mode, *max, *f_mode, u),
            Kind::Pert(beta) | Kind::Beta(beta) => beta.quantile(u),
            Kind::Normal { mean, sd } => mean + sd * std_normal_quantile(u),
            Kind::TruncatedNormal(t) => t.quantile(u),
            Kind::LogNormal { mu, sigma } => libm::exp(mu + sigma * std_normal_quantile(u)),
            Kind::Gamma(g) => g.quantile(u),
            Kind::Discrete { values, cum, .. } => discrete_quantile(values, cum, u),
            Kind::Bernoulli(p) => {
                if u > 1.0 - p {
                    1.0
                } else {
                    0.0
                }
            }
            Kind::Empirical { sorted, .. } => {
                let n = sorted.len();
                let k = libm::ceil(u * n as f64) as usize;
                sorted[k.saturating_sub(1).min(n - 1)]
            }
            Kind::JqpdB(d) => d.quantile(u),
            Kind::JqpdS(d) => d.quantile(u),
            Kind::JqpdU(d) => d.quantile(u),
            Kind::Metalog(d) => d.quantile(u),
        }
    }

    /// Whether the kind has a path from normal scores (PERT, beta and gamma, whose quantiles go
    /// through a table in the normal score of their uniform): then
    /// [`Dist::quantiles_at_scores`] takes the scores themselves.
    pub fn samples_from_scores(&self) -> bool {
        matches!(&self.0, Kind::Pert(_) | Kind::Beta(_) | Kind::Gamma(_))
    }

    /// The draws at normal scores `z` (the draw at `z` is the quantile at `Φ(z)`), for a kind
    /// that [samples from scores](Dist::samples_from_scores): a Gaussian copula's scores taken
    /// directly, without the round trip through a uniform. At `z = Φ⁻¹(u)` for `u` in (0, 1),
    /// as [`Dist::quantiles`] computes it, the same bits as `quantiles` at `u` wherever the
    /// table reaches (|z| ≤ 8.5); beyond it the exact solve takes the tail probability from `z`
    /// itself, so the upper tail goes on past where `Φ(z)` rounds to 1. Non-decreasing in `z`.
    /// Returns false (and writes nothing) for the other kinds.
    ///
    /// # Panics
    /// If `z` and `out` differ in length.
    pub fn quantiles_at_scores(&self, z: &[f64], out: &mut [f64]) -> bool {
        assert_eq!(z.len(), out.len(), "quantiles: one output per score");
        match &self.0 {
            Kind::Pert(beta) | Kind::Beta(beta) => beta.quantiles_at_scores(z, out),
            Kind::Gamma(g) => g.quantiles_at_scores(z, out),
            _ => return false,
        }
        true
    }

    /// [`Dist::quantile`] of each of `u` into `out`, bit for bit. The costly kinds (PERT, beta,
    /// gamma, truncated normal) and the discrete one are matched once for the slice, so the loop
    /// runs over independent draws that the processor overlaps; PERT, beta and gamma on a slice
    /// wholly inside (0, 1) (the samplers' case) go further, in stages over the slice (normal
    /// scores, table, map back). The other kinds go through [`Dist::quantile`] value by value.
    ///
    /// # Panics
    /// If `u` and `out` differ in length.
    pub fn quantiles(&self, u: &[f64], out: &mut [f64]) {
        assert_eq!(u.len(), out.len(), "quantiles: one output per uniform");
        match &self.0 {
            // The staged loops take a slice wholly inside (0, 1), as the samplers give.
            Kind::Pert(beta) | Kind::Beta(beta) if all_inside(u) => beta.quantiles(u, out),
            Kind::Pert(beta) | Kind::Beta(beta) => self.each_inside(u, out, |u| beta.quantile(u)),
            Kind::Gamma(g) if all_inside(u) => g.quantiles(u, out),
            Kind::Gamma(g) => self.each_inside(u, out, |u| g.quantile(u)),
            Kind::TruncatedNormal(t) => self.each_inside(u, out, |u| t.quantile(u)),
            Kind::Discrete { values, cum, .. } => {
                self.each_inside(u, out, |u| discrete_quantile(values, cum, u))
            }
            _ => {
                for (o, &u) in out.iter_mut().zip(u) {
                    *o = self.quantile(u);
                }
            }
        }
    }

    /// `out[j] = q(u[j])` for `u[j]` in (0, 1), the edge values otherwise: [`Dist::quantile`]
    /// with the kind's quantile `q` already chosen.
    #[inline(always)]
    fn each_inside(&self, u: &[f64], out: &mut [f64], q: impl Fn(f64) -> f64) {
        for (o, &u) in out.iter_mut().zip(u) {
            *o = if u > 0.0 && u < 1.0 {
                q(u)
            } else {
                self.quantile_at_edge(u)
            };
        }
    }

    #[cold]
    fn quantile_at_edge(&self, u: f64) -> f64 {
        let (lo, hi) = self.support();
        if u <= 0.0 {
            lo
        } else if u >= 1.0 {
            hi
        } else {
            f64::NAN
        }
    }

    /// P(X <= x). NaN for NaN.
    pub fn cdf(&self, x: f64) -> f64 {
        if x.is_nan() {
            return f64::NAN;
        }
        match &self.0 {
            Kind::Fixed(v) => step(x >= *v),
            Kind::Uniform { min, width, .. } => ((x - min) / width).clamp(0.0, 1.0),
            Kind::Triangular { min, mode, max, .. } => triangular_cdf(*min, *mode, *max, x),
            Kind::Pert(beta) | Kind::Beta(beta) => beta.cdf(x),
            Kind::Normal { mean, sd } => std_normal_cdf((x - mean) / sd),
            Kind::TruncatedNormal(t) => t.cdf(x),
            Kind::LogNormal { mu, sigma } => {
                if x <= 0.0 {
                    0.0
                } else {
                    std_normal_cdf((libm::log(x) - mu) / sigma)
                }
            }
            Kind::Gamma(g) => g.f.cdf1(x / g.scale),
            Kind::Discrete { values, cum, .. } => {
                let i = values.partition_point(|&v| v <= x);
                if i == 0 { 0.0 } else { cum[i - 1] }
            }
            Kind::Bernoulli(p) => {
                if x < 0.0 {
                    0.0
                } else if x < 1.0 {
                    1.0 - p
                } else {
                    1.0
                }
            }
            Kind::Empirical { sorted, .. } => {
                sorted.partition_point(|&v| v <= x) as f64 / sorted.len() as f64
            }
            Kind::JqpdB(d) => d.cdf(x),
            Kind::JqpdS(d) => d.cdf(x),
            Kind::JqpdU(d) => d.cdf(x),
            Kind::Metalog(d) => d.cdf(x),
        }
    }

    /// The mean E(X): analytic where a formula exists; for the quantile-parameterised kinds the
    /// integral of the quantile against the normal density, computed once at
    /// construction to ~1e-14 relative.
    pub fn mean(&self) -> f64 {
        match &self.0 {
            Kind::Fixed(v) => *v,
            Kind::Uniform { min, max, .. } => {
                // Halving each end first where their sum overflows (ends near ±f64::MAX).
                let sum = min + max;
                if sum.is_finite() {
                    0.5 * sum
                } else {
                    0.5 * min + 0.5 * max
                }
            }
            Kind::Triangular { min, mode, max, .. } => (min + mode + max) / 3.0,
            Kind::Pert(beta) | Kind::Beta(beta) => beta.mean(),
            Kind::Normal { mean, .. } => *mean,
            Kind::TruncatedNormal(t) => t.mean(),
            Kind::LogNormal { mu, sigma } => libm::exp(mu + 0.5 * sigma * sigma),
            Kind::Gamma(g) => g.f.k * g.scale,
            Kind::Discrete { mean, .. } | Kind::Empirical { mean, .. } => *mean,
            Kind::Bernoulli(p) => *p,
            Kind::JqpdB(d) => d.mean,
            Kind::JqpdS(d) => d.mean,
            Kind::JqpdU(d) => d.mean,
            Kind::Metalog(d) => d.mean,
        }
    }

    /// Closed interval [lo, hi] holding every draw; ends may be infinite. For the
    /// discrete kinds, the smallest and largest value of positive probability.
    pub fn support(&self) -> (f64, f64) {
        match &self.0 {
            Kind::Fixed(v) => (*v, *v),
            Kind::Uniform { min, max, .. } | Kind::Triangular { min, max, .. } => (*min, *max),
            Kind::Pert(beta) | Kind::Beta(beta) => (beta.min, beta.max),
            Kind::Normal { .. } | Kind::JqpdU(_) => (f64::NEG_INFINITY, f64::INFINITY),
            Kind::TruncatedNormal(t) => (t.min, t.max),
            Kind::LogNormal { .. } | Kind::Gamma(_) => (0.0, f64::INFINITY),
            Kind::Discrete { values, .. } => (values[0], values[values.len() - 1]),
            Kind::Bernoulli(p) => {
                if *p == 0.0 {
                    (0.0, 0.0)
                } else if *p == 1.0 {
                    (1.0, 1.0)
                } else {
                    (0.0, 1.0)
                }
            }
            Kind::Empirical { sorted, .. } => (sorted[0], sorted[sorted.len() - 1]),
            Kind::JqpdB(d) => (d.lo, d.hi),
            Kind::JqpdS(d) => d.support(),
            Kind::Metalog(d) => d.support(),
        }
    }

    /// The atoms of the distribution as intervals of the uniform: the `[a, b]` on which
    /// [`Dist::quantile`] is constant, `b − a` being the atom's probability. Sorted and
    /// disjoint; empty for the continuous kinds, `[(0, 1)]` for a constant. Used to turn target
    /// rank correlations into copula correlations when there are ties ([`crate::copula`]).
    pub fn atoms(&self) -> Vec<(f64, f64)> {
        match &self.0 {
            Kind::Fixed(_) => vec![(0.0, 1.0)],
            Kind::Discrete { cum, .. } => {
                let mut at = 0.0;
                cum.iter()
                    .map(|&c| {
                        let a = (at, c);
                        at = c;
                        a
                    })
                    .collect()
            }
            Kind::Bernoulli(p) => {
                let q = 1.0 - p;
                [(0.0, q), (q, 1.0)]
                    .into_iter()
                    .filter(|(a, b)| b > a)
                    .collect()
            }
            Kind::Empirical { sorted, .. } => {
                let n = sorted.len();
                let mut out = Vec::new();
                let mut i = 0;
                while i < n {
                    let mut j = i + 1;
                    while j < n && sorted[j] == sorted[i] {
                        j += 1;
                    }
                    out.push((i as f64 / n as f64, j as f64 / n as f64));
                    i = j;
                }
                out
            }
            _ => Vec::new(),
        }
    }

    /// Stable lower-case name of the kind, for messages and reports.
    pub fn kind_name(&self) -> &'static str {
        match &self.0 {
            Kind::Fixed(_) => "fixed",
            Kind::Uniform { .. } => "uniform",
            Kind::Triangular { .. } => "triangular",
            Kind::Pert(_) => "pert",
            Kind::Normal { .. } => "normal",
            Kind::TruncatedNormal(_) => "truncated_normal",
            Kind::LogNormal { .. } => "lognormal",
            Kind::Beta(_) => "beta",
            Kind::Gamma(_) => "gamma",
            Kind::Discrete { .. } => "discrete",
            Kind::Bernoulli(_) => "bernoulli",
            Kind::Empirical { .. } => "empirical",
            Kind::JqpdB(_) => "jqpd_bounded",
            Kind::JqpdS(_) => "jqpd_semibounded",
            Kind::JqpdU(_) => "jqpd_unbounded",
            Kind::Metalog(_) => "metalog",
        }
    }

    /// The metalog coefficients a1, a2, … (on the transformed scale when bounded), or `None`
    /// for the other kinds.
    pub fn metalog_coefficients(&self) -> Option<&[f64]> {
        match &self.0 {
            Kind::Metalog(m) => Some(&m.coef),
            _ => None,
        }
    }

    /// A metalog (Keelin 2016, [`crate::metalog`]) through the expert's quantile pairs
    /// (`probabilities[i]`, `quantiles[i]`): at least 3 pairs, probabilities strictly increasing
    /// in (0, 1), quantiles strictly increasing and strictly inside `min`/`max` when given
    /// (bounded below: log-metalog; both: logit-metalog); `terms` (default: one per pair, at
    /// most [`crate::metalog::MAX_TERMS`]) coefficients, least squares when fewer than the pairs.
    /// Rejected unless the quantile function is strictly increasing.
    pub fn metalog(
        probabilities: &[f64],
        quantiles: &[f64],
        terms: Option<usize>,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Dist, DistError> {
        use crate::metalog::{Bounds, MAX_TERMS, Metalog, MetalogError};
        let n = probabilities.len();
        if quantiles.len() != n {
            return Err(DistError::Invalid {
                field: "quantiles".into(),
                value: format!("{} values", quantiles.len()),
                allowed: format!("must have one per entry of `probabilities` ({n})"),
            });
        }
        if n < 3 {
            return Err(DistError::Invalid {
                field: "probabilities".into(),
                value: format!("{n} values"),
                allowed: "a metalog needs at least 3 quantile pairs".into(),
            });
        }
        for (i, &p) in probabilities.iter().enumerate() {
            let f = format!("probabilities[{i}]");
            finite(&f, p)?;
            if !(p > 0.0 && p < 1.0) {
                return Err(DistError::OutOfRange {
                    field: f,
                    value: p,
                    range: "",
                    lo: 0.0,
                    hi: 1.0,
                    open: true,
                });
            }
            if i > 0 {
                greater(
                    &f,
                    p,
                    &format!("probabilities[{}]", i - 1),
                    probabilities[i - 1],
                )?;
            }
        }
        for (i, &x) in quantiles.iter().enumerate() {
            let f = format!("quantiles[{i}]");
            finite(&f, x)?;
            if i > 0 {
                greater(&f, x, &format!("quantiles[{}]", i - 1), quantiles[i - 1])?;
            }
            if let Some(lo) = min {
                greater(&f, x, "min", finite("min", lo)?)?;
            }
            if let Some(hi) = max {
                less(&f, x, "max", finite("max", hi)?)?;
            }
        }
        let terms = terms.unwrap_or(n.min(MAX_TERMS));
        if terms < 2 || terms > n.min(MAX_TERMS) {
            return Err(DistError::Invalid {
                field: "terms".into(),
                value: terms.to_string(),
                allowed: format!(
                    "must lie in [2, {}] (at most one per quantile pair and at most {MAX_TERMS})",
                    n.min(MAX_TERMS)
                ),
            });
        }
        let bounds = match (min, max) {
            (None, None) => Bounds::Unbounded,
            (Some(lo), None) => Bounds::Lower(lo),
            (None, Some(hi)) => Bounds::Upper(hi),
            (Some(lo), Some(hi)) => Bounds::Both(lo, hi),
        };
        let shown = format!(
            "[{}]",
            quantiles
                .iter()
                .map(|x| Num(*x).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        match Metalog::fit(probabilities, quantiles, terms, bounds) {
            Ok(m) => Ok(Dist(Kind::Metalog(Box::new(m)))),
            Err(MetalogError::Singular) => Err(DistError::Invalid {
                field: "quantiles".into(),
                value: shown,
                allowed: "the metalog system is singular for these probabilities \
                          (give more distinct probabilities or fewer terms)"
                    .into(),
            }),
            Err(MetalogError::NotIncreasing { y, coef }) => Err(DistError::Invalid {
                field: "quantiles".into(),
                value: shown,
                allowed: format!(
                    "infeasible: the fitted {terms}-term metalog (coefficients {}) \
                     is not increasing near probability {y:.3e}; must give a strictly \
                     increasing quantile function (use fewer terms, bounds, or less extreme \
                     quantiles)",
                    coef.iter()
                        .map(|a| format!("{a:.6}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }),
        }
    }

    /// A metalog fitted by least squares to observations `data`, as the R package rmetalog
    /// fits one ([`crate::metalog::Metalog::fit_data`]): `terms` in [2, 16], bounded below by
    /// `min` and/or above by `max` when given (every observation strictly inside). Errors name
    /// the observation (1-based, in the order given) under the field `csv`.
    pub fn metalog_data(
        data: &[f64],
        terms: usize,
        min: Option<f64>,
        max: Option<f64>,
    ) -> Result<Dist, DistError> {
        use crate::metalog::{Bounds, Metalog};
        let bounds = match (min, max) {
            (None, None) => Bounds::Unbounded,
            (Some(lo), None) => Bounds::Lower(finite("min", lo)?),
            (None, Some(hi)) => Bounds::Upper(finite("max", hi)?),
            (Some(lo), Some(hi)) => {
                greater("max", finite("max", hi)?, "min", finite("min", lo)?)?;
                Bounds::Both(lo, hi)
            }
        };
        Metalog::fit_data(data, terms, bounds)
            .map(|m| Dist(Kind::Metalog(Box::new(m))))
            .map_err(|e| DistError::Invalid {
                field: "csv".into(),
                value: format!("{} observations", data.len()),
                allowed: e.to_string(),
            })
    }
}

/// Inverse of the triangular CDF, the piecewise quadratic F(x) = (x - min)^2 / (W L)
/// up to the mode: min + sqrt(u W L) below F(mode), else
/// max - sqrt((1 - u) W R), with W = max - min, L = mode - min, R = max - mode. Where a
/// branch lands in the far half of the support, the distance to the other end is
/// rationalised, e.g. W - sqrt((1 - u) W R) = W (L + u R) / (W + sqrt((1 - u) W R)), so
/// that no difference of nearly equal numbers is formed in either tail.
fn triangular_quantile(min: f64, mode: f64, max: f64, f_mode: f64, u: f64) -> f64 {
    let (w, l, r) = (max - min, mode - min, max - mode);
    let x = if u < f_mode {
        let t = libm::sqrt(u * w * l);
        if t <= 0.5 * w {
            min + t
        } else {
            max - w * (r + (1.0 - u) * l) / (w + t)
        }
    } else {
        let t = libm::sqrt((1.0 - u) * w * r);
        if t <= 0.5 * w {
            max - t
        } else {
            min + w * (l + u * r) / (w + t)
        }
    };
    x.clamp(min, max)
}

/// Triangular CDF; above the mode 1 - (max - x)^2 / (W R) is evaluated as
/// (L R + (x - mode)(R + max - x)) / (W R), which has no cancellation near min when
/// mode = min.
fn triangular_cdf(min: f64, mode: f64, max: f64, x: f64) -> f64 {
    let (w, l, r) = (max - min, mode - min, max - mode);
    if x <= min {
        0.0
    } else if x >= max {
        1.0
    } else if x <= mode {
        let d = x - min;
        d * d / (w * l)
    } else {
        ((l * r + (x - mode) * (r + (max - x))) / (w * r)).min(1.0)
    }
}

/// The J-QPD constants divide by the gaps between the transformed quantiles `t` and
/// by their ratio's square; quantiles so close that a gap rounds to nothing, or so
/// lopsided that the ratio overflows, cannot define a distribution.
fn resolvable(t: [f64; 3], names: [&'static str; 3], values: [f64; 3]) -> Result<(), DistError> {
    let gaps = [t[1] - t[0], t[2] - t[1]];
    let err = |i: usize| DistError::Indistinct {
        field: names[i + 1],
        value: values[i + 1],
        other: names[i],
        other_value: values[i],
    };
    for (i, g) in gaps.iter().enumerate() {
        if !(*g > 0.0) {
            return Err(err(i));
        }
    }
    let r = (t[2] - t[0]) / (2.0 * gaps[0].min(gaps[1]));
    if !(r * r).is_finite() {
        return Err(err(if gaps[0] <= gaps[1] { 0 } else { 1 }));
    }
    Ok(())
}

fn step(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

// ---------------------------------------------------------------------------------------
// Vectorised passes
// ---------------------------------------------------------------------------------------

/// The samplers' staged passes four values at a time with AVX2. Each lane takes exactly the
/// steps of the scalar function it replaces (the same IEEE operations on the same operands in
/// the same order: AVX2 brings no fused multiply-add, and a branch becomes both arms and a
/// blend), so each value is the same, bit for bit, as the scalar code gives. Lanes that the
/// scalar code sends down a rare path (the normal's far tail, a probability outside (0, 1), a
/// score beyond the table, an exponent beyond [`EXP_REACH`]) are computed afterwards by the
/// scalar code itself.
///
/// [`log4`] copies libm 0.2.16's `log` (musl's, from fdlibm) step for step, which is why
/// Cargo.toml pins that version: a libm whose `log` changed would need `log4` changed with it
/// (the tests comparing the near tail with the scalar code would fail first).
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::{
        CDF_TABLE_STEPS, CDF_TABLE_Z, CENTRAL_DEN, CENTRAL_NUM, EXP_C2, EXP_C3, EXP_C4, EXP_C5,
        EXP_INV, EXP_LN2_HI, EXP_LN2_LO, EXP_REACH, EXP_STEPS, InvTable, NEAR_DEN, NEAR_NUM,
        ScaledBeta, Z_HI, Z_LO, cdf_table, exp_sampling, exp_table, std_normal_cdf_interp,
        std_normal_quantile,
    };
    use std::arch::x86_64::*;

    /// Whether the processor has AVX2 (detected once, then a load); in the unit tests, not on a
    /// thread that asked for the portable code ([`PORTABLE`]).
    #[inline]
    pub(super) fn available() -> bool {
        #[cfg(test)]
        if PORTABLE.get() {
            return false;
        }
        std::arch::is_x86_feature_detected!("avx2")
    }

    #[cfg(test)]
    thread_local! {
        /// Set by a unit test to run the portable loops on its thread, AVX2 or not.
        pub(super) static PORTABLE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn splat(x: f64) -> __m256d {
        _mm256_set1_pd(x)
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn load(v: &[f64]) -> __m256d {
        assert!(v.len() >= 4);
        // SAFETY: four values are there (checked just above); unaligned loads are allowed.
        unsafe { _mm256_loadu_pd(v.as_ptr()) }
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    fn store(v: &mut [f64], x: __m256d) {
        assert!(v.len() >= 4);
        // SAFETY: four values are there (checked just above); unaligned stores are allowed.
        unsafe { _mm256_storeu_pd(v.as_mut_ptr(), x) }
    }

    /// |x|: the sign bit cleared, as `f64::abs` does.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn abs(x: __m256d) -> __m256d {
        _mm256_andnot_pd(splat(-0.0), x)
    }

    /// `if mask { a } else { b }`, lane by lane.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn select(mask: __m256d, a: __m256d, b: __m256d) -> __m256d {
        _mm256_blendv_pd(b, a, mask)
    }

    /// The lanes where `mask` is set, as the low four bits.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn lanes(mask: __m256d) -> i32 {
        _mm256_movemask_pd(mask)
    }

    /// [`super::horner`] on four lanes.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn horner(c: &[f64; 8], r: __m256d) -> __m256d {
        let mut acc = splat(c[0]);
        for &k in &c[1..] {
            acc = _mm256_add_pd(_mm256_mul_pd(acc, r), splat(k));
        }
        acc
    }

    /// `table[i]` for each lane's index `i` (four 32-bit indices, each in bounds).
    ///
    /// # Safety
    /// Every index must be below `table.len()`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn gather(table: &[f64], i: __m128i) -> __m256d {
        // SAFETY: the caller keeps every index inside the table.
        unsafe { _mm256_i32gather_pd::<8>(table.as_ptr(), i) }
    }

    /// Clamp four 32-bit indices into `0..=last`: a lane whose value went to the scalar path
    /// may hold any index, and must still read inside the table.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn clamp_index(i: __m128i, last: usize) -> __m128i {
        let last = i32::try_from(last).expect("the tables hold fewer than 2^31 values");
        _mm_max_epi32(_mm_min_epi32(i, _mm_set1_epi32(last)), _mm_setzero_si128())
    }

    /// Replace each value of `v` by its image: each full group of four by `vector`, which gives
    /// the group's images and the lanes it holds them for (the low four bits), then each lane
    /// it left, and each value past the last group, by `scalar(j, x)` from the value `x` it had
    /// (`j`: its index in `v`).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn in_fours(
        v: &mut [f64],
        mut vector: impl FnMut(__m256d) -> (__m256d, i32),
        scalar: impl Fn(usize, f64) -> f64,
    ) {
        let (groups, rest) = v.as_chunks_mut::<4>();
        let first = 4 * groups.len();
        for (g, q) in groups.iter_mut().enumerate() {
            let was = *q;
            let (y, done) = vector(load(q));
            store(q, y);
            if done != 0b1111 {
                for l in (0..4).filter(|l| done & (1 << l) == 0) {
                    q[l] = scalar(4 * g + l, was[l]);
                }
            }
        }
        for (j, x) in rest.iter_mut().enumerate() {
            *x = scalar(first + j, *x);
        }
    }

    /// [`std_normal_quantile`] of each `p`: the central part four at a time, then the values
    /// outside it (`p` outside 0.075..0.925, about 15% of uniform draws) gathered and taken
    /// through the tail four at a time. A group of four holds a value outside the centre about
    /// half the time: computing the tail for such a group's four lanes, as
    /// [`normal_quantile4`] does, would take it for three times the values that need it. Each
    /// lane's arithmetic is its own, so the values are those of [`normal_quantile4`], bit for
    /// bit.
    #[target_feature(enable = "avx2")]
    pub(super) fn normal_quantiles(p: &[f64], out: &mut [f64]) {
        /// Values whose tails are gathered at a time (their places fit a byte).
        const CHUNK: usize = 256;
        for (p, out) in p.chunks(CHUNK).zip(out.chunks_mut(CHUNK)) {
            // The places of the values outside the centre, in order: each place written, and
            // kept by moving on past it, without a branch (half the groups hold one, at random).
            let mut tail = [0u8; CHUNK];
            let mut n = 0;
            let (groups, rest) = p.as_chunks::<4>();
            let (outs, out_rest) = out.as_chunks_mut::<4>();
            for (g, (q, o)) in groups.iter().zip(outs.iter_mut()).enumerate() {
                let (central, is_central) = central4(load(q));
                store(o, central);
                let is_central = lanes(is_central);
                for l in 0..4 {
                    tail[n] = (4 * g + l) as u8;
                    n += usize::from(is_central & (1 << l) == 0);
                }
            }
            for (o, &x) in out_rest.iter_mut().zip(rest) {
                *o = std_normal_quantile(x);
            }
            // Four tails at a time, the last group filled up with its first value again.
            for t in tail[..n].chunks(4) {
                let at: [usize; 4] = std::array::from_fn(|l| usize::from(t[l.min(t.len() - 1)]));
                let x = at.map(|j| p[j]);
                let (v, done) = tail4(load(&x));
                let done = lanes(done);
                let mut y = [0.0; 4];
                store(&mut y, v);
                for (l, &j) in at.iter().enumerate().take(t.len()) {
                    out[j] = if done & (1 << l) != 0 {
                        y[l]
                    } else {
                        std_normal_quantile(x[l])
                    };
                }
            }
        }
    }

    /// [`std_normal_quantile`] of four probabilities where the vector code holds them (the
    /// lanes in the returned mask): the central part, and the near tail. For the tests: a
    /// slice takes the tail only for the lanes outside the centre ([`normal_quantiles`]).
    #[cfg(test)]
    #[target_feature(enable = "avx2")]
    pub(super) fn normal_quantile4(p: __m256d) -> (__m256d, i32) {
        let (central, is_central) = central4(p);
        if lanes(is_central) == 0b1111 {
            return (central, 0b1111);
        }
        let (v, near) = tail4(p);
        let done = _mm256_or_pd(is_central, near);
        (select(is_central, central, v), lanes(done))
    }

    /// The central part of [`std_normal_quantile`] on four lanes, and the mask of the lanes it
    /// holds (|p − 0.5| ≤ 0.425).
    #[inline]
    #[target_feature(enable = "avx2")]
    fn central4(p: __m256d) -> (__m256d, __m256d) {
        let q = _mm256_sub_pd(p, splat(0.5));
        let r = _mm256_sub_pd(splat(0.180625), _mm256_mul_pd(q, q));
        let num = _mm256_mul_pd(q, horner(&CENTRAL_NUM, r));
        let central = _mm256_div_pd(num, horner(&CENTRAL_DEN, r));
        // NaN fails the ordered comparison, as `q.abs() <= 0.425` does.
        (central, _mm256_cmp_pd::<_CMP_LE_OQ>(abs(q), splat(0.425)))
    }

    /// `std_normal_quantile_tail` on four lanes outside the centre, and the mask of the lanes it
    /// holds: the near tail (r ≤ 5, tail above about 1.4e-11); the far tail, p outside (0, 1)
    /// and NaN are left to the scalar code.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn tail4(p: __m256d) -> (__m256d, __m256d) {
        let q = _mm256_sub_pd(p, splat(0.5));
        let lower = _mm256_cmp_pd::<_CMP_LT_OQ>(q, _mm256_setzero_pd());
        let tail = select(lower, p, _mm256_sub_pd(splat(1.0), p));
        let (ln, ln_done) = log4(tail);
        let r = _mm256_sqrt_pd(_mm256_xor_pd(ln, splat(-0.0)));
        let near = _mm256_cmp_pd::<_CMP_LE_OQ>(r, splat(5.0));
        let r = _mm256_sub_pd(r, splat(1.6));
        let v = _mm256_div_pd(horner(&NEAR_NUM, r), horner(&NEAR_DEN, r));
        let v = select(lower, _mm256_xor_pd(v, splat(-0.0)), v);
        (v, _mm256_and_pd(ln_done, near))
    }

    /// libm's `log` (musl's, from fdlibm) of each lane, step for step, and the mask of the lanes
    /// it holds: positive normal numbers other than 1 (libm returns early for the others; they
    /// are for the scalar code).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn log4(x: __m256d) -> (__m256d, __m256d) {
        const LN2_HI: f64 = 6.931_471_803_691_238_164_90e-1;
        const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
        const LG: [f64; 7] = [
            6.666_666_666_666_735_130e-1,
            3.999_999_999_940_941_908e-1,
            2.857_142_874_366_239_149e-1,
            2.222_219_843_214_978_396e-1,
            1.818_357_216_161_805_012e-1,
            1.531_383_769_920_937_332e-1,
            1.479_819_860_511_658_591e-1,
        ];
        let done = _mm256_and_pd(
            _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(x, splat(f64::MIN_POSITIVE)),
                _mm256_cmp_pd::<_CMP_LT_OQ>(x, splat(f64::INFINITY)),
            ),
            _mm256_cmp_pd::<_CMP_NEQ_OQ>(x, splat(1.0)),
        );
        // The high word hx moved so that the mantissa falls in [√2/2, √2): k is the exponent,
        // counted from there.
        let ui = _mm256_castpd_si256(x);
        let lo_word = _mm256_set1_epi64x(0xffff_ffff);
        let hx = _mm256_add_epi64(
            _mm256_srli_epi64::<32>(ui),
            _mm256_set1_epi64x(0x3ff0_0000 - 0x3fe6_a09e),
        );
        // k + 1023 as a double: the whole number (below 2^12) in the low bits of 2^52's
        // mantissa, less 2^52 (both exact).
        let k_biased = _mm256_srli_epi64::<20>(hx);
        let two52 = _mm256_castpd_si256(splat(4_503_599_627_370_496.0));
        let dk = _mm256_sub_pd(
            _mm256_sub_pd(
                _mm256_castsi256_pd(_mm256_or_si256(two52, k_biased)),
                splat(4_503_599_627_370_496.0),
            ),
            splat(1023.0),
        );
        let hx = _mm256_add_epi64(
            _mm256_and_si256(hx, _mm256_set1_epi64x(0x000f_ffff)),
            _mm256_set1_epi64x(0x3fe6_a09e),
        );
        let m = _mm256_or_si256(_mm256_slli_epi64::<32>(hx), _mm256_and_si256(ui, lo_word));
        let f = _mm256_sub_pd(_mm256_castsi256_pd(m), splat(1.0));
        let hfsq = _mm256_mul_pd(_mm256_mul_pd(splat(0.5), f), f);
        let s = _mm256_div_pd(f, _mm256_add_pd(splat(2.0), f));
        let z = _mm256_mul_pd(s, s);
        let w = _mm256_mul_pd(z, z);
        let mul_add = |a: __m256d, b: __m256d, c: f64| _mm256_add_pd(splat(c), _mm256_mul_pd(a, b));
        let t1 = _mm256_mul_pd(w, mul_add(w, mul_add(w, splat(LG[5]), LG[3]), LG[1]));
        let t2 = _mm256_mul_pd(
            z,
            mul_add(w, mul_add(w, mul_add(w, splat(LG[6]), LG[4]), LG[2]), LG[0]),
        );
        let r = _mm256_add_pd(t2, t1);
        let v = _mm256_add_pd(
            _mm256_mul_pd(s, _mm256_add_pd(hfsq, r)),
            _mm256_mul_pd(dk, splat(LN2_LO)),
        );
        let v = _mm256_add_pd(_mm256_sub_pd(v, hfsq), f);
        (_mm256_add_pd(v, _mm256_mul_pd(dk, splat(LN2_HI))), done)
    }

    /// `e` = [`exp_sampling`] of each lane, and the mask of the lanes it holds: those within
    /// [`EXP_REACH`] (the others are for the scalar code).
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn exp4(x: __m256d) -> (__m256d, __m256d) {
        let inside = _mm256_cmp_pd::<_CMP_LE_OQ>(abs(x), splat(EXP_REACH));
        // `f64::round` (half away from zero): the truncation, plus the sign where the part cut
        // off (exact: a fraction of a double is a double) is at least a half.
        let a = _mm256_mul_pd(x, splat(EXP_INV));
        let t = _mm256_round_pd::<{ _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC }>(a);
        let half = _mm256_cmp_pd::<_CMP_GE_OQ>(abs(_mm256_sub_pd(a, t)), splat(0.5));
        let sign = _mm256_or_pd(_mm256_and_pd(a, splat(-0.0)), splat(1.0));
        let kf = select(half, _mm256_add_pd(t, sign), t);
        // kf is a whole number below 2^17 in magnitude in the lanes that count; elsewhere the
        // conversion gives any i32 (i32::MIN where kf does not fit), and its table index
        // (below, the low seven bits) is in bounds all the same.
        let k = _mm256_cvtpd_epi32(kf);
        let r = _mm256_sub_pd(
            _mm256_sub_pd(x, _mm256_mul_pd(kf, splat(EXP_LN2_HI))),
            _mm256_mul_pd(kf, splat(EXP_LN2_LO)),
        );
        let poly = _mm256_add_pd(splat(EXP_C4), _mm256_mul_pd(r, splat(EXP_C5)));
        let poly = _mm256_add_pd(splat(EXP_C3), _mm256_mul_pd(r, poly));
        let poly = _mm256_add_pd(splat(EXP_C2), _mm256_mul_pd(r, poly));
        let p = _mm256_add_pd(r, _mm256_mul_pd(_mm256_mul_pd(r, r), poly));
        let steps = i32::try_from(EXP_STEPS).expect("128 steps");
        let j = _mm_and_si128(k, _mm_set1_epi32(steps - 1));
        // SAFETY: `j` is in 0..EXP_STEPS, the table's length.
        let tj = unsafe { gather(exp_table(), j) };
        // 2^(k >> 7) from its exponent bits: (k >> 7) + 1023 is in 13..=2032 for the lanes that
        // count (|k| ≤ 129,265), a normal number's exponent.
        let e = _mm_add_epi32(_mm_srai_epi32::<7>(k), _mm_set1_epi32(1023));
        let two_e = _mm256_castsi256_pd(_mm256_slli_epi64::<52>(_mm256_cvtepi32_epi64(e)));
        let v = _mm256_mul_pd(_mm256_add_pd(tj, _mm256_mul_pd(tj, p)), two_e);
        (v, inside)
    }

    /// [`exp_sampling`] of each value, in place.
    #[target_feature(enable = "avx2")]
    pub(super) fn exp_samplings(x: &mut [f64]) {
        let vector = |v: __m256d| {
            let (e, inside) = exp4(v);
            (e, lanes(inside))
        };
        in_fours(x, vector, |_, v| exp_sampling(v));
    }

    /// The table's y at each normal score in `out` (replaced by it), for the probabilities `u`:
    /// [`table_y`] four at a time.
    #[target_feature(enable = "avx2")]
    pub(super) fn table_ys(table: &InvTable, beyond: &impl Fn(usize, f64) -> f64, out: &mut [f64]) {
        let coef = table.coef.as_flattened();
        let last = table.coef.len() - 1;
        let vector = |z: __m256d| {
            let inside = _mm256_and_pd(
                _mm256_cmp_pd::<_CMP_GE_OQ>(z, splat(Z_LO)),
                _mm256_cmp_pd::<_CMP_LE_OQ>(z, splat(Z_HI)),
            );
            let t = _mm256_mul_pd(_mm256_sub_pd(z, splat(Z_LO)), splat(table.inv_h));
            let i = clamp_index(_mm256_cvttpd_epi32(t), last);
            let s = _mm256_sub_pd(t, _mm256_cvtepi32_pd(i));
            let at = _mm_mullo_epi32(i, _mm_set1_epi32(6));
            // SAFETY: i ≤ last, so 6·i + 5 is inside the flattened table.
            let c = |k: i32| unsafe { gather(coef, _mm_add_epi32(at, _mm_set1_epi32(k))) };
            let s2 = _mm256_mul_pd(s, s);
            let inner = _mm256_add_pd(c(4), _mm256_mul_pd(c(5), s));
            let mid = _mm256_add_pd(
                _mm256_add_pd(c(2), _mm256_mul_pd(c(3), s)),
                _mm256_mul_pd(s2, inner),
            );
            let y = _mm256_add_pd(
                _mm256_add_pd(c(0), _mm256_mul_pd(c(1), s)),
                _mm256_mul_pd(s2, mid),
            );
            (y, lanes(inside))
        };
        in_fours(out, vector, beyond);
    }

    /// [`ScaledBeta::x_at`] of each table y in `out`, in place.
    #[target_feature(enable = "avx2")]
    pub(super) fn beta_x_ats(b: &ScaledBeta, out: &mut [f64]) {
        let f = &b.f;
        let vector = |y: __m256d| {
            // BetaFn::x_from_y: from e^y / rho where y ≤ ln rho, from rho e^-y elsewhere.
            let low = _mm256_cmp_pd::<_CMP_LE_OQ>(y, splat(f.ln_rho));
            let (e, inside) = exp4(select(low, y, _mm256_xor_pd(y, splat(-0.0))));
            let v = select(
                low,
                _mm256_div_pd(e, splat(f.rho)),
                _mm256_mul_pd(splat(f.rho), e),
            );
            let r = _mm256_div_pd(splat(1.0), _mm256_add_pd(splat(1.0), v));
            let vr = _mm256_mul_pd(v, r);
            let (x, xc) = (select(low, vr, r), select(low, r, vr));
            // `min`/`max` with the bound second: a NaN first operand gives the bound, as
            // `f64::min`/`f64::max` do.
            let near_min = _mm256_min_pd(
                _mm256_add_pd(splat(b.min), _mm256_mul_pd(splat(b.width), x)),
                splat(b.max),
            );
            let near_max = _mm256_max_pd(
                _mm256_sub_pd(splat(b.max), _mm256_mul_pd(splat(b.width), xc)),
                splat(b.min),
            );
            let below_half = _mm256_cmp_pd::<_CMP_LE_OQ>(x, splat(0.5));
            (select(below_half, near_min, near_max), lanes(inside))
        };
        in_fours(out, vector, |_, y| b.x_at(y));
    }

    /// [`std_normal_cdf_interp`] of each `x`, the interpolation four at a time.
    #[target_feature(enable = "avx2")]
    pub(super) fn normal_cdfs_interp(x: &[f64], out: &mut [f64]) {
        let table = cdf_table().as_flattened();
        let last = cdf_table().len() - 1;
        out.copy_from_slice(x);
        let vector = |x: __m256d| {
            let inside = _mm256_cmp_pd::<_CMP_LE_OQ>(abs(x), splat(CDF_TABLE_Z));
            let t = _mm256_mul_pd(_mm256_add_pd(x, splat(CDF_TABLE_Z)), splat(CDF_TABLE_STEPS));
            let i = clamp_index(_mm256_cvttpd_epi32(t), last);
            let s = _mm256_sub_pd(t, _mm256_cvtepi32_pd(i));
            let at = _mm_mullo_epi32(i, _mm_set1_epi32(6));
            // SAFETY: i ≤ last, so 6·i + 5 is inside the flattened table.
            let c = |k: i32| unsafe { gather(table, _mm_add_epi32(at, _mm_set1_epi32(k))) };
            let mut acc = c(5);
            for k in (0..5).rev() {
                acc = _mm256_add_pd(_mm256_mul_pd(acc, s), c(k));
            }
            (acc, lanes(inside))
        };
        in_fours(out, vector, |_, x| std_normal_cdf_interp(x));
    }
}

#[cfg(test)]
#[path = "dist_tests.rs"]
mod tests;
