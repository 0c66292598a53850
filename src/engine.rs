//! The Monte Carlo engine: draws inputs, evaluates the model once per draw, and keeps the
//! per-draw outcomes in draw order.
//!
//! Invariants:
//! - the inputs of draw `i` depend only on (seed, the input's stream name, `i`, and for Latin
//!   hypercube / Sobol the number of draws): never on threads, block size or evaluation order;
//! - draws are processed in fixed blocks of `block_size`; blocks run in parallel (rayon) and are
//!   concatenated in block order, so every output is bit-identical for any number of threads;
//! - no floating-point reduction happens in parallel;
//! - a draw whose outcome is not finite is an error naming the draw and its inputs, unless the
//!   caller asked for such draws to be counted and skipped.
//!
//! The engine computes and reports progress through a callback; it never prints.

use rayon::prelude::*;

use crate::dist::{std_normal_cdf, std_normal_quantile};
use crate::distfile::DistSet;
use crate::model::{Inputs, ModelSpec, breakeven, delay_to_zero};
use crate::params::apply;
use crate::rng::path_key;
use crate::sampler::{Dimension, Sampler, SamplerKind};

/// Per-entity continuous outcomes, in column order.
pub const ENTITY_MEASURES: [&str; 5] = [
    "npv",
    "pv_benefits",
    "pv_costs",
    "leakage_to_zero",
    "delay_to_zero",
];

/// Default number of draws per block.
pub const DEFAULT_BLOCK: u64 = 4096;

/// Options of one run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub draws: u64,
    pub seed: u64,
    pub sampler: SamplerKind,
    pub block_size: u64,
    /// Count and skip draws with a non-finite outcome instead of failing.
    pub skip_nonfinite: bool,
}

/// A model, a scenario and a distribution set, ready to draw.
pub struct Plan {
    pub model: ModelSpec,
    pub scenario: usize,
    pub set: DistSet,
    template: Inputs,
    /// One sampling dimension per distinct stream (sorted by name).
    dims: Vec<Dimension>,
    /// Stream index of each input.
    input_stream: Vec<usize>,
    /// Stream index of each correlated input (copula order).
    corr_streams: Vec<usize>,
    /// Entities: the themes, then the headline total.
    pub entities: Vec<String>,
}

/// Why a run failed.
#[derive(Debug, Clone, PartialEq)]
pub enum RunError {
    /// A draw gave a non-finite outcome.
    NonFinite {
        draw: u64,
        inputs: Vec<(String, f64)>,
        measure: String,
    },
    /// Bad options (e.g. zero draws).
    Options(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::NonFinite {
                draw,
                inputs,
                measure,
            } => {
                write!(f, "draw {draw} gave a non-finite {measure}; its inputs: ")?;
                let parts: Vec<String> = inputs.iter().map(|(p, v)| format!("{p} = {v}")).collect();
                write!(f, "{}", parts.join(", "))?;
                write!(
                    f,
                    "\nhint: check the distributions of these inputs, or pass --skip-nonfinite to count and skip such draws"
                )
            }
            RunError::Options(m) => write!(f, "{m}"),
        }
    }
}

/// Every draw's outcomes, in draw order.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// Number of draws kept (excluding skipped ones).
    pub n: usize,
    /// `ENTITY_MEASURES` for each entity (entity-major), then each partner's NPV share.
    pub outcomes: Vec<Vec<f64>>,
    /// Per entity: whole-year delay-to-zero and breakeven year (0 = not within the horizon).
    pub delay_whole: Vec<Vec<u8>>,
    pub breakeven: Vec<Vec<u8>>,
    /// The first value each input took in each draw.
    pub inputs: Vec<Vec<f64>>,
    /// Draw indices skipped for non-finite outcomes.
    pub skipped: Vec<u64>,
}

impl Draws {
    fn empty(n_out: usize, n_ent: usize, n_in: usize, cap: usize) -> Draws {
        Draws {
            n: 0,
            outcomes: (0..n_out).map(|_| Vec::with_capacity(cap)).collect(),
            delay_whole: (0..n_ent).map(|_| Vec::with_capacity(cap)).collect(),
            breakeven: (0..n_ent).map(|_| Vec::with_capacity(cap)).collect(),
            inputs: (0..n_in).map(|_| Vec::with_capacity(cap)).collect(),
            skipped: Vec::new(),
        }
    }

    fn append(&mut self, mut other: Draws) {
        self.n += other.n;
        for (a, b) in self.outcomes.iter_mut().zip(&mut other.outcomes) {
            a.append(b);
        }
        for (a, b) in self.delay_whole.iter_mut().zip(&mut other.delay_whole) {
            a.append(b);
        }
        for (a, b) in self.breakeven.iter_mut().zip(&mut other.breakeven) {
            a.append(b);
        }
        for (a, b) in self.inputs.iter_mut().zip(&mut other.inputs) {
            a.append(b);
        }
        self.skipped.append(&mut other.skipped);
    }

