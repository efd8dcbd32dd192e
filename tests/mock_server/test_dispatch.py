"""Bad input gets a clear JSON 4xx; nothing half-written; responses are checked before they leave."""

from __future__ import annotations

import pytest

from tests.fixtures.mock import new_order

SECURED = ["/api/order2/gentele", "/api/order/get", "/api/order/create", "/api/webPayment/calculateGrandtotal"]


@pytest.mark.parametrize("path", SECURED)
def test_no_token_is_401(api, path) -> None:
    response = api.post(path, json={"branchId": "1000"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_bare_token_is_accepted_like_bearer(api, alice) -> None:
    headers = {"Authorization": alice.id_token}
    assert api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"", {"Content-Type": "application/json"}, 400),
        (b'{"orderId": NaN}', {"Content-Type": "application/json"}, 400),
        (b"orderId=1", {"Content-Type": "text/plain"}, 415),
        (b"[" * 100_000 + b"]" * 100_000, {"Content-Type": "application/json"}, 400),
        (b'{"orderId": "' + b"x" * (1024 * 1024 + 10) + b'"}', {"Content-Type": "application/json"}, 413),
    ],
)
def test_malformed_bodies_get_json_errors(api, alice, content, headers, status) -> None:
    response = api.post("/api/order/get", content=content, headers={**alice.headers, **headers})
    assert response.status_code == status
    assert set(response.json()) == {"error", "code", "details"}


def test_violations_are_listed_with_pointers(api, alice) -> None:
    body = {"orderId": 1234, "ownerId": alice.sub, "basketId": alice.sub, "shipping": {"shippingAddress": "x"}}
    response = api.post("/api/order/create", json=body, headers=alice.headers)
    assert response.status_code == 400
    pointers = sorted(d["pointer"] for d in response.json()["details"])
    assert pointers == ["/orderId", "/shipping", "/shipping", "/shipping"]


def test_unknown_path_and_wrong_method_are_json(api, alice) -> None:
    assert api.get("/api/nothing").json()["code"] == "not_found"
    wrong = api.get("/api/order/get", headers=alice.headers)
    assert wrong.status_code == 405 and "POST" in wrong.headers["allow"]


def test_a_failed_create_leaves_nothing_behind(api, alice) -> None:
    order_id = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()["orderId"]
    body = {
        "orderId": order_id,
        "ownerId": alice.sub,
        "basketId": alice.sub,
        "productList": [{"cprcode": 25281, "quantity": 1}, {"cprcode": 1, "quantity": 1}],
    }
    assert api.post("/api/order/create", json=body, headers=alice.headers).status_code == 404
    assert api.post("/api/order/get", json={"orderId": order_id}, headers=alice.headers).status_code == 404
    body["productList"].pop()
    assert api.post("/api/order/create", json=body, headers=alice.headers).status_code == 200


def test_journal_records_validation_outcomes_without_bodies(api, alice) -> None:
    api.post("/api/order/get", json={"orderId": 5}, headers=alice.headers)
    entries = api.get("/__admin/journal").json()["entries"]
    last = entries[-1]
    assert last["operationId"] == "getOrder" and last["status"] == 400
    assert last["requestViolations"][0]["pointer"] == "/orderId"
    assert alice.id_token not in str(entries)


def test_a_response_that_breaks_the_contract_is_a_loud_mock_bug(api, alice) -> None:
    from starlette.testclient import TestClient

    from mock_server.app import create_app
    from mock_server.handlers import handlers_of

    order = new_order(api, alice)
    broken_handlers = {
        **handlers_of(),
        "villa": {**handlers_of()["villa"], "getOrder": lambda call: (200, {"orderId": 1})},
    }
    with TestClient(create_app(handlers=broken_handlers)) as broken:
        token = broken.post(f"/__admin/users/{alice.username}/tokens").json()["IdToken"]
        response = broken.post(
            "/api/order/get", json={"orderId": order["orderId"]}, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 500 and response.json()["code"] == "mock_bug"
        assert broken.get("/__admin/journal").json()["mockBugs"] == 1


def test_expired_token_after_clock_advance(api, alice, clock) -> None:
    assert api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).status_code == 200
    api.post("/__admin/clock", json={"advanceSeconds": 3601})
    response = api.post("/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_a_credential_header_repeated_in_another_case_is_refused_though_the_request_has_one_name_less() -> None:
    from mock_server.dispatch import refuse_repeated_credentials
    from mock_server.errors import Unauthorized
    from mock_server.guard import header_map

    scope = {"headers": [(b"Authorization", b"Bearer a"), (b"authorization", b"Bearer b"), (b"accept", b"*/*")]}
    with pytest.raises(Unauthorized, match="2 Authorization headers"):
        refuse_repeated_credentials(scope, frozenset({"authorization"}), header_map(scope))
    once = {"headers": [(b"authorization", b"Bearer a"), (b"accept", b"*/*")]}
    refuse_repeated_credentials(once, frozenset({"authorization"}), header_map(once))  # nothing repeats


def test_a_query_parameter_an_operation_does_not_take_is_refused(api, alice) -> None:
    order = new_order(api, alice)
    answer = api.post("/api/order/get?debug=1", json={"orderId": order["orderId"]}, headers=alice.headers)
    assert answer.status_code == 400 and "unknown query parameter 'debug'" in answer.json()["error"]
    assert api.post("/api/order/get", json={"orderId": order["orderId"]}, headers=alice.headers).status_code == 200
