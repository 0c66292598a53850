//! The model's arithmetic, coded once: one theme's yearly flows, present values, delay-to-zero and
//! breakeven year, and the headline total built from the themes. `model::evaluate` (and through it
//! `evaluate`, `reproduce` and `calibrate --check`), the Monte Carlo engine and sensitivity all
//! call these functions; nothing else computes an NPV.
//!
//! The evaluation reuses its scratch space ([`ThemeEval`] keeps its vectors between calls), so
//! the engine's per-draw loop allocates nothing.
//!
//! Conventions (ARCHITECTURE.md, "Model conventions"):
//! - gross benefit in year `t` = full-potential gross × delayed profile, where a delay `D = K + f`
//!   (`K` whole years, `0 ≤ f < 1`) gives `(1 − f)·p(t − K) + f·p(t − K − 1)`: linear within a
//!   year, the report's scenario 3;
//! - cost in year `t` = (one-off + fixed ongoing) × (1 + optimism bias on costs) + activity-scaled
//!   cost × p(t): costs follow the undelayed profile;
//! - the present value of benefits at a delay `D` is therefore `g·((1 − f)·S(K) + f·S(K + 1))` with
//!   `S(K) = Σ_t d_t·p(t − K)`, the discounted profile slid by `K` whole years. It is piecewise
//!   linear in the delay with a kink at every whole *total* delay, so with an own delay of 0.3
//!   the kinks of the extra delay are at 0.7, 1.7, …; [`delay_to_zero`] solves NPV = 0 on that
//!   path exactly, breakpoint by breakpoint;
//! - for the headline total every headline theme takes the same *extra* delay on top of its own,
//!   so the total's path has the kinks of all its themes.

use crate::cast::{float_of, index_of};
use crate::model::{DelayToZero, ThemeInputs};

/// Discount factors for years 1..=n given per-year rates (`rates[t-1]` applies between year t-1
/// and t) and the undiscounted year (Green Book: factor 1/(1+r)^k, k years from the base year).
pub fn discount_factors(rates: &[f64], undiscounted_year: usize) -> Vec<f64> {
    let n = rates.len();
    let base = undiscounted_year - 1;
    let mut df = vec![1.0; n];
    for t in base + 1..n {
        df[t] = df[t - 1] / (1.0 + rates[t]);
    }
    for t in (0..base).rev() {
        df[t] = df[t + 1] * (1.0 + rates[t + 1]);
    }
    df
}

/// A delay's whole years (its floor) and the fraction of the next year.
pub fn delay_parts(delay: f64) -> (i64, f64) {
    let k = floor(delay);
    (k as i64, delay - k)
}

/// `x.floor()`, bit for bit, without a call: the baseline x86-64 target has no rounding
/// instruction, so `f64::floor` is a call into the C library, once per theme and draw. A value
/// of magnitude 2^52 or more is whole already, and NaN and ±0 are their own floors; any other
/// is truncated by a cast (exact in that range) and taken one lower when it was negative with a
/// fraction. Selects rather than branches: a drawn delay is 0 or not at random, and a branch on
/// it is mispredicted about as often as not.
#[inline]
fn floor(x: f64) -> f64 {
    let t = x as i64 as f64;
    let t = std::hint::select_unpredictable(t > x, t - 1.0, t);
    std::hint::select_unpredictable(x.abs() < 4_503_599_627_370_496.0 && x != 0.0, t, x)
}

/// The value in (1-based) year `t` of a yearly series `at` (indexed by 1-based year) that slides
/// by `k + f` years ([`delay_parts`]): `(1 − f)·at(t − k) + f·at(t − k − 1)`, linear within a
/// year. The one rule for a delayed profile and for any delayed stream of benefits.
#[inline]
pub fn slid(at: impl Fn(i64) -> f64, t: i64, k: i64, f: f64) -> f64 {
    let j = t - k;
    blend(at(j), at(j - 1), f)
}

/// A slid series' value from its values at `t − k` (`now`) and `t − k − 1` (`before`): see
/// [`slid`].
#[inline(always)]
fn blend(now: f64, before: f64, f: f64) -> f64 {
    (1.0 - f) * now + f * before
}

/// Add to each partner's running NPV its share of a theme's NPV: `out[p] += shares[p]·npv`.
/// Partners' NPVs are these sums over the headline themes, in theme order.
#[inline]
pub fn add_partner_npvs(out: &mut [f64], shares: &[f64], npv: f64) {
    add_partner_npvs_block(out, 1, shares, 0, &[npv]);
}

/// [`add_partner_npvs`] over a block of `m` draws, partner by partner (`out[p·m + j]`): draw
/// `j`'s NPV is `npv[j]`, and partner `p`'s share `shares[p·m + j]` when the shares are per draw
/// (`each` = 1), `shares[p]` when they are the same for every draw (0).
#[inline]
pub fn add_partner_npvs_block(out: &mut [f64], m: usize, shares: &[f64], each: usize, npv: &[f64]) {
    let rows = out.chunks_exact_mut(m);
    if each == 1 {
        for (row, shares) in rows.zip(shares.chunks_exact(m)) {
            for ((o, s), v) in row.iter_mut().zip(shares).zip(npv) {
                *o += s * v;
            }
        }
    } else {
        for (row, s) in rows.zip(shares) {
            for (o, v) in row.iter_mut().zip(npv) {
                *o += s * v;
            }
        }
    }
}

/// The present value of one unit of full-potential benefit when the profile slides by `K` whole
/// years: `out[K] = Σ_t d_t·p(t − K)` for `K = 0..h` (it is 0 for `K ≥ h`: no benefit falls in the
/// horizon). Depends only on the profile and the discount factors, so callers whose profile and
/// rates are fixed compute it once.
pub fn slid_profile_pv(theme: &ThemeInputs, df: &[f64], out: &mut Vec<f64>) {
    let h = df.len();
    out.clear();
    for k in 0..h {
        let mut acc = 0.0;
        for (i, d) in df.iter().enumerate().skip(k) {
            acc += d * theme.profile_at((i + 1 - k) as i64);
        }
        out.push(acc);
    }
}

/// A theme's profile readable at any whole year by one index, without a branch: the values
/// `ThemeInputs::profile_at` gives (0 before year 1, the last listed value after the list),
/// laid out for every year a delayed horizon reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Padded {
    /// `q[i]` is the profile at year `i − off`.
    q: Vec<f64>,
    off: usize,
    /// The profile's length, and the horizon.
    len: i64,
    h: i64,
}

impl Padded {
    /// The profile `profile` (not empty) for a horizon of `h` years.
    pub fn new(profile: &[f64], h: usize) -> Padded {
        let mut p = Padded::default();
        p.set(profile, h);
        p
    }

    /// Lay out `profile` for a horizon of `h` years, reusing the vector; nothing to do when it
    /// holds that profile (bit for bit) and horizon already (a theme evaluated draw after draw).
    pub fn set(&mut self, profile: &[f64], h: usize) {
        let len = profile.len();
        // The profile laid out is `q[off + 1..=off + len]` (years 1..=len).
        let laid_out = self.q.get(self.off + 1..self.off + 1 + len);
        let same = |a: &f64, b: &f64| a.to_bits() == b.to_bits();
        if self.h == h as i64
            && self.len == len as i64
            && laid_out.is_some_and(|q| q.iter().zip(profile).all(|(a, b)| same(a, b)))
        {
            return;
        }
        let off = h + 2;
        // As `ThemeInputs::profile_at`.
        let at = |j: i64| {
            if j < 1 {
                0.0
            } else {
                profile[(j as usize - 1).min(len - 1)]
            }
        };
        self.q.clear();
        self.q
            .extend((0..off + h + len + 1).map(|i| at(i as i64 - off as i64)));
        self.off = off;
        self.len = len as i64;
        self.h = h as i64;
    }

    /// Where the years of a profile slid by `k` whole years start: the profile at year
    /// `t − k` is `q[base + t − 1]` for `t = 1..=h`, and at `t − k − 1` the entry before. Slides
    /// beyond the horizon's reach read the same values as the nearest one within it: from
    /// `h + 1` years on the horizon sees only zeros, and from `−len` years back only the last
    /// listed value.
    #[inline(always)]
    fn base(&self, k: i64) -> usize {
        let k = k.clamp(-self.len, self.h + 1);
        (self.off as i64 + 1 - k) as usize
    }

    /// The undelayed profile in year `t` (1-based, `1..=h`).
    #[inline(always)]
    fn at(&self, t: usize) -> f64 {
        self.q[self.off + t]
    }
}

/// One theme's inputs for a block of `m` draws, column by column: draw `j`'s full-potential
/// gross benefit ([`ThemeInputs::full_gross_bn`]) is `gross[j]`, and its one-off plus fixed
/// ongoing cost in year `t + 1` is `fixed[t·m + j]` (year by year, each year's draws together).
#[derive(Debug, Clone, Copy)]
pub struct ThemeCols<'a> {
    pub gross: &'a [f64],
    /// Activity-scaled cost at full activity ([`ThemeInputs::full_scaled_cost_bn`]).
    pub scaled: &'a [f64],
    /// `1 +` the optimism bias on costs.
    pub uplift: &'a [f64],
    /// The theme's own delay, years.
    pub delay: &'a [f64],
    pub fixed: &'a [f64],
}

/// A block's yearly flows and present values ([`theme_flows`]), laid out as [`ThemeCols`]:
/// per draw `npv`, `pv_benefits`, `pv_costs`; per year and draw `discounted_net`, and, when the
/// caller keeps them, the gross benefits and costs (each of `h·m` values, or empty).
#[derive(Debug)]
pub struct ThemeFlows<'a> {
    pub npv: &'a mut [f64],
    pub pv_benefits: &'a mut [f64],
    pub pv_costs: &'a mut [f64],
    pub discounted_net: &'a mut [f64],
    pub gross: &'a mut [f64],
    pub costs: &'a mut [f64],
}

/// A block's flows, each year's draws side by side. Scratch: `slid` and `frac` (reused between
/// calls).
///
/// For draw `j`, year `t` (discount factor `d_t`): gross benefit `g·((1 − f)·p(t − K) + f·p(t −
/// K − 1))` with `K + f` its own delay, cost `fixed_t·uplift + scaled·p(t)`, discounted net
/// `(gross − cost)·d_t`; the NPV and the PVs are their sums from year 1 on (from +0, year by
/// year, so a block gives each draw the bits a block of one gives it).
pub fn theme_flows(
    x: &ThemeCols,
    profile: &Padded,
    df: &[f64],
    out: ThemeFlows,
    slid: &mut Vec<f64>,
    frac: &mut Vec<f64>,
) {
    if x.gross.len() == 1 {
        // A block of one (`ThemeEval`): year by year without the block's gathers and loops.
        theme_flows_one(x, profile, df, out);
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above).
        unsafe { theme_flows_avx2(x, profile, df, out, slid, frac) };
        return;
    }
    theme_flows_portable(x, profile, df, out, slid, frac);
}

