"""Cognito-shaped JWTs: issuing ID and access tokens, and verifying them on every request.

Verification runs before every secured Villa call, so successful verifications are cached per token
string (bounded); ``exp`` is still compared with the injected clock on every call, so advancing the
mock's clock expires cached tokens too. The checks, in order: well-formed JWT, header ``alg`` is
exactly RS256 (no ``none``, no HS256 keyed with the public key), ``kid`` is this pool's key, RS256
signature, ``token_use``, ``iss``, audience, ``sub``, ``exp``/``nbf`` against the clock.
Messages say what is wrong and never contain the token.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from jose import jws
from jose.exceptions import JOSEError

from mock_server.auth.keys import ALGORITHM, SigningKey
from mock_server.auth.pool import PoolConfig
from villa_contracts.domain.clock import Clock

_MAX_TOKEN_CHARS = 16_384
_ACCESS_SCOPE = "aws.cognito.signin.user.admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who called, according to a verified ID token.

    Attributes:
        sub: the user's immutable id (Villa's ``ownerId``).
        username: the ``cognito:username`` claim.
        email: the ``email`` claim, when the token has one.
        claims: every claim of the token (shared with a cache: read it, do not change it).

    """

    sub: str
    username: str
    email: str | None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, hash=False, repr=False)


