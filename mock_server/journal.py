"""The request journal: every request with its validation outcome, newest last, bounded.

Entries carry no bodies or headers (they may hold passwords, tokens or card numbers).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any


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

    def as_json(self) -> dict[str, Any]:
        """The admin API's form of the entry."""
        data = asdict(self)
        return {
            "seq": data["seq"],
            "time": data["time"],
            "method": data["method"],
            "path": data["path"],
            "contract": data["contract"],
            "operationId": data["operation_id"],
            "status": data["status"],
            "durationMs": round(data["duration_ms"], 3),
            "caller": data["caller"],
            "requestViolations": data["request_violations"],
            "responseViolations": data["response_violations"],
            "mockBug": data["mock_bug"],
            "note": data["note"],
        }


class Journal:
    """A bounded, thread-safe list of entries."""

    def __init__(self, maxlen: int = 5000) -> None:
        self._entries: deque[Entry] = deque(maxlen=maxlen)
        self._seq = 0
        self._lock = threading.Lock()
        self.mock_bugs = 0

    def add(self, entry: Entry) -> None:
        """Append an entry, numbering it."""
        with self._lock:
            self._seq += 1
            entry.seq = self._seq
            self._entries.append(entry)
            if entry.mock_bug:
                self.mock_bugs += 1

    def entries(self, limit: int | None = None) -> list[Entry]:
        """The newest ``limit`` entries (all by default), oldest first."""
        with self._lock:
            items = list(self._entries)
        return items[-limit:] if limit else items

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
            self.mock_bugs = 0
