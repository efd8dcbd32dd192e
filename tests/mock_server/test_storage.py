"""Every store backend keeps the one contract of ``Storage``: copies, atomic groups, counters, reset.

The same tests run on memory, SQLite and Redis (the local server, a key prefix of the test's own).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mock_server.storage import (
    Snapshot,
    SqliteStorage,
    Storage,
    StoreBusy,
    StoreLost,
    StoreUnavailable,
    open_storage,
)
from mock_server.storage.redis import RedisStorage, shown_url
from tests.fixtures.own_redis import OwnRedis
from tests.fixtures.redis_store import REDIS_URL
from villa_contracts.errors import ConfigError


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


# When Redis fails: a test's own server (tests.fixtures.own_redis), stopped, frozen and restarted.
# Timeouts are made small and the checks constant, so that nothing waits on a speed.


def _fast(server: OwnRedis, prefix: str = "t:", **options: Any) -> RedisStorage:
    options = {"timeout": 0.5, "retry_every": 0.02, "check_every": 0, **options}
    return RedisStorage.from_url(server.url, prefix=prefix, **options)


def _until(what: str, check: Callable[[], bool]) -> None:
    """Wait for an event; the bound only ends a broken run (it measures no speed)."""
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.01)


def _answers(store: RedisStorage) -> bool:
    try:
        store.get("orders", "1")
    except StoreUnavailable:
        return False
    return True


def _store_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "villa_contracts.mock.store"]


def test_a_store_that_does_not_answer_refuses_at_once_until_it_answers_again(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store = _fast(own_redis)
    store.put("orders", "1", {"v": 1})
    own_redis.stop(save=True)
    with pytest.raises(StoreUnavailable) as refused:
        store.get("orders", "1")
    assert refused.value.status_code == 503 and refused.value.code == "store_unavailable"
    assert refused.value.headers() == {"Retry-After": "1"} and "does not answer" in refused.value.message
    calls = []
    original = store._redis.execute_command
    store._redis.execute_command = lambda *a, **k: calls.append(a) or original(*a, **k)  # type: ignore[method-assign]
    for _ in range(20):  # no request waits on a server known to be down
        with pytest.raises(StoreUnavailable):
            store.get("orders", "1")
    assert calls == []
    store._redis.execute_command = original  # type: ignore[method-assign]
    own_redis.start()
    _until("the store answers again", lambda: _answers(store))
    assert store.get("orders", "1") == {"v": 1} and store.lost is None
    assert [line.split(" (")[1].split(")")[-1] for line in _store_lines(caplog)] == [
        " does not answer",
        " answers again",
    ], _store_lines(caplog)
    store.close()


def test_a_frozen_store_times_out_then_recovers(own_redis: OwnRedis, caplog: pytest.LogCaptureFixture) -> None:
    # It hung a worker 10 s a request (retried with backoff); now one short timeout, then 503s at once.
    store = _fast(own_redis)
    store.put("orders", "1", {"v": 1})
    own_redis.freeze()
    try:
        with pytest.raises(StoreUnavailable, match="TimeoutError"):
            store.get("orders", "1")
        with pytest.raises(StoreUnavailable):
            store.put("orders", "2", {"v": 2})
    finally:
        own_redis.thaw()
    _until("the store answers again", lambda: _answers(store))
    assert store.get("orders", "1") == {"v": 1} and store.lost is None
    assert len(_store_lines(caplog)) == 2
    store.close()


HOLDER = """
import sys, time
from mock_server.storage.redis import RedisStorage
store = RedisStorage.from_url(sys.argv[1], prefix="t:")
with store.transaction():
    print("locked", flush=True)
    time.sleep(3600)
