"""The shop's oracle on hand-made exchanges: what it learns from answers, and what the domain then forbids."""

from __future__ import annotations

import json
from typing import Any

import pytest

from suites.proxy.exchange import Exchange
from suites.proxy.judge import TrafficJudge
from suites.proxy.redaction import scrub_authorization
from villa_contracts.contract import load

ALICE, BOB = "user:7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11", "user:2f9e4b7a-6c1d-4e83-a5b0-9d3c7e1f4a22"
KEYS = {ALICE: "a1" * 20, BOB: "b2" * 20}
ORDER = "ORD-2026-000001"
ATTEMPT = "pay_" + "0a" * 10
ORACLE_RULES = {
    "cart_not_empty", "address_of_caller", "ownership", "exists", "paid_stays_paid", "amount_must_match",
    "attempt_final", "one_payment_per_order", "cart_deleted_after_payment",
}  # fmt: skip


class Shop:
    """A judge of the shop contract, and the exchanges of a session with it."""

    def __init__(self, *, recorded: bool = False) -> None:
        self.judge = TrafficJudge(load(), ["shop"])
        self.recorded = recorded

    def send(
        self,
        op: str,
        body: Any = None,
        answer: Any = None,
        status: int = 200,
        *,
        who: str | None = ALICE,
        **params: Any,
    ) -> dict[str, list[str]]:
        """Judge one exchange; answers the oracle's failures (rule → pointers)."""
        operation = load()["shop"].operation(op)
        headers = []
        if who is not None:
            value = f"Token {KEYS[who]}"
            headers.append(("authorization", scrub_authorization(value) if self.recorded else value))
        if body is not None:
            headers.append(("content-type", "application/json"))
        verdict = self.judge.judge(
            Exchange(
                method=operation.method,
                path=operation.path.format(**params),
                request_headers=tuple(headers),
                request_body=json.dumps(body).encode() if body is not None else b"",
                status=status,
                response_headers=(("content-type", "application/json"),),
                response_body=json.dumps(answer if answer is not None else {}).encode(),
            )
        )
        found: dict[str, list[str]] = {}
        for check, findings in verdict.judged:
            if check in ORACLE_RULES:
                found.setdefault(check, [])
                found[check] += [f.pointer for f in findings if not f.warning]
        return found

    def log_in(self, who: str) -> None:
        self.send("getProfile", answer={"customer": who}, who=who)


def failed(found: dict[str, list[str]]) -> dict[str, list[str]]:
    return {check: pointers for check, pointers in found.items() if pointers}


def cart(*lines: tuple[int, int]) -> dict[str, Any]:
    items = [
        {"product_id": p, "name": "x", "quantity": q, "unit_price": "79.00", "line_total": f"{79 * q}.00"}
        for p, q in lines
    ]
    return {"items": items, "item_count": sum(q for _, q in lines), "items_total": "0.00", "currency": "THB"}


def order(owner: str, status: str = "HOLD", total: str = "174.00") -> dict[str, Any]:
    return {"order_key": ORDER, "customer": owner, "status": status, "total": total, "currency": "THB"}


CHECKOUT = {"address": 123, "payment_method": 1, "shipping_method": 2}
NEXT_STEP = {"next_step": f"http://shop.example/mock/gateway/{ATTEMPT}"}


@pytest.fixture(params=[False, True], ids=["live", "recorded"])
def shop(request: pytest.FixtureRequest) -> Shop:
    """Live, and on a recording (token keys turned into their pseudonyms): the oracle decides the same."""
    return Shop(recorded=request.param)


def test_a_caller_it_cannot_name_is_judged_on_nothing_that_needs_one(shop: Shop) -> None:
    shop.send("getCart", answer=cart())  # no profile answered for this key: who is it?
    assert shop.send("checkoutCart", CHECKOUT, NEXT_STEP) == {}


def test_a_checkout_of_a_cart_last_answered_empty_is_refused(shop: Shop) -> None:
    shop.log_in(ALICE)
    shop.send("getCart", answer=cart())
    assert shop.send("checkoutCart", CHECKOUT, {"error": "the cart is empty"}, 400) == {"cart_not_empty": []}
    assert failed(shop.send("checkoutCart", CHECKOUT, NEXT_STEP)) == {"cart_not_empty": [""]}
    shop.send("addCartItem", {"product_id": 25281, "quantity": 1}, cart((25281, 1)))
    assert failed(shop.send("checkoutCart", CHECKOUT, NEXT_STEP)) == {}


def test_a_checkout_with_an_address_answered_to_someone_else_is_refused(shop: Shop) -> None:
    shop.log_in(ALICE)
    shop.log_in(BOB)
    shop.send("addAddress", {}, {"id": 1001}, 201, who=BOB)
    shop.send("listAddresses", answer={"results": [{"id": 123}]})
    assert failed(shop.send("checkoutCart", {**CHECKOUT, "address": 1001}, NEXT_STEP)) == {
        "address_of_caller": ["/address"]
    }
    assert failed(shop.send("checkoutCart", CHECKOUT, NEXT_STEP)) == {}
    assert failed(shop.send("checkoutCart", {**CHECKOUT, "address": 4242}, NEXT_STEP)) == {}  # never seen: not judged


