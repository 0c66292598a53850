//! Guard rails: values a model or distribution file is allowed to hold but that are most likely
//! slips (a percentage where a fraction is expected, an amount in the wrong unit, a theme without
//! costs, a `between_scenarios` input whose scenarios agree). Each warning is located like an
//! error (file, line:column, field, value) and says why it is suspicious.
//!
//! [`model_warnings_with`] and [`dist_warnings`] are the one place they are computed, from a
//! loaded model (with its source text and layout, for positions and for which optional fields
//! were left out) and, for a run, its distribution set; [`check_with`] prints both.
//! The binary prints them on stderr for every command that loads a model, and `--deny-warnings`
//! turns them into errors. The library itself never prints.

use std::cell::OnceCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::distfile::{DistSet, Input, InputDist};
use crate::error::{line_col, show};
use crate::format::{Layout, MODEL_OPTIONAL, OUTCOME_OPTIONAL, THEME_OPTIONAL};
use crate::model::{BenefitBasis, ModelSpec, Param, ThemeSpec};
use crate::params::{Target, ThemeField};

/// A discount rate above this (a year) is most likely a percentage written as a number.
pub const MAX_PLAUSIBLE_RATE: f64 = 0.20;

/// An optimism-bias uplift on costs above this is most likely a percentage: the Green Book's
/// upper-bound adjustments for capital expenditure go up to 200%.
pub const MAX_PLAUSIBLE_COST_UPLIFT: f64 = 2.0;

/// A distribution whose median is more than this factor away from the parameter's point value
/// (in every scenario) is most likely in another unit.
pub const MEDIAN_FACTOR: f64 = 100.0;

/// A located warning.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub field: String,
    pub value: String,
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "`{}` = {}: {}", self.field, self.value, self.message)
        }
    }
}

/// Whether warnings fail the command (`--deny-warnings`).
static DENY: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Make warnings fail every later [`emit`] (`--deny-warnings`).
pub fn set_deny_warnings(deny: bool) {
    DENY.store(deny, std::sync::atomic::Ordering::Relaxed);
}

/// Print the warnings `ws` on stderr (also under `--quiet`); when warnings are denied, any
/// warning is bad input.
pub fn emit(ws: Vec<Warning>) -> Result<(), crate::error::Error> {
    for w in &ws {
        eprintln!("warning: {w}");
    }
    if !ws.is_empty() && DENY.load(std::sync::atomic::Ordering::Relaxed) {
        let n = ws.len();
        return Err(crate::error::Error::Input(format!(
            "{n} warning{} denied by --deny-warnings",
            if n == 1 { "" } else { "s" }
        )));
    }
    Ok(())
}

/// Print the warnings (see [`emit`]) of a model (`file`, `src` as read, `model` and `layout` from
/// [`crate::format::parse_model_with_layout`]) and, when given, of the distribution set
/// overlaid on it, in file order; without parsing the file again.
pub fn check_with(
    file: &str,
    src: &str,
    model: &ModelSpec,
    layout: &Layout,
    set: Option<&DistSet>,
) -> Result<(), crate::error::Error> {
    let mut out = model_warnings_with(file, src, model, layout);
    if let Some(set) = set {
        out.extend(dist_warnings(model, set));
    }
    emit(out)
}

/// A TOML document that keeps every span, to locate a field of a file already validated. It is
/// parsed on first use only: the warnings of a model locate most fields from its [`Layout`], and
/// parse the file again only for the ones that need the position of a value.
struct Doc<'a> {
    file: &'a str,
    src: &'a str,
    root: OnceCell<Option<Spanned<DeTable<'a>>>>,
    /// Byte offsets of the starts of the lines, for positions far into a large file.
    lines: OnceCell<Vec<usize>>,
}

