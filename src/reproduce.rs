//! The figure-by-figure comparison of a model with a report's published figures, and its
//! renderings (CSV, Markdown, a README summary). Computes and formats; the binary writes files.

use std::fmt::Write as _;

use crate::model::{Evaluation, ModelSpec, Outcome};
use crate::published::{Figures, Printed, Published, Unit, fraction_figure, note};

/// One compared figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub theme: String,
    pub figure: String,
    pub scenario: String,
    pub published: Printed,
    /// The model's value in model units (`None`: the model has no such value, e.g. the leakage of
    /// an NPV that is already negative).
    pub model: Option<f64>,
    pub within: bool,
    /// Why a figure is not reproduced (from the published file's notes).
    pub note: Option<String>,
}

impl Comparison {
    /// Multiplier from model units to display units (percentages in percentage points).
    fn display_scale(&self) -> f64 {
        if matches!(self.published.unit, Unit::Pct | Unit::Fraction) {
            100.0
        } else {
            1.0
        }
    }
    pub fn published_display(&self) -> f64 {
        self.published.value * self.display_scale()
    }
    pub fn model_display(&self) -> Option<f64> {
        self.model.map(|m| m * self.display_scale())
    }
    pub fn difference_display(&self) -> Option<f64> {
        self.model
            .map(|m| (m - self.published.value) * self.display_scale())
    }
    pub fn tolerance_display(&self) -> f64 {
        self.published.tolerance * self.display_scale()
    }
    /// The band of the printed figure, in display units.
    pub fn band_display(&self) -> (f64, f64) {
        (
            self.published.lo * self.display_scale(),
            self.published.hi * self.display_scale(),
        )
    }
    /// The band as shown in the tables: `±t` around a printed number, `[lo, hi]` for a fraction
    /// in words (whose band is not centred on the fraction named).
    fn band_text(&self) -> String {
        if self.published.unit == Unit::Fraction {
            let (lo, hi) = self.band_display();
            format!("[{}, {}]", trim(lo), trim(hi))
        } else {
            format!("±{}", trim(self.tolerance_display()))
        }
    }
}

/// The scenario label of a figure printed once for every scenario (the total addressable spend).
pub const ALL_SCENARIOS: &str = "all";

/// Whether a model value lies in a printed figure's band.
fn inside(m: Option<f64>, p: &Printed) -> bool {
    m.is_some_and(|v| v >= p.lo - EPS && v <= p.hi + EPS)
}

/// Slack for floating-point noise when comparing against a rounding tolerance.
const EPS: f64 = 1e-9;

struct Collector<'a> {
    out: Vec<Comparison>,
    scenarios: &'a [String],
}

impl Collector<'_> {
    /// Compare a figure in every scenario it is printed for (`None`: not printed).
    fn add<'p>(
        &mut self,
        theme: &str,
        figure: &str,
        published: impl IntoIterator<Item = Option<&'p Printed>>,
        model: impl Fn(usize) -> Option<f64>,
        note_of: impl Fn(usize) -> Option<String>,
    ) {
        for (s, p) in published.into_iter().enumerate() {
            let Some(p) = p else {
                continue;
            };
            let m = model(s);
            let within = inside(m, p);
            self.out.push(Comparison {
                theme: theme.to_string(),
                figure: figure.to_string(),
                scenario: self.scenarios[s].clone(),
                published: p.clone(),
                model: m,
                within,
                note: if within { None } else { note_of(s) },
            });
        }
    }

    /// Compare a figure printed once for every scenario: it is reproduced when the model's
    /// value is inside its band in every scenario (the value shown is the first scenario's, or
    /// the first outside the band).
    fn add_once(
        &mut self,
        theme: &str,
        figure: &str,
        p: &Printed,
        model: impl Fn(usize) -> Option<f64>,
        note: Option<String>,
    ) {
        let vals: Vec<Option<f64>> = (0..self.scenarios.len()).map(model).collect();
        let within = vals.iter().all(|m| inside(*m, p));
        let shown = vals
            .iter()
            .find(|m| !inside(**m, p))
            .or(vals.first())
            .copied()
            .flatten();
        self.out.push(Comparison {
            theme: theme.to_string(),
            figure: figure.to_string(),
            scenario: ALL_SCENARIOS.to_string(),
            published: p.clone(),
            model: shown,
            within,
            note: if within { None } else { note },
        });
    }
}

