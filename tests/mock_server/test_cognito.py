"""An unmodified boto3 ``cognito-idp`` client against the mock's Cognito emulation, over a real socket."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from jose import jwt

from tests.fixtures.servers import CognitoServer
from villa_contracts.contract import load

pytestmark = pytest.mark.socket

POOL = load().data("cognito")
POOL_ID = POOL["userPoolId"]
CLIENT = POOL["appClients"][0]
SRP_ONLY = POOL["appClients"][1]
SEEDED = load().data("users")[0]
PASSWORD = "NewUser123!"


def secret_hash(username: str, client: dict[str, Any] = CLIENT) -> str:
    # Computed here from the published formula, not with the mock's own helper.
    mac = hmac.new(client["clientSecret"].encode(), (username + client["clientId"]).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@pytest.fixture
def idp(cognito_server: CognitoServer) -> Any:
    return boto3.client(
        "cognito-idp",
        region_name="ap-southeast-1",
        endpoint_url=cognito_server.base_url,
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def new_name() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@villa.example"


def sign_up(idp: Any, username: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "ClientId": CLIENT["clientId"],
        "Username": username,
        "Password": password,
        "SecretHash": secret_hash(username),
        "UserAttributes": [{"Name": "email", "Value": username}],
    }
    return dict(idp.sign_up(**(kwargs | extra)))


def login(idp: Any, username: str, password: str = PASSWORD, **params: str) -> dict[str, Any]:
    auth = {"USERNAME": username, "PASSWORD": password, "SECRET_HASH": secret_hash(username)} | params
    return dict(idp.initiate_auth(ClientId=CLIENT["clientId"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters=auth))


def error_of(exc_info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc_info.value.response["Error"]
    return error["Code"], error["Message"]


# -- happy paths -----------------------------------------------------------------------------------


def test_sign_up_confirm_and_log_in(idp: Any) -> None:
    username = new_name()
    answer = sign_up(idp, username)
    assert answer["UserConfirmed"] is False
    assert uuid.UUID(answer["UserSub"]).version == 4
    assert answer["CodeDeliveryDetails"] == {
        "Destination": "u***@v***",
        "DeliveryMedium": "EMAIL",
        "AttributeName": "email",
    }
    idp.confirm_sign_up(
        ClientId=CLIENT["clientId"],
        Username=username,
        ConfirmationCode=POOL["confirmationCode"],
        SecretHash=secret_hash(username),
    )
    result = login(idp, username)
    assert result["ChallengeParameters"] == {}
    tokens = result["AuthenticationResult"]
    assert tokens["ExpiresIn"] == 3600
    assert tokens["TokenType"] == "Bearer"
    assert {"AccessToken", "IdToken", "RefreshToken"} <= set(tokens)
    claims = jwt.get_unverified_claims(tokens["IdToken"])
    assert claims["sub"] == answer["UserSub"]
    assert claims["cognito:username"] == username


def test_admin_confirm_sign_up_then_log_in(idp: Any) -> None:
    username = new_name()
    sign_up(idp, username)
    assert idp.admin_confirm_sign_up(UserPoolId=POOL_ID, Username=username)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "IdToken" in login(idp, username)["AuthenticationResult"]
    user = idp.admin_get_user(UserPoolId=POOL_ID, Username=username)
    assert user["UserStatus"] == "CONFIRMED"
    assert {"Name": "email", "Value": username} in user["UserAttributes"]


def test_id_token_verifies_against_the_published_jwks(idp: Any, cognito_server: CognitoServer) -> None:
    id_token = login(idp, SEEDED["username"], SEEDED["password"])["AuthenticationResult"]["IdToken"]
    base = cognito_server.base_url
    discovery = httpx.get(f"{base}/{POOL_ID}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == f"{base}/{POOL_ID}"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]
    jwks = httpx.get(discovery["jwks_uri"]).json()
    (key,) = jwks["keys"]
    assert {key["kty"], key["alg"], key["use"]} == {"RSA", "RS256", "sig"}
    assert jwt.get_unverified_header(id_token)["kid"] == key["kid"]
    claims = jwt.decode(id_token, jwks, algorithms=["RS256"], audience=CLIENT["clientId"], issuer=discovery["issuer"])
    assert claims["token_use"] == "id"
    assert claims["sub"] == SEEDED["sub"]
    assert claims["email"] == SEEDED["email"]
    assert claims["email_verified"] is True
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["auth_time"] == claims["iat"]


def test_get_user_with_the_access_token(idp: Any) -> None:
    access = login(idp, SEEDED["username"], SEEDED["password"])["AuthenticationResult"]["AccessToken"]
    user = idp.get_user(AccessToken=access)
    assert user["Username"] == SEEDED["username"]
    assert user["UserAttributes"] == [
        {"Name": "sub", "Value": SEEDED["sub"]},
        {"Name": "email", "Value": SEEDED["email"]},
        {"Name": "email_verified", "Value": "true"},
    ]


@pytest.mark.parametrize("flow", ["REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"])
@pytest.mark.parametrize("hash_with", ["username", "sub"])
def test_refresh_gives_new_tokens_but_no_new_refresh_token(idp: Any, flow: str, hash_with: str) -> None:
    first = login(idp, SEEDED["username"], SEEDED["password"])["AuthenticationResult"]
    result = idp.initiate_auth(
        ClientId=CLIENT["clientId"],
        AuthFlow=flow,
        AuthParameters={"REFRESH_TOKEN": first["RefreshToken"], "SECRET_HASH": secret_hash(SEEDED[hash_with])},
    )["AuthenticationResult"]
    assert "RefreshToken" not in result
    assert result["IdToken"] != first["IdToken"]
    claims = jwt.get_unverified_claims(result["IdToken"])
    assert claims["sub"] == SEEDED["sub"]
    assert claims["auth_time"] == jwt.get_unverified_claims(first["IdToken"])["auth_time"]


def test_tokens_expire_with_the_mock_clock(idp: Any, cognito_server: CognitoServer) -> None:
    tokens = login(idp, SEEDED["username"], SEEDED["password"])["AuthenticationResult"]
    cognito_server.clock.advance(3601)
    with pytest.raises(ClientError) as exc_info:
        idp.get_user(AccessToken=tokens["AccessToken"])
    assert error_of(exc_info) == ("NotAuthorizedException", "Access Token has expired")
    # The refresh token outlives the ID token: that is what it is for.
    refreshed = idp.initiate_auth(
        ClientId=CLIENT["clientId"],
        AuthFlow="REFRESH_TOKEN_AUTH",
        AuthParameters={"REFRESH_TOKEN": tokens["RefreshToken"], "SECRET_HASH": secret_hash(SEEDED["username"])},
    )
    assert idp.get_user(AccessToken=refreshed["AuthenticationResult"]["AccessToken"])["Username"]


# -- Cognito's errors ------------------------------------------------------------------------------


def test_wrong_secret_hash(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        login(idp, SEEDED["username"], SEEDED["password"], SECRET_HASH=secret_hash("someone-else"))
    assert error_of(exc_info) == (
        "NotAuthorizedException",
        f"Unable to verify secret hash for client {CLIENT['clientId']}",
    )
    with pytest.raises(ClientError) as exc_info:
        sign_up(idp, new_name(), SecretHash=base64.b64encode(b"x" * 32).decode())
    assert error_of(exc_info)[1] == f"Unable to verify secret hash for client {CLIENT['clientId']}"


def test_missing_secret_hash(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.initiate_auth(
            ClientId=CLIENT["clientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": SEEDED["username"], "PASSWORD": SEEDED["password"]},
        )
    assert error_of(exc_info) == (
        "NotAuthorizedException",
        f"Client {CLIENT['clientId']} is configured with secret but SECRET_HASH was not received",
    )


def test_user_not_confirmed(idp: Any) -> None:
    username = new_name()
    sign_up(idp, username)
    with pytest.raises(ClientError) as exc_info:
        login(idp, username)
    assert error_of(exc_info) == ("UserNotConfirmedException", "User is not confirmed.")


@pytest.mark.parametrize(
    ("username", "password"),
    [(SEEDED["username"], "WrongPass123!"), ("nobody@villa.example", "Whatever123!")],
    ids=["wrong-password", "unknown-user"],
)
def test_wrong_password_and_unknown_user_look_the_same(idp: Any, username: str, password: str) -> None:
    with pytest.raises(ClientError) as exc_info:
        login(idp, username, password)
    assert error_of(exc_info) == ("NotAuthorizedException", "Incorrect username or password.")


def test_flow_not_enabled_for_the_srp_only_client(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.initiate_auth(
            ClientId=SRP_ONLY["clientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": SEEDED["username"], "PASSWORD": SEEDED["password"]},
        )
    assert error_of(exc_info) == ("InvalidParameterException", "USER_PASSWORD_AUTH flow not enabled for this client")


def test_other_flows_are_refused(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.initiate_auth(ClientId=CLIENT["clientId"], AuthFlow="CUSTOM_AUTH", AuthParameters={"USERNAME": "x"})
    assert error_of(exc_info) == ("InvalidParameterException", "CUSTOM_AUTH flow not enabled for this client")


def test_duplicate_sign_up(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        sign_up(idp, SEEDED["username"])
    assert error_of(exc_info) == ("UsernameExistsException", "User already exists")


def test_bad_confirmation_code_then_already_confirmed(idp: Any) -> None:
    username = new_name()
    sign_up(idp, username)
    confirm = {"ClientId": CLIENT["clientId"], "Username": username, "SecretHash": secret_hash(username)}
    with pytest.raises(ClientError) as exc_info:
        idp.confirm_sign_up(ConfirmationCode="000000", **confirm)
    assert error_of(exc_info) == ("CodeMismatchException", "Invalid verification code provided, please try again.")
    idp.confirm_sign_up(ConfirmationCode=POOL["confirmationCode"], **confirm)
    with pytest.raises(ClientError) as exc_info:
        idp.confirm_sign_up(ConfirmationCode=POOL["confirmationCode"], **confirm)
    assert error_of(exc_info) == ("NotAuthorizedException", "User cannot be confirmed. Current status is CONFIRMED")


def test_confirm_unknown_user(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.confirm_sign_up(
            ClientId=CLIENT["clientId"],
            Username="ghost@villa.example",
            ConfirmationCode=POOL["confirmationCode"],
            SecretHash=secret_hash("ghost@villa.example"),
        )
    assert error_of(exc_info) == ("UserNotFoundException", "Username/client id combination not found.")


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("Sh0rt!", "Password not long enough"),
        ("nouppercase1", "Password must have uppercase characters"),
        ("NOLOWERCASE1", "Password must have lowercase characters"),
        ("NoNumbersHere", "Password must have numeric characters"),
    ],
)
def test_weak_password(idp: Any, password: str, reason: str) -> None:
    with pytest.raises(ClientError) as exc_info:
        sign_up(idp, new_name(), password)
    assert error_of(exc_info) == ("InvalidPasswordException", f"Password did not conform with policy: {reason}")


def test_unknown_client_and_pool(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.sign_up(ClientId="nosuchclient", Username="a@b.example", Password=PASSWORD)
    assert error_of(exc_info) == ("ResourceNotFoundException", "User pool client nosuchclient does not exist.")
    with pytest.raises(ClientError) as exc_info:
        idp.admin_confirm_sign_up(UserPoolId="ap-southeast-1_nope", Username=SEEDED["username"])
    assert error_of(exc_info) == ("ResourceNotFoundException", "User pool ap-southeast-1_nope does not exist.")
    with pytest.raises(ClientError) as exc_info:
        idp.admin_confirm_sign_up(UserPoolId=POOL_ID, Username="ghost@villa.example")
    assert error_of(exc_info) == ("UserNotFoundException", "User does not exist.")


def test_invalid_refresh_and_access_tokens(idp: Any) -> None:
    with pytest.raises(ClientError) as exc_info:
        idp.initiate_auth(
            ClientId=CLIENT["clientId"],
            AuthFlow="REFRESH_TOKEN_AUTH",
            AuthParameters={"REFRESH_TOKEN": "not-a-refresh-token", "SECRET_HASH": secret_hash(SEEDED["username"])},
        )
    assert error_of(exc_info) == ("NotAuthorizedException", "Invalid Refresh Token")
    id_token = login(idp, SEEDED["username"], SEEDED["password"])["AuthenticationResult"]["IdToken"]
    for bad in ("garbage", id_token):  # an ID token is not an access token
        with pytest.raises(ClientError) as exc_info:
            idp.get_user(AccessToken=bad)
        assert error_of(exc_info) == ("NotAuthorizedException", "Invalid Access Token")


def test_admin_create_user_can_log_in(idp: Any) -> None:
    username = new_name()
    created = idp.admin_create_user(
        UserPoolId=POOL_ID,
        Username=username,
        TemporaryPassword=PASSWORD,
        UserAttributes=[{"Name": "email", "Value": username}],
    )["User"]
    assert created["UserStatus"] == "CONFIRMED"
    assert login(idp, username)["AuthenticationResult"]["IdToken"]


# -- the wire protocol -----------------------------------------------------------------------------


def call(
    base_url: str, target: str, content: bytes, content_type: str = "application/x-amz-json-1.1"
) -> httpx.Response:
    headers = {"X-Amz-Target": target, "Content-Type": content_type}
    return httpx.post(f"{base_url}/", content=content, headers=headers)


def test_wire_format_of_answers_and_errors(cognito_server: CognitoServer) -> None:
    ok = call(
        cognito_server.base_url,
        "AWSCognitoIdentityProviderService.InitiateAuth",
        json.dumps(
            {
                "ClientId": CLIENT["clientId"],
                "AuthFlow": "USER_PASSWORD_AUTH",
                "AuthParameters": {
                    "USERNAME": SEEDED["username"],
                    "PASSWORD": SEEDED["password"],
                    "SECRET_HASH": secret_hash(SEEDED["username"]),
                },
            }
        ).encode(),
        content_type="application/json",
    )
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("application/x-amz-json-1.1")
    bad = call(cognito_server.base_url, "AWSCognitoIdentityProviderService.InitiateAuth", b"{}")
    assert bad.status_code == 400
    assert bad.headers["x-amzn-errortype"] == "InvalidParameterException"
    assert bad.json() == {"__type": "InvalidParameterException", "message": "Missing required parameter ClientId"}


@pytest.mark.parametrize(
    ("target", "content", "error"),
    [
        ("AWSCognitoIdentityProviderService.ForgotPassword", b"{}", "UnknownOperationException"),
        ("", b"{}", "UnknownOperationException"),
        ("SomeOtherService.SignUp", b"{}", "UnknownOperationException"),
        ("AWSCognitoIdentityProviderService.SignUp", b"{not json", "SerializationException"),
        ("AWSCognitoIdentityProviderService.SignUp", b"[1, 2]", "SerializationException"),
    ],
)
def test_protocol_errors(cognito_server: CognitoServer, target: str, content: bytes, error: str) -> None:
    response = call(cognito_server.base_url, target, content)
    assert response.status_code == 400
    assert response.json()["__type"] == error
    assert response.headers["x-amzn-errortype"] == error


def test_unknown_pool_has_no_discovery_documents(cognito_server: CognitoServer) -> None:
    for doc in ("jwks.json", "openid-configuration"):
        response = httpx.get(f"{cognito_server.base_url}/ap-southeast-1_nope/.well-known/{doc}")
        assert response.status_code == 404
        assert "ap-southeast-1_nope" in response.json()["error"]
