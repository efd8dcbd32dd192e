"""Paying a line-item order is decided once (``villa_contracts.domain.lineitems.decide_payment``).

The precedence of its refusals is the domain's: this pins it, with the whole record and with what the proxy
sees of an order, then shows that the mock's handler, the state machine's model and the proxy's oracle answer
whatever the decision says (a stand-in that refuses everything is answered by all three), so none orders the
rules itself.
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


def test_what_the_proxy_knows_is_decided_in_the_same_order() -> None:
    glimpsed = rules.Glimpsed("alice")
    # Someone else's order first, then a reference id seen paying; PayPal's answer (the sandbox's) is not asked.
    assert refusal(rules.decide_payment, None, 7, glimpsed, "bob", "PAYID-1-a", used_by=3, touched=0) == "404 ownership"
    assert refusal(rules.decide_payment, None, 7, glimpsed, "alice", "not-a-paypal-id", used_by=3, touched=0) == (
        "409 reference_once"
    )
    unknown_owner = rules.Glimpsed()  # no answer named its owner: visibility is not judged
    assert refusal(rules.decide_payment, None, 7, unknown_owner, "bob", "PAYID-1-a", used_by=3, touched=0) == (
        "409 reference_once"
    )
    assert rules.decide_payment(None, 7, glimpsed, "alice", "not-a-paypal-id", used_by=None, touched=0) is None


def test_the_proxys_oracle_judges_by_the_domains_decision(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.villa_contracts import test_proxy_lineitems_oracle as proxy

    monkeypatch.setattr(proxy, "JUDGED", proxy.JUDGED | {"stand_in"})
    api = proxy.LineItems()
    api.send("createLineItemOrder", {}, proxy.order(1), 201)
    monkeypatch.setattr(rules, "decide_payment", refuse_everything)
    paid = api.send("payLineItemOrder", {"reference_id": "PAYID-5000-a"}, proxy.order(1, "completed"), 201, id=1)
    assert proxy.failed(paid) == {"stand_in"}
