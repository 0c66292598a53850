//! Counter-based random numbers: every variate is a pure function of `(seed, stream, draw, k)`,
//! so any draw of any parameter can be computed alone, on any thread, in any order, and comes
//! out bit-identical. There is no generator state to split, advance or share.
//!
//! The generator is Philox4x32-10 (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as
//! easy as 1, 2, 3", SC'11), a keyed bijection of a 128-bit counter. One call is laid out as
//!
//! ```text
//! key    = [seed bits 0..32,  seed bits 32..64]
//! ctr[0] = draw bits 0..32
//! ctr[1] = draw bits 32..48 | lane << 16
//! ctr[2] = stream bits 0..32
//! ctr[3] = stream bits 32..64
//! ```
//!
//! and yields 128 bits, i.e. two 64-bit words: word 0 (`out[0]`, `out[1]`) feeds variate
//! `k = 2·lane` and word 1 (`out[2]`, `out[3]`) feeds `k = 2·lane + 1`. `stream` is the
//! [`path_key`] of the parameter the variate belongs to.
//!
//! Invariants:
//! - Values never change between versions, platforms or build profiles: only integer arithmetic
//!   and exact integer-to-float conversions are involved, and golden tests pin output bits.
//! - Public variates use `draw < DRAW_LIMIT` (2^48) and `k < K_LIMIT` (2^16), i.e. lanes below
//!   `0x8000`; out-of-range arguments panic rather than alias another variate.
//! - Lanes from `0x8000` up are reserved for the samplers' internal randomness
//!   ([`LANE_LHS_PERM`], [`LANE_SOBOL_SCRAMBLE`]). The lane is part of the counter, so internal
//!   values can never coincide with a public variate of any parameter, which a reserved `stream`
//!   value could not guarantee (streams are hashes).
//! - Every uniform is `(m + 1/2)·2^-52` with `m` uniform on `[0, 2^52)`: strictly inside (0, 1),
//!   exactly representable, and symmetric (`1 - u` is also an output value). 52 rather than 53
//!   bits because `(m + 1/2)·2^-53` is not representable for `m >= 2^52`: rounding would merge
//!   neighbouring values and map `m = 2^53 - 1` to exactly 1.0.

use crate::cast::float_of;

/// Exclusive upper bound of the `draw` argument; the counter holds 48 bits of it.
pub const DRAW_LIMIT: u64 = 1 << 48;

/// Exclusive upper bound of the public variate index `k`.
pub const K_LIMIT: u32 = 1 << 16;

/// First reserved lane: the Feistel rounds of the Latin hypercube permutation use lanes
/// `LANE_LHS_PERM + round`, with the half-block being permuted in the `draw` slot.
pub const LANE_LHS_PERM: u32 = 0x8000;

/// Reserved lane holding the per-parameter key of the Sobol Owen scramble (draw slot 0).
pub const LANE_SOBOL_SCRAMBLE: u32 = 0x8100;

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

/// 2^-52, the spacing of the output grid.
const GRID: f64 = 1.0 / (1u64 << 52) as f64;

/// Philox4x32 with 10 rounds, as specified by Random123.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    philox_lanes(ctr.map(|w| [w]), key).map(|[w]| w)
}

/// [`philox4x32_10`] of `L` counters side by side, word by word (`c[w][l]`: word `w` of counter
/// `l`), under one key: for `L` > 1 the rounds' multiplications run as vector instructions.
// Lane-indexed loops over several arrays at once are the shape the vectoriser needs.
#[allow(clippy::needless_range_loop)]
#[inline(always)]
fn philox_lanes<const L: usize>(mut c: [[u32; L]; 4], key: [u32; 2]) -> [[u32; L]; 4] {
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(PHILOX_W0);
            k[1] = k[1].wrapping_add(PHILOX_W1);
        }
        let mut n = [[0; L]; 4];
        for l in 0..L {
            let p0 = u64::from(PHILOX_M0) * u64::from(c[0][l]);
            let p1 = u64::from(PHILOX_M1) * u64::from(c[2][l]);
            n[0][l] = (p1 >> 32) as u32 ^ c[1][l] ^ k[0];
            n[1][l] = p1 as u32;
            n[2][l] = (p0 >> 32) as u32 ^ c[3][l] ^ k[1];
            n[3][l] = p0 as u32;
        }
        c = n;
    }
    c
}

