"""The proxy's run: fences, the ledger's events, reports written before a finding is told, the addon's options."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow

import suites.proxy.addon as addon_module
from suites.proxy.addon import ContractProxy
from suites.proxy.exchange import Exchange
from suites.proxy.fences import Pacer, PaymentFence
from suites.proxy.findings import Finding, Verdict
from suites.proxy.judge import TrafficJudge
from suites.proxy.ledger import Ledger, curl_of
from suites.proxy.recording import FLOWS, Recorder, read_recording
from suites.proxy.session import TrafficSession
from villa_contracts.contract import load
from villa_contracts.errors import UsageError
from villa_contracts.events import CheckFinished, Skipped

BOOM = json.dumps({"error": "boom"}).encode()


def getcost(status: int = 200, body: bytes = b"") -> Exchange:
    request = json.dumps({"branchId": "1000", "productList": []}).encode()
    headers = (("content-type", "application/json"),) if body else ()
    sent = (("content-type", "application/json"), ("authorization", "Bearer a.eyJzdWIiOiJ4In0.c"))
    return Exchange("POST", "/api/calculateCost/getCost", request_headers=sent,
                    request_body=request, status=status, response_headers=headers, response_body=body)  # fmt: skip


def new_session(tmp_path: Path, listener: Any = None, clock: Any = None) -> TrafficSession:
    judge = TrafficJudge(load(), ("villa",))
    ledger = Ledger(run_id="r", target="http://x", contracts=("villa",), operations=judge.operations(), started_at=0.0)
    kwargs = {"clock": clock} if clock is not None else {}
    return TrafficSession(judge, ledger, report_dir=tmp_path / "r", listener=listener, **kwargs)


# Fences.


@pytest.mark.parametrize(
    "path",
    [
        "/api/payment3/charge",
        "/API/Payment3/Charge/",
        "/api//payment3/charge",
        "/api/payment3/%63harge",
        "/api/payment3/charge;x",
    ],
)
def test_on_prod_every_spelling_of_a_payment_path_is_refused(path: str) -> None:
    fence = PaymentFence(load(), env="prod", allowed=False)
    refused = fence.refuses(path)
    assert refused is not None and refused.operation_id == "createCharge"
    assert fence.refuses("/api/order/get") is None


def test_the_fence_is_down_on_dev_and_when_prod_payments_are_allowed() -> None:
    assert PaymentFence(load(), env="dev", allowed=False).refuses("/api/payment3/charge") is None
    assert PaymentFence(load(), env="prod", allowed=True).refuses("/api/payment3/charge") is None


def test_the_pacer_spaces_requests_by_the_rate() -> None:
    now = [10.0]
    pacer = Pacer(4.0, clock=lambda: now[0])
    assert [pacer.delay() for _ in range(3)] == [0.0, 0.25, 0.5]
    now[0] = 20.0  # a quiet spell: the next one goes at once
    assert pacer.delay() == 0.0
    assert Pacer(None).delay() == 0.0


# The ledger and the session.


def test_the_ledger_is_the_gates_events_with_the_traffics_coverage(tmp_path: Path) -> None:
    session = new_session(tmp_path)
    session.handle(getcost(500, BOOM))
    session.handle(getcost(500, BOOM))
    session.refuse("villa", "createCharge", "refused on prod")
    events = session.ledger.run_events()
    checks = {(e.operation, e.check): e for e in events if isinstance(e, CheckFinished)}
    status = checks[("getCost", "status_code_conformance")]
    assert (status.passed, status.calls, status.statuses, status.contract) == (False, 2, (500,), "villa")
    assert "seen 2 times" in status.failures[0].message and status.failures[0].reproduction.startswith(
        "curl -sS -X POST"
    )
    assert checks[("getCost", "request_schema_conformance")].passed
    skipped = {e.subject: e.reason for e in events if isinstance(e, Skipped)}
    assert skipped["villa.createCharge"] == "1 request(s) refused on prod"
    assert skipped["villa.getOrder"] == "the traffic did not exercise it"


def test_a_warning_is_announced_once_per_operation_and_check_a_failure_every_time(tmp_path: Path) -> None:
    told: list[list[str]] = []
    session = new_session(tmp_path, listener=lambda verdict, new: told.append([f.check for f in new]))
    undocumented = Exchange("GET", "/nowhere", status=404)
    for _ in range(2):
        session.handle(undocumented)
        session.handle(getcost(500, BOOM))
    assert told == [
        ["undocumented"],
        ["status_code_conformance", "error_body", "not_a_server_error"],
        [],
        ["status_code_conformance", "error_body", "not_a_server_error"],
    ]
    [warning] = [e for e in session.ledger.run_events() if isinstance(e, CheckFinished) and e.check == "undocumented"]
    assert warning.warning and warning.contract == ""


def test_the_reports_hold_a_finding_before_anyone_is_told(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def listener(verdict: Verdict, new: list[Finding]) -> None:
        seen.append(json.loads((tmp_path / "r" / "summary.json").read_text()))

    session = new_session(tmp_path, listener)
    session.handle(getcost(500, BOOM))
    assert seen[0]["verdict"] == "INCOMPLETE" and {f["check"] for f in seen[0]["failures"]} == {
        "status_code_conformance",
        "error_body",
        "not_a_server_error",
    }
    record, paths = session.finish()
    assert record.exit_code == 1 and json.loads(paths["summary"].read_text())["tool"] == "villa-contracts proxy"
    assert "villa-contracts proxy" in paths["html"].read_text()


def test_quiet_traffic_is_written_every_few_seconds(tmp_path: Path) -> None:
    now = [0.0]
    session = new_session(tmp_path, clock=lambda: now[0])
    session.tick()
    summary = tmp_path / "r" / "summary.json"
    assert summary.is_file()
    answer = {"branchId": "1000", "productList": [], "deliveryFee": 0, "cartDiscount": 0, "cartDiscountInfo": []}
    ok = json.dumps({**answer, "couponCodeList": [], "subTotal": 0, "grandTotal": 0}).encode()
    session.handle(getcost(200, ok))
    assert json.loads(summary.read_text())["counts"]["checks"] == 0  # written a moment ago: not yet
    now[0] = 2.5
    session.tick()
    assert json.loads(summary.read_text())["counts"]["checks"] > 0


def test_nothing_seen_is_nothing_tested_exit_2(tmp_path: Path) -> None:
    record, _ = new_session(tmp_path).finish()
    assert record.exit_code == 2 and record.finish is not None and record.finish.reason == "nothing was tested"


# The recording.


def test_a_recording_is_new_and_a_truncated_one_is_read_up_to_the_cut(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "rec", {"upstream": "http://x"})
    for _ in range(2):
        recorder.add(tflow.tflow(resp=True))
    recorder.close()
    assert oct((tmp_path / "rec" / FLOWS).stat().st_mode & 0o777) == "0o600"
    assert len(json.loads((tmp_path / "rec" / "traffic.har").read_text())["log"]["entries"]) == 2
    with pytest.raises(UsageError, match="holds a recording already"):
        Recorder(tmp_path / "rec", {})
    flows = tmp_path / "rec" / FLOWS
    flows.write_bytes(flows.read_bytes()[:-40])  # a proxy killed while writing the second flow
    read = read_recording(tmp_path / "rec")
    assert len(read.flows) == 1 and "stopped after 1 flow" in read.problem and read.meta["upstream"] == "http://x"
    with pytest.raises(UsageError, match="holds no recording"):
        read_recording(tmp_path)


# The addon, as mitmproxy loads it.


def with_mitmproxy(addon: ContractProxy, body: Callable[[taddons.context], None]) -> None:
    """Run ``body`` in mitmproxy's test context, in a loop closed afterwards, leaving no log handler behind."""

    async def main() -> None:
        with taddons.context(addon) as context:
            try:
                body(context)
            finally:
                await context.master.done()  # takes mitmproxy's handler off the root logger

    asyncio.run(main())


