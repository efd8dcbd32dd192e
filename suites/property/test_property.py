"""The property suite, runnable alone: ``pytest suites/property --base-url URL``."""

from __future__ import annotations

from suites.property.machine import run_machine
from suites.property.runner import run_schemathesis
from villa_contracts.events import CheckFinished, Event
from villa_contracts.target import Target


def test_schemathesis_over_the_whole_contract(target: Target) -> None:
    events: list[Event] = []
    run_schemathesis(target, events.append, exclude_payments=not target.allow_payments)
    checks = [e for e in events if isinstance(e, CheckFinished)]
    assert checks, "schemathesis judged nothing"
    failures = [f"{f.operation} · {f.check} · {f.title}\n{f.reproduction}" for e in checks for f in e.failures]
    assert not failures, "\n\n".join(failures)


def test_two_users_against_the_domain_model(target: Target) -> None:
    result = run_machine(target, max_examples=max(3, target.max_examples // 2), seed=target.seed)
    assert result.steps > 0
    assert not result.failures, "\n\n".join(f"{f.operation} · {f.check}\n{f.message}" for f in result.failures)
