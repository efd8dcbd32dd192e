"""The shop's state machine: two users and a guest fill carts, check out, pay and read orders, judged by the domain.

Rules add, change and remove cart lines, complete the guest's profile and give it an address,
check out with any address (one's own, another customer's, a missing one) and any payment and
shipping method (active or not, supporting the cart's goods or not), pay on the mock gateway's
page or through the gateway's callback (approve, decline, abandon; a wrong amount), start new
attempts and read orders, their attempts and the order lists, as any of the three. Every answer
is predicted with ``villa_contracts.domain.shop`` (the oracle: which rule refuses, with which
status and message, and what the order, cart and attempts become) and checked against the
invariants of ``suites.property.shop_invariants``.

On a mock where payments are allowed, time passes once an example at most (the clock rule, 5 hours
and a second through the admin API): every order still ``HOLD`` must then be ``CANCELLED``, and a
payer who approves its pending attempt afterwards is refunded (``rules.refunds_at_expiry``, through
``decide_callback``): the attempt reads ``REFUNDED`` to its owner (money is never silently lost).
The gate runs this machine after the machines that keep the clock still.

Stock is predicted exactly on a mock: each example starts from its ``GET /__admin/stock``; elsewhere
a checkout the model lets through may also be refused for stock (and only for stock). Prices are
compared with the catalog only on a mock. Gateway pages exist only on a mock; the callback needs
the gateway's key (``suites.auth``); neither runs where payments are not allowed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, RuleBasedStateMachine, initialize, multiple, precondition, rule

from suites.auth import gateway_key, shop_token_key
from suites.property.paging import Page, read_page, walk, walk_problems
from suites.property.session import Answer, RunSession, mock_stock
from suites.property.shop_invariants import order_total_problems, snapshot_problems, status_problems
from villa_contracts.domain import shop as rules
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import Satang, fmt, to_satang

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.property.invariants import Problem
    from suites.property.reporting import MachineResult

GUEST = 2
ACTORS = st.sampled_from((0, 1, GUEST))
MISSING_ADDRESS = 999_999_999
UNKNOWN_PRODUCT = 999_999
_TOKEN_VARIABLES = ("$VILLA_SHOP_TOKEN", "$VILLA_SHOP_TOKEN_2", "$VILLA_SHOP_GUEST_TOKEN")


@dataclass(frozen=True, slots=True)
class ShopCall:
    """One request the machine sent (what a reproduction replays)."""

    operation: str
    method: str
    url: str
    actor: int | None
    body: Any
    status: int | None
    gateway: bool = False

    def curl(self, base_url: str) -> str:
        """The request as curl; keys from ``villa-contracts tokens`` (a guest's: ``POST /api/shop/auth/guest``)."""
        path = self.url[len(base_url) :] if self.url.startswith(base_url) else self.url
        parts = ["curl", "-sS", "-X", self.method, f'"$VILLA_BASE_URL"{shlex.quote(path)}']
        if self.actor is not None:
            parts.append(f'-H "Authorization: Token {_TOKEN_VARIABLES[self.actor]}"')
        if self.gateway:
            parts.append('-H "X-Gateway-Key: $VILLA_SHOP_GATEWAY_KEY"')
        if self.body is not None:
            parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(self.body))]
        return " ".join(parts) + f"  # {self.operation} -> {self.status if self.status is not None else 'no answer'}"


@dataclass
class Customer:
    """What the model knows of one customer."""

    identity: str
    headers: dict[str, str]
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
    """When it was checked out, on the example's clock (``ShopMachine.now``)."""


class ShopSession(RunSession):
    """One run of the shop machine: the two accounts' token keys and addresses, made once per run."""

    def __init__(self, context: RunContext, **options: Any) -> None:
        super().__init__(context, **options)
        self.shop = rules.ShopData.from_contract(context.contracts)
        self.keys: dict[int, str] = {}
        self.addresses: dict[int, int] = {}
        self.gateway = gateway_key(context) if self.target.allow_payments else None
        self.products = sorted(self.data.products)
        self.base = context.base_url


