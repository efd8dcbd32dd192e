"""The real schemathesis CLI, all checks, finds nothing wrong with the mock over each contract, as a user runs it.

Each contract with its own credentials (villa and lineitems: an ID token; the shop: its token key and the
gateway's key; admin: a mock started with ``--admin-token``) and the project's config file, whose
``[[project]]`` per contract declares the statuses its rules refuse a schema-valid request with: a test
checks those lists are the contracts' own. A small example budget keeps this inside CI time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import httpx
import pytest

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.contract import load

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "suites/property/schemathesis.toml"
ADMIN_TOKEN = "conformance-admin-token"


def test_the_config_declares_each_contracts_refusals() -> None:
    projects = {p["title"]: p for p in tomllib.loads(CONFIG.read_text(encoding="utf-8"))["project"]}
    for contract in load():
        limit = ["413"] if any("413" in op.responses for op in contract.operations.values()) else []
        expected = ["2xx", *(str(status) for status in sorted(contract.refusal_statuses)), *limit]
        declared = projects[contract.title]["checks"]["positive_data_acceptance"]["expected-statuses"]
        assert sorted(declared) == sorted(expected), contract.name


def _credentials(base_url: str, contract: str) -> list[str]:
    user = load().data("users")[0]
    admin = {"X-Villa-Admin-Token": ADMIN_TOKEN}
    if contract == "admin":
        return ["-H", f"X-Villa-Admin-Token: {ADMIN_TOKEN}"]
    if contract == "shop":
        login = {"username": user["username"], "password": user["password"]}
        key = httpx.post(f"{base_url}/api/shop/auth/token", json=login).json()["token"]
        gateway = load().data("shop")["gateway_key"]
        return ["-H", f"Authorization: Token {key}", "-H", f"X-Gateway-Key: {gateway}"]
    token = httpx.post(f"{base_url}/__admin/users/{user['username']}/tokens", headers=admin).json()["IdToken"]
    return ["-H", f"Authorization: Bearer {token}"]


@pytest.mark.socket
@pytest.mark.slow
@pytest.mark.parametrize("contract", ["villa", "shop", "lineitems", "admin"])
def test_schemathesis_all_checks_pass_against_the_mock(contract: str, tmp_path: Path) -> None:
    with serve_in_thread(lambda url: create_app(base_url=url, admin_token=ADMIN_TOKEN), log_level="critical") as server:
        credentials = _credentials(server.base_url, contract)
        st = Path(sys.executable).with_name("schemathesis")
        args = [str(st), "--config-file", str(CONFIG), "run", f"{server.base_url}/openapi/{contract}.json"]
        args += ["--checks", "all", "--max-examples", "10", "--seed", "1", *credentials]
        result = subprocess.run(
            args,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "120"},
        )
        journal = httpx.get(f"{server.base_url}/__admin/journal?limit=1", headers={"X-Villa-Admin-Token": ADMIN_TOKEN})
    operations = len(load()[contract].operations)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    summary = result.stdout.split("SUMMARY")[-1]
    assert f"Tested: {operations}" in summary, summary
    assert "failure" not in summary.lower(), summary
    assert journal.json()["mockBugs"] == 0
    for secret in credentials[1::2]:
        assert secret.split(" ", 1)[-1] not in result.stdout  # tokens and keys are never printed
