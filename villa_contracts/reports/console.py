"""Console output of a gate run: a line per phase, counted progress, each failure, and a one-screen summary.

The reporter never prints: it hands whole lines to the ``echo`` it was given (the CLI passes
``click.echo``), which keeps this module free of I/O and easy to snapshot. Text from failures is
cleaned first, so a response body cannot send escape sequences to the terminal.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from villa_contracts.events import (
    EXIT_ERROR,
    CheckFinished,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunStarted,
    Skipped,
)
from villa_contracts.reports._text import clean, count_checks, duration
from villa_contracts.reports.record import RunRecord, failed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from villa_contracts.events import Event
    from villa_contracts.failures import Failure
    from villa_contracts.reports.writer import ReportWriter

_INDENT = "  "
_COLORS = {
    **dict.fromkeys(("passed", "PASSED"), "green"),
    **dict.fromkeys(("failed", "FAILED", "F"), "red"),
    **dict.fromkeys(("error", "ERROR", "running", "interrupted", "INCOMPLETE"), "yellow"),
    **dict.fromkeys(("skipped", "not run"), "bright_black"),
}


def _one_line(text: str, limit: int = 120) -> str:
    line = " ".join(clean(text).split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def _paint(text: str, color: bool, key: str | None = None, *, bold: bool = False, dim: bool = False) -> str:
    if not color:
        return text
    return click.style(text, fg=_COLORS.get(key or text), bold=bold, dim=dim)


def expected_got(failure: Failure) -> str:
    """One line saying what was expected and what came back, read from a failure's message."""
    expected = got = said = ""
    for line in (failure.message or "").splitlines():
        lowered = line.strip().lower()
        if not said and lowered.startswith(("expected", "documented", "got", "received")):
            said = line.strip()  # "Got 404 when …, expected 401" says both in its own words
        if not expected and (lowered.startswith("expected") or lowered.startswith("documented")):
            expected = line.split(":", 1)[-1].strip() if ":" in line else line.strip()[len("expected") :].strip()
        elif not got and (lowered.startswith("got") or lowered.startswith("received")):
            got = line.split(":", 1)[-1].strip() if ":" in line else line.strip()[len("got") :].strip()
    if expected and got:
        return f"expected {expected}, got {got}"
    if said:
        return said
    first = next((line.strip() for line in (failure.message or "").splitlines() if line.strip()), "")
    return first


def distinct_failures(record: RunRecord) -> list[tuple[int, str, Failure]]:
    """Failures grouped by (phase, operation, check, title): ``(how many, phase, first of them)``, in run order."""
    groups: dict[tuple[str, str, str, str], list[tuple[str, Failure]]] = {}
    for phase, failure in record.failures:
        groups.setdefault((phase, failure.operation, failure.check, failure.title), []).append((phase, failure))
    return [(len(items), items[0][0], items[0][1]) for items in groups.values()]


