"""``villa-contracts proxy``: a validating, recording proxy in front of a backend; ``proxy check`` re-checks."""

from __future__ import annotations

import contextlib
import gc
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.proxy.findings import Finding, Verdict
    from suites.proxy.recording import Recording
    from suites.proxy.server import RunningProxy
    from villa_contracts.contract import Contracts
    from villa_contracts.reports import RunRecord

EPILOG = """\b
Examples:
  villa-contracts proxy --upstream https://dev.example
      # clients (web shop, app, SDK, Postman) use http://127.0.0.1:8081 as their base URL
  villa-contracts proxy --upstream https://dev.example --mode regular --listen-host 0.0.0.0
      # a device's HTTP proxy (install the CA certificate it prints for HTTPS)
  villa-contracts proxy --upstream http://127.0.0.1:8080 --record recordings/today
  villa-contracts proxy check recordings/today --contracts-dir /tmp/contracts-changed

\b
Exit codes:
  0  every exchange held the contracts (warnings aside)
  1  an exchange violated a contract (each printed as it happened; see reports/<run-id>/)
  2  the proxy could not run (bad options, upstream unreachable, port in use) or saw no traffic
  A proxy run ends with Ctrl-C or SIGTERM: that is not an interruption, its reports are final.
"""

CHECK_EPILOG = """\b
Examples:
  villa-contracts proxy check recordings/today
  villa-contracts proxy check recordings/today --contracts-dir ~/changed/contracts   # what a change breaks

\b
Exit codes:
  0  every recorded exchange holds today's contracts
  1  an exchange violates them (see reports/<run-id>/)
  2  the recording cannot be read, or holds no exchange of the checked contracts
"""

contracts_dir = click.option(
    "--contracts-dir", type=click.Path(file_okay=False, path_type=Path), envvar="VILLA_CONTRACTS_DIR",
    help="Judge by this contracts directory (default: the one villa-contracts ships).",
)  # fmt: skip
report_dir = click.option(
    "--report-dir", default="reports", show_default=True, type=click.Path(file_okay=False, path_type=Path),
    help="Reports go to REPORT_DIR/<run-id>/ (junit.xml, summary.json, index.html), kept up to date as the run goes.",
)  # fmt: skip
run_id_option = click.option("--run-id", help="Name of this run's report folder (default: the time).")


class Printer:
    """Prints each finding as it happens: every failure, and each kind of warning once (``Ledger.add``)."""

    def __init__(self, *, color: bool) -> None:
        self.color = color

    def __call__(self, verdict: Verdict, new: list[Finding]) -> None:
        """Show one verdict (called from the proxy's thread, after the reports hold it)."""
        from suites.proxy.findings import finding_line

        for finding in new:
            mark = "! " if finding.warning else "✗ "
            if self.color:
                mark = click.style(mark, fg="yellow" if finding.warning else "red", bold=not finding.warning)
            click.echo(mark + finding_line(verdict, finding))
        if not verdict.exchange.answered and verdict.note:
            click.echo(f"? {verdict.exchange.method} {verdict.exchange.path}: {verdict.note}", err=True)


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run; SIGINT too when a shell started the proxy in the background (it ignores it)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _color() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _finish(record: RunRecord, paths: dict[str, Path]) -> None:
    from villa_contracts.reports import summary_lines

    for line in summary_lines(record, paths=paths, color=_color()):
        click.echo(line)
    sys.exit(record.exit_code if record.exit_code is not None else 2)


@click.group("proxy", invoke_without_command=True, epilog=EPILOG)
@click.option("--upstream", envvar="VILLA_PROXY_UPSTREAM",
              help="The backend to put the proxy in front of: its base URL (e.g. https://dev.example).")  # fmt: skip
@click.option(
    "--mode", type=click.Choice(["reverse", "regular"]), default="reverse", show_default=True,
    help="reverse: clients use the proxy as their base URL; regular: devices use it as their HTTP proxy.",
)  # fmt: skip
@click.option("--listen-host", default="127.0.0.1", show_default=True, envvar="VILLA_PROXY_LISTEN_HOST",
              help="Interface to listen on (0.0.0.0 lets devices of the network in).")  # fmt: skip
@click.option("--listen-port", default=8081, show_default=True, type=click.IntRange(0, 65535),
              envvar="VILLA_PROXY_LISTEN_PORT", help="Port to listen on (0: any free port).")  # fmt: skip
@options.contract
@contracts_dir
@options.env
@click.option("--allow-prod-payments", is_flag=True, help="Forward payment operations even when the env is prod.")
@click.option("--rate-limit", type=click.FloatRange(min=0.1), envvar="VILLA_PROXY_RATE_LIMIT",
              help="Forward at most this many requests per second.")  # fmt: skip
