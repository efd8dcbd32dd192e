"""The validating, recording proxy as a mitmproxy addon (``villa-contracts proxy`` runs it in-process).

Every exchange with the upstream is judged against the contracts (``suites.proxy.judge``), counted
into reports that are kept up to date as the traffic goes (``suites.proxy.session``), and, with
``villa_record``, written redacted to a recording (``suites.proxy.recording``). On prod, payment
operations are answered by the proxy and never forwarded; ``villa_rate_limit`` spaces what is.
With ``villa_faults`` (a rules file, docs/faults.md, the mock's ``villa_contracts.faults``), faults
are injected into the traffic it forwards: a status is answered by the proxy itself, a drop kills
the exchange, a latency waits before forwarding, a truncate cuts the body the client gets, a
``slowBodyMs`` goes through a loopback relay that paces the body (``suites.proxy.slow_body``: mitmproxy
cannot); the backend's whole answer is what is judged. A status or drop is reported as injected, never
judged as the backend's answer, and every injected answer carries ``X-Villa-Injected-Fault``.

It also runs in mitmproxy's own tools (reports and recording as with the CLI; findings in the log)::

    PYTHONPATH=. mitmdump --mode reverse:http://127.0.0.1:8080 -s suites/proxy/addon.py
        --set villa_report_dir=reports/proxy --set villa_record=recordings/today
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mitmproxy import ctx, exceptions, http

from suites.proxy.fences import Pacer, PaymentFence, refusal
from suites.proxy.findings import Finding, Verdict, finding_line
from suites.proxy.flows import REFUSED_KEY, bare_exchange, redacted, seen_exchange
from suites.proxy.judge import TrafficJudge
from suites.proxy.ledger import Ledger
from suites.proxy.recording import Recorder, meta_for
from suites.proxy.session import TrafficSession
from suites.proxy.slow_body import MARK as SLOW_MARK
from suites.proxy.slow_body import SlowRelay
from suites.proxy.upstream import parse_upstream
from villa_contracts.errors import VillaContractsError
from villa_contracts.faults import HEADER, INJECTED, Faults, Injected, read_file

if TYPE_CHECKING:
    from mitmproxy.addonmanager import Loader
    from mitmproxy.options import Options

    from villa_contracts.contract import Contracts
    from villa_contracts.reports import RunRecord

log = logging.getLogger("villa_contracts.proxy")
Listener = Callable[[Verdict, list[Finding]], None]
FENCED = "refused by the prod payments fence: never forwarded (--allow-prod-payments forwards them)"
INJECTED_BY_PROXY = INJECTED.replace("the mock", "the proxy")
SLOW_KEY = "villa.slow_body"
"""Flow metadata of a relayed flow (``slowBodyMs``): ``(relay id, upstream scheme, host, port)``."""
INJECTED_KEY = "villa.injected"
"""Flow metadata: the fault the proxy injected into the exchange (``villa_contracts.faults.Injected``)."""


def log_listener(verdict: Verdict, new: list[Finding]) -> None:
    """Without the CLI: each failure, and each new kind of warning, as one log line."""
    for finding in new:
        if finding.warning:
            log.info("! %s", finding_line(verdict, finding))
        else:
            log.warning("✗ %s", finding_line(verdict, finding))


class ContractProxy:
    """Judge, report and record the traffic of one upstream.

    Args:
        listener: told of each verdict after the reports hold it (default: the log).
    """

    def __init__(self, listener: Listener | None = None) -> None:
        self.listener = listener or log_listener
        self.session: TrafficSession | None = None
        self.recorder: Recorder | None = None
        self.fence: PaymentFence | None = None
        self.pacer = Pacer(None)
        self.upstream: tuple[str, str, int, str] | None = None
        self.result: tuple[RunRecord, dict[str, Path]] | None = None
        self.faults = Faults.empty()
        self._ticker: asyncio.Task[None] | None = None
        self.relay: SlowRelay | None = None

    def load(self, loader: Loader) -> None:
        """Declare the options (``--set villa_…=…`` in mitmproxy's tools)."""
        loader.add_option(
            "villa_upstream", str, "",
            "The backend whose traffic is checked, as a base URL (default: the reverse proxy's target).",
        )  # fmt: skip
        loader.add_option(
            "villa_contracts", Sequence[str], [],
            "The contracts to check (default: every backend API of the contracts directory).",
        )  # fmt: skip
        loader.add_option(
            "villa_contracts_dir", str, "", "A contracts directory (default: the one villa-contracts ships)."
        )
        loader.add_option(
            "villa_env", str, "dev",
            "The upstream's environment: on prod, payment operations are refused, not forwarded.",
            choices=("dev", "prod"),
        )  # fmt: skip
        loader.add_option("villa_allow_prod_payments", bool, False, "Forward payment operations even on prod.")
        loader.add_option(
            "villa_rate_limit", float, 0.0, "At most this many requests per second are forwarded (0: no limit)."
        )
        loader.add_option(
            "villa_catalog", str, "auto",
            "Judge prices against the contract's catalog: on, off, or auto (on when the upstream is a "
            "villa-contracts mock).",
            choices=("auto", "on", "off"),
        )  # fmt: skip
        loader.add_option(
            "villa_report_dir", str, "",
            "Keep the run's reports (junit.xml, summary.json, index.html) in this directory as the traffic goes.",
        )  # fmt: skip
        loader.add_option(
            "villa_record",
            str,
            "",
            "Record every exchange, redacted, into this new directory (flows.mitm, traffic.har).",
        )
        loader.add_option("villa_run_id", str, "", "The run's id in its reports (default: the time).")
        loader.add_option(
            "villa_faults", str, "",
            "Inject faults into the forwarded traffic from this YAML or JSON rules file (docs/faults.md).",
        )  # fmt: skip

    def configure(self, updated: set[str]) -> None:
        """Check the options and set up the run; a bad option raises ``OptionsError``."""
        if not any(name.startswith("villa_") for name in updated):
            return
        options = ctx.options
        target = options.villa_upstream or _reverse_target(options.mode)
        if not target:
            self.session = None
            return
        if options.villa_rate_limit < 0:
            raise _options_error(
                f"villa_rate_limit={options.villa_rate_limit}: give a number of requests per second, 0 or more"
            )
        try:
            self.upstream = parse_upstream(target)
            self._start(target.rstrip("/"), options)
        except (ValueError, VillaContractsError, OSError) as exc:
            raise _options_error(str(exc)) from exc

    def _start(self, target: str, options: Options) -> None:
        from villa_contracts.contract import load

        contracts = load(options.villa_contracts_dir or None)
        names = tuple(c.name for c in contracts.select(tuple(options.villa_contracts)))
        prices = catalog_prices(contracts) if _uses_catalog(options.villa_catalog, target) else None
        judge = TrafficJudge(contracts, names, prices=prices)
        run_id = options.villa_run_id or time.strftime("%Y%m%d-%H%M%S")
        operations = judge.operations()
        ledger = Ledger(run_id=run_id, target=target, contracts=names, operations=operations, started_at=time.time())
        report_dir = Path(options.villa_report_dir) if options.villa_report_dir else None
        self.recorder = None
        if options.villa_record:
            mode = ",".join(options.mode)
            meta = meta_for(upstream=target, contracts=names, catalog=prices is not None, mode=mode)
            self.recorder = Recorder(Path(options.villa_record), meta)
        self.session = TrafficSession(judge, ledger, report_dir=report_dir, listener=self.listener)
        self.fence = PaymentFence(contracts, env=options.villa_env, allowed=options.villa_allow_prod_payments)
        self.pacer = Pacer(options.villa_rate_limit or None)
        self.faults = Faults.empty()
        if options.villa_faults:
            self.faults = read_file(options.villa_faults, contracts)
            if any(rule.effect == "slowBodyMs" for rule in self.faults.rules):
                self.relay = SlowRelay(target, verify=not options.ssl_insecure)

    async def running(self) -> None:
        """Keep the reports and the HAR file fresh while the traffic is quiet; start the slow-body relay."""
        if self.relay is not None:
            await self.relay.start()
        if self.session is not None:
            self._ticker = asyncio.get_running_loop().create_task(self._tick())

    async def _tick(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(1.0)
            beats += 1
            if self.session is not None:
                self.session.tick()
            if self.recorder is not None and beats % 5 == 0:
                self.recorder.write_har()

    def _ours(self, flow: http.HTTPFlow) -> bool:
        if self.session is None or self.upstream is None:
            return False
        scheme, host, port, _ = self.upstream
        return flow.request.host.lower() == host and flow.request.port == port and flow.request.scheme == scheme

    async def request(self, flow: http.HTTPFlow) -> None:
        """Refuse what a fence forbids; wait for the rate limit; forward the rest untouched."""
        if flow.response is not None or flow.error is not None or not flow.live or not self._ours(flow):
            return
        assert self.upstream is not None
        path = flow.request.path.split("?", 1)[0]
        base = self.upstream[3]
        refused = (
            self.fence.refuses(path[len(base) :] if base and path.startswith(base) else path) if self.fence else None
        )
        if refused is not None:
            status, body, headers = refusal(refused)
            flow.response = http.Response.make(status, json.dumps(body).encode(), headers)
            flow.metadata[REFUSED_KEY] = f"{refused.contract}.{refused.operation_id}"
            log.warning(
                "refused %s.%s (%s %s): payments are not forwarded on prod (--allow-prod-payments forwards them)",
                refused.contract, refused.operation_id, flow.request.method, path,
            )  # fmt: skip
            return
        fault = self.faults.draw(flow.request.method, path[len(base) :] if base and path.startswith(base) else path)
        if fault is not None and await self._inject(flow, fault):
            return
        wait = self.pacer.delay()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _inject(self, flow: http.HTTPFlow, fault: Injected) -> bool:
        """Apply an injected fault; True when the exchange is over (answered by the proxy, or killed)."""
        assert self.session is not None
        flow.metadata[INJECTED_KEY] = fault
        log.info("injected fault %s into %s %s", fault.label, flow.request.method, flow.request.path)
        if fault.effect == "latencyMs":
            await asyncio.sleep(float(fault.value) / 1000)
            return False
        if fault.effect == "truncate":
            return False  # applied to the answer (``response``)
        if fault.effect == "slowBodyMs" and self.relay is not None:  # the relay fetches it and paces its body
            relay_id, mark = self.relay.mark(float(fault.value))
            request = flow.request
            flow.metadata[SLOW_KEY] = (relay_id, request.scheme, request.host, request.port)
            request.headers[SLOW_MARK] = mark
            request.scheme, request.host, request.port = "http", "127.0.0.1", self.relay.port
            return False
        contract = fault.contract or "-"
        operation = fault.operation_id or f"{flow.request.method} {flow.request.path.split('?', 1)[0]}"
        if fault.effect == "drop":
            self.session.refuse(contract, operation, f"{INJECTED_BY_PROXY} ({HEADER}: {fault.label}): killed")
            flow.kill()  # type: ignore[no-untyped-call]
            return True
        headers = {"content-type": "application/json", HEADER: fault.label}
        flow.response = http.Response.make(int(fault.value), json.dumps(fault.error_body()).encode(), headers)
        return True

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        """A slow body is streamed to the client as the relay paces it."""
        fault = flow.metadata.get(INJECTED_KEY)
        if SLOW_KEY in flow.metadata and isinstance(fault, Injected) and flow.response is not None:
            flow.response.stream = True
            flow.response.headers[HEADER] = fault.label  # sent now, before the paced body

    def _unrelayed(self, flow: http.HTTPFlow) -> None:
        """Point a relayed flow back at the upstream, with the whole body the relay sent (what is judged)."""
        slow = flow.metadata.pop(SLOW_KEY, None)
        if slow is None or self.relay is None:
            return
        relay_id, scheme, host, port = slow
        flow.request.scheme, flow.request.host, flow.request.port = scheme, host, port
        flow.request.headers.pop(SLOW_MARK, None)
        body = self.relay.take(relay_id)
        if flow.response is not None and body is not None:
            flow.response.raw_content = body

    def response(self, flow: http.HTTPFlow) -> None:
        """Record, judge and report one answered exchange."""
        self._unrelayed(flow)
        if not self._ours(flow):
            return
        fault = flow.metadata.get(INJECTED_KEY)
        if isinstance(fault, Injected) and flow.response is not None:
            flow.response.headers[HEADER] = fault.label
        self._handle(flow)  # the backend's whole answer is judged; a truncate cuts only what the client gets
        if isinstance(fault, Injected) and fault.effect == "truncate" and flow.response is not None:
            _truncate(flow.response, fault)

    def error(self, flow: http.HTTPFlow) -> None:
        """An exchange the upstream never answered."""
        self._unrelayed(flow)
        if flow.response is not None or not self._ours(flow):
            return
        fault = flow.metadata.get(INJECTED_KEY)
        if isinstance(fault, Injected) and fault.effect == "drop":
            return  # reported when it was killed
        self._handle(flow)

    def _handle(self, flow: http.HTTPFlow) -> None:
        assert self.session is not None and self.upstream is not None
        what = f"{flow.request.method} {flow.request.path.split('?')[0]}"
        try:
            exchange, outside = seen_exchange(flow, self.upstream[3])
        except Exception as exc:  # a flow it cannot even read is still reported, with what is surely known of it
            self._unjudged(flow, f"the proxy could not read it: {type(exc).__name__}: {exc}")
            return
        if self.recorder is not None:
            try:
                self.recorder.add(redacted(flow))  # written before it is reported: a killed proxy keeps it
            except Exception:  # the recording misses it (said in the log); the verdict must not
                log.exception("villa-contracts proxy: could not record %s", what)
        refused = flow.metadata.get(REFUSED_KEY)
        fault = flow.metadata.get(INJECTED_KEY)
        try:
            if refused:
                contract, _, operation = str(refused).partition(".")
                self.session.refuse(contract, operation, FENCED)
            elif isinstance(fault, Injected) and fault.effect == "status":  # the proxy's answer: never judged
                operation = fault.operation_id or what
                reason = f"{INJECTED_BY_PROXY} ({HEADER}: {fault.label}): answered by the proxy, never forwarded"
                self.session.refuse(fault.contract or "-", operation, reason)
            else:
                self.session.handle(exchange, outside=outside)
        except Exception as exc:  # one odd exchange must not stop the proxy, nor go unreported
            log.exception("villa-contracts proxy: could not judge %s", what)
            self._unjudged(flow, f"the proxy failed on it: {type(exc).__name__}: {exc}")

    def _unjudged(self, flow: http.HTTPFlow, reason: str) -> None:
        assert self.session is not None
        try:
            self.session.unjudged(bare_exchange(flow), reason[:300])
        except Exception:
            log.exception("villa-contracts proxy: could not report %s", flow.request.method)

    def done(self) -> None:
        """Write the final reports and close the recording."""
        if self._ticker is not None:
            self._ticker.cancel()
        if self.relay is not None:
            self.relay.close()
        if self.recorder is not None:
            with contextlib.suppress(OSError):
                self.recorder.close()
        if self.session is not None:
            self.result = self.session.finish()


def _options_error(message: str) -> exceptions.OptionsError:
    """The ``OptionsError`` mitmproxy refuses an option with (its constructor is untyped)."""
    return exceptions.OptionsError(message)  # type: ignore[no-untyped-call]


def _reverse_target(modes: Sequence[str]) -> str:
    """The target of the first ``reverse:URL`` mode, if any."""
    for mode in modes:
        if mode.startswith("reverse:"):
            return mode.split(":", 1)[1].split("@", 1)[0]
    return ""


def _uses_catalog(setting: str, target: str) -> bool:
    if setting != "auto":
        return setting == "on"
    from villa_contracts.target import probe

    try:
        return probe(target) is not None
    except VillaContractsError:
        return False


def catalog_prices(contracts: Contracts) -> dict[tuple[int, str], int]:
    """The catalog's prices in satang by ``(cprcode, branch)``."""
    from villa_contracts.domain.catalog import BusinessData

    return BusinessData.from_contract(contracts).prices()


def _truncate(response: http.Response, fault: Injected) -> None:
    """Send the client part of the body under the whole body's length, then close, as the mock does."""
    raw = response.raw_content or b""
    if "transfer-encoding" in response.headers:
        del response.headers["transfer-encoding"]
    response.headers["content-length"] = str(len(raw))
    response.headers["connection"] = "close"
    response.raw_content = raw[: fault.kept(len(raw))]


addons = [ContractProxy()]