"""


def test_a_lock_left_by_a_killed_process_is_freed_at_once(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    # A lock lived 30 s and a transaction waited 20 s for it, then answered 500 "mock bug: StoreBusy".
    root = Path(__file__).resolve().parents[2]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, own_redis.url], cwd=root, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    holder.kill()
    holder.wait()
    holder.stdout.close()
    assert own_redis.client().get("t:lock") is not None
    # Neither its lifetime nor a wait could explain the lock going: only that its holder is gone.
    store = _fast(own_redis, lock_ms=3_600_000, lock_wait=3600)
    store.put("orders", "1", {"v": 1})
    assert store.get("orders", "1") == {"v": 1}
    assert f"freed the lock of process {holder.pid}, which is no longer running" in " ".join(_store_lines(caplog))
    store.close()


def test_a_lock_held_too_long_is_a_503_and_a_lock_expires(own_redis: OwnRedis) -> None:
    store = _fast(own_redis, lock_wait=0.05)
    own_redis.client().set("t:lock", "another-machine/1/x", px=3_600_000)  # a live holder elsewhere
    with pytest.raises(StoreBusy) as busy:
        store.put("orders", "1", {"v": 1})
    assert (busy.value.status_code, busy.value.code) == (503, "store_busy") and "Retry-After" in busy.value.headers()
    own_redis.client().set("t:lock", "another-machine/1/x", px=50)  # a holder that died elsewhere
    patient = _fast(own_redis, lock_wait=3600)
    patient.put("orders", "1", {"v": 1})
    assert patient.get("orders", "1") == {"v": 1}
    store.close()
    patient.close()


def test_a_transaction_renews_its_lock_and_knows_when_it_lost_it(own_redis: OwnRedis) -> None:
    now = [0.0]
    store = _fast(own_redis, lock_ms=60_000, clock=lambda: now[0])
    lock = own_redis.client()
    with store.transaction():
        lock.pexpire("t:lock", 100)  # as if the holder had worked a long time without a command
        now[0] += 30  # past a third of the lock's life: the next command renews it
        store.get("orders", "1")
        assert lock.pttl("t:lock") > 10_000
    with pytest.raises(StoreBusy, match="lost its lock"), store.transaction():
        lock.delete("t:lock")  # expired, and taken by nobody or another
        now[0] += 30
        store.get("orders", "1")
    store.close()


def test_a_store_restarted_empty_says_it_lost_its_data_until_a_reset(
    own_redis: OwnRedis, caplog: pytest.LogCaptureFixture
) -> None:
    store, other = _fast(own_redis), _fast(own_redis)
    store.put("orders", "1", {"v": 1})
    store.next_sequence("ids")
    own_redis.stop(save=False)
    own_redis.start()
    _until("the store answers again", lambda: _answers(store))
    assert isinstance(store.lost, StoreLost) and store.lost.code == "store_lost"
    assert store.lost.headers() == {} and "POST /__admin/reset" in store.lost.message
    later = _fast(own_redis)  # a process started after the loss (a worker put in a dead one's place)
    assert isinstance(later.lost, StoreLost)
    other.get("orders", "1")
    assert isinstance(other.lost, StoreLost)
    store.reset()
    assert store.lost is None and store.next_sequence("ids") == 1
    for handle in (other, later):  # every process adopts the reset's epoch
        handle.get("orders", "1")
        assert handle.lost is None
    lines = _store_lines(caplog)
    assert sum("lost its data" in line for line in lines) == 3 and sum("was reset" in line for line in lines) == 3
    for handle in (store, other, later):
        handle.close()


def test_a_process_that_finds_the_store_empty_does_not_hide_the_loss(own_redis: OwnRedis) -> None:
    old = _fast(own_redis, check_every=3600)
    old.put("orders", "1", {"v": 1})
    own_redis.client().flushall()
    fresh = _fast(own_redis)  # it found the prefix empty: a new store, as far as it can tell
    assert fresh.lost is None
    old._next_check = 0  # old's next check is due
    old.get("orders", "1")
    assert isinstance(old.lost, StoreLost)
    fresh.get("orders", "1")
    assert isinstance(fresh.lost, StoreLost)
    old.close()
    fresh.close()


def test_snapshot_and_restore_replace_everything_at_once(store: Storage) -> None:
    store.put("orders", "1", {"total": 79.0})
    store.put("charges", "c", {"orderId": "1"})
    assert store.next_sequence("order:1000:26") == 1
    assert store.next_sequence("order:1000:26") == 2
    store.index_put("li_lists:alice", "1", 3.0)
    store.index_put("li_lists:alice", "2", 1.5)
    taken = store.snapshot()
    assert taken.records == {"orders": {"1": {"total": 79.0}}, "charges": {"c": {"orderId": "1"}}}
    assert taken.counters == {"order:1000:26": 2}
    assert taken.indexes == {"li_lists:alice": {"1": 3.0, "2": 1.5}}

    store.put("orders", "9", {"total": 1.0})
    store.index_put("other", "x", 1.0)
    store.restore(taken)
    assert store.get("orders", "9") is None
    assert store.get("orders", "1") == {"total": 79.0}
    assert store.index_count("other") == 0
    assert store.index_range("li_lists:alice", 0, 10) == ["2", "1"]
    assert store.next_sequence("order:1000:26") == 3
    assert store.snapshot().records == taken.records


def test_a_restore_that_fails_leaves_the_store_as_it_was(store: Storage) -> None:
    store.put("orders", "1", {"total": 79.0})
    store.index_put("list", "1", 1.0)
    before = store.snapshot()
    unstorable = Snapshot(records={"orders": {"2": {"total": 1.0}}, "charges": {"c": {"bad": {1, 2}}}})
    with pytest.raises(TypeError):
        store.restore(unstorable)
    assert store.snapshot() == before
