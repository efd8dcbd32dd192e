"""The clock of a store shared by several processes: its offset (time travel) lives in the store.

Every process reads the offset once per request (``refresh``, called by the guard), so moving the
clock through any process's admin API moves it for all of them, and a reset (which wipes the
store) brings every process back to offset 0.
"""

from __future__ import annotations

import time

from mock_server.storage import Storage
from villa_contracts.domain.clock import AdjustableClock, check_advance

KIND = "clock"
_KEY = "offset"


class StoredClock(AdjustableClock):
    """An ``AdjustableClock`` whose offset is a record of ``store``, shared by every process using it."""

    def __init__(self, store: Storage) -> None:
        """Keep the offset in ``store``."""
        super().__init__()
        self._store = store
        self.refresh()

    def refresh(self) -> None:
        """Read the offset the store holds now (another process may have moved it)."""
        record = self._store.get(KIND, _KEY)
        self._offset = float(record["seconds"]) if record else 0.0

    def now(self) -> float:
        """Return the wall clock plus the offset last read."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` for every process (never backwards, never past its range)."""
        if seconds < 0:
            raise ValueError(f"seconds={seconds!r}: a clock only moves forward")
        with self._store.transaction():
            record = self._store.get(KIND, _KEY)
            offset = float(record["seconds"]) if record else 0.0
            check_advance(time.time() + offset, seconds)
            self._offset = offset + seconds
            self._store.put(KIND, _KEY, {"seconds": self._offset})

    def reset(self) -> None:
        """Back to offset 0 for every process."""
        self._store.delete(KIND, _KEY)
        self._offset = 0.0
