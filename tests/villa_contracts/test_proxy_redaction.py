"""What the proxy writes to disk holds no token, password, secret, card number or CVV."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pytest
from mitmproxy.io import FlowWriter
from mitmproxy.test import tflow

from suites.property.checks import caller_sub_of_headers
from suites.proxy.exchange import Exchange
from suites.proxy.flows import CARD_DATA_KEY, REDACTED_KEY, TYPED_KEY, exchange_of, redacted
from suites.proxy.judge import TrafficJudge
from suites.proxy.redaction import (
    card_pointers,
    json_type,
    scrub_authorization,
    scrub_headers,
    scrub_json,
    scrub_text,
    stand_in,
    token_key_pseudonym,
)
from villa_contracts.contract import load

SUB = "7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11"
PAYLOAD = base64.urlsafe_b64encode(json.dumps({"sub": SUB, "email": "a@b.c"}).encode()).decode().rstrip("=")
JWT = f"eyJhbGciOiJSUzI1NiJ9.{PAYLOAD}.c2lnbmF0dXJlLXZhbHVl"
SECRETS = ("VillaTest123!", "hash-of-the-secret", "the-client-secret", "c2lnbmF0dXJlLXZhbHVl", "4111111111111111")


def test_secrets_cards_and_cvvs_leave_a_json_body() -> None:
    body = {
        "AuthParameters": {"USERNAME": "u", "PASSWORD": "VillaTest123!", "SECRET_HASH": "hash-of-the-secret"},
        "clientSecret": "the-client-secret",
        "AuthenticationResult": {"IdToken": JWT, "ExpiresIn": 3600},
        "card": {"number": 4111111111111111, "securityCode": "987", "expirationMonth": "12"},
        "note": f"token={JWT}",
    }
    scrubbed, gone, cards = scrub_json(body)
    text = json.dumps(scrubbed)
    assert not any(secret in text for secret in SECRETS) and '"987"' not in text
    assert scrubbed["card"] == {"number": "411111xxxxxx1111", "securityCode": "***", "expirationMonth": "12"}
    assert scrubbed["AuthParameters"]["USERNAME"] == "u" and scrubbed["AuthenticationResult"]["ExpiresIn"] == 3600
    assert set(gone) == {"/AuthParameters/PASSWORD", "/AuthParameters/SECRET_HASH", "/clientSecret",
                         "/AuthenticationResult/IdToken", "/note", "/card/number", "/card/securityCode"}  # fmt: skip
    assert cards == ["/card/number", "/card/securityCode"]


def test_an_authorization_keeps_the_callers_sub_and_nothing_usable() -> None:
    kept = scrub_authorization(f"Bearer {JWT}")
    assert JWT not in kept and "eyJ" not in kept and kept.startswith("Bearer villa-redacted.")
    assert caller_sub_of_headers({"Authorization": kept}) == SUB  # owner_is_caller decides as it did live
    assert scrub_authorization("Basic dXNlcjpwYXNz") == "Basic [redacted]"


def test_a_shop_token_key_becomes_a_pseudonym_the_same_live_and_on_the_recording() -> None:
    key = "3f" * 20
    kept = scrub_authorization(f"Token {key}")
    assert key[:12] not in kept and kept.startswith("Token villa-redacted.")
    assert token_key_pseudonym(f"Token {key}") == token_key_pseudonym(kept) == kept.split(" ", 1)[1]
    assert token_key_pseudonym("Token " + "4e" * 20) != token_key_pseudonym(kept)
    assert token_key_pseudonym(f"Bearer {JWT}") is None and token_key_pseudonym("Token ") is None


def test_text_and_headers_lose_tokens_and_cards() -> None:
    text, had_secret, had_card = scrub_text(f"id={JWT}&password=hunter22&card=4111 1111 1111 1111")
    assert "hunter22" not in text and "eyJ" not in text and "411111xxxxxx1111" in text and had_secret and had_card
    headers, gone, cards = scrub_headers(
        [("Cookie", "session=abc"), ("X-Card", "4111111111111111"), ("Accept", "*/*"), ("X-Gateway-Key", "k-7f3a")]
    )
    assert headers == [
        ("Cookie", "[redacted]"), ("X-Card", "411111xxxxxx1111"), ("Accept", "*/*"), ("X-Gateway-Key", "[redacted]")
    ]  # fmt: skip
    assert gone == ["/headers/cookie", "/headers/x-card", "/headers/x-gateway-key"] and cards == ["/headers/x-card"]
    assert card_pointers({"maskedCardNo": "411111xxxxxx1111"}) == ()
    assert card_pointers("card 4111111111111111") == ("",)


def test_digits_of_a_number_are_masked_but_are_no_card_an_answer_showed() -> None:
    # Found by the gate's fuzzing through the proxy: a 409 quoting an amount whose digits are a Visa number's.
    answer = {"error": "grandTotal=4.111111111111111e-308 is not an amount", "paidAt": 1767139200.1234567890123}
    scrubbed, gone, cards = scrub_json(answer)
    assert "4.111111111111111" not in json.dumps(scrubbed) and gone == ["/error"] and cards == []
    # The digits of 1.1125369292536007e-308 start with no card scheme's IIN: they are no card number at all.
    assert scrub_json({"error": "1.1125369292536007e-308"}) == ({"error": "1.1125369292536007e-308"}, [], [])
    assert card_pointers({"error": "card 4111 1111 1111 1111."}) == ("/error",)


def test_a_number_shows_card_data_only_under_a_cards_name() -> None:
    # The gate's fuzzing sent 4947965714143484928 (Visa's IIN and length, Luhn's check) in an order's unknown
    # field; the order echoes it: masked in a recording, but no card number the backend showed.
    scrubbed, gone, cards = scrub_json({"qty": [4947965714143484928], "card": {"number": 4111111111111111}})
    assert scrubbed == {"qty": ["494796xxxxxxxxx4928"], "card": {"number": "411111xxxxxx1111"}}
    assert gone == ["/qty/0", "/card/number"] and cards == ["/card/number"]


def test_a_flow_is_redacted_in_a_copy_that_says_what_was_taken_out() -> None:
    flow = tflow.tflow(resp=True)
    flow.request.path = "/api/payment3devapi/cardtoken?access_token=qz-access-token&x=1"
    flow.request.headers["Authorization"] = f"Bearer {JWT}"
    flow.request.headers["Content-Type"] = "application/json"
    flow.request.content = json.dumps({"card": {"number": "4111111111111111", "securityCode": "987"}}).encode()
    flow.response.headers["Content-Type"] = "application/json"
    flow.response.headers["Set-Cookie"] = "session=s3cr3t"
    flow.response.content = json.dumps({"maskedCardNo": "4111111111111111", "cardToken": "tokn_test_1"}).encode()
    copy = redacted(flow)
    written = io.BytesIO()
    FlowWriter(written).add(copy)  # exactly what a recording holds
    # Quoted where a bare value could also be part of a random flow id.
    found = [
        s
        for s in ("4111111111111111", '"987"', "qz-access-token", "s3cr3t", JWT, "tokn_test_1")
        if s.encode() in written.getvalue()
    ]
    assert not found and b"411111xxxxxx1111" in written.getvalue()
    assert flow.request.headers["Authorization"] == f"Bearer {JWT}"  # the live flow is left alone
    assert set(copy.metadata[REDACTED_KEY]) >= {
        "/request/query/access_token",
        "/request/headers/authorization",
        "/request/body/card/number",
        "/request/body/card/securityCode",
        "/response/headers/set-cookie",
        "/response/body/maskedCardNo",
        "/response/body/cardToken",
    }
    assert copy.metadata[CARD_DATA_KEY] == ["/maskedCardNo"]
    exchange = exchange_of(copy)
    assert exchange is not None and exchange.card_data == ("/maskedCardNo",)
    assert "/request/body/card/number" in exchange.redacted
    assert exchange_of(copy, "/elsewhere") is None


ORDER = {"orderId": "100026000001", "basketId": SUB, "grandTotal": "174"}
CARD = {"number": "4111111111111111", "expirationMonth": "12", "expirationYear": "2030"}


@pytest.mark.parametrize(
    ("op", "body", "pointer"),
    [
        ("createCardTokenDev", {**ORDER, "userId": SUB, "card": {**CARD, "securityCode": ["123", None]}},
         "/card/securityCode"),
        ("createCardTokenDev", {**ORDER, "userId": SUB, "card": {**CARD, "securityCode": 123}}, "/card/securityCode"),
        ("createChargeDev", {**ORDER, "token": ["tokn_test_1", None]}, "/token"),
    ],
    ids=["cvv-array", "cvv-number", "token-array"],
)  # fmt: skip
def test_a_secret_of_the_wrong_type_is_judged_again_as_it_was_live(op: str, body: Any, pointer: str) -> None:
    # Live, the type is wrong and the backend refuses it (400); redacted to a string it would look acceptable,
    # and a re-check of the recording would blame a correct backend (refused_as_declared).
    operation = load()["villa"].operation(op)
    flow = tflow.tflow(resp=True)
    flow.request.method, flow.request.path = operation.method, operation.path
    flow.request.headers["Authorization"] = f"Bearer {JWT}"
    flow.request.headers["Content-Type"] = "application/json"
    flow.request.content = json.dumps(body).encode()
    flow.response.status_code = 400
    flow.response.headers["Content-Type"] = "application/json"
    details = [{"pointer": pointer, "message": "wrong type"}]
    answer = {"error": f"request of {op} is invalid", "code": "invalid_request", "details": details}
    flow.response.content = json.dumps(answer).encode()
    copy = redacted(flow)
    assert "123" not in copy.request.get_text() and "tokn_test_1" not in copy.request.get_text()
    assert f"/request/body{pointer}" in copy.metadata[TYPED_KEY]
    judge = TrafficJudge(load(), ("villa",))

    def failed(exchange: Exchange | None) -> set[str]:
        assert exchange is not None
        verdict = judge.judge(exchange)
        return {check for check, findings in verdict.judged if any(not f.warning for f in findings)}

    live, again = failed(exchange_of(flow)), failed(exchange_of(copy))
    assert live == again == set(), (live, again)


def test_a_stand_in_keeps_the_json_type_and_nothing_else() -> None:
    assert [json_type(stand_in(v, "***")) for v in ("987", 987, 9.5, 9.0, [1], {"a": 1}, True)] == [
        "string", "integer", "number", "integer", "array", "object", "boolean"]  # fmt: skip
    assert stand_in(["4111111111111111"], "***") == ["***"] and stand_in({"cvv": "987"}, "***") == {}
