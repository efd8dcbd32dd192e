"""The shop's order service (seed 003): redirect payment end to end, orders, callbacks, expiry, concurrent checkouts.

Helpers and the real-socket server come from ``test_shop_checkout``. The end-to-end paths and the
concurrent checkouts run over a real 127.0.0.1 socket with plain httpx clients; the rest in process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.handlers.orders import STOCK
from tests.fixtures.mock import User, login_user
from tests.mock_server.test_shop_checkout import (
    CASH_ON_DELIVERY,
    EXTERNAL_ID,
    MILK,
    RICE,
    SALMON,
    SHOP,
    LiveShop,
    add_to_cart,
    attempts_of,
    auth,
    callback,
    checkout,
    complete_profile,
    decide,
    free_units,
    get_cart,
    get_order,
    guest_key,
    mock_bugs,
    newest_order,
    order_page,
    serve_shop,
    stock_at_store,
    user_key,
)
from villa_contracts.domain.shop import EXPIRY_REFUND

FIVE_HOURS = 5 * 60 * 60


@pytest.fixture
def live() -> Iterator[LiveShop]:
    with serve_shop() as shop:
        yield shop


def _redirect_checkout(client: httpx.Client, key: str, product: int, quantity: int, **body: Any) -> tuple[str, str]:
    """Fill the cart and check it out with the gateway; answer (next_step, order key)."""
    add_to_cart(client, key, product, quantity)
    response = checkout(client, key, **body)
    assert response.status_code == 200, response.text
    return str(response.json()["next_step"]), str(newest_order(client, key)["order_key"])


def _villa_order(api: TestClient, user: User, product: int, quantity: int) -> httpx.Response:
    """Create an order on the Villa API (branch 1000), which shares the store's stock."""
    order_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=user.headers).json()["orderId"]
    body = {"orderId": order_id, "ownerId": user.sub, "basketId": user.sub, "branchId": "1000",
            "productList": [{"cprcode": product, "quantity": quantity}]}  # fmt: skip
    return api.post("/api/order/create", json=body, headers=user.headers)


def _external_id(next_step: str) -> str:
    return next_step.rsplit("/", 1)[1]


def _satang(order: dict[str, Any]) -> int:
    return int(Decimal(order["total"]) * 100)


# 4. Redirect checkout end to end, over a real socket.


@pytest.mark.socket
def test_a_redirect_checkout_approved_on_the_gateway_page(live: LiveShop) -> None:
    with live.client() as client:
        key = user_key(client)
        stock = free_units(client, SALMON)
        assert stock == stock_at_store(SALMON) == 3
        next_step, order_key = _redirect_checkout(client, key, SALMON, 2)
        assert next_step.startswith(f"{live.base_url}/mock/gateway/") and EXTERNAL_ID.fullmatch(_external_id(next_step))
        assert free_units(client, SALMON) == 1  # reserved while the payment is processing

        page = client.get(next_step)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert order_key in page.text and 'value="approve"' in page.text and "PENDING" in page.text

        outcome = decide(client, next_step, "approve")
        assert outcome["status"] == "PAID" and outcome["order_key"] == order_key
        assert outcome["return_url"] == f"{live.base_url}/api/shop/orders/{order_key}"
        order = client.get(outcome["return_url"], headers=auth(key)).json()
        assert (order["status"], order["paid"]) == ("PROCESSING", True) and order["paid_at"] is not None
        snapshot = order["snapshot"]
        assert snapshot["items"] == order["items"] and snapshot["payment_external_id"] == _external_id(next_step)
        assert (snapshot["items_total"], snapshot["total"]) == ("620.50", "715.50")
        assert get_cart(client, key)["items"] == []
        assert free_units(client, SALMON) == stock - 2
        attempts = attempts_of(client, key, order_key)
        assert [a["status"] for a in attempts] == ["PAID"] and attempts[0]["amount"] == 71550

        # The unit left can be bought, and no more than it.
        other = guest_key(client)
        address = complete_profile(client, other)
        add_to_cart(client, other, SALMON, 2)
        refused = checkout(client, other, address=address)
        assert refused.status_code == 400 and "2 in the cart, 1 left" in refused.json()["error"]
        client.patch(f"/api/shop/cart/items/{SALMON}", json={"quantity": 1}, headers=auth(other))
        assert checkout(client, other, address=address).status_code == 200
        assert mock_bugs(client) == 0


