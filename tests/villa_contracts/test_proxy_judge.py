"""The proxy's judge on hand-made exchanges: operations, schemas, the gate's checks and the domain's predictions."""

from __future__ import annotations

import base64
import copy
import dataclasses
import json
from email.utils import formatdate
from typing import Any

import pytest

from suites.proxy.exchange import Exchange, parse_body, path_parameters
from suites.proxy.findings import Verdict, finding_line
from suites.proxy.judge import SCHEMA_CHECKS, TrafficJudge
from tests.fixtures.traffic import deeply_nested
from villa_contracts.contract import load
from villa_contracts.domain.orders import UNPAID_EXPIRY_SECONDS as EXPIRY

ALICE, BOB = "7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11", "2f9e4b7a-6c1d-4e83-a5b0-9d3c7e1f4a22"
ORDER_ID = "100026000001"


def token(sub: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps({"sub": sub}).encode()).decode().rstrip("=")
    return f"Bearer header.{payload}.signature"


def exchange(
    op: str,
    body: Any = None,
    status: int | None = 200,
    answer: Any = None,
    *,
    caller: str | None = ALICE,
    path: str | None = None,
    content_type: str = "application/json",
    raw: bytes | None = None,
    redacted: frozenset[str] = frozenset(),
) -> Exchange:
    operation = load()["villa"].operation(op)
    headers = [("authorization", token(caller))] if caller else []
    if body is not None:
        headers.append(("content-type", "application/json"))
    answered = raw if raw is not None else (json.dumps(answer).encode() if answer is not None else b"")
    return Exchange(
        method=operation.method,
        path=path or operation.path,
        request_headers=tuple(headers),
        request_body=json.dumps(body).encode() if body is not None else b"",
        status=status,
        response_headers=(("content-type", content_type),) if answered else (),
        response_body=answered,
        redacted=redacted,
    )


def stored(owner: str = ALICE, *, paid: bool = False, quantity: int = 1) -> dict[str, Any]:
    doc = copy.deepcopy(load()["villa"].openapi["components"]["examples"]["StoredOrder"]["value"])
    doc["ownerId"] = doc["basketId"] = owner
    doc["productList"][0].update(quantity=quantity, rowTotal=79.0 * quantity, settlementPrice=79.0 * quantity)
    doc["payment"].update(subTotal=79.0 * quantity, grandTotal=79.0 * quantity + 95)
    if paid:
        doc["payment"].update(isPaid=True, status="PAID", totalPaid=doc["payment"]["grandTotal"], gbpReferenceNo="c")
    return doc


def request_of(doc: dict[str, Any]) -> dict[str, Any]:
    keep = ("orderId", "ownerId", "basketId", "branchId")
    return {
        **{k: doc[k] for k in keep},
        "productList": [{"cprcode": 25281, "quantity": doc["productList"][0]["quantity"]}],
    }


