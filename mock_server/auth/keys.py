"""The pool's RSA signing key: created once, kept in storage, published as a JWKS.

The key is filed under the storage kind ``cognito_keys`` so that, with the SQLite store, tokens
issued before a restart still verify after it. Its ``kid`` is the RFC 7638 thumbprint of the public
key, so it is stable for as long as the key is.

Example:
    >>> from mock_server.storage import MemoryStorage
    >>> key = SigningKey.load_or_create(MemoryStorage())
    >>> key.jwks()["keys"][0]["alg"]
    'RS256'

"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import threading
import time
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt
from jose.backends.base import Key

from mock_server.storage import MemoryStorage, Storage

KIND = "cognito_keys"
_RECORD_KEY = "signing"
ALGORITHM = "RS256"

# Generating a 2048-bit key costs tens of milliseconds and a test suite builds hundreds of in-memory
# mocks, so a process makes one key for all of its fresh in-memory stores. Mocks still differ by
# issuer (it holds the base URL), and a SQLite store keeps whatever key it was first given.
_process_pem: str | None = None
_process_lock = threading.Lock()


def _generate_pem() -> str:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def _fresh_pem(store: Storage) -> str:
    global _process_pem
    if not isinstance(store, MemoryStorage):
        return _generate_pem()
    with _process_lock:
        if _process_pem is None:
            _process_pem = _generate_pem()
        return _process_pem


def _thumbprint(public: dict[str, Any]) -> str:
    # RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
    canonical = json.dumps({"e": public["e"], "kty": "RSA", "n": public["n"]}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=16)
def _parsed(pem: str) -> tuple[Key, Key, dict[str, Any]]:
    # jose Key objects are built once per PEM: parsing one (~40 ms) on every verification would dominate its
    # cost, and mocks made again in one process (tests, a side-by-side gate's parts) share the process's key.
    private: Key = jwk.construct(pem, ALGORITHM)
    public: Key = private.public_key()
    return private, public, public.to_dict()


class SigningKey:
    """An RS256 key pair with its ``kid``; signs tokens and verifies signatures.

    Build it with ``load_or_create``. The private half never leaves this object except into storage.
    """

    def __init__(self, pem: str) -> None:
        """Wrap the PKCS#8 PEM private key ``pem``."""
        self._pem = pem
        self._private, self._public, public = _parsed(pem)
        self.kid: str = _thumbprint(public)
        self._jwk: dict[str, str] = {
            "kty": "RSA",
            "alg": ALGORITHM,
            "use": "sig",
            "kid": self.kid,
            "n": public["n"],
            "e": public["e"],
        }

    def __repr__(self) -> str:
        """Show the kid only: the key itself is a secret."""
        return f"SigningKey(kid={self.kid!r})"

    @classmethod
    def load_or_create(cls, store: Storage) -> SigningKey:
        """Return the key kept in ``store``, creating and storing one first if there is none."""
        record = store.get(KIND, _RECORD_KEY)
        if record is None:
            # insert() only stores when the slot is free, so two mocks opening the same SQLite file
            # at once agree on one key: the loser reads the winner's.
            store.insert(KIND, _RECORD_KEY, {"pem": _fresh_pem(store), "createdAt": time.time()})
            record = store.get(KIND, _RECORD_KEY)
        if record is None or not isinstance(record.get("pem"), str):
            raise RuntimeError(f"storage kind {KIND!r} holds no usable signing key")
        return cls(record["pem"])

    def persist(self, store: Storage) -> None:
        """Put the key back into ``store`` (after a ``store.reset()`` wiped it)."""
        if store.get(KIND, _RECORD_KEY) is None:
            store.put(KIND, _RECORD_KEY, {"pem": self._pem, "createdAt": time.time()})

    @property
    def verifier(self) -> Key:
        """The public key as a python-jose ``Key`` (what ``jws.verify`` wants)."""
        return self._public

    def public_pem(self) -> str:
        """Return the public key as PEM text (tests build forged HS256 tokens with it)."""
        pem = self._public.to_pem()
        return pem.decode("ascii") if isinstance(pem, bytes) else str(pem)

    def jwk(self) -> dict[str, str]:
        """Return the public key as a JWK with ``kid``, ``alg`` and ``use``."""
        return dict(self._jwk)

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """Return the JWKS document served at ``/<pool>/.well-known/jwks.json``."""
        return {"keys": [self.jwk()]}

    def sign(self, claims: dict[str, Any]) -> str:
        """Sign ``claims`` into a compact RS256 JWS whose header names this key's ``kid``."""
        token: str = jwt.encode(claims, self._private, algorithm=ALGORITHM, headers={"kid": self.kid})
        return token
