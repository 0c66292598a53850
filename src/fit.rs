//! The joint fit behind `npvrisk calibrate`: the unpublished parameters of each theme are chosen
//! so that as many published figures as possible lie inside their rounding bands, and every
//! figure left outside carries a checkable certificate.
//!
//! At fixed conventions every published figure is linear in a theme's unknowns
//!
//! - `g_s`, the gross benefit at full potential in scenario `s`;
//! - `F_t ≥ 0`, the fixed (one-off plus ongoing) cost of year `t`, one schedule per cost group
//!   (one group when the theme's costs are shared, else one per scenario);
//! - `O`, the flat ongoing cost (`0 ≤ O ≤ F_t` in every year), which lowers the steady state;
//! - `V ≥ 0`, the activity-scaled cost at full activity (it follows the profile, or is flat under
//!   the alternative convention);
//!
//! and a partner's figure is its share times such a linear form. A band `lo ≤ a·x + c ≤ hi` with a
//! binary indicator and big-M bounds turns "maximise the number of figures inside their bands" into
//! a mixed-integer linear program, solved with `good_lp`'s pure-Rust `microlp` backend.
//!
//! Shares and costs are solved together, theme by theme (`joint_theme_problem`): a partner
//! figure `e·X` is bilinear, but with `u = 1/e` its band is `lo·u ≤ X ≤ hi·u`, linear; only the
//! shares' sum is not, and it is relaxed (tangents and chords of `1/u`). An NPV-level partner
//! figure (`NPV − e·PVB`, `e·PVB − PVC`) stays bilinear, so the share of the first partner that has
//! one is enumerated on a grid. The relaxation proposes the costs; the shares are then fitted
//! exactly to them, and the grid point with the best exact count is kept. Alternating costs given
//! shares and shares given costs from the printed shares, which this replaces, stopped at a local
//! optimum (135 of the 178 figures then compared, against 143).
//!
//! Then rounds keep every figure inside and add what they can: each theme at its fitted shares;
//! the three headline themes with the headline total (which couples them); the shares given the
//! costs. Counts are judged with exact shares and the model file's rounding against exact bands.
//!
//! The objective ranks fits by the number of figures inside, then by the number of figures of the
//! cost-benefit tables inside ([`tabled`]), then (an LP, given the kept set) by the least sum over
//! all single-valued figures of the distance to the band centre in units of the tolerance, which
//! makes the unknowns unique. Every solve is deterministic (single-threaded simplex, fixed
//! variable and constraint order, first best grid point kept), so the output is the same bytes on
//! every run and thread count.
//!
//! Certificates (see [`certificates`]): for a figure outside its band, the program consisting of
//! its band and the bands of the figures the fit reproduces is solved as an LP. If it is
//! infeasible, deletion filtering shrinks the reproduced set to an irreducible conflicting set.
//! Partner figures enter certificates through their exact projection onto the theme's unknowns
//! (their share free within the printed share's rounding), which can only widen the feasible set:
//! an infeasible certificate is therefore a proof for every choice of shares.

use good_lp::{
    Expression, ProblemVariables, ResolutionError, Solution, SolverModel, Variable, microlp,
    variable,
};

use crate::kernel::discount_factors;
use crate::kernel::slid_profile_pv;
use crate::model::ThemeInputs;
use crate::published::{CostRule, Printed, PubTheme, Published, fraction_figure};
use crate::reproduce::ALL_SCENARIOS;

/// The report's discount rate (§3.4).
pub const RATE: f64 = 0.035;

/// How partner shares whose printed values do not add up to 100% are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareRule {
    /// Shares are taken over the allocated total: effective shares sum to 1 and stand in the
    /// ratios of shares inside their printed rounding.
    Allocated,
    /// Each share lies inside its printed rounding; the remainder goes to an explicit
    /// "unallocated" partner.
    Unallocated,
}

/// The modelling conventions a fit is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conventions {
    /// Year 1 is discounted by one year (else year 1 is the undiscounted base year).
    pub year1_discounted: bool,
    /// The activity-scaled cost follows the benefit profile (else it is flat).
    pub scaled_follows_profile: bool,
    pub shares: ShareRule,
}

impl Conventions {
    /// The conventions of the shipped model.
    pub const SHIPPED: Conventions = Conventions {
        year1_discounted: false,
        scaled_follows_profile: true,
        shares: ShareRule::Allocated,
    };

    /// Every combination considered, the shipped one first.
    pub fn all() -> Vec<Conventions> {
        let mut v = vec![Conventions::SHIPPED];
        for y in [false, true] {
            for f in [true, false] {
                for s in [ShareRule::Allocated, ShareRule::Unallocated] {
                    let c = Conventions {
                        year1_discounted: y,
                        scaled_follows_profile: f,
                        shares: s,
                    };
                    if c != Conventions::SHIPPED {
                        v.push(c);
                    }
                }
            }
        }
        v
    }

    /// A short description.
    pub fn label(&self) -> String {
        format!(
            "year 1 {}; activity-scaled cost {}; shares {}",
            if self.year1_discounted {
                "discounted"
            } else {
                "undiscounted"
            },
            if self.scaled_follows_profile {
                "follows the profile"
            } else {
                "flat"
            },
            match self.shares {
                ShareRule::Allocated => "over the allocated total",
                ShareRule::Unallocated => "as printed, remainder unallocated",
            }
        )
    }

    /// Discount factors for `h` years.
    pub fn discount_factors(&self, h: usize) -> Vec<f64> {
        let df = discount_factors(&vec![RATE; h], 1);
        if self.year1_discounted {
            df.iter().map(|d| d / (1.0 + RATE)).collect()
        } else {
            df
        }
    }
}

/// The exact identity of a published figure, as in the reproduction table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub theme: String,
    /// E.g. `year_2`, `net_annual`, `annual.DH`.
    pub figure: String,
    pub scenario: String,
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} ({})", self.theme, self.figure, self.scenario)
    }
}

/// `lo ≤ a·x + c ≤ hi` over a problem's variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub a: Vec<f64>,
    pub c: f64,
    pub lo: f64,
    pub hi: f64,
}

impl Row {
    fn value(&self, x: &[f64]) -> f64 {
        self.c + self.a.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
    }
}

/// One published figure as constraints on a problem's variables.
#[derive(Debug, Clone, PartialEq)]
pub struct Fig {
    pub key: Key,
    /// All rows must hold for the figure to be inside its band.
    pub rows: Vec<Row>,
    /// For single-valued figures: the value's linear form (a, c), its band centre and tolerance.
    pub value: Option<(Vec<f64>, f64, f64, f64)>,
}

/// A linear form over one theme's unknowns.
#[derive(Debug, Clone, PartialEq)]
struct Lin {
    a: Vec<f64>,
    c: f64,
}

impl Lin {
    fn zero(n: usize) -> Lin {
        Lin {
            a: vec![0.0; n],
            c: 0.0,
        }
    }
    fn add(&self, o: &Lin, k: f64) -> Lin {
        Lin {
            a: self.a.iter().zip(&o.a).map(|(x, y)| x + k * y).collect(),
            c: self.c + k * o.c,
        }
    }
    fn scale(&self, k: f64) -> Lin {
        Lin {
            a: self.a.iter().map(|x| x * k).collect(),
            c: self.c * k,
        }
    }
    fn value(&self, x: &[f64]) -> f64 {
        self.c + self.a.iter().zip(x).map(|(a, b)| a * b).sum::<f64>()
    }
}

/// Where a theme's unknowns sit in its variable vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub scenarios: usize,
    pub groups: usize,
    pub h: usize,
}

impl Layout {
    fn of(t: &PubTheme, scenarios: usize) -> Layout {
        Layout {
            scenarios,
            groups: if t.costs == CostRule::Shared {
                1
            } else {
                scenarios
            },
            h: t.profile[0].len(),
        }
    }
    pub fn n(&self) -> usize {
        self.scenarios + self.groups * (self.h + 2)
    }
    pub fn g(&self, s: usize) -> usize {
        s
    }
    pub fn group(&self, s: usize) -> usize {
        if self.groups == 1 { 0 } else { s }
    }
    pub fn f(&self, k: usize, t: usize) -> usize {
        self.scenarios + k * (self.h + 2) + t
    }
    pub fn o(&self, k: usize) -> usize {
        self.f(k, self.h)
    }
    pub fn v(&self, k: usize) -> usize {
        self.f(k, self.h + 1)
    }
}

