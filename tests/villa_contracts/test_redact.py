"""Redaction of text (logs, journals, reports, reproductions): no card number, CVV, password, token or key survives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villa_contracts import redact as redact_module
from villa_contracts.domain.cards import mask as mask_card
from villa_contracts.redact import (
    _hide_keyed,
    _mask_cards,
    holds_card_number,
    plainly_clean,
    redact,
    redact_reproduction,
)

KEY = "0123456789abcdef0123456789abcdef01234567"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhYmMifQ.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"card": {"number": "4111111111111111", "securityCode": "987"}}',
         '{"card": {"number": "411111xxxxxx1111", "securityCode": "***"}}'),
        ('{"card_code": 987, "csc": "987", "cvn": "987", "security-code": "987", "CID": "9876"}',
         '{"card_code": ***, "csc": "***", "cvn": "***", "security-code": "***", "CID": "***"}'),
        ("cvv=987&card_code=987&number=4111.1111.1111.1111", "cvv=***&card_code=***&number=411111xxxxxx1111"),
        ("X-Card-CVV: 987", "X-Card-CVV: ***"),
        ('{"password": "a\\"b", "x": 1}', '{"password": "***", "x": 1}'),
        ('{"password": "pa"ss-tail", "username": "u"', '{"password": "***", "username": "u"'),
        ('{"password": "pa"ss-tail', '{"password": "***'),
        ("{'password': 'hunter2', 'x': 1}", "{'password': '***', 'x': 1}"),
        (f"GET /api/shop/orders?token={KEY}&page=2", "GET /api/shop/orders?token=***&page=2"),
        (f"Authorization: Token {KEY}", "Authorization: Token ***"),
        (f"token {JWT} here", "token *** here"),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer ***"),
        ('"X-Gateway-Key": "k-7f3a", "apiKey": "ak-1", "Cookie": "session=s3"',
         '"X-Gateway-Key": "***", "apiKey": "***", "Cookie": "***"'),
        ("note: 'pay with password=hunter2 please'", "note: 'pay with password=*** please'"),
        ("card ４１１１１１１１１１１１１１１１ and ٤١١١ ١١١١ ١١١١ ١١١١", "card 411111xxxxxx1111 and 411111xxxxxx1111"),
        ("zip 0000000000000000000, order 12345678901234567890", "zip 0000000000000000000, order 12345678901234567890"),
    ],
)  # fmt: skip
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert redact(expected) == expected  # redacting twice changes nothing


@pytest.mark.parametrize(
    "message",
    [
        "password: '***' is too short",  # a violation message keeps what it says about the value
        "request /query/token: expected a request the contract accepts, got /query/token: unknown query parameter",
    ],
)
def test_prose_about_a_secret_keeps_its_words(message: str) -> None:
    assert redact(message) == message
    assert redact("password: 'hunter2' is too short") == "password: '***' is too short"


def test_a_reproduction_reads_test_cards_and_cvvs_from_variables_and_keeps_its_own() -> None:
    command = (
        f'curl -sS -X POST "$VILLA_BASE_URL"\'/api/x?token={KEY}\' -H "Authorization: Bearer $VILLA_ID_TOKEN" '
        '-H "X-Gateway-Key: $VILLA_SHOP_GATEWAY_KEY" '
        """-d '{"number":"4111111111111111","securityCode":"987","other":"5105 1051 0510 5100"}'"""
    )
    assert redact_reproduction(command) == (
        'curl -sS -X POST "$VILLA_BASE_URL"\'/api/x?token=***\' -H "Authorization: Bearer $VILLA_ID_TOKEN" '
        '-H "X-Gateway-Key: $VILLA_SHOP_GATEWAY_KEY" '
        """-d '{"number":"'"$VILLA_CARD_1111"'","securityCode":"'"$VILLA_CARD_CVV"'","other":"510510xxxxxx5100"}'"""
    )


def test_a_test_card_that_fails_luhn_is_masked_all_the_same() -> None:
    assert holds_card_number("card 5149500000009007") and redact("5149500000009007") == "514950xxxxxx9007"
    assert not holds_card_number("") and not holds_card_number("zip 0000000000000000000")


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        # A form body as `curl -d` sends it (a raw quote, not %22): the tail behind the quote leaked into reports.
        ('username=u&password=pa"ss-QZX7tailC', "username=u&password=***"),
        ("curl -d 'username=u&password=pa\"ss-QZX7tailC' http://x", "curl -d 'username=u&password=***' http://x"),
        ("x=1&password=p'q'QZX7tail&y=2", "x=1&password=***&y=2"),
        ('Authorization: Bearer ab"QZX7tail rest', "Authorization: Bearer *** rest"),
        # A quote that ends what the value stands in still ends it.
        ("-d 'password=abc' next", "-d 'password=***' next"),
        ('password="quoted"&a=1', 'password="***"&a=1'),
    ],
)
def test_a_quote_inside_a_bare_secret_leaves_no_tail(text: str, redacted: str) -> None:
    assert redact(text) == redacted
    assert "QZX7tail" not in redact(text)


_TEXT = st.lists(
    st.sampled_from([*"0123456789４١٣ -./_%:=\"'{}eyJTokn abcxyz\u200b\uff0d", "Token ", "eyJ", "4111", "2B"]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_text_the_quick_look_passes_is_text_the_full_reading_leaves_alone(text: str) -> None:
    # The quick look (plainly_clean) may only skip what the full reading would not change.
    if plainly_clean(text):
        assert _mask_cards(_hide_keyed(text), mask_card) == text


def test_the_quick_look_reads_whatever_may_hold_a_secret_in_full() -> None:
    assert plainly_clean("/api/order/get") and plainly_clean("/api/shop/orders/ORD-12345/pay")
    for text in (
        "/api/x/4111 1111 1111 1111",
        "/x/４１１１１１１１１１１１１１１１",
        "a=b",
        "Authorization: x",
        "eyJhbGciOi",
    ):
        assert not plainly_clean(text), text
    assert redact("/api/cards/4111.1111.1111.1111/x") == "/api/cards/411111xxxxxx1111/x"


def test_a_test_card_shorter_than_any_issued_one_is_still_read_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redact_module, "known_test_cards", lambda: frozenset({"123456789012"}))
    redact_module._fewest_digits.cache_clear()
    try:
        assert not plainly_clean("/x/1234 5678 9012")
        assert "9012" not in redact("/x/1234 5678 9012")[:-4]
    finally:
        redact_module._fewest_digits.cache_clear()
