"""Ids the mock makes up: random, and never readable as a card number.

Every report, journal and check masks a card number (``villa_contracts.domain.cards``: a card
scheme's IIN and length, Luhn's check, or a test card): a random hex id holds one now and then, and
would then be masked in answers and flagged by ``card_masked`` as a card number shown in full. The
mock draws again instead, asking the same detection (``villa_contracts.redact.holds_card_number``).

Example:
    >>> hex_id("chrg_test_", 10).startswith("chrg_test_")
    True
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable

from villa_contracts.redact import holds_card_number


def opaque(make: Callable[[], str]) -> str:
    """``make()``'s first value that holds no card number."""
    while True:
        value = make()
        if not holds_card_number(value):
            return value


def hex_id(prefix: str, nbytes: int) -> str:
    """``prefix`` and ``nbytes`` random bytes in hex (``pay_0f55011a5b00f64adcba``)."""
    return opaque(lambda: prefix + secrets.token_hex(nbytes))


def uuid_id() -> str:
    """A random UUID (a user's ``sub``)."""
    return opaque(lambda: str(uuid.uuid4()))


__all__ = ["hex_id", "opaque", "uuid_id"]
