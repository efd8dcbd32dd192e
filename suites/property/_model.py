"""The oracle of the state machine: what the Villa backend must answer, worked out from ``villa_contracts.domain``.

The model never looks at the target. It is told which requests the machine makes and which answers
it accepted, and predicts the status (and, on the contract's own catalog, the exact prices) of each
next request. Amounts are integer satang.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang
from villa_contracts.domain.orders import check_stock
from villa_contracts.domain.payments import AUTHORIZED, DECLINED, PRE_AUTHORIZED, charge_outcome
from villa_contracts.domain.pricing import Quote, price_cart
from villa_contracts.errors import UsageError

Line = tuple[int, int]
"""One product line: ``(cprcode, quantity)``."""

UNKNOWN_COUPON = "NO-SUCH-COUPON"
_ADDRESS = {
    "shippingAddress": "168 Sukhumvit 33 Road, Khlong Toei Nuea, Watthana, Bangkok",
    "shippingPostcode": "10110",
    "shippingPhone": "0812345678",
    "shippingLat": 13.7367,
    "shippingLon": 100.5646,
}
_RULE_STATUS = {"not_found": 404, "conflict": 409, "forbidden": 403}


@dataclass(frozen=True, slots=True)
class Cart:
    """What an order or a pricing request asks for.

    Attributes:
        branch: the branch id.
        lines: ``(cprcode, quantity)`` pairs.
        delivery: None (no shipping block), ``PICKUP``, or a schedule mode (``REGULAR``, ``EXPRESS``...).
        coupons: coupon codes.
    """

    branch: str
    lines: tuple[Line, ...]
    delivery: str | None = None
    coupons: tuple[str, ...] = ()

    def product_list(self) -> list[dict[str, Any]]:
        """The ``productList`` of a request."""
        return [{"cprcode": code, "quantity": quantity} for code, quantity in self.lines]

    def shipping(self) -> dict[str, Any] | None:
        """The ``shipping`` block of a request (valid for both the Order and the pricing schemas)."""
        if self.delivery is None:
            return None
        if self.delivery == "PICKUP":
            return {"shippingType": "PICKUP", "scheduleList": [], **_ADDRESS}
        return {"shippingType": "DELIVERY", "scheduleList": [{"mode": self.delivery, "scheduleId": 1}], **_ADDRESS}

    def options(self) -> dict[str, Any]:
        """The request's ``shipping`` and ``couponCodeList`` fields, when the cart has them."""
        options: dict[str, Any] = {}
        if self.delivery is not None:
            options["shipping"] = self.shipping()
        if self.coupons:
            options["couponCodeList"] = list(self.coupons)
        return options

    def needs(self) -> Counter[int]:
        """Units per cprcode the cart holds."""
        needs: Counter[int] = Counter()
        for code, quantity in self.lines:
            needs[code] += quantity
        return needs


@dataclass(frozen=True, slots=True)
class Expect:
    """A prediction: the status a request must get, and the invariant at stake if it does not.

    Attributes:
        status: the predicted HTTP status.
        check: the invariant a different status breaks.
        why: the model's reason, for the failure message.
        quote: the exact pricing, when the model knows it (the target prices from the contract's catalog).
        also: other statuses accepted (only when the target's catalog is not the contract's).
    """

    status: int
    check: str
    why: str
    quote: Quote | None = None
    also: tuple[int, ...] = ()

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every accepted status, the predicted one first."""
        return (self.status, *self.also)


@dataclass(slots=True)
class OrderModel:
    """What the model knows of one created order."""

    order_id: str
    owner: int
    cart: Cart
    total: Satang
    doc: dict[str, Any]
    paid_by: str | None = None

    @property
    def paid(self) -> bool:
        """Whether a verified charge settled the order."""
        return self.paid_by is not None


@dataclass(slots=True)
class ChargeModel:
    """One charge the target made."""

    charge_id: str
    order_id: str
    owner: int
    state: str


@dataclass(frozen=True, slots=True)
class Problem:
    """A difference between an answer and the model."""

    check: str
    expected: str
    got: str


class StockLedger:
    """Units the run's own orders hold, per branch and cprcode; shared by every example of a run.

    Args:
        exclusive: nothing else holds stock on the target (a fresh mock), so the ledger is the
            whole truth. Otherwise other orders may hold some: only an order that cannot fit even
            beside the run's own holds is certainly out of stock.

    Attributes:
        trusted: False once the target did something to stock the ledger cannot account for (an
            answer with an unknown effect, a write it answered but did not keep): from then on
            stock is not predicted.
    """

    def __init__(self, *, exclusive: bool = True) -> None:
        self.exclusive = exclusive
        self.trusted = True
        self._held: dict[str, Counter[int]] = {}

    def others(self, branch: str, minus: Counter[int]) -> dict[int, int]:
        """What is held at ``branch`` besides ``minus`` (the order being changed)."""
        held = Counter(self._held.get(branch, Counter()))
        held.subtract(minus)
        return dict(held)

    def move(self, branch: str, before: Counter[int], after: Counter[int]) -> None:
        """An order's hold went from ``before`` to ``after``."""
        held = self._held.setdefault(branch, Counter())
        held.update(after)
        held.subtract(before)


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