    /// Column index of an entity's measure.
    pub fn col(entity: usize, measure: usize) -> usize {
        entity * ENTITY_MEASURES.len() + measure
    }
}

impl Plan {
    /// Prepare a run of `model` in `scenario` with distribution set `set`. Fails when two
    /// correlated inputs share a stream (they already move together).
    pub fn new(model: ModelSpec, scenario: usize, set: DistSet) -> Result<Plan, String> {
        let template = model.inputs(scenario);
        // Sobol dimensions: the position of each stream among the sorted distinct streams.
        let mut streams: Vec<String> = set.inputs.iter().map(|i| i.stream.clone()).collect();
        streams.sort();
        streams.dedup();
        let dims = streams
            .iter()
            .enumerate()
            .map(|(k, s)| Dimension {
                stream: path_key(s),
                index: k as u32,
            })
            .collect();
        let input_stream: Vec<usize> = set
            .inputs
            .iter()
            .map(|i| streams.iter().position(|s| *s == i.stream).unwrap())
            .collect();
        let corr_streams: Vec<usize> = match &set.correlation {
            None => Vec::new(),
            Some(c) => c.inputs.iter().map(|&i| input_stream[i]).collect(),
        };
        for (a, sa) in corr_streams.iter().enumerate() {
            if corr_streams[..a].contains(sa) {
                return Err(format!(
                    "correlated inputs share the stream `{}`; inputs on one stream already move together, so correlate only one of them",
                    streams[*sa]
                ));
            }
        }
        let mut entities: Vec<String> = model.themes.iter().map(|t| t.id.clone()).collect();
        entities.push("total".into());
        Ok(Plan {
            model,
            scenario,
            set,
            template,
            dims,
            input_stream,
            corr_streams,
            entities,
        })
    }

    /// Number of outcome columns.
    pub fn n_outcomes(&self) -> usize {
        self.entities.len() * ENTITY_MEASURES.len() + self.model.partners.len()
    }

    /// Name of an outcome column, e.g. `total.npv` or `partner.DH.npv`.
    pub fn outcome_name(&self, c: usize) -> String {
        let k = ENTITY_MEASURES.len();
        if c < self.entities.len() * k {
            format!("{}.{}", self.entities[c / k], ENTITY_MEASURES[c % k])
        } else {
            format!(
                "partner.{}.npv",
                self.model.partners[c - self.entities.len() * k].id
            )
        }
    }

    /// The inputs of draw `i`: uniforms, copula, quantiles, written into `work`.
    /// `u` and `buf` are scratch space; returns nothing, `firsts` receives each input's first value.
    fn draw_inputs(
        &self,
        sampler: &Sampler,
        i: u64,
        work: &mut Inputs,
        u: &mut [f64],
        buf: &mut Vec<f64>,
        firsts: &mut [f64],
    ) {
        work.copy_from(&self.template);
        self.sample_uniforms(sampler, i, u);
        for (k, input) in self.set.inputs.iter().enumerate() {
            let w = input.param.width();
            buf.resize(w, 0.0);
            input.dist.values(u[self.input_stream[k]], &mut buf[..w]);
            firsts[k] = buf[0];
            apply(work, input.param.target, &buf[..w]);
        }
    }

    /// The uniforms of draw `i`, one per stream, after the copula.
    fn sample_uniforms(&self, sampler: &Sampler, i: u64, u: &mut [f64]) {
        for (k, d) in self.dims.iter().enumerate() {
            u[k] = sampler.uniform(d, i);
        }
        if let Some(c) = &self.set.correlation {
            // Gaussian copula: normal scores, mixed by the factor of the normal correlation.
            let z: Vec<f64> = self
                .corr_streams
                .iter()
                .map(|&k| std_normal_quantile(u[k]))
                .collect();
            for (row, &k) in self.corr_streams.iter().enumerate() {
                let mut s = 0.0;
                for (j, zj) in z.iter().enumerate() {
                    s += c.factor[row][j] * zj;
                }
                // Keep u strictly inside (0, 1) so quantile functions stay finite.
                u[k] = std_normal_cdf(s).clamp(f64::MIN_POSITIVE, 1.0 - f64::EPSILON / 2.0);
            }
        }
    }

