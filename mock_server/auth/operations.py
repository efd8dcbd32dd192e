"""The Cognito Identity Provider operations the mock implements, with Cognito's own errors.

Each operation takes the decoded JSON request and returns the JSON answer, or raises
``CognitoError``. Implemented: SignUp, ConfirmSignUp, InitiateAuth (USER_PASSWORD_AUTH,
REFRESH_TOKEN_AUTH/REFRESH_TOKEN), GetUser, AdminConfirmSignUp, AdminGetUser, AdminCreateUser.

Deviation from real Cognito: AdminCreateUser stores the ``TemporaryPassword`` as the user's
password and creates the user CONFIRMED (the mock has no NEW_PASSWORD_REQUIRED challenge).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any, Final

from mock_server.auth import errors as err
from mock_server.auth.errors import CognitoError
from mock_server.auth.pool import AppClient, PoolConfig, secret_hash_matches
from mock_server.auth.tokens import TokenRejected, TokenService
from mock_server.auth.users import CONFIRMED, RefreshTokens, UserDirectory, attributes, password_matches
from villa_contracts.domain.clock import Clock

Body = dict[str, Any]

AUTH_FLOWS: Final = (
    "USER_SRP_AUTH",
    "REFRESH_TOKEN_AUTH",
    "REFRESH_TOKEN",
    "CUSTOM_AUTH",
    "ADMIN_NO_SRP_AUTH",
    "USER_PASSWORD_AUTH",
    "ADMIN_USER_PASSWORD_AUTH",
    "USER_AUTH",
)
_REFRESH_FLOWS: Final = frozenset({"REFRESH_TOKEN_AUTH", "REFRESH_TOKEN"})
_INCORRECT: Final = "Incorrect username or password."


def _text(body: Body, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            raise err.missing(name)
        return None
    if not isinstance(value, str):
        raise CognitoError(err.INVALID_PARAMETER, f"{name} must be a string")
    return value


def _required(body: Body, name: str) -> str:
    value = _text(body, name)
    assert value is not None  # _text raised for a missing required value
    return value


def _user_attributes(body: Body) -> dict[str, str]:
    raw = body.get("UserAttributes") or []
    if not isinstance(raw, list):
        raise CognitoError(err.INVALID_PARAMETER, "UserAttributes must be a list of {Name, Value}")
    attrs: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("Name"), str):
            raise CognitoError(err.INVALID_PARAMETER, "UserAttributes must be a list of {Name, Value}")
        value = item.get("Value", "")
        attrs[item["Name"]] = value if isinstance(value, str) else str(value)
    email = attrs.get("email")
    if email is not None and ("@" not in email or email.startswith("@") or email.endswith("@")):
        raise CognitoError(err.INVALID_PARAMETER, "Invalid email address format.")
    return attrs


def _masked(email: str) -> str:
    # Cognito shows where the code went without showing the address: "t***@v***".
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain[:1]}***"


def _username(body: Body, name: str = "Username") -> str:
    username = _required(body, name)
    if not 1 <= len(username) <= 128 or any(c.isspace() for c in username):
        raise CognitoError(err.INVALID_PARAMETER, f"{name} must be 1 to 128 characters without spaces")
    return username


class CognitoOperations:
    """The operations, bound to one pool's users, refresh tokens and token service."""

    def __init__(
        self, *, pool: PoolConfig, users: UserDirectory, refresh: RefreshTokens, tokens: TokenService, clock: Clock
    ) -> None:
        """Serve ``pool`` with these records and tokens; ``clock`` dates logins."""
        self._pool = pool
        self._clock = clock
        self._users = users
        self._refresh = refresh
        self._tokens = tokens
        self.table: dict[str, Callable[[Body], Body]] = {
            "SignUp": self.sign_up,
            "ConfirmSignUp": self.confirm_sign_up,
            "InitiateAuth": self.initiate_auth,
            "GetUser": self.get_user,
            "AdminConfirmSignUp": self.admin_confirm_sign_up,
            "AdminGetUser": self.admin_get_user,
            "AdminCreateUser": self.admin_create_user,
        }

    # -- shared checks -------------------------------------------------------------------------

    def check_password(self, password: str) -> None:
        """Raise ``InvalidPasswordException`` when ``password`` breaks the pool's policy."""
        reason = self._pool.password_policy.first_violation(password)
        if reason is not None:
            raise CognitoError(err.INVALID_PASSWORD, f"Password did not conform with policy: {reason}")

    def _client(self, body: Body) -> AppClient:
        client_id = _required(body, "ClientId")
        client = self._pool.client(client_id)
        if client is None:
            raise err.user_pool_client_not_found(client_id)
        return client

    def _check_pool(self, body: Body) -> None:
        pool_id = _required(body, "UserPoolId")
        if pool_id != self._pool.user_pool_id:
            raise err.user_pool_not_found(pool_id)

    @staticmethod
    def _check_secret(client: AppClient, given: Any, usernames: list[str]) -> None:
        if client.client_secret is None:
            return
        if not isinstance(given, str) or not given:
            raise err.no_secret_hash(client.client_id)
        if not secret_hash_matches(client, given, usernames):
            raise err.bad_secret_hash(client.client_id)

    def _auth_result(self, user: dict[str, Any], client_id: str, auth_time: int, *, refresh: bool) -> Body:
        id_token, access_token = self._tokens.issue(user, client_id, auth_time=auth_time)
        result: Body = {
            "AccessToken": access_token,
            "ExpiresIn": self._pool.token_validity_seconds,
            "TokenType": "Bearer",
            "IdToken": id_token,
        }
        if refresh:
            result["RefreshToken"] = self._refresh.issue(user, client_id, auth_time)
        return {"AuthenticationResult": result, "ChallengeParameters": {}}

    # -- client operations ---------------------------------------------------------------------

    def sign_up(self, body: Body) -> Body:
        """SignUp: create an UNCONFIRMED user; the code to confirm it is the pool's ``confirmationCode``."""
        client = self._client(body)
        username = _username(body)
        password = _required(body, "Password")
        self._check_secret(client, body.get("SecretHash"), [username])
        attrs = _user_attributes(body)
        self.check_password(password)
        user = self._users.create(username, password, email=attrs.get("email"), confirmed=False)
        answer: Body = {"UserConfirmed": False, "UserSub": user["sub"]}
        if user["email"]:
            answer["CodeDeliveryDetails"] = {
                "Destination": _masked(user["email"]),
                "DeliveryMedium": "EMAIL",
                "AttributeName": "email",
            }
        return answer

    def confirm_sign_up(self, body: Body) -> Body:
        """ConfirmSignUp: confirm with the pool's code."""
        client = self._client(body)
        username = _required(body, "Username")
        code = _required(body, "ConfirmationCode")
        self._check_secret(client, body.get("SecretHash"), [username])
        user = self._users.require(username, "Username/client id combination not found.")
        if user["status"] == CONFIRMED:
            raise CognitoError(err.NOT_AUTHORIZED, "User cannot be confirmed. Current status is CONFIRMED")
        if not hmac.compare_digest(code.encode(), self._pool.confirmation_code.encode()):
            raise CognitoError(err.CODE_MISMATCH, "Invalid verification code provided, please try again.")
        self._users.confirm(username)
        return {}

    def initiate_auth(self, body: Body) -> Body:
        """InitiateAuth: USER_PASSWORD_AUTH, or REFRESH_TOKEN_AUTH / REFRESH_TOKEN."""
        client = self._client(body)
        flow = _required(body, "AuthFlow")
        if flow not in AUTH_FLOWS:
            raise CognitoError(
                err.INVALID_PARAMETER,
                f"1 validation error detected: Value '{flow[:40]}' at 'authFlow' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{', '.join(AUTH_FLOWS)}]",
            )
        params = body.get("AuthParameters") or {}
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise CognitoError(err.INVALID_PARAMETER, "AuthParameters must map names to strings")
        if not client.allows(flow):
            raise CognitoError(err.INVALID_PARAMETER, f"{flow} flow not enabled for this client")
        if flow == "USER_PASSWORD_AUTH":
            return self._password_auth(client, params)
        if flow in _REFRESH_FLOWS:
            return self._refresh_auth(client, params)
        raise CognitoError(
            err.INVALID_PARAMETER,
            f"{flow} flow not enabled for this client "
            "(the villa mock supports USER_PASSWORD_AUTH and REFRESH_TOKEN_AUTH)",
        )

    def _password_auth(self, client: AppClient, params: dict[str, str]) -> Body:
        username = _username(params, "USERNAME")
        password = _required(params, "PASSWORD")
        self._check_secret(client, params.get("SECRET_HASH"), [username])
        user = self._users.get(username)
        # Same answer for an unknown user and a wrong password: no user enumeration.
        if not password_matches(password, user["passwordHash"] if user else None) or user is None:
            raise CognitoError(err.NOT_AUTHORIZED, _INCORRECT)
        if user["status"] != CONFIRMED:
            raise CognitoError(err.USER_NOT_CONFIRMED, "User is not confirmed.")
        if not user.get("enabled", True):
            raise CognitoError(err.NOT_AUTHORIZED, "User is disabled.")
        return self._auth_result(user, client.client_id, int(self._clock.now()), refresh=True)

    def _refresh_auth(self, client: AppClient, params: dict[str, str]) -> Body:
        token = _required(params, "REFRESH_TOKEN")
        record = self._refresh.find(token)
        user = self._users.get(record["userKey"]) if record else None
        if record is None or user is None or record["clientId"] != client.client_id:
            raise CognitoError(err.NOT_AUTHORIZED, "Invalid Refresh Token")
        # The hash may be computed with the user name, the sub (what SDKs often hold) or the e-mail alias.
        names = [user["username"], user["sub"]] + ([user["email"]] if user.get("email") else [])
        self._check_secret(client, params.get("SECRET_HASH"), names)
        if self._refresh.expired(record):
            raise CognitoError(err.NOT_AUTHORIZED, "Refresh Token has expired")
        return self._auth_result(user, client.client_id, int(record["authTime"]), refresh=False)

    def get_user(self, body: Body) -> Body:
        """GetUser: the attributes of the access token's user."""
        token = _required(body, "AccessToken")
        try:
            claims = self._tokens.verify_access_token(token)
        except TokenRejected as exc:
            raise CognitoError(
                err.NOT_AUTHORIZED, "Access Token has expired" if exc.expired else "Invalid Access Token"
            ) from None
        user = self._users.get(claims["username"])
        if user is None or user["sub"] != claims["sub"]:
            raise CognitoError(err.USER_NOT_FOUND, "User does not exist.")
        return {"Username": user["username"], "UserAttributes": attributes(user)}

    # -- admin operations (SigV4-signed by SDKs; the mock accepts any credentials) ---------------

    def admin_confirm_sign_up(self, body: Body) -> Body:
        """AdminConfirmSignUp: confirm without a code."""
        self._check_pool(body)
        username = _required(body, "Username")
        user = self._users.require(username)
        if user["status"] == CONFIRMED:
            raise CognitoError(err.NOT_AUTHORIZED, "User cannot be confirmed. Current status is CONFIRMED")
        self._users.confirm(username)
        return {}

    def admin_get_user(self, body: Body) -> Body:
        """AdminGetUser: the user's attributes and status."""
        self._check_pool(body)
        user = self._users.require(_required(body, "Username"))
        return {"Username": user["username"], **self.user_type(user, attributes_key="UserAttributes")}

    def admin_create_user(self, body: Body) -> Body:
        """AdminCreateUser: a CONFIRMED user whose password is ``TemporaryPassword`` (see module notes)."""
        self._check_pool(body)
        username = _username(body)
        password = _text(body, "TemporaryPassword", required=False)
        if password is None:
            raise CognitoError(err.INVALID_PARAMETER, "TemporaryPassword is required by the mock (it sends no e-mail)")
        attrs = _user_attributes(body)
        self.check_password(password)
        user = self._users.create(username, password, email=attrs.get("email"), confirmed=True)
        return {"User": {"Username": user["username"], **self.user_type(user, attributes_key="Attributes")}}

    @staticmethod
    def user_type(user: dict[str, Any], *, attributes_key: str) -> Body:
        """Cognito's UserType fields of ``user`` (dates as epoch seconds, as the JSON protocol sends them)."""
        return {
            attributes_key: attributes(user),
            "UserCreateDate": user["createdAt"],
            "UserLastModifiedDate": user["updatedAt"],
            "Enabled": bool(user.get("enabled", True)),
            "UserStatus": user["status"],
        }
