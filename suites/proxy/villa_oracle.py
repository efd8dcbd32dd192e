"""The Villa API's rules on watched traffic: the domain predicts, from what the proxy saw before, what is allowed.

The proxy learns from the answers it sees: which order ids were issued to whom, and for each order
its owner, whether it is paid, its grand total and its substance (ids, lines, total). Before it
learns from an exchange, it asks ``villa_contracts.domain`` what a correct backend must answer
given what it knows (the same functions the mock decides with and the state machine predicts with):

- a refusal predicted (``RuleViolation``) and a 2xx answer: a violation named after the rule
  (``owner_is_caller``, ``ownership``, ``paid_stays_paid``, ``amount_must_match``, ``id_used_once``…);
- an order this caller was answered before, answered 404 (``exists``): orders are never deleted,
  except an unpaid one once ``orders.expires_at`` its ``orderDate`` has passed on the backend's clock,
  which the answer's ``Date`` header tells (RFC 9110: the origin's clock; the mock's moves with
  ``/__admin/clock``): from then on the proxy forgets it;
- ``getOrder`` answering another document than the last one seen (``stored_document``): a write
  that was answered but not kept. An order may become paid on its own (a payment the proxy did
  not see), nothing else.

It judges only what it knows: an order it never saw is not judged. It assumes it sees every write
to an order it saw: route every client of the environment through the proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

from suites.property.checks import ORDER_OPS, VERIFY_OPS
from suites.property.invariants import money
from suites.proxy.findings import Finding
from suites.proxy.traffic_checks import CheckSetup, Decided, Seen, TrafficCheck, refused_finding, traffic_check
from villa_contracts.domain import orders as order_rules
from villa_contracts.domain import payments as payment_rules
from villa_contracts.domain.errors import RuleViolation, refusal_of
from villa_contracts.domain.money import Satang

PAYING_OPS = frozenset({"createCardToken", "createCardTokenDev", "createCharge", "createChargeDev"})
LOOKUP_OPS = frozenset({"getOrder", "updateOrder", *PAYING_OPS, *VERIFY_OPS})
MAX_REMEMBERED = 50_000
"""Orders and ids remembered at most (the oldest are forgotten first)."""


def _decide_payment(
    op: str, order_id: object, caller: str, body: dict[str, Any], order: payment_rules.PayableOrder | None
) -> None:
    """The domain's decision on a card token or a charge, with what the proxy knows (charges and tokens: nothing)."""
    payer, sent = body.get("userId"), body.get("grandTotal")
    if op in ("createCharge", "createChargeDev"):
        payment_rules.decide_charge(
            order_id, caller=caller, payer=payer, sent=sent, order=order, charges=None, token=None, now=0.0
        )
    else:
        payment_rules.decide_card_token(order_id, caller=caller, payer=payer, sent=sent, order=order)


@dataclass(frozen=True, slots=True)
class SeenOrder:
    """What the proxy knows of an order from the last answer that carried it."""

    owner: str
    paid: bool
    grand_total: Satang | None
    branch: str
    substance: tuple[Any, ...]
    expired: bool = False
    """It expired holding a charge, which was voided (``payment_rules.decide_expiry``): it takes no change again."""
    created: float | None = None
    """Its ``orderDate`` (the backend's clock), when the answer had one."""

    def may_have_expired(self, now: float | None) -> bool:
        """Whether, at the backend's ``now`` (None: unknown), it may have been deleted unpaid (``orders.is_expired``).

        A second's grace: a ``Date`` header is whole seconds.
        """
        if self.created is None or now is None:
            return False
        expiry = order_rules.expires_at(self.created)
        return order_rules.is_due(paid=self.paid, expired_record=self.expired, expiry=expiry, now=now + 1)


def backend_now(seen: Seen) -> float | None:
    """The backend's clock when it answered: the answer's ``Date`` header (None without a readable one)."""
    for name, value in seen.exchange.response_headers:
        if name == "date":
            try:
                return parsedate_to_datetime(value).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return None
    return None


