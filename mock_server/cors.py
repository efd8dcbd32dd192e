"""CORS: a browser app on another origin (``http://localhost:3000``) may call the mock's API, never its admin API.

The guard (``mock_server.guard``) hands ``Cors.admit`` every request with an ``Origin`` header,
before anything else it does:

- A request **without** ``Origin`` (every SDK, test and benchmark call) costs one lookup in the
  headers the guard reads anyway, and nothing else.
- A request under ``/__admin`` is passed on untouched, whatever its origin: the admin API gets no
  ``Access-Control-*`` header ever, and keeps the guard's DNS-rebinding and CSRF fences (a browser
  preflight to it is the guard's 403).
- A **preflight** (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is answered
  here, before the guard's store check, validation and handlers: ``204`` with the origin echoed
  (``Vary: Origin``), the methods the contracts use on that path (all of them on a path no contract
  has), the request headers the contracts and the AWS SDK send, and ``Access-Control-Max-Age``.
  Preflights are not journaled (the journal is of the backend's traffic). A preflight from an
  origin that is not allowed is a ``403`` JSON error naming ``--cors-origin`` (shown in the
  browser's network panel) with no CORS header, so the browser refuses the call.
- An **actual request** from an allowed origin is served as usual, and its answer (the guard's
  refusals and 503s too) carries ``Access-Control-Allow-Origin``, ``Vary: Origin``,
  ``Access-Control-Allow-Credentials`` and ``Access-Control-Expose-Headers`` (``Retry-After``,
  Cognito's ``x-amzn-ErrorType``, ...). From an origin not allowed it is served without them: the
  browser does not let the page read it.

Allowed origins come from ``serve --cors-origin`` (``parse_origin``): ``scheme://host[:port]``,
``scheme://host:*`` (any port), or ``*`` (any origin); by default the local development origins
``http://localhost:*`` and ``http://127.0.0.1:*``. The mock sets no cookies, so allowing credentials
only lets a client that sends them anyway (``credentials: "include"``) read its answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from starlette.routing import BaseRoute, Route
from starlette.types import Message, Scope, Send

from villa_contracts.contract import Contract

ADMIN_PREFIX = "/__admin"
DEFAULT_ORIGINS = ("http://localhost:*", "http://127.0.0.1:*")
"""Who may call the API when ``serve`` is given no ``--cors-origin``: a dev server on this machine, any port."""
MAX_AGE = 600
"""Seconds a browser may reuse a preflight's answer (short: a restart with other origins shows soon)."""
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "X-Amz-Target",
    "X-Amz-User-Agent",
    "X-Amz-Date",
    "X-Amz-Content-Sha256",
    "X-Amz-Security-Token",
    "Amz-Sdk-Invocation-Id",
    "Amz-Sdk-Request",
)
"""Request headers always allowed: the bearer token, JSON bodies, and what the AWS SDK sends to Cognito
(``POST /``); ``allowed_headers`` adds the header credentials and parameters of the contracts."""
EXPOSE_HEADERS = ("Retry-After", "Location", "X-Amzn-RequestId", "X-Amzn-ErrorType")
"""Answer headers a page may read: the 503's ``Retry-After``, a ``Location``, and the two the AWS SDK reads
of Cognito's answers; ``exposed_headers`` adds the response headers the contracts declare."""

_ORIGIN = re.compile(r"(?:[a-z][a-z0-9+.-]*://(?:[^\s/:?#@\[\]]+|\[[0-9a-f:.]+\]))(?::(?:\d{1,5}|\*))?")


def parse_origin(text: str) -> str:
    """``text`` as an allowed origin: ``*``, ``scheme://host[:port]`` or ``scheme://host:*``, in lower case.

    Raises:
        ValueError: anything else (a path, no scheme, ``null``); the message says what is expected.
    """
    origin = text.strip().rstrip("/").lower()
    if origin == "*" or _ORIGIN.fullmatch(origin):
        return origin
    raise ValueError(
        f"{text!r} is not an origin: give scheme://host[:port] (http://localhost:3000), "
        "scheme://host:* for any port, or * for any origin"
    )


class Origins:
    """The allowed origins: exact ones, any port of a host (``scheme://host:*``), or any (``*``)."""

    def __init__(self, origins: Iterable[str]) -> None:
        """Allow ``origins`` (each as ``parse_origin`` reads it)."""
        parsed = {parse_origin(o) for o in origins}
        self.any = "*" in parsed
        self.exact = frozenset(o for o in parsed if not o.endswith(":*"))
        self.any_port = frozenset(o[:-2] for o in parsed if o.endswith(":*"))

    def allow(self, origin: str) -> bool:
        """Whether a page of ``origin`` (an ``Origin`` header) may read the API's answers."""
        if self.any:
            return True
        origin = origin.lower()
        if origin in self.exact:
            return True
        base, colon, port = origin.rpartition(":")
        return origin in self.any_port or (bool(colon) and port.isdigit() and base in self.any_port)


def _resolve(doc: dict[str, Any], node: Any) -> dict[str, Any]:
    """``node``, or what its local ``$ref`` (``#/components/...``) points to; ``{}`` when neither is an object."""
    for _ in range(20):  # a bound on chains of references
        ref = node.get("$ref") if isinstance(node, dict) else None
        if not isinstance(ref, str) or not ref.startswith("#/"):
            break
        node = doc
        for part in ref[2:].split("/"):
            node = node.get(part) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else {}


