"""The shop machine's oracle (``suites.property.shop_model``) on its own, without a server.

The model is told what the machine did and which answers it accepted, and predicts each next answer
with ``villa_contracts.domain.shop``: which refusal wins, the status, and what the order, cart and
attempts become (an approval after expiry refunded, not lost).
"""

from __future__ import annotations

import pytest

from suites.property.shop_model import (
    GUEST,
    MISSING_ADDRESS,
    ShopModel,
    cart_after_write,
    first_refusal,
    order_rules,
    page_report,
)
from villa_contracts.contract import load
from villa_contracts.domain import shop as rules
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation

MILK, RICE, SALMON = 25281, 188468, 231150  # chilled 79.00, dry 129.00, chilled 310.25
GATEWAY, CASH, RETIRED_TRANSFER, GATEWAY_DOWN, NO_SUCH_METHOD = 1, 3, 4, 5, 99
COLD_CHAIN, MOTORBIKE, POST_OFFICE = 2, 6, 7  # 95.00 (dry, chilled), 150.00 (dry), retired


def _model(*, stock: int | None = 5) -> ShopModel:
    """Two users with an address each and a guest with neither; ``stock`` units of each product free (None: unknown)."""
    contracts = load()
    model = ShopModel(BusinessData.from_contract(contracts), rules.ShopData.from_contract(contracts))
    model.meet(0, "user:a", addresses=[11])
    model.meet(1, "user:b", addresses=[12])
    model.meet(GUEST, "guest:g", complete=False)
    if stock is not None:
        model.free = {MILK: stock, RICE: stock, SALMON: stock}
    return model


def _refused(model: ShopModel, actor: int, choice: str = "own", payment: int = GATEWAY,
             shipping: int = COLD_CHAIN) -> tuple[int, str]:  # fmt: skip
    """The status and the rule of the refusal the model predicts for a checkout."""
    expect = model.expect_checkout(actor, choice, payment, shipping).expect
    assert expect.refusal is not None, f"not refused: {expect}"
    return expect.status, expect.refusal.rule


def _held_order(model: ShopModel, actor: int = 0, attempt: str = "pay_1") -> int:
    """One milk checked out through the gateway by ``actor``: order number 0, ``HOLD``, its attempt ``PENDING``."""
    model.item_added(actor, MILK, 1)
    predicted = model.expect_checkout(actor, "own", GATEWAY, COLD_CHAIN)
    assert predicted.outcome is not None
    model.orders[0] = None
    model.checked_out(0, actor, predicted.outcome, "ORD-2026-000001", attempt)
    return 0


# --- cart ----------------------------------------------------------------------------------------


def test_the_cart_takes_only_what_the_store_sells_and_changes_only_its_lines() -> None:
    model = _model()
    unknown = model.expect_add_item(0, 999_999, 1)
    assert (unknown.status, unknown.refusal and unknown.refusal.rule) == (404, "catalog")
    assert model.expect_add_item(0, MILK, 2).status == 200
    model.item_added(0, MILK, 2)
    too_many = model.expect_add_item(0, MILK, 9998)  # 2 + 9998 > 9999 units in one line
    assert too_many.status == 400 and too_many.refusal is not None
    absent = model.expect_change_item(0, RICE)
    assert (absent.status, absent.refusal and absent.refusal.rule) == (404, "exists")
    assert model.expect_change_item(0, MILK).status == 200
    model.item_changed(0, MILK, 3)
    assert model.cart(0) == [(MILK, 3)] and model.cart_total(0) == "237.00"
    assert model.cart_problems(0, {"items": [{"product_id": MILK, "quantity": 3}], "items_total": "237.00"},
                               prices=True) == []  # fmt: skip
    stale = model.cart_problems(0, {"items": [{"product_id": MILK, "quantity": 2}]}, prices=True)
    assert [p.check for p in stale] == ["cart"]
    repriced = {"items": [{"product_id": MILK, "quantity": 3}], "items_total": "240.00"}
    assert [p.check for p in model.cart_problems(0, repriced, prices=True)] == ["shop_totals"]
    assert model.cart_problems(0, repriced, prices=False) == []  # another catalog: its own prices
    model.item_changed(0, MILK, None)
    assert model.cart(0) == []


# --- checkout ------------------------------------------------------------------------------------


