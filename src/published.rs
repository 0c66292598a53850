//! Published figures of a business case, read from a file in which each figure is typed exactly as
//! printed (e.g. `"(0.1)"`, `"52%"`, `"143m"`), so that its tolerance is derived from the printed
//! precision rather than chosen: half a unit in the last printed digit.
//!
//! The file feeds both the calibration ([`crate::calibrate`]) and the reproduction
//! ([`crate::reproduce`]). Parsing errors are [`InputError`]s located in the file.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::error::InputError;

/// What a printed figure measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Unit {
    /// £bn (figures printed with an `m` suffix are converted from £m).
    Bn,
    /// A percentage, stored as a share (52% → 0.52).
    Pct,
    /// A plain count or number of years.
    Count,
    /// A fraction stated in words ("a fifth"), stored as a share and shown in percentage points.
    Fraction,
}

/// A figure as printed, with its value and rounding tolerance in model units.
#[derive(Debug, Clone, PartialEq)]
pub struct Printed {
    pub text: String,
    pub value: f64,
    /// Half the width of the band `[lo, hi]`: half a unit in the last printed digit for a number.
    pub tolerance: f64,
    /// The band of values the printed figure stands for: `value ∓ tolerance` for a number; for a
    /// fraction in words, the band of [`Printed::parse_fraction`] (not centred on `value`).
    pub lo: f64,
    pub hi: f64,
    pub unit: Unit,
}

/// The unit fractions a report may state in words, by denominator.
const FRACTION_WORDS: [(&str, u32); 9] = [
    ("half", 2),
    ("third", 3),
    ("quarter", 4),
    ("fifth", 5),
    ("sixth", 6),
    ("seventh", 7),
    ("eighth", 8),
    ("ninth", 9),
    ("tenth", 10),
];

