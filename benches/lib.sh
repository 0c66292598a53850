# Shell helpers shared by the benchmark scripts (sourced: `. benches/lib.sh` from the repository's
# root, or `. "$(dirname "$0")/lib.sh"` from anywhere).

# The median of the numbers on standard input, one per line (the mean of the middle two for an
# even count).
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The smallest of the numbers on standard input, one per line: on a shared machine other work only
# ever adds time, so the minimum of several rounds is the figure least moved by it.
minimum() { sort -g | head -n 1; }

# The two builds a comparison script takes: `two_builds USAGE "$@"` sets A and B to its first two
# arguments as absolute paths (the scripts then run from the repository's root); exit 2 with the
# usage line when they are missing, or unless both are executables.
two_builds() {
    local usage=$1
    shift
    [ $# -ge 2 ] || { echo "usage: $usage" >&2; exit 2; }
    A=$(realpath "$1")
    B=$(realpath "$2")
    for b in "$A" "$B"; do
        [ -x "$b" ] || { echo "not an executable: $b" >&2; exit 2; }
    done
}

# The one build a script takes: `one_build USAGE "$@"` sets BIN to its first argument as an
# absolute path; exit 2 with the usage line when it is missing or not an executable.
one_build() {
    local usage=$1
    shift
    [ $# -ge 1 ] || { echo "usage: $usage" >&2; exit 2; }
    BIN=$(realpath "$1")
    [ -x "$BIN" ] || { echo "not an executable: $BIN" >&2; exit 2; }
}

# `positive NAME VALUE`: exit 2 with a message naming NAME unless VALUE is a positive whole number.
positive() {
    case "$2" in '' | *[!0-9]* | 0) echo "$1 must be a positive whole number, not '$2'" >&2; exit 2 ;; esac
}

# The run summary in the JSON file $1 without its timing section, on one line (fails on anything
# but a JSON summary): two runs of the same figures print the same line.
without_timing() {
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); d.pop("timing", None); print(json.dumps(d, sort_keys=True))' "$1"
}

# The md5 of `without_timing "$1"` (without its final newline, as the notes have quoted it):
# equal for two runs of the same figures.
summary_md5() {
    python3 -c 'import json, hashlib, sys; d = json.load(open(sys.argv[1])); d.pop("timing", None); print(hashlib.md5(json.dumps(d, sort_keys=True).encode()).hexdigest())' "$1"
}

# The passes a run or merge says it took, from its error output in the file $1 ("1 pass").
passes() { grep -oE '[0-9]+ pass(es)?[ ;]' "$1" | head -n 1 | sed 's/[ ;]$//' || true; }
