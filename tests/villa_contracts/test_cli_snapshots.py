"""Snapshots of what people read: every command's ``--help``, and a failing gate run's summary.

Rendered under ``COLUMNS=80 NO_COLOR=1`` with durations, ports, seeds of random runs and temporary
paths normalised. After an intended change, rewrite them with ``UPDATE_SNAPSHOTS=1 pytest
tests/villa_contracts/test_cli_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.faults import serve_broken
from villa_contracts.cli import cli

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
ENV = {"COLUMNS": "80", "NO_COLOR": "1"}


def normalised(text: str, *, tmp: Path | None = None) -> str:
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<port>", text)
    text = re.sub(r"\b\d+m \d\ds\b|\b\d+\.\d+s\b", "<duration>", text)
    return text


def assert_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.is_file(), f"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 to write it"
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; review, then rewrite the snapshot"


@pytest.mark.parametrize(
    "command",
    [[], ["serve"], ["gate"], ["flow"], ["validate"], ["pact", "verify"], ["tokens"], ["proxy"], ["proxy", "check"]],
    ids=lambda c: "-".join(c) or "villa-contracts",
)
def test_help(command: list[str]) -> None:
    result = CliRunner().invoke(cli, [*command, "--help"], env=ENV, prog_name="villa-contracts")
    assert result.exit_code == 0
    assert "\\b" not in result.output  # click's paragraph marker, never printed
    assert "Exit codes:" in result.output or command == ["validate"] or command == []
    assert_snapshot("help-" + ("-".join(command) or "villa-contracts"), result.output)


@pytest.mark.socket
def test_a_failing_runs_summary(tmp_path: Path) -> None:
    with serve_broken("total_off_by_one_satang") as base_url:
        args = ["gate", "--base-url", base_url, "--phases", "lint,schemathesis", "--max-examples", "5", "--seed", "1"]
        args += ["--no-progress", "--report-dir", str(tmp_path), "--run-id", "snap"]
        result = CliRunner().invoke(cli, args, env=ENV)
    assert result.exit_code == 1, result.output
    assert_snapshot("gate-failing-summary", normalised(result.output, tmp=tmp_path))
