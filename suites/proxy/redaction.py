"""Take secrets out of what the proxy records: tokens, passwords, keys, client secrets, card numbers and CVVs.

Pure functions over headers, JSON values and text, on ``villa_contracts.domain.cards`` (what a card
number, a secret's name and a CVV's name are) and ``villa_contracts.redact`` (finding them in text):
card numbers are masked wherever they are, however written; a field, form field, query parameter or
header named as a secret (``password``, ``secret``, ``token``, ``session``, ``apiKey``, the shop's
``X-Gateway-Key``, ``confirmationCode``...) becomes ``[redacted]`` and one named as a CVV (``cvv``,
``csc``, ``card_code``, ``security-code``...) becomes ``***``; JWTs go by their shape.
Each function also says *where* it redacted (JSON pointers), so a re-check of a recording can tell
a redacted value from the original one, and where an answer *showed card data*: a card number
standing alone (the digits of a float such as ``4.111111111111111e-308`` are masked all the same,
but they are no card an answer leaked) or a CVV by its key.

An ``Authorization`` header keeps the ``sub`` of its ID token (not a secret: every order carries it
as ``ownerId``) in a token that is no credential (``Bearer villa-redacted.<payload>.redacted``), so
``owner_is_caller`` decides the same on the recording as it did live. A shop token key (``Token <key>``)
becomes its pseudonym (``Token villa-redacted.<16 hex digits of its SHA-256>``): the shop's oracle
tells callers apart by it, on the recording as live, and nobody can call with it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

from villa_contracts.domain.cards import Found, find_card_numbers, is_card_name, is_cvv_name, is_secret_name
from villa_contracts.redact import HIDDEN, find_keyed, known_test_cards, redact

REDACTED = "[redacted]"
_EXPONENT = re.compile(r"[eE][+-]?[0-9]")
_EMPTY: tuple[Any, ...] = (None, "", [], {})


def escape(name: str) -> str:
    """A name as one JSON pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")


def hidden_value(name: str) -> str | None:
    """What the value of a field, query parameter or header named ``name`` is recorded as, whatever it is.

    ``[redacted]`` for a secret's name, ``***`` for a CVV's; None: the value is judged by what it holds.
    """
    if is_secret_name(name):
        return REDACTED
    return HIDDEN if is_cvv_name(name) else None


def stand_in(value: Any, hidden: str) -> Any:
    """What a hidden JSON value is recorded as: nothing of it, but its JSON type (``json_type``).

    A re-check of the recording then judges the type as the live run did: a CVV sent as an array was
    refused live, and a string in its place would look acceptable.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return 0 if json_type(value) == "integer" else 0.5
    if isinstance(value, list):
        return [hidden]
    if isinstance(value, dict):
        return {}
    return hidden


def json_type(value: Any) -> str:
    """The JSON Schema type of a parsed JSON value (an integral float is an ``integer``, as JSON Schema says)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    return {float: "number", str: "string", list: "array", dict: "object"}.get(type(value), type(value).__name__)


def recorded_value(name: str, value: str) -> str:
    """A form field's or query parameter's value as a recording keeps it: hidden by its name, or scrubbed."""
    hidden = hidden_value(name)
    return hidden if hidden is not None and value else scrub_text(value)[0]


def _in_a_number(text: str, found: Found) -> bool:
    """Whether a card number found in ``text`` is digits of a decimal number (``4.111111111111111e-308``)."""
    span, after = text[found.start : found.end], text[found.end : found.end + 2]
    if (after[:1] == "." and after[1:].isdigit()) or _EXPONENT.match(text, found.end):
        return True
    if found.start >= 2 and text[found.start - 1] == "." and text[found.start - 2].isdigit():
        return True
    return span.count(".") == 1 and span.replace(".", "").isdigit()


def shows_card(text: str, key: str = "") -> bool:
    """Whether ``text`` (held under ``key``) is card data: a card number standing alone, or a CVV."""
    if any(not _in_a_number(text, found) for found in find_card_numbers(text, known_test_cards())):
        return True
    if key and is_cvv_name(key) and any(c.isdigit() for c in text):
        return True  # a CVV's key: any digits under it are a CVV
    return any(
        found.kind == "cvv" and any(c.isdigit() for c in text[found.start : found.end]) for found in find_keyed(text)
    )  # ``securityCode: 987`` inside a text


def scrub_text(text: str) -> tuple[str, bool, bool]:
    """Text (a body that is not JSON, a header, a query value) without secrets.

    Returns:
        ``(text, whether anything was taken out, whether it showed card data)``.
    """
    scrubbed = redact(text)
    return scrubbed, scrubbed != text, shows_card(text)


def scrub_path(path: str) -> str:
    """A URL path without secrets, also when it holds them percent-encoded (``/notes/%EF%BC%94...``)."""
    scrubbed = scrub_text(path)[0]
    decoded = unquote(scrubbed)
    if decoded != scrubbed and redact(decoded) != decoded:
        return quote(redact(decoded), safe="/;:@!$&'()*+,=-._~")
    return scrubbed


