"""The guard in front of every route of the mock (API, admin, Cognito): bounds and fences, before any handler.

- **Body size**: a declared ``Content-Length`` over the limit is refused at once, and a body is
  never read past the limit (413): a 200 MiB chunked body costs at most the limit in memory.
- **Read time**: each part of a body must arrive within ``read_timeout`` seconds, and the whole
  body within ``body_timeout`` seconds of its head (408): a client that sends half a body, or
  trickles it a byte at a time, cannot hold a connection for long. (A request's head has its
  deadline, and connections their number, in ``mock_server.connections``.)
- **Disconnects**: a client that goes away before its body arrived is journaled as the client's
  doing (status 499, never a mock bug).
- **The admin API without a token** answers only a local, non-browser caller: a request with an
  ``Origin`` (or ``Sec-Fetch-Site: cross-site``), or with a ``Host`` that is not this machine's
  loopback name or address, is refused (403) unless that origin or host is allowed. A web page the
  developer visits cannot reset the mock, move its clock or mint tokens, and a DNS-rebinding host
  name is not served. With an admin token (``serve --admin-token``) the token decides.
- **Faults on demand** (``villa_contracts.faults``, ``serve --faults``, ``/__admin/faults``): on an
  API route (never ``/__admin``), after the body was read and before any handler: a ``status`` or a
  ``drop`` is answered here (the handler never runs), a latency waited here; a ``truncate`` or a
  ``slowBodyMs`` mangles the handler's answer on its way out. Each is journaled and its answer
  carries ``X-Villa-Injected-Fault: <rule index>:<effect>``.
- **Date**: every answer's ``Date`` header is the mock's clock (which the admin API moves), as a
  backend's is its own: a proxy in front judges time-bound rules (expiry) by it.
- **CORS**: a request with an ``Origin`` is first handed to ``mock_server.cors`` (a preflight is
  answered there; an answer to an allowed origin is marked); never one to the admin API.

The guard hands the route a replay of the body it read; routes read it as usual. The headers (as a
dict, names in lower case) and the body are also left in the scope under ``REQUEST_PARTS`` for the
operations' endpoints (``mock_server.dispatch``), which a fixed path reaches straight from here
(``ExactPathRouter.direct``) instead of through Starlette's exception middleware and router.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterable
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.connections import TRANSPORT
from mock_server.journal import Entry
from mock_server.storage import StoreUnavailable
from villa_contracts.faults import HEADER, Injected, body_parts

if TYPE_CHECKING:
    from mock_server.cors import Cors
    from mock_server.routing import ExactPathRouter
    from mock_server.state import MockState

MAX_BODY = 1024 * 1024
READ_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
REQUEST_PARTS = "villa.request"
"""Scope key of ``(headers, body)``: the request's headers by lower-case name (the first of repeated
ones, as Starlette's ``Headers.get``) and its body, as the guard read them."""
DATE = "villa.date"
"""Scope key of the ``Date`` value an operation's endpoint puts on its answer itself (when the guard hands it
the server's own ``send``, with nothing wrapped around it: the common call, spared a wrapper)."""
FAULT = "villa.fault"
"""Scope key of the fault injected into this request (``villa_contracts.faults.Injected``), for its journal entry."""
_DATE: list[tuple[int, bytes]] = [(-1, b"")]
"""The last ``Date`` value made, ``(whole second, value)``: one per second, as uvicorn does (swapped whole)."""


def http_date(now: float) -> bytes:
    """``now`` as an HTTP ``Date`` (``Mon, 07 Dec 2026 14:57:25 GMT``)."""
    second, value = _DATE[0]
    if second != int(now):
        second, value = int(now), formatdate(int(now), usegmt=True).encode()
        _DATE[0] = (second, value)
    return value


LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "testserver"})
"""Host names an admin call without a token may carry (``testserver``: Starlette's test client)."""


def host_name(host_header: str) -> str:
    """The host of a ``Host`` header, without its port (``[::1]:8080`` → ``::1``)."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def header_map(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name; of a repeated header, the first."""
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in reversed(scope["headers"])}


class _Reads(threading.local):
    """One thread's reads in progress (a thread runs one event loop at a time)."""

    def __init__(self) -> None:
        # A read's deadline for its next part, and for the whole body.
        self.waiting: dict[asyncio.Task[Any], tuple[float, float]] = {}
        self.expired: dict[asyncio.Task[Any], str] = {}  # why: what did not arrive in time
        self.ticking: asyncio.AbstractEventLoop | None = None  # the loop the timer runs on


