"""The HTTP face of the emulated pool: the AWS JSON 1.1 protocol and the OIDC discovery documents.

``POST /`` with ``X-Amz-Target: AWSCognitoIdentityProviderService.<Operation>`` is what an
unmodified AWS SDK ``cognito-idp`` client sends; answers are ``application/x-amz-json-1.1`` and
failures are HTTP 400 with ``{"__type", "message"}`` plus an ``x-amzn-ErrorType`` header. SigV4
signatures (on Admin* calls) are not checked: any credentials are accepted.

``GET /<pool>/.well-known/jwks.json`` and ``.../openid-configuration`` publish the signing key and
the issuer, as ``https://cognito-idp.<region>.amazonaws.com/<pool>`` does.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server.auth import errors as err
from mock_server.auth.errors import CognitoError
from mock_server.auth.keys import SigningKey
from mock_server.auth.pool import PoolConfig
from mock_server.errors import NotFound
from mock_server.fastjson import TooDeep, loads_strict
from mock_server.storage import StoreUnavailable

logger = logging.getLogger(__name__)

TARGET_PREFIX: Final = "AWSCognitoIdentityProviderService."
AMZ_JSON: Final = "application/x-amz-json-1.1"
_ACCEPTED_MEDIA: Final = frozenset({AMZ_JSON, "application/x-amz-json-1.0", "application/json"})
_MAX_BODY_BYTES: Final = 256 * 1024

Operation = Callable[[dict[str, Any]], dict[str, Any]]


def _answer(
    body: dict[str, Any],
    *,
    status_code: int = 200,
    error_type: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = {"x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})}
    if error_type is not None:
        headers["x-amzn-ErrorType"] = error_type
    return JSONResponse(body, status_code=status_code, headers=headers, media_type=AMZ_JSON)


def _failure(exc: CognitoError) -> Response:
    return _answer(exc.body(), status_code=exc.status_code, error_type=exc.type_name)


async def _read_request(request: Request, table: dict[str, Operation]) -> tuple[Operation, dict[str, Any]]:
    target = request.headers.get("x-amz-target", "")
    name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
    operation = table.get(name)
    if operation is None:
        shown = repr(target[:100]) if target else "missing"
        raise CognitoError(
            err.UNKNOWN_OPERATION,
            f"X-Amz-Target {shown} is not a Cognito operation the mock implements "
            f"(implemented: {', '.join(sorted(table))})",
        )
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media not in _ACCEPTED_MEDIA:
        raise CognitoError(err.SERIALIZATION, f"Content-Type must be {AMZ_JSON} (or application/json), not {media!r}")
    raw = await request.body()
    if len(raw) > _MAX_BODY_BYTES:
        raise CognitoError(err.SERIALIZATION, f"request body is over {_MAX_BODY_BYTES} bytes")
    if not raw.strip():
        return operation, {}
    try:
        body = loads_strict(raw)
    except TooDeep as exc:
        raise CognitoError(err.SERIALIZATION, f"request {exc}") from None
    except ValueError as exc:
        raise CognitoError(err.SERIALIZATION, f"request body is not valid JSON: {str(exc)[:200]}") from None
    if not isinstance(body, dict):
        raise CognitoError(err.SERIALIZATION, "request body must be a JSON object")
    return operation, body


def protocol_routes(*, table: dict[str, Operation], pool: PoolConfig, key: SigningKey, issuer: str) -> list[BaseRoute]:
    """Build the routes of the emulated pool.

    Args:
        table: operation name → implementation (``CognitoOperations.table``).
        pool: the pool (its id is part of the discovery paths).
        key: the signing key published in the JWKS.
        issuer: the token issuer (``<base_url>/<userPoolId>``).

    """

    async def cognito(request: Request) -> Response:
        try:
            operation, body = await _read_request(request, table)
            # Operations hash passwords and touch storage: keep that off the event loop.
            result = await run_in_threadpool(operation, body)
        except CognitoError as exc:
            return _failure(exc)
        except StoreUnavailable as exc:  # AWS's own answer to a service that cannot serve now
            body = {"__type": "ServiceUnavailable", "message": exc.message}
            return _answer(body, status_code=503, error_type="ServiceUnavailable", headers=exc.headers())
        except Exception:
            # Log the failure for the mock's developers; the request body (passwords) is not logged.
            logger.exception("Cognito emulation failed on %s", request.headers.get("x-amz-target", "?"))
            return _failure(CognitoError(err.INTERNAL_ERROR, "internal error in the mock", status_code=500))
        return _answer(result)

    def unknown_pool(pool_id: str) -> Response:
        exc = NotFound(f"no user pool {pool_id!r} here; this mock serves {pool.user_pool_id}")
        return JSONResponse(exc.body(), status_code=exc.status_code)

    async def jwks(request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        if pool_id != pool.user_pool_id:
            return unknown_pool(pool_id)
        return JSONResponse(key.jwks())

    async def openid_configuration(request: Request) -> Response:
        pool_id = request.path_params["pool_id"]
        if pool_id != pool.user_pool_id:
            return unknown_pool(pool_id)
        return JSONResponse(discovery_document(issuer))

    return [
        Route("/", cognito, methods=["POST"], name="cognito_idp"),
        Route("/{pool_id}/.well-known/jwks.json", jwks, methods=["GET"], name="cognito_jwks"),
        Route(
            "/{pool_id}/.well-known/openid-configuration",
            openid_configuration,
            methods=["GET"],
            name="cognito_openid_configuration",
        ),
    ]


def discovery_document(issuer: str) -> dict[str, Any]:
    """Return the OpenID Provider metadata of the pool.

    Only what the mock serves is listed: it has no hosted UI, so no authorization, token or
    userinfo endpoints.
    """
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "token"],
        "subject_types_supported": ["public"],
        "scopes_supported": ["openid", "email", "profile", "aws.cognito.signin.user.admin"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "claims_supported": [
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "email",
            "email_verified",
            "cognito:username",
            "token_use",
        ],
    }
