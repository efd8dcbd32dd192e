"""Secrets never leave the tool: what is logged, journaled, reported or recorded is redacted first.

What card data and a secret are is ``villa_contracts.domain.cards``'s to say; this module finds them
in text of any kind (a JSON body, a form, a query string, a header line, a log line, a message):

- every card number, however written (groups with spaces, dots, dashes..., fullwidth or other
  Unicode digits), is masked (``514950xxxxxx9007``), and so is every test card of the contract (some
  fail Luhn's check);
- the value of a field, parameter or header named as a secret (``password``, ``IdToken``,
  ``SECRET_HASH``, ``token``, ``apiKey``...) or as a CVV (``cvv``, ``csc``, ``card_code``,
  ``security-code``...) becomes ``***``, whether it is written ``"key": "value"``, ``key=value``
  or ``Key: value``. A quoted value ends where a JSON document or a sentence would go on, so a
  password holding a quote, in a body that is not valid JSON, loses its tail too;
- a JWT and a shop token key (``Token <40 hex>``) become ``***``.

``redact_reproduction`` does the same for a shell command, but puts the contract's test cards back
as variables the shell fills in (``$VILLA_CARD_9007``, ``$VILLA_CARD_CVV``), so the command still runs.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

from villa_contracts.domain.cards import (
    CVV_VARIABLE,
    card_variable,
    fewest_digits,
    find_card_numbers,
    is_cvv_name,
    is_secret_name,
)
from villa_contracts.domain.cards import holds_card_number as _holds
from villa_contracts.domain.cards import mask as mask_card

HIDDEN = "***"
"""What a secret's value becomes."""
# A key and its separator: `"password": `, `password=`, `Authorization: `, `\"cvv\":` (JSON inside a string).
_KEY = re.compile(r"""(?<![\w.\-\\])(?P<open>\\?["']?)(?P<name>[A-Za-z_][\w.\-]*)(?P<close>\\?["']?)\s*[:=]\s*""")
_BARE_END = re.compile(r"""[\s&,;}\])"'<>\\]""")
_AUTH_SCHEMES = frozenset({"bearer", "token", "basic", "digest"})
# Our own shell variables stay: they are what a reproduction sends instead of a secret.
_VARIABLE = re.compile(r"\$\{?VILLA_[A-Z0-9_]+\}?")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_TOKEN_KEY = re.compile(r"\b(?P<scheme>Token )[0-9a-f]{40}\b")
_DIGIT = re.compile(r"\d")


@functools.cache
def known_test_cards() -> frozenset[str]:
    """The contract's test card numbers (some are not Luhn-valid: they are masked all the same)."""
    from villa_contracts.contract import load

    try:
        return frozenset(str(number) for number in load().data("test_cards")["cards"])
    except Exception:  # no contracts at hand: real card numbers are still masked
        return frozenset()


@functools.cache
def _fewest_digits() -> int:
    return fewest_digits(known_test_cards())


def plainly_clean(text: str) -> bool:
    """Whether ``text`` plainly holds nothing :func:`redact` would change (a look that costs about a microsecond).

    True only for text without a key's separator (``:``, ``=``), a JWT's start or a token key's scheme,
    and with fewer decimal digits (of any script) than the shortest card number: most paths the mock
    journals (``/api/order/get``). Anything else is read in full.
    """
    return (
        ":" not in text
        and "=" not in text
        and "eyJ" not in text
        and "Token " not in text
        and len(_DIGIT.findall(text)) < _fewest_digits()
    )


def holds_card_number(text: str) -> bool:
    """Whether ``text`` holds a card number (or one of the contract's test cards) that :func:`redact` would mask."""
    return bool(text) and _holds(text, known_test_cards())


@dataclass(frozen=True, slots=True)
class Keyed:
    r"""A secret's value found by its key in a text.

    Attributes:
        kind: ``cvv`` or ``secret``.
        start: where the value starts (its opening quote, if quoted).
        end: where it ends (after its closing quote).
        quote: its quote (``"``, ``'``, ``\"``), empty for a bare value.
        closed: whether its closing quote was found (else it runs to the end of the text).
    """

    kind: Literal["cvv", "secret"]
    start: int
    end: int
    quote: str
    closed: bool = True


def _closing(text: str, start: int, quote: str, keyed_in_quotes: bool) -> int:
    """Where a quoted value that starts at ``start`` (after its quote) ends, after its closing quote; -1: never.

    A quote closes the value when what follows reads as what follows a value: in a JSON-like text
    (the key was quoted) a comma and the next key, or the end of an object or array; in a sentence, a
    space, a delimiter or the end.
    """
    after = re.compile(
        r"""\s*(?:,\s*\\?["'][^"'\n]*\\?["']\s*:|[}\]]|$)""" if keyed_in_quotes else r"""(?:[\s,;&)}\]]|$)"""
    )
    index = start
    while True:
        index = text.find(quote, index)
        if index < 0:
            return -1
        if len(quote) == 1 and _escaped(text, index):
            index += 1
            continue
        end = index + len(quote)
        if after.match(text, end):
            return end
        index = end