def test_the_addon_file_ends_with_addons_and_declares_its_options_with_help() -> None:
    assert [type(a) for a in addon_module.addons] == [ContractProxy]

    def body(context: taddons.context) -> None:
        names = [name for name in context.options.keys() if name.startswith("villa_")]
        assert len(names) >= 10 and all(context.options._options[name].help for name in names)

    with_mitmproxy(ContractProxy(), body)


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ({"villa_upstream": "ftp://x"}, "is not an http"),
        ({"villa_upstream": "http://127.0.0.1:9", "villa_rate_limit": -1.0}, "villa_rate_limit"),
        ({"villa_upstream": "http://127.0.0.1:9", "villa_contracts": ["nope"]}, "no contract 'nope'"),
    ],
)
def test_configure_refuses_bad_options(setting: dict[str, Any], message: str) -> None:
    addon = ContractProxy()

    def body(context: taddons.context) -> None:
        with pytest.raises(exceptions.OptionsError, match=message):
            context.configure(addon, villa_catalog="off", **setting)

    with_mitmproxy(addon, body)


def test_configure_sets_up_a_run_from_the_reverse_proxys_target(tmp_path: Path) -> None:
    addon = ContractProxy()

    def body(context: taddons.context) -> None:
        context.options.update(mode=["reverse:http://127.0.0.1:9/base"])
        context.configure(addon, villa_catalog="off", villa_env="prod", villa_report_dir=str(tmp_path))

    with_mitmproxy(addon, body)
    assert addon.upstream == ("http", "127.0.0.1", 9, "/base") and addon.session is not None
    assert addon.fence is not None and addon.fence.active


