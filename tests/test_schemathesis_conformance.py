"""The real schemathesis CLI, all checks, finds nothing wrong with the mock over the whole contract.

A small example budget keeps this inside CI time; the README shows the deeper run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.contract import load

pytestmark = [pytest.mark.socket, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]


def test_schemathesis_all_checks_pass_against_the_mock(tmp_path: Path) -> None:
    user = load().data("users")[0]
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        token = httpx.post(f"{server.base_url}/__admin/users/{user['username']}/tokens").json()["IdToken"]
        st = Path(sys.executable).with_name("schemathesis")
        result = subprocess.run(
            [
                str(st),
                "--config-file",
                str(ROOT / "suites/property/schemathesis.toml"),
                "run",
                f"{server.base_url}/openapi.json",
                "--checks",
                "all",
                "--max-examples",
                "5",
                "--seed",
                "1",
                "-H",
                f"Authorization: Bearer {token}",
            ],  # fmt: skip
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
        )
        bugs = httpx.get(f"{server.base_url}/__admin/journal?limit=1").json()["mockBugs"]
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Tested: 15" in result.stdout
    assert "failures" not in result.stdout.split("SUMMARY")[-1].lower()
    assert bugs == 0
    assert token not in result.stdout
