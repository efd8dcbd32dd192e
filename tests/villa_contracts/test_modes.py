"""The mode matrix: every mode users run the gate in, against a correct backend and against every planted fault.

A correct backend passes each mode with no failure and no warning, at depth and across seeds. Each mode
catches every planted fault of ``tests.fixtures.faults`` except the ones ``MISSES`` lists for it, each
with the reason, by the cheapest phases and the fewest examples that catch it (the fault's ``phases``,
``engine_phases`` and ``depth``: a prefix of each mode's own run on a target in the same state, so what it catches
the whole mode catches; the fast options keep their own depth, bench/mode_matrix.py --whole runs every mode whole);
docs/modes.md's table of what each mode catches is checked against ``MISSES``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.fixtures.faults import FAULTS
from tests.fixtures.modes import MODES, gate_args, serve_for
from tests.villa_contracts.test_gate_faults import caught

pytestmark = pytest.mark.socket

SEEDS = {"embedded": 5, "real": 6, "proxy": 7, "fast": 8}
"""One seed per mode in CI, a different one each (bench/mode_matrix.py runs every mode with seeds 5, 6 and 7)."""
DEPTH = 30
"""Examples per operation of the correct backend's runs (the fault runs use the fault catalogue's depth)."""
FAULT_SEED = 1

EXPIRY = "expiry needs the mock's clock (its admin API): a dev backend's runs in real time"
MISSES: dict[str, dict[str, str]] = {
    "embedded": {},
    "real": {
        "price_drift": "prices are checked against the catalog only on a mock: a dev backend's catalog is its own",
        "li_short_stock_accepted": "a variant's whole stock is known only on a mock: a dev backend's is its own",
        "li_stock_not_restored_on_expiry": EXPIRY,
        "li_expired_order_listed": EXPIRY,
        "li_expired_payment_lost": EXPIRY,
        "shop_late_approval_kept": EXPIRY,
        "expired_money_lost": EXPIRY,
    },
    "proxy": {},
    "fast": {},
}
"""Faults a mode does not catch, and why (every other fault of the catalogue it must catch)."""


def run_gate(args: list[str], report_dir: Path, run_id: str, env: dict[str, str]) -> tuple[int, dict[str, Any], str]:
    """The gate in-process, as the console script runs it: exit code, summary.json, output."""
    from villa_contracts.cli import cli

    result = CliRunner().invoke(cli, [*args, "--report-dir", str(report_dir), "--run-id", run_id], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    summary = json.loads((report_dir / run_id / "summary.json").read_text(encoding="utf-8"))
    return result.exit_code, summary, result.output


def _brief(summary: dict[str, Any]) -> str:
    failures = sorted({(f.get("phase"), f["operation"], f["check"]) for f in summary["failures"]})
    warnings = sorted({(w.get("phase"), w.get("operation"), w.get("check")) for w in summary["warnings"]})
    return f"exit {summary.get('exitCode')} ({summary.get('reason')}); failures {failures}; warnings {warnings}"


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_a_correct_backend_passes_every_mode(mode: str, tmp_path: Path) -> None:
    seed = SEEDS[mode]
    with serve_for(mode) as served:
        args = gate_args(mode, served.base_url, contract=None, seed=seed, max_examples=DEPTH)
        if mode == "embedded":  # the gate's own embedded mock, as the README's first command runs it
            args.remove("--base-url")
            args.remove(served.base_url)
        code, summary, output = run_gate(args, tmp_path, f"{mode}-{seed}", served.env)
    assert code == 0, f"{mode}: {_brief(summary)}\n{output[-3000:]}"
    assert summary["failures"] == [] and summary["warnings"] == [], f"{mode}: {_brief(summary)}"
    assert summary["counts"]["checks"] > 0


def _fault_params() -> list[Any]:
    return [
        pytest.param(mode, name, id=f"{mode}-{name}")
        for mode in MODES
        for name in sorted(FAULTS)
        if name not in MISSES[mode]
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("mode", "name"), _fault_params())
def test_each_mode_catches_the_faults_it_claims(mode: str, name: str, tmp_path: Path) -> None:
    fault = FAULTS[name]
    with serve_for(mode, fault.wrap) as served:
        args = gate_args(
            mode,
            served.base_url,
            contract=fault.contract,
            seed=FAULT_SEED,
            max_examples=fault.depth,
            phases=fault.phases,
            engine_phases=fault.engine_phases if "schemathesis" in fault.phases else (),
        )
        code, summary, _ = run_gate(args, tmp_path, f"{mode}-{name}", served.env)
    assert code == 1, f"{mode}/{name}: {_brief(summary)}"
    assert caught(fault, summary), f"{mode}/{name}: expected {fault.expect} / {fault.checks}; {_brief(summary)}"


def test_every_miss_is_a_known_fault_with_a_reason() -> None:
    assert set(MISSES) == set(MODES)
    for mode, misses in MISSES.items():
        assert set(misses) <= set(FAULTS), mode
        assert all(reason.strip() for reason in misses.values()), mode


def test_the_fast_options_catch_nine_in_ten_of_what_the_default_catches() -> None:
    default = set(FAULTS) - set(MISSES["embedded"])
    fast = default - set(MISSES["fast"])
    assert len(fast) >= 0.9 * len(default), sorted(default - fast)


MODE_TITLES = {
    "embedded": "embedded mock",
    "real": "a dev backend (no `/__admin`)",
    "proxy": "`--via-proxy`",
    "fast": "fast options",
}


def matrix_table() -> str:
    """The docs' table of what each mode catches: a row per planted fault, ✓ caught, ✗ not (with the reason)."""
    head = "| planted fault | what the broken backend does | " + " | ".join(MODE_TITLES[m] for m in MODES) + " |"
    rule = "|---|---|" + "---|" * len(MODES)
    rows = []
    for name in sorted(FAULTS):
        fault = FAULTS[name]
        marks = " | ".join("✗" if name in MISSES[mode] else "✓" for mode in MODES)
        rows.append(f"| `{name}` | {fault.contract}: {fault.description} | {marks} |")
    reasons = sorted({(mode, reason) for mode, misses in MISSES.items() for reason in misses.values()})
    notes = [f"- ✗ in *{MODE_TITLES[mode]}*: {reason}." for mode, reason in reasons]
    return "\n".join([head, rule, *rows, "", *notes]) + "\n"


def test_the_docs_table_is_the_matrix() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "modes.md").read_text(encoding="utf-8")
    start, end = "<!-- matrix: generated by python -m tests.villa_contracts.test_modes -->\n", "<!-- /matrix -->"
    assert start in doc and end in doc, "docs/modes.md has no matrix block"
    block = doc.split(start, 1)[1].split(end, 1)[0]
    assert block == matrix_table(), "docs/modes.md is not the matrix: python -m tests.villa_contracts.test_modes"


if __name__ == "__main__":
    import sys

    sys.stdout.write(matrix_table())