def test_the_rate_limit_spaces_what_is_forwarded_and_a_refusal_never_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    addon = ContractProxy()

    def body(context: taddons.context) -> None:
        context.configure(addon, villa_upstream="http://127.0.0.1:9", villa_catalog="off", villa_env="prod")

    with_mitmproxy(addon, body)
    now = [0.0]
    addon.pacer = Pacer(4.0, clock=lambda: now[0])
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async def send(*paths: str) -> list[int | None]:
        flows = []
        for path in paths:
            flow = tflow.tflow()
            flow.request.host, flow.request.port, flow.request.path = "127.0.0.1", 9, path
            await addon.request(flow)
            flows.append(flow)
        return [flow.response.status_code if flow.response else None for flow in flows]

    monkeypatch.setattr(addon_module.asyncio, "sleep", sleep)
    answered = asyncio.run(send("/api/health", "/api/payment3/charge", "/api/health", "/api/order/get"))
    assert answered == [None, 403, None, None]  # forwarded, refused by the prod fence, forwarded, forwarded
    assert waits == [0.25, 0.5]


def test_a_reproduction_authenticates_as_its_api_does_with_the_tokens_variables() -> None:
    shop = Exchange(
        "POST",
        "/api/shop/payments/callback",
        request_headers=(("x-gateway-key", "mock-gateway-key-7f3a9c"), ("authorization", "Token " + "ab" * 20)),
    )
    line = curl_of(shop)
    assert '-H "X-Gateway-Key: $VILLA_SHOP_GATEWAY_KEY"' in line
    assert '-H "Authorization: Token $VILLA_SHOP_TOKEN"' in line
    assert "mock-gateway" not in line and "abab" not in line
    villa = curl_of(Exchange("GET", "/api/order/100026000001", request_headers=(("authorization", "Bearer x.y.z"),)))
    assert '-H "Authorization: Bearer $VILLA_ID_TOKEN"' in villa and "X-Gateway-Key" not in villa


def test_a_flow_the_proxy_cannot_read_or_record_is_still_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    addon = ContractProxy(lambda verdict, new: None)

    def body(context: taddons.context) -> None:
        context.configure(
            addon, villa_upstream="http://127.0.0.1:9", villa_catalog="off", villa_record=str(tmp_path / "rec")
        )

    with_mitmproxy(addon, body)

    def flow(status: int) -> Any:
        made = tflow.tflow(resp=True)
        made.request.scheme, made.request.host, made.request.port = "http", "127.0.0.1", 9
        made.request.method, made.request.path = "POST", "/api/order/get"
        made.response.status_code = status
        return made

    def unreadable(*args: object) -> None:
        raise ValueError("a flow from another world")

    def unrecordable(*args: object) -> None:
        raise OSError("disk full")

    assert addon.recorder is not None and addon.session is not None
    monkeypatch.setattr(addon.recorder, "add", unrecordable)
    addon.response(flow(200))  # not recorded (said in the log), judged all the same
    monkeypatch.setattr(addon_module, "seen_exchange", unreadable)
    addon.response(flow(502))
    found = {
        (e.operation, e.check): e.failures
        for e in addon.session.ledger.run_events()
        if isinstance(e, CheckFinished) and e.failures
    }
    assert [f.title for f in found[("getOrder", "unjudged")]] == [
        "request /: expected an exchange the proxy can judge, got the proxy could not read it: ValueError: "
        "a flow from another world"
    ]
    assert [f.title for f in found[("getOrder", "not_a_server_error")]] == [
        "response /: expected not a server error, got 502 to POST /api/order/get"
    ]
    assert ("getOrder", "auth_required") in found  # the unrecorded flow was judged: answered 200 without a token
