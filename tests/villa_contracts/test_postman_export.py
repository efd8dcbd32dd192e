"""The Postman collections: in sync with the contracts byte for byte, chained by the links, schemas as draft-07."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from villa_contracts.cli import cli
from villa_contracts.contract import Contracts, load
from villa_contracts.errors import ContractError
from villa_contracts.postman import build_collection, draft07, generate, stale
from villa_contracts.postman._flow import plan
from villa_contracts.postman._parts import response_example, success

POSTMAN = load().root / "postman"

# A second backend contract with no security scheme: it gets a collection of its own, without login.
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
    # No security scheme: no login, no credential variable.
    assert [f["name"] for f in echo["item"]] == ["default"]
    assert echo["item"][0]["item"][0]["request"]["auth"] == {"type": "noauth"}
    assert echo["variable"] == []


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
    # The gateway's shared key: the mock's public test value; a secret elsewhere, so empty in dev.
    assert mock["gatewayKey"] == contracts.data("shop")["gateway_key"]
    dev = json.loads((POSTMAN / "dev.postman_environment.json").read_text())["values"]
    secrets = {v["key"]: v["value"] for v in dev if v["type"] == "secret"}
    assert secrets == {"cognitoClientSecret": "", "password": "", "gatewayKey": ""}


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


@pytest.mark.parametrize(
    ("name", "operation_id"), [(c.name, op_id) for c in load().apis for op_id in sorted(c.operations)]
)
def test_embedded_schemas_accept_the_contract_examples_and_are_draft07(name: str, operation_id: str) -> None:
    contract = load()[name]
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


def _headers(item: dict[str, Any]) -> dict[str, str]:
    """What a request's ``auth`` sends, as headers."""
    auth = item["request"]["auth"]
    if auth["type"] == "bearer":
        return {"Authorization": "Bearer " + auth["bearer"][0]["value"]}
    if auth["type"] == "apikey":
        fields = {e["key"]: e["value"] for e in auth["apikey"]}
        return {fields["key"]: fields["value"]}
    return {}


def _script(item: dict[str, Any], listen: str) -> str:
    return "\n".join(line for e in item["event"] if e["listen"] == listen for line in e["script"]["exec"])


def _run(collection: dict[str, Any]) -> list[str]:
    """The operationIds in the order Newman runs them (folder by folder)."""
    return [
        i["name"].split(":")[0] for f in collection["item"] for i in f["item"] if not i["name"].startswith("Log in")
    ]


def test_each_security_scheme_gets_its_credential_as_the_contract_says() -> None:
    contracts = load()
    shop = build_collection(contracts["shop"], contracts)
    # No scheme of the shop carries a Cognito ID token: no Cognito login, no idToken.
    assert "X-Amz-Target" not in json.dumps(shop)
    assert [v["key"] for v in shop["variable"]] == ["tokenKey"]
    # tokenKey: the open operation that issues the key runs first, logs the environment's account in,
    # and keeps the key; every request of the scheme sends `Authorization: Token <key>`.
    token = _request(shop, "obtainToken")
    assert _run(shop)[0] == "obtainToken" and token["request"]["auth"] == {"type": "noauth"}
    assert _body(shop, "obtainToken") == {"username": "{{username}}", "password": "{{password}}"}
    assert 'pm.collectionVariables.set("tokenKey", issued)' in _script(token, "test")
    for operation in contracts["shop"].operations.values():
        headers = _headers(_request(shop, operation.operation_id))
        if operation.schemes == ("tokenKey",):
            assert headers == {"Authorization": "Token {{tokenKey}}"}, operation.operation_id
        elif not operation.schemes:
            assert headers == {}, operation.operation_id
    # gatewayKey: a shared key from the environment; without one the callback is skipped, not failed.
    callback = _request(shop, "paymentCallback")
    assert _headers(callback) == {"X-Gateway-Key": "{{gatewayKey}}"}
    assert 'if (!(pm.variables.get("gatewayKey")))' in _script(callback, "prerequest")
    assert "VILLA_SHOP_GATEWAY_KEY" in _script(callback, "prerequest")
    # The mock-only gateway page is skipped on a real backend, like the villa collection's 3-D Secure page.
    for operation_id in ("gatewayPage", "gatewayDecision"):
        assert 'pm.variables.get("isMock") === "true"' in _script(_request(shop, operation_id), "prerequest")
    # The villa API keeps its Cognito login and bearer ID token.
    villa = build_collection(contracts["villa"], contracts)
    assert [v["key"] for v in villa["variable"]] == ["idToken", "sub"]
    assert _headers(_request(villa, "getOrder")) == {"Authorization": "Bearer {{idToken}}"}


