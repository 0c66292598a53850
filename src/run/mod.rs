//! The run pipeline: a [`RunSpec`] built once from the command line (or by a program), and the
//! ways of executing it — draws held in memory, streamed over passes, a shard of a cluster run, a
//! checkpointed (resumable) run, MPI ranks, and the merge of shard files — which all end in one
//! [`crate::stream::Passes`] loop and one exporter ([`crate::export`]). Every function
//! returns what the command prints, or a typed [`Error`]; nothing here parses arguments or exits.

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::distfile;
use crate::draws_out::DrawsFormat;
use crate::embedded::{EY2013_DISTS, EY2013_DISTS_FILE, EY2013_MODEL, EY2013_MODEL_FILE};
use crate::embedded::{EY2013_PUBLISHED, EY2013_PUBLISHED_FILE};
use crate::engine::{Plan, RunOptions};
pub use crate::error::Error;
use crate::export::{self, Format, Kept};
use crate::output::write_atomic;
use crate::published::parse_published;
use crate::sampler::SamplerKind;
use crate::stream::{
    ColPass, First, FirstPass, Grid, Passes, Regenerate, Restored, Setup, StreamConfig, StreamError,
};
use crate::summary::{self, FileHash, Metadata, ReviewPoints, SummaryOptions};
use crate::text;
use kept::{KeptFile, Parts, shard_draws_name};

type Failure = Error;

mod kept;
pub mod paired;

/// Default number of draws of a run.
pub const DEFAULT_DRAWS: u64 = 200_000;
/// Default seed.
pub const DEFAULT_SEED: u64 = 20130110;
/// Default reported percentiles.
pub const DEFAULT_PERCENTILES: [f64; 5] = [0.05, 0.1, 0.5, 0.9, 0.95];
/// Default level of the central interval.
pub const DEFAULT_INTERVAL: f64 = 0.9;
/// Default upper limit of draws for a run to a precision.
pub const DEFAULT_MAX_DRAWS: u64 = 10_000_000;

/// Everything that defines a run and how it is executed, built once.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// Model file (none: the embedded 2013 model).
    pub model: Option<PathBuf>,
    /// Distribution files, in overlay order.
    pub dist: Vec<PathBuf>,
    /// Start the embedded model from no distributions.
    pub no_default_dists: bool,
    pub draws: u64,
    pub seed: u64,
    pub sampler: SamplerKind,
    /// Worker threads (none: all cores).
    pub threads: Option<usize>,
    /// Keep doubling the draws until the percentiles' standard errors are below this.
    pub precision: Option<summary::Precision>,
    pub max_draws: u64,
    /// Scenario whose point values the inputs without a distribution take.
    pub scenario: Option<String>,
    /// Output folder.
    pub out: Option<PathBuf>,
    pub format: Format,
    /// Write every draw to the output folder.
    pub keep_draws: bool,
    /// File format of the kept draws (none: CSV).
    pub draws_format: Option<crate::draws_out::DrawsFormat>,
    pub percentiles: Vec<f64>,
    pub interval: f64,
    pub thresholds: Vec<f64>,
    pub block_size: u64,
    pub skip_nonfinite: bool,
    /// Summarise in passes without holding the draws in memory (kept draws are written as pass 1
    /// makes them).
    pub stream: bool,
    /// With `shard`: the plan of a later pass (from `merge --next-pass`).
    pub pass: Option<PathBuf>,
    /// Compute only shard K of N.
    pub shard: Option<(u64, u64)>,
    /// Save progress to this folder.
    pub checkpoint: Option<PathBuf>,
    /// Resume from this folder.
    pub resume: Option<PathBuf>,
    /// Run as one rank of an MPI job (`--features mpi`).
    pub mpi: bool,
    /// Keep no sieve in pass 1 ([`StreamConfig::sieve_sigmas`] 0): less memory, a second pass.
    pub no_sieve: bool,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            model: None,
            dist: Vec::new(),
            no_default_dists: false,
            draws: DEFAULT_DRAWS,
            seed: DEFAULT_SEED,
            sampler: SamplerKind::MonteCarlo,
            threads: None,
            precision: None,
            max_draws: DEFAULT_MAX_DRAWS,
            scenario: None,
            out: None,
            format: Format::Table,
            keep_draws: false,
            draws_format: None,
            percentiles: DEFAULT_PERCENTILES.to_vec(),
            interval: DEFAULT_INTERVAL,
            thresholds: Vec::new(),
            block_size: crate::engine::DEFAULT_BLOCK,
            skip_nonfinite: false,
            stream: false,
            pass: None,
            shard: None,
            checkpoint: None,
            resume: None,
            mpi: false,
            no_sieve: false,
        }
    }
}

/// Check a run's options against each other, then read and check its model and distribution
/// files, as the run does before its first draw: `slurm` checks a shard this way before it writes
/// a script, so that a mistake is found on the login node rather than by every array task.
pub fn check(a: &RunSpec) -> Result<(), Error> {
    check_options(a)?;
    load_plan(a).map(|_| ())
}

fn check_options(a: &RunSpec) -> Result<(), Failure> {
    let bad = |m: String| Err(Failure::Input(m));
    if a.draws == 0 {
        return bad("`--draws` = 0: must be at least 1".into());
    }
    if a.precision.is_some() && a.max_draws > crate::rng::DRAW_LIMIT {
        return bad(format!(
            "`--max-draws` = {}: at most 2^48 = {} (the draws a run can number)",
            a.max_draws,
            crate::rng::DRAW_LIMIT
        ));
    }
    if a.precision.is_some() && a.max_draws < a.draws {
        return bad(format!(
            "`--max-draws` = {}: below `--draws` = {}, the first step of a run to a --precision; \
             must be at least --draws",
            a.max_draws, a.draws
        ));
    }
    for p in &a.percentiles {
        if !(*p > 0.0 && *p < 1.0) {
            return bad(format!(
                "`--percentiles` contains {p}: each must lie in (0, 1)"
            ));
        }
    }
    if !(a.interval > 0.0 && a.interval < 1.0) {
        return bad(format!("`--interval` = {}: must lie in (0, 1)", a.interval));
    }
    // A threshold is compared with outcomes, which are within ±MAX_OUTCOME; one beyond it would
    // only be labelled `p_below_inf` or the like.
    if let Some(t) = a
        .thresholds
        .iter()
        .find(|t| t.is_nan() || t.abs() > crate::engine::MAX_OUTCOME)
    {
        return bad(format!(
            "`--threshold` = {t:e} £bn: must be a finite amount within ±1e100 £bn"
        ));
    }
    check_threads(a.threads)?;
    if a.block_size == 0 {
        return bad("`--block-size` = 0: must be at least 1".into());
    }
    export::check(a.format, a.out.as_deref())?;
    if a.format != Format::Table && a.shard.is_some() {
        return bad(format!(
            "`--format {}` with `--shard`: a shard writes a shard file, not a summary; give the format to `npvrisk merge`",
            a.format.name()
        ));
    }
    if a.keep_draws
        && (a.stream || a.shard.is_some())
        && a.draws_format == Some(DrawsFormat::Sipmath)
    {
        return bad(SIPMATH_IN_MEMORY.into());
    }
    if a.keep_draws && a.mpi {
        return bad("`--keep-draws` with `--mpi`: the ranks do not write draws; run the blocks as shards (`--shard K/N --keep-draws`) and join their draws with `npvrisk merge --keep-draws`".into());
    }
    if a.keep_draws && a.pass.is_some() {
        return bad("`--keep-draws` with `--pass`: pass 1 (the shard run without `--pass`) keeps the draws; later passes only read them again".into());
    }
    if a.keep_draws && a.out.is_none() {
        return bad("`--keep-draws` needs `--out DIR` to write the draws to".into());
    }
    if a.draws_format.is_some() && !a.keep_draws {
        return bad("`--draws-format` is the format of the kept draws: give `--keep-draws`".into());
    }
    for t in &a.thresholds {
        if !t.is_finite() {
            return bad(format!(
                "`--threshold` = {t}: must be a finite amount in £bn"
            ));
        }
    }
    Ok(())
}

/// What the caller sees of a run as it goes: the library reports its progress, the caller shows
/// it (the command line draws a progress bar on a terminal). Called from worker threads; every
/// method does nothing unless the caller's observer says otherwise.
pub trait Observer: Send + Sync {
    /// Work over `draws` draws per pass starts (0: not known). A run that passes over its draws
    /// more than once (streamed) reports every pass's draws after this one start, so the draws
    /// advanced can exceed `draws`: pass `k` is done at `k × draws`.
    fn start(&self, draws: u64) {
        let _ = draws;
    }
    /// `draws` more draws are done.
    fn advance(&self, draws: u64) {
        let _ = draws;
    }
    /// The work is over, finished or stopped.
    fn finish(&self) {}
}

/// The observer that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// What the caller controls and sees of a run while it goes.
#[derive(Clone)]
pub struct Hooks {
    /// Set from outside (the command line sets it on Ctrl-C or SIGTERM) to stop a checkpointed
    /// run or shard at its next chunk, after saving; the run then returns
    /// [`Error::Interrupted`]. Runs without a checkpoint do not look at it.
    pub stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Told of the run's progress.
    pub observer: std::sync::Arc<dyn Observer>,
}

impl Default for Hooks {
    fn default() -> Hooks {
        Hooks {
            stop: Default::default(),
            observer: std::sync::Arc::new(Silent),
        }
    }
}

impl std::fmt::Debug for Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooks")
            .field("stop", &self.stop)
            .finish_non_exhaustive()
    }
}

/// Execute a run as its specification says (in memory or streamed, a shard, checkpointed, or an
/// MPI rank); returns what to print.
pub fn run(a: &RunSpec) -> Result<String, Error> {
    run_with(a, &Hooks::default())
}

/// [`run`] with the caller's [`Hooks`].
pub fn run_with(a: &RunSpec, hooks: &Hooks) -> Result<String, Error> {
    crate::input::begin_command();
    let r = run_with_unguarded(a, hooks);
    cleaned(&[a.out.as_deref(), a.checkpoint.as_deref()], r)
}

fn run_with_unguarded(a: &RunSpec, hooks: &Hooks) -> Result<String, Error> {
    check_options(a)?;
    // Under MPI every rank runs this; rank 0 alone writes, and locks the folder then.
    if a.mpi {
        #[cfg(feature = "mpi")]
        return run_mpi(a);
        #[cfg(not(feature = "mpi"))]
        return Err(Error::Input(
            "`--mpi`: this npvrisk was built without MPI support; build it with \
             `cargo build --release --features mpi` (needs an MPI library and its compiler \
             wrapper, e.g. Debian's libopenmpi-dev), or split the run with `--shard K/N` and \
             `npvrisk merge` instead"
                .into(),
        ));
    }
    if let Some((k, n)) = a.shard {
        // A shard's folder is shared by every shard of the run (a Slurm array writes it at
        // once), so it is not locked.
        return run_shard(a, k, n, hooks);
    }
    lock_out(a.out.as_deref())?;
    if a.checkpoint.is_some() || a.resume.is_some() {
        return run_checkpointed(a, hooks);
    }
    let embedded = a.model.is_none();
    let (plan, (model_name, model_src), meta_files) = load_plan(a)?;
    if plan.set.inputs.is_empty() {
        eprintln!(
            "warning: no input has a distribution; every draw equals the `{}` scenario",
            plan.model.scenarios[plan.scenario]
        );
    }

    let pool = thread_pool(a.threads)?;
    let started = Instant::now();
    let mut engine_secs;
    let mut draws_n = a.draws;
    let per_draw = plan_bytes_per_draw(&plan) as u64;
    let (summary, draws, staged, passes) = loop {
        let opts = RunOptions {
            draws: draws_n,
            ..run_options(a)
        };
        // A run that does not keep its draws never holds them: its summary is streamed over
        // blocks (the same bits as summarising draws held in memory).
        let stream = !a.keep_draws || streams(a, draws_n, per_draw)?;
        let meta = metadata_for(&plan, (&model_name, &model_src), &meta_files, &opts);
        let (s, draws, staged, passes) = if stream {
            let bar = Progress::new(hooks, draws_n);
            let mut kept = match (&a.out, a.keep_draws) {
                (Some(dir), true) => Some(KeptFile::create_locked(
                    &plan,
                    dir,
                    a.draws_format.unwrap_or_default(),
                    &export::draws_title(&meta),
                )?),
                _ => None,
            };
            let (s, passes) = pool
                .install(|| {
                    crate::stream::run_streamed(
                        &plan,
                        &opts,
                        meta,
                        &summary_options(&a.percentiles, a.interval, &a.thresholds),
                        &review_points(embedded),
                        &sieving(StreamConfig::single_process(), a),
                        &|k| bar.inc(k),
                        kept.as_mut().map(|k| k as &mut dyn crate::stream::DrawSink),
                    )
                })
                .map_err(stream_failure)?;
            bar.finish();
            engine_secs = started.elapsed().as_secs_f64();
            (s, None, kept.map(KeptFile::finish).transpose()?, passes)
        } else {
            let bar = Progress::new(hooks, draws_n);
            let draws = pool
                .install(|| plan.run(&opts, &|k| bar.inc(k)))
                .map_err(|e| match e {
                    crate::engine::RunError::Options(m) => Failure::Input(m),
                    other => Failure::Input(other.to_string()),
                })?;
            bar.finish();
            engine_secs = started.elapsed().as_secs_f64();
            let s = pool.install(|| {
                summarise_with(
                    &plan,
                    &draws,
                    meta,
                    (&a.percentiles, a.interval, &a.thresholds),
                    embedded,
                )
            })?;
            (s, Some(draws), None, 1)
        };
        let worst = a.precision.map_or(0.0, |x| x.worst_ratio(&s));
        match a.precision {
            Some(x) if worst > 1.0 && draws_n < a.max_draws => {
                crate::note!(
                    "{draws_n} draws: a percentile's standard error is {worst:.2} times the --precision {x}; doubling"
                );
                draws_n = (draws_n * 2).min(a.max_draws);
            }
            Some(x) if worst > 1.0 => {
                eprintln!(
                    "warning: stopped at --max-draws {draws_n}: a percentile's standard error is still {worst:.2} times the --precision {x}"
                );
                break (s, draws, staged, passes);
            }
            _ => break (s, draws, staged, passes),
        }
    };
    let secs = started.elapsed().as_secs_f64();
    if draws.is_some() {
        crate::note!(
            "{} draws in {:.2} s ({:.0} draws/s; last engine pass ended at {:.2} s, summary {:.2} s)",
            summary.metadata.draws,
            secs,
            summary.metadata.draws as f64 / secs,
            engine_secs,
            secs - engine_secs
        );
    } else {
        crate::note!(
            "{} draws streamed in {:.2} s ({} over the draws, {:.0} draws/s per pass)",
            summary.metadata.draws,
            secs,
            crate::text::count(passes as usize, "pass", "passes"),
            (summary.metadata.draws * passes as u64) as f64 / secs,
        );
    }
    let printed = export::summary(
        &summary,
        secs,
        a.format,
        a.out.as_deref(),
        match (staged, &draws) {
            (Some(f), _) => Some(Kept::Staged(f)),
            (None, Some(d)) if a.keep_draws => {
                Some(Kept::Memory(&plan, d, a.draws_format.unwrap_or_default()))
            }
            _ => None,
        },
    )?;
    if let Some(dir) = &a.out {
        crate::note!("wrote {}", dir.display());
    }
    Ok(printed)
}

