//! The summary of a Monte Carlo run: statistics of every outcome with their Monte Carlo standard
//! errors, the headline review against the published scenario values, risk curves, partner risk,
//! achieved correlations and the run's metadata. Computed from [`Draws`] in draw order, so it is
//! identical whatever the number of threads. Layout documented in `docs/summary-json.md`.

use serde::Serialize;

use crate::engine::{Draws, ENTITY_MEASURES, Plan};
use crate::stats::{Sorted, mean_sd, pearson, proportion_se, ranks};

/// What the summary reports, chosen by the user.
#[derive(Debug, Clone)]
pub struct SummaryOptions {
    /// Percentiles to report, in (0, 1).
    pub percentiles: Vec<f64>,
    /// Level of the central interval, in (0, 1).
    pub interval: f64,
    /// Thresholds (£bn) for P(NPV < threshold), besides 0.
    pub thresholds: Vec<f64>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            percentiles: vec![0.05, 0.10, 0.50, 0.90, 0.95],
            interval: 0.90,
            thresholds: Vec::new(),
        }
    }
}

/// Run metadata recorded in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
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
        use sha2::Digest;
        let h = sha2::Sha256::digest(contents.as_bytes());
        FileHash {
            file: file.to_string(),
            sha256: h.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }
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

/// Sort a copy of an engine column (the engine keeps only finite draws).
fn sorted(v: Vec<f64>) -> Sorted {
    Sorted::new(v).expect("the engine keeps only finite draws")
}

/// Statistics of a derived column: moments in draw order, then the column itself is sorted.
fn moments_then_sort(v: Vec<f64>, o: &SummaryOptions) -> (Stat, Sorted) {
    let (mean, sd) = mean_sd(&v);
    let s = sorted(v);
    let st = stat_from(mean, sd, &s, o);
    (st, s)
}

/// Statistics of a sample `v` (in draw order, for the moments) and its sorted copy `s`.
fn stat(v: &[f64], s: &Sorted, o: &SummaryOptions) -> Stat {
    let (mean, sd) = mean_sd(v);
    stat_from(mean, sd, s, o)
}

