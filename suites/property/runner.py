"""Run the Schemathesis engine over one contract against a target, as gate events.

Every phase of the engine runs (examples, coverage, fuzzing with positive and negative data,
stateful through the contract's links), with all built-in checks plus the business checks of
``suites.property.checks`` (each given the run's context). Results are folded into one
``CheckFinished`` per operation and check.

An answer marked ``X-Villa-Injected-Fault`` (a fault the mock injected on demand, docs/faults.md) is
never the backend's failure: a check it broke is reported as a warning "injected by the mock".
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import schemathesis
from schemathesis.core.failures import ServerError, reason_phrase
from schemathesis.engine import Status, events, from_schema

from suites.auth import SHELL_HEADERS, headers_for
from suites.property import checks as business
from suites.property import hooks
from suites.property.livedata import live_examples, with_examples
from villa_contracts.events import CheckFinished, Event, Progress, Skipped
from villa_contracts.failures import Failure, Severity
from villa_contracts.faults import HEADER, INJECTED, injected_label

if TYPE_CHECKING:
    from suites.context import RunContext
    from villa_contracts.contract import Contract

PHASE = "schemathesis"
ENGINE_PHASES = ("examples", "coverage", "fuzzing", "stateful")
"""Schemathesis' own phases, in the order it runs them (``--schemathesis-phases`` picks some)."""


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    failed: bool = False
    failures: dict[str, Failure] = field(default_factory=dict)
    seconds: float = 0.0
    injected: dict[str, Failure] = field(default_factory=dict)
    """What broke only on answers whose fault the mock injected (warnings, never failures)."""


def injected_fault(interaction: Any) -> str | None:
    """The ``X-Villa-Injected-Fault`` of a recorded interaction's answer (a fault the mock injected), or None."""
    response = getattr(interaction, "response", None)
    headers = getattr(response, "headers", None) or {}
    return injected_label({str(name).lower(): value for name, value in headers.items()})


def engine_config(
    context: RunContext, contract: Contract, engine_phases: tuple[str, ...] = ENGINE_PHASES
) -> schemathesis.Config:
    """The Schemathesis configuration of a gate run over ``contract``.

    The business checks get the run's context; operations the run may not call on its target
    (``RunContext.may_call``: payments on prod, the other environment's payment paths, the mock's
    own pages on a real backend) are switched off; only ``engine_phases`` of Schemathesis' run.
    """
    target = context.target
    # A schema-valid request may only be refused with a status the contract's rules use, or with 413 where the
    # contract documents a body limit (a schema-valid body can be larger: 200 items of long text).
    limits = ["413"] if any("413" in op.responses for op in contract.operations.values()) else []
    # A 400 of card data (the contracts' CardDataRefused) is let through here; refused_as_declared keeps it to that.
    card_data = ["400"] if "400" not in (str(status) for status in contract.refusal_statuses) else []
    accepted = ["2xx", *(str(status) for status in contract.refusal_statuses), *limits, *card_data]
    checks: dict[str, Any] = {
        "positive_data_acceptance": {"expected-statuses": accepted},
        "refused_as_declared": {"context": context, "contract": contract.name},
    }
    business.load_business_checks()
    hooks.register()
    for check in business.BUSINESS_CHECKS:
        checks[check.__name__] = {"context": context, "contract": contract.name}
    raw: dict[str, Any] = {
        "base-url": context.base_url,
        "seed": target.seed,
        "headers": headers_for(context, contract),
        # No example database: a saved example from an earlier run would make two runs differ.
        "generation": {"max-examples": target.max_examples, "database": "none"},
        "warnings": {"fail-on": ["missing_auth"]},
        # The examples phase sends the live examples as they are written: values captured from earlier
        # answers would otherwise be mixed in (another account's ownerId replaced by the caller's, an order
        # id that serves once used up by a mixed copy before its own example runs).
        "phases": {
            # fill-missing: an operation without examples (a GET of the cart) gets one generated case, so the
            # examples phase alone reaches every operation.
            "examples": {
                "enabled": "examples" in engine_phases,
                "fill-missing": True,
                "extra-data-sources": {"responses": False},
            },
            **{name: {"enabled": name in engine_phases} for name in ENGINE_PHASES if name != "examples"},
        },
        "checks": checks,
        "request-timeout": 30.0,
    }
    if target.rate_limit:
        raw["rate-limit"] = f"{target.rate_limit:g}/s"
    barred = sorted(op_id for op_id, op in contract.operations.items() if not context.may_call(op))
    if barred:
        raw["operations"] = [{"include-operation-id": barred, "enabled": False}]
    return schemathesis.Config.from_dict(raw)


