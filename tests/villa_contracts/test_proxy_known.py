"""Known traffic: Cognito, methods a contract does not list, testing tools' requests; the rest is undocumented."""

from __future__ import annotations

import json
from typing import Any

import pytest

from suites.proxy.exchange import Exchange
from suites.proxy.findings import Verdict
from suites.proxy.judge import TrafficJudge
from villa_contracts.contract import load

BEARER = ("authorization", "Bearer header.eyJzdWIiOiJ4In0.signature")
BY_SCHEMATHESIS = ("x-schemathesis-testcaseid", "Zk3")
ERROR = {"error": "bad", "code": "invalid_request", "details": []}


@pytest.fixture(scope="module")
def judge() -> TrafficJudge:
    return TrafficJudge(load(), ("villa", "lineitems"))


def sent(
    method: str,
    path: str,
    status: int | None,
    answer: Any = None,
    *,
    headers: tuple[tuple[str, str], ...] = (),
    body: Any = None,
    media: str = "application/json",
    answer_headers: tuple[tuple[str, str], ...] = (),
) -> Exchange:
    raw = json.dumps(answer).encode() if answer is not None else b""
    request = json.dumps(body).encode() if body is not None else b""
    return Exchange(method, path, request_headers=(("content-type", media), *headers), request_body=request,
                    status=status, response_headers=(("content-type", media), *answer_headers),
                    response_body=raw)  # fmt: skip


def checks(verdict: Verdict) -> dict[str, list[bool]]:
    """Each check that judged, with the ``warning`` flag of each of its findings (empty: it held)."""
    return {check: [f.warning for f in found] for check, found in verdict.judged}


# The Cognito protocol and the discovery documents.

LOGIN = (("x-amz-target", "AWSCognitoIdentityProviderService.InitiateAuth"),)
AMZ = "application/x-amz-json-1.1"


def test_the_cognito_protocol_is_known_traffic_judged_as_an_aws_sdk_reads_it(judge: TrafficJudge) -> None:
    ok = judge.judge(sent("POST", "/", 200, {"AuthenticationResult": {}}, headers=LOGIN, body={}, media=AMZ))
    assert (ok.contract, ok.operation) == ("", "cognito InitiateAuth")
    assert checks(ok) == {"cognito_protocol": [], "not_a_server_error": []}
    refused = {"__type": "NotAuthorizedException", "message": "Incorrect username or password."}
    assert not judge.judge(sent("POST", "/", 400, refused, headers=LOGIN, body={}, media=AMZ)).findings
    untyped = judge.judge(sent("POST", "/", 400, {"message": "no"}, headers=LOGIN, body={}, media=AMZ))
    assert checks(untyped)["cognito_protocol"] == [False]
    crashed = judge.judge(sent("POST", "/", 500, {"__type": "InternalErrorException"}, headers=LOGIN, media=AMZ))
    assert checks(crashed) == {"cognito_protocol": [], "not_a_server_error": [False]}


def test_a_pools_discovery_documents_are_known_traffic(judge: TrafficJudge) -> None:
    jwks = judge.judge(sent("GET", "/ap-southeast-1_bul3MgmNE/.well-known/jwks.json", 200, {"keys": []}))
    assert jwks.operation == "discovery jwks.json" and not jwks.findings
    empty = judge.judge(sent("GET", "/ap-southeast-1_bul3MgmNE/.well-known/openid-configuration", 200, {}))
    assert checks(empty)["oidc_discovery"] == [False]


# A method the contract does not list on one of its paths.


@pytest.mark.parametrize(
    ("method", "path", "status", "allow", "held"),
    [
        ("DELETE", "/api/order/get", 405, "POST", True),
        ("QUERY", "/api/order/create", 405, "POST", True),
        ("PUT", "/api/order/get", 401, "", True),  # secured: authentication runs before routing
        ("DELETE", "/mock/3ds/chrg_x", 404, "", True),  # a path with parameters: the resource may not exist
        ("DELETE", "/api/order/get", 405, "", False),  # 405 without Allow
        ("DELETE", "/api/order/get", 200, "", False),  # it did something the contract does not document
        ("PATCH", "/api/health", 400, "", False),
    ],
)
def test_a_method_the_contract_does_not_list_is_answered_405(
    judge: TrafficJudge, method: str, path: str, status: int, allow: str, held: bool
) -> None:
    allowed = (("allow", allow),) if allow else ()
    verdict = judge.judge(sent(method, path, status, ERROR, headers=(BY_SCHEMATHESIS,), answer_headers=allowed))
    assert verdict.contract == "villa" and verdict.label.startswith(f"{method} /")
    assert checks(verdict) == {"unsupported_method": [] if held else [False], "not_a_server_error": []}


