"""The line-item order API (seed 004) on the mock: the seed's examples, PayPal, stock, 5-hour expiry, my orders."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from tests.fixtures.mock import User, login_user
from villa_contracts.contract import load
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.clock import AdjustableClock

FIVE_HOURS = 5 * 60 * 60
SHIRT_M, SHIRT_L = 36, 37  # stock 10 and 2 (contracts/data/lineitems.yaml)
ADDRESS = {"firstname": "Noemi", "lastname": "Ullrich", "address1": "2315 Molly Hill", "address2": "Suite 329",
           "zipcode": "47546", "phone": "(684) 555-8450"}  # fmt: skip
SEED_BODY = {
    "remarks": "this is a remarks",
    "line_items": [{"variant_id": 33, "quantity": 2}, {"variant_id": 34, "quantity": 3}],
    "ship_address": ADDRESS,
}
# Every field of the seed's create answer, with the JSON type it shows (stocks_count: its list's).
SEED_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": int, "state": str, "all_paid": bool, "display_item_total": str, "item_total": float,
    "item_total_cents": int, "display_ship_total": str, "ship_total": float, "ship_total_cents": int,
    "display_total": str, "total": float, "total_cents": int, "remarks": str, "ship_address": dict,
    "line_items": list, "shipping_fee_items": list,
}  # fmt: skip
ADDRESS_FIELDS = ["firstname", "lastname", "full_name", "address1", "address2", "zipcode", "phone"]
VARIANT_FIELDS: dict[str, type | tuple[type, ...]] = {
    "id": int, "options_text": str, "stocks_count": int, "display_price": str, "price": float,
    "price_cents": int, "merchant": dict, "images": list,
}  # fmt: skip


def create(api: TestClient, user: User, *lines: tuple[int, int], **body: Any) -> Any:
    payload = {"line_items": [{"variant_id": v, "quantity": q} for v, q in lines], "ship_address": ADDRESS, **body}
    return api.post("/api/v1/orders.json", json=payload, headers=user.headers)


def pay(api: TestClient, user: User, order_id: int, reference_id: str) -> Any:
    return api.post(f"/api/orders/{order_id}/payments", json={"reference_id": reference_id}, headers=user.headers)


def orders(api: TestClient, user: User, path: str = "/api/orders.json", **params: Any) -> dict[str, Any]:
    response = api.get(path, params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def every_id(api: TestClient, user: User, **params: Any) -> list[int]:
    first = orders(api, user, **params)
    ids = [o["id"] for o in first["orders"]]
    for page in range(2, first["total_pages"] + 1):
        ids += [o["id"] for o in orders(api, user, page=page, **params)["orders"]]
    return ids


def free(api: TestClient, variant: int) -> int:
    return int(api.get("/__admin/lineitems/stock").json()["variants"][str(variant)]["free"])


def advance(api: TestClient, seconds: float) -> User:
    """Move the mock's clock; answer the first user logged in again (ID tokens live an hour)."""
    assert api.post("/__admin/clock", json={"advanceSeconds": seconds}).status_code == 200
    return login_user(api, 0)


# 1. The seed's examples.


