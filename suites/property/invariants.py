"""Invariants of answered documents: what is wrong with an order, a pricing or a paid order, whatever the target.

Pure functions over JSON values (no I/O, no state), shared by the state machine (with the model's
exact quote when it has one), the Schemathesis business checks and the proxy. Each returns the
``Problem``s it found, named after the invariant at stake; amounts are compared in integer satang.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.pricing import Quote
from villa_contracts.errors import UsageError


@dataclass(frozen=True, slots=True)
class Problem:
    """A difference between an answer and what must hold."""

    check: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.check}: expected {self.expected}, got {self.got}"


def money(value: object) -> Satang | None:
    """An answered amount (a JSON number, as the contract's ``Money``) in satang; None when it is not one."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return to_satang(value)
    except UsageError:
        return None


def _show(value: Satang | None) -> str:
    return "not an amount" if value is None else fmt(value)


def row_problems(lines: Any, row_key: str = "rowTotal") -> list[Problem]:
    """Each product line's ``row_key`` is ``price × quantity`` (to the satang)."""
    problems: list[Problem] = []
    for index, item in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(item, Mapping) or row_key not in item or "price" not in item:
            continue
        price, row, quantity = money(item.get("price")), money(item.get(row_key)), item.get("quantity")
        if price is None or row is None or isinstance(quantity, bool) or not isinstance(quantity, int):
            problems.append(Problem("grand_total", f"productList/{index}: amounts and a whole quantity", repr(item)))
        elif row != price * quantity:
            problems.append(
                Problem(
                    "grand_total",
                    f"productList/{index}: {row_key} = {fmt(price)} × {quantity} = {fmt(price * quantity)}",
                    f"{row_key} {fmt(row)}",
                )
            )
    return problems


def substance(doc: Any) -> Any:
    """What must not move in a stored order, whatever fields a backend adds of its own."""
    if not isinstance(doc, Mapping):
        return doc
    lines = [(p.get("cprcode"), p.get("quantity")) for p in doc.get("productList") or [] if isinstance(p, Mapping)]
    payment = doc["payment"] if isinstance(doc.get("payment"), Mapping) else {}
    return (doc.get("orderId"), doc.get("ownerId"), lines, payment.get("grandTotal"), payment.get("isPaid"))


def _lines_problems(answered: Any, quote: Quote) -> list[Problem]:
    if not isinstance(answered, list) or len(answered) != len(quote.lines):
        return [Problem("catalog_prices", f"{len(quote.lines)} priced product lines", repr(answered)[:300])]
    problems = []
    for index, (item, line) in enumerate(zip(answered, quote.lines, strict=True)):
        item = item if isinstance(item, Mapping) else {}
        for key, want in (("price", line.price), ("originalPrice", line.original_price), ("rowTotal", line.row_total)):
            got = money(item.get(key))
            if got != want or item.get("cprcode") != line.cprcode or item.get("quantity") != line.quantity:
                problems.append(
                    Problem(
                        "catalog_prices",
                        f"productList/{index}: {line.quantity} × {line.cprcode}, {key} {fmt(want)} THB (catalog)",
                        f"{item.get('quantity')} × {item.get('cprcode')}, {key} {_show(got)}",
                    )
                )
                break
    return problems


def consistency_problems(payment: Mapping[str, Any], lines: Any) -> list[Problem]:
    """``grandTotal = subTotal + shippingAmount − discountAmount`` and ``subTotal = Σ rowTotal``."""
    sub, ship = money(payment.get("subTotal")), money(payment.get("shippingAmount"))
    discount, grand = money(payment.get("discountAmount")), money(payment.get("grandTotal"))
    if None in (sub, ship, discount, grand):
        return [Problem("grand_total", "subTotal, shippingAmount, discountAmount, grandTotal amounts", repr(payment))]
    assert sub is not None and ship is not None and discount is not None and grand is not None
    problems = []
    if grand != sub + ship - discount:
        problems.append(
            Problem(
                "grand_total",
                f"grandTotal = {fmt(sub)} + {fmt(ship)} − {fmt(discount)} = {fmt(sub + ship - discount)} THB",
                f"grandTotal {fmt(grand)} THB",
            )
        )
    problems += row_problems(lines)
    rows = (
        [money(item.get("rowTotal")) for item in lines if isinstance(item, Mapping)] if isinstance(lines, list) else []
    )
    if rows and None not in rows and sum(r for r in rows if r is not None) != sub:
        problems.append(Problem("grand_total", "subTotal = Σ rowTotal", f"subTotal {fmt(sub)}, rows {rows}"))
    return problems


def order_problems(doc: Any, *, order_id: str, owner_sub: str, quote: Quote | None) -> list[Problem]:
    """What is wrong with a created or updated (unpaid) order document."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("payment"), Mapping):
        return [Problem("response_shape", "an order document with a payment object", repr(doc)[:300])]
    payment = doc["payment"]
    problems = []
    if doc.get("orderId") != order_id:
        problems.append(Problem("stored_document", f"orderId {order_id}", repr(doc.get("orderId"))))
    if doc.get("ownerId") != owner_sub:
        problems.append(Problem("owner_is_caller", f"ownerId {owner_sub} (the caller's sub)", repr(doc.get("ownerId"))))
    if payment.get("isPaid") is not False or payment.get("status") != "PENDING":
        problems.append(
            Problem(
                "client_cannot_pay",
                "payment isPaid false and status PENDING (payment is the backend's)",
                f"isPaid {payment.get('isPaid')!r}, status {payment.get('status')!r}",
            )
        )
    problems += consistency_problems(payment, doc.get("productList"))
    if quote is not None:
        problems += _lines_problems(doc.get("productList"), quote)
        for key, want in (
            ("subTotal", quote.subtotal),
            ("shippingAmount", quote.delivery_fee),
            ("discountAmount", quote.cart_discount + quote.coupon_discount),
            ("grandTotal", quote.grand_total),
        ):
            got = money(payment.get(key))
            if got != want:
                problems.append(Problem("grand_total", f"payment.{key} {fmt(want)} THB", f"{_show(got)}"))
    return problems


def pricing_problems(answer: Any, quote: Quote | None) -> list[Problem]:
    """What is wrong with a ``calculateGrandtotal`` answer (exact when ``quote`` is known)."""
    if not isinstance(answer, Mapping):
        return [Problem("response_shape", "a JSON object", repr(answer)[:300])]
    sub, fee = money(answer.get("subTotal")), money(answer.get("deliveryFee"))
    cart, coupon = money(answer.get("cartDiscount")), money(answer.get("couponDiscount"))
    grand = money(answer.get("grandTotal"))
    if None in (sub, fee, cart, coupon, grand):
        return [Problem("grand_total", "subTotal, deliveryFee, discounts and grandTotal amounts", repr(answer)[:300])]
    assert sub is not None and fee is not None and cart is not None and coupon is not None and grand is not None
    problems = []
    if grand != sub + fee - cart - coupon:
        problems.append(
            Problem(
                "grand_total",
                f"grandTotal = subTotal + deliveryFee − discounts = {fmt(sub + fee - cart - coupon)} THB",
                f"grandTotal {fmt(grand)} THB",
            )
        )
    problems += row_problems(answer.get("productList"))
    rows = [money(i.get("rowTotal")) for i in answer.get("productList") or [] if isinstance(i, Mapping)]
    if rows and None not in rows and sum(r for r in rows if r is not None) != sub:
        problems.append(Problem("grand_total", "subTotal = Σ rowTotal", f"subTotal {fmt(sub)}, rows {rows}"))
    if quote is not None:
        for key, want, got in (
            ("grandTotal", quote.grand_total, grand),
            ("subTotal", quote.subtotal, sub),
            ("deliveryFee", quote.delivery_fee, fee),
            ("couponDiscount", quote.coupon_discount, coupon),
        ):
            if got != want:
                problems.append(Problem("grand_total", f"{key} {fmt(want)} THB (domain pricing)", f"{fmt(got)} THB"))
        problems += _lines_problems(answer.get("productList"), quote)
    return problems


def paid_problems(doc: Any, before: Mapping[str, Any], *, charge_id: str, total: Satang) -> list[Problem]:
    """What is wrong with the document of an order ``charge_id`` just paid (``before``: unpaid)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("payment"), Mapping):
        return [Problem("response_shape", "an order document with a payment object", repr(doc)[:300])]
    payment = doc["payment"]
    problems = []
    if payment.get("isPaid") is not True or payment.get("status") != "PAID":
        problems.append(
            Problem(
                "payment_outcome",
                "isPaid true, status PAID",
                f"isPaid {payment.get('isPaid')!r} {payment.get('status')!r}",
            )
        )
    if money(payment.get("totalPaid")) != total or money(payment.get("grandTotal")) != total:
        problems.append(
            Problem(
                "payment_outcome",
                f"totalPaid = grandTotal = {fmt(total)} THB",
                f"totalPaid {payment.get('totalPaid')!r}, grandTotal {payment.get('grandTotal')!r}",
            )
        )
    if payment.get("gbpReferenceNo") != charge_id:
        problems.append(Problem("payment_outcome", f"gbpReferenceNo {charge_id}", repr(payment.get("gbpReferenceNo"))))
    unchanged = {k: v for k, v in before.items() if k != "payment"}
    if {k: v for k, v in doc.items() if k != "payment"} != unchanged:
        problems.append(Problem("payment_outcome", "paying changes only the order's payment", "other fields changed"))
    return problems


