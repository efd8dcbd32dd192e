"""The line-item order API's state machine (seed 004): two users create, pay and list orders while time passes.

Rules create orders (any of the variants, short stock included, or no line items), pay them with
PayPal reference ids (the whole rest, a part, one already used, an unknown one; someone else's or a
missing order), list them with every ``state``/``type`` filter and page on both paths, let a
merchant deliver them, and move the mock's clock (the clock is a rule: 30 minutes, 2 hours or
5 hours and a second at a time), after which orders not fully paid 5 hours after creation must have
expired as ``rules.decide_expiry`` decides, their stock back: gone when nothing was paid, else listed
``canceled`` with every payment refunded (money is never silently lost; each example also checks the
partly paid orders of the examples before it, which its start expires). Every answer is predicted
by ``suites.property.lineitems_model`` (the oracle, from ``villa_contracts.domain.lineitems``) and
compared whole: documents, statuses, the seed's short-stock body, the exact pages. The calls, the
verdicts and the reproductions are the engine's (``suites.property.engine.ApiMachine``).

Time travel and delivery need the mock's admin API, so the clock and merchant rules run only on a
mock; there each example starts 5 hours and a second later than the last (every earlier unpaid order
is gone, the model starts exact) and logs its users in again after every move of the clock. The
clock moves for every API of the mock: the gate runs this machine after the other machines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, initialize, multiple, precondition, rule

from suites.property.engine import Actor, ApiMachine, Expect, step
from suites.property.lineitems_model import REFUND_FIELDS, LineItemsModel
from suites.property.session import Answer, RunSession, token_variable
from villa_contracts.domain import lineitems as rules

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.property.reporting import MachineResult

USERS = st.sampled_from((0, 1))
MISSING_ORDER = 999_999_999
VARIANTS = st.sampled_from((33, 34, 251, 252, 36, 37))
"""The data's variants: 36 and 37 have little stock (10 and 2), so orders run short of them."""
STEPS = (1800.0, 7200.0, 18001.0)
"""How far the clock rule moves: sums below 5 hours stay 1800 s clear of it, whatever the wall clock does."""
LIST_PATHS = {"listLineItemOrdersJson": "/api/orders.json", "listLineItemOrders": "/api/orders"}
PAGES_AT_THE_END = ("last", "past")
"""Pages the list rule asks besides 1 to 3: the last of the filter's pages, and the one past it (always empty)."""
LISTED = Expect(200, "expected_status", "the caller's orders")
REFUNDS = "expiry_refunds"


class LineItemsSession(RunSession):
    """One run: the data, and each account's current ID token (fresh ones from the mock after the clock moves)."""

    def __init__(self, context: RunContext, **options: Any) -> None:
        super().__init__(context, **options)
        self.li = rules.LineItemsData.from_contract(context.contracts)
        self.references = 0
        self.partly_paid: dict[int, tuple[int, dict[str, Any]]] = {}
        """Orders left partly paid by an example (id → owner, record): the next example's start expires them."""

    def reference(self, cents: int, order_id: int) -> str:
        """A reference id the mock's PayPal sandbox knows as a payment of ``cents``, new on this target.

        Made of the seed, the order (its id is the target's: unique there, so a later run with the same seed
        on the same backend never repeats one) and a count, so that one seed sends the same ids to a fresh
        mock. Letters part the numbers: no digit run is long enough to read as a card number.
        """
        self.references += 1
        return f"PAYID-{cents}-s{self.target.seed}o{order_id}n{self.references}"