def failures(verdict: Verdict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for check, findings in verdict.judged:
        for finding in findings:
            if not finding.warning:
                found.setdefault(check, []).append(finding.pointer)
    return found


@pytest.fixture
def judge() -> TrafficJudge:
    return TrafficJudge(load(), ("villa",))


def test_a_valid_exchange_holds_every_check(judge: TrafficJudge) -> None:
    verdict = judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    assert (verdict.contract, verdict.operation, verdict.label) == ("villa", "createOrder", "POST /api/order/create")
    names = [check for check, _ in verdict.judged]
    assert set(SCHEMA_CHECKS) | {"grand_total", "owner_is_caller", "card_masked", "paid_stays_paid"} <= set(names)
    assert "foreign_order_hidden" not in names  # it would send requests: the proxy only watches
    assert "unique_order_ids" not in names  # generateOrderId's answers are its business, not createOrder's
    assert not verdict.findings


def test_an_exchange_of_no_operation_is_undocumented_a_warning(judge: TrafficJudge) -> None:
    verdict = judge.judge(Exchange("GET", "/api/order/history", status=404))
    assert verdict.contract == "" and verdict.operation == "GET /api/order/history"
    assert [f.check for f in verdict.findings] == ["undocumented"] and not verdict.failed
    assert finding_line(verdict, verdict.findings[0]).startswith("GET /api/order/history → 404 · undocumented")


def test_other_contracts_are_left_alone_and_an_unanswered_request_is_a_warning_that_says_why(
    judge: TrafficJudge,
) -> None:
    admin = judge.judge(Exchange("POST", "/__admin/reset", status=200))
    assert admin.contract == "admin" and not admin.judged and "not checked" in admin.note
    lost = judge.judge(Exchange("POST", "/api/order/get", error="peer closed connection without sending response"))
    assert lost.name == "villa.getOrder" and not lost.failed
    [finding] = lost.findings
    assert (
        finding.check == "unjudged"
        and finding.warning
        and "no answer from the upstream: peer closed" in finding.message
    )


@pytest.mark.parametrize(("status", "failed"), [(400, False), (200, True)])
def test_an_invalid_request_is_the_clients_warning_unless_the_backend_accepts_it(
    judge: TrafficJudge, status: int, failed: bool
) -> None:
    answer = stored() if status == 200 else {"error": "bad", "code": "invalid_request", "details": []}
    body = {**request_of(stored()), "productList": [{"cprcode": 25281, "quantity": 0}]}
    verdict = judge.judge(exchange("createOrder", body, status, answer))
    [finding] = [f for f in verdict.findings if f.where == "request"]
    assert finding.pointer == "/productList/0/quantity" and finding.warning is not failed and verdict.failed is failed
    assert finding.check == ("negative_data_rejection" if failed else "request_schema_conformance")


def test_path_and_query_parameters_are_validated(judge: TrafficJudge) -> None:
    answer = {"error": "x", "code": "invalid_request", "details": []}
    verdict = judge.judge(exchange("threeDSecurePage", None, 400, answer, caller=None, path="/mock/3ds/nope"))
    assert [f.pointer for f in verdict.findings] == ["/path/chargeId"]
    assert path_parameters("/mock/3ds/{chargeId}", "/mock/3ds/chrg_test_a%2Fb") == {"chargeId": "chrg_test_a/b"}


def test_an_undocumented_status_or_media_type_is_named(judge: TrafficJudge) -> None:
    update = request_of(stored())
    assert failures(judge.judge(exchange("updateOrder", update, 202, stored()))) == {"status_code_conformance": [""]}
    text = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored(), content_type="text/plain"))
    assert failures(text) == {"content_type_conformance": [""]}


def test_an_error_answer_must_have_the_contracts_error_shape(judge: TrafficJudge) -> None:
    boom = judge.judge(exchange("getCost", {"branchId": "1000", "productList": []}, 500, {"error": "boom"}))
    assert failures(boom) == {"status_code_conformance": [""], "error_body": [""], "not_a_server_error": [""]}
    page = b"<html><body><h1>404 Not Found</h1></body></html>"
    html = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 404, raw=page, content_type="text/html"))
    assert set(failures(html)) == {"content_type_conformance", "error_body"}


def test_a_secured_operation_answering_without_a_token_fails_auth_required(judge: TrafficJudge) -> None:
    served = judge.judge(exchange("generateOrderId", {"branchId": "1000"}, 200, {"orderId": ORDER_ID}, caller=None))
    assert failures(served) == {"auth_required": ["/headers/authorization"]}
    answer = {"error": "no token", "code": "unauthorized", "details": []}
    refused = judge.judge(exchange("generateOrderId", {"branchId": "1000"}, 401, answer, caller=None))
    assert not refused.failed