/// The result `r` of a command that writes into the folders `dirs`: when it failed, the folders
/// among them (and inside them) that it created and left with nothing but its lock are removed
/// ([`crate::output::remove_abandoned_in`]), so that a library call fails as cleanly as the
/// command line. An interrupted run keeps its checkpoint folder: it is resumed from.
pub fn cleaned<T>(dirs: &[Option<&Path>], r: Result<T, Error>) -> Result<T, Error> {
    if let Err(e) = &r
        && !matches!(e, Error::Interrupted { .. })
    {
        for d in dirs.iter().flatten() {
            crate::output::remove_abandoned_in(d);
        }
    }
    r
}

/// Lock `--out` now if it exists (see [`crate::output::lock_existing`]).
pub fn lock_out(dir: Option<&Path>) -> Result<(), Failure> {
    match dir {
        Some(d) => crate::output::lock_existing(d),
        None => Ok(()),
    }
}

/// A run's progress as its parts report it, passed on to the caller's [`Observer`]; finished
/// once, when told or when dropped (a run that fails or stops).
struct Progress {
    observer: std::sync::Arc<dyn Observer>,
    finished: std::sync::atomic::AtomicBool,
}

impl Progress {
    /// Start work over `n` draws per pass.
    fn new(hooks: &Hooks, n: u64) -> Progress {
        hooks.observer.start(n);
        Progress {
            observer: hooks.observer.clone(),
            finished: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn inc(&self, k: u64) {
        self.observer.advance(k);
    }

    fn finish(&self) {
        if !self
            .finished
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.observer.finish();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The printed five-year NPVs of the 2013 report, for the headline review of the embedded model.
pub fn published_points() -> ReviewPoints {
    let Ok(p) = parse_published(EY2013_PUBLISHED_FILE, EY2013_PUBLISHED) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut push = |id: &str, figs: &crate::published::Figures| {
        if let Some(v) = &figs.npv_5yr {
            let pts = p
                .scenarios
                .iter()
                .zip(v)
                .map(|(s, x)| (format!("published {s}"), x.value))
                .collect();
            out.push((id.to_string(), pts));
        }
    };
    for t in p.themes.iter().filter(|t| !t.indicative) {
        push(&t.id, &t.figures);
    }
    push("total", &p.total);
    out
}

/// `npvrisk throughput`: time the engine (every outcome, draws kept in memory) and the RNG floor
/// on the same plan, alternating three times each, and print the best of each.
pub fn throughput(a: &RunSpec) -> Result<String, Error> {
    crate::input::begin_command();
    check_options(a)?;
    // It times in-memory runs and prints its own table: options that write, stream, split or
    // stop a run would be ignored, so they are refused.
    let given = first_given([
        (a.out.is_some(), "--out"),
        (a.format != Format::Table, "--format"),
    ])
    .or_else(|| run_only_option(a));
    if let Some(opt) = given {
        return Err(Failure::Input(format!(
            "`throughput {opt}`: throughput times in-memory runs of --draws and prints its own \
             table; it writes no files, keeps no draws and runs no shards, streams or checkpoints"
        )));
    }
    let (plan, _, _) = load_plan(a)?;
    let pool = thread_pool(a.threads)?;
    let opts = run_options(a);
    use crate::engine::Floor;
    let mut engine = f64::INFINITY;
    // Best time of each floor stage: raw uniforms, with the copula, with the quantiles (the
    // RNG floor itself, whose checksum joins the engine's).
    let mut stages = [f64::INFINITY; 3];
    let mut check = 0.0;
    for _ in 0..3 {
        let t = Instant::now();
        let d = pool
            .install(|| plan.run(&opts, &|_| {}))
            .map_err(|e| Failure::Input(e.to_string()))?;
        engine = engine.min(t.elapsed().as_secs_f64());
        check += d.outcomes[0][0];
        drop(d);
        for (best, stage) in
            stages
                .iter_mut()
                .zip([Floor::Uniforms, Floor::Copula, Floor::Quantiles])
        {
            let t = Instant::now();
            let sum = pool
                .install(|| plan.floor(&opts, stage))
                .map_err(|e| Failure::Input(e.to_string()))?;
            *best = best.min(t.elapsed().as_secs_f64());
            if stage == Floor::Quantiles {
                check += sum;
            } else {
                std::hint::black_box(sum);
            }
        }
    }
    let floor = stages[2];
    let n = a.draws as f64;
    let bytes = plan_bytes_per_draw(&plan);
    // Wall time per draw of each stage over the one before it (best of three each; a negative
    // difference is noise and shows as such).
    let ns = |secs: f64| secs / n * 1e9;
    let parts = format!(
        "per draw   uniforms {:.0} ns, copula {:+.0} ns, quantiles {:+.0} ns, model and outcome columns {:+.0} ns (wall time; best of three each)\n",
        ns(stages[0]),
        ns(stages[1] - stages[0]),
        ns(floor - stages[1]),
        ns(engine - floor),
    );
    Ok(format!(
        "threads {}, {} draws, {}, sampler {}\nengine     {:>12.0} draws/s ({:.3} s)\nrng floor  {:>12.0} draws/s ({:.3} s)\nratio      {:.2} (engine throughput / RNG floor)\nmemory     {} bytes per kept draw\n{parts}(checksum {check:e})\n",
        pool.current_num_threads(),
        a.draws,
        crate::text::count(plan.set.inputs.len(), "input", "inputs"),
        opts.sampler.name(),
        n / engine,
        engine,
        n / floor,
        floor,
        floor / engine,
        bytes
    ))
}

/// Memory the engine keeps per draw: every outcome column (8 bytes), two small per-entity
/// integers, and each input's value.
pub fn plan_bytes_per_draw(plan: &Plan) -> usize {
    plan.n_outcomes() * 8 + plan.entities.len() * 2 + plan.set.inputs.len() * 8
}

type LoadedPlan = (Plan, (String, String), Vec<FileHash>);

/// Load the model and distribution files of a run into a plan.
fn load_plan(a: &RunSpec) -> Result<LoadedPlan, Failure> {
    let (model_name, model_src) = match &a.model {
        Some(p) => (p.display().to_string(), crate::input::read_input(p)?),
        None => (EY2013_MODEL_FILE.to_string(), EY2013_MODEL.to_string()),
    };
    let (model, layout) = crate::format::parse_model_with_layout(&model_name, &model_src)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let scenario = match &a.scenario {
        Some(name) => model.scenario_index(name).ok_or_else(|| {
            Failure::Input(format!(
                "`--scenario` = {name:?}: the model's scenarios are {:?}",
                model.scenarios
            ))
        })?,
        None => model
            .scenario_index("base")
            .unwrap_or(model.scenarios.len() - 1),
    };
    let mut user = Vec::new();
    for d in &a.dist {
        user.push((d.display().to_string(), crate::input::read_input(d)?));
    }
    let (files, defaults) = dist_files(a.model.is_none(), a.no_default_dists, user)
        .map_err(|why| Failure::Input(format!("`--no-default-dists`: {why}")))?;
    let set = distfile::load(&model, &files).map_err(|e| Failure::Input(e.to_string()))?;
    crate::note!("distributions: {}", set.describe_overlay(defaults));
    check_correlated_vary(&model, &set)?;
    crate::guard::check_with(&model_name, &model_src, &model, &layout, Some(&set))?;
    let hashes: Vec<FileHash> = set.files.iter().map(|(n, s)| FileHash::of(n, s)).collect();
    let plan = Plan::new(model, scenario, set)?;
    plan.check_point_values(&model_name, &model_src, &layout)?;
    Ok((plan, (model_name, model_src), hashes))
}

/// The distribution files of a run (or batch), in overlay order, and how many of them are the
/// embedded defaults. The embedded model starts from its default distributions and the user's
/// files are overlaid on them (a later file's input replaces an earlier one for the same path;
/// a later `[correlation]` replaces the earlier one); `no_defaults` starts from none. A model
/// file has no defaults: its distributions are the user's files only, and `no_defaults` is
/// refused there (it would do nothing).
pub fn dist_files(
    embedded: bool,
    no_defaults: bool,
    user: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, usize), String> {
    if !embedded && no_defaults {
        return Err("only the embedded model has default distributions; with a model file the distributions are the given files only".into());
    }
    let mut files = Vec::new();
    if embedded && !no_defaults {
        files.push((EY2013_DISTS_FILE.to_string(), EY2013_DISTS.to_string()));
    }
    let defaults = files.len();
    files.extend(user);
    Ok((files, defaults))
}

/// A correlated input must vary: one that a later file fixed (or gave a distribution of zero
/// width) has no rank correlation, and its achieved correlations would be NaN. The error points
/// at the `[correlation]` section in force (the last file's) and names the file that fixed it.
/// (A batch scenario may fix a correlated input on purpose, e.g. a grid over a delay; the batch
/// keeps the copula, so that the other inputs keep their common random numbers, and its summary
/// shows the achieved correlations of that input as n/a.)
fn check_correlated_vary(
    model: &crate::model::ModelSpec,
    set: &distfile::DistSet,
) -> Result<(), Failure> {
    let Some(c) = &set.correlation else {
        return Ok(());
    };
    let Some(input) = c
        .inputs
        .iter()
        .map(|&i| &set.inputs[i])
        .find(|i| i.dist.is_constant())
    else {
        return Ok(());
    };
    // The section in force is the last file's; parsing it again gives its position.
    let located = set.files.iter().rev().find_map(|(name, src)| {
        match distfile::parse_dist_file(name, src, model) {
            Ok((_, _, Some((at, _, _)))) => Some((name, src, at.span().start)),
            _ => None,
        }
    });
    let allowed = format!(
        "is correlated but constant (a {} distribution from `{}`): a constant has no rank correlation; correlate only inputs that vary",
        input.dist.describe(),
        input.file
    );
    let path = format!("{:?}", input.param.path);
    Err(Failure::Input(match located {
        Some((name, src, at)) => {
            crate::error::InputError::value(name, src, at, "correlation.inputs", path, &allowed)
                .to_string()
        }
        None => format!("`correlation.inputs` = {path}: {allowed}"),
    }))
}

/// Which sensitivity analyses to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// One-at-a-time swings of each input between two quantiles.
    Tornado,
    /// Switching values: the input value at which the NPV reaches zero.
    Switching,
    /// Rank correlations and scenario analysis (both from the kept draws).
    Rank,
    /// Sobol and Shapley indices with bootstrap intervals.
    Sobol,
    /// Every analysis above.
    All,
}

/// A sensitivity analysis or report: the run it analyses (held in memory, one process) and the
/// analyses' own options.
#[derive(Clone, Debug)]
pub struct SensSpec {
    pub run: RunSpec,
    /// Which analyses (`sensitivity`); a report has them all and refuses any other value.
    pub method: Method,
    /// Low and high quantile levels of the tornado.
    pub levels: Vec<f64>,
    /// Base draws of the Sobol design.
    pub sobol_n: u64,
    /// Bootstrap resamples for the Sobol intervals.
    pub bootstrap: usize,
    /// Level of the Sobol intervals.
    pub confidence: f64,
}

impl SensSpec {
    /// The analyses' options.
    fn options(&self) -> crate::sensitivity::SensitivityOptions {
        crate::sensitivity::SensitivityOptions {
            levels: (self.levels[0], self.levels[1]),
            sobol_base: self.sobol_n,
            bootstrap: self.bootstrap,
            confidence: self.confidence,
            seed: self.run.seed,
        }
    }
}

/// The analyses `want` asks for on `plan` (the others left empty); rank correlations and the
/// scenario analysis come from `draws`, the run's kept draws (given when they are wanted).
///
/// `skip`: the run skips its non-finite draws (`--skip-nonfinite`); a Sobol design that meets
/// amounts out of scale then leaves the indices out with a note rather than failing.
fn analyse(
    plan: &Plan,
    o: &crate::sensitivity::SensitivityOptions,
    want: &dyn Fn(Method) -> bool,
    draws: Option<&crate::engine::Draws>,
    skip: bool,
) -> Result<crate::sensitivity::Sensitivity, Error> {
    use crate::sensitivity as s;
    let draws = draws.filter(|_| want(Method::Rank));
    let mut notes = s::notes(plan);
    let sobol = match (want(Method::Sobol), skip) {
        (false, _) => Vec::new(),
        (true, false) => s::sobol(plan, o).map_err(Error::Input)?,
        (true, true) => {
            let (r, note) = s::sobol_skipping(plan, o).map_err(Error::Input)?;
            notes.extend(note);
            r
        }
    };
    Ok(s::Sensitivity {
        central_npv: s::central(plan),
        tornado: if want(Method::Tornado) {
            s::tornado(plan, o.levels)
        } else {
            Vec::new()
        },
        switching: if want(Method::Switching) {
            s::switching_values(plan)
        } else {
            Vec::new()
        },
        rank: draws.map_or_else(Vec::new, |d| s::rank_correlations(plan, d)),
        sobol,
        scenario: draws.map_or_else(Vec::new, |d| s::scenario_analysis(plan, d)),
        notes,
    })
}

/// `npvrisk sensitivity`: the analyses a reviewer expects, as tables (returned) and files (--out).
pub fn sensitivity(a: &SensSpec) -> Result<String, Error> {
    crate::input::begin_command();
    cleaned(&[a.run.out.as_deref()], sensitivity_unguarded(a))
}

fn sensitivity_unguarded(a: &SensSpec) -> Result<String, Error> {
    use crate::sensitivity::Sensitivity;
    check_options(&a.run)?;
    check_sens_options(a)?;
    // Refused before anything runs or is written.
    if a.run.format == Format::Xlsx {
        return Err(Failure::Input("`npvrisk sensitivity --format xlsx`: the workbook combines the run summary and the sensitivity tables; use `npvrisk report`, which writes report.xlsx".into()));
    }
    // Options of a run's summary: `sensitivity` reports none, so they are refused rather than
    // ignored (its command line does not offer them; a program building a `SensSpec` could).
    let d = RunSpec::default();
    if let Some(name) = first_given([
        (a.run.percentiles != d.percentiles, "--percentiles"),
        (a.run.interval != d.interval, "--interval"),
        (!a.run.thresholds.is_empty(), "--threshold"),
    ]) {
        return Err(Failure::Input(format!(
            "`{name}` is an option of a run's summary (`npvrisk run`, `npvrisk report`): sensitivity reports no summary"
        )));
    }
    if a.run.format == Format::Csv && a.method == Method::All {
        return Err(Failure::Input("`npvrisk sensitivity --format csv` prints one table, and every analysis has its own: choose one with `--method tornado|switching|rank|sobol`, or write every table as its own CSV with `--out DIR`".into()));
    }
    lock_out(a.run.out.as_deref())?;
    let (plan, _, _) = load_plan(&a.run)?;
    let pool = thread_pool(a.run.threads)?;
    let want = |m: Method| a.method == Method::All || a.method == m;
    if plan.set.inputs.is_empty() {
        return Err(Failure::Input("no input has a distribution: there is nothing to analyse\nhint: pass a distribution file with --dist".into()));
    }
    if want(Method::Rank) {
        check_kept_draws(&plan, a.run.draws)?;
    }
    if want(Method::Sobol) {
        check_sobol_memory(&plan, a)?;
    }
    let o = a.options();
    let result = pool.install(|| -> Result<Sensitivity, Failure> {
        let d = if want(Method::Rank) {
            let opts = run_options(&a.run);
            Some(
                plan.run(&opts, &|_| {})
                    .map_err(|e| Failure::Input(e.to_string()))?,
            )
        } else {
            None
        };
        analyse(&plan, &o, &want, d.as_ref(), a.run.skip_nonfinite)
    })?;
    let json = result.json();
    if let Some(dir) = &a.run.out {
        let files = vec![
            ("sensitivity.json".to_string(), json.clone().into_bytes()),
            (
                "tornado.csv".to_string(),
                text::tornado_csv(&result).into_bytes(),
            ),
            (
                "switching.csv".to_string(),
                text::switching_csv(&result).into_bytes(),
            ),
            ("rank.csv".to_string(), text::rank_csv(&result).into_bytes()),
            (
                "scenario.csv".to_string(),
                text::scenario_csv(&result).into_bytes(),
            ),
            (
                "sobol.csv".to_string(),
                text::sobol_csv(&result).into_bytes(),
            ),
        ];
        crate::output::publish(dir, &files)?;
        crate::note!("wrote {}", dir.display());
    }
    match a.run.format {
        Format::Table => Ok(text::sensitivity_table(&result)),
        Format::Json => Ok(json),
        Format::Csv => Ok(match a.method {
            Method::Tornado => text::tornado_csv(&result),
            Method::Switching => text::switching_csv(&result),
            Method::Rank => text::rank_csv(&result),
            Method::Sobol => text::sobol_csv(&result),
            Method::All => unreachable!("refused before the analyses run"),
        }),
        Format::Xlsx => unreachable!("refused before the analyses run"),
    }
}

/// `npvrisk report`: one run, every sensitivity analysis, charts, HTML and workbook, written
/// into the output folder as a set (nothing is written unless everything is ready).
pub fn report(a: &SensSpec) -> Result<String, Error> {
    report_with(a, &Hooks::default())
}

/// [`report`] with the caller's [`Hooks`] (its observer sees the run's draws).
pub fn report_with(a: &SensSpec, hooks: &Hooks) -> Result<String, Error> {
    crate::input::begin_command();
    let dir = a
        .run
        .out
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("npvrisk-report"));
    let r = report_in(a, &dir, hooks);
    cleaned(&[Some(&dir)], r)
}

/// [`report_with`] into the folder `dir`.
fn report_in(a: &SensSpec, dir: &Path, hooks: &Hooks) -> Result<String, Error> {
    let started = Instant::now();
    check_options(&a.run)?;
    check_sens_options(a)?;
    if a.method != Method::All {
        // Refused rather than ignored: the report's sections and sheets need every analysis.
        return Err(Failure::Input(
            "a report has every analysis: its `method` must be `all` (one analysis alone: `npvrisk sensitivity --method`)".into(),
        ));
    }
    lock_out(Some(dir))?;
    let embedded = a.run.model.is_none();
    let (plan, (model_name, model_src), meta_files) = load_plan(&a.run)?;
    if plan.set.inputs.is_empty() {
        return Err(Failure::Input("no input has a distribution: there is nothing to report\nhint: pass a distribution file with --dist".into()));
    }
    check_kept_draws(&plan, a.run.draws)?;
    check_sobol_memory(&plan, a)?;
    let pool = thread_pool(a.run.threads)?;
    let opts = run_options(&a.run);
    let so = a.options();
    let (summary, sens, draws) = pool.install(|| -> Result<_, Failure> {
        let bar = Progress::new(hooks, opts.draws);
        let draws = plan
            .run(&opts, &|k| bar.inc(k))
            .map_err(|e| Failure::Input(e.to_string()))?;
        bar.finish();
        let meta = metadata_for(&plan, (&model_name, &model_src), &meta_files, &opts);
        let summary = summarise_with(
            &plan,
            &draws,
            meta,
            (&a.run.percentiles, a.run.interval, &a.run.thresholds),
            embedded,
        )?;
        // The report has every analysis (`report` takes no `--method`).
        let sens = analyse(&plan, &so, &|_| true, Some(&draws), a.run.skip_nonfinite)?;
        Ok((summary, sens, draws))
    })?;
    let reproduction = if embedded {
        let p = parse_published(EY2013_PUBLISHED_FILE, EY2013_PUBLISHED)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        let rows = crate::reproduce::compare(&p, &plan.model).map_err(Failure::Internal)?;
        let t = crate::reproduce::tally(&rows);
        Some(format!(
            "Deterministic reproduction of the 2013 report: of {} published figures, {} are reproduced within rounding and {} are documented discrepancies ({} unexplained); see results/ey2013/README.md.",
            t.total, t.within, t.explained, t.unexplained
        ))
    } else {
        None
    };
    let charts = crate::report::charts(&plan, &summary, &sens, &draws);
    let html = crate::report::html(&plan, &summary, &sens, &charts, reproduction.as_deref());
    let book = crate::xlsx::workbook(&summary, Some(&sens)).map_err(Failure::Internal)?;
    let json = export::summary_json(&summary, started.elapsed().as_secs_f64());
    let csv = text::summary_csv(&summary);
    // On stdout, the run's summary in the format asked, as `run` prints it (the workbook is
    // report.xlsx in the folder).
    let printed = match a.run.format {
        Format::Table => text::summary_table(&summary),
        Format::Json => json.clone(),
        Format::Csv => csv.clone(),
        Format::Xlsx => String::new(),
    };
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.html".into(), html.into_bytes()),
        ("report.xlsx".into(), book),
        ("summary.json".into(), json.into_bytes()),
        ("summary.csv".into(), csv.into_bytes()),
        ("sensitivity.json".into(), sens.json().into_bytes()),
        ("tornado.csv".into(), text::tornado_csv(&sens).into_bytes()),
        (
            "switching.csv".into(),
            text::switching_csv(&sens).into_bytes(),
        ),
        ("rank.csv".into(), text::rank_csv(&sens).into_bytes()),
        (
            "scenario.csv".into(),
            text::scenario_csv(&sens).into_bytes(),
        ),
        ("sobol.csv".into(), text::sobol_csv(&sens).into_bytes()),
    ];
    for (name, svg) in &charts {
        files.push((format!("charts/{name}.svg"), svg.clone().into_bytes()));
        #[cfg(feature = "png")]
        files.push((
            format!("charts/{name}.png"),
            crate::charts::svg_to_png(svg, 2.0).map_err(Failure::Internal)?,
        ));
    }
    crate::output::publish(dir, &files)?;
    crate::note!(
        "wrote {} ({} files; open report.html in a browser)",
        dir.display(),
        files.len()
    );
    Ok(printed)
}

/// The engine options a run's arguments describe.
fn run_options(a: &RunSpec) -> RunOptions {
    RunOptions {
        draws: a.draws,
        seed: a.seed,
        sampler: a.sampler,
        block_size: a.block_size,
        skip_nonfinite: a.skip_nonfinite,
    }
}

/// A worker pool with `threads` threads; without them, `RAYON_NUM_THREADS` (as a Slurm script
/// sets it), else one per core ([`env_threads`]).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, Failure> {
    check_threads(threads)?;
    let threads = match threads {
        Some(t) => t,
        None => env_threads()?,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| Failure::Internal(format!("cannot start worker threads: {e}")))
}

