"""The cart-checkout store (seeds 002 and 003): cart, checkout validation, orders, payment attempts, snapshots.

Pure rules over plain values. Money is integer satang. A customer is an *identity* string:
``user:<sub>`` for a logged-in user, ``guest:<anonymous id>`` for a guest. The seed's validation
rules each refuse a checkout with their own 400 (kind ``invalid``), in the seed's order: cart
not empty, stock, profile completed, address of the caller, payment method, shipping method.

Order statuses: ``HOLD`` while payment is processing → ``PROCESSING`` once paid (or at once for a
direct payment method); an order unpaid 5 hours after checkout is ``CANCELLED`` and its stock
released. Payment attempts: ``PENDING`` → ``PAID`` / ``DECLINED`` / ``ABANDONED``; a callback that
does not match (amount, currency) is refused and recorded on the attempt as ``REJECTED``; an
approval that arrives after its order was cancelled at expiry is refunded: ``REFUNDED``
(``refunds_at_expiry``: money is never silently lost).

The store's data lives in ``shop_data`` and the payment attempts in ``shop_payments``; every name of
both is this module's too (``from villa_contracts.domain import shop as rules; rules.decide_callback``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.pricing import MAX_QUANTITY
from villa_contracts.domain.shop_data import (
    DIRECT,
    REDIRECT,
    Address,
    KeyPolicy,
    PaymentMethod,
    ShippingMethod,
    ShopData,
    key_is_live,
)
from villa_contracts.domain.shop_payments import (
    ABANDONED,
    CANCELLED,
    DECLINED,
    EXPIRY_REFUND,
    HOLD,
    PAID,
    PAYER_ACTIONS,
    PENDING,
    PROCESSING,
    REFUNDED,
    REJECTED,
    CallbackDecision,
    decide_callback,
    enforce,
    refunds_at_expiry,
    require_attempt,
)


@dataclass(frozen=True, slots=True)
class Line:
    """One cart or order line, priced from the catalog."""

    product_id: int
    name: str
    quantity: int
    unit_price: Satang

    @property
    def line_total(self) -> Satang:
        """``unit_price × quantity``."""
        return self.unit_price * self.quantity


def identity_of_user(username_or_sub: str) -> str:
    """The identity of a logged-in customer."""
    return f"user:{username_or_sub}"


def require_credentials(valid: bool) -> None:
    """Raise unless the user name and password are a confirmed user's (one answer for every wrong pair)."""
    if not valid:
        raise RuleViolation(
            "invalid",
            "unable to log in with the credentials given (a confirmed user of the Villa user directory)",
            "/password",
            rule="credentials",
        )


def line(data: BusinessData, shop: ShopData, product_id: int, quantity: int, pointer: str = "/product_id") -> Line:
    """Price ``quantity`` of ``product_id`` from the catalog at the store's branch.

    Raises:
        RuleViolation: no such product at the branch (``not_found``) or a quantity out of 1–9999.
    """
    product = data.products.get(product_id)
    offer = product.offers.get(shop.branch) if product is not None else None
    if product is None or offer is None:
        raise RuleViolation(
            "not_found", f"product {product_id} is not sold by this store (branch {shop.branch})", pointer,
            rule="catalog",
        )  # fmt: skip
    if not 1 <= quantity <= MAX_QUANTITY:
        raise RuleViolation("invalid", f"quantity={quantity} must be from 1 to {MAX_QUANTITY}", "/quantity")
    return Line(product_id, product.name, quantity, offer.price)


def add_to_cart(cart: Mapping[int, int], product_id: int, quantity: int) -> dict[int, int]:
    """The cart with ``quantity`` more of ``product_id`` (a line never holds more than 9999).

    Raises:
        RuleViolation: the line would hold more than 9999 (``invalid``).
    """
    total = cart.get(product_id, 0) + quantity
    if total > MAX_QUANTITY:
        raise RuleViolation("invalid", f"a cart line holds at most {MAX_QUANTITY} units ({total} asked)", "/quantity")
    return {**cart, product_id: total}


