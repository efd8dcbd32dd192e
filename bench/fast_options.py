"""The fast options against the default gate, side by side: time of each and their ratio, on the embedded mock.

The README's fast options (``--fast``) promise quick feedback that
still catches what matters. This runs the console script as a user does, default and fast interleaved
(``--rounds`` of each, seeds differing per round, the same seed for both within a round), and prints each
run's wall time and exit code, the medians and fast / default. Their catch rates on the fault catalogue
are the mode matrix's (``docs/modes.md``, checked in CI by ``tests/villa_contracts/test_modes.py``); this
prints them from that table.

Usage: ``.venv/bin/python bench/fast_options.py [--rounds 2]`` on a quiet machine (its figures are times).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--fast"]


def run(args: list[str], seed: int, work: str) -> tuple[float, int]:
    """One gate run of the console script: (wall seconds, exit code)."""
    command = [str(ROOT / ".venv" / "bin" / "villa-contracts"), "gate", *args, "--seed", str(seed), "--no-progress"]
    command += ["--report-dir", work]
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "PACT_DO_NOT_TRACK": "true"}
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return time.perf_counter() - started, done.returncode


def catch_rates() -> tuple[int, int, int]:
    """From docs/modes.md's matrix: (faults, caught by the embedded default, caught by the fast options)."""
    rows = [line for line in (ROOT / "docs" / "modes.md").read_text().splitlines() if line.startswith("| `")]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    faults = [row for row in cells if len(row) == 6]
    return len(faults), sum(row[2] == "✓" for row in faults), sum(row[5] == "✓" for row in faults)


def main() -> int:
    """Print the runs, the medians, the ratio and the catch rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {"default": [], "fast": []}
    codes: list[int] = []
    with tempfile.TemporaryDirectory() as work:
        for index in range(rounds):
            seed = 11 + index
            for name, args in (("default", []), ("fast", FAST)):
                seconds, code = run(args, seed, work)
                times[name].append(seconds)
                codes.append(code)
                print(f"round {index + 1} {name:8} seed {seed}: {seconds:6.1f} s, exit {code}", flush=True)
    default, fast = statistics.median(times["default"]), statistics.median(times["fast"])
    print(f"median: default {default:.1f} s, fast {fast:.1f} s; fast / default = {fast / default:.2f}")
    total, by_default, by_fast = catch_rates()
    print(f"catalogue ({total} faults, docs/modes.md): default catches {by_default}, fast {by_fast}")
    print(f"fast catches {by_fast / by_default:.0%} of what the default catches")
    return 0 if all(code == 0 for code in codes) else 1


if __name__ == "__main__":
    sys.exit(main())
