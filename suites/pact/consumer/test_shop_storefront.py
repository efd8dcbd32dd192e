"""A storefront's interactions with the shop API (``ShopClient``): the pact of ``villa-storefront`` with ``villa-shop``.

Happy flows of seeds 002 and 003 first (token key, cart, redirect and direct checkout, orders,
attempts), then the errors a storefront handles: an empty cart (400), no token key (401), someone
else's order (404), a paid order to pay (409). Keys, ids and the password are provider-state
generators: the provider's state makes them and the verifier injects them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from pact import Pact, generate, match
from pact.match.matcher import AbstractMatcher, GenericMatcher

from suites.pact.consumer.interactions import from_state
from villa_contracts.client import ShopClient
from villa_contracts.errors import ApiError

TOKEN_KEY = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
ORDER_KEY = "ORD-2026-000001"
EXTERNAL_ID = "pay_5b1e0c6a9d2f4e7c8a3b"
ADDRESS_ID = 1001
KEY_PATTERN = r"^ORD-[0-9]{4}-[0-9]{6}$"
IDENTITY = "user:7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11"
READY = "customer C is ready to check out one 25281"
HELD = "customer C has an order O waiting for payment"


def token_key() -> AbstractMatcher[Any]:
    """The ``Authorization`` header: a token key, replayed with the state's ``${tokenKey}``."""
    return GenericMatcher(
        "regex", value=f"Token {TOKEN_KEY}", regex=r"^Token [0-9a-f]{40}$",
        generator=generate.provider_state("Token ${tokenKey}"),
    )  # fmt: skip


def order_key() -> AbstractMatcher[Any]:
    """The state's order key."""
    return GenericMatcher("regex", value=ORDER_KEY, regex=KEY_PATTERN, generator=generate.provider_state("${orderKey}"))


def order_path(suffix: str = "") -> AbstractMatcher[Any]:
    """``/api/shop/orders/<the state's order key><suffix>``."""
    pattern = rf"^/api/shop/orders/ORD-[0-9]{{4}}-[0-9]{{6}}{suffix}$"
    return GenericMatcher(
        "regex", value=f"/api/shop/orders/{ORDER_KEY}{suffix}", regex=pattern,
        generator=generate.provider_state(f"/api/shop/orders/${{orderKey}}{suffix}"),
    )  # fmt: skip


def error_body() -> AbstractMatcher[Any]:
    """The seed's error body (``error``), matched by type."""
    return match.like({"error": "what went wrong", "code": "some_code", "details": []})


LINE = {"product_id": 25281, "name": "Villa Fresh Milk 2L", "quantity": 1, "unit_price": "79.00", "line_total": "79.00"}


def order_document(status: str = "HOLD") -> AbstractMatcher[Any]:
    """An order as the storefront reads it, matched by type (the key by pattern)."""
    return match.like(
        {
            "order_key": match.regex(ORDER_KEY, regex=KEY_PATTERN),
            "status": status,
            "customer": IDENTITY,
            "created_at": 1767139200.5,
            "updated_at": 1767139200.5,
            "items": match.each_like(LINE, min=1),
            "items_total": "79.00",
            "shipping_fee": "95.00",
            "total": "174.00",
            "currency": "THB",
            "notes": "",
            "address": {"id": ADDRESS_ID, "line1": "168 Sukhumvit 33 Road", "line2": "", "city": "Bangkok",
                        "postcode": "10110", "phone": "0812345678"},
            "billing": {"name": "Pact Customer", "phone": "0812345678", "email": "pact@villa.example"},
            "payment_method": {"id": 1, "name": "Card or QR via the payment gateway", "kind": "redirect"},
            "shipping_method": {"id": 2, "name": "Standard delivery (cold chain)"},
            "paid": False,
            "paid_at": None,
            "snapshot": None,
        }
    )  # fmt: skip


@contextmanager
def storefront(pact: Pact, *, token: str | None = TOKEN_KEY) -> Iterator[ShopClient]:
    """Serve ``pact`` and yield a ``ShopClient`` on it holding a token key."""
    with pact.serve(raises=True, verbose=False) as server, httpx.Client(timeout=10) as http:
        yield ShopClient(str(server.url).rstrip("/"), http=http, token=token)


