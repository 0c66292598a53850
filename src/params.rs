//! Parameter paths: every model parameter a distribution can be assigned to, addressed by a path
//! such as `themes.work_skills.realisation`, `themes.fcn.one_off_costs` (the whole yearly list),
//! `themes.fcn.one_off_costs[2]` (one year) or `themes.hsc.partner_shares.DH`.
//!
//! Amounts of money on a path (`addressable_spend`, `gross_benefit`, `scaled_cost`,
//! `one_off_costs`, `ongoing_costs`) are in the model's money unit, as in the model file: a
//! [`ParamRef`]'s point values and the values a distribution gives it are in that unit, and
//! [`ParamRef::to_engine`] converts them to the engine's £bn before they are written. The former
//! names with `_bn` are accepted in a model in £bn and refused in any other.
//!
//! A [`ParamRef`] knows the parameter's physical domain (so a share cannot be given a distribution
//! that leaves [0, 1]), its point value in each scenario, and how to write a sampled value into
//! resolved [`Inputs`]. Paths are the same as the field names in model-file error messages.

use crate::kernel::discount_factors;
use crate::model::{BenefitBasis, Inputs, ModelSpec, ScaledCost, ThemeInputs};
use crate::money::MoneyUnit;

/// The amounts of money of a theme: their names on paths (and in the model file) with the former
/// `_bn` names, which mean £bn.
pub const MONEY_FIELDS: [(&str, &str); 5] = [
    ("addressable_spend", "addressable_spend_bn"),
    ("gross_benefit", "gross_benefit_bn"),
    ("scaled_cost", "scaled_cost_bn"),
    ("one_off_costs", "one_off_costs_bn"),
    ("ongoing_costs", "ongoing_costs_bn"),
];

/// A path with any former `_bn` field name replaced by its name: two paths name the same
/// parameter exactly when their canonical forms are equal.
pub fn canonical_path(path: &str) -> String {
    let mut parts: Vec<String> = path.split('.').map(str::to_string).collect();
    if parts.len() == 3 && parts[0] == "themes" {
        let (name, index) = match parts[2].split_once('[') {
            Some((n, i)) => (n.to_string(), format!("[{i}")),
            None => (parts[2].clone(), String::new()),
        };
        if let Some((new, _)) = MONEY_FIELDS.iter().find(|(_, old)| *old == name) {
            parts[2] = format!("{new}{index}");
        }
    }
    parts.join(".")
}

/// The physical range of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// A share in [0, 1].
    Share,
    /// Any number ≥ 0.
    NonNegative,
    /// A discount rate > -1.
    Rate,
}

impl Domain {
    /// Whether the interval [lo, hi] lies inside the domain.
    pub fn contains_interval(self, lo: f64, hi: f64) -> bool {
        match self {
            Domain::Share => lo >= 0.0 && hi <= 1.0,
            Domain::NonNegative => lo >= 0.0,
            Domain::Rate => lo > -1.0 && hi.is_finite(),
        }
    }

    /// Human description for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Domain::Share => "a share in [0, 1]",
            Domain::NonNegative => "a number ≥ 0",
            Domain::Rate => "a finite rate > -1",
        }
    }
}

/// Which field of a theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThemeField {
    AddressableSpend,
    Delay,
    Cohort,
    /// The volume factor of a theme stated at theme level (point value 1).
    Volume,
    Engagement,
    GrossBenefit,
    Realisation,
    Cashability,
    OptimismBiasBenefit,
    OptimismBiasCost,
    ScaledCost,
    /// A yearly list; `None` = every year (one draw moves the whole list).
    Profile(Option<usize>),
    OneOff(Option<usize>),
    Ongoing(Option<usize>),
    /// A partner's share (index into the model's partners); the other shares are rescaled so
    /// that the shares still sum to 1.
    Share(usize),
    /// A partner's share of the costs of a theme that lists outcomes (rescaled like `Share`).
    CostShare(usize),
    /// A field of outcome number `.0` of a theme that lists outcomes.
    Outcome(usize, OutcomeField),
}

