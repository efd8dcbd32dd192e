"""How deeply a JSON document nests, found without recursion: in its text (before parsing) or in its value.

Parsers and validators recurse once per level: the schema validator gives up near 255 levels, the
standard library's parser near 1,000, and each failed in its own way (a 500 of the mock, a crash
of ``villa-contracts validate``). No contract document nests more than a few levels, so the mock
refuses a body nested deeper than ``MAX_DEPTH`` before anything recurses into it, and the
validators report a document they cannot follow as one violation at the pointer where it goes too
deep.

The text is measured at C speed: a body with no more than ``MAX_DEPTH`` brackets (nearly every
body) is passed at a glance; otherwise its strings are blanked by one regular expression and the
depth is a running sum over the remaining bytes. Only a body found too deep is read further, to
name the place.
"""

from __future__ import annotations

import itertools
import json
import operator
import re
from typing import Any

MAX_DEPTH = 64
"""The deepest nesting of arrays and objects a document may have (``[[1]]`` is 2 levels)."""

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
# A byte's step in the running sum: 2 for an opening bracket, 0 for a closing one, 1 for the rest;
# the sum over the first k bytes minus k is the depth after them.
_STEPS = bytes(2 if b in b"[{" else 0 if b in b"]}" else 1 for b in range(256))
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_CLOSING = {ord("["): b"]", ord("{"): b"}"}
_CHUNK = 4096
_BRACKET_RUN = rb"(?:[^\[\]{}]*[\[\]{}])"

EXACT_BRACKETS = 65_536
"""Up to this many brackets the place a text goes too deep is found (a few milliseconds at most);
beyond, only whether it does (the pointer is ``""``), so that a body made to be slow is not."""


def pointer_of(parts: list[str | int]) -> str:
    """A JSON pointer from its reference tokens."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def too_deep_in_text(raw: bytes, limit: int = MAX_DEPTH) -> str | None:
    """Where the JSON text ``raw`` first nests deeper than ``limit`` levels (a JSON pointer), or None.

    The pointer names the first value past the limit (``[[[1]]]`` with a limit of 2: ``/0/0``); it
    is ``""`` when the text is too deep but too broken, or too big (over ``EXACT_BRACKETS``
    brackets), to say where at little cost. Text that is no JSON is not judged beyond its depth:
    the parser says what else is wrong.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return None  # nearly every body: it cannot nest deeper than it has brackets
    text = _utf8(raw)
    brackets = _brackets(text)
    if len(brackets) > EXACT_BRACKETS or text.count(b'"') > 2 * EXACT_BRACKETS:
        return "" if _deeper_by_pairs(brackets, limit) else None
    at = _first_past(brackets.translate(_STEPS), limit)
    if at is None:
        return None
    try:
        return _pointer_at(text, at)
    except (ValueError, RecursionError, IndexError, TypeError, AttributeError):
        return ""  # too deep, and too broken to say where


def too_deep_in_value(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """Where the parsed JSON ``value`` first nests deeper than ``limit`` levels (a JSON pointer), or None."""
    stack: list[tuple[Any, int, list[str | int]]] = [(value, 1, [])]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            items: list[tuple[str | int, Any]] = list(node.items())
        elif isinstance(node, list):
            items = list(enumerate(node))
        else:
            continue
        if depth > limit:
            return pointer_of(path)
        stack.extend((child, depth + 1, [*path, key]) for key, child in reversed(items))
    return None


def _utf8(raw: bytes) -> bytes:
    try:
        encoding = json.detect_encoding(raw)
    except (UnicodeDecodeError, LookupError):
        return raw
    if encoding == "utf-8":
        return raw
    return raw.decode(encoding, errors="replace").encode("utf-8", errors="replace")


def _brackets(text: bytes) -> bytes:
    """The brackets of ``text`` outside its strings, in order."""
    if b'\\"' not in text:  # no escaped quote: every quote opens or closes a string
        # Only quotes and brackets are kept first, so that the parts are mostly empty or one
        # byte long (objects CPython shares): a body of many strings costs no allocation each.
        parts = text.translate(None, _NOT_STRUCTURE).split(b'"')
        if len(parts) % 2 == 1:
            return b"".join(parts[0::2])
    return _STRING.sub(b"", text).translate(None, _NOT_BRACKETS)


def _blank_strings(text: bytes) -> tuple[bytes, list[bytes]]:
    """``text`` with every string emptied (``"a[b"`` → ``""``), and the strings' contents in order."""
    if b'\\"' not in text:
        parts = text.split(b'"')
        if len(parts) % 2 == 1:
            return b'""'.join(parts[0::2]), parts[1::2]
    return _STRING.sub(b'""', text), [found[1:-1] for found in _STRING.findall(text)]


def _deeper_by_pairs(brackets: bytes, limit: int) -> bool:
    """Whether ``brackets`` nest deeper than ``limit``, by dropping the innermost pairs ``limit`` times (C speed).

    What is left holds a container of more than ``limit`` levels, or brackets that never close
    (text that is no JSON: refused either way).
    """
    for _ in range(limit):
        reduced = brackets.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == brackets:
            break
        brackets = reduced
    return bool(brackets.translate(None, b"]}"))


def _first_past(steps: bytes, limit: int) -> int | None:
    """The index of the first opening bracket that goes past ``limit`` levels, or None."""
    total = 0
    for start in range(0, len(steps), _CHUNK):
        chunk = steps[start : start + _CHUNK]
        depths = map(operator.sub, itertools.accumulate(chunk, initial=total), itertools.count(start))
        if max(depths) > limit:
            depth = total - start
            for index, step in enumerate(chunk, start):
                depth += step - 1
                if depth > limit:
                    return index
        total += sum(chunk)
    return None


def _pointer_at(text: bytes, bracket: int) -> str:
    """The pointer of the value opening with the ``bracket``-th bracket outside strings, read from the text before it.

    The text before that bracket, closed with a placeholder and the brackets still open, is a
    document no deeper than the limit; the value sits last in each of its containers.
    """
    flat, strings = _blank_strings(text)
    found = re.match(_BRACKET_RUN + b"{%d}" % (bracket + 1), flat)
    assert found is not None
    at = found.end() - 1
    before = flat.count(b'"', 0, at) // 2
    offset = at + sum(map(len, strings[:before]))
    opened = flat[:at].translate(None, _NOT_BRACKETS)
    while True:  # drop the closed pairs, innermost first: what stays is still open
        reduced = opened.replace(b"[]", b"").replace(b"{}", b"")
        if reduced == opened:
            break
        opened = reduced
    closing = b"".join(_CLOSING[b] for b in reversed(opened))
    node = json.loads(text[:offset] + b"0" + closing, object_pairs_hook=_Members)
    path: list[str | int] = []
    while isinstance(node, list) and node:
        if isinstance(node, _Members):
            key, node = node[-1]
            path.append(key)
        else:
            path.append(len(node) - 1)
            node = node[-1]
    return pointer_of(path)


class _Members(list[tuple[str, Any]]):
    """An object's members in order (duplicate keys kept: the last one is where the text went on)."""
