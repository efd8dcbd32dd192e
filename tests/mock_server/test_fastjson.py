"""The hot path's JSON (``mock_server.fastjson``) reads and writes exactly what the standard library does."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mock_server.fastjson import TooDeep, dumps, dumps_record, has_long_digits, loads, loads_record, loads_strict

# JSON values, with the corners where orjson and the standard library part ways: integers past 64
# bits, lone surrogates, non-ASCII text, deep-ish nesting.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "1234567890123456789", "١٢٣"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


def _reject(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= char <= "\udfff" for char in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(item) for item in value)
    return False


def _stdlib(raw: bytes) -> tuple[str, Any]:
    """The standard library's reading, with the one refusal of ``loads_strict``: lone surrogates."""
    try:
        value = json.loads(raw, parse_constant=_reject)
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)
    return ("error", ValueError) if _has_lone_surrogate(value) else ("ok", value)


def _ours(raw: bytes) -> tuple[str, Any]:
    try:
        return "ok", loads_strict(raw)
    except (ValueError, RecursionError) as exc:
        return "error", type(exc)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (1 is not 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@given(VALUES)
@example(10**30)
@example([-(2**64), 2**64 - 1, 2**63])
@example({"a": 1, "b": [1.5, "\ud800"]})
@example({"\udc00": 1})
def test_a_request_body_reads_as_the_standard_library_reads_it(value: Any) -> None:
    raw = json.dumps(value).encode("utf-8", "surrogatepass")
    expected, ours = _stdlib(raw), _ours(raw)
    assert expected[0] == ours[0]
    assert _same(expected[1], ours[1])


@given(st.binary(max_size=60))
@example(b"NaN")
@example(b"[-Infinity]")
@example(b"[1e400]")
@example(b"\xef\xbb\xbf{}")
@example('{"x": 1}'.encode("utf-16"))
@example(b"[" * 3000 + b"]" * 3000)
@example(b'{"a":1,"a":2}')
@example(b"123456789012345678901234567890")
def test_any_bytes_read_or_fail_as_with_the_standard_library(raw: bytes) -> None:
    expected, ours = _stdlib(raw), _ours(raw)
    assert expected[0] == ours[0], raw
    if expected[0] == "ok":
        assert _same(expected[1], ours[1])


@given(VALUES)
@example({"total": 10**25, "items": [2**64, -(2**63) - 1]})
def test_a_stored_record_reads_back_as_it_was_written(value: Any) -> None:
    assert _same(loads_record(dumps_record(value)), value)
    assert _same(loads(dumps(value)), value)


def test_only_what_orjson_cannot_write_is_marked() -> None:
    assert dumps_record({"n": 2**63}) == b'{"n":9223372036854775808}'
    assert dumps_record({"n": 10**20}) == b' {"n":100000000000000000000}'
    assert json.loads(dumps_record({"n": 10**20})) == {"n": 10**20}  # the mark is JSON whitespace


@given(st.text(alphabet="0123456789a ١", max_size=60))
def test_a_long_digit_run_is_found_as_a_regular_expression_finds_it(text: str) -> None:
    expected = re.search(r"[0-9]{19}", text) is not None
    assert has_long_digits(text) is expected
    assert has_long_digits(text.encode()) is expected


@pytest.mark.parametrize("raw", [b"NaN", b"Infinity", b"[-Infinity]"])
def test_nan_and_infinities_are_refused_with_a_message(raw: bytes) -> None:
    with pytest.raises(ValueError, match="is not a JSON number"):
        loads_strict(raw)


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'"\\ud800"', "the string at /"),
        (b'{"a/b": [1, "x\\udfff"]}', "the string at /a~1b/1"),
        (b'{"\\ud800": 1}', "a member name of the object at /"),
    ],
)
def test_a_lone_surrogate_is_refused_saying_where(raw: bytes, where: str) -> None:
    with pytest.raises(ValueError, match="lone surrogate") as refused:
        loads_strict(raw)
    assert str(refused.value).startswith(where)
    assert loads_strict(b'"\\ud83d\\ude00"') == "\U0001f600"  # a pair is one character


@pytest.mark.parametrize(
    ("raw", "pointer"),
    [
        (b"[" * 65 + b"]" * 65, "/0" * 64),
        (b'{"a": [1, ' + b"[" * 64 + b"]" * 64 + b"]}", "/a/1" + "/0" * 62),
        (b"[" * 5000 + b"]" * 5000, "/0" * 64),  # past the parsers' own recursion
        ('{"ก": '.encode("utf-16") + "[".encode("utf-16-le") * 70, "/ก" + "/0" * 63),
    ],
)
def test_a_body_nested_deeper_than_the_limit_is_refused_saying_where(raw: bytes, pointer: str) -> None:
    with pytest.raises(TooDeep, match="deeper than 64 levels") as refused:
        loads_strict(raw)
    assert refused.value.pointer == pointer


def test_a_body_at_the_limit_is_read() -> None:
    raw = b'{"a": ' + b"[" * 63 + b"]" * 63 + b', "b": "' + b"[" * 100 + b'"}'
    assert loads_strict(raw) == json.loads(raw)
