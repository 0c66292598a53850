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

/// The values a sort by `f64::total_cmp` puts at the positions `at` (ascending, no repeats, each
/// below `v.len()`), in that order. Values equal under `total_cmp` have the same bits, so these
/// are a sort's values bit for bit (and `radsort`'s, whose order is the same).
///
/// A few positions cost a few passes over `v` rather than a sort. The values' range is cut into
/// 2^12 buckets of equal width (when they are finite with a finite span that has a finite scale;
/// else their keys' range, each value's key being its place in that order as a `u64`); one pass
/// counts the values of each bucket, which gives the bucket of each wanted position, and a second
/// gathers the values of those buckets alone. A gathered bucket is sorted when it is small and
/// searched in the same way when it is not, and a bucket of equal keys needs no search at all.
/// Each gathered bucket is smaller than `v`, since the least and the greatest value fall in
/// different buckets, so the search ends. A bucket of value that kept more than half of its
/// sample (values spread over many binades, crowded at one end) is searched by keys, whose
/// span shrinks at least 2^11-fold a round: the search never takes more than a few rounds
/// without halving the values it holds.
pub fn sorted_at(v: &[f64], at: &[usize]) -> Vec<f64> {
    debug_assert!(
        at.windows(2).all(|w| w[0] < w[1]),
        "positions not ascending"
    );
    sorted_at_rounds(v, at).0
}

/// [`sorted_at`], and the number of bucket rounds its search took (passes of
/// [`select_in_buckets`] over a sample or a gathered bucket).
fn sorted_at_rounds(v: &[f64], at: &[usize]) -> (Vec<f64>, usize) {
    let mut out = Vec::with_capacity(at.len());
    let rounds = sorted_at_into(v, at, &mut out, true);
    (out, rounds)
}

/// A sort's values at chosen positions of a sample ([`sorted_at`]), read back by position.
pub struct SortedAt {
    /// The positions, ascending, no repeats.
    at: Vec<usize>,
    values: Vec<f64>,
}

impl SortedAt {
    /// The values a sort of `v` puts at positions `at` (in any order, repeats allowed).
    pub fn new(v: &[f64], mut at: Vec<usize>) -> SortedAt {
        at.sort_unstable();
        at.dedup();
        let values = sorted_at(v, &at);
        SortedAt { at, values }
    }

    /// The sorted value at position `i`, which must be one of the positions chosen.
    pub fn at(&self, i: usize) -> f64 {
        self.values[self.at.binary_search(&i).expect("a chosen position")]
    }
}

/// A value's place in `f64::total_cmp`'s order, as a `u64` in the same order: the sign bit set
/// for positive values, every bit flipped for negative ones. Without a branch, which the signs
/// of a sample crossing zero would mispredict.
#[inline]
fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    // All ones for a negative value, the sign bit alone for a positive one.
    let flip = (((b as i64) >> 63) as u64) | 1 << 63;
    b ^ flip
}

/// Samples up to this size are sorted by [`sorted_at`] rather than searched.
const SORTED_AT_SMALL: usize = 1 << 10;
/// [`sorted_at`]'s buckets per round: at most 2^this.
const SORTED_AT_BITS: u32 = 12;

/// [`sorted_at`], appending to `out`, by buckets of value where they serve when `by_value`, else
/// by keys. Returns the number of rounds of buckets the search took.
fn sorted_at_into(v: &[f64], at: &[usize], out: &mut Vec<f64>, by_value: bool) -> usize {
    if at.is_empty() {
        return 0;
    }
    if v.len() <= SORTED_AT_SMALL {
        let mut s = v.to_vec();
        s.sort_unstable_by(f64::total_cmp);
        out.extend(at.iter().map(|&p| s[p]));
        return 0;
    }
    // Buckets of equal width in value when the values are finite and not all equal, with a
    // finite span and scale: a sample's values spread over its buckets about as its
    // distribution does, where buckets of equal width in key crowd most of them into the few
    // that share their binade, leaving more rounds to search. `x − lo`, the product by a
    // positive scale and the rounding to a whole number are each monotone: a value's bucket is
    // never below a smaller value's, and values equal under `total_cmp` (same bits) share one.
    // The least and the greatest are found only for a search by value: a search by keys (of a
    // bucket of keys, or of a crowded bucket of value) would not read them.
    let buckets = 1usize << SORTED_AT_BITS;
    let by_scale = by_value
        .then(|| {
            let (lo, hi, finite) = min_max_finite(v);
            let span = hi - lo;
            let scale = buckets as f64 / span;
            // Equal values (span 0) and a span below about 2.3e-305 have no finite scale; a span
            // beyond the largest finite number is not finite. Either way the keys' buckets serve.
            (finite && span.is_finite() && scale.is_finite()).then_some((lo, scale))
        })
        .flatten();
    let of_value = by_scale.is_some();
    let gathered = if let Some((lo, scale)) = by_scale {
        // `(x − lo)·scale`, in [0, buckets] give or take rounding, rounded to a whole number by
        // adding 2^52 (whose ulp is 1) and read from the sum's bits: a few instructions where
        // `as usize`, saturating, takes a dozen. The least value falls in bucket 0 and the
        // greatest in the last: every gathered bucket is smaller than `v`.
        const ROUND: f64 = 4_503_599_627_370_496.0;
        let bucket = |x: f64| {
            let k = ((x - lo) * scale + ROUND).to_bits() - ROUND.to_bits();
            (k as usize).min(buckets - 1)
        };
        select_in_buckets(v, at, buckets, bucket)
    } else {
        let (lo, hi) = v.iter().fold((u64::MAX, 0), |(lo, hi), &x| {
            let k = order_key(x);
            (lo.min(k), hi.max(k))
        });
        if lo == hi {
            // Equal keys, equal bits.
            out.extend(at.iter().map(|_| v[0]));
            return 0;
        }
        let span = hi - lo;
        let shift = (u64::BITS - span.leading_zeros()).saturating_sub(SORTED_AT_BITS);
        let bucket = |x: f64| ((order_key(x) - lo) >> shift) as usize;
        select_in_buckets(v, at, (span >> shift) as usize + 1, bucket)
    };
    // Each gathered bucket searched in turn, in order. One of value that kept more than half
    // of `v` (values spread over many binades, crowded at one end) is searched by keys.
    let mut rounds = 1;
    for (values, inside) in gathered {
        let halved = 2 * values.len() <= v.len();
        rounds += sorted_at_into(&values, &inside, out, halved || !of_value);
    }
    rounds
}