def test_each_checkout_rule_refuses_with_its_own_status() -> None:
    model = _model()
    assert _refused(model, 0) == (400, "cart_not_empty")
    model.item_added(0, MILK, 1)  # chilled
    assert _refused(model, 0, "foreign") == (400, "address_of_caller")
    assert _refused(model, 0, "missing") == (400, "address_of_caller")
    assert model.expect_checkout(0, "missing", GATEWAY, COLD_CHAIN).body["address"] == MISSING_ADDRESS
    assert _refused(model, 0, payment=RETIRED_TRANSFER) == (400, "payment_method_active")
    assert _refused(model, 0, payment=NO_SUCH_METHOD) == (400, "payment_method_active")
    assert _refused(model, 0, payment=CASH) == (400, "payment_method_supports")  # cash takes dry goods only
    assert _refused(model, 0, shipping=POST_OFFICE) == (400, "shipping_method_active")
    assert _refused(model, 0, shipping=MOTORBIKE) == (400, "shipping_method_supports")
    assert _refused(model, 0, payment=GATEWAY_DOWN) == (503, "gateway_down_changes_nothing")


def test_when_several_rules_refuse_the_first_in_the_seeds_order_wins() -> None:
    model = _model(stock=0)
    # The guest: no profile, no address, an empty cart; then out of stock; then the rest.
    assert _refused(model, GUEST, "missing", RETIRED_TRANSFER, POST_OFFICE) == (400, "cart_not_empty")
    model.item_added(GUEST, MILK, 1)
    assert _refused(model, GUEST, "missing", RETIRED_TRANSFER, POST_OFFICE) == (400, "in_stock")
    model.free = {MILK: 1}
    assert _refused(model, GUEST, "missing", RETIRED_TRANSFER, POST_OFFICE) == (400, "profile_complete")
    model.completed(GUEST)
    assert _refused(model, GUEST, "own", RETIRED_TRANSFER, POST_OFFICE) == (400, "address_of_caller")
    model.address_added(GUEST, 13)
    assert _refused(model, GUEST, "own", RETIRED_TRANSFER, POST_OFFICE) == (400, "payment_method_active")
    assert _refused(model, GUEST, "own", GATEWAY_DOWN, POST_OFFICE) == (400, "shipping_method_active")
    # Every validation holds: only then does a down gateway refuse (503, nothing ordered).
    assert _refused(model, GUEST, "own", GATEWAY_DOWN, COLD_CHAIN) == (503, "gateway_down_changes_nothing")


def test_a_redirect_checkout_holds_the_order_and_its_stock_until_paid() -> None:
    model = _model()
    model.item_added(0, MILK, 2)
    model.item_added(0, RICE, 1)
    predicted = model.expect_checkout(0, "own", GATEWAY, COLD_CHAIN)
    assert predicted.body == {"address": 11, "payment_method": GATEWAY, "shipping_method": COLD_CHAIN}
    assert (predicted.expect.status, predicted.expect.refusal, predicted.expect.also) == (200, None, ())
    assert predicted.outcome is not None and predicted.outcome.total == 2 * 7900 + 12900 + 9500
    order = model.checked_out(0, 0, predicted.outcome, "ORD-2026-000001", "pay_1")
    assert (order.status, order.attempts, order.owner) == (rules.HOLD, {"pay_1": rules.PENDING}, 0)
    assert model.free == {MILK: 3, RICE: 4, SALMON: 5}
    assert model.cart(0) == [(MILK, 2), (RICE, 1)]  # the cart stays until the order is paid
    assert model.expect_checkout(0, "own", GATEWAY, COLD_CHAIN).expect.status == 200  # 2 milks, 3 left
    model.item_changed(0, MILK, 4)  # 4 milks, 3 left
    assert _refused(model, 0) == (400, "in_stock")


def test_a_direct_checkout_is_paid_at_once_and_deletes_the_cart() -> None:
    model = _model()
    model.item_added(1, RICE, 2)  # dry: cash and the motorbike take it
    predicted = model.expect_checkout(1, "own", CASH, MOTORBIKE)
    assert predicted.expect.status == 200 and predicted.outcome is not None
    order = model.checked_out(0, 1, predicted.outcome, "ORD-2026-000002", None)
    assert (order.status, order.total, order.attempts) == (rules.PROCESSING, 2 * 12900 + 15000, {})
    assert model.cart(1) == []
    assert model.decide_payment(0, "approve") is None  # no attempt to pay


def test_where_stock_is_unknown_a_checkout_may_also_be_refused_for_stock_only() -> None:
    model = _model(stock=None)
    model.item_added(0, MILK, 1)
    assert model.expect_checkout(0, "own", GATEWAY, COLD_CHAIN).expect.statuses == (200, 400)
    # A rule before stock refuses as it does, stock or not; one after it (the payment service down) may be
    # preceded by a shortage, as the domain orders them (a correct dev backend answered 400 there).
    assert _refused(model, 0, "foreign") == (400, "address_of_caller")
    assert model.expect_checkout(0, "own", GATEWAY_DOWN, COLD_CHAIN).expect.statuses == (503, 400)


