#!/usr/bin/env bash
# Two builds of npvrisk side by side: the peer configuration's default run (benches/peer_dists.toml,
# every outcome), whole processes, the two alternated round by round so that both see the same
# machine load. Prints each build's wall and user times per round, their medians and minima, and
# whether the two summaries are identical apart from their timing (a speed change must not move a
# figure).
#
#   benches/ab.sh BIN_A BIN_B [DRAWS] [ROUNDS] [THREADS]     (defaults: 1000000 5 1)
#
# e.g. copy target/release/npvrisk aside, change and rebuild, then
#   benches/ab.sh /tmp/npvrisk-before target/release/npvrisk
#
# With CHECKPOINT=1 every run saves its progress (`--checkpoint`, a new folder each run). Each
# run's peak memory (maximum resident set) is reported beside its times.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
two_builds "benches/ab.sh BIN_A BIN_B [DRAWS] [ROUNDS] [THREADS]" "$@"
cd "$(dirname "$0")/.."
D=${3:-1000000}
R=${4:-5}
T=${5:-1}
positive ROUNDS "$R"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT


echo "draws $D, $R rounds, $T thread(s); A = $A, B = $B (odd rounds A first, even rounds B first)"
echo "round  A_wall  A_user  A_MB  B_wall  B_user  B_MB"
differ=0
declare -A times
for r in $(seq 1 "$R"); do
    if [ $((r % 2)) -eq 1 ]; then order="A B"; else order="B A"; fi
    for x in $order; do
        bin=${!x}
        ck=()
        if [ "${CHECKPOINT:-0}" = 1 ]; then
            rm -rf "$W/ck"
            ck=(--checkpoint "$W/ck")
        fi
        /usr/bin/time -f "%e %U %M" -o "$W/t" "$bin" run --no-default-dists --dist benches/peer_dists.toml \
            --draws "$D" --threads "$T" --format json ${ck[@]+"${ck[@]}"} >"$W/$x.json" 2>"$W/err" ||
            { cat "$W/err" >&2; exit 1; }
        read -r wall user kb <"$W/t"
        echo "$wall" >>"$W/$x.wall"
        echo "$user" >>"$W/$x.user"
        echo $((kb / 1024)) >>"$W/$x.mb"
        times[$x]="$wall  $user  $((kb / 1024))"
    done
    echo "$r  ${times[A]}  ${times[B]}"
    sa="$(without_timing "$W/A.json")" || { echo "A's summary is not JSON" >&2; exit 1; }
    sb="$(without_timing "$W/B.json")" || { echo "B's summary is not JSON" >&2; exit 1; }
    [ "$sa" = "$sb" ] || differ=1
done
for x in A B; do
    echo "median $x: wall $(median <"$W/$x.wall") s, user $(median <"$W/$x.user") s," \
        "peak $(median <"$W/$x.mb") MB; minimum: wall $(minimum <"$W/$x.wall") s," \
        "user $(minimum <"$W/$x.user") s"
done
if [ "$differ" -eq 0 ]; then
    echo "summaries: identical in every round (timing aside)"
else
    echo "summaries: DIFFER"
    exit 1
fi
