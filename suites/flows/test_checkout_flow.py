"""The seeds' checkout flow against the target given by ``--base-url`` (or ``VILLA_BASE_URL``)."""

from __future__ import annotations

from typing import Any

from suites.flows.checkout import run_checkout
from suites.flows.steps import Step
from villa_contracts.client import VillaClient


def _show(step: Step) -> None:
    mark = "ok  " if step.ok else "FAIL"
    print(f"{mark} {step.number:>2}. {step.name} ({step.seconds:.2f}s): {step.detail}")


def test_checkout_flow(flow_client: VillaClient, flow_user: dict[str, Any]) -> None:
    result = run_checkout(flow_client, report=_show, **flow_user)
    failed = result.failed
    assert failed is None, f"step {failed.number} ({failed.name}) failed: {failed.detail}"
    assert result.ok and [step.number for step in result.steps] == list(range(1, 11))
