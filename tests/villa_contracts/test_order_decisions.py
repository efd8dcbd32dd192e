"""Creating and updating an order are each decided once (``villa_contracts.domain.orders.decide_*``).

The precedence of their refusals is the domain's: these tests pin it, then show that the mock's handler,
the state machine's model and the proxy's oracle answer whatever the decision says (a stand-in decision
that refuses everything is answered by all three), so none of them orders the rules itself.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from starlette.testclient import TestClient

from suites.property.model import Cart, Model, StockLedger
from suites.proxy.traffic_checks import CheckSetup
from suites.proxy.villa_oracle import VillaOracle, _seen
from tests.fixtures.decisions import STAND_IN, refusal, refuse_everything
from tests.fixtures.mock import User, new_order
from villa_contracts.contract import load
from villa_contracts.domain import orders
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation

pytest_plugins = ["tests.fixtures.mock"]


def update(**changes: Any) -> str | None:
    facts: dict[str, Any] = {"owner": "alice", "claimed_owner": "alice", "caller": "alice", "paid": False,
                             "stored_branch": "1000", "branch": None, "expired": False}  # fmt: skip
    return refusal(orders.decide_update, "o-1", **{**facts, **changes})


def create(**changes: Any) -> str | None:
    facts: dict[str, Any] = {"claimed_owner": "alice", "caller": "alice", "issued_to": "alice",
                             "issued_branch": "1000", "exists": False, "branch": None}  # fmt: skip
    return refusal(orders.decide_create, "o-1", **{**facts, **changes})


def test_an_update_of_someone_elses_order_is_404_whatever_owner_it_names() -> None:
    assert update(owner="bob", claimed_owner="bob") == "404 ownership"  # not 403: the order is not shown to exist
    assert update(owner=None, claimed_owner="bob", paid=True) == "404 exists"
    assert update(claimed_owner="bob", paid=True) == "403 owner_is_caller"  # the caller's own: the owner first
    assert update(paid=True, expired=True, branch="2000") == "409 paid_stays_paid"
    assert update(expired=True, branch="2000") == "409 expired_stays_expired"
    assert update(branch="2000") == "409 branch_fixed"
    assert update() is None


def test_a_create_names_the_caller_first_then_its_id() -> None:
    assert create(claimed_owner="bob", issued_to=None, exists=True) == "403 owner_is_caller"
    assert create(issued_to="bob", exists=True) == "404 id_issued_to_caller"
    assert create(exists=True, branch="2000") == "409 id_used_once"
    assert create(branch="2000") == "409 branch_fixed"
    assert create() is None


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(orders, "decide_create", refuse_everything)
    monkeypatch.setattr(orders, "decide_update", refuse_everything)


def test_the_mocks_handler_answers_the_domains_decision(api: TestClient, alice: User) -> None:
    order = new_order(api, alice)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(orders, "decide_update", refuse_everything)
        answer = api.post("/api/order/update", json=order, headers=alice.headers)
        assert answer.status_code == 409 and "stand-in" in answer.json()["error"], answer.text
        patch.setattr(orders, "decide_create", refuse_everything)
        issued = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()
        answer = api.post("/api/order/create", json={**order, **issued}, headers=alice.headers)
        assert answer.status_code == 409 and "stand-in" in answer.json()["error"], answer.text


def test_the_models_expectation_is_the_domains_decision(stand_in: None) -> None:
    model = Model(BusinessData.from_contract(load()), strict=True, ledger=StockLedger())
    cart = Cart("1000", ((25281, 1),))
    model.issue("o-1", 0, "1000")
    assert (model.expect_create(0, "o-1", cart).status, model.expect_create(0, "o-1", cart).check) == (409, "stand_in")
    model.created("o-1", 0, cart, {"payment": {"grandTotal": "174.00"}})
    assert (model.expect_update(0, "o-1", cart).status, model.expect_update(0, "o-1", cart).check) == (409, "stand_in")


def test_the_proxys_oracle_judges_by_the_domains_decision(stand_in: None) -> None:
    contracts = load()
    oracle = VillaOracle(CheckSetup("villa", None, contracts))
    doc = copy.deepcopy(contracts["villa"].openapi["components"]["examples"]["StoredOrder"]["value"])
    oracle.orders[doc["orderId"]] = _seen(doc)
    oracle.issued["o-2"] = (doc["ownerId"], "1000")
    for op, order_id in (("updateOrder", doc["orderId"]), ("createOrder", "o-2")):
        rules = oracle._rules(op, {"orderId": order_id, "ownerId": doc["ownerId"]}, doc["ownerId"])
        with pytest.raises(RuleViolation) as raised:
            for rule in rules:
                rule()
        assert raised.value is STAND_IN, op
