"""docs/sdk.md runs as written: its shell blocks (in a shell) and its Python block, against a running mock.

The mock stands for the manual's ``villa-contracts serve &``, the environment for its ``.env`` (the
manual's ``source .env``: the mock's values, on its port), and ``VILLA_PASSWORD`` for the password
``villa auth login`` prompts for; the set-up lines (``bash .ci/setup``, activating .venv) are this
test run's own. Every other line runs as written, in a scratch directory holding ``.env.example``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.runner import RunningServer, serve_in_thread
from villa_contracts.contract import load
from villa_contracts.target import probe

pytestmark = pytest.mark.socket

ROOT = Path(__file__).resolve().parents[2]
MANUAL = ROOT / "docs" / "sdk.md"
HAND_TOOLS = ROOT / "docs" / "hand-tools.md"
STANDS_FOR = ("bash .ci/setup", ". .venv/bin/activate", "villa-contracts serve &", "set -a && source .env")
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def blocks(language: str, page: Path = MANUAL) -> list[str]:
    return [code for lang, code in BLOCK.findall(page.read_text(encoding="utf-8")) if lang == language]


@pytest.fixture
def mock_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[dict[str, str]]:
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        yield environment(server, monkeypatch, tmp_path)


def environment(server: RunningServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    assert probe(server.base_url) is not None  # a mock: its /__admin/cognito answers
    for name in [n for n in os.environ if n.startswith("VILLA_")]:
        monkeypatch.delenv(name)
    # What .env (from .env.example) sets, on the mock's port: no Cognito value, villa asks the mock.
    values = {
        "VILLA_BASE_URL": server.base_url,
        "VILLA_ENV": "dev",
        "VILLA_SESSION_FILE": str(tmp_path / "session.json"),
        "VILLA_PASSWORD": load().data("users")[0]["password"],
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return values


def test_the_manual_shows_its_blocks() -> None:
    assert len(blocks("sh")) == 4 and len(blocks("python")) == 1
    assert "from villa_backend_sdk import VillaClient" in blocks("python")[0]


def test_the_shell_blocks_run_as_written(mock_env: dict[str, str], tmp_path: Path) -> None:
    lines = [line for code in blocks("sh") for line in code.splitlines() if not line.startswith(STANDS_FOR)]
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / ".env.example", work / ".env.example")
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "OK\n" in out and f"ok: {mock_env['VILLA_BASE_URL']} answers" in out
    assert "logged in as test.user@villa.example" in out
    assert "order.json: valid order" in out and "order.json: valid: ready for payment" in out
    assert re.search(r"charge chrg_test_\w+: Authorized \(success\), 174\.00 THB", out)
    assert re.search(r"order \d{12}: PAID", out)
    assert mock_env["VILLA_PASSWORD"] not in out + done.stderr and "eyJ" not in out + done.stderr
    # `villa config show  # secrets shown as (set), never their value`: the pool is the mock's, asked at login.
    assert "VILLA_COGNITO_CLIENT_SECRET  (not set: a mock's, at login)" in out
    secret = str(probe(mock_env["VILLA_BASE_URL"])["clientSecret"])  # type: ignore[index]
    assert secret not in out + done.stderr
    assert (work / ".env").read_text() == (ROOT / ".env.example").read_text()


def test_the_python_block_runs_as_written_and_prints_what_its_comments_say(
    mock_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = blocks("python")[0]
    exec(compile(code, str(MANUAL), "exec"), {})  # noqa: S102
    printed = capsys.readouterr().out.splitlines()
    promised = re.findall(r"^print\(.*\)  # (.+)$", code, re.M)
    assert printed == promised and promised


def test_the_hand_tools_villa_block_runs_as_written(mock_env: dict[str, str], tmp_path: Path) -> None:
    # docs/hand-tools.md's `villa` section: its one bash block that runs villa, in a copy of the repository's
    # layout (.venv and tests/ linked); the mock stands for its `villa-contracts serve --port 8080 &`.
    (code,) = [code for code in blocks("bash", HAND_TOOLS) if "villa auth login" in code]
    lines = [line for line in code.splitlines() if "villa-contracts serve" not in line]
    work = tmp_path / "repo"
    work.mkdir()
    for name in (".venv", "tests"):
        (work / name).symlink_to(ROOT / name)
    script = "set -euo pipefail\n" + "\n".join(lines) + "\n"
    done = subprocess.run(
        ["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"ok: {mock_env['VILLA_BASE_URL']} answers (villa-mock" in out
    assert "VILLA_COGNITO_CLIENT_SECRET  (not set: a mock's, at login)" in out
    assert "logged in as test.user@villa.example" in out
    assert "tests/fixtures/goodSample.json: valid order" in out
    assert "tests/fixtures/goodSample.json: valid: ready for payment" in out
    assert re.search(r"charge chrg_test_\w+: Authorized \(success\), 174\.00 THB", out)
    assert re.search(r"order \d{12}: PAID", out)
    assert mock_env["VILLA_PASSWORD"] not in done.stderr and "eyJ" not in out + done.stderr
