"""The line-item order API (seed 004): pricing in cents, stock, PayPal payments, states, filters, expiry.

Pure rules over plain values; the mock's handlers and the suites' oracle both call them. Money is
integer cents of US dollars; the float and the display string of an amount are derived from its
cents (``display(40000) == "$400"``, ``display(7450) == "$74.50"``). An order is priced once, when
it is created: ``item_total_cents`` is the sum of price × quantity, ``ship_total_cents`` the sum of
one shipping fee per merchant of its variants (``shipping_fee_items``, merchants in the order they
first appear), ``total_cents`` their sum.

States: ``created`` (no line items) or ``payment`` on create → ``completed`` (``all_paid``) once
the payments cover the total → ``partial_delivered`` → ``delivered`` (a merchant's moves).
An order that is not fully paid ``expiry_seconds`` (5 hours) after creation is deleted and its
stock restored (``is_expired``).

The states, the data and the amounts live in ``lineitems_data`` and "my orders" in ``lineitems_listing``;
every name of both is this module's too (``from villa_contracts.domain import lineitems as rules``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.lineitems_data import (
    CANCELED,
    COMPLETED,
    CREATED,
    DELIVERED,
    DELIVERY_MOVES,
    EXPIRED,
    PARTIAL_DELIVERED,
    PAYMENT,
    SEED_ORDER,
    STATES,
    TYPES,
    Cents,
    LineItemsData,
    Merchant,
    Variant,
    amount,
    display,
)
from villa_contracts.domain.lineitems_listing import (
    ALL_ORDERS,
    listing_rank,
    listings_of,
    matches,
    my_orders,
    my_orders_listing,
    my_orders_page,
)

# --- pricing and stock --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PricedOrder:
    """An order's lines (variant id, quantity, unit price) and its totals in cents."""

    lines: tuple[tuple[int, int, Cents], ...]
    shipping: tuple[tuple[str, Cents], ...]

    @property
    def item_total_cents(self) -> Cents:
        """Σ price × quantity."""
        return sum(quantity * price for _, quantity, price in self.lines)

    @property
    def ship_total_cents(self) -> Cents:
        """Σ of one fee per merchant."""
        return sum(fee for _, fee in self.shipping)

    @property
    def total_cents(self) -> Cents:
        """``item_total_cents + ship_total_cents``."""
        return self.item_total_cents + self.ship_total_cents

    @property
    def needs(self) -> Counter[int]:
        """Units per variant the order reserves."""
        needs: Counter[int] = Counter()
        for variant_id, quantity, _ in self.lines:
            needs[variant_id] += quantity
        return needs


def price(data: LineItemsData, line_items: Sequence[Mapping[str, Any]]) -> PricedOrder:
    """Price ``line_items`` (``[{variant_id, quantity}]``) from the data, shipping included.

    Raises:
        RuleViolation: a variant is unknown (``not_found``, rule ``variant``).
    """
    lines: list[tuple[int, int, Cents]] = []
    merchants: list[str] = []
    for index, item in enumerate(line_items):
        variant = data.variants.get(int(item["variant_id"]))
        if variant is None:
            raise RuleViolation(
                "not_found",
                f"no variant {item['variant_id']!r}: the variants are {sorted(data.variants)}",
                f"/line_items/{index}/variant_id",
                rule="variant",
            )
        lines.append((variant.id, int(item["quantity"]), variant.price_cents))
        if variant.merchant not in merchants:
            merchants.append(variant.merchant)
    shipping = tuple((name, data.merchants[name].shipping_fee_cents) for name in merchants)
    return PricedOrder(tuple(lines), shipping)


class StockShortage(RuleViolation):
    """Stock is short for some variants; ``messages`` are the seed's, one per short variant."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("conflict", "; ".join(messages), "/line_items", rule="stock")
        self.messages = messages

    def body(self) -> dict[str, Any]:
        """The seed's answer: ``{"errors": {"variants": [...]}}``."""
        return {"errors": {"variants": list(self.messages)}}


def shortage_message(variant: Variant) -> str:
    """The seed's message for a short variant: ``Can't fulfill stock of Product XXX Variant Size:L``."""
    return f"Can't fulfill stock of Product {variant.product} Variant {variant.options_text}".rstrip()


