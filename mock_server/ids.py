"""Ids the mock makes up: random (or drawn from a seed), and never readable as a card number.

Every report, journal and check masks a card number (``villa_contracts.domain.cards``: a card
scheme's IIN and length, Luhn's check, or a test card): a random hex id holds one now and then, and
would then be masked in answers and flagged by ``card_masked`` as a card number shown in full. The
mock draws again instead, asking the same detection (``villa_contracts.redact.holds_card_number``).

A mock started with a seed (``serve --seed``, and the gate's embedded mock with the run's seed)
draws its ids from it: clients echo ids back (a charge id in verify), so only then do two runs with
one seed send the same requests. The mock's own secrets (token keys, refresh tokens, password
salts, its signing key) never come from a seed.

Example:
    >>> IdSource.from_seed(7).hex_id("chrg_test_", 10) == IdSource.from_seed(7).hex_id("chrg_test_", 10)
    True
"""

from __future__ import annotations

import random
import secrets
import threading
import uuid
from collections.abc import Callable

from villa_contracts.redact import holds_card_number


def opaque(make: Callable[[], str]) -> str:
    """``make()``'s first value that holds no card number."""
    while True:
        value = make()
        if not holds_card_number(value):
            return value


class IdSource:
    """Where one mock's made-up ids come from: the system's randomness, or a seed (same seed, same ids)."""

    def __init__(self, seeded: random.Random | None = None) -> None:
        """Draw from ``seeded``, or from ``secrets`` when None."""
        self._seeded = seeded
        self._lock = threading.Lock()  # one mock may serve from several threads

    @classmethod
    def from_seed(cls, seed: int | None) -> IdSource:
        """Ids drawn from ``seed`` (None: random)."""
        return cls(random.Random(seed) if seed is not None else None)

    def _bytes(self, nbytes: int) -> bytes:
        if self._seeded is None:
            return secrets.token_bytes(nbytes)
        with self._lock:
            return self._seeded.randbytes(nbytes)

    def hex_id(self, prefix: str, nbytes: int) -> str:
        """``prefix`` and ``nbytes`` bytes in hex (``pay_0f55011a5b00f64adcba``)."""
        return opaque(lambda: prefix + self._bytes(nbytes).hex())

    def uuid_id(self) -> str:
        """A version 4 UUID (a user's ``sub``)."""
        return opaque(lambda: str(uuid.UUID(bytes=self._bytes(16), version=4)))


RANDOM = IdSource()
"""Random ids, for parts built without a mock's own source."""


def hex_id(prefix: str, nbytes: int) -> str:
    """A random ``prefix`` + ``nbytes`` hex id (``RANDOM.hex_id``)."""
    return RANDOM.hex_id(prefix, nbytes)


def uuid_id() -> str:
    """A random UUID (``RANDOM.uuid_id``)."""
    return RANDOM.uuid_id()


__all__ = ["RANDOM", "IdSource", "hex_id", "opaque", "uuid_id"]