/// Most worker threads accepted: more only cost memory and start-up time.
const MAX_THREADS: usize = 4096;

/// The variable that sets the worker threads when `--threads` is not given.
const THREADS_VAR: &str = "RAYON_NUM_THREADS";

/// The worker threads `RAYON_NUM_THREADS` asks for: 0 for one per core when it is unset, empty
/// or 0 (rayon's reading), else a number in [1, 4096], as `--threads`; anything else is an input
/// error. Checked where rayon would read it: rayon itself starts any number of threads it names,
/// and ignores one it cannot read.
pub fn env_threads() -> Result<usize, Failure> {
    let Some(v) = std::env::var_os(THREADS_VAR) else {
        return Ok(0);
    };
    let text = v.to_string_lossy();
    // Read as rayon reads it (no spaces around the number).
    match text.as_ref() {
        "" => Ok(0),
        t => match t.parse::<usize>() {
            Ok(n) if n <= MAX_THREADS => Ok(n),
            _ => Err(Failure::Input(format!(
                "`{THREADS_VAR}` = {text:?}: must be a whole number of worker threads in [1, {MAX_THREADS}] (0 or unset: one per core)"
            ))),
        },
    }
}

/// Fewest draws the rank correlations are taken over.
const MIN_RANK_DRAWS: u64 = 2;

/// The draws of `sensitivity` and `report` are kept in memory: refuse more than fit, and fewer
/// than the rank correlations need.
fn check_kept_draws(plan: &Plan, draws: u64) -> Result<(), Failure> {
    // One draw ranks every input and outcome 1: no correlation exists (it would show as 0).
    if draws < MIN_RANK_DRAWS {
        return Err(Failure::Input(format!(
            "`--draws` = {draws}: rank correlations need at least {MIN_RANK_DRAWS} draws"
        )));
    }
    check_memory(
        &format!("`--draws` = {draws}: the draws"),
        draws as u128 * plan_bytes_per_draw(plan) as u128,
        "use fewer draws (`npvrisk run` streams any number)",
    )
}

/// The Sobol design and bootstrap of `--sobol-n` and `--bootstrap` must be large enough for
/// their intervals (checked here by their options' names) and fit in memory.
fn check_sobol_memory(plan: &Plan, a: &SensSpec) -> Result<(), Failure> {
    use crate::sobol_indices::{MIN_BASE_DRAWS, MIN_RESAMPLES};
    if a.sobol_n < MIN_BASE_DRAWS {
        return Err(Failure::Input(format!(
            "`--sobol-n` = {}: must be at least {MIN_BASE_DRAWS} (base draws of the Sobol design, which its bootstrap intervals resample)",
            a.sobol_n
        )));
    }
    if a.bootstrap < MIN_RESAMPLES {
        return Err(Failure::Input(format!(
            "`--bootstrap` = {}: must be at least {MIN_RESAMPLES} resamples",
            a.bootstrap
        )));
    }
    check_memory(
        &format!(
            "`--sobol-n` = {} with `--bootstrap` = {} ({} factors, {} outcomes): the Sobol design and its bootstrap",
            a.sobol_n,
            a.bootstrap,
            plan.factors().len(),
            plan.entities.len()
        ),
        sobol_bytes(plan, a.sobol_n, a.bootstrap),
        "use a smaller --sobol-n or --bootstrap",
    )
}

