"""Pre-payment validation on the real mock: local schema check, both pricing APIs, and the expected grand total."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fixtures.client import VillaMock
from tests.fixtures.fault_toolkit import json_rewriting, status_rewriting
from villa_contracts.client import Order, OrderBuilder, VillaClient
from villa_contracts.client._pricing_requests import get_cost_request, get_cost_shipping, grand_total_request
from villa_contracts.errors import ApiError, UsageError


def _order(client: VillaClient, *, shipping: str | None = "REGULAR", cprcode: int = 25281) -> OrderBuilder:
    builder = client.order_builder(order_id="100026000001").with_branch("1000").add_product(cprcode, 1)
    if shipping == "PICKUP":
        builder.with_pickup(shipping_phone="0812345678")
    elif shipping is not None:
        builder.with_delivery_shipping("10110", "0812345678", "168 Sukhumvit 33", schedule_mode=shipping)
    return builder


@pytest.mark.parametrize("shipping", [None, "REGULAR"])
def test_the_seed_order_is_valid_at_174(alice_client: VillaClient, shipping: str | None) -> None:
    result = alice_client.pre_payment.validate(
        _order(alice_client, shipping=shipping).build(), expected_grand_total=174.0
    )
    assert result.valid, result.errors
    assert result.errors == []
    assert result.calculated_grand_total == 174.0
    assert result.breakdown["subTotal"] == 79.0 and result.breakdown["deliveryFee"] == 95.0
    assert result.breakdown["getCost"]["grandTotal"] == 174.0


def test_a_wrong_expectation_names_both_totals(alice_client: VillaClient) -> None:
    result = alice_client.pre_payment.validate(_order(alice_client).build(), expected_grand_total=170)
    assert not result.valid
    assert result.errors == ["expected grand total 170.00 THB but the backend calculates 174.00 THB"]
    assert result.calculated_grand_total == 174.0


@pytest.mark.parametrize("expected", ["174", "174.00", Decimal("174"), 174])
def test_expected_total_is_compared_to_the_satang(alice_client: VillaClient, expected: object) -> None:
    assert alice_client.pre_payment.validate(_order(alice_client).build(), expected).valid  # type: ignore[arg-type]


def test_expected_total_must_be_satang(alice_client: VillaClient) -> None:
    with pytest.raises(UsageError):
        alice_client.pre_payment.validate(_order(alice_client).build(), expected_grand_total=174.001)


def test_client_side_total_that_differs_is_reported(alice_client: VillaClient) -> None:
    order = _order(alice_client).with_payment_totals(grand_total=150).build()
    result = alice_client.pre_payment.validate(order, expected_grand_total=174)
    assert result.errors == ["/payment/grandTotal: the order says 150.00 THB but the backend calculates 174.00 THB"]


def test_schema_violations_have_pointers_and_skip_the_remote_calls(
    villa_mock: VillaMock, alice_client: VillaClient
) -> None:
    doc = _order(alice_client).build().to_api_payload()
    doc["productList"][0]["cprcode"] = "25281"
    del doc["basketId"]
    result = alice_client.pre_payment.validate(doc, expected_grand_total=174)
    assert not result.valid
    assert result.errors == [
        '(root): "basketId" is a required property',
        '/productList/0/cprcode: "25281" is not of type "integer"',
    ]
    assert result.calculated_grand_total is None
    assert villa_mock.sent("/api/webPayment/calculateGrandtotal") == []
    assert villa_mock.sent("/api/calculateCost/getCost") == []


def test_an_unknown_product_is_an_error_not_an_exception(alice_client: VillaClient) -> None:
    result = alice_client.pre_payment.validate(_order(alice_client, cprcode=999999).build(), expected_grand_total=174)
    assert not result.valid
    assert result.errors[0].startswith(
        "calculateGrandtotal answered HTTP 404: product 999999 is not sold at branch 1000"
    )
    assert "/productList/0/cprcode" in result.errors[0]
    assert result.errors[1].startswith("getCost answered HTTP 404")
    assert result.calculated_grand_total is None


def test_no_login_raises(villa: VillaClient) -> None:
    order = OrderBuilder("100026000001", "sub").with_branch("1000").add_product(25281, 1).build()
    with pytest.raises(ApiError) as caught:
        villa.pre_payment.validate(order, expected_grand_total=174)
    assert caught.value.status_code == 401


def test_server_errors_raise(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    villa_mock.inject(status_rewriting(["getCost"], 503))
    with pytest.raises(ApiError) as caught:
        alice_client.pre_payment.validate(_order(alice_client).build(), expected_grand_total=174)
    assert caught.value.status_code == 503


def test_disagreeing_pricing_apis_are_reported(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    villa_mock.inject(json_rewriting(["getCost"], lambda answer: {**answer, "grandTotal": 180.0}))
    result = alice_client.pre_payment.validate(_order(alice_client).build(), expected_grand_total=174)
    assert result.errors == [
        "the pricing APIs disagree: calculateGrandtotal grandTotal 174.00 THB, getCost grandTotal 180.00 THB"
    ]


def test_pickup_and_express(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    assert alice_client.pre_payment.validate(_order(alice_client, shipping="PICKUP").build(), 79).valid
    express = alice_client.pre_payment.validate(_order(alice_client, shipping="EXPRESS").build(), 229)
    assert express.valid, express.errors
    assert villa_mock.sent("/api/calculateCost/getCost")[-1]["shipping"] == {
        "shippingType": "DELIVERY",
        "scheduleList": [{"mode": "EXPRESS", "scheduleId": 1}],
    }


def test_coupons_are_sent_to_both_apis(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    result = alice_client.pre_payment.validate(_order(alice_client).with_coupons("WELCOME20").build(), 154)
    assert result.valid, result.errors
    assert result.breakdown["couponDiscount"] == 20.0
    assert villa_mock.sent("/api/calculateCost/getCost")[-1]["couponCodeList"] == ["WELCOME20"]
    assert villa_mock.sent("/api/webPayment/calculateGrandtotal")[-1]["couponCodeList"] == ["WELCOME20"]


def test_request_bodies_follow_the_contract() -> None:
    doc = {
        "orderId": "1",
        "ownerId": "sub",
        "basketId": "sub",
        "branchId": "1000",
        "productList": [{"cprcode": 25281, "quantity": 2, "productName": "Milk", "price": 1, "scheduleId": 2.0}],
        "shipping": {
            "shippingType": "DELIVERY",
            "shippingAddress": "a",
            "shippingPostcode": "1",
            "shippingPhone": "0",
            "shippingLat": 13.7,
            "scheduleList": [{"mode": "NATIONWIDE", "scheduleId": 3, "deliveryFee": 1}],
        },
    }
    grand = grand_total_request(doc)
    assert grand["productList"] == [{"cprcode": 25281, "quantity": 2}]
    assert grand["ownerId"] == "sub" and "couponCodeList" not in grand
    assert grand["shipping"]["shippingLat"] == 13.7 and grand["shipping"]["shippingLon"] == 0
    cost = get_cost_request(doc)
    assert cost["productList"] == [{"cprcode": 25281, "productName": "Milk", "quantity": 2, "scheduleId": 2}]
    assert cost["shipping"] == {
        "shippingType": "DELIVERY",
        "scheduleList": [{"mode": "NATIONWIDE", "scheduleId": 3}],
        "shippingLat": 13.7,
    }
    assert get_cost_shipping({"scheduleList": [{"mode": "EXPRESS", "preOrder": "PREORDER_FIXED"}]}) is None
    assert get_cost_shipping({"scheduleList": [{"mode": "REGULAR"}]}) is None
    assert get_cost_shipping(None) is None


def test_schema_validator_on_the_client(alice_client: VillaClient) -> None:
    good = _order(alice_client).build()
    alice_client.schema_validator.validate_order(good.to_api_payload())
    with pytest.raises(UsageError, match="/orderId"):
        alice_client.schema_validator.validate_order({**good.raw, "orderId": 1})
    assert alice_client.schema_validator.violations(Order({}).raw)