def run_schemathesis(
    context: RunContext, contract: Contract, engine_phases: tuple[str, ...] = ENGINE_PHASES
) -> Iterator[Event]:
    """Run the engine (its ``engine_phases``) over ``contract`` against the context's target.

    Yields:
        Progress as the engine's phases start, then one ``CheckFinished`` per operation and check.

    Raises:
        RuntimeError: the engine could not run (the message says why).
    """
    labels = {op.label: op_id for op_id, op in contract.operations.items()}
    schemes = frozenset(scheme for op in contract.operations.values() for scheme in op.schemes)
    live = live_examples(context, contract)
    for note in live.notes:
        yield Progress(PHASE, f"{contract.name}: data set-up: {note}")
    document = with_examples(_served_contract(contract, context.base_url), contract, live)
    schema = schemathesis.openapi.from_dict(document, config=engine_config(context, contract, engine_phases))
    applicable = [check for check in business.BUSINESS_CHECKS if contract.name in check.CONTRACTS]
    off = {check.__name__: why for check in applicable if (why := check.off(context))}
    for name, why in off.items():  # a check that cannot judge this target says so: never "passed"
        yield Skipped(PHASE, name, why, contract.name)
    judges = frozenset(check.__name__ for check in business.BUSINESS_CHECKS)
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    statuses: dict[str, set[int]] = defaultdict(set)
    fatal: str | None = None
    interrupted = False
    seed = context.target.seed
    total = sum(1 for op in contract.operations.values() if context.may_call(op))
    step, done = "", 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted):
            step, done = event.phase.name.value, 0
            yield Progress(PHASE, f"{contract.name}: {step}", 0, total if step != "stateful" else None)
        elif isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            _fold(event, labels, tallies, statuses, seed, context.base_url, schemes, (judges, context.judged))
            if step != "stateful":
                done = min(done + 1, total)
                yield Progress(PHASE, f"{contract.name}: {step}", done, total)
        elif isinstance(event, events.Interrupted):
            interrupted = True
        elif isinstance(event, events.FatalError):
            fatal = str(event.exception)
        elif isinstance(event, events.NonFatalError):
            label = labels.get(event.label, event.label)
            tally = tallies[(label, "no_error")]
            tally.failed = True
            tally.failures.setdefault(
                event.info.title,
                Failure(
                    operation=label,
                    check="no_error",
                    title=event.info.title,
                    message=event.info.message,
                    seed=seed,
                ),
            )
    if fatal is not None and not interrupted:
        raise RuntimeError(f"schemathesis could not run on contract {contract.name!r}: {fatal}")
    yield from _check_events(tallies, statuses, contract.name)
    if interrupted:
        # The engine swallowed the Ctrl-C (or SIGTERM) to finish cleanly; the run must not look complete.
        raise KeyboardInterrupt
    evaluated = {name for (_, name), tally in tallies.items() if tally.calls}
    for business_check in applicable:
        name = business_check.__name__
        if name not in off and name not in evaluated:
            ops = ", ".join(sorted(business_check.OPERATIONS))
            yield Skipped(PHASE, name, f"evaluated 0 times: none of {ops} answered 2xx in this run", contract.name)


def _check_events(
    tallies: dict[tuple[str, str], _Tally], statuses: dict[str, set[int]], contract: str
) -> Iterator[CheckFinished]:
    """One ``CheckFinished`` per operation and check the engine ran; what broke only on injected faults is a warning."""
    for (operation, check), tally in sorted(tallies.items()):
        injected_only = not tally.failed and bool(tally.injected)  # only faults the mock injected: warnings
        yield CheckFinished(
            phase=PHASE,
            operation=operation,
            check=check,
            passed=not tally.failed and not injected_only,
            failures=tuple((tally.injected if injected_only else tally.failures).values()),
            calls=tally.calls,
            statuses=tuple(sorted(statuses.get(operation, ()))),
            seconds=tally.seconds,
            contract=contract,
            warning=injected_only,
        )


def _served_contract(contract: Contract, base_url: str) -> dict[str, Any]:
    # A deep copy: schemathesis writes inferred links into the document it is given, and the
    # contract object is shared (load() caches it).
    doc = copy.deepcopy(contract.openapi)
    doc["servers"] = [{"url": base_url.rstrip("/")}]
    return doc


def pastable(code_sample: str, base_url: str, schemes: frozenset[str] = frozenset({"idToken"})) -> str:
    """Make a reproduction pastable: the shell fills in the credentials and ``$VILLA_BASE_URL``.

    The run's base URL may be an embedded mock's port that is gone; ``villa-contracts tokens``
    sets every variable for any mock (README: "Reproduce a failure"). ``schemes``: the security
    schemes of the contract (``suites.auth.SHELL_HEADERS`` says which variable each one reads).
    """
    sample = code_sample
    for scheme in sorted(schemes):
        header, value = SHELL_HEADERS.get(scheme, ("", ""))
        if header:
            sample = sample.replace(f"'{header}: [Filtered]'", f'"{header}: {value}"')
    base = base_url.rstrip("/")
    return sample.replace(f"'{base}", '"$VILLA_BASE_URL"\'').replace(base, '"$VILLA_BASE_URL"')


