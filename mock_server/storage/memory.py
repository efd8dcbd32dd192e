"""In-memory storage: the default, fast, gone when the process ends.

Records are kept as their JSON bytes (``fastjson.dumps_record``): a read parses a fresh copy and a
write serialises one, so no caller can change a stored record behind the store's back, at a
fraction of what ``copy.deepcopy`` cost. A transaction remembers the previous bytes of each key it touches (not
whole collections), so its cost does not grow with the number of records.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mock_server.fastjson import dumps_record, loads_record
from mock_server.storage._base import Record, Storage

_ABSENT = None


class MemoryStorage(Storage):
    """Records in dicts of JSON bytes, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        # Per open transaction: the bytes each touched (kind, key) held before it (None: absent).
        self._undo: list[dict[tuple[str, str], bytes | None]] = []

    def _remember(self, kind: str, key: str) -> None:
        if self._undo:
            touched = self._undo[-1]
            if (kind, key) not in touched:
                touched[(kind, key)] = self._data.get(kind, {}).get(key, _ABSENT)

    def get(self, kind: str, key: str) -> Record | None:
        """Return a copy of the record, or None."""
        with self._lock:
            raw = self._data.get(kind, {}).get(key)
        return loads_record(raw) if raw is not None else None

    def put(self, kind: str, key: str, value: Record) -> None:
        """Store a copy of ``value``."""
        raw = dumps_record(value)
        with self._lock:
            self._remember(kind, key)
            self._data.setdefault(kind, {})[key] = raw

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
            if key in self._data.get(kind, {}):
                self._remember(kind, key)
                del self._data[kind][key]

    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over copies of the records of a kind."""
        with self._lock:
            raws = list(self._data.get(kind, {}).values())
        return iter([loads_record(raw) for raw in raws])

    def next_sequence(self, name: str) -> int:
        """Atomically increment and return the counter."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0) + 1
            return self._counters[name]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the lock; on an exception, put back every record the block touched."""
        with self._lock:
            self._undo.append({})
            try:
                yield
            except BaseException:
                for (kind, key), raw in self._undo.pop().items():
                    records = self._data.setdefault(kind, {})
                    if raw is None:
                        records.pop(key, None)
                    else:
                        records[key] = raw
                raise
            else:
                done = self._undo.pop()
                if self._undo:  # nested: the outer block keeps the older bytes
                    for touched, raw in done.items():
                        self._undo[-1].setdefault(touched, raw)

    def reset(self) -> None:
        """Drop everything."""
        with self._lock:
            self._data.clear()
            self._counters.clear()
