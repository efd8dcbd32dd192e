"""Pre-payment pricing: calculateGrandtotal and getCost, from the catalog only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.errors import Forbidden
from villa_contracts.domain.pricing import cost_json, grand_total_json, price_cart

if TYPE_CHECKING:
    from mock_server.dispatch import Call


def calculate_grandtotal(call: Call) -> tuple[int, Any]:
    """``POST /api/webPayment/calculateGrandtotal``."""
    body = call.body
    if "ownerId" in body and body["ownerId"] != call.sub:
        raise Forbidden(
            "ownerId must equal the sub of the caller's ID token",
            [{"pointer": "/ownerId", "message": f"ownerId={body['ownerId']!r} is not the caller's sub"}],
        )
    quote = price_cart(
        call.state.data,
        body["branchId"],
        body["productList"],
        shipping=body.get("shipping"),
        coupon_codes=body.get("couponCodeList") or [],
    )
    return 200, grand_total_json(quote)


def get_cost(call: Call) -> tuple[int, Any]:
    """``POST /api/calculateCost/getCost``."""
    body = call.body
    quote = price_cart(
        call.state.data,
        body["branchId"],
        body["productList"],
        shipping=body.get("shipping"),
        coupon_codes=body.get("couponCodeList") or [],
    )
    return 200, cost_json(quote, body["productList"])
