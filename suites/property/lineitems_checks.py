"""The line-item order API's business checks (seed 004), as Schemathesis checks of the gate.

- ``li_money``: cents add up (``item_total_cents = Σ price_cents × quantity``, ``ship_total_cents``
  = Σ the merchants' fees, ``total_cents`` = both), one shipping fee item per merchant of the lines,
  and every float and display string is the one derived from its cents.
- ``li_states``: ``all_paid`` exactly when the state is completed, partial_delivered or delivered;
  ``created`` exactly when there are no line items; a new order is ``payment`` (or ``created``).
- ``li_filters``: a list answer holds only orders its ``state`` and ``type`` name, at most a page of
  them, and ``total_pages`` 0 exactly when no order is answered on page 1.
- ``li_pages``: the list's pages (``suites.property.paging``): each answer's size against its
  ``total_pages``; and, with a run's context, every page of the same filters read again: disjoint,
  a page past the end empty, and together the caller's whole list for the filters (the unfiltered
  list's pages, filtered by each order's state).
- ``li_stock``: creating an order lowers each variant's ``stocks_count`` by exactly what it ordered
  (from the last count the run saw; only a schemathesis run's own calls change it).
- ``li_reference_once``: a PayPal reference id pays once: a payment answered 2xx with a reference id
  the run saw pay before (its own set-up's included: ``livedata.paid_references``) is a failure.
- ``li_short_stock_refused``: an order of more units of a variant than it has at all (the contract's
  data: only on a mock, which uses it) is refused with the seed's 409, never created.

The exact sets of filters and pages, payments and the 5-hour expiry are the state machine's
(``suites.property.lineitems_machine``), which predicts every answer with the domain.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from suites.property.checks import BusinessCheck, _raise, business_check, get_as, orders_listed, request_json
from suites.property.invariants import Problem
from suites.property.paging import (
    Judgement,
    Page,
    Walk,
    already_read,
    confirmed,
    filtered,
    message,
    page_problems,
    parameter_bounds,
    query_int,
    read_page,
    walk,
    walk_problems,
)
from villa_contracts.domain import lineitems as rules

if TYPE_CHECKING:
    from schemathesis import Response

    from suites.context import RunContext

ORDER_OPS = {"createLineItemOrder", "payLineItemOrder"}
LIST_OPS = {"listLineItemOrders", "listLineItemOrdersJson"}


def orders_in(op: str, body: Any) -> list[dict[str, Any]]:
    """The order documents an answer of ``op`` carries."""
    return orders_listed(op, body, order_ops=ORDER_OPS, list_ops=LIST_OPS, items="orders")


def _problem(check: str, expected: str, got: Any) -> Problem:
    return Problem(check, expected, repr(got))


def money_problems(order: dict[str, Any]) -> list[Problem]:
    """What does not add up in one order document (cents, floats, display strings, fee items)."""
    problems: list[Problem] = []
    lines = [line for line in order.get("line_items") or [] if isinstance(line, dict)]
    try:
        items = sum(int(line["quantity"]) * int(line["variant"]["price_cents"]) for line in lines)
        fees = [item for item in order.get("shipping_fee_items") or [] if isinstance(item, dict)]
        ship = sum(int(item["shipping_fee_cents"]) for item in fees)
        merchants: list[str] = []
        for line in lines:
            name = line["variant"]["merchant"]["name"]
            if name not in merchants:
                merchants.append(name)
    except (KeyError, TypeError, ValueError):
        return [_problem("li_money", "line items and fee items with integer cents", order.get("line_items"))]
    oid = order.get("id")
    if order.get("item_total_cents") != items:
        problems.append(_problem("li_money", f"order {oid}: item_total_cents = Σ price_cents × quantity = {items}",
                                 order.get("item_total_cents")))  # fmt: skip
    if order.get("ship_total_cents") != ship:
        problems.append(_problem("li_money", f"order {oid}: ship_total_cents = Σ shipping_fee_cents = {ship}",
                                 order.get("ship_total_cents")))  # fmt: skip
    if order.get("total_cents") != items + ship:
        problems.append(_problem("li_money", f"order {oid}: total_cents = item_total_cents + ship_total_cents = "
                                 f"{items + ship}", order.get("total_cents")))  # fmt: skip
    if [item.get("merchant") for item in fees] != merchants:
        problems.append(_problem("li_money", f"order {oid}: one shipping fee item per merchant, in order: {merchants}",
                                 [item.get("merchant") for item in fees]))  # fmt: skip
    derived = [
        (order, "display_item_total", "item_total", "item_total_cents"),
        (order, "display_ship_total", "ship_total", "ship_total_cents"),
        (order, "display_total", "total", "total_cents"),
        *((line["variant"], "display_price", "price", "price_cents") for line in lines),
        *((item, "display_shipping_fee", "shipping_fee", "shipping_fee_cents") for item in fees),
    ]
    for doc, shown, number, cents in derived:
        value = doc.get(cents)
        if not isinstance(value, int):
            continue
        if doc.get(shown) != rules.display(value):
            problems.append(_problem("li_money", f"{shown} derived from {cents}={value}: {rules.display(value)!r}",
                                     doc.get(shown)))  # fmt: skip
        if doc.get(number) != rules.amount(value):
            problems.append(_problem("li_money", f"{number} derived from {cents}={value}: {rules.amount(value)}",
                                     doc.get(number)))  # fmt: skip
    return problems


def state_problems(order: dict[str, Any]) -> list[Problem]:
    """``all_paid`` and ``state`` that contradict each other or the line items."""
    state, paid = order.get("state"), order.get("all_paid")
    problems: list[Problem] = []
    if paid is not (state in rules.TYPES["completed"]):
        problems.append(_problem("li_states", f"order {order.get('id')}: all_paid exactly when completed "
                                 f"(state {state!r})", paid))  # fmt: skip
    if (state == rules.CREATED) != (not order.get("line_items")):
        problems.append(_problem("li_states", f"order {order.get('id')}: state created exactly when it has no "
                                 "line items", state))  # fmt: skip
    return problems


def _query(response: Response) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(str(response.request.url)).query).items()}


class LineItemsCheck(BusinessCheck):
    """A business check of the line-item order contract."""

    CONTRACTS: ClassVar[frozenset[str]] = frozenset({"lineitems"})

    def __init__(self, context: RunContext | None = None, contract: str = "lineitems") -> None:
        super().__init__(context, contract)


@business_check
class li_money(LineItemsCheck):  # noqa: N801 - the check's name in reports
    """Cents add up; floats and display strings are derived from them."""

    OPERATIONS = frozenset({*ORDER_OPS, *LIST_OPS})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer."""
        for order in orders_in(op, body):
            _raise(money_problems(order))


