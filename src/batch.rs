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
//! `batch.html` charts the scenarios' S-curves of the headline total NPV (also in `s_curves.csv`)
//! and their differences from the reference ([`crate::batch_report`]).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::distfile;
use crate::engine::{Layout, Measure, Plan, RunOptions};
use crate::error::{InputError, show};
use crate::model::ModelSpec;
use crate::money::MoneyUnit;
use crate::sampler::SamplerKind;
use crate::summary::{self, FileHash, ReviewPoints, SummaryOptions, sha256_hex};

use crate::error::Error as Failure;
use crate::export::Format;

/// A batch prints its comparison as a table or CSV; the other formats are refused.
fn check_format(format: Format) -> Result<(), Failure> {
    match format {
        Format::Table | Format::Csv => Ok(()),
        _ => Err(Failure::Input(
            "`batch --format`: the comparison is printed as `table` or `csv` (each scenario's summary.json is in --out)".into(),
        )),
    }
}
use crate::run::{dist_files, metadata_for, published_points, thread_pool};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    model: Option<Spanned<String>>,
    #[serde(default)]
    dist: Vec<Spanned<String>>,
    #[serde(default)]
    no_default_dists: Option<Spanned<bool>>,
    draws: Spanned<u64>,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default)]
    sampler: Option<Spanned<String>>,
    reference: Spanned<String>,
    #[serde(default)]
    scenario: Vec<RawScenario>,
    #[serde(default)]
    grid: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<f64>>>>,
}

fn default_seed() -> u64 {
    20130110
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: Spanned<String>,
    #[serde(default)]
    dist: Vec<Spanned<String>>,
    #[serde(default)]
    set: BTreeMap<Spanned<String>, Spanned<f64>>,
}

/// One resolved scenario: its name, extra distribution files, fixed parameter values.
struct Scenario {
    name: String,
    dist: Vec<(String, String)>,
    set: Vec<(String, f64)>,
    /// Where the manifest gives each of `set`'s values (line, column) and under which field
    /// (`scenario.set.PATH`, `grid.PATH`): the messages about a fixed value point there, not at
    /// the distribution file written for it ([`scenario_set`]).
    set_at: Vec<(usize, usize, String)>,
}

/// Most scenarios in one batch (listed and from the grid together).
const MAX_SCENARIOS: usize = 100_000;

/// Longest scenario name: it names a folder, and file names are limited to 255 bytes.
const MAX_NAME: usize = 200;

/// Whether a scenario name is a plain folder name: letters, digits and `_-.=`, not starting with
/// a dot (so neither `.` nor `..`, which would write outside `--out`, nor a hidden folder), and
/// not too long to be a file name.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.=".contains(c))
}

/// A manifest read and checked: everything needed to run any of its scenarios.
struct Prepared {
    name: String,
    draws: u64,
    seed: u64,
    reference_name: String,
    model_name: String,
    model_src: String,
    model: ModelSpec,
    base_files: Vec<(String, String)>,
    scenarios: Vec<Scenario>,
    reference: usize,
    scen_index: usize,
    opts: RunOptions,
    extra: ReviewPoints,
    /// SHA-256 over the manifest and every file it reads: the shards of a batch must agree on it.
    identity: String,
}

/// One headline entity's figures in one scenario, and its difference from the reference.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Row {
    entity: String,
    /// The bits of mean, se_mean, p10, p50, p90, p_negative, diff_mean, diff_se,
    /// diff_se_if_independent (bits, so that a shard file carries them exactly).
    bits: [u64; 9],
}

/// A finished scenario: its position in the manifest, name, summary JSON and comparison rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    index: usize,
    name: String,
    summary_json: String,
    rows: Vec<Row>,
    /// The bits of the headline total NPV's S-curve (quantiles at
    /// [`crate::batch_report::curve_probabilities`]) for `batch.html`.
    curve: Vec<u64>,
}

/// The file a batch shard writes: which scenarios it computed, for `batch --merge`.
#[derive(Debug, Serialize, Deserialize)]
struct BatchShard {
    format_version: u32,
    npvrisk_version: String,
    manifest: String,
    identity: String,
    shard: u64,
    shards: u64,
    scenarios: usize,
    done: Vec<Done>,
}

const BATCH_SHARD_VERSION: u32 = 2;
const BATCH_SHARD_MAGIC: &str = "npvrisk-batch-shard sha256=";

/// File name of batch shard `k` of `n`.
fn batch_shard_name(k: u64, n: u64) -> String {
    format!("batch-shard-{k:05}-of-{n:05}.json")
}

/// Run a batch manifest: every scenario in this process, or with `shard = Some((k, n))` only the
/// scenarios `i` with `i mod n = k`, written to `out_dir` as a shard file for `batch --merge`.
pub fn batch(
    manifest: &Path,
    out_dir: Option<&Path>,
    threads: Option<usize>,
    format: Format,
    shard: Option<(u64, u64)>,
) -> Result<String, Failure> {
    crate::input::begin_command();
    let r = batch_unguarded(manifest, out_dir, threads, format, shard);
    crate::run::cleaned(&[out_dir], r)
}