fn stat_from(mean: f64, sd: f64, s: &Sorted, o: &SummaryOptions) -> Stat {
    let n = s.len();
    let mut th = vec![0.0];
    th.extend(o.thresholds.iter().copied().filter(|t| *t != 0.0));
    let a = (1.0 - o.interval) / 2.0;
    Stat {
        mean,
        se_mean: sd / (n as f64).sqrt(),
        sd,
        min: s.values()[0],
        max: s.values()[n - 1],
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
    /// The partner's share of the headline NPV, £bn.
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
}

impl Summary {
    /// The largest absolute NPV figure reported (means and percentiles), £bn: used to choose
    /// between £bn and £m when displaying a small business case.
    pub fn largest_npv(&self) -> f64 {
        self.outcomes
            .iter()
            .flat_map(|e| {
                e.npv
                    .percentiles
                    .iter()
                    .map(|p| p.value.abs())
                    .chain([e.npv.mean.abs()])
            })
            .fold(0.0, f64::max)
    }
}

/// Extra comparison points per entity (label, NPV), e.g. the report's printed figures.
pub type ReviewPoints = Vec<(String, Vec<(String, f64)>)>;

fn year_probs(v: &[u8], max: u8, zero_is_none: bool) -> Vec<YearProbability> {
    let mut counts = vec![0usize; max as usize + 1];
    for &x in v {
        counts[x as usize] += 1;
    }
    let n = v.len() as f64;
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
    s: &Sorted,
    scen: &[Vec<f64>],
    extra: &ReviewPoints,
) -> Option<Review> {
    let k = ENTITY_MEASURES.len();
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
            npv: v[e * k],
            percentile_rank: s.ecdf(v[e * k]),
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

/// Summarise a run.
pub fn summarise(
    plan: &Plan,
    draws: &Draws,
    meta: Metadata,
    o: &SummaryOptions,
    extra: &ReviewPoints,
) -> Summary {
    let k = ENTITY_MEASURES.len();
    let h = plan.model.horizon_years;
    let n = draws.n;
    // The model's deterministic scenarios, for the headline review.
    let scen: Vec<Vec<f64>> = (0..plan.model.scenarios.len())
        .map(|s| plan.evaluate_inputs(&plan.model.inputs(s)))
        .collect();
    // Entities are summarised in parallel; each one's statistics are computed sequentially over
    // its own columns, so the result does not depend on the number of threads.
    use rayon::prelude::*;
    let mut outcomes: Vec<EntitySummary> = plan
        .entities
        .par_iter()
        .enumerate()
        .map(|(e, id)| {
            let col = |m: usize| &draws.outcomes[e * k + m];
            let (npv_v, pvb_v, delay_v) = (col(0), col(1), col(2));
            let headline = e == plan.entities.len() - 1 || !plan.model.themes[e].indicative;
            // One sorted copy at a time, dropped as soon as its statistics are taken, to bound
            // memory on large runs.
            let (npv, review) = {
                let s = sorted(npv_v.clone());
                (stat(npv_v, &s, o), review(plan, e, &s, &scen, extra))
            };
            let pv_benefits = stat(pvb_v, &sorted(pvb_v.clone()), o);
            let pv_costs = {
                let v: Vec<f64> = pvb_v.iter().zip(npv_v).map(|(b, n)| b - n).collect();
                let st = moments_then_sort(v, o);
                st.0
            };
            let (leakage_to_zero, leakage_curve) = {
                let v: Vec<f64> = npv_v
                    .iter()
                    .zip(pvb_v)
                    .map(|(n, b)| if *n > 0.0 { n / b } else { 0.0 })
                    .collect();
                let (st, s) = moments_then_sort(v, o);
                // NPV stays positive under leakage x iff the draw's leakage-to-zero exceeds x.
                let curve = (0..=20)
                    .map(|i| {
                        let x = i as f64 / 20.0;
                        CurvePoint {
                            x,
                            p_npv_positive: 1.0 - s.ecdf(x),
                        }
                    })
                    .collect();
                (st, curve)
            };
            let (delay_to_zero, delay_curve) = {
                let s = sorted(delay_v.clone());
                let curve = (0..=(4 * h))
                    .map(|i| {
                        let x = i as f64 / 4.0;
                        CurvePoint {
                            x,
                            p_npv_positive: 1.0 - s.ecdf(x),
                        }
                    })
                    .collect();
                (stat(delay_v, &s, o), curve)
            };
            EntitySummary {
                id: id.clone(),
                headline,
                npv,
                pv_benefits,
                pv_costs,
                leakage_to_zero,
                delay_to_zero,
                review,
                delay_to_zero_whole: year_probs(&draws.delay_whole[e], h as u8 + 1, false),
                breakeven_year: year_probs(&draws.breakeven[e], h as u8, true),
                leakage_curve,
                delay_curve,
            }
        })
        .collect();
    let pb = plan.entities.len() * k;
    let partners = plan
        .model
        .partners
        .par_iter()
        .enumerate()
        .map(|(p, partner)| {
            let v = &draws.outcomes[pb + p];
            let s = Sorted::new(v.clone()).unwrap();
            let pn = s.below(0.0);
            PartnerSummary {
                id: partner.id.clone(),
                npv: stat(v, &s, o),
                p_negative: pn,
                p_negative_se: proportion_se(pn, n),
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
        .par_iter()
        .zip(&draws.inputs)
        .map(|(i, v)| {
            let s = Sorted::new(v.clone()).unwrap();
            InputSummary {
                path: i.param.path.clone(),
                kind: i.dist.describe(),
                stream: i.stream.clone(),
                source: i.source.clone(),
                file: i.file.clone(),
                mean: mean_sd(v).0,
                p10: s.quantile(0.1),
                p50: s.quantile(0.5),
                p90: s.quantile(0.9),
            }
        })
        .collect();
    let correlation = plan.set.correlation.as_ref().map(|c| {
        let names: Vec<String> = c
            .inputs
            .iter()
            .map(|&i| plan.set.inputs[i].param.path.clone())
            .collect();
        let ranked: Vec<Vec<f64>> = c
            .inputs
            .par_iter()
            .map(|&a| ranks(&draws.inputs[a]))
            .collect();
        let achieved = (0..c.inputs.len())
            .map(|a| {
                (0..c.inputs.len())
                    .map(|b| {
                        if a == b {
                            1.0
                        } else {
                            pearson(&ranked[a], &ranked[b])
                        }
                    })
                    .collect()
            })
            .collect();
        CorrelationSummary {
            inputs: names,
            target: c.rank.clone(),
            achieved,
        }
    });
    Summary {
        metadata: meta,
        kept_draws: n,
        skipped_nonfinite: draws.skipped.len(),
        inputs,
        correlation,
        outcomes,
        partners,
        headline_review,
    }
}

/// Largest relative standard error among the reported NPV percentiles of the headline entities
/// (percentiles equal to 0 are left out: their relative error is undefined).
pub fn worst_relative_se(s: &Summary) -> f64 {
    s.outcomes
        .iter()
        .filter(|e| e.headline)
        .flat_map(|e| e.npv.percentiles.iter())
        .filter(|p| p.value != 0.0)
        .map(|p| p.se / p.value.abs())
        .fold(0.0, f64::max)
}
