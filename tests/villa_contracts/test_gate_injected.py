"""The gate never blames a backend for a fault the mock injected (docs/faults.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.cli import cli

pytestmark = [pytest.mark.socket, pytest.mark.slow]

FAULTS = {
    "rules": [
        {"operation": "villa.getOrder", "probability": 0.5, "seed": 3, "effect": {"status": 500, "undeclared": True}}
    ]
}


def gate_on_faults(faults: dict[str, Any], report_dir: Path, run_id: str, *args: str) -> tuple[int, str]:
    """The gate on a mock injecting ``faults``, villa only, seed 5, with ``args``: exit code and output."""
    with serve_in_thread(lambda url: create_app(base_url=url, faults=faults)) as server:
        result = CliRunner().invoke(
            cli,
            ["gate", "--no-progress", "--base-url", server.base_url, "--contract", "villa", "--seed", "5",
             "--report-dir", str(report_dir), "--run-id", run_id, *args],
            env={"COLUMNS": "200", "NO_COLOR": "1"},
        )  # fmt: skip
    return result.exit_code, result.output


def test_a_gate_against_a_mock_with_faults_passes_and_names_them_injected(tmp_path: Path) -> None:
    code, output = gate_on_faults(FAULTS, tmp_path, "faults", "--phases", "schemathesis", "--max-examples", "5")
    assert code == 0, output
    data = json.loads((tmp_path / "faults" / "summary.json").read_text())
    assert data["exitCode"] == 0 and data["failures"] == []
    assert "injected by the mock" in output
    assert "X-Villa-Injected-Fault: 0:status=500" in output


def test_an_operation_whose_success_only_injected_faults_kept_away_is_a_coverage_warning(tmp_path: Path) -> None:
    faults = {"rules": [{"operation": "villa.getOrder", "effect": {"status": 500, "undeclared": True}}]}  # every one
    code, output = gate_on_faults(faults, tmp_path, "cover", "--phases", "schemathesis", "--max-examples", "3")
    assert code == 0, output
    data = json.loads((tmp_path / "cover" / "summary.json").read_text())
    coverage = [w for w in data["warnings"] if w["operation"] == "getOrder" and w["check"] == "coverage"]
    assert data["failures"] == [] and len(coverage) == 1
    assert coverage[0]["title"].startswith("injected by the mock: some answers were its faults; never answered 2xx")


def test_the_state_machine_reports_injected_faults_as_warnings(tmp_path: Path) -> None:
    faults = {"rules": [{"operation": "villa.createOrder", "probability": 0.3, "seed": 1,
                         "effect": {"status": 503, "undeclared": True}}]}  # fmt: skip
    code, output = gate_on_faults(faults, tmp_path, "machine", "--phases", "state-machine", "--max-examples", "10")
    assert code == 0, output
    assert "injected by the mock (X-Villa-Injected-Fault: 0:status=503)" in output


def test_only_a_fault_that_changed_the_answer_excuses_it() -> None:
    from villa_contracts.faults import HEADER, injected_label

    assert injected_label({HEADER: "0:status=503"}) == "0:status=503"
    assert injected_label({HEADER.lower(): ["1:truncate"]}) == "1:truncate"  # schemathesis' headers
    assert injected_label({HEADER: "2:latencyMs=200"}) is None  # only delayed: still the backend's answer
    assert injected_label({HEADER: "3:slowBodyMs=50"}) is None
    assert injected_label({}) is None


@pytest.mark.parametrize(
    ("contract", "operations"),
    [
        ("villa", ("villa.createOrder", "villa.createChargeDev")),
        ("shop", ("shop.addCartItem", "shop.checkoutCart", "shop.addAddress")),
        ("lineitems", ("lineitems.createLineItemOrder", "lineitems.payLineItemOrder")),
    ],
)
def test_the_data_set_up_sends_a_call_again_when_the_mock_injected_a_fault(
    contract: str, operations: tuple[str, ...]
) -> None:
    from suites.context import RunContext
    from suites.property.livedata import live_examples
    from villa_contracts.contract import load
    from villa_contracts.target import resolve_target

    rules = [{"operation": op, "probability": 0.5, "seed": n, "effect": {"status": 503, "undeclared": True}}
             for n, op in enumerate(operations)]  # fmt: skip
    with serve_in_thread(lambda url: create_app(base_url=url, faults={"rules": rules})) as server:
        with RunContext(resolve_target(server.base_url, seed=5, max_examples=5)) as context:
            live = live_examples(context, load()[contract])
            injected = list(context.http.injected_seen())
    assert injected, "no fault was injected into the set-up: the test shows nothing"
    assert live.notes == [], live.notes  # every set-up call answered in the end: no example left as written