def test_a_real_clients_wrong_method_is_its_warning_and_the_backends_405_holds(judge: TrafficJudge) -> None:
    verdict = judge.judge(
        sent("GET", "/api/order/get", 405, ERROR, headers=(BEARER,), answer_headers=(("allow", "POST"),))
    )
    assert verdict.name == "villa.getOrder" and not verdict.failed
    assert checks(verdict) == {"unsupported_method": [], "undocumented": [True], "not_a_server_error": []}
    assert "a method the contract lists on /api/order/get (POST)" in verdict.findings[0].message


def test_a_cors_preflight_is_no_ones_fault_and_a_server_error_still_fails(judge: TrafficJudge) -> None:
    preflight = (("origin", "https://shop.villamarket.com"), ("access-control-request-method", "POST"))
    assert checks(judge.judge(sent("OPTIONS", "/api/order/get", 204, headers=preflight))) == {"not_a_server_error": []}
    assert checks(judge.judge(sent("OPTIONS", "/api/order/get", 500, headers=preflight))) == {
        "not_a_server_error": [False]
    }


# Schemathesis's requests say so: invalid on purpose, so only the backend's answer is judged.


def test_schemathesiss_invalid_request_refused_is_no_warning_and_accepted_fails(judge: TrafficJudge) -> None:
    invalid = {"orderId": 12}
    refused = judge.judge(sent("POST", "/api/order/get", 400, ERROR, headers=(BY_SCHEMATHESIS, BEARER), body=invalid))
    assert not refused.findings and "negative_data_rejection" in checks(refused)
    assert "request_schema_conformance" not in checks(refused)
    client = judge.judge(sent("POST", "/api/order/get", 400, ERROR, headers=(BEARER,), body=invalid))
    assert checks(client)["request_schema_conformance"] == [True]
    accepted = judge.judge(sent("POST", "/api/order/get", 200, {}, headers=(BY_SCHEMATHESIS, BEARER), body=invalid))
    assert checks(accepted)["negative_data_rejection"] == [False]


def test_a_pacts_refused_request_replayed_by_the_pact_verifier_is_no_warning(judge: TrafficJudge) -> None:
    verifier = ("user-agent", "pact_verifier/1.4.7")
    zero = {"orderId": "100026000001", "productList": [{"cprcode": 25281, "quantity": 0}]}
    replayed = judge.judge(sent("POST", "/api/order/create", 400, ERROR, headers=(verifier, BEARER), body=zero))
    assert not replayed.findings and "negative_data_rejection" in checks(replayed)
    by_hand = judge.judge(sent("POST", "/api/order/create", 400, ERROR, headers=(BEARER,), body=zero))
    assert checks(by_hand)["request_schema_conformance"]


def test_a_path_no_contract_has_is_undocumented_unless_schemathesis_probes_it(judge: TrafficJudge) -> None:
    probe = judge.judge(sent("GET", "/schemathesis-probe%5C%1B%01", 404, headers=(("x-schemathesis-probe", "x"),)))
    assert probe.operation == "schemathesis probe" and checks(probe) == {"not_a_server_error": []}
    fuzzed = judge.judge(sent("GET", "/mock/3ds/", 404, headers=(BY_SCHEMATHESIS,)))
    assert fuzzed.operation == "schemathesis probe" and not fuzzed.findings
    served = judge.judge(sent("GET", "/mock/3ds/", 200, {}, headers=(BY_SCHEMATHESIS,)))
    assert checks(served)["undocumented"] == [True]  # the backend answers a path the contract does not have
    client = judge.judge(sent("GET", "/api/order/history", 404, headers=(BEARER,)))
    assert client.operation == "GET /api/order/history" and checks(client)["undocumented"] == [True]
    crashed = judge.judge(sent("GET", "/schemathesis-probe", 502, headers=(("x-schemathesis-probe", "x"),)))
    assert checks(crashed) == {"not_a_server_error": [False]}


def test_a_request_outside_the_upstreams_base_path_is_undocumented(judge: TrafficJudge) -> None:
    verdict = judge.judge(sent("POST", "/api/order/get", 200, {}, headers=(BEARER,)), outside=True)
    assert checks(verdict) == {"undocumented": [True], "not_a_server_error": []}
    assert "outside the upstream's base path" in verdict.findings[0].message
