"""Every input reaches its edges in every run: long free text on every operation that takes it.

Generated strings are short: a backend that breaks on a long comment is found only when the seed
happens to draw one. So the examples phase (which runs whatever the seed) gets, per operation with
a JSON body, one request per free-text field of the body: the operation's live example with that
field set to long text (at the field's ``maxLength`` when it declares one; ``UNBOUNDED_LENGTH``
characters otherwise, longer than any client sends casually). A free-text field is a string that
the schema leaves free: no ``enum``, ``const``, ``format`` or ``pattern``.

The text mixes ASCII and Thai (three bytes a character in UTF-8: a limit counted in bytes shows),
and holds no digit, so it never reads as a card number, a phone or an id.

Example:
    >>> schema = {"type": "object", "properties": {"note": {"type": "string", "maxLength": 12}}}
    >>> [(e.pointer, len(e.body["note"])) for e in edge_examples(schema, {"note": "hi"}, lambda r: {})]
    [('/note', 12)]
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

UNBOUNDED_LENGTH = 1024
"""Characters of text put in a field that declares no ``maxLength`` (a long comment; the coverage phase copies
an array's example item up to its ``maxItems``, so more would make bodies of megabytes)."""

_TEXT = "Villa edge test ทดสอบข้อความยาว "
_CONSTRAINED = ("enum", "const", "format", "pattern")
_MAX_DEPTH = 12

Resolve = Callable[[str], Any]
"""Finds the schema a local ``$ref`` (``#/components/schemas/…``) points to."""


def long_text(length: int) -> str:
    """``length`` characters of mixed ASCII and Thai text, without digits."""
    return (_TEXT * (length // len(_TEXT) + 1))[:length]


@dataclass(frozen=True, slots=True)
class Edge:
    """One request body at an edge: ``body`` with long text at ``pointer``."""

    pointer: str
    length: int
    body: Any


def free_text_fields(schema: Any, resolve: Resolve, pointer: str = "", depth: int = 0) -> Iterator[tuple[str, int]]:
    """``(JSON pointer, length to send)`` of every free-text string in ``schema`` (array items as index 0)."""
    if depth > _MAX_DEPTH or not isinstance(schema, dict):
        return
    if isinstance(schema.get("$ref"), str):
        yield from free_text_fields(resolve(schema["$ref"]), resolve, pointer, depth + 1)
        return
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key) or []:
            yield from free_text_fields(part, resolve, pointer, depth + 1)
    kind = schema.get("type")
    if pointer and (kind == "string" or (isinstance(kind, list) and "string" in kind)):
        if not any(key in schema for key in _CONSTRAINED):
            bound = schema.get("maxLength")
            yield pointer, int(bound) if isinstance(bound, int) and bound > 0 else UNBOUNDED_LENGTH
    for name, sub in (schema.get("properties") or {}).items():
        yield from free_text_fields(sub, resolve, f"{pointer}/{_escape(name)}", depth + 1)
    if isinstance(schema.get("items"), dict):
        yield from free_text_fields(schema["items"], resolve, f"{pointer}/0", depth + 1)


def edge_examples(schema: Any, example: Any, resolve: Resolve) -> list[Edge]:
    """One body per free-text field of ``schema`` whose parent ``example`` has: the example with long text there.

    A field whose parent object (or array item) the example lacks is left out: the body would have to
    invent the rest of that object, and a refusal of the invented part would hide the long text.
    """
    edges: list[Edge] = []
    seen: set[str] = set()
    for pointer, length in free_text_fields(schema, resolve):
        if pointer in seen:
            continue
        seen.add(pointer)
        body = copy.deepcopy(example)
        if _put(body, pointer, long_text(length)):
            edges.append(Edge(pointer, length, body))
    return edges


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _put(document: Any, pointer: str, value: str) -> bool:
    """Set ``pointer`` in ``document`` when its parent exists (lists: index 0 must exist)."""
    parts = [part.replace("~1", "/").replace("~0", "~") for part in pointer.split("/")[1:]]
    node = document
    for part in parts[:-1]:
        if isinstance(node, dict) and isinstance(node.get(part), (dict, list)):
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return False
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
        return True
    if isinstance(node, list) and last.isdigit() and int(last) < len(node) and isinstance(node[int(last)], str):
        node[int(last)] = value
        return True
    return False