/// The least and the greatest of `v`'s values (±∞ when it is empty), and whether they are all
/// finite (when not, the two are not to be read). Four lanes, side by side: a loop the compiler
/// vectorises, where `f64::min` and `max` (which pass over a NaN) take a chain of instructions a
/// value.
fn min_max_finite(v: &[f64]) -> (f64, f64, bool) {
    let (mut lo, mut hi) = ([f64::INFINITY; 4], [f64::NEG_INFINITY; 4]);
    let mut finite = [true; 4];
    // Value `x` in lane `k`: the four lanes of each quad, then the values left over.
    let mut step = |k: usize, x: f64| {
        lo[k] = if x < lo[k] { x } else { lo[k] };
        hi[k] = if x > hi[k] { x } else { hi[k] };
        finite[k] &= x.is_finite();
    };
    let mut quads = v.chunks_exact(4);
    for q in &mut quads {
        for (k, &x) in q.iter().enumerate() {
            step(k, x);
        }
    }
    for (k, &x) in quads.remainder().iter().enumerate() {
        step(k, x);
    }
    let pick = |a: f64, b: f64, less: bool| if less { a } else { b };
    (
        lo.into_iter().fold(f64::INFINITY, |m, x| pick(x, m, x < m)),
        hi.into_iter()
            .fold(f64::NEG_INFINITY, |m, x| pick(x, m, x > m)),
        finite.iter().all(|&f| f),
    )
}

/// One round of [`sorted_at_into`] by `bucket`, a map of the values onto `0..buckets` that never
/// puts a value in a bucket below a smaller value's (by `total_cmp`) and puts the least and the
/// greatest in different buckets: one pass counts each bucket's values, which gives the bucket
/// of each wanted position, and a second gathers the values of those buckets alone. Returns the
/// gathered buckets in order, each with its wanted positions among its own values.
fn select_in_buckets(
    v: &[f64],
    at: &[usize],
    buckets: usize,
    bucket: impl Fn(f64) -> usize,
) -> Vec<(Vec<f64>, Vec<usize>)> {
    let mut counts = vec![0usize; buckets];
    for &x in v {
        counts[bucket(x)] += 1;
    }
    // Each wanted bucket: its slot among the gathered ones, and its wanted positions counted
    // from its first in the sorted order.
    const NONE: u32 = u32::MAX;
    let mut slot = vec![NONE; counts.len()];
    let mut gathered: Vec<(Vec<f64>, Vec<usize>)> = Vec::new();
    let (mut b, mut start) = (0, 0);
    for &p in at {
        while start + counts[b] <= p {
            start += counts[b];
            b += 1;
        }
        if slot[b] == NONE {
            slot[b] = gathered.len() as u32;
            gathered.push((Vec::new(), Vec::new()));
        }
        gathered[slot[b] as usize].1.push(p - start);
    }
    for &x in v {
        let s = slot[bucket(x)];
        if s != NONE {
            gathered[s as usize].0.push(x);
        }
    }
    gathered
}

/// Mean and standard deviation (Welford, in order) of a sample.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let [m] = mean_sds([v]);
    m
}