impl<'a> Doc<'a> {
    fn new(file: &'a str, src: &'a str) -> Doc<'a> {
        Doc {
            file,
            src,
            root: OnceCell::new(),
            lines: OnceCell::new(),
        }
    }

    fn root(&self) -> Option<&DeTable<'a>> {
        self.root
            .get_or_init(|| DeTable::parse(self.src).ok())
            .as_ref()
            .map(|r| r.get_ref())
    }

    /// The line and column of byte `offset`, as [`line_col`] counts them; with an index of the
    /// lines past the first 64 KiB, so that many warnings in a large file stay linear.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.src.len());
        if offset < 1 << 16 {
            return line_col(self.src, offset);
        }
        let lines = self.lines.get_or_init(|| {
            std::iter::once(0)
                .chain(self.src.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        });
        let line = lines.partition_point(|&start| start <= offset);
        let start = lines[line - 1];
        (line, self.src[start..offset].chars().count() + 1)
    }

    fn warn(&self, span: Range<usize>, field: String, value: String, message: String) -> Warning {
        let (line, col) = self.line_col(span.start);
        Warning {
            file: self.file.to_string(),
            line,
            col,
            field,
            value,
            message,
        }
    }
}

/// The entry `key` of a table.
fn get<'t, 'a>(t: &'t DeTable<'a>, key: &str) -> Option<&'t Spanned<DeValue<'a>>> {
    t.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
}

/// The tables of the array of tables `key` (`[[themes]]`, `[[input]]`), in file order.
fn tables<'t, 'a>(t: &'t DeTable<'a>, key: &str) -> Vec<&'t Spanned<DeValue<'a>>> {
    match get(t, key).map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.iter().collect(),
        _ => Vec::new(),
    }
}

fn table<'t, 'a>(v: &'t Spanned<DeValue<'a>>) -> Option<&'t DeTable<'a>> {
    v.get_ref().as_table()
}

/// The field `key` of theme `t` (in file order) of a model document.
fn theme_field<'t, 'a>(
    root: &'t DeTable<'a>,
    t: usize,
    key: &str,
) -> Option<&'t Spanned<DeValue<'a>>> {
    match get(root, "themes").map(|v| v.get_ref()) {
        Some(DeValue::Array(a)) => a.get(t).and_then(table).and_then(|th| get(th, key)),
        _ => None,
    }
}

/// The span of element `i` of a yearly list written as one list or per scenario.
fn element_span(v: &Spanned<DeValue>, scenario: &str, i: usize) -> Range<usize> {
    let list = match v.get_ref() {
        DeValue::Table(t) => get(t, scenario),
        _ => Some(v),
    };
    match list.map(|l| l.get_ref()) {
        Some(DeValue::Array(a)) => a.get(i).map_or(v.span(), |e| e.span()),
        _ => v.span(),
    }
}

/// Fields that may be left out of a theme, an outcome or the model, with the default they then
/// take, when that default is a modelling assumption worth stating.
const MODEL_DEFAULTS: [(&str, &str); 2] = [
    ("discount_rate", "0.035 (the Green Book rate)"),
    ("undiscounted_year", "1"),
];
const THEME_DEFAULTS: [(&str, &str); 5] = [
    ("delay_years", "0"),
    ("realisation", "1"),
    ("cashability", "1"),
    ("optimism_bias_benefit", "0"),
    ("optimism_bias_cost", "0"),
];
const LOCAL_THEME_DEFAULTS: [(&str, &str); 2] = [("delay_years", "0"), ("optimism_bias_cost", "0")];
const OUTCOME_DEFAULTS: [(&str, &str); 5] = [
    ("engagement", "1"),
    ("deadweight", "0"),
    ("lag_years", "0"),
    ("persistence_years", "1"),
    ("drop_off", "0"),
];

