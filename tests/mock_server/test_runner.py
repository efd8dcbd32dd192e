"""The runner serves an ASGI app on a real socket and gives the port back when stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.runner import serve_in_thread, serve_workers
from mock_server.supervisor import DeathRate, how_it_died

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


# A supervised worker that dies is replaced; workers that keep dying stop the service with one line.

ROOT = Path(__file__).resolve().parents[2]
SUPERVISED = """
import os, sys, time
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from mock_server.runner import serve_workers
from mock_server.supervisor import DeathRate

async def pid(request):
    return JSONResponse({"pid": os.getpid()})

async def crash(request):
    os._exit(7)

def build(url):
    while len(sys.argv) > 2 and not os.path.exists(sys.argv[2]):  # held until the test lets it go
        time.sleep(0.01)
    return Starlette(routes=[Route("/pid", pid), Route("/crash", crash)])

rate = DeathRate(max_deaths=int(sys.argv[1]), window=3600)
sys.exit(serve_workers(build, host="127.0.0.1", port=0, workers=2, log_level="warning",
                       on_listening=lambda url: print(url, flush=True), rate=rate))
"""


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 60) -> None:
    """Wait for an event (not a speed: the bound is only there so that a broken run ends)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@contextmanager
def supervised(
    tmp_path: Path, max_deaths: int, *, held: Callable[[subprocess.Popen[str]], None] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    """Two workers of a tiny app under the supervisor, in a process of their own: (process, base URL, its log).

    With ``held``, the workers wait to build their app until ``held(process)`` has run.
    """
    log, gate = tmp_path / "supervisor.log", tmp_path / "go"
    argv = [sys.executable, "-c", SUPERVISED, str(max_deaths), *([str(gate)] if held else [])]
    with log.open("w") as err:
        proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:"), log.read_text()
        if held is not None:
            held(proc)
            gate.touch()

        answered: set[int] = set()

        def serving() -> bool:  # both workers have answered (fresh connections land on either)
            try:
                answered.add(httpx.get(f"{base}/pid", timeout=5).json()["pid"])
            except httpx.TransportError:
                return False
            return len(answered) == 2 and answered == _children(proc.pid)

        _wait_for("two workers serving", serving)
        yield proc, base, log
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_worker_that_dies_is_replaced_and_the_death_logged_in_one_line(tmp_path: Path) -> None:
    with supervised(tmp_path, max_deaths=5) as (proc, base, log):
        victim, survivor = sorted(_children(proc.pid))
        os.kill(victim, signal.SIGKILL)
        _wait_for("the death is logged", lambda: f"worker {victim} was killed by SIGKILL" in log.read_text())
        replacement = _children(proc.pid) - {survivor}
        assert victim not in replacement and len(replacement) == 1
        (line,) = [line for line in log.read_text().splitlines() if str(victim) in line]
        assert line.endswith(f"worker {victim} was killed by SIGKILL; worker {replacement.pop()} started in its place")
        for _ in range(6):  # fresh connections land on either worker
            assert httpx.get(f"{base}/pid", timeout=10).status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert port_is_free("127.0.0.1", int(base.rsplit(":", 1)[1]))


def test_a_worker_killed_while_it_starts_is_replaced_not_taken_for_a_failed_start(tmp_path: Path) -> None:
    killed: list[int] = []

    def kill_one(proc: subprocess.Popen[str]) -> None:
        _wait_for("two workers forked", lambda: len(_children(proc.pid)) == 2)
        killed.append(min(_children(proc.pid)))
        os.kill(killed[0], signal.SIGKILL)
        _wait_for("the death is logged", lambda: f"worker {killed[0]} was killed" in log.read_text())

    log = tmp_path / "supervisor.log"
    with supervised(tmp_path, max_deaths=5, held=kill_one) as (proc, base, _):
        (line,) = [line for line in log.read_text().splitlines() if "worker" in line]
        assert f"worker {killed[0]} was killed by SIGKILL before it served; worker " in line
        assert killed[0] not in _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0


def test_workers_that_keep_dying_stop_the_service_with_one_line(tmp_path: Path) -> None:
    with supervised(tmp_path, max_deaths=1) as (proc, base, log):
        for _ in range(2):  # the second death is one too many
            with pytest.raises(httpx.TransportError):
                httpx.get(f"{base}/crash", timeout=30)
            if proc.poll() is None:
                _wait_for(
                    "a worker takes the dead one's place",
                    lambda: len(_children(proc.pid)) == 2 or proc.poll() is not None,
                )
        assert proc.wait(60) == 1
    lines = [line for line in log.read_text().splitlines() if "worker" in line]
    assert len(lines) == 2, lines
    assert "exited with code 7; worker" in lines[0] and "started in its place" in lines[0]
    assert "workers keep dying (2 in 3600 s, the last: worker" in lines[1] and lines[1].endswith(
        "exited with code 7); stopping"
    )
    assert port_is_free("127.0.0.1", int(base.rsplit(":", 1)[1]))


def test_the_death_rate_counts_only_its_window() -> None:
    now = [0.0]
    rate = DeathRate(max_deaths=2, window=60, clock=lambda: now[0])
    assert [rate.add(), rate.add()] == [1, 2] and not rate.too_many()
    now[0] = 30.0
    assert rate.add() == 3 and rate.too_many()
    now[0] = 60.5  # the first two are out of the window
    assert rate.add() == 2 and not rate.too_many()


@pytest.mark.parametrize(
    ("status", "said"),
    [
        (9, "was killed by SIGKILL"),
        (11, "was killed by SIGSEGV"),
        (7 << 8, "exited with code 7"),
        (0, "exited with code 0"),
    ],
)
def test_how_a_worker_died_is_said_in_words(status: int, said: str) -> None:
    assert how_it_died(status) == said


def test_every_answer_is_dated_once_on_the_mocks_clock_which_the_admin_api_moves() -> None:
    from email.utils import parsedate_to_datetime

    from mock_server.app import create_app

    with serve_in_thread(lambda url: create_app(base_url=url)) as mock:
        before = httpx.get(f"{mock.base_url}/api/health")
        moved = httpx.post(f"{mock.base_url}/__admin/clock", json={"advanceSeconds": 18001})
        after = httpx.get(f"{mock.base_url}/api/health")
        refused = httpx.post(f"{mock.base_url}/api/order/create", json={})
        # A route with a parameter (Starlette's router), Cognito's, and an answer a fault wraps are dated once too.
        page = httpx.get(f"{mock.base_url}/mock/3ds/no-such-charge")
        cognito = httpx.post(f"{mock.base_url}/", content=b"{}", headers={"X-Amz-Target": "Nope"})
        fault = {"rules": [{"operation": "health", "effect": {"latencyMs": 1}}]}
        assert httpx.put(f"{mock.base_url}/__admin/faults", json=fault).status_code == 200, "faults"
        slowed = httpx.get(f"{mock.base_url}/api/health")
    assert moved.status_code == 200 and refused.status_code == 401 and page.status_code in (400, 404)
    assert cognito.status_code == 400 and slowed.headers["x-villa-injected-fault"] == "0:latencyMs=1"
    answers = (before, after, refused, page, cognito, slowed)
    assert [len(a.headers.get_list("date")) for a in answers] == [1] * 6  # not uvicorn's too
    start, end = (parsedate_to_datetime(a.headers["date"]).timestamp() for a in (before, after))
    assert 18001 <= end - start < 18001 + 60
    assert parsedate_to_datetime(refused.headers["date"]).timestamp() >= end
