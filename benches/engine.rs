//! Engine throughput on the embedded 2013 model with its default distributions and every
//! outcome, next to the RNG floor (the same uniforms, copula and quantile transforms with no
//! model), measured in the same run; the kernel alone; and the summary of draws held in memory
//! (every statistic a run reports, exact percentiles included); the samplers' inner loops on a
//! batch of draws. `cargo bench --bench engine`;
//! the summary figures in `results/benchmarks/` come from `npvrisk throughput` (see its README).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use npvrisk::distfile;
use npvrisk::embedded::{EY2013_MODEL, EY2013_MODEL_FILE};
use npvrisk::engine::{DEFAULT_BLOCK, Floor, Plan, RunOptions};
use npvrisk::format::parse_model;
use npvrisk::kernel::{
    Padded, Slid, ThemeCols, ThemeEval, ThemeFlows, TotalBlock, TotalEval, TotalPart,
    breakeven_block, slid_profile_pv, theme_delay_to_zero, theme_flows,
};
use npvrisk::run::metadata_for;
use npvrisk::sampler::SamplerKind;
use npvrisk::stream::summarise;
use npvrisk::summary::SummaryOptions;

const DISTS: &str = include_str!("../distributions/ey2013_default.toml");

fn plan() -> Plan {
    let m = parse_model(EY2013_MODEL_FILE, EY2013_MODEL).unwrap();
    let set = distfile::load(&m, &[("d".into(), DISTS.into())]).unwrap();
    let s = m.scenario_index("base").unwrap();
    Plan::new(m, s, set).unwrap()
}

fn bench(c: &mut Criterion) {
    let plan = plan();
    let draws = 100_000u64;
    let mut g = c.benchmark_group("embedded_model");
    g.throughput(Throughput::Elements(draws));
    g.sample_size(20);
    for sampler in [
        SamplerKind::MonteCarlo,
        SamplerKind::LatinHypercube,
        SamplerKind::Sobol,
    ] {
        let o = RunOptions {
            draws,
            seed: 1,
            sampler,
            block_size: DEFAULT_BLOCK,
            skip_nonfinite: false,
        };
        g.bench_function(format!("engine_{}", sampler.name()), |b| {
            b.iter(|| plan.run(&o, &|_| {}).unwrap())
        });
        g.bench_function(format!("rng_floor_{}", sampler.name()), |b| {
            b.iter(|| plan.rng_floor(&o).unwrap())
        });
        // The floor's first stages: the raw uniforms alone, then with the copula.
        for (name, stage) in [("uniforms", Floor::Uniforms), ("copula", Floor::Copula)] {
            g.bench_function(format!("{name}_{}", sampler.name()), |b| {
                b.iter(|| plan.floor(&o, stage).unwrap())
            });
        }
    }
    g.finish();
}

