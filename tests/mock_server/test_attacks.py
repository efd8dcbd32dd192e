"""The attack suite: each class of hostile input the mock was attacked with, refused with a 4xx, changing nothing.

One test (or a property) per finding of the attack run: numbers past any realistic bound, identifiers
in other scripts, the admin fence, payments at a total never charged, memory by size, bodies past
their limit, card numbers in what is journaled, admin input that crashed, disconnects, a browser or
a rebinding host on the admin API, slow bodies. The forged-token set is in ``test_token_refusals``.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.auth import secret_hash
from mock_server.guard import Guard
from mock_server.storage import MemoryStorage, StoreBusy, StoreUnavailable
from tests.fixtures.mock import User, login_user, new_order
from villa_contracts.contract import load

CARD = "4111111111111111"
THREE_DS_CARD = "5149500000009007"


def _journal(api: TestClient) -> list[dict[str, Any]]:
    return list(api.get("/__admin/journal?limit=100000").json()["entries"])


# 1. Numbers the schema accepted crashed the pricing (Decimal past 28 digits).


GRAND_TOTAL, COST = "/api/webPayment/calculateGrandtotal", "/api/calculateCost/getCost"


@pytest.mark.parametrize(
    ("path", "product"),
    [
        (GRAND_TOTAL, {"cprcode": 25281, "quantity": 1e25}),
        (COST, {"cprcode": 25281, "productName": "x", "quantity": 10**25}),
        (GRAND_TOTAL, {"cprcode": 10**25, "quantity": 1}),
    ],
)
def test_huge_numbers_are_a_400(api: TestClient, alice: User, path: str, product: dict[str, Any]) -> None:
    response = api.post(path, json={"branchId": "1000", "productList": [product]}, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert api.get("/__admin/journal").json()["mockBugs"] == 0


def test_a_huge_quantity_on_update_changes_nothing(api: TestClient, alice: User) -> None:
    order = new_order(api, alice)
    body = {**order, "productList": [{"cprcode": 25281, "quantity": 1e308}]}
    assert api.post("/api/order/update", json=body, headers=alice.headers).status_code == 400
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).json() == order


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(
    quantity=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)),
    cprcode=st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30)),
)
def test_pricing_is_total_for_every_number(quantity: Any, cprcode: Any) -> None:
    # Whatever number arrives, the answer is a 2xx or a 4xx: the money code never raises.
    with TestClient(create_app()) as api:
        alice = login_user(api, 0)
        for path in ("/api/webPayment/calculateGrandtotal", "/api/calculateCost/getCost"):
            product = {"cprcode": cprcode, "quantity": quantity, "productName": "x"}
            response = api.post(path, json={"branchId": "1000", "productList": [product]}, headers=alice.headers)
            assert response.status_code < 500, (path, product, response.text)


# 2. Identifiers are ASCII digits: "²" crashed int(), Arabic-Indic digits were read as 25281.


@pytest.mark.parametrize("code", ["²", "٢٥٢٨١", "２５２８１", "25281 ", "0x62c1", ""])
def test_product_codes_are_ascii_digits(api: TestClient, alice: User, code: str) -> None:
    body = {"branchId": "1000", "productList": [{"cprcode": code, "productName": "x", "quantity": 1}]}
    response = api.post("/api/calculateCost/getCost", json=body, headers=alice.headers)
    assert response.status_code == 400, response.text
    assert response.json()["details"][0]["pointer"].startswith("/productList/0/cprcode")


@pytest.mark.parametrize("branch", ["１０００", "١٠٠٠", "100", "10000", "²000"])
def test_branch_ids_are_four_ascii_digits(api: TestClient, alice: User, branch: str) -> None:
    response = api.post("/api/order2/gentele", json={"branchId": branch}, headers=alice.headers)
    assert response.status_code == 400, response.text


# 3. With an admin token, every admin route is behind it: provider states too.


ADMIN_CALLS = [
    ("POST", "/__admin/reset", None),
    ("GET", "/__admin/users", None),
    ("POST", "/__admin/users", {"username": "x@villa.example", "password": "Passw0rd!"}),
    ("POST", "/__admin/users/test.user@villa.example/confirm", None),
    ("POST", "/__admin/users/test.user@villa.example/tokens", None),
    ("GET", "/__admin/clock", None),
    ("POST", "/__admin/clock", {"advanceSeconds": 3600}),
    ("GET", "/__admin/journal", None),
    ("DELETE", "/__admin/journal", None),
    ("GET", "/__admin/cognito", None),
    ("POST", "/__admin/provider-states", {"state": "order O is paid", "action": "setup"}),
]


def test_every_admin_route_needs_the_token_when_one_is_set() -> None:
    with TestClient(create_app(admin_token="s3cret")) as api:
        good = {"X-Villa-Admin-Token": "s3cret"}
        before = (api.get("/__admin/clock", headers=good).json(), api.get("/__admin/users", headers=good).json())
        for method, path, body in ADMIN_CALLS:
            for headers in ({}, {"X-Villa-Admin-Token": "wrong"}):
                response = api.request(method, path, json=body, headers=headers)
                assert response.status_code == 401, (method, path, response.text)
        after = (api.get("/__admin/clock", headers=good).json(), api.get("/__admin/users", headers=good).json())
        assert after[0]["offsetSeconds"] == before[0]["offsetSeconds"] == 0
        assert after[1] == before[1]
        assert api.post("/__admin/provider-states", json={"state": "user U is logged in"}, headers=good).json()["token"]


# 4. Paid at a total that was never charged; one capture per order; no 3-D Secure after payment.


def _token(api: TestClient, user: User, order: dict[str, Any], card: str = CARD) -> str:
    card_input = {"number": card, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"}
    body = {"orderId": order["orderId"], "basketId": user.sub, "grandTotal": order["payment"]["grandTotal"]}
    body["card"] = card_input
    response = api.post("/api/payment3devapi/cardtoken", json=body, headers=user.headers)
    assert response.status_code == 200, response.text
    return str(response.json()["cardToken"])


def _charge(api: TestClient, user: User, order: dict[str, Any], token: str) -> Any:
    body = {"orderId": order["orderId"], "basketId": user.sub, "grandTotal": order["payment"]["grandTotal"],
            "token": token}  # fmt: skip
    return api.post("/api/payment3devapi/charge", json=body, headers=user.headers)


def _verify(api: TestClient, user: User, order_id: str, charge_id: str) -> Any:
    return api.post(
        "/api/payment3devapi/verify", json={"orderId": order_id, "chargeId": charge_id}, headers=user.headers
    )


def _get(api: TestClient, user: User, order_id: str) -> dict[str, Any]:
    return dict(api.post("/api/order/get", json={"orderId": order_id}, headers=user.headers).json())


def test_a_charge_for_an_older_total_never_pays_the_order(api: TestClient, alice: User) -> None:
    order = new_order(api, alice)
    charge = _charge(api, alice, order, _token(api, alice, order)).json()
    assert charge["transaction_state"] == "Authorized" and charge["amount"] == 174.0
    bigger = {**order, "productList": [{"cprcode": 25281, "quantity": 1}, {"cprcode": 164687, "quantity": 20}]}
    assert api.post("/api/order/update", json=bigger, headers=alice.headers).status_code == 200
    response = _verify(api, alice, order["orderId"], charge["chargeId"])
    assert response.status_code == 409, response.text
    assert "was for 174.00 THB but the order's grand total is now 4114.00 THB" in response.json()["error"]
    assert _get(api, alice, order["orderId"])["payment"]["isPaid"] is False


def test_one_charge_at_a_time_and_one_capture_per_order(api: TestClient, alice: User) -> None:
    order = new_order(api, alice)
    first = _charge(api, alice, order, _token(api, alice, order)).json()
    second = _charge(api, alice, order, _token(api, alice, order))
    assert second.status_code == 409 and "already has a charge in progress" in second.json()["error"]
    assert _verify(api, alice, order["orderId"], first["chargeId"]).json()["paid"] is True
    again = _verify(api, alice, order["orderId"], first["chargeId"])
    assert again.status_code == 200 and again.json()["paid"] is True  # idempotent: the same answer
    paid = _get(api, alice, order["orderId"])
    assert paid["payment"]["totalPaid"] == 174.0 and len(paid["payment"]["paymentLog"]) == 1


def test_no_three_d_secure_after_the_order_is_paid(api: TestClient, alice: User) -> None:
    order = new_order(api, alice)
    waiting = _charge(api, alice, order, _token(api, alice, order, THREE_DS_CARD)).json()
    assert waiting["transaction_state"] == "Pre-Authorized"
    # While it waits, no other charge; once refused, another card may pay.
    assert _charge(api, alice, order, _token(api, alice, order)).status_code == 409
    assert api.post(f"/mock/3ds/{waiting['chargeId']}", json={"action": "refuse"}).status_code == 200
    paying = _charge(api, alice, order, _token(api, alice, order)).json()
    assert _verify(api, alice, order["orderId"], paying["chargeId"]).json()["paid"] is True
    late = api.post(f"/mock/3ds/{waiting['chargeId']}", json={"action": "complete"})
    assert late.status_code == 409


# 5. The journal is bounded by size, and echoed values are cut short.


def test_the_journal_stays_small_whatever_the_bodies() -> None:
    with TestClient(create_app()) as api:
        huge = {"action": ["A" * 900_000]}
        for _ in range(30):
            assert api.post("/mock/3ds/chrg_test_x", json=huge).status_code == 400
        state = api.app.state.mock  # type: ignore[attr-defined]
        assert state.journal.size < 200_000
        answer = api.get("/__admin/journal?limit=100000")
        assert len(answer.content) < 200_000
        assert all(len(d["message"]) <= 300 for e in answer.json()["entries"] for d in e["requestViolations"])


# 6. Bodies are never read past their limit, on every route.


@pytest.mark.parametrize(
    "path", ["/", "/__admin/users", "/__admin/provider-states", "/api/order/create", "/mock/3ds/chrg_test_x"]
)
def test_a_body_past_the_limit_is_refused_without_reading_it(path: str) -> None:
    state = create_app().state.mock
    sent: list[dict[str, Any]] = []
    parts = 0

    async def endless() -> dict[str, Any]:
        nonlocal parts
        parts += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the route must not run")

    scope = {"type": "http", "method": "POST", "path": path, "headers": [(b"host", b"127.0.0.1"),
             (b"transfer-encoding", b"chunked")]}  # fmt: skip
    asyncio.run(Guard(inner, state=state)(scope, endless, send))
    assert sent[0]["status"] == 413
    assert parts <= 1024 * 1024 // 65536 + 1  # stopped at the limit: 200 MiB more would not be read


def test_a_declared_length_past_the_limit_is_refused_at_once(api: TestClient) -> None:
    response = api.post("/", content=b"{}", headers={"content-length": str(200 * 1024 * 1024)})
    assert response.status_code == 413


# 7. Card numbers never reach the journal, whatever field or type they arrive in.


@pytest.mark.parametrize(
    "number",
    [4539578763621486, "4539 5787 6362 1486", "4539578763621486\n", "4539-5787-6362-1486", " 4539578763621486"],
    ids=["json-number", "spaces", "newline", "dashes", "leading-space"],
)
def test_no_card_number_reaches_the_journal_or_the_error(api: TestClient, alice: User, number: Any) -> None:
    order = new_order(api, alice)
    card = {"number": number, "expirationMonth": "12", "expirationYear": "2030", "securityCode": 123}
    body = {"orderId": order["orderId"], "basketId": alice.sub, "grandTotal": "174", "card": card}
    response = api.post("/api/payment3devapi/cardtoken", json=body, headers=alice.headers)
    assert response.status_code == 400
    text = response.text + json.dumps(_journal(api))
    assert "4539578763621486" not in text.replace(" ", "").replace("-", "")
    assert "453957xxxxxx1486" in text


@pytest.mark.parametrize("cvv", [987, "98765", 9870], ids=["json-number", "too-long", "too-long-number"])
def test_no_cvv_reaches_the_error(api: TestClient, alice: User, cvv: Any) -> None:
    # Found by `villa-contracts proxy` watching the gate's fuzzing: a violation message quoted the value.
    order = new_order(api, alice)
    card = {"number": "4111111111111111", "expirationMonth": "12", "expirationYear": "2030", "securityCode": cvv}
    body = {"orderId": order["orderId"], "basketId": alice.sub, "grandTotal": "174", "card": card}
    response = api.post("/api/payment3devapi/cardtoken", json=body, headers=alice.headers)
    assert response.status_code == 400
    answer = response.json()
    assert answer["details"][0]["pointer"].startswith("/card/securityCode")
    # What is said about the value, not the whole text: a journal's timestamp may hold any digits.
    said = [answer["error"], *(d["message"] for d in answer["details"])]
    said += [v["message"] for entry in _journal(api) for v in entry.get("requestViolations") or []]
    assert len(said) >= 3 and not any("987" in text for text in said), said


# 8. Admin input is validated before anything changes.


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/__admin/users", {"username": "x@villa.example", "password": "Passw0rd!", "sub": {}}),
        ("/__admin/provider-states", {"state": "user U has a card token T for unpaid order O",
                                      "params": {"outcome": "nope"}}),
        ("/__admin/clock", {"advanceSeconds": 1e308}),
        ("/__admin/clock", {"advanceSeconds": -1}),
        ("/__admin/clock", {"advanceSeconds": "3600"}),
    ],
)  # fmt: skip
def test_bad_admin_input_is_a_400_and_changes_nothing(api: TestClient, path: str, body: Any) -> None:
    users = api.get("/__admin/users").json()
    response = api.post(path, json=body)
    assert response.status_code == 400, response.text
    assert api.get("/__admin/clock").json()["offsetSeconds"] == 0
    assert api.get("/__admin/users").json() == users


@pytest.mark.parametrize("constant", ["Infinity", "-Infinity", "NaN"])
def test_non_numbers_on_the_clock_are_a_400(api: TestClient, constant: str) -> None:
    response = api.post("/__admin/clock", content=f'{{"advanceSeconds": {constant}}}'.encode(),
                        headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 400
    assert api.get("/__admin/clock").json()["offsetSeconds"] == 0


@pytest.mark.parametrize("path", ["/__admin/users", "/__admin/provider-states", "/api/order/create"])
def test_a_deeply_nested_body_is_a_400(api: TestClient, alice: User, path: str) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    response = api.post(path, content=deep.encode(), headers={**alice.headers, "content-type": "application/json"})
    assert response.status_code == 400
    assert api.get("/__admin/journal").json()["mockBugs"] == 0


# 9. A client that goes away is the client's doing, never a mock bug.


def test_a_disconnect_is_journaled_as_the_clients_doing() -> None:
    app = create_app()
    state = app.state.mock

    async def gone() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        raise AssertionError("nobody to answer")

    scope = {"type": "http", "method": "POST", "path": "/api/order/get", "headers": [(b"host", b"127.0.0.1")],
             "query_string": b""}  # fmt: skip
    asyncio.run(app(scope, gone, send))
    entry = state.journal.entries()[-1]
    assert (entry.status, entry.mock_bug, state.journal.mock_bugs) == (499, False, 0)
    assert "client disconnected" in (entry.note or "")


# 10. Without an admin token, no web page and no rebinding host name reaches the admin API.


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://evil.example"}, {"Host": "evil.example"}, {"Host": "evil.example:8080"},
     {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}],
)  # fmt: skip
def test_a_browser_or_a_foreign_host_cannot_steer_the_mock(api: TestClient, headers: dict[str, str]) -> None:
    for method, path, body in [("POST", "/__admin/reset", None), ("POST", "/__admin/clock", {"advanceSeconds": 60}),
                               ("POST", "/__admin/users/test.user@villa.example/tokens", None)]:  # fmt: skip
        response = api.request(method, path, json=body, headers=headers)
        assert response.status_code == 403, (path, response.text)
        assert "--admin-token" in response.json()["error"]
    assert api.get("/__admin/clock").json()["offsetSeconds"] == 0
    assert api.request("POST", "/__admin/reset", headers={"Content-Type": "text/plain"}).status_code == 200  # local


def test_allowed_hosts_and_origins_and_the_token_open_the_fence() -> None:
    with TestClient(create_app(allowed_hosts=("mock.internal",), allowed_origins=("http://qa.local",))) as api:
        assert api.get("/__admin/clock", headers={"Host": "mock.internal:8080"}).status_code == 200
        assert api.get("/__admin/clock", headers={"Origin": "http://qa.local"}).status_code == 200
    with TestClient(create_app(admin_token="t")) as api:
        headers = {"Host": "mock.internal", "X-Villa-Admin-Token": "t"}
        assert api.get("/__admin/clock", headers=headers).status_code == 200


def test_the_db_file_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "villa.db"
    create_app(db_path=str(path)).state.mock.store.close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


# 11. A body that never arrives is timed out.


def _slow_request() -> dict[str, Any]:
    return {"type": "http", "method": "POST", "path": "/api/order/get", "headers": [(b"host", b"127.0.0.1")]}


async def _body_that_never_comes() -> dict[str, Any]:
    await asyncio.sleep(3600)
    raise AssertionError("unreachable")


async def _never_called(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the route must not run")


def _collector() -> tuple[list[dict[str, Any]], Any]:
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    return sent, send


def test_a_slow_body_is_timed_out() -> None:
    state = create_app().state.mock
    sent, send = _collector()
    guard = Guard(_never_called, state=state, read_timeout=0.05)
    asyncio.run(guard(_slow_request(), _body_that_never_comes, send))
    assert sent[0]["status"] == 408
    assert state.journal.entries()[-1].status == 408


def test_a_body_trickled_a_byte_at_a_time_is_timed_out_as_a_whole() -> None:
    # Each byte restarted the 10 s timer, and nothing bounded the whole: a byte every 2 s held a
    # connection for good.
    state = create_app().state.mock
    sent, send = _collector()

    async def a_byte_at_a_time() -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"type": "http.request", "body": b"{", "more_body": True}

    guard = Guard(_never_called, state=state, read_timeout=60, body_timeout=0.2)
    asyncio.run(guard({**_slow_request(), "method": "POST"}, a_byte_at_a_time, send))
    assert sent[0]["status"] == 408
    assert "did not arrive whole within 0.2 s" in json.loads(sent[1]["body"])["error"]
    assert state.journal.entries()[-1].status == 408


def test_a_cancel_that_is_not_the_read_timeout_goes_through() -> None:
    state = create_app().state.mock
    sent, send = _collector()

    async def shut_down_midway() -> None:
        guard = Guard(_never_called, state=state, read_timeout=60)
        task = asyncio.create_task(guard(_slow_request(), _body_that_never_comes, send))
        await asyncio.sleep(0.05)
        task.cancel()  # as the server does when it stops
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(shut_down_midway())
    assert sent == []  # no 408: the read did not time out


def test_slow_bodies_on_two_event_loops_at_once_are_each_timed_out() -> None:
    import threading

    state = create_app().state.mock
    guard_of_both = Guard(_never_called, state=state, read_timeout=0.05)
    statuses: list[int] = []

    def serve_one_slow_body() -> None:
        sent, send = _collector()
        asyncio.run(guard_of_both(_slow_request(), _body_that_never_comes, send))
        statuses.append(sent[0]["status"])

    threads = [threading.Thread(target=serve_one_slow_body, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert statuses == [408, 408]


@pytest.mark.socket
def test_the_server_log_shows_no_card_number(tmp_path: Path) -> None:
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(sys.executable).parent / "villa-contracts"
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port), "--access-log"], stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        token = httpx.post(f"{base}/__admin/users/test.user@villa.example/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        httpx.get(f"{base}/api/orders/4539578763621486?card=4539%205787%206362%201486")
        card = {"number": 4539578763621486, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "987"}
        httpx.post(f"{base}/api/payment3devapi/cardtoken", json={"card": card}, headers=headers)
        httpx.post(f"{base}/api/payment3devapi/cardtoken", content=b'{"card": "4539578763621486', headers=headers)
    finally:
        server.terminate()
        server.wait(10)
        log.close()
    text = (tmp_path / "serve.log").read_text()
    assert "GET /api/orders/" in text  # the access log did show the request
    assert (
        "4539578763621486" not in text
        and "4539 5787 6362 1486" not in text
        and "%20" not in text.split("card=")[-1][:20]
    )


# 12. An escaped lone surrogate ("\ud800": valid JSON text, no Unicode character) crashed the
# validators, password hashing and the stores (500). It is a 400 now, on every operation.


def _with_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return value + "\ud800"
    if isinstance(value, dict):
        return {key: _with_lone_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_lone_surrogates(item) for item in value]
    return value


def _example_bodies() -> list[Any]:
    from villa_contracts.contract import load

    cases = []
    for contract in load():
        for operation in contract.operations.values():
            media = (operation.spec.get("requestBody") or {}).get("content", {}).get("application/json") or {}
            examples = [media["example"]] if "example" in media else []
            examples += [each["value"] for each in (media.get("examples") or {}).values() if "value" in each]
            if examples and _with_lone_surrogates(examples[0]) != examples[0]:  # it holds text
                path = operation.path.replace("{", "").replace("}", "")
                cases.append(pytest.param(operation.method, path, examples[0], id=operation.operation_id))
    return cases


@pytest.mark.parametrize(("method", "path", "example"), _example_bodies())
def test_a_lone_surrogate_in_any_body_is_a_400(
    api: TestClient, alice: User, method: str, path: str, example: Any
) -> None:
    raw = json.dumps(_with_lone_surrogates(example)).encode()
    assert b"\\ud800" in raw
    headers = {**alice.headers, "Content-Type": "application/json"}
    response = api.request(method, path, content=raw, headers=headers)
    assert 400 <= response.status_code < 500, response.text  # 401 where the caller is checked first
    assert api.get("/__admin/journal").json()["mockBugs"] == 0
    if response.status_code == 400:
        assert "lone surrogate" in response.json()["error"]


def test_a_lone_surrogate_reaches_no_cognito_operation(api: TestClient) -> None:
    body = {"ClientId": "any", "Username": "new\ud800", "Password": "Passw0rd!\ud800"}
    for target in ("SignUp", "InitiateAuth", "ConfirmSignUp"):
        response = api.post(
            "/",
            content=json.dumps(body).encode(),
            headers={
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "SerializationException"
        assert "lone surrogate" in response.json()["message"]
        assert "Passw0rd" not in response.text


# 13. Card data in what a client writes is refused by every API (400, with a pointer), never stored or echoed:
# dots, slashes, double spaces, fullwidth or Arabic-Indic digits passed the line-item rule, and the shop kept
# card numbers in order notes, profiles and addresses. What is no card number (a zip code of zeros) is kept.

CARD_WRITINGS = [
    "4111 1111 1111 1111",
    "4111  1111  1111  1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "４１１１ １１１１ １１１１ １１１１",
    "٤١١١١١١١١١١١١١١١",
    "5105-1051-0510-5100",
]


def _refused_at(response: Any, pointer: str, api: TestClient) -> None:
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["details"][0]["pointer"] == pointer and "card" in answer["error"]
    shown = response.text + json.dumps(_journal(api))
    assert not any(number in shown for number in ("4111111111111111", "5105105105105100", "1111 1111", "1111.1111"))


@pytest.mark.parametrize("writing", CARD_WRITINGS)
def test_a_card_number_in_a_shop_order_note_is_refused_and_not_stored(api: TestClient, writing: str) -> None:
    from tests.mock_server.test_shop_checkout import MILK, add_to_cart, checkout, order_page, user_key

    key = user_key(api)
    add_to_cart(api, key, MILK)
    _refused_at(checkout(api, key, notes=f"card: {writing}, thanks"), "/notes", api)
    assert order_page(api, key)["count"] == 0
    assert checkout(api, key, notes="zip 0000000000000000000, order 12345678901234567890").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "body", "pointer"),
    [
        ("PUT", "/api/shop/profile", {"first_name": "Alice", "phone": "4111 1111 1111 1111"}, "/phone"),
        ("PUT", "/api/shop/profile", {"last_name": "４１１１１１１１１１１１１１１１"}, "/last_name"),
        ("POST", "/api/shop/addresses", {"line1": "1 Soi 2", "line2": "card 4111.1111.1111.1111", "city": "Bangkok",
                                          "postcode": "10110", "phone": "0811111111"}, "/line2"),
    ],
)  # fmt: skip
def test_a_card_number_in_a_shop_profile_or_address_is_refused(
    api: TestClient, method: str, path: str, body: dict[str, Any], pointer: str
) -> None:
    from tests.mock_server.test_shop_checkout import auth, user_key

    key = user_key(api)
    before = api.get(path, headers=auth(key)).json()
    _refused_at(api.request(method, path, json=body, headers=auth(key)), pointer, api)
    assert api.get(path, headers=auth(key)).json() == before


@pytest.mark.parametrize(
    ("extra", "pointer"),
    [
        ({"specialComment": "card ٤١١١ ١١١١ ١١١١ ١١١١"}, "/specialComment"),
        ({"specialComment": "4111/1111/1111/1111"}, "/specialComment"),
        ({"card_code": "123"}, "/card_code"),  # the order document accepts unknown keys: not a CVV
        ({"giftCard": {"securityCode": 123}}, "/giftCard/securityCode"),
    ],
)
def test_card_data_in_a_villa_order_is_refused_on_create_and_update(
    api: TestClient, alice: User, extra: dict[str, Any], pointer: str
) -> None:
    order_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()["orderId"]
    body = {"orderId": order_id, "ownerId": alice.sub, "basketId": alice.sub, "branchId": "1000",
            "productList": [{"cprcode": 25281, "quantity": 1}], **extra}  # fmt: skip
    _refused_at(api.post("/api/order/create", json=body, headers=alice.headers), pointer, api)
    assert api.post("/api/order/get", json={"orderId": order_id}, headers=alice.headers).status_code == 404
    order = new_order(api, alice, specialComment="zip 0000000000000000000")
    _refused_at(api.post("/api/order/update", json={**order, **extra}, headers=alice.headers), pointer, api)
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).json() == order


LINE_ADDRESS = {"firstname": "Noemi", "lastname": "Ullrich", "address1": "2315 Molly Hill", "zipcode": "47546",
                "phone": "(684) 555-8450"}  # fmt: skip


@pytest.mark.parametrize("writing", CARD_WRITINGS)
def test_the_line_item_rule_is_not_bypassed_by_how_a_number_is_written(
    api: TestClient, alice: User, writing: str
) -> None:
    body = {"line_items": [{"variant_id": 33, "quantity": 1}], "ship_address": LINE_ADDRESS, "remarks": writing}
    _refused_at(api.post("/api/v1/orders.json", json=body, headers=alice.headers), "/remarks", api)
    assert api.get("/api/orders.json", headers=alice.headers).json()["orders"] == []


def test_a_zip_code_of_zeros_and_a_long_order_id_are_no_card_numbers(api: TestClient, alice: User) -> None:
    # Issue 18: 19 zeros were refused as "a payment card number", and schemathesis flagged the 400.
    address = {**LINE_ADDRESS, "zipcode": "0000000000000000000"}
    body = {"line_items": [{"variant_id": 33, "quantity": 1}], "ship_address": address,
            "remarks": "re: order 12345678901234567890, paid 1767139200123"}  # fmt: skip
    response = api.post("/api/v1/orders.json", json=body, headers=alice.headers)
    assert response.status_code == 201, response.text
    assert response.json()["ship_address"]["zipcode"] == "0000000000000000000"


def test_a_card_number_in_a_path_reaches_no_journal(api: TestClient) -> None:
    from tests.mock_server.test_shop_checkout import auth, user_key

    api.get("/api/shop/orders/4111.1111.1111.1111", headers=auth(user_key(api)))
    paths = [entry["path"] for entry in _journal(api)]
    assert "/api/shop/orders/411111xxxxxx1111" in paths and not any("1111.1111" in path for path in paths)


def test_card_data_is_refused_with_a_code_of_its_own(api, alice) -> None:
    order_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()["orderId"]
    body = {"orderId": order_id, "ownerId": alice.sub, "basketId": alice.sub, "branchId": "1000",
            "productList": [{"cprcode": 25281, "quantity": 1}],
            "specialComment": "card 4111 1111 1111 1111"}  # fmt: skip
    answer = api.post("/api/order/create", json=body, headers=alice.headers)
    assert answer.status_code == 400 and answer.json()["code"] == "card_data"
    assert "4111" not in answer.text


# 13. kill -9 of one worker of `serve --workers 2` stopped the other: exit 0, no log line, port dark.
# Workers are killed one after another (three, each once its replacement serves): the port answers
# after each, every death is one log line, and SIGTERM still stops the whole service with 0.


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


@pytest.mark.socket
def test_killed_workers_are_replaced_and_the_port_keeps_answering(tmp_path: Path) -> None:
    import signal
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(sys.executable).parent / "villa-contracts"
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        command = [str(script), "serve", "--port", str(port), "--workers", "2", "--db", str(tmp_path / "v.db")]
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # a bound for a broken run, never a speed

    def wait_until(check: Any) -> None:
        while not check():
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)

    def answers() -> bool:
        try:
            return httpx.get(f"{base}/api/health", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    try:
        wait_until(lambda: answers() and len(_children(server.pid)) == 2)
        killed = []
        for _ in range(3):
            victim = min(_children(server.pid))
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)
            said = f"worker {victim} was killed by SIGKILL"  # (", before it served", when killed while starting)
            wait_until(lambda said=said: said in log_path.read_text())
            wait_until(lambda: len(_children(server.pid)) == 2)
            assert all(answers() for _ in range(4))
        assert not set(killed) & _children(server.pid)
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    deaths = [line for line in log_path.read_text().splitlines() if "started in its place" in line]
    assert len(deaths) == 3 and all(f"worker {pid} " in line for pid, line in zip(killed, deaths, strict=True))


# 16. JSON nested 256 to ~990 levels deep was a 500 on every validated operation (the schema
# validator's recursion limit), unauthenticated ones and the admin API included. A body deeper than
# 64 levels is a 400 naming where, before anything recurses into it; Cognito says so in its shape.


def _deep_bodies() -> list[tuple[str, bytes]]:
    return [
        ("array", b"[" * 300 + b"]" * 300),
        ("in a member", b'{"branchId": "1000", "x": ' + b"[" * 990 + b"]" * 990 + b"}"),
        ("past the parser", b"[" * 5000 + b"]" * 5000),
        ("one past the limit", b'{"a": ' + b"[" * 64 + b"]" * 64 + b"}"),
    ]


def _operations_with_a_json_body() -> list[Any]:
    from villa_contracts.contract import load

    return [
        pytest.param(op, id=f"{contract.name}.{op.operation_id}")
        for contract in load()
        for op in contract.operations.values()
        if "application/json" in ((op.spec.get("requestBody") or {}).get("content") or {})
    ]


@pytest.mark.parametrize("operation", _operations_with_a_json_body())
def test_a_body_nested_too_deeply_is_a_400_naming_where(api: TestClient, alice: User, operation: Any) -> None:
    import re

    from villa_contracts.contract import load

    data = load().data
    user = data("users")[0]
    shop_key = api.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
    credentials = {
        "idToken": alice.headers,
        "tokenKey": {"Authorization": f"Token {shop_key.json()['token']}"},
        "gatewayKey": {"X-Gateway-Key": str(data("shop")["gateway_key"])},
        "adminToken": {},
    }
    headers = {"content-type": "application/json"}
    for scheme in operation.schemes:
        headers |= credentials[scheme]
    path = re.sub(r"\{[^}]+\}", "1", operation.path)
    for name, body in _deep_bodies():
        response = api.request(operation.method, path, content=body, headers=headers)
        assert response.status_code == 400, (name, response.text[:300])
        answer = response.json()
        assert "deeper than 64 levels" in answer["error"], (name, answer)
        pointer = answer["details"][0]["pointer"]
        assert pointer == {
            "array": "/0" * 64,
            "in a member": "/x" + "/0" * 63,
            "one past the limit": "/a" + "/0" * 63,
        }.get(name, "/0" * 64), (name, pointer[:80])
    assert api.get("/__admin/journal").json()["mockBugs"] == 0


def test_sixty_four_levels_are_read_as_usual(api: TestClient, alice: User) -> None:
    body = b'{"branchId": "1000", "x": ' + b"[" * 63 + b"]" * 63 + b"}"
    response = api.post(
        "/api/order2/gentele", content=body, headers={**alice.headers, "content-type": "application/json"}
    )
    assert response.status_code == 400 and "deeper than" not in response.text  # the contract's own refusal
    assert "'x'" in response.json()["details"][0]["message"]  # an unexpected member, read as usual


@pytest.mark.parametrize(("name", "body"), _deep_bodies())
def test_a_body_nested_too_deeply_is_a_serialization_exception_on_cognito(
    api: TestClient, name: str, body: bytes
) -> None:
    for target in ("SignUp", "InitiateAuth", "AdminCreateUser"):
        response = api.post(
            "/",
            content=body,
            headers={
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{target}",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        assert response.status_code == 400, response.text
        assert response.json()["__type"] == "SerializationException"
        assert response.headers["x-amzn-ErrorType"] == "SerializationException"
        assert "deeper than 64 levels" in response.json()["message"]


# 15. Redis down: every route, /api/health included, answered a plain-text 500 with a traceback; frozen,
# 10 s a request; restarted empty, health said OK while users and ids were gone. Now a JSON 503 on
# every route (Cognito in AWS's shape) with Retry-After, one log line per change, recovery by itself,
# and a loss said until a reset.

COGNITO_HEADERS = {
    "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
    "Content-Type": "application/x-amz-json-1.1",
}


def _every_kind_of_route(api: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    login = {"AuthFlow": "USER_PASSWORD_AUTH", "ClientId": "x", "AuthParameters": {}}
    return {
        "health": api.get("/api/health"),
        "api": api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers),
        "shop": api.post("/api/shop/auth/token", json={"username": "a", "password": "b"}),
        "admin": api.get("/__admin/clock"),
        "cognito": api.post("/", content=json.dumps(login).encode(), headers=COGNITO_HEADERS),
        "document": api.get("/openapi.json"),
    }


@pytest.mark.socket
def test_a_redis_that_fails_is_a_503_on_every_route_and_recovers_by_itself(
    own_redis: Any, caplog: pytest.LogCaptureFixture
) -> None:
    import time

    from mock_server.storage.redis import RedisStorage

    store = RedisStorage.from_url(own_redis.url, prefix="a:", timeout=0.5, retry_every=0.02, check_every=0)
    with TestClient(create_app(store=store), raise_server_exceptions=False) as api:
        alice = login_user(api, 0)

        def until_it_answers() -> None:
            deadline = time.monotonic() + 60  # a bound for a broken run, never a speed
            while api.get("/__admin/clock").status_code == 503:
                assert time.monotonic() < deadline
                time.sleep(0.01)

        for broken in ("stopped", "frozen"):
            own_redis.stop(save=True) if broken == "stopped" else own_redis.freeze()
            answers = _every_kind_of_route(api, alice.headers)
            own_redis.start() if broken == "stopped" else own_redis.thaw()
            for route, answer in answers.items():
                assert answer.status_code == 503, (broken, route, answer.text)
                assert answer.headers["retry-after"] == "1", (broken, route)
                if route == "cognito":
                    assert answer.json()["__type"] == answer.headers["x-amzn-errortype"] == "ServiceUnavailable"
                else:
                    assert answer.json()["code"] == "store_unavailable" and "Redis store" in answer.json()["error"]
            until_it_answers()
            assert _every_kind_of_route(api, alice.headers)["api"].status_code == 200  # no restart of the mock

        own_redis.stop(save=False)  # back, but empty
        own_redis.start()
        until_it_answers()
        lost = _every_kind_of_route(api, alice.headers)
        for route in ("health", "api", "shop", "cognito"):
            assert lost[route].status_code == 503 and "retry-after" not in lost[route].headers, route
        assert lost["health"].json()["code"] == "store_lost" and "POST /__admin/reset" in lost["health"].json()["error"]
        assert lost["admin"].status_code == 200  # the way back stays open
        assert api.post("/__admin/reset").status_code == 200
        assert api.get("/api/health").status_code == 200
        again = login_user(api, 0)
        assert api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=again.headers).status_code == 200
        assert api.get("/__admin/journal").json()["mockBugs"] == 0
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("villa_contracts.mock")]
    # Stopped, frozen; then restarted empty while nothing asked (a reconnection, no outage seen), reset.
    changes = ["does not answer", "answers again", "does not answer", "answers again", "lost its data", "was reset"]
    assert [next(c for c in changes if c in line) for line in lines] == changes, lines
    assert not any(r.exc_info for r in caplog.records)


class _FailingStore(MemoryStorage):
    """A store that starts failing midway through requests (after the guard's look at it)."""

    failing = False

    def next_sequence(self, name: str) -> int:
        if self.failing:
            raise StoreUnavailable("the test store does not answer", retry_after=2)
        return super().next_sequence(name)

    def insert(self, kind: str, key: str, value: dict[str, Any]) -> bool:
        if self.failing:
            raise StoreBusy("the test store stayed locked", retry_after=3)
        return super().insert(kind, key, value)


def test_a_store_failing_midway_is_a_503_on_api_and_cognito_never_a_mock_bug() -> None:
    store = _FailingStore()
    with TestClient(create_app(store=store)) as api:
        alice = login_user(api, 0)
        store.failing = True
        issued = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers)
        assert issued.status_code == 503 and issued.headers["retry-after"] == "2"
        assert issued.json() == {"error": "the test store does not answer", "code": "store_unavailable", "details": []}
        pool = api.get("/__admin/cognito").json()
        body = {"ClientId": pool["clientId"], "Username": "n@villa.example", "Password": "Passw0rd!x",
                "SecretHash": secret_hash(pool["clientSecret"], "n@villa.example", pool["clientId"])}  # fmt: skip
        headers = {**COGNITO_HEADERS, "X-Amz-Target": "AWSCognitoIdentityProviderService.SignUp"}
        signup = api.post("/", content=json.dumps(body).encode(), headers=headers)
        assert signup.status_code == 503 and signup.headers["retry-after"] == "3", signup.text
        assert signup.json()["__type"] == "ServiceUnavailable"
        store.failing = False
        journal = api.get("/__admin/journal").json()
        assert journal["mockBugs"] == 0 and 503 in [e["status"] for e in journal["entries"]]


