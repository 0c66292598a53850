#!/usr/bin/env bash
# Mutation testing in CI: the mutants in the lines of the core modules changed since the commit
# named in results/mutants/checked-through, run with scripts/mutants.sh --in-diff.
#
# It fails when a mutant survives (is missed by every test) unless that survivor is listed in
# results/mutants/explained.txt, the reviewed equivalent or unreachable mutants. A new survivor
# therefore needs a test that catches it, or a line in explained.txt saying why no test can.
# It also fails when the unmutated tests fail (cargo-mutants' baseline) or cargo-mutants cannot
# run. Timeouts are reported, not failed: on a crowded machine a slow run is not a hang.
#
# After the survivors of a change are reviewed, move checked-through to that commit so that later
# runs mutate only what changed after it.
#
# At most MAX_MUTANTS (default 24) are run: beyond that a round-robin shard of the changed lines'
# mutants is taken, chosen by the commit's hash (the same commit always runs the same shard; other
# commits usually run another), and the script says so. A sample can miss a survivor that a later
# commit's sample then finds: the full set is `scripts/mutants.sh --in-diff` on the same diff.
# Each test run is limited to TIMEOUT (default 300) seconds of wall-clock time and its test
# process to CPU_LIMIT (default 150) CPU seconds, each build to BUILD_TIMEOUT (default 900, in
# scripts/mutants.sh), and the whole step to TOTAL_MINUTES (default 45); a step that runs out of
# time fails. The unmutated baseline counts as a failure when it runs out of time, so the limits
# leave it room: on two quiet cores the stream module's baseline took 172 s to build and 136 s
# to test, and with one limit of 180 s (`--timeout`, which by cargo-mutants 27.1.0's help covers
# every cargo command) it failed once beside another build.
#
# The diff is taken between the base commit and the working tree, which is what cargo-mutants
# mutates (on a clean checkout, HEAD). cargo-mutants' outcome, logs included, is kept in
# target/mutants-ci/ for reading after a failure.
#
# Usage: scripts/mutants-ci.sh           (needs cargo-mutants; .ci/run installs it)
#        BASE=<commit> scripts/mutants-ci.sh   to mutate the lines changed since another commit
set -euo pipefail
cd "$(dirname "$0")/.."

MAX_MUTANTS="${MAX_MUTANTS:-24}"
export TIMEOUT="${TIMEOUT:-300}" CPU_LIMIT="${CPU_LIMIT:-150}"
TOTAL_MINUTES="${TOTAL_MINUTES:-45}"
export LC_ALL=C

# The keys of results/mutants/explained.txt: the survivor's name without its line
# (`src/FILE.rs:COL: DESCRIPTION`), before the two-space comment. The column stays while the
# file is edited elsewhere; when a survivor's own line is edited it is in the diff again, and a
# moved column asks for its review again. Checked first, whatever changed: a key without its
# column would stand for every mutant of that description in the function.
explained_keys() {
    sed -n 's/^\(src\/[^#]*[^ #]\)  *#.*$/\1/p; /^src\/[^#]*[^ #]$/p' results/mutants/explained.txt |
        sort -u
}
no_column="$(explained_keys | grep -v '^src/[^:]*:[0-9][0-9]*: ' || true)"
if [ -n "$no_column" ]; then
    echo "mutants-ci: results/mutants/explained.txt: keys without a column (the format is" \
        "\`src/FILE.rs:COL: DESCRIPTION  # reason\`):" >&2
    printf '%s\n' "$no_column" | sed 's/^/  /' >&2
    exit 2
