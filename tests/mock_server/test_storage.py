"""Every store backend keeps the one contract of ``Storage``: copies, atomic groups, counters, reset.

The same tests run on memory, SQLite and Redis (the local server, a key prefix of the test's own).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.storage import MemoryStorage, SqliteStorage, Storage, open_storage
from mock_server.storage.redis import RedisStorage, shown_url
from tests.fixtures.redis_store import REDIS_URL
from villa_contracts.errors import ConfigError


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "sqlite":
        sqlite = SqliteStorage(tmp_path / "villa.db")
        yield sqlite
        sqlite.close()
    else:
        yield request.getfixturevalue("redis_store")


def test_reads_are_copies(store: Storage) -> None:
    store.put("orders", "1", {"lines": [{"qty": 1}], "total": 79.0})
    got = store.get("orders", "1")
    assert got == {"lines": [{"qty": 1}], "total": 79.0}
    got["lines"][0]["qty"] = 99
    assert store.get("orders", "1") == {"lines": [{"qty": 1}], "total": 79.0}
    assert store.get("orders", "2") is None


def test_insert_delete_values_and_sequences(store: Storage) -> None:
    assert store.insert("users", "b", {"n": 2}) is True
    assert store.insert("users", "b", {"n": 3}) is False
    store.put("users", "a", {"n": 1})
    assert list(store.values("users")) in ([{"n": 1}, {"n": 2}], [{"n": 2}, {"n": 1}])
    store.delete("users", "b")
    store.delete("users", "missing")
    assert list(store.values("users")) == [{"n": 1}]
    assert [store.next_sequence("ids") for _ in range(3)] == [1, 2, 3]
    assert store.next_sequence("other") == 1


def test_integers_past_64_bits_and_integer_keys_keep_their_meaning(store: Storage) -> None:
    store.put("odd", "1", {"big": 10**30, "keys": {7: "seven"}})
    assert store.get("odd", "1") == {"big": 10**30, "keys": {"7": "seven"}}


def test_a_failed_transaction_leaves_nothing_behind(store: Storage) -> None:
    store.put("stock", "1000", {"25281": 2})
    store.put("orders", "old", {"v": 1})
    with pytest.raises(RuntimeError), store.transaction():
        store.put("stock", "1000", {"25281": 5})
        store.put("orders", "new", {"v": 2})
        store.delete("orders", "old")
        with store.transaction():  # a nested block joins the outer one
            store.put("orders", "nested", {"v": 3})
        assert store.get("orders", "new") == {"v": 2}  # the block reads its own writes
        assert store.get("orders", "old") is None
        raise RuntimeError("refused")
    assert store.get("stock", "1000") == {"25281": 2}
    assert store.get("orders", "old") == {"v": 1}
    assert store.get("orders", "new") is None and store.get("orders", "nested") is None


def test_a_transaction_commits_every_write(store: Storage) -> None:
    with store.transaction():
        store.put("orders", "1", {"v": 1})
        store.insert("orders", "2", {"v": 2})
        store.delete("orders", "1")
    assert store.get("orders", "1") is None and store.get("orders", "2") == {"v": 2}


def test_reset_drops_records_and_counters(store: Storage) -> None:
    store.put("orders", "1", {"v": 1})
    store.next_sequence("ids")
    store.reset()
    assert store.get("orders", "1") is None and list(store.values("orders")) == []
    assert store.next_sequence("ids") == 1


def test_concurrent_read_modify_write_loses_no_update(store: Storage, tmp_path: Path) -> None:
    # Two handles of one store (two connections: as two processes would hold) where the backend allows it.
    other = store
    if isinstance(store, RedisStorage):
        other = RedisStorage.from_url(REDIS_URL, prefix=store.prefix)
    elif isinstance(store, SqliteStorage):
        other = SqliteStorage(store.path)
    store.put("counter", "c", {"n": 0})

    def bump(handle: Storage) -> None:
        for _ in range(50):
            with handle.transaction():
                current = handle.get("counter", "c")
                assert current is not None
                handle.put("counter", "c", {"n": current["n"] + 1})

    threads = [threading.Thread(target=bump, args=(h,)) for h in (store, other, store, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.get("counter", "c") == {"n": 200}


def test_redis_stores_under_its_prefix_only(redis_store: RedisStorage) -> None:
    neighbour = RedisStorage.from_url(REDIS_URL, prefix=redis_store.prefix + "neighbour:")
    neighbour.put("orders", "1", {"mine": False})
    redis_store.put("orders", "1", {"mine": True})
    assert neighbour.get("orders", "1") == {"mine": False}
    redis_store.reset()
    assert redis_store.get("orders", "1") is None


def test_open_storage_refuses_what_is_not_a_reachable_redis() -> None:
    with pytest.raises(ConfigError, match="give a Redis URL"):
        open_storage(None, url="http://127.0.0.1:6379")
    with pytest.raises(ConfigError, match="no Redis server answers") as refused:
        open_storage(None, url="redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in str(refused.value)
    assert shown_url("redis://user:pw@host:6379/0") == "redis://user:***@host:6379/0"
