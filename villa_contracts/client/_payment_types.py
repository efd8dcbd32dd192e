"""The values of card payments: card tokens, charges, verify results, masked numbers and amounts.

Card numbers are only ever shown masked (``514950xxxxxx9007``), and card tokens never appear in a
``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from villa_contracts.client._orders import Order
from villa_contracts.client._pricing_requests import thb
from villa_contracts.domain.cards import mask
from villa_contracts.errors import UsageError

Amount = float | int | Decimal | str


def mask_card(number: str) -> str:
    """Mask a card number as it may be shown: the first 6 and last 4 digits (``514950xxxxxx9007``).

    Args:
        number: the card number.

    Returns:
        The masked number.

    """
    return mask(number)


def amount_text(value: Amount) -> str:
    """Format an amount as the payment endpoints take it: a decimal string with 2 places (``"174.00"``).

    Args:
        value: THB.

    Returns:
        The decimal string.

    Raises:
        UsageError: not a non-negative amount to the satang.

    """
    amount = thb(value)
    if amount < 0:
        raise UsageError(f"amount={value!r} is negative")
    return f"{amount:.2f}"


@dataclass(frozen=True, slots=True)
class CardToken:
    """A one-use card token bound to an order.

    Attributes:
        card_token: the token to charge with (hidden from ``repr``).
        masked_card_no: the card, masked.
        brand: the card brand (VISA, MASTERCARD...).

    """

    card_token: str = field(repr=False)
    masked_card_no: str
    brand: str


@dataclass(frozen=True, slots=True)
class ChargeResult:
    """A card charge.

    Attributes:
        charge_id: the charge id (``chrg_test_...``).
        transaction_state: Authorized, Declined, Pre-Authorized (3-D Secure needed) or Voided (its
            order expired unpaid: nothing held).
        status: success, fail, pending or voided.
        redirect_url: the 3-D Secure page when Pre-Authorized, else None.
        amount: the amount charged, THB.
        failure_code: why it failed, when it did.
        failure_message: the failure for a person.

    """

    charge_id: str
    transaction_state: str
    status: str
    redirect_url: str | None
    amount: Decimal
    failure_code: str | None
    failure_message: str | None

    @property
    def needs_3ds(self) -> bool:
        """Whether the card holder must pass 3-D Secure at ``redirect_url``."""
        return self.transaction_state == "Pre-Authorized" and self.redirect_url is not None


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """A charge settled into its order.

    Attributes:
        paid: whether the order is now paid by this charge.
        transaction_state: the charge's state.
        order: the order as stored.

    """

    paid: bool
    transaction_state: str
    order: Order
