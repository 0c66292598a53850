#!/usr/bin/env bash
# Two builds of npvrisk compared by the instructions they execute (valgrind's callgrind) on the
# peer configuration's default run (benches/peer_dists.toml, every outcome), one thread. Unlike
# wall time, the count does not depend on what else the machine is doing, so a change of a few
# percent shows on a shared machine where timing cannot resolve it. It is not a time: a change
# that trades instructions for fewer mispredicted branches or cache misses (or the reverse) moves
# the two differently, so a speed change is still confirmed by `benches/ab.sh`.
#
#   benches/instructions.sh BIN_A BIN_B [DRAWS] [TOP]     (defaults: 1000000 15)
#
# Prints each build's total and its TOP functions by instructions of their own (not counting
# their callees). Needs valgrind (`apt-get install valgrind`); a 10^6-draw run takes about a
# minute and a half under it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
two_builds "benches/instructions.sh BIN_A BIN_B [DRAWS] [TOP]" "$@"
cd "$(dirname "$0")/.."
D=${3:-1000000}
TOP=${4:-15}
command -v valgrind >/dev/null || { echo "valgrind not found: apt-get install valgrind" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

count() { # count BIN NAME: prints the total, keeps the profile in $W/NAME.out
    valgrind --tool=callgrind --callgrind-out-file="$W/$2.out" "$1" run --no-default-dists \
        --dist benches/peer_dists.toml --draws "$D" --threads 1 --format json -q \
        >/dev/null 2>"$W/$2.err" || { cat "$W/$2.err" >&2; exit 1; }
    grep -o 'Collected : [0-9]*' "$W/$2.err" | grep -o '[0-9]*$'
}
a=$(count "$A" a)
b=$(count "$B" b)
for x in a b; do
    echo "== $x: $([ $x = a ] && echo "$A" || echo "$B")"
    callgrind_annotate "$W/$x.out" >"$W/$x.txt" 2>/dev/null
    sed -n '/file:function/,$p' "$W/$x.txt" | grep -E '^ *[0-9,]+ \(' | sed -n "1,${TOP}p" |
        cut -c1-150
done
echo "draws $D, 1 thread: A $a instructions, B $b"
awk "BEGIN { printf \"B / A: %.4f\n\", $b / $a }"
