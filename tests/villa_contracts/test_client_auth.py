"""Cognito on the wire (InitiateAuth, SignUp, ConfirmSignUp), the ID token on API calls, and JWT checks.

The client talks to the real in-process mock (``tests.fixtures.client``); forged tokens are signed with its key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.fixtures.client import ALICE, BASE_URL, CODE, VillaMock, public_client_contracts
from villa_contracts.client import AuthError, Tokens, VillaClient, secret_hash
from villa_contracts.client._auth import unverified_claims
from villa_contracts.contract import load
from villa_contracts.errors import ApiError, ClientError, ConfigError, UsageError

NEW_USER = "new.user@villa.example"
POOL_ID = load().data("cognito")["userPoolId"]


def _cognito_requests(mock: VillaMock) -> list[tuple[str, dict[str, Any]]]:
    return [(r.headers["x-amz-target"], json.loads(r.content)) for r in mock.wire if r.url.path == "/"]


def test_secret_hash_is_hmac_sha256_of_username_and_client_id() -> None:
    expected = base64.b64encode(hmac.new(b"k", b"userclient", hashlib.sha256).digest()).decode()
    assert secret_hash("k", "user", "client") == expected


def test_login_speaks_initiate_auth_like_aws_sdks(villa_mock: VillaMock, villa: VillaClient) -> None:
    cognito = villa_mock.cognito
    tokens = villa.login(ALICE["username"], ALICE["password"])
    request = next(r for r in villa_mock.wire if r.url.path == "/")
    assert request.method == "POST"
    assert (request.url.host, request.url.raw_path) == ("testserver", b"/")
    assert request.headers["x-amz-target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert request.headers["content-type"] == "application/x-amz-json-1.1"
    body = json.loads(request.content)
    assert body == {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": cognito["clientId"],
        "AuthParameters": {
            "USERNAME": ALICE["username"],
            "PASSWORD": ALICE["password"],
            "SECRET_HASH": secret_hash(cognito["clientSecret"], ALICE["username"], cognito["clientId"]),
        },
    }
    assert tokens.expires_in == 3600 and tokens.refresh_token
    assert villa.owner_id == ALICE["sub"]


def test_no_secret_hash_without_a_secret(make_mock: Callable[..., VillaMock]) -> None:
    public = make_mock(contracts=public_client_contracts())
    assert public.cognito["clientSecret"] is None
    with public.client() as client:
        assert client.settings.cognito_client_secret is None
        client.login(ALICE["username"], ALICE["password"])
    ((_, body),) = _cognito_requests(public)
    assert "SECRET_HASH" not in body["AuthParameters"]


def test_cognito_errors_become_auth_errors_without_the_password(villa: VillaClient) -> None:
    with pytest.raises(AuthError) as caught:
        villa.login(ALICE["username"], "Wrong-Password-9")
    assert caught.value.type == "NotAuthorizedException"
    assert caught.value.message == "Incorrect username or password."
    assert caught.value.status_code == 400
    assert isinstance(caught.value, ClientError)
    assert "Wrong-Password-9" not in str(caught.value)
    assert villa.tokens is None and villa.owner_id is None


def test_login_needs_cognito_settings(villa_mock: VillaMock) -> None:
    with villa_mock.client(cognito_client_id=None, cognito_user_pool_id=None) as client:
        with pytest.raises(ConfigError, match="VILLA_COGNITO_CLIENT_ID, VILLA_COGNITO_USER_POOL_ID"):
            client.login(ALICE["username"], ALICE["password"])


def test_register_confirm_login(villa_mock: VillaMock, villa: VillaClient) -> None:
    cognito = villa_mock.cognito
    result = villa.register(NEW_USER, "NewPass123!", email=NEW_USER)
    assert result.user_confirmed is False and result.user_sub
    with pytest.raises(AuthError) as caught:
        villa.login(NEW_USER, "NewPass123!")
    assert caught.value.type == "UserNotConfirmedException"
    with pytest.raises(AuthError, match="CodeMismatchException"):
        villa.auth.confirm_sign_up(NEW_USER, "000000")
    villa.auth.confirm_sign_up(NEW_USER, confirmation_code=CODE)
    villa.login(NEW_USER, "NewPass123!")
    assert villa.owner_id == result.user_sub
    targets = [t.rsplit(".", 1)[1] for t, _ in _cognito_requests(villa_mock)]
    assert targets == ["SignUp", "InitiateAuth", "ConfirmSignUp", "ConfirmSignUp", "InitiateAuth"]
    sign_up = _cognito_requests(villa_mock)[0][1]
    assert sign_up["UserAttributes"] == [{"Name": "email", "Value": NEW_USER}]
    assert sign_up["SecretHash"] == secret_hash(cognito["clientSecret"], NEW_USER, cognito["clientId"])


def test_register_an_existing_user(villa: VillaClient) -> None:
    with pytest.raises(AuthError) as caught:
        villa.register(ALICE["username"], "Another123!", email=ALICE["email"])
    assert caught.value.type == "UsernameExistsException"


def test_refresh_keeps_the_refresh_token(villa_mock: VillaMock, alice_client: VillaClient) -> None:
    cognito = villa_mock.cognito
    before = alice_client.tokens
    assert before is not None
    after = alice_client.refresh()
    assert after.id_token != before.id_token
    assert after.refresh_token == before.refresh_token
    _, body = _cognito_requests(villa_mock)[-1]
    assert body["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    assert body["AuthParameters"] == {
        "REFRESH_TOKEN": before.refresh_token,
        "SECRET_HASH": secret_hash(cognito["clientSecret"], ALICE["username"], cognito["clientId"]),
    }


def test_refresh_needs_a_login(villa: VillaClient) -> None:
    with pytest.raises(UsageError, match="login"):
        villa.refresh()


def test_api_calls_carry_the_id_token_after_login(villa_mock: VillaMock, villa: VillaClient) -> None:
    with pytest.raises(ApiError) as caught:
        villa.orders.generate_order_id("1000")
    assert caught.value.status_code == 401
    assert "authorization" not in villa_mock.wire[-1].headers
    tokens = villa.login(ALICE["username"], ALICE["password"])
    villa.orders.generate_order_id("1000")
    assert villa_mock.wire[-1].headers["authorization"] == f"Bearer {tokens.id_token}"


def test_tokens_never_show_in_repr(alice_client: VillaClient) -> None:
    tokens = alice_client.tokens
    assert isinstance(tokens, Tokens)
    for secret in (tokens.id_token, tokens.access_token, str(tokens.refresh_token)):
        assert secret not in repr(tokens)
        assert secret not in repr(alice_client)


def test_unverified_claims_reads_the_payload(villa_mock: VillaMock) -> None:
    assert unverified_claims(villa_mock.id_token(sub="abc"))["sub"] == "abc"
    for bad in ("nope", "a.!!!.c", "a." + base64.urlsafe_b64encode(b"[1]").decode().rstrip("=") + ".c"):
        with pytest.raises(AuthError, match="InvalidToken"):
            unverified_claims(bad)


def test_verify_the_logged_in_token(alice_client: VillaClient) -> None:
    verified = alice_client.verify_id_token()
    assert verified.sub == ALICE["sub"]
    assert verified.email == ALICE["email"]
    assert verified.username == ALICE["username"]
    assert verified.exp > time.time()
    assert alice_client.is_id_token_valid() is True


def test_verify_a_given_token_and_cache_the_jwks(villa_mock: VillaMock, villa: VillaClient) -> None:
    assert villa.verify_id_token(villa_mock.id_token(sub="s1")).sub == "s1"
    assert villa.verify_id_token(villa_mock.id_token(sub="s2")).sub == "s2"
    jwks = [r for r in villa_mock.wire if r.url.path.endswith("/.well-known/jwks.json")]
    assert len(jwks) == 1
    assert str(jwks[0].url) == f"{BASE_URL}/{POOL_ID}/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": f"https://evil.example/{POOL_ID}"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"token_use": "access"}, "token_use"),
        ({"exp": None}, "exp"),
        ({"aud": None}, "aud"),
    ],
)
def test_invalid_tokens_are_refused(
    villa_mock: VillaMock, villa: VillaClient, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError) as caught:
        villa.verify_id_token(villa_mock.id_token(**claims))
    assert caught.value.type == "InvalidToken"
    assert message in str(caught.value).lower() or message in str(caught.value)


def test_a_foreign_issuer_is_refused_before_any_key_is_fetched(villa_mock: VillaMock, villa: VillaClient) -> None:
    with pytest.raises(AuthError, match="issuer"):
        villa.verify_id_token(villa_mock.id_token(iss="https://evil.example/pool"))
    assert not any("jwks" in r.url.path for r in villa_mock.wire)


def test_unknown_key_id_and_tampered_signature(villa_mock: VillaMock, villa: VillaClient) -> None:
    with pytest.raises(AuthError, match="key id"):
        villa.verify_id_token(villa_mock.id_token(kid="other-kid"))
    header, payload, signature = villa_mock.id_token().split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    with pytest.raises(AuthError, match="InvalidToken"):
        villa.verify_id_token(f"{header}.{forged_payload}.{signature}")


def test_is_id_token_valid_is_false_before_login_and_verify_needs_a_token(villa: VillaClient) -> None:
    assert villa.is_id_token_valid() is False
    with pytest.raises(UsageError, match="login"):
        villa.verify_id_token()


def test_verify_against_aws_issuer_by_default(villa_mock: VillaMock) -> None:
    with villa_mock.client(cognito_endpoint=None) as client:
        token = villa_mock.id_token()
        with pytest.raises(AuthError, match="https://cognito-idp.ap-southeast-1.amazonaws.com/"):
            client.verify_id_token(token)
