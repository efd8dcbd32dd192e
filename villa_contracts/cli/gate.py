"""``villa-contracts gate``: the CI contract gate (options, and the handlers of the engine's events)."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.gate import GatePlan
    from villa_contracts.cli._parallel import Settings
    from villa_contracts.contract import Contracts
    from villa_contracts.events import Event
    from villa_contracts.reports import ReportWriter, RunRecord
    from villa_contracts.target import Target

PHASES = ("lint", "schemathesis", "state-machine", "pact")
ENGINE_PHASES = ("examples", "coverage", "fuzzing", "stateful")
# What --fast sets, each unless given too: no Pact phase, 20 examples, no Schemathesis coverage phase.
FAST_PHASES, FAST_MAX_EXAMPLES, FAST_ENGINE_PHASES = "lint,schemathesis,state-machine", 20, "examples,fuzzing,stateful"
EPILOG = """\b
Exit codes:
  0  every check held, and every operation answered 2xx (coverage)
  1  the target violated a contract, or an operation never answered 2xx
     (see reports/<run-id>/)
  2  the gate could not run: bad options, target unreachable, login failed,
     a phase could not run, or nothing was tested
  3  INCOMPLETE: interrupted (Ctrl-C, SIGTERM); the reports say what did not finish

\b
Examples:
  villa-contracts gate                                # embedded mock, every contract
  villa-contracts gate --contract villa --seed 42     # one contract, reproducible
  villa-contracts gate --fast                         # quick feedback: a fifth of the time
  VILLA_ENV=dev villa-contracts gate --base-url https://dev.example --rate-limit 5