    /// Evaluate one draw's inputs into `out` (continuous outcomes) and the discrete outcomes.
    ///
    /// Same arithmetic as [`crate::model::evaluate`] (a test holds them equal), organised for
    /// speed: the present value of each theme's benefits at every whole-year extra delay is
    /// computed once from shifted-profile sums and reused for the headline total.
    fn evaluate(
        &self,
        x: &Inputs,
        out: &mut [f64],
        delay_whole: &mut [u8],
        be: &mut [u8],
        scratch: &mut Vec<f64>,
    ) {
        let df = &x.discount_factors;
        let h = df.len();
        let kmax = h + 1; // at this extra delay no benefit falls inside the horizon
        let n_t = x.themes.len();
        let k = ENTITY_MEASURES.len();
        let n_p = self.model.partners.len();
        let partner_base = (n_t + 1) * k;
        for p in 0..n_p {
            out[partner_base + p] = 0.0;
        }
        // scratch: [total discounted net by year (h) | theme discounted net (h) | total PV of
        // benefits per extra delay (kmax+1) | theme PV per extra delay (kmax+1) | shifted sums]
        let need = 2 * h + 2 * (kmax + 1) + (h + kmax + 2);
        scratch.clear();
        scratch.resize(need, 0.0);
        let (total_disc, rest) = scratch.split_at_mut(h);
        let (theme_disc, rest) = rest.split_at_mut(h);
        let (total_pvk, rest) = rest.split_at_mut(kmax + 1);
        let (theme_pvk, shifted) = rest.split_at_mut(kmax + 1);
        let (mut tn, mut tb, mut tc) = (0.0, 0.0, 0.0);
        for (ti, th) in x.themes.iter().enumerate() {
            let g = th.full_gross_bn();
            let scaled = th.full_scaled_cost_bn();
            let uplift = 1.0 + th.optimism_bias_cost;
            // shifted[j] = Σ_t d_t p(t − j): the discounted profile slid by j whole years.
            let base = th.delay_years.floor();
            let f = th.delay_years - base;
            let k0 = base as usize;
            for (j, sj) in shifted.iter_mut().enumerate() {
                let jj = k0 + j;
                let mut acc = 0.0;
                for (t, d) in df.iter().enumerate().skip(jj) {
                    acc += d * th.profile_at((t + 1 - jj) as i64);
                }
                *sj = acc;
            }
            let (mut npv, mut pvb, mut pvc) = (0.0, 0.0, 0.0);
            for (i, d) in df.iter().enumerate() {
                let t = i + 1;
                let gross = g * th.delayed_profile(t, th.delay_years);
                let cost = (th.one_off_costs_bn[i] + th.ongoing_costs_bn[i]) * uplift
                    + scaled * th.profile_at(t as i64);
                let dn = (gross - cost) * d;
                theme_disc[i] = dn;
                npv += dn;
                pvb += gross * d;
                pvc += cost * d;
            }
            for (kk, v) in theme_pvk.iter_mut().enumerate() {
                *v = g * ((1.0 - f) * shifted[kk] + f * shifted[kk + 1]);
            }
            let delay = delay_to_zero(|kk| theme_pvk[kk as usize] - pvc, kmax as u32);
            let o = &mut out[ti * k..(ti + 1) * k];
            o[0] = npv;
            o[1] = pvb;
            o[2] = pvc;
            o[3] = if npv > 0.0 { npv / pvb } else { 0.0 };
            o[4] = delay.exact_years;
            delay_whole[ti] = delay.whole_years as u8;
            be[ti] = breakeven(theme_disc).unwrap_or(0) as u8;
            if x.headline[ti] {
                tn += npv;
                tb += pvb;
                tc += pvc;
                for i in 0..h {
                    total_disc[i] += theme_disc[i];
                }
                for (a, b) in total_pvk.iter_mut().zip(theme_pvk.iter()) {
                    *a += b;
                }
                for (p, share) in th.partner_shares.iter().enumerate() {
                    out[partner_base + p] += share * npv;
                }
            }
        }
        let delay = delay_to_zero(|kk| total_pvk[kk as usize] - tc, kmax as u32);
        let o = &mut out[n_t * k..(n_t + 1) * k];
        o[0] = tn;
        o[1] = tb;
        o[2] = tc;
        o[3] = if tn > 0.0 { tn / tb } else { 0.0 };
        o[4] = delay.exact_years;
        delay_whole[n_t] = delay.whole_years as u8;
        be[n_t] = breakeven(total_disc).unwrap_or(0) as u8;
    }

