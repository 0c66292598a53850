//! The `batch` subcommand: many scenarios in one go, with common random numbers.
//!
//! A manifest (TOML) names a model, distribution files, run options and a list of scenarios, each
//! an overlay: more distribution files, and/or parameters fixed at given values (`set`); a `[grid]`
//! adds one scenario per combination of parameter values. Every scenario runs with the same seed
//! and stream names, so an input a scenario does not change takes the same value in the same draw
//! in every scenario: differences between scenarios are estimated from per-draw differences, far
//! more precisely than the levels. Each scenario gets its own summary; `comparison.csv` gives each
//! one's headline figures and its difference from the reference scenario with the Monte Carlo
//! standard error of that difference (and, for comparison, the error if the runs were independent).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use npvrisk::distfile;
use npvrisk::engine::{ENTITY_MEASURES, Plan, RunOptions};
use npvrisk::error::{InputError, show};
use npvrisk::sampler::SamplerKind;
use npvrisk::stats::{OrderStats, Sorted, mean_sd};
use npvrisk::summary::{self, FileHash, ReviewPoints, SummaryOptions};

use crate::montecarlo::{
    EY2013_DISTS, EY2013_DISTS_FILE, metadata_for, published_points, summary_json,
};
use crate::{Failure, Format, out, read};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    dist: Vec<String>,
    draws: u64,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default)]
    sampler: Option<String>,
    reference: String,
    #[serde(default)]
    scenario: Vec<RawScenario>,
    #[serde(default)]
    grid: BTreeMap<String, Vec<f64>>,
}

fn default_seed() -> u64 {
    20130110
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    dist: Vec<String>,
    #[serde(default)]
    set: BTreeMap<String, f64>,
}

/// A finished scenario: its name, each headline entity's NPV per draw, its summary, seconds.
type ScenarioResult = (String, Vec<(String, Vec<f64>)>, summary::Summary, f64);

/// One resolved scenario: its name, extra distribution files, fixed parameter values.
struct Scenario {
    name: String,
    dist: Vec<(String, String)>,
    set: Vec<(String, f64)>,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.=".contains(c))
}

