#!/usr/bin/env bash
# Peak memory and wall time of a streamed run keeping its draws, against the same streamed run
# keeping none: whole processes, one after the other (default run of the embedded model).
#
#   benches/kept_draws.sh [DRAWS] [FORMAT]      (defaults: 10000000 parquet)
#
# Needs about 370 bytes of free disk per draw for Parquet (3.7 GB at 10^7), 830 for CSV, in
# $TMPDIR; the files are removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-10000000}
F=${2:-parquet}
cargo build --release --quiet
BIN=$PWD/target/release/npvrisk
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# One timed process: "seconds peak_MB".
timed() {
    /usr/bin/time -f "%e %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    awk '{printf "%s s, peak %.0f MB", $1, $2 / 1024}' "$W/t"
}
echo "streamed, no draws kept:   $(timed "$BIN" -q run --draws "$D" --stream --out "$W/plain")"
echo "streamed, draws kept ($F): $(timed "$BIN" -q run --draws "$D" --stream --keep-draws --draws-format "$F" --out "$W/kept")"
ls -l "$W/kept" | awk '/draws\./ {printf "draws file: %s, %.0f MB\n", $9, $5 / 1e6}'