def test_the_seeds_create_body_answers_state_payment_with_every_field(api: TestClient, alice: User) -> None:
    response = create(api, alice, (33, 2), (34, 3), remarks="this is a remarks")
    assert response.status_code == 201, response.text
    order = response.json()
    assert list(order) == list(SEED_FIELDS)
    for name, kind in SEED_FIELDS.items():
        assert isinstance(order[name], kind), (name, order[name])
    assert (order["state"], order["all_paid"]) == ("payment", False)
    assert (order["display_item_total"], order["item_total"], order["item_total_cents"]) == ("$400", 400.0, 40000)
    assert (order["display_ship_total"], order["ship_total"], order["ship_total_cents"]) == ("$0", 0.0, 0)
    assert (order["display_total"], order["total"], order["total_cents"]) == ("$400", 400.0, 40000)
    assert list(order["ship_address"]) == ADDRESS_FIELDS
    assert order["ship_address"]["full_name"] == "Noemi Ullrich"
    assert [line["quantity"] for line in order["line_items"]] == [2, 3]
    for line in order["line_items"]:
        assert list(line["variant"]) == list(VARIANT_FIELDS)
        for name, kind in VARIANT_FIELDS.items():
            assert isinstance(line["variant"][name], kind), (name, line["variant"][name])
        assert list(line["variant"]["merchant"]) == ["name", "avatar"]
        assert list(line["variant"]["images"][0]) == ["url", "medium_url", "thumb_url"]
    first = order["line_items"][0]["variant"]
    assert (first["id"], first["display_price"], first["price"], first["price_cents"]) == (33, "$50", 50.0, 5000)
    assert first["merchant"]["name"] == "Considine-Ryan"
    assert order["shipping_fee_items"] == [
        {"merchant": "Considine-Ryan", "display_shipping_fee": "$0", "shipping_fee": 0.0, "shipping_fee_cents": 0}
    ]


def test_paying_with_the_seeds_reference_id_completes_the_order(api: TestClient, alice: User) -> None:
    order = create(api, alice, (33, 2), (34, 3)).json()
    response = pay(api, alice, order["id"], "123456789")
    assert response.status_code == 201, response.text
    paid = response.json()
    assert (paid["state"], paid["all_paid"], paid["total_cents"]) == ("completed", True, 40000)
    assert every_id(api, alice, type="completed") == [order["id"]]


def test_the_seeds_list_example_two_merchants_ship_five_dollars_each(api: TestClient, alice: User) -> None:
    order = create(api, alice, (251, 2), (252, 2)).json()
    assert (order["display_item_total"], order["display_ship_total"], order["display_total"]) == ("$36", "$10", "$46")
    assert (order["item_total_cents"], order["ship_total_cents"], order["total_cents"]) == (3600, 1000, 4600)
    assert [item["merchant"] for item in order["shipping_fee_items"]] == ["Fadel and Sons", "Marquardt-Murray"]
    assert [item["display_shipping_fee"] for item in order["shipping_fee_items"]] == ["$5", "$5"]


def test_both_list_paths_answer_the_same(api: TestClient, alice: User) -> None:
    create(api, alice, (33, 1))
    assert orders(api, alice, "/api/orders") == orders(api, alice, "/api/orders.json")


# 2. Payments.


def test_a_partial_payment_keeps_the_order_in_payment_until_the_rest_is_paid(api: TestClient, alice: User) -> None:
    order = create(api, alice, (33, 2), (34, 3)).json()
    partial = pay(api, alice, order["id"], "PAYID-PARTIAL-SEED").json()
    assert (partial["state"], partial["all_paid"]) == ("payment", False)
    assert every_id(api, alice, type="not_completed") == [order["id"]]
    rest = pay(api, alice, order["id"], "PAYID-30000-rest").json()
    assert (rest["state"], rest["all_paid"]) == ("completed", True)


@pytest.mark.parametrize(
    ("reference_id", "status", "words"),
    [("nobody-knows-this", 404, "PayPal knows no payment"), ("123456789", 409, "has paid already")],
)
def test_an_unknown_or_used_reference_id_is_refused_clearly(
    api: TestClient, alice: User, reference_id: str, status: int, words: str
) -> None:
    used = create(api, alice, (33, 8)).json()
    assert pay(api, alice, used["id"], "123456789").status_code == 201
    order = create(api, alice, (33, 1)).json()
    response = pay(api, alice, order["id"], reference_id)
    assert response.status_code == status
    assert words in response.json()["error"]
    assert orders(api, alice, type="not_completed")["orders"][0]["id"] == order["id"]


def test_a_completed_order_takes_no_more_payments(api: TestClient, alice: User) -> None:
    order = create(api, alice, (33, 1)).json()
    assert pay(api, alice, order["id"], "PAYID-5000-a").status_code == 201
    response = pay(api, alice, order["id"], "PAYID-5000-b")
    assert response.status_code == 409
    assert "paid in full" in response.json()["error"]