/// Run a batch manifest.
pub fn batch(
    manifest: &Path,
    out_dir: Option<&Path>,
    threads: Option<usize>,
    format: Format,
) -> Result<(), Failure> {
    let name = manifest.display().to_string();
    let src = read(manifest)?;
    let m: Manifest = toml::from_str(&src)
        .map_err(|e| Failure::Input(npvrisk::format::parser_error(&name, &src, e).to_string()))?;
    // Locate a field by its key's first appearance in the manifest (the manifest is small and
    // its keys are distinct enough for this to point at the right line).
    let err = |field: &str, value: String, allowed: &str| {
        let key = field.split('.').next_back().unwrap_or(field);
        let at = src
            .find(&format!("{key} ="))
            .or_else(|| src.find(key))
            .unwrap_or(0);
        Failure::Input(InputError::value(&name, &src, at, field, value, allowed).to_string())
    };
    let base_dir = manifest.parent().unwrap_or(Path::new("."));
    let path_of = |p: &str| -> PathBuf { base_dir.join(p) };
    if m.draws == 0 {
        return Err(err("draws", "0".into(), "must be at least 1"));
    }
    let sampler = match m.sampler.as_deref().unwrap_or("mc") {
        "mc" => SamplerKind::MonteCarlo,
        "lhs" => SamplerKind::LatinHypercube,
        "sobol" => SamplerKind::Sobol,
        other => {
            return Err(err(
                "sampler",
                format!("{other:?}"),
                "must be \"mc\", \"lhs\" or \"sobol\"",
            ));
        }
    };
    let (model_name, model_src) = match &m.model {
        Some(p) => (p.clone(), read(&path_of(p))?),
        None => (
            npvrisk::calibrate::EY2013_MODEL_FILE.to_string(),
            npvrisk::calibrate::EY2013_MODEL.to_string(),
        ),
    };
    let model = npvrisk::format::parse_model(&model_name, &model_src)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let mut base_files = Vec::new();
    if m.model.is_none() && m.dist.is_empty() {
        base_files.push((EY2013_DISTS_FILE.to_string(), EY2013_DISTS.to_string()));
    }
    for d in &m.dist {
        base_files.push((d.clone(), read(&path_of(d))?));
    }
    // Scenarios from the list and the grid.
    let mut scenarios: Vec<Scenario> = Vec::new();
    for s in &m.scenario {
        let mut files = Vec::new();
        for d in &s.dist {
            files.push((d.clone(), read(&path_of(d))?));
        }
        scenarios.push(Scenario {
            name: s.name.clone(),
            dist: files,
            set: s.set.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        });
    }
    if !m.grid.is_empty() {
        let axes: Vec<(&String, &Vec<f64>)> = m.grid.iter().collect();
        for (k, vs) in &axes {
            if vs.is_empty() {
                return Err(err(
                    &format!("grid.{k}"),
                    "[]".into(),
                    "must list at least one value",
                ));
            }
        }
        let mut idx = vec![0usize; axes.len()];
        loop {
            let set: Vec<(String, f64)> = axes
                .iter()
                .zip(&idx)
                .map(|((k, vs), &i)| ((*k).clone(), vs[i]))
                .collect();
            let label: Vec<String> = set
                .iter()
                .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), show(*v)))
                .collect();
            scenarios.push(Scenario {
                name: format!("grid.{}", label.join(".")),
                dist: Vec::new(),
                set,
            });
            let mut a = 0;
            loop {
                if a == axes.len() {
                    break;
                }
                idx[a] += 1;
                if idx[a] < axes[a].1.len() {
                    break;
                }
                idx[a] = 0;
                a += 1;
            }
            if a == axes.len() {
                break;
            }
        }
    }
    if scenarios.is_empty() {
        return Err(err(
            "scenario",
            "none".into(),
            "a batch needs at least one [[scenario]] or a [grid]",
        ));
    }
    for (i, s) in scenarios.iter().enumerate() {
        if !valid_name(&s.name) {
            return Err(err(
                "scenario.name",
                format!("{:?}", s.name),
                "must be letters, digits and _-.= (it names an output folder)",
            ));
        }
        if scenarios[..i].iter().any(|p| p.name == s.name) {
            return Err(err(
                "scenario.name",
                format!("{:?}", s.name),
                "scenario names must be unique",
            ));
        }
    }
    let reference = scenarios
        .iter()
        .position(|s| s.name == m.reference)
        .ok_or_else(|| {
            err(
                "reference",
                format!("{:?}", m.reference),
                "must name one of the scenarios",
            )
        })?;
    let scen_index = model
        .scenario_index("base")
        .unwrap_or(model.scenarios.len() - 1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| Failure::Internal(format!("cannot start worker threads: {e}")))?;
    let opts = RunOptions {
        draws: m.draws,
        seed: m.seed,
        sampler,
        block_size: npvrisk::engine::DEFAULT_BLOCK,
        skip_nonfinite: false,
    };
    let extra: ReviewPoints = if m.model.is_none() {
        published_points()
    } else {
        Vec::new()
    };
    // Per scenario: the headline entities' NPV per draw, and the summary.
    let mut results: Vec<ScenarioResult> = Vec::new();
    for s in &scenarios {
        let started = std::time::Instant::now();
        let mut files = base_files.clone();
        files.extend(s.dist.iter().cloned());
        if !s.set.is_empty() {
            let mut t = String::new();
            for (k, v) in &s.set {
                let _ = writeln!(
                    t,
                    "[[input]]\npath = {k:?}\nkind = \"fixed\"\nvalue = {}\nsource = \"batch scenario {}\"\n",
                    show(*v),
                    s.name
                );
            }
            files.push((format!("{name}#{}.set", s.name), t));
        }
        let set = distfile::load(&model, &files)
            .map_err(|e| Failure::Input(format!("scenario `{}`: {e}", s.name)))?;
        let hashes: Vec<FileHash> = set.files.iter().map(|(n, c)| FileHash::of(n, c)).collect();
        let plan = Plan::new(model.clone(), scen_index, set).map_err(Failure::Input)?;
        let draws = pool
            .install(|| plan.run(&opts, &|_| {}))
            .map_err(|e| Failure::Input(format!("scenario `{}`: {e}", s.name)))?;
        let meta = metadata_for(
            &plan,
            (&model_name, &model_src),
            &hashes,
            m.seed,
            sampler,
            &opts,
        );
        let sum = summary::summarise(&plan, &draws, meta, &SummaryOptions::default(), &extra);
        let k = ENTITY_MEASURES.len();
        let npvs: Vec<(String, Vec<f64>)> = sum
            .outcomes
            .iter()
            .enumerate()
            .filter(|(_, e)| e.headline)
            .map(|(e, o)| (o.id.clone(), draws.outcomes[e * k].clone()))
            .collect();
        eprintln!("scenario `{}`: {} draws", s.name, draws.n);
        results.push((s.name.clone(), npvs, sum, started.elapsed().as_secs_f64()));
    }
    // Comparison with the reference, per headline entity.
    let mut csv = String::from(
        "scenario,entity,mean_npv,se_mean,p10,p50,p90,p_negative,diff_mean,diff_se,diff_se_if_independent\n",
    );
    let mut table = format!(
        "Batch of {} scenarios, {} draws each, common random numbers (seed {}); differences from `{}`, £bn\n\n",
        results.len(),
        m.draws,
        m.seed,
        m.reference
    );
    let _ = writeln!(
        table,
        "{:<40} {:<24} {:>9} {:>9} {:>10} {:>9} {:>12}",
        "scenario", "entity", "mean", "P(<0)", "difference", "se(diff)", "se if indep."
    );
    let (_, ref_npvs, _, _) = &results[reference];
    for (sname, npvs, _, _) in &results {
        for ((id, v), (_, r)) in npvs.iter().zip(ref_npvs) {
            let (mean, sd) = mean_sd(v);
            let n = v.len() as f64;
            let s = Sorted::new(v.clone())
                .ok_or_else(|| Failure::Internal("non-finite draws in a batch".into()))?;
            let diffs: Vec<f64> = v.iter().zip(r).map(|(a, b)| a - b).collect();
            let (dmean, dsd) = mean_sd(&diffs);
            let (_, rsd) = mean_sd(r);
            let indep = (sd * sd / n + rsd * rsd / n).sqrt();
            let pneg = s.below(0.0);
            let _ = writeln!(
                csv,
                "{sname},{id},{mean},{},{},{},{},{pneg},{dmean},{},{indep}",
                sd / n.sqrt(),
                s.quantile(0.1),
                s.quantile(0.5),
                s.quantile(0.9),
                dsd / n.sqrt()
            );
            let _ = writeln!(
                table,
                "{:<40} {:<24} {:>9.3} {:>8.1}% {:>+10.3} {:>9.4} {:>12.4}",
                sname,
                id,
                mean,
                pneg * 100.0,
                dmean,
                dsd / n.sqrt(),
                indep
            );
        }
    }
    if let Some(dir) = out_dir {
        let mut files: Vec<(String, Vec<u8>)> =
            vec![("comparison.csv".into(), csv.clone().into_bytes())];
        for (sname, _, sum, secs) in &results {
            files.push((
                format!("{sname}/summary.json"),
                summary_json(sum, *secs).into_bytes(),
            ));
        }
        npvrisk::output::write_set_atomic(dir, &files).map_err(Failure::Input)?;
        eprintln!("wrote {}", dir.display());
    }
    match format {
        Format::Csv => out(&csv),
        _ => out(&table),
    }
}
