#!/usr/bin/env bash
# A checkpointed run, uninterrupted and then interrupted and resumed: what resuming costs.
# Runs `run --draws DRAWS --checkpoint` to the end, then the same stopped with Ctrl-C (SIGINT)
# after SECONDS and resumed with `--resume`. Prints each one's wall time, peak resident set and
# passes, the checkpoint folder's files when stopped, and the md5 of both summaries without
# their timing (they must be the same).
#
#   benches/resume.sh BIN [DRAWS] [SECONDS]      (defaults: 30000000 8)
#
# e.g. copy target/release/npvrisk aside, change and rebuild, then run this with each build.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
one_build "benches/resume.sh BIN [DRAWS] [SECONDS]" "$@"
D=${2:-30000000}
S=${3:-8}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
/usr/bin/time -f "%e %M" -o "$W/t0" "$BIN" run --draws "$D" --format json --out "$W/o0" \
    --checkpoint "$W/ck0" >/dev/null 2>"$W/e0"
read -r s k <"$W/t0"
echo "uninterrupted: $s s, $((k / 1024)) MB, $(passes "$W/e0")"
"$BIN" run --draws "$D" --format json --out "$W/o1" --checkpoint "$W/ck1" >/dev/null 2>"$W/e1" &
pid=$!
sleep "$S"
kill -INT "$pid"
wait "$pid" || true
echo "stopped after $S s: $(grep -o 'interrupted: [^`]*' "$W/e1" || echo 'not interrupted (finished first)')"
for f in "$W"/ck1/*.npvshard; do echo "  $(basename "$f") $(( $(stat -c %s "$f") / 1000000 )) MB"; done
/usr/bin/time -f "%e %M" -o "$W/t2" "$BIN" run --draws "$D" --format json --out "$W/o1" \
    --resume "$W/ck1" >/dev/null 2>"$W/e2"
read -r s k <"$W/t2"
echo "resumed: $s s, $((k / 1024)) MB, $(passes "$W/e2")"
echo "summaries: $(summary_md5 "$W/o0/summary.json") $(summary_md5 "$W/o1/summary.json")"