@business_check
class li_states(LineItemsCheck):  # noqa: N801
    """``state`` and ``all_paid`` agree; a new order expects payment."""

    OPERATIONS = frozenset({*ORDER_OPS, *LIST_OPS})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer; a created one is payment (created without lines)."""
        for order in orders_in(op, body):
            _raise(state_problems(order))
        if op == "createLineItemOrder" and isinstance(body, dict):
            expected = rules.PAYMENT if body.get("line_items") else rules.CREATED
            if body.get("state") != expected or body.get("all_paid") is not False:
                raise AssertionError(f"a new order is {expected} and not paid; got state={body.get('state')!r}, "
                                     f"all_paid={body.get('all_paid')!r}")  # fmt: skip


@business_check
class li_filters(LineItemsCheck):  # noqa: N801
    """A list answer holds only what its filters name, one page at most; total_pages 0 means none."""

    OPERATIONS = frozenset(LIST_OPS)

    def judge(self, op: str, body: Any, response: Response) -> None:
        """List answers, against the request's query."""
        if op not in LIST_OPS or not isinstance(body, dict):
            return
        query = _query(response)
        state, type_ = query.get("state"), query.get("type")
        if type_ is not None and type_ not in rules.TYPES:
            return
        orders = orders_in(op, body)
        wrong = [(o.get("id"), o.get("state")) for o in orders
                 if not rules.matches(str(o.get("state")), state=state, type_=type_)]  # fmt: skip
        if wrong:
            raise AssertionError(f"state={state!r} type={type_!r} answered orders it does not name: {wrong}")
        ids = [o.get("id") for o in orders]
        if len(ids) != len(set(ids)):
            raise AssertionError(f"a page lists an order twice: {ids}")
        total_pages = body.get("total_pages")
        page = int(query.get("page", "1")) if query.get("page", "1").isdigit() else 1
        if total_pages == 0 and orders:
            raise AssertionError(f"total_pages is 0 but {len(orders)} orders are answered")
        if isinstance(total_pages, int) and orders and page > total_pages:
            raise AssertionError(f"page {page} answers orders but total_pages is {total_pages}")
        if page == 1 and total_pages != 0 and not orders:
            raise AssertionError(f"page 1 is empty but total_pages is {total_pages}")


