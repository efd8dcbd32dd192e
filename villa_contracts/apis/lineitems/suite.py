"""The line-item order API in the suites: its live data, state machine and flow (its checks register on import)."""

from __future__ import annotations

from suites.apis import Suite
from suites.flows.lineitems import lineitems_flow
from suites.property.lineitems_machine import run_lineitems_machine
from suites.property.livedata import setup_lineitems
from villa_contracts.apis.lineitems import checks  # noqa: F401 - its business checks register

# Its machine moves the mock's clock by hours (expiry): the gate runs it after every other machine.
SUITE = Suite(setup=setup_lineitems, machine=run_lineitems_machine, moves_clock=True, flow=lineitems_flow)