/// Stable 64-bit key of a parameter path: FNV-1a 64 over the UTF-8 bytes (offset basis
/// `0xcbf29ce484222325`, prime `0x100000001b3`).
///
/// Part of the reproducibility contract: changing it would change every stream, so it must never
/// change. Distinct paths collide with probability about 2^-64 per pair; callers that need
/// certainty must check the keys of their uncertain parameters for duplicates.
pub const fn path_key(path: &str) -> u64 {
    let bytes = path.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// The raw 128-bit block for `(seed, stream, draw, lane)`, laid out as in the module doc.
/// Reserved lanes are reachable only through here, so it stays crate-private.
#[inline]
pub(crate) fn block(seed: u64, stream: u64, draw: u64, lane: u32) -> [u32; 4] {
    debug_assert!(draw < DRAW_LIMIT && lane < 1 << 16);
    philox4x32_10(counter(stream, draw, lane), key_of(seed))
}

/// The counter of `(stream, draw, lane)`, as in the module doc.
#[inline(always)]
fn counter(stream: u64, draw: u64, lane: u32) -> [u32; 4] {
    [
        draw as u32,
        ((draw >> 32) as u32 & 0xFFFF) | (lane << 16),
        stream as u32,
        (stream >> 32) as u32,
    ]
}

/// The key of `seed`, as in the module doc.
#[inline(always)]
fn key_of(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

/// The SplitMix64 output function (Steele, Lea & Flood 2014; Stafford's "Mix13" finaliser): a
/// bijection of `u64` with full avalanche. The Owen scramble's hash and the bootstrap's and
/// Shapley estimator's generator ([`crate::sobol_indices`]).
pub(crate) fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps 52 random bits `m < 2^52` to `(m + 1/2)·2^-52`; exact, so no rounding can reach 0 or 1.
#[inline(always)]
pub(crate) fn open_unit(m: u64) -> f64 {
    debug_assert!(m < 1 << 52);
    (float_of(m) + 0.5) * GRID
}

#[inline(always)]
fn word_to_unit(lo: u32, hi: u32) -> f64 {
    open_unit(((u64::from(hi) << 32) | u64::from(lo)) >> 12)
}

#[inline]
fn check_public(draw: u64, k: u32) {
    assert!(
        draw < DRAW_LIMIT && k < K_LIMIT,
        "rng: draw = {draw}, k = {k}: need draw < 2^48 and k < 2^16"
    );
}

/// Uniform variate `k` of `draw` in `stream` under `seed`, strictly inside (0, 1).
///
/// `k = 0` is the first variate a parameter uses for a draw; further `k` give independent extra
/// variates for the same draw and stream. Costs one Philox call; prefer [`uniform_pair`] when
/// both variates of a pair are needed.
///
/// # Panics
/// If `draw >= DRAW_LIMIT` or `k >= K_LIMIT`.
#[inline]
pub fn uniform(seed: u64, stream: u64, draw: u64, k: u32) -> f64 {
    check_public(draw, k);
    let out = block(seed, stream, draw, k >> 1);
    if k & 1 == 0 {
        word_to_unit(out[0], out[1])
    } else {
        word_to_unit(out[2], out[3])
    }
}

/// `out[j] = uniform(seed, stream, start + j, 0)` for each `j`: the first variate of
/// consecutive draws, four draws' Philox rounds side by side.
///
/// # Panics
/// If a draw reaches [`DRAW_LIMIT`].
pub fn uniforms_first(seed: u64, stream: u64, start: u64, out: &mut [f64]) {
    if let Some(n) = (out.len() as u64).checked_sub(1) {
        check_public(start.saturating_add(n), 0);
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2, checked just above.
        unsafe { uniforms_first_avx2(seed, stream, start, out) };
        return;
    }
    uniforms_first_lanes(seed, stream, start, out);
}

/// [`uniforms_first_lanes`] written for AVX2: four draws' Philox rounds side by side, each
/// counter word of a draw in the low half of a 64-bit lane, where one `vpmuludq` gives four
/// full 64-bit products (the high halves of the lanes may hold anything: the multiplications
/// read only the low halves, and only those are kept). Integer arithmetic, and a double made
/// from its 52 bits exactly (2^52 + m, less 2^52), so the same bits as the portable code.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn uniforms_first_avx2(seed: u64, stream: u64, start: u64, out: &mut [f64]) {
    use std::arch::x86_64::*;
    let key = key_of(seed);
    let broadcast = |w: u32| _mm256_set1_epi64x(i64::from(w));
    let m0 = broadcast(PHILOX_M0);
    let m1 = broadcast(PHILOX_M1);
    let c2 = broadcast(stream as u32);
    let c3 = broadcast((stream >> 32) as u32);
    let two52 = _mm256_set1_epi64x(0x4330_0000_0000_0000);
    let mut quads = out.chunks_exact_mut(LANES);
    let mut draw = start;
    for q in &mut quads {
        // Draws below 2^48 (checked by the caller), so each lane's draw is exact in an i64.
        let d = _mm256_add_epi64(
            _mm256_set1_epi64x(draw as i64),
            _mm256_set_epi64x(3, 2, 1, 0),
        );
        // counter(stream, d, 0): [d as u32, (d >> 32) & 0xFFFF, stream as u32, stream >> 32].
        let mut c = [
            d,
            _mm256_and_si256(_mm256_srli_epi64::<32>(d), _mm256_set1_epi64x(0xFFFF)),
            c2,
            c3,
        ];
        let mut k = key;
        for round in 0..10 {
            if round > 0 {
                k[0] = k[0].wrapping_add(PHILOX_W0);
                k[1] = k[1].wrapping_add(PHILOX_W1);
            }
            let p0 = _mm256_mul_epu32(c[0], m0);
            let p1 = _mm256_mul_epu32(c[2], m1);
            c = [
                _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_srli_epi64::<32>(p1), c[1]),
                    broadcast(k[0]),
                ),
                p1,
                _mm256_xor_si256(
                    _mm256_xor_si256(_mm256_srli_epi64::<32>(p0), c[3]),
                    broadcast(k[1]),
                ),
                p0,
            ];
        }
        // word_to_unit(c0, c1): the top 52 of the 64 bits hi:lo, then (m + 0.5)·2^-52.
        let lo = _mm256_and_si256(c[0], _mm256_set1_epi64x(0xFFFF_FFFF));
        let m = _mm256_srli_epi64::<12>(_mm256_or_si256(_mm256_slli_epi64::<32>(c[1]), lo));
        let m = _mm256_sub_pd(
            _mm256_castsi256_pd(_mm256_or_si256(m, two52)),
            _mm256_set1_pd(4_503_599_627_370_496.0),
        );
        let v = _mm256_mul_pd(_mm256_add_pd(m, _mm256_set1_pd(0.5)), _mm256_set1_pd(GRID));
        // SAFETY: `q` holds four values.
        unsafe { _mm256_storeu_pd(q.as_mut_ptr(), v) };
        draw += LANES as u64;
    }
    for (draw, o) in (draw..).zip(quads.into_remainder()) {
        let b = block(seed, stream, draw, 0);
        *o = word_to_unit(b[0], b[1]);
    }
}

