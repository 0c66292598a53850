//! The `npvrisk` command: parses arguments, calls the library, prints and exits.
//!
//! Exit codes: 0 success, 2 bad input or usage, 1 internal failure. Data goes to stdout, messages
//! to stderr; a closed stdout (e.g. `| head`) is not an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

mod progress_bar;

use npvrisk::calibrate;
use npvrisk::embedded::{EY2013_MODEL, EY2013_MODEL_FILE, EY2013_PUBLISHED, EY2013_PUBLISHED_FILE};
use npvrisk::format::parse_model;
use npvrisk::model::ModelSpec;
use npvrisk::output::write_atomic;
use npvrisk::published::parse_published;
use npvrisk::run::{RunSpec, SensSpec};
use npvrisk::sampler::SamplerKind;
use npvrisk::{reproduce, text};

mod init;
mod validate;

/// The version `--version` prints and the manual pages carry.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("NPVRISK_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "npvrisk",
    version = VERSION,
    about = "Monte Carlo sensitivity engine for public-sector cost-benefit (NPV) models"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// No progress bar and no informational messages on stderr (errors and warnings are still
    /// printed; stdout is unchanged).
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Treat warnings (likely slips in a model or distribution file: a percentage where a
    /// fraction is expected, a median far from the point value, ...) as errors: exit 2.
    #[arg(long, global = true)]
    deny_warnings: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Monte Carlo run: sample the uncertain inputs, evaluate the model per draw, summarise.
    Run(RunArgs),
    /// Measure engine throughput (draws/s with every outcome) next to the RNG floor, in one run.
    Throughput(PlanArgs),
    /// Sensitivity analysis: tornado, switching values, rank correlations, scenario analysis, Sobol
    /// indices and Shapley effects.
    Sensitivity(SensArgs),
    /// The reviewer's report: run, sensitivity, charts, one self-contained HTML file and an
    /// Excel workbook in --out (default `npvrisk-report`).
    #[command(mut_arg("out", |a| a.help("Folder for report.html, report.xlsx, charts/, the summary (summary.json, summary.csv) and the sensitivity tables (default `npvrisk-report`)")))]
    Report(ReportArgs),
    /// Compare the model with every figure of the 2013 report and write results/ey2013/.
    Reproduce {
        /// Model file (default: the embedded 2013 model).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Published-figures file (default: the embedded 2013 figures).
        #[arg(long)]
        published: Option<PathBuf>,
        /// Folder for reproduction.csv, reproduction.md, README.md and certificates.md.
        #[arg(long, default_value = "results/ey2013")]
        out: PathBuf,
        /// Print the table only; write no files.
        #[arg(long)]
        no_write: bool,
    },
    /// Evaluate a model deterministically in every scenario.
    Evaluate {
        /// Model file (default: the embedded 2013 model).
        model: Option<PathBuf>,
        /// Output format on stdout (`xlsx` is refused: there is no workbook of an evaluation).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Evaluate one scenario only.
        #[arg(long)]
        scenario: Option<String>,
    },
    /// Print a Slurm batch script: a job array computing N shards of a run, and a merge job that
    /// runs when all succeeded. Every option after `--` is passed to `npvrisk run`.
    Slurm {
        /// Number of shards (array tasks).
        #[arg(long)]
        shards: u64,
        /// Folder for the shards, logs and the merged summary.
        #[arg(long)]
        out: PathBuf,
        /// CPUs per array task (RAYON_NUM_THREADS is taken from SLURM_CPUS_PER_TASK).
        #[arg(long, default_value_t = 2)]
        cpus_per_task: u32,
        /// Path of the npvrisk binary on the cluster.
        #[arg(long, default_value = "npvrisk")]
        npvrisk: String,
        /// Shard this batch manifest's scenarios over the array instead of a run's draws.
        #[arg(long)]
        batch: Option<PathBuf>,
        /// Options for `npvrisk run` (model, --dist, --draws, --seed, ...).
        #[arg(last = true)]
        run_args: Vec<String>,
    },
    /// Run many scenarios with common random numbers and compare them with a reference.
    Batch {
        /// The batch manifest (TOML): model, distributions, draws, seed, scenarios, grid.
        manifest: PathBuf,
        /// Folder for comparison.csv and one summary per scenario.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Output format of the comparison on stdout (the summaries in --out are JSON and CSV).
        #[arg(long, value_enum, default_value_t = BatchFormat::Table)]
        format: BatchFormat,
        /// Compute only the scenarios i with i mod N = K (and the reference, for the differences)
        /// and write them to --out as a batch shard file for `--merge`. Without it,
        /// SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (when both are set) define the shard.
        #[arg(long, conflicts_with = "merge")]
        shard: Option<String>,
        /// Merge the batch shard files in this folder (from `--shard K/N`) into the outputs of the
        /// whole batch: the same bytes as running it in one process, apart from timing.
        #[arg(long)]
        merge: Option<PathBuf>,
    },
    /// Merge shard files of one run into the outputs a single-process run would write. The
    /// percentiles come from the values the shards' sieves kept; those they leave need a second
    /// pass over the draws: give its shard files (from `run --shard K/N --pass PLAN`), or let
    /// merge compute it here, or write its plan with --next-pass.
    Merge {
        /// The shard files of one run (from `run --shard K/N`, and of later passes).
        #[arg(required = true)]
        shards: Vec<PathBuf>,
        /// Write the plan of the next pass here for the shards to run, instead of computing it.
        #[arg(long)]
        next_pass: Option<PathBuf>,
        /// Folder for summary.json and summary.csv.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Output format of the summary on stdout.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Join the shards' kept draws (each shard run with `--keep-draws`, its draws file next
        /// to its shard file) into one file in --out, in draw order.
        #[arg(long)]
        keep_draws: bool,
        /// File format of the shards' kept draws (with --keep-draws): csv or parquet. Default:
        /// csv.
        #[arg(long, requires = "keep_draws", value_parser = clap::builder::TypedValueParser::map(
            clap::builder::PossibleValuesParser::new(["csv", "parquet"]),
            |s| s.parse::<npvrisk::draws_out::DrawsFormat>().expect("a listed format")))]
        draws_format: Option<npvrisk::draws_out::DrawsFormat>,
    },
    /// List the parameter paths of a model that a distribution file can assign distributions to.
    Paths {
        /// Model file (default: the embedded 2013 model).
        model: Option<PathBuf>,
    },
    /// Start a new case: write a commented model, distribution file and batch manifest of a
    /// small local case (illustrative figures, each with its source or marked as an assumption)
    /// into DIR. Existing files are never overwritten (exit 2).
    Init {
        /// Folder for model.toml, dists.toml and batch.toml (created if missing).
        dir: PathBuf,
    },
    /// Check model files, distribution files and batch manifests (recognised by their content)
    /// and report the first mistake in each, located; exit 2 if any is rejected.
    Validate {
        /// Files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Model the distribution files are checked against (default: the one model file among
        /// the files; with none, the embedded model, with each file overlaid on its default
        /// distributions; with several, needed).
        #[arg(long)]
        model: Option<PathBuf>,
    },
    /// Print an embedded file verbatim: the 2013 model, its default distributions or its
    /// published figures (without an argument: list them).
    Defaults {
        /// Which file to print.
        #[arg(value_enum)]
        what: Option<Embedded>,
    },
    /// Derive the embedded model from the published figures (prints it, or writes --out).
    Calibrate {
        /// Published-figures file (default: the embedded 2013 figures).
        #[arg(long)]
        published: Option<PathBuf>,
        /// Write the model file here (atomically) instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Fail (exit 1) unless the embedded model equals the calibration's output.
        #[arg(long)]
        check: bool,
    },
    /// Fit distributions to an expert's quantiles, rank them by their CDF error and print the
    /// best as a distribution-file entry.
    Fit {
        /// Elicited quantiles as `probability:value` pairs, at least 3, e.g.
        /// "0.05:80,0.5:100,0.95:130".
        #[arg(long, allow_hyphen_values = true)]
        quantiles: String,
        /// Lower bound of the quantity (bounds the metalog; admits gamma/lognormal only if <= 0).
        #[arg(long, allow_hyphen_values = true)]
        lower: Option<f64>,
        /// Upper bound of the quantity (with --lower: beta and PERT are fitted on the bounds).
        #[arg(long, allow_hyphen_values = true)]
        upper: Option<f64>,
        /// Parameter path the printed `[[input]]` entry is for (see `npvrisk paths`).
        #[arg(long)]
        path: String,
    },
    /// Print a shell completion script (e.g. `npvrisk completions bash > ~/.local/share/bash-completion/completions/npvrisk`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff; e.g. `npvrisk man > npvrisk.1 && man ./npvrisk.1`), or write it
    /// and each subcommand's page (`npvrisk-run.1`, ..., which it refers to) into --dir.
    Man {
        /// Folder for npvrisk.1 and a page per subcommand (created if missing).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

/// The options that define a run's draws: the model, its distributions, how many draws and how
/// they are drawn and computed (every command that runs the model, `throughput` included).
#[derive(clap::Args, Clone)]
struct PlanArgs {
    /// Model file (default: the embedded 2013 model).
    model: Option<PathBuf>,
    /// Distribution file; repeatable. On the embedded model they are overlaid on its default
    /// distributions; later files override earlier ones by parameter path, and a later
    /// `[correlation]` replaces an earlier one. With a model file they are its only distributions.
    #[arg(long = "dist")]
    dist: Vec<PathBuf>,
    /// Start the embedded model from no distributions (only the --dist files).
    #[arg(long)]
    no_default_dists: bool,
    /// Number of draws.
    #[arg(long, default_value_t = npvrisk::run::DEFAULT_DRAWS)]
    draws: u64,
    /// Seed of the random numbers.
    #[arg(long, default_value_t = npvrisk::run::DEFAULT_SEED)]
    seed: u64,
    /// How the uniforms are drawn.
    #[arg(long, value_enum, default_value_t = SamplerArg::Mc)]
    sampler: SamplerArg,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Scenario whose point values the inputs without a distribution take (default: `base` if
    /// the model has it, else its last scenario).
    #[arg(long)]
    scenario: Option<String>,
    /// Draws per block: how much work is handed to a thread at a time. The draws and the
    /// summary's figures do not depend on it (the summary's metadata records it).
    #[arg(long, default_value_t = npvrisk::engine::DEFAULT_BLOCK)]
    block_size: u64,
    /// Count and skip draws whose outcome is not finite instead of stopping.
    #[arg(long)]
    skip_nonfinite: bool,
}

/// The options every command that runs the model and reports a summary takes.
#[derive(clap::Args, Clone)]
struct CommonArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Folder for summary.json, summary.csv (and the draws with --keep-draws).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format of the summary on stdout (`xlsx`: a workbook in --out).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Percentiles to report, comma-separated, each in (0, 1).
    #[arg(long, value_delimiter = ',', default_value = "0.05,0.1,0.5,0.9,0.95")]
    percentiles: Vec<f64>,
    /// Level of the central interval, in (0, 1).
    #[arg(long, default_value_t = 0.9)]
    interval: f64,
    /// Report P(NPV < X) for these thresholds besides 0; repeatable. A plain number is in the
    /// model's money unit (£bn for the embedded model); or give the unit: `5m`, `£5m`, `250k`,
    /// `0.5bn`.
    #[arg(long = "threshold", allow_hyphen_values = true)]
    thresholds: Vec<String>,
}

/// `run`: the common options and those of how a run is executed.
#[derive(clap::Args, Clone)]
struct RunArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Keep doubling the draws until every reported NPV percentile of the headline themes and
    /// the total has a standard error below this (up to --max-draws): money (`5m`, `£5m`,
    /// `0.005bn`), or relative (`0.001`, `0.1%`) to the larger of the percentile and the NPV's
    /// standard deviation.
    #[arg(long)]
    precision: Option<npvrisk::summary::Precision>,
    /// Upper limit of draws for --precision.
    #[arg(long, default_value_t = npvrisk::run::DEFAULT_MAX_DRAWS)]
    max_draws: u64,
    /// Also write every draw's inputs and outcomes to --out (draws.csv; see --draws-format). The
    /// run is then held in memory (checkpointed or not) while its draws fit in 4 GiB, and writes
    /// them at the end; a streamed run or a shard writes them as they are made, in bounded memory
    /// (a shard its own file next to its shard file; `merge --keep-draws` joins them).
    #[arg(long)]
    keep_draws: bool,
    /// File format of the kept draws (with --keep-draws): csv (draws.csv), sipmath (a SIPmath
    /// 3.0 library, draws.SIPmath) or parquet (draws.parquet). Default: csv.
    #[arg(long, value_parser = clap::builder::TypedValueParser::map(
        clap::builder::PossibleValuesParser::new(npvrisk::draws_out::DrawsFormat::NAMES),
        |s| s.parse::<npvrisk::draws_out::DrawsFormat>().expect("a listed format")))]
    draws_format: Option<npvrisk::draws_out::DrawsFormat>,
    /// With --keep-draws: do not hold the draws in memory but compute the summary in passes over
    /// the blocks, regenerating the draws each pass, in memory bounded whatever `--draws` (pass 1
    /// writes the draws out as it goes). The summary is the same bits as with the draws in
    /// memory. A run that does not keep its draws always streams; one that does streams anyway
    /// when its draws would not fit in 4 GiB.
    #[arg(long)]
    stream: bool,
    /// With `--shard`: run a later pass of a sharded run, from the plan `npvrisk merge
    /// --next-pass PLAN` wrote, and write its results next to the shard files.
    #[arg(long, requires = "shard")]
    pass: Option<PathBuf>,
    /// Compute only shard K of N (0 ≤ K < N) and write it to --out as a shard file for
    /// `npvrisk merge`. Without it, SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (when both
    /// are set) define the shard.
    #[arg(long)]
    shard: Option<String>,
    /// Save the run's progress to this folder as it goes (finished chunks of 16 blocks of draws
    /// for a run held in memory, one that keeps up to 4 GiB of draws; the state of the current
    /// pass, every 30 s, for a streamed run or a shard), so that an interrupted run can be
    /// resumed; Ctrl-C or SIGTERM then stops it at the next chunk (16 blocks in memory, 256
    /// streamed), saves and says how to resume.
    #[arg(long, conflicts_with = "resume")]
    checkpoint: Option<PathBuf>,
    /// Under `mpirun -n P`: rank r computes the statistics of its share of the blocks, rank 0
    /// merges them and writes the same outputs as a single process (a build with `--features
    /// mpi`; other builds refuse it with that advice).
    #[arg(long, conflicts_with_all = ["shard", "checkpoint", "resume"])]
    mpi: bool,
    /// Keep no sieve in pass 1 (a trade of time for memory; the summary is the same bits). The
    /// sieve keeps the values near each wanted percentile so that a run finds them in one pass
    /// over its draws: a run in one process of more than about 10^7 draws, a shard or an MPI
    /// rank. Without it the percentiles take a second pass over the draws, and a shard (or
    /// rank) holds less memory and writes a smaller file (a third of 3·10^7 draws of the embedded
    /// model: 46 MB and 25 MB instead of 81 MB and 43 MB). A run in one process gains little
    /// memory (the sieve holds at most about 2^25 values; 133 MB instead of 143 MB at 2·10^7).
    #[arg(long)]
    no_sieve: bool,
    /// Resume a checkpointed run from its folder (same options as the interrupted run; other
    /// options stop with exit code 2): it continues from what the folder saved (the finished
    /// chunks of a run held in memory, the current pass's state of a streamed run); the result
    /// is the same bits as an uninterrupted run.
    #[arg(long)]
    resume: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct SensArgs {
    #[command(flatten)]
    plan: PlanArgs,
    /// Folder for the sensitivity tables (tornado.csv, switching.csv, ...) and sensitivity.json.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format of the tables on stdout. `csv` prints the one table of the chosen
    /// `--method` (with `rank`, the rank correlations; the scenario analysis is in the JSON and in
    /// --out's scenario.csv); every table at once is written by --out. For a workbook use
    /// `npvrisk report`.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Which analyses to run.
    #[arg(long, value_enum, default_value_t = Method::All)]
    method: Method,
    #[command(flatten)]
    analyses: AnalysisArgs,
}

