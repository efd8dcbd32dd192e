"""The business checks of the proxy: the gate's own checks, and what only watching traffic can decide.

A check is a class registered with ``@traffic_check``, scoped by ``CONTRACTS`` (None: every
contract) and instantiated once per run and contract, so what it remembers lives as long as the
run. ``judge`` returns each check name it decided with its findings (an empty list: it held).

- ``GateChecks`` runs the gate's business checks (``suites.property.checks.BUSINESS_CHECKS``:
  ``grand_total``, ``owner_is_caller``, ``unique_order_ids``, ``paid_stays_paid``,
  ``declined_never_paid``, ``catalog_prices``, the line-item API's ``li_money``, ``li_states``,
  ``li_filters``…; not ``li_stock``: see ``SOLE_CLIENT``) on every 2xx answer of their contracts.
- ``auth_required``: a secured operation answered 2xx to a request without credentials.
- ``error_body``: an error answer (4xx, 5xx) is JSON in one of the contract's error schemas
  (``x-villa.errorSchemas``, default ``[Error]``), documented status or not.
- ``card_masked``: no answer carries a card number or a CVV, in any field or header.

Contract-specific checks live in their own module, which the API's folder names in its ``oracle.py``
(``villa_contracts/apis/<name>/oracle.py``, loaded by ``suites.apis.load_oracles``): for the shipped APIs
``suites.proxy.villa_oracle``, ``suites.proxy.shop_oracle`` and ``suites.proxy.lineitems_oracle``, each
API's rules predicted with the domain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlencode

from suites.proxy.findings import Finding
from suites.proxy.redaction import card_pointers

if TYPE_CHECKING:
    from schemathesis import Response

    from suites.proxy.exchange import Body, Exchange
    from villa_contracts.contract import Contract, Contracts, ContractValidator, Operation
    from villa_contracts.domain.errors import RuleViolation

Decided = dict[str, list[Finding]]


@dataclass(frozen=True, slots=True)
class Seen:
    """What a check is given: one exchange, its operation, and both bodies parsed.

    Attributes:
        exchange: the exchange.
        operation: its operation.
        contract: the operation's contract.
        validator: the contract's validator (for named schemas).
        request: the request's body.
        response: the answer's body.
        caller: the ``sub`` of the request's ID token (decoded, not verified), if it had one.
    """

    exchange: Exchange
    operation: Operation
    contract: Contract
    validator: ContractValidator
    request: Body
    response: Body
    caller: str | None

    @property
    def status(self) -> int:
        """The answer's status (checks only see answered exchanges)."""
        assert self.exchange.status is not None
        return self.exchange.status


@dataclass(frozen=True, slots=True)
class CheckSetup:
    """What a check is built with.

    Attributes:
        contract: the contract it judges.
        prices: ``(cprcode, branch) → price`` in satang when the upstream prices from the
            contract's catalog (a villa-contracts mock); None otherwise.
        contracts: the contracts judged (a check that needs their data to read ``prices`` takes it here).
    """

    contract: str
    prices: Mapping[tuple[int, str], int] | None = None
    contracts: Contracts | None = None


class TrafficCheck:
    """A check of exchanges (``CONTRACTS``: the contracts it judges; None for every contract)."""

    CONTRACTS: ClassVar[frozenset[str] | None] = None

    def __init__(self, setup: CheckSetup) -> None:
        self.setup = setup

    def judge(self, seen: Seen) -> Decided:
        """Decide what this check can about ``seen``: check name → findings (empty: it held)."""
        raise NotImplementedError


TRAFFIC_CHECKS: list[type[TrafficCheck]] = []
"""Every traffic check, in the order they judge."""


def traffic_check(cls: type[TrafficCheck]) -> type[TrafficCheck]:
    """Register a traffic check."""
    TRAFFIC_CHECKS.append(cls)
    return cls


def refused_finding(refusal: RuleViolation, seen: Seen, rule: str | None = None) -> Finding:
    """A refusal the domain predicted for an exchange answered anyway, as a finding named ``rule`` or the refusal's."""
    message = f"expected: {refusal.status}: {refusal.message}\ngot: {seen.status}"
    return Finding(rule or refusal.rule, "request", refusal.pointer, message)


