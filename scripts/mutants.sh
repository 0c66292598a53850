#!/usr/bin/env bash
# Mutation testing of the modules that compute the numbers users read, with cargo-mutants
# (crates.io). Each module is mutated alone and checked by the tests that cover it (unit tests
# for the library's arithmetic; the integration tests that read the run summary for the modules
# that assemble it). Results go to results/mutants/out/<module>/ (cargo-mutants' mutants.out:
# caught.txt, missed.txt, timeout.txt, unviable.txt); the reviewed outcome is summarised in
# results/mutants/README.md.
#
# Usage:
#   scripts/mutants.sh [module ...]            # default: every module listed below
#   SHARD=1/4 scripts/mutants.sh stats         # a round-robin quarter of the mutants (a sample)
#   scripts/mutants.sh --in-diff FILE [module ...]  # only mutants in the lines a diff touches,
#                                                   # e.g. FILE from `git diff main > FILE`
#   scripts/mutants.sh --list [module ...]     # count the mutants, run nothing
#   scripts/mutants.sh --modules               # print the default module list (one line)
#   LIB_ONLY=1 scripts/mutants.sh stream       # the module's own unit tests only (`--lib`,
#                                              # `stream::`): minutes faster per mutant, a
#                                              # lower bound on what the whole suite catches
#   CRATE_OPT=1 scripts/mutants.sh dist        # build npvrisk optimised (level 1) even for the
#                                              # modules checked by unit tests alone
#
# A full run is opt-in: it builds the crate once per mutant (thousands of builds, many hours on
# two cores). .ci/run runs scripts/mutants-ci.sh instead: the mutants in the lines changed since
# the commit in results/mutants/checked-through. Needs `cargo install cargo-mutants --locked`.
# MUTANTS_OUT (default results/mutants/out) is where each module's outcome goes.
# JOBS (default 1; parallel jobs each build in a target directory of their own, whatever
# CARGO_TARGET_DIR says), TIMEOUT (wall-clock seconds per test run, the unmutated baseline's
# included, default 300), BUILD_TIMEOUT (wall-clock seconds per build, default 900: the stream
# module's first build, of the library and the integration tests at optimisation level 1, took
# 172 s on two quiet cores), CPU_LIMIT (CPU seconds per process, default 60) and NICE (default
# 19) can be set.
#
# Hangs: a mutant that turns a loop into an endless one keeps its test process busy until
# stopped. The wall-clock TIMEOUT is long so that a machine paused or crowded by other work does
# not turn a slow run into a "timeout"; CPU_LIMIT (CPU time, which a stopped or waiting process
# does not use up; set through scripts/cpu_limited.sh as cargo's target runner, so it applies to
# test processes only, not to rustc) stops a spinning test process much sooner. A module's
# unmutated unit tests need a few CPU seconds (dist's about 2 unoptimised), far below the default
# limit. A process stopped by the limit fails with SIGXCPU, so cargo-mutants files the mutant
# under "caught"; the script lists the caught mutants whose test process the limit stopped with
# no failing test seen (scripts/mutants_hangs.py) in out/<module>/hangs.txt, and they are
# reported as hangs. A hang may be an endless loop or only a slower path to the same result (an
# equivalent mutant), so each is read before it counts as caught.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS="${JOBS:-1}"
case "$JOBS" in
    '' | *[!0-9]* | 0) echo "mutants.sh: JOBS must be a positive whole number, not '$JOBS'" >&2; exit 2 ;;
esac
TIMEOUT="${TIMEOUT:-300}"
BUILD_TIMEOUT="${BUILD_TIMEOUT:-900}"
CPU_LIMIT="${CPU_LIMIT:-60}"
# Checked once here by the runner itself (its checks of the value and of the hard limit in place),
# so that a bad value fails at once rather than as every test run's failure (cargo-mutants'
# baseline).
CPU_LIMIT="$CPU_LIMIT" scripts/cpu_limited.sh true || exit 2
NICE="${NICE:-19}"
PROFILE="${PROFILE:-dev}"
# The dev profile at optimisation level 1 without debug information: the integration tests run
# about seven times faster than unoptimised. The modules checked by the library's unit tests
# alone build npvrisk itself unoptimised instead (every other package keeps the profile above,
# so the dependencies built for one module serve the others; see the loop below): a mutant's
# incremental build then takes about 4 s instead of 20 to 40, and each module's unit tests
# still finish in under 5 s.
export CARGO_PROFILE_DEV_OPT_LEVEL="${CARGO_PROFILE_DEV_OPT_LEVEL:-1}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-false}"
SHARD="${SHARD:-}"
LIST=""
IN_DIFF=""
# The modules that compute what users read: the default list, and the one scripts/mutants-ci.sh
# reads (`--modules`).
DEFAULT_MODULES=(kernel stats summary sampler model dist stream sensitivity sobol_indices calibrate)
while [ $# -gt 0 ]; do
    case "$1" in
        --modules) echo "${DEFAULT_MODULES[*]}"; exit 0 ;;
        --list) LIST=1; shift ;;
        --in-diff) IN_DIFF="$2"; shift 2 ;;
        *) break ;;
    esac
done

# The test targets built for each module (cargo-mutants' `--cargo-arg`, given to the build and
# the test run, so only those targets are rebuilt per mutant).
target_args() {
    [ -n "${LIB_ONLY:-}" ] && { echo "--lib"; return; }
    case "$1" in
        kernel | stats | sampler | model | dist | summary | sobol_indices | sensitivity) echo "--lib" ;;
        stream) echo "--lib --test=tests" ;;
        *) echo "--test=tests" ;;
    esac
}

