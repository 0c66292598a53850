//! The summary's assembly against oracles written here: every column of the default model's plan
//! gets its own known sample (distinct values, so a statistic read from the wrong column or
//! measure shows), and each reported figure is computed from that sample directly: means and
//! standard deviations by the two-pass formula, percentiles at ranks where type 7 lands exactly
//! on an order statistic, interval ends at the level asked, counts below thresholds with the
//! binomial standard error, curves as counted shares, year probabilities from the counts, and the
//! review points from the model's own deterministic evaluation.

use super::*;
use crate::engine::Plan;
use crate::stats::Sorted;

/// Draws per column: type-7 ranks (n − 1)p are whole for p = 0.05, 0.1, 0.25, 0.5, 0.9, 0.95.
const N: usize = 101;

/// Column `j`'s sample, increasing in `i` (so its `i`-th order statistic is `value(j, i)`), on a
/// range that overlaps the leakage grid [0, 1] and the delay grid [0, horizon] and crosses 0
/// at its own point (a share √f_j of it below 0, f_j spread over [0.1, 0.9] by the golden
/// ratio), so that counts below 0 tell the columns apart.
fn value(j: usize, i: usize) -> f64 {
    let u = i as f64 / (N - 1) as f64;
    let f = 0.1 + 0.8 * (j as f64 * 0.618_033_988_749_895).fract();
    (1.5 + 0.25 * j as f64) * (u * u - f)
}

fn column(j: usize) -> Vec<f64> {
    (0..N).map(|i| value(j, i)).collect()
}

/// Mean and sample standard deviation (n − 1), two passes.
fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let ss: f64 = v.iter().map(|x| (x - mean) * (x - mean)).sum();
    (mean, (ss / (n - 1.0)).sqrt())
}

fn share(v: &[f64], keep: impl Fn(f64) -> bool) -> f64 {
    v.iter().filter(|x| keep(**x)).count() as f64 / v.len() as f64
}

fn binomial_se(p: f64, n: usize) -> f64 {
    (p * (1.0 - p) / n as f64).sqrt()
}

/// The distribution-free standard error of the p-quantile (ranks np ± 1.96 √(np(1−p)), half
/// the width over 1.96), from the column's values.
fn quantile_se(j: usize, p: f64) -> f64 {
    let n = N as f64;
    let half = 1.96 * (n * p * (1.0 - p)).sqrt();
    let lo = ((n * p - half).floor().max(0.0) as usize).min(N - 1);
    let hi = ((n * p + half).ceil() as usize).min(N - 1);
    (value(j, hi) - value(j, lo)) / (2.0 * 1.96)
}

fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
        "{what}: {a} against {b}"
    );
}

struct Fixture {
    plan: Plan,
    cols: Vec<Vec<f64>>,
    sorted: Vec<Sorted>,
    moments: Vec<(f64, f64)>,
    delay_whole: Vec<Vec<u64>>,
    breakeven: Vec<Vec<u64>>,
}

fn fixture() -> Fixture {
    fixture_of(crate::embedded::default_plan())
}

use crate::embedded::local_example_plan as local_plan;

fn fixture_of(plan: Plan) -> Fixture {
    let ncols = crate::stream::columns(&plan).len();
    let cols: Vec<Vec<f64>> = (0..ncols).map(column).collect();
    let sorted = cols
        .iter()
        .map(|c| Sorted::new(c.clone()).unwrap())
        .collect();
    let moments = cols.iter().map(|c| moments(c)).collect();
    let h = plan.model.horizon_years;
    // Distinct counts per entity: entity e has count (e + 1) * (k + 2) + k for year k.
    let counts = |e: usize, len: usize| -> Vec<u64> {
        (0..len).map(|k| ((e + 1) * (k + 2) + k) as u64).collect()
    };
    let ne = plan.entities.len();
    let delay_whole = (0..ne).map(|e| counts(e, h + 2)).collect();
    let breakeven = (0..ne).map(|e| counts(e + 7, h + 1)).collect();
    Fixture {
        plan,
        cols,
        sorted,
        moments,
        delay_whole,
        breakeven,
    }
}

