//! Distribution files: which model parameters are uncertain and how, overlaid on a model.
//!
//! A distribution file (TOML) lists `[[input]]` entries, each assigning a distribution to a
//! parameter path ([`crate::params`]), and optionally a `[correlation]` section with a target
//! rank-correlation matrix. Several files can be overlaid: an input for a path given in a later
//! file replaces the earlier one; a later `[correlation]` replaces an earlier one. Parameters
//! without a distribution stay at their point value in the chosen scenario.
//!
//! This module is the single place where distribution files are checked; every error names the
//! file, line:column, the field, the value and what is allowed.
//!
//! Kinds: `fixed`, `uniform`, `triangular`, `pert`, `normal`, `truncated_normal`, `lognormal`
//! (mean/sd, median/p90 or p10/p90), `beta` (alpha/beta or mean/sd, optionally on [min, max]),
//! `gamma`, `discrete`, `bernoulli`, `empirical` (a CSV column), `quantiles` (an expert's
//! P10/P50/P90), `metalog` (Keelin's metalog through any number of expert quantile pairs,
//! optionally bounded, or fitted to observations in a CSV column as rmetalog fits them;
//! [`crate::metalog`]) and `between_scenarios`, the probabilistic replacement for a base/prudent pair:
//! the parameter moves along the line from its low-scenario value to its mode-scenario value,
//! `θ = θ_low + t (θ_mode − θ_low)`, with `t` PERT-distributed, most likely 1 (the mode scenario)
//! and with the low scenario at a chosen percentile (default: prudent is the 10th percentile).
//! A `between_scenarios` input may instead `follow` another one: it takes that input's position
//! `t` (clipped to its own `min_position`/`max_position` and physical range), so inputs that
//! move together are at their prudent values together.
//!
//! Target rank correlations are met for any marginals: the copula's normal-score correlations
//! are solved pair by pair for the inputs' own marginals (ties included) and, when the solved
//! matrix is not positive semi-definite, repaired to the nearest correlation matrix
//! ([`crate::copula`]). They are solved for the distributions as they stand in the file that
//! gives the correlation; a later file changing a correlated input keeps that copula (common
//! random numbers for the other inputs).

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::copula::{self, Marginal};
use crate::dist::{Dist, DistError};
use crate::error::{InputError, show};
use crate::model::ModelSpec;
use crate::params::{self, Domain, ParamRef, Target, ThemeField};

/// How one input's values are drawn from a uniform `u`.
#[derive(Debug, Clone)]
pub enum InputDist {
    /// One distribution for a single-valued parameter.
    Direct(Dist),
    /// `θ = low + t (mode − low)` element-wise, with `t ~ t_dist` clipped to `clip` (the
    /// clip only binds for an input that follows another's position).
    Between {
        low: Vec<f64>,
        mode: Vec<f64>,
        t_dist: Dist,
        clip: (f64, f64),
    },
}

/// Draws of an input between scenarios whose positions are found together.
const BETWEEN_STEP: usize = 64;

/// The lines of an input between scenarios for a batch of uniforms or scores `xs`: each draw's
/// `low + t·(mode − low)` element by element (`low.len()` values a draw, into `out`), from its
/// position `t` clipped to `clip`, the positions of up to [`BETWEEN_STEP`] draws written at a
/// time by `positions(xs, t)`.
fn between_batch(
    (low, mode, clip): (&[f64], &[f64], (f64, f64)),
    xs: &[f64],
    out: &mut [f64],
    positions: impl Fn(&[f64], &mut [f64]),
) {
    let w = low.len();
    if w == 0 {
        return;
    }
    let mut at = [0.0; BETWEEN_STEP];
    for (xs, out) in xs
        .chunks(BETWEEN_STEP)
        .zip(out.chunks_mut(BETWEEN_STEP * w))
    {
        let at = &mut at[..xs.len()];
        positions(xs, at);
        for (line, &t) in out.chunks_exact_mut(w).zip(at.iter()) {
            let t = t.clamp(clip.0, clip.1);
            for (x, (l, md)) in line.iter_mut().zip(low.iter().zip(mode)) {
                *x = l + t * (md - l);
            }
        }
    }
}

impl InputDist {
    /// Write the values for uniform `u` into `out` (length = the parameter's width).
    pub fn values(&self, u: f64, out: &mut [f64]) {
        self.values_batch(std::slice::from_ref(&u), out);
    }

    /// [`InputDist::values`] for a batch of uniforms, bit for bit: the values of `u[j]` go to
    /// `out[j·w..(j + 1)·w]`, where `w` is the parameter's width (`out.len() = u.len()·w`).
    ///
    /// # Panics
    /// If `out.len()` is not a multiple of `u.len()` that matches the input's width.
    pub fn values_batch(&self, u: &[f64], out: &mut [f64]) {
        self.batch(u, out, |d, u, out| d.quantiles(u, out));
    }

    /// Whether the input's values have a path from normal scores
    /// ([`Dist::samples_from_scores`]): then [`InputDist::values_batch_at_scores`] takes the
    /// scores themselves.
    pub fn samples_from_scores(&self) -> bool {
        match self {
            InputDist::Direct(d) => d.samples_from_scores(),
            InputDist::Between { t_dist, .. } => t_dist.samples_from_scores(),
        }
    }

    /// [`InputDist::values_batch`] at normal scores `z` instead of uniforms (see
    /// [`Dist::quantiles_at_scores`]), for an input that [samples from
    /// scores](InputDist::samples_from_scores): the values of `z[j]` go to
    /// `out[j·w..(j + 1)·w]`. Returns false (and writes nothing) for any other input.
    ///
    /// # Panics
    /// If `out` does not hold `w` values per score.
    pub fn values_batch_at_scores(&self, z: &[f64], out: &mut [f64]) -> bool {
        if !self.samples_from_scores() {
            return false;
        }
        self.batch(z, out, |d, z, out| {
            d.quantiles_at_scores(z, out);
        });
        true
    }

    /// The values of a batch of uniforms or scores `xs` (`w` values per draw into `out`), each
    /// distribution's quantiles over a slice written by `quantiles`.
    fn batch(&self, xs: &[f64], out: &mut [f64], quantiles: impl Fn(&Dist, &[f64], &mut [f64])) {
        let m = xs.len();
        match self {
            InputDist::Direct(d) => {
                assert_eq!(out.len(), m, "values_batch: one value per draw");
                quantiles(d, xs, out);
            }
            InputDist::Between {
                low,
                mode,
                t_dist,
                clip,
            } => {
                let w = low.len();
                assert_eq!(out.len(), m * w, "values_batch: {w} values per draw");
                between_batch((low, mode, *clip), xs, out, |xs, t| {
                    quantiles(t_dist, xs, t)
                });
            }
        }
    }

    /// How the input's (first) value depends on its uniform, for rank correlations.
    pub fn marginal(&self) -> Marginal {
        match self {
            InputDist::Direct(d) => Marginal::with_flats(1.0, d.atoms()),
            InputDist::Between {
                low,
                mode,
                t_dist,
                clip,
            } => {
                let d = mode[0] - low[0];
                if d == 0.0 {
                    return Marginal::with_flats(1.0, vec![(0.0, 1.0)]);
                }
                let mut flats = t_dist.atoms();
                let (lo, hi) = t_dist.support();
                if clip.0 > lo {
                    flats.push((0.0, t_dist.cdf(clip.0)));
                }
                if clip.1 < hi {
                    flats.push((t_dist.cdf(clip.1), 1.0));
                }
                Marginal::with_flats(d.signum(), flats)
            }
        }
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self {
            InputDist::Direct(d) => d.kind_name().to_string(),
            InputDist::Between { .. } => "between_scenarios".to_string(),
        }
    }
}