def request(pact: Pact, description: str, method: str, path: Any, *, auth: bool = True) -> Any:
    """An interaction with the customer's token key (unless ``auth`` is false)."""
    interaction = pact.upon_receiving(description).with_request(method, path)
    return interaction.with_header("Authorization", token_key()) if auth else interaction


def test_obtain_a_token_key(shop_pact: Pact) -> None:
    body = {
        "username": from_state("${username}", "pact@villa.example"),
        "password": from_state("${password}", "<the state's>"),
    }
    (
        request(shop_pact, "a request for a token key", "POST", "/api/shop/auth/token", auth=False)
        .with_body(body, "application/json")
        .given("a user U with a password")
        .will_respond_with(200)
        .with_body(
            {"token": match.regex(TOKEN_KEY, regex=r"^[0-9a-f]{40}$"), "customer": match.like(IDENTITY)},
            "application/json",
        )  # fmt: skip
    )
    with storefront(shop_pact, token=None) as shop:
        assert shop.login("pact@villa.example", "<the state's>") == IDENTITY
        assert shop.token == TOKEN_KEY


def test_add_an_item_to_the_cart(shop_pact: Pact) -> None:
    cart = {"items": match.each_like(LINE, min=1), "item_count": 1, "items_total": "79.00", "currency": "THB"}
    (
        request(shop_pact, "a request to add one 25281 to the cart", "POST", "/api/shop/cart/items")
        .with_body({"product_id": 25281, "quantity": 1}, "application/json")
        .given("customer C has a token key")
        .will_respond_with(200)
        .with_body(match.like(cart), "application/json")
    )
    with storefront(shop_pact) as shop:
        assert shop.add_item(25281, 1)["items_total"] == "79.00"


def checkout(shop_pact: Pact, description: str, given: str, payment_method: int, shipping_method: int) -> Any:
    """A checkout of the cart to the provider state's address (``${addressId}``), in the state ``given``."""
    address = from_state("${addressId}", ADDRESS_ID, "integer")
    body = {"address": address, "payment_method": payment_method, "shipping_method": shipping_method}
    interaction = request(shop_pact, description, "POST", "/api/shop/checkout/cart")
    return interaction.with_body(body, "application/json").given(given)


def test_redirect_checkout(shop_pact: Pact) -> None:
    (
        checkout(shop_pact, "a redirect checkout of the cart", READY, 1, 2)
        .will_respond_with(200)
        .with_body(
            {
                "next_step": match.regex(
                    f"http://127.0.0.1:8080/mock/gateway/{EXTERNAL_ID}", regex=r"^https?://\S+/pay_[0-9a-f]{20}$"
                )
            },
            "application/json",
        )  # fmt: skip
    )
    with storefront(shop_pact) as shop:
        result = shop.checkout(address=ADDRESS_ID, payment_method=1, shipping_method=2)
        assert result.external_id == EXTERNAL_ID and result.order_key is None


def test_direct_checkout(shop_pact: Pact) -> None:
    (
        checkout(
            shop_pact, "a cash-on-delivery checkout of the cart", "customer C is ready to check out one 188468", 3, 6
        )
        .will_respond_with(200)
        .with_body({"order_key": match.regex(ORDER_KEY, regex=KEY_PATTERN)}, "application/json")
    )
    with storefront(shop_pact) as shop:
        assert shop.checkout(address=ADDRESS_ID, payment_method=3, shipping_method=6).order_key == ORDER_KEY


def test_checkout_of_an_empty_cart(shop_pact: Pact) -> None:
    empty = "customer C has an empty cart, a completed profile and an address"
    (
        checkout(shop_pact, "a checkout of an empty cart", empty, 1, 2)
        .will_respond_with(400)
        .with_body(error_body(), "application/json")
    )
    with storefront(shop_pact) as shop, pytest.raises(ApiError) as refused:
        shop.checkout(address=ADDRESS_ID, payment_method=1, shipping_method=2)
    assert refused.value.status_code == 400


