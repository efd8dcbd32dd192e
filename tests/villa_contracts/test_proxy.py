"""The proxy on real sockets: the mock as upstream, real HTTP clients through it, its reports and recording."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from click.testing import CliRunner

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from suites.flows.checkout import run_checkout
from suites.proxy.addon import ContractProxy
from suites.proxy.server import RunningProxy, start_proxy
from tests.fixtures.fault_toolkit import recording
from tests.fixtures.faults import serve_unbroken
from tests.fixtures.traffic import CVV, DECLINED_CARD, THREE_DS_CARD, deeply_nested, drive, failing_on_nesting
from villa_contracts.cli import cli
from villa_contracts.client import VillaClient
from villa_contracts.contract import default_contracts_dir
from villa_contracts.target import client_settings

pytestmark = pytest.mark.socket


@contextmanager
def proxy_for(upstream: str, tmp_path: Path, **settings: Any) -> Iterator[RunningProxy]:
    mode = settings.pop("mode", "reverse")
    chosen = {"villa_upstream": upstream, "villa_report_dir": str(tmp_path / "reports"), **settings}
    with start_proxy(
        ContractProxy(lambda verdict, new: None),
        upstream=upstream,
        mode=mode,
        confdir=tmp_path / "conf",
        settings=chosen,
    ) as proxy:
        yield proxy


def summary(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "reports" / "summary.json").read_text())


@dataclass
class Run:
    """The unbroken mock's traffic through a recording proxy: the flow, Postman-style requests."""

    tmp: Path
    summary: dict[str, Any]
    secrets: list[str]

    @property
    def recording(self) -> Path:
        return self.tmp / "recording"


@pytest.fixture(scope="module")
def unbroken_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    tmp = tmp_path_factory.mktemp("proxy")
    with serve_unbroken() as mock, proxy_for(mock, tmp, villa_record=str(tmp / "recording")) as proxy:
        # The SDK talks to Cognito directly (the ID token's issuer is the mock's own URL), the API through the proxy.
        settings, _ = client_settings(proxy.url, environ={"VILLA_COGNITO_ENDPOINT": mock})
        password = "Proxy-Flow-Secret-9zA"
        with VillaClient(settings) as client:
            flow = run_checkout(
                client, username="proxy.flow@villa.example", password=password, email="proxy.flow@villa.example",
                confirmation_code="123456", report=lambda step: None,
            )  # fmt: skip
            assert flow.ok, flow.failed
            tokens = client.tokens
            assert tokens is not None
            secrets = [password, tokens.id_token, tokens.access_token, tokens.refresh_token or ""]
        # A tester logging in through the proxy (Postman's Cognito request): a password and a secret hash go out,
        # tokens come back.
        through, _ = client_settings(proxy.url, environ={"VILLA_COGNITO_ENDPOINT": proxy.url})
        with VillaClient(through) as tester:
            logged_in = tester.login("proxy.flow@villa.example", password)
            secrets += [logged_in.id_token, logged_in.access_token, logged_in.refresh_token or ""]
        secrets.append(httpx.get(f"{mock}/__admin/cognito").json()["clientSecret"])
        secrets += drive(proxy.url).secrets
        admin = httpx.post(f"{proxy.url}/__admin/users/test.user@villa.example/tokens").json()
        secrets += [admin["IdToken"], admin["RefreshToken"], "VillaTest123!", "VillaTest456!"]
    return Run(tmp, summary(tmp), [s for s in secrets if s])


