"""The shop API's rules on watched traffic (seeds 002 and 003), with ``villa_contracts.domain.shop`` as oracle.

Who calls: a shop token key is opaque, so the oracle names it by its pseudonym
(``suites.proxy.redaction.token_key_pseudonym``, the same live and on a recording) and learns the
customer behind it from the profile answers it gets (``getProfile``, ``updateProfile``: ``customer``).
A key whose profile was never answered through the proxy is judged only on what needs no caller.

It learns from the answers it sees: each customer's cart as last answered (and whether a payment
of theirs emptied it since), the addresses answered to each customer, each order's owner, status,
total and currency, each payment attempt's status, and which attempt paid an order. Before it
learns from an exchange, it asks the domain what a correct backend must answer, through the same
decisions as the gate's shop machine (``suites.property.shop_model``: which rules an operation on an
order goes through and in which order, what a gateway's report or a cart write does), so the gate and
the proxy cannot disagree:

- ``checkoutCart`` answered 2xx on a cart last answered empty (``cart_not_empty``), or with an
  address answered to another customer (``address_of_caller``);
- an order answered to a customer who is not its owner (``ownership``); an order answered to its
  owner before, then 404 (``exists``); a paid order offered for payment again (``paid_stays_paid``);
- a gateway report (``paymentCallback``, ``gatewayDecision``) answered 2xx that the domain refuses
  (``amount_must_match``, ``attempt_final``, ``one_payment_per_order``), or answered ``processed``
  when the domain says it pays nothing (the same callback twice: ``one_payment_per_order``);
- after a payment it saw (a callback that processed the order, the payer's approval, a direct
  checkout), a cart answered with lines that no write since put there (``cart_deleted_after_payment``).

What it does not decide: an order PROCESSING before a payment was seen. A real gateway calls the
backend back directly, not through the proxy, so a payment the proxy did not see is no evidence
(the gate's ``shop_status`` still flags an order PROCESSING whose own document says it is unpaid).
Like ``villa_oracle``, it judges only what it knows, and assumes every client goes through the proxy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar

from suites.property.shop_invariants import amount
from suites.property.shop_model import (
    cart_after_write,
    decide_report,
    first_refusal,
    known_address,
    order_rules,
    page_report,
)
from suites.proxy.exchange import path_parameters
from suites.proxy.findings import Finding
from suites.proxy.redaction import token_key_pseudonym
from suites.proxy.traffic_checks import CheckSetup, Decided, Seen, TrafficCheck, refused_finding, traffic_check
from suites.proxy.villa_oracle import remember
from villa_contracts.domain import shop as rules
from villa_contracts.domain.errors import STATUS, RuleViolation
from villa_contracts.domain.money import Satang
from villa_contracts.errors import VillaContractsError

CART_OPS = frozenset({"getCart", "addCartItem", "changeCartItem", "removeCartItem"})
BY_ORDER_KEY = frozenset({"getOrder", "getOrderToPay", "listPaymentAttempts", "createPaymentAttempt"})
PROFILE_OPS = frozenset({"getProfile", "updateProfile"})
GATEWAY_OPS = frozenset({"paymentCallback", "gatewayDecision"})
CART_DELETED = "cart_deleted_after_payment"
ONE_PAYMENT = "one_payment_per_order"


@dataclass(frozen=True, slots=True)
class SeenOrder:
    """What the proxy knows of a shop order: its owner (an identity), status, total and currency."""

    owner: str
    status: str
    total: Satang | None
    currency: str


@dataclass(frozen=True, slots=True)
class SeenCart:
    """What the proxy knows of a customer's cart.

    Attributes:
        lines: as last answered, with no write or payment since (None: not known).
        emptied_by: the order whose payment the proxy saw since the last cart answer (None: none).
        predicted: the cart the domain says that payment left, in ``(product, units)`` pairs.
    """

    lines: tuple[rules.Line, ...] | None
    emptied_by: str | None = None
    predicted: tuple[tuple[int, int], ...] = ()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cart_lines(answer: Mapping[str, Any]) -> tuple[rules.Line, ...] | None:
    """The lines of an answered cart (None when they are not lines)."""
    items = answer.get("items")
    if not isinstance(items, list):
        return None
    try:
        return tuple(rules.lines_of(items))
    except (KeyError, TypeError, ValueError, VillaContractsError):
        return None


def units(lines: tuple[rules.Line, ...]) -> dict[int, int]:
    """Units per product of cart lines."""
    return {item.product_id: item.quantity for item in lines}


def orders_in(op: str, answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The order documents an answer carries."""
    if op in ("getOrder", "getOrderToPay"):
        return [dict(answer)] if answer else []
    if op == "listOrders" and isinstance(answer.get("results"), list):
        return [o for o in answer["results"] if isinstance(o, dict)]
    return []