@click.option(
    "--record", "record_dir", type=click.Path(file_okay=False, path_type=Path),
    help="Record every exchange into this new directory (flows.mitm, traffic.har), with tokens, passwords, "
    "secrets, card numbers and CVVs taken out first.",
)  # fmt: skip
@report_dir
@run_id_option
@click.option(
    "--confdir", default=".villa-proxy", show_default=True, type=click.Path(file_okay=False, path_type=Path),
    envvar="VILLA_PROXY_CONFDIR", help="mitmproxy's directory: its CA certificate and key (never ~/.mitmproxy).",
)  # fmt: skip
@click.option(
    "--catalog", type=click.Choice(["auto", "on", "off"]), default="auto", show_default=True,
    help="Judge prices against the contract's catalog (auto: when the upstream is a villa-contracts mock).",
)  # fmt: skip
@click.option(
    "--faults", "faults_file", type=click.Path(dir_okay=False, exists=True), metavar="FILE",
    help="Inject faults into the forwarded traffic from this YAML or JSON rules file (docs/faults.md): "
    "status, drop, latencyMs, truncate, slowBodyMs; reported as injected, never as the backend's.",
)  # fmt: skip
@options.admin_token
@click.pass_context
def command(
    ctx: click.Context,
    upstream: str | None,
    mode: str,
    listen_host: str,
    listen_port: int,
    contracts: tuple[str, ...],
    contracts_dir: Path | None,
    env: str | None,
    allow_prod_payments: bool,
    rate_limit: float | None,
    record_dir: Path | None,
    report_dir: Path,
    run_id: str | None,
    confdir: Path,
    catalog: str,
    faults_file: str | None,
    admin_token: str | None,
) -> None:
    """Put a validating, recording proxy in front of a backend (a dev environment, a mock).

    Every exchange between the clients and the upstream is checked against the contracts: its
    operation (or undocumented), request and answer against their schemas and statuses, and the
    business rules one exchange (or the exchanges seen so far) can decide: totals to the satang,
    error bodies, card numbers masked, ownerId = the token's sub, order states consistent with what
    was seen. Each violation prints as one line; the reports (with the traffic's coverage) are kept
    up to date in REPORT_DIR/<run-id>/. Ctrl-C (or SIGTERM) stops it and frees the port.

    With --env prod (or VILLA_ENV=prod) payment operations are answered by the proxy with an error
    and never forwarded, unless --allow-prod-payments.
    """
    if ctx.invoked_subcommand is not None:
        if upstream and ctx.get_parameter_source("upstream") == click.core.ParameterSource.COMMANDLINE:
            raise click.UsageError("`proxy check` re-checks a recording: it takes no --upstream")
        return
    if not upstream:
        raise click.UsageError("--upstream URL is required (the backend to put the proxy in front of)")
    upstream = upstream.rstrip("/")
    names, mock = _preflight(upstream, listen_host, listen_port, contracts, contracts_dir, admin_token)
    from suites.proxy.addon import ContractProxy
    from suites.proxy.server import start_proxy
    from villa_contracts.reports import ReportWriter, run_directory_name

    uses_catalog = catalog == "on" or (catalog == "auto" and mock)
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S") + "-proxy"
    directory = report_dir / run_directory_name(run_id)
    ReportWriter.from_dir(directory).check_writable()
    settings = {
        "villa_upstream": upstream, "villa_contracts": names, "villa_contracts_dir": str(contracts_dir or ""),
        "villa_env": env or "dev", "villa_allow_prod_payments": allow_prod_payments,
        "villa_rate_limit": rate_limit or 0.0, "villa_catalog": "on" if uses_catalog else "off",
        "villa_report_dir": str(directory), "villa_record": str(record_dir or ""), "villa_run_id": run_id,
        "villa_faults": str(faults_file or ""),
    }  # fmt: skip
    addon = ContractProxy(Printer(color=_color()))
    with _stop_on_signals():
        proxy = start_proxy(
            addon,
            upstream=upstream,
            mode="regular" if mode == "regular" else "reverse",
            listen_host=listen_host,
            listen_port=listen_port,
            confdir=confdir,
            settings=settings,
            say=lambda line: click.echo(f"proxy: {line}", err=True),
        )
        try:
            _banner(proxy, names, settings, directory, record_dir)
            while proxy.running:
                time.sleep(0.2)
            click.echo("proxy: stopped on its own (see the lines above)", err=True)
        except KeyboardInterrupt:
            pass
        finally:
            proxy.stop()
    if addon.result is None:
        raise click.ClickException("the proxy stopped without a verdict")
    record, paths = addon.result
    _finish(record, paths)


