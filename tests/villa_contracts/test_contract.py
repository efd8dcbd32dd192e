"""The contract loads, bundles, and judges the real reference fixtures as the real schema does."""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from mock_server.handlers import handlers_of
from tests.fixtures.reference import REFERENCE
from villa_contracts.contract import ContractValidator, load

FIXTURES = ["goodSample", "extraCol", "wrongType"]


def reference_fixture(name: str) -> object:
    return json.loads((REFERENCE / "order" / "testData" / f"{name}.json").read_text())


def real_verdict(document: object) -> list[tuple[str, str]]:
    schema = yaml.safe_load((REFERENCE / "order" / "order.yaml").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(
        ("".join(f"/{p}" for p in e.absolute_path), str(e.validator)) for e in validator.iter_errors(document)
    )


@pytest.fixture(scope="module")
def reference_available() -> None:
    if not REFERENCE.is_dir():
        pytest.fail(f"reference fixtures not found at {REFERENCE}: see tests/fixtures/villaMasterSchema/NOTICE.md")


@pytest.mark.usefixtures("reference_available")
@pytest.mark.parametrize("engine", ["rust", "python"])
@pytest.mark.parametrize("name", FIXTURES)
def test_order_schema_gives_the_real_schemas_verdicts(engine: str, name: str) -> None:
    document = reference_fixture(name)
    ours = sorted(
        (v.pointer, v.keyword) for v in ContractValidator(load()["villa"], engine).document("Order", document)
    )  # type: ignore[arg-type]
    assert ours == real_verdict(document)


@pytest.mark.usefixtures("reference_available")
def test_wrong_type_has_exactly_the_four_known_violations() -> None:
    violations = ContractValidator(load()["villa"]).document("Order", reference_fixture("wrongType"))
    assert [(v.pointer, v.keyword) for v in violations] == [
        ("/orderId", "type"),
        ("/shipping", "required"),
        ("/shipping", "required"),
        ("/shipping", "required"),
    ]
    messages = " ".join(v.message for v in violations)
    for missing in ("scheduleList", "shippingPostcode", "shippingPhone"):
        assert missing in messages


def test_every_operation_has_a_handler_and_every_handler_an_operation() -> None:
    for contract in load():
        assert set(contract.operations) == set(handlers_of()[contract.name]), contract.name


def test_every_operation_documents_examples_and_errors() -> None:
    contract = load()["villa"]
    for op_id, op in contract.operations.items():
        assert op.spec.get("summary"), op_id
        statuses = set(op.responses)
        assert any(s.startswith("2") for s in statuses), op_id
        if op.method == "POST":
            assert {"400", "413", "415"} <= statuses, op_id
            body = op.spec["requestBody"]["content"]["application/json"]
            assert "example" in body or "examples" in body, f"{op_id} request has no example"
        if op.secured:
            assert "401" in statuses, op_id


def test_request_and_response_examples_are_valid_under_their_own_schemas() -> None:
    contract = load()["villa"]
    validator = ContractValidator(contract)
    examples = contract.openapi["components"]["examples"]
    checked = 0
    for op_id, op in contract.operations.items():
        ov = validator.operation(op_id)
        body = (op.spec.get("requestBody") or {}).get("content", {}).get("application/json", {})
        if "example" in body:
            assert ov.request(body["example"]) == [], op_id
            checked += 1
        for status, response in op.responses.items():
            if "$ref" in response:
                name = response["$ref"].rsplit("/", 1)[-1]
                response = contract.openapi["components"]["responses"][name]
            media = response.get("content", {}).get("application/json", {})
            values = [media["example"]] if "example" in media else []
            values += [examples[e["$ref"].rsplit("/", 1)[-1]]["value"] for e in media.get("examples", {}).values()]
            for value in values:
                assert ov.response(int(status), value) == [], (op_id, status)
                checked += 1
    assert checked > 30


def test_bundle_has_no_external_refs() -> None:
    text = json.dumps(load()["villa"].openapi)
    assert '"$ref": "schemas/' not in text
    assert ".yaml" not in text.replace("order.yaml", "")
