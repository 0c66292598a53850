#!/usr/bin/env bash
# Two builds of npvrisk over a range of run sizes: the embedded model's default run (every
# outcome), whole processes, the two alternated at each size and round so that both see the same
# machine load. Prints each build's wall time, user time and peak resident set per size (medians
# over the rounds), the ratio B/A of the wall times, and whether the summaries are identical apart
# from their timing. Where a run needs a second pass over its draws shows as a jump in the time per
# draw.
#
#   benches/sizes.sh BIN_A BIN_B [SIZES] [ROUNDS] [THREADS]
#       (defaults: "1000000 1500000 2000000 3000000 5000000 10000000 20000000" 1 2)
#
# With CHECKPOINT=1 every run is checkpointed (`--checkpoint`, into a fresh folder each time).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
two_builds "benches/sizes.sh BIN_A BIN_B [SIZES] [ROUNDS] [THREADS]" "$@"
cd "$(dirname "$0")/.."
SIZES=${3:-1000000 1500000 2000000 3000000 5000000 10000000 20000000}
R=${4:-1}
T=${5:-2}
positive ROUNDS "$R"
positive THREADS "$T"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

echo "$R round(s) per size, $T thread(s)$([ "${CHECKPOINT:-0}" = 1 ] && echo ", checkpointed"); A = $A, B = $B (odd rounds A first, even rounds B first)"
echo "draws  A_wall  A_user  A_MB  B_wall  B_user  B_MB  B/A_wall  summaries"
for d in $SIZES; do
    positive "a size" "$d"
    rm -f "$W"/*.wall "$W"/*.user "$W"/*.rss
    same=identical
    for r in $(seq 1 "$R"); do
        if [ $((r % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
        for x in $order; do
            bin=${!x}
            extra=()
            if [ "${CHECKPOINT:-0}" = 1 ]; then
                rm -rf "$W/ck"
                extra=(--checkpoint "$W/ck")
            fi
            /usr/bin/time -f "%e %U %M" -o "$W/t" "$bin" run --draws "$d" --threads "$T" \
                --format json "${extra[@]}" >"$W/$x.json" 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
            read -r wall user rss <"$W/t"
            echo "$wall" >>"$W/$x.wall"
            echo "$user" >>"$W/$x.user"
            echo "$rss" >>"$W/$x.rss"
        done
        [ "$(without_timing "$W/A.json")" = "$(without_timing "$W/B.json")" ] || same=DIFFER
    done
    row="$d"
    for x in A B; do
        row="$row  $(median <"$W/$x.wall")  $(median <"$W/$x.user")  $(($(median <"$W/$x.rss" | cut -d. -f1) / 1024))"
    done
    ratio=$(awk -v a="$(median <"$W/A.wall")" -v b="$(median <"$W/B.wall")" 'BEGIN { printf "%.3f", b / a }')
    echo "$row  $ratio  $same"
    [ "$same" = identical ] || exit 1
done
