"""The pricing requests an order document makes: ``calculateGrandtotal`` and ``getCost`` bodies.

The shapes are the contract's (``GrandTotalRequest``, ``GetCostRequest``); this module only maps an
order document's fields onto them, and says when getCost can price the same delivery as the order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from villa_contracts.domain.money import to_decimal, to_satang

_GET_COST_MODES = ("EXPRESS", "NATIONWIDE")


def thb(value: Any) -> Decimal:
    """Read an amount in THB as a 2-place Decimal.

    Args:
        value: a number, Decimal or decimal string with at most 2 decimals.

    Returns:
        The amount.

    Raises:
        UsageError: not an amount to the satang.

    """
    return to_decimal(to_satang(value))


def grand_total_request(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Build the ``calculateGrandtotal`` body (contract ``GrandTotalRequest``) for an order document.

    Args:
        doc: a schema-valid order document with ``branchId`` and ``productList``.

    Returns:
        The request body.

    """
    body: dict[str, Any] = {
        "branchId": doc["branchId"],
        "productList": [{"cprcode": p["cprcode"], "quantity": p["quantity"]} for p in doc["productList"]],
    }
    if "ownerId" in doc:
        body["ownerId"] = doc["ownerId"]
    shipping = doc.get("shipping")
    if isinstance(shipping, dict):
        converted: dict[str, Any] = {
            "scheduleList": list(shipping.get("scheduleList") or []),
            "shippingAddress": shipping.get("shippingAddress", ""),
            "shippingPostcode": shipping.get("shippingPostcode", ""),
            "shippingLat": shipping.get("shippingLat", 0),
            "shippingLon": shipping.get("shippingLon", 0),
            "shippingPhone": shipping.get("shippingPhone"),
        }
        for key in ("shippingEmail", "shippingType"):
            if key in shipping:
                converted[key] = shipping[key]
        body["shipping"] = converted
    if "couponCodeList" in doc:
        body["couponCodeList"] = list(doc["couponCodeList"])
    return body


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not float(value).is_integer():
        return None
    return int(value)


def get_cost_shipping(shipping: Any) -> dict[str, Any] | None:
    """Convert the order's shipping to ``getCost`` terms, or None when getCost cannot express its schedules.

    getCost knows the modes NATIONWIDE, EXPRESS and PICKUP only: regular and pre-order schedules
    cannot be sent (getCost then charges its default, one regular delivery).

    Args:
        shipping: the order's ``shipping``.

    Returns:
        The getCost ``shipping``, or None.

    """
    if not isinstance(shipping, dict):
        return None
    if shipping.get("shippingType") == "PICKUP":
        return {"shippingType": "PICKUP", "scheduleList": [{"mode": "PICKUP"}]}
    schedules = shipping.get("scheduleList") or []
    mapped: list[dict[str, Any]] = []
    for schedule in schedules:
        if schedule.get("mode") not in _GET_COST_MODES or schedule.get("preOrder"):
            return None
        entry: dict[str, Any] = {"mode": schedule["mode"]}
        if _integer(schedule.get("scheduleId")) is not None:
            entry["scheduleId"] = _integer(schedule["scheduleId"])
        if isinstance(schedule.get("dateTime"), str):
            entry["dateTime"] = schedule["dateTime"]
        mapped.append(entry)
    if not mapped:
        return None
    out: dict[str, Any] = {"shippingType": "DELIVERY", "scheduleList": mapped}
    for key in ("shippingLat", "shippingLon"):
        if key in shipping:
            out[key] = shipping[key]
    return out


def default_delivery(shipping: Any) -> bool:
    """Whether the order's delivery is what getCost charges without shipping: one regular delivery."""
    if not isinstance(shipping, dict):
        return True
    schedules = shipping.get("scheduleList") or []
    if shipping.get("shippingType") == "PICKUP" or len(schedules) > 1:
        return False
    return all((s.get("mode") or "REGULAR") == "REGULAR" and not s.get("preOrder") for s in schedules)


def get_cost_request(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Build the ``getCost`` body (contract ``GetCostRequest``) for an order document.

    Args:
        doc: a schema-valid order document with ``branchId`` and ``productList``.

    Returns:
        The request body.

    """
    products = []
    for item in doc["productList"]:
        product: dict[str, Any] = {
            "cprcode": item["cprcode"],
            "productName": item.get("productName") or "",
            "quantity": item["quantity"],
        }
        if _integer(item.get("scheduleId")) is not None:
            product["scheduleId"] = _integer(item["scheduleId"])
        if isinstance(item.get("isPreOrder"), bool):
            product["isPreOrder"] = item["isPreOrder"]
        products.append(product)
    body: dict[str, Any] = {"branchId": doc["branchId"], "productList": products}
    shipping = get_cost_shipping(doc.get("shipping"))
    if shipping is not None:
        body["shipping"] = shipping
    if "couponCodeList" in doc:
        body["couponCodeList"] = list(doc["couponCodeList"])
    return body
