"""A Hypothesis state machine: two users' random interleavings of Villa calls, judged by the domain model.

Rules generate order ids, create, read and update orders, price carts, and pay (card token, charge,
3-D Secure, verify) as either of the target's two accounts, over HTTP against ``target.base_url``.
Every answer is compared with ``suites.property._model.Model``, built from ``villa_contracts.domain``
(the oracle), and these invariants are checked throughout: order ids are unique; totals are the
catalog's (``grandTotal = subTotal + delivery − discounts`` on any target); stock is reserved; a paid
order stays paid and unchanged; a declined card never pays; another user never sees or changes an
order (404, exactly like a missing id).

The machine only makes its own orders and never resets the target. At the end of each example it
empties its unpaid orders, so they stop holding stock. Stock is predicted exactly on a mock whose
journal shows no order stored before the run (a fresh mock); otherwise other orders may hold some,
and only an order that cannot fit beside the run's own holds must be refused.

Example:
    >>> result = run_machine(target, max_examples=15, seed=0)  # doctest: +SKIP
    >>> [f.check for f in result.failures]  # doctest: +SKIP
    []
"""

from __future__ import annotations

import json
import shlex
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, TypeVar, cast

import httpx
from hypothesis import HealthCheck, Phase, Verbosity, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    initialize,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from suites.property._model import (
    AUTHORIZED,
    DECLINED,
    PRE_AUTHORIZED,
    UNKNOWN_COUPON,
    Cart,
    Expect,
    Model,
    OrderModel,
    Problem,
    StockLedger,
    money,
    order_problems,
    paid_problems,
    pricing_problems,
    substance,
)
from villa_contracts.contract import load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.money import Satang, fmt, to_json
from villa_contracts.failures import Failure, Severity
from villa_contracts.target import Target

SHRINK_SECONDS = 10.0
"""Once a failure is found, at most this long is spent replaying smaller examples against the target."""
TIMEOUT_SECONDS = 30.0
MISSING_ORDER_ID = "100000000000"
_JOURNAL_LIMIT = 5000  # the mock keeps this many entries; a full journal may have lost some
MISSING_CHARGE_ID = "chrg_test_missing"
_CRITICAL = {"ownership", "declined_never_paid", "paid_stays_paid", "client_cannot_pay", "card_masked"}
_MEDIUM = {"expected_status", "response_shape", "order_id_format", "flaky"}


@dataclass(frozen=True, slots=True)
class MachineResult:
    """The outcome of a state-machine run.

    Attributes:
        failures: the invariants the target broke (empty when it held up).
        steps: HTTP calls made, shrinking included.
        statuses: the HTTP statuses seen, per operationId.
        seconds: wall time of the run.
    """

    failures: tuple[Failure, ...]
    steps: int
    statuses: dict[str, set[int]]
    seconds: float


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


@dataclass(frozen=True, slots=True)
class _Call:
    operation: str
    url: str
    user: int | None
    body: Any
    status: int | None

    def curl(self) -> str:
        parts = ["curl", "-sS", "-X", "POST", shlex.quote(self.url)]
        if self.user is not None:
            parts.append(f'-H "Authorization: Bearer $VILLA_ID_TOKEN_{self.user + 1}"')
        parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(self.body))]
        return " ".join(parts) + f"  # {self.operation} -> {self.status if self.status is not None else 'no answer'}"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    body: Any
    text: str

    @property
    def doc(self) -> dict[str, Any]:
        return self.body if isinstance(self.body, dict) else {}

    def snippet(self, limit: int = 600) -> str:
        return self.text if len(self.text) <= limit else self.text[:limit] + "…"


class _Mismatch(AssertionError):
    """An answer the model did not predict (turned into a ``Failure`` by ``run_machine``)."""

    def __init__(self, operation: str, check: str, title: str, expected: str, got: str, calls: list[_Call]) -> None:
        super().__init__(f"{operation}: {check}: {title}\nexpected: {expected}\ngot: {got}")
        self.operation, self.check, self.title = operation, check, title
        self.expected, self.got, self.calls = expected, got, tuple(calls)


