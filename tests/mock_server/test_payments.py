"""Card payments on the mock: token, charge, 3-D Secure, verify, and what a paid order refuses."""

from __future__ import annotations

import pytest

from tests.fixtures.mock import new_order
from villa_contracts.contract import load

CARDS = load().data("test_cards")["cards"]


def card(outcome: str) -> str:
    return next(number for number, c in CARDS.items() if c["outcome"] == outcome)


def pay(api, user, order, number, *, prefix="/api/payment3devapi", amount=None):
    total = order["payment"]["grandTotal"] if amount is None else amount
    token = api.post(
        f"{prefix}/cardtoken",
        json={"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": str(total),
              "card": {"number": number, "expirationMonth": "12", "expirationYear": "2030"}},
        headers=user.headers,
    )  # fmt: skip
    assert token.status_code == 200, token.text
    assert number not in token.text
    body = {
        "orderId": order["orderId"],
        "basketId": order["basketId"],
        "grandTotal": total,
        "token": token.json()["cardToken"],
    }
    return api.post(f"{prefix}/charge", json=body, headers=user.headers)


def verify(api, user, order, charge, prefix="/api/payment3devapi"):
    body = {"orderId": order["orderId"], "chargeId": charge["chargeId"]}
    return api.post(f"{prefix}/verify", json=body, headers=user.headers)


@pytest.mark.parametrize("prefix", ["/api/payment3devapi", "/api/payment3"])
def test_approved_card_pays_the_order_and_verify_is_idempotent(api, alice, prefix) -> None:
    order = new_order(api, alice)
    charge = pay(api, alice, order, card("approve"), prefix=prefix).json()
    assert charge["transaction_state"] == "Authorized" and charge["amount"] == 174.0
    first = verify(api, alice, order, charge, prefix).json()
    second = verify(api, alice, order, charge, prefix).json()
    assert first == second
    payment = first["order"]["payment"]
    assert first["paid"] and payment["isPaid"] and payment["status"] == "PAID"
    assert payment["totalPaid"] == 174.0 and payment["paymentMethod"] == "Credit/Debit Card"


def test_three_d_secure_then_verify(api, alice) -> None:
    order = new_order(api, alice)
    charge = pay(api, alice, order, card("three_ds")).json()
    assert charge["transaction_state"] == "Pre-Authorized"
    assert charge["redirect_url"].endswith(f"/mock/3ds/{charge['chargeId']}")
    page = api.get(charge["redirect_url"])
    assert page.status_code == 200 and "Complete" in page.text
    assert verify(api, alice, order, charge).json()["paid"] is False
    done = api.post(charge["redirect_url"], json={"action": "complete"})
    assert done.json()["transaction_state"] == "Authorized"
    assert api.post(charge["redirect_url"], json={"action": "complete"}).status_code == 409
    assert verify(api, alice, order, charge).json()["paid"] is True


def test_refused_three_d_secure_and_declined_cards_never_pay(api, alice) -> None:
    order = new_order(api, alice)
    charge = pay(api, alice, order, card("three_ds")).json()
    api.post(charge["redirect_url"], data={"action": "refuse"})
    assert verify(api, alice, order, charge).json()["paid"] is False
    declined = pay(api, alice, order, card("decline")).json()
    assert declined["transaction_state"] == "Declined" and declined["failure_code"]
    result = verify(api, alice, order, declined).json()
    assert result["paid"] is False and result["order"]["payment"]["isPaid"] is False


def test_unknown_cards_are_declined_and_gateway_down_charges_nothing(api, alice) -> None:
    order = new_order(api, alice)
    assert pay(api, alice, order, "4242424242424241").json()["transaction_state"] == "Declined"
    down = pay(api, alice, order, card("gateway_down"))
    assert down.status_code == 503
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).json() == order


def test_amount_must_match_the_grand_total(api, alice) -> None:
    order = new_order(api, alice)
    token = api.post(
        "/api/payment3devapi/cardtoken",
        json={"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": "170"},
        headers=alice.headers,
    )
    assert token.status_code == 409
    assert "170.00" in token.json()["error"] and "174.00" in token.json()["error"]


def test_a_paid_order_cannot_change_or_be_charged_again(api, alice) -> None:
    order = new_order(api, alice)
    charge = pay(api, alice, order, card("approve")).json()
    paid = verify(api, alice, order, charge).json()["order"]
    update = api.post("/api/order/update", json={**paid, "specialComment": "late change"}, headers=alice.headers)
    assert update.status_code == 409
    again = api.post(
        "/api/payment3devapi/cardtoken",
        json={"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": 174},
        headers=alice.headers,
    )
    assert again.status_code == 409
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).json() == paid


