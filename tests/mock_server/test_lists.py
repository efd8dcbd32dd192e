"""Lists cost what their page costs, on every store, and answer what the rules say (issue 21, point 7).

What a request costs is counted, never timed: a store that counts the records it is asked for and
their bytes (``Counted``) wraps memory, SQLite and Redis. A page of 10 orders reads the same at 10
orders as at 200; writing an order or an attempt reads and writes the same whatever the customer
has already. The answers are the rules' over every order (``villa_contracts.domain.lineitems.my_orders``
and the shop's newest-first pages), byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.fastjson import dumps
from mock_server.handlers.lineitems import ORDERS as LI_ORDERS
from mock_server.handlers.lineitems import reserved
from mock_server.storage import MemoryStorage, SqliteStorage, Storage
from tests.fixtures.counting import Counted
from tests.fixtures.mock import User, login_user
from villa_contracts.contract import load
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.clock import AdjustableClock

START = 1_767_139_200.0  # 2025-12-31: a frozen clock, so that records of one shape have one size
ADDRESS = {"firstname": "Noemi", "lastname": "Ullrich", "address1": "2315 Molly Hill", "zipcode": "47546",
           "phone": "(684) 555-8450"}  # fmt: skip
USER = load().data("users")[0]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Counted]:
    if request.param == "memory":
        yield Counted(MemoryStorage())
    elif request.param == "sqlite":
        sqlite = SqliteStorage(tmp_path / "villa.db")
        yield Counted(sqlite)
        sqlite.close()
    else:
        yield Counted(request.getfixturevalue("redis_store"))


@pytest.fixture
def api(store: Counted) -> Iterator[TestClient]:
    with TestClient(create_app(store=store, clock=AdjustableClock(frozen_at=START))) as client:
        yield client


# --- the line-item orders -----------------------------------------------------------------------


def _li_order(api: TestClient, user: User, *lines: tuple[int, int]) -> dict[str, Any]:
    body = {"line_items": [{"variant_id": v, "quantity": q} for v, q in lines], "ship_address": ADDRESS}
    response = api.post("/api/v1/orders.json", json=body, headers=user.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _cost(api: TestClient, store: Counted, path: str, user: User) -> tuple[int, int]:
    store.clear()
    response = api.get(path, headers=user.headers)
    assert response.status_code == 200, response.text
    return store.records, store.read


@pytest.mark.parametrize("query", ["", "?type=not_completed", "?state=created&page=1", "?page=2"])
def test_a_page_of_line_item_orders_reads_the_same_at_20_orders_as_at_200(
    api: TestClient, store: Counted, query: str
) -> None:
    alice = login_user(api, 0)
    for _ in range(20):
        _li_order(api, alice)
    few = _cost(api, store, f"/api/orders.json{query}", alice)
    for _ in range(180):
        _li_order(api, alice)
    many = _cost(api, store, f"/api/orders.json{query}", alice)
    # One more digit in some ids and sequence numbers is all that may differ.
    assert many[0] == few[0], (few, many)
    assert many[1] <= few[1] * 1.05, (few, many)


def test_creating_a_line_item_order_costs_the_same_whatever_the_owner_has(api: TestClient, store: Counted) -> None:
    alice = login_user(api, 0)
    costs = []
    for n in range(120):
        store.clear()
        _li_order(api, alice)
        if n in (10, 119):
            costs.append(store.read + store.written)
    assert costs[1] <= costs[0] * 1.05, costs


def _every_li_order(store: Storage, owner: str) -> list[dict[str, Any]]:
    return [o for o in store.values(LI_ORDERS) if o["owner"] == owner]


def test_line_item_pages_are_the_rules_answer_over_every_order_byte_for_byte(api: TestClient, store: Counted) -> None:
    state = api.app.state.mock  # type: ignore[attr-defined]
    alice, bob = login_user(api, 0), login_user(api, 1)
    paid = 0

    def some_orders(count: int) -> None:
        nonlocal paid
        for n in range(count):
            order = _li_order(api, bob if n % 5 == 4 else alice, *([(33, 1)] if n % 4 else []))
            if n % 4 >= 2 and n % 5 != 4:
                paid += 1
                reference = f"PAYID-{order['total_cents']}-lists{paid}"
                assert api.post(f"/api/orders/{order['id']}/payments", json={"reference_id": reference},
                                headers=alice.headers).status_code == 201  # fmt: skip
                if n % 4 == 3:
                    moved = api.put(f"/__admin/lineitems/orders/{order['id']}/state", json={"state": "delivered"})
                    assert moved.status_code == 200, moved.text

    some_orders(40)
    state.clock.advance(5 * 3600)  # the unpaid ones expire: deleted, and out of every list
    alice, bob = login_user(api, 0), login_user(api, 1)
    some_orders(23)  # and some more, newer than the payments and the moves
    data = state.lineitems
    mine = _every_li_order(store.inner, alice.sub)
    assert len(mine) >= 30  # 3 pages and more
    for wanted in (None, *rules.STATES):
        for type_ in (None, *rules.TYPES):
            for page in (1, 2, 3, 7):
                params = {k: v for k, v in {"state": wanted, "type": type_, "page": page}.items() if v is not None}
                response = api.get("/api/orders.json", params=params, headers=alice.headers)
                if wanted in ("partial_delivered", "delivered", "canceled"):
                    assert response.status_code == 400  # the contract's filter names three states
                    continue
                total_pages, chosen = rules.my_orders(
                    mine, state=wanted, type_=type_, page=page, page_size=data.page_size
                )
                units = reserved(state)
                expected = {"total_pages": total_pages, "orders": [rules.order_json(data, o, units) for o in chosen]}
                assert response.content == dumps(expected), params


# --- the shop -----------------------------------------------------------------------------------


def _shop_key(api: TestClient) -> dict[str, str]:
    answer = api.post("/api/shop/auth/token", json={"username": USER["username"], "password": USER["password"]})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Token {answer.json()['token']}"}


def _checkout(api: TestClient, key: dict[str, str], payment_method: int = 3) -> Any:
    assert api.post("/api/shop/cart/items", json={"product_id": 188468, "quantity": 1}, headers=key).status_code == 200
    body = {"address": 123, "payment_method": payment_method, "shipping_method": 2}
    response = api.post("/api/shop/checkout/cart", json=body, headers=key)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("query", ["", "?page=2", "?page_size=25&page=3"])
def test_a_page_of_shop_orders_reads_the_same_at_10_orders_as_at_200(
    api: TestClient, store: Counted, query: str
) -> None:
    key = _shop_key(api)
    for _ in range(75):
        _checkout(api, key)
    few = _cost_shop(api, store, f"/api/shop/orders{query}", key)
    for _ in range(125):
        _checkout(api, key)
    many = _cost_shop(api, store, f"/api/shop/orders{query}", key)
    assert many[0] == few[0], (few, many)
    assert many[1] <= few[1] * 1.02, (few, many)


def _cost_shop(api: TestClient, store: Counted, path: str, key: dict[str, str]) -> tuple[int, int]:
    store.clear()
    response = api.get(path, headers=key)
    assert response.status_code == 200, response.text
    return store.records, store.read


def test_checkout_and_attempts_cost_the_same_whatever_the_customer_has(api: TestClient, store: Counted) -> None:
    key = _shop_key(api)
    checkouts, attempts = [], []
    for n in range(120):
        store.clear()
        _checkout(api, key)
        if n in (10, 119):
            checkouts.append(store.read + store.written)
    _checkout(api, key, payment_method=1)  # a redirect payment: the order waits, attempts can be made
    order_key = api.get("/api/shop/orders", headers=key).json()["results"][0]["order_key"]
    for n in range(120):
        store.clear()
        assert api.post(f"/api/shop/orders/{order_key}/attempts", headers=key).status_code == 201
        if n in (10, 119):
            attempts.append(store.read + store.written)
    assert checkouts[1] <= checkouts[0] * 1.05, checkouts
    assert attempts[1] <= attempts[0] * 1.05, attempts


def test_shop_pages_are_newest_first_byte_for_byte(api: TestClient, store: Counted) -> None:
    key = _shop_key(api)
    made = [_checkout(api, key)["order_key"] for _ in range(23)]
    every = [store.inner.get("shop_orders", k) for k in reversed(made)]
    for page, size in [(1, 10), (3, 10), (4, 10), (2, 7), (1, 100)]:
        response = api.get("/api/shop/orders", params={"page": page, "page_size": size}, headers=key)
        chosen = every[(page - 1) * size : page * size]
        expected = {
            "count": 23, "page": page, "page_size": size, "total_pages": -(-23 // size),
            "results": [{k: v for k, v in o.items() if not k.startswith("_")} for o in chosen if o],
        }  # fmt: skip
        assert response.content == dumps(expected), (page, size)


def test_addresses_and_attempts_list_oldest_first(api: TestClient) -> None:
    key = _shop_key(api)
    added = []
    for n in range(12):
        body = {"line1": f"{n} Soi Ari", "city": "Bangkok", "postcode": "10400", "phone": "0812345678"}
        answer = api.post("/api/shop/addresses", json=body, headers=key)
        assert answer.status_code == 201, answer.text
        added.append(answer.json()["id"])
    listed = [a["id"] for a in api.get("/api/shop/addresses", headers=key).json()["results"]]
    assert listed == [123, *added]  # the data's address of the test user first, then in the order added
    _checkout(api, key, payment_method=1)
    order_key = api.get("/api/shop/orders", headers=key).json()["results"][0]["order_key"]
    started = [api.post(f"/api/shop/orders/{order_key}/attempts", headers=key).json()["external_id"] for _ in range(5)]
    listed = [
        a["external_id"] for a in api.get(f"/api/shop/orders/{order_key}/attempts", headers=key).json()["results"]
    ]
    assert listed[1:] == started and len(listed) == 6  # the checkout's own attempt first