def _preflight(
    upstream: str,
    listen_host: str,
    listen_port: int,
    contracts: tuple[str, ...],
    contracts_dir: Path | None,
    admin_token: str | None,
) -> tuple[list[str], bool]:
    """The contracts' names and whether the upstream is a mock, once what a user may have got wrong is checked.

    Said before mitmproxy loads (it takes seconds): the upstream's form, a busy port, a contract name, an unreachable
    upstream; each is one line and exit 2.
    """
    from suites.proxy.upstream import parse_upstream, port_taken
    from villa_contracts.contract import load
    from villa_contracts.target import probe

    try:
        parse_upstream(upstream)
    except ValueError as exc:
        raise click.UsageError(f"--upstream: {exc}") from None
    if port_taken(listen_host, listen_port):
        raise click.ClickException(
            f"cannot listen on {listen_host}:{listen_port}: address already in use; stop what listens there "
            "or choose another --listen-port (0: any free one)"
        )
    names = [c.name for c in load(contracts_dir).select(contracts)]  # an unknown name: exit 2, before anything
    mock = probe(upstream, admin_token=admin_token) is not None  # unreachable: exit 2, one line
    return names, mock


def _banner(
    proxy: RunningProxy, names: list[str], settings: dict[str, object], directory: Path, record_dir: Path | None
) -> None:
    """What the proxy does, where the clients point and where the reports are: printed once it listens."""
    upstream, env = settings["villa_upstream"], settings["villa_env"]
    title = f"villa-contracts proxy · run {settings['villa_run_id']}"
    click.echo(click.style(title, bold=True) if _color() else title)
    if proxy.mode == "reverse":
        click.echo(f"  listening on {proxy.url} → {upstream}: point the clients' base URL at {proxy.url}")
    else:
        click.echo(f"  HTTP proxy on {proxy.host}:{proxy.port}: checks the traffic to {upstream}")
        click.echo(f"  CA certificate: {proxy.ca_cert.resolve()} (install and trust it on the device for HTTPS)")
    prices = "catalog prices checked" if settings["villa_catalog"] == "on" else "catalog prices not checked"
    click.echo(f"  contracts: {', '.join(names)} · env {env} · {prices}")
    click.echo(
        f"  reports: {directory / 'index.html'} (kept up to date)"
        + (f" · recording: {record_dir}" if record_dir else "")
    )
    if env == "prod" and not settings["villa_allow_prod_payments"]:
        click.echo("  prod: payment operations are refused by the proxy, never forwarded")
    if settings["villa_rate_limit"]:
        click.echo(f"  forwarding at most {settings['villa_rate_limit']:g} requests per second")
    click.echo("Ctrl-C to stop.")


@command.command("check", epilog=CHECK_EPILOG)
@click.argument("recording", type=click.Path(exists=True, path_type=Path))
@options.contract
@contracts_dir
@report_dir
@run_id_option
@click.option(
    "--catalog", type=click.Choice(["recorded", "on", "off"]), default="recorded", show_default=True,
    help="Judge prices against the contract's catalog: as the recording says of its upstream, or on, or off.",
)  # fmt: skip
def check(
    recording: Path,
    contracts: tuple[str, ...],
    contracts_dir: Path | None,
    report_dir: Path,
    run_id: str | None,
    catalog: str,
) -> None:
    """Check a recording (proxy --record DIR) again, offline, against today's contracts.

    Yesterday's traffic against a changed contract (--contracts-dir) shows what the change would
    break. The verdicts on an unchanged contract are those of the live run.
    """
    from suites.proxy.recording import read_recording
    from villa_contracts.contract import load

    everything = load(contracts_dir)
    names = [c.name for c in everything.select(contracts)]
    read = read_recording(recording)
    gc.freeze()  # the recording is kept to the end: the collector's later passes need not look at it again
    try:
        _check(read, everything, names, report_dir=report_dir, run_id=run_id, catalog=catalog)
    finally:
        gc.unfreeze()  # called in a process that goes on (a test's), what was frozen is collectable again


def _check(
    read: Recording, everything: Contracts, names: list[str], *, report_dir: Path, run_id: str | None, catalog: str
) -> None:
    from suites.proxy.offline import recheck
    from villa_contracts.domain.catalog import BusinessData
    from villa_contracts.reports import ReportWriter, run_directory_name

    if read.problem:
        click.echo(f"note: {read.problem}", err=True)
    recorded = bool(read.meta.get("catalog"))
    on = catalog == "on" or (catalog == "recorded" and recorded)
    prices = BusinessData.from_contract(everything).prices() if on else None
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S") + "-check"
    directory = report_dir / run_directory_name(run_id)
    ReportWriter.from_dir(directory).check_writable()
    click.echo(
        f"villa-contracts proxy check · {len(read.flows)} recorded exchange(s) of {read.meta.get('upstream', '?')}"
    )
    click.echo(f"  contracts: {', '.join(names)} from {everything.root}")
    record, paths = recheck(
        read,
        everything,
        names=names,
        prices=prices,
        run_id=run_id,
        report_dir=directory,
        listener=Printer(color=_color()),
    )
    _finish(record, paths)
