"""The gate's built-in phases: lint, schemathesis, state machine and pact (registered on import)."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING

from suites.gate import callable_operations, machine_for, moves_clock, phase, selected, skipped, stdout_silenced
from villa_contracts.events import CheckFinished, Event, Progress
from villa_contracts.failures import Failure
from villa_contracts.faults import INJECTED

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.gate import GatePlan
    from suites.property.reporting import MachineResult

Statuses = dict[tuple[str, str], set[int]]


@phase("lint", "the OpenAPI documents are valid; every operation has examples and error responses")
def _lint(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    from villa_contracts.contract import lint

    for name in selected(context, plan):
        for result in lint(context.contracts[name]):
            failures = tuple(
                Failure(operation=result.operation, check=result.check, title=p, message=p, severity="medium")
                for p in result.problems
            )
            yield CheckFinished("lint", result.operation, result.check, result.passed, failures, contract=name)


def _every_callable(context: RunContext, plan: GatePlan, seen: Statuses) -> set[tuple[str, str]]:
    return {operation.key for operation in callable_operations(context, plan)}


@phase(
    "schemathesis",
    "every operation, all checks, positive and negative data, stateful links",
    reaches=_every_callable,
)
def _schemathesis(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    from suites.property.runner import run_schemathesis

    for name in selected(context, plan):
        for op_id, operation in context.contracts[name].operations.items():
            why = context.why_not(operation)
            if why is not None:  # not called on purpose: the reports say why, never a bare "never 2xx"
                yield skipped("schemathesis", f"{name}.{op_id}", why, name)
        yield from run_schemathesis(context, context.contracts[name], plan.schemathesis_phases)


def _what_it_called(context: RunContext, plan: GatePlan, seen: Statuses) -> set[tuple[str, str]]:
    # The machine only calls what its rules call with valid data: each of those must succeed at times.
    return set(seen)


@phase(
    "state-machine",
    "random interleavings of two users' calls against the domain model",
    reaches=_what_it_called,
)
def _state_machine(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    target = context.target
    for name in sorted(selected(context, plan), key=moves_clock):
        run = machine_for(name)
        if run is None:
            yield skipped("state-machine", name, f"contract {name!r} has no state machine", name)
            continue
        examples = max(3, target.max_examples // 2)
        options = {"max_examples": examples, "seed": target.seed}
        result = yield from _in_worker(name, examples, functools.partial(run, context, **options))
        by_check: dict[tuple[str, str], list[Failure]] = {}
        for failure in result.failures:
            by_check.setdefault((failure.operation, failure.check), []).append(failure)
        for operation, seen in sorted(result.statuses.items()):
            if not any(op == operation for op, _ in by_check):
                yield CheckFinished(
                    "state-machine", operation, "state_machine", True, statuses=tuple(sorted(seen)), contract=name
                )
        for (operation, check), failures in sorted(by_check.items()):
            codes = tuple(sorted(result.statuses.get(operation, ())))
            # Only faults the mock injected (docs/faults.md): a warning, never the backend's failure.
            injected = all(failure.title.startswith(INJECTED) for failure in failures)
            yield CheckFinished(
                "state-machine", operation, check, False, tuple(failures), statuses=codes, contract=name,
                warning=injected,
            )  # fmt: skip


def _in_worker(contract: str, total: int, work: Callable[..., MachineResult]) -> Generator[Event, None, MachineResult]:
    """Run a state machine in a worker thread, yielding its progress; an interrupt stops it and propagates."""
    updates: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    outcome: list[MachineResult | BaseException] = []

    def target() -> None:
        try:
            outcome.append(work(progress=updates.put, stop=stop))
        except BaseException as exc:  # handed to the phase's thread, which raises it there
            outcome.append(exc)

    worker = threading.Thread(target=target, name=f"state-machine-{contract}", daemon=True)
    worker.start()
    shown = -1
    try:
        while worker.is_alive() or not updates.empty():
            try:
                done = min(updates.get(timeout=0.2), total)  # shrinking replays run examples past the total
            except queue.Empty:
                continue
            if done != shown:
                shown = done
                yield Progress("state-machine", f"{contract}: examples", done, total)
    except BaseException:
        stop.set()  # the examples left make no calls; the thread ends by itself
        raise
    worker.join()
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


@phase("pact", "the consumer pacts in contracts/pacts/, with provider states")
def _pact(context: RunContext, plan: GatePlan) -> Iterator[Event]:
    from suites.pact.provider import interactions_of, pact_files, verify_pacts

    target = context.target
    if plan.state_change_url is None and not target.is_mock:
        yield skipped("pact", "every pact", "the target is not a mock; give --state-change-url to verify the pacts")
        return
    for name in selected(context, plan):
        contract = context.contracts[name]
        files = pact_files(context.contracts, contract)
        if not files:
            yield skipped("pact", name, f"no pact names contract {name!r} as its provider", name)
            continue
        with stdout_silenced():
            # pact-ffi writes its own report straight to file descriptor 1; the reports carry the verdicts.
            result = verify_pacts(
                target.base_url,
                state_change_url=plan.state_change_url,
                files=files,
                admin_token=target.admin_token,
            )
        reasons = dict(result.failed)
        described = interactions_of(files, context.contracts)
        for description in result.interactions:
            reason = reasons.get(description)
            operation, status = described.get(description, (description, None))
            failures = (
                (Failure(operation=operation, check=f"pact: {description}", title="interaction not honoured",
                         message=reason),)
                if reason is not None
                else ()
            )  # fmt: skip
            statuses = (status,) if reason is None and status is not None else ()
            yield CheckFinished(
                "pact", operation, f"pact: {description}", reason is None, failures, statuses=statuses, contract=name
            )
