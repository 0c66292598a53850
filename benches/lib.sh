# Shell helpers shared by the benchmark scripts (sourced: `. benches/lib.sh` from the repository's
# root).

# The median of the numbers on standard input, one per line (the mean of the middle two for an
# even count).
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# The smallest of the numbers on standard input, one per line: on a shared machine other work only
# ever adds time, so the minimum of several rounds is the figure least moved by it.
minimum() { sort -g | head -n 1; }