def free_stock(data: LineItemsData, reserved: Mapping[int, int], variant_id: int) -> int:
    """Units of a variant left to order (its stock minus every order's reservation)."""
    return data.variants[variant_id].stock - int(reserved.get(variant_id, 0))


def reserve(data: LineItemsData, reserved: Mapping[int, int], needs: Mapping[int, int]) -> dict[int, int]:
    """The reservations once an order holding ``needs`` is created.

    Raises:
        StockShortage: some variants do not have the units (nothing is reserved).
    """
    short = [
        shortage_message(data.variants[vid]) for vid, units in needs.items() if units > free_stock(data, reserved, vid)
    ]
    if short:
        raise StockShortage(short)
    moved = {int(k): int(v) for k, v in reserved.items()}
    for vid, units in needs.items():
        moved[vid] = moved.get(vid, 0) + units
    return {vid: units for vid, units in moved.items() if units}


def release(reserved: Mapping[int, int], needs: Mapping[int, int]) -> dict[int, int]:
    """The reservations once an order holding ``needs`` is deleted."""
    moved = {int(k): int(v) for k, v in reserved.items()}
    for vid, units in needs.items():
        moved[vid] = max(moved.get(vid, 0) - units, 0)
    return {vid: units for vid, units in moved.items() if units}


# --- the order record and its answer ------------------------------------------------------------


def new_order(
    order_id: int, owner: str, priced: PricedOrder, body: Mapping[str, Any], *, now: float, touched: int
) -> dict[str, Any]:
    """The record of a created order (what the mock stores; ``order_json`` answers it)."""
    return {
        "id": order_id,
        "owner": owner,
        "state": PAYMENT if priced.lines else CREATED,
        "paid_cents": 0,
        "references": [],
        "created_at": now,
        "touched": touched,
        "remarks": body.get("remarks"),
        "ship_address": dict(body["ship_address"]),
        "lines": [list(line) for line in priced.lines],
        "shipping": [list(item) for item in priced.shipping],
    }


def priced_of(order: Mapping[str, Any]) -> PricedOrder:
    """The priced lines of an order record."""
    return PricedOrder(
        tuple((int(v), int(q), int(p)) for v, q, p in order["lines"]),
        tuple((str(m), int(f)) for m, f in order["shipping"]),
    )


def order_json(data: LineItemsData, order: Mapping[str, Any], reserved: Mapping[int, int]) -> dict[str, Any]:
    """An order as the contract answers it; ``stocks_count`` is each variant's free stock now."""
    priced = priced_of(order)
    total = priced.total_cents
    address = order["ship_address"]
    line_items = []
    for variant_id, quantity, unit in priced.lines:
        variant = data.variants[variant_id]
        merchant = data.merchants[variant.merchant]
        line_items.append(
            {
                "quantity": quantity,
                "variant": {
                    "id": variant_id,
                    "options_text": variant.options_text,
                    "stocks_count": max(free_stock(data, reserved, variant_id), 0),
                    "display_price": display(unit),
                    "price": amount(unit),
                    "price_cents": unit,
                    "merchant": {"name": merchant.name, "avatar": dict(merchant.avatar)},
                    "images": variant.images,
                },
            }
        )
    refund: dict[str, Any] = {}  # only a canceled order says what came back, and why
    if order["state"] == CANCELED:
        refunded = int(order["refunded_cents"])
        refund = {"refunded_cents": refunded, "refunded": amount(refunded), "display_refunded": display(refunded),
                  "cancel_reason": order["cancel_reason"]}  # fmt: skip
    return {
        "id": int(order["id"]),
        "state": order["state"],
        "all_paid": all_paid(int(order["paid_cents"]), total, order["state"]),
        "display_item_total": display(priced.item_total_cents),
        "item_total": amount(priced.item_total_cents),
        "item_total_cents": priced.item_total_cents,
        "display_ship_total": display(priced.ship_total_cents),
        "ship_total": amount(priced.ship_total_cents),
        "ship_total_cents": priced.ship_total_cents,
        "display_total": display(total),
        "total": amount(total),
        "total_cents": total,
        "remarks": order.get("remarks"),
        "ship_address": {
            "firstname": address["firstname"],
            "lastname": address["lastname"],
            "full_name": f"{address['firstname']} {address['lastname']}",
            "address1": address["address1"],
            "address2": address.get("address2"),
            "zipcode": address["zipcode"],
            "phone": address["phone"],
        },
        "line_items": line_items,
        "shipping_fee_items": [
            {
                "merchant": name,
                "display_shipping_fee": display(fee),
                "shipping_fee": amount(fee),
                "shipping_fee_cents": fee,
            }
            for name, fee in priced.shipping
        ],
        **refund,
    }


