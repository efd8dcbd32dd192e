"""Business-rule checks that schemas cannot express, as Schemathesis checks.

Each check is a class that Schemathesis instantiates once per run, with the run's ``RunContext``
(``checks.<name>.context`` in the engine's configuration): what one check remembers (ids seen,
orders seen paid) lives and dies with its run, and any request it sends itself goes through the
run's rate-limited client. Used with the ``schemathesis`` CLI (``SCHEMATHESIS_HOOKS=
suites.property.hooks``, which registers them) they get no context and judge what one response shows.

The arithmetic is ``suites.property.invariants``', shared with the state machine and the proxy:

- ``grand_total``: grandTotal = subTotal + deliveryFee − discounts; subTotal = Σ rowTotal; rowTotal = price × quantity.
- ``owner_is_caller``: an order answered to a caller has ``ownerId`` = the caller's ``sub``.
- ``foreign_order_hidden``: an order one account can read is 404 for the other account.
- ``unique_order_ids``: generated order ids never repeat.
- ``paid_stays_paid``: once seen paid, an order is always answered paid and unchanged.
- ``declined_never_paid``: only an Authorized charge settles an order.
- ``order_stored``: what create and update answer is what the order reads back as.
- ``catalog_prices``: amounts never drift from the catalog (only when the target uses the contract's data).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, ClassVar

from suites.property.invariants import (
    Problem,
    catalog_problems,
    consistency_problems,
    cost_problems,
    pricing_problems,
)
from suites.property.paging import UNASKABLE
from villa_contracts.domain import orders
from villa_contracts.domain.errors import STATUS, refusal_of
from villa_contracts.faults import HEADER, INJECTED, injected_label

if TYPE_CHECKING:
    from collections.abc import Mapping, Set

    from schemathesis import Case, CheckContext, Response

    from suites.context import RunContext

ORDER_OPS = {"createOrder", "getOrder", "updateOrder"}
VERIFY_OPS = {"verifyPayment", "verifyPaymentDev"}


def operation_id(case: Case[Any]) -> str:
    """The operationId of a case's operation."""
    return str(case.operation.definition.raw.get("operationId", case.operation.label))


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def request_json(response: Response) -> Any:
    """The JSON body of the request ``response`` answers (None when it had none or it is not JSON)."""
    body = getattr(response.request, "body", None)
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, TypeError):
        return None


def caller_sub(response: Response) -> str | None:
    """The ``sub`` of the ID token the request carried (payload decoded, not verified)."""
    header = response.request.headers.get("Authorization") or ""
    return token_sub(header.decode("latin-1") if isinstance(header, bytes) else header)


def token_sub(header: str) -> str | None:
    """The ``sub`` of the ID token in an ``Authorization`` header's value (payload decoded, not verified)."""
    token = header.split(" ", 1)[-1]
    try:
        payload = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def orders_in(op: str, body: Any) -> list[dict[str, Any]]:
    """The order documents an answer of ``op`` carries."""
    if not isinstance(body, dict):
        return []
    if op in ORDER_OPS:
        return [body]
    if op in VERIFY_OPS and isinstance(body.get("order"), dict):
        return [body["order"]]
    return []


def orders_listed(op: str, body: Any, *, order_ops: Set[str], list_ops: Set[str], items: str) -> list[dict[str, Any]]:
    """The order documents an answer of ``op`` carries.

    The body itself where ``op`` answers one order (``order_ops``), the documents of its ``items``
    list where ``op`` lists orders (``list_ops``).
    """
    if not isinstance(body, dict):
        return []
    if op in order_ops:
        return [body]
    if op in list_ops and isinstance(body.get(items), list):
        return [o for o in body[items] if isinstance(o, dict)]
    return []


def get_as(context: RunContext, path: str, params: Mapping[str, Any], authorization: str) -> tuple[int, Any] | None:
    """GET ``path`` of the run's target as the caller ``authorization``: its status and (a 200's) JSON body.

    None when the target could not be asked: the call failed, a 200's body is no JSON, or the status
    is one of ``UNASKABLE`` (a token aged, a rate limit, a gateway).
    """
    import httpx  # here: the proxy judges with these checks and never sends a request

    try:
        answer = context.http.get(f"{context.base_url}{path}", params=params, headers={"Authorization": authorization})
        body = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None
    if answer.status_code in UNASKABLE:
        return None
    return answer.status_code, body


