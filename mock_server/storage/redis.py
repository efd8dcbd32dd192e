"""Redis storage: one state shared by every mock process (workers, hosts) that names the same server and prefix.

Layout, every key under ``prefix`` (default ``villa:``): ``<prefix>rec:<kind>`` is a hash of a
kind's records (key → JSON), ``<prefix>seq`` a hash of counters, ``<prefix>lock`` the store's lock,
``<prefix>idx:<index>`` a sorted set per ordered index (member → score).

Atomicity across processes: a ``transaction()`` takes the store's lock (``SET NX PX``, with a
random token), reads the server's current records, keeps its writes in the process, and commits
them with one Lua script that applies them only while the lock is still its own, then frees it.
A failed block writes nothing. A write outside a transaction is a transaction of one write, so it
never slips between another process's read and write. Counters are ``HINCRBY`` (atomic by
themselves; a rolled-back block may leave a gap in a sequence, never a duplicate).

Example (needs a Redis server):
    >>> store = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="doctest:")  # doctest: +SKIP
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis

from mock_server.fastjson import dumps, loads
from mock_server.storage._base import Record, Storage
from villa_contracts.errors import ConfigError

LOCK_MS = 30_000
"""How long the lock is held at most: a process that dies holding it blocks the others this long."""
LOCK_WAIT_S = 20.0
"""How long a transaction waits for the lock before it fails."""
_INDEX = "\x00index:"
"""The pending writes of an index entry are filed under this kind + the index's name (no record kind starts so)."""

# KEYS[1] the lock; ARGV[1] the lock token, then (op, key, field, value) quadruples: set/del a hash's
# field, or zadd/zrem a sorted set's member (value: its score).
# Applies the writes only if the lock is still ours, then frees it; answers 1, or 0 when it was lost.
_COMMIT = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local i = 2
while i <= #ARGV do
  local op = ARGV[i]
  if op == 'set' then redis.call('HSET', ARGV[i+1], ARGV[i+2], ARGV[i+3])
  elseif op == 'zadd' then redis.call('ZADD', ARGV[i+1], ARGV[i+3], ARGV[i+2])
  elseif op == 'zrem' then redis.call('ZREM', ARGV[i+1], ARGV[i+2])
  else redis.call('HDEL', ARGV[i+1], ARGV[i+2]) end
  i = i + 4
end
redis.call('DEL', KEYS[1])
return 1
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class StoreBusy(RuntimeError):
    """The store's lock could not be taken (or was lost): another process holds the store too long."""


