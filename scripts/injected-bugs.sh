#!/usr/bin/env bash
# The nine one-line bugs that issue 16 found surviving the test suite, injected again one at a
# time into a copy of the tree: for each, every test target runs against the bug (`cargo test
# --release --no-fail-fast --tests`: the unit and integration tests, not the doc examples), and
# the tests that fail are listed. A bug that no test fails is reported as SURVIVED and the
# script exits 1.
#
# Usage: scripts/injected-bugs.sh [OUT]   (OUT default results/mutants/injected-bugs.txt)
# Runs in a temporary copy of HEAD's tree (the working tree is not touched), with its own
# target directory (INJECT_TARGET, default target/injected-bugs); about a build and a suite run
# per bug.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-results/mutants/injected-bugs.txt}"
target="${INJECT_TARGET:-$PWD/target/injected-bugs}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
git archive HEAD | tar -x -C "$work"

# Each bug, on a line of four tab-separated fields: a name, the file, the exact code as it is and
# as the bug has it (every occurrence in the file is replaced; the code must occur).
bugs_file="$work/bugs.tsv"
cat >"$bugs_file" <<'BUGS'
per-year discount rate read from the previous year	src/model.rs	df[t] = df[t - 1] / (1.0 + rates[t]);	df[t] = df[t - 1] / (1.0 + rates[t - 1]);
breakeven when the running total exceeds zero, not when it reaches it	src/kernel.rs	if cum >= 0.0 {	if cum > 0.0 {
leakage-to-zero halved	src/stream.rs	.map(|(n, b)| if *n > 0.0 { n / b } else { 0.0 }),	.map(|(n, b)| if *n > 0.0 { 0.5 * n / b } else { 0.0 }),
standard error of a proportion without its square root	src/stats.rs	(p * (1.0 - p) / n as f64).sqrt()	(p * (1.0 - p) / n as f64)
standard error of the mean divided by n, not its square root	src/summary.rs	se_mean: sd / (n as f64).sqrt(),	se_mean: sd / (n as f64),
the interval asked reported at a level 0.1 lower (90% as 80%)	src/summary.rs	let a = (1.0 - o.interval) / 2.0;	let a = (1.0 - (o.interval - 0.1)) / 2.0;
breakeven-year probabilities shifted by a year	src/summary.rs	year: Some(k as u32),	year: Some(k as u32 + u32::from(zero_is_none)),
Sobol total-order indices replaced by the first-order ones	src/sensitivity.rs	total: [r.total[i].estimate, r.total[i].low, r.total[i].high],	total: [r.first[i].estimate, r.first[i].low, r.first[i].high],
a fractional own delay ignored in delay-to-zero	src/kernel.rs	let own = t.own_delay.max(0.0);	let own = t.own_delay.max(0.0).trunc();
BUGS

export CARGO_TARGET_DIR="$target"
# Every test target of the copy, its output in $work/log.
suite() { (cd "$work" && timeout 3600 cargo test --release --locked --no-fail-fast --tests >"$work/log" 2>&1); }
{
    echo "# The nine bugs of issue 16, injected one at a time; the tests that fail with each."
    echo "# scripts/injected-bugs.sh at $(git rev-parse --short HEAD), $(date -u +%Y-%m-%d)."
} >"$work/report"
# The suite must pass without a bug, or the lists below would mean nothing.
echo "== no bug (the baseline)" >&2
if ! suite; then
    echo "the suite fails without any bug:" >&2
    grep -E "FAILED|panicked|error" "$work/log" | head -n 30 >&2
    exit 2
fi
survived=0
while IFS=$'\t' read -r -u 3 name file old new; do
    python3 - "$work/$file" "$old" "$new" <<'PY'
import sys
path, old, new = sys.argv[1:]
s = open(path).read()
if old not in s:
    sys.exit(f"{path}: the line {old!r} is not there")
open(path, "w").write(s.replace(old, new))
PY
    echo "== $name ($file)" >&2
    log="$work/log"
    suite || true
    failed="$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u)"
    if ! grep -q "^test result" "$log"; then
        echo "the build failed with the bug '$name':" >&2
        tail -n 30 "$log" >&2
        exit 2
    fi
    {
        echo
        echo "## $name"
        echo "$file: \`$old\` → \`$new\`"
        if [ -n "$failed" ]; then
            printf '%s\n' "$failed" | sed 's/^/- /'
        else
            echo "SURVIVED: no test fails"
        fi
    } >>"$work/report"
    [ -n "$failed" ] || survived=$((survived + 1))
    # Back to HEAD's file before the next bug.
    git show "HEAD:$file" >"$work/$file"
done 3<"$bugs_file"
cp "$work/report" "$out"
cat "$out"
[ "$survived" -eq 0 ] || { echo "$survived of the nine bugs survived" >&2; exit 1; }
