"""One proxy run (live, or a recording checked again): judge each exchange, keep the ledger, write the reports.

The reports (``junit.xml``, ``summary.json``, ``index.html``: the gate's writers, fed the ledger's
events) are rewritten atomically whenever an exchange brings a finding, *before* anyone is told
about it, and every few seconds otherwise (``tick``): a proxy killed with SIGKILL leaves reports
that hold every finding it printed. Until ``finish`` they say INCOMPLETE.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

from villa_contracts.events import RunFinished
from villa_contracts.reports import ReportWriter, RunRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from suites.proxy.exchange import Exchange
    from suites.proxy.findings import Finding, Verdict
    from suites.proxy.judge import TrafficJudge
    from suites.proxy.ledger import Ledger


def write_reports(
    directory: Path, ledger: Ledger, *, seconds: float | None = None
) -> tuple[RunRecord, dict[str, Path]]:
    """Render the run so far into ``directory``; with ``seconds`` (its duration), as finished.

    Returns:
        The run's record (its ``outcome()`` is the exit code) and the files written.
    """
    writer = ReportWriter.from_dir(directory)
    for event in ledger.run_events(seconds=seconds):
        writer.handle(event)
    if seconds is not None:
        code, reason = writer.record.outcome()
        writer.handle(RunFinished(code, seconds, reason))
    return writer.record, writer.close()


class TrafficSession:
    """Judges exchanges one by one and keeps the run's reports up to date.

    Args:
        judge: the run's judge.
        ledger: the run's tallies.
        report_dir: where the reports go (None: nowhere, another run's reports hold them).
        listener: told of each verdict and of what to announce of it (``Ledger.add``), after the
            reports hold it (the CLI prints it).
        clock: seconds (tests pass a fake one).
        every: the most seconds between two writes of the reports while exchanges come in.
    """

    def __init__(
        self,
        judge: TrafficJudge,
        ledger: Ledger,
        *,
        report_dir: Path | None = None,
        listener: Callable[[Verdict, list[Finding]], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        every: float = 2.0,
    ) -> None:
        self.judge, self.ledger, self.report_dir, self.listener = judge, ledger, report_dir, listener
        self._clock, self._every = clock, every
        self._started = clock()
        self._written = -1e9
        self._dirty = True
        self._lock = threading.RLock()

    def handle(self, exchange: Exchange, *, outside: bool = False) -> Verdict:
        """Judge one exchange, count it, write the reports if it brings news, then tell the listener.

        Args:
            exchange: the exchange.
            outside: its path is not below the upstream's base path.
        """
        with self._lock:
            verdict = self.judge.judge(exchange, outside=outside)
            new = self._add(verdict)
        return self._tell(verdict, new)

    def unjudged(self, exchange: Exchange, reason: str) -> Verdict:
        """Count an exchange the proxy could not judge (a warning that says why; a 5xx answer fails)."""
        with self._lock:
            verdict = self.judge.unjudged(exchange, reason)
            new = self._add(verdict)
        return self._tell(verdict, new)

    def _add(self, verdict: Verdict) -> list[Finding]:
        new = self.ledger.add(verdict)
        self._dirty = True
        if new:
            self._write()
        else:
            self.tick()
        return new

    def _tell(self, verdict: Verdict, new: list[Finding]) -> Verdict:
        if self.listener is not None:
            self.listener(verdict, new)
        return verdict

    def refuse(self, contract: str, operation: str, reason: str) -> None:
        """Count a request a fence answered itself."""
        with self._lock:
            self.ledger.refused(contract, operation, reason)
            self._write()

    def tick(self) -> None:
        """Write the reports if something changed and the last write is ``every`` seconds old."""
        with self._lock:
            if self._dirty and self._clock() - self._written >= self._every:
                self._write()

    def _write(self) -> None:
        if self.report_dir is None:
            return
        write_reports(self.report_dir, self.ledger)
        self._written, self._dirty = self._clock(), False

    @property
    def seconds(self) -> float:
        """How long the run has been going."""
        return self._clock() - self._started

    def finish(self) -> tuple[RunRecord, dict[str, Path]]:
        """Write the final reports (the run's verdict decided by ``RunRecord.outcome``).

        Returns:
            The record and the files (none without a report directory).
        """
        with self._lock:
            if self.report_dir is None:
                record = RunRecord()
                for event in self.ledger.run_events(seconds=self.seconds):
                    record.handle(event)
                code, reason = record.outcome()
                record.handle(RunFinished(code, self.seconds, reason))
                return record, {}
            return write_reports(self.report_dir, self.ledger, seconds=self.seconds)
