"""Console output of a gate run: a line per phase, a dot per check, and a one-screen summary.

The reporter never prints: it hands whole lines to the ``echo`` it was given (the CLI passes
``click.echo``), which keeps this module free of I/O and easy to snapshot. Text from failures is
cleaned first, so a response body cannot send escape sequences to the terminal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from villa_contracts.events import CheckFinished, PhaseFinished, PhaseStarted, Progress, RunFinished, RunStarted
from villa_contracts.reports._text import clean, count_checks, duration
from villa_contracts.reports.record import RunRecord, failed

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from pathlib import Path

    from villa_contracts.events import Event
    from villa_contracts.reports.writer import ReportWriter

_INDENT = "  "
_COLORS = {
    **dict.fromkeys(("passed", "PASSED"), "green"),
    **dict.fromkeys(("failed", "FAILED", "F"), "red"),
    **dict.fromkeys(("error", "ERROR", "running", "INCOMPLETE"), "yellow"),
}


def _one_line(text: str, limit: int = 120) -> str:
    line = " ".join(clean(text).split())
    return line if len(line) <= limit else f"{line[: limit - 1]}…"


def _paint(text: str, color: bool, key: str | None = None, *, bold: bool = False, dim: bool = False) -> str:
    if not color:
        return text
    return click.style(text, fg=_COLORS.get(key or text), bold=bold, dim=dim)


def summary_lines(
    record: RunRecord, *, paths: Mapping[str, Path] | None = None, color: bool = False, limit: int = 20
) -> list[str]:
    """The end-of-run summary: phases and times, counts, failures, report paths and the verdict.

    Args:
        record: the run.
        paths: the report files by kind, as :meth:`ReportWriter.close` returns them.
        color: whether to add ANSI colors.
        limit: the most failures to list; the rest are counted (they are all in the reports).

    Returns:
        Lines without trailing newlines, at most about ``limit + 20`` of them.

    Example:
        >>> summary_lines(RunRecord())[-1]
        'INCOMPLETE (no exit code)'
    """
    lines = ["", _paint(f"Summary of run {record.run_id or '?'} (seed {record.seed})", color, bold=True)]
    width = max((len(name) for name in record.phases), default=0)
    for phase in record.phases.values():
        status = _paint(f"{phase.status:<7}", color, phase.status)
        if not phase.started:
            lines.append(f"{_INDENT}{phase.name:<{width}}  {status}")
            continue
        counts = count_checks(len(phase.checks)) + (f", {phase.failed} failed" if phase.failed else "")
        line = f"{_INDENT}{phase.name:<{width}}  {status}  {counts:<22} {duration(phase.seconds):>8}"
        if phase.error is not None:
            line += f"  {_paint('error:', color, 'error')} {_one_line(phase.error, 80)}"
        lines.append(line)
    judged = record.checks
    bad = sum(1 for check in judged if failed(check))
    summary = f"{count_checks(len(judged))}: {len(judged) - bad} passed, {bad} failed"
    lines.append(_paint(summary, color, "failed" if bad else "passed"))
    failures = record.failures
    if failures:
        lines += ["", _paint(f"Failures ({len(failures)})", color, "failed", bold=True)]
        for _, failure in failures[:limit]:
            lines.append(f"{_INDENT}{_one_line(f'{failure.operation} · {failure.check} · {failure.title}')}")
        if len(failures) > limit:
            lines.append(f"{_INDENT}… and {len(failures) - limit} more (see the reports)")
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
    """Shows a run as it goes: a line per phase, ``.`` per passed and ``F`` per failed check.

    Dots are buffered into lines of ``width`` columns, because ``echo`` takes whole lines; a phase's
    last dots are shown when it finishes, with its counts and time. ``RunFinished`` shows
    :func:`summary_lines`; with ``progress=False`` that summary is all it shows.

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
        width: int = 80,
        reports: ReportWriter | None = None,
    ) -> None:
        """Report through ``echo``.

        Args:
            echo: takes one line at a time (``click.echo``).
            color: whether to add ANSI colors (the CLI decides: ``--no-color``, ``NO_COLOR``, a tty).
            progress: whether to show the run as it goes (phases, dots, progress messages), or only
                the summary at the end (for CI logs).
            width: the terminal's width, for wrapping the dots.
            reports: the writer of this run's reports, to list their paths in the summary.
        """
        self.record = RunRecord()
        self._echo = echo
        self._color = color
        self._progress = progress
        self._width = max(width - len(_INDENT), 10)
        self._reports = reports
        self._dots: list[str] = []

    def handle(self, event: Event) -> None:
        """Show one event of the run.

        Args:
            event: the next event, in the order the gate emitted them.
        """
        self.record.handle(event)
        if isinstance(event, RunFinished):
            self._flush()
            paths = self._reports.paths if self._reports is not None else None
            for line in summary_lines(self.record, paths=paths, color=self._color):
                self._echo(line)
        elif self._progress:
            self._show(event)

    def _show(self, event: Event) -> None:
        match event:
            case RunStarted():
                mock = " (embedded mock)" if event.embedded_mock else ""
                self._echo(_paint(f"villa-contracts gate · run {event.run_id}", self._color, bold=True))
                self._echo(f"target {self.record.target}{mock} · seed {event.seed} · max examples {event.max_examples}")
            case PhaseStarted():
                self._flush()
                self._echo("")
                description = f"  {_paint(_one_line(event.description), self._color, dim=True)}"
                self._echo(_paint(event.phase, self._color, bold=True) + (description if event.description else ""))
            case CheckFinished():
                self._dots.append(_paint("F", self._color) if failed(event) else ".")
                if len(self._dots) >= self._width:
                    self._flush()
            case Progress():
                self._flush()
                self._echo(_INDENT + _paint(_one_line(event.message, 200), self._color, dim=True))
            case PhaseFinished():
                self._flush()
                self._phase_line(event)

    def _flush(self) -> None:
        if self._dots:
            self._echo(_INDENT + "".join(self._dots))
            self._dots.clear()

    def _phase_line(self, event: PhaseFinished) -> None:
        phase = self.record.phases[event.phase]
        counts = f"{count_checks(len(phase.checks))}, {len(phase.checks) - phase.failed} passed, {phase.failed} failed"
        status = _paint(phase.status, self._color, phase.status)
        self._echo(f"{_INDENT}{event.phase}: {status} · {counts} · {duration(event.seconds)}")
        if event.error is not None:
            self._echo(f"{_INDENT}{_paint('error:', self._color, 'error')} {_one_line(event.error, 200)}")
