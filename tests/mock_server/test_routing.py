"""The exact-path shortcut answers exactly as Starlette's ordered search would."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, Router
from starlette.testclient import TestClient

from mock_server.routing import ExactPathRouter


def _says(text: str):
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{text} {dict(request.path_params)}")

    return endpoint


ROUTES = [
    Route("/api/{name}/special", _says("param-first"), methods=["GET"]),
    Route("/api/order/special", _says("shadowed"), methods=["GET"]),
    Route("/api/order/get", _says("get"), methods=["POST"]),
    Route("/api/order/get", _says("get-by-GET"), methods=["GET"]),
    Route("/items/", _says("items"), methods=["GET"]),
]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/order/special"),  # an earlier parameter route wins, as in the ordered search
        ("POST", "/api/order/get"),
        ("GET", "/api/order/get"),  # the first route of the path does not take GET: the second does
        ("PUT", "/api/order/get"),  # 405
        ("GET", "/items"),  # redirect to /items/
        ("GET", "/nowhere"),  # 404
    ],
)
def test_same_answers_as_the_ordered_search(method: str, path: str) -> None:
    fast, plain = Starlette(), Starlette()
    fast.router, plain.router = ExactPathRouter(ROUTES), Router(ROUTES)
    got = TestClient(fast).request(method, path, follow_redirects=False)
    expected = TestClient(plain).request(method, path, follow_redirects=False)
    assert (got.status_code, got.text, got.headers.get("location")) == (
        expected.status_code,
        expected.text,
        expected.headers.get("location"),
    )
    assert got.status_code in {200, 307, 404, 405}
