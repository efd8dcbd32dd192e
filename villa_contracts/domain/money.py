"""Exact money: amounts are integer satang (1 THB = 100 satang), never float arithmetic."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from villa_contracts.errors import UsageError

Satang = int
_CENT = Decimal("0.01")
# Far above any basket, far below where Decimal's default context stops being exact.
_LIMIT = Decimal(10) ** 15


def to_satang(value: object) -> Satang:
    """Convert THB given as Decimal, int, float or decimal string to integer satang.

    Floats are read through their shortest ``repr`` so that ``174.0`` and ``79.95`` are exact.

    Raises:
        UsageError: the value is not a finite amount with at most 2 decimals.
    """
    if isinstance(value, bool):
        raise UsageError(f"amount={value!r} is a boolean, not an amount")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))
    except InvalidOperation:
        raise UsageError(f"amount={value!r} is not a number") from None
    if not amount.is_finite():
        raise UsageError(f"amount={value!r} is not finite")
    if abs(amount) >= _LIMIT:
        raise UsageError(f"amount={value!r} is out of range (at most {_LIMIT - 1} THB)")
    if amount != amount.quantize(_CENT):
        raise UsageError(f"amount={value!r} has more than 2 decimals (satang)")
    return int(amount * 100)


def to_decimal(satang: Satang) -> Decimal:
    """Satang as a THB Decimal with 2 places."""
    return (Decimal(satang) / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def to_json(satang: Satang) -> float:
    """Satang as the JSON number the contract answers (``17400`` → ``174.0``)."""
    return float(to_decimal(satang))


def fmt(satang: Satang) -> str:
    """Satang for people: ``17400`` → ``'174.00'``."""
    return f"{to_decimal(satang):.2f}"