/// The kernel alone: one evaluation of the embedded model's base scenario (every theme, with its
/// slid-profile table, and the total, with exact delay-to-zero) in reused scratch, as the engine
/// runs it per draw; and `model::evaluate`, which adds the report's derived figures.
fn kernel(c: &mut Criterion) {
    let m = parse_model(EY2013_MODEL_FILE, EY2013_MODEL).unwrap();
    let s = m.scenario_index("base").unwrap();
    let mut x = m.inputs(s);
    // Own delays with two fractional parts, so the total's search merges two groups of kinks.
    x.themes[0].delay_years = 0.5;
    x.themes[2].delay_years = 1.0;
    let mut g = c.benchmark_group("kernel");
    g.throughput(Throughput::Elements(1));
    let df = x.discount_factors.clone();
    let mut slid = Vec::new();
    let mut evals = vec![ThemeEval::default(); x.themes.len()];
    let mut total = TotalEval::default();
    g.bench_function("kernel_embedded_model", |b| {
        b.iter(|| {
            let x = std::hint::black_box(&x);
            for (e, th) in evals.iter_mut().zip(&x.themes) {
                slid_profile_pv(th, &df, &mut slid);
                e.compute(th, &df, &slid);
            }
            total.compute(&evals, &x.headline);
            total.delay.exact_years
        })
    });
    // The kernel over 1,024 inputs that vary roughly as the peer configuration's draws do
    // (realisation; delay among 0, 0.5, 1 and 2 years, uniformly; optimism bias on costs), so that
    // the searches' branches see the variety of a run rather than one input repeated. The slid
    // tables are computed once beforehand, as the engine does for a profile no input moves, so
    // its time per element is not comparable with the bench above. Deterministic (a fixed LCG).
    let mut next = lcg(0x2545_f491_4f6c_dd1d_u64);
    let base = m.inputs(s);
    let varied: Vec<_> = (0..1024)
        .map(|_| {
            let mut x = base.clone();
            for th in x.themes.iter_mut().take(3) {
                th.realisation *= 0.3 + 0.7 * next();
                th.delay_years = [0.0, 0.5, 1.0, 2.0][(next() * 4.0) as usize];
                th.optimism_bias_cost = 0.4 * next() * next();
            }
            x
        })
        .collect();
    let slids = slid_tables(&base, &df);
    g.throughput(Throughput::Elements(varied.len() as u64));
    g.bench_function("kernel_embedded_model_varied_1024", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for x in std::hint::black_box(&varied) {
                for ((e, th), slid) in evals.iter_mut().zip(&x.themes).zip(&slids) {
                    e.compute(th, &df, slid);
                }
                total.compute(&evals, &x.headline);
                acc += total.delay.exact_years;
            }
            acc
        })
    });
    // The same 1,024 inputs in blocks of 64 draws, as the engine's batches evaluate them: each
    // theme's columns (gathered beforehand, as the engine gathers them from its inputs) through
    // `theme_flows`, `breakeven_block` and each draw's delay search, then the total's block. Its
    // time per element is comparable with the bench above.
    const M: usize = 64;
    let h = df.len();
    let n_t = base.themes.len();
    // Per block and theme: gross, scaled, uplift, delay (M each) and fixed costs (year by year).
    let blocks: Vec<Vec<[Vec<f64>; 5]>> = varied
        .chunks(M)
        .map(|xs| {
            (0..n_t)
                .map(|ti| {
                    let th = |x: &npvrisk::model::Inputs| x.themes[ti].clone();
                    let col = |f: &dyn Fn(&npvrisk::model::ThemeInputs) -> f64| -> Vec<f64> {
                        xs.iter().map(|x| f(&th(x))).collect()
                    };
                    let fixed = (0..h)
                        .flat_map(|t| {
                            xs.iter().map(move |x| {
                                x.themes[ti].one_off_costs_bn[t] + x.themes[ti].ongoing_costs_bn[t]
                            })
                        })
                        .collect();
                    [
                        col(&|t| t.full_gross_bn()),
                        col(&|t| t.full_scaled_cost_bn()),
                        col(&|t| 1.0 + t.optimism_bias_cost),
                        col(&|t| t.delay_years),
                        fixed,
                    ]
                })
                .collect()
        })
        .collect();
    let profiles: Vec<Padded> = base
        .themes
        .iter()
        .map(|th| Padded::new(&th.profile, h))
        .collect();
    // Per theme: NPV, PV of benefits, PV of costs, discounted net, breakeven, delay.
    let mut flows: Vec<[Vec<f64>; 4]> = (0..n_t)
        .map(|_| [vec![0.0; M], vec![0.0; M], vec![0.0; M], vec![0.0; h * M]])
        .collect();
    let mut be = vec![0u32; M];
    let (mut cum, mut slid, mut frac) = (vec![0.0; M], Vec::new(), Vec::new());
    let mut block_total = TotalBlock::default();
    g.throughput(Throughput::Elements(varied.len() as u64));
    g.bench_function("kernel_embedded_model_varied_1024_blocks", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for cols in std::hint::black_box(&blocks) {
                for (ti, ([gross, scaled, uplift, delay, fixed], f)) in
                    cols.iter().zip(flows.iter_mut()).enumerate()
                {
                    let [npv, pvb, pvc, dn] = f;
                    let x = ThemeCols {
                        gross,
                        scaled,
                        uplift,
                        delay,
                        fixed,
                    };
                    let out = ThemeFlows {
                        npv,
                        pv_benefits: pvb,
                        pv_costs: pvc,
                        discounted_net: dn,
                        gross: &mut [],
                        costs: &mut [],
                    };
                    theme_flows(&x, &profiles[ti], &df, out, &mut slid, &mut frac);
                    breakeven_block(dn, M, &mut cum, &mut be);
                    for j in 0..M {
                        let unit = Slid::new(&slids[ti], gross[j]);
                        acc += theme_delay_to_zero(unit, delay[j], pvc[j], npv[j], h).exact_years;
                    }
                }
                let parts = cols
                    .iter()
                    .zip(&flows)
                    .zip(&slids)
                    .zip(&base.headline)
                    .filter(|(_, headline)| **headline)
                    .map(|(((c, f), unit), _)| TotalPart {
                        npv: &f[0],
                        pv_benefits: &f[1],
                        pv_costs: &f[2],
                        discounted_net: &f[3],
                        own_delay: &c[3],
                        gross: &c[0],
                        unit,
                        each: 1,
                    });
                block_total.compute(parts, M, h);
                acc += block_total.delay.iter().map(|d| d.exact_years).sum::<f64>();
            }
            acc
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("model_evaluate_embedded_model", |b| {
        b.iter(|| npvrisk::model::evaluate(std::hint::black_box(&x), &m.partners))
    });
    g.finish();
}