class LineItemsMachine(ApiMachine):
    """Two users against ``session.target``; each answer is the model's prediction (``LineItemsModel``)."""

    API = "lineitems"
    session: ClassVar[LineItemsSession]
    made: Bundle[int] = Bundle("made")

    def __init__(self) -> None:
        super().__init__()
        self.model = LineItemsModel(self.session.li)

    def _call(self, operation: str, method: str, path: str, user: int | None, body: Any = None) -> Answer:
        """Send one request as account ``user`` (None: the mock's admin API, whose statuses count for nothing)."""
        if user is None:
            actor = Actor(self.session.target.admin_headers)
        else:
            actor = Actor(self.session.headers[user], (("Authorization", f"Bearer {token_variable(user)}"),))
        return self.call(operation, method, path, actor, body, counted=user is not None)

    # --- set-up --------------------------------------------------------------------------------

    def _mine(self, user: int) -> list[dict[str, Any]]:
        """Every order of ``user`` (all pages), most recently updated first."""
        first = self._call("listLineItemOrdersJson", "GET", "/api/orders.json", user)
        self.expect("listLineItemOrdersJson", first, LISTED)
        found = list(first.doc.get("orders") or [])
        for page in range(2, int(first.doc.get("total_pages") or 0) + 1):
            found += self._call("listLineItemOrdersJson", "GET", f"/api/orders.json?page={page}", user).doc["orders"]
        return found

    @initialize(target=made)
    @step
    def start(self) -> MultipleResults[int]:
        """The orders so far; on a mock 5 hours and a second later (unpaid ones gone, their stock back). Then fixtures.

        Every example then makes, as the first account, an unpaid, a partly paid and a paid order,
        tries the paid one's reference id again, and reads page 1 of every filter: the rules that
        follow start from orders in every state a filter names.
        """
        if self.skip:
            return multiple()
        strict = self.session.strict
        before = [self._mine(user) for user in (0, 1)]
        after = before
        if strict:
            self._expire_all(before)
            after = [self._mine(user) for user in (0, 1)]
            self._check_refunded(after)
        for user in (0, 1):
            for doc in reversed(after[user]):
                if strict and doc.get("state") in rules.TYPES["not_completed"]:
                    self.fail("listLineItemOrdersJson", "expired_gone", "an order unpaid for 5 hours is still "
                              "listed", "no order in created or payment", repr(doc.get("id")))  # fmt: skip
                self.model.adopt(user, doc)
        made = [self._create(0, None, [(33, 1)]), self._create(0, None, [(251, 1)]), self._create(0, None, [(36, 1)])]
        ids = [found for found in made if found is not None]
        if len(ids) == 3:
            self.pay(0, ids[0], "part")
            self.pay(0, ids[1], "rest")
            self.pay(0, ids[2], "used")
        for state in (None, "created", "payment", "completed"):
            for type_ in (None, "completed", "not_completed"):
                self.my_orders(0, "listLineItemOrdersJson", state, type_, 1)
        # One entry per order tried, made or refused: the bundle's size must not depend on the stock earlier
        # examples left (a replayed example must draw as before, or Hypothesis calls the run flaky).
        return multiple(*(MISSING_ORDER if found is None else found for found in made))

    def _expire_all(self, before: list[list[dict[str, Any]]]) -> None:
        """Move the clock past every order's 5 hours: the listed unpaid ones must give their stock back."""
        held = self._stock()
        expected = self.model.released(held, [doc for docs in before for doc in docs])
        self._advance(self.session.li.expiry_seconds + 1)
        self.model.reserved = self._stock()
        # Other users' orders may have expired too (less held), never more held than predicted.
        if any(n > expected.get(v, 0) for v, n in self.model.reserved.items()):
            self.fail("createLineItemOrder", "stock_restored", "the stock of orders unpaid for 5 hours comes back",
                      f"reservations at most {expected}", f"{self.model.reserved} (before: {held})")  # fmt: skip

    def _check_refunded(self, listed: list[list[dict[str, Any]]]) -> None:
        """The partly paid orders earlier examples left, now expired: each listed ``canceled``, all it took refunded."""
        session = self.session
        for order_id, (user, order) in sorted(session.partly_paid.items()):
            got = next((doc for doc in listed[user] if doc.get("id") == order_id), None)
            shown = None if got is None else {k: got.get(k) for k in REFUND_FIELDS}
            self.same("listLineItemOrdersJson", REFUNDS, f"order {order_id}, partly paid, 5 hours later (money is "
                      "never silently lost: listed canceled, its payments refunded)", self.model.expected_refund(order),
                      shown)  # fmt: skip
        session.partly_paid.clear()

    def _stock(self) -> dict[int, int]:
        answer = self._call("getLineItemStock", "GET", "/__admin/lineitems/stock", None)
        return {int(v): int(u["reserved"]) for v, u in answer.doc.get("variants", {}).items() if u["reserved"]}

    def _active(self) -> bool:
        return not (self.skip or self.failed)

    def _on_mock(self) -> bool:
        return self._active() and self.session.strict

    # --- rules ---------------------------------------------------------------------------------

    @precondition(_active)
    @rule(target=made, user=USERS, remarks=st.sampled_from([None, "leave at the door"]),
          lines=st.lists(st.tuples(VARIANTS, st.integers(1, 4)), max_size=3))  # fmt: skip
    @step
    def create(self, user: int, remarks: str | None, lines: list[tuple[int, int]]) -> MultipleResults[int]:
        """``createLineItemOrder``: priced and reserved, or the seed's short-stock body."""
        made = self._create(user, remarks, lines)
        return multiple(MISSING_ORDER if made is None else made)  # refused for stock: a missing order (see start)

    def _create(self, user: int, remarks: str | None, lines: list[tuple[int, int]]) -> int | None:
        body: dict[str, Any] = {
            "line_items": [{"variant_id": v, "quantity": q} for v, q in lines],
            "ship_address": {"firstname": "Gate", "lastname": "Buyer", "address1": "1 Test Road", "zipcode": "10110",
                             "phone": "0812345678"},
        }  # fmt: skip
        if remarks is not None:
            body["remarks"] = remarks
        op = "createLineItemOrder"
        expect = self.model.expect_create(body["line_items"])
        answer = self._call(op, "POST", "/api/v1/orders.json", user, body)
        self.expect(op, answer, expect)
        if expect.quote is not None:
            self.same(op, "stock", "the seed's short-stock body", expect.quote, answer.body)
        if answer.status != 201:
            return None  # refused for stock, as predicted (off a mock the stock is the target's)
        order_id = answer.doc.get("id")
        if not isinstance(order_id, int) or order_id in self.model.orders:
            self.fail(op, "new_id", "a new order has a new id", "an id not seen before", repr(order_id))
        order = self.model.created(order_id, user, body)
        self.same(op, "order", "the created order", self.model.view(order), self.model.shown(answer.body))
        return order_id

    @precondition(_active)
    @rule(user=USERS, order_id=st.one_of(made, st.just(MISSING_ORDER)),
          kind=st.sampled_from(("rest", "rest", "part", "used", "unknown")))  # fmt: skip
    @step
    def pay(self, user: int, order_id: int, kind: str) -> None:
        """``payLineItemOrder``: the rest, a part, a used or an unknown reference id."""
        op, used = "payLineItemOrder", sorted(self.model.used)
        rest = self.model.left_to_pay(order_id)
        if kind == "used" and used:
            reference = used[order_id % len(used)]
        elif kind == "unknown":
            reference = "not-a-paypal-id"
        else:
            reference = self.session.reference(max(rest // 3, 1) if kind == "part" else rest, order_id)
        expect = self.model.expect_pay(user, order_id, reference)
        answer = self._call(op, "POST", f"/api/orders/{order_id}/payments", user, {"reference_id": reference})
        self.expect(op, answer, expect)
        if expect.quote is None:
            return  # refused as predicted
        new = self.model.paid(reference, expect.quote)
        self.same(op, "order", "the order after the payment", self.model.view(new), self.model.shown(answer.body))
        if self.session.strict and new["state"] == rules.PAYMENT:
            self.session.partly_paid[order_id] = (int(new["owner"]), new)
        else:
            self.session.partly_paid.pop(order_id, None)

    @precondition(_active)
    @rule(user=USERS, operation=st.sampled_from(sorted(LIST_PATHS)),
          state=st.sampled_from((None, "created", "payment", "completed")),
          type_=st.sampled_from((None, "completed", "not_completed")),
          page=st.one_of(st.integers(1, 3), st.sampled_from(PAGES_AT_THE_END)))  # fmt: skip
    @step
    def my_orders(self, user: int, operation: str, state: str | None, type_: str | None, page: int | str) -> None:
        """``listLineItemOrders(Json)``: exactly the domain's page of the filtered orders, and its total_pages.

        ``page`` is a number, or the last page or the one past it (empty) of the domain's ``total_pages``.
        """
        number = self.model.page_number(user, state, type_, page)
        query = "&".join(f"{k}={v}" for k, v in (("state", state), ("type", type_), ("page", number)) if v)
        answer = self._call(operation, "GET", f"{LIST_PATHS[operation]}?{query}", user)
        self.expect(operation, answer, LISTED)
        total_pages, chosen = self.model.my_orders(user, state, type_, number)
        got = answer.doc
        self.same(operation, "total_pages", f"total_pages of state={state} type={type_}", total_pages,
                  got.get("total_pages"))  # fmt: skip
        self.same(operation, "filters", f"ids on page {number} of {total_pages}, state={state} type={type_}",
                  [o["id"] for o in chosen], [o.get("id") for o in got.get("orders") or []])  # fmt: skip
        self.same(operation, "order", "the listed orders", [self.model.view(o) for o in chosen],
                  [self.model.shown(o) for o in got.get("orders") or []])  # fmt: skip

    @precondition(_on_mock)
    @rule(order_id=made, state=st.sampled_from((rules.PARTIAL_DELIVERED, rules.DELIVERED)))
    @step
    def deliver(self, order_id: int, state: str) -> None:
        """A merchant delivers (the admin API)."""
        op = "setLineItemOrderState"
        expect = self.model.expect_deliver(order_id, state)
        answer = self._call(op, "PUT", f"/__admin/lineitems/orders/{order_id}/state", None, {"state": state})
        self.expect(op, answer, expect)
        if expect.quote is not None:
            self.model.delivered(expect.quote)

    @precondition(_on_mock)
    @rule(seconds=st.sampled_from(STEPS))
    @step
    def time_passes(self, seconds: float) -> None:
        """The clock: orders not fully paid 5 hours after creation expired, their stock back.

        Each is gone, or kept ``canceled`` with its payments refunded (``rules.decide_expiry``): its owner's
        list shows it so.
        """
        expired = self._advance(seconds)
        for order_id, _ in expired:
            self.session.partly_paid.pop(order_id, None)
        stock = self._stock()
        self.same("createLineItemOrder", "stock_restored", f"reservations {seconds:g} s later", self.model.reserved,
                  stock)  # fmt: skip
        for _, kept in expired:
            if kept is not None:
                self._refund_listed(kept)

    def _refund_listed(self, order: dict[str, Any]) -> None:
        """Its owner's list shows an order canceled at expiry where it was, with all it took refunded."""
        op = "listLineItemOrdersJson"
        page = self.model.listed_on(order)
        answer = self._call(op, "GET", f"/api/orders.json?page={page}", order["owner"])
        self.expect(op, answer, LISTED)
        got = next((doc for doc in answer.doc.get("orders") or [] if doc.get("id") == order["id"]), None)
        self.same(op, REFUNDS, f"order {order['id']}, partly paid, 5 hours later (money is never silently lost: "
                  "listed canceled, its payments refunded)", self.model.view(order), self.model.shown(got))  # fmt: skip

    def _advance(self, seconds: float) -> list[tuple[int, dict[str, Any] | None]]:
        """Move the mock's clock (and the model's): the orders that expired (``LineItemsModel.time_passes``)."""
        answer = self._call("advanceClock", "POST", "/__admin/clock", None, {"advanceSeconds": seconds})
        self.expect("advanceClock", answer, Expect(200, "expected_status", "the mock's clock moves forward"))
        expired = self.model.time_passes(seconds)
        self.session.relogin()
        return expired


def run_lineitems_machine(context: RunContext, *, max_examples: int, seed: int, **options: Any) -> MachineResult:
    """Run the line-item order machine against the context's target (``stateful.run_rules``)."""
    from suites.property.stateful import run_rules

    steps = options.pop("stateful_step_count", 20)
    session = LineItemsSession(context, **options)
    return run_rules(
        context, LineItemsMachine, session, max_examples=max_examples, seed=seed, stateful_step_count=steps
    )


__all__ = ["LineItemsMachine", "run_lineitems_machine"]
