"""The oracle of the state machine: what the Villa backend must answer, worked out by ``villa_contracts.domain``.

The model never looks at the target. It is told which requests the machine makes and which answers
it accepted, and predicts the status (and, on the contract's own catalog, the exact prices) of each
next request by calling the same rule functions the mock calls: a ``RuleViolation`` becomes the
predicted refusal (its status from ``villa_contracts.domain.errors.STATUS``, its check the rule's
name). The model only adds what a prediction needs beyond the rules: which statuses another
backend may also answer. Amounts are integer satang.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from suites.property.invariants import money
from villa_contracts.domain import orders, payments
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import STATUS, RuleViolation, refusal_of
from villa_contracts.domain.money import Satang, fmt
from villa_contracts.domain.pricing import Quote, price_cart

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

    Every API's model predicts with it (``suites.property.engine`` judges answers by it).

    Attributes:
        status: the predicted HTTP status.
        check: the invariant a different status breaks (a refusal's rule).
        why: the model's reason, for the failure message.
        quote: what the model knows of the answer beyond its status (an API's own: here the exact pricing,
            when the target prices from the contract's catalog).
        also: other statuses accepted (where the target is not the mock, some facts are its own).
    """

    status: int
    check: str
    why: str
    quote: Any = None
    also: tuple[int, ...] = ()

    @property
    def statuses(self) -> tuple[int, ...]:
        """Every accepted status, the predicted one first."""
        return (self.status, *self.also)

    @classmethod
    def of(cls, refusal: RuleViolation, *, also: tuple[int, ...] = ()) -> Expect:
        """The refusal a rule of the domain predicts: its status, and its rule as the check at stake."""
        return cls(refusal.status, refusal.rule, refusal.message, also=also)


@dataclass(slots=True)
class OrderModel:
    """What the model knows of one created order."""

    order_id: str
    owner: int
    cart: Cart
    total: Satang
    doc: dict[str, Any]
    paid_by: str | None = None
    expired: bool = False
    """It expired unpaid holding money: kept as the record of its voided charges (``payments.decide_expiry``)."""

    @property
    def paid(self) -> bool:
        """Whether a verified charge settled the order."""
        return self.paid_by is not None


@dataclass(slots=True)
class ChargeModel:
    """One charge the target made, and the amount it was made for."""

    charge_id: str
    order_id: str
    owner: int
    state: str
    amount: Satang = 0

    @property
    def facts(self) -> payments.ChargeFacts:
        """What the payment rules need to know of it."""
        return payments.ChargeFacts(self.charge_id, self.state, self.amount)


