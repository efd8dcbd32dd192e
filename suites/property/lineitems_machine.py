"""The line-item order API's state machine (seed 004): two users create, pay and list orders while time passes.

Rules create orders (any of the variants, short stock included, or no line items), pay them with
PayPal reference ids (the whole rest, a part, one already used, an unknown one; someone else's or a
missing order), list them with every ``state``/``type`` filter and page on both paths, let a
merchant deliver them, and move the mock's clock (the clock is a rule: 30 minutes, 2 hours or
5 hours and a second at a time), after which orders not fully paid 5 hours after creation must have
expired as ``rules.decide_expiry`` decides, their stock back: gone when nothing was paid, else listed
``canceled`` with every payment refunded (money is never silently lost; each example also checks the
partly paid orders of the examples before it, which its start expires). Every answer is predicted
with ``villa_contracts.domain.lineitems`` (the oracle) and compared whole: documents, statuses, the
seed's short-stock body, the exact pages.

Time travel and delivery need the mock's admin API, so the clock and merchant rules run only on a
mock; there each example starts 5 hours and a second later than the last (every earlier unpaid order
is gone, the model starts exact) and logs its users in again after every move of the clock. The
clock moves for every API of the mock: the gate runs this machine after the other machines.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import httpx
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, MultipleResults, RuleBasedStateMachine, initialize, multiple, precondition, rule

from suites.property.session import Answer, RunSession, token_variable
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.errors import RuleViolation

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
REFUND_FIELDS = ("id", "state", "all_paid", "refunded_cents", "cancel_reason")
"""What a check of an order expired before this example compares (its stock counts have moved since)."""
PAGES_AT_THE_END = ("last", "past")
"""Pages the list rule asks besides 1 to 3: the last of the filter's pages, and the one past it (always empty)."""


@dataclass(frozen=True, slots=True)
class LiCall:
    """One request the machine sent (what a reproduction replays)."""

    operation: str
    method: str
    url: str
    user: int | None
    body: Any
    status: int | None

    def curl(self, base_url: str) -> str:
        """The request as curl on ``$VILLA_BASE_URL``; ID tokens from ``villa-contracts tokens``, admin calls bare."""
        path = self.url[len(base_url) :] if self.url.startswith(base_url) else self.url
        parts = ["curl", "-sS", "-X", self.method, f'"$VILLA_BASE_URL"{shlex.quote(path)}']
        if self.user is not None:
            parts.append(f'-H "Authorization: Bearer {token_variable(self.user)}"')
        if self.body is not None:
            parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(self.body))]
        return " ".join(parts) + f"  # {self.operation} -> {self.status if self.status is not None else 'no answer'}"


class LineItemsSession(RunSession):
    """One run: the data, and each account's current ID token (fresh ones from the mock after the clock moves)."""

    def __init__(self, context: RunContext, **options: Any) -> None:
        super().__init__(context, **options)
        self.li = rules.LineItemsData.from_contract(context.contracts)
        self.headers = [dict(account.headers) for account in self.target.accounts]
        self.references = 0
        self.partly_paid: dict[int, tuple[int, dict[str, Any]]] = {}
        """Orders left partly paid by an example (id → owner, record): the next example's start expires them."""

    def relogin(self) -> None:
        """New ID tokens for both accounts (the admin API's password-less login; a mock only)."""
        for index, account in enumerate(self.target.accounts):
            answer = self.http.post(
                f"{self.base}/__admin/users/{account.username}/tokens", headers=self.target.admin_headers
            )
            if answer.status_code == 200:
                self.headers[index] = {"Authorization": f"Bearer {answer.json()['IdToken']}"}

    def reference(self, cents: int, order_id: int) -> str:
        """A reference id the mock's PayPal sandbox knows as a payment of ``cents``, new on this target.

        Made of the seed, the order (its id is the target's: unique there, so a later run with the same seed
        on the same backend never repeats one) and a count, so that one seed sends the same ids to a fresh
        mock. Letters part the numbers: no digit run is long enough to read as a card number.
        """
        self.references += 1
        return f"PAYID-{cents}-s{self.target.seed}o{order_id}n{self.references}"


