"""SQLite storage: state in one file that survives restarts (and SIGKILL).

Every write outside a transaction commits at once, and the database runs in WAL mode with
``synchronous=FULL``, so a record the mock has answered about is on disk before the answer leaves.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from mock_server.fastjson import dumps, loads
from mock_server.storage._base import Record, Snapshot, Storage
from villa_contracts.errors import ConfigError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                                    PRIMARY KEY (kind, key));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
# Ordered indexes: members by score (a B-tree on (name, score, member) answers a page without reading the
# rest), and each index's size kept by triggers in the same transaction, so counting reads one row.
_INDEX_SCHEMA = """
CREATE TABLE IF NOT EXISTS idx (name TEXT NOT NULL, member TEXT NOT NULL, score REAL NOT NULL,
                                PRIMARY KEY (name, member)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_by_score ON idx (name, score, member);
CREATE TABLE IF NOT EXISTS idx_size (name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS idx_grows AFTER INSERT ON idx BEGIN
  INSERT INTO idx_size(name, n) VALUES (NEW.name, 1) ON CONFLICT(name) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS idx_shrinks AFTER DELETE ON idx BEGIN
  UPDATE idx_size SET n = n - 1 WHERE name = OLD.name;
END;
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
            self._conn.executescript(_INDEX_SCHEMA)
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

    def transaction(self) -> AbstractContextManager[None]:
        """One ``BEGIN IMMEDIATE`` … ``COMMIT`` (nested blocks join the outer one)."""
        execute = self._conn.execute
        return self._nested(
            self._lock, lambda: execute("BEGIN IMMEDIATE"), lambda: execute("ROLLBACK"), lambda: execute("COMMIT")
        )

    def reset(self) -> None:
        """Drop every record and counter."""
        with self._lock:
            self._conn.execute("DELETE FROM records")
            self._conn.execute("DELETE FROM counters")
            self._conn.execute("DELETE FROM idx")
            self._conn.execute("DELETE FROM idx_size")

    def snapshot(self) -> Snapshot:
        """Every record, counter and index entry, read in one transaction."""
        snapshot = Snapshot()
        with self.transaction():
            for kind, key, value in self._conn.execute("SELECT kind, key, value FROM records ORDER BY kind, key"):
                snapshot.records.setdefault(kind, {})[key] = loads(value)
            snapshot.counters.update(self._conn.execute("SELECT name, value FROM counters ORDER BY name"))
            for name, member, score in self._conn.execute("SELECT name, member, score FROM idx ORDER BY name, member"):
                snapshot.indexes.setdefault(name, {})[member] = float(score)
        return snapshot

    def restore(self, snapshot: Snapshot) -> None:
        """Wipe and fill in one transaction: another process reads the old state or the new, never a mix."""
        records = [(kind, key, dumps(value).decode("utf-8")) for kind, found in snapshot.records.items()
                   for key, value in found.items()]  # fmt: skip
        entries = [(name, member, float(score)) for name, found in snapshot.indexes.items()
                   for member, score in found.items()]  # fmt: skip
        with self.transaction():
            self.reset()
            self._conn.executemany("INSERT INTO records(kind, key, value) VALUES(?,?,?)", records)
            self._conn.executemany("INSERT INTO counters(name, value) VALUES(?,?)", snapshot.counters.items())
            self._conn.executemany("INSERT INTO idx(name, member, score) VALUES(?,?,?)", entries)

    # -- ordered indexes ---------------------------------------------------------------------------

    def index_put(self, index: str, member: str, score: float) -> None:
        """File ``member`` in ``index`` at ``score``."""
        with self._lock:
            self._conn.execute(
                "INSERT INTO idx(name, member, score) VALUES(?,?,?) "
                "ON CONFLICT(name, member) DO UPDATE SET score=excluded.score",
                (index, member, float(score)),
            )

    def index_drop(self, index: str, member: str) -> None:
        """Take ``member`` out of ``index``."""
        with self._lock:
            self._conn.execute("DELETE FROM idx WHERE name=? AND member=?", (index, member))

    def index_count(self, index: str) -> int:
        """How many members ``index`` holds (one row of ``idx_size``)."""
        with self._lock:
            row = self._conn.execute("SELECT n FROM idx_size WHERE name=?", (index,)).fetchone()
        return int(row[0]) if row else 0

    def index_range(self, index: str, start: int, stop: int, *, descending: bool = False) -> list[str]:
        """The members at positions ``start`` to ``stop`` (excluded), by score, from the score B-tree.

        A page deep in a large index steps over the entries before it in the B-tree (no record is read).
        """
        start = max(start, 0)
        if stop <= start:
            return []
        order = "DESC" if descending else "ASC"
        with self._lock:
            rows = self._conn.execute(
                f"SELECT member FROM idx WHERE name=? ORDER BY score {order}, member {order} LIMIT ? OFFSET ?",
                (index, stop - start, start),
            ).fetchall()
        return [row[0] for row in rows]

    def get_many(self, kind: str, keys: Iterable[str]) -> list[Record | None]:
        """Copies of the records of ``keys``, in their order (a query per 500 keys)."""
        wanted = list(keys)
        found: dict[str, str] = {}
        for first in range(0, len(wanted), 500):
            chunk = wanted[first : first + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._conn.execute(
                    f"SELECT key, value FROM records WHERE kind=? AND key IN ({marks})", (kind, *chunk)
                ).fetchall()
            found.update(rows)
        return [loads(found[key]) if key in found else None for key in wanted]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
