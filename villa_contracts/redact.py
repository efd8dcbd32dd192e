"""Card numbers, CVVs and secrets never leave the tool unmasked: what is logged, journaled or reported is redacted.

A card number may arrive in any field and any form (a JSON string or number, with spaces or
dashes, with a trailing newline); ``redact`` finds every run of 13 to 19 digits (separators
allowed) that passes the Luhn check and masks it the way the card token does
(``514950xxxxxx9007``), and replaces the value of any CVV-like field (``securityCode``, ``cvv``,
``cvc``…) with ``***``, as it does the value of a password, login token or client secret field and a
shop token key (``Token <40 hex>``). ``redact_reproduction`` does the same for a shell command, but puts the
contract's test cards back as variables the shell fills in, so the command still runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable

# Digits with optional separators between them: a space, a dash, a plus, or their URL encodings
# (not a dot: a float such as a timestamp must not look like a card).
_SEPARATOR = r"(?:[ \-+]|%20|%2[dD])"
_PAN = re.compile(rf"(?<![0-9])[0-9](?:{_SEPARATOR}?[0-9]){{12,18}}(?![0-9])")
_CVV_KEY = r"""["']?(?:securityCode|security_code|cvv2?|cvc2?|cardCvv|card_cvv)["']?\s*[:=]\s*"""
_CVV = re.compile(rf"""(?P<key>{_CVV_KEY})(?P<value>"[^"]*"|'[^']*'|[0-9]+)""", re.IGNORECASE)
CVV_VARIABLE = "VILLA_CARD_CVV"
# Passwords, login tokens and client secrets, by field name; and a shop token key (40 hex) in a token field.
_SECRET_KEY = (
    r"""["']?(?:password|passwd|IdToken|AccessToken|RefreshToken|id_token|access_token|refresh_token|"""
    r"""clientSecret|client_secret)["']?\s*[:=]\s*"""
)
_SECRET = re.compile(rf"""(?P<key>{_SECRET_KEY})(?P<value>"[^"]*"|'[^']*')""", re.IGNORECASE)
_TOKEN_KEY = re.compile(r"""(?P<key>["']?token["']?\s*[:=]\s*)(?P<value>"[0-9a-f]{40}"|'[0-9a-f]{40}')""")
_TOKEN_HEADER = re.compile(r"(?P<key>\bToken )(?P<value>[0-9a-f]{40})\b")


def luhn_ok(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def mask_card(digits: str) -> str:
    """The only form a card number is shown in: ``514950xxxxxx9007``."""
    return digits[:6] + "x" * max(len(digits) - 10, 0) + digits[-4:]


def card_variable(digits: str) -> str:
    """The shell variable a reproduction reads a test card from (``VILLA_CARD_9007``)."""
    return f"VILLA_CARD_{digits[-4:]}"


@functools.cache
def known_test_cards() -> frozenset[str]:
    """The contract's test card numbers (some are not Luhn-valid: they are masked all the same)."""
    from villa_contracts.contract import load

    try:
        return frozenset(str(number) for number in load().data("test_cards")["cards"])
    except Exception:  # no contracts at hand: Luhn-valid numbers are still masked
        return frozenset()


def _cards(text: str) -> Iterable[tuple[re.Match[str], str]]:
    known = known_test_cards()
    for match in _PAN.finditer(text):
        digits = re.sub(r"[^0-9]", "", re.sub(r"%2[0dD]", "", match.group()))
        if 13 <= len(digits) <= 19 and (luhn_ok(digits) or digits in known):
            yield match, digits


def holds_card_number(text: str) -> bool:
    """Whether ``text`` carries a card number that :func:`redact` would mask."""
    return bool(text) and next(iter(_cards(text)), None) is not None


def _replace_cards(text: str, replace: Callable[[str], str]) -> str:
    out, last = [], 0
    for match, digits in _cards(text):
        out.append(text[last : match.start()])
        out.append(replace(digits))
        last = match.end()
    out.append(text[last:])
    return "".join(out)


def redact(text: str) -> str:
    """``text`` with every card number masked and every CVV value replaced by ``***``.

    Example:
        >>> redact('{"number": 5149500000009007, "securityCode": "123"}')
        '{"number": 514950xxxxxx9007, "securityCode": "***"}'
    """
    if not text:
        return text
    text = _secrets_hidden(text)
    text = _CVV.sub(lambda m: m.group("key") + ('"***"' if m.group("value").startswith('"') else "***"), text)
    return _replace_cards(text, mask_card)


def _secrets_hidden(text: str) -> str:
    def hidden(match: re.Match[str]) -> str:
        value = match.group("value")
        quote = value[0] if value[:1] in "\"'" else ""
        return match.group("key") + f"{quote}***{quote}"

    for pattern in (_SECRET, _TOKEN_KEY, _TOKEN_HEADER):
        text = pattern.sub(hidden, text)
    return text


def redact_reproduction(command: str) -> str:
    """A shell command (a curl reproduction) with card numbers and CVVs taken out.

    The contract's test cards become ``'"$VILLA_CARD_<last 4>"'`` and a CVV ``'"$VILLA_CARD_CVV"'``
    (closing and reopening the single quotes of the command's data, so the shell fills them in;
    ``villa-contracts tokens`` exports them); any other card number is masked.
    """
    known = known_test_cards()

    def card(digits: str) -> str:
        return f"'\"${card_variable(digits)}\"'" if digits in known else mask_card(digits)

    def cvv(match: re.Match[str]) -> str:
        quoted = match.group("value").startswith('"')
        return match.group("key") + (f'"\'"${CVV_VARIABLE}"\'"' if quoted else f"'\"${CVV_VARIABLE}\"'")

    return _replace_cards(_CVV.sub(cvv, _secrets_hidden(command)), card)
