//! The Slurm scripts `npvrisk slurm` prints, and the shell quoting they need.

use std::path::Path;

/// Quote a word for a POSIX shell.
pub fn sh_quote(w: &str) -> String {
    if !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+%".contains(c))
    {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// A word for a Slurm script, inside a double-quoted string that `sbatch --wrap` hands to a
/// shell: quoted for that shell, then escaped for the double quotes.
pub fn script_word(w: &str) -> String {
    let mut o = String::new();
    for c in sh_quote(w).chars() {
        if "\\$\"`".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// The Slurm batch script of `npvrisk slurm`.
pub fn slurm_script(
    shards: u64,
    dir: &Path,
    cpus: u32,
    npvrisk: &str,
    run_args: &[String],
) -> String {
    // The kept draws (`--keep-draws`, `--draws-format`) are pass 1's: later passes run without
    // them, and the final merge joins the shards' files.
    let mut keep: Vec<String> = Vec::new();
    let mut rest: Vec<String> = Vec::new();
    let mut it = run_args.iter();
    while let Some(a) = it.next() {
        if a == "--keep-draws" || a.starts_with("--draws-format=") {
            keep.push(script_word(a));
        } else if a == "--draws-format" {
            keep.push(script_word(a));
            if let Some(v) = it.next() {
                keep.push(script_word(v));
            }
        } else {
            rest.push(script_word(a));
        }
    }
    let args: Vec<String> = rest;
    let keep_args = keep.join(" ");
    let shard_keep = if keep.is_empty() {
        String::new()
    } else {
        format!(" {keep_args}")
    };
    let out = script_word(&dir.display().to_string());
    let bin = script_word(npvrisk);
    // Outside double quotes (comments, mkdir, --output) words are only quoted for the shell.
    let out_p = sh_quote(&dir.display().to_string());
    let bin_p = sh_quote(npvrisk);
    format!(
        r#"#!/bin/bash
# npvrisk on Slurm: {shards} shards as a job array (pass 1), a job that merges their statistics and
# plans pass 2 (usually none: the shards' sieves find the percentiles), a second job array running
# pass 2 (its tasks return at once when none is planned), and the final merge, each waiting for
# the previous one to succeed. Run this script on the login node: `bash npvrisk-slurm.sh`. The merged
# summary is byte-identical (apart from timing) to a single-process run.
#
# A failed array task can be resubmitted alone, with the same command and its id, e.g. the last:
#   sbatch --array={last} --cpus-per-task={cpus} --output={out_p}/logs/shard-%a.log --wrap="$SHARD_CMD"
# (or "$PASS_CMD" for pass 2), and the following steps then run by hand:
#   {bin_p} merge {out_p}/shards/*.npvshard --next-pass {out_p}/pass2.npvplan
#   {bin_p} merge {out_p}/shards/*.npvshard --out {out_p}{shard_keep}
set -euo pipefail
mkdir -p {out_p}/shards {out_p}/logs
RUN="RAYON_NUM_THREADS=\${{SLURM_CPUS_PER_TASK:-1}} {bin} run {args} --shard \${{SLURM_ARRAY_TASK_ID}}/{shards} --out {out}/shards"
SHARD_CMD="$RUN{shard_keep}"
PASS_CMD="$RUN --pass {out}/pass2.npvplan"
ARRAY_JOB=$(sbatch --parsable --job-name=npvrisk-shards --array=0-{last} --cpus-per-task={cpus} \
    --output={out_p}/logs/shard-%a.log --wrap="$SHARD_CMD")
PLAN_JOB=$(sbatch --parsable --job-name=npvrisk-plan --dependency=afterok:"$ARRAY_JOB" \
    --cpus-per-task={cpus} --output={out_p}/logs/plan.log \
    --wrap="{bin} merge {out}/shards/*.npvshard --next-pass {out}/pass2.npvplan")
PASS_JOB=$(sbatch --parsable --job-name=npvrisk-pass2 --dependency=afterok:"$PLAN_JOB" \
    --array=0-{last} --cpus-per-task={cpus} --output={out_p}/logs/pass2-%a.log --wrap="$PASS_CMD")
MERGE_JOB=$(sbatch --parsable --job-name=npvrisk-merge --dependency=afterok:"$PASS_JOB" \
    --cpus-per-task={cpus} --output={out_p}/logs/merge.log \
    --wrap="{bin} merge {out}/shards/*.npvshard --out {out}{shard_keep} --format json > {out}/merged-stdout.json")
echo "submitted shard array $ARRAY_JOB, plan job $PLAN_JOB, pass-2 array $PASS_JOB and merge job $MERGE_JOB"
"#,
        last = shards - 1,
        args = args.join(" ")
    )
}