class Model:
    """The oracle: issued ids, orders, charges and stock, and what each next request must answer.

    Args:
        data: the contract's business data.
        strict: the target prices from the contract's catalog (a mock): predict exact prices and stock.
            Otherwise only internal consistency, statuses that follow from the machine's own calls,
            and the invariants (ownership, paid stays paid) are predicted.
        ledger: the run's stock ledger.
    """

    def __init__(self, data: BusinessData, *, strict: bool, ledger: StockLedger) -> None:
        self.data = data
        self.strict = strict
        self.ledger = ledger
        self.issued: dict[str, tuple[int, str]] = {}
        self.orders: dict[str, OrderModel] = {}
        self.charges: dict[str, ChargeModel] = {}

    def price(self, cart: Cart) -> Quote | RuleViolation:
        """The domain's pricing of ``cart``, or the rule that refuses it."""
        try:
            return price_cart(
                self.data, cart.branch, cart.product_list(), shipping=cart.shipping(), coupon_codes=cart.coupons
            )
        except RuleViolation as exc:
            return exc

    # Predictions.

    def expect_create(self, user: int, order_id: str, cart: Cart, *, foreign_owner: bool = False) -> Expect:
        """``createOrder`` by ``user`` with an id from the bundle (in the other user's name: ``foreign_owner``)."""
        if foreign_owner:
            refusal = self.expect_create(user, order_id, cart)
            also = (refusal.status,) if refusal.status in (404, 409) else ()
            return Expect(403, "owner_is_caller", "ownerId is the other user's sub", also=also)
        issued = self.issued.get(order_id)
        if issued is None or issued[0] != user:
            return Expect(404, "id_issued_to_caller", f"order id {order_id} was not generated for this user")
        if order_id in self.orders:
            return Expect(409, "id_used_once", f"order {order_id} was already created")
        return self._expect_priced(cart, Counter(), "createOrder")

    def _owned(self, user: int, order_id: str) -> OrderModel | Expect:
        """The order if ``user`` owns it, else the 404 a missing or foreign order must get."""
        order = self.orders.get(order_id)
        if order is None:
            return Expect(404, "expected_status", f"order {order_id} was never created")
        if order.owner != user:
            return Expect(404, "ownership", f"order {order_id} belongs to the other user")
        return order

    def expect_update(self, user: int, order_id: str, cart: Cart) -> Expect:
        """``updateOrder`` by ``user``."""
        order = self._owned(user, order_id)
        if isinstance(order, Expect):
            return order
        if order.paid:
            return Expect(409, "paid_stays_paid", f"order {order_id} is paid")
        return self._expect_priced(cart, order.cart.needs(), "updateOrder")

    def _expect_priced(self, cart: Cart, held: Counter[int], operation: str) -> Expect:
        quote = self.price(cart)
        if not self.strict:
            # Another catalog: the product may be unknown (404) or out of stock (409) there.
            return Expect(200, "expected_status", f"{operation} of an issued id", also=(404, 409))
        if isinstance(quote, RuleViolation):
            return Expect(_RULE_STATUS[quote.kind], "catalog", quote.message)
        try:
            check_stock(self.data, cart.branch, cart.needs(), self.ledger.others(cart.branch, held))
        except RuleViolation as exc:
            return Expect(409, "stock", exc.message, also=() if self.ledger.trusted else (200,))
        # Orders made before the run may hold the rest.
        also = () if self.ledger.exclusive and self.ledger.trusted else (409,)
        return Expect(200, "expected_status", f"{operation}: priced and in stock", quote=quote, also=also)

    def expect_get(self, user: int, order_id: str) -> Expect:
        """``getOrder`` by ``user``."""
        order = self._owned(user, order_id)
        if isinstance(order, Expect):
            return order
        return Expect(200, "stored_document", f"order {order_id} is the caller's")

    def expect_pricing(self, cart: Cart, *, foreign_owner: bool) -> Expect:
        """``calculateGrandtotal`` of ``cart`` (with the other user's ``ownerId`` when ``foreign_owner``)."""
        if foreign_owner:
            return Expect(403, "owner_is_caller", "ownerId is not the caller's sub")
        quote = self.price(cart)
        if not self.strict:
            return Expect(200, "expected_status", "a cart of catalog products", also=(404,))
        if isinstance(quote, RuleViolation):
            return Expect(_RULE_STATUS[quote.kind], "catalog", quote.message)
        return Expect(200, "expected_status", "a cart of products the branch sells", quote=quote)

    def expect_payable(self, user: int, order_id: str, amount: Satang | None) -> Expect:
        """``cardtoken`` or ``charge`` of ``amount`` (None: the grand total) for ``order_id``."""
        order = self._owned(user, order_id)
        if isinstance(order, Expect):
            return order
        if order.paid:
            return Expect(409, "paid_stays_paid", f"order {order_id} is paid already")
        if amount is not None and amount != order.total:
            return Expect(409, "amount_must_match", f"{fmt(amount)} THB is not the grand total {fmt(order.total)} THB")
        return Expect(200, "expected_status", "an unpaid order of the caller, for its grand total")

    def expect_charge_state(self, card: str) -> str | None:
        """The transaction state a charge with ``card`` gets; None when the gateway is down (503)."""
        outcome = charge_outcome(self.data, card)
        return None if outcome is None else outcome.transaction_state

    def expect_verify(self, user: int, charge_id: str) -> tuple[Expect, bool]:
        """``verify`` of a charge by ``user``: the prediction, and whether the answer says ``paid``."""
        charge = self.charges[charge_id]
        if charge.owner != user:
            return Expect(404, "ownership", f"charge {charge_id} is the other user's"), False
        order = self.orders[charge.order_id]
        paid = order.paid_by == charge_id or (charge.state == AUTHORIZED and not order.paid)
        check = "declined_never_paid" if charge.state == DECLINED else "payment_outcome"
        return Expect(200, check, f"the caller's charge, {charge.state}"), paid

    def expect_three_ds(self, charge_id: str) -> Expect:
        """``threeDSecureSubmit`` for a charge."""
        state = self.charges[charge_id].state
        if state != PRE_AUTHORIZED:
            return Expect(409, "payment_outcome", f"charge {charge_id} is {state}, not waiting for 3-D Secure")
        return Expect(200, "payment_outcome", "the charge waits for 3-D Secure")

    # What the target did (accepted answers).

    def issue(self, order_id: str, user: int, branch: str) -> None:
        """``generateOrderId`` gave ``order_id`` to ``user``."""
        self.issued[order_id] = (user, branch)

    def created(self, order_id: str, user: int, cart: Cart, doc: dict[str, Any]) -> OrderModel:
        """``createOrder`` stored ``doc`` (its stock hold is ``held``'s business)."""
        order = OrderModel(order_id, user, cart, self._total(doc), doc)
        self.orders[order_id] = order
        return order

    def updated(self, order: OrderModel, cart: Cart, doc: dict[str, Any]) -> None:
        """``updateOrder`` stored ``doc`` (its stock hold is ``held``'s business)."""
        order.cart, order.total, order.doc = cart, self._total(doc), doc

    def held(self, order_id: str, cart: Cart) -> None:
        """The target answered 200 to a create or update of ``order_id`` with ``cart``: it holds that now."""
        order = self.orders.get(order_id)
        self.ledger.move(cart.branch, order.cart.needs() if order is not None else Counter(), cart.needs())

    def charged(self, charge_id: str, order_id: str, user: int, state: str) -> None:
        """A charge was made (or changed state)."""
        self.charges[charge_id] = ChargeModel(charge_id, order_id, user, state)

    def settled(self, order_id: str, charge_id: str, doc: dict[str, Any]) -> None:
        """``verify`` paid ``order_id`` with ``charge_id``."""
        order = self.orders[order_id]
        order.paid_by, order.doc = charge_id, doc

    @staticmethod
    def _total(doc: Mapping[str, Any]) -> Satang:
        return money((doc.get("payment") or {}).get("grandTotal")) or 0


# Checks of answered documents.


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


__all__ = [
    "AUTHORIZED",
    "DECLINED",
    "PRE_AUTHORIZED",
    "UNKNOWN_COUPON",
    "Cart",
    "ChargeModel",
    "Expect",
    "Model",
    "OrderModel",
    "Problem",
    "StockLedger",
    "consistency_problems",
    "money",
    "order_problems",
    "paid_problems",
    "pricing_problems",
    "substance",
]
