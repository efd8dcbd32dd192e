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

import httpx
import pytest
from click.testing import CliRunner

from mock_server.app import create_app
from mock_server.runner import RunningServer, serve_in_thread
from villa_contracts.cli import cli, main
from villa_contracts.client import ShopClient
from villa_contracts.contract import load
from villa_contracts.errors import ConfigError
from villa_contracts.postman import DEV_ENVIRONMENT, MOCK_ENVIRONMENT, collection_file
from villa_contracts.postman._newman import mock_environment, run_collection, target_environment
from villa_contracts.postman._parts import success
from villa_contracts.target import probe

POSTMAN = load().root / "postman"
SHOP = load().data("shop")
USERS = load().data("users")
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
    operations = load()[contract].operations
    result = run_collection(POSTMAN / collection_file(contract), _environment(mock), junit)
    assert result.error is None, result.output
    assert result.failed == 0, "\n".join(result.failures) or result.output
    # A credential (a login or a key), and every operation of the contract at least once (replays on top).
    assert result.requests >= 1 + len(operations) - (contract == "shop")  # the shop's key is one of its operations
    # Every request tested its status and its answer: none was skipped.
    assert result.assertions >= 2 * len(operations)
    report = junit.read_text()
    assert "<testcase" in report and "<failure" not in report
    assert "Bearer" not in result.output and "VillaTest123!" not in result.output  # no secret on the console
    assert SHOP["gateway_key"] not in result.output
    # The mock saw every operation answer its documented success, and nothing off-contract.
    journal = httpx.get(f"{mock.base_url}/__admin/journal", params={"limit": 1000}).json()["entries"]
    mine = [e for e in journal if e["contract"] == contract]
    answered = {e["operationId"] for e in mine if e["status"] == int(success(operations[e["operationId"]])[0])}
    assert answered == set(operations)
    assert [e for e in mine if e["requestViolations"] or e["responseViolations"]] == []


@pytest.mark.socket
@needs_node
def test_the_shop_collection_pays_one_order_on_the_gateway_page_and_another_by_the_callback(
    mock: RunningServer, tmp_path: Path
) -> None:
    result = run_collection(POSTMAN / collection_file("shop"), _environment(mock), tmp_path / "junit.xml")
    assert result.ok, "\n".join(result.failures) or result.output
    # The run's own orders, read back as the test user: both paid, each with the amount it was checked out for.
    with ShopClient(mock.base_url) as shop:
        user = USERS[0]
        shop.login(user["username"], user["password"])
        orders = shop.orders(page=1, page_size=10)["results"]
        assert [o["status"] for o in orders[:2]] == ["PROCESSING", "PROCESSING"]
        for order in orders[:2]:
            paid = [a for a in shop.attempts(order["order_key"]) if a["status"] == "PAID"]
            assert [a["amount"] for a in paid] == [int(order["total"].replace(".", ""))]
        assert shop.cart()["item_count"] == 0  # a successful payment deletes the cart


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
    for contract in load().apis:
        assert re.search(rf"{contract.name}: passed: \d+ requests, (\d+) of \1 assertions passed", result.output)
        assert (tmp_path / "r1" / f"newman-{contract.name}.xml").is_file()
    assert "shop: passed" in result.output


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


def test_a_real_backend_gets_the_account_the_shared_keys_and_cognito_only_when_a_collection_logs_in() -> None:
    dev = json.loads((POSTMAN / DEV_ENVIRONMENT).read_text())
    account = {"VILLA_TEST_USERNAME": "qa@example.com", "VILLA_TEST_PASSWORD": "pw"}
    keys = {"gatewayKey": "VILLA_SHOP_GATEWAY_KEY"}
    with pytest.raises(ConfigError, match="VILLA_COGNITO_CLIENT_ID"):
        target_environment(dev, "https://dev.example", account, keys=keys)
    shop_only = target_environment(dev, "https://dev.example", account, cognito=False, keys=keys)
    values = {v["key"]: v["value"] for v in shop_only["values"]}
    assert values["username"] == "qa@example.com" and values["gatewayKey"] == ""  # no key: the callback is skipped
    given = target_environment(dev, "https://dev.example", {**account, "VILLA_SHOP_GATEWAY_KEY": "s3cret"},
                               cognito=False, keys=keys)  # fmt: skip
    assert {v["key"]: v["value"] for v in given["values"]}["gatewayKey"] == "s3cret"
    with pytest.raises(ConfigError, match="VILLA_TEST_PASSWORD") as refused:
        target_environment(dev, "https://dev.example", {"VILLA_TEST_USERNAME": "qa"}, cognito=False)
    assert "COGNITO" not in str(refused.value)