class TokenRejected(Exception):
    """A token failed verification; ``expired`` tells an expiry from every other reason."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        """Reject with ``message`` (never containing the token)."""
        super().__init__(message)
        self.message = message
        self.expired = expired


def _number(claims: dict[str, Any], name: str, label: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"{label} has no numeric {name!r} claim")
    return float(value)


class TokenService:
    """Signs tokens for the pool and verifies them against the pool's key, issuer and clients."""

    def __init__(self, *, key: SigningKey, pool: PoolConfig, clock: Clock, issuer: str, cache_size: int = 4096) -> None:
        """Issue and verify with ``key`` for ``pool`` as ``issuer``; time comes from ``clock``."""
        self._key = key
        self._pool = pool
        self._clock = clock
        self.issuer = issuer
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- issuing -------------------------------------------------------------------------------

    def issue(self, user: dict[str, Any], client_id: str, *, auth_time: int | None = None) -> tuple[str, str]:
        """Issue an ``(IdToken, AccessToken)`` pair for ``user`` on ``client_id``, valid from the clock's now.

        Args:
            user: the user record (``sub``, ``username``, ``email``).
            client_id: the app client (the ID token's ``aud``, the access token's ``client_id``).
            auth_time: when the user last entered a password; now by default (refreshes keep it).

        """
        iat = int(self._clock.now())
        common = {
            "sub": user["sub"],
            "iss": self.issuer,
            "origin_jti": str(uuid.uuid4()),
            "event_id": str(uuid.uuid4()),
            "auth_time": iat if auth_time is None else auth_time,
            "iat": iat,
            "exp": iat + self._pool.token_validity_seconds,
        }
        id_claims: dict[str, Any] = {
            **common,
            "aud": client_id,
            "token_use": "id",
            "cognito:username": user["username"],
            "jti": str(uuid.uuid4()),
        }
        if user.get("email"):
            id_claims |= {"email": user["email"], "email_verified": True}
        access_claims = {
            **common,
            "client_id": client_id,
            "token_use": "access",
            "scope": _ACCESS_SCOPE,
            "username": user["username"],
            "jti": str(uuid.uuid4()),
        }
        return self._key.sign(id_claims), self._key.sign(access_claims)

    # -- verifying -----------------------------------------------------------------------------

    def verify_id_token(self, token: str) -> Principal:
        """Return the principal of a valid ID token.

        Raises:
            TokenRejected: the token is malformed, forged, expired or not an ID token of this pool.

        """
        hit = self._cache.get(token)  # one dict lookup is atomic: the lock guards the writes (and their eviction)
        if hit is not None:
            principal, exp = hit
            self._check_time(exp, principal.claims.get("nbf"), "ID token")
            return principal
        claims = self._verified_claims(token, "id", "ID token")
        aud = claims.get("aud")
        if not isinstance(aud, str) or aud not in self._pool.client_ids:
            raise TokenRejected("ID token audience (aud) is not an app client of this user pool")
        username = claims.get("cognito:username")
        if not isinstance(username, str) or not username:
            raise TokenRejected("ID token has no 'cognito:username' claim")
        email = claims.get("email")
        principal = Principal(
            sub=claims["sub"], username=username, email=email if isinstance(email, str) else None, claims=claims
        )
        with self._lock:
            if len(self._cache) >= self._cache_size:
                # Drop the oldest entry (dicts keep insertion order): cheap and good enough for a mock.
                self._cache.pop(next(iter(self._cache)))
            self._cache[token] = (principal, float(claims["exp"]))
        return principal

    def verify_access_token(self, token: str) -> dict[str, Any]:
        """Return the claims of a valid access token of this pool.

        Raises:
            TokenRejected: the token is malformed, forged, expired or not an access token of this pool.

        """
        claims = self._verified_claims(token, "access", "access token")
        if claims.get("client_id") not in self._pool.client_ids:
            raise TokenRejected("access token client_id is not an app client of this user pool")
        if not isinstance(claims.get("username"), str):
            raise TokenRejected("access token has no 'username' claim")
        return claims

    def forget_cache(self) -> None:
        """Drop every cached verification."""
        with self._lock:
            self._cache.clear()

    def _verified_claims(self, token: str, token_use: str, label: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise TokenRejected(f"{label} is empty")
        if len(token) > _MAX_TOKEN_CHARS:
            raise TokenRejected(f"{label} is too long to be a JWT")
        if token.count(".") != 2:
            raise TokenRejected(f"{label} is malformed: a JWT has three dot-separated parts")
        try:
            header = jws.get_unverified_header(token)
        except (JOSEError, ValueError, TypeError, KeyError):
            raise TokenRejected(f"{label} is malformed: its parts are not base64url-encoded JSON") from None
        alg = header.get("alg")
        if alg != ALGORITHM:
            if not isinstance(alg, str):
                raise TokenRejected(f"{label} header has no string 'alg': only RS256 is accepted")
            raise TokenRejected(f"{label} algorithm {alg[:20]!r} is not accepted: only RS256 is")
        if header.get("kid") != self._key.kid:
            raise TokenRejected(f"{label} was signed with an unknown key (its kid is not in this pool's JWKS)")
        try:
            payload = jws.verify(token, self._key.verifier, algorithms=[ALGORITHM])
            claims = json.loads(payload.decode("utf-8"))
        except JOSEError:
            raise TokenRejected(f"{label} signature is invalid") from None
        except (ValueError, TypeError, KeyError):
            raise TokenRejected(f"{label} is malformed: its payload is not JSON") from None
        if not isinstance(claims, dict):
            raise TokenRejected(f"{label} is malformed: its payload is not a JSON object")
        use = claims.get("token_use")
        if use != token_use:
            shown = repr(use[:20]) if isinstance(use, str) else "missing"
            raise TokenRejected(f"token_use is {shown}, not {token_use!r}: this is not an {label}")
        if claims.get("iss") != self.issuer:
            raise TokenRejected(f"{label} issuer (iss) is not this user pool ({self.issuer})")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise TokenRejected(f"{label} has no 'sub' claim")
        _number(claims, "iat", label)
        self._check_time(_number(claims, "exp", label), claims.get("nbf"), label)
        return claims

    def _check_time(self, exp: float, nbf: Any, label: str) -> None:
        now = self._clock.now()
        if now >= exp:
            raise TokenRejected(f"{label} has expired ({int(now - exp)} s ago); log in again", expired=True)
        if isinstance(nbf, int | float) and not isinstance(nbf, bool) and now < nbf:
            raise TokenRejected(f"{label} is not valid yet (nbf is in the future)")