/// One draw's gross benefit, cost and discounted net in a year whose discount factor is `d` and
/// undelayed profile `p_t`, its delayed profile `now` (and `before`, the year before, blended by
/// the delay's fraction `f`): the year's arithmetic, which every block size shares.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn year_flows(
    g: f64,
    (now, before, f): (f64, f64, f64),
    fixed: f64,
    uplift: f64,
    scaled: f64,
    p_t: f64,
    d: f64,
) -> (f64, f64, f64) {
    let gross = g * blend(now, before, f);
    let cost = fixed * uplift + scaled * p_t;
    (gross, cost, (gross - cost) * d)
}

/// [`theme_flows`] for a block of one draw.
fn theme_flows_one(x: &ThemeCols, profile: &Padded, df: &[f64], out: ThemeFlows) {
    let (k, f) = delay_parts(x.delay[0]);
    let from = profile.base(k) - 1;
    let (g, sc, up) = (x.gross[0], x.scaled[0], x.uplift[0]);
    let keep = !out.gross.is_empty();
    let (mut npv, mut pvb, mut pvc) = (0.0, 0.0, 0.0);
    for (t, &d) in df.iter().enumerate() {
        let slid = (profile.q[from + t + 1], profile.q[from + t], f);
        let (gross, cost, v) = year_flows(g, slid, x.fixed[t], up, sc, profile.at(t + 1), d);
        out.discounted_net[t] = v;
        npv += v;
        pvb += gross * d;
        pvc += cost * d;
        if keep {
            out.gross[t] = gross;
            out.costs[t] = cost;
        }
    }
    out.npv[0] = npv;
    out.pv_benefits[0] = pvb;
    out.pv_costs[0] = pvc;
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn theme_flows_avx2(
    x: &ThemeCols,
    profile: &Padded,
    df: &[f64],
    out: ThemeFlows,
    slid: &mut Vec<f64>,
    frac: &mut Vec<f64>,
) {
    theme_flows_portable(x, profile, df, out, slid, frac);
}

// Always inlined, so that `theme_flows_avx2` compiles it for AVX2 (the same operations, in the
// same order: the same bits).
#[inline(always)]
fn theme_flows_portable(
    x: &ThemeCols,
    profile: &Padded,
    df: &[f64],
    out: ThemeFlows,
    slid: &mut Vec<f64>,
    frac: &mut Vec<f64>,
) {
    let m = x.gross.len();
    let h = df.len();
    // Each draw's delayed profile gathered first, year by year (`slid[t·m + j]` is draw `j`'s
    // profile at year `t − K`, t = 0..=h), so that the arithmetic below reads whole rows.
    frac.clear();
    // Every entry is written below.
    slid.resize((h + 1) * m, 0.0);
    let q = &profile.q[..];
    for (j, &delay) in x.delay.iter().enumerate() {
        let (k, f) = delay_parts(delay);
        frac.push(f);
        let from = profile.base(k) - 1;
        for (t, v) in q[from..from + h + 1].iter().enumerate() {
            slid[t * m + j] = *v;
        }
    }
    let (npv, pvb, pvc) = (
        &mut out.npv[..m],
        &mut out.pv_benefits[..m],
        &mut out.pv_costs[..m],
    );
    npv.fill(0.0);
    pvb.fill(0.0);
    pvc.fill(0.0);
    let keep = !out.gross.is_empty();
    let (g, sc, up, frac) = (&x.gross[..m], &x.scaled[..m], &x.uplift[..m], &frac[..m]);
    for (t, &d) in df.iter().enumerate() {
        let p_t = profile.at(t + 1);
        let fixed = &x.fixed[t * m..(t + 1) * m];
        let before = &slid[t * m..(t + 1) * m];
        let now = &slid[(t + 1) * m..(t + 2) * m];
        let dn = &mut out.discounted_net[t * m..(t + 1) * m];
        for j in 0..m {
            let slid = (now[j], before[j], frac[j]);
            let (gross, cost, v) = year_flows(g[j], slid, fixed[j], up[j], sc[j], p_t, d);
            dn[j] = v;
            npv[j] += v;
            pvb[j] += gross * d;
            pvc[j] += cost * d;
        }
        if keep {
            // The same gross benefits and costs again, for the caller's yearly tables.
            for j in 0..m {
                let slid = (now[j], before[j], frac[j]);
                let (gross, cost, _) = year_flows(g[j], slid, fixed[j], up[j], sc[j], p_t, d);
                out.gross[t * m + j] = gross;
                out.costs[t * m + j] = cost;
            }
        }
    }
}

/// The first year (1-based) whose cumulative discounted net benefit is ≥ 0, for each of a
/// block's `m` draws (`discounted_net` year by year, as [`ThemeFlows`]); 0 when none is.
/// `cum`: scratch of at least `m` values.
pub fn breakeven_block(discounted_net: &[f64], m: usize, cum: &mut [f64], out: &mut [u32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2 (checked above).
        unsafe { breakeven_block_avx2(discounted_net, m, cum, out) };
        return;
    }
    breakeven_block_body(discounted_net, m, cum, out);
}

/// [`breakeven_block`] compiled for AVX2, where the years' sums and the selects of the block's
/// draws go four side by side, two vectors a step (the same additions in the same order: the
/// same bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn breakeven_block_avx2(discounted_net: &[f64], m: usize, cum: &mut [f64], out: &mut [u32]) {
    breakeven_block_body(discounted_net, m, cum, out);
}

/// The body of [`breakeven_block`].
#[inline(always)]
fn breakeven_block_body(discounted_net: &[f64], m: usize, cum: &mut [f64], out: &mut [u32]) {
    let cum = &mut cum[..m];
    cum.fill(0.0);
    let out = &mut out[..m];
    out.fill(0);
    for (t, year) in discounted_net.chunks_exact(m).enumerate() {
        let year_no = t as u32 + 1;
        for ((c, o), v) in cum.iter_mut().zip(out.iter_mut()).zip(year) {
            *c += v;
            // Selected rather than branched on, so that the draws go side by side.
            *o = if (*o == 0) & (*c >= 0.0) { year_no } else { *o };
        }
    }
}

/// One theme's evaluation, with the scratch vectors it keeps between calls.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThemeEval {
    /// Gross benefits, costs and discounted net benefit by year, £bn.
    pub gross: Vec<f64>,
    pub costs: Vec<f64>,
    pub discounted_net: Vec<f64>,
    pub npv: f64,
    pub pv_benefits: f64,
    pub pv_costs: f64,
    /// Steady-state annual net benefit: gross at full potential − last year's fixed ongoing cost
    /// − scaled cost at full activity.
    pub net_annual: f64,
    pub delay: DelayToZero,
    /// First year whose cumulative discounted net benefit is ≥ 0.
    pub breakeven: Option<u32>,
    /// The theme's own delay.
    pub own_delay: f64,
    /// `g·S(K)`, K = 0..h: PV of benefits with the profile slid by K whole years.
    pub slid_pv: Vec<f64>,
    /// Scratch: the profile laid out, each year's fixed costs.
    profile: Padded,
    fixed: Vec<f64>,
}

impl ThemeEval {
    /// Evaluate `theme` under discount factors `df`, given its slid profile PVs from
    /// [`slid_profile_pv`] (for the same profile and factors): [`theme_flows`] on a block of
    /// one draw.
    pub fn compute(&mut self, theme: &ThemeInputs, df: &[f64], slid_unit: &[f64]) {
        let h = df.len();
        let g = theme.full_gross_bn();
        let scaled = theme.full_scaled_cost_bn();
        let uplift = 1.0 + theme.optimism_bias_cost;
        self.profile.set(&theme.profile, h);
        self.fixed.clear();
        self.fixed.extend(
            theme.one_off_costs_bn[..h]
                .iter()
                .zip(&theme.ongoing_costs_bn[..h])
                .map(|(one_off, ongoing)| one_off + ongoing),
        );
        // Written in place (the vectors keep their length between draws).
        self.gross.resize(h, 0.0);
        self.costs.resize(h, 0.0);
        self.discounted_net.resize(h, 0.0);
        let (mut npv, mut pvb, mut pvc) = ([0.0], [0.0], [0.0]);
        let cols = ThemeCols {
            gross: &[g],
            scaled: &[scaled],
            uplift: &[uplift],
            delay: &[theme.delay_years],
            fixed: &self.fixed,
        };
        let flows = ThemeFlows {
            npv: &mut npv,
            pv_benefits: &mut pvb,
            pv_costs: &mut pvc,
            discounted_net: &mut self.discounted_net,
            gross: &mut self.gross,
            costs: &mut self.costs,
        };
        // A block of one needs no gather scratch (`theme_flows_one`): empty vectors, never grown.
        let (mut slid, mut frac) = (Vec::new(), Vec::new());
        theme_flows(&cols, &self.profile, df, flows, &mut slid, &mut frac);
        let ([npv], [pvb], [pvc]) = (npv, pvb, pvc);
        self.npv = npv;
        self.pv_benefits = pvb;
        self.pv_costs = pvc;
        self.net_annual = g - (theme.ongoing_costs_bn[h - 1] * uplift + scaled);
        self.own_delay = theme.delay_years;
        // Written in place (resized only when the horizon changes), not collected afresh.
        self.slid_pv.resize(slid_unit.len(), 0.0);
        for (v, s) in self.slid_pv.iter_mut().zip(slid_unit) {
            *v = g * s;
        }
        self.breakeven = breakeven(&self.discounted_net);
        self.delay = theme_delay_to_zero(Slid::new(slid_unit, g), self.own_delay, pvc, npv, h);
    }

    /// Present value of benefits with `extra` years of delay on top of the theme's own.
    pub fn pv_benefits_delayed(&self, extra: f64) -> f64 {
        interp(Slid::new(&self.slid_pv, 1.0), self.own_delay + extra)
    }

    /// The theme's path in its extra delay, for [`delay_to_zero`].
    pub fn path(&self) -> DelayPath<'_> {
        DelayPath {
            own_delay: self.own_delay,
            slid: Slid::new(&self.slid_pv, 1.0),
        }
    }
}

/// A theme's PVs of benefits at whole delays, `g·unit[K]` (`unit` from [`slid_profile_pv`]),
/// each taken when it is read: the same bits as the table written out.
#[derive(Debug, Clone, Copy)]
pub struct Slid<'a> {
    unit: &'a [f64],
    g: f64,
}