def require_in_cart(cart: Mapping[int, int], product_id: int) -> None:
    """Raise unless the cart has a line of ``product_id`` (change, remove)."""
    if product_id not in cart:
        raise RuleViolation("not_found", f"product {product_id} is not in the cart", "/path/product_id", rule="exists")


def items_total(lines: Iterable[Line]) -> Satang:
    """Σ line totals."""
    return sum(item.line_total for item in lines)


def profile_complete(profile: Mapping[str, Any]) -> bool:
    """A profile is complete with a first and last name, a phone and an e-mail."""
    return all(str(profile.get(key) or "").strip() for key in ("first_name", "last_name", "phone", "email"))


# --- checkout: the seed's validation rules, each its own 400 ------------------------------------


def check_cart_not_empty(lines: Sequence[Line]) -> None:
    """Cart Validation: the cart must not be empty."""
    if not lines:
        raise RuleViolation(
            "invalid", "the cart is empty: add items with POST /api/shop/cart/items first", rule="cart_not_empty"
        )


def check_in_stock(lines: Sequence[Line], free: Mapping[int, int]) -> None:
    """Stock Validation: every item is in stock with enough quantity (``free``: units left per product)."""
    for item in lines:
        left = free.get(item.product_id, 0)
        if item.quantity > left:
            raise RuleViolation(
                "invalid",
                f"not enough stock of {item.name} ({item.product_id}): {item.quantity} in the cart, {left} left",
                rule="in_stock",
            )


def check_profile_complete(profile: Mapping[str, Any]) -> None:
    """Profile Validation: the customer profile must be completed."""
    if not profile_complete(profile):
        raise RuleViolation(
            "invalid",
            "your profile is not complete: set first_name, last_name, phone and email with PUT /api/shop/profile",
            rule="profile_complete",
        )


def check_address(address: Address | None, address_id: int, caller: str) -> Address:
    """Address Validation: the address must belong to the authenticated customer."""
    if address is None or address.owner != caller:
        raise RuleViolation(
            "invalid", f"address {address_id} is not one of your addresses", "/address", rule="address_of_caller"
        )
    return address


def content_of(shop: ShopData, lines: Sequence[Line]) -> frozenset[str]:
    """The kinds of goods in the cart (``dry``, ``chilled``)."""
    return frozenset(shop.content.get(item.product_id, "dry") for item in lines)


def check_payment_method(method: PaymentMethod | None, method_id: int, content: frozenset[str]) -> PaymentMethod:
    """Payment Method: it must be active and support the cart content (rules ``payment_method_*``)."""
    return _check_method(method, method_id, content, "payment", "does not support {} goods in the cart")


def check_shipping_method(method: ShippingMethod | None, method_id: int, content: frozenset[str]) -> ShippingMethod:
    """Shipping Method: it must be active and support the cart content (rules ``shipping_method_*``)."""
    return _check_method(method, method_id, content, "shipping", "does not ship {} goods")


_Method = TypeVar("_Method", PaymentMethod, ShippingMethod)


def _check_method(method: _Method | None, method_id: int, content: frozenset[str], what: str, refuses: str) -> _Method:
    """The ``what`` method chosen, active and supporting every kind of goods in ``content``.

    Its rules are ``<what>_method_active`` and ``<what>_method_supports``; ``refuses`` says what an
    unsupported method does not do, ``{}`` standing for the kinds of goods it lacks.
    """
    pointer = f"/{what}_method"
    if method is None or not method.active:
        raise RuleViolation(
            "invalid", f"{what} method {method_id} is not active", pointer, rule=f"{what}_method_active"
        )
    missing = sorted(content - method.supports)
    if missing:
        raise RuleViolation(
            "invalid",
            f"{what} method {method_id} ({method.name}) {refuses.format(', '.join(missing))}",
            pointer,
            rule=f"{what}_method_supports",
        )
    return method


