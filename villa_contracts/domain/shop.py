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
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.pricing import MAX_QUANTITY
from villa_contracts.errors import ContractError, VillaContractsError

HOLD, PROCESSING, CANCELLED = "HOLD", "PROCESSING", "CANCELLED"
PENDING, PAID, DECLINED, ABANDONED, REJECTED = "PENDING", "PAID", "DECLINED", "ABANDONED", "REJECTED"
REFUNDED = "REFUNDED"
"""An attempt approved after its order was cancelled at expiry: the payment was refunded (``refunds_at_expiry``)."""
EXPIRY_REFUND = "refunded: the order was cancelled unpaid 5 hours after checkout"
"""How an attempt's log records a payment refunded because its order expired."""
REDIRECT, DIRECT = "redirect", "direct"


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """A payment method: ``redirect`` (an external gateway page) or ``direct`` (processed at once)."""

    id: int
    name: str
    kind: str
    active: bool
    supports: frozenset[str]
    down: bool = False


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    """A shipping method and its fee."""

    id: int
    name: str
    fee: Satang
    active: bool
    supports: frozenset[str]


@dataclass(frozen=True, slots=True)
class Address:
    """A customer's address (``owner``: an identity; in ``ShopData.addresses``, the owner's user name)."""

    id: int
    owner: str
    line1: str
    city: str
    postcode: str
    phone: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Shop token keys: how long one lives on the mock's clock, and how many are kept at most."""

    lifetime_seconds: float
    max_keys: int

    def __post_init__(self) -> None:
        if not (self.lifetime_seconds > 0 and self.max_keys > 0):
            raise ValueError(f"token keys need a lifetime and a maximum above 0, not {self!r}")

    def expires_at(self, issued_at: float) -> float:
        """When a key issued at ``issued_at`` stops working."""
        return issued_at + self.lifetime_seconds

    def evictions(self, kept: int, oldest_guests: Sequence[str], oldest: Sequence[str]) -> list[str]:
        """The keys forgotten when ``kept`` are kept: past ``max_keys``, the oldest guest keys first, then any.

        ``oldest_guests`` and ``oldest`` are the oldest guest keys and the oldest keys, oldest first.
        """
        excess = max(kept - self.max_keys, 0)
        chosen = list(oldest_guests[:excess])
        chosen += [key for key in oldest if key not in chosen][: excess - len(chosen)]
        return chosen


def key_is_live(expires_at: float, now: float) -> bool:
    """Whether a token key that expires at ``expires_at`` still works at ``now``."""
    return now < expires_at


@dataclass(frozen=True, slots=True)
class ShopData:
    """The store's data (``contracts/data/shop.yaml``); build it with ``ShopData.from_contract(load())``."""

    branch: str
    currency: str
    content: dict[int, str]
    profiles: dict[str, dict[str, str]]
    addresses: tuple[Address, ...]
    payment_methods: dict[int, PaymentMethod]
    shipping_methods: dict[int, ShippingMethod]
    gateway_key: str = field(repr=False)
    token_keys: KeyPolicy

    @classmethod
    def from_contract(cls, contracts: Any) -> ShopData:
        """Read ``shop`` from the contracts' shared data.

        Raises:
            ContractError: the file is malformed.
        """
        try:
            raw = contracts.data("shop")
            return cls(
                branch=str(raw["branch"]),
                currency=str(raw["currency"]),
                content={int(code): str(kind) for code, kind in raw["content"].items()},
                profiles={str(name): {k: str(v) for k, v in p.items()} for name, p in raw["profiles"].items()},
                addresses=tuple(
                    Address(
                        int(a["id"]),
                        str(a["owner"]),
                        str(a["line1"]),
                        str(a["city"]),
                        str(a["postcode"]),
                        str(a["phone"]),
                        str(a.get("line2", "")),
                    )
                    for a in raw["addresses"]
                ),  # fmt: skip
                payment_methods={
                    int(m["id"]): PaymentMethod(
                        int(m["id"]),
                        str(m["name"]),
                        str(m["kind"]),
                        bool(m["active"]),
                        frozenset(m["supports"]),
                        bool(m.get("down", False)),
                    )
                    for m in raw["payment_methods"]
                },  # fmt: skip
                shipping_methods={
                    int(m["id"]): ShippingMethod(
                        int(m["id"]), str(m["name"]), to_satang(m["fee"]), bool(m["active"]), frozenset(m["supports"])
                    )
                    for m in raw["shipping_methods"]
                },  # fmt: skip
                gateway_key=str(raw["gateway_key"]),
                token_keys=KeyPolicy(float(raw["token_keys"]["lifetime_seconds"]), int(raw["token_keys"]["max_keys"])),
            )
        except (KeyError, TypeError, ValueError, AttributeError, VillaContractsError) as exc:
            raise ContractError(f"contracts/data/shop.yaml is malformed: {exc!r}") from exc


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
    """Payment Method: it must be active and support the cart content."""
    if method is None or not method.active:
        raise RuleViolation(
            "invalid", f"payment method {method_id} is not active", "/payment_method", rule="payment_method_active"
        )
    missing = sorted(content - method.supports)
    if missing:
        raise RuleViolation(
            "invalid",
            f"payment method {method_id} ({method.name}) does not support {', '.join(missing)} goods in the cart",
            "/payment_method",
            rule="payment_method_supports",
        )
    return method


