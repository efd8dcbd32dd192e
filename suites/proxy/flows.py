"""mitmproxy flows ↔ the proxy's plain values: read an ``Exchange`` from a flow, and redact a flow's copy.

``exchange_of`` is how both the live proxy and ``proxy check`` see a flow (a recorded flow carries
what its redaction took out in ``flow.metadata``); ``seen_exchange`` also gives the flows outside the
upstream's base path, which are reported too. ``redacted`` is what is written to a recording:
a copy of the flow with every token, password, secret, card number and CVV taken out of its URL,
headers and bodies (``suites.proxy.redaction``), and the pointers of what was taken out.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlparse

from suites.proxy.decoding import bounded
from suites.proxy.exchange import MAX_PARSED, Exchange, headers_of, parse_body
from suites.proxy.redaction import (
    escape,
    json_type,
    recorded_value,
    scrub_headers,
    scrub_json,
    scrub_path,
    scrub_text,
    shows_card,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mitmproxy import http  # not imported to read a recording: `proxy check` does without mitmproxy's flows

REDACTED_KEY = "villa.redacted"
"""``flow.metadata`` key: the JSON pointers whose values the recording does not hold."""
TYPED_KEY = "villa.redacted_typed"
"""``flow.metadata`` key: the redacted pointers whose recorded value kept the original's JSON type."""
CARD_DATA_KEY = "villa.card_data"
"""``flow.metadata`` key: where the live answer showed card data (the recording holds it masked)."""
REFUSED_KEY = "villa.refused"
"""``flow.metadata`` key: why a fence answered the request itself (it was never forwarded)."""


def _content(message: http.Message | None) -> bytes:
    """The body with its content-encoding undone, never more than ``MAX_PARSED + 1`` bytes of it.

    mitmproxy would inflate a body whole (a 400 KB gzip answer to 400 MiB) and keep it cached: the proxy
    decodes itself, within the bound (``decoding.bounded``); a body streamed past the proxy (over
    ``stream_large_bodies``) was never held, and is as good as too large.
    """
    if message is None:
        return b""
    raw = message.raw_content
    if raw is None:  # streamed through, never held
        return bytes(MAX_PARSED + 1)
    return bounded(raw, message.headers.get("content-encoding", ""), MAX_PARSED)


def _query(request: http.Request) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in request.query.items(multi=True))


def _pairs(headers: http.Headers) -> list[tuple[str, str]]:
    items = headers.items(multi=True)  # type: ignore[no-untyped-call]  # mitmproxy's Headers.items is untyped
    return [(str(name), str(value)) for name, value in items]


FlowState = dict[str, Any]
"""A flow as ``flows.mitm`` holds it (``HTTPFlow.get_state()``): what ``proxy check`` reads without building flows."""


