"""The line-item machine's oracle (``suites.property.lineitems_model``), without a server.

The model is told the requests made and the answers accepted, and predicts each next answer with
``villa_contracts.domain.lineitems``: refusals and which comes first, stock, partial payments, the
expiry's cancel with its refund record, and someone else's order.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from suites.property.lineitems_model import REFUND_FIELDS, LineItemsModel
from villa_contracts.contract import load
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.errors import STATUS

DATA = rules.LineItemsData.from_contract(load())
ADDRESS = {"firstname": "Gate", "lastname": "Buyer", "address1": "1 Test Road", "zipcode": "10110", "phone": "081"}
WATCH, TOTE, SHIRT_M, SHIRT_L = 33, 251, 36, 37
"""A watch ($50, Considine-Ryan), a tote ($10, Fadel and Sons), shirts of stock 10 (M) and 2 (L, Fadel and Sons)."""


def body(*lines: tuple[int, int]) -> dict[str, Any]:
    return {"line_items": [{"variant_id": v, "quantity": q} for v, q in lines], "ship_address": dict(ADDRESS)}


def exact() -> LineItemsModel:
    """A model of a fresh mock: every reservation known (none yet)."""
    model = LineItemsModel(DATA)
    model.reserved = {}
    return model


def make(model: LineItemsModel, order_id: int, user: int, *lines: tuple[int, int]) -> dict[str, Any]:
    request = body(*lines)
    assert model.expect_create(request["line_items"]).status == 201
    return model.created(order_id, user, request)


def pay(model: LineItemsModel, order_id: int, user: int, cents: int, tag: str = "a") -> dict[str, Any]:
    reference = f"PAYID-{cents}-{tag}{order_id}"
    expect = model.expect_pay(user, order_id, reference)
    assert expect.status == 201, expect
    return model.paid(reference, expect.quote)


def total(order: dict[str, Any]) -> int:
    return rules.priced_of(order).total_cents


# --- create and stock ---------------------------------------------------------------------------------


def test_a_created_order_is_priced_with_shipping_and_reserves_its_stock() -> None:
    model = exact()
    order = make(model, 7, 0, (WATCH, 2), (TOTE, 1))
    doc = model.view(order)
    fees = DATA.merchants["Considine-Ryan"].shipping_fee_cents + DATA.merchants["Fadel and Sons"].shipping_fee_cents
    assert (doc["id"], doc["state"], doc["all_paid"]) == (7, rules.PAYMENT, False)
    assert doc["item_total_cents"] == 2 * 5000 + 1000 and doc["total_cents"] == 11000 + fees
    assert model.reserved == {WATCH: 2, TOTE: 1}
    assert doc["line_items"][0]["variant"]["stocks_count"] == DATA.variants[WATCH].stock - 2
    assert order["owner"] == 0 and model.orders == {7: order}


def test_an_order_without_line_items_has_nothing_to_pay() -> None:
    model = exact()
    order = make(model, 1, 0)
    assert order["state"] == rules.CREATED and model.view(order)["all_paid"] is False
    refused = model.expect_pay(0, 1, "PAYID-100-x")
    assert (refused.status, refused.check) == (STATUS["conflict"], "payable")


def test_short_stock_is_refused_with_the_seeds_body_and_reserves_nothing() -> None:
    model = exact()
    make(model, 1, 0, (SHIRT_L, 2))  # the whole stock of the L shirt
    refused = model.expect_create(body((SHIRT_L, 1), (SHIRT_M, 1))["line_items"])
    assert (refused.status, refused.check) == (STATUS["conflict"], "stock")
    assert refused.quote == {"errors": {"variants": ["Can't fulfill stock of Product Linen Shirt Variant Size:L"]}}
    assert model.reserved == {SHIRT_L: 2}
    # Past the stock of both: the seed names each short variant.
    both = model.expect_create(body((SHIRT_M, 11), (SHIRT_L, 1))["line_items"])
    assert len(both.quote["errors"]["variants"]) == 2
    assert model.expect_create(body((SHIRT_M, 10))["line_items"]).status == 201  # the M shirt has all 10 left


def test_an_unknown_variant_is_refused_before_stock() -> None:
    refused = exact().expect_create(body((999, 1))["line_items"])
    assert (refused.status, refused.check, refused.quote) == (STATUS["not_found"], "variant", None)


def test_off_a_mock_stock_is_the_targets_a_refusal_for_it_is_allowed_and_no_count_is_compared() -> None:
    model = LineItemsModel(DATA)  # reserved None: the target's stock is not known
    expect = model.expect_create(body((SHIRT_L, 5))["line_items"])
    assert (expect.status, expect.also) == (201, (STATUS["conflict"],))  # the domain's refusal of a shortage
    assert model.expect_create([]).statuses == (201,)  # no line item: nothing to run short of
    order = model.created(3, 1, body((SHIRT_L, 1)))
    assert model.reserved is None
    assert model.view(order)["line_items"][0]["variant"]["stocks_count"] is None
    assert model.shown({"line_items": [{"variant": {"id": 37, "stocks_count": 1}}]}) == {
        "line_items": [{"variant": {"id": 37, "stocks_count": None}}]
    }


# --- payments -----------------------------------------------------------------------------------------


def test_partial_payments_add_up_until_the_order_is_completed() -> None:
    model = exact()
    order = make(model, 5, 0, (WATCH, 1))
    assert model.left_to_pay(5) == total(order)
    part = pay(model, 5, 0, 1000)
    assert (part["state"], part["paid_cents"], model.left_to_pay(5)) == (rules.PAYMENT, 1000, total(order) - 1000)
    assert model.view(part)["all_paid"] is False
    done = pay(model, 5, 0, total(order) - 1000, tag="b")
    assert (done["state"], model.view(done)["all_paid"], model.left_to_pay(5)) == (rules.COMPLETED, True, 0)
    assert model.used == {"PAYID-1000-a5": 5, f"PAYID-{total(order) - 1000}-b5": 5}
    assert done["touched"] > part["touched"]  # listed first: the most recently updated


def test_a_reference_id_pays_once_on_any_order() -> None:
    model = exact()
    make(model, 1, 0, (WATCH, 1))
    make(model, 2, 0, (WATCH, 1))
    pay(model, 1, 0, 100)
    again = model.expect_pay(0, 2, "PAYID-100-a1")
    assert (again.status, again.check, again.quote) == (STATUS["conflict"], "reference_once", None)
    assert "order 1" in again.why


def test_an_unknown_reference_id_is_not_found() -> None:
    model = exact()
    make(model, 1, 0, (WATCH, 1))
    refused = model.expect_pay(0, 1, "not-a-paypal-id")
    assert (refused.status, refused.check) == (STATUS["not_found"], "reference")
    assert model.left_to_pay(1) == 5000 + DATA.merchants["Considine-Ryan"].shipping_fee_cents


def test_someone_elses_order_is_refused_like_a_missing_one_before_anything_else() -> None:
    model = exact()
    make(model, 1, 0, (WATCH, 1))
    pay(model, 1, 0, 100)
    # Someone else's order, even with an unknown or a used reference id: 404 as for a missing order.
    for reference in ("PAYID-100-fresh", "not-a-paypal-id", "PAYID-100-a1"):
        foreign = model.expect_pay(1, 1, reference)
        assert (foreign.status, foreign.check) == (STATUS["not_found"], "ownership"), reference
    missing = model.expect_pay(0, 999, "PAYID-100-fresh")
    assert (missing.status, missing.check) == (foreign.status, foreign.check)
    assert model.left_to_pay(999) == 100


def test_a_used_reference_id_is_refused_before_a_completed_order() -> None:
    model = exact()
    order = make(model, 1, 0, (WATCH, 1))
    pay(model, 1, 0, total(order))
    used = model.expect_pay(0, 1, f"PAYID-{total(order)}-a1")
    fresh = model.expect_pay(0, 1, "PAYID-100-new")
    assert (used.status, used.check) == (STATUS["conflict"], "reference_once")
    assert (fresh.status, fresh.check) == (STATUS["conflict"], "payable")


# --- delivery ----------------------------------------------------------------------------------------


def test_only_a_completed_order_is_delivered_and_only_forward() -> None:
    model = exact()
    order = make(model, 1, 0, (WATCH, 1))
    early = model.expect_deliver(1, rules.DELIVERED)
    assert (early.status, early.check) == (STATUS["conflict"], "delivery")
    pay(model, 1, 0, total(order))
    moved = model.expect_deliver(1, rules.PARTIAL_DELIVERED)
    assert moved.status == 200
    assert model.delivered(moved.quote)["state"] == rules.PARTIAL_DELIVERED
    assert model.expect_deliver(1, rules.PARTIAL_DELIVERED).check == "delivery"  # not backwards or in place
    missing = model.expect_deliver(999, rules.DELIVERED)
    assert (missing.status, missing.check) == (STATUS["not_found"], "order")


# --- expiry ------------------------------------------------------------------------------------------


def test_expiry_deletes_an_unpaid_order_cancels_a_partly_paid_one_with_a_refund_and_keeps_a_paid_one() -> None:
    model = exact()
    unpaid = make(model, 1, 0, (SHIRT_M, 2))
    make(model, 2, 1, (SHIRT_L, 1))
    pay(model, 2, 1, 700)
    paid = make(model, 3, 0, (TOTE, 1))
    pay(model, 3, 0, total(paid))
    assert model.time_passes(DATA.expiry_seconds - 1) == []  # not yet 5 hours
    assert model.reserved == {SHIRT_M: 2, SHIRT_L: 1, TOTE: 1}
    expired = dict(model.time_passes(1))
    assert sorted(expired) == [1, 2] and expired[1] is None
    kept = expired[2]
    assert kept is not None and model.orders[2] is kept and 1 not in model.orders
    assert (kept["state"], kept["refunded_cents"], kept["cancel_reason"]) == (rules.CANCELED, 700, rules.EXPIRED)
    assert model.reserved == {TOTE: 1}  # both expired orders gave their stock back, the paid one holds its own
    assert model.orders[3]["state"] == rules.COMPLETED
    doc = model.view(kept)
    assert (doc["state"], doc["all_paid"], doc["refunded_cents"], doc["display_refunded"]) == (
        rules.CANCELED,
        False,
        700,
        "$7",
    )
    # A canceled order takes no more payments, and its owner still finds it.
    refused = model.expect_pay(1, 2, "PAYID-100-late")
    assert (refused.status, refused.check) == (STATUS["conflict"], "payable")
    assert model.listed_on(kept) == 1 and model.my_orders(1, None, None, 1)[1] == [kept]
    assert unpaid["id"] not in [o["id"] for o in model.mine(0)]


def test_the_refund_record_expected_of_an_order_that_expired_between_examples() -> None:
    model = exact()
    order = make(model, 4, 0, (WATCH, 1))
    part = pay(model, 4, 0, 250)
    assert model.expected_refund(part) == {
        "id": 4,
        "state": rules.CANCELED,
        "all_paid": False,
        "refunded_cents": 250,
        "cancel_reason": rules.EXPIRED,
    }
    assert set(model.expected_refund(part) or {}) == set(REFUND_FIELDS)
    assert model.expected_refund(order) is None  # nothing paid: it is gone, no record


def test_released_gives_back_only_what_the_listed_unfinished_orders_hold() -> None:
    model = exact()
    unpaid = model.view(make(model, 1, 0, (SHIRT_M, 3)))
    done = make(model, 2, 0, (SHIRT_L, 1))
    done_doc = model.view(pay(model, 2, 0, total(done)))
    held = {SHIRT_M: 3, SHIRT_L: 1, WATCH: 5}  # the watches: another client's order the lists do not show
    assert model.released(held, [unpaid, done_doc]) == {SHIRT_L: 1, WATCH: 5}


# --- my orders and orders made before ------------------------------------------------------------------


def test_pages_of_my_orders_newest_first_and_the_last_and_past_pages() -> None:
    model = exact()
    for order_id in range(1, 13):
        make(model, order_id, 0, (TOTE, 1))
    make(model, 50, 1, (TOTE, 1))
    pay(model, 3, 0, 100)  # touched last: first on page 1
    pages, first = model.my_orders(0, None, None, 1)
    assert pages == 2 and [o["id"] for o in first][:3] == [3, 12, 11] and len(first) == DATA.page_size
    assert [o["id"] for o in model.my_orders(0, None, None, 2)[1]] == [2, 1]
    assert (model.page_number(0, None, None, "last"), model.page_number(0, None, None, "past")) == (2, 3)
    assert model.my_orders(0, None, None, 3) == (2, [])
    assert model.page_number(0, "completed", None, "last") == 1  # no page: the last is still page 1
    assert model.my_orders(0, None, "completed", 1) == (0, [])
    assert [o["id"] for o in model.my_orders(1, None, None, 1)[1]] == [50]  # each user sees only their own
    assert model.listed_on(model.orders[1]) == 2


def test_an_order_made_before_the_model_started_is_adopted_as_its_owner_sees_it() -> None:
    before = exact()
    made = make(before, 9, 0, (WATCH, 1), (SHIRT_M, 2))
    pay(before, 9, 0, 300)
    (expired,) = [kept for _, kept in before.time_passes(DATA.expiry_seconds)]
    assert expired is not None
    listed = LineItemsModel(DATA).shown(before.view(expired))
    model = LineItemsModel(DATA)
    adopted = model.adopt(1, listed)
    assert model.view(adopted) == listed  # the same document, back from the record
    assert (adopted["owner"], adopted["refunded_cents"], adopted["touched"]) == (1, 300, 1)
    assert model.time_passes(DATA.expiry_seconds * 3) == []  # canceled: it never expires again
    assert made["id"] == adopted["id"]


@pytest.mark.parametrize("module", ["httpx", "hypothesis"])
def test_the_model_needs_no_server_and_no_hypothesis(module: str) -> None:
    code = f"import sys, suites.property.lineitems_model; print({module!r} in sys.modules)"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "False"
