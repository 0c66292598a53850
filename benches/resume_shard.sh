#!/usr/bin/env bash
# A shard with a sieve, made whole and then interrupted and resumed: what resuming a shard costs.
# Shard 1 of 2 of `run --draws DRAWS --block-size 1024 --stream` with 99 percentiles (so that its
# sieve keeps many values), made to the end, then made again with `--checkpoint`, stopped with
# Ctrl-C (SIGINT) after SECONDS and resumed with `--resume`. Prints each one's wall time and peak
# resident set, the checkpoint folder's files when stopped, and, merged with shard 0 (made once),
# the passes each merge took and the md5 of both merged summaries without their timing (they
# must be the same), and whether the resumed shard's file is the whole one's, byte for byte (it
# must be).
#
#   benches/resume_shard.sh BIN [DRAWS] [SECONDS]      (defaults: 2000000 0.8)
#
# e.g. copy target/release/npvrisk aside, change and rebuild, then run this with each build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
one_build "benches/resume_shard.sh BIN [DRAWS] [SECONDS]" "$@"
D=${2:-2000000}
S=${3:-0.8}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
P=$(seq -s, 0.01 0.01 0.99)
ARGS=(run --draws "$D" --block-size 1024 --stream --percentiles "$P")
"$BIN" "${ARGS[@]}" --shard 0/2 --out "$W/s0" >/dev/null 2>&1
/usr/bin/time -f "%e %M" -o "$W/t0" "$BIN" "${ARGS[@]}" --shard 1/2 --out "$W/s1" \
    >/dev/null 2>"$W/e0"
read -r s k <"$W/t0"
echo "whole shard: $s s, $((k / 1024)) MB"
"$BIN" "${ARGS[@]}" --shard 1/2 --out "$W/s2" --checkpoint "$W/ck" >/dev/null 2>"$W/e1" &
pid=$!
sleep "$S"
kill -INT "$pid"
wait "$pid" || true
echo "stopped after $S s: $(grep -o 'interrupted: [^`]*' "$W/e1" || echo 'not interrupted (finished first)')"
for f in "$W"/ck/*.npvshard; do echo "  $(basename "$f") $(( $(stat -c %s "$f") / 1000000 )) MB"; done
/usr/bin/time -f "%e %M" -o "$W/t2" "$BIN" "${ARGS[@]}" --shard 1/2 --out "$W/s2" \
    --resume "$W/ck" >/dev/null 2>"$W/e2"
read -r s k <"$W/t2"
echo "resumed shard: $s s, $((k / 1024)) MB"
if cmp -s "$W"/s1/*.npvshard "$W"/s2/*.npvshard; then
    echo "shard files: the same bytes"
else
    echo "shard files: DIFFERENT"
fi
for x in 1 2; do
    "$BIN" merge "$W"/s0/*.npvshard "$W"/s$x/*.npvshard --out "$W/m$x" --format json \
        >/dev/null 2>"$W/me$x"
done
echo "merges with shard 0: whole $(passes "$W/me1"), resumed $(passes "$W/me2")"
echo "summaries: $(summary_md5 "$W/m1/summary.json") $(summary_md5 "$W/m2/summary.json")"
