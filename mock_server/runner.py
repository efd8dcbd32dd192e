"""Serve an ASGI app on a real socket: in a background thread (tests) or in the foreground (CLI).

The socket is bound before the app is built, so that with port 0 the real port, and hence the base
URL the app must know (its Cognito issuer, its 3-D Secure links), is known up front.

Example:
    >>> from starlette.applications import Starlette
    >>> with serve_in_thread(lambda url: Starlette()) as server:
    ...     server.base_url.startswith("http://127.0.0.1:")
    True

"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

import uvicorn
from starlette.types import ASGIApp
from uvicorn.logging import DefaultFormatter

from mock_server.connections import HEAD_TIMEOUT, MAX_CONNECTIONS, connection_budget, more_files, protocol_class
from mock_server.supervisor import DeathRate, Supervisor
from villa_contracts.redact import redact

Build = Callable[[str], ASGIApp]

_STOP_TIMEOUT = 10.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        # Lets a restarted mock take its port back while old connections sit in TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted connections inherit this on Linux. uvicorn writes a response's head and body
        # separately; with Nagle on, the body waits for the client's delayed ACK (~40 ms a call).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(exc.errno, f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    sock.set_inheritable(True)
    return sock


def _base_url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _NoCardNumbers(logging.Filter):
    """Masks card numbers in log records (an access log line carries the path and query string)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(str(record.msg))
        if record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


class _Server(uvicorn.Server):
    """uvicorn's server, telling ``on_started`` once it serves, and stopping at once when ``stop_soon`` asks.

    uvicorn looks at ``should_exit`` every 0.1 s and then pauses 0.1 s for open connections to finish; a
    server in a thread that is asked to stop wakes at once, and skips the pause when no connection is open.
    """

    on_started: Callable[[], None] | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and self.on_started is not None:
            self.on_started()

    async def main_loop(self) -> None:
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)
            should_exit = await self.on_tick(counter)

    def stop_soon(self) -> None:
        """Ask the server to finish (from any thread); its loop wakes at once."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.server_state.connections or self.server_state.tasks:
            await super().shutdown(sockets)
            return
        # Nothing open: uvicorn's own shutdown, without its pause for connections to finish.
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()


@dataclass(frozen=True, slots=True)
class Limits:
    """What one server gives each connection, and all of them (``mock_server.connections``).

    Attributes:
        head_timeout: seconds a request's head may take to arrive.
        max_connections: connections held at most (fewer if the process may open fewer files); past
            it, the one waiting longest on its client makes room.
    """

    head_timeout: float = HEAD_TIMEOUT
    max_connections: int = MAX_CONNECTIONS


def _server(
    app: ASGIApp,
    log_level: str,
    access_log: bool = False,
    *,
    on_started: Callable[[], None] | None = None,
    limits: Limits = Limits(),  # noqa: B008 - frozen
) -> _Server:
    budget = connection_budget(limits.max_connections)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        # The journal records every call; one log line per request cost about a fifth of the mock's
        # time under load, so it is opt-in (`serve --access-log`).
        access_log=access_log,
        date_header=False,  # the guard dates every answer on the mock's clock (mock_server.guard)
        lifespan="auto",
        timeout_graceful_shutdown=5,
        # Idle keep-alive connections are closed after 5 s; heads have a deadline, and past the
        # budget the connection waiting longest on its client makes room (mock_server.connections),
        # so slow or idle clients cannot hold the server. uvicorn's own limit, just above, turns
        # newcomers away only when every connection has a request in the works.
        timeout_keep_alive=5,
        http=protocol_class(head_timeout=limits.head_timeout, max_connections=budget),
        limit_concurrency=budget + max(8, budget // 8),
    )
    server = _Server(config)
    server.on_started = on_started
    for name in ("uvicorn.access", "uvicorn.error", "villa_contracts.mock"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoCardNumbers) for f in logger.filters):
            logger.addFilter(_NoCardNumbers())
    return server


@dataclass
class RunningServer:
    """A server running in a daemon thread; ``stop()`` (or leaving the ``with`` block) ends it.

    Attributes:
        base_url: ``http://<host>:<port>``, the URL clients use.
        host: the interface it listens on.
        port: the port it listens on (the real one when 0 was asked for).

    """

    base_url: str
    host: str
    port: int
    _server: _Server = field(repr=False, compare=False)
    _thread: threading.Thread = field(repr=False, compare=False)

    def stop(self) -> None:
        """Ask the server to finish, wait for it, and free the port (idempotent)."""
        self._server.stop_soon()
        self._thread.join(_STOP_TIMEOUT)
        if self._thread.is_alive():
            # Connections that never close would hold a graceful shutdown forever.
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT)

    @property
    def running(self) -> bool:
        """Whether the server thread is still alive."""
        return self._thread.is_alive()

    def __enter__(self) -> RunningServer:
        """Return the running server."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()