_MISMATCH_TYPES: dict[tuple[str, str], type[_Mismatch]] = {}


def _mismatch_type(operation: str, check: str) -> type[_Mismatch]:
    """One exception class per operation and invariant, so that Hypothesis shrinks and reports each apart."""
    key = (operation, check)
    if key not in _MISMATCH_TYPES:
        _MISMATCH_TYPES[key] = type(f"Mismatch_{operation}_{check}", (_Mismatch,), {"__module__": __name__})
    return _MISMATCH_TYPES[key]


class _Run:
    """What outlives one example: the HTTP client, counters, the stock ledger, the ids seen."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.base = target.base_url.rstrip("/")
        self.data = BusinessData.from_contract(load())
        self.strict = target.is_mock
        self.client = httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
        self.interval = 1.0 / target.rate_limit if target.rate_limit else 0.0
        self.last_call = 0.0
        self.ledger = StockLedger(exclusive=self.strict and self._mock_holds_no_stock())
        self.seen_ids: dict[str, _Call] = {}  # every id answered in the run, and the call that got it
        self.missing: dict[str, _Answer] = {}
        self.steps = 0
        self.statuses: dict[str, set[int]] = defaultdict(set)
        self.first_failure: float | None = None
        self.mismatches: dict[tuple[str, str], _Mismatch] = {}  # the first of each, even if not replayed
        operations = {op.path: op.operation_id for op in load().operations.values() if op.method == "POST"}
        self.ops = {name: operations[f"{target.payment_prefix}/{name}"] for name in ("cardtoken", "charge", "verify")}
        self._carts: dict[tuple[str, bool], st.SearchStrategy[Cart]] = {}

    def _mock_holds_no_stock(self) -> bool:
        """Whether the mock's journal shows no order stored since it started or was reset (read-only)."""
        self.pace()
        try:
            response = self.client.get(f"{self.base}/__admin/journal", params={"limit": _JOURNAL_LIMIT})
            entries = response.json()["entries"] if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            return False
        if not isinstance(entries, list) or len(entries) >= _JOURNAL_LIMIT:
            return False
        writes = {("createOrder", 200), ("updateOrder", 200)}
        return not any(isinstance(e, dict) and (e.get("operationId"), e.get("status")) in writes for e in entries)

    def pace(self) -> None:
        wait = self.last_call + self.interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.last_call = time.monotonic()

    def shrink_spent(self) -> bool:
        return self.first_failure is not None and time.monotonic() - self.first_failure > SHRINK_SECONDS

    def declining(self) -> st.SearchStrategy[tuple[str, str]]:
        """A test card and 3-D Secure action whose charge ends Declined."""
        cards = self.data.cards.values()
        choices = [(c.number, "refuse") for c in cards if c.outcome == "three_ds"]
        choices += [(c.number, "leave") for c in cards if c.outcome == "decline"]
        return st.sampled_from(sorted(choices))

    def carts(self, branch: str, *, unknown_coupon: bool = False) -> st.SearchStrategy[Cart]:
        key = (branch, unknown_coupon)
        if key not in self._carts:
            offered = sorted(code for code, product in self.data.products.items() if branch in product.offers)
            lines: st.SearchStrategy[tuple[tuple[int, int], ...]] = (
                st.lists(
                    st.tuples(st.sampled_from(offered), st.integers(1, 3)),
                    min_size=1,
                    max_size=3,
                    unique_by=lambda line: line[0],
                ).map(tuple)
                if offered
                else st.just(())
            )
            codes = sorted(self.data.coupons) + ([UNKNOWN_COUPON] if unknown_coupon else [])
            coupons = st.lists(st.sampled_from(codes), max_size=2, unique=True).map(tuple)
            delivery = st.sampled_from((None, *sorted(self.data.delivery_fees), "PICKUP"))
            self._carts[key] = st.builds(Cart, st.just(branch), lines, delivery, coupons)
        return self._carts[key]


