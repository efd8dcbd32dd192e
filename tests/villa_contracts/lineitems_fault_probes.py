"""Plain-HTTP probes of the line-item order API's planted faults (``tests.fixtures.faults_lineitems``).

Each probe answers True when the fault shows; it uses the contract's two test users and fresh orders,
so probes never depend on each other. ``PROBES`` maps a fault's name to its probe.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

import httpx

from villa_contracts.contract import load

ADDRESS = {"firstname": "Probe", "lastname": "Buyer", "address1": "1 Probe Road", "zipcode": "10110",
           "phone": "0812345678"}  # fmt: skip
SHIRT = 36  # stock 10


class HasHttp(Protocol):
    """What a probe needs of the faults test's ``Api``: its HTTP client on the served mock, and new tokens."""

    http: httpx.Client

    def relogin(self) -> None:
        """Log the faults test's users in again (after a probe moved the shared mock's clock)."""


class Buyer:
    """The first contract user, logged in again (ID tokens age when a probe moves the clock)."""

    def __init__(self, api: HasHttp) -> None:
        self.api, self.http = api, api.http
        self.login()

    def login(self) -> None:
        name = load().data("users")[0]["username"]
        token = self.http.post(f"/__admin/users/{name}/tokens").raise_for_status().json()["IdToken"]
        self.headers = {"Authorization": f"Bearer {token}"}

    def create(self, *lines: tuple[int, int]) -> dict[str, Any]:
        body = {"line_items": [{"variant_id": v, "quantity": q} for v, q in lines], "ship_address": ADDRESS}
        response = self.http.post("/api/v1/orders.json", json=body, headers=self.headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def pay(self, order_id: int, cents: int) -> httpx.Response:
        reference = f"PAYID-{cents}-probe{secrets.token_hex(6)}"
        return self.pay_with(order_id, reference)

    def pay_with(self, order_id: int, reference: str) -> httpx.Response:
        return self.http.post(
            f"/api/orders/{order_id}/payments", json={"reference_id": reference}, headers=self.headers
        )

    def ids(self, **params: Any) -> list[int]:
        first = self.http.get("/api/orders.json", params=params, headers=self.headers).json()
        ids = [o["id"] for o in first["orders"]]
        for page in range(2, first["total_pages"] + 1):
            ids += [o["id"] for o in self.http.get("/api/orders.json", params={**params, "page": page},
                                                   headers=self.headers).json()["orders"]]  # fmt: skip
        return ids

    def pages(self) -> int:
        return int(self.http.get("/api/orders.json", headers=self.headers).json()["total_pages"])

    def free(self, variant: int) -> int:
        return int(self.http.get("/__admin/lineitems/stock").json()["variants"][str(variant)]["free"])

    def five_hours_later(self) -> None:
        assert self.http.post("/__admin/clock", json={"advanceSeconds": 5 * 3600 + 1}).status_code == 200
        self.login()
        self.api.relogin()  # the mock may be shared with other probes: their tokens aged too


def _total_off_by_one(api: HasHttp) -> bool:
    order = Buyer(api).create((33, 1), (251, 1))
    return bool(order["total_cents"] == order["item_total_cents"] + order["ship_total_cents"] + 1)


def _total_pages_one_short(api: HasHttp) -> bool:
    buyer = Buyer(api)
    buyer.create((33, 1))
    return buyer.pages() == 0


def _pages_overlap(api: HasHttp) -> bool:
    buyer = Buyer(api)
    for _ in range(11):  # more than a page, whatever other probes left (orders with no line items reserve nothing)
        buyer.create()
    pages = [buyer.http.get("/api/orders.json", params={"page": n}, headers=buyer.headers).json() for n in (1, 2)]
    return bool({o["id"] for o in pages[0]["orders"]} & {o["id"] for o in pages[1]["orders"]})


def _partly_paid_not_listed(api: HasHttp) -> bool:
    buyer = Buyer(api)
    order = buyer.create((33, 1))
    assert buyer.pay(order["id"], 100).json()["all_paid"] is False
    return order["id"] not in buyer.ids(type="not_completed")


def _reference_reused(api: HasHttp) -> bool:
    buyer = Buyer(api)
    first, second = buyer.create((33, 1)), buyer.create((33, 1))
    reference = f"PAYID-5000-probe{secrets.token_hex(6)}"
    assert buyer.pay_with(first["id"], reference).status_code == 201
    return buyer.pay_with(second["id"], reference).status_code == 201


def _stock_not_restored_on_expiry(api: HasHttp) -> bool:
    buyer = Buyer(api)
    buyer.five_hours_later()  # whatever earlier probes left unpaid is gone
    free = buyer.free(SHIRT)
    buyer.create((SHIRT, 1))
    buyer.five_hours_later()
    return buyer.free(SHIRT) == free - 1


def _expired_order_listed(api: HasHttp) -> bool:
    buyer = Buyer(api)
    order = buyer.create((SHIRT, 1))
    buyer.five_hours_later()
    return order["id"] in buyer.ids()


def _expired_payment_lost(api: HasHttp) -> bool:
    buyer = Buyer(api)
    order = buyer.create((SHIRT, 1))
    assert buyer.pay(order["id"], 100).json()["all_paid"] is False
    buyer.five_hours_later()
    return order["id"] not in buyer.ids()


def _short_stock_accepted(api: HasHttp) -> bool:
    buyer = Buyer(api)
    body = {"line_items": [{"variant_id": 37, "quantity": 3}], "ship_address": ADDRESS}  # variant 37 has 2 at most
    return buyer.http.post("/api/v1/orders.json", json=body, headers=buyer.headers).status_code == 201


PROBES: dict[str, Callable[[HasHttp], bool]] = {
    "li_short_stock_accepted": _short_stock_accepted,
    "li_total_off_by_one": _total_off_by_one,
    "li_total_pages_one_short": _total_pages_one_short,
    "li_pages_overlap": _pages_overlap,
    "li_partly_paid_not_listed": _partly_paid_not_listed,
    "li_reference_reused": _reference_reused,
    "li_stock_not_restored_on_expiry": _stock_not_restored_on_expiry,
    "li_expired_order_listed": _expired_order_listed,
    "li_expired_payment_lost": _expired_payment_lost,
}
