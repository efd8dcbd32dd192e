"""The record of one gate run, built from its event stream; every report is rendered from it.

:class:`RunRecord` is itself an event handler. It keeps the events it needs, in order, and answers
the questions the reports share (which phases ran, which checks failed, which statuses each
operation answered). Its :meth:`RunRecord.as_json` is the ``summary.json`` form.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from villa_contracts.events import (
    CheckFinished,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunStarted,
)
from villa_contracts.failures import Failure
from villa_contracts.reports._text import iso_time, redact_url

if TYPE_CHECKING:
    from villa_contracts.events import Event

PhaseStatus = Literal["passed", "failed", "error", "running", "not run"]
Verdict = Literal["PASSED", "FAILED", "ERROR", "INCOMPLETE"]


def failed(check: CheckFinished) -> bool:
    """Whether a check failed; a check that reports failures failed, whatever its ``passed`` says.

    Args:
        check: the event.

    Returns:
        True when the check did not hold.
    """
    return not check.passed or bool(check.failures)


def failures_of(check: CheckFinished) -> tuple[Failure, ...]:
    """The failures of a failed check, never empty: a bare failed check gets one saying so.

    Args:
        check: a failed check.

    Returns:
        Its failures, or one placeholder when the check failed without giving any.
    """
    if check.failures:
        return check.failures
    placeholder = Failure(
        operation=check.operation,
        check=check.check,
        title="check failed without details",
        message="The check reported a failure but no message.",
    )
    return (placeholder,)


@dataclass(slots=True)
class PhaseRecord:
    """What is known about one phase.

    Attributes:
        name: the phase's name.
        description: what it does (from ``PhaseStarted``).
        started: whether it started.
        finished: whether it finished.
        seconds: its duration (from ``PhaseFinished``; the sum of its checks until then).
        error: why it could not complete, if it could not.
        checks: its checks, in the order they finished.
        notes: its ``Progress`` messages.
    """

    name: str
    description: str = ""
    started: bool = False
    finished: bool = False
    seconds: float = 0.0
    error: str | None = None
    checks: list[CheckFinished] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        """How many of its checks failed."""
        return sum(1 for check in self.checks if failed(check))

    @property
    def status(self) -> PhaseStatus:
        """``error`` beats ``failed`` beats ``passed``; ``running`` if it never finished."""
        if not self.started:
            return "not run"
        if self.error is not None:
            return "error"
        if self.failed:
            return "failed"
        return "passed" if self.finished else "running"


@dataclass(slots=True)
class RunRecord:
    """Everything a report needs about one run; feed it every event with :meth:`handle`.

    Attributes:
        start: the ``RunStarted`` event, once seen.
        finish: the ``RunFinished`` event, once seen.
        phases: the phases by name: the planned ones first, in plan order, then any other.
    """

    start: RunStarted | None = None
    finish: RunFinished | None = None
    phases: dict[str, PhaseRecord] = field(default_factory=dict)

    def handle(self, event: Event) -> None:
        """Take one event of the run.

        Args:
            event: the next event, in the order the gate emitted them.
        """
        match event:
            case RunStarted():
                self.start = event
                for name in event.phases:
                    self._phase(name)
            case PhaseStarted():
                phase = self._phase(event.phase)
                phase.started, phase.description = True, event.description
            case CheckFinished():
                phase = self._phase(event.phase)
                phase.started = True
                phase.checks.append(event)
                if not phase.finished:
                    phase.seconds += event.seconds
            case Progress():
                # Run-level messages (no known phase) are for the console; don't invent a phase.
                if event.phase in self.phases:
                    self.phases[event.phase].notes.append(event.message)
            case PhaseFinished():
                phase = self._phase(event.phase)
                phase.started, phase.finished = True, True
                phase.seconds, phase.error = event.seconds, event.error
            case RunFinished():
                self.finish = event

    def _phase(self, name: str) -> PhaseRecord:
        return self.phases.setdefault(name, PhaseRecord(name))

    @property
    def run_id(self) -> str:
        """The run's id, ``""`` before ``RunStarted``."""
        return self.start.run_id if self.start else ""

    @property
    def seed(self) -> int | None:
        """The run's seed, if the run started."""
        return self.start.seed if self.start else None

    @property
    def target(self) -> str:
        """The target's URL without credentials."""
        return redact_url(self.start.target) if self.start else ""

    @property
    def exit_code(self) -> int | None:
        """The exit code, ``None`` if the run did not finish."""
        return self.finish.exit_code if self.finish else None

    @property
    def verdict(self) -> Verdict:
        """``PASSED`` (exit 0), ``FAILED`` (exit 1), ``ERROR`` (exit 2+) or ``INCOMPLETE`` (no end)."""
        code = self.exit_code
        if code is None:
            return "INCOMPLETE"
        return "PASSED" if code == 0 else "FAILED" if code == 1 else "ERROR"

    def outcome(self) -> tuple[int, str]:
        """The exit code the run has earned so far, and why: the one place it is decided.

        ``2`` when a phase could not run or nothing was tested, ``1`` when a check failed, else ``0``.
        """
        errors = [f"{phase.name}: {phase.error}" for phase in self.phases.values() if phase.error]
        checks = self.checks
        failed_count = sum(1 for check in checks if failed(check))
        if errors:
            return 2, "; ".join(errors)
        if not checks:
            return 2, "nothing was tested"
        if failed_count:
            return 1, f"{failed_count} check(s) failed"
        return 0, f"all {len(checks)} checks held"

    @property
    def checks(self) -> list[CheckFinished]:
        """All checks, phase by phase."""
        return [check for phase in self.phases.values() for check in phase.checks]

    @property
    def failures(self) -> list[tuple[str, Failure]]:
        """Every failure with the phase it showed in, in run order."""
        return [(check.phase, failure) for check in self.checks if failed(check) for failure in failures_of(check)]

    def operations(self) -> dict[str, tuple[list[int], dict[str, bool]]]:
        """Coverage per operation: the statuses it answered and, per check, whether the check passed.

        A check that ran in several phases passed only if it passed in all of them. Operations the
        run saw (``RunFinished.statuses``) but no check judged are listed with no checks.

        Returns:
            ``{operation: (sorted unique statuses, {check: passed})}``, sorted by operation.
        """
        statuses: dict[str, set[int]] = {}
        verdicts: dict[str, dict[str, bool]] = {}
        for check in self.checks:
            statuses.setdefault(check.operation, set()).update(check.statuses)
            checks = verdicts.setdefault(check.operation, {})
            checks[check.check] = checks.get(check.check, True) and not failed(check)
        for operation, seen in (self.finish.statuses if self.finish else {}).items():
            statuses.setdefault(operation, set()).update(seen)
        return {
            operation: (sorted(statuses[operation]), dict(sorted(verdicts.get(operation, {}).items())))
            for operation in sorted(statuses)
        }

    def as_json(self) -> dict[str, object]:
        """The ``summary.json`` form (write it with ``sort_keys=True`` for a stable key order)."""
        checks = self.checks
        failed_count = sum(1 for check in checks if failed(check))
        return {
            "runId": self.run_id,
            "target": self.target,
            "embeddedMock": self.start.embedded_mock if self.start else None,
            "seed": self.seed,
            "maxExamples": self.start.max_examples if self.start else None,
            "startedAt": iso_time(self.start.started_at) if self.start else None,
            "seconds": round(self.finish.seconds, 3) if self.finish else None,
            "exitCode": self.exit_code,
            "reason": self.finish.reason if self.finish else "",
            "verdict": self.verdict,
            "phases": [
                {
                    "name": phase.name,
                    "status": phase.status,
                    "seconds": round(phase.seconds, 3),
                    "error": phase.error,
                    "checks": len(phase.checks),
                    "failed": phase.failed,
                }
                for phase in self.phases.values()
            ],
            "operations": {
                operation: {
                    "statuses": seen,
                    "checks": {name: "passed" if ok else "failed" for name, ok in checks_by_name.items()},
                }
                for operation, (seen, checks_by_name) in self.operations().items()
            },
            "failures": [{**failure.as_json(), "phase": phase} for phase, failure in self.failures],
            "counts": {"checks": len(checks), "passed": len(checks) - failed_count, "failed": failed_count},
        }