@pytest.mark.socket
@pytest.mark.parametrize(("action", "status"), [("decline", "DECLINED"), ("abandon", "ABANDONED")])
def test_a_declined_or_abandoned_payment_keeps_the_order_payable(live: LiveShop, action: str, status: str) -> None:
    with live.client() as client:
        key = user_key(client)
        next_step, order_key = _redirect_checkout(client, key, MILK, 2)
        cart = get_cart(client, key)
        free = free_units(client, MILK)

        assert decide(client, next_step, action)["status"] == status
        order = get_order(client, key, order_key)
        assert (order["status"], order["paid"], order["snapshot"]) == ("HOLD", False, None)
        to_pay = client.get(f"/api/shop/orders/{order_key}/pay", headers=auth(key))
        assert to_pay.status_code == 200 and to_pay.json() == order
        assert get_cart(client, key) == cart
        assert free_units(client, MILK) == free  # the reservation is kept
        assert [a["status"] for a in attempts_of(client, key, order_key)] == [status]
        # The payer's button cannot be pressed again with another answer.
        assert client.post(next_step, data={"action": "approve"}).status_code == 409

        started = client.post(f"/api/shop/orders/{order_key}/attempts", headers=auth(key))
        assert started.status_code == 201, started.text
        assert started.json()["status"] == "PENDING" and started.json()["next_step"] != next_step
        assert client.get(started.json()["next_step"]).status_code == 200
        assert client.post(started.json()["next_step"], json={"action": "approve"}).json()["status"] == "PAID"
        assert get_order(client, key, order_key)["status"] == "PROCESSING"
        assert [a["status"] for a in attempts_of(client, key, order_key)] == [status, "PAID"]
        assert get_cart(client, key)["items"] == []
        assert free_units(client, MILK) == free
        assert mock_bugs(client) == 0


# 5. The order service.


def test_orders_are_paginated_newest_first(api: TestClient) -> None:
    key = user_key(api)
    keys = []
    for quantity in (1, 2, 3):
        add_to_cart(api, key, RICE, quantity)
        response = checkout(api, key, payment=CASH_ON_DELIVERY)
        assert response.status_code == 200, response.text
        keys.append(response.json()["order_key"])
        api.post("/__admin/clock", json={"advanceSeconds": 60})
    first = order_page(api, key, page=1, page_size=2)
    assert {k: first[k] for k in ("count", "page", "page_size", "total_pages")} == {
        "count": 3, "page": 1, "page_size": 2, "total_pages": 2,
    }  # fmt: skip
    second = order_page(api, key, page=2, page_size=2)
    assert (second["count"], second["page"], second["total_pages"]) == (3, 2, 2)
    listed = [o["order_key"] for o in first["results"] + second["results"]]
    assert listed == keys[::-1]
    assert [o["items"][0]["quantity"] for o in first["results"] + second["results"]] == [3, 2, 1]
    created = [o["created_at"] for o in first["results"] + second["results"]]
    assert created == sorted(created, reverse=True)
    past = order_page(api, key, page=3, page_size=2)
    assert (past["count"], past["total_pages"], past["results"]) == (3, 2, [])
    default = order_page(api, key)
    assert (default["page"], default["page_size"], len(default["results"])) == (1, 10, 3)
    assert order_page(api, user_key(api, 1))["count"] == 0  # another user's list is their own


def test_a_guest_checks_out_and_reads_its_own_orders(api: TestClient) -> None:
    guest = guest_key(api)
    assert api.get("/api/shop/profile", headers=auth(guest)).json()["completed"] is False
    address = complete_profile(api, guest, name="Anon")
    assert [a["id"] for a in api.get("/api/shop/addresses", headers=auth(guest)).json()["results"]] == [address]
    next_step, order_key = _redirect_checkout(api, guest, MILK, 1, address=address)
    order = get_order(api, guest, order_key)
    assert order["customer"].startswith("guest:anon_") and order["address"]["id"] == address
    assert order["billing"] == {"name": "Anon Shopper", "phone": "0811111111", "email": "guest@villa.example"}
    decide(api, next_step, "approve")
    page = order_page(api, guest)
    assert page["count"] == 1 and page["results"][0]["order_key"] == order_key
    assert page["results"][0]["status"] == "PROCESSING"
    assert [a["status"] for a in attempts_of(api, guest, order_key)] == ["PAID"]


