"""Paying a line-item order is decided once (``villa_contracts.domain.lineitems.decide_payment``).

The precedence of its refusals is the domain's: this pins it, then shows that the mock's handler and the
state machine's model answer whatever the decision says (a stand-in that refuses everything is answered by
both), so neither orders the rules itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from suites.property.lineitems_model import LineItemsModel
from tests.fixtures.decisions import refusal, refuse_everything
from tests.fixtures.mock import User
from villa_contracts.contract import load
from villa_contracts.domain import lineitems as rules

pytest_plugins = ["tests.fixtures.mock"]

DATA = rules.LineItemsData.from_contract(load())
ORDER = {"id": 7, "owner": "alice", "state": rules.PAYMENT, "paid_cents": 0, "references": [],
         "lines": [[33, 1, 5000]], "shipping": [["Considine-Ryan", 500]]}  # fmt: skip


def pay(**changes: Any) -> str | None:
    facts: dict[str, Any] = {"order": ORDER, "caller": "alice", "reference_id": "PAYID-100-a", "used_by": None}
    facts = {**facts, **changes}
    order, caller, reference = facts.pop("order"), facts.pop("caller"), facts.pop("reference_id")
    return refusal(rules.decide_payment, DATA, 7, order, caller, reference, touched=1, **facts)


def test_someone_elses_order_first_then_the_reference_id_then_the_order() -> None:
    unknown, done = "not-a-paypal-id", {**ORDER, "state": rules.COMPLETED}
    assert pay(order=None, reference_id=unknown, used_by=3) == "404 ownership"  # a missing order, shown as none
    assert pay(caller="bob", reference_id=unknown, used_by=3) == "404 ownership"  # someone else's: the same
    assert pay(reference_id=unknown, used_by=3, order=done) == "404 reference"  # PayPal knows no such payment
    assert pay(used_by=3, order=done) == "409 reference_once"
    assert pay(order=done) == "409 payable"
    assert pay() is None


def test_the_mocks_handler_answers_the_domains_decision(api: TestClient, alice: User) -> None:
    line = {"variant_id": 33, "quantity": 1}
    address = {"firstname": "A", "lastname": "B", "address1": "1 Road", "zipcode": "10110", "phone": "081"}
    order = api.post("/api/v1/orders.json", json={"line_items": [line], "ship_address": address}, headers=alice.headers)
    assert order.status_code == 201, order.text
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules, "decide_payment", refuse_everything)
        answer = api.post(
            f"/api/orders/{order.json()['id']}/payments", json={"reference_id": "123456789"}, headers=alice.headers
        )
    assert answer.status_code == 409 and "stand-in" in answer.text, answer.text


def test_the_models_expectation_is_the_domains_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    model = LineItemsModel(DATA)
    monkeypatch.setattr(rules, "decide_payment", refuse_everything)
    expect = model.expect_pay(0, 7, "PAYID-100-a")
    assert (expect.status, expect.check) == (409, "stand_in")
