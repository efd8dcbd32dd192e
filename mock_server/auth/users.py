"""The pool's records: users (with salted password hashes) and their refresh tokens.

Users are filed under the storage kind ``cognito_users`` by their folded user name (new Cognito
pools match user names case-insensitively), with an index ``cognito_subs`` from ``sub`` to that
key. Refresh tokens are opaque random strings; only their SHA-256 is stored, under
``cognito_refresh``. Failures are raised as ``CognitoError`` with Cognito's own wording.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from typing import Any, Final

from mock_server.auth.errors import INVALID_PARAMETER, USER_NOT_FOUND, USERNAME_EXISTS, CognitoError
from mock_server.ids import RANDOM, IdSource
from mock_server.storage import Storage
from villa_contracts.domain.clock import Clock

USERS: Final = "cognito_users"
SUBS: Final = "cognito_subs"
REFRESH: Final = "cognito_refresh"
CONFIRMED: Final = "CONFIRMED"
UNCONFIRMED: Final = "UNCONFIRMED"

# scrypt at a mock-grade cost: a salted, memory-hard hash, cheap enough that seeding users on every
# reset stays in the low milliseconds. The parameters are stored with each hash.
_SCRYPT = {"n": 2**12, "r": 8, "p": 1}
_DUMMY_SALT = b"villa-mock-dummy"


def hash_password(password: str) -> dict[str, Any]:
    """Hash ``password`` with a fresh salt (scrypt) into a JSON-ready record."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return {"scheme": "scrypt", **_SCRYPT, "salt": _b64(salt), "hash": _b64(digest)}


def password_matches(password: str, record: dict[str, Any] | None) -> bool:
    """Whether ``password`` matches the stored hash (constant time; a None record never matches).

    A missing user still costs one hash, so that timing does not tell which user names exist.
    """
    if record is None or record.get("scheme") != "scrypt":
        hashlib.scrypt(password.encode(), salt=_DUMMY_SALT, dklen=32, **_SCRYPT)
        return False
    salt = base64.b64decode(record["salt"])
    params = {k: int(record[k]) for k in ("n", "r", "p")}
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **params)
    return hmac.compare_digest(digest, base64.b64decode(record["hash"]))


def public_view(user: dict[str, Any]) -> dict[str, Any]:
    """Return what the mock shows of a user: never the password hash."""
    return {"username": user["username"], "sub": user["sub"], "email": user.get("email"), "status": user["status"]}


def attributes(user: dict[str, Any]) -> list[dict[str, str]]:
    """Return the user's attributes as Cognito lists them (``sub``, ``email``, ``email_verified``)."""
    attrs = [{"Name": "sub", "Value": user["sub"]}]
    if user.get("email"):
        attrs += [{"Name": "email", "Value": user["email"]}, {"Name": "email_verified", "Value": "true"}]
    return attrs


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _key(username: str) -> str:
    return username.casefold()


def check_username(username: str) -> None:
    """Refuse a user name that holds a control character (Unicode ``Cc``: NUL, tab, line breaks, DEL, C1).

    Such a name cannot be told apart from another when shown, logged or compared, so no user gets one
    (sign-up, the admin API, the contract's data alike).

    Raises:
        CognitoError: ``InvalidParameterException`` naming the character and where it is.
    """
    for index, char in enumerate(username):
        if unicodedata.category(char) == "Cc":
            raise CognitoError(
                INVALID_PARAMETER,
                f"Username must not contain control characters: U+{ord(char):04X} at position {index}",
            )


def user_record(
    username: str, *, sub: str, email: str | None, status: str, password_hash: dict[str, Any], now: float
) -> dict[str, Any]:
    """A user as the directory files it under ``USERS`` (its ``SUBS`` entry is ``{"key": record["key"]}``)."""
    return {
        "key": _key(username),
        "username": username,
        "sub": sub,
        "email": email,
        "status": status,
        "enabled": True,
        "passwordHash": password_hash,
        "createdAt": now,
        "updatedAt": now,
    }