def test_the_gates_business_checks_judge_the_answer_with_a_pointer(judge: TrafficJudge) -> None:
    body = {"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]}
    answer = {"branchId": "1000", "currency": "THB", "couponCodeList": [], "subTotal": 79.0, "deliveryFee": 95.0,
              "cartDiscount": 0.0, "couponDiscount": 0.0, "grandTotal": 174.01,
              "productList": [{"cprcode": 25281, "productName": "Milk", "quantity": 1, "originalPrice": 79.0,
                               "price": 79.0, "settlementPrice": 79.0, "discount": 0.0, "rowTotal": 79.0}]}  # fmt: skip
    verdict = judge.judge(exchange("calculateGrandtotal", body, 200, answer))
    assert failures(verdict) == {"grand_total": ["/grandTotal"]}
    assert "174.01" in verdict.findings[0].summary


def test_an_answer_showing_a_card_number_fails_card_masked(judge: TrafficJudge) -> None:
    body = {"orderId": ORDER_ID, "basketId": ALICE, "grandTotal": "174"}
    answer = {"cardToken": "tokn_test_1", "orderId": ORDER_ID, "maskedCardNo": "5149500000009007", "brand": "M",
              "expiresAt": 1}  # fmt: skip
    verdict = judge.judge(exchange("createCardTokenDev", body, 200, answer))
    assert failures(verdict) == {"response_schema_conformance": ["/maskedCardNo"], "card_masked": ["/maskedCardNo"]}
    assert "5149500000009007" not in finding_line(verdict, verdict.findings[0])


def test_values_a_recording_redacted_are_not_judged_again(judge: TrafficJudge) -> None:
    body = {"orderId": ORDER_ID, "basketId": ALICE, "grandTotal": "174", "card": {"number": "514950xxxxxx9007",
            "expirationMonth": "12", "expirationYear": "2030", "securityCode": "***"}}  # fmt: skip
    answer = {"cardToken": "[redacted]", "orderId": ORDER_ID, "maskedCardNo": "514950xxxxxx9007", "brand": "M",
              "expiresAt": 1}  # fmt: skip
    live = judge.judge(exchange("createCardTokenDev", body, 200, answer))
    assert set(failures(live)) == {"negative_data_rejection", "response_schema_conformance"}
    gone = frozenset({"/request/body/card/number", "/request/body/card/securityCode", "/response/body/cardToken"})
    assert not judge.judge(exchange("createCardTokenDev", body, 200, answer, redacted=gone)).findings


# The domain's predictions, from what the proxy saw before.


def test_someone_elses_order_answered_fails_ownership(judge: TrafficJudge) -> None:
    judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    verdict = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored(), caller=BOB))
    assert failures(verdict) == {"owner_is_caller": ["/ownerId"], "ownership": ["/orderId"]}


def test_an_order_seen_is_never_answered_404_to_its_owner(judge: TrafficJudge) -> None:
    judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    missing = {"error": "gone", "code": "not_found", "details": []}
    assert failures(judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing))) == {"exists": ["/orderId"]}
    other = {"error": "no token", "code": "not_found", "details": [{"pointer": "/token", "message": "unknown"}]}
    charge = {"orderId": ORDER_ID, "basketId": ALICE, "grandTotal": "174", "token": "tokn_test_x"}
    assert not judge.judge(exchange("createChargeDev", charge, 404, other)).failed  # the 404 is about the token


def dated(ex: Exchange, when: float) -> Exchange:
    return dataclasses.replace(ex, response_headers=(*ex.response_headers, ("date", formatdate(when, usegmt=True))))


def test_an_unpaid_order_may_be_gone_once_the_backends_clock_is_past_its_expiry(judge: TrafficJudge) -> None:
    created = stored()["orderDate"]
    judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    missing = {"error": "gone", "code": "not_found", "details": []}
    early = dated(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing), created + EXPIRY - 60)
    assert failures(judge.judge(early)) == {"exists": ["/orderId"]}  # the backend's clock: not yet
    late = dated(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing), created + EXPIRY)
    assert not judge.judge(late).failed
    assert not judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing)).failed  # forgotten


def test_a_paid_order_is_never_gone_whatever_the_backends_clock(judge: TrafficJudge) -> None:
    judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored(paid=True)))
    missing = {"error": "gone", "code": "not_found", "details": []}
    late = dated(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing), stored()["orderDate"] + 10 * EXPIRY)
    assert failures(judge.judge(late)) == {"exists": ["/orderId"]}


