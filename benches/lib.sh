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