fn metadata() -> Metadata {
    Metadata {
        horizon_years: 5,
        npvrisk_version: "test".into(),
        model: FileHash::of("m.toml", ""),
        distributions: Vec::new(),
        scenario: "base".into(),
        seed: 1,
        sampler: "mc".into(),
        draws: N as u64,
        block_size: 64,
        standard_errors: "iid".into(),
        percentile_method: "type 7".into(),
    }
}

fn options() -> SummaryOptions {
    SummaryOptions {
        percentiles: vec![0.05, 0.1, 0.5, 0.9, 0.95],
        // An 80% interval: its ends are the 10th and 90th percentiles.
        interval: 0.8,
        // 0 is always reported first; a user's 0 is not repeated.
        thresholds: vec![0.5, 0.0, -0.25],
        total_npv_percentiles: vec![0.25],
    }
}

fn assembled(f: &Fixture, extra: &ReviewPoints) -> Summary {
    let c = ColumnStats {
        stats: f.sorted.iter().map(|s| s as &dyn OrderStats).collect(),
        moments: f.moments.clone(),
        delay_whole: &f.delay_whole,
        breakeven: &f.breakeven,
    };
    assemble(&f.plan, &c, None, N, 3, metadata(), &options(), extra)
}

/// Every figure of `st` against column `j`'s sample, with the percentiles `ps`.
fn check_stat(st: &Stat, f: &Fixture, j: usize, ps: &[f64], what: &str) {
    let (mean, sd) = moments(&f.cols[j]);
    close(st.mean, mean, &format!("{what} mean"));
    close(st.sd, sd, &format!("{what} sd"));
    close(
        st.se_mean,
        sd / (N as f64).sqrt(),
        &format!("{what} se of the mean"),
    );
    close(st.min, value(j, 0), &format!("{what} min"));
    close(st.max, value(j, N - 1), &format!("{what} max"));
    let got: Vec<f64> = st.percentiles.iter().map(|p| p.p).collect();
    assert_eq!(got, ps, "{what}: percentiles reported");
    for p in &st.percentiles {
        let rank = ((N - 1) as f64 * p.p).round() as usize;
        close(p.value, value(j, rank), &format!("{what} P{}", p.p));
        close(p.se, quantile_se(j, p.p), &format!("{what} se of P{}", p.p));
    }
    assert_eq!(st.interval[0], 0.8, "{what}: interval level");
    close(
        st.interval[1],
        value(j, 10),
        &format!("{what} interval low"),
    );
    close(
        st.interval[2],
        value(j, 90),
        &format!("{what} interval high"),
    );
    let th: Vec<f64> = st.below.iter().map(|b| b.threshold).collect();
    assert_eq!(th, vec![0.0, 0.5, -0.25], "{what}: thresholds");
    for b in &st.below {
        let p = share(&f.cols[j], |x| x < b.threshold);
        close(b.p, p, &format!("{what} P(< {})", b.threshold));
        close(
            b.se,
            binomial_se(p, N),
            &format!("{what} se of P(< {})", b.threshold),
        );
    }
}

