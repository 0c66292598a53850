//! The deterministic NPV model: validated domain types and one evaluation.
//!
//! This module owns the arithmetic of a business case of the Whole Place Community Budgets shape
//! (themes with a benefit ramp-up profile, costs, partner shares) and nothing else: it never reads
//! files, never prints and never exits. Values reach it already validated by [`crate::format`];
//! a [`ModelSpec`] holds every parameter per scenario and [`ModelSpec::inputs`] resolves one scenario
//! into plain numbers ([`Inputs`]) that the Monte Carlo engine perturbs draw by draw.
//!
//! Money is in £bn throughout (the canonical unit: a model file's amounts are converted from its
//! `money_unit` when read, see [`crate::money`]), except the per-member amounts whose names end
//! in `_gbp` (£).
//!
//! Conventions (chosen because they reproduce the published yearly rows of
//! `sources/000_25c48aa7d4c44639.txt`, §6.2–6.4; see ARCHITECTURE.md):
//! - year 1 is the price-base year (2012-13) and is undiscounted: the discount factor of year `t`
//!   is `1 / Π_{j=2..t} (1 + r_j)` (with a constant rate, `1/(1+r)^(t-1)`);
//! - the profile is the share of full potential activity in each year; both the gross benefits and
//!   the costs that scale with activity follow it; years past the listed ones hold the last value;
//! - a delay slides the *benefit* stream later by `d` years (linear within a year), costs unchanged
//!   (the report's scenario 3);
//! - optimism bias lowers benefits by `optimism_bias_benefit` and raises every cost line by
//!   `optimism_bias_cost`.

use crate::kernel::{ThemeEval, TotalEval, add_partner_npvs, discount_factors, slid_profile_pv};
use crate::local::{LocalEval, LocalSpec, LocalTheme};

/// Whether a partner's budget is a Departmental Expenditure Limit or Annually Managed Expenditure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BudgetClass {
    /// Departmental Expenditure Limit (controlled budgets).
    Del,
    /// Annually Managed Expenditure (demand-led, e.g. social security).
    Ame,
}

impl BudgetClass {
    /// Short label as used in the report.
    pub fn label(self) -> &'static str {
        match self {
            BudgetClass::Del => "DEL",
            BudgetClass::Ame => "AME",
        }
    }
}

/// A department (or the explicit "unallocated" remainder) that receives a share of net benefit.
#[derive(Debug, Clone, PartialEq)]
pub struct Partner {
    /// Short identifier used in files and paths (e.g. `DH`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Budget class and annual budget in £bn; `None` for a remainder with no budget.
    pub budget: Option<(BudgetClass, f64)>,
}

/// A value that is either the same in every scenario or given per scenario (in scenario order).
#[derive(Debug, Clone, PartialEq)]
pub enum Param<T> {
    /// Same value in every scenario.
    Same(T),
    /// One value per scenario, in the order of [`ModelSpec::scenarios`].
    PerScenario(Vec<T>),
}

impl<T: Clone> Param<T> {
    /// The value in scenario number `s`.
    pub fn get(&self, s: usize) -> T {
        match self {
            Param::Same(v) => v.clone(),
            Param::PerScenario(vs) => vs[s].clone(),
        }
    }
}

/// How a theme's full-potential gross benefit is stated.
#[derive(Debug, Clone, PartialEq)]
pub enum BenefitBasis {
    /// A theme-level annual gross benefit at full realisation, £bn.
    Total { gross_benefit_bn: Param<f64> },
    /// Cohort × engagement share × benefit per engaged member (£).
    PerMember {
        cohort: Param<f64>,
        engagement: Param<f64>,
        benefit_per_engaged_gbp: Param<f64>,
    },
}

/// How a theme's activity-scaled annual cost is stated (it follows the profile).
#[derive(Debug, Clone, PartialEq)]
pub enum ScaledCost {
    /// Annual cost at full activity, £bn.
    Total(Param<f64>),
    /// Annual cost per engaged member, £ (needs a [`BenefitBasis::PerMember`] cohort).
    PerEngaged(Param<f64>),
}

/// One theme of the model, with parameters per scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeSpec {
    pub id: String,
    pub name: String,
    /// Indicative themes are evaluated and reported but left out of headline totals.
    pub indicative: bool,
    pub addressable_spend_bn: Param<f64>,
    /// Share of full potential per year (listed years; later years hold the last value).
    pub profile: Param<Vec<f64>>,
    pub delay_years: Param<f64>,
    pub benefit: BenefitBasis,
    pub realisation: Param<f64>,
    pub cashability: Param<f64>,
    pub optimism_bias_benefit: Param<f64>,
    pub optimism_bias_cost: Param<f64>,
    /// One-off costs by year, £bn (length = horizon).
    pub one_off_costs_bn: Param<Vec<f64>>,
    /// Fixed ongoing costs by year, £bn (length = horizon; steady state = last year).
    pub ongoing_costs_bn: Param<Vec<f64>>,
    pub scaled_cost: ScaledCost,
    /// Share of net benefit per partner, aligned with [`ModelSpec::partners`]; sums to 1.
    pub partner_shares: Param<Vec<f64>>,
    /// The theme's outcomes, when it is stated outcome by outcome ([`crate::local`]).
    pub local: Option<LocalSpec>,
}

impl ThemeSpec {
    /// Whether the theme states no cost at all in scenario `s`: its one-off and ongoing costs and
    /// its activity-scaled cost (or cost per engaged member) all absent or 0.
    pub fn has_no_costs_in(&self, s: usize) -> bool {
        let scaled = match &self.scaled_cost {
            ScaledCost::Total(p) | ScaledCost::PerEngaged(p) => p.get(s),
        };
        scaled == 0.0
            && self.one_off_costs_bn.get(s).iter().all(|v| *v == 0.0)
            && self.ongoing_costs_bn.get(s).iter().all(|v| *v == 0.0)
    }
}

/// A validated model: the only way to build one is through [`crate::format`].
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub price_base: String,
    pub horizon_years: usize,
    /// Discount rate applied between year `t-1` and `t`, per year (index 0 unused when year 1 is
    /// the undiscounted year).
    pub discount_rates: Vec<f64>,
    /// The year whose discount factor is 1 (1-based).
    pub undiscounted_year: usize,
    pub scenarios: Vec<String>,
    /// The unit the model file writes its amounts in. Every amount held here is already in £bn
    /// (converted when the file was read); the unit says how to read a distribution's or a fixed
    /// value's amounts of money, and is what the model's author reasons in.
    pub money_unit: crate::money::MoneyUnit,
    pub partners: Vec<Partner>,
    pub themes: Vec<ThemeSpec>,
}

