"""Run the Schemathesis engine over the whole contract against a target, as gate events.

Every phase of the engine runs (examples, coverage, fuzzing with positive and negative data,
stateful through the contract's links), with all built-in checks plus the business checks of
``suites.property.checks``. Results are folded into one ``CheckFinished`` per operation and check.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.engine import Status, events, from_schema

from suites.property import checks as business
from villa_contracts.contract import Contract, load
from villa_contracts.events import CheckFinished, Event, Progress
from villa_contracts.failures import Failure, Severity
from villa_contracts.target import Target

PHASE = "schemathesis"
PAYMENT_TAG = "payments"
# Schema-valid requests that a business rule refuses are 403/404/409 by the contract; 503 only comes
# from the gateway-down test card.
POSITIVE_STATUSES = ["2xx", "401", "403", "404", "409", "503"]


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    failed: bool = False
    failures: dict[str, Failure] = field(default_factory=dict)
    seconds: float = 0.0


def engine_config(target: Target, *, exclude_payments: bool) -> schemathesis.Config:
    """The Schemathesis configuration of a gate run."""
    raw: dict[str, Any] = {
        "base-url": target.base_url.rstrip("/"),
        "seed": target.seed,
        "headers": target.accounts[0].headers,
        # No example database: a saved example from an earlier run would make two runs differ.
        "generation": {"max-examples": target.max_examples, "database": "none"},
        "warnings": {"fail-on": ["missing_auth"]},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "request-timeout": 30.0,
    }
    if target.rate_limit:
        raw["rate-limit"] = f"{target.rate_limit:g}/s"
    if exclude_payments:
        raw["operations"] = [{"include-tag": PAYMENT_TAG, "enabled": False}]
    return schemathesis.Config.from_dict(raw)


def _label_to_operation(contract: Contract) -> dict[str, str]:
    return {f"{op.method} {op.path}": op_id for op_id, op in contract.operations.items()}


def run_schemathesis(
    target: Target, emit: Callable[[Event], None], *, exclude_payments: bool = False, contract: Contract | None = None
) -> dict[str, set[int]]:
    """Run the engine against ``target`` and emit one ``CheckFinished`` per operation and check.

    Returns:
        The HTTP statuses each operation answered.

    Raises:
        RuntimeError: the engine could not run (the message says why).
    """
    contract = contract or load()
    labels = _label_to_operation(contract)
    business.configure(target)
    schema = schemathesis.openapi.from_dict(
        _served_contract(contract, target.base_url), config=engine_config(target, exclude_payments=exclude_payments)
    )
    tallies: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    statuses: dict[str, set[int]] = defaultdict(set)
    fatal: str | None = None
    for event in from_schema(schema).execute():
        if isinstance(event, events.PhaseStarted):
            emit(Progress(PHASE, f"schemathesis {event.phase.name.value}"))
        elif isinstance(event, events.ScenarioFinished) and event.is_test_scenario:
            _fold(event, labels, tallies, statuses, target.seed)
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
                    seed=target.seed,
                ),
            )
    if fatal is not None:
        raise RuntimeError(f"schemathesis could not run: {fatal}")
    for (operation, check), tally in sorted(tallies.items()):
        emit(
            CheckFinished(
                phase=PHASE,
                operation=operation,
                check=check,
                passed=not tally.failed,
                failures=tuple(tally.failures.values()),
                calls=tally.calls,
                statuses=tuple(sorted(statuses.get(operation, ()))),
                seconds=tally.seconds,
            )
        )
    return dict(statuses)


def _served_contract(contract: Contract, base_url: str) -> dict[str, Any]:
    # A deep copy: schemathesis writes inferred links into the document it is given, and the
    # contract object is shared (load() caches it).
    doc = copy.deepcopy(contract.openapi)
    doc["servers"] = [{"url": base_url.rstrip("/")}]
    return doc


def pastable(code_sample: str) -> str:
    """Make a reproduction pastable: the sanitised token becomes ``$VILLA_ID_TOKEN`` for the shell to fill."""
    return code_sample.replace("'Authorization: [Filtered]'", '"Authorization: Bearer $VILLA_ID_TOKEN"')


def _severity(failure: Any) -> Severity:
    name = str(getattr(getattr(failure, "severity", None), "name", "")).lower()
    return name if name in ("critical", "high", "medium", "low") else "high"  # type: ignore[return-value]


def _fold(
    event: events.ScenarioFinished,
    labels: dict[str, str],
    tallies: dict[tuple[str, str], _Tally],
    statuses: dict[str, set[int]],
    seed: int,
) -> None:
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
            tally = tallies[(operation, check.name)]
            tally.calls += 1
            tally.seconds += share
            if check.status != Status.FAILURE or check.failure_info is None:
                continue
            tally.failed = True
            failure = check.failure_info.failure
            key = f"{failure.title}|{failure.message[:200]}"
            if key not in tally.failures:
                tally.failures[key] = Failure(
                    operation=operation,
                    check=check.name,
                    title=failure.title,
                    message=failure.message,
                    severity=_severity(failure),
                    reproduction=pastable(check.failure_info.code_sample),
                    seed=seed,
                )
