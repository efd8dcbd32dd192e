"""OrderBuilder, the Order wrapper, and the order endpoints through the reference client on the real mock."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from tests.fixtures.client import ALICE, VillaMock
from villa_contracts.client import GeneratedOrderId, Order, OrderBuilder, Settings, VillaClient
from villa_contracts.contract import ContractValidator, load
from villa_contracts.errors import ApiError, ClientError, UsageError

VALIDATOR = ContractValidator(load()["villa"])


def _seed_order(order_id: str = "100026000001") -> OrderBuilder:
    return (
        OrderBuilder()
        .with_ids(order_id=order_id, owner_id="owner-1", basket_id="basket-1")
        .with_branch("1000")
        .add_product(cprcode=25281, quantity=1)
    )


def test_builder_writes_a_contract_valid_order() -> None:
    order = (
        _seed_order()
        .add_product(cprcode=188468, quantity=2, price=20, row_total=Decimal("40.50"))
        .with_delivery_shipping(
            shipping_postcode="10330", shipping_phone="0812345678", shipping_address="123 Sukhumvit Rd"
        )
        .with_payment_totals(grand_total=174.0)
        .with_coupons("WELCOME20")
        .as_test_order()
        .build()
    )
    assert order.raw == {
        "orderId": "100026000001",
        "ownerId": "owner-1",
        "basketId": "basket-1",
        "branchId": "1000",
        "orderSource": "WEB",
        "specialComment": "TEST ORDER",
        "productList": [
            {"cprcode": 25281, "quantity": 1},
            {"cprcode": 188468, "quantity": 2, "price": 20, "rowTotal": 40.5},
        ],
        "shipping": {
            "shippingType": "DELIVERY",
            "shippingAddress": "123 Sukhumvit Rd",
            "shippingPostcode": "10330",
            "shippingPhone": "0812345678",
            "scheduleList": [{"scheduleId": 1, "mode": "REGULAR"}],
        },
        "couponCodeList": ["WELCOME20"],
        "payment": {"grandTotal": 174.0},
    }
    assert VALIDATOR.document("Order", order.to_api_payload()) == []
    assert order.grand_total == Decimal("174.00")


def test_pickup_keeps_contact_details_and_stays_valid() -> None:
    order = _seed_order().with_delivery_shipping("10330", "0812345678", "1 Rd").with_pickup().build()
    assert order.raw["shipping"] == {
        "shippingType": "PICKUP",
        "shippingAddress": "1 Rd",
        "shippingPostcode": "10330",
        "shippingPhone": "0812345678",
        "scheduleList": [],
    }
    assert VALIDATOR.document("Order", order.raw) == []


def test_build_names_everything_missing() -> None:
    with pytest.raises(UsageError) as caught:
        OrderBuilder().build()
    message = str(caught.value)
    for missing in ("order id", "owner id", "branch", "product"):
        assert missing in message
    with pytest.raises(UsageError, match="missing branch"):
        OrderBuilder("1", "o").add_product(1, 1).build()


def test_basket_defaults_to_owner() -> None:
    order = OrderBuilder(order_id="1", owner_id="sub-1").with_branch("1000").add_product(25281, 1).build()
    assert order.basket_id == "sub-1"


@pytest.mark.parametrize(("cprcode", "quantity"), [("25281", 1), (True, 1), (25281, 0), (25281, 1.5)])
def test_bad_products_are_refused_early(cprcode: object, quantity: object) -> None:
    with pytest.raises(UsageError):
        OrderBuilder().add_product(cprcode, quantity)  # type: ignore[arg-type]


def test_built_orders_do_not_share_state_with_the_builder() -> None:
    builder = _seed_order()
    first = builder.build()
    first.raw["productList"].append({"cprcode": 1, "quantity": 1})
    assert len(builder.build().raw["productList"]) == 1
    payload = first.to_api_payload()
    payload["orderId"] = "changed"
    assert first.order_id == "100026000001"


def test_order_wrapper_reads_the_payment() -> None:
    order = Order(
        {"orderId": "1", "payment": {"grandTotal": 174.0, "totalPaid": 174, "isPaid": True, "status": "PAID"}}
    )
    assert (order.grand_total, order.total_paid) == (Decimal("174.00"), Decimal("174.00"))
    assert order.is_paid and order.payment_status == "PAID"
    empty = Order({})
    assert empty.grand_total is None and not empty.is_paid and empty.payment == {} and empty.order_id is None
    assert "174" not in repr(order)  # the document stays out of repr


def test_order_builder_needs_a_login(villa: VillaClient) -> None:
    with pytest.raises(UsageError, match=r"call login\(\) first"):
        villa.order_builder(order_id="1")


def test_order_builder_uses_the_token_sub(alice_client: VillaClient) -> None:
    order = alice_client.order_builder(order_id="100026000001").with_branch("1000").add_product(25281, 1).build()
    assert order.owner_id == order.basket_id == alice_client.owner_id == ALICE["sub"]


def test_generate_create_get_update(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    generated = alice_client.orders.generate_order_id("1000")
    assert isinstance(generated, GeneratedOrderId) and len(generated.order_id) == 12
    assert villa_mock.sent("/api/order2/gentele") == [{"branchId": "1000"}]
    order = (
        alice_client.order_builder(order_id=generated.order_id)
        .with_branch("1000")
        .add_product(cprcode=25281, quantity=1, price=20, row_total=20)
        .as_test_order()
        .build()
    )
    created = alice_client.create_order(order)
    assert created.grand_total == Decimal("174.00")
    assert created.raw["productList"][0]["price"] == 79.0  # the backend's price, not the client's 20
    assert created.payment_status == "PENDING" and not created.is_paid
    fetched = alice_client.orders.get(generated.order_id)
    assert fetched == created
    changed = fetched.to_api_payload()
    changed["productList"][0]["quantity"] = 2
    updated = alice_client.orders.update(changed)
    assert updated.grand_total == Decimal("253.00")


def test_api_errors_carry_operation_status_and_body(alice_client: VillaClient) -> None:
    with pytest.raises(ApiError) as caught:
        alice_client.orders.get("100026999999")
    assert caught.value.operation == "getOrder"
    assert caught.value.status_code == 404
    assert caught.value.body["details"][0]["pointer"] == "/orderId"
    with pytest.raises(ApiError) as caught:
        alice_client.orders.generate_order_id("9999")
    assert caught.value.status_code == 404


def test_unreachable_backend_is_a_client_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = VillaClient(
        Settings(base_url="http://127.0.0.1:9"), http=httpx.Client(transport=httpx.MockTransport(refuse))
    )
    with pytest.raises(ClientError, match="cannot reach http://127.0.0.1:9/api/order/get"):
        client.orders.get("1")


def test_non_json_success_is_a_client_error() -> None:
    html = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>maintenance</html>"))
    client = VillaClient(Settings(), http=httpx.Client(transport=html))
    with pytest.raises(ClientError, match="not JSON"):
        client.orders.get("1")