def gateway_down() -> RuleViolation:
    """The domain's refusal of a charge whose card's gateway does not answer (nothing is charged)."""
    refusal = refusal_of(
        payments.check_token, known=True, used=False, expires_at=float("inf"), now=0.0, gateway_down=True
    )
    assert refusal is not None
    return refusal


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
        issued = self.issued.get(order_id)
        facts = {
            "caller": str(user),
            "issued_to": None if issued is None else str(issued[0]),
            "issued_branch": None if issued is None else issued[1],
            "exists": order_id in self.orders,
            "branch": cart.branch,
        }
        refusal = refusal_of(orders.decide_create, order_id, claimed_owner=str(1 - user if foreign_owner else user),
                             **facts)  # fmt: skip
        if foreign_owner:
            assert refusal is not None
            # Another backend may look at the id before the owner: its refusal of the id is fine too.
            same_owner = self.expect_create(user, order_id, cart)
            id_refusals = {STATUS["not_found"], STATUS["conflict"]}  # the id unknown, or used already
            also = (same_owner.status,) if same_owner.status in id_refusals else ()
            return Expect.of(refusal, also=also)
        if refusal is not None:
            return Expect.of(refusal)
        return self._expect_priced(cart, Counter(), "createOrder")

    def _owned(self, user: int, order_id: str) -> OrderModel | Expect:
        """The order if ``user`` owns it, else the refusal a missing or foreign order must get."""
        order = self.orders.get(order_id)
        refusal = refusal_of(orders.require_visible, order_id, None if order is None else str(order.owner), str(user))
        if refusal is not None:
            return Expect.of(refusal)
        assert order is not None
        return order

    def expect_update(self, user: int, order_id: str, cart: Cart) -> Expect:
        """``updateOrder`` by ``user`` (in its own name)."""
        order = self.orders.get(order_id)
        refusal = refusal_of(
            orders.decide_update,
            order_id,
            owner=None if order is None else str(order.owner),
            claimed_owner=str(user),
            caller=str(user),
            paid=order is not None and order.paid,
            stored_branch="" if order is None else order.cart.branch,
            branch=cart.branch,
            expired=order is not None and order.expired,
        )
        if refusal is not None:
            return Expect.of(refusal)
        assert order is not None
        return self._expect_priced(cart, order.cart.needs(), "updateOrder")

    def _expect_priced(self, cart: Cart, held: Counter[int], operation: str) -> Expect:
        quote = self.price(cart)
        if not self.strict:
            # Another catalog: the product may be unknown (404) or out of stock (409) there.
            return Expect(200, "expected_status", f"{operation} of an issued id", also=(404, 409))
        if isinstance(quote, RuleViolation):
            return Expect.of(quote)
        everyone = Counter(self.ledger.others(cart.branch, Counter()))
        refusal = refusal_of(orders.reserve, self.data, cart.branch, everyone, held, cart.needs())
        if refusal is not None:
            return Expect.of(refusal, also=() if self.ledger.trusted else (200,))
        # Orders made before the run may hold the rest.
        also = () if self.ledger.exclusive and self.ledger.trusted else (409,)
        return Expect(200, "expected_status", f"{operation}: priced and in stock", quote=quote, also=also)

    def expect_get(self, user: int, order_id: str) -> Expect:
        """``getOrder`` by ``user``."""
        order = self._owned(user, order_id)
        if isinstance(order, Expect):
            return order
        return Expect(200, "stored_document", f"order {order_id} is the caller's")

    def expect_pricing(self, cart: Cart) -> Expect:
        """``calculateGrandtotal`` of ``cart`` (whatever ``ownerId`` it names: pricing reveals nothing)."""
        quote = self.price(cart)
        if not self.strict:
            return Expect(200, "expected_status", "a cart of catalog products", also=(404,))
        if isinstance(quote, RuleViolation):
            return Expect.of(quote)
        return Expect(200, "expected_status", "a cart of products the branch sells", quote=quote)

    def _payable(self, order_id: str) -> payments.PayableOrder:
        """The payment rules' view of an order of the run (``payments.MISSING`` when it has none of that id)."""
        order = self.orders.get(order_id)
        if order is None:
            return payments.MISSING
        return payments.PayableOrder(str(order.owner), order.paid, order.paid_by, order.total, expired=order.expired)

    def _sent(self, order_id: str, amount: Satang | None) -> str:
        order = self.orders.get(order_id)
        return fmt((order.total if order is not None else 0) if amount is None else amount)

    def expect_payable(self, user: int, order_id: str, amount: Satang | None) -> Expect:
        """``cardtoken`` of ``amount`` (None: the grand total) for ``order_id``, as the domain decides it."""
        order = self._payable(order_id)
        sent = self._sent(order_id, amount)
        refusal = refusal_of(payments.decide_card_token, order_id, caller=str(user), payer=None, sent=sent, order=order)
        if refusal is not None:
            return Expect.of(refusal)
        return Expect(200, "expected_status", "an unpaid order of the caller, for its grand total")

    def expect_charge(self, user: int, order_id: str, amount: Satang | None, *, card: str | None = None) -> Expect:
        """``charge`` of ``amount`` for ``order_id`` with a fresh token of ``card``, as the domain decides it.

        ``card`` None: the card's gateway is not known (another backend's cards), so neither is its refusal:
        the gateway may be down (``gateway_down``: nothing charged).
        """
        order = self._payable(order_id)
        token = None
        if card is not None:
            down = payments.charge_outcome(self.data, card) is None
            token = payments.TokenFacts(known=True, used=False, expires_at=float("inf"), gateway_down=down)
        charges = [c.facts for c in self.charges.values() if c.order_id == order_id]
        refusal = refusal_of(
            payments.decide_charge,
            order_id,
            caller=str(user),
            payer=None,
            sent=self._sent(order_id, amount),
            order=order,
            charges=charges,
            token=token,
            now=0.0,
        )
        if refusal is not None:
            return Expect.of(refusal)
        also = () if card is not None else (gateway_down().status,)
        return Expect(200, "expected_status", "an unpaid order of the caller, for its grand total", also=also)

    def expect_charge_state(self, card: str) -> str | None:
        """The transaction state a charge with ``card`` gets; None when the gateway is down (503)."""
        outcome = payments.charge_outcome(self.data, card)
        return None if outcome is None else outcome.transaction_state

    def expect_verify(self, user: int, charge_id: str) -> tuple[Expect, bool]:
        """``verify`` of a charge by ``user``: the prediction, and whether the answer says ``paid``."""
        charge = self.charges[charge_id]
        try:
            verified = payments.decide_verify(
                charge_id,
                charge.order_id,
                caller=str(user),
                charge=charge.facts if charge.owner == user else None,
                order=self._payable(charge.order_id),
            )
        except RuleViolation as refusal:
            return Expect.of(refusal), False
        check = "declined_never_paid" if charge.state == payments.DECLINED else "payment_outcome"
        return Expect(200, check, f"the caller's charge, {charge.state}"), verified.paid

    def expect_three_ds(self, charge_id: str) -> Expect:
        """``threeDSecureSubmit`` for a charge."""
        charge = self.charges[charge_id]
        order = self.orders.get(charge.order_id)
        paid = order is not None and order.paid
        refusal = refusal_of(payments.check_three_ds, charge_id, charge.state, order_paid=paid)
        if refusal is not None:
            return Expect.of(refusal)
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

    def charged(self, charge_id: str, order_id: str, user: int, state: str, amount: Satang | None = None) -> None:
        """A charge was made for ``amount`` (or changed state: its amount stays)."""
        before = self.charges.get(charge_id)
        kept = amount if amount is not None else before.amount if before is not None else 0
        self.charges[charge_id] = ChargeModel(charge_id, order_id, user, state, kept)

    def settled(self, order_id: str, charge_id: str, doc: dict[str, Any]) -> None:
        """``verify`` paid ``order_id`` with ``charge_id``."""
        order = self.orders[order_id]
        order.paid_by, order.doc = charge_id, doc

    def expire(self, now: float) -> tuple[list[OrderModel], list[OrderModel]]:
        """The mock's clock reads ``now``: the orders due expire as the domain decides; ``(kept, deleted)``.

        Each order unpaid at its ``orders.expires_at`` gives its stock back; ``payments.decide_expiry`` voids
        the charges that hold money and keeps the order as their record (``expired``), or deletes it.
        """
        kept, deleted = [], []
        for order in list(self.orders.values()):
            created = order.doc.get("orderDate")
            if (
                order.expired
                or not isinstance(created, int | float)
                or not orders.is_expired(order.doc, orders.expires_at(float(created)), now)
            ):
                continue
            self.ledger.move(order.cart.branch, order.cart.needs(), Counter())
            expiry = payments.decide_expiry(c.facts for c in self.charges.values() if c.order_id == order.order_id)
            for facts in expiry.voided:
                self.charges[facts.charge_id].state = payments.VOIDED
            if expiry.keep:
                order.expired = True
                kept.append(order)
            else:
                del self.orders[order.order_id]
                deleted.append(order)
        return kept, deleted

    @staticmethod
    def _total(doc: Mapping[str, Any]) -> Satang:
        return money((doc.get("payment") or {}).get("grandTotal")) or 0


__all__ = [
    "Cart",
    "ChargeModel",
    "Expect",
    "Model",
    "OrderModel",
    "StockLedger",
    "gateway_down",
]
