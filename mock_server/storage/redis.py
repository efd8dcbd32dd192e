"""Redis storage: one state shared by every mock process (workers, hosts) that names the same server and prefix.

Layout, every key under ``prefix`` (default ``villa:``): ``<prefix>rec:<kind>`` is a hash of a
kind's records (key → JSON), ``<prefix>seq`` a hash of counters, ``<prefix>lock`` the store's lock,
``<prefix>idx:<index>`` a sorted set per ordered index (member → score).
``<prefix>epoch`` the store's identity (see below), ``<prefix>lost`` set once it lost its data.

Atomicity across processes: a ``transaction()`` takes the store's lock (``SET NX PX``, with a
token naming its holder), reads the server's current records, keeps its writes in the process,
and commits them with one Lua script that applies them only while the lock is still its own, then
frees it. A failed block writes nothing. A write outside a transaction is a transaction of one
write, so it never slips between another process's read and write. Counters are ``HINCRBY``
(atomic by themselves; a rolled-back block may leave a gap in a sequence, never a duplicate).

When Redis fails (``mock_server.storage._base``):

- **Down or frozen**: every command has a short timeout (``TIMEOUT_S``) and is not retried; the
  first that fails marks the store down (one log line) and raises ``StoreUnavailable``, and so
  does every call after it at once, without waiting on Redis, until a background probe finds it
  answering again (one log line): no restart needed.
- **A lock whose holder died**: the lock expires after ``LOCK_MS`` (a live holder renews it as it
  works), and a holder on this machine that is no longer running loses it at once.
- **Data lost** (restarted empty, flushed): the first process to open a prefix writes an epoch;
  each process checks it (every ``CHECK_EVERY_S`` and whenever Redis answers again). Gone, or
  written anew by a process that found the prefix empty, means the data the mock handed out is
  gone: the store says so (``lost``, one log line) and the guard refuses the API with 503
  ``store_lost`` until ``POST /__admin/reset``, whose new epoch every process adopts.

Example (needs a Redis server):
    >>> store = RedisStorage.from_url("redis://127.0.0.1:6379/0", prefix="doctest:")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from mock_server.fastjson import dumps, loads
from mock_server.storage._base import Record, Snapshot, Storage, StoreBusy, StoreLost, StoreUnavailable
from mock_server.storage._redis_lock import COMMIT, RELEASE, RENEW, dead_holder, new_token
from villa_contracts.errors import ConfigError

log = logging.getLogger("villa_contracts.mock.store")

LOCK_MS = 3_000
"""The lock's lifetime: a holder that dies without freeing it blocks the others this long at most."""
LOCK_WAIT_S = 4.0
"""How long a transaction waits for the lock before it fails (longer than a dead holder's lock lives)."""
TIMEOUT_S = 1.0
"""How long one command may take before Redis counts as not answering."""
RETRY_EVERY_S = 1.0
"""How often a store that does not answer is tried again (and the ``Retry-After`` of its 503s)."""
CHECK_EVERY_S = 1.0
"""How often each process checks that the store still holds its data."""

T = TypeVar("T")
_INDEX = "\x00index:"
"""The pending writes of an index entry are filed under this kind + the index's name (no record kind starts so)."""

# Replies of a server that cannot serve now (loading its data, out of memory, a read-only replica...).
_OUTAGE_REPLIES = ("LOADING", "BUSY", "MISCONF", "OOM", "READONLY", "MASTERDOWN", "NOREPLICAS", "CLUSTERDOWN")