fn batch_unguarded(
    manifest: &Path,
    out_dir: Option<&Path>,
    threads: Option<usize>,
    format: Format,
    shard: Option<(u64, u64)>,
) -> Result<String, Failure> {
    check_format(format)?;
    let p = prepare(manifest)?;
    let pool = thread_pool(threads)?;
    match shard {
        None => {
            crate::run::lock_out(out_dir)?;
            let all: Vec<usize> = (0..p.scenarios.len()).collect();
            let done = compute(&p, &all, &pool)?;
            finish(&p, done, out_dir, format)
        }
        Some((k, n)) => {
            let dir = out_dir.ok_or_else(|| {
                Failure::Input("`--shard` writes a shard file: give `--out DIR`".into())
            })?;
            let mine: Vec<usize> = (0..p.scenarios.len())
                .filter(|i| *i as u64 % n == k)
                .collect();
            let done = compute(&p, &mine, &pool)?;
            let shard = BatchShard {
                format_version: BATCH_SHARD_VERSION,
                npvrisk_version: env!("CARGO_PKG_VERSION").to_string(),
                manifest: p.name.clone(),
                identity: p.identity.clone(),
                shard: k,
                shards: n,
                scenarios: p.scenarios.len(),
                done,
            };
            let json = serde_json::to_string(&shard).expect("a batch shard serialises");
            let text = format!("{BATCH_SHARD_MAGIC}{}\n{json}", sha256_hex(json.as_bytes()));
            let path = dir.join(batch_shard_name(k, n));
            crate::output::write_atomic(&path, text.as_bytes())?;
            crate::note!(
                "batch shard {k} of {n}: {} of {} scenarios, wrote {}",
                mine.len(),
                p.scenarios.len(),
                path.display()
            );
            Ok(String::new())
        }
    }
}

/// Merge the shard files in `shards_dir` (from `batch --shard K/N`) into the outputs a
/// single-process batch writes.
pub fn merge(
    manifest: &Path,
    shards_dir: &Path,
    out_dir: Option<&Path>,
    format: Format,
) -> Result<String, Failure> {
    crate::input::begin_command();
    crate::run::cleaned(
        &[out_dir],
        merge_unguarded(manifest, shards_dir, out_dir, format),
    )
}

fn merge_unguarded(
    manifest: &Path,
    shards_dir: &Path,
    out_dir: Option<&Path>,
    format: Format,
) -> Result<String, Failure> {
    check_format(format)?;
    let p = prepare(manifest)?;
    crate::run::lock_out(out_dir)?;
    let dir_name = shards_dir.display().to_string();
    let entries = std::fs::read_dir(shards_dir)
        .map_err(|e| Failure::Input(format!("cannot read folder `{dir_name}`: {e}")))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|f| {
            f.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("batch-shard-") && n.ends_with(".json"))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::Input(format!(
            "`{dir_name}` holds no batch shard files (batch-shard-K-of-N.json): run `npvrisk batch {} --shard K/N --out {dir_name}` for every K first",
            p.name
        )));
    }
    let mut shards: Vec<(String, BatchShard)> = Vec::new();
    for f in &files {
        let fname = f.display().to_string();
        let text = crate::input::read_input(f)?;
        let corrupt = |why: &str| {
            Failure::Input(format!(
                "`{fname}` is not a readable batch shard ({why}): compute it again"
            ))
        };
        let (first, json) = text
            .split_once('\n')
            .ok_or_else(|| corrupt("no header line"))?;
        let sum = first
            .strip_prefix(BATCH_SHARD_MAGIC)
            .ok_or_else(|| corrupt("no header line"))?;
        if sha256_hex(json.as_bytes()) != sum {
            return Err(corrupt(
                "checksum mismatch: the file is truncated or corrupted",
            ));
        }
        let s: BatchShard = serde_json::from_str(json).map_err(|e| corrupt(&e.to_string()))?;
        if s.format_version != BATCH_SHARD_VERSION {
            return Err(Failure::Input(format!(
                "`{fname}` has batch shard format {}, this npvrisk reads {BATCH_SHARD_VERSION}",
                s.format_version
            )));
        }
        if s.npvrisk_version != env!("CARGO_PKG_VERSION") {
            return Err(Failure::Input(format!(
                "`{fname}` was made by npvrisk {}, this is {}: make every shard with the same npvrisk",
                s.npvrisk_version,
                env!("CARGO_PKG_VERSION")
            )));
        }
        if s.shards == 0 || s.shard >= s.shards {
            return Err(corrupt(&format!(
                "`shard` = {} of `shards` = {}: must be K of N with 0 ≤ K < N",
                s.shard, s.shards
            )));
        }
        if let Some(d) = s
            .done
            .iter()
            .find(|d| d.index >= p.scenarios.len() || d.index as u64 % s.shards != s.shard)
        {
            return Err(corrupt(&format!(
                "it holds scenario {} (`{}`), which is not one of shard {} of {}",
                d.index, d.name, s.shard, s.shards
            )));
        }
        // What a shard carries is what its scenarios computed: an S-curve of finite quantiles
        // at each of the curve's probabilities, and a summary that is a JSON object (a file
        // whose checksum was made again over other contents is refused here, not written out).
        let points = crate::batch_report::curve_probabilities().len();
        for d in &s.done {
            if d.curve.len() != points || d.curve.iter().any(|b| !f64::from_bits(*b).is_finite()) {
                return Err(corrupt(&format!(
                    "scenario `{}`'s S-curve has {} points, or one not finite, where {points} finite quantiles are computed",
                    d.name,
                    d.curve.len()
                )));
            }
            let summary: Result<serde_json::Map<String, serde_json::Value>, _> =
                serde_json::from_str(&d.summary_json);
            if !summary.is_ok_and(|m| m.contains_key("outcomes")) {
                return Err(corrupt(&format!(
                    "scenario `{}`'s summary is not a run summary",
                    d.name
                )));
            }
        }
        if s.identity != p.identity || s.scenarios != p.scenarios.len() {
            return Err(Failure::Input(format!(
                "`{fname}` comes from a different batch: the manifest `{}` or a file it names is not what the shard was computed from",
                p.name
            )));
        }
        shards.push((fname, s));
    }
    let n = shards[0].1.shards;
    if let Some((f, s)) = shards.iter().find(|(_, s)| s.shards != n) {
        return Err(Failure::Input(format!(
            "`{f}` is shard {} of {}, but `{}` is of {n}: the shards come from different splits",
            s.shard, s.shards, shards[0].0
        )));
    }
    // Shard numbers are checked to lie below `n`, but `n` itself comes from a file: count what
    // is there rather than allocate `n` of anything.
    let mut seen: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (f, s) in &shards {
        seen.entry(s.shard).or_default().push(f);
    }
    if (seen.len() as u64) < n {
        let missing: Vec<String> = (0..n)
            .filter(|k| !seen.contains_key(k))
            .take(20)
            .map(|k| k.to_string())
            .collect();
        let more = n - seen.len() as u64 - missing.len() as u64;
        let more = if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        };
        return Err(Failure::Input(format!(
            "batch shards {}{more} of {n} are missing from `{dir_name}`: run `npvrisk batch {} --shard K/{n} --out {dir_name}` for them",
            missing.join(", "),
            p.name
        )));
    }
    let seen: Vec<Vec<&str>> = seen.into_values().collect();
    if let Some(twice) = seen.iter().find(|v| v.len() > 1) {
        return Err(Failure::Input(format!(
            "the same batch shard is in more than one file: {}",
            twice.join(", ")
        )));
    }
    let mut done: Vec<Done> = shards.into_iter().flat_map(|(_, s)| s.done).collect();
    done.sort_by_key(|d| d.index);
    if done.len() != p.scenarios.len()
        || done
            .iter()
            .zip(&p.scenarios)
            .enumerate()
            .any(|(i, (d, s))| d.index != i || d.name != s.name)
    {
        return Err(Failure::Input(format!(
            "the batch shards in `{dir_name}` do not hold each scenario once"
        )));
    }
    finish(&p, done, out_dir, format)
}