impl Printed {
    /// Parse a printed figure. `money` says whether a plain number is £bn (else a count).
    pub fn parse(text: &str, money: bool) -> Result<Printed, String> {
        let t = text.trim();
        let (neg, body) = match t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
            Some(inner) => (true, inner),
            None => (false, t),
        };
        // Divide (not multiply by 0.01) so that "57%" is the double nearest 0.57.
        let (body, unit, scale) = if let Some(b) = body.strip_suffix('%') {
            (b, Unit::Pct, 100.0)
        } else if let Some(b) = body.strip_suffix('m') {
            (b, Unit::Bn, 1000.0)
        } else if money {
            (body, Unit::Bn, 1.0)
        } else {
            (body, Unit::Count, 1.0)
        };
        let digits: String = body.chars().filter(|c| *c != ',').collect();
        let v: f64 = digits.parse().map_err(|_| {
            format!("{text:?} is not a printed number like \"5.8\", \"(0.1)\", \"52%\" or \"143m\"")
        })?;
        if !v.is_finite() {
            return Err(format!("{text:?} is not a finite number"));
        }
        let decimals = digits.split_once('.').map_or(0, |(_, d)| d.len());
        let half_ulp = 0.5 * 10f64.powi(-(decimals as i32));
        let value = if neg { -v / scale } else { v / scale };
        let tolerance = half_ulp / scale;
        Ok(Printed {
            text: text.to_string(),
            value,
            tolerance,
            lo: value - tolerance,
            hi: value + tolerance,
            unit,
        })
    }

    /// Parse a fraction stated in words: `"a fifth"`, `"under a fifth"`, `"over a third"`.
    ///
    /// The rule: a share is called "a fifth" when 1/5 is the nearest to it of the unit fractions
    /// 1/1, 1/2, …, so its band runs from the midpoint between 1/6 and 1/5 to the midpoint
    /// between 1/5 and 1/4, `[11/60, 9/40]`. "Under" keeps the part of that band below the
    /// fraction (`[11/60, 1/5]`), "over" the part above it (`[1/5, 9/40]`). `value` is the
    /// fraction named, `tolerance` half the band's width.
    pub fn parse_fraction(text: &str) -> Result<Printed, String> {
        let t = text.trim();
        let (side, rest) = if let Some(r) = t.strip_prefix("under ") {
            (-1, r)
        } else if let Some(r) = t.strip_prefix("over ") {
            (1, r)
        } else {
            (0, t)
        };
        let word = rest.strip_prefix("a ").unwrap_or("");
        let Some(&(_, n)) = FRACTION_WORDS.iter().find(|(w, _)| *w == word) else {
            let words: Vec<&str> = FRACTION_WORDS.iter().map(|(w, _)| *w).collect();
            return Err(format!(
                "{text:?} is not a fraction in words like \"a fifth\" or \"under a fifth\" (optionally \"under \" or \"over \", then \"a \" and one of {})",
                words.join(", ")
            ));
        };
        let n = f64::from(n);
        let value = 1.0 / n;
        let below = 0.5 * (1.0 / (n + 1.0) + value);
        let above = 0.5 * (1.0 / (n - 1.0) + value);
        let (lo, hi) = match side {
            -1 => (below, value),
            1 => (value, above),
            _ => (below, above),
        };
        Ok(Printed {
            text: text.to_string(),
            value,
            tolerance: 0.5 * (hi - lo),
            lo,
            hi,
            unit: Unit::Fraction,
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawPer<T> {
    Same(T),
    Per(BTreeMap<String, T>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    source: String,
    scenarios: Vec<String>,
    partners: Vec<RawPartner>,
    total: RawTotal,
    themes: Vec<Spanned<RawTheme>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPartner {
    id: String,
    name: String,
    budget_class: Option<String>,
    budget_bn: Option<String>,
    source: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTotal {
    figures: RawFigures,
    #[serde(default)]
    notes: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    id: String,
    name: String,
    section: String,
    #[serde(default)]
    indicative: bool,
    costs: String,
    cohort: Option<String>,
    addressable_spend_bn: String,
    profile: RawPer<Vec<String>>,
    partner_shares: BTreeMap<String, String>,
    figures: RawFigures,
    #[serde(default)]
    notes: BTreeMap<String, String>,
}

type PerScenario<T> = BTreeMap<String, T>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFigures {
    rows: Option<PerScenario<Vec<String>>>,
    npv_5yr: Option<PerScenario<String>>,
    pilot_totals: Option<PerScenario<String>>,
    net_annual: Option<PerScenario<String>>,
    addressable_spend: Option<String>,
    pct_addressable: Option<PerScenario<String>>,
    leakage_to_zero: Option<PerScenario<String>>,
    delay_to_zero: Option<PerScenario<String>>,
    #[serde(default)]
    partners: BTreeMap<String, BTreeMap<String, PerScenario<String>>>,
}

/// How the calibration treats a theme's costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostRule {
    /// One cost schedule for every scenario.
    Shared,
    /// Each scenario has its own cost schedule.
    PerScenario,
}

/// A partner as published.
#[derive(Debug, Clone, PartialEq)]
pub struct PubPartner {
    pub id: String,
    pub name: String,
    pub budget: Option<(String, Printed)>,
    pub source: String,
}

/// One theme's (or the total's) published figures, per scenario in scenario order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub rows: Option<Vec<Vec<Printed>>>,
    pub npv_5yr: Option<Vec<Printed>>,
    pub pilot_totals: Option<Vec<Printed>>,
    pub net_annual: Option<Vec<Printed>>,
    /// Printed once for every scenario (the sum of the themes' addressable spends, an input).
    pub addressable_spend: Option<Printed>,
    pub pct_addressable: Option<Vec<Printed>>,
    pub leakage_to_zero: Option<Vec<Printed>>,
    pub delay_to_zero: Option<Vec<Printed>>,
    /// partner id → figure name (`annual`, `pct_budget`, ...) → per scenario; `None` where the
    /// report prints the figure for some scenarios only (e.g. the re-offending annex's partner
    /// table, printed for the positive scenario alone).
    pub partners: BTreeMap<String, BTreeMap<String, Vec<Option<Printed>>>>,
}

/// One published theme.
#[derive(Debug, Clone, PartialEq)]
pub struct PubTheme {
    pub id: String,
    pub name: String,
    pub section: String,
    pub indicative: bool,
    pub costs: CostRule,
    pub cohort: Option<Printed>,
    pub addressable_spend_bn: Printed,
    /// Per scenario.
    pub profile: Vec<Vec<Printed>>,
    pub profile_per_scenario: bool,
    pub partner_shares: Vec<(String, Printed)>,
    pub figures: Figures,
    pub notes: BTreeMap<String, String>,
}

/// The whole published file.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub source: String,
    pub scenarios: Vec<String>,
    pub partners: Vec<PubPartner>,
    pub total: Figures,
    pub total_notes: BTreeMap<String, String>,
    pub themes: Vec<PubTheme>,
}

impl PubTheme {
    /// The explanation attached to a figure, most specific key first
    /// (`figure.partner.scenario`, `figure.partner`, `figure.scenario`, `figure`).
    pub fn note(&self, figure: &str, partner: Option<&str>, scenario: &str) -> Option<&str> {
        note(&self.notes, figure, partner, scenario)
    }
}

/// Whether a partner figure is the partner's fraction of the five-year net benefit stated in
/// words (`npv_fraction`, or `npv_fraction_<label>` when the report states it more than once
/// in different words): read with [`Printed::parse_fraction`].
pub fn fraction_figure(name: &str) -> bool {
    name == "npv_fraction" || name.starts_with("npv_fraction_")
}

/// Look up an explanation in a notes table, most specific key first.
pub fn note<'a>(
    notes: &'a BTreeMap<String, String>,
    figure: &str,
    partner: Option<&str>,
    scenario: &str,
) -> Option<&'a str> {
    let mut keys = Vec::new();
    if let Some(p) = partner {
        keys.push(format!("{figure}.{p}.{scenario}"));
        keys.push(format!("{figure}.{p}"));
    }
    keys.push(format!("{figure}.{scenario}"));
    keys.push(figure.to_string());
    keys.iter().find_map(|k| notes.get(k).map(|s| s.as_str()))
}

struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
    scenarios: &'a [String],
    at: usize,
}

