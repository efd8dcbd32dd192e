"""Token keys of the shop API: ``Authorization: Token <key>`` (Django REST framework's TokenAuthentication).

A key is 40 random hex characters handed out once; only its SHA-256 is stored (``shop_token_keys``).
A key names a *customer identity*: ``user:<sub>`` for a user of the one user directory (the same
users the Villa login knows) or ``guest:anon_<12 hex>`` for an anonymous customer.
"""

from __future__ import annotations

import hashlib
from typing import Final

from mock_server.auth.tokens import Principal
from mock_server.errors import Unauthorized
from mock_server.ids import hex_id
from mock_server.storage import Storage

KEYS: Final = "shop_token_keys"
_HOW = "send 'Authorization: Token <key>' with a key from POST /api/shop/auth/token (or /api/shop/auth/guest)"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenKeys:
    """Issued token keys, kept in storage."""

    def __init__(self, store: Storage) -> None:
        """Keep keys in ``store``."""
        self._store = store

    def issue(self, identity: str, username: str, email: str | None) -> str:
        """A new key for ``identity`` (the key itself is never stored)."""
        key = hex_id("", 20)
        self._store.put(KEYS, _digest(key), {"identity": identity, "username": username, "email": email})
        return key

    def principal(self, authorization: str | None) -> Principal:
        """The customer behind an ``Authorization: Token <key>`` header.

        Raises:
            Unauthorized: no header, another scheme, or a key this mock never issued. The message
                never contains the key.
        """
        if authorization is None or not authorization.strip():
            raise Unauthorized(f"authentication required: {_HOW}")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "token":
            shown = repr(scheme) if scheme.isalpha() and len(scheme) <= 20 else "this scheme"
            raise Unauthorized(f"Authorization scheme {shown} is not accepted by the shop API: {_HOW}")
        key = key.strip()
        record = self._store.get(KEYS, _digest(key)) if key and len(key) <= 256 else None
        if record is None:
            raise Unauthorized(f"invalid token key: {_HOW}")
        return Principal(sub=str(record["identity"]), username=str(record["username"]), email=record.get("email"))