# 14. Slow clients starved everyone: ~1,100 connections trickling a body byte every 2 s made every
# other client's request a 503 (each byte restarted the read timer; past 1,000 connections uvicorn
# refused every newcomer). Here, with small limits: slow and idle connections in their dozens, past
# the connection limit; a normal client is served every time, and every slow connection ends.


@pytest.mark.socket
def test_slow_and_idle_connections_never_keep_a_normal_client_out() -> None:
    import select
    import socket

    import httpx

    from mock_server.runner import Limits, serve_in_thread

    def build(url: str) -> Any:
        app = create_app(base_url=url)  # its own guard, behind one with small deadlines
        return Guard(app, state=app.state.mock, read_timeout=0.5, body_timeout=1.0)

    with serve_in_thread(build, limits=Limits(head_timeout=1.0, max_connections=16)) as server:
        head = (
            b"POST /api/shop/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"
        )
        slow = [socket.create_connection((server.host, server.port), timeout=60) for _ in range(30)]
        idle = [socket.create_connection((server.host, server.port), timeout=60) for _ in range(10)]
        try:
            for sock in slow:
                sock.sendall(head)
            user = load().data("users")[0]
            with httpx.Client(base_url=server.base_url, timeout=60) as kept:
                for index in range(10):
                    for sock in slow:  # a byte each, again and again
                        try:
                            sock.sendall(b" ")
                        except OSError:
                            pass  # already answered and closed
                    client = kept if index % 2 else httpx.Client(base_url=server.base_url, timeout=60)
                    assert client.get("/api/health").status_code == 200
                    body = {"username": user["username"], "password": user["password"]}
                    assert client.post("/api/shop/auth/token", json=body).status_code == 200
                    if client is not kept:
                        client.close()
            ended: set[socket.socket] = set()
            while len(ended) < len(slow) + len(idle):  # every one is answered or closed, in the end
                ready, _, _ = select.select([s for s in slow + idle if s not in ended], [], [], 60)
                assert ready, "a slow connection was never ended"
                for sock in ready:
                    try:
                        answer = sock.recv(65536)
                    except ConnectionResetError:
                        answer = b""
                    if answer:
                        assert answer.startswith((b"HTTP/1.1 408", b"HTTP/1.1 503")), answer[:80]
                    else:
                        ended.add(sock)
        finally:
            for sock in slow + idle:
                sock.close()
