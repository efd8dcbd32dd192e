"""Take secrets out of what the proxy records: tokens, passwords, client secrets, card numbers and CVVs.

Pure functions over headers, JSON values and text. Card numbers and CVVs are masked by
``villa_contracts.redact`` (the one place that knows them, Luhn and the contract's test cards
included), which masks anything that may be one; secrets go by their key (``password``,
``secret``, ``token``, ``session``, ``apiKey``, the shop's ``X-Gateway-Key``, ``confirmationCode``…)
and JWTs by their shape.
Each function also says *where* it redacted (JSON pointers), so a re-check of a recording can tell
a redacted value from the original one, and where an answer *showed card data*: a card number
standing alone (the digits of a float such as ``1.1125369292536007e-308`` are masked all the same,
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

from villa_contracts.redact import known_test_cards, luhn_ok, redact

REDACTED = "[redacted]"
SECRET_KEY = re.compile(
    r"password|passwd|passphrase|secret|token|session|credential|api[-_]?key|gateway[-_]?key|confirmation_?code|"
    r"authorization|"
    r"cookie|^pass$|^pwd$|^otp$|^pin$",
    re.IGNORECASE,
)
"""A field, query parameter or header whose value is a secret, by its name."""
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_KEYED = re.compile(
    r"""(?P<key>["']?[\w-]*(?:password|passwd|secret|token|session|credential|api[-_]?key|gateway[-_]?key)"""
    r"""[\w-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"[^"]*"|'[^']*'|[^\s&,;}]+)""",
    re.IGNORECASE,
)
# A card number standing alone: not the digits of a decimal or of an exponent.
_CARD = re.compile(r"(?<![0-9.])[0-9](?:[ -]?[0-9]){12,18}(?![0-9]|\.[0-9]|[eE][+-]?[0-9])")
_LONG_DIGITS = re.compile(r"[0-9][0-9 .+-]{11,}[0-9]")


def escape(name: str) -> str:
    """A name as one JSON pointer segment."""
    return name.replace("~", "~0").replace("/", "~1")


def shows_card(text: str, key: str = "") -> bool:
    """Whether ``text`` (held under ``key``) is card data: a card number standing alone, or a CVV."""
    for match in _CARD.finditer(text):
        digits = re.sub(r"[^0-9]", "", match.group())
        if luhn_ok(digits) or digits in known_test_cards():
            return True
    if key and any(c.isdigit() for c in text):
        probe = json.dumps({key: "0"})
        if redact(probe) != probe:  # a CVV's key: any digits under it are a CVV
            return True
    without_numbers = _LONG_DIGITS.sub("", text)
    return redact(without_numbers) != without_numbers  # ``securityCode: 987`` inside a text


def scrub_text(text: str) -> tuple[str, bool, bool]:
    """Text (a body that is not JSON, a header, a query value) without secrets.

    Returns:
        ``(text, whether anything was taken out, whether it showed card data)``.
    """
    scrubbed = _JWT.sub(REDACTED, redact(text))
    scrubbed = _KEYED.sub(
        lambda m: m.group("key") + ('"[redacted]"' if m.group("value")[:1] in "\"'" else REDACTED), scrubbed
    )
    return scrubbed, scrubbed != text, shows_card(text)


def _leaf(key: str, value: str | int | float) -> tuple[Any, bool]:
    """A scalar with card data masked (judged with its key, for CVVs); whether anything was masked."""
    shown = value if isinstance(value, str) else json.dumps(value)
    before = json.dumps({key: shown})
    after = redact(before)
    if after == before:
        return value, False
    return json.loads(after)[key], True


def scrub_json(value: Any, pointer: str = "", key: str = "") -> tuple[Any, list[str], list[str]]:
    """A JSON value without secrets.

    Args:
        value: the parsed JSON.
        pointer: where ``value`` is (its pointers are relative to this).
        key: the name ``value`` is held under (a CVV is known by its key).

    Returns:
        ``(value, pointers of what was taken out, pointers of card data shown)``.
    """
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        secrets: list[str] = []
        cards: list[str] = []
        for name, child in value.items():
            where = f"{pointer}/{escape(str(name))}"
            if SECRET_KEY.search(str(name)) and child not in (None, "", [], {}):
                out[name] = REDACTED
                secrets.append(where)
                continue
            out[name], found, carded = scrub_json(child, where, str(name))
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
    if isinstance(value, int | float):
        number, masked = _leaf(key, value)
        shown = shows_card(json.dumps(value), key)
        return number, [pointer] if masked else [], [pointer] if shown else []
    if isinstance(value, str):
        text, _, _ = scrub_text(str(_leaf(key, value)[0]))
        return text, [pointer] if text != value else [], [pointer] if shows_card(value, key) else []
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
        elif SECRET_KEY.search(name):
            scrubbed = REDACTED
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
