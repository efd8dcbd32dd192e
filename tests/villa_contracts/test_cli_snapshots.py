"""Snapshots of what people read: every command's ``--help``, and a failing gate run's summary.

Rendered under ``COLUMNS=80 NO_COLOR=1`` with durations, ports, seeds of random runs and temporary
paths normalised. A duration is normalised with the padding in front of it (``58.9s`` and ``1m 05s``
are padded to one width), so the snapshot does not depend on how long a run took; the summary's
columns are checked on the raw output instead. After an intended change, rewrite them with
``UPDATE_SNAPSHOTS=1 pytest tests/villa_contracts/test_cli_snapshots.py`` and review the diff.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.faults import serve_broken
from villa_contracts.cli import cli
from villa_contracts.cli.villa import villa

SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
ENV = {"COLUMNS": "80", "NO_COLOR": "1"}
DURATION = re.compile(r"\b(?:\d+m \d\ds|\d+\.\d+s)\b")


def normalised(text: str, *, tmp: Path | None = None) -> str:
    if tmp is not None:
        text = text.replace(str(tmp), "<tmp>")
    text = re.sub(r"http://127\.0\.0\.1:\d+", "http://127.0.0.1:<port>", text)
    # A right-aligned duration's padding depends on its width (58.9s, 1m 05s): it goes with it.
    text = re.sub(rf" +{DURATION.pattern}", " <duration>", text)
    return text


def test_normalising_a_duration_takes_its_padding_with_it() -> None:
    fast = "  lint  passed  203 checks      58.9s\nFAILED in 9.50s: x"
    slow = "  lint  passed  203 checks     1m 05s\nFAILED in 12m 01s: x"
    assert normalised(fast) == normalised(slow) == "  lint  passed  203 checks <duration>\nFAILED in <duration>: x"


def phase_rows(output: str, phases: tuple[str, ...]) -> list[str]:
    return [line for line in output.splitlines() if line.split()[:1] and line.split()[0] in phases and "  " in line]


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


@pytest.mark.parametrize(
    "command", [[], ["order", "get"], ["payment", "charge"]], ids=lambda c: "-".join(["villa", *c])
)
def test_villa_help(command: list[str]) -> None:
    result = CliRunner().invoke(villa, [*command, "--help"], env=ENV, prog_name="villa")
    assert result.exit_code == 0
    assert "\\b" not in result.output
    assert "Exit codes:" in result.output or command
    assert_snapshot("help-" + "-".join(["villa", *command]), result.output)


@pytest.mark.socket
def test_a_failing_runs_summary(tmp_path: Path) -> None:
    with serve_broken("total_off_by_one_satang") as base_url:
        args = ["gate", "--base-url", base_url, "--contract", "villa", "--phases", "lint,schemathesis"]
        args += ["--schemathesis-phases", "examples", "--max-examples", "5", "--seed", "1"]
        args += ["--no-progress", "--report-dir", str(tmp_path), "--run-id", "snap"]
        result = CliRunner().invoke(cli, args, env=ENV)
    assert result.exit_code == 1, result.output
    # The columns the normalised snapshot no longer pins: every phase's duration ends at one column.
    rows = phase_rows(result.output, ("lint", "schemathesis"))
    ends = {match.end() for row in rows for match in [DURATION.search(row)] if match}
    assert len(rows) == 2 and len(ends) == 1, rows
    assert_snapshot("gate-failing-summary", normalised(result.output, tmp=tmp_path))
