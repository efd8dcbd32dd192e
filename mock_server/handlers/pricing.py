"""Pre-payment pricing: calculateGrandtotal and getCost, from the catalog only.

Pricing computes a price and reveals nothing, so it does not refuse a document for its ``ownerId``
(the SDK manual's ``validate pre-payment --file goodSample.json`` prices someone else's sample).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from villa_contracts.domain.pricing import cost_json, grand_total_json, price_cart

if TYPE_CHECKING:
    from mock_server.dispatch import Call


def calculate_grandtotal(call: Call) -> tuple[int, Any]:
    """``POST /api/webPayment/calculateGrandtotal``."""
    body = call.body
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