#[test]
fn every_statistic_comes_from_its_own_column_with_its_standard_error() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    let ps = options().percentiles;
    let m = SUMMARY_MEASURES.len();
    let ne = f.plan.entities.len();
    assert_eq!(s.outcomes.len(), ne);
    assert_eq!(s.kept_draws, N);
    assert_eq!(s.skipped_nonfinite, 3);
    for (e, o) in s.outcomes.iter().enumerate() {
        let b = e * m;
        let total = e == ne - 1;
        assert_eq!(o.id, f.plan.entities[e]);
        assert_eq!(o.headline, total || !f.plan.model.themes[e].indicative);
        // The total's NPV adds its own further percentiles, in order.
        let npv_ps: Vec<f64> = if total {
            vec![0.05, 0.1, 0.25, 0.5, 0.9, 0.95]
        } else {
            ps.clone()
        };
        check_stat(&o.npv, &f, b, &npv_ps, &format!("{} npv", o.id));
        check_stat(
            &o.pv_benefits,
            &f,
            b + 1,
            &ps,
            &format!("{} pv_benefits", o.id),
        );
        check_stat(&o.pv_costs, &f, b + 2, &ps, &format!("{} pv_costs", o.id));
        check_stat(
            &o.leakage_to_zero,
            &f,
            b + 3,
            &ps,
            &format!("{} leakage", o.id),
        );
        check_stat(&o.delay_to_zero, &f, b + 4, &ps, &format!("{} delay", o.id));
    }
    let pb = ne * m;
    assert_eq!(s.partners.len(), f.plan.model.partners.len());
    for (p, ps_) in s.partners.iter().enumerate() {
        assert_eq!(ps_.id, f.plan.model.partners[p].id);
        check_stat(&ps_.npv, &f, pb + p, &ps, &format!("partner {}", ps_.id));
        let neg = share(&f.cols[pb + p], |x| x < 0.0);
        close(ps_.p_negative, neg, "partner P(< 0)");
        close(
            ps_.p_negative_se,
            binomial_se(neg, N),
            "partner se of P(< 0)",
        );
    }
    let ib = pb + f.plan.model.partners.len();
    assert_eq!(s.inputs.len(), f.plan.set.inputs.len());
    for (k, i) in s.inputs.iter().enumerate() {
        let src = &f.plan.set.inputs[k];
        assert_eq!(i.path, src.param.path);
        assert_eq!(i.kind, src.dist.describe());
        assert_eq!(
            (&i.stream, &i.source, &i.file),
            (&src.stream, &src.source, &src.file)
        );
        let j = ib + k;
        close(i.mean, moments(&f.cols[j]).0, "input mean");
        close(i.p10, value(j, 10), "input P10");
        close(i.p50, value(j, 50), "input P50");
        close(i.p90, value(j, 90), "input P90");
    }
    assert!(
        s.local.is_none(),
        "the 2013 model has no outcome-level themes"
    );
}

#[test]
fn curves_and_year_probabilities_are_counted_shares() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    let m = SUMMARY_MEASURES.len();
    let h = f.plan.model.horizon_years;
    for (e, o) in s.outcomes.iter().enumerate() {
        // P(NPV > 0) with a share x of benefits leaking: the draws whose leakage-to-zero
        // exceeds x; 21 points 0, 0.05, ..., 1.
        let leak = &f.cols[e * m + 3];
        assert_eq!(o.leakage_curve.len(), 21);
        for (i, pt) in o.leakage_curve.iter().enumerate() {
            close(pt.x, i as f64 / 20.0, "leakage grid");
            close(
                pt.p_npv_positive,
                share(leak, |v| v > pt.x),
                "leakage curve",
            );
        }
        // Delays 0, 0.25, ..., horizon.
        let delay = &f.cols[e * m + 4];
        assert_eq!(o.delay_curve.len(), 4 * h + 1);
        for (i, pt) in o.delay_curve.iter().enumerate() {
            close(pt.x, i as f64 * 0.25, "delay grid");
            close(pt.p_npv_positive, share(delay, |v| v > pt.x), "delay curve");
        }
        // Whole-year delay: year k for every count, k = 0..=horizon + 1.
        let dw = &f.delay_whole[e];
        let n: u64 = dw.iter().sum();
        let got: Vec<(Option<u32>, f64)> = o
            .delay_to_zero_whole
            .iter()
            .map(|y| (y.year, y.p))
            .collect();
        let want: Vec<(Option<u32>, f64)> = (0..=h + 1)
            .map(|k| (Some(k as u32), dw[k] as f64 / n as f64))
            .collect();
        assert_eq!(got, want, "{}: whole-year delay", o.id);
        // Breakeven: years 1..=horizon, then "none" from count 0.
        let be = &f.breakeven[e];
        let n: u64 = be.iter().sum();
        let got: Vec<(Option<u32>, f64)> = o.breakeven_year.iter().map(|y| (y.year, y.p)).collect();
        let mut want: Vec<(Option<u32>, f64)> = (1..=h)
            .map(|k| (Some(k as u32), be[k] as f64 / n as f64))
            .collect();
        want.push((None, be[0] as f64 / n as f64));
        assert_eq!(got, want, "{}: breakeven year", o.id);
    }
}

