//! Sensitivity analysis of a plan: tornado (one at a time), switching values, rank correlations
//! from Monte Carlo draws, and variance-based (Sobol) indices on the same deterministic engine.
//!
//! A *factor* is one random stream of the plan: usually one input, or several inputs that share a
//! `stream` and move together (e.g. a theme's realisation and the costs that scale with it).
//! "Central" means every factor at its median (quantile position 0.5).
//!
//! - Tornado: each factor at its low and high quantile (default P10 and P90), the others central.
//! - Switching value (Green Book): the value of a factor at which an NPV reaches zero, the others
//!   central. For a factor with one single-valued input the search covers the parameter's whole
//!   physical range (a share in [0, 1], an amount ≥ 0); for grouped or list-valued factors it
//!   covers the factor's own distribution (quantile positions 0 to 1).
//! - Rank correlation: Spearman correlation of each input with each NPV over the Monte Carlo
//!   draws, and its normalised square as a contribution to variance.
//! - Scenario analysis (@RISK): in the draws where an NPV is below zero, and in its worst tenth,
//!   each input's median minus its overall median in standard deviations of the input
//!   ([`scenario_analysis`]; needs the kept draws, like the rank correlations).
//! - Sobol indices: first- and total-order, Saltelli (2010) design on a scrambled Sobol sequence,
//!   bootstrap intervals ([`crate::sobol_indices`]). The factors are treated as independent: the
//!   plan's rank correlations are not applied in this design (see the notes in the output).
//! - Shapley effects ([`crate::shapley`]): each factor's share of the NPV's variance under the
//!   run's own joint distribution, copula included; they sum to 1 and stay meaningful when the
//!   factors are correlated. Computed on `sobol_base / 4` rows (at least 64), every subset of
//!   the factors when there are at most 10, sampled orderings above.
//!
//! A grouped factor is named by its stream; its *driver* is the input the others follow
//! (`follow`), or its first input when none is followed. Tornado values and switching values are
//! given for the driver, which comes first in a tornado bar's `inputs`.

use serde::Serialize;

use crate::distfile::InputDist;
use crate::engine::Factor;
use crate::engine::{Draws, Layout, MAX_OUTCOME, Measure, Plan};
use crate::money::MoneyUnit;
use crate::params::Domain;
use crate::rng::path_key;
use crate::sampler::{Dimension, Sampler, SamplerKind};
use crate::shapley::{ShapleyConfig, shapley_effects};
use crate::sobol_indices::{SobolConfig, SobolIndices, sobol_indices_multi};
use crate::stats::{pearson, ranks};

