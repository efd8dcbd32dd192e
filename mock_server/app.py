"""Assemble the mock: contract routes, Cognito emulation, admin API, error handling.

Example:
    >>> from starlette.testclient import TestClient
    >>> from mock_server.app import create_app
    >>> client = TestClient(create_app())
    >>> client.get("/api/health").json()["status"]
    'ok'
"""

from __future__ import annotations

import copy
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mock_server.admin import admin_routes
from mock_server.auth import AuthService
from mock_server.dispatch import build_routes
from mock_server.handlers import HANDLERS
from mock_server.journal import Journal
from mock_server.provider_states import provider_state_routes
from mock_server.state import MockState
from mock_server.storage import open_storage
from villa_contracts.contract import Contract, ContractValidator, load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.clock import AdjustableClock
from villa_contracts.errors import ContractError


def build_state(
    *,
    base_url: str = "http://testserver",
    db_path: str | None = None,
    contract: Contract | None = None,
    clock: AdjustableClock | None = None,
) -> MockState:
    """The mock's state: contract and validators compiled once, storage opened, default users seeded."""
    contract = contract or load()
    clock = clock or AdjustableClock()
    store = open_storage(db_path)
    auth = AuthService.from_contract(contract, store=store, clock=clock, base_url=base_url)
    auth.seed_users(contract.data("users"))
    return MockState(
        contract=contract,
        validator=ContractValidator(contract),
        data=BusinessData.from_contract(contract),
        store=store,
        clock=clock,
        auth=auth,
        journal=Journal(),
        base_url=base_url,
    )


def served_openapi(contract: Contract, base_url: str) -> dict[str, Any]:
    """The bundled contract with this mock as its only server (what ``/openapi.json`` answers)."""
    doc = copy.deepcopy(contract.openapi)
    doc["servers"] = [{"url": base_url, "description": "this villa-contracts mock"}]
    return doc


def create_app(
    *,
    base_url: str = "http://testserver",
    db_path: str | None = None,
    contract: Contract | None = None,
    clock: AdjustableClock | None = None,
    enable_admin: bool = True,
    admin_token: str | None = None,
) -> Starlette:
    """Build the mock Villa backend.

    Args:
        base_url: the URL the mock is reached at (its Cognito issuer and 3-D Secure links use it).
        db_path: keep state in this SQLite file (survives restarts); in memory when None.
        contract: the contracts to execute; the shipped ones by default.
        clock: the clock (tests freeze or advance it); the wall clock by default.
        enable_admin: serve the ``/__admin`` API.
        admin_token: when set, the admin API requires ``X-Villa-Admin-Token: <token>``.

    Returns:
        A Starlette app; ``app.state.mock`` is its ``MockState``.

    Raises:
        ContractError: a contract operation has no handler, or a handler no operation.
    """
    state = build_state(base_url=base_url, db_path=db_path, contract=contract, clock=clock)
    ops, handlers = set(state.contract.operations), set(HANDLERS)
    if ops != handlers:
        raise ContractError(
            f"contract operations and mock handlers differ: no handler for {sorted(ops - handlers)}, "
            f"no operation for {sorted(handlers - ops)}"
        )
    openapi = served_openapi(state.contract, base_url)

    async def openapi_json(request: Request) -> Response:
        return JSONResponse(openapi)

    routes: list[BaseRoute] = [Route("/openapi.json", openapi_json, methods=["GET"])]
    routes += build_routes(state, HANDLERS)
    routes += state.auth.routes()
    if enable_admin:
        routes += provider_state_routes(state)
        routes += admin_routes(state, token=admin_token)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            message = f"no operation at {request.method} {request.url.path}; the contract is at /openapi.json"
        elif exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
        else:
            message = str(exc.detail)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            {"error": message, "code": code, "details": []}, status_code=exc.status_code, headers=exc.headers
        )

    app = Starlette(routes=routes, exception_handlers={HTTPException: http_error})
    app.state.mock = state
    return app