/// Looks up the explanation of a figure: (figure, partner, scenario index) → note.
type NoteFn<'a> = &'a dyn Fn(&str, Option<&str>, usize) -> Option<String>;
/// A published figure of an outcome and how to read it off the model.
type OutcomeFigure<'a> = (
    &'a str,
    &'a Option<Vec<Printed>>,
    fn(&Outcome) -> Option<f64>,
);

fn outcome_figures(
    c: &mut Collector,
    theme: &str,
    figs: &Figures,
    get: &dyn Fn(usize) -> (Outcome, Vec<crate::model::Allocation>),
    partner_index: &dyn Fn(&str) -> Option<usize>,
    notes: NoteFn,
) {
    if let Some(rows) = &figs.rows {
        let h = rows[0].len();
        for t in 0..h {
            let per: Vec<Printed> = rows.iter().map(|r| r[t].clone()).collect();
            let name = format!("year_{}", t + 1);
            c.add(
                theme,
                &name,
                per.iter().map(Some),
                |s| Some(get(s).0.flows.discounted_net[t]),
                |s| notes("rows", None, s).or_else(|| notes(&name, None, s)),
            );
        }
    }
    type Simple<'a> = [OutcomeFigure<'a>];
    let simple = |c: &mut Collector, list: &Simple| {
        for (name, vals, f) in list {
            if let Some(v) = vals {
                c.add(
                    theme,
                    name,
                    v.iter().map(Some),
                    |s| f(&get(s).0),
                    |s| notes(name, None, s),
                );
            }
        }
    };
    simple(
        c,
        &[
            ("npv_5yr", &figs.npv_5yr, |o| Some(o.npv)),
            ("pilot_total", &figs.pilot_totals, |o| Some(o.npv)),
            ("net_annual", &figs.net_annual, |o| Some(o.net_annual)),
        ],
    );
    if let Some(p) = &figs.addressable_spend {
        // Printed once for both scenarios: its note is keyed `addressable_spend.all`.
        let key = format!("addressable_spend.{ALL_SCENARIOS}");
        c.add_once(
            theme,
            "addressable_spend",
            p,
            |s| Some(get(s).0.addressable_spend),
            notes(&key, None, 0),
        );
    }
    simple(
        c,
        &[
            ("pct_addressable", &figs.pct_addressable, |o| {
                Some(o.share_of_addressable)
            }),
            ("leakage_to_zero", &figs.leakage_to_zero, |o| {
                o.leakage_to_zero
            }),
            ("delay_to_zero", &figs.delay_to_zero, |o| {
                Some(o.delay_to_zero.whole_years as f64)
            }),
        ],
    );
    for (pid, figures) in &figs.partners {
        let Some(pi) = partner_index(pid) else {
            continue;
        };
        for (fname, vals) in figures {
            type Pick = fn(&Outcome, &crate::model::Allocation) -> Option<f64>;
            let pick: Pick = match fname.as_str() {
                "annual" | "budget_table_annual" => |_, a| Some(a.annual_bn),
                "pct_budget" => |_, a| a.share_of_budget,
                "npv_share" => |_, a| Some(a.npv_bn),
                "npv_without" => |_, a| Some(a.npv_without),
                "single_party" => |_, a| Some(a.npv_single_party),
                f if fraction_figure(f) => |o, a| (o.npv > 0.0).then(|| a.npv_bn / o.npv),
                _ => |_, _| None,
            };
            let label = format!("{fname}.{pid}");
            c.add(
                theme,
                &label,
                vals.iter().map(Option::as_ref),
                |s| {
                    let (o, a) = get(s);
                    pick(&o, &a[pi])
                },
                |s| notes(fname, Some(pid), s),
            );
        }
    }
}