/// Linear forms of one theme in one scenario.
struct Forms {
    rows: Vec<Lin>,
    npv: Lin,
    pvb: Lin,
    pvc: Lin,
    annual: Lin,
    /// PV of benefits with the profile slid by `j` whole years, `j = 0..=h`.
    slid: Vec<Lin>,
}

fn forms(t: &PubTheme, lay: &Layout, conv: &Conventions, s: usize) -> Forms {
    let n = lay.n();
    let h = lay.h;
    let df = conv.discount_factors(h);
    let p: Vec<f64> = t.profile[s].iter().map(|x| x.value).collect();
    let k = lay.group(s);
    let q: Vec<f64> = if conv.scaled_follows_profile {
        p.clone()
    } else {
        vec![1.0; h]
    };
    let mut rows = Vec::new();
    let mut pvb = Lin::zero(n);
    let mut pvc = Lin::zero(n);
    for i in 0..h {
        let mut r = Lin::zero(n);
        r.a[lay.g(s)] = df[i] * p[i];
        r.a[lay.f(k, i)] = -df[i];
        r.a[lay.v(k)] = -df[i] * q[i];
        rows.push(r);
        pvb.a[lay.g(s)] += df[i] * p[i];
        pvc.a[lay.f(k, i)] += df[i];
        pvc.a[lay.v(k)] += df[i] * q[i];
    }
    let npv = pvb.add(&pvc, -1.0);
    let mut annual = Lin::zero(n);
    annual.a[lay.g(s)] = 1.0;
    annual.a[lay.o(k)] = -1.0;
    annual.a[lay.v(k)] = -1.0;
    let mut unit = Vec::new();
    slid_profile_pv(&profile_inputs(&p), &df, &mut unit);
    unit.push(0.0);
    let slid = unit
        .iter()
        .map(|u| {
            let mut l = Lin::zero(n);
            l.a[lay.g(s)] = *u;
            l
        })
        .collect();
    Forms {
        rows,
        npv,
        pvb,
        pvc,
        annual,
        slid,
    }
}

fn profile_inputs(p: &[f64]) -> ThemeInputs {
    let h = p.len();
    ThemeInputs {
        addressable_spend_bn: 1.0,
        profile: p.to_vec(),
        delay_years: 0.0,
        cohort: None,
        engagement: 1.0,
        gross_benefit: 1.0,
        realisation: 1.0,
        cashability: 1.0,
        optimism_bias_benefit: 0.0,
        optimism_bias_cost: 0.0,
        one_off_costs_bn: vec![0.0; h],
        ongoing_costs_bn: vec![0.0; h],
        scaled_cost: 0.0,
        partner_shares: vec![1.0],
        volume: 1.0,
        local: None,
    }
}

/// Whether bands are shrunk for a fit (so that the model file's rounding keeps figures inside)
/// or exact (for certificates, which must be relaxations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Fit,
    Proof,
}

/// Share of the tolerance kept clear at each end of a band when fitting.
const MARGIN: f64 = 0.02;
/// Strictness of "NPV still positive" in a whole-year delay when fitting, £bn.
const DELAY_EPS: f64 = 1e-4;

fn band(p: &Printed, mode: Mode) -> (f64, f64) {
    let m = if mode == Mode::Fit {
        MARGIN * p.tolerance
    } else {
        0.0
    };
    (p.lo + m, p.hi - m)
}

fn single(key: Key, l: &Lin, p: &Printed, mode: Mode) -> Fig {
    let (lo, hi) = band(p, mode);
    Fig {
        key,
        rows: vec![Row {
            a: l.a.clone(),
            c: l.c,
            lo,
            hi,
        }],
        value: Some((l.a.clone(), l.c, 0.5 * (p.lo + p.hi), p.tolerance)),
    }
}

fn row(l: &Lin, lo: f64, hi: f64) -> Row {
    Row {
        a: l.a.clone(),
        c: l.c,
        lo,
        hi,
    }
}

/// The range of a theme's effective share of partner `p` (printed shares inside their rounding,
/// read under `rule`).
pub fn share_range(t: &PubTheme, pid: &str, rule: ShareRule) -> Option<(f64, f64)> {
    let (_, s) = t.partner_shares.iter().find(|(id, _)| id == pid)?;
    let (lo, hi) = (s.value - s.tolerance, s.value + s.tolerance);
    match rule {
        ShareRule::Unallocated => Some((lo, hi)),
        ShareRule::Allocated => {
            let (mut olo, mut ohi) = (0.0, 0.0);
            for (id, q) in &t.partner_shares {
                if id != pid {
                    olo += q.value - q.tolerance;
                    ohi += q.value + q.tolerance;
                }
            }
            Some((lo / (lo + ohi), hi / (hi + olo)))
        }
    }
}

/// What a partner figure multiplies its share with: `figure = c0 + share × x` (x a linear form).
fn partner_form(f: &Forms, fname: &str, budget: Option<f64>) -> Option<(Lin, Lin)> {
    let n = f.npv.a.len();
    let z = Lin::zero(n);
    Some(match fname {
        "annual" | "budget_table_annual" => (z, f.annual.clone()),
        "pct_budget" => (z, f.annual.scale(1.0 / budget?)),
        "npv_share" => (z, f.npv.clone()),
        "npv_without" => (f.npv.clone(), f.pvb.scale(-1.0)),
        "single_party" => (f.pvc.scale(-1.0), f.pvb.clone()),
        _ => return None,
    })
}

