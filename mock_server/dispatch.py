"""Turn each contract's operations into routes: one plain ASGI app (``OperationEndpoint``) per operation.

For every request (headers and body as the guard read them, ``mock_server.guard``): authenticate
by the operation's security scheme, validate the path and query parameters and the body against
the operation (400 with every violation), run the handler, validate the response (a violation is
a mock bug: logged, journaled and answered as 500 so it can never pass unnoticed), and journal the
outcome. The body's media type is checked here; its size, by the guard.

A handler loads, decides by calling ``villa_contracts.domain`` (whose ``RuleViolation`` is answered
with the status of ``villa_contracts.domain.errors.STATUS``) and stores; it never decides itself.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.errors import (
    BadRequest,
    CardDataRefused,
    Conflict,
    Forbidden,
    GatewayUnavailable,
    MockError,
    NotFound,
    Unauthorized,
    UnsupportedMedia,
)
from mock_server.expiry import sweep
from mock_server.fastjson import TooDeep, dumps, loads_strict
from mock_server.guard import DATE, FAULT, REQUEST_PARTS
from mock_server.journal import Entry
from mock_server.storage import StoreUnavailable
from villa_contracts.domain.cards import NO_CARD_DATA
from villa_contracts.domain.errors import RuleViolation

if TYPE_CHECKING:
    from mock_server.auth import Principal
    from mock_server.state import MockState
    from villa_contracts.contract import Contract, Operation

log = logging.getLogger("villa_contracts.mock")

_ERRORS_BY_STATUS: dict[int, type[MockError]] = {
    cls.status_code: cls for cls in (BadRequest, Forbidden, NotFound, Conflict, GatewayUnavailable)
}


@dataclass(slots=True)
class Call:
    """What a handler gets: the parsed body and parameters, the caller, the request and the mock's state."""

    state: MockState
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
Authenticator = Callable[["MockState", Mapping[str, str]], "Principal | None"]
"""Admits a caller by the request's headers (names in lower case) or raises ``Unauthorized``."""


def _id_token(state: MockState, headers: Mapping[str, str]) -> Principal | None:
    return state.auth.principal_from_header(headers.get("authorization"))


def _admin_token(state: MockState, headers: Mapping[str, str]) -> Principal | None:
    if state.admin_token is not None:
        given = headers.get("x-villa-admin-token", "")
        if not hmac.compare_digest(given.encode(), state.admin_token.encode()):
            raise Unauthorized("admin API needs the X-Villa-Admin-Token header (see `serve --admin-token`)")
    return None


def _token_key(state: MockState, headers: Mapping[str, str]) -> Principal | None:
    return state.auth.token_keys.principal(headers.get("authorization"))


def _gateway_key(state: MockState, headers: Mapping[str, str]) -> Principal | None:
    given = headers.get("x-gateway-key", "")
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

CREDENTIAL_HEADERS: dict[str, str] = {
    "idToken": "authorization",
    "adminToken": "x-villa-admin-token",
    "tokenKey": "authorization",
    "gatewayKey": "x-gateway-key",
}
"""The header each security scheme reads its credentials from (lower case; ``authorization`` when unnamed)."""


def refuse_repeated_credentials(scope: Scope, names: frozenset[str], headers: Mapping[str, str] | None = None) -> None:
    """Refuse a request that sends a credential header of ``names`` more than once.

    Two ``Authorization`` headers name two callers: whichever one a server, proxy or gateway takes,
    another may take the other. The request is refused rather than answered for either. With
    ``headers`` (the guard's map of the request's headers by lower-case name), a request that has
    as many headers as names repeats none, and is let through without reading them again.

    Raises:
        Unauthorized: a header of ``names`` appears more than once; the message names it, never its values.
    """
    if not names or (headers is not None and len(headers) == len(scope["headers"])):
        return
    seen: dict[str, int] = {}
    for raw, _ in scope["headers"]:
        name = raw.decode("latin-1").lower()
        if name in names:
            seen[name] = seen.get(name, 0) + 1
    repeated = sorted(name for name, count in seen.items() if count > 1)
    if repeated:
        shown = "-".join(part.capitalize() for part in repeated[0].split("-"))
        raise Unauthorized(
            f"{seen[repeated[0]]} {shown} headers: send the credentials once (with two, which caller "
            "is meant is ambiguous, so neither is used)"
        )


