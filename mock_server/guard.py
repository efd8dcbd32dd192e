"""The guard in front of every route of the mock (API, admin, Cognito): bounds and fences, before any handler.

- **Body size**: a declared ``Content-Length`` over the limit is refused at once, and a body is
  never read past the limit (413): a 200 MiB chunked body costs at most the limit in memory.
- **Read time**: each part of a body must arrive within ``read_timeout`` seconds (408), so a
  client that sends half a body cannot hold a worker.
- **Disconnects**: a client that goes away before its body arrived is journaled as the client's
  doing (status 499, never a mock bug).
- **The admin API without a token** answers only a local, non-browser caller: a request with an
  ``Origin`` (or ``Sec-Fetch-Site: cross-site``), or with a ``Host`` that is not this machine's
  loopback name or address, is refused (403) unless that origin or host is allowed. A web page the
  developer visits cannot reset the mock, move its clock or mint tokens, and a DNS-rebinding host
  name is not served. With an admin token (``serve --admin-token``) the token decides.

The guard hands the route a replay of the body it read; routes read it as usual.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import TYPE_CHECKING

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.journal import Entry

if TYPE_CHECKING:
    from mock_server.state import MockState

MAX_BODY = 1024 * 1024
READ_TIMEOUT = 10.0
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
"""Host names an admin call without a token may carry (``testserver``: Starlette's test client)."""


def host_name(host_header: str) -> str:
    """The host of a ``Host`` header, without its port (``[::1]:8080`` → ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Guard:
    """Pure ASGI middleware; ``state`` is the mock's, for the journal and the admin token."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: MockState,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.state = state
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.allowed_hosts = LOCAL_HOSTS | {host_name(h) for h in allowed_hosts}
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.state.begin_request()
        headers = Headers(scope=scope)
        if scope["path"].startswith("/__admin") and self.state.admin_token is None:
            refusal = self._admin_refusal(headers)
            if refusal is not None:
                await self._refuse(scope, send, 403, "forbidden", refusal)
                return
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            message = f"body of {declared[:20]} bytes is over the {self.max_body}-byte limit"
            await self._refuse(scope, send, 413, "payload_too_large", message)
            return
        body = bytearray()
        while True:
            try:
                part: Message = await asyncio.wait_for(receive(), self.read_timeout)
            except TimeoutError:
                note = f"the body did not arrive within {self.read_timeout:g} s"
                await self._refuse(scope, send, 408, "request_timeout", f"{note}; send it at once")
                return
            if part["type"] == "http.disconnect":
                self._journal(scope, 499, "client disconnected before its body arrived (the client's doing)")
                return
            body += part.get("body", b"")
            if len(body) > self.max_body:
                too_big = f"body is over the {self.max_body}-byte limit"
                await self._refuse(scope, send, 413, "payload_too_large", too_big)
                return
            if not part.get("more_body", False):
                break
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()  # after the body: wait for the client to go away

        await self.app(scope, replay, send)

    def _admin_refusal(self, headers: Headers) -> str | None:
        origin = headers.get("origin")
        if origin is not None and origin.rstrip("/").lower() not in self.allowed_origins:
            return (
                f"the admin API does not answer a browser page (Origin {origin[:100]!r}); "
                "start the mock with --admin-token, or allow the origin with --allow-origin"
            )
        if headers.get("sec-fetch-site", "").lower() in ("cross-site", "same-site"):
            return "the admin API does not answer a cross-site browser request; start the mock with --admin-token"
        host = host_name(headers.get("host", ""))
        if host not in self.allowed_hosts:
            return (
                f"the admin API answers only this machine (Host {host[:100]!r} is not a local name); "
                "start the mock with --admin-token, or allow the host with --allow-host"
            )
        return None

    async def _refuse(self, scope: Scope, send: Send, status: int, code: str, message: str) -> None:
        self._journal(scope, status, message)
        body = json.dumps({"error": message, "code": code, "details": []}).encode()
        headers: list[tuple[bytes, bytes]] = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _journal(self, scope: Scope, status: int, note: str) -> None:
        path = str(scope.get("path", ""))
        if path.startswith("/__admin"):
            return  # the journal is of the backend's traffic
        method = str(scope.get("method", ""))
        self.state.journal.add(Entry(0, self.state.clock.now(), method, path, None, status, 0.0, note=note))