/// The figures of one theme over its own unknowns. Partner figures use `shares` (effective
/// share per partner id) when given, else their projection with the share free in its range.
pub fn theme_figs(
    p: &Published,
    t: &PubTheme,
    conv: &Conventions,
    mode: Mode,
    shares: Option<&[(String, f64)]>,
) -> (Layout, Vec<Fig>) {
    let ns = p.scenarios.len();
    let lay = Layout::of(t, ns);
    let fs: Vec<Forms> = (0..ns).map(|s| forms(t, &lay, conv, s)).collect();
    let key = |fig: &str, s: usize| Key {
        theme: t.id.clone(),
        figure: fig.to_string(),
        scenario: p.scenarios[s].clone(),
    };
    let mut out = Vec::new();
    let figs = &t.figures;
    if let Some(rows) = &figs.rows {
        for i in 0..lay.h {
            for (s, (f, r)) in fs.iter().zip(rows).enumerate() {
                out.push(single(
                    key(&format!("year_{}", i + 1), s),
                    &f.rows[i],
                    &r[i],
                    mode,
                ));
            }
        }
    }
    let simple: [(&str, &Option<Vec<Printed>>); 4] = [
        ("npv_5yr", &figs.npv_5yr),
        ("pilot_total", &figs.pilot_totals),
        ("net_annual", &figs.net_annual),
        ("pct_addressable", &figs.pct_addressable),
    ];
    for (name, vals) in simple {
        let Some(v) = vals else { continue };
        for (s, pr) in v.iter().enumerate() {
            let l = match name {
                "net_annual" => fs[s].annual.clone(),
                "pct_addressable" => fs[s].annual.scale(1.0 / t.addressable_spend_bn.value),
                _ => fs[s].npv.clone(),
            };
            out.push(single(key(name, s), &l, pr, mode));
        }
    }
    if let Some(v) = &figs.leakage_to_zero {
        for (s, pr) in v.iter().enumerate() {
            let (lo, hi) = band(pr, mode);
            out.push(Fig {
                key: key("leakage_to_zero", s),
                rows: vec![
                    row(&fs[s].npv.add(&fs[s].pvb, -lo), 0.0, f64::INFINITY),
                    row(&fs[s].npv.add(&fs[s].pvb, -hi), f64::NEG_INFINITY, 0.0),
                ],
                value: None,
            });
        }
    }
    if let Some(v) = &figs.delay_to_zero {
        for (s, pr) in v.iter().enumerate() {
            let k = pr.value.round() as usize;
            let eps = if mode == Mode::Fit { DELAY_EPS } else { 0.0 };
            let at = |j: usize| fs[s].slid[j.min(lay.h)].add(&fs[s].pvc, -1.0);
            let mut rows = vec![row(&at(k), f64::NEG_INFINITY, -eps)];
            if k >= 1 {
                rows.push(row(&at(k - 1), eps, f64::INFINITY));
            }
            out.push(Fig {
                key: key("delay_to_zero", s),
                rows,
                value: None,
            });
        }
    }
    for (pid, figures) in &figs.partners {
        let budget = p
            .partners
            .iter()
            .find(|q| q.id == *pid)
            .and_then(|q| q.budget.as_ref().map(|b| b.1.value));
        for (fname, vals) in figures {
            for (s, pr) in vals.iter().enumerate() {
                let Some(pr) = pr else {
                    continue;
                };
                let Some((c0, x)) = partner_form(&fs[s], fname, budget) else {
                    continue;
                };
                let k = key(&format!("{fname}.{pid}"), s);
                let (lo, hi) = band(pr, mode);
                match shares {
                    Some(sh) => {
                        let e = sh.iter().find(|(id, _)| id == pid).map_or(0.0, |x| x.1);
                        out.push(single(k, &c0.add(&x, e), pr, mode));
                    }
                    None => {
                        let Some((slo, shi)) = share_range(t, pid, conv.shares) else {
                            continue;
                        };
                        // ∃ e ∈ [slo, shi]: lo ≤ c0 + e·x ≤ hi, i.e. lo − c0 ≤ e·x ≤ hi − c0.
                        // When x ≥ 0 (PV of benefits, or any x whose band forces it): the
                        // interval [slo·x, shi·x] meets [lo − c0, hi − c0].
                        // npv_without has x = −PV of benefits ≤ 0 and single_party x = PV of
                        // benefits ≥ 0: the figure's range over e has known ends.
                        let signed = fname == "npv_without" || fname == "single_party";
                        let rows = if signed || lo > c0.c && c0.a.iter().all(|a| *a == 0.0) {
                            let (low_end, high_end) = if fname == "npv_without" {
                                (shi, slo)
                            } else {
                                (slo, shi)
                            };
                            let rows = vec![
                                row(&x.scale(high_end).add(&c0, 1.0), lo, f64::INFINITY),
                                row(&x.scale(low_end).add(&c0, 1.0), f64::NEG_INFINITY, hi),
                            ];
                            if signed {
                                rows
                            } else {
                                let mut r = rows;
                                r.push(row(&x, 0.0, f64::INFINITY));
                                r
                            }
                        } else {
                            // c0 = 0 and a band reaching 0 or below: x lies in the hull
                            // of [lo, hi] / e over e ∈ [slo, shi].
                            let xlo = if lo >= 0.0 { lo / shi } else { lo / slo };
                            let xhi = if hi >= 0.0 { hi / slo } else { hi / shi };
                            vec![row(&x, xlo, xhi)]
                        };
                        out.push(Fig {
                            key: k,
                            rows,
                            value: None,
                        });
                    }
                }
            }
        }
    }
    (lay, out)
}

/// Structural constraints of a theme: the ongoing cost is at most each year's fixed cost.
fn structure(lay: &Layout) -> Vec<Row> {
    let n = lay.n();
    let mut out = Vec::new();
    for k in 0..lay.groups {
        for t in 0..lay.h {
            let mut a = vec![0.0; n];
            a[lay.f(k, t)] = 1.0;
            a[lay.o(k)] = -1.0;
            out.push(Row {
                a,
                c: 0.0,
                lo: 0.0,
                hi: f64::INFINITY,
            });
        }
    }
    out
}

/// Upper bound on every unknown of a theme, £bn: far above any published amount of the theme.
fn upper_bound(t: &PubTheme) -> f64 {
    let f = &t.figures;
    let mut m: f64 = 1.0;
    for v in [&f.npv_5yr, &f.pilot_totals, &f.net_annual]
        .into_iter()
        .flatten()
    {
        for x in v {
            m = m.max(x.value.abs());
        }
    }
    if let Some(r) = &f.rows {
        for x in r.iter().flatten() {
            m = m.max(x.value.abs());
        }
    }
    4.0 * m
}

/// A problem: variables in boxes, hard rows, and figures.
#[derive(Debug, Clone)]
pub struct Problem {
    pub ub: Vec<f64>,
    pub lb: Vec<f64>,
    pub hard: Vec<Row>,
    pub figs: Vec<Fig>,
}

fn expr(vars: &[Variable], a: &[f64], c: f64) -> Expression {
    let mut e = Expression::from(c);
    for (v, k) in vars.iter().zip(a) {
        if *k != 0.0 {
            e.add_mul(*k, *v);
        }
    }
    e
}

fn box_range(r: &Row, lb: &[f64], ub: &[f64]) -> (f64, f64) {
    let (mut lo, mut hi) = (r.c, r.c);
    for ((a, l), u) in r.a.iter().zip(lb).zip(ub) {
        if *a >= 0.0 {
            lo += a * l;
            hi += a * u;
        } else {
            lo += a * u;
            hi += a * l;
        }
    }
    (lo, hi)
}

fn add_row<M: SolverModel>(m: M, vars: &[Variable], r: &Row) -> M {
    let e = expr(vars, &r.a, r.c);
    let m = if r.lo.is_finite() {
        m.with(e.clone().geq(r.lo))
    } else {
        m
    };
    if r.hi.is_finite() {
        m.with(e.leq(r.hi))
    } else {
        m
    }
}

/// Whether a figure is one of a theme's cost-benefit table (a yearly row, the five-year NPV or a
/// pilot total) or its leakage-to-zero: the figures the model is built from. Between two fits
/// keeping the same number of figures, the one keeping more of these is preferred over one
/// keeping more of the figures derived from them (net annual benefits, percentages, partner
/// amounts); this makes the choice between equally large sets a stated rule.
pub fn tabled(k: &Key) -> bool {
    k.figure.starts_with("year_")
        || ["npv_5yr", "pilot_total", "leakage_to_zero"].contains(&k.figure.as_str())
}

/// Outcome of a count maximisation.
#[derive(Debug, Clone, PartialEq)]
pub struct Solved {
    pub x: Vec<f64>,
    pub inside: Vec<bool>,
}

impl Problem {
    fn vars(&self, pv: &mut ProblemVariables) -> Vec<Variable> {
        self.lb
            .iter()
            .zip(&self.ub)
            .map(|(l, u)| pv.add(variable().min(*l).max(*u)))
            .collect()
    }

    /// Whether the hard rows and the rows of the figures `keep` can all hold.
    pub fn feasible(&self, keep: &[usize]) -> bool {
        let mut pv = ProblemVariables::new();
        let vars = self.vars(&mut pv);
        let mut m = pv.minimise(Expression::from(0.0)).using(microlp);
        for r in &self.hard {
            m = add_row(m, &vars, r);
        }
        for &i in keep {
            for r in &self.figs[i].rows {
                m = add_row(m, &vars, r);
            }
        }
        match m.solve() {
            Ok(_) => true,
            Err(ResolutionError::Infeasible) => false,
            Err(e) => panic!("LP solver failed: {e}"),
        }
    }

    /// Maximise the number of figures inside their bands (figures in `forced` must be), then,
    /// with that set, minimise the distance of single-valued figures from their band centres.
    /// Only the figures in `candidates` (all when `None`) take part in the count.
    pub fn maximise(&self, forced: &[usize], candidates: Option<&[usize]>) -> Option<Solved> {
        self.maximise_exclusive(forced, candidates, &[])
    }

