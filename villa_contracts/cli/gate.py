"""``villa-contracts gate``: the CI contract gate."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import click

from villa_contracts.cli import options
from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, Progress, RunFinished, RunStarted
from villa_contracts.failures import Failure
from villa_contracts.target import Target

PHASES = ("lint", "schemathesis", "state-machine", "pact")
EPILOG = """\b
Exit codes:
  0  every check held
  1  the target violated a contract (see reports/<run-id>/)
  2  the gate could not run: bad options, target unreachable, login failed,
     or nothing was tested

\b
Examples:
  villa-contracts gate                                # embedded mock, default depth
  villa-contracts gate --max-examples 100 --seed 42   # deeper, reproducible
  VILLA_ENV=dev villa-contracts gate --base-url https://dev.example --rate-limit 5
"""


class _Stream:
    """Fan every event out to the handlers and remember what the exit code needs."""

    def __init__(self, handlers: list[Callable[[Event], None]]) -> None:
        self.handlers = handlers
        self.checks = 0
        self.failed = 0
        self.errors: list[str] = []

    def __call__(self, event: Event) -> None:
        if isinstance(event, CheckFinished):
            self.checks += 1
            self.failed += not event.passed
        elif isinstance(event, PhaseFinished) and event.error:
            self.errors.append(f"{event.phase}: {event.error}")
        for handler in self.handlers:
            handler(event)


def _lint(emit: _Stream) -> None:
    from villa_contracts.contract import lint, load

    for result in lint(load()):
        failures = tuple(
            Failure(operation=result.operation, check=result.check, title=p, message=p, severity="medium")
            for p in result.problems
        )
        emit(CheckFinished("lint", result.operation, result.check, result.passed, failures))


def _machine(target: Target, emit: _Stream) -> None:
    from suites.property.machine import run_machine

    result = run_machine(target, max_examples=max(3, target.max_examples // 2), seed=target.seed)
    by_op: dict[tuple[str, str], list[Failure]] = {}
    for failure in result.failures:
        by_op.setdefault((failure.operation, failure.check), []).append(failure)
    for operation, seen in sorted(result.statuses.items()):
        if not any(op == operation for op, _ in by_op):
            emit(CheckFinished("state-machine", operation, "state_machine", True, statuses=tuple(sorted(seen))))
    for (operation, check), failures in sorted(by_op.items()):
        codes = tuple(sorted(result.statuses.get(operation, ())))
        emit(CheckFinished("state-machine", operation, check, False, tuple(failures), statuses=codes))


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _pact(target: Target, state_change_url: str | None, emit: _Stream) -> None:
    from suites.pact.provider import verify_pacts

    if state_change_url is None and not target.is_mock:
        emit(Progress("pact", "skipped: the target is not a mock; give --state-change-url to verify the pacts"))
        return
    with _stdout_silenced():
        # pact-ffi writes its own report straight to file descriptor 1; the reports carry the verdicts.
        result = verify_pacts(target.base_url, state_change_url=state_change_url)
    reasons = dict(result.failed)
    for description in result.interactions:
        reason = reasons.get(description)
        failures = (
            (Failure(operation=description, check="pact", title="interaction not honoured", message=reason),)
            if reason is not None
            else ()
        )
        emit(CheckFinished("pact", description, "pact", reason is None, failures))


@click.command("gate", epilog=EPILOG)
@options.base_url
@click.option(
    "--max-examples", default=100, show_default=True, type=click.IntRange(1, 10_000), envvar="VILLA_GATE_MAX_EXAMPLES",
    help="Generated examples per operation (deeper: more; faster: fewer).",
)  # fmt: skip
@click.option("--seed", type=int, envvar="VILLA_GATE_SEED", help="Seed of every generator: same seed, same requests.")
@click.option("--rate-limit", type=click.FloatRange(min=0.1), envvar="VILLA_GATE_RATE_LIMIT",
              help="At most this many requests per second (be polite to shared environments).")  # fmt: skip
@click.option("--report-dir", default="reports", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Reports go to REPORT_DIR/<run-id>/ (junit.xml, summary.json, index.html).")  # fmt: skip
@click.option("--run-id", help="Name of this run's report folder (default: time and seed).")
@click.option("--phases", default=",".join(PHASES), show_default=True, help="Comma-separated phases to run.")
@click.option(
    "--state-change-url", envvar="VILLA_PACT_STATE_CHANGE_URL",
    help="The provider's Pact state-change URL (a mock's own is used by default).",
)  # fmt: skip
@click.option("--allow-prod-payments", is_flag=True, help="Call payment operations even when VILLA_ENV=prod.")
@click.option("--no-progress", is_flag=True, help="No progress display, only the summary.")
def command(
    base_url: str | None,
    max_examples: int,
    seed: int | None,
    rate_limit: float | None,
    report_dir: Path,
    run_id: str | None,
    phases: str,
    state_change_url: str | None,
    allow_prod_payments: bool,
    no_progress: bool,
) -> None:
    r"""Check a backend against the contracts; fail the build on any violation.

    Runs contract lint, then Schemathesis over every operation (examples, coverage, positive and
    negative fuzzing, stateful through the contract's links; all built-in checks plus the business
    rules) and a Hypothesis state machine of two users with the domain model as oracle.

    Without --base-url (or VILLA_BASE_URL) it starts the embedded mock on a free port. Against a
    mock it provisions its own two test users; against any other target it logs in
    VILLA_TEST_USERNAME/VILLA_TEST_PASSWORD and VILLA_TEST_USERNAME_2/VILLA_TEST_PASSWORD_2 with the
    VILLA_COGNITO_* settings. With VILLA_ENV=prod, payment operations are skipped unless
    --allow-prod-payments.
    """
    from villa_contracts import target as _target
    from villa_contracts.reports import ConsoleReporter, ReportWriter, run_directory_name

    chosen = tuple(p.strip() for p in phases.split(",") if p.strip())
    unknown = [p for p in chosen if p not in PHASES]
    if unknown or not chosen:
        raise click.UsageError(f"--phases: unknown {', '.join(unknown) or '(none)'}; choose from {', '.join(PHASES)}")
    seed = seed if seed is not None else secrets.randbelow(2**31)
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S") + f"-{seed}"
    env = os.environ.get("VILLA_ENV", "dev")
    started = time.perf_counter()
    color = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    writer = ReportWriter.from_dir(report_dir / run_directory_name(run_id))
    console = ConsoleReporter(click.echo, color=color, progress=not no_progress, reports=writer)
    stream = _Stream([console.handle, writer.handle])
    server = None
    exit_code, reason = 2, ""
    try:
        if base_url is None:
            from mock_server.app import create_app
            from mock_server.runner import serve_in_thread

            server = serve_in_thread(lambda url: create_app(base_url=url), log_level="error")
            base_url = server.base_url
        base_url = base_url.rstrip("/")
        stream(RunStarted(run_id, base_url, server is not None, seed, max_examples, time.time(), chosen))
        try:
            cognito = _target.probe(base_url)
            accounts = _target.mock_accounts(base_url, cognito, seed) if cognito else _target.env_accounts(base_url)
        except Exception as exc:  # unreachable, config or login: the gate cannot run
            reason = str(exc).splitlines()[0]
            raise _CannotRun(reason) from None
        payments = env != "prod" or allow_prod_payments
        if not payments:
            note = "VILLA_ENV=prod: payment operations are skipped (--allow-prod-payments to call them)"
            click.echo(f"note: {note}", err=True)
            stream(Progress("gate", note))
        target = Target(base_url, accounts, is_mock=cognito is not None, env=env, allow_payments=payments,
                        seed=seed, max_examples=max_examples, rate_limit=rate_limit)  # fmt: skip
        for phase in chosen:
            stream(PhaseStarted(phase, _DESCRIPTIONS[phase]))
            phase_started, error = time.perf_counter(), None
            try:
                if phase == "lint":
                    _lint(stream)
                elif phase == "schemathesis":
                    from suites.property.runner import run_schemathesis

                    run_schemathesis(target, stream, exclude_payments=not payments)
                elif phase == "state-machine":
                    _machine(target, stream)
                else:
                    _pact(target, state_change_url, stream)
            except Exception as exc:  # a phase that cannot run makes the gate unable to judge
                error = f"{type(exc).__name__}: {exc}"
            stream(PhaseFinished(phase, time.perf_counter() - phase_started, error))
        if stream.errors:
            exit_code, reason = 2, "; ".join(stream.errors)
        elif stream.checks == 0:
            exit_code, reason = 2, "nothing was tested"
        elif stream.failed:
            exit_code, reason = 1, f"{stream.failed} check(s) failed"
        else:
            exit_code, reason = 0, f"all {stream.checks} checks held"
    except _CannotRun as exc:
        exit_code, reason = 2, str(exc)
    finally:
        if server is not None:
            server.stop()
        stream(RunFinished(exit_code, time.perf_counter() - started, reason))
        writer.close()
    if exit_code == 2:
        click.echo(f"gate could not run: {reason}", err=True)
    sys.exit(exit_code)


class _CannotRun(Exception):
    pass


_DESCRIPTIONS = {
    "lint": "the OpenAPI documents are valid; every operation has examples and error responses",
    "schemathesis": "every operation, all checks, positive and negative data, stateful links",
    "state-machine": "two users' random interleavings against the domain model",
    "pact": "the consumer pacts in contracts/pacts/, with provider states",
}