def test_an_order_without_line_items_stays_created_and_takes_no_payment(api: TestClient, alice: User) -> None:
    order = create(api, alice).json()
    assert (order["state"], order["all_paid"], order["total_cents"]) == ("created", False, 0)
    assert pay(api, alice, order["id"], "PAYID-0-x").status_code == 409
    assert every_id(api, alice, state="created") == [order["id"]]


def test_another_users_order_answers_like_a_missing_one(api: TestClient, alice: User, bob: User) -> None:
    order = create(api, alice, (33, 1)).json()
    theirs = pay(api, bob, order["id"], "PAYID-5000-bob")
    missing = pay(api, bob, 999999, "PAYID-5000-bob")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json()["error"].replace(str(order["id"]), "N") == missing.json()["error"].replace("999999", "N")
    assert every_id(api, bob) == []


def test_every_operation_needs_an_id_token(api: TestClient) -> None:
    answers = [
        api.post("/api/v1/orders.json", json=SEED_BODY),
        api.post("/api/orders/1/payments", json={"reference_id": "123456789"}),
        api.get("/api/orders.json"),
        api.get("/api/orders", headers={"Authorization": "Bearer not-a-token"}),
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 401]


# 3. Stock and the 5-hour expiry.


def test_short_stock_answers_the_seeds_body_and_reserves_nothing(api: TestClient, alice: User) -> None:
    response = create(api, alice, (SHIRT_M, 1), (SHIRT_L, 3))
    assert response.status_code == 409
    assert response.json() == {"errors": {"variants": ["Can't fulfill stock of Product Linen Shirt Variant Size:L"]}}
    assert (free(api, SHIRT_M), free(api, SHIRT_L)) == (10, 2)
    assert every_id(api, alice) == []


@contextmanager
def mock_app(clock: AdjustableClock, db_path: str | None = None) -> Iterator[TestClient]:
    app = create_app(clock=clock, db_path=db_path)
    with TestClient(app) as client:
        yield client
    app.state.mock.store.close()


@pytest.mark.parametrize("storage", ["memory", "sqlite"])
def test_an_unpaid_order_is_deleted_five_hours_after_creation_and_its_stock_restored(
    tmp_path: Path, storage: str
) -> None:
    with mock_app(AdjustableClock(), str(tmp_path / "mock.db") if storage == "sqlite" else None) as api:
        alice = login_user(api, 0)
        assert free(api, SHIRT_M) == 10
        order = create(api, alice, (SHIRT_M, 3)).json()
        assert order["line_items"][0]["variant"]["stocks_count"] == 7
        assert free(api, SHIRT_M) == 7
        alice = advance(api, FIVE_HOURS - 1)
        assert every_id(api, alice) == [order["id"]]
        alice = advance(api, 2)  # 5 h + 1 s after creation
        assert every_id(api, alice) == []
        assert pay(api, alice, order["id"], "PAYID-7650-late").status_code == 404
        assert free(api, SHIRT_M) == 10


def test_the_expiry_survives_a_restart_with_a_database(tmp_path: Path) -> None:
    db = str(tmp_path / "mock.db")
    clock = AdjustableClock(frozen_at=1_780_000_000.0)
    with mock_app(clock, db) as api:
        order = create(api, login_user(api, 0), (SHIRT_M, 3)).json()
        assert free(api, SHIRT_M) == 7
    with mock_app(clock, db) as api:
        alice = login_user(api, 0)
        assert free(api, SHIRT_M) == 7
        assert every_id(api, alice) == [order["id"]]
        alice = advance(api, FIVE_HOURS + 1)
        assert every_id(api, alice) == []
        assert free(api, SHIRT_M) == 10