fi
modules="$(scripts/mutants.sh --modules)" || {
    echo "mutants-ci: scripts/mutants.sh --modules failed" >&2
    exit 2
}
read -r -a MODULES <<<"$modules"
[ ${#MODULES[@]} -gt 0 ] || { echo "mutants-ci: no module to mutate" >&2; exit 2; }

base="${BASE:-$(grep -v '^#' results/mutants/checked-through | head -n 1 | tr -d '[:space:]')}"
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    # A shallow checkout: fetch the history it lacks.
    git fetch --quiet --unshallow 2>/dev/null || true
fi
if ! git cat-file -e "$base^{commit}" 2>/dev/null; then
    echo "mutants-ci: the base commit '$base' (results/mutants/checked-through) is not in this" \
        "repository's history, and it could not be fetched" >&2
    exit 2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
out_dir="$PWD/target/mutants-ci"
rm -rf "$out_dir"
paths=()
for m in "${MODULES[@]}"; do paths+=("src/$m.rs"); done
# A plain unified diff whatever the local git configuration (prefixes, external drivers).
git diff --no-color --no-ext-diff --src-prefix=a/ --dst-prefix=b/ "$base" -- "${paths[@]}" >"$work/diff"

changed=()
for m in "${MODULES[@]}"; do
    if grep -q "^+++ b/src/$m.rs$" "$work/diff"; then changed+=("$m"); fi
done
if [ ${#changed[@]} -eq 0 ]; then
    echo "mutants-ci: no core module changed since $base"
    exit 0
fi

total=0
mutated=()
for m in "${changed[@]}"; do
    listed="$(scripts/mutants.sh --list --in-diff "$work/diff" "$m")"
    n="$(printf '%s\n' "$listed" | sed -n 's/^.*: \([0-9]*\) mutants$/\1/p')"
    echo "mutants-ci: $m: $n mutants in the lines changed since $base"
    total=$((total + n))
    [ "$n" -gt 0 ] && mutated+=("$m")
done
if [ "$total" -eq 0 ]; then
    echo "mutants-ci: the changes since $base hold no mutable code"
    exit 0
fi

shard=""
if [ "$total" -gt "$MAX_MUTANTS" ]; then
    parts=$(((total + MAX_MUTANTS - 1) / MAX_MUTANTS))
    head_hash="$(git rev-parse HEAD)"
    k=$((16#${head_hash:0:8} % parts))
    shard="$k/$parts"
    echo "mutants-ci: $total mutants is more than $MAX_MUTANTS: running the round-robin shard" \
        "$shard of each module (a sample; the full set: scripts/mutants.sh --in-diff)"
fi

# One target directory for every module's builds, so that the dependencies are built once
# (absolute: cargo-mutants builds in copies of the tree). With JOBS above 1, mutants.sh gives
# each job its own instead, and the dependencies are built once per job.
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$PWD/$target" ;; esac
export CARGO_TARGET_DIR="$target/mutants"
if ! SHARD="$shard" MUTANTS_OUT="$out_dir" timeout "${TOTAL_MINUTES}m" \
    scripts/mutants.sh --in-diff "$work/diff" "${mutated[@]}"; then
    echo "mutants-ci: the mutation runs failed or did not finish in $TOTAL_MINUTES minutes" >&2
    exit 1
fi

# Explained survivors: the name without its line (`src/FILE.rs:COL: DESCRIPTION`), before the
# two-space comment (every key was checked for its column at the start).
explained_keys >"$work/explained"

status=0
for m in "${mutated[@]}"; do
    out="$out_dir/$m/mutants.out"
    code="$(cat "$out_dir/$m/exit-code")"
    case "$code" in
        0 | 2 | 3) ;;
        4)
            echo "mutants-ci: $m: the tests fail without any mutation (cargo-mutants' baseline);" \
                "the end of its log ($out/log/baseline.log):" >&2
            tail -n 40 "$out/log/baseline.log" >&2 || true
            status=1
            continue
            ;;
        *)
            echo "mutants-ci: $m: cargo-mutants failed (exit code $code); its output is in $out" >&2
            status=1
            continue
            ;;
    esac
    if [ ! -f "$out/missed.txt" ]; then
        # A shard of a module can be empty when the sample is taken.
        echo "mutants-ci: $m: no mutant in this shard"
        continue
    fi
    for k in caught missed timeout unviable; do
        printf 'mutants-ci: %s %s: %s\n' "$m" "$k" "$(wc -l <"$out/$k.txt")"
    done
    # The survivors whose key (the name without its line) is not explained, in full.
    unexplained="$(awk 'FILENAME == ARGV[1] { explained[$0] = 1; next }
        { k = $0; sub(/:[0-9]+:/, ":", k); if (!(k in explained)) print "  " $0 }' \
        "$work/explained" "$out/missed.txt")"
    if [ -n "$unexplained" ]; then
        echo "mutants-ci: $m: survivors no test catches and results/mutants/explained.txt does not explain:" >&2
        printf '%s\n' "$unexplained" >&2
        status=1
    fi
    # Caught only by being stopped (the CPU-time limit), no test seen failing: reported, not
    # failed, as timeouts are. An equivalent mutant on a slow path can land here in one run and
    # among the survivors in another; such a one is keyed in explained.txt.
    hangs="$out_dir/$m/hangs.txt"
    if [ -s "$hangs" ]; then
        echo "mutants-ci: $m: stopped by the CPU limit with no failing test (hangs; reported, not failed):"
        sed 's/^/  /' "$hangs"
    fi
    if [ -s "$out/timeout.txt" ]; then
        echo "mutants-ci: $m: timed out (reported, not failed):"
        sed 's/^/  /' "$out/timeout.txt"
    fi
done
exit "$status"