impl<'a> Slid<'a> {
    pub fn new(unit: &'a [f64], g: f64) -> Slid<'a> {
        Slid { unit, g }
    }

    #[inline(always)]
    fn get(&self, i: usize) -> Option<f64> {
        self.unit.get(i).map(|s| self.g * s)
    }

    /// The table from whole delay `k` on.
    #[inline(always)]
    fn from(self, k: usize) -> Slid<'a> {
        Slid {
            unit: self.unit.get(k..).unwrap_or(&[]),
            g: self.g,
        }
    }
}

/// One theme's part of a delay search over several themes: its own delay and its PVs of benefits
/// at whole delays.
#[derive(Debug, Clone, Copy)]
pub struct DelayPath<'a> {
    pub own_delay: f64,
    pub slid: Slid<'a>,
}

/// Scratch space of a delay search over several themes: the themes grouped by the fractional
/// part (phase) of their own delay, each group's slid tables summed into one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DelayScratch {
    phases: Vec<f64>,
    /// The groups by decreasing phase: the order of their kinks within each year (see
    /// [`root_groups`]).
    order: Vec<usize>,
    /// A table of `h + 1` entries for each group (at least `phases.len()` of them: the vector
    /// only grows, so that a draw allocates and clears nothing it need not).
    tables: Vec<f64>,
}

/// The PV of benefits at total delay `y` (≥ 0) from a table of PVs at whole delays (0 beyond it):
/// linear between whole years.
#[inline]
fn interp(table: Slid, y: f64) -> f64 {
    let y = y.max(0.0);
    let k = index_of(y);
    let f = y - float_of(k as u64);
    // Both entries inside the table (the usual case) are read with one bounds check.
    let (now, next) = match table.unit.get(k..k + 2) {
        Some(&[a, b]) => (table.g * a, table.g * b),
        _ => {
            let s = |j: usize| -> f64 { table.get(j).unwrap_or(0.0) };
            (s(k), s(k + 1))
        }
    };
    (1.0 - f) * now + f * next
}

/// Delay-to-zero of a set of themes (`paths`) taking the same extra delay, whose costs have
/// present value `pv_costs` and whose NPV at no extra delay is `npv0`; `h` is the horizon.
///
/// The NPV is piecewise linear in the extra delay `x`, with a kink wherever some theme's total
/// delay `own + x` is a whole number. Themes whose own delays share a fractional part `φ` share
/// their kinks, so their tables are summed: theme `t` with own delay `K_t + φ` contributes its
/// `g·S(K_t + m)` at `x = m − φ`. The breakpoints of every group are visited in increasing order;
/// the root lies between the last breakpoint with a positive NPV and the first with NPV ≤ 0,
/// where the path is linear, so linear interpolation there is exact. The whole-year figure is the
/// smallest whole extra delay with NPV ≤ 0. At an extra delay of `h` years no benefit is left in
/// the horizon, which bounds both searches.
pub fn delay_to_zero<'a>(
    paths: impl IntoIterator<Item = DelayPath<'a>>,
    pv_costs: f64,
    npv0: f64,
    h: usize,
    scratch: &mut DelayScratch,
) -> DelayToZero {
    if npv0 <= 0.0 {
        return DelayToZero::default();
    }
    let len = h + 1;
    let groups = group_tables(paths, len, scratch);
    let (phases, tables) = (&scratch.phases[..groups], &scratch.tables[..groups * len]);
    let npv_at = |x: f64| -> f64 {
        let mut v = -pv_costs;
        for (p, table) in phases.iter().zip(tables.chunks_exact(len)) {
            v += interp(Slid::new(table, 1.0), p + x);
        }
        v
    };
    if groups == 1 {
        return one_group(Slid::new(tables, 1.0), phases[0], pv_costs, npv0, h, npv_at);
    }
    let (exact, last) = root_groups(phases, &mut scratch.order, npv0, h, npv_at);
    whole_years(exact, h, npv_at, &last)
}

/// [`delay_to_zero`] of one theme whose PVs of benefits at whole delays are `slid` and own delay
/// `own_delay`: its own table, from the whole part of its delay on, is the one group's.
pub fn theme_delay_to_zero(
    slid: Slid,
    own_delay: f64,
    pv_costs: f64,
    npv0: f64,
    h: usize,
) -> DelayToZero {
    if npv0 <= 0.0 {
        return DelayToZero::default();
    }
    let (k, phase) = own_parts(own_delay);
    let table = slid.from(k);
    let npv_at = |x: f64| interp(table, phase + x) - pv_costs;
    one_group(table, phase, pv_costs, npv0, h, npv_at)
}

/// A theme's own delay as the whole years its table starts from and the phase in [0, 1) that
/// places its kinks. A negative (or NaN) delay counts as none, and one of 2^53 years or more
/// (every such number is whole, and the table is empty from there on) as 2^53 years, so that the
/// phase is in [0, 1) for every delay: the walks rely on it.
#[inline(always)]
fn own_parts(own_delay: f64) -> (usize, f64) {
    // A select: whether a drawn delay is 0 is as good as random.
    let own = std::hint::select_unpredictable(
        own_delay > 0.0,
        own_delay.min(9_007_199_254_740_992.0),
        0.0,
    );
    let k = index_of(own);
    (k, own - float_of(k as u64))
}

/// Sum the tables of the themes' paths by the phase of their own delay into
/// `scratch`: group g's phase is `phases[g]` and its table `tables[g·len..(g + 1)·len]`, in the
/// order the phases first appear. Returns the number of groups.
fn group_tables<'a>(
    paths: impl IntoIterator<Item = DelayPath<'a>>,
    len: usize,
    scratch: &mut DelayScratch,
) -> usize {
    scratch.phases.clear();
    for t in paths {
        let (k, phase) = own_parts(t.own_delay);
        let g = match scratch.phases.iter().position(|p| *p == phase) {
            Some(g) => g,
            None => {
                let g = scratch.phases.len();
                scratch.phases.push(phase);
                if scratch.tables.len() < (g + 1) * len {
                    scratch.tables.resize((g + 1) * len, 0.0);
                }
                scratch.tables[g * len..(g + 1) * len].fill(0.0);
                g
            }
        };
        // Entries past the theme's table would add 0, which changes no entry (none is −0: a sum
        // that starts at +0 never is).
        let table = &mut scratch.tables[g * len..(g + 1) * len];
        let own = t.slid.from(k);
        for (v, s) in table.iter_mut().zip(own.unit) {
            *v += own.g * s;
        }
    }
    scratch.phases.len()
}

/// The first root of a path of several groups (phases `phases`, distinct), whose NPV at extra
/// delay `x` is `npv_at(x)` and `npv0` (> 0) at 0, found by walking the breakpoints up to
/// `end = h + 1`; `end` when there is none before it. Also returns the last two points the walk
/// evaluated, `(x, npv)`, for [`whole_years`].
///
/// Group g's kinks are at `x = m − φ_g`, m = 1, 2, …, which lies in `(m − 1, m]` (φ is in
/// [0, 1): [`own_parts`]). The walk takes m = 1, 2, … and, within each, the groups by decreasing
/// phase: increasing order. Rounding `m − φ` keeps that order, being monotone, though it can
/// make two points equal (within a year, or `m − φ` with φ near 1 rounding to `m − 1`). A point
/// reached twice changes nothing: the walk left it with an NPV that was not ≤ 0, and finds the
/// same there again.
fn root_groups(
    phases: &[f64],
    order: &mut Vec<usize>,
    npv0: f64,
    h: usize,
    npv_at: impl Fn(f64) -> f64,
) -> (f64, [(f64, f64); 2]) {
    // By decreasing phase: an insertion sort, inline (there are a handful of groups, and their
    // phases are distinct, so any sort gives this order).
    order.clear();
    for g in 0..phases.len() {
        let at = order
            .iter()
            .position(|&o| phases[o] < phases[g])
            .unwrap_or(order.len());
        order.insert(at, g);
    }
    let end = h as f64 + 1.0;
    // The last two points reached, `[(x0, v0), (x1, v1)]`: the root is on the segment between
    // them once `v1 ≤ 0`.
    let mut last = [(0.0, npv0); 2];
    let mut reach = |x1: f64| -> bool {
        let v1 = npv_at(x1);
        last = [last[1], (x1, v1)];
        v1 <= 0.0
    };
    'walk: {
        let mut m = 1.0;
        while m <= end {
            for &g in order.iter() {
                if reach(m - phases[g]) {
                    break 'walk;
                }
            }
            m += 1.0;
        }
        // The horizon's end, where no benefit is left: reached already when a phase is 0, but
        // not otherwise, where rounding can leave the last kink short of it.
        reach(end);
    }
    let [(x0, v0), (x1, v1)] = last;
    if v1 <= 0.0 {
        // Linear on [x0, x1]: the root of v0 + (v1 − v0)·s/(x1 − x0).
        (x0 + (x1 - x0) * v0 / (v0 - v1), last)
    } else {
        // Unreachable with non-negative costs (no benefit remains at `end`), but stay total.
        (end, last)
    }
}

/// The delay-to-zero of one group's path, whose NPV at extra delay `x` is `npv_at(x)`.
///
/// With a whole own delay (phase 0) the breakpoints are the whole extra years themselves, where
/// `npv_at` gives the table's value (`interp` at a whole year adds nothing from a finite next
/// entry): the first whole year with NPV ≤ 0 is then the breakpoint that ended the root's search,
/// with no further evaluation.
fn one_group(
    table: Slid,
    phase: f64,
    pv_costs: f64,
    npv0: f64,
    h: usize,
    npv_at: impl Fn(f64) -> f64,
) -> DelayToZero {
    let (exact, m) = root_one_group(table, phase, pv_costs, npv0, h);
    // `interp` at whole year `m` adds 0 × the next entry: nothing, unless that entry is not
    // finite (0 × ∞ is NaN), when the search below decides.
    let next_finite = table.get(m as usize + 1).is_none_or(|x| x.is_finite());
    if phase == 0.0 && next_finite {
        return DelayToZero {
            whole_years: m,
            exact_years: exact,
        };
    }
    whole_years(exact, h, npv_at, &[])
}

/// The first root of one group's path, and the breakpoint `m` that ended its search (`h + 1`
/// when none did): its breakpoints are `x = m − φ`, where the PV of benefits is the table entry
/// `table[m]` itself.
fn root_one_group(table: Slid, phase: f64, pv_costs: f64, npv0: f64, h: usize) -> (f64, u32) {
    let (mut x0, mut v0) = (0.0, npv0);
    // `1..h + 2` rather than `1..=h + 1`: the same breakpoints, without the inclusive range's
    // extra test on every step.
    for m in 1..h + 2 {
        let x1 = float_of(m as u64) - phase;
        let v1 = table.get(m).unwrap_or(0.0) - pv_costs;
        if v1 <= 0.0 {
            // Linear on [x0, x1]: the root of v0 + (v1 − v0)·s/(x1 − x0).
            return (x0 + (x1 - x0) * v0 / (v0 - v1), m as u32);
        }
        x0 = x1;
        v0 = v1;
    }
    (h as f64 + 1.0, h as u32 + 1)
}

