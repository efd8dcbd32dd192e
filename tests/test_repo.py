"""Repository-level checks: the public surface, and tests mirroring the packages."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

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


def _relative_links(path: Path) -> list[str]:
    """The relative link targets of a Markdown file (outside fenced code), without their anchors."""
    text = re.sub(r"^(```|~~~).*?^\1", "", path.read_text(encoding="utf-8"), flags=re.S | re.M)
    targets = re.findall(r"\]\(<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\)", text)
    return [t.split("#", 1)[0] for t in targets if not re.match(r"[a-z][a-z0-9+.-]*:|#", t)]


def test_the_readme_reads_in_five_minutes() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines: move the depth to docs/"


def test_every_relative_link_of_the_readme_and_docs_points_at_a_file() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(ROOT)}: {target}"
        for page in pages
        for target in _relative_links(page)
        if not (page.parent / target).exists()
    ]
    assert len(pages) > 1
    assert not broken, broken


def test_no_tool_cache_is_tracked() -> None:
    # Running schemathesis, pytest or mypy in the repo must leave the tree clean: their caches stay out of git.
    import shutil
    import subprocess

    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    tracked = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    caches = (".schemathesis/", ".pytest_cache/", ".mypy_cache/", ".ruff_cache/", ".hypothesis/", "__pycache__/")
    assert not [path for path in tracked.splitlines() if any(cache in path for cache in caches)]


def test_the_version_shown_is_the_packages() -> None:
    # `--version` shows villa_contracts.__version__ (no importlib.metadata at start-up): it must be pyproject's.
    import tomllib

    from villa_contracts.cli import cli, villa

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert villa_contracts.__version__ == declared
    for group, name in ((cli, "villa-contracts"), (villa.villa, "villa")):
        result = CliRunner().invoke(group, ["--version"])
        assert result.exit_code == 0 and result.output == f"{name}, version {declared}\n"


def test_the_commands_start_without_the_heavy_libraries() -> None:
    # What `villa --help` and `villa-contracts --version`/`gate --help` import: none of the client's or the engines'
    # libraries (they cost most of a start-up). Run in a fresh interpreter, as the console scripts are.
    heavy = ("httpx", "jose", "jsonschema", "schemathesis", "hypothesis", "mitmproxy", "starlette", "pact")
    for module, args in (
        ("villa_contracts.cli.villa", ["--help"]),
        ("villa_contracts.cli", ["--version"]),
        ("villa_contracts.cli", ["gate", "--help"]),
        ("villa_contracts.cli", ["serve", "--help"]),
        ("villa_contracts.cli", ["proxy", "--help"]),
    ):
        code = (
            f"import sys; sys.argv = ['x', *{args!r}]\n"
            f"from {module} import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r})\n"
            "print('LOADED', loaded, file=sys.stderr)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
        assert "LOADED []" in done.stderr, (module, args, done.stderr[-2000:])
