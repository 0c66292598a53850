//! Engine throughput on the embedded 2013 model with its default distributions and every
//! outcome, next to the RNG floor (the same uniforms, copula and quantile transforms with no
//! model), measured in the same run. `cargo bench --bench engine`; the summary figures in
//! `results/benchmarks/` come from `npvrisk throughput` (see its README).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use npvrisk::calibrate::{EY2013_MODEL, EY2013_MODEL_FILE};
use npvrisk::distfile;
use npvrisk::engine::{DEFAULT_BLOCK, Plan, RunOptions};
use npvrisk::format::parse_model;
use npvrisk::sampler::SamplerKind;

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
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
