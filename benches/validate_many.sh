#!/usr/bin/env bash
# Time, memory and output of `npvrisk -q validate` on a model of many themes (issue 15: 10^5
# themes validated in under 2 s), optionally side by side with another build.
#
#   benches/validate_many.sh [THEMES] [REPEATS] [OTHER_BINARY]     (defaults: 100000 3, none)
#
# The model is the one tests/reliability.rs builds (`many_themes`): two partners and THEMES
# themes stated per member, with per-scenario values and partner shares (about 355 bytes a theme,
# 35 MB for 10^5). Each repeat runs this build and, when given, OTHER_BINARY (for example a
# release build of an earlier commit) one after the other, so that both see the same load on a
# shared machine, under GNU time; it prints user and system CPU seconds, wall seconds and peak
# resident memory of every run and the best of the repeats, and checks that both builds print the
# same messages.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
R=${2:-3}
OTHER=${3:-}
[ -x /usr/bin/time ] || { echo "needs GNU time as /usr/bin/time (Debian: apt-get install time)" >&2; exit 1; }
cargo build --release --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/npvrisk
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

MODEL="$W/many_$N.toml"
awk -v n="$N" 'BEGIN {
    printf "[model]\nname = \"many\"\nprice_base = \"2024-25\"\nhorizon_years = 5\nscenarios = [\"low\", \"central\"]\n\n"
    printf "[[partners]]\nid = \"council\"\nname = \"C\"\nbudget_class = \"DEL\"\nbudget_bn = 1.2\n\n"
    printf "[[partners]]\nid = \"NHS\"\nname = \"N\"\nbudget_class = \"DEL\"\nbudget_bn = 2.5\n"
    for (i = 0; i < n; i++) {
        printf "\n[[themes]]\nid = \"t%d\"\nname = \"Theme %d\"\naddressable_spend_bn = 0.09\nprofile = [0.2, 0.5, 0.8, 1.0]\ncohort = 2000\n", i, i
        printf "engagement = { low = 0.5, central = 0.7 }\nbenefit_per_engaged_gbp = 9000\nrealisation = { low = 0.7, central = 0.9 }\n"
        printf "one_off_costs_bn = [0.004, 0.001, 0, 0, 0]\ncost_per_engaged_gbp = 1500\npartner_shares = { council = 0.55, NHS = 0.45 }\n"
    }
}' >"$MODEL"
echo "model: $N themes, $(wc -c <"$MODEL") bytes"

# One timed run of binary $2 labelled $1 (repeat $3): prints a row, keeps the messages.
run() {
    local label=$1 bin=$2 r=$3
    /usr/bin/time -v -o "$W/time" "$bin" -q validate "$MODEL" 2>"$W/$label.err" || {
        echo "$label: validate failed" >&2; cat "$W/$label.err" >&2; exit 1; }
    local user sys wall rss
    user=$(awk -F': ' '/User time/ { print $2 }' "$W/time")
    sys=$(awk -F': ' '/System time/ { print $2 }' "$W/time")
    # Elapsed is m:ss.ss (or h:mm:ss).
    wall=$(awk -F': ' '/Elapsed/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$W/time")
    rss=$(awk -F': ' '/Maximum resident/ { printf "%.0f", $2 / 1024 }' "$W/time")
    printf "%-6s %2d  user %6.2f s  sys %5.2f s  user+sys %6.2f s  wall %6.2f s  peak %5d MiB\n" \
        "$label" "$r" "$user" "$sys" "$(awk "BEGIN { print $user + $sys }")" "$wall" "$rss"
    echo "$label $user $sys $wall $rss" >>"$W/rows"
}

for r in $(seq 1 "$R"); do
    run this "$BIN" "$r"
    if [ -n "$OTHER" ]; then
        run other "$OTHER" "$r"
    fi
done

echo "best of $R (lowest user+sys; lowest wall; lowest peak):"
for label in this other; do
    grep -q "^$label " "$W/rows" 2>/dev/null || continue
    awk -v l="$label" '$1 == l {
        cpu = $2 + $3
        if (!seen || cpu < best_cpu) { best_cpu = cpu; bu = $2; bs = $3 }
        if (!seen || $4 < best_wall) best_wall = $4
        if (!seen || $5 < best_rss) best_rss = $5
        seen = 1
    } END { printf "%-6s user %.2f s + sys %.2f s = %.2f s; wall %.2f s; peak %d MiB\n", l, bu, bs, best_cpu, best_wall, best_rss }' "$W/rows"
done
if [ -n "$OTHER" ]; then
    if cmp -s "$W/this.err" "$W/other.err"; then
        echo "messages: identical"
    else
        echo "messages differ:"; diff "$W/other.err" "$W/this.err" | head -20
        exit 1
    fi
fi
