#!/usr/bin/env bash
# Where one function's time goes, inlined code included: `perf record` of the peer configuration's
# default run (benches/peer_dists.toml, every outcome, one thread), each sample in FUNCTION
# resolved with `addr2line -i` to the chain of source lines it was inlined from, and the samples
# grouped by the outermost of those lines in our own sources (the call in FUNCTION's body that
# the sample sits under), then by the innermost (the code that ran). A flat profile shows only
# FUNCTION itself when the compiler has inlined the model's helpers into it.
#
#   benches/inlined.sh BIN [FUNCTION] [DRAWS] [TOP]
#     (defaults: npvrisk::engine::Plan::evaluate_batch 3000000 25)
#
# e.g. benches/inlined.sh target/release/npvrisk npvrisk::stream::tally_first_avx2
#
# Needs perf (`apt-get install linux-perf`), binutils' addr2line and python3. The release build
# keeps line tables (`debug = "line-tables-only"` in Cargo.toml), which is what addr2line reads.
# Sampling is by CPU clock at 10 kHz: shares of a few percent are within its noise.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
one_build "benches/inlined.sh BIN [FUNCTION] [DRAWS] [TOP]" "$@"
cd "$(dirname "$0")/.."
FUNCTION=${2:-npvrisk::engine::Plan::evaluate_batch}
D=${3:-3000000}
TOP=${4:-25}
for tool in perf addr2line nm python3; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 2; }
done
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

perf record -q -e cpu-clock -F 10000 -o "$W/perf.data" "$BIN" run --no-default-dists \
    --dist benches/peer_dists.toml --draws "$D" --threads 1 --format json -q >/dev/null 2>"$W/err" ||
    { cat "$W/err" >&2; exit 1; }
perf script -i "$W/perf.data" -F ip,sym,symoff 2>/dev/null >"$W/samples"
total=$(wc -l <"$W/samples")
python3 - "$BIN" "$FUNCTION" "$W/samples" "$total" "$TOP" <<'EOF'
import collections, subprocess, sys

binary, function, samples, total, top = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
offsets = collections.Counter()
for line in open(samples):
    # "ADDRESS SYMBOL+0xOFFSET" (the symbol may hold spaces)
    sym, _, off = line.strip().partition(" ")[2].rpartition("+0x")
    if sym == function:
        offsets[int(off, 16)] += 1
if not offsets:
    sys.exit(f"no samples in {function} (is it inlined into its caller, or named otherwise?)")
starts = [
    int(l.split()[0], 16)
    for l in subprocess.run(["nm", "-C", binary], capture_output=True, text=True, check=True).stdout.splitlines()
    if l.endswith(" " + function)
]
if len(starts) != 1:
    sys.exit(f"{len(starts)} symbols named {function} in {binary}")
addresses = [starts[0] + o for o in offsets]
# With -a each address is printed, then (function, file:line) pairs from the innermost frame out.
out = subprocess.run(
    ["addr2line", "-e", binary, "-i", "-a", "-f", "-C"] + [hex(a) for a in addresses],
    capture_output=True, text=True, check=True,
).stdout.splitlines()
chains, at, i = {}, None, 0
while i < len(out):
    if out[i].startswith("0x"):
        at = int(out[i], 16)
        chains[at] = []
        i += 1
    else:
        chains[at].append(out[i + 1].split(" ")[0])
        i += 2
ours = lambda loc: "/src/" in loc and "/rustc/" not in loc and "/.cargo/" not in loc
short = lambda loc: loc[loc.rindex("/src/") + 1:]
outer, inner = collections.Counter(), collections.Counter()
n = sum(offsets.values())
for off, count in offsets.items():
    own = [short(l) for l in chains.get(starts[0] + off, []) if ours(l)]
    outer[own[-1] if own else "(library code)"] += count
    inner[own[0] if own else "(library code)"] += count
print(f"{function}: {n} of {total} samples ({100 * n / total:.1f}% of the run)")
for title, c in (("by the outermost line of our sources", outer), ("by the innermost", inner)):
    print(f"-- {title} (share of the function's samples)")
    for k, v in c.most_common(top):
        print(f"{v:7d} {100 * v / n:5.1f}%  {k}")
EOF