def test_someone_elses_order_answers_exactly_like_a_missing_one(api: TestClient) -> None:
    owner = guest_key(api)
    address = complete_profile(api, owner)
    _, first_key = _redirect_checkout(api, owner, MILK, 1, address=address)
    year, number = first_key.rsplit("-", 1)
    next_key = f"{year}-{int(number) + 1:06d}"  # the key the next checkout will get
    strangers = {"another guest": guest_key(api), "a user": user_key(api)}
    paths = ["", "/pay", "/attempts"]
    missing = {
        (who, path): api.get(f"/api/shop/orders/{next_key}{path}", headers=auth(k))
        for who, k in strangers.items() for path in paths
    }  # fmt: skip
    assert _redirect_checkout(api, owner, RICE, 1, address=address)[1] == next_key
    for (who, path), before in missing.items():
        after = api.get(f"/api/shop/orders/{next_key}{path}", headers=auth(strangers[who]))
        assert before.status_code == after.status_code == 404, (who, path)
        assert after.json() == before.json(), (who, path)
        assert after.headers["content-type"] == before.headers["content-type"]
    started = api.post(f"/api/shop/orders/{first_key}/attempts", headers=auth(strangers["a user"]))
    assert started.status_code == 404
    assert attempts_of(api, owner, first_key)[0]["status"] == "PENDING"
    assert len(attempts_of(api, owner, first_key)) == 1


def test_pay_is_a_409_once_the_order_is_paid(api: TestClient) -> None:
    key = user_key(api)
    next_step, order_key = _redirect_checkout(api, key, MILK, 1)
    assert api.get(f"/api/shop/orders/{order_key}/pay", headers=auth(key)).status_code == 200
    decide(api, next_step, "approve")
    paid = api.get(f"/api/shop/orders/{order_key}/pay", headers=auth(key))
    assert paid.status_code == 409 and "is paid" in paid.json()["error"]
    again = api.post(f"/api/shop/orders/{order_key}/attempts", headers=auth(key))
    assert again.status_code == 409
    assert len(attempts_of(api, key, order_key)) == 1


def test_the_snapshot_never_changes_after_the_cart_does(api: TestClient) -> None:
    key = user_key(api)
    next_step, order_key = _redirect_checkout(api, key, MILK, 2)
    decide(api, next_step, "approve")
    paid = get_order(api, key, order_key)
    add_to_cart(api, key, MILK, 5)
    add_to_cart(api, key, RICE, 1)
    api.patch(f"/api/shop/cart/items/{MILK}", json={"quantity": 7}, headers=auth(key))
    assert get_cart(api, key)["item_count"] == 8
    assert get_order(api, key, order_key) == paid
    assert paid["snapshot"]["items"] == [
        {
            "product_id": MILK,
            "name": "Villa Fresh Milk 2L",
            "quantity": 2,
            "unit_price": "79.00",
            "line_total": "158.00",
        }
    ]
    assert checkout(api, key).status_code == 200  # a new order from the new cart
    assert get_order(api, key, order_key) == paid


# 6. The gateway's callback.


def _held(api: TestClient, product: int = MILK) -> tuple[str, str, dict[str, Any]]:
    key = user_key(api)
    next_step, order_key = _redirect_checkout(api, key, product, 1)
    return key, _external_id(next_step), get_order(api, key, order_key)


def test_the_same_paid_callback_twice_pays_once(api: TestClient) -> None:
    key, external_id, order = _held(api)
    first = callback(api, external_id, amount=_satang(order))
    assert first.status_code == 200, first.text
    assert first.json() == {"external_id": external_id, "status": "PAID", "order_key": order["order_key"],
                            "order_status": "PROCESSING", "processed": True}  # fmt: skip
    paid = get_order(api, key, order["order_key"])
    api.post("/__admin/clock", json={"advanceSeconds": 30})
    second = callback(api, external_id, amount=_satang(order))
    assert second.status_code == 200 and second.json() == {**first.json(), "processed": False}
    assert get_order(api, key, order["order_key"]) == paid
    attempts = attempts_of(api, key, order["order_key"])
    assert [a["status"] for a in attempts] == ["PAID"]
    assert len(attempts[0]["log"]) == 2 and "applied" in attempts[0]["log"][0]


