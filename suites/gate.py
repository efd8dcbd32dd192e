"""The gate engine: run a gate's phases for a target and a set of contracts, as a stream of events.

``run_gate(context, plan)`` yields the events of ``villa_contracts.events`` for every phase (lint,
schemathesis, state machine, pact): ``PhaseStarted``, then ``Progress``, ``Skipped`` and
``CheckFinished`` events, then ``PhaseFinished`` (with the error when a phase could not run). It
prints nothing and decides no exit code: the caller feeds the events to its handlers and to a
``RunRecord``, which derives the verdict.

Coverage is a verdict: after a phase, every operation the phase should reach gets a ``coverage``
check that fails unless the operation answered a 2xx in that phase (``GatePlan.coverage="warn"``
reports it as a warning instead). A Ctrl-C or SIGTERM (``KeyboardInterrupt``) ends the current
phase with ``PhaseFinished(interrupted=True)`` and propagates.

Phases are registered with ``@phase``; what a phase runs per contract (a state machine) comes from the
contract's API package (``suites.apis``), so a new API plugs in without touching the engine.

Example:
    >>> with RunContext(target) as context:  # doctest: +SKIP
    ...     for event in run_gate(context, GatePlan(contracts=("villa",))):
    ...         print(event)
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, Skipped
from villa_contracts.failures import Failure
from villa_contracts.faults import INJECTED

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.property.reporting import MachineResult
    from villa_contracts.contract import Operation

PhaseRunner = Callable[["RunContext", "GatePlan"], Iterator[Event]]
Reach = Callable[["RunContext", "GatePlan", "dict[tuple[str, str], set[int]]"], "set[tuple[str, str]]"]
MachineRunner = Callable[..., "MachineResult"]
Coverage = Literal["fail", "warn", "off"]


@dataclass(frozen=True, slots=True)
class GatePlan:
    """What a gate run does.

    Attributes:
        phases: the phases to run, in order.
        contracts: the short names of the contracts to check (the context's backend APIs when empty).
        state_change_url: the provider's Pact state-change URL (a mock's own by default).
        coverage: ``fail``: an operation that never answered 2xx in a phase that should reach it
            fails the run; ``warn``: it is reported as a warning; ``off``: not judged here (a part of a
            phase whose other parts run elsewhere: ``villa_contracts.cli._parallel`` judges the whole phase).
        schemathesis_phases: Schemathesis' own phases the schemathesis phase runs (all by default).
    """

    phases: tuple[str, ...] = ("lint", "schemathesis", "state-machine", "pact")
    contracts: tuple[str, ...] = ()
    state_change_url: str | None = None
    coverage: Coverage = "fail"
    schemathesis_phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """A registered phase: its name, what it does (for people), its runner, and what it should reach."""

    name: str
    description: str
    run: PhaseRunner
    reaches: Reach | None = None


PHASES: dict[str, PhaseSpec] = {}
"""The gate's phases by name, in the order they run by default."""


def phase(name: str, description: str, *, reaches: Reach | None = None) -> Callable[[PhaseRunner], PhaseRunner]:
    """Register a phase of the gate (``reaches``: the operations it must get a 2xx from)."""

    def register(run: PhaseRunner) -> PhaseRunner:
        PHASES[name] = PhaseSpec(name, description, run, reaches)
        return run

    return register


def machine_for(contract: str) -> MachineRunner | None:
    """The state machine runner of ``contract`` (its API's suite part), or None when it has none."""
    from suites.apis import suite_of

    suite = suite_of(contract)
    return suite.machine if suite is not None else None


def moves_clock(contract: str) -> bool:
    """Whether ``contract``'s state machine moves the mock's clock (then it runs after every other machine)."""
    from suites.apis import suite_of

    suite = suite_of(contract)
    return suite is not None and suite.moves_clock