/// The summary alone: every column's moments, threshold counts and exact order statistics
/// (the pilot's brackets, pass 1 and any later pass) of 300,000 draws already in memory, with
/// the default percentiles, their standard errors and the total NPV's 199-point S-curve.
fn summary(c: &mut Criterion) {
    let plan = plan();
    let o = RunOptions {
        draws: 300_000,
        seed: 1,
        sampler: SamplerKind::MonteCarlo,
        block_size: DEFAULT_BLOCK,
        skip_nonfinite: false,
    };
    let draws = plan.run(&o, &|_| {}).unwrap();
    let meta = metadata_for(&plan, (EY2013_MODEL_FILE, EY2013_MODEL), &[], &o);
    let so = SummaryOptions {
        total_npv_percentiles: (1..200).map(|k| k as f64 / 200.0).collect(),
        ..SummaryOptions::default()
    };
    let mut g = c.benchmark_group("summary");
    g.throughput(Throughput::Elements(o.draws));
    g.sample_size(10);
    g.bench_function("summary_in_memory_300k", |b| {
        b.iter(|| summarise(&plan, &draws, meta.clone(), &so, &Vec::new()))
    });
    // The ranks of one outcome column over the 2^18 draws Spearman's correlations use.
    let col = &draws.outcomes[0][..1 << 18];
    g.throughput(Throughput::Elements(col.len() as u64));
    g.bench_function("ranks_262144", |b| {
        b.iter(|| npvrisk::stats::ranks(std::hint::black_box(col)))
    });
    // And of an input's: the first realisation rate, a PERT whose mode is its upper end, so
    // that many draws lie within a few ulps of each other near 1.
    let input = &draws.inputs[0][..1 << 18];
    g.bench_function("ranks_262144_input", |b| {
        b.iter(|| npvrisk::stats::ranks(std::hint::black_box(input)))
    });
    // And of a discrete input's: a delay of 0, ½, 1 or 2 years at random (ranked by counting
    // the copies of each value, `stats::few_value_ranks`).
    let mut next = lcg(7);
    let delays: Vec<f64> = (0..1 << 18)
        .map(|_| [0.0, 0.5, 1.0, 2.0][(next() * 4.0) as usize])
        .collect();
    g.bench_function("ranks_262144_four_values", |b| {
        b.iter(|| npvrisk::stats::ranks(std::hint::black_box(&delays)))
    });
    // The streamed summary reads a sort's values at a few positions of 2^16 pilot draws (the
    // brackets' ends) and of each collected region: found from bucket counts
    // (`stats::sorted_at`), against sorting a copy as before (`radsort`).
    let pilot = &draws.outcomes[0][..1 << 16];
    let at: Vec<usize> = (1..40).map(|k| k * pilot.len() / 40).collect();
    g.throughput(Throughput::Elements(pilot.len() as u64));
    g.bench_function("sorted_at_65536_39_positions", |b| {
        b.iter(|| npvrisk::stats::sorted_at(std::hint::black_box(pilot), &at))
    });
    g.bench_function("radix_sort_65536", |b| {
        b.iter(|| {
            let mut v = std::hint::black_box(pilot).to_vec();
            radsort::sort(&mut v);
            v
        })
    });
    g.finish();
}

