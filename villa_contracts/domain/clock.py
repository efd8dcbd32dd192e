"""Injectable clocks, so that the rules and the mock are deterministic under test.

The mock's clock reads instants of one range, ``RANGE_START`` (2000-01-01T00:00:00Z) to
``RANGE_END`` (2100-01-01T00:00:00Z, excluded): a Villa order id carries the year in 2 digits
(``domain.orders.order_id``), so within one century every year's ids are its own, and every id
and key that holds a year (``ORD-<year>-…``) keeps its width. Time travel past the end is refused.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from villa_contracts.domain.errors import RuleViolation

RANGE_START = 946_684_800.0
"""2000-01-01T00:00:00Z, the earliest instant the mock's clock reads."""
RANGE_END = 4_102_444_800.0
"""2100-01-01T00:00:00Z: the mock's clock reads only instants before it."""


def _iso(instant: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(instant))


def check_advance(now: float, seconds: float) -> None:
    """Refuse a move of the clock from ``now`` by ``seconds`` that would reach the end of its range.

    Raises:
        RuleViolation: the move would reach ``RANGE_END`` (``invalid``, rule ``clock_range``).
    """
    if now + seconds >= RANGE_END:
        room = max(RANGE_END - now - 1, 0.0)
        raise RuleViolation(
            "invalid",
            f"advanceSeconds={seconds:g} would take the clock from {_iso(now)} past the end of its range "
            f"({_iso(RANGE_END)}, excluded; ids hold a 2-digit year): it can move {room:.0f} s more, "
            "or POST /__admin/reset brings it back to now",
            "/advanceSeconds",
            rule="clock_range",
        )


class Clock(Protocol):
    """Anything that tells the time as Unix epoch seconds."""

    def now(self) -> float:
        """Return the current time in epoch seconds."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> float:
        """Return ``time.time()``."""
        return time.time()


class AdjustableClock:
    """A wall clock that can be moved forward, or frozen at a given instant.

    The mock uses it so that tests can expire tokens or age orders without waiting.

    Example:
        >>> clock = AdjustableClock(frozen_at=1_700_000_000.0)
        >>> clock.advance(3600)
        >>> clock.now()
        1700003600.0
    """

    def __init__(self, *, frozen_at: float | None = None) -> None:
        """Read the wall clock, or ``frozen_at`` (an instant of the range ``RANGE_START`` to ``RANGE_END``)."""
        if frozen_at is not None and not RANGE_START <= frozen_at < RANGE_END:
            raise ValueError(f"frozen_at={frozen_at!r}: the clock reads instants from {_iso(RANGE_START)} to "
                             f"{_iso(RANGE_END)} (excluded)")  # fmt: skip
        self._offset = 0.0
        self._frozen_at = frozen_at
        self._lock = threading.Lock()

    def now(self) -> float:
        """Return the adjusted time in epoch seconds."""
        base = self._frozen_at if self._frozen_at is not None else time.time()
        return base + self._offset

    @property
    def offset(self) -> float:
        """Seconds this clock runs ahead of its base."""
        return self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` (never backwards, never to the end of its range).

        Raises:
            ValueError: ``seconds`` is negative.
            RuleViolation: the move would reach the end of the clock's range (``check_advance``).
        """
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: a clock only moves forward")
        with self._lock:
            check_advance(self.now(), seconds)
            self._offset += seconds

    def reset(self) -> None:
        """Return to the base time (offset 0)."""
        with self._lock:
            self._offset = 0.0