/// The delay-to-zero whose exact root is `exact`: the whole-year figure is the first whole extra
/// delay with NPV ≤ 0. The NPV is positive before the first root, so that year is not before it
/// (searched from its floor, in case rounding put the root a hair past a whole year where the
/// NPV is already 0). `known`: points `(x, npv_at(x))` the root's search already evaluated,
/// taken instead of evaluating them again.
fn whole_years(
    exact: f64,
    h: usize,
    npv_at: impl Fn(f64) -> f64,
    known: &[(f64, f64)],
) -> DelayToZero {
    // The same u32 as `exact.floor() as u32` for every `exact` (the cast saturates, and values
    // in (−1, 0) give 0 either way), without a libm call.
    let from = (exact as u32).max(1);
    let at = |x: f64| match known.iter().find(|(kx, _)| *kx == x) {
        Some(&(_, v)) => v,
        None => npv_at(x),
    };
    let whole = (from..h as u32 + 2)
        .find(|&k| at(k as f64) <= 0.0)
        .unwrap_or(h as u32 + 1);
    DelayToZero {
        whole_years: whole,
        exact_years: exact,
    }
}

/// First year (1-based) whose cumulative discounted net benefit is ≥ 0: [`breakeven_block`] on
/// a block of one.
pub fn breakeven(discounted_net: &[f64]) -> Option<u32> {
    let mut year = [0];
    breakeven_block(discounted_net, 1, &mut [0.0], &mut year);
    breakeven_year(year[0])
}

/// A breakeven year of [`breakeven_block`] (0 for none) as an option.
fn breakeven_year(year: u32) -> Option<u32> {
    (year > 0).then_some(year)
}

/// One theme's figures over a block of `m` draws, as the headline total reads them. With `each`
/// = 1 they are per draw, laid out as [`ThemeCols`] and [`ThemeFlows`] (draw `j`'s NPV at `j`,
/// its discounted net in year `t + 1` at `t·m + j`); with `each` = 0 one value (one year's,
/// at `t`) stands for every draw: a theme that no input moves.
#[derive(Debug, Clone, Copy)]
pub struct TotalPart<'a> {
    pub npv: &'a [f64],
    pub pv_benefits: &'a [f64],
    pub pv_costs: &'a [f64],
    pub discounted_net: &'a [f64],
    pub own_delay: &'a [f64],
    /// The full-potential gross benefit that scales `unit`, the theme's slid profile PVs
    /// ([`slid_profile_pv`]) or, with a gross of 1, its [`ThemeEval::slid_pv`].
    pub gross: &'a [f64],
    pub unit: &'a [f64],
    pub each: usize,
}

impl ThemeEval {
    /// This evaluation as one value for every draw of a block.
    pub fn part(&self) -> TotalPart<'_> {
        TotalPart {
            npv: std::slice::from_ref(&self.npv),
            pv_benefits: std::slice::from_ref(&self.pv_benefits),
            pv_costs: std::slice::from_ref(&self.pv_costs),
            discounted_net: &self.discounted_net,
            own_delay: std::slice::from_ref(&self.own_delay),
            gross: &[1.0],
            unit: &self.slid_pv,
            each: 0,
        }
    }
}

/// `a[j] += b[j·each]`: a per-draw column (`each` = 1) or one value for every draw (0).
#[inline]
fn add_each(a: &mut [f64], b: &[f64], each: usize) {
    if each == 1 {
        for (a, b) in a.iter_mut().zip(b) {
            *a += b;
        }
    } else {
        let b = b[0];
        for a in a.iter_mut() {
            *a += b;
        }
    }
}

/// The headline total over a block of `m` draws, with its scratch space: per draw its NPV, PVs,
/// breakeven year (0 for none) and delay-to-zero, and per year and draw (`t·m + j`) its
/// discounted net benefit.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TotalBlock {
    pub discounted_net: Vec<f64>,
    pub npv: Vec<f64>,
    pub pv_benefits: Vec<f64>,
    pub pv_costs: Vec<f64>,
    pub breakeven: Vec<u32>,
    pub delay: Vec<DelayToZero>,
    cum: Vec<f64>,
    scratch: DelayScratch,
}

impl TotalBlock {
    /// Sum the headline themes' `parts` (in theme order) over `m` draws of an `h`-year horizon.
    /// Each sum starts from +0 and adds the themes in order, whatever the block.
    pub fn compute<'a>(
        &mut self,
        parts: impl Iterator<Item = TotalPart<'a>> + Clone,
        m: usize,
        h: usize,
    ) {
        for v in [
            &mut self.discounted_net,
            &mut self.npv,
            &mut self.pv_benefits,
            &mut self.pv_costs,
        ] {
            v.clear();
        }
        self.discounted_net.resize(h * m, 0.0);
        self.npv.resize(m, 0.0);
        self.pv_benefits.resize(m, 0.0);
        self.pv_costs.resize(m, 0.0);
        for p in parts.clone() {
            let rows = self.discounted_net.chunks_exact_mut(m);
            for (t, year) in rows.enumerate() {
                add_each(
                    year,
                    &p.discounted_net[t * (1 + (m - 1) * p.each)..],
                    p.each,
                );
            }
            add_each(&mut self.npv, p.npv, p.each);
            add_each(&mut self.pv_benefits, p.pv_benefits, p.each);
            add_each(&mut self.pv_costs, p.pv_costs, p.each);
        }
        self.breakeven.resize(m, 0);
        self.cum.resize(m, 0.0);
        breakeven_block(&self.discounted_net, m, &mut self.cum, &mut self.breakeven);
        self.delay.clear();
        if m == 1 {
            self.delay_search(parts, 0, h);
        } else {
            // Gathered once (a block's allocation): each draw's search walks them again.
            let parts: Vec<TotalPart<'a>> = parts.collect();
            for j in 0..m {
                self.delay_search(parts.iter().copied(), j, h);
            }
        }
    }

    /// Draw `j`'s delay-to-zero, from its sums and the themes' `parts`.
    fn delay_search<'a>(&mut self, parts: impl Iterator<Item = TotalPart<'a>>, j: usize, h: usize) {
        let paths = parts.map(|p| DelayPath {
            own_delay: p.own_delay[j * p.each],
            slid: Slid::new(p.unit, p.gross[j * p.each]),
        });
        let d = delay_to_zero(paths, self.pv_costs[j], self.npv[j], h, &mut self.scratch);
        self.delay.push(d);
    }
}

/// The headline total of a set of theme evaluations, with its scratch space.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TotalEval {
    pub discounted_net: Vec<f64>,
    pub npv: f64,
    pub pv_benefits: f64,
    pub pv_costs: f64,
    pub delay: DelayToZero,
    pub breakeven: Option<u32>,
    block: TotalBlock,
}

impl TotalEval {
    /// Sum the headline themes (`headline[t]`) of `themes`: [`TotalBlock`] on a block of one.
    pub fn compute(&mut self, themes: &[ThemeEval], headline: &[bool]) {
        let h = themes.first().map(|e| e.discounted_net.len()).unwrap_or(0);
        let parts = themes
            .iter()
            .zip(headline)
            .filter(|(_, h)| **h)
            .map(|(e, _)| e.part());
        let b = &mut self.block;
        b.compute(parts, 1, h);
        self.discounted_net.clear();
        self.discounted_net.extend_from_slice(&b.discounted_net);
        self.npv = b.npv[0];
        self.pv_benefits = b.pv_benefits[0];
        self.pv_costs = b.pv_costs[0];
        self.breakeven = breakeven_year(b.breakeven[0]);
        self.delay = b.delay[0];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Inputs, Partner, evaluate};

    fn theme(profile: Vec<f64>, gross: f64, one_off: Vec<f64>, delay: f64) -> ThemeInputs {
        let n = one_off.len();
        ThemeInputs {
            addressable_spend_bn: 10.0,
            delay_years: delay,
            optimism_bias_cost: 0.1,
            ..ThemeInputs::plain(profile, gross, one_off, vec![0.05; n], 0.3)
        }
    }

    /// NPV by the yearly flows alone (no slid table), at a given total delay: the brute force the
    /// delay search is checked against.
    fn npv_at_delay(t: &ThemeInputs, df: &[f64], delay: f64) -> f64 {
        let mut t = t.clone();
        t.delay_years = delay;
        let mut npv = 0.0;
        for (i, d) in df.iter().enumerate() {
            let y = i + 1;
            let gross = t.full_gross_bn() * t.delayed_profile(y, delay);
            let cost = (t.one_off_costs_bn[i] + t.ongoing_costs_bn[i])
                * (1.0 + t.optimism_bias_cost)
                + t.full_scaled_cost_bn() * t.profile_at(y as i64);
            npv += (gross - cost) * d;
        }
        npv
    }

    fn eval(t: &ThemeInputs, df: &[f64]) -> ThemeEval {
        let mut slid = Vec::new();
        slid_profile_pv(t, df, &mut slid);
        let mut e = ThemeEval::default();
        e.compute(t, df, &slid);
        e
    }

    #[test]
    fn delay_to_zero_is_the_first_root_for_whole_and_fractional_own_delays() {
        let df = discount_factors(&[0.035; 5], 1);
        for own in [0.0, 0.3, 0.5, 1.7] {
            let t = theme(
                vec![0.2, 0.5, 0.8, 1.0, 1.0],
                4.0,
                vec![1.5, 0.5, 0.0, 0.0, 0.0],
                own,
            );
            let e = eval(&t, &df);
            assert!(e.npv > 0.0, "own {own}: the fixture must start positive");
            let x = e.delay.exact_years;
            let scale = e.pv_benefits;
            // The NPV at the reported root is zero, by the yearly flows.
            let at_root = npv_at_delay(&t, &df, own + x);
            assert!(
                at_root.abs() <= 1e-9 * scale,
                "own {own}: NPV {at_root} at the root {x}"
            );
            // ... and it is the first root: positive on a fine grid before it.
            let mut s = 0.0;
            while s < x - 1e-3 {
                assert!(
                    npv_at_delay(&t, &df, own + s) > 0.0,
                    "own {own}: NPV ≤ 0 at {s}"
                );
                s += 1e-3;
            }
            // The whole-year figure is the first whole extra year with NPV ≤ 0.
            let whole = (1..=7)
                .find(|&k| npv_at_delay(&t, &df, own + k as f64) <= 0.0)
                .unwrap();
            assert_eq!(e.delay.whole_years, whole, "own {own}");
        }
    }