/// Which field of an outcome ([`crate::local`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeField {
    Cohort,
    Engagement,
    Impact,
    Deadweight,
    /// A value per successful member per year, by position in [`crate::local::VALUE_TYPES`].
    Value(usize),
    Lag,
    Persistence,
    DropOff,
    OptimismBias,
    /// A partner's share of the outcome's fiscal value (rescaled like `Share`).
    AgencyShare(usize),
}

const OUTCOME_FIELDS: [(&str, OutcomeField, Domain); 12] = [
    ("cohort", OutcomeField::Cohort, Domain::NonNegative),
    ("engagement", OutcomeField::Engagement, Domain::Share),
    ("impact", OutcomeField::Impact, Domain::Share),
    ("deadweight", OutcomeField::Deadweight, Domain::Share),
    (
        "fiscal_cashable_gbp",
        OutcomeField::Value(0),
        Domain::NonNegative,
    ),
    (
        "fiscal_non_cashable_gbp",
        OutcomeField::Value(1),
        Domain::NonNegative,
    ),
    ("economic_gbp", OutcomeField::Value(2), Domain::NonNegative),
    ("social_gbp", OutcomeField::Value(3), Domain::NonNegative),
    ("lag_years", OutcomeField::Lag, Domain::NonNegative),
    (
        "persistence_years",
        OutcomeField::Persistence,
        Domain::NonNegative,
    ),
    ("drop_off", OutcomeField::DropOff, Domain::Share),
    ("optimism_bias", OutcomeField::OptimismBias, Domain::Share),
];

/// Where a parameter lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The discount rate schedule: `None` moves the whole schedule (every year's rate shifts by
    /// the same amount, so the value drawn is the last year's rate, the path's point value), `Some(i)`
    /// the rate of list element `i` (as in the model file's `discount_rate` list). The undiscounted
    /// year stays the model's.
    DiscountRate(Option<usize>),
    Theme(usize, ThemeField),
}

/// A resolved parameter path.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamRef {
    pub path: String,
    pub target: Target,
    pub domain: Domain,
    /// Point values per scenario; one value per element (a whole yearly list has several). An
    /// amount of money is in the model's money unit.
    pub values: Vec<Vec<f64>>,
    /// The money unit of an amount of money (`None` for any other parameter, whose values the
    /// engine takes as they are).
    pub money: Option<MoneyUnit>,
}

impl ParamRef {
    /// Number of values one draw writes (1, or the length of a whole yearly list).
    pub fn width(&self) -> usize {
        self.values[0].len()
    }

    /// Values of this parameter (as drawn, in its unit) converted in place to what the engine
    /// holds: amounts of money in £bn. Nothing changes for a model in £bn.
    pub fn to_engine(&self, values: &mut [f64]) {
        if let Some(u) = self.money
            && u != MoneyUnit::Billion
        {
            for v in values {
                *v = u.to_bn(*v);
            }
        }
    }

    /// The parameter's unit for display: the money unit, or "" for a share, rate or count.
    pub fn unit(&self) -> &'static str {
        self.money.map_or("", |u| u.symbol())
    }
}

const SCALAR_FIELDS: [(&str, ThemeField, Domain); 11] = [
    (
        "addressable_spend",
        ThemeField::AddressableSpend,
        Domain::NonNegative,
    ),
    ("delay_years", ThemeField::Delay, Domain::NonNegative),
    ("cohort", ThemeField::Cohort, Domain::NonNegative),
    ("volume_factor", ThemeField::Volume, Domain::NonNegative),
    ("engagement", ThemeField::Engagement, Domain::Share),
    ("realisation", ThemeField::Realisation, Domain::Share),
    ("cashability", ThemeField::Cashability, Domain::Share),
    (
        "optimism_bias_benefit",
        ThemeField::OptimismBiasBenefit,
        Domain::Share,
    ),
    (
        "optimism_bias_cost",
        ThemeField::OptimismBiasCost,
        Domain::NonNegative,
    ),
    (
        "gross_benefit",
        ThemeField::GrossBenefit,
        Domain::NonNegative,
    ),
    ("scaled_cost", ThemeField::ScaledCost, Domain::NonNegative),
];

