"""Scenarios: the whole state taken (GET /__admin/scenario) and put back (PUT, ``create_app(scenario=...)``).

The shipped ones start a real mock on a socket and are read back through the API with real HTTP
clients (the reference client for the Villa API), as their users would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from mock_server.scenario import NEVER_EXPORTED, ScenarioError, read_file, shipped
from mock_server.storage import Storage
from tests.fixtures.scenario_recipes import INSTANT, RECIPES, VILLA_BUYER, build, villa_payments
from villa_contracts.client import VillaClient
from villa_contracts.contract import load
from villa_contracts.domain.clock import AdjustableClock
from villa_contracts.target import mock_environ

CONTRACTS = load()


def _taken() -> dict[str, Any]:
    with TestClient(create_app(clock=AdjustableClock(frozen_at=INSTANT), seed=7)) as api:
        villa_payments(api)
        return dict(api.get("/__admin/scenario").json())


def test_a_taken_state_loads_back_the_same_on_every_store(store: Storage) -> None:
    taken = _taken()
    app = create_app(base_url="http://elsewhere:9", clock=AdjustableClock(frozen_at=INSTANT), store=store,
                     allowed_hosts=("elsewhere",))  # fmt: skip
    with TestClient(app, base_url="http://elsewhere:9") as api:
        loaded = api.put("/__admin/scenario", json=taken)
        assert loaded.status_code == 200, loaded.text
        assert loaded.json()["agedSeconds"] == 0 and loaded.json()["now"] == taken["clock"]["now"]
        assert api.get("/__admin/scenario").json() == taken
        # its 3-D Secure link is this mock's, wherever the state was taken
        charge = next(c for c in app.state.mock.store.values("charges") if c["redirect_url"])
        assert charge["redirect_url"].startswith("http://elsewhere:9/mock/3ds/")


def test_a_loaded_state_answers_as_the_taken_one_did() -> None:
    taken = _taken()
    clock = AdjustableClock(frozen_at=INSTANT)
    with TestClient(create_app(clock=clock, scenario=taken)) as api:
        headers = VILLA_BUYER.headers(api)
        orders = taken["records"]["orders"]
        answers = {key: api.post("/api/order/get", json={"orderId": key}, headers=headers).json() for key in orders}
        assert answers == orders
        charge = next(c for c in taken["records"]["charges"].values() if c["redirect_url"])
        done = api.post(charge["redirect_url"].replace("{baseUrl}", "http://testserver"), json={"action": "complete"})
        assert done.json()["transaction_state"] == "Authorized"
        verified = api.post("/api/payment3devapi/verify", json={"orderId": charge["orderId"],
                            "chargeId": charge["chargeId"]}, headers=headers)  # fmt: skip
        assert verified.json()["paid"] is True
        # the unpaid one was taken 10 minutes before it expires
        unpaid = [key for key, order in orders.items() if not order["payment"]["isPaid"] and key != charge["orderId"]]
        assert len(unpaid) == 1
        assert api.post("/__admin/clock", json={"advanceSeconds": 601}).status_code == 200
        headers = VILLA_BUYER.headers(api)
        assert api.post("/api/order/get", json={"orderId": unpaid[0]}, headers=headers).status_code == 404
        # a new order takes the next id, never one of the scenario's
        issued = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()["orderId"]
        assert issued not in orders


def test_a_scenario_taken_in_the_past_loads_at_the_wall_clock_older_by_the_time_since() -> None:
    taken = _taken()
    clock = AdjustableClock(frozen_at=taken["clock"]["now"] + 3600)
    with TestClient(create_app(clock=clock)) as api:
        loaded = api.put("/__admin/scenario", json=taken).json()
        assert loaded["agedSeconds"] == 3600
        assert api.get("/__admin/clock").json()["offsetSeconds"] == 0


def test_an_export_holds_no_secret_no_token_and_no_card_number() -> None:
    with TestClient(create_app()) as api:
        villa_payments(api)
        key = api.post("/api/shop/auth/guest").json()["token"]
        text = api.get("/__admin/scenario").text
    exported = json.loads(text)
    assert not set(exported["records"]) & set(NEVER_EXPORTED)
    assert not [name for name in exported["indexes"] if name.startswith("shop_token_keys")]
    for secret in (key, VILLA_BUYER.password, "tokn_test_", "PRIVATE KEY", "4111111111111111", "5149500000009007"):
        assert secret not in text
    assert all("password" not in user and user["passwordHash"]["scheme"] == "scrypt" for user in exported["users"])


def _bad(**change: Any) -> dict[str, Any]:
    document = _taken()
    for pointer, value in change.items():
        *path, last = pointer.split("__")
        target = document
        for part in path:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value
    return document


USER = {"username": "u@villa.example", "sub": "sub-1", "password": "VillaDemo123"}


@pytest.mark.parametrize(
    ("document", "pointer", "said"),
    [
        ({"scenario": 2}, "", "is invalid"),  # the admin contract's schema, checked before the handler
        (_bad(clock__now=5_000_000_000), "/clock/now", "is invalid"),
        (_bad(users=[USER, {**USER, "sub": "sub-2", "username": "U@villa.example"}]), "/users/1/username", "twice"),
        (_bad(users=[USER, {**USER, "username": "v@villa.example"}]), "/users/1/sub", "sub 'sub-1' is given to both"),
        (_bad(users=[{**USER, "sub": "7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11"}]), "/users/0/sub", "is given to both"),
        (_bad(records={"cognito_keys": {"signing": {"pem": "x"}}}), "/records/cognito_keys", "signing key"),
        (_bad(indexes={"shop_token_keys:all": {"x": 1}}), "/indexes/shop_token_keys:all", "token keys"),
        (_bad(records={"orders": {"1": {"orderId": "1"}}}), "/records/orders/1", "not a Villa order"),
        (_bad(users=[]), "/ownerId", "is no user's sub"),
    ],
)
def test_a_bad_scenario_is_refused_whole_with_its_pointer(document: dict[str, Any], pointer: str, said: str) -> None:
    with TestClient(create_app()) as api:
        villa_payments(api)
        before = api.get("/__admin/scenario").json()
        refused = api.put("/__admin/scenario", json=document)
        assert refused.status_code == 400, refused.text
        detail = refused.json()["details"][0]
        assert detail["pointer"].endswith(pointer) and said in refused.json()["error"], refused.json()
        after = api.get("/__admin/scenario").json()
        assert after["records"] == before["records"] and after["users"] == before["users"]
        with pytest.raises(ScenarioError) as raised:
            create_app(scenario=document)
        assert raised.value.pointer.endswith(pointer)


def test_a_name_or_a_path_and_what_a_file_that_is_none_says(tmp_path: Path) -> None:
    assert set(shipped(CONTRACTS)) == set(RECIPES)
    assert read_file("villa-payments", CONTRACTS) == json.loads(shipped(CONTRACTS)["villa-payments"].read_text())
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ScenarioError, match="a scenario is a JSON object, not list"):
        read_file(str(tmp_path / "list.json"), CONTRACTS)


# --- the shipped scenarios, on a real socket -----------------------------------------------------


def _serve(name: str) -> Any:
    document = read_file(name, CONTRACTS)
    return serve_in_thread(lambda url: create_app(base_url=url, scenario=document), log_level="critical")


def _demo(name: str) -> tuple[str, str]:
    user = read_file(name, CONTRACTS)["users"][0]
    return user["username"], user["password"]


@pytest.mark.socket
def test_villa_payments_a_paid_order_one_awaiting_3ds_one_about_to_expire() -> None:
    username, password = _demo("villa-payments")
    with _serve("villa-payments") as server, httpx.Client(timeout=10) as http:
        cognito = http.get(f"{server.base_url}/__admin/cognito").json()
        with VillaClient.from_env(environ=mock_environ(server.base_url, cognito)) as client:
            client.login(username, password)
            orders = [client.orders.get(key) for key in read_file("villa-payments", CONTRACTS)["records"]["orders"]]
            assert sorted(order.payment_status or "" for order in orders) == ["PAID", "PENDING", "PENDING"]
        charges = read_file("villa-payments", CONTRACTS)["records"]["charges"].values()
        waiting = next(c for c in charges if c["transaction_state"] == "Pre-Authorized")
        page = http.get(waiting["redirect_url"].replace("{baseUrl}", server.base_url))
        assert page.status_code == 200 and "Complete" in page.text
        clock = http.get(f"{server.base_url}/__admin/clock").json()
        assert clock["now"] >= INSTANT + 4 * 3600  # the scenario's instant, 2031: nothing has aged
        stock = http.get(f"{server.base_url}/__admin/stock").json()["branches"]["1000"]
        assert stock["188468"]["reserved"] == 2 and stock["164687"]["reserved"] == 1


@pytest.mark.socket
def test_shop_checkout_a_customer_with_a_paid_order_one_awaiting_the_gateway_and_a_cart() -> None:
    username, password = _demo("shop-checkout")
    with _serve("shop-checkout") as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        key = http.post("/api/shop/auth/token", json={"username": username, "password": password}).json()["token"]
        auth = {"Authorization": f"Token {key}"}
        orders = http.get("/api/shop/orders", headers=auth).json()["results"]
        assert sorted((o["status"], o["paid"]) for o in orders) == [("HOLD", False), ("PROCESSING", True)]
        assert http.get("/api/shop/profile", headers=auth).json()["completed"] is True
        cart = http.get("/api/shop/cart", headers=auth).json()["items"]
        assert {item["product_id"] for item in cart} == {188468, 164687}  # a cart empties when its order is paid


@pytest.mark.socket
def test_lineitems_orders_delivered_completed_and_one_awaiting_payment() -> None:
    username, _ = _demo("lineitems-orders")
    with _serve("lineitems-orders") as server, httpx.Client(base_url=server.base_url, timeout=10) as http:
        token = http.post(f"/__admin/users/{username}/tokens").json()["IdToken"]
        listed = http.get("/api/orders.json", headers={"Authorization": f"Bearer {token}"}).json()["orders"]
        assert sorted(order["state"] for order in listed) == ["completed", "delivered", "payment"]
        variants = http.get("/__admin/lineitems/stock").json()["variants"]
        assert variants["36"]["reserved"] == 3


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_the_shipped_scenarios_are_their_recipes_and_their_users_are_nobody_elses(name: str) -> None:
    shipped_users = read_file(name, CONTRACTS)["users"]
    assert [u["username"] for u in shipped_users] == [u["username"] for u in build(name)["users"]]
    for user in shipped_users:
        assert user["username"].endswith("@scenario.example")  # never a gate's (gate-<seed>-<n>@villa.example)
        assert "passwordHash" not in user and user["password"]  # a documented test credential
