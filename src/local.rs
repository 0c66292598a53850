//! Outcome-level themes: the cost-benefit method of local partnerships (HM Treasury / New
//! Economy, supplementary guidance to the Green Book, 2014; `sources/003_666873a7cca8adae.txt`,
//! "Cost-benefit analysis").
//!
//! A theme may list outcomes, each with a cohort, engagement rate, impact (success) rate,
//! deadweight, values per successful member per year by value type (fiscal cashable, fiscal
//! non-cashable, economic, social), a lag before benefits start, a persistence and a yearly
//! drop-off, the share of its fiscal value each agency receives, and an optimism-bias correction
//! (stated directly, or by a data confidence grade looked up in the model's own table).
//!
//! Such a theme is *compiled* into the theme-level representation the kernel evaluates
//! ([`compile`]): its fiscal benefits by year become the theme's gross benefit level and profile,
//! its activity-scaled cost becomes part of its ongoing costs, and its partner shares become each
//! agency's share of the fiscal value. The kernel therefore computes, unchanged, the financial
//! case (fiscal benefits against costs): its NPV, present values, delay-to-zero and the payback
//! (breakeven) year. [`LocalEval`] adds what the local method reports besides: the public value
//! (fiscal + economic + social) NPV and benefit-cost ratio, the financial return on investment,
//! and each agency's net present budget impact (its cashable fiscal benefits less its share of
//! the costs). Themes without outcomes (the 2013 model) are not touched.
//!
//! Conventions:
//! - the theme's `profile` is the share of each outcome's cohort engaged in each year (intake);
//!   members engaged in year `s` succeed at `impact × (1 − deadweight)` and yield their values
//!   from year `s + lag` for `persistence_years` years, falling by `drop_off` a year; a
//!   fractional lag or persistence is linear between whole years;
//! - optimism bias lowers every value of the outcome by its correction;
//! - the theme's `delay_years` delays all its benefit streams (the report's scenario 3), costs
//!   unchanged, as for any theme;
//! - money: values per member are in £ (`_gbp`); theme-level amounts are in £bn.

use crate::kernel::{add_partner_npvs, delay_parts, slid};
use crate::model::{Param, ThemeInputs};

/// The four value types of the local method.
pub const VALUE_TYPES: [&str; 4] = [
    "fiscal_cashable_gbp",
    "fiscal_non_cashable_gbp",
    "economic_gbp",
    "social_gbp",
];

/// One outcome of a theme, with parameters per scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeSpec {
    pub id: String,
    pub name: String,
    pub cohort: Param<f64>,
    pub engagement: Param<f64>,
    pub impact: Param<f64>,
    pub deadweight: Param<f64>,
    /// £ per successful member per year, in the order of [`VALUE_TYPES`].
    pub values: [Param<f64>; 4],
    pub lag_years: Param<f64>,
    pub persistence_years: Param<f64>,
    pub drop_off: Param<f64>,
    /// The data confidence grade the correction came from, if any.
    pub confidence: Option<String>,
    pub optimism_bias: Param<f64>,
    /// Share of the fiscal value per partner, aligned with the model's partners; sums to 1.
    pub agency_shares: Param<Vec<f64>>,
}

/// The outcome part of a theme.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSpec {
    pub outcomes: Vec<OutcomeSpec>,
    /// Share of the theme's costs each partner bears, aligned with the model's partners.
    pub cost_shares: Param<Vec<f64>>,
}

/// One outcome resolved for one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeInputs {
    pub cohort: f64,
    pub engagement: f64,
    pub impact: f64,
    pub deadweight: f64,
    pub values: [f64; 4],
    pub lag_years: f64,
    pub persistence_years: f64,
    pub drop_off: f64,
    pub optimism_bias: f64,
    pub agency_shares: Vec<f64>,
}

