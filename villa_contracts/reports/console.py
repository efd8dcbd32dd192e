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
from villa_contracts.reports._counts import failed
from villa_contracts.reports._text import clean, count_checks, duration, plural
from villa_contracts.reports.record import PhaseRecord, RunRecord

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


def distinct_failures(record: RunRecord, *, warnings: bool = False) -> list[tuple[int, str, Failure]]:
    """Failures grouped by (phase, operation, check, title), warnings by (phase, operation, check).

    Returns ``(how many, phase, the first of them)`` per group, worst first as
    :attr:`RunRecord.failures` lists them (severity, then operation); the sizes add up to the run's
    count of failures (or warnings). Warnings are grouped coarser: a fuzzer's refused requests are
    hundreds of warnings of one check, each at its own pointer.
    """
    groups: dict[tuple[str, ...], list[tuple[str, Failure]]] = {}
    for phase, failure in record.warnings if warnings else record.failures:
        key = (phase, failure.operation, failure.check) + (() if warnings else (failure.title,))
        groups.setdefault(key, []).append((phase, failure))
    return [(len(items), items[0][0], items[0][1]) for items in groups.values()]


def _counts_text(phase: PhaseRecord) -> str:
    counts = phase.counts
    text = count_checks(counts.checks)
    text += f", {counts.failed} failed ({plural(counts.failures, 'failure')})" if counts.failed else ""
    text += f", {plural(counts.warnings, 'warning')}" if counts.warnings else ""
    return text + (f", {counts.skipped} skipped" if counts.skipped and counts.checks else "")


def _phase_rows(record: RunRecord, color: bool) -> list[str]:
    # Columns as wide as their widest cell: every duration is right-aligned at the same column.
    width = max((len(name) for name in record.phases), default=0)
    texts = {name: _counts_text(phase) for name, phase in record.phases.items() if phase.started}
    counts_width = max((len(text) for text in texts.values()), default=0)
    rows = []
    for phase in record.phases.values():
        status = _paint(f"{phase.status:<11}", color, phase.status)
        if not phase.started:
            rows.append(f"{_INDENT}{phase.name:<{width}}  {status}")
            continue
        took = duration(phase.seconds)
        line = f"{_INDENT}{phase.name:<{width}}  {status}  {texts[phase.name]:<{counts_width}} {took:>8}"
        if phase.error is not None:
            line += f"  {_paint('error:', color, 'error')} {_one_line(phase.error, 80)}"
        elif phase.skips and not phase.checks:
            line += f"  {_one_line(phase.skips[0].reason, 80)}"
        rows.append(line)
    return rows


def _findings(record: RunRecord, *, warnings: bool, color: bool, limit: int) -> list[str]:
    counts = record.counts()
    total = counts.warnings if warnings else counts.failures
    if not total:
        return []
    title = f"Warnings ({total}, not failing the run)" if warnings else f"Failures ({total})"
    lines = ["", _paint(title, color, "running" if warnings else "failed", bold=True)]
    groups = distinct_failures(record, warnings=warnings)
    for count, phase_name, failure in groups[:limit]:
        times = f" (×{count})" if count > 1 else ""
        head = f"{failure.operation} · {failure.check}{times} [{phase_name} · {failure.severity}]: {failure.title}"
        lines.append(f"{_INDENT}{_one_line(head, 150)}")
        detail = expected_got(failure)
        if detail and detail != failure.title and not warnings:
            lines.append(f"{_INDENT}  {_one_line(detail, 150)}")
    rest = sum(count for count, _, _ in groups[limit:])
    if rest:
        noun = "warning" if warnings else "failure"
        lines.append(f"{_INDENT}… and {rest} more {noun}{'' if rest == 1 else 's'} (see the reports)")
    return lines


def _skips(record: RunRecord, limit: int) -> list[str]:
    skips = record.skips
    if not skips:
        return []
    lines = ["", f"Skipped ({len(skips)}, each with why)"]
    lines += [f"{_INDENT}{_one_line(f'{s.subject} [{s.phase}]: {s.reason}', 150)}" for s in skips[:limit]]
    if len(skips) > limit:
        lines.append(f"{_INDENT}… and {len(skips) - limit} more (see the reports)")
    return lines


