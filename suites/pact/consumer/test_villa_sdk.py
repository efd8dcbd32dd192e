"""The Villa SDK's interactions with the backend, as pacts: happy flows first, then the errors it handles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pact import Pact, match

from suites.pact.consumer.interactions import (
    CARD_TOKEN,
    CHARGE_ID,
    FOREIGN_SUB,
    ORDER_ID,
    SUB,
    TIMESTAMP,
    UNPAID_ORDER,
    bearer,
    client,
    error_body,
    from_state,
    order_document,
    order_id,
    order_payload,
    order_payload_matchers,
    sub,
)
from villa_contracts.client import VillaClient
from villa_contracts.errors import ApiError

JSON = {"Content-Type": "application/json"}


@contextmanager
def serving(pact: Pact, *, logged_in: bool = True) -> Iterator[VillaClient]:
    """Serve ``pact`` and yield the reference client pointed at it."""
    with pact.serve(raises=True, verbose=False) as server, httpx.Client(timeout=10) as http:
        yield client(str(server.url).rstrip("/"), http, logged_in=logged_in)


def post(pact: Pact, description: str, path: str, body: Any, *, auth: bool = True) -> Any:
    """A ``POST`` interaction with a JSON body and (unless ``auth`` is false) the bearer token."""
    interaction = pact.upon_receiving(description).with_request("POST", path).with_body(body, "application/json")
    if auth:
        interaction = interaction.with_header("Authorization", bearer())
    return interaction


def expect_error(status: int, call: Callable[[], Any]) -> None:
    """Run ``call``; it must raise the client's ``ApiError`` with ``status``."""
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.status_code == status


# --- orders -------------------------------------------------------------------------------------


def test_generate_order_id(pact: Pact) -> None:
    (
        post(pact, "a request to generate an order id on branch 1000", "/api/order2/gentele", {"branchId": "1000"})
        .given("user U is logged in")
        .will_respond_with(200)
        .with_body({"orderId": match.regex(ORDER_ID, regex=r"^\d{12}$")}, "application/json")
    )
    with serving(pact) as villa:
        assert villa.orders.generate_order_id("1000").order_id == ORDER_ID


def test_create_order(pact: Pact) -> None:
    (
        post(pact, "a request to create order O", "/api/order/create", order_payload_matchers())
        .given("user U has an issued order id O on branch 1000")
        .will_respond_with(200)
        .with_body(order_document(), "application/json")
    )
    with serving(pact) as villa:
        assert villa.orders.create(order_payload()).order_id == ORDER_ID


def test_get_order(pact: Pact) -> None:
    (
        post(pact, "a request to get order O", "/api/order/get", {"orderId": order_id()})
        .given(UNPAID_ORDER)
        .will_respond_with(200)
        .with_body(order_document(), "application/json")
    )
    with serving(pact) as villa:
        assert not villa.orders.get(ORDER_ID).is_paid


def test_update_order(pact: Pact) -> None:
    (
        post(pact, "a request to update unpaid order O", "/api/order/update", order_payload_matchers())
        .given(UNPAID_ORDER)
        .will_respond_with(200)
        .with_body(order_document(), "application/json")
    )
    with serving(pact) as villa:
        assert villa.orders.update(order_payload()).order_id == ORDER_ID


# --- pricing ------------------------------------------------------------------------------------

PRICING_ORDER = {
    "branchId": "1000",
    "productList": [{"cprcode": 25281, "quantity": 1}],
    "shipping": {
        "scheduleList": [{"scheduleId": 1, "mode": "REGULAR"}],
        "shippingAddress": "168 Sukhumvit 33 Road",
        "shippingPostcode": "10110",
        "shippingLat": 0,
        "shippingLon": 0,
        "shippingPhone": "0812345678",
        "shippingType": "DELIVERY",
    },
}


