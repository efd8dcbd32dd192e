"""Card payments: what the test gateway does with a card, amounts and payers (card data itself: ``cards``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from villa_contracts.domain.cards import luhn_ok
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.orders import require_not_expired, require_visible

AUTHORIZED = "Authorized"
DECLINED = "Declined"
PRE_AUTHORIZED = "Pre-Authorized"
VOIDED = "Voided"
"""A charge voided because its order expired before it was captured (``decide_expiry``): no money is held."""
VOIDED_STATUS = "voided"
EXPIRED_FAILURE_CODE = "order_expired"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a charge with a card does at the gateway."""

    transaction_state: str
    status: str
    needs_3ds: bool
    failure_code: str | None = None
    failure_message: str | None = None


def charge_outcome(data: BusinessData, number: str) -> Outcome | None:
    """The outcome of charging ``number``; None when the gateway is down for that card.

    Cards the test gateway does not know are declined (``invalid_card`` when the checksum fails).
    """
    card = data.cards.get(number)
    if card is None:
        code = "card_declined" if luhn_ok(number) else "invalid_card"
        return Outcome(DECLINED, "fail", False, code, "the test gateway declines cards it does not list")
    if card.outcome == "gateway_down":
        return None
    if card.outcome == "approve":
        return Outcome(AUTHORIZED, "success", False)
    if card.outcome == "three_ds":
        return Outcome(PRE_AUTHORIZED, "pending", True)
    return Outcome(DECLINED, "fail", False, card.failure_code or "card_declined", "the card was declined")


def require_amount(sent: object, expected: Satang, pointer: str = "/grandTotal") -> Satang:
    """Raise unless the amount a client sent equals the order's grand total to the satang."""
    try:
        amount = to_satang(sent)
    except ValueError:
        raise RuleViolation(
            "conflict", f"grandTotal={sent!r} is not an amount in THB", pointer, rule="amount_must_match"
        ) from None
    if amount != expected:
        raise RuleViolation(
            "conflict",
            f"grandTotal {fmt(amount)} THB does not match the order's grand total {fmt(expected)} THB",
            pointer,
            rule="amount_must_match",
        )
    return amount


def require_payer(user_id: object, caller: str) -> None:
    """Raise when a payment request names a ``userId`` that is not the caller's ``sub`` (absent: fine)."""
    if user_id is not None and user_id != caller:
        raise RuleViolation(
            "forbidden",
            f"userId must equal the sub of the caller's ID token (userId={user_id!r} is not the caller's)",
            "/userId",
            rule="owner_is_caller",
        )


def check_payable(order_id: object, *, paid: bool, grand_total: Satang, sent: object, expired: bool = False) -> Satang:
    """Decide whether the caller's order can take a card token or a charge of ``sent`` THB.

    Raises:
        RuleViolation: the order is paid (``conflict``, ``paid_stays_paid``), expired (``conflict``,
            ``expired_stays_expired``) or ``sent`` is not its grand total (``conflict``, ``amount_must_match``).
    """
    if paid:
        raise RuleViolation("conflict", f"order {order_id!r} is already paid", rule="paid_stays_paid")
    require_not_expired(order_id, expired=expired)
    return require_amount(sent, grand_total)


def check_token(*, known: bool, used: bool, expires_at: float, now: float, gateway_down: bool) -> None:
    """Decide whether a card token can pay for the order it is presented with.

    Args:
        known: the token exists, is the caller's and was made for this order.
        used: a charge was already made with it.
        expires_at: when it expires (epoch seconds).
        now: the clock.
        gateway_down: its card's gateway does not answer.

    Raises:
        RuleViolation: unknown (``not_found``), used or expired (``conflict``), or the gateway is
            down (``unavailable``: nothing is charged).
    """
    if not known:
        raise RuleViolation(
            "not_found", "no such card token for this order; create one with cardtoken", "/token", rule="token_known"
        )
    if used:
        raise RuleViolation(
            "conflict", "the card token was already used; create a new one", "/token", rule="token_once"
        )
    if expires_at < now:
        raise RuleViolation("conflict", "the card token has expired; create a new one", "/token", rule="token_fresh")
    if gateway_down:
        raise RuleViolation(
            "unavailable",
            "payment gateway unavailable; nothing was charged, try again later",
            rule="gateway_down_changes_nothing",
        )