    /// [`Problem::maximise`] where of each pair in `exclusive` at most one figure counts as
    /// inside (two printings of one model quantity whose bands meet at most at a rounding
    /// boundary, which prints as one of them only; see [`exclusive_twins`]).
    pub fn maximise_exclusive(
        &self,
        forced: &[usize],
        candidates: Option<&[usize]>,
        exclusive: &[(usize, usize)],
    ) -> Option<Solved> {
        let mut pv = ProblemVariables::new();
        let vars = self.vars(&mut pv);
        let z: Vec<Option<Variable>> = (0..self.figs.len())
            .map(|i| {
                if forced.contains(&i) {
                    Some(pv.add(variable().min(1.0).max(1.0)))
                } else if candidates.is_none_or(|c| c.contains(&i)) {
                    Some(pv.add(variable().binary()))
                } else {
                    None
                }
            })
            .collect();
        // The number of figures inside first; among sets of the same size, the one with most
        // figures of the report's cost-benefit tables (see [`tabled`]).
        let heavy = 1.0 + self.figs.len() as f64;
        let obj = z
            .iter()
            .zip(&self.figs)
            .filter_map(|(v, f)| v.map(|v| (v, f)))
            .fold(Expression::from(0.0), |e, (v, f)| {
                e + (heavy + if tabled(&f.key) { 1.0 } else { 0.0 }) * v
            });
        let mut m = pv.maximise(obj).using(microlp);
        for r in &self.hard {
            m = add_row(m, &vars, r);
        }
        for &(a, b) in exclusive {
            if let (Some(za), Some(zb)) = (z[a], z[b]) {
                m = m.with((za + zb).leq(1.0));
            }
        }
        for (f, zi) in self.figs.iter().zip(&z) {
            let Some(zi) = zi else { continue };
            for r in &f.rows {
                let (blo, bhi) = box_range(r, &self.lb, &self.ub);
                let e = expr(&vars, &r.a, r.c);
                if r.lo.is_finite() {
                    let big = (r.lo - blo).max(0.0);
                    m = m.with((e.clone() + big * (1.0 - *zi)).geq(r.lo));
                }
                if r.hi.is_finite() {
                    let big = (bhi - r.hi).max(0.0);
                    m = m.with((e - big * (1.0 - *zi)).leq(r.hi));
                }
            }
        }
        let sol = match m.solve() {
            Ok(s) => s,
            Err(ResolutionError::Infeasible) => return None,
            Err(e) => panic!("MIP solver failed: {e}"),
        };
        let mut inside: Vec<bool> = z
            .iter()
            .map(|v| v.is_some_and(|v| sol.value(v) > 0.5))
            .collect();
        let keep: Vec<usize> = (0..inside.len()).filter(|i| inside[*i]).collect();
        let x = self
            .centre(&keep)
            .unwrap_or_else(|| vars.iter().map(|v| sol.value(*v)).collect());
        for (i, f) in self.figs.iter().enumerate() {
            inside[i] = f.rows.iter().all(|r| {
                let v = r.value(&x);
                v >= r.lo - 1e-9 && v <= r.hi + 1e-9
            });
        }
        // A point on the boundary two exclusive figures share counts for the one kept.
        for &(a, b) in exclusive {
            if inside[a] && inside[b] {
                let drop = if keep.contains(&b) { a } else { b };
                inside[drop] = false;
            }
        }
        Some(Solved { x, inside })
    }

    /// With the figures `keep` inside their bands, minimise Σ |value − centre| / tolerance over
    /// every single-valued figure.
    pub fn centre(&self, keep: &[usize]) -> Option<Vec<f64>> {
        let mut pv = ProblemVariables::new();
        let vars = self.vars(&mut pv);
        let dev: Vec<Option<Variable>> = self
            .figs
            .iter()
            .map(|f| f.value.as_ref().map(|_| pv.add(variable().min(0.0))))
            .collect();
        let obj = dev
            .iter()
            .flatten()
            .fold(Expression::from(0.0), |e, v| e + *v);
        let mut m = pv.minimise(obj).using(microlp);
        for r in &self.hard {
            m = add_row(m, &vars, r);
        }
        for &i in keep {
            for r in &self.figs[i].rows {
                m = add_row(m, &vars, r);
            }
        }
        for (f, d) in self.figs.iter().zip(&dev) {
            if let (Some((a, c, centre, tol)), Some(d)) = (&f.value, d) {
                let e = expr(&vars, a, *c - centre) * (1.0 / tol);
                m = m.with((*d - e.clone()).geq(0.0));
                m = m.with((*d + e).geq(0.0));
            }
        }
        let sol = m.solve().ok()?;
        Some(vars.iter().map(|v| sol.value(*v)).collect())
    }

    /// A smallest-by-deletion subset of `keep` that, together with figure `f` and the hard rows,
    /// is infeasible (`None` if figure `f` fits with all of `keep`).
    pub fn conflict(&self, f: usize, keep: &[usize]) -> Option<Vec<usize>> {
        let with = |set: &[usize]| -> Vec<usize> {
            let mut v = set.to_vec();
            v.push(f);
            v
        };
        if self.feasible(&with(keep)) {
            return None;
        }
        let mut set = keep.to_vec();
        let mut i = 0;
        while i < set.len() {
            let mut trial = set.clone();
            trial.remove(i);
            if self.feasible(&with(&trial)) {
                i += 1;
            } else {
                set = trial;
            }
        }
        Some(set)
    }
}

/// A theme's problem over its own unknowns.
pub fn theme_problem(
    p: &Published,
    t: &PubTheme,
    conv: &Conventions,
    mode: Mode,
    shares: Option<&[(String, f64)]>,
) -> (Layout, Problem) {
    let (lay, figs) = theme_figs(p, t, conv, mode, shares);
    let n = lay.n();
    (
        lay.clone(),
        Problem {
            lb: vec![0.0; n],
            ub: vec![upper_bound(t); n],
            hard: structure(&lay),
            figs,
        },
    )
}

/// A theme's fitted unknowns.
#[derive(Debug, Clone, PartialEq)]
pub struct ThemeFit {
    pub id: String,
    pub lay: Layout,
    /// The unknowns in [`Layout`] order.
    pub x: Vec<f64>,
    /// Effective share per partner id, in the published order (summing to 1 with `unallocated`).
    pub shares: Vec<(String, f64)>,
    pub unallocated: f64,
}

/// The result of a joint fit.
#[derive(Debug, Clone, PartialEq)]
pub struct JointFit {
    pub conv: Conventions,
    pub themes: Vec<ThemeFit>,
    /// Each figure and whether the fit puts it inside its (fitting) band.
    pub inside: Vec<(Key, bool)>,
}

impl JointFit {
    pub fn count(&self) -> usize {
        self.inside.iter().filter(|x| x.1).count()
    }

    /// The fit's rank: the figures inside, then the tabled figures inside.
    pub fn score(&self) -> (usize, usize) {
        score(self.inside.iter().map(|(k, ok)| (k, *ok)))
    }
}

fn pad(r: &Row, off: usize, n: usize) -> Row {
    let mut a = vec![0.0; n];
    a[off..off + r.a.len()].copy_from_slice(&r.a);
    Row {
        a,
        c: r.c,
        lo: r.lo,
        hi: r.hi,
    }
}

fn pad_fig(f: &Fig, off: usize, n: usize) -> Fig {
    Fig {
        key: f.key.clone(),
        rows: f.rows.iter().map(|r| pad(r, off, n)).collect(),
        value: f.value.as_ref().map(|(a, c, m, t)| {
            let mut b = vec![0.0; n];
            b[off..off + a.len()].copy_from_slice(a);
            (b, *c, *m, *t)
        }),
    }
}

/// The headline themes' unknowns side by side: (theme index, offset) and the total length.
pub fn headline_offsets(p: &Published) -> (Vec<(usize, usize)>, usize) {
    let mut v = Vec::new();
    let mut off = 0;
    for (i, t) in p.themes.iter().enumerate() {
        if !t.indicative {
            v.push((i, off));
            off += Layout::of(t, p.scenarios.len()).n();
        }
    }
    (v, off)
}