def _refusal(make: Any) -> RuleViolation | None:
    try:
        make()
    except RuleViolation as refusal:
        return refusal
    return None


class ShopMachine(RuleBasedStateMachine):
    """Two users and a guest against ``session.target``, each answer checked against the domain."""

    session: ClassVar[ShopSession]
    checkouts: Bundle[int] = Bundle("checkouts")

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ShopCall] = []
        self.customers: dict[int, Customer] = {}
        self.orders: dict[int, ShopOrder | None] = {}
        self.free: dict[int, int] | None = None
        self.before: dict[int, int] = {GUEST: 0}
        self.now = 0.0
        self.moved = False
        self.failed = False
        self.session.example_started()
        self.skip = self.session.shrink_spent() or self.session.stopped

    # --- HTTP and failing ----------------------------------------------------------------------

    def _call(
        self, operation: str, method: str, path: str, actor: int | None, body: Any = None, *, gateway: bool = False
    ) -> Answer:
        session = self.session
        url = session.base + path
        headers = dict(self.customers[actor].headers) if actor is not None else {}
        if gateway and session.gateway:
            headers["X-Gateway-Key"] = session.gateway
        try:
            response = session.http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.calls.append(ShopCall(operation, method, url, actor, body, None, gateway))
            self._fail(operation, "no_answer", f"{operation} did not answer", "an HTTP answer", type(exc).__name__)
        session.steps += 1
        session.statuses[operation].add(response.status_code)
        self.calls.append(ShopCall(operation, method, url, actor, body, response.status_code, gateway))
        return Answer.of(response)

    def _fail(self, operation: str, check: str, title: str, expected: str, got: str) -> NoReturn:
        self.failed = True
        raise self.session.mismatch(f"shop.{operation}", operation, check, title, expected, got, self.calls)

    def _expect(self, operation: str, answer: Answer, status: int, why: str, *, also: tuple[int, ...] = ()) -> None:
        if answer.status != status and answer.status not in also:
            self._fail(
                operation,
                "expected_status",
                f"{operation} answered {answer.status}; the domain expected {status}",
                f"HTTP {status} ({why})",
                f"HTTP {answer.status}: {answer.snippet()}",
            )

    def _refused(self, operation: str, answer: Answer, refusal: RuleViolation) -> None:
        """The answer must be the refusal's status (and, on a mock, its very message)."""
        self._expect(operation, answer, refusal.status, f"rule {refusal.rule}: {refusal.message}")
        error = answer.doc.get("error")
        if self.session.strict and error != refusal.message:
            self._fail(
                operation, refusal.rule, f"{operation}: the refusal's message", repr(refusal.message), repr(error)
            )

    def _problems(self, operation: str, problems: list[Problem]) -> None:
        if problems:
            first = problems[0]
            self._fail(operation, first.check, f"{operation}: {first.expected}", first.expected, first.got)

    # --- set-up --------------------------------------------------------------------------------

    def _user(self, actor: int) -> Customer:
        session = self.session
        if actor not in session.keys:
            make = partial(shop_token_key, session.context, actor)
            # On a mock, a machine that ran first may have moved the clock past the run's keys' 24 hours: a new one.
            keep = session.context.renew if session.target.is_mock else session.context.cached
            session.keys[actor] = keep(("tokenKey", actor), make)
        customer = Customer("", {"Authorization": f"Token {session.keys[actor]}"}, [], True)
        self.customers[actor] = customer
        profile = self._call("getProfile", "GET", "/api/shop/profile", actor)
        customer.identity = str(profile.doc.get("customer"))
        if not profile.doc.get("completed"):
            self._complete(actor)
        if actor not in session.addresses:
            address = self._call("addAddress", "POST", "/api/shop/addresses", actor, self._address_body())
            self._expect("addAddress", address, 201, "a valid address")
            session.addresses[actor] = int(address.doc["id"])
        customer.addresses.append(session.addresses[actor])
        return customer

    @staticmethod
    def _address_body() -> dict[str, Any]:
        return {"line1": "12 Soi Ari 4", "city": "Bangkok", "postcode": "10400", "phone": "0898765432"}

    def _complete(self, actor: int) -> None:
        body = {"first_name": "Gate", "last_name": "Customer", "phone": "0812345678", "email": "gate@villa.example"}
        answer = self._call("updateProfile", "PUT", "/api/shop/profile", actor, body)
        self._expect("updateProfile", answer, 200, "a valid profile")
        if answer.doc.get("completed") is not True:
            self._fail("updateProfile", "profile_complete", "a filled profile is complete", "completed true",
                       repr(answer.doc.get("completed")))  # fmt: skip
        self.customers[actor].profile_complete = True

    def _empty_cart(self, actor: int) -> None:
        cart = self._call("getCart", "GET", "/api/shop/cart", actor)
        for item in cart.doc.get("items") or []:
            self._call("removeCartItem", "DELETE", f"/api/shop/cart/items/{item['product_id']}", actor)

    @initialize(target=checkouts)
    def start(self) -> MultipleResults[int]:
        """The two accounts (profile complete, one address each, one milk in the cart), a new guest (neither), stock.

        The first account first tries to check out with the second's address (refused, seed 002's
        address rule). Where payments are allowed, each account then checks its milk out: the first pays through the
        gateway's callback, the second declines on the gateway's page (or by callback, off the mock),
        so that every example has a paid and a declined order to watch, and asks for a new attempt on the declined
        one. With the cart's change, every operation answers 2xx in every example, however few the examples.
        """
        if self.skip:
            return multiple()
        try:
            for actor in (0, 1):
                self._user(actor)
                self._empty_cart(actor)
            guest = self._call("startGuest", "POST", "/api/shop/auth/guest", None)
            self._expect("startGuest", guest, 201, "anyone may start as a guest")
            self.customers[GUEST] = Customer(
                str(guest.doc.get("customer")), {"Authorization": f"Token {guest.doc.get('token')}"}, [], False
            )
            if self.session.strict:  # on a mock the users' lists are the run's alone: their counts are exact
                for actor in (0, 1):
                    answer = self._call("listOrders", "GET", "/api/shop/orders?page_size=1", actor)
                    self.before[actor] = int(answer.doc.get("count") or 0)
            for actor in (0, 1):
                self.add_item(actor, 25281, 2)
                self.change_item(actor, 25281, 1, remove=False)  # every example reaches changeCartItem's 200
            if self.session.strict:
                branches = mock_stock(self.session.context) or {}
                units = branches.get(self.session.shop.branch, {})
                self.free = {int(code): int(u["free"]) for code, u in units.items()}
            self._checkout(0, "foreign", 1, 2)  # first with the other user's address: refused
            if not self.session.target.allow_payments:
                return multiple()
            paid, declined = self._checkout(0, "own", 1, 2), self._checkout(1, "own", 1, 2)
            self.pay(paid, "approve", "callback", None)
            self.pay(declined, "decline", "page", None)
            self.new_attempt(declined, 1)  # a declined order may be paid again: createPaymentAttempt's 201
            return multiple(paid, declined)
        except BaseException:
            self.failed = True
            raise

    def _active(self) -> bool:
        return not (self.skip or self.failed)

    # --- cart ----------------------------------------------------------------------------------

    def _cart_check(self, operation: str, answer: Answer, actor: int) -> None:
        cart = self.customers[actor].cart
        items = answer.doc.get("items") or []
        got = [(i.get("product_id"), i.get("quantity")) for i in items]
        if got != list(cart.items()):
            self._fail(operation, "cart", f"{operation}: the cart's lines", repr(list(cart.items())), repr(got))
        if self.session.strict:
            lines = [rules.line(self.session.data, self.session.shop, p, q) for p, q in cart.items()]
            total = fmt(rules.items_total(lines))
            if answer.doc.get("items_total") != total:
                self._fail(operation, "shop_totals", f"{operation}: items_total", total,
                           repr(answer.doc.get("items_total")))  # fmt: skip

    @precondition(_active)
    @rule(actor=ACTORS, product=st.sampled_from((25281, 188468, 164687, 104421, 231150, UNKNOWN_PRODUCT)),
          quantity=st.integers(1, 3))  # fmt: skip
    def add_item(self, actor: int, product: int, quantity: int) -> None:
        """``addCartItem``: a product the store sells (or not)."""
        customer = self.customers[actor]
        refusal = _refusal(lambda: rules.line(self.session.data, self.session.shop, product, quantity))
        op = "addCartItem"
        answer = self._call(op, "POST", "/api/shop/cart/items", actor, {"product_id": product, "quantity": quantity})
        if refusal is not None:
            self._refused(op, answer, refusal)
            return
        customer.cart = rules.add_to_cart(customer.cart, product, quantity)
        self._expect(op, answer, 200, "the store sells it")
        self._cart_check(op, answer, actor)

    @precondition(_active)
    @rule(actor=ACTORS, product=st.sampled_from((25281, 188468, 231150)), quantity=st.integers(1, 4),
          remove=st.booleans())  # fmt: skip
    def change_item(self, actor: int, product: int, quantity: int, remove: bool) -> None:
        """``changeCartItem`` / ``removeCartItem``: only a line that is in the cart."""
        customer = self.customers[actor]
        refusal = _refusal(lambda: rules.require_in_cart(customer.cart, product))
        op, method = ("removeCartItem", "DELETE") if remove else ("changeCartItem", "PATCH")
        body = None if remove else {"quantity": quantity}
        answer = self._call(op, method, f"/api/shop/cart/items/{product}", actor, body)
        if refusal is not None:
            self._refused(op, answer, refusal)
            return
        if remove:
            del customer.cart[product]
        else:
            customer.cart[product] = quantity
        self._expect(op, answer, 200, "the line is in the cart")
        self._cart_check(op, answer, actor)

    @precondition(_active)
    @rule(actor=ACTORS)
    def view_cart(self, actor: int) -> None:
        """``getCart``."""
        answer = self._call("getCart", "GET", "/api/shop/cart", actor)
        self._expect("getCart", answer, 200, "anyone has a cart")
        self._cart_check("getCart", answer, actor)

    @precondition(lambda self: self._active() and not self.customers[GUEST].profile_complete)
    @rule()
    def guest_completes_profile(self) -> None:
        """``updateProfile`` and ``addAddress`` as the guest."""
        self._complete(GUEST)
        address = self._call("addAddress", "POST", "/api/shop/addresses", GUEST, self._address_body())
        self._expect("addAddress", address, 201, "a valid address")
        self.customers[GUEST].addresses.append(int(address.doc["id"]))

    # --- checkout ------------------------------------------------------------------------------

    def _address(self, actor: int, choice: str) -> tuple[int, rules.Address | None]:
        """The address id a checkout sends, and the address the domain sees (its owner matters)."""
        if choice == "missing":
            return MISSING_ADDRESS, None
        owner = self.customers[actor if choice == "own" else (actor + 1) % 3]
        if not owner.addresses:
            return MISSING_ADDRESS, None
        return owner.addresses[0], rules.Address(owner.addresses[0], owner.identity, "", "", "", "")

    @precondition(_active)
    @rule(target=checkouts, actor=ACTORS, choice=st.sampled_from(("own",) * 6 + ("foreign", "missing")),
          payment=st.sampled_from((1, 1, 1, 1, 3, 3, 4, 5, 99)),
          shipping=st.sampled_from((2, 2, 2, 2, 6, 7, 98)))  # fmt: skip
    def checkout(self, actor: int, choice: str, payment: int, shipping: int) -> int:
        """``checkoutCart``: every rule of seed 002, in its order."""
        return self._checkout(actor, choice, payment, shipping)

    def _checkout(self, actor: int, choice: str, payment: int, shipping: int) -> int:
        number = len(self.orders)
        self.orders[number] = None
        customer, session = self.customers[actor], self.session
        lines = [rules.line(session.data, session.shop, p, q) for p, q in customer.cart.items()]
        address_id, address = self._address(actor, choice)
        free = self.free if self.free is not None else {line.product_id: 10**9 for line in lines}
        profile = {"first_name": "x", "last_name": "x", "phone": "x", "email": "x"} if customer.profile_complete else {}

        def decide(free: dict[int, int]) -> rules.Checkout:
            return rules.check_checkout(
                session.shop, lines=lines, free=free, profile=profile, address=address, address_id=address_id,
                payment_method_id=payment, shipping_method_id=shipping, caller=customer.identity,
            )  # fmt: skip

        outcome: rules.Checkout | RuleViolation
        try:
            outcome = decide(free)
        except RuleViolation as refusal:
            outcome = refusal
        body = {"address": address_id, "payment_method": payment, "shipping_method": shipping}
        op = "checkoutCart"
        answer = self._call(op, "POST", "/api/shop/checkout/cart", actor, body)
        if isinstance(outcome, RuleViolation):
            self._refused(op, answer, outcome)
            return number
        if self.free is None and answer.status == 400:
            # Not a mock: stock is unknown, and may be the reason, but nothing else may.
            stock_refusal = _refusal(lambda: decide({line.product_id: 0 for line in lines}))
            if stock_refusal is not None and stock_refusal.rule == "in_stock":
                return number
        self._expect(op, answer, 200, "every checkout rule holds")
        if self.free is not None:
            for product, units in outcome.needs.items():
                self.free[product] -= units
        if outcome.payment.kind == rules.DIRECT:
            key = str(answer.doc.get("order_key"))
            self.orders[number] = ShopOrder(
                key, actor, outcome.lines, outcome.total, rules.DIRECT, rules.PROCESSING, created_at=self.now
            )
            customer.cart = rules.cart_after_payment(customer.cart)
        else:
            step = str(answer.doc.get("next_step") or "")
            if "next_step" not in answer.doc:
                self._fail(op, "checkout_answer", "a redirect method answers next_step", "next_step", answer.snippet())
            newest = self._call("listOrders", "GET", "/api/shop/orders?page=1&page_size=1", actor)
            results = newest.doc.get("results") or [{}]
            order = ShopOrder(str(results[0].get("order_key")), actor, outcome.lines, outcome.total, rules.REDIRECT,
                              rules.HOLD, created_at=self.now)  # fmt: skip
            order.attempts[step.rstrip("/").rsplit("/", 1)[-1]] = rules.PENDING
            self.orders[number] = order
        self._order_check("checkoutCart", self._get_order(actor, self.orders[number]), self.orders[number])
        return number

    # --- orders --------------------------------------------------------------------------------

    def _get_order(self, actor: int, order: ShopOrder | None) -> Answer:
        assert order is not None
        answer = self._call("getOrder", "GET", f"/api/shop/orders/{order.key}", actor)
        self._expect("getOrder", answer, 200, "the caller's own order")
        return answer

    def _order_check(self, operation: str, answer: Answer, order: ShopOrder | None) -> None:
        assert order is not None
        doc = answer.doc
        self._problems(operation, [*status_problems(doc), *order_total_problems(doc), *snapshot_problems(doc)])
        expected = {"order_key": order.key, "status": order.status, "customer": self.customers[order.owner].identity}
        got = {key: doc.get(key) for key in expected}
        if got != expected:
            self._fail(
                operation, "shop_order", f"{operation}: the order as the domain has it", repr(expected), repr(got)
            )
        bought = [(line.product_id, line.quantity) for line in order.lines]
        answered = [(i.get("product_id"), i.get("quantity")) for i in doc.get("items") or []]
        if bought != answered:
            self._fail(operation, "shop_order", f"{operation}: the order's lines", repr(bought), repr(answered))
        if self.session.strict and to_satang(doc.get("total", "0")) != order.total:
            self._fail(operation, "shop_totals", f"{operation}: the order's total", fmt(order.total),
                       repr(doc.get("total")))  # fmt: skip
        snapshot = doc.get("snapshot") or {}
        if order.status == rules.PROCESSING and snapshot.get("payment_external_id") != order.paid_by:
            self._fail(operation, "shop_one_payment", f"{operation}: the snapshot names the paying attempt",
                       repr(order.paid_by), repr(snapshot.get("payment_external_id")))  # fmt: skip

    @precondition(_active)
    @rule(ref=checkouts, actor=ACTORS, what=st.sampled_from(("getOrder", "getOrderToPay", "listPaymentAttempts")))
    def read_order(self, ref: int, actor: int, what: str) -> None:
        """One order, the order to pay, or its attempts, as its owner or someone else."""
        order = self.orders.get(ref)
        if order is None:
            return
        suffix = {"getOrder": "", "getOrderToPay": "/pay", "listPaymentAttempts": "/attempts"}[what]
        caller = self.customers[actor].identity
        refusal = _refusal(lambda: rules.require_visible(order.key, self.customers[order.owner].identity, caller))
        if refusal is None and what == "getOrderToPay":
            refusal = _refusal(lambda: rules.require_payable(order.key, order.status))
        answer = self._call(what, "GET", f"/api/shop/orders/{order.key}{suffix}", actor)
        if refusal is not None:
            self._expect(what, answer, refusal.status, f"rule {refusal.rule}: {refusal.message}")
            return
        self._expect(what, answer, 200, "the caller's own order")
        if what == "listPaymentAttempts":
            got = {a.get("external_id"): a.get("status") for a in answer.doc.get("results") or []}
            if got != order.attempts:
                self._fail(what, "shop_attempts", f"{what}: the attempts' statuses", repr(order.attempts), repr(got))
        else:
            self._order_check(what, answer, order)

    @precondition(_active)
    @rule(actor=ACTORS, size=st.sampled_from((1, 2, 3, 10, 100)))
    def list_orders(self, actor: int, size: int) -> None:
        """``listOrders``: every page of ``size`` and the one past the end, as the domain pages the caller's orders.

        The example's orders are the newest, in the model's statuses, and every order is the caller's; on a
        mock the count is exact (the caller's orders when the example started, and this example's).
        """
        op, answers = "listOrders", dict[int, Answer]()

        def fetch(number: int) -> Page | None:
            answers[number] = got = self._call(op, "GET", f"/api/shop/orders?page={number}&page_size={size}", actor)
            return read_page(number, got.status, got.body, items="results", id_key="order_key", counted=True)

        walked = walk(fetch)
        self._expect(op, answers[1], 200, "anyone has an order list")
        if walked is None:
            self._fail(op, "shop_pages", f"{op}: a page of orders", "results: a list of orders", answers[1].snippet())
        mine = [o for o in reversed(self.orders.values()) if o is not None and o.owner == actor]
        before = self.before.get(actor)
        count = before + len(mine) if before is not None else walked.pages[0].count or 0
        for page in walked.pages:
            start, end, total = rules.page_of(count, page.number, size)
            predicted = (200, count, total, (page.number, size), end - start)
            got = (page.status, page.count, page.total_pages, page.echo, len(page.ids))
            if got != predicted:
                self._fail(op, "shop_pages", f"{op}: page {page.number} of page_size {size} (status, count, "
                           "total_pages, (page, page_size), orders)", repr(predicted), repr(got))  # fmt: skip
        self._problems(op, walk_problems(walked, page_size=size, check="shop_pages"))
        docs = {doc.get("order_key"): doc for answer in answers.values() for doc in answer.doc.get("results") or []}
        listed = walked.listed()
        head = [(key, docs[key].get("status")) for key in listed[: len(mine)]]
        expected = [(o.key, o.status) for o in mine][: len(listed)]
        # Off a mock, orders of the same instant may come in any order: the example's must still come first.
        if head != expected and (self.session.strict or sorted(head) != sorted(expected)):
            self._fail(op, "shop_order", f"{op}: the example's orders first, newest first", repr(expected),
                       repr(head))  # fmt: skip
        for doc in docs.values():
            if doc.get("customer") != self.customers[actor].identity:
                self._fail(op, "ownership", f"{op}: only the caller's orders", self.customers[actor].identity,
                           repr(doc.get("customer")))  # fmt: skip

    @precondition(_active)
    @rule(ref=checkouts, actor=ACTORS)
    def new_attempt(self, ref: int, actor: int) -> None:
        """``createPaymentAttempt``: only the owner, only while unpaid."""
        order = self.orders.get(ref)
        if order is None:
            return
        caller = self.customers[actor].identity
        refusal = _refusal(lambda: rules.require_visible(order.key, self.customers[order.owner].identity, caller))
        refusal = refusal or _refusal(lambda: rules.require_payable(order.key, order.status))
        op = "createPaymentAttempt"
        answer = self._call(op, "POST", f"/api/shop/orders/{order.key}/attempts", actor)
        if refusal is not None:
            self._expect(op, answer, refusal.status, f"rule {refusal.rule}: {refusal.message}")
            return
        self._expect(op, answer, 201, "an unpaid order of the caller")
        order.attempts[str(answer.doc.get("external_id"))] = rules.PENDING

    # --- payment -------------------------------------------------------------------------------

    def _may_pay(self) -> bool:
        return self._active() and self.session.target.allow_payments

    @precondition(_may_pay)
    @rule(ref=checkouts, action=st.sampled_from(("approve", "approve", "decline", "abandon")),
          via=st.sampled_from(("page", "callback", "callback")),
          wrong=st.sampled_from((None, None, "amount", "currency")))  # fmt: skip
    def pay(self, ref: int, action: str, via: str, wrong: str | None) -> None:
        """The payer decides on the gateway's page, or the gateway calls back (with a wrong amount or currency)."""
        order = self.orders.get(ref)
        session = self.session
        if order is None or not order.attempts:
            return
        if via == "page" and not session.target.is_mock:
            via = "callback"
        if via == "callback" and session.gateway is None:
            return
        external_id = list(order.attempts)[-1]
        status = rules.PAYER_ACTIONS[action]
        amount = order.total + (1 if wrong == "amount" and via == "callback" else 0)
        currency = "USD" if wrong == "currency" and via == "callback" else session.shop.currency
        decision = rules.decide_callback(
            attempt_status=order.attempts[external_id], order_status=order.status, paid_by=order.paid_by,
            external_id=external_id, status=status, total_amount=amount, currency=currency,
            expected_amount=order.total, expected_currency=session.shop.currency,
        )  # fmt: skip
        if via == "page":
            op = "gatewayDecision"
            answer = self._call(op, "POST", f"/mock/gateway/{external_id}", None, {"action": action})
        else:
            op = "paymentCallback"
            body = {"external_id": external_id, "status": status, "total_amount": amount, "currency": currency}
            answer = self._call(op, "POST", "/api/shop/payments/callback", None, body, gateway=True)
        order.attempts[external_id] = decision.attempt_status
        if decision.refusal is not None:
            self._refused(op, answer, decision.refusal)
            return
        self._expect(op, answer, 200, f"the attempt becomes {decision.attempt_status}")
        if answer.doc.get("status") != decision.attempt_status:
            self._fail(op, "shop_attempts", f"{op}: the attempt's status", decision.attempt_status,
                       repr(answer.doc.get("status")))  # fmt: skip
        if op == "paymentCallback" and answer.doc.get("processed") is not decision.pays:
            self._fail(
                op, "shop_one_payment", f"{op}: processed", repr(decision.pays), repr(answer.doc.get("processed"))
            )
        if decision.pays:
            order.status, order.paid_by = rules.PROCESSING, external_id
            owner = self.customers[order.owner]
            owner.cart = rules.cart_after_payment(owner.cart)
        self._order_check(op, self._get_order(order.owner, order), order)

    def _may_move_clock(self) -> bool:
        session = self.session
        return self._may_pay() and session.strict and session.target.is_mock and not self.moved

    @precondition(_may_move_clock)
    @rule()
    def time_passes(self) -> None:
        """5 hours and a second later: every ``HOLD`` order is ``CANCELLED``, its stock back; a late approval refunded.

        Each order the domain expires is read by its owner; a cancelled order with a pending attempt is then
        approved on the gateway's page (a payer who was slow): the gateway took the money, so the domain has it
        refunded, and the owner's attempts must say ``REFUNDED``.
        """
        self.moved = True
        session = self.session
        seconds = rules.EXPIRY_SECONDS + 1
        url = session.base + "/__admin/clock"
        answer = Answer.of(
            session.http.post(url, json={"advanceSeconds": seconds}, headers=session.target.admin_headers)
        )
        self.calls.append(ShopCall("advanceClock", "POST", url, None, {"advanceSeconds": seconds}, answer.status))
        self._expect("advanceClock", answer, 200, "the mock's clock moves forward")
        self.now += seconds
        for actor in (0, 1):  # a key lives 24 hours on the backend's clock: the run's keys may be older by now
            session.keys[actor] = session.context.renew(
                ("tokenKey", actor), partial(shop_token_key, session.context, actor)
            )
            self.customers[actor].headers = {"Authorization": f"Token {session.keys[actor]}"}
            # Who the new key is, as the seeds' clients ask it first (a watching proxy learns it so, too).
            self._expect("getProfile", self._call("getProfile", "GET", "/api/shop/profile", actor), 200, "a new key")
        branches = mock_stock(session.context) or {}  # orders of earlier examples expired too
        self.free = {int(code): int(u["free"]) for code, u in branches.get(session.shop.branch, {}).items()}
        for number, order in self.orders.items():
            if order is None or not rules.is_expired(order.status, rules.expires_at(order.created_at), self.now):
                continue
            order.status = rules.CANCELLED
            self._order_check("getOrder", self._get_order(order.owner, order), order)
            if list(order.attempts.values())[-1:] == [rules.PENDING]:
                self.pay(number, "approve", "page", None)
                self.read_order(number, order.owner, "listPaymentAttempts")

    def teardown(self) -> None:
        """Read every order of the example, the order to pay and its attempts, as its owner: the last word."""
        if self.skip or self.failed:
            return
        for number, order in self.orders.items():
            if order is not None:
                for what in ("getOrder", "getOrderToPay", "listPaymentAttempts"):
                    self.read_order(number, order.owner, what)


def run_shop_machine(context: RunContext, *, max_examples: int, seed: int, **options: Any) -> MachineResult:
    """Run the shop's state machine against the context's target (``stateful.run_rules``)."""
    from suites.property.stateful import run_rules

    steps = options.pop("stateful_step_count", 20)
    session = ShopSession(context, **options)
    return run_rules(context, ShopMachine, session, max_examples=max_examples, seed=seed, stateful_step_count=steps)


__all__ = ["ShopMachine", "run_shop_machine"]