/// The optional fields left out of a model, listed once for the file: field → its default, the
/// first few parts that left it out and how many did.
#[derive(Default)]
struct Missing {
    fields: BTreeMap<String, (&'static str, Vec<String>, usize)>,
    first: Option<Range<usize>>,
    key: String,
}

impl Missing {
    /// `who` left out `prefix` + `field` (at `span`), which took `default`.
    fn note(
        &mut self,
        prefix: &str,
        field: &str,
        default: &'static str,
        who: impl FnOnce() -> String,
        span: &Range<usize>,
    ) {
        self.key.clear();
        self.key.push_str(prefix);
        self.key.push_str(field);
        let entry = match self.fields.get_mut(self.key.as_str()) {
            Some(e) => e,
            None => self
                .fields
                .entry(self.key.clone())
                .or_insert((default, Vec::new(), 0)),
        };
        if entry.1.len() < SHOWN {
            entry.1.push(who());
        }
        entry.2 += 1;
        if self.first.is_none() {
            self.first = Some(span.clone());
        }
    }
}

/// The warnings of a model file.
pub fn model_warnings(file: &str, src: &str, model: &ModelSpec) -> Vec<Warning> {
    match crate::format::layout(src) {
        Some(layout) => model_warnings_with(file, src, model, &layout),
        None => Vec::new(),
    }
}

/// [`model_warnings`] for a model parsed with [`crate::format::parse_model_with_layout`]: the
/// file is parsed again only to locate a value a warning names (a profile in percent, an uplift
/// or a discount rate out of range).
pub fn model_warnings_with(
    file: &str,
    src: &str,
    model: &ModelSpec,
    layout: &Layout,
) -> Vec<Warning> {
    let doc = Doc::new(file, src);
    let mut out = Vec::new();

    // Discount rate above 20%.
    if let Some((i, r)) = model
        .discount_rates
        .iter()
        .enumerate()
        .find(|(_, r)| **r > MAX_PLAUSIBLE_RATE)
        && let Some(v) = doc
            .root()
            .and_then(|root| get(root, "model"))
            .and_then(table)
            .and_then(|m| get(m, "discount_rate"))
    {
        let span = element_span(v, "", i);
        out.push(doc.warn(
            span,
            "model.discount_rate".into(),
            show(*r),
            format!(
                "a discount rate above {}% a year; rates are fractions (0.035 for the Green Book's 3.5%)",
                MAX_PLAUSIBLE_RATE * 100.0
            ),
        ));
    }

    // Optional fields left out, listed once for the file.
    let mut missing = Missing::default();
    for (k, d) in MODEL_DEFAULTS {
        if !layout.model.given(&MODEL_OPTIONAL, k) {
            missing.note("model.", k, d, || "the model".into(), &layout.model.span);
        }
    }

    for (t, theme) in model.themes.iter().enumerate() {
        let Some(part) = layout.themes.get(t) else {
            continue;
        };
        let id_span = &part.span;

        // A profile written in percent.
        if let Some((s, i, v)) = percent_profile(&theme.profile, model.scenarios.len())
            && let Some(p) = doc.root().and_then(|r| theme_field(r, t, "profile"))
        {
            let span = element_span(p, &model.scenarios[s], i);
            out.push(doc.warn(
                span,
                format!("themes.{}.profile[{i}]", theme.id),
                show(v),
                format!(
                    "a profile is the share of the full potential realised each year (1 = all of it); {} looks like a percentage (write {} for {}%)",
                    show(v),
                    percent_of(v),
                    show(v)
                ),
            ));
        }
        // An optimism-bias uplift on costs written in percent.
        if let Some((_, _, v)) = first_above_scalar(
            &theme.optimism_bias_cost,
            MAX_PLAUSIBLE_COST_UPLIFT,
            model.scenarios.len(),
        ) && let Some(p) = doc
            .root()
            .and_then(|r| theme_field(r, t, "optimism_bias_cost"))
        {
            out.push(doc.warn(
                p.span(),
                format!("themes.{}.optimism_bias_cost", theme.id),
                show(v),
                format!(
                    "an uplift on costs of {}%; the uplift is a fraction (0.4 for 40%), and the Green Book's upper bounds go up to 200%",
                    show(v * 100.0)
                ),
            ));
        }
        // No costs at all.
        if has_no_costs(theme, model.scenarios.len()) {
            out.push(doc.warn(
                id_span.clone(),
                format!("themes.{}", theme.id),
                format!("{:?}", theme.id),
                format!(
                    "the theme has no costs (one_off_costs, ongoing_costs and scaled_cost or cost_per_engaged_gbp are all absent or 0): its NPV counts its benefits only{}",
                    if theme.local.is_some() {
                        ", and its benefit-cost ratio and return on investment, which divide by the costs, do not exist: a run refuses it unless a distribution draws its costs above 0"
                    } else {
                        ""
                    }
                ),
            ));
        }

        // Defaults taken.
        let who = || format!("themes.{}", theme.id);
        let defaults: &[(&str, &str)] = if theme.local.is_some() {
            &LOCAL_THEME_DEFAULTS
        } else {
            &THEME_DEFAULTS
        };
        for (k, d) in defaults {
            if !part.given(&THEME_OPTIONAL, k) {
                missing.note("themes.*.", k, d, who, id_span);
            }
        }
        if matches!(theme.benefit, BenefitBasis::PerMember { .. })
            && !part.given(&THEME_OPTIONAL, "engagement")
        {
            missing.note("themes.*.", "engagement", "1", who, id_span);
        }
        if let Some(local) = &theme.local {
            for (outcome, op) in local.outcomes.iter().zip(&part.outcomes) {
                let who = || format!("themes.{}.outcomes.{}", theme.id, outcome.id);
                for (k, d) in OUTCOME_DEFAULTS {
                    if !op.given(&OUTCOME_OPTIONAL, k) {
                        missing.note("themes.*.outcomes.*.", k, d, who, &op.span);
                    }
                }
                if !op.given(&OUTCOME_OPTIONAL, "confidence")
                    && !op.given(&OUTCOME_OPTIONAL, "optimism_bias")
                {
                    missing.note(
                        "themes.*.outcomes.*.",
                        "optimism_bias",
                        "0 (neither confidence nor optimism_bias given)",
                        who,
                        &op.span,
                    );
                }
            }
        }
    }
    if let Some(span) = missing.first {
        let listed: Vec<String> = missing
            .fields
            .iter()
            .map(|(field, (default, who, n))| {
                let field = field.rsplit('.').next().unwrap_or(field);
                format!("{field} = {default} ({})", list_some(who, *n))
            })
            .collect();
        out.push(doc.warn(
            span,
            String::new(),
            String::new(),
            format!(
                "optional fields not given took their defaults: {}; state them to make these assumptions explicit",
                listed.join("; ")
            ),
        ));
    }
    out.sort_by_key(|w| (w.line, w.col));
    out
}

/// How many names [`list_some`] shows.
const SHOWN: usize = 5;

/// Up to five of `n` names (`names`, the first ones), then how many more.
fn list_some(names: &[String], n: usize) -> String {
    if n <= SHOWN {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..SHOWN].join(", "), n - SHOWN)
    }
}