def _authenticate(
    state: MockState, headers: Mapping[str, str], authenticators: list[Authenticator]
) -> Principal | None:
    """The caller, by the first of the operation's schemes that admits them (open operations: None)."""
    refusal: Unauthorized | None = None
    for authenticate in authenticators:
        try:
            return authenticate(state, headers)
        except Unauthorized as exc:
            refusal = refusal or exc
    if refusal is not None:
        raise refusal
    return None


def rule_error(exc: RuleViolation) -> MockError:
    """The mock's answer to a refusal of the domain, by ``villa_contracts.domain.errors.STATUS``.

    Card data has a code of its own (``card_data``): a client, and the gate, tell it from a broken request.
    """
    error = CardDataRefused if exc.rule == NO_CARD_DATA else _ERRORS_BY_STATUS[exc.status]
    return error(exc.message, [{"pointer": exc.pointer, "message": exc.message}])


def parse_body(raw: bytes, headers: Mapping[str, str], operation: Operation, accepted: list[str]) -> tuple[Any, str]:
    """Parse a request body (already read within the size limit); answer which media type it was."""
    if not accepted:
        return None, ""
    media = headers.get("content-type", "")
    if media != "application/json":  # most requests say just that
        media = media.split(";", 1)[0].strip().lower()
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
        return loads_strict(raw), "application/json"
    except TooDeep as exc:
        raise BadRequest(str(exc), [{"pointer": exc.pointer, "message": exc.detail}]) from None
    except (ValueError, RecursionError) as exc:
        # json.JSONDecodeError carries the position; say where the body broke.
        raise BadRequest(f"body is not valid JSON: {exc}", [{"pointer": "", "message": str(exc)}]) from None


def _query(scope: Scope) -> dict[str, list[str]]:
    query = scope.get("query_string")
    if not query:
        return {}  # most calls
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
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