/// `report`: a run's summary options and every analysis (it has no `--method`: the report's
/// sections and workbook sheets need them all).
#[derive(clap::Args, Clone)]
struct ReportArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    analyses: AnalysisArgs,
}

/// How the sensitivity analyses are run (`sensitivity` and `report`).
#[derive(clap::Args, Clone)]
struct AnalysisArgs {
    /// Low and high quantile levels of the tornado, each in (0, 1).
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.9")]
    levels: Vec<f64>,
    /// Base draws N of the Sobol design (N(k+2) model runs, k factors).
    #[arg(long, default_value_t = 4096)]
    sobol_n: u64,
    /// Bootstrap resamples for the Sobol confidence intervals (at least 100).
    #[arg(long, default_value_t = 500)]
    bootstrap: usize,
    /// Level of the Sobol confidence intervals, in (0, 1).
    #[arg(long, default_value_t = 0.95)]
    confidence: f64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Method {
    /// One-at-a-time swings of each input between two quantiles.
    Tornado,
    /// Switching values: the input value at which the NPV reaches zero.
    Switching,
    /// Rank correlations and scenario analysis (both from the kept draws).
    Rank,
    /// Sobol indices (first order and total) and Shapley effects, with bootstrap intervals.
    Sobol,
    /// Every analysis above.
    All,
}

/// The files built into the binary (`npvrisk defaults`).
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Embedded {
    /// The 2013 model (`distributions/ey2013.toml`).
    Model,
    /// Its default distributions (`distributions/ey2013_default.toml`).
    Distributions,
    /// The 2013 report's published figures (`distributions/ey2013_published.toml`).
    Published,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum SamplerArg {
    /// Plain Monte Carlo.
    Mc,
    /// Latin hypercube.
    Lhs,
    /// Scrambled Sobol (quasi Monte Carlo).
    Sobol,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    /// A table for the terminal.
    Table,
    /// JSON.
    Json,
    /// CSV.
    Csv,
    /// An Excel workbook, one sheet per table (written to --out; `run`, `sensitivity`, `report`).
    Xlsx,
}

/// The formats a batch prints its comparison in.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum BatchFormat {
    /// A table for the terminal.
    Table,
    /// CSV.
    Csv,
}

impl From<BatchFormat> for npvrisk::export::Format {
    fn from(f: BatchFormat) -> Self {
        match f {
            BatchFormat::Table => npvrisk::export::Format::Table,
            BatchFormat::Csv => npvrisk::export::Format::Csv,
        }
    }
}

/// Why the command failed, which decides the exit code ([`npvrisk::error::Error::exit_code`]).
use npvrisk::error::Error as Failure;

impl From<Format> for npvrisk::export::Format {
    fn from(f: Format) -> Self {
        match f {
            Format::Table => npvrisk::export::Format::Table,
            Format::Json => npvrisk::export::Format::Json,
            Format::Csv => npvrisk::export::Format::Csv,
            Format::Xlsx => npvrisk::export::Format::Xlsx,
        }
    }
}

impl PlanArgs {
    /// The run these options describe, with the default summary and no output folder.
    fn spec(self) -> RunSpec {
        RunSpec {
            model: self.model,
            dist: self.dist,
            no_default_dists: self.no_default_dists,
            draws: self.draws,
            seed: self.seed,
            sampler: match self.sampler {
                SamplerArg::Mc => SamplerKind::MonteCarlo,
                SamplerArg::Lhs => SamplerKind::LatinHypercube,
                SamplerArg::Sobol => SamplerKind::Sobol,
            },
            threads: self.threads,
            scenario: self.scenario,
            block_size: self.block_size,
            skip_nonfinite: self.skip_nonfinite,
            ..RunSpec::default()
        }
    }
}

impl CommonArgs {
    /// The run these options describe, executed in memory (or streamed) in one process.
    fn spec(self) -> Result<RunSpec, Failure> {
        let thresholds = thresholds_in_bn(&self.thresholds, self.plan.model.as_deref())?;
        Ok(RunSpec {
            out: self.out,
            format: self.format.into(),
            percentiles: self.percentiles,
            interval: self.interval,
            thresholds,
            ..self.plan.spec()
        })
    }
}

/// `--threshold` amounts in £bn (what a run works in): a plain number is in the money unit of the
/// model (read from its file only when a plain number needs it).
fn thresholds_in_bn(given: &[String], model: Option<&Path>) -> Result<Vec<f64>, Failure> {
    use npvrisk::money::MoneyUnit;
    let plain = given.iter().any(|t| t.trim().parse::<f64>().is_ok());
    let unit = match model {
        Some(p) if plain => {
            MoneyUnit::declared(&npvrisk::input::read_input(p)?).unwrap_or_default()
        }
        _ => MoneyUnit::Billion,
    };
    given
        .iter()
        .map(|t| {
            MoneyUnit::parse_amount(t, unit)
                .map_err(|why| Failure::Input(format!("`--threshold` = {t}: {why}")))
        })
        .collect()
}

impl RunArgs {
    /// The run specification: the shard comes from `--shard`, else from Slurm's array variables.
    fn spec(self) -> Result<RunSpec, Failure> {
        let shard = shard_from(self.shard.as_deref())?;
        Ok(RunSpec {
            precision: self.precision,
            max_draws: self.max_draws,
            keep_draws: self.keep_draws,
            draws_format: self.draws_format,
            stream: self.stream,
            pass: self.pass,
            shard,
            checkpoint: self.checkpoint,
            resume: self.resume,
            mpi: self.mpi,
            no_sieve: self.no_sieve,
            ..self.common.spec()?
        })
    }
}

impl SensArgs {
    fn spec(self) -> Result<SensSpec, Failure> {
        let run = RunSpec {
            out: self.out,
            format: self.format.into(),
            ..self.plan.spec()
        };
        Ok(self.analyses.spec(run, self.method))
    }
}

impl ReportArgs {
    fn spec(self) -> Result<SensSpec, Failure> {
        Ok(self.analyses.spec(self.common.spec()?, Method::All))
    }
}

impl AnalysisArgs {
    fn spec(self, run: RunSpec, method: Method) -> SensSpec {
        SensSpec {
            run,
            method: match method {
                Method::Tornado => npvrisk::run::Method::Tornado,
                Method::Switching => npvrisk::run::Method::Switching,
                Method::Rank => npvrisk::run::Method::Rank,
                Method::Sobol => npvrisk::run::Method::Sobol,
                Method::All => npvrisk::run::Method::All,
            },
            levels: self.levels,
            sobol_n: self.sobol_n,
            bootstrap: self.bootstrap,
            confidence: self.confidence,
        }
    }
}

/// The shard given as `--shard` (`K/N`), else by Slurm's array variables, else none.
fn shard_from(shard: Option<&str>) -> Result<Option<(u64, u64)>, Failure> {
    if let Some(s) = shard {
        return npvrisk::shard::parse_shard(s).map(Some);
    }
    let var = |n: &str| std::env::var(n).ok();
    match (var("SLURM_ARRAY_TASK_ID"), var("SLURM_ARRAY_TASK_COUNT")) {
        (Some(id), Some(count)) => {
            let min = var("SLURM_ARRAY_TASK_MIN")
                .and_then(|m| m.parse::<u64>().ok())
                .unwrap_or(0);
            let id: u64 = id.parse().map_err(|_| {
                Failure::Input(format!("SLURM_ARRAY_TASK_ID = {id:?}: not a whole number"))
            })?;
            let k = id.checked_sub(min).ok_or_else(|| {
                Failure::Input(format!(
                    "SLURM_ARRAY_TASK_ID = {id} is below SLURM_ARRAY_TASK_MIN = {min}"
                ))
            })?;
            npvrisk::shard::parse_shard(&format!("{k}/{count}"))
                .map(Some)
                .map_err(|e| {
                    Failure::Input(format!(
                        "{e} (from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT)"
                    ))
                })
        }
        _ => Ok(None),
    }
}

fn load_model(path: Option<&Path>) -> Result<(String, ModelSpec), Failure> {
    let (name, src) = match path {
        Some(p) => (p.display().to_string(), npvrisk::input::read_input(p)?),
        None => (EY2013_MODEL_FILE.to_string(), EY2013_MODEL.to_string()),
    };
    let (m, layout) = npvrisk::format::parse_model_with_layout(&name, &src)
        .map_err(|e| Failure::Input(e.to_string()))?;
    npvrisk::guard::check_with(&name, &src, &m, &layout, None)?;
    Ok((name, m))
}

fn load_published(path: Option<&Path>) -> Result<(String, npvrisk::published::Published), Failure> {
    let (name, src) = match path {
        Some(p) => (p.display().to_string(), npvrisk::input::read_input(p)?),
        None => (
            EY2013_PUBLISHED_FILE.to_string(),
            EY2013_PUBLISHED.to_string(),
        ),
    };
    let p = parse_published(&name, &src).map_err(|e| Failure::Input(e.to_string()))?;
    Ok((name, p))
}

fn out(s: &str) -> Result<(), Failure> {
    let mut o = std::io::stdout().lock();
    match o.write_all(s.as_bytes()).and_then(|_| o.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::Internal(format!("cannot write to stdout: {e}"))),
    }
}