def summary_lines(
    record: RunRecord, *, paths: Mapping[str, Path] | None = None, color: bool = False, limit: int = 20
) -> list[str]:
    """The end-of-run summary: phases and times, counts, one line per distinct failure, reports, verdict.

    Args:
        record: the run.
        paths: the report files by kind, as :meth:`ReportWriter.close` returns them.
        color: whether to add ANSI colors.
        limit: the most distinct failures to list; the rest are counted (they are all in the reports).

    Returns:
        Lines without trailing newlines, at most about ``limit + 20`` of them.

    Example:
        >>> summary_lines(RunRecord())[-1]
        'INCOMPLETE (no exit code)'
    """
    seed = f" (seed {record.seed})" if record.start is None or record.start.command == "gate" else ""
    lines = ["", _paint(f"Summary of run {record.run_id or '?'}{seed}", color, bold=True)]
    width = max((len(name) for name in record.phases), default=0)
    for phase in record.phases.values():
        status = _paint(f"{phase.status:<11}", color, phase.status)
        if not phase.started:
            lines.append(f"{_INDENT}{phase.name:<{width}}  {status}")
            continue
        counts = count_checks(len(phase.checks)) + (f", {phase.failed} failed" if phase.failed else "")
        counts += f", {phase.warnings} warning(s)" if phase.warnings else ""
        line = f"{_INDENT}{phase.name:<{width}}  {status}  {counts:<24} {duration(phase.seconds):>8}"
        if phase.error is not None:
            line += f"  {_paint('error:', color, 'error')} {_one_line(phase.error, 80)}"
        elif phase.skips and not phase.checks:
            line += f"  {_one_line(phase.skips[0].reason, 80)}"
        lines.append(line)
    judged = record.checks
    bad = sum(1 for check in judged if failed(check))
    operations = record.operations()
    uncovered = sum(1 for coverage in operations.values() if not coverage.succeeded)
    summary = f"{count_checks(len(judged))} on {len(operations)} operations: {len(judged) - bad} passed, {bad} failed"
    summary += f"; {uncovered} operation(s) never answered 2xx" if uncovered else ""
    lines.append(_paint(summary, color, "failed" if bad else "passed"))
    distinct = distinct_failures(record)
    if distinct:
        lines += ["", _paint(f"Failures ({len(distinct)} distinct)", color, "failed", bold=True)]
        for count, phase_name, failure in distinct[:limit]:
            times = f" (×{count})" if count > 1 else ""
            head = f"{failure.operation} · {failure.check}{times} [{phase_name}]: {failure.title}"
            lines.append(f"{_INDENT}{_one_line(head, 150)}")
            detail = expected_got(failure)
            if detail and detail != failure.title:
                lines.append(f"{_INDENT}  {_one_line(detail, 150)}")
        if len(distinct) > limit:
            lines.append(f"{_INDENT}… and {len(distinct) - limit} more (see the reports)")
    if record.warnings:
        lines += ["", _paint(f"Warnings ({len(record.warnings)}, not failing the run)", color, "running", bold=True)]
        for _, failure in record.warnings[:limit]:
            lines.append(f"{_INDENT}{_one_line(f'{failure.operation} · {failure.check}: {failure.title}', 150)}")
    if paths:
        lines += ["", _paint("Reports", color, bold=True)]
        lines += [f"{_INDENT}{kind:<8} {path}" for kind, path in paths.items()]
    lines.append("")
    if record.finish is None:
        lines.append(_paint("INCOMPLETE (no exit code)", color, "INCOMPLETE", bold=True))
    else:
        verdict = f"{record.verdict} (exit code {record.finish.exit_code}) in {duration(record.finish.seconds)}"
        reason = f": {_one_line(record.finish.reason, 200)}" if record.finish.reason else ""
        lines.append(_paint(verdict, color, record.verdict, bold=True) + reason)
    return lines