/// The first (scenario, year, value) of a profile that looks written in percent: a value above 2
/// (more than twice the full potential), or values that are all 0 or at least 1 with one above 1
/// (`[10, 30, 60, 85, 100]`). A profile may exceed 1 a little: the 2013 report's re-offending
/// profile reaches 154% (§8.1.3).
fn percent_profile(p: &Param<Vec<f64>>, scenarios: usize) -> Option<(usize, usize, f64)> {
    (0..scenarios).find_map(|s| {
        let l = p.get(s);
        let max = l.iter().copied().fold(0.0, f64::max);
        let percent = max > 2.0 || (max > 1.0 && l.iter().all(|v| *v == 0.0 || *v >= 1.0));
        if !percent {
            return None;
        }
        l.iter()
            .enumerate()
            .find(|(_, v)| **v > 1.0)
            .map(|(i, v)| (s, i, *v))
    })
}

/// A number divided by 100, shown without binary noise.
fn percent_of(v: f64) -> String {
    show((v / 100.0 * 1e9).round() / 1e9)
}

fn first_above_scalar(p: &Param<f64>, limit: f64, scenarios: usize) -> Option<(usize, usize, f64)> {
    (0..scenarios)
        .map(|s| (s, 0, p.get(s)))
        .find(|(_, _, v)| *v > limit)
}