def _severity(failure: Any) -> Severity:
    name = str(getattr(getattr(failure, "severity", None), "name", "")).lower()
    return name if name in ("critical", "high", "medium", "low") else "high"  # type: ignore[return-value]


_BODY_LIMIT = 300


def _exchange(interaction: Any) -> tuple[int, str] | None:
    """``(status, "500 Internal Server Error to POST /api/x")`` of a recorded interaction that got an answer."""
    response = getattr(interaction, "response", None)
    if response is None:
        return None
    request = interaction.request
    path = urlsplit(str(request.uri)).path or "/"
    status = int(response.status_code)
    return status, f"{status} {reason_phrase(status)} to {request.method} {path}"


def _described(failure: Any, interaction: Any) -> tuple[str, str]:
    """A failure's title and message; one caused by a server error names its status, method and path.

    Schemathesis's ``not_a_server_error`` says only "Server error", with no message; other checks
    that a 5xx broke (an undocumented status, a valid request refused) say what they expected but
    not what came.
    """
    title, message = str(failure.title), str(failure.message or "")
    exchange = _exchange(interaction)
    if exchange is None:
        return title, message
    status, said = exchange
    if isinstance(failure, ServerError):
        content = getattr(interaction.response, "content", None) or b""
        body = content.decode("utf-8", "replace").strip()
        body = body if len(body) <= _BODY_LIMIT else f"{body[:_BODY_LIMIT]}…"
        lines = ["expected: an answer that is not a server error (5xx)", f"got: {said}"]
        lines += [f"body: {body}"] if body else ["body: (empty)"]
        lines += ["", message] if message else []
        return f"Server error: {status} {reason_phrase(status)}", "\n".join(lines)
    if status >= 500 and not any(line.strip().lower().startswith(("got", "received")) for line in message.splitlines()):
        return title, f"{message}\ngot: {said}" if message else f"got: {said}"
    return title, message


def _fold(
    event: events.ScenarioFinished,
    labels: dict[str, str],
    tallies: dict[tuple[str, str], _Tally],
    statuses: dict[str, set[int]],
    seed: int,
    base_url: str,
    schemes: frozenset[str],
    judged: tuple[frozenset[str], set[tuple[str, str]]] = (frozenset(), set()),
) -> None:
    """Fold one scenario's checks into ``tallies`` (per operation and check) and its statuses.

    A business check (named in ``judged[0]``) counts only for the answers it judged (``judged[1]``:
    ``(check, case id)``): any other answer was not its business, and is no evidence that it held.
    """
    business_checks, evaluations = judged
    recorder = event.recorder
    case_ops = {
        case_id: labels.get(case.value.operation.label, case.value.operation.label)
        for case_id, case in recorder.cases.items()
    }
    for case_id, interaction in recorder.interactions.items():
        if interaction.response is not None and case_id in case_ops:
            statuses[case_ops[case_id]].add(interaction.response.status_code)
    share = event.elapsed_time / max(sum(len(nodes) for nodes in recorder.checks.values()), 1)
    fallback = labels.get(event.label or "", event.label or "stateful")
    for case_id, nodes in recorder.checks.items():
        operation = case_ops.get(case_id, fallback)
        for check in nodes:
            failed = check.status == Status.FAILURE
            if check.name in business_checks and not failed and (check.name, case_id) not in evaluations:
                continue
            tally = tallies[(operation, check.name)]
            tally.calls += 1
            tally.seconds += share
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            failure = check.failure_info.failure
            answered = recorder.interactions.get(case_id)
            label = injected_fault(answered)
            if label is None and INJECTED in str(failure.message or ""):
                label = "a read-back"  # a business check's own call got the injected fault
            if label is not None:  # the mock injected this answer's fault: never the backend's failure
                key = f"{label}|{failure.title}"
                if key not in tally.injected:
                    title, message = _described(failure, answered)
                    shown = f" ({HEADER}: {label})" if label != "a read-back" else ""
                    tally.injected[key] = Failure(
                        operation=operation,
                        check=check.name,
                        title=f"{INJECTED}{shown}: {title}",
                        message=message,
                        severity="low",
                        seed=seed,
                    )
                continue
            tally.failed = True
            exchange = _exchange(answered)
            key = f"{failure.title}|{exchange[0] if exchange else ''}|{failure.message[:200]}"
            if key not in tally.failures:
                title, message = _described(failure, answered)
                tally.failures[key] = Failure(
                    operation=operation,
                    check=check.name,
                    title=title,
                    message=message,
                    severity=_severity(failure),
                    reproduction=pastable(check.failure_info.code_sample, base_url, schemes),
                    seed=seed,
                )
