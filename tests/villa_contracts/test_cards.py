"""Card data (``villa_contracts.domain.cards``): real card numbers however written, nothing else; masks; names."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from villa_contracts.contract import load
from villa_contracts.domain.cards import (
    SCHEMES,
    card_variable,
    find_card_numbers,
    holds_card_number,
    is_card_name,
    is_card_number,
    is_cvv_name,
    is_secret_name,
    luhn_ok,
    mask,
    refuse_card_data,
    scheme_of,
)
from villa_contracts.domain.errors import RuleViolation

TEST_CARDS: dict[str, Any] = load().data("test_cards")["cards"]

# Gateways' published test numbers, one or more per scheme.
SCHEME_EXAMPLES = {
    "4111111111111111": "Visa", "4012888888881881": "Visa", "4222222222222": "Visa",
    "5555555555554444": "Mastercard", "5105105105105100": "Mastercard", "2223003122003222": "Mastercard",
    "378282246310005": "American Express", "371449635398431": "American Express",
    "6011111111111117": "Discover", "6011000990139424": "Discover", "6445644564456445": "Discover",
    "3530111333300000": "JCB", "3566002020360505": "JCB",
    "6200000000000005": "UnionPay", "6205500000000000004": "UnionPay",
    "30569309025904": "Diners Club", "38520000023237": "Diners Club", "36227206271667": "Diners Club",
    "6759649826438453": "Maestro", "6304000000000000": "Maestro",
    "2200000000000004": "Mir", "5019717010103742": "Dankort",
}  # fmt: skip


def with_check_digit(body: str) -> str:
    """``body`` and the digit that makes it pass Luhn's check."""
    return next(body + digit for digit in "0123456789" if luhn_ok(body + digit))


@pytest.mark.parametrize("number", sorted(TEST_CARDS))
def test_every_test_card_of_the_contract_is_card_data(number: str) -> None:
    assert [found.digits for found in find_card_numbers(f"card {number}.", TEST_CARDS)] == [number]
    assert scheme_of(number) is not None  # each has its brand's IIN and length, Luhn or not


@pytest.mark.parametrize(("number", "scheme"), sorted(SCHEME_EXAMPLES.items()))
def test_each_schemes_test_numbers_are_card_numbers(number: str, scheme: str) -> None:
    assert is_card_number(number) and [f.scheme for f in find_card_numbers(number)] == [scheme]


@pytest.mark.parametrize(
    "text",
    [
        "0000000000000000000",  # a zip code field of zeros: issue 18's false alarm
        "0" * 13,
        "4111111111111111" + "0000",  # a 20-digit order id: a card is never the head of a longer run
        "12345678901234567890123",
        "552400004546",  # a Villa order id (12 digits)
        "1767139200123",  # a timestamp in ms, in µs, as a float
        "1767139200123456",
        "1767139200.1234567",
        with_check_digit("123456781234567"),  # Luhn-valid, no scheme starts with 1
        with_check_digit("900000000000000"),
        with_check_digit("378282246310005"),  # an Amex IIN at 16 digits (Amex issues 15)
        with_check_digit("51051051051051"),  # a Mastercard IIN at 15 digits (Mastercard issues 16)
        "4111111111111112",  # a Visa IIN and length, failing Luhn's check
        "12345678-1234-4234-8234-123456789012",  # a UUID
        "PAYID-17000-traffic4f3a",
    ],
)
def test_what_is_no_card_number(text: str) -> None:
    assert list(find_card_numbers(text)) == [] and not holds_card_number(text)


