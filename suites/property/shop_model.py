"""The oracle of the shop's state machine: what the shop must answer, worked out by ``villa_contracts.domain.shop``.

The model never looks at the target: no HTTP, no server, no hypothesis. It is told which requests the
machine makes and which answers it accepted (the customers it met, the orders a checkout made, the
attempts a payment started, the time that passed), and predicts each next answer by calling the rule
functions the mock calls: which rule refuses (``check_checkout``, ``require_visible``,
``require_payable``, ``require_in_cart``, ``line``; a ``RuleViolation`` becomes the predicted refusal,
its status from ``villa_contracts.domain.errors.STATUS``), what a gateway's report does
(``decide_callback``, which asks ``refunds_at_expiry`` for an approval after expiry), what the order,
cart and attempts become (``cart_after_payment``, ``is_expired``) and how the order list pages
(``page_of``); it compares an answered cart, order or order list with what it predicts (a ``Problem``
named for the check at stake). The model only adds what a prediction needs beyond the rules: the
success statuses, and which refusal another backend (whose stock is unknown) may also answer.
Amounts are integer satang.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from suites.property.invariants import Problem
from villa_contracts.domain import shop as rules
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation, refusal_of
from villa_contracts.domain.money import Satang, fmt, to_satang

if TYPE_CHECKING:
    from suites.property.paging import Walk

OK, CREATED = 200, 201
"""The success statuses of the shop API: an answer, and a resource made (a guest, an address, an attempt)."""
GUEST = 2
MISSING_ADDRESS = 999_999_999
READS = {"getOrder": "", "getOrderToPay": "/pay", "listPaymentAttempts": "/attempts"}
"""The reads of one order, and the path suffix of each."""
TO_PAY = frozenset({"getOrderToPay", "createPaymentAttempt"})
"""The operations on one order that also need it to wait for payment."""
_FILLED = {"first_name": "x", "last_name": "x", "phone": "x", "email": "x"}
Rule = tuple[str, Callable[[], object]]
"""A rule of the domain by name, ready to decide (it raises its refusal)."""


@dataclass(frozen=True, slots=True)
class Expect:
    """A prediction: the status a request must get, the rule at stake, and why.

    Attributes:
        status: the predicted HTTP status.
        why: the model's reason, for the failure message.
        refusal: the domain's refusal, when the request is refused (its message is the answer's on a mock).
        also: other statuses accepted (only where the target's stock is not known).
    """

    status: int
    why: str
    refusal: RuleViolation | None = None
    also: tuple[int, ...] = ()

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every accepted status, the predicted one first."""
        return (self.status, *self.also)

    @classmethod
    def of(cls, refusal: RuleViolation, also: tuple[int, ...] = ()) -> Expect:
        """The refusal a rule of the domain predicts (``also``: other statuses accepted)."""
        return cls(refusal.status, f"rule {refusal.rule}: {refusal.message}", refusal, also)

    @classmethod
    def ok(cls, why: str, status: int = OK) -> Expect:
        """A request the rules let through."""
        return cls(status, why)


@dataclass
class Customer:
    """What the model knows of one customer: who, their addresses, whether their profile is complete, their cart."""

    identity: str
    addresses: list[int]
    profile_complete: bool
    cart: dict[int, int] = field(default_factory=dict)


@dataclass
class ShopOrder:
    """What the model knows of one order the example made."""

    key: str
    owner: int
    lines: tuple[rules.Line, ...]
    total: Satang
    kind: str
    status: str
    attempts: dict[str, str] = field(default_factory=dict)
    paid_by: str | None = None
    created_at: float = 0.0
    """When it was checked out, on the example's clock (``ShopModel.now``)."""


@dataclass(frozen=True, slots=True)
class CheckoutExpect:
    """The prediction of a ``checkoutCart``.

    Attributes:
        body: the request to send (the address id the choice names, the methods).
        expect: the status; a refusal where a rule refuses.
        outcome: what the order will be, when the rules let it through.
    """

    body: dict[str, int]
    expect: Expect
    outcome: rules.Checkout | None


@dataclass(frozen=True, slots=True)
class Payment:
    """A gateway report the machine sends and what the domain decides of it (``decide_callback``)."""

    external_id: str
    status: str
    amount: Satang
    currency: str
    decision: rules.CallbackDecision

    @property
    def expect(self) -> Expect:
        """The answer: the refusal's, or the attempt's new status."""
        if self.decision.refusal is not None:
            return Expect.of(self.decision.refusal)
        return Expect.ok(f"the attempt becomes {self.decision.attempt_status}")

    def callback_body(self) -> dict[str, Any]:
        """The gateway's callback of this report."""
        return {
            "external_id": self.external_id,
            "status": self.status,
            "total_amount": self.amount,
            "currency": self.currency,
        }


# --- the decisions the gate's model and the proxy's oracle share --------------------------------


def order_rules(operation: str, key: str, owner: str | None, caller: str, status: str | None) -> list[Rule]:
    """The domain's rules an operation on one order goes through, in order, by rule name.

    The order must be the caller's (``ownership``; someone else's reads as missing), then, for ``TO_PAY``
    operations, wait for payment (``paid_stays_paid``; ``status`` None: not known, not judged).
    """
    found: list[Rule] = [("ownership", partial(rules.require_visible, key, owner, caller))]
    if operation in TO_PAY and status is not None:
        found.append(("paid_stays_paid", partial(rules.require_payable, key, status)))
    return found


def first_refusal(found: list[Rule]) -> RuleViolation | None:
    """The refusal of the first rule that refuses (the answer; the rest cannot be told apart), or None."""
    return next((refusal for _, decide in found if (refusal := refusal_of(decide)) is not None), None)


def known_address(address_id: int, owner: str) -> rules.Address:
    """An address as far as the checkout's rules need it: its id and its owner."""
    return rules.Address(address_id, owner, "", "", "", "")


def cart_after_write(cart: Mapping[int, int], product: int, quantity: int | None, *, add: bool) -> dict[int, int]:
    """The cart after ``add``-ing ``quantity`` of ``product``, or setting its line (None: removed); or the refusal."""
    if add:
        return rules.add_to_cart(cart, product, quantity or 0)
    rules.require_in_cart(cart, product)
    after = {**cart, product: quantity or 0}
    if quantity is None:
        del after[product]
    return after


def page_report(action: str, total: Satang, currency: str) -> tuple[str, Satang, str] | None:
    """The payer's ``action`` on the gateway's page as its report: the status, the attempt's own amount and currency."""
    status = rules.PAYER_ACTIONS.get(action)
    return None if status is None else (status, total, currency)


def decide_report(
    report: tuple[str, str, int, str], *, attempt: str, order_status: str, paid_by: str | None, total: Satang,
    currency: str,
) -> Payment:  # fmt: skip
    """``decide_callback`` on a report ``(external_id, status, amount, currency)`` on an attempt ``attempt`` now."""
    external_id, status, amount, sent = report
    decision = rules.decide_callback(
        attempt_status=attempt, order_status=order_status, paid_by=paid_by, external_id=external_id, status=status,
        total_amount=amount, currency=sent, expected_amount=total, expected_currency=currency,
    )  # fmt: skip
    return Payment(external_id, status, amount, sent, decision)


class ShopModel:
    """The oracle: the example's customers, carts, orders, attempts, stock and clock, and each next answer.

    Args:
        data: the contract's business data (the catalog the shop prices from).
        shop: the store's data (methods, currency, branch).
    """

    def __init__(self, data: BusinessData, shop: rules.ShopData) -> None:
        self.data = data
        self.shop = shop
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, ShopOrder | None] = {}
        self.free: dict[int, int] | None = None
        """Units left per product, when known (a mock's ``/__admin/stock``); None: not known."""
        self.before: dict[int, int] = {GUEST: 0}
        """Orders each customer had when the example started, when known (a mock)."""
        self.now = 0.0

    # --- customers and carts -----------------------------------------------------------------

    def meet(self, actor: int, identity: str, *, addresses: list[int] | None = None, complete: bool = True) -> None:
        """The target answered who ``actor`` is (a profile, a new guest)."""
        self.customers[actor] = Customer(identity, list(addresses or []), complete)

    def completed(self, actor: int) -> None:
        """``actor``'s profile was answered complete."""
        self.customers[actor].profile_complete = True

    def address_added(self, actor: int, address_id: int) -> None:
        """An address was made for ``actor``."""
        self.customers[actor].addresses.append(address_id)

    def cart(self, actor: int) -> list[tuple[int, int]]:
        """``actor``'s cart lines, ``(product, quantity)`` in the order they were added."""
        return list(self.customers[actor].cart.items())

    def cart_total(self, actor: int) -> str:
        """``actor``'s cart's ``items_total`` as answered (the catalog's prices: a mock's)."""
        return fmt(rules.items_total(self._lines(actor)))

    def cart_problems(self, actor: int, doc: Mapping[str, Any], *, prices: bool) -> list[Problem]:
        """An answered cart against the model's: its lines, and (``prices``: the catalog's) its ``items_total``."""
        cart = self.cart(actor)
        got = [(i.get("product_id"), i.get("quantity")) for i in doc.get("items") or []]
        if got != cart:
            return [Problem("cart", f"the cart's lines {cart!r}", repr(got))]
        total = self.cart_total(actor)
        if prices and doc.get("items_total") != total:
            return [Problem("shop_totals", f"items_total {total}", repr(doc.get("items_total")))]
        return []

    def _lines(self, actor: int) -> list[rules.Line]:
        return [rules.line(self.data, self.shop, p, q) for p, q in self.customers[actor].cart.items()]

    def expect_add_item(self, actor: int, product: int, quantity: int) -> Expect:
        """``addCartItem``: a product the store sells, and a line that stays within 9999 units."""
        refusal = refusal_of(rules.line, self.data, self.shop, product, quantity)
        refusal = refusal or refusal_of(cart_after_write, self.customers[actor].cart, product, quantity, add=True)
        return Expect.of(refusal) if refusal is not None else Expect.ok("the store sells it")

    def item_added(self, actor: int, product: int, quantity: int) -> None:
        """``addCartItem`` was answered: the line holds ``quantity`` more."""
        customer = self.customers[actor]
        customer.cart = cart_after_write(customer.cart, product, quantity, add=True)

    def expect_change_item(self, actor: int, product: int) -> Expect:
        """``changeCartItem`` / ``removeCartItem``: only a line that is in the cart."""
        refusal = refusal_of(cart_after_write, self.customers[actor].cart, product, None, add=False)
        return Expect.of(refusal) if refusal is not None else Expect.ok("the line is in the cart")

    def item_changed(self, actor: int, product: int, quantity: int | None) -> None:
        """The line was changed to ``quantity`` (None: removed)."""
        customer = self.customers[actor]
        customer.cart = cart_after_write(customer.cart, product, quantity, add=False)

    # --- checkout ------------------------------------------------------------------------------

    def address(self, actor: int, choice: str) -> tuple[int, rules.Address | None]:
        """The address id a checkout sends, and the address the domain sees (its owner matters).

        ``choice``: ``own``, ``foreign`` (the next customer's) or ``missing``.
        """
        if choice == "missing":
            return MISSING_ADDRESS, None
        owner = self.customers[actor if choice == "own" else (actor + 1) % 3]
        if not owner.addresses:
            return MISSING_ADDRESS, None
        return owner.addresses[0], known_address(owner.addresses[0], owner.identity)

    def expect_checkout(self, actor: int, choice: str, payment: int, shipping: int) -> CheckoutExpect:
        """``checkoutCart``: every rule of seed 002 in its order (``check_checkout``); the first that fails wins.

        Where stock is not known, a checkout may also be refused for stock wherever the stock rule comes
        before the answer predicted (a checkout the rules let through, or one a later rule refuses: the
        payment service down): the ``in_stock`` refusal (with no stock at all) is accepted too.
        """
        customer = self.customers[actor]
        lines = self._lines(actor)
        address_id, address = self.address(actor, choice)
        body = {"address": address_id, "payment_method": payment, "shipping_method": shipping}

        def decide(free: dict[int, int]) -> rules.Checkout:
            return rules.check_checkout(
                self.shop, lines=lines, free=free, profile=_FILLED if customer.profile_complete else {},
                address=address, address_id=address_id, payment_method_id=payment, shipping_method_id=shipping,
                caller=customer.identity,
            )  # fmt: skip

        free = self.free if self.free is not None else {item.product_id: 10**9 for item in lines}
        also: tuple[int, ...] = ()
        if self.free is None:  # stock not known: a shortage is an answer too, where its rule comes first
            stock = refusal_of(decide, {item.product_id: 0 for item in lines})
            if stock is not None and stock.rule == "in_stock":
                also = (stock.status,)
        try:
            outcome = decide(free)
        except RuleViolation as refusal:
            return CheckoutExpect(body, Expect.of(refusal, also=also), None)
        return CheckoutExpect(body, Expect(OK, "every checkout rule holds", also=also), outcome)

    def checked_out(self, number: int, actor: int, outcome: rules.Checkout, key: str, attempt: str | None) -> ShopOrder:
        """The checkout made order ``key``; its stock is held.

        A direct payment: ``PROCESSING`` at once, the cart deleted. Else ``HOLD``, its first attempt ``PENDING``.
        """
        if self.free is not None:
            for product, units in outcome.needs.items():
                self.free[product] -= units
        direct = outcome.payment.kind == rules.DIRECT
        status = rules.PROCESSING if direct else rules.HOLD
        order = ShopOrder(key, actor, outcome.lines, outcome.total, outcome.payment.kind, status, created_at=self.now)
        if direct:
            self._cart_deleted(actor)
        elif attempt is not None:
            order.attempts[attempt] = rules.PENDING
        self.orders[number] = order
        return order

    def _cart_deleted(self, actor: int) -> None:
        customer = self.customers[actor]
        customer.cart = rules.cart_after_payment(customer.cart)

    # --- orders --------------------------------------------------------------------------------

    def expect_read(self, ref: int, actor: int, what: str) -> Expect:
        """``getOrder``, ``getOrderToPay`` or ``listPaymentAttempts`` of order ``ref`` by ``actor``."""
        refusal = first_refusal(self._order_rules(what, ref, actor))
        return Expect.of(refusal) if refusal is not None else Expect.ok("the caller's own order")

    def _order_rules(self, operation: str, ref: int, actor: int) -> list[Rule]:
        order = self.orders[ref]
        assert order is not None
        owner, caller = self.customers[order.owner].identity, self.customers[actor].identity
        return order_rules(operation, order.key, owner, caller, order.status)

    def expect_new_attempt(self, ref: int, actor: int) -> Expect:
        """``createPaymentAttempt``: only the owner, only while unpaid."""
        refusal = first_refusal(self._order_rules("createPaymentAttempt", ref, actor))
        return Expect.of(refusal) if refusal is not None else Expect.ok("an unpaid order of the caller", CREATED)

    def attempt_started(self, ref: int, external_id: str) -> None:
        """A new attempt of order ``ref`` was made: ``PENDING``."""
        order = self.orders[ref]
        assert order is not None
        order.attempts[external_id] = rules.PENDING

    def order_problems(self, order: ShopOrder, doc: Mapping[str, Any], *, prices: bool) -> list[Problem]:
        """An answered order against the model's (its first difference).

        Key, status, owner, lines, the total (``prices``: the catalog's), and the paying attempt its snapshot names.
        """
        expected = {"order_key": order.key, "status": order.status, "customer": self.customers[order.owner].identity}
        got = {key: doc.get(key) for key in expected}
        if got != expected:
            return [Problem("shop_order", f"the order as the domain has it: {expected!r}", repr(got))]
        bought = [(item.product_id, item.quantity) for item in order.lines]
        answered = [(i.get("product_id"), i.get("quantity")) for i in doc.get("items") or []]
        if bought != answered:
            return [Problem("shop_order", f"the order's lines {bought!r}", repr(answered))]
        if prices and to_satang(doc.get("total", "0")) != order.total:
            return [Problem("shop_totals", f"the order's total {fmt(order.total)}", repr(doc.get("total")))]
        paying = (doc.get("snapshot") or {}).get("payment_external_id")
        if order.status == rules.PROCESSING and paying != order.paid_by:
            return [Problem("shop_one_payment", f"the snapshot names the paying attempt {order.paid_by!r}",
                            repr(paying))]  # fmt: skip
        return []

    def mine(self, actor: int) -> list[ShopOrder]:
        """The example's orders of ``actor``, newest first (as ``listOrders`` answers them)."""
        return [o for o in reversed(self.orders.values()) if o is not None and o.owner == actor]

    def order_count(self, actor: int, answered: int | None) -> int:
        """How many orders ``actor`` has: exact where the count at the start is known, else the answered one."""
        before = self.before.get(actor)
        return before + len(self.mine(actor)) if before is not None else answered or 0

    @staticmethod
    def expect_page(count: int, number: int, size: int) -> tuple[int, int, int, tuple[int, int], int]:
        """Page ``number`` of ``size`` of ``count`` orders: (status, count, total_pages, echo, orders on it)."""
        start, end, total = rules.page_of(count, number, size)
        return OK, count, total, (number, size), end - start

    def list_problems(
        self, actor: int, walked: Walk, docs: Mapping[Any, Mapping[str, Any]], size: int, *, exact_order: bool
    ) -> list[Problem]:
        """``actor``'s answered order list (pages of ``size``, ``docs`` by key) against the model's.

        Each page as ``page_of`` pages the caller's orders; the example's orders first, newest first
        (``exact_order`` False: same-instant orders in any order); no one else's order.
        """
        count = self.order_count(actor, walked.pages[0].count)
        for page in walked.pages:
            predicted = self.expect_page(count, page.number, size)
            got = (page.status, page.count, page.total_pages, page.echo, len(page.ids))
            if got != predicted:
                return [Problem("shop_pages", f"page {page.number} of page_size {size} (status, count, total_pages, "
                                f"(page, page_size), orders) {predicted!r}", repr(got))]  # fmt: skip
        listed, mine = walked.listed(), self.mine(actor)
        head = [(key, docs[key].get("status")) for key in listed[: len(mine)]]
        expected = [(o.key, o.status) for o in mine][: len(listed)]
        if head != expected and (exact_order or sorted(head) != sorted(expected)):
            return [Problem("shop_order", f"the example's orders first, newest first {expected!r}", repr(head))]
        identity = self.customers[actor].identity
        for doc in docs.values():
            if doc.get("customer") != identity:
                return [Problem("ownership", f"only the caller's orders ({identity})", repr(doc.get("customer")))]
        return []

    # --- payment -------------------------------------------------------------------------------

    def decide_payment(self, ref: int, action: str, *, wrong: str | None = None) -> Payment | None:
        """The gateway's report of the payer's ``action`` on the order's newest attempt (None: it has none).

        ``wrong``: the report's ``amount`` or ``currency`` is not the order's (a callback only).
        """
        order = self.orders.get(ref)
        if order is None or not order.attempts:
            return None
        external_id = list(order.attempts)[-1]
        reported = page_report(action, order.total, self.shop.currency)
        assert reported is not None, action
        status, amount, currency = reported
        amount += 1 if wrong == "amount" else 0
        currency = "USD" if wrong == "currency" else currency
        return decide_report((external_id, status, amount, currency), attempt=order.attempts[external_id],
                             order_status=order.status, paid_by=order.paid_by, total=order.total,
                             currency=self.shop.currency)  # fmt: skip

    def reported(self, ref: int, payment: Payment) -> ShopOrder:
        """The report was sent: the attempt is what the domain decided.

        A payment makes the order ``PROCESSING``, paid by that attempt, and deletes its owner's cart.
        """
        order = self.orders[ref]
        assert order is not None
        order.attempts[payment.external_id] = payment.decision.attempt_status
        if payment.decision.pays:
            order.status, order.paid_by = rules.PROCESSING, payment.external_id
            self._cart_deleted(order.owner)
        return order

    # --- time ----------------------------------------------------------------------------------

    def time_passes(self, seconds: float) -> list[int]:
        """``seconds`` pass: the orders the domain expires (``is_expired``) are ``CANCELLED``; their numbers."""
        self.now += seconds
        expired = []
        for number, order in self.orders.items():
            if order is not None and rules.is_expired(order.status, rules.expires_at(order.created_at), self.now):
                order.status = rules.CANCELLED
                expired.append(number)
        return expired

    def waits_for_payer(self, ref: int) -> bool:
        """Whether order ``ref``'s newest attempt is still ``PENDING`` (a payer on the gateway's page)."""
        order = self.orders.get(ref)
        return order is not None and list(order.attempts.values())[-1:] == [rules.PENDING]


__all__ = [
    "CheckoutExpect",
    "Customer",
    "Expect",
    "Payment",
    "ShopModel",
    "ShopOrder",
    "cart_after_write",
    "decide_report",
    "first_refusal",
    "known_address",
    "order_rules",
    "page_report",
]
