"""One HTTP exchange as the proxy judges it: a plain value, read from a live mitmproxy flow or a recording.

Nothing here knows mitmproxy (``suites.proxy.flows`` turns a flow into an ``Exchange``): the judge,
the checks and their tests work on plain values. Bodies are parsed the way the mock reads them
(JSON, or a form where the contract accepts one), never past ``MAX_PARSED`` bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, unquote

MAX_PARSED = 4 * 1024 * 1024
"""Bodies longer than this are not parsed (the mock refuses anything over 1 MiB anyway)."""

# Vendor JSON such as AWS's application/x-amz-json-1.1.
_JSONISH = re.compile(r"[\w.+-]+/[\w.+-]*json[\w.-]*")

BodyKind = Literal["empty", "json", "form", "text", "binary", "invalid", "too-large", "too-deep"]
Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Body:
    """A parsed body: what it held, and what kind of content it was.

    Attributes:
        kind: ``empty``, ``json``, ``form``, ``text``, ``binary``, ``invalid`` (said JSON, is not),
            ``too-large`` (not parsed) or ``too-deep`` (JSON nested deeper than the parser goes).
        value: the parsed JSON value, the form as a dict, or the text; None otherwise.
        media: the media type it was sent as (lower case, without parameters).
        error: why an ``invalid`` body could not be parsed, or why an unreadable one was not read.
    """

    kind: BodyKind
    value: Any = None
    media: str = ""
    error: str = ""

    @property
    def parsed(self) -> bool:
        """Whether the body holds a value the contract can judge."""
        return self.kind in ("json", "form", "text")

    @property
    def unreadable(self) -> bool:
        """Whether the proxy could not read it (too large, or nested too deeply): nothing about it is known."""
        return self.kind in ("too-large", "too-deep")


def media_type(content_type: str) -> str:
    """``application/json`` from ``Application/JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def is_json_media(media: str) -> bool:
    """Whether a media type is JSON (``application/json``, ``application/x-amz-json-1.1``, ``…+json``)."""
    return media == "application/json" or media.endswith("+json") or bool(_JSONISH.fullmatch(media))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_body(raw: bytes, content_type: str, *, form_ok: bool = True) -> Body:
    """Parse a body by its Content-Type.

    Args:
        raw: the body, content-encoding already undone.
        content_type: the Content-Type header ("" when absent).
        form_ok: whether to read ``application/x-www-form-urlencoded`` as a form.

    Returns:
        The parsed body. A body without a Content-Type is read as JSON when it parses as JSON.
    """
    media = media_type(content_type)
    if not raw:
        return Body("empty", None, media)
    if len(raw) > MAX_PARSED:
        return Body("too-large", None, media, f"it is {len(raw)} bytes, over the {MAX_PARSED} the proxy reads")
    if media == "application/x-www-form-urlencoded" and form_ok:
        try:
            return Body("form", dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), media)
        except UnicodeDecodeError:
            return Body("invalid", None, media, "form body is not UTF-8")
    if is_json_media(media) or not media:
        try:
            return Body("json", json.loads(raw, parse_constant=_reject_constant), media or "application/json")
        except RecursionError:  # valid JSON perhaps, but nested deeper than the parser goes
            return Body("too-deep", None, media or "application/json", "it nests deeper than the proxy reads JSON")
        except ValueError as exc:
            if media:
                return Body("invalid", None, media, f"body is not valid JSON: {exc}")
    try:
        return Body("text", raw.decode("utf-8"), media)
    except UnicodeDecodeError:
        return Body("binary", None, media)


@dataclass(frozen=True, slots=True)
class Exchange:
    """A request and the answer it got (``status`` None: no answer at all).

    Attributes:
        method: the HTTP method, upper case.
        path: the path below the upstream's base URL, without the query string.
        query: the query parameters, in order, repeated ones repeated.
        request_headers: the request's headers, names lower case.
        request_body: the request's body (content-encoding undone).
        status: the answer's status; None when the upstream gave none (connection error).
        response_headers: the answer's headers, names lower case.
        response_body: the answer's body (content-encoding undone).
        seconds: from the request's first byte to the answer's last.
        started: when the request started (epoch seconds).
        error: why there is no answer, when there is none.
        redacted: JSON pointers (``/request/body/card/number``, ``/response/headers/set-cookie``…)
            whose value was redacted before it was recorded: a check cannot judge them again.
        typed: those of ``redacted`` recorded in their original JSON type: their type is judged again.
        card_data: pointers of the answer where card data showed (``/maskedCardNo``,
            ``/headers/x-card``), as seen live; None: look at the answer itself.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    request_headers: Headers = ()
    request_body: bytes = b""
    status: int | None = None
    response_headers: Headers = ()
    response_body: bytes = b""
    seconds: float = 0.0
    started: float = 0.0
    error: str = ""
    redacted: frozenset[str] = field(default_factory=frozenset)
    typed: frozenset[str] = field(default_factory=frozenset)
    card_data: tuple[str, ...] | None = None

    def request_header(self, name: str) -> str:
        """A request header's value ("" when absent; repeated ones joined by ``, ``)."""
        return _header(self.request_headers, name)

    def response_header(self, name: str) -> str:
        """A response header's value ("" when absent; repeated ones joined by ``, ``)."""
        return _header(self.response_headers, name)

    def query_values(self) -> dict[str, list[str]]:
        """Each query parameter's values."""
        values: dict[str, list[str]] = {}
        for name, value in self.query:
            values.setdefault(name, []).append(value)
        return values

    @property
    def answered(self) -> bool:
        """Whether the upstream answered."""
        return self.status is not None

    @property
    def succeeded(self) -> bool:
        """Whether the answer is a 2xx."""
        return self.status is not None and 200 <= self.status < 300


def _header(headers: Sequence[tuple[str, str]], name: str) -> str:
    wanted = name.lower()
    return ", ".join(value for key, value in headers if key == wanted)


def headers_of(pairs: Sequence[tuple[str, str]] | Mapping[str, str]) -> Headers:
    """Headers as the ``Exchange`` keeps them: ``(lower-case name, value)`` pairs, in order."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple((str(name).lower(), str(value)) for name, value in items)


def path_parameters(template: str, path: str) -> dict[str, str]:
    """The path parameters of ``path`` by the operation's template (``/mock/3ds/{chargeId}``)."""
    names: list[str] = []

    def group(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "([^/]+)"

    pattern = re.sub(r"\\\{([^}]+)\\\}", group, re.escape(template))
    found = re.fullmatch(pattern, path)
    return {name: unquote(value) for name, value in zip(names, found.groups(), strict=True)} if found else {}
