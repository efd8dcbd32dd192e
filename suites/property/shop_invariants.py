"""Invariants of the shop's answered documents (carts, orders, snapshots), whatever the target.

Pure functions over JSON values, shared by the shop's Schemathesis checks and its state machine.
Money is THB as decimal strings; it is compared in integer satang. Each function returns the
``Problem``s it found, named after the check at stake.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from suites.property.invariants import Problem
from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.shop import CANCELLED, HOLD, PROCESSING
from villa_contracts.errors import UsageError


def amount(value: object) -> Satang | None:
    """A decimal-string amount (``"174.00"``) in satang; None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        return to_satang(value)
    except UsageError:
        return None


def lines_problems(lines: Any, where: str) -> tuple[list[Problem], Satang]:
    """Each line's ``line_total`` is ``unit_price × quantity``; answers the problems and Σ line totals."""
    problems: list[Problem] = []
    total = 0
    for index, item in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(item, Mapping):
            continue
        price, row, quantity = amount(item.get("unit_price")), amount(item.get("line_total")), item.get("quantity")
        if price is None or row is None or not isinstance(quantity, int) or isinstance(quantity, bool):
            problems.append(Problem("shop_totals", f"{where}/{index}: amounts and a whole quantity", repr(item)))
            continue
        if row != price * quantity:
            problems.append(
                Problem(
                    "shop_totals",
                    f"{where}/{index}: line_total = {fmt(price)} × {quantity} = {fmt(price * quantity)}",
                    f"line_total {fmt(row)}",
                )
            )
        total += row
    return problems, total


def _sum_problem(doc: Mapping[str, Any], key: str, expected: Satang, how: str) -> list[Problem]:
    got = amount(doc.get(key))
    if got == expected:
        return []
    return [Problem("shop_totals", f"{key} = {how} = {fmt(expected)}", f"{key} {doc.get(key)!r}")]


def cart_problems(cart: Any) -> list[Problem]:
    """A cart's lines, its ``items_total`` and ``item_count`` add up."""
    if not isinstance(cart, Mapping):
        return []
    problems, total = lines_problems(cart.get("items"), "items")
    problems += _sum_problem(cart, "items_total", total, "Σ line_total")
    lines: list[Any] = cart["items"] if isinstance(cart.get("items"), list) else []
    count = 0
    for item in lines:
        if isinstance(item, Mapping) and isinstance(item.get("quantity"), int):
            count += item["quantity"]
    if cart.get("item_count") != count:
        problems.append(Problem("shop_totals", f"item_count = Σ quantity = {count}", f"{cart.get('item_count')!r}"))
    return problems


def order_total_problems(doc: Any, where: str = "") -> list[Problem]:
    """An order's (or a snapshot's) lines, ``items_total`` and ``total = items_total + shipping_fee``."""
    if not isinstance(doc, Mapping):
        return []
    problems, total = lines_problems(doc.get("items"), f"{where}items")
    problems += _sum_problem(doc, "items_total", total, "Σ line_total")
    fee = amount(doc.get("shipping_fee"))
    if fee is not None:
        problems += _sum_problem(doc, "total", total + fee, "items_total + shipping_fee")
    return problems


def status_problems(order: Any) -> list[Problem]:
    """Status and payment agree: HOLD is unpaid without a snapshot; PROCESSING is paid with one; CANCELLED unpaid."""
    if not isinstance(order, Mapping):
        return []
    status, paid, snapshot = order.get("status"), order.get("paid"), order.get("snapshot")
    key = order.get("order_key")
    if status == HOLD and (paid or order.get("paid_at") is not None or snapshot is not None):
        return [Problem("shop_status", f"order {key} HOLD: unpaid, no paid_at, no snapshot", _payment_view(order))]
    if status == PROCESSING and (not paid or order.get("paid_at") is None or not isinstance(snapshot, Mapping)):
        return [
            Problem("shop_status", f"order {key} PROCESSING: paid, with paid_at and a snapshot", _payment_view(order))
        ]
    if status == CANCELLED and paid:
        return [Problem("shop_status", f"order {key} CANCELLED: never paid", _payment_view(order))]
    return []


def snapshot_problems(order: Any) -> list[Problem]:
    """A paid order's snapshot is what the order bought: its lines and totals, the order's currency."""
    if not isinstance(order, Mapping) or not isinstance(order.get("snapshot"), Mapping):
        return []
    snapshot = order["snapshot"]
    problems = order_total_problems(snapshot, "snapshot/")
    for key in ("items", "items_total", "shipping_fee", "total", "currency"):
        if snapshot.get(key) != order.get(key):
            problems.append(
                Problem("shop_snapshot", f"snapshot {key} = the order's {order.get(key)!r}", f"{snapshot.get(key)!r}")
            )
    return problems


def _payment_view(order: Mapping[str, Any]) -> str:
    return (
        f"status {order.get('status')}, paid {order.get('paid')!r}, paid_at {order.get('paid_at')!r}, "
        f"snapshot {'present' if order.get('snapshot') else 'null'}"
    )