def _escaped(text: str, index: int) -> bool:
    slashes = 0
    while index - slashes - 1 >= 0 and text[index - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def _bare_end(text: str, start: int) -> int:
    """Where a bare value ends: at a delimiter, or at a quote that closes what the value stands in.

    A quote followed by more of the value (``password=pa"ss`` in a form body as ``curl -d`` sends it) is part
    of it: the value runs on, so no tail of a secret is left behind the quote.
    """
    index = start
    while (found := _BARE_END.search(text, index)) is not None:
        at = found.start()
        if text[at] in "\"'" and at + 1 < len(text) and not _BARE_END.match(text, at + 1):
            index = at + 1  # a quote inside the value
            continue
        return at
    return len(text)


def _bare(text: str, start: int) -> tuple[int, int]:
    end = _bare_end(text, start)
    if text[start:end].lower() in _AUTH_SCHEMES:  # `Authorization: Bearer <credential>`: the scheme stays
        credential = end
        while credential < len(text) and text[credential] in " \t":
            credential += 1
        if credential > end:
            return credential, _bare_end(text, credential)
    return start, end


def find_keyed(text: str) -> Iterator[Keyed]:
    """Every value of a secret or a CVV in ``text``, found by its key, in order (shell variables of ours excluded)."""
    position = 0
    while (match := _KEY.search(text, position)) is not None:
        name = match.group("name")
        kind: Literal["cvv", "secret"] | None = (
            "cvv" if is_cvv_name(name) else "secret" if is_secret_name(name) else None
        )
        position = match.end()
        if kind is None:
            continue  # its value is scanned as text: `"note": "password=..."`
        start = match.end()
        quote = '\\"' if text.startswith('\\"', start) else text[start : start + 1]
        if quote in ('"', "'", '\\"'):
            end = _closing(text, start + len(quote), quote, bool(match.group("open")))
            found = Keyed(kind, start, end if end >= 0 else len(text), quote, end >= 0)
            inner = text[start + len(quote) : found.end - len(quote) if found.closed else found.end]
        elif text[match.start() - 1 : match.start()] == "/":
            continue  # a JSON pointer in a message (`/query/token: expected ...`): only a quoted value is one
        else:
            start, end = _bare(text, start)
            found = Keyed(kind, start, end, "")
            inner = text[start:end]
        position = max(position, found.end)
        if inner and not _VARIABLE.fullmatch(inner):
            yield found


def _replaced(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, replacement in spans:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _hide_keyed(text: str, cvv: Callable[[Keyed], str] | None = None) -> str:
    def hidden(found: Keyed) -> str:
        if found.kind == "cvv" and cvv is not None:
            return cvv(found)
        return found.quote + HIDDEN + (found.quote if found.closed else "")

    text = _replaced(text, [(found.start, found.end, hidden(found)) for found in find_keyed(text)])
    text = _JWT.sub(HIDDEN, text)
    return _TOKEN_KEY.sub(lambda m: m.group("scheme") + HIDDEN, text)


def _mask_cards(text: str, replace: Callable[[str], str]) -> str:
    found = find_card_numbers(text, known_test_cards())
    return _replaced(text, [(card.start, card.end, replace(card.digits)) for card in found])


def redact(text: str) -> str:
    r"""``text`` with every card number masked and the value of every secret or CVV replaced by ``***``.

    Example:
        >>> redact('{"number": 5149500000009007, "securityCode": "123", "password": "a\"b"}')
        '{"number": 514950xxxxxx9007, "securityCode": "***", "password": "***"}'
    """
    if not text or plainly_clean(text):
        return text
    return _mask_cards(_hide_keyed(text), mask_card)


def redact_reproduction(command: str) -> str:
    """A shell command (a curl reproduction) with card numbers, CVVs and secrets taken out.

    The contract's test cards become ``'"$VILLA_CARD_<last 4>"'`` and a CVV ``'"$VILLA_CARD_CVV"'``
    (closing and reopening the single quotes of the command's data, so the shell fills them in;
    ``villa-contracts tokens`` exports them); any other card number is masked, any other secret
    is ``***`` (a reproduction sends credentials as ``$VILLA_ID_TOKEN``, ``$VILLA_SHOP_TOKEN``...).
    """
    known = known_test_cards()

    def card(digits: str) -> str:
        return f"'\"${card_variable(digits)}\"'" if digits in known else mask_card(digits)

    def cvv(found: Keyed) -> str:
        if found.quote == '"':
            return f'"\'"${CVV_VARIABLE}"\'"'
        return found.quote + f"'\"${CVV_VARIABLE}\"'" + (found.quote if found.closed else "")

    return _mask_cards(_hide_keyed(command, cvv), card)


__all__ = [
    "CVV_VARIABLE",
    "HIDDEN",
    "Keyed",
    "card_variable",
    "find_keyed",
    "holds_card_number",
    "known_test_cards",
    "mask_card",
    "redact",
    "redact_reproduction",
]
