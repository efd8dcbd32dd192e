"""The gate engine: run a gate's phases for a target and a set of contracts, as a stream of events.

``run_gate(context, plan)`` yields the events of ``villa_contracts.events`` for every phase (lint,
schemathesis, state machine, pact): ``PhaseStarted``, then ``Progress`` and ``CheckFinished`` events,
then ``PhaseFinished`` (with the error when a phase could not run). It prints nothing and decides
no exit code: the caller feeds the events to its handlers and to a ``RunRecord``, which derives the
verdict. Phases are registered with ``@phase``; what a phase runs per contract (a state machine,
a pact provider) is registered per contract name, so a new API plugs in without touching the engine.

Example:
    >>> with RunContext(target) as context:  # doctest: +SKIP
    ...     for event in run_gate(context, GatePlan(contracts=("villa",))):
    ...         print(event)
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, Progress
from villa_contracts.failures import Failure

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.property.reporting import MachineResult

PhaseRunner = Callable[["RunContext", "GatePlan"], Iterator[Event]]
MachineRunner = Callable[..., "MachineResult"]


@dataclass(frozen=True, slots=True)
class GatePlan:
    """What a gate run does.

    Attributes:
        phases: the phases to run, in order.
        contracts: the short names of the contracts to check (the context's backend APIs when empty).
        state_change_url: the provider's Pact state-change URL (a mock's own by default).
    """

    phases: tuple[str, ...] = ("lint", "schemathesis", "state-machine", "pact")
    contracts: tuple[str, ...] = ()
    state_change_url: str | None = None


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """A registered phase: its name, what it does (for people) and its runner."""

    name: str
    description: str
    run: PhaseRunner


PHASES: dict[str, PhaseSpec] = {}
"""The gate's phases by name, in the order they run by default."""

MACHINES: dict[str, str] = {"villa": "suites.property.stateful:run_machine"}
"""The state machine of each contract that has one: contract name → ``module:function`` (imported when run)."""


def phase(name: str, description: str) -> Callable[[PhaseRunner], PhaseRunner]:
    """Register a phase of the gate."""

    def register(run: PhaseRunner) -> PhaseRunner:
        PHASES[name] = PhaseSpec(name, description, run)
        return run

    return register


def machine_for(contract: str) -> MachineRunner | None:
    """The state machine runner of ``contract``, or None when it has none."""
    where = MACHINES.get(contract)
    if where is None:
        return None
    module, _, name = where.partition(":")
    runner: MachineRunner = getattr(importlib.import_module(module), name)
    return runner


def run_gate(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    """Run the plan's phases against the context's target.

    Args:
        context: the run (target, contracts, paced client).
        plan: the phases and contracts.

    Yields:
        Every event of every phase. A phase that raises ends with ``PhaseFinished(error=…)`` and
        the next phase still runs.
    """
    _load_builtin_phases()
    for name in plan.phases:
        spec = PHASES[name]
        yield PhaseStarted(name, spec.description)
        started, error = time.perf_counter(), None
        try:
            yield from spec.run(context, plan)
        except Exception as exc:  # a phase that cannot run makes the gate unable to judge; the next one still runs
            error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        yield PhaseFinished(name, time.perf_counter() - started, error)


def selected(context: RunContext, plan: GatePlan) -> list[str]:
    """The names of the contracts a plan checks."""
    return [contract.name for contract in context.contracts.select(plan.contracts)]


def _load_builtin_phases() -> None:
    # The phases register themselves when their modules are imported (lazily: schemathesis and
    # pact are heavy, and a plan may not need them).
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


def lint_events(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    """One ``CheckFinished`` per lint check of every selected contract."""
    from villa_contracts.contract import lint

    for name in selected(context, plan):
        for result in lint(context.contracts[name]):
            failures = tuple(
                Failure(operation=result.operation, check=result.check, title=p, message=p, severity="medium")
                for p in result.problems
            )
            yield CheckFinished("lint", result.operation, result.check, result.passed, failures, contract=name)


def skipped(phase_name: str, why: str) -> Progress:
    """The note a phase gives for what it did not run."""
    return Progress(phase_name, f"skipped: {why}")
