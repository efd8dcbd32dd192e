"""The typed events of a gate run.

Console output and the JUnit, JSON and HTML reports are all handlers of this one stream (see
``villa_contracts.reports``).

A run is: ``RunStarted``, then per phase ``PhaseStarted`` … ``CheckFinished``* … ``PhaseFinished``,
then ``RunFinished``. ``CheckFinished`` is the unit of the reports: one operation × one check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from villa_contracts.failures import Failure


@dataclass(frozen=True, slots=True)
class RunStarted:
    """The gate starts."""

    run_id: str
    target: str
    embedded_mock: bool
    seed: int
    max_examples: int
    started_at: float
    phases: tuple[str, ...]


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


@dataclass(frozen=True, slots=True)
class Progress:
    """Something happened that a person watching may want to see."""

    phase: str
    message: str


@dataclass(frozen=True, slots=True)
class PhaseFinished:
    """A phase ends."""

    phase: str
    seconds: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class RunFinished:
    """The gate ends, with the exit code it will return."""

    exit_code: int
    seconds: float
    reason: str = ""
    statuses: dict[str, list[int]] = field(default_factory=dict)


Event = RunStarted | PhaseStarted | CheckFinished | Progress | PhaseFinished | RunFinished