# --- orders --------------------------------------------------------------------------------------


def test_someone_elses_order_reads_as_missing_and_a_paid_one_cannot_be_paid_again() -> None:
    model = _model()
    ref = _held_order(model, actor=0)
    for what in ("getOrder", "getOrderToPay", "listPaymentAttempts"):
        assert model.expect_read(ref, 0, what).status == 200
        for stranger in (1, GUEST):
            expect = model.expect_read(ref, stranger, what)
            assert (expect.status, expect.refusal and expect.refusal.rule) == (404, "ownership")
    assert model.expect_new_attempt(ref, 0).status == 201
    assert model.expect_new_attempt(ref, 1).status == 404
    payment = model.decide_payment(ref, "approve")
    assert payment is not None
    model.reported(ref, payment)
    assert model.expect_read(ref, 0, "getOrder").status == 200
    to_pay = model.expect_read(ref, 0, "getOrderToPay")
    assert (to_pay.status, to_pay.refusal and to_pay.refusal.rule) == (409, "paid_stays_paid")
    assert model.expect_new_attempt(ref, 0).status == 409
    assert model.expect_read(ref, 1, "getOrderToPay").status == 404  # not yours comes before paid


def test_an_answered_order_is_compared_with_the_model() -> None:
    model = _model()
    ref = _held_order(model)
    order = model.orders[ref]
    assert order is not None
    doc = {"order_key": "ORD-2026-000001", "status": "HOLD", "customer": "user:a", "total": "174.00",
           "items": [{"product_id": MILK, "quantity": 1}]}  # fmt: skip
    assert model.order_problems(order, doc, prices=True) == []
    assert [p.check for p in model.order_problems(order, {**doc, "customer": "user:b"}, prices=True)] == ["shop_order"]
    assert [p.check for p in model.order_problems(order, {**doc, "total": "175.00"}, prices=True)] == ["shop_totals"]
    payment = model.decide_payment(ref, "approve")
    assert payment is not None
    model.reported(ref, payment)
    paid = {**doc, "status": "PROCESSING", "snapshot": {"payment_external_id": "pay_1"}}
    assert model.order_problems(order, paid, prices=True) == []
    other = {**paid, "snapshot": {"payment_external_id": "pay_0"}}
    assert [p.check for p in model.order_problems(order, other, prices=True)] == ["shop_one_payment"]


def test_the_order_list_pages_the_callers_orders() -> None:
    model = _model()
    model.before[0] = 3  # orders of user 0 before the example
    _held_order(model, actor=0)
    assert model.order_count(0, answered=None) == 4
    assert model.order_count(1, answered=7) == 7  # the count at the start unknown: as answered
    assert model.order_count(GUEST, answered=7) == 0  # a new guest has none
    assert model.expect_page(4, 1, 3) == (200, 4, 2, (1, 3), 3)
    assert model.expect_page(4, 2, 3) == (200, 4, 2, (2, 3), 1)
    assert model.expect_page(4, 3, 3) == (200, 4, 2, (3, 3), 0)  # past the end: no orders
    assert [o.key for o in model.mine(0)] == ["ORD-2026-000001"] and model.mine(1) == []


# --- payment -------------------------------------------------------------------------------------


def test_an_approval_pays_once_and_deletes_the_owners_cart() -> None:
    model = _model()
    ref = _held_order(model, actor=0)
    model.item_added(0, RICE, 1)  # the cart holds more than the order
    payment = model.decide_payment(ref, "approve")
    assert payment is not None
    assert payment.callback_body() == {"external_id": "pay_1", "status": rules.PAID, "total_amount": 7900 + 9500,
                                       "currency": "THB"}  # fmt: skip
    assert (payment.expect.status, payment.decision.pays) == (200, True)
    order = model.reported(ref, payment)
    assert (order.status, order.paid_by, order.attempts) == (rules.PROCESSING, "pay_1", {"pay_1": rules.PAID})
    assert model.cart(0) == []
    again = model.decide_payment(ref, "approve")  # the same approval again: changes nothing, pays nothing
    assert again is not None and (again.expect.status, again.decision.pays) == (200, False)


