"""The Pact suites: the consumer writes the committed pacts, which agree with OpenAPI and verify on the mock."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.types import ASGIApp

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from suites.pact.provider import verify_pacts
from tests.fixtures.fault_toolkit import json_rewriting, status_rewriting
from villa_contracts.cli import cli
from villa_contracts.contract import ContractValidator, load

ROOT = Path(__file__).resolve().parents[2]
PACT_DIR = ROOT / "contracts" / "pacts"
PACT_FILE = PACT_DIR / "villa-backend-sdk-villa-backend.json"


@pytest.fixture(autouse=True)
def _no_tracking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PACT_DO_NOT_TRACK", "true")


def interactions() -> list[dict[str, Any]]:
    return list(json.loads(PACT_FILE.read_text(encoding="utf-8"))["interactions"])


def operation_id(method: str, path: str) -> str:
    for op_id, operation in load()["villa"].operations.items():
        pattern = re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(operation.path))
        if operation.method == method.upper() and re.fullmatch(pattern, path):
            return op_id
    raise AssertionError(f"no OpenAPI operation for {method} {path}")


@pytest.mark.slow
def test_consumer_suite_rewrites_the_committed_pacts_byte_for_byte(tmp_path: Path) -> None:
    for run in (1, 2):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "suites/pact",
                "-q",
                "-p",
                "no:cacheprovider",
                "--pact-dir",
                str(tmp_path),
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
            env={"PATH": "/usr/bin:/bin", "PACT_DO_NOT_TRACK": "true"},
        )
        assert result.returncode == 0, f"run {run}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
        assert (tmp_path / PACT_FILE.name).read_bytes() == PACT_FILE.read_bytes(), f"run {run} differs"


def test_pacts_are_v4_with_provider_state_generators() -> None:
    doc = json.loads(PACT_FILE.read_text(encoding="utf-8"))
    assert doc["metadata"]["pactSpecification"]["version"] == "4.0"
    assert {doc["consumer"]["name"], doc["provider"]["name"]} == {"villa-backend-sdk", "villa-backend"}
    authorised = [i for i in doc["interactions"] if "Authorization" in i["request"].get("headers", {})]
    assert authorised
    for interaction in authorised:
        generator = interaction["request"]["generators"]["header"]["Authorization"]
        assert generator == {"expression": "Bearer ${token}", "type": "ProviderState"}


@pytest.mark.parametrize("interaction", interactions(), ids=lambda i: i["description"])
def test_every_pact_interaction_is_valid_under_openapi(interaction: dict[str, Any]) -> None:
    request, response = interaction["request"], interaction["response"]
    op_id = operation_id(request["method"], request["path"])
    validator = ContractValidator(load()["villa"]).operation(op_id)
    status = int(response["status"])
    if status != 400:  # a 400 interaction sends an invalid body on purpose
        assert validator.request(request["body"]["content"]) == [], f"request of {op_id}"
    assert validator.response(status, response["body"]["content"]) == [], f"response {status} of {op_id}"


@pytest.mark.socket
def test_cli_pact_verify_passes_against_the_embedded_mock() -> None:
    result = CliRunner().invoke(cli, ["pact", "verify"])
    assert result.exit_code == 0, result.output
    total = sum(len(json.loads(p.read_text(encoding="utf-8"))["interactions"]) for p in load().pacts_dir.glob("*.json"))
    assert result.output == f"{total} of {total} interactions verified\n"  # compact: the verdicts, no verifier report
    verbose = CliRunner().invoke(cli, ["pact", "verify", "--verbose"])
    assert verbose.exit_code == 0, verbose.output
    assert "ok    a request to verify charge C of order O" in verbose.output
    providers = len(list(load().pacts_dir.glob("*.json")))  # one verifier (and report) per provider's pact
    assert verbose.output.count("Verifying a pact between") == providers  # the verifier's own report, once


@pytest.mark.socket
def test_standalone_pact_verifier_needs_only_the_state_change_url(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "pact"),
                "verifier",
                "--dir",
                str(PACT_DIR),
                "--hostname",
                server.host,
                "--port",
                str(server.port),
                "--provider-name",
                "villa-backend",
                "--state-change-url",
                f"{server.base_url}/__admin/provider-states",
                "--no-colour",
                "--json",
                str(report),
            ],  # fmt: skip
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    outcome = json.loads(report.read_text(encoding="utf-8"))
    assert outcome["result"] is True
    assert len(outcome["interactionResults"]) == len(interactions())


def _rename(old: str, new: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def rename(body: dict[str, Any]) -> dict[str, Any]:
        if old in body:
            body[new] = body.pop(old)
        return body

    return rename


@pytest.mark.socket
@pytest.mark.parametrize(
    ("fault", "broken"),
    [
        (json_rewriting(("generateOrderId",), _rename("orderId", "order_id")), "generate an order id"),
        (status_rewriting(("getCost",), 202), "a request to get the cost"),
    ],
    ids=["renamed-field", "changed-status"],
)
def test_a_faulty_mock_fails_verification_naming_the_interaction(
    fault: Callable[[ASGIApp], ASGIApp], broken: str
) -> None:
    with serve_in_thread(lambda url: fault(create_app(base_url=url))) as server:
        result = verify_pacts(server.base_url)
    assert not result.ok
    assert result.failed, result.output
    assert all(broken in description for description, _ in result.failed), result.failed