/// The hooks of a command that runs the model: progress shown as a bar on a terminal.
fn hooks() -> npvrisk::run::Hooks {
    npvrisk::run::Hooks {
        observer: std::sync::Arc::new(progress_bar::Bar::new()),
        ..Default::default()
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    let default_run = || {
        Cli::parse_from(["npvrisk", "run"])
            .command
            .expect("run parses")
    };
    match cli.command.unwrap_or_else(default_run) {
        Command::Run(args) => {
            let spec = args.spec()?;
            let hooks = hooks();
            if spec.checkpoint.is_some() || spec.resume.is_some() {
                // Ctrl-C or SIGTERM stops a checkpointed run at its next chunk, after saving;
                // without a checkpoint there is nothing to save and the default handler stays.
                let stop = hooks.stop.clone();
                let _ = ctrlc::set_handler(move || {
                    stop.store(true, std::sync::atomic::Ordering::SeqCst)
                });
            }
            out(&npvrisk::run::run_with(&spec, &hooks)?)
        }
        Command::Throughput(args) => out(&npvrisk::run::throughput(&args.spec())?),
        Command::Sensitivity(args) => out(&npvrisk::run::sensitivity(&args.spec()?)?),
        Command::Report(args) => out(&npvrisk::run::report_with(&args.spec()?, &hooks())?),
        Command::Merge {
            shards,
            next_pass,
            out: dir,
            format,
            keep_draws,
            draws_format,
        } => out(&npvrisk::run::merge(
            &shards,
            dir.as_deref(),
            format.into(),
            next_pass.as_deref(),
            keep_draws.then(|| draws_format.unwrap_or_default()),
        )?),
        Command::Slurm {
            shards,
            out: dir,
            cpus_per_task,
            npvrisk,
            batch: manifest,
            run_args,
        } => {
            if shards == 0 {
                return Err(Failure::Input("`--shards` = 0: must be at least 1".into()));
            }
            if cpus_per_task == 0 {
                return Err(Failure::Input(
                    "`--cpus-per-task` = 0: must be at least 1 (the CPUs each array task asks Slurm for)".into(),
                ));
            }
            if let Some(m) = manifest {
                if let Some(a) = run_args.first() {
                    return Err(Failure::Input(format!(
                        "`{a}` after `--` with `--batch`: a batch takes its options from the manifest"
                    )));
                }
                return out(&npvrisk::batch::slurm_script(
                    &m,
                    shards,
                    &dir,
                    cpus_per_task,
                    &npvrisk,
                )?);
            }
            for a in &run_args {
                if a == "--shard"
                    || a == "--out"
                    || a.starts_with("--shard=")
                    || a.starts_with("--out=")
                {
                    return Err(Failure::Input(format!(
                        "`{a}` after `--`: the script sets the shard and the output folder itself"
                    )));
                }
            }
            // Check the run options now rather than on the cluster.
            let mut probe = vec!["npvrisk".to_string(), "run".to_string()];
            probe.extend(run_args.iter().cloned());
            let parsed = Cli::try_parse_from(&probe).map_err(|e| {
                Failure::Input(format!(
                    "the options after `--` are not valid for `npvrisk run`: {}",
                    e.to_string().lines().next().unwrap_or("")
                ))
            })?;
            // And the combinations a shard refuses, as every array task would on the cluster.
            if let Some(Command::Run(args)) = parsed.command {
                let spec = npvrisk::run::RunSpec {
                    shard: Some((0, shards)),
                    out: Some(dir.join("shards")),
                    ..args.spec()?
                };
                npvrisk::run::check(&spec).map_err(|e| {
                    Failure::Input(format!("the options after `--`, run as a shard: {e}"))
                })?;
                let blocks = spec.draws.div_ceil(spec.block_size.min(spec.draws));
                if shards > blocks {
                    return Err(Failure::Input(format!(
                        "`--shards` = {shards}: more than the run's {blocks} blocks of draws (`--draws` {} in blocks of {}): at most {blocks}, or the extra array tasks have no draws to run",
                        spec.draws, spec.block_size
                    )));
                }
            }
            out(&npvrisk::slurm::slurm_script(
                shards,
                &dir,
                cpus_per_task,
                &npvrisk,
                &run_args,
            ))
        }
        Command::Batch {
            manifest,
            out: dir,
            threads,
            format,
            shard,
            merge,
        } => out(&match merge {
            Some(shards) => {
                npvrisk::batch::merge(&manifest, &shards, dir.as_deref(), format.into())?
            }
            None => npvrisk::batch::batch(
                &manifest,
                dir.as_deref(),
                threads,
                format.into(),
                shard_from(shard.as_deref())?,
            )?,
        }),
        Command::Reproduce {
            model,
            published,
            out: dir,
            no_write,
        } => {
            let (mname, m) = load_model(model.as_deref())?;
            let (pname, p) = load_published(published.as_deref())?;
            let rows = reproduce::compare(&p, &m).map_err(|e| {
                Failure::Input(format!(
                    "`{mname}` against the published figures of `{pname}`: {e}: `reproduce` compares a model with the figures of the report it reproduces (`--published`), matching scenarios and themes by name"
                ))
            })?;
            out(&reproduce::to_table(&rows))?;
            if !no_write {
                // Independent programs: solved side by side.
                let (certs, conventions) = rayon::join(
                    || reproduce::certify(&p, &rows),
                    || reproduce::conventions_table(&p, rows.len()),
                );
                let files = [
                    ("reproduction.csv", reproduce::to_csv(&rows, &certs)),
                    (
                        "reproduction.md",
                        reproduce::to_markdown(&rows, &mname, &pname),
                    ),
                    ("README.md", reproduce::to_readme(&rows, &conventions)),
                    (
                        "certificates.md",
                        reproduce::certificates_md(&certs, &conventions),
                    ),
                ];
                for (f, body) in files {
                    write_atomic(&dir.join(f), body.as_bytes())?;
                }
                npvrisk::note!(
                    "wrote {}/reproduction.csv, reproduction.md, README.md, certificates.md",
                    dir.display()
                );
            }
            Ok(())
        }
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "npvrisk", &mut buf);
            out(&String::from_utf8_lossy(&buf))
        }
        Command::Man { dir } => {
            let render = |cmd: clap::Command| -> Result<(String, Vec<u8>), Failure> {
                // A subcommand's page carries the program's version, as the main page does.
                let source = format!("npvrisk {VERSION}");
                let man = clap_mangen::Man::new(cmd).source(source);
                let mut buf = Vec::new();
                man.render(&mut buf).map_err(|e| {
                    Failure::Internal(format!("cannot render the manual page: {e}"))
                })?;
                Ok((man.get_filename(), buf))
            };
            let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
            let Some(dir) = dir else {
                return out(&String::from_utf8_lossy(&render(cmd)?.1));
            };
            // Built, so that each subcommand's page is named and titled `npvrisk-SUB`.
            cmd.build();
            let mut pages = vec![render(cmd.clone())?];
            for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
                pages.push(render(sub.clone())?);
            }
            std::fs::create_dir_all(&dir)
                .map_err(|e| Failure::Input(format!("cannot create `{}`: {e}", dir.display())))?;
            for (name, page) in &pages {
                npvrisk::output::write_atomic(&dir.join(name), page)?;
            }
            npvrisk::note!("{} manual pages written to {}", pages.len(), dir.display());
            Ok(())
        }
        Command::Evaluate {
            model,
            format,
            scenario,
        } => {
            if format == Format::Xlsx {
                return Err(Failure::Input(
                    "`evaluate --format xlsx`: an evaluation is printed as a table, JSON or CSV; use `report` for a workbook".into(),
                ));
            }
            let (_, m) = load_model(model.as_deref())?;
            let which: Vec<usize> = match scenario {
                None => (0..m.scenarios.len()).collect(),
                Some(s) => vec![m.scenario_index(&s).ok_or_else(|| {
                    Failure::Input(format!(
                        "no scenario `{s}` in the model; it has {:?}",
                        m.scenarios
                    ))
                })?],
            };
            let evals: Vec<_> = which.into_iter().map(|s| (s, m.evaluate(s))).collect();
            out(&match format {
                Format::Table | Format::Xlsx => text::evaluation_table(&m, &evals),
                Format::Json => text::evaluation_json(&m, &evals),
                Format::Csv => text::evaluation_csv(&m, &evals),
            })
        }
        Command::Paths { model } => {
            let (_, m) = load_model(model.as_deref())?;
            let mut o = String::new();
            for p in npvrisk::params::all_paths(&m) {
                let r = npvrisk::params::resolve(&m, &p).map_err(Failure::Internal)?;
                let vals: Vec<String> = m
                    .scenarios
                    .iter()
                    .zip(&r.values)
                    .map(|(s, v)| {
                        let shown: Vec<String> = v.iter().map(|x| format!("{x}")).collect();
                        format!("{s} = {}", shown.join(" "))
                    })
                    .collect();
                // An amount of money names its unit, the model's.
                let unit = r.money.map_or(String::new(), |u| format!(", in {u}"));
                o.push_str(&format!(
                    "{p}\t{}{unit}\t{}\n",
                    r.domain.describe(),
                    vals.join("; ")
                ));
            }
            out(&o)
        }
        Command::Init { dir } => init::init(&dir),
        Command::Validate { files, model } => validate::validate(&files, model.as_deref()),
        Command::Defaults { what } => {
            let files = [
                (EY2013_MODEL_FILE, EY2013_MODEL, "the 2013 model"),
                (
                    npvrisk::embedded::EY2013_DISTS_FILE,
                    npvrisk::embedded::EY2013_DISTS,
                    "its default distributions",
                ),
                (
                    EY2013_PUBLISHED_FILE,
                    EY2013_PUBLISHED,
                    "the 2013 report's published figures",
                ),
            ];
            out(&match what {
                Some(Embedded::Model) => files[0].1.to_string(),
                Some(Embedded::Distributions) => files[1].1.to_string(),
                Some(Embedded::Published) => files[2].1.to_string(),
                None => ["model", "distributions", "published"]
                    .iter()
                    .zip(files)
                    .map(|(k, (f, _, what))| format!("npvrisk defaults {k:<13}  {f}  ({what})\n"))
                    .collect(),
            })
        }
        Command::Fit {
            quantiles,
            lower,
            upper,
            path,
        } => {
            use npvrisk::fitdist;
            if path.trim().is_empty() {
                return Err(Failure::Input(
                    "`--path` = \"\": give the path of the parameter the entry is for (`npvrisk paths` lists them)".into(),
                ));
            }
            let pairs = fitdist::parse_pairs(&quantiles).map_err(Failure::Input)?;
            fitdist::check_pairs(&pairs, lower, upper)?;
            let (ranked, skipped) = fitdist::fit(&pairs, lower, upper);
            if ranked.is_empty() {
                return Err(Failure::Input(
                    "no candidate distribution fits these quantiles".into(),
                ));
            }
            out(&fitdist::render(&pairs, &ranked, &skipped, &path))
        }
        Command::Calibrate {
            published,
            out: dest,
            check,
        } => {
            let (_, p) = load_published(published.as_deref())?;
            let cal = calibrate::calibrate(&p)?;
            let toml = calibrate::model_toml(&p, &cal);
            parse_model("calibrated model", &toml).map_err(|e| {
                Failure::Internal(format!("the calibrated model does not validate: {e}"))
            })?;
            if check {
                if toml != EY2013_MODEL {
                    return Err(Failure::Internal(format!(
                        "{EY2013_MODEL_FILE} differs from the calibration of the published figures\nhint: run `npvrisk calibrate --out {EY2013_MODEL_FILE}` and rebuild"
                    )));
                }
                npvrisk::note!("{EY2013_MODEL_FILE} matches the calibration");
                return Ok(());
            }
            match dest {
                Some(d) => write_atomic(&d, toml.as_bytes()),
                None => out(&toml),
            }
        }
    }
}

