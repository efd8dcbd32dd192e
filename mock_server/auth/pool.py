"""The emulated Cognito user pool's settings, read from ``contracts/data/cognito.yaml``.

The settings are data of the contract (pool id, app clients, their secrets and allowed flows, the
password policy, token lifetimes), so users see them in ``contracts/`` rather than in handler code.

Example:
    >>> pool = PoolConfig.from_data(
    ...     {"userPoolId": "ap-southeast-1_x", "region": "ap-southeast-1", "confirmationCode": "1",
    ...      "appClients": [{"clientName": "a", "clientId": "c1", "clientSecret": "s"}]}
    ... )
    >>> pool.default_client.client_id
    'c1'
    >>> secret_hash("s", "alice", "c1")
    'ErhACjQOx1Zpk2FS4TsKDMsF19181Ww7a6GVthqO7T4='

"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from villa_contracts.errors import ContractError

_SOURCE = "contracts/data/cognito.yaml"


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """The pool's password rules, checked in Cognito's order (length, upper, lower, numbers, symbols)."""

    minimum_length: int = 8
    require_uppercase: bool = True
    require_lowercase: bool = True
    require_numbers: bool = True
    require_symbols: bool = False

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PasswordPolicy:
        """Build the policy from the ``passwordPolicy`` mapping (missing keys take Cognito's defaults)."""
        length = data.get("minimumLength", 8)
        if isinstance(length, bool) or not isinstance(length, int) or length < 1:
            raise ContractError(f"{_SOURCE}: passwordPolicy.minimumLength must be a positive integer, got {length!r}")
        return cls(
            minimum_length=length,
            require_uppercase=bool(data.get("requireUppercase", True)),
            require_lowercase=bool(data.get("requireLowercase", True)),
            require_numbers=bool(data.get("requireNumbers", True)),
            require_symbols=bool(data.get("requireSymbols", False)),
        )

    def first_violation(self, password: str) -> str | None:
        """Return the reason Cognito gives for the first rule ``password`` breaks, or None when it conforms.

        Cognito reports one reason at a time, so callers put it after
        ``"Password did not conform with policy: "``.
        """
        if len(password) < self.minimum_length:
            return "Password not long enough"
        # Cognito's classes are ASCII (A-Z, a-z, 0-9), as the admin contract's password pattern states them.
        if self.require_uppercase and not any("A" <= c <= "Z" for c in password):
            return "Password must have uppercase characters"
        if self.require_lowercase and not any("a" <= c <= "z" for c in password):
            return "Password must have lowercase characters"
        if self.require_numbers and not any("0" <= c <= "9" for c in password):
            return "Password must have numeric characters"
        if self.require_symbols and all(c.isalnum() or c.isspace() for c in password):
            return "Password must have symbol characters"
        return None


@dataclass(frozen=True, slots=True)
class AppClient:
    """One app client of the pool.

    Attributes:
        client_name: the human name (``villa-backend-sdk-dev``).
        client_id: the id SDKs send as ``ClientId`` and tokens carry as ``aud``.
        client_secret: the secret SECRET_HASH is keyed with; None for a public client.
        explicit_auth_flows: the ``ALLOW_*`` flows the client may use.

    """

    client_name: str
    client_id: str
    client_secret: str | None
    explicit_auth_flows: frozenset[str]

    def allows(self, flow: str) -> bool:
        """Whether the client may use the auth flow ``flow`` (``USER_PASSWORD_AUTH`` → ``ALLOW_USER_PASSWORD_AUTH``)."""
        if flow in {"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"}:
            # Real Cognito always lets a client refresh; the ALLOW_ flag only documents it.
            return True
        return f"ALLOW_{flow}" in self.explicit_auth_flows


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """The emulated user pool.

    Attributes:
        user_pool_id: e.g. ``ap-southeast-1_bul3MgmNE``; part of the token issuer.
        region: the AWS region of the pool.
        confirmation_code: the code every sign-up is confirmed with (real Cognito e-mails one).
        token_validity_seconds: lifetime of ID and access tokens.
        refresh_token_validity_seconds: lifetime of refresh tokens.
        password_policy: the rules new passwords must follow.
        app_clients: the app clients; the first is the default one.

    """

    user_pool_id: str
    region: str
    confirmation_code: str
    app_clients: tuple[AppClient, ...]
    token_validity_seconds: int = 3600
    refresh_token_validity_seconds: int = 2_592_000
    password_policy: PasswordPolicy = PasswordPolicy()

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PoolConfig:
        """Build the pool from the parsed ``cognito.yaml``.

        Raises:
            ContractError: a required setting is missing or has the wrong type.

        """
        if not isinstance(data, Mapping):
            raise ContractError(f"{_SOURCE} must be a mapping, got {type(data).__name__}")
        clients_data = data.get("appClients")
        if not isinstance(clients_data, list) or not clients_data:
            raise ContractError(f"{_SOURCE}: appClients must be a non-empty list")
        clients = tuple(_client(i, c) for i, c in enumerate(clients_data))
        ids = [c.client_id for c in clients]
        if len(set(ids)) != len(ids):
            raise ContractError(f"{_SOURCE}: appClients repeat a clientId")
        policy = data.get("passwordPolicy") or {}
        if not isinstance(policy, Mapping):
            raise ContractError(f"{_SOURCE}: passwordPolicy must be a mapping")
        return cls(
            user_pool_id=_text(data, "userPoolId", "userPoolId"),
            region=_text(data, "region", "region"),
            confirmation_code=_text(data, "confirmationCode", "confirmationCode"),
            app_clients=clients,
            token_validity_seconds=_seconds(data, "tokenValiditySeconds", 3600),
            refresh_token_validity_seconds=_seconds(data, "refreshTokenValiditySeconds", 2_592_000),
            password_policy=PasswordPolicy.from_data(policy),
        )

    @property
    def default_client(self) -> AppClient:
        """The first app client (the one ``cognito_info`` and admin-issued tokens use)."""
        return self.app_clients[0]

    @property
    def client_ids(self) -> frozenset[str]:
        """Every app client id (the audiences an ID token may carry)."""
        return frozenset(c.client_id for c in self.app_clients)

    def client(self, client_id: str) -> AppClient | None:
        """Return the app client with this id, or None."""
        return next((c for c in self.app_clients if c.client_id == client_id), None)


def secret_hash(client_secret: str, username: str, client_id: str) -> str:
    """Cognito's SECRET_HASH: ``base64(HMAC_SHA256(key=client_secret, msg=username + client_id))``."""
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def secret_hash_matches(client: AppClient, given: str, usernames: list[str]) -> bool:
    """Whether ``given`` is the client's SECRET_HASH for any of ``usernames`` (compared in constant time).

    Several names are accepted where real Cognito accepts them too: a refresh may be signed with the
    user name, the ``sub`` or the e-mail alias.
    """
    if client.client_secret is None:
        return True
    matches = [
        hmac.compare_digest(given.encode(), secret_hash(client.client_secret, u, client.client_id).encode())
        for u in usernames
    ]
    return any(matches)


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # YAML reads an unquoted code such as 123456 as a number
    if not isinstance(value, str) or not value:
        raise ContractError(f"{_SOURCE}: {where} must be a non-empty string, got {value!r}")
    return value


def _seconds(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ContractError(f"{_SOURCE}: {key} must be a positive number of seconds, got {value!r}")
    return value


def _client(index: int, data: Any) -> AppClient:
    where = f"appClients[{index}]"
    if not isinstance(data, Mapping):
        raise ContractError(f"{_SOURCE}: {where} must be a mapping")
    secret = data.get("clientSecret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        raise ContractError(f"{_SOURCE}: {where}.clientSecret must be a non-empty string when given")
    flows = data.get("explicitAuthFlows", ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    if not isinstance(flows, list) or not all(isinstance(f, str) for f in flows):
        raise ContractError(f"{_SOURCE}: {where}.explicitAuthFlows must be a list of strings")
    return AppClient(
        client_name=str(data.get("clientName") or data.get("clientId") or where),
        client_id=_text(data, "clientId", f"{where}.clientId"),
        client_secret=secret,
        explicit_auth_flows=frozenset(flows),
    )