def check_payment_service(method: PaymentMethod, *, service_up: bool) -> None:
    """A redirect method needs its gateway: when it is down, the checkout is a 503 and nothing is created."""
    if method.kind == REDIRECT and (method.down or not service_up):
        raise RuleViolation(
            "unavailable",
            f"the payment service of {method.name} is unavailable: nothing was ordered, try again later",
            rule="gateway_down_changes_nothing",
        )


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout the rules let through: what the order will be."""

    lines: tuple[Line, ...]
    address: Address
    payment: PaymentMethod
    shipping: ShippingMethod
    items_total: Satang
    total: Satang

    @property
    def needs(self) -> Counter[int]:
        """Units per product the order reserves."""
        return Counter({item.product_id: item.quantity for item in self.lines})


def check_checkout(
    shop: ShopData,
    *,
    lines: Sequence[Line],
    free: Mapping[int, int],
    profile: Mapping[str, Any],
    address: Address | None,
    address_id: int,
    payment_method_id: int,
    shipping_method_id: int,
    caller: str,
    service_up: bool = True,
) -> Checkout:
    """Every rule of seed 002, in its order; the first that fails refuses the checkout.

    Raises:
        RuleViolation: the rule that refuses it (400), or the payment service is down (503).
    """
    check_cart_not_empty(lines)
    check_in_stock(lines, free)
    check_profile_complete(profile)
    chosen_address = check_address(address, address_id, caller)
    content = content_of(shop, lines)
    payment = check_payment_method(shop.payment_methods.get(payment_method_id), payment_method_id, content)
    shipping = check_shipping_method(shop.shipping_methods.get(shipping_method_id), shipping_method_id, content)
    check_payment_service(payment, service_up=service_up)
    goods = items_total(lines)
    return Checkout(tuple(lines), chosen_address, payment, shipping, goods, goods + shipping.fee)


# --- orders (seed 003; their payment attempts: shop_payments) -----------------------------------


def require_visible(order_key: object, owner: str | None, caller: str) -> None:
    """Raise unless the order is the caller's; someone else's answers exactly like a missing one."""
    if owner == caller:
        return
    raise RuleViolation(
        "not_found",
        f"no order {order_key!r} for you",
        "/path/order_key",
        rule="exists" if owner is None else "ownership",
    )


def require_payable(order_key: str, status: str) -> None:
    """Raise unless the order waits for payment (``get_order_to_pay``, a new attempt)."""
    if status != HOLD:
        why = "is paid" if status == PROCESSING else "was cancelled (unpaid for 5 hours)"
        raise RuleViolation("conflict", f"order {order_key} {why}: nothing to pay", rule="paid_stays_paid")


def order_key(year: int, sequence: int) -> str:
    """``ORD-<year>-<6-digit sequence>``: the order tracking key.

    Raises:
        RuleViolation: the year's 999999 keys are used up (``unavailable``).
    """
    if not 1 <= sequence <= 999_999:
        raise RuleViolation("unavailable", f"order keys of {year} are used up", rule="order_key")
    return f"ORD-{year:04d}-{sequence:06d}"


EXPIRY_SECONDS = 5 * 60 * 60
"""An order still unpaid this long after checkout is cancelled and its stock released."""


def expires_at(created_at: float) -> float:
    """When an order created at ``created_at`` is cancelled unless paid."""
    return created_at + EXPIRY_SECONDS


def is_expired(status: str, expiry: float, now: float) -> bool:
    """Whether a ``HOLD`` order is due to be cancelled at ``now``."""
    return status == HOLD and now >= expiry


def page_of(count: int, page: int, page_size: int) -> tuple[int, int, int]:
    """``(start, end, total_pages)`` of page ``page`` (1-based) of ``count`` items."""
    total_pages = -(-count // page_size)
    start = (page - 1) * page_size
    return min(start, count), min(start + page_size, count), total_pages


def snapshot(
    lines: Sequence[Line], *, shipping_fee: Satang, external_id: str | None, currency: str, now: float
) -> dict[str, Any]:
    """``process_order_to_paid``'s snapshot of the cart at payment time (never altered afterwards)."""
    return {
        "captured_at": now,
        "items": [line_json(item) for item in lines],
        "items_total": fmt(items_total(lines)),
        "shipping_fee": fmt(shipping_fee),
        "total": fmt(items_total(lines) + shipping_fee),
        "currency": currency,
        "payment_external_id": external_id,
    }