class ReadDeadlines:
    """The body reads in progress, each with its deadline, and one timer that checks them all.

    ``asyncio.timeout`` around every ``receive`` armed and cancelled a timer of its own for each
    request, a tenth of the mock's time on a small call. Here a read costs a dict entry, and one
    timer per event loop ticks (every quarter of the timeout, at most every second) while any read
    is in progress: a read that waited past its deadline is cancelled there and answered 408. The
    bookkeeping is per thread, so one app served by several loops at once (a server thread and a
    test client) keeps each loop's reads to itself.
    """

    def __init__(self, timeout: float, body_timeout: float = BODY_TIMEOUT) -> None:
        """Give each part of a body ``timeout`` seconds, and the whole body ``body_timeout``."""
        self.timeout = timeout
        self.body_timeout = body_timeout
        self.tick = min(1.0, timeout / 4, body_timeout / 4)
        self._reads = _Reads()

    def wait(self, task: asyncio.Task[Any]) -> None:
        """(Re)start the clock of ``task``'s read: its next part is due within the timeout, all of it by its end."""
        reads, loop = self._reads, task.get_loop()
        now = loop.time()
        started = reads.waiting.get(task)
        whole = started[1] if started is not None else now + self.body_timeout
        reads.waiting[task] = (now + self.timeout, whole)
        if reads.ticking is not loop:
            reads.ticking = loop
            loop.call_later(self.tick, self._check, loop)

    def done(self, task: asyncio.Task[Any]) -> None:
        """``task``'s read is over (whole, refused or gone)."""
        self._reads.waiting.pop(task, None)

    def expired(self, task: asyncio.Task[Any]) -> str | None:
        """Why the timer cancelled ``task``'s read (what did not arrive in time), or None (asked once)."""
        return self._reads.expired.pop(task, None)

    def _check(self, loop: asyncio.AbstractEventLoop) -> None:
        reads = self._reads
        if reads.ticking is not loop:
            return  # this thread's next loop took over (a test's new event loop)
        now = loop.time()
        for task, (part, whole) in list(reads.waiting.items()):
            if task.get_loop() is not loop or task.done():
                reads.waiting.pop(task, None)
            elif now >= part or now >= whole:
                reads.waiting.pop(task, None)
                if now >= whole:
                    reads.expired[task] = f"the body did not arrive whole within {self.body_timeout:g} s"
                else:
                    reads.expired[task] = f"the body stopped arriving for {self.timeout:g} s"
                task.cancel()
        if reads.waiting:
            loop.call_later(self.tick, self._check, loop)
        else:
            reads.ticking = None