#[test]
fn the_review_places_the_models_scenarios_and_extra_points_in_the_simulated_npvs() {
    let f = fixture();
    let extra: ReviewPoints = vec![("total".into(), vec![("published".into(), 0.6)])];
    let s = assembled(&f, &extra);
    let m = SUMMARY_MEASURES.len();
    let model = &f.plan.model;
    let evals: Vec<_> = (0..model.scenarios.len())
        .map(|k| model.evaluate(k))
        .collect();
    let headline: Vec<usize> = (0..f.plan.entities.len())
        .filter(|e| *e == f.plan.entities.len() - 1 || !model.themes[*e].indicative)
        .collect();
    assert_eq!(s.headline_review.len(), headline.len());
    assert!(
        s.outcomes.iter().all(|o| o.review.is_none()),
        "moved to headline_review"
    );
    for (r, &e) in s.headline_review.iter().zip(&headline) {
        assert_eq!(r.id, f.plan.entities[e]);
        let npv = &f.cols[e * m];
        let mut want: Vec<(String, f64)> = model
            .scenarios
            .iter()
            .zip(&evals)
            .map(|(name, ev)| {
                let o = if e == f.plan.entities.len() - 1 {
                    &ev.total
                } else {
                    &ev.themes[e]
                };
                (format!("model {name}"), o.npv)
            })
            .collect();
        if r.id == "total" {
            want.push(("published".into(), 0.6));
        }
        assert_eq!(r.points.len(), want.len(), "{}", r.id);
        for (pt, (label, v)) in r.points.iter().zip(&want) {
            assert_eq!(&pt.label, label);
            assert!(
                (pt.npv - v).abs() < 1e-9,
                "{} {label}: {} against {v}",
                r.id,
                pt.npv
            );
            close(
                pt.percentile_rank,
                share(npv, |x| x <= pt.npv),
                "percentile rank",
            );
        }
        let lo = want.iter().map(|w| w.1).fold(f64::INFINITY, f64::min);
        let hi = want.iter().map(|w| w.1).fold(f64::NEG_INFINITY, f64::max);
        assert!((r.range[0] - lo).abs() < 1e-9 && (r.range[1] - hi).abs() < 1e-9);
        let within = share(npv, |x| x >= r.range[0] && x <= r.range[1]);
        close(r.p_within_range, within, "P(within the range)");
        close(
            r.p_within_range_se,
            binomial_se(within, N),
            "its standard error",
        );
        // The fixture's columns overlap the scenarios' NPVs only in part: the share is not 0 or 1
        // for every entity, so a wrong range would show.
    }
    assert!(
        s.headline_review
            .iter()
            .any(|r| r.p_within_range > 0.0 && r.p_within_range < 1.0),
        "the fixture must put some range partly inside the simulated NPVs"
    );
}