/// One theme's parameters resolved for one scenario: plain numbers the engine can perturb.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeInputs {
    pub addressable_spend_bn: f64,
    pub profile: Vec<f64>,
    pub delay_years: f64,
    /// `None` when the benefit is stated at theme level.
    pub cohort: Option<f64>,
    /// Volume of activity relative to the model's (1 = as modelled): multiplies the gross benefit
    /// and the activity-scaled cost, the way a cohort does. Only a distribution moves it (path
    /// `volume_factor` of a theme stated at theme level, which has no cohort to sample).
    pub volume: f64,
    pub engagement: f64,
    /// £bn at theme level, or £ per engaged member when `cohort` is set.
    pub gross_benefit: f64,
    pub realisation: f64,
    pub cashability: f64,
    pub optimism_bias_benefit: f64,
    pub optimism_bias_cost: f64,
    pub one_off_costs_bn: Vec<f64>,
    pub ongoing_costs_bn: Vec<f64>,
    /// £bn at full activity, or £ per engaged member when `cohort` is set.
    pub scaled_cost: f64,
    pub partner_shares: Vec<f64>,
    /// The outcome inputs of a theme stated outcome by outcome; the fields above are then
    /// compiled from them ([`crate::local::compile`]).
    pub local: Option<Box<LocalTheme>>,
}

impl ThemeInputs {
    /// The numbers its full-potential gross benefit and scaled cost are made of.
    pub fn amounts(&self) -> Amounts {
        Amounts {
            cohort: self.cohort,
            volume: self.volume,
            engagement: self.engagement,
            gross_benefit: self.gross_benefit,
            realisation: self.realisation,
            cashability: self.cashability,
            optimism_bias_benefit: self.optimism_bias_benefit,
            optimism_bias_cost: self.optimism_bias_cost,
            scaled_cost: self.scaled_cost,
        }
    }

    /// Full-potential annual gross benefit after realisation, cashability and optimism bias, £bn.
    pub fn full_gross_bn(&self) -> f64 {
        self.amounts().full_gross_bn()
    }

    /// Activity-scaled annual cost at full activity, after optimism bias, £bn.
    pub fn full_scaled_cost_bn(&self) -> f64 {
        self.amounts().full_scaled_cost_bn()
    }

    /// Profile value for (1-based, possibly fractional-free) year `j`: 0 before year 1, the last
    /// listed value after the list.
    pub(crate) fn profile_at(&self, j: i64) -> f64 {
        if j < 1 {
            0.0
        } else {
            let i = (j as usize - 1).min(self.profile.len() - 1);
            self.profile[i]
        }
    }

    /// Share of full benefit in year `t` (1-based) when benefits slide by `delay` years.
    #[cfg(test)]
    pub(crate) fn delayed_profile(&self, t: usize, delay: f64) -> f64 {
        let (k, f) = crate::kernel::delay_parts(delay);
        crate::kernel::slid(|j| self.profile_at(j), t as i64, k, f)
    }
}

/// The numbers of a theme ([`ThemeInputs`]) that its full-potential gross benefit and
/// activity-scaled cost are made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Amounts {
    pub cohort: Option<f64>,
    pub volume: f64,
    pub engagement: f64,
    pub gross_benefit: f64,
    pub realisation: f64,
    pub cashability: f64,
    pub optimism_bias_benefit: f64,
    pub optimism_bias_cost: f64,
    pub scaled_cost: f64,
}

impl Amounts {
    /// Engaged members (the volume factor when the theme is stated at theme level, so amounts
    /// are £bn).
    #[inline]
    fn scale(&self) -> f64 {
        match self.cohort {
            Some(c) => c * self.engagement * 1e-9 * self.volume,
            None => self.volume,
        }
    }

    /// Full-potential annual gross benefit after realisation, cashability and optimism bias, £bn.
    #[inline]
    pub fn full_gross_bn(&self) -> f64 {
        self.scale()
            * self.gross_benefit
            * self.realisation
            * self.cashability
            * (1.0 - self.optimism_bias_benefit)
    }

    /// Activity-scaled annual cost at full activity, after optimism bias, £bn.
    #[inline]
    pub fn full_scaled_cost_bn(&self) -> f64 {
        self.scale() * self.scaled_cost * (1.0 + self.optimism_bias_cost)
    }
}

/// One scenario's inputs for the whole model.
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// Discount rate per year, as [`ModelSpec::discount_rates`], and the undiscounted year: what a
    /// sampled rate moves ([`crate::params::apply`] rebuilds the factors from them).
    pub discount_rates: Vec<f64>,
    pub undiscounted_year: usize,
    /// Discount factor per year (index 0 = year 1).
    pub discount_factors: Vec<f64>,
    pub themes: Vec<ThemeInputs>,
    /// Which themes count in the headline total.
    pub headline: Vec<bool>,
}

impl Inputs {
    /// Overwrite `self` with `other` without reallocating (both come from the same model).
    pub fn copy_from(&mut self, other: &Inputs) {
        self.discount_rates.copy_from_slice(&other.discount_rates);
        self.undiscounted_year = other.undiscounted_year;
        self.discount_factors
            .copy_from_slice(&other.discount_factors);
        for (a, b) in self.themes.iter_mut().zip(&other.themes) {
            a.addressable_spend_bn = b.addressable_spend_bn;
            a.profile.copy_from_slice(&b.profile);
            a.delay_years = b.delay_years;
            a.cohort = b.cohort;
            a.volume = b.volume;
            a.engagement = b.engagement;
            a.gross_benefit = b.gross_benefit;
            a.realisation = b.realisation;
            a.cashability = b.cashability;
            a.optimism_bias_benefit = b.optimism_bias_benefit;
            a.optimism_bias_cost = b.optimism_bias_cost;
            a.one_off_costs_bn.copy_from_slice(&b.one_off_costs_bn);
            a.ongoing_costs_bn.copy_from_slice(&b.ongoing_costs_bn);
            a.scaled_cost = b.scaled_cost;
            a.partner_shares.copy_from_slice(&b.partner_shares);
            if let (Some(x), Some(y)) = (a.local.as_deref_mut(), b.local.as_deref()) {
                x.copy_from(y);
            }
        }
    }
}

/// Yearly flows of one theme (or the total), £bn.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Flows {
    pub gross_benefits: Vec<f64>,
    pub costs: Vec<f64>,
    pub net: Vec<f64>,
    pub discounted_net: Vec<f64>,
}

