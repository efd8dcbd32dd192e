"""JSON on the hot path: orjson where it gives the same bytes' meaning, the standard library where it cannot.

Rendering every answer with ``json.dumps`` took about a tenth of the mock's time under load; orjson
renders the same documents several times faster. It refuses what the standard library accepts in a
few corners (integers past 64 bits, non-string keys), so those fall back to ``json``: same
answer, slower path. (orjson writes NaN and infinities as ``null``; the mock's documents hold
none: money is integer satang rendered as exact floats.) Request bodies go to orjson too, but a body
orjson refuses or might read differently (a 30-digit integer would become a float) is read by
the standard library (``loads_strict``).

A request body nested deeper than ``MAX_DEPTH`` levels is refused before anything recurses into it
(``TooDeep``, naming where): the one place every route's JSON body passes.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse

from villa_contracts.contract._depth import MAX_DEPTH, too_deep_in_text


class TooDeep(ValueError):
    """A request body nests arrays and objects deeper than ``MAX_DEPTH`` levels.

    Attributes:
        pointer: the first value past the limit (``""`` when the text is too broken to say).
        detail: what is wrong there.
    """

    def __init__(self, pointer: str) -> None:
        """Say where the body went too deep."""
        self.pointer = pointer
        self.detail = f"nested deeper than {MAX_DEPTH} levels of arrays and objects"
        shown = pointer if len(pointer) <= 200 else pointer[:199] + "…"
        super().__init__(
            f"body nests arrays and objects deeper than {MAX_DEPTH} levels (at {shown or '/'}); "
            "no document of the contracts comes near that"
        )


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON (``json.dumps(..., separators=(",", ":"))`` equivalent).

    Raises:
        TypeError: ``content`` holds something JSON has no form for.
    """
    try:
        return orjson.dumps(content)
    except TypeError:
        return _stdlib_dumps(content)


def _stdlib_dumps(content: Any) -> bytes:
    # ASCII escapes: a lone surrogate (which a request's JSON may hold) has no UTF-8 form.
    return json.dumps(content, allow_nan=False, separators=(",", ":")).encode("ascii")


# A run of 19 digits may be an integer past 64 bits, which orjson would read as a float. Bytes are
# scanned by mapping every digit to "0" and everything else to " " (C speed; a regular expression
# took 20 µs an order, a fifth of a request).
_DIGITS = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_DIGITS_TEXT = {c: ("0" if "0" <= chr(c) <= "9" else " ") for c in range(128)}
_LONG = b"0" * 19


def has_long_digits(data: bytes | str) -> bool:
    """Whether ``data`` holds a run of 19 ASCII digits (where orjson and ``json`` may part ways)."""
    if isinstance(data, str):
        return "0" * 19 in data.translate(_DIGITS_TEXT)  # other characters stay as they are
    return _LONG in data.translate(_DIGITS)


_STDLIB_MARK = b" "


def dumps_record(content: Any) -> bytes:
    """``dumps(content)`` for a store ``loads_record`` reads: what orjson could not write is marked.

    orjson reads back exactly what orjson wrote (integers up to 64 bits included); only the
    standard library's output (integers past 64 bits) needs the standard library to read it, and
    it is marked by a leading space (still JSON).
    """
    try:
        return orjson.dumps(content)
    except TypeError:
        return _STDLIB_MARK + _stdlib_dumps(content)


def loads_record(data: bytes) -> Any:
    """Parse what ``dumps_record`` wrote, without scanning it (a record of the in-memory store)."""
    return json.loads(data) if data[:1] == _STDLIB_MARK else orjson.loads(data)


def loads(data: bytes | str) -> Any:
    """Parse JSON written by ``dumps`` (records of the mock's own stores), exactly as ``json.loads`` would.

    Raises:
        ValueError: ``data`` is not JSON.
    """
    value = _by_orjson(data)
    return json.loads(data) if value is _UNREAD else value


_UNREAD = object()


def _by_orjson(data: bytes | str) -> Any:
    """Orjson's reading of ``data``, or ``_UNREAD`` where the standard library must read it.

    That is where the two may part ways (long digit runs) and where orjson refuses what the
    standard library reads or explains (an escaped lone surrogate, UTF-16, deep nesting, bad JSON).
    """
    if has_long_digits(data):
        return _UNREAD
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return _UNREAD


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(raw: bytes) -> Any:
    """A request body, read as ``json.loads(raw)`` would but refusing ``NaN`` and infinities.

    orjson reads the common body; whatever it refuses or may read differently (long digit runs,
    UTF-16, lone surrogates) goes to the standard library, which has the last word
    and the error message that says where the body broke.

    Raises:
        TooDeep: ``raw`` nests deeper than ``MAX_DEPTH`` levels (checked first: the parsers and the
            validators recurse once a level).
        ValueError: ``raw`` is not JSON (``json.JSONDecodeError``), holds NaN or an infinity, or
            a lone surrogate.
    """
    where = too_deep_in_text(raw)
    if where is not None:
        raise TooDeep(where)
    value = _by_orjson(raw)
    if value is not _UNREAD:
        return value  # never holds a lone surrogate: orjson refuses them
    value = json.loads(raw, parse_constant=_reject_constant)
    _refuse_lone_surrogates(value, "")
    return value


def _lone_surrogate(text: str) -> str | None:
    if not text.isascii():
        for char in text:
            if "\ud800" <= char <= "\udfff":
                return f"\\u{ord(char):04x}"
    return None


def _refuse_lone_surrogates(value: Any, pointer: str) -> None:
    """Refuse text holding a lone surrogate: it is no Unicode character.

    Neither UTF-8 nor the validators can carry it (RFC 8259 §8.2 leaves its meaning open; I-JSON
    forbids it).
    """
    where: str | None = None
    if isinstance(value, str):
        where, found = f"the string at {pointer or '/'}", _lone_surrogate(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _lone_surrogate(key)
            if found is not None:
                where = f"a member name of the object at {pointer or '/'}"
                break
            _refuse_lone_surrogates(item, pointer + "/" + key.replace("~", "~0").replace("/", "~1"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_lone_surrogates(item, f"{pointer}/{index}")
    if where is not None and found is not None:
        raise ValueError(f"{where} holds a lone surrogate ({found}), which is no Unicode character; send UTF-8 text")


class JSONResponse(_StarletteJSONResponse):
    """Starlette's ``JSONResponse`` rendered by orjson (same media type and compact form)."""

    def render(self, content: Any) -> bytes:
        """Render ``content`` as compact JSON."""
        return dumps(content)
