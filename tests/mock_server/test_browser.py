"""A real browser calls the mock cross-origin (``mock_server.cors``): Debian's Chromium, driven by Playwright.

The page (``tests/fixtures/web_shop.html``) is served by a small HTTP server of its own on
``http://localhost:<port>``, another origin than the mock's ``http://127.0.0.1:<port>`` (one of the
default allowed origins), and its JavaScript makes every call with ``fetch``, as a web app does: so
Chromium itself sends the preflights and decides, from the mock's answers, what the page may read.
A small ASGI wrapper around the mock records what reached it (the preflights too: the mock does not
journal them).

Chromium is Debian's ``/usr/bin/chromium`` (``.ci/setup`` installs it); Playwright's own browser
download is not used. Without it these tests fail, saying how to install it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.contract import load

pytestmark = pytest.mark.socket

CHROMIUM = Path("/usr/bin/chromium")
PAGE = Path(__file__).resolve().parents[1] / "fixtures" / "web_shop.html"
APPROVED_CARD = next(n for n, c in load().data("test_cards")["cards"].items() if c["outcome"] == "approve")
PASSWORD = "Browser123!x"


@dataclass(frozen=True)
class Seen:
    """A request that reached the mock, and its answer's status."""

    method: str
    path: str
    origin: str | None
    request_method: str | None
    """``Access-Control-Request-Method``: set on a preflight only."""
    request_headers: str | None
    status: int

    @property
    def preflight(self) -> bool:
        return self.method == "OPTIONS" and self.request_method is not None


@dataclass
class Live:
    """The mock on a socket, and every request that reached it."""

    base_url: str
    seen: list[Seen] = field(default_factory=list)

    def new_user(self, name: str) -> str:
        username = f"{name}@villa.example"
        body = {"username": username, "password": PASSWORD, "email": username}
        created = httpx.post(f"{self.base_url}/__admin/users", json=body)
        assert created.status_code == 201, created.text
        return username

    def cognito(self) -> dict[str, Any]:
        return dict(httpx.get(f"{self.base_url}/__admin/cognito").json())

    def preflights(self) -> dict[str, Seen]:
        return {s.path: s for s in self.seen if s.preflight}

    def calls(self, path: str) -> list[Seen]:
        return [s for s in self.seen if s.path == path and not s.preflight]