class OperationEndpoint:
    """One operation as a plain ASGI app: it answers every request itself (no exception escapes).

    It is served behind the guard (``mock_server.guard``), which has read the headers and body
    already (``REQUEST_PARTS``).
    """

    def __init__(self, state: MockState, operation: Operation, handler: Handler, *, journal: bool = True) -> None:
        """Serve ``operation`` with ``handler`` (journaled unless ``journal`` is False)."""
        self.state = state
        self.operation = operation
        self.handler = handler
        self.journal = journal
        self.validator = state.validators[operation.contract].operation(operation.operation_id)
        self.accepted = list(self.validator.request_media)
        self.authenticators = [AUTHENTICATORS[scheme] for scheme in operation.schemes]
        self.credentials = frozenset(CREDENTIAL_HEADERS.get(scheme, "authorization") for scheme in operation.schemes)
        self.sweeps = state.contracts[operation.contract].role == "api"
        self.reads_params = bool(self.validator.parameters)  # most operations take none (nor get a query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one request."""
        answer = self.answer(scope, *scope[REQUEST_PARTS])
        date = scope.get(DATE)  # the guard's Date, when it left the answer to be dated here
        if isinstance(answer, Response):
            if date is not None:
                answer.raw_headers.append((b"date", date))
            await answer(scope, receive, send)
        else:
            await send_json(send, *answer, date=date)

    def answer(self, scope: Scope, headers: Mapping[str, str], raw: bytes) -> tuple[int, bytes] | Response:
        """The status and JSON body of the answer (or a handler's own ``Response``), journaled."""
        state, operation, validator = self.state, self.operation, self.validator
        op_id = operation.operation_id
        started = time.perf_counter()
        entry = Entry(0, state.clock.now(), scope["method"], scope["path"], op_id, 0, 0.0, contract=operation.contract)
        fault = scope.pop(FAULT, None)  # latency, truncate, slow body: injected around this answer
        if fault is not None:
            entry.fault, entry.note = fault.label, f"injected fault {fault.label}"
        try:
            refuse_repeated_credentials(scope, self.credentials, headers)
            principal = _authenticate(state, headers, self.authenticators)
            entry.caller = principal.sub if principal else None
            params, violations = (
                validator.params(scope.get("path_params") or {}, _query(scope))
                if self.reads_params or scope.get("query_string")  # an unknown query parameter is refused
                else ({}, [])
            )
            body, media = parse_body(raw, headers, operation, self.accepted)
            if self.accepted:
                violations += validator.request(body, media)
            if violations:
                entry.request_violations = [v.as_detail() for v in violations]
                raise _invalid("request", op_id, entry.request_violations)
            if self.sweeps:
                sweep(state)
            try:
                result = self.handler(Call(state, operation, body, principal, params))
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
            return status, dumps(payload)
        except StoreUnavailable as exc:  # the store failed midway: 503 with Retry-After, never a mock bug
            entry.status, entry.note = exc.status_code, exc.message
            return exc.response()
        except MockError as exc:
            entry.status = exc.status_code
            return exc.status_code, dumps(exc.body())
        except Exception as exc:  # the outermost net: anything else is a bug of the mock
            entry.status, entry.mock_bug, entry.note = 500, True, f"{type(exc).__name__}: {exc}"
            log.exception("MOCK BUG: %s raised", op_id)
            bug = {"error": f"mock bug: {op_id} raised {type(exc).__name__}", "code": "mock_bug", "details": []}
            return 500, dumps(bug)
        finally:
            if self.journal:
                entry.duration_ms = (time.perf_counter() - started) * 1000
                state.journal.add(entry, contract_path=entry.path == operation.path)


async def send_json(send: Send, status: int, body: bytes, *, date: bytes | None = None) -> None:
    """Send a JSON answer (the headers Starlette's ``JSONResponse`` sends, and ``date`` as its ``Date``)."""
    headers = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", b"application/json")]
    if date is not None:
        headers.append((b"date", date))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class MethodSwitch:
    """The operations of one path, by method (``HEAD`` is answered as ``GET``), as one ASGI app."""

    def __init__(self, endpoints: dict[str, OperationEndpoint]) -> None:
        """Serve ``endpoints`` by method."""
        self.endpoints = endpoints

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Hand the request to its method's operation."""
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        await self.endpoints[method](scope, receive, send)


def build_routes(state: MockState, contract: Contract, handlers: Mapping[str, Handler]) -> list[Route]:
    """One route per path of ``contract`` (several methods of one path share one route)."""
    by_path: dict[str, dict[str, OperationEndpoint]] = {}
    journal = contract.role == "api"
    for op_id, operation in contract.operations.items():
        endpoint = OperationEndpoint(state, operation, handlers[op_id], journal=journal)
        by_path.setdefault(operation.path, {})[operation.method] = endpoint
    routes = []
    for path, methods in by_path.items():
        app: ASGIApp = next(iter(methods.values())) if len(methods) == 1 else MethodSwitch(methods)
        routes.append(Route(path, app, methods=list(methods)))
    return routes


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
            f"(add them to the HANDLERS of its API package's mock part, villa_contracts/apis/{contract.name}/mock.py)"
        )
    for operation in contract.operations.values():
        unknown = [s for s in operation.schemes if s not in AUTHENTICATORS]
        if unknown:
            raise ContractError(
                f"{contract.name}.{operation.operation_id}: the mock cannot check security scheme(s) {unknown}; "
                f"known: {sorted(AUTHENTICATORS)}"
            )
    return handlers
