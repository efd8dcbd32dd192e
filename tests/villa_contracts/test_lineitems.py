"""The line-item order rules (``villa_contracts.domain.lineitems``): cents, shipping, stock, payments, filters."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from villa_contracts.contract import load
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.errors import RuleViolation

DATA = rules.LineItemsData.from_contract(load())
ADDRESS = {"firstname": "A", "lastname": "B", "address1": "1 Road", "zipcode": "1", "phone": "123"}


def order(*lines: tuple[int, int], paid: int = 0, state: str | None = None) -> dict[str, object]:
    priced = rules.price(DATA, [{"variant_id": v, "quantity": q} for v, q in lines])
    record = rules.new_order(1, "sub", priced, {"ship_address": ADDRESS}, now=0.0, touched=1)
    return {**record, "paid_cents": paid, **({"state": state} if state else {})}


@pytest.mark.parametrize(
    ("cents", "shown", "number"),
    [(40000, "$400", 400.0), (0, "$0", 0.0), (7450, "$74.50", 74.5), (5, "$0.05", 0.05), (800, "$8", 8.0)],
)
def test_display_strings_and_floats_are_derived_from_cents(cents: int, shown: str, number: float) -> None:
    assert (rules.display(cents), rules.amount(cents)) == (shown, number)


@given(st.integers(min_value=0, max_value=10**12))
def test_a_display_string_reads_back_as_its_cents(cents: int) -> None:
    shown = rules.display(cents)
    dollars, _, rest = shown[1:].partition(".")
    assert int(dollars) * 100 + int(rest or 0) == cents


def test_the_seeds_examples_price_as_the_seed_shows() -> None:
    create = rules.price(DATA, [{"variant_id": 33, "quantity": 2}, {"variant_id": 34, "quantity": 3}])
    assert (create.item_total_cents, create.ship_total_cents, create.total_cents) == (40000, 0, 40000)
    listed = rules.price(DATA, [{"variant_id": 251, "quantity": 2}, {"variant_id": 252, "quantity": 2}])
    assert (listed.item_total_cents, listed.ship_total_cents, listed.total_cents) == (3600, 1000, 4600)
    assert listed.shipping == (("Fadel and Sons", 500), ("Marquardt-Murray", 500))


def test_one_shipping_fee_per_merchant_however_many_lines() -> None:
    priced = rules.price(DATA, [{"variant_id": 251, "quantity": 1}, {"variant_id": 36, "quantity": 1}])
    assert priced.shipping == (("Fadel and Sons", 500),)


def test_an_unknown_variant_is_not_found_at_its_pointer() -> None:
    with pytest.raises(RuleViolation) as refused:
        rules.price(DATA, [{"variant_id": 33, "quantity": 1}, {"variant_id": 4242, "quantity": 1}])
    assert (refused.value.status, refused.value.pointer) == (404, "/line_items/1/variant_id")


def test_stock_is_reserved_and_released_exactly() -> None:
    held = rules.reserve(DATA, {}, Counter({36: 3}))
    assert rules.free_stock(DATA, held, 36) == 7
    assert rules.release(held, Counter({36: 3})) == {}


def test_short_stock_names_each_short_variant_and_reserves_nothing() -> None:
    with pytest.raises(rules.StockShortage) as short:
        rules.reserve(DATA, {36: 9}, Counter({36: 2, 37: 3, 33: 1}))
    assert short.value.body() == {
        "errors": {
            "variants": [
                "Can't fulfill stock of Product Linen Shirt Variant Size:M",
                "Can't fulfill stock of Product Linen Shirt Variant Size:L",
            ]
        }
    }
    assert short.value.status == 409


def test_payments_complete_an_order_once_they_cover_its_total() -> None:
    unpaid = order((33, 1))
    partly = rules.decide_pay(unpaid, "r1", 1000, used_by=None, touched=2)
    assert (partly["state"], rules.order_json(DATA, partly, {})["all_paid"]) == ("payment", False)
    paid = rules.decide_pay(partly, "r2", 4000, used_by=None, touched=3)
    assert (paid["state"], rules.order_json(DATA, paid, {})["all_paid"]) == ("completed", True)
    with pytest.raises(RuleViolation, match="paid in full"):
        rules.decide_pay(paid, "r3", 1, used_by=None, touched=4)
    with pytest.raises(RuleViolation, match="has paid already"):
        rules.decide_pay(unpaid, "r1", 1000, used_by=7, touched=5)
    with pytest.raises(RuleViolation, match="nothing to pay"):
        rules.decide_pay(order(), "r4", 1, used_by=None, touched=6)


def test_an_expired_order_with_nothing_paid_is_deleted() -> None:
    assert rules.decide_expiry(order((33, 1))) is None
    assert rules.decide_expiry(order()) is None  # created: nothing to pay


@given(st.integers(min_value=1, max_value=4999))
def test_an_expired_partly_paid_order_is_kept_canceled_with_all_it_took_refunded(paid: int) -> None:
    kept = rules.decide_expiry(order((33, 1), paid=paid))
    assert kept is not None
    assert (kept["state"], kept["refunded_cents"], kept["cancel_reason"]) == (rules.CANCELED, paid, rules.EXPIRED)
    shown = rules.order_json(DATA, kept, {})
    assert (shown["state"], shown["all_paid"], shown["refunded_cents"]) == ("canceled", False, paid)
    assert (shown["refunded"], shown["display_refunded"]) == (rules.amount(paid), rules.display(paid))
    assert not rules.is_expired(DATA, kept, float("inf"))  # expires once
    assert rules.listings_of(kept["state"]) == ("all", "state=canceled")  # no filter of the seed names it
    with pytest.raises(RuleViolation, match="refunded") as refused:
        rules.decide_pay(kept, "late", 5000 - paid, used_by=None, touched=9)
    assert (refused.value.status, refused.value.rule) == (409, "payable")


def test_only_a_canceled_order_answers_refund_fields() -> None:
    assert "refunded_cents" not in rules.order_json(DATA, order((33, 1), paid=10), {})


def test_the_paypal_sandbox_knows_its_reference_ids_and_the_pattern() -> None:
    assert rules.paypal_amount(DATA, "123456789") == 40000
    assert rules.paypal_amount(DATA, "PAYID-4600-abc") == 4600
    with pytest.raises(RuleViolation) as unknown:
        rules.paypal_amount(DATA, "PAYID-x-abc")
    assert (unknown.value.status, unknown.value.pointer) == (404, "/reference_id")


@pytest.mark.parametrize(
    ("state", "filters", "named"),
    [
        ("payment", {"type": "not_completed"}, True),
        ("created", {"type": "not_completed"}, True),
        ("partial_delivered", {"type": "completed"}, True),
        ("delivered", {"type": "completed"}, True),
        ("completed", {"type": "not_completed"}, False),
        ("delivered", {"state": "completed"}, False),
        ("completed", {"state": "completed", "type": "completed"}, True),
        ("payment", {"state": "payment", "type": "completed"}, False),
        ("delivered", {}, True),
    ],
)
def test_state_and_type_filters(state: str, filters: dict[str, str], named: bool) -> None:
    assert rules.matches(state, state=filters.get("state"), type_=filters.get("type")) is named


def test_only_orders_not_fully_paid_expire_five_hours_after_creation() -> None:
    assert DATA.expiry_seconds == 5 * 3600
    assert not rules.is_expired(DATA, order((33, 1)), 5 * 3600 - 1)
    assert rules.is_expired(DATA, order((33, 1)), 5 * 3600)
    assert rules.is_expired(DATA, order((33, 1), paid=100), 5 * 3600)
    assert not rules.is_expired(DATA, order((33, 1), state="completed"), 10 * 3600)


def test_delivery_moves_only_forward_from_completed() -> None:
    paid = order((33, 1), state="completed")
    part = rules.move_delivery(paid, "partial_delivered", touched=2)
    assert rules.move_delivery(part, "delivered", touched=3)["state"] == "delivered"
    with pytest.raises(RuleViolation):
        rules.move_delivery(order((33, 1)), "delivered", touched=4)
    with pytest.raises(RuleViolation):
        rules.move_delivery(rules.move_delivery(paid, "delivered", touched=5), "partial_delivered", touched=6)


@given(st.lists(st.sampled_from(rules.STATES), max_size=40), st.integers(min_value=1, max_value=6))
def test_pages_of_my_orders_are_complete_without_duplicates(states: list[str], page_size: int) -> None:
    orders = [{"id": n + 1, "state": s, "touched": (n * 7) % 41} for n, s in enumerate(states)]
    total_pages, _ = rules.my_orders(orders, state=None, type_="not_completed", page=1, page_size=page_size)
    seen = [
        o["id"]
        for page in range(1, total_pages + 1)
        for o in rules.my_orders(orders, state=None, type_="not_completed", page=page, page_size=page_size)[1]
    ]
    assert sorted(seen) == sorted(o["id"] for o in orders if o["state"] in ("created", "payment"))
    assert len(seen) == len(set(seen))
