"""The mode matrix, whole: every mode × seeds 5, 6, 7 against a correct backend, every fault in every mode.

CI runs one seed per mode (tests/villa_contracts/test_modes.py); this runs them all and prints a table:

- a correct backend: per mode and seed, the verdict, checks, failures, warnings and the time (at
  ``--max-examples 30``, the fast options at their own 20);
- every planted fault: per mode, caught (``✓``), not claimed (``·``, with docs/modes.md's reason) or MISSED,
  and the time of its run;
- the fast options' catch ratio on the catalogue, against what the default (embedded) catches.

Usage: ``.venv/bin/python bench/mode_matrix.py [--seeds 5,6,7] [--depth 30] [--no-faults]``. It takes
several minutes; run it on a quiet machine if its times matter. Exit code 1 when any cell is wrong.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.faults import FAULTS  # noqa: E402
from tests.fixtures.modes import MODES, gate_args, serve_for  # noqa: E402
from tests.villa_contracts.test_gate_faults import caught  # noqa: E402
from tests.villa_contracts.test_modes import FAULT_SEED, MISSES, run_gate  # noqa: E402


def correct(mode: str, seed: int, depth: int, work: Path) -> tuple[bool, str]:
    """One gate run of ``mode`` against a correct backend: (held, the row's text)."""
    started = time.perf_counter()
    with serve_for(mode) as served:
        args = gate_args(mode, served.base_url, contract=None, seed=seed, max_examples=depth)
        if mode == "embedded":
            args.remove("--base-url")
            args.remove(served.base_url)
        code, summary, _ = run_gate(args, work, f"{mode}-{seed}", served.env)
    counts = summary["counts"]
    held = code == 0 and not summary["failures"] and not summary["warnings"]
    row = (f"{mode:9} seed {seed}  exit {code}  {counts['checks']:5} checks  {counts['failed']} failed  "
           f"{counts['warnings']} warnings  {time.perf_counter() - started:6.1f}s")  # fmt: skip
    return held, row


def fault_cell(mode: str, name: str, work: Path, *, whole: bool) -> tuple[str, float]:
    """``✓`` caught, ``·`` not claimed, ``MISSED``; and the run's seconds.

    ``whole``: the mode's whole gate (every phase; the fast options as they are), not the fault's cheapest phases.
    """
    if name in MISSES[mode]:
        return "·", 0.0
    fault = FAULTS[name]
    started = time.perf_counter()
    with serve_for(mode, fault.wrap) as served:
        cheapest = not whole and "schemathesis" in fault.phases
        args = gate_args(
            mode,
            served.base_url,
            contract=fault.contract,
            seed=FAULT_SEED,
            max_examples=None if whole else fault.depth,
            phases=() if whole else fault.phases,
            engine_phases=fault.engine_phases if cheapest else (),
        )
        code, summary, _ = run_gate(args, work, f"{mode}-{name}", served.env)
    return ("✓" if code == 1 and caught(fault, summary) else "MISSED"), time.perf_counter() - started


def main() -> int:
    """Run the matrix and print it; 1 when a correct backend failed or a claimed fault was missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="5,6,7", help="seeds of the correct backend's runs")
    parser.add_argument("--depth", type=int, default=30, help="examples per operation of those runs")
    parser.add_argument("--no-faults", action="store_true", help="only the correct backend's runs")
    parser.add_argument(
        "--whole", action="store_true", help="each fault against each mode's whole gate, not its cheapest phases"
    )
    options = parser.parse_args()
    seeds = [int(seed) for seed in options.seeds.split(",")]
    wrong = 0
    with tempfile.TemporaryDirectory(prefix="villa-matrix-") as directory:
        work = Path(directory)
        print(f"A correct backend, every mode, seeds {seeds}, --max-examples {options.depth}:", flush=True)
        for mode in MODES:
            for seed in seeds:
                held, row = correct(mode, seed, options.depth, work)
                wrong += not held
                print(f"  {'held ' if held else 'FAILED'} {row}", flush=True)
        if options.no_faults:
            return 1 if wrong else 0
        print(f"\nEvery planted fault ({len(FAULTS)}), every mode (✓ caught, · not claimed, MISSED):", flush=True)
        print(f"  {'fault':36}" + "".join(f"{mode:>14}" for mode in MODES), flush=True)
        caught_by = dict.fromkeys(MODES, 0)
        for name in sorted(FAULTS):
            cells = []
            for mode in MODES:
                mark, seconds = fault_cell(mode, name, work, whole=options.whole)
                wrong += mark == "MISSED"
                caught_by[mode] += mark == "✓"
                cells.append(f"{mark} {seconds:5.1f}s" if seconds else mark)
            print(f"  {name:36}" + "".join(f"{cell:>14}" for cell in cells), flush=True)
        print("\n  caught: " + ", ".join(f"{mode} {caught_by[mode]}/{len(FAULTS)}" for mode in MODES))
        ratio = caught_by["fast"] / max(caught_by["embedded"], 1)
        print(f"  the fast options catch {caught_by['fast']} of the {caught_by['embedded']} faults the default "
              f"catches: {ratio:.0%}")  # fmt: skip
    print("\nmatrix: " + ("every cell as claimed" if not wrong else f"{wrong} cell(s) wrong"))
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
