#!/usr/bin/env bash
# npvrisk against the NumPy/SciPy peer (../shared/peers/np_peer.py): the default run of the
# embedded 2013 model with every outcome, whole processes, alternated round by round so that both
# see the same machine load. Prints each round, then the median wall time and peak resident set of
# each and the ratio of the medians.
#
#   benches/peer.sh [DRAWS] [ROUNDS] [THREADS]      (defaults: 1000000 5 2)
#
# Needs python3 with numpy and scipy (`pip install numpy scipy`). The peer is run, not copied: it
# lives outside this repository (PEER=path overrides where it is looked for). Both programs run the
# embedded model with benches/peer_dists.toml only (`--no-default-dists`: the file replaces the
# default distributions; the peer reads only the distribution kinds that file uses).
set -euo pipefail
cd "$(dirname "$0")/.."
D=${1:-1000000}
R=${2:-5}
T=${3:-2}
PEER=${PEER:-../shared/peers/np_peer.py}
[ -f "$PEER" ] || { echo "peer not found: $PEER (set PEER=...)" >&2; exit 2; }
python3 -c 'import numpy, scipy' 2>/dev/null || { echo "the peer needs numpy and scipy: pip install numpy scipy" >&2; exit 2; }
cargo build --release --quiet
BIN=target/release/npvrisk
DISTS=benches/peer_dists.toml
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

# One timed process: prints "seconds peak_kB".
timed() {
    /usr/bin/time -f "%e %M" -o "$W/t" "$@" >/dev/null 2>"$W/err" || { cat "$W/err" >&2; exit 1; }
    cat "$W/t"
}
. benches/lib.sh

echo "draws $D, $R rounds, npvrisk with $T threads, the peer as it runs (one Python process)"
echo "round  npvrisk_s  npvrisk_kB  peer_s  peer_kB"
for r in $(seq 1 "$R"); do
    read -r ns nk < <(timed "$BIN" run --no-default-dists --dist "$DISTS" --draws "$D" --threads "$T" --format json)
    read -r ps pk < <(timed python3 "$PEER" --dists "$DISTS" --draws "$D" --quiet)
    echo "$r  $ns  $nk  $ps  $pk"
    echo "$ns $nk" >>"$W/n"
    echo "$ps $pk" >>"$W/p"
done
nm=$(cut -d' ' -f1 "$W/n" | median)
pm=$(cut -d' ' -f1 "$W/p" | median)
nk=$(cut -d' ' -f2 "$W/n" | median)
pk=$(cut -d' ' -f2 "$W/p" | median)
echo "median wall: npvrisk ${nm} s (peak ${nk} kB), peer ${pm} s (peak ${pk} kB)"
awk "BEGIN { printf \"peer / npvrisk: %.2f\n\", $pm / $nm }"