/// Outcome of a delay-to-zero search.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct DelayToZero {
    /// Smallest whole number of years of delay at which NPV ≤ 0.
    pub whole_years: u32,
    /// The exact (fractional) delay at which NPV first reaches 0.
    pub exact_years: f64,
}

/// Everything one evaluation reports for a theme or for the total.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub flows: Flows,
    pub npv: f64,
    pub pv_benefits: f64,
    pub pv_costs: f64,
    /// Steady-state annual net benefit, £bn.
    pub net_annual: f64,
    pub addressable_spend: f64,
    /// Net annual benefit as a share of addressable spend.
    pub share_of_addressable: f64,
    /// Share of benefits that can be lost before NPV reaches zero; `None` = already ≤ 0.
    pub leakage_to_zero: Option<f64>,
    pub delay_to_zero: DelayToZero,
    /// First year (1-based) whose cumulative discounted net benefit is ≥ 0; `None` = not within
    /// the horizon.
    pub breakeven_year: Option<u32>,
}

/// One partner's allocation from one theme (or the total).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Allocation {
    pub partner: usize,
    pub share: f64,
    /// Share of the steady-state annual net benefit, £bn.
    pub annual_bn: f64,
    /// `annual_bn` as a share of the partner's budget (None without a budget).
    pub share_of_budget: Option<f64>,
    /// Share of the five-year NPV, £bn.
    pub npv_bn: f64,
    /// NPV left when this partner's share of benefits is removed (costs unchanged).
    pub npv_without: f64,
    /// NPV if this partner led alone: its share of benefits, all costs.
    pub npv_single_party: f64,
}

/// The result of one evaluation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    pub themes: Vec<Outcome>,
    pub total: Outcome,
    /// Per theme, per partner.
    pub allocations: Vec<Vec<Allocation>>,
    /// Per partner, summed over headline themes.
    pub total_allocations: Vec<Allocation>,
    /// The local method's measures, for a model with outcome-level themes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalEval>,
}

impl ModelSpec {
    /// Number of years evaluated.
    pub fn horizon(&self) -> usize {
        self.horizon_years
    }

    /// Discount factors, index 0 = year 1.
    pub fn discount_factors(&self) -> Vec<f64> {
        discount_factors(&self.discount_rates, self.undiscounted_year)
    }

    /// Position of a scenario by name.
    pub fn scenario_index(&self, name: &str) -> Option<usize> {
        self.scenarios.iter().position(|s| s == name)
    }

    /// Resolve scenario number `s` into plain numbers.
    pub fn inputs(&self, s: usize) -> Inputs {
        self.inputs_of(s, 0..self.themes.len())
    }

    /// [`ModelSpec::inputs`] with the themes numbered `of` only (a pass over many themes, a slice
    /// at a time, keeps few of them at once).
    pub fn inputs_of(&self, s: usize, of: std::ops::Range<usize>) -> Inputs {
        let themes = self.themes[of.clone()]
            .iter()
            .map(|t| {
                let (cohort, engagement, gross_benefit) = match &t.benefit {
                    BenefitBasis::Total { gross_benefit_bn } => {
                        (None, 1.0, gross_benefit_bn.get(s))
                    }
                    BenefitBasis::PerMember {
                        cohort,
                        engagement,
                        benefit_per_engaged_gbp,
                    } => (
                        Some(cohort.get(s)),
                        engagement.get(s),
                        benefit_per_engaged_gbp.get(s),
                    ),
                };
                let scaled_cost = match &t.scaled_cost {
                    ScaledCost::Total(p) | ScaledCost::PerEngaged(p) => p.get(s),
                };
                let mut ti = ThemeInputs {
                    addressable_spend_bn: t.addressable_spend_bn.get(s),
                    profile: t.profile.get(s),
                    delay_years: t.delay_years.get(s),
                    cohort,
                    volume: 1.0,
                    engagement,
                    gross_benefit,
                    realisation: t.realisation.get(s),
                    cashability: t.cashability.get(s),
                    optimism_bias_benefit: t.optimism_bias_benefit.get(s),
                    optimism_bias_cost: t.optimism_bias_cost.get(s),
                    one_off_costs_bn: t.one_off_costs_bn.get(s),
                    ongoing_costs_bn: t.ongoing_costs_bn.get(s),
                    scaled_cost,
                    partner_shares: t.partner_shares.get(s),
                    local: t.local.as_ref().map(|l| {
                        Box::new(l.inputs(
                            s,
                            t.profile.get(s),
                            t.ongoing_costs_bn.get(s),
                            scaled_cost,
                        ))
                    }),
                };
                crate::local::compile(&mut ti);
                ti
            })
            .collect();
        Inputs {
            discount_rates: self.discount_rates.clone(),
            undiscounted_year: self.undiscounted_year,
            discount_factors: self.discount_factors(),
            themes,
            headline: self.themes[of].iter().map(|t| !t.indicative).collect(),
        }
    }

    /// Evaluate scenario number `s`.
    pub fn evaluate(&self, s: usize) -> Evaluation {
        evaluate(&self.inputs(s), &self.partners)
    }
}

impl Flows {
    fn of(e: &ThemeEval) -> Flows {
        Flows {
            gross_benefits: e.gross.clone(),
            costs: e.costs.clone(),
            net: e.gross.iter().zip(&e.costs).map(|(g, c)| g - c).collect(),
            discounted_net: e.discounted_net.clone(),
        }
    }
}

fn leakage(npv: f64, pv_benefits: f64) -> Option<f64> {
    if npv > 0.0 {
        Some(npv / pv_benefits)
    } else {
        None
    }
}

