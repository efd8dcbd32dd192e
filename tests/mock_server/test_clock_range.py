"""The mock's clock has one range, and every id format holds across it (issue 21, point 9).

~800 advances of 10 years used to give shop order keys like ``ORD-10051-…`` (and Villa order ids
whose 2-digit year was another century's): the clock reads 2000-01-01 to 2100-01-01 (excluded),
a move to the end is a 400, and each id the mock makes is checked at both ends of the range.
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.storage import Storage
from tests.fixtures.mock import login_user, new_order
from villa_contracts.contract import load
from villa_contracts.domain.clock import RANGE_END, RANGE_START, AdjustableClock
from villa_contracts.domain.errors import RuleViolation

TEN_YEARS = 315_360_000
USER = load().data("users")[0]
CARD = next(n for n, c in load().data("test_cards")["cards"].items() if c["outcome"] == "approve")
ENDS = {"start": RANGE_START, "end": RANGE_END - 0.001}


def test_the_admin_contract_declares_the_domains_range() -> None:
    declared = load()["admin"].operation("advanceClock").spec["x-villa"]["clockRange"]
    as_epoch = {k: calendar.timegm(time.strptime(v, "%Y-%m-%dT%H:%M:%SZ")) for k, v in declared.items()}
    assert as_epoch == {"start": RANGE_START, "end": RANGE_END}


def test_a_move_to_the_end_of_the_range_is_a_400_that_changes_nothing(store: Storage) -> None:
    # The wall clock (a store shared by processes keeps the offset in the store: StoredClock).
    with TestClient(create_app(store=store)) as api:
        statuses = [api.post("/__admin/clock", json={"advanceSeconds": TEN_YEARS}).status_code for _ in range(12)]
        assert 200 in statuses and statuses[-1] == 400
        before = api.get("/__admin/clock").json()
        assert before["now"] < RANGE_END
        room = RANGE_END - before["now"]
        refused = api.post("/__admin/clock", json={"advanceSeconds": room})
        assert refused.status_code == 400
        assert refused.json()["details"][0]["pointer"] == "/advanceSeconds"
        assert "2100-01-01T00:00:00Z" in refused.json()["error"] and "POST /__admin/reset" in refused.json()["error"]
        assert api.get("/__admin/clock").json()["offsetSeconds"] == before["offsetSeconds"]
        assert api.post("/__admin/clock", json={"advanceSeconds": room - 60}).status_code == 200
        assert api.post("/__admin/reset").status_code == 200
        assert api.get("/__admin/clock").json()["offsetSeconds"] == 0


def test_a_clock_cannot_be_frozen_outside_its_range() -> None:
    for instant in (RANGE_START - 1, RANGE_END, 1e12):
        with pytest.raises(ValueError, match="2100-01-01T00:00:00Z"):
            AdjustableClock(frozen_at=instant)
    clock = AdjustableClock(frozen_at=RANGE_END - 10)
    with pytest.raises(RuleViolation, match="past the end of its range"):
        clock.advance(10)
    clock.advance(9)
    assert clock.now() == RANGE_END - 1


# --- every id format at both ends of the range --------------------------------------------------


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text  # a contract-violating answer would be a 500
    return response.json()


def _shop(api: TestClient) -> dict[str, str]:
    key = _ok(api.post("/api/shop/auth/token", json={"username": USER["username"], "password": USER["password"]}))
    return {"Authorization": f"Token {key['token']}"}


def _shop_order(api: TestClient) -> tuple[dict[str, str], str]:
    key = _shop(api)
    _ok(api.post("/api/shop/cart/items", json={"product_id": 188468, "quantity": 1}, headers=key))
    _ok(api.post("/api/shop/checkout/cart", json={"address": 123, "payment_method": 1, "shipping_method": 2},
                 headers=key))  # fmt: skip
    listed = _ok(api.get("/api/shop/orders", headers=key))
    return key, listed["results"][0]["order_key"]


def villa_order_id(api: TestClient) -> str:
    return str(new_order(api, login_user(api, 0))["orderId"])


def villa_charge_id(api: TestClient) -> str:
    alice = login_user(api, 0)
    order = new_order(api, alice)
    card = {"number": CARD, "expirationMonth": "12", "expirationYear": "2099"}
    body = {"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": "174.0", "card": card}
    token = _ok(api.post("/api/payment3devapi/cardtoken", json=body, headers=alice.headers))["cardToken"]
    charge = {"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": 174.0, "token": token}
    paid = _ok(api.post("/api/payment3devapi/charge", json=charge, headers=alice.headers))
    verify = {"orderId": order["orderId"], "chargeId": paid["chargeId"]}
    verified = _ok(api.post("/api/payment3devapi/verify", json=verify, headers=alice.headers))
    assert verified["order"]["payment"]["paymentId"] == order["orderId"]
    return str(paid["chargeId"])


def shop_order_key(api: TestClient) -> str:
    return _shop_order(api)[1]


def shop_attempt_id(api: TestClient) -> str:
    key, order_key = _shop_order(api)
    attempts = _ok(api.get(f"/api/shop/orders/{order_key}/attempts", headers=key))["results"]
    return str(attempts[0]["external_id"])


def shop_attempt_log(api: TestClient) -> str:
    key, order_key = _shop_order(api)
    attempt = _ok(api.get(f"/api/shop/orders/{order_key}/attempts", headers=key))["results"][0]
    _ok(api.post(f"/mock/gateway/{attempt['external_id']}", data={"action": "approve"}))
    return str(_ok(api.get(f"/api/shop/orders/{order_key}/attempts", headers=key))["results"][0]["log"][0])


def shop_guest(api: TestClient) -> str:
    return str(_ok(api.post("/api/shop/auth/guest"), 201)["customer"])


def shop_token_key(api: TestClient) -> str:
    return _shop(api)["Authorization"].removeprefix("Token ")


def shop_address_id(api: TestClient) -> str:
    body = {"line1": "1 Soi Ari", "city": "Bangkok", "postcode": "10400", "phone": "0812345678"}
    return str(_ok(api.post("/api/shop/addresses", json=body, headers=_shop(api)), 201)["id"])


def line_item_order_id(api: TestClient) -> str:
    alice = login_user(api, 0)
    address = {
        "firstname": "N",
        "lastname": "U",
        "address1": "2315 Molly Hill",
        "zipcode": "47546",
        "phone": "555-8450",
    }
    body = {"line_items": [{"variant_id": 33, "quantity": 1}], "ship_address": address}
    order = _ok(api.post("/api/v1/orders.json", json=body, headers=alice.headers), 201)
    assert _ok(api.get("/api/orders.json", headers=alice.headers))["orders"][0]["id"] == order["id"]
    return str(order["id"])


def user_sub(api: TestClient) -> str:
    return str(_ok(api.post("/__admin/users", json={"username": "range.user", "password": "Range123!x"}), 201)["sub"])


FORMATS: dict[str, tuple[Callable[[TestClient], str], Callable[[int], str]]] = {
    # name: (how the mock makes one, the pattern it must match in the year given)
    "villa orderId": (villa_order_id, lambda year: rf"1000{year % 100:02d}[0-9]{{6}}"),
    "villa chargeId": (villa_charge_id, lambda year: r"chrg_test_[0-9a-f]{20}"),
    "shop order_key": (shop_order_key, lambda year: rf"ORD-{year}-[0-9]{{6}}"),
    "shop attempt external_id": (shop_attempt_id, lambda year: r"pay_[0-9a-f]{20}"),
    "shop attempt log": (shop_attempt_log, lambda year: rf"{year}-[0-9]{{2}}-[0-9]{{2}}T[0-9:]{{8}}Z PAID .*"),
    "shop guest": (shop_guest, lambda year: r"guest:anon_[0-9a-f]{12}"),
    "shop token key": (shop_token_key, lambda year: r"[0-9a-f]{40}"),
    "shop address id": (shop_address_id, lambda year: r"100[0-9]"),
    "line-item order id": (line_item_order_id, lambda year: r"[1-9][0-9]*"),
    "user sub": (user_sub, lambda year: r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
}


@pytest.mark.parametrize("end", list(ENDS))
@pytest.mark.parametrize("name", list(FORMATS))
def test_every_id_format_holds_at_both_ends_of_the_range(name: str, end: str) -> None:
    make, pattern = FORMATS[name]
    instant = ENDS[end]
    with TestClient(create_app(clock=AdjustableClock(frozen_at=instant))) as api:
        made = make(api)
        assert re.fullmatch(pattern(time.gmtime(instant).tm_year), made), made
        assert api.get("/__admin/journal").json()["mockBugs"] == 0
