//! The summary of a Monte Carlo run: statistics of every outcome with their Monte Carlo standard
//! errors, the headline review against the published scenario values, risk curves, partner risk,
//! achieved correlations and the run's metadata. The statistics come from [`crate::stream`]:
//! moments reduced over a fixed tree of draws, exact order statistics and exact counts, so the
//! summary is identical whatever the number of threads, the block size, shards or passes.
//! Layout documented in `docs/summary-json.md`.

use serde::Serialize;

use crate::engine::{Layout, LocalMeasure, Measure, Plan};
use crate::money::MoneyUnit;
use crate::stats::{OrderStats, proportion_se};
use crate::stream::Col;

/// Columns summarised per entity, in order.
pub const SUMMARY_MEASURES: [&str; 5] = [
    "npv",
    "pv_benefits",
    "pv_costs",
    "leakage_to_zero",
    "delay_to_zero",
];

/// Where each summarised column is: its place in [`crate::stream::columns`], the one list of the
/// summarised columns and their order.
#[derive(Debug, Clone, PartialEq)]
pub struct Summarised {
    cols: Vec<Col>,
}

impl Summarised {
    pub fn of(plan: &Plan) -> Summarised {
        Summarised {
            cols: crate::stream::columns(plan),
        }
    }

    /// The place of column `c`, which every column the summary reads has.
    pub fn at(&self, c: Col) -> usize {
        self.cols
            .iter()
            .position(|&x| x == c)
            .unwrap_or_else(|| panic!("{c:?} is not a summarised column"))
    }

    /// The place of an outcome column of the engine.
    pub fn outcome(&self, c: usize) -> usize {
        self.at(Col::Outcome(c))
    }
}

/// What the summary reports, chosen by the user.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// Percentiles to report, in (0, 1).
    pub percentiles: Vec<f64>,
    /// Level of the central interval, in (0, 1).
    pub interval: f64,
    /// Thresholds (£bn) for P(NPV < threshold), besides 0.
    pub thresholds: Vec<f64>,
    /// Further percentiles of the headline total NPV only (a batch's S-curve), in (0, 1): the
    /// total's NPV reports `percentiles` and these, in increasing order, while every other column
    /// reports `percentiles` alone, so a streamed run resolves these ranks for one column. The
    /// total's row then has more percentiles than the others: such a summary is for looking the
    /// values up ([`Stat::percentile`]) and for JSON filtered to `percentiles`
    /// ([`crate::export::summary_json_with`]), not for the text and workbook tables, which expect
    /// the same percentiles in every row. Only batch uses it.
    pub total_npv_percentiles: Vec<f64>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            percentiles: vec![0.05, 0.10, 0.50, 0.90, 0.95],
            interval: 0.90,
            thresholds: Vec::new(),
            total_npv_percentiles: Vec::new(),
        }
    }
}

/// The span of a model's NPV in words, as labels print it: "five-year" for a horizon of 5
/// years (words up to ten, digits beyond: "12-year").
pub fn horizon_npv(years: usize) -> String {
    const WORDS: [&str; 10] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    ];
    match years.checked_sub(1).and_then(|i| WORDS.get(i)) {
        Some(w) => format!("{w}-year"),
        None => format!("{years}-year"),
    }
}

/// [`horizon_npv`] starting with a capital, for the start of a label.
pub fn horizon_npv_capital(years: usize) -> String {
    let s = horizon_npv(years);
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or(s)
}

/// Run metadata recorded in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// The model's horizon in years: what its NPVs span (labels only; the model file records it).
    #[serde(skip)]
    pub horizon_years: usize,
    pub npvrisk_version: String,
    pub model: FileHash,
    pub distributions: Vec<FileHash>,
    pub scenario: String,
    pub seed: u64,
    pub sampler: String,
    pub draws: u64,
    pub block_size: u64,
    pub standard_errors: String,
    pub percentile_method: String,
}

/// A file and the SHA-256 of its contents.
#[derive(Debug, Clone, Serialize)]
pub struct FileHash {
    pub file: String,
    pub sha256: String,
}

impl FileHash {
    pub fn of(file: &str, contents: &str) -> FileHash {
        FileHash {
            file: file.to_string(),
            sha256: sha256_hex(contents.as_bytes()),
        }
    }
}

