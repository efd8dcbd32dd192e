"""Test the tester: every planted fault of ``tests.fixtures.faults`` is real.

``test_each_fault_is_observable`` proves each broken mock misbehaves (and the correct mock does not)
with plain HTTP calls. That the gate flags each of them, in every mode users run it, is the mode
matrix's (``tests/villa_contracts/test_modes.py``), which requires exit code 1 with the fault's
operation named in ``summary.json`` (``caught``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.fixtures.faults import FAULTS, Fault, serve_broken, serve_unbroken
from tests.villa_contracts.lineitems_fault_probes import PROBES as LINEITEMS_PROBES
from tests.villa_contracts.shop_fault_probes import PROBES as SHOP_PROBES
from villa_contracts.contract import ContractValidator, load
from villa_contracts.domain.money import to_satang
from villa_contracts.domain.orders import UNPAID_EXPIRY_SECONDS

pytestmark = pytest.mark.socket

APPROVED_CARD = "4111111111111111"
DECLINED_CARD = "4000000000000002"
THREE_DS_CARD = "4000000000003220"


# --- plain HTTP probes ----------------------------------------------------------------------------


class Api:
    """Plain HTTP calls on a served mock, as the two contract test users."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.contract = load()["villa"]
        users = self.contract.data("users")[:2]
        self.subs = [str(u["sub"]) for u in users]
        self.usernames = [str(u["username"]) for u in users]
        self.relogin()

    def relogin(self) -> None:
        """New ID tokens for both users (a probe that moves the mock's clock ages them past their hour)."""
        self.tokens = [
            self.http.post(f"/__admin/users/{name}/tokens").raise_for_status().json()["IdToken"]
            for name in self.usernames
        ]

    def close(self) -> None:
        self.http.close()

    def call(self, op: str, body: Any, *, user: int | None = 0) -> httpx.Response:
        operation = self.contract.operations[op]
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user is not None else {}
        return self.http.request(operation.method, operation.path, json=body, headers=headers)

    def new_order_id(self, user: int = 0) -> str:
        response = self.call("generateOrderId", {"branchId": "1000"}, user=user)
        assert response.status_code == 200, response.text
        return str(response.json()["orderId"])

    def order_body(
        self, order_id: str, *, user: int = 0, quantity: int = 1, owner: str | None = None
    ) -> dict[str, Any]:
        sub = self.subs[user]
        return {
            "orderId": order_id,
            "ownerId": owner or sub,
            "basketId": sub,
            "branchId": "1000",
            "productList": [{"cprcode": 25281, "quantity": quantity}],
        }

    def create(self, *, user: int = 0) -> tuple[str, httpx.Response]:
        order_id = self.new_order_id(user)
        response = self.call("createOrder", self.order_body(order_id, user=user), user=user)
        assert response.status_code == 200, response.text
        return order_id, response

    def get(self, order_id: str, *, user: int = 0) -> httpx.Response:
        return self.call("getOrder", {"orderId": order_id}, user=user)

    def pay(self, order_id: str, card: str) -> tuple[httpx.Response, dict[str, Any]]:
        """Token, charge and verify ``order_id`` with ``card``; answer the token response and the verify JSON."""
        grand = self.get(order_id).json()["payment"]["grandTotal"]
        common = {"orderId": order_id, "basketId": self.subs[0], "grandTotal": f"{grand:.2f}"}
        card_body = {"number": card, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"}
        token = self.call("createCardTokenDev", {**common, "card": card_body})
        assert token.status_code == 200, token.text
        charge = self.call("createChargeDev", {**common, "token": token.json()["cardToken"]})
        assert charge.status_code == 200, charge.text
        verify = self.call("verifyPaymentDev", {"orderId": order_id, "chargeId": charge.json()["chargeId"]})
        assert verify.status_code == 200, verify.text
        return token, verify.json()

    def schema_valid(self, op: str, response: httpx.Response) -> bool:
        return not ContractValidator(self.contract).operation(op).response(response.status_code, response.json())


def _dropped_required_field(api: Api) -> bool:
    order_id, created = api.create()
    return "orderId" not in created.json() and "orderId" not in api.get(order_id).json()


def _pricing(api: Api) -> httpx.Response:
    response = api.call("calculateGrandtotal", {"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]})
    assert response.status_code == 200, response.text
    return response


def _field_type_changed(api: Api) -> bool:
    return isinstance(_pricing(api).json()["grandTotal"], str)


def _total_off_by_one_satang(api: Api) -> bool:
    response = _pricing(api)
    body = response.json()
    expected = sum(to_satang(body[k]) for k in ("subTotal", "deliveryFee")) - sum(
        to_satang(body[k]) for k in ("cartDiscount", "couponDiscount")
    )
    assert api.schema_valid("calculateGrandtotal", response)  # only a business rule can catch it
    return to_satang(body["grandTotal"]) == expected + 1


def _foreign_order_returned(api: Api) -> bool:
    order_id, _ = api.create(user=0)
    return api.get(order_id, user=1).status_code == 200


def _no_token_accepted(api: Api) -> bool:
    return api.call("generateOrderId", {"branchId": "1000"}, user=None).status_code == 200


def _server_error_on_valid_request(api: Api) -> bool:
    body = {
        "branchId": "1000",
        "productList": [{"cprcode": 25281, "productName": "Villa Fresh Milk 2L", "quantity": 1}],
    }
    return api.call("getCost", body).status_code == 500


def _long_comment_breaks(api: Api) -> bool:
    order_id, _ = api.create()
    long_comment = {**api.order_body(order_id), "specialComment": "Please ring twice, then wait at the gate."}
    short_comment = {**api.order_body(order_id), "specialComment": "Ring twice"}
    assert api.call("updateOrder", short_comment).status_code == 200
    return api.call("updateOrder", long_comment).status_code == 500


def _valid_pricing_refused(api: Api) -> bool:
    body = {"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]}
    answer = api.call("calculateGrandtotal", body)
    return answer.status_code == 400 and answer.json()["code"] != "card_data"


def _paid_order_reverts(api: Api) -> bool:
    order_id, _ = api.create()
    _, verify = api.pay(order_id, APPROVED_CARD)
    assert verify["paid"] is True
    return api.get(order_id).json()["payment"]["isPaid"] is False


def _declined_card_pays(api: Api) -> bool:
    order_id, _ = api.create()
    _, verify = api.pay(order_id, DECLINED_CARD)
    assert verify["transaction_state"] == "Declined"
    return verify["paid"] is True and api.get(order_id).json()["payment"]["isPaid"] is True


def _expired_money_lost(api: Api) -> bool:
    order_id, created = api.create()
    common = {"orderId": order_id, "basketId": api.subs[0], "grandTotal": created.json()["payment"]["grandTotal"]}
    card = {"number": THREE_DS_CARD, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"}
    token = api.call("createCardTokenDev", {**common, "card": card}).json()["cardToken"]
    charge = api.call("createChargeDev", {**common, "token": token}).json()
    assert charge["transaction_state"] == "Pre-Authorized"  # money the card holder may still give
    api.http.post("/__admin/clock", json={"advanceSeconds": UNPAID_EXPIRY_SECONDS + 1}).raise_for_status()
    api.relogin()
    verify = api.call("verifyPaymentDev", {"orderId": order_id, "chargeId": charge["chargeId"]})
    return verify.status_code == 404  # the correct mock answers the charge Voided, with the order's record


def _duplicate_order_ids(api: Api) -> bool:
    return api.new_order_id() == api.new_order_id()


def _wrong_content_type(api: Api) -> bool:
    order_id, _ = api.create()
    return api.get(order_id).headers["content-type"].startswith("text/plain")


def _undocumented_status(api: Api) -> bool:
    order_id, _ = api.create()
    return api.call("updateOrder", api.order_body(order_id, quantity=2)).status_code == 202


def _price_drift(api: Api) -> bool:
    order_id, created = api.create()
    got = api.get(order_id)
    catalog = 7900  # 25281 at branch 1000
    drifted = all(to_satang(r.json()["productList"][0]["price"]) != catalog for r in (created, got))
    assert api.schema_valid("createOrder", created)
    payment = got.json()["payment"]  # the arithmetic still holds: only the catalog check can tell
    line = got.json()["productList"][0]
    assert to_satang(payment["subTotal"]) == to_satang(line["rowTotal"]) == to_satang(line["price"]) * line["quantity"]
    grand = to_satang(payment["subTotal"]) + to_satang(payment["shippingAmount"]) - to_satang(payment["discountAmount"])
    assert to_satang(payment["grandTotal"]) == grand
    return drifted


def _owner_id_not_checked(api: Api) -> bool:
    order_id = api.new_order_id(0)
    response = api.call("createOrder", api.order_body(order_id, user=0, owner=api.subs[1]), user=0)
    return response.status_code == 200 and response.json()["ownerId"] == api.subs[1]


def _unmasked_card_number(api: Api) -> bool:
    order_id, _ = api.create()
    token, _ = api.pay(order_id, APPROVED_CARD)
    return bool(token.json()["maskedCardNo"] == APPROVED_CARD)


def _html_error_pages(api: Api) -> bool:
    response = api.get("100099000001")
    return response.status_code == 404 and response.headers["content-type"].startswith("text/html")


def _update_not_persisted(api: Api) -> bool:
    order_id, _ = api.create()
    updated = api.call("updateOrder", api.order_body(order_id, quantity=2))
    assert updated.status_code == 200, updated.text
    assert updated.json()["productList"][0]["quantity"] == 2
    return bool(api.get(order_id).json()["productList"][0]["quantity"] == 1)


def _payments_not_found(api: Api) -> bool:
    order_id, created = api.create()
    common = {"orderId": order_id, "basketId": api.subs[0], "grandTotal": created.json()["payment"]["grandTotal"]}
    return api.call("createCardTokenDev", common).status_code == 404


PROBES: dict[str, Callable[[Api], bool]] = {
    "dropped_required_field": _dropped_required_field,
    "field_type_changed": _field_type_changed,
    "total_off_by_one_satang": _total_off_by_one_satang,
    "foreign_order_returned": _foreign_order_returned,
    "no_token_accepted": _no_token_accepted,
    "server_error_on_valid_request": _server_error_on_valid_request,
    "long_comment_breaks": _long_comment_breaks,
    "paid_order_reverts": _paid_order_reverts,
    "valid_pricing_refused": _valid_pricing_refused,
    "declined_card_pays": _declined_card_pays,
    "duplicate_order_ids": _duplicate_order_ids,
    "expired_money_lost": _expired_money_lost,
    "wrong_content_type": _wrong_content_type,
    "undocumented_status": _undocumented_status,
    "price_drift": _price_drift,
    "owner_id_not_checked": _owner_id_not_checked,
    "unmasked_card_number": _unmasked_card_number,
    "html_error_pages": _html_error_pages,
    "update_not_persisted": _update_not_persisted,
    "payments_not_found": _payments_not_found,
    **SHOP_PROBES,
    **LINEITEMS_PROBES,
}


@pytest.fixture(scope="module")
def unbroken_api() -> Iterator[Api]:
    with serve_unbroken() as base_url:
        api = Api(base_url)
        yield api
        api.close()


def test_catalogue_is_complete() -> None:
    assert len(FAULTS) >= 12
    assert set(PROBES) == set(FAULTS)
    for fault in FAULTS.values():
        assert fault.expect, fault.name
        assert set(fault.expect) <= set(load()[fault.contract].operations), fault.name


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_each_fault_is_observable(name: str, unbroken_api: Api) -> None:
    probe = PROBES[name]
    assert probe(unbroken_api) is False, f"the correct mock already shows {name}"
    with serve_broken(name) as base_url:
        api = Api(base_url)
        try:
            assert probe(api) is True, f"the broken mock does not show {name}"
        finally:
            api.close()


# --- what the gate's report must name for a fault --------------------------------------------------
# The gate runs against every fault are the mode matrix's (tests/villa_contracts/test_modes.py): each mode, the
# correct backend and every planted fault.


def caught(fault: Fault, summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The target failures of ``summary`` that name one of the fault's operations (and checks, when given).

    Lint judges the contract documents, not the target, so its failures never count for a fault.
    """
    return [
        failure
        for failure in summary["failures"]
        if failure.get("phase") != "lint"
        and failure.get("contract") in (fault.contract, "")
        and failure["operation"] in fault.expect
        and (not fault.checks or any(check in failure["check"] for check in fault.checks))
    ]
