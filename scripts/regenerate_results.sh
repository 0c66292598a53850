#!/usr/bin/env bash
# Regenerate the committed results under results/ey2013/ from the embedded model and default
# distributions, with the commands their READMEs state:
#   results/ey2013/{README.md,reproduction.*,certificates.md}  npvrisk reproduce
#   results/ey2013/mc/                                          npvrisk run --draws 1000000
#   results/ey2013/report/                                      npvrisk report --draws 1000000
#   results/ey2013/batch/out/                                   npvrisk batch scenarios.toml
# and, when chromium is installed, the report's and the batch page's screenshots (headless, at
# the sizes committed: 1280x1800 and 1100x1500).
#
# The hand-written parts of results/ey2013/{mc,report,batch}/README.md ("What it says") quote
# figures of these runs: read them against the new files and update them.
#
#   scripts/regenerate_results.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --quiet
BIN=${CARGO_TARGET_DIR:-target}/release/npvrisk

"$BIN" -q reproduce >/dev/null
"$BIN" run --draws 1000000 --out results/ey2013/mc >results/ey2013/mc/summary.txt
"$BIN" report --draws 1000000 --out results/ey2013/report >/dev/null
"$BIN" batch results/ey2013/batch/scenarios.toml --out results/ey2013/batch/out >/dev/null

shot() { # shot PAGE PNG WIDTH HEIGHT
    local profile
    profile=$(mktemp -d)
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --user-data-dir="$profile" --window-size="$3,$4" --screenshot="$2" \
        "file://$(realpath "$1")" >/dev/null 2>&1
    rm -rf "$profile"
}
if command -v chromium >/dev/null; then
    shot results/ey2013/report/report.html results/ey2013/report/screenshot.png 1280 1800
    shot results/ey2013/batch/out/batch.html results/ey2013/batch/screenshot.png 1100 1500
else
    echo "chromium not found: screenshots not regenerated" >&2
fi
git status --short results/
