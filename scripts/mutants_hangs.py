#!/usr/bin/env python3
"""The mutants cargo-mutants filed under "caught" although no test was seen to fail: their test
process was stopped by a signal (the CPU-time limit of scripts/cpu_limited.sh: SIGXCPU, or SIGKILL
from a hard limit). Such a mutant may spin for ever (a hang: the tests do stop it) or be merely
slow (an equivalent mutant on a slower path, say), so each needs a reading before it counts as
caught.

    scripts/mutants_hangs.py MUTANTS_OUT_DIR      (the `mutants.out` folder of one run)

Prints one line per such mutant, `NAME  # SIGNAL`, in the order of outcomes.json.
"""
import json
import pathlib
import re
import signal
import sys

# cargo's report of a test process ended by a signal, e.g.
#   process didn't exit successfully: `... npvrisk-0123 'kernel::'` (signal: 9, SIGKILL: kill)
# or, for a signal cargo does not name, `(signal: 24)` (SIGXCPU).
STOPPED = re.compile(r"didn't exit successfully: .*\(signal: (\d+)")
# A test the harness saw fail (it prints these as they finish, and a summary at the end).
FAILED = re.compile(r"^test .* \.\.\. FAILED$|^test result: FAILED", re.M)


def main(root: pathlib.Path) -> None:
    outcomes = json.loads((root / "outcomes.json").read_text())["outcomes"]
    for o in outcomes:
        scenario, log = o["scenario"], o.get("log_path")
        if not isinstance(scenario, dict) or not log or o.get("summary") != "CaughtMutant":
            continue
        text = (root / log).read_text(errors="replace")
        stopped = STOPPED.findall(text)
        if stopped and not FAILED.search(text):
            print(f"{scenario['Mutant']['name']}  # {name(int(stopped[-1]))}")


def name(number: int) -> str:
    """The signal's name (SIGXCPU for 24 on Linux), or its number when it has none here."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(pathlib.Path(sys.argv[1]))