class Guard:
    """Pure ASGI middleware; ``state`` is the mock's, for the journal and the admin token.

    With ``router``, a request its ``direct`` finds goes straight to that endpoint.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: MockState,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        router: ExactPathRouter | None = None,
        cors: Cors | None = None,
    ) -> None:
        self.app = app
        self.cors = cors
        self.router = router
        self.state = state
        self.max_body = max_body
        self.read_timeout = read_timeout
        self.deadlines = ReadDeadlines(read_timeout, body_timeout)
        self.allowed_hosts = LOCAL_HOSTS | {host_name(h) for h in allowed_hosts}
        self.allowed_origins = frozenset(o.rstrip("/").lower() for o in allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        plain = send
        send = dated = self._dated(plain)
        headers = header_map(scope)
        if self.cors is not None and "origin" in headers:  # a browser's: the only cost for other requests
            marked = await self.cors.admit(scope, headers, send)
            if marked is None:
                return  # a preflight, answered
            send = marked
        try:
            self.state.begin_request()
        except StoreUnavailable as exc:
            await self._unavailable(scope, send, headers, exc)
            return
        lost = self.state.store.lost
        if lost is not None and not scope["path"].startswith("/__admin"):  # the admin API's reset is the way back
            await self._unavailable(scope, send, headers, lost)
            return
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
        body = await self._read_body(receive)
        if isinstance(body, tuple):
            status, code, message = body
            if status == 499:
                self._journal(scope, status, message)
            else:
                await self._refuse(scope, send, status, code, message)
            return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the client to go away

        scope[REQUEST_PARTS] = (headers, body)
        faults = self.state.faults
        if faults and not scope["path"].startswith("/__admin"):
            fault = faults.draw(scope["method"], scope["path"])
            if fault is not None:
                injected = await self._inject(scope, send, fault)
                if injected is None:
                    return
                send = injected
        direct = self.router.direct(scope) if self.router is not None else None
        if direct is not None and send is dated:  # nothing else wraps the answer: the endpoint dates it itself
            scope[DATE] = http_date(self.state.clock.now())
            await direct(scope, replay, plain)
        else:
            await (direct or self.app)(scope, replay, send)
        fault = scope.pop(FAULT, None)
        if fault is not None:  # a route that journals nothing itself (Cognito's): the fault is journaled here
            self._journal(scope, 0, f"injected fault {fault.label}", fault=fault)

    async def _inject(self, scope: Scope, send: Send, fault: Injected) -> Send | None:
        """Apply ``fault``: None when answered here (status, drop), else the ``send`` the route answers through."""
        mark = (HEADER.lower().encode(), fault.label.encode())
        if fault.effect == "status":
            self._journal(scope, int(fault.value), f"injected fault {fault.label}", fault=fault)
            body = json.dumps(fault.error_body()).encode()
            await self._send(send, int(fault.value), body, [(b"content-type", b"application/json"), mark], close=False)
            return None
        if fault.effect == "drop":
            self._journal(scope, 0, f"injected fault {fault.label}: connection closed unanswered", fault=fault)
            await self._close(scope)
            return None
        scope[FAULT] = fault
        if fault.effect == "latencyMs":
            await asyncio.sleep(float(fault.value) / 1000)
        pending: list[Message] = []

        async def marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), mark]}
                if fault.effect == "latencyMs":
                    await send(message)
                else:
                    pending.append(message)  # sent with the body
                return
            if message["type"] != "http.response.body" or fault.effect == "latencyMs":
                await send(message)
                return
            data = message.get("body", b"")
            if pending:
                await send(pending.pop())
            if fault.effect == "truncate":
                await send({"type": "http.response.body", "body": data[: fault.kept(len(data))], "more_body": True})
                await self._close(scope)
                return
            parts = body_parts(data)  # slowBodyMs: the body in parts, spread over the time asked
            for part in parts:
                await asyncio.sleep(float(fault.value) / 1000 / len(parts))
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": message.get("more_body", False)})

        return marked

    @staticmethod
    async def _close(scope: Scope) -> None:
        """Close the connection (under uvicorn; a test client's request just ends unanswered)."""
        transport = scope.get(TRANSPORT)
        if transport is not None:
            transport.close()
            await asyncio.sleep(0)  # the server sees the connection lost before the app returns

    async def _read_body(self, receive: Receive) -> bytes | tuple[int, str, str]:
        """The body, or why it was not read: ``(status, code, message)``."""
        task = asyncio.current_task()
        assert task is not None
        body = bytearray()
        self.deadlines.wait(task)
        try:
            while True:
                try:
                    part: Message = await receive()
                except asyncio.CancelledError:
                    late = self.deadlines.expired(task)
                    if late is None or task.uncancel() > 0:
                        raise  # not (only) the read timeout: the server's own cancel
                    return 408, "request_timeout", f"{late}; send it at once"
                if part["type"] == "http.disconnect":
                    return 499, "", "client disconnected before its body arrived (the client's doing)"
                chunk: bytes = part.get("body", b"")
                if len(body) + len(chunk) > self.max_body:
                    return 413, "payload_too_large", f"body is over the {self.max_body}-byte limit"
                if not part.get("more_body", False):
                    return bytes(body + chunk) if body else chunk  # most bodies come whole: no copy
                body += chunk
                self.deadlines.wait(task)
        finally:
            self.deadlines.done(task)

    def _admin_refusal(self, headers: dict[str, str]) -> str | None:
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

    async def _refuse(
        self, scope: Scope, send: Send, status: int, code: str, message: str, *, close: bool = True
    ) -> None:
        self._journal(scope, status, message)
        body = json.dumps({"error": message, "code": code, "details": []}).encode()
        await self._send(send, status, body, [(b"content-type", b"application/json")], close=close)

    async def _unavailable(self, scope: Scope, send: Send, headers: dict[str, str], exc: StoreUnavailable) -> None:
        """The store cannot serve: 503 with ``Retry-After``, in the shape of the route's protocol."""
        more = [(name.lower().encode(), value.encode()) for name, value in exc.headers().items()]
        # A body it did not read would be taken for the next request: such a connection is closed.
        close = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if scope["path"] == "/" and "x-amz-target" in headers:  # Cognito's JSON protocol: AWS's error shape
            self._journal(scope, exc.status_code, exc.message)
            body = json.dumps({"__type": "ServiceUnavailable", "message": exc.message}).encode()
            more += [(b"content-type", b"application/x-amz-json-1.1"), (b"x-amzn-errortype", b"ServiceUnavailable")]
            await self._send(send, exc.status_code, body, more, close=close)
            return
        self._journal(scope, exc.status_code, exc.message)
        body = json.dumps(exc.body()).encode()
        await self._send(send, exc.status_code, body, [(b"content-type", b"application/json"), *more], close=close)

    def _dated(self, send: Send) -> Send:
        """``send``, every answer dated on the mock's clock (RFC 9110: the origin's clock), as a backend's is."""
        clock = self.state.clock

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), (b"date", http_date(clock.now()))]}
            await send(message)

        return dated

    @staticmethod
    async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]], *, close: bool) -> None:
        headers = [*headers, (b"content-length", str(len(body)).encode())]
        if close:  # the body was not read (or not all of it): the connection cannot carry another request
            headers.append((b"connection", b"close"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _journal(self, scope: Scope, status: int, note: str, *, fault: Injected | None = None) -> None:
        path = str(scope.get("path", ""))
        if path.startswith("/__admin"):
            return  # the journal is of the backend's traffic
        method = str(scope.get("method", ""))
        operation = fault.operation_id if fault is not None else None
        label = fault.label if fault is not None else None
        entry = Entry(0, self.state.clock.now(), method, path, operation, status, 0.0, note=note, fault=label)
        self.state.journal.add(entry)
