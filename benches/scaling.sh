#!/usr/bin/env bash
# How the default run scales from one thread to two, and how much of the shortfall is the machine:
# rounds alternate `npvrisk run` (the peer configuration, benches/peer_dists.toml) with 1 and with
# 2 threads, and a pure-compute reference (a busy loop with no memory traffic, one copy and then
# two at once). Prints each round, then the medians:
# - npvrisk: wall time with 1 and 2 threads, their ratio (the scaling), and the CPU time of each
#   run (user + system): CPU time that grows with the second thread is work each thread does
#   more slowly beside the other (shared caches, memory, the host), not time spent waiting;
# - the reference: one copy's wall time against two at once; 2.0 when the machine gives two
#   whole cores to compute alone.
#
#   benches/scaling.sh [DRAWS] [ROUNDS]      (defaults: 1000000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-1000000}
R=${2:-5}
cargo build --release --quiet
BIN=target/release/npvrisk
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# One timed npvrisk run: prints "wall_s cpu_s".
run() {
    /usr/bin/time -f "%e %U %S" -o "$W/t" "$BIN" run --no-default-dists --dist benches/peer_dists.toml \
        --draws "$D" --threads "$1" --format json >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    awk '{printf "%s %.2f\n", $1, $2 + $3}' "$W/t"
}

# The reference: wall seconds of `copies` busy loops started at once.
spin() {
    local s e
    s=$(date +%s.%N)
    for _ in $(seq 1 "$1"); do
        perl -e 'my $s = 0; $s += $_ * 0.5 for 1 .. 40_000_000;' &
    done
    wait
    e=$(date +%s.%N)
    awk -v s="$s" -v e="$e" 'BEGIN { printf "%.2f\n", e - s }'
}

. benches/lib.sh

echo "draws $D, $R rounds"
echo "round  wall_1t  cpu_1t  wall_2t  cpu_2t  spin_1  spin_2"
for r in $(seq 1 "$R"); do
    read -r w1 c1 < <(run 1)
    read -r w2 c2 < <(run 2)
    s1=$(spin 1)
    s2=$(spin 2)
    echo "$r  $w1  $c1  $w2  $c2  $s1  $s2"
    echo "$w1 $c1 $w2 $c2 $s1 $s2" >>"$W/rows"
done
col() { awk -v c="$1" '{print $c}' "$W/rows" | median; }
w1=$(col 1) c1=$(col 2) w2=$(col 3) c2=$(col 4) s1=$(col 5) s2=$(col 6)
echo "median: npvrisk 1 thread ${w1} s wall (${c1} s CPU), 2 threads ${w2} s wall (${c2} s CPU)"
awk -v w1="$w1" -v w2="$w2" -v c1="$c1" -v c2="$c2" -v s1="$s1" -v s2="$s2" 'BEGIN {
    printf "npvrisk scaling 1->2 threads: %.2fx; CPU time with 2 threads: %.2fx that of 1\n", w1 / w2, c2 / c1
    printf "reference (busy loop) scaling 1->2 copies: %.2fx\n", 2 * s1 / s2
}'
