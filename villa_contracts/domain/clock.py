"""Injectable clocks, so that the rules and the mock are deterministic under test."""

from __future__ import annotations

import threading
import time
from typing import Protocol


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
        """Move the clock forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: a clock only moves forward")
        with self._lock:
            self._offset += seconds

    def reset(self) -> None:
        """Return to the base time (offset 0)."""
        with self._lock:
            self._offset = 0.0