def test_the_unbroken_mocks_traffic_holds_and_coverage_lists_what_it_hit(unbroken_run: Run) -> None:
    data = unbroken_run.summary
    assert data["exitCode"] == 0 and data["failures"] == [] and data["tool"] == "villa-contracts proxy"
    assert data["warnings"] == []  # valid requests, and the tester's Cognito login: known traffic, not undocumented
    hit = {op for op, seen in data["operations"]["villa"].items() if seen["statuses"]}
    flow_ops = {"generateOrderId", "calculateGrandtotal", "getCost", "createOrder", "getOrder", "updateOrder",
                "createCardTokenDev", "createChargeDev", "threeDSecurePage", "threeDSecureSubmit",
                "verifyPaymentDev", "health"}  # fmt: skip
    assert hit == flow_ops
    assert data["operations"]["villa"]["getOrder"]["statuses"]["traffic"] == [200, 404]  # someone else's, a missing one
    assert data["operations"]["villa"]["generateOrderId"]["statuses"]["traffic"] == [200, 401]  # no token
    shop = data["operations"]["shop"]
    assert {op for op, seen in shop.items() if seen["statuses"]} == set(shop)  # the shop's traffic hits every one
    assert shop["getOrder"]["statuses"]["traffic"] == [200, 404]  # someone else's order
    assert shop["checkoutCart"]["statuses"]["traffic"] == [200, 400]  # an empty cart, someone else's address
    assert shop["paymentCallback"]["statuses"]["traffic"] == [200, 409]  # a wrong amount
    decided = {check for seen in shop.values() for check in seen["checks"]}
    oracle = {"cart_not_empty", "address_of_caller", "ownership", "exists", "paid_stays_paid",
              "one_payment_per_order", "cart_deleted_after_payment"}  # fmt: skip
    assert oracle <= decided  # the shop's oracle judged them, and they held
    lineitems = data["operations"]["lineitems"]
    assert {op for op, seen in lineitems.items() if seen["statuses"]} == set(lineitems)  # it hits every one
    assert lineitems["payLineItemOrder"]["statuses"]["traffic"] == [201, 404, 409]  # someone else's, a reused id
    assert lineitems["listLineItemOrdersJson"]["statuses"]["traffic"] == [200, 401]  # no token
    decided = {check for seen in lineitems.values() for check in seen["checks"]}
    gate = {"li_money", "li_states", "li_filters", "reference_once", "ownership"}
    assert gate <= decided  # the gate's line-item checks and the oracle judged them, and they held
    assert "li_stock" not in decided  # sound only for a backend's sole client: not the proxy's (SOLE_CLIENT)
    driven = ("villa.", "shop.", "lineitems.")  # the APIs the traffic drives; another API's operations are never hit
    skipped = {s["subject"] for s in data["phases"][0]["skipped"] if s["subject"].startswith(driven)}
    assert skipped == {"villa.createCardToken", "villa.createCharge", "villa.verifyPayment"}  # the prod paths
    html = (unbroken_run.tmp / "reports" / "index.html").read_text()
    assert "PASSED" in html and "villa-contracts proxy" in html and 'id="coverage"' in html