/// Read, check and resolve a manifest.
fn prepare(manifest: &Path) -> Result<Prepared, Failure> {
    let name = manifest.display().to_string();
    let src = crate::input::read_input(manifest)?;
    let m: Manifest = toml::from_str(&src)
        .map_err(|e| Failure::Input(crate::format::parser_error(&name, &src, e).to_string()))?;
    // An error at byte `at` of the manifest (a value's span as the parser saw it).
    let err = |at: usize, field: &str, value: String, allowed: &str| {
        Failure::Input(InputError::value(&name, &src, at, field, value, allowed).to_string())
    };
    // Where byte `offset` of the manifest is, with the field given there.
    let at = |offset: usize, field: String| {
        let (line, col) = crate::error::line_col(&src, offset);
        (line, col, field)
    };
    let base_dir = manifest.parent().unwrap_or(Path::new("."));
    let path_of = |p: &str| -> PathBuf { base_dir.join(p) };
    if *m.draws.get_ref() == 0 {
        return Err(err(
            m.draws.span().start,
            "draws",
            "0".into(),
            "must be at least 1",
        ));
    }
    let sampler = match m.sampler.as_ref().map(|s| s.get_ref().as_str()) {
        None | Some("mc") => SamplerKind::MonteCarlo,
        Some("lhs") => SamplerKind::LatinHypercube,
        Some("sobol") => SamplerKind::Sobol,
        Some(other) => {
            return Err(err(
                m.sampler.as_ref().map_or(0, |s| s.span().start),
                "sampler",
                format!("{other:?}"),
                "must be \"mc\", \"lhs\" or \"sobol\"",
            ));
        }
    };
    // A file the manifest names, read, and named by its path from here (so that its errors
    // point at it, and a CSV it names is found beside it); an error reading it names the field
    // and where the manifest gives it.
    let read_named = |field: &str, p: &Spanned<String>| -> Result<(String, String), Failure> {
        let path = path_of(p.get_ref());
        let text = crate::input::read_input(&path).map_err(|e| {
            err(
                p.span().start,
                field,
                format!("{:?}", p.get_ref()),
                &format!("{e} (paths are relative to the manifest's folder)"),
            )
        })?;
        Ok((path.display().to_string(), text))
    };
    let (model_name, model_src) = match &m.model {
        Some(p) => read_named("model", p)?,
        None => (
            crate::embedded::EY2013_MODEL_FILE.to_string(),
            crate::embedded::EY2013_MODEL.to_string(),
        ),
    };
    let (model, layout) = crate::format::parse_model_with_layout(&model_name, &model_src)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let mut user = Vec::new();
    for d in &m.dist {
        user.push(read_named("dist", d)?);
    }
    let no_defaults = m.no_default_dists.as_ref();
    let (base_files, defaults) = dist_files(
        m.model.is_none(),
        no_defaults.is_some_and(|b| *b.get_ref()),
        user,
    )
    .map_err(|why| {
        err(
            no_defaults.map_or(0, |b| b.span().start),
            "no_default_dists",
            "true".into(),
            &why,
        )
    })?;
    let base = distfile::load(&model, &base_files).map_err(|e| Failure::Input(e.to_string()))?;
    crate::note!("distributions: {}", base.describe_overlay(defaults));
    crate::guard::check_with(&model_name, &model_src, &model, &layout, Some(&base))?;
    // A fixed parameter value (`set` or `grid`): the path must name a parameter of the model
    // and the value must lie in its domain.
    let check_set = |field: &str, key: &Spanned<String>, v: f64, at: usize| {
        let param = crate::params::resolve(&model, key.get_ref()).map_err(|why| {
            err(
                key.span().start,
                field,
                format!("{:?}", key.get_ref()),
                &why,
            )
        })?;
        if param.domain.contains_interval(v, v) {
            Ok(())
        } else {
            Err(err(
                at,
                &format!("{field}.{}", key.get_ref()),
                show(v),
                &format!("the parameter is {}", param.domain.describe()),
            ))
        }
    };
    // Scenarios from the list and the grid.
    let mut scenarios: Vec<Scenario> = Vec::new();
    // Where each scenario's name is given (grid scenarios: the grid's first key).
    let mut name_at: Vec<usize> = Vec::new();
    for s in &m.scenario {
        for (k, v) in &s.set {
            check_set("scenario.set", k, *v.get_ref(), v.span().start)?;
        }
        let mut files = Vec::new();
        for d in &s.dist {
            files.push(read_named("scenario.dist", d)?);
        }
        scenarios.push(Scenario {
            name: s.name.get_ref().clone(),
            dist: files,
            set: s
                .set
                .iter()
                .map(|(k, v)| (k.get_ref().clone(), *v.get_ref()))
                .collect(),
            set_at: s
                .set
                .iter()
                .map(|(k, v)| at(v.span().start, format!("scenario.set.{}", k.get_ref())))
                .collect(),
        });
        name_at.push(s.name.span().start);
    }
    if !m.grid.is_empty() {
        let axes: Vec<(&String, &Vec<Spanned<f64>>)> = m
            .grid
            .iter()
            .map(|(k, v)| (k.get_ref(), v.get_ref()))
            .collect();
        for (k, vs) in &m.grid {
            if vs.get_ref().is_empty() {
                return Err(err(
                    vs.span().start,
                    &format!("grid.{}", k.get_ref()),
                    "[]".into(),
                    "must list at least one value",
                ));
            }
            for v in vs.get_ref() {
                check_set("grid", k, *v.get_ref(), v.span().start)?;
            }
        }
        let grid_at = m.grid.keys().next().map_or(0, |k| k.span().start);
        let combinations = axes
            .iter()
            .try_fold(1usize, |n, (_, vs)| n.checked_mul(vs.len()))
            .unwrap_or(usize::MAX);
        if combinations.saturating_add(scenarios.len()) > MAX_SCENARIOS {
            return Err(err(
                grid_at,
                "grid",
                format!("{combinations} combinations"),
                &format!(
                    "a batch may have at most {MAX_SCENARIOS} scenarios ({} listed): split the grid over several manifests",
                    scenarios.len()
                ),
            ));
        }
        let mut idx = vec![0usize; axes.len()];
        loop {
            let set: Vec<(String, f64)> = axes
                .iter()
                .zip(&idx)
                .map(|((k, vs), &i)| ((*k).clone(), *vs[i].get_ref()))
                .collect();
            let label: Vec<String> = set
                .iter()
                .map(|(k, v)| format!("{}={}", k.rsplit('.').next().unwrap_or(k), show(*v)))
                .collect();
            scenarios.push(Scenario {
                name: format!("grid.{}", label.join(".")),
                dist: Vec::new(),
                set,
                set_at: axes
                    .iter()
                    .zip(&idx)
                    .map(|((k, vs), &i)| at(vs[i].span().start, format!("grid.{k}")))
                    .collect(),
            });
            name_at.push(grid_at);
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
            0,
            "scenario",
            "none".into(),
            "a batch needs at least one [[scenario]] or a [grid]",
        ));
    }
    let mut names_seen = std::collections::HashSet::new();
    for (i, s) in scenarios.iter().enumerate() {
        if !valid_name(&s.name) {
            return Err(err(
                name_at[i],
                "scenario.name",
                format!("{:?}", s.name),
                &format!(
                    "must be a plain folder name: 1 to {MAX_NAME} letters, digits and _-.=, not starting with `.` (it names an output folder in --out)"
                ),
            ));
        }
        if !names_seen.insert(s.name.as_str()) {
            return Err(err(
                name_at[i],
                "scenario.name",
                format!("{:?}", s.name),
                "scenario names must be unique",
            ));
        }
    }
    let reference = scenarios
        .iter()
        .position(|s| s.name == *m.reference.get_ref())
        .ok_or_else(|| {
            err(
                m.reference.span().start,
                "reference",
                format!("{:?}", m.reference.get_ref()),
                "must name one of the scenarios",
            )
        })?;
    let scen_index = scen_index_of(&model);
    // The model's own values, the same under every scenario's distributions: checked once.
    Plan::new(model.clone(), scen_index, distfile::DistSet::default())?.check_point_values(
        &model_name,
        &model_src,
        &layout,
    )?;
    let opts = RunOptions {
        draws: *m.draws.get_ref(),
        seed: m.seed,
        sampler,
        block_size: crate::engine::DEFAULT_BLOCK,
        skip_nonfinite: false,
    };
    let extra: ReviewPoints = if m.model.is_none() {
        published_points()
    } else {
        Vec::new()
    };
    // The manifest (which names the files as it gives them) and each file's contents in order:
    // not the files' paths from the working folder, so that shards made from different folders
    // merge.
    let mut ident = format!("{}\n", sha256_hex(src.as_bytes()));
    for c in std::iter::once(&model_src)
        .chain(base_files.iter().map(|(_, c)| c))
        .chain(scenarios.iter().flat_map(|s| s.dist.iter().map(|(_, c)| c)))
    {
        let _ = writeln!(ident, "{}", sha256_hex(c.as_bytes()));
    }
    let p = Prepared {
        identity: sha256_hex(ident.as_bytes()),
        name,
        draws: *m.draws.get_ref(),
        seed: m.seed,
        reference_name: m.reference.into_inner(),
        model_name,
        model_src,
        model,
        base_files,
        scenarios,
        reference,
        scen_index,
        opts,
        extra,
    };
    scenario_warnings(&p)?;
    Ok(p)
}