def test_a_decline_pays_nothing_and_a_wrong_amount_is_refused_and_recorded() -> None:
    model = _model()
    ref = _held_order(model, actor=1)
    declined = model.decide_payment(ref, "decline")
    assert declined is not None and (declined.expect.status, declined.decision.pays) == (200, False)
    order = model.reported(ref, declined)
    assert (order.status, order.attempts) == (rules.HOLD, {"pay_1": rules.DECLINED})
    assert model.cart(1) == [(MILK, 1)]  # nothing paid: the cart stays
    model.attempt_started(ref, "pay_2")
    wrong = model.decide_payment(ref, "approve", wrong="amount")
    assert wrong is not None and wrong.amount == 7900 + 9500 + 1
    assert wrong.expect.refusal is not None
    assert (wrong.expect.status, wrong.expect.refusal.rule) == (409, "amount_must_match")
    model.reported(ref, wrong)
    assert (order.status, order.attempts["pay_2"]) == (rules.HOLD, rules.REJECTED)
    usd = model.decide_payment(ref, "approve", wrong="currency")  # pay_2 is final now: attempt_final
    assert usd is not None and usd.currency == "USD"
    assert usd.expect.refusal is not None and usd.expect.refusal.rule == "attempt_final"


@pytest.mark.parametrize("wrong", [None, "amount", "currency"])
def test_an_approval_after_expiry_is_refunded_whatever_it_reports(wrong: str | None) -> None:
    model = _model()
    ref = _held_order(model, actor=0)
    order = model.orders[ref]
    assert model.time_passes(rules.EXPIRY_SECONDS - 1) == []  # not yet
    assert order is not None and order.status == rules.HOLD
    assert model.time_passes(2) == [ref]
    assert order.status == rules.CANCELLED
    assert model.waits_for_payer(ref)  # the payer is still on the gateway's page
    late = model.decide_payment(ref, "approve", wrong=wrong)
    assert late is not None
    assert (late.expect.status, late.decision.refunds, late.decision.pays) == (200, True, False)
    model.reported(ref, late)
    assert (order.status, order.attempts, order.paid_by) == (rules.CANCELLED, {"pay_1": rules.REFUNDED}, None)
    assert not model.waits_for_payer(ref)
    assert model.cart(0) == [(MILK, 1)]  # refunded, not paid: the cart is not deleted
    assert model.expect_read(ref, 0, "getOrderToPay").status == 409  # a cancelled order is not payable
    assert model.expect_new_attempt(ref, 0).status == 409
    assert model.time_passes(rules.EXPIRY_SECONDS + 1) == []  # cancelled once


# --- the decisions the proxy's oracle shares ----------------------------------------------------


def test_an_order_is_checked_for_its_owner_before_its_payability() -> None:
    def rule(operation: str, caller: str, status: str | None) -> str | None:
        refusal = first_refusal(order_rules(operation, "ORD-2026-000001", "user:a", caller, status))
        return None if refusal is None else f"{refusal.status} {refusal.rule}"

    assert rule("getOrderToPay", "user:b", rules.PROCESSING) == "404 ownership"
    assert rule("getOrderToPay", "user:a", rules.PROCESSING) == "409 paid_stays_paid"
    assert rule("createPaymentAttempt", "user:a", rules.CANCELLED) == "409 paid_stays_paid"
    assert rule("getOrder", "user:a", rules.PROCESSING) is None  # a paid order may still be read
    assert rule("getOrderToPay", "user:a", None) is None  # status unknown: not judged
    assert [name for name, _ in order_rules("getOrderToPay", "k", "user:a", "user:a", rules.HOLD)] == [
        "ownership",
        "paid_stays_paid",
    ]


def test_the_gateway_page_reports_the_attempts_own_amount_and_a_cart_write_changes_only_its_line() -> None:
    assert page_report("approve", 17400, "THB") == (rules.PAID, 17400, "THB")
    assert page_report("abandon", 17400, "THB") == (rules.ABANDONED, 17400, "THB")
    assert page_report("refund", 17400, "THB") is None  # no such button
    cart = {MILK: 1}
    assert cart_after_write(cart, RICE, 2, add=True) == {MILK: 1, RICE: 2}
    assert cart_after_write(cart, MILK, 2, add=True) == {MILK: 3}
    assert cart_after_write(cart, MILK, 5, add=False) == {MILK: 5}
    assert cart_after_write(cart, MILK, None, add=False) == {}
    assert cart == {MILK: 1}  # a new cart: the one given is not changed
    with pytest.raises(RuleViolation) as absent:
        cart_after_write(cart, RICE, None, add=False)
    assert (absent.value.status, absent.value.rule) == (404, "exists")
