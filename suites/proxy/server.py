"""Run mitmproxy in-process, in a thread of its own, with the contract addon; stop it and free its port.

``start_proxy`` builds a mitmproxy ``Master`` with the default addons (no console output of its
own) and ``ContractProxy``, in reverse mode (clients point their base URL at the proxy) or regular
mode (devices use it as their HTTP proxy; only the upstream's TLS is intercepted, with the CA kept
in ``confdir``, never ``~/.mitmproxy``). It returns once the proxy listens, with its real port.
``RunningProxy.stop`` turns the servers off first (``server=False``) so the port is free when it
returns, then shuts the master down: its addons' ``done`` writes the final reports.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mitmproxy import addons, ctx, exceptions, options
from mitmproxy.master import Master

from suites.proxy.upstream import parse_upstream
from villa_contracts.errors import UsageError
from villa_contracts.redact import redact

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from suites.proxy.addon import ContractProxy

Mode = Literal["reverse", "regular"]
# mitmproxy's master and addon manager are untyped: they are handled as Any here.
_default_addons: Any = addons.default_addons
CA_CERT = "mitmproxy-ca-cert.pem"
_STOP_TIMEOUT = 15.0


class _Ready:
    """Tells the starting thread when the servers are up, or why they are not."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.addresses: list[tuple[str, int]] = []
        self.error = ""

    def running(self) -> None:
        master: Any = ctx.master
        proxyserver = master.addons.get("proxyserver")
        failed = [str(server.last_exception) for server in proxyserver.servers if not server.is_running]
        if failed:
            self.error = failed[0].splitlines()[0]
            master.shutdown()
        else:
            self.addresses = [(str(address[0]), int(address[1])) for address in proxyserver.listen_addrs()]
        self.event.set()


class _Forward(logging.Handler):
    """mitmproxy's and the addon's warnings, one redacted line each, to whoever runs the proxy."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.WARNING)
        self.say = say
        self.started = False  # until the proxy listens, a failure is raised as one error, not logged too

    def emit(self, record: logging.LogRecord) -> None:
        if not self.started:
            return
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f": {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
        self.say(redact(" ".join(text.split()))[:400])


@dataclass
class RunningProxy:
    """A proxy running in a daemon thread.

    Attributes:
        host: the interface it listens on.
        port: the port it listens on (the real one when 0 was asked for).
        mode: ``reverse`` or ``regular``.
        confdir: mitmproxy's directory (its CA certificate).
        addon: the contract addon (its ``session`` and, once stopped, its ``result``).
    """

    host: str
    port: int
    mode: Mode
    confdir: Path
    addon: ContractProxy
    _master: Any = field(repr=False)
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _handler: logging.Handler = field(repr=False)

    @property
    def url(self) -> str:
        """``http://host:port``: the base URL clients use (reverse) or the HTTP proxy's address (regular)."""
        return f"http://[{self.host}]:{self.port}" if ":" in self.host else f"http://{self.host}:{self.port}"

    @property
    def ca_cert(self) -> Path:
        """The CA certificate devices install to let the proxy see their HTTPS traffic (regular mode)."""
        return self.confdir / CA_CERT

    @property
    def running(self) -> bool:
        """Whether the proxy's thread is alive."""
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop listening (the port is free when this returns), then shut down (idempotent)."""
        if self._thread.is_alive():

            async def down() -> None:
                self._master.options.update(server=False)
                proxyserver = self._master.addons.get("proxyserver")
                # Waits for the update the option started: its servers are stopped once this returns.
                await proxyserver.servers.update([])
                # End open (keep-alive) client connections here, so none is cancelled mid-flight later.
                for handler in list(proxyserver.connections.values()):
                    client = handler.transports.get(handler.client)
                    if client is not None and client.handler is not None:
                        client.handler.cancel("the proxy stops")
                for _ in range(100):
                    if not proxyserver.connections:
                        break
                    await asyncio.sleep(0.05)
                self._master.shutdown()

            try:
                asyncio.run_coroutine_threadsafe(down(), self._loop).result(_STOP_TIMEOUT)
            except (RuntimeError, TimeoutError):  # the loop ended on its own meanwhile
                pass
            self._thread.join(_STOP_TIMEOUT)
        for name in ("mitmproxy", "villa_contracts.proxy"):
            logging.getLogger(name).removeHandler(self._handler)

    def __enter__(self) -> RunningProxy:
        """Return the running proxy."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop it."""
        self.stop()