@business_check
class li_pages(LineItemsCheck):  # noqa: N801
    """The list's pages are disjoint, together the caller's whole list for the filters, past the end empty."""

    OPERATIONS = frozenset(LIST_OPS)

    def __init__(self, context: RunContext | None = None, contract: str = "lineitems") -> None:
        super().__init__(context, contract)
        from villa_contracts.contract import load

        contracts = context.contracts if context is not None else load()
        lineitems = contracts["lineitems"]
        self.paths = {op: lineitems.operations[op].path for op in sorted(LIST_OPS)}
        first = lineitems.operations[sorted(LIST_OPS)[0]]
        self.page = parameter_bounds(lineitems.openapi, first.spec, "page")
        self.page_size = rules.LineItemsData.from_contract(contracts).page_size
        self.walked: dict[tuple[str, str, str | None, str | None], Walk] = {}

    def judge(self, op: str, body: Any, response: Response) -> None:
        """A list answer on its own; then (once per list seen) every page of its filters, read twice on doubt."""
        if op not in LIST_OPS:
            return
        query = _query(response)
        state, type_ = query.get("state"), query.get("type")
        number = query_int(query, "page", self.page[0], low=self.page[1], high=self.page[2])
        known = (state is None or state in rules.STATES) and (type_ is None or type_ in rules.TYPES)
        page = read_page(number or 1, 200, body, items="orders", id_key="id", state_key="state")
        if number is None or not known or page is None:
            return
        problems = page_problems(page, page_size=self.page_size, check="li_pages")
        if problems:
            raise AssertionError(message(f"GET {self.paths[op]}?{_shown(state, type_, number)} as answered", problems))
        authorization = str(response.request.headers.get("Authorization") or "")
        key = (authorization, op, state, type_)
        if self.context is None or already_read(page, self.walked.get(key)):
            return  # the proxy (no context) sends nothing; a list already walked as it is now is not read again
        problems, headline = confirmed(lambda: self._read(key))
        if problems:
            raise AssertionError(message(headline, problems))

    def _read(self, key: tuple[str, str, str | None, str | None]) -> Judgement | None:
        authorization, op, state, type_ = key
        walked = walk(lambda n: self._fetch(authorization, op, state, type_, n), max_page=self.page[2])
        everything = walked
        if walked is not None and (state, type_) != (None, None):
            everything = walk(lambda n: self._fetch(authorization, op, None, None, n), max_page=self.page[2])
        if walked is None or everything is None:
            return None
        self.walked[key] = walked
        whole = None
        if everything is not walked and everything.complete and not self._broken(everything):
            whole = filtered(everything.leading(), lambda got: rules.matches(got, state=state, type_=type_))
        problems = walk_problems(walked, page_size=self.page_size, check="li_pages", whole=whole,
                                 whole_name="the unfiltered pages, filtered by state")  # fmt: skip
        signature = (walked.signature, everything.signature)
        return signature, problems, walked.describe(f"GET {self.paths[op]}?{_shown(state, type_, None)}")

    def _broken(self, walked: Walk) -> bool:
        """Whether the unfiltered pages break a rule themselves (their own query's walk says how; not a reference)."""
        return bool(walk_problems(walked, page_size=self.page_size, check="li_pages"))

    def _fetch(self, authorization: str, op: str, state: str | None, type_: str | None, number: int) -> Page | None:
        assert self.context is not None
        params = {k: v for k, v in (("state", state), ("type", type_)) if v is not None}
        got = get_as(self.context, self.paths[op], {**params, "page": number}, authorization)
        return None if got is None else read_page(number, *got, items="orders", id_key="id", state_key="state")


def _shown(state: str | None, type_: str | None, page: int | None) -> str:
    return "&".join(f"{k}={v}" for k, v in (("state", state), ("type", type_), ("page", page)) if v is not None)


