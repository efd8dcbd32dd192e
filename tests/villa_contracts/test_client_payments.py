"""Card payments through the reference client on the real mock: token, charge, 3-D Secure, verify, the prod guard."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from tests.fixtures.client import ALICE, VillaMock
from villa_contracts.client import ChargeResult, Order, VillaClient, mask_card
from villa_contracts.client._payment_types import amount_text
from villa_contracts.errors import ApiError, UsageError

THREE_DS_CARD = "5149500000009007"


def _created(client: VillaClient) -> Order:
    order_id = client.orders.generate_order_id("1000").order_id
    order = client.order_builder(order_id=order_id).with_branch("1000").add_product(25281, 1).build()
    return client.create_order(order)


def _charge(client: VillaClient, order: Order, card: str | None) -> ChargeResult:
    assert order.order_id and order.basket_id and order.grand_total
    payments = client.payments
    token = payments.create_card_token(
        payments.build_card_token_request(order.order_id, order.basket_id, order.grand_total, card_number=card)
    )
    return payments.initiate_card_payment(
        payments.build_card_payment_request(order.order_id, order.basket_id, order.grand_total, token.card_token)
    )


def test_mask_and_amounts() -> None:
    assert mask_card(THREE_DS_CARD) == "514950xxxxxx9007"
    assert mask_card("4111 1111 1111 1111") == "411111xxxxxx1111"
    assert [amount_text(v) for v in ("174", 174, 174.0, Decimal("174.5"))] == ["174.00"] * 3 + ["174.50"]
    for bad in ("-1", "1.001", "abc"):
        with pytest.raises(UsageError):
            amount_text(bad)


def test_token_request_shape(make_client: Callable[..., VillaClient]) -> None:
    client = make_client(customer_id="cust-9")
    assert client.payments.build_card_token_request("o1", "b1", "174") == {
        "orderId": "o1",
        "basketId": "b1",
        "grandTotal": "174.00",
        "customerId": "cust-9",
    }
    client.login(ALICE["username"], ALICE["password"])
    request = client.payments.build_card_token_request("o1", "b1", 174, card_number=THREE_DS_CARD)
    assert request["userId"] == ALICE["sub"]
    assert request["card"] == {
        "number": THREE_DS_CARD,
        "expirationMonth": "12",
        "expirationYear": "2030",
        "securityCode": "123",
    }


def test_charge_request_carries_the_merchant_id(make_client: Callable[..., VillaClient]) -> None:
    request = make_client(mid="401234567890123").payments.build_card_payment_request("o1", "b1", "174", "tokn_test_x")
    assert request == {
        "orderId": "o1",
        "basketId": "b1",
        "grandTotal": "174.00",
        "token": "tokn_test_x",
        "mid": "401234567890123",
    }


def test_three_d_secure_checkout_on_dev_paths(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    order = _created(alice_client)
    assert alice_client.payments.path_prefix == "/api/payment3devapi"
    charge = _charge(alice_client, order, THREE_DS_CARD)
    assert charge.transaction_state == "Pre-Authorized" and charge.status == "pending"
    assert charge.needs_3ds and charge.redirect_url == f"http://testserver/mock/3ds/{charge.charge_id}"
    assert charge.amount == Decimal("174.00")
    assert alice_client.payments.complete_3ds(charge.redirect_url) == "Authorized"
    three_ds = next(r for r in villa_mock.wire if r.url.path.startswith("/mock/3ds/"))
    assert "authorization" not in three_ds.headers  # the token never leaves for the bank's page
    assert order.order_id
    verified = alice_client.payments.verify(order.order_id, charge.charge_id)
    assert verified.paid and verified.transaction_state == "Authorized"
    assert verified.order.is_paid and verified.order.payment_status == "PAID"
    assert verified.order.total_paid == Decimal("174.00")
    paths = {r.url.path for r in villa_mock.wire}
    assert {"/api/payment3devapi/cardtoken", "/api/payment3devapi/charge", "/api/payment3devapi/verify"} <= paths
    assert not any(p.startswith("/api/payment3/") for p in paths)


def test_refused_three_d_secure_leaves_the_order_unpaid(alice_client: VillaClient) -> None:
    order = _created(alice_client)
    charge = _charge(alice_client, order, THREE_DS_CARD)
    assert charge.redirect_url
    assert alice_client.payments.complete_3ds(charge.redirect_url, action="refuse") == "Declined"
    assert order.order_id
    assert not alice_client.payments.verify(order.order_id, charge.charge_id).paid
    with pytest.raises(ApiError) as caught:
        alice_client.payments.complete_3ds(charge.redirect_url)
    assert caught.value.status_code == 409
    with pytest.raises(UsageError):
        alice_client.payments.complete_3ds(charge.redirect_url, action="maybe")  # type: ignore[arg-type]


def test_approved_and_declined_cards(alice_client: VillaClient) -> None:
    approved = _charge(alice_client, _created(alice_client), None)
    assert (approved.transaction_state, approved.redirect_url, approved.needs_3ds) == ("Authorized", None, False)
    declined = _charge(alice_client, _created(alice_client), "4000000000000002")
    assert declined.transaction_state == "Declined" and declined.failure_code == "insufficient_funds"


def test_wrong_amount_is_an_api_error_without_the_card(alice_client: VillaClient) -> None:
    order = _created(alice_client)
    assert order.order_id and order.basket_id
    request = alice_client.payments.build_card_token_request(
        order.order_id, order.basket_id, 170, card_number=THREE_DS_CARD
    )
    with pytest.raises(ApiError) as caught:
        alice_client.payments.create_card_token(request)
    assert caught.value.status_code == 409
    assert THREE_DS_CARD not in str(caught.value)


def test_prod_uses_prod_paths_and_refuses_to_charge_a_remote_backend(villa_mock: VillaMock) -> None:
    with villa_mock.client(env="prod") as client:
        client.login(ALICE["username"], ALICE["password"])
        order = _created(client)
        assert client.payments.path_prefix == "/api/payment3"
        with pytest.raises(UsageError, match="allow_prod_payments"):
            _charge(client, order, None)
        assert any(r.url.path == "/api/payment3/cardtoken" for r in villa_mock.wire)
        assert not any(r.url.path.endswith("/charge") for r in villa_mock.wire)
    with villa_mock.client(env="prod", allow_prod_payments=True) as client:
        client.login(ALICE["username"], ALICE["password"])
        assert _charge(client, _created(client), None).transaction_state == "Authorized"
    assert any(r.url.path == "/api/payment3/charge" for r in villa_mock.wire)


def test_prod_on_a_loopback_backend_is_allowed(make_mock: Callable[..., VillaMock]) -> None:
    loopback = make_mock(base_url="http://127.0.0.1:8080")
    with loopback.client(env="prod") as client:
        assert client.settings.is_local
        client.login(ALICE["username"], ALICE["password"])
        assert _charge(client, _created(client), None).transaction_state == "Authorized"


def test_card_token_repr_hides_the_token(alice_client: VillaClient) -> None:
    order = _created(alice_client)
    assert order.order_id and order.basket_id
    token = alice_client.payments.create_card_token(
        alice_client.payments.build_card_token_request(order.order_id, order.basket_id, "174")
    )
    assert token.card_token.startswith("tokn_test_")
    assert token.card_token not in repr(token)
    assert token.masked_card_no == "411111xxxxxx1111" and token.brand == "VISA"
