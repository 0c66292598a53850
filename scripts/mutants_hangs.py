#!/usr/bin/env python3
"""The mutants cargo-mutants filed under "caught" although no test was seen to fail: their test
process was stopped by the CPU-time limit of scripts/cpu_limited.sh (SIGXCPU, or SIGKILL from a
hard limit). Such a mutant may spin for ever (a hang: the tests do stop it) or be merely slow (an
equivalent mutant on a slower path, say), so each needs a reading before it counts as caught. A
test process ended by another signal (SIGABRT, SIGSEGV: a crash) was stopped by the mutant
itself, which is a catch, and is not listed.

    scripts/mutants_hangs.py MUTANTS_OUT_DIR      (the `mutants.out` folder of one run)

Prints one line per such mutant, `NAME  # SIGNAL`, in the order of outcomes.json. A caught
mutant whose log cannot be read is named on stderr (it may hide a hang), and the exit code is
then 1; the other mutants are still listed.
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
# The signals a CPU-time limit sends.
LIMIT = {signal.SIGXCPU, signal.SIGKILL}


def main(root: pathlib.Path) -> int:
    unread = 0
    outcomes = json.loads((root / "outcomes.json").read_text())["outcomes"]
    for o in outcomes:
        scenario = o.get("scenario")
        if not isinstance(scenario, dict) or o.get("summary") != "CaughtMutant":
            continue
        name = scenario.get("Mutant", {}).get("name", repr(scenario))
        try:
            text = (root / o["log_path"]).read_text(errors="replace")
        except (KeyError, TypeError, OSError) as e:
            print(f"mutants_hangs.py: {name}: its log cannot be read ({e})", file=sys.stderr)
            unread += 1
            continue
        stopped = [int(n) for n in STOPPED.findall(text)]
        limit = [n for n in stopped if n in LIMIT]
        if limit and not FAILED.search(text):
            print(f"{name}  # {signal.Signals(limit[-1]).name}")
    return 1 if unread else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    sys.exit(main(pathlib.Path(sys.argv[1])))
