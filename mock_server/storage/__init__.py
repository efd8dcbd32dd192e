"""State of the mock behind one interface: in memory (default), in a SQLite file, or in Redis.

Records are JSON objects filed under a *kind* ("orders", "users", ...) and a key. Everything a
handler does that must be atomic (reserve an id, capture a payment) runs inside
``store.transaction()``, which holds the store's lock: for SQLite, one database transaction; for
Redis, a lock every process sharing the prefix respects.
"""

from __future__ import annotations

from mock_server.storage._base import Snapshot, Storage, StoreBusy, StoreLost, StoreUnavailable
from mock_server.storage.memory import MemoryStorage
from mock_server.storage.sqlite import SqliteStorage

DEFAULT_PREFIX = "villa:"
"""The key prefix of a Redis store when none is given."""


def open_storage(db_path: str | None, *, url: str | None = None, prefix: str = DEFAULT_PREFIX) -> Storage:
    """Open the store: Redis at ``url``, else the SQLite file ``db_path``, else a fresh in-memory store.

    Raises:
        ConfigError: the SQLite file cannot be used, ``url`` is not a ``redis://`` URL, or no Redis answers.
    """
    if url is not None:
        from mock_server.storage.redis import RedisStorage
        from villa_contracts.errors import ConfigError

        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"--store {url.split('@')[-1]!r}: give a Redis URL, e.g. redis://127.0.0.1:6379/0")
        return RedisStorage.from_url(url, prefix=prefix)
    return SqliteStorage(db_path) if db_path else MemoryStorage()


__all__ = [
    "DEFAULT_PREFIX",
    "MemoryStorage",
    "Snapshot",
    "SqliteStorage",
    "Storage",
    "StoreBusy",
    "StoreLost",
    "StoreUnavailable",
    "open_storage",
]