/// The samplers' inner loops on a batch of 64 draws, as the engine calls them: a PERT's quantiles
/// of a slice (`Dist::quantiles`, in stages over the slice) against the same values one at a
/// time (`Dist::quantile`), and the generator's uniforms of consecutive draws
/// (`rng::uniforms_first`, four draws side by side) against one call per draw (`rng::uniform`).
/// The 64 values repeat every iteration, so their branches are learnt; the PERT's quantiles are
/// also timed on 2^16 uniforms, whose branches are not.
fn samplers(c: &mut Criterion) {
    const N: usize = 64;
    let d = npvrisk::dist::Dist::pert(0.2, 0.5, 0.9, 4.0).unwrap();
    let mut u = [0.0; N];
    npvrisk::rng::uniforms_first(1, 2, 0, &mut u);
    let mut out = [0.0; N];
    let mut g = c.benchmark_group("samplers");
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("pert_quantiles_slice_64", |b| {
        b.iter(|| {
            d.quantiles(std::hint::black_box(&u), &mut out);
            out[N - 1]
        })
    });
    // 2^16 uniforms, too many for a branch predictor to learn their pattern, as in a run: a
    // PERT with its mode near the middle (where x ≤ 1/2 is a coin toss) and one skewed to the top.
    let mut many = vec![0.0; 1 << 16];
    npvrisk::rng::uniforms_first(3, 5, 0, &mut many);
    let mut many_out = vec![0.0; many.len()];
    for (name, d) in [
        (
            "pert_quantiles_central_65536",
            npvrisk::dist::Dist::pert(0.0, 0.45, 1.0, 4.0),
        ),
        (
            "pert_quantiles_skewed_65536",
            npvrisk::dist::Dist::pert(0.0, 0.9, 1.0, 4.0),
        ),
    ] {
        let d = d.unwrap();
        g.throughput(Throughput::Elements(many.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                d.quantiles(std::hint::black_box(&many), &mut many_out);
                many_out[0]
            })
        });
    }
    // The normal scores of the copula, in the engine's batches of 64.
    g.throughput(Throughput::Elements(many.len() as u64));
    g.bench_function("normal_quantiles_65536_by_64", |b| {
        b.iter(|| {
            for (u, z) in std::hint::black_box(&many)
                .chunks(N)
                .zip(many_out.chunks_mut(N))
            {
                npvrisk::dist::std_normal_quantiles(u, z);
            }
            many_out[0]
        })
    });
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("pert_quantile_one_at_a_time_64", |b| {
        b.iter(|| {
            for (o, &u) in out.iter_mut().zip(std::hint::black_box(&u)) {
                *o = d.quantile(u);
            }
            out[N - 1]
        })
    });
    g.bench_function("uniforms_first_64", |b| {
        b.iter(|| {
            npvrisk::rng::uniforms_first(std::hint::black_box(7), 11, 1000, &mut out);
            out[N - 1]
        })
    });
    g.bench_function("uniform_one_at_a_time_64", |b| {
        b.iter(|| {
            let seed = std::hint::black_box(7);
            for (j, o) in out.iter_mut().enumerate() {
                *o = npvrisk::rng::uniform(seed, 11, 1000 + j as u64, 0);
            }
            out[N - 1]
        })
    });
    g.finish();
}