/// The warnings of each scenario's own distribution files and fixed values (those of the model and
/// of the manifest's `dist` files were given when they were loaded), before anything runs.
fn scenario_warnings(p: &Prepared) -> Result<(), Failure> {
    let mut ws = Vec::new();
    // A grid value's warning is the same for every combination of the other axes: given once.
    let mut seen = std::collections::HashSet::new();
    for (i, s) in p.scenarios.iter().enumerate() {
        if s.dist.is_empty() && s.set.is_empty() {
            continue;
        }
        let set = scenario_set(p, i)?;
        let s = &p.scenarios[i];
        ws.extend(
            crate::guard::dist_warnings(&p.model, &set)
                .into_iter()
                .filter(|w| !p.base_files.iter().any(|(n, _)| *n == w.file))
                .map(|mut w| {
                    if let Some((line, col, field)) = set_entry(p, s, &w.file, w.line) {
                        w.file = p.name.clone();
                        (w.line, w.col, w.field) = (line, col, field);
                    }
                    w
                })
                .filter(|w| seen.insert(w.to_string())),
        );
    }
    crate::guard::emit(ws)
}

/// The model scenario whose point values a batch's fixed inputs take: `base`, else the last.
fn scen_index_of(model: &ModelSpec) -> usize {
    model
        .scenario_index("base")
        .unwrap_or(model.scenarios.len() - 1)
}

