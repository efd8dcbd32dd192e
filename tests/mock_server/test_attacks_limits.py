"""The attack scripts of issue 21's limits (points 7, 8, 9, 12), kept in CI: bounded in count, never timed.

Each replays one class of the attack run against the in-process mock and checks what it must not
get: a list that reads every order (7), keys kept without bound (8), a clock that adds up to
ids of another width or century (9), an ambiguous caller or a user name with control characters
(12). The guarding unit tests are in ``test_lists``, ``test_token_keys`` and ``test_clock_range``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.auth.token_keys import EVERY_KEY, KEYS, TokenKeys
from mock_server.storage import MemoryStorage
from tests.fixtures.counting import Counted
from tests.fixtures.mock import login_user
from villa_contracts.contract import load
from villa_contracts.domain.clock import RANGE_END, AdjustableClock
from villa_contracts.domain.shop import KeyPolicy

USERS = load().data("users")
POOL = load().data("cognito")
ADDRESS = {"firstname": "A", "lastname": "B", "address1": "1 Hill", "zipcode": "47546", "phone": "555-8450"}
TEN_YEARS = 315_360_000


# 7. Listing was a scan: two clients listing ~2,000 orders slowed every client. A list now reads its page.


def test_two_clients_listing_thousands_of_orders_read_only_their_pages() -> None:
    store = Counted(MemoryStorage())
    with TestClient(create_app(store=store)) as api:
        alice, bob = login_user(api, 0), login_user(api, 1)
        for n in range(2000):
            lines = [{"variant_id": 33, "quantity": 1}] if n % 3 else []
            body = {"line_items": lines, "ship_address": ADDRESS}
            assert api.post("/api/v1/orders.json", json=body, headers=alice.headers).status_code == 201
        store.clear()
        lists = 0
        for page in range(1, 41):  # two clients, alternating, over every filter
            for user, query in ((alice, f"page={page}"), (bob, f"type=not_completed&page={page}")):
                answer = api.get(f"/api/orders.json?{query}", headers=user.headers)
                assert answer.status_code == 200, answer.text
                lists += 1
            for query in (f"state=payment&page={page}", f"state=created&type=completed&page={page}"):
                assert api.get(f"/api/orders.json?{query}", headers=alice.headers).status_code == 200
                lists += 1
            assert api.get("/api/health").status_code == 200
        assert store.records <= lists * 11  # the page's 10 orders and the stock record, never the 2,000
        assert api.get("/__admin/journal").json()["mockBugs"] == 0


# 8. Unbounded keys: every guest key was kept forever, login keys never expired.


def test_a_guest_flood_keeps_at_most_the_maximum_and_the_oldest_guests_go() -> None:
    clock = AdjustableClock(frozen_at=1_767_139_200.0)
    with TestClient(create_app(clock=clock)) as api:
        state = api.app.state.mock  # type: ignore[attr-defined]
        state.auth.token_keys = TokenKeys(state.store, clock, lambda: KeyPolicy(86_400.0, 300))
        user = USERS[0]
        login = api.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
        keys = [api.post("/api/shop/auth/guest").json()["token"] for _ in range(1500)]
        assert len(list(state.store.values(KEYS))) == 300 == state.store.index_count(EVERY_KEY)

        def status(key: str) -> int:
            return api.get("/api/shop/cart", headers={"Authorization": f"Token {key}"}).status_code

        assert status(login.json()["token"]) == 200  # the login key outlived 1,500 guests
        assert [status(k) for k in keys[:5]] == [401] * 5 and [status(k) for k in keys[-5:]] == [200] * 5
        clock.advance(86_400)
        fresh = api.post("/api/shop/auth/guest").json()["token"]
        for _ in range(3):
            assert status(fresh) == 200  # each request sweeps a batch of the expired
        assert len(list(state.store.values(KEYS))) == 1
        assert status(login.json()["token"]) == 401 and status(keys[-1]) == 401


# 9. The clock added up without bound: ORD-10051-… keys, and the order list answered 500.


def test_a_clock_flood_stops_at_the_end_of_the_range_and_every_list_still_answers() -> None:
    with TestClient(create_app()) as api:
        statuses = [api.post("/__admin/clock", json={"advanceSeconds": TEN_YEARS}).status_code for _ in range(100)]
        assert statuses.count(400) >= 90 and set(statuses) == {200, 400}
        assert api.get("/__admin/clock").json()["now"] < RANGE_END
        user = USERS[0]
        key = api.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
        shop = {"Authorization": f"Token {key.json()['token']}"}
        assert api.post("/api/shop/cart/items", json={"product_id": 188468, "quantity": 1}, headers=shop).status_code
        checkout = {"address": 123, "payment_method": 3, "shipping_method": 2}
        assert api.post("/api/shop/checkout/cart", json=checkout, headers=shop).status_code == 200
        orders = api.get("/api/shop/orders", headers=shop)
        assert orders.status_code == 200, orders.text
        assert re.fullmatch(r"ORD-20[0-9]{2}-[0-9]{6}", orders.json()["results"][0]["order_key"])
        alice = login_user(api, 0)
        gentele = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers)
        assert re.fullmatch(r"1000[0-9]{8}", gentele.json()["orderId"])
        assert api.get("/api/orders.json", headers=alice.headers).status_code == 200
        assert api.get("/__admin/journal").json()["mockBugs"] == 0


# 12. Duplicate credential headers named two callers (the shop took the first); user names held NUL.


def _secured() -> Iterator[tuple[str, str, str, tuple[str, ...]]]:
    for contract in load():
        for operation in contract.operations.values():
            if operation.schemes:
                path = re.sub(r"\{[^}]+\}", "1", operation.path)
                yield contract.name, operation.method, path, operation.schemes


@pytest.fixture(scope="module")
def shared_api() -> Iterator[TestClient]:
    with TestClient(create_app()) as client:
        yield client


@pytest.mark.parametrize(("contract", "method", "path", "schemes"), list(_secured()))
def test_a_credential_header_sent_twice_is_refused_on_every_secured_operation(
    shared_api: TestClient, contract: str, method: str, path: str, schemes: tuple[str, ...]
) -> None:
    api = shared_api
    villa = login_user(api, 0).headers["Authorization"]
    user = USERS[0]
    shop = "Token " + api.post("/api/shop/auth/token", json={"username": user["username"],
                                                           "password": user["password"]}).json()["token"]  # fmt: skip
    valid = {"idToken": ("Authorization", villa), "tokenKey": ("Authorization", shop),
             "adminToken": ("X-Villa-Admin-Token", "x"), "gatewayKey": ("X-Gateway-Key", "x")}  # fmt: skip
    name, value = valid[schemes[0]]
    for second in (value, "Bearer someone-else"):  # the same credentials twice, or two callers
        answer = api.request(method, path, headers=[(name, value), (name, second)])
        assert answer.status_code == 401, (contract, method, path, answer.text)
        assert f"2 {name} headers" in answer.json()["error"] and value not in answer.text


def test_one_credential_header_and_other_repeated_headers_are_fine(shared_api: TestClient) -> None:
    alice = login_user(shared_api, 0)
    headers = [("Authorization", alice.headers["Authorization"]), ("Accept", "application/json"), ("Accept", "*/*")]
    assert shared_api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).status_code == 200
    # An open operation does not read Authorization: repeated there, it changes nothing.
    assert (
        shared_api.post("/api/shop/auth/guest", headers=[("Authorization", "a"), ("Authorization", "b")]).status_code
        == 201
    )


CONTROL = ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85"]


def _secret_hash(username: str) -> str:
    client = POOL["appClients"][0]
    mac = hmac.new(client["clientSecret"].encode(), (username + client["clientId"]).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _cognito(api: TestClient, operation: str, body: dict[str, Any]) -> Any:
    headers = {"X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
               "Content-Type": "application/x-amz-json-1.1"}  # fmt: skip
    return api.post("/", content=json.dumps(body).encode(), headers=headers)


@pytest.mark.parametrize("char", CONTROL, ids=[f"U+{ord(c):04X}" for c in CONTROL])
def test_no_user_name_holds_a_control_character(char: str) -> None:
    with TestClient(create_app()) as api:
        before = api.get("/__admin/users").json()
        name = f"evil{char}name@villa.example"
        admin = api.post("/__admin/users", json={"username": name, "password": "QaUser123!x"})
        assert admin.status_code == 400 and admin.json()["details"][0]["pointer"] == "/username", admin.text
        client = POOL["appClients"][0]["clientId"]
        signed = _cognito(api, "SignUp", {"ClientId": client, "Username": name, "Password": "QaUser123!x",
                                          "SecretHash": _secret_hash(name)})  # fmt: skip
        assert signed.status_code == 400 and signed.json()["__type"] == "InvalidParameterException", signed.text
        assert char.isspace() or f"U+{ord(char):04X}" in signed.json()["message"]  # spaces: Cognito's own rule
        created = _cognito(api, "AdminCreateUser", {"UserPoolId": POOL["userPoolId"], "Username": name,
                                                    "TemporaryPassword": "QaUser123!x"})  # fmt: skip
        assert created.status_code == 400 and created.json()["__type"] == "InvalidParameterException"
        assert api.get("/__admin/users").json() == before
        # The rule is the user directory's, so an admin call that skips the contract is refused too.
        from mock_server.errors import BadRequest

        with pytest.raises(BadRequest, match="control characters"):
            api.app.state.mock.auth.admin_create_user(name, "QaUser123!x")  # type: ignore[attr-defined]