/// Evaluate one scenario's inputs: the kernel ([`crate::kernel`]) per theme and for the headline
/// total, then the report's derived figures (steady state, shares, partner allocations).
pub fn evaluate(inputs: &Inputs, partners: &[Partner]) -> Evaluation {
    let df = &inputs.discount_factors;
    let mut slid = Vec::new();
    let evals: Vec<ThemeEval> = inputs
        .themes
        .iter()
        .map(|th| {
            slid_profile_pv(th, df, &mut slid);
            let mut e = ThemeEval::default();
            e.compute(th, df, &slid);
            e
        })
        .collect();
    let mut themes = Vec::with_capacity(inputs.themes.len());
    let mut allocations = Vec::with_capacity(inputs.themes.len());
    for (th, e) in inputs.themes.iter().zip(&evals) {
        let outcome = Outcome {
            flows: Flows::of(e),
            npv: e.npv,
            pv_benefits: e.pv_benefits,
            pv_costs: e.pv_costs,
            net_annual: e.net_annual,
            addressable_spend: th.addressable_spend_bn,
            share_of_addressable: e.net_annual / th.addressable_spend_bn,
            leakage_to_zero: leakage(e.npv, e.pv_benefits),
            delay_to_zero: e.delay,
            breakeven_year: e.breakeven,
        };
        allocations.push(allocate(
            &th.partner_shares,
            partners,
            e.net_annual,
            e.npv,
            e.pv_benefits,
            e.pv_costs,
        ));
        themes.push(outcome);
    }
    let total = total_outcome(inputs, &evals, &themes);
    let mut partner_npvs = vec![0.0; partners.len()];
    for ((th, e), _) in inputs
        .themes
        .iter()
        .zip(&evals)
        .zip(&inputs.headline)
        .filter(|(_, h)| **h)
    {
        add_partner_npvs(&mut partner_npvs, &th.partner_shares, e.npv);
    }
    let mut total_allocations = Vec::with_capacity(partners.len());
    for (p, partner) in partners.iter().enumerate() {
        let mut a = Allocation {
            partner: p,
            share: 0.0,
            annual_bn: 0.0,
            share_of_budget: None,
            npv_bn: partner_npvs[p],
            npv_without: total.npv,
            npv_single_party: -total.pv_costs,
        };
        for (t, alloc) in allocations.iter().enumerate() {
            if inputs.headline[t] {
                let x = &alloc[p];
                a.annual_bn += x.annual_bn;
                a.npv_without -= x.share * themes[t].pv_benefits;
                a.npv_single_party += x.share * themes[t].pv_benefits;
            }
        }
        a.share = if total.net_annual != 0.0 {
            a.annual_bn / total.net_annual
        } else {
            0.0
        };
        a.share_of_budget = share_of_budget(partner, a.annual_bn);
        total_allocations.push(a);
    }
    let local = inputs.themes.iter().any(|t| t.local.is_some()).then(|| {
        let mut l = LocalEval::default();
        l.compute(
            &inputs.themes,
            &inputs.headline,
            df,
            |t| (evals[t].npv, evals[t].pv_benefits, evals[t].pv_costs),
            partners.len(),
        );
        l
    });
    Evaluation {
        themes,
        total,
        allocations,
        total_allocations,
        local,
    }
}

fn allocate(
    shares: &[f64],
    partners: &[Partner],
    net_annual: f64,
    npv: f64,
    pv_benefits: f64,
    pv_costs: f64,
) -> Vec<Allocation> {
    partners
        .iter()
        .zip(shares)
        .enumerate()
        .map(|(p, (partner, &share))| {
            let annual_bn = share * net_annual;
            Allocation {
                partner: p,
                share,
                annual_bn,
                share_of_budget: share_of_budget(partner, annual_bn),
                npv_bn: share * npv,
                npv_without: npv - share * pv_benefits,
                npv_single_party: share * pv_benefits - pv_costs,
            }
        })
        .collect()
}

/// A partner's annual net benefit as a share of its budget, when it has one and the share is a
/// number: a budget so small that the share overflows (1e-320, say) has none to show.
fn share_of_budget(partner: &Partner, annual_bn: f64) -> Option<f64> {
    partner
        .budget
        .map(|(_, b)| annual_bn / b)
        .filter(|s| s.is_finite())
}

fn total_outcome(inputs: &Inputs, evals: &[ThemeEval], themes: &[Outcome]) -> Outcome {
    let n = inputs.discount_factors.len();
    let mut total = TotalEval::default();
    total.compute(evals, &inputs.headline);
    let mut flows = Flows {
        gross_benefits: vec![0.0; n],
        costs: vec![0.0; n],
        net: vec![0.0; n],
        discounted_net: total.discounted_net.clone(),
    };
    let (mut annual, mut spend) = (0.0, 0.0);
    for (t, o) in themes.iter().enumerate() {
        if !inputs.headline[t] {
            continue;
        }
        for i in 0..n {
            flows.gross_benefits[i] += o.flows.gross_benefits[i];
            flows.costs[i] += o.flows.costs[i];
            flows.net[i] += o.flows.net[i];
        }
        annual += o.net_annual;
        spend += o.addressable_spend;
    }
    Outcome {
        breakeven_year: total.breakeven,
        flows,
        npv: total.npv,
        pv_benefits: total.pv_benefits,
        pv_costs: total.pv_costs,
        net_annual: annual,
        addressable_spend: spend,
        share_of_addressable: if spend > 0.0 { annual / spend } else { 0.0 },
        leakage_to_zero: leakage(total.npv, total.pv_benefits),
        delay_to_zero: total.delay,
    }
}

/// A theme for tests: every multiplier 1 (volume, engagement, realisation, cashability), no
/// optimism bias, no delay, no cohort or local data, addressable spend £1bn, one partner taking
/// the whole theme; tests change the fields they are about with struct update syntax.
#[cfg(test)]
impl ThemeInputs {
    pub(crate) fn plain(
        profile: Vec<f64>,
        gross: f64,
        one_off: Vec<f64>,
        ongoing: Vec<f64>,
        scaled: f64,
    ) -> ThemeInputs {
        ThemeInputs {
            addressable_spend_bn: 1.0,
            profile,
            delay_years: 0.0,
            cohort: None,
            volume: 1.0,
            engagement: 1.0,
            gross_benefit: gross,
            realisation: 1.0,
            cashability: 1.0,
            optimism_bias_benefit: 0.0,
            optimism_bias_cost: 0.0,
            one_off_costs_bn: one_off,
            ongoing_costs_bn: ongoing,
            scaled_cost: scaled,
            partner_shares: vec![1.0],
            local: None,
        }
    }
}