# The tests that cover each module: arguments to `cargo test` (after cargo-mutants' `--`).
test_args() {
    [ -n "${LIB_ONLY:-}" ] && { echo "$1::"; return; }
    case "$1" in
        kernel) echo "kernel:: model::" ;;
        stats) echo "stats::" ;;
        sampler) echo "sampler::" ;;
        model) echo "model:: kernel::" ;;
        dist) echo "dist" ;;
        calibrate) echo "reproduction commands" ;;
        summary) echo "summary::" ;;
        sensitivity) echo "sensitivity::" ;;
        # Its own unit tests (`stream::`) and the integration tests that read streamed
        # summaries, checkpoints and shards.
        stream) echo "stream oracles conventions shards kept_draws" ;;
        sobol_indices) echo "sobol_indices::" ;;
        *) echo "unknown module $1" >&2; exit 2 ;;
    esac
}

MODULES=("$@")
if [ ${#MODULES[@]} -eq 0 ]; then
    MODULES=("${DEFAULT_MODULES[@]}")
fi

# Parallel jobs each build in their own copy of the tree. With one CARGO_TARGET_DIR shared by
# them, the jobs' mutants compile to the same artifact paths, so each job rebuilds over the
# other's (minutes per mutant instead of seconds): give each job its own target directory.
if [ "$JOBS" -gt 1 ] && [ -n "${CARGO_TARGET_DIR:-}" ]; then
    echo "mutants.sh: JOBS=$JOBS: not sharing CARGO_TARGET_DIR ($CARGO_TARGET_DIR) between jobs" >&2
    unset CARGO_TARGET_DIR
fi

command -v cargo-mutants >/dev/null || {
    echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
    exit 2
}

for m in "${MODULES[@]}"; do
    args=(--file "src/$m.rs")
    for t in $(target_args "$m"); do args+=(--cargo-arg="$t"); done
    # Modules checked by the library's unit tests alone build npvrisk itself unoptimised (a
    # per-package override: dependencies, build scripts and proc macros keep the profile above).
    # CRATE_OPT=1 keeps npvrisk at CARGO_PROFILE_DEV_OPT_LEVEL too.
    if [ -z "${CRATE_OPT:-}" ] && [ "$(target_args "$m")" = "--lib" ]; then
        args+=(--cargo-arg=--config=profile.dev.package.npvrisk.opt-level=0)
    fi
    args+=(--profile "$PROFILE" --jobs "$JOBS" --timeout "$TIMEOUT" --build-timeout "$BUILD_TIMEOUT" ${BASELINE:+--baseline "$BASELINE"})
    [ -n "$SHARD" ] && args+=(--shard "$SHARD" --sharding round-robin)
    [ -n "$IN_DIFF" ] && args+=(--in-diff "$IN_DIFF")
    if [ -n "$LIST" ]; then
        # A listing that fails (a diff that does not match the tree, say) is an error, not
        # zero mutants.
        listed="$(cargo mutants --list "${args[@]}")" || {
            echo "cargo mutants --list failed for $m (exit code $?)" >&2
            exit 2
        }
        echo "$m: $(printf '%s' "$listed" | grep -c .) mutants"
        continue
    fi
    out="${MUTANTS_OUT:-results/mutants/out}/$m"
    mkdir -p "$out"
    echo "== $m: cargo mutants ${args[*]} -- -- $(test_args "$m")"
    # cargo-mutants exits 2 when some mutants were missed and 3 on timeouts: the outcome is in
    # the files it writes, so keep going to the next module.
    # The CPU-time limit applies to the test processes only (through cargo's target runner),
    # never to rustc: a slow first build must not be stopped.
    # Its exit code is kept in $out/exit-code (0 all caught, 2 some missed, 3 timeouts, 4 the
    # unmutated tests failed).
    code=0
    # shellcheck disable=SC2046
    CPU_LIMIT="$CPU_LIMIT" CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="$PWD/scripts/cpu_limited.sh" \
        nice -n "$NICE" cargo mutants "${args[@]}" --output "$out" -- -- $(test_args "$m") || code=$?
    echo "$code" >"$out/exit-code"
    [ -f "$out/mutants.out/outcomes.json" ] || continue
    # The mutants filed under "caught" whose test process was stopped by the CPU-time limit
    # (SIGXCPU; SIGKILL from its hard limit, or from a bare `ulimit -t`, which
    # scripts/cpu_limited.sh no longer sets) with no failing test seen: hangs, or mutants only
    # slow enough to reach the limit; each needs a reading before it counts as caught. Listed in
    # out/<module>/hangs.txt as `NAME  # SIGNAL`. A caught mutant whose log cannot be read is
    # named on stderr and the other modules still run.
    python3 "$PWD/scripts/mutants_hangs.py" "$out/mutants.out" >"$out/hangs.txt" ||
        echo "mutants.sh: $m: hangs.txt may be incomplete (the mutants named above)" >&2
    printf '%s hangs (stopped by the CPU limit, no failing test; counted in caught): %s\n' "$m" "$(wc -l <"$out/hangs.txt")"
    for k in caught missed timeout unviable; do
        printf '%s %s: %s\n' "$m" "$k" "$(wc -l <"$out/mutants.out/$k.txt" 2>/dev/null || echo 0)"
    done
done
