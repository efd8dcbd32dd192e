"""The shop's cart checkout (seed 002): the seed's example, each validation rule, the payment service, hostile input.

The helpers at the top (token keys, cart, checkout, a stock probe, a real-socket server) are shared
with ``test_shop_orders``. Free stock is read through the API: a throw-away guest puts 9999 units of
a product in its cart, and the checkout's stock refusal says how many units are left (the stock
rule runs before the profile rule, so the guest needs nothing else).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from mock_server.state import MockState
from tests.fixtures.mock import User
from villa_contracts.contract import load

USERS: list[dict[str, Any]] = load().data("users")
SHOP: dict[str, Any] = load().data("shop")
CATALOG: dict[str, Any] = load().data("catalog")
GATEWAY_KEY: str = SHOP["gateway_key"]

MILK, RICE, SALMON = 25281, 188468, 231150
"""Chilled (500 at branch 1000), dry (300), chilled with only 3 units at branch 1000."""
REDIRECT, CASH_ON_DELIVERY, RETIRED_PAYMENT, OUT_OF_SERVICE = 1, 3, 4, 5
COLD_CHAIN, MOTORBIKE, POST_OFFICE = 2, 6, 7
TEST_USER_ADDRESS, SECOND_USER_ADDRESS = 123, 124
SEED_BODY: dict[str, Any] = {
    "address": 123,
    "payment_method": 1,
    "shipping_method": 2,
    "notes": "Please deliver after 5 PM",
}
"""Seed 002's example body, exactly."""

ORDER_KEY = re.compile(r"ORD-\d{4}-\d{6}")
EXTERNAL_ID = re.compile(r"pay_[0-9a-f]{20}")


# --- helpers (shared with test_shop_orders) ------------------------------------------------------


def stock_at_store(product: int) -> int:
    """The catalog's stock of ``product`` at the store's branch (contracts/data/catalog.yaml)."""
    return int(CATALOG["products"][product]["prices"][SHOP["branch"]]["stock"])


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def user_key(client: httpx.Client, index: int = 0) -> str:
    """A token key for the contract's test user ``index`` (its password from users.yaml)."""
    user = USERS[index]
    response = client.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def guest_key(client: httpx.Client) -> str:
    response = client.post("/api/shop/auth/guest")
    assert response.status_code == 201, response.text
    assert response.json()["customer"].startswith("guest:")
    return str(response.json()["token"])