#[test]
fn a_change_of_unit_scales_money_and_nothing_else() {
    let f = fixture();
    let extra: ReviewPoints = vec![("total".into(), vec![("published".into(), 0.6)])];
    let s = assembled(&f, &extra);
    let k = 1e3;
    let m = s.in_unit(MoneyUnit::Million);
    let money = |a: &Stat, b: &Stat| {
        for (x, y) in [
            (a.mean, b.mean),
            (a.se_mean, b.se_mean),
            (a.sd, b.sd),
            (a.min, b.min),
            (a.max, b.max),
            (a.interval[1], b.interval[1]),
            (a.interval[2], b.interval[2]),
        ] {
            close(y, x * k, "scaled amount");
        }
        assert_eq!(a.interval[0], b.interval[0], "the level is not money");
        for (p, q) in a.percentiles.iter().zip(&b.percentiles) {
            assert_eq!(p.p, q.p);
            close(q.value, p.value * k, "percentile");
            close(q.se, p.se * k, "percentile se");
        }
        for (p, q) in a.below.iter().zip(&b.below) {
            close(q.threshold, p.threshold * k, "threshold");
            assert_eq!((p.p, p.se), (q.p, q.se), "probabilities are not money");
        }
    };
    let same = |a: &Stat, b: &Stat| {
        assert_eq!(
            serde_json::to_string(a).unwrap(),
            serde_json::to_string(b).unwrap()
        );
    };
    for (a, b) in s.outcomes.iter().zip(&m.outcomes) {
        money(&a.npv, &b.npv);
        money(&a.pv_benefits, &b.pv_benefits);
        money(&a.pv_costs, &b.pv_costs);
        same(&a.leakage_to_zero, &b.leakage_to_zero);
        same(&a.delay_to_zero, &b.delay_to_zero);
    }
    for (a, b) in s.partners.iter().zip(&m.partners) {
        money(&a.npv, &b.npv);
        assert_eq!(a.p_negative, b.p_negative);
    }
    for (a, b) in s.headline_review.iter().zip(&m.headline_review) {
        for (p, q) in a.points.iter().zip(&b.points) {
            close(q.npv, p.npv * k, "review point");
            assert_eq!(p.percentile_rank, q.percentile_rank);
        }
        close(b.range[0], a.range[0] * k, "range low");
        close(b.range[1], a.range[1] * k, "range high");
        assert_eq!(a.p_within_range, b.p_within_range);
    }
    for (a, b) in s.inputs.iter().zip(&m.inputs) {
        assert_eq!((a.mean, a.p10, a.p50, a.p90), (b.mean, b.p10, b.p50, b.p90));
    }
    // £bn is the identity.
    assert_eq!(
        serde_json::to_string(&s.in_unit(MoneyUnit::Billion).outcomes).unwrap(),
        serde_json::to_string(&s.outcomes).unwrap()
    );
}

#[test]
fn the_largest_amount_is_the_largest_npv_or_pv_mean_or_percentile() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    let m = SUMMARY_MEASURES.len();
    // Over the NPV, PV of benefits and PV of costs columns of every entity: the means and the
    // reported percentiles (the total's NPV also its P25), in absolute value.
    let mut want: f64 = 0.0;
    for e in 0..f.plan.entities.len() {
        for j in [e * m, e * m + 1, e * m + 2] {
            want = want.max(moments(&f.cols[j]).0.abs());
            for r in [5, 10, 25, 50, 90, 95] {
                if r != 25 || j == (f.plan.entities.len() - 1) * m {
                    want = want.max(value(j, r).abs());
                }
            }
        }
    }
    close(s.largest_amount(), want, "largest amount");
    // The columns of leakage and delay hold larger values, which must not count.
    let other = (0..f.plan.entities.len())
        .flat_map(|e| [e * m + 3, e * m + 4])
        .flat_map(|j| [value(j, 5).abs(), value(j, 95).abs()])
        .fold(0.0, f64::max);
    assert!(other > want, "{other} against {want}");
    assert_eq!(s.money_unit(), MoneyUnit::readable(want));
}

#[test]
fn a_precision_is_met_when_every_headline_npv_percentile_is_within_it() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    let m = SUMMARY_MEASURES.len();
    // The worst ratio of a headline NPV percentile's standard error to what is allowed.
    let mut abs_worst: f64 = 0.0;
    let mut rel_worst: f64 = 0.0;
    for (e, o) in s.outcomes.iter().enumerate() {
        if !o.headline {
            continue;
        }
        let sd = moments(&f.cols[e * m]).1;
        for p in &o.npv.percentiles {
            let rank = ((N - 1) as f64 * p.p).round() as usize;
            let se = quantile_se(e * m, p.p);
            abs_worst = abs_worst.max(se / 0.01);
            rel_worst = rel_worst.max(se / (0.05 * value(e * m, rank).abs().max(sd)));
        }
    }
    close(
        Precision::Absolute(0.01).worst_ratio(&s),
        abs_worst,
        "absolute",
    );
    close(
        Precision::Relative(0.05).worst_ratio(&s),
        rel_worst,
        "relative",
    );
    // Indicative themes do not count: a huge standard error on one leaves the ratios unchanged.
    let mut t = s.clone();
    let ind = t.outcomes.iter_mut().find(|o| !o.headline).unwrap();
    ind.npv.percentiles[0].se = 1e6;
    close(
        Precision::Absolute(0.01).worst_ratio(&t),
        abs_worst,
        "absolute, indicative ignored",
    );
    close(
        Precision::Relative(0.05).worst_ratio(&t),
        rel_worst,
        "relative, indicative ignored",
    );
    // An undefined standard error cannot meet any precision; an exact zero always does.
    let mut u = s.clone();
    u.outcomes.last_mut().unwrap().npv.percentiles[0].se = f64::NAN;
    assert_eq!(Precision::Absolute(0.01).worst_ratio(&u), f64::INFINITY);
    for o in u.outcomes.iter_mut() {
        for p in o.npv.percentiles.iter_mut() {
            p.se = 0.0;
        }
    }
    assert_eq!(Precision::Relative(0.05).worst_ratio(&u), 0.0);
}