@traffic_check
class ShopOracle(TrafficCheck):
    """The shop's cart, checkout, ownership and payment rules on the traffic, with the domain as oracle."""

    CONTRACTS: ClassVar[frozenset[str] | None] = frozenset({"shop"})

    def __init__(self, setup: CheckSetup) -> None:
        super().__init__(setup)
        self.customers: dict[str, str] = {}  # token key pseudonym → identity
        self.carts: dict[str, SeenCart] = {}
        self.addresses: dict[int, str] = {}
        self.orders: dict[str, SeenOrder] = {}
        self.attempts: dict[str, str] = {}  # external id → status
        self.paid_by: dict[str, str] = {}  # order key → the attempt that paid it

    def judge(self, seen: Seen) -> Decided:
        """Predict, then learn from the answer."""
        op = seen.operation.operation_id
        request = _dict(seen.request.value) if seen.request.kind in ("json", "form") else {}
        answer = _dict(seen.response.value) if seen.response.kind == "json" else {}
        params = path_parameters(seen.operation.path, seen.exchange.path)
        pseudonym = token_key_pseudonym(seen.exchange.request_header("authorization"))
        caller = self.customers.get(pseudonym) if pseudonym is not None else None
        decided: Decided = {}
        if caller is not None:
            decided = self._predicted(op, request, answer, params, caller, seen)
            if op in CART_OPS and seen.exchange.succeeded:
                decided.update(self._cart(op, request, answer, params, caller))
        if op in GATEWAY_OPS and seen.exchange.succeeded:
            decided.update(self._report(op, request, answer, params, seen))
        if seen.exchange.succeeded:
            self._learn(op, answer, params, caller, pseudonym)
        return decided

    # --- what a correct backend must answer -------------------------------------------------

    def _rules(
        self, op: str, request: dict[str, Any], key: str | None, caller: str
    ) -> list[tuple[str, Callable[[], object]]]:
        """The domain's decisions this exchange depends on, as far as the proxy knows the facts, by rule."""
        found: list[tuple[str, Callable[[], object]]] = []
        if op == "checkoutCart":
            cart = self.carts.get(caller)
            lines = cart.lines if cart is not None else None
            if lines is not None:
                found.append(("cart_not_empty", lambda: rules.check_cart_not_empty(lines)))
            address_id = _int(request.get("address"))
            owner = self.addresses.get(address_id) if address_id is not None else None
            if address_id is not None and owner is not None:
                address = known_address(address_id, owner)
                found.append(("address_of_caller", lambda: rules.check_address(address, address_id, caller)))
        known = self.orders.get(key) if key is not None else None
        if op in BY_ORDER_KEY and known is not None:
            found += order_rules(op, str(key), known.owner, caller, known.status)
        return found

    def _predicted(
        self, op: str, request: dict[str, Any], answer: dict[str, Any], params: dict[str, str], caller: str, seen: Seen
    ) -> Decided:
        key = params.get("order_key")
        decided: Decided = {}
        for name, rule in self._rules(op, request, key, caller):
            try:
                rule()
            except RuleViolation as refusal:
                # The first refusal is the answer; the rest cannot be told apart.
                return {refusal.rule: [refused_finding(refusal, seen)] if seen.exchange.succeeded else []}
            decided[name] = []
        if op in BY_ORDER_KEY and key in self.orders:
            decided["exists"] = []
            if seen.status == STATUS["not_found"]:
                message = f"expected: not 404: order {key} was answered to its owner, this caller, before\ngot: 404"
                decided["exists"].append(Finding("exists", "request", "/path/order_key", message))
        if not seen.exchange.succeeded:
            return decided
        for index, doc in enumerate(orders_in(op, answer)):
            doc_key = doc.get("order_key")
            if not isinstance(doc_key, str) or (doc_key == key and key in self.orders):
                continue  # judged above by what the proxy knew
            known = self.orders.get(doc_key)
            owner = known.owner if known is not None else doc.get("customer")
            if not isinstance(owner, str):
                continue
            findings = decided.setdefault("ownership", [])
            foreign = first_refusal(order_rules(op, doc_key, owner, caller, None))
            if foreign is not None:
                pointer = f"/results/{index}/customer" if op == "listOrders" else "/customer"
                message = f"expected: only the caller's orders ({caller}): {foreign.message}\ngot: order of {owner}"
                findings.append(Finding(foreign.rule, "response", pointer, message))
        return decided

    def _cart(
        self, op: str, request: dict[str, Any], answer: dict[str, Any], params: dict[str, str], caller: str
    ) -> Decided:
        """A cart answered after a payment the proxy saw: what the payment left, with the writes since."""
        cart = self.carts.get(caller)
        answered = cart_lines(answer)
        if cart is None or cart.emptied_by is None or answered is None:
            return {}
        predicted = dict(cart.predicted)
        why = f"order {cart.emptied_by} was paid, which deletes the cart"
        try:
            if op == "addCartItem":
                product, quantity = _int(request.get("product_id")), _int(request.get("quantity"))
                if product is None or quantity is None:
                    return {}
                predicted = cart_after_write(predicted, product, quantity, add=True)
            elif op in ("changeCartItem", "removeCartItem"):
                product = int(params.get("product_id", ""))
                quantity = _int(request.get("quantity"))
                if op == "removeCartItem" or quantity is None:  # a change of no number: the line stays as it is
                    quantity = None if op == "removeCartItem" else predicted.get(product)
                predicted = cart_after_write(predicted, product, quantity, add=False)
        except ValueError:
            return {}
        except RuleViolation as refusal:
            message = f"expected: {refusal.status}: {refusal.message} ({why})\ngot: 200, the line still there"
            return {CART_DELETED: [Finding(CART_DELETED, "request", refusal.pointer, message)]}
        got = units(answered)
        if got == predicted:
            return {CART_DELETED: []}
        message = f"expected: the cart {predicted} ({why}; the writes since applied)\ngot: {got}"
        return {CART_DELETED: [Finding(CART_DELETED, "response", "/items", message)]}

    def _report(
        self, op: str, request: dict[str, Any], answer: dict[str, Any], params: dict[str, str], seen: Seen
    ) -> Decided:
        """A gateway report answered 2xx: the domain's decision on it, then what it did to the order and cart."""
        key = answer.get("order_key")
        external_id = request.get("external_id") if op == "paymentCallback" else params.get("external_id")
        if not isinstance(key, str) or not isinstance(external_id, str):
            return {}
        known, before = self.orders.get(key), self.attempts.get(external_id)
        decision: rules.CallbackDecision | None = None
        decided: Decided = {}
        if known is not None and known.total is not None and before is not None:
            report: tuple[Any, Any, Any] | None
            if op == "paymentCallback":
                report = request.get("status"), _int(request.get("total_amount")), request.get("currency")
            else:  # the gateway reports the attempt's own amount
                report = page_report(str(request.get("action")), known.total, known.currency)
            status, total, currency = report or (None, None, None)
            if isinstance(status, str) and total is not None and isinstance(currency, str):
                decision = decide_report(
                    (external_id, status, total, currency),
                    attempt=before,
                    order_status=known.status,
                    paid_by=self.paid_by.get(key),
                    total=known.total,
                    currency=known.currency,
                ).decision
        if decision is not None and decision.refusal is not None:
            decided[decision.refusal.rule] = [refused_finding(decision.refusal, seen)]
        elif decision is not None and op == "paymentCallback":
            decided[ONE_PAYMENT] = []
            if answer.get("processed") is True and not decision.pays:
                message = (
                    f"expected: processed false: attempt {external_id} is {before} already and order {key} "
                    f"{known.status if known else ''} (the same report twice pays once)\ngot: processed true"
                )
                decided[ONE_PAYMENT].append(Finding(ONE_PAYMENT, "response", "/processed", message))
        if isinstance(answer.get("status"), str):
            remember(self.attempts, external_id, answer["status"])
        if op == "paymentCallback":
            paid = answer.get("processed") is True
        else:  # the payer's page answers no `processed`: the domain says whether it paid
            paid = decision is not None and decision.pays and answer.get("status") == rules.PAID
        if paid:
            self._paid(key, external_id)
        return decided

    # --- learning -------------------------------------------------------------------------------

    def _paid(self, key: str, external_id: str | None) -> None:
        """Order ``key`` paid now (seen): PROCESSING, and its owner's cart deleted."""
        if external_id is not None:
            remember(self.paid_by, key, external_id)
        known = self.orders.get(key)
        if known is None:
            return
        remember(self.orders, key, replace(known, status=rules.PROCESSING))
        before = self.carts.get(known.owner)
        lines = before.lines if before is not None and before.lines is not None else ()
        left = rules.cart_after_payment(units(lines))
        remember(self.carts, known.owner, SeenCart(None, key, tuple(left.items())))

    def _learn(
        self, op: str, answer: dict[str, Any], params: dict[str, str], caller: str | None, pseudonym: str | None
    ) -> None:
        if op in PROFILE_OPS and pseudonym is not None and isinstance(answer.get("customer"), str):
            remember(self.customers, pseudonym, answer["customer"])
        for doc in orders_in(op, answer):
            self._learn_order(doc)
        if op == "listPaymentAttempts":
            for attempt in answer.get("results") or []:
                if isinstance(attempt, dict) and isinstance(attempt.get("external_id"), str):
                    remember(self.attempts, attempt["external_id"], str(attempt.get("status")))
        if op == "createPaymentAttempt" and isinstance(answer.get("external_id"), str):
            remember(self.attempts, answer["external_id"], str(answer.get("status")))
        if caller is None:
            return
        if op == "listAddresses":
            for address in answer.get("results") or []:
                if isinstance(address, dict) and (address_id := _int(address.get("id"))) is not None:
                    remember(self.addresses, address_id, caller)
        if op == "addAddress" and (address_id := _int(answer.get("id"))) is not None:
            remember(self.addresses, address_id, caller)
        if op in CART_OPS:
            remember(self.carts, caller, SeenCart(cart_lines(answer)))
        if op == "checkoutCart":
            if isinstance(answer.get("order_key"), str):  # a direct payment: paid at once
                remember(self.orders, answer["order_key"], SeenOrder(caller, rules.HOLD, None, ""))
                self._paid(answer["order_key"], None)
            elif isinstance(answer.get("next_step"), str):  # a redirect payment: the cart stays until paid
                remember(self.attempts, answer["next_step"].rstrip("/").rsplit("/", 1)[-1], rules.PENDING)

    def _learn_order(self, doc: dict[str, Any]) -> None:
        key = doc.get("order_key")
        if not isinstance(key, str):
            return
        known = self.orders.get(key)
        owner = known.owner if known is not None else doc.get("customer")
        if not isinstance(owner, str):
            return
        seen = SeenOrder(owner, str(doc.get("status")), amount(doc.get("total")), str(doc.get("currency")))
        remember(self.orders, key, seen)
        snapshot = doc.get("snapshot")
        if isinstance(snapshot, dict) and isinstance(snapshot.get("payment_external_id"), str):
            remember(self.paid_by, key, snapshot["payment_external_id"])