def require_charge(charge_id: object, order_id: object | None, *, known: bool) -> None:
    """Raise unless the charge exists (and, for verify, is the caller's and was made for ``order_id``)."""
    if not known:
        if order_id is None:  # the 3-D Secure page: the charge id is in the path
            raise RuleViolation("not_found", f"no charge {charge_id!r}", "/path/chargeId", rule="exists")
        raise RuleViolation(
            "not_found", f"no charge {charge_id!r} for order {order_id!r}", "/chargeId", rule="ownership"
        )


@dataclass(frozen=True, slots=True)
class ChargeFacts:
    """What the payment rules need to know of a charge: its id, state and the amount it was made for."""

    charge_id: str
    state: str
    amount: Satang


def open_charge(charges: Iterable[ChargeFacts], *, grand_total: Satang, paid_by: str | None) -> ChargeFacts | None:
    """The order's charge still in progress, if any.

    In progress: waiting for 3-D Secure, or Authorized for the order's current grand total and not
    yet captured. A charge for an older total (the order changed since) is stale and blocks nothing.
    """
    for charge in charges:
        if charge.state == PRE_AUTHORIZED and charge.amount == grand_total:
            return charge
        if charge.state == AUTHORIZED and charge.amount == grand_total and charge.charge_id != paid_by:
            return charge
    return None


def check_no_open_charge(order_id: object, charge: ChargeFacts | None) -> None:
    """Raise when the order already has a charge in progress (one authorization at a time)."""
    if charge is not None:
        waiting = "waits for 3-D Secure" if charge.state == PRE_AUTHORIZED else "is Authorized: verify it"
        raise RuleViolation(
            "conflict",
            f"order {order_id!r} already has a charge in progress: {charge.charge_id} {waiting}",
            "/token",
            rule="one_charge_at_a_time",
        )


def check_capture(charge: ChargeFacts, *, grand_total: Satang, paid_by: str | None) -> bool:
    """Decide what verifying ``charge`` does to its order; return whether it pays the order now.

    Returns:
        True for an Authorized charge of the order's current grand total when the order is unpaid;
        False when nothing changes (already captured by this charge, or not Authorized).

    Raises:
        RuleViolation: the order was paid by another charge (``conflict``, ``captured_once``), or the
            charge was made for another total than the order's current one (``conflict``,
            ``amount_must_match``): an order is captured at most once, at the total it was charged.
    """
    if paid_by is not None:
        if paid_by == charge.charge_id:
            return False
        raise RuleViolation(
            "conflict",
            f"order is already paid by {paid_by}; charge {charge.charge_id} is not captured",
            "/chargeId",
            rule="captured_once",
        )
    if charge.state != AUTHORIZED:
        return False
    if charge.amount != grand_total:
        raise RuleViolation(
            "conflict",
            f"charge {charge.charge_id} was for {fmt(charge.amount)} THB but the order's grand total is now "
            f"{fmt(grand_total)} THB: make a new card token and charge",
            "/chargeId",
            rule="amount_must_match",
        )
    return True


def check_three_ds(charge_id: str, state: str, *, order_paid: bool = False) -> None:
    """Raise unless the charge waits for 3-D Secure (``Pre-Authorized``) and its order is not paid."""
    if state != PRE_AUTHORIZED:
        raise RuleViolation(
            "conflict", f"charge {charge_id!r} is {state}, not waiting for 3-D Secure", rule="payment_outcome"
        )
    if order_paid:
        raise RuleViolation(
            "conflict",
            f"charge {charge_id!r} cannot be completed: its order is already paid",
            rule="paid_stays_paid",
        )


def three_ds_result(action: str) -> Outcome:
    """The charge's outcome after the card holder completes or refuses 3-D Secure."""
    if action == "complete":
        return Outcome(AUTHORIZED, "success", False)
    return Outcome(DECLINED, "fail", False, "3ds_refused", "the card holder refused 3-D Secure")


# --- each payment operation decided once -------------------------------------------------------------
#
# The mock's handlers, the state machine's model and the proxy's oracle ask these, and none orders the
# rules itself: the precedence of the refusals is written here only. A fact passed as None is one the
# caller does not know (a watcher that did not see the order or the token): its rule is not decided,
# and the refusals after it stand as they would if it held.


@dataclass(frozen=True, slots=True)
class PayableOrder:
    """What the payment rules need to know of an order.

    Attributes:
        owner: its ``ownerId``; None when there is no such order.
        paid: whether it is paid.
        paid_by: the charge that paid it, if one did.
        grand_total: its grand total.
        expired: it expired holding a charge and is kept as the record of the void (``decide_expiry``).
    """

    owner: str | None
    paid: bool
    paid_by: str | None
    grand_total: Satang
    expired: bool = False