def all_paid(paid_cents: Cents, total_cents: Cents, state: str) -> bool:
    """Whether the payments cover the total (never for an order with nothing to pay: ``created``)."""
    return state != CREATED and paid_cents >= total_cents


def require_visible(order_id: int, owner: str | None, caller: str) -> None:
    """Refuse an order that is missing or someone else's, both alike (``not_found``, rule ``ownership``)."""
    if owner is None or owner != caller:
        raise RuleViolation("not_found", f"no order {order_id} for you", "", rule="ownership")


def require_known(order_id: int, found: bool) -> None:
    """Refuse a missing order on the admin's side (``not_found``, rule ``order``)."""
    if not found:
        raise RuleViolation("not_found", f"no line-item order {order_id}", "", rule="order")


# --- payments -----------------------------------------------------------------------------------


def paypal_amount(data: LineItemsData, reference_id: str) -> Cents:
    """The cents the mock's PayPal sandbox says ``reference_id`` paid.

    Raises:
        RuleViolation: PayPal does not know the reference id (``not_found``, rule ``reference``).
    """
    if reference_id in data.references:
        return data.references[reference_id]
    match = data.pattern.fullmatch(reference_id)
    if match is None:
        raise RuleViolation(
            "not_found",
            f"PayPal knows no payment with reference id {reference_id!r}: pay with PayPal first and send its "
            f"reference id (the sandbox's test ids are in contracts/data/lineitems.yaml)",
            "/reference_id",
            rule="reference",
        )
    return int(match.group("cents"))


def check_reference_once(reference_id: str, used_by: int | None) -> None:
    """Refuse a reference id that paid already, ``used_by`` its order (``conflict``, rule ``reference_once``)."""
    if used_by is not None:
        raise RuleViolation(
            "conflict",
            f"PayPal reference id {reference_id!r} has paid already (order {used_by}): each payment is reported once",
            "/reference_id",
            rule="reference_once",
        )


def decide_pay(
    order: Mapping[str, Any], reference_id: str, paid: Cents, *, used_by: int | None, touched: int
) -> dict[str, Any]:
    """The order after PayPal reports ``paid`` cents for ``reference_id``.

    Args:
        order: the order record.
        reference_id: the PayPal reference id.
        paid: what PayPal says it captured.
        used_by: the order this reference id already paid (None: never used).
        touched: the update sequence number of this change (orders list by it, newest first).

    Raises:
        RuleViolation: the reference id paid already (``conflict``, rule ``reference_once``), the
            order is completed, canceled or has nothing to pay (``conflict``, rule ``payable``).
    """
    check_reference_once(reference_id, used_by)
    if order["state"] != PAYMENT:
        what = {
            CREATED: "has no line items: nothing to pay",
            CANCELED: "is canceled: it expired not paid in full 5 hours after creation and its payments were refunded",
        }.get(order["state"], f"is {order['state']}: paid in full")
        raise RuleViolation("conflict", f"order {order['id']} {what}", "", rule="payable")
    total = priced_of(order).total_cents
    paid_cents = int(order["paid_cents"]) + paid
    state = COMPLETED if paid_cents >= total else PAYMENT
    return {**order, "paid_cents": paid_cents, "state": state, "references": [*order["references"], reference_id],
            "touched": touched}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Glimpsed:
    """An order as one who watches the traffic knows it: its owner, when an answer named one (None: not even that)."""

    owner: str | None = None