def serve_in_thread(
    build: Build,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
    log_level: str = "warning",
    limits: Limits = Limits(),  # noqa: B008 - frozen
) -> RunningServer:
    """Start ``build(base_url)`` on ``host:port`` in a daemon thread and return once it accepts requests.

    Args:
        build: makes the ASGI app, given the base URL it will be reached at.
        host: the interface to listen on.
        port: the port; 0 picks a free one.
        startup_timeout: seconds to wait for the server to start.
        log_level: uvicorn's log level.
        limits: the connections' deadline and number.

    Returns:
        The running server (also a context manager that stops it).

    Raises:
        OSError: the address cannot be bound.
        RuntimeError: the server failed, or did not start within ``startup_timeout``.

    """
    sock = _bind(host, port)
    port = sock.getsockname()[1]
    base_url = _base_url(host, port)
    try:
        server = _server(build(base_url), log_level, limits=limits)
    except BaseException:
        sock.close()
        raise
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the starting thread (SystemExit on a failed startup)
            failure.append(exc)
        finally:
            sock.close()

    thread = threading.Thread(target=run, name=f"villa-mock-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            reason = f": {failure[0]!r}" if failure else ""
            raise RuntimeError(f"the server on {base_url} stopped during startup{reason}") from (
                failure[0] if failure else None
            )
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT)
            raise RuntimeError(f"the server on {base_url} did not start within {startup_timeout} s")
        time.sleep(0.005)
    return RunningServer(base_url=base_url, host=host, port=port, _server=server, _thread=thread)


def serve_forever(build: Build, *, host: str, port: int, log_level: str = "info", access_log: bool = False) -> None:
    """Serve ``build(base_url)`` on ``host:port`` in the foreground until Ctrl-C or SIGTERM, then return.

    Args:
        build: makes the ASGI app, given the base URL it will be reached at.
        host: the interface to listen on.
        port: the port; 0 picks a free one (the URL handed to ``build`` tells which).
        log_level: uvicorn's log level.
        access_log: log one line per request (card numbers masked).

    Raises:
        OSError: the address cannot be bound.

    """
    sock = _bind(host, port)
    # uvicorn captures SIGINT and SIGTERM while it serves, shuts down gracefully, puts the previous
    # handlers back and raises the signal again. With Python's default SIGTERM disposition that
    # killed the process by the signal (exit 143); as a KeyboardInterrupt, like SIGINT, it ends
    # here. A signal while the app is still being built stops the start the same way.
    _log_to_console()
    more_files()
    # SIGINT too: a process started in the background by a shell (or by a test runner's worker) inherits it
    # ignored, and a Ctrl-C or `kill -INT` while the app is being built (the port already answers) was lost.
    stops = (signal.SIGTERM, signal.SIGINT)
    previous = {number: signal.signal(number, signal.default_int_handler) for number in stops}
    try:
        server = _server(build(_base_url(host, sock.getsockname()[1])), log_level, access_log)
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        sock.close()


def serve_workers(
    build: Build,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "info",
    access_log: bool = False,
    on_listening: Callable[[str], None] | None = None,
    rate: DeathRate | None = None,
) -> int:
    """Serve ``build(base_url)`` in ``workers`` forked processes sharing one listening socket, until stopped.

    Each process builds its own app (so ``build`` must open a store the processes share: SQLite or
    Redis). A worker that dies is replaced, in one log line (``mock_server.supervisor``); Ctrl-C or
    SIGTERM to this process stops every worker. Returns when every worker has stopped.

    Args:
        build: makes the ASGI app, given the base URL it will be reached at (called in each worker).
        host: the interface to listen on.
        port: the port; 0 picks a free one.
        workers: how many processes.
        log_level: uvicorn's log level.
        access_log: log one line per request.
        on_listening: called with the base URL once the socket listens, before the workers start.
        rate: when workers die too often to go on (default: more than 5 within 60 s).

    Returns:
        0 when stopped, 1 when the service could not go on (a first worker failed to start, or
        workers kept dying); the reason is logged in one line.

    Raises:
        OSError: the address cannot be bound.

    """
    sock = _bind(host, port)
    base_url = _base_url(host, sock.getsockname()[1])
    if on_listening is not None:
        on_listening(base_url)

    def work(ready: Callable[[], None]) -> None:
        server = _server(build(base_url), log_level, access_log, on_started=ready)
        server.run(sockets=[sock])

    _log_to_console()
    more_files()
    try:
        return Supervisor(work, workers=workers, rate=rate).run()
    finally:
        sock.close()


def _log_to_console() -> None:
    """Show the mock's own lines (``villa_contracts.mock``: the store, the workers, mock bugs) as uvicorn shows its.

    Only where logging is not set up already (the command line; a test's capture is left alone).
    """
    logger = logging.getLogger("villa_contracts.mock")
    if logger.hasHandlers():
        return
    handler = logging.StreamHandler()
    handler.setFormatter(DefaultFormatter("%(levelprefix)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