class LineItemsMachine(RuleBasedStateMachine):
    """Two users against ``session.target``; each answer is the domain's prediction."""

    session: ClassVar[LineItemsSession]
    made: Bundle[int] = Bundle("made")

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[LiCall] = []
        self.orders: dict[int, dict[str, Any]] = {}
        self.touched = 0
        self.now = 0.0
        self.reserved: dict[int, int] | None = None
        self.used: dict[str, int] = {}
        self.failed = False
        self.session.example_started()
        self.skip = self.session.shrink_spent() or self.session.stopped

    # --- HTTP and failing ----------------------------------------------------------------------

    def _call(self, operation: str, method: str, path: str, user: int | None, body: Any = None) -> Answer:
        session = self.session
        url = session.base + path
        headers = dict(session.headers[user]) if user is not None else dict(session.target.admin_headers)
        try:
            response = session.http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.calls.append(LiCall(operation, method, url, user, body, None))
            self._fail(operation, "no_answer", f"{operation} did not answer", "an HTTP answer", type(exc).__name__)
        session.steps += 1
        if user is not None:
            session.statuses[operation].add(response.status_code)
        self.calls.append(LiCall(operation, method, url, user, body, response.status_code))
        return Answer.of(response)

    def _fail(self, operation: str, check: str, title: str, expected: str, got: str) -> NoReturn:
        self.failed = True
        raise self.session.mismatch(f"lineitems.{operation}", operation, check, title, expected, got, self.calls)

    def _expect(self, operation: str, answer: Answer, status: int, why: str) -> None:
        if answer.status != status:
            self._fail(operation, "expected_status", f"{operation} answered {answer.status}; the domain expected "
                       f"{status}", f"HTTP {status} ({why})", f"HTTP {answer.status}: {answer.snippet()}")  # fmt: skip

    def _same(self, operation: str, check: str, what: str, expected: Any, got: Any) -> None:
        if expected != got:
            self._fail(operation, check, f"{operation}: {what}", json.dumps(expected)[:1500], json.dumps(got)[:1500])

    def _view(self, order: Mapping[str, Any]) -> Any:
        """The domain's answer for an order, as the target shows it (``_strip``: off a mock, no stock count)."""
        return self._strip(rules.order_json(self.session.li, order, self.reserved or {}))

    def _strip(self, doc: Any) -> Any:
        """``doc`` without what this run cannot predict: off a mock, other clients move stock (no count compared)."""
        if self.reserved is not None or not isinstance(doc, dict):
            return doc
        lines = [{**line, "variant": {**line["variant"], "stocks_count": None}} for line in doc.get("line_items") or []]
        return {**doc, "line_items": lines}

    def _touch(self, order: dict[str, Any]) -> None:
        self.touched += 1
        order["touched"] = self.touched

    # --- set-up --------------------------------------------------------------------------------

    def _mine(self, user: int) -> list[dict[str, Any]]:
        """Every order of ``user`` (all pages), most recently updated first."""
        first = self._call("listLineItemOrdersJson", "GET", "/api/orders.json", user)
        self._expect("listLineItemOrdersJson", first, 200, "the caller's orders")
        found = list(first.doc.get("orders") or [])
        for page in range(2, int(first.doc.get("total_pages") or 0) + 1):
            found += self._call("listLineItemOrdersJson", "GET", f"/api/orders.json?page={page}", user).doc["orders"]
        return found

    @initialize(target=made)
    def start(self) -> MultipleResults[int]:
        """The orders so far; on a mock 5 hours and a second later (unpaid ones gone, their stock back). Then fixtures.

        Every example then makes, as the first account, an unpaid, a partly paid and a paid order,
        tries the paid one's reference id again, and reads page 1 of every filter: the rules that
        follow start from orders in every state a filter names.
        """
        if self.skip:
            return multiple()
        session = self.session
        try:
            before = [self._mine(user) for user in (0, 1)]
            after = before
            if session.strict:
                self._expire_all(before)
                after = [self._mine(user) for user in (0, 1)]
                self._check_refunded(after)
            for user in (0, 1):
                for doc in reversed(after[user]):
                    if doc.get("state") in rules.TYPES["not_completed"] and session.strict:
                        self._fail("listLineItemOrdersJson", "expired_gone", "an order unpaid for 5 hours is "
                                   "still listed", "no order in created or payment", repr(doc.get("id")))  # fmt: skip
                    self._adopt(user, doc)
            made = [
                self._create(0, None, [(33, 1)]),
                self._create(0, None, [(251, 1)]),
                self._create(0, None, [(36, 1)]),
            ]
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
        except BaseException:
            self.failed = True
            raise

    def _expire_all(self, before: list[list[dict[str, Any]]]) -> None:
        """Move the clock past every order's 5 hours: the listed unpaid ones must give their stock back."""
        li = self.session.li
        held = self._stock()
        expected = dict(held)
        for docs in before:
            for doc in docs:
                if doc.get("state") in rules.TYPES["not_completed"]:
                    needs = {int(i["variant"]["id"]): int(i["quantity"]) for i in doc.get("line_items") or []}
                    expected = rules.release(expected, needs)
        self._advance(li.expiry_seconds + 1)
        self.reserved = self._stock()
        # Other users' orders may have expired too (less held), never more held than predicted.
        kept = {v: n for v, n in self.reserved.items() if n > expected.get(v, 0)}
        if kept:
            self._fail("createLineItemOrder", "stock_restored", "the stock of orders unpaid for 5 hours comes back",
                       f"reservations at most {expected}", f"{self.reserved} (before: {held})")  # fmt: skip

    def _check_refunded(self, listed: list[list[dict[str, Any]]]) -> None:
        """The partly paid orders earlier examples left, now expired: each listed ``canceled``, all it took refunded."""
        session = self.session
        for order_id, (user, order) in sorted(session.partly_paid.items()):
            kept = rules.decide_expiry(order)
            got = next((doc for doc in listed[user] if doc.get("id") == order_id), None)
            expected = None if kept is None else {k: rules.order_json(session.li, kept, {})[k] for k in REFUND_FIELDS}
            shown = None if got is None else {k: got.get(k) for k in REFUND_FIELDS}
            self._same("listLineItemOrdersJson", "expiry_refunds", f"order {order_id}, partly paid, 5 hours "
                       "later (money is never silently lost: listed canceled, its payments refunded)", expected,
                       shown)  # fmt: skip
        session.partly_paid.clear()

    def _adopt(self, user: int, doc: dict[str, Any]) -> None:
        """An order made before this example, as the model knows it (its creation long past)."""
        lines = [[int(item["variant"]["id"]), int(item["quantity"]), int(item["variant"]["price_cents"])]
                 for item in doc["line_items"]]  # fmt: skip
        shipping = [[str(i["merchant"]), int(i["shipping_fee_cents"])] for i in doc["shipping_fee_items"]]
        self.touched += 1
        self.orders[int(doc["id"])] = {
            "id": int(doc["id"]), "owner": user, "state": doc["state"],
            "paid_cents": int(doc["total_cents"]) if doc["all_paid"] else int(doc.get("refunded_cents") or 0),
            "references": [],
            "created_at": float("-inf"), "touched": self.touched, "remarks": doc.get("remarks"),
            "ship_address": {k: v for k, v in doc["ship_address"].items() if k != "full_name"},
            "lines": lines, "shipping": shipping,
        }  # fmt: skip
        if doc["state"] == rules.CANCELED:
            refund = {"refunded_cents": doc["refunded_cents"], "cancel_reason": doc["cancel_reason"]}
            self.orders[int(doc["id"])] |= refund

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
    def create(self, user: int, remarks: str | None, lines: list[tuple[int, int]]) -> MultipleResults[int]:
        """``createLineItemOrder``: priced and reserved, or the seed's short-stock body."""
        made = self._create(user, remarks, lines)
        return multiple(MISSING_ORDER if made is None else made)  # refused for stock: a missing order (see start)

    def _create(self, user: int, remarks: str | None, lines: list[tuple[int, int]]) -> int | None:
        li = self.session.li
        body: dict[str, Any] = {
            "line_items": [{"variant_id": v, "quantity": q} for v, q in lines],
            "ship_address": {"firstname": "Gate", "lastname": "Buyer", "address1": "1 Test Road", "zipcode": "10110",
                             "phone": "0812345678"},
        }  # fmt: skip
        if remarks is not None:
            body["remarks"] = remarks
        op = "createLineItemOrder"
        answer = self._call(op, "POST", "/api/v1/orders.json", user, body)
        priced = rules.price(li, body["line_items"])
        if self.reserved is not None:
            try:
                self.reserved = rules.reserve(li, self.reserved, priced.needs)
            except rules.StockShortage as short:
                self._expect(op, answer, short.status, f"stock is short: {short.message}")
                self._same(op, "stock", "the seed's short-stock body", short.body(), answer.body)
                return None
        elif answer.status == 409:
            return None  # off a mock, stock is the target's: a refusal for stock is all it may say
        self._expect(op, answer, 201, "the variants are known and in stock")
        order_id = answer.doc.get("id")
        if not isinstance(order_id, int) or order_id in self.orders:
            self._fail(op, "new_id", "a new order has a new id", "an id not seen before", repr(order_id))
        order = rules.new_order(order_id, "", priced, body, now=self.now, touched=0)
        order["owner"] = user
        self._touch(order)
        self.orders[order_id] = order
        self._same(op, "order", "the created order", self._view(order), self._strip(answer.body))
        return order_id

    @precondition(_active)
    @rule(user=USERS, order_id=st.one_of(made, st.just(MISSING_ORDER)),
          kind=st.sampled_from(("rest", "rest", "part", "used", "unknown")))  # fmt: skip
    def pay(self, user: int, order_id: int, kind: str) -> None:
        """``payLineItemOrder``: the rest, a part, a used or an unknown reference id."""
        li, op = self.session.li, "payLineItemOrder"
        order = self.orders.get(order_id)
        total = rules.priced_of(order).total_cents if order else 0
        rest = max(total - int(order["paid_cents"]), 0) if order else 100
        if kind == "used" and self.used:
            reference = sorted(self.used)[order_id % len(self.used)]
        elif kind == "unknown":
            reference = "not-a-paypal-id"
        else:
            reference = self.session.reference(max(rest // 3, 1) if kind == "part" else rest, order_id)
        answer = self._call(op, "POST", f"/api/orders/{order_id}/payments", user, {"reference_id": reference})
        try:
            rules.require_visible(order_id, str(order["owner"]) if order else None, str(user))
            assert order is not None
            paid = rules.paypal_amount(li, reference)
            new = rules.decide_pay(order, reference, paid, used_by=self.used.get(reference), touched=0)
        except RuleViolation as refusal:
            self._expect(op, answer, refusal.status, f"rule {refusal.rule}: {refusal.message}")
            return
        self._expect(op, answer, 201, "a payment PayPal knows, new, of an order to pay")
        self.used[reference] = order_id
        self._touch(new)
        self.orders[order_id] = new
        self._same(op, "order", "the order after the payment", self._view(new), self._strip(answer.body))
        if self.session.strict and new["state"] == rules.PAYMENT:
            self.session.partly_paid[order_id] = (int(order["owner"]), new)
        else:
            self.session.partly_paid.pop(order_id, None)

    @precondition(_active)
    @rule(user=USERS, operation=st.sampled_from(sorted(LIST_PATHS)),
          state=st.sampled_from((None, "created", "payment", "completed")),
          type_=st.sampled_from((None, "completed", "not_completed")),
          page=st.one_of(st.integers(1, 3), st.sampled_from(PAGES_AT_THE_END)))  # fmt: skip
    def my_orders(self, user: int, operation: str, state: str | None, type_: str | None, page: int | str) -> None:
        """``listLineItemOrders(Json)``: exactly the domain's page of the filtered orders, and its total_pages.

        ``page`` is a number, or the last page or the one past it (empty) of the domain's ``total_pages``.
        """
        mine = [o for o in self.orders.values() if o["owner"] == user]
        size = self.session.li.page_size
        if isinstance(page, str):
            pages, _ = rules.my_orders(mine, state=state, type_=type_, page=1, page_size=size)
            page = max(pages, 1) if page == "last" else pages + 1
        query = "&".join(f"{k}={v}" for k, v in (("state", state), ("type", type_), ("page", page)) if v)
        answer = self._call(operation, "GET", f"{LIST_PATHS[operation]}?{query}", user)
        self._expect(operation, answer, 200, "the caller's orders")
        total_pages, chosen = rules.my_orders(mine, state=state, type_=type_, page=page, page_size=size)
        got = answer.doc
        self._same(operation, "total_pages", f"total_pages of state={state} type={type_}", total_pages,
                   got.get("total_pages"))  # fmt: skip
        self._same(operation, "filters", f"ids on page {page} of {total_pages}, state={state} type={type_}",
                   [o["id"] for o in chosen], [o.get("id") for o in got.get("orders") or []])  # fmt: skip
        self._same(operation, "order", "the listed orders", [self._view(o) for o in chosen],
                   [self._strip(o) for o in got.get("orders") or []])  # fmt: skip

    @precondition(_on_mock)
    @rule(order_id=made, state=st.sampled_from((rules.PARTIAL_DELIVERED, rules.DELIVERED)))
    def deliver(self, order_id: int, state: str) -> None:
        """A merchant delivers (the admin API)."""
        order = self.orders.get(order_id)
        answer = self._call("setLineItemOrderState", "PUT", f"/__admin/lineitems/orders/{order_id}/state", None,
                            {"state": state})  # fmt: skip
        try:
            rules.require_known(order_id, order is not None)
            assert order is not None
            new = rules.move_delivery(order, state, touched=0)
        except RuleViolation as refusal:
            self._expect("setLineItemOrderState", answer, refusal.status, refusal.message)
            return
        self._expect("setLineItemOrderState", answer, 200, "a completed order may be delivered")
        self._touch(new)
        self.orders[order_id] = new

    @precondition(_on_mock)
    @rule(seconds=st.sampled_from(STEPS))
    def time_passes(self, seconds: float) -> None:
        """The clock: orders not fully paid 5 hours after creation expired, their stock back.

        Each is gone, or kept ``canceled`` with its payments refunded (``rules.decide_expiry``): its owner's
        list shows it so.
        """
        self._advance(seconds)
        li = self.session.li
        canceled = []
        for order_id, order in list(self.orders.items()):
            if rules.is_expired(li, order, self.now):
                kept = rules.decide_expiry(order)
                if kept is None:
                    del self.orders[order_id]
                else:
                    self.orders[order_id] = kept
                    canceled.append(kept)
                self.session.partly_paid.pop(order_id, None)
                assert self.reserved is not None
                self.reserved = rules.release(self.reserved, rules.priced_of(order).needs)
        stock = self._stock()
        self._same("createLineItemOrder", "stock_restored", f"reservations {seconds:g} s later", self.reserved, stock)
        for order in canceled:
            self._refund_listed(order)

    def _refund_listed(self, order: dict[str, Any]) -> None:
        """Its owner's list shows an order canceled at expiry where it was, with all it took refunded."""
        op, size = "listLineItemOrdersJson", self.session.li.page_size
        mine = [o for o in self.orders.values() if o["owner"] == order["owner"]]
        ranked = sorted(mine, key=rules.listing_rank, reverse=True)
        page = ranked.index(order) // size + 1
        answer = self._call(op, "GET", f"/api/orders.json?page={page}", order["owner"])
        self._expect(op, answer, 200, "the caller's orders")
        got = next((doc for doc in answer.doc.get("orders") or [] if doc.get("id") == order["id"]), None)
        self._same(op, "expiry_refunds", f"order {order['id']}, partly paid, 5 hours later (money is never silently "
                   "lost: listed canceled, its payments refunded)", self._view(order), self._strip(got))  # fmt: skip

    def _advance(self, seconds: float) -> None:
        answer = self._call("advanceClock", "POST", "/__admin/clock", None, {"advanceSeconds": seconds})
        self._expect("advanceClock", answer, 200, "the mock's clock moves forward")
        self.now += seconds
        self.session.relogin()


def run_lineitems_machine(context: RunContext, *, max_examples: int, seed: int, **options: Any) -> MachineResult:
    """Run the line-item order machine against the context's target (``stateful.run_rules``)."""
    from suites.property.stateful import run_rules

    steps = options.pop("stateful_step_count", 20)
    session = LineItemsSession(context, **options)
    return run_rules(
        context, LineItemsMachine, session, max_examples=max_examples, seed=seed, stateful_step_count=steps
    )


__all__ = ["LineItemsMachine", "run_lineitems_machine"]