    #[test]
    fn a_fractional_own_delay_moves_the_kink_off_whole_extra_years() {
        // Between whole extra years the path has a kink at 1 − 0.3 = 0.7: interpolating between
        // the NPVs at extra 0 and 1 (ignoring it) misses the root.
        let df = discount_factors(&[0.0; 4], 1);
        let t = theme(vec![1.0, 0.0, 0.0, 0.0], 1.0, vec![0.0; 4], 0.3);
        let mut t = t;
        t.ongoing_costs_bn = vec![0.0; 4];
        t.scaled_cost = 0.0;
        t.optimism_bias_cost = 0.0;
        t.profile = vec![1.0, 0.5, 0.0, 0.0];
        t.one_off_costs_bn = vec![1.2, 0.0, 0.0, 0.0];
        // Benefits 1 then 0.5 (undiscounted, 4 years), costs 1.2. The benefit left in the horizon
        // at total delay D is 1.5 up to D = 2, 1.5 − 0.5·(D − 2) up to D = 3, then 4 − D. With own
        // delay 0.3 the NPV 0.3 − 0.5·(D − 2) is zero at D = 2.6: extra 2.3. Interpolating between
        // extra 2 (NPV 0.15) and 3 (NPV −0.5) across the kink at 2.7 would give 2.23.
        let e = eval(&t, &df);
        assert!((e.delay.exact_years - 2.3).abs() < 1e-12, "{:?}", e.delay);
        assert_eq!(e.delay.whole_years, 3);
    }

    #[test]
    fn the_total_takes_one_extra_delay_on_top_of_each_theme_own() {
        // Own delays with different fractional parts (two groups of kinks), with the same one
        // (one group, tables summed), and whole.
        for (da, db) in [(0.3, 1.7), (0.5, 1.5), (0.0, 2.0), (0.25, 0.6)] {
            let df = discount_factors(&[0.035; 5], 1);
            let a = theme(
                vec![0.3, 0.7, 1.0, 1.0, 1.0],
                2.0,
                vec![1.0, 0.2, 0.0, 0.0, 0.0],
                da,
            );
            let b = theme(
                vec![0.1, 0.4, 0.9, 1.0, 1.0],
                3.0,
                vec![0.5, 0.5, 0.5, 0.0, 0.0],
                db,
            );
            let c = theme(vec![1.0; 5], 9.0, vec![0.0; 5], 0.5);
            let inputs = Inputs {
                discount_rates: vec![0.035; 5],
                undiscounted_year: 1,
                discount_factors: df.clone(),
                themes: vec![a.clone(), b.clone(), c],
                headline: vec![true, true, false],
            };
            let partners = [Partner {
                id: "A".into(),
                name: "A".into(),
                budget: None,
            }];
            let e = evaluate(&inputs, &partners);
            let x = e.total.delay_to_zero.exact_years;
            let npv = |x: f64| npv_at_delay(&a, &df, da + x) + npv_at_delay(&b, &df, db + x);
            assert!((e.total.npv - npv(0.0)).abs() < 1e-12);
            assert!(
                npv(0.0) > 0.0 && x > 0.0,
                "{da}, {db}: the fixture must start positive"
            );
            assert!(
                npv(x).abs() <= 1e-9 * e.total.pv_benefits,
                "{da}, {db}: NPV {} at the root {x}",
                npv(x)
            );
            let mut s = 0.0;
            while s < x - 1e-3 {
                assert!(npv(s) > 0.0, "{da}, {db}: NPV ≤ 0 at {s}");
                s += 1e-3;
            }
            let whole = (1..=7).find(|&k| npv(k as f64) <= 0.0).unwrap();
            assert_eq!(e.total.delay_to_zero.whole_years, whole, "{da}, {db}");
        }
    }
}

#[cfg(test)]
mod discounting {
    use super::*;

    #[test]
    fn discount_factors_follow_green_book_from_the_undiscounted_year() {
        let df = discount_factors(&[0.035; 5], 1);
        for (t, d) in df.iter().enumerate() {
            assert!((d - 1.035f64.powi(-(t as i32))).abs() < 1e-15);
        }
        let df2 = discount_factors(&[0.035; 5], 2);
        assert!((df2[0] - 1.035).abs() < 1e-15 && df2[1] == 1.0);
    }

    #[test]
    fn discount_factors_around_an_undiscounted_third_year() {
        // Rates per year 0.1, 0.25, 0.6, 0.25 (rates[t] applies between years t and t + 1,
        // 0-based index t), undiscounted year 3: year 3 → 1; year 4 → 1/1.25 = 0.8; year 2 →
        // 1·(1 + rates[2]) = 1.6; year 1 → 1.6·(1 + rates[1]) = 2.
        let df = discount_factors(&[0.1, 0.25, 0.6, 0.25], 3);
        for (got, want) in df.iter().zip([2.0, 1.6, 1.0, 0.8]) {
            assert!((got - want).abs() < 1e-15, "{df:?}");
        }
    }

    /// A delay's parts, and a series slid by them: linear within a year, nothing before year 1.
    #[test]
    fn a_delay_splits_into_whole_years_and_a_fraction_that_slides_a_series() {
        assert_eq!(delay_parts(0.0), (0, 0.0));
        assert_eq!(delay_parts(1.25), (1, 0.25));
        assert_eq!(delay_parts(2.0), (2, 0.0));
        // Years 1, 2, 3 hold 10, 20, 40.
        let at = |j: i64| match j {
            1 => 10.0,
            2 => 20.0,
            3 => 40.0,
            _ => 0.0,
        };
        let (k, f) = delay_parts(1.25);
        // Year 3 slid by 1.25: 0.75 × year 2 + 0.25 × year 1.
        assert_eq!(slid(at, 3, k, f), 0.75 * 20.0 + 0.25 * 10.0);
        assert_eq!(slid(at, 1, k, f), 0.0);
        assert_eq!(slid(at, 2, 0, 0.0), 20.0);
        let mut out = [1.0, 2.0];
        add_partner_npvs(&mut out, &[0.25, 0.75], 4.0);
        assert_eq!(out, [2.0, 5.0]);
    }

    /// A padded profile set again is laid out again when its horizon changes, though the
    /// profile does not, and is still the same profile's when neither changes. (Whether it was
    /// left as it was, rather than laid out again alike, equality cannot tell.)
    #[test]
    fn a_padded_profile_is_laid_out_again_for_another_horizon() {
        let p = [0.25, 0.5, 1.0];
        let mut reused = Padded::new(&p, 3);
        reused.set(&p, 6);
        assert_eq!(reused, Padded::new(&p, 6));
        reused.set(&p, 6);
        assert_eq!(reused, Padded::new(&p, 6));
        reused.set(&p, 2);
        assert_eq!(reused, Padded::new(&p, 2));
    }

    /// A padded profile set again with another profile of the same length and horizon is laid
    /// out again whichever year differs: the first, the last, or every year, as in the same
    /// profile a year later (its first year 0, which the laid-out years before the profile also
    /// hold).
    #[test]
    fn a_padded_profile_is_laid_out_again_for_another_profile() {
        let p = [0.25, 0.5, 1.0];
        for other in [[0.5, 0.5, 1.0], [0.25, 0.5, 0.75], [0.0, 0.25, 0.5]] {
            let mut reused = Padded::new(&p, 4);
            reused.set(&other, 4);
            assert_eq!(reused, Padded::new(&other, 4), "{other:?}");
        }
    }

    /// A padded profile set again with a profile of another length, on the same horizon, is
    /// laid out again even when the years it already holds read alike: a shorter profile that
    /// is its beginning, and a longer one that repeats its last value (which the laid-out years
    /// after the profile also hold).
    #[test]
    fn a_padded_profile_is_laid_out_again_for_another_length() {
        let p = [0.25, 0.5, 1.0];
        let others: [&[f64]; 2] = [&[0.25, 0.5], &[0.25, 0.5, 1.0, 1.0]];
        for other in others {
            let mut reused = Padded::new(&p, 4);
            reused.set(other, 4);
            assert_eq!(reused, Padded::new(other, 4), "{other:?}");
        }
    }

    /// The padded profile reads, at every slide (negative ones, none, within and beyond the
    /// horizon), what `profile_at` gives for the year and the year before.
    #[test]
    fn the_padded_profile_is_the_profile_at_every_slide() {
        for (profile, h) in [
            (vec![0.25, 0.5, 1.0], 5),
            (vec![1.0], 3),
            (vec![0.1, 0.9], 1),
        ] {
            let t_in = ThemeInputs::plain(profile.clone(), 1.0, vec![0.0; h], vec![0.0; h], 0.0);
            let p = Padded::new(&profile, h);
            for k in -12..=h as i64 + 6 {
                let base = p.base(k);
                for t in 1..=h {
                    let (now, before) = (p.q[base + t - 1], p.q[base + t - 2]);
                    assert_eq!(
                        now,
                        t_in.profile_at(t as i64 - k),
                        "{profile:?} k {k} t {t}"
                    );
                    assert_eq!(before, t_in.profile_at(t as i64 - k - 1), "k {k} t {t}");
                    assert_eq!(p.at(t), t_in.profile_at(t as i64), "t {t}");
                }
            }
        }
    }

    /// `floor` is `f64::floor` in every bit: at the sign of zero, either side of whole numbers,
    /// either side of 2^52 (from where every value is whole and is not cast), beyond the range
    /// of the cast (2^63), the subnormals, infinities and NaN, and on a spread of values of
    /// every magnitude.
    #[test]
    fn floor_is_the_library_floor_in_every_bit() {
        let two52 = 4_503_599_627_370_496.0_f64;
        let mut xs = vec![
            0.0,
            -0.0,
            0.3,
            -0.3,
            1.0,
            -1.0,
            1.5,
            -1.5,
            2.0 - f64::EPSILON,
            -(2.0 - f64::EPSILON),
            two52 - 0.5,
            -(two52 - 0.5),
            two52,
            -two52,
            two52 + 2.0,
            9.3e18,
            -9.3e18,
            1e300,
            -1e300,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            5e-324,
            -5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..100_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // Mantissa and sign at random, exponents from 2^-40 to 2^60.
            let bits = (state >> 12) | (((state >> 1) % 100 + 983) << 52) | (state << 63);
            xs.push(f64::from_bits(bits));
        }
        for x in xs {
            assert_eq!(floor(x).to_bits(), x.floor().to_bits(), "floor({x:e})");
        }
        assert_eq!(delay_parts(-0.25), (-1, 0.75));
    }
}

#[cfg(test)]
mod whole_own_delay {
    use super::*;

