"""Verify a Cognito ID token against its pool's JWKS (signature, issuer, audience, expiry, use).

Verification trusts only the configured issuer (the configured pool at the configured Cognito):
the JWKS is fetched from that issuer, never from the ``iss`` a token claims, so a token signed by
any other pool is refused before a key is looked up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from jose import jwt
from jose.exceptions import JOSEError

from villa_contracts.client._auth import AuthError, unverified_claims
from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import decode_body

ALGORITHMS = ["RS256"]


@dataclass(frozen=True, slots=True)
class VerifiedIdToken:
    """The claims of an ID token whose signature, issuer, audience, expiry and use were checked.

    Attributes:
        sub: the user's id (what ``ownerId`` must be).
        email: the user's e-mail, when the token carries it.
        username: ``cognito:username``, when present.
        exp: expiry, Unix seconds.
        claims: every claim.

    """

    sub: str
    email: str | None
    username: str | None
    exp: int
    claims: dict[str, Any] = field(repr=False)


class IdTokenVerifier:
    """Verifies ID tokens of the configured pool; the pool's JWKS is fetched once and cached.

    Args:
        settings: the Cognito settings (client id, pool, region or endpoint).
        http: the HTTP client that reaches Cognito.

    """

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self._settings = settings
        self._http = http
        self._keys: dict[str, dict[str, Any]] = {}

    def _fetch_keys(self, issuer: str) -> None:
        url = f"{issuer}/.well-known/jwks.json"
        try:
            response = self._http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise AuthError("JwksUnavailable", f"cannot fetch {url}: {type(exc).__name__}") from None
        body = decode_body(response)
        if not response.is_success or not isinstance(body, dict) or not isinstance(body.get("keys"), list):
            raise AuthError("JwksUnavailable", f"{url} answered HTTP {response.status_code} without a JWKS")
        self._keys = {str(k["kid"]): k for k in body["keys"] if isinstance(k, dict) and "kid" in k}

    def _key(self, issuer: str, kid: str) -> dict[str, Any]:
        if kid not in self._keys:
            self._fetch_keys(issuer)  # first use, or the pool rotated its keys
        key = self._keys.get(kid)
        if key is None:
            raise AuthError("InvalidToken", f"the token's key id {kid!r} is not in the pool's JWKS")
        return key

    def verify(self, token: str, *, access_token: str | None = None) -> VerifiedIdToken:
        """Verify an ID token: RS256 signature by the pool's key, ``iss``, ``aud``, ``exp``, ``token_use``.

        Args:
            token: the ID token.
            access_token: the access token issued with it; when given, ``at_hash`` is checked too.

        Returns:
            The verified claims.

        Raises:
            ConfigError: the Cognito settings are incomplete.
            AuthError: the token is not a valid ID token of the configured pool and client
                (type ``InvalidToken``), or the JWKS cannot be fetched (``JwksUnavailable``).

        """
        self._settings.require_cognito()
        issuer = self._settings.issuer
        claims = unverified_claims(token)
        if claims.get("iss") != issuer:
            raise AuthError("InvalidToken", f"issuer {claims.get('iss')!r} is not the configured {issuer!r}")
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError as exc:
            raise AuthError("InvalidToken", f"bad JWT header: {exc}") from None
        if header.get("alg") not in ALGORITHMS:
            raise AuthError("InvalidToken", f"algorithm {header.get('alg')!r} is not RS256")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthError("InvalidToken", "the token's header has no key id (kid)")
        key = self._key(issuer, kid)
        options = {"require_exp": True, "require_aud": True, "require_iss": True, "require_sub": True}
        if access_token is None:
            options["verify_at_hash"] = False
        try:
            verified = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=self._settings.cognito_client_id,
                issuer=issuer,
                options=options,
                access_token=access_token,
            )
        except JOSEError as exc:
            raise AuthError("InvalidToken", f"ID token is not valid: {exc}") from None
        if verified.get("token_use") != "id":
            raise AuthError("InvalidToken", f"token_use is {verified.get('token_use')!r}, not 'id'")
        sub = verified.get("sub")
        if not isinstance(sub, str) or not sub:
            raise AuthError("InvalidToken", "the token has no sub")
        email, username = verified.get("email"), verified.get("cognito:username")
        return VerifiedIdToken(
            sub=sub,
            email=email if isinstance(email, str) else None,
            username=username if isinstance(username, str) else None,
            exp=int(verified["exp"]),
            claims=verified,
        )
