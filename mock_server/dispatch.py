"""Turn each contract's operations into Starlette routes around plain handler functions.

For every request: read the body (size and media type checked), authenticate by the operation's
security scheme, validate the path and query parameters and the body against the operation (400
with every violation), run the handler, validate the response (a violation is a mock bug: logged,
journaled and answered as 500 so it can never pass unnoticed), and journal the outcome.

A handler loads, decides by calling ``villa_contracts.domain`` (whose ``RuleViolation`` is answered
with the status of ``villa_contracts.domain.errors.STATUS``) and stores; it never decides itself.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mock_server.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayUnavailable,
    MockError,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMedia,
)
from mock_server.expiry import sweep
from mock_server.fastjson import JSONResponse
from mock_server.journal import Entry
from villa_contracts.domain.errors import RuleViolation

if TYPE_CHECKING:
    from mock_server.auth import Principal
    from mock_server.state import MockState
    from villa_contracts.contract import Contract, Operation

log = logging.getLogger("villa_contracts.mock")

MAX_BODY = 1024 * 1024
_ERRORS_BY_STATUS: dict[int, type[MockError]] = {
    cls.status_code: cls for cls in (BadRequest, Forbidden, NotFound, Conflict, GatewayUnavailable)
}


@dataclass(slots=True)
class Call:
    """What a handler gets: the parsed body and parameters, the caller, the request and the mock's state."""

    state: MockState
    request: Request | None
    operation: Operation
    body: Any
    principal: Principal | None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def sub(self) -> str:
        """The caller's ``sub`` (only for operations secured by a user's token)."""
        assert self.principal is not None
        return self.principal.sub


Handler = Callable[[Call], "tuple[int, Any] | Response"]
Authenticator = Callable[["MockState", Request], "Principal | None"]


def _id_token(state: MockState, request: Request) -> Principal | None:
    return state.auth.principal_from_header(request.headers.get("authorization"))


def _admin_token(state: MockState, request: Request) -> Principal | None:
    if state.admin_token is not None:
        given = request.headers.get("x-villa-admin-token", "")
        if not hmac.compare_digest(given.encode(), state.admin_token.encode()):
            raise Unauthorized("admin API needs the X-Villa-Admin-Token header (see `serve --admin-token`)")
    return None


def _token_key(state: MockState, request: Request) -> Principal | None:
    return state.auth.token_keys.principal(request.headers.get("authorization"))


def _gateway_key(state: MockState, request: Request) -> Principal | None:
    given = request.headers.get("x-gateway-key", "")
    if not hmac.compare_digest(given.encode(), state.shop.gateway_key.encode()):
        raise Unauthorized("the payment callback needs the gateway's X-Gateway-Key header")
    return None


AUTHENTICATORS: dict[str, Authenticator] = {
    "idToken": _id_token,
    "adminToken": _admin_token,
    "tokenKey": _token_key,
    "gatewayKey": _gateway_key,
}
"""How the mock admits a caller, by the security scheme name a contract uses."""


def _authenticate(state: MockState, request: Request, authenticators: list[Authenticator]) -> Principal | None:
    """The caller, by the first of the operation's schemes that admits them (open operations: None)."""
    refusal: Unauthorized | None = None
    for authenticate in authenticators:
        try:
            return authenticate(state, request)
        except Unauthorized as exc:
            refusal = refusal or exc
    if refusal is not None:
        raise refusal
    return None


def rule_error(exc: RuleViolation) -> MockError:
    """The mock's answer to a refusal of the domain, by ``villa_contracts.domain.errors.STATUS``."""
    return _ERRORS_BY_STATUS[exc.status](exc.message, [{"pointer": exc.pointer, "message": exc.message}])