impl Ctx<'_> {
    fn err(&self, field: &str, value: &str, allowed: &str) -> InputError {
        InputError::value(self.file, self.src, self.at, field, value, allowed)
    }

    fn printed(&self, field: &str, text: &str, money: bool) -> Result<Printed, InputError> {
        Printed::parse(text, money).map_err(|m| self.err(field, &format!("{text:?}"), &m))
    }

    /// Every key of a per-scenario table `map` is one of the scenarios.
    fn scenario_keys<T>(&self, field: &str, map: &BTreeMap<String, T>) -> Result<(), InputError> {
        for k in map.keys() {
            if !self.scenarios.contains(k) {
                return Err(self.err(
                    field,
                    &format!("key `{k}`"),
                    &format!("keys must be the scenarios {:?}", self.scenarios),
                ));
            }
        }
        Ok(())
    }

    fn per<T: Clone>(&self, field: &str, map: &BTreeMap<String, T>) -> Result<Vec<T>, InputError> {
        self.scenario_keys(field, map)?;
        self.scenarios
            .iter()
            .map(|s| {
                map.get(s).cloned().ok_or_else(|| {
                    self.err(
                        field,
                        "a per-scenario table",
                        &format!("missing scenario `{s}`"),
                    )
                })
            })
            .collect()
    }

    fn per_printed(
        &self,
        field: &str,
        map: &Option<PerScenario<String>>,
        money: bool,
    ) -> Result<Option<Vec<Printed>>, InputError> {
        match map {
            None => Ok(None),
            Some(m) => {
                let v = self.per(field, m)?;
                v.iter()
                    .map(|t| self.printed(field, t, money))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some)
            }
        }
    }

    /// A per-scenario table of printed partner figures in which scenarios may be missing (a
    /// partner figure the report prints for some scenarios only); at least one must be given.
    /// A fraction figure ([`fraction_figure`]) is read in words, any other as a printed £ figure.
    fn per_partial(
        &self,
        field: &str,
        name: &str,
        map: &PerScenario<String>,
    ) -> Result<Vec<Option<Printed>>, InputError> {
        self.scenario_keys(field, map)?;
        if map.is_empty() {
            return Err(self.err(
                field,
                "an empty table",
                &format!("at least one of the scenarios {:?}", self.scenarios),
            ));
        }
        self.scenarios
            .iter()
            .map(|s| {
                map.get(s)
                    .map(|t| {
                        if fraction_figure(name) {
                            Printed::parse_fraction(t)
                                .map_err(|m| self.err(field, &format!("{t:?}"), &m))
                        } else {
                            self.printed(field, t, true)
                        }
                    })
                    .transpose()
            })
            .collect()
    }

    fn figures(&self, prefix: &str, raw: &RawFigures) -> Result<Figures, InputError> {
        let f = |n: &str| format!("{prefix}.figures.{n}");
        let rows = match &raw.rows {
            None => None,
            Some(m) => {
                let per = self.per(&f("rows"), m)?;
                let mut out = Vec::new();
                for r in per {
                    out.push(
                        r.iter()
                            .map(|t| self.printed(&f("rows"), t, true))
                            .collect::<Result<Vec<_>, _>>()?,
                    );
                }
                Some(out)
            }
        };
        let mut partners = BTreeMap::new();
        for (p, figs) in &raw.partners {
            let mut m = BTreeMap::new();
            for (name, per) in figs {
                let field = f(&format!("partners.{p}.{name}"));
                m.insert(name.clone(), self.per_partial(&field, name, per)?);
            }
            partners.insert(p.clone(), m);
        }
        Ok(Figures {
            rows,
            npv_5yr: self.per_printed(&f("npv_5yr"), &raw.npv_5yr, true)?,
            pilot_totals: self.per_printed(&f("pilot_totals"), &raw.pilot_totals, true)?,
            net_annual: self.per_printed(&f("net_annual"), &raw.net_annual, true)?,
            addressable_spend: raw
                .addressable_spend
                .as_ref()
                .map(|t| self.printed(&f("addressable_spend"), t, true))
                .transpose()?,
            pct_addressable: self.per_printed(&f("pct_addressable"), &raw.pct_addressable, true)?,
            leakage_to_zero: self.per_printed(&f("leakage_to_zero"), &raw.leakage_to_zero, true)?,
            delay_to_zero: self.per_printed(&f("delay_to_zero"), &raw.delay_to_zero, false)?,
            partners,
        })
    }
}