def test_a_500_to_deeply_nested_json_fails_the_run_and_nothing_is_left_unsaid(tmp_path: Path) -> None:
    with (
        serve_in_thread(lambda url: failing_on_nesting(create_app(base_url=url))) as server,
        proxy_for(server.base_url, tmp_path) as proxy,
    ):
        token = httpx.post(f"{server.base_url}/__admin/users/test.user@villa.example/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        answer = httpx.post(f"{proxy.url}/api/calculateCost/getCost", content=deeply_nested(600), headers=headers)
        assert answer.status_code == 500
    data = summary(tmp_path)
    assert data["exitCode"] == 1
    assert {(f["operation"], f["check"]) for f in data["failures"]} >= {("getCost", "not_a_server_error")}
    [server_error] = [f for f in data["failures"] if f["check"] == "not_a_server_error"]
    assert "500 to POST /api/calculateCost/getCost" in server_error["title"]
    assert [w["check"] for w in data["warnings"] if w["operation"] == "getCost"] == ["unjudged"]


def test_the_recording_holds_no_token_password_secret_card_or_cvv(unbroken_run: Run) -> None:
    files = [unbroken_run.recording / name for name in ("flows.mitm", "traffic.har", "recording.json")]
    text = b"".join(path.read_bytes() for path in files)
    leaked = [
        secret[:12] for secret in [*unbroken_run.secrets, THREE_DS_CARD, DECLINED_CARD] if secret.encode() in text
    ]
    assert not leaked
    har = json.loads(files[1].read_text())
    cards = [
        json.loads(e["request"]["postData"]["text"])["card"]
        for e in har["log"]["entries"]
        if "cardtoken" in e["request"]["url"]
    ]
    assert len(cards) == 3 and all(card["securityCode"] == "***" and "xxxxxx" in card["number"] for card in cards)
    assert f'"{CVV}"'.encode() not in text and b"eyJ" not in text
    logins = [e for e in har["log"]["entries"] if "InitiateAuth" in json.dumps(e["request"]["headers"])]
    sent = json.loads(logins[0]["request"]["postData"]["text"])["AuthParameters"]
    assert sent["PASSWORD"] == sent["SECRET_HASH"] == "[redacted]" and sent["USERNAME"] == "proxy.flow@villa.example"
    answered = json.loads(logins[0]["response"]["content"]["text"])["AuthenticationResult"]
    assert answered["IdToken"] == answered["RefreshToken"] == "[redacted]"
    assert {p.stat().st_mode & 0o777 for p in files} == {0o600}


def proxy_check(*args: str) -> tuple[int, str, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["proxy", "check", *args], env={"NO_COLOR": "1"})
    report = Path(args[args.index("--report-dir") + 1]) / "check" / "summary.json"
    return result.exit_code, result.output, json.loads(report.read_text()) if report.is_file() else {}


def verdicts(data: dict[str, Any]) -> dict[tuple[str, str, str], bool]:
    found = {}
    for contract, operations in data["operations"].items():
        for operation, seen in operations.items():
            for check, verdict in seen["checks"].items():
                found[(contract, operation, check)] = verdict == "passed"
    return found


def test_proxy_check_gives_the_live_verdicts_and_a_changed_contract_breaks_them(
    unbroken_run: Run, tmp_path: Path
) -> None:
    code, output, again = proxy_check(
        str(unbroken_run.recording), "--report-dir", str(tmp_path / "same"), "--run-id", "check"
    )
    assert code == 0, output
    assert verdicts(again) == verdicts(unbroken_run.summary) and again["counts"] == unbroken_run.summary["counts"]

    changed = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), changed)
    order = changed / "villa" / "schemas" / "order.yaml"
    schema = yaml.safe_load(order.read_text())
    schema["required"] = [*schema["required"], "specialComment"]  # a field made required
    order.write_text(yaml.safe_dump(schema, sort_keys=False))
    code, output, broken = proxy_check(
        str(unbroken_run.recording),
        "--contracts-dir",
        str(changed),
        "--report-dir",
        str(tmp_path / "new"),
        "--run-id",
        "check",
    )
    assert code == 1
    named = {(f["operation"], f["check"]) for f in broken["failures"]}
    assert ("createOrder", "response_schema_conformance") in named and (
        "getOrder",
        "response_schema_conformance",
    ) in named
    assert any("specialComment" in f["message"] for f in broken["failures"])
    assert '"specialComment" is a required property' in output


def test_on_prod_a_payment_never_reaches_the_upstream(tmp_path: Path) -> None:
    calls: list[tuple[str, str, Any]] = []
    with serve_in_thread(lambda url: recording(calls)(create_app(base_url=url))) as mock:
        with proxy_for(mock.base_url, tmp_path, villa_env="prod", villa_catalog="off") as proxy:
            body = {"orderId": "100026000001", "basketId": "b", "grandTotal": "174", "token": "tokn_test_1"}
            answers = [
                httpx.post(f"{proxy.url}{path}", json=body)
                for path in ("/api/payment3/charge", "/API/payment3/charge/")
            ]
            health = httpx.get(f"{proxy.url}/api/health")
    assert [a.status_code for a in answers] == [403, 403] and health.status_code == 200
    refusal = answers[0].json()
    assert refusal["code"] == "refused_by_proxy" and "--allow-prod-payments" in refusal["error"]
    assert [path for _, path, _ in calls] == ["/api/health"]  # the charges never left the proxy
    skipped = {s["subject"]: s["reason"] for s in summary(tmp_path)["phases"][0]["skipped"]}
    assert skipped["villa.createCharge"].startswith("2 request(s) refused by the prod payments fence")