def test_a_callback_for_an_unknown_attempt_is_a_404(api: TestClient) -> None:
    key, external_id, order = _held(api)
    response = callback(api, "pay_" + "0" * 20, amount=_satang(order))
    assert response.status_code == 404, response.text
    assert get_order(api, key, order["order_key"]) == order
    assert attempts_of(api, key, order["order_key"])[0]["log"] == []


@pytest.mark.parametrize(
    ("change", "value"), [("amount", 1), ("amount", 17401), ("currency", "USD")], ids=["amount-1", "amount+1", "USD"]
)
def test_a_mismatching_callback_is_refused_and_recorded(api: TestClient, change: str, value: Any) -> None:
    key, external_id, order = _held(api)
    cart = get_cart(api, key)
    amount = _satang(order) + value if change == "amount" else _satang(order)
    currency = value if change == "currency" else "THB"
    response = callback(api, external_id, amount=amount, currency=currency)
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "conflict"
    [attempt] = attempts_of(api, key, order["order_key"])
    assert attempt["status"] == "REJECTED"
    assert len(attempt["log"]) == 1 and "refused" in attempt["log"][0]
    assert f"{amount} {currency}" in attempt["log"][0]
    held = get_order(api, key, order["order_key"])
    assert (held["status"], held["paid"], held["snapshot"]) == ("HOLD", False, None)
    assert get_cart(api, key) == cart
    # The attempt is final; the right report for it changes nothing; a new attempt can pay.
    assert callback(api, external_id, amount=_satang(order)).status_code == 409
    assert get_order(api, key, order["order_key"])["status"] == "HOLD"
    started = api.post(f"/api/shop/orders/{order['order_key']}/attempts", headers=auth(key)).json()
    assert callback(api, started["external_id"], amount=_satang(order)).json()["processed"] is True


def test_a_second_attempt_approved_after_payment_is_a_409(api: TestClient) -> None:
    key, first, order = _held(api)
    second = api.post(f"/api/shop/orders/{order['order_key']}/attempts", headers=auth(key)).json()["external_id"]
    assert callback(api, first, amount=_satang(order)).json()["processed"] is True
    paid = get_order(api, key, order["order_key"])
    response = callback(api, second, amount=_satang(order))
    assert response.status_code == 409, response.text
    assert "one payment per order" in response.json()["error"]
    assert get_order(api, key, order["order_key"]) == paid
    assert paid["snapshot"]["payment_external_id"] == first
    attempts = attempts_of(api, key, order["order_key"])
    assert [a["status"] for a in attempts] == ["PAID", "REJECTED"]
    assert "refused" in attempts[1]["log"][0]
    # And no new attempt on a paid order.
    third = api.post(f"/api/shop/orders/{order['order_key']}/attempts", headers=auth(key))
    assert third.status_code == 409


def test_a_repeated_paid_callback_with_another_amount_is_refused(api: TestClient) -> None:
    key, external_id, order = _held(api)
    assert callback(api, external_id, amount=_satang(order)).json()["processed"] is True
    response = callback(api, external_id, amount=1, currency="USD")
    assert response.status_code == 409, response.text
    assert "refused" in attempts_of(api, key, order["order_key"])[0]["log"][-1]


@pytest.mark.parametrize("gateway_key", [None, "", "wrong", SHOP["gateway_key"] + "x", SHOP["gateway_key"].upper()])
def test_a_callback_without_the_gateway_key_is_a_401(api: TestClient, gateway_key: str | None) -> None:
    key, external_id, order = _held(api)
    response = callback(api, external_id, amount=_satang(order), gateway_key=gateway_key)
    assert response.status_code == 401, response.text
    assert SHOP["gateway_key"] not in response.text
    assert get_order(api, key, order["order_key"]) == order
    [attempt] = attempts_of(api, key, order["order_key"])
    assert (attempt["status"], attempt["log"]) == ("PENDING", [])


# 7. Unpaid for 5 hours: cancelled, stock released.


