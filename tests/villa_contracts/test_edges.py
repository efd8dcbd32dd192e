"""Edge examples: long text in every free-text field of every operation, whatever the seed."""

from __future__ import annotations

import copy

from suites.property.edges import UNBOUNDED_LENGTH, edge_examples, free_text_fields, long_text
from suites.property.livedata import LiveData, with_examples
from villa_contracts.contract import load
from villa_contracts.redact import holds_card_number

SCHEMA = {
    "type": "object",
    "properties": {
        "note": {"type": "string", "maxLength": 12},
        "comment": {"type": "string"},
        "status": {"type": "string", "enum": ["A", "B"]},
        "email": {"type": "string", "format": "email"},
        "code": {"type": "string", "pattern": "^[0-9]+$"},
        "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
        "billing": {"type": "object", "properties": {"name": {"type": "string"}}},
    },
}
LINE = {"type": "object", "properties": {"remark": {"type": ["string", "null"]}, "qty": {"type": "integer"}}}


def _resolve(ref: str) -> object:
    assert ref == "#/components/schemas/Line"
    return LINE


def test_free_text_is_a_string_the_schema_leaves_free() -> None:
    assert sorted(free_text_fields(SCHEMA, _resolve)) == [
        ("/billing/name", UNBOUNDED_LENGTH),
        ("/comment", UNBOUNDED_LENGTH),
        ("/lines/0/remark", UNBOUNDED_LENGTH),
        ("/note", 12),
    ]


def test_one_body_per_field_the_example_can_hold() -> None:
    example = {"note": "hi", "lines": [{"qty": 1}], "status": "A"}
    edges = {edge.pointer: edge.body for edge in edge_examples(SCHEMA, example, _resolve)}
    # billing is not in the example: its name would need an invented object, so it is left out.
    assert sorted(edges) == ["/comment", "/lines/0/remark", "/note"]
    assert len(edges["/note"]["note"]) == 12 and edges["/note"]["status"] == "A"
    assert len(edges["/lines/0/remark"]["lines"][0]["remark"]) == UNBOUNDED_LENGTH
    assert example == {"note": "hi", "lines": [{"qty": 1}], "status": "A"}  # the example itself is untouched


def test_long_text_has_no_digits_and_never_reads_as_a_card_number() -> None:
    text = long_text(5000)
    assert len(text) == 5000 and not any(c.isdigit() for c in text)
    assert any(ord(c) > 0x0E00 for c in text)  # Thai: more bytes than characters in UTF-8
    assert not holds_card_number(text)


def test_every_operation_with_free_text_gets_its_edges_live_examples_run_first() -> None:
    contracts = load()
    for name in ("villa", "shop", "lineitems"):
        contract = contracts[name]
        document = with_examples(copy.deepcopy(contract.openapi), contract, LiveData())
        for operation in contract.operations.values():
            media = (operation.spec.get("requestBody") or {}).get("content", {}).get("application/json")
            if not media:
                continue
            served = document["paths"][operation.path][operation.method.lower()]["requestBody"]["content"]
            names = list(served["application/json"].get("examples") or {})
            edges = [n for n in names if n.startswith("edge ")]
            assert names[: len(edges)] == edges and names[len(edges) :], names  # edges listed first: run last
    villa = with_examples(copy.deepcopy(contracts["villa"].openapi), contracts["villa"], LiveData())
    update = villa["paths"]["/api/order/update"]["post"]["requestBody"]["content"]["application/json"]["examples"]
    assert f"edge /specialComment ({UNBOUNDED_LENGTH} characters)" in update
