#!/usr/bin/env bash
# Throughput of sharded runs against the plain run, measured in one go (the machine is noisy, so
# the three ways are interleaved and each is repeated; the best of the repeats is reported).
#
#   benches/shards.sh [DRAWS] [SHARDS] [REPEATS]      (defaults: 4000000 4 3)
#
# For each repeat it times, with the release binary and all cores:
#   memory  npvrisk run --draws D                      (draws kept, summary sorted in memory)
#   stream  npvrisk run --draws D --stream             (pass 1 and pass 2 in one process)
#   shards  the N shards of pass 1 one after another, merge --next-pass, the N shards of pass 2,
#           and the final merge: the whole sharded pipeline run serially on this machine
# and prints draws per second of each, per-shard throughput (draws of one shard over its time,
# pass 1 and 2 together) and the ratios. All three summaries are checked to be identical apart
# from timing fields.
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-4000000}
N=${2:-4}
R=${3:-3}
cargo build --release --quiet
BIN=target/release/npvrisk
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
elapsed() { calc "$2 - $1"; }
# The summary without its `timing` field (the last one, the only one that changes between runs).
strip() { sed '/"timing"/,$d' "$1"; }

best_mem=""; best_stream=""; best_shards=""; best_shard1=""; best_shard2=""
min() { if [ -z "$1" ] || [ "$(calc "$2 < $1")" = "1.000000" ]; then echo "$2"; else echo "$1"; fi; }

for r in $(seq 1 "$R"); do
    rm -rf "$W"/*
    t0=$(now); "$BIN" run --draws "$D" --out "$W/mem" --format json >/dev/null 2>&1; t1=$(now)
    best_mem=$(min "$best_mem" "$(elapsed "$t0" "$t1")")

    t0=$(now); "$BIN" run --draws "$D" --stream --out "$W/stream" --format json >/dev/null 2>&1; t1=$(now)
    best_stream=$(min "$best_stream" "$(elapsed "$t0" "$t1")")

    mkdir -p "$W/shards"
    s1=0; s2=0
    t0=$(now)
    for k in $(seq 0 $((N - 1))); do
        a=$(now); "$BIN" run --draws "$D" --shard "$k/$N" --out "$W/shards" >/dev/null 2>&1; b=$(now)
        s1=$(calc "$s1 + $b - $a")
    done
    "$BIN" merge "$W"/shards/*.npvshard --next-pass "$W/pass2.npvplan" >/dev/null 2>&1
    if [ -s "$W/pass2.npvplan" ]; then
        for k in $(seq 0 $((N - 1))); do
            a=$(now)
            "$BIN" run --draws "$D" --shard "$k/$N" --pass "$W/pass2.npvplan" --out "$W/shards" >/dev/null 2>&1
            b=$(now)
            s2=$(calc "$s2 + $b - $a")
        done
    fi
    "$BIN" merge "$W"/shards/*.npvshard --out "$W/merged" --format json >/dev/null 2>"$W/merge.log"
    t1=$(now)
    if grep -q "computed here" "$W/merge.log"; then
        echo "the final merge computed a pass itself; the shards' passes did not finish the run" >&2
        exit 1
    fi
    best_shards=$(min "$best_shards" "$(elapsed "$t0" "$t1")")
    best_shard1=$(min "$best_shard1" "$s1")
    best_shard2=$(min "$best_shard2" "$s2")

    for x in stream merged; do
        if ! diff <(strip "$W/mem/summary.json") <(strip "$W/$x/summary.json") >/dev/null; then
            echo "summary of '$x' differs from the in-memory run" >&2
            exit 1
        fi
    done
done

rate() { awk "BEGIN { printf \"%.0f\", $D / $1 }"; }
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "draws $D, shards $N, best of $R; $(nproc) cores; $(date -u +%Y-%m-%d)"
echo
echo "| way | seconds | draws/s | relative to stream |"
echo "|---|---:|---:|---:|"
echo "| memory (run) | $best_mem | $(rate "$best_mem") | $(ratio "$best_stream" "$best_mem") |"
echo "| stream (run --stream) | $best_stream | $(rate "$best_stream") | 1.00 |"
echo "| shards, whole pipeline | $best_shards | $(rate "$best_shards") | $(ratio "$best_stream" "$best_shards") |"
echo "| shards, pass 1 only (sum of $N) | $best_shard1 | $(rate "$best_shard1") | |"
echo "| shards, pass 2 only (sum of $N) | $best_shard2 | $(rate "$best_shard2") | |"
echo
echo "shard throughput (pass 1 + pass 2) / stream throughput: $(ratio "$best_stream" "$(calc "$best_shard1 + $best_shard2")")"
