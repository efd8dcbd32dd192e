"""Orders on the mock: ids, create/get/update, pricing from the catalog, stock, ownership."""

from __future__ import annotations

import re

from tests.fixtures.mock import new_order


def test_generated_ids_are_12_digits_and_unique(api, alice) -> None:
    ids = [
        api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()["orderId"]
        for _ in range(20)
    ]
    assert all(re.fullmatch(r"1000\d{8}", i) for i in ids)
    assert len(set(ids)) == 20


def test_gentele_is_strict(api, alice) -> None:
    assert api.post("/api/order2/gentele", json={"branchId": 1000}, headers=alice.headers).status_code == 400
    assert api.post("/api/order2/gentele", json={"branchId": "1000", "x": 1}, headers=alice.headers).status_code == 400
    response = api.post("/api/order2/gentele", json={"branchId": "9999"}, headers=alice.headers)
    assert response.status_code == 404
    assert "known branches" in response.json()["error"]


def test_create_prices_from_catalog_and_get_returns_it(api, alice) -> None:
    created = new_order(api, alice, products=[{"cprcode": 25281, "quantity": 1, "price": 20, "rowTotal": 20}])
    assert created["productList"][0]["price"] == 79.0
    assert created["payment"]["grandTotal"] == 174.0
    assert created["payment"]["status"] == "PENDING"
    assert created["payment"]["isPaid"] is False
    assert created["payment"]["paymentId"] == created["orderId"]
    fetched = api.post("/api/order/get", json={"orderId": created["orderId"]}, headers=alice.headers).json()
    assert fetched == created


def test_an_id_is_accepted_once(api, alice) -> None:
    created = new_order(api, alice)
    body = {k: created[k] for k in ("orderId", "ownerId", "basketId", "productList")}
    response = api.post("/api/order/create", json=body, headers=alice.headers)
    assert response.status_code == 409


def test_an_id_not_generated_is_refused(api, alice) -> None:
    body = {"orderId": "100099999999", "ownerId": alice.sub, "basketId": alice.sub}
    assert api.post("/api/order/create", json=body, headers=alice.headers).status_code == 404


def test_update_reprices_and_keeps_backend_fields(api, alice) -> None:
    created = new_order(api, alice)
    body = {**created, "productList": [{"cprcode": 25281, "quantity": 2}], "payment": {"isPaid": True}}
    updated = api.post("/api/order/update", json=body, headers=alice.headers).json()
    assert updated["payment"]["grandTotal"] == 79.0 * 2 + 95
    assert updated["payment"]["isPaid"] is False
    assert updated["orderDate"] == created["orderDate"]


def test_stock_is_reserved_and_released(api, alice) -> None:
    # 231150 has 3 units at branch 1000.
    first = new_order(api, alice, products=[{"cprcode": 231150, "quantity": 2}])
    order_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()["orderId"]
    body = {
        "orderId": order_id,
        "ownerId": alice.sub,
        "basketId": alice.sub,
        "productList": [{"cprcode": 231150, "quantity": 2}],
    }
    refused = api.post("/api/order/create", json=body, headers=alice.headers)
    assert refused.status_code == 409 and "out of stock" in refused.json()["error"]
    assert api.post("/api/order/get", json={"orderId": order_id}, headers=alice.headers).status_code == 404
    released = api.post(
        "/api/order/update", json={**first, "productList": [{"cprcode": 231150, "quantity": 1}]}, headers=alice.headers
    )
    assert released.status_code == 200
    assert api.post("/api/order/create", json=body, headers=alice.headers).status_code == 200


def test_ownership_b_cannot_see_or_change_a(api, alice, bob) -> None:
    order = new_order(api, alice)
    mine = {"orderId": order["orderId"]}
    assert api.post("/api/order/get", json=mine, headers=bob.headers).status_code == 404
    missing = api.post("/api/order/get", json={"orderId": "100026999999"}, headers=bob.headers)
    foreign = api.post("/api/order/get", json=mine, headers=bob.headers)
    assert foreign.json()["code"] == missing.json()["code"] == "not_found"
    assert (
        api.post("/api/order/update", json={**order, "specialComment": "mine now"}, headers=bob.headers).status_code
        == 404
    )
    token = {"orderId": order["orderId"], "basketId": alice.sub, "grandTotal": 174}
    assert api.post("/api/payment3devapi/cardtoken", json=token, headers=bob.headers).status_code == 404
    # Bob creating an order in Alice's name is forbidden.
    bob_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=bob.headers).json()["orderId"]
    body = {"orderId": bob_id, "ownerId": alice.sub, "basketId": alice.sub}
    assert api.post("/api/order/create", json=body, headers=bob.headers).status_code == 403
    assert api.post("/api/order/get", json=mine, headers=alice.headers).json() == order


def test_pricing_endpoints(api, alice) -> None:
    body = {"branchId": "1000", "ownerId": alice.sub, "productList": [{"cprcode": 25281, "quantity": 1}]}
    assert (
        api.post("/api/webPayment/calculateGrandtotal", json=body, headers=alice.headers).json()["grandTotal"] == 174.0
    )
    # Pricing reveals nothing: someone else's document is priced too (the SDK manual prices goodSample.json).
    body["ownerId"] = "someone-else"
    foreign = api.post("/api/webPayment/calculateGrandtotal", json=body, headers=alice.headers)
    assert (foreign.status_code, foreign.json()["grandTotal"]) == (200, 174.0)
    cost = {"branchId": "1000", "productList": [{"cprcode": "25281", "productName": "", "quantity": 1}]}
    answer = api.post("/api/calculateCost/getCost", json=cost, headers=alice.headers).json()
    assert (answer["subTotal"], answer["deliveryFee"], answer["grandTotal"]) == (79.0, 95.0, 174.0)


def _free(api, product: int) -> int:
    return int(api.get("/__admin/stock").json()["branches"]["1000"][str(product)]["free"])


def test_an_unpaid_order_is_deleted_five_hours_after_creation_and_its_stock_released(api, alice) -> None:
    from tests.fixtures.mock import login_user
    from tests.mock_server.test_payments import card, pay, verify

    free = _free(api, 231150)
    unpaid = new_order(api, alice, products=[{"cprcode": 231150, "quantity": 2}])
    paid = new_order(api, alice)
    charge = pay(api, alice, paid, card("approve")).json()
    assert verify(api, alice, paid, charge).json()["paid"] is True
    assert _free(api, 231150) == free - 2
    api.post("/__admin/clock", json={"advanceSeconds": 5 * 3600 - 1})
    alice = login_user(api, 0)  # ID tokens live an hour
    assert api.post("/api/order/get", json={"orderId": unpaid["orderId"]}, headers=alice.headers).status_code == 200
    api.post("/__admin/clock", json={"advanceSeconds": 2})
    alice = login_user(api, 0)
    assert api.post("/api/order/get", json={"orderId": unpaid["orderId"]}, headers=alice.headers).status_code == 404
    assert _free(api, 231150) == free
    kept = api.post("/api/order/get", json={"orderId": paid["orderId"]}, headers=alice.headers)
    assert kept.status_code == 200 and kept.json()["payment"]["isPaid"] is True