/// `f` with its message prefixed by `prefix`.
fn prefix_failure(prefix: &str, f: Failure) -> Failure {
    match f {
        Failure::Input(m) => Failure::Input(format!("{prefix}{m}")),
        Failure::Internal(m) => Failure::Internal(format!("{prefix}{m}")),
        other => other,
    }
}

/// The distributions of scenario `i`: the manifest's files, the scenario's own, then its fixed
/// values (`set`, `grid`) as a last file.
fn scenario_set(p: &Prepared, i: usize) -> Result<distfile::DistSet, Failure> {
    let s = &p.scenarios[i];
    let mut files = p.base_files.clone();
    files.extend(s.dist.iter().cloned());
    if !s.set.is_empty() {
        let mut t = String::new();
        // SET_LINES lines an entry (`show` writes a number TOML reads back as the same).
        for (k, v) in &s.set {
            let _ = writeln!(
                t,
                "[[input]]\npath = {k:?}\nkind = \"fixed\"\nvalue = {}\nsource = \"batch scenario {}\"\n",
                show(*v),
                s.name
            );
        }
        files.push((set_file(p, s), t));
    }
    distfile::load(&p.model, &files).map_err(|mut e| {
        if let Some((line, col, field)) = set_entry(p, s, &e.file, e.line) {
            e.file = p.name.clone();
            (e.line, e.col) = (line, col);
            if let crate::error::InputErrorKind::Value { field: f, .. } = &mut e.kind {
                *f = field;
            }
        }
        Failure::Input(format!("scenario `{}`: {e}", s.name))
    })
}

/// Lines of one fixed value's entry in the distribution file [`scenario_set`] writes.
const SET_LINES: usize = 6;

