"""The line-item API on hand-made exchanges: the gate's checks with the request's query, and the oracle's memory."""

from __future__ import annotations

import base64
import json
from typing import Any

from suites.proxy.exchange import Exchange
from suites.proxy.judge import TrafficJudge
from suites.proxy.lineitems_oracle import order_id_of
from villa_contracts.contract import load

ALICE, BOB = "7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11", "2f9e4b7a-6c1d-4e83-a5b0-9d3c7e1f4a22"
JUDGED = {"reference_once", "ownership", "li_filters", "li_money", "li_states"}


def id_token(sub: str) -> str:
    """An unsigned token with a ``sub`` (the proxy decodes, never verifies)."""
    part = base64.urlsafe_b64encode(json.dumps({"sub": sub}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{part}.c2ln"


class LineItems:
    """A judge of the line-item contract, and the exchanges of a session with it."""

    def __init__(self) -> None:
        self.judge = TrafficJudge(load(), ["lineitems"])

    def send(
        self,
        op: str,
        body: Any = None,
        answer: Any = None,
        status: int = 200,
        *,
        who: str = ALICE,
        query: str = "",
        **params: Any,
    ) -> dict[str, list[str]]:
        """Judge one exchange; answers what the checks decided (check → messages of its failures)."""
        operation = load()["lineitems"].operation(op)
        headers = [("authorization", f"Bearer {id_token(who)}"), ("content-type", "application/json")]
        pairs = tuple(tuple(pair.split("=", 1)) for pair in query.split("&") if pair)
        verdict = self.judge.judge(
            Exchange(
                method=operation.method,
                path=operation.path.format(**params),
                query=pairs,  # type: ignore[arg-type]
                request_headers=tuple(headers),
                request_body=json.dumps(body).encode() if body is not None else b"",
                status=status,
                response_headers=(("content-type", "application/json"),),
                response_body=json.dumps(answer if answer is not None else {}).encode(),
            )
        )
        found: dict[str, list[str]] = {}
        for check, findings in verdict.judged:
            if check in JUDGED:
                found.setdefault(check, [])
                found[check] += [f.message for f in findings if not f.warning]
        return found


def order(order_id: int, state: str = "payment") -> dict[str, Any]:
    """A consistent order of one $50 variant (no shipping fee), in ``state``."""
    return {
        "id": order_id, "state": state, "all_paid": state == "completed",
        "display_item_total": "$50", "item_total": 50.0, "item_total_cents": 5000,
        "display_ship_total": "$0", "ship_total": 0.0, "ship_total_cents": 0,
        "display_total": "$50", "total": 50.0, "total_cents": 5000, "remarks": None,
        "ship_address": {"firstname": "N", "lastname": "U", "full_name": "N U", "address1": "a", "address2": None,
                         "zipcode": "47546", "phone": "1"},
        "line_items": [{"quantity": 1, "variant": {
            "id": 33, "options_text": "", "stocks_count": 99, "display_price": "$50", "price": 50.0,
            "price_cents": 5000, "merchant": {"name": "Considine-Ryan", "avatar": {"url": "u", "medium_url": "m",
                                                                                   "thumb_url": "t"}},
            "images": [{"url": "u", "medium_url": "m", "thumb_url": "t"}]}}],
        "shipping_fee_items": [{"merchant": "Considine-Ryan", "display_shipping_fee": "$0", "shipping_fee": 0.0,
                                "shipping_fee_cents": 0}],
    }  # fmt: skip


def failed(found: dict[str, list[str]]) -> set[str]:
    return {check for check, messages in found.items() if messages}


def test_the_order_id_of_a_payment_is_read_from_its_path() -> None:
    assert order_id_of("/api/orders/8/payments") == 8
    assert order_id_of("/api/orders.json") is None


def test_a_reference_id_seen_paying_pays_nothing_again() -> None:
    api = LineItems()
    api.send("createLineItemOrder", {}, order(1), 201)
    api.send("createLineItemOrder", {}, order(2), 201)
    first = api.send("payLineItemOrder", {"reference_id": "PAYID-5000-a"}, order(1, "completed"), 201, id=1)
    assert first["reference_once"] == []  # never seen paying: judged, and it held
    refused = api.send("payLineItemOrder", {"reference_id": "PAYID-5000-a"}, {"error": "paid already"}, 409, id=2)
    assert refused["reference_once"] == []
    again = api.send("payLineItemOrder", {"reference_id": "PAYID-5000-a"}, order(2, "completed"), 201, id=2)
    assert failed(again) == {"reference_once"} and "has paid already (order 1)" in again["reference_once"][0]


def test_an_order_answered_to_one_caller_is_not_paid_by_another() -> None:
    api = LineItems()
    api.send("createLineItemOrder", {}, order(3), 201)
    assert api.send("payLineItemOrder", {"reference_id": "PAYID-5000-b"}, {"error": "no"}, 404, who=BOB, id=3) == {
        "ownership": []
    }
    paid = api.send("payLineItemOrder", {"reference_id": "PAYID-5000-c"}, order(3, "completed"), 201, who=BOB, id=3)
    assert failed(paid) == {"ownership"}


def test_the_gates_filter_check_reads_the_requests_query() -> None:
    api = LineItems()
    page = {"total_pages": 1, "orders": [order(4, "completed")]}
    assert failed(api.send("listLineItemOrdersJson", answer=page, query="type=not_completed")) == {"li_filters"}
    assert failed(api.send("listLineItemOrdersJson", answer=page, query="type=completed")) == set()
    assert failed(api.send("listLineItemOrders", answer={"total_pages": 1, "orders": []}, query="page=1")) == {
        "li_filters"
    }
