#!/usr/bin/env bash
# Runs a test binary under a CPU-time limit: used by scripts/mutants.sh as cargo's target runner
# (CARGO_TARGET_<triple>_RUNNER), so the limit applies to the test processes only, never to
# rustc or cargo. A process that spins past CPU_LIMIT CPU seconds is stopped with SIGXCPU.
ulimit -t "${CPU_LIMIT:-60}"
exec "$@"