def test_an_order_unpaid_for_five_hours_is_cancelled_and_its_stock_released(api: TestClient) -> None:
    key = user_key(api)
    next_step, order_key = _redirect_checkout(api, key, SALMON, 3)
    assert free_units(api, SALMON) == 0
    api.post("/__admin/clock", json={"advanceSeconds": FIVE_HOURS - 1})
    assert get_order(api, key, order_key)["status"] == "HOLD"
    assert free_units(api, SALMON) == 0
    api.post("/__admin/clock", json={"advanceSeconds": 2})  # 5 h + 1 s after checkout
    cancelled = get_order(api, key, order_key)
    assert (cancelled["status"], cancelled["paid"]) == ("CANCELLED", False)
    assert free_units(api, SALMON) == 3
    assert api.get(f"/api/shop/orders/{order_key}/pay", headers=auth(key)).status_code == 409
    assert api.post(f"/api/shop/orders/{order_key}/attempts", headers=auth(key)).status_code == 409
    # A payer who approves late is refunded (test_an_approval_after_expiry_is_refunded_and_the_customer_reads_it).
    assert api.post(next_step, data={"action": "approve"}).json()["status"] == "REFUNDED"
    assert get_order(api, key, order_key)["status"] == "CANCELLED"
    # The released units can be bought.
    other = guest_key(api)
    address = complete_profile(api, other)
    add_to_cart(api, other, SALMON, 3)
    assert checkout(api, other, address=address).status_code == 200
    assert free_units(api, SALMON) == 0


@pytest.mark.parametrize("storage", ["memory", "sqlite", "redis"])
def test_an_approval_after_expiry_is_refunded_and_the_customer_reads_it(
    tmp_path: Path, request: pytest.FixtureRequest, storage: str
) -> None:
    store = request.getfixturevalue("redis_store") if storage == "redis" else None
    app = create_app(db_path=str(tmp_path / "s.db") if storage == "sqlite" else None, store=store)
    with TestClient(app) as api:
        key = user_key(api)
        next_step, order_key = _redirect_checkout(api, key, MILK, 1)
        [attempt] = attempts_of(api, key, order_key)
        api.post("/__admin/clock", json={"advanceSeconds": FIVE_HOURS + 1})
        order = get_order(api, key, order_key)
        assert (order["status"], order["paid"], order["snapshot"]) == ("CANCELLED", False, None)
        response = callback(api, attempt["external_id"], amount=_satang(order))
        assert response.status_code == 200, response.text
        assert response.json() == {"external_id": attempt["external_id"], "status": "REFUNDED",
                                   "order_key": order_key, "order_status": "CANCELLED", "processed": False}  # fmt: skip
        [refunded] = attempts_of(api, key, order_key)
        assert refunded["status"] == "REFUNDED"
        assert refunded["log"][-1].endswith(f"PAID {_satang(order)} THB: {EXPIRY_REFUND}")
        assert get_order(api, key, order_key) == order  # still CANCELLED, never paid
        # The gateway reports it again: refunded once, nothing changes.
        assert callback(api, attempt["external_id"], amount=_satang(order)).json()["status"] == "REFUNDED"
        assert attempts_of(api, key, order_key)[0]["status"] == "REFUNDED"
        assert "repeated" in attempts_of(api, key, order_key)[0]["log"][-1]
    app.state.mock.store.close()


@pytest.mark.parametrize("how", ["gateway", "cash on delivery"])
def test_a_paid_order_is_never_cancelled(api: TestClient, how: str) -> None:
    key = user_key(api)
    if how == "gateway":
        next_step, order_key = _redirect_checkout(api, key, MILK, 1)
        decide(api, next_step, "approve")
    else:
        add_to_cart(api, key, RICE)
        order_key = checkout(api, key, payment=CASH_ON_DELIVERY).json()["order_key"]
    paid = get_order(api, key, order_key)
    free = {product: free_units(api, product) for product in (MILK, RICE)}
    api.post("/__admin/clock", json={"advanceSeconds": FIVE_HOURS + 1})
    assert get_order(api, key, order_key) == paid
    assert {product: free_units(api, product) for product in (MILK, RICE)} == free