def _pricing_interactions(pact: Pact) -> None:
    line = {
        "cprcode": 25281,
        "productName": "Villa Fresh Milk 2L",
        "quantity": 1,
        "originalPrice": 79.0,
        "price": 79.0,
        "settlementPrice": 79.0,
    }
    (
        post(
            pact,
            "a request to calculate the grand total",
            "/api/webPayment/calculateGrandtotal",
            {
                **PRICING_ORDER,
                "ownerId": sub(),
            },
        )  # fmt: skip
        .given("user U is logged in")
        .will_respond_with(200)
        .with_body(
            match.like(
                {
                    "branchId": "1000",
                    "currency": "THB",
                    "couponCodeList": [],
                    "productList": match.each_like({**line, "discount": 0.0, "rowTotal": 79.0}, min=1),
                    "subTotal": 79.0,
                    "deliveryFee": 95.0,
                    "cartDiscount": 0.0,
                    "couponDiscount": 0.0,
                    "grandTotal": 174.0,
                }
            ),
            "application/json",
        )
    )
    (
        post(
            pact,
            "a request to get the cost",
            "/api/calculateCost/getCost",
            {
                "branchId": "1000",
                "productList": [{"cprcode": 25281, "productName": "", "quantity": 1}],
            },
        )  # fmt: skip
        .given("user U is logged in")
        .will_respond_with(200)
        .with_body(
            match.like(
                {
                    "branchId": "1000",
                    "productList": match.each_like({**line, "discountFromCoupon": 0.0, "isPreOrder": False}, min=1),
                    "cartDiscountInfo": [],
                    "couponCodeList": [],
                    "deliveryFee": 95.0,
                    "cartDiscount": 0.0,
                    "subTotal": 79.0,
                    "grandTotal": 174.0,
                }
            ),
            "application/json",
        )
    )


def test_pre_payment_pricing(pact: Pact) -> None:
    _pricing_interactions(pact)
    with serving(pact) as villa:
        builder = villa.order_builder(order_id=ORDER_ID).with_branch("1000")
        builder.add_product(cprcode=25281, quantity=1, price=20, row_total=20).with_delivery_shipping(
            shipping_postcode="10110", shipping_phone="0812345678", shipping_address="168 Sukhumvit 33 Road"
        )
        result = villa.pre_payment.validate(builder.as_test_order().build(), expected_grand_total=Decimal("174.00"))
        assert result.valid, result.errors


# --- payments -----------------------------------------------------------------------------------

PAYMENT_WHO = {"orderId": order_id(), "basketId": sub(), "grandTotal": "174.00", "userId": sub()}


def test_card_token(pact: Pact) -> None:
    (
        post(pact, "a request to tokenise the default card for order O", "/api/payment3devapi/cardtoken", PAYMENT_WHO)
        .given(UNPAID_ORDER)
        .will_respond_with(200)
        .with_body(
            {
                "cardToken": match.regex(CARD_TOKEN, regex=r"^tokn_\w+$"),
                "orderId": match.regex(ORDER_ID, regex=r"^\d{12}$"),
                "maskedCardNo": match.str("411111xxxxxx1111"),
                "brand": match.str("VISA"),
                "expiresAt": match.number(TIMESTAMP),
            },
            "application/json",
        )
    )
    with serving(pact) as villa:
        request = villa.payments.build_card_token_request(ORDER_ID, SUB, Decimal("174.00"))
        assert villa.payments.create_card_token(request).card_token == CARD_TOKEN


CHARGES = [
    ("approve", "Authorized", "success", None, None),
    ("decline", "Declined", "fail", None, "insufficient_funds"),
    ("three_ds", "Pre-Authorized", "pending", "http://localhost/mock/3ds/" + CHARGE_ID, None),
]


@pytest.mark.parametrize(("outcome", "transaction_state", "status", "redirect", "failure"), CHARGES)
def test_card_payment(
    pact: Pact, outcome: str, transaction_state: str, status: str, redirect: str | None, failure: str | None
) -> None:
    body = {**PAYMENT_WHO, "token": from_state("${cardToken}", CARD_TOKEN)}
    answer: dict[str, Any] = {
        "chargeId": match.regex(CHARGE_ID, regex=r"^chrg_\w+$"),
        "orderId": match.regex(ORDER_ID, regex=r"^\d{12}$"),
        "amount": match.number(174.0),
        "currency": "THB",
        "transaction_state": transaction_state,
        "status": match.str(status),
        "created": match.number(TIMESTAMP),
        "object": "charge",
        "maskedCardNo": match.str("411111xxxxxx1111"),
        "redirect_url": None if redirect is None else match.regex(redirect, regex=r"^https?://\S+/3ds/\S+$"),
        "failure_code": None if failure is None else match.str(failure),
        "failure_message": None if failure is None else match.str("insufficient funds"),
    }
    (
        post(
            pact, f"a request to charge order O with a card that leads to {outcome}", "/api/payment3devapi/charge", body
        )
        .given("user U has a card token T for unpaid order O", outcome=outcome)
        .will_respond_with(200)
        .with_body(answer, "application/json")
    )
    with serving(pact) as villa:
        request = villa.payments.build_card_payment_request(ORDER_ID, SUB, Decimal("174.00"), CARD_TOKEN)
        charge = villa.payments.initiate_card_payment(request)
        assert charge.transaction_state == transaction_state
        assert (charge.redirect_url is not None) == (redirect is not None)


