"""``POST /__admin/provider-states``: Pact's state-change calls build the state and answer its values."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mock_server.provider_states import STATES

PATH = "/__admin/provider-states"


def setup(api: TestClient, state: str, **params: Any) -> Any:
    response = api.post(PATH, json={"state": state, "params": params, "action": "setup"})
    assert response.status_code == 200, response.text
    return response.json()


def headers(values: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {values['token']}"}


def test_logged_in_user_gets_a_working_token(api: TestClient) -> None:
    values = setup(api, "user U is logged in")
    answer = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers(values))
    assert answer.status_code == 200


def test_unpaid_order_belongs_to_the_state_user(api: TestClient) -> None:
    values = setup(api, "user U has an unpaid order O for one 25281 on branch 1000")
    order = api.post("/api/order/get", json={"orderId": values["orderId"]}, headers=headers(values)).json()
    assert order["ownerId"] == values["sub"]
    assert order["productList"][0]["cprcode"] == 25281
    assert order["payment"]["isPaid"] is False


def test_paid_order_is_paid(api: TestClient) -> None:
    values = setup(api, "order O is paid")
    order = api.post("/api/order/get", json={"orderId": values["orderId"]}, headers=headers(values)).json()
    assert order["payment"]["isPaid"] is True


@pytest.mark.parametrize(
    ("outcome", "state"), [("approve", "Authorized"), ("decline", "Declined"), ("three_ds", "Pre-Authorized")]
)
def test_card_token_leads_to_its_outcome(api: TestClient, outcome: str, state: str) -> None:
    values = setup(api, "user U has a card token T for unpaid order O", outcome=outcome)
    body = {
        "orderId": values["orderId"],
        "basketId": values["sub"],
        "grandTotal": "174.00",
        "token": values["cardToken"],
    }
    charge = api.post("/api/payment3devapi/charge", json=body, headers=headers(values)).json()
    assert charge["transaction_state"] == state


def test_expired_token_is_refused(api: TestClient) -> None:
    values = setup(api, "user U's ID token has expired")
    answer = api.post("/api/order/get", json={"orderId": "100026000001"}, headers=headers(values))
    assert answer.status_code == 401


def test_teardown_and_empty_state_answer_nothing(api: TestClient) -> None:
    assert api.post(PATH, json={"state": "order O is paid", "action": "teardown"}).json() == {}
    assert api.post(PATH, json={"state": "", "action": "setup"}).json() == {}


def test_unknown_state_is_404_listing_the_known_ones(api: TestClient) -> None:
    answer = api.post(PATH, json={"state": "the moon is blue", "action": "setup"})
    assert answer.status_code == 404
    assert all(name in answer.json()["error"] for name in STATES)  # every API's states, the shop's too
    assert "customer C has a paid order O" in STATES


def test_malformed_body_is_400(api: TestClient) -> None:
    assert api.post(PATH, content=b"{nope", headers={"Content-Type": "application/json"}).status_code == 400