def test_checkout_without_a_token_key(shop_pact: Pact) -> None:
    (
        request(shop_pact, "a checkout without a token key", "POST", "/api/shop/checkout/cart", auth=False)
        .with_body({"address": 123, "payment_method": 1, "shipping_method": 2}, "application/json")
        .will_respond_with(401)
        .with_body(error_body(), "application/json")
    )
    with storefront(shop_pact, token=None) as shop, pytest.raises(ApiError) as refused:
        shop.checkout(address=123, payment_method=1, shipping_method=2)
    assert refused.value.status_code == 401


def test_list_the_orders(shop_pact: Pact) -> None:
    page = {"count": 1, "page": 1, "page_size": 10, "total_pages": 1, "results": match.each_like(order_document())}
    (
        request(shop_pact, "a request for the first page of orders", "GET", "/api/shop/orders")
        .with_query_parameters({"page": "1", "page_size": "10"})
        .given(HELD)
        .will_respond_with(200)
        .with_body(match.like(page), "application/json")
    )
    with storefront(shop_pact) as shop:
        assert shop.orders()["results"][0]["status"] == "HOLD"


def test_read_an_order(shop_pact: Pact) -> None:
    (
        request(shop_pact, "a request for order O", "GET", order_path())
        .given(HELD)
        .will_respond_with(200)
        .with_body(order_document(), "application/json")
    )  # fmt: skip
    with storefront(shop_pact) as shop:
        assert shop.order(ORDER_KEY)["total"] == "174.00"


def answered_error(interaction: Any, status: int, given: str) -> None:
    """``interaction``, in the provider state ``given``, answered ``status`` with the contract's error body."""
    interaction.given(given).will_respond_with(status).with_body(error_body(), "application/json")


def test_someone_elses_order_is_not_found(shop_pact: Pact) -> None:
    foreign = request(shop_pact, "a request for another customer's order O", "GET", order_path())
    answered_error(foreign, 404, "order O belongs to another customer")
    with storefront(shop_pact) as shop, pytest.raises(ApiError) as refused:
        shop.order(ORDER_KEY)
    assert refused.value.status_code == 404


def test_a_new_payment_attempt(shop_pact: Pact) -> None:
    step = match.regex(f"http://127.0.0.1:8080/mock/gateway/{EXTERNAL_ID}", regex=r"^https?://\S+$")
    started = {
        "external_id": match.regex(EXTERNAL_ID, regex=r"^pay_[0-9a-f]{20}$"),
        "status": "PENDING",
        "next_step": step,
    }
    (
        request(shop_pact, "a request for a new payment attempt on order O", "POST", order_path("/attempts"))
        .given(HELD)
        .will_respond_with(201)
        .with_body(started, "application/json")
    )  # fmt: skip
    with storefront(shop_pact) as shop:
        assert shop.new_attempt(ORDER_KEY).external_id == EXTERNAL_ID


def test_the_attempts_of_an_order(shop_pact: Pact) -> None:
    attempt = {"external_id": match.regex(EXTERNAL_ID, regex=r"^pay_[0-9a-f]{20}$"), "status": "PENDING",
               "amount": 17400, "currency": "THB", "created_at": 1767139200.5, "log": []}  # fmt: skip
    (
        request(shop_pact, "a request for the payment attempts of order O", "GET", order_path("/attempts"))
        .given(HELD)
        .will_respond_with(200)
        .with_body({"results": match.each_like(attempt)}, "application/json")
    )  # fmt: skip
    with storefront(shop_pact) as shop:
        assert shop.attempts(ORDER_KEY)[0]["status"] == "PENDING"


def test_a_paid_order_has_nothing_to_pay(shop_pact: Pact) -> None:
    answered_error(
        request(shop_pact, "a request to pay paid order O", "GET", order_path("/pay")),
        409,
        "customer C has a paid order O",
    )
    with storefront(shop_pact) as shop, pytest.raises(ApiError) as refused:
        shop.order_to_pay(ORDER_KEY)
    assert refused.value.status_code == 409