@dataclass(frozen=True, slots=True)
class _Parts:
    """What an ``Exchange`` is made of, read from a flow or from a recorded flow's state."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    request_headers: list[tuple[str, str]]
    request_body: bytes
    status: int | None
    response_headers: list[tuple[str, str]]
    response_body: bytes
    started: float
    ended: float | None
    error: str
    metadata: Mapping[str, Any]


def _parts_of_flow(flow: http.HTTPFlow) -> _Parts:
    request, response = flow.request, flow.response
    return _Parts(
        method=request.method,
        path=request.path,
        query=_query(request),
        request_headers=_pairs(request.headers),
        request_body=_content(request),
        status=response.status_code if response is not None else None,
        response_headers=_pairs(response.headers) if response is not None else [],
        response_body=_content(response),
        started=request.timestamp_start,
        ended=response.timestamp_end if response is not None else None,
        error=flow.error.msg if flow.error is not None else "",
        metadata=flow.metadata,
    )


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value


def _state_body(message: FlowState | None) -> bytes:
    if message is None:
        return b""
    raw = message.get("content")
    if raw is None:  # streamed through, never held
        return bytes(MAX_PARSED + 1)
    encoding = next((_text(v) for k, v in message["headers"] if _text(k).lower() == "content-encoding"), "")
    return bounded(raw, encoding, MAX_PARSED)


def _parts_of_state(state: FlowState) -> _Parts:
    """The parts of a recorded flow's state, read as mitmproxy's ``HTTPFlow`` would read them."""
    request, response, error = state["request"], state.get("response"), state.get("error")
    path = _text(request["path"])
    return _Parts(
        method=_text(request["method"]),
        path=path,
        query=tuple(parse_qsl(urlparse(path).query, keep_blank_values=True, errors="surrogateescape")),
        request_headers=[(_text(k), _text(v)) for k, v in request["headers"]],
        request_body=_state_body(request),
        status=int(response["status_code"]) if response is not None else None,
        response_headers=[(_text(k), _text(v)) for k, v in response["headers"]] if response is not None else [],
        response_body=_state_body(response),
        started=request.get("timestamp_start") or 0.0,
        ended=response.get("timestamp_end") if response is not None else None,
        error=str(error.get("msg", "")) if error else "",
        metadata=state.get("metadata") or {},
    )


def exchange_of(flow: http.HTTPFlow | FlowState, base_path: str = "") -> Exchange | None:
    """The exchange of ``flow`` (or of a recorded flow's state) below ``base_path`` (None: not under it)."""
    parts = _parts_of_state(flow) if isinstance(flow, dict) else _parts_of_flow(flow)
    path = parts.path.split("?", 1)[0] or "/"
    if base_path:
        if path != base_path and not path.startswith(base_path + "/"):
            return None
        path = path[len(base_path) :] or "/"
    ended = parts.ended or parts.started
    card_data = parts.metadata.get(CARD_DATA_KEY)
    return Exchange(
        method=parts.method.upper(),
        path=path,
        query=parts.query,
        request_headers=headers_of(parts.request_headers),
        request_body=parts.request_body,
        status=parts.status,
        response_headers=headers_of(parts.response_headers),
        response_body=parts.response_body,
        seconds=max((ended or 0.0) - (parts.started or 0.0), 0.0),
        started=parts.started or 0.0,
        error=parts.error,
        redacted=frozenset(parts.metadata.get(REDACTED_KEY) or ()),
        typed=frozenset(parts.metadata.get(TYPED_KEY) or ()),
        card_data=tuple(card_data) if card_data is not None else None,
    )


def metadata_of(flow: http.HTTPFlow | FlowState) -> Mapping[str, Any]:
    """A flow's metadata (or a recorded flow state's)."""
    return (flow.get("metadata") or {}) if isinstance(flow, dict) else flow.metadata


def seen_exchange(flow: http.HTTPFlow | FlowState, base_path: str = "") -> tuple[Exchange, bool]:
    """The exchange of ``flow``, and whether it lies outside ``base_path`` (then its path is the whole path).

    Raises:
        Exception: the flow cannot be read (a recorded state that is not a flow's): ``bare_exchange`` then.
    """
    exchange = exchange_of(flow, base_path)
    if exchange is not None:
        return exchange, False
    whole = exchange_of(flow)
    assert whole is not None  # no base path: every flow is under it
    return whole, True


def bare_exchange(flow: http.HTTPFlow | FlowState) -> Exchange:
    """What is surely known of a flow or a recorded state (method, path, status, error): for one not read whole."""
    if isinstance(flow, dict):
        request, response = flow.get("request"), flow.get("response")
        request = request if isinstance(request, dict) else {}
        status = response.get("status_code") if isinstance(response, dict) else None
        method, path = request.get("method"), request.get("path")
        return Exchange(
            method=_text(method).upper() if isinstance(method, (bytes, str)) else "?",
            path=(_text(path).split("?", 1)[0] or "/") if isinstance(path, (bytes, str)) else "/",
            status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        )
    response = flow.response
    return Exchange(
        method=str(flow.request.method).upper(),
        path=str(flow.request.path).split("?", 1)[0] or "/",
        status=response.status_code if response is not None else None,
        error=flow.error.msg if flow.error is not None else "",
    )


def _set_headers(message: http.Message, pairs: Sequence[tuple[str, str]]) -> None:
    from mitmproxy import http

    message.headers = http.Headers([(name.encode(), value.encode("utf-8", "surrogateescape")) for name, value in pairs])


def _scrub_body(message: http.Message, prefix: str, typed: list[str]) -> tuple[list[str], list[str]]:
    """Redact a message's body in place; return the pointers taken out, and those that held card data.

    ``typed`` gets the pointers taken out whose recorded value has the original's JSON type.
    """
    raw = _content(message)
    if not raw:
        return [], []
    message.headers.pop("content-encoding", None)
    body = parse_body(raw, message.headers.get("content-type", ""))
    if body.kind == "json":
        value, secrets, cards = scrub_json(body.value)
        message.content = json.dumps(value, ensure_ascii=False).encode("utf-8")
        typed.extend(prefix + p for p in secrets if _same_type(body.value, value, p))
        return [prefix + p for p in secrets + cards], cards
    if body.kind == "form":
        form: dict[str, Any] = body.value
        pairs = [(k, recorded_value(k, str(v))) for k, v in form.items()]
        message.content = urlencode(pairs).encode()
        shown = [f"/{escape(k)}" for k, v in form.items() if shows_card(str(v), k)]
        return [f"{prefix}/{escape(k)}" for (k, v), (_, w) in zip(form.items(), pairs, strict=True) if v != w], shown
    if body.kind in ("text", "invalid", "too-deep"):
        text = raw.decode("utf-8", "replace")
        scrubbed, _, carded = scrub_text(text)
        message.content = scrubbed.encode("utf-8")
        return ([prefix] if scrubbed != text else []), ([""] if carded else [])
    message.content = b""  # binary: nothing a contract check needs, and nothing that may hold a secret is kept
    return [prefix], []


def _same_type(original: Any, recorded: Any, pointer: str) -> bool:
    """Whether the values at ``pointer`` (JSON pointer) in the two documents have one JSON type."""
    for token in pointer.split("/")[1:] if pointer else ():
        key = token.replace("~1", "/").replace("~0", "~")
        try:
            original = original[int(key)] if isinstance(original, list) else original[key]
            recorded = recorded[int(key)] if isinstance(recorded, list) else recorded[key]
        except (KeyError, IndexError, ValueError, TypeError):
            return False
    return json_type(original) == json_type(recorded)


def redacted(flow: http.HTTPFlow) -> http.HTTPFlow:
    """A copy of ``flow`` without secrets, fit for writing to disk (the flow itself is left alone)."""
    copy: http.HTTPFlow = flow.copy()  # type: ignore[no-untyped-call]  # untyped in mitmproxy
    gone: list[str] = []
    request = copy.request
    path, _, _ = request.path.partition("?")
    query = []
    for name, value in _query(request):
        kept, kept_name = recorded_value(name, value), scrub_text(name)[0]
        if kept != value or kept_name != name:
            gone.append(f"/request/query/{escape(kept_name)}")
        query.append((kept_name, kept))
    scrubbed_path = scrub_path(path)
    if scrubbed_path != path:
        gone.append("/request/path")
    request.path = scrubbed_path
    if query:
        request.query = query
    pairs, secrets, cards = scrub_headers(_pairs(request.headers))
    _set_headers(request, pairs)
    gone += [f"/request{p}" for p in secrets + cards]
    typed: list[str] = []
    gone += _scrub_body(request, "/request/body", typed)[0]
    card_data: list[str] = []
    if copy.response is not None:
        pairs, secrets, cards = scrub_headers(_pairs(copy.response.headers))
        _set_headers(copy.response, pairs)
        gone += [f"/response{p}" for p in secrets + cards]
        in_body, carded = _scrub_body(copy.response, "/response/body", typed)
        gone += in_body
        card_data = cards + carded
    copy.metadata[REDACTED_KEY] = sorted(set(gone))
    copy.metadata[TYPED_KEY] = sorted(set(typed))
    copy.metadata[CARD_DATA_KEY] = card_data
    return copy