def test_the_store_and_the_villa_api_share_one_stock(api: TestClient, alice: User) -> None:
    assert _villa_order(api, alice, SALMON, 2).status_code == 200
    assert free_units(api, SALMON) == stock_at_store(SALMON) - 2
    key = user_key(api)
    add_to_cart(api, key, SALMON, 2)
    refused = checkout(api, key)
    assert refused.status_code == 400 and "2 in the cart, 1 left" in refused.json()["error"]
    api.patch(f"/api/shop/cart/items/{SALMON}", json={"quantity": 1}, headers=auth(key))
    assert checkout(api, key).status_code == 200
    assert _villa_order(api, alice, SALMON, 1).status_code == 409  # the store took the last unit


def test_an_expired_shop_order_releases_its_stock_for_the_villa_api_too(api: TestClient) -> None:
    key = user_key(api)
    _redirect_checkout(api, key, SALMON, 3)
    api.post("/__admin/clock", json={"advanceSeconds": FIVE_HOURS + 1})
    alice = login_user(api, 0)  # after the clock moved: an ID token lives an hour
    response = _villa_order(api, alice, SALMON, 1)  # no shop request since the order expired
    assert response.status_code == 200, response.text


@pytest.mark.socket
def test_the_store_survives_a_restart_with_a_db(tmp_path: Path) -> None:
    db = str(tmp_path / "shop.db")
    with serve_shop(db) as live, live.client() as client:
        key = user_key(client)
        next_step, order_key = _redirect_checkout(client, key, SALMON, 2)
    with serve_shop(db) as live, live.client() as client:
        assert get_order(client, key, order_key)["status"] == "HOLD"  # the token key is still valid
        assert get_cart(client, key)["item_count"] == 2 and free_units(client, SALMON) == 1
        decide(client, f"{live.base_url}/mock/gateway/{_external_id(next_step)}", "approve")
        assert get_order(client, key, order_key)["status"] == "PROCESSING"
        add_to_cart(client, key, RICE)
        response = checkout(client, key, payment=CASH_ON_DELIVERY)
        assert response.status_code == 200 and response.json()["order_key"] != order_key


# 8. Concurrent checkouts of the last units, on both storage backends.

CUSTOMERS = 50


def _reserved(live: LiveShop, product: int) -> int:
    return int((live.state.store.get(STOCK, SHOP["branch"]) or {}).get(str(product), 0))


@pytest.mark.slow
@pytest.mark.socket
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_concurrent_checkouts_of_the_last_units(tmp_path: Path, backend: str) -> None:
    stock = stock_at_store(SALMON)
    assert stock < CUSTOMERS
    with serve_shop(str(tmp_path / "shop.db") if backend == "sqlite" else None) as live, live.client() as client:
        customers = []
        for _ in range(CUSTOMERS):
            key = guest_key(client)
            address = complete_profile(client, key)
            add_to_cart(client, key, SALMON, 1)
            customers.append((key, address))
        assert free_units(client, SALMON) == stock
        start = threading.Barrier(CUSTOMERS)

        def check_out(key: str, address: int) -> httpx.Response:
            with live.client() as own:
                start.wait(timeout=60)
                return checkout(own, key, address=address)

        reserved = []
        with ThreadPoolExecutor(CUSTOMERS) as pool:
            futures = [pool.submit(check_out, key, address) for key, address in customers]
            for _ in as_completed(futures):
                reserved.append(_reserved(live, SALMON))  # sampled while the others still run
            responses = [future.result() for future in futures]

        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200] * stock + [400] * (CUSTOMERS - stock), statuses
        refusals = [r.json()["error"] for r in responses if r.status_code == 400]
        assert all("not enough stock" in error and "0 left" in error for error in refusals), refusals
        assert max(reserved) <= stock and _reserved(live, SALMON) == stock
        assert free_units(client, SALMON) == 0
        winners = [key for (key, _), r in zip(customers, responses, strict=True) if r.status_code == 200]
        bought = [order_page(client, key)["results"] for key in winners]
        assert [[o["items"][0]["quantity"] for o in orders] for orders in bought] == [[1]] * stock
        losers = [key for (key, _), r in zip(customers, responses, strict=True) if r.status_code == 400]
        assert all(order_page(client, key)["count"] == 0 for key in losers)
        assert mock_bugs(client) == 0