/// Every path a model accepts (for suggestions and listings), whole lists only.
pub fn all_paths(m: &ModelSpec) -> Vec<String> {
    let mut out = vec!["discount_rate".to_string()];
    for t in &m.themes {
        for name in field_names(t) {
            out.push(format!("themes.{}.{name}", t.id));
        }
        match &t.local {
            None => {
                for p in &m.partners {
                    out.push(format!("themes.{}.partner_shares.{}", t.id, p.id));
                }
            }
            Some(l) => {
                for p in &m.partners {
                    out.push(format!("themes.{}.cost_shares.{}", t.id, p.id));
                }
                for o in &l.outcomes {
                    for (name, _, _) in OUTCOME_FIELDS {
                        out.push(format!("themes.{}.outcomes.{}.{name}", t.id, o.id));
                    }
                    for p in &m.partners {
                        out.push(format!(
                            "themes.{}.outcomes.{}.agency_shares.{}",
                            t.id, o.id, p.id
                        ));
                    }
                }
            }
        }
    }
    out
}

fn field_names(t: &crate::model::ThemeSpec) -> Vec<&'static str> {
    if t.local.is_some() {
        // Benefits are stated per outcome; the scaled cost only as a theme-level amount.
        return vec![
            "addressable_spend",
            "delay_years",
            "optimism_bias_cost",
            "profile",
            "one_off_costs",
            "ongoing_costs",
            "scaled_cost",
        ];
    }
    let mut v = vec![
        "addressable_spend",
        "delay_years",
        "realisation",
        "cashability",
        "optimism_bias_benefit",
        "optimism_bias_cost",
        "profile",
        "one_off_costs",
        "ongoing_costs",
    ];
    match t.benefit {
        BenefitBasis::Total { .. } => v.extend(["gross_benefit", "volume_factor"]),
        BenefitBasis::PerMember { .. } => {
            v.extend(["cohort", "engagement", "benefit_per_engaged_gbp"])
        }
    }
    match t.scaled_cost {
        ScaledCost::Total(_) => v.push("scaled_cost"),
        ScaledCost::PerEngaged(_) => v.push("cost_per_engaged_gbp"),
    }
    v
}