def shown_url(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _outage(exc: redis.RedisError) -> bool:
    """Whether ``exc`` says Redis cannot serve now (rather than a mistake of the mock's)."""
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return True
    return isinstance(exc, redis.ResponseError) and str(exc).upper().startswith(_OUTAGE_REPLIES)


class RedisStorage(Storage):
    """Records in Redis hashes under a key prefix; transactions under one lock shared by every process."""

    shared = True

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "villa:",
        name: str | None = None,
        retry_every: float = RETRY_EVERY_S,
        check_every: float = CHECK_EVERY_S,
        lock_ms: int = LOCK_MS,
        lock_wait: float = LOCK_WAIT_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep records through ``client`` under ``prefix``; ``name`` is how messages call the store."""
        self._redis = client
        self.prefix = prefix
        kwargs = client.connection_pool.connection_kwargs
        where = name or f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        self.name = f"the Redis store {where} (prefix {prefix!r})"
        self._lock_key = f"{prefix}lock"
        self._seq_key = f"{prefix}seq"
        self._epoch_key = f"{prefix}epoch"
        self._lost_key = f"{prefix}lost"
        self._commit = client.register_script(COMMIT)
        self._release = client.register_script(RELEASE)
        self._renew_script = client.register_script(RENEW)
        self._local = threading.RLock()
        self._depth = 0
        self._token = ""
        # The open transaction's writes: (kind, key) → JSON bytes, or None for a deletion.
        self._pending: dict[tuple[str, str], bytes | None] = {}
        self._retry_every = retry_every
        self._check_every = check_every
        self._lock_ms = lock_ms
        self._lock_wait = lock_wait
        self._clock = clock
        self._down: StoreUnavailable | None = None
        self._state = threading.Lock()
        self._closed = threading.Event()
        self._next_check = math.inf  # from the epoch's first reading on (``_open_epoch``)
        self._renew_at = 0.0
        self._known = ""
        self._open_epoch()

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "villa:", timeout: float = TIMEOUT_S, **options: Any) -> RedisStorage:
        """Connect to the Redis server at ``url`` (``redis://host:port/db``) and check that it answers.

        Args:
            url: the server.
            prefix: the key prefix of this mock's state.
            timeout: seconds one command (and a connection) may take before Redis counts as down.
            **options: ``RedisStorage``'s keyword arguments (``retry_every``, ``check_every``, ...).

        Raises:
            ConfigError: the URL is not a Redis URL, or no Redis server answers there.
        """
        try:
            client = redis.Redis.from_url(
                url,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                single_connection_client=True,
                # Once, at once, and only to reconnect a connection the server closed (a restart):
                # a server that does not answer is answered 503 rather than waited for again.
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
            )
            client.ping()
            return cls(client, prefix=prefix, name=shown_url(url), **options)
        except (ValueError, redis.RedisError, StoreUnavailable) as exc:
            raise ConfigError(
                f"--store {shown_url(url)}: no Redis server answers there ({type(exc).__name__}: {exc}); "
                "start one (redis-server) or give its URL as redis://host:port/db"
            ) from None

    def _hash(self, kind: str) -> str:
        return f"{self.prefix}rec:{kind}"

    # -- every command goes through here ---------------------------------------------------------

    def _do(self, command: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one Redis command; a Redis that cannot serve is a ``StoreUnavailable`` (at once while known down)."""
        down = self._down
        if down is not None:
            raise StoreUnavailable(down.message, retry_after=down.retry_after)
        try:
            result = command(*args, **kwargs)
        except redis.RedisError as exc:
            if not _outage(exc):
                raise
            raise self._went_down(exc) from None
        now = self._clock()
        if now >= self._next_check:
            self._next_check = math.inf  # not again from the check's own command
            try:
                self._verify(self._do(self._redis.mget, [self._epoch_key, self._lost_key]))
            finally:
                self._next_check = now + self._check_every
        if self._depth and now >= self._renew_at:
            self._renew_at = now + self._lock_ms / 3000
            if not self._do(self._renew_script, keys=[self._lock_key], args=[self._token, self._lock_ms]):
                raise StoreBusy(f"{self.name}: a transaction lost its lock (held over {self._lock_ms} ms)")
        return result

    def _went_down(self, exc: redis.RedisError) -> StoreUnavailable:
        with self._state:
            if self._down is None:
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
                self._down = StoreUnavailable(
                    f"{self.name} does not answer ({reason}); retry shortly",
                    retry_after=max(1, math.ceil(self._retry_every)),
                )
                log.warning("%s does not answer (%s): answering 503 store_unavailable until it does", self.name, reason)
                threading.Thread(target=self._probe, name="villa-store-probe", daemon=True).start()
            return self._down

    def _probe(self) -> None:
        """Try the server again until it answers (a thread of its own: no request waits on it)."""
        while not self._closed.wait(self._retry_every):
            try:
                self._redis.ping()
                found = self._redis.mget([self._epoch_key, self._lost_key])
            except redis.RedisError:
                continue
            with self._state:
                self._down = None
            log.warning("%s answers again", self.name)
            self._verify(found)
            return

    # -- is it still the store the mock filled? ------------------------------------------------

    def _open_epoch(self) -> None:
        epoch, lost = self._do(self._redis.mget, [self._epoch_key, self._lost_key])
        if lost is not None:  # opened after the loss (a worker put in a dead one's place): lost as well
            self._verify([epoch, lost])
        else:
            if epoch is None:  # a new store: the first process to open it names it
                self._do(self._redis.set, self._epoch_key, f"init:{secrets.token_hex(8)}", nx=True)
                epoch = self._do(self._redis.get, self._epoch_key)
            self._known = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        self._next_check = self._clock() + self._check_every

    def _verify(self, found: list[Any]) -> None:
        """Judge the epoch and the loss mark the server holds now (see the module's docstring)."""
        epoch = found[0].decode() if isinstance(found[0], bytes) else found[0]
        if found[1] is None and epoch == self._known:
            return
        if found[1] is None and epoch is not None and epoch.startswith("reset:"):
            self._known = epoch  # another process reset the store: every process starts over with it
            self._set_lost(None)
            return
        if found[1] is None:  # the epoch is gone, or written anew by a process that found the prefix empty
            mark = json.dumps({"at": time.time(), "pid": os.getpid()})
            try:
                self._redis.set(self._lost_key, mark, nx=True)  # so that processes started later know too
            except redis.RedisError:
                pass
        self._set_lost(
            StoreLost(
                f"{self.name} lost its data (the server restarted empty, or was flushed): the users, orders "
                "and ids the mock handed out are gone; POST /__admin/reset starts over from the seed data"
            )
        )

    def _set_lost(self, lost: StoreLost | None) -> None:
        with self._state:
            was, self.lost = self.lost, lost
        if lost is not None and was is None:
            log.error("%s lost its data: answering 503 store_lost until POST /__admin/reset", self.name)
        elif lost is None and was is not None:
            log.warning("%s was reset: serving again", self.name)

    # -- reads -------------------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Record | None:
        """Return a copy of the record, or None (a record this transaction wrote, as written)."""
        with self._local:
            if self._depth and (kind, key) in self._pending:
                raw = self._pending[(kind, key)]
                return loads(raw) if raw is not None else None
        value: Any = self._do(self._redis.execute_command, "HGET", self._hash(kind), key)
        return loads(value) if value is not None else None

    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over copies of the records of a kind, by key."""
        stored: dict[bytes, bytes] = self._do(self._redis.hgetall, self._hash(kind))  # type: ignore[arg-type]
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
        return int(self._do(self._redis.hincrby, self._seq_key, name, 1))

    # -- atomic groups -----------------------------------------------------------------------------

    def _acquire(self) -> str:
        token = new_token()
        now = self._clock()
        deadline, look_at = now + self._lock_wait, now + 0.05
        pause = 0.0002
        while not self._do(self._redis.set, self._lock_key, token, nx=True, px=self._lock_ms):
            now = self._clock()
            if now > deadline:
                raise StoreBusy(
                    f"{self.name} stayed locked for {self._lock_wait:g} s (another process holds it); retry shortly",
                    retry_after=max(1, math.ceil(self._lock_ms / 1000)),
                )
            if now >= look_at:
                look_at = now + 0.05
                self._break_if_dead()
            time.sleep(pause)
            pause = min(pause * 2, 0.005)
        self._renew_at = self._clock() + self._lock_ms / 3000
        return token

    def _break_if_dead(self) -> None:
        """Free the lock at once when its holder ran on this machine and is gone (``kill -9`` of a worker)."""
        held: Any = self._do(self._redis.get, self._lock_key)
        pid = dead_holder(held)
        if pid is not None:
            if self._do(self._release, keys=[self._lock_key], args=[held]):
                log.warning("%s: freed the lock of process %s, which is no longer running", self.name, pid)

    def transaction(self) -> AbstractContextManager[None]:
        """Hold the store's lock (every process's); commit the block's writes at once, or none of them."""
        return self._nested(self._local, self._begin, self._abort, self._commit_pending)

    def _begin(self) -> None:
        self._token = self._acquire()
        self._pending = {}

    def _abort(self) -> None:
        self._pending = {}
        try:
            self._do(self._release, keys=[self._lock_key], args=[self._token])
        except StoreUnavailable:
            pass  # the lock expires by itself; the block's own failure is the one to tell

    def _commit_pending(self) -> None:
        writes, self._pending = self._pending, {}
        args: list[str | bytes] = [self._token, *self._write_args(writes)]
        if not self._do(self._commit, keys=[self._lock_key], args=args):
            raise StoreBusy(
                f"{self.name}: a transaction outlived its lock ({self._lock_ms} ms); its writes were not applied"
            )

    def reset(self) -> None:
        """Drop every record and counter under the prefix (for every process sharing it), under a new epoch."""
        self.restore(Snapshot())

    def _own_keys(self) -> list[bytes]:
        """Every key of this prefix but the lock (read under the lock)."""
        pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in self.prefix) + "*"
        lock = self._lock_key.encode()
        return self._do(lambda: [k for k in self._redis.scan_iter(match=pattern, count=1000) if k != lock])

    def snapshot(self) -> Snapshot:
        """Every record, counter and index entry of the prefix, read under the lock (no process writes meanwhile)."""
        snapshot = Snapshot()
        records, indexes = f"{self.prefix}rec:".encode(), f"{self.prefix}idx:".encode()
        with self.transaction():
            for key in sorted(self._own_keys()):
                if key.startswith(records):
                    found: dict[bytes, bytes] = self._do(self._redis.hgetall, key)  # type: ignore[arg-type]
                    kind = key[len(records) :].decode()
                    snapshot.records[kind] = {k.decode(): loads(v) for k, v in sorted(found.items())}
                elif key.startswith(indexes):
                    pairs: list[tuple[bytes, float]] = self._do(self._redis.zrange, key, 0, -1, withscores=True)  # type: ignore[arg-type]
                    snapshot.indexes[key[len(indexes) :].decode()] = {m.decode(): float(sc) for m, sc in pairs}
            counters: dict[bytes, bytes] = self._do(self._redis.hgetall, self._seq_key)  # type: ignore[arg-type]
            snapshot.counters.update({k.decode(): int(v) for k, v in counters.items()})
        return snapshot

    def restore(self, snapshot: Snapshot) -> None:
        """Wipe the prefix and write ``snapshot`` in one MULTI, under a new epoch every process adopts (as a reset)."""
        epoch = f"reset:{secrets.token_hex(8)}"
        with self.transaction():
            self._pending = {}
            keys = self._own_keys()

            def replace() -> None:
                # One MULTI: no other process ever sees the prefix without an epoch (it would count as lost).
                pipe = self._redis.pipeline(transaction=True)
                for start in range(0, len(keys), 500):
                    pipe.delete(*keys[start : start + 500])
                for kind, found in snapshot.records.items():
                    if found:
                        pipe.hset(self._hash(kind), mapping={key: dumps(value) for key, value in found.items()})
                for index, members in snapshot.indexes.items():
                    if members:
                        pipe.zadd(self._zset(index), {member: float(score) for member, score in members.items()})
                if snapshot.counters:
                    pipe.hset(self._seq_key, mapping={name: int(value) for name, value in snapshot.counters.items()})
                pipe.set(self._epoch_key, epoch)
                pipe.execute()

            self._do(replace)
            self._known = epoch
        self._set_lost(None)

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
        """Close the connections (and stop trying a server that does not answer)."""
        self._closed.set()
        self._redis.close()