/// The figures of the headline total over the headline themes' unknowns.
///
/// A partner's fraction of the total five-year net benefit ([`fraction_figure`], "local
/// authorities would achieve a fifth") is `Σ e_t·NPV_t / Σ NPV_t` over the headline themes `t`,
/// `e_t` the partner's share of theme `t`; its band `lo ≤ ratio ≤ hi` is read, with a positive
/// total, as `Σ e_t·NPV_t − lo·Σ NPV_t ≥ 0` and `Σ e_t·NPV_t − hi·Σ NPV_t ≤ 0`. With `shares`
/// (per theme of `p.themes`, effective share per partner id) these rows are exact. Without, each
/// `e_t` is free within its printed rounding (a relaxation): the first row with every `e_t` at
/// its top, the second at its bottom, which bounds the ratio's range when every theme's NPV it
/// weighs is non-negative; the figure's rows say so (`NPV_t ≥ 0`, as every headline theme's
/// printed NPV is), so a certificate against it proves the fraction cannot be inside its band
/// with non-negative theme NPVs.
pub fn total_figs(
    p: &Published,
    conv: &Conventions,
    mode: Mode,
    shares: Option<&[Vec<(String, f64)>]>,
) -> Vec<Fig> {
    let (offs, n) = headline_offsets(p);
    let ns = p.scenarios.len();
    let mut npv = vec![Lin::zero(n); ns];
    let mut annual = vec![Lin::zero(n); ns];
    // Each headline theme's NPV over the total's unknowns, per scenario.
    let mut theme_npv: Vec<Vec<Lin>> = Vec::new();
    let mut spend = 0.0;
    for &(i, off) in &offs {
        let t = &p.themes[i];
        let lay = Layout::of(t, ns);
        spend += t.addressable_spend_bn.value;
        let mut own = Vec::new();
        for s in 0..ns {
            let f = forms(t, &lay, conv, s);
            let put = |acc: &mut Lin, l: &Lin| {
                for (j, a) in l.a.iter().enumerate() {
                    acc.a[off + j] += a;
                }
                acc.c += l.c;
            };
            put(&mut npv[s], &f.npv);
            put(&mut annual[s], &f.annual);
            let mut l = Lin::zero(n);
            put(&mut l, &f.npv);
            own.push(l);
        }
        theme_npv.push(own);
    }
    let key = |fig: &str, s: &str| Key {
        theme: "total".into(),
        figure: fig.to_string(),
        scenario: s.to_string(),
    };
    let f = &p.total;
    let mut out = Vec::new();
    let simple: [(&str, &Option<Vec<Printed>>); 3] = [
        ("npv_5yr", &f.npv_5yr),
        ("net_annual", &f.net_annual),
        ("pct_addressable", &f.pct_addressable),
    ];
    for (name, vals) in simple {
        let Some(v) = vals else { continue };
        for (s, pr) in v.iter().enumerate() {
            let l = match name {
                "npv_5yr" => npv[s].clone(),
                "net_annual" => annual[s].clone(),
                _ => annual[s].scale(1.0 / spend),
            };
            out.push(single(key(name, &p.scenarios[s]), &l, pr, mode));
        }
        if name == "net_annual"
            && let Some(pr) = &f.addressable_spend
        {
            // The sum of the themes' addressable spends, printed once for every scenario.
            let l = Lin {
                a: vec![0.0; n],
                c: spend,
            };
            out.push(single(
                key("addressable_spend", ALL_SCENARIOS),
                &l,
                pr,
                mode,
            ));
        }
    }
    for (pid, figures) in &f.partners {
        for (fname, vals) in figures.iter().filter(|(f, _)| fraction_figure(f)) {
            for (s, pr) in vals.iter().enumerate() {
                let Some(pr) = pr else { continue };
                let (lo, hi) = band(pr, mode);
                // Σ e_t·NPV_t at the shares that raise it most and least.
                let (mut top, mut bottom) = (Lin::zero(n), Lin::zero(n));
                let mut signs = Vec::new();
                for (k, &(i, _)) in offs.iter().enumerate() {
                    let t = &p.themes[i];
                    let (elo, ehi) = match shares {
                        Some(sh) => {
                            let e = sh[i].iter().find(|(id, _)| id == pid).map_or(0.0, |x| x.1);
                            (e, e)
                        }
                        None => share_range(t, pid, conv.shares).unwrap_or((0.0, 0.0)),
                    };
                    if ehi == 0.0 {
                        continue;
                    }
                    top = top.add(&theme_npv[k][s], ehi);
                    bottom = bottom.add(&theme_npv[k][s], elo);
                    if shares.is_none() {
                        signs.push(row(&theme_npv[k][s], 0.0, f64::INFINITY));
                    }
                }
                let mut rows = vec![
                    row(&top.add(&npv[s], -lo), 0.0, f64::INFINITY),
                    row(&bottom.add(&npv[s], -hi), f64::NEG_INFINITY, 0.0),
                    row(&npv[s], 0.0, f64::INFINITY),
                ];
                rows.extend(signs);
                out.push(Fig {
                    key: key(&format!("{fname}.{pid}"), &p.scenarios[s]),
                    rows,
                    value: None,
                });
            }
        }
    }
    out
}

/// The whole-model problem in proof mode: every theme's figures (partner figures through their
/// share-free projection) and the headline total, over all themes' unknowns side by side.
/// Returns the problem and each theme's offset.
pub fn proof_problem(p: &Published, conv: &Conventions) -> (Problem, Vec<usize>) {
    let ns = p.scenarios.len();
    let lays: Vec<Layout> = p.themes.iter().map(|t| Layout::of(t, ns)).collect();
    let n: usize = lays.iter().map(|l| l.n()).sum();
    let mut offs = Vec::new();
    let mut off = 0;
    for l in &lays {
        offs.push(off);
        off += l.n();
    }
    let mut prob = Problem {
        lb: vec![0.0; n],
        ub: vec![0.0; n],
        hard: Vec::new(),
        figs: Vec::new(),
    };
    for (i, t) in p.themes.iter().enumerate() {
        let (lay, tp) = theme_problem(p, t, conv, Mode::Proof, None);
        let o = offs[i];
        prob.ub[o..o + lay.n()].copy_from_slice(&tp.ub);
        prob.hard.extend(tp.hard.iter().map(|r| pad(r, o, n)));
        prob.figs.extend(tp.figs.iter().map(|f| pad_fig(f, o, n)));
    }
    // The total's variables are the headline themes' side by side, in theme order, which is
    // how the full layout places them with the annex themes skipped.
    let (hoffs, hn) = headline_offsets(p);
    for f in total_figs(p, conv, Mode::Proof, None) {
        let mut g = f.clone();
        for r in g.rows.iter_mut() {
            let mut a = vec![0.0; n];
            for &(i, ho) in &hoffs {
                let len = lays[i].n();
                a[offs[i]..offs[i] + len].copy_from_slice(&r.a[ho..ho + len]);
            }
            debug_assert_eq!(r.a.len(), hn);
            r.a = a;
        }
        g.value = None;
        prob.figs.push(g);
    }
    (prob, offs)
}

/// Each printed partner figure of theme `t` whose partner `index_of` finds, in every scenario
/// where it has a form: the partner's index, the figure's name, its key, the printed value, and
/// its constant and share-proportional parts ([`partner_form`]).
fn partner_figures<'a>(
    p: &'a Published,
    t: &'a PubTheme,
    fs: &'a [Forms],
    index_of: impl Fn(&str) -> Option<usize> + 'a,
) -> impl Iterator<Item = (usize, &'a str, Key, &'a Printed, Lin, Lin)> + 'a {
    t.figures.partners.iter().flat_map(move |(pid, figures)| {
        let pi = index_of(pid);
        let budget = p
            .partners
            .iter()
            .find(|q| q.id == *pid)
            .and_then(|q| q.budget.as_ref().map(|b| b.1.value));
        figures
            .iter()
            .filter(move |_| pi.is_some())
            .flat_map(move |(fname, vals)| {
                vals.iter().enumerate().filter_map(move |(s, pr)| {
                    let pr = pr.as_ref()?;
                    let (c0, x) = partner_form(&fs[s], fname, budget)?;
                    let key = Key {
                        theme: t.id.clone(),
                        figure: format!("{fname}.{pid}"),
                        scenario: p.scenarios[s].clone(),
                    };
                    Some((pi?, fname.as_str(), key, pr, c0, x))
                })
            })
    })
}