def error_response(exc: MockError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The contract's JSON error body for ``exc``."""
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_body(request: Request, operation: Operation, accepted: list[str]) -> tuple[Any, str]:
    """Parse the request body within the size limit; answer which media type it was."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise PayloadTooLarge(f"body of {declared} bytes is over the {MAX_BODY}-byte limit")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise PayloadTooLarge(f"body is over the {MAX_BODY}-byte limit")
    if not accepted:
        return None, ""
    media = _media_type(request)
    if not raw:
        raise BadRequest(f"{operation.operation_id} needs a JSON body", [{"pointer": "", "message": "body is empty"}])
    if media == "application/x-www-form-urlencoded" and media in accepted:
        try:
            return dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)), media
        except UnicodeDecodeError:
            raise BadRequest("form body is not UTF-8") from None
    if media and media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMedia(
            f"body must be JSON (Content-Type: application/json), got Content-Type {media!r}",
            [{"pointer": "", "message": f"accepted: {', '.join(accepted)}"}],
        )
    try:
        return json.loads(raw, parse_constant=_reject_constant), "application/json"
    except (ValueError, RecursionError) as exc:
        # json.JSONDecodeError carries the position; say where the body broke.
        raise BadRequest(f"body is not valid JSON: {exc}", [{"pointer": "", "message": str(exc)}]) from None


def _query(request: Request) -> dict[str, list[str]]:
    if not request.scope.get("query_string"):
        return {}  # most calls: no need to build Starlette's QueryParams
    values: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        values.setdefault(name, []).append(value)
    return values


def _invalid(what: str, op_id: str, violations: list[dict[str, str]]) -> BadRequest:
    count = len(violations)
    first = violations[0]
    return BadRequest(
        f"{what} of {op_id} is invalid: {count} violation{'s' if count > 1 else ''}"
        f" (first: {first['pointer'] or '/'}: {first['message']})",
        violations,
    )


def make_endpoint(
    state: MockState, operation: Operation, handler: Handler, *, journal: bool = True
) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of one operation (journaled unless ``journal`` is False)."""
    validator = state.validators[operation.contract].operation(operation.operation_id)
    accepted = list(validator.request_media)
    authenticators = [AUTHENTICATORS[scheme] for scheme in operation.schemes]
    op_id, contract = operation.operation_id, operation.contract
    sweeps = state.contracts[contract].role == "api"

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        entry = Entry(0, state.clock.now(), request.method, request.url.path, op_id, 0, 0.0, contract=contract)
        try:
            principal = _authenticate(state, request, authenticators)
            entry.caller = principal.sub if principal else None
            params, violations = validator.params(request.path_params, _query(request))
            body, media = await read_body(request, operation, accepted)
            if accepted:
                violations += validator.request(body, media)
            if violations:
                entry.request_violations = [v.as_detail() for v in violations]
                raise _invalid("request", op_id, entry.request_violations)
            if sweeps:
                sweep(state)
            try:
                result = handler(Call(state, request, operation, body, principal, params))
            except RuleViolation as exc:
                raise rule_error(exc) from None
            if isinstance(result, Response):
                entry.status = result.status_code
                return result
            status, payload = result
            problems = validator.response(status, payload)
            if problems:
                entry.response_violations = [v.as_detail() for v in problems]
                entry.mock_bug = True
                log.error("MOCK BUG: %s answered %s violating the contract: %s", op_id, status, problems)
                status, payload = (
                    500,
                    {
                        "error": f"mock bug: the {status} answer of {op_id} violates the contract",
                        "code": "mock_bug",
                        "details": entry.response_violations,
                    },
                )
            entry.status = status
            return JSONResponse(payload, status_code=status)
        except MockError as exc:
            entry.status = exc.status_code
            return error_response(exc)
        except Exception as exc:  # the outermost net: anything else is a bug of the mock
            entry.status, entry.mock_bug, entry.note = 500, True, f"{type(exc).__name__}: {exc}"
            log.exception("MOCK BUG: %s raised", op_id)
            return JSONResponse(
                {"error": f"mock bug: {op_id} raised {type(exc).__name__}", "code": "mock_bug", "details": []},
                status_code=500,
            )
        finally:
            if journal:
                entry.duration_ms = (time.perf_counter() - started) * 1000
                state.journal.add(entry)

    return endpoint


def build_routes(state: MockState, contract: Contract, handlers: Mapping[str, Handler]) -> list[Route]:
    """One route per path of ``contract`` (several methods of one path share one route)."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    journal = contract.role == "api"
    for op_id, operation in contract.operations.items():
        endpoint = make_endpoint(state, operation, handlers[op_id], journal=journal)
        by_path.setdefault(operation.path, {})[operation.method] = endpoint
    return [Route(path, _method_switch(methods), methods=list(methods)) for path, methods in by_path.items()]


def _method_switch(
    methods: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    if len(methods) == 1:
        return next(iter(methods.values()))

    async def switch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return switch


def check_handlers(contract: Contract, handlers: Mapping[str, Handler] | None) -> Mapping[str, Handler]:
    """The handlers of ``contract``, exactly one per operation.

    Raises:
        ContractError: an operation has no handler, a handler no operation, or a security scheme
            the mock cannot check.
    """
    from villa_contracts.errors import ContractError

    ops, given = set(contract.operations), set(handlers or {})
    if handlers is None or ops != given:
        raise ContractError(
            f"contract {contract.name!r}: operations and mock handlers differ: "
            f"no handler for {sorted(ops - given)}, no operation for {sorted(given - ops)} "
            f"(add them to mock_server/handlers/ and HANDLERS[{contract.name!r}])"
        )
    for operation in contract.operations.values():
        unknown = [s for s in operation.schemes if s not in AUTHENTICATORS]
        if unknown:
            raise ContractError(
                f"{contract.name}.{operation.operation_id}: the mock cannot check security scheme(s) {unknown}; "
                f"known: {sorted(AUTHENTICATORS)}"
            )
    return handlers
