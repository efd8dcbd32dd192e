"""Test the watcher: the proxy in front of each planted fault of the catalogue, with plain HTTP traffic.

The traffic (``tests.fixtures.traffic``) drives both APIs: the Villa SDK API's checkout and the
shop's cart checkout, each with a tester's hand-run requests. With the flows *and* the hand-run
requests, every fault is reported, naming one of its operations. With the flows alone, some cannot
show: their evidence needs a request a well-behaved flow never sends (``HIDDEN_FROM_THE_FLOWS``,
each with the reason). The gate finds those by asking for them itself; the proxy only ever watches.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suites.proxy.addon import ContractProxy
from suites.proxy.server import start_proxy
from tests.fixtures.faults import FAULTS, serve_broken
from tests.fixtures.traffic import drive

pytestmark = [pytest.mark.socket, pytest.mark.slow]

HIDDEN_FROM_THE_FLOWS = {
    "foreign_order_returned": "needs someone asking for another user's order",
    "no_token_accepted": "needs a request without a token",
    "owner_id_not_checked": "needs an order created for another owner",
    "declined_card_pays": "needs a payment with a declined card",
    "html_error_pages": "needs a 404: a correct checkout never meets one",
    "shop_empty_cart_checks_out": "needs a checkout of an empty cart: the flow fills the cart first",
    "shop_foreign_address_accepted": "needs a checkout with another customer's address",
    "shop_callback_amount_not_checked": "needs a callback with another amount: the gateway reports the order's",
    "shop_double_processing": "needs the gateway to report one payment twice",
    "shop_foreign_order_returned": "needs someone asking for another customer's order",
}


# The traffic (``tests.fixtures.traffic``) drives the Villa SDK API and the shop: another API's faults never
# show in it, so they are the gate's to find (``test_gate_faults``).
DRIVEN = ("villa", "shop")
WATCHED = sorted(name for name, fault in FAULTS.items() if fault.contract in DRIVEN)


def reported(name: str, tmp_path: Path, *, hand_run: bool) -> set[tuple[str, str]]:
    """``(operation, check)`` of every failure the proxy reports for the fault's traffic."""
    with serve_broken(name) as upstream:
        settings = {"villa_upstream": upstream, "villa_report_dir": str(tmp_path), "villa_catalog": "on"}
        addon = ContractProxy(lambda verdict, new: None)
        with start_proxy(addon, upstream=upstream, confdir=tmp_path / "conf", settings=settings) as proxy:
            drive(proxy.url, hand_run=hand_run)
    data = json.loads((tmp_path / "summary.json").read_text())
    return {(f["operation"], f["check"]) for f in data["failures"]}


@pytest.mark.parametrize("name", WATCHED)
def test_with_hand_run_requests_every_fault_is_reported_naming_its_operation(name: str, tmp_path: Path) -> None:
    found = reported(name, tmp_path, hand_run=True)
    fault = FAULTS[name]
    assert {operation for operation, _ in found} & set(fault.expect), (fault.description, sorted(found))


@pytest.mark.parametrize("name", WATCHED)
def test_the_flows_alone_show_every_fault_but_those_needing_other_requests(name: str, tmp_path: Path) -> None:
    found = reported(name, tmp_path, hand_run=False)
    if name in HIDDEN_FROM_THE_FLOWS:
        assert not found, f"{name} shows after all ({sorted(found)}): update HIDDEN_FROM_THE_FLOWS and the README"
    else:
        assert {operation for operation, _ in found} & set(FAULTS[name].expect), sorted(found)


def test_every_fault_hidden_from_the_flows_is_in_the_catalogue() -> None:
    assert set(HIDDEN_FROM_THE_FLOWS) <= set(FAULTS)