/// Fit a theme's shares given its fitted unknowns `x`: the count of its partner figures inside
/// their bands is maximised over shares allowed by `rule`.
fn fit_shares(
    p: &Published,
    t: &PubTheme,
    conv: &Conventions,
    lay: &Layout,
    x: &[f64],
) -> (Vec<(String, f64)>, f64) {
    let ids: Vec<&String> = t.partner_shares.iter().map(|(id, _)| id).collect();
    let np = ids.len();
    let ns = p.scenarios.len();
    let fs: Vec<Forms> = (0..ns).map(|s| forms(t, lay, conv, s)).collect();
    let mut prob = Problem {
        lb: vec![0.0; np],
        ub: vec![1.0; np],
        hard: Vec::new(),
        figs: Vec::new(),
    };
    let printed: Vec<(f64, f64)> = t
        .partner_shares
        .iter()
        .map(|(_, s)| (s.value - s.tolerance, s.value + s.tolerance))
        .collect();
    let sum_row = |lo: f64, hi: f64| Row {
        a: vec![1.0; np],
        c: 0.0,
        lo,
        hi,
    };
    match conv.shares {
        ShareRule::Allocated => {
            prob.hard.push(sum_row(1.0, 1.0));
            for pi in 0..np {
                for qi in 0..np {
                    if pi != qi {
                        // lo_p·e_q ≤ hi_q·e_p
                        let mut a = vec![0.0; np];
                        a[pi] += printed[qi].1;
                        a[qi] -= printed[pi].0;
                        prob.hard.push(Row {
                            a,
                            c: 0.0,
                            lo: 0.0,
                            hi: f64::INFINITY,
                        });
                    }
                }
            }
        }
        ShareRule::Unallocated => {
            prob.hard.push(sum_row(f64::NEG_INFINITY, 1.0));
            for (pi, (lo, hi)) in printed.iter().enumerate() {
                prob.lb[pi] = *lo;
                prob.ub[pi] = *hi;
            }
        }
    }
    for (pi, _, key, pr, c0, xl) in
        partner_figures(p, t, &fs, |pid| ids.iter().position(|id| *id == pid))
    {
        let mut a = vec![0.0; np];
        a[pi] = xl.value(x);
        let l = Lin { a, c: c0.value(x) };
        prob.figs.push(single(key, &l, pr, Mode::Fit));
    }
    // Centre the shares on their printed values when nothing else decides them.
    for (pi, (id, s)) in t.partner_shares.iter().enumerate() {
        let mut a = vec![0.0; np];
        a[pi] = 1.0;
        let (lo, hi) = (s.value - s.tolerance, s.value + s.tolerance);
        let (lo, hi) = if conv.shares == ShareRule::Allocated {
            share_range(t, id, conv.shares).unwrap_or((lo, hi))
        } else {
            (lo, hi)
        };
        let centre = 0.5 * (lo + hi);
        prob.figs.push(Fig {
            key: Key {
                theme: t.id.clone(),
                figure: format!("share.{id}"),
                scenario: String::new(),
            },
            rows: Vec::new(),
            value: Some((a, 0.0, centre, 0.5 * (hi - lo))),
        });
    }
    let cands: Vec<usize> = (0..prob.figs.len())
        .filter(|i| !prob.figs[*i].rows.is_empty())
        .collect();
    let sol = prob
        .maximise(&[], Some(&cands))
        .expect("the printed shares are feasible");
    let e: Vec<f64> = sol.x.iter().map(|v| (v * 1e6).round() / 1e6).collect();
    let sum: f64 = e.iter().sum();
    let shares = ids.iter().map(|id| (*id).clone()).zip(e).collect();
    (shares, ((1.0 - sum) * 1e6).round() / 1e6)
}

/// Partner figures that are not proportional to the partner's share (`npv_without`,
/// `single_party`: an NPV-level amount plus the share times another).
fn offset_figure(fname: &str) -> bool {
    fname == "npv_without" || fname == "single_party"
}

/// Points of the grid over which the share of a partner with offset figures is enumerated.
const SHARE_GRID: usize = 15;
/// Tangents per partner in the outer approximation of `Σ 1/u_p ≤ 1`.
const TANGENTS: usize = 8;

/// One theme's costs, gross benefits and partner shares in one program.
///
/// A partner figure `e·X` (`X` linear in the theme's unknowns, `e` the partner's effective
/// share) is bilinear, but with `u = 1/e` its band `lo ≤ e·X ≤ hi` is `lo·u ≤ X ≤ hi·u`, which is
/// linear in (unknowns, u); so is the printed-rounding condition on the ratio of two shares
/// (`lo_q·u_q ≤ hi_p·u_p`). What is not linear is that the shares sum to 1, `Σ 1/u_p = 1`: it is
/// relaxed to tangents from below (`Σ t_p ≤ 1`, `t_p` above every tangent of `1/u_p`) and chords
/// from above (`Σ chord_p(u_p) ≥ 1` over allocated shares). The relaxation only proposes the
/// theme's unknowns; the shares are then fitted exactly to them ([`fit_shares`]) and every count
/// reported is evaluated on exact shares.
///
/// An offset figure (`npv_without`, `single_party`) is not linear even in `u`; the share of the
/// first partner that has one is fixed at `fixed` (enumerated on a grid by the caller), which
/// makes its offset figures linear. Offset figures of other partners are left to the exact share
/// fit.
fn joint_theme_problem(
    p: &Published,
    t: &PubTheme,
    conv: &Conventions,
    fixed: Option<(usize, f64)>,
    mode: Mode,
) -> (Layout, Problem) {
    let (lay, own) = theme_figs(p, t, conv, mode, Some(&[]));
    let n = lay.n();
    let np = t.partner_shares.len();
    let nn = n + 2 * np;
    let u = |pi: usize| n + pi;
    let tv = |pi: usize| n + np + pi;
    let mut prob = Problem {
        lb: vec![0.0; nn],
        ub: vec![upper_bound(t); nn],
        hard: structure(&lay).iter().map(|r| pad(r, 0, nn)).collect(),
        figs: own
            .iter()
            .filter(|f| !f.key.figure.contains('.'))
            .map(|f| pad_fig(f, 0, nn))
            .collect(),
    };
    let printed: Vec<(f64, f64)> = t
        .partner_shares
        .iter()
        .map(|(_, s)| (s.value - s.tolerance, s.value + s.tolerance))
        .collect();
    let mut sum_t = vec![0.0; nn];
    let mut chord = Row {
        a: vec![0.0; nn],
        c: 0.0,
        lo: 1.0,
        hi: f64::INFINITY,
    };
    for (pi, (id, _)) in t.partner_shares.iter().enumerate() {
        let (slo, shi) = share_range(t, id, conv.shares).expect("a partner of the theme");
        let (slo, shi) = match fixed {
            Some((fi, e)) if fi == pi => (e, e),
            _ => (slo, shi),
        };
        let (a, b) = (1.0 / shi, 1.0 / slo);
        prob.lb[u(pi)] = a;
        prob.ub[u(pi)] = b;
        prob.lb[tv(pi)] = 0.0;
        prob.ub[tv(pi)] = 1.0;
        for k in 0..TANGENTS {
            let uk = a + (b - a) * k as f64 / (TANGENTS - 1) as f64;
            // t_p ≥ 2/u_k − u_p/u_k²
            let mut r = vec![0.0; nn];
            r[tv(pi)] = 1.0;
            r[u(pi)] = 1.0 / (uk * uk);
            prob.hard.push(Row {
                a: r,
                c: -2.0 / uk,
                lo: 0.0,
                hi: f64::INFINITY,
            });
        }
        sum_t[tv(pi)] = 1.0;
        // chord_p(u) = 1/a + 1/b − u/(ab)
        chord.a[u(pi)] = -1.0 / (a * b);
        chord.c += 1.0 / a + 1.0 / b;
    }
    prob.hard.push(Row {
        a: sum_t,
        c: 0.0,
        lo: f64::NEG_INFINITY,
        hi: 1.0,
    });
    if conv.shares == ShareRule::Allocated {
        prob.hard.push(chord);
        for pi in 0..np {
            for qi in 0..np {
                if pi != qi {
                    // e_p / e_q ≤ hi_p / lo_q  ⇔  lo_q·u_q ≤ hi_p·u_p
                    let mut r = vec![0.0; nn];
                    r[u(pi)] = printed[pi].1;
                    r[u(qi)] = -printed[qi].0;
                    prob.hard.push(Row {
                        a: r,
                        c: 0.0,
                        lo: 0.0,
                        hi: f64::INFINITY,
                    });
                }
            }
        }
    }
    let ns = p.scenarios.len();
    let fs: Vec<Forms> = (0..ns).map(|s| forms(t, &lay, conv, s)).collect();
    for (pi, fname, key, pr, c0, x) in partner_figures(p, t, &fs, |pid| {
        t.partner_shares.iter().position(|(id, _)| id == pid)
    }) {
        let (lo, hi) = band(pr, mode);
        if offset_figure(fname) {
            if let Some((fi, e)) = fixed
                && fi == pi
            {
                let f = single(key, &c0.add(&x, e), pr, mode);
                prob.figs.push(pad_fig(&f, 0, nn));
            }
            continue;
        }
        let with_u = |k: f64| {
            let mut a = vec![0.0; nn];
            a[..n].copy_from_slice(&x.a);
            a[u(pi)] = -k;
            a
        };
        prob.figs.push(Fig {
            key,
            rows: vec![
                Row {
                    a: with_u(lo),
                    c: x.c,
                    lo: 0.0,
                    hi: f64::INFINITY,
                },
                Row {
                    a: with_u(hi),
                    c: x.c,
                    lo: f64::NEG_INFINITY,
                    hi: 0.0,
                },
            ],
            value: None,
        });
    }
    (lay, prob)
}