def unexpected(expected: str, got: object) -> AssertionError:
    """A check's failure in the reports' words: what a correct backend answers, and what this one did."""
    return AssertionError(f"expected: {expected}\ngot: {got}")


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise AssertionError("\n\n".join(f"expected: {p.expected}\ngot: {p.got}" for p in problems))


class BusinessCheck:
    """A check with the run's context (None when the ``schemathesis`` CLI runs it alone).

    ``CONTRACTS`` names the contracts whose operations it judges: operationIds are unique only
    within a contract, so a check never judges another API's operation of the same name. A check
    that cannot judge a run's target says why in :meth:`off` (the gate reports it as skipped).
    """

    CONTRACTS: ClassVar[frozenset[str]] = frozenset({"villa"})
    OPERATIONS: ClassVar[frozenset[str]] = frozenset()
    """The operationIds whose 2xx answers it judges: only those answers count as evaluations of it."""

    def __init__(self, context: RunContext | None = None, contract: str = "villa") -> None:
        self.context = context
        self.contract = contract

    @classmethod
    def off(cls, context: RunContext | None) -> str | None:
        """Why this check judges nothing on the run's target, beginning ``off:`` (None: it is on)."""
        return None

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        """Judge one 2xx answer of its operations (other statuses are the schema checks' business).

        An answer it judges is counted as its evaluation (``RunContext.judged``); any other is not its
        business, so a check that judged nothing in a run is reported as evaluated 0 times, never as passed.
        """
        op = operation_id(case)
        if self.contract in self.CONTRACTS and op in self.OPERATIONS and 200 <= response.status_code < 300:
            if self.context is not None:
                self.context.judged.add((type(self).__name__, case.id))
            seen = self.context.http.injected_seen() if self.context is not None else []
            seen.clear()
            try:
                self.judge(op, _json(response), response)
            except AssertionError as exc:
                label = injected_label(response.headers) or (seen[0] if seen else None)
                if label is None:
                    raise
                # A read-back the mock answered with an injected fault: never the backend's failure.
                raise AssertionError(f"{INJECTED} ({HEADER}: {label}): {exc}") from None
        return None

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Raise ``AssertionError`` when the answer breaks the rule."""
        raise NotImplementedError


BUSINESS_CHECKS: list[type[BusinessCheck]] = []
"""Every business check of every contract, in the order they were defined (each registers with ``@business_check``)."""


def business_check(cls: type[BusinessCheck]) -> type[BusinessCheck]:
    """Make ``cls`` one of the gate's business checks (``BUSINESS_CHECKS``).

    Schemathesis is told of it when it runs (``suites.property.hooks.register``): the proxy runs the same
    checks on traffic without importing Schemathesis.
    """
    BUSINESS_CHECKS.append(cls)
    return cls


@business_check
class grand_total(BusinessCheck):  # noqa: N801 - the check's name in reports
    """Totals add up exactly, to the satang."""

    OPERATIONS = frozenset({"calculateGrandtotal", "getCost", *ORDER_OPS, *VERIFY_OPS})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Pricing answers and order documents."""
        if op == "calculateGrandtotal":
            _raise(pricing_problems(body, None))
        elif op == "getCost":
            _raise(cost_problems(body))
        for order in orders_in(op, body):
            payment = order.get("payment")
            if isinstance(payment, dict) and "grandTotal" in payment:
                _raise(consistency_problems(payment, order.get("productList")))


@business_check
class owner_is_caller(BusinessCheck):  # noqa: N801
    """Orders answered to a caller are the caller's."""

    OPERATIONS = frozenset({*ORDER_OPS, *VERIFY_OPS})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer."""
        sub = caller_sub(response)
        for order in orders_in(op, body):
            if sub is not None and order.get("ownerId") != sub:
                raise AssertionError(
                    f"order {order.get('orderId')} has ownerId {order.get('ownerId')!r}, the caller is {sub!r}"
                )


@business_check
class foreign_order_hidden(BusinessCheck):  # noqa: N801
    """An order one account reads is 404 for the other account (exactly like a missing one)."""

    OPERATIONS = frozenset({"getOrder"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Ask for the order as the other account, through the run's paced client."""
        context = self.context
        if context is None or op != "getOrder" or not isinstance(body, dict):
            return
        sub = caller_sub(response)
        other = next((a for a in context.target.accounts if a.sub != sub), None)
        if other is None:
            return
        probe = context.http.post(
            f"{context.base_url}/api/order/get", json={"orderId": body.get("orderId")}, headers=other.headers
        )
        hidden = refusal_of(orders.require_visible, body.get("orderId"), sub, other.sub)
        assert hidden is not None
        if probe.status_code != hidden.status:
            raise AssertionError(
                f"order {body.get('orderId')} of {sub} answered {probe.status_code} to another account "
                f"(expected {hidden.status})"
            )