/// `--threads`: at least 1 and at most [`MAX_THREADS`].
fn check_threads(threads: Option<usize>) -> Result<(), Failure> {
    match threads {
        Some(t) if !(1..=MAX_THREADS).contains(&t) => {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            Err(Failure::Input(format!(
                "`--threads` = {t}: must be in [1, {MAX_THREADS}] (this machine has {cores} cores)"
            )))
        }
        _ => Ok(()),
    }
}

/// Options of `sensitivity` and `report` beyond those of `run`.
/// The first option of `r` that only `npvrisk run` honours (running in pieces, streaming or
/// keeping the draws, stopping at a precision): commands that run in one process and in memory
/// refuse them rather than ignore them.
fn run_only_option(r: &RunSpec) -> Option<&'static str> {
    first_given([
        (r.shard.is_some(), "--shard (or Slurm's array variables)"),
        (r.pass.is_some(), "--pass"),
        (r.checkpoint.is_some(), "--checkpoint"),
        (r.resume.is_some(), "--resume"),
        (r.stream, "--stream"),
        (r.keep_draws, "--keep-draws"),
        (r.draws_format.is_some(), "--draws-format"),
        (r.precision.is_some(), "--precision"),
        (r.mpi, "--mpi"),
        (r.no_sieve, "--no-sieve"),
    ])
}

/// What a shard's file holds: pass 1's statistics and its sieve's values, or a later pass's.
enum ShardBody {
    First(crate::stream::First, Option<crate::stream::SieveFinds>),
    Pass(Vec<ColPass>),
}

/// `cfg`, without its sieve when the run asks for none (`--no-sieve`).
fn sieving(cfg: StreamConfig, a: &RunSpec) -> StreamConfig {
    if a.no_sieve {
        StreamConfig {
            sieve_sigmas: 0.0,
            ..cfg
        }
    } else {
        cfg
    }
}