#[test]
fn file_hashes_are_sha256_in_lowercase_hex() {
    // FIPS 180-2, appendix B.1: SHA-256("abc").
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    let h = FileHash::of("m.toml", "abc");
    assert_eq!(h.file, "m.toml");
    assert_eq!(h.sha256, sha256_hex(b"abc"));
}

#[test]
fn a_stat_looks_up_only_the_percentiles_it_reports() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    let npv = &s.outcomes[0].npv;
    // Column 0's P10 and P90 are its order statistics 10 and 90; P25 is not reported there.
    assert_eq!(npv.percentile(0.1), Some(npv.percentiles[1].value));
    close(npv.percentile(0.9).unwrap(), value(0, 90), "P90");
    assert_eq!(npv.percentile(0.25), None);
    // The total reports its own further P25.
    let total = &s.outcomes.last().unwrap().npv;
    close(
        total.percentile(0.25).unwrap(),
        value((s.outcomes.len() - 1) * 5, 25),
        "P25",
    );
}

#[test]
fn one_draw_has_no_spread_and_two_draws_have_one() {
    let o = options();
    for (v, sd_exists) in [(vec![2.5], false), (vec![1.0, 3.0], true)] {
        let s = Sorted::new(v.clone()).unwrap();
        let (mean, sd) = if v.len() == 1 {
            (2.5, 0.0)
        } else {
            (2.0, 2f64.sqrt())
        };
        let st = stat_from(mean, sd, &s, &o);
        assert_eq!(st.mean, mean);
        if sd_exists {
            close(st.sd, 2f64.sqrt(), "sd of two draws");
            close(st.se_mean, 1.0, "its standard error, sd / √2");
        } else {
            assert!(st.sd.is_nan() && st.se_mean.is_nan(), "{st:?}");
        }
    }
}

#[test]
fn the_money_unit_follows_the_largest_amount() {
    let f = fixture();
    let s = assembled(&f, &Vec::new());
    // Every amount a thousandth: the largest is then some £m, shown in £m.
    let mut small = s.clone();
    for e in &mut small.outcomes {
        for st in [&mut e.npv, &mut e.pv_benefits, &mut e.pv_costs] {
            st.scale(1e-3);
        }
    }
    assert!(small.largest_amount() < 0.01);
    assert_eq!(small.money_unit(), MoneyUnit::Million);
}

/// The summarised columns (`stream::columns`, which `Summarised` looks columns up in) are each
/// entity's measures in the order of `SUMMARY_MEASURES`, the partners, the inputs, then the local
/// columns, each once: the order the tests here read the fixtures' columns in.
#[test]
fn the_summarised_columns_are_in_their_documented_order_each_once() {
    use crate::engine::{Layout, Measure};
    use crate::stream::Col;
    for plan in [crate::embedded::default_plan(), local_plan()] {
        let cols = crate::stream::columns(&plan);
        let l = plan.layout();
        let mut want = Vec::new();
        for e in 0..l.entities {
            let by_name = [
                ("npv", Col::Outcome(Layout::entity(e, Measure::Npv))),
                (
                    "pv_benefits",
                    Col::Outcome(Layout::entity(e, Measure::PvBenefits)),
                ),
                ("pv_costs", Col::PvCosts(e)),
                ("leakage_to_zero", Col::Leakage(e)),
                (
                    "delay_to_zero",
                    Col::Outcome(Layout::entity(e, Measure::DelayToZero)),
                ),
            ];
            assert_eq!(by_name.map(|m| m.0), SUMMARY_MEASURES);
            want.extend(by_name.map(|m| m.1));
        }
        want.extend((0..l.partners).map(|p| Col::Outcome(l.partner_npv(p))));
        want.extend((0..plan.set.inputs.len()).map(Col::Input));
        want.extend((l.local_base()..l.n_columns()).map(Col::Outcome));
        assert_eq!(cols, want);
        let at = Summarised::of(&plan);
        for (i, &c) in cols.iter().enumerate() {
            assert_eq!(at.at(c), i, "{c:?}");
        }
    }
}