def summary_lines(
    record: RunRecord, *, paths: Mapping[str, Path] | None = None, color: bool = False, limit: int = 20
) -> list[str]:
    """The end-of-run summary: phases and times, counts, the failures worst first, warnings, skips, reports, verdict.

    Every count is :meth:`RunRecord.counts`, labelled as the other reports label it ("N checks
    failed", "N failures", "N warnings").

    Args:
        record: the run.
        paths: the report files by kind, as :meth:`ReportWriter.close` returns them.
        color: whether to add ANSI colors.
        limit: the most kinds of failures (and of warnings, and skips) to list; the rest are counted
            (they are all in the reports).

    Returns:
        Lines without trailing newlines, at most about ``3 × limit + 20`` of them.

    Example:
        >>> summary_lines(RunRecord())[-1]
        'INCOMPLETE (no exit code)'
    """
    seed = f" (seed {record.seed})" if record.start is None or record.start.command == "gate" else ""
    lines = ["", _paint(f"Summary of run {record.run_id or '?'}{seed}", color, bold=True)]
    lines += _phase_rows(record, color)
    counts = record.counts()
    reasons = record.skip_reasons()
    uncovered = sum(  # an operation skipped on purpose and never called is counted as skipped, not as unreached
        1
        for key, coverage in record.operations().items()
        if not coverage.succeeded and not (key in reasons and not coverage.all_statuses)
    )
    summary = f"{count_checks(counts.checks)} on {counts.operations} operations: {counts.passed} passed, "
    summary += f"{counts.failed} failed" + (f" ({plural(counts.failures, 'failure')})" if counts.failed else "")
    summary += f", {plural(counts.warnings, 'warning')}" if counts.warnings else ""
    summary += f"; {counts.skipped} skipped" if counts.skipped else ""
    summary += f"; {plural(uncovered, 'operation')} never answered 2xx" if uncovered else ""
    lines.append(_paint(summary, color, "failed" if counts.failed else "passed"))
    lines += _findings(record, warnings=False, color=color, limit=limit)
    lines += _findings(record, warnings=True, color=color, limit=limit)
    lines += _skips(record, limit)
    if paths:
        lines += ["", _paint("Reports", color, bold=True)]
        width = max(8, *(len(kind) for kind in paths))
        lines += [f"{_INDENT}{kind:<{width}} {path}" for kind, path in paths.items()]
    lines.append("")
    if record.finish is None:
        lines.append(_paint("INCOMPLETE (no exit code)", color, "INCOMPLETE", bold=True))
    else:
        verdict = f"{record.verdict} (exit code {record.finish.exit_code}) in {duration(record.finish.seconds)}"
        reason = f": {_one_line(record.finish.reason, 200)}" if record.finish.reason else ""
        lines.append(_paint(verdict, color, record.verdict, bold=True) + reason)
    return lines


MIN_BASIS = 2
"""Units a step must finish after its first one before the console estimates the time it has left."""


class _Step:
    """One counted step: when its first unit finished, and how far it has come since."""

    __slots__ = ("basis", "done", "now")

    def __init__(self) -> None:
        self.done = 0
        self.now = 0.0
        self.basis: tuple[float, int] | None = None  # (when, how many were done) when the first unit finished

    def seen(self, done: int, now: float) -> None:
        self.done, self.now = done, now
        if self.basis is None and done > 0:
            self.basis = (now, done)

    def left(self, total: int) -> float | None:
        """Seconds left at the pace since the first finished unit; None before ``MIN_BASIS`` units since."""
        if self.basis is None or self.done - self.basis[1] < MIN_BASIS:
            return None
        since, first = self.basis
        return (self.now - since) / (self.done - first) * (total - self.done)


class ConsoleReporter:
    """Shows a run as it goes: a line per phase, counted progress with an estimate, each failure as it is found.

    Progress lines of one phase are shown at most every ``every`` seconds (and when a phase's count
    is complete), so a CI log stays short. ``RunFinished`` shows :func:`summary_lines`; with
    ``progress=False`` that summary is all it shows.

    An estimate of the time left in a step is shown only once there is a basis for it: it is the
    pace of the units finished after the step's first one (which carries the step's set-up), and
    needs ``MIN_BASIS`` of them. A step is one counted message of one phase.

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
        self._completed: tuple[str, str] | None = None
        self._steps: dict[tuple[str, str], _Step] = {}
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
        key = (event.phase, event.message)  # two phases may count steps of the same name ("villa: examples")
        step = self._steps.get(key)
        if step is None or event.done < step.done:
            step = self._steps[key] = _Step()
        step.seen(event.done, now)
        complete = event.done >= event.total
        if complete and self._completed == key:
            return
        if not complete and now - self._last_shown < self._every:
            return
        self._completed = key if complete else None
        self._last_shown = now
        line = f"{event.message} {event.done}/{event.total}"
        left = None if complete else step.left(event.total)
        if left is not None:
            line += f" · about {duration(left)} left in this step"
        self._echo(_INDENT + _paint(_one_line(line, 200), self._color, dim=True))

    def _phase_line(self, event: PhaseFinished) -> None:
        phase = self.record.phases[event.phase]
        tally = phase.counts
        counts = f"{count_checks(tally.checks)}, {tally.passed} passed, {tally.failed} failed"
        counts += f" ({plural(tally.failures, 'failure')})" if tally.failed else ""
        counts += f", {plural(tally.warnings, 'warning')}" if tally.warnings else ""
        status = _paint(phase.status, self._color, phase.status)
        self._echo(f"{_INDENT}{event.phase}: {status} · {counts} · {duration(event.seconds)}")
        if event.error is not None:
            self._echo(f"{_INDENT}{_paint('error:', self._color, 'error')} {_one_line(event.error, 200)}")
