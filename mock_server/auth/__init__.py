"""The mock's Cognito-compatible user pool: SDK login, ID tokens, and their verification.

An unmodified AWS SDK ``cognito-idp`` client pointed at the mock (``endpoint_url``) can sign up,
confirm, log in with USER_PASSWORD_AUTH and refresh; the ID tokens it gets verify against the
mock's JWKS and are what secured Villa calls carry. See ``AuthService``.
"""

from __future__ import annotations

from mock_server.auth.errors import CognitoError
from mock_server.auth.keys import SigningKey
from mock_server.auth.pool import AppClient, PasswordPolicy, PoolConfig, secret_hash
from mock_server.auth.service import AuthService
from mock_server.auth.tokens import Principal

__all__ = [
    "AppClient",
    "AuthService",
    "CognitoError",
    "PasswordPolicy",
    "PoolConfig",
    "Principal",
    "SigningKey",
    "secret_hash",
]
