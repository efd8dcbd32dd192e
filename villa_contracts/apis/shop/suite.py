"""The shop in the suites: its live data, state machine, flow and credentials (its checks register on import)."""

from __future__ import annotations

from suites.apis import Suite
from suites.auth import gateway_key_headers, token_key_headers
from suites.flows.shop import shop_flow
from suites.property.livedata import setup_shop
from suites.property.shop_machine import run_shop_machine
from villa_contracts.apis.shop import checks  # noqa: F401 - the shop's business checks register

SUITE = Suite(
    setup=setup_shop,
    machine=run_shop_machine,
    moves_clock=True,  # its clock rule: HOLD orders expire, a late approval is refunded
    flow=shop_flow,
    credentials={"tokenKey": token_key_headers, "gatewayKey": gateway_key_headers},
)
