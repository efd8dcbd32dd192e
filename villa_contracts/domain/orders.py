"""The order lifecycle: ids, server-priced documents, stock needs, and the move to paid."""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_json
from villa_contracts.domain.pricing import Quote, price_cart

PAYMENT_PENDING = "PENDING"
PAYMENT_EXPIRED = "EXPIRED"
"""The ``payment.status`` of an order kept after it expired holding a charge, which was voided
(``domain.payments.decide_expiry``)."""
PAYMENT_PAID = "PAID"
CARD_METHOD = "Credit/Debit Card"
MAX_SEQUENCE = 999_999


def order_id(branch_id: str, year: int, sequence: int) -> str:
    """A 12-digit order id: branch (4 digits), year (2), sequence (6).

    Raises:
        RuleViolation: the branch id is not 4 digits, or the year's sequence is used up.
    """
    if not (len(branch_id) == 4 and branch_id.isdigit()):
        raise RuleViolation(
            "not_found", f"branchId={branch_id!r} is not a 4-digit branch id", "/branchId", rule="catalog"
        )
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise RuleViolation(
            "conflict", f"branch {branch_id} has used all {MAX_SEQUENCE} order ids of {year}", rule="id_space"
        )
    return f"{branch_id}{year % 100:02d}{sequence:06d}"


def require_branch(data: BusinessData, branch_id: str) -> None:
    """Raise unless ``branch_id`` is a branch of the catalog (``generateOrderId``)."""
    if branch_id not in data.branches:
        known = ", ".join(sorted(data.branches))
        raise RuleViolation(
            "not_found", f"no branch {branch_id!r} (known branches: {known})", "/branchId", rule="catalog"
        )


def require_owner(claimed: object, caller: str, pointer: str = "/ownerId") -> None:
    """Raise unless the ``ownerId`` a request claims is the caller's ``sub`` (create, update).

    Raises:
        RuleViolation: ``forbidden`` (rule ``owner_is_caller``).
    """
    if claimed != caller:
        field_name = pointer.rsplit("/", 1)[-1]
        raise RuleViolation(
            "forbidden",
            f"{field_name} must equal the sub of the caller's ID token ({field_name}={claimed!r} is not the caller's)",
            pointer,
            rule="owner_is_caller",
        )


def require_visible(order_id: object, owner: str | None, caller: str) -> None:
    """Raise unless the order exists and is the caller's; someone else's answers exactly like a missing one.

    Args:
        order_id: the id asked for.
        owner: the stored order's ``ownerId``; None when there is no such order.
        caller: the caller's ``sub``.

    Raises:
        RuleViolation: ``not_found`` (rule ``exists`` or ``ownership``; same message for both).
    """
    if owner == caller:
        return
    raise RuleViolation(
        "not_found",
        f"no order {order_id!r} for this user",
        "/orderId",
        rule="exists" if owner is None else "ownership",
    )


def check_create(
    order_id: str, *, issued_to: str | None, issued_branch: str | None, exists: bool, caller: str, branch: str | None
) -> str:
    """Decide whether the caller may create an order with ``order_id``; return its branch.

    Args:
        order_id: the id the order is created with.
        issued_to: who ``generateOrderId`` gave the id to (None: never issued).
        issued_branch: the branch it was issued for.
        exists: an order with that id is already stored.
        caller: the caller's ``sub``.
        branch: the ``branchId`` the order names (None: the id's branch).

    Raises:
        RuleViolation: the id was not issued to the caller (``not_found``, ``id_issued_to_caller``),
            is used (``conflict``, ``id_used_once``) or is for another branch (``conflict``, ``branch_fixed``).
    """
    if issued_to is None or issued_to != caller or issued_branch is None:
        raise RuleViolation(
            "not_found",
            f"orderId {order_id!r} was not generated for this user; call /api/order2/gentele first",
            "/orderId",
            rule="id_issued_to_caller",
        )
    if exists:
        raise RuleViolation(
            "conflict",
            f"order {order_id!r} already exists; use /api/order/update to change it",
            "/orderId",
            rule="id_used_once",
        )
    chosen = branch or issued_branch
    if chosen != issued_branch:
        raise RuleViolation(
            "conflict",
            f"orderId {order_id!r} was generated for branch {issued_branch}, the order says {chosen}",
            "/branchId",
            rule="branch_fixed",
        )
    return chosen


