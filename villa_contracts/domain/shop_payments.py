"""The shop's payment attempts (seed 003): statuses, the gateway's callback, refunds at expiry.

Order statuses: ``HOLD`` while payment is processing → ``PROCESSING`` once paid (or at once for a
direct payment method); an order unpaid 5 hours after checkout is ``CANCELLED``. Payment attempts:
``PENDING`` → ``PAID`` / ``DECLINED`` / ``ABANDONED``; a callback that does not match (amount,
currency) is refused and recorded on the attempt as ``REJECTED``; an approval that arrives after its
order was cancelled at expiry is refunded: ``REFUNDED`` (``refunds_at_expiry``). Every name here is
also ``villa_contracts.domain.shop``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang

HOLD, PROCESSING, CANCELLED = "HOLD", "PROCESSING", "CANCELLED"
PENDING, PAID, DECLINED, ABANDONED, REJECTED = "PENDING", "PAID", "DECLINED", "ABANDONED", "REJECTED"
REFUNDED = "REFUNDED"
"""An attempt approved after its order was cancelled at expiry: the payment was refunded (``refunds_at_expiry``)."""
EXPIRY_REFUND = "refunded: the order was cancelled unpaid 5 hours after checkout"
"""How an attempt's log records a payment refunded because its order expired."""


@dataclass(frozen=True, slots=True)
class CallbackDecision:
    """What a gateway callback does.

    Attributes:
        attempt_status: the attempt's status afterwards.
        pays: the order is processed to paid now.
        changed: the attempt changes (False for a repeated callback).
        refusal: why the report is refused (it is still recorded on the attempt); None when accepted.
        refunds: the payment reported is refunded now (``refunds_at_expiry``).
    """

    attempt_status: str
    pays: bool
    changed: bool
    refusal: RuleViolation | None = None
    refunds: bool = False

    @property
    def outcome(self) -> str:
        """How the attempt's log records the report."""
        if self.refusal is not None:
            return f"refused ({self.refusal.rule})"
        if self.refunds:
            return EXPIRY_REFUND
        return "applied" if self.changed else "repeated (no change)"


def refunds_at_expiry(order_status: str, paid_by: str | None) -> bool:
    """Whether money the gateway took for an order must be refunded because the order expired.

    An order unpaid 5 hours after checkout is ``CANCELLED`` (``is_expired``), its stock released,
    while a payer may still be on the gateway's page: an approval that arrives afterwards has taken
    the customer's money for an order that no longer exists. Money is never silently lost: that
    payment is refunded, and its attempt reads ``REFUNDED`` with the reason in its log, so the
    customer sees what became of it (``GET .../attempts``); the order stays ``CANCELLED``. This is the
    shop's decision at expiry; ``decide_callback`` asks it for the mock, the state machine and the
    proxy's oracle alike.

    Example:
        >>> refunds_at_expiry(CANCELLED, None), refunds_at_expiry(HOLD, None)
        (True, False)
    """
    return order_status == CANCELLED and paid_by is None


def require_attempt(external_id: str, *, known: bool) -> None:
    """Raise unless the attempt exists (a callback or a payer's decision for an unknown attempt)."""
    if not known:
        raise RuleViolation("not_found", f"no payment attempt {external_id!r}", "/external_id", rule="known_attempt")


def decide_callback(
    *,
    attempt_status: str,
    order_status: str,
    paid_by: str | None,
    external_id: str,
    status: str,
    total_amount: int,
    currency: str,
    expected_amount: Satang,
    expected_currency: str,
) -> CallbackDecision:
    """``update_attempt_to_pay``: decide a gateway's report on a known attempt of a known order.

    The same callback twice pays once (the second changes nothing). A report of PAID pays only when
    amount and currency match the order and the order is still unpaid. Refused, and recorded on the
    attempt as ``REJECTED`` (final: the payer starts a new attempt): an amount or currency that does
    not match (``amount_must_match``), an approval for an order that is paid (``one_payment_per_order``).
    An approval for an order cancelled at expiry is refunded (``refunds_at_expiry``): the attempt
    becomes ``REFUNDED`` (final; the same report again changes nothing). Refused and recorded, the
    attempt unchanged: a repeated approval whose amount or currency no longer matches, a report that
    contradicts the attempt's final status (``attempt_final``).
    """
    mismatch = total_amount != expected_amount or currency != expected_currency
    if attempt_status == REFUNDED and status == PAID:
        return CallbackDecision(REFUNDED, False, False)  # the approval again: refunded once
    if status == attempt_status and not (status == PAID and mismatch):
        return CallbackDecision(attempt_status, False, False)  # a repeated callback: idempotent
    if status == attempt_status:  # a repeated approval that no longer matches: refused, the attempt stays PAID
        return CallbackDecision(attempt_status, False, False, _mismatch(total_amount, currency, external_id,
                                                                       expected_amount, expected_currency))  # fmt: skip
    if attempt_status != PENDING:
        final = f"attempt {external_id} is {attempt_status} already; a {status} report cannot change it"
        return CallbackDecision(
            attempt_status, False, False, RuleViolation("conflict", final, "/status", rule="attempt_final")
        )
    if status != PAID:
        return CallbackDecision(status, False, True)
    if refunds_at_expiry(order_status, paid_by):  # whatever it took, amount or currency: all of it goes back
        return CallbackDecision(REFUNDED, False, True, refunds=True)
    if paid_by is not None or order_status != HOLD:
        why = f"paid by attempt {paid_by}" if paid_by else order_status.lower()
        once = f"the order is {why}: attempt {external_id} is not processed (one payment per order)"
        return CallbackDecision(
            REJECTED, False, True, RuleViolation("conflict", once, "/external_id", rule="one_payment_per_order")
        )
    if mismatch:
        refusal = _mismatch(total_amount, currency, external_id, expected_amount, expected_currency)
        return CallbackDecision(REJECTED, False, True, refusal)
    return CallbackDecision(PAID, True, True)


def _mismatch(
    total_amount: int, currency: str, external_id: str, expected: Satang, expected_currency: str
) -> RuleViolation:
    return RuleViolation(
        "conflict",
        f"the gateway reports {total_amount} {currency} (minor units) but the order is "
        f"{expected} {expected_currency}: refused and recorded on attempt {external_id}",
        "/total_amount" if total_amount != expected else "/currency",
        rule="amount_must_match",
    )


def enforce(decision: CallbackDecision) -> None:
    """Raise the decision's refusal, if any (after the attempt has recorded it)."""
    if decision.refusal is not None:
        raise decision.refusal


PAYER_ACTIONS = {"approve": PAID, "decline": DECLINED, "abandon": ABANDONED}
"""What the gateway reports when the payer presses a button on its page."""