"""


@click.command("gate", epilog=EPILOG)
@options.base_url
@options.contract
@options.max_examples
@options.seed
@options.rate_limit
@options.env
@options.state_change_url
@options.admin_token
@click.option("--report-dir", default="reports", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Reports go to REPORT_DIR/<run-id>/ (junit.xml, summary.json, index.html, SARIF).")  # fmt: skip
@click.option("--sarif", "sarif_copy", type=click.Path(dir_okay=False, path_type=Path), envvar="VILLA_GATE_SARIF",
              help="Also write the SARIF 2.1.0 results (one per failure) to this file, for code scanning.")  # fmt: skip
@click.option("--run-id", help="Name of this run's report folder (default: time and seed).")
@click.option("--phases", default=",".join(PHASES), show_default=True, help="Comma-separated phases to run.")
@click.option(
    "--schemathesis-phases", default=",".join(ENGINE_PHASES), show_default=True,
    envvar="VILLA_GATE_SCHEMATHESIS_PHASES",
    help="Schemathesis' own phases in the schemathesis phase (examples alone: the live examples and long texts, "
    "seconds per contract).",
)  # fmt: skip
@click.option("--allow-prod-payments", is_flag=True, help="Call payment operations even when VILLA_ENV=prod.")
@click.option(
    "--coverage", type=click.Choice(["fail", "warn"]), default="fail", show_default=True, envvar="VILLA_GATE_COVERAGE",
    help="An operation that never answers 2xx: fail the gate, or only warn (a target that cannot reach some).",
)  # fmt: skip
@click.option(
    "--fast", is_flag=True,
    help="Quick feedback (docs/modes.md): --phases lint,schemathesis,state-machine --max-examples 20 "
    "--schemathesis-phases examples,fuzzing,stateful, each unless given; about a fifth of the default's time.",
)  # fmt: skip
@click.option("--no-progress", is_flag=True, help="No progress display, only the summary.")
@click.option(
    "--via-proxy", is_flag=True,
    help="Send the gate's traffic through the validating proxy: one report holds the traffic's verdicts too.",
)  # fmt: skip
@click.option(
    "--jobs", type=click.IntRange(1, 64), envvar="VILLA_GATE_JOBS",
    help="Worker processes on the embedded mock: each phase of each contract runs on a fresh mock of its own, "
    "side by side (default: one per core, at most 4; 1: one mock for the whole run). A --base-url or "
    "--via-proxy run is one backend: one part at a time.",
)  # fmt: skip
def command(
    base_url: str | None,
    contracts: tuple[str, ...],
    max_examples: int,
    seed: int | None,
    rate_limit: float | None,
    env: str | None,
    state_change_url: str | None,
    admin_token: str | None,
    report_dir: Path,
    sarif_copy: Path | None,
    run_id: str | None,
    phases: str,
    schemathesis_phases: str,
    allow_prod_payments: bool,
    coverage: str,
    fast: bool,
    no_progress: bool,
    via_proxy: bool,
    jobs: int | None,
) -> None:
    """Check a backend against the contracts; fail the build on any violation.

    Runs contract lint, then Schemathesis over every operation (examples, coverage, positive and
    negative fuzzing, stateful through the contract's links; all built-in checks plus the business
    rules), a Hypothesis state machine of two users with the domain model as oracle, and the
    consumer pacts.

    Without --base-url (or VILLA_BASE_URL) it starts the embedded mock on a free port. Against a
    mock it provisions its own two test users; against any other target it logs in
    VILLA_TEST_USERNAME/VILLA_TEST_PASSWORD and VILLA_TEST_USERNAME_2/VILLA_TEST_PASSWORD_2 with the
    VILLA_COGNITO_* settings. With VILLA_ENV=prod, payment operations are skipped unless
    --allow-prod-payments.
    """
    from suites.gate import GatePlan
    from villa_contracts.cli._parallel import Settings
    from villa_contracts.contract import load
    from villa_contracts.events import EXIT_ERROR, RunFinished
    from villa_contracts.reports import run_directory_name

    if fast:
        phases, max_examples, schemathesis_phases = _fast(phases, max_examples, schemathesis_phases)
    chosen, engine = _phase_lists(phases, schemathesis_phases)
    workers = _workers(jobs, base_url, via_proxy)
    everything = load()
    _only_backend_apis(everything, contracts)
    seed = seed if seed is not None else secrets.randbelow(2**31)
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S") + f"-{seed}"
    started = time.perf_counter()
    writer, record, emit = _reporters(report_dir / run_directory_name(run_id), sarif_copy, everything, no_progress)
    exit_code, reason = EXIT_ERROR, ""
    plan = GatePlan(phases=chosen, contracts=contracts, state_change_url=state_change_url,
                    coverage="warn" if coverage == "warn" else "fail", schemathesis_phases=engine)  # fmt: skip
    try:
        names = tuple(c.name for c in everything.select(contracts))
        settings = Settings(seed, max_examples, rate_limit, env, allow_prod_payments, admin_token)
        if workers > 1:
            _side_by_side(emit, plan, names, settings, workers, run_id)
        else:
            _one_backend(emit, plan, names, settings, (base_url, via_proxy), run_id, everything)
        exit_code, reason = record.outcome()
    except _CannotRun as exc:
        exit_code, reason = EXIT_ERROR, str(exc)
    except KeyboardInterrupt:
        exit_code, reason = _interrupted(record, emit)
    finally:
        emit(RunFinished(exit_code, time.perf_counter() - started, reason))
        writer.close()
    if exit_code == EXIT_ERROR:
        click.echo(f"gate could not run: {reason} (reports in {writer.directory})", err=True)
    sys.exit(exit_code)


class _CannotRun(Exception):
    pass


def _one_backend(
    emit: Callable[[Event], None],
    plan: GatePlan,
    names: tuple[str, ...],
    settings: Settings,
    where: tuple[str | None, bool],
    run_id: str,
    everything: Contracts,
) -> None:
    """The run on one backend: ``where`` is (the base URL, None for the embedded mock; through the proxy or not)."""
    from suites.context import RunContext
    from suites.gate import run_gate
    from villa_contracts.cli._embedded import target_url
    from villa_contracts.cli._proxied import traffic_events, via_proxy
    from villa_contracts.events import RunStarted

    s = settings
    with (
        _terminate_as_interrupt(),
        target_url(where[0], seed=s.seed) as (url, embedded),
        via_proxy(where[1], url, contracts=names, env=s.env, allow_prod_payments=s.allow_prod_payments) as gated,
    ):
        gate_url, proxy = gated
        emit(RunStarted(run_id, url, embedded, s.seed, s.max_examples, time.time(), plan.phases, names))
        target = _target(gate_url, emit, s.seed, s.max_examples, s.rate_limit, s.env, s.allow_prod_payments,
                         s.admin_token)  # fmt: skip
        with RunContext(target, everything) as context:
            for event in run_gate(context, plan):
                emit(event)
            for event in traffic_events(proxy) if proxy is not None else ():
                emit(event)


def _side_by_side(
    emit: Callable[[Event], None], plan: GatePlan, names: tuple[str, ...], settings: Settings, workers: int, run_id: str
) -> None:
    """The run on embedded mocks, its parts in ``workers`` processes (``villa_contracts.cli._parallel``)."""
    from villa_contracts.cli._parallel import run_parallel
    from villa_contracts.events import Progress, RunStarted

    target = f"{workers} worker processes, a fresh mock per phase and contract"
    emit(RunStarted(run_id, target, True, settings.seed, settings.max_examples, time.time(), plan.phases, names))
    _prod_note(emit, skipped=(settings.env or "dev") == "prod" and not settings.allow_prod_payments)
    emit(Progress("gate", f"{workers} workers: a phase of a contract each, side by side (--jobs 1: one at a time)"))
    with _terminate_as_interrupt():
        for event in run_parallel(plan, names, settings, workers):
            emit(event)


def _workers(jobs: int | None, base_url: str | None, via_proxy: bool) -> int:
    """How many worker processes run the gate's parts: several only on the embedded mock, without the proxy.

    ``--jobs`` above 1 with a backend given is a usage error; ``VILLA_GATE_JOBS`` (set for every run) is not.
    """
    if base_url or via_proxy:
        source = click.get_current_context().get_parameter_source("jobs")
        if jobs is not None and jobs > 1 and source == click.core.ParameterSource.COMMANDLINE:
            given = "--base-url" if base_url else "--via-proxy"
            raise click.UsageError(f"--jobs {jobs}: a {given} run checks one backend, one part at a time; drop --jobs")
        return 1
    if jobs is not None:
        return jobs
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(4, cores))


def _reporters(
    directory: Path, sarif_copy: Path | None, everything: Contracts, no_progress: bool
) -> tuple[ReportWriter, RunRecord, Callable[[Event], None]]:
    """The run's report files (checked writable before anything runs), its record, and how an event reaches all."""
    from villa_contracts.reports import ConsoleReporter, ReportWriter, RunRecord

    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    writer = ReportWriter.from_dir(directory, sarif_copy=sarif_copy, contracts=everything)
    writer.check_writable()  # a run whose reports cannot be written is not worth starting
    console = ConsoleReporter(click.echo, color=color, progress=not no_progress, reports=writer)
    record = RunRecord()
    handlers: list[Callable[[Event], None]] = [record.handle, console.handle, writer.handle]

    def emit(event: Event) -> None:
        for handle in handlers:
            handle(event)

    return writer, record, emit