/// The first partner of a theme with an offset figure, if any.
fn offset_partner(t: &PubTheme) -> Option<usize> {
    t.partner_shares.iter().position(|(id, _)| {
        t.figures
            .partners
            .iter()
            .any(|(pid, figs)| pid == id && figs.iter().any(|(f, _)| offset_figure(f)))
    })
}

/// A theme fitted on its own: the joint program of `joint_theme_problem` (over the grid of the
/// offset partner's share, the first best point kept), then the shares fitted exactly.
fn fit_theme_jointly(p: &Published, t: &PubTheme, conv: &Conventions) -> ThemeFit {
    let grid: Vec<Option<(usize, f64)>> = match offset_partner(t) {
        Some(pi) => {
            let (lo, hi) = share_range(t, &t.partner_shares[pi].0, conv.shares).expect("a partner");
            (0..SHARE_GRID)
                .map(|k| Some((pi, lo + (hi - lo) * (k as f64 + 0.5) / SHARE_GRID as f64)))
                .collect()
        }
        None => vec![None],
    };
    // Each grid point is judged by its count with exactly fitted shares (the relaxation's own
    // count only breaks ties); the first best point is kept.
    // ((figures inside, tabled figures inside), relaxation's count) and the fit.
    type Ranked = (((usize, usize), usize), ThemeFit);
    let mut best: Option<Ranked> = None;
    for fixed in grid {
        let (lay, prob) = joint_theme_problem(p, t, conv, fixed, Mode::Fit);
        let sol = prob
            .maximise(&[], None)
            .expect("a theme's problem without forced figures is feasible");
        let relaxed = sol.inside.iter().filter(|b| **b).count();
        let x = sol.x[..lay.n()].to_vec();
        let (shares, unallocated) = fit_shares(p, t, conv, &lay, &x);
        let (_, exact) = theme_problem(p, t, conv, Mode::Fit, Some(&shares));
        let inside = inside_at(&exact.figs, &x);
        let count = score(exact.figs.iter().map(|f| &f.key).zip(inside));
        if best.as_ref().is_none_or(|b| (count, relaxed) > b.0) {
            best = Some((
                (count, relaxed),
                ThemeFit {
                    id: t.id.clone(),
                    lay,
                    x,
                    shares,
                    unallocated,
                },
            ));
        }
    }
    best.expect("at least one grid point").1
}

/// (figures inside, tabled figures inside).
fn score<'a>(inside: impl Iterator<Item = (&'a Key, bool)>) -> (usize, usize) {
    inside.fold((0, 0), |(n, t), (k, ok)| {
        if ok {
            (n + 1, t + usize::from(tabled(k)))
        } else {
            (n, t)
        }
    })
}

fn round_amount(v: f64) -> f64 {
    let r = (v * 1e6).round() / 1e6;
    if r == 0.0 { 0.0 } else { r }
}

fn inside_at(figs: &[Fig], x: &[f64]) -> Vec<bool> {
    figs.iter()
        .map(|f| {
            f.rows.iter().all(|r| {
                let v = r.value(x);
                v >= r.lo - 1e-9 && v <= r.hi + 1e-9
            })
        })
        .collect()
}

/// Fit every theme and the headline total under `conv`.
///
/// 1. Each theme alone, costs and shares in one program (`fit_theme_jointly`).
/// 2. Then rounds, each keeping every figure the previous one put inside: each theme's unknowns
///    at its fitted shares; the three headline themes together with the headline total (every
///    figure not yet inside a candidate); the shares given the unknowns. Rounds stop when the
///    count no longer grows; the best fit is kept.
///
/// Every program is solved with the same variable and constraint order and a single-threaded
/// simplex, the secondary objective (least total distance of single-valued figures from their
/// band centres, in tolerances) fixes the unknowns given the kept set, and amounts and shares
/// are rounded to 1e-6 between steps: the result is the same bytes on every run.
pub fn joint_fit(p: &Published, conv: &Conventions) -> JointFit {
    let themes: Vec<ThemeFit> = p
        .themes
        .iter()
        .map(|t| fit_theme_jointly(p, t, conv))
        .collect();
    let mut prev = evaluate_fit(p, conv, themes, Mode::Fit);
    let mut best = prev.clone();
    for _round in 0..6 {
        // 1. Each theme at its shares, keeping what it keeps.
        let mut xs = Vec::new();
        let mut theme_inside = Vec::new();
        for (i, t) in p.themes.iter().enumerate() {
            let (lay, prob) = theme_problem(p, t, conv, Mode::Fit, Some(&prev.themes[i].shares));
            let inside = inside_at(&prob.figs, &prev.themes[i].x);
            let forced: Vec<usize> = (0..inside.len()).filter(|j| inside[*j]).collect();
            let sol = prob
                .maximise(&forced, None)
                .expect("the figures a fit keeps are feasible");
            theme_inside.push(sol.inside.clone());
            xs.push((lay, prob, sol.x));
        }
        // 2. The headline themes and total together, the kept figures held.
        let (hoffs, hn) = headline_offsets(p);
        let mut comb = Problem {
            lb: vec![0.0; hn],
            ub: vec![0.0; hn],
            hard: Vec::new(),
            figs: Vec::new(),
        };
        let mut forced = Vec::new();
        let mut x0 = vec![0.0; hn];
        for &(i, off) in &hoffs {
            let (lay, prob, x) = &xs[i];
            comb.ub[off..off + lay.n()].copy_from_slice(&prob.ub);
            x0[off..off + lay.n()].copy_from_slice(x);
            comb.hard.extend(prob.hard.iter().map(|r| pad(r, off, hn)));
            for f in &prob.figs {
                comb.figs.push(pad_fig(f, off, hn));
            }
        }
        let sh: Vec<Vec<(String, f64)>> = prev.themes.iter().map(|t| t.shares.clone()).collect();
        comb.figs.extend(total_figs(p, conv, Mode::Fit, Some(&sh)));
        for (j, ok) in inside_at(&comb.figs, &x0).into_iter().enumerate() {
            if ok {
                forced.push(j);
            }
        }
        let sol = comb
            .maximise(&forced, None)
            .expect("the themes' fitted figures are jointly feasible");
        for &(i, off) in &hoffs {
            let n = xs[i].0.n();
            xs[i].2 = sol.x[off..off + n].to_vec();
        }
        // 3. Shares, given the unknowns.
        let mut themes = Vec::new();
        for (i, t) in p.themes.iter().enumerate() {
            let (lay, _, x) = &xs[i];
            let x = x.clone();
            let (sh, un) = fit_shares(p, t, conv, lay, &x);
            themes.push(ThemeFit {
                id: t.id.clone(),
                lay: lay.clone(),
                x,
                shares: sh,
                unallocated: un,
            });
        }
        let fit = evaluate_fit(p, conv, themes, Mode::Fit);
        if fit.score() <= best.score() {
            break;
        }
        best = fit.clone();
        prev = fit;
    }
    // The fit as the model file writes it (amounts to 1e-6), judged against the exact bands.
    let themes = best
        .themes
        .into_iter()
        .map(|mut t| {
            t.x.iter_mut().for_each(|v| *v = round_amount(*v));
            t
        })
        .collect();
    evaluate_fit(p, conv, themes, Mode::Proof)
}