def cost_problems(answer: Any) -> list[Problem]:
    """What is wrong with a ``getCost`` answer: ``settlementPrice = price × quantity``, totals add up."""
    if not isinstance(answer, Mapping):
        return [Problem("response_shape", "a JSON object", repr(answer)[:300])]
    lines = answer.get("productList")
    problems = row_problems(lines, "settlementPrice")
    sub, fee = money(answer.get("subTotal")), money(answer.get("deliveryFee"))
    discount, grand = money(answer.get("cartDiscount")), money(answer.get("grandTotal"))
    if None in (sub, fee, discount, grand):
        return [*problems, Problem("grand_total", "subTotal, deliveryFee, cartDiscount, grandTotal amounts", "")]
    assert sub is not None and fee is not None and discount is not None and grand is not None
    rows = [money(i.get("settlementPrice")) for i in lines or [] if isinstance(i, Mapping)]
    if None not in rows and sum(r for r in rows if r is not None) != sub:
        problems.append(Problem("grand_total", "subTotal = Σ settlementPrice", f"subTotal {fmt(sub)}, rows {rows}"))
    if grand != sub + fee - discount:
        problems.append(
            Problem(
                "grand_total",
                f"grandTotal = subTotal + deliveryFee − cartDiscount = {fmt(sub + fee - discount)} THB",
                f"grandTotal {fmt(grand)} THB",
            )
        )
    return problems


def catalog_problems(doc: Any, prices: Mapping[tuple[int, str], Satang]) -> list[Problem]:
    """Prices of a document's product lines that are not the catalog's (``prices``: (cprcode, branch) → price)."""
    if not isinstance(doc, Mapping):
        return []
    branch = str(doc.get("branchId", ""))
    problems = []
    for index, line in enumerate(doc.get("productList") or []):
        if not isinstance(line, Mapping) or "price" not in line:
            continue
        code = line.get("cprcode")
        want = prices.get((code, branch)) if isinstance(code, int) and not isinstance(code, bool) else None
        got = money(line.get("price"))
        if want is not None and got != want:
            problems.append(
                Problem(
                    "catalog_prices",
                    f"productList/{index}: {code} at branch {branch} costs {fmt(want)} THB (catalog)",
                    f"price {_show(got)}",
                )
            )
    return problems


__all__ = [
    "Problem",
    "catalog_problems",
    "consistency_problems",
    "cost_problems",
    "money",
    "order_problems",
    "paid_problems",
    "pricing_problems",
    "row_problems",
    "substance",
]
