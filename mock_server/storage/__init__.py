"""State of the mock behind one interface: in memory (default) or in a SQLite file.

Records are JSON objects filed under a *kind* ("orders", "users", ...) and a key. Everything a
handler does that must be atomic (reserve an id, capture a payment) runs inside
``store.transaction()``, which holds the store's lock and, for SQLite, one database transaction.
"""

from __future__ import annotations

from mock_server.storage._base import Storage
from mock_server.storage.memory import MemoryStorage
from mock_server.storage.sqlite import SqliteStorage


def open_storage(db_path: str | None) -> Storage:
    """Open the SQLite store at ``db_path``, or a fresh in-memory store when it is None."""
    return SqliteStorage(db_path) if db_path else MemoryStorage()


__all__ = ["MemoryStorage", "SqliteStorage", "Storage", "open_storage"]