def recording(app: ASGIApp, seen: list[Seen]) -> ASGIApp:
    """``app``, noting each HTTP request and its answer's status in ``seen``."""

    async def recorder(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen.append(
                    Seen(
                        method=scope["method"],
                        path=scope["path"],
                        origin=headers.get("origin"),
                        request_method=headers.get("access-control-request-method"),
                        request_headers=headers.get("access-control-request-headers"),
                        status=message["status"],
                    )
                )
            await send(message)

        await app(scope, receive, noting)

    return recorder


@contextmanager
def serve_mock(*, cors_origins: tuple[str, ...] | None = None) -> Iterator[Live]:
    """The mock on 127.0.0.1 (``serve --cors-origin`` is ``cors_origins``; the default origins when None)."""
    seen: list[Seen] = []
    with serve_in_thread(lambda url: recording(create_app(base_url=url, cors_origins=cors_origins), seen)) as server:
        yield Live(server.base_url, seen)


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path != "/":
            self.send_error(404)
            return
        body = PAGE.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # no line on stderr per request
        pass


@pytest.fixture(scope="module")
def page_origin() -> Iterator[str]:
    """The web shop page's origin: ``http://localhost:<port>`` (the mock is on ``127.0.0.1``, another origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.fail(
            f"no {CHROMIUM}: install Debian's Chromium (apt-get install chromium, or bash .ci/setup as root)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, page_origin: str) -> Iterator[Page]:
    context = browser.new_context()  # a fresh one per test: no preflight cached by an earlier test
    page = context.new_page()
    page.goto(f"{page_origin}/")
    yield page
    context.close()


def test_a_page_logs_in_through_cognito_creates_an_order_and_pays(page: Page, page_origin: str) -> None:
    with serve_mock() as mock:
        username = mock.new_user("browser.buyer")
        steps = page.evaluate(
            "([mock, cognito, user, password, card]) => villaCheckout(mock, cognito, user, password, card)",
            [mock.base_url, mock.cognito(), username, PASSWORD, APPROVED_CARD],
        )

    assert {name: step.get("status", step.get("error")) for name, step in steps.items()} == {
        "signIn": 200,
        "orderId": 200,
        "create": 200,
        "cardToken": 200,
        "charge": 200,
        "verify": 200,
        "read": 200,
    }, steps
    assert steps["signIn"]["body"]["AuthenticationResult"]["TokenType"] == "Bearer"
    order = steps["create"]["body"]
    assert order["orderId"] == steps["orderId"]["body"]["orderId"]
    assert steps["charge"]["body"]["transaction_state"] == "Authorized"
    assert steps["charge"]["body"]["amount"] == order["payment"]["grandTotal"]
    assert steps["verify"]["body"]["paid"] is True
    assert steps["read"]["body"]["payment"]["isPaid"] is True
    assert steps["read"]["body"]["payment"]["status"] == "PAID"

    # Chromium asked first, once per URL, and the mock allowed the page's origin.
    paths = ["/", "/api/order2/gentele", "/api/order/create"]
    paths += [f"/api/payment3/{step}" for step in ("cardtoken", "charge", "verify")] + ["/api/order/get"]
    preflights = mock.preflights()
    for path in paths:
        assert path in preflights, (path, mock.seen)
        assert (preflights[path].origin, preflights[path].request_method, preflights[path].status) == (
            page_origin,
            "POST",
            204,
        )
        assert mock.seen.index(preflights[path]) < mock.seen.index(mock.calls(path)[0])
    assert "x-amz-target" in (preflights["/"].request_headers or "").split(",")
    assert "authorization" in (preflights["/api/order/create"].request_headers or "").split(",")


def test_a_page_checks_its_cart_out_and_pays_on_the_gateways_page(page: Page, page_origin: str) -> None:
    with serve_mock() as mock:
        username = mock.new_user("browser.shopper")
        steps = page.evaluate(
            "([mock, user, password]) => cartCheckout(mock, user, password)", [mock.base_url, username, PASSWORD]
        )
        assert {name: step.get("status", step.get("error")) for name, step in steps.items()} == {
            "login": 200,
            "profile": 200,
            "address": 201,
            "add": 200,
            "change": 200,
            "checkout": 200,
        }, steps
        assert steps["change"]["body"]["items"][0]["quantity"] == 2
        next_step = steps["checkout"]["body"]["next_step"]
        assert next_step.startswith(f"{mock.base_url}/mock/gateway/")

        # The shop sends the payer to the gateway's page; the payer approves there.
        page.goto(next_step)
        with page.expect_response(lambda response: response.request.method == "POST") as decision:
            page.get_by_role("button", name="Approve").click()
        result = decision.value.json()
        assert result["status"] == "PAID", result
        assert result["return_url"] == f"{mock.base_url}/api/shop/orders/{result['order_key']}"

        # Back on the shop: the order is paid (HOLD while the payment was pending, PROCESSING now).
        page.goto(f"{page_origin}/")
        key = steps["login"]["body"]["token"]
        order = page.evaluate(
            "([mock, key, orderKey]) => shopOrder(mock, key, orderKey)", [mock.base_url, key, result["order_key"]]
        )
    assert order["status"] == 200, order
    assert order["body"]["status"] == "PROCESSING", order

    preflights = mock.preflights()
    assert preflights["/api/shop/profile"].request_method == "PUT"
    assert preflights["/api/shop/cart/items/25281"].request_method == "PATCH"
    for path in ("/api/shop/auth/token", "/api/shop/addresses", "/api/shop/checkout/cart", "/api/shop/profile"):
        assert (preflights[path].origin, preflights[path].status) == (page_origin, 204), path


def test_a_page_of_an_origin_not_allowed_cannot_read_the_mock(page: Page, page_origin: str) -> None:
    with serve_mock(cors_origins=("http://app.example.test",)) as mock:
        username = mock.new_user("browser.stranger")
        sign_in = page.evaluate(
            "([mock, cognito, user, password]) => signIn(mock, cognito, user, password)",
            [mock.base_url, mock.cognito(), username, PASSWORD],
        )
        health = page.evaluate("(mock) => call('GET', `${mock}/api/health`)", mock.base_url)

    assert sign_in == {"error": "TypeError: Failed to fetch"}
    assert health == {"error": "TypeError: Failed to fetch"}
    # The preflight was refused (403, no CORS header) and the login never sent; the simple GET was
    # served, but the browser kept its answer from the page.
    assert (mock.preflights()["/"].origin, mock.preflights()["/"].status) == (page_origin, 403)
    assert mock.calls("/") == []
    assert [s.status for s in mock.calls("/api/health")] == [200]


def test_the_admin_api_is_out_of_a_pages_reach(page: Page, page_origin: str) -> None:
    with serve_mock() as mock:
        json = "{headers: {'Content-Type': 'application/json'}, body: {}}"
        reset = page.evaluate(f"(mock) => call('POST', `${{mock}}/__admin/reset`, {json})", mock.base_url)
        cognito = page.evaluate("(mock) => call('GET', `${mock}/__admin/cognito`)", mock.base_url)
        api = page.evaluate("(mock) => call('GET', `${mock}/api/health`)", mock.base_url)

    assert reset == {"error": "TypeError: Failed to fetch"}
    assert cognito == {"error": "TypeError: Failed to fetch"}
    assert api["status"] == 200  # the same page reads the API: only the admin API is closed
    assert (mock.preflights()["/__admin/reset"].origin, mock.preflights()["/__admin/reset"].status) == (
        page_origin,
        403,
    )
    assert mock.calls("/__admin/reset") == []  # never sent: the mock was not reset
    assert [s.status for s in mock.calls("/__admin/cognito")] == [403]
