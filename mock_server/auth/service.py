"""``AuthService``: the mock's Cognito-compatible user pool, as the rest of the mock uses it.

It ties together the pool settings, the users and refresh tokens in storage, the signing key and
the token service, and offers three faces: ``principal_from_header`` for secured Villa calls,
``routes()`` for AWS SDKs and OIDC clients, and a small Python API for the admin routes and tests.

Example:
    >>> from mock_server.storage import MemoryStorage
    >>> from villa_contracts.contract import load
    >>> from villa_contracts.domain.clock import AdjustableClock
    >>> auth = AuthService.from_contract(load(), store=MemoryStorage(), clock=AdjustableClock(),
    ...                                  base_url="http://127.0.0.1:8080")
    >>> auth.seed_users(load().data("users"))
    >>> token = auth.issue_tokens("test.user@villa.example")["IdToken"]
    >>> auth.principal_from_header(f"Bearer {token}").sub
    '7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11'

"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from mock_server.auth.errors import CognitoError
from mock_server.auth.keys import SigningKey
from mock_server.auth.operations import CognitoOperations
from mock_server.auth.pool import PoolConfig
from mock_server.auth.protocol import protocol_routes
from mock_server.auth.token_keys import TokenKeys
from mock_server.auth.tokens import Principal, TokenRejected, TokenService
from mock_server.auth.users import CONFIRMED, RefreshTokens, UserDirectory, password_matches, public_view
from mock_server.errors import BadRequest, Conflict, NotFound, Unauthorized
from mock_server.ids import RANDOM, IdSource
from mock_server.storage import Storage
from villa_contracts.domain.clock import Clock
from villa_contracts.domain.shop import KeyPolicy, ShopData
from villa_contracts.errors import ContractError

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts

_BEARER = "bearer"


class AuthService:
    """The emulated Cognito user pool of one mock."""

    def __init__(
        self,
        *,
        pool: PoolConfig,
        store: Storage,
        clock: Clock,
        issuer: str,
        key_policy: Callable[[], KeyPolicy],
        ids: IdSource = RANDOM,
    ) -> None:
        """Serve ``pool`` from ``store``: tokens dated by ``clock`` and signed as ``issuer``, new subs from ``ids``.

        ``key_policy()`` bounds the shop's token keys (read on first use: a mock without the shop never reads it).
        """
        self.pool = pool
        self.issuer = issuer
        self._store = store
        self._clock = clock
        self._key = SigningKey.load_or_create(store)
        self._users = UserDirectory(store, clock, ids)
        self._refresh = RefreshTokens(store, clock, pool.refresh_token_validity_seconds)
        self._tokens = TokenService(key=self._key, pool=pool, clock=clock, issuer=issuer)
        self.token_keys = TokenKeys(store, clock, key_policy)
        """The shop API's ``Authorization: Token <key>`` keys (for the same users)."""
        self._operations = CognitoOperations(
            pool=pool, users=self._users, refresh=self._refresh, tokens=self._tokens, clock=clock
        )

    @classmethod
    def from_contract(
        cls, contracts: Contracts, *, store: Storage, clock: Clock, base_url: str, ids: IdSource = RANDOM
    ) -> AuthService:
        """Build the pool of ``contracts.data("cognito")``, issuing as ``<base_url>/<userPoolId>``."""
        pool = PoolConfig.from_data(contracts.data("cognito"))
        issuer = f"{base_url.rstrip('/')}/{pool.user_pool_id}"
        return cls(
            pool=pool,
            store=store,
            clock=clock,
            issuer=issuer,
            key_policy=lambda: ShopData.from_contract(contracts).token_keys,
            ids=ids,
        )

    @property
    def signing_key(self) -> SigningKey:
        """The pool's signing key (its ``kid``, JWKS and public PEM)."""
        return self._key

    # -- users -----------------------------------------------------------------------------------

    def seed_users(self, users: list[dict[str, Any]]) -> None:
        """Create the contract's test users, CONFIRMED, keeping their ``sub``; existing ones are skipped.

        Raises:
            ContractError: an entry lacks a user name or password, or its password breaks the policy.

        """
        for index, entry in enumerate(users):
            where = f"contracts/data/users.yaml entry {index}"
            if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
                raise ContractError(f"{where} needs a string 'username'")
            if not isinstance(entry.get("password"), str):
                raise ContractError(f"{where} ({entry['username']}) needs a string 'password'")
            if self._users.get(entry["username"]) is not None:
                continue
            try:
                self._operations.check_password(entry["password"])
                self._users.create(
                    entry["username"],
                    entry["password"],
                    email=entry.get("email"),
                    confirmed=True,
                    sub=entry.get("sub"),
                )
            except CognitoError as exc:
                if self._users.get(entry["username"]) is not None:
                    continue  # another process sharing the store seeded it first
                raise ContractError(f"{where} ({entry['username']}): {exc.message}") from None

    def admin_create_user(
        self,
        username: str,
        password: str,
        *,
        email: str | None = None,
        confirmed: bool = True,
        sub: str | None = None,
    ) -> dict[str, Any]:
        """Create a user directly (no secret hash, no code) and return its public view.

        Raises:
            BadRequest: the password breaks the pool's policy, or the user name is empty.
            Conflict: the user name or ``sub`` is taken.

        """
        if not username.strip():
            raise BadRequest("a user needs a non-empty username")
        try:
            self._operations.check_password(password)
            return public_view(self._users.create(username, password, email=email, confirmed=confirmed, sub=sub))
        except CognitoError as exc:
            raise exc.as_mock_error() from None

    def admin_confirm_user(self, username: str) -> None:
        """Confirm a user (a no-op when already confirmed).

        Raises:
            NotFound: there is no such user.

        """
        if self._users.get(username) is None:
            raise NotFound(f"no user named {username!r}")
        self._users.confirm(username)

    def check_password(self, username: str, password: str) -> dict[str, Any] | None:
        """The public view of a confirmed, enabled user whose password this is; None otherwise.

        One answer for an unknown user and a wrong password (no user enumeration), at the cost of
        one hash either way.
        """
        user = self._users.get(username)
        if not password_matches(password, user["passwordHash"] if user else None) or user is None:
            return None
        if user["status"] != CONFIRMED or not user.get("enabled", True):
            return None
        return public_view(user)

    def sub_of(self, username: str) -> str | None:
        """The ``sub`` of ``username`` (None: no such user)."""
        user = self._users.get(username)
        return str(user["sub"]) if user else None

    def list_users(self) -> list[dict[str, Any]]:
        """Every user's public view (username, sub, email, status), by user name."""
        return [public_view(u) for u in self._users.all()]

    # -- tokens ----------------------------------------------------------------------------------

    def issue_tokens(self, username: str, client_id: str | None = None) -> dict[str, Any]:
        """Log ``username`` in without a password (for tests and the admin API).

        Returns:
            ``{"IdToken", "AccessToken", "RefreshToken", "ExpiresIn", "TokenType"}``.

        Raises:
            NotFound: no such user or app client.
            Conflict: the user is not confirmed (Cognito would not log them in either).

        """
        client = self.pool.client(client_id) if client_id is not None else self.pool.default_client
        if client is None:
            raise NotFound(f"no app client {client_id!r} in user pool {self.pool.user_pool_id}")
        user = self._users.get(username)
        if user is None:
            raise NotFound(f"no user named {username!r}")
        if user["status"] != CONFIRMED:
            raise Conflict(f"user {username!r} is not confirmed; confirm it first")
        auth_time = int(self._clock.now())
        id_token, access_token = self._tokens.issue(user, client.client_id, auth_time=auth_time)
        return {
            "IdToken": id_token,
            "AccessToken": access_token,
            "RefreshToken": self._refresh.issue(user, client.client_id, auth_time),
            "ExpiresIn": self.pool.token_validity_seconds,
            "TokenType": "Bearer",
        }

    def verify_id_token(self, token: str) -> Principal:
        """Return the caller behind a valid ID token of this pool.

        Raises:
            Unauthorized: the token is malformed, forged, expired, for another audience or issuer,
                or not an ID token. The message says which, and never contains the token.

        """
        try:
            return self._tokens.verify_id_token(token)
        except TokenRejected as exc:
            raise Unauthorized(exc.message) from None

    def principal_from_header(self, authorization: str | None) -> Principal:
        """Return the caller of a secured Villa request, from its ``Authorization`` header.

        Accepts ``Bearer <IdToken>`` and, as the older app sends it, the bare ID token.

        Raises:
            Unauthorized: the header is missing or malformed, or the token is not valid.

        """
        if authorization is not None and authorization.startswith("Bearer ") and len(authorization) > 14:
            token = authorization[7:]  # the common header, read as the general way below would
            if " " not in token and token == token.strip():
                return self.verify_id_token(token)
        header = authorization.strip() if authorization is not None else ""
        if not header:
            raise Unauthorized("missing Authorization header: send 'Authorization: Bearer <IdToken>'")
        scheme, _, rest = header.partition(" ")
        if not rest:
            token = scheme  # the bare token of the older app
        elif scheme.lower() == _BEARER:
            token = rest.strip()
            if " " in token:
                raise Unauthorized("malformed Authorization header: expected 'Bearer <IdToken>'")
        else:
            shown = repr(scheme) if scheme.isalpha() and len(scheme) <= 20 else "this scheme"
            raise Unauthorized(f"Authorization scheme {shown} is not supported: send 'Bearer <IdToken>'")
        # Lower-casing never shortens a string: only a short token can be the word itself (and a
        # token is some 900 characters, not worth lower-casing on every call).
        if len(token) <= len(_BEARER) and token.lower() == _BEARER:
            raise Unauthorized("Authorization header has no token after 'Bearer'")
        return self.verify_id_token(token)

    # -- the pool as a service -----------------------------------------------------------------

    def cognito_info(self) -> dict[str, Any]:
        """Return the settings an SDK needs to log in to this pool with its default app client."""
        client = self.pool.default_client
        return {
            "userPoolId": self.pool.user_pool_id,
            "clientId": client.client_id,
            "clientSecret": client.client_secret,
            "region": self.pool.region,
            "issuer": self.issuer,
        }

    def routes(self) -> list[BaseRoute]:
        """``POST /`` (Cognito JSON protocol) and the pool's JWKS and OpenID discovery documents."""
        return protocol_routes(table=self._operations.table, pool=self.pool, key=self._key, issuer=self.issuer)

    def reset(self) -> None:
        """Forget users and refresh tokens; keep the signing key (put back if storage was wiped)."""
        self._users.clear()
        self._refresh.clear()
        self._key.persist(self._store)
