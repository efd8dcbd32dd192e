"""What every flow is made of: steps run in order, each reported as it ends, the first failure stopping the flow.

A flow is its API's (``Suite.flow`` of its suite part, ``suites.apis``); the function takes a
``FlowTarget`` and a ``report`` callback and answers a ``FlowResult``. ``run_steps`` runs a plan of
``(name, action)``: an action answers the step's detail, or raises ``StepFailed`` (expected vs got).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from villa_contracts.errors import VillaContractsError
from villa_contracts.redact import redact

if TYPE_CHECKING:
    from villa_contracts.client import Settings


@dataclass(frozen=True, slots=True)
class Step:
    """One reported step.

    Attributes:
        number: 1 to 10.
        name: what the step does.
        ok: whether it held.
        detail: what happened; on failure, what was expected and what came back.
        seconds: how long it took.

    """

    number: int
    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass(frozen=True, slots=True)
class FlowResult:
    """The outcome of a whole flow.

    Attributes:
        ok: whether every step held.
        steps: the steps run, in order (the last one failed when ``ok`` is False).
        order_id: the order the flow made, once generated.

    """

    ok: bool
    steps: tuple[Step, ...]
    order_id: str | None

    @property
    def failed(self) -> Step | None:
        """The step that failed, if any."""
        return next((step for step in self.steps if not step.ok), None)


class StepFailed(Exception):
    """A step's check did not hold."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")


@dataclass(frozen=True, slots=True)
class FlowTarget:
    """Where a flow runs and as whom.

    Attributes:
        base_url: the backend.
        settings: the reference client's settings for it (Cognito included).
        is_mock: whether it is a villa-contracts mock (with its admin API).
        username: the user the flow signs up, or logs in when it exists.
        password: their password (never reported).
        email: their e-mail.
        confirmation_code: the sign-up code, or None when the user is confirmed already.
        admin_token: the mock's admin token, if it has one.
    """

    base_url: str
    settings: Settings
    is_mock: bool
    username: str
    password: str = field(repr=False)
    email: str
    confirmation_code: str | None
    admin_token: str | None = field(default=None, repr=False)


Report = Callable[[Step], None]
Flow = Callable[[FlowTarget, Report], FlowResult]


def flow_for(contract: str) -> Flow | None:
    """The flow of ``contract`` (its API's suite part), or None when it has none."""
    from suites.apis import suite_of

    suite = suite_of(contract)
    return suite.flow if suite is not None else None


def flows() -> list[str]:
    """The contracts that have a flow, by name."""
    from suites.apis import suites

    return sorted(name for name, suite in suites().items() if suite.flow is not None)


def run_steps(
    plan: Sequence[tuple[str, Callable[[], str]]], report: Report, hidden: Callable[[], Sequence[str]] = tuple
) -> FlowResult:
    """Run ``plan`` in order, reporting each step as it ends; stop at the first failure.

    Args:
        plan: ``(name, action)`` pairs; an action answers the step's detail or raises ``StepFailed``.
        report: called with each ``Step`` as soon as it ends.
        hidden: the secrets (passwords, tokens) that must never appear in a detail.

    Returns:
        The steps run and whether all held.
    """
    steps: list[Step] = []
    for number, (name, action) in enumerate(plan, start=1):
        started = time.perf_counter()
        try:
            detail, ok = action(), True
        except StepFailed as exc:
            detail, ok = str(exc), False
        except VillaContractsError as exc:
            detail, ok = f"expected the step to succeed, got {type(exc).__name__}: {exc}", False
        for secret in hidden():
            if len(secret) >= 6:
                detail = detail.replace(secret, "***")
        step = Step(number, name, ok, redact(detail), round(time.perf_counter() - started, 3))
        report(step)
        steps.append(step)
        if not ok:
            break
    return FlowResult(ok=len(steps) == len(plan) and all(step.ok for step in steps), steps=tuple(steps), order_id=None)
