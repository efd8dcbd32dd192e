"""The mobile app and the line-item order API (seed 004): the pact of ``villa-mobile`` with ``villa-lineitems``.

The app keeps the cart itself, creates an order at checkout, pays with PayPal's SDK and posts the
reference id, and shows "my orders". Happy paths first (create, pay, completed orders), then the
errors the app handles: short stock (the seed's body, 409), someone else's order (404), no token
(401). The ID token, the order id and the reference id are provider-state generators.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from pact import Pact, generate, match
from pact.match.matcher import AbstractMatcher, GenericMatcher

from suites.pact.consumer.interactions import ID_TOKEN, bearer, from_state

ORDER_ID = 8
REFERENCE_ID = "PAYID-40000-pact0123456789abcdef"
WAITING = "user U has the seed's order O waiting for payment"
ADDRESS = {"firstname": "Noemi", "lastname": "Ullrich", "address1": "2315 Molly Hill", "address2": "Suite 329",
           "zipcode": "47546", "phone": "(684) 555-8450"}  # fmt: skip
SEED_ORDER = {
    "remarks": "this is a remarks",
    "line_items": [{"variant_id": 33, "quantity": 2}, {"variant_id": 34, "quantity": 3}],
    "ship_address": ADDRESS,
}
IMAGE = {"url": "/uploads/image/image/19/gshock.jpg", "medium_url": "/uploads/image/image/19/medium_gshock.jpg",
         "thumb_url": "/uploads/image/image/19/thumb_gshock.jpg"}  # fmt: skip


def payments_path() -> AbstractMatcher[Any]:
    """``/api/orders/<the state's order id>/payments``."""
    return GenericMatcher(
        "regex", value=f"/api/orders/{ORDER_ID}/payments", regex=r"^/api/orders/[0-9]+/payments$",
        generator=generate.provider_state("/api/orders/${orderId}/payments"),
    )  # fmt: skip


def order_document(state: str, all_paid: bool) -> AbstractMatcher[Any]:
    """The seed's order as the app reads it: state and all_paid exact, the rest by type."""
    line = {
        "quantity": 2,
        "variant": {
            "id": 33, "options_text": "", "stocks_count": 999998, "display_price": "$50", "price": 50.0,
            "price_cents": 5000, "merchant": {"name": "Considine-Ryan", "avatar": IMAGE},
            "images": match.each_like(IMAGE, min=1),
        },
    }  # fmt: skip
    return match.like(
        {
            "id": match.integer(ORDER_ID),
            "state": GenericMatcher("equality", value=state),
            "all_paid": GenericMatcher("equality", value=all_paid),
            "display_item_total": "$400", "item_total": 400.0, "item_total_cents": 40000,
            "display_ship_total": "$0", "ship_total": 0.0, "ship_total_cents": 0,
            "display_total": "$400", "total": 400.0, "total_cents": 40000,
            "remarks": "this is a remarks",
            "ship_address": {**ADDRESS, "full_name": "Noemi Ullrich"},
            "line_items": match.each_like(line, min=1),
            "shipping_fee_items": match.each_like(
                {"merchant": "Considine-Ryan", "display_shipping_fee": "$0", "shipping_fee": 0.0,
                 "shipping_fee_cents": 0}, min=1),
        }
    )  # fmt: skip


def error_body() -> AbstractMatcher[Any]:
    """The contract's error body, matched by type."""
    return match.like({"error": "what went wrong", "code": "some_code", "details": []})


@contextmanager
def mobile(pact: Pact) -> Iterator[httpx.Client]:
    """Serve ``pact`` and yield the app's HTTP client on it, with the user's ID token."""
    with pact.serve(raises=True, verbose=False) as server:
        headers = {"Authorization": f"Bearer {ID_TOKEN}"}
        with httpx.Client(base_url=str(server.url).rstrip("/"), headers=headers, timeout=10) as http:
            yield http


