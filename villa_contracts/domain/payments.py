"""Card payments: card checks, masking, and what the test gateway does with a card."""

from __future__ import annotations

from dataclasses import dataclass

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang

AUTHORIZED = "Authorized"
DECLINED = "Declined"
PRE_AUTHORIZED = "Pre-Authorized"


def luhn_ok(number: str) -> bool:
    """Whether ``number`` passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def mask(number: str) -> str:
    """The only form a card number is ever shown in: ``514950xxxxxx9007``."""
    return number[:6] + "x" * max(len(number) - 10, 0) + number[-4:]


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
        raise RuleViolation("conflict", f"grandTotal={sent!r} is not an amount in THB", pointer) from None
    if amount != expected:
        raise RuleViolation(
            "conflict",
            f"grandTotal {fmt(amount)} THB does not match the order's grand total {fmt(expected)} THB",
            pointer,
        )
    return amount
