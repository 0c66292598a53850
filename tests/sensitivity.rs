use npvrisk::distfile;
use npvrisk::engine::Plan;
use npvrisk::format::parse_model;
use npvrisk::sensitivity::{self, SensitivityOptions};

use crate::engine::{LINEAR_DISTS, LINEAR_MODEL};
use crate::{bin, run_expect, run_ok, temp_dir};

/// NPV = 3 G − C with G ~ N(10, 1), C ~ N(3, 0.5) (both truncated at 0, immaterially).
fn linear_plan() -> Plan {
    let m = parse_model("linear.toml", LINEAR_MODEL).unwrap();
    let set = distfile::load(&m, &[("linear_dists.toml".into(), LINEAR_DISTS.into())]).unwrap();
    Plan::new(m, 0, set).unwrap()
}

#[test]
fn tornado_and_switching_values_match_the_closed_form() {
    let plan = linear_plan();
    let bars = sensitivity::tornado(&plan, (0.1, 0.9));
    // G moves NPV three times as much per unit and has twice C's sd: G first.
    assert_eq!(bars[0].factor, "themes.t.gross_benefit_bn");
    let z90 = 1.2815515655446004;
    assert!(
        (bars[0].swing - 3.0 * 2.0 * z90 * 1.0).abs() < 1e-6,
        "{}",
        bars[0].swing
    );
    assert!(
        (bars[1].swing - 2.0 * z90 * 0.5).abs() < 1e-6,
        "{}",
        bars[1].swing
    );
    let sv = sensitivity::switching_values(&plan);
    let g = sv
        .iter()
        .find(|v| v.factor == "themes.t.gross_benefit_bn" && v.entity == "total")
        .unwrap();
    // 3 G − 3 = 0 at G = 1 (C at its median 3); inside the support [0, ∞) far in the lower tail.
    assert!((g.switching_value.unwrap() - 1.0).abs() < 1e-9, "{g:?}");
    assert!(g.inside_distribution && g.percentile.unwrap() < 1e-10);
    let c = sv
        .iter()
        .find(|v| v.factor == "themes.t.one_off_costs_bn[0]" && v.entity == "total")
        .unwrap();
    assert!((c.switching_value.unwrap() - 30.0).abs() < 1e-8, "{c:?}");
    assert!((c.change_pct.unwrap() - 900.0).abs() < 1e-6);
}

#[test]
fn sobol_indices_of_the_linear_model_cover_their_analytic_values() {
    let plan = linear_plan();
    let o = SensitivityOptions {
        levels: (0.1, 0.9),
        sobol_base: 4096,
        bootstrap: 500,
        confidence: 0.95,
        seed: 11,
    };
    let r = sensitivity::sobol(&plan, &o).unwrap();
    let total = r.iter().find(|x| x.entity == "total").unwrap();
    // Linear and independent: S_i = S_Ti = c_i² σ_i² / Σ c_j² σ_j² = 9 / 9.25 and 0.25 / 9.25.
    for (f, exact) in [
        ("themes.t.gross_benefit_bn", 9.0 / 9.25),
        ("themes.t.one_off_costs_bn[0]", 0.25 / 9.25),
    ] {
        let x = total.factors.iter().find(|x| x.factor == f).unwrap();
        assert!(
            x.first[1] <= exact && exact <= x.first[2],
            "{f} first {:?} vs {exact}",
            x.first
        );
        assert!(
            x.total[1] <= exact && exact <= x.total[2],
            "{f} total {:?} vs {exact}",
            x.total
        );
    }
}

#[test]
fn rank_correlations_order_the_inputs_by_influence() {
    let plan = linear_plan();
    let o = npvrisk::engine::RunOptions {
        draws: 20_000,
        seed: 3,
        sampler: npvrisk::sampler::SamplerKind::MonteCarlo,
        block_size: 4096,
        skip_nonfinite: false,
    };
    let d = plan.run(&o, &|_| {}).unwrap();
    let r = sensitivity::rank_correlations(&plan, &d);
    let g = r
        .iter()
        .find(|x| x.input == "themes.t.gross_benefit_bn" && x.entity == "total")
        .unwrap();
    let c = r
        .iter()
        .find(|x| x.input == "themes.t.one_off_costs_bn[0]" && x.entity == "total")
        .unwrap();
    // Pearson correlation of NPV with G is 3/√9.25 = 0.986, with C −0.5/√9.25 = −0.164; for
    // jointly normal variables Spearman = (6/π) asin(ρ/2). Standard error ≈ (1 − ρ²)/√n.
    let spearman = |rho: f64| 6.0 / std::f64::consts::PI * (rho / 2.0).asin();
    let n = 20_000f64;
    for (x, rho) in [(g, 3.0 / 9.25f64.sqrt()), (c, -0.5 / 9.25f64.sqrt())] {
        let exact = spearman(rho);
        let se = (1.0 - exact * exact) / n.sqrt();
        assert!(
            (x.spearman - exact).abs() < 4.0 * se,
            "{} vs {exact}",
            x.spearman
        );
    }
    assert!((g.contribution + c.contribution - 1.0).abs() < 1e-12);
}

#[test]
fn sensitivity_bad_input_exits_2_and_leaves_no_files() {
    for (args, needle) in [
        (
            vec![
                "sensitivity",
                "tests/data/council.toml",
                "--method",
                "sobol",
            ],
            "no input has a distribution",
        ),
        (vec!["sensitivity", "--levels", "0.1,1.2"], "`--levels`"),
        (
            vec!["sensitivity", "--method", "sobol", "--sobol-n", "32"],
            "`base draws` = 32",
        ),
        (
            vec!["sensitivity", "--confidence", "1.5"],
            "`--confidence` = 1.5",
        ),
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(needle),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    let dir = temp_dir("sens-unwritable");
    std::fs::write(dir.join("blocker"), "x").unwrap();
    run_expect(
        2,
        bin()
            .args(["sensitivity", "--method", "tornado", "--out"])
            .arg(dir.join("blocker/out")),
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no partial files"
    );
}

#[test]
fn sensitivity_writes_its_tables_to_the_output_folder() {
    let dir = temp_dir("sens-out");
    run_ok(
        bin()
            .args([
                "sensitivity",
                "--draws",
                "20000",
                "--sobol-n",
                "256",
                "--out",
            ])
            .arg(&dir),
    );
    for f in [
        "sensitivity.json",
        "tornado.csv",
        "switching.csv",
        "rank.csv",
        "sobol.csv",
    ] {
        assert!(dir.join(f).exists(), "{f}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
