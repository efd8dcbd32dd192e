"""The connections a server holds: each one bounded in time, and all of them in number, the dawdlers first to go.

uvicorn keeps a connection as long as its client does: one that never sends its request head, or
sends it a byte at a time, stays for good; and past ``limit_concurrency`` connections every new
request, a prompt client's too, is answered 503. About 1,100 connections trickling a body byte
every 2 s starved every other client. Here (``http=`` of uvicorn's config, ``protocol_class``):

- **Per connection**: a request's head must arrive within ``head_timeout`` seconds of the
  connection or of the previous answer, however it trickles in, or the connection is closed (a
  body has its own deadlines: ``mock_server.guard``). Idle keep-alive connections close after
  uvicorn's ``timeout_keep_alive``.
- **All together**: at most ``max_connections`` are held. A new one past that makes room by
  closing the connection that has waited longest on its client (no head yet, idle between
  requests, or a body still arriving; such a body is answered 503 first): a client that sends its
  request promptly is served whatever the others do. Only when every connection has a request in
  the works is a newcomer turned away (uvicorn's own limit, just above, answers 503).
"""

from __future__ import annotations

import asyncio
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TRANSPORT = "villa.transport"
"""Scope key of the connection's transport (what an injected ``drop`` or ``truncate`` closes)."""
HEAD_TIMEOUT = 10.0
"""Seconds a request's head may take to arrive (from the connection, or from the previous answer)."""
MAX_CONNECTIONS = 4096
"""Connections held at most (fewer when the process may open fewer files: ``connection_budget``)."""

_SHED = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_SHED_BODY = (
    b'{"error":"too many connections: this one waited longest for its request body; send the body at once, '
    b'or retry","code":"server_busy","details":[]}'
)


def connection_budget(wanted: int = MAX_CONNECTIONS) -> int:
    """``wanted``, or fewer when the process may not open that many files (with room for its own)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return min(wanted, max(16, soft - 128))


def more_files() -> None:
    """Raise the soft limit on open files to the hard one (servers do: each connection is a file)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard))
        except (ValueError, OSError):
            pass


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a deadline on request heads and room made by the dawdlers.

    A connection only notes since when it waits on its client (two clock readings a request); one
    timer per server looks at them all, ``head_timeout / 4`` apart (a second at most), and closes
    those whose head is late: no timer is armed, nor cancelled, for each request.
    """

    head_timeout: float = HEAD_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start waiting for the head; past the limit, close the connection that waited longest."""
        super().connection_made(transport)
        self._waiting_since = self.loop.time()
        state: Any = self.server_state
        if not getattr(state, "villa_watching", False):
            state.villa_watching = True
            self.loop.call_later(self._tick(), _late_heads, self.loop, state, self.head_timeout, self._tick())
        if len(self.connections) > self.max_connections:
            self._make_room()

    def on_headers_complete(self) -> None:
        """The head arrived; if a body follows, it is waited for from now (its deadlines are the guard's)."""
        self._waiting_since = self.loop.time()
        self.scope[TRANSPORT] = self.transport  # type: ignore[literal-required]
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        """An answer went out: the next head is waited for from now."""
        self._waiting_since = self.loop.time()
        super().on_response_complete()

    def _tick(self) -> float:
        return min(1.0, self.head_timeout / 4)

    # -- room for a newcomer -------------------------------------------------------------------

    def _waits_on_client(self) -> str | None:
        """What the connection waits for from its client (``head``, ``body``), or None when it has work."""
        cycle: Any = self.cycle
        if cycle is None or cycle.response_complete:
            return "head"
        if cycle.more_body and not cycle.response_started and not self.pipeline:
            return "body"
        return None

    def _make_room(self) -> None:
        oldest: GuardedProtocol | None = None
        for other in self.connections:
            if other is self or not isinstance(other, GuardedProtocol) or other.transport.is_closing():
                continue
            if other._waits_on_client() is not None and (
                oldest is None or other._waiting_since < oldest._waiting_since
            ):
                oldest = other
        if oldest is not None:
            oldest._shed()

    def _shed(self) -> None:
        if self._waits_on_client() == "body":  # its request is half in: it gets an answer
            self.transport.write(_SHED % (len(_SHED_BODY), _SHED_BODY))
        self.transport.close()


def _late_heads(loop: asyncio.AbstractEventLoop, state: Any, head_timeout: float, tick: float) -> None:
    """Close the connections of ``state`` whose request head is late; look again in ``tick`` s while any is open."""
    now = loop.time()
    for connection in list(state.connections):
        if (
            isinstance(connection, GuardedProtocol)
            and now - connection._waiting_since >= head_timeout
            and connection._waits_on_client() == "head"
            and not connection.transport.is_closing()
        ):
            connection.transport.close()
    if state.connections:
        loop.call_later(tick, _late_heads, loop, state, head_timeout, tick)
    else:
        state.villa_watching = False


def protocol_class(
    *, head_timeout: float = HEAD_TIMEOUT, max_connections: int = MAX_CONNECTIONS
) -> type[GuardedProtocol]:
    """``GuardedProtocol`` with these limits (uvicorn's config takes a class)."""
    return type(
        "GuardedProtocol", (GuardedProtocol,), {"head_timeout": head_timeout, "max_connections": max_connections}
    )
