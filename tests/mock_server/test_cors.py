"""CORS (``mock_server.cors``): the exact preflights a browser sends, the answers' headers, the admin API untouched.

The requests are the ones Chromium sends, header for header (``Access-Control-Request-Headers`` lower
case, sorted, comma-separated), so what a browser checks of the answers is checked here without one;
``test_browser.py`` runs a real Chromium on a page of another origin.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.applications import Starlette
from starlette.testclient import TestClient

from mock_server.app import build_state, create_app
from mock_server.cors import Cors, Origins, parse_origin
from mock_server.guard import Guard
from villa_contracts.cli import cli

PAGE = "http://localhost:3000"

# What Chromium sends before fetch(url, {method: "POST", headers: {Authorization, "Content-Type": "application/json"}})
# from a page on http://localhost:3000 (the mock on another port of localhost: same site, other origin).
CHROMIUM_PREFLIGHT = {
    "Accept": "*/*",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization,content-type",
    "Origin": PAGE,
    "Sec-Fetch-Mode": "cors",
    "Sec-Fetch-Site": "same-site",
    "Sec-Fetch-Dest": "empty",
    "Referer": f"{PAGE}/",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
}
# Before the AWS SDK's (v3) InitiateAuth from that page: POST / with the JSON 1.1 protocol's headers.
COGNITO_PREFLIGHT = CHROMIUM_PREFLIGHT | {
    "Access-Control-Request-Headers": "amz-sdk-invocation-id,amz-sdk-request,content-type,x-amz-target,x-amz-user-agent"
}
ALLOW = "access-control-allow-"


@pytest.fixture
def app() -> Starlette:
    return create_app()


@pytest.fixture
def web(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def cors_headers(headers: Any) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.startswith("access-control-")}


def listed(value: str) -> set[str]:
    return {part.strip().lower() for part in value.split(",")}


def test_chromiums_preflight_for_a_json_post_with_a_token(web: TestClient, app: Starlette) -> None:
    before = len(app.state.mock.journal.entries())
    response = web.options("/api/order/create", headers=CHROMIUM_PREFLIGHT)
    assert response.status_code == 204, response.text
    assert response.headers[ALLOW + "origin"] == PAGE
    assert response.headers["vary"] == "Origin"
    assert listed(response.headers[ALLOW + "methods"]) == {"post"}
    assert listed(CHROMIUM_PREFLIGHT["Access-Control-Request-Headers"]) <= listed(response.headers[ALLOW + "headers"])
    assert int(response.headers["access-control-max-age"]) > 0
    assert response.content == b""
    assert len(app.state.mock.journal.entries()) == before  # no handler, no validation, no journal


def test_the_aws_sdks_preflight_for_initiate_auth(web: TestClient) -> None:
    response = web.options("/", headers=COGNITO_PREFLIGHT)
    assert response.status_code == 204, response.text
    assert response.headers[ALLOW + "origin"] == PAGE
    assert listed(response.headers[ALLOW + "methods"]) == {"post"}
    assert listed(COGNITO_PREFLIGHT["Access-Control-Request-Headers"]) <= listed(response.headers[ALLOW + "headers"])


def test_the_preflight_allows_the_contracts_credential_headers(web: TestClient) -> None:
    allowed = listed(web.options("/api/shop/cart", headers=CHROMIUM_PREFLIGHT).headers[ALLOW + "headers"])
    assert {"authorization", "x-gateway-key", "x-amz-date", "x-amz-content-sha256"} <= allowed
    assert "x-villa-admin-token" not in allowed  # the admin API's, which is never cross-origin


@pytest.mark.parametrize(
    ("path", "methods"),
    [("/api/shop/cart/items/42", {"patch", "delete"}), ("/api/shop/profile", {"get", "put"}),
     ("/mock/3ds/ch_1", {"get", "post"})],
)  # fmt: skip
def test_the_preflight_lists_the_methods_of_its_path(web: TestClient, path: str, methods: set[str]) -> None:
    preflight = CHROMIUM_PREFLIGHT | {"Access-Control-Request-Method": "DELETE"}
    response = web.options(path, headers=preflight)
    assert response.status_code == 204
    assert listed(response.headers[ALLOW + "methods"]) == methods


def test_a_preflight_to_a_path_no_contract_has_is_answered_not_405(web: TestClient) -> None:
    response = web.options("/api/nowhere", headers=CHROMIUM_PREFLIGHT)
    assert response.status_code == 204
    assert {"get", "post", "put", "patch", "delete"} <= listed(response.headers[ALLOW + "methods"])


def test_a_public_page_may_call_the_mock_on_this_machine() -> None:
    private = {"Origin": "https://app.example.test", "Access-Control-Request-Private-Network": "true"}
    preflight = CHROMIUM_PREFLIGHT | private
    with TestClient(create_app(cors_origins=("https://app.example.test",))) as web:
        response = web.options("/api/health", headers=preflight)
    assert response.status_code == 204
    assert response.headers[ALLOW + "private-network"] == "true"


def test_an_answer_to_an_allowed_origin_carries_the_cors_headers(web: TestClient) -> None:
    response = web.get("/api/health", headers={"Origin": PAGE, "Sec-Fetch-Mode": "cors"})
    assert response.status_code == 200
    assert response.headers[ALLOW + "origin"] == PAGE
    assert response.headers["vary"] == "Origin"
    assert response.headers[ALLOW + "credentials"] == "true"
    assert {"retry-after", "location"} <= listed(response.headers["access-control-expose-headers"])


def test_cognitos_error_header_is_exposed_to_the_sdk(web: TestClient) -> None:
    headers = {"Origin": PAGE, "Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth"}  # fmt: skip
    response = web.post("/", content=b'{"ClientId": "nobody", "AuthFlow": "USER_PASSWORD_AUTH"}', headers=headers)
    assert response.status_code == 400
    assert response.headers[ALLOW + "origin"] == PAGE
    assert response.headers["x-amzn-errortype"]
    assert {"x-amzn-errortype", "x-amzn-requestid"} <= listed(response.headers["access-control-expose-headers"])


def test_the_guards_refusals_carry_the_cors_headers_too(web: TestClient) -> None:
    response = web.post("/api/order/create", content=b"x" * (1024 * 1024 + 1), headers={"Origin": PAGE})
    assert response.status_code == 413
    assert response.headers[ALLOW + "origin"] == PAGE  # the page can read why


def test_a_request_without_origin_gets_no_cors_headers(web: TestClient) -> None:
    assert cors_headers(web.get("/api/health").headers) == {}
    assert web.options("/api/health", headers={"Access-Control-Request-Method": "GET"}).status_code == 405


def test_the_guard_hands_on_a_request_without_origin_as_it_is() -> None:
    sent: list[Any] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    guard = Guard(inner, state=build_state(), cors=Cors())
    scope = {"type": "http", "method": "GET", "path": "/api/health", "headers": [(b"host", b"localhost")]}
    asyncio.run(guard(scope, receive, send))
    assert [name for name, _ in sent[0]["headers"]] == [b"date"]  # dated (as every answer), nothing of CORS


@pytest.mark.parametrize(
    "headers",
    [CHROMIUM_PREFLIGHT, CHROMIUM_PREFLIGHT | {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}],
)
@pytest.mark.parametrize("path", ["/__admin/reset", "/__admin/users/test.user@villa.example/tokens"])
def test_the_admin_api_gets_no_cors_headers(web: TestClient, headers: dict[str, str], path: str) -> None:
    response = web.options(path, headers=headers)
    assert response.status_code == 403  # the guard's: no web page reaches the admin API
    assert cors_headers(response.headers) == {}
    response = web.post(path, headers={"Origin": headers["Origin"]})
    assert response.status_code == 403
    assert cors_headers(response.headers) == {}


def test_the_admin_api_stays_without_cors_when_its_fence_lets_an_origin_through() -> None:
    app = create_app(cors_origins=("*",), allowed_origins=(PAGE,))
    with TestClient(app) as web:
        response = web.options("/__admin/clock", headers={"Origin": PAGE, "Access-Control-Request-Method": "GET"})
        assert response.status_code == 405  # no preflight answer: a browser sends nothing after it
        assert cors_headers(response.headers) == {}
        response = web.get("/__admin/clock", headers={"Origin": PAGE})
        assert response.status_code == 200
        assert cors_headers(response.headers) == {}  # the page cannot read it


def test_a_preflight_from_an_origin_not_allowed_is_refused(web: TestClient, app: Starlette) -> None:
    before = len(app.state.mock.journal.entries())
    response = web.options("/api/order/create", headers=CHROMIUM_PREFLIGHT | {"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert cors_headers(response.headers) == {}
    assert response.json()["code"] == "cors_origin_not_allowed"
    assert "--cors-origin https://evil.example" in response.json()["error"]
    assert len(app.state.mock.journal.entries()) == before
    answer = web.get("/api/health", headers={"Origin": "https://evil.example"})
    assert answer.status_code == 200  # served, but the browser does not let the page read it
    assert cors_headers(answer.headers) == {}


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [("http://localhost:3000", True), ("http://127.0.0.1:5173", True), ("http://localhost", True),
     ("HTTP://LOCALHOST:8080", True), ("https://localhost:3000", False), ("http://localhost.evil.example:3000", False),
     ("http://evil.example", False), ("null", False), ("http://localhost:3000:1", False), ("", False)],
)  # fmt: skip
def test_by_default_local_development_origins_are_allowed(origin: str, allowed: bool) -> None:
    assert Origins(["http://localhost:*", "http://127.0.0.1:*"]).allow(origin) is allowed


def test_given_origins_replace_the_defaults_and_star_allows_any() -> None:
    given = Origins(["https://app.example.test", "http://10.0.0.5:*"])
    assert given.allow("https://app.example.test") and given.allow("http://10.0.0.5:8000")
    assert not given.allow("http://localhost:3000") and not given.allow("https://app.example.test:8443")
    assert Origins(["*"]).allow("null") and Origins(["*"]).allow("https://anything.example")
    with TestClient(create_app(cors_origins=("*",))) as web:
        preflight = CHROMIUM_PREFLIGHT | {"Origin": "https://anything.example"}
        assert web.options("/api/health", headers=preflight).headers[ALLOW + "origin"] == "https://anything.example"


def test_without_origins_there_is_no_cors() -> None:
    with TestClient(create_app(cors_origins=())) as web:
        response = web.options("/api/order/create", headers=CHROMIUM_PREFLIGHT)
    assert response.status_code == 405
    assert cors_headers(response.headers) == {}


@pytest.mark.parametrize(
    ("text", "origin"),
    [("http://localhost:3000/", "http://localhost:3000"), ("HTTPS://App.Example.test", "https://app.example.test"),
     ("http://[::1]:*", "http://[::1]:*"), ("*", "*"), ("capacitor://localhost", "capacitor://localhost")],
)  # fmt: skip
def test_an_origin_is_read_in_lower_case_without_its_slash(text: str, origin: str) -> None:
    assert parse_origin(text) == origin


@pytest.mark.parametrize("text", ["localhost:3000", "http://localhost:3000/app", "null", "http://", "http://a b"])
def test_what_is_not_an_origin_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an origin"):
        parse_origin(text)


# The CLI: `serve --cors-origin`, up to the app it builds (the server is not started).


def serve_app(monkeypatch: pytest.MonkeyPatch, *args: str, env: dict[str, str] | None = None) -> Any:
    built: list[Any] = []

    def serve_forever(build: Any, **_: Any) -> None:
        built.append(build("http://127.0.0.1:8080"))

    monkeypatch.setattr("mock_server.runner.serve_forever", serve_forever)
    result = CliRunner().invoke(cli, ["serve", *args], env=env)
    assert result.exit_code == 0, result.output
    return built[0]


def preflight_origin(app: Any, origin: str) -> str | None:
    with TestClient(app) as web:
        return web.options("/api/health", headers=CHROMIUM_PREFLIGHT | {"Origin": origin}).headers.get(ALLOW + "origin")


def test_serve_allows_local_pages_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    app = serve_app(monkeypatch)
    assert preflight_origin(app, PAGE) == PAGE
    assert preflight_origin(app, "https://app.example.test") is None


def test_serve_cors_origin_is_repeatable_and_replaces_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    app = serve_app(monkeypatch, "--cors-origin", "https://app.example.test/", "--cors-origin", "http://qa.local:*")
    assert preflight_origin(app, "https://app.example.test") == "https://app.example.test"
    assert preflight_origin(app, "http://qa.local:8000") == "http://qa.local:8000"
    assert preflight_origin(app, PAGE) is None


def test_serve_reads_cors_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    app = serve_app(monkeypatch, env={"VILLA_MOCK_CORS_ORIGINS": "*"})
    assert preflight_origin(app, "https://anything.example") == "https://anything.example"


def test_serve_refuses_what_is_not_an_origin() -> None:
    result = CliRunner().invoke(cli, ["serve", "--cors-origin", "localhost:3000"])
    assert result.exit_code == 2
    assert "--cors-origin" in result.output and "not an origin" in result.output


def test_serve_help_documents_cors_origin() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"], env={"COLUMNS": "200"})
    text = " ".join(result.output.split())
    assert "--cors-origin ORIGIN Let browser pages of ORIGIN call the API (never /__admin)" in text
