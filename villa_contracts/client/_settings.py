"""Settings of the reference client, read from the Villa SDK's environment variables.

The variables are the SDK manual's (``VILLA_BASE_URL``, ``VILLA_ENV``, ``VILLA_COGNITO_*``,
``VILLA_CUSTOMER_ID``, ``VILLA_MID``) plus ``VILLA_COGNITO_ENDPOINT``, which points the Cognito
calls somewhere else than AWS (the mock serves Cognito on its own origin).

Unlike the SDK manual (whose default is production), the default backend is the local mock
(``DEFAULT_BASE_URL``, where ``villa-contracts serve`` listens by default): production
(``PRODUCTION_BASE_URL``) is used only when ``VILLA_BASE_URL`` names it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

from villa_contracts.errors import ConfigError

Environment = Literal["dev", "prod"]

# `villa-contracts serve`'s default --host and --port (tests/villa_contracts/test_client_settings.py checks they agree).
DEFAULT_BASE_URL = "http://127.0.0.1:8080"
PRODUCTION_BASE_URL = "https://shop.villamarket.com"
DEFAULT_REGION = "ap-southeast-1"
_ENVIRONMENTS = ("dev", "prod")
_MID = re.compile(r"[0-9]{15}")


def _check_url(value: str, variable: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{variable}={value!r} is not an http(s) URL (e.g. {DEFAULT_BASE_URL})")


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (``localhost`` or a loopback IP address).

    Args:
        url: an absolute URL.

    Returns:
        True for ``localhost`` and loopback addresses such as ``127.0.0.1`` or ``::1``.

    """
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the backend and Cognito are, and who the client is.

    Attributes:
        base_url: the Villa backend (``VILLA_BASE_URL``); the local mock unless set.
        env: ``dev`` or ``prod`` (``VILLA_ENV``); picks the payment paths.
        cognito_client_id: the Cognito app client id (``VILLA_COGNITO_CLIENT_ID``).
        cognito_user_pool_id: the user pool id (``VILLA_COGNITO_USER_POOL_ID``).
        cognito_client_secret: the app client secret (``VILLA_COGNITO_CLIENT_SECRET``); never shown.
        cognito_region: the pool's AWS region (``VILLA_COGNITO_REGION``).
        cognito_endpoint: where Cognito is when it is not AWS (``VILLA_COGNITO_ENDPOINT``), else None.
        customer_id: default customer id sent with payments (``VILLA_CUSTOMER_ID``).
        mid: the KBank merchant id, 15 digits (``VILLA_MID``).

    """

    base_url: str = DEFAULT_BASE_URL
    env: Environment = "dev"
    cognito_client_id: str | None = None
    cognito_user_pool_id: str | None = None
    cognito_client_secret: str | None = field(default=None, repr=False)
    cognito_region: str = DEFAULT_REGION
    cognito_endpoint: str | None = None
    customer_id: str | None = None
    mid: str | None = None

    def __post_init__(self) -> None:
        """Check the values, naming the environment variable of any that is wrong.

        Raises:
            ConfigError: an invalid URL, environment or merchant id.

        """
        _check_url(self.base_url, "VILLA_BASE_URL")
        if self.env not in _ENVIRONMENTS:
            raise ConfigError(f"VILLA_ENV={self.env!r} is not one of: dev, prod")
        if self.cognito_endpoint is not None:
            _check_url(self.cognito_endpoint, "VILLA_COGNITO_ENDPOINT")
        if self.mid is not None and not _MID.fullmatch(self.mid):
            raise ConfigError("VILLA_MID must be the 15-digit KBank merchant id")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from environment variables (an empty variable counts as unset).

        Args:
            environ: the variables to read; ``os.environ`` by default.

        Returns:
            The settings, with the defaults for what is not set (the backend: the local mock).

        Raises:
            ConfigError: a variable has an invalid value; the message names it.

        """
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        environment = get("VILLA_ENV") or "dev"
        if environment not in _ENVIRONMENTS:
            raise ConfigError(f"VILLA_ENV={environment!r} is not one of: dev, prod")
        return cls(
            base_url=(get("VILLA_BASE_URL") or DEFAULT_BASE_URL).rstrip("/"),
            env="prod" if environment == "prod" else "dev",
            cognito_client_id=get("VILLA_COGNITO_CLIENT_ID"),
            cognito_user_pool_id=get("VILLA_COGNITO_USER_POOL_ID"),
            cognito_client_secret=get("VILLA_COGNITO_CLIENT_SECRET"),
            cognito_region=get("VILLA_COGNITO_REGION") or DEFAULT_REGION,
            cognito_endpoint=get("VILLA_COGNITO_ENDPOINT"),
            customer_id=get("VILLA_CUSTOMER_ID"),
            mid=get("VILLA_MID"),
        )

    def require_cognito(self) -> None:
        """Make sure the Cognito settings a login needs are present.

        Raises:
            ConfigError: naming every missing variable.

        """
        missing = [
            name
            for name, value in (
                ("VILLA_COGNITO_CLIENT_ID", self.cognito_client_id),
                ("VILLA_COGNITO_USER_POOL_ID", self.cognito_user_pool_id),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"Cognito is not configured: set {', '.join(missing)}")

    @property
    def cognito_url(self) -> str:
        """The URL Cognito API calls are posted to (AWS's regional endpoint unless overridden)."""
        return self.cognito_endpoint or f"https://cognito-idp.{self.cognito_region}.amazonaws.com/"

    @property
    def issuer(self) -> str:
        """The only ``iss`` an ID token may have: the configured pool at the configured Cognito.

        Raises:
            ConfigError: VILLA_COGNITO_USER_POOL_ID is not set.

        """
        if not self.cognito_user_pool_id:
            raise ConfigError("Cognito is not configured: set VILLA_COGNITO_USER_POOL_ID")
        if self.cognito_endpoint:
            return f"{self.cognito_endpoint.rstrip('/')}/{self.cognito_user_pool_id}"
        return f"https://cognito-idp.{self.cognito_region}.amazonaws.com/{self.cognito_user_pool_id}"

    @property
    def is_local(self) -> bool:
        """Whether the backend is on this machine (a loopback base URL)."""
        return is_loopback_url(self.base_url)