/// The headline total's delay-to-zero searches alone (`TotalBlock::compute` in blocks of 64
/// draws), over 16,384 draws of the embedded model whose inputs vary as the peer
/// configuration's do: each of the three themes' own delay 0, 0.5, 1 or 2 years with
/// probabilities 0.5, 0.25, 0.15 and 0.1 (independent here), its realisation and its cost
/// overrun. More draws than a branch predictor learns, so that the searches' branches are
/// mispredicted about as often as in a run. The themes' flows are computed beforehand.
fn total_search(c: &mut Criterion) {
    let m = parse_model(EY2013_MODEL_FILE, EY2013_MODEL).unwrap();
    let base = m.inputs(m.scenario_index("base").unwrap());
    let df = base.discount_factors.clone();
    let h = df.len();
    let mut next = lcg(0x9e37_79b9_7f4a_7c15_u64);
    const M: usize = 64;
    const DRAWS: usize = 16_384;
    let headline: Vec<usize> = (0..base.themes.len())
        .filter(|&t| base.headline[t])
        .collect();
    let units = slid_tables(&base, &df);
    let profiles: Vec<Padded> = base
        .themes
        .iter()
        .map(|th| Padded::new(&th.profile, h))
        .collect();
    // Per block, per headline theme: [npv, pv_benefits, pv_costs, discounted_net, own delay,
    // gross].
    let mut blocks: Vec<Vec<[Vec<f64>; 6]>> = Vec::new();
    let (mut slid, mut frac) = (Vec::new(), Vec::new());
    for _ in 0..DRAWS / M {
        let mut cols = Vec::new();
        for &t in &headline {
            let th = &base.themes[t];
            let (mut gross, mut uplift, mut delay) = (vec![0.0; M], vec![0.0; M], vec![0.0; M]);
            for j in 0..M {
                let mut x = th.clone();
                x.realisation *= 0.3 + 0.7 * next();
                gross[j] = x.full_gross_bn();
                uplift[j] = 1.0 + 0.4 * next() * next();
                let u = next();
                delay[j] = if u < 0.5 {
                    0.0
                } else if u < 0.75 {
                    0.5
                } else if u < 0.9 {
                    1.0
                } else {
                    2.0
                };
            }
            let scaled = vec![th.full_scaled_cost_bn(); M];
            let fixed: Vec<f64> = (0..h)
                .flat_map(|y| {
                    std::iter::repeat_n(th.one_off_costs_bn[y] + th.ongoing_costs_bn[y], M)
                })
                .collect();
            let (mut npv, mut pvb, mut pvc, mut dn) =
                (vec![0.0; M], vec![0.0; M], vec![0.0; M], vec![0.0; h * M]);
            let x = ThemeCols {
                gross: &gross,
                scaled: &scaled,
                uplift: &uplift,
                delay: &delay,
                fixed: &fixed,
            };
            let out = ThemeFlows {
                npv: &mut npv,
                pv_benefits: &mut pvb,
                pv_costs: &mut pvc,
                discounted_net: &mut dn,
                gross: &mut [],
                costs: &mut [],
            };
            theme_flows(&x, &profiles[t], &df, out, &mut slid, &mut frac);
            cols.push([npv, pvb, pvc, dn, delay, gross]);
        }
        blocks.push(cols);
    }
    let mut total = TotalBlock::default();
    let mut g = c.benchmark_group("kernel");
    g.throughput(Throughput::Elements(DRAWS as u64));
    g.bench_function("total_delay_searches_16384", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for cols in std::hint::black_box(&blocks) {
                let parts = cols.iter().zip(&headline).map(|(c, &t)| TotalPart {
                    npv: &c[0],
                    pv_benefits: &c[1],
                    pv_costs: &c[2],
                    discounted_net: &c[3],
                    own_delay: &c[4],
                    gross: &c[5],
                    unit: &units[t],
                    each: 1,
                });
                total.compute(parts, M, h);
                acc += total.delay.iter().map(|d| d.exact_years).sum::<f64>();
            }
            acc
        })
    });
    g.finish();
}

/// Each theme's slid profile PVs ([`slid_profile_pv`]) under discount factors `df`.
fn slid_tables(x: &npvrisk::model::Inputs, df: &[f64]) -> Vec<Vec<f64>> {
    x.themes
        .iter()
        .map(|th| {
            let mut v = Vec::new();
            slid_profile_pv(th, df, &mut v);
            v
        })
        .collect()
}

/// Uniforms in [0, 1) from a fixed linear congruential generator (deterministic bench inputs).
fn lcg(mut state: u64) -> impl FnMut() -> f64 {
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    }
}

criterion_group!(benches, bench, kernel, total_search, summary, samplers);
criterion_main!(benches);
