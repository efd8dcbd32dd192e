"""A Hypothesis state machine: two users' random interleavings of Villa calls, judged by the domain model.

Rules generate order ids, create, read and update orders, price carts, and pay (card token, charge,
3-D Secure, verify) as either of the target's two accounts, over HTTP against the run's target.
Every answer is compared with ``suites.property.model.Model``, which predicts with the rules of
``villa_contracts.domain`` (the oracle), and with the invariants of ``suites.property.invariants``:
order ids are unique; totals are the catalog's (``grandTotal = subTotal + delivery − discounts`` on
any target); stock is reserved; a paid order stays paid and unchanged; a declined card never pays;
another user never sees or changes an order (404, exactly like a missing id).

On a mock where payments are allowed, time passes once an example at most (the clock rule, 5 hours
and a second through the admin API; a payer who was slow leaves a charge waiting for 3-D Secure
first): unpaid orders expire as ``payments.decide_expiry`` decides, deleted (404 to their owner)
or, when they held money, kept ``EXPIRED`` with that money voided (verify answers the charge
``Voided``): money is never silently lost. The gate runs this machine after the machines that keep
the clock still.

The machine only makes its own orders and never resets the target. At the end of each example it
empties its unpaid orders, so they stop holding stock. Stock is predicted exactly on a mock whose
journal shows no order stored before the run (a fresh mock); otherwise other orders may hold some,
and only an order that cannot fit beside the run's own holds must be refused. ``stateful.run_machine``
runs it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
)

from suites.property import strategies
from suites.property.engine import skips, step
from suites.property.invariants import Problem, money, order_problems, paid_problems, pricing_problems, substance
from suites.property.model import Cart, Expect, Model, OrderModel, gateway_down
from suites.property.session import Answer, Call
from suites.property.villa_calls import MISSING_CHARGE_ID, MISSING_ORDER_ID, VillaCalls
from villa_contracts.domain.money import Satang, fmt, to_json
from villa_contracts.domain.orders import PAYMENT_EXPIRED, UNPAID_EXPIRY_SECONDS, is_expired_record
from villa_contracts.domain.payments import AUTHORIZED, DECLINED, PRE_AUTHORIZED, VOIDED


@dataclass(frozen=True, slots=True)
class IdRef:
    """A bundle entry for ``generateOrderId``: which call, by whom, for which branch (not the answer)."""

    number: int
    user: int
    branch: str


@dataclass(frozen=True, slots=True)
class ChargeRef:
    """A bundle entry for a payment attempt (its charge id, if any, is looked up in the machine)."""

    number: int
    user: int


class VillaMachine(VillaCalls, RuleBasedStateMachine):
    """Two users' calls against ``session.target``, each answer checked against the model.

    Bundle entries are references to the machine's own calls, never the target's answers, so that
    the sequence of choices (and so of requests) depends only on the seed.
    """

    ids: Bundle[IdRef] = Bundle("ids")
    orders: Bundle[IdRef] = Bundle("orders")  # ids a create was attempted with
    charges: Bundle[ChargeRef] = Bundle("charges")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.session.data, strict=self.session.strict, ledger=self.session.ledger)
        self.order_ids: dict[int, str | None] = {}
        self.charge_ids: dict[int, str | None] = {}
        self.moved = False
        self.may_move = False  # drawn by ``start``: whether time may pass in this example
        self.session.example_started()
        self.skip = skips(self.session)

    # Rules.

    @initialize(targets=(ids, orders), data=st.data())
    @step
    def start(self, data: st.DataObject) -> MultipleResults[IdRef]:
        """Each user starts with an order on the first branch (the second user tries the first's name first).

        When payments are allowed, the first user pays with the approving test card and the second
        with one that ends Declined (a declined card, or 3-D Secure refused), so that every example
        has a paid order and a declined charge to watch.
        """
        refs = []
        for user in (0, 1):
            ref = self._generate(user, min(self.session.data.branches))
            cart = data.draw(self.session.carts(ref.branch), label=f"cart of user {user}")
            self._price(user, cart)  # as the checkout does before it creates the order
            if user == 1:  # first in the other user's name: refused
                self._create(user, ref, cart, in_name_of=0)
            self._create(user, ref, cart)
            refs.append(ref)
        if self.session.target.allow_payments:
            card, three_ds = data.draw(self.session.declining(), label="declining card of user 1")
            self._pay(0, refs[0], self.session.data.default_card, "complete", None)
            self._pay(1, refs[1], card, three_ds, None)
        # A draw, not the run's count of examples: the same choices must make the same example (Hypothesis
        # replays them). The first example is the simplest (0): no time passes there, so its teardown's writes
        # show every success path before any order expires.
        self.may_move = data.draw(st.integers(0, 9), label="time may pass") > 0
        return multiple(*refs)

    @rule(target=ids, user=strategies.USERS, branch=strategies.BRANCHES)
    @step
    def generate_id(self, user: int, branch: str) -> IdRef:
        """``generateOrderId``: a new id that no one was given before."""
        return self._generate(user, branch)

    def _generate(self, user: int, branch: str) -> IdRef:
        ref = IdRef(len(self.order_ids), user, branch)
        self.order_ids[ref.number] = None
        if self.skip:
            return ref
        op = "generateOrderId"
        answer = self._call(op, "/api/order2/gentele", {"branchId": branch}, user)
        also = () if self.session.strict else (404,)
        self._status(op, answer, Expect(200, "expected_status", f"branch {branch} is in the catalog", also=also))
        if answer.status != 200:
            return ref
        order_id = answer.doc.get("orderId")
        if not (isinstance(order_id, str) and len(order_id) == 12 and order_id.isdigit()):
            self._fail(op, "order_id_format", f"{op} answered a malformed id", "12 digits", repr(order_id))
        if not order_id.startswith(branch):
            self._fail(op, "order_id_format", f"{op}: id of another branch", f"an id starting {branch}", order_id)
        if order_id in self.session.seen_ids:
            first = self.session.seen_ids[order_id]
            before = (
                f"a new order id; {order_id} was answered before, to user {first.user}: {first.curl(self.session.base)}"
            )
            self._fail(op, "unique_order_ids", f"{op} issued {order_id} twice", before, order_id)
        self.session.seen_ids[order_id] = self.calls[-1]
        self.model.issue(order_id, user, branch)
        self.order_ids[ref.number] = order_id
        return ref

    @rule(target=orders, who=strategies.WHO, name=strategies.WHO, ref=ids, data=st.data())
    @step
    def create_order(self, who: str, name: str, ref: IdRef, data: st.DataObject) -> IdRef:
        """``createOrder`` with an id by the user it was issued to or the other one, in either's name."""
        cart = data.draw(self.session.carts(ref.branch), label="cart")
        user = ref.user if who == "owner" else 1 - ref.user
        self._create(user, ref, cart, in_name_of=user if name == "owner" else 1 - user)
        return ref

    def _create(self, user: int, ref: IdRef, cart: Cart, *, in_name_of: int | None = None) -> None:
        order_id = self.order_ids.get(ref.number)
        if self.skip or order_id is None:
            return
        sub, op = self._sub(user if in_name_of is None else in_name_of), "createOrder"
        body: dict[str, Any] = {"orderId": order_id, "ownerId": sub, "basketId": sub, "branchId": ref.branch}
        body.update(orderSource="WEB", productList=cart.product_list(), **cart.options())
        expect = self.model.expect_create(user, order_id, cart, foreign_owner=in_name_of not in (None, user))
        answer = self._call(op, "/api/order/create", body, user)
        self._held(order_id, cart, answer)
        self._status(op, answer, expect, keeps_ledger=True)
        if answer.status == 200:
            self.model.created(order_id, user, cart, answer.doc)
            problems = order_problems(answer.body, order_id=order_id, owner_sub=sub, quote=expect.quote)
            self._problems(op, problems, keeps_ledger=True)

    def _held(self, order_id: str, cart: Cart, answer: Answer) -> None:
        """Keep the stock ledger in step with what the target did, whatever the model predicted."""
        if answer.status == 200:
            self.model.held(order_id, cart)
        elif not 400 <= answer.status < 500:  # done or not? the ledger cannot tell any more
            self.session.ledger.trusted = False

    @rule(who=strategies.WHO, ref=orders)
    @step
    def get_order(self, who: str, ref: IdRef) -> None:
        """``getOrder``: the owner reads the stored document; the other user gets a 404."""
        order_id = self.order_ids.get(ref.number)
        if not self.skip and order_id is not None:
            self._get(ref.user if who == "owner" else 1 - ref.user, order_id)

    def _get(self, user: int, order_id: str) -> None:
        op = "getOrder"
        expect = self.model.expect_get(user, order_id)
        answer = self._call(op, "/api/order/get", {"orderId": order_id}, user)
        self._status(op, answer, expect)
        if expect.check == "ownership":
            self._like_missing(op, answer, user, "/api/order/get", {"orderId": MISSING_ORDER_ID})
        elif answer.status == 200:
            self._same_document(op, self.model.orders[order_id], answer.body)

    def _same_document(self, op: str, order: OrderModel, doc: Any) -> None:
        check = "paid_stays_paid" if order.paid else "stored_document"
        if self.session.strict or order.paid:
            same = doc == order.doc
        else:  # another backend may add fields of its own; the order's substance must not move
            same = substance(doc) == substance(order.doc)
        if not same:
            self._fail(
                op,
                check,
                f"{op}: order {order.order_id} is not the document last answered",
                json.dumps(order.doc, sort_keys=True)[:800],
                json.dumps(doc, sort_keys=True)[:800],
            )

    @rule(who=strategies.WHO, ref=orders, data=st.data())
    @step
    def update_order(self, who: str, ref: IdRef, data: st.DataObject) -> None:
        """``updateOrder``: re-priced for the owner, 409 once paid, 404 for the other user."""
        cart = data.draw(self.session.carts(ref.branch), label="cart")
        order_id = self.order_ids.get(ref.number)
        if not self.skip and order_id is not None:
            self._update(ref.user if who == "owner" else 1 - ref.user, order_id, cart)

    def _update(self, user: int, order_id: str, cart: Cart) -> None:
        op, sub = "updateOrder", self._sub(user)
        order = self.model.orders.get(order_id)
        body: dict[str, Any] = dict(order.doc) if order is not None else {"branchId": cart.branch}
        body.pop("shipping", None)
        body.pop("couponCodeList", None)
        body.update(orderId=order_id, ownerId=sub, productList=cart.product_list(), **cart.options())
        body.update(specialComment=f"machine update {len(self.calls)}")
        if order is None or order.owner != user:
            body["basketId"] = sub
        if isinstance(body.get("payment"), dict):  # a client cannot pay by writing the payment
            body["payment"] = {**body["payment"], "isPaid": True, "status": "PAID"}
        expect = self.model.expect_update(user, order_id, cart)
        answer = self._call(op, "/api/order/update", body, user)
        self._held(order_id, cart, answer)
        self._status(op, answer, expect, keeps_ledger=True)
        if expect.check == "ownership":
            missing = {**body, "orderId": MISSING_ORDER_ID}
            self._like_missing(op, answer, user, "/api/order/update", missing)
        elif answer.status == 200 and order is not None:
            before = order.doc
            self.model.updated(order, cart, answer.doc)
            problems = order_problems(answer.body, order_id=order_id, owner_sub=sub, quote=expect.quote)
            if answer.doc.get("orderDate") != before.get("orderDate"):
                problems.append(Problem("stored_document", f"orderDate {before.get('orderDate')}", answer.snippet()))
            self._problems(op, problems, keeps_ledger=True)

    @rule(
        user=strategies.USERS,
        branch=strategies.BRANCHES,
        owner=st.sampled_from(("self", "none", "other")),
        data=st.data(),
    )
    @step
    def calculate_grandtotal(self, user: int, branch: str, owner: str, data: st.DataObject) -> None:
        """``calculateGrandtotal`` of a random cart: the domain's price (or its refusal)."""
        cart = data.draw(self.session.carts(branch, unknown_coupon=True), label="cart")
        self._price(user, cart, owner)

    def _price(self, user: int, cart: Cart, owner: str = "self") -> None:
        if self.skip:
            return
        op = "calculateGrandtotal"
        body: dict[str, Any] = {"branchId": cart.branch, "productList": cart.product_list(), **cart.options()}
        if owner != "none":
            body["ownerId"] = self._sub(user if owner == "self" else 1 - user)
        expect = self.model.expect_pricing(cart)
        answer = self._call(op, "/api/webPayment/calculateGrandtotal", body, user)
        self._status(op, answer, expect)
        if answer.status == 200:
            self._problems(op, pricing_problems(answer.body, expect.quote))

    @precondition(lambda self: self.session.target.allow_payments)
    @rule(
        target=charges,
        who=strategies.WHO,
        ref=orders,
        card=strategies.CARDS,
        three_ds=strategies.THREE_DS,
        wrong=st.sampled_from((None, None, None, "token", "charge")),
    )
    @step
    def pay(self, who: str, ref: IdRef, card: str, three_ds: str, wrong: str | None) -> ChargeRef:
        """Card token, charge (maybe a wrong amount), 3-D Secure when asked for, then verify."""
        user = ref.user if who == "owner" else 1 - ref.user
        handle = ChargeRef(len(self.charge_ids), user)
        self.charge_ids[handle.number] = self._pay(user, ref, card, three_ds, wrong)
        return handle

    def _pay(self, user: int, ref: IdRef, card: str, three_ds: str, wrong: str | None) -> str | None:
        order_id = self.order_ids.get(ref.number)
        if self.skip or order_id is None:
            return None
        order = self.model.orders.get(order_id)
        sub, total = self._sub(user), order.total if order is not None else 100
        basket = order.doc.get("basketId", sub) if order is not None and order.owner == user else sub
        amount = total + 1 if wrong == "token" else total
        op = self.session.ops["cardtoken"]
        card_json = {"number": card, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"}
        body = {"orderId": order_id, "basketId": basket, "grandTotal": fmt(amount), "userId": sub, "card": card_json}
        expect = self.model.expect_payable(user, order_id, amount)
        answer = self._call(op, f"{self.session.target.payment_prefix}/cardtoken", body, user)
        self._status(op, answer, expect)
        if expect.check == "ownership":
            missing = {**body, "orderId": MISSING_ORDER_ID}
            self._like_missing(op, answer, user, f"{self.session.target.payment_prefix}/cardtoken", missing)
        if answer.status != 200:
            return None
        self._card_masked(op, answer, card)
        charge_id = self._charge(user, order_id, card, answer.doc.get("cardToken"), basket, total, wrong == "charge")
        if charge_id is None:
            return None
        if self.model.charges[charge_id].state == PRE_AUTHORIZED and three_ds != "leave" and self.session.strict:
            self._three_ds(charge_id, three_ds)
        self._verify(user, charge_id)
        return charge_id

    def _card_masked(self, op: str, answer: Answer, card: str) -> None:
        if card in answer.text:
            self._fail(op, "card_masked", f"{op} answered the card number unmasked", "a masked card number", "it")

    def _charge(
        self, user: int, order_id: str, card: str, token: Any, basket: str, total: Satang, wrong: bool
    ) -> str | None:
        op, amount = self.session.ops["charge"], total + 1 if wrong else total
        body = {"orderId": order_id, "basketId": basket, "grandTotal": to_json(amount), "token": token}
        body["userId"] = self._sub(user)
        expect = self.model.expect_charge(user, order_id, amount, card=card if self.session.strict else None)
        state = self.model.expect_charge_state(card) if self.session.strict else AUTHORIZED
        answer = self._call(op, f"{self.session.target.payment_prefix}/charge", body, user)
        self._status(op, answer, expect)
        if answer.status == gateway_down().status:
            self._get(user, order_id)  # nothing changed
            return None
        if answer.status != 200:
            return None
        self._card_masked(op, answer, card)
        charge = answer.doc
        got_state, charge_id = charge.get("transaction_state"), charge.get("chargeId")
        if got_state not in (AUTHORIZED, DECLINED, PRE_AUTHORIZED) or not isinstance(charge_id, str):
            self._fail(op, "response_shape", f"{op}: no charge in the answer", "a charge", answer.snippet())
        if self.session.strict and got_state != state:
            self._fail(op, "payment_outcome", f"{op}: card {card[:6]}… gives {state}", str(state), str(got_state))
        if money(charge.get("amount")) != total:
            self._fail(op, "amount_must_match", f"{op} charged another amount", fmt(total), repr(charge.get("amount")))
        self.model.charged(charge_id, order_id, user, str(got_state), total)
        return charge_id

    def _three_ds(self, charge_id: str, action: str) -> None:
        op = "threeDSecureSubmit"
        expect = self.model.expect_three_ds(charge_id)
        answer = self._call(op, f"/mock/3ds/{charge_id}", {"action": action}, None)
        self._status(op, answer, expect)
        if answer.status == 200:
            state = AUTHORIZED if action == "complete" else DECLINED
            if answer.doc.get("transaction_state") != state:
                self._fail(op, "payment_outcome", f"3-D Secure {action} did not give {state}", state, answer.snippet())
            charge = self.model.charges[charge_id]
            self.model.charged(charge_id, charge.order_id, charge.owner, state)

    def _verify(self, user: int, charge_id: str) -> None:
        op = self.session.ops["verify"]
        charge = self.model.charges[charge_id]
        order = self.model.orders.get(charge.order_id)  # None: deleted at expiry (it held no money)
        expect, paid = self.model.expect_verify(user, charge_id)
        path = f"{self.session.target.payment_prefix}/verify"
        answer = self._call(op, path, {"orderId": charge.order_id, "chargeId": charge_id}, user)
        self._status(op, answer, expect)
        if expect.check == "ownership":
            self._like_missing(op, answer, user, path, {"orderId": MISSING_ORDER_ID, "chargeId": MISSING_CHARGE_ID})
            return
        if answer.status != 200 or order is None:  # refused as predicted (a stale charge, an order paid by another)
            return
        if charge.state == VOIDED and answer.doc.get("transaction_state") != VOIDED:
            self._fail(op, "expiry_voids", f"{op}: a charge voided at expiry", VOIDED, answer.snippet())
        got, doc = answer.doc.get("paid"), answer.doc.get("order")
        doc_paid = isinstance(doc, dict) and (doc.get("payment") or {}).get("isPaid") is True
        if charge.state == DECLINED and (got is not False or (doc_paid and not order.paid)):
            self._fail(op, "declined_never_paid", f"{op} paid with a declined charge", "paid false", answer.snippet())
        if got is not paid:
            self._fail(op, expect.check, f"{op} answered paid={got}", f"paid={paid} ({expect.why})", answer.snippet())
        if paid and not order.paid:
            self._problems(op, paid_problems(doc, order.doc, charge_id=charge_id, total=order.total))
            self.model.settled(order.order_id, charge_id, cast(dict[str, Any], doc))
        else:
            self._same_document(op, order, doc)

    @precondition(lambda self: self.session.target.allow_payments)
    @rule(who=strategies.WHO, ref=charges)
    @step
    def verify_again(self, who: str, ref: ChargeRef) -> None:
        """``verify`` an earlier charge: the same answer for the owner, 404 for the other user."""
        charge_id = self.charge_ids.get(ref.number)
        if not self.skip and charge_id is not None:
            self._verify(ref.user if who == "owner" else 1 - ref.user, charge_id)

    @precondition(lambda self: self.session.target.allow_payments and self.session.strict)
    @rule(ref=charges, action=st.sampled_from(("complete", "refuse")))
    @step
    def three_ds_later(self, ref: ChargeRef, action: str) -> None:
        """Complete or refuse 3-D Secure of an earlier charge (409 unless it waits for it)."""
        charge_id = self.charge_ids.get(ref.number)
        if not self.skip and charge_id is not None:
            self._three_ds(charge_id, action)

    @precondition(lambda self: self._may_move_clock())
    @rule()
    @step
    def time_passes(self) -> None:
        """5 hours and a second later, unpaid orders expire: deleted, or kept ``EXPIRED`` with their money voided.

        The model asks the domain (``payments.decide_expiry``) which; each order is then read by its owner
        (404 when deleted), and each voided charge verified: ``Voided``, ``paid`` false, with the expired order.
        """
        self.moved = True
        self._slow_payer()
        session, seconds = self.session, UNPAID_EXPIRY_SECONDS + 1
        url = session.base + "/__admin/clock"
        response = session.http.post(url, json={"advanceSeconds": seconds}, headers=session.target.admin_headers)
        self.calls.append(Call("advanceClock", url, None, {"advanceSeconds": seconds}, response.status_code))
        now = response.json().get("now") if response.status_code == 200 else None
        if not isinstance(now, int | float):
            self._fail("advanceClock", "expected_status", "the mock's clock did not move", "HTTP 200", response.text)
        session.relogin()  # the run's ID tokens are older than their life now
        before = set(self.model.orders)
        kept, deleted = self.model.expire(float(now))
        for order in deleted:
            self._get(order.owner, order.order_id)
        for order in kept:
            self._expired_record(order)
        for charge in [c for c in self.model.charges.values() if c.state == VOIDED and c.order_id in before]:
            self._verify(charge.owner, charge.charge_id)

    def _slow_payer(self) -> None:
        """A payer who was slow: the example's first unpaid order gets a charge left waiting for 3-D Secure."""
        slow = [(n, self.model.orders.get(i or "")) for n, i in self.order_ids.items()]
        number, order = next(((n, o) for n, o in slow if o is not None and not o.paid), (0, None))
        card = next((c.number for c in self.session.data.cards.values() if c.outcome == "three_ds"), None)
        if order is not None and card is not None:
            self._pay(order.owner, IdRef(number, order.owner, order.cart.branch), card, "leave", None)

    def _may_move_clock(self) -> bool:
        session = self.session
        return session.target.allow_payments and session.strict and self.may_move and not (self.moved or self.skip)

    def _expired_record(self, order: OrderModel) -> None:
        """An order kept at expiry reads ``EXPIRED`` to its owner, its lines and total as they were."""
        op = "getOrder"
        answer = self._call(op, "/api/order/get", {"orderId": order.order_id}, order.owner)
        self._status(op, answer, Expect(200, "expiry_voids", "an order that expired holding money is its record"))
        doc = answer.doc
        if not is_expired_record(doc) or substance(doc) != substance(order.doc):
            expected = f"order {order.order_id} as it was, payment.status {PAYMENT_EXPIRED}: its charges voided"
            self._fail(op, "expiry_voids", f"{op}: an order that expired holding money", expected, answer.snippet())
        order.doc = doc

    def teardown(self) -> None:
        """Empty the example's unpaid orders (so they hold no stock), then read every order as both users."""
        if self.skip or self.failed:
            return
        for order in list(self.model.orders.values()):
            if not order.paid and not order.expired and order.cart.lines:
                self._update(order.owner, order.order_id, Cart(order.cart.branch, ()))
            self._get(order.owner, order.order_id)  # also shows whether the emptying was kept
            self._get(1 - order.owner, order.order_id)


__all__ = ["ChargeRef", "IdRef", "VillaMachine"]