/// What to compute and how.
#[derive(Debug, Clone)]
pub struct SensitivityOptions {
    /// Low and high quantile levels of the tornado, each in (0, 1).
    pub levels: (f64, f64),
    /// Base draws N of the Sobol design (N(k+2) model runs).
    pub sobol_base: u64,
    pub bootstrap: usize,
    pub confidence: f64,
    pub seed: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntityValue {
    pub id: String,
    pub low: f64,
    pub high: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TornadoBar {
    pub factor: String,
    /// The factor's inputs, its driver first.
    pub inputs: Vec<String>,
    /// The driver's value at the central, low and high positions.
    pub central_value: f64,
    pub low_value: f64,
    pub high_value: f64,
    /// Total NPV with the factor low and high.
    pub total_low: f64,
    pub total_high: f64,
    pub swing: f64,
    /// Headline themes' NPVs with the factor low and high.
    pub themes: Vec<EntityValue>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SwitchingValue {
    pub factor: String,
    pub input: String,
    pub entity: String,
    pub central_value: f64,
    /// The value at which the entity's NPV reaches zero, if any in the searched range.
    pub switching_value: Option<f64>,
    pub change_pct: Option<f64>,
    /// Whether the switching value lies inside the input's own distribution, and where.
    pub inside_distribution: bool,
    pub percentile: Option<f64>,
    /// What was searched, and the outcome in words.
    pub note: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RankCorrelation {
    pub input: String,
    pub entity: String,
    pub spearman: f64,
    /// ρ² / Σ ρ² over the inputs, for this entity.
    pub contribution: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SobolFactor {
    pub factor: String,
    /// The inputs drawn from the factor's stream.
    pub inputs: Vec<String>,
    /// First- and total-order Sobol indices, factors independent (the copula is not applied).
    pub first: [f64; 3],
    pub total: [f64; 3],
    /// Shapley effect as a share of the variance under the run's joint distribution (copula
    /// included).
    pub shapley: [f64; 3],
}

/// How the Shapley effects were computed.
#[derive(Debug, Clone, Serialize)]
pub struct ShapleySummary {
    /// Variance of the NPV under the run's joint distribution (correlations included).
    pub variance: f64,
    pub base_draws: u64,
    pub model_runs: u64,
    /// Every subset of the factors evaluated (exact Shapley weights), or orderings sampled.
    pub all_subsets: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct SobolResult {
    pub entity: String,
    /// Variance of the NPV with the factors independent (the Sobol design's).
    pub variance: f64,
    pub base_draws: u64,
    pub model_runs: u64,
    pub shapley: ShapleySummary,
    /// Estimate, low, high of each index (bootstrap percentile interval).
    pub factors: Vec<SobolFactor>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    pub central_npv: Vec<(String, f64)>,
    pub tornado: Vec<TornadoBar>,
    pub switching: Vec<SwitchingValue>,
    pub rank: Vec<RankCorrelation>,
    pub sobol: Vec<SobolResult>,
    /// Scenario analysis: which inputs are shifted in the draws where an NPV does badly.
    pub scenario: Vec<ScenarioRegion>,
    pub notes: Vec<String>,
}

impl Sensitivity {
    /// The readable unit of this analysis' amounts ([`MoneyUnit::readable`] of its largest
    /// central or tornado NPV).
    pub fn money_unit(&self) -> MoneyUnit {
        let largest = self
            .central_npv
            .iter()
            .map(|(_, v)| v.abs())
            .chain(
                self.tornado
                    .iter()
                    .flat_map(|b| [b.total_low.abs(), b.total_high.abs()]),
            )
            .fold(0.0, f64::max);
        MoneyUnit::readable(largest)
    }

    /// This analysis with its amounts of money (NPVs, swings, NPV variances, region bounds) in
    /// `unit` instead of £bn. Input values stay in their parameter's own unit (an amount of money
    /// in the model's money unit); indices, correlations and shares are unit-free.
    pub fn in_unit(&self, unit: MoneyUnit) -> Sensitivity {
        let mut s = self.clone();
        if unit == MoneyUnit::Billion {
            return s;
        }
        let k = unit.per_bn();
        for (_, v) in &mut s.central_npv {
            *v *= k;
        }
        for b in &mut s.tornado {
            b.total_low *= k;
            b.total_high *= k;
            b.swing *= k;
            for t in &mut b.themes {
                t.low *= k;
                t.high *= k;
            }
        }
        for r in &mut s.sobol {
            r.variance *= k * k;
            r.shapley.variance *= k * k;
        }
        for r in &mut s.scenario {
            r.threshold *= k;
        }
        s
    }

    /// `sensitivity.json`: the analysis in its readable unit, named by the top-level
    /// `money_unit`.
    pub fn json(&self) -> String {
        #[derive(Serialize)]
        struct WithUnit {
            #[serde(flatten)]
            analysis: Sensitivity,
            money_unit: MoneyUnit,
        }
        let unit = self.money_unit();
        let v = WithUnit {
            analysis: self.in_unit(unit),
            money_unit: unit,
        };
        let mut t = serde_json::to_string_pretty(&v).expect("sensitivity serialises");
        t.push('\n');
        t
    }
}

/// Inputs whose median shift, in standard deviations of the input, is at least this large are
/// reported as significant in scenario analysis (@RISK's convention).
pub const SCENARIO_SIGNIFICANT_SD: f64 = 0.5;

/// One region of interest of one NPV (NPV < 0, or its worst tenth) and how each input is shifted
/// in the draws that fall in it.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioRegion {
    pub entity: String,
    /// `"npv_below_zero"` or `"worst_10pct"`.
    pub region: String,
    /// The NPV bound of the region: 0, or the value of the worst tenth's highest draw.
    pub threshold: f64,
    /// Draws in the region (of `total_draws`).
    pub draws: usize,
    pub total_draws: usize,
    /// Inputs by decreasing absolute shift (empty when no draw falls in the region).
    pub inputs: Vec<ScenarioInput>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInput {
    pub input: String,
    pub overall_median: f64,
    pub subset_median: f64,
    /// Standard deviation of the input over all draws.
    pub sd: f64,
    /// (subset median − overall median) / sd.
    pub shift_sd: f64,
    /// |shift_sd| ≥ [`SCENARIO_SIGNIFICANT_SD`].
    pub significant: bool,
}

/// Headline entities: indices of headline themes, then the total.
fn headline_entities(plan: &Plan) -> Vec<usize> {
    let n_t = plan.model.themes.len();
    let mut v: Vec<usize> = (0..n_t)
        .filter(|&t| !plan.model.themes[t].indicative)
        .collect();
    v.push(n_t);
    v
}

fn npv(out: &[f64], e: usize) -> f64 {
    out[Layout::entity(e, Measure::Npv)]
}

/// The input of a factor a reader recognises as its driver: the one the others follow, else the
/// first.
pub fn driver(plan: &Plan, f: &Factor) -> usize {
    f.inputs
        .iter()
        .copied()
        .find(|&i| {
            let path = &plan.set.inputs[i].param.path;
            f.inputs
                .iter()
                .any(|&j| plan.set.inputs[j].follows.as_deref() == Some(path.as_str()))
        })
        .unwrap_or(f.inputs[0])
}

/// The factor's input paths, its driver first.
fn input_names(plan: &Plan, f: &Factor) -> Vec<String> {
    let d = driver(plan, f);
    std::iter::once(d)
        .chain(f.inputs.iter().copied().filter(|&i| i != d))
        .map(|i| plan.set.inputs[i].param.path.clone())
        .collect()
}

/// Tornado bars sorted by swing of the total NPV (largest first).
pub fn tornado(plan: &Plan, levels: (f64, f64)) -> Vec<TornadoBar> {
    let factors = plan.factors();
    let central = vec![0.5; factors.len()];
    let total = plan.entities.len() - 1;
    let themes: Vec<usize> = headline_entities(plan)
        .into_iter()
        .filter(|&e| e != total)
        .collect();
    let mut bars: Vec<TornadoBar> = factors
        .iter()
        .enumerate()
        .map(|(k, f)| {
            let at = |u: f64| {
                let mut pos = central.clone();
                pos[k] = u;
                plan.evaluate_at(&pos, None)
            };
            let (lo, hi) = (at(levels.0), at(levels.1));
            let first = &plan.set.inputs[driver(plan, f)];
            let value = |u: f64| {
                let mut b = vec![0.0; first.param.width()];
                first.dist.values(u, &mut b);
                b[0]
            };
            TornadoBar {
                factor: f.name.clone(),
                inputs: input_names(plan, f),
                central_value: value(0.5),
                low_value: value(levels.0),
                high_value: value(levels.1),
                total_low: npv(&lo, total),
                total_high: npv(&hi, total),
                swing: (npv(&hi, total) - npv(&lo, total)).abs(),
                themes: themes
                    .iter()
                    .map(|&e| EntityValue {
                        id: plan.entities[e].clone(),
                        low: npv(&lo, e),
                        high: npv(&hi, e),
                    })
                    .collect(),
            }
        })
        .collect();
    // Stable sort by swing, largest first; ties keep stream order.
    bars.sort_by(|a, b| b.swing.total_cmp(&a.swing));
    bars
}

/// The spider chart's lines: the total NPV with one factor at each of `levels` (positions in its
/// distribution, e.g. 0.1 for its P10) and every other factor at its median, for the factors
/// named in `names` (in that order; unknown names are left out).
pub fn spider(plan: &Plan, names: &[String], levels: &[f64]) -> Vec<(String, Vec<(f64, f64)>)> {
    let factors = plan.factors();
    let total = plan.entities.len() - 1;
    names
        .iter()
        .filter_map(|name| {
            let k = factors.iter().position(|f| &f.name == name)?;
            let line = levels
                .iter()
                .map(|&u| {
                    let mut pos = vec![0.5; factors.len()];
                    pos[k] = u;
                    (u, npv(&plan.evaluate_at(&pos, None), total))
                })
                .collect();
            Some((name.clone(), line))
        })
        .collect()
}

/// Find a root of `g` on [a, b] given g(a), g(b) of opposite signs (bisection, 200 steps).
fn bisect(g: &dyn Fn(f64) -> f64, mut a: f64, mut b: f64) -> f64 {
    let mut ga = g(a);
    for _ in 0..200 {
        let m = 0.5 * (a + b);
        let gm = g(m);
        if gm == 0.0 {
            return m;
        }
        if (gm < 0.0) == (ga < 0.0) {
            a = m;
            ga = gm;
        } else {
            b = m;
        }
        if (b - a).abs() <= 1e-12 * (1.0 + a.abs()) {
            break;
        }
    }
    0.5 * (a + b)
}

/// Nearest root of `g` to `x0` within [lo, hi] (bounds may be infinite), if any.
fn nearest_root(g: &dyn Fn(f64) -> f64, x0: f64, lo: f64, hi: f64) -> Option<f64> {
    let g0 = g(x0);
    if g0 == 0.0 {
        return Some(x0);
    }
    let scale = x0.abs().max(1e-9);
    let mut best: Option<f64> = None;
    for dir in [-1.0, 1.0] {
        let bound = if dir < 0.0 { lo } else { hi };
        let mut prev = x0;
        for j in 0..64 {
            let mut x = x0 + dir * scale * (2f64.powi(j) * 0.01);
            if (dir < 0.0 && x < bound) || (dir > 0.0 && x > bound) {
                x = bound;
            }
            if !x.is_finite() {
                break;
            }
            let gx = g(x);
            if (gx < 0.0) != (g0 < 0.0) || gx == 0.0 {
                let r = bisect(g, prev, x);
                if best.is_none_or(|b| (r - x0).abs() < (b - x0).abs()) {
                    best = Some(r);
                }
                break;
            }
            if x == bound {
                break;
            }
            prev = x;
        }
    }
    best
}

/// The percentile of value `x` of input `i`'s distribution, if `x` lies inside its support.
fn percentile_of(dist: &InputDist, x: f64) -> Option<f64> {
    match dist {
        InputDist::Direct(d) => {
            let (lo, hi) = d.support();
            (x >= lo && x <= hi).then(|| d.cdf(x))
        }
        InputDist::Between {
            low,
            mode,
            t_dist,
            clip,
        } => {
            let d = mode[0] - low[0];
            if d == 0.0 {
                return None;
            }
            let t = (x - low[0]) / d;
            let (lo, hi) = t_dist.support();
            let (lo, hi) = (lo.max(clip.0), hi.min(clip.1));
            (t >= lo && t <= hi).then(|| {
                // P(position ≤ t), the position being clipped to [lo, hi].
                let p = if t >= hi { 1.0 } else { t_dist.cdf(t) };
                if d > 0.0 { p } else { 1.0 - p }
            })
        }
    }
}

/// Switching values of every factor for every headline entity it affects.
pub fn switching_values(plan: &Plan) -> Vec<SwitchingValue> {
    let factors = plan.factors();
    let central = vec![0.5; factors.len()];
    let total = plan.entities.len() - 1;
    let mut out = Vec::new();
    for (k, f) in factors.iter().enumerate() {
        let d = driver(plan, f);
        let first = &plan.set.inputs[d];
        let mut cv = vec![0.0; first.param.width()];
        first.dist.values(0.5, &mut cv);
        let touches = |e: usize| {
            e == total
                || f.inputs
                    .iter()
                    .any(|&i| match plan.set.inputs[i].param.target {
                        crate::params::Target::DiscountRate(_) => true,
                        crate::params::Target::Theme(t, _) => t == e,
                    })
        };
        for e in headline_entities(plan).into_iter().filter(|&e| touches(e)) {
            let single = f.inputs.len() == 1 && first.param.width() == 1;
            let (sv, note, pct) = if single {
                let (lo, hi) = match first.param.domain {
                    Domain::Share => (0.0, 1.0),
                    Domain::NonNegative => (0.0, f64::INFINITY),
                    Domain::Rate => (-1.0 + 1e-9, f64::INFINITY),
                };
                let g = |x: f64| npv(&plan.evaluate_at(&central, Some((d, &[x]))), e);
                match nearest_root(&g, cv[0], lo, hi) {
                    Some(x) => {
                        let p = percentile_of(&first.dist, x);
                        let note = match p {
                            Some(p) => format!(
                                "inside its distribution, at the {:.1}th percentile",
                                p * 100.0
                            ),
                            None => {
                                "outside its distribution, inside the physical range".to_string()
                            }
                        };
                        (Some(x), note, p)
                    }
                    None => (
                        None,
                        format!(
                            "no switching value in the physical range ({})",
                            first.param.domain.describe()
                        ),
                        None,
                    ),
                }
            } else {
                let g = |u: f64| {
                    let mut pos = central.clone();
                    pos[k] = u;
                    npv(&plan.evaluate_at(&pos, None), e)
                };
                match nearest_root(&g, 0.5, 1e-9, 1.0 - 1e-9) {
                    Some(u) => {
                        let mut v = vec![0.0; first.param.width()];
                        first.dist.values(u, &mut v);
                        (Some(v[0]), format!("inside its distribution, at the {:.1}th percentile (grouped or list-valued factor: searched within its distribution)", u * 100.0), Some(u))
                    }
                    None => (None, "no switching value inside its distribution (grouped or list-valued factor: searched within its distribution only)".to_string(), None),
                }
            };
            out.push(SwitchingValue {
                factor: f.name.clone(),
                input: first.param.path.clone(),
                entity: plan.entities[e].clone(),
                central_value: cv[0],
                switching_value: sv,
                change_pct: sv.and_then(|x| (cv[0] != 0.0).then(|| (x - cv[0]) / cv[0] * 100.0)),
                inside_distribution: pct.is_some(),
                percentile: pct,
                note,
            });
        }
    }
    out
}

/// Spearman rank correlation of every input with every headline NPV over the draws.
pub fn rank_correlations(plan: &Plan, draws: &Draws) -> Vec<RankCorrelation> {
    use rayon::prelude::*;
    let input_ranks: Vec<Vec<f64>> = draws.inputs.par_iter().map(|v| ranks(v)).collect();
    let mut out = Vec::new();
    for e in headline_entities(plan) {
        let y = ranks(&draws.outcomes[Layout::entity(e, Measure::Npv)]);
        let rho: Vec<f64> = input_ranks
            .iter()
            .map(|r| pearson(r, &y))
            .map(|x| if x.is_nan() { 0.0 } else { x })
            .collect();
        let sum: f64 = rho.iter().map(|r| r * r).sum();
        for (i, r) in rho.iter().enumerate() {
            out.push(RankCorrelation {
                input: plan.set.inputs[i].param.path.clone(),
                entity: plan.entities[e].clone(),
                spearman: *r,
                contribution: if sum > 0.0 { r * r / sum } else { 0.0 },
            });
        }
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_unstable_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Scenario analysis in the manner of @RISK, on kept draws: for each headline NPV, the draws where
/// it is below zero and the draws of its worst tenth (the ⌈n/10⌉ lowest, ties by draw order); for
/// each input, the median of its values in those draws minus its overall median, in standard
/// deviations of the input over all draws. A shift of at least [`SCENARIO_SIGNIFICANT_SD`] in
/// absolute value is reported as significant: a threshold on the size of the shift, the
/// convention of @RISK's scenario analysis, not a hypothesis test.
pub fn scenario_analysis(plan: &Plan, draws: &Draws) -> Vec<ScenarioRegion> {
    use rayon::prelude::*;
    let n = draws.n;
    if n == 0 {
        return Vec::new();
    }
    let overall: Vec<(f64, f64)> = draws
        .inputs
        .par_iter()
        .map(|v| {
            let sd = crate::stats::mean_sd(v).1;
            (median(&mut v.clone()), sd)
        })
        .collect();
    let mut out = Vec::new();
    for e in headline_entities(plan) {
        let y = &draws.outcomes[Layout::entity(e, Measure::Npv)];
        let below: Vec<usize> = (0..n).filter(|&i| y[i] < 0.0).collect();
        // The k lowest draws under a total order (value, then draw): selecting them is enough,
        // the order within them does not matter.
        let mut order: Vec<usize> = (0..n).collect();
        let k = n.div_ceil(10);
        order.select_nth_unstable_by(k - 1, |&a, &b| y[a].total_cmp(&y[b]).then(a.cmp(&b)));
        let worst_bound = y[order[k - 1]];
        order.truncate(k);
        let mut worst = order;
        worst.sort_unstable();
        for (region, threshold, rows) in [
            ("npv_below_zero", 0.0, below),
            ("worst_10pct", worst_bound, worst),
        ] {
            let mut inputs: Vec<ScenarioInput> = if rows.is_empty() {
                Vec::new()
            } else {
                draws
                    .inputs
                    .par_iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let mut sub: Vec<f64> = rows.iter().map(|&r| v[r]).collect();
                        let m = median(&mut sub);
                        let (om, sd) = overall[i];
                        let shift = if sd > 0.0 { (m - om) / sd } else { 0.0 };
                        ScenarioInput {
                            input: plan.set.inputs[i].param.path.clone(),
                            overall_median: om,
                            subset_median: m,
                            sd,
                            shift_sd: shift,
                            significant: shift.abs() >= SCENARIO_SIGNIFICANT_SD,
                        }
                    })
                    .collect()
            };
            inputs.sort_by(|a, b| b.shift_sd.abs().total_cmp(&a.shift_sd.abs()));
            out.push(ScenarioRegion {
                entity: plan.entities[e].clone(),
                region: region.into(),
                threshold,
                draws: rows.len(),
                total_draws: n,
                inputs,
            });
        }
    }
    out
}

/// First- and total-order Sobol indices of every factor for every headline NPV.
pub fn sobol(plan: &Plan, o: &SensitivityOptions) -> Result<Vec<SobolResult>, String> {
    sobol_design(plan, o).map_err(|e| e.to_string())
}

/// Why a design ([`sobol`], [`shapley`]) gave no indices.
#[derive(Debug)]
enum DesignError {
    /// The model gave an NPV beyond ±[`MAX_OUTCOME`] at one of the design's points: the design
    /// cannot leave a point out, as a run skips a draw ([`out_of_scale`] says so).
    OutOfScale(String),
    Other(String),
}

impl std::fmt::Display for DesignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DesignError::OutOfScale(m) | DesignError::Other(m) => write!(f, "{m}"),
        }
    }
}

/// [`sobol`] for a run that skips its non-finite draws (`--skip-nonfinite`): where the design
/// meets amounts out of scale, no indices (an empty list) and the note saying why, instead of
/// the error. Other errors stay errors.
pub fn sobol_skipping(
    plan: &Plan,
    o: &SensitivityOptions,
) -> Result<(Vec<SobolResult>, Option<String>), String> {
    match sobol_design(plan, o) {
        Ok(r) => Ok((r, None)),
        Err(DesignError::OutOfScale(m)) => Ok((
            Vec::new(),
            Some(format!(
                "Sobol indices and Shapley effects not computed: {m}"
            )),
        )),
        Err(DesignError::Other(m)) => Err(m),
    }
}

fn sobol_design(plan: &Plan, o: &SensitivityOptions) -> Result<Vec<SobolResult>, DesignError> {
    let factors = plan.factors();
    let k = factors.len();
    if k == 0 {
        return Err(DesignError::Other(
            "Sobol indices need at least one uncertain input; the distribution files give none"
                .into(),
        ));
    }
    let other = |e: String| DesignError::Other(e);
    let sampler =
        Sampler::new(SamplerKind::Sobol, o.seed, o.sobol_base).map_err(|e| other(e.to_string()))?;
    sampler
        .check_dimensions(2 * k)
        .map_err(|e| other(e.to_string()))?;
    let dims = design_dims("saltelli", 2 * k);
    let uniform = |row: u64, col: usize| sampler.uniform(&dims[col], row);
    let entities = headline_entities(plan);
    let scale = std::sync::OnceLock::new();
    let model = design_model(plan, &entities, &scale);
    let mut cfg = SobolConfig::new(o.sobol_base, o.seed);
    cfg.resamples = o.bootstrap;
    cfg.level = o.confidence;
    let res: Vec<SobolIndices> = sobol_indices_multi(k, entities.len(), &cfg, &uniform, &model)
        .map_err(|e| design_error(&scale, "Sobol", e.to_string()))?;
    let sh = shapley_design(plan, o)?;
    Ok(entities
        .iter()
        .zip(res)
        .zip(sh)
        .map(|((&e, r), s)| SobolResult {
            entity: plan.entities[e].clone(),
            variance: r.variance,
            base_draws: r.n_base,
            model_runs: r.runs,
            shapley: ShapleySummary {
                variance: s.variance,
                base_draws: s.n_base,
                model_runs: s.runs,
                all_subsets: s.all_subsets,
            },
            factors: factors
                .iter()
                .enumerate()
                .map(|(i, f)| SobolFactor {
                    factor: f.name.clone(),
                    inputs: input_names(plan, f),
                    first: [r.first[i].estimate, r.first[i].low, r.first[i].high],
                    total: [r.total[i].estimate, r.total[i].low, r.total[i].high],
                    shapley: [s.shares[i].estimate, s.shares[i].low, s.shares[i].high],
                })
                .collect(),
        })
        .collect())
}

/// The normal-score correlation matrix of the plan's factors: the copula's, between the
/// factors of correlated inputs; 0 elsewhere.
pub fn factor_correlation(plan: &Plan) -> Vec<Vec<f64>> {
    let factors = plan.factors();
    let k = factors.len();
    let mut r: Vec<Vec<f64>> = (0..k)
        .map(|i| (0..k).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    if let Some(c) = &plan.set.correlation {
        let of = |input: usize| factors.iter().position(|f| f.inputs.contains(&input));
        for (a, &ia) in c.inputs.iter().enumerate() {
            for (b, &ib) in c.inputs.iter().enumerate() {
                if let (Some(fa), Some(fb)) = (of(ia), of(ib))
                    && fa != fb
                {
                    r[fa][fb] = c.normal[a][b];
                }
            }
        }
    }
    r
}

/// Shapley effects of every factor for every headline NPV, under the run's joint distribution
/// (the copula included), on `sobol_base / 4` rows (at least 64).
pub fn shapley(
    plan: &Plan,
    o: &SensitivityOptions,
) -> Result<Vec<crate::shapley::ShapleyEffects>, String> {
    shapley_design(plan, o).map_err(|e| e.to_string())
}

fn shapley_design(
    plan: &Plan,
    o: &SensitivityOptions,
) -> Result<Vec<crate::shapley::ShapleyEffects>, DesignError> {
    let other = |e: String| DesignError::Other(e);
    let k = plan.factors().len();
    let rows = (o.sobol_base / 4).max(crate::sobol_indices::MIN_BASE_DRAWS);
    let sampler =
        Sampler::new(SamplerKind::Sobol, o.seed, rows).map_err(|e| other(e.to_string()))?;
    sampler
        .check_dimensions(2 * k)
        .map_err(|e| other(e.to_string()))?;
    let dims = design_dims("shapley", 2 * k);
    let uniform = |row: u64, col: usize| sampler.uniform(&dims[col], row);
    let entities = headline_entities(plan);
    let scale = std::sync::OnceLock::new();
    let model = design_model(plan, &entities, &scale);
    let mut cfg = ShapleyConfig::new(rows, o.seed);
    cfg.resamples = o.bootstrap;
    cfg.level = o.confidence;
    shapley_effects(
        k,
        entities.len(),
        &factor_correlation(plan),
        &cfg,
        &uniform,
        &model,
    )
    .map_err(|e| design_error(&scale, "Shapley", e))
}

/// The model as the Sobol and Shapley designs evaluate it: each headline NPV (`entities`) at
/// the factors' uniforms `u`. An NPV beyond ±[`MAX_OUTCOME`] (what a run refuses as a draw) is
/// written as NaN, which the estimators refuse, and the first one is kept in `scale` for
/// [`out_of_scale`] to say why.
fn design_model<'a>(
    plan: &'a Plan,
    entities: &'a [usize],
    scale: &'a std::sync::OnceLock<(String, f64)>,
) -> impl Fn(&[f64], &mut [f64]) + Sync + 'a {
    move |u: &[f64], out: &mut [f64]| {
        let r = plan.evaluate_at(u, None);
        for (o, &e) in out.iter_mut().zip(entities) {
            *o = npv(&r, e);
            if o.is_nan() || o.abs() > MAX_OUTCOME {
                scale.get_or_init(|| (plan.entities[e].clone(), *o));
                *o = f64::NAN;
            }
        }
    }
}

/// The error of a design ([`design_model`]) whose estimator failed with `e`: out of scale when
/// the model met an NPV out of scale (the NaN written for it is what the estimator refused).
fn design_error(
    scale: &std::sync::OnceLock<(String, f64)>,
    design: &str,
    e: String,
) -> DesignError {
    match scale.get() {
        Some((entity, v)) => DesignError::OutOfScale(format!(
            "the {design} design evaluates the model where the NPV of `{entity}` is {v:e}, beyond ±1e100 (whose square would overflow the estimators): a distribution's tail reaches amounts out of scale; narrow it, or pass `--skip-nonfinite`, which skips such draws of the run and leaves the Sobol indices and Shapley effects out (their design needs the model at every one of its points)"
        )),
        None => DesignError::Other(e),
    }
}

/// Notes a reader needs: correlated inputs, grouped factors, what Sobol assumes.
pub fn notes(plan: &Plan) -> Vec<String> {
    let mut n = Vec::new();
    for f in plan.factors().iter().filter(|f| f.inputs.len() > 1) {
        let names: Vec<&str> = f
            .inputs
            .iter()
            .map(|&i| plan.set.inputs[i].param.path.as_str())
            .collect();
        let d = &plan.set.inputs[driver(plan, f)].param.path;
        n.push(format!("Factor `{}` moves {} together (one stream): one-at-a-time results treat them as one factor (its tornado and switching values are given for its driver, {d}), and their rank correlations with an outcome are not separable.", f.name, names.join(", ")));
    }
    if let Some(c) = &plan.set.correlation {
        let mut pairs = Vec::new();
        for a in 0..c.inputs.len() {
            for b in 0..a {
                if c.rank[a][b] != 0.0 {
                    pairs.push(format!(
                        "{} ~ {} ({})",
                        plan.set.inputs[c.inputs[a]].param.path,
                        plan.set.inputs[c.inputs[b]].param.path,
                        c.rank[a][b]
                    ));
                }
            }
        }
        if !pairs.is_empty() {
            n.push(format!("Inputs correlated by design: {}. Their rank correlations with an outcome include each other's influence. Tornado, switching values and Sobol indices vary factors independently of these correlations (Sobol indices assume independent factors; with correlated inputs, first-order Sobol indices of independent factors understate what a correlated group moves together); Shapley effects are computed under the run's joint distribution, correlations included, and share what correlated factors move together among them.", pairs.join("; ")));
        }
        let mut solved = Vec::new();
        for a in 0..c.inputs.len() {
            for b in 0..a {
                let continuous = 2.0 * libm::sin(std::f64::consts::PI * c.rank[a][b] / 6.0);
                if c.rank[a][b] != 0.0 && (c.normal[a][b] - continuous).abs() > 1e-9 {
                    solved.push(format!(
                        "{} ~ {}: {:.3} (2 sin(πρ/6) would give {:.3}, rank correlation {:.3})",
                        plan.set.inputs[c.inputs[a]].param.path,
                        plan.set.inputs[c.inputs[b]].param.path,
                        c.normal[a][b],
                        continuous,
                        crate::copula::spearman(
                            continuous,
                            &plan.set.inputs[c.inputs[a]].dist.marginal(),
                            &plan.set.inputs[c.inputs[b]].dist.marginal()
                        )
                    ));
                }
            }
        }
        if !solved.is_empty() {
            n.push(format!("Normal-score correlations of the copula solved for inputs with ties or clipped ends, so that their rank correlations meet the targets: {}.", solved.join("; ")));
        }
        n.extend(c.notes.iter().cloned());
    }
    n
}

/// Central NPVs of the headline entities.
pub fn central(plan: &Plan) -> Vec<(String, f64)> {
    let r = plan.evaluate_at(&vec![0.5; plan.factors().len()], None);
    headline_entities(plan)
        .into_iter()
        .map(|e| (plan.entities[e].clone(), npv(&r, e)))
        .collect()
}
/// The dimensions of a design's `n` columns of Sobol points, keyed `{prefix}.{j}`.
fn design_dims(prefix: &str, n: usize) -> Vec<Dimension> {
    (0..n)
        .map(|j| Dimension {
            stream: path_key(&format!("{prefix}.{j}")),
            index: j as u32,
        })
        .collect()
}

#[cfg(test)]
#[path = "sensitivity_tests.rs"]
pub(crate) mod tests;