def start_proxy(
    addon: ContractProxy,
    *,
    upstream: str,
    mode: Mode = "reverse",
    listen_host: str = "127.0.0.1",
    listen_port: int = 0,
    confdir: Path,
    settings: Mapping[str, Any] | None = None,
    say: Callable[[str], None] | None = None,
    startup_timeout: float = 30.0,
) -> RunningProxy:
    """Start mitmproxy with ``addon`` in front of ``upstream``; return once it listens.

    Args:
        addon: the contract addon.
        upstream: the backend's base URL.
        mode: ``reverse`` (clients use the proxy as their base URL) or ``regular`` (an HTTP proxy).
        listen_host: the interface to listen on.
        listen_port: the port (0: any free one).
        confdir: mitmproxy's directory (made, private to its owner: it holds the CA's key).
        settings: the addon's ``villa_*`` options.
        say: told mitmproxy's warnings and the addon's errors, one line each.
        startup_timeout: seconds to wait for the proxy to listen.

    Raises:
        UsageError: an option was refused (the message says which and why).
        OSError: the proxy could not listen (port in use, unknown interface).
    """
    scheme, host, port, _ = parse_upstream(upstream)
    confdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    spec = f"reverse:{scheme}://{host}:{port}" if mode == "reverse" else "regular"
    extra: dict[str, Any] = {"connection_strategy": "lazy"}  # a refused request never opens an upstream connection
    if mode == "regular":
        extra["allow_hosts"] = [rf"^{re.escape(host)}:{port}$"]  # other hosts' TLS is tunnelled, not opened
    ready = _Ready()
    box: dict[str, Any] = {}
    handler = _Forward(say or (lambda line: None))
    for name in ("mitmproxy", "villa_contracts.proxy"):
        logging.getLogger(name).addHandler(handler)

    async def main() -> None:
        opts = options.Options(listen_host=listen_host, listen_port=listen_port, mode=[spec], confdir=str(confdir))
        master: Any = Master(opts)
        try:
            master.addons.add(*_default_addons())
            master.addons.add(ready, addon)
            # Bodies over 4 MiB pass through unheld (the proxy judges them too large: MAX_PARSED is smaller),
            # and upstreams are asked for uncompressed answers: what is held stays bounded (docs/limits.md).
            master.options.update(**{"stream_large_bodies": "4m", "anticomp": True, **extra, **dict(settings or {})})
        except BaseException:
            # run() never starts, so its done() would not take mitmproxy's log handler off the root logger.
            await master.done()
            raise
        box["master"], box["loop"] = master, asyncio.get_running_loop()
        await master.run()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the starting thread
            box["failure"] = exc
        finally:
            ready.event.set()

    thread = threading.Thread(target=run, name=f"villa-proxy-{listen_port}", daemon=True)
    thread.start()
    try:
        _await_listening(ready, box, thread, f"{listen_host}:{listen_port}", startup_timeout)
    except BaseException:
        for name in ("mitmproxy", "villa_contracts.proxy"):
            logging.getLogger(name).removeHandler(handler)
        raise
    handler.started = True
    address = ready.addresses[0]
    return RunningProxy(address[0], address[1], mode, confdir, addon, box["master"], box["loop"], thread, handler)


def _await_listening(
    ready: _Ready, box: dict[str, Any], thread: threading.Thread, where: str, startup_timeout: float
) -> None:
    """Wait until the proxy started in ``thread`` listens at ``where``.

    Raises:
        UsageError: mitmproxy refused an option.
        OSError: it did not start, or could not listen (the message says why, in one line).
    """
    if not ready.event.wait(startup_timeout):
        raise OSError(f"the proxy did not listen on {where} within {startup_timeout:g} s")
    failure = box.get("failure")
    if isinstance(failure, exceptions.OptionsError):
        raise UsageError(str(failure)) from None
    if failure is not None:
        raise OSError(f"the proxy could not start: {type(failure).__name__}: {failure}") from failure
    if ready.error or not ready.addresses:
        thread.join(_STOP_TIMEOUT)
        reason = ready.error.rsplit(": ", 1)[-1] if ready.error else "no server is running"
        raise OSError(f"cannot listen on {where}: {reason} (choose another --listen-port)")
