use npvrisk::format::parse_model;
use npvrisk::model::ModelSpec;
use npvrisk::params::{apply, resolve};

use crate::{bin, run_ok};

pub(crate) const GM: &str = "examples/gm_troubled_families/model.toml";
const GM_DISTS: &str = "examples/gm_troubled_families/dists.toml";

fn gm() -> ModelSpec {
    parse_model(GM, &std::fs::read_to_string(GM).unwrap()).unwrap()
}

#[test]
fn the_gm_example_reproduces_its_published_totals() {
    // £224m of savings of which £110m cashable over five years, £138m invested (sources/002,
    // 003). The values per family are printed to the pound over 4,473.4 successful
    // family-years, so each total is within 2 × £0.5 × 4,473.4 ≈ £4.5k of the published one.
    let m = gm();
    let i = m.inputs(0);
    let l = i.themes[0].local.as_deref().unwrap();
    let fiscal: f64 = l.fiscal.iter().sum();
    let cashable: f64 = l.cashable.iter().sum();
    assert!((fiscal - 0.224).abs() < 5e-6, "fiscal £{fiscal}bn");
    assert!((cashable - 0.110).abs() < 5e-6, "cashable £{cashable}bn");
    let e = m.evaluate(0);
    let costs: f64 = e.total.flows.costs.iter().sum();
    assert!((costs - 0.138).abs() < 1e-12, "costs £{costs}bn");
    // The kernel's gross benefits are the compiled fiscal stream.
    let gross: f64 = e.total.flows.gross_benefits.iter().sum();
    assert!((gross - fiscal).abs() < 1e-15);
}

/// A theme stated per member and the same theme stated as one outcome (no lag, one year of
/// benefit, no deadweight, impact = realisation) are the same case.
#[test]
fn an_outcome_without_lag_lasting_one_year_is_the_per_member_theme() {
    let head = r#"
[model]
name = "m"
price_base = "2024-25"
horizon_years = 5
scenarios = ["s"]
[[partners]]
id = "A"
name = "A"
[[partners]]
id = "B"
name = "B"
"#;
    // The fields both forms share: timing and the costs other than per member.
    let theme = r#"
[[themes]]
id = "t"
name = "T"
addressable_spend_bn = 1.0
profile = [0.2, 0.6, 1.0]
delay_years = 0.4
optimism_bias_cost = 0.1
one_off_costs_bn = [0.004, 0.001, 0, 0, 0]
ongoing_costs_bn = [0.0005, 0.0005, 0.0005, 0.0005, 0.0005]"#;
    let classic = format!(
        "{head}{theme}{}",
        r#"
cohort = 2000
engagement = 0.7
benefit_per_engaged_gbp = 9000
realisation = 0.8
optimism_bias_benefit = 0.15
cost_per_engaged_gbp = 2000
partner_shares = { A = 0.3, B = 0.7 }
"#
    );
    let outcome = format!(
        "{head}{theme}{}",
        r#"
scaled_cost_bn = 0.0028  # £2,000 × 2,000 × 0.7 engaged at full activity
cost_shares = { A = 1.0 }
[[themes.outcomes]]
id = "o"
name = "O"
cohort = 2000
engagement = 0.7
impact = 0.8
optimism_bias = 0.15
fiscal_cashable_gbp = 9000
agency_shares = { A = 0.3, B = 0.7 }
"#
    );
    let a = parse_model("classic.toml", &classic).unwrap().evaluate(0);
    let b = parse_model("outcome.toml", &outcome).unwrap().evaluate(0);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(1e-3);
    assert!(
        close(a.total.npv, b.total.npv),
        "{} vs {}",
        a.total.npv,
        b.total.npv
    );
    assert!(close(a.total.pv_benefits, b.total.pv_benefits));
    assert!(close(a.total.pv_costs, b.total.pv_costs));
    assert!(close(
        a.total.delay_to_zero.exact_years,
        b.total.delay_to_zero.exact_years
    ));
    assert_eq!(a.total.breakeven_year, b.total.breakeven_year);
    for (x, y) in a.total_allocations.iter().zip(&b.total_allocations) {
        assert!(close(x.npv_bn, y.npv_bn), "{x:?} vs {y:?}");
    }
    // The local measures: public value is fiscal here; ROI = NPV / PV of costs; A bears every
    // cost and receives 30% of the (all cashable) benefits.
    let l = b.local.unwrap();
    let t = &b.total;
    assert!(close(l.public_npv[1], t.npv));
    assert!(close(l.roi[1], t.npv / t.pv_costs));
    assert!(close(l.bcr[1], t.pv_benefits / t.pv_costs));
    assert!(close(l.budget_impact[0], 0.3 * t.pv_benefits - t.pv_costs));
    assert!(close(l.budget_impact[1], 0.7 * t.pv_benefits));
}

