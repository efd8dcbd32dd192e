"""Connections are bounded one by one (a head's deadline) and together (the dawdlers make room).

See ``mock_server.connections``.

Real sockets on 127.0.0.1; limits are made small, and every wait is for an event (the server
closing a connection, an answer), never a measured speed.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.connections import connection_budget
from mock_server.runner import Limits, RunningServer, serve_in_thread

pytestmark = pytest.mark.socket


def _app(url: str) -> Starlette:
    async def echo(request: Request) -> Response:
        return JSONResponse({"size": len(await request.body())})

    return Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"])])


@pytest.fixture
def server() -> Iterator[RunningServer]:
    with serve_in_thread(_app, limits=Limits(head_timeout=0.3, max_connections=4)) as running:
        yield running


def _connect(server: RunningServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=60)  # a bound for a broken run
    return sock


def _closed_by_the_server(sock: socket.socket) -> bytes:
    """Everything the server sent until it closed the connection (waits for that)."""
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received


def test_a_connection_that_never_sends_its_head_is_closed(server: RunningServer) -> None:
    with _connect(server) as idle:
        assert _closed_by_the_server(idle) == b""


def test_a_head_trickled_a_byte_at_a_time_is_closed_at_its_deadline(server: RunningServer) -> None:
    # Each byte used to count as progress: a head sent slowly enough held the connection for good.
    head = b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 10_000
    with _connect(server) as slow:
        sent = 0
        try:
            while sent < len(head):
                slow.sendall(head[sent : sent + 1])
                sent += 1
                time.sleep(0.02)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed while it still trickled
        assert sent < len(head), "the head never had a deadline"
        assert _closed_by_the_server(slow) == b""


def test_an_idle_keep_alive_connection_and_a_prompt_one_are_served(server: RunningServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(3):
            assert client.post("/echo", content=b"x" * 100).json() == {"size": 100}


def test_past_the_limit_the_connection_waiting_longest_makes_room() -> None:
    # Past uvicorn's limit every request was a 503, a prompt client's too. Heads get all the time
    # they want here: only making room closes a connection.
    with serve_in_thread(_app, limits=Limits(head_timeout=600, max_connections=4)) as server:
        half = _connect(server)
        half.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc")  # a body under way
        assert httpx.get(f"{server.base_url}/echo", timeout=60).status_code == 200  # (the body has arrived)
        waiting = [_connect(server) for _ in range(4)]  # past the limit: the oldest waiting makes room
        try:
            answer = _closed_by_the_server(half)
            assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\n") and b'"server_busy"' in answer, answer
            assert b"retry-after: 1" in answer
            # A prompt client is served, and one of the connections waiting longest is closed for it.
            assert httpx.post(f"{server.base_url}/echo", content=b"hello", timeout=60).json() == {"size": 5}
            closed, _, _ = select.select(waiting, [], [], 60)  # (a bound for a broken run)
            assert closed and all(_closed_by_the_server(sock) == b"" for sock in closed)
        finally:
            for sock in [*waiting, half]:
                sock.close()


def test_the_budget_leaves_room_for_the_process_own_files(monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    monkeypatch.setattr(resource, "getrlimit", lambda which: (1024, 4096))
    assert connection_budget(4096) == 896 and connection_budget(100) == 100
    monkeypatch.setattr(resource, "getrlimit", lambda which: (100, 4096))
    assert connection_budget(4096) == 16
