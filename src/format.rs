//! The model file format (TOML) and its conversion into validated domain types.
//!
//! The serde types here mirror the file and are only parsed; [`parse_model`] is the single place
//! where a model file is checked. Every rejection is an [`InputError`] naming the file,
//! line:column, the field (as a parameter path such as `themes.work_skills.realisation`), the
//! value and what is allowed. Nothing outside this module sees the raw types.
//!
//! Any numeric parameter may be written as one number (the same in every scenario) or as a table
//! keyed by scenario name, e.g. `realisation = { prudent = 0.64, base = 1.0 }`; yearly lists
//! likewise (`one_off_costs = { prudent = [..], base = [..] }`). Amounts of money are in the model's
//! `money_unit` and converted to the engine's £bn here ([`crate::money`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;

use serde::Deserialize;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use toml::Spanned;

use crate::engine::MAX_OUTCOME;
use crate::error::{InputError, show};
use crate::kernel::{ThemeEval, slid_profile_pv};
use crate::local::{LocalSpec, OutcomeSpec, VALUE_TYPES};
use crate::model::{BenefitBasis, BudgetClass, ModelSpec, Param, Partner, ScaledCost, ThemeSpec};
use crate::money::MoneyUnit;

/// Tolerance on the sum of a theme's partner shares (the shares are published to whole percent;
/// any remainder must be modelled explicitly, e.g. as an `unallocated` partner).
pub const SHARE_SUM_TOLERANCE: f64 = 1e-6;

/// Longest horizon accepted, in years.
pub const MAX_HORIZON: i64 = 200;

/// A number, or a table of numbers keyed by scenario.
#[derive(Debug)]
enum RawScalar {
    Same(Spanned<f64>),
    PerScenario(Vec<(String, Spanned<f64>)>),
}

/// A list of numbers, or a table of lists keyed by scenario.
#[derive(Debug)]
enum RawVector {
    Same(Vec<Spanned<f64>>),
    PerScenario(Vec<(String, Vec<Spanned<f64>>)>),
}

