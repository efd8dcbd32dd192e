"""Options and fixtures of the flow suite: ``--base-url``, a reference client on it, and a user.

The target is ``--base-url`` or ``VILLA_BASE_URL``; without either the suite is skipped (the repo's
own tests run the flow on the in-process mock). Cognito settings come from the ``VILLA_COGNITO_*``
variables, completed from a villa-contracts mock's ``/__admin/cognito``
(``villa_contracts.target.client_settings``); otherwise the suite errors: a target was given that
cannot be logged in to.
The user is ``VILLA_FLOW_USERNAME``/``VILLA_FLOW_PASSWORD`` (an existing, confirmed user) or a fresh
sign-up confirmed with ``VILLA_FLOW_CONFIRMATION_CODE`` (default: the mock's code from
``contracts/data/cognito.yaml``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from suites.flows.checkout import fresh_credentials
from villa_contracts.client import Settings, VillaClient
from villa_contracts.contract import load
from villa_contracts.errors import VillaContractsError
from villa_contracts.target import client_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--base-url`` (another suite's conftest may have added it already)."""
    try:
        parser.addoption(
            "--base-url", default=None, help="Villa backend to run the suites against (default: $VILLA_BASE_URL)"
        )
    except ValueError:
        pass


@pytest.fixture(scope="session")
def flow_base_url(pytestconfig: pytest.Config) -> str:
    """Give the target's base URL; skip the suite when none is given."""
    url = pytestconfig.getoption("--base-url") or os.environ.get("VILLA_BASE_URL", "").strip()
    if not url:
        pytest.skip("the flow suite runs against a target: pass --base-url URL or set VILLA_BASE_URL")
    return str(url).rstrip("/")


@pytest.fixture(scope="session")
def flow_settings(flow_base_url: str) -> Settings:
    """Build settings for the target as every command does (a mock's Cognito settings are read from it)."""
    try:
        settings, _ = client_settings(flow_base_url, admin_token=os.environ.get("VILLA_MOCK_ADMIN_TOKEN") or None)
    except VillaContractsError as exc:
        pytest.fail(f"{exc} (or point --base-url at a villa-contracts mock, which publishes /__admin/cognito)")
    return settings


@pytest.fixture
def flow_client(flow_settings: Settings) -> Iterator[VillaClient]:
    """Give a fresh reference client on the target, not logged in."""
    with VillaClient(flow_settings) as client:
        yield client


@pytest.fixture
def flow_user() -> dict[str, str | None]:
    """Give the user the flow signs up or logs in as (keyword arguments of ``run_checkout``)."""
    username, password = os.environ.get("VILLA_FLOW_USERNAME"), os.environ.get("VILLA_FLOW_PASSWORD")
    if username and password:
        email = os.environ.get("VILLA_FLOW_EMAIL") or username
    else:
        username, password, email = fresh_credentials()
    code = os.environ.get("VILLA_FLOW_CONFIRMATION_CODE") or str(load().data("cognito")["confirmationCode"])
    return {"username": username, "password": password, "email": email, "confirmation_code": code}