    fn run_block(
        &self,
        sampler: &Sampler,
        start: u64,
        end: u64,
        skip: bool,
    ) -> Result<Draws, RunError> {
        let n_in = self.set.inputs.len();
        let n_ent = self.entities.len();
        let n_out = self.n_outcomes();
        let mut d = Draws::empty(n_out, n_ent, n_in, (end - start) as usize);
        let mut work = self.template.clone();
        let mut u = vec![0.0; self.dims.len()];
        let mut buf = Vec::new();
        let mut firsts = vec![0.0; n_in];
        let mut out = vec![0.0; n_out];
        let mut dw = vec![0u8; n_ent];
        let mut be = vec![0u8; n_ent];
        let mut scratch = Vec::new();
        for i in start..end {
            self.draw_inputs(sampler, i, &mut work, &mut u, &mut buf, &mut firsts);
            self.evaluate(&work, &mut out, &mut dw, &mut be, &mut scratch);
            if let Some(c) = out.iter().position(|v| !v.is_finite()) {
                if skip {
                    d.skipped.push(i);
                    continue;
                }
                return Err(RunError::NonFinite {
                    draw: i,
                    inputs: self
                        .set
                        .inputs
                        .iter()
                        .zip(&firsts)
                        .map(|(inp, v)| (inp.param.path.clone(), *v))
                        .collect(),
                    measure: self.outcome_name(c),
                });
            }
            d.n += 1;
            for (col, v) in d.outcomes.iter_mut().zip(&out) {
                col.push(*v);
            }
            for e in 0..n_ent {
                d.delay_whole[e].push(dw[e]);
                d.breakeven[e].push(be[e]);
            }
            for (col, v) in d.inputs.iter_mut().zip(&firsts) {
                col.push(*v);
            }
        }
        Ok(d)
    }

    /// Run all draws. `progress` is called with the number of draws finished in each block.
    pub fn run(
        &self,
        opts: &RunOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Draws, RunError> {
        if opts.draws == 0 {
            return Err(RunError::Options("`draws` = 0: must be at least 1".into()));
        }
        if opts.block_size == 0 {
            return Err(RunError::Options(
                "`block_size` = 0: must be at least 1".into(),
            ));
        }
        let sampler = Sampler::new(opts.sampler, opts.seed, opts.draws)
            .map_err(|e| RunError::Options(e.to_string()))?;
        sampler
            .check_dimensions(self.dims.len())
            .map_err(|e| RunError::Options(e.to_string()))?;
        let blocks = opts.draws.div_ceil(opts.block_size);
        let results: Vec<Result<Draws, RunError>> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let start = b * opts.block_size;
                let end = (start + opts.block_size).min(opts.draws);
                let r = self.run_block(&sampler, start, end, opts.skip_nonfinite);
                progress(end - start);
                r
            })
            .collect();
        let mut all = Draws::empty(
            self.n_outcomes(),
            self.entities.len(),
            self.set.inputs.len(),
            opts.draws as usize,
        );
        for r in results {
            all.append(r?);
        }
        Ok(all)
    }

    /// Deterministic evaluation of the plan's scenario (no draws), in the engine's layout.
    pub fn point(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.n_outcomes()];
        let mut dw = vec![0u8; self.entities.len()];
        let mut be = vec![0u8; self.entities.len()];
        self.evaluate(&self.template, &mut out, &mut dw, &mut be, &mut Vec::new());
        out
    }

    /// Evaluate arbitrary inputs (e.g. another scenario of the same model) in the engine's layout.
    pub fn evaluate_inputs(&self, x: &Inputs) -> Vec<f64> {
        let mut out = vec![0.0; self.n_outcomes()];
        let mut dw = vec![0u8; self.entities.len()];
        let mut be = vec![0u8; self.entities.len()];
        self.evaluate(x, &mut out, &mut dw, &mut be, &mut Vec::new());
        out
    }
}

impl Plan {
    /// The RNG floor: generate exactly the variates a run of `opts` draws (uniforms, copula,
    /// quantile transforms) in the same parallel blocks, and do nothing else. Returns a checksum
    /// so the work cannot be optimised away.
    pub fn rng_floor(&self, opts: &RunOptions) -> Result<f64, RunError> {
        let sampler = Sampler::new(opts.sampler, opts.seed, opts.draws)
            .map_err(|e| RunError::Options(e.to_string()))?;
        let blocks = opts.draws.div_ceil(opts.block_size);
        let sums: Vec<f64> = (0..blocks)
            .into_par_iter()
            .map(|b| {
                let start = b * opts.block_size;
                let end = (start + opts.block_size).min(opts.draws);
                let mut u = vec![0.0; self.dims.len()];
                let mut buf = Vec::new();
                let mut acc = 0.0;
                for i in start..end {
                    self.sample_uniforms(&sampler, i, &mut u);
                    for (k, input) in self.set.inputs.iter().enumerate() {
                        let w = input.param.width();
                        buf.resize(w, 0.0);
                        input.dist.values(u[self.input_stream[k]], &mut buf[..w]);
                        acc += buf[0];
                    }
                }
                acc
            })
            .collect();
        Ok(sums.iter().sum())
    }
}