/// A theme's outcome inputs for one scenario (what distributions move) and the yearly streams
/// compiled from them.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalTheme {
    /// Share of each cohort engaged per year (the theme's `profile` as written).
    pub intake: Vec<f64>,
    /// Fixed ongoing costs as written, £bn by year (the compiled theme adds the scaled cost).
    pub ongoing_costs_bn: Vec<f64>,
    /// Activity-scaled cost as written: £bn if the whole cohort were engaged in one year.
    pub scaled_cost_bn: f64,
    pub outcomes: Vec<OutcomeInputs>,
    pub cost_shares: Vec<f64>,
    /// Compiled, £bn by year before any delay: fiscal benefits (all agencies) ...
    pub fiscal: Vec<f64>,
    /// ... economic plus social benefits ...
    pub public_extra: Vec<f64>,
    /// ... and cashable fiscal benefits per partner (partner-major, `h` years each).
    pub cashable: Vec<f64>,
}

impl LocalSpec {
    /// Resolve scenario `s`; `theme_profile` and `ongoing` are the theme's own resolved lists.
    pub fn inputs(
        &self,
        s: usize,
        intake: Vec<f64>,
        ongoing_costs_bn: Vec<f64>,
        scaled_cost_bn: f64,
    ) -> LocalTheme {
        LocalTheme {
            intake,
            ongoing_costs_bn,
            scaled_cost_bn,
            outcomes: self
                .outcomes
                .iter()
                .map(|o| OutcomeInputs {
                    cohort: o.cohort.get(s),
                    engagement: o.engagement.get(s),
                    impact: o.impact.get(s),
                    deadweight: o.deadweight.get(s),
                    values: [
                        o.values[0].get(s),
                        o.values[1].get(s),
                        o.values[2].get(s),
                        o.values[3].get(s),
                    ],
                    lag_years: o.lag_years.get(s),
                    persistence_years: o.persistence_years.get(s),
                    drop_off: o.drop_off.get(s),
                    optimism_bias: o.optimism_bias.get(s),
                    agency_shares: o.agency_shares.get(s),
                })
                .collect(),
            cost_shares: self.cost_shares.get(s),
            fiscal: Vec::new(),
            public_extra: Vec::new(),
            cashable: Vec::new(),
        }
    }
}

impl LocalTheme {
    /// Overwrite with `other` (same model). A derived `clone_from`: it allocates the copy's vectors
    /// anew (a run's draws restore only the share lists they rescale, without allocating).
    pub fn copy_from(&mut self, other: &LocalTheme) {
        self.clone_from(other);
    }
}

/// The weight, in year `k` after engagement (`k = 0` the year of engagement), of one successful
/// member's yearly value: `(1 − drop_off)^j` in the `j`-th year of benefit (`j = k − lag`) while
/// `j < persistence`, linear between whole years for a fractional lag or persistence.
pub fn benefit_weight(k: usize, lag: f64, persistence: f64, drop_off: f64) -> f64 {
    let a = |j: i64| -> f64 {
        if j < 0 {
            return 0.0;
        }
        let last = (persistence - j as f64).clamp(0.0, 1.0);
        if last == 0.0 {
            0.0
        } else {
            (1.0 - drop_off).powi(j as i32) * last
        }
    };
    let (whole, f) = delay_parts(lag.max(0.0));
    slid(a, k as i64, whole, f)
}

