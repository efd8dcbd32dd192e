"""The reference client and the seeds' checkout flow on the in-process mock (``create_app``)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from starlette.testclient import TestClient

from suites.flows.checkout import Step, fresh_credentials, run_checkout, three_ds_test_card
from tests.fixtures.reference import GOOD_SAMPLE
from villa_contracts.client import AuthError, Settings, VillaClient
from villa_contracts.contract import load
from villa_contracts.domain.clock import AdjustableClock
from villa_contracts.errors import ApiError

USERS = load().data("users")
CODE = str(load().data("cognito")["confirmationCode"])


def mock_settings(api: TestClient, **overrides: Any) -> Settings:
    info = api.get("/__admin/cognito").json()
    values: dict[str, Any] = {
        "base_url": "http://testserver",
        "cognito_endpoint": "http://testserver",
        "cognito_client_id": info["clientId"],
        "cognito_user_pool_id": info["userPoolId"],
        "cognito_client_secret": info["clientSecret"],
        "cognito_region": info["region"],
    }
    settings = Settings(**{**values, **overrides})
    assert settings.issuer == info["issuer"]
    return settings


@pytest.fixture
def client(api: TestClient) -> VillaClient:
    return VillaClient(mock_settings(api), http=api)


@pytest.fixture
def logged_in(client: VillaClient) -> VillaClient:
    client.login(USERS[0]["username"], USERS[0]["password"])
    return client


def test_the_seeds_checkout_flow(client: VillaClient) -> None:
    username, password, email = fresh_credentials()
    steps: list[Step] = []
    result = run_checkout(
        client, username=username, password=password, email=email, confirmation_code=CODE, report=steps.append
    )
    assert result.ok, result.failed
    assert [s.number for s in steps] == list(range(1, 11)) and all(s.ok for s in steps)
    assert list(result.steps) == steps and result.order_id
    shown = "\n".join(f"{s.name} {s.detail} {s!r}" for s in steps)
    tokens = client.tokens
    assert tokens is not None
    for secret in (password, tokens.id_token, tokens.access_token, tokens.refresh_token, three_ds_test_card()):
        assert secret and secret not in shown
    assert "514950xxxxxx9007" in shown
    paid = client.orders.get(result.order_id)
    assert paid.is_paid and paid.payment_status == "PAID" and paid.total_paid == 174


def test_a_failed_step_stops_the_flow(client: VillaClient) -> None:
    steps: list[Step] = []
    result = run_checkout(
        client,
        username=USERS[0]["username"],
        password="Wrong-Password-1",
        email=USERS[0]["email"],
        confirmation_code=CODE,
        report=steps.append,
    )
    assert not result.ok and len(steps) == 1 and result.failed is steps[0]
    assert "NotAuthorizedException" in steps[0].detail
    assert "Wrong-Password-1" not in steps[0].detail


def test_existing_users_just_log_in(client: VillaClient) -> None:
    user = USERS[1]
    steps: list[Step] = []
    result = run_checkout(
        client,
        username=user["username"],
        password=user["password"],
        email=user["email"],
        confirmation_code=None,
        report=steps.append,
    )
    assert result.ok, result.failed
    assert "exists already" in steps[0].detail and user["sub"] in steps[0].detail


def test_login_and_verify_against_the_mock_jwks(logged_in: VillaClient) -> None:
    assert logged_in.owner_id == USERS[0]["sub"]
    verified = logged_in.verify_id_token()
    assert verified.sub == USERS[0]["sub"] and verified.email == USERS[0]["email"]
    assert logged_in.is_id_token_valid()
    logged_in.refresh()
    assert logged_in.verify_id_token().sub == USERS[0]["sub"]


def test_wrong_password_is_an_auth_error(client: VillaClient) -> None:
    with pytest.raises(AuthError) as caught:
        client.login(USERS[0]["username"], "Nope-12345")
    assert caught.value.type == "NotAuthorizedException"


@pytest.mark.parametrize("with_shipping", [False, True])
def test_seed_order_validates_at_174(logged_in: VillaClient, with_shipping: bool) -> None:
    order_id = logged_in.orders.generate_order_id("1000").order_id
    builder = logged_in.order_builder(order_id=order_id).with_branch("1000")
    builder.add_product(cprcode=25281, quantity=1, price=20, row_total=20).as_test_order()
    if with_shipping:
        builder.with_delivery_shipping("10330", "0812345678", "123 Sukhumvit Rd")
    order = builder.with_payment_totals(grand_total=174.0).build()
    result = logged_in.pre_payment.validate(order, expected_grand_total=174.0)
    assert result.valid, result.errors
    assert result.calculated_grand_total == 174.0
    assert logged_in.create_order(order).grand_total == 174


def test_good_sample_validates_at_500(logged_in: VillaClient) -> None:
    doc = json.loads(GOOD_SAMPLE.read_text())
    doc["ownerId"] = doc["basketId"] = logged_in.owner_id
    result = logged_in.pre_payment.validate(doc, expected_grand_total=500)
    assert result.valid, result.errors
    wrong = logged_in.pre_payment.validate(doc, expected_grand_total=170)
    assert wrong.errors == ["expected grand total 170.00 THB but the backend calculates 500.00 THB"]


def test_expired_token_raises_401(api: TestClient, clock: AdjustableClock, logged_in: VillaClient) -> None:
    order = logged_in.order_builder(order_id="100026000001").with_branch("1000").add_product(25281, 1).build()
    clock.advance(3601)
    with pytest.raises(ApiError) as caught:
        logged_in.pre_payment.validate(order, expected_grand_total=174)
    assert caught.value.status_code == 401


def test_refused_3ds_then_paid_orders_cannot_change(logged_in: VillaClient) -> None:
    payments = logged_in.payments
    order_id = logged_in.orders.generate_order_id("1000").order_id
    order = logged_in.create_order(
        logged_in.order_builder(order_id=order_id).with_branch("1000").add_product(25281, 1).build()
    )
    assert order.basket_id
    card = three_ds_test_card()

    def charge() -> Any:
        token = payments.create_card_token(
            payments.build_card_token_request(order_id, str(order.basket_id), 174, card_number=card)
        )
        return payments.initiate_card_payment(
            payments.build_card_payment_request(order_id, str(order.basket_id), 174, token.card_token)
        )

    refused = charge()
    assert payments.complete_3ds(refused.redirect_url, action="refuse") == "Declined"
    assert not payments.verify(order_id, refused.charge_id).paid
    accepted = charge()
    assert payments.complete_3ds(accepted.redirect_url) == "Authorized"
    assert payments.verify(order_id, accepted.charge_id).paid
    with pytest.raises(ApiError) as caught:
        logged_in.orders.update(logged_in.orders.get(order_id))
    assert caught.value.status_code == 409


def test_prod_paths_on_the_mock(api: TestClient) -> None:
    client = VillaClient(mock_settings(api, env="prod"), http=api, allow_prod_payments=True)
    client.login(USERS[0]["username"], USERS[0]["password"])
    order_id = client.orders.generate_order_id("1000").order_id
    order = client.create_order(
        client.order_builder(order_id=order_id).with_branch("1000").add_product(25281, 1).build()
    )
    assert order.basket_id
    token = client.payments.create_card_token(
        client.payments.build_card_token_request(order_id, order.basket_id, "174")
    )
    charge = client.payments.initiate_card_payment(
        client.payments.build_card_payment_request(order_id, order.basket_id, "174", token.card_token)
    )
    assert charge.transaction_state == "Authorized"
    assert client.payments.verify(order_id, charge.charge_id).paid
    paths = {entry["path"] for entry in api.get("/__admin/journal").json()["entries"]}
    assert {"/api/payment3/cardtoken", "/api/payment3/charge", "/api/payment3/verify"} <= paths
    assert not any(path.startswith("/api/payment3devapi/") for path in paths)