def _fast(phases: str, max_examples: int, schemathesis_phases: str) -> tuple[str, int, str]:
    """The --fast options, each unless given on the command line (or by its variable)."""
    source = click.get_current_context().get_parameter_source

    def given(name: str) -> bool:
        return source(name) not in (click.core.ParameterSource.DEFAULT, None)

    return (
        phases if given("phases") else FAST_PHASES,
        max_examples if given("max_examples") else FAST_MAX_EXAMPLES,
        schemathesis_phases if given("schemathesis_phases") else FAST_ENGINE_PHASES,
    )


def _phase_lists(phases: str, schemathesis_phases: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The gate's phases and Schemathesis' own, from their options (an unknown or empty list: a usage error)."""
    chosen = tuple(p.strip() for p in phases.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PHASES]
    if unknown or not chosen:
        raise click.UsageError(f"--phases: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(PHASES)}")
    engine = tuple(p.strip() for p in schemathesis_phases.split(",") if p.strip())
    wrong = [p for p in engine if p not in ENGINE_PHASES]
    if wrong or not engine:
        raise click.UsageError(
            f"--schemathesis-phases: unknown {', '.join(wrong) or '(none)'}; choose from {', '.join(ENGINE_PHASES)}"
        )
    return chosen, engine


def _only_backend_apis(everything: Contracts, contracts: tuple[str, ...]) -> None:
    """An unknown name, or a contract the gate cannot check (the mock's admin API): a usage error before anything."""
    from villa_contracts.errors import UsageError

    for chosen_contract in everything.select(contracts):
        if chosen_contract.role != "api":
            apis = ", ".join(c.name for c in everything.apis)
            raise UsageError(
                f"--contract {chosen_contract.name}: the mock's own {chosen_contract.role} API is not a backend API "
                f"the gate checks; choose from {apis}"
            )


def _target(
    url: str,
    emit: Callable[[Event], None],
    seed: int,
    max_examples: int,
    rate_limit: float | None,
    env: str | None,
    allow_prod_payments: bool,
    admin_token: str | None,
) -> Target:
    """The target at ``url``, its accounts logged in (``_CannotRun`` when unreachable, misconfigured or refused)."""
    from villa_contracts.target import resolve_target

    try:
        target = resolve_target(
            url,
            seed=seed,
            max_examples=max_examples,
            rate_limit=rate_limit,
            env=env,
            allow_prod_payments=allow_prod_payments,
            admin_token=admin_token,
        )
    except Exception as exc:  # unreachable, config or login: the gate cannot run
        raise _CannotRun(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    _prod_note(emit, skipped=not target.allow_payments)
    return target


def _prod_note(emit: Callable[[Event], None], *, skipped: bool) -> None:
    """Say so when payment operations are skipped (VILLA_ENV=prod without --allow-prod-payments)."""
    from villa_contracts.events import Progress

    if skipped:
        note = "VILLA_ENV=prod: payment operations are skipped (--allow-prod-payments to call them)"
        click.echo(f"note: {note}", err=True)
        emit(Progress("gate", note))


def _interrupted(record: RunRecord, emit: Callable[[Event], None]) -> tuple[int, str]:
    """End the running phase of an interrupted run (the signal may land anywhere); its exit code and reason."""
    from villa_contracts.events import EXIT_INCOMPLETE, PhaseFinished

    for phase in record.phases.values():
        if phase.started and not phase.finished and not phase.interrupted:
            emit(PhaseFinished(phase.name, phase.seconds, None, interrupted=True))
    code, why = record.outcome()
    return EXIT_INCOMPLETE, why if code == EXIT_INCOMPLETE else "interrupted before the first phase"


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI cancelling the job) ends the run like Ctrl-C does: INCOMPLETE, with reports.

    From the first signal on, later ones are ignored: a second Ctrl-C or SIGTERM while the reports
    are written neither loses them nor turns the exit code into 130 or 143.
    """

    def interrupt(signum: int, frame: object) -> None:
        _ignore_signals()
        raise KeyboardInterrupt

    previous = {number: signal.signal(number, interrupt) for number in (signal.SIGINT, signal.SIGTERM)}
    interrupted = False
    try:
        yield
    except KeyboardInterrupt:
        interrupted = True
        _ignore_signals()
        raise
    finally:
        if not interrupted:
            for number, handler in previous.items():
                signal.signal(number, handler)


def _ignore_signals() -> None:
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)
