"""The storage interface every backend implements, and how a store that cannot serve says so.

    StoreUnavailable   503 store_unavailable  the store does not answer (down, frozen, unreachable)
    ├── StoreBusy      503 store_busy         its lock stayed taken (another process holds it)
    └── StoreLost      503 store_lost         it lost its data (restarted empty, flushed)

Each carries ``Retry-After`` (``StoreLost`` does not: waiting does not bring the data back). The
guard answers them on every route (Cognito's ``POST /`` in its own error shape), and so does an
operation whose store fails midway (``mock_server.dispatch``).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mock_server.errors import MockError
from mock_server.fastjson import JSONResponse

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything a store holds: its records by kind and key, its counters and its ordered indexes.

    What ``Storage.snapshot`` reads and ``Storage.restore`` puts back whole (``mock_server.scenario``
    builds scenario files on it).

    Attributes:
        records: ``{kind: {key: record}}``.
        counters: ``{name: last value}`` (what ``next_sequence`` answered last).
        indexes: ``{index: {member: score}}``.
    """

    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    indexes: dict[str, dict[str, float]] = field(default_factory=dict)


class StoreUnavailable(MockError):
    """The store does not answer: the request is refused, the client may retry after ``retry_after`` seconds."""

    status_code = 503
    code = "store_unavailable"
    retryable: ClassVar[bool] = True

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        """Say what failed; a client may retry after ``retry_after`` seconds."""
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        """``Retry-After`` when waiting may help."""
        return {"Retry-After": str(self.retry_after)} if self.retryable else {}

    def response(self) -> JSONResponse:
        """The mock's JSON error answer."""
        return JSONResponse(self.body(), status_code=self.status_code, headers=self.headers())


class StoreBusy(StoreUnavailable):
    """The store's lock could not be taken in time (or was lost): another process holds the store too long."""

    code = "store_busy"


class StoreLost(StoreUnavailable):
    """The store lost its data (a Redis server restarted empty, or flushed): only a reset starts over."""

    code = "store_lost"
    retryable = False


class Storage(abc.ABC):
    """Key-value records grouped by kind, with atomic groups of operations.

    Attributes:
        shared: several processes may use the store at once (SQLite file, Redis), so whatever the
            mock keeps beside its records (the clock's offset) must live in the store too.
        lost: why the store cannot serve the API since it lost its data, or None.
    """

    shared = False
    lost: StoreLost | None = None
    """Set when the store noticed it lost its data (the guard refuses the API until a reset)."""

    @abc.abstractmethod
    def get(self, kind: str, key: str) -> Record | None:
        """Return a copy of the record, or None."""

    @abc.abstractmethod
    def put(self, kind: str, key: str, value: Record) -> None:
        """Store ``value`` (a JSON-serialisable dict) under ``kind``/``key``."""

    @abc.abstractmethod
    def insert(self, kind: str, key: str, value: Record) -> bool:
        """Store ``value`` only if the key is free; return whether it was stored."""

    @abc.abstractmethod
    def delete(self, kind: str, key: str) -> None:
        """Remove the record if it exists."""

    @abc.abstractmethod
    def values(self, kind: str) -> Iterator[Record]:
        """Iterate over copies of all records of a kind."""

    @abc.abstractmethod
    def next_sequence(self, name: str) -> int:
        """Atomically increment and return the counter ``name`` (first value: 1)."""

    @abc.abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Hold the store for a group of operations that must happen together or not at all."""

    _depth = 0
    """How many ``_nested`` blocks are open (in the thread that holds their lock)."""

    @contextmanager
    def _nested(
        self,
        lock: AbstractContextManager[Any],
        begin: Callable[[], object],
        abort: Callable[[], object],
        commit: Callable[[], object],
    ) -> Iterator[None]:
        """A transaction block under ``lock`` that nests (the blocks inside the outermost one join it).

        The outermost block calls ``begin``, then ``commit``, or ``abort`` on any exception.
        """
        with lock:
            outer = self._depth == 0
            if outer:
                begin()
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    abort()
                raise
            else:
                self._depth -= 1
                if outer:
                    commit()

    @abc.abstractmethod
    def reset(self) -> None:
        """Drop every record and counter."""

    @abc.abstractmethod
    def snapshot(self) -> Snapshot:
        """Copies of every record, counter and index entry, as one consistent reading (under the store's lock)."""

    @abc.abstractmethod
    def restore(self, snapshot: Snapshot) -> None:
        """Replace everything the store holds by ``snapshot``, at once: every process sees the old state or the new.

        Never half: a store that fails midway keeps what it held (``StoreUnavailable`` is raised).
        """

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (files, connections)."""

    # -- ordered indexes: what a list reads, so that a page costs what the page holds ----------------
    # An index is a named set of members (record keys), each filed at a score. It changes in the same
    # transaction as the records it lists, and it is wiped by ``reset`` with them.

    @abc.abstractmethod
    def index_put(self, index: str, member: str, score: float) -> None:
        """File ``member`` in ``index`` at ``score`` (moving it there when it was filed already)."""

    @abc.abstractmethod
    def index_drop(self, index: str, member: str) -> None:
        """Take ``member`` out of ``index`` (nothing happens when it is not filed there)."""

    @abc.abstractmethod
    def index_count(self, index: str) -> int:
        """How many members ``index`` holds (without reading them)."""

    @abc.abstractmethod
    def index_range(self, index: str, start: int, stop: int, *, descending: bool = False) -> list[str]:
        """The members at positions ``start`` to ``stop`` (excluded) by score, lowest first unless ``descending``.

        Members of one score are ordered by member. The cost is that of the positions asked for,
        not of the index's size. A Redis store reads what is committed: read an index before a
        transaction writes to it, never after.
        """

    def get_many(self, kind: str, keys: Iterable[str]) -> list[Record | None]:
        """Copies of the records of ``keys``, in their order (None for a missing one)."""
        return [self.get(kind, key) for key in keys]
