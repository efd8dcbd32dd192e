"""Ordered indexes on every store: what lists read, so that a page costs what the page holds (issue 21, point 7).

The same tests run on memory, SQLite and Redis (the local server, a key prefix of the test's own).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mock_server.storage import SqliteStorage, Storage
from mock_server.storage.redis import RedisStorage


def test_members_come_back_by_score_in_either_direction(store: Storage) -> None:
    for member, score in [("c", 3), ("a", 1), ("e", 5), ("b", 2), ("d", 4)]:
        store.index_put("orders:alice", member, score)
    assert store.index_count("orders:alice") == 5
    assert store.index_range("orders:alice", 0, 10) == ["a", "b", "c", "d", "e"]
    assert store.index_range("orders:alice", 0, 2, descending=True) == ["e", "d"]
    assert store.index_range("orders:alice", 2, 4, descending=True) == ["c", "b"]
    assert store.index_range("orders:alice", 4, 99, descending=True) == ["a"]
    assert store.index_range("orders:alice", 5, 10) == []
    assert store.index_range("orders:alice", 3, 3) == []
    assert store.index_count("orders:bob") == 0
    assert store.index_range("orders:bob", 0, 10) == []


def test_a_member_moves_when_filed_again_and_ties_go_by_member(store: Storage) -> None:
    store.index_put("i", "x", 1)
    store.index_put("i", "y", 2)
    store.index_put("i", "x", 3)  # moved, not counted twice
    assert store.index_count("i") == 2
    assert store.index_range("i", 0, 10, descending=True) == ["x", "y"]
    store.index_put("i", "z", 3)
    assert store.index_range("i", 0, 10) == ["y", "x", "z"]
    assert store.index_range("i", 0, 10, descending=True) == ["z", "x", "y"]
    store.index_drop("i", "x")
    store.index_drop("i", "never-filed")
    assert store.index_count("i") == 2
    assert store.index_range("i", 0, 10) == ["y", "z"]


def test_index_writes_commit_and_roll_back_with_the_records(store: Storage) -> None:
    with store.transaction():
        store.put("orders", "1", {"n": 1})
        store.index_put("mine", "1", 1)
    with pytest.raises(RuntimeError, match="boom"), store.transaction():
        store.put("orders", "2", {"n": 2})
        store.index_put("mine", "2", 2)
        store.index_drop("mine", "1")
        store.index_put("other", "2", 2)
        raise RuntimeError("boom")
    assert store.get("orders", "2") is None
    assert store.index_range("mine", 0, 10) == ["1"]
    assert store.index_count("mine") == 1
    assert store.index_count("other") == 0


def test_a_nested_block_that_fails_is_undone_by_the_outer_one(store: Storage) -> None:
    store.index_put("i", "kept", 1)
    with pytest.raises(ValueError, match="outer"), store.transaction():
        store.index_put("i", "a", 2)
        with store.transaction():
            store.index_drop("i", "kept")
            store.index_put("i", "b", 3)
        raise ValueError("outer")
    assert store.index_range("i", 0, 10) == ["kept"]


def test_reset_wipes_the_indexes(store: Storage) -> None:
    store.index_put("i", "a", 1)
    store.reset()
    assert store.index_count("i") == 0
    assert store.index_range("i", 0, 10) == []
    store.index_put("i", "b", 1)
    assert store.index_count("i") == 1


def test_get_many_answers_in_order_with_none_for_missing(store: Storage) -> None:
    store.put("orders", "1", {"n": 1})
    store.put("orders", "3", {"n": 3})
    assert store.get_many("orders", ["3", "2", "1"]) == [{"n": 3}, None, {"n": 1}]
    assert store.get_many("orders", []) == []
    with store.transaction():
        store.put("orders", "2", {"n": 2})
        store.delete("orders", "3")
        assert store.get_many("orders", ["1", "2", "3"]) == [{"n": 1}, {"n": 2}, None]
    got = store.get_many("orders", ["1"])[0]
    assert got is not None
    got["n"] = 99
    assert store.get("orders", "1") == {"n": 1}


def test_a_large_get_many_is_answered_whole(store: Storage) -> None:
    with store.transaction():
        for n in range(1200):
            store.put("many", str(n), {"n": n})
    keys = [str(n) for n in range(1199, -1, -1)]
    assert [r["n"] if r else None for r in store.get_many("many", keys)] == list(range(1199, -1, -1))


def test_sqlite_keeps_indexes_and_their_sizes_across_a_restart(tmp_path: Path) -> None:
    first = SqliteStorage(tmp_path / "villa.db")
    for n in range(5):
        first.index_put("i", str(n), n)
    first.index_put("i", "2", 10)  # an upsert: the size trigger fires on inserts only
    first.index_drop("i", "0")
    first.close()
    again = SqliteStorage(tmp_path / "villa.db")
    assert again.index_count("i") == 4
    assert again.index_range("i", 0, 10, descending=True) == ["2", "4", "3", "1"]
    again.close()


def test_redis_refuses_to_read_an_index_its_open_transaction_wrote(redis_store: RedisStorage) -> None:
    # Redis commits a block's writes at its end: a read of the same index before then would miss them.
    redis_store.index_put("i", "a", 1)
    with redis_store.transaction():
        assert redis_store.index_count("i") == 1  # before writing: the committed index
        redis_store.index_put("i", "b", 2)
        with pytest.raises(RuntimeError, match="read after this transaction wrote"):
            redis_store.index_range("i", 0, 10)
        assert redis_store.index_count("other") == 0
    assert redis_store.index_range("i", 0, 10) == ["a", "b"]
