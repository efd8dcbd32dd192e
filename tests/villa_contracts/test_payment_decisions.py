"""Each payment operation is decided once (``villa_contracts.domain.payments.decide_*``), and everyone asks it.

The precedence of the refusals is the domain's: these tests pin it there, then show that the mock's
handler, the state machine's model and the proxy's oracle answer whatever the decision says (a stand-in
decision that refuses everything is answered by all three), so none of them orders the rules itself.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from suites.property.model import Cart, Model, StockLedger
from suites.proxy.villa_oracle import _decide_payment
from tests.fixtures.decisions import STAND_IN, refusal, refuse_everything
from tests.fixtures.mock import User, new_order
from villa_contracts.contract import load
from villa_contracts.domain import payments
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation

pytest_plugins = ["tests.fixtures.mock"]

ORDER = payments.PayableOrder(owner="alice", paid=False, paid_by=None, grand_total=17400)
FRESH = payments.TokenFacts(known=True, used=False, expires_at=100.0, gateway_down=False)


def charge(**changes: Any) -> str | None:
    facts: dict[str, Any] = {
        "caller": "alice",
        "payer": None,
        "sent": "174.00",
        "order": ORDER,
        "charges": [],
        "token": FRESH,
        "now": 0.0,
    }
    return refusal(payments.decide_charge, "o-1", **{**facts, **changes})


def test_a_charge_that_breaks_every_rule_gets_the_first_refusal_in_the_domains_order() -> None:
    paid = payments.PayableOrder("alice", True, "chrg_1", 17400)
    used = payments.TokenFacts(known=False, used=True, expires_at=0.0, gateway_down=True)
    waiting = [payments.ChargeFacts("chrg_2", payments.PRE_AUTHORIZED, 17400)]
    assert charge(payer="bob", order=payments.MISSING, token=used) == "403 owner_is_caller"
    assert charge(order=payments.MISSING, token=used) == "404 exists"
    assert charge(order=payments.PayableOrder("bob", False, None, 17400)) == "404 ownership"
    assert charge(order=paid, charges=waiting, token=used) == "409 paid_stays_paid"
    assert charge(sent="174.01", charges=waiting, token=used) == "409 amount_must_match"
    assert charge(charges=waiting, token=used) == "409 one_charge_at_a_time"
    assert charge(token=used) == "404 token_known"
    assert charge(token=payments.TokenFacts(True, True, 0.0, True)) == "409 token_once"
    assert charge(token=payments.TokenFacts(True, False, -1.0, True)) == "409 token_fresh"
    assert charge(token=payments.TokenFacts(True, False, 100.0, True)) == "503 gateway_down_changes_nothing"
    assert charge() is None


def test_an_unknown_fact_decides_nothing_and_the_rules_after_it_still_stand() -> None:
    # A watcher that saw neither the order nor the token: only the payer is decided.
    assert charge(order=None, charges=None, token=None) is None
    assert charge(payer="bob", order=None, charges=None, token=None) == "403 owner_is_caller"
    # It saw the order but not its charges nor the token.
    assert charge(sent="1.00", charges=None, token=None) == "409 amount_must_match"


def test_verify_settles_an_authorized_charge_once_and_says_paid_for_the_charge_that_paid() -> None:
    authorized = payments.ChargeFacts("chrg_1", payments.AUTHORIZED, 17400)
    verdict = payments.decide_verify("chrg_1", "o-1", caller="alice", charge=authorized, order=ORDER)
    assert verdict == payments.Verified(settles=True, paid=True)
    settled = payments.PayableOrder("alice", True, "chrg_1", 17400)
    again = payments.decide_verify("chrg_1", "o-1", caller="alice", charge=authorized, order=settled)
    assert again == payments.Verified(settles=False, paid=True)
    declined = payments.ChargeFacts("chrg_3", payments.DECLINED, 17400)
    assert payments.decide_verify("chrg_3", "o-1", caller="alice", charge=declined, order=ORDER).paid is False
    other = payments.ChargeFacts("chrg_2", payments.AUTHORIZED, 17400)
    decide = payments.decide_verify
    assert refusal(decide, "chrg_2", "o-1", caller="alice", charge=other, order=settled) == "409 captured_once"
    assert refusal(decide, "chrg_9", "o-1", caller="alice", charge=None, order=ORDER) == "404 ownership"


@pytest.fixture
def stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payments, "decide_charge", refuse_everything)
    monkeypatch.setattr(payments, "decide_card_token", refuse_everything)


def test_the_mocks_handler_answers_the_domains_decision(api: TestClient, alice: User, stand_in: None) -> None:
    order = new_order(api, alice)
    body = {"orderId": order["orderId"], "basketId": alice.sub, "grandTotal": "1.00", "token": "tokn_test_x"}
    answer = api.post("/api/payment3devapi/charge", json=body, headers=alice.headers)
    assert answer.status_code == 409 and "stand-in" in answer.json()["error"], answer.text


def test_the_models_expectation_is_the_domains_decision(stand_in: None) -> None:
    model = Model(BusinessData.from_contract(load()), strict=True, ledger=StockLedger())
    cart = Cart("1000", ((25281, 1),))
    model.issue("o-1", 0, "1000")
    model.created("o-1", 0, cart, {"payment": {"grandTotal": "174.00"}})
    expect = model.expect_charge(0, "o-1", None, card="4111111111111111")
    assert (expect.status, expect.check) == (409, "stand_in")
    assert (model.expect_payable(0, "o-1", None).status, model.expect_payable(0, "o-1", None).check) == (
        409,
        "stand_in",
    )


def test_the_proxys_oracle_judges_by_the_domains_decision(stand_in: None) -> None:
    for op in ("createChargeDev", "createCardTokenDev"):
        with pytest.raises(RuleViolation) as raised:
            _decide_payment(op, "o-1", "alice", {"grandTotal": "174.00"}, None)
        assert raised.value is STAND_IN


# --- money at expiry (``decide_expiry``) -----------------------------------------------------------


def _charge(charge_id: str, state: str) -> payments.ChargeFacts:
    return payments.ChargeFacts(charge_id, state, 17400)


@pytest.mark.parametrize(
    ("states", "voided"),
    [
        ((), ()),
        ((payments.DECLINED,), ()),
        ((payments.AUTHORIZED,), ("c0",)),
        ((payments.PRE_AUTHORIZED,), ("c0",)),
        ((payments.DECLINED, payments.AUTHORIZED, payments.PRE_AUTHORIZED), ("c1", "c2")),
    ],
)
def test_expiry_voids_every_charge_that_holds_or_could_hold_money(
    states: tuple[str, ...], voided: tuple[str, ...]
) -> None:
    expiry = payments.decide_expiry(_charge(f"c{i}", state) for i, state in enumerate(states))
    assert tuple(c.charge_id for c in expiry.voided) == voided
    assert expiry.keep is bool(voided)  # kept as the record of its voids; with no money held, deleted


def test_an_expired_order_is_refused_a_token_a_charge_and_an_update_but_verify_answers_its_void() -> None:
    from villa_contracts.domain import orders

    expired = payments.PayableOrder(owner="alice", paid=False, paid_by=None, grand_total=17400, expired=True)
    assert refusal(payments.decide_card_token, "1", caller="alice", payer=None, sent=174, order=expired) == (
        "409 expired_stays_expired"
    )
    with pytest.raises(RuleViolation) as refused:
        orders.check_update("1", paid=False, stored_branch="1000", branch=None, expired=True)
    assert (refused.value.status, refused.value.rule) == (409, "expired_stays_expired")
    voided = _charge("c0", payments.VOIDED)
    assert payments.decide_verify("c0", "1", caller="alice", charge=voided, order=expired) == payments.Verified(
        settles=False, paid=False
    )


def test_the_expired_record_says_what_was_voided_and_why() -> None:
    from villa_contracts.domain import orders

    order = {"orderId": "1", "payment": {"status": "PENDING", "isPaid": False, "paymentLog": []}}
    kept = orders.mark_expired(order, [("c0", 17400, "411111xxxxxx1111")], now=5.0)
    assert kept["payment"]["status"] == orders.PAYMENT_EXPIRED and orders.is_expired_record(kept)
    assert kept["payment"]["paymentLog"] == ["c0 Voided 174.00 THB 411111xxxxxx1111: " + orders.EXPIRED_REASON]
    assert not orders.is_expired(kept, 0.0, 10.0)  # expires once
    assert order["payment"]["status"] == "PENDING"  # the stored order is not changed in place