def order_substance(doc: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must not move in an order unless a write changed it: ids, lines, and the grand total."""
    lines = [(p.get("cprcode"), p.get("quantity")) for p in doc.get("productList") or [] if isinstance(p, Mapping)]
    payment = doc.get("payment") if isinstance(doc.get("payment"), Mapping) else {}
    return (doc.get("orderId"), doc.get("ownerId"), lines, money((payment or {}).get("grandTotal")))


def _seen(doc: Mapping[str, Any]) -> SeenOrder:
    payment = doc.get("payment") if isinstance(doc.get("payment"), Mapping) else {}
    return SeenOrder(
        owner=str(doc.get("ownerId")),
        paid=order_rules.is_paid(doc),
        grand_total=money((payment or {}).get("grandTotal")),
        branch=str(doc.get("branchId")),
        substance=order_substance(doc),
        expired=order_rules.is_expired_record(doc),
        created=_number(doc.get("orderDate")),
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def remember(table: dict[Any, Any], key: Any, value: Any) -> None:
    """Keep ``value`` under ``key`` as the newest entry; forget the oldest past ``MAX_REMEMBERED``."""
    table.pop(key, None)
    table[key] = value
    if len(table) > MAX_REMEMBERED:
        del table[next(iter(table))]


@traffic_check
class VillaOracle(TrafficCheck):
    """The Villa API's ownership, payment and lifecycle rules on the traffic, with the domain as oracle."""

    CONTRACTS: ClassVar[frozenset[str] | None] = frozenset({"villa"})

    def __init__(self, setup: CheckSetup) -> None:
        super().__init__(setup)
        self.orders: dict[str, SeenOrder] = {}
        self.issued: dict[str, tuple[str, str]] = {}

    def judge(self, seen: Seen) -> Decided:
        """Predict, then learn from the answer."""
        op = seen.operation.operation_id
        body = seen.request.value if seen.request.kind == "json" else None
        decided: Decided = {}
        order_id = body.get("orderId") if isinstance(body, dict) else None
        known = self.orders.get(order_id) if isinstance(order_id, str) else None
        if known is not None and known.may_have_expired(backend_now(seen)):
            del self.orders[str(order_id)]  # deleted unpaid, or about to be: never judged missing again
        if seen.caller is not None and isinstance(body, dict):
            decided = self._predicted(op, body, seen)
        if seen.exchange.succeeded and seen.response.kind == "json" and isinstance(seen.response.value, dict):
            self._learn(op, body if isinstance(body, dict) else {}, seen)
        return decided

    def _rules(self, op: str, body: dict[str, Any], caller: str) -> list[Callable[[], object]]:
        """The domain's decisions this exchange depends on, as far as the proxy knows the facts."""
        order_id = body.get("orderId")
        known = self.orders.get(order_id) if isinstance(order_id, str) else None
        rules: list[Callable[[], object]] = []
        owner = body.get("ownerId")
        if op == "createOrder" and isinstance(order_id, str) and order_id in self.issued:
            issued_to, branch = self.issued[order_id]
            rules.append(
                lambda: order_rules.decide_create(
                    order_id,
                    claimed_owner=owner,
                    caller=caller,
                    issued_to=issued_to,
                    issued_branch=branch,
                    exists=order_id in self.orders,
                    branch=body.get("branchId"),
                )
            )
        elif op == "updateOrder" and known is not None:
            rules.append(
                lambda: order_rules.decide_update(
                    str(order_id),
                    owner=known.owner,
                    claimed_owner=owner,
                    caller=caller,
                    paid=known.paid,
                    stored_branch=known.branch,
                    branch=body.get("branchId"),
                    expired=known.expired,
                )
            )
        elif op in ("createOrder", "updateOrder"):  # an id or order it never saw: the owner, the first rule of both
            rules.append(lambda: order_rules.require_owner(owner, caller))
        if op in PAYING_OPS:  # the payer, then (an order it saw) the order's visibility, state and total
            payable = None
            if known is not None and known.grand_total is not None:
                payable = payment_rules.PayableOrder(
                    known.owner, known.paid, None, known.grand_total, expired=known.expired
                )
            rules.append(lambda: _decide_payment(op, order_id, caller, body, payable))
        if known is not None and op in LOOKUP_OPS and op != "updateOrder":
            if not (op in PAYING_OPS and known.grand_total is not None):
                rules.append(lambda: order_rules.require_visible(order_id, known.owner, caller))
        return rules

    def _predicted(self, op: str, body: dict[str, Any], seen: Seen) -> Decided:
        assert seen.caller is not None
        decided: Decided = {}
        for rule in self._rules(op, body, seen.caller):
            try:
                rule()
            except RuleViolation as refusal:
                decided[refusal.rule] = [refused_finding(refusal, seen)] if seen.exchange.succeeded else []
                return decided  # the first refusal is the answer; the rest cannot be told apart
        order_id = body.get("orderId")
        known = self.orders.get(order_id) if isinstance(order_id, str) else None
        if known is not None and op in LOOKUP_OPS:
            decided["exists"] = self._exists(str(order_id), seen)
            if op == "getOrder" and seen.exchange.succeeded and isinstance(seen.response.value, dict):
                decided["stored_document"] = self._unchanged(str(order_id), known, seen.response.value)
        return decided

    @staticmethod
    def _exists(order_id: str, seen: Seen) -> list[Finding]:
        missing = refusal_of(order_rules.require_visible, order_id, None, seen.caller or "")
        if missing is None or seen.status != missing.status:  # not answered as a missing order
            return []
        answer = seen.response.value if isinstance(seen.response.value, dict) else {}
        details = answer.get("details")
        about = (
            {str(d.get("pointer", "")) for d in details or [] if isinstance(d, dict)}
            if isinstance(details, list)
            else set()
        )
        if about - {"", "/orderId"}:
            return []  # the 404 names another field (an unknown card token or charge)
        message = f"expected: not 404: order {order_id} was answered to this caller before\ngot: 404"
        return [Finding("exists", "request", "/orderId", message)]

    @staticmethod
    def _unchanged(order_id: str, known: SeenOrder, doc: dict[str, Any]) -> list[Finding]:
        now = order_substance(doc)
        if now == known.substance:
            return []
        message = (
            f"expected: order {order_id} as last answered (id, owner, lines, grand total): {known.substance!r}\n"
            f"got: {now!r}"
        )
        return [Finding("stored_document", "response", "", message)]

    def _learn(self, op: str, request: dict[str, Any], seen: Seen) -> None:
        answer = seen.response.value
        if op == "generateOrderId" and isinstance(answer.get("orderId"), str) and seen.caller is not None:
            remember(self.issued, answer["orderId"], (seen.caller, str(request.get("branchId"))))
        document = answer if op in ORDER_OPS else answer.get("order") if op in VERIFY_OPS else None
        if isinstance(document, dict) and isinstance(document.get("orderId"), str):
            remember(self.orders, document["orderId"], _seen(document))
