"""The seeds' checkout flow, end to end, with the reference client against a base URL."""

from __future__ import annotations

from suites.flows.checkout import FlowResult, Step, fresh_credentials, run_checkout, three_ds_test_card

__all__ = ["FlowResult", "Step", "fresh_credentials", "run_checkout", "three_ds_test_card"]