/// Parse a published-figures file.
pub fn parse_published(file: &str, src: &str) -> Result<Published, InputError> {
    let raw: RawFile = toml::from_str(src)
        .map_err(|e| InputError::syntax(file, src, e.span().map_or(0, |s| s.start), e.message()))?;
    let mut ctx = Ctx {
        file,
        src,
        scenarios: &raw.scenarios,
        at: 0,
    };
    let mut partners = Vec::new();
    for p in &raw.partners {
        let budget = match (&p.budget_class, &p.budget_bn) {
            (Some(c), Some(b)) => Some((
                c.clone(),
                ctx.printed(&format!("partners.{}.budget_bn", p.id), b, true)?,
            )),
            _ => None,
        };
        partners.push(PubPartner {
            id: p.id.clone(),
            name: p.name.clone(),
            budget,
            source: p.source.clone(),
        });
    }
    let total = ctx.figures("total", &raw.total.figures)?;
    let mut themes = Vec::new();
    for t in &raw.themes {
        ctx.at = t.span().start;
        let t = t.get_ref();
        let pre = format!("themes.{}", t.id);
        let costs = match t.costs.as_str() {
            "shared" => CostRule::Shared,
            "per_scenario" => CostRule::PerScenario,
            other => {
                return Err(ctx.err(
                    &format!("{pre}.costs"),
                    &format!("{other:?}"),
                    "must be \"shared\" or \"per_scenario\"",
                ));
            }
        };
        let (profile_texts, profile_per_scenario) = match &t.profile {
            RawPer::Same(v) => (vec![v.clone(); raw.scenarios.len()], false),
            RawPer::Per(m) => (ctx.per(&format!("{pre}.profile"), m)?, true),
        };
        let profile = profile_texts
            .iter()
            .map(|v| {
                v.iter()
                    .map(|x| ctx.printed(&format!("{pre}.profile"), x, false))
                    .collect()
            })
            .collect::<Result<Vec<Vec<_>>, _>>()?;
        let mut shares = Vec::new();
        for (p, s) in &t.partner_shares {
            if !partners.iter().any(|q| q.id == *p) {
                return Err(ctx.err(
                    &format!("{pre}.partner_shares.{p}"),
                    p,
                    "must name a partner listed in [[partners]]",
                ));
            }
            shares.push((
                p.clone(),
                ctx.printed(&format!("{pre}.partner_shares.{p}"), s, false)?,
            ));
        }
        themes.push(PubTheme {
            id: t.id.clone(),
            name: t.name.clone(),
            section: t.section.clone(),
            indicative: t.indicative,
            costs,
            cohort: t
                .cohort
                .as_ref()
                .map(|c| ctx.printed(&format!("{pre}.cohort"), c, false))
                .transpose()?,
            addressable_spend_bn: ctx.printed(
                &format!("{pre}.addressable_spend_bn"),
                &t.addressable_spend_bn,
                true,
            )?,
            profile,
            profile_per_scenario,
            partner_shares: shares,
            figures: ctx.figures(&pre, &t.figures)?,
            notes: t.notes.clone(),
        });
    }
    Ok(Published {
        source: raw.source,
        scenarios: raw.scenarios.clone(),
        partners,
        total,
        total_notes: raw.total.notes,
        themes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_figures_carry_their_rounding() {
        let p = Printed::parse("(0.1)", true).unwrap();
        assert_eq!((p.value, p.tolerance, p.unit), (-0.1, 0.05, Unit::Bn));
        let p = Printed::parse("52%", true).unwrap();
        assert!((p.value - 0.52).abs() < 1e-15 && (p.tolerance - 0.005).abs() < 1e-15);
        let p = Printed::parse("3.5%", true).unwrap();
        assert!((p.tolerance - 0.0005).abs() < 1e-15);
        let p = Printed::parse("143m", true).unwrap();
        assert!((p.value - 0.143).abs() < 1e-15 && (p.tolerance - 0.0005).abs() < 1e-15);
        let p = Printed::parse("117,000", false).unwrap();
        assert_eq!((p.value, p.unit), (117000.0, Unit::Count));
        assert!(Printed::parse("five", true).is_err());
    }

    #[test]
    fn fractions_in_words_carry_the_band_of_the_nearest_unit_fraction() {
        let p = Printed::parse_fraction("a fifth").unwrap();
        assert_eq!((p.value, p.unit), (0.2, Unit::Fraction));
        // Midpoints to the neighbouring unit fractions 1/6 and 1/4.
        assert!((p.lo - 11.0 / 60.0).abs() < 1e-15 && (p.hi - 9.0 / 40.0).abs() < 1e-15);
        assert!((p.tolerance - 0.5 * (9.0 / 40.0 - 11.0 / 60.0)).abs() < 1e-15);
        let p = Printed::parse_fraction("under a fifth").unwrap();
        assert!((p.lo - 11.0 / 60.0).abs() < 1e-15 && p.hi == 0.2);
        let p = Printed::parse_fraction("over a third").unwrap();
        assert!(p.lo == 1.0 / 3.0 && (p.hi - 5.0 / 12.0).abs() < 1e-15);
        let p = Printed::parse_fraction("a half").unwrap();
        assert!((p.lo - 5.0 / 12.0).abs() < 1e-15 && (p.hi - 0.75).abs() < 1e-15);
        for bad in [
            "a fifth or so",
            "one fifth",
            "fifth",
            "20%",
            "under a twelfth",
        ] {
            let e = Printed::parse_fraction(bad).unwrap_err();
            assert!(e.contains("not a fraction in words"), "{bad}: {e}");
        }
        // A number keeps the band of its rounding.
        let p = Printed::parse("3.5%", true).unwrap();
        assert!(p.lo == p.value - p.tolerance && p.hi == p.value + p.tolerance);
    }

    #[test]
    fn a_fraction_figure_in_figures_is_read_in_words_and_located_when_bad() {
        use crate::embedded::{EY2013_PUBLISHED, EY2013_PUBLISHED_FILE};
        let p = parse_published(EY2013_PUBLISHED_FILE, EY2013_PUBLISHED).unwrap();
        let f = &p.total.partners["DCLG_LG"]["npv_fraction_summary"];
        assert_eq!(f[0].as_ref().unwrap().unit, Unit::Fraction);
        let bad = EY2013_PUBLISHED.replacen(
            "npv_fraction_headline = { prudent = \"a fifth\"",
            "npv_fraction_headline = { prudent = \"20%\"",
            1,
        );
        assert_ne!(bad, EY2013_PUBLISHED);
        let e = parse_published("bad.toml", &bad).unwrap_err().to_string();
        assert!(
            e.contains("total.figures.partners.DCLG_LG.npv_fraction_headline")
                && e.contains("\"20%\"")
                && e.contains("not a fraction in words"),
            "{e}"
        );
    }

    #[test]
    fn embedded_published_file_parses() {
        use crate::embedded::{EY2013_PUBLISHED, EY2013_PUBLISHED_FILE};
        let p = parse_published(EY2013_PUBLISHED_FILE, EY2013_PUBLISHED).unwrap();
        assert_eq!(p.themes.len(), 5);
        assert_eq!(p.themes.iter().filter(|t| !t.indicative).count(), 3);
        let hsc = &p.themes[0];
        assert_eq!(hsc.figures.rows.as_ref().unwrap()[1][4].value, 2.6);
    }

    #[test]
    fn a_partner_figure_may_be_printed_for_some_scenarios_only() {
        use crate::embedded::{EY2013_PUBLISHED, EY2013_PUBLISHED_FILE};
        let p = parse_published(EY2013_PUBLISHED_FILE, EY2013_PUBLISHED).unwrap();
        let reoff = p.themes.iter().find(|t| t.id == "reoffending").unwrap();
        let ho = &reoff.figures.partners["HO"]["annual"];
        assert_eq!(ho.len(), 2);
        assert!(ho[0].is_none());
        assert_eq!(ho[1].as_ref().unwrap().value, 2.87);
        // An empty table gives no figure at all: an error naming the field.
        let bad = EY2013_PUBLISHED.replacen("annual = { base = \"2.87\" }", "annual = {}", 1);
        assert_ne!(bad, EY2013_PUBLISHED);
        let e = parse_published("bad.toml", &bad).unwrap_err().to_string();
        assert!(
            e.contains("themes.reoffending.figures.partners.HO.annual")
                && e.contains("at least one"),
            "{e}"
        );
    }
}