def new_user_key(client: httpx.Client, username: str) -> str:
    """A user created through the admin API (no shop profile yet) and its token key."""
    password = "Passw0rd!x"
    created = client.post("/__admin/users", json={"username": username, "password": password, "email": username})
    assert created.status_code == 201, created.text
    response = client.post("/api/shop/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def complete_profile(client: httpx.Client, key: str, name: str = "Guest") -> int:
    """Complete the caller's profile and add an address; answer the address id."""
    profile = {"first_name": name, "last_name": "Shopper", "phone": "0811111111", "email": "guest@villa.example"}
    response = client.put("/api/shop/profile", json=profile, headers=auth(key))
    assert response.status_code == 200 and response.json()["completed"] is True, response.text
    address = {"line1": "99 Soi Thonglor 10", "city": "Bangkok", "postcode": "10110", "phone": "0811111111"}
    response = client.post("/api/shop/addresses", json=address, headers=auth(key))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def add_to_cart(client: httpx.Client, key: str, product: int, quantity: int = 1) -> dict[str, Any]:
    response = client.post(
        "/api/shop/cart/items", json={"product_id": product, "quantity": quantity}, headers=auth(key)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def get_cart(client: httpx.Client, key: str) -> dict[str, Any]:
    response = client.get("/api/shop/cart", headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def checkout(
    client: httpx.Client,
    key: str,
    *,
    address: int = TEST_USER_ADDRESS,
    payment: int = REDIRECT,
    shipping: int = COLD_CHAIN,
    **extra: Any,
) -> httpx.Response:
    body = {"address": address, "payment_method": payment, "shipping_method": shipping, **extra}
    return client.post("/api/shop/checkout/cart", json=body, headers=auth(key))


def order_page(client: httpx.Client, key: str, **params: int) -> dict[str, Any]:
    response = client.get("/api/shop/orders", params=params, headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def newest_order(client: httpx.Client, key: str) -> dict[str, Any]:
    results = order_page(client, key)["results"]
    assert results, "the caller has no order"
    return dict(results[0])


def get_order(client: httpx.Client, key: str, order_key: str) -> dict[str, Any]:
    response = client.get(f"/api/shop/orders/{order_key}", headers=auth(key))
    assert response.status_code == 200, response.text
    return dict(response.json())


def attempts_of(client: httpx.Client, key: str, order_key: str) -> list[dict[str, Any]]:
    response = client.get(f"/api/shop/orders/{order_key}/attempts", headers=auth(key))
    assert response.status_code == 200, response.text
    return list(response.json()["results"])


def decide(client: httpx.Client, next_step: str, action: str) -> dict[str, Any]:
    """The payer presses a button on the gateway's page (a form post, as a browser sends it)."""
    response = client.post(next_step, data={"action": action})
    assert response.status_code == 200, response.text
    return dict(response.json())


def callback(
    client: httpx.Client,
    external_id: str,
    *,
    amount: int,
    status: str = "PAID",
    currency: str = "THB",
    gateway_key: str | None = GATEWAY_KEY,
) -> httpx.Response:
    headers = {} if gateway_key is None else {"X-Gateway-Key": gateway_key}
    body = {"external_id": external_id, "status": status, "total_amount": amount, "currency": currency}
    return client.post("/api/shop/payments/callback", json=body, headers=headers)


def free_units(client: httpx.Client, product: int) -> int:
    """Units of ``product`` the store has left, as the checkout's stock rule sees them."""
    probe = guest_key(client)
    add_to_cart(client, probe, product, 9999)
    response = checkout(client, probe)
    assert response.status_code == 400, response.text
    found = re.search(rf"\({product}\): 9999 in the cart, (-?\d+) left$", response.json()["error"])
    assert found, response.text
    return int(found.group(1))


def mock_bugs(client: httpx.Client) -> int:
    return int(client.get("/__admin/journal").json()["mockBugs"])


@dataclass
class LiveShop:
    """The whole mock on a real 127.0.0.1 socket, and its state."""

    base_url: str
    state: MockState

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, trust_env=False)


@contextmanager
def serve_shop(db_path: str | None = None) -> Iterator[LiveShop]:
    """Serve ``create_app`` (in memory, or in the SQLite file ``db_path``) on a real socket."""
    apps = []

    def build(base_url: str) -> Any:
        app = create_app(base_url=base_url, db_path=db_path)
        apps.append(app)
        return app

    with serve_in_thread(build) as server:
        yield LiveShop(server.base_url, apps[0].state.mock)
    apps[0].state.mock.store.close()


@pytest.fixture
def live() -> Iterator[LiveShop]:
    with serve_shop() as shop:
        yield shop


# 1. The seed's own example.


def test_the_seeds_example_is_a_redirect_checkout(api: TestClient) -> None:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    response = api.post("/api/shop/checkout/cart", json=SEED_BODY, headers={"Authorization": f"Token {key}"})
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["next_step"]
    assert re.fullmatch(rf"http://testserver/mock/gateway/{EXTERNAL_ID.pattern}", response.json()["next_step"])
    order = newest_order(api, key)
    assert order["status"] == "HOLD" and order["paid"] is False and order["snapshot"] is None
    assert order["notes"] == "Please deliver after 5 PM"
    assert (order["address"]["id"], order["payment_method"]["id"], order["shipping_method"]["id"]) == (123, 1, 2)
    assert (order["items_total"], order["shipping_fee"], order["total"]) == ("79.00", "95.00", "174.00")
    assert get_cart(api, key)["item_count"] == 1  # the cart is deleted only after payment


@pytest.mark.parametrize("shipping", [COLD_CHAIN, MOTORBIKE])
def test_cash_on_delivery_is_processed_at_once(api: TestClient, shipping: int) -> None:
    key = user_key(api)
    before = free_units(api, RICE)
    add_to_cart(api, key, RICE, 2)
    response = checkout(api, key, payment=CASH_ON_DELIVERY, shipping=shipping, notes="Please deliver after 5 PM")
    assert response.status_code == 200, response.text
    assert list(response.json()) == ["order_key"]
    order_key = response.json()["order_key"]
    assert ORDER_KEY.fullmatch(order_key)
    order = get_order(api, key, order_key)
    assert (order["status"], order["paid"], order["payment_method"]["kind"]) == ("PROCESSING", True, "direct")
    assert order["paid_at"] is not None
    assert order["snapshot"]["items"] == order["items"] and order["snapshot"]["payment_external_id"] is None
    assert get_cart(api, key) == {"items": [], "item_count": 0, "items_total": "0.00", "currency": "THB"}
    assert free_units(api, RICE) == before - 2
    assert attempts_of(api, key, order_key) == []


@pytest.mark.socket
def test_the_seeds_curl_command_runs_as_written(live: LiveShop) -> None:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("the curl executable is not installed, so the seed's curl command cannot be run")
    with live.client() as client:
        key = user_key(client)
        add_to_cart(client, key, MILK)
        # Seed 002's curl example verbatim; only the host and the key placeholder are filled in.
        command = (
            'curl -X POST "http://www.example.com/api/shop/checkout/cart" -H "Authorization: Token <your_api_key>" '
            '-H "Content-Type: application/json" -d \'{\n "address": 123,\n "payment_method": 1,\n'
            ' "shipping_method": 2,\n "notes": "Please deliver after 5 PM"\n}\''
        )
        command = command.replace("http://www.example.com", live.base_url).replace("<your_api_key>", key)
        env = {name: value for name, value in os.environ.items() if "proxy" not in name.lower()}
        done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, env=env, check=False)
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert list(answer) == ["next_step"], done.stdout
        assert answer["next_step"].startswith(f"{live.base_url}/mock/gateway/pay_")
        order = newest_order(client, key)
        assert (order["status"], order["notes"], order["total"]) == ("HOLD", "Please deliver after 5 PM", "174.00")
        page = client.get(answer["next_step"])
        assert page.status_code == 200 and order["order_key"] in page.text


# 2. Each validation rule of seed 002: its own 400, and nothing created.


@dataclass
class Refusal:
    """A checkout that breaks one rule: the caller, the body, the message fragment the rule answers with."""

    key: str
    body: dict[str, Any]
    fragment: str


def _empty_cart(api: TestClient) -> Refusal:
    return Refusal(user_key(api), SEED_BODY, "the cart is empty")


def _not_enough_stock(api: TestClient) -> Refusal:
    key, stock = user_key(api), stock_at_store(MILK)
    add_to_cart(api, key, MILK, stock + 1)
    fragment = f"not enough stock of Villa Fresh Milk 2L ({MILK}): {stock + 1} in the cart, {stock} left"
    return Refusal(key, SEED_BODY, fragment)


def _guest_profile_incomplete(api: TestClient) -> Refusal:
    key = guest_key(api)
    add_to_cart(api, key, MILK)
    return Refusal(key, SEED_BODY, "your profile is not complete")


def _new_user_profile_incomplete(api: TestClient) -> Refusal:
    key = new_user_key(api, "fresh.user@villa.example")
    add_to_cart(api, key, MILK)
    return Refusal(key, SEED_BODY, "your profile is not complete")


def _address_of_another_customer(api: TestClient) -> Refusal:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    return Refusal(key, {**SEED_BODY, "address": SECOND_USER_ADDRESS}, "address 124 is not one of your addresses")


def _inactive_payment_method(api: TestClient) -> Refusal:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    return Refusal(key, {**SEED_BODY, "payment_method": RETIRED_PAYMENT}, "payment method 4 is not active")


def _payment_method_without_chilled(api: TestClient) -> Refusal:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    body = {**SEED_BODY, "payment_method": CASH_ON_DELIVERY}
    return Refusal(key, body, "payment method 3 (Cash on delivery) does not support chilled goods")


def _inactive_shipping_method(api: TestClient) -> Refusal:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    return Refusal(key, {**SEED_BODY, "shipping_method": POST_OFFICE}, "shipping method 7 is not active")


def _shipping_method_without_chilled(api: TestClient) -> Refusal:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    return Refusal(key, {**SEED_BODY, "shipping_method": MOTORBIKE}, "shipping method 6 (Motorbike express)")


RULES = {
    "cart_not_empty": _empty_cart,
    "in_stock": _not_enough_stock,
    "profile_complete": _guest_profile_incomplete,
    "address_of_caller": _address_of_another_customer,
    "payment_method_active": _inactive_payment_method,
    "payment_method_supports": _payment_method_without_chilled,
    "shipping_method_active": _inactive_shipping_method,
    "shipping_method_supports": _shipping_method_without_chilled,
}
BREAKERS = {**RULES, "profile_complete_new_user": _new_user_profile_incomplete}


def _refused(api: TestClient, refusal: Refusal) -> str:
    """Check out; assert a 400 that changed nothing; answer the message."""
    cart = get_cart(api, refusal.key)
    stock = {product: free_units(api, product) for product in (MILK, RICE)}
    response = api.post("/api/shop/checkout/cart", json=refusal.body, headers=auth(refusal.key))
    assert response.status_code == 400, response.text
    message = str(response.json()["error"])
    assert refusal.fragment in message, message
    assert order_page(api, refusal.key)["count"] == 0
    assert get_cart(api, refusal.key) == cart
    assert {product: free_units(api, product) for product in (MILK, RICE)} == stock
    return message


@pytest.mark.parametrize("rule", list(BREAKERS))
def test_a_checkout_breaking_a_rule_is_a_400_that_creates_nothing(api: TestClient, rule: str) -> None:
    _refused(api, BREAKERS[rule](api))
    assert mock_bugs(api) == 0


def test_every_rule_has_its_own_message(api: TestClient) -> None:
    messages = {}
    for rule, make in RULES.items():
        assert api.post("/__admin/reset").status_code == 200  # one rule broken at a time
        messages[rule] = _refused(api, make(api))
    for (rule_a, a), (rule_b, b) in combinations(messages.items(), 2):
        assert a != b, f"{rule_a} and {rule_b} answer the same message: {a!r}"


def test_the_rules_apply_in_the_seeds_order(api: TestClient) -> None:
    # A guest with an incomplete profile, too much stock, and every id wrong: the stock rule answers first.
    key = guest_key(api)
    add_to_cart(api, key, SALMON, stock_at_store(SALMON) + 1)
    response = checkout(api, key, address=SECOND_USER_ADDRESS, payment=RETIRED_PAYMENT, shipping=POST_OFFICE)
    assert response.status_code == 400 and "not enough stock" in response.json()["error"]


def test_an_unknown_address_answers_like_another_customers(api: TestClient) -> None:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    theirs = checkout(api, key, address=SECOND_USER_ADDRESS).json()["error"]
    missing = checkout(api, key, address=999_999).json()["error"]
    assert missing == theirs.replace("124", "999999")


# 3. The payment service down: 503 and nothing created.


def _nothing_created(api: TestClient, key: str, cart: dict[str, Any], free: int) -> None:
    assert order_page(api, key)["count"] == 0
    assert get_cart(api, key) == cart
    assert free_units(api, MILK) == free


def test_a_payment_method_that_is_down_is_a_503_that_creates_nothing(api: TestClient) -> None:
    key = user_key(api)
    cart, free = add_to_cart(api, key, MILK, 2), free_units(api, MILK)
    response = checkout(api, key, payment=OUT_OF_SERVICE)
    assert response.status_code == 503, response.text
    assert "unavailable" in response.json()["error"]
    _nothing_created(api, key, cart, free)
    assert checkout(api, key, payment=REDIRECT).status_code == 200  # the other gateway still works


def test_the_admin_switch_takes_the_payment_service_down_and_up(api: TestClient) -> None:
    key = user_key(api)
    cart, free = add_to_cart(api, key, MILK, 2), free_units(api, MILK)
    assert api.put("/__admin/payment-service", json={"up": False}).json() == {"up": False}
    assert api.get("/__admin/payment-service").json() == {"up": False}
    response = api.post("/api/shop/checkout/cart", json=SEED_BODY, headers=auth(key))
    assert response.status_code == 503, response.text
    _nothing_created(api, key, cart, free)
    assert api.put("/__admin/payment-service", json={"up": True}).json() == {"up": True}
    response = checkout(api, key, notes="again")
    assert response.status_code == 200 and "next_step" in response.json(), response.text
    assert order_page(api, key)["count"] == 1
    assert free_units(api, MILK) == free - 2
    assert mock_bugs(api) == 0
    api.put("/__admin/payment-service", json={"up": False})
    api.post("/__admin/reset")
    assert api.get("/__admin/payment-service").json() == {"up": True}  # a reset brings it back up


def test_a_direct_payment_needs_no_payment_service(api: TestClient) -> None:
    # The admin contract: the switch takes the *redirect* payments down; cash on delivery goes on.
    key = user_key(api)
    add_to_cart(api, key, RICE)
    api.put("/__admin/payment-service", json={"up": False})
    response = checkout(api, key, payment=CASH_ON_DELIVERY)
    assert response.status_code == 200 and ORDER_KEY.fullmatch(response.json()["order_key"]), response.text


# 9. Hostile input on the shop's endpoints: a 4xx JSON error, never a 500.


def _hostile_requests(key: str) -> list[tuple[int, str, str, dict[str, Any]]]:
    """(expected status, method, path, request) of each hostile request."""
    bearer = {"Authorization": f"Bearer {key}"}
    json_type = {**auth(key), "content-type": "application/json"}
    text_type = {**auth(key), "content-type": "text/plain"}
    checkout_url, items = "/api/shop/checkout/cart", "/api/shop/cart/items"
    return [
        (400, "POST", checkout_url, {"content": b'{"address": 123, "payment_method": ', "headers": json_type}),
        (400, "POST", checkout_url, {"content": b"\xff\xfe{}", "headers": json_type}),
        (400, "POST", checkout_url, {"content": b"[" * 10_000 + b"]" * 10_000, "headers": json_type}),
        (415, "POST", checkout_url, {"content": b"address=123", "headers": text_type}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "address": "123"}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "payment_method": 1.5}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "shipping_method": True}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "notes": ["x"]}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "notes": "x" * 501}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "address": -1}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "payment_method": 0}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "shipping_method": 10**30}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": {**SEED_BODY, "coupon": "FREE"}, "headers": auth(key)}),
        (400, "POST", checkout_url, {"json": [SEED_BODY], "headers": auth(key)}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": bearer}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": {"Authorization": "Basic dGVzdDp0ZXN0"}}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": {"Authorization": "Token"}}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": {"Authorization": f"Token {key}0"}}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": {"Authorization": "Token " + "a" * 5000}}),
        (401, "POST", checkout_url, {"json": SEED_BODY, "headers": {"Authorization": f"Token{key}"}}),
        (401, "POST", checkout_url, {"json": SEED_BODY}),
        (400, "POST", items, {"json": {"product_id": MILK, "quantity": 10**30}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": MILK, "quantity": 1e308}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": MILK, "quantity": 10_000}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": MILK, "quantity": -3}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": -25281, "quantity": 1}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": 10**30, "quantity": 1}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": "25281", "quantity": "1"}, "headers": auth(key)}),
        (404, "POST", items, {"json": {"product_id": 999_999, "quantity": 1}, "headers": auth(key)}),
        (400, "POST", items, {"json": {"product_id": MILK, "quantity": 9999}, "headers": auth(key)}),
        (400, "PATCH", f"{items}/-1", {"json": {"quantity": 1}, "headers": auth(key)}),
        (400, "PATCH", f"{items}/{MILK}", {"json": {"quantity": 99_999_999_999}, "headers": auth(key)}),
        (404, "DELETE", f"{items}/{RICE}", {"headers": auth(key)}),
        (400, "DELETE", f"{items}/abc", {"headers": auth(key)}),
        (400, "PUT", "/api/shop/profile", {"json": {"phone": "call me"}, "headers": auth(key)}),
        (400, "PUT", "/api/shop/profile", {"json": {"first_name": "x" * 101}, "headers": auth(key)}),
        (400, "POST", "/api/shop/addresses", {"json": {"line1": "x", "city": "y", "postcode": "1011", "phone": "0"},
                                         "headers": auth(key)}),  # fmt: skip
        (400, "GET", "/api/shop/orders?page=0", {"headers": auth(key)}),
        (400, "GET", "/api/shop/orders?page_size=101", {"headers": auth(key)}),
        (400, "GET", "/api/shop/orders?page=abc", {"headers": auth(key)}),
        (401, "GET", "/api/shop/orders", {"headers": bearer}),
        (400, "GET", "/api/shop/orders/ORD-1", {"headers": auth(key)}),
        (404, "GET", "/api/shop/orders/ORD-2026-999999/pay", {"headers": auth(key)}),
        (404, "POST", "/api/shop/orders/ORD-2026-999999/attempts", {"headers": auth(key)}),
        (400, "POST", "/api/shop/auth/token", {"json": {"username": "test.user@villa.example", "password": "wrong"}}),
        (400, "POST", "/api/shop/auth/token", {"json": {"username": "", "password": ""}}),
        (400, "POST", "/api/shop/auth/token", {"json": {"username": ["x"], "password": {"$ne": None}}}),
        (400, "POST", "/api/shop/payments/callback", {"json": {"external_id": "pay_x", "status": "PAID",
                                                          "total_amount": -1, "currency": "THB"},
                                                 "headers": {"X-Gateway-Key": GATEWAY_KEY}}),
        (400, "POST", "/api/shop/payments/callback", {"json": {"external_id": "pay_x", "status": "REFUNDED",
                                                          "total_amount": 1, "currency": "THB"},
                                                 "headers": {"X-Gateway-Key": GATEWAY_KEY}}),
        (400, "POST", "/api/shop/payments/callback", {"json": {"external_id": "pay_x", "status": "PAID",
                                                          "total_amount": 1e300, "currency": "thb"},
                                                 "headers": {"X-Gateway-Key": GATEWAY_KEY}}),
        (400, "POST", "/api/shop/payments/callback", {"json": {"external_id": "p" * 65, "status": "PAID",
                                                          "total_amount": 1, "currency": "THB"},
                                                 "headers": {"X-Gateway-Key": GATEWAY_KEY}}),
        (400, "GET", "/mock/gateway/pay_not-an-id", {}),
        (400, "POST", "/mock/gateway/pay_0123456789abcdef0123", {"data": {"action": "steal"}}),
        (400, "POST", "/mock/gateway/pay_0123456789abcdef0123",
         {"content": b"action=%ff%fe", "headers": {"content-type": "application/x-www-form-urlencoded"}}),
        (400, "PUT", "/__admin/payment-service", {"json": {"up": "false"}}),
    ]  # fmt: skip


