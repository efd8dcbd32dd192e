"""The CLI: validate prints every violation and exits 1; help documents exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.fixtures.reference import ORDER_FIXTURES
from villa_contracts.cli import cli

FIXTURES = ORDER_FIXTURES


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env={"COLUMNS": "80", "NO_COLOR": "1"})
    return result.exit_code, result.output


def test_validate_good_sample_is_valid() -> None:
    code, out = run("validate", "order", str(FIXTURES / "goodSample.json"), str(FIXTURES / "extraCol.json"))
    assert code == 0
    assert out.count("valid order") == 2


def test_validate_wrong_type_prints_every_violation_and_exits_1() -> None:
    code, out = run("validate", "order", str(FIXTURES / "wrongType.json"))
    assert code == 1
    assert "INVALID order, 4 violation(s)" in out
    for line in ("/orderId: 1234 is not of type", '/shipping: "scheduleList"', '/shipping: "shippingPhone"'):
        assert line in out


def test_validate_unreadable_json_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    assert run("validate", "order", str(bad))[0] == 2


@pytest.mark.parametrize("command", [[], ["serve"], ["flow"], ["validate"]])
def test_help_teaches(command: list[str]) -> None:
    code, out = run(*command, "--help")
    assert code == 0
    assert "Usage:" in out
    if not command:
        assert "Exit codes" in out and "villa-contracts flow" in out


@pytest.mark.socket
def test_flow_against_a_running_mock_needs_no_variable() -> None:
    # The autouse fixture removed every VILLA_* variable: the flow reads the Cognito settings from the mock.
    from mock_server.app import create_app
    from mock_server.runner import serve_in_thread

    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        code, out = run("flow", "--base-url", server.base_url)
    assert code == 0, out
    assert "villa: flow passed: 10 steps" in out