/// Which figures a fit puts inside their fitting bands.
pub fn evaluate_fit(
    p: &Published,
    conv: &Conventions,
    themes: Vec<ThemeFit>,
    mode: Mode,
) -> JointFit {
    let mut inside = Vec::new();
    for (t, tf) in p.themes.iter().zip(&themes) {
        let (_, prob) = theme_problem(p, t, conv, mode, Some(&tf.shares));
        for (f, ok) in prob.figs.iter().zip(inside_at(&prob.figs, &tf.x)) {
            inside.push((f.key.clone(), ok));
        }
    }
    let (hoffs, hn) = headline_offsets(p);
    let mut x = vec![0.0; hn];
    for &(i, off) in &hoffs {
        x[off..off + themes[i].x.len()].copy_from_slice(&themes[i].x);
    }
    let sh: Vec<Vec<(String, f64)>> = themes.iter().map(|t| t.shares.clone()).collect();
    let tf = total_figs(p, conv, mode, Some(&sh));
    for (f, ok) in tf.iter().zip(inside_at(&tf, &x)) {
        inside.push((f.key.clone(), ok));
    }
    JointFit {
        conv: *conv,
        themes,
        inside,
    }
}

/// A certificate for a figure outside its band: the figures it cannot be reproduced together with.
#[derive(Debug, Clone, PartialEq)]
pub enum Certificate {
    /// Forcing the figure into its band together with these reproduced figures is infeasible for
    /// every cost schedule and every choice of shares within their printed rounding; the set is
    /// irreducible (dropping any one member makes it feasible).
    Infeasible(Vec<Key>),
    /// The figure fits with every reproduced figure taken one program at a time, but not in one
    /// model: with it forced inside its band, its theme ranks at best `bound` (figures inside,
    /// the forced one included, then figures of the cost-benefit tables inside, [`tabled`]) for
    /// every cost schedule and every choice of shares (see [`trade_bound`]), no better than the
    /// shipped model's `now`; `lost` are the reproduced figures the best such model found leaves
    /// out. When `bound == now` it is a tie ([`Certificate::is_tie`]).
    Costs {
        bound: (usize, usize),
        now: (usize, usize),
        lost: Vec<Key>,
    },
    /// The figure fits together with every reproduced figure: it is not a proven discrepancy.
    Fits,
}

impl Certificate {
    /// A tie: with the figure inside, the best model ranks the same as the shipped one (as many
    /// figures inside, as many of the cost-benefit tables), so the fit's rank does not separate
    /// them; the fit keeps the set it found first (a round replaces a fit only when its rank
    /// grows, [`joint_fit`]).
    pub fn is_tie(&self) -> bool {
        matches!(self, Certificate::Costs { bound, now, .. } if bound == now)
    }
}

/// Pairs of a theme's partner figures that print one model quantity twice (the same partner,
/// scenario and form, e.g. an allocation table's `annual` and a DEL table's
/// `budget_table_annual`) with bands that meet at most at one point: that point is a rounding
/// boundary (0.15 between a printed 0.1 and 0.2), which any rounding rule prints as one of the
/// two texts, so at most one of the pair can be the printed rounding of the model's value.
pub fn exclusive_twins(
    p: &Published,
    t: &PubTheme,
    conv: &Conventions,
    lay: &Layout,
) -> Vec<(Key, Key)> {
    let ns = p.scenarios.len();
    let fs: Vec<Forms> = (0..ns).map(|s| forms(t, lay, conv, s)).collect();
    let figs: Vec<_> = partner_figures(p, t, &fs, |pid| {
        t.partner_shares.iter().position(|(id, _)| id == pid)
    })
    .collect();
    let mut out = Vec::new();
    for (i, (pi, _, ki, pri, ci, xi)) in figs.iter().enumerate() {
        for (pj, _, kj, prj, cj, xj) in &figs[i + 1..] {
            let same = pi == pj && ki.scenario == kj.scenario && ci == cj && xi == xj;
            let (lo, hi) = (pri.lo.max(prj.lo), pri.hi.min(prj.hi));
            if same && hi - lo <= 1e-12 {
                out.push((ki.clone(), kj.clone()));
            }
        }
    }
    out
}

/// With the figure `key` forced inside its exact band, an upper bound on the rank of its theme
/// (figures inside their exact bands, then figures of the cost-benefit tables inside, the
/// program's lexicographic objective), over all cost schedules and shares: the joint
/// program of `joint_theme_problem` in proof mode is a relaxation (the shares' sum is relaxed
/// to tangents and chords, which every true point satisfies), offset figures are left out of it
/// and counted as inside, and of two printings of one quantity whose bands only meet at a
/// rounding boundary ([`exclusive_twins`]) at most one counts. Returns the bound and the reproduced figures of `reproduced` (of the
/// same theme) the maximising solution leaves out; `None` if `key` is not a theme figure or
/// cannot be inside at all.
pub fn trade_bound(
    p: &Published,
    conv: &Conventions,
    key: &Key,
    reproduced: &[Key],
) -> Option<((usize, usize), Vec<Key>)> {
    let t = p.themes.iter().find(|t| t.id == key.theme)?;
    let (lay, prob) = joint_theme_problem(p, t, conv, None, Mode::Proof);
    let i = prob.figs.iter().position(|f| f.key == *key)?;
    let pairs: Vec<(usize, usize)> = exclusive_twins(p, t, conv, &lay)
        .iter()
        .filter_map(|(a, b)| {
            let at = |k: &Key| prob.figs.iter().position(|f| f.key == *k);
            Some((at(a)?, at(b)?))
        })
        .collect();
    let sol = prob.maximise_exclusive(&[i], None, &pairs)?;
    let offsets = t
        .figures
        .partners
        .values()
        .flat_map(|figs| figs.iter())
        .filter(|(f, _)| offset_figure(f))
        .map(|(_, v)| v.iter().flatten().count())
        .sum::<usize>();
    let (inside, tabled_inside) = score(prob.figs.iter().map(|f| &f.key).zip(sol.inside.clone()));
    let lost = prob
        .figs
        .iter()
        .zip(&sol.inside)
        .filter(|(f, ok)| !**ok && reproduced.contains(&f.key))
        .map(|(f, _)| f.key.clone())
        .collect();
    Some(((inside + offsets, tabled_inside), lost))
}

/// Whether the figures `keys` (all of the model's figures in proof mode) can hold together.
pub fn jointly_feasible(
    p: &Published,
    conv: &Conventions,
    keys: &[Key],
) -> Result<bool, crate::error::Error> {
    let (prob, _) = proof_problem(p, conv);
    let idx = keys
        .iter()
        .map(|k| {
            prob.figs
                .iter()
                .position(|f| f.key == *k)
                .ok_or_else(|| crate::error::Error::Input(format!("no published figure {k}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(prob.feasible(&idx))
}

/// Certificates for the figures `out`, given the figures a model reproduces. Figures the fit does
/// not model (e.g. constants) are skipped from `reproduced`.
pub fn certificates(
    p: &Published,
    conv: &Conventions,
    reproduced: &[Key],
    out: &[Key],
) -> Vec<(Key, Certificate)> {
    let (prob, _) = proof_problem(p, conv);
    let pos = |k: &Key| prob.figs.iter().position(|f| f.key == *k);
    let keep: Vec<usize> = reproduced.iter().filter_map(pos).collect();
    out.iter()
        .filter_map(|k| pos(k).map(|i| (k.clone(), i)))
        .map(|(k, i)| {
            // Try the figure's own theme first (small), then everything.
            let local: Vec<usize> = keep
                .iter()
                .copied()
                .filter(|j| prob.figs[*j].key.theme == k.theme)
                .collect();
            let set = prob.conflict(i, &local).or_else(|| prob.conflict(i, &keep));
            let cert = match set {
                Some(s) => {
                    Certificate::Infeasible(s.iter().map(|j| prob.figs[*j].key.clone()).collect())
                }
                None => {
                    let now = score(
                        reproduced
                            .iter()
                            .filter(|r| r.theme == k.theme)
                            .map(|r| (r, true)),
                    );
                    match trade_bound(p, conv, &k, reproduced) {
                        Some((bound, lost)) if bound <= now => {
                            Certificate::Costs { bound, now, lost }
                        }
                        _ => Certificate::Fits,
                    }
                }
            };
            (k, cert)
        })
        .collect()
}
