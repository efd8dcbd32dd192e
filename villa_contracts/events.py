"""The typed events of a gate run.

Console output and the JUnit, JSON, HTML and SARIF reports are all handlers of this one stream (see
``villa_contracts.reports``).

A run is: ``RunStarted``, then per phase ``PhaseStarted`` … (``CheckFinished`` | ``Skipped`` |
``Progress``)* … ``PhaseFinished``, then ``RunFinished``. ``CheckFinished`` is the unit of the
reports: one operation × one check. ``Skipped`` says what a phase did not do and why (never
counted as passed). A run cut short (Ctrl-C, SIGTERM) ends with ``PhaseFinished(interrupted=True)``
and ``RunFinished(exit_code=EXIT_INCOMPLETE)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from villa_contracts.failures import Failure

EXIT_OK = 0
"""Every check held."""
EXIT_FAILED = 1
"""The target violated a contract."""
EXIT_ERROR = 2
"""The command could not run (bad options or config, target unreachable, nothing tested)."""
EXIT_INCOMPLETE = 3
"""The run was interrupted (Ctrl-C, SIGTERM) before every phase finished: neither green nor red."""


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The gate starts (or another command whose reports have the gate's form: ``command``)."""

    run_id: str
    target: str
    embedded_mock: bool
    seed: int
    max_examples: int
    started_at: float
    phases: tuple[str, ...]
    contracts: tuple[str, ...] = ()
    command: str = "gate"


@dataclass(frozen=True, slots=True)
class PhaseStarted:
    """A phase (``lint``, ``schemathesis``, ``state-machine``, ``pact``...) starts."""

    phase: str
    description: str


@dataclass(frozen=True, slots=True)
class CheckFinished:
    """One check on one operation is decided.

    Attributes:
        phase: the phase it ran in.
        operation: operationId, ``METHOD /path``, or ``contract`` for lint checks.
        check: the check's name.
        passed: whether it held on every call it judged.
        failures: what broke (empty when passed).
        calls: how many calls it judged.
        statuses: the HTTP statuses the operation answered in those calls.
        seconds: time spent.
        contract: the short name of the operation's contract ("" when the check is not about one).
        warning: a finding that is reported but does not fail the run (e.g. coverage lowered to a
            warning with ``--coverage warn``).
    """

    phase: str
    operation: str
    check: str
    passed: bool
    failures: tuple[Failure, ...] = ()
    calls: int = 0
    statuses: tuple[int, ...] = ()
    seconds: float = 0.0
    contract: str = ""
    warning: bool = False


@dataclass(frozen=True, slots=True)
class Skipped:
    """Something a phase did not do, and why (shown as skipped, never as passed).

    Attributes:
        phase: the phase.
        subject: what was not done: ``<contract>.<operationId>`` for an operation not called (the
            reports show the reason in its coverage row), a check's name for a check that is off
            on this target (its reason begins ``off:``), a contract, or the whole phase.
        reason: why, and how to have it done.
        contract: the contract it concerns ("" for the whole phase).
    """

    phase: str
    subject: str
    reason: str
    contract: str = ""


@dataclass(frozen=True, slots=True)
class Progress:
    """Something happened that a person watching may want to see.

    Attributes:
        phase: the phase it belongs to (or ``gate`` for the run).
        message: for people.
        done: how many units of work are done (operations, examples, interactions), if counted.
        total: how many there are in all, if known.
    """

    phase: str
    message: str
    done: int | None = None
    total: int | None = None


@dataclass(frozen=True, slots=True)
class PhaseFinished:
    """A phase ends."""

    phase: str
    seconds: float
    error: str | None = None
    interrupted: bool = False


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The gate ends, with the exit code it will return."""

    exit_code: int
    seconds: float
    reason: str = ""
    statuses: dict[str, list[int]] = field(default_factory=dict)


Event = RunStarted | PhaseStarted | CheckFinished | Skipped | Progress | PhaseFinished | RunFinished
