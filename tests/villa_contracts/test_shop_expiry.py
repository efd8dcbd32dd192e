"""The shop's decision at expiry (``villa_contracts.domain.shop.refunds_at_expiry``): money is never silently lost."""

from __future__ import annotations

import pytest

from villa_contracts.domain import shop as rules


def report(*, attempt: str = rules.PENDING, order: str = rules.HOLD, paid_by: str | None = None,
           status: str = rules.PAID, amount: int = 17400, currency: str = "THB") -> rules.CallbackDecision:  # fmt: skip
    return rules.decide_callback(
        attempt_status=attempt,
        order_status=order,
        paid_by=paid_by,
        external_id="pay_1",
        status=status,
        total_amount=amount,
        currency=currency,
        expected_amount=17400,
        expected_currency="THB",
    )


@pytest.mark.parametrize(
    ("order", "paid_by", "refunds"),
    [(rules.CANCELLED, None, True), (rules.HOLD, None, False), (rules.PROCESSING, "pay_0", False)],
)
def test_only_an_order_cancelled_at_expiry_refunds_what_the_gateway_took(
    order: str, paid_by: str | None, refunds: bool
) -> None:
    assert rules.refunds_at_expiry(order, paid_by) is refunds


@pytest.mark.parametrize(("amount", "currency"), [(17400, "THB"), (1, "THB"), (17400, "USD")])
def test_an_approval_after_expiry_is_refunded_whatever_it_took(amount: int, currency: str) -> None:
    decision = report(order=rules.CANCELLED, amount=amount, currency=currency)
    assert decision == rules.CallbackDecision(rules.REFUNDED, pays=False, changed=True, refunds=True)
    assert decision.outcome == rules.EXPIRY_REFUND
    rules.enforce(decision)  # not refused: the gateway is told it was handled


def test_the_approval_again_is_refunded_once_and_other_reports_cannot_change_it() -> None:
    again = report(attempt=rules.REFUNDED, order=rules.CANCELLED)
    assert (again.attempt_status, again.changed, again.refunds) == (rules.REFUNDED, False, False)
    declined = report(attempt=rules.REFUNDED, order=rules.CANCELLED, status=rules.DECLINED)
    assert declined.refusal is not None and declined.refusal.rule == "attempt_final"


def test_a_second_approval_of_a_paid_order_is_still_rejected() -> None:
    decision = report(order=rules.PROCESSING, paid_by="pay_0")
    assert decision.attempt_status == rules.REJECTED and decision.refusal is not None