def check_update(order_id: str, *, paid: bool, stored_branch: str, branch: str | None, expired: bool = False) -> str:
    """Decide whether an order (the caller's, already checked) may be replaced; return its branch.

    Raises:
        RuleViolation: it is paid (``conflict``, ``paid_stays_paid``), expired (``conflict``,
            ``expired_stays_expired``) or would move to another branch (``conflict``, ``branch_fixed``).
    """
    if paid:
        raise RuleViolation("conflict", f"order {order_id!r} is paid and cannot be changed", rule="paid_stays_paid")
    require_not_expired(order_id, expired=expired)
    chosen = branch or stored_branch
    if chosen != stored_branch:
        raise RuleViolation(
            "conflict",
            f"an order cannot move from branch {stored_branch} to {chosen}",
            "/branchId",
            rule="branch_fixed",
        )
    return chosen


def decide_create(
    order_id: str,
    *,
    claimed_owner: object,
    caller: str,
    issued_to: str | None,
    issued_branch: str | None,
    exists: bool,
    branch: str | None,
) -> str:
    """``createOrder``, its rules in their order: ``require_owner``, then ``check_create``.

    The one place their precedence is decided: the mock's handler, the state machine's model and the proxy's
    oracle ask this (the oracle, knowing no issued id, asks ``require_owner`` alone: the first of them).

    Args:
        order_id: the id the order is created with.
        claimed_owner: the ``ownerId`` the request names.
        caller: the caller's ``sub``.
        issued_to: who ``generateOrderId`` gave the id to (None: never issued).
        issued_branch: the branch it was issued for.
        exists: an order with that id is already stored.
        branch: the ``branchId`` the order names (None: the id's branch).

    Returns:
        The order's branch.

    Raises:
        RuleViolation: the first rule the request breaks.
    """
    require_owner(claimed_owner, caller)
    return check_create(
        order_id, issued_to=issued_to, issued_branch=issued_branch, exists=exists, caller=caller, branch=branch
    )


def decide_update(
    order_id: str,
    *,
    owner: str | None,
    claimed_owner: object,
    caller: str,
    paid: bool,
    stored_branch: str,
    branch: str | None,
    expired: bool = False,
) -> str:
    """``updateOrder``, its rules in their order: ``require_visible``, ``require_owner``, ``check_update``.

    The one place their precedence is decided (handler, model and oracle ask this): someone else's order is
    404 whatever the request names; the caller's own order then needs the caller as its owner.

    Args:
        order_id: the id asked for.
        owner: the stored order's ``ownerId`` (None: no such order; then ``paid``, ``stored_branch`` and
            ``expired`` are not looked at).
        claimed_owner: the ``ownerId`` the request names.
        caller: the caller's ``sub``.
        paid: the stored order is paid.
        stored_branch: its branch.
        branch: the ``branchId`` the request names (None: the stored one).
        expired: it is kept only as the record of its voided charges.

    Returns:
        The order's branch.

    Raises:
        RuleViolation: the first rule the request breaks.
    """
    require_visible(order_id, owner, caller)
    require_owner(claimed_owner, caller)
    return check_update(order_id, paid=paid, stored_branch=stored_branch, branch=branch, expired=expired)


def require_not_expired(order_id: object, *, expired: bool) -> None:
    """Raise when the order expired (kept only as the record of its voided charges): nothing changes it again."""
    if expired:
        raise RuleViolation(
            "conflict",
            f"order {order_id!r} expired unpaid 5 hours after creation and its charges were voided: "
            "it cannot be changed or paid; create a new order",
            rule="expired_stays_expired",
        )