def test_a_paid_order_never_expires_and_keeps_its_stock(api: TestClient, alice: User) -> None:
    order = create(api, alice, (SHIRT_M, 3)).json()
    assert pay(api, alice, order["id"], "PAYID-8150-full").json()["state"] == "completed"
    alice = advance(api, 3 * FIVE_HOURS)
    assert every_id(api, alice) == [order["id"]]
    assert free(api, SHIRT_M) == 7


@pytest.mark.parametrize("storage", ["memory", "sqlite", "redis"])
def test_a_partly_paid_order_that_expires_is_kept_canceled_with_its_payments_refunded(
    tmp_path: Path, storage: str, request: pytest.FixtureRequest
) -> None:
    store = {"memory": None, "sqlite": None, "redis": "redis_store"}[storage]
    app = create_app(
        clock=AdjustableClock(),
        db_path=str(tmp_path / "mock.db") if storage == "sqlite" else None,
        store=request.getfixturevalue(store) if store else None,
    )
    with TestClient(app) as api:
        alice = login_user(api, 0)
        order = create(api, alice, (SHIRT_M, 3)).json()
        unpaid = create(api, alice, (SHIRT_M, 1)).json()
        assert pay(api, alice, order["id"], "PAYID-100-part").json()["all_paid"] is False
        assert pay(api, alice, order["id"], "PAYID-250-more").json()["state"] == "payment"
        alice = advance(api, FIVE_HOURS + 1)
        (kept,) = orders(api, alice)["orders"]  # the unpaid order is gone, nothing was paid for it
        assert kept == {
            **order,
            "state": "canceled",
            "refunded_cents": 350,
            "refunded": 3.5,
            "display_refunded": "$3.50",
            "cancel_reason": "expired",
            "line_items": [
                {**order["line_items"][0], "variant": {**order["line_items"][0]["variant"], "stocks_count": 10}}
            ],
        }
        assert unpaid["id"] not in every_id(api, alice)
        assert free(api, SHIRT_M) == 10  # its stock back either way
        assert every_id(api, alice, type="not_completed") == []
        late = pay(api, alice, order["id"], "PAYID-7300-late")
        assert late.status_code == 409 and "refunded" in late.json()["error"]
        alice = advance(api, FIVE_HOURS + 1)  # a canceled order stays, whatever the clock does
        assert every_id(api, alice) == [order["id"]]
    app.state.mock.store.close()


def test_the_admin_moves_a_completed_order_to_delivered(api: TestClient, alice: User) -> None:
    order = create(api, alice, (33, 1)).json()
    path = f"/__admin/lineitems/orders/{order['id']}/state"
    assert api.put(path, json={"state": "delivered"}).status_code == 409  # not paid yet
    pay(api, alice, order["id"], "PAYID-5000-d")
    assert api.put(path, json={"state": "partial_delivered"}).json() == {
        "id": order["id"],
        "state": "partial_delivered",
    }
    assert every_id(api, alice, type="completed") == [order["id"]]
    assert every_id(api, alice, state="completed") == []
    assert api.put(path, json={"state": "delivered"}).status_code == 200
    assert api.put("/__admin/lineitems/orders/999999/state", json={"state": "delivered"}).status_code == 404


# 4. My orders: filters and pagination against the domain's answer.


