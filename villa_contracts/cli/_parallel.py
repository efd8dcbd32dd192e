"""The gate on embedded mocks, side by side: each phase of each contract in a worker process, on a fresh mock.

A gate run is a list of parts, one per phase and contract (``schemathesis`` of ``villa``, ...). Sequentially
they share one mock, and one core. Here ``jobs`` worker processes take the parts in the phases' order, a
phase's longest part first (the next phase's parts start as soon as a worker is free); each
part starts its own embedded mock, seeded by the run's seed, so a part's requests and answers are the same
whichever worker runs it and whatever ran before it (a seed reproduces every part alone:
``gate --phases P --contract C --seed S``). Fresh mocks also keep parts from seeing each other's data: the
state machines read their users' whole order lists, and the Villa machine moves its mock's clock.

The events come back phase by phase, as in the sequential run; within a phase, contract by contract in the
order their parts started (the running one's progress is live), each contract's events whole: a part that
finished early is held until its turn. A phase's seconds are its parts' own, summed (the run's wall time is
the ``RunFinished``'s).

A worker killed while it writes to the results' pipe (SIGKILL, out of memory) can leave the other workers
unable to write: the run then waits, as a hung part does in a sequential run (there is no per-part timeout).

Only the embedded mock runs this way: a given base URL is one backend whose data the parts would share.
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import pickle
import queue
import signal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, Skipped

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from starlette.types import ASGIApp

    from suites.gate import GatePlan

AppFactory = Callable[[str, int], "ASGIApp"]
"""Makes a part's mock app from its base URL and the run's seed (picklable: a module-level function)."""

WEIGHTS = {"schemathesis": 10.0, "state-machine": 3.0, "pact": 1.0, "lint": 0.1}
"""Rough cost of a phase per operation of its contract: a phase's parts start longest first."""

POLL_SECONDS = 0.5


@dataclass(frozen=True, slots=True)
class Settings:
    """What every part of the run shares (sent to each worker).

    Attributes:
        seed: the run's seed (each part's mock draws its ids from it, and so do the part's examples).
        max_examples: examples per operation.
        rate_limit: requests per second of each part (None: no limit).
        env: ``VILLA_ENV`` of the run.
        allow_prod_payments: call payment operations on prod too.
        admin_token: the mock's admin token, if it asks for one.
        app: makes a part's mock app (None: the mock itself).
    """

    seed: int
    max_examples: int
    rate_limit: float | None = None
    env: str | None = None
    allow_prod_payments: bool = False
    admin_token: str | None = None
    app: AppFactory | None = field(default=None)


@dataclass(frozen=True, slots=True)
class _Done:
    """A part ended (its events all sent before this)."""


