"""In-memory storage: the default, fast, gone when the process ends."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mock_server.storage._base import Record, Storage


class MemoryStorage(Storage):
    """Records in dicts, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Record]] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        # Snapshots of the touched kinds, so that a failed transaction leaves nothing half-written.
        self._undo: list[dict[str, dict[str, Record]]] = []

    def _remember(self, kind: str) -> None:
        if self._undo and kind not in self._undo[-1]:
            self._undo[-1][kind] = copy.deepcopy(self._data.get(kind, {}))

    def get(self, kind: str, key: str) -> Record | None:
        """Return a copy of the record, or None."""
        with self._lock:
            value = self._data.get(kind, {}).get(key)
            return copy.deepcopy(value) if value is not None else None

    def put(self, kind: str, key: str, value: Record) -> None:
        """Store a copy of ``value``."""
        with self._lock:
            self._remember(kind)
            self._data.setdefault(kind, {})[key] = copy.deepcopy(value)

    def insert(self, kind: str, key: str, value: Record) -> bool:
        """Store ``value`` only if the key is free."""
        with self._lock:
            if key in self._data.get(kind, {}):
                return False
            self.put(kind, key, value)
            return True

    def delete(self, kind: str, key: str) -> None:
        """Remove the record if it exists."""
        with self._lock:
            self._remember(kind)
            self._data.get(kind, {}).pop(key, None)

    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over copies of the records of a kind."""
        with self._lock:
            items = [copy.deepcopy(v) for v in self._data.get(kind, {}).values()]
        return iter(items)

    def next_sequence(self, name: str) -> int:
        """Atomically increment and return the counter."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + 1
            return self._counters[name]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; on an exception, restore every kind the block touched."""
        with self._lock:
            self._undo.append({})
            try:
                yield
            except BaseException:
                for kind, snapshot in self._undo.pop().items():
                    self._data[kind] = snapshot
                raise
            else:
                done = self._undo.pop()
                if self._undo:  # nested: the outer block keeps the older snapshot
                    for kind, snapshot in done.items():
                        self._undo[-1].setdefault(kind, snapshot)

    def reset(self) -> None:
        """Drop everything."""
        with self._lock:
            self._data.clear()
            self._counters.clear()