/// The name of the distribution file [`scenario_set`] writes for a scenario's fixed values.
fn set_file(p: &Prepared, s: &Scenario) -> String {
    format!("{}#{}.set", p.name, s.name)
}

/// Where the manifest gives the fixed value that line `line` of `file` comes from (line, column,
/// field), when `file` is the distribution file written for scenario `s`'s fixed values.
fn set_entry(
    p: &Prepared,
    s: &Scenario,
    file: &str,
    line: usize,
) -> Option<(usize, usize, String)> {
    if file != set_file(p, s) {
        return None;
    }
    s.set_at.get(line.checked_sub(1)? / SET_LINES).cloned()
}

/// `npvrisk validate` of a batch manifest: everything `batch` checks before computing (the
/// manifest's fields, its model, every scenario's distributions), without running; a one-line
/// description when it is valid.
pub fn validate(manifest: &Path) -> Result<String, Failure> {
    let p = prepare(manifest)?;
    for i in 0..p.scenarios.len() {
        let set = scenario_set(&p, i)?;
        Plan::new(p.model.clone(), p.scen_index, set)
            .map_err(|e| Failure::Input(format!("scenario `{}`: {e}", p.scenarios[i].name)))?;
    }
    Ok(format!(
        "batch manifest: {}, reference `{}`, {} draws, model {}",
        crate::text::count(p.scenarios.len(), "scenario", "scenarios"),
        p.reference_name,
        p.draws,
        p.model_name
    ))
}

/// A scenario's plan and metadata files.
fn scenario_plan(p: &Prepared, i: usize) -> Result<(Plan, Vec<FileHash>), Failure> {
    let set = scenario_set(p, i)?;
    let hashes: Vec<FileHash> = set.files.iter().map(|(n, c)| FileHash::of(n, c)).collect();
    let plan = Plan::new(p.model.clone(), p.scen_index, set)
        .map_err(|e| Failure::Input(format!("scenario `{}`: {e}", p.scenarios[i].name)))?;
    Ok((plan, hashes))
}

/// A finished scenario's summary, its summary JSON and the bits of its total NPV's S-curve.
type Ran = (summary::Summary, String, Vec<u64>);

/// Run scenario `i` as `run` streams a run, in memory bounded whatever the draws. The summary
/// also resolves the S-curve's percentiles ([`crate::batch_report::curve_probabilities`]) of the
/// total NPV only ([`SummaryOptions::total_npv_percentiles`]), exact order statistics like the
/// others; its JSON then lists only the default percentiles, so it is the same bits as a plain
/// run of the scenario's files.
fn run_scenario(
    p: &Prepared,
    i: usize,
    plan: &Plan,
    hashes: &[FileHash],
    pool: &rayon::ThreadPool,
) -> Result<Ran, Failure> {
    let s = &p.scenarios[i];
    let started = std::time::Instant::now();
    let meta = metadata_for(plan, (&p.model_name, &p.model_src), hashes, &p.opts);
    let shown = SummaryOptions::default();
    let probs = crate::batch_report::curve_probabilities();
    let with_curve = SummaryOptions {
        total_npv_percentiles: probs.clone(),
        ..shown.clone()
    };
    let (sum, passes) = pool
        .install(|| {
            crate::stream::run_streamed(
                plan,
                &p.opts,
                meta,
                &with_curve,
                &p.extra,
                &crate::stream::StreamConfig::single_process(),
                &|_| {},
                None,
            )
        })
        .map_err(|e| prefix_failure(&format!("scenario `{}`: ", s.name), Failure::from(e)))?;
    crate::note!(
        "scenario `{}`: {} draws ({})",
        s.name,
        sum.metadata.draws,
        crate::text::count(passes as usize, "pass", "passes")
    );
    let curve: Vec<u64> = sum
        .outcomes
        .iter()
        .find(|o| o.id == "total")
        .map(|o| {
            probs
                .iter()
                .filter_map(|q| o.npv.percentile(*q))
                .map(f64::to_bits)
                .collect()
        })
        .unwrap_or_default();
    let json =
        crate::export::summary_json_with(&sum, started.elapsed().as_secs_f64(), &shown.percentiles);
    Ok((sum, json, curve))
}

/// Scenarios `which` (in manifest order), each compared with the reference, which is run first;
/// the differences are paired draw by draw (common random numbers), regenerating the draws of
/// both rather than keeping them.
fn compute(p: &Prepared, which: &[usize], pool: &rayon::ThreadPool) -> Result<Vec<Done>, Failure> {
    if which.is_empty() {
        return Ok(Vec::new());
    }
    let (ref_plan, ref_hashes) = scenario_plan(p, p.reference)?;
    let (ref_sum, ref_json, ref_curve) =
        run_scenario(p, p.reference, &ref_plan, &ref_hashes, pool)?;
    let headline: Vec<usize> = (0..ref_plan.entities.len())
        .filter(|&e| ref_sum.outcomes[e].headline)
        .collect();
    let cols: Vec<usize> = headline
        .iter()
        .map(|&e| Layout::entity(e, Measure::Npv))
        .collect();
    let mut done = Vec::with_capacity(which.len());
    for &i in which {
        let (summary_json, rows, curve) = if i == p.reference {
            let zero = vec![(0.0, 0.0); cols.len()];
            (
                ref_json.clone(),
                rows(&ref_sum, &ref_sum, &headline, &zero)?,
                ref_curve.clone(),
            )
        } else {
            let (plan, hashes) = scenario_plan(p, i)?;
            let (sum, json, curve) = run_scenario(p, i, &plan, &hashes, pool)?;
            let diffs = pool
                .install(|| crate::run::paired::differences(&plan, &ref_plan, &p.opts, &cols))
                .map_err(|e| prefix_failure(&format!("scenario `{}`: ", p.scenarios[i].name), e))?;
            (json, rows(&sum, &ref_sum, &headline, &diffs)?, curve)
        };
        done.push(Done {
            index: i,
            name: p.scenarios[i].name.clone(),
            summary_json,
            rows,
            curve,
        });
    }
    Ok(done)
}

