"""``--seed S`` repeats: two gate runs with one seed against two fresh mocks send the same requests.

The gate runs as users run it (the console script, in its own process) against two mocks that start
alike: the same id seed (clients echo the ids a mock makes up: a charge id in verify) and a clock
frozen at the same instant (clients echo the times it answers: an order's ``orderDate`` in update).
Every request the mocks receive is recorded (method, path and query, body) and the two sequences must
be equal, element by element.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from tests.fixtures.fault_toolkit import recording
from villa_contracts.domain.clock import AdjustableClock

pytestmark = [pytest.mark.socket, pytest.mark.slow]

SCRIPT = str(Path(sys.executable).parent / "villa-contracts")
SEED = 7
START = 1_796_600_000.0


def _requests_of_a_gate_run(tmp_path: Path, run_id: str) -> list[tuple[str, str, str]]:
    calls: list[tuple[str, str, Any]] = []

    def build(url: str) -> Any:
        return recording(calls)(create_app(base_url=url, seed=SEED, clock=AdjustableClock(frozen_at=START)))

    with serve_in_thread(build, log_level="critical") as server:
        args = [SCRIPT, "gate", "--base-url", server.base_url, "--seed", str(SEED), "--max-examples", "5"]
        args += ["--no-progress", "--report-dir", str(tmp_path), "--run-id", run_id]
        environ = {k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}
        result = subprocess.run(args, capture_output=True, text=True, timeout=900, env=environ)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
        base = server.base_url
    # The mock's own URL (links, issuers) differs by port only.
    return [(m, p, json.dumps(body, sort_keys=True).replace(base, "$BASE")) for m, p, body in calls]


def test_two_runs_with_one_seed_send_the_same_requests(tmp_path: Path) -> None:
    first = _requests_of_a_gate_run(tmp_path, "first")
    second = _requests_of_a_gate_run(tmp_path, "second")
    assert len(first) > 1000  # every phase of every contract sent its requests
    assert {path.split("/")[2] for _, path, _ in first if path.startswith("/api/")} >= {"order", "shop", "orders"}
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        assert a == b, f"request {index} of {len(first)} differs:\n{str(a)[:400]}\n{str(b)[:400]}"
    assert len(first) == len(second)