/// The body of [`uniforms_first`], after its check of the draw limit.
#[inline(always)]
fn uniforms_first_lanes(seed: u64, stream: u64, start: u64, out: &mut [f64]) {
    let mut quads = out.chunks_exact_mut(LANES);
    let mut draw = start;
    for q in &mut quads {
        let mut c = [[0; LANES]; 4];
        for (l, d) in (draw..draw + LANES as u64).enumerate() {
            for (word, v) in c.iter_mut().zip(counter(stream, d, 0)) {
                word[l] = v;
            }
        }
        let c = philox_lanes(c, key_of(seed));
        for (l, o) in q.iter_mut().enumerate() {
            *o = word_to_unit(c[0][l], c[1][l]);
        }
        draw += LANES as u64;
    }
    for (draw, o) in (draw..).zip(quads.into_remainder()) {
        let b = block(seed, stream, draw, 0);
        *o = word_to_unit(b[0], b[1]);
    }
}

/// Draws generated side by side in [`uniforms_first`].
const LANES: usize = 4;

/// Variates `k = 2·pair` and `k = 2·pair + 1` from a single Philox call; element `j` equals
/// `uniform(seed, stream, draw, 2·pair + j)`.
///
/// # Panics
/// If `draw >= DRAW_LIMIT` or `2·pair + 1 >= K_LIMIT`.
#[inline]
pub fn uniform_pair(seed: u64, stream: u64, draw: u64, pair: u32) -> [f64; 2] {
    check_public(draw, pair.saturating_mul(2).saturating_add(1));
    let out = block(seed, stream, draw, pair);
    [word_to_unit(out[0], out[1]), word_to_unit(out[2], out[3])]
}