def test_a_token_is_used_once(api, alice) -> None:
    order = new_order(api, alice)
    token = api.post(
        "/api/payment3devapi/cardtoken",
        json={"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": 174,
              "card": {"number": card("decline"), "expirationMonth": "01", "expirationYear": "2031"}},
        headers=alice.headers,
    ).json()["cardToken"]  # fmt: skip
    body = {"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": 174, "token": token}
    assert api.post("/api/payment3devapi/charge", json=body, headers=alice.headers).status_code == 200
    assert api.post("/api/payment3devapi/charge", json=body, headers=alice.headers).status_code == 409


@pytest.mark.parametrize(
    ("amount", "status"),
    # Past the contract's bound: 400 before any rule runs; within it but not the total: 409.
    [(1.3396714032465952e308, 400), ("999999999.99", 409), (174.001, 409)],
)
def test_absurd_amounts_are_refused_not_a_crash(api, alice, amount, status) -> None:
    order = new_order(api, alice)
    body = {"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": amount}
    response = api.post("/api/payment3devapi/cardtoken", json=body, headers=alice.headers)
    assert response.status_code == status, response.text


# --- money at expiry: an unpaid order holding a charge is kept, the charge voided ---------------------


def _expire(api, user_index: int = 0):
    """Move the mock's clock past an order's 5 hours; the user logged in again (ID tokens live an hour)."""
    from tests.fixtures.mock import login_user

    assert api.post("/__admin/clock", json={"advanceSeconds": 5 * 3600 + 1}).status_code == 200
    return login_user(api, user_index)


@pytest.mark.parametrize("storage", ["memory", "sqlite", "redis"])
def test_an_expired_order_with_an_unverified_charge_is_kept_and_the_charge_voided(tmp_path, request, storage) -> None:
    from starlette.testclient import TestClient

    from mock_server.app import create_app
    from tests.fixtures.mock import login_user
    from villa_contracts.domain.clock import AdjustableClock

    store = request.getfixturevalue("redis_store") if storage == "redis" else None
    app = create_app(
        clock=AdjustableClock(), db_path=str(tmp_path / "v.db") if storage == "sqlite" else None, store=store
    )
    with TestClient(app) as api:
        alice = login_user(api, 0)
        free = int(api.get("/__admin/stock").json()["branches"]["1000"]["25281"]["free"])
        order = new_order(api, alice)
        charge = pay(api, alice, order, card("approve")).json()
        assert charge["transaction_state"] == "Authorized"  # held on the card, never verified
        alice = _expire(api)
        answer = verify(api, alice, order, charge)
        assert answer.status_code == 200, answer.text
        verified = answer.json()
        assert (verified["transaction_state"], verified["paid"]) == ("Voided", False)
        payment = verified["order"]["payment"]
        assert (payment["status"], payment["isPaid"], payment["totalPaid"]) == ("EXPIRED", False, 0)
        assert payment["paymentLog"][-1] == (
            f"{charge['chargeId']} Voided 174.00 THB {charge['maskedCardNo']}: "
            "order expired unpaid 5 hours after creation"
        )
        assert card("approve") not in answer.text
        got = api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers)
        assert got.status_code == 200 and got.json() == verified["order"]
        assert int(api.get("/__admin/stock").json()["branches"]["1000"]["25281"]["free"]) == free  # stock back
        assert verify(api, alice, order, charge).json() == verified  # idempotent, and it never expires twice
        alice = _expire(api)
        assert verify(api, alice, order, charge).json() == verified
    app.state.mock.store.close()


def test_an_expired_order_takes_no_update_token_or_charge_and_its_3ds_page_is_closed(api, alice) -> None:
    order = new_order(api, alice)
    waiting = pay(api, alice, order, card("three_ds")).json()
    assert waiting["transaction_state"] == "Pre-Authorized"
    alice = _expire(api)
    assert api.post(waiting["redirect_url"], json={"action": "complete"}).status_code == 409  # voided: never Authorized
    assert verify(api, alice, order, waiting).json()["transaction_state"] == "Voided"
    update = api.post("/api/order/update", json={**order, "remark": "late"}, headers=alice.headers)
    assert update.status_code == 409 and "expired" in update.json()["error"]
    token = api.post(
        "/api/payment3devapi/cardtoken",
        json={"orderId": order["orderId"], "basketId": order["basketId"], "grandTotal": "174.00"},
        headers=alice.headers,
    )
    assert token.status_code == 409 and "expired" in token.json()["error"]


def test_an_expired_order_without_money_is_still_deleted(api, alice) -> None:
    order = new_order(api, alice)
    declined = pay(api, alice, order, card("decline")).json()
    assert declined["transaction_state"] == "Declined"
    alice = _expire(api)
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).status_code == 404
    assert verify(api, alice, order, declined).status_code == 404
