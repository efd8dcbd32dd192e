"""Assemble the mock: every contract's routes, Cognito emulation, the admin API, error handling, CORS.

All APIs share one user directory, one clock and one store. Each contract's document is served at
``/openapi/<name>.json`` (and the Villa SDK API's also at ``/openapi.json``).

Example:
    >>> from starlette.testclient import TestClient
    >>> from mock_server.app import create_app
    >>> client = TestClient(create_app())
    >>> client.get("/api/health").json()["status"]
    'ok'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from mock_server.auth import AuthService
from mock_server.cors import DEFAULT_ORIGINS, Cors, allowed_headers, exposed_headers
from mock_server.dispatch import Handler, build_routes, check_handlers
from mock_server.guard import Guard
from mock_server.handlers import handlers_of
from mock_server.ids import IdSource
from mock_server.journal import Journal
from mock_server.routing import ExactPathRouter
from mock_server.shared_clock import StoredClock
from mock_server.state import MockState
from mock_server.storage import Storage, StoreUnavailable, open_storage
from villa_contracts.contract import Contract, Contracts, ContractValidator, load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.clock import AdjustableClock

DEFAULT_CONTRACT = "villa"
"""The contract ``/openapi.json`` serves (the Villa SDK API)."""


def build_state(
    *,
    base_url: str = "http://testserver",
    db_path: str | None = None,
    contracts: Contracts | None = None,
    clock: AdjustableClock | None = None,
    admin_token: str | None = None,
    store: Storage | None = None,
    seed: int | None = None,
) -> MockState:
    """The mock's state: contracts and validators compiled once, storage opened, default users seeded."""
    contracts = contracts or load()
    store = store or open_storage(db_path)
    # A store several processes share keeps the clock's offset too, so time travel moves them all.
    clock = clock or (StoredClock(store) if store.shared else AdjustableClock())
    ids = IdSource.from_seed(seed)
    auth = AuthService.from_contract(contracts, store=store, clock=clock, base_url=base_url, ids=ids)
    auth.seed_users(contracts.data("users"))
    return MockState(
        contracts=contracts,
        validators={contract.name: ContractValidator.of(contract) for contract in contracts},
        data=BusinessData.from_contract(contracts),
        store=store,
        clock=clock,
        auth=auth,
        journal=Journal(),
        base_url=base_url,
        admin_token=admin_token,
        ids=ids,
    )


def served_openapi(contract: Contract, base_url: str) -> dict[str, Any]:
    """The bundled contract with this mock as its only server (what ``/openapi/<name>.json`` answers)."""
    # A shallow copy: the answer is only serialised, never changed, and the bundle is shared with the contract.
    return {**contract.openapi, "servers": [{"url": base_url, "description": "this villa-contracts mock"}]}


def _document_routes(contracts: Contracts, base_url: str, served: list[Contract]) -> list[BaseRoute]:
    documents = {contract.name: served_openapi(contract, base_url) for contract in served}

    async def document(request: Request) -> Response:
        name = request.path_params.get("name", DEFAULT_CONTRACT)
        if name not in documents:
            known = ", ".join(f"/openapi/{n}.json" for n in documents)
            return JSONResponse(
                {"error": f"no contract {name!r} on this mock; served: {known}", "code": "not_found", "details": []},
                status_code=404,
            )
        return JSONResponse(documents[name])

    routes: list[BaseRoute] = [Route("/openapi/{name}.json", document, methods=["GET"])]
    if DEFAULT_CONTRACT in documents:
        routes.append(Route("/openapi.json", document, methods=["GET"]))
    return routes