def is_expired_record(order: Mapping[str, Any]) -> bool:
    """Whether the stored order is the record of an order that expired holding a charge (``PAYMENT_EXPIRED``)."""
    return (order.get("payment") or {}).get("status") == PAYMENT_EXPIRED


def is_paid(order: Mapping[str, Any]) -> bool:
    """Whether the stored order is paid."""
    payment = order.get("payment") or {}
    return bool(payment.get("isPaid")) or payment.get("status") == PAYMENT_PAID


UNPAID_EXPIRY_SECONDS = 5 * 60 * 60
"""An order still unpaid this long after its creation is deleted and its stock released (as on every API
of the contracts that reserves stock: the shop's HOLD orders, seed 004's line-item orders)."""


def expires_at(created_at: float) -> float:
    """When an order created at ``created_at`` is deleted unless paid."""
    return created_at + UNPAID_EXPIRY_SECONDS


def is_expired(order: Mapping[str, Any], expiry: float, now: float) -> bool:
    """Whether a stored order is due to expire at ``now``: unpaid (and not expired already) at its expiry."""
    return is_due(paid=is_paid(order), expired_record=is_expired_record(order), expiry=expiry, now=now)


def is_due(*, paid: bool, expired_record: bool, expiry: float, now: float) -> bool:
    """``is_expired`` on what is known of an order rather than its document (a watcher's facts)."""
    return not paid and not expired_record and now >= expiry


def stock_needs(order: Mapping[str, Any] | None) -> Counter[int]:
    """Units per cprcode an order holds (what its stock reservation is)."""
    needs: Counter[int] = Counter()
    for item in (order or {}).get("productList") or []:
        needs[int(item["cprcode"])] += int(item["quantity"])
    return needs


def reserve(
    data: BusinessData, branch_id: str, reserved: Mapping[int, int], before: Counter[int], after: Counter[int]
) -> dict[int, int]:
    """Move one order's stock hold from ``before`` to ``after``; return the branch's new reservations.

    Only growing lines are checked: shrinking an order never fails for stock that others took since.

    Args:
        data: the catalog (its stock).
        branch_id: the order's branch.
        reserved: units per cprcode all orders hold at the branch now (``before`` included).
        before: what the order held (empty for a new order).
        after: what it will hold.

    Raises:
        RuleViolation: a growing line does not fit (``conflict``, rule ``stock``).
    """
    delta: Counter[int] = Counter(after)
    delta.subtract(before)
    others = {code: reserved.get(code, 0) - before.get(code, 0) for code in set(reserved) | set(after)}
    check_stock(data, branch_id, Counter({c: after[c] for c in after if delta[c] > 0}), others)
    moved = dict(reserved)
    for code, change in delta.items():
        moved[code] = moved.get(code, 0) + change
    return {code: units for code, units in moved.items() if units}


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
                "conflict",
                f"product {code} is out of stock at branch {branch_id}: {units} wanted, {free} left",
                rule="stock",
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


EXPIRED_REASON = "order expired unpaid 5 hours after creation"
"""Why a charge was voided at expiry: the voided charges' ``failure_message`` and the order's ``paymentLog``."""


def mark_expired(order: Mapping[str, Any], voided: Iterable[tuple[str, Satang, str]], *, now: float) -> dict[str, Any]:
    """The record kept of an order that expired holding charges, each ``(charge id, amount, masked card)`` voided.

    ``payment.status`` is ``EXPIRED``; ``paymentLog`` gains one line per voided charge, with the reason.
    """
    doc = copy.deepcopy(dict(order))
    payment = dict(doc.get("payment") or {})
    lines = [f"{charge_id} Voided {fmt(amount)} THB {masked}: {EXPIRED_REASON}" for charge_id, amount, masked in voided]
    payment.update(status=PAYMENT_EXPIRED, timestamp=now)
    payment["paymentLog"] = [*payment.get("paymentLog", []), *lines]
    doc["payment"] = payment
    return doc