#[test]
fn budget_impacts_add_up_to_the_npv_when_every_saving_is_cashable() {
    let m = gm();
    let mut i = m.inputs(0);
    let set = |i: &mut npvrisk::model::Inputs, path: &str, v: f64| {
        apply(i, resolve(&m, path).unwrap().target, &[v]);
    };
    let o = "themes.families.outcomes.reduced_demand";
    set(
        &mut i,
        &format!("{o}.fiscal_cashable_gbp"),
        24590.0 + 25484.0,
    );
    set(&mut i, &format!("{o}.fiscal_non_cashable_gbp"), 0.0);
    let e = npvrisk::model::evaluate(&i, &m.partners);
    let l = e.local.unwrap();
    let sum: f64 = l.budget_impact.iter().sum();
    assert!(
        (sum - e.total.npv).abs() < 1e-12,
        "{sum} vs {}",
        e.total.npv
    );
    // Economic and social values raise the public value, not the financial case.
    set(&mut i, &format!("{o}.social_gbp"), 10000.0);
    let e2 = npvrisk::model::evaluate(&i, &m.partners);
    assert!((e2.total.npv - e.total.npv).abs() < 1e-15);
    assert!(e2.local.unwrap().public_npv[1] > e.total.npv + 0.01);
}

#[test]
fn outcome_paths_resolve_and_move_the_compiled_theme() {
    let m = gm();
    let r = resolve(&m, "themes.families.outcomes.reduced_demand.impact").unwrap();
    assert_eq!(r.values, vec![vec![0.5]]);
    let mut i = m.inputs(0);
    let pvb = npvrisk::model::evaluate(&i, &m.partners).total.pv_benefits;
    apply(&mut i, r.target, &[1.0]);
    let pvb2 = npvrisk::model::evaluate(&i, &m.partners).total.pv_benefits;
    // Benefits are proportional to the impact rate.
    assert!((pvb2 - 2.0 * pvb).abs() < 1e-12 * pvb, "{pvb} → {pvb2}");
    let e = resolve(&m, "themes.families.outcomes.reduced_demand.impct").unwrap_err();
    assert!(
        e.contains("did you mean `themes.families.outcomes.reduced_demand.impact`"),
        "{e}"
    );
    // Benefit fields stated per outcome are not theme-level paths of such a theme.
    assert!(resolve(&m, "themes.families.realisation").is_err());
    assert!(resolve(&m, "themes.families.partner_shares.DH").is_err());
    let r = resolve(&m, "themes.families.cost_shares.TFP").unwrap();
    assert_eq!(r.values, vec![vec![0.4]]);
}

