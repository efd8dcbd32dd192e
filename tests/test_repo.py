"""Repository-level checks: the public surface, and tests mirroring the packages."""

from __future__ import annotations

from pathlib import Path

import villa_contracts

ROOT = Path(__file__).resolve().parents[1]


def test_all_is_sorted_and_complete() -> None:
    names = villa_contracts.__all__
    assert names == sorted(names)
    public = {n for n in vars(villa_contracts) if not n.startswith("_") and n[0].isupper() or n == "load"}
    assert public <= set(names), public - set(names)
    for name in names:
        assert hasattr(villa_contracts, name), name


def test_every_test_module_mirrors_a_package() -> None:
    for path in (ROOT / "tests").rglob("test_*.py"):
        relative = path.relative_to(ROOT / "tests")
        if len(relative.parts) == 1:
            continue  # repo-level tests
        assert relative.parts[0] in {"villa_contracts", "mock_server"}, relative


def test_domain_imports_no_io() -> None:
    forbidden = ("httpx", "starlette", "mock_server", "sqlite3", "socket", "suites")
    for path in (ROOT / "villa_contracts" / "domain").glob("*.py"):
        text = path.read_text()
        for name in forbidden:
            assert f"import {name}" not in text and f"from {name}" not in text, (path.name, name)


def test_mock_server_does_not_import_suites() -> None:
    for path in (ROOT / "mock_server").rglob("*.py"):
        assert "suites" not in path.read_text().replace("test suites", ""), path
