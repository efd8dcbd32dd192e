"""Cognito's errors, as the AWS JSON protocol names them, and their mock-API equivalents.

Cognito operations fail with HTTP 400 and ``{"__type": "<ExceptionName>", "message": "..."}``;
AWS SDKs raise them as ``ClientError`` with ``Error.Code`` = the exception name. The same failures
reached through the mock's own Python/admin API become the mock's JSON errors (``MockError``).
"""

from __future__ import annotations

from typing import Final

from mock_server.errors import BadRequest, Conflict, MockError, NotFound, Unauthorized

NOT_AUTHORIZED: Final = "NotAuthorizedException"
USER_NOT_FOUND: Final = "UserNotFoundException"
USER_NOT_CONFIRMED: Final = "UserNotConfirmedException"
USERNAME_EXISTS: Final = "UsernameExistsException"
INVALID_PASSWORD: Final = "InvalidPasswordException"
INVALID_PARAMETER: Final = "InvalidParameterException"
CODE_MISMATCH: Final = "CodeMismatchException"
RESOURCE_NOT_FOUND: Final = "ResourceNotFoundException"
UNKNOWN_OPERATION: Final = "UnknownOperationException"
SERIALIZATION: Final = "SerializationException"
INTERNAL_ERROR: Final = "InternalErrorException"

# How a Cognito failure reads through the mock's own API (admin routes answer MockError bodies).
_AS_MOCK_ERROR: Final[dict[str, type[MockError]]] = {
    USERNAME_EXISTS: Conflict,
    USER_NOT_CONFIRMED: Conflict,
    USER_NOT_FOUND: NotFound,
    RESOURCE_NOT_FOUND: NotFound,
    NOT_AUTHORIZED: Unauthorized,
}


class CognitoError(Exception):
    """A Cognito operation failed.

    Attributes:
        type_name: the AWS exception name (``NotAuthorizedException``), sent as ``__type``.
        message: Cognito's message text; never contains a password, token or secret.
        status_code: the HTTP status (400 for every client error, as Cognito answers).

    """

    def __init__(self, type_name: str, message: str, *, status_code: int = 400) -> None:
        """Create the error ``type_name`` with Cognito's ``message``."""
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.status_code = status_code

    def body(self) -> dict[str, str]:
        """Return the JSON body of the AWS JSON 1.1 protocol."""
        return {"__type": self.type_name, "message": self.message}

    def as_mock_error(self) -> MockError:
        """Return the same failure as the mock's own error (for the admin API and Python callers)."""
        cls = _AS_MOCK_ERROR.get(self.type_name, BadRequest)
        return cls(f"{self.message} ({self.type_name})")


def missing(name: str) -> CognitoError:
    """``InvalidParameterException`` for a required parameter that was not sent."""
    return CognitoError(INVALID_PARAMETER, f"Missing required parameter {name}")


def user_pool_client_not_found(client_id: str) -> CognitoError:
    """``ResourceNotFoundException`` for an unknown ``ClientId``."""
    return CognitoError(RESOURCE_NOT_FOUND, f"User pool client {client_id} does not exist.")


def user_pool_not_found(pool_id: str) -> CognitoError:
    """``ResourceNotFoundException`` for an unknown ``UserPoolId``."""
    return CognitoError(RESOURCE_NOT_FOUND, f"User pool {pool_id} does not exist.")


def bad_secret_hash(client_id: str) -> CognitoError:
    """``NotAuthorizedException`` for a SECRET_HASH that does not match."""
    return CognitoError(NOT_AUTHORIZED, f"Unable to verify secret hash for client {client_id}")


def no_secret_hash(client_id: str) -> CognitoError:
    """``NotAuthorizedException`` for a client with a secret whose caller sent no SECRET_HASH."""
    return CognitoError(
        NOT_AUTHORIZED, f"Client {client_id} is configured with secret but SECRET_HASH was not received"
    )