class UserDirectory:
    """Users of the pool, kept in storage."""

    def __init__(self, store: Storage, clock: Clock, ids: IdSource = RANDOM) -> None:
        """Keep users in ``store``; timestamps come from ``clock``, new subs from ``ids``."""
        self._store = store
        self._clock = clock
        self._ids = ids

    def get(self, username: str) -> dict[str, Any] | None:
        """Return the user record (with its hash) for ``username`` or for a ``sub``, or None."""
        user = self._store.get(USERS, _key(username))
        if user is None:
            index = self._store.get(SUBS, username)
            user = self._store.get(USERS, index["key"]) if index else None
        return user

    def require(self, username: str, message: str = "User does not exist.") -> dict[str, Any]:
        """Return the user record, or raise ``UserNotFoundException`` with ``message``."""
        user = self.get(username)
        if user is None:
            raise CognitoError(USER_NOT_FOUND, message)
        return user

    def create(
        self, username: str, password: str, *, email: str | None, confirmed: bool, sub: str | None = None
    ) -> dict[str, Any]:
        """Store a new user and return its record (the password policy is the caller's business).

        Raises:
            CognitoError: ``UsernameExistsException`` when the name (or the given ``sub``) is taken,
                ``InvalidParameterException`` when it holds a control character.

        """
        check_username(username)
        sub = sub or self._ids.uuid_id()
        status = CONFIRMED if confirmed else UNCONFIRMED
        user = user_record(username, sub=sub, email=email, status=status, password_hash=hash_password(password),
                           now=self._clock.now())  # fmt: skip
        key = user["key"]
        with self._store.transaction():
            if self._store.get(SUBS, sub) is not None or not self._store.insert(USERS, key, user):
                raise CognitoError(USERNAME_EXISTS, "User already exists")
            self._store.put(SUBS, sub, {"key": key})
        return user

    def confirm(self, username: str) -> dict[str, Any]:
        """Mark the user CONFIRMED (the caller checks the previous status) and return the record."""
        with self._store.transaction():
            user = self.require(username)
            user["status"] = CONFIRMED
            user["updatedAt"] = self._clock.now()
            self._store.put(USERS, user["key"], user)
        return user

    def all(self) -> list[dict[str, Any]]:
        """Every user record, ordered by user name."""
        return sorted(self._store.values(USERS), key=lambda u: str(u["key"]))

    def clear(self) -> None:
        """Forget every user."""
        with self._store.transaction():
            for user in self._store.values(USERS):
                self._store.delete(USERS, user["key"])
                self._store.delete(SUBS, user["sub"])


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RefreshTokens:
    """Opaque refresh tokens; storage holds their hashes, never the tokens."""

    def __init__(self, store: Storage, clock: Clock, validity_seconds: int) -> None:
        """Keep token records in ``store``; tokens live ``validity_seconds``."""
        self._store = store
        self._clock = clock
        self._validity = validity_seconds

    def issue(self, user: dict[str, Any], client_id: str, auth_time: int) -> str:
        """Issue a new refresh token for ``user`` on ``client_id``."""
        token = secrets.token_urlsafe(64)
        now = self._clock.now()
        record = {
            "digest": _digest(token),
            "userKey": user["key"],
            "clientId": client_id,
            "authTime": auth_time,
            "issuedAt": now,
            "expiresAt": now + self._validity,
        }
        self._store.put(REFRESH, record["digest"], record)
        return token

    def find(self, token: str) -> dict[str, Any] | None:
        """Return the record of a refresh token (expired or not), or None when unknown."""
        if not token or len(token) > 4096:
            return None
        return self._store.get(REFRESH, _digest(token))

    def expired(self, record: dict[str, Any]) -> bool:
        """Whether the token behind ``record`` has expired by the clock."""
        return self._clock.now() >= float(record["expiresAt"])

    def clear(self) -> None:
        """Forget every refresh token."""
        with self._store.transaction():
            for record in self._store.values(REFRESH):
                self._store.delete(REFRESH, record["digest"])