def test_filters_and_pagination_over_25_mixed_orders_equal_the_domains_answer(api: TestClient, alice: User) -> None:
    model: list[dict[str, Any]] = []
    touched = itertools.count(1)
    for n in range(25):
        kind = n % 6
        order = create(api, alice) if kind == 0 else create(api, alice, (33, 1), (251, 1))
        record = {"id": order.json()["id"], "state": order.json()["state"], "touched": next(touched)}
        model.append(record)
        if kind in (2, 3, 4, 5):  # kind 2: partly paid
            reference = f"PAYID-100-p{n}" if kind == 2 else f"PAYID-6500-f{n}"
            record["state"] = pay(api, alice, record["id"], reference).json()["state"]
            record["touched"] = next(touched)
        if kind in (4, 5):
            moved = "partial_delivered" if kind == 4 else "delivered"
            api.put(f"/__admin/lineitems/orders/{record['id']}/state", json={"state": moved})
            record["state"], record["touched"] = moved, next(touched)
    assert {r["state"] for r in model} == {"created", "payment", "completed", "partial_delivered", "delivered"}
    page_size = rules.LineItemsData.from_contract(load()).page_size
    for state, type_ in itertools.product(
        [None, "created", "payment", "completed"], [None, "completed", "not_completed"]
    ):
        params = {k: v for k, v in (("state", state), ("type", type_)) if v}
        total_pages, _ = rules.my_orders(model, state=state, type_=type_, page=1, page_size=page_size)
        assert orders(api, alice, **params)["total_pages"] == total_pages, params
        for page in range(1, total_pages + 2):
            _, expected = rules.my_orders(model, state=state, type_=type_, page=page, page_size=page_size)
            got = orders(api, alice, page=page, **params)["orders"]
            assert [o["id"] for o in got] == [o["id"] for o in expected], (params, page)
            assert [o["state"] for o in got] == [o["state"] for o in expected], (params, page)
    assert len(every_id(api, alice)) == len(set(every_id(api, alice))) == 25


def test_no_orders_is_zero_pages(api: TestClient, alice: User) -> None:
    assert orders(api, alice) == {"total_pages": 0, "orders": []}


# 5. Hostile input: a 4xx JSON answer, never a 500.


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"line_items": [{"variant_id": 33}], "ship_address": ADDRESS},
        {"line_items": [{"variant_id": 33, "quantity": 0}], "ship_address": ADDRESS},
        {"line_items": [{"variant_id": 33, "quantity": 1}], "ship_address": {**ADDRESS, "zipcode": None}},
        {"line_items": [{"variant_id": 33, "quantity": 1}], "ship_address": {"firstname": "A"}},
        {"line_items": [{"variant_id": 999999999, "quantity": 1}], "ship_address": ADDRESS},
        {"line_items": "all of them", "ship_address": ADDRESS},
        [1, 2, 3],
    ],
)
def test_a_malformed_create_is_a_4xx_json_error(api: TestClient, alice: User, body: Any) -> None:
    response = api.post("/api/v1/orders.json", json=body, headers=alice.headers)
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()
    assert every_id(api, alice) == []


@pytest.mark.parametrize("query", ["state=shipped", "type=all", "page=0", "page=x", "page=99999999999"])
def test_a_malformed_filter_is_a_400(api: TestClient, alice: User, query: str) -> None:
    response = api.get(f"/api/orders.json?{query}", headers=alice.headers)
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_page_past_the_end_is_empty(api: TestClient, alice: User) -> None:
    create(api, alice, (33, 1))
    assert orders(api, alice, page=5) == {"total_pages": 1, "orders": orders(api, alice, page=5)["orders"]}
    assert orders(api, alice, page=5)["orders"] == []


@pytest.mark.parametrize(
    ("field", "value"),
    [("zipcode", "4111111111111111"), ("phone", "4111 1111 1111 1111"), ("address2", "card 5105-1051-0510-5100")],
)
def test_a_card_number_in_the_address_is_refused_and_never_echoed(
    api: TestClient, alice: User, field: str, value: str
) -> None:
    body = {**SEED_BODY, "ship_address": {**ADDRESS, field: value}}
    response = api.post("/api/v1/orders.json", json=body, headers=alice.headers)
    assert response.status_code == 400
    assert response.json()["details"][0]["pointer"] == f"/ship_address/{field}"
    assert value not in response.text and value.replace(" ", "").replace("-", "") not in response.text
    assert every_id(api, alice) == []


def test_long_digits_that_are_no_card_number_are_kept(api: TestClient, alice: User) -> None:
    phone = "4111111111111112"  # fails Luhn's check: not a card number
    order = create(api, alice, (33, 1), ship_address={**ADDRESS, "phone": phone}).json()
    assert order["ship_address"]["phone"] == phone
