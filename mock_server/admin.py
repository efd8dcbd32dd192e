"""The admin API under ``/__admin/``: the only way tests steer the mock.

Reset, users (create, confirm, tokens), the clock, the request journal and the emulated Cognito
pool's settings. Off with ``enable_admin=False``; behind ``X-Villa-Admin-Token`` when a token is set.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mock_server.dispatch import error_response
from mock_server.errors import BadRequest, MockError, NotFound, Unauthorized

if TYPE_CHECKING:
    from mock_server.state import MockState

PREFIX = "/__admin"
Endpoint = Callable[[Request], Awaitable[Response]]


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"admin body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise BadRequest("admin body must be a JSON object")
    return body


def _guard(state: MockState, token: str | None, fn: Callable[[Request], Awaitable[Any]]) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        try:
            if token is not None:
                given = request.headers.get("x-villa-admin-token", "")
                if not hmac.compare_digest(given.encode(), token.encode()):
                    raise Unauthorized("admin API needs the X-Villa-Admin-Token header (see `serve --admin-token`)")
            result = await fn(request)
            return result if isinstance(result, Response) else JSONResponse(result)
        except MockError as exc:
            return error_response(exc)
        except ValueError as exc:
            return error_response(BadRequest(str(exc)))

    return endpoint


def admin_routes(state: MockState, *, token: str | None = None) -> list[Route]:
    """The admin routes bound to ``state``."""

    async def reset(request: Request) -> Any:
        state.reset()
        return {"reset": True, "users": [u["username"] for u in state.auth.list_users()]}

    async def users(request: Request) -> Any:
        if request.method == "GET":
            return {"users": state.auth.list_users()}
        body = await _json_body(request)
        missing = [k for k in ("username", "password") if not isinstance(body.get(k), str)]
        if missing:
            raise BadRequest(f"admin user needs string fields: {', '.join(missing)}")
        user = state.auth.admin_create_user(
            body["username"],
            body["password"],
            email=body.get("email"),
            confirmed=bool(body.get("confirmed", True)),
            sub=body.get("sub"),
        )
        return JSONResponse(user, status_code=201)

    async def confirm(request: Request) -> Any:
        state.auth.admin_confirm_user(request.path_params["username"])
        return {"confirmed": True}

    async def tokens(request: Request) -> Any:
        return state.auth.issue_tokens(request.path_params["username"])

    async def clock(request: Request) -> Any:
        if request.method == "POST":
            body = await _json_body(request)
            seconds = body.get("advanceSeconds")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise BadRequest('clock needs {"advanceSeconds": <number ≥ 0>}')
            state.clock.advance(float(seconds))
        return {"now": state.clock.now(), "offsetSeconds": state.clock.offset}

    async def journal(request: Request) -> Any:
        if request.method == "DELETE":
            state.journal.clear()
            return {"cleared": True}
        limit_text = request.query_params.get("limit", "200")
        if not limit_text.isdigit():
            raise BadRequest(f"limit={limit_text!r} must be a whole number")
        entries = state.journal.entries(int(limit_text))
        return {"mockBugs": state.journal.mock_bugs, "entries": [e.as_json() for e in entries]}

    async def cognito(request: Request) -> Any:
        return state.auth.cognito_info()

    async def missing(request: Request) -> Any:
        raise NotFound(f"no admin endpoint {request.url.path}; see the README's admin API section")

    spec = [
        ("/reset", reset, ["POST"]),
        ("/users", users, ["GET", "POST"]),
        ("/users/{username}/confirm", confirm, ["POST"]),
        ("/users/{username}/tokens", tokens, ["POST"]),
        ("/clock", clock, ["GET", "POST"]),
        ("/journal", journal, ["GET", "DELETE"]),
        ("/cognito", cognito, ["GET"]),
        ("/{rest:path}", missing, ["GET", "POST", "PUT", "DELETE", "PATCH"]),
    ]
    return [Route(PREFIX + path, _guard(state, token, fn), methods=methods) for path, fn, methods in spec]
