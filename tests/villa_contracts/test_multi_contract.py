"""A throw-away second contract: the loader finds it, the mock serves it, lint checks it and the gate runs it.

It is the recipe of ARCHITECTURE.md's "How to add an API" in miniature: one folder under
``contracts/``, one handler registered for its one operation, nothing else changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.handlers import handlers_of
from mock_server.runner import serve_in_thread
from suites.context import RunContext
from suites.gate import GatePlan, run_gate
from villa_contracts.contract import Contracts, lint, load
from villa_contracts.errors import ContractError
from villa_contracts.events import CheckFinished, PhaseFinished, Skipped
from villa_contracts.target import resolve_target

ECHO = """\
openapi: 3.1.0
info: {title: Echo, version: 0.0.1}
x-villa: {role: api}
security: []
paths:
  /api/echo/ping:
    get:
      operationId: ping
      summary: Answer pong.
      responses:
        "200":
          description: Pong.
          content:
            application/json:
              schema:
                type: object
                required: [pong]
                additionalProperties: false
                properties: {pong: {const: true}}
              example: {pong: true}
"""


def _ping(call: Any) -> tuple[int, Any]:
    return 200, {"pong": True}


@pytest.fixture
def contracts(tmp_path: Path) -> Contracts:
    root = tmp_path / "contracts"
    shutil.copytree(load().root, root)
    (root / "echo").mkdir()
    (root / "echo" / "openapi.yaml").write_text(ECHO, encoding="utf-8")
    return Contracts.from_path(root)


def _handlers() -> dict[str, Any]:
    return {**handlers_of(), "echo": {"ping": _ping}}


def test_the_loader_knows_it_by_its_short_name(contracts: Contracts) -> None:
    assert set(contracts.names) == {*load().names, "echo"}
    assert [c.name for c in contracts.apis] == sorted([*(c.name for c in load().apis), "echo"])
    assert contracts.operation("echo", "ping").key == ("echo", "ping")
    assert contracts.match("GET", "/api/echo/ping") == contracts["echo"].operation("ping")
    with pytest.raises(ContractError, match="did you mean 'echo'"):
        contracts["ecko"]


def test_the_mock_serves_it_beside_the_villa_api(contracts: Contracts) -> None:
    with TestClient(create_app(contracts=contracts, handlers=_handlers())) as api:
        assert api.get("/api/echo/ping").json() == {"pong": True}
        assert api.get("/openapi/echo.json").json()["info"]["title"] == "Echo"
        assert api.get("/openapi.json").json()["info"]["title"].startswith("Villa")
        assert api.get("/api/health").status_code == 200
        journal = api.get("/__admin/journal").json()["entries"]
        assert [(e["contract"], e["operationId"]) for e in journal] == [("echo", "ping"), ("villa", "health")]


def test_a_missing_handler_fails_loudly(contracts: Contracts) -> None:
    with pytest.raises(ContractError, match=r"contract 'echo'.*no handler for \['ping'\]"):
        create_app(contracts=contracts)
    extra = {**_handlers(), "echo": {"ping": _ping, "pong": _ping}}
    with pytest.raises(ContractError, match=r"no operation for \['pong'\]"):
        create_app(contracts=contracts, handlers=extra)


def test_lint_checks_it(contracts: Contracts) -> None:
    results = lint(contracts["echo"])
    assert {(r.contract, r.operation) for r in results} == {("echo", "(document)"), ("echo", "ping")}
    assert all(r.passed for r in results), [r for r in results if not r.passed]


@pytest.mark.socket
def test_the_gate_runs_it(contracts: Contracts) -> None:
    with serve_in_thread(lambda url: create_app(base_url=url, contracts=contracts, handlers=_handlers())) as server:
        target = resolve_target(server.base_url, seed=3, max_examples=5)
        with RunContext(target, contracts) as context:
            events = list(run_gate(context, GatePlan(contracts=("echo",))))
        assert httpx.get(f"{server.base_url}/api/echo/ping").status_code == 200
    checks = [e for e in events if isinstance(e, CheckFinished)]
    assert {e.contract for e in checks} == {"echo"}
    assert {e.phase for e in checks} == {"lint", "schemathesis"}
    assert all(e.passed for e in checks), [e for e in checks if not e.passed]
    coverage = [e for e in checks if e.check == "coverage"]
    assert [(e.phase, e.operation, 200 in e.statuses) for e in coverage] == [("schemathesis", "ping", True)]
    skips = [(e.phase, e.reason) for e in events if isinstance(e, Skipped)]
    assert ("state-machine", "contract 'echo' has no state machine") in skips
    assert ("pact", "no pact names contract 'echo' as its provider") in skips
    assert [e.error for e in events if isinstance(e, PhaseFinished)] == [None, None, None, None]