@pytest.mark.parametrize(
    "written",
    [
        "4111 1111 1111 1111",
        "4111  1111  1111  1111",
        "4111-1111-1111-1111",
        "4111 - 1111 - 1111 - 1111",
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111+1111+1111+1111",
        "4111_1111_1111_1111",
        "4111%201111%201111%201111",
        "4111%2D1111%2d1111%2E1111",
        "4111\u00a01111\u00a01111\u00a01111",
        "4111\u200b1111\u200b1111\u200b1111",
        "4111\u20131111\u20131111\u20131111",
        "４１１１１１１１１１１１１１１１",
        "４１１１－１１１１－１１１１－１１１１",
        "٤١١١١١١١١١١١١١١١",
        "۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱",
        "४१११ ११११ ११११ ११११",
        "4111 １１１１ ١١١١ 1111",
    ],
)
def test_a_card_number_is_found_however_it_is_written(written: str) -> None:
    found = list(find_card_numbers(f"please charge {written} thanks"))
    assert [(f.digits, f.scheme) for f in found] == [("4111111111111111", "Visa")]
    assert f"please charge {written} thanks"[found[0].start : found[0].end] == written
    assert mask(written) == "411111xxxxxx1111"


def test_cards_among_other_digits() -> None:
    text = "order 552400004546, cards 5105 1051 0510 5100 and 378282246310005; zip 10110 phone 0811111111"
    assert [f.digits for f in find_card_numbers(text)] == ["5105105105105100", "378282246310005"]
    # Groups around a card number are not part of it when the whole is none.
    assert [f.digits for f in find_card_numbers("ref 12 4111 1111 1111 1111 34")] == ["4111111111111111"]


def test_a_card_number_inside_a_long_run_of_digit_groups() -> None:
    text = "1 " * 5000 + "4111.1111.1111.1111, " + "4 " * 5000
    found = list(find_card_numbers(text))
    assert [f.digits for f in found] == ["4111111111111111"] and text[found[0].start : found[0].end].count(".") == 3


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(SCHEMES))
    low, high = draw(st.sampled_from(scheme.prefixes))
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(sorted(n for n in scheme.lengths if 13 <= n <= 19)))
    middle = draw(st.text("0123456789", min_size=length - len(prefix) - 1, max_size=length - len(prefix) - 1))
    return with_check_digit(prefix + middle)


