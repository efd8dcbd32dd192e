"""The runner serves an ASGI app on a real socket and gives the port back when stopped."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.runner import serve_in_thread, serve_workers

pytestmark = pytest.mark.socket


def echo_app(base_url: str) -> Starlette:
    async def whoami(request: Request) -> Response:
        return JSONResponse({"base_url": base_url})

    return Starlette(routes=[Route("/whoami", whoami)])


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def test_serves_on_a_free_port_and_frees_it_on_stop() -> None:
    server = serve_in_thread(echo_app)
    try:
        assert server.port > 0
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        with httpx.Client() as client:  # a keep-alive connection must not hold the shutdown up
            assert client.get(f"{server.base_url}/whoami").json() == {"base_url": server.base_url}
            assert not port_is_free(server.host, server.port)
            server.stop()
        assert not server.running
        assert port_is_free(server.host, server.port)
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{server.base_url}/whoami")
    finally:
        server.stop()  # idempotent


def test_context_manager_and_a_given_port() -> None:
    with serve_in_thread(echo_app) as first:
        port = first.port
    with serve_in_thread(echo_app, port=port) as again:
        assert httpx.get(f"{again.base_url}/whoami").json()["base_url"].endswith(f":{port}")


def test_two_servers_at_once() -> None:
    with serve_in_thread(echo_app) as one, serve_in_thread(echo_app) as two:
        assert one.port != two.port
        assert httpx.get(f"{two.base_url}/whoami").status_code == 200


def test_busy_port_is_an_error() -> None:
    with serve_in_thread(echo_app) as server, pytest.raises(OSError, match="cannot listen"):
        serve_in_thread(echo_app, port=server.port)


def test_failed_startup_is_reported() -> None:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database is missing")
        yield

    with pytest.raises(RuntimeError, match="stopped during startup"):
        serve_in_thread(lambda url: Starlette(lifespan=lifespan))


def test_failed_build_releases_the_socket() -> None:
    seen: list[str] = []

    def build(url: str) -> Starlette:
        seen.append(url)
        raise ValueError("bad contract")

    with pytest.raises(ValueError, match="bad contract"):
        serve_in_thread(build)
    port = int(seen[0].rsplit(":", 1)[1])
    assert port_is_free("127.0.0.1", port)


def test_workers_that_cannot_start_stop_together_and_say_so() -> None:
    def build(url: str) -> Starlette:
        raise RuntimeError(f"no store for {url}")

    heard: list[str] = []
    code = serve_workers(build, host="127.0.0.1", port=0, workers=2, log_level="critical", on_listening=heard.append)
    assert code == 1
    assert len(heard) == 1 and heard[0].startswith("http://127.0.0.1:")
