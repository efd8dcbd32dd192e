"""Run the state machine: ``run_machine(context, max_examples=…, seed=…)``.

Example:
    >>> with RunContext(target) as context:  # doctest: +SKIP
    ...     result = run_machine(context, max_examples=15, seed=0)
    >>> [f.check for f in result.failures]  # doctest: +SKIP
    []
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from suites.property.machine import VillaMachine
from suites.property.reporting import MachineResult, leaves, to_failure
from suites.property.session import SHRINK_SECONDS, Mismatch, RunSession, Session
from villa_contracts.failures import Failure

if TYPE_CHECKING:
    from suites.context import RunContext


def run_machine(
    context: RunContext,
    *,
    max_examples: int,
    seed: int,
    stateful_step_count: int = 20,
    shrink_seconds: float = SHRINK_SECONDS,
    progress: Callable[[int], None] | None = None,
    stop: threading.Event | None = None,
) -> MachineResult:
    """Run the state machine against the context's target and report what broke.

    Two runs with the same seed against targets in the same state make the same requests.

    Args:
        context: the run: its target (``rate_limit``, ``allow_payments``, ``is_mock``: exact catalog
            prices and stock are only checked on a mock, ``payment_prefix``) and rate-limited client.
        max_examples: how many random call sequences to try.
        seed: the seed of the sequences.
        stateful_step_count: rules per sequence.
        shrink_seconds: after the first failure, at most this long is spent replaying smaller examples.
        progress: called with the number of examples run so far (shrinking replays included).
        stop: once set, the remaining examples make no calls (the run was interrupted).

    Returns:
        The failures (one per distinct broken invariant, with the minimal sequence and curl commands
        that use ``$VILLA_ID_TOKEN_1``/``$VILLA_ID_TOKEN_2`` for the tokens), HTTP calls made,
        statuses per operationId and the time taken.
    """
    session = Session(context, shrink_seconds=shrink_seconds, progress=progress, stop=stop)
    return run_rules(
        context, VillaMachine, session, max_examples=max_examples, seed=seed, stateful_step_count=stateful_step_count
    )


def run_rules(
    context: RunContext,
    machine: type[RuleBasedStateMachine],
    session: RunSession,
    *,
    max_examples: int,
    seed: int,
    stateful_step_count: int = 20,
) -> MachineResult:
    """Run the rules of ``machine`` (a class whose ``session`` attribute it reads) with ``session``.

    The shared part of every API's state machine: Hypothesis' settings, the seed, and the mismatches
    found turned into failures.
    """
    started = time.monotonic()
    target = context.target
    name = machine.__name__
    Machine = type(name, (machine,), {"session": session})  # noqa: N806 - a class
    config = settings(
        max_examples=max_examples,
        stateful_step_count=stateful_step_count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        report_multiple_bugs=True,
        print_blob=False,
        verbosity=Verbosity.normal,
    )
    reported: list[str] = []  # Hypothesis' own messages (e.g. about a flaky target), kept off stdout
    found: list[BaseException] = []
    flaky = False
    try:
        with with_reporter(lambda text: reported.append(str(text))):
            run_state_machine_as_test(hypothesis_seed(seed)(Machine), settings=config)
    except (AssertionError, Flaky, BaseExceptionGroup) as raised:
        found = list(leaves(raised))
        flaky = isinstance(raised, Flaky) or any(isinstance(leaf, Flaky) for leaf in found)
    for leaf in found:
        if not isinstance(leaf, Mismatch | Flaky):
            raise leaf  # a bug of this tool, not of the target
    failures: list[Failure] = []
    unsure = "(the failure did not repeat when replayed: the target is not deterministic)" if flaky else None
    replayed = [(leaf, unsure) for leaf in found if isinstance(leaf, Mismatch)]
    # Every mismatch is evidence, also those Hypothesis did not replay (the target answered
    # differently the next time, or Hypothesis gave up on it): report the first of each kind too.
    extra = "(seen in the run, then not replayed: the target may answer differently each time)"
    for mismatch, note in [*replayed, *((m, extra) for m in session.mismatches.values())]:
        failure = to_failure(mismatch, seed=seed, note=note, target=target)
        if all((f.operation, f.check) != (failure.operation, failure.check) for f in failures):
            failures.append(failure)
    if found and not failures:
        failures.append(
            Failure(
                operation="state_machine",
                check="state_machine:flaky",
                title="the target answered the same calls differently when they were replayed",
                message="\n".join([*(str(leaf) for leaf in found), *reported]),
                severity="medium",
                seed=seed,
            )
        )
    return MachineResult(tuple(failures), session.steps, dict(session.statuses), time.monotonic() - started)


__all__ = ["MachineResult", "run_machine"]
