"""The property suite, runnable alone: ``pytest suites/property --base-url URL``."""

from __future__ import annotations

from suites.context import RunContext
from suites.property.runner import run_schemathesis
from suites.property.stateful import run_machine
from villa_contracts.events import CheckFinished


def test_schemathesis_over_every_contract(context: RunContext) -> None:
    checks = []
    for contract in context.contracts.apis:
        events = run_schemathesis(context, contract)
        checks += [e for e in events if isinstance(e, CheckFinished)]
    assert checks, "schemathesis judged nothing"
    failures = [f"{f.operation} · {f.check} · {f.title}\n{f.reproduction}" for e in checks for f in e.failures]
    assert not failures, "\n\n".join(failures)


def test_two_users_against_the_domain_model(context: RunContext) -> None:
    result = run_machine(context, max_examples=max(3, context.target.max_examples // 2), seed=context.target.seed)
    assert result.steps > 0
    assert not result.failures, "\n\n".join(f"{f.operation} · {f.check}\n{f.message}" for f in result.failures)