impl<'de> Deserialize<'de> for RawScalar {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawScalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or a table of numbers keyed by scenario")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawScalar, E> {
                Ok(RawScalar::Same(Spanned::new(0..0, v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawScalar, E> {
                Ok(RawScalar::Same(Spanned::new(0..0, v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawScalar, E> {
                Ok(RawScalar::Same(Spanned::new(0..0, v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawScalar, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    out.push((k, m.next_value::<Spanned<f64>>()?));
                }
                Ok(RawScalar::PerScenario(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for RawVector {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawVector;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of numbers or a table of lists keyed by scenario")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawVector, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<Spanned<f64>>()? {
                    out.push(v);
                }
                Ok(RawVector::Same(out))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawVector, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    out.push((k, m.next_value::<Vec<Spanned<f64>>>()?));
                }
                Ok(RawVector::PerScenario(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    model: Spanned<RawMeta>,
    #[serde(default)]
    partners: Vec<Spanned<RawPartner>>,
    #[serde(default)]
    themes: Vec<Spanned<RawTheme>>,
    /// Data confidence grade → optimism-bias correction of an outcome's values.
    #[serde(default)]
    confidence_grades: Option<Spanned<BTreeMap<String, Spanned<f64>>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeta {
    name: Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    price_base: String,
    horizon_years: Spanned<i64>,
    #[serde(default)]
    discount_rate: Option<Spanned<RawRate>>,
    #[serde(default)]
    undiscounted_year: Option<Spanned<i64>>,
    scenarios: Spanned<Vec<Spanned<String>>>,
    /// The unit of the model's amounts of money ([`MoneyUnit`]); £bn when absent.
    #[serde(default)]
    money_unit: Option<Spanned<String>>,
}

/// A discount rate: one for every year, or a list with one per year.
#[derive(Debug)]
enum RawRate {
    One(f64),
    PerYear(Vec<f64>),
}

impl<'de> Deserialize<'de> for RawRate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a rate as a number (0.035 for 3.5%), or a list of such numbers, one per year",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRate, E> {
                Ok(RawRate::One(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRate, E> {
                Ok(RawRate::One(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawRate, E> {
                Ok(RawRate::One(v))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<RawRate, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = s.next_element::<f64>()? {
                    out.push(v);
                }
                Ok(RawRate::PerYear(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartner {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    budget_class: Option<Spanned<String>>,
    #[serde(default)]
    budget: Option<Spanned<f64>>,
    /// `budget` in £bn (the name before models stated their money unit).
    #[serde(default)]
    budget_bn: Option<Spanned<f64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    id: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    indicative: Option<Spanned<bool>>,
    #[serde(default)]
    addressable_spend: Option<Spanned<RawScalar>>,
    #[serde(default)]
    addressable_spend_bn: Option<Spanned<RawScalar>>,
    profile: Spanned<RawVector>,
    #[serde(default)]
    delay_years: Option<Spanned<RawScalar>>,
    #[serde(default)]
    gross_benefit: Option<Spanned<RawScalar>>,
    #[serde(default)]
    gross_benefit_bn: Option<Spanned<RawScalar>>,
    #[serde(default)]
    cohort: Option<Spanned<RawScalar>>,
    #[serde(default)]
    engagement: Option<Spanned<RawScalar>>,
    #[serde(default)]
    benefit_per_engaged_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    realisation: Option<Spanned<RawScalar>>,
    #[serde(default)]
    cashability: Option<Spanned<RawScalar>>,
    #[serde(default)]
    optimism_bias_benefit: Option<Spanned<RawScalar>>,
    #[serde(default)]
    optimism_bias_cost: Option<Spanned<RawScalar>>,
    #[serde(default)]
    one_off_costs: Option<Spanned<RawVector>>,
    #[serde(default)]
    one_off_costs_bn: Option<Spanned<RawVector>>,
    #[serde(default)]
    ongoing_costs: Option<Spanned<RawVector>>,
    #[serde(default)]
    ongoing_costs_bn: Option<Spanned<RawVector>>,
    #[serde(default)]
    scaled_cost: Option<Spanned<RawScalar>>,
    #[serde(default)]
    scaled_cost_bn: Option<Spanned<RawScalar>>,
    #[serde(default)]
    cost_per_engaged_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    partner_shares: Option<Spanned<RawShares>>,
    #[serde(default)]
    outcomes: Vec<Spanned<RawOutcome>>,
    #[serde(default)]
    cost_shares: Option<Spanned<RawShares>>,
}

type RawShares = BTreeMap<String, Spanned<RawScalar>>;

/// One outcome of an outcome-level theme ([`crate::local`]).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOutcome {
    id: Spanned<String>,
    name: Spanned<String>,
    cohort: Spanned<RawScalar>,
    #[serde(default)]
    engagement: Option<Spanned<RawScalar>>,
    impact: Spanned<RawScalar>,
    #[serde(default)]
    deadweight: Option<Spanned<RawScalar>>,
    #[serde(default)]
    fiscal_cashable_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    fiscal_non_cashable_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    economic_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    social_gbp: Option<Spanned<RawScalar>>,
    #[serde(default)]
    lag_years: Option<Spanned<RawScalar>>,
    #[serde(default)]
    persistence_years: Option<Spanned<RawScalar>>,
    #[serde(default)]
    drop_off: Option<Spanned<RawScalar>>,
    #[serde(default)]
    confidence: Option<Spanned<RawGrade>>,
    #[serde(default)]
    optimism_bias: Option<Spanned<RawScalar>>,
    agency_shares: Spanned<RawShares>,
}

/// A data confidence grade, written as a number or a name.
#[derive(Debug)]
struct RawGrade(String);

impl<'de> Deserialize<'de> for RawGrade {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawGrade;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a confidence grade named in [confidence_grades], as a number or a string",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawGrade, E> {
                Ok(RawGrade(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawGrade, E> {
                Ok(RawGrade(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawGrade, E> {
                Ok(RawGrade(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// What values a numeric field accepts.
#[derive(Clone, Copy)]
enum Domain {
    /// Any finite number ≥ 0.
    NonNegative,
    /// Finite and > 0.
    Positive,
    /// A share in [0, 1].
    Share,
}

impl Domain {
    fn check(self, v: f64) -> Result<(), &'static str> {
        let ok = match self {
            Domain::NonNegative => v.is_finite() && v >= 0.0,
            Domain::Positive => v.is_finite() && v > 0.0,
            Domain::Share => (0.0..=1.0).contains(&v),
        };
        if ok {
            Ok(())
        } else {
            Err(match self {
                Domain::NonNegative => "must be a finite number ≥ 0",
                Domain::Positive => "must be a finite number > 0",
                Domain::Share => "must be a share in [0, 1]",
            })
        }
    }
}

/// A field's name for messages, built only when a message needs it (a model of 10^5 themes has
/// millions of fields, and formatting each name up front cost as much as parsing the file).
type Name<'a> = &'a dyn Fn() -> String;

/// Conversion context: the file being read and its scenarios.
struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
    scenarios: Vec<String>,
    /// The unit the file writes its amounts of money in.
    money: MoneyUnit,
}

impl Ctx<'_> {
    /// A money field given under its `name` or its `alias` (the `_bn` name from before models
    /// stated their money unit): the value with the name it was given under. Both at once is
    /// refused, and so is the alias in a model whose money unit is not £bn (the alias means £bn;
    /// a model's amounts are all in its own unit).
    fn money_field<T>(
        &self,
        prefix: &str,
        (name, alias): (&'static str, &'static str),
        value: Option<Spanned<T>>,
        old: Option<Spanned<T>>,
    ) -> Result<Option<(Spanned<T>, &'static str)>, InputError> {
        match (value, old) {
            (Some(v), None) => Ok(Some((v, name))),
            (None, None) => Ok(None),
            (Some(_), Some(o)) => Err(self.err(
                o.span(),
                &format!("{prefix}.{alias}"),
                format!("given with `{name}`"),
                &format!("`{alias}` is the former name of `{name}`: give one of them"),
            )),
            (None, Some(o)) if self.money != MoneyUnit::Billion => {
                let text = self.src.get(o.span()).unwrap_or("").trim();
                let value = if text.is_empty() || text.contains('\n') {
                    "given".to_string()
                } else {
                    text.to_string()
                };
                Err(self.err(
                    o.span(),
                    &format!("{prefix}.{alias}"),
                    value,
                    &format!(
                        "a `_bn` name is in £bn, but this model's money_unit is \"{}\": write `{name}` with the amount in {}",
                        self.money, self.money
                    ),
                ))
            }
            (None, Some(o)) => Ok(Some((o, alias))),
        }
    }

    /// Amounts written in the model's money unit, in £bn (unchanged for a model in £bn).
    fn bn(&self, p: Param<f64>) -> Param<f64> {
        let u = self.money;
        match p {
            _ if u == MoneyUnit::Billion => p,
            Param::Same(v) => Param::Same(u.to_bn(v)),
            Param::PerScenario(v) => {
                Param::PerScenario(v.into_iter().map(|x| u.to_bn(x)).collect())
            }
        }
    }

    /// Yearly amounts written in the model's money unit, in £bn.
    fn bn_list(&self, p: Param<Vec<f64>>) -> Param<Vec<f64>> {
        let u = self.money;
        let conv = |v: Vec<f64>| v.into_iter().map(|x| u.to_bn(x)).collect();
        match p {
            _ if u == MoneyUnit::Billion => p,
            Param::Same(v) => Param::Same(conv(v)),
            Param::PerScenario(v) => Param::PerScenario(v.into_iter().map(conv).collect()),
        }
    }

    fn err(&self, span: Range<usize>, field: &str, value: String, allowed: &str) -> InputError {
        InputError::value(self.file, self.src, span.start, field, value, allowed)
    }

    /// A name shown in tables, charts and reports: refused when it is blank.
    fn label(&self, s: Spanned<String>, field: &str) -> Result<String, InputError> {
        if s.get_ref().trim().is_empty() {
            return Err(self.err(
                s.span(),
                field,
                format!("{:?}", s.get_ref()),
                "must not be blank: it names this part in every table, chart and report",
            ));
        }
        Ok(s.into_inner())
    }

    /// Resolve a per-scenario table into values in scenario order.
    fn scenario_keys<T>(
        &self,
        span: Range<usize>,
        field: Name,
        entries: Vec<(String, T)>,
    ) -> Result<Vec<T>, InputError> {
        let mut slots: Vec<Option<T>> = self.scenarios.iter().map(|_| None).collect();
        for (k, v) in entries {
            match self.scenarios.iter().position(|s| *s == k) {
                Some(i) => slots[i] = Some(v),
                None => {
                    let hint = crate::error::nearest(&k, self.scenarios.iter().map(|s| s.as_str()))
                        .map(|s| format!(" (did you mean `{s}`?)"))
                        .unwrap_or_default();
                    return Err(self.err(
                        span,
                        &field(),
                        format!("a table with key `{k}`"),
                        &format!(
                            "keys must be the model's scenarios {:?}{hint}",
                            self.scenarios
                        ),
                    ));
                }
            }
        }
        if let Some(i) = slots.iter().position(|s| s.is_none()) {
            return Err(self.err(
                span,
                &field(),
                "a per-scenario table".into(),
                &format!("missing scenario `{}`", self.scenarios[i]),
            ));
        }
        Ok(slots.into_iter().map(|s| s.unwrap()).collect())
    }

    fn number(
        &self,
        v: &Spanned<f64>,
        outer: &Range<usize>,
        field: Name,
        dom: Domain,
    ) -> Result<f64, InputError> {
        let span = if v.span().is_empty() {
            outer.clone()
        } else {
            v.span()
        };
        dom.check(*v.get_ref())
            .map_err(|allowed| self.err(span, &field(), show(*v.get_ref()), allowed))?;
        Ok(*v.get_ref())
    }

    fn scalar(
        &self,
        raw: Spanned<RawScalar>,
        field: Name,
        dom: Domain,
    ) -> Result<Param<f64>, InputError> {
        let span = raw.span();
        match raw.into_inner() {
            RawScalar::Same(v) => Ok(Param::Same(self.number(&v, &span, field, dom)?)),
            RawScalar::PerScenario(entries) => {
                let vals = self.scenario_keys(span.clone(), field, entries)?;
                let mut out = Vec::with_capacity(vals.len());
                for (s, v) in self.scenarios.iter().zip(&vals) {
                    out.push(self.number(v, &span, &|| format!("{}.{s}", field()), dom)?);
                }
                Ok(Param::PerScenario(out))
            }
        }
    }

    fn opt_scalar(
        &self,
        raw: Option<Spanned<RawScalar>>,
        field: Name,
        dom: Domain,
        default: f64,
    ) -> Result<Param<f64>, InputError> {
        match raw {
            Some(r) => self.scalar(r, field, dom),
            None => Ok(Param::Same(default)),
        }
    }

    fn list(
        &self,
        vals: &[Spanned<f64>],
        span: &Range<usize>,
        field: Name,
        dom: Domain,
        len: LenRule,
    ) -> Result<Vec<f64>, InputError> {
        let n = vals.len();
        let ok = match len {
            LenRule::Exactly(h) => n == h,
            LenRule::UpTo(h) => (1..=h).contains(&n),
        };
        if !ok {
            let allowed = match len {
                LenRule::Exactly(h) => {
                    format!("must list exactly {h} values, one per year of the horizon")
                }
                LenRule::UpTo(h) => format!(
                    "must list 1 to {h} values (years after the last listed one hold its value)"
                ),
            };
            return Err(self.err(
                span.clone(),
                &field(),
                format!("a list of {n} values"),
                &allowed,
            ));
        }
        vals.iter()
            .enumerate()
            .map(|(i, v)| self.number(v, span, &|| format!("{}[{i}]", field()), dom))
            .collect()
    }

    fn vector(
        &self,
        raw: Spanned<RawVector>,
        field: Name,
        dom: Domain,
        len: LenRule,
    ) -> Result<Param<Vec<f64>>, InputError> {
        let span = raw.span();
        match raw.into_inner() {
            RawVector::Same(v) => Ok(Param::Same(self.list(&v, &span, field, dom, len)?)),
            RawVector::PerScenario(entries) => {
                let vals = self.scenario_keys(span.clone(), field, entries)?;
                let mut out = Vec::with_capacity(vals.len());
                for (s, v) in self.scenarios.iter().zip(&vals) {
                    out.push(self.list(v, &span, &|| format!("{}.{s}", field()), dom, len)?);
                }
                Ok(Param::PerScenario(out))
            }
        }
    }
}

#[derive(Clone, Copy)]
enum LenRule {
    Exactly(usize),
    UpTo(usize),
}

/// The optional fields of the `[model]` table, of a theme and of an outcome whose presence a
/// [`Layout`] records (the guard rails list the defaults taken), in the order of its bits.
pub(crate) const MODEL_OPTIONAL: [&str; 2] = ["discount_rate", "undiscounted_year"];
pub(crate) const THEME_OPTIONAL: [&str; 6] = [
    "delay_years",
    "realisation",
    "cashability",
    "optimism_bias_benefit",
    "optimism_bias_cost",
    "engagement",
];
pub(crate) const OUTCOME_OPTIONAL: [&str; 7] = [
    "engagement",
    "deadweight",
    "lag_years",
    "persistence_years",
    "drop_off",
    "confidence",
    "optimism_bias",
];

/// Where the parts of a model file are written, as far as the guard rails ([`crate::guard`])
/// need it for the warnings that any model may give (defaults taken, a theme without costs): the
/// `[model]` table, each theme's and outcome's `id`, and which of their optional fields are
/// given. It comes with the parse ([`parse_model_with_layout`]), so that the warnings of a large
/// model do not parse its file a second time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    pub(crate) model: Part,
    /// In the order of the model's themes.
    pub(crate) themes: Vec<Part>,
}

/// A table of a model file: its span (for a theme or an outcome, its `id`'s), which of its
/// optional fields are given, and its outcomes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Part {
    pub(crate) span: Range<usize>,
    given: u16,
    pub(crate) outcomes: Vec<Part>,
}

impl Part {
    fn new(span: Range<usize>, given: &[bool]) -> Part {
        let given = given
            .iter()
            .enumerate()
            .fold(0, |b, (i, g)| b | (u16::from(*g) << i));
        Part {
            span,
            given,
            outcomes: Vec::new(),
        }
    }

    /// Whether the optional field `key` (one of `names`, the list the part was recorded with) is
    /// given.
    pub(crate) fn given(&self, names: &[&str], key: &str) -> bool {
        names
            .iter()
            .position(|n| *n == key)
            .is_some_and(|i| self.given & (1 << i) != 0)
    }
}

impl Layout {
    fn of(raw: &RawFile) -> Layout {
        let m = raw.model.get_ref();
        Layout {
            model: Part::new(
                raw.model.span(),
                &[m.discount_rate.is_some(), m.undiscounted_year.is_some()],
            ),
            themes: raw
                .themes
                .iter()
                .map(|t| {
                    let t = t.get_ref();
                    let mut part = Part::new(
                        t.id.span(),
                        &[
                            t.delay_years.is_some(),
                            t.realisation.is_some(),
                            t.cashability.is_some(),
                            t.optimism_bias_benefit.is_some(),
                            t.optimism_bias_cost.is_some(),
                            t.engagement.is_some(),
                        ],
                    );
                    part.outcomes = t
                        .outcomes
                        .iter()
                        .map(|o| {
                            let o = o.get_ref();
                            Part::new(
                                o.id.span(),
                                &[
                                    o.engagement.is_some(),
                                    o.deadweight.is_some(),
                                    o.lag_years.is_some(),
                                    o.persistence_years.is_some(),
                                    o.drop_off.is_some(),
                                    o.confidence.is_some(),
                                    o.optimism_bias.is_some(),
                                ],
                            )
                        })
                        .collect();
                    part
                })
                .collect(),
        }
    }
}

/// The [`Layout`] of a model file, or `None` when it does not parse. A model already parsed with
/// [`parse_model_with_layout`] has it without parsing the file again.
pub fn layout(src: &str) -> Option<Layout> {
    toml::from_str::<RawFile>(src)
        .ok()
        .map(|raw| Layout::of(&raw))
}

/// Parse and validate a model file. `file` names the file in messages.
pub fn parse_model(file: &str, src: &str) -> Result<ModelSpec, InputError> {
    parse_model_with_layout(file, src).map(|(spec, _)| spec)
}

/// [`parse_model`], with where the file's parts are written (for [`crate::guard`]).
pub fn parse_model_with_layout(file: &str, src: &str) -> Result<(ModelSpec, Layout), InputError> {
    let raw: RawFile = toml::from_str(src).map_err(|e| parser_error(file, src, e))?;
    let layout = Layout::of(&raw);
    let meta = raw.model.into_inner();
    let mut ctx = Ctx {
        file,
        src,
        scenarios: Vec::new(),
        money: MoneyUnit::Billion,
    };
    if let Some(u) = &meta.money_unit {
        ctx.money = MoneyUnit::parse(u.get_ref()).ok_or_else(|| {
            ctx.err(
                u.span(),
                "model.money_unit",
                format!("{:?}", u.get_ref()),
                &format!(
                    "must be {}: the unit every amount of money in the model is written in (amounts per member, named `_gbp`, are in £)",
                    MoneyUnit::allowed()
                ),
            )
        })?;
    }

    // Scenarios.
    let sc_span = meta.scenarios.span();
    let scenarios = meta.scenarios.into_inner();
    if scenarios.is_empty() {
        return Err(ctx.err(
            sc_span,
            "model.scenarios",
            "[]".into(),
            "must name at least one scenario",
        ));
    }
    for (i, s) in scenarios.iter().enumerate() {
        if !valid_id(s.get_ref()) {
            return Err(ctx.err(
                s.span(),
                "model.scenarios",
                format!("{:?}", s.get_ref()),
                ID_RULE,
            ));
        }
        if scenarios[..i].iter().any(|p| p.get_ref() == s.get_ref()) {
            return Err(ctx.err(
                s.span(),
                "model.scenarios",
                format!("{:?}", s.get_ref()),
                "scenario names must be unique",
            ));
        }
    }
    ctx.scenarios = scenarios.into_iter().map(|s| s.into_inner()).collect();

    // Horizon and discounting.
    let h = *meta.horizon_years.get_ref();
    if !(1..=MAX_HORIZON).contains(&h) {
        return Err(ctx.err(
            meta.horizon_years.span(),
            "model.horizon_years",
            h.to_string(),
            &format!("must be a whole number of years in [1, {MAX_HORIZON}]"),
        ));
    }
    let h = h as usize;
    let rates = match meta.discount_rate {
        None => vec![0.035; h],
        Some(r) => {
            let span = r.span();
            let rates = match r.into_inner() {
                RawRate::One(v) => vec![v; h],
                RawRate::PerYear(v) => {
                    if v.len() != h {
                        return Err(ctx.err(
                            span,
                            "model.discount_rate",
                            format!("a list of {} rates", v.len()),
                            &format!(
                                "must be one rate, or a list of exactly {h} rates (one per year)"
                            ),
                        ));
                    }
                    v
                }
            };
            for v in &rates {
                if !v.is_finite() || *v <= -1.0 {
                    return Err(ctx.err(
                        span,
                        "model.discount_rate",
                        show(*v),
                        "must be a finite rate > -1 (that is, above -100%)",
                    ));
                }
            }
            rates
        }
    };
    let undiscounted_year = match meta.undiscounted_year {
        None => 1,
        Some(u) => {
            let v = *u.get_ref();
            if !(1..=h as i64).contains(&v) {
                return Err(ctx.err(
                    u.span(),
                    "model.undiscounted_year",
                    v.to_string(),
                    &format!("must be a year of the horizon, in [1, {h}]"),
                ));
            }
            v as usize
        }
    };

    // Partners.
    let mut partners = Vec::with_capacity(raw.partners.len());
    // Ids to positions, so that checks stay linear in the number of themes and partners.
    let mut partner_index: HashMap<String, usize> = HashMap::new();
    for p in raw.partners {
        let pspan = p.span();
        let p = p.into_inner();
        let id = p.id.get_ref().clone();
        if !valid_id(&id) {
            return Err(ctx.err(p.id.span(), "partners.id", format!("{id:?}"), ID_RULE));
        }
        if partner_index.contains_key(&id) {
            return Err(ctx.err(
                p.id.span(),
                "partners.id",
                format!("{id:?}"),
                "partner ids must be unique",
            ));
        }
        let prefix = format!("partners.{id}");
        let budget_given =
            ctx.money_field(&prefix, ("budget", "budget_bn"), p.budget, p.budget_bn)?;
        let budget_name = budget_given.as_ref().map_or("budget", |(_, n)| *n);
        let budget = match (p.budget_class, budget_given.map(|(b, _)| b)) {
            (None, None) => None,
            (Some(c), Some(b)) => {
                let class = match c.get_ref().as_str() {
                    "DEL" => BudgetClass::Del,
                    "AME" => BudgetClass::Ame,
                    other => {
                        return Err(ctx.err(
                            c.span(),
                            &format!("partners.{id}.budget_class"),
                            format!("{other:?}"),
                            "must be \"DEL\" or \"AME\"",
                        ));
                    }
                };
                let v = ctx.number(
                    &b,
                    &pspan,
                    &|| format!("partners.{id}.{budget_name}"),
                    Domain::Positive,
                )?;
                Some((class, ctx.money.to_bn(v)))
            }
            (Some(c), None) => {
                return Err(ctx.err(
                    c.span(),
                    &format!("partners.{id}.budget"),
                    "missing".into(),
                    &format!("a partner with a budget_class needs a budget (a year's, in {}), or give neither", ctx.money),
                ));
            }
            (None, Some(b)) => {
                return Err(ctx.err(b.span(), &format!("partners.{id}.budget_class"), "missing".into(), "a partner with a budget needs budget_class (\"DEL\" or \"AME\"), or give neither"));
            }
        };
        partner_index.insert(id.clone(), partners.len());
        partners.push(Partner {
            name: ctx.label(p.name, &format!("partners.{id}.name"))?,
            id,
            budget,
        });
    }

    // Data confidence grades and their optimism-bias corrections.
    let mut grades: Vec<(String, f64)> = Vec::new();
    if let Some(g) = raw.confidence_grades {
        for (k, v) in g.into_inner() {
            let x = ctx.number(
                &v,
                &(0..0),
                &|| format!("confidence_grades.{k}"),
                Domain::Share,
            )?;
            grades.push((k, x));
        }
    }

    // Themes.
    if raw.themes.is_empty() {
        return Err(ctx.err(
            0..0,
            "themes",
            "none".into(),
            "a model needs at least one [[themes]] entry",
        ));
    }
    let indicative = |t: &RawTheme| t.indicative.as_ref().is_some_and(|i| *i.get_ref());
    if let Some(last) = raw.themes.last()
        && raw.themes.iter().all(|t| indicative(t.get_ref()))
        && let Some(flag) = &last.get_ref().indicative
    {
        return Err(ctx.err(
            flag.span(),
            &format!("themes.{}.indicative", last.get_ref().id.get_ref()),
            "true, as is every theme's".into(),
            "at least one theme counted in the headline total (`indicative = false`, the default): with every theme indicative the total would count none",
        ));
    }
    let mut themes: Vec<ThemeSpec> = Vec::new();
    let mut theme_ids: HashSet<String> = HashSet::with_capacity(raw.themes.len());
    for t in raw.themes {
        let tspan = t.span();
        let mut t = t.into_inner();
        let id = t.id.get_ref().clone();
        if !valid_id(&id) {
            return Err(ctx.err(t.id.span(), "themes.id", format!("{id:?}"), ID_RULE));
        }
        if !theme_ids.insert(id.clone()) {
            return Err(ctx.err(
                t.id.span(),
                "themes.id",
                format!("{id:?}"),
                "theme ids must be unique",
            ));
        }
        let id_ref = id.as_str();
        let f = |name: &'static str| move || format!("themes.{id_ref}.{name}");
        let zeros = || Param::Same(vec![0.0; h]);
        let prefix = format!("themes.{id}");
        let addressable = ctx.money_field(
            &prefix,
            ("addressable_spend", "addressable_spend_bn"),
            t.addressable_spend.take(),
            t.addressable_spend_bn.take(),
        )?;
        let gross = ctx.money_field(
            &prefix,
            ("gross_benefit", "gross_benefit_bn"),
            t.gross_benefit.take(),
            t.gross_benefit_bn.take(),
        )?;
        let one_off = ctx.money_field(
            &prefix,
            ("one_off_costs", "one_off_costs_bn"),
            t.one_off_costs.take(),
            t.one_off_costs_bn.take(),
        )?;
        let ongoing = ctx.money_field(
            &prefix,
            ("ongoing_costs", "ongoing_costs_bn"),
            t.ongoing_costs.take(),
            t.ongoing_costs_bn.take(),
        )?;
        let scaled = ctx.money_field(
            &prefix,
            ("scaled_cost", "scaled_cost_bn"),
            t.scaled_cost.take(),
            t.scaled_cost_bn.take(),
        )?;

        let local = if t.outcomes.is_empty() {
            if let Some(c) = &t.cost_shares {
                return Err(ctx.err(c.span(), &f("cost_shares")(), "given".into(), "cost_shares apply to a theme that lists outcomes ([[themes.outcomes]]); a theme-level theme allocates its net benefit with partner_shares"));
            }
            None
        } else {
            let theme_level = [
                (
                    gross.as_ref().map_or("gross_benefit", |(_, n)| *n),
                    gross.as_ref().map(|(x, _)| x.span()),
                ),
                ("cohort", t.cohort.as_ref().map(|x| x.span())),
                ("engagement", t.engagement.as_ref().map(|x| x.span())),
                (
                    "benefit_per_engaged_gbp",
                    t.benefit_per_engaged_gbp.as_ref().map(|x| x.span()),
                ),
                ("realisation", t.realisation.as_ref().map(|x| x.span())),
                ("cashability", t.cashability.as_ref().map(|x| x.span())),
                (
                    "optimism_bias_benefit",
                    t.optimism_bias_benefit.as_ref().map(|x| x.span()),
                ),
                (
                    "cost_per_engaged_gbp",
                    t.cost_per_engaged_gbp.as_ref().map(|x| x.span()),
                ),
            ];
            if let Some((name, Some(span))) = theme_level.iter().find(|(_, s)| s.is_some()) {
                return Err(ctx.err(span.clone(), &f(name)(), "given".into(), "a theme that lists outcomes states its benefits per outcome (cohort, engagement, impact, deadweight, values by type, optimism_bias or confidence); remove this theme-level field or the outcomes"));
            }
            Some(local_spec(
                &ctx,
                &id,
                tspan.clone(),
                t.outcomes,
                t.cost_shares.take(),
                &grades,
                &partners,
                &partner_index,
            )?)
        };
        let benefit = match (gross, t.cohort, t.engagement, t.benefit_per_engaged_gbp) {
            (None, None, None, None) if local.is_some() => BenefitBasis::Total {
                gross_benefit_bn: Param::Same(0.0),
            },
            (Some((g, name)), None, None, None) => BenefitBasis::Total {
                gross_benefit_bn: ctx.bn(ctx.scalar(g, &f(name), Domain::NonNegative)?),
            },
            (None, Some(c), e, Some(b)) => BenefitBasis::PerMember {
                cohort: ctx.scalar(c, &f("cohort"), Domain::NonNegative)?,
                engagement: ctx.opt_scalar(e, &f("engagement"), Domain::Share, 1.0)?,
                benefit_per_engaged_gbp: ctx.scalar(
                    b,
                    &f("benefit_per_engaged_gbp"),
                    Domain::NonNegative,
                )?,
            },
            _ => {
                return Err(ctx.err(tspan, &f("gross_benefit")(), "an incomplete or mixed benefit statement".into(), &format!("give either gross_benefit ({} a year at full potential), or cohort and benefit_per_engaged_gbp (with an optional engagement share), not both", ctx.money)));
            }
        };
        let per_member = matches!(benefit, BenefitBasis::PerMember { .. });
        let scaled_name = scaled.as_ref().map_or("scaled_cost", |(_, n)| *n);
        let scaled_cost = match (scaled, t.cost_per_engaged_gbp) {
            (Some((s, name)), None) => {
                ScaledCost::Total(ctx.bn(ctx.scalar(s, &f(name), Domain::NonNegative)?))
            }
            (None, Some(c)) => {
                if !per_member {
                    return Err(ctx.err(c.span(), &f("cost_per_engaged_gbp")(), "given".into(), "a cost per engaged member needs the benefit stated per member (cohort and benefit_per_engaged_gbp); use scaled_cost otherwise"));
                }
                ScaledCost::PerEngaged(ctx.scalar(
                    c,
                    &f("cost_per_engaged_gbp"),
                    Domain::NonNegative,
                )?)
            }
            (None, None) => ScaledCost::Total(Param::Same(0.0)),
            (Some(_), Some(c)) => {
                return Err(ctx.err(
                    c.span(),
                    &f("cost_per_engaged_gbp")(),
                    format!("given with {scaled_name}"),
                    &format!("give at most one of {scaled_name} and cost_per_engaged_gbp"),
                ));
            }
        };

        // Partner shares: every key must be a partner; the shares must sum to 1 per scenario.
        let partner_shares = match t.partner_shares {
            Some(ps) if local.is_some() => {
                return Err(ctx.err(
                    ps.span(),
                    &f("partner_shares")(),
                    "given".into(),
                    "no partner_shares on a theme that lists outcomes: its partners' shares are each outcome's agency_shares (and its costs' cost_shares); remove partner_shares",
                ));
            }
            Some(ps) => shares(&ctx, ps, &f("partner_shares")(), &partners, &partner_index)?,
            None if local.is_some() => Param::Same(vec![0.0; partners.len()]),
            None => {
                return Err(ctx.err(
                    tspan,
                    &f("partner_shares")(),
                    "missing".into(),
                    "a theme needs partner_shares (the share of its net benefit per partner), unless it lists outcomes with their agency_shares",
                ));
            }
        };

        let ob_cost = ctx.opt_scalar(
            t.optimism_bias_cost,
            &f("optimism_bias_cost"),
            Domain::NonNegative,
            0.0,
        )?;
        themes.push(ThemeSpec {
            name: ctx.label(t.name, &f("name")())?,
            indicative: t.indicative.is_some_and(|i| i.into_inner()),
            addressable_spend_bn: match addressable {
                Some((a, name)) => ctx.bn(ctx.scalar(a, &f(name), Domain::Positive)?),
                None => {
                    return Err(ctx.err(
                        tspan,
                        &f("addressable_spend")(),
                        "missing".into(),
                        &format!("a theme needs its addressable spend: the annual spend it addresses, in {} (`addressable_spend_bn` in £bn is its former name)", ctx.money),
                    ));
                }
            },
            profile: ctx.vector(
                t.profile,
                &f("profile"),
                Domain::NonNegative,
                LenRule::UpTo(h),
            )?,
            delay_years: ctx.opt_scalar(
                t.delay_years,
                &f("delay_years"),
                Domain::NonNegative,
                0.0,
            )?,
            benefit,
            realisation: ctx.opt_scalar(t.realisation, &f("realisation"), Domain::Share, 1.0)?,
            cashability: ctx.opt_scalar(t.cashability, &f("cashability"), Domain::Share, 1.0)?,
            optimism_bias_benefit: ctx.opt_scalar(
                t.optimism_bias_benefit,
                &f("optimism_bias_benefit"),
                Domain::Share,
                0.0,
            )?,
            optimism_bias_cost: ob_cost,
            one_off_costs_bn: match one_off {
                Some((v, name)) => ctx.bn_list(ctx.vector(
                    v,
                    &f(name),
                    Domain::NonNegative,
                    LenRule::Exactly(h),
                )?),
                None => zeros(),
            },
            ongoing_costs_bn: match ongoing {
                Some((v, name)) => ctx.bn_list(ctx.vector(
                    v,
                    &f(name),
                    Domain::NonNegative,
                    LenRule::Exactly(h),
                )?),
                None => zeros(),
            },
            scaled_cost,
            partner_shares,
            local,
            id,
        });
    }
    let _ = meta.description;
    let spec = ModelSpec {
        name: ctx.label(meta.name, "model.name")?,
        price_base: meta.price_base,
        horizon_years: h,
        discount_rates: rates,
        undiscounted_year,
        scenarios: ctx.scenarios.clone(),
        money_unit: ctx.money,
        partners,
        themes,
    };
    check_finite(&ctx, &spec, &layout)?;
    Ok((spec, layout))
}

/// The outcome part of theme `id`: every outcome checked, optimism bias from the confidence
/// grade table when a grade is given.
#[allow(clippy::too_many_arguments)]
fn local_spec(
    ctx: &Ctx,
    id: &str,
    tspan: Range<usize>,
    outcomes: Vec<Spanned<RawOutcome>>,
    cost_shares: Option<Spanned<RawShares>>,
    grades: &[(String, f64)],
    partners: &[Partner],
    partner_index: &HashMap<String, usize>,
) -> Result<LocalSpec, InputError> {
    let cost_shares = match cost_shares {
        Some(c) => shares(
            ctx,
            c,
            &format!("themes.{id}.cost_shares"),
            partners,
            partner_index,
        )?,
        None => {
            return Err(ctx.err(
                tspan,
                &format!("themes.{id}.cost_shares"),
                "missing".into(),
                "a theme that lists outcomes needs cost_shares: the share of its costs each partner bears (for the net present budget impact per agency)",
            ));
        }
    };
    let mut out: Vec<OutcomeSpec> = Vec::with_capacity(outcomes.len());
    for o in outcomes {
        let o = o.into_inner();
        let oid = o.id.get_ref().clone();
        if !valid_id(&oid) {
            return Err(ctx.err(
                o.id.span(),
                &format!("themes.{id}.outcomes.id"),
                format!("{oid:?}"),
                ID_RULE,
            ));
        }
        if out.iter().any(|x| x.id == oid) {
            return Err(ctx.err(
                o.id.span(),
                &format!("themes.{id}.outcomes.id"),
                format!("{oid:?}"),
                "outcome ids must be unique within a theme",
            ));
        }
        let f = |name: &str| format!("themes.{id}.outcomes.{oid}.{name}");
        let value = |raw: Option<Spanned<RawScalar>>, k: usize| {
            ctx.opt_scalar(raw, &|| f(VALUE_TYPES[k]), Domain::NonNegative, 0.0)
        };
        let values = [
            value(o.fiscal_cashable_gbp, 0)?,
            value(o.fiscal_non_cashable_gbp, 1)?,
            value(o.economic_gbp, 2)?,
            value(o.social_gbp, 3)?,
        ];
        let (confidence, optimism_bias) = match (o.confidence, o.optimism_bias) {
            (Some(g), None) => {
                let name = g.get_ref().0.clone();
                match grades.iter().find(|(k, _)| *k == name) {
                    Some((_, v)) => (Some(name), Param::Same(*v)),
                    None => {
                        let known: Vec<&str> = grades.iter().map(|(k, _)| k.as_str()).collect();
                        return Err(ctx.err(g.span(), &f("confidence"), format!("{name:?}"), &format!("must be a grade listed in the model's [confidence_grades] table (grade = optimism-bias correction); listed: {known:?}")));
                    }
                }
            }
            (None, ob) => (
                None,
                ctx.opt_scalar(ob, &|| f("optimism_bias"), Domain::Share, 0.0)?,
            ),
            (Some(g), Some(_)) => {
                return Err(ctx.err(g.span(), &f("confidence"), "given with optimism_bias".into(), "give a confidence grade (its correction comes from [confidence_grades]) or an optimism_bias, not both"));
            }
        };
        out.push(OutcomeSpec {
            name: ctx.label(o.name, &f("name"))?,
            cohort: ctx.scalar(o.cohort, &|| f("cohort"), Domain::NonNegative)?,
            engagement: ctx.opt_scalar(o.engagement, &|| f("engagement"), Domain::Share, 1.0)?,
            impact: ctx.scalar(o.impact, &|| f("impact"), Domain::Share)?,
            deadweight: ctx.opt_scalar(o.deadweight, &|| f("deadweight"), Domain::Share, 0.0)?,
            values,
            lag_years: ctx.opt_scalar(o.lag_years, &|| f("lag_years"), Domain::NonNegative, 0.0)?,
            persistence_years: ctx.opt_scalar(
                o.persistence_years,
                &|| f("persistence_years"),
                Domain::NonNegative,
                1.0,
            )?,
            drop_off: ctx.opt_scalar(o.drop_off, &|| f("drop_off"), Domain::Share, 0.0)?,
            confidence,
            optimism_bias,
            agency_shares: shares(
                ctx,
                o.agency_shares,
                &f("agency_shares"),
                partners,
                partner_index,
            )?,
            id: oid,
        });
    }
    Ok(LocalSpec {
        outcomes: out,
        cost_shares,
    })
}

/// A table of shares keyed by partner id: every key must be a partner; the shares must sum to 1
/// in every scenario. `field` is the table's path.
fn shares(
    ctx: &Ctx,
    raw: Spanned<RawShares>,
    field: &str,
    partners: &[Partner],
    partner_index: &HashMap<String, usize>,
) -> Result<Param<Vec<f64>>, InputError> {
    let ps_span = raw.span();
    let raw_shares = raw.into_inner();
    let mut by_partner: Vec<Param<f64>> = vec![Param::Same(0.0); partners.len()];
    for (k, v) in raw_shares {
        let Some(&i) = partner_index.get(&k) else {
            let hint = crate::error::nearest(&k, partners.iter().map(|p| p.id.as_str()))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(ctx.err(
                v.span(),
                &format!("{field}.{k}"),
                format!("{k:?}"),
                &format!("must name a partner declared in [[partners]]{hint}"),
            ));
        };
        by_partner[i] = ctx.scalar(v, &|| format!("{field}.{k}"), Domain::Share)?;
    }
    let n_sc = ctx.scenarios.len();
    let per_scenario: Vec<Vec<f64>> = (0..n_sc)
        .map(|s| by_partner.iter().map(|p| p.get(s)).collect())
        .collect();
    for (s, shares) in per_scenario.iter().enumerate() {
        let sum: f64 = shares.iter().sum();
        if (sum - 1.0).abs() > SHARE_SUM_TOLERANCE {
            return Err(ctx.err(ps_span, field, format!("shares summing to {} in scenario `{}`", show((sum * 1e12).round() / 1e12), ctx.scenarios[s]), &format!("must sum to 1 (tolerance {SHARE_SUM_TOLERANCE}); model any remainder as an explicit partner such as `unallocated`")));
        }
    }
    Ok(if per_scenario.windows(2).all(|w| w[0] == w[1]) {
        Param::Same(per_scenario[0].clone())
    } else {
        Param::PerScenario(per_scenario)
    })
}

/// Every number of a model may be finite and yet their products overflow: evaluate each scenario
/// and refuse a model whose figures are not all finite, naming the theme, scenario and figure.
fn check_finite(ctx: &Ctx, spec: &ModelSpec, layout: &Layout) -> Result<(), InputError> {
    // The kernel per theme with its scratch reused (what `model::evaluate` computes, without
    // building the whole evaluation of every scenario).
    // A slice of the themes at a time: the inputs of 10^5 themes at once cost more to allocate
    // than to evaluate.
    const SLICE: usize = 256;
    let mut eval = ThemeEval::default();
    let mut slid = Vec::new();
    let n = spec.themes.len();
    for s in 0..spec.scenarios.len() {
        let (mut npv, mut pvb, mut pvc) = (0.0, 0.0, 0.0);
        for (first, inputs) in (0..n)
            .step_by(SLICE)
            .map(|first| (first, spec.inputs_of(s, first..n.min(first + SLICE))))
        {
            let df = &inputs.discount_factors;
            for (i, th) in inputs.themes.iter().enumerate() {
                let t = first + i;
                slid_profile_pv(th, df, &mut slid);
                eval.compute(th, df, &slid);
                let o = &eval;
                if inputs.headline[i] {
                    npv += o.npv;
                    pvb += o.pv_benefits;
                    pvc += o.pv_costs;
                }
                let figures = [
                    ("NPV", o.npv),
                    ("PV of benefits", o.pv_benefits),
                    ("PV of costs", o.pv_costs),
                    ("net annual benefit", o.net_annual),
                    (
                        "net annual benefit as a share of addressable spend",
                        o.net_annual / th.addressable_spend_bn,
                    ),
                ];
                let net = o.gross.iter().zip(&o.costs).map(|(g, c)| g - c);
                let bad = figures
                    .iter()
                    .find(|(_, v)| !v.is_finite())
                    .map(|(what, v)| (*what, *v))
                    .or_else(|| {
                        o.gross
                            .iter()
                            .chain(&o.costs)
                            .copied()
                            .chain(net)
                            .chain(o.discounted_net.iter().copied())
                            .find(|v| !v.is_finite())
                            .map(|v| ("yearly flow", v))
                    });
                // Finite, the outcomes a run summarises must also stay within ±1e100 (their
                // squares would overflow the statistics): found here, in the file, not by a run.
                let why = match bad {
                    Some((what, v)) => format!(
                        "its {what} in scenario `{}` is {}: its numbers are each allowed but together overflow; use smaller amounts or fewer orders of magnitude",
                        spec.scenarios[s],
                        show(v)
                    ),
                    None => match figures[..3].iter().find(|(_, v)| v.abs() > MAX_OUTCOME) {
                        Some((what, v)) => format!(
                            "its {what} in scenario `{}` is {v:.3e} £bn, beyond ±1e100 £bn (whose square would overflow the statistics): an amount of this theme is out of scale",
                            spec.scenarios[s]
                        ),
                        None => continue,
                    },
                };
                return Err(ctx.err(
                    layout.themes[t].span.clone(),
                    &format!("themes.{}", spec.themes[t].id),
                    format!("{:?}", spec.themes[t].id),
                    &why,
                ));
            }
        }
        // Summed in theme order, as `kernel::TotalEval` sums them.
        if let Some((what, v)) = [("NPV", npv), ("PV of benefits", pvb), ("PV of costs", pvc)]
            .into_iter()
            .find(|(_, v)| v.is_nan() || v.abs() > MAX_OUTCOME)
        {
            let why = if v.is_finite() {
                format!(
                    "{v:.3e} £bn, beyond ±1e100 £bn (whose square would overflow the statistics): the themes' figures are each within it but their sum is not"
                )
            } else {
                format!(
                    "{}: the themes' figures are each finite but their sum overflows",
                    show(v)
                )
            };
            return Err(ctx.err(
                0..0,
                "themes",
                format!("{} themes", spec.themes.len()),
                &format!(
                    "the headline total's {what} in scenario `{}` is {why}",
                    spec.scenarios[s]
                ),
            ));
        }
    }
    Ok(())
}

const ID_RULE: &str = "must be 1-64 characters of letters, digits and `_`, starting with a letter";

fn valid_id(s: &str) -> bool {
    let mut c = s.chars();
    matches!(c.next(), Some(ch) if ch.is_ascii_alphabetic())
        && s.len() <= 64
        && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
}

/// Turn a parser error into a located error that names the field (the parser keeps the key path
/// private but prints it when no input is attached) and the offending text.
pub fn parser_error(file: &str, src: &str, mut e: toml::de::Error) -> InputError {
    let span = e.span().unwrap_or(0..0);
    e.set_input(None);
    let shown = e.to_string();
    let key = shown
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("in `").and_then(|k| k.strip_suffix('`')))
        .map(str::to_string);
    let key = key.map(|k| qualified_key(&k, src, span.start));
    let mut message = plain_types(&with_suggestion(e.message()));
    let text = src.get(span.clone()).unwrap_or("").trim();
    if message.trim_end() == "duplicate key" {
        // The parser points at the repeated key but does not name it.
        let name = text.split(['=', '\n']).next().unwrap_or("").trim();
        let table = key
            .as_deref()
            .map_or(String::new(), |k| format!(" in `{k}`"));
        message =
            format!("duplicate key `{name}`{table}: each key may be given only once in a table");
        return InputError::syntax(file, src, span.start, message);
    }
    match key {
        Some(k)
            if !text.is_empty()
                && !text.contains('\n')
                && !message.starts_with("unknown field") =>
        {
            InputError::value(file, src, span.start, k, text.to_string(), message)
        }
        Some(k) if message.starts_with("missing field") => {
            let m = format!("{message} in `{k}`");
            InputError::syntax(file, src, span.start, m)
        }
        _ => InputError::syntax(file, src, span.start, message),
    }
}

/// The parser's key path of a value inside an array of tables drops which table: `themes.cohort`.
/// A model's themes, outcomes and partners are named by their `id`, as in every other message:
/// `themes.families.cohort`, taken from the `id` of the table the value at `offset` is in.
fn qualified_key(key: &str, src: &str, offset: usize) -> String {
    let offset = offset.min(src.len());
    // The start of the last line at or after `from` and before `offset` that opens the array of
    // tables `name` (`[[themes]]`, spaces inside the brackets allowed).
    let opened = |name: &str, from: usize| -> Option<usize> {
        std::iter::once(0)
            .chain(src[..offset].match_indices('\n').map(|(i, _)| i + 1))
            .filter(|&i| i >= from && i < offset && header_of(&src[i..]) == Some(name.into()))
            .max()
    };
    let theme = opened("themes", 0);
    if let Some(rest) = key.strip_prefix("themes.outcomes.") {
        if let Some(t) = theme.and_then(|i| id_in(src, i)) {
            // Only an outcome table opened inside this theme (its outcomes may be inline).
            return match theme.and_then(|i| opened("themes.outcomes", i + 1)) {
                Some(o) => match id_in(src, o) {
                    Some(o) => format!("themes.{t}.outcomes.{o}.{rest}"),
                    None => format!("themes.{t}.outcomes.{rest}"),
                },
                None => format!("themes.{t}.outcomes.{rest}"),
            };
        }
    } else if let Some(rest) = key.strip_prefix("themes.") {
        if let Some(t) = theme.and_then(|i| id_in(src, i)) {
            return format!("themes.{t}.{rest}");
        }
    } else if let Some(rest) = key.strip_prefix("partners.")
        && let Some(p) = opened("partners", 0).and_then(|i| id_in(src, i))
    {
        return format!("partners.{p}.{rest}");
    }
    key.to_string()
}

/// The name of the array of tables a line opens (`[[ themes.outcomes ]]` is `themes.outcomes`).
fn header_of(line: &str) -> Option<String> {
    let inner = line.trim_start().strip_prefix("[[")?;
    let name = &inner[..inner.find("]]")?];
    Some(name.chars().filter(|c| !c.is_whitespace()).collect())
}

/// The `id` given in the table whose header line starts at `start`, up to the next header.
fn id_in(src: &str, start: usize) -> Option<String> {
    let body = src[start..].split_once('\n')?.1;
    body.lines()
        .take_while(|l| !l.trim_start().starts_with('['))
        .find_map(|l| {
            let l = l.trim();
            let l = ["\"id\"", "'id'", "id"]
                .iter()
                .find_map(|k| l.strip_prefix(k))?
                .trim_start()
                .strip_prefix('=')?
                .trim_start();
            let q = l.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            let v = &l[1..];
            Some(v[..v.find(q)?].to_string())
        })
}

/// The parser's type names in words: "expected i64" is "expected a whole number".
fn plain_types(msg: &str) -> String {
    msg.replace(" as i128", " (too large)")
        .replace("expected i64", "expected a whole number")
        .replace("expected u64", "expected a whole number of at least 0")
        .replace("expected u32", "expected a whole number of at least 0")
        .replace("expected f64", "expected a number")
        .replace("floating point `", "number `")
}

/// Add a "did you mean" to serde's unknown-field message.
fn with_suggestion(msg: &str) -> String {
    let Some(rest) = msg.strip_prefix("unknown field `") else {
        return msg.to_string();
    };
    let Some((word, rest)) = rest.split_once('`') else {
        return msg.to_string();
    };
    let candidates: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    match crate::error::nearest(word, candidates.iter().copied()) {
        Some(s) => format!("{}\nhint: did you mean `{s}`?", msg.trim_end()),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[model]
name = "m"
price_base = "2012-13"
horizon_years = 3
scenarios = ["prudent", "base"]

[[partners]]
id = "A"
name = "A"
budget_class = "DEL"
budget_bn = 10.0

[[themes]]
id = "t"
name = "T"
addressable_spend_bn = 5.0
profile = [0.5, 1.0]
gross_benefit_bn = { prudent = 1.0, base = 2.0 }
one_off_costs_bn = [1.0, 0, 0]
partner_shares = { A = 1.0 }
"#;

    #[test]
    fn minimal_model_parses_with_defaults() {
        let m = parse_model("m.toml", MINIMAL).unwrap();
        assert_eq!(m.horizon_years, 3);
        assert_eq!(m.discount_rates, vec![0.035; 3]);
        assert_eq!(m.undiscounted_year, 1);
        let t = &m.themes[0];
        assert_eq!(t.realisation, Param::Same(1.0));
        assert_eq!(t.ongoing_costs_bn, Param::Same(vec![0.0; 3]));
        let i = m.inputs(1);
        assert_eq!(i.themes[0].gross_benefit, 2.0);
    }

    #[test]
    fn errors_point_at_the_offending_value() {
        let src = MINIMAL.replace("budget_bn = 10.0", "budget_bn = -10.0");
        let e = parse_model("m.toml", &src).unwrap_err().to_string();
        assert_eq!(
            e,
            "m.toml:12:13: `partners.A.budget_bn` = -10: must be a finite number > 0"
        );
    }

    #[test]
    fn per_scenario_values_are_located_individually() {
        let src = MINIMAL.replace("base = 2.0", "base = nan");
        let e = parse_model("m.toml", &src).unwrap_err().to_string();
        assert!(e.starts_with("m.toml:19:44:"), "{e}");
        assert!(e.contains("`themes.t.gross_benefit_bn.base` = nan"), "{e}");
    }

    #[test]
    fn amounts_in_the_model_unit_are_read_into_billions() {
        let m_src = MINIMAL
            .replace(
                "horizon_years = 3",
                "horizon_years = 3\nmoney_unit = \"£m\"",
            )
            .replace("budget_bn = 10.0", "budget = 10000")
            .replace("addressable_spend_bn = 5.0", "addressable_spend = 5000")
            .replace("gross_benefit_bn = {", "gross_benefit = {")
            .replace("prudent = 1.0, base = 2.0", "prudent = 1000, base = 2000")
            .replace(
                "one_off_costs_bn = [1.0, 0, 0]",
                "one_off_costs = [1000, 0, 0]",
            );
        let a = parse_model("m.toml", MINIMAL).unwrap();
        let b = parse_model("m.toml", &m_src).unwrap();
        assert_eq!(
            (a.money_unit, b.money_unit),
            (MoneyUnit::Billion, MoneyUnit::Million)
        );
        // Whole thousands of £m are whole £bn: the same numbers exactly.
        assert_eq!(a.partners, b.partners);
        for s in 0..2 {
            assert_eq!(a.inputs(s), b.inputs(s));
        }
        // A former `_bn` name in a model in £m, and both names of one field, are refused.
        let e = parse_model(
            "m.toml",
            &m_src.replace("budget = 10000", "budget_bn = 10.0"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("`partners.A.budget_bn` = 10.0: a `_bn` name is in £bn"),
            "{e}"
        );
        let e = parse_model(
            "m.toml",
            &MINIMAL.replace("budget_bn = 10.0", "budget_bn = 10.0\nbudget = 10.0"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("former name of `budget`"), "{e}");
        let e = parse_model("m.toml", &m_src.replace("\"£m\"", "\"GBP\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`model.money_unit` = \"GBP\": must be one of"),
            "{e}"
        );
    }

    #[test]
    fn the_layout_records_ids_and_optional_fields_given() {
        let (_, l) = parse_model_with_layout("m.toml", MINIMAL).unwrap();
        assert_eq!(layout(MINIMAL).as_ref(), Some(&l));
        assert_eq!(&MINIMAL[l.model.span.clone()][..7], "[model]");
        assert!(!l.model.given(&MODEL_OPTIONAL, "discount_rate"));
        let t = &l.themes[0];
        assert_eq!(&MINIMAL[t.span.clone()], "\"t\"");
        assert!(THEME_OPTIONAL.iter().all(|k| !t.given(&THEME_OPTIONAL, k)));
        let src = MINIMAL.replace(
            "profile = [0.5, 1.0]",
            "profile = [0.5, 1.0]\ncashability = 0.5\ndelay_years = 1",
        );
        let (_, l) = parse_model_with_layout("m.toml", &src).unwrap();
        let given: Vec<&str> = THEME_OPTIONAL
            .into_iter()
            .filter(|k| l.themes[0].given(&THEME_OPTIONAL, k))
            .collect();
        assert_eq!(given, ["delay_years", "cashability"]);
        assert_eq!(layout("not toml = "), None);
    }

    #[test]
    fn unknown_field_gets_a_suggestion() {
        let src = MINIMAL.replace("profile =", "profle =");
        let e = parse_model("m.toml", &src).unwrap_err().to_string();
        assert!(e.contains("unknown field `profle`"), "{e}");
        assert!(e.contains("did you mean `profile`?"), "{e}");
    }

    /// A value inside an array of tables is named by its table's `id`: the table the value is in,
    /// however its header is spaced, wherever its `id` line is, and not an earlier table's.
    #[test]
    fn a_key_inside_an_array_of_tables_is_named_by_the_tables_id() {
        let src = r#"
[[partners]]
name = "P"
id = 'p_one'

[[themes]]
id = "a"
x = 1
[[themes.outcomes]]
id = "a_out"
cohort = 1

[[ themes ]]
x = 2
  id   =   "b"   # after the value
[[ themes.outcomes ]]
cohort = 2
id = "b_out"

[[themes]]
id = "c"
outcomes = [{ id = "c_inline", cohort = 3 }]

[[themes]]
x = 4
"#;
        let at = |needle: &str| src.find(needle).unwrap();
        for (key, offset, want) in [
            ("partners.name", at("\"P\""), "partners.p_one.name"),
            ("themes.x", at("x = 1"), "themes.a.x"),
            (
                "themes.outcomes.cohort",
                at("cohort = 1"),
                "themes.a.outcomes.a_out.cohort",
            ),
            ("themes.x", at("x = 2"), "themes.b.x"),
            (
                "themes.outcomes.cohort",
                at("cohort = 2"),
                "themes.b.outcomes.b_out.cohort",
            ),
            // Inline outcomes: the theme is known, the outcome's table is not a header.
            (
                "themes.outcomes.cohort",
                at("cohort = 3"),
                "themes.c.outcomes.cohort",
            ),
            // A theme without an id: the parser's own path.
            ("themes.x", at("x = 4"), "themes.x"),
            ("model.horizon_years", 0, "model.horizon_years"),
        ] {
            assert_eq!(qualified_key(key, src, offset), want, "{key} at {offset}");
        }
        assert_eq!(
            header_of("  [[ themes . outcomes ]] # c"),
            Some("themes.outcomes".into())
        );
        assert_eq!(header_of("[model]"), None);
    }

    #[test]
    fn blank_names_are_refused_where_they_are_given() {
        for (from, to, want) in [
            (
                "name = \"m\"",
                "name = \"\"",
                "m.toml:3:8: `model.name` = \"\": must not be blank",
            ),
            (
                "name = \"A\"",
                "name = \" \"",
                "m.toml:10:8: `partners.A.name` = \" \": must not be blank",
            ),
            (
                "name = \"T\"",
                "name = \"\\t\"",
                "m.toml:16:8: `themes.t.name` = \"\\t\": must not be blank",
            ),
        ] {
            let src = MINIMAL.replacen(from, to, 1);
            let e = parse_model("m.toml", &src).unwrap_err().to_string();
            assert!(e.starts_with(want), "{e}");
        }
    }

    #[test]
    fn the_parsers_type_names_are_put_in_words() {
        for (from, to) in [
            (
                "invalid type: string \"5\", expected i64",
                "invalid type: string \"5\", expected a whole number",
            ),
            (
                "invalid type: floating point `5.5`, expected i64",
                "invalid type: number `5.5`, expected a whole number",
            ),
            (
                "invalid type: integer `99999999999999999999` as i128, expected i64",
                "invalid type: integer `99999999999999999999` (too large), expected a whole number",
            ),
            (
                "invalid type: string \"x\", expected f64",
                "invalid type: string \"x\", expected a number",
            ),
        ] {
            assert_eq!(plain_types(from), to);
        }
    }
}
