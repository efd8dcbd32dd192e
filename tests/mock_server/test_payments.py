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
