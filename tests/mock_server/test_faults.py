"""Faults on demand in the mock (``villa_contracts.faults``, ``/__admin/faults``, ``serve --faults``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.runner import RunningServer, serve_in_thread
from villa_contracts.contract import load
from villa_contracts.faults import HEADER, Faults, FaultsError

CREATE_ORDER = "/api/order/create"
CREATE_CHARGE = "/api/payment3/charge"
RULE_503 = {"operation": "createOrder", "probability": 0.3, "seed": 1, "effect": {"status": 503, "undeclared": True}}


def _injected(client: TestClient, count: int) -> list[str | None]:
    return [client.post(CREATE_ORDER, json={}).headers.get(HEADER) for _ in range(count)]


def test_a_seeded_rule_gives_the_same_faults_and_the_rate_its_random_predicts() -> None:
    runs = []
    for _ in range(2):
        client = TestClient(create_app(faults={"rules": [RULE_503]}))
        runs.append(_injected(client, 200))
    assert runs[0] == runs[1]
    rng = random.Random(1)
    predicted = [rng.random() < 0.3 for _ in range(200)]
    assert [label is not None for label in runs[0]] == predicted
    assert sum(predicted) == sum(1 for label in runs[0] if label == "0:status=503")
    assert 40 <= sum(predicted) <= 80  # near 30 %


def test_an_injected_status_never_runs_the_handler_and_is_journaled() -> None:
    rule = {"operation": "createOrder", "effect": {"status": 409}}
    client = TestClient(create_app(faults={"rules": [rule]}))
    answer = client.post(CREATE_ORDER, json={})  # no token: the handler would answer 401
    assert answer.status_code == 409
    assert answer.headers[HEADER] == "0:status=409"
    assert answer.json() == {"error": "fault injected by rule 0: 409", "code": "injected_fault", "details": []}
    [entry] = client.get("/__admin/journal").json()["entries"]
    assert (entry["operationId"], entry["status"], entry["injectedFault"]) == ("createOrder", 409, "0:status=409")


def test_latency_is_waited_before_handling_and_recorded() -> None:
    rule = {"operation": "createCharge", "effect": {"latencyMs": 200}}
    client = TestClient(create_app(faults={"rules": [rule]}))
    answer = client.post(CREATE_CHARGE, json={})
    assert answer.status_code == 401  # handled after the wait
    assert answer.headers[HEADER] == "0:latencyMs=200"
    [entry] = client.get("/__admin/journal").json()["entries"]
    assert entry["injectedFault"] == "0:latencyMs=200"
    assert entry["operationId"] == "createCharge"


def test_a_latency_range_draws_from_the_rules_random() -> None:
    faults = Faults.load(
        {"rules": [{"operation": "createCharge", "seed": 7, "effect": {"latencyMs": [100, 300]}}]}, load()
    )
    drawn = [faults.draw("POST", CREATE_CHARGE) for _ in range(5)]
    rng = random.Random(7)
    assert [d.value for d in drawn if d] == [100 + 200 * rng.random() for _ in range(5)]


def test_an_undeclared_status_is_refused_unless_asked() -> None:
    with pytest.raises(FaultsError) as refused:
        Faults.load({"rules": [{"operation": "createOrder", "effect": {"status": 503}}]}, load())
    assert refused.value.pointer == "/rules/0/effect/status"
    Faults.load({"rules": [{"operation": "createOrder", "effect": {"status": 503, "undeclared": True}}]}, load())
    Faults.load({"rules": [{"operation": "createCharge", "effect": {"status": 503}}]}, load())  # declared


@pytest.mark.parametrize(
    ("document", "pointer"),
    [
        ({"rules": [{"operation": "createOrder", "effect": {}}]}, "/rules/0/effect"),
        ({"rules": [{"operation": "createOrder", "effect": {"latencyMs": "slow"}}]}, "/rules/0/effect/latencyMs"),
        ({"rules": [{"operation": "createOrder", "probability": 2, "effect": {"drop": True}}]}, "/rules/0/probability"),
        ({"rules": [{"operation": "noSuchOperation", "effect": {"drop": True}}]}, "/rules/0/operation"),
        ({"rules": [{"effect": {"drop": True}}]}, "/rules/0"),
    ],
)
def test_admin_put_refuses_a_bad_document_with_its_pointer(document: dict[str, Any], pointer: str) -> None:
    client = TestClient(create_app())
    answer = client.put("/__admin/faults", json=document)
    assert answer.status_code == 400
    assert answer.json()["details"][0]["pointer"] == pointer
    assert client.get("/__admin/faults").json() == {"rules": []}


def test_admin_put_get_delete_round_trip() -> None:
    client = TestClient(create_app())
    assert client.get("/__admin/faults").json() == {"rules": []}
    document = {"rules": [{"method": "POST", "path": CREATE_ORDER, "effect": {"status": 409}}]}
    assert client.put("/__admin/faults", json=document).json() == document
    assert client.get("/__admin/faults").json() == document
    assert client.post(CREATE_ORDER, json={}).status_code == 409
    assert client.delete("/__admin/faults").json() == {"cleared": True}
    assert client.get("/__admin/faults").json() == {"rules": []}
    assert client.post(CREATE_ORDER, json={}).status_code == 401


def test_faults_never_touch_the_admin_api() -> None:
    document = {"rules": [{"method": "GET", "path": "/__admin/faults", "effect": {"status": 500, "undeclared": True}}]}
    client = TestClient(create_app(faults=document))
    answer = client.get("/__admin/faults")
    assert answer.status_code == 200
    assert HEADER not in answer.headers


@pytest.fixture
def served() -> Iterator[RunningServer]:
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        yield server


def _faults(server: RunningServer, effect: dict[str, Any]) -> None:
    rule = {"method": "GET", "path": "/api/health", "effect": effect}
    httpx.put(f"{server.base_url}/__admin/faults", json={"rules": [rule]}).raise_for_status()


def test_drop_closes_the_connection_unanswered(served: RunningServer) -> None:
    _faults(served, {"drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{served.base_url}/api/health")
    entry = httpx.get(f"{served.base_url}/__admin/journal").json()["entries"][-1]
    assert entry["injectedFault"] == "0:drop"


def test_truncate_sends_part_of_the_body(served: RunningServer) -> None:
    _faults(served, {"truncate": True})
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{served.base_url}/api/health")


def test_a_slow_body_arrives_whole_and_marked(served: RunningServer) -> None:
    _faults(served, {"slowBodyMs": 50})
    answer = httpx.get(f"{served.base_url}/api/health")
    assert answer.json()["status"] == "ok"
    assert answer.headers[HEADER] == "0:slowBodyMs=50"


def test_serve_refuses_a_bad_faults_file_before_serving(tmp_path: Any) -> None:
    from click.testing import CliRunner

    from villa_contracts.cli import cli

    bad = tmp_path / "faults.yaml"
    bad.write_text("rules:\n  - operation: createOrder\n    effect: {status: 503}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", "--faults", str(bad), "--port", "0"])
    assert result.exit_code == 2
    assert "/rules/0/effect/status" in result.output


def test_the_cognito_protocol_only_when_a_rule_names_it_by_method_and_path() -> None:
    target = {"x-amz-target": "AWSCognitoIdentityProviderService.InitiateAuth"}
    named = {"rules": [{"method": "POST", "path": "/", "effect": {"status": 500, "undeclared": True}}]}
    answer = TestClient(create_app(faults=named)).post("/", content=b"{}", headers=target)
    assert answer.status_code == 500 and answer.headers[HEADER] == "0:status=500"
    every_api = {
        "rules": [{"operation": op, "effect": {"drop": True}} for op in ("villa.createOrder", "shop.getOrder")]
    }
    answer = TestClient(create_app(faults=every_api)).post("/", content=b"{}", headers=target)
    assert HEADER not in answer.headers
