"""``VillaClient``: the reference client, in the Villa SDK's shape, on httpx.

It logs in with Cognito, then carries the ID token on every Villa call (``Authorization: Bearer``).
Its parts mirror the SDK: ``client.auth``, ``client.orders``, ``client.pre_payment``,
``client.payments``, ``client.schema_validator`` and ``client.order_builder()``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from villa_contracts.client._auth import AuthError, CognitoAuth, SignUpResult, Tokens
from villa_contracts.client._builder import OrderBuilder
from villa_contracts.client._discover import ask_mock
from villa_contracts.client._jwt import IdTokenVerifier, VerifiedIdToken
from villa_contracts.client._orders import Order, OrdersApi
from villa_contracts.client._payments import PaymentsApi
from villa_contracts.client._pricing import OrderSchemaValidator, PrePaymentValidator
from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import Transport, http_client
from villa_contracts.contract import Contract, ContractValidator, load
from villa_contracts.errors import NotAnswering, UsageError

DEFAULT_TIMEOUT = 30.0


class VillaClient:
    """The Villa backend, as the Villa SDK exposes it.

    Args:
        settings: where the backend and Cognito are (see ``Settings.from_env``).
        http: the HTTP client for the API; tests pass ``starlette.testclient.TestClient(app)``.
            It serves Cognito too unless ``cognito_http`` is given. Not closed by ``close()``.
        cognito_http: the HTTP client for Cognito, when it differs from ``http``.
        allow_prod_payments: allow card charges on a prod backend that is not local.
        contract: the contract giving paths and schemas; the shipped ``villa`` contract by default.

    Example:
        >>> with VillaClient.from_env() as client:  # doctest: +SKIP
        ...     client.login("user@example.com", "password")
        ...     order_id = client.orders.generate_order_id("1000").order_id

    """

    def __init__(
        self,
        settings: Settings,
        *,
        http: httpx.Client | None = None,
        cognito_http: httpx.Client | None = None,
        allow_prod_payments: bool = False,
        contract: Contract | None = None,
    ) -> None:
        self.settings = settings
        self._owned: list[httpx.Client] = []
        if http is None:
            http = http_client(timeout=DEFAULT_TIMEOUT)
            self._owned.append(http)
        self._http = http
        self._cognito_http = cognito_http or http
        contract = contract or load()["villa"]
        self.auth = CognitoAuth(settings, self._cognito_http)
        self._verifier = IdTokenVerifier(settings, self._cognito_http)
        transport = Transport(settings, http, contract, lambda: self.auth.id_token)
        self._transport = transport
        self.schema_validator = OrderSchemaValidator(ContractValidator.of(contract))
        self.orders = OrdersApi(transport)
        self.pre_payment = PrePaymentValidator(transport, self.schema_validator)
        self.payments = PaymentsApi(
            transport, settings, lambda: self.auth.owner_id, allow_prod_payments=allow_prod_payments
        )

    @classmethod
    def from_env(
        cls,
        *,
        http: httpx.Client | None = None,
        cognito_http: httpx.Client | None = None,
        environ: Mapping[str, str] | None = None,
        allow_prod_payments: bool = False,
    ) -> VillaClient:
        """Build a client configured from the ``VILLA_*`` environment variables.

        Args:
            http: the HTTP client for the API (and Cognito unless ``cognito_http`` is given).
            cognito_http: the HTTP client for Cognito.
            environ: the variables; ``os.environ`` by default.
            allow_prod_payments: allow card charges on a prod backend that is not local.

        Returns:
            The client. When the variables name no Cognito pool and no app client and the backend is a
            villa-contracts mock, the pool's settings are the mock's (``GET /__admin/cognito``).

        Raises:
            ConfigError: a variable has an invalid value.

        """
        settings = Settings.from_env(environ)
        try:
            settings, _ = ask_mock(settings, cognito_http or http)
        except NotAnswering:
            pass  # the first call says so
        return cls(settings, http=http, cognito_http=cognito_http, allow_prod_payments=allow_prod_payments)

    def __repr__(self) -> str:
        """Show the client's target and user, never its tokens."""
        return (
            f"VillaClient(base_url={self.settings.base_url!r}, env={self.settings.env!r}, owner_id={self.owner_id!r})"
        )

    def __enter__(self) -> VillaClient:
        """Use the client in a ``with`` block; it is closed at the end."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Close the client."""
        self.close()

    def close(self) -> None:
        """Close the HTTP clients this client created (injected ones are the caller's to close)."""
        for http in self._owned:
            http.close()
        self._owned.clear()

    def login(self, username: str, password: str) -> Tokens:
        """Log in with Cognito (USER_PASSWORD_AUTH); later calls carry the ID token.

        Args:
            username: the user name or e-mail.
            password: the password.

        Returns:
            The tokens.

        Raises:
            ConfigError: the Cognito settings are incomplete.
            AuthError: Cognito refused.

        """
        return self.auth.login(username, password)

    def register(self, username: str, password: str, *, email: str) -> SignUpResult:
        """Sign a new user up; confirm with ``client.auth.confirm_sign_up``.

        Args:
            username: the user name.
            password: the password.
            email: the e-mail.

        Returns:
            Whether the user is confirmed, and their ``sub``.

        Raises:
            AuthError: Cognito refused.

        """
        return self.auth.register(username, password, email=email)

    def refresh(self) -> Tokens:
        """Get new tokens with the refresh token.

        Returns:
            The new tokens.

        Raises:
            UsageError: not logged in.
            AuthError: Cognito refused.

        """
        return self.auth.refresh()

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens, or None before login."""
        return self.auth.tokens

    @property
    def owner_id(self) -> str | None:
        """The logged-in user's ``sub``, what every ``ownerId`` must be; None before login."""
        return self.auth.owner_id

    def health(self) -> dict[str, Any]:
        """Ask whether the backend is up (``GET /api/health``; no login needed).

        Returns:
            The backend's answer (``{"status": "ok", ...}``).

        Raises:
            ApiError: the backend answered an error status.
            ClientError: the backend cannot be reached.

        """
        answer = self._transport.call("health", None)
        return answer if isinstance(answer, dict) else {"status": answer}

    def verify_id_token(self, token: str | None = None) -> VerifiedIdToken:
        """Verify an ID token against the configured pool's JWKS (signature, iss, aud, exp, token_use).

        Args:
            token: the token; by default the logged-in user's.

        Returns:
            The verified claims.

        Raises:
            UsageError: no token given and not logged in.
            AuthError: the token is not valid (type ``InvalidToken``) or the JWKS cannot be fetched.

        """
        access_token = None
        if token is None:
            tokens = self.auth.tokens
            if tokens is None:
                raise UsageError("no ID token to verify: call login() first or pass a token")
            token, access_token = tokens.id_token, tokens.access_token
        return self._verifier.verify(token, access_token=access_token)

    def is_id_token_valid(self) -> bool:
        """Whether the logged-in user's ID token verifies (False before login).

        Returns:
            True when ``verify_id_token()`` succeeds.

        """
        if self.auth.tokens is None:
            return False
        try:
            self.verify_id_token()
        except AuthError:
            return False
        return True

    def order_builder(self, order_id: str | None = None) -> OrderBuilder:
        """Start an ``OrderBuilder`` with the owner and basket set to the logged-in user's ``sub``.

        Args:
            order_id: the generated order id.

        Returns:
            The builder.

        Raises:
            UsageError: not logged in.

        """
        owner = self.owner_id
        if owner is None:
            raise UsageError("order_builder() needs the owner's sub: call login() first")
        return OrderBuilder(order_id=order_id, owner_id=owner, basket_id=owner)

    def create_order(self, order: Order | Mapping[str, Any]) -> Order:
        """Create an order (the seeds' alias of ``client.orders.create``).

        Args:
            order: the order.

        Returns:
            The stored order.

        Raises:
            ApiError: the backend refused.

        """
        return self.orders.create(order)