def test_hostile_input_is_a_4xx_json_error_never_a_500(api: TestClient) -> None:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    cart, free = get_cart(api, key), free_units(api, MILK)
    for expected, method, path, request in _hostile_requests(key):
        response = api.request(method, path, **request)
        assert response.status_code == expected, (method, path, request.get("json"), response.text)
        assert response.headers["content-type"].startswith("application/json"), (method, path)
        assert isinstance(response.json()["error"], str) and response.json()["error"], (method, path)
        assert key not in response.text, (method, path)
    assert mock_bugs(api) == 0
    assert order_page(api, key)["count"] == 0
    assert get_cart(api, key) == cart
    assert free_units(api, MILK) == free
    assert api.get("/__admin/payment-service").json() == {"up": True}


@pytest.mark.parametrize(
    "authorization",
    ["Bearer {key}", "Basic dGVzdC51c2VyOlZpbGxhVGVzdDEyMyE=", "token-{key}", "Token {key} extra", "{key}", ""],
)
def test_only_a_token_key_authenticates(api: TestClient, authorization: str) -> None:
    key = user_key(api)
    response = api.get("/api/shop/cart", headers={"Authorization": authorization.format(key=key)})
    assert response.status_code == 401, response.text
    assert response.json()["code"] == "unauthorized" and key not in response.text
    assert api.get("/api/shop/cart", headers={"Authorization": f"token {key}"}).status_code == 200  # DRF: any case


def test_a_cognito_id_token_is_not_a_token_key(api: TestClient, alice: User) -> None:
    response = api.get("/api/shop/cart", headers={"Authorization": f"Token {alice.id_token}"})
    assert response.status_code == 401
    assert api.get("/api/shop/cart", headers=alice.headers).status_code == 401


def test_notes_of_500_characters_are_accepted_and_501_refused(api: TestClient) -> None:
    key = user_key(api)
    add_to_cart(api, key, MILK)
    assert checkout(api, key, notes="x" * 501).status_code == 400
    assert order_page(api, key)["count"] == 0
    response = checkout(api, key, notes="é" * 500)
    assert response.status_code == 200, response.text
    assert newest_order(api, key)["notes"] == "é" * 500