/// Compare every published figure with the model. Scenarios are matched by name.
pub fn compare(p: &Published, m: &ModelSpec) -> Result<Vec<Comparison>, String> {
    let idx: Vec<usize> = p
        .scenarios
        .iter()
        .map(|s| {
            m.scenario_index(s)
                .ok_or_else(|| format!("the model has no scenario `{s}`"))
        })
        .collect::<Result<_, _>>()?;
    let evals: Vec<Evaluation> = idx.iter().map(|&s| m.evaluate(s)).collect();
    let partner_index = |id: &str| m.partners.iter().position(|q| q.id == id);
    let mut c = Collector {
        out: Vec::new(),
        scenarios: &p.scenarios,
    };
    for t in &p.themes {
        let ti = m
            .themes
            .iter()
            .position(|x| x.id == t.id)
            .ok_or_else(|| format!("the model has no theme `{}`", t.id))?;
        let get = |s: usize| {
            (
                evals[s].themes[ti].clone(),
                evals[s].allocations[ti].clone(),
            )
        };
        let notes = |f: &str, pid: Option<&str>, s: usize| {
            t.note(f, pid, &p.scenarios[s]).map(str::to_string)
        };
        outcome_figures(&mut c, &t.id, &t.figures, &get, &partner_index, &notes);
    }
    let get = |s: usize| (evals[s].total.clone(), evals[s].total_allocations.clone());
    let notes = |f: &str, pid: Option<&str>, s: usize| {
        note(&p.total_notes, f, pid, &p.scenarios[s]).map(str::to_string)
    };
    outcome_figures(&mut c, "total", &p.total, &get, &partner_index, &notes);
    Ok(c.out)
}

fn fmt4(x: Option<f64>) -> String {
    match x {
        Some(v) => {
            let s = format!("{v:.4}");
            if s == "-0.0000" { "0.0000".into() } else { s }
        }
        None => "".into(),
    }
}

/// CSV with the columns `theme,figure,scenario,published,model,difference,tolerance,low,high,
/// within,certificate,conflicting` (money in £bn, percentages and fractions in percentage points,
/// delays in years; `low`–`high` is the printed figure's band, `published ± tolerance` for a
/// printed number).
pub fn to_csv(rows: &[Comparison], certs: &[(crate::fit::Key, crate::fit::Certificate)]) -> String {
    use crate::fit::Certificate;
    let mut o = String::from(
        "theme,figure,scenario,published,model,difference,tolerance,low,high,within,certificate,conflicting\n",
    );
    for r in rows {
        let key = key_of(r);
        let (kind, set) = match certs.iter().find(|(k, _)| *k == key).map(|c| &c.1) {
            Some(Certificate::Infeasible(s)) => ("infeasible", s.clone()),
            Some(c @ Certificate::Costs { lost, .. }) => (
                if c.is_tie() { "tie" } else { "costs_figures" },
                lost.clone(),
            ),
            Some(Certificate::Fits) => ("not_proven", Vec::new()),
            None => ("", Vec::new()),
        };
        let set: Vec<String> = set.iter().map(key_text).collect();
        let (lo, hi) = r.band_display();
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{},{},{},{},{kind},{}",
            r.theme,
            r.figure,
            r.scenario,
            fmt4(Some(r.published_display())),
            fmt4(r.model_display()),
            fmt4(r.difference_display()),
            fmt4(Some(r.tolerance_display())),
            fmt4(Some(lo)),
            fmt4(Some(hi)),
            r.within,
            set.join("; ")
        );
    }
    o
}

/// Counts of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub total: usize,
    pub within: usize,
    pub explained: usize,
    pub unexplained: usize,
}

pub fn tally(rows: &[Comparison]) -> Tally {
    let within = rows.iter().filter(|r| r.within).count();
    let explained = rows
        .iter()
        .filter(|r| !r.within && r.note.is_some())
        .count();
    Tally {
        total: rows.len(),
        within,
        explained,
        unexplained: rows.len() - within - explained,
    }
}

fn model_text(r: &Comparison) -> String {
    match r.model_display() {
        Some(v) => format!("{v:.3}"),
        None => "negative NPV".into(),
    }
}

