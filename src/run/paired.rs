//! Differences between two plans on the same draws (common random numbers), without keeping the
//! draws: what a batch reports for each scenario against its reference.

use crate::engine::{Plan, RunOptions};
use crate::error::Error;
use crate::stream::{Chunk, StreamConfig, Tree};

/// Mean and sample standard deviation of the per-draw difference `plan − reference` of each
/// outcome column in `cols`, both plans evaluated on the same draws. The draws are generated a
/// chunk of blocks at a time and dropped; their moments are reduced over the fixed binary tree of
/// draws ([`Tree`]), so the result is the same bits whatever the threads, chunking or block
/// size. A draw skipped as non-finite must be skipped by both plans (else the draws cannot be
/// paired).
pub fn differences(
    plan: &Plan,
    reference: &Plan,
    opts: &RunOptions,
    cols: &[usize],
) -> Result<Vec<(f64, f64)>, Error> {
    let blocks = Plan::block_count(opts).map_err(|e| Error::Input(e.to_string()))?;
    // A few blocks per worker thread at a time: the memory of two chunks of draws stays small.
    let chunk =
        (2 * rayon::current_num_threads() as u64).max(StreamConfig::single_process().chunk_blocks);
    let mut trees = vec![Tree::default(); cols.len()];
    // One block's differences in one column at a time.
    let mut d = Vec::new();
    let mut b = 0;
    while b < blocks {
        let e = (b + chunk).min(blocks);
        let run = |p: &Plan| {
            p.run_blocks(opts, b, e, &|_| {})
                .map_err(|e| Error::Input(e.to_string()))
        };
        let (a, r) = (run(plan)?, run(reference)?);
        if a.skipped != r.skipped {
            return Err(Error::Input(format!(
                "draws {}..{}: the scenario and its reference skip different non-finite draws, so their differences cannot be paired",
                opts.draws_to(b),
                opts.draws_to(e)
            )));
        }
        let ch = Chunk {
            d: &a,
            row0: 0,
            first_block: b,
            end_block: e,
            block: opts.block_size,
            draws: opts.draws,
        };
        for k in ch.blocks() {
            for (t, &c) in trees.iter_mut().zip(cols) {
                d.clear();
                d.extend(k.rows.clone().map(|i| a.outcomes[c][i] - r.outcomes[c][i]));
                t.push_draws(k.draws, &d, k.skipped);
            }
        }
        b = e;
    }
    trees
        .iter()
        .map(|t| match Tree::root(&t.nodes, opts.draws) {
            None => Err(Error::Internal(
                "the draws' differences do not cover the run".into(),
            )),
            Some(m) if m.n == 0 => Err(Error::Input(format!(
                "all {} draws were skipped as non-finite: the scenario and its reference have no \
                 draw to compare",
                opts.draws
            ))),
            Some(m) => Ok(m.mean_sd()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::RunOptions;
    use crate::sampler::SamplerKind;

    fn plan(dists: &str) -> Plan {
        let m = crate::format::parse_model("m.toml", crate::embedded::EY2013_MODEL).unwrap();
        let s = m.scenario_index("base").unwrap();
        let set = crate::distfile::load(&m, &[("d.toml".into(), dists.into())]).unwrap();
        Plan::new(m, s, set).unwrap()
    }

    /// `differences` of `p` against `r` on `draws` draws in blocks of each of `block_sizes`,
    /// checked against the differences of the kept draws computed here by a plain two-pass
    /// formula, in every outcome column whose values stay below 1e50 (the differences of larger
    /// ones are rounding); and the same bits for every block size. The results per block size.
    fn checked(p: &Plan, r: &Plan, draws: u64, skip: bool) -> Vec<(usize, f64, f64)> {
        let mut results: Vec<Vec<(usize, f64, f64)>> = Vec::new();
        for block_size in [1000, 997, 40_000] {
            let opts = RunOptions {
                draws,
                seed: 9,
                sampler: SamplerKind::MonteCarlo,
                block_size,
                skip_nonfinite: skip,
            };
            let (a, b) = (
                p.run(&opts, &|_| {}).unwrap(),
                r.run(&opts, &|_| {}).unwrap(),
            );
            assert_eq!(a.skipped, b.skipped);
            let big = |c: usize| {
                a.outcomes[c]
                    .iter()
                    .chain(&b.outcomes[c])
                    .fold(0.0f64, |x, y| x.max(y.abs()))
            };
            let cols: Vec<usize> = (0..p.n_outcomes()).filter(|&c| big(c) < 1e50).collect();
            assert!(!cols.is_empty());
            let got = differences(p, r, &opts, &cols).unwrap();
            for (&c, &(mean, sd)) in cols.iter().zip(&got) {
                let d: Vec<f64> = a.outcomes[c]
                    .iter()
                    .zip(&b.outcomes[c])
                    .map(|(x, y)| x - y)
                    .collect();
                let n = d.len() as f64;
                let m = d.iter().sum::<f64>() / n;
                let s = (d.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)).sqrt();
                // Rounding of differences of values up to `big` in size: n·ε·big at most.
                let tol = n * f64::EPSILON * big(c).max(f64::MIN_POSITIVE);
                assert!((mean - m).abs() <= tol, "column {c}: {mean} vs {m}");
                assert!(
                    (sd - s).abs() <= tol.max(1e-9 * s),
                    "column {c}: {sd} vs {s}"
                );
            }
            results.push(
                cols.into_iter()
                    .zip(got)
                    .map(|(c, (m, s))| (c, m, s))
                    .collect(),
            );
        }
        // The tree of draws reduces the same draws to the same bits, whatever the block size.
        let bits = |r: &Vec<(usize, f64, f64)>| -> Vec<(usize, u64, u64)> {
            r.iter()
                .map(|&(c, m, s)| (c, m.to_bits(), s.to_bits()))
                .collect()
        };
        assert!(results.iter().all(|r| bits(r) == bits(&results[0])));
        results.swap_remove(0)
    }

    #[test]
    fn paired_differences_match_the_kept_draws_and_do_not_depend_on_the_block_size() {
        let base = crate::embedded::EY2013_DISTS;
        let other = format!(
            "{base}\n[[input]]\npath = \"discount_rate\"\nkind = \"fixed\"\nvalue = 0.05\nsource = \"test\"\n"
        );
        let got = checked(&plan(&other), &plan(base), 20_011, false);
        // A rate of 5% instead of 3.5% lowers the first theme's mean NPV (its benefits come later
        // than its costs).
        assert_eq!(got[0].0, 0);
        assert!(got[0].1 < 0.0);
    }

    /// With draws skipped (an input whose upper tail overflows about one draw in eight, skipped
    /// by both plans alike), the differences are those of the draws both kept: each block's rows
    /// are its draws less its own skipped ones.
    #[test]
    fn paired_differences_leave_out_the_skipped_draws() {
        let read = |f: &str| {
            let path = format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"));
            (path.clone(), std::fs::read_to_string(&path).unwrap())
        };
        let (mf, ms) = read("council.toml");
        let m = crate::format::parse_model(&mf, &ms).unwrap();
        let s = m.scenario_index("central").unwrap();
        let dists = [read("council_dists.toml"), read("overflow_dists.toml")];
        let costlier = (
            "costlier.toml".to_string(),
            "[[input]]\npath = \"themes.families.optimism_bias_cost\"\nkind = \"fixed\"\nvalue = 0.25\nsource = \"test\"\n".to_string(),
        );
        let with = |extra: Option<(String, String)>| {
            let files: Vec<(String, String)> = dists.iter().cloned().chain(extra).collect();
            Plan::new(m.clone(), s, crate::distfile::load(&m, &files).unwrap()).unwrap()
        };
        let (p, r) = (with(Some(costlier)), with(None));
        let opts = RunOptions {
            draws: 20_011,
            seed: 9,
            sampler: SamplerKind::MonteCarlo,
            block_size: 1000,
            skip_nonfinite: true,
        };
        assert!(r.run(&opts, &|_| {}).unwrap().skipped.len() > 1000);
        let got = checked(&p, &r, 20_011, true);
        // Only the delays to zero stay below 1e50 (the NPVs overflow with the benefits): with
        // costs higher by a larger optimism bias, the NPV reaches zero after less delay.
        assert!(
            !got.is_empty() && got.iter().all(|&(_, m, _)| m < 0.0),
            "{got:?}"
        );
    }

    /// A run whose every draw is skipped (a one-off cost beyond any scale; the plan against
    /// itself) has no difference to report: an error that says so, not a mean and deviation of 0.
    #[test]
    fn paired_differences_of_no_kept_draw_are_an_error() {
        let huge = "[[input]]\npath = \"themes.health_social_care.one_off_costs_bn[0]\"\nkind = \"fixed\"\nvalue = 1e300\nsource = \"test\"\n";
        let base = crate::embedded::EY2013_DISTS;
        let p = plan(&format!("{base}\n{huge}"));
        let opts = RunOptions {
            draws: 3_000,
            seed: 9,
            sampler: SamplerKind::MonteCarlo,
            block_size: 1000,
            skip_nonfinite: true,
        };
        assert_eq!(p.run(&opts, &|_| {}).unwrap().skipped.len(), 3_000);
        match differences(&p, &p, &opts, &[0]) {
            Err(Error::Input(m)) => assert!(m.contains("all 3000 draws were skipped"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
