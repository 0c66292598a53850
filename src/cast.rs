//! Conversions between `f64` and `usize` / `u64` through `i64`. On x86-64 without AVX-512 an
//! unsigned conversion takes a sequence of instructions with a branch or a select; the signed one
//! takes one. Where the value is known to lie in `0 ≤ x < 2^63` (indices, counts, table
//! positions), going through `i64` gives the same value, so every result keeps its bits.

/// `x as usize` for `0 ≤ x < 2^63` (`NaN` gives 0, as it does directly). Negative `x` must not
/// reach it: it would wrap rather than saturate at 0.
#[inline(always)]
pub(crate) fn index_of(x: f64) -> usize {
    debug_assert!(x >= 0.0 || x.is_nan(), "index_of({x})");
    x as i64 as usize
}

/// `i as f64` for `i < 2^63`.
#[inline(always)]
pub(crate) fn float_of(i: u64) -> f64 {
    debug_assert!(i < 1 << 63);
    i as i64 as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conversions_agree_with_the_unsigned_ones_in_their_range() {
        let xs = [
            0.0,
            -0.0,
            0.49,
            1.0,
            1.999_999_999_999_999_8,
            4_503_599_627_370_495.5,
            9_007_199_254_740_993.0,
            9.223_372_036_854_775e18,
            f64::NAN,
        ];
        for x in xs {
            assert_eq!(index_of(x), x as usize, "{x}");
        }
        for i in [
            0u64,
            1,
            7,
            (1 << 52) - 1,
            1 << 52,
            (1 << 53) + 1,
            (1 << 63) - 1,
        ] {
            assert_eq!(float_of(i).to_bits(), (i as f64).to_bits(), "{i}");
        }
    }
}