SCRIPTS = ("0123456789", "０１２３４５６７８９", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९")
SEPARATORS = ("", "", " ", "  ", "-", ".", "/", "%20", "\u00a0", " - ")


@settings(max_examples=300, derandomize=True, deadline=None)
@given(number=card_numbers(), data=st.data())
def test_every_real_card_number_is_found_in_any_writing(number: str, data: st.DataObject) -> None:
    script = data.draw(st.sampled_from(SCRIPTS))
    written = (
        "".join(script[int(d)] + data.draw(st.sampled_from(SEPARATORS)) for d in number[:-1]) + script[int(number[-1])]
    )
    found = list(find_card_numbers(f"note: {written}!"))
    assert [f.digits for f in found] == [number]
    assert mask(written) == number[:6] + "x" * (len(number) - 10) + number[-4:]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(st.text(alphabet="0 -./", max_size=60))
def test_zeros_and_separators_are_never_card_data(text: str) -> None:
    assert not holds_card_number(text)


def test_masks_and_shell_variables() -> None:
    assert mask("5149500000009007") == "514950xxxxxx9007"
    assert mask("3782 822463 10005") == "378282xxxxx0005"
    assert card_variable("5149500000009007") == "VILLA_CARD_9007"


@pytest.mark.parametrize(
    "name",
    ["cvv", "CVV", "cvv2", "cvc", "CVC2", "csc", "cvn", "cid", "card_code", "cardCode", "CardCode", "security_code",
     "securityCode", "security-code", "Security Code", "X-Card-CVV", "x-cvc", "cardSecurityCode", "card_cvv",
     "cvvNumber", "card_verification_value"],
)  # fmt: skip
def test_a_cvv_goes_by_every_common_name(name: str) -> None:
    assert is_cvv_name(name)


@pytest.mark.parametrize(
    "name",
    ["password", "PASSWORD", "passwd", "SECRET_HASH", "clientSecret", "IdToken", "access_token", "refresh-token",
     "token", "cardToken", "apiKey", "X-Api-Key", "X-Gateway-Key", "Cookie", "Set-Cookie", "sessionId",
     "ConfirmationCode", "Authorization", "pin", "pwd", "otp", "private_key"],
)  # fmt: skip
def test_a_secret_goes_by_its_name(name: str) -> None:
    assert is_secret_name(name) and not is_cvv_name(name)


@pytest.mark.parametrize(
    "name", ["doc_id", "acid", "city", "code", "orderId", "order_key", "shipping", "spinach", "username", "number"]
)
def test_names_that_hold_no_secret(name: str) -> None:
    assert not is_secret_name(name) and not is_cvv_name(name)


@pytest.mark.parametrize(
    ("name", "meant"),
    [("cardNumber", True), ("card_no", True), ("maskedCardNo", True), ("number", True), ("PAN", True),
     ("quantity", False), ("orderId", False), ("phone", False), ("company", False)],
)  # fmt: skip
def test_a_card_number_as_a_json_number_is_card_data_under_a_cards_name_only(name: str, meant: bool) -> None:
    assert is_card_name(name) is meant


def refusal(body: Any, **options: Any) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        refuse_card_data(body, **options)
    return caught.value


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"notes": "pay with 4111 1111 1111 1111"}, "/notes"),
        ({"shipping": {"shippingAddress": "Soi 5, ４１１１１１１１１１１１１１１１"}}, "/shipping/shippingAddress"),
        ({"lines": ["ok", {"remark": "٤١١١١١١١١١١١١١١١"}]}, "/lines/1/remark"),
        ({"extra": {"cardNumber": [4111111111111111]}}, "/extra/cardNumber/0"),
        ({"a/b": {"card 4111.1111.1111.1111": 1}}, "/a~1b/card 411111xxxxxx1111"),
        ({"card_code": "123"}, "/card_code"),
        ({"payment": {"CVV2": 123}}, "/payment/CVV2"),
        ({"first": "4111 1111 1111 1111", "second": "5105105105105100"}, "/first"),
    ],
)
def test_card_data_is_refused_where_it_is(body: Any, pointer: str) -> None:
    refused = refusal(body)
    assert (refused.kind, refused.status, refused.rule, refused.pointer) == ("invalid", 400, "no_card_data", pointer)
    assert "card" in refused.message and "never stored" in refused.message
    said = refused.message.replace(refused.pointer, "").replace("CVV2", "")
    assert not any(char.isdigit() for char in said)  # the number is never echoed


def test_what_is_no_card_data_is_accepted() -> None:
    refuse_card_data(
        {
            "zipcode": "0000000000000000000",
            "orderId": "12345678901234567890",
            "phone": "+66 81 234 5678",
            "cvv": "",
            "card_code": None,
            "createdAt": 1767139200123,
            "quantity": 4947965714143484928,  # a fuzzer's integer (schemathesis sent it): Visa's IIN, Luhn's check
            "amount": -4111111111111111,
            "price": 4.111111111111111,
            "paid": True,
        }
    )


def test_a_test_card_that_fails_luhn_is_refused_when_known() -> None:
    refuse_card_data({"notes": "5149500000009007"})  # Luhn fails: no card number to anyone but the gateway
    assert refusal({"notes": "5149500000009007"}, known=TEST_CARDS).pointer == "/notes"


def test_cid_alone_is_a_customer_id_never_refused_but_hidden() -> None:
    from villa_contracts.domain.cards import is_cvv_name, refuse_card_data
    from villa_contracts.domain.errors import RuleViolation

    refuse_card_data({"cid": "C-1042", "xcid": "7"})  # most often a customer's id: the request stands
    assert is_cvv_name("cid")  # and yet it is hidden wherever it shows (a recording, a report)
    with pytest.raises(RuleViolation) as refused:
        refuse_card_data({"card": {"cardCid": "1234"}})
    assert refused.value.pointer == "/card/cardCid" and refused.value.rule == "no_card_data"
