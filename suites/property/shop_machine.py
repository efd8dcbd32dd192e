"""The shop's state machine: two users and a guest fill carts, check out, pay and read orders, judged by the domain.

Rules add, change and remove cart lines, complete the guest's profile and give it an address,
check out with any address (one's own, another customer's, a missing one) and any payment and
shipping method (active or not, supporting the cart's goods or not), pay on the mock gateway's
page or through the gateway's callback (approve, decline, abandon; a wrong amount), start new
attempts and read orders, their attempts and the order lists, as any of the three. Every answer
is predicted by ``suites.property.shop_model`` (the oracle, which asks ``villa_contracts.domain.shop``
which rule refuses, with which status and message, and what the order, cart and attempts become) and
checked against the invariants of ``suites.property.shop_invariants``. The machine only sends the
requests, tells the model the answers it accepted, and compares.

On a mock where payments are allowed, time passes once an example at most (the clock rule, 5 hours
and a second through the admin API): every order still ``HOLD`` must then be ``CANCELLED``, and a
payer who approves its pending attempt afterwards is refunded (the model asks ``decide_callback``,
which asks ``refunds_at_expiry``): the attempt reads ``REFUNDED`` to its owner (money is never silently lost).
The gate runs this machine after the machines that keep the clock still.

Stock is predicted exactly on a mock: each example starts from its ``GET /__admin/stock``; elsewhere
a checkout the model lets through may also be refused for stock (and only for stock). Prices are
compared with the catalog only on a mock. Gateway pages exist only on a mock; the callback needs
the gateway's key (``suites.auth``); neither runs where payments are not allowed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, RuleBasedStateMachine, initialize, multiple, precondition, rule

from suites.auth import gateway_key, shop_token_key
from suites.property.paging import Page, read_page, walk, walk_problems
from suites.property.session import Answer, RunSession, mock_stock
from suites.property.shop_invariants import order_total_problems, snapshot_problems, status_problems
from suites.property.shop_model import CREATED, GUEST, READS, Expect, ShopModel, ShopOrder
from villa_contracts.domain import shop as rules

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.property.invariants import Problem
    from suites.property.reporting import MachineResult

ACTORS = st.sampled_from((0, 1, GUEST))
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


class ShopMachine(RuleBasedStateMachine):
    """Two users and a guest against ``session.target``, each answer checked against the model's prediction."""

    session: ClassVar[ShopSession]
    checkouts: Bundle[int] = Bundle("checkouts")

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[ShopCall] = []
        self.headers: dict[int, dict[str, str]] = {}
        self.model = ShopModel(self.session.data, self.session.shop)
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
        headers = dict(self.headers[actor]) if actor is not None else {}
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

    def _expect(self, operation: str, answer: Answer, expect: Expect, *, message: bool = True) -> bool:
        """The answer must have the predicted status (or one it allows); True when it is a refusal to stop at.

        A refused answer must be the refusal's status and, on a mock, its very message (``message``).
        """
        if answer.status not in expect.statuses:
            self._fail(
                operation,
                "expected_status",
                f"{operation} answered {answer.status}; the domain expected {expect.status}",
                f"HTTP {expect.status} ({expect.why})",
                f"HTTP {answer.status}: {answer.snippet()}",
            )
        refusal = expect.refusal
        if refusal is not None and message and self.session.strict and answer.doc.get("error") != refusal.message:
            self._fail(operation, refusal.rule, f"{operation}: the refusal's message", repr(refusal.message),
                       repr(answer.doc.get("error")))  # fmt: skip
        return refusal is not None or answer.status != expect.status

    def _problems(self, operation: str, problems: list[Problem]) -> None:
        if problems:
            first = problems[0]
            self._fail(operation, first.check, f"{operation}: {first.expected}", first.expected, first.got)

    # --- set-up --------------------------------------------------------------------------------

    def _login(self, actor: int) -> None:
        session = self.session
        self.headers[actor] = {"Authorization": f"Token {session.keys[actor]}"}

    def _user(self, actor: int) -> None:
        session = self.session
        if actor not in session.keys:
            make = partial(shop_token_key, session.context, actor)
            # On a mock, a machine that ran first may have moved the clock past the run's keys' 24 hours: a new one.
            keep = session.context.renew if session.target.is_mock else session.context.cached
            session.keys[actor] = keep(("tokenKey", actor), make)
        self._login(actor)
        profile = self._call("getProfile", "GET", "/api/shop/profile", actor)
        self.model.meet(actor, str(profile.doc.get("customer")))
        if not profile.doc.get("completed"):
            self._complete(actor)
        if actor not in session.addresses:
            session.addresses[actor] = self._add_address(actor)
        else:
            self.model.address_added(actor, session.addresses[actor])

    def _add_address(self, actor: int) -> int:
        body = {"line1": "12 Soi Ari 4", "city": "Bangkok", "postcode": "10400", "phone": "0898765432"}
        address = self._call("addAddress", "POST", "/api/shop/addresses", actor, body)
        self._expect("addAddress", address, Expect.ok("a valid address", CREATED))
        self.model.address_added(actor, int(address.doc["id"]))
        return int(address.doc["id"])

    def _complete(self, actor: int) -> None:
        body = {"first_name": "Gate", "last_name": "Customer", "phone": "0812345678", "email": "gate@villa.example"}
        answer = self._call("updateProfile", "PUT", "/api/shop/profile", actor, body)
        self._expect("updateProfile", answer, Expect.ok("a valid profile"))
        if answer.doc.get("completed") is not True:
            self._fail("updateProfile", "profile_complete", "a filled profile is complete", "completed true",
                       repr(answer.doc.get("completed")))  # fmt: skip
        self.model.completed(actor)

    def _empty_cart(self, actor: int) -> None:
        cart = self._call("getCart", "GET", "/api/shop/cart", actor)
        for item in cart.doc.get("items") or []:
            self._call("removeCartItem", "DELETE", f"/api/shop/cart/items/{item['product_id']}", actor)

    def _free_stock(self) -> dict[int, int]:
        branches = mock_stock(self.session.context) or {}
        units = branches.get(self.session.shop.branch, {})
        return {int(code): int(u["free"]) for code, u in units.items()}

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
            self._expect("startGuest", guest, Expect.ok("anyone may start as a guest", CREATED))
            self.headers[GUEST] = {"Authorization": f"Token {guest.doc.get('token')}"}
            self.model.meet(GUEST, str(guest.doc.get("customer")), complete=False)
            if self.session.strict:  # on a mock the users' lists are the run's alone: their counts are exact
                for actor in (0, 1):
                    answer = self._call("listOrders", "GET", "/api/shop/orders?page_size=1", actor)
                    self.model.before[actor] = int(answer.doc.get("count") or 0)
            for actor in (0, 1):
                self.add_item(actor, 25281, 2)
                self.change_item(actor, 25281, 1, remove=False)  # every example reaches changeCartItem's 200
            if self.session.strict:
                self.model.free = self._free_stock()
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
        self._problems(operation, self.model.cart_problems(actor, answer.doc, prices=self.session.strict))

    @precondition(_active)
    @rule(actor=ACTORS, product=st.sampled_from((25281, 188468, 164687, 104421, 231150, UNKNOWN_PRODUCT)),
          quantity=st.integers(1, 3))  # fmt: skip
    def add_item(self, actor: int, product: int, quantity: int) -> None:
        """``addCartItem``: a product the store sells (or not)."""
        expect = self.model.expect_add_item(actor, product, quantity)
        op = "addCartItem"
        answer = self._call(op, "POST", "/api/shop/cart/items", actor, {"product_id": product, "quantity": quantity})
        if self._expect(op, answer, expect):
            return
        self.model.item_added(actor, product, quantity)
        self._cart_check(op, answer, actor)

    @precondition(_active)
    @rule(actor=ACTORS, product=st.sampled_from((25281, 188468, 231150)), quantity=st.integers(1, 4),
          remove=st.booleans())  # fmt: skip
    def change_item(self, actor: int, product: int, quantity: int, remove: bool) -> None:
        """``changeCartItem`` / ``removeCartItem``: only a line that is in the cart."""
        expect = self.model.expect_change_item(actor, product)
        op, method = ("removeCartItem", "DELETE") if remove else ("changeCartItem", "PATCH")
        body = None if remove else {"quantity": quantity}
        answer = self._call(op, method, f"/api/shop/cart/items/{product}", actor, body)
        if self._expect(op, answer, expect):
            return
        self.model.item_changed(actor, product, None if remove else quantity)
        self._cart_check(op, answer, actor)

    @precondition(_active)
    @rule(actor=ACTORS)
    def view_cart(self, actor: int) -> None:
        """``getCart``."""
        answer = self._call("getCart", "GET", "/api/shop/cart", actor)
        self._expect("getCart", answer, Expect.ok("anyone has a cart"))
        self._cart_check("getCart", answer, actor)

    @precondition(lambda self: self._active() and not self.model.customers[GUEST].profile_complete)
    @rule()
    def guest_completes_profile(self) -> None:
        """``updateProfile`` and ``addAddress`` as the guest."""
        self._complete(GUEST)
        self._add_address(GUEST)

    # --- checkout ------------------------------------------------------------------------------

    @precondition(_active)
    @rule(target=checkouts, actor=ACTORS, choice=st.sampled_from(("own",) * 6 + ("foreign", "missing")),
          payment=st.sampled_from((1, 1, 1, 1, 3, 3, 4, 5, 99)),
          shipping=st.sampled_from((2, 2, 2, 2, 6, 7, 98)))  # fmt: skip
    def checkout(self, actor: int, choice: str, payment: int, shipping: int) -> int:
        """``checkoutCart``: every rule of seed 002, in its order."""
        return self._checkout(actor, choice, payment, shipping)

    def _checkout(self, actor: int, choice: str, payment: int, shipping: int) -> int:
        number = len(self.model.orders)
        self.model.orders[number] = None
        predicted = self.model.expect_checkout(actor, choice, payment, shipping)
        op = "checkoutCart"
        answer = self._call(op, "POST", "/api/shop/checkout/cart", actor, predicted.body)
        # Refused as predicted (or, where stock is not known, for stock: which may be the reason, but nothing else).
        if self._expect(op, answer, predicted.expect) or predicted.outcome is None:
            return number
        if predicted.outcome.payment.kind == rules.DIRECT:
            order = self.model.checked_out(number, actor, predicted.outcome, str(answer.doc.get("order_key")), None)
        else:
            step = str(answer.doc.get("next_step") or "")
            if "next_step" not in answer.doc:
                self._fail(op, "checkout_answer", "a redirect method answers next_step", "next_step", answer.snippet())
            newest = self._call("listOrders", "GET", "/api/shop/orders?page=1&page_size=1", actor)
            key = str((newest.doc.get("results") or [{}])[0].get("order_key"))
            attempt = step.rstrip("/").rsplit("/", 1)[-1]
            order = self.model.checked_out(number, actor, predicted.outcome, key, attempt)
        self._order_check(op, self._get_order(actor, order), order)
        return number

    # --- orders --------------------------------------------------------------------------------

    def _get_order(self, actor: int, order: ShopOrder) -> Answer:
        answer = self._call("getOrder", "GET", f"/api/shop/orders/{order.key}", actor)
        self._expect("getOrder", answer, Expect.ok("the caller's own order"))
        return answer

    def _order_check(self, operation: str, answer: Answer, order: ShopOrder) -> None:
        doc, prices = answer.doc, self.session.strict
        self._problems(operation, [*status_problems(doc), *order_total_problems(doc), *snapshot_problems(doc),
                                   *self.model.order_problems(order, doc, prices=prices)])  # fmt: skip

    @precondition(_active)
    @rule(ref=checkouts, actor=ACTORS, what=st.sampled_from(tuple(READS)))
    def read_order(self, ref: int, actor: int, what: str) -> None:
        """One order, the order to pay, or its attempts, as its owner or someone else."""
        order = self.model.orders.get(ref)
        if order is None:
            return
        expect = self.model.expect_read(ref, actor, what)
        answer = self._call(what, "GET", f"/api/shop/orders/{order.key}{READS[what]}", actor)
        if self._expect(what, answer, expect, message=False):
            return
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
        self._expect(op, answers[1], Expect.ok("anyone has an order list"))
        if walked is None:
            self._fail(op, "shop_pages", f"{op}: a page of orders", "results: a list of orders", answers[1].snippet())
        self._problems(op, walk_problems(walked, page_size=size, check="shop_pages"))
        docs = {doc.get("order_key"): doc for answer in answers.values() for doc in answer.doc.get("results") or []}
        # Off a mock, orders of the same instant may come in any order: the example's must still come first.
        self._problems(op, self.model.list_problems(actor, walked, docs, size, exact_order=self.session.strict))

    @precondition(_active)
    @rule(ref=checkouts, actor=ACTORS)
    def new_attempt(self, ref: int, actor: int) -> None:
        """``createPaymentAttempt``: only the owner, only while unpaid."""
        order = self.model.orders.get(ref)
        if order is None:
            return
        expect = self.model.expect_new_attempt(ref, actor)
        op = "createPaymentAttempt"
        answer = self._call(op, "POST", f"/api/shop/orders/{order.key}/attempts", actor)
        if self._expect(op, answer, expect, message=False):
            return
        self.model.attempt_started(ref, str(answer.doc.get("external_id")))

    # --- payment -------------------------------------------------------------------------------

    def _may_pay(self) -> bool:
        return self._active() and self.session.target.allow_payments

    @precondition(_may_pay)
    @rule(ref=checkouts, action=st.sampled_from(("approve", "approve", "decline", "abandon")),
          via=st.sampled_from(("page", "callback", "callback")),
          wrong=st.sampled_from((None, None, "amount", "currency")))  # fmt: skip
    def pay(self, ref: int, action: str, via: str, wrong: str | None) -> None:
        """The payer decides on the gateway's page, or the gateway calls back (with a wrong amount or currency)."""
        session = self.session
        if via == "page" and not session.target.is_mock:
            via = "callback"
        if via == "callback" and session.gateway is None:
            return
        payment = self.model.decide_payment(ref, action, wrong=wrong if via == "callback" else None)
        if payment is None:
            return
        if via == "page":
            op = "gatewayDecision"
            answer = self._call(op, "POST", f"/mock/gateway/{payment.external_id}", None, {"action": action})
        else:
            op = "paymentCallback"
            answer = self._call(op, "POST", "/api/shop/payments/callback", None, payment.callback_body(), gateway=True)
        order = self.model.reported(ref, payment)
        if self._expect(op, answer, payment.expect):
            return
        decision = payment.decision
        if answer.doc.get("status") != decision.attempt_status:
            self._fail(op, "shop_attempts", f"{op}: the attempt's status", decision.attempt_status,
                       repr(answer.doc.get("status")))  # fmt: skip
        if op == "paymentCallback" and answer.doc.get("processed") is not decision.pays:
            self._fail(
                op, "shop_one_payment", f"{op}: processed", repr(decision.pays), repr(answer.doc.get("processed"))
            )
        self._order_check(op, self._get_order(order.owner, order), order)

    def _may_move_clock(self) -> bool:
        session = self.session
        return self._may_pay() and session.strict and session.target.is_mock and not self.moved

    @precondition(_may_move_clock)
    @rule()
    def time_passes(self) -> None:
        """5 hours and a second later: every ``HOLD`` order is ``CANCELLED``, its stock back; a late approval refunded.

        Each order the model expires is read by its owner; a cancelled order with a pending attempt is then
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
        self._expect("advanceClock", answer, Expect.ok("the mock's clock moves forward"))
        for actor in (0, 1):  # a key lives 24 hours on the backend's clock: the run's keys may be older by now
            session.keys[actor] = session.context.renew(
                ("tokenKey", actor), partial(shop_token_key, session.context, actor)
            )
            self._login(actor)
            # Who the new key is, as the seeds' clients ask it first (a watching proxy learns it so, too).
            profile = self._call("getProfile", "GET", "/api/shop/profile", actor)
            self._expect("getProfile", profile, Expect.ok("a new key"))
        self.model.free = self._free_stock()  # orders of earlier examples expired too
        for number in self.model.time_passes(seconds):
            order = self.model.orders[number]
            assert order is not None
            self._order_check("getOrder", self._get_order(order.owner, order), order)
            if self.model.waits_for_payer(number):
                self.pay(number, "approve", "page", None)
                self.read_order(number, order.owner, "listPaymentAttempts")

    def teardown(self) -> None:
        """Read every order of the example, the order to pay and its attempts, as its owner: the last word."""
        if self.skip or self.failed:
            return
        for number, order in self.model.orders.items():
            if order is not None:
                for what in READS:
                    self.read_order(number, order.owner, what)


def run_shop_machine(context: RunContext, *, max_examples: int, seed: int, **options: Any) -> MachineResult:
    """Run the shop's state machine against the context's target (``stateful.run_rules``)."""
    from suites.property.stateful import run_rules

    steps = options.pop("stateful_step_count", 20)
    session = ShopSession(context, **options)
    return run_rules(context, ShopMachine, session, max_examples=max_examples, seed=seed, stateful_step_count=steps)


__all__ = ["ShopMachine", "run_shop_machine"]