def lines_of(items: Iterable[Mapping[str, Any]]) -> list[Line]:
    """An order's stored lines (``product_id``, ``name``, ``quantity``, ``unit_price``) as ``Line``s."""
    return [Line(int(i["product_id"]), str(i["name"]), int(i["quantity"]), to_satang(i["unit_price"])) for i in items]


def line_json(item: Line) -> dict[str, Any]:
    """A line as the contract answers it (money as decimal strings)."""
    return {
        "product_id": item.product_id,
        "name": item.name,
        "quantity": item.quantity,
        "unit_price": fmt(item.unit_price),
        "line_total": fmt(item.line_total),
    }


def process_to_paid(order: Mapping[str, Any], *, external_id: str | None, now: float) -> dict[str, Any]:
    """``process_order_to_paid``: the order paid, ``PROCESSING``, with the snapshot of what was bought.

    Raises:
        RuleViolation: the order is not waiting for payment (``paid_stays_paid``).
    """
    require_payable(str(order["order_key"]), str(order["status"]))
    captured = snapshot(
        lines_of(order["items"]),
        shipping_fee=to_satang(order["shipping_fee"]),
        external_id=external_id,
        currency=str(order["currency"]),
        now=now,
    )
    return {**order, "status": PROCESSING, "paid": True, "paid_at": now, "updated_at": now, "snapshot": captured}


def cart_after_payment(cart: Mapping[int, int]) -> dict[int, int]:
    """``process_order_to_paid``'s cleanup (rule ``cart_deleted_after_payment``): the customer's cart is deleted.

    What the cart held is the order's now, so whatever it held, the customer's cart is empty once
    an order of theirs is paid (a callback, the payer's approval, or a direct checkout); only an
    add afterwards fills it again.
    """
    return {}


def cancel_unpaid(order: Mapping[str, Any], *, now: float) -> dict[str, Any]:
    """The order cancelled for want of payment (its stock is released by the caller)."""
    return {**order, "status": CANCELLED, "updated_at": now}


__all__ = [
    "ABANDONED",
    "Address",
    "CANCELLED",
    "CallbackDecision",
    "Checkout",
    "DECLINED",
    "DIRECT",
    "EXPIRY_REFUND",
    "EXPIRY_SECONDS",
    "HOLD",
    "KeyPolicy",
    "Line",
    "MAX_QUANTITY",
    "PAID",
    "PAYER_ACTIONS",
    "PENDING",
    "PROCESSING",
    "PaymentMethod",
    "REDIRECT",
    "REFUNDED",
    "REJECTED",
    "ShippingMethod",
    "ShopData",
    "add_to_cart",
    "cancel_unpaid",
    "cart_after_payment",
    "check_address",
    "check_cart_not_empty",
    "check_checkout",
    "check_in_stock",
    "check_payment_method",
    "check_payment_service",
    "check_profile_complete",
    "check_shipping_method",
    "content_of",
    "decide_callback",
    "enforce",
    "expires_at",
    "identity_of_user",
    "is_expired",
    "items_total",
    "key_is_live",
    "line",
    "line_json",
    "lines_of",
    "order_key",
    "page_of",
    "process_to_paid",
    "profile_complete",
    "refunds_at_expiry",
    "require_attempt",
    "require_credentials",
    "require_in_cart",
    "require_payable",
    "require_visible",
    "snapshot",
]