/// One uncertain input.
#[derive(Debug, Clone)]
pub struct Input {
    pub param: ParamRef,
    pub dist: InputDist,
    /// The name whose key seeds this input's random numbers: its path, or a shared `stream`
    /// name (inputs sharing a stream move together, rank correlation 1).
    pub stream: String,
    /// Where the distribution comes from (free text from the file).
    pub source: Option<String>,
    /// File that defined this input.
    pub file: String,
    /// The path of the input whose position between the scenarios this one follows, if any.
    pub follows: Option<String>,
}

/// A validated target rank-correlation matrix over named inputs.
#[derive(Debug, Clone)]
pub struct Correlation {
    /// Indices into [`DistSet::inputs`].
    pub inputs: Vec<usize>,
    /// Target Spearman rank correlations.
    pub rank: Vec<Vec<f64>>,
    /// Normal-score correlations solved pair by pair for the inputs' marginals (before repair).
    pub solved: Vec<Vec<f64>>,
    /// The normal-score correlation matrix the copula uses: `solved`, or its nearest
    /// correlation matrix when `solved` is not positive semi-definite.
    pub normal: Vec<Vec<f64>>,
    /// The Spearman correlations `normal` gives (the targets, unless a target is out of reach
    /// of the marginals or the matrix was repaired).
    pub expected: Vec<Vec<f64>>,
    /// What was adjusted and why (unreachable targets, repair), for the reader.
    pub notes: Vec<String>,
    /// Factor `A` with `A Aᵀ = normal` (Gaussian copula); row-major.
    pub factor: Vec<Vec<f64>>,
}

/// The overlaid distribution set for one model and scenario.
#[derive(Debug, Clone, Default)]
pub struct DistSet {
    pub inputs: Vec<Input>,
    pub correlation: Option<Correlation>,
    /// (file name, contents) of every file read, in order (for hashes in run metadata).
    pub files: Vec<(String, String)>,
    /// Per file, in order: how many inputs it gives and how many of those replace an input of
    /// an earlier file (same parameter path).
    pub layers: Vec<Layer>,
}

/// What one distribution file contributed to an overlay.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layer {
    pub file: String,
    pub inputs: usize,
    pub overriding: usize,
}