/// The first option given among `(given, name)` pairs, in order: the one a refusal names.
fn first_given<const N: usize>(opts: [(bool, &'static str); N]) -> Option<&'static str> {
    opts.into_iter()
        .find_map(|(given, name)| given.then_some(name))
}

fn check_sens_options(a: &SensSpec) -> Result<(), Failure> {
    // Refused rather than ignored (the command line does not offer them; a program building a
    // `SensSpec` could set them).
    if let Some(name) = run_only_option(&a.run) {
        return Err(Failure::Input(format!(
            "`{name}` is an option of `npvrisk run` only: sensitivity and report run in one process, in memory"
        )));
    }
    if a.levels.len() != 2
        || !a.levels.iter().all(|l| *l > 0.0 && *l < 1.0)
        || a.levels[0] >= a.levels[1]
    {
        return Err(Failure::Input(format!(
            "`--levels` = {:?}: must be two quantile levels low,high with 0 < low < high < 1, e.g. 0.1,0.9",
            a.levels
        )));
    }
    if !(a.confidence > 0.0 && a.confidence < 1.0) {
        return Err(Failure::Input(format!(
            "`--confidence` = {}: must lie in (0, 1)",
            a.confidence
        )));
    }
    Ok(())
}

/// The metadata recorded with a run's summary.
pub fn metadata_for(
    plan: &Plan,
    model: (&str, &str),
    files: &[FileHash],
    opts: &RunOptions,
) -> Metadata {
    Metadata {
        horizon_years: plan.model.horizon_years,
        npvrisk_version: env!("CARGO_PKG_VERSION").to_string(),
        model: FileHash::of(model.0, model.1),
        distributions: files.to_vec(),
        scenario: plan.model.scenarios[plan.scenario].clone(),
        seed: opts.seed,
        sampler: opts.sampler.name().to_string(),
        draws: opts.draws,
        block_size: opts.block_size,
        standard_errors: "independent-draw formulas (conservative for lhs and sobol)".into(),
        percentile_method: "exact order statistics, linear interpolation (type 7)".into(),
    }
}

/// File name of shard `k` of `n`.
pub fn shard_file_name(k: u64, n: u64) -> String {
    format!("shard-{k:05}-of-{n:05}.npvshard")
}

/// A shard's process: the run's plan, options and identity, and its worker pool.
struct ShardRun {
    plan: Plan,
    opts: RunOptions,
    header: crate::shard::ShardHeader,
    pool: rayon::ThreadPool,
    /// How the kept draws name the run.
    title: String,
    /// The caller's observer of the shard's progress.
    hooks: Hooks,
    /// Pass 1's configuration over the shard's blocks: [`StreamConfig::part`], or without its
    /// sieve (`--no-sieve`).
    part: StreamConfig,
}

impl ShardRun {
    fn new(a: &RunSpec, k: u64, n: u64, hooks: &Hooks) -> Result<ShardRun, Failure> {
        if a.precision.is_some() {
            return Err(Failure::Input("`--precision` cannot be used with `--shard` or `--mpi`: every shard must compute the same run".into()));
        }
        let (plan, (model_name, model_src), _) = load_plan(a)?;
        let opts = run_options(a);
        let blocks = Plan::block_count(&opts).map_err(|e| Failure::Input(e.to_string()))?;
        let (first, end) = crate::shard::shard_blocks(k, n, blocks);
        let header = crate::shard::ShardHeader {
            shard: k,
            shards: n,
            first_block: first,
            end_block: end,
            ..run_identity(a, &plan, (&model_name, &model_src), blocks)
        };
        Ok(ShardRun {
            title: export::draws_title_of(
                &FileHash::of(&model_name, &model_src).file,
                opts.seed,
                opts.draws,
            ),
            plan,
            opts,
            header,
            pool: thread_pool(a.threads)?,
            hooks: hooks.clone(),
            part: sieving(StreamConfig::part(), a),
        })
    }

    fn source<'a>(&'a self, progress: &'a (dyn Fn(u64) + Sync)) -> Regenerate<'a> {
        Regenerate {
            plan: &self.plan,
            opts: &self.opts,
            chunk_blocks: StreamConfig::default().chunk_blocks,
            progress,
        }
    }

    /// Pass 1 over the shard's blocks: the statistics a merge needs (header `content` = `stats`),
    /// saving its progress to `ck` as it goes when given; with `keep` (a folder and a format),
    /// the shard's kept draws are written into that folder, next to its shard file.
    fn first_pass(
        &self,
        setup: Setup,
        ck: Option<&StreamCheckpoint>,
        keep: Option<(&Path, DrawsFormat)>,
    ) -> Result<
        (
            crate::shard::ShardHeader,
            First,
            Option<crate::stream::SieveFinds>,
            Setup,
        ),
        Failure,
    > {
        let (b0, b1) = (self.header.first_block, self.header.end_block);
        // A checkpointed pass reports to the checkpoint's progress (which counts the blocks a
        // resumed pass had saved too).
        let bar = ck.is_none().then(|| Progress::new(&self.hooks, 0));
        let progress = |x| match (&bar, ck) {
            (Some(b), _) => b.inc(x),
            (None, Some(ck)) => ck.bar.inc(x),
            (None, None) => {}
        };
        let src = self.source(&progress);
        let name = keep.map(|(_, f)| {
            shard_draws_name(&shard_file_name(self.header.shard, self.header.shards), f)
        });
        let mut kept = match (keep, &name, ck) {
            (Some((dir, f)), Some(name), None) => {
                Some(KeptFile::create(&self.plan, dir, name, f, &self.title)?)
            }
            _ => None,
        };
        // Pass 1 keeps a sieve, so that the merge usually finds the ranks the cells leave
        // without a second pass; one keeping its draws has none. One resumed past its first
        // block goes on with the sieve saved with its state.
        let (f, finds, setup) = self.pool.install(|| match (ck, &mut kept) {
            (Some(ck), _) => {
                let mut p = FirstPass::holding(&src, setup, b0, &self.part);
                let f = ck.first_pass(&self.plan, &mut p)?;
                let finds = p.take_sieve().map(crate::stream::Sieve::finds);
                Ok((f, finds, p.finish()?))
            }
            (None, Some(k)) => setup
                .first_pass(
                    &self.plan,
                    &crate::stream::Keeping::new(
                        &src,
                        k,
                        self.header.block_size.min(self.header.draws),
                    ),
                    b0,
                    b1,
                )
                .map(|f| (f, None, setup))
                .map_err(|e| Failure::Input(e.to_string())),
            (None, None) => setup
                .first_pass_sieved(&self.plan, &src, (b0, b1), &self.part)
                .map(|(f, finds)| (f, finds, setup))
                .map_err(|e| Failure::Input(e.to_string())),
        })?;
        if let Some(b) = &bar {
            b.finish();
        }
        if let (Some((dir, _)), Some(name)) = (keep, &name) {
            let staged = match (kept, ck.and_then(|ck| ck.keep.as_ref())) {
                (Some(k), _) => k.finish()?,
                (None, Some(parts)) => {
                    let w = crate::output::Staging::create(dir, name)?;
                    let parts = parts.lock().unwrap_or_else(|e| e.into_inner());
                    let (rows, w) = parts.join_into(b0, b1, w)?;
                    check_joined(rows, f.kept, ck.map_or(dir, |ck| ck.dir))?;
                    w.finish()?
                }
                (None, None) => unreachable!("draws kept in a file or in parts"),
            };
            staged.commit_as(name)?;
            if let Some(parts) = ck.and_then(|ck| ck.keep.as_ref()) {
                parts.lock().unwrap_or_else(|e| e.into_inner()).remove_all();
            }
        }
        let h = crate::shard::ShardHeader {
            content: "stats".into(),
            rows: f.kept,
            ..self.header.clone()
        };
        Ok((h, f, finds, setup))
    }

    /// A later pass over the shard's blocks with a plan's grids, saving its progress as it goes
    /// when given a checkpoint (and the pass's number).
    fn later_pass(
        &self,
        grids: &[Grid],
        ck: Option<(&StreamCheckpoint, u32)>,
    ) -> Result<Vec<ColPass>, Failure> {
        let (b0, b1) = (self.header.first_block, self.header.end_block);
        let src = self.source(&|_| {});
        self.pool.install(|| match ck {
            Some((ck, pass)) => ck.later_pass(&self.plan, &src, grids, pass),
            None => crate::stream::pass(&self.plan, &src, grids, b0, b1)
                .map_err(|e| Failure::Input(e.to_string())),
        })
    }
}

/// The pilot and pass-1 grids of the run a header describes (the same in every process); `full`
/// for the process that finishes the summary (its pilot also measures the correlations).
fn setup_of(r: &ShardRun, h: &crate::shard::ShardHeader, full: bool) -> Result<Setup, Failure> {
    let pilot = r
        .pool
        .install(|| Setup::run_pilot(&r.plan, &r.opts, full))
        .map_err(|e| Failure::Input(e.to_string()))?;
    Ok(r.pool.install(|| {
        Setup::new(
            &r.plan,
            r.opts.draws,
            pilot,
            full,
            &summary_options(&h.percentiles, h.interval, &h.thresholds),
            &review_points(h.embedded_model),
            &StreamConfig::default(),
        )
    }))
}

fn run_shard(a: &RunSpec, k: u64, n: u64, hooks: &Hooks) -> Result<String, Error> {
    use crate::shard::{self, ShardHeader};
    let dir = a
        .out
        .as_ref()
        .ok_or_else(|| Failure::Input("`--shard` writes a shard file: give `--out DIR`".into()))?;
    let started = Instant::now();
    let r = ShardRun::new(a, k, n, hooks)?;
    // With --checkpoint/--resume the shard saves its pass's state as it goes, like a streamed run.
    let identity = ShardHeader {
        content: STREAMED.into(),
        ..r.header.clone()
    };
    let ck_dir = a.checkpoint.as_ref().or(a.resume.as_ref());
    let stop = hooks.stop.clone();
    let ck = match ck_dir {
        Some(d) => {
            open_checkpoint(d, &identity, a.resume.is_some())?;
            Some(StreamCheckpoint {
                dir: d,
                identity: &identity,
                stop: &stop,
                bar: Progress::new(hooks, 0),
                keep: (a.keep_draws && a.pass.is_none()).then(|| {
                    std::sync::Mutex::new(Parts::new(
                        d,
                        &r.plan,
                        a.draws_format.unwrap_or_default(),
                        &r.title,
                        r.header.block_size.min(r.header.draws),
                    ))
                }),
            })
        }
        None => None,
    };
    let (path, h, body, what) = if let Some(plan_file) = &a.pass {
        let (ph, grids) = read_pass_plan(plan_file, &r.header)?;
        if grids.is_empty() {
            crate::note!(
                "`{}` plans no further pass: nothing to do",
                plan_file.display()
            );
            return Ok(String::new());
        }
        let res = r.later_pass(&grids, ck.as_ref().map(|ck| (ck, ph.pass)))?;
        let h = ShardHeader {
            content: "pass".into(),
            pass: ph.pass,
            grids_sha256: ph.grids_sha256.clone(),
            ..r.header.clone()
        };
        (
            dir.join(format!("pass{}-{}", ph.pass, shard_file_name(k, n))),
            h,
            ShardBody::Pass(res),
            format!("pass {}", ph.pass),
        )
    } else {
        let setup = setup_of(&r, &r.header, false)?;
        let keep = a
            .keep_draws
            .then(|| (dir.as_path(), a.draws_format.unwrap_or_default()));
        // A draws file an earlier pass 1 of this shard left (another format, or kept then and
        // not now) would be joined by `merge --keep-draws` as this run's: it goes.
        for f in [DrawsFormat::Csv, DrawsFormat::Parquet] {
            if keep.map(|(_, k)| k) != Some(f) {
                let _ = std::fs::remove_file(dir.join(shard_draws_name(&shard_file_name(k, n), f)));
            }
        }
        let (h, f, finds, _) = r.first_pass(setup, ck.as_ref(), keep)?;
        (
            dir.join(shard_file_name(k, n)),
            h,
            ShardBody::First(f, finds),
            "pass 1".to_string(),
        )
    };
    // Encoded as it is written: a shard's statistics and sieve values are tens of megabytes.
    shard::write_body_with(&path, &h, &|out| match &body {
        ShardBody::Pass(res) => crate::stream::encode_passes_to(res, out),
        ShardBody::First(f, finds) => f.encode_part_to(finds.as_ref(), out),
    })?;
    crate::note!(
        "shard {k} of {n}, {what}: blocks {}..{} in {:.2} s, wrote {}",
        r.header.first_block,
        r.header.end_block,
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(String::new())
}

/// Read a pass plan written by `merge --next-pass` and check it belongs to this run.
fn read_pass_plan(
    file: &Path,
    run: &crate::shard::ShardHeader,
) -> Result<(crate::shard::ShardHeader, Vec<Grid>), Failure> {
    use crate::shard;
    let name = file.display().to_string();
    let bytes = crate::input::read_bytes(file, crate::input::MAX_SHARD_BYTES)?;
    let (h, body) = shard::decode_body(&name, &bytes)?;
    if h.content != "plan" {
        return Err(Failure::Input(format!(
            "`{name}` holds {} of a run, not a pass plan (made by `npvrisk merge --next-pass`)",
            h.content
        )));
    }
    if let Some(what) = shard::identity_mismatch(run, &h) {
        return Err(Failure::Input(format!(
            "`{name}` is the plan of a different run: {what}"
        )));
    }
    let grids = crate::stream::decode_grids(body)
        .ok_or_else(|| Failure::Input(format!("`{name}` is corrupted: unreadable grids")))?;
    Ok((h, grids))
}

/// SHA-256 (hex) of a pass plan's grids.
fn grids_hash(grids: &[Grid]) -> String {
    crate::summary::sha256_hex(&crate::stream::encode_grids(grids))
}

/// `npvrisk merge`: check and join shard files (pass-1 statistics, and the results of later
/// passes when given), then summarise exactly as a single run would. A pass whose results are not
/// among the files is computed here, or, with `next_pass`, only planned for the shards to run.
pub fn merge(
    files: &[std::path::PathBuf],
    out_dir: Option<&Path>,
    format: Format,
    next_pass: Option<&Path>,
    keep: Option<DrawsFormat>,
) -> Result<String, Error> {
    crate::input::begin_command();
    let r = merge_unguarded(files, out_dir, format, next_pass, keep);
    cleaned(&[out_dir], r)
}

fn merge_unguarded(
    files: &[std::path::PathBuf],
    out_dir: Option<&Path>,
    format: Format,
    next_pass: Option<&Path>,
    keep: Option<DrawsFormat>,
) -> Result<String, Error> {
    use crate::shard;
    let started = Instant::now();
    export::check(format, out_dir)?;
    if next_pass.is_some() && (out_dir.is_some() || format != Format::Table) {
        return Err(Error::Input(
            "`--out` or `--format` with `--next-pass`: planning a pass writes the plan only; the final merge (without `--next-pass`) writes the summary".into(),
        ));
    }
    if let Some(f) = keep {
        if next_pass.is_some() {
            return Err(Error::Input(
                "`--keep-draws` with `--next-pass`: the draws are joined by the final merge (with `--out`), not when planning a pass".into(),
            ));
        }
        if out_dir.is_none() {
            return Err(Error::Input(
                "`--keep-draws` needs `--out DIR` to write the joined draws to".into(),
            ));
        }
        if f == DrawsFormat::Sipmath {
            return Err(Error::Input(
                "`--draws-format sipmath` cannot be joined from shards (a SIPmath library holds each column whole): use parquet or csv".into(),
            ));
        }
    }
    if let Some(plan) = next_pass {
        check_plan_destination(plan, files)?;
    }
    lock_out(out_dir)?;
    let mut stats = Vec::new();
    let mut pass_files = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let bytes = crate::input::read_bytes(f, crate::input::MAX_SHARD_BYTES)?;
        crate::input::note_input(f);
        let (h, _body) = shard::decode_body(&name, &bytes)?;
        match h.content.as_str() {
            // Bodies are read again one at a time when merged, so that a thousand shards do not
            // sit in memory together.
            "stats" => stats.push((name, h, f.clone())),
            "pass" => pass_files.push((name, h, f.clone())),
            other => {
                return Err(Failure::Input(format!(
                    "`{name}` holds {other} of a run, not a shard: give the shard files (`shard-*.npvshard`, `pass*-shard-*.npvshard`)"
                )));
            }
        }
    }
    let blocks = shard::check_parts(
        &stats
            .iter()
            .map(|(n, h, _)| (n.clone(), h))
            .collect::<Vec<_>>(),
    )?;
    let h0 = stats[0].1.clone();
    for (name, h, _) in &pass_files {
        if let Some(what) = shard::identity_mismatch(h, &h0) {
            return Err(Failure::Input(format!(
                "`{name}` comes from a different run than `{}`: {what}",
                stats[0].0
            )));
        }
    }
    // Each shard's kept draws, next to its shard file, in block order.
    let mut draws_files = Vec::new();
    if let Some(f) = keep {
        let mut order: Vec<&(String, shard::ShardHeader, PathBuf)> = stats.iter().collect();
        order.sort_by_key(|(_, h, _)| h.first_block);
        for (name, h, path) in order {
            let file = path.file_name().map(|n| n.to_string_lossy().to_string());
            let p = path.with_file_name(shard_draws_name(&file.unwrap_or_default(), f));
            if !p.is_file() {
                return Err(Error::Input(format!(
                    "`{name}` has no kept draws next to it (`{}`): run the shards with `--keep-draws --draws-format {}`, or merge without `--keep-draws`",
                    p.display(),
                    f.name()
                )));
            }
            draws_files.push((p, h.rows));
        }
    }
    let ctx = run_of_header(&h0)?;
    let r = ShardRun {
        title: export::draws_title(&ctx.2),
        plan: ctx.0,
        opts: ctx.1,
        header: h0.clone(),
        pool: thread_pool(None)?,
        hooks: Hooks::default(),
        // The merge runs later passes only, which keep no sieve.
        part: StreamConfig::part(),
    };
    let setup = setup_of(&r, &h0, true)?;
    let mut first = setup.empty_first(&r.plan);
    let body_of =
        |name: &str, path: &Path| -> Result<Vec<u8>, Error> { Ok(checked_body_of(name, path)?.0) };
    // Where each shard's sieve values start in its body, with the body's checksum (none when
    // the body ends with its statistics).
    let mut finds_at = Vec::new();
    for (name, h, path) in &stats {
        let (body, sum) = checked_body_of(name, path)?;
        let part = crate::stream::Part::of(&r.opts, (h.first_block, h.end_block));
        let at = first.add_encoded_part(&body, part).ok_or_else(|| {
            Failure::Input(format!(
                "`{name}` holds statistics that do not fit the run's pass-1 grids, or sieve values that do not fit its statistics (unreadable, or made by another npvrisk): make every shard with the same npvrisk"
            ))
        })?;
        finds_at.push((at < body.len()).then_some((at, sum)));
    }
    let sopts = summary_options(&h0.percentiles, h0.interval, &h0.thresholds);
    let extra = review_points(h0.embedded_model);
    let cfg = StreamConfig::default();
    let mut passes =
        Passes::new(&r.plan, &setup, first, ctx.2, &sopts, &extra, &cfg).map_err(Error::from)?;
    // The ranks the cells leave, from the values the shards' sieves kept of the cells holding
    // them: the bodies are read again one at a time, each giving only those cells' values.
    if finds_at.iter().any(Option::is_some) {
        let mut wanted = passes.sieve_wanted();
        if wanted.iter().any(|w| !w.is_empty()) {
            for ((name, _, path), at) in stats.iter().zip(&finds_at) {
                let Some((at, sum)) = at else { continue };
                let (body, now) = checked_body_of(name, path)?;
                let changed = || {
                    Failure::Input(format!(
                        "`{name}` changed while it was being merged: merge the shards again once none is being written"
                    ))
                };
                if now != *sum {
                    return Err(changed());
                }
                crate::stream::add_encoded_finds(&mut wanted, body.get(*at..).unwrap_or(&[]))
                    .ok_or_else(changed)?;
            }
            passes.sieved_parts(wanted).map_err(|e| {
                Failure::Input(format!(
                    "the shards' sieve values do not fit their merged statistics ({e}): make every shard again with the same npvrisk"
                ))
            })?;
        }
    }
    let mut pass_no = 1u32;
    let mut here = Vec::new();
    while let Some(grids) = passes.next() {
        pass_no += 1;
        let hash = grids_hash(&grids);
        let mine: Vec<&(String, shard::ShardHeader, std::path::PathBuf)> = pass_files
            .iter()
            .filter(|(_, h, _)| h.grids_sha256 == hash)
            .collect();
        let results = if !mine.is_empty() {
            shard::check_parts(
                &mine
                    .iter()
                    .map(|(n, h, _)| (n.clone(), h))
                    .collect::<Vec<_>>(),
            )
            .map_err(|e| Error::Input(format!("pass {pass_no}: {e}")))?;
            let mut acc: Vec<ColPass> = grids.iter().map(ColPass::new).collect();
            for (n, _, path) in mine {
                let body = body_of(n, path)?;
                crate::stream::add_encoded_passes(&mut acc, &body).ok_or_else(|| {
                    Error::Input(format!(
                        "pass {pass_no}: `{n}` does not match the pass's plan (unreadable, or made by another npvrisk)"
                    ))
                })?;
            }
            acc
        } else if let Some(path) = next_pass {
            // Plan this pass for the shards to run, and stop.
            let h = shard::ShardHeader {
                content: "plan".into(),
                pass: pass_no,
                grids_sha256: hash,
                shard: 0,
                first_block: 0,
                end_block: blocks,
                rows: 0,
                ..h0.clone()
            };
            let bytes = shard::encode_body(&h, &crate::stream::encode_grids(&grids));
            write_atomic(path, &bytes)
                .map_err(|e| Error::Input(format!("cannot write the plan: {e}")))?;
            crate::note!(
                "wrote the plan of pass {pass_no} to {}: run `npvrisk run <same options> --shard K/{} --pass {}` for every K, then merge all the files",
                path.display(),
                h0.shards,
                path.display()
            );
            return Ok(String::new());
        } else {
            here.push(pass_no);
            r.pool
                .install(|| crate::stream::pass(&r.plan, &r.source(&|_| {}), &grids, 0, blocks))
                .map_err(|e| Error::from(StreamError::from(e)))?
        };
        passes.apply(&grids, results).map_err(unfit)?;
    }
    let (summary, n_passes) = passes.finish().map_err(unfit)?;
    if let Some(path) = next_pass {
        // Nothing left to compute: an empty plan tells the shards there is no further pass.
        let h = shard::ShardHeader {
            content: "plan".into(),
            shard: 0,
            first_block: 0,
            end_block: blocks,
            rows: 0,
            ..h0.clone()
        };
        write_atomic(
            path,
            &shard::encode_body(&h, &crate::stream::encode_grids(&[])),
        )?;
        crate::note!(
            "no further pass is needed: every order statistic was found in pass 1 ({} says so)",
            path.display()
        );
    }
    if !here.is_empty() {
        crate::note!(
            "note: pass(es) {here:?} were computed here over all {} draws; on a cluster, `merge --next-pass PLAN` and `run --shard K/N --pass PLAN` spread them over the shards",
            h0.draws
        );
    }
    let kept = match (keep, out_dir) {
        (Some(f), Some(dir)) => {
            crate::output::lock_folder(dir)?;
            let w = crate::output::Staging::create(dir, f.file_name())?;
            let paths: Vec<PathBuf> = draws_files.iter().map(|(p, _)| p.clone()).collect();
            let (rows, w) = crate::draws_out::concat(f, &r.plan, &r.title, &paths, w)
                .map_err(|e| Error::Input(format!("cannot join the shards' kept draws: {e}")))?;
            let want: u64 = draws_files.iter().map(|(_, n)| n).sum();
            if rows != want {
                return Err(Error::Input(format!(
                    "the shards' kept draws hold {rows} rows, their shard files count {want} kept draws: a draws file is of another run or cut short; run its shard again"
                )));
            }
            Some(Kept::Staged(w.finish()?))
        }
        _ => None,
    };
    finish_merged(
        &summary,
        out_dir,
        format,
        started,
        (stats.len(), n_passes),
        kept,
    )
}

/// A shard file's body and its checksum (the file's last 32 bytes, which its body was checked
/// against), so that a file read again can be known to be the same.
fn checked_body_of(name: &str, path: &Path) -> Result<(Vec<u8>, Vec<u8>), Error> {
    let bytes = crate::input::read_bytes(path, crate::input::MAX_SHARD_BYTES)?;
    let body = crate::shard::decode_body(name, &bytes)?.1.to_vec();
    Ok((body, bytes[bytes.len() - 32..].to_vec()))
}

/// `merge --next-pass PLAN` may write PLAN only where it overwrites no input and nothing but an
/// older plan: not one of the files being merged (`merge shards/*.npvshard --next-pass
/// shards/x.npvshard` would destroy a shard), and not any other existing file.
fn check_plan_destination(plan: &Path, inputs: &[std::path::PathBuf]) -> Result<(), Failure> {
    use crate::shard;
    let same = |a: &Path, b: &Path| match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    };
    if let Some(f) = inputs.iter().find(|f| same(plan, f)) {
        return Err(Failure::Input(format!(
            "`--next-pass` = {}: that is one of the files being merged (`{}`); write the plan to a new file, e.g. pass2.npvplan",
            plan.display(),
            f.display()
        )));
    }
    let Ok(meta) = std::fs::symlink_metadata(plan) else {
        return Ok(());
    };
    let name = plan.display().to_string();
    let is_plan = meta.is_file()
        && crate::input::read_bytes(plan, crate::input::MAX_SHARD_BYTES)
            .ok()
            .and_then(|b| shard::decode_body(&name, &b).ok().map(|(h, _)| h.content))
            .is_some_and(|c| c == "plan");
    if is_plan {
        return Ok(());
    }
    Err(Failure::Input(format!(
        "`--next-pass` = {name}: it exists and is not a pass plan (made by `merge --next-pass`); refusing to overwrite it: write the plan to a new file, e.g. pass2.npvplan"
    )))
}

/// The plan, options and metadata of the run a shard header describes.
fn run_of_header(h: &crate::shard::ShardHeader) -> Result<(Plan, RunOptions, Metadata), Failure> {
    if h.npvrisk_version != env!("CARGO_PKG_VERSION") {
        return Err(Failure::Input(format!(
            "the shards were made by npvrisk {}; this is npvrisk {}: merge with the same version",
            h.npvrisk_version,
            env!("CARGO_PKG_VERSION")
        )));
    }
    let model = crate::format::parse_model(&h.model.file, &h.model.contents)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let scenario = model.scenario_index(&h.scenario).ok_or_else(|| {
        Failure::Input(format!(
            "the shards' scenario `{}` is not in their model",
            h.scenario
        ))
    })?;
    let dist_files: Vec<(String, String)> = h
        .distributions
        .iter()
        .map(|d| (d.file.clone(), d.contents.clone()))
        .collect();
    let set = distfile::load(&model, &dist_files).map_err(|e| Failure::Input(e.to_string()))?;
    let plan = Plan::new(model, scenario, set)?;
    let sampler = match h.sampler.as_str() {
        "mc" => SamplerKind::MonteCarlo,
        "lhs" => SamplerKind::LatinHypercube,
        "sobol" => SamplerKind::Sobol,
        other => {
            return Err(Failure::Input(format!(
                "the shards name an unknown sampler `{other}`"
            )));
        }
    };
    let opts = RunOptions {
        draws: h.draws,
        seed: h.seed,
        sampler,
        block_size: h.block_size,
        skip_nonfinite: h.skip_nonfinite,
    };
    let hashes: Vec<FileHash> = h
        .distributions
        .iter()
        .map(|d| FileHash {
            file: d.file.clone(),
            sha256: d.sha256.clone(),
        })
        .collect();
    let meta = metadata_for(&plan, (&h.model.file, &h.model.contents), &hashes, &opts);
    Ok((plan, opts, meta))
}

/// Write and print a merged summary.
fn finish_merged(
    summary: &summary::Summary,
    out_dir: Option<&Path>,
    format: Format,
    started: Instant,
    (parts, passes): (usize, u32),
    kept: Option<Kept<'_>>,
) -> Result<String, Error> {
    let secs = started.elapsed().as_secs_f64();
    let printed = export::summary(summary, secs, format, out_dir, kept)?;
    if let Some(dir) = out_dir {
        crate::note!(
            "merged {} shards ({} draws, {} pass{} over them) into {}",
            parts,
            summary.metadata.draws,
            passes,
            if passes == 1 { "" } else { "es" },
            dir.display()
        );
    }
    Ok(printed)
}

/// Blocks per checkpoint chunk: a chunk of the default block size is 65,536 draws, a fraction of
/// a second of work, so Ctrl-C stops promptly and a lost chunk costs little.
const CHUNK_BLOCKS: u64 = 16;

/// The identity of a run as recorded in a checkpoint folder's `run.npvshard` (a shard header
/// with no rows): a resumed run must match it.
fn run_identity(
    a: &RunSpec,
    plan: &Plan,
    model: (&str, &str),
    blocks: u64,
) -> crate::shard::ShardHeader {
    use crate::shard::{self, ShardHeader, SourceFile};
    let (outcome_columns, entities, input_columns) = shard::columns(plan);
    let source = |name: &str, src: &str| SourceFile {
        file: name.to_string(),
        sha256: FileHash::of(name, src).sha256,
        contents: src.to_string(),
    };
    ShardHeader {
        format_version: shard::FORMAT_VERSION,
        npvrisk_version: env!("CARGO_PKG_VERSION").to_string(),
        embedded_model: a.model.is_none(),
        model: source(model.0, model.1),
        distributions: plan.set.files.iter().map(|(n, s)| source(n, s)).collect(),
        scenario: plan.model.scenarios[plan.scenario].clone(),
        seed: a.seed,
        sampler: a.sampler.name().to_string(),
        draws: a.draws,
        block_size: a.block_size,
        skip_nonfinite: a.skip_nonfinite,
        percentiles: a.percentiles.clone(),
        interval: a.interval,
        thresholds: a.thresholds.clone(),
        shard: 0,
        shards: blocks.div_ceil(CHUNK_BLOCKS),
        first_block: 0,
        end_block: blocks,
        rows: 0,
        outcome_columns,
        entities,
        input_columns,
        content: String::new(),
        pass: 0,
        grids_sha256: String::new(),
    }
}

/// Start a checkpoint folder for the run `identity` (refusing a folder that already holds one),
/// or, when resuming, check that the folder's `run.npvshard` is this run's.
fn open_checkpoint(
    dir: &Path,
    identity: &crate::shard::ShardHeader,
    resuming: bool,
) -> Result<(), Failure> {
    use crate::shard;
    // One run at a time in a checkpoint folder: a second stops here, naming the first.
    if resuming {
        crate::output::lock_existing(dir)?;
    } else {
        crate::output::lock_folder(dir)?;
    }
    crate::output::remove_dead_temporaries(dir);
    let id_file = dir.join("run.npvshard");
    if resuming {
        let bytes =
            crate::input::read_bytes(&id_file, crate::input::MAX_SHARD_BYTES).map_err(|e| {
                Failure::Input(format!(
                    "`{}` is not a checkpoint folder of npvrisk: {e}",
                    dir.display()
                ))
            })?;
        let (h, _) = shard::decode_body(&id_file.display().to_string(), &bytes)?;
        if let Some(what) = shard::identity_mismatch(identity, &h) {
            return Err(Failure::Input(format!(
                "`{}` holds a different run; resume with the options it was started with ({what})",
                dir.display()
            )));
        }
        if (h.shard, h.first_block, h.end_block)
            != (identity.shard, identity.first_block, identity.end_block)
        {
            return Err(Failure::Input(format!(
                "`{}` holds shard {} of {} (blocks {}..{}), this is shard {} (blocks {}..{}): resume each shard from its own folder",
                dir.display(),
                h.shard,
                h.shards,
                h.first_block,
                h.end_block,
                identity.shard,
                identity.first_block,
                identity.end_block
            )));
        }
        if h.content != identity.content {
            let how = |c: &str| {
                if c == STREAMED {
                    "streamed (not kept, or --stream, or more draws than fit in memory)"
                } else {
                    "kept in memory (--keep-draws)"
                }
            };
            return Err(Failure::Input(format!(
                "`{}` holds a run whose draws were {}, this one's are {}: resume with the options it was started with",
                dir.display(),
                how(&h.content),
                how(&identity.content)
            )));
        }
    } else {
        if id_file.exists() {
            return Err(Failure::Input(format!(
                "`{}` already holds a checkpointed run; use `--resume {}` to continue it, or another folder",
                dir.display(),
                dir.display()
            )));
        }
        write_atomic(&id_file, &shard::encode_body(identity, &[]))?;
    }
    Ok(())
}

/// The failure of an interrupted checkpointed run: what is saved, and where.
fn interrupted(saved: &str, dir: &Path) -> Error {
    Error::Interrupted {
        saved: saved.to_string(),
        dir: dir.to_path_buf(),
    }
}

/// Whether a run of `draws` draws of `per_draw` bytes each streams its summary: when asked
/// (`--stream`), or, with a note, when the draws would not fit in memory; an error when the draws
/// are also to be kept as SIPmath (written from draws in memory only).
fn streams(a: &RunSpec, draws: u64, per_draw: u64) -> Result<bool, Failure> {
    let need = draws.saturating_mul(per_draw);
    let gb = need as f64 / 1e9;
    if !a.stream && need <= IN_MEMORY_LIMIT {
        return Ok(false);
    }
    if a.keep_draws && a.draws_format == Some(DrawsFormat::Sipmath) {
        return Err(Failure::Input(format!(
            "{SIPMATH_IN_MEMORY}; {draws} draws need {gb:.1} GB in memory"
        )));
    }
    if !a.stream {
        crate::note!(
            "note: {draws} draws need {gb:.1} GB in memory; streaming them instead (--stream)"
        );
    }
    Ok(true)
}

/// The kept draws joined from a checkpoint's parts must be the run's kept draws.
fn check_joined(rows: u64, kept: u64, dir: &Path) -> Result<(), Error> {
    if rows == kept {
        return Ok(());
    }
    Err(Error::Input(format!(
        "the kept draws in `{}` hold {rows} rows, the run kept {kept} draws: a part was changed by hand; start the run again",
        dir.display()
    )))
}

/// Why SIPmath draws cannot be kept by a streamed run.
const SIPMATH_IN_MEMORY: &str = "`--draws-format sipmath` holds each column whole, so it is written from draws in memory, and a streamed run or a shard holds none there: keep the draws as parquet or csv (written as the run goes), or run fewer draws in memory in one process";

/// `content` of the identity of a streamed checkpointed run.
const STREAMED: &str = "streamed run";

/// `content` of the saved state of a checkpointed run's pass-1 sieve.
const SIEVE: &str = "sieve";

/// The start of the name of a saved pass-1 sieve's file, before the blocks' end.
const SIEVE_FILE: &str = "stream-pass1-sieve-";

fn run_checkpointed(a: &RunSpec, hooks: &Hooks) -> Result<String, Error> {
    use crate::shard;
    use std::sync::atomic::Ordering;
    let resuming = a.resume.is_some();
    let dir = a
        .resume
        .as_ref()
        .or(a.checkpoint.as_ref())
        .expect("one of them is set")
        .clone();
    if a.precision.is_some() {
        return Err(Failure::Input(
            "`--precision` cannot be used with `--checkpoint` or `--resume`".into(),
        ));
    }
    let started = Instant::now();
    let embedded = a.model.is_none();
    let (plan, (model_name, model_src), meta_files) = load_plan(a)?;
    let opts = run_options(a);
    let blocks = Plan::block_count(&opts).map_err(|e| Failure::Input(e.to_string()))?;
    // As a plain run: one that does not keep its draws never holds them.
    let streamed = !a.keep_draws || streams(a, a.draws, plan_bytes_per_draw(&plan) as u64)?;
    let mut identity = run_identity(a, &plan, (&model_name, &model_src), blocks);
    if streamed {
        identity.content = STREAMED.into();
    }
    open_checkpoint(&dir, &identity, resuming)?;
    let stop = hooks.stop.clone();
    let pool = thread_pool(a.threads)?;
    let meta = metadata_for(&plan, (&model_name, &model_src), &meta_files, &opts);
    if streamed {
        let format = a.draws_format.unwrap_or_default();
        let title = export::draws_title(&meta);
        let ck = StreamCheckpoint {
            dir: &dir,
            identity: &identity,
            stop: &stop,
            bar: Progress::new(hooks, opts.draws),
            keep: a.keep_draws.then(|| {
                std::sync::Mutex::new(Parts::new(
                    &dir,
                    &plan,
                    format,
                    &title,
                    opts.block_size.min(opts.draws),
                ))
            }),
        };
        let (summary, passes) = pool.install(|| ck.run(&plan, &opts, meta, a, embedded))?;
        let kept = match (&ck.keep, &a.out) {
            (Some(parts), Some(out)) => {
                crate::output::lock_folder(out)?;
                let w = crate::output::Staging::create(out, format.file_name())?;
                let parts = parts.lock().unwrap_or_else(|e| e.into_inner());
                let (rows, w) = parts.join_into(0, blocks, w)?;
                check_joined(rows, summary.kept_draws as u64, &dir)?;
                Some(Kept::Staged(w.finish()?))
            }
            _ => None,
        };
        let secs = started.elapsed().as_secs_f64();
        crate::note!(
            "{} draws streamed in {:.2} s ({}; checkpoints in `{}`)",
            a.draws,
            secs,
            crate::text::count(passes as usize, "pass", "passes"),
            dir.display()
        );
        let printed = finish_checkpointed(a, &summary, kept, secs)?;
        if let Some(parts) = &ck.keep {
            parts.lock().unwrap_or_else(|e| e.into_inner()).remove_all();
        }
        return Ok(printed);
    }
    let chunks = blocks.div_ceil(CHUNK_BLOCKS);
    let chunk_file = |c: u64| dir.join(format!("chunk-{c:06}-of-{chunks:06}.npvshard"));
    let bar = Progress::new(hooks, a.draws);
    let mut parts = Vec::new();
    for c in 0..chunks {
        let (first, end) = (c * CHUNK_BLOCKS, ((c + 1) * CHUNK_BLOCKS).min(blocks));
        let path = chunk_file(c);
        if let Ok(bytes) = crate::input::read_bytes(&path, crate::input::MAX_SHARD_BYTES) {
            // A chunk left by an earlier attempt: keep it if it is intact and of this run.
            if let Ok((h, d)) = shard::decode(&path.display().to_string(), &bytes)
                && chunk_matches(&h, &identity, first, end)
            {
                bar.inc(d.n as u64 + d.skipped.len() as u64);
                parts.push((path.display().to_string(), h, d));
                continue;
            }
        }
        if stop.load(Ordering::SeqCst) {
            bar.finish();
            return Err(interrupted(&format!("{c} of {chunks} chunks"), &dir));
        }
        let d = pool
            .install(|| plan.run_blocks(&opts, first, end, &|k| bar.inc(k)))
            .map_err(|e| Failure::Input(e.to_string()))?;
        let h = crate::shard::ShardHeader {
            shard: c,
            first_block: first,
            end_block: end,
            rows: d.n as u64,
            ..identity.clone()
        };
        write_atomic(&path, &shard::encode(&h, &d))?;
        parts.push((path.display().to_string(), h, d));
    }
    bar.finish();
    let (_, draws) = shard::merge(parts)?;
    let summary = summarise_with(
        &plan,
        &draws,
        meta,
        (&a.percentiles, a.interval, &a.thresholds),
        embedded,
    )?;
    let secs = started.elapsed().as_secs_f64();
    crate::note!(
        "{} draws ({} chunks in `{}`) in {:.2} s",
        draws.n,
        chunks,
        dir.display(),
        secs
    );
    let kept = a
        .keep_draws
        .then(|| Kept::Memory(&plan, &draws, a.draws_format.unwrap_or_default()));
    finish_checkpointed(a, &summary, kept, secs)
}

/// Write the summary of a finished checkpointed run; what to print.
fn finish_checkpointed(
    a: &RunSpec,
    summary: &summary::Summary,
    keep: Option<Kept<'_>>,
    secs: f64,
) -> Result<String, Error> {
    export::summary(summary, secs, a.format, a.out.as_deref(), keep)
}

/// A saved state's body, read from its file as it is needed.
type Body = crate::shard::BodyReader<std::io::BufReader<std::fs::File>>;

/// How a pass saves its state after blocks up to an end: given the end and the save itself, to
/// call once (with what goes with it: pass 1's sieve, `StreamCheckpoint::save_with_sieve`).
type Saving<'a> = dyn Fn(u64, &mut dyn FnMut() -> Result<(), Error>) -> Result<(), Error> + 'a;

/// Blocks a streamed checkpointed run computes between two looks at Ctrl-C: a few seconds.
const STREAM_CHUNK_BLOCKS: u64 = 256;

/// Seconds between two saves of a streamed run's state: what a killed node can lose.
const STREAM_SAVE_SECONDS: f64 = 30.0;

/// A streamed run that saves its state to a checkpoint folder as it goes: the pass-1 statistics
/// of blocks `0..e` (`stream-pass1.npvshard`), then each later pass's results over blocks `0..e`
/// (`stream-pass{p}.npvshard`), each with the hash of the pass's grids (pass 1's follow from the
/// pilot, which a resumed run runs again). Each file is rewritten
/// atomically every [`STREAM_SAVE_SECONDS`] and when stopped; a resumed run continues each pass
/// from where its file ends. Statistics of blocks merge exactly whatever the split, so the
/// result is the same bits as an uninterrupted run.
struct StreamCheckpoint<'a> {
    dir: &'a Path,
    identity: &'a crate::shard::ShardHeader,
    stop: &'a std::sync::atomic::AtomicBool,
    /// Counts every pass's draws, those of a resumed pass's saved blocks included.
    bar: Progress,
    /// Where pass 1 keeps the draws (`--keep-draws`), in parts closed at each save.
    keep: Option<std::sync::Mutex<Parts<'a>>>,
}

impl StreamCheckpoint<'_> {
    fn file(&self, pass: u32) -> std::path::PathBuf {
        self.dir.join(format!("stream-pass{pass}.npvshard"))
    }

    /// Where pass 1's sieve after blocks up to `end` is saved, beside its statistics.
    fn sieve_file(&self, end: u64) -> std::path::PathBuf {
        self.dir.join(format!("{SIEVE_FILE}{end}.npvshard"))
    }

    /// Remove the saved sieves whose blocks' end `stale` takes.
    fn remove_sieves(&self, stale: impl Fn(u64) -> bool) {
        let Ok(entries) = std::fs::read_dir(self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let end = name.to_str().and_then(|n| {
                n.strip_prefix(SIEVE_FILE)?
                    .strip_suffix(".npvshard")?
                    .parse::<u64>()
                    .ok()
            });
            if end.is_some_and(&stale) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    /// A reader of the saved state of pass 1's sieve after blocks up to `end` (where the saved
    /// statistics end), if the folder holds one of this run and these grids; a note when it
    /// holds another (or one saved at other blocks), which pass 1 then goes on without. The
    /// state is read as the sieve is restored, not held whole beside it; its checksum is
    /// checked once it has been read ([`crate::shard::BodyReader::verified`]).
    fn load_sieve(&self, grids_sha256: &str, end: u64) -> Option<Body> {
        let fits = |h: &crate::shard::ShardHeader| h.content == SIEVE && h.end_block == end;
        match self.opened(&self.sieve_file(end), 1, grids_sha256, fits)? {
            Some((_, r)) => Some(r),
            None => {
                self.not_the_saved_sieve(end);
                None
            }
        }
    }

    /// The note for a folder whose sieve saved where its statistics end is not this run's.
    fn not_the_saved_sieve(&self, end: u64) {
        crate::note!(
            "`{}` is not the saved sieve of this run's pass 1 where its statistics end (damaged, or saved by another run): pass 1 goes on without it",
            self.sieve_file(end).display()
        );
    }

    /// The file `path` opened, its header read, if it holds a saved state of `pass` of this
    /// run, for these grids, from its first block, that `fits` takes: the header and a reader of
    /// the body. `None` when there is no such file (none that can be read, or one larger than a
    /// shard file may be); `Some(None)` when it holds something else.
    fn opened(
        &self,
        path: &Path,
        pass: u32,
        grids_sha256: &str,
        fits: impl Fn(&crate::shard::ShardHeader) -> bool,
    ) -> Option<Option<(crate::shard::ShardHeader, Body)>> {
        let f = std::fs::File::open(path).ok()?;
        let size = f
            .metadata()
            .ok()
            .filter(|m| m.is_file() && m.len() <= crate::input::MAX_SHARD_BYTES)?
            .len();
        let name = path.display().to_string();
        let opened = crate::shard::BodyReader::open(&name, std::io::BufReader::new(f), size);
        Some(opened.ok().filter(|(h, _)| {
            crate::shard::identity_mismatch(h, self.identity).is_none()
                && h.pass == pass
                && h.grids_sha256 == grids_sha256
                && h.first_block == self.identity.first_block
                && fits(h)
        }))
    }

    /// The file `path` if it holds a saved state of `pass` of this run, for these grids, from
    /// its first block, that `fits` takes ([`StreamCheckpoint::opened`]), whole and checked: the
    /// blocks it ends at and its body. `None` when there is no such file; `Some(None)` when it
    /// holds something else.
    fn saved(
        &self,
        path: &Path,
        pass: u32,
        grids_sha256: &str,
        fits: impl Fn(&crate::shard::ShardHeader) -> bool,
    ) -> Option<Option<(u64, Vec<u8>)>> {
        let opened = self.opened(path, pass, grids_sha256, fits)?;
        Some(opened.and_then(|(h, r)| Some((h.end_block, r.rest()?))))
    }

    /// Save pass 1's statistics after blocks up to `end` (`save`) with its sieve: the sieve
    /// first, under a name of its own (the blocks' end), then the statistics, then any sieve
    /// saved with other statistics is removed. Killed at any moment, the folder holds the
    /// statistics with the sieve saved with them (or none). At the end of pass 1 no sieve is
    /// saved: it is used at once, and when it leaves a rank the run takes every rank from a later
    /// pass (`Passes::sieved_whole`), as a run resumed after pass 1 does without it. A sieve
    /// that cannot be saved (a full disk) is a note: a run resumed from these statistics then
    /// takes its percentiles from a second pass.
    fn save_with_sieve(
        &self,
        grids_sha256: &str,
        end: u64,
        p: &FirstPass,
        save: &mut dyn FnMut() -> Result<(), Error>,
    ) -> Result<(), Error> {
        let sieve = p.sieve().filter(|_| end < self.identity.end_block);
        let mut saved = false;
        if let Some(sieve) = sieve {
            let h = crate::shard::ShardHeader {
                content: SIEVE.into(),
                pass: 1,
                grids_sha256: grids_sha256.into(),
                end_block: end,
                ..self.identity.clone()
            };
            let path = self.sieve_file(end);
            match crate::shard::write_body_with(&path, &h, &|out| sieve.encode_state_to(out)) {
                Ok(()) => saved = true,
                Err(e) => crate::note!(
                    "pass 1's sieve is not saved ({e}): a run resumed from `{}` takes its percentiles from a second pass",
                    self.dir.display()
                ),
            }
        }
        save()?;
        self.remove_sieves(|e| !(saved && e == end));
        Ok(())
    }

    /// The saved state of `pass` if the folder holds one of this run (and of these grids); a
    /// note when it holds another, which the pass then replaces.
    fn load(&self, pass: u32, grids_sha256: &str) -> Option<(u64, Vec<u8>)> {
        let path = self.file(pass);
        let within = |h: &crate::shard::ShardHeader| {
            (h.first_block..=self.identity.end_block).contains(&h.end_block)
        };
        self.saved(&path, pass, grids_sha256, within)?.or_else(|| {
            crate::note!(
                "`{}` is not a saved state of this pass of this run (damaged, or saved by another version of npvrisk): pass {pass} starts again",
                path.display()
            );
            None
        })
    }

    fn save(
        &self,
        pass: u32,
        grids_sha256: &str,
        end: u64,
        body: &crate::shard::BodyParts<'_>,
    ) -> Result<(), Error> {
        if pass == 1
            && let Some(k) = &self.keep
        {
            k.lock().unwrap_or_else(|e| e.into_inner()).close(end)?;
        }
        let h = crate::shard::ShardHeader {
            content: if pass == 1 { "stats" } else { "pass" }.into(),
            pass,
            grids_sha256: grids_sha256.into(),
            end_block: end,
            ..self.identity.clone()
        };
        crate::shard::write_body_with(&self.file(pass), &h, body)
    }

    /// Run `pass` over every block in chunks from `start` (the end of its saved state `acc`),
    /// adding each chunk's results with `add` and saving `acc` with `encode` from time to time
    /// and when stopped, each time through `saving` (given the blocks' end and the save).
    #[allow(clippy::too_many_arguments)]
    fn chunks<T>(
        &self,
        pass: u32,
        grids_sha256: &str,
        (start, mut acc): (u64, T),
        compute: &mut dyn FnMut(u64, u64) -> Result<T, Failure>,
        add: &dyn Fn(T, T) -> Result<T, Failure>,
        encode: &dyn Fn(&T, &mut crate::shard::Out),
        saving: &Saving<'_>,
    ) -> Result<T, Failure> {
        use std::sync::atomic::Ordering;
        let (lo, blocks) = (self.identity.first_block, self.identity.end_block);
        let (mut b, mut saved_at, mut last_save) = (start, start, Instant::now());
        let draws_to =
            |b| crate::engine::draws_before(b, self.identity.block_size, self.identity.draws);
        self.bar.inc(draws_to(start) - draws_to(lo));
        while b < blocks {
            // Each attempt makes progress: Ctrl-C is looked at after the first chunk.
            if b > start && self.stop.load(Ordering::SeqCst) {
                if b > saved_at {
                    saving(b, &mut || {
                        self.save(pass, grids_sha256, b, &|out| encode(&acc, out))
                    })?;
                }
                return Err(interrupted(
                    &format!("pass {pass} over {} of {} blocks", b - lo, blocks - lo),
                    self.dir,
                ));
            }
            let e = (b + STREAM_CHUNK_BLOCKS).min(blocks);
            acc = add(acc, compute(b, e)?)?;
            b = e;
            if b == blocks || last_save.elapsed().as_secs_f64() > STREAM_SAVE_SECONDS {
                saving(b, &mut || {
                    self.save(pass, grids_sha256, b, &|out| encode(&acc, out))
                })?;
                (saved_at, last_save) = (b, Instant::now());
            }
        }
        Ok(acc)
    }

    /// The whole streamed run, resuming each pass from its saved state.
    fn run(
        &self,
        plan: &Plan,
        opts: &RunOptions,
        meta: summary::Metadata,
        a: &RunSpec,
        embedded: bool,
    ) -> Result<(summary::Summary, u32), Failure> {
        // The pilot is run again on resume, and the grids follow from it: a run in one process,
        // so it has the configuration of one, collecting in pass 1 where that saves a pass.
        let cfg = sieving(StreamConfig::single_process(), a);
        let sopts = summary_options(&a.percentiles, a.interval, &a.thresholds);
        let extra = review_points(embedded);
        let progress = |k| self.bar.inc(k);
        let src = Regenerate {
            plan,
            opts,
            chunk_blocks: cfg.chunk_blocks,
            progress: &progress,
        };
        let mut p = FirstPass::new(&src, &sopts, &extra, &cfg)?;
        let first = self.first_pass(plan, &mut p)?;
        // A pass 1 started at block 0 in this process has its sieve, kept from chunk to chunk;
        // one resumed, the sieve saved with its statistics, if it fits them.
        let sieve = p.take_sieve();
        let setup = p.finish()?;
        let mut pass_no = 1u32;
        let mut passes =
            Passes::new(plan, &setup, first, meta, &sopts, &extra, &cfg).map_err(Error::from)?;
        if let Some(s) = sieve {
            // All or nothing: a later pass's grids must be those a resumed run (whose pass 1,
            // read back whole, has no sieve) makes again, to find that pass's saved state.
            passes.sieved_whole(s).map_err(Error::from)?;
        }
        let result = passes.run(&mut |grids| {
            pass_no += 1;
            self.later_pass(plan, &src, grids, pass_no)
        });
        self.bar.finish();
        result
    }

    /// Pass 1 over the identity's blocks, from its saved state if there is one (saved for the
    /// same pass-1 grids). The blocks whose draws the pilot holds are summarised from it, not
    /// run again ([`FirstPass`]).
    fn first_pass(&self, plan: &Plan, p: &mut FirstPass) -> Result<First, Failure> {
        let lo = self.identity.first_block;
        let hash = grids_hash(&p.setup().grids);
        if self.keep.is_none() {
            // Parts of an earlier attempt that kept its draws: this one does not.
            kept::remove_parts(self.dir);
        }
        let (start, acc) = self
            .load(1, &hash)
            .and_then(|(end, body)| {
                let mut f = p.setup().empty_first(plan);
                f.add_encoded(&body, None)?;
                Some((end, f))
            })
            .unwrap_or_else(|| (lo, p.setup().empty_first(plan)));
        let (start, acc) = match &self.keep {
            Some(k)
                if !k
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .resume_at(lo, start) =>
            {
                crate::note!(
                    "`{}`: the kept draws of the saved blocks are incomplete; pass 1 starts again",
                    self.dir.display()
                );
                (lo, p.setup().empty_first(plan))
            }
            _ => (start, acc),
        };
        // Resumed past its first block, pass 1 goes on with the sieve saved with its statistics
        // (unless it keeps its draws: then it has none).
        let saved_sieve = (start > lo && self.keep.is_none() && p.sieving())
            .then(|| self.load_sieve(&hash, start))
            .flatten();
        match saved_sieve {
            Some(mut state) => p
                .resume_sieved_at(start, &mut state, &acc)
                .map(|r| match r {
                    Restored::Yes => {}
                    Restored::Unfit => crate::note!(
                        "`{}` does not fit this run's pass 1: pass 1 goes on without its sieve",
                        self.sieve_file(start).display()
                    ),
                    Restored::Damaged => self.not_the_saved_sieve(start),
                }),
            None => p.resume_at(start),
        }
        .map_err(|e| Failure::Input(e.to_string()))?;
        let p = std::cell::RefCell::new(p);
        self.chunks(
            1,
            &hash,
            (start, acc),
            &mut |b, e| {
                let mut parts = self
                    .keep
                    .as_ref()
                    .map(|k| k.lock().unwrap_or_else(|e| e.into_inner()));
                let sink = parts
                    .as_deref_mut()
                    .map(|k| k as &mut dyn crate::stream::DrawSink);
                Ok(p.borrow_mut().blocks(b, e, sink)?)
            },
            // The chunks follow one another: merged, their moments form the tree one pass over
            // all the blocks would, and the statistics saved or written are its bytes.
            &|mut x, y| {
                x.merge(y);
                Ok(x)
            },
            &|f, out| f.encode_to(out),
            &|end, save| self.save_with_sieve(&hash, end, &p.borrow(), save),
        )
    }

    /// Later pass `pass` (with `grids`) over the identity's blocks, from its saved state if there
    /// is one for these grids.
    fn later_pass(
        &self,
        plan: &Plan,
        src: &Regenerate,
        grids: &[Grid],
        pass: u32,
    ) -> Result<Vec<ColPass>, Failure> {
        use crate::stream;
        let hash = grids_hash(grids);
        let empty: Vec<ColPass> = grids.iter().map(ColPass::new).collect();
        let (start, acc) = self
            .load(pass, &hash)
            .and_then(|(end, body)| {
                let mut p = empty.clone();
                stream::add_encoded_passes(&mut p, &body)?;
                Some((end, p))
            })
            .unwrap_or((self.identity.first_block, empty));
        self.chunks(
            pass,
            &hash,
            (start, acc),
            &mut |b, e| {
                stream::pass(plan, src, grids, b, e).map_err(|e| Failure::Input(e.to_string()))
            },
            &|x, y| {
                stream::merge_passes(vec![x, y]).ok_or_else(|| {
                    Failure::Internal("a pass's chunks do not match its grids".into())
                })
            },
            &|p, out| stream::encode_passes_to(p, out),
            &|_, save| save(),
        )
    }
}

/// Whether a chunk file found in a checkpoint folder is chunk `first..end` of this run.
fn chunk_matches(
    h: &crate::shard::ShardHeader,
    identity: &crate::shard::ShardHeader,
    first: u64,
    end: u64,
) -> bool {
    h.first_block == first
        && h.end_block == end
        && crate::shard::identity_mismatch(h, identity).is_none()
}

/// `run --mpi`: every rank computes pass 1 over shard `rank` of `size` and sends its statistics to
/// rank 0, which merges them; each later pass's grids go out from rank 0, every rank runs the pass
/// over its blocks and rank 0 merges the results. The summary is the same bits as one process's.
#[cfg(feature = "mpi")]
fn run_mpi(a: &RunSpec) -> Result<String, Error> {
    use mpi::traits::*;
    let universe = mpi::initialize().ok_or_else(|| {
        Failure::Internal("MPI could not be initialised (already initialised?)".into())
    })?;
    let world = universe.world();
    let result = run_mpi_rank(a, &world);
    if let Err(e) = &result
        && world.size() > 1
    {
        // The other ranks may be waiting for this one: stop them all rather than leave the job
        // hanging until its time limit.
        let (m, code) = match e {
            Failure::Input(m) => (m.as_str(), 2),
            Failure::Internal(m) => (m.as_str(), 1),
            Failure::Interrupted { .. } => ("interrupted", 130),
        };
        eprintln!("error: rank {}: {m}", world.rank());
        world.abort(code);
    }
    result
}

/// One rank's share of an MPI run (rank 0 also merges and writes the outputs).
#[cfg(feature = "mpi")]
fn run_mpi_rank(a: &RunSpec, world: &mpi::topology::SimpleCommunicator) -> Result<String, Error> {
    use mpi::traits::*;
    let (rank, size) = (world.rank(), world.size());
    let started = Instant::now();
    let r = ShardRun::new(a, rank as u64, size as u64, &Hooks::default())?;
    let setup = setup_of(&r, &r.header, rank == 0)?;
    let (_, f, finds, setup) = r.first_pass(setup, None, None)?;
    let root = world.process_at_rank(0);
    if rank != 0 {
        // With the run's header, so that rank 0 can check every rank runs the same run.
        root.send(&crate::shard::encode_body(&r.header, &f.encode())[..]);
        // Then the values its sieve kept of the cells rank 0 asks for: those holding a rank the
        // merged statistics leave.
        let (msg, _) = root.receive_vec::<u8>();
        if msg.is_empty() {
            return Ok(String::new());
        }
        let asked = crate::stream::decode_asked(&msg)
            .ok_or_else(|| Failure::Internal("unreadable cells asked for by rank 0".into()))?;
        let mut o = Vec::new();
        crate::stream::SieveFinds::encode_asked(finds.as_ref(), &asked, &mut o);
        root.send(&o[..]);
        // Later passes until rank 0 sends an empty plan.
        loop {
            let (msg, _) = root.receive_vec::<u8>();
            if msg.is_empty() {
                return Ok(String::new());
            }
            let grids = crate::stream::decode_grids(&msg)
                .ok_or_else(|| Failure::Internal("unreadable grids from rank 0".into()))?;
            let res = r.later_pass(&grids, None)?;
            root.send(&crate::stream::encode_passes(&res)[..]);
        }
    }
    let mut first = f;
    let blocks = Plan::block_count(&r.opts).map_err(|e| Failure::Input(e.to_string()))?;
    for q in 1..size {
        let (msg, _) = world.process_at_rank(q).receive_vec::<u8>();
        let name = format!("rank {q}'s statistics");
        let (h, body) =
            crate::shard::decode_body(&name, &msg).map_err(|e| Failure::Internal(e.to_string()))?;
        if let Some(what) = crate::shard::identity_mismatch(&h, &r.header) {
            return Err(Failure::Input(format!(
                "rank {q} runs a different run than rank 0 (give every rank the same options and files): {what}"
            )));
        }
        // Checked to be of the rank's blocks (its values' cells are checked when they are
        // joined: `Passes::sieved_parts`).
        let part = crate::stream::Part::of(
            &r.opts,
            crate::shard::shard_blocks(q as u64, size as u64, blocks),
        );
        first.add_encoded(body, Some(part)).ok_or_else(|| {
            Failure::Internal(format!(
                "statistics from rank {q} are unreadable or not of its blocks"
            ))
        })?;
    }
    let meta = run_of_header(&r.header)?.2;
    let h = &r.header;
    let sopts = summary_options(&h.percentiles, h.interval, &h.thresholds);
    let extra = review_points(h.embedded_model);
    let cfg = StreamConfig::default();
    let result = Passes::new(&r.plan, &setup, first, meta, &sopts, &extra, &cfg)
        .map_err(Error::from)
        .and_then(|mut p| {
            // The ranks the merged cells leave, from the values every rank's sieve kept of the
            // cells holding them: each rank sends only those.
            let mut wanted = p.sieve_wanted();
            let ask = crate::stream::encode_asked(&wanted);
            for q in 1..size {
                world.process_at_rank(q).send(&ask[..]);
            }
            if let Some(f) = &finds {
                f.add_to(&mut wanted);
            }
            for q in 1..size {
                let (m, _) = world.process_at_rank(q).receive_vec::<u8>();
                crate::stream::add_encoded_finds(&mut wanted, &m).ok_or_else(|| {
                    Failure::Internal(format!("unreadable sieve values from rank {q}"))
                })?;
            }
            p.sieved_parts(wanted)?;
            p.run(&mut |grids| {
                let msg = crate::stream::encode_grids(grids);
                for q in 1..size {
                    world.process_at_rank(q).send(&msg[..]);
                }
                let mut acc = r.later_pass(grids, None)?;
                for q in 1..size {
                    let (m, _) = world.process_at_rank(q).receive_vec::<u8>();
                    crate::stream::add_encoded_passes(&mut acc, &m).ok_or_else(|| {
                        Error::Internal(format!(
                            "pass results from rank {q} are unreadable or do not match rank 0's"
                        ))
                    })?;
                }
                Ok(acc)
            })
        });
    for q in 1..size {
        world.process_at_rank(q).send(&[0u8; 0][..]);
    }
    let (summary, n_passes) = result?;
    finish_merged(
        &summary,
        a.out.as_deref(),
        a.format,
        started,
        (size as usize, n_passes),
        None,
    )
}

/// Summarise draws with the reported percentiles, interval and thresholds (an error when every
/// draw was skipped); the embedded model's review also shows the report's printed figures.
fn summarise_with(
    plan: &Plan,
    draws: &crate::engine::Draws,
    meta: Metadata,
    report: (&[f64], f64, &[f64]),
    embedded: bool,
) -> Result<summary::Summary, Failure> {
    if draws.n == 0 {
        return Err(Failure::Input(format!(
            "all {} draws gave non-finite outcomes",
            draws.skipped.len()
        )));
    }
    Ok(crate::stream::summarise(
        plan,
        draws,
        meta,
        &summary_options(report.0, report.1, report.2),
        &review_points(embedded),
    ))
}

/// What the summary reports, from the run's options.
fn summary_options(percentiles: &[f64], interval: f64, thresholds: &[f64]) -> SummaryOptions {
    SummaryOptions {
        percentiles: percentiles.to_vec(),
        interval,
        thresholds: thresholds.to_vec(),
        total_npv_percentiles: Vec::new(),
    }
}

/// Extra review points: the report's printed figures for the embedded model.
fn review_points(embedded: bool) -> ReviewPoints {
    if embedded {
        published_points()
    } else {
        Vec::new()
    }
}

/// A failed streamed summary: inconsistent statistics are internal, the rest bad input.
impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        use crate::engine::RunError;
        match e {
            StreamError::Run(RunError::Options(m)) => Error::Input(m),
            StreamError::Inconsistent(m) => Error::Internal(m),
            other => Error::Input(other.to_string()),
        }
    }
}