/// One stream of the counter-based generator read as a sequence, for library users who want a
/// standard `rand` generator: the 32-bit words of `block(seed, stream, d, lane)` for draws
/// `d = 0, 1, 2, …` (lane 0; after 2^48 draws, lane 1, and so on). Implements
/// [`rand::TryRng`] (hence [`rand::Rng`]) and [`rand::SeedableRng`], so it drives any
/// `rand`/`rand_distr` distribution, including npvrisk's own ([`crate::dist::Dist`] implements
/// `rand_distr::Distribution<f64>`). The engine itself never reads a sequence: it asks for the
/// uniform of (seed, stream, draw) directly, which this generator reproduces word for word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhiloxRng {
    seed: u64,
    stream: u64,
    draw: u64,
    lane: u32,
    words: [u32; 4],
    used: usize,
}

impl PhiloxRng {
    /// The sequence of `stream` under `seed`, from draw 0.
    pub fn new(seed: u64, stream: u64) -> PhiloxRng {
        PhiloxRng {
            seed,
            stream,
            draw: 0,
            lane: 0,
            words: [0; 4],
            used: 4,
        }
    }

    fn word(&mut self) -> u32 {
        if self.used == 4 {
            self.words = block(self.seed, self.stream, self.draw, self.lane);
            self.used = 0;
            self.draw += 1;
            if self.draw == DRAW_LIMIT {
                self.draw = 0;
                self.lane = (self.lane + 1) & 0xFFFF;
            }
        }
        self.used += 1;
        self.words[self.used - 1]
    }
}

impl rand::TryRng for PhiloxRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(self.word())
    }

    /// The low word first, as [`uniform`] reads a pair of words.
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let lo = self.word();
        let hi = self.word();
        Ok((u64::from(hi) << 32) | u64::from(lo))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for chunk in dst.chunks_mut(4) {
            let w = self.word().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
        Ok(())
    }
}

impl rand::SeedableRng for PhiloxRng {
    /// The seed (little-endian `u64`) then the stream key (little-endian `u64`).
    type Seed = [u8; 16];

    fn from_seed(seed: [u8; 16]) -> PhiloxRng {
        let (a, b) = seed.split_at(8);
        PhiloxRng::new(
            u64::from_le_bytes(a.try_into().expect("8 bytes")),
            u64::from_le_bytes(b.try_into().expect("8 bytes")),
        )
    }
}

