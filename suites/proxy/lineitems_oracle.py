"""The line-item order API's rules on watched traffic (seed 004): what one answer cannot show, the proxy remembers.

It learns from the answers it sees which PayPal reference ids paid (and for which order), and who
owns each order answered; before learning from an exchange, it asks ``villa_contracts.domain.lineitems``
what a correct backend must answer, given what it knows:

- ``reference_once``: a reference id seen paying (201) pays again, on the same or another order
  (409: each payment is reported once);
- ``ownership``: an order answered to one caller is paid by another (404),

both as ``rules.decide_payment`` decides them, the handler's and the model's decision, asked with what the
proxy knows (a ``Glimpsed`` order: its owner; no PayPal sandbox: a real backend's is not the mock's).

It judges only what it knows. It does not judge the 5-hour expiry: expiry counts on the backend's
clock, which no answer carries (an order has no timestamps), so an order missing from a list may
have expired and one still listed may not have (the gate's state machine moves the mock's clock).
"""

from __future__ import annotations

from typing import Any, ClassVar

from suites.proxy.traffic_checks import CheckSetup, Decided, Seen, TrafficCheck, refused_finding, traffic_check
from suites.proxy.villa_oracle import remember
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.errors import RuleViolation

PAY = "payLineItemOrder"
ORDER_OPS = frozenset({"createLineItemOrder", PAY})
LIST_OPS = frozenset({"listLineItemOrders", "listLineItemOrdersJson"})


def order_id_of(path: str) -> int | None:
    """The order id of a payment's path (``/api/orders/{id}/payments``), None when it is not one."""
    parts = path.rstrip("/").split("/")
    return int(parts[-2]) if len(parts) >= 2 and parts[-1] == "payments" and parts[-2].isdigit() else None


@traffic_check
class LineItemsOracle(TrafficCheck):
    """Reference ids pay once, and orders are paid by their owner, with the domain as oracle."""

    CONTRACTS: ClassVar[frozenset[str] | None] = frozenset({"lineitems"})

    def __init__(self, setup: CheckSetup) -> None:
        super().__init__(setup)
        self.used: dict[str, int] = {}
        """Reference id → the order it paid (from 201 answers)."""
        self.owners: dict[int, str] = {}
        """Order id → the caller it was answered to."""

    def judge(self, seen: Seen) -> Decided:
        """Predict a payment's answer, then learn from every order answer."""
        op = seen.operation.operation_id
        decided: Decided = {}
        body = seen.request.value if seen.request.kind == "json" else None
        order_id = order_id_of(seen.exchange.path)
        if op == PAY and isinstance(body, dict) and order_id is not None and seen.caller is not None:
            decided = self._predicted(order_id, body, seen)
        if seen.exchange.succeeded and seen.response.kind == "json":
            self._learn(op, seen)
        return decided

    def _predicted(self, order_id: int, body: dict[str, Any], seen: Seen) -> Decided:
        """The domain's decision on a payment (``rules.decide_payment``), with what the proxy knows of it."""
        assert seen.caller is not None
        reference = body.get("reference_id")
        owner = self.owners.get(order_id)
        used_by = self.used.get(reference) if isinstance(reference, str) else None
        try:
            # No sandbox data: a real backend's PayPal is not the mock's; an order only glimpsed (its owner, if seen).
            rules.decide_payment(
                None, order_id, rules.Glimpsed(owner), seen.caller, str(reference), used_by=used_by, touched=0
            )
        except RuleViolation as refusal:
            named = refusal.rule or "ownership"
            return {named: [refused_finding(refusal, seen, named)] if seen.exchange.succeeded else []}
        # Nothing it knows refuses the payment: what it could judge held (a reference id not seen paying may
        # have paid where the proxy did not see it: any answer may be right).
        judged = (["ownership"] if owner is not None else []) + (
            ["reference_once"] if isinstance(reference, str) else []
        )
        return {name: [] for name in judged}

    def _learn(self, op: str, seen: Seen) -> None:
        answer = seen.response.value
        if not isinstance(answer, dict):
            return
        documents = [answer] if op in ORDER_OPS else answer.get("orders") if op in LIST_OPS else None
        for doc in documents if isinstance(documents, list) else []:
            if isinstance(doc, dict) and isinstance(doc.get("id"), int) and seen.caller is not None:
                remember(self.owners, doc["id"], seen.caller)
        request = seen.request.value if seen.request.kind == "json" else None
        if op == PAY and isinstance(request, dict) and isinstance(request.get("reference_id"), str):
            if isinstance(answer.get("id"), int):
                remember(self.used, request["reference_id"], answer["id"])