def test_checkout_creates_the_seeds_order(mobile_pact: Pact) -> None:
    (
        mobile_pact.upon_receiving("the seed's order is created at checkout")
        .given("user U may order")
        .with_request("POST", "/api/v1/orders.json")
        .with_header("Authorization", bearer())
        .with_body(SEED_ORDER, "application/json")
        .will_respond_with(201)
        .with_body(order_document("payment", False), "application/json")
    )
    with mobile(mobile_pact) as http:
        order = http.post("/api/v1/orders.json", json=SEED_ORDER).json()
    assert (order["state"], order["all_paid"], order["display_total"]) == ("payment", False, "$400")


def test_a_paypal_reference_id_completes_the_order(mobile_pact: Pact) -> None:
    (
        mobile_pact.upon_receiving("a PayPal payment of the order's total is reported")
        .given(WAITING)
        .with_request("POST", payments_path())
        .with_header("Authorization", bearer())
        .with_body({"reference_id": from_state("${referenceId}", REFERENCE_ID)}, "application/json")
        .will_respond_with(201)
        .with_body(order_document("completed", True), "application/json")
    )
    with mobile(mobile_pact) as http:
        paid = http.post(f"/api/orders/{ORDER_ID}/payments", json={"reference_id": REFERENCE_ID}).json()
    assert (paid["state"], paid["all_paid"]) == ("completed", True)


def test_my_completed_orders(mobile_pact: Pact) -> None:
    (
        mobile_pact.upon_receiving("my completed orders")
        .given("user U has a completed order O")
        .with_request("GET", "/api/orders.json")
        .with_query_parameter("type", "completed")
        .with_header("Authorization", bearer())
        .will_respond_with(200)
        .with_body(
            {"total_pages": match.integer(1), "orders": match.each_like(order_document("completed", True), min=1)},
            "application/json",
        )  # fmt: skip
    )
    with mobile(mobile_pact) as http:
        page = http.get("/api/orders.json", params={"type": "completed"}).json()
    assert page["total_pages"] >= 1 and page["orders"][0]["all_paid"] is True


def test_short_stock_is_the_seeds_error(mobile_pact: Pact) -> None:
    short = {**SEED_ORDER, "line_items": [{"variant_id": 37, "quantity": 3}]}
    (
        mobile_pact.upon_receiving("an order of more than the stock")
        .given("user U may order")
        .with_request("POST", "/api/v1/orders.json")
        .with_header("Authorization", bearer())
        .with_body(short, "application/json")
        .will_respond_with(409)
        .with_body(
            {"errors": {"variants": ["Can't fulfill stock of Product Linen Shirt Variant Size:L"]}}, "application/json"
        )  # fmt: skip
    )
    with mobile(mobile_pact) as http:
        answer = http.post("/api/v1/orders.json", json=short)
    assert answer.status_code == 409 and answer.json()["errors"]["variants"]


def test_someone_elses_order_is_not_found(mobile_pact: Pact) -> None:
    (
        mobile_pact.upon_receiving("a payment of someone else's order")
        .given("order O of the seed belongs to another user")
        .with_request("POST", payments_path())
        .with_header("Authorization", bearer())
        .with_body({"reference_id": from_state("${referenceId}", REFERENCE_ID)}, "application/json")
        .will_respond_with(404)
        .with_body(error_body(), "application/json")
    )
    with mobile(mobile_pact) as http:
        answer = http.post(f"/api/orders/{ORDER_ID}/payments", json={"reference_id": REFERENCE_ID})
    assert answer.status_code == 404


def test_no_token_is_unauthorized(mobile_pact: Pact) -> None:
    (
        mobile_pact.upon_receiving("my orders without a token")
        .with_request("GET", "/api/orders")
        .will_respond_with(401)
        .with_body(error_body(), "application/json")
    )
    with mobile(mobile_pact) as http:
        answer = http.get("/api/orders", headers={"Authorization": ""})
    assert answer.status_code == 401