def checks_for(setup: CheckSetup) -> list[TrafficCheck]:
    """One instance of every traffic check that judges ``setup.contract``."""
    from suites.apis import load_oracles

    load_oracles()  # each API's oracle part registers its own checks
    return [cls(setup) for cls in TRAFFIC_CHECKS if cls.CONTRACTS is None or setup.contract in cls.CONTRACTS]


# --- the gate's business checks ---------------------------------------------------------------------------

# Where in an answer each gate check looks (a check may say so itself with a FIELD class attribute).
FIELDS = {
    "grand_total": "grandTotal",
    "owner_is_caller": "ownerId",
    "unique_order_ids": "orderId",
    "paid_stays_paid": "payment",
    "declined_never_paid": "paid",
    "catalog_prices": "productList",
    "li_money": "total_cents",
    "li_states": "state",
    "li_filters": "orders",
}
# They ask the target (for the order as the other account, the caller's profile or cart): the proxy only
# watches, so they would pass without judging anything (the oracles' `ownership` and
# `cart_deleted_after_payment` are their passive counterparts).
ACTIVE = frozenset({"foreign_order_hidden", "shop_foreign_order_hidden", "shop_owner", "shop_cart_kept"})
# It compares stock counts across answers: sound only where the checker is the backend's one client and nothing
# expires meanwhile (the gate on its own mock). Behind a proxy, clients that bypass it and the 5-hour expiry
# move stock unseen, and it would cry wolf.
SOLE_CLIENT = frozenset({"li_stock"})


def find_key(value: Any, key: str) -> str:
    """The JSON pointer of the first ``key`` in ``value``, breadth first ("" when there is none)."""
    queue: list[tuple[str, Any]] = [("", value)]
    while queue:
        pointer, node = queue.pop(0)
        if isinstance(node, Mapping):
            if key in node:
                return f"{pointer}/{key}"
            queue += [(f"{pointer}/{name}", child) for name, child in node.items()]
    return ""


class _Sent:
    __slots__ = ("headers", "url")

    def __init__(self, headers: Mapping[str, str], url: str) -> None:
        self.headers = headers
        self.url = url


class _Answered:
    """The part of a Schemathesis ``Response`` the gate's checks read: the request's headers, its URL and the status.

    The URL is the path and query below the upstream (``li_filters`` reads the query's filters and page).
    """

    __slots__ = ("request", "status_code")

    def __init__(self, exchange: Exchange) -> None:
        url = f"{exchange.path}?{urlencode(exchange.query)}" if exchange.query else exchange.path
        self.request = _Sent({"Authorization": exchange.request_header("authorization")}, url)
        self.status_code = exchange.status


@traffic_check
class GateChecks(TrafficCheck):
    """The gate's business checks (``suites.property.checks``) on every 2xx answer of their contracts."""

    def __init__(self, setup: CheckSetup) -> None:
        super().__init__(setup)
        from suites.property import checks as gate

        gate.load_business_checks()
        self.checks = [
            cls(None, setup.contract)
            for cls in gate.BUSINESS_CHECKS
            if setup.contract in cls.CONTRACTS and cls.__name__ not in ACTIVE | SOLE_CLIENT
        ]
        for check in self.checks:
            # A check that judges amounts against the catalog gets it only when the upstream uses it.
            if setup.prices is None:
                continue
            if hasattr(check, "use_catalog"):  # it keeps prices its own way (the shop: one branch)
                check.use_catalog(setup.prices, setup.contracts)
            elif hasattr(check, "prices"):
                check.prices = dict(setup.prices)

    def judge(self, seen: Seen) -> Decided:
        """Every check, on a 2xx JSON answer."""
        if not seen.exchange.succeeded or seen.response.kind != "json":
            return {}
        body = seen.response.value
        answered = cast("Response", _Answered(seen.exchange))  # the only parts a check reads
        decided: Decided = {}
        for check in self.checks:
            if seen.operation.operation_id not in check.OPERATIONS:
                continue  # not its business: no verdict either way
            name = type(check).__name__
            decided[name] = []
            try:
                check.judge(seen.operation.operation_id, body, answered)
            except AssertionError as exc:
                key = getattr(type(check), "FIELD", None) or FIELDS.get(name, "")
                pointer = find_key(body, key) if key else ""
                decided[name].append(Finding(name, "response", pointer, str(exc) or f"{name} failed"))
        return decided


