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

use crate::model::{DelayToZero, ThemeInputs};

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
    /// Full-potential gross benefit, £bn a year.
    pub gross_full: f64,
    /// The theme's own delay.
    pub own_delay: f64,
    /// `g·S(K)`, K = 0..h: PV of benefits with the profile slid by K whole years.
    pub slid_pv: Vec<f64>,
}

impl ThemeEval {
    /// Evaluate `theme` under discount factors `df`, given its slid profile PVs from
    /// [`slid_profile_pv`] (for the same profile and factors).
    pub fn compute(&mut self, theme: &ThemeInputs, df: &[f64], slid_unit: &[f64]) {
        let h = df.len();
        let g = theme.full_gross_bn();
        let scaled = theme.full_scaled_cost_bn();
        let uplift = 1.0 + theme.optimism_bias_cost;
        self.gross.clear();
        self.costs.clear();
        self.discounted_net.clear();
        let (mut npv, mut pvb, mut pvc) = (0.0, 0.0, 0.0);
        for (i, d) in df.iter().enumerate() {
            let t = i + 1;
            let gross = g * theme.delayed_profile(t, theme.delay_years);
            let cost = (theme.one_off_costs_bn[i] + theme.ongoing_costs_bn[i]) * uplift
                + scaled * theme.profile_at(t as i64);
            let dn = (gross - cost) * d;
            self.gross.push(gross);
            self.costs.push(cost);
            self.discounted_net.push(dn);
            npv += dn;
            pvb += gross * d;
            pvc += cost * d;
        }
        self.npv = npv;
        self.pv_benefits = pvb;
        self.pv_costs = pvc;
        self.net_annual = g - (theme.ongoing_costs_bn[h - 1] * uplift + scaled);
        self.gross_full = g;
        self.own_delay = theme.delay_years;
        self.slid_pv.clear();
        self.slid_pv.extend(slid_unit.iter().map(|s| g * s));
        self.breakeven = breakeven(&self.discounted_net);
        self.delay = delay_to_zero(
            Themes {
                themes: std::slice::from_ref(self),
                mask: None,
            },
            pvc,
            npv,
            h,
        );
    }

    /// Present value of benefits with `extra` years of delay on top of the theme's own.
    pub fn pv_benefits_delayed(&self, extra: f64) -> f64 {
        pv_at(&self.slid_pv, self.own_delay + extra)
    }
}

/// `g·((1 − f)·S(K) + f·S(K + 1))` at total delay `delay = K + f`, from the table `g·S(K)`.
fn pv_at(slid: &[f64], delay: f64) -> f64 {
    // Delays are ≥ 0 (validated; a hair below 0 only by rounding, clamped), so truncation is the
    // floor, without a call to `floor`.
    let delay = delay.max(0.0);
    let k = delay as usize;
    let f = delay - k as f64;
    let s = |j: usize| -> f64 { slid.get(j).copied().unwrap_or(0.0) };
    (1.0 - f) * s(k) + f * s(k + 1)
}

/// The themes a delay search covers: all of `themes`, or those whose `mask` entry is set.
#[derive(Clone, Copy)]
pub struct Themes<'a> {
    pub themes: &'a [ThemeEval],
    pub mask: Option<&'a [bool]>,
}

impl<'a> Themes<'a> {
    fn iter(self) -> impl Iterator<Item = &'a ThemeEval> {
        let mask = self.mask;
        self.themes
            .iter()
            .enumerate()
            .filter(move |(i, _)| mask.is_none_or(|m| m[*i]))
            .map(|(_, t)| t)
    }
}

/// The NPV of a set of themes when each takes `extra` years of delay on top of its own.
fn npv_delayed(themes: Themes, pv_costs: f64, extra: f64) -> f64 {
    let mut v = -pv_costs;
    for t in themes.iter() {
        v += t.pv_benefits_delayed(extra);
    }
    v
}

/// Delay-to-zero of a set of themes taking the same extra delay, whose costs have present value
/// `pv_costs` and whose NPV at no extra delay is `npv0`; `h` is the horizon.
///
/// The NPV is piecewise linear in the extra delay `x`, with a kink wherever some theme's total
/// delay `own + x` is a whole number. The breakpoints are visited in increasing order (a merge of
/// each theme's `K + 1 − own`, `K + 2 − own`, …); the root lies between the last breakpoint with a
/// positive NPV and the first with NPV ≤ 0, where the path is linear, so linear interpolation
/// there is exact. The whole-year figure is the smallest whole extra delay with NPV ≤ 0. At an
/// extra delay of `h` years no benefit is left in the horizon, which bounds both searches.
pub fn delay_to_zero(themes: Themes, pv_costs: f64, npv0: f64, h: usize) -> DelayToZero {
    if npv0 <= 0.0 {
        return DelayToZero {
            whole_years: 0,
            exact_years: 0.0,
        };
    }
    let end = h as f64 + 1.0;
    let mut sel = themes.iter();
    if let (Some(t), None) = (sel.next(), sel.next()) {
        return delay_to_zero_one(t, pv_costs, npv0, h);
    }
    // Exact root: walk the breakpoints. Each theme's next kink is at `floor(own + x) + 1 − own`.
    let next_kink = |x: f64| -> f64 {
        let mut best = end;
        for t in themes.iter() {
            let total = t.own_delay + x;
            let mut k = (total as u64) as f64 + 1.0 - t.own_delay;
            // Rounding can put `own + x` a hair below a whole number we already passed.
            if k <= x {
                k += 1.0;
            }
            best = best.min(k);
        }
        best
    };
    let (mut x0, mut v0) = (0.0, npv0);
    let exact = loop {
        let x1 = next_kink(x0);
        let v1 = npv_delayed(themes, pv_costs, x1);
        if v1 <= 0.0 {
            // Linear on [x0, x1]: the root of v0 + (v1 − v0)·s/(x1 − x0).
            break x0 + (x1 - x0) * v0 / (v0 - v1);
        }
        if x1 >= end {
            // Unreachable with non-negative costs (no benefit remains), but stay total.
            break end;
        }
        x0 = x1;
        v0 = v1;
    };
    // Whole years: the NPV is positive before the first root, so the first whole year with
    // NPV ≤ 0 is not before it (from its floor, in case rounding put the root a hair past a
    // whole year where the NPV is already 0).
    let from = (exact.floor() as u32).max(1);
    let whole = (from..=h as u32 + 1)
        .find(|&k| npv_delayed(themes, pv_costs, k as f64) <= 0.0)
        .unwrap_or(h as u32 + 1);
    DelayToZero {
        whole_years: whole,
        exact_years: exact,
    }
}

