"""The order lifecycle: ids, server-priced documents, stock needs, and the move to paid."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Mapping
from typing import Any

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_json
from villa_contracts.domain.pricing import Quote, price_cart

PAYMENT_PENDING = "PENDING"
PAYMENT_PAID = "PAID"
CARD_METHOD = "Credit/Debit Card"
MAX_SEQUENCE = 999_999


def order_id(branch_id: str, year: int, sequence: int) -> str:
    """A 12-digit order id: branch (4 digits), year (2), sequence (6).

    Raises:
        RuleViolation: the branch id is not 4 digits, or the year's sequence is used up.
    """
    if not (len(branch_id) == 4 and branch_id.isdigit()):
        raise RuleViolation("not_found", f"branchId={branch_id!r} is not a 4-digit branch id", "/branchId")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise RuleViolation("conflict", f"branch {branch_id} has used all {MAX_SEQUENCE} order ids of {year}")
    return f"{branch_id}{year % 100:02d}{sequence:06d}"


def is_paid(order: Mapping[str, Any]) -> bool:
    """Whether the stored order is paid."""
    payment = order.get("payment") or {}
    return bool(payment.get("isPaid")) or payment.get("status") == PAYMENT_PAID


def stock_needs(order: Mapping[str, Any] | None) -> Counter[int]:
    """Units per cprcode an order holds (what its stock reservation is)."""
    needs: Counter[int] = Counter()
    for item in (order or {}).get("productList") or []:
        needs[int(item["cprcode"])] += int(item["quantity"])
    return needs


def check_stock(data: BusinessData, branch_id: str, wanted: Counter[int], reserved: Mapping[int, int]) -> None:
    """Raise unless the branch's stock can hold ``wanted`` besides what other orders hold.

    Args:
        data: the catalog.
        branch_id: the branch whose stock is checked.
        wanted: units per cprcode the order will hold.
        reserved: units per cprcode already held by other orders at the branch.
    """
    for code, units in wanted.items():
        stock = data.products[code].offers[branch_id].stock
        free = stock - reserved.get(code, 0)
        if units > free:
            raise RuleViolation(
                "conflict", f"product {code} is out of stock at branch {branch_id}: {units} wanted, {free} left"
            )


def priced_document(
    data: BusinessData, body: Mapping[str, Any], *, branch_id: str, previous: Mapping[str, Any] | None, now: float
) -> tuple[dict[str, Any], Quote]:
    """The order document as the backend stores it: the client's fields, the backend's prices and payment.

    ``payment`` and ``orderDate`` are the backend's: kept from ``previous`` on update, new on create.
    """
    doc = copy.deepcopy(dict(body))
    doc["branchId"] = branch_id
    products = doc.get("productList") or []
    shipping = doc.get("shipping")
    quote = price_cart(data, branch_id, products, shipping=shipping, coupon_codes=doc.get("couponCodeList") or [])
    for item, line in zip(products, quote.lines, strict=True):
        item.update(
            cprcode=line.cprcode,
            quantity=line.quantity,
            productName=line.product_name,
            originalPrice=to_json(line.original_price),
            price=to_json(line.price),
            settlementPrice=to_json(line.settlement_price),
            discount=to_json(line.discount),
            rowTotal=to_json(line.row_total),
        )
    doc["productList"] = products
    doc["orderDate"] = previous["orderDate"] if previous and "orderDate" in previous else now
    payment = dict((previous or {}).get("payment") or {})
    payment.update(
        paymentId=doc["orderId"],
        subTotal=to_json(quote.subtotal),
        shippingAmount=to_json(quote.delivery_fee),
        discountAmount=to_json(quote.cart_discount + quote.coupon_discount),
        grandTotal=to_json(quote.grand_total),
    )
    payment.setdefault("status", PAYMENT_PENDING)
    payment.setdefault("isPaid", False)
    payment.setdefault("totalPaid", 0)
    payment.setdefault("paymentMethod", None)
    payment.setdefault("paymentDate", None)
    payment.setdefault("paymentLog", [])
    doc["payment"] = payment
    return doc, quote


def grand_total(order: Mapping[str, Any]) -> Satang:
    """The stored grand total in satang."""
    from villa_contracts.domain.money import to_satang

    return to_satang((order.get("payment") or {}).get("grandTotal", 0))


def mark_paid(order: Mapping[str, Any], *, charge_id: str, masked_card: str, now: float) -> dict[str, Any]:
    """The order after an Authorized card charge of its grand total settled it."""
    doc = copy.deepcopy(dict(order))
    payment = dict(doc.get("payment") or {})
    total = grand_total(doc)
    payment.update(
        isPaid=True,
        status=PAYMENT_PAID,
        totalPaid=to_json(total),
        paymentDate=now,
        paymentMethod=CARD_METHOD,
        gbpReferenceNo=charge_id,
        timestamp=now,
    )
    payment["paymentLog"] = [*payment.get("paymentLog", []), f"{charge_id} Authorized {fmt(total)} THB {masked_card}"]
    doc["payment"] = payment
    return doc