def test_a_paid_order_changed_with_200_fails_paid_stays_paid(judge: TrafficJudge) -> None:
    judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored(paid=True)))
    verdict = judge.judge(exchange("updateOrder", request_of(stored(quantity=2)), 200, stored(quantity=2)))
    assert "paid_stays_paid" in failures(verdict)


def test_an_order_for_another_owner_created_with_200_fails_owner_is_caller(judge: TrafficJudge) -> None:
    doc = stored(owner=BOB)
    verdict = judge.judge(exchange("createOrder", request_of(doc), 200, doc))
    assert failures(verdict)["owner_is_caller"] == ["/ownerId", "/ownerId"]  # the domain's and the gate's


def test_a_lost_write_fails_stored_document_and_paying_elsewhere_does_not(judge: TrafficJudge) -> None:
    judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    judge.judge(exchange("updateOrder", request_of(stored(quantity=2)), 200, stored(quantity=2)))
    stale = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored()))
    assert failures(stale) == {"stored_document": [""]}
    judge.judge(exchange("updateOrder", request_of(stored(quantity=2)), 200, stored(quantity=2)))
    paid_meanwhile = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored(quantity=2, paid=True)))
    assert not paid_meanwhile.failed


def test_an_amount_other_than_the_grand_total_charged_with_200_fails(judge: TrafficJudge) -> None:
    judge.judge(exchange("createOrder", request_of(stored()), 200, stored()))
    body = {"orderId": ORDER_ID, "basketId": ALICE, "grandTotal": "100.00"}
    answer = {"cardToken": "tokn_test_1", "orderId": ORDER_ID, "maskedCardNo": "411111xxxxxx1111", "brand": "V",
              "expiresAt": 1}  # fmt: skip
    assert failures(judge.judge(exchange("createCardTokenDev", body, 200, answer))) == {
        "amount_must_match": ["/grandTotal"]
    }


def test_orders_never_seen_are_not_judged(judge: TrafficJudge) -> None:
    missing = {"error": "gone", "code": "not_found", "details": []}
    verdict = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 404, missing))
    assert not verdict.findings and "exists" not in dict(verdict.judged)


def test_bodies_are_read_as_the_mock_reads_them() -> None:
    assert parse_body(b'{"a": 1}', "application/x-amz-json-1.1").kind == "json"
    assert parse_body(b"action=complete", "application/x-www-form-urlencoded").value == {"action": "complete"}
    assert parse_body(b"{", "application/json").kind == "invalid"
    assert parse_body(b"\xff\xfe", "image/png").kind == "binary"
    assert parse_body(b"", "application/json").kind == "empty"


# What the proxy cannot judge it says (a warning); a server error is never hidden (a failure).


def getcost(
    raw: bytes, status: int, answer: bytes, *, schemathesis: bool = False, media: str = "text/plain"
) -> Exchange:
    sent = [("content-type", "application/json"), ("authorization", token(ALICE))]
    if schemathesis:
        sent.append(("x-schemathesis-testcaseid", "aB3"))
    return Exchange("POST", "/api/calculateCost/getCost", request_headers=tuple(sent), request_body=raw,
                    status=status, response_headers=(("content-type", media),), response_body=answer)  # fmt: skip


def unjudged(verdict: Verdict) -> list[str]:
    return [f.message.splitlines()[-1] for f in verdict.findings if f.check == "unjudged" and f.warning]


# 600 levels parse, but no schema validator walks them; 5000 are deeper than the JSON parser goes.
@pytest.mark.parametrize("depth", [600, 5000])
def test_a_500_to_deeply_nested_json_fails_and_says_the_request_was_not_validated(
    judge: TrafficJudge, depth: int
) -> None:
    verdict = judge.judge(getcost(deeply_nested(depth), 500, b"Internal Server Error"))
    assert verdict.failed and "not_a_server_error" in failures(verdict)
    [server_error] = [f for f in verdict.findings if f.check == "not_a_server_error"]
    assert server_error.summary == "expected not a server error, got 500 to POST /api/calculateCost/getCost"
    [why] = unjudged(verdict)
    assert why.startswith("got: the request was not validated")


