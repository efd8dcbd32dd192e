"""The record of one gate run, built from its event stream; every report is rendered from it.

:class:`RunRecord` is itself an event handler. It keeps the events it needs, in order, and answers
the questions the reports share (which phases ran, which checks failed, which statuses each
operation answered). Its :meth:`RunRecord.as_json` is the ``summary.json`` form.

Every number a report shows comes from :meth:`RunRecord.counts` (:class:`Counts`), in two units
that keep one label everywhere: *checks* (one operation × one check; "N checks failed" decides the
verdict) and *findings* (the "failures" a failed check found, each listed once in every report and
one SARIF result each, and the "warnings" that never fail the run). Failures and warnings are
listed worst first: by severity (critical, high, medium, low), then operation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from villa_contracts.events import (
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_OK,
    CheckFinished,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunStarted,
    Skipped,
)
from villa_contracts.failures import Failure
from villa_contracts.reports._counts import (
    DOCUMENT,
    Counts,
    failed,
    failures_of,
    warned,
    worst_first,
)
from villa_contracts.reports._text import iso_time, redact_url

if TYPE_CHECKING:
    from villa_contracts.events import Event

PhaseStatus = Literal["passed", "failed", "error", "skipped", "interrupted", "running", "not run"]
Verdict = Literal["PASSED", "FAILED", "ERROR", "INCOMPLETE"]


@dataclass(slots=True)
class PhaseRecord:
    """What is known about one phase.

    Attributes:
        name: the phase's name.
        description: what it does (from ``PhaseStarted``).
        started: whether it started.
        finished: whether it finished.
        interrupted: whether it was cut short (Ctrl-C, SIGTERM).
        seconds: its duration (from ``PhaseFinished``; the sum of its checks until then).
        error: why it could not complete, if it could not.
        checks: its checks, in the order they finished.
        skips: what it did not do, and why.
        notes: its ``Progress`` messages.
    """

    name: str
    description: str = ""
    started: bool = False
    finished: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    error: str | None = None
    checks: list[CheckFinished] = field(default_factory=list)
    skips: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> Counts:
        """Its checks and findings, counted as the whole run's are (:class:`Counts`)."""
        return Counts.of(self.checks, len(self.skips))

    @property
    def failed(self) -> int:
        """How many of its checks failed."""
        return sum(1 for check in self.checks if failed(check))

    @property
    def status(self) -> PhaseStatus:
        """``interrupted`` and ``error`` beat ``failed`` beats ``passed``; ``skipped`` when it judged nothing."""
        if not self.started:
            return "not run"
        if self.interrupted:
            return "interrupted"
        if self.error is not None:
            return "error"
        if self.failed:
            return "failed"
        if not self.finished:
            return "running"
        return "skipped" if not self.checks and self.skips else "passed"


@dataclass(slots=True)
class OperationCoverage:
    """What a run saw of one operation: the statuses each phase got, and each check's verdict.

    Attributes:
        statuses: HTTP statuses answered, by phase.
        checks: ``passed``, ``failed`` or ``warning`` by check name (a check that ran in several
            phases passed only if it passed in all of them).
    """

    statuses: dict[str, set[int]] = field(default_factory=dict)
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def all_statuses(self) -> list[int]:
        """Every status any phase got, sorted."""
        return sorted({status for seen in self.statuses.values() for status in seen})

    @property
    def succeeded(self) -> bool:
        """Whether any phase got a 2xx answer."""
        return any(200 <= status < 300 for status in self.all_statuses)