/// SHA-256 of `bytes` as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Percentile {
    pub p: f64,
    pub value: f64,
    pub se: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Probability {
    pub threshold: f64,
    pub p: f64,
    pub se: f64,
}

/// Statistics of one continuous outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Stat {
    pub mean: f64,
    pub se_mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
    pub percentiles: Vec<Percentile>,
    pub interval: [f64; 3],
    /// P(value < threshold) for 0 and the user's thresholds.
    pub below: Vec<Probability>,
}

impl Stat {
    /// The value at percentile `p` if it is one of the reported percentiles.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        self.percentiles
            .iter()
            .find(|x| (x.p - p).abs() < 1e-12)
            .map(|x| x.value)
    }
}

fn stat_from(mean: f64, sd: f64, s: &dyn OrderStats, o: &SummaryOptions) -> Stat {
    let n = s.len();
    let mut th = vec![0.0];
    th.extend(o.thresholds.iter().copied().filter(|t| *t != 0.0));
    let a = (1.0 - o.interval) / 2.0;
    // A single draw has no spread: its standard deviation and standard error do not exist (NaN,
    // shown as n/a, null in JSON), rather than a misleading 0.
    let sd = if n < 2 { f64::NAN } else { sd };
    Stat {
        mean,
        se_mean: sd / (n as f64).sqrt(),
        sd,
        min: s.min(),
        max: s.max(),
        percentiles: o
            .percentiles
            .iter()
            .map(|&p| Percentile {
                p,
                value: s.quantile(p),
                se: s.quantile_se(p),
            })
            .collect(),
        interval: [o.interval, s.quantile(a), s.quantile(1.0 - a)],
        below: th
            .into_iter()
            .map(|t| {
                let p = s.below(t);
                Probability {
                    threshold: t,
                    p,
                    se: proportion_se(p, n),
                }
            })
            .collect(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CurvePoint {
    pub x: f64,
    pub p_npv_positive: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct YearProbability {
    /// Year (1-based), or `None` for "not within the horizon".
    pub year: Option<u32>,
    pub p: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntitySummary {
    pub id: String,
    pub headline: bool,
    pub npv: Stat,
    pub pv_benefits: Stat,
    pub pv_costs: Stat,
    /// Share of benefits that can leak before NPV reaches zero (0 when NPV ≤ 0).
    pub leakage_to_zero: Stat,
    /// Exact years of delay before NPV reaches zero (0 when NPV ≤ 0).
    pub delay_to_zero: Stat,
    /// P(smallest whole-year delay with NPV ≤ 0 = k), k = 0, 1, ...
    pub delay_to_zero_whole: Vec<YearProbability>,
    pub breakeven_year: Vec<YearProbability>,
    /// P(NPV > 0) when a share x of benefits leaks, x = 0, 0.05, ..., 1.
    pub leakage_curve: Vec<CurvePoint>,
    /// P(NPV > 0) when benefits slip by x years, x = 0, 0.25, ..., horizon.
    pub delay_curve: Vec<CurvePoint>,
    /// Moved into [`Summary::headline_review`] once computed.
    #[serde(skip)]
    review: Option<Review>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PartnerSummary {
    pub id: String,
    /// The partner's share of the headline NPV (£bn; in `summary.json`, the file's money unit).
    pub npv: Stat,
    pub p_negative: f64,
    pub p_negative_se: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReviewPoint {
    pub label: String,
    pub npv: f64,
    /// Share of simulated NPVs ≤ this value.
    pub percentile_rank: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Review {
    pub id: String,
    /// The model's deterministic scenarios (and, for the embedded model, the printed figures).
    pub points: Vec<ReviewPoint>,
    /// P(lowest point ≤ NPV ≤ highest point).
    pub p_within_range: f64,
    pub p_within_range_se: f64,
    pub range: [f64; 2],
}

#[derive(Debug, Clone, Serialize)]
pub struct InputSummary {
    pub path: String,
    pub kind: String,
    pub stream: String,
    pub source: Option<String>,
    pub file: String,
    pub mean: f64,
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CorrelationSummary {
    /// Number of draws the achieved correlations are measured on: the draws numbered below
    /// [`crate::stream::PILOT_DRAWS`] (all of them in smaller runs).
    pub draws: usize,
    pub inputs: Vec<String>,
    pub target: Vec<Vec<f64>>,
    pub achieved: Vec<Vec<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub metadata: Metadata,
    pub kept_draws: usize,
    pub skipped_nonfinite: usize,
    pub inputs: Vec<InputSummary>,
    pub correlation: Option<CorrelationSummary>,
    pub outcomes: Vec<EntitySummary>,
    pub partners: Vec<PartnerSummary>,
    pub headline_review: Vec<Review>,
    /// The local method's measures, for a model with outcome-level themes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalSummary>,
}

/// The local cost-benefit method's measures of a run ([`crate::local`]).
#[derive(Debug, Clone, Serialize)]
pub struct LocalSummary {
    /// Per entity (themes, then the headline total).
    pub entities: Vec<LocalEntitySummary>,
    /// Per partner: net present budget impact over the headline themes (cashable fiscal benefits
    /// received less the partner's share of the costs, present values).
    pub budget_impact: Vec<PartnerSummary>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocalEntitySummary {
    pub id: String,
    /// PV of public value (fiscal + economic + social benefits) − PV of costs.
    pub public_value_npv: Stat,
    /// PV of public value / PV of costs.
    pub public_value_bcr: Stat,
    /// Financial return on investment: (PV of fiscal benefits − PV of costs) / PV of costs.
    pub roi: Stat,
    /// First year whose cumulative discounted fiscal net benefit is ≥ 0 (the breakeven year of
    /// the financial case).
    pub payback_year: Vec<YearProbability>,
}

impl Summary {
    /// The unit every output of this run shows amounts of money in: the readable unit of its
    /// largest figure ([`MoneyUnit::readable`] of [`Summary::largest_amount`]).
    pub fn money_unit(&self) -> MoneyUnit {
        MoneyUnit::readable(self.largest_amount())
    }

    /// The largest absolute NPV, PV of benefits or PV of costs reported (means and percentiles),
    /// £bn: what the readable money unit is chosen from.
    pub fn largest_amount(&self) -> f64 {
        let stat = |st: &Stat| {
            st.percentiles
                .iter()
                .map(|p| p.value.abs())
                .chain([st.mean.abs()])
                .fold(0.0, f64::max)
        };
        self.outcomes
            .iter()
            .map(|e| {
                stat(&e.npv)
                    .max(stat(&e.pv_benefits))
                    .max(stat(&e.pv_costs))
            })
            .fold(0.0, f64::max)
    }

    /// This summary with every amount of money (NPVs, PVs, partner and local amounts, their
    /// thresholds, review points) in `unit` instead of £bn: what `summary.json` and `summary.csv`
    /// hold. Shares, ratios, years and input values are unchanged; for £bn nothing changes.
    pub fn in_unit(&self, unit: MoneyUnit) -> Summary {
        let mut s = self.clone();
        if unit == MoneyUnit::Billion {
            return s;
        }
        let k = unit.per_bn();
        for e in &mut s.outcomes {
            for st in [&mut e.npv, &mut e.pv_benefits, &mut e.pv_costs] {
                st.scale(k);
            }
        }
        for p in &mut s.partners {
            p.npv.scale(k);
        }
        for r in &mut s.headline_review {
            for p in &mut r.points {
                p.npv *= k;
            }
            r.range = [r.range[0] * k, r.range[1] * k];
        }
        if let Some(l) = &mut s.local {
            for e in &mut l.entities {
                e.public_value_npv.scale(k);
            }
            for p in &mut l.budget_impact {
                p.npv.scale(k);
            }
        }
        s
    }
}

impl Stat {
    /// Every figure of an amount multiplied by `k` (a change of money unit).
    fn scale(&mut self, k: f64) {
        for v in [
            &mut self.mean,
            &mut self.se_mean,
            &mut self.sd,
            &mut self.min,
            &mut self.max,
        ] {
            *v *= k;
        }
        self.interval[1] *= k;
        self.interval[2] *= k;
        for p in &mut self.percentiles {
            p.value *= k;
            p.se *= k;
        }
        for b in &mut self.below {
            b.threshold *= k;
        }
    }
}

/// Extra comparison points per entity (label, NPV), e.g. the report's printed figures.
pub type ReviewPoints = Vec<(String, Vec<(String, f64)>)>;

fn year_probs(counts: &[u64], zero_is_none: bool) -> Vec<YearProbability> {
    let n = counts.iter().sum::<u64>() as f64;
    let mut out = Vec::new();
    for (k, c) in counts.iter().enumerate() {
        if zero_is_none && k == 0 {
            continue;
        }
        out.push(YearProbability {
            year: Some(k as u32),
            p: *c as f64 / n,
        });
    }
    if zero_is_none {
        out.push(YearProbability {
            year: None,
            p: counts[0] as f64 / n,
        });
    }
    out
}

/// Where the deterministic scenarios (and extra points) fall in entity `e`'s simulated NPVs.
fn review(
    plan: &Plan,
    e: usize,
    s: &dyn OrderStats,
    scen: &[Vec<f64>],
    extra: &ReviewPoints,
) -> Option<Review> {
    let npv = Layout::entity(e, Measure::Npv);
    let id = &plan.entities[e];
    let headline = e == plan.entities.len() - 1 || !plan.model.themes[e].indicative;
    if !headline {
        return None;
    }
    let mut points: Vec<ReviewPoint> = plan
        .model
        .scenarios
        .iter()
        .zip(scen)
        .map(|(name, v)| ReviewPoint {
            label: format!("model {name}"),
            npv: v[npv],
            percentile_rank: s.ecdf(v[npv]),
        })
        .collect();
    if let Some((_, pts)) = extra.iter().find(|(eid, _)| eid == id) {
        for (label, v) in pts {
            points.push(ReviewPoint {
                label: label.clone(),
                npv: *v,
                percentile_rank: s.ecdf(*v),
            });
        }
    }
    let lo = points.iter().map(|p| p.npv).fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.npv)
        .fold(f64::NEG_INFINITY, f64::max);
    let p = s.ecdf(hi) - s.below(lo);
    Some(Review {
        id: id.clone(),
        points,
        p_within_range: p,
        p_within_range_se: proportion_se(p, s.len()),
        range: [lo, hi],
    })
}

/// The statistics a summary is assembled from, one entry per column of
/// [`crate::stream::columns`].
pub struct ColumnStats<'a> {
    pub stats: Vec<&'a dyn OrderStats>,
    /// Mean and standard deviation of each column.
    pub moments: Vec<(f64, f64)>,
    /// Per entity: counts of each whole-year delay-to-zero (0..=horizon+1) and of each breakeven
    /// year (0 = not within the horizon).
    pub delay_whole: &'a [Vec<u64>],
    pub breakeven: &'a [Vec<u64>],
}

/// Assemble a summary from the statistics of every column. Only order statistics, counts and
/// moments of `c` are read, so the same code serves in-memory and streamed runs.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    plan: &Plan,
    c: &ColumnStats,
    correlation: Option<CorrelationSummary>,
    kept: usize,
    skipped: usize,
    inputs_meta: Metadata,
    o: &SummaryOptions,
    extra: &ReviewPoints,
) -> Summary {
    let (at, layout) = (Summarised::of(plan), plan.layout());
    let h = plan.model.horizon_years;
    // The model's deterministic scenarios, for the headline review.
    let scen: Vec<Vec<f64>> = (0..plan.model.scenarios.len())
        .map(|s| plan.evaluate_inputs(&plan.model.inputs(s)))
        .collect();
    let st = |col: usize| {
        let (mean, sd) = c.moments[col];
        stat_from(mean, sd, c.stats[col], o)
    };
    // P(NPV > 0) under leakage x (the draw's leakage-to-zero exceeds x), or delay x.
    let curve = |col: usize, xs: Vec<f64>| -> Vec<CurvePoint> {
        xs.into_iter()
            .map(|x| CurvePoint {
                x,
                p_npv_positive: 1.0 - c.stats[col].ecdf(x),
            })
            .collect()
    };
    // The total NPV's options: the reported percentiles and the total's own further ones.
    let total_o = (!o.total_npv_percentiles.is_empty()).then(|| {
        let mut t = o.clone();
        for q in &o.total_npv_percentiles {
            if !t.percentiles.contains(q) {
                t.percentiles.push(*q);
            }
        }
        t.percentiles.sort_by(f64::total_cmp);
        t
    });
    let mut outcomes: Vec<EntitySummary> = plan
        .entities
        .iter()
        .enumerate()
        .map(|(e, id)| {
            let b = at.outcome(Layout::entity(e, Measure::Npv));
            let leakage = at.at(Col::Leakage(e));
            let delay = at.outcome(Layout::entity(e, Measure::DelayToZero));
            let total = e == plan.entities.len() - 1;
            let headline = total || !plan.model.themes[e].indicative;
            let npv = match (&total_o, total) {
                (Some(t), true) => {
                    let (mean, sd) = c.moments[b];
                    stat_from(mean, sd, c.stats[b], t)
                }
                _ => st(b),
            };
            EntitySummary {
                id: id.clone(),
                headline,
                npv,
                review: review(plan, e, c.stats[b], &scen, extra),
                pv_benefits: st(at.outcome(Layout::entity(e, Measure::PvBenefits))),
                pv_costs: st(at.at(Col::PvCosts(e))),
                leakage_to_zero: st(leakage),
                leakage_curve: curve(leakage, (0..=20).map(|i| i as f64 / 20.0).collect()),
                delay_to_zero: st(delay),
                delay_curve: curve(delay, (0..=(4 * h)).map(|i| i as f64 / 4.0).collect()),
                delay_to_zero_whole: year_probs(&c.delay_whole[e], false),
                breakeven_year: year_probs(&c.breakeven[e], true),
            }
        })
        .collect();
    let partners = plan
        .model
        .partners
        .iter()
        .enumerate()
        .map(|(p, partner)| {
            let col = at.outcome(layout.partner_npv(p));
            let pn = c.stats[col].below(0.0);
            PartnerSummary {
                id: partner.id.clone(),
                npv: st(col),
                p_negative: pn,
                p_negative_se: proportion_se(pn, kept),
            }
        })
        .collect();
    let headline_review: Vec<Review> = outcomes
        .iter_mut()
        .filter_map(|e| e.review.take())
        .collect();
    let inputs: Vec<InputSummary> = plan
        .set
        .inputs
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let col = at.at(Col::Input(k));
            let s = c.stats[col];
            InputSummary {
                path: i.param.path.clone(),
                kind: i.dist.describe(),
                stream: i.stream.clone(),
                source: i.source.clone(),
                file: i.file.clone(),
                mean: c.moments[col].0,
                p10: s.quantile(0.1),
                p50: s.quantile(0.5),
                p90: s.quantile(0.9),
            }
        })
        .collect();
    let local = plan.local.then(|| {
        let l = layout;
        let local_st = |c: usize| st(at.outcome(c));
        LocalSummary {
            entities: plan
                .entities
                .iter()
                .enumerate()
                .map(|(e, id)| LocalEntitySummary {
                    id: id.clone(),
                    public_value_npv: local_st(l.local(e, LocalMeasure::PublicValueNpv)),
                    public_value_bcr: local_st(l.local(e, LocalMeasure::PublicValueBcr)),
                    roi: local_st(l.local(e, LocalMeasure::Roi)),
                    payback_year: year_probs(&c.breakeven[e], true),
                })
                .collect(),
            budget_impact: plan
                .model
                .partners
                .iter()
                .enumerate()
                .map(|(p, partner)| {
                    let col = at.outcome(l.budget_impact(p));
                    let pn = c.stats[col].below(0.0);
                    PartnerSummary {
                        id: partner.id.clone(),
                        npv: st(col),
                        p_negative: pn,
                        p_negative_se: proportion_se(pn, kept),
                    }
                })
                .collect(),
        }
    });
    Summary {
        local,
        metadata: inputs_meta,
        kept_draws: kept,
        skipped_nonfinite: skipped,
        inputs,
        correlation,
        outcomes,
        partners,
        headline_review,
    }
}
/// The precision a run must reach (`run --precision`): every reported NPV percentile of the
/// headline entities has a standard error of at most
/// - `Absolute(t)`: `t` in the model's money unit (£bn), given as `5m`, `£5m`, `0.005bn`;
/// - `Relative(r)`: `r` times the larger of the percentile's size and the NPV's standard
///   deviation, given as `0.001` or `0.1%`. The standard deviation keeps a percentile near zero
///   from asking for an unbounded number of draws (its relative error would be undefined).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Precision {
    Absolute(f64),
    Relative(f64),
}

impl std::str::FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> Result<Precision, String> {
        let t = s.trim();
        let allowed = "allowed: a relative tolerance in (0, 1) such as 0.001 or 0.1%, or an \
                       absolute standard error in money such as 5m, £5m or 0.005bn";
        let bad = || format!("`--precision` = {s}: {allowed}");
        let number = |x: &str| x.trim().parse::<f64>().ok().filter(|v| v.is_finite());
        let money = t.strip_prefix('£').unwrap_or(t);
        if let Some(x) = t.strip_suffix('%') {
            let v = number(x).ok_or_else(bad)? / 100.0;
            return (v > 0.0 && v < 1.0)
                .then_some(Precision::Relative(v))
                .ok_or_else(bad);
        }
        for (suffix, per_bn) in [("bn", 1.0), ("m", 1e3), ("k", 1e6)] {
            if let Some(x) = money.strip_suffix(suffix) {
                let v = number(x).ok_or_else(bad)? / per_bn;
                return (v > 0.0).then_some(Precision::Absolute(v)).ok_or_else(bad);
            }
        }
        if money.len() != t.len() {
            // `£5`: a money amount needs its unit.
            return Err(format!(
                "`--precision` = {s}: give the unit (m or bn); {allowed}"
            ));
        }
        let v = number(t).ok_or_else(bad)?;
        (v > 0.0 && v < 1.0)
            .then_some(Precision::Relative(v))
            .ok_or_else(bad)
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        match self {
            Precision::Absolute(t) => write!(f, "£{}m", t * 1e3),
            Precision::Relative(r) => write!(f, "{}%", r * 100.0),
        }
    }
}

impl Precision {
    /// How far `s` is from meeting the precision: the largest ratio of a reported headline NPV
    /// percentile's standard error to what is allowed for it (met when below 1; infinite when a
    /// standard error is undefined, as with a single draw).
    pub fn worst_ratio(&self, s: &Summary) -> f64 {
        s.outcomes
            .iter()
            .filter(|e| e.headline)
            .flat_map(|e| {
                e.npv.percentiles.iter().map(move |p| {
                    let allowed = match *self {
                        Precision::Absolute(t) => t,
                        Precision::Relative(r) => r * p.value.abs().max(e.npv.sd),
                    };
                    if p.se.is_nan() || allowed.is_nan() {
                        f64::INFINITY
                    } else if p.se == 0.0 {
                        0.0
                    } else {
                        p.se / allowed
                    }
                })
            })
            .fold(0.0, f64::max)
    }
}

#[cfg(test)]
mod precision_tests {
    use super::Precision;

    #[test]
    fn precision_reads_relative_and_absolute_tolerances() {
        assert_eq!("0.001".parse(), Ok(Precision::Relative(0.001)));
        assert_eq!("0.5%".parse(), Ok(Precision::Relative(0.005)));
        assert_eq!("5m".parse(), Ok(Precision::Absolute(0.005)));
        assert_eq!("£5m".parse(), Ok(Precision::Absolute(0.005)));
        assert_eq!("0.02bn".parse(), Ok(Precision::Absolute(0.02)));
        // Shown as the user would give them.
        assert_eq!(Precision::Absolute(0.005).to_string(), "£5m");
        assert_eq!(Precision::Relative(0.25).to_string(), "25%");
        for bad in [
            "2", "0", "1", "-1m", "0m", "£5", "abc", "150%", "100%", "0%", "nanm", "",
        ] {
            let e = bad.parse::<Precision>().unwrap_err();
            assert!(e.contains("allowed"), "{bad}: {e}");
        }
    }
}

#[cfg(test)]
#[path = "summary_tests.rs"]
mod tests;
