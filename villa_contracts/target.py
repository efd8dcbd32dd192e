"""What a suite runs against: a base URL and two logged-in test accounts, and the one way to get them.

``resolve_target`` is how every command and suite picks its target: the base URL (a running mock or
any backend), the environment (``VILLA_ENV``), the credentials (a mock provisions its own users;
any other backend logs in the ``VILLA_TEST_*`` accounts) and whether the target is a mock.
``client_settings`` completes the reference client's settings the same way.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from villa_contracts.client import Settings, VillaClient, tls_context
from villa_contracts.errors import ConfigError, VillaContractsError


@dataclass(frozen=True, slots=True)
class Account:
    """A logged-in test account (the ID token and password are secrets: never print them).

    The password is kept for APIs that log in themselves (the shop's token key).
    """

    username: str
    sub: str
    id_token: str = field(repr=False)
    password: str = field(default="", repr=False)

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
        admin_token: the mock's admin token, when it was started with one (a secret: never printed).
    """

    base_url: str
    accounts: tuple[Account, Account]
    is_mock: bool = True
    env: str = "dev"
    allow_payments: bool = True
    seed: int = 0
    max_examples: int = 20
    rate_limit: float | None = None
    admin_token: str | None = field(default=None, repr=False)

    @property
    def admin_headers(self) -> dict[str, str]:
        """The header the mock's admin API wants (none when it has no admin token)."""
        return {"X-Villa-Admin-Token": self.admin_token} if self.admin_token else {}

    @property
    def payment_prefix(self) -> str:
        """``/api/payment3devapi`` on dev, ``/api/payment3`` on prod."""
        return "/api/payment3" if self.env == "prod" else "/api/payment3devapi"


CREDENTIAL_VARS = ("VILLA_TEST_USERNAME", "VILLA_TEST_PASSWORD", "VILLA_TEST_USERNAME_2", "VILLA_TEST_PASSWORD_2")
COGNITO_VARS = ("VILLA_COGNITO_CLIENT_ID", "VILLA_COGNITO_USER_POOL_ID")


class Unreachable(VillaContractsError):
    """The target does not answer."""


def _admin(admin_token: str | None) -> dict[str, str]:
    return {"X-Villa-Admin-Token": admin_token} if admin_token else {}


def probe(base_url: str, *, admin_token: str | None = None) -> dict[str, Any] | None:
    """Check the target answers; return the mock's Cognito settings when it is a villa-contracts mock.

    Raises:
        Unreachable: no HTTP answer at all.
        ConfigError: the target is a mock whose admin API wants a token that was not given (or not this one).
    """
    try:
        httpx.get(f"{base_url}/api/health", verify=tls_context(), timeout=10)
    except httpx.HTTPError as exc:
        raise Unreachable(f"target {base_url} is unreachable: {exc.__class__.__name__}: {exc}") from None
    try:
        answer = httpx.get(f"{base_url}/__admin/cognito", verify=tls_context(), timeout=10, headers=_admin(admin_token))
        info = answer.json() if answer.status_code in (200, 401) else None
    except (httpx.HTTPError, ValueError):
        return None
    if answer.status_code == 401 and isinstance(info, dict) and "X-Villa-Admin-Token" in str(info.get("error")):
        fix = "the token given is not its token" if admin_token else "give it with --admin-token"
        raise ConfigError(
            f"target {base_url} is a villa-contracts mock with an admin token: {fix} (or VILLA_MOCK_ADMIN_TOKEN)"
        )
    return info if isinstance(info, dict) and "userPoolId" in info and "clientId" in info else None


def _login(settings: Settings, username: str, password: str) -> Account:
    with VillaClient(settings) as client:
        tokens = client.login(username, password)
        sub = client.owner_id
        if not sub:
            raise ConfigError(f"logging in {username} gave an ID token without a sub")
        return Account(username, sub, tokens.id_token, password)


def mock_accounts(
    base_url: str, cognito: Mapping[str, Any], seed: int, *, admin_token: str | None = None
) -> tuple[Account, Account]:
    """Provision two confirmed users on a mock and log both in through its Cognito endpoint.

    Names, passwords and subs follow from the seed, so that two runs with one seed send the same
    requests (a sub is data the suites send). A user that already exists is simply logged in.
    """
    settings = Settings.from_env(mock_environ(base_url, cognito))
    accounts = []
    for index in (1, 2):
        username = f"gate-{seed}-{index}@villa.example"
        # Mock-only test credentials: derived, not secret.
        password = "Gate-" + hashlib.sha256(f"villa-gate-{seed}-{index}".encode()).hexdigest()[:16] + "A1"
        sub = str(uuid.uuid5(uuid.NAMESPACE_URL, f"villa-contracts/gate/{seed}/{index}"))
        body = {"username": username, "password": password, "email": username, "sub": sub}
        created = httpx.post(
            f"{base_url}/__admin/users", json=body, verify=tls_context(), timeout=10, headers=_admin(admin_token)
        )
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


def mock_environ(base_url: str, cognito: Mapping[str, Any]) -> dict[str, str]:
    """The ``VILLA_*`` variables that point the Villa SDK (or the reference client) at a mock."""
    return {
        "VILLA_BASE_URL": base_url,
        "VILLA_ENV": "dev",
        "VILLA_COGNITO_ENDPOINT": base_url,
        "VILLA_COGNITO_CLIENT_ID": str(cognito["clientId"]),
        "VILLA_COGNITO_CLIENT_SECRET": str(cognito.get("clientSecret") or ""),
        "VILLA_COGNITO_USER_POOL_ID": str(cognito["userPoolId"]),
        "VILLA_COGNITO_REGION": str(cognito.get("region") or "ap-southeast-1"),
    }


def client_settings(
    base_url: str, *, environ: Mapping[str, str] | None = None, admin_token: str | None = None
) -> tuple[Settings, bool]:
    """The reference client's settings for ``base_url``, and whether it is a villa-contracts mock.

    The environment's ``VILLA_*`` settings win; on a mock, whatever Cognito setting they lack is
    read from its ``/__admin/cognito`` (so ``flow --base-url`` needs no variable against a mock).

    Raises:
        Unreachable: the target does not answer.
        ConfigError: it is not a mock and the Cognito variables are missing (the message names them).
    """
    environ = dict(os.environ if environ is None else environ)
    cognito = probe(base_url, admin_token=admin_token)
    if cognito is not None:
        environ = {
            **mock_environ(base_url, cognito),
            **{k: v for k, v in environ.items() if v and k != "VILLA_BASE_URL"},
        }
    settings = Settings.from_env({**environ, "VILLA_BASE_URL": base_url})
    settings.require_cognito()
    if cognito is None:
        try:  # any HTTP answer will do: a login cannot even start without one
            httpx.post(settings.cognito_url, verify=tls_context(), timeout=10)
        except httpx.HTTPError as exc:
            raise Unreachable(
                f"Cognito at {settings.cognito_url} is unreachable ({type(exc).__name__}): "
                "check VILLA_COGNITO_ENDPOINT / VILLA_COGNITO_REGION and the network"
            ) from None
    return settings, cognito is not None


def resolve_target(
    base_url: str,
    *,
    seed: int,
    max_examples: int = 20,
    rate_limit: float | None = None,
    env: str | None = None,
    allow_prod_payments: bool = False,
    admin_token: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Target:
    """The target at ``base_url`` with two logged-in accounts: the one way every command and suite gets one.

    Args:
        base_url: where the backend is.
        seed: the run's seed (a mock's accounts are derived from it).
        max_examples: generated examples per operation.
        rate_limit: most requests per second.
        env: ``dev`` or ``prod``; ``VILLA_ENV`` (default ``dev``) when None.
        allow_prod_payments: call payment operations even on prod.
        admin_token: the mock's admin token, if it has one.
        environ: the environment (``os.environ`` by default).

    Raises:
        Unreachable: the target does not answer.
        ConfigError: credentials are missing or refused (the message names what to set).
    """
    environ = os.environ if environ is None else environ
    base_url = base_url.rstrip("/")
    env = env or environ.get("VILLA_ENV", "dev") or "dev"
    if env not in ("dev", "prod"):
        raise ConfigError(f"VILLA_ENV={env!r}: set it to dev or prod")
    cognito = probe(base_url, admin_token=admin_token)
    if cognito is not None:
        accounts = mock_accounts(base_url, cognito, seed, admin_token=admin_token)
    else:
        accounts = env_accounts(base_url, environ)
    return Target(
        base_url,
        accounts,
        is_mock=cognito is not None,
        env=env,
        allow_payments=env != "prod" or allow_prod_payments,
        seed=seed,
        max_examples=max_examples,
        rate_limit=rate_limit,
        admin_token=admin_token,
    )