MISSING = PayableOrder(None, False, None, 0)
"""An order that does not exist (someone else's answers the same)."""


@dataclass(frozen=True, slots=True)
class TokenFacts:
    """What the payment rules need to know of a card token (see ``check_token``)."""

    known: bool
    used: bool
    expires_at: float
    gateway_down: bool


@dataclass(frozen=True, slots=True)
class Verified:
    """What ``verify`` does: whether it settles the order now, and whether the answer says ``paid``."""

    settles: bool
    paid: bool


def decide_card_token(
    order_id: object, *, caller: str, payer: object, sent: object, order: PayableOrder | None
) -> None:
    """Decide ``cardtoken``: nothing when it may go ahead.

    Refused, the first that applies: the request names another payer (403), the order is missing or
    another's (404), it is paid or ``sent`` is not its grand total (409).

    Raises:
        RuleViolation: the refusal.
    """
    require_payer(payer, caller)
    if order is not None:
        require_visible(order_id, order.owner, caller)
        check_payable(order_id, paid=order.paid, grand_total=order.grand_total, sent=sent, expired=order.expired)


def decide_charge(
    order_id: object,
    *,
    caller: str,
    payer: object,
    sent: object,
    order: PayableOrder | None,
    charges: Iterable[ChargeFacts] | None,
    token: TokenFacts | None,
    now: float,
) -> None:
    """Decide ``charge``: nothing when it may go ahead.

    Refused as ``decide_card_token`` refuses, then when another charge of the order is in progress (409),
    then when the token is unknown (404), used or expired (409), or its card's gateway is down (503).

    Raises:
        RuleViolation: the refusal.
    """
    decide_card_token(order_id, caller=caller, payer=payer, sent=sent, order=order)
    if order is not None and charges is not None:
        check_no_open_charge(order_id, open_charge(charges, grand_total=order.grand_total, paid_by=order.paid_by))
    if token is not None:
        check_token(
            known=token.known, used=token.used, expires_at=token.expires_at, now=now, gateway_down=token.gateway_down
        )


def decide_verify(
    charge_id: object, order_id: object, *, caller: str, charge: ChargeFacts | None, order: PayableOrder
) -> Verified:
    """Decide ``verify``: what it does to the order.

    Refused when the charge is not the caller's for this order (404: ``charge`` None), the order is
    missing or another's (404), or it was captured by another charge or for another total (409).

    Returns:
        whether it settles the order now, and whether the order is paid by this charge afterwards.

    Raises:
        RuleViolation: the refusal.
    """
    require_charge(charge_id, order_id, known=charge is not None)
    assert charge is not None
    require_visible(order_id, order.owner, caller)
    settles = check_capture(charge, grand_total=order.grand_total, paid_by=order.paid_by)
    return Verified(settles, settles or order.paid_by == charge.charge_id)


@dataclass(frozen=True, slots=True)
class Expiry:
    """What expiry does to an unpaid order and its money (``decide_expiry``).

    Attributes:
        voided: the charges voided, in the order given: every one that holds money or could still
            come to (Authorized and never captured, or waiting for 3-D Secure).
        keep: whether the order is kept as the record of the voids (``payment.status`` ``EXPIRED``);
            an order that held no money is deleted.
    """

    voided: tuple[ChargeFacts, ...]

    @property
    def keep(self) -> bool:
        """Whether the order is kept: it held money, so its owner must be able to read what became of it."""
        return bool(self.voided)


def decide_expiry(charges: Iterable[ChargeFacts]) -> Expiry:
    """Decide what becomes of an order's money when it expires unpaid (``orders.is_expired``).

    Money is never silently lost: every charge that holds money on the card (Authorized, never
    captured: the order is unpaid) or could still hold some (Pre-Authorized: its 3-D Secure page
    would authorize it) is voided, and the order is kept, ``payment.status`` ``EXPIRED``, so that
    verify answers the charge ``Voided`` with the order and getOrder reads why. An order with no such
    charge (none, or only Declined ones) is deleted, as every unpaid order is. The mock's sweeper and
    the tests ask this; none decides it again.

    Example:
        >>> decide_expiry([ChargeFacts("chrg_test_a", DECLINED, 17400)]).keep
        False
        >>> [c.charge_id for c in decide_expiry([ChargeFacts("chrg_test_b", AUTHORIZED, 17400)]).voided]
        ['chrg_test_b']
    """
    return Expiry(tuple(charge for charge in charges if charge.state in (AUTHORIZED, PRE_AUTHORIZED)))
