"""In-memory storage: the default, fast, gone when the process ends.

Records are kept as their JSON bytes (``fastjson.dumps_record``): a read parses a fresh copy and a
write serialises one, so no caller can change a stored record behind the store's back, at a
fraction of what ``copy.deepcopy`` cost. A transaction remembers the previous bytes of each key it touches (not
whole collections), so its cost does not grow with the number of records.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mock_server.fastjson import dumps_record, loads_record
from mock_server.storage._base import Record, Snapshot, Storage

_ABSENT = None


class MemoryStorage(Storage):
    """Records in dicts of JSON bytes, guarded by one re-entrant lock."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, bytes]] = {}
        self._counters: dict[str, int] = {}
        self._lock = threading.RLock()
        # Per open transaction: the bytes each touched (kind, key) held before it (None: absent).
        self._undo: list[dict[tuple[str, str], bytes | None]] = []
        # Ordered indexes: each member's score, and the (score, member) pairs kept sorted.
        self._scores: dict[str, dict[str, float]] = {}
        self._sorted: dict[str, list[tuple[float, str]]] = {}
        # Per open transaction: the score each touched (index, member) had before it (None: not filed).
        self._index_undo: list[dict[tuple[str, str], float | None]] = []

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
        # orjson's bytes sit in a 4 KiB allocation whatever their length: kept as they are, every record
        # (a 100-byte token key) would hold 4 KiB. The copy is as long as the JSON (issue 21, point 8).
        raw = bytes(memoryview(dumps_record(value)))
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
            self._index_undo.append({})
            try:
                yield
            except BaseException:
                self._index_rollback(self._index_undo.pop())
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
                self._index_commit(self._index_undo.pop())

    def reset(self) -> None:
        """Drop everything."""
        with self._lock:
            self._data.clear()
            self._counters.clear()
            self._scores.clear()
            self._sorted.clear()

    def snapshot(self) -> Snapshot:
        """Copies of everything, read under the lock."""
        with self._lock:
            data = {kind: dict(records) for kind, records in self._data.items() if records}
            counters = dict(self._counters)
            indexes = {index: dict(scores) for index, scores in self._scores.items() if scores}
        records = {kind: {key: loads_record(raw) for key, raw in found.items()} for kind, found in data.items()}
        return Snapshot(records=records, counters=counters, indexes=indexes)

    def restore(self, snapshot: Snapshot) -> None:
        """Build the new contents aside, then swap them in under the lock (nothing to undo)."""
        data = {
            kind: {key: bytes(memoryview(dumps_record(record))) for key, record in found.items()}
            for kind, found in snapshot.records.items()
        }
        scores = {index: {member: float(score) for member, score in found.items()}
                  for index, found in snapshot.indexes.items()}  # fmt: skip
        ordered = {index: sorted((score, member) for member, score in found.items()) for index, found in scores.items()}
        with self._lock:
            if self._undo:
                raise RuntimeError("restore() replaces the whole store: not inside a transaction")
            self._data, self._counters = data, dict(snapshot.counters)
            self._scores, self._sorted = scores, ordered

    # -- ordered indexes ---------------------------------------------------------------------------

    def _file(self, index: str, member: str, score: float | None) -> None:
        """Move ``member`` of ``index`` to ``score`` (None: out of the index), keeping the order sorted."""
        scores = self._scores.setdefault(index, {})
        ordered = self._sorted.setdefault(index, [])
        old = scores.get(member)
        if old is not None:
            del ordered[bisect.bisect_left(ordered, (old, member))]
            del scores[member]
        if score is not None:
            scores[member] = score
            bisect.insort(ordered, (score, member))

    def _index_write(self, index: str, member: str, score: float | None) -> None:
        with self._lock:
            if self._index_undo:
                self._index_undo[-1].setdefault((index, member), self._scores.get(index, {}).get(member))
            self._file(index, member, score)

    def _index_rollback(self, touched: dict[tuple[str, str], float | None]) -> None:
        for (index, member), score in touched.items():
            self._file(index, member, score)

    def _index_commit(self, touched: dict[tuple[str, str], float | None]) -> None:
        if self._index_undo:  # nested: the outer block keeps the older scores
            for pair, score in touched.items():
                self._index_undo[-1].setdefault(pair, score)

    def index_put(self, index: str, member: str, score: float) -> None:
        """File ``member`` in ``index`` at ``score``."""
        self._index_write(index, member, float(score))

    def index_drop(self, index: str, member: str) -> None:
        """Take ``member`` out of ``index``."""
        self._index_write(index, member, None)

    def index_count(self, index: str) -> int:
        """How many members ``index`` holds."""
        with self._lock:
            return len(self._scores.get(index, ()))

    def index_range(self, index: str, start: int, stop: int, *, descending: bool = False) -> list[str]:
        """The members at positions ``start`` to ``stop`` (excluded), by score: a slice of the sorted pairs."""
        with self._lock:
            ordered = self._sorted.get(index, [])
            size = len(ordered)
            start, stop = max(start, 0), min(stop, size)
            if start >= stop:
                return []
            if descending:
                return [member for _, member in reversed(ordered[size - stop : size - start])]
            return [member for _, member in ordered[start:stop]]