def run_gate(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    """Run the plan's phases against the context's target.

    Args:
        context: the run (target, contracts, paced client).
        plan: the phases and contracts.

    Yields:
        Every event of every phase. A phase that raises ends with ``PhaseFinished(error=…)`` and
        the next phase still runs; an interrupted one ends with ``PhaseFinished(interrupted=True)``
        and the ``KeyboardInterrupt`` propagates.
    """
    _load_builtin_phases()
    for name in plan.phases:
        spec = PHASES[name]
        yield PhaseStarted(name, spec.description)
        started, error = time.perf_counter(), None
        statuses: dict[tuple[str, str], set[int]] = {}
        injected: set[tuple[str, str]] = set()  # operations some of whose answers were faults the mock injected
        try:
            for event in spec.run(context, plan):
                fold(event, statuses, injected)
                yield event
            if spec.reaches is not None and plan.coverage != "off":
                yield from coverage(name, spec.reaches(context, plan, statuses), statuses, plan, injected)
        except KeyboardInterrupt:
            yield PhaseFinished(name, time.perf_counter() - started, None, interrupted=True)
            raise
        except Exception as exc:  # a phase that cannot run makes the gate unable to judge; the next one still runs
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        yield PhaseFinished(name, time.perf_counter() - started, error)


def fold(event: Event, statuses: dict[tuple[str, str], set[int]], injected: set[tuple[str, str]]) -> None:
    """Note what ``event`` says for coverage: the statuses an operation answered, and whether faults were injected."""
    if isinstance(event, CheckFinished) and event.contract:
        statuses.setdefault((event.contract, event.operation), set()).update(event.statuses)
        if event.warning and any(f.title.startswith(INJECTED) for f in event.failures):
            injected.add((event.contract, event.operation))


def coverage(
    phase_name: str,
    expected: set[tuple[str, str]],
    statuses: dict[tuple[str, str], set[int]],
    plan: GatePlan,
    injected: set[tuple[str, str]],
) -> Iterator[CheckFinished]:
    """One coverage check per operation the phase should reach: a 2xx answer, else a failure (``--coverage``).

    An operation some of whose answers were faults the mock injected is never the backend's failure: a warning.
    """
    for contract, operation in sorted(expected):
        seen = statuses.get((contract, operation), set())
        succeeded = any(200 <= status < 300 for status in seen)
        faulted = (contract, operation) in injected
        failures: tuple[Failure, ...] = ()
        if not succeeded:
            got = ", ".join(map(str, sorted(seen))) or "no answer at all"
            failures = (
                Failure(
                    operation=operation,
                    check="coverage",
                    title=(f"{INJECTED}: some answers were its faults; " if faulted else "")
                    + f"never answered 2xx in the {phase_name} phase: its success path was not tested",
                    message=f"expected: at least one 2xx answer\ngot: {got}\n"
                    "The gate's data set-up or links could not reach it; on a target that cannot, "
                    "lower this to a warning with --coverage warn.",
                    severity="high",
                ),
            )
        yield CheckFinished(
            phase_name,
            operation,
            "coverage",
            succeeded,
            failures,
            statuses=tuple(sorted(seen)),
            contract=contract,
            warning=not succeeded and (plan.coverage == "warn" or faulted),
        )


def selected(context: RunContext, plan: GatePlan) -> list[str]:
    """The names of the contracts a plan checks."""
    return [contract.name for contract in context.contracts.select(plan.contracts)]


def callable_operations(context: RunContext, plan: GatePlan) -> list[Operation]:
    """The operations of the selected contracts this run may call on its target (``RunContext.may_call``)."""
    return [
        operation
        for name in selected(context, plan)
        for operation in context.contracts[name].operations.values()
        if context.may_call(operation)
    ]


def _load_builtin_phases() -> None:
    # The phases register themselves when their module is imported (lazily: schemathesis and pact
    # are heavy, and a plan may not need them).
    import suites.gate_phases  # noqa: F401


@contextlib.contextmanager
def stdout_silenced() -> Iterator[None]:
    """Send file descriptor 1 to /dev/null (pact-ffi writes its own report straight to it)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def skipped(phase_name: str, subject: str, reason: str, contract: str = "") -> Skipped:
    """What a phase did not do, and why."""
    return Skipped(phase_name, subject, reason, contract)
