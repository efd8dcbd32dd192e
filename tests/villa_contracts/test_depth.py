"""How deeply JSON nests (``villa_contracts.contract._depth``): the text and the value agree; validators never crash."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from villa_contracts.contract import ContractValidator, load
from villa_contracts.contract._depth import EXACT_BRACKETS, too_deep_in_text, too_deep_in_value
from villa_contracts.contract._validate import compile_schema

# Strings full of what a scanner of the text could take for structure.
TRICKY = st.text(alphabet='[]{}"\\/:,é\u0e01 a', max_size=6)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=25,
)


def _nested(depth: int, leaf: Any = 0) -> Any:
    for _ in range(depth):
        leaf = [leaf]
    return leaf


@given(VALUES, st.integers(min_value=0, max_value=6), st.sampled_from(["ascii", "utf-8", "utf-16", "pretty"]))
@example({"a": "[[[", "b": [[1]]}, 1, "ascii")
@example(['\\"[', [[{}]]], 2, "utf-8")
@example({"k": 1, "k2": {"x": [[]]}}, 2, "pretty")
def test_the_text_and_the_value_agree_on_where_it_goes_too_deep(value: Any, limit: int, form: str) -> None:
    text = {
        "ascii": lambda: json.dumps(value).encode(),
        "utf-8": lambda: json.dumps(value, ensure_ascii=False).encode(),
        "utf-16": lambda: json.dumps(value, ensure_ascii=False).encode("utf-16"),
        "pretty": lambda: json.dumps(value, indent=2).encode(),
    }[form]()
    assert too_deep_in_text(text, limit) == too_deep_in_value(value, limit)


def test_the_pointer_names_the_first_value_past_the_limit() -> None:
    assert too_deep_in_value(_nested(3, 1), 2) == "/0/0"
    assert too_deep_in_text(b"[[[1]]]", 2) == "/0/0"
    assert too_deep_in_text(b'{"a/b": {"~": [[[]]]}}', 3) == "/a~1b/~0/0"
    assert too_deep_in_text(b'{"a": 1, "a": [[[1]]]}', 2) == "/a/0"  # a repeated key: the one that goes on
    assert too_deep_in_text(b"[[[1]]]", 3) is None and too_deep_in_text(b"[]", 0) == ""


def test_broken_text_is_judged_by_its_depth_only() -> None:
    assert too_deep_in_text(b"[" * 100, 64) == "/0" * 64  # never closed: still too deep
    assert too_deep_in_text(b"[1, 2" + b"]" * 100, 64) is None
    assert too_deep_in_text(b'["' + b"[" * 100, 64) == ""  # an unfinished string counts as structure: refused
    assert too_deep_in_text(b"[{[{" * 30 + b"}", 64) == ""  # too deep, and no document to say where


def test_a_huge_text_is_judged_without_naming_the_place() -> None:
    wide = b"[" + b"[[1]]," * (EXACT_BRACKETS // 4) + b"1]"
    assert too_deep_in_text(wide, 64) is None
    assert too_deep_in_text(wide[:-2] + b"[" * 70 + b"]" * 70 + b"]", 64) == ""


@pytest.mark.parametrize("engine", ["rust", "python"])
@pytest.mark.parametrize("depth", [300, 990])
def test_a_validator_reports_a_document_too_deep_to_follow_instead_of_crashing(engine: Any, depth: int) -> None:
    # jsonschema-rs raised "Recursion limit reached" past ~255 levels: a 500 of the mock, a crash of
    # `villa-contracts validate` and of the proxy.
    validator = ContractValidator(load()["villa"], engine=engine)
    order = {"orderId": "100020250001", "productList": [{"cprcode": 25281, "quantity": _nested(depth)}]}
    found = validator.document("Order", order)
    assert found, "a document this deep is never valid"
    if engine == "rust":
        assert [(v.pointer, v.keyword) for v in found] == [("/productList/0/quantity" + "/0" * 61, "maxDepth")]
        assert "nested deeper than 64 levels" in found[0].message


def test_the_python_engine_reports_a_recursion_it_cannot_follow() -> None:
    recursive = compile_schema({"type": "array", "items": {"$ref": "#"}}, "python")
    (violation,) = recursive.violations(_nested(5000, []))
    assert (violation.pointer, violation.keyword) == ("/0" * 64, "maxDepth")