    /// With a whole own delay the whole-year figure is taken from the root's search (the
    /// breakpoint that ended it) instead of searched for again: it agrees with the search on
    /// tables that fall, rise again, are flat or never fall to the costs, hold an infinite or
    /// NaN entry past the root (where the search decides), with costs positive, zero and
    /// negative.
    #[test]
    fn the_breakpoint_that_ends_the_search_is_the_first_whole_year_at_or_below_zero() {
        let tables: [&[f64]; 8] = [
            &[10.0, 8.0, 5.0, 2.0, 1.0, 0.5],
            &[10.0, 8.0, 3.0, 6.0, 1.0, 0.5],
            &[4.0, 4.0, 4.0, 4.0, 4.0, 4.0],
            &[3.0, 3.0, 2.0],
            &[10.0, 9.0, 8.0, 7.0, 6.0, 5.0],
            &[10.0, 2.0, 2.0, 0.0, 0.0, 0.0],
            &[10.0, 0.0, f64::NAN, 0.0, 0.0, 0.0],
            &[10.0, 0.0, f64::INFINITY, 0.0, 0.0, 0.0],
        ];
        let h = 5;
        let mut checked = 0;
        for table in tables {
            for pv_costs in [-1.0, 0.0, 2.0, 3.0, 4.5, 7.5] {
                let npv0 = table[0] - pv_costs;
                if npv0 <= 0.0 {
                    continue;
                }
                let table = Slid::new(table, 1.0);
                let npv_at = |x: f64| interp(table, x) - pv_costs;
                let got = one_group(table, 0.0, pv_costs, npv0, h, npv_at);
                let (exact, _) = root_one_group(table, 0.0, pv_costs, npv0, h);
                let searched = whole_years(exact, h, npv_at, &[]);
                assert_eq!(got, searched, "table {table:?}, costs {pv_costs}");
                checked += 1;
            }
        }
        assert!(checked > 25, "{checked}");
    }

    /// Costs that are negative are never reached: the delay-to-zero is `h + 1`, exact and in
    /// whole years, for one theme, a total of one phase and a total of two phases alike.
    #[test]
    fn negative_costs_are_never_reached_in_any_search() {
        let h = 5;
        let eval = |own_delay: f64| ThemeEval {
            own_delay,
            slid_pv: vec![6.0, 5.0, 4.0, 3.0, 2.0, 1.0],
            ..ThemeEval::default()
        };
        let (whole, half) = (eval(0.0), eval(0.5));
        let never = DelayToZero {
            whole_years: h as u32 + 1,
            exact_years: h as f64 + 1.0,
        };
        let mut scratch = DelayScratch::default();
        for t in [&whole, &half] {
            let one = theme_delay_to_zero(t.path().slid, t.own_delay, -1.0, 7.0, h);
            assert_eq!(one, never, "own delay {}", t.own_delay);
            let grouped = delay_to_zero([t.path()], -1.0, 7.0, h, &mut scratch);
            assert_eq!(grouped, never, "own delay {}, as a total", t.own_delay);
        }
        let both = [whole, half];
        for mask in [[true, false], [false, true], [true, true]] {
            let paths = both
                .iter()
                .zip(mask)
                .filter(|(_, m)| *m)
                .map(|(t, _)| t.path());
            let d = delay_to_zero(paths, -1.0, 7.0, h, &mut scratch);
            assert_eq!(d, never, "{mask:?}");
        }
    }
}

/// One theme and a headline total evaluated by hand: every yearly flow, present value, the
/// steady state, breakeven year and delay-to-zero written out from the conventions in the module
/// documentation, without calling the model's profile helpers.
#[cfg(test)]
mod hand_computed {
    use super::*;

    use crate::model::assert_close as close;

    /// Profile 0.5, 1 (shorter than the 3-year horizon: year 3 holds 1), full gross 2, one-off
    /// 1 in year 1, fixed ongoing 0.1, 0.1, 0.2, optimism bias on costs 50%, activity-scaled cost
    /// 0.4 (0.6 after the uplift).
    fn theme(delay: f64) -> ThemeInputs {
        ThemeInputs {
            addressable_spend_bn: 10.0,
            delay_years: delay,
            optimism_bias_cost: 0.5,
            ..ThemeInputs::plain(
                vec![0.5, 1.0],
                2.0,
                vec![1.0, 0.0, 0.0],
                vec![0.1, 0.1, 0.2],
                0.4,
            )
        }
    }

    /// Discount factors 1, 1/1.1, 1/1.21 (10%, year 1 undiscounted).
    const DF: [f64; 3] = [1.0, 1.0 / 1.1, 1.0 / 1.21];
    // Discounted unit profile slid by K whole years: S(0) = 0.5 + 1/1.1 + 1/1.21,
    // S(1) = 0.5/1.1 + 1/1.21, S(2) = 0.5/1.21, S(K ≥ 3) = 0.
    const S: [f64; 3] = [
        0.5 + 1.0 / 1.1 + 1.0 / 1.21,
        0.5 / 1.1 + 1.0 / 1.21,
        0.5 / 1.21,
    ];
    // Costs by year: (1 + 0.1)·1.5 + 0.6·0.5 = 1.95; 0.1·1.5 + 0.6 = 0.75; 0.2·1.5 + 0.6 = 0.9.
    const PVC: f64 = 1.95 + 0.75 / 1.1 + 0.9 / 1.21;

    fn eval(t: &ThemeInputs) -> ThemeEval {
        let mut slid = Vec::new();
        slid_profile_pv(t, &DF, &mut slid);
        let mut e = ThemeEval::default();
        e.compute(t, &DF, &slid);
        e
    }

    #[test]
    fn yearly_flows_present_values_and_steady_state() {
        let e = eval(&theme(0.0));
        assert_eq!(e.gross, vec![1.0, 2.0, 2.0]);
        for (got, want) in e.costs.iter().zip([1.95, 0.75, 0.9]) {
            close("cost", *got, want);
        }
        let dn = [-0.95, 1.25 / 1.1, 1.1 / 1.21];
        for (got, want) in e.discounted_net.iter().zip(dn) {
            close("discounted net", *got, want);
        }
        close("npv", e.npv, dn.iter().sum());
        close("pv benefits", e.pv_benefits, 1.0 + 2.0 / 1.1 + 2.0 / 1.21);
        close("pv costs", e.pv_costs, PVC);
        // Steady state: 2 − (0.2·1.5 + 0.6) = 1.1.
        close("net annual", e.net_annual, 1.1);
        // Cumulative: −0.95, then −0.95 + 1.25/1.1 = 0.186… ≥ 0.
        assert_eq!(e.breakeven, Some(2));
        assert_eq!(e.slid_pv.len(), 3);
        for (k, s) in S.iter().enumerate() {
            close("slid pv", e.slid_pv[k], 2.0 * s);
        }
        // Own delay 0.3 and 0.5 extra: total 0.8, between S(0) and S(1); past the horizon, 0.
        let d = eval(&theme(0.3));
        close(
            "delayed pv",
            d.pv_benefits_delayed(0.5),
            2.0 * (0.2 * S[0] + 0.8 * S[1]),
        );
        close(
            "delayed pv",
            d.pv_benefits_delayed(1.2),
            2.0 * (0.5 * S[1] + 0.5 * S[2]),
        );
        assert_eq!(d.pv_benefits_delayed(3.0), 0.0);
        // A delayed theme's own flows: year t gets 0.7·p(t) + 0.3·p(t − 1).
        close("delayed gross", d.gross[0], 2.0 * 0.7 * 0.5);
        close("delayed gross", d.gross[1], 2.0 * (0.7 + 0.3 * 0.5));
        close("delayed gross", d.gross[2], 2.0);
    }

    #[test]
    fn delay_to_zero_on_the_first_segment_and_after_an_own_delay() {
        // No own delay: NPV(x) = 2·((1 − x)·S(0) + x·S(1)) − PVC on [0, 1], zero at
        // x = (2·S(0) − PVC) / (2·(S(0) − S(1))) ≈ 0.574; NPV(1) = 2·S(1) − PVC < 0.
        let e = eval(&theme(0.0));
        const { assert!(2.0 * S[1] < PVC) };
        let x = (2.0 * S[0] - PVC) / (2.0 * (S[0] - S[1]));
        close("exact", e.delay.exact_years, x);
        assert_eq!(e.delay.whole_years, 1);
        // Own delay 0.5: the total delay 0.5 + x follows the same segment, so x ≈ 0.074.
        let e = eval(&theme(0.5));
        close("exact", e.delay.exact_years, x - 0.5);
        assert_eq!(e.delay.whole_years, 1);
        // Own delay 1.5: already NPV = 2·(S(1) + S(2))/2 − PVC < 0, so no delay is left.
        let e = eval(&theme(1.5));
        assert!(e.npv < 0.0);
        assert_eq!(e.delay, DelayToZero::default());
    }

    #[test]
    fn breakeven_is_the_first_year_whose_running_total_reaches_zero() {
        assert_eq!(breakeven(&[-1.0, 0.5, 0.5, 3.0]), Some(3)); // exactly 0 in year 3
        assert_eq!(breakeven(&[0.0, -1.0]), Some(1));
        assert_eq!(breakeven(&[2.0, -5.0]), Some(1));
        assert_eq!(breakeven(&[-1.0, 0.6, 0.3]), None);
        assert_eq!(breakeven(&[-2.0, 3.0]), Some(2));
        assert_eq!(breakeven(&[]), None);
    }

    #[test]
    fn the_total_sums_headline_themes_only() {
        let a = eval(&theme(0.0));
        let b = eval(&theme(0.5));
        let mut big = theme(0.0);
        big.gross_benefit = 50.0;
        let c = eval(&big);
        let mut t = TotalEval::default();
        t.compute(&[a.clone(), b.clone(), c], &[true, true, false]);
        close("npv", t.npv, a.npv + b.npv);
        close("pv benefits", t.pv_benefits, a.pv_benefits + b.pv_benefits);
        close("pv costs", t.pv_costs, 2.0 * PVC);
        for y in 0..3 {
            close(
                "discounted net",
                t.discounted_net[y],
                a.discounted_net[y] + b.discounted_net[y],
            );
        }
        // Theme b (own delay 0.5) has gross 2·0.5·0.5 = 0.5, 2·(0.5 + 0.5·0.5) = 1.5, 2. Running
        // total: −0.95 + (0.5 − 1.95) = −2.4; + 1.25/1.1 + 0.75/1.1 = −0.58…; + 2·1.1/1.21 ≥ 0.
        assert_eq!(t.breakeven, Some(3));
        // Both themes share one extra delay x: theme a is on its first segment for x ≤ 1, theme b
        // (own 0.5) reaches S(1) at x = 0.5. With x ≤ 0.5 both are linear:
        // NPV(x) = 2·((1 − x)S0 + xS1) + 2·((0.5 − x)S0 + (0.5 + x)S1) − 2·PVC.
        let npv = |x: f64| {
            2.0 * ((1.0 - x) * S[0] + x * S[1]) + 2.0 * ((0.5 - x) * S[0] + (0.5 + x) * S[1])
                - 2.0 * PVC
        };
        assert!(npv(0.0) > 0.0 && npv(0.5) < 0.0);
        let x = npv(0.0) / (npv(0.0) - npv(0.5)) * 0.5;
        close("total exact", t.delay.exact_years, x);
        assert_eq!(t.delay.whole_years, 1);
    }
}

