"""Test the watcher: the proxy in front of each planted fault of the catalogue, with plain HTTP traffic.

The traffic (``tests.fixtures.traffic``) drives the three APIs: the Villa SDK API's checkout, the
shop's cart checkout and the line-item order API's orders, each with a tester's hand-run requests.
With the flows *and* the hand-run requests, every fault is reported, naming one of its operations.
With the flows alone, some cannot show: their evidence needs a request a well-behaved flow never
sends (``HIDDEN_FROM_THE_FLOWS``, each with the reason). The gate finds those by asking for them
itself; the proxy only ever watches. Some no traffic shows at all, hand-run or not
(``NOT_SHOWN_BY_TRAFFIC``, each with the reason): they are the gate's alone, and the test asserts
that the proxy stays silent on them rather than dropping them from the catalogue unsaid.
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
    "shop_page_shifted": "needs a page after the first: the flow reads the newest orders on page 1",
    "shop_past_end_repeats_last": "needs a page past the end: the flow reads the newest orders on page 1",
    "li_partly_paid_not_listed": "needs a partial payment: the flow pays its orders in full or not at all",
    "li_reference_reused": "needs a reference id sent twice: PayPal gives each payment its own",
    "long_comment_breaks": "needs a long specialComment: the flow's orders carry none",
    "shop_declined_payment_pays": "needs a declined payment: the flow's payer approves",
    "shop_foreign_order_paid": "needs someone paying another customer's order",
    "shop_guest_sees_users_orders": "needs a guest listing orders: the flow lists as a customer",
}

# Faults no traffic shows, however it is run: the proxy would need what no answer carries.
NOT_SHOWN_BY_TRAFFIC = {
    "li_stock_not_restored_on_expiry": "expiry runs on the backend's clock, which no answer carries (orders have no "
    "timestamps): a stocks_count that stays low cannot be told from other customers' orders. The gate's machine "
    "moves the mock's clock and reads the stock from the admin API",
    "li_short_stock_accepted": "stock rises again when orders expire (on the backend's clock) or are restocked "
    "(the admin API), which no answer shows: a 201 for more than the last stocks_count seen may be right. The "
    "gate's machine reads the stock from the admin API before it orders",
    "li_expired_payment_lost": "expiry runs on the backend's clock, which no answer carries (orders have no "
    "timestamps): the proxy cannot tell when a partly paid order is due, so an order missing from a later list proves "
    "nothing. The gate's machine moves the mock's clock and reads the canceled record with its refund",
    "shop_late_approval_kept": "expiry runs on the backend's clock, which no answer carries: an order the proxy saw "
    "HOLD may have been cancelled since, so a refused late approval cannot be told from a right one. The gate's "
    "machine moves the mock's clock and approves a cancelled order's pending attempt",
    "expired_money_lost": "the proxy sees the backend's clock (each answer's Date) but not when a charge waiting for "
    "3-D Secure is voided: an order it saw unpaid and then answered 404 past its 5 hours may rightly be gone (it held "
    "no money). The gate's machine moves the mock's clock and reads the expired order's record and voided charge",
    "li_expired_order_listed": "expiry runs on the backend's clock, which no answer carries: an unpaid order still "
    "listed may simply be younger than 5 hours. The gate's machine moves the mock's clock and predicts the list",
}


# The traffic (``tests.fixtures.traffic``) drives the Villa SDK API, the shop and the line-item order API:
# another API's faults never show in it, so they are the gate's to find (``test_gate_faults``).
DRIVEN = ("villa", "shop", "lineitems")
WATCHED = sorted(
    name for name, fault in FAULTS.items() if fault.contract in DRIVEN and name not in NOT_SHOWN_BY_TRAFFIC
)


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


@pytest.mark.parametrize("name", sorted(NOT_SHOWN_BY_TRAFFIC))
def test_a_fault_no_traffic_shows_is_not_reported(name: str, tmp_path: Path) -> None:
    found = reported(name, tmp_path, hand_run=True)
    assert not found, f"{name} shows after all ({sorted(found)}): take it out of NOT_SHOWN_BY_TRAFFIC and the README"


def test_every_fault_hidden_from_the_flows_or_traffic_is_a_driven_fault_of_the_catalogue() -> None:
    assert set(HIDDEN_FROM_THE_FLOWS) <= set(WATCHED)
    assert {FAULTS[name].contract for name in NOT_SHOWN_BY_TRAFFIC} <= set(DRIVEN)
    assert not set(HIDDEN_FROM_THE_FLOWS) & set(NOT_SHOWN_BY_TRAFFIC)
