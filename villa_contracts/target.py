"""What a suite runs against: a base URL and two logged-in test accounts, and how to get them."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from villa_contracts.client import Settings, VillaClient
from villa_contracts.errors import ConfigError, VillaContractsError


@dataclass(frozen=True, slots=True)
class Account:
    """A logged-in test account (the ID token is a secret: never print it)."""

    username: str
    sub: str
    id_token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header the Villa API wants."""
        return {"Authorization": f"Bearer {self.id_token}"}


@dataclass(frozen=True, slots=True)
class Target:
    """A backend under test.

    Attributes:
        base_url: where the Villa API is.
        accounts: two test accounts (the suites check that neither sees the other's orders).
        is_mock: the target is a villa-contracts mock (its catalog is the contract's data, and it
            has the admin API).
        env: ``dev`` or ``prod`` (VILLA_ENV): chooses the payment path prefix.
        allow_payments: payment operations may be called (refused on prod unless allowed).
        seed: the seed every generator uses, so that two runs make the same requests.
        max_examples: generated examples per operation.
        rate_limit: most requests per second (None: no limit).
    """

    base_url: str
    accounts: tuple[Account, Account]
    is_mock: bool = True
    env: str = "dev"
    allow_payments: bool = True
    seed: int = 0
    max_examples: int = 20
    rate_limit: float | None = None

    @property
    def payment_prefix(self) -> str:
        """``/api/payment3devapi`` on dev, ``/api/payment3`` on prod."""
        return "/api/payment3" if self.env == "prod" else "/api/payment3devapi"


CREDENTIAL_VARS = ("VILLA_TEST_USERNAME", "VILLA_TEST_PASSWORD", "VILLA_TEST_USERNAME_2", "VILLA_TEST_PASSWORD_2")
COGNITO_VARS = ("VILLA_COGNITO_CLIENT_ID", "VILLA_COGNITO_USER_POOL_ID")


class Unreachable(VillaContractsError):
    """The target does not answer."""


def probe(base_url: str) -> dict[str, Any] | None:
    """Check the target answers; return the mock's Cognito settings when it is a villa-contracts mock.

    Raises:
        Unreachable: no HTTP answer at all.
    """
    try:
        httpx.get(f"{base_url}/api/health", timeout=10)
    except httpx.HTTPError as exc:
        raise Unreachable(f"target {base_url} is unreachable: {exc.__class__.__name__}: {exc}") from None
    try:
        answer = httpx.get(f"{base_url}/__admin/cognito", timeout=10)
        info = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    return info if isinstance(info, dict) and "userPoolId" in info and "clientId" in info else None


def _login(settings: Settings, username: str, password: str) -> Account:
    with VillaClient(settings) as client:
        tokens = client.login(username, password)
        sub = client.owner_id
        if not sub:
            raise ConfigError(f"logging in {username} gave an ID token without a sub")
        return Account(username, sub, tokens.id_token)


def mock_accounts(base_url: str, cognito: Mapping[str, Any], seed: int) -> tuple[Account, Account]:
    """Provision two confirmed users on a mock and log both in through its Cognito endpoint.

    Names, passwords and subs follow from the seed, so that two runs with one seed send the same
    requests (a sub is data the suites send). A user that already exists is simply logged in.
    """
    settings = Settings.from_env(
        {
            "VILLA_BASE_URL": base_url,
            "VILLA_COGNITO_ENDPOINT": base_url,
            "VILLA_COGNITO_CLIENT_ID": str(cognito["clientId"]),
            "VILLA_COGNITO_CLIENT_SECRET": str(cognito.get("clientSecret") or ""),
            "VILLA_COGNITO_USER_POOL_ID": str(cognito["userPoolId"]),
            "VILLA_COGNITO_REGION": str(cognito.get("region") or "ap-southeast-1"),
        }
    )
    accounts = []
    for index in (1, 2):
        username = f"gate-{seed}-{index}@villa.example"
        # Mock-only test credentials: derived, not secret.
        password = "Gate-" + hashlib.sha256(f"villa-gate-{seed}-{index}".encode()).hexdigest()[:16] + "A1"
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"villa-contracts/gate/{seed}/{index}"))
        body = {"username": username, "password": password, "email": username, "sub": sub}
        created = httpx.post(f"{base_url}/__admin/users", json=body, timeout=10)
        if created.status_code not in (201, 409):
            raise ConfigError(f"the mock refused to create test user {username}: {created.text[:300]}")
        accounts.append(_login(settings, username, password))
    return accounts[0], accounts[1]


def env_accounts(base_url: str, environ: Mapping[str, str] | None = None) -> tuple[Account, Account]:
    """Log in the two test accounts named by the environment (for targets that are not a mock).

    Raises:
        ConfigError: naming every missing variable.
    """
    environ = os.environ if environ is None else environ
    missing = [name for name in (*CREDENTIAL_VARS, *COGNITO_VARS) if not environ.get(name)]
    if missing:
        raise ConfigError(
            f"target {base_url} is not a villa-contracts mock, so the gate needs test credentials: "
            f"set {', '.join(missing)} (and VILLA_COGNITO_CLIENT_SECRET / VILLA_COGNITO_ENDPOINT if they apply)"
        )
    settings = Settings.from_env({**environ, "VILLA_BASE_URL": base_url})
    first = _login(settings, environ["VILLA_TEST_USERNAME"], environ["VILLA_TEST_PASSWORD"])
    second = _login(settings, environ["VILLA_TEST_USERNAME_2"], environ["VILLA_TEST_PASSWORD_2"])
    return first, second