def create_app(
    *,
    base_url: str = "http://testserver",
    db_path: str | None = None,
    contracts: Contracts | None = None,
    handlers: Mapping[str, Mapping[str, Handler]] | None = None,
    clock: AdjustableClock | None = None,
    enable_admin: bool = True,
    admin_token: str | None = None,
    allowed_hosts: tuple[str, ...] = (),
    allowed_origins: tuple[str, ...] = (),
    cors_origins: tuple[str, ...] | None = None,
    store: Storage | None = None,
    seed: int | None = None,
    faults: Any = None,
    scenario: Any = None,
) -> Starlette:
    """Build the mock Villa backend: every contract of ``contracts`` on one origin.

    Args:
        base_url: the URL the mock is reached at (its Cognito issuer and 3-D Secure links use it).
        db_path: keep state in this SQLite file (survives restarts); in memory when None.
        contracts: the contracts to execute; the shipped ones by default.
        handlers: handlers by contract and operationId; every API package's (``handlers_of()``) by default.
        clock: the clock (tests freeze or advance it); the wall clock by default.
        enable_admin: serve the admin contract (``/__admin``).
        admin_token: when set, the admin API requires ``X-Villa-Admin-Token: <token>``.
        allowed_hosts: besides loopback names, the ``Host`` names a token-less admin API answers.
        allowed_origins: browser origins a token-less admin API answers (none by default).
        cors_origins: browser origins that may call the API cross-origin (``mock_server.cors``; never the
            admin API): ``scheme://host[:port]``, ``scheme://host:*`` or ``*``; when None, the local
            development origins (``DEFAULT_ORIGINS``); when empty, none (no CORS at all).
        store: an opened store (``mock_server.storage.open_storage``, e.g. Redis); overrides ``db_path``.
        seed: draw the ids the mock makes up from this seed (same seed, same ids); random when None.
        faults: a fault rules document (``villa_contracts.faults``, docs/faults.md) in force from the start.
        scenario: a scenario document (``mock_server.scenario``, docs/scenarios.md) to start from; it replaces
            whatever the store held.

    Returns:
        A Starlette app; ``app.state.mock`` is its ``MockState``.

    Raises:
        ContractError: a contract operation has no handler, or a handler no operation.
        FaultsError: ``faults`` cannot be used (the message has its JSON pointer).
        ScenarioError: ``scenario`` cannot be loaded (the message has its JSON pointer).
    """
    handlers = handlers_of() if handlers is None else handlers
    state = build_state(
        base_url=base_url,
        db_path=db_path,
        contracts=contracts,
        clock=clock,
        admin_token=admin_token,
        store=store,
        seed=seed,
    )
    if faults is not None:
        from villa_contracts.faults import Faults

        state.faults = Faults.load(faults, state.contracts)
    if scenario is not None:
        from mock_server.scenario import load as load_scenario

        load_scenario(state, scenario)
    served = [c for c in state.contracts if c.role == "api" or enable_admin]
    routes = _routes(state, served, handlers, base_url)
    router = ExactPathRouter(routes)
    origins = DEFAULT_ORIGINS if cors_origins is None else cors_origins
    guard = Middleware(
        Guard, state=state, allowed_hosts=allowed_hosts, allowed_origins=allowed_origins, router=router,
        cors=_cors(origins, routes, served),
    )  # fmt: skip
    answers = {HTTPException: _http_error, StoreUnavailable: _store_unavailable}
    app = _Mock(routes=routes, exception_handlers=answers, guard=guard)
    app.router = router
    app.state.mock = state
    return app


class _Mock(Starlette):
    """Starlette with the guard in front of its own middleware rather than inside it.

    An operation's endpoint answers every request itself (``mock_server.dispatch``), and the guard
    reaches it straight (``ExactPathRouter.direct``): no Starlette layer stands between them. Every
    other request goes on through Starlette's error and exception middleware to its router, as before.
    """

    def __init__(self, *, guard: Middleware, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._guard = guard

    def build_middleware_stack(self) -> ASGIApp:
        cls, args, kwargs = self._guard
        guard: ASGIApp = cls(super().build_middleware_stack(), *args, **kwargs)
        return guard


def _routes(
    state: MockState, served: list[Contract], handlers: Mapping[str, Mapping[str, Handler]], base_url: str
) -> list[BaseRoute]:
    """Every route: the contracts' documents, the operations of each contract served, the auth endpoints.

    Raises:
        ContractError: a contract operation has no handler, or a handler no operation.
    """
    routes: list[BaseRoute] = _document_routes(state.contracts, base_url, served)
    for contract in served:
        routes += build_routes(state, contract, check_handlers(contract, handlers.get(contract.name)))
    return routes + state.auth.routes()


def _cors(origins: tuple[str, ...], routes: list[BaseRoute], served: list[Contract]) -> Cors | None:
    """The CORS answers of the API contracts served (None: no browser origin may call them)."""
    if not origins:
        return None
    api = [contract for contract in served if contract.role == "api"]
    return Cors(origins=origins, routes=routes, allow_headers=allowed_headers(api), expose_headers=exposed_headers(api))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 and 405 (no route, no such method) in the contracts' error shape."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"no operation at {request.method} {request.url.path}; the contracts are at /openapi/<name>.json"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
    else:
        message = str(exc.detail)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse(
        {"error": message, "code": code, "details": []}, status_code=exc.status_code, headers=exc.headers
    )


async def _store_unavailable(request: Request, exc: Exception) -> Response:
    """A route of Starlette's whose store failed midway: the store's own 503."""
    assert isinstance(exc, StoreUnavailable)
    return exc.response()
