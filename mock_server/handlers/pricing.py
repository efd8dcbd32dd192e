"""Pre-payment pricing: calculateGrandtotal and getCost, from the catalog only.

Pricing computes a price and reveals nothing, so it does not refuse a document for its ``ownerId``
(the SDK manual's ``validate pre-payment --file goodSample.json`` prices someone else's sample).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from villa_contracts.domain.pricing import Quote, cost_json, grand_total_json, price_cart

if TYPE_CHECKING:
    from collections.abc import Mapping

    from mock_server.dispatch import Call
    from villa_contracts.domain.catalog import BusinessData


def calculate_grandtotal(call: Call) -> tuple[int, Any]:
    """``POST /api/webPayment/calculateGrandtotal``."""
    return 200, grand_total_json(_quote(call.state.data, call.body))


def get_cost(call: Call) -> tuple[int, Any]:
    """``POST /api/calculateCost/getCost``."""
    return 200, cost_json(_quote(call.state.data, call.body), call.body["productList"])


def _quote(data: BusinessData, body: Mapping[str, Any]) -> Quote:
    """The cart of a pricing request (``branchId``, ``productList``, ``shipping``, ``couponCodeList``) priced."""
    return price_cart(
        data,
        body["branchId"],
        body["productList"],
        shipping=body.get("shipping"),
        coupon_codes=body.get("couponCodeList") or [],
    )