def test_an_order_is_its_owners_alone_and_never_disappears(shop: Shop) -> None:
    shop.log_in(ALICE)
    shop.log_in(BOB)
    assert failed(shop.send("getOrder", answer=order(BOB), order_key=ORDER)) == {"ownership": ["/customer"]}
    shop = Shop(recorded=shop.recorded)
    shop.log_in(ALICE)
    shop.log_in(BOB)
    shop.send("getOrder", answer=order(ALICE), order_key=ORDER)
    assert failed(shop.send("getOrder", answer=order(ALICE), who=BOB, order_key=ORDER)) == {
        "ownership": ["/path/order_key"]
    }
    assert shop.send("getOrder", answer={"error": "no order"}, status=404, who=BOB, order_key=ORDER) == {
        "ownership": []
    }
    assert failed(shop.send("getOrder", answer={"error": "gone"}, status=404, order_key=ORDER)) == {
        "exists": ["/path/order_key"]
    }


def test_a_paid_order_is_not_offered_for_payment_again(shop: Shop) -> None:
    shop.log_in(ALICE)
    shop.send("getOrder", answer=order(ALICE, "PROCESSING"), order_key=ORDER)
    assert failed(shop.send("getOrderToPay", answer=order(ALICE, "PROCESSING"), order_key=ORDER)) == {
        "paid_stays_paid": [""]
    }


def _callback(amount: int, currency: str = "THB") -> dict[str, Any]:
    return {"external_id": ATTEMPT, "status": "PAID", "total_amount": amount, "currency": currency}


def _processed(processed: bool) -> dict[str, Any]:
    return {"external_id": ATTEMPT, "status": "PAID", "order_key": ORDER, "order_status": "PROCESSING",
            "processed": processed}  # fmt: skip


def _checked_out(shop: Shop) -> None:
    shop.log_in(ALICE)
    shop.send("getCart", answer=cart((25281, 1)))
    shop.send("checkoutCart", CHECKOUT, NEXT_STEP)
    shop.send("listOrders", answer={"results": [order(ALICE)]})


def test_a_callback_whose_amount_or_currency_is_not_the_orders_does_not_pay(shop: Shop) -> None:
    _checked_out(shop)
    assert failed(shop.send("paymentCallback", _callback(17500), _processed(True), who=None)) == {
        "amount_must_match": ["/total_amount"]
    }
    _checked_out(shop := Shop(recorded=shop.recorded))
    assert failed(shop.send("paymentCallback", _callback(17400, "USD"), _processed(True), who=None)) == {
        "amount_must_match": ["/currency"]
    }


def test_the_same_callback_twice_pays_once(shop: Shop) -> None:
    _checked_out(shop)
    assert shop.send("paymentCallback", _callback(17400), _processed(True), who=None) == {"one_payment_per_order": []}
    assert shop.send("paymentCallback", _callback(17400), _processed(False), who=None) == {"one_payment_per_order": []}
    assert failed(shop.send("paymentCallback", _callback(17400), _processed(True), who=None)) == {
        "one_payment_per_order": ["/processed"]
    }


def test_after_a_payment_it_saw_the_cart_holds_only_what_was_added_since(shop: Shop) -> None:
    _checked_out(shop)
    approved = {"external_id": ATTEMPT, "status": "PAID", "order_key": ORDER, "return_url": "http://x/"}
    shop.send("gatewayDecision", {"action": "approve"}, approved, who=None, external_id=ATTEMPT)
    assert failed(shop.send("getCart", answer=cart((25281, 1)))) == {"cart_deleted_after_payment": ["/items"]}
    assert shop.send("getCart", answer=cart((25281, 1))) == {}  # learnt: one finding, not one per read

    _checked_out(shop := Shop(recorded=shop.recorded))
    shop.send("paymentCallback", _callback(17400), _processed(True), who=None)
    added = shop.send("addCartItem", {"product_id": 188468, "quantity": 2}, cart((188468, 2)))
    assert added == {"cart_deleted_after_payment": []}
    shop.send("checkoutCart", {**CHECKOUT, "payment_method": 3}, {"order_key": "ORD-2026-000002"})  # paid at once
    changed = shop.send("changeCartItem", {"quantity": 3}, cart((188468, 3)), product_id=188468)
    assert failed(changed) == {"cart_deleted_after_payment": ["/path/product_id"]}


def test_the_shop_catalog_check_gets_the_proxys_catalog_at_the_shops_branch() -> None:
    # The proxy's catalog is keyed (cprcode, branch); the shop's check keeps its branch's prices and fees.
    from suites.proxy.addon import catalog_prices
    from suites.proxy.traffic_checks import CheckSetup, GateChecks
    from villa_contracts.contract import load
    from villa_contracts.domain.shop import ShopData

    contracts = load()
    prices = catalog_prices(contracts)
    check = next(
        c for c in GateChecks(CheckSetup("shop", prices, contracts)).checks if type(c).__name__ == "shop_catalog_prices"
    )
    branch = ShopData.from_contract(contracts).branch
    expected = {code: price for (code, at), price in prices.items() if at == branch}
    assert expected and check.prices == expected  # type: ignore[attr-defined]
    assert check.fees  # type: ignore[attr-defined]
