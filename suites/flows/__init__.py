"""The seeds' flows, end to end, step by step, against a base URL: one per contract (``steps.flow_for``)."""

from __future__ import annotations

from suites.flows.checkout import fresh_credentials, run_checkout, three_ds_test_card
from suites.flows.steps import FlowResult, FlowTarget, Step, StepFailed, flow_for, flows, run_steps

__all__ = [
    "FlowResult",
    "FlowTarget",
    "Step",
    "StepFailed",
    "flow_for",
    "flows",
    "fresh_credentials",
    "run_checkout",
    "run_steps",
    "three_ds_test_card",
]