/// Resolve a path against a model. The error names what is wrong and suggests the nearest path.
pub fn resolve(m: &ModelSpec, path: &str) -> Result<ParamRef, String> {
    let scenarios = 0..m.scenarios.len();
    let unknown = || {
        let all = all_paths(m);
        let hint = crate::error::nearest(path, all.iter().map(|s| s.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        format!("names no parameter of the model{hint}")
    };
    if let Some(rest) = path.strip_prefix("discount_rate") {
        let n = m.discount_rates.len();
        let index = match rest {
            "" => None,
            _ => {
                let i: usize = rest
                    .strip_prefix('[')
                    .and_then(|x| x.strip_suffix(']'))
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(unknown)?;
                if i >= n {
                    return Err(format!(
                        "year index {i} is outside the list of {n} rates (0 to {})",
                        n - 1
                    ));
                }
                Some(i)
            }
        };
        let r = m.discount_rates[index.unwrap_or(n - 1)];
        return Ok(ParamRef {
            path: path.into(),
            target: Target::DiscountRate(index),
            domain: Domain::Rate,
            values: scenarios.map(|_| vec![r]).collect(),
            money: None,
        });
    }
    let rest = path.strip_prefix("themes.").ok_or_else(unknown)?;
    let (id, field) = rest.split_once('.').ok_or_else(unknown)?;
    let ti = m
        .themes
        .iter()
        .position(|t| t.id == id)
        .ok_or_else(unknown)?;
    let theme = &m.themes[ti];
    let inputs: Vec<Inputs> = scenarios.clone().map(|s| m.inputs(s)).collect();
    let ti_inputs = |s: usize| &inputs[s].themes[ti];
    let unit = m.money_unit;
    // A former `_bn` name: the same parameter in a model in £bn, refused in any other.
    let (base, year) = match field.split_once('[') {
        Some((n, i)) => (n, Some(i)),
        None => (field, None),
    };
    let renamed: String;
    let field: &str = match MONEY_FIELDS.iter().find(|(_, old)| *old == base) {
        Some((new, _)) => {
            if unit != MoneyUnit::Billion {
                return Err(format!(
                    "`{base}` is in £bn, but this model's amounts of money are in {unit}: name the parameter `themes.{id}.{new}` and give its values in {unit}"
                ));
            }
            renamed = match year {
                Some(i) => format!("{new}[{i}"),
                None => new.to_string(),
            };
            &renamed
        }
        None => field,
    };
    // An amount of money: its point values in the model's unit, and the unit it is drawn in.
    let money = |mut r: ParamRef, name: &str| {
        if MONEY_FIELDS.iter().any(|(n, _)| *n == name) {
            r.money = Some(unit);
            if unit != MoneyUnit::Billion {
                for v in r.values.iter_mut().flatten() {
                    *v = unit.from_bn(*v);
                }
            }
        }
        r
    };

    // A one-value field of the theme, read in each scenario.
    let scalar = |f: ThemeField, domain: Domain| ParamRef {
        path: path.into(),
        target: Target::Theme(ti, f),
        domain,
        values: scenarios
            .clone()
            .map(|s| vec![read(ti_inputs(s), f)])
            .collect(),
        money: None,
    };
    // A partner's share, named by partner id.
    let share = |pid: &str, f: &dyn Fn(usize) -> ThemeField| {
        let pi = m
            .partners
            .iter()
            .position(|p| p.id == pid)
            .ok_or_else(unknown)?;
        Ok(scalar(f(pi), Domain::Share))
    };
    if let Some(l) = &theme.local {
        if let Some(pid) = field.strip_prefix("cost_shares.") {
            return share(pid, &ThemeField::CostShare);
        }
        if let Some(rest) = field.strip_prefix("outcomes.") {
            let (oid, of) = rest.split_once('.').ok_or_else(unknown)?;
            let oi = l
                .outcomes
                .iter()
                .position(|o| o.id == oid)
                .ok_or_else(unknown)?;
            if let Some(pid) = of.strip_prefix("agency_shares.") {
                return share(pid, &|pi| {
                    ThemeField::Outcome(oi, OutcomeField::AgencyShare(pi))
                });
            }
            let (f, dom) = OUTCOME_FIELDS
                .iter()
                .find(|(n, _, _)| *n == of)
                .map(|(_, f, d)| (*f, *d))
                .ok_or_else(unknown)?;
            return Ok(scalar(ThemeField::Outcome(oi, f), dom));
        }
    }
    if let Some(pid) = field.strip_prefix("partner_shares.") {
        if theme.local.is_some() {
            return Err(unknown());
        }
        return share(pid, &ThemeField::Share);
    }
    // Yearly lists, whole or one element.
    let (name, index) = match field.split_once('[') {
        Some((n, idx)) => {
            let i: usize = idx
                .strip_suffix(']')
                .and_then(|x| x.parse().ok())
                .ok_or_else(|| format!("`{idx}` is not a year index like `[0]`"))?;
            (n, Some(i))
        }
        None => (field, None),
    };
    let list = match name {
        "profile" => Some((ThemeField::Profile(index), Domain::NonNegative)),
        "one_off_costs" => Some((ThemeField::OneOff(index), Domain::NonNegative)),
        "ongoing_costs" => Some((ThemeField::Ongoing(index), Domain::NonNegative)),
        _ => None,
    };
    if let Some((f, dom)) = list {
        let get = |s: usize| -> &Vec<f64> {
            let t = ti_inputs(s);
            // A theme that lists outcomes keeps its profile and ongoing costs as written in its
            // outcome inputs (the theme-level ones are compiled from them).
            match (f, t.local.as_deref()) {
                (ThemeField::Profile(_), Some(l)) => &l.intake,
                (ThemeField::Ongoing(_), Some(l)) => &l.ongoing_costs_bn,
                (ThemeField::Profile(_), None) => &t.profile,
                (ThemeField::OneOff(_), _) => &t.one_off_costs_bn,
                _ => &t.ongoing_costs_bn,
            }
        };
        let len = get(0).len();
        if let Some(i) = index
            && i >= len
        {
            return Err(format!(
                "year index {i} is outside the list of {len} years (0 to {})",
                len - 1
            ));
        }
        if matches!(f, ThemeField::Profile(None)) && (0..inputs.len()).any(|s| get(s).len() != len)
        {
            return Err("the profile has a different length in each scenario".into());
        }
        let r = ParamRef {
            path: path.into(),
            target: Target::Theme(ti, f),
            domain: dom,
            values: scenarios
                .map(|s| match index {
                    Some(i) => vec![get(s)[i]],
                    None => get(s).clone(),
                })
                .collect(),
            money: None,
        };
        return Ok(money(r, name));
    }
    if index.is_some() {
        return Err(unknown());
    }
    // Scalars; the per-member and theme-level names map to the same slot.
    let (f, dom) = match name {
        "benefit_per_engaged_gbp" => (ThemeField::GrossBenefit, Domain::NonNegative),
        "cost_per_engaged_gbp" => (ThemeField::ScaledCost, Domain::NonNegative),
        other => SCALAR_FIELDS
            .iter()
            .find(|(n, _, _)| *n == other)
            .map(|(_, f, d)| (*f, *d))
            .ok_or_else(unknown)?,
    };
    if !field_names(theme).contains(&name) {
        return Err(unknown());
    }
    Ok(money(scalar(f, dom), name))
}

fn read(t: &crate::model::ThemeInputs, f: ThemeField) -> f64 {
    if let Some(l) = t.local.as_deref() {
        match f {
            ThemeField::ScaledCost => return l.scaled_cost_bn,
            ThemeField::CostShare(p) => return l.cost_shares[p],
            ThemeField::Outcome(o, of) => {
                let o = &l.outcomes[o];
                return match of {
                    OutcomeField::Cohort => o.cohort,
                    OutcomeField::Engagement => o.engagement,
                    OutcomeField::Impact => o.impact,
                    OutcomeField::Deadweight => o.deadweight,
                    OutcomeField::Value(k) => o.values[k],
                    OutcomeField::Lag => o.lag_years,
                    OutcomeField::Persistence => o.persistence_years,
                    OutcomeField::DropOff => o.drop_off,
                    OutcomeField::OptimismBias => o.optimism_bias,
                    OutcomeField::AgencyShare(p) => o.agency_shares[p],
                };
            }
            _ => {}
        }
    }
    match f {
        ThemeField::AddressableSpend => t.addressable_spend_bn,
        ThemeField::Delay => t.delay_years,
        ThemeField::Cohort => t.cohort.unwrap_or(0.0),
        ThemeField::Volume => t.volume,
        ThemeField::Engagement => t.engagement,
        ThemeField::GrossBenefit => t.gross_benefit,
        ThemeField::Realisation => t.realisation,
        ThemeField::Cashability => t.cashability,
        ThemeField::OptimismBiasBenefit => t.optimism_bias_benefit,
        ThemeField::OptimismBiasCost => t.optimism_bias_cost,
        ThemeField::ScaledCost => t.scaled_cost,
        ThemeField::Share(p) => t.partner_shares[p],
        _ => f64::NAN,
    }
}

/// A part of the inputs that [`apply`] reads before it overwrites it, so that a run restores it
/// from the scenario's before each draw: every other target is overwritten whole, and nothing
/// else carries over from the draw before.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Restore {
    /// The rate schedule: a drawn whole schedule shifts it relative to the model's.
    Rates,
    /// A theme's partner shares: a drawn share rescales the others.
    Shares(usize),
    /// An outcome-level theme's cost shares: a drawn one rescales the others.
    CostShares(usize),
    /// An outcome's agency shares (theme, outcome): a drawn one rescales the others.
    AgencyShares(usize, usize),
}

impl Restore {
    /// What applying `target` reads before writing, if anything.
    pub fn of(target: Target) -> Option<Restore> {
        match target {
            Target::DiscountRate(None) => Some(Restore::Rates),
            Target::Theme(t, ThemeField::Share(_)) => Some(Restore::Shares(t)),
            Target::Theme(t, ThemeField::CostShare(_)) => Some(Restore::CostShares(t)),
            Target::Theme(t, ThemeField::Outcome(o, OutcomeField::AgencyShare(_))) => {
                Some(Restore::AgencyShares(t, o))
            }
            _ => None,
        }
    }

    /// Copy this part of `model` (the scenario's inputs) into `work`.
    pub fn restore(self, work: &mut Inputs, model: &Inputs) {
        match self {
            Restore::Rates => work.discount_rates.copy_from_slice(&model.discount_rates),
            Restore::Shares(t) => work.themes[t]
                .partner_shares
                .copy_from_slice(&model.themes[t].partner_shares),
            Restore::CostShares(t) => {
                if let Some((w, m)) = work.themes[t]
                    .local
                    .as_deref_mut()
                    .zip(model.themes[t].local.as_deref())
                {
                    w.cost_shares.copy_from_slice(&m.cost_shares);
                }
            }
            Restore::AgencyShares(t, o) => {
                if let Some((w, m)) = work.themes[t]
                    .local
                    .as_deref_mut()
                    .zip(model.themes[t].local.as_deref())
                {
                    w.outcomes[o]
                        .agency_shares
                        .copy_from_slice(&m.outcomes[o].agency_shares);
                }
            }
        }
    }
}

/// Write sampled values into resolved inputs. `values.len()` is the parameter's width.
///
/// A theme's plain number, a run's usual input, is written here, inlined into the loop over a
/// draw's inputs; the rest (the rates, lists, shares, and what a theme that lists outcomes
/// compiles from them) by `apply_other`.
#[inline]
pub fn apply(inputs: &mut Inputs, target: Target, values: &[f64]) {
    if let Target::Theme(ti, f) = target
        && let Some(x) = number_mut(&mut inputs.themes[ti], f)
    {
        *x = values[0];
        return;
    }
    apply_other(inputs, target, values);
}

/// The theme's plain number that `f` names; `None` for the cohort (an optional number), the
/// lists and the shares, and for the activity-scaled cost of a theme that lists outcomes (which
/// is compiled from its outcomes: `apply_other`).
fn number_mut(t: &mut ThemeInputs, f: ThemeField) -> Option<&mut f64> {
    let listed = t.local.is_some();
    Some(match f {
        ThemeField::AddressableSpend => &mut t.addressable_spend_bn,
        ThemeField::Delay => &mut t.delay_years,
        ThemeField::Volume => &mut t.volume,
        ThemeField::Engagement => &mut t.engagement,
        ThemeField::GrossBenefit => &mut t.gross_benefit,
        ThemeField::Realisation => &mut t.realisation,
        ThemeField::Cashability => &mut t.cashability,
        ThemeField::OptimismBiasBenefit => &mut t.optimism_bias_benefit,
        ThemeField::OptimismBiasCost => &mut t.optimism_bias_cost,
        ThemeField::ScaledCost if !listed => &mut t.scaled_cost,
        ThemeField::ScaledCost
        | ThemeField::Cohort
        | ThemeField::Profile(_)
        | ThemeField::OneOff(_)
        | ThemeField::Ongoing(_)
        | ThemeField::Share(_)
        | ThemeField::CostShare(_)
        | ThemeField::Outcome(..) => return None,
    })
}

/// [`apply`] for every target but a theme's plain number ([`number_mut`]).
fn apply_other(inputs: &mut Inputs, target: Target, values: &[f64]) {
    match target {
        Target::DiscountRate(index) => {
            let rates = &mut inputs.discount_rates;
            match index {
                Some(i) => rates[i] = values[0],
                None => {
                    let shift = values[0] - rates[rates.len() - 1];
                    for r in rates.iter_mut() {
                        *r += shift;
                    }
                    // Exactly the drawn value in the reference year, whatever the rounding.
                    let last = rates.len() - 1;
                    rates[last] = values[0];
                }
            }
            let df = discount_factors(rates, inputs.undiscounted_year);
            inputs.discount_factors.copy_from_slice(&df);
        }
        Target::Theme(ti, f) => {
            let t = &mut inputs.themes[ti];
            let v = values[0];
            if let Some(l) = t.local.as_deref_mut() {
                // A theme that lists outcomes: write what was written in the file, then compile.
                let written = match f {
                    ThemeField::Profile(i) => {
                        write_list(&mut l.intake, i, values);
                        true
                    }
                    ThemeField::Ongoing(i) => {
                        write_list(&mut l.ongoing_costs_bn, i, values);
                        true
                    }
                    ThemeField::ScaledCost => {
                        l.scaled_cost_bn = v;
                        true
                    }
                    ThemeField::CostShare(p) => {
                        rescale(&mut l.cost_shares, p, v);
                        true
                    }
                    ThemeField::Outcome(o, of) => {
                        let o = &mut l.outcomes[o];
                        match of {
                            OutcomeField::Cohort => o.cohort = v,
                            OutcomeField::Engagement => o.engagement = v,
                            OutcomeField::Impact => o.impact = v,
                            OutcomeField::Deadweight => o.deadweight = v,
                            OutcomeField::Value(k) => o.values[k] = v,
                            OutcomeField::Lag => o.lag_years = v,
                            OutcomeField::Persistence => o.persistence_years = v,
                            OutcomeField::DropOff => o.drop_off = v,
                            OutcomeField::OptimismBias => o.optimism_bias = v,
                            OutcomeField::AgencyShare(p) => rescale(&mut o.agency_shares, p, v),
                        }
                        true
                    }
                    _ => false,
                };
                if written {
                    crate::local::compile(t);
                    return;
                }
            }
            match f {
                ThemeField::Cohort => t.cohort = Some(v),
                ThemeField::Profile(i) => write_list(&mut t.profile, i, values),
                ThemeField::OneOff(i) => write_list(&mut t.one_off_costs_bn, i, values),
                ThemeField::Ongoing(i) => write_list(&mut t.ongoing_costs_bn, i, values),
                ThemeField::Share(p) => rescale(&mut t.partner_shares, p, v),
                // Only themes that list outcomes have these (handled above); `apply` writes the
                // plain numbers.
                ThemeField::CostShare(_)
                | ThemeField::Outcome(..)
                | ThemeField::AddressableSpend
                | ThemeField::Delay
                | ThemeField::Volume
                | ThemeField::Engagement
                | ThemeField::GrossBenefit
                | ThemeField::Realisation
                | ThemeField::Cashability
                | ThemeField::OptimismBiasBenefit
                | ThemeField::OptimismBiasCost
                | ThemeField::ScaledCost => {}
            }
        }
    }
}

/// Set share `p` to `v` and rescale the others so the total stays 1. It reads the others, so a
/// run restores them before each draw ([`Restore`]).
fn rescale(shares: &mut [f64], p: usize, v: f64) {
    if shares[p] == v {
        return;
    }
    let others: f64 = shares
        .iter()
        .enumerate()
        .filter(|(j, _)| *j != p)
        .map(|(_, s)| s)
        .sum();
    let scale = if others > 0.0 {
        (1.0 - v) / others
    } else {
        0.0
    };
    for (j, s) in shares.iter_mut().enumerate() {
        *s = if j == p { v } else { *s * scale };
    }
}

fn write_list(list: &mut [f64], index: Option<usize>, values: &[f64]) {
    match index {
        Some(i) => list[i] = values[0],
        None => list.copy_from_slice(values),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embedded::{EY2013_MODEL, EY2013_MODEL_FILE};
    use crate::format::parse_model;

    fn model() -> ModelSpec {
        parse_model(EY2013_MODEL_FILE, EY2013_MODEL).unwrap()
    }

    #[test]
    fn paths_resolve_to_scenario_values() {
        let m = model();
        let r = resolve(&m, "themes.health_social_care.realisation").unwrap();
        assert_eq!(r.domain, Domain::Share);
        assert!(r.values[0][0] < 1.0 && r.values[1][0] == 1.0);
        let r = resolve(&m, "themes.families_complex_needs.one_off_costs_bn").unwrap();
        assert_eq!(r.money, Some(MoneyUnit::Billion));
        assert_eq!(
            resolve(&m, "themes.families_complex_needs.one_off_costs")
                .unwrap()
                .target,
            r.target
        );
        assert_eq!(r.width(), 5);
        let r = resolve(&m, "themes.families_complex_needs.one_off_costs_bn[4]").unwrap();
        assert_eq!(r.width(), 1);
        let r = resolve(&m, "themes.families_complex_needs.cost_per_engaged_gbp").unwrap();
        assert_eq!(r.target, Target::Theme(1, ThemeField::ScaledCost));
    }

    #[test]
    fn unknown_paths_suggest_the_nearest() {
        let m = model();
        let e = resolve(&m, "themes.health_social_care.realisaton").unwrap_err();
        assert!(
            e.contains("did you mean `themes.health_social_care.realisation`?"),
            "{e}"
        );
        assert!(resolve(&m, "themes.work_skills.cohort").is_err());
        let e = resolve(&m, "themes.work_skills.profile[7]").unwrap_err();
        assert!(e.contains("outside"), "{e}");
    }

    #[test]
    fn a_volume_factor_scales_benefit_and_activity_cost_of_a_theme_without_cohort() {
        let m = model();
        let r = resolve(&m, "themes.work_skills.volume_factor").unwrap();
        assert_eq!(r.target, Target::Theme(2, ThemeField::Volume));
        assert_eq!(r.values, vec![vec![1.0], vec![1.0]]);
        // A theme with a cohort samples the cohort instead.
        let e = resolve(&m, "themes.families_complex_needs.volume_factor").unwrap_err();
        assert!(e.contains("names no parameter"), "{e}");
        let base = m.inputs(1);
        let mut i = m.inputs(1);
        apply(&mut i, r.target, &[1.1]);
        let (a, b) = (&base.themes[2], &i.themes[2]);
        assert!(a.full_gross_bn() > 0.0 && a.full_scaled_cost_bn() > 0.0);
        assert!((b.full_gross_bn() / a.full_gross_bn() - 1.1).abs() < 1e-12);
        assert!((b.full_scaled_cost_bn() / a.full_scaled_cost_bn() - 1.1).abs() < 1e-12);
    }

    /// A theme that lists outcomes compiles its activity-scaled cost into its yearly costs (by
    /// its intake); a sampled value must go there, through the compile, and never into the
    /// plain field, which the kernel would add a second time.
    #[test]
    fn a_listed_themes_scaled_cost_is_compiled_not_written() {
        let m = parse_model(
            "examples/gm_troubled_families/model.toml",
            include_str!("../examples/gm_troubled_families/model.toml"),
        )
        .unwrap();
        let r = resolve(&m, "themes.families.scaled_cost_bn").unwrap();
        assert_eq!(r.target, Target::Theme(0, ThemeField::ScaledCost));
        let base = m.inputs(0);
        let mut i = m.inputs(0);
        let was = base.themes[0].local.as_ref().unwrap().scaled_cost_bn;
        apply(&mut i, r.target, &[2.0 * was]);
        let (a, b) = (&base.themes[0], &i.themes[0]);
        assert_eq!(b.local.as_ref().unwrap().scaled_cost_bn, 2.0 * was);
        assert_eq!(b.scaled_cost, a.scaled_cost);
        assert!(
            b.ongoing_costs_bn
                .iter()
                .zip(&a.ongoing_costs_bn)
                .any(|(b, a)| b > a),
            "{:?} against {:?}",
            b.ongoing_costs_bn,
            a.ongoing_costs_bn
        );
    }

    #[test]
    fn applying_a_share_keeps_the_shares_summing_to_one() {
        let m = model();
        let r = resolve(&m, "themes.work_skills.partner_shares.DWP").unwrap();
        let mut i = m.inputs(1);
        apply(&mut i, r.target, &[0.5]);
        let s: f64 = i.themes[2].partner_shares.iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
        assert_eq!(i.themes[2].partner_shares[2], 0.5);
    }

    #[test]
    fn applying_the_scenario_values_reproduces_the_scenario() {
        let m = model();
        let mut i = m.inputs(1);
        for p in all_paths(&m) {
            let r = resolve(&m, &p).unwrap();
            apply(&mut i, r.target, &r.values[0]);
        }
        let prudent = m.inputs(0);
        assert_eq!(i.themes, prudent.themes);
    }
}