/// Delay-to-zero against a brute-force root: the NPV at each extra delay is recomputed from the
/// yearly flows of the delayed themes (`ThemeEval::compute` with the delay added to each
/// theme's own, which reads the delayed profile year by year and never the slid tables), and its
/// first zero is found by scanning and bisection.
#[cfg(test)]
mod brute_force_delay {
    use super::*;

    const H: usize = 6;

    fn df() -> Vec<f64> {
        (0..H).map(|t| 1.05f64.powi(-(t as i32))).collect()
    }

    /// Full benefit `gross` every year from year 1 (profile 1), a one-off cost `cost` in year 1.
    fn theme(own_delay: f64, gross: f64, cost: f64) -> ThemeInputs {
        let mut one_off = vec![0.0; H];
        one_off[0] = cost;
        ThemeInputs {
            delay_years: own_delay,
            ..ThemeInputs::plain(vec![1.0], gross, one_off, vec![0.0; H], 0.0)
        }
    }

    fn eval(t: &ThemeInputs) -> ThemeEval {
        let mut slid = Vec::new();
        slid_profile_pv(t, &df(), &mut slid);
        let mut e = ThemeEval::default();
        e.compute(t, &df(), &slid);
        e
    }

    /// NPV of the themes when each takes `x` years on top of its own delay, from their flows.
    fn npv_from_flows(themes: &[ThemeInputs], x: f64) -> f64 {
        themes
            .iter()
            .map(|t| {
                let mut d = t.clone();
                d.delay_years += x;
                eval(&d).npv
            })
            .sum()
    }

    /// First root of the NPV in the extra delay (scan by 1/64 year, then bisection) and the
    /// smallest whole extra delay ≥ 1 with NPV ≤ 0.
    fn brute(themes: &[ThemeInputs]) -> (f64, u32) {
        let f = |x: f64| npv_from_flows(themes, x);
        assert!(f(0.0) > 0.0);
        let mut hi = 0.0;
        while f(hi) > 0.0 {
            hi += 1.0 / 64.0;
        }
        let mut lo = hi - 1.0 / 64.0;
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if f(mid) > 0.0 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let whole = (1..=H as u32 + 1).find(|&k| f(k as f64) <= 0.0).unwrap();
        (0.5 * (lo + hi), whole)
    }

    #[test]
    fn one_theme_with_an_own_delay_over_a_year_and_a_root_past_the_first_whole_year() {
        // Own delay 1.5; a cost of 2.4 is left uncovered once about 3 years of the 6 are lost
        // (the PV of years 4–6 at 5% is 2.470), so the root is at an extra delay of about 1.5:
        // the whole-year figure must come from the NPV at extra delays 1 and 2 on the theme's
        // own path (total delays 2.5 and 3.5).
        let t = theme(1.5, 1.0, 2.4);
        let (root, whole) = brute(std::slice::from_ref(&t));
        assert!(root > 1.0 && root < 2.0, "{root}");
        let e = eval(&t);
        assert!(
            (e.delay.exact_years - root).abs() < 1e-9,
            "{:?} vs {root}",
            e.delay
        );
        assert_eq!((e.delay.whole_years, whole), (2, 2));
    }

    #[test]
    fn one_theme_whose_root_is_in_the_last_year_of_the_horizon() {
        // Own delay 0.5, benefit 1 a year, cost 0.5. At a total delay D in [5, 6] only year 6
        // keeps (6 − D) of its benefit (d6 = 1.05^-5 = 0.784), so the NPV is zero at
        // D = 6 − 0.5/0.784 ≈ 5.36, an extra delay of about 4.86: past the theme's last
        // breakpoint inside the horizon (extra 4.5, where year 6 still holds all its benefit) and
        // before the next (5.5). The search over the theme's own table must run to its end.
        let t = theme(0.5, 1.0, 0.5);
        let (root, whole) = brute(std::slice::from_ref(&t));
        assert!(root > 4.5 && root < 5.5, "{root}");
        let e = eval(&t);
        assert!(
            (e.delay.exact_years - root).abs() < 1e-9,
            "{:?} vs {root}",
            e.delay
        );
        assert_eq!((e.delay.whole_years, whole), (5, 5));
    }

    #[test]
    fn a_total_of_two_delay_phases_whose_root_is_in_the_last_year_of_the_horizon() {
        // Own delays 0 and 0.5 (two groups of kinks), benefits 1 a year each, cost 0.5: at an
        // extra delay of 5 only year 6 is left (theme a: d6 = 0.784, theme b half of it), at 5.5
        // theme a's half (0.392) < 0.5, so the root lies in (5, 5.5) and the whole-year figure
        // is 6: the search must keep the slid tables' entries up to the last year.
        let themes = [theme(0.0, 1.0, 0.25), theme(0.5, 1.0, 0.25)];
        let (root, whole) = brute(&themes);
        assert!(root > 5.0 && root < 5.5, "{root}");
        let evals: Vec<ThemeEval> = themes.iter().map(eval).collect();
        let mut t = TotalEval::default();
        t.compute(&evals, &[true, true]);
        assert!(
            (t.delay.exact_years - root).abs() < 1e-9,
            "{:?} vs {root}",
            t.delay
        );
        assert_eq!((t.delay.whole_years, whole), (6, 6));
    }

    /// A total's scratch space carries tables from one draw to the next; each draw must still
    /// see only its own: the same figures as a fresh scratch, in any order of draws with one,
    /// two or three groups of kinks.
    #[test]
    fn a_reused_total_gives_what_a_fresh_one_does() {
        // Each draw's themes as (own delay, benefit a year, one-off cost).
        let draws = [
            [(0.25, 1.0, 1.2), (0.5, 0.8, 1.1), (1.75, 1.5, 1.0)],
            [(0.5, 2.0, 3.0), (0.0, 1.0, 0.5), (1.5, 0.7, 0.2)],
            [(0.0, 1.0, 0.5), (1.0, 0.9, 1.5), (2.0, 1.1, 0.1)],
            [(0.3, 1.3, 2.0), (1.3, 0.6, 0.4), (0.7, 1.0, 0.9)],
        ]
        .map(|d| d.map(|(own, gross, cost)| theme(own, gross, cost)));
        let evals: Vec<Vec<ThemeEval>> =
            draws.iter().map(|d| d.iter().map(eval).collect()).collect();
        let mut reused = TotalEval::default();
        for order in [[0, 1, 2, 3], [3, 2, 1, 0], [1, 3, 0, 2]] {
            for i in order {
                reused.compute(&evals[i], &[true, true, true]);
                let mut fresh = TotalEval::default();
                fresh.compute(&evals[i], &[true, true, true]);
                assert_eq!(reused.delay, fresh.delay, "draw {i} after others");
                let (root, whole) = brute(&draws[i]);
                assert!(
                    (fresh.delay.exact_years - root).abs() < 1e-9,
                    "draw {i}: {root}"
                );
                assert_eq!(fresh.delay.whole_years, whole, "draw {i}");
            }
        }
    }

    /// The walk's last year: with tables that still hold benefit at the horizon's end (entry
    /// `h`, which `slid_profile_pv` never fills, but the search must not assume so), the root
    /// lies between the kinks of year `h + 1`, which the walk must reach.
    #[test]
    fn the_walk_reaches_the_kinks_of_the_year_past_the_horizon() {
        let h = 2;
        let eval = |own_delay: f64| ThemeEval {
            own_delay,
            slid_pv: vec![10.0, 10.0, 10.0],
            ..ThemeEval::default()
        };
        let both = [eval(0.0), eval(0.5)];
        // NPV −4 + A(x) + B(0.5 + x): 16 up to x = 1.5, then 11 at 2, 1 at 2.5 (A half gone, B
        // gone), −4 at 3: the root is 2.5 + 0.5·1/5 = 2.6, the first whole year 3.
        let paths = both.iter().map(ThemeEval::path);
        let d = delay_to_zero(paths, 4.0, 16.0, h, &mut DelayScratch::default());
        assert_eq!(d.whole_years, 3);
        assert!((d.exact_years - 2.6).abs() < 1e-12, "{d:?}");
    }

    /// Own delays beyond any horizon are no benefit at all, whatever their size: the phase stays
    /// in [0, 1), so the walk neither runs backwards nor loops. Before `own_parts`, a delay
    /// above 2^64 years gave a phase of thousands of years (or NaN for an infinite one).
    #[test]
    fn own_delays_beyond_any_horizon_leave_only_the_costs() {
        assert_eq!(own_parts(1.75), (1, 0.75));
        assert_eq!(own_parts(-3.0), (0, 0.0));
        assert_eq!(own_parts(f64::NAN), (0, 0.0));
        for own in [1e10, 2e19, 1e300, f64::INFINITY] {
            let whole = own.min(9_007_199_254_740_992.0) as usize;
            assert_eq!(own_parts(own), (whole, 0.0), "{own}");
            let far = ThemeEval {
                own_delay: own,
                slid_pv: vec![5.0, 4.0, 3.0],
                ..ThemeEval::default()
            };
            let near = ThemeEval {
                own_delay: 0.3,
                slid_pv: vec![5.0, 3.0, 1.0],
                ..ThemeEval::default()
            };
            // Only `near` has benefits: 0.7·5 + 0.3·3 − 2 = 2.4 at no extra delay, 3 − 2 = 1 at
            // its kink 0.7 and 1 − 2 = −1 at its next, 1.7: the root is 0.7 + 1·1/2 = 1.2.
            let d = delay_to_zero(
                [far, near].iter().map(ThemeEval::path),
                2.0,
                2.4,
                3,
                &mut DelayScratch::default(),
            );
            assert!((d.exact_years - 1.2).abs() < 1e-12, "{own}: {d:?}");
            assert_eq!(d.whole_years, 2, "{own}");
        }
    }