def test_verify_payment(pact: Pact) -> None:
    (
        post(
            pact,
            "a request to verify charge C of order O",
            "/api/payment3devapi/verify",
            {
                "orderId": order_id(),
                "chargeId": from_state("${chargeId}", CHARGE_ID),
            },
        )  # fmt: skip
        .given("user U has an Authorized charge C on order O")
        .will_respond_with(200)
        .with_body(
            {
                "orderId": match.regex(ORDER_ID, regex=r"^\d{12}$"),
                "chargeId": match.regex(CHARGE_ID, regex=r"^chrg_\w+$"),
                "transaction_state": "Authorized",
                "paid": True,
                "order": order_document(paid=True),
            },
            "application/json",
        )
    )
    with serving(pact) as villa:
        assert villa.payments.verify(ORDER_ID, CHARGE_ID).paid


# --- errors the SDK handles ---------------------------------------------------------------------


ISSUED = "user U has an issued order id O on branch 1000"


def refused(interaction: Any, status: int, given: str | None = None) -> None:
    """``interaction`` answered ``status`` with the contract's error body (``given``: the provider state it needs)."""
    if given is not None:
        interaction = interaction.given(given)
    interaction.will_respond_with(status).with_body(error_body(), "application/json")


def test_no_token_is_401(pact: Pact) -> None:
    body = {"orderId": ORDER_ID}
    refused(post(pact, "a request to get an order without a token", "/api/order/get", body, auth=False), 401)
    with serving(pact, logged_in=False) as villa:
        expect_error(401, lambda: villa.orders.get(ORDER_ID))


def test_expired_token_is_401(pact: Pact) -> None:
    expired = post(pact, "a request to get order O with an expired token", "/api/order/get", {"orderId": ORDER_ID})
    refused(expired, 401, "user U's ID token has expired")
    with serving(pact) as villa:
        expect_error(401, lambda: villa.orders.get(ORDER_ID))


def test_foreign_owner_is_403(pact: Pact) -> None:
    body = {**order_payload_matchers(), "ownerId": FOREIGN_SUB}
    refused(post(pact, "a request to create order O for another user", "/api/order/create", body), 403, ISSUED)
    with serving(pact) as villa:
        expect_error(403, lambda: villa.orders.create({**order_payload(), "ownerId": FOREIGN_SUB}))


def test_unknown_order_is_404(pact: Pact) -> None:
    unknown = {"orderId": "999999999999"}
    refused(
        post(pact, "a request to get an order that does not exist", "/api/order/get", unknown),
        404,
        "user U is logged in",
    )
    with serving(pact) as villa:
        expect_error(404, lambda: villa.orders.get("999999999999"))


def test_invalid_body_is_400(pact: Pact) -> None:
    zero = [{"cprcode": 25281, "quantity": 0}]
    body = {**order_payload_matchers(), "productList": zero}
    refused(post(pact, "a request to create order O with a zero quantity", "/api/order/create", body), 400, ISSUED)
    with serving(pact) as villa:
        expect_error(400, lambda: villa.orders.create({**order_payload(), "productList": zero}))


def test_update_of_paid_order_is_409(pact: Pact) -> None:
    paid = post(pact, "a request to update order O after it was paid", "/api/order/update", order_payload_matchers())
    refused(paid, 409, "order O is paid")
    with serving(pact) as villa:
        expect_error(409, lambda: villa.orders.update(order_payload()))
