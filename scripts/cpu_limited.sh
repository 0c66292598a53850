#!/usr/bin/env bash
# Runs a test binary under a CPU-time limit: used by scripts/mutants.sh as cargo's target runner
# (CARGO_TARGET_<triple>_RUNNER), so the limit applies to the test processes only, never to
# rustc or cargo. A process that spins past CPU_LIMIT CPU seconds is stopped with SIGXCPU.
#
# The soft limit is CPU_LIMIT and the hard limit 10 s more (or what it already was, if that is
# lower but still above CPU_LIMIT). With the two equal (a bare `ulimit -t`), Linux checks the
# hard limit first and stops the process with SIGKILL, never SIGXCPU, and mutants.sh would not
# know the limit from another kill. A test process does not handle SIGXCPU, so it ends at the
# soft limit; the hard one is a backstop. No core file is written when it ends (`ulimit -c 0`).
limit="${CPU_LIMIT:-60}"
case "$limit" in
    '' | *[!0-9]* | 0*)
        echo "cpu_limited.sh: CPU_LIMIT must be a positive whole number of seconds without leading zeros, not '$limit'" >&2
        exit 2
        ;;
esac
hard="$(ulimit -H -t)"
if [ "$hard" = unlimited ] || [ "$hard" -gt $((limit + 10)) ]; then
    hard=$((limit + 10))
elif [ "$hard" -le "$limit" ]; then
    echo "cpu_limited.sh: the CPU-time hard limit is already $hard s, not above CPU_LIMIT=$limit s:" \
        "lower CPU_LIMIT, or raise the hard limit" >&2
    exit 2
fi
ulimit -S -t "$limit" && ulimit -H -t "$hard" && ulimit -S -c 0 || {
    echo "cpu_limited.sh: cannot set the CPU-time limit (soft $limit s, hard $hard s)" >&2
    exit 2
}
exec "$@"
