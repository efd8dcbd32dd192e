"""The Postman collections: in sync with the contracts byte for byte, chained by the links, schemas as draft-07."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from tests.villa_contracts.test_multi_contract import ECHO
from villa_contracts.cli import cli
from villa_contracts.contract import Contracts, load
from villa_contracts.postman import build_collection, draft07, generate, stale
from villa_contracts.postman._flow import plan, response_example, success

POSTMAN = load().root / "postman"


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "contracts"
    shutil.copytree(load().root, root)
    return root


def test_the_committed_files_are_a_fresh_export_byte_for_byte() -> None:
    # The sync check: regenerate and compare every byte (run `villa-contracts postman export` to fix).
    files = generate(load())
    assert sorted(files) == sorted(p.name for p in POSTMAN.iterdir()), "contracts/postman holds other files"
    for name, content in files.items():
        assert (POSTMAN / name).read_bytes() == content, f"{name} is stale: run `villa-contracts postman export`"
    assert stale(load()) == []


def test_a_changed_example_not_exported_fails_the_sync_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    spec = root / "villa" / "openapi.yaml"
    text = spec.read_text(encoding="utf-8")
    assert 'example: {branchId: "1000"}' in text
    spec.write_text(text.replace('example: {branchId: "1000"}', 'example: {branchId: "1001"}', 1), encoding="utf-8")
    changed = Contracts.from_path(root)
    # contracts/postman (copied) was not regenerated: the sync check names the collection.
    assert stale(changed) == ["villa.postman_collection.json"]
    body = json.loads(generate(changed)["villa.postman_collection.json"])
    gentele = _request(body, "generateOrderId")
    assert json.loads(gentele["request"]["body"]["raw"]) == {"branchId": "1001"}


def test_the_export_check_command_fails_on_a_stale_file(tmp_path: Path) -> None:
    out = tmp_path / "postman"
    runner = CliRunner()
    assert runner.invoke(cli, ["postman", "export", "--out", str(out)]).exit_code == 0
    assert runner.invoke(cli, ["postman", "export", "--check", "--out", str(out)]).exit_code == 0
    collection = out / "villa.postman_collection.json"
    collection.write_bytes(collection.read_bytes().replace(b"Reserve a new order id", b"Reserve an order id", 1))
    result = runner.invoke(cli, ["postman", "export", "--check", "--out", str(out)])
    assert result.exit_code == 1
    assert "stale:" in result.output and "villa.postman_collection.json" in result.output


def test_every_backend_api_gets_a_collection_and_the_admin_api_none(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    (root / "echo").mkdir()
    (root / "echo" / "openapi.yaml").write_text(ECHO, encoding="utf-8")
    files = generate(Contracts.from_path(root))
    assert {"echo.postman_collection.json", "villa.postman_collection.json"} <= set(files)
    assert "admin.postman_collection.json" not in files
    echo = json.loads(files["echo.postman_collection.json"])
    assert [f["name"] for f in echo["item"]] == ["auth", "default"]
    assert echo["item"][1]["item"][0]["request"]["auth"] == {"type": "noauth"}


def _request(collection: dict[str, Any], operation_id: str) -> dict[str, Any]:
    for folder in collection["item"]:
        for item in folder["item"]:
            if item["name"].startswith(operation_id + ":"):
                return item
    raise AssertionError(f"no request for {operation_id}")


def _body(collection: dict[str, Any], operation_id: str) -> Any:
    return json.loads(_request(collection, operation_id)["request"]["body"]["raw"])


def test_requests_are_chained_as_the_links_say() -> None:
    contracts = load()
    collection = build_collection(contracts["villa"], contracts)
    assert _body(collection, "createOrder")["orderId"] == "{{GenerateOrderIdResponse.orderId}}"
    # The example's owner is a test user: at run time it is whoever logged in.
    assert _body(collection, "createOrder")["ownerId"] == "{{sub}}"
    for operation_id in ("getOrder", "updateOrder", "createCardTokenDev"):
        assert _body(collection, operation_id)["orderId"] == "{{Order.orderId}}", operation_id
    # updateOrder keeps what its example changes (quantity 2), takes the order's identity from the answer.
    assert _body(collection, "updateOrder")["productList"] == [{"cprcode": 25281, "quantity": 2}]
    assert _body(collection, "calculateGrandtotal")["productList"] == "{{Order.productList}}"
    assert _body(collection, "createCardTokenDev")["grandTotal"] == "{{Order.payment.grandTotal}}"
    assert _body(collection, "verifyPaymentDev")["chargeId"] == "{{Charge.chargeId}}"
    page = _request(collection, "threeDSecurePage")["request"]["url"]
    assert page["raw"] == "{{baseUrl}}/mock/3ds/:chargeId"
    assert page["variable"] == [{"key": "chargeId", "value": "{{Charge.chargeId}}"}]


def test_the_run_walks_the_checkout_top_to_bottom() -> None:
    steps = [step.operation.operation_id for step in plan(load()["villa"]).steps]
    order = {name: steps.index(name) for name in steps}
    assert order["generateOrderId"] < order["createOrder"] < order["getOrder"] < order["updateOrder"]
    assert order["updateOrder"] < order["createCardTokenDev"] < order["createChargeDev"]
    # The 3-D Secure page is passed before the charge is verified, so that verify pays the order.
    assert (
        order["createChargeDev"] < order["threeDSecurePage"] < order["threeDSecureSubmit"] < order["verifyPaymentDev"]
    )
    collection = build_collection(load()["villa"], load())
    assert [f["name"] for f in collection["item"]] == ["auth", "meta", "orders", "pricing", "payments"]


def test_a_second_chain_from_one_answer_starts_from_fresh_data() -> None:
    steps = {step.operation.operation_id: step for step in plan(load()["villa"]).steps}
    assert steps["createCardTokenDev"].replay == []
    assert [s.operation.operation_id for s in steps["createCardToken"].replay] == ["generateOrderId", "createOrder"]


def test_login_speaks_cognito_and_every_secured_request_sends_the_id_token() -> None:
    contracts = load()
    collection = build_collection(contracts["villa"], contracts)
    login = collection["item"][0]["item"][0]
    headers = {h["key"]: h["value"] for h in login["request"]["header"]}
    assert headers["X-Amz-Target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert json.loads(login["request"]["body"]["raw"])["AuthFlow"] == "USER_PASSWORD_AUTH"
    assert "cryptoJs.HmacSHA256" in "\n".join(login["event"][0]["script"]["exec"])
    assert 'pm.collectionVariables.set("idToken"' in "\n".join(login["event"][1]["script"]["exec"])
    for operation in contracts["villa"].operations.values():
        auth = _request(collection, operation.operation_id)["request"]["auth"]
        expected = "bearer" if operation.secured else "noauth"
        assert auth["type"] == expected, operation.operation_id


def test_the_environments_point_at_the_mock_and_leave_secrets_of_dev_empty() -> None:
    contracts = load()
    cognito = contracts.data("cognito")
    mock = {v["key"]: v["value"] for v in json.loads((POSTMAN / "mock.postman_environment.json").read_text())["values"]}
    assert mock["cognitoClientId"] == cognito["appClients"][0]["clientId"]
    assert mock["cognitoUserPoolId"] == cognito["userPoolId"] and mock["isMock"] == "true"
    dev = json.loads((POSTMAN / "dev.postman_environment.json").read_text())["values"]
    assert {v["key"]: v["value"] for v in dev if v["type"] == "secret"} == {"cognitoClientSecret": "", "password": ""}


def test_draft07_conversion() -> None:
    openapi = {
        "components": {
            "schemas": {
                "Money": {"type": "number", "format": "double"},
                "Doc": {
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "format": "branch-id", "example": "1000"},
                        "when": {"type": "string", "format": "date-time"},
                        "total": {"$ref": "#/components/schemas/Money", "minimum": 0},
                        "line": {"$ref": "#/components/schemas/Doc/$defs/Line"},
                        "pair": {"type": "array", "prefixItems": [{"type": "integer"}], "items": False},
                    },
                    "$defs": {"Line": {"type": "object", "required": ["q"]}},
                },
            }
        }
    }
    schema = draft07(openapi, {"$ref": "#/components/schemas/Doc"})
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    doc = schema["definitions"]["Doc"]
    assert "$schema" not in doc and doc["definitions"] == {"Line": {"type": "object", "required": ["q"]}}
    assert doc["properties"]["id"] == {"type": "string"}  # unknown formats make Ajv 6 throw
    assert doc["properties"]["when"]["format"] == "date-time"
    assert doc["properties"]["total"] == {"minimum": 0, "allOf": [{"$ref": "#/definitions/Money"}]}
    assert doc["properties"]["line"] == {"$ref": "#/definitions/Doc/definitions/Line"}
    assert doc["properties"]["pair"] == {"type": "array", "items": [{"type": "integer"}], "additionalItems": False}
    validator = jsonschema.Draft7Validator(schema)
    assert validator.is_valid({"total": 1, "line": {"q": 1}, "pair": [1]})
    assert not validator.is_valid({"total": -1})
    assert not validator.is_valid({"line": {}})
    assert not validator.is_valid({"pair": [1, 2]})


@pytest.mark.parametrize("operation_id", sorted(load()["villa"].operations))
def test_embedded_schemas_accept_the_contract_examples_and_are_draft07(operation_id: str) -> None:
    contract = load()["villa"]
    operation = contract.operation(operation_id)
    media = (success(operation)[1].get("content") or {}).get("application/json")
    if not media:
        assert "text/html" in (success(operation)[1].get("content") or {})
        return
    schema = draft07(contract.openapi, media["schema"])
    jsonschema.Draft7Validator.check_schema(schema)
    example = response_example(contract, operation)
    assert example is not None
    assert list(jsonschema.Draft7Validator(schema).iter_errors(example)) == []
    assert not jsonschema.Draft7Validator(schema).is_valid({"unexpected": True})