/// [`delay_to_zero`] of one theme: its kinks are at the whole total delays `K > own`, where the
/// PV of benefits is the table entry `g·S(K)` itself.
fn delay_to_zero_one(t: &ThemeEval, pv_costs: f64, npv0: f64, h: usize) -> DelayToZero {
    let own = t.own_delay.max(0.0);
    let k0 = own as usize;
    let (mut x0, mut v0) = (0.0, npv0);
    let mut exact = h as f64 + 1.0;
    for k in k0 + 1..=k0 + h + 1 {
        let x1 = k as f64 - own;
        let v1 = t.slid_pv.get(k).copied().unwrap_or(0.0) - pv_costs;
        if v1 <= 0.0 {
            exact = x0 + (x1 - x0) * v0 / (v0 - v1);
            break;
        }
        x0 = x1;
        v0 = v1;
    }
    let from = (exact.floor() as u32).max(1);
    let whole = (from..=h as u32 + 1)
        .find(|&k| t.pv_benefits_delayed(k as f64) - pv_costs <= 0.0)
        .unwrap_or(h as u32 + 1);
    DelayToZero {
        whole_years: whole,
        exact_years: exact,
    }
}

/// First year (1-based) whose cumulative discounted net benefit is ≥ 0.
pub fn breakeven(discounted_net: &[f64]) -> Option<u32> {
    let mut cum = 0.0;
    for (i, v) in discounted_net.iter().enumerate() {
        cum += v;
        if cum >= 0.0 {
            return Some(i as u32 + 1);
        }
    }
    None
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
}

impl TotalEval {
    /// Sum the headline themes (`headline[t]`) of `themes`.
    pub fn compute(&mut self, themes: &[ThemeEval], headline: &[bool]) {
        let sel = Themes {
            themes,
            mask: Some(headline),
        };
        let h = themes.first().map(|e| e.discounted_net.len()).unwrap_or(0);
        self.discounted_net.clear();
        self.discounted_net.resize(h, 0.0);
        let (mut npv, mut pvb, mut pvc) = (0.0, 0.0, 0.0);
        for e in sel.iter() {
            for (a, b) in self.discounted_net.iter_mut().zip(&e.discounted_net) {
                *a += b;
            }
            npv += e.npv;
            pvb += e.pv_benefits;
            pvc += e.pv_costs;
        }
        self.npv = npv;
        self.pv_benefits = pvb;
        self.pv_costs = pvc;
        self.breakeven = breakeven(&self.discounted_net);
        self.delay = delay_to_zero(sel, pvc, npv, h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Inputs, Partner, discount_factors, evaluate};

    fn theme(profile: Vec<f64>, gross: f64, one_off: Vec<f64>, delay: f64) -> ThemeInputs {
        let n = one_off.len();
        ThemeInputs {
            addressable_spend_bn: 10.0,
            profile,
            delay_years: delay,
            cohort: None,
            engagement: 1.0,
            gross_benefit: gross,
            realisation: 1.0,
            cashability: 1.0,
            optimism_bias_benefit: 0.0,
            optimism_bias_cost: 0.1,
            one_off_costs_bn: one_off,
            ongoing_costs_bn: vec![0.05; n],
            scaled_cost: 0.3,
            partner_shares: vec![1.0],
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
        let df = discount_factors(&[0.035; 5], 1);
        let a = theme(
            vec![0.3, 0.7, 1.0, 1.0, 1.0],
            2.0,
            vec![1.0, 0.2, 0.0, 0.0, 0.0],
            0.3,
        );
        let b = theme(
            vec![0.1, 0.4, 0.9, 1.0, 1.0],
            3.0,
            vec![0.5, 0.5, 0.5, 0.0, 0.0],
            1.7,
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
        let npv = |x: f64| npv_at_delay(&a, &df, 0.3 + x) + npv_at_delay(&b, &df, 1.7 + x);
        assert!((e.total.npv - npv(0.0)).abs() < 1e-12);
        assert!(npv(x).abs() <= 1e-9 * e.total.pv_benefits, "{}", npv(x));
        let mut s = 0.0;
        while s < x - 1e-3 {
            assert!(npv(s) > 0.0);
            s += 1e-3;
        }
        let whole = (1..=7).find(|&k| npv(k as f64) <= 0.0).unwrap();
        assert_eq!(e.total.delay_to_zero.whole_years, whole);
    }
}
