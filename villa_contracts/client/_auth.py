"""Cognito over its JSON protocol, exactly as AWS SDKs speak it: sign-up, confirm, login, refresh.

Each call is ``POST {cognito endpoint}`` with ``X-Amz-Target: AWSCognitoIdentityProviderService.<Op>``
and ``Content-Type: application/x-amz-json-1.1``; errors come back as HTTP 400
``{"__type", "message"}`` and become ``AuthError``. Passwords, tokens and the client secret are never
logged nor put in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import httpx

from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import USER_AGENT, decode_body
from villa_contracts.errors import ClientError, UsageError

log = logging.getLogger("villa_contracts.client")

TARGET_PREFIX = "AWSCognitoIdentityProviderService."
AMZ_JSON = "application/x-amz-json-1.1"


class AuthError(ClientError):
    """Cognito refused a call, or a token is not a valid ID token of the configured pool.

    Attributes:
        type: the Cognito error type (``NotAuthorizedException``, ``UsernameExistsException``...),
            or ``InvalidToken`` / ``JwksUnavailable`` for token verification.
        message: Cognito's message, for a person.
        status_code: the HTTP status, when the error came from Cognito.

    """

    def __init__(self, type: str, message: str, *, status_code: int | None = None) -> None:
        self.type = type
        self.message = message
        self.status_code = status_code
        super().__init__(f"{type}: {message}")


@dataclass(frozen=True, slots=True)
class Tokens:
    """What a login answers. The tokens never appear in ``repr``.

    Attributes:
        id_token: the ID token the Villa API wants as ``Authorization: Bearer``.
        access_token: the access token (for Cognito's own user APIs).
        refresh_token: exchanges for new tokens with ``refresh()``; None when not issued.
        expires_in: lifetime of the ID and access tokens, seconds.

    """

    id_token: str = field(repr=False)
    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_in: int


@dataclass(frozen=True, slots=True)
class SignUpResult:
    """What a sign-up answers.

    Attributes:
        user_confirmed: whether the user can log in already (False until the code is confirmed).
        user_sub: the new user's ``sub``, their ``ownerId``.

    """

    user_confirmed: bool
    user_sub: str


def secret_hash(client_secret: str, username: str, client_id: str) -> str:
    """Cognito's SECRET_HASH: base64(HMAC-SHA256(client secret, username + client id)).

    Args:
        client_secret: the app client's secret.
        username: the user name the call is for.
        client_id: the app client id.

    Returns:
        The base64 digest.

    """
    digest = hmac.new(client_secret.encode(), (username + client_id).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def unverified_claims(token: str) -> dict[str, Any]:
    """Decode a JWT's payload without verifying it (to read ``sub`` of one's own token).

    Args:
        token: a compact JWT.

    Returns:
        The payload's claims.

    Raises:
        AuthError: (type ``InvalidToken``) the token is not a well-formed JWT.

    """
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthError("InvalidToken", "not a JWT: expected three dot-separated parts")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError):
        raise AuthError("InvalidToken", "not a JWT: the payload is not base64url JSON") from None
    if not isinstance(claims, dict):
        raise AuthError("InvalidToken", "not a JWT: the payload is not a JSON object")
    return claims


class CognitoAuth:
    """The Cognito user-pool calls of the SDK, and the tokens of the logged-in user.

    Args:
        settings: the Cognito settings.
        http: the HTTP client that reaches the Cognito endpoint.

    """

    def __init__(self, settings: Settings, http: httpx.Client) -> None:
        self._settings = settings
        self._http = http
        self._tokens: Tokens | None = None
        self._username: str | None = None

    @property
    def tokens(self) -> Tokens | None:
        """The current tokens, or None before login."""
        return self._tokens

    @property
    def id_token(self) -> str | None:
        """The current ID token, or None before login."""
        return self._tokens.id_token if self._tokens else None

    @property
    def owner_id(self) -> str | None:
        """The logged-in user's ``sub`` (read from the ID token, unverified), or None before login."""
        if self._tokens is None:
            return None
        sub = unverified_claims(self._tokens.id_token).get("sub")
        return sub if isinstance(sub, str) else None

    def _with_secret(self, params: dict[str, Any], username: str, key: str) -> dict[str, Any]:
        secret = self._settings.cognito_client_secret
        if secret:
            params[key] = secret_hash(secret, username, str(self._settings.cognito_client_id))
        return params

    def _call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        self._settings.require_cognito()
        headers = {"X-Amz-Target": TARGET_PREFIX + operation, "Content-Type": AMZ_JSON, "User-Agent": USER_AGENT}
        url = self._settings.cognito_url
        try:
            response = self._http.post(url, content=json.dumps(body).encode(), headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError(f"Cognito {operation}: cannot reach {url}: {type(exc).__name__}") from None
        log.debug("cognito %s -> HTTP %d", operation, response.status_code)
        answer = decode_body(response)
        if not response.is_success:
            if isinstance(answer, dict) and "__type" in answer:
                kind = str(answer["__type"]).rsplit("#", 1)[-1]
                message = str(answer.get("message") or answer.get("Message") or "")
                raise AuthError(kind, message, status_code=response.status_code)
            raise AuthError(
                "HttpError",
                f"Cognito {operation} answered HTTP {response.status_code}",
                status_code=response.status_code,
            )
        if not isinstance(answer, dict):
            raise ClientError(f"Cognito {operation} answered HTTP {response.status_code} without a JSON object")
        return answer

    def _keep(self, answer: dict[str, Any], previous_refresh: str | None = None) -> Tokens:
        result = answer.get("AuthenticationResult")
        if not isinstance(result, dict):
            challenge = answer.get("ChallengeName", "unknown")
            raise AuthError(
                "ChallengeRequired", f"Cognito asks for the {challenge} challenge, which this client does not answer"
            )
        try:
            tokens = Tokens(
                id_token=str(result["IdToken"]),
                access_token=str(result["AccessToken"]),
                refresh_token=result.get("RefreshToken") or previous_refresh,
                expires_in=int(result.get("ExpiresIn", 3600)),
            )
        except (KeyError, TypeError, ValueError):
            raise ClientError("Cognito's AuthenticationResult lacks IdToken or AccessToken") from None
        self._tokens = tokens
        return tokens

    def resume(self, tokens: Tokens) -> None:
        """Carry on a session whose tokens were got earlier (e.g. by ``villa auth login``, kept on disk).

        Args:
            tokens: the session's tokens; the Villa API will refuse them once they expire.

        """
        self._tokens = tokens

    def login(self, username: str, password: str) -> Tokens:
        """Log in with USER_PASSWORD_AUTH; later API calls carry the ID token.

        Args:
            username: the user name (or e-mail alias).
            password: the password.

        Returns:
            The tokens.

        Raises:
            ConfigError: the Cognito settings are incomplete.
            AuthError: Cognito refused (wrong password, unconfirmed user, flow not enabled...).

        """
        params = self._with_secret({"USERNAME": username, "PASSWORD": password}, username, "SECRET_HASH")
        body = {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": self._settings.cognito_client_id,
            "AuthParameters": params,
        }
        tokens = self._keep(self._call("InitiateAuth", body))
        self._username = username
        return tokens

    def refresh(self) -> Tokens:
        """Exchange the refresh token for new ID and access tokens (REFRESH_TOKEN_AUTH).

        Returns:
            The new tokens (the refresh token is kept when Cognito sends no new one).

        Raises:
            UsageError: not logged in, or no refresh token.
            AuthError: Cognito refused the refresh token.

        """
        if self._tokens is None or not self._tokens.refresh_token:
            raise UsageError("nothing to refresh: call login() first")
        claims = unverified_claims(self._tokens.id_token)
        username = str(claims.get("cognito:username") or self._username or claims.get("sub", ""))
        params = self._with_secret({"REFRESH_TOKEN": self._tokens.refresh_token}, username, "SECRET_HASH")
        body = {
            "AuthFlow": "REFRESH_TOKEN_AUTH",
            "ClientId": self._settings.cognito_client_id,
            "AuthParameters": params,
        }
        return self._keep(self._call("InitiateAuth", body), self._tokens.refresh_token)

    def register(self, username: str, password: str, *, email: str) -> SignUpResult:
        """Sign a new user up (Cognito SignUp, no AWS credentials needed).

        Args:
            username: the user name.
            password: the password (the pool's policy applies).
            email: the e-mail attribute.

        Returns:
            Whether the user is confirmed already, and their ``sub``.

        Raises:
            AuthError: Cognito refused (``UsernameExistsException``, ``InvalidPasswordException``...).

        """
        body = self._with_secret(
            {
                "ClientId": self._settings.cognito_client_id,
                "Username": username,
                "Password": password,
                "UserAttributes": [{"Name": "email", "Value": email}],
            },
            username,
            "SecretHash",
        )
        answer = self._call("SignUp", body)
        return SignUpResult(user_confirmed=bool(answer.get("UserConfirmed")), user_sub=str(answer.get("UserSub", "")))

    def confirm_sign_up(self, username: str, confirmation_code: str) -> None:
        """Confirm a sign-up with the code the user received.

        Args:
            username: the user name.
            confirmation_code: the code from the e-mail.

        Raises:
            AuthError: Cognito refused (``CodeMismatchException``, ``ExpiredCodeException``...).

        """
        body = {
            "ClientId": self._settings.cognito_client_id,
            "Username": username,
            "ConfirmationCode": confirmation_code,
        }
        self._call("ConfirmSignUp", self._with_secret(body, username, "SecretHash"))