def _contract_data() -> BusinessData:
    return BusinessData.from_contract(load())


_USERS = st.sampled_from((0, 1))
_WHO = st.sampled_from(("owner", "owner", "owner", "other"))  # mostly the owner; sometimes the other user
_BRANCHES = st.deferred(lambda: st.sampled_from(sorted(_contract_data().branches)))
_CARDS = st.deferred(lambda: st.sampled_from(list(_contract_data().cards)))
_THREE_DS = st.sampled_from(("complete", "refuse", "leave"))
_F = TypeVar("_F", bound=Callable[..., Any])


def _step(fn: _F) -> _F:
    """Mark the example failed when a rule raises, so that teardown does not pile more calls on it."""

    def wrapper(self: VillaMachine, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return cast(_F, wrapper)


def _is_final() -> bool:
    try:
        return bool(current_build_context().is_final)
    except Exception:  # outside a Hypothesis run
        return False


class VillaMachine(RuleBasedStateMachine):
    """Two users' calls against ``run.target``, each answer checked against the model.

    Bundle entries are references to the machine's own calls, never the target's answers, so that
    the sequence of choices (and so of requests) depends only on the seed.
    """

    run: ClassVar[_Run]
    ids: Bundle[IdRef] = Bundle("ids")
    orders: Bundle[IdRef] = Bundle("orders")  # ids a create was attempted with
    charges: Bundle[ChargeRef] = Bundle("charges")

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.run.data, strict=self.run.strict, ledger=self.run.ledger)
        self.calls: list[_Call] = []
        self.order_ids: dict[int, str | None] = {}
        self.charge_ids: dict[int, str | None] = {}
        self.failed = False
        # Past the shrink budget, examples pass without calls; the final replay always runs for real.
        self.skip = self.run.shrink_spent() and not _is_final()

    # HTTP and failing.

    def _sub(self, user: int) -> str:
        return self.run.target.accounts[user].sub

    def _call(self, operation: str, path: str, body: Any, user: int | None) -> _Answer:
        run = self.run
        url = run.base + path
        headers = run.target.accounts[user].headers if user is not None else {}
        run.pace()
        try:
            response = run.client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.calls.append(_Call(operation, url, user, body, None))
            self._fail(operation, "no_answer", f"{operation} did not answer", "an HTTP answer", type(exc).__name__)
        run.steps += 1
        run.statuses[operation].add(response.status_code)
        self.calls.append(_Call(operation, url, user, body, response.status_code))
        answer = _Answer(response.status_code, None, response.text)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            got = f"HTTP {answer.status} {media or 'without Content-Type'}: {answer.snippet(200)}"
            self._fail(operation, "content_type", f"{operation} did not answer JSON", "application/json", got)
        try:
            return _Answer(response.status_code, response.json(), response.text)
        except ValueError:
            self._fail(operation, "content_type", f"{operation} answered malformed JSON", "JSON", answer.snippet())

    def _fail(
        self, operation: str, check: str, title: str, expected: str, got: str, *, keeps_ledger: bool = False
    ) -> NoReturn:
        """Raise the mismatch (the target may now differ from the model: stop trusting the stock ledger)."""
        self.failed = True
        if not keeps_ledger:
            self.run.ledger.trusted = False
        if self.run.first_failure is None:
            self.run.first_failure = time.monotonic()
        error = _mismatch_type(operation, check)(operation, check, title, expected, got, self.calls)
        self.run.mismatches.setdefault((operation, check), error)
        raise error

    def _status(self, operation: str, answer: _Answer, expect: Expect, *, keeps_ledger: bool = False) -> None:
        if answer.status not in expect.statuses:
            self._fail(
                operation,
                expect.check,
                f"{operation} answered {answer.status}; the model expected {expect.status}",
                f"HTTP {expect.status} ({expect.why})",
                f"HTTP {answer.status}: {answer.snippet()}",
                keeps_ledger=keeps_ledger,
            )

    def _problems(self, operation: str, problems: list[Problem], *, keeps_ledger: bool = False) -> None:
        if problems:
            first = problems[0]
            more = "".join(f"\n  also {p.check}: expected {p.expected}, got {p.got}" for p in problems[1:])
            title, got = f"{operation}: {first.expected}", first.got + more
            self._fail(operation, first.check, title, first.expected, got, keeps_ledger=keeps_ledger)

    def _like_missing(self, operation: str, answer: _Answer, user: int, path: str, missing_body: Any) -> None:
        """Someone else's record must answer exactly like a missing one, and leak nothing of it."""
        if operation not in self.run.missing:
            self.run.missing[operation] = self._call(operation, path, missing_body, user)
        missing = self.run.missing[operation]
        if answer.status != missing.status or answer.doc.get("code") != missing.doc.get("code"):
            self._fail(
                operation,
                "ownership",
                f"{operation} answers the other user's record unlike a missing one",
                f"HTTP {missing.status} code {missing.doc.get('code')!r}, as for a missing id",
                f"HTTP {answer.status} code {answer.doc.get('code')!r}",
            )
        owner = self._sub(1 - user)
        if owner in answer.text:
            self._fail(
                operation, "ownership", f"{operation} leaks the owner's id", "no trace of the owner", answer.snippet()
            )

    # Rules.

    @initialize(targets=(ids, orders), data=st.data())
    @_step
    def start(self, data: st.DataObject) -> MultipleResults[IdRef]:
        """Each user starts with an order on the first branch (the second user tries the first's name first).

        When payments are allowed, the first user pays with the approving test card and the second
        with one that ends Declined (a declined card, or 3-D Secure refused), so that every example
        has a paid order and a declined charge to watch.
        """
        refs = []
        for user in (0, 1):
            ref = self._generate(user, min(self.run.data.branches))
            cart = data.draw(self.run.carts(ref.branch), label=f"cart of user {user}")
            self._price(user, cart)  # as the checkout does before it creates the order
            if user == 1:  # first in the other user's name: refused
                self._create(user, ref, cart, in_name_of=0)
            self._create(user, ref, cart)
            refs.append(ref)
        if self.run.target.allow_payments:
            card, three_ds = data.draw(self.run.declining(), label="declining card of user 1")
            self._pay(0, refs[0], self.run.data.default_card, "complete", None)
            self._pay(1, refs[1], card, three_ds, None)
        return multiple(*refs)

    @rule(target=ids, user=_USERS, branch=_BRANCHES)
    @_step
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
        also = () if self.run.strict else (404,)
        self._status(op, answer, Expect(200, "expected_status", f"branch {branch} is in the catalog", also=also))
        if answer.status != 200:
            return ref
        order_id = answer.doc.get("orderId")
        if not (isinstance(order_id, str) and len(order_id) == 12 and order_id.isdigit()):
            self._fail(op, "order_id_format", f"{op} answered a malformed id", "12 digits", repr(order_id))
        if not order_id.startswith(branch):
            self._fail(op, "order_id_format", f"{op}: id of another branch", f"an id starting {branch}", order_id)
        if order_id in self.run.seen_ids:
            first = self.run.seen_ids[order_id]
            before = f"a new order id; {order_id} was answered before, to user {first.user}: {first.curl()}"
            self._fail(op, "unique_order_ids", f"{op} issued {order_id} twice", before, order_id)
        self.run.seen_ids[order_id] = self.calls[-1]
        self.model.issue(order_id, user, branch)
        self.order_ids[ref.number] = order_id
        return ref

    @rule(target=orders, who=_WHO, name=_WHO, ref=ids, data=st.data())
    @_step
    def create_order(self, who: str, name: str, ref: IdRef, data: st.DataObject) -> IdRef:
        """``createOrder`` with an id by the user it was issued to or the other one, in either's name."""
        cart = data.draw(self.run.carts(ref.branch), label="cart")
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

    def _held(self, order_id: str, cart: Cart, answer: _Answer) -> None:
        """Keep the stock ledger in step with what the target did, whatever the model predicted."""
        if answer.status == 200:
            self.model.held(order_id, cart)
        elif not 400 <= answer.status < 500:  # done or not? the ledger cannot tell any more
            self.run.ledger.trusted = False

    @rule(who=_WHO, ref=orders)
    @_step
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
        if self.run.strict or order.paid:
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

    @rule(who=_WHO, ref=orders, data=st.data())
    @_step
    def update_order(self, who: str, ref: IdRef, data: st.DataObject) -> None:
        """``updateOrder``: re-priced for the owner, 409 once paid, 404 for the other user."""
        cart = data.draw(self.run.carts(ref.branch), label="cart")
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

    @rule(user=_USERS, branch=_BRANCHES, owner=st.sampled_from(("self", "none", "other")), data=st.data())
    @_step
    def calculate_grandtotal(self, user: int, branch: str, owner: str, data: st.DataObject) -> None:
        """``calculateGrandtotal`` of a random cart: the domain's price (or its refusal)."""
        cart = data.draw(self.run.carts(branch, unknown_coupon=True), label="cart")
        self._price(user, cart, owner)

    def _price(self, user: int, cart: Cart, owner: str = "self") -> None:
        if self.skip:
            return
        op = "calculateGrandtotal"
        body: dict[str, Any] = {"branchId": cart.branch, "productList": cart.product_list(), **cart.options()}
        if owner != "none":
            body["ownerId"] = self._sub(user if owner == "self" else 1 - user)
        expect = self.model.expect_pricing(cart, foreign_owner=owner == "other")
        answer = self._call(op, "/api/webPayment/calculateGrandtotal", body, user)
        self._status(op, answer, expect)
        if answer.status == 200:
            self._problems(op, pricing_problems(answer.body, expect.quote))

    @precondition(lambda self: self.run.target.allow_payments)
    @rule(
        target=charges,
        who=_WHO,
        ref=orders,
        card=_CARDS,
        three_ds=_THREE_DS,
        wrong=st.sampled_from((None, None, None, "token", "charge")),
    )
    @_step
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
        op = self.run.ops["cardtoken"]
        card_json = {"number": card, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"}
        body = {"orderId": order_id, "basketId": basket, "grandTotal": fmt(amount), "userId": sub, "card": card_json}
        expect = self.model.expect_payable(user, order_id, amount)
        answer = self._call(op, f"{self.run.target.payment_prefix}/cardtoken", body, user)
        self._status(op, answer, expect)
        if expect.check == "ownership":
            missing = {**body, "orderId": MISSING_ORDER_ID}
            self._like_missing(op, answer, user, f"{self.run.target.payment_prefix}/cardtoken", missing)
        if answer.status != 200:
            return None
        self._card_masked(op, answer, card)
        charge_id = self._charge(user, order_id, card, answer.doc.get("cardToken"), basket, total, wrong == "charge")
        if charge_id is None:
            return None
        if self.model.charges[charge_id].state == PRE_AUTHORIZED and three_ds != "leave" and self.run.strict:
            self._three_ds(charge_id, three_ds)
        self._verify(user, charge_id)
        return charge_id

    def _card_masked(self, op: str, answer: _Answer, card: str) -> None:
        if card in answer.text:
            self._fail(op, "card_masked", f"{op} answered the card number unmasked", "a masked card number", "it")

    def _charge(
        self, user: int, order_id: str, card: str, token: Any, basket: str, total: Satang, wrong: bool
    ) -> str | None:
        op, amount = self.run.ops["charge"], total + 1 if wrong else total
        body = {"orderId": order_id, "basketId": basket, "grandTotal": to_json(amount), "token": token}
        body["userId"] = self._sub(user)
        expect = self.model.expect_payable(user, order_id, amount)
        state = self.model.expect_charge_state(card) if self.run.strict else AUTHORIZED
        if expect.status == 200 and state is None:
            expect = Expect(503, "gateway_down_changes_nothing", "the test card's gateway is down")
        elif expect.status == 200 and not self.run.strict:
            expect = Expect(200, "expected_status", expect.why, also=(503,))
        answer = self._call(op, f"{self.run.target.payment_prefix}/charge", body, user)
        self._status(op, answer, expect)
        if answer.status == 503:
            self._get(user, order_id)  # nothing changed
            return None
        if answer.status != 200:
            return None
        self._card_masked(op, answer, card)
        charge = answer.doc
        got_state, charge_id = charge.get("transaction_state"), charge.get("chargeId")
        if got_state not in (AUTHORIZED, DECLINED, PRE_AUTHORIZED) or not isinstance(charge_id, str):
            self._fail(op, "response_shape", f"{op}: no charge in the answer", "a charge", answer.snippet())
        if self.run.strict and got_state != state:
            self._fail(op, "payment_outcome", f"{op}: card {card[:6]}… gives {state}", str(state), str(got_state))
        if money(charge.get("amount")) != total:
            self._fail(op, "amount_must_match", f"{op} charged another amount", fmt(total), repr(charge.get("amount")))
        self.model.charged(charge_id, order_id, user, str(got_state))
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
        op = self.run.ops["verify"]
        charge = self.model.charges[charge_id]
        order = self.model.orders[charge.order_id]
        expect, paid = self.model.expect_verify(user, charge_id)
        path = f"{self.run.target.payment_prefix}/verify"
        answer = self._call(op, path, {"orderId": charge.order_id, "chargeId": charge_id}, user)
        self._status(op, answer, expect)
        if expect.check == "ownership":
            self._like_missing(op, answer, user, path, {"orderId": MISSING_ORDER_ID, "chargeId": MISSING_CHARGE_ID})
            return
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

    @precondition(lambda self: self.run.target.allow_payments)
    @rule(who=_WHO, ref=charges)
    @_step
    def verify_again(self, who: str, ref: ChargeRef) -> None:
        """``verify`` an earlier charge: the same answer for the owner, 404 for the other user."""
        charge_id = self.charge_ids.get(ref.number)
        if not self.skip and charge_id is not None:
            self._verify(ref.user if who == "owner" else 1 - ref.user, charge_id)

    @precondition(lambda self: self.run.target.allow_payments and self.run.strict)
    @rule(ref=charges, action=st.sampled_from(("complete", "refuse")))
    @_step
    def three_ds_later(self, ref: ChargeRef, action: str) -> None:
        """Complete or refuse 3-D Secure of an earlier charge (409 unless it waits for it)."""
        charge_id = self.charge_ids.get(ref.number)
        if not self.skip and charge_id is not None:
            self._three_ds(charge_id, action)

    def teardown(self) -> None:
        """Empty the example's unpaid orders (so they hold no stock), then read every order as both users."""
        if self.skip or self.failed:
            return
        for order in list(self.model.orders.values()):
            if not order.paid and order.cart.lines:
                self._update(order.owner, order.order_id, Cart(order.cart.branch, ()))
            self._get(order.owner, order.order_id)  # also shows whether the emptying was kept
            self._get(1 - order.owner, order.order_id)


def _leaves(error: BaseException) -> Iterator[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from _leaves(inner)
    else:
        yield error


def _to_failure(error: _Mismatch, *, seed: int, note: str | None, target: Target) -> Failure:
    # Hypothesis attaches the minimal sequence it replayed to the exception as notes.
    steps = [str(line) for line in getattr(error, "__notes__", [])]
    message = f"expected: {error.expected}\ngot: {error.got}"
    if note:
        message += "\n" + note
    if steps:
        message += f"\n\nMinimal sequence found by Hypothesis (seed {seed}):\n" + "\n".join(steps)
    reproduction = "\n".join(call.curl() for call in error.calls)
    for index, account in enumerate(target.accounts):  # never the real token
        message = message.replace(account.id_token, f"$VILLA_ID_TOKEN_{index + 1}")
        reproduction = reproduction.replace(account.id_token, f"$VILLA_ID_TOKEN_{index + 1}")
    severity: Severity = "critical" if error.check in _CRITICAL else "medium" if error.check in _MEDIUM else "high"
    return Failure(
        operation=error.operation,
        check=f"state_machine:{error.check}",
        title=error.title,
        message=message,
        severity=severity,
        reproduction=reproduction,
        seed=seed,
    )


def run_machine(target: Target, *, max_examples: int, seed: int, stateful_step_count: int = 20) -> MachineResult:
    """Run the state machine against ``target`` and report what broke.

    Two runs with the same seed against targets in the same state make the same requests.

    Args:
        target: the backend and its two accounts; ``rate_limit``, ``allow_payments``, ``is_mock``
            (exact catalog prices and stock are only checked on a mock) and ``payment_prefix`` are honoured.
        max_examples: how many random call sequences to try.
        seed: the seed of the sequences.
        stateful_step_count: rules per sequence.

    Returns:
        The failures (one per distinct broken invariant, with the minimal sequence and curl commands
        that use ``$VILLA_ID_TOKEN_1``/``$VILLA_ID_TOKEN_2`` for the tokens), HTTP calls made,
        statuses per operationId and the time taken.
    """
    started = time.monotonic()
    run = _Run(target)

    class Machine(VillaMachine):
        pass

    Machine.run = run
    Machine.__name__ = Machine.__qualname__ = "VillaMachine"
    config = settings(
        max_examples=max_examples,
        stateful_step_count=stateful_step_count,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.generate, Phase.shrink),
        report_multiple_bugs=True,
        print_blob=False,
        verbosity=Verbosity.normal,
    )
    reported: list[str] = []  # Hypothesis' own messages (e.g. about a flaky target), kept off stdout
    leaves: list[BaseException] = []
    flaky = False
    try:
        with with_reporter(lambda text: reported.append(str(text))):
            run_state_machine_as_test(hypothesis_seed(seed)(Machine), settings=config)
    except (AssertionError, Flaky, BaseExceptionGroup) as raised:
        leaves = list(_leaves(raised))
        flaky = isinstance(raised, Flaky) or any(isinstance(leaf, Flaky) for leaf in leaves)
    finally:
        run.client.close()
    for leaf in leaves:
        if not isinstance(leaf, _Mismatch | Flaky):
            raise leaf  # a bug of this tool, not of the target
    failures: list[Failure] = []
    unsure = "(the failure did not repeat when replayed: the target is not deterministic)" if flaky else None
    replayed = [(leaf, unsure) for leaf in leaves if isinstance(leaf, _Mismatch)]
    # Every mismatch is evidence, also those Hypothesis did not replay (the target answered
    # differently the next time, or Hypothesis gave up on it): report the first of each kind too.
    extra = "(seen in the run, then not replayed: the target may answer differently each time)"
    for mismatch, note in [*replayed, *((m, extra) for m in run.mismatches.values())]:
        failure = _to_failure(mismatch, seed=seed, note=note, target=target)
        if all((f.operation, f.check) != (failure.operation, failure.check) for f in failures):
            failures.append(failure)
    if leaves and not failures:
        failures.append(
            Failure(
                operation="state_machine",
                check="state_machine:flaky",
                title="the target answered the same calls differently when they were replayed",
                message="\n".join([*(str(leaf) for leaf in leaves), *reported]),
                severity="medium",
                seed=seed,
            )
        )
    return MachineResult(tuple(failures), run.steps, dict(run.statuses), time.monotonic() - started)


__all__ = ["SHRINK_SECONDS", "MachineResult", "VillaMachine", "run_machine"]