/// Compile a theme's outcomes into its theme-level inputs (no-op for a theme without them):
/// gross benefit level = the largest yearly fiscal benefit, profile = each year's fiscal benefit
/// as a share of it, ongoing costs = fixed ongoing costs + scaled cost × intake, partner shares =
/// each partner's share of the fiscal benefits over the horizon.
pub fn compile(t: &mut ThemeInputs) {
    let Some(l) = t.local.as_deref_mut() else {
        return;
    };
    let h = l.ongoing_costs_bn.len();
    let n_p = l.cost_shares.len();
    l.fiscal.clear();
    l.fiscal.resize(h, 0.0);
    l.public_extra.clear();
    l.public_extra.resize(h, 0.0);
    l.cashable.clear();
    l.cashable.resize(h * n_p, 0.0);
    let intake_at = |s: usize| -> f64 {
        // Years past the listed ones hold the last value, as for any profile.
        l.intake[s.min(l.intake.len() - 1)]
    };
    let mut by_partner = vec![0.0; n_p];
    for o in &l.outcomes {
        let successes = o.cohort * o.engagement * o.impact * (1.0 - o.deadweight);
        // £ to £bn, after optimism bias.
        let scale = successes * (1.0 - o.optimism_bias) * 1e-9;
        for t_ in 0..h {
            // Members engaged in year s (0-based) yield in year t_ with weight w(t_ − s).
            let mut w = 0.0;
            for s in 0..=t_ {
                w += intake_at(s)
                    * benefit_weight(t_ - s, o.lag_years, o.persistence_years, o.drop_off);
            }
            let unit = scale * w;
            let cashable = unit * o.values[0];
            let fiscal = cashable + unit * o.values[1];
            l.fiscal[t_] += fiscal;
            l.public_extra[t_] += unit * (o.values[2] + o.values[3]);
            for (p, share) in o.agency_shares.iter().enumerate() {
                l.cashable[p * h + t_] += cashable * share;
                by_partner[p] += fiscal * share;
            }
        }
    }
    let g = l.fiscal.iter().copied().fold(0.0, f64::max);
    t.cohort = None;
    t.engagement = 1.0;
    t.realisation = 1.0;
    t.cashability = 1.0;
    t.optimism_bias_benefit = 0.0;
    t.gross_benefit = g;
    t.profile.clear();
    t.profile
        .extend(l.fiscal.iter().map(|f| if g > 0.0 { f / g } else { 0.0 }));
    t.scaled_cost = 0.0;
    for (i, c) in t.ongoing_costs_bn.iter_mut().enumerate() {
        *c = l.ongoing_costs_bn[i] + l.scaled_cost_bn * intake_at(i);
    }
    let total: f64 = by_partner.iter().sum();
    for (p, s) in t.partner_shares.iter_mut().enumerate() {
        *s = if total > 0.0 {
            by_partner[p] / total
        } else {
            l.cost_shares[p]
        };
    }
}

/// Present value of a yearly stream (index 0 = year 1) delayed by `delay` years, linear within a
/// year (the kernel's convention for benefits).
fn pv_delayed(stream: &[f64], df: &[f64], delay: f64) -> f64 {
    let (k, f) = delay_parts(delay.max(0.0));
    // Year `j` (1-based) of the stream; nothing before year 1 or past its end.
    let at = |j: i64| -> f64 {
        if j < 1 {
            0.0
        } else {
            stream.get(j as usize - 1).copied().unwrap_or(0.0)
        }
    };
    df.iter()
        .enumerate()
        .map(|(i, d)| d * slid(at, i as i64 + 1, k, f))
        .sum()
}

/// Measures of the local method per entity (themes, then the headline total), in column order.
pub const LOCAL_MEASURES: [&str; 3] = ["public_value_npv", "public_value_bcr", "roi"];

/// The local method's measures of one evaluation.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct LocalEval {
    /// Per entity (themes, then total): PV of public value (fiscal + economic + social).
    pub pv_public: Vec<f64>,
    /// Per entity: public value NPV (PV of public value − PV of costs).
    pub public_npv: Vec<f64>,
    /// Per entity: public value benefit-cost ratio (PV of public value / PV of costs).
    pub bcr: Vec<f64>,
    /// Per entity: financial return on investment ((PV of fiscal benefits − PV of costs) / PV
    /// of costs).
    pub roi: Vec<f64>,
    /// Per partner: net present budget impact over the headline themes (PV of its cashable
    /// fiscal benefits − its share of the PV of costs; for a theme without outcomes, its share
    /// of the NPV).
    pub budget_impact: Vec<f64>,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { f64::NAN }
}