_RANK = {"passed": 0, "warning": 1, "failed": 2}


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
            case Skipped():
                phase = self._phase(event.phase)
                phase.started = True
                phase.skips.append(event)
            case Progress():
                # Run-level messages (no known phase) are for the console; don't invent a phase.
                if event.phase in self.phases and event.total is None:
                    self.phases[event.phase].notes.append(event.message)
            case PhaseFinished():
                phase = self._phase(event.phase)
                phase.started, phase.finished = True, not event.interrupted
                phase.interrupted = event.interrupted
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
        """``PASSED`` (0), ``FAILED`` (1), ``ERROR`` (2), ``INCOMPLETE`` (3, or no end at all)."""
        code = self.exit_code
        if code is None or code == EXIT_INCOMPLETE:
            return "INCOMPLETE"
        return "PASSED" if code == EXIT_OK else "FAILED" if code == EXIT_FAILED else "ERROR"

    @property
    def interrupted(self) -> bool:
        """Whether a phase was cut short."""
        return any(phase.interrupted for phase in self.phases.values())

    def unfinished(self) -> list[str]:
        """The planned phases that did not finish (interrupted, or never started)."""
        return [phase.name for phase in self.phases.values() if not phase.finished]

    def reproduce(self) -> dict[str, str]:
        """How to run this again: the whole run, and the variables a failure's curl reads."""
        if self.start is None:
            return {}
        start = self.start
        if start.command != "gate":  # the proxy: what a failure's curl lines read, on the target it watched
            return {"variables": f'eval "$(villa-contracts tokens --base-url {self.target})"'}
        args = f"--seed {start.seed} --max-examples {start.max_examples}"
        args += "".join(f" --contract {name}" for name in start.contracts)
        args += f" --phases {','.join(start.phases)}" if start.phases else ""
        if start.embedded_mock:
            rerun = f"villa-contracts gate {args}   # on a fresh embedded mock: the same requests"
            serve = "villa-contracts serve --port 8080 &   # a mock for the curl lines"
            tokens = f'eval "$(villa-contracts tokens --base-url http://127.0.0.1:8080 --seed {start.seed})"'
            return {"rerun": rerun, "mock": serve, "variables": tokens}
        rerun = f"villa-contracts gate --base-url {self.target} {args}"
        tokens = f'eval "$(villa-contracts tokens --base-url {self.target} --seed {start.seed})"'
        return {"rerun": rerun, "variables": tokens}

    def outcome(self) -> tuple[int, str]:
        """The exit code the run has earned so far, and why: the one place it is decided.

        ``3`` (INCOMPLETE) when a phase was interrupted; ``2`` when a phase could not run or nothing
        was tested; ``1`` when a check failed (warnings do not fail); else ``0``.
        """
        if self.interrupted:
            return EXIT_INCOMPLETE, f"interrupted: not finished: {', '.join(self.unfinished())}"
        errors = [f"{phase.name}: {phase.error}" for phase in self.phases.values() if phase.error]
        counts = self.counts()
        if errors:
            return EXIT_ERROR, "; ".join(errors)
        if not counts.checks:
            return EXIT_ERROR, "nothing was tested"
        untested = self.untested_contracts()
        if untested:
            return EXIT_ERROR, f"nothing was tested on {', '.join(untested)}: no check of the target ran (see skips)"
        return (EXIT_FAILED if counts.failed else EXIT_OK), counts.phrase()

    def untested_contracts(self) -> list[str]:
        """The run's contracts that no check of the target judged, when a phase that tests the target ran.

        Lint judges the documents only: a contract with lint checks alone was not tested. Only a gate
        run chooses what it tests (a proxy judges whatever its clients send).
        """
        if self.start is None or self.start.command != "gate" or all(name == "lint" for name in self.start.phases):
            return []
        tested = {check.contract for check in self.checks if check.phase != "lint"}
        return [name for name in self.start.contracts if name not in tested]

    def counts(self) -> Counts:
        """The run's counts: every report shows these, with the same labels (:class:`Counts`)."""
        return Counts.of(self.checks, sum(len(phase.skips) for phase in self.phases.values()))

    @property
    def checks(self) -> list[CheckFinished]:
        """All checks, phase by phase."""
        return [check for phase in self.phases.values() for check in phase.checks]

    @property
    def skips(self) -> list[Skipped]:
        """Everything the run did not do, with why, phase by phase."""
        return [skip for phase in self.phases.values() for skip in phase.skips]

    @property
    def failures(self) -> list[tuple[str, Failure]]:
        """Every failure (warnings excluded) with the phase it showed in, worst first (:func:`worst_first`)."""
        return [(phase, failure) for phase, _, failure in self.located()]

    def located(self, *, warnings: bool = False) -> list[tuple[str, str, Failure]]:
        """Every failure (or warning) with its phase and its operation's contract, worst first."""
        keep = warned if warnings else failed
        found = [(check.phase, check.contract, f) for check in self.checks if keep(check) for f in failures_of(check)]
        return worst_first(found)

    @property
    def warnings(self) -> list[tuple[str, Failure]]:
        """Every finding lowered to a warning, with its phase, worst first."""
        return [(phase, failure) for phase, _, failure in self.located(warnings=True)]

    def operations(self) -> dict[tuple[str, str], OperationCoverage]:
        """Coverage per ``(contract, operation)``: the statuses each phase got, and each check's verdict.

        Lint's document-wide checks and checks about no operation are left out: every key is an
        operation of a contract.

        Returns:
            ``{(contract, operationId): OperationCoverage}``, sorted.
        """
        found: dict[tuple[str, str], OperationCoverage] = {}
        for check in self.checks:
            if check.operation == DOCUMENT or not check.contract:
                continue
            coverage = found.setdefault((check.contract, check.operation), OperationCoverage())
            if check.statuses:
                coverage.statuses.setdefault(check.phase, set()).update(check.statuses)
            verdict = "failed" if failed(check) else "warning" if warned(check) else "passed"
            before = coverage.checks.get(check.check, "passed")
            coverage.checks[check.check] = max(before, verdict, key=_RANK.__getitem__)
        return dict(sorted(found.items()))

    def skip_reasons(self) -> dict[tuple[str, str], list[str]]:
        """Why an operation was not called, by ``(contract, operationId)``: the skips of ``contract.operationId``."""
        found: dict[tuple[str, str], list[str]] = {}
        for skip in self.skips:
            contract, _, operation = skip.subject.partition(".")
            if skip.contract and contract == skip.contract and operation:
                found.setdefault((contract, operation), []).append(f"{skip.phase}: {skip.reason}")
        return found

    def as_json(self) -> dict[str, object]:
        """The ``summary.json`` form (write it with ``sort_keys=True`` for a stable key order)."""
        covered = self.operations()
        reasons = self.skip_reasons()
        operations: dict[str, dict[str, object]] = {}
        for (contract, operation), coverage in covered.items():
            operations.setdefault(contract, {})[operation] = {
                "statuses": {phase: sorted(seen) for phase, seen in coverage.statuses.items()},
                "succeeded": coverage.succeeded,
                "checks": dict(sorted(coverage.checks.items())),
                **({"skipped": reasons[(contract, operation)]} if (contract, operation) in reasons else {}),
            }
        return {
            "runId": self.run_id,
            "target": self.target,
            "tool": f"villa-contracts {self.start.command}" if self.start else None,
            "embeddedMock": self.start.embedded_mock if self.start else None,
            "seed": self.seed,
            "maxExamples": self.start.max_examples if self.start else None,
            "startedAt": iso_time(self.start.started_at) if self.start else None,
            "seconds": round(self.finish.seconds, 3) if self.finish else None,
            "exitCode": self.exit_code,
            "reason": self.finish.reason if self.finish else "",
            "verdict": self.verdict,
            "reproduce": self.reproduce(),
            "phases": [
                {
                    "name": phase.name,
                    "status": phase.status,
                    "seconds": round(phase.seconds, 3),
                    "error": phase.error,
                    "checks": len(phase.checks),
                    "failed": phase.failed,
                    "failures": phase.counts.failures,
                    "warnings": phase.counts.warnings,
                    "skipped": [
                        {"subject": skip.subject, "reason": skip.reason, "contract": skip.contract}
                        for skip in phase.skips
                    ],
                }
                for phase in self.phases.values()
            ],
            "operations": operations,
            "failures": [
                {**f.as_json(), "phase": phase, "contract": contract} for phase, contract, f in self.located()
            ],
            "warnings": [
                {**f.as_json(), "phase": phase, "contract": contract}
                for phase, contract, f in self.located(warnings=True)
            ],
            "counts": self.counts().as_json(),
        }
