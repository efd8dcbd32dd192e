"""``villa-contracts postman check``: a team's own collection, request by request, against the contracts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from villa_contracts.cli import cli
from villa_contracts.contract import load
from villa_contracts.errors import UsageError
from villa_contracts.postman import collection_file
from villa_contracts.postman._check import (
    INVALID_BODY,
    MISSING_AUTH,
    UNKNOWN_PATH,
    WRONG_METHOD,
    check_collection,
)

BEARER = {"type": "bearer", "bearer": [{"key": "token", "value": "{{idToken}}", "type": "string"}]}


def _request(name: str, method: str, url: Any, body: Any = None, **extra: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"method": method, "url": url, "header": [], **extra}
    if body is not None:
        request["body"] = {"mode": "raw", "raw": body if isinstance(body, str) else json.dumps(body)}
    return {"name": name, "request": request}


def _collection(*items: dict[str, Any], auth: dict[str, Any] | None = BEARER) -> dict[str, Any]:
    document: dict[str, Any] = {
        "info": {"name": "team", "schema": "v2.1"},
        "item": [{"name": "orders", "item": list(items)}],
    }
    if auth is not None:
        document["auth"] = auth
    return document


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})
    return result.exit_code, result.output


def test_the_generated_collections_match_their_contracts() -> None:
    contracts = load()
    paths = [str(contracts.root / "postman" / collection_file(c.name)) for c in contracts.apis]
    code, out = run("postman", "check", *paths)
    assert code == 0, out
    assert "villa.postman_collection.json: OK: 15 of 15 requests match a contract operation" in out
    # The shop's: every request with its scheme's credential (the token key, the gateway's key) or open.
    assert "shop.postman_collection.json: OK: 21 of 21 requests match a contract operation" in out


def test_one_wrong_path_and_one_invalid_body_are_both_named_exit_1(tmp_path: Path) -> None:
    team = _collection(
        _request("Generate ID", "POST", "{{host}}/api/order2/gentele", {"branchId": "1000"}),
        _request("Create", "POST", "{{host}}/api/order/creat", {"orderId": "{{orderId}}"}),
        _request("Get", "POST", {"raw": "{{host}}/api/order/get", "path": ["api", "order", "get"]}, {"order": 1}),
    )
    path = tmp_path / "team.postman_collection.json"
    path.write_text(json.dumps(team))
    code, out = run("postman", "check", str(path))
    assert code == 1
    assert "unknown path: orders / Create: POST /api/order/creat: " in out
    assert "did you mean /api/order/create?" in out
    assert "invalid body: orders / Get: POST /api/order/get: villa.getOrder: " in out
    assert "2 problem(s): 2 of 3 requests match a contract operation" in out


def test_wrong_method_missing_auth_and_variables() -> None:
    contracts = load()
    team = _collection(
        _request("get by GET", "GET", "{{baseUrl}}/api/order/get"),
        _request("3DS page", "GET", "http://127.0.0.1:8080/mock/3ds/:chargeId"),
        _request("3DS by variable", "POST", "{{baseUrl}}/mock/3ds/{{chargeId}}", '{"action": "complete"}'),
        # A bare variable stands for any value: it is not judged.
        _request(
            "token",
            "POST",
            "{{baseUrl}}/api/payment3devapi/cardtoken",
            '{"orderId": "{{id}}", "basketId": "{{sub}}", "grandTotal": {{total}}}',
        ),  # fmt: skip
        _request("no auth", "POST", "{{baseUrl}}/api/order/get", {"orderId": "1"}, auth={"type": "noauth"}),
        _request(
            "header auth",
            "POST",
            "{{baseUrl}}/api/order/get",
            {"orderId": "1"},
            auth={"type": "noauth"},
            header=[{"key": "Authorization", "value": "Bearer {{t}}"}],
        ),  # fmt: skip
        _request(
            "Cognito",
            "POST",
            "https://cognito-idp.ap-southeast-1.amazonaws.com/",
            "{}",
            header=[{"key": "X-Amz-Target", "value": "AWSCognitoIdentityProviderService.InitiateAuth"}],
        ),  # fmt: skip
    )
    result = check_collection(team, contracts)
    problems = [(f.request, f.problem) for f in result.findings]
    assert problems == [("orders / get by GET", WRONG_METHOD), ("orders / no auth", MISSING_AUTH)]
    assert "POST (villa.getOrder)" in result.findings[0].detail
    matched = {place.split(" / ")[1]: op.operation_id for place, op in result.matched}
    assert matched["3DS page"] == "threeDSecurePage" and matched["3DS by variable"] == "threeDSecureSubmit"
    assert matched["token"] == "createCardTokenDev" and matched["header auth"] == "getOrder"
    assert result.notes == [("orders / Cognito", "a Cognito call (not an operation of the Villa APIs): not checked")]


def test_a_body_that_is_not_json_or_missing_is_invalid() -> None:
    team = _collection(
        _request("broken", "POST", "{{baseUrl}}/api/order/get", "{orderId: 1"),
        _request("none", "POST", "{{baseUrl}}/api/order/get"),
    )
    findings = check_collection(team, load()).findings
    assert [f.problem for f in findings] == [INVALID_BODY, INVALID_BODY]
    assert "not JSON" in findings[0].detail and "requires a body" in findings[1].detail


def test_auth_is_inherited_from_folders_and_the_collection() -> None:
    item = _request("get", "POST", "{{baseUrl}}/api/order/get", {"orderId": "1"})
    assert check_collection(_collection(item), load()).ok
    assert [f.problem for f in check_collection(_collection(item, auth=None), load()).findings] == [MISSING_AUTH]


def test_unknown_path_only_when_nothing_fits() -> None:
    result = check_collection(_collection(_request("x", "GET", "{{baseUrl}}/api/nothing/here")), load())
    assert [f.problem for f in result.findings] == [UNKNOWN_PATH]


def test_not_a_collection(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        check_collection({"openapi": "3.1.0"}, load())
    bad = tmp_path / "bad.json"
    bad.write_text("[]")
    code, out = run("postman", "check", str(bad))
    assert code == 2 and "not a Postman collection" in out
    assert run("postman", "check", str(tmp_path / "missing.json"))[0] == 2
