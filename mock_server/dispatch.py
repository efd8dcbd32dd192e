"""Turn the contract's operations into Starlette routes around plain handler functions.

For every request: read the body (size and media type checked), authenticate (Villa endpoints need
the ID token), validate the request against the operation (400 with every violation), run the
handler, validate the response (a violation is a mock bug: logged, journaled and answered as 500
so it can never pass unnoticed), and journal the outcome.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.errors import BadRequest, MockError, NotFound, PayloadTooLarge, UnsupportedMedia
from mock_server.journal import Entry
from villa_contracts.domain.errors import RuleViolation

if TYPE_CHECKING:
    from mock_server.auth import Principal
    from mock_server.state import MockState
    from villa_contracts.contract import Operation

log = logging.getLogger("villa_contracts.mock")

MAX_BODY = 1024 * 1024
_RULE_ERRORS: dict[str, type[MockError]] = {}


@dataclass(slots=True)
class Call:
    """What a handler gets: the parsed body, the caller, the request and the mock's state."""

    state: MockState
    request: Request
    operation: Operation
    body: Any
    principal: Principal | None

    @property
    def sub(self) -> str:
        """The caller's ``sub`` (only for secured operations)."""
        assert self.principal is not None
        return self.principal.sub


Handler = Callable[[Call], "tuple[int, Any] | Response"]


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


def _rule_error(exc: RuleViolation) -> MockError:
    from mock_server.errors import Conflict, Forbidden

    cls: type[MockError] = {"not_found": NotFound, "conflict": Conflict, "forbidden": Forbidden}[exc.kind]
    return cls(exc.message, [{"pointer": exc.pointer, "message": exc.message}])


def error_response(exc: MockError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The contract's JSON error body for ``exc``."""
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


def make_endpoint(state: MockState, operation: Operation, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint of one operation."""
    validator = state.validator.operation(operation.operation_id)
    accepted = list(validator.request_media)
    secured = operation.secured
    op_id = operation.operation_id

    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        entry = Entry(0, state.clock.now(), request.method, request.url.path, op_id, 0, 0.0)
        try:
            principal = state.auth.principal_from_header(request.headers.get("authorization")) if secured else None
            entry.caller = principal.sub if principal else None
            body, media = await read_body(request, operation, accepted)
            if accepted:
                violations = validator.request(body, media)
                if violations:
                    entry.request_violations = [v.as_detail() for v in violations]
                    count = len(violations)
                    raise BadRequest(
                        f"request body of {op_id} is invalid: {count} violation{'s' if count > 1 else ''}"
                        f" (first: {violations[0].pointer or '/'}: {violations[0].message})",
                        entry.request_violations,
                    )
            try:
                result = handler(Call(state, request, operation, body, principal))
            except RuleViolation as exc:
                raise _rule_error(exc) from None
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
            entry.duration_ms = (time.perf_counter() - started) * 1000
            state.journal.add(entry)

    return endpoint


def build_routes(state: MockState, handlers: dict[str, Handler]) -> list[Route]:
    """One route per contract operation (same path, several methods share one route)."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for op_id, operation in state.contract.operations.items():
        by_path.setdefault(operation.path, {})[operation.method] = make_endpoint(state, operation, handlers[op_id])
    routes = []
    for path, methods in by_path.items():
        routes.append(Route(path, _method_switch(methods), methods=list(methods)))
    return routes


def _method_switch(
    methods: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    if len(methods) == 1:
        return next(iter(methods.values()))

    async def switch(request: Request) -> Response:
        method = "GET" if request.method == "HEAD" else request.method
        return await methods[method](request)

    return switch
