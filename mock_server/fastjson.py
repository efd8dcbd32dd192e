"""JSON on the hot path: orjson where it gives the same bytes' meaning, the standard library where it cannot.

Rendering every answer with ``json.dumps`` took about a tenth of the mock's time under load; orjson
renders the same documents several times faster. It refuses what the standard library accepts in a
few corners (integers past 64 bits, non-string keys), so those fall back to ``json``: same
answer, slower path. (orjson writes NaN and infinities as ``null``; the mock's documents hold
none: money is integer satang rendered as exact floats.) Request bodies are still parsed by the standard library
(``mock_server.dispatch.read_body``): orjson would turn a 30-digit integer into a float.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.responses import JSONResponse as _StarletteJSONResponse


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON (``json.dumps(..., separators=(",", ":"))`` equivalent).

    Raises:
        TypeError: ``content`` holds something JSON has no form for.
    """
    try:
        return orjson.dumps(content)
    except TypeError:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


# A run of 19 digits may be an integer past 64 bits, which orjson would read as a float.
_LONG_DIGITS = re.compile(rb"[0-9]{19}")
_LONG_DIGITS_TEXT = re.compile(r"[0-9]{19}")


def loads(data: bytes | str) -> Any:
    """Parse JSON written by ``dumps`` (records of the mock's own stores), exactly as ``json.loads`` would.

    Raises:
        ValueError: ``data`` is not JSON.
    """
    long_digits = _LONG_DIGITS_TEXT if isinstance(data, str) else _LONG_DIGITS
    if long_digits.search(data):  # type: ignore[arg-type]
        return json.loads(data)
    return orjson.loads(data)


class JSONResponse(_StarletteJSONResponse):
    """Starlette's ``JSONResponse`` rendered by orjson (same media type and compact form)."""

    def render(self, content: Any) -> bytes:
        """Render ``content`` as compact JSON."""
        return dumps(content)