/// The comparison rows of a scenario against the reference, per headline entity: the
/// scenario's figures from its summary, the paired differences' mean and standard deviation
/// (`diffs`, one per entity of `headline`), and the standard error the difference would have if
/// the two runs were independent.
fn rows(
    sum: &summary::Summary,
    ref_sum: &summary::Summary,
    headline: &[usize],
    diffs: &[(f64, f64)],
) -> Result<Vec<Row>, Failure> {
    let n = sum.metadata.draws as f64;
    let mut out = Vec::with_capacity(headline.len());
    for (&e, &(dmean, dsd)) in headline.iter().zip(diffs) {
        let (o, r) = (&sum.outcomes[e], &ref_sum.outcomes[e]);
        let st = &o.npv;
        let q = |p: f64| {
            st.percentile(p).ok_or_else(|| {
                Failure::Internal(format!("the batch summary has no P{}", p * 100.0))
            })
        };
        let below0 = st
            .below
            .iter()
            .find(|b| b.threshold == 0.0)
            .map(|b| b.p)
            .ok_or_else(|| Failure::Internal("the batch summary has no P(NPV < 0)".into()))?;
        let indep = (st.sd * st.sd / n + r.npv.sd * r.npv.sd / n).sqrt();
        let values = [
            st.mean,
            st.se_mean,
            q(0.1)?,
            q(0.5)?,
            q(0.9)?,
            below0,
            dmean,
            dsd / n.sqrt(),
            indep,
        ];
        out.push(Row {
            entity: o.id.clone(),
            bits: values.map(f64::to_bits),
        });
    }
    Ok(out)
}

/// Write and print the outputs of a finished batch (all scenarios, in manifest order).
fn finish(
    p: &Prepared,
    done: Vec<Done>,
    out_dir: Option<&Path>,
    format: Format,
) -> Result<String, Failure> {
    // One readable money unit for the whole comparison, from its largest amount.
    let money = MoneyUnit::readable(
        done.iter()
            .flat_map(|d| &d.rows)
            .flat_map(|r| [0, 2, 3, 4, 6].map(|k| f64::from_bits(r.bits[k]).abs()))
            .filter(|v| v.is_finite())
            .fold(0.0, f64::max),
    );
    let k = money.per_bn();
    let mut csv = String::from(
        "scenario,entity,mean_npv,se_mean,p10,p50,p90,p_negative,diff_mean,diff_se,diff_se_if_independent,money_unit\n",
    );
    let mut table = format!(
        "Batch of {} scenarios, {} draws each, common random numbers (seed {})\nDifferences from `{}`, {money}\n\n",
        done.len(),
        p.draws,
        p.seed,
        p.reference_name
    );
    // Columns as wide as their longest name, so the table stays narrow (100 columns for the
    // README's batch).
    let width = |head: &str, names: &mut dyn Iterator<Item = &str>| {
        names
            .map(|n| n.chars().count())
            .fold(head.len(), usize::max)
    };
    let sw = width("scenario", &mut done.iter().map(|d| d.name.as_str()));
    let ew = width(
        "entity",
        &mut done
            .iter()
            .flat_map(|d| d.rows.iter().map(|r| r.entity.as_str())),
    );
    let _ = writeln!(
        table,
        "{:<sw$} {:<ew$} {:>9} {:>9} {:>10} {:>9} {:>12}",
        "scenario", "entity", "mean", "P(<0)", "difference", "se(diff)", "se if indep."
    );
    for d in &done {
        for r in &d.rows {
            let [mean, se, p10, p50, p90, pneg, dmean, dse, indep] = r.bits.map(f64::from_bits);
            // Every figure but the probability is an amount (×1 exactly for £bn).
            let [mean, se, p10, p50, p90, dmean, dse, indep] =
                [mean, se, p10, p50, p90, dmean, dse, indep].map(|v| v * k);
            let _ = writeln!(
                csv,
                "{},{},{mean},{se},{p10},{p50},{p90},{pneg},{dmean},{dse},{indep},{money}",
                d.name, r.entity
            );
            let _ = writeln!(
                table,
                "{:<sw$} {:<ew$} {:>9.3} {:>8.1}% {:>+10.3} {:>9.4} {:>12.4}",
                d.name,
                r.entity,
                mean,
                pneg * 100.0,
                dmean,
                dse,
                indep
            );
        }
    }
    if let Some(dir) = out_dir {
        let mut files: Vec<(String, Vec<u8>)> = Vec::new();
        files.push(("batch.html".into(), batch_page(p, &done).into_bytes()));
        files.push((
            "s_curves.csv".into(),
            s_curves_csv(&done, money).into_bytes(),
        ));
        for d in done {
            files.push((
                format!("{}/summary.json", d.name),
                d.summary_json.into_bytes(),
            ));
        }
        // Renamed into place last: once comparison.csv is there, the whole batch is.
        files.push(("comparison.csv".into(), csv.clone().into_bytes()));
        crate::output::publish(dir, &files)?;
        crate::note!("wrote {}", dir.display());
    }
    Ok(match format {
        Format::Csv => csv,
        _ => table,
    })
}