/// Whether every cost of a theme is 0 in every scenario.
fn has_no_costs(t: &ThemeSpec, scenarios: usize) -> bool {
    (0..scenarios).all(|s| t.has_no_costs_in(s))
}

/// The warnings of a distribution set overlaid on `model`: a median far from the parameter's
/// point value, a profile drawn in percent, a `between_scenarios` input whose scenarios agree.
pub fn dist_warnings(model: &ModelSpec, set: &DistSet) -> Vec<Warning> {
    let docs: Vec<Doc> = set.files.iter().map(|(n, s)| Doc::new(n, s)).collect();
    // Per file: its `[[input]]` entries by path.
    let entries: Vec<HashMap<&str, &DeTable>> = docs
        .iter()
        .map(|d| {
            d.root()
                .map(|r| {
                    tables(r, "input")
                        .into_iter()
                        .filter_map(table)
                        .filter_map(|t| Some((get(t, "path")?.get_ref().as_str()?, t)))
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect();
    let mut out = Vec::new();
    for input in &set.inputs {
        let Some(fi) = docs.iter().rposition(|d| d.file == input.file) else {
            continue;
        };
        let doc = &docs[fi];
        let Some(&entry) = entries[fi].get(input.param.path.as_str()) else {
            continue;
        };
        let path_span = get(entry, "path").map_or(0..0, |v| v.span());
        let kind_span = get(entry, "kind").map_or(path_span.clone(), |v| v.span());
        match &input.dist {
            InputDist::Direct(d) => {
                let median = d.quantile(0.5);
                if let Some(w) = median_warning(model, input, median) {
                    out.push(doc.warn(path_span, input.param.path.clone(), short(median), w));
                }
            }
            InputDist::Between { low, mode, .. } => {
                if low == mode {
                    let scen = |k: &str, default: &str| {
                        get(entry, k)
                            .and_then(|v| v.get_ref().as_str().map(str::to_string))
                            .unwrap_or_else(|| default.to_string())
                    };
                    let shown: Vec<String> = low.iter().map(|v| show(*v)).collect();
                    out.push(doc.warn(
                        kind_span,
                        input.param.path.clone(),
                        "\"between_scenarios\"".into(),
                        format!(
                            "the scenarios `{}` and `{}` give the same value ({}), so the input is fixed there; give the scenarios different values in the model, or use another kind",
                            scen("low_scenario", "prudent"),
                            scen("mode_scenario", "base"),
                            shown.join(", ")
                        ),
                    ));
                }
            }
        }
    }
    out
}

/// Why a distribution's median looks like another unit than the parameter's, if it does.
fn median_warning(model: &ModelSpec, input: &Input, median: f64) -> Option<String> {
    let is_profile = matches!(input.param.target, Target::Theme(_, ThemeField::Profile(_)));
    if is_profile && median > 1.0 {
        return Some(format!(
            "the median of this distribution of a profile (a share of the full potential, 1 = all of it) is {}: it looks like a percentage",
            short(median)
        ));
    }
    if median == 0.0 || !median.is_finite() {
        return None;
    }
    let points: Vec<(usize, f64)> = input
        .param
        .values
        .iter()
        .enumerate()
        .filter_map(|(s, v)| v.first().map(|x| (s, *x)))
        .filter(|(_, x)| *x != 0.0 && x.is_finite())
        .collect();
    // The scenario whose point value is closest (by ratio) to the median.
    let (s, p) = points.into_iter().min_by(|a, b| {
        let r = |x: f64| (median / x).abs().ln().abs();
        r(a.1).total_cmp(&r(b.1))
    })?;
    let ratio = (median / p).abs();
    if (1.0 / MEDIAN_FACTOR..=MEDIAN_FACTOR).contains(&ratio) {
        return None;
    }
    Some(format!(
        "the distribution's median is {}× the parameter's point value {} (scenario `{}`); check its unit (theme amounts are in the model's money unit, {}; values per member in £; shares and rates are fractions)",
        short(ratio),
        show(p),
        model.scenarios[s],
        model.money_unit
    ))
}

/// A number with four significant digits (for a computed figure in a message).
fn short(v: f64) -> String {
    crate::error::show_significant(v, 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::parse_model;

    const MODEL: &str = r#"[model]
name = "m"
price_base = "2024-25"
horizon_years = 3
discount_rate = 0.035
undiscounted_year = 1
scenarios = ["low", "central"]

[[partners]]
id = "A"
name = "A"

[[themes]]
id = "t"
name = "T"
addressable_spend_bn = 1.0
profile = { low = [0.5, 1.0], central = [50, 100] }
delay_years = 0
optimism_bias_cost = 0
scaled_cost_bn = 0.01
cost_shares = { A = 1.0 }

[[themes.outcomes]]
id = "o"
name = "O"
cohort = 100
impact = 0.5
fiscal_cashable_gbp = 1000
agency_shares = { A = 1.0 }
"#;

    fn warnings_of(src: &str) -> Vec<String> {
        let m = parse_model("m.toml", src).unwrap();
        model_warnings("m.toml", src, &m)
            .iter()
            .map(|w| w.to_string())
            .collect()
    }

    #[test]
    fn a_per_scenario_profile_is_located_in_its_scenario() {
        let w = warnings_of(MODEL);
        assert!(
            w[0].starts_with("m.toml:17:42: `themes.t.profile[0]` = 50:"),
            "{w:?}"
        );
    }

    #[test]
    fn outcome_defaults_are_listed_once_with_every_outcome_that_took_them() {
        let two = format!(
            "{MODEL}\n[[themes.outcomes]]\nid = \"p\"\nname = \"P\"\ncohort = 10\nimpact = 0.1\nengagement = 0.5\nagency_shares = {{ A = 1.0 }}\n"
        );
        let w = warnings_of(&two);
        let defaults: Vec<&String> = w.iter().filter(|w| w.contains("defaults")).collect();
        assert_eq!(defaults.len(), 1, "{w:?}");
        let d = defaults[0];
        assert!(d.starts_with("m.toml:24:6: optional fields"), "{d}");
        assert!(
            d.contains("engagement = 1 (themes.t.outcomes.o);"),
            "the outcome that gave it is not listed: {d}"
        );
        assert!(
            d.contains("deadweight = 0 (themes.t.outcomes.o, themes.t.outcomes.p);"),
            "{d}"
        );
        assert!(d.contains("optimism_bias = 0 (neither confidence nor optimism_bias given)"));
    }

    #[test]
    fn every_default_listed_is_a_field_whose_presence_the_layout_records() {
        for (k, _) in MODEL_DEFAULTS {
            assert!(MODEL_OPTIONAL.contains(&k), "{k}");
        }
        for (k, _) in THEME_DEFAULTS.iter().chain(&LOCAL_THEME_DEFAULTS) {
            assert!(THEME_OPTIONAL.contains(k), "{k}");
        }
        assert!(THEME_OPTIONAL.contains(&"engagement"));
        for (k, _) in OUTCOME_DEFAULTS {
            assert!(OUTCOME_OPTIONAL.contains(&k), "{k}");
        }
        assert!(OUTCOME_OPTIONAL.contains(&"confidence"));
        assert!(OUTCOME_OPTIONAL.contains(&"optimism_bias"));
    }

    #[test]
    fn positions_past_the_line_index_threshold_count_as_line_col_does() {
        let line = "a = \"é€x\"\r\n";
        let src = line.repeat((1 << 17) / line.len());
        let doc = Doc::new("f.toml", &src);
        for offset in (0..=src.len())
            .filter(|&o| src.is_char_boundary(o))
            .step_by(7)
        {
            assert_eq!(doc.line_col(offset), line_col(&src, offset), "{offset}");
        }
    }

    #[test]
    fn a_profile_may_exceed_one_a_little() {
        // The 2013 report's re-offending profile reaches 154%.
        let src = MODEL.replace("[50, 100]", "[0.36, 1.54]");
        assert!(warnings_of(&src).iter().all(|w| !w.contains("profile")));
    }
}