def allowed_headers(contracts: Iterable[Contract]) -> tuple[str, ...]:
    """``ALLOW_HEADERS`` and the headers the API contracts read: ``apiKey`` credentials and header parameters."""
    names = list(ALLOW_HEADERS)
    for contract in contracts:
        if contract.role != "api":
            continue
        doc = contract.openapi
        for scheme in (doc.get("components", {}).get("securitySchemes") or {}).values():
            scheme = _resolve(doc, scheme)
            if scheme.get("type") == "apiKey" and scheme.get("in") == "header" and scheme.get("name"):
                names.append(str(scheme["name"]))
        for operation in contract.operations.values():
            for parameter in operation.spec.get("parameters") or ():
                parameter = _resolve(doc, parameter)
                if parameter.get("in") == "header" and parameter.get("name"):
                    names.append(str(parameter["name"]))
    return _unique(names)


def exposed_headers(contracts: Iterable[Contract]) -> tuple[str, ...]:
    """``EXPOSE_HEADERS`` and the response headers the API contracts declare."""
    names = list(EXPOSE_HEADERS)
    for contract in contracts:
        if contract.role != "api":
            continue
        for operation in contract.operations.values():
            for response in operation.responses.values():
                names += [str(name) for name in (_resolve(contract.openapi, response).get("headers") or {})]
    return _unique(names)


def _unique(names: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(name.lower(), name)
    return tuple(seen.values())


class Cors:
    """The mock's CORS answers (see the module); the guard hands it every request with an ``Origin``."""

    def __init__(
        self,
        *,
        origins: Iterable[str] = DEFAULT_ORIGINS,
        routes: Sequence[BaseRoute] = (),
        allow_headers: Iterable[str] = ALLOW_HEADERS,
        expose_headers: Iterable[str] = EXPOSE_HEADERS,
        max_age: int = MAX_AGE,
    ) -> None:
        """Answer pages of ``origins``; ``routes`` tell each path's methods (admin ones are left out)."""
        self.origins = Origins(origins)
        self.paths: list[tuple[re.Pattern[str], frozenset[str]]] = [
            (route.path_regex, frozenset(route.methods or ()) - {"HEAD"})
            for route in routes
            if isinstance(route, Route) and not route.path.startswith(ADMIN_PREFIX)
        ]
        every = frozenset().union(*(methods for _, methods in self.paths)) if self.paths else frozenset({"GET"})
        self.every_method = ", ".join(sorted(every)).encode()
        self.preflight_headers = [
            (b"access-control-allow-headers", ", ".join(_unique(allow_headers)).encode()),
            (b"access-control-max-age", str(max_age).encode()),
            (b"access-control-allow-credentials", b"true"),
        ]
        self.answer_headers = [
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", ", ".join(_unique(expose_headers)).encode()),
        ]

    async def admit(self, scope: Scope, headers: Mapping[str, str], send: Send) -> Send | None:
        """The ``send`` to answer a request with an ``Origin`` with; None when it was a preflight, answered here.

        The ``send`` marks the answer when the origin is allowed; it is ``send`` itself when the origin
        is not, or the path is the admin API's. ``headers`` are the request's by lower-case name (the
        guard's ``header_map``).
        """
        if scope["path"].startswith(ADMIN_PREFIX):
            return send
        origin = headers["origin"]
        allowed = self.origins.allow(origin)
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(scope, send, origin, headers, allowed=allowed)
            return None
        if not allowed:
            return send
        marks = [(b"access-control-allow-origin", origin.encode("latin-1")), *self.answer_headers]

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent = list(message.get("headers", ()))
                vary = [i for i, (name, _) in enumerate(sent) if name.lower() == b"vary"]
                if vary:
                    name, value = sent[vary[0]]
                    sent[vary[0]] = (name, value + b", Origin")
                else:
                    sent.append((b"vary", b"Origin"))
                message = {**message, "headers": sent + marks}
            await send(message)

        return marked

    async def _preflight(
        self, scope: Scope, send: Send, origin: str, headers: Mapping[str, str], *, allowed: bool
    ) -> None:
        # The preflight's body (it should have none) is not read: the connection is not reused then.
        unread = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        close = [(b"connection", b"close")] if unread else []
        if not allowed:
            shown = origin[:100]
            message = (
                f"CORS: origin {shown!r} may not call this mock; start it with --cors-origin {shown} "
                "(or --cors-origin '*')"
            )
            body = json.dumps({"error": message, "code": "cors_origin_not_allowed", "details": []}).encode()
            start = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *close]
            await send({"type": "http.response.start", "status": 403, "headers": start})
            await send({"type": "http.response.body", "body": body, "more_body": False})
            return
        answer = [
            (b"access-control-allow-origin", origin.encode("latin-1")),
            (b"vary", b"Origin"),
            (b"access-control-allow-methods", self._methods(scope["path"])),
            *self.preflight_headers,
            *close,
        ]
        if headers.get("access-control-request-private-network", "").lower() == "true":
            answer.append((b"access-control-allow-private-network", b"true"))  # a public page calling this machine
        await send({"type": "http.response.start", "status": 204, "headers": answer})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    def _methods(self, path: str) -> bytes:
        """The methods the contracts use on ``path`` (every one of theirs on a path they do not have)."""
        methods = frozenset().union(*(methods for regex, methods in self.paths if regex.match(path)))
        return ", ".join(sorted(methods)).encode() if methods else self.every_method