/// The S-curves of `batch.html` as numbers: per scenario, the headline total NPV's quantile at
/// each probability of the grid (`scenario,p,total_npv,money_unit`, in the comparison's unit).
fn s_curves_csv(done: &[Done], money: MoneyUnit) -> String {
    let probs = crate::batch_report::curve_probabilities();
    let mut csv = String::from("scenario,p,total_npv,money_unit\n");
    for d in done {
        for (p, b) in probs.iter().zip(&d.curve) {
            let v = money.from_bn(f64::from_bits(*b));
            let _ = writeln!(csv, "{},{p},{v},{money}", d.name);
        }
    }
    csv
}

/// The page of charts of a finished batch (`batch.html`).
fn batch_page(p: &Prepared, done: &[Done]) -> String {
    let scenarios: Vec<crate::batch_report::ScenarioCurve> = done
        .iter()
        .map(|d| {
            let total = d.rows.iter().find(|r| r.entity == "total");
            let bits = |k: usize| total.map_or(f64::NAN, |r| f64::from_bits(r.bits[k]));
            crate::batch_report::ScenarioCurve {
                name: d.name.clone(),
                curve: d.curve.iter().map(|b| f64::from_bits(*b)).collect(),
                diff: bits(6),
                diff_se: bits(7),
            }
        })
        .collect();
    let charts = crate::batch_report::charts(&p.reference_name, &scenarios, p.model.horizon_years);
    let heading = Path::new(&p.name)
        .file_name()
        .map_or_else(|| p.name.clone(), |f| f.to_string_lossy().into_owned());
    crate::batch_report::html(
        &heading,
        &p.reference_name,
        p.draws,
        p.seed,
        done.len(),
        &charts,
    )
}

/// The Slurm batch script of `npvrisk slurm --batch MANIFEST`: a job array whose task K runs
/// `batch MANIFEST --shard K/N`, and a merge job when every task succeeded. The manifest is
/// checked here, on the login node, rather than on the cluster.
pub fn slurm_script(
    manifest: &Path,
    shards: u64,
    dir: &Path,
    cpus: u32,
    npvrisk: &str,
) -> Result<String, Failure> {
    let p = prepare(manifest)?;
    let word = |s: &str| crate::slurm::script_word(s);
    let (m, out, bin) = (
        word(&manifest.display().to_string()),
        word(&dir.display().to_string()),
        word(npvrisk),
    );
    let out_p = crate::slurm::sh_quote(&dir.display().to_string());
    let merge_cmd = format!(
        "{} batch {} --merge {out_p}/shards --out {out_p}",
        crate::slurm::sh_quote(npvrisk),
        crate::slurm::sh_quote(&manifest.display().to_string())
    );
    Ok(format!(
        r#"#!/bin/bash
# npvrisk batch on Slurm: the {count} scenarios of {name} split over {shards} array tasks (task K
# runs the scenarios i with i mod {shards} = K, and the reference for the differences), then a
# merge job once every task has succeeded. Run this script on the login node, from the folder the
# manifest's paths are relative to. The merged outputs are byte-identical (apart from timing) to
# `npvrisk batch` in one process.
#
# A failed task can be resubmitted alone with its id, e.g. the last:
#   sbatch --array={last} --cpus-per-task={cpus} --output={out_p}/logs/batch-%a.log --wrap="$SHARD_CMD"
# and the merge then run by hand:
#   {merge_cmd}
set -euo pipefail
mkdir -p {out_p}/shards {out_p}/logs
SHARD_CMD="RAYON_NUM_THREADS=\${{SLURM_CPUS_PER_TASK:-1}} {bin} batch {m} --shard \${{SLURM_ARRAY_TASK_ID}}/{shards} --out {out}/shards"
ARRAY_JOB=$(sbatch --parsable --job-name=npvrisk-batch --array=0-{last} --cpus-per-task={cpus} \
    --output={out_p}/logs/batch-%a.log --wrap="$SHARD_CMD")
MERGE_JOB=$(sbatch --parsable --job-name=npvrisk-batch-merge --dependency=afterok:"$ARRAY_JOB" \
    --cpus-per-task=1 --output={out_p}/logs/merge.log \
    --wrap="{bin} batch {m} --merge {out}/shards --out {out} --format csv > {out}/comparison-stdout.csv")
echo "submitted batch array $ARRAY_JOB and merge job $MERGE_JOB"
"#,
        count = p.scenarios.len(),
        name = p.name,
        last = shards - 1,
    ))
}
