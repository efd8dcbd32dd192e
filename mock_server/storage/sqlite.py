"""SQLite storage: state in one file that survives restarts (and SIGKILL).

Every write outside a transaction commits at once, and the database runs in WAL mode with
``synchronous=FULL``, so a record the mock has answered about is on disk before the answer leaves.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mock_server.fastjson import dumps, loads
from mock_server.storage._base import Record, Storage
from villa_contracts.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SqliteStorage(Storage):
    """Records as JSON text in a SQLite table, one connection guarded by a lock."""

    shared = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if not self.path.exists():
                # It holds the signing key and password hashes: readable by its owner only.
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ConfigError(
                f"--db {self.path}: cannot use it as the mock's SQLite database ({exc}); "
                "give the path of a new file in a writable directory, or of a database this mock made"
            ) from None
        self._lock = threading.RLock()
        self._depth = 0

    def get(self, kind: str, key: str) -> Record | None:
        """Return the record, or None."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM records WHERE kind=? AND key=?", (kind, key)).fetchone()
        return loads(row[0]) if row else None

    def put(self, kind: str, key: str, value: Record) -> None:
        """Store ``value``."""
        text = dumps(value).decode("utf-8")
        with self._lock:
            self._conn.execute(
                "INSERT INTO records(kind, key, value) VALUES(?,?,?) "
                "ON CONFLICT(kind, key) DO UPDATE SET value=excluded.value",
                (kind, key, text),
            )

    def insert(self, kind: str, key: str, value: Record) -> bool:
        """Store ``value`` only if the key is free."""
        text = dumps(value).decode("utf-8")
        with self._lock:
            cur = self._conn.execute("INSERT OR IGNORE INTO records(kind, key, value) VALUES(?,?,?)", (kind, key, text))
            return cur.rowcount == 1

    def delete(self, kind: str, key: str) -> None:
        """Remove the record if it exists."""
        with self._lock:
            self._conn.execute("DELETE FROM records WHERE kind=? AND key=?", (kind, key))

    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over the records of a kind."""
        with self._lock:
            rows = self._conn.execute("SELECT value FROM records WHERE kind=? ORDER BY key", (kind,)).fetchall()
        return iter([loads(r[0]) for r in rows])

    def next_sequence(self, name: str) -> int:
        """Atomically increment and return the counter."""
        with self._lock:
            row = self._conn.execute(
                "INSERT INTO counters(name, value) VALUES(?, 1) "
                "ON CONFLICT(name) DO UPDATE SET value=value+1 RETURNING value",
                (name,),
            ).fetchone()
        return int(row[0])

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` (nested blocks join the outer one)."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")

    def reset(self) -> None:
        """Drop every record and counter."""
        with self._lock:
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM counters")

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