def test_allowed_prod_payments_are_forwarded(tmp_path: Path) -> None:
    calls: list[tuple[str, str, Any]] = []
    with serve_in_thread(lambda url: recording(calls)(create_app(base_url=url))) as mock:
        settings = {"villa_env": "prod", "villa_allow_prod_payments": True, "villa_catalog": "off"}
        with proxy_for(mock.base_url, tmp_path, **settings) as proxy:
            assert httpx.post(f"{proxy.url}/api/payment3/charge", json={}).status_code == 401
    assert [path for _, path, _ in calls] == ["/api/payment3/charge"]


def test_regular_mode_checks_the_upstreams_traffic_only_with_its_ca_in_the_confdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with serve_unbroken() as mock, serve_unbroken() as other:
        with proxy_for(mock, tmp_path, mode="regular", villa_catalog="off") as proxy:
            with httpx.Client(proxy=proxy.url) as client:
                assert client.get(f"{mock}/api/health").status_code == 200
                assert client.get(f"{other}/api/health").status_code == 200  # passed on, not judged
            ca = proxy.ca_cert
    assert ca.is_file() and ca.parent == tmp_path / "conf" and not (tmp_path / "home" / ".mitmproxy").exists()
    data = summary(tmp_path)
    assert data["operations"]["villa"]["health"]["statuses"]["traffic"] == [200]
    assert sum(check["checks"] for check in data["phases"]) == len(data["operations"]["villa"]["health"]["checks"])


def test_stopping_frees_the_port_even_with_a_client_connected(tmp_path: Path) -> None:
    with serve_unbroken() as mock:
        proxy = start_proxy(
            ContractProxy(), upstream=mock, confdir=tmp_path / "conf", settings={"villa_upstream": mock}
        )
        client = httpx.Client(base_url=proxy.url)  # a kept-alive connection
        assert client.get("/api/health").status_code == 200
        proxy.stop()
        with pytest.raises(OSError):
            socket.create_connection((proxy.host, proxy.port), timeout=5)
        again = start_proxy(
            ContractProxy(),
            upstream=mock,
            listen_port=proxy.port,
            confdir=tmp_path / "conf",
            settings={"villa_upstream": mock},
        )
        with again:
            assert again.port == proxy.port and httpx.get(f"{again.url}/api/health").status_code == 200
        client.close()


def test_a_busy_port_is_one_line_oserror(tmp_path: Path) -> None:
    with socket.socket() as busy, serve_unbroken() as mock:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(OSError, match="address already in use") as caught:
            start_proxy(
                ContractProxy(),
                upstream=mock,
                listen_port=port,
                confdir=tmp_path / "c",
                settings={"villa_upstream": mock},
            )
    assert "\n" not in str(caught.value)


@pytest.mark.slow
def test_the_gate_via_the_proxy_writes_one_report_with_the_traffics_verdicts(tmp_path: Path) -> None:
    # One contract, without Schemathesis' coverage phase: every contract's whole run through the proxy, with no
    # failure and no warning, is the mode matrix's (test_modes); this one is about the report.
    args = ["gate", "--via-proxy", "--contract", "villa", "--phases", "lint,schemathesis", "--max-examples", "5"]
    args += ["--schemathesis-phases", "examples,fuzzing", "--seed", "1"]
    result = CliRunner().invoke(cli, [*args, "--no-progress", "--report-dir", str(tmp_path), "--run-id", "via"])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "via" / "summary.json").read_text())
    phases = {phase["name"]: phase for phase in data["phases"]}
    assert phases["traffic"]["status"] == "passed" and phases["traffic"]["checks"] > 100
    assert data["tool"] == "villa-contracts gate" and data["target"].startswith("http://127.0.0.1:")
    for operation, seen in data["operations"]["villa"].items():
        # Everything the gate sent went through the proxy and was judged there too (a 405 answers a method the
        # contract does not list: the proxy counts it under the first operation of the path).
        assert set(seen["statuses"]["schemathesis"]) - {405} <= set(seen["statuses"]["traffic"]), operation
    # Schemathesis's invalid requests, wrong methods and probes, the pacts' refused requests, the Cognito login:
    # known traffic, judged on the backend's answers, never the correct mock's warnings.
    assert [w["title"] for w in data["warnings"]] == []