def shown_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class RedisStorage(Storage):
    """Records in Redis hashes under a key prefix; transactions under one lock shared by every process."""

    shared = True

    def __init__(self, client: redis.Redis, *, prefix: str = "villa:") -> None:
        """Keep records through ``client`` under ``prefix``."""
        self._redis = client
        self.prefix = prefix
        self._lock_key = f"{prefix}lock"
        self._seq_key = f"{prefix}seq"
        self._commit = client.register_script(_COMMIT)
        self._release = client.register_script(_RELEASE)
        self._local = threading.RLock()
        self._depth = 0
        self._token = ""
        # The open transaction's writes: (kind, key) → JSON bytes, or None for a deletion.
        self._pending: dict[tuple[str, str], bytes | None] = {}

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "villa:") -> RedisStorage:
        """Connect to the Redis server at ``url`` (``redis://host:port/db``) and check that it answers.

        Raises:
            ConfigError: the URL is not a Redis URL, or no Redis server answers there.
        """
        try:
            client = redis.Redis.from_url(
                url, socket_timeout=10, socket_connect_timeout=5, single_connection_client=True
            )
            client.ping()
        except (ValueError, redis.RedisError) as exc:
            raise ConfigError(
                f"--store {shown_url(url)}: no Redis server answers there ({type(exc).__name__}: {exc}); "
                "start one (redis-server) or give its URL as redis://host:port/db"
            ) from None
        return cls(client, prefix=prefix)

    def _hash(self, kind: str) -> str:
        return f"{self.prefix}rec:{kind}"

    # -- reads -------------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Record | None:
        """Return a copy of the record, or None (a record this transaction wrote, as written)."""
        with self._local:
            if self._depth and (kind, key) in self._pending:
                raw = self._pending[(kind, key)]
                return loads(raw) if raw is not None else None
        value: Any = self._redis.execute_command("HGET", self._hash(kind), key)  # type: ignore[no-untyped-call]
        return loads(value) if value is not None else None

    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over copies of the records of a kind, by key."""
        stored: dict[bytes, bytes] = self._redis.hgetall(self._hash(kind))  # type: ignore[assignment]
        records: dict[str, bytes | None] = {k.decode(): v for k, v in stored.items()}
        with self._local:
            if self._depth:
                records |= {key: raw for (k, key), raw in self._pending.items() if k == kind}
        return iter([loads(raw) for _, raw in sorted(records.items()) if raw is not None])

    # -- writes ------------------------------------------------------------------------------------

    def put(self, kind: str, key: str, value: Record) -> None:
        """Store ``value`` (at the end of the transaction, or at once in a transaction of its own)."""
        raw = dumps(value)
        with self.transaction():
            self._pending[(kind, key)] = raw

    def insert(self, kind: str, key: str, value: Record) -> bool:
        """Store ``value`` only if the key is free."""
        raw = dumps(value)
        with self.transaction():
            if self.get(kind, key) is not None:
                return False
            self._pending[(kind, key)] = raw
            return True

    def delete(self, kind: str, key: str) -> None:
        """Remove the record if it exists."""
        with self.transaction():
            self._pending[(kind, key)] = None

    def next_sequence(self, name: str) -> int:
        """Atomically increment and return the counter (shared by every process)."""
        return int(self._redis.hincrby(self._seq_key, name, 1))

    # -- atomic groups -----------------------------------------------------------------------------

    def _acquire(self) -> str:
        token = secrets.token_hex(16)
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.0002
        while not self._redis.set(self._lock_key, token, nx=True, px=LOCK_MS):
            if time.monotonic() > deadline:
                raise StoreBusy(f"the Redis store {self.prefix!r} stayed locked for {LOCK_WAIT_S:.0f} s")
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
        return token

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Hold the store's lock (every process's); commit the block's writes at once, or none of them."""
        with self._local:
            outer = self._depth == 0
            if outer:
                self._token = self._acquire()
                self._pending = {}
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._pending = {}
                    self._release(keys=[self._lock_key], args=[self._token])
                raise
            else:
                self._depth -= 1
                if outer:
                    writes, self._pending = self._pending, {}
                    args: list[str | bytes] = [self._token, *self._write_args(writes)]
                    if not self._commit(keys=[self._lock_key], args=args):
                        raise StoreBusy(
                            f"the Redis store {self.prefix!r}: a transaction outlived its lock ({LOCK_MS} ms); "
                            "its writes were not applied"
                        )

    def reset(self) -> None:
        """Drop every record and counter under the prefix (for every process sharing it)."""
        with self.transaction():
            self._pending = {}
            pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix) + "*"
            keys = [k for k in self._redis.scan_iter(match=pattern, count=1000) if k != self._lock_key.encode()]
            for start in range(0, len(keys), 500):
                self._redis.delete(*keys[start : start + 500])

    # -- ordered indexes: a sorted set per index, ``<prefix>idx:<index>``, written with the records -----------

    def _write_args(self, writes: dict[tuple[str, str], bytes | None]) -> list[str | bytes]:
        """The commit script's quadruples for a transaction's writes (records and index entries)."""
        args: list[str | bytes] = []
        for (kind, key), raw in writes.items():
            if kind.startswith(_INDEX):
                zset = self._zset(kind[len(_INDEX) :])
                args += ("zadd", zset, key, raw) if raw is not None else ("zrem", zset, key, b"")
            else:
                args += ("set" if raw is not None else "del", self._hash(kind), key, raw if raw is not None else b"")
        return args

    def _zset(self, index: str) -> str:
        return f"{self.prefix}idx:{index}"

    def index_put(self, index: str, member: str, score: float) -> None:
        """File ``member`` in ``index`` at ``score`` (with the transaction's other writes)."""
        with self.transaction():
            self._pending[(_INDEX + index, member)] = repr(float(score)).encode()

    def index_drop(self, index: str, member: str) -> None:
        """Take ``member`` out of ``index`` (with the transaction's other writes)."""
        with self.transaction():
            self._pending[(_INDEX + index, member)] = None

    def _committed_only(self, index: str) -> None:
        with self._local:
            if self._depth and any(kind == _INDEX + index for kind, _ in self._pending):
                raise RuntimeError(f"index {index!r} was read after this transaction wrote to it (not committed yet)")

    def index_count(self, index: str) -> int:
        """How many members ``index`` holds (``ZCARD``)."""
        self._committed_only(index)
        return int(self._redis.zcard(self._zset(index)))

    def index_range(self, index: str, start: int, stop: int, *, descending: bool = False) -> list[str]:
        """The members at positions ``start`` to ``stop`` (excluded), by score (``ZRANGE``/``ZREVRANGE``)."""
        self._committed_only(index)
        start = max(start, 0)
        if stop <= start:
            return []
        read = self._redis.zrevrange if descending else self._redis.zrange
        members: list[bytes] = read(self._zset(index), start, stop - 1)  # type: ignore[assignment]
        return [m.decode() for m in members]

    def get_many(self, kind: str, keys: Iterable[str]) -> list[Record | None]:
        """Copies of the records of ``keys``, in their order (one ``HMGET``; this transaction's writes as written)."""
        wanted = list(keys)
        if not wanted:
            return []
        values: list[bytes | None] = self._redis.hmget(self._hash(kind), wanted)  # type: ignore[assignment]
        with self._local:
            if self._depth:
                values = [self._pending.get((kind, k), v) for k, v in zip(wanted, values, strict=True)]
        return [loads(v) if v is not None else None for v in values]

    def close(self) -> None:
        """Close the connections."""
        self._redis.close()