#[test]
fn a_local_case_reports_its_measures_and_budget_impacts_from_their_own_columns() {
    let f = fixture_of(local_plan());
    assert!(f.plan.local);
    let s = assembled(&f, &Vec::new());
    let ps = options().percentiles;
    let l = s.local.as_ref().expect("local measures");
    let ne = f.plan.entities.len();
    let lk = crate::local::LOCAL_MEASURES.len();
    // The local columns follow the entities' measures, the partners and the inputs.
    let lb = ne * SUMMARY_MEASURES.len() + f.plan.model.partners.len() + f.plan.set.inputs.len();
    assert_eq!(l.entities.len(), ne);
    for (e, le) in l.entities.iter().enumerate() {
        assert_eq!(le.id, f.plan.entities[e]);
        let b = lb + e * lk;
        // The total's public value NPV reports the total's further percentiles only in `npv`.
        check_stat(&le.public_value_npv, &f, b, &ps, "public value NPV");
        check_stat(&le.public_value_bcr, &f, b + 1, &ps, "BCR");
        check_stat(&le.roi, &f, b + 2, &ps, "ROI");
        // Payback: the breakeven counts, "none" last.
        let be = &f.breakeven[e];
        let n: u64 = be.iter().sum();
        assert_eq!(le.payback_year.last().unwrap().year, None);
        close(
            le.payback_year.last().unwrap().p,
            be[0] as f64 / n as f64,
            "no payback",
        );
        close(
            le.payback_year[0].p,
            be[1] as f64 / n as f64,
            "payback in year 1",
        );
    }
    assert_eq!(l.budget_impact.len(), f.plan.model.partners.len());
    for (p, bi) in l.budget_impact.iter().enumerate() {
        let col = lb + ne * lk + p;
        assert_eq!(bi.id, f.plan.model.partners[p].id);
        check_stat(&bi.npv, &f, col, &ps, "budget impact");
        let neg = share(&f.cols[col], |x| x < 0.0);
        close(bi.p_negative, neg, "budget impact P(< 0)");
        close(bi.p_negative_se, binomial_se(neg, N), "its se");
    }
    assert_eq!(lb + ne * lk + f.plan.model.partners.len(), f.cols.len());
    // In £m: the public value NPV and the budget impacts scale, the BCR and ROI do not.
    let m = s.in_unit(MoneyUnit::Million);
    let ml = m.local.as_ref().unwrap();
    for (a, b) in l.entities.iter().zip(&ml.entities) {
        close(
            b.public_value_npv.mean,
            a.public_value_npv.mean * 1e3,
            "public value NPV in £m",
        );
        assert_eq!(a.public_value_bcr.mean, b.public_value_bcr.mean);
        assert_eq!(a.roi.mean, b.roi.mean);
    }
    for (a, b) in l.budget_impact.iter().zip(&ml.budget_impact) {
        close(b.npv.mean, a.npv.mean * 1e3, "budget impact in £m");
    }
}

#[test]
fn a_horizon_is_named_in_words_up_to_ten_years() {
    assert_eq!(horizon_npv(1), "one-year");
    assert_eq!(horizon_npv(5), "five-year");
    assert_eq!(horizon_npv(10), "ten-year");
    assert_eq!(horizon_npv(12), "12-year");
    assert_eq!(horizon_npv_capital(3), "Three-year");
    assert_eq!(horizon_npv_capital(40), "40-year");
}
