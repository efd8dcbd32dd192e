"""Cognito on the wire (InitiateAuth, SignUp, ConfirmSignUp), the ID token on API calls, and JWT checks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from tests.fixtures.client import CLIENT_ID, CLIENT_SECRET, CODE, POOL_ID, USER, FakeVilla
from villa_contracts.client import AuthError, Tokens, VillaClient, secret_hash
from villa_contracts.client._auth import unverified_claims
from villa_contracts.errors import ApiError, ClientError, ConfigError, UsageError


def _cognito_requests(fake: FakeVilla) -> list[tuple[str, dict[str, object]]]:
    return [(r.headers["x-amz-target"], json.loads(r.content)) for r in fake.requests if r.url.path == "/"]


def test_secret_hash_is_hmac_sha256_of_username_and_client_id() -> None:
    expected = base64.b64encode(hmac.new(b"k", b"userclient", hashlib.sha256).digest()).decode()
    assert secret_hash("k", "user", "client") == expected


def test_login_speaks_initiate_auth_like_aws_sdks(fake_villa: FakeVilla, villa: VillaClient) -> None:
    tokens = villa.login(USER["username"], USER["password"])
    request = next(r for r in fake_villa.requests if r.url.path == "/")
    assert request.method == "POST"
    assert (request.url.host, request.url.raw_path) == ("villa.test", b"/")
    assert request.headers["x-amz-target"] == "AWSCognitoIdentityProviderService.InitiateAuth"
    assert request.headers["content-type"] == "application/x-amz-json-1.1"
    body = json.loads(request.content)
    assert body == {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": CLIENT_ID,
        "AuthParameters": {
            "USERNAME": USER["username"],
            "PASSWORD": USER["password"],
            "SECRET_HASH": secret_hash(CLIENT_SECRET, USER["username"], CLIENT_ID),
        },
    }
    assert tokens.expires_in == 3600 and tokens.refresh_token
    assert villa.owner_id == USER["sub"]


def test_no_secret_hash_without_a_secret() -> None:
    fake = FakeVilla(secret=None)
    with fake.client() as client:
        client.login(USER["username"], USER["password"])
    ((_, body),) = _cognito_requests(fake)
    assert "SECRET_HASH" not in body["AuthParameters"]  # type: ignore[operator]


def test_cognito_errors_become_auth_errors_without_the_password(villa: VillaClient) -> None:
    with pytest.raises(AuthError) as caught:
        villa.login(USER["username"], "Wrong-Password-9")
    assert caught.value.type == "NotAuthorizedException"
    assert caught.value.message == "Incorrect username or password."
    assert caught.value.status_code == 400
    assert isinstance(caught.value, ClientError)
    assert "Wrong-Password-9" not in str(caught.value)
    assert villa.tokens is None and villa.owner_id is None


def test_login_needs_cognito_settings(fake_villa: FakeVilla) -> None:
    with fake_villa.client(cognito_client_id=None, cognito_user_pool_id=None) as client:
        with pytest.raises(ConfigError, match="VILLA_COGNITO_CLIENT_ID, VILLA_COGNITO_USER_POOL_ID"):
            client.login(USER["username"], USER["password"])


def test_register_confirm_login(fake_villa: FakeVilla, villa: VillaClient) -> None:
    result = villa.register("bob@villa.example", "BobPass123!", email="bob@villa.example")
    assert result.user_confirmed is False and result.user_sub
    with pytest.raises(AuthError) as caught:
        villa.login("bob@villa.example", "BobPass123!")
    assert caught.value.type == "UserNotConfirmedException"
    with pytest.raises(AuthError, match="CodeMismatchException"):
        villa.auth.confirm_sign_up("bob@villa.example", "000000")
    villa.auth.confirm_sign_up("bob@villa.example", confirmation_code=CODE)
    villa.login("bob@villa.example", "BobPass123!")
    assert villa.owner_id == result.user_sub
    targets = [t.rsplit(".", 1)[1] for t, _ in _cognito_requests(fake_villa)]
    assert targets == ["SignUp", "InitiateAuth", "ConfirmSignUp", "ConfirmSignUp", "InitiateAuth"]
    sign_up = _cognito_requests(fake_villa)[0][1]
    assert sign_up["UserAttributes"] == [{"Name": "email", "Value": "bob@villa.example"}]
    assert sign_up["SecretHash"] == secret_hash(CLIENT_SECRET, "bob@villa.example", CLIENT_ID)


def test_register_an_existing_user(villa: VillaClient) -> None:
    with pytest.raises(AuthError) as caught:
        villa.register(USER["username"], "Another123!", email=USER["username"])
    assert caught.value.type == "UsernameExistsException"


def test_refresh_keeps_the_refresh_token(fake_villa: FakeVilla, alice_client: VillaClient) -> None:
    before = alice_client.tokens
    assert before is not None
    after = alice_client.refresh()
    assert after.id_token != before.id_token
    assert after.refresh_token == before.refresh_token
    _, body = _cognito_requests(fake_villa)[-1]
    assert body["AuthFlow"] == "REFRESH_TOKEN_AUTH"
    assert body["AuthParameters"] == {
        "REFRESH_TOKEN": before.refresh_token,
        "SECRET_HASH": secret_hash(CLIENT_SECRET, USER["username"], CLIENT_ID),
    }


def test_refresh_needs_a_login(villa: VillaClient) -> None:
    with pytest.raises(UsageError, match="login"):
        villa.refresh()


def test_api_calls_carry_the_id_token_after_login(fake_villa: FakeVilla, villa: VillaClient) -> None:
    with pytest.raises(ApiError) as caught:
        villa.orders.generate_order_id("1000")
    assert caught.value.status_code == 401
    assert "authorization" not in fake_villa.requests[-1].headers
    tokens = villa.login(USER["username"], USER["password"])
    villa.orders.generate_order_id("1000")
    assert fake_villa.requests[-1].headers["authorization"] == f"Bearer {tokens.id_token}"


def test_tokens_never_show_in_repr(alice_client: VillaClient) -> None:
    tokens = alice_client.tokens
    assert isinstance(tokens, Tokens)
    for secret in (tokens.id_token, tokens.access_token, str(tokens.refresh_token)):
        assert secret not in repr(tokens)
        assert secret not in repr(alice_client)


def test_unverified_claims_reads_the_payload(fake_villa: FakeVilla) -> None:
    assert unverified_claims(fake_villa.id_token("abc"))["sub"] == "abc"
    for bad in ("nope", "a.!!!.c", "a." + base64.urlsafe_b64encode(b"[1]").decode().rstrip("=") + ".c"):
        with pytest.raises(AuthError, match="InvalidToken"):
            unverified_claims(bad)


def test_verify_the_logged_in_token(alice_client: VillaClient) -> None:
    verified = alice_client.verify_id_token()
    assert verified.sub == USER["sub"]
    assert verified.email == USER["username"]
    assert verified.username == USER["username"]
    assert verified.exp > time.time()
    assert alice_client.is_id_token_valid() is True


def test_verify_a_given_token_and_cache_the_jwks(fake_villa: FakeVilla, villa: VillaClient) -> None:
    assert villa.verify_id_token(fake_villa.id_token("s1")).sub == "s1"
    assert villa.verify_id_token(fake_villa.id_token("s2")).sub == "s2"
    jwks = [r for r in fake_villa.requests if r.url.path.endswith("/.well-known/jwks.json")]
    assert len(jwks) == 1
    assert str(jwks[0].url) == f"http://villa.test/{POOL_ID}/.well-known/jwks.json"


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"iss": "https://evil.example/ap-southeast-1_fakePool1"}, "issuer"),
        ({"aud": "someone-else"}, "audience"),
        ({"exp": int(time.time()) - 10}, "expired"),
        ({"token_use": "access"}, "token_use"),
        ({"exp": None}, "exp"),
        ({"aud": None}, "aud"),
    ],
)
def test_invalid_tokens_are_refused(
    fake_villa: FakeVilla, villa: VillaClient, claims: dict[str, Any], message: str
) -> None:
    with pytest.raises(AuthError) as caught:
        villa.verify_id_token(fake_villa.id_token(**claims))
    assert caught.value.type == "InvalidToken"
    assert message in str(caught.value).lower() or message in str(caught.value)


def test_a_foreign_issuer_is_refused_before_any_key_is_fetched(fake_villa: FakeVilla, villa: VillaClient) -> None:
    with pytest.raises(AuthError, match="issuer"):
        villa.verify_id_token(fake_villa.id_token(iss="https://evil.example/pool"))
    assert not any("jwks" in r.url.path for r in fake_villa.requests)


def test_unknown_key_id_and_tampered_signature(fake_villa: FakeVilla, villa: VillaClient) -> None:
    with pytest.raises(AuthError, match="key id"):
        villa.verify_id_token(fake_villa.id_token(kid="other-kid"))
    header, payload, signature = fake_villa.id_token().split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=="))
    forged["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    with pytest.raises(AuthError, match="InvalidToken"):
        villa.verify_id_token(f"{header}.{forged_payload}.{signature}")


def test_is_id_token_valid_is_false_before_login_and_verify_needs_a_token(villa: VillaClient) -> None:
    assert villa.is_id_token_valid() is False
    with pytest.raises(UsageError, match="login"):
        villa.verify_id_token()


def test_verify_against_aws_issuer_by_default(fake_villa: FakeVilla) -> None:
    with fake_villa.client(cognito_endpoint=None) as client:
        token = fake_villa.id_token()
        with pytest.raises(AuthError, match="https://cognito-idp.ap-southeast-1.amazonaws.com/"):
            client.verify_id_token(token)