class _Remembering(BusinessCheck):
    """A check that remembers what its run saw (Schemathesis serialises calls of one check instance)."""

    def __init__(self, context: RunContext | None = None, contract: str = "villa") -> None:
        super().__init__(context, contract)
        self.seen: dict[str, Any] = {}


@business_check
class unique_order_ids(_Remembering):  # noqa: N801
    """Generated order ids never repeat."""

    OPERATIONS = frozenset({"generateOrderId"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every answer of generateOrderId."""
        if op != "generateOrderId" or not isinstance(body, dict):
            return
        order_id = str(body.get("orderId"))
        if order_id in self.seen:
            raise AssertionError(f"orderId {order_id!r} was generated twice")
        self.seen[order_id] = True


def differences(was: Any, now: Any, where: str = "", limit: int = 8) -> list[tuple[str, Any, Any]]:
    """The leaves that differ between two JSON values, as ``(dotted path, was, now)``, at most ``limit``.

    Example:
        >>> differences({"payment": {"isPaid": True, "total": 5}}, {"payment": {"isPaid": False, "total": 5}})
        [('payment.isPaid', True, False)]
    """
    found: list[tuple[str, Any, Any]] = []
    if isinstance(was, dict) and isinstance(now, dict):
        for key in [*was, *(k for k in now if k not in was)]:
            if was.get(key, _MISSING) != now.get(key, _MISSING):
                found += differences(was.get(key, _MISSING), now.get(key, _MISSING), f"{where}.{key}".lstrip("."))
    elif isinstance(was, list) and isinstance(now, list) and len(was) == len(now):
        for index, (before, after) in enumerate(zip(was, now, strict=True)):
            if before != after:
                found += differences(before, after, f"{where}[{index}]")
    elif was != now:
        found.append((where or "(the document)", was, now))
    return found[:limit]


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


_MISSING: Any = _Missing()


@business_check
class paid_stays_paid(_Remembering):  # noqa: N801
    """Once seen paid, an order is answered paid and unchanged."""

    OPERATIONS = frozenset({*ORDER_OPS, *VERIFY_OPS})

    FROZEN: ClassVar[tuple[str, ...]] = ("payment", "productList", "ownerId")

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer, against the first paid view of it (the set-up's paid ones too)."""
        if self.context is not None:
            from suites.property.livedata import paid_orders

            for order_id, order in paid_orders(self.context).items():
                self.seen.setdefault(order_id, {key: order.get(key) for key in self.FROZEN})
        for order in orders_in(op, body):
            order_id = str(order.get("orderId"))
            view = {key: order.get(key) for key in self.FROZEN}
            before = self.seen.get(order_id)
            if before is not None and view != before:
                changed = "; ".join(f"{at} was {was!r}, now {now!r}" for at, was, now in differences(before, view))
                expected = f"order {order_id}, once paid, answered paid and unchanged"
                raise AssertionError(f"expected: {expected}\ngot: {changed}")
            if (order.get("payment") or {}).get("isPaid") and before is None:
                self.seen[order_id] = view


@business_check
class declined_never_paid(BusinessCheck):  # noqa: N801
    """Only an Authorized charge settles an order."""

    OPERATIONS = frozenset(VERIFY_OPS)

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every answer of verify."""
        if op in VERIFY_OPS and isinstance(body, dict):
            if body.get("transaction_state") != "Authorized" and body.get("paid"):
                raise AssertionError(
                    f"charge {body.get('chargeId')} is {body.get('transaction_state')} but verify says paid"
                )


@business_check
class order_stored(BusinessCheck):  # noqa: N801
    """What create and update answer is what the backend stored: the order read back is the same."""

    OPERATIONS = frozenset({"createOrder", "updateOrder"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Read the order back as the same caller, through the run's paced client."""
        context = self.context
        if context is None or not isinstance(body, dict) or not isinstance(body.get("orderId"), str):
            return
        authorization = response.request.headers.get("Authorization") or ""
        headers = {"Authorization": authorization.decode() if isinstance(authorization, bytes) else authorization}
        stored = context.http.post(
            f"{context.base_url}/api/order/get", json={"orderId": body["orderId"]}, headers=headers
        )
        if stored.status_code != 200:
            raise AssertionError(f"expected: order {body['orderId']}, just answered by {op}, read back\n"
                                 f"got: {stored.status_code} {stored.text[:200]}")  # fmt: skip
        changed = differences(body, stored.json())
        if changed:
            shown = "; ".join(f"{at}: answered {was!r}, stored {now!r}" for at, was, now in changed)
            raise AssertionError(f"expected: order {body['orderId']} read back as {op} answered it\ngot: {shown}")


@business_check
class catalog_prices(BusinessCheck):  # noqa: N801
    """Prices are the catalog's (only on targets that use the contract's business data).

    Elsewhere it is off: it judges nothing, and says so (``off``) rather than pass every answer.
    """

    OPERATIONS = frozenset({"calculateGrandtotal", "getCost", *ORDER_OPS, *VERIFY_OPS})

    def __init__(self, context: RunContext | None = None, contract: str = "villa") -> None:
        super().__init__(context, contract)
        self.prices: dict[tuple[int, str], int] = {}
        if context is not None and self.off(context) is None:
            for code, product in context.data.products.items():
                for branch, offer in product.offers.items():
                    self.prices[(code, branch)] = offer.price

    @classmethod
    def off(cls, context: RunContext | None) -> str | None:
        """Why the check judges nothing on this run's target (None: it is on)."""
        if context is not None and context.target.is_mock:
            return None
        return (
            "off: the target is not the mock, so its catalog need not be the contract's; "
            "amounts are still checked against each other (grand_total)"
        )

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        """Judge as every business check does; when off, tell Schemathesis the check was skipped (never passed)."""
        if not self.prices:
            return True  # Schemathesis records a check that returns True as not run
        return super().after_response(ctx, response, case)

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Order documents and pricing answers."""
        if not self.prices or not isinstance(body, dict):
            return
        documents = orders_in(op, body) or ([body] if op in ("calculateGrandtotal", "getCost") else [])
        for doc in documents:
            _raise(catalog_problems(doc, self.prices))


CARD_DATA_CODE = "card_data"
"""The ``code`` of the contracts' ``CardDataRefused`` answer (400): a request that holds card data."""


class refused_as_declared:  # noqa: N801 - the check's name in reports
    """A schema-valid request answered 400 is refused for a reason the contract declares.

    Every contract refuses card data with a 400 whose code is ``card_data`` (``CardDataRefused``), and a
    generated text may hold a card number (Hypothesis draws strings from the code it runs, test cards
    included): ``positive_data_acceptance`` lets that 400 through, and this check keeps it to that reason
    where the contract's rules answer no other 400.
    """

    def __init__(self, context: RunContext | None = None, contract: str = "villa") -> None:
        self.contract = contract
        # Without a run (the schemathesis CLI alone) the contract's refusals are not known: no verdict.
        self.other_400s = context is None or STATUS["invalid"] in context.contracts[contract].refusal_statuses

    def after_response(self, ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
        """A positive case answered 400: only as card data, unless the contract's rules answer 400 anyway."""
        meta = case.meta
        positive = meta is None or meta.generation.mode.is_positive
        if response.status_code != STATUS["invalid"] or not positive or self.other_400s:
            return None
        body = _json(response)
        if not isinstance(body, dict) or body.get("code") != CARD_DATA_CODE:
            raise AssertionError(
                f"expected: a schema-valid request accepted, or refused 400 only for card data (code "
                f"{CARD_DATA_CODE!r}, the contract's CardDataRefused)\ngot: 400 {str(body)[:300]}"
            )
        return None


def caller_sub_of_headers(headers: Any) -> str | None:
    """The ``sub`` of the ID token in a header mapping (payload decoded, not verified)."""
    return token_sub(str(headers.get("Authorization") or headers.get("authorization") or ""))


def load_business_checks() -> list[type[BusinessCheck]]:
    """Every business check of every API: each API's ``checks`` part registers its own on import.

    An API with no ``checks`` part registers them from its ``suite`` part, imported then (with its machine
    and flow: the proxy, which runs the checks on traffic, needs neither).
    """
    from villa_contracts.apis import packages

    for api in packages():
        if api.part("checks") is None:
            api.part("suite")
    return BUSINESS_CHECKS