class ConsoleReporter:
    """Shows a run as it goes: a line per phase, counted progress with an estimate, each failure as it is found.

    Progress lines of one phase are shown at most every ``every`` seconds (and when a phase's count
    is complete), so a CI log stays short. ``RunFinished`` shows :func:`summary_lines`; with
    ``progress=False`` that summary is all it shows.

    Example:
        >>> reporter = ConsoleReporter(click.echo, color=False)
        >>> reporter.handle(Progress(phase="lint", message="contract loaded"))
          contract loaded

    Attributes:
        record: what the reporter has learnt of the run so far.
    """

    def __init__(
        self,
        echo: Callable[[str], None],
        *,
        color: bool,
        progress: bool = True,
        reports: ReportWriter | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 5.0,
    ) -> None:
        """Report through ``echo``.

        Args:
            echo: takes one line at a time (``click.echo``).
            color: whether to add ANSI colors (the CLI decides: ``NO_COLOR``, a tty).
            progress: whether to show the run as it goes, or only the summary at the end (for CI logs).
            reports: the writer of this run's reports, to list their paths in the summary.
            clock: seconds, for estimates (tests pass a fake one).
            every: the fewest seconds between two progress lines of a phase.
        """
        self.record = RunRecord()
        self._echo = echo
        self._color = color
        self._progress = progress
        self._reports = reports
        self._clock = clock
        self._every = every
        self._last_shown = -1e9
        self._completed: str | None = None
        self._steps: dict[str, float] = {}
        self._header: RunStarted | None = None

    def handle(self, event: Event) -> None:
        """Show one event of the run.

        Args:
            event: the next event, in the order the gate emitted them.
        """
        self.record.handle(event)
        if isinstance(event, RunStarted):
            self._header = event  # shown with the first thing the run does: a run that cannot start says one line
            return
        if isinstance(event, RunFinished):
            if event.exit_code == EXIT_ERROR and not any(p.started for p in self.record.phases.values()):
                return  # nothing ran: the command's one-line error (stderr) says why, the reports keep it
            self._show_header()
            paths = self._reports.paths if self._reports is not None else None
            for line in summary_lines(self.record, paths=paths, color=self._color):
                self._echo(line)
        elif self._progress:
            self._show_header()
            self._show(event)

    def _show_header(self) -> None:
        event, self._header = self._header, None
        if event is None or not self._progress:
            return
        mock = " (embedded mock)" if event.embedded_mock else ""
        self._echo(_paint(f"villa-contracts gate · run {event.run_id}", self._color, bold=True))
        self._echo(f"target {self.record.target}{mock} · seed {event.seed} · max examples {event.max_examples}")

    def _show(self, event: Event) -> None:
        match event:
            case PhaseStarted():
                self._last_shown = -1e9
                self._echo("")
                description = f"  {_paint(_one_line(event.description), self._color, dim=True)}"
                self._echo(_paint(event.phase, self._color, bold=True) + (description if event.description else ""))
            case CheckFinished() if failed(event):
                where = f"{event.contract}.{event.operation}" if event.contract else event.operation
                self._echo(
                    f"{_INDENT}{_paint('✗', self._color, 'failed')} {_one_line(f'{where} · {event.check}', 150)}"
                )
            case Skipped():
                self._echo(f"{_INDENT}{_paint('skipped:', self._color, 'skipped')} {_one_line(event.subject)}: "
                           f"{_one_line(event.reason, 150)}")  # fmt: skip
            case Progress() if event.total is not None and event.done is not None:
                self._counted(event)
            case Progress():
                self._echo(_INDENT + _paint(_one_line(event.message, 200), self._color, dim=True))
            case PhaseFinished():
                self._phase_line(event)

    def _counted(self, event: Progress) -> None:
        assert event.done is not None and event.total is not None
        now = self._clock()
        started = self._steps.setdefault(event.message, now)
        complete = event.done >= event.total
        if complete and self._completed == event.message:
            return
        if not complete and now - self._last_shown < self._every:
            return
        self._completed = event.message if complete else None
        self._last_shown = now
        line = f"{event.message} {event.done}/{event.total}"
        elapsed = now - started
        if not complete and event.done and elapsed > 1:
            line += f" · about {duration(elapsed * (event.total - event.done) / event.done)} left in this step"
        self._echo(_INDENT + _paint(_one_line(line, 200), self._color, dim=True))

    def _phase_line(self, event: PhaseFinished) -> None:
        phase = self.record.phases[event.phase]
        counts = f"{count_checks(len(phase.checks))}, {len(phase.checks) - phase.failed} passed, {phase.failed} failed"
        status = _paint(phase.status, self._color, phase.status)
        self._echo(f"{_INDENT}{event.phase}: {status} · {counts} · {duration(event.seconds)}")
        if event.error is not None:
            self._echo(f"{_INDENT}{_paint('error:', self._color, 'error')} {_one_line(event.error, 200)}")