@pytest.mark.parametrize("depth", [600, 5000])
def test_deeply_nested_json_answered_2xx_is_a_warning_and_refused_by_schemathesis_is_nothing(
    judge: TrafficJudge, depth: int
) -> None:
    answer = json.dumps({"error": "too deep", "code": "invalid_request", "details": []}).encode()
    refused = judge.judge(getcost(deeply_nested(depth), 400, answer, schemathesis=True, media="application/json"))
    assert not refused.findings  # the fuzzer's probe, rightly refused
    accepted = judge.judge(getcost(deeply_nested(depth), 200, b"{}", media="application/json"))
    assert unjudged(accepted)
    assert not {"request_schema_conformance", "negative_data_rejection"} & set(dict(accepted.judged))  # not decided


def test_an_unparseable_answer_fails_its_schema_and_a_bare_502_fails_as_a_server_error(judge: TrafficJudge) -> None:
    body = json.dumps({"branchId": "1000", "productList": [{"cprcode": 25281, "productName": "M", "quantity": 1}]})
    cut = judge.judge(getcost(body.encode(), 200, b'{"productList": [', media="application/json"))
    assert failures(cut) == {"response_schema_conformance": [""]}
    assert "not valid JSON" in cut.findings[0].message
    gateway = judge.judge(getcost(body.encode(), 502, b"<html>Bad Gateway</html>", media="text/html"))
    assert {"not_a_server_error", "status_code_conformance"} <= set(failures(gateway))


def test_an_answer_too_large_to_read_is_a_warning_that_says_so(
    judge: TrafficJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("suites.proxy.exchange.MAX_PARSED", 64)
    verdict = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored()))
    assert not verdict.failed and unjudged(verdict) == [
        f"got: the answer was not validated: the answer's body was not read: it is {len(json.dumps(stored()))} "
        "bytes, over the 64 the proxy reads"
    ]


def test_a_check_that_cannot_decide_is_a_warning_and_the_other_checks_still_judge(
    judge: TrafficJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    from suites.proxy.villa_oracle import VillaOracle

    def confused(self: VillaOracle, seen: object) -> dict[str, list[object]]:
        raise KeyError("payment")

    monkeypatch.setattr(VillaOracle, "judge", confused)
    doc = stored(owner=BOB)
    verdict = judge.judge(exchange("createOrder", request_of(doc), 200, doc))
    assert unjudged(verdict) == ["got: VillaOracle could not decide: KeyError: 'payment'"]
    assert failures(verdict) == {"owner_is_caller": ["/ownerId"]}  # the gate's check still judged it


def test_a_judge_that_fails_altogether_says_so_and_a_5xx_still_fails(
    judge: TrafficJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(judge, "_operation", broken)
    ok = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 200, stored()))
    assert ok.name == "villa.getOrder" and not ok.failed
    assert unjudged(ok) == ["got: the proxy failed to judge it: RecursionError: maximum recursion depth exceeded"]
    boom = judge.judge(exchange("getOrder", {"orderId": ORDER_ID}, 503, {"error": "down"}))
    assert failures(boom) == {"not_a_server_error": [""]} and unjudged(boom)


def test_a_documented_503_is_the_contracts_answer_and_a_500_is_always_a_server_error() -> None:
    judge = TrafficJudge(load(), ("villa", "shop"))
    body = {"orderId": ORDER_ID, "basketId": ALICE, "grandTotal": "174.00", "token": "tokn_test_1"}
    down = {"error": "payment gateway unavailable; nothing was charged", "code": "gateway_unavailable", "details": []}
    assert not judge.judge(exchange("createChargeDev", body, 503, down)).failed
    shop = load()["shop"].operation("checkoutCart")
    sent = (("content-type", "application/json"), ("authorization", "Token " + "ab" * 20))
    checkout = Exchange(
        "POST", shop.path, request_headers=sent,
        request_body=b'{"address": 1, "payment_method": 1, "shipping_method": 2}', status=500,
        response_headers=(("content-type", "application/json"),), response_body=b'{"error": "mock bug"}',
    )  # fmt: skip
    assert failures(judge.judge(checkout)) == {"not_a_server_error": [""]}  # documented, and still a server error