def _scalar(value: str | int | float, pointer: str, key: str) -> tuple[Any, list[str], list[str]]:
    """A string or number with card data masked (a masked number becomes a string).

    A number is masked wherever it is, but shows card data only under a card's name
    (``is_card_name``): a fuzzer's integer echoed under any other name is no card a backend leaked.
    """
    text = value if isinstance(value, str) else json.dumps(value)
    scrubbed = redact(text)
    kept: Any = value if scrubbed == text else scrubbed
    shown = shows_card(text) and (isinstance(value, str) or is_card_name(key))
    return kept, [pointer] if scrubbed != text else [], [pointer] if shown else []


def scrub_json(value: Any, pointer: str = "", key: str = "") -> tuple[Any, list[str], list[str]]:
    """A JSON value without secrets.

    Args:
        value: the parsed JSON.
        pointer: where ``value`` is (its pointers are relative to this).
        key: the name ``value`` is held under (a CVV is known by its key).

    Returns:
        ``(value, pointers of what was taken out, pointers of card data shown)``.
    """
    hidden = hidden_value(key) if key else None
    if hidden is not None and value not in _EMPTY:
        a_cvv = hidden == HIDDEN and any(c.isdigit() for c in json.dumps(value))
        return stand_in(value, hidden), [pointer], [pointer] if a_cvv else []
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        secrets: list[str] = []
        cards: list[str] = []
        for name, child in value.items():
            shown = redact(str(name))
            where = f"{pointer}/{escape(shown)}"
            if shown != str(name):  # a card number as a key
                secrets.append(where)
                cards += [where] if shows_card(str(name)) else []
            out[shown], found, carded = scrub_json(child, where, str(name))
            secrets += found
            cards += carded
        return out, secrets, cards
    if isinstance(value, list):
        items: list[Any] = []
        secrets, cards = [], []
        for index, child in enumerate(value):
            item, found, carded = scrub_json(child, f"{pointer}/{index}", key)
            items.append(item)
            secrets += found
            cards += carded
        return items, secrets, cards
    if isinstance(value, bool) or value is None:
        return value, [], []
    if isinstance(value, str | int | float):
        return _scalar(value, pointer, key)
    return value, [], []


PSEUDONYM_PREFIX = "villa-redacted."


def token_key_pseudonym(authorization: str) -> str | None:
    """The pseudonym of the key of a ``Token <key>`` header (a pseudonym stays as it is); None for another scheme.

    Example:
        >>> token_key_pseudonym("Token 0123456789abcdef")
        'villa-redacted.9f9f5111f7b27a78'
    """
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "token" or not key:
        return None
    if key.startswith(PSEUDONYM_PREFIX):
        return key
    return PSEUDONYM_PREFIX + hashlib.sha256(key.encode()).hexdigest()[:16]


def scrub_authorization(value: str) -> str:
    """An ``Authorization`` value that keeps its ID token's ``sub`` (or its token key's pseudonym) and nothing usable.

    Example:
        >>> scrub_authorization("Basic dXNlcjpwdw==")
        'Basic [redacted]'
    """
    pseudonym = token_key_pseudonym(value)
    if pseudonym is not None:
        return f"Token {pseudonym}"
    scheme, _, credential = value.strip().rpartition(" ")
    prefix = f"{scheme} " if scheme else ""
    parts = credential.split(".")
    if len(parts) == 3:
        try:
            payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, TypeError):
            payload = None
        if isinstance(payload, dict) and isinstance(payload.get("sub"), str):
            # A leading space keeps it JSON but not "eyJ…": nothing in a recording looks like a real token.
            kept = b" " + json.dumps({"sub": payload["sub"]}, separators=(",", ":")).encode()
            return f"{prefix}villa-redacted.{base64.urlsafe_b64encode(kept).decode().rstrip('=')}.redacted"
    return f"{prefix}{REDACTED}" if credential else value


def scrub_headers(headers: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Headers without secrets.

    Returns:
        ``(headers, pointers of redacted ones, pointers of those with card data)``, pointers as
        ``/headers/<name>``.
    """
    out: list[tuple[str, str]] = []
    secrets: list[str] = []
    cards: list[str] = []
    for name, value in headers:
        where = f"/headers/{escape(name.lower())}"
        if name.lower() in ("authorization", "proxy-authorization"):
            scrubbed = scrub_authorization(value)
        elif hidden_value(name) is not None and value:
            scrubbed = str(hidden_value(name))
            if shows_card(value, name):
                cards.append(where)
        else:
            scrubbed, _, carded = scrub_text(value)
            if carded:
                cards.append(where)
        if scrubbed != value:
            secrets.append(where)
        out.append((name, scrubbed))
    return out, secrets, cards


def card_pointers(body: Any, headers: Sequence[tuple[str, str]] = (), *, text: str | None = None) -> tuple[str, ...]:
    """Where an answer shows card data: JSON pointers into its body, and ``/headers/<name>``.

    Args:
        body: the parsed body (a JSON value, a form, or text), None when it was not parsed.
        headers: the answer's headers.
        text: the raw body as text, for a body that did not parse.
    """
    found: list[str] = []
    if isinstance(body, dict | list):
        found += scrub_json(body)[2]
    elif isinstance(body, str | int | float) and not isinstance(body, bool):
        found += scrub_json(body)[2]
    elif text is not None and scrub_text(text)[2]:
        found.append("")
    found += scrub_headers(headers)[2]
    return tuple(found)