/// Keep glibc's threshold for serving an allocation by its own mapping at its starting 128 KiB.
///
/// glibc raises the threshold to the size of each mapped block freed (up to 32 MiB), so after the
/// first large buffers of a run are freed (a pilot, a loaded checkpoint), blocks of up to that
/// size come from the heap instead. A vector that keeps growing there (a sieve's kept values) is
/// moved to a larger block each time, and the holes it leaves are not given back: a shard resumed
/// with its saved sieve peaked at 234 MB where, with the threshold fixed, it peaks at 147 MB, near
/// the 143 MB of the same shard made whole (`results/benchmarks/README.md`, 2026-12-06). Setting the threshold
/// turns the raising off (mallopt(3)). Large blocks then stay mappings, which glibc grows in place
/// (`mremap`) and gives back when freed. Other C libraries have no such threshold.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn fix_mmap_threshold() {
    const M_MMAP_THRESHOLD: std::ffi::c_int = -3;
    unsafe extern "C" {
        fn mallopt(param: std::ffi::c_int, value: std::ffi::c_int) -> std::ffi::c_int;
    }
    // SAFETY: mallopt only sets an allocator parameter; it is called before any thread starts.
    // A refusal (it returns 0) leaves glibc's own behaviour, which is correct, only larger.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn fix_mmap_threshold() {}

fn main() -> ExitCode {
    fix_mmap_threshold();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    npvrisk::output::set_quiet(cli.quiet);
    // The variable sets rayon's global pool too (the commands without `--threads`, reproduce's
    // fits say, which rayon starts when first used): checked before anything runs.
    if let Err(e) = npvrisk::run::env_threads() {
        eprintln!("error: {e}");
        return ExitCode::from(e.exit_code());
    }
    npvrisk::guard::set_deny_warnings(cli.deny_warnings);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ Failure::Interrupted { .. }) => {
            // The same command with --resume in place of --checkpoint continues the run.
            let mut cmd: Vec<String> = std::env::args().collect();
            if let Some(i) = cmd.iter().position(|x| x == "--checkpoint") {
                cmd[i] = "--resume".into();
            }
            eprintln!("{e}\nhint: resume with `{}`", cmd.join(" "));
            ExitCode::from(e.exit_code())
        }
        Err(e) => {
            npvrisk::output::remove_abandoned();
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