def test_the_shop_runs_in_an_order_where_every_request_can_succeed() -> None:
    contracts = load()
    shop = build_collection(contracts["shop"], contracts)
    run = _run(shop)
    at = {name: run.index(name) for name in run}
    assert sorted(run) == sorted(contracts["shop"].operations)
    # A filled cart before the checkout, the checkout before the order reads, an attempt before the gateway.
    assert at["addAddress"] < at["checkoutCart"] and at["addCartItem"] < at["checkoutCart"] < at["listOrders"]
    assert at["listOrders"] < at["getOrder"] < at["createPaymentAttempt"] < at["gatewayPage"] < at["gatewayDecision"]
    assert at["listOrders"] < at["getOrderToPay"] and at["listPaymentAttempts"] < at["paymentCallback"]
    steps = {s.operation.operation_id: s for s in plan(contracts["shop"], first=("obtainToken",)).steps}
    # The checkout needs the cart filled (the checkout of /api/shop/cart needs the POSTs under it); the
    # cart line was removed since, so the checkout re-sends it first.
    assert [s.operation.operation_id for s in steps["checkoutCart"].needs] == ["addCartItem"]
    assert at["addCartItem"] < at["removeCartItem"] < at["checkoutCart"]
    assert [s.operation.operation_id for s in steps["checkoutCart"].replay] == ["addAddress", "addCartItem"]
    # The order list's links read its first order: it needs an operation that creates one.
    assert [s.operation.operation_id for s in steps["listOrders"].needs] == ["checkoutCart"]
    assert steps["listOrders"].replay == []
    # The payer approves one order on the gateway's page; the callback pays another, fresh one.
    assert [s.operation.operation_id for s in steps["listPaymentAttempts"].replay] == [
        "addAddress", "addCartItem", "checkoutCart", "listOrders",
    ]  # fmt: skip
    # The callback reports the attempt's own amount (satang) and currency: it pays the order.
    assert _body(shop, "paymentCallback") == {
        "external_id": "{{AttemptList.results.0.external_id}}",
        "status": "PAID",
        "total_amount": "{{AttemptList.results.0.amount}}",
        "currency": "{{AttemptList.results.0.currency}}",
    }


def test_path_parameters_of_the_path_item_are_chained_too() -> None:
    contracts = load()
    shop = build_collection(contracts["shop"], contracts)
    variables = {
        operation_id: _request(shop, operation_id)["request"]["url"]["variable"]
        for operation_id in ("getOrder", "getOrderToPay", "createPaymentAttempt", "gatewayDecision", "changeCartItem")
    }
    assert variables == {
        "getOrder": [{"key": "order_key", "value": "{{OrderPage.results.0.order_key}}"}],
        "getOrderToPay": [{"key": "order_key", "value": "{{OrderPage.results.0.order_key}}"}],
        "createPaymentAttempt": [{"key": "order_key", "value": "{{Order.order_key}}"}],
        "gatewayDecision": [{"key": "external_id", "value": "{{AttemptStarted.external_id}}"}],
        "changeCartItem": [{"key": "product_id", "value": "25281"}],
    }


def _with_markers(root: Path) -> None:
    """Write into the copy's shop contract what the collection otherwise reads from its words and examples."""
    spec = root / "shop" / "openapi.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    schemes = doc["components"]["securitySchemes"]
    schemes["tokenKey"]["x-villa"] = {"issuedBy": "obtainToken", "tokenPointer": "/token", "prefix": "Token "}
    schemes["tokenKey"]["description"] = "A key."
    schemes["gatewayKey"]["x-villa"] = {
        "environmentVariable": "VILLA_SHOP_GATEWAY_KEY",
        "mockValue": "shop.gateway_key",
    }
    paths = doc["paths"]
    paths["/api/shop/checkout/cart"]["post"]["x-villa"] = {"needs": ["addCartItem"]}
    paths["/api/shop/orders"]["get"]["x-villa"] = {"needs": ["checkoutCart"]}
    attempts = paths["/api/shop/orders/{order_key}/attempts"]["get"]["responses"]["200"]
    attempts["links"] = {"PayTheAttempt": {"operationId": "paymentCallback", "requestBody": {
        "external_id": "$response.body#/results/0/external_id", "status": "PAID",
        "total_amount": "$response.body#/results/0/amount", "currency": "$response.body#/results/0/currency",
    }}}  # fmt: skip
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")


def test_the_x_villa_markers_say_the_same_as_the_contracts_words(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    _with_markers(root)
    marked = Contracts.from_path(root)
    assert generate(marked) == generate(load())


def test_x_villa_needs_overrides_what_the_paths_imply(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    spec = root / "shop" / "openapi.yaml"
    doc = yaml.safe_load(spec.read_text(encoding="utf-8"))
    doc["paths"]["/api/shop/checkout/cart"]["post"]["x-villa"] = {"needs": []}
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    steps = {s.operation.operation_id: s for s in plan(Contracts.from_path(root)["shop"]).steps}
    assert steps["checkoutCart"].needs == [] and steps["checkoutCart"].replay == []
    doc["paths"]["/api/shop/checkout/cart"]["post"]["x-villa"] = {"needs": ["fillCart"]}
    spec.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContractError, match="x-villa.needs names no operation: fillCart"):
        plan(Contracts.from_path(root)["shop"])