@business_check
class li_stock(LineItemsCheck):  # noqa: N801
    """An order lowers each variant's stocks_count by exactly what it ordered."""

    OPERATIONS = frozenset({*ORDER_OPS, *LIST_OPS})

    def __init__(self, context: RunContext | None = None, contract: str = "lineitems") -> None:
        super().__init__(context, contract)
        self.counts: dict[int, int] = {}

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Each answer's counts, against the last ones seen (lowered by a new order's quantities)."""
        problems: list[str] = []
        for order in orders_in(op, body):
            ordered: Counter[int] = Counter()
            shown: dict[int, int] = {}
            for line in order.get("line_items") or []:
                try:
                    vid, count = int(line["variant"]["id"]), int(line["variant"]["stocks_count"])
                    ordered[vid] += int(line["quantity"])
                except (KeyError, TypeError, ValueError):
                    continue
                if shown.setdefault(vid, count) != count:
                    problems.append(f"order {order.get('id')}: variant {vid} shows two stocks_count values")
            for vid, count in shown.items():
                before = self.counts.get(vid)
                expected = before - ordered[vid] if op == "createLineItemOrder" and before is not None else before
                if expected is not None and count != expected:
                    problems.append(
                        f"order {order.get('id')}: variant {vid} stocks_count {count}, expected {expected}"
                        + (f" ({before} before, {ordered[vid]} ordered)" if op == "createLineItemOrder" else "")
                    )
                self.counts[vid] = count
        if problems:
            raise AssertionError("\n".join(problems))


@business_check
class li_reference_once(LineItemsCheck):  # noqa: N801
    """A PayPal reference id pays once."""

    OPERATIONS = frozenset({"payLineItemOrder"})

    def __init__(self, context: RunContext | None = None, contract: str = "lineitems") -> None:
        super().__init__(context, contract)
        self.paid: set[str] = set()
        if context is not None:  # the gate's run: the proxy judges without one (and without the live data)
            from suites.property.livedata import paid_references

            self.paid = paid_references(context)

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every payment answered 2xx, against the reference ids seen paying before."""
        request = request_json(response)
        reference = request.get("reference_id") if isinstance(request, dict) else None
        if op != "payLineItemOrder" or not isinstance(reference, str):
            return
        if reference in self.paid:
            raise AssertionError(
                f"expected: 409 to reference id {reference!r}, which paid already (a reference id pays once)\n"
                f"got: {response.status_code}, order {body.get('id') if isinstance(body, dict) else '?'} paid with it"
            )
        self.paid.add(reference)


@business_check
class li_short_stock_refused(LineItemsCheck):  # noqa: N801
    """An order of more units than a variant has at all is refused (409), never created."""

    OPERATIONS = frozenset({"createLineItemOrder"})

    def __init__(self, context: RunContext | None = None, contract: str = "lineitems") -> None:
        super().__init__(context, contract)
        self.stock: dict[int, int] = {}
        if context is not None and self.off(context) is None:
            data = rules.LineItemsData.from_contract(context.contracts)
            self.stock = {variant_id: variant.stock for variant_id, variant in data.variants.items()}

    @classmethod
    def off(cls, context: RunContext | None) -> str | None:
        """Off on a target that is not the mock: its stock is its own."""
        if context is not None and not context.target.is_mock:
            return "off: the target is not the mock, so the variants' stock is not the contract's data"
        return None

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order created, against the variants' whole stock."""
        request = request_json(response)
        lines = request.get("line_items") if isinstance(request, dict) else None
        asked: Counter[int] = Counter()
        for line in lines if isinstance(lines, list) else []:
            if (
                isinstance(line, dict)
                and isinstance(line.get("variant_id"), int)
                and isinstance(line.get("quantity"), int)
            ):
                asked[line["variant_id"]] += line["quantity"]
        short = {v: (n, self.stock[v]) for v, n in asked.items() if v in self.stock and n > self.stock[v]}
        if short:
            shown = ", ".join(
                f"variant {v}: {n} asked, {stock} in stock at all" for v, (n, stock) in sorted(short.items())
            )
            raise AssertionError(f"expected: 409 with the seed's short-stock body\ngot: {response.status_code}, "
                                 f"an order created for {shown}")  # fmt: skip