def check_shipping_method(method: ShippingMethod | None, method_id: int, content: frozenset[str]) -> ShippingMethod:
    """Shipping Method: it must be active and support the cart content."""
    if method is None or not method.active:
        raise RuleViolation(
            "invalid", f"shipping method {method_id} is not active", "/shipping_method", rule="shipping_method_active"
        )
    missing = sorted(content - method.supports)
    if missing:
        raise RuleViolation(
            "invalid",
            f"shipping method {method_id} ({method.name}) does not ship {', '.join(missing)} goods",
            "/shipping_method",
            rule="shipping_method_supports",
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


# --- orders and payment attempts (seed 003) -----------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class CallbackDecision:
    """What a gateway callback does.

    Attributes:
        attempt_status: the attempt's status afterwards.
        pays: the order is processed to paid now.
        changed: the attempt changes (False for a repeated callback).
        refusal: why the report is refused (it is still recorded on the attempt); None when accepted.
        refunds: the payment reported is refunded now (``refunds_at_expiry``).
    """

    attempt_status: str
    pays: bool
    changed: bool
    refusal: RuleViolation | None = None
    refunds: bool = False

    @property
    def outcome(self) -> str:
        """How the attempt's log records the report."""
        if self.refusal is not None:
            return f"refused ({self.refusal.rule})"
        if self.refunds:
            return EXPIRY_REFUND
        return "applied" if self.changed else "repeated (no change)"


def refunds_at_expiry(order_status: str, paid_by: str | None) -> bool:
    """Whether money the gateway took for an order must be refunded because the order expired.

    An order unpaid 5 hours after checkout is ``CANCELLED`` (``is_expired``), its stock released,
    while a payer may still be on the gateway's page: an approval that arrives afterwards has taken
    the customer's money for an order that no longer exists. Money is never silently lost: that
    payment is refunded, and its attempt reads ``REFUNDED`` with the reason in its log, so the
    customer sees what became of it (``GET .../attempts``); the order stays ``CANCELLED``. This is the
    shop's decision at expiry; ``decide_callback`` asks it for the mock, the state machine and the
    proxy's oracle alike.

    Example:
        >>> refunds_at_expiry(CANCELLED, None), refunds_at_expiry(HOLD, None)
        (True, False)
    """
    return order_status == CANCELLED and paid_by is None


def require_attempt(external_id: str, *, known: bool) -> None:
    """Raise unless the attempt exists (a callback or a payer's decision for an unknown attempt)."""
    if not known:
        raise RuleViolation("not_found", f"no payment attempt {external_id!r}", "/external_id", rule="known_attempt")


def decide_callback(
    *,
    attempt_status: str,
    order_status: str,
    paid_by: str | None,
    external_id: str,
    status: str,
    total_amount: int,
    currency: str,
    expected_amount: Satang,
    expected_currency: str,
) -> CallbackDecision:
    """``update_attempt_to_pay``: decide a gateway's report on a known attempt of a known order.

    The same callback twice pays once (the second changes nothing). A report of PAID pays only when
    amount and currency match the order and the order is still unpaid. Refused, and recorded on the
    attempt as ``REJECTED`` (final: the payer starts a new attempt): an amount or currency that does
    not match (``amount_must_match``), an approval for an order that is paid (``one_payment_per_order``).
    An approval for an order cancelled at expiry is refunded (``refunds_at_expiry``): the attempt
    becomes ``REFUNDED`` (final; the same report again changes nothing). Refused and recorded, the
    attempt unchanged: a repeated approval whose amount or currency no longer matches, a report that
    contradicts the attempt's final status (``attempt_final``).
    """
    mismatch = total_amount != expected_amount or currency != expected_currency
    if attempt_status == REFUNDED and status == PAID:
        return CallbackDecision(REFUNDED, False, False)  # the approval again: refunded once
    if status == attempt_status and not (status == PAID and mismatch):
        return CallbackDecision(attempt_status, False, False)  # a repeated callback: idempotent
    if status == attempt_status:  # a repeated approval that no longer matches: refused, the attempt stays PAID
        return CallbackDecision(attempt_status, False, False, _mismatch(total_amount, currency, external_id,
                                                                       expected_amount, expected_currency))  # fmt: skip
    if attempt_status != PENDING:
        refusal = RuleViolation(
            "conflict",
            f"attempt {external_id} is {attempt_status} already; a {status} report cannot change it",
            "/status",
            rule="attempt_final",
        )
        return CallbackDecision(attempt_status, False, False, refusal)
    if status != PAID:
        return CallbackDecision(status, False, True)
    if refunds_at_expiry(order_status, paid_by):  # whatever it took, amount or currency: all of it goes back
        return CallbackDecision(REFUNDED, False, True, refunds=True)
    if paid_by is not None or order_status != HOLD:
        why = f"paid by attempt {paid_by}" if paid_by else order_status.lower()
        refusal = RuleViolation(
            "conflict",
            f"the order is {why}: attempt {external_id} is not processed (one payment per order)",
            "/external_id",
            rule="one_payment_per_order",
        )
        return CallbackDecision(REJECTED, False, True, refusal)
    if mismatch:
        refusal = _mismatch(total_amount, currency, external_id, expected_amount, expected_currency)
        return CallbackDecision(REJECTED, False, True, refusal)
    return CallbackDecision(PAID, True, True)


def _mismatch(
    total_amount: int, currency: str, external_id: str, expected: Satang, expected_currency: str
) -> RuleViolation:
    return RuleViolation(
        "conflict",
        f"the gateway reports {total_amount} {currency} (minor units) but the order is "
        f"{expected} {expected_currency}: refused and recorded on attempt {external_id}",
        "/total_amount" if total_amount != expected else "/currency",
        rule="amount_must_match",
    )


def enforce(decision: CallbackDecision) -> None:
    """Raise the decision's refusal, if any (after the attempt has recorded it)."""
    if decision.refusal is not None:
        raise decision.refusal


PAYER_ACTIONS = {"approve": PAID, "decline": DECLINED, "abandon": ABANDONED}
"""What the gateway reports when the payer presses a button on its page."""


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