@dataclass(frozen=True, slots=True)
class _Reach:
    """What a part's phase should have reached (its coverage is judged over the whole phase)."""

    expected: frozenset[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Part:
    """One phase of one contract (the schemathesis phase: some of Schemathesis' own phases)."""

    phase: str
    contract: str
    engine: tuple[str, ...] = ()


def parts_of(plan: GatePlan, names: tuple[str, ...]) -> list[Part]:
    """The parts of a plan, in the sequential run's order.

    Schemathesis' fuzzing, the longest of its phases, is a part of its own: the other part starts with the
    examples, as the sequential run does, so what the examples catch both catch; fuzzing then starts from
    the live examples alone (the other phases' answers are not its seed data).
    """
    engine = plan.schemathesis_phases
    split = "fuzzing" in engine and len(engine) > 1
    parts: list[Part] = []
    for phase in plan.phases:
        for contract in names:
            if phase == "schemathesis" and split:
                parts.append(Part(phase, contract, tuple(p for p in engine if p != "fuzzing")))
                parts.append(Part(phase, contract, ("fuzzing",)))
            else:
                parts.append(Part(phase, contract, engine if phase == "schemathesis" else ()))
    return parts


def run_parallel(plan: GatePlan, names: tuple[str, ...], settings: Settings, jobs: int) -> Iterator[Event]:
    """Run ``plan`` over the contracts ``names`` in ``jobs`` worker processes, each part on its own embedded mock.

    Yields:
        The events ``suites.gate.run_gate`` yields for the same plan, phase by phase: a phase's checks
        of one operation that ran in two parts are one check (failed if either failed), and its coverage is
        judged over all its parts. A part whose worker ended without finishing it (killed, out of memory)
        ends its phase with that error.
    """
    from suites.gate import PHASES, _load_builtin_phases

    _load_builtin_phases()
    parts = parts_of(plan, names)
    spawn = multiprocessing.get_context("spawn")  # no fork: the caller may run threads (a test's servers)
    todo: multiprocessing.Queue[tuple[int, Part] | None] = spawn.Queue()
    results: multiprocessing.Queue[tuple[int, bytes]] = spawn.Queue()
    # The longest part first; then the phases in their order (the console shows a phase once its parts are
    # done), each phase's longest part first.
    weights = _weights(parts)
    order = sorted(range(len(parts)), key=lambda i: (plan.phases.index(parts[i].phase), -weights[i]))
    longest = max(order, key=lambda i: weights[i])
    queued = [longest, *(i for i in order if i != longest)]
    for index in queued:
        todo.put((index, parts[index]))
    part_plan = dataclasses.replace(plan, coverage="off")
    workers = [
        spawn.Process(target=_work, args=(part_plan, settings, todo, results), name=f"gate-worker-{n}", daemon=True)
        for n in range(max(1, min(jobs, len(parts))))
    ]
    for _ in workers:
        todo.put(None)
    inbox = _Inbox(results, workers)
    try:
        for worker in workers:
            worker.start()
        for phase in plan.phases:
            yield PhaseStarted(phase, PHASES[phase].description)
            # Its contracts in the order their parts started: the one running now shows its progress.
            mine = [(i, parts[i]) for i in queued if parts[i].phase == phase]
            yield from _phase(plan, phase, mine, inbox)
    finally:
        started = [worker for worker in workers if worker.pid is not None]  # an interrupt may land mid-start
        for worker in started:
            if worker.is_alive():
                worker.terminate()
        for worker in started:
            worker.join(timeout=5)


def _phase(plan: GatePlan, phase: str, parts: list[tuple[int, Part]], inbox: _Inbox) -> Iterator[Event]:
    """One phase's events from its parts (in their order), contract by contract, then its coverage and its end."""
    from suites.gate import PHASES, coverage, fold

    seconds, error = 0.0, None
    statuses: dict[tuple[str, str], set[int]] = {}
    injected: set[tuple[str, str]] = set()
    expected: set[tuple[str, str]] = set()
    for contract in dict.fromkeys(part.contract for _, part in parts):
        mine = [index for index, part in parts if part.contract == contract]
        held: list[Event] = []
        for index in mine:
            for event in inbox.events_of(index, phase, contract):
                if isinstance(event, _Reach):
                    expected |= event.expected
                elif isinstance(event, PhaseFinished):
                    seconds += event.seconds
                    error = error or event.error
                elif isinstance(event, (CheckFinished, Skipped)) and len(mine) > 1:
                    held.append(event)  # merged once every part of the contract is in
                elif not isinstance(event, PhaseStarted):
                    fold(event, statuses, injected)
                    yield event
        for event in _merged(held):
            fold(event, statuses, injected)
            yield event
    if error is None and PHASES[phase].reaches is not None:
        yield from coverage(phase, expected, statuses, plan, injected)
    yield PhaseFinished(phase, seconds, error)


def _merged(events: list[Event]) -> Iterator[Event]:
    """The checks of one contract's phase that ran in several parts, as one run of it would report them.

    A check of one operation is one check: failed if it failed in any part (as the reports tell a failed
    check: ``villa_contracts.reports._counts``; a warning only if every finding was one), a finding two parts
    made listed once (by its title, as one run lists it), its calls, statuses and seconds added up. A skip
    is said once, and not at all for a check that some part evaluated (``evaluated 0 times`` in one part only).
    """
    from villa_contracts.reports._counts import failed as failed_check
    from villa_contracts.reports._counts import warned as warned_check

    checks: dict[tuple[str, str], list[CheckFinished]] = {}
    skips: dict[tuple[str, str], Skipped] = {}
    for event in events:
        if isinstance(event, CheckFinished):
            checks.setdefault((event.operation, event.check), []).append(event)
        elif isinstance(event, Skipped):
            skips.setdefault((event.subject, event.reason), event)
    evaluated = {check for (_, check), runs in checks.items() if any(run.calls for run in runs)}
    for skip in skips.values():
        if skip.subject not in evaluated:
            yield skip
    for key in sorted(checks):
        runs = checks[key]
        failed = [run for run in runs if failed_check(run)]
        warned = [run for run in runs if warned_check(run)]
        shown = failed or warned
        titles = {failure.title: failure for run in shown for failure in run.failures}  # one finding: listed once
        yield dataclasses.replace(
            runs[0],
            passed=not shown,
            failures=tuple(titles.values()),
            calls=sum(run.calls for run in runs),
            statuses=tuple(sorted({status for run in runs for status in run.statuses})),
            seconds=sum(run.seconds for run in runs),
            warning=not failed and bool(warned),
        )


def _weights(parts: list[Part]) -> list[float]:
    """Rough cost of each part: its phase's factor times the size of its contract's document (generation cost)."""
    from villa_contracts.contract import load

    contracts = load()
    sizes = {name: len(json.dumps(contracts[name].openapi)) for name in {part.contract for part in parts}}
    weights = []
    for part in parts:
        factor = WEIGHTS.get(part.phase, 1.0)
        if part.phase == "schemathesis":
            factor *= 2.0 if part.engine == ("fuzzing",) else max(1, len(part.engine)) / 2
        weights.append(factor * sizes[part.contract])
    return weights


class _Inbox:
    """The workers' results, handed out part by part (a part's events wait until the caller asks for them)."""

    def __init__(self, results: multiprocessing.Queue[tuple[int, bytes]], workers: Sequence[BaseProcess]) -> None:
        self.results = results
        self.workers = workers
        self.held: dict[int, list[Any]] = {}

    def events_of(self, index: int, phase: str, contract: str) -> Iterator[Event]:
        while True:
            for item in self.held.pop(index, []):
                if isinstance(item, _Done):
                    return
                yield item
            if not self._receive():
                codes = ", ".join(str(worker.exitcode) for worker in self.workers)
                error = f"{contract}: the gate's worker processes ended before this part finished (exit codes {codes})"
                yield PhaseFinished(phase, 0.0, error)
                return

    def _receive(self) -> bool:
        """Wait for the next result; False when every worker has ended and none is left."""
        try:
            index, sent = self.results.get(timeout=POLL_SECONDS)
            item = pickle.loads(sent)
        except queue.Empty:
            return any(worker.is_alive() for worker in self.workers)
        self.held.setdefault(index, []).append(item)
        return True


def _work(
    plan: GatePlan,
    settings: Settings,
    todo: multiprocessing.Queue[tuple[int, Part] | None],
    results: multiprocessing.Queue[tuple[int, bytes]],
) -> None:
    """A worker: run parts until none is left (Ctrl-C is the parent's: it ends the workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while (job := todo.get()) is not None:
        index, part = job
        for event in _run_part(plan, settings, part):
            results.put((index, sendable(event, part)))
        results.put((index, sendable(_Done(), part)))


def sendable(event: Any, part: Part) -> bytes:
    """``event`` pickled here, in the worker: the queue pickles in a thread of its own, which drops what fails.

    An event that does not pickle ends its part's phase with that error (a lost failure must never be a pass).
    """
    try:
        return pickle.dumps(event)
    except Exception as exc:
        error = f"{part.contract}: an event of this part could not be sent: {type(exc).__name__}: {exc}"
        return pickle.dumps(PhaseFinished(part.phase, 0.0, error.splitlines()[0]))


def _run_part(plan: GatePlan, settings: Settings, part: Part) -> Iterator[Any]:
    """The events of one part, on a fresh embedded mock, then what it should have reached (an error ends it)."""
    import time

    from suites.context import RunContext
    from suites.gate import PHASES, fold, run_gate
    from villa_contracts.target import resolve_target

    started = time.perf_counter()
    mine = dataclasses.replace(
        plan,
        phases=(part.phase,),
        contracts=(part.contract,),
        schemathesis_phases=part.engine or plan.schemathesis_phases,
    )
    statuses: dict[tuple[str, str], set[int]] = {}
    try:
        with _mock(settings) as server:
            target = resolve_target(
                server.base_url,
                seed=settings.seed,
                max_examples=settings.max_examples,
                rate_limit=settings.rate_limit,
                env=settings.env,
                allow_prod_payments=settings.allow_prod_payments,
                admin_token=settings.admin_token,
            )
            with RunContext(target) as context:
                for event in run_gate(context, mine):
                    fold(event, statuses, set())
                    yield event
                reaches = PHASES[part.phase].reaches
                if reaches is not None:
                    yield _Reach(frozenset(reaches(context, mine, statuses)))
    except Exception as exc:  # the part could not start (its mock, the login): its phase could not run
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
        yield PhaseFinished(part.phase, time.perf_counter() - started, f"{part.contract}: {error}")


def _mock(settings: Settings) -> Any:
    from mock_server.app import create_app
    from mock_server.runner import serve_in_thread

    make = settings.app
    if make is None:
        return serve_in_thread(lambda url: create_app(base_url=url, seed=settings.seed), log_level="error")
    return serve_in_thread(lambda url: make(url, settings.seed), log_level="critical")
