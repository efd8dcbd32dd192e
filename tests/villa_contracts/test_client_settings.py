"""Settings of the reference client: environment variables, defaults, errors that name the variable."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from villa_contracts.cli import serve
from villa_contracts.cli.villa._session import parse_dotenv
from villa_contracts.client import Settings
from villa_contracts.client._settings import DEFAULT_BASE_URL, PRODUCTION_BASE_URL, is_loopback_url
from villa_contracts.errors import ConfigError

FULL = {
    "VILLA_BASE_URL": "http://127.0.0.1:8080/",
    "VILLA_ENV": "prod",
    "VILLA_COGNITO_CLIENT_ID": "cid",
    "VILLA_COGNITO_USER_POOL_ID": "ap-southeast-1_pool",
    "VILLA_COGNITO_CLIENT_SECRET": "s3cr3t-value",
    "VILLA_COGNITO_REGION": "eu-west-1",
    "VILLA_COGNITO_ENDPOINT": "http://127.0.0.1:8080",
    "VILLA_CUSTOMER_ID": "cust-1",
    "VILLA_MID": "401234567890123",
}


def test_defaults_follow_the_sdk_manual_but_the_backend_is_the_local_mock() -> None:
    settings = Settings.from_env({})
    assert settings.base_url == "http://127.0.0.1:8080" and settings.is_local
    assert settings.env == "dev"
    assert settings.cognito_region == "ap-southeast-1"
    assert settings.cognito_endpoint is None
    assert settings.cognito_url == "https://cognito-idp.ap-southeast-1.amazonaws.com/"
    assert settings.customer_id is None and settings.mid is None


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(FULL)
    assert settings.base_url == "http://127.0.0.1:8080"
    assert settings.env == "prod"
    assert (settings.cognito_client_id, settings.cognito_user_pool_id) == ("cid", "ap-southeast-1_pool")
    assert settings.cognito_client_secret == "s3cr3t-value"
    assert settings.cognito_region == "eu-west-1"
    assert settings.cognito_url == "http://127.0.0.1:8080"
    assert (settings.customer_id, settings.mid) == ("cust-1", "401234567890123")


def test_reads_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VILLA_ENV", "prod")
    assert Settings.from_env().env == "prod"


def test_empty_variables_count_as_unset() -> None:
    assert Settings.from_env({"VILLA_ENV": "", "VILLA_BASE_URL": "  "}).base_url == DEFAULT_BASE_URL


def test_the_default_backend_is_where_serve_listens_by_default() -> None:
    defaults = {param.name: param.default for param in serve.command.params}
    assert DEFAULT_BASE_URL == f"http://{defaults['host']}:{defaults['port']}"


def test_production_only_when_named() -> None:
    assert is_loopback_url(DEFAULT_BASE_URL) and not is_loopback_url(PRODUCTION_BASE_URL)
    settings = Settings.from_env({"VILLA_BASE_URL": PRODUCTION_BASE_URL})
    assert settings.base_url == "https://shop.villamarket.com" and not settings.is_local


def test_an_invalid_base_url_names_the_variable_and_a_sensible_example() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"VILLA_BASE_URL": "shop.villamarket.com"})
    assert str(caught.value) == (
        "VILLA_BASE_URL='shop.villamarket.com' is not an http(s) URL (e.g. http://127.0.0.1:8080)"
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VILLA_ENV", "staging"),
        ("VILLA_BASE_URL", "shop.villamarket.com"),
        ("VILLA_MID", "123"),
        ("VILLA_COGNITO_ENDPOINT", "ftp://x"),
    ],
)
def test_invalid_values_name_their_variable(variable: str, value: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        Settings.from_env({variable: value})


def test_require_cognito_names_every_missing_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({}).require_cognito()
    assert "VILLA_COGNITO_CLIENT_ID" in str(caught.value)
    assert "VILLA_COGNITO_USER_POOL_ID" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"VILLA_COGNITO_CLIENT_ID": "cid"}).require_cognito()
    assert "VILLA_COGNITO_CLIENT_ID" not in str(caught.value)
    Settings.from_env(FULL).require_cognito()


def test_repr_never_shows_the_secret() -> None:
    settings = Settings.from_env(FULL)
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings)


def test_issuer_is_aws_or_the_configured_endpoint() -> None:
    aws = Settings.from_env({"VILLA_COGNITO_USER_POOL_ID": "ap-southeast-1_pool"})
    assert aws.issuer == "https://cognito-idp.ap-southeast-1.amazonaws.com/ap-southeast-1_pool"
    local = Settings.from_env({"VILLA_COGNITO_USER_POOL_ID": "p", "VILLA_COGNITO_ENDPOINT": "http://localhost:9/"})
    assert local.issuer == "http://localhost:9/p"
    with pytest.raises(ConfigError, match="VILLA_COGNITO_USER_POOL_ID"):
        _ = Settings().issuer


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.env = "prod"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("http://127.0.0.1:8080", True),
        ("http://localhost", True),
        ("http://[::1]:80", True),
        ("https://shop.villamarket.com", False),
        ("http://testserver", False),
        ("http://10.0.0.1", False),
    ],
)
def test_loopback_detection(url: str, local: bool) -> None:
    assert is_loopback_url(url) is local


ROOT = Path(__file__).resolve().parents[2]
ENV_EXAMPLE = ROOT / ".env.example"
# What the settings and the `villa` CLI read: every VILLA_* name their source mentions.
READERS = [
    ROOT / "villa_contracts" / "client" / "_settings.py",
    ROOT / "villa_contracts" / "client" / "_discover.py",
    *sorted((ROOT / "villa_contracts/cli/villa").glob("*.py")),
]


def test_env_example_names_every_variable_the_settings_and_the_cli_read() -> None:
    read = {name for path in READERS for name in re.findall(r"\bVILLA_[A-Z_]*[A-Z]\b", path.read_text())}
    assert {"VILLA_BASE_URL", "VILLA_COGNITO_CLIENT_SECRET", "VILLA_MID", "VILLA_ID_TOKEN"} <= read
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    listed = set(re.findall(r"^(?:# )?(VILLA_[A-Z_]+)=", text, re.M))
    assert read - listed == set(), "add these to .env.example"
    # Each is explained: every paragraph that sets variables has a comment line that is not one.
    for paragraph in text.split("\n\n"):
        lines = paragraph.strip().splitlines()
        if any(re.match(r"(?:# )?VILLA_", line) for line in lines):
            notes = [line for line in lines if line.startswith("#") and not re.match(r"# VILLA_\w+=", line)]
            assert notes, f"no comment explains: {paragraph!r}"


def test_env_example_points_at_the_local_mock_and_holds_no_login_secret() -> None:
    values = parse_dotenv(ENV_EXAMPLE.read_text(encoding="utf-8"))
    settings = Settings.from_env(values)
    assert settings.base_url == DEFAULT_BASE_URL and settings.env == "dev"
    # Against a mock, villa asks the mock for its pool: the file carries no Cognito value, no client secret.
    assert not [name for name in values if name.startswith("VILLA_COGNITO_")]
    assert (settings.cognito_client_id, settings.cognito_user_pool_id, settings.cognito_client_secret) == (None,) * 3
    assert not {"VILLA_PASSWORD", "VILLA_ID_TOKEN", "VILLA_USERNAME"} & set(values)
    assert "villa asks the mock" in ENV_EXAMPLE.read_text(encoding="utf-8")