impl LocalEval {
    /// Compute from a draw's compiled inputs and the kernel's per-theme figures (`npv`,
    /// `pv_benefits`, `pv_costs` per theme). A ratio over zero costs is NaN (no costs, no
    /// ratio).
    pub fn compute(
        &mut self,
        themes: &[ThemeInputs],
        headline: &[bool],
        df: &[f64],
        kernel: impl Fn(usize) -> (f64, f64, f64),
        n_partners: usize,
    ) {
        let n = themes.len();
        for v in [
            &mut self.pv_public,
            &mut self.public_npv,
            &mut self.bcr,
            &mut self.roi,
        ] {
            v.clear();
        }
        self.budget_impact.clear();
        self.budget_impact.resize(n_partners, 0.0);
        let (mut tp, mut tb, mut tc) = (0.0, 0.0, 0.0);
        for (ti, th) in themes.iter().enumerate() {
            let (npv, pvb, pvc) = kernel(ti);
            let pv_public = match th.local.as_deref() {
                Some(l) => pvb + pv_delayed(&l.public_extra, df, th.delay_years),
                None => pvb,
            };
            self.push(pv_public, pvb, pvc);
            if headline[ti] {
                tp += pv_public;
                tb += pvb;
                tc += pvc;
                match th.local.as_deref() {
                    Some(l) => {
                        let h = df.len();
                        for p in 0..n_partners {
                            self.budget_impact[p] +=
                                pv_delayed(&l.cashable[p * h..(p + 1) * h], df, th.delay_years)
                                    - l.cost_shares[p] * pvc;
                        }
                    }
                    None => add_partner_npvs(&mut self.budget_impact, &th.partner_shares, npv),
                }
            }
        }
        self.push(tp, tb, tc);
        debug_assert_eq!(self.pv_public.len(), n + 1);
    }

    fn push(&mut self, pv_public: f64, pvb: f64, pvc: f64) {
        self.pv_public.push(pv_public);
        self.public_npv.push(pv_public - pvc);
        self.bcr.push(ratio(pv_public, pvc));
        self.roi.push(ratio(pvb - pvc, pvc));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benefit_weights_follow_lag_persistence_and_drop_off() {
        // Lag 1, three years, 20% drop-off: 0, 1, 0.8, 0.64, 0.
        let w: Vec<f64> = (0..5).map(|k| benefit_weight(k, 1.0, 3.0, 0.2)).collect();
        let want = [0.0, 1.0, 0.8, 0.8 * 0.8, 0.0];
        for (a, b) in w.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{w:?}");
        }
        // Half a year of lag is halfway between lag 0 and lag 1.
        for k in 0..5 {
            let m = benefit_weight(k, 0.5, 3.0, 0.2);
            let e = 0.5 * benefit_weight(k, 0.0, 3.0, 0.2) + 0.5 * benefit_weight(k, 1.0, 3.0, 0.2);
            assert!((m - e).abs() < 1e-15);
        }
        // Two and a half years of persistence: the third year counts half.
        assert!((benefit_weight(2, 0.0, 2.5, 0.0) - 0.5).abs() < 1e-15);
        assert_eq!(benefit_weight(3, 0.0, 2.5, 0.0), 0.0);
    }

    #[test]
    fn pv_delayed_slides_the_stream_linearly() {
        let df = [1.0, 0.5, 0.25];
        let s = [4.0, 2.0, 0.0];
        assert_eq!(pv_delayed(&s, &df, 0.0), 4.0 + 1.0);
        assert_eq!(pv_delayed(&s, &df, 1.0), 2.0 + 0.5);
        assert_eq!(pv_delayed(&s, &df, 0.5), 0.5 * 5.0 + 0.5 * 2.5);
    }
}
