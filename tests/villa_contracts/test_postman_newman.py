"""The real Newman runs every collection against the real mock: 0 failed assertions.

Skipped only where Node.js is not installed (this machine and CI have it: ``.ci/setup`` installs
Newman with ``npm ci``); a missing Newman where Node.js is fails, it is not skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_server.app import create_app
from mock_server.runner import RunningServer, serve_in_thread
from villa_contracts.cli import cli, main
from villa_contracts.contract import load
from villa_contracts.postman import MOCK_ENVIRONMENT, collection_file
from villa_contracts.postman._newman import mock_environment, run_collection
from villa_contracts.target import probe

POSTMAN = load().root / "postman"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (Newman needs it)")


@pytest.fixture
def mock() -> Iterator[RunningServer]:
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        yield server


def _environment(server: RunningServer) -> dict[str, object]:
    cognito = probe(server.base_url)
    assert cognito is not None
    return mock_environment(json.loads((POSTMAN / MOCK_ENVIRONMENT).read_text()), server.base_url, cognito)


@pytest.mark.socket
@needs_node
@pytest.mark.parametrize("contract", [c.name for c in load().apis])
def test_every_collection_passes_on_the_mock(contract: str, mock: RunningServer, tmp_path: Path) -> None:
    junit = tmp_path / f"newman-{contract}.xml"
    result = run_collection(POSTMAN / collection_file(contract), _environment(mock), junit)
    assert result.error is None, result.output
    assert result.failed == 0, "\n".join(result.failures) or result.output
    # The login, and every operation of the contract at least once (replays come on top).
    assert result.requests >= 1 + len(load()[contract].operations)
    assert result.assertions >= 2 * len(load()[contract].operations)
    report = junit.read_text()
    assert "<testcase" in report and "<failure" not in report
    assert "Bearer" not in result.output and "VillaTest123!" not in result.output  # no secret on the console


@pytest.mark.socket
@needs_node
def test_a_wrong_expectation_fails_the_run(mock: RunningServer, tmp_path: Path) -> None:
    collection = json.loads((POSTMAN / collection_file("villa")).read_text())
    health = next(i for f in collection["item"] for i in f["item"] if i["name"].startswith("health:"))
    health["event"][-1]["script"]["exec"] = ['pm.test("answers 201", () => pm.response.to.have.status(201));']
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(collection))
    result = run_collection(changed, _environment(mock), tmp_path / "junit.xml")
    assert result.failed == 1 and not result.ok
    assert re.search(
        r"health: .*answers 201.*expected response to have status code 201 but got 200", result.failures[0]
    )


@pytest.mark.socket
@needs_node
def test_postman_run_writes_the_junit_into_the_runs_reports(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["postman", "run", "--report-dir", str(tmp_path), "--run-id", "r1"])
    assert result.exit_code == 0, result.output
    assert re.search(r"villa: passed: \d+ requests, (\d+) of \1 assertions passed", result.output)
    assert (tmp_path / "r1" / "newman-villa.xml").is_file()


def test_without_node_the_command_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sys, "argv", ["villa-contracts", "postman", "run"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "Node.js" in err and "npm ci --prefix tools/newman" in err
