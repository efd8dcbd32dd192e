"""Fixtures of the mock's tests: ``store``, each storage backend in turn (memory, SQLite, Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.storage import MemoryStorage, SqliteStorage, Storage


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    """Each backend in turn: in memory, a SQLite file of the test's own, the test's Redis prefix."""
    if request.param == "memory":
        yield MemoryStorage()
    elif request.param == "sqlite":
        sqlite = SqliteStorage(tmp_path / "villa.db")
        yield sqlite
        sqlite.close()
    else:
        yield request.getfixturevalue("redis_store")