/// A uniform strictly inside (0, 1) from a `rand` generator, as the engine maps Philox words: the
/// top 52 bits of a `u64`, centred in their cell.
pub fn unit_from<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
    open_unit(rng.next_u64() >> 12)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `mix64` is SplitMix64's output function: SplitMix64 from state 0 (each output mixes the
    /// state advanced by the golden-ratio increment) gives the reference generator's first
    /// three outputs.
    #[test]
    fn mix64_gives_splitmix64_reference_outputs() {
        let mut state = 0u64;
        let mut out = [0u64; 3];
        for o in &mut out {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *o = mix64(state);
        }
        assert_eq!(
            out,
            [
                0xe220_a839_7b1d_cdaf,
                0x6e78_9e6a_a1b9_65f4,
                0x06c4_5d18_8009_454f
            ]
        );
    }

    /// Known-answer vectors for philox4x32 with 10 rounds from Random123's `tests/kat_vectors`
    /// (D. E. Shaw Research, Random123 1.14; lines `philox4x32 10 ...`): counter, key, output.
    const KAT: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0, 0, 0, 0],
            [0, 0],
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd],
        ),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];

    #[test]
    fn philox_matches_random123_known_answers() {
        for (ctr, key, expected) in KAT {
            assert_eq!(
                philox4x32_10(ctr, key),
                expected,
                "ctr {ctr:08x?} key {key:08x?}"
            );
        }
    }

    #[test]
    fn path_key_is_fnv1a_64() {
        // Reference values of the FNV-1a 64 test suite (Fowler, Noll, Vo).
        assert_eq!(path_key(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(path_key("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(path_key("foobar"), 0x8594_4171_f739_67e8);
        const KEY: u64 = path_key("costs.capex");
        assert_eq!(KEY, path_key("costs.capex"));
        assert_ne!(path_key("costs.capex"), path_key("costs.opex"));
    }

    #[test]
    fn extreme_bits_stay_strictly_inside_the_unit_interval() {
        assert_eq!(word_to_unit(0, 0), 0.5 * GRID);
        assert_eq!(word_to_unit(u32::MAX, u32::MAX), 1.0 - 0.5 * GRID);
        assert!(word_to_unit(u32::MAX, u32::MAX) < 1.0);
        // Symmetry: complementing the bits reflects the value about 1/2 exactly.
        let (lo, hi) = (0x1234_5678, 0x9abc_def0);
        assert_eq!(word_to_unit(lo, hi), 1.0 - word_to_unit(!lo, !hi));
    }

    #[test]
    fn outputs_lie_on_the_half_offset_grid() {
        for draw in 0..1000 {
            let u = uniform(7, 99, draw, 3);
            assert!(u > 0.0 && u < 1.0);
            let scaled = u / GRID - 0.5;
            assert_eq!(scaled, scaled.trunc(), "draw {draw}: {u}");
        }
    }

    #[test]
    fn pair_matches_single_variates() {
        for draw in [0, 1, 17, DRAW_LIMIT - 1] {
            for pair in [0, 1, 5, K_LIMIT / 2 - 1] {
                let [a, b] = uniform_pair(42, 1234, draw, pair);
                assert_eq!(a.to_bits(), uniform(42, 1234, draw, 2 * pair).to_bits());
                assert_eq!(b.to_bits(), uniform(42, 1234, draw, 2 * pair + 1).to_bits());
            }
        }
    }

    #[test]
    fn every_argument_changes_the_value() {
        let base = uniform(1, 2, 3, 4);
        assert_ne!(base, uniform(9, 2, 3, 4));
        assert_ne!(base, uniform(1 | 1 << 40, 2, 3, 4));
        assert_ne!(base, uniform(1, 9, 3, 4));
        assert_ne!(base, uniform(1, 2 | 1 << 40, 3, 4));
        assert_ne!(base, uniform(1, 2, 9, 4));
        assert_ne!(base, uniform(1, 2, 3 | 1 << 40, 4));
        assert_ne!(base, uniform(1, 2, 3, 5));
        assert_ne!(base, uniform(1, 2, 3, 6));
    }

    #[test]
    #[should_panic(expected = "need draw < 2^48")]
    fn draw_beyond_the_counter_panics() {
        uniform(0, 0, DRAW_LIMIT, 0);
    }

    #[test]
    #[should_panic(expected = "k < 2^16")]
    fn reserved_k_panics() {
        uniform(0, 0, 0, K_LIMIT);
    }

    #[test]
    #[should_panic(expected = "k < 2^16")]
    fn reserved_pair_panics() {
        uniform_pair(0, 0, 0, K_LIMIT / 2);
    }

    /// Regularised upper incomplete gamma Q(a, x) (Numerical Recipes' split: series below
    /// `a + 1`, Lentz continued fraction above).
    fn gamma_q(a: f64, x: f64) -> f64 {
        let log_prefactor = -x + a * libm::log(x) - libm::lgamma(a);
        if x < a + 1.0 {
            let (mut term, mut sum) = (1.0 / a, 1.0 / a);
            for n in 1..10_000 {
                term *= x / (a + f64::from(n));
                sum += term;
                if term < sum * 1e-16 {
                    break;
                }
            }
            1.0 - sum * libm::exp(log_prefactor)
        } else {
            let tiny = 1e-300;
            let mut b = x + 1.0 - a;
            let mut c = 1.0 / tiny;
            let mut d = 1.0 / b;
            let mut h = d;
            for i in 1..10_000 {
                let an = -f64::from(i) * (f64::from(i) - a);
                b += 2.0;
                d = an * d + b;
                if d.abs() < tiny {
                    d = tiny;
                }
                c = b + an / c;
                if c.abs() < tiny {
                    c = tiny;
                }
                d = 1.0 / d;
                let step = d * c;
                h *= step;
                if (step - 1.0).abs() < 1e-16 {
                    break;
                }
            }
            h * libm::exp(log_prefactor)
        }
    }

    /// The `x` with P(chi2_df > x) = `p`, by bisection on the survival function.
    fn chi2_upper_quantile(df: f64, p: f64) -> f64 {
        let (mut lo, mut hi) = (0.0, 10.0 * df + 100.0);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if gamma_q(df / 2.0, mid / 2.0) > p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    #[test]
    fn chi_square_quantile_matches_tables() {
        // Tabulated: chi2(0.999; 99) = 148.230, chi2(0.95; 10) = 18.307.
        assert!((chi2_upper_quantile(99.0, 0.001) - 148.230).abs() < 5e-3);
        assert!((chi2_upper_quantile(10.0, 0.05) - 18.307).abs() < 5e-3);
    }

    #[test]
    fn uniform_passes_chi_square_over_100_bins() {
        const BINS: usize = 100;
        const N: u64 = 1_000_000;
        let mut counts = [0u64; BINS];
        let stream = path_key("benefits.travel_time");
        for draw in 0..N / 2 {
            for u in uniform_pair(20_240_601, stream, draw, 0) {
                counts[(u * BINS as f64) as usize] += 1;
            }
        }
        let expected = N as f64 / BINS as f64;
        let chi2: f64 = counts
            .iter()
            .map(|&c| (c as f64 - expected).powi(2) / expected)
            .sum();
        let critical = chi2_upper_quantile((BINS - 1) as f64, 0.001);
        assert!(chi2 < critical, "chi2 = {chi2}, critical = {critical}");
    }

    fn correlation(xs: &[f64], ys: &[f64]) -> f64 {
        let n = xs.len() as f64;
        let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (x, y) in xs.iter().zip(ys) {
            sxy += (x - mx) * (y - my);
            sxx += (x - mx) * (x - mx);
            syy += (y - my) * (y - my);
        }
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn streams_keys_and_variates_are_uncorrelated() {
        const N: u64 = 200_000;
        let bound = 4.0 / (N as f64).sqrt();
        let series = |seed: u64, stream: u64, k: u32| -> Vec<f64> {
            (0..N).map(|d| uniform(seed, stream, d, k)).collect()
        };
        let (a, b) = (path_key("costs.capex"), path_key("costs.opex"));
        let base = series(5, a, 0);
        let others = [
            ("adjacent stream", series(5, a + 1, 0)),
            ("other path", series(5, b, 0)),
            ("other seed", series(6, a, 0)),
            ("k = 1", series(5, a, 1)),
            ("k = 2", series(5, a, 2)),
        ];
        for (what, other) in &others {
            let r = correlation(&base, other);
            assert!(r.abs() < bound, "{what}: r = {r}, bound {bound}");
        }
        let lagged = correlation(&base[..N as usize - 1], &base[1..]);
        assert!(lagged.abs() < bound, "lag 1: r = {lagged}");
    }

    #[test]
    fn golden_values_are_stable() {
        // Regression pin, not an oracle: computed once with this implementation; any change here
        // breaks reproducibility of every saved run and must be treated as a format change. The
        // generator itself is checked independently against Random123's known-answer vectors
        // (`philox_matches_random123_known_answers`) and the uniforms by a chi-square test.
        let stream = path_key("costs.capex");
        let cases: [(u64, u64, u32, u64); 5] = [
            (0, 0, 0, 0x3fde_e632_b969_a80e),
            (42, 0, 0, 0x3fd1_e348_82e9_575a),
            (42, 0, 1, 0x3fe5_842b_44d8_3fa1),
            (42, 123_456, 7, 0x3fd4_d904_2483_7b12),
            (u64::MAX, DRAW_LIMIT - 1, K_LIMIT - 1, 0x3feb_c505_7805_cff7),
        ];
        for (seed, draw, k, expected) in cases {
            let got = uniform(seed, stream, draw, k).to_bits();
            assert_eq!(got, expected, "seed {seed} draw {draw} k {k}: {got:#018x}");
        }
    }

    #[test]
    fn the_sequential_generator_gives_the_engine_uniforms_word_for_word() {
        use rand::{Rng, SeedableRng};
        let mut seed = [0u8; 16];
        seed[..8].copy_from_slice(&7u64.to_le_bytes());
        seed[8..].copy_from_slice(&99u64.to_le_bytes());
        let mut r = PhiloxRng::from_seed(seed);
        for d in 0..100 {
            // Each draw's block gives the variates k = 0 and k = 1 of that draw.
            assert_eq!(unit_from(&mut r).to_bits(), uniform(7, 99, d, 0).to_bits());
            assert_eq!(unit_from(&mut r).to_bits(), uniform(7, 99, d, 1).to_bits());
        }
        let mut a = PhiloxRng::new(1, 2);
        let mut b = PhiloxRng::new(1, 2);
        let mut bytes = [0u8; 6];
        a.fill_bytes(&mut bytes);
        let w = b.next_u32().to_le_bytes();
        let w2 = b.next_u32().to_le_bytes();
        assert_eq!(bytes, [w[0], w[1], w[2], w[3], w2[0], w2[1]]);
    }

    /// `uniforms_first` is `uniform(.., k = 0)` draw by draw, whatever the slice's length (the
    /// side-by-side lanes and the remainder) and across draw 2^32, where the draw's high bits
    /// enter the counter's second word; both the code it dispatches to on this processor and
    /// the portable code.
    #[test]
    fn uniforms_first_is_the_first_variate_of_each_draw() {
        type Fill = fn(u64, u64, u64, &mut [f64]);
        let paths: [(&str, Fill); 2] = [
            ("dispatched", uniforms_first),
            ("portable", uniforms_first_lanes),
        ];
        for ((path, f), start) in paths
            .into_iter()
            .flat_map(|p| [0u64, 5, (1 << 32) - 6, DRAW_LIMIT - 20].map(|s| (p, s)))
        {
            for len in 0..=2 * LANES + 3 {
                let mut out = vec![f64::NAN; len];
                f(
                    0x1234_5678_9abc_def0,
                    0xfeed_f00d_dead_beef,
                    start,
                    &mut out,
                );
                for (j, x) in out.iter().enumerate() {
                    let u = uniform(
                        0x1234_5678_9abc_def0,
                        0xfeed_f00d_dead_beef,
                        start + j as u64,
                        0,
                    );
                    assert_eq!(
                        x.to_bits(),
                        u.to_bits(),
                        "{path}: start {start}, len {len}, j {j}"
                    );
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "need draw < 2^48")]
    fn uniforms_first_refuses_a_draw_beyond_the_limit() {
        let mut out = [0.0; 3];
        uniforms_first(1, 2, DRAW_LIMIT - 2, &mut out);
    }
}