    #[test]
    fn a_total_of_three_phases_with_an_early_root() {
        // Own delays 0.25, 0.5 and 1.75, one year's worth of benefits each lost for about a
        // year: the root crosses kinks of all three groups.
        let themes = [
            theme(0.25, 1.0, 1.2),
            theme(0.5, 0.8, 1.1),
            theme(1.75, 1.5, 1.0),
        ];
        let (root, whole) = brute(&themes);
        let evals: Vec<ThemeEval> = themes.iter().map(eval).collect();
        let mut t = TotalEval::default();
        t.compute(&evals, &[true, true, true]);
        assert!(
            (t.delay.exact_years - root).abs() < 1e-9,
            "{:?} vs {root}",
            t.delay
        );
        assert_eq!(t.delay.whole_years, whole);
    }
}

#[cfg(test)]
mod blocks {
    use super::*;

    const H: usize = 5;

    fn df() -> Vec<f64> {
        discount_factors(&[0.035; H], 1)
    }

    /// Draw `j` of a block of 19 (two groups of eight side by side and three more, where the
    /// block loops take draws four or eight at a time): a rising profile, gross benefits, own
    /// delays (whole, fractional, past the horizon, none), cost uplifts, scaled costs and yearly
    /// costs that all differ from draw to draw.
    fn draw(j: usize) -> ThemeInputs {
        let x = j as f64;
        let k = (j % 7) as f64;
        let one_off = (0..H).map(|t| 0.1 * x + 0.05 * t as f64).collect();
        let ongoing = (0..H).map(|t| 0.02 * (x + t as f64)).collect();
        ThemeInputs {
            delay_years: [0.0, 0.3, 1.0, 1.7, 2.5, 6.2, 0.5][j % 7],
            optimism_bias_cost: 0.05 * x,
            realisation: 0.4 + 0.1 * k,
            partner_shares: vec![0.1 * k, 0.3, 0.7 - 0.1 * k],
            ..ThemeInputs::plain(vec![0.25, 0.5, 1.0], 3.0, one_off, ongoing, 0.2 + 0.01 * x)
        }
    }

    const M: usize = 19;

    fn eval(t: &ThemeInputs, unit: &[f64]) -> ThemeEval {
        let mut e = ThemeEval::default();
        e.compute(t, &df(), unit);
        e
    }

    /// The unit slid PVs of the draws' common profile.
    fn unit() -> Vec<f64> {
        let mut unit = Vec::new();
        slid_profile_pv(&draw(0), &df(), &mut unit);
        unit
    }

    /// Columns of the block: gross, scaled, uplift, delay, fixed costs (year by year).
    fn columns() -> [Vec<f64>; 5] {
        let d: Vec<ThemeInputs> = (0..M).map(draw).collect();
        let fixed = (0..H)
            .flat_map(|t| {
                d.iter()
                    .map(move |x| x.one_off_costs_bn[t] + x.ongoing_costs_bn[t])
            })
            .collect();
        [
            d.iter().map(ThemeInputs::full_gross_bn).collect(),
            d.iter().map(ThemeInputs::full_scaled_cost_bn).collect(),
            d.iter().map(|x| 1.0 + x.optimism_bias_cost).collect(),
            d.iter().map(|x| x.delay_years).collect(),
            fixed,
        ]
    }

    /// The breakeven years of a block as dispatched (AVX2 where the CPU has it) are those of
    /// the portable body, draw by draw: a block of 19 draws' yearly discounted net benefits,
    /// some breaking even in each year, some never.
    #[test]
    fn the_breakeven_block_is_the_portable_body() {
        let dn: Vec<f64> = (0..H * M)
            .map(|i| ((i * 7919) % 23) as f64 * 0.25 - 2.0 - 0.1 * (i % M) as f64)
            .collect();
        let (mut a, mut b) = ([9u32; M], [9u32; M]);
        breakeven_block(&dn, M, &mut [0.0; M], &mut a);
        breakeven_block_body(&dn, M, &mut [0.0; M], &mut b);
        assert_eq!(a, b);
        let never = a.iter().filter(|&&y| y == 0).count();
        assert!(never > 0 && never < M, "{a:?}");
        assert!(a.iter().any(|&y| y > 1), "{a:?}");
    }

    /// A block of draws gives each draw, bit for bit, what a block of one (`ThemeEval`) gives
    /// it: yearly gross benefits, costs and discounted net, NPV, PVs and breakeven year.
    #[test]
    fn a_theme_block_gives_each_draw_what_a_block_of_one_gives() {
        let [g, sc, up, delay, fixed] = columns();
        let cols = ThemeCols {
            gross: &g,
            scaled: &sc,
            uplift: &up,
            delay: &delay,
            fixed: &fixed,
        };
        let (mut npv, mut pvb, mut pvc) = ([0.0; M], [0.0; M], [0.0; M]);
        let (mut dn, mut gross, mut costs) = ([0.0; H * M], [0.0; H * M], [0.0; H * M]);
        let flows = ThemeFlows {
            npv: &mut npv,
            pv_benefits: &mut pvb,
            pv_costs: &mut pvc,
            discounted_net: &mut dn,
            gross: &mut gross,
            costs: &mut costs,
        };
        let profile = Padded::new(&draw(0).profile, H);
        theme_flows(
            &cols,
            &profile,
            &df(),
            flows,
            &mut Vec::new(),
            &mut Vec::new(),
        );
        let mut be = [9; M];
        breakeven_block(&dn, M, &mut [0.0; M], &mut be);
        let unit = unit();
        let mut never = 0;
        for j in 0..M {
            let e = eval(&draw(j), &unit);
            assert_eq!(npv[j].to_bits(), e.npv.to_bits(), "draw {j}");
            assert_eq!(pvb[j].to_bits(), e.pv_benefits.to_bits(), "draw {j}");
            assert_eq!(pvc[j].to_bits(), e.pv_costs.to_bits(), "draw {j}");
            for t in 0..H {
                assert_eq!(
                    dn[t * M + j].to_bits(),
                    e.discounted_net[t].to_bits(),
                    "{j} {t}"
                );
                assert_eq!(gross[t * M + j].to_bits(), e.gross[t].to_bits(), "{j} {t}");
                assert_eq!(costs[t * M + j].to_bits(), e.costs[t].to_bits(), "{j} {t}");
            }
            assert_eq!(be[j], e.breakeven.unwrap_or(0), "draw {j}");
            never += usize::from(e.breakeven.is_none());
        }
        // The draws differ, and some break even and some do not.
        assert!(npv.iter().any(|v| *v != npv[0]));
        assert!(never > 0 && never < M, "{never}");
    }

    /// One `ThemeEval` used for theme after theme gives what a fresh one gives each, whatever
    /// profile came before: another of the same length, a longer one sharing its first years, one
    /// differing in every year from the one before.
    #[test]
    fn a_reused_evaluation_lays_out_each_new_profile() {
        let profiles = [
            vec![0.25, 0.5, 1.0],
            vec![0.5, 1.0, 1.0],
            vec![0.5, 1.0, 1.0, 0.7],
            vec![0.3, 0.6, 0.9],
            vec![0.25, 0.5, 1.0],
        ];
        let mut reused = ThemeEval::default();
        for p in &profiles {
            let t = ThemeInputs {
                profile: p.clone(),
                delay_years: 0.5,
                ..draw(2)
            };
            let mut unit = Vec::new();
            slid_profile_pv(&t, &df(), &mut unit);
            reused.compute(&t, &df(), &unit);
            let fresh = eval(&t, &unit);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&reused.gross), bits(&fresh.gross), "{p:?}");
            assert_eq!(reused.npv.to_bits(), fresh.npv.to_bits(), "{p:?}");
        }
    }

    /// The headline total of a block, of one theme per draw and one the same for every draw,
    /// is each draw's `TotalEval` of the two; and the partners' block sums, with shares per
    /// draw or the same for all, are each draw's `add_partner_npvs`.
    #[test]
    fn a_total_block_and_the_partners_give_each_draw_what_a_block_of_one_gives() {
        let [g, _, _, delay, _] = columns();
        let unit = unit();
        let evals: Vec<ThemeEval> = (0..M).map(|j| eval(&draw(j), &unit)).collect();
        let fixed_theme = ThemeInputs {
            delay_years: 0.4,
            ..draw(3)
        };
        let constant = eval(&fixed_theme, &unit);
        let col = |f: fn(&ThemeEval) -> f64| -> Vec<f64> { evals.iter().map(f).collect() };
        let (npv, pvb, pvc) = (col(|e| e.npv), col(|e| e.pv_benefits), col(|e| e.pv_costs));
        let dn: Vec<f64> = (0..H)
            .flat_map(|t| evals.iter().map(move |e| e.discounted_net[t]))
            .collect();
        let moved = TotalPart {
            npv: &npv,
            pv_benefits: &pvb,
            pv_costs: &pvc,
            discounted_net: &dn,
            own_delay: &delay,
            gross: &g,
            unit: &unit,
            each: 1,
        };
        let mut block = TotalBlock::default();
        block.compute([moved, constant.part()].into_iter(), M, H);
        let mut found = 0;
        for (j, e) in evals.iter().enumerate() {
            let mut one = TotalEval::default();
            one.compute(&[e.clone(), constant.clone()], &[true, true]);
            assert_eq!(block.npv[j].to_bits(), one.npv.to_bits(), "draw {j}");
            assert_eq!(block.pv_benefits[j].to_bits(), one.pv_benefits.to_bits());
            assert_eq!(block.pv_costs[j].to_bits(), one.pv_costs.to_bits());
            for t in 0..H {
                let b = block.discounted_net[t * M + j];
                assert_eq!(b.to_bits(), one.discounted_net[t].to_bits(), "{j} {t}");
            }
            assert_eq!(block.breakeven[j], one.breakeven.unwrap_or(0), "draw {j}");
            assert_eq!(block.delay[j], one.delay, "draw {j}");
            found += usize::from(one.delay.exact_years > 0.0);
        }
        assert!(found > 0, "some draws have a delay-to-zero");
        // Partners: shares per draw (partner by partner), then the same shares for all.
        let shares: Vec<f64> = (0..3)
            .flat_map(|p| (0..M).map(move |j| draw(j).partner_shares[p]))
            .collect();
        let mut out = vec![0.5; 3 * M];
        add_partner_npvs_block(&mut out, M, &shares, 1, &npv);
        add_partner_npvs_block(&mut out, M, &[0.2, 0.3, 0.5], 0, &pvb);
        for j in 0..M {
            let mut one = [0.5; 3];
            add_partner_npvs(&mut one, &draw(j).partner_shares, npv[j]);
            add_partner_npvs(&mut one, &[0.2, 0.3, 0.5], pvb[j]);
            for p in 0..3 {
                assert_eq!(out[p * M + j].to_bits(), one[p].to_bits(), "{j} {p}");
            }
        }
    }
}