/// `got` equals the hand-computed `want` to 1e-12 (relative above 1), naming `what` if not.
#[cfg(test)]
pub(crate) fn assert_close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A share of a budget is the annual net benefit over the budget, and none when that
    /// overflows or there is no budget.
    #[test]
    fn a_share_of_a_tiny_budget_is_none_rather_than_infinite() {
        let with = |budget: Option<f64>| Partner {
            id: "A".into(),
            name: "A".into(),
            budget: budget.map(|b| (BudgetClass::Del, b)),
        };
        assert_eq!(share_of_budget(&with(Some(100.0)), 1.5), Some(0.015));
        assert_eq!(share_of_budget(&with(Some(1e-320)), 1.4), None);
        assert_eq!(share_of_budget(&with(None), 1.4), None);
    }

    /// A theme has no costs in a scenario only when each of its costs is 0 there: any one of
    /// them, in any year, above 0 is a cost; another scenario's costs do not count.
    #[test]
    fn a_theme_has_no_costs_only_when_every_cost_is_zero_in_that_scenario() {
        let m = crate::format::parse_model(
            crate::embedded::EY2013_MODEL_FILE,
            crate::embedded::EY2013_MODEL,
        )
        .unwrap();
        let mut t = m.themes[0].clone();
        assert!(!t.has_no_costs_in(0), "the 2013 themes have costs");
        let zeros = vec![0.0; m.horizon_years];
        t.one_off_costs_bn = Param::Same(zeros.clone());
        t.ongoing_costs_bn = Param::Same(zeros.clone());
        t.scaled_cost = ScaledCost::Total(Param::Same(0.0));
        assert!(t.has_no_costs_in(0) && t.has_no_costs_in(1));
        let mut one_year = zeros.clone();
        one_year[m.horizon_years - 1] = 0.001;
        for k in 0..3 {
            let mut c = t.clone();
            match k {
                0 => c.one_off_costs_bn = Param::Same(one_year.clone()),
                1 => c.ongoing_costs_bn = Param::Same(one_year.clone()),
                _ => c.scaled_cost = ScaledCost::PerEngaged(Param::Same(1.0)),
            }
            assert!(!c.has_no_costs_in(0), "cost {k}");
        }
        // Costs in the second scenario only.
        let mut c = t.clone();
        c.one_off_costs_bn = Param::PerScenario(vec![zeros, one_year]);
        assert!(c.has_no_costs_in(0) && !c.has_no_costs_in(1));
    }

    fn theme(profile: Vec<f64>, gross: f64, one_off: Vec<f64>, scaled: f64) -> ThemeInputs {
        let n = one_off.len();
        ThemeInputs {
            addressable_spend_bn: 10.0,
            ..ThemeInputs::plain(profile, gross, one_off, vec![0.0; n], scaled)
        }
    }

    fn partners() -> Vec<Partner> {
        vec![Partner {
            id: "A".into(),
            name: "A".into(),
            budget: Some((BudgetClass::Del, 100.0)),
        }]
    }

    fn inputs(t: ThemeInputs, rate: f64) -> Inputs {
        let n = t.one_off_costs_bn.len();
        Inputs {
            discount_rates: vec![rate; n],
            undiscounted_year: 1,
            discount_factors: discount_factors(&vec![rate; n], 1),
            themes: vec![t],
            headline: vec![true],
        }
    }

    #[test]
    fn npv_matches_closed_form_annuity() {
        // Constant benefit 2, constant one-off 1 each year, r = 5%: NPV = Σ (2-1)/1.05^(t-1).
        let t = theme(vec![1.0; 4], 2.0, vec![1.0; 4], 0.0);
        let e = evaluate(&inputs(t, 0.05), &partners());
        let expected: f64 = (0..4).map(|k| 1.05f64.powi(-k)).sum();
        assert!((e.total.npv - expected).abs() < 1e-12);
        assert!((e.total.pv_benefits - 2.0 * expected).abs() < 1e-12);
        assert!((e.total.leakage_to_zero.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!(e.total.breakeven_year, Some(1));
    }

    #[test]
    fn leakage_to_zero_removes_exactly_the_npv() {
        let t = theme(vec![0.3, 0.6, 1.0], 5.0, vec![2.0, 0.5, 0.0], 1.0);
        let e = evaluate(&inputs(t.clone(), 0.035), &partners());
        let l = e.total.leakage_to_zero.unwrap();
        let mut leaked = t;
        leaked.realisation = 1.0 - l;
        let e2 = evaluate(&inputs(leaked, 0.035), &partners());
        assert!(e2.total.npv.abs() < 1e-12, "{}", e2.total.npv);
        assert_eq!(e2.total.leakage_to_zero, None);
    }

    #[test]
    fn exact_delay_to_zero_gives_zero_npv_and_whole_delay_is_its_ceiling() {
        let t = theme(
            vec![0.5, 0.8, 1.0, 1.0, 1.0],
            3.0,
            vec![4.0, 0.0, 0.0, 0.0, 0.0],
            0.2,
        );
        let e = evaluate(&inputs(t.clone(), 0.035), &partners());
        let d = e.total.delay_to_zero;
        let mut delayed = t;
        delayed.delay_years = d.exact_years;
        let e2 = evaluate(&inputs(delayed, 0.035), &partners());
        assert!(e2.total.npv.abs() < 1e-12, "{}", e2.total.npv);
        assert_eq!(d.whole_years, d.exact_years.ceil() as u32);
    }

    #[test]
    fn negative_npv_reports_already_negative() {
        let t = theme(vec![1.0; 3], 1.0, vec![5.0, 0.0, 0.0], 0.0);
        let e = evaluate(&inputs(t, 0.035), &partners());
        assert!(e.total.npv < 0.0);
        assert_eq!(e.total.leakage_to_zero, None);
        assert_eq!(e.total.delay_to_zero.whole_years, 0);
        assert_eq!(e.total.breakeven_year, None);
    }

    #[test]
    fn fractional_delay_interpolates_between_whole_years() {
        let t = theme(vec![0.2, 0.6, 1.0], 1.0, vec![0.0; 3], 0.0);
        let df = discount_factors(&[0.0; 3], 1);
        let mut slid = Vec::new();
        crate::kernel::slid_profile_pv(&t, &df, &mut slid);
        let mut e = ThemeEval::default();
        e.compute(&t, &df, &slid);
        let a = e.pv_benefits_delayed(1.0);
        let b = e.pv_benefits_delayed(2.0);
        let m = e.pv_benefits_delayed(1.25);
        assert!((m - (0.75 * a + 0.25 * b)).abs() < 1e-12);
        // Without discounting, a delay of 1 leaves the profile's first two years: 0.2 + 0.6.
        assert!((a - 0.8).abs() < 1e-12 && (b - 0.2).abs() < 1e-12);
    }

    #[test]
    fn per_member_basis_scales_benefits_and_costs_with_the_cohort() {
        let mut t = theme(vec![1.0; 2], 2000.0, vec![0.0; 2], 500.0);
        t.cohort = Some(1e6);
        t.engagement = 0.5;
        // 1e6 × 0.5 × £2,000 = £1bn gross; × £500 = £0.25bn cost.
        assert!((t.full_gross_bn() - 1.0).abs() < 1e-12);
        assert!((t.full_scaled_cost_bn() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn removing_a_partner_removes_its_share_of_benefits_only() {
        let mut t = theme(vec![1.0; 2], 2.0, vec![1.0, 0.0], 0.0);
        t.partner_shares = vec![0.7, 0.3];
        let ps = vec![partners()[0].clone(), {
            let mut p = partners()[0].clone();
            p.id = "B".into();
            p
        }];
        let e = evaluate(&inputs(t, 0.0), &ps);
        let a = &e.allocations[0][0];
        assert!((a.npv_without - (3.0 - 0.7 * 4.0)).abs() < 1e-12);
        assert!((a.npv_single_party - (0.7 * 4.0 - 1.0)).abs() < 1e-12);
        assert!((a.annual_bn - 1.4).abs() < 1e-12);
        assert!((a.share_of_budget.unwrap() - 0.014).abs() < 1e-12);
    }
}

/// A whole evaluation checked figure by figure against hand arithmetic: two headline themes and
/// one indicative theme, two partners (one without a budget), per-year discount factors chosen
/// to be exact in binary (rates 25%: factors 1, 0.8, 0.64), and a model file's scenarios
/// resolved into inputs.
#[cfg(test)]
mod hand_computed {
    use super::*;

    use super::assert_close as close;

    fn closes(what: &str, got: &[f64], want: &[f64]) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            close(&format!("{what}[{i}]"), *g, *w);
        }
    }

    fn theme(
        profile: Vec<f64>,
        gross: f64,
        one_off: Vec<f64>,
        ongoing: Vec<f64>,
        scaled: f64,
        shares: Vec<f64>,
    ) -> ThemeInputs {
        ThemeInputs {
            partner_shares: shares,
            ..ThemeInputs::plain(profile, gross, one_off, ongoing, scaled)
        }
    }

    fn partners() -> Vec<Partner> {
        vec![
            Partner {
                id: "P1".into(),
                name: "Partner one".into(),
                budget: Some((BudgetClass::Del, 10.0)),
            },
            Partner {
                id: "P2".into(),
                name: "Remainder".into(),
                budget: None,
            },
        ]
    }

    /// Theme A: profile 0.5, 1 (year 3 holds 1), gross 2 → gross 1, 2, 2; costs one-off 1 in
    /// year 1, ongoing 0.1 from year 2, scaled 0.2·p(t) → 1.1, 0.3, 0.3.
    /// Theme B: gross 1 every year; ongoing 0.5 with a 20% optimism bias → costs 0.6.
    /// Theme C (indicative): gross 10 every year, no cost.
    fn three_themes() -> Inputs {
        let mut a = theme(
            vec![0.5, 1.0],
            2.0,
            vec![1.0, 0.0, 0.0],
            vec![0.0, 0.1, 0.1],
            0.2,
            vec![0.75, 0.25],
        );
        a.addressable_spend_bn = 4.0;
        let mut b = theme(
            vec![1.0],
            1.0,
            vec![0.0; 3],
            vec![0.5; 3],
            0.0,
            vec![0.2, 0.8],
        );
        b.addressable_spend_bn = 2.0;
        b.optimism_bias_cost = 0.2;
        let c = theme(
            vec![1.0],
            10.0,
            vec![0.0; 3],
            vec![0.0; 3],
            0.0,
            vec![1.0, 0.0],
        );
        let rates = vec![0.0, 0.25, 0.25];
        Inputs {
            discount_factors: discount_factors(&rates, 1),
            discount_rates: rates,
            undiscounted_year: 1,
            themes: vec![a, b, c],
            headline: vec![true, true, false],
        }
    }

    #[test]
    fn every_figure_of_a_three_theme_two_partner_evaluation() {
        let inputs = three_themes();
        closes("factors", &inputs.discount_factors, &[1.0, 0.8, 0.64]);
        let e = evaluate(&inputs, &partners());
        // Theme A: net −0.1, 1.7, 1.7; discounted −0.1, 1.36, 1.088: NPV 2.348; PV benefits
        // 1 + 1.6 + 1.28 = 3.88; PV costs 1.1 + 0.24 + 0.192 = 1.532; steady state
        // 2 − (0.1 + 0.2) = 1.7, 1.7/4 = 0.425 of the addressable spend; breakeven in year 2
        // (cumulative −0.1, then 1.26).
        let a = &e.themes[0];
        closes("A gross", &a.flows.gross_benefits, &[1.0, 2.0, 2.0]);
        closes("A costs", &a.flows.costs, &[1.1, 0.3, 0.3]);
        closes("A net", &a.flows.net, &[-0.1, 1.7, 1.7]);
        closes(
            "A discounted",
            &a.flows.discounted_net,
            &[-0.1, 1.36, 1.088],
        );
        close("A npv", a.npv, 2.348);
        close("A pvb", a.pv_benefits, 3.88);
        close("A pvc", a.pv_costs, 1.532);
        close("A annual", a.net_annual, 1.7);
        close("A spend", a.addressable_spend, 4.0);
        close("A share", a.share_of_addressable, 0.425);
        close("A leakage", a.leakage_to_zero.unwrap(), 2.348 / 3.88);
        assert_eq!(a.breakeven_year, Some(2));
        // Theme B: net 0.4 a year, discounted 0.4, 0.32, 0.256: NPV 0.976; PV benefits 2.44,
        // PV costs 0.6·2.44 = 1.464; steady state 1 − 0.5·1.2 = 0.4 (0.2 of spend 2).
        let b = &e.themes[1];
        close("B npv", b.npv, 0.976);
        close("B pvc", b.pv_costs, 1.464);
        close("B annual", b.net_annual, 0.4);
        close("B share", b.share_of_addressable, 0.2);
        assert_eq!(b.breakeven_year, Some(1));
        // Theme C, indicative: evaluated (NPV 10·2.44 = 24.4) but left out of the total.
        close("C npv", e.themes[2].npv, 24.4);
        // Total of A and B: gross 2, 3, 3; costs 1.7, 0.9, 0.9; net 0.3, 2.1, 2.1; discounted
        // 0.3, 1.68, 1.344; NPV 3.324 = 6.32 − 2.996; steady state 2.1 on spend 6 (0.35).
        let t = &e.total;
        closes("total gross", &t.flows.gross_benefits, &[2.0, 3.0, 3.0]);
        closes("total costs", &t.flows.costs, &[1.7, 0.9, 0.9]);
        closes("total net", &t.flows.net, &[0.3, 2.1, 2.1]);
        closes(
            "total discounted",
            &t.flows.discounted_net,
            &[0.3, 1.68, 1.344],
        );
        close("total npv", t.npv, 3.324);
        close("total pvb", t.pv_benefits, 6.32);
        close("total pvc", t.pv_costs, 2.996);
        close("total annual", t.net_annual, 2.1);
        close("total spend", t.addressable_spend, 6.0);
        close("total share", t.share_of_addressable, 0.35);
        close("total leakage", t.leakage_to_zero.unwrap(), 3.324 / 6.32);
        assert_eq!(t.breakeven_year, Some(1));
        // Allocations of theme A (shares 0.75, 0.25): annual 1.275 and 0.425 (P1's budget 10:
        // 0.1275); NPV 1.761 and 0.587; without P1's benefits 2.348 − 0.75·3.88 = −0.562, P1
        // alone 2.91 − 1.532 = 1.378; without P2 2.348 − 0.97 = 1.378, P2 alone −0.562.
        let (a1, a2) = (&e.allocations[0][0], &e.allocations[0][1]);
        assert_eq!((a1.partner, a2.partner), (0, 1));
        close("A P1 annual", a1.annual_bn, 1.275);
        close("A P1 of budget", a1.share_of_budget.unwrap(), 0.1275);
        close("A P1 npv", a1.npv_bn, 1.761);
        close("A P1 without", a1.npv_without, -0.562);
        close("A P1 alone", a1.npv_single_party, 1.378);
        close("A P2 annual", a2.annual_bn, 0.425);
        assert_eq!(a2.share_of_budget, None);
        close("A P2 without", a2.npv_without, 1.378);
        close("A P2 alone", a2.npv_single_party, -0.562);
        // Over the headline themes (C left out): P1 annual 1.275 + 0.2·0.4 = 1.355, share of
        // the total's 2.1, 0.1355 of its budget; NPV 1.761 + 0.2·0.976 = 1.9562; without P1
        // 3.324 − (0.75·3.88 + 0.2·2.44) = −0.074; P1 alone −2.996 + 3.398 = 0.402. P2: annual
        // 0.425 + 0.32 = 0.745, NPV 0.587 + 0.7808 = 1.3678, without 3.324 − 2.922 = 0.402,
        // alone −2.996 + 2.922 = −0.074.
        let (p1, p2) = (&e.total_allocations[0], &e.total_allocations[1]);
        assert_eq!((p1.partner, p2.partner), (0, 1));
        close("P1 annual", p1.annual_bn, 1.355);
        close("P1 share", p1.share, 1.355 / 2.1);
        close("P1 of budget", p1.share_of_budget.unwrap(), 0.1355);
        close("P1 npv", p1.npv_bn, 1.9562);
        close("P1 without", p1.npv_without, -0.074);
        close("P1 alone", p1.npv_single_party, 0.402);
        close("P2 annual", p2.annual_bn, 0.745);
        close("P2 share", p2.share, 0.745 / 2.1);
        assert_eq!(p2.share_of_budget, None);
        close("P2 npv", p2.npv_bn, 1.3678);
        close("P2 without", p2.npv_without, 0.402);
        close("P2 alone", p2.npv_single_party, -0.074);
        assert!(e.local.is_none());
    }

    #[test]
    fn a_total_without_net_benefit_gives_partners_no_share_and_no_spend_no_share_of_it() {
        // One theme, headline, whose steady state is exactly 0 (gross 1 − ongoing 1): the
        // partners' share of the total's steady state is 0 (not 0/0); a model whose headline
        // themes have no addressable spend reports 0 as the share of it.
        let mut t = theme(
            vec![1.0],
            1.0,
            vec![0.0; 2],
            vec![1.0; 2],
            0.0,
            vec![0.5, 0.5],
        );
        t.addressable_spend_bn = 0.0;
        let inputs = Inputs {
            discount_factors: vec![1.0; 2],
            discount_rates: vec![0.0; 2],
            undiscounted_year: 1,
            themes: vec![t],
            headline: vec![true],
        };
        let e = evaluate(&inputs, &partners());
        assert_eq!(e.total.net_annual, 0.0);
        assert_eq!(e.total_allocations[0].share, 0.0);
        assert_eq!(e.total.share_of_addressable, 0.0);
        // NPV exactly 0: no leakage to report, and breakeven in year 1 (cumulative 0 ≥ 0).
        assert_eq!(e.total.leakage_to_zero, None);
        assert_eq!(e.total.breakeven_year, Some(1));
    }

    #[test]
    fn profile_and_delayed_profile_by_hand() {
        let t = theme(
            vec![0.2, 0.6, 1.0],
            1.0,
            vec![0.0; 5],
            vec![0.0; 5],
            0.0,
            vec![1.0],
        );
        // Before year 1: 0; listed years; later years hold the last value.
        assert_eq!(
            (0..=5).map(|j| t.profile_at(j)).collect::<Vec<_>>(),
            vec![0.0, 0.2, 0.6, 1.0, 1.0, 1.0]
        );
        assert_eq!(t.profile_at(-3), 0.0);
        // Delay 1.25 in year 3: K = 1, f = 0.25 → 0.75·p(2) + 0.25·p(1) = 0.45 + 0.05 = 0.5.
        close("delayed", t.delayed_profile(3, 1.25), 0.5);
        // Delay 0.5 in year 1: 0.5·p(1) + 0.5·p(0) = 0.1.
        close("delayed", t.delayed_profile(1, 0.5), 0.1);
    }

    #[test]
    fn per_member_theme_scales_with_engagement_volume_and_optimism_bias() {
        // 2e6 members × 25% engaged × volume 2 = 1e6 engaged → 1e6·1e-9 = 1e-3 "bn members";
        // gross £800 × realisation 0.5 × cashability 0.5 × (1 − 0.25) = £150 → £0.15bn;
        // scaled cost £100 × (1 + 0.5) = £150 → £0.15bn.
        let mut t = theme(vec![1.0], 800.0, vec![0.0], vec![0.0], 100.0, vec![1.0]);
        t.cohort = Some(2e6);
        t.engagement = 0.25;
        t.volume = 2.0;
        t.realisation = 0.5;
        t.cashability = 0.5;
        t.optimism_bias_benefit = 0.25;
        t.optimism_bias_cost = 0.5;
        close("gross", t.full_gross_bn(), 0.15);
        close("scaled", t.full_scaled_cost_bn(), 0.15);
        // At theme level the volume alone scales: 3 × 2 × 0.5 × 0.5 × 0.75 = 1.125.
        let mut u = theme(vec![1.0], 2.0, vec![0.0], vec![0.0], 1.0, vec![1.0]);
        u.volume = 3.0;
        u.realisation = 0.5;
        u.cashability = 0.5;
        u.optimism_bias_benefit = 0.25;
        close("theme-level gross", u.full_gross_bn(), 1.125);
        close("theme-level scaled", u.full_scaled_cost_bn(), 3.0);
    }

    fn spec() -> ModelSpec {
        let per = |a: f64, b: f64| Param::PerScenario(vec![a, b]);
        let member = ThemeSpec {
            id: "m".into(),
            name: "Per member".into(),
            indicative: false,
            addressable_spend_bn: per(1.0, 2.0),
            profile: Param::PerScenario(vec![vec![0.5, 1.0], vec![1.0]]),
            delay_years: per(0.0, 0.5),
            benefit: BenefitBasis::PerMember {
                cohort: per(1e6, 2e6),
                engagement: per(0.5, 0.25),
                benefit_per_engaged_gbp: per(1000.0, 3000.0),
            },
            realisation: per(1.0, 0.9),
            cashability: per(1.0, 0.8),
            optimism_bias_benefit: per(0.0, 0.1),
            optimism_bias_cost: per(0.0, 0.3),
            one_off_costs_bn: Param::PerScenario(vec![vec![0.1, 0.0], vec![0.2, 0.0]]),
            ongoing_costs_bn: Param::PerScenario(vec![vec![0.0, 0.01], vec![0.0, 0.02]]),
            scaled_cost: ScaledCost::PerEngaged(per(100.0, 200.0)),
            partner_shares: Param::PerScenario(vec![vec![1.0, 0.0], vec![0.4, 0.6]]),
            local: None,
        };
        let total = ThemeSpec {
            id: "t".into(),
            name: "Theme level".into(),
            indicative: true,
            addressable_spend_bn: Param::Same(3.0),
            profile: Param::Same(vec![1.0]),
            delay_years: Param::Same(1.0),
            benefit: BenefitBasis::Total {
                gross_benefit_bn: per(0.5, 0.7),
            },
            realisation: Param::Same(1.0),
            cashability: Param::Same(1.0),
            optimism_bias_benefit: Param::Same(0.0),
            optimism_bias_cost: Param::Same(0.0),
            one_off_costs_bn: Param::Same(vec![0.0, 0.0]),
            ongoing_costs_bn: Param::Same(vec![0.0, 0.0]),
            scaled_cost: ScaledCost::Total(Param::Same(0.05)),
            partner_shares: Param::Same(vec![0.5, 0.5]),
            local: None,
        };
        ModelSpec {
            name: "hand".into(),
            price_base: "2012-13".into(),
            horizon_years: 2,
            discount_rates: vec![0.0, 0.25],
            undiscounted_year: 1,
            scenarios: vec!["low".into(), "high".into()],
            money_unit: crate::money::MoneyUnit::Billion,
            partners: partners(),
            themes: vec![member, total],
        }
    }

    #[test]
    fn a_scenario_resolves_every_parameter_of_its_own_column() {
        let m = spec();
        assert_eq!(m.horizon(), 2);
        assert_eq!(m.scenario_index("high"), Some(1));
        assert_eq!(m.scenario_index("low"), Some(0));
        assert_eq!(m.scenario_index("mid"), None);
        closes("factors", &m.discount_factors(), &[1.0, 0.8]);
        let i = m.inputs(1);
        assert_eq!(i.undiscounted_year, 1);
        assert_eq!(i.discount_rates, vec![0.0, 0.25]);
        assert_eq!(i.headline, vec![true, false]);
        let t = &i.themes[0];
        assert_eq!(
            (
                t.addressable_spend_bn,
                t.delay_years,
                t.cohort,
                t.engagement
            ),
            (2.0, 0.5, Some(2e6), 0.25)
        );
        assert_eq!(
            (t.gross_benefit, t.realisation, t.cashability),
            (3000.0, 0.9, 0.8)
        );
        assert_eq!((t.optimism_bias_benefit, t.optimism_bias_cost), (0.1, 0.3));
        assert_eq!((t.scaled_cost, t.volume), (200.0, 1.0));
        assert_eq!(t.profile, vec![1.0]);
        assert_eq!(t.one_off_costs_bn, vec![0.2, 0.0]);
        assert_eq!(t.ongoing_costs_bn, vec![0.0, 0.02]);
        assert_eq!(t.partner_shares, vec![0.4, 0.6]);
        // Theme level: no cohort, engagement 1, the scenario's £bn gross.
        let u = &i.themes[1];
        assert_eq!((u.cohort, u.engagement, u.gross_benefit), (None, 1.0, 0.7));
        assert_eq!((u.scaled_cost, u.delay_years), (0.05, 1.0));
        // A slice of the themes resolves the same numbers for those themes only.
        let only = m.inputs_of(1, 1..2);
        assert_eq!(only.themes, vec![u.clone()]);
        assert_eq!(only.headline, vec![false]);
        // Scenario "low", evaluated: the member theme's gross 1e6·0.5·1e-9·£1000 = £0.5bn at
        // full potential, profile 0.5, 1 → 0.25, 0.5; costs 0.1 + 0.5e-3·100·0.5 = 0.125 and
        // 0.01 + 0.05 = 0.06; NPV (0.25 − 0.125) + 0.8·(0.5 − 0.06) = 0.477. The theme-level
        // one is indicative: the total is the member theme alone.
        let e = m.evaluate(0);
        close("low npv", e.themes[0].npv, 0.477);
        close("low total npv", e.total.npv, 0.477);
    }

    #[test]
    fn copying_inputs_copies_every_field() {
        let m = spec();
        let mut a = m.inputs(0);
        let mut b = m.inputs(1);
        b.discount_rates = vec![0.5, 0.5];
        b.undiscounted_year = 2;
        b.discount_factors = vec![1.5, 1.0];
        for t in &mut b.themes {
            t.volume = 7.0;
            t.profile = vec![0.25; t.profile.len()];
        }
        // `copy_from` needs equal shapes: give `a` the shapes of `b`.
        for (x, y) in a.themes.iter_mut().zip(&b.themes) {
            x.profile = vec![0.0; y.profile.len()];
        }
        a.copy_from(&b);
        assert_eq!(a.discount_rates, b.discount_rates);
        assert_eq!(a.undiscounted_year, b.undiscounted_year);
        assert_eq!(a.discount_factors, b.discount_factors);
        assert_eq!(a.themes, b.themes);
    }

    #[test]
    fn budget_classes_are_labelled_as_in_the_report() {
        assert_eq!(
            (BudgetClass::Del.label(), BudgetClass::Ame.label()),
            ("DEL", "AME")
        );
    }
}