/// The side-by-side table as plain text (for the terminal): one heading per theme, then its
/// figures, columns as wide as their longest entry, so that it fits 100 columns.
pub fn to_table(rows: &[Comparison]) -> String {
    let status = |r: &Comparison| {
        if r.within {
            "yes"
        } else if r.note.is_some() {
            "no*"
        } else {
            "NO"
        }
    };
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.figure.clone(),
                r.scenario.clone(),
                r.published.text.clone(),
                model_text(r),
                r.band_text(),
                status(r).to_string(),
            ]
        })
        .collect();
    let head = [
        "figure",
        "scenario",
        "published",
        "model",
        "tolerance",
        "ok",
    ];
    let w: Vec<usize> = (0..6)
        .map(|k| {
            cells
                .iter()
                .map(|c| c[k].chars().count())
                .chain([head[k].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |c: [&str; 6]| {
        format!(
            "  {:<w0$} {:<w1$} {:>w2$} {:>w3$} {:>w4$}  {}",
            c[0],
            c[1],
            c[2],
            c[3],
            c[4],
            c[5],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        )
    };
    let mut o = String::new();
    let _ = writeln!(o, "{}", line(head).trim_end());
    let mut theme: Option<&str> = None;
    for (r, c) in rows.iter().zip(&cells) {
        if theme != Some(r.theme.as_str()) {
            let _ = writeln!(o, "{}", r.theme);
            theme = Some(r.theme.as_str());
        }
        let _ = writeln!(o, "{}", line([&c[0], &c[1], &c[2], &c[3], &c[4], &c[5]]));
    }
    let _ = writeln!(
        o,
        "\nno* = a documented discrepancy: its reason and certificate are in reproduction.md \
         (`--out`)."
    );
    let t = tally(rows);
    let _ = writeln!(
        o,
        "\n{} figures: {} within tolerance, {} documented discrepancies, {} unexplained.",
        t.total, t.within, t.explained, t.unexplained
    );
    o
}

fn trim(x: f64) -> String {
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The full comparison as Markdown.
pub fn to_markdown(rows: &[Comparison], model_file: &str, published_file: &str) -> String {
    let t = tally(rows);
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Reproduction of the 2013 aggregation report's published figures\n"
    );
    let _ = writeln!(
        o,
        "Model: `{model_file}`. Published figures: `{published_file}`. Regenerate with `cargo run --release -- reproduce`.\n"
    );
    let _ = writeln!(
        o,
        "Money in £bn, percentages in percentage points, delays in whole years. Tolerance is half a unit in the last printed digit.\n"
    );
    let _ = writeln!(
        o,
        "**{} figures: {} within tolerance, {} documented discrepancies, {} unexplained.**\n",
        t.total, t.within, t.explained, t.unexplained
    );
    let _ = writeln!(
        o,
        "| theme | figure | scenario | published | model | difference | tolerance | within | why not |"
    );
    let _ = writeln!(o, "|---|---|---|---:|---:|---:|---:|:---:|---|");
    for r in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.theme,
            r.figure,
            r.scenario,
            r.published.text,
            model_text(r),
            r.difference_display()
                .map_or(String::new(), |d| format!("{d:+.3}")),
            r.band_text(),
            if r.within { "yes" } else { "**no**" },
            r.note.as_deref().unwrap_or("")
        );
    }
    o
}

/// A short README: what is reproduced, what is not and why.
pub fn to_readme(rows: &[Comparison], conventions: &str) -> String {
    let t = tally(rows);
    let mut o = String::new();
    let _ = writeln!(o, "# The 2013 aggregation, reproduced\n");
    let _ = writeln!(
        o,
        "`cargo run --release -- reproduce` evaluates the embedded model (`distributions/ey2013.toml`, calibrated from `distributions/ey2013_published.toml` by `npvrisk calibrate`) at the prudent and base scenarios and compares it with every figure the report prints. `reproduction.csv` and `reproduction.md` hold the figure-by-figure table; this file is generated with them.\n"
    );
    let _ = writeln!(
        o,
        "Of {} published figures, **{} are reproduced within their rounding tolerance**, {} are documented discrepancies and {} are unexplained.\n",
        t.total, t.within, t.explained, t.unexplained
    );
    let _ = writeln!(
        o,
        "The model's unpublished parameters are those of the joint fit (`src/fit.rs`): the values that put the most published figures inside their rounding. `certificates.md` gives, for each discrepancy, its certificate (infeasible together with the reproduced figures, with an irreducible conflicting set; or, with it inside, its theme ranks lower than now; or a tie: with it inside, its theme ranks the same, trading it against the figures named), and the joint fit's count under each convention considered: the shipped conventions (year 1 undiscounted, activity-scaled cost following the profile, shares read over the allocated total) give the most.\n"
    );
    let _ = writeln!(o, "## Reproduced, by theme\n");
    let mut themes: Vec<&str> = rows.iter().map(|r| r.theme.as_str()).collect();
    themes.dedup();
    for th in &themes {
        let of: Vec<&Comparison> = rows.iter().filter(|r| r.theme == *th).collect();
        let ok = of.iter().filter(|r| r.within).count();
        let _ = writeln!(o, "- `{th}`: {ok} of {}", of.len());
    }
    let _ = writeln!(o, "\n## Reproduced, by figure type\n");
    let kind = |r: &Comparison| -> String {
        let f = r.figure.split('.').next().unwrap_or("");
        if f.starts_with("year_") {
            "year (yearly rows)".to_string()
        } else {
            f.to_string()
        }
    };
    let mut kinds: Vec<String> = Vec::new();
    for r in rows {
        let k = kind(r);
        if !kinds.contains(&k) {
            kinds.push(k);
        }
    }
    let _ = writeln!(o, "| figure type | reproduced | compared |");
    let _ = writeln!(o, "|---|---:|---:|");
    for k in &kinds {
        let of: Vec<&Comparison> = rows.iter().filter(|r| kind(r) == *k).collect();
        let ok = of.iter().filter(|r| r.within).count();
        let _ = writeln!(o, "| `{k}` | {ok} | {} |", of.len());
    }
    let _ = writeln!(o, "\n## Reproduced, by convention\n");
    let _ = writeln!(
        o,
        "The joint fit's count under each reading of the report considered (`certificates.md` says how the fit works); the shipped model is the first.\n"
    );
    o.push_str(conventions);
    let _ = writeln!(o, "\n## Not reproduced, and why\n");
    for r in rows.iter().filter(|r| !r.within) {
        let _ = writeln!(
            o,
            "- `{}` {} ({}): published {}, model {}. {}",
            r.theme,
            r.figure,
            r.scenario,
            r.published.text,
            model_text(r),
            r.note.as_deref().unwrap_or("UNEXPLAINED.")
        );
    }
    o
}

/// The key of a compared figure in the joint fit's terms.
pub fn key_of(r: &Comparison) -> crate::fit::Key {
    crate::fit::Key {
        theme: r.theme.clone(),
        figure: r.figure.clone(),
        scenario: r.scenario.clone(),
    }
}

/// Certificates for the figures `rows` leaves outside their bands (see [`crate::fit`]), under
/// the shipped conventions.
pub fn certify(
    p: &Published,
    rows: &[Comparison],
) -> Vec<(crate::fit::Key, crate::fit::Certificate)> {
    let reproduced: Vec<_> = rows.iter().filter(|r| r.within).map(key_of).collect();
    let out: Vec<_> = rows.iter().filter(|r| !r.within).map(key_of).collect();
    crate::fit::certificates(p, &crate::fit::Conventions::SHIPPED, &reproduced, &out)
}

fn key_text(k: &crate::fit::Key) -> String {
    format!("{} {} ({})", k.theme, k.figure, k.scenario)
}

/// The certificates of the discrepancies, and the joint fit's count under each convention
/// (`conventions`, from [`conventions_table`]), as Markdown.
pub fn certificates_md(
    certs: &[(crate::fit::Key, crate::fit::Certificate)],
    conventions: &str,
) -> String {
    use crate::fit::Certificate;
    let mut o = String::new();
    let _ = writeln!(o, "# Certificates of the discrepancies\n");
    let _ = writeln!(
        o,
        "Generated by `cargo run --release -- reproduce` (src/fit.rs). For each figure the embedded model leaves outside its rounding band, a linear program asks whether the figure can be put inside its band while every figure the model reproduces stays inside its own, for any non-negative one-off, ongoing and activity-scaled costs and any gross benefit, and for any partner shares within their printed rounding (each partner figure enters through its exact projection with its share free, a relaxation, so an infeasible answer is a proof). Where it is infeasible, deletion filtering gives an irreducible set of reproduced figures it conflicts with; a test re-solves every set. Where it is feasible, a second program forces the figure in and counts its theme's figures with costs and shares solved together (`fit::trade_bound`: a relaxation, so its count is an upper bound): its bound is a rank: figures inside, then figures of the cost-benefit tables inside (yearly rows, NPVs, pilot totals, leakage), the fit's first two criteria; of two printings of one model quantity whose bands only meet at a rounding boundary (the allocation table's 0.1 and the DEL table's 0.2 of one partner) counts at most one, since the boundary prints as one of them. \"costs figures\" means that bound is below the theme's rank now, so reproducing the figure would lower it (the reproduced figures the best such model loses are named). \"tie\" means the best such model ranks exactly as the shipped one (as many figures, as many of the cost-benefit tables): the figure trades against the ones named, the fit's rank does not separate the two sets, and the fit keeps the one it found first (a round replaces a fit only when its rank grows); a test re-solves it. \"fits\" means neither is proven.\n"
    );
    let proven = certs
        .iter()
        .filter(|c| matches!(c.1, Certificate::Infeasible(_)))
        .count();
    let costs = certs
        .iter()
        .filter(|c| matches!(c.1, Certificate::Costs { .. }) && !c.1.is_tie())
        .count();
    let ties = certs.iter().filter(|c| c.1.is_tie()).count();
    let _ = writeln!(
        o,
        "**{} discrepancies: {} proven infeasible together with the reproduced figures, {} proven to cost more than they gain, {} ties (proven to trade one set for another of the same rank), {} not proven.**\n",
        certs.len(),
        proven,
        costs,
        ties,
        certs.len() - proven - costs - ties
    );
    let _ = writeln!(
        o,
        "| figure | certificate | conflicting reproduced figures |"
    );
    let _ = writeln!(o, "|---|---|---|");
    for (k, c) in certs {
        let (kind, set) = match c {
            Certificate::Infeasible(s) => (
                "infeasible",
                s.iter().map(key_text).collect::<Vec<_>>().join("; "),
            ),
            Certificate::Costs { bound, now, lost } => (
                if c.is_tie() { "tie" } else { "costs figures" },
                format!(
                    "with it inside, its theme keeps at most {} figures, {} of the cost-benefit tables (the model keeps {}, {}); the best such model loses {}",
                    bound.0,
                    bound.1,
                    now.0,
                    now.1,
                    lost.iter().map(key_text).collect::<Vec<_>>().join("; ")
                ),
            ),
            Certificate::Fits => ("fits", String::new()),
        };
        let _ = writeln!(o, "| {} | {kind} | {set} |", key_text(k));
    }
    let _ = writeln!(o, "\n## The joint fit under each convention\n");
    let _ = writeln!(
        o,
        "`fit::joint_fit` maximises the number of figures inside their bands, then the number of figures of the cost-benefit tables (yearly rows, NPVs, pilot totals, leakage), then the closeness of single-valued figures to their band centres. Each theme's costs, gross benefits and partner shares are first solved in one mixed-integer program (a partner figure e·X with u = 1/e is linear in u; the shares' sum is relaxed to tangents and chords; the share of a partner with an NPV-level figure is enumerated on a grid), the shares then fitted exactly; then rounds hold every figure kept and add what they can: each theme at its shares, the headline themes with the headline total, the shares given the costs. The shipped model is this fit under the first convention (`npvrisk calibrate`); every count below is judged on exact shares and exact bands, and is a lower bound on what the convention allows.\n"
    );
    o.push_str(conventions);
    o
}

/// The joint fit's count under each convention considered ([`crate::fit::Conventions::all`], the
/// shipped one first), as a Markdown table: one joint fit per convention, so it is computed once
/// for both files that show it ([`to_readme`], [`certificates_md`]).
pub fn conventions_table(p: &Published, figures: usize) -> String {
    use crate::fit::{Conventions, joint_fit};
    let mut o = String::new();
    let _ = writeln!(o, "| conventions | figures inside (of {figures}) |");
    let _ = writeln!(o, "|---|---:|");
    // One fit per convention, side by side on the available cores (each fit is single-threaded
    // and deterministic; the rows keep the conventions' order).
    use rayon::prelude::*;
    let counts: Vec<(String, usize)> = Conventions::all()
        .into_par_iter()
        .map(|c| (c.label(), joint_fit(p, &c).count()))
        .collect();
    for (label, count) in counts {
        let _ = writeln!(o, "| {label} | {count} |");
    }
    o
}
