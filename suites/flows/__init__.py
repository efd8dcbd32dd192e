"""The seeds' flows, end to end, step by step, against a base URL: one per contract (``steps.FLOWS``)."""

from __future__ import annotations

from suites.flows.checkout import fresh_credentials, run_checkout, three_ds_test_card
from suites.flows.steps import FLOWS, FlowResult, FlowTarget, Step, StepFailed, flow_for, run_steps

__all__ = [
    "FLOWS",
    "FlowResult",
    "FlowTarget",
    "Step",
    "StepFailed",
    "flow_for",
    "fresh_credentials",
    "run_checkout",
    "run_steps",
    "three_ds_test_card",
]
