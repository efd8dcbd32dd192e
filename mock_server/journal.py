"""The request journal: every request with its validation outcome, newest last, bounded in count and bytes.

Entries carry no bodies or headers (they may hold passwords, tokens or card numbers); the
violation messages they keep are short and redacted already (``villa_contracts.contract``), and
paths (``/api/shop/orders/<a card number>``) and notes are redacted here (``villa_contracts.redact``).
A journal holds at most ``maxlen`` entries and about ``max_bytes`` of them, whichever comes first:
the oldest go.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from villa_contracts.redact import redact


@dataclass(slots=True)
class Entry:
    """One request the mock answered."""

    seq: int
    time: float
    method: str
    path: str
    operation_id: str | None
    status: int
    duration_ms: float
    caller: str | None = None
    contract: str | None = None
    request_violations: list[dict[str, str]] = field(default_factory=list)
    response_violations: list[dict[str, str]] = field(default_factory=list)
    mock_bug: bool = False
    note: str | None = None
    fault: str | None = None
    """The fault injected into this request (``villa_contracts.faults``): ``<rule index>:<effect>``."""

    def as_json(self) -> dict[str, Any]:
        """The admin API's form of the entry (rendered by orjson with the rest of the answer)."""
        return {
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "contract": self.contract,
            "operationId": self.operation_id,
            "status": self.status,
            "durationMs": round(self.duration_ms, 3),
            "caller": self.caller,
            "requestViolations": [dict(v) for v in self.request_violations],
            "responseViolations": [dict(v) for v in self.response_violations],
            "mockBug": self.mock_bug,
            "note": self.note,
            "injectedFault": self.fault,
        }


MAX_DETAILS = 20
"""Violations kept per entry (the first ones)."""


def _size(entry: Entry) -> int:
    size = 200 + len(entry.path) + len(entry.note or "")
    if entry.request_violations or entry.response_violations:
        details = entry.request_violations + entry.response_violations
        size += sum(len(d["message"]) + len(d["pointer"]) for d in details)
    return size


class Journal:
    """A thread-safe list of entries, bounded by count and by size."""

    def __init__(self, maxlen: int = 5000, max_bytes: int = 4 * 1024 * 1024) -> None:
        self._entries: deque[tuple[Entry, int]] = deque()
        self._maxlen = maxlen
        self._max_bytes = max_bytes
        self._bytes = 0
        self._seq = 0
        self._lock = threading.Lock()
        self.mock_bugs = 0

    def add(self, entry: Entry, *, contract_path: bool = False) -> None:
        """Append an entry, numbering it; drop the oldest past the bounds.

        ``contract_path``: the entry's path is a contract's own (a fixed path, no parameter): nothing to redact.
        """
        if not contract_path:
            entry.path = redact(entry.path[:500])
        if len(entry.request_violations) > MAX_DETAILS:
            entry.request_violations = entry.request_violations[:MAX_DETAILS]
        if len(entry.response_violations) > MAX_DETAILS:
            entry.response_violations = entry.response_violations[:MAX_DETAILS]
        if entry.note:
            entry.note = redact(entry.note[:500])
        size = _size(entry)
        with self._lock:
            self._seq += 1
            entry.seq = self._seq
            self._entries.append((entry, size))
            self._bytes += size
            while self._entries and (len(self._entries) > self._maxlen or self._bytes > self._max_bytes):
                _, dropped = self._entries.popleft()
                self._bytes -= dropped
            if entry.mock_bug:
                self.mock_bugs += 1

    @property
    def size(self) -> int:
        """About how many bytes the entries take."""
        return self._bytes

    def entries(self, limit: int | None = None) -> list[Entry]:
        """The newest ``limit`` entries (all by default), oldest first."""
        with self._lock:
            items = [entry for entry, _ in self._entries]
        return items[-limit:] if limit else items

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0
            self.mock_bugs = 0