# --- what the traffic shows on its own ----------------------------------------------------------------------


def _credentials(contract: Contract, scheme: str) -> Callable[[Exchange], bool]:
    spec = ((contract.openapi.get("components") or {}).get("securitySchemes") or {}).get(scheme) or {}
    if spec.get("type") == "apiKey":
        name, where = str(spec.get("name", "")), spec.get("in")
        if where == "query":
            return lambda exchange: any(key == name and value for key, value in exchange.query)
        if where == "cookie":
            return lambda exchange: f"{name}=" in exchange.request_header("cookie")
        return lambda exchange: bool(exchange.request_header(name).strip())
    return lambda exchange: bool(exchange.request_header("authorization").strip())


@traffic_check
class AuthRequired(TrafficCheck):
    """``auth_required``: a secured operation never answers 2xx to a request without its credentials."""

    def judge(self, seen: Seen) -> Decided:
        """Secured operations only."""
        operation = seen.operation
        if not operation.secured:
            return {}
        sent = any(_credentials(seen.contract, scheme)(seen.exchange) for scheme in operation.schemes)
        if sent or not seen.exchange.succeeded:
            return {"auth_required": []}
        schemes = ", ".join(operation.schemes)
        message = (
            f"expected: 401, {operation.operation_id} needs credentials ({schemes}) and none were sent\n"
            f"got: {seen.status}"
        )
        return {"auth_required": [Finding("auth_required", "request", "/headers/authorization", message)]}


@traffic_check
class ErrorBody(TrafficCheck):
    """``error_body``: every error answer is JSON in one of the contract's error schemas."""

    def judge(self, seen: Seen) -> Decided:
        """4xx and 5xx answers, documented or not."""
        if seen.status < 400:
            return {}
        extension = seen.contract.openapi.get("x-villa") or {}
        names = extension.get("errorSchemas", ["Error"]) if isinstance(extension, dict) else ["Error"]
        known = (seen.contract.openapi.get("components") or {}).get("schemas") or {}
        names = [str(name) for name in names if name in known]
        if not names:
            return {}
        body, shapes = seen.response, " or ".join(names)
        if body.unreadable:
            return {}  # the judge says the answer was not read
        if body.kind != "json":
            got = f"{body.kind} body" + (f" ({body.media})" if body.media else "")
            message = f"expected: a JSON error body ({shapes})\ngot: {got}"
            return {"error_body": [Finding("error_body", "response", "", message)]}
        problems = [seen.validator.document(name, body.value) for name in names]
        if any(not found for found in problems):
            return {"error_body": []}
        first = problems[0][0]
        message = f"expected: an error body in the shape of {shapes}\ngot: {first.pointer or '/'}: {first.message}"
        return {"error_body": [Finding("error_body", "response", first.pointer, message)]}


@traffic_check
class CardMasked(TrafficCheck):
    """``card_masked``: an answer never shows a card number or a CVV, in its body or its headers."""

    def judge(self, seen: Seen) -> Decided:
        """Every answer."""
        exchange, body = seen.exchange, seen.response
        found = exchange.card_data
        if found is None:
            text = None if body.parsed else exchange.response_body.decode("utf-8", "replace")
            found = card_pointers(body.value if body.parsed else None, exchange.response_headers, text=text)
        findings = [
            Finding(
                "card_masked",
                "response",
                pointer,
                "expected: card numbers masked (514950xxxxxx9007) and no CVV\ngot: card data in the answer",
                severity="critical",
            )
            for pointer in found
        ]
        return {"card_masked": findings}
