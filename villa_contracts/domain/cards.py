"""Card data: what a payment card number is, how one may be shown, and which fields hold secrets.

The one place the project knows card data; the mock's rules, the redaction of logs, journals,
reports and recordings, and the proxy's checks all ask it.

- A **card number** is 13 to 19 digits that start with the IIN of a card scheme (``SCHEMES``), are
  as long as that scheme issues, and pass Luhn's check. It is found however it is written: in
  groups with separators between them (one or two spaces, NBSP, ``-``, ``.``, ``/``, ``+``, ``_``,
  their URL encodings such as ``%20``, and their fullwidth forms), in any Unicode decimal digits
  (fullwidth ``４１１１``, Arabic-Indic ``٤١١١``, Devanagari ``४१११``...). A run of zeros (a zip
  code), an order id of 20 digits, a timestamp or a 12-digit order id is none.
- **Masking** keeps the first 6 and the last 4 digits (``514950xxxxxx9007``); a reproduction reads a
  test card from ``$VILLA_CARD_<last 4>`` and a CVV from ``$VILLA_CARD_CVV``.
- **Secret field names**: passwords, tokens, keys, sessions, cookies, and a card's security code under
  every common name (``cvv``, ``cvc2``, ``csc``, ``cvn``, ``cid``, ``card_code``, ``securityCode``,
  ``security-code``...), whatever their case and separators.
- ``refuse_card_data``: the rule of every API that stores what a client writes.

Example:
    >>> [found.digits for found in find_card_numbers("card 4111.1111.1111.1111, zip 0000000000000000000")]
    ['4111111111111111']
    >>> mask("5149 5000 0000 9007")
    '514950xxxxxx9007'
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.errors import RuleViolation

# --- card schemes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scheme:
    """A card scheme: the IIN ranges its numbers start with and the lengths it issues.

    Attributes:
        name: ``Visa``, ``Mastercard``...
        prefixes: inclusive ranges of leading digits (both bounds of a range have as many digits).
        lengths: how many digits its card numbers have.
    """

    name: str
    prefixes: tuple[tuple[int, int], ...]
    lengths: frozenset[int]


def _scheme(name: str, prefixes: str, lengths: str) -> Scheme:
    ranges = []
    for part in prefixes.split():
        low, _, high = part.partition("-")
        ranges.append((int(low), int(high or low)))
    sizes: set[int] = set()
    for part in lengths.split():
        low, _, high = part.partition("-")
        sizes.update(range(int(low), int(high or low) + 1))
    return Scheme(name, tuple(ranges), frozenset(sizes))


SCHEMES: tuple[Scheme, ...] = (
    _scheme("Visa", "4", "13 16 19"),
    _scheme("Mastercard", "51-55 2221-2720", "16"),
    _scheme("American Express", "34 37", "15"),
    _scheme("Discover", "6011 644-649 65", "16-19"),
    _scheme("JCB", "3528-3589", "16-19"),
    _scheme("UnionPay", "62 81", "16-19"),
    _scheme("Diners Club", "300-305 3095 36 38-39", "14-19"),
    _scheme("Maestro", "5018 5020 5038 5893 6304 6759 6761-6763", "13-19"),
    _scheme("Mir", "2200-2204", "16-19"),
    _scheme("RuPay", "60 508 82", "16"),
    _scheme("Troy", "9792", "16"),
    _scheme("Verve", "506099-506198 507865-507964 650002-650027", "16 18 19"),
    _scheme("Dankort", "5019", "16"),
    _scheme("InterPayment", "636", "16-19"),
    _scheme("InstaPayment", "637-639", "16"),
)
"""The card schemes whose numbers are card data (UATP's 1-prefixed numbers are left out: timestamps look alike)."""

MIN_DIGITS, MAX_DIGITS = 13, 19


# (length, leading digits) → scheme, for every prefix of every range: a lookup per prefix length,
# the longest first (Discover's 6011 before RuPay's 60).
_BY_PREFIX: dict[tuple[int, str], Scheme] = {
    (length, str(prefix)): scheme
    for scheme in SCHEMES
    for low, high in scheme.prefixes
    for prefix in range(low, high + 1)
    for length in scheme.lengths
}
_PREFIX_SIZES = sorted({len(prefix) for _, prefix in _BY_PREFIX}, reverse=True)  # the longest first
_FIRST_DIGITS = frozenset(prefix[0] for _, prefix in _BY_PREFIX)
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits passes Luhn's checksum."""
    plain = sum(int(char) for char in digits[-1::-2])
    return (plain + sum(_DOUBLED[int(char)] for char in digits[-2::-2])) % 10 == 0


@functools.lru_cache(maxsize=4096)
def _issued(head: str) -> dict[int, Scheme]:
    """Length → scheme, for a number that starts with ``head`` (its first 6 digits, or all it has)."""
    found: dict[int, Scheme] = {}
    for size in _PREFIX_SIZES:
        for length in range(MIN_DIGITS, MAX_DIGITS + 1):
            scheme = _BY_PREFIX.get((length, head[:size])) if len(head) >= size else None
            if scheme is not None:
                found.setdefault(length, scheme)
    return found


def scheme_of(digits: str) -> Scheme | None:
    """The scheme whose IIN ``digits`` start with (the most specific one) and that issues that length; no Luhn check."""
    return _issued(digits[:6]).get(len(digits))


def is_card_number(digits: str, known: Collection[str] = ()) -> bool:
    """Whether ``digits`` (ASCII only) is a card number: a scheme's IIN and length, and Luhn; or one of ``known``.

    Args:
        digits: the digits.
        known: numbers that are card data whatever their checksum (the contract's test cards).
    """
    if digits in known:
        return True
    return MIN_DIGITS <= len(digits) <= MAX_DIGITS and scheme_of(digits) is not None and luhn_ok(digits)


# --- finding card numbers in text ---------------------------------------------------------------

# What may stand between two digits of one card number, up to 3 of them (" - ", two spaces):
# whitespace (NBSP included), zero-width characters, dashes, dots, slashes, plus, underscore, in their
# fullwidth forms too, and the URL encodings of a space, "+", "-", ".", "/", "_" and NBSP.
_SEPARATOR = (
    r"(?:[\s\u200b-\u200d\u2060\ufeff\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d.\u00b7\u2024\uff0e/\u2044\u2215\uff0f"
    r"+\uff0b_]|%(?:20|2[bBdDeEfF]|5[fF]|[aA]0|[cC]2%[aA]0))"
)
_RUN = re.compile(rf"\d(?:{_SEPARATOR}{{0,3}}\d)*")
_PIECE = re.compile(rf"(?P<digits>\d+)|{_SEPARATOR}")


@dataclass(frozen=True, slots=True)
class Found:
    """A card number found in a text.

    Attributes:
        start: where it starts in the text.
        end: where it ends (exclusive).
        digits: its digits, in ASCII.
    """

    start: int
    end: int
    digits: str

    @property
    def scheme(self) -> str:
        """Its scheme's name (``card`` when none issues it: a test card of the contract)."""
        scheme = scheme_of(self.digits)
        return scheme.name if scheme is not None else "card"


def ascii_digits(text: str) -> str:
    """The decimal digits of ``text`` (any script), in ASCII: ``"４１-٣"`` → ``"413"``."""
    return "".join(str(int(char)) for char in text if char.isdecimal())


class _Run:
    """The digits of a run (its groups joined, in ASCII) with sums that check Luhn on any slice at once.

    A slice's check digit is its last; from there every second digit leftwards is doubled. Digits at
    even and odd places are summed apart, plain and doubled, so any slice's checksum is four subtractions.
    """

    def __init__(self, text: str, run: re.Match[str]) -> None:
        self.bounds = [0]  # where each group starts in ``digits``, and where the last ends
        self.places: list[tuple[int, int]] = []  # each group's place in the text
        parts = []
        for piece in _PIECE.finditer(run.group()):
            group = piece.group("digits")
            if group:
                parts.append(group if group.isascii() else ascii_digits(group))
                self.bounds.append(self.bounds[-1] + len(parts[-1]))
                self.places.append((run.start() + piece.start(), run.start() + piece.end()))
        self.digits = "".join(parts)
        self._sums: list[list[int]] | None = None

    def luhn_ok(self, start: int, end: int) -> bool:
        if self._sums is None:
            values = [int(char) for char in self.digits]
            even = [value * (1 - place % 2) for place, value in enumerate(values)]
            odd = [value * (place % 2) for place, value in enumerate(values)]
            # Running sums of: plain digits at even places, at odd places, doubled ones at even, at odd places.
            self._sums = [
                list(itertools.accumulate(part, initial=0))
                for part in (even, odd, [_DOUBLED[v] for v in even], [_DOUBLED[v] for v in odd])
            ]
        plain = (end - 1) % 2  # the parity of the check digit's place: those digits stay as they are
        total = self._sums[plain][end] - self._sums[plain][start]
        total += self._sums[3 - plain][end] - self._sums[3 - plain][start]
        return total % 10 == 0


def find_card_numbers(text: str, known: Collection[str] = ()) -> Iterator[Found]:
    """Every card number in ``text``, in order, however it is written.

    A card number is made of whole digit groups (never the tail of a longer one: a 20-digit id holds
    none); among the groups from one start, the longest that is a card number wins. The cost is
    linear in the text, whatever it holds.

    Args:
        text: any text.
        known: numbers that are card data whatever their checksum (the contract's test cards).
    """
    first_digits = _FIRST_DIGITS | {number[:1] for number in known}
    for match in _RUN.finditer(text):
        if match.end() - match.start() < MIN_DIGITS:
            continue
        run = _Run(text, match)
        digits, bounds = run.digits, run.bounds
        index = first = 0  # ``first``: the first group that ends 13 digits or more after ``start``
        while index < len(run.places):
            start, best = bounds[index], None
            if digits[start] in first_digits:
                issued = _issued(digits[start : start + 6])
                first = max(first, index)  # it only moves right as ``start`` does
                while first < len(run.places) and bounds[first + 1] - start < MIN_DIGITS:
                    first += 1
                for last in range(first, len(run.places)):
                    end = bounds[last + 1]
                    if end - start > MAX_DIGITS:
                        break
                    if (end - start in issued and run.luhn_ok(start, end)) or (known and digits[start:end] in known):
                        best = last
            if best is None:
                index += 1
                continue
            yield Found(run.places[index][0], run.places[best][1], digits[start : bounds[best + 1]])
            index = best + 1


def holds_card_number(text: str, known: Collection[str] = ()) -> bool:
    """Whether ``text`` holds a card number."""
    return next(find_card_numbers(text, known), None) is not None


def fewest_digits(known: Collection[str] = ()) -> int:
    """The fewest decimal digits of a text holding a card number (one of ``known`` may be shorter than any issued)."""
    return min([MIN_DIGITS, *(len(number) for number in known)])


# --- showing card numbers -----------------------------------------------------------------------

CVV_VARIABLE = "VILLA_CARD_CVV"
"""The shell variable a reproduction reads a CVV from (``villa-contracts tokens`` exports it)."""


def mask(number: str) -> str:
    """The only form a card number is shown in: the first 6 and the last 4 digits (``514950xxxxxx9007``).

    Args:
        number: the card number, written in any way (``4111%201111...``, ``４１１１...``).
    """
    found = next(find_card_numbers(number), None)
    digits = found.digits if found is not None else ascii_digits(number)
    return digits[:6] + "x" * max(len(digits) - 10, 0) + digits[-4:]


def card_variable(digits: str) -> str:
    """The shell variable a reproduction reads a test card from (``VILLA_CARD_9007``)."""
    return f"VILLA_CARD_{digits[-4:]}"


# --- secret field names -------------------------------------------------------------------------

_SECRET_WORDS = (
    "password", "passwd", "passphrase", "secret", "token", "session", "credential", "cookie", "authorization",
    "apikey", "gatewaykey", "privatekey", "accesskey", "signingkey", "encryptionkey", "confirmationcode",
    "verificationcode",
)  # fmt: skip
"""A name holding one of these (``SECRET_HASH``, ``cardToken``, ``X-Gateway-Key``...) is a secret's."""
_SECRET_NAMES = frozenset({"pass", "pwd", "otp", "pin"})
"""Names that are a secret's only as a whole (``pin``, not ``shipping``)."""
_CVV_CORES = ("cvv", "cvv2", "cvc", "cvc2", "cvd", "csc", "cvn", "cvn2", "cav2", "cid", "cardcode", "securitycode")
_CVV_NAMES = frozenset(
    prefix + core + suffix
    for prefix in ("", "card", "cc", "x", "xcard", "credit", "creditcard", "payment", "paymentcard")
    for core in _CVV_CORES
    for suffix in ("", "code", "number", "no", "value")
)
_CVV_WORDS = ("securitycode", "cardcode", "cardverification", "verificationvalue")
"""A name holding one of these is a CVV's whatever surrounds it (``cardSecurityCodeValue``)."""
_AMBIGUOUS_CVV_NAMES = frozenset(
    prefix + "cid" + suffix for prefix in ("", "x") for suffix in ("", "code", "number", "no", "value")
)
"""Amex's ``cid`` alone is more often a customer's id: hidden where it shows, never a reason to refuse a request."""


def normal_name(name: str) -> str:
    """A field name without case or separators: ``Security-Code`` → ``securitycode``."""
    return "".join(char for char in name.casefold() if char.isalnum())


def is_cvv_name(name: str) -> bool:
    """Whether a field, parameter or header of this name holds a card's security code (``cvv``, ``card_code``...)."""
    normal = normal_name(name)
    return normal in _CVV_NAMES or any(word in normal for word in _CVV_WORDS)


def is_secret_name(name: str) -> bool:
    """Whether a field, parameter or header of this name holds a secret that is no CVV (``password``, ``apiKey``...)."""
    normal = normal_name(name)
    return normal in _SECRET_NAMES or any(word in normal for word in _SECRET_WORDS)


_CARD_NAMES = frozenset({"number", "pan", "accountnumber", "primaryaccountnumber"})


def is_card_name(name: str) -> bool:
    """Whether a field of this name is meant for a card number (``cardNumber``, ``maskedCardNo``, ``card.number``).

    A card number written as a JSON number is card data only under such a name: elsewhere a number
    is an amount, a count, an id or a timestamp (a fuzzer's random integers pass Luhn's check one
    time in ten).
    """
    normal = normal_name(name)
    return "card" in normal or normal in _CARD_NAMES


# --- the rule -----------------------------------------------------------------------------------


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


NO_CARD_DATA = "no_card_data"
"""The rule of ``refuse_card_data``: its refusal is answered 400 with the code ``card_data``."""


def _refusal(pointer: str, what: str) -> RuleViolation:
    return RuleViolation(
        "invalid",
        f"{pointer or '/'} holds {what}: card data is never stored or echoed; send the request without it",
        pointer,
        rule=NO_CARD_DATA,
    )


def refuse_card_data(body: Any, pointer: str = "", *, known: Collection[str] = ()) -> None:
    """Refuse what a client writes when it holds card data: a card number in any text or name, or a CVV's field.

    Every API applies it to every request whose content it stores or answers back (order free
    text, addresses, profiles, remarks), so card data is never stored or echoed. A JSON number is
    card data only under a card's name (``is_card_name``): ``{"cardNo": 4111111111111111}``.

    Args:
        body: the request's JSON (or a part of it).
        pointer: where ``body`` is.
        known: numbers that are card data whatever their checksum (the contract's test cards).

    Raises:
        RuleViolation: ``invalid`` (400), rule ``no_card_data``, at the pointer of the first field
            that holds card data; the message names the scheme, never the number.
    """
    stack: list[tuple[str, str, Any]] = [(pointer, "", body)]  # where, the name it is held under, the value
    while stack:
        where, name, value = stack.pop()
        if isinstance(value, dict):
            children = []
            for key, child in value.items():
                found = next(find_card_numbers(str(key), known), None)
                if found is not None:  # the pointer shows the name masked
                    named = str(key)[: found.start] + mask(found.digits) + str(key)[found.end :]
                    raise _refusal(f"{where}/{_escape(named)}", f"a payment card number ({found.scheme}) in its name")
                inside = f"{where}/{_escape(str(key))}"
                holds_a_code = child not in (None, "", [], {})
                if is_cvv_name(str(key)) and normal_name(str(key)) not in _AMBIGUOUS_CVV_NAMES and holds_a_code:
                    raise _refusal(inside, f"a card security code ({key!s})")
                children.append((inside, str(key), child))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            stack.extend(reversed([(f"{where}/{index}", name, child) for index, child in enumerate(value)]))
        elif isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool) and is_card_name(name)):
            found = next(find_card_numbers(str(value), known), None)
            if found is not None:
                raise _refusal(where, f"a payment card number ({found.scheme})")


__all__ = [
    "CVV_VARIABLE",
    "MAX_DIGITS",
    "MIN_DIGITS",
    "NO_CARD_DATA",
    "SCHEMES",
    "Found",
    "Scheme",
    "ascii_digits",
    "card_variable",
    "fewest_digits",
    "find_card_numbers",
    "holds_card_number",
    "is_card_name",
    "is_card_number",
    "is_cvv_name",
    "is_secret_name",
    "luhn_ok",
    "mask",
    "normal_name",
    "refuse_card_data",
    "scheme_of",
]
