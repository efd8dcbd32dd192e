"""Pricing to the satang, from the catalog only (client-sent prices are never read).

The rules of the real pricing code (VILLA_FACTS.md):
``rowTotal = settlementPrice = price × quantity``; ``subTotal = Σ rowTotal``;
``grandTotal = subTotal + deliveryFee − cartDiscount − couponDiscount``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, to_json


@dataclass(frozen=True, slots=True)
class Line:
    """One priced product line."""

    cprcode: int
    product_name: str
    quantity: int
    original_price: Satang
    price: Satang
    settlement_price: Satang
    discount: Satang
    row_total: Satang


@dataclass(frozen=True, slots=True)
class Quote:
    """What the backend charges for a cart."""

    branch_id: str
    lines: tuple[Line, ...]
    subtotal: Satang
    delivery_fee: Satang
    cart_discount: Satang
    coupon_discount: Satang
    grand_total: Satang
    coupon_codes: tuple[str, ...]


MAX_QUANTITY = 9999
"""The most units of one product a line may hold (the contract's ``Quantity``)."""
_ASCII_CODE = re.compile(r"[0-9]{1,9}")


def _cprcode(raw: Any, pointer: str) -> int:
    # ASCII digits only: str.isdigit() accepts "²" (and int() then fails) and int() reads Arabic-Indic
    # digits as if they were ASCII ones.
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 10**9:
        return raw
    if isinstance(raw, float) and raw.is_integer() and 0 < raw < 10**9:
        return int(raw)
    if isinstance(raw, str) and _ASCII_CODE.fullmatch(raw):
        return int(raw)
    shown = repr(raw) if len(repr(raw)) <= 40 else repr(raw)[:40] + "…"
    raise RuleViolation("not_found", f"cprcode={shown} is not a product code", pointer, rule="catalog")


def _quantity(raw: Any, pointer: str) -> int:
    whole = isinstance(raw, int) and not isinstance(raw, bool)
    whole |= isinstance(raw, float) and math.isfinite(raw) and raw.is_integer()
    if not whole:
        raise RuleViolation("invalid", f"quantity={raw!r} is not a whole number of units", pointer, rule="catalog")
    if not 1 <= raw <= MAX_QUANTITY:
        shown = int(raw) if abs(raw) < 10**12 else f"{raw:.3g}"
        raise RuleViolation("conflict", f"quantity={shown} must be from 1 to {MAX_QUANTITY}", pointer, rule="catalog")
    return int(raw)


def delivery_fee(data: BusinessData, shipping: Mapping[str, Any] | None) -> Satang:
    """The delivery fee of an order's shipping.

    One regular delivery when there is no shipping or no schedule; nothing for PICKUP; otherwise
    the sum over schedules of the fee of each schedule's mode (pre-order schedules cost the
    pre-order fee). Client-sent ``deliveryFee`` values are ignored.
    """
    regular = data.delivery_fees["REGULAR"]
    if not shipping:
        return regular
    if shipping.get("shippingType") == "PICKUP":
        return data.pickup_fee
    schedules = shipping.get("scheduleList") or []
    if not schedules:
        return regular
    total = 0
    for schedule in schedules:
        schedule = schedule if isinstance(schedule, Mapping) else {}
        mode = schedule.get("mode") or "REGULAR"
        if schedule.get("preOrder"):
            total += data.preorder_fee
        elif mode == "PICKUP":
            total += data.pickup_fee
        else:
            total += data.delivery_fees.get(str(mode), regular)
    return total


def price_cart(
    data: BusinessData,
    branch_id: str,
    products: Sequence[Mapping[str, Any]],
    *,
    shipping: Mapping[str, Any] | None = None,
    coupon_codes: Sequence[str] = (),
    products_pointer: str = "/productList",
) -> Quote:
    """Price ``products`` (each with ``cprcode`` and ``quantity``) at ``branch_id``.

    Raises:
        RuleViolation: unknown branch, product not sold at the branch, unknown coupon
            (kind ``not_found``, with the JSON pointer of the field at fault).
    """
    if branch_id not in data.branches:
        known = ", ".join(sorted(data.branches))
        raise RuleViolation(
            "not_found", f"no branch {branch_id!r} (known branches: {known})", "/branchId", rule="catalog"
        )
    lines = []
    for index, item in enumerate(products):
        pointer = f"{products_pointer}/{index}"
        code = _cprcode(item.get("cprcode"), f"{pointer}/cprcode")
        product = data.products.get(code)
        offer = product.offers.get(branch_id) if product else None
        if product is None or offer is None:
            raise RuleViolation(
                "not_found", f"product {code} is not sold at branch {branch_id}", f"{pointer}/cprcode", rule="catalog"
            )
        quantity = _quantity(item.get("quantity", 0), f"{pointer}/quantity")
        settlement = offer.price * quantity
        lines.append(Line(code, product.name, quantity, offer.original_price, offer.price, settlement, 0, settlement))
    subtotal = sum(line.row_total for line in lines)
    fee = delivery_fee(data, shipping)
    codes: list[str] = []
    coupon_discount = 0
    for index, coupon_code in enumerate(coupon_codes):
        coupon = data.coupons.get(coupon_code)
        if coupon is None:
            raise RuleViolation("not_found", f"no coupon {coupon_code!r}", f"/couponCodeList/{index}", rule="catalog")
        if coupon_code in codes:
            continue
        codes.append(coupon_code)
        if subtotal >= coupon.min_subtotal:
            coupon_discount += coupon.amount
    cart_discount = 0
    coupon_discount = min(coupon_discount, subtotal)
    grand = subtotal + fee - cart_discount - coupon_discount
    return Quote(branch_id, tuple(lines), subtotal, fee, cart_discount, coupon_discount, grand, tuple(codes))


def _line_json(line: Line) -> dict[str, Any]:
    """What both pricing answers say of a line: the product, its quantity and its prices."""
    return {
        "cprcode": line.cprcode,
        "productName": line.product_name,
        "quantity": line.quantity,
        "originalPrice": to_json(line.original_price),
        "price": to_json(line.price),
        "settlementPrice": to_json(line.settlement_price),
    }


def grand_total_json(quote: Quote) -> dict[str, Any]:
    """The ``calculateGrandtotal`` answer for a quote."""
    return {
        "branchId": quote.branch_id,
        "currency": "THB",
        "productList": [
            {**_line_json(line), "discount": to_json(line.discount), "rowTotal": to_json(line.row_total)}
            for line in quote.lines
        ],
        "subTotal": to_json(quote.subtotal),
        "deliveryFee": to_json(quote.delivery_fee),
        "cartDiscount": to_json(quote.cart_discount),
        "couponDiscount": to_json(quote.coupon_discount),
        "grandTotal": to_json(quote.grand_total),
        "couponCodeList": list(quote.coupon_codes),
    }


def cost_json(quote: Quote, products: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The ``getCost`` answer for a quote (coupon discount spread onto lines is not modelled: 0)."""
    out = []
    for line, item in zip(quote.lines, products, strict=True):
        row = {**_line_json(line), "discountFromCoupon": 0.0, "isPreOrder": bool(item.get("isPreOrder", False))}
        if isinstance(item.get("scheduleId"), int) and not isinstance(item.get("scheduleId"), bool):
            row["scheduleId"] = item["scheduleId"]
        out.append(row)
    return {
        "branchId": quote.branch_id,
        "productList": out,
        "deliveryFee": to_json(quote.delivery_fee),
        "cartDiscount": to_json(quote.cart_discount + quote.coupon_discount),
        "cartDiscountInfo": [{"couponCode": c} for c in quote.coupon_codes],
        "couponCodeList": list(quote.coupon_codes),
        "subTotal": to_json(quote.subtotal),
        "grandTotal": to_json(quote.grand_total),
    }