impl DistSet {
    /// One line saying where the distributions come from, the first `defaults` files being the
    /// embedded defaults: e.g. `11 default + 1 from mine.toml (1 overriding) = 11 uncertain
    /// inputs`.
    pub fn describe_overlay(&self, defaults: usize) -> String {
        let mut parts: Vec<String> = Vec::new();
        let d: usize = self.layers.iter().take(defaults).map(|l| l.inputs).sum();
        if defaults > 0 {
            parts.push(format!("{d} default"));
        }
        for l in self.layers.iter().skip(defaults) {
            let name = &l.file;
            let over = if l.overriding > 0 {
                format!(" ({} overriding)", l.overriding)
            } else {
                String::new()
            };
            parts.push(format!("{} from {name}{over}", l.inputs));
        }
        if parts.is_empty() {
            return "no distribution file: every input at its point value".into();
        }
        let n = self.inputs.len();
        format!(
            "{} = {n} uncertain input{}",
            parts.join(" + "),
            if n == 1 { "" } else { "s" }
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    input: Vec<Spanned<RawInput>>,
    #[serde(default)]
    correlation: Option<Spanned<RawCorrelation>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCorrelation {
    inputs: Spanned<Vec<Spanned<String>>>,
    rank: Spanned<Vec<Spanned<Vec<Spanned<f64>>>>>,
    #[serde(default)]
    source: Option<String>,
}

type Num = Option<Spanned<f64>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInput {
    path: Spanned<String>,
    kind: Spanned<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    stream: Option<Spanned<String>>,
    #[serde(default)]
    value: Num,
    #[serde(default)]
    min: Num,
    #[serde(default)]
    mode: Num,
    #[serde(default)]
    max: Num,
    #[serde(default)]
    shape: Num,
    #[serde(default)]
    mean: Num,
    #[serde(default)]
    sd: Num,
    #[serde(default)]
    median: Num,
    #[serde(default)]
    p10: Num,
    #[serde(default)]
    p50: Num,
    #[serde(default)]
    p90: Num,
    #[serde(default)]
    alpha: Num,
    #[serde(default)]
    beta: Num,
    #[serde(default)]
    scale: Num,
    #[serde(default)]
    p: Num,
    #[serde(default)]
    values: Option<Spanned<Vec<f64>>>,
    #[serde(default)]
    weights: Option<Spanned<Vec<f64>>>,
    #[serde(default)]
    csv: Option<Spanned<String>>,
    #[serde(default)]
    column: Option<Spanned<String>>,
    #[serde(default)]
    low_scenario: Option<Spanned<String>>,
    #[serde(default)]
    mode_scenario: Option<Spanned<String>>,
    #[serde(default)]
    low_percentile: Num,
    #[serde(default)]
    extend: Option<Spanned<String>>,
    #[serde(default)]
    follow: Option<Spanned<String>>,
    #[serde(default)]
    min_position: Num,
    #[serde(default)]
    max_position: Num,
    #[serde(default)]
    probabilities: Option<Spanned<Vec<Spanned<f64>>>>,
    #[serde(default)]
    quantiles: Option<Spanned<Vec<Spanned<f64>>>>,
    #[serde(default)]
    terms: Option<Spanned<i64>>,
}

const KINDS: [&str; 16] = [
    "fixed",
    "uniform",
    "triangular",
    "pert",
    "normal",
    "truncated_normal",
    "lognormal",
    "beta",
    "gamma",
    "discrete",
    "bernoulli",
    "empirical",
    "quantiles",
    "between_scenarios",
    "from_quantiles",
    "metalog",
];

struct Ctx<'a> {
    file: &'a str,
    src: &'a str,
    dir: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, at: usize, field: &str, value: String, allowed: &str) -> InputError {
        InputError::value(self.file, self.src, at, field, value, allowed)
    }
}

/// Which numeric fields a kind takes; used to reject fields that do not belong to it.
fn numeric_fields(r: &RawInput) -> Vec<(&'static str, &Num)> {
    vec![
        ("value", &r.value),
        ("min", &r.min),
        ("mode", &r.mode),
        ("max", &r.max),
        ("shape", &r.shape),
        ("mean", &r.mean),
        ("sd", &r.sd),
        ("median", &r.median),
        ("p10", &r.p10),
        ("p50", &r.p50),
        ("p90", &r.p90),
        ("alpha", &r.alpha),
        ("beta", &r.beta),
        ("scale", &r.scale),
        ("p", &r.p),
        ("low_percentile", &r.low_percentile),
        ("min_position", &r.min_position),
        ("max_position", &r.max_position),
    ]
}

/// The field a distribution error is about (to locate it in the file).
fn dist_error_field(e: &DistError) -> Option<&str> {
    match e {
        DistError::NotFinite { field, .. }
        | DistError::NotANumber { field }
        | DistError::NotPositive { field, .. }
        | DistError::Negative { field, .. }
        | DistError::OutOfRange { field, .. }
        | DistError::Order { field, .. } => Some(field),
        DistError::WeightSum { .. } | DistError::LengthMismatch { .. } => Some("weights"),
        DistError::Empty { field } | DistError::Indistinct { field, .. } => Some(field),
        DistError::NoMass { .. } => Some("min"),
        DistError::Invalid { field, .. } => Some(field),
    }
}

/// A parsed `[correlation]` section: its location, input names and target matrix.
type RawCorrelationSection = (Spanned<()>, Vec<String>, Vec<Vec<f64>>);

/// One parsed file: its inputs, the offset of each one's `follow` field, its correlation.
type ParsedFile = (Vec<Input>, Vec<usize>, Option<RawCorrelationSection>);

/// Parse one distribution file against a model. Returns its inputs, the offset of each one's
/// `follow` field (0 when it has none; followed inputs are resolved by [`load`], after
/// overlaying) and its correlation section.
#[allow(clippy::needless_range_loop)] // matrix indices
pub fn parse_dist_file(file: &str, src: &str, model: &ModelSpec) -> Result<ParsedFile, InputError> {
    let dir = Path::new(file).parent().unwrap_or(Path::new("."));
    let ctx = Ctx { file, src, dir };
    let raw: RawFile =
        toml::from_str(src).map_err(|e| crate::format::parser_error(file, src, e))?;
    let _ = raw.description;
    let mut inputs: Vec<Input> = Vec::new();
    let mut follow_at: Vec<usize> = Vec::new();
    for ri in raw.input {
        let span = ri.span();
        let ri = ri.into_inner();
        let path = ri.path.get_ref().clone();
        let param = params::resolve(model, &path)
            .map_err(|m| ctx.err(ri.path.span().start, "input.path", format!("{path:?}"), &m))?;
        // The same parameter, also when named once by its former `_bn` name.
        if inputs.iter().any(|i| i.param.target == param.target) {
            return Err(ctx.err(
                ri.path.span().start,
                "input.path",
                format!("{path:?}"),
                "each path may appear once per file",
            ));
        }
        let dist = build(&ctx, &ri, &param, model, span.start)?;
        check_share(&ctx, ri.path.span().start, &param, model, &inputs)?;
        let stream = match &ri.stream {
            Some(s) => s.get_ref().clone(),
            None => path.clone(),
        };
        if let Some(f) = &ri.follow {
            if let Some(s) = &ri.stream {
                return Err(ctx.err(s.span().start, "input.stream", format!("{:?}", s.get_ref()), "an input with `follow` draws from the stream of the input it follows: remove `stream`"));
            }
            if f.get_ref() == &path {
                return Err(ctx.err(
                    f.span().start,
                    "input.follow",
                    format!("{:?}", f.get_ref()),
                    "must name another input",
                ));
            }
        }
        inputs.push(Input {
            param,
            dist,
            stream,
            source: ri.source.clone(),
            file: file.to_string(),
            follows: ri.follow.as_ref().map(|f| f.get_ref().clone()),
        });
        follow_at.push(ri.follow.as_ref().map_or(0, |f| f.span().start));
    }
    let corr = match raw.correlation {
        None => None,
        Some(c) => {
            let at = c.span();
            let c = c.into_inner();
            let _ = c.source;
            let names: Vec<String> = c
                .inputs
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect();
            for (i, n) in c.inputs.get_ref().iter().enumerate() {
                if names[..i].contains(n.get_ref()) {
                    return Err(ctx.err(
                        n.span().start,
                        "correlation.inputs",
                        format!("{:?}", n.get_ref()),
                        "each input may appear once",
                    ));
                }
            }
            let k = names.len();
            if k == 0 {
                return Err(ctx.err(
                    c.inputs.span().start,
                    "correlation.inputs",
                    "[]".into(),
                    "must name the inputs to correlate (leave out [correlation] for none)",
                ));
            }
            let rows = c.rank.get_ref();
            if rows.len() != k || rows.iter().any(|r| r.get_ref().len() != k) {
                return Err(ctx.err(
                    c.rank.span().start,
                    "correlation.rank",
                    format!("a {}-row matrix", rows.len()),
                    &format!("must be a {k}×{k} matrix, one row and column per name in `inputs`"),
                ));
            }
            let mut m = vec![vec![0.0; k]; k];
            for (i, r) in rows.iter().enumerate() {
                for (j, v) in r.get_ref().iter().enumerate() {
                    let x = *v.get_ref();
                    let field = format!("correlation.rank[{i}][{j}]");
                    if !(-1.0..=1.0).contains(&x) {
                        return Err(ctx.err(
                            v.span().start,
                            &field,
                            show(x),
                            "must lie in [-1, 1]",
                        ));
                    }
                    if i == j && x != 1.0 {
                        return Err(ctx.err(
                            v.span().start,
                            &field,
                            show(x),
                            "diagonal entries must be 1",
                        ));
                    }
                    m[i][j] = x;
                }
            }
            for i in 0..k {
                for j in 0..i {
                    if (m[i][j] - m[j][i]).abs() > 1e-12 {
                        let v = &rows[i].get_ref()[j];
                        return Err(ctx.err(
                            v.span().start,
                            &format!("correlation.rank[{i}][{j}]"),
                            show(m[i][j]),
                            &format!(
                                "must equal rank[{j}][{i}] = {}: the matrix must be symmetric",
                                show(m[j][i])
                            ),
                        ));
                    }
                }
            }
            if let Some(lambda) = min_eigenvalue(&m)
                && lambda < -1e-10
            {
                return Err(ctx.err(
                    c.rank.span().start,
                    "correlation.rank",
                    format!("a matrix with smallest eigenvalue {lambda:.4}"),
                    "must be positive semi-definite (no eigenvalue below 0)",
                ));
            }
            Some((Spanned::new(at, ()), names, m))
        }
    };
    Ok((inputs, follow_at, corr))
}

fn need(ctx: &Ctx, v: &Num, name: &str, kind: &str, at: usize) -> Result<f64, InputError> {
    match v {
        Some(x) => Ok(*x.get_ref()),
        None => Err(ctx.err(
            at,
            name,
            "missing".into(),
            &format!("kind `{kind}` needs `{name}`"),
        )),
    }
}

fn build(
    ctx: &Ctx,
    r: &RawInput,
    param: &ParamRef,
    model: &ModelSpec,
    at: usize,
) -> Result<InputDist, InputError> {
    let kind = r.kind.get_ref().as_str();
    let kind_at = r.kind.span().start;
    if !KINDS.contains(&kind) {
        let hint = crate::error::nearest(kind, KINDS)
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        return Err(ctx.err(
            kind_at,
            "input.kind",
            format!("{kind:?}"),
            &format!("must be one of {}{hint}", KINDS.join(", ")),
        ));
    }
    let allowed: &[&str] = match kind {
        "fixed" => &["value"],
        "uniform" => &["min", "max"],
        "triangular" => &["min", "mode", "max"],
        "pert" => &["min", "mode", "max", "shape"],
        "normal" => &["mean", "sd"],
        "truncated_normal" => &["mean", "sd", "min", "max"],
        "lognormal" => &["mean", "sd", "median", "p10", "p90"],
        "beta" => &["alpha", "beta", "mean", "sd", "min", "max"],
        "gamma" => &["shape", "scale"],
        "discrete" | "bernoulli" | "empirical" => &["p"],
        "quantiles" | "from_quantiles" => &["p10", "p50", "p90", "min", "max"],
        "between_scenarios" => &["low_percentile", "shape", "min_position", "max_position"],
        "metalog" => &["min", "max"],
        _ => &[],
    };
    for (name, v) in numeric_fields(r) {
        if let Some(x) = v
            && !allowed.contains(&name)
            && !(kind == "discrete" && name == "p")
        {
            return Err(ctx.err(
                x.span().start,
                &format!("input.{name}"),
                show(*x.get_ref()),
                &format!(
                    "kind `{kind}` does not take `{name}`; it takes {}",
                    if allowed.is_empty() {
                        "no numeric fields".to_string()
                    } else {
                        allowed.join(", ")
                    }
                ),
            ));
        }
    }
    if kind != "metalog" {
        let spans = [
            (
                "probabilities",
                r.probabilities.as_ref().map(|x| x.span().start),
            ),
            ("quantiles", r.quantiles.as_ref().map(|x| x.span().start)),
            ("terms", r.terms.as_ref().map(|x| x.span().start)),
        ];
        if let Some((name, Some(pos))) = spans.into_iter().find(|(_, p)| p.is_some()) {
            return Err(ctx.err(
                pos,
                &format!("input.{name}"),
                "given".into(),
                &format!("kind `{kind}` does not take `{name}`; only kind `metalog` does"),
            ));
        }
    }
    let field_at = |name: &str| -> usize {
        numeric_fields(r)
            .into_iter()
            .find(|(n, v)| *n == name && v.is_some())
            .map_or(at, |(_, v)| v.as_ref().unwrap().span().start)
    };
    let map_err = |e: DistError| {
        let f = dist_error_field(&e).unwrap_or("kind");
        // `probabilities[i]` / `quantiles[i]`: the element itself, else the array.
        let element = |list: &Option<Spanned<Vec<Spanned<f64>>>>, name: &str| {
            let l = list.as_ref()?;
            let i = f
                .strip_prefix(name)
                .and_then(|s| s.strip_prefix('['))
                .and_then(|s| s.strip_suffix(']'))
                .and_then(|s| s.parse::<usize>().ok());
            Some(match i.and_then(|i| l.get_ref().get(i)) {
                Some(e) => e.span().start,
                None => l.span().start,
            })
        };
        let pos = if let Some(p) = f
            .starts_with("probabilities")
            .then(|| element(&r.probabilities, "probabilities"))
            .flatten()
            .or_else(|| {
                f.starts_with("quantiles")
                    .then(|| element(&r.quantiles, "quantiles"))
                    .flatten()
            }) {
            p
        } else if f == "terms" {
            r.terms.as_ref().map_or(at, |t| t.span().start)
        } else if f == "csv" {
            r.csv.as_ref().map_or(at, |c| c.span().start)
        } else if f.starts_with("weights") {
            r.weights.as_ref().map_or(at, |w| w.span().start)
        } else if f.starts_with("values") {
            r.values.as_ref().map_or(at, |w| w.span().start)
        } else {
            field_at(f)
        };
        InputError::syntax(
            ctx.file,
            ctx.src,
            pos,
            format!("input `{}`: {e}", param.path),
        )
    };
    if kind == "between_scenarios" {
        return between(ctx, r, param, model, at);
    }
    if let Some(f) = &r.follow {
        return Err(ctx.err(f.span().start, "input.follow", format!("{:?}", f.get_ref()), &format!("kind `{kind}` cannot follow another input; only `between_scenarios` inputs follow another's position between the scenarios")));
    }
    if param.width() != 1 {
        return Err(ctx.err(r.path.span().start, "input.path", format!("{:?}", param.path), &format!("kind `{kind}` draws one number, but this path is a list of {} years: name one year (e.g. `{}[0]`) or use kind `between_scenarios`", param.width(), param.path)));
    }
    let n = |name: &str, v: &Num| need(ctx, v, name, kind, at);
    let d = match kind {
        "fixed" => Dist::fixed(n("value", &r.value)?),
        "uniform" => Dist::uniform(n("min", &r.min)?, n("max", &r.max)?),
        "triangular" => Dist::triangular(n("min", &r.min)?, n("mode", &r.mode)?, n("max", &r.max)?),
        "pert" => Dist::pert(
            n("min", &r.min)?,
            n("mode", &r.mode)?,
            n("max", &r.max)?,
            r.shape.as_ref().map_or(4.0, |s| *s.get_ref()),
        ),
        "normal" => Dist::normal(n("mean", &r.mean)?, n("sd", &r.sd)?),
        "truncated_normal" => Dist::truncated_normal(
            n("mean", &r.mean)?,
            n("sd", &r.sd)?,
            r.min.as_ref().map_or(f64::NEG_INFINITY, |x| *x.get_ref()),
            r.max.as_ref().map_or(f64::INFINITY, |x| *x.get_ref()),
        ),
        "lognormal" => match (&r.mean, &r.sd, &r.median, &r.p10, &r.p90) {
            (Some(m), Some(s), None, None, None) => {
                Dist::lognormal_mean_sd(*m.get_ref(), *s.get_ref())
            }
            (None, None, Some(m), None, Some(p)) => {
                Dist::lognormal_median_p90(*m.get_ref(), *p.get_ref())
            }
            (None, None, None, Some(a), Some(b)) => {
                Dist::lognormal_p10_p90(*a.get_ref(), *b.get_ref())
            }
            _ => {
                return Err(ctx.err(
                    kind_at,
                    "input.kind",
                    "\"lognormal\"".into(),
                    "give exactly one of: mean and sd; median and p90; p10 and p90",
                ));
            }
        },
        "beta" => match (&r.alpha, &r.beta, &r.mean, &r.sd) {
            (Some(a), Some(b), None, None) => Dist::beta_scaled(
                *a.get_ref(),
                *b.get_ref(),
                r.min.as_ref().map_or(0.0, |x| *x.get_ref()),
                r.max.as_ref().map_or(1.0, |x| *x.get_ref()),
            ),
            (None, None, Some(m), Some(s)) if r.min.is_none() && r.max.is_none() => {
                Dist::beta_mean_sd(*m.get_ref(), *s.get_ref())
            }
            _ => {
                return Err(ctx.err(
                    kind_at,
                    "input.kind",
                    "\"beta\"".into(),
                    "give alpha and beta (optionally min and max), or mean and sd (on [0, 1])",
                ));
            }
        },
        "gamma" => Dist::gamma(n("shape", &r.shape)?, n("scale", &r.scale)?),
        "discrete" => {
            let v = r.values.as_ref().ok_or_else(|| {
                ctx.err(
                    at,
                    "input.values",
                    "missing".into(),
                    "kind `discrete` needs `values` and `weights`",
                )
            })?;
            let w = r.weights.as_ref().ok_or_else(|| {
                ctx.err(
                    at,
                    "input.weights",
                    "missing".into(),
                    "kind `discrete` needs `values` and `weights`",
                )
            })?;
            Dist::discrete(v.get_ref().clone(), w.get_ref().clone())
        }
        "bernoulli" => Dist::bernoulli(n("p", &r.p)?),
        "empirical" => Dist::empirical(read_column(ctx, r, at)?),
        "quantiles" | "from_quantiles" => {
            let bounds = match (&r.min, &r.max) {
                (None, None) => None,
                (lo, hi) => Some((
                    lo.as_ref().map_or(f64::NEG_INFINITY, |x| *x.get_ref()),
                    hi.as_ref().map_or(f64::INFINITY, |x| *x.get_ref()),
                )),
            };
            Dist::from_quantiles(
                n("p10", &r.p10)?,
                n("p50", &r.p50)?,
                n("p90", &r.p90)?,
                bounds,
            )
        }
        "metalog" if r.csv.is_some() => {
            let pairs = [
                ("probabilities", &r.probabilities),
                ("quantiles", &r.quantiles),
            ];
            if let Some((name, Some(l))) = pairs.into_iter().find(|(_, l)| l.is_some()) {
                return Err(ctx.err(
                    l.span().start,
                    &format!("input.{name}"),
                    "given".into(),
                    "a metalog is fitted either to observations (`csv`, `column`) or to quantile \
                     pairs (`probabilities`, `quantiles`), not both",
                ));
            }
            let terms = match &r.terms {
                Some(t) if *t.get_ref() >= 2 && *t.get_ref() <= 16 => *t.get_ref() as usize,
                Some(t) => {
                    return Err(ctx.err(
                        t.span().start,
                        "input.terms",
                        t.get_ref().to_string(),
                        "must be an integer in [2, 16], at most the number of observations",
                    ));
                }
                None => {
                    return Err(ctx.err(
                        at,
                        "input.terms",
                        "missing".into(),
                        "kind `metalog` fitted to observations (`csv`) needs `terms`, an \
                         integer in [2, 16]",
                    ));
                }
            };
            let data = read_column(ctx, r, at)?;
            Dist::metalog_data(
                &data,
                terms,
                r.min.as_ref().map(|x| *x.get_ref()),
                r.max.as_ref().map(|x| *x.get_ref()),
            )
            .map_err(|e| match e {
                // Name the file and column the observations come from.
                DistError::Invalid { field, allowed, .. } => DistError::Invalid {
                    field,
                    value: format!(
                        "{:?} column {:?} ({} observations)",
                        r.csv.as_ref().map_or("", |c| c.get_ref()),
                        r.column.as_ref().map_or("", |c| c.get_ref()),
                        data.len()
                    ),
                    allowed,
                },
                other => other,
            })
        }
        "metalog" => {
            let list = |l: &Option<Spanned<Vec<Spanned<f64>>>>, name: &str| {
                l.as_ref()
                    .map(|v| {
                        v.get_ref()
                            .iter()
                            .map(|x| *x.get_ref())
                            .collect::<Vec<f64>>()
                    })
                    .ok_or_else(|| {
                        ctx.err(
                            at,
                            &format!("input.{name}"),
                            "missing".into(),
                            "kind `metalog` needs `probabilities` and `quantiles` (arrays of \
                             equal length, at least 3 entries)",
                        )
                    })
            };
            let probabilities = list(&r.probabilities, "probabilities")?;
            let quantiles = list(&r.quantiles, "quantiles")?;
            let terms = match &r.terms {
                None => None,
                Some(t) if *t.get_ref() >= 2 && *t.get_ref() <= 16 => Some(*t.get_ref() as usize),
                Some(t) => {
                    return Err(ctx.err(
                        t.span().start,
                        "input.terms",
                        t.get_ref().to_string(),
                        "must be an integer in [2, 16], at most the number of quantile pairs",
                    ));
                }
            };
            Dist::metalog(
                &probabilities,
                &quantiles,
                terms,
                r.min.as_ref().map(|x| *x.get_ref()),
                r.max.as_ref().map(|x| *x.get_ref()),
            )
        }
        _ => unreachable!("kinds are checked above"),
    }
    .map_err(map_err)?;
    let (lo, hi) = d.support();
    if !param.domain.contains_interval(lo, hi) {
        return Err(ctx.err(kind_at, &param.path, format!("a {kind} distribution on [{}, {}]", show(lo), show(hi)), &format!("the parameter is {}: its distribution must stay inside that range (truncate or bound it)", param.domain.describe())));
    }
    Ok(InputDist::Direct(d))
}

/// Read the numbers of one CSV column for an empirical distribution.
fn read_column(ctx: &Ctx, r: &RawInput, at: usize) -> Result<Vec<f64>, InputError> {
    let csv = r.csv.as_ref().ok_or_else(|| {
        ctx.err(
            at,
            "input.csv",
            "missing".into(),
            "kind `empirical` needs `csv` (a file, relative to this one) and `column`",
        )
    })?;
    let col = r.column.as_ref().ok_or_else(|| {
        ctx.err(
            at,
            "input.column",
            "missing".into(),
            &format!(
                "kind `{}` with `csv` needs `column` (a header name in the CSV)",
                r.kind.get_ref()
            ),
        )
    })?;
    let path = ctx.dir.join(csv.get_ref());
    let text = crate::input::read_input(&path).map_err(|e| {
        ctx.err(
            csv.span().start,
            "input.csv",
            format!("{:?}", csv.get_ref()),
            &e.to_string(),
        )
    })?;
    // Lines with their terminators, so that byte offsets stay right for CRLF files.
    let mut lines = text.split_inclusive('\n');
    let header_line = lines.next().unwrap_or("");
    // A byte-order mark (as a spreadsheet's "CSV UTF-8" writes) is not part of the first name.
    let header = header_line
        .trim_start_matches('\u{feff}')
        .trim_end_matches(['\n', '\r']);
    let names: Vec<&str> = header.split(',').map(|s| s.trim()).collect();
    let csv_name = path.display().to_string();
    if names.iter().filter(|n| *n == col.get_ref()).count() > 1 {
        return Err(InputError::value(
            &csv_name,
            &text,
            0,
            "header",
            format!("{header:?}"),
            format!(
                "names the column `{}` more than once: which one is meant is not clear; rename one",
                col.get_ref()
            ),
        ));
    }
    let ci = names
        .iter()
        .position(|n| n == col.get_ref())
        .ok_or_else(|| {
            ctx.err(
                col.span().start,
                "input.column",
                format!("{:?}", col.get_ref()),
                &format!(
                    "`{}` has no such column; its header is {:?}",
                    path.display(),
                    names
                ),
            )
        })?;
    let mut out = Vec::new();
    let mut offset = header_line.len();
    for line in lines {
        let here = offset;
        offset += line.len();
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        // Cells are split at every comma (quoted fields are not read as one): a row too short
        // to hold the column is an error.
        let Some(cell) = line.split(',').nth(ci).map(str::trim) else {
            return Err(InputError::value(
                &csv_name,
                &text,
                here,
                "row",
                format!("{line:?}"),
                format!(
                    "has {} where the column `{}` is cell {} of the header",
                    crate::text::count(line.split(',').count(), "cell", "cells"),
                    col.get_ref(),
                    ci + 1
                ),
            ));
        };
        match cell.parse::<f64>() {
            Ok(v) if v.is_finite() => out.push(v),
            _ => {
                return Err(InputError::value(
                    &csv_name,
                    &text,
                    here,
                    col.get_ref().clone(),
                    format!("{cell:?}"),
                    "must be a finite number",
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(ctx.err(
            col.span().start,
            "input.column",
            format!("{:?}", col.get_ref()),
            &format!("the column has no values in `{csv_name}`: it needs at least one row"),
        ));
    }
    Ok(out)
}

/// The physical range of `t` that keeps every element of `low + t (mode − low)` in the domain.
fn t_range(domain: Domain, low: &[f64], mode: &[f64]) -> (f64, f64) {
    let (lo_b, hi_b) = match domain {
        Domain::Share => (0.0, 1.0),
        Domain::NonNegative => (0.0, f64::INFINITY),
        Domain::Rate => (-1.0 + 1e-9, f64::INFINITY),
    };
    let (mut tmin, mut tmax) = (f64::NEG_INFINITY, f64::INFINITY);
    for (l, m) in low.iter().zip(mode) {
        let d = m - l;
        if d == 0.0 {
            continue;
        }
        let (a, b) = ((lo_b - l) / d, (hi_b - l) / d);
        let (a, b) = if d > 0.0 { (a, b) } else { (b, a) };
        tmin = tmin.max(a);
        tmax = tmax.min(b);
    }
    (tmin, tmax)
}

fn between(
    ctx: &Ctx,
    r: &RawInput,
    param: &ParamRef,
    model: &ModelSpec,
    at: usize,
) -> Result<InputDist, InputError> {
    let scen =
        |v: &Option<Spanned<String>>, default: &str, field: &str| -> Result<usize, InputError> {
            let (name, pos) = match v {
                Some(s) => (s.get_ref().clone(), s.span().start),
                None => (default.to_string(), at),
            };
            model.scenario_index(&name).ok_or_else(|| {
                ctx.err(
                    pos,
                    field,
                    format!("{name:?}"),
                    &format!("must be one of the model's scenarios {:?}", model.scenarios),
                )
            })
        };
    let lo_s = scen(&r.low_scenario, "prudent", "input.low_scenario")?;
    let mo_s = scen(&r.mode_scenario, "base", "input.mode_scenario")?;
    let low = param.values[lo_s].clone();
    let mode = param.values[mo_s].clone();
    let no_clip = (f64::NEG_INFINITY, f64::INFINITY);
    if r.follow.is_some() {
        return follower(ctx, r, param, low, mode, at);
    }
    for (v, name) in [
        (&r.min_position, "input.min_position"),
        (&r.max_position, "input.max_position"),
    ] {
        if let Some(x) = v {
            return Err(ctx.err(x.span().start, name, show(*x.get_ref()), "only an input that follows another (`follow`) takes `min_position` and `max_position`; its own position is drawn from `low_percentile`, `extend` and `shape`"));
        }
    }
    let q = r.low_percentile.as_ref().map_or(0.10, |x| *x.get_ref());
    if !(0.0..0.5).contains(&q) {
        return Err(ctx.err(r.low_percentile.as_ref().map_or(at, |x| x.span().start), "input.low_percentile", show(q), "must lie in [0, 0.5): the low scenario is a lower percentile of the position between the scenarios (0: the low scenario is the minimum)"));
    }
    let shape = r.shape.as_ref().map_or(4.0, |x| *x.get_ref());
    if low == mode {
        return Ok(InputDist::Between {
            low,
            mode,
            t_dist: Dist::fixed(1.0).expect("1 is finite"),
            clip: no_clip,
        });
    }
    let (tmin, tmax) = t_range(param.domain, &low, &mode);
    let extend = r
        .extend
        .as_ref()
        .map_or("symmetric", |e| e.get_ref().as_str());
    let upper = |a: f64| match extend {
        "none" => 1.0,
        _ => (1.0 + (1.0 - a)).min(tmax),
    };
    if !matches!(extend, "symmetric" | "none") {
        let e = r.extend.as_ref().unwrap();
        return Err(ctx.err(e.span().start, "input.extend", format!("{extend:?}"), "must be \"symmetric\" (the range above the mode scenario mirrors the range below, clipped at the physical bound) or \"none\" (the mode scenario is the maximum)"));
    }
    if q == 0.0 {
        let t_dist = Dist::pert(0.0, 1.0, upper(0.0).max(1.0), shape).map_err(|e| {
            InputError::syntax(
                ctx.file,
                ctx.src,
                at,
                format!("input `{}`: {e}", param.path),
            )
        })?;
        return Ok(InputDist::Between {
            low,
            mode,
            t_dist,
            clip: no_clip,
        });
    }
    // P(t ≤ 0) as a function of the lower end a < 0 rises from 0 (a → 0) as a falls; find the a
    // where it equals q by bisection. The search floor is the physical bound, or −1000.
    let cdf0 = |a: f64| Dist::pert_cdf(a, 1.0, upper(a).max(1.0), shape, 0.0).unwrap_or(f64::NAN);
    let floor = tmin.max(-1000.0);
    let at_floor = cdf0(floor);
    if at_floor.is_nan() || at_floor < q {
        return Err(ctx.err(at, &param.path, format!("low scenario {:?} at percentile {}", low, show(q)), &format!("cannot be the {} percentile of a PERT around the mode scenario inside the parameter's physical range ({}); lower `low_percentile` or use another kind", show(q), param.domain.describe())));
    }
    let (mut a, mut b) = (floor, -1e-12);
    for _ in 0..200 {
        let mid = 0.5 * (a + b);
        if cdf0(mid) >= q {
            a = mid
        } else {
            b = mid
        }
        if b - a < 1e-14 {
            break;
        }
    }
    let t_dist = Dist::pert(a, 1.0, upper(a).max(1.0), shape).map_err(|e| {
        InputError::syntax(
            ctx.file,
            ctx.src,
            at,
            format!("input `{}`: {e}", param.path),
        )
    })?;
    Ok(InputDist::Between {
        low,
        mode,
        t_dist,
        clip: no_clip,
    })
}

/// A `between_scenarios` input that follows another's position: its line from `low` to `mode`
/// and the clip of the position; the position's distribution is the followed input's, filled
/// in by [`load`].
fn follower(
    ctx: &Ctx,
    r: &RawInput,
    param: &ParamRef,
    low: Vec<f64>,
    mode: Vec<f64>,
    at: usize,
) -> Result<InputDist, InputError> {
    let f = r.follow.as_ref().expect("called for followers");
    let own = [
        (
            "input.low_percentile",
            r.low_percentile
                .as_ref()
                .map(|x| (x.span().start, show(*x.get_ref()))),
        ),
        (
            "input.shape",
            r.shape
                .as_ref()
                .map(|x| (x.span().start, show(*x.get_ref()))),
        ),
        (
            "input.extend",
            r.extend
                .as_ref()
                .map(|x| (x.span().start, format!("{:?}", x.get_ref()))),
        ),
    ];
    for (name, v) in own {
        if let Some((pos, value)) = v {
            return Err(ctx.err(pos, name, value, &format!("an input that follows `{}` takes its position from it; bound the position with `min_position` / `max_position` instead", f.get_ref())));
        }
    }
    let (tmin, tmax) = t_range(param.domain, &low, &mode);
    let lo = r
        .min_position
        .as_ref()
        .map_or(f64::NEG_INFINITY, |x| *x.get_ref());
    let hi = r
        .max_position
        .as_ref()
        .map_or(f64::INFINITY, |x| *x.get_ref());
    for (v, name) in [
        (&r.min_position, "input.min_position"),
        (&r.max_position, "input.max_position"),
    ] {
        if let Some(x) = v
            && !x.get_ref().is_finite()
        {
            return Err(ctx.err(
                x.span().start,
                name,
                show(*x.get_ref()),
                "must be a finite position (0 = the low scenario, 1 = the mode scenario)",
            ));
        }
    }
    if lo > hi {
        let x = r.max_position.as_ref().expect("both given when lo > hi");
        return Err(ctx.err(
            x.span().start,
            "input.max_position",
            show(hi),
            &format!("must not be below min_position = {}", show(lo)),
        ));
    }
    let clip = (lo.max(tmin), hi.min(tmax));
    if clip.0 > clip.1 {
        return Err(ctx.err(
            at,
            &param.path,
            format!("positions [{}, {}]", show(lo), show(hi)),
            &format!(
                "the parameter is {}: only positions in [{}, {}] keep it there",
                param.domain.describe(),
                show(tmin),
                show(tmax)
            ),
        ));
    }
    Ok(InputDist::Between {
        low,
        mode,
        t_dist: Dist::fixed(1.0).expect("1 is finite"),
        clip,
    })
}

impl InputDist {
    /// Whether the input takes one value whatever its uniform (a fixed value, or a distribution
    /// of zero width).
    pub fn is_constant(&self) -> bool {
        match self {
            InputDist::Direct(d) => {
                let (lo, hi) = d.support();
                lo == hi
            }
            InputDist::Between {
                low,
                mode,
                t_dist,
                clip,
            } => {
                let (lo, hi) = t_dist.support();
                low == mode || lo.max(clip.0) >= hi.min(clip.1)
            }
        }
    }
}

/// Smallest eigenvalue of a symmetric matrix (None if the decomposition fails).
fn min_eigenvalue(m: &[Vec<f64>]) -> Option<f64> {
    let k = m.len();
    let mat = nalgebra::DMatrix::from_fn(k, k, |i, j| m[i][j]);
    let eig = nalgebra::SymmetricEigen::try_new(mat, 1e-14, 10_000)?;
    eig.eigenvalues.iter().cloned().reduce(f64::min)
}

/// A factor `A` with `A Aᵀ = R` for a positive semi-definite `R` (eigen decomposition, so a
/// singular matrix, e.g. a correlation of exactly 1, is fine).
#[allow(clippy::needless_range_loop)] // matrix indices read clearer than iterator chains
fn psd_factor(r: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let k = r.len();
    let mat = nalgebra::DMatrix::from_fn(k, k, |i, j| r[i][j]);
    let eig = nalgebra::SymmetricEigen::try_new(mat, 1e-14, 10_000)?;
    let mut a = vec![vec![0.0; k]; k];
    for i in 0..k {
        for j in 0..k {
            let l = eig.eigenvalues[j].max(0.0);
            a[i][j] = eig.eigenvectors[(i, j)] * l.sqrt();
        }
    }
    Some(a)
}

/// A set of shares that sums to 1 and whose members can be drawn: a theme's partner shares, the
/// cost shares of a theme that lists outcomes, or one outcome's agency shares.
#[derive(Debug, Clone, Copy, PartialEq)]
enum ShareSet {
    Partner(usize),
    Cost(usize),
    Agency(usize, usize),
}

impl ShareSet {
    /// The set a drawn share belongs to, and the partner it is the share of.
    fn of(target: Target) -> Option<(ShareSet, usize)> {
        match target {
            Target::Theme(t, ThemeField::Share(p)) => Some((ShareSet::Partner(t), p)),
            Target::Theme(t, ThemeField::CostShare(p)) => Some((ShareSet::Cost(t), p)),
            Target::Theme(t, ThemeField::Outcome(o, params::OutcomeField::AgencyShare(p))) => {
                Some((ShareSet::Agency(t, o), p))
            }
            _ => None,
        }
    }

    /// "partner share per theme" and the like, for the messages.
    fn kind(self) -> &'static str {
        match self {
            ShareSet::Partner(_) => "partner share per theme",
            ShareSet::Cost(_) => "cost share per theme",
            ShareSet::Agency(..) => "agency share per outcome",
        }
    }

    /// "theme `a`" or "outcome `o` of theme `a`".
    fn owner(self, model: &ModelSpec) -> String {
        match self {
            ShareSet::Partner(t) | ShareSet::Cost(t) => format!("theme `{}`", model.themes[t].id),
            ShareSet::Agency(t, o) => format!(
                "outcome `{}` of theme `{}`",
                model.themes[t]
                    .local
                    .as_ref()
                    .map_or("?", |l| l.outcomes[o].id.as_str()),
                model.themes[t].id
            ),
        }
    }

    /// The shares' point values in scenario `s` (empty if the model has none).
    fn point(self, model: &ModelSpec, s: usize) -> Vec<f64> {
        let local = |t: usize| model.themes[t].local.as_ref();
        match self {
            ShareSet::Partner(t) => model.themes[t].partner_shares.get(s),
            ShareSet::Cost(t) => local(t).map(|l| l.cost_shares.get(s)).unwrap_or_default(),
            ShareSet::Agency(t, o) => local(t)
                .map(|l| l.outcomes[o].agency_shares.get(s))
                .unwrap_or_default(),
        }
    }
}

/// A drawn share (a partner's share of a theme, of a theme's costs, or of an outcome's fiscal
/// value) is balanced by rescaling the other shares of its set in proportion to their point
/// values (`params::apply`), so that the shares still sum to 1. That needs other shares to
/// rescale, and it keeps only one drawn share per set exact: a second drawn share of the same set
/// would be rescaled by the first, so it is refused rather than silently changed.
fn check_share(
    ctx: &Ctx,
    at: usize,
    param: &ParamRef,
    model: &ModelSpec,
    earlier: &[Input],
) -> Result<(), InputError> {
    let Some((set, p)) = ShareSet::of(param.target) else {
        return Ok(());
    };
    if let Some(other) = earlier
        .iter()
        .find(|i| ShareSet::of(i.param.target).is_some_and(|(s, _)| s == set))
    {
        return Err(ctx.err(
            at,
            "input.path",
            format!("{:?}", param.path),
            &format!(
                "one {} can be drawn, and `{}` already draws one of {}: the other shares are rescaled so the shares sum to 1, which would change the first draw; draw one share",
                set.kind(),
                other.param.path,
                set.owner(model)
            ),
        ));
    }
    for s in 0..model.scenarios.len() {
        let others: f64 = set
            .point(model, s)
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != p)
            .map(|(_, v)| v)
            .sum();
        if others <= 0.0 {
            return Err(ctx.err(
                at,
                "input.path",
                format!("{:?}", param.path),
                &format!(
                    "every other partner's share of {} is 0 in scenario `{}`, so a drawn share below 1 cannot be balanced to keep the shares summing to 1; give the partner that takes the rest a non-zero share in the model",
                    set.owner(model),
                    model.scenarios[s]
                ),
            ));
        }
    }
    Ok(())
}

/// Overlay distribution files (in order) on a model. `files` are (name, contents).
pub fn load(model: &ModelSpec, files: &[(String, String)]) -> Result<DistSet, InputError> {
    // Per path: the input, and where its `follow` is (file index, offset).
    let mut by_path: BTreeMap<String, (Input, usize, usize)> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut by_canonical: HashMap<String, String> = HashMap::new();
    let mut corr = None;
    // Each correlated input as it stood in the file that gave the correlation (see below).
    let mut at_correlation: BTreeMap<String, Input> = BTreeMap::new();
    let mut layers = Vec::with_capacity(files.len());
    for (fi, (name, src)) in files.iter().enumerate() {
        let (inputs, follow_at, c) = parse_dist_file(name, src, model)?;
        let mut layer = Layer {
            file: name.clone(),
            inputs: inputs.len(),
            overriding: 0,
        };
        for (i, at) in inputs.into_iter().zip(follow_at) {
            // A parameter named by its former `_bn` name in one file and by its name in another
            // is one parameter: the later file's input replaces the earlier one.
            let canonical = params::canonical_path(&i.param.path);
            match by_canonical.get(&canonical) {
                Some(old) => {
                    layer.overriding += 1;
                    if *old != i.param.path {
                        by_path.remove(old);
                        let k = order.iter().position(|p| p == old).expect("listed");
                        order[k] = i.param.path.clone();
                    }
                }
                None => order.push(i.param.path.clone()),
            }
            by_canonical.insert(canonical, i.param.path.clone());
            by_path.insert(i.param.path.clone(), (i, fi, at));
        }
        if let Some(c) = c {
            at_correlation =
                c.1.iter()
                    .filter_map(|n| by_path.get(n).map(|(i, _, _)| (n.clone(), i.clone())))
                    .collect();
            corr = Some((name.clone(), src.clone(), fi, c));
        }
        layers.push(layer);
    }
    // One drawn share per set across files too (`check_share`).
    for (a, pa) in order.iter().enumerate() {
        let Some((set, _)) = ShareSet::of(by_path[pa].0.param.target) else {
            continue;
        };
        if let Some(pb) = order[..a]
            .iter()
            .find(|pb| ShareSet::of(by_path[*pb].0.param.target).is_some_and(|(s, _)| s == set))
        {
            let i = &by_path[pa];
            let (name, src) = files
                .iter()
                .find(|(n, _)| *n == i.0.file)
                .expect("the input's file");
            let at = src.find(pa.as_str()).unwrap_or(0);
            return Err(InputError::value(
                name,
                src,
                at,
                "input.path",
                format!("{pa:?}"),
                format!(
                    "one {} can be drawn, and `{pb}` (in `{}`) already draws one of {}: the other shares are rescaled so the shares sum to 1, which would change the first draw",
                    set.kind(),
                    by_path[pb].0.file,
                    set.owner(model)
                ),
            ));
        }
    }
    // Sorted by path: the order of inputs (and Sobol dimensions) does not depend on file order.
    // By the canonical path first, so that a list drawn whole (by either of its names) comes
    // before its elements drawn per year (`…one_off_costs_bn` would sort after
    // `…one_off_costs[1]`): they are applied in this order, the element last.
    order.sort_by_cached_key(|p| (params::canonical_path(p), p.clone()));
    let placed: Vec<(Input, usize, usize)> =
        order.iter().map(|p| by_path.remove(p).unwrap()).collect();
    let mut inputs: Vec<Input> = Vec::with_capacity(placed.len());
    for (input, fi, at) in &placed {
        let mut input = input.clone();
        if let Some(leader) = &input.follows {
            let (file, src) = &files[*fi];
            let bad = |allowed: &str| {
                InputError::value(
                    file,
                    src,
                    *at,
                    "input.follow",
                    format!("{leader:?}"),
                    allowed,
                )
            };
            let Some((l, _, _)) = placed.iter().find(|(l, _, _)| l.param.path == *leader) else {
                let hint = crate::error::nearest(
                    leader,
                    placed.iter().map(|(l, _, _)| l.param.path.as_str()),
                )
                .map(|p| format!(" (did you mean `{p}`?)"))
                .unwrap_or_default();
                return Err(bad(&format!(
                    "must name an input with a distribution (in this or an earlier file){hint}"
                )));
            };
            if l.follows.is_some() {
                return Err(bad(&format!(
                    "`{leader}` itself follows `{}`: follow that input instead",
                    l.follows.as_deref().unwrap_or("")
                )));
            }
            let InputDist::Between { t_dist, .. } = &l.dist else {
                return Err(bad(&format!(
                    "`{leader}` is a `{}` input: only the position of a `between_scenarios` input can be followed",
                    l.dist.describe()
                )));
            };
            if let InputDist::Between { t_dist: mine, .. } = &mut input.dist {
                *mine = t_dist.clone();
            }
            input.stream = l.stream.clone();
        }
        inputs.push(input);
    }
    let correlation = match corr {
        None => None,
        Some((file, src, cfi, (span, names, rank))) => {
            let mut idx = Vec::new();
            for n in &names {
                match inputs.iter().position(|i| i.param.path == *n) {
                    Some(i) => idx.push(i),
                    None => {
                        return Err(InputError::value(
                            &file,
                            &src,
                            span.span().start,
                            "correlation.inputs",
                            format!("{n:?}"),
                            "every correlated name must be an input with a distribution (in this or an earlier file)",
                        ));
                    }
                }
            }
            // The copula is solved for the inputs' distributions as they stood in the file that
            // gave the correlation: a later file that changes a correlated input's distribution
            // (e.g. a batch scenario fixing it) keeps the copula, so every other input's draws
            // stay the same (common random numbers); its own rank correlations then follow from
            // that copula, and a note says so unless it is now constant.
            let mut marginals = Vec::with_capacity(idx.len());
            let mut kept = Vec::new();
            for (&i, n) in idx.iter().zip(&names) {
                let now = inputs[i].dist.marginal();
                let then = match at_correlation.get(n) {
                    Some(old) if placed[i].1 > cfi => {
                        let mut old = old.clone();
                        if let (Some(l), InputDist::Between { t_dist, .. }) =
                            (&old.follows, &mut old.dist)
                            && let Some(InputDist::Between { t_dist: lt, .. }) =
                                inputs.iter().find(|x| x.param.path == *l).map(|x| &x.dist)
                        {
                            *t_dist = lt.clone();
                        }
                        old.dist.marginal()
                    }
                    _ => now.clone(),
                };
                if then != now && now.direction != 0.0 {
                    kept.push(format!("{n} (redefined in {})", inputs[i].file));
                }
                marginals.push(then);
            }
            let c = solve_correlation(&inputs, idx, &names, rank, &marginals, &kept).ok_or_else(|| InputError::value(&file, &src, span.span().start, "correlation.rank", "the matrix", "its normal-score form could not be factored (an eigen decomposition failed to converge)"))?;
            Some(c)
        }
    };
    Ok(DistSet {
        inputs,
        correlation,
        files: files.to_vec(),
        layers,
    })
}

/// The copula for target rank correlations `rank` among `inputs[idx]`: normal-score
/// correlations solved per pair for the inputs' marginals, repaired to the nearest correlation
/// matrix if needed, and its factor. None if the factorisation fails.
#[allow(clippy::needless_range_loop)] // matrix indices
fn solve_correlation(
    inputs: &[Input],
    idx: Vec<usize>,
    names: &[String],
    rank: Vec<Vec<f64>>,
    marginals: &[Marginal],
    kept: &[String],
) -> Option<Correlation> {
    let k = idx.len();
    let mut solved = vec![vec![0.0; k]; k];
    let mut notes = Vec::new();
    if !kept.is_empty() {
        notes.push(format!(
            "The copula was solved for the distributions in the file that gives the correlation; {} changed afterwards, so the copula is kept (the other inputs' draws are unchanged) and its achieved rank correlations can differ from the targets. Repeat the [correlation] section in the later file to solve it for the new distributions.",
            kept.join(", ")
        ));
    }
    let mut memo = copula::SolveMemo::default();
    for i in 0..k {
        solved[i][i] = 1.0;
        for j in 0..i {
            let s = memo.solve(rank[i][j], &marginals[i], &marginals[j]);
            if !s.reachable {
                notes.push(format!(
                    "The target rank correlation {} of {} ~ {} is out of reach of their distributions (ties or a constant input); the closest, {:.3}, is used.",
                    show(rank[i][j]),
                    names[i],
                    names[j],
                    s.spearman
                ));
            }
            solved[i][j] = s.r;
            solved[j][i] = s.r;
        }
    }
    let lambda = copula::min_eigenvalue(&solved);
    let normal = if lambda < -1e-12 {
        let repaired = copula::nearest_correlation(&solved, 1e-13);
        let change = (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| (repaired[i][j] - solved[i][j]).abs())
            .fold(0.0, f64::max);
        notes.push(format!(
            "The normal-score correlations solved for the target rank correlations form a matrix that is not positive semi-definite (smallest eigenvalue {lambda:.4}); it was replaced by the nearest correlation matrix (Higham 2002), which changes an entry by at most {change:.4}, so some achieved rank correlations differ from their targets."
        ));
        repaired
    } else {
        solved.clone()
    };
    let now: Vec<Marginal> = idx.iter().map(|&i| inputs[i].dist.marginal()).collect();
    let mut expected = vec![vec![1.0; k]; k];
    for i in 0..k {
        for j in 0..i {
            let e = copula::spearman(normal[i][j], &now[i], &now[j]);
            expected[i][j] = e;
            expected[j][i] = e;
        }
    }
    let factor = psd_factor(&normal)?;
    Some(Correlation {
        inputs: idx,
        rank,
        solved,
        normal,
        expected,
        notes,
        factor,
    })
}
