"""Plain-HTTP probes of the shop's planted faults (``tests.fixtures.faults_shop``): True when the fault shows.

Each probe makes fresh customers (the two contract users' token keys, new guests), so probes never
depend on each other. ``PROBES`` maps a fault's name to its probe.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import httpx

from villa_contracts.contract import load

CHILLED, DRY = 25281, 188468
PROFILE = {"first_name": "Probe", "last_name": "Customer", "phone": "0812345678", "email": "probe@villa.example"}
ADDRESS = {"line1": "1 Probe Road", "city": "Bangkok", "postcode": "10110", "phone": "0812345678"}


class HasHttp(Protocol):
    """What a probe needs of the faults test's ``Api``: its HTTP client on the served mock, and new tokens."""

    http: httpx.Client

    def relogin(self) -> None:
        """Log the faults test's users in again (after a probe moved the shared mock's clock)."""


class Customer:
    """A new guest with a completed profile and an address, ready to check out."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.headers = {"Authorization": f"Token {http.post('/api/shop/auth/guest').json()['token']}"}
        assert self.put("/api/shop/profile", PROFILE).status_code == 200
        self.address = int(self.post("/api/shop/addresses", ADDRESS).json()["id"])

    def get(self, path: str) -> httpx.Response:
        return self.http.get(path, headers=self.headers)

    def post(self, path: str, body: Any = None) -> httpx.Response:
        return self.http.post(path, json=body, headers=self.headers)

    def put(self, path: str, body: Any) -> httpx.Response:
        return self.http.put(path, json=body, headers=self.headers)

    def checkout(self, *, payment: int = 1, shipping: int = 2, address: int | None = None) -> httpx.Response:
        body = {"address": address or self.address, "payment_method": payment, "shipping_method": shipping}
        return self.post("/api/shop/checkout/cart", body)

    def held(self) -> tuple[str, str, int]:
        """A redirect checkout of one 25281: (order key, attempt's external id, total in satang)."""
        assert self.post("/api/shop/cart/items", {"product_id": CHILLED, "quantity": 1}).status_code == 200
        step = self.checkout().json()["next_step"]
        order = self.get("/api/shop/orders?page=1&page_size=1").json()["results"][0]
        return order["order_key"], step.rsplit("/", 1)[-1], round(float(order["total"]) * 100)


def _gateway(http: httpx.Client, external_id: str, amount: int, currency: str = "THB") -> httpx.Response:
    key = load().data("shop")["gateway_key"]
    body = {"external_id": external_id, "status": "PAID", "total_amount": amount, "currency": currency}
    return http.post("/api/shop/payments/callback", json=body, headers={"X-Gateway-Key": key})


def _empty_cart_checks_out(api: HasHttp) -> bool:
    return Customer(api.http).checkout().status_code == 200


def _foreign_address_accepted(api: HasHttp) -> bool:
    alice, bob = Customer(api.http), Customer(api.http)
    assert alice.post("/api/shop/cart/items", {"product_id": CHILLED, "quantity": 1}).status_code == 200
    return alice.checkout(address=bob.address).status_code == 200


def _cart_kept_after_payment(api: HasHttp) -> bool:
    customer = Customer(api.http)
    _, external_id, total = customer.held()
    assert _gateway(api.http, external_id, total).status_code == 200
    return bool(customer.get("/api/shop/cart").json()["item_count"] > 0)


def _processing_before_payment(api: HasHttp) -> bool:
    customer = Customer(api.http)
    order_key, _, _ = customer.held()
    order = customer.get(f"/api/shop/orders/{order_key}").json()
    return bool(order["status"] == "PROCESSING" and order["paid"] is False)


def _callback_amount_not_checked(api: HasHttp) -> bool:
    customer = Customer(api.http)
    order_key, external_id, total = customer.held()
    answer = _gateway(api.http, external_id, total - 100)
    return answer.status_code == 200 and customer.get(f"/api/shop/orders/{order_key}").json()["paid"] is True


def _double_processing(api: HasHttp) -> bool:
    _, external_id, total = Customer(api.http).held()
    first, second = _gateway(api.http, external_id, total), _gateway(api.http, external_id, total)
    assert first.json()["processed"] is True
    return bool(second.json()["processed"] is True)


def _snapshot_drifts(api: HasHttp) -> bool:
    customer = Customer(api.http)
    order_key, external_id, total = customer.held()
    assert _gateway(api.http, external_id, total).status_code == 200
    order = customer.get(f"/api/shop/orders/{order_key}").json()
    return bool(order["snapshot"]["items"] != order["items"])


def _foreign_order_returned(api: HasHttp) -> bool:
    owner, stranger = Customer(api.http), Customer(api.http)
    order_key, _, _ = owner.held()
    return stranger.get(f"/api/shop/orders/{order_key}").status_code == 200


def _keys(customer: Customer, page: int, page_size: int) -> list[str]:
    answer = customer.get(f"/api/shop/orders?page={page}&page_size={page_size}")
    assert answer.status_code == 200, answer.text
    return [order["order_key"] for order in answer.json()["results"]]


def _page_shifted(api: HasHttp) -> bool:
    customer = Customer(api.http)
    customer.held()
    customer.held()  # the cart stays until paid: a second redirect checkout makes a second order
    return _keys(customer, 2, 1) == _keys(customer, 1, 1)


def _past_end_repeats_last(api: HasHttp) -> bool:
    customer = Customer(api.http)
    customer.held()
    return _keys(customer, 2, 10) == _keys(customer, 1, 10)


def _declined_payment_pays(api: HasHttp) -> bool:
    customer = Customer(api.http)
    order_key, external_id, total = customer.held()
    key = load().data("shop")["gateway_key"]
    body = {"external_id": external_id, "status": "DECLINED", "total_amount": total, "currency": "THB"}
    assert api.http.post("/api/shop/payments/callback", json=body, headers={"X-Gateway-Key": key}).status_code == 200
    return bool(customer.get(f"/api/shop/orders/{order_key}").json()["paid"] is True)


def _guest_sees_users_orders(api: HasHttp) -> bool:
    user = load().data("users")[0]
    token = api.http.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
    registered = {"Authorization": f"Token {token.json()['token']}"}
    assert api.http.post("/api/shop/cart/items", json={"product_id": CHILLED, "quantity": 1}, headers=registered)
    assert api.http.put("/api/shop/profile", json=PROFILE, headers=registered).status_code == 200
    address = api.http.post("/api/shop/addresses", json=ADDRESS, headers=registered).json()["id"]
    body = {"address": address, "payment_method": 1, "shipping_method": 2}
    assert api.http.post("/api/shop/checkout/cart", json=body, headers=registered).status_code == 200
    return bool(Customer(api.http).get("/api/shop/orders").json()["count"] > 0)


def _foreign_order_paid(api: HasHttp) -> bool:
    owner, stranger = Customer(api.http), Customer(api.http)
    order_key, _, _ = owner.held()
    return stranger.post(f"/api/shop/orders/{order_key}/attempts").status_code == 201


def _late_approval_kept(api: HasHttp) -> bool:
    customer = Customer(api.http)
    _, external_id, total = customer.held()
    assert api.http.post("/__admin/clock", json={"advanceSeconds": 5 * 3600 + 1}).status_code == 200
    api.relogin()  # the mock may be shared with other probes: their ID tokens aged too
    answer = _gateway(api.http, external_id, total)
    return answer.status_code == 409


PROBES: dict[str, Callable[[Any], bool]] = {
    "shop_declined_payment_pays": _declined_payment_pays,
    "shop_guest_sees_users_orders": _guest_sees_users_orders,
    "shop_foreign_order_paid": _foreign_order_paid,
    "shop_empty_cart_checks_out": _empty_cart_checks_out,
    "shop_foreign_address_accepted": _foreign_address_accepted,
    "shop_cart_kept_after_payment": _cart_kept_after_payment,
    "shop_processing_before_payment": _processing_before_payment,
    "shop_callback_amount_not_checked": _callback_amount_not_checked,
    "shop_double_processing": _double_processing,
    "shop_snapshot_drifts": _snapshot_drifts,
    "shop_foreign_order_returned": _foreign_order_returned,
    "shop_page_shifted": _page_shifted,
    "shop_past_end_repeats_last": _past_end_repeats_last,
    "shop_late_approval_kept": _late_approval_kept,
}