/// [`mean_sd`] of `L` columns of one length at once, row by row: each column's sums see the
/// same operations in the same order as alone, so the results have the same bits. Alone, each
/// value waits for the last one's division (Welford's update is a chain); side by side, the
/// columns' chains overlap.
fn mean_sds<const L: usize>(cols: [&[f64]; L]) -> [(f64, f64); L] {
    let n = cols.first().map_or(0, |c| c.len());
    assert!(
        cols.iter().all(|c| c.len() == n),
        "columns of different lengths"
    );
    let mut mean = [0.0; L];
    let mut m2 = [0.0; L];
    for i in 0..n {
        let count = (i + 1) as f64;
        for ((c, mean), m2) in cols.iter().zip(&mut mean).zip(&mut m2) {
            let x = c[i];
            let d = x - *mean;
            *mean += d / count;
            *m2 += d * (x - *mean);
        }
    }
    std::array::from_fn(|l| {
        let sd = if n > 1 {
            (m2[l] / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        (mean[l], sd)
    })
}

/// Standard error of an estimated probability from `n` independent draws.
pub fn proportion_se(p: f64, n: usize) -> f64 {
    (p * (1.0 - p) / n as f64).sqrt()
}

/// Length of the prefix of the increasing `at` whose elements satisfy `below` (which must hold
/// on a prefix): a branch-free count when there are few, a binary search when there are many.
#[inline]
pub(crate) fn prefix_len(at: &[f64], below: impl Fn(f64) -> bool) -> usize {
    if at.len() <= 16 {
        at.iter().map(|&t| usize::from(below(t))).sum()
    } else {
        at.partition_point(|&t| below(t))
    }
}

/// Ranks (1-based, ties averaged) of a sample, in its original order.
pub fn ranks(v: &[f64]) -> Vec<f64> {
    few_value_ranks(v).unwrap_or_else(|| sorted_ranks(v))
}

/// Most distinct values [`few_value_ranks`] ranks by counting.
const FEW_VALUES: usize = 8;

/// [`ranks`] of a sample of at most [`FEW_VALUES`] distinct values (a discrete input: a delay of
/// 0, ½, 1 or 2 years), by counting each value's copies rather than sorting: the copies of a
/// value hold ranks `below + 1 ..= below + count`, whose average is the rank of each, computed
/// as [`sorted_ranks`] computes it. `None` for a sample of more distinct values, or holding NaN
/// (equal to nothing, each NaN is a value of its own).
fn few_value_ranks(v: &[f64]) -> Option<Vec<f64>> {
    // The distinct values met so far, in the order met; the places not yet used hold NaN, which
    // is equal to nothing.
    let mut values = [f64::NAN; FEW_VALUES];
    let mut len = 0;
    let mut counts = [0usize; FEW_VALUES];
    // Each draw's value, as its place in `values`.
    let mut which = Vec::with_capacity(v.len());
    for &x in v {
        // Which places hold `x`, one bit each: every place compared, without a branch per
        // place (a search stopping at the first equal one mispredicts about once a draw on a
        // random discrete input). The first of them, as a search would find it.
        let equal = (0..FEW_VALUES).fold(0u32, |m, j| m | u32::from(values[j] == x) << j);
        let k = if equal != 0 {
            equal.trailing_zeros() as usize
        } else if x.is_nan() || len == FEW_VALUES {
            return None;
        } else {
            values[len] = x;
            len += 1;
            len - 1
        };
        counts[k] += 1;
        which.push(k as u8);
    }
    let values = &values[..len];
    // Each value's average rank, from the counts of the values below it.
    let average: Vec<f64> = (0..values.len())
        .map(|k| {
            let below: usize = (0..values.len())
                .filter(|&j| values[j] < values[k])
                .map(|j| counts[j])
                .sum();
            let (i, j) = (below, below + counts[k] - 1);
            (i + j) as f64 / 2.0 + 1.0
        })
        .collect();
    Some(which.iter().map(|&k| average[usize::from(k)]).collect())
}

/// [`ranks`] by a sort.
fn sorted_ranks(v: &[f64]) -> Vec<f64> {
    match u32::try_from(v.len()) {
        Ok(_) => sorted_ranks_packed(v),
        Err(_) => sorted_ranks_paired(v),
    }
}

/// [`sorted_ranks`] of fewer than 2^32 values. Each value goes into the sort as one `u64`: its
/// index in the low bits (the bit length of the sample's size: room for every index) under the
/// high bits of its [`order_key`] (`radsort`'s order too), sorted stably by those high bits
/// alone: half the bytes of sorting (value, index) pairs, and fewer passes (the high bits'
/// top bytes are zero). The runs of equal high bits (keys in one aligned block of 2^shift, so
/// values close together, or equal) are then sorted by the whole key, stably. So the order is
/// the sort's by value, ties in index order, as [`sorted_ranks_paired`] gives, and so are the
/// ranks.
fn sorted_ranks_packed(v: &[f64]) -> Vec<f64> {
    let shift = (u64::BITS - (v.len() as u64).leading_zeros()).max(1);
    let low = (1u64 << shift) - 1;
    let mut order: Vec<u64> = v
        .iter()
        .zip(0u64..)
        .map(|(&x, i)| (order_key(x) & !low) | i)
        .collect();
    radsort::sort_by_key(&mut order, |p| p >> shift);
    let at = |p: u64| (p & low) as usize;
    let high = |p: u64| p >> shift;
    let mut i = 0;
    while i < order.len() {
        let h = high(order[i]);
        let j = i + order[i..].iter().take_while(|&&p| high(p) == h).count();
        order[i..j].sort_by_key(|&p| order_key(v[at(p)]));
        i = j;
    }
    // Two values with different high bits are equal only as −0 and +0 (whose high bits are
    // these two), so values are read to compare them only when their high bits are equal or
    // both are those of a zero.
    let zeros = [high(order_key(-0.0)), high(order_key(0.0))];
    let is_zero = |p: u64| zeros.contains(&high(p)) && v[at(p)] == 0.0;
    let equal = |p: u64, q: u64| {
        if high(p) == high(q) {
            v[at(p)] == v[at(q)]
        } else {
            is_zero(p) && is_zero(q)
        }
    };
    ranks_in_order(
        order.len(),
        |a, b| equal(order[a], order[b]),
        |a| at(order[a]),
    )
}

/// [`sorted_ranks`] of any number of values, by a sort of (value, index) pairs.
fn sorted_ranks_paired(v: &[f64]) -> Vec<f64> {
    // Stable radix sort of (value, index) pairs by value: ties stay in index order, as a stable
    // comparison sort would leave them. The pairs carry their values, so no pass of the sort
    // (nor the tie scan) looks a value up by its index.
    let mut by_value: Vec<(f64, usize)> = v.iter().copied().zip(0..).collect();
    radsort::sort_by_key(&mut by_value, |p| p.0);
    ranks_in_order(
        by_value.len(),
        |a, b| by_value[a].0 == by_value[b].0,
        |a| by_value[a].1,
    )
}

/// Ranks (1-based, ties averaged) of `n` values from their sorted order: `equal(a, b)` says
/// whether sorted places `a` and `b` hold equal values, and `draw(a)` which value is at place
/// `a`. Each run of equal values gets the average of the places it holds.
fn ranks_in_order(
    n: usize,
    equal: impl Fn(usize, usize) -> bool,
    draw: impl Fn(usize) -> usize,
) -> Vec<f64> {
    let mut r = vec![0.0; n];
    let mut i = 0;
    while i < n {
        let mut j = i;
        while j + 1 < n && equal(j + 1, i) {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for a in i..=j {
            r[draw(a)] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation of two equally long samples (NaN if either is constant; samples of
/// different lengths panic).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let [(ma, sa), (mb, sb)] = mean_sds([a, b]);
    if sa == 0.0 || sb == 0.0 {
        return f64::NAN;
    }
    let [s] = cross_sums([((a, ma), (b, mb))]);
    correlation(s, a.len(), sa, sb)
}

/// The correlation of `n` pairs whose cross products sum to `s` and whose standard deviations
/// are `sa` and `sb`.
fn correlation(s: f64, n: usize, sa: f64, sb: f64) -> f64 {
    s / ((n - 1) as f64 * sa * sb)
}

/// The sums `Σ (x − mean_x)·(y − mean_y)` of `L` pairs of columns `((x, mean_x), (y, mean_y))`
/// of one length, in draw order: [`pearson`]'s sum, each pair's with the same bits as alone.
fn cross_sums<const L: usize>(p: [(Centred, Centred); L]) -> [f64; L] {
    let n = p.first().map_or(0, |((x, _), _)| x.len());
    let mut s = [0.0; L];
    for i in 0..n {
        for (s, &((x, mx), (y, my))) in s.iter_mut().zip(&p) {
            *s += (x[i] - mx) * (y[i] - my);
        }
    }
    s
}

/// A column and its mean.
type Centred<'a> = (&'a [f64], f64);

/// Spearman rank correlation: [`spearman_matrix`]'s, of the two samples' ranks.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    spearman_matrix(&[ranks(a), ranks(b)])[0][1]
}

/// Spearman rank correlations of every pair of columns (1 on the diagonal, NaN beside a
/// constant column), given each column's [`ranks`] (fewer than 2^31 each, one length): the
/// Pearson correlations of the ranks, computed exactly until the last step.
///
/// A rank is a whole number or a half (ties share the average of their places), and the ranks
/// of `n` values sum to `n(n + 1)/2` whatever the ties, so their mean is `(n + 1)/2` exactly and
/// twice a rank's distance from it, `2r − (n + 1)`, is a whole number below `n` in size. The sums
/// of squares and of cross products of those whole numbers are added in integers, exactly (so in
/// any order, and as fast as the processor adds integers, with no chain of roundings); the
/// correlation `Σxy / √(Σx² Σy²)` is then rounded once for the sums and once for each
/// operation. Columns in the same order give exactly 1 (the square root of a rounded square is
/// the number squared), and in reverse order exactly −1.
pub fn spearman_matrix(ranked: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = ranked.first().map_or(0, Vec::len);
    assert!(
        ranked.iter().all(|c| c.len() == n),
        "columns of different lengths"
    );
    assert!(
        i32::try_from(n).is_ok(),
        "spearman_matrix: {n} values, more than its 32-bit ranks hold"
    );
    let mid = (n + 1) as f64;
    let doubled: Vec<Vec<i32>> = ranked
        .iter()
        .map(|c| {
            c.iter()
                .map(|&r| {
                    let d = 2.0 * r - mid;
                    debug_assert!(d.fract() == 0.0 && d.abs() < n as f64, "not a rank: {r}");
                    d as i32
                })
                .collect()
        })
        .collect();
    // Products below n² each; as many added in 64 bits at a time as cannot overflow them.
    let per_part = (u64::MAX >> 2) / (n as u64).saturating_mul(n as u64).max(1);
    let per_part = usize::try_from(per_part).unwrap_or(usize::MAX).max(1);
    let sum = |a: &[i32], b: &[i32]| -> i128 {
        a.chunks(per_part)
            .zip(b.chunks(per_part))
            .map(|(a, b)| {
                let part: i64 = a
                    .iter()
                    .zip(b)
                    .map(|(&x, &y)| i64::from(x) * i64::from(y))
                    .sum();
                i128::from(part)
            })
            .sum()
    };
    let squares: Vec<f64> = doubled.iter().map(|c| sum(c, c) as f64).collect();
    let k = ranked.len();
    let mut m = vec![vec![1.0; k]; k];
    for a in 0..k {
        for b in 0..a {
            // 0/0, NaN, beside a constant column (every distance 0).
            let r = sum(&doubled[a], &doubled[b]) as f64 / (squares[a] * squares[b]).sqrt();
            m[a][b] = r;
            m[b][a] = r;
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `prefix_len` counts the leading thresholds that satisfy the predicate, by a branch-free
    /// count for up to 16 thresholds and a binary search beyond: both give the count by hand.
    #[test]
    fn prefix_len_counts_the_thresholds_below_by_either_method() {
        for n in [3usize, 16, 17, 40] {
            let at: Vec<f64> = (0..n).map(|i| i as f64).collect();
            for (x, below) in [(-1.0, 0), (0.0, 0), (0.5, 1), (2.0, 2), (1e9, n)] {
                assert_eq!(prefix_len(&at, |t| t < x), below, "n {n}, x {x}");
            }
            // `<=`: a value equal to a threshold counts it.
            assert_eq!(prefix_len(&at, |t| t <= 2.0), 3, "n {n}");
        }
    }

    /// `sorted_at` against a whole sort, bit for bit, on samples small enough to be sorted and
    /// large enough to be searched: repeats, both zeros, negative, subnormal, huge and infinite
    /// values, NaNs of both signs, a point mass holding most of the sample, values up to 10^5
    /// ulps apart, one value throughout, finite values only (searched by value), values spread
    /// over a thousand binades and crowded at the small end (a search by value that keeps most
    /// of them in one bucket, then by keys); already sorted and reversed. Positions: none, one,
    /// the ends, every one and scattered subsets.
    #[test]
    fn sorted_at_gives_a_sort_s_values_at_the_wanted_positions() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let pool = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.5,
            1e300,
            -1e300,
            3.0,
            3.0,
            5e-324,
            -5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        // Finite values only (the search by equal widths of value), with both zeros and spans
        // that overflow (the greatest finite values: the search by keys instead), and finite
        // values with NaNs but no infinity (by keys).
        let finite = [
            0.0,
            -0.0,
            1e300,
            -1e300,
            5e-324,
            -5e-324,
            f64::MAX,
            f64::MIN,
        ];
        let mut checked = 0;
        for n in [1usize, 2, 3, 7, 64, 1000, 1025, 5000, 70_000] {
            for kind in 0..8 {
                let mut v: Vec<f64> = (0..n)
                    .map(|_| match (kind, next() % 4) {
                        (1, 0..=2) => 0.0,
                        (2, _) => 1.0 + (next() % 100_000) as f64 * f64::EPSILON,
                        (3, _) => 7.25,
                        // The first six: spans that stay finite.
                        (4, 0) => finite[(next() % 6) as usize],
                        (5, 0) => finite[(next() % finite.len() as u64) as usize],
                        // NaNs of both signs among finite values: no span of value orders them.
                        (6, 0) => [f64::NAN, -f64::NAN, 0.0][(next() % 3) as usize],
                        (7, _) => 2f64.powi(-((next() % 1000) as i32)),
                        (0, 0) => pool[(next() % pool.len() as u64) as usize],
                        _ => (next() % 2001) as f64 / 8.0 - 125.0,
                    })
                    .collect();
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let mut radix = v.clone();
                radsort::sort(&mut radix);
                assert_eq!(
                    radix.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    sorted.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
                    "radsort's order is total_cmp's"
                );
                for order in 0..3 {
                    match order {
                        1 => v.clone_from(&sorted),
                        2 => v.reverse(),
                        _ => {}
                    }
                    let every: Vec<usize> = (0..n).collect();
                    let scattered: Vec<usize> = (0..n).filter(|_| next() % 97 == 0).collect();
                    for mut at in [
                        vec![],
                        vec![0],
                        vec![n - 1],
                        vec![0, n - 1],
                        every,
                        scattered,
                    ] {
                        at.dedup();
                        let got = sorted_at(&v, &at);
                        assert_eq!(got.len(), at.len());
                        for (&p, x) in at.iter().zip(got) {
                            assert_eq!(
                                x.to_bits(),
                                sorted[p].to_bits(),
                                "n {n}, kind {kind}, at {p}"
                            );
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 200_000, "{checked} positions checked");
    }

    /// `SortedAt` takes positions in any order, with repeats, and reads each back as a sort's
    /// value; a position it was not given is refused.
    #[test]
    fn sorted_at_reads_back_any_chosen_position() {
        let v: Vec<f64> = (0..3000)
            .map(|i| ((i * 7919) % 3001) as f64 - 1500.5)
            .collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let s = SortedAt::new(&v, vec![2999, 7, 1500, 7, 0, 2999]);
        for i in [0, 7, 1500, 2999] {
            assert_eq!(s.at(i).to_bits(), sorted[i].to_bits(), "position {i}");
        }
        assert!(std::panic::catch_unwind(|| s.at(8)).is_err());
    }

    /// One value that is not finite, wherever it sits among 1,025 (in each of the four lanes
    /// of `min_max_finite` and in the one left over), sends the sample to the search by keys:
    /// by equal widths of value a NaN has no bucket of its own, and the sorted order puts −NaN
    /// first and NaN last.
    #[test]
    fn sorted_at_sees_a_nan_in_any_lane() {
        let finite: Vec<f64> = (0..1025).map(|i| ((i * 389) % 1025) as f64 / 4.0).collect();
        for at in [0, 1, 2, 3, 1021, 1024] {
            for nan in [-f64::NAN, f64::NAN] {
                let mut v = finite.clone();
                v[at] = nan;
                let mut sorted = v.clone();
                sorted.sort_by(f64::total_cmp);
                let ends = sorted_at(&v, &[0, 1, 1023, 1024]);
                for (got, want) in ends.iter().zip([0, 1, 1023, 1024].map(|p| sorted[p])) {
                    assert_eq!(got.to_bits(), want.to_bits(), "{nan} at {at}");
                }
            }
        }
    }

    /// A sample spread over a thousand binades and crowded at the small end keeps most of its
    /// values in the first bucket of value, round after round (each round narrows the span
    /// 4,096-fold, about a binade in twelve): such a bucket goes to the search by keys, so the
    /// search ends within a few rounds. Without that (every bucket by value) the median below
    /// took 39 rounds.
    #[test]
    fn sorted_at_searches_a_crowded_bucket_of_value_by_keys() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let v: Vec<f64> = (0..100_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                2f64.powi(-((state % 1000) as i32))
            })
            .collect();
        let at = [v.len() / 2];
        let (got, rounds) = sorted_at_rounds(&v, &at);
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        for (&p, x) in at.iter().zip(&got) {
            assert_eq!(x.to_bits(), sorted[p].to_bits(), "position {p}");
        }
        // At least the first round; then one round by value, at most six by keys (each narrows
        // the 64-bit keys at least 2^11-fold) before a bucket is small or of equal keys, with one
        // to spare.
        assert!((1..=8).contains(&rounds), "{rounds} rounds");
    }

    #[test]
    fn pearson_by_hand_and_nan_beside_a_constant_sample() {
        let (x, y) = ([1.0, 2.0, 3.5, 4.0, 0.5], [2.0, 1.0, 4.0, 3.0, 0.0]);
        // Hand-worked: x̄ = 2.2, ȳ = 2; Σ(x−x̄)(y−ȳ) = 8.0, Σ(x−x̄)² = 9.3, Σ(y−ȳ)² = 10.
        assert!((pearson(&x, &y) - 8.0 / (9.3f64 * 10.0).sqrt()).abs() < 1e-12);
        assert!(pearson(&x, &[5.0; 5]).is_nan());
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

    /// The Spearman matrix by hand, with ties: x = 1, 2, 2, 3 has ranks 1, 2.5, 2.5, 4 and y = 1,
    /// 3, 2, 4 ranks 1, 3, 2, 4; twice their distances from the mean rank 2.5 are −3, 0, 0, 3 and
    /// −3, 1, −1, 3, so Σxy = 18, Σx² = 18, Σy² = 20 and ρ = 18/√360 = 3/√10. Perfect agreement
    /// and reversal are exactly ±1, a constant column's entries NaN. Past 2^21 values the sums
    /// of squares pass 2^63 (a reversed order of 2^22 values: Σ (2r − n − 1)² ≈ n³/3 ≈ 2.5e19),
    /// which the sums must carry without overflowing to be exactly −1; so do the first 2^20
    /// products (about 1e19), should the parts added in 64 bits grow from 2^18 values to four
    /// times that. The rest agrees with Pearson's correlation of the ranks in floating point to
    /// its rounding.
    #[test]
    fn spearman_matrix_by_hand_with_ties_and_exact_ends() {
        let m = spearman_matrix(&[
            ranks(&[1.0, 2.0, 2.0, 3.0]),
            ranks(&[1.0, 3.0, 2.0, 4.0]),
            ranks(&[4.0, 2.0, 3.0, 1.0]),
            ranks(&[5.0, 5.0, 5.0, 5.0]),
            ranks(&[0.5, 3.0, 2.0, 9.0]),
        ]);
        assert!((m[0][1] - 3.0 / 10f64.sqrt()).abs() <= 1e-15, "{}", m[0][1]);
        assert_eq!(m[1][0].to_bits(), m[0][1].to_bits());
        assert_eq!(m[1][4], 1.0);
        assert_eq!(m[2][4], -1.0);
        for (k, row) in m.iter().enumerate() {
            assert_eq!(row[k], 1.0);
            if k != 3 {
                assert!(row[3].is_nan() && m[3][k].is_nan());
            }
        }
        assert_eq!(
            spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 3.0, 2.0, 4.0]),
            m[0][1]
        );
        let n = 1 << 22;
        let up: Vec<f64> = (1..=n).map(f64::from).collect();
        let down: Vec<f64> = up.iter().rev().copied().collect();
        let big = spearman_matrix(&[up.clone(), down]);
        assert_eq!(big[0][1], -1.0);
        // A sample with ties, against floating-point Pearson on the same ranks.
        let mut state = 7u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % 1000) as f64
        };
        let cols: Vec<Vec<f64>> = (0..3)
            .map(|_| ranks(&(0..5000).map(|_| next()).collect::<Vec<_>>()))
            .collect();
        let exact = spearman_matrix(&cols);
        for a in 0..3 {
            for b in 0..3 {
                let float = if a == b {
                    1.0
                } else {
                    pearson(&cols[a], &cols[b])
                };
                assert!((exact[a][b] - float).abs() < 1e-13, "{a} {b}");
            }
        }
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

/// Hand-computed values for every statistic of this module (each derivation in a comment), so a
/// changed operator, a dropped square root or an off-by-one rank changes a checked number.
#[cfg(test)]
mod hand_computed {
    use super::*;

    fn close(got: f64, want: f64) {
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1.0),
            "{got} vs {want}"
        );
    }

    #[test]
    fn order_statistics_counts_and_type7_quantiles() {
        let s = Sorted::new(vec![10.0, 2.0, 5.0, 1.0, 4.0, 3.0]).unwrap();
        assert_eq!(s.values(), &[1.0, 2.0, 3.0, 4.0, 5.0, 10.0]);
        assert_eq!(s.len(), 6);
        assert!(!s.is_empty());
        assert_eq!((s.min(), s.max()), (1.0, 10.0));
        assert_eq!(s.at(2), 3.0);
        // Type 7: h = (n − 1)·p = 5p; value x[⌊h⌋] + (h − ⌊h⌋)(x[⌊h⌋+1] − x[⌊h⌋]) (0-based).
        // p = 0.3: h = 1.5 → 2 + 0.5·1 = 2.5. p = 0.9: h = 4.5 → 5 + 0.5·5 = 7.5.
        // p = 0.62: h = 3.1 → 4 + 0.1·1 = 4.1. p = 1: h = 5 → 10. p < 0 is clamped to 0.
        close(s.quantile(0.3), 2.5);
        close(s.quantile(0.9), 7.5);
        close(s.quantile(0.62), 4.1);
        assert_eq!(s.quantile(1.0), 10.0);
        assert_eq!(s.quantile(-0.5), 1.0);
        // With ties: 1, 2, 2, 3 → four values, two of them ≤ … 2 is counted by ≤ but not by <.
        let t = Sorted::new(vec![2.0, 3.0, 2.0, 1.0]).unwrap();
        assert_eq!((t.count_le(2.0), t.count_lt(2.0)), (3, 1));
        assert_eq!((t.ecdf(2.0), t.below(2.0)), (0.75, 0.25));
        assert_eq!((t.ecdf(0.5), t.below(3.5)), (0.0, 1.0));
    }

    #[test]
    fn an_empty_order_statistics_source_reports_empty() {
        struct Empty;
        impl OrderStats for Empty {
            fn len(&self) -> usize {
                0
            }
            fn at(&self, _: usize) -> f64 {
                unreachable!()
            }
            fn count_le(&self, _: f64) -> usize {
                0
            }
            fn count_lt(&self, _: f64) -> usize {
                0
            }
        }
        assert!(Empty.is_empty());
    }

    #[test]
    fn quantile_standard_error_from_the_ranks_of_the_order_statistic_interval() {
        // x_i = i² for i = 0..100, p = 0.3: np = 30, half = 1.96·√(100·0.3·0.7) = 8.98176…, so
        // ranks ⌊21.018⌋ = 21 and ⌈38.98⌉ = 39; se = (39² − 21²)/(2·1.96) = 1080/3.92.
        let s = Sorted::new((0..100).map(|i| (i * i) as f64).collect()).unwrap();
        close(s.quantile_se(0.3), 1080.0 / 3.92);
        // p = 0.95: np = 95, half = 1.96·√4.75 = 4.2717…, ranks ⌊90.73⌋ = 90 and ⌈99.27⌉ = 100,
        // clipped to the last rank 99: se = (99² − 90²)/3.92 = 1701/3.92.
        close(s.quantile_se(0.95), 1701.0 / 3.92);
        // p = 0.02: np = 2, half = 1.96·√1.96 = 2.744, ranks ⌊−0.744⌋ → 0 and ⌈4.744⌉ = 5:
        // se = 25/3.92.
        close(s.quantile_se(0.02), 25.0 / 3.92);
        // Two values, p = 0.5: half = 1.96·√0.5 = 1.386, ranks clipped to 0 and 1.
        let two = Sorted::new(vec![0.0, 3.92]).unwrap();
        close(two.quantile_se(0.5), 1.0);
        // One value has no spread to estimate.
        assert!(Sorted::new(vec![1.0]).unwrap().quantile_se(0.5).is_nan());
    }

    #[test]
    fn mean_and_sample_standard_deviation() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 40/8 = 5, squared deviations 9+1+1+1+0+0+4+16 = 32,
        // sample variance 32/7.
        let (m, sd) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        close(m, 5.0);
        close(sd, (32.0f64 / 7.0).sqrt());
        // Two values 1, 3: mean 2, variance (1 + 1)/1 = 2.
        let (m, sd) = mean_sd(&[1.0, 3.0]);
        close(m, 2.0);
        close(sd, 2f64.sqrt());
        // One value: its own mean, no spread.
        assert_eq!(mean_sd(&[-7.5]), (-7.5, 0.0));
    }

    #[test]
    fn binomial_standard_error() {
        // √(0.2·0.8/100) = √0.0016 = 0.04; √(0.5·0.5/400) = 0.025.
        close(proportion_se(0.2, 100), 0.04);
        close(proportion_se(0.5, 400), 0.025);
    }

    /// A sample of few distinct values is ranked by counting, with every bit of the ranks a
    /// sort gives: a discrete input's draws, values either side of zero with both zeros (equal,
    /// so one value), exactly the most values counted, and one more (then sorted). A NaN is
    /// left to the sort.
    #[test]
    fn few_values_are_ranked_by_counting_as_a_sort_ranks_them() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut pick = |n: u64| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (state >> 33) % n
        };
        let draw = |from: &[f64], n: usize, pick: &mut dyn FnMut(u64) -> u64| -> Vec<f64> {
            (0..n)
                .map(|_| from[pick(from.len() as u64) as usize])
                .collect()
        };
        let delays = draw(&[0.0, 0.5, 1.0, 2.0], 1001, &mut pick);
        let zeros = draw(&[-1.5, -0.0, 0.0, 3.0, 2.5], 777, &mut pick);
        let most: Vec<f64> = (0..FEW_VALUES).map(|i| i as f64 * 0.25 - 0.5).collect();
        let mut most = draw(&most, 500, &mut pick);
        for i in 0..FEW_VALUES {
            most.push(i as f64 * 0.25 - 0.5);
        }
        let more: Vec<f64> = (0..=FEW_VALUES).map(|i| i as f64).collect();
        let mut more = draw(&more, 500, &mut pick);
        for i in 0..=FEW_VALUES {
            more.push(i as f64);
        }
        let bits = |r: &[f64]| r.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (name, v) in [("delays", &delays), ("zeros", &zeros), ("most", &most)] {
            let counted = few_value_ranks(v).unwrap_or_else(|| panic!("{name}: not counted"));
            assert_eq!(bits(&counted), bits(&sorted_ranks(v)), "{name}");
            assert_eq!(bits(&ranks(v)), bits(&counted), "{name}");
        }
        assert!(few_value_ranks(&more).is_none());
        assert_eq!(bits(&ranks(&more)), bits(&sorted_ranks(&more)));
        let with_nan = [1.0, f64::NAN, 1.0, 2.0];
        assert!(few_value_ranks(&with_nan).is_none());
        assert_eq!(ranks(&[7.0]), vec![1.0]);
        assert_eq!(few_value_ranks(&[]), Some(Vec::new()));
    }

    /// The packed sort ranks as the sort of (value, index) pairs does, bit for bit: values
    /// spread over many magnitudes, values that share the high half of their keys (a few ulps
    /// apart, and equal), both zeros (equal, with different high halves) beside the negative
    /// and positive subnormals that share each one's high half, infinities and NaNs of both
    /// signs.
    #[test]
    fn the_packed_sort_ranks_as_the_paired_sort() {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let spread: Vec<f64> = (0..5000)
            .map(|_| {
                let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
                (u - 0.3) * 10f64.powi((next() % 40) as i32 - 20)
            })
            .collect();
        let close: Vec<f64> = (0..3000)
            .map(|_| f64::from_bits(1.0f64.to_bits() + next() % 64))
            .collect();
        let specials = [
            0.0,
            -0.0,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::from_bits(3),
            -f64::from_bits(2),
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            -f64::NAN,
            1.5,
        ];
        let mixed: Vec<f64> = (0..4000)
            .map(|_| specials[(next() % specials.len() as u64) as usize])
            .collect();
        let bits = |r: &[f64]| r.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for (name, v) in [("spread", &spread), ("close", &close), ("mixed", &mixed)] {
            // Alone (the close values are then one run of equal high bits from the first
            // place) and with spread values after them.
            let all: Vec<f64> = v.iter().chain(&spread[..100]).copied().collect();
            for v in [v, &all] {
                assert_eq!(
                    bits(&sorted_ranks_packed(v)),
                    bits(&sorted_ranks_paired(v)),
                    "{name}"
                );
            }
        }
        // Both zeros tie, between the subnormals either side; the subnormals either side of
        // zero (high bits those of −0 and +0) do not, nor does a zero with a value whose high
        // bits differ.
        assert_eq!(
            sorted_ranks_packed(&[0.0, -f64::from_bits(1), -0.0, f64::from_bits(1), 0.0]),
            vec![3.0, 1.0, 3.0, 5.0, 3.0]
        );
        assert_eq!(
            sorted_ranks_packed(&[f64::from_bits(1), -f64::from_bits(1)]),
            vec![2.0, 1.0]
        );
        assert_eq!(sorted_ranks_packed(&[0.0, -1.0, 2.0]), vec![2.0, 1.0, 3.0]);
        // Sizes at and around powers of two (the index bits), and none.
        for n in [0, 1, 2, 3, 4, 7, 8, 9, 255, 256, 257] {
            let v = &spread[..n];
            assert_eq!(
                bits(&sorted_ranks_packed(v)),
                bits(&sorted_ranks_paired(v)),
                "{n}"
            );
        }
    }

    #[test]
    fn ranks_average_ties_anywhere() {
        // By counting (few values) and by the sort alike.
        for ranks in [ranks, sorted_ranks, sorted_ranks_paired] {
            assert_eq!(
                ranks(&[3.0, 1.0, 4.0, 1.0, 5.0]),
                vec![3.0, 1.5, 4.0, 1.5, 5.0]
            );
            assert_eq!(ranks(&[1.0, 5.0, 5.0]), vec![1.0, 2.5, 2.5]);
            assert_eq!(ranks(&[2.0, 2.0, 2.0]), vec![2.0, 2.0, 2.0]);
            assert_eq!(
                ranks(&[9.0, 7.0, 7.0, 7.0, 1.0]),
                vec![5.0, 3.0, 3.0, 3.0, 1.0]
            );
            assert!(ranks(&[]).is_empty());
        }
    }

    #[test]
    fn pearson_and_spearman_by_hand() {
        // a = 1, 2, 3; b = 2, 4, 7: deviations (−1, 0, 1) and (−7/3, −1/3, 8/3); cross products
        // sum to 5; sd(a) = 1, sd(b) = √(114/9 / 2) = √57/3; r = 5 / (2·√57/3) = 15/(2√57).
        close(
            pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]),
            15.0 / (2.0 * 57f64.sqrt()),
        );
        close(pearson(&[1.0, 2.0, 3.0], &[6.0, 4.0, 2.0]), -1.0);
        // Either sample constant: undefined.
        assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
        assert!(pearson(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).is_nan());
        // Spearman of 1, 2, 3, 4 against 1, 3, 2, 4: 1 − 6·Σd²/(n(n² − 1)) = 1 − 12/60 = 0.8.
        close(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 30.0, 20.0, 40.0]),
            0.8,
        );
    }
}

/// Edge cases the hand-computed values above leave open.
#[cfg(test)]
mod edge_cases {
    use super::*;

    #[test]
    fn min_and_max_are_the_extreme_order_statistics_of_a_sample_away_from_one() {
        // −3.5, 0.25, 8: the smallest and largest values, neither of them 0 or ±1.
        let s = Sorted::new(vec![8.0, -3.5, 0.25]).unwrap();
        assert_eq!((s.min(), s.max()), (-3.5, 8.0));
    }

    #[test]
    fn quantile_standard_error_at_the_ends_of_the_unit_interval_is_zero() {
        // p = 1: np = n and half = 1.96·√(n·1·0) = 0, so both ranks are n, clipped to the last
        // rank n − 1: se = (x[n−1] − x[n−1])/3.92 = 0. p = 0: both ranks are 0, se = 0.
        let s = Sorted::new(vec![1.0, 2.0, 4.0, 8.0]).unwrap();
        assert_eq!(s.quantile_se(1.0), 0.0);
        assert_eq!(s.quantile_se(0.0), 0.0);
    }
}