#[test]
fn the_gm_example_runs_with_the_local_measures_and_the_same_bits_on_any_thread_count() {
    let run = |threads: &str| {
        let o = run_ok(bin().args([
            "run",
            GM,
            "--dist",
            GM_DISTS,
            "--draws",
            "3000",
            "--format",
            "json",
            "--threads",
            threads,
        ]));
        o.stdout
    };
    // The same summary apart from its timing.
    let parse = |b: Vec<u8>| {
        let mut v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        v.as_object_mut().unwrap().remove("timing");
        v
    };
    let v = parse(run("1"));
    assert_eq!(v, parse(run("2")));
    let l = &v["local"];
    assert_eq!(l["budget_impact"].as_array().unwrap().len(), 8);
    let total = &l["entities"][1];
    assert_eq!(total["id"], "total");
    let bcr = total["public_value_bcr"]["percentiles"][2]["value"]
        .as_f64()
        .unwrap();
    assert!(bcr > 0.5 && bcr < 3.0, "median BCR {bcr}");
    assert!(!total["payback_year"].as_array().unwrap().is_empty());
    // The 2013 model's summary has no local section.
    let o = run_ok(bin().args(["run", "--draws", "500", "--format", "json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.get("local").is_none());
}

/// A drawn cost share or agency share is balanced like a partner share: the other shares of its
/// set are rescaled so the set still sums to 1. So one share per set can be drawn (within a file
/// and across files), a share whose set has nothing else to rescale is refused, located, and
/// draws on different sets are independent.
#[test]
fn drawn_cost_and_agency_shares_keep_their_sets_summing_to_one() {
    let text = std::fs::read_to_string(GM).unwrap();
    let load = |model: &str, files: &[(&str, &str)]| {
        let m = parse_model(GM, model).unwrap();
        let files: Vec<(String, String)> = files
            .iter()
            .map(|(n, s)| (n.to_string(), s.to_string()))
            .collect();
        npvrisk::distfile::load(&m, &files).map_err(|e| e.to_string())
    };
    let input = |path: &str, value: f64| {
        format!("[[input]]\npath = \"{path}\"\nkind = \"fixed\"\nvalue = {value}\n")
    };
    let cost = |p: &str, v: f64| input(&format!("themes.families.cost_shares.{p}"), v);
    let agency = |p: &str, v: f64| {
        input(
            &format!("themes.families.outcomes.reduced_demand.agency_shares.{p}"),
            v,
        )
    };

    // One cost share and one agency share: two sets, both drawn, each still summing to 1.
    let both = cost("TFP", 0.25) + &agency("DWP", 0.5);
    let set = load(&text, &[("d.toml", &both)]).unwrap();
    let m = gm();
    let mut x = m.inputs(0);
    crate::engine::apply_medians(&mut x, &set);
    assert_eq!(set.inputs.len(), 2);
    let l = x.themes[0].local.as_ref().unwrap();
    let sum = |v: &[f64]| v.iter().sum::<f64>();
    assert!(
        (sum(&l.cost_shares) - 1.0).abs() < 1e-12,
        "{:?}",
        l.cost_shares
    );
    assert!((sum(&l.outcomes[0].agency_shares) - 1.0).abs() < 1e-12);

    // A second share of either set: refused at the second, in one file ...
    let err = load(
        &text,
        &[("d.toml", &(cost("TFP", 0.25) + &cost("LG", 0.75)))],
    )
    .unwrap_err();
    assert!(
        err.contains("d.toml:6:8") && err.contains("one cost share per theme can be drawn"),
        "{err}"
    );
    let err = load(
        &text,
        &[("d.toml", &(agency("DWP", 0.5) + &agency("DH", 0.1)))],
    )
    .unwrap_err();
    assert!(
        err.contains("d.toml:6:8")
            && err.contains("one agency share per outcome can be drawn")
            && err.contains("outcome `reduced_demand` of theme `families`"),
        "{err}"
    );
    // ... and across files, naming the other file.
    for (a, b, says) in [
        (
            cost("TFP", 0.25),
            cost("LG", 0.75),
            "one cost share per theme",
        ),
        (
            agency("DWP", 0.5),
            agency("DH", 0.1),
            "one agency share per outcome",
        ),
    ] {
        let err = load(&text, &[("a.toml", &a), ("b.toml", &b)]).unwrap_err();
        assert!(err.contains(says) && err.contains("(in `a.toml`)"), "{err}");
    }

    // A share with nothing else in its set to rescale: refused, located.
    for (from, to, input, says) in [
        (
            "cost_shares = { LG = 0.6, TFP = 0.4 }",
            "cost_shares = { LG = 1.0, TFP = 0.0 }",
            cost("LG", 0.5),
            "theme `families`",
        ),
        (
            "agency_shares = { LG = 0.22, DH = 0.21, DWP = 0.26, HO = 0.13, MoJ = 0.09, DfE = 0.08, unallocated = 0.01 }",
            "agency_shares = { LG = 1.0 }",
            agency("LG", 0.5),
            "outcome `reduced_demand` of theme `families`",
        ),
    ] {
        let lone = text.replace(from, to);
        assert_ne!(lone, text, "the fixture's shares moved");
        let err = load(&lone, &[("d.toml", &input)]).unwrap_err();
        let says = format!("every other partner's share of {says} is 0");
        assert!(err.contains("d.toml:2:8") && err.contains(&says), "{err}");
    }
}

/// Percentiles that leave out the median, P10 or P90 (`--percentiles 0.25,0.75`): the table and
/// the report show each local measure's, threshold's and agency's mean, or mark the missing
/// percentile as not computed, instead of printing NaN; with them, the median and its interval.
#[test]
fn a_run_without_the_median_or_p10_p90_shows_no_nan() {
    let args = |pcts: &str| {
        vec![
            GM.to_string(),
            "--dist".into(),
            GM_DISTS.into(),
            "--draws".into(),
            "1000".into(),
            "--percentiles".into(),
            pcts.into(),
        ]
    };
    let table = |pcts: &str| {
        let o = run_ok(bin().arg("run").args(args(pcts)));
        String::from_utf8(o.stdout).unwrap()
    };
    let partial = table("0.25,0.75");
    assert!(!partial.contains("NaN"), "{partial}");
    for measure in ["NPV mean ", "BCR mean ", "ROI mean ", "delay-to-zero mean "] {
        assert!(partial.contains(measure), "no `{measure}` in\n{partial}");
    }
    let full = table("0.1,0.5,0.9");
    assert!(
        !full.contains("NaN") && !full.contains("BCR mean"),
        "{full}"
    );
    assert!(full.contains("median"), "{full}");
    let dir = crate::temp_dir("local-pcts");
    let out = dir.join("report");
    run_ok(
        bin()
            .arg("report")
            .args(args("0.25,0.75"))
            .arg("--out")
            .arg(&out),
    );
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(!html.contains("NaN"), "NaN in the report");
    assert!(
        html.contains("not computed"),
        "no percentile marked not computed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Costs whose present value is 0 leave the BCR and ROI undefined: `evaluate`'s table says
/// "n/a" for them, as the partner table says "-", rather than printing NaN.
#[test]
fn an_evaluation_without_costs_shows_no_nan() {
    let text = std::fs::read_to_string(GM).unwrap();
    let free = text.replace("scaled_cost_bn = 0.138", "scaled_cost_bn = 0.0");
    assert_ne!(free, text, "the fixture's scaled cost moved");
    let dir = crate::temp_dir("local-free");
    let model = dir.join("model.toml");
    std::fs::write(&model, free).unwrap();
    let o = run_ok(bin().arg("evaluate").arg(&model));
    let table = String::from_utf8(o.stdout).unwrap();
    assert!(!table.contains("NaN"), "{table}");
    let row = table
        .lines()
        .skip_while(|l| !l.starts_with("Local cost-benefit measures"))
        .find(|l| l.starts_with("families "))
        .unwrap_or_else(|| panic!("{table}"));
    assert_eq!(row.matches("n/a").count(), 2, "BCR and ROI: {row}");
    let _ = std::fs::remove_dir_all(&dir);
}
