"""The Villa SDK API in the suites: its live data, state machine and flow (its business checks register on import)."""

from __future__ import annotations

from suites.apis import Suite
from suites.flows.checkout import villa_flow
from suites.property.livedata import setup_villa
from suites.property.stateful import run_machine
from villa_contracts.apis.villa import checks  # noqa: F401 - the Villa API's business checks register

SUITE = Suite(
    setup=setup_villa,
    machine=run_machine,
    moves_clock=True,  # its clock rule: unpaid orders expire, the money they hold voided
    flow=villa_flow,
)
