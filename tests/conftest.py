"""Shared test setup: fixture modules, and an environment with no real AWS or Villa settings."""

from __future__ import annotations

import os

import pytest

pytest_plugins = [
    "tests.fixtures.client",
    "tests.fixtures.mock",
    "tests.fixtures.own_redis",
    "tests.fixtures.redis_store",
    "tests.fixtures.servers",
]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # No test may reach a real AWS account or pick up a developer's VILLA_* settings.
    for name in list(os.environ):
        if name.startswith("VILLA_"):
            monkeypatch.delenv(name)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-1")