fn stream_failure(e: StreamError) -> Error {
    Error::from(e)
}

/// A merge's failed summary: statistics that do not fit together can only come from its files
/// (each shard's are checked against its blocks as they are read), so they are bad input.
fn unfit(e: StreamError) -> Error {
    match e {
        StreamError::Inconsistent(m) => Error::Input(format!(
            "the shards' statistics do not fit together ({m}): a shard is corrupted or was made by another npvrisk; make the shards again"
        )),
        other => Error::from(other),
    }
}

/// Runs whose draws would take more memory than this are streamed; what cannot be streamed (a
/// batch scenario's draws, the draws of `sensitivity` and `report`, the Sobol design and its
/// bootstrap) is refused beyond it.
pub const IN_MEMORY_LIMIT: u64 = 4 << 30;

/// Refuse, before allocating anything, `what` needing `bytes` of memory beyond
/// [`IN_MEMORY_LIMIT`]; `hint` says what to change.
pub fn check_memory(what: &str, bytes: u128, hint: &str) -> Result<(), Failure> {
    if bytes <= IN_MEMORY_LIMIT as u128 {
        return Ok(());
    }
    Err(Failure::Input(format!(
        "{what} would need {} of memory, more than the {} this command may use: {hint}",
        show_bytes(bytes),
        show_bytes(IN_MEMORY_LIMIT as u128)
    )))
}

/// A number of bytes for a message, in GB (or TB, or "more than 10^30").
fn show_bytes(b: u128) -> String {
    let gb = b as f64 / 1e9;
    if gb >= 1e21 {
        "more than 10^30 bytes".into()
    } else if gb >= 1000.0 {
        format!("{:.1} TB", gb / 1000.0)
    } else {
        format!("{gb:.1} GB")
    }
}

/// Memory the Sobol analysis of `plan` takes: the design's outputs (row-major and again per
/// output), and the bootstrap's replicates and per-thread row counts.
fn sobol_bytes(plan: &Plan, base: u64, resamples: usize) -> u128 {
    let k = plan.factors().len() as u128;
    let m = plan.entities.len() as u128;
    let n = base as u128;
    let threads = rayon::current_num_threads().max(1) as u128;
    2 * n * (k + 2) * m * 8 + resamples as u128 * (m * 2 * k * 8 + 32) + threads * n * 8
}