def decide_payment(
    data: LineItemsData | None,
    order_id: int,
    order: Mapping[str, Any] | Glimpsed | None,
    caller: str,
    reference_id: str,
    *,
    used_by: int | None,
    touched: int,
) -> dict[str, Any] | None:
    """``payLineItemOrder``: ``require_visible``, ``paypal_amount``, ``decide_pay`` (the reference id, then the state).

    The one place their precedence is decided. The mock's handler and the state machine's model ask it with the
    order's record and the sandbox's data; the proxy's oracle with what answers showed: a ``Glimpsed`` order, no
    data (a real backend's PayPal is not the sandbox) and the order a reference id was seen paying. A rule whose
    facts are not known is passed over, the others are asked in the same order.

    Args:
        data: the line-item data (the PayPal sandbox's payments); None: PayPal's answer is not known.
        order_id: the order the request names.
        order: its record; None: there is none; ``Glimpsed``: only what answers showed of it.
        caller: the caller's ``sub``.
        reference_id: the PayPal reference id.
        used_by: the order this reference id already paid (None: never used, or never seen to be).
        touched: the update sequence number of this change.

    Returns:
        The order once paid; None when its record or PayPal's answer is not known (nothing known refused it).

    Raises:
        RuleViolation: the first rule the request breaks.
    """
    if not isinstance(order, Glimpsed):
        require_visible(order_id, str(order["owner"]) if order is not None else None, caller)
    elif order.owner is not None:
        require_visible(order_id, order.owner, caller)
    paid = paypal_amount(data, reference_id) if data is not None else None
    if isinstance(order, Glimpsed) or order is None or paid is None:
        check_reference_once(reference_id, used_by)
        return None
    return decide_pay(order, reference_id, paid, used_by=used_by, touched=touched)


def move_delivery(order: Mapping[str, Any], state: str, *, touched: int) -> dict[str, Any]:
    """A merchant's move of a completed order to ``partial_delivered`` or ``delivered``.

    Raises:
        RuleViolation: the move is not allowed from the order's state (``conflict``, rule ``delivery``).
    """
    if state not in DELIVERY_MOVES.get(order["state"], frozenset()):
        raise RuleViolation(
            "conflict",
            f"order {order['id']} is {order['state']}: it cannot become {state} "
            "(only completed → partial_delivered → delivered)",
            "/state",
            rule="delivery",
        )
    return {**order, "state": state, "touched": touched}


# --- expiry -------------------------------------------------------------------------------------


def expires_at(data: LineItemsData, created_at: float) -> float:
    """When an order created at ``created_at`` is deleted unless fully paid."""
    return created_at + data.expiry_seconds


def is_expired(data: LineItemsData, order: Mapping[str, Any], now: float) -> bool:
    """Whether an order is due to expire at ``now``: not fully paid 5 hours after its creation."""
    return order["state"] in TYPES["not_completed"] and now >= expires_at(data, float(order["created_at"]))


def decide_expiry(order: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an order that expired (``is_expired``) becomes: its money is never silently lost.

    Its stock is released either way. An order nothing was paid for is deleted (no money, no record).
    One partly paid is kept, ``canceled`` with ``cancel_reason`` ``expired``, every payment refunded
    (``refunded_cents``: what was paid): its owner still finds it in "my orders" with what came back,
    and it takes no more payments (``decide_pay``). The mock's sweeper, the state machine and every
    test ask this, and none decides it again.

    Returns:
        the record kept, or None when the order is deleted.

    Example:
        >>> decide_expiry({"id": 1, "state": "payment", "paid_cents": 0}) is None
        True
        >>> kept = decide_expiry({"id": 2, "state": "payment", "paid_cents": 250})
        >>> (kept["state"], kept["refunded_cents"], kept["cancel_reason"])
        ('canceled', 250, 'expired')
    """
    paid = int(order["paid_cents"])
    if paid <= 0:
        return None
    return {**order, "state": CANCELED, "refunded_cents": paid, "cancel_reason": EXPIRED}


__all__ = [
    "ALL_ORDERS",
    "CANCELED",
    "COMPLETED",
    "CREATED",
    "DELIVERED",
    "DELIVERY_MOVES",
    "EXPIRED",
    "PARTIAL_DELIVERED",
    "PAYMENT",
    "SEED_ORDER",
    "STATES",
    "TYPES",
    "Cents",
    "Glimpsed",
    "LineItemsData",
    "Merchant",
    "PricedOrder",
    "StockShortage",
    "Variant",
    "all_paid",
    "amount",
    "check_reference_once",
    "decide_expiry",
    "decide_pay",
    "decide_payment",
    "display",
    "expires_at",
    "free_stock",
    "is_expired",
    "listing_rank",
    "listings_of",
    "matches",
    "move_delivery",
    "my_orders",
    "my_orders_listing",
    "my_orders_page",
    "new_order",
    "order_json",
    "paypal_amount",
    "price",
    "priced_of",
    "release",
    "require_known",
    "require_visible",
    "reserve",
    "shortage_message",
]
