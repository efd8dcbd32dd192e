"""The gate's data set-up: live resources behind the contract's request examples, so every operation can succeed.

A contract's examples name ids that do not exist on the target (``orderId: "100026000001"``), so
Schemathesis' examples phase only ever sees 404s for the operations that need a resource. Before
the Schemathesis phase, ``live_examples`` creates what each example needs through the target's
own public API, as the run's first account (an order id, an order, an unused card token, an
Authorized charge, a charge waiting for 3-D Secure), one resource per example where an example
changes state, and answers the request examples with the live ids put in. It works on any target
that allows the calls (payments only where the run allows them); whatever cannot be set up keeps
the contract's example and is named in the notes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from suites.auth import headers_for
from suites.property.edges import edge_examples
from villa_contracts.domain.lineitems import LineItemsData
from villa_contracts.domain.money import to_satang
from villa_contracts.errors import ConfigError

if TYPE_CHECKING:
    from suites.context import RunContext
    from villa_contracts.contract import Contract
    from villa_contracts.target import Account

Examples = dict[str, Any]
"""A live request body per operationId."""


@dataclass
class LiveData:
    """Live request examples for a contract, and notes on what could not be set up.

    Attributes:
        examples: live request bodies by operationId.
        parameters: live path parameter values by path template and parameter name.
        notes: what could not be set up, and why.
        fresh: by operationId, makes another live body where one can serve only once (a new order id to
            create): each edge example (``suites.property.edges``) gets its own.
        variants: by operationId, more live bodies by name, each reaching a rule the main example does not
            (a declined card's charge to verify): what the business checks judge even in a short run.
        operation_parameters: by operationId, live path parameter values of that operation alone (two
            operations of one path that must not meet: a cart line to change, another to remove).
    """

    examples: Examples = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fresh: dict[str, Callable[[], Any]] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    operation_parameters: dict[str, dict[str, Any]] = field(default_factory=dict)


class SetupFailed(Exception):
    """A set-up call did not answer as the contract says it should."""


class _Api:
    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.account = context.target.accounts[0]
        # The set-up pays where the target's environment pays (a mock answers on both prefixes).
        self.prefix = context.target.payment_prefix

    def call(self, path: str, body: Any) -> dict[str, Any]:
        url = f"{self.context.base_url}{path}"
        try:
            response = self.context.http.set_up("POST", url, json=body, headers=self.account.headers)
        except httpx.HTTPError as exc:
            raise SetupFailed(f"POST {path}: {type(exc).__name__}") from None
        if response.status_code != 200:
            raise SetupFailed(f"POST {path} answered {response.status_code}: {response.text[:200]}")
        answer = response.json()
        if not isinstance(answer, dict):
            raise SetupFailed(f"POST {path} answered {answer!r}")
        return answer

    def order_id(self, branch: str) -> str:
        return str(self.call("/api/order2/gentele", {"branchId": branch})["orderId"])

    def order(self, branch: str, example: dict[str, Any]) -> dict[str, Any]:
        body = {**example, "orderId": self.order_id(branch), "ownerId": self.account.sub, "basketId": self.account.sub}
        return self.call("/api/order/create", body)

    def token(self, order: dict[str, Any], card: str) -> str:
        body = {
            "orderId": order["orderId"],
            "basketId": self.account.sub,
            "grandTotal": order["payment"]["grandTotal"],
            "card": {"number": card, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"},
        }
        return str(self.call(f"{self.prefix}/cardtoken", body)["cardToken"])

    def paid(self, branch: str, example: dict[str, Any], card: str) -> dict[str, Any]:
        """A new order, charged with ``card`` and verified: the order as verify answers it (paid)."""
        order = self.order(branch, example)
        verified = self.call(
            f"{self.prefix}/verify", {"orderId": order["orderId"], "chargeId": self.charge(order, card)}
        )
        if not isinstance(verified.get("order"), dict) or not verified.get("paid"):
            raise SetupFailed(f"verify of an Authorized charge answered paid={verified.get('paid')!r}")
        return dict(verified["order"])

    def charge(self, order: dict[str, Any], card: str) -> str:
        body = {
            "orderId": order["orderId"],
            "basketId": self.account.sub,
            "grandTotal": order["payment"]["grandTotal"],
            "token": self.token(order, card),
        }
        return str(self.call(f"{self.prefix}/charge", body)["chargeId"])


def setup_villa(context: RunContext, contract: Contract, live: LiveData) -> None:
    """The Villa API's live data: orders, card tokens, charges (Authorized, declined, for 3-D Secure), a paid order."""
    api = _Api(context)
    sub = api.account.sub
    branch = min(context.data.branches)
    create_example = _request_example(contract, "createOrder")

    def put(operation_id: str, make: Callable[[], dict[str, Any]]) -> None:
        try:
            live.examples[operation_id] = make()
        except _FAILED as exc:
            live.notes.append(f"{operation_id}: the contract's example is sent as it is ({_why(exc)})")

    def new_order() -> dict[str, Any]:
        return {**create_example, "orderId": api.order_id(branch), "ownerId": sub, "basketId": sub}

    def variant(operation_id: str, name: str, make: Callable[[], dict[str, Any]]) -> None:
        try:
            live.variants.setdefault(operation_id, {})[name] = make()
        except _FAILED as exc:
            live.notes.append(f"{operation_id}: no {name} example ({_why(exc)})")

    put("createOrder", new_order)
    live.fresh["createOrder"] = new_order
    # An order in the other account's name: refused (403); ``owner_is_caller`` judges an answer that takes it.
    other = context.target.accounts[1].sub
    variant("createOrder", "another owner", lambda: {**new_order(), "ownerId": other})
    order = _try(lambda: api.order(branch, create_example))
    if order is not None:
        update = _request_example(contract, "updateOrder")
        pricing = _request_example(contract, "calculateGrandtotal")
        put("getOrder", lambda: {"orderId": order["orderId"]})
        put("updateOrder", lambda: {**update, "orderId": order["orderId"], "ownerId": sub, "basketId": sub})
        put("calculateGrandtotal", lambda: {**pricing, "ownerId": sub, "branchId": order["branchId"]})
    if not context.target.allow_payments:
        live.notes.append("payments are not allowed on this target: no payment resources were set up")
        return
    approve, three_ds = context.data.default_card, context.data.card_with_outcome("three_ds").number
    _card_payments(context, contract, api, branch, (put, variant))
    paid = _try(lambda: api.paid(branch, create_example, approve))
    if paid is not None:
        # An order the set-up paid, read again: ``paid_stays_paid`` knows it paid (``paid_orders``).
        paid_orders(context)[str(paid["orderId"])] = paid
        variant("getOrder", "a paid order", lambda: {"orderId": paid["orderId"]})
    if "threeDSecureSubmit" in contract.operations and context.target.is_mock:
        # The 3-D Secure page is the mock bank's (only a mock has it); its charge id is a path parameter.
        try:
            charge = api.charge(api.order(branch, create_example), three_ds)
            live.parameters[contract.operations["threeDSecureSubmit"].path] = {"chargeId": charge}
        except _FAILED as exc:
            live.notes.append(f"threeDSecureSubmit: the contract's example is sent as it is ({_why(exc)})")


# A target may answer a set-up call with something the contract does not allow (that is what the
# gate is about to find out): the set-up then keeps the contract's example instead of crashing.
_FAILED = (SetupFailed, LookupError, TypeError, ValueError, AttributeError)


Put = Callable[[str, Callable[[], dict[str, Any]]], None]
Variant = Callable[[str, str, Callable[[], dict[str, Any]]], None]


def _card_payments(
    context: RunContext, contract: Contract, api: _Api, branch: str, adders: tuple[Put, Variant]
) -> None:
    """The card token, charge and verify examples of each payment path the run may call (a declined one too)."""
    put, variant = adders
    sub, create_example = api.account.sub, _request_example(contract, "createOrder")
    approve, declined = context.data.default_card, context.data.card_with_outcome("decline").number
    for suffix in ("", "Dev"):
        operation = contract.operations.get(f"createCardToken{suffix}")
        if operation is None or not context.may_call(operation):
            continue

        def token_example(suffix: str = suffix) -> dict[str, Any]:
            unpaid = api.order(branch, create_example)
            example = _request_example(contract, f"createCardToken{suffix}")
            return {**example, "orderId": unpaid["orderId"], "basketId": sub, "userId": sub,
                    "grandTotal": unpaid["payment"]["grandTotal"]}  # fmt: skip

        def charge_example(suffix: str = suffix) -> dict[str, Any]:
            unpaid = api.order(branch, create_example)
            return {
                "orderId": unpaid["orderId"],
                "basketId": sub,
                "grandTotal": unpaid["payment"]["grandTotal"],
                "token": api.token(unpaid, approve),
            }

        def verify_example(card: str = approve) -> dict[str, Any]:
            unpaid = api.order(branch, create_example)
            return {"orderId": unpaid["orderId"], "chargeId": api.charge(unpaid, card)}

        put(f"createCardToken{suffix}", token_example)
        put(f"createCharge{suffix}", charge_example)
        put(f"verifyPayment{suffix}", verify_example)
        # A declined charge to verify: ``declined_never_paid`` judges it.
        variant(f"verifyPayment{suffix}", "declined card", lambda: verify_example(declined))


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, SetupFailed) else f"an answer without {type(exc).__name__}: {exc}"


def _try(make: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    try:
        return make()
    except _FAILED:
        return None


def _request_example(contract: Contract, operation_id: str) -> dict[str, Any]:
    body = (contract.operations[operation_id].spec.get("requestBody") or {}).get("content", {})
    example = (body.get("application/json") or {}).get("example")
    return copy.deepcopy(example) if isinstance(example, dict) else {}


class _ShopApi:
    """The shop API as one of the run's accounts (its token key, and the gateway key where known)."""

    def __init__(self, context: RunContext, contract: Contract, index: int = 0) -> None:
        self.context = context
        self.headers = headers_for(context, contract, index)

    def ready(self, contract: Contract, account: Account, products: tuple[int, ...]) -> dict[str, Any]:
        """A complete profile, an address and ``products`` in the cart: the body of a checkout of it."""
        profile = _request_example(contract, "updateProfile")
        self.call("PUT", "/api/shop/profile", {**profile, "email": account.username})
        address = self.call("POST", "/api/shop/addresses", _request_example(contract, "addAddress"), 201)["id"]
        for product in products:
            self.call("POST", "/api/shop/cart/items", {"product_id": product, "quantity": 1})
        return {**_request_example(contract, "checkoutCart"), "address": address}

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        try:
            response = self.context.http.set_up(
                method, f"{self.context.base_url}{path}", json=body, headers=self.headers
            )
        except httpx.HTTPError as exc:
            raise SetupFailed(f"{method} {path}: {type(exc).__name__}") from None
        if response.status_code != expect:
            raise SetupFailed(f"{method} {path} answered {response.status_code}: {response.text[:200]}")
        return response.json() if "json" in response.headers.get("content-type", "") else response.text

    def checkout(self, body: dict[str, Any]) -> tuple[str, str]:
        """A redirect checkout of the cart: (order key, external id of its attempt)."""
        step = str(self.call("POST", "/api/shop/checkout/cart", body)["next_step"])
        newest = self.call("GET", "/api/shop/orders?page=1&page_size=1")["results"][0]
        return str(newest["order_key"]), step.rstrip("/").rsplit("/", 1)[-1]


SHOP_PRODUCT, SHOP_SPARE_PRODUCT, SHOP_REMOVED_PRODUCT = 25281, 188468, 164687
"""What the shop set-up puts in the cart: one to check out, one changeCartItem changes, one removeCartItem removes."""


def setup_shop(context: RunContext, contract: Contract, live: LiveData) -> None:
    """The shop's live data: a profile, addresses, a cart, orders to pay, reports to the callback."""
    account = context.target.accounts[0]
    live.examples["obtainToken"] = {"username": account.username, "password": account.password}
    try:
        api = _ShopApi(context, contract)
        if context.may_call(contract.operations["paymentCallback"]):
            # A paid order of the first account (its list then holds a PROCESSING order with its snapshot),
            # paid before its cart is filled for the cart operations' examples (a payment deletes the cart).
            order, attempt = api.checkout(api.ready(contract, account, (SHOP_PRODUCT,)))
            total = to_satang(api.call("GET", f"/api/shop/orders/{order}")["total"])
            paid = {"external_id": attempt, "status": "PAID", "total_amount": total, "currency": "THB"}
            api.call("POST", "/api/shop/payments/callback", paid)
        checkout = api.ready(contract, account, (SHOP_PRODUCT, SHOP_SPARE_PRODUCT, SHOP_REMOVED_PRODUCT))
        live.examples["checkoutCart"] = checkout
        # One line to change, another to remove: whichever runs first leaves the other its line.
        live.operation_parameters["changeCartItem"] = {"product_id": SHOP_SPARE_PRODUCT}
        live.operation_parameters["removeCartItem"] = {"product_id": SHOP_REMOVED_PRODUCT}
        held, _ = api.checkout(checkout)
        for operation_id in ("getOrder", "getOrderToPay", "listPaymentAttempts", "createPaymentAttempt"):
            live.parameters[contract.operations[operation_id].path] = {"order_key": held}
    except (*_FAILED, ConfigError) as exc:
        live.notes.append(f"shop: the contract's examples are sent as they are ({_why(exc)})")
        return
    # What a payment pays for is the second account's: a paid order deletes its customer's cart, and the first
    # account's cart must stay for the cart operations' examples.
    try:
        payer = _ShopApi(context, contract, 1)
        paying = payer.ready(contract, context.target.accounts[1], (SHOP_PRODUCT,))
    except (*_FAILED, ConfigError) as exc:
        live.notes.append(f"shop payments: the contract's examples are sent as they are ({_why(exc)})")
        return
    if context.may_call(contract.operations["paymentCallback"]):

        def report(status: str, off_by: int = 0) -> dict[str, Any]:
            # A report on a new attempt of a new order: each is the first report of its attempt.
            order, attempt = payer.checkout(paying)
            total = to_satang(payer.call("GET", f"/api/shop/orders/{order}")["total"]) + off_by
            return {"external_id": attempt, "status": status, "total_amount": total, "currency": "THB"}

        try:
            paying_report = report("PAID")
            live.examples["paymentCallback"] = paying_report
            # Reports a correct backend refuses or does not pay on (shop_callback_outcome judges the answers), and
            # the same report again, which pays nothing more (shop_one_payment).
            live.variants["paymentCallback"] = {
                "declined": report("DECLINED"), "wrong amount": report("PAID", 100), "again": dict(paying_report),
            }  # fmt: skip
        except _FAILED as exc:
            live.notes.append(f"paymentCallback: the contract's example is sent as it is ({_why(exc)})")
    if context.may_call(contract.operations["gatewayPage"]):
        try:
            _, attempt = payer.checkout(paying)
            live.parameters[contract.operations["gatewayPage"].path] = {"external_id": attempt}
        except _FAILED as exc:
            live.notes.append(f"gatewayPage: the contract's example is sent as it is ({_why(exc)})")


def setup_lineitems(context: RunContext, contract: Contract, live: LiveData) -> None:
    """Orders of the first account in every state a filter names, and a fresh PayPal reference id to pay one.

    A paid reference id pays once: the payment example gets a new order and a reference id of its total
    that the mock's PayPal sandbox knows (``contracts/data/lineitems.yaml`` pattern; a real backend's
    sandbox would refuse it, and the note says so).
    """
    api = _ShopApi(context, contract)
    create = _request_example(contract, "createLineItemOrder")
    seed = context.target.seed

    def reference(cents: int, order: Mapping[str, Any], kind: str) -> dict[str, str]:
        # New on this target (the order id is the target's, unique there) and the same for one seed on a
        # fresh mock; letters part the numbers, so no digit run reads as a card number.
        return {"reference_id": f"PAYID-{cents}-s{seed}o{order['id']}{kind}"}

    used = paid_references(context)
    try:
        partly = api.call("POST", "/api/v1/orders.json", create, 201)
        part = reference(1, partly, "p")
        api.call("POST", f"/api/orders/{partly['id']}/payments", part, 201)
        paid = api.call("POST", "/api/v1/orders.json", create, 201)
        full = reference(paid["total_cents"], paid, "f")
        api.call("POST", f"/api/orders/{paid['id']}/payments", full, 201)
        used.update((part["reference_id"], full["reference_id"]))
        unpaid = api.call("POST", "/api/v1/orders.json", create, 201)
        live.examples["payLineItemOrder"] = reference(unpaid["total_cents"], unpaid, "e")
        # A reference id that paid already, on the unpaid order: refused (409); li_reference_once judges it.
        live.variants["payLineItemOrder"] = {"used reference id": full}
        live.parameters[contract.operations["payLineItemOrder"].path] = {"id": unpaid["id"]}
    except (*_FAILED, ConfigError) as exc:
        live.notes.append(f"lineitems: the contract's examples are sent as they are ({_why(exc)})")
    # More of a variant than it has at all: refused with the seed's 409; li_short_stock_refused judges it.
    data = LineItemsData.from_contract(context.contracts)
    scarce = min(data.variants, key=lambda variant_id: data.variants[variant_id].stock)
    short = [{"variant_id": scarce, "quantity": data.variants[scarce].stock + 1}]
    live.variants["createLineItemOrder"] = {"short stock": {**create, "line_items": short}}


PAID_ORDERS = ("villa", "paid orders")
"""``RunContext.cached`` key of the Villa orders the run's set-up paid."""


def paid_orders(context: RunContext) -> dict[str, dict[str, Any]]:
    """The Villa orders the set-up paid, by orderId, as verify answered them (``paid_stays_paid`` starts from them)."""
    found: dict[str, dict[str, Any]] = context.cached(PAID_ORDERS, dict)
    return found


PAID_REFERENCES = ("lineitems", "paid reference ids")
"""``RunContext.cached`` key of the PayPal reference ids the run saw pay."""


def paid_references(context: RunContext) -> set[str]:
    """The reference ids the run saw pay: its set-up's, then every payment answered 2xx (``li_reference_once``)."""
    found: set[str] = context.cached(PAID_REFERENCES, set)
    return found


def live_examples(context: RunContext, contract: Contract) -> LiveData:
    """Set up live resources for ``contract``'s request examples on the context's target.

    Returns:
        The live request bodies by operationId, and notes on what could not be set up.
    """
    from suites.apis import suite_of

    live = LiveData()
    suite = suite_of(contract.name)
    if suite is not None and suite.setup is not None:
        suite.setup(context, contract, live)
    return live


def _named_examples(media: dict[str, Any]) -> dict[str, Any]:
    if "example" in media:
        return {"example": media["example"]}
    examples = media.get("examples") or {}
    return {name: spec["value"] for name, spec in examples.items() if isinstance(spec, dict) and "value" in spec}


def _resolve(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _try_fresh(fresh: Callable[[], Any], pointer: str, body: Any) -> Any:
    """``body`` on a fresh live resource (its field at ``pointer`` kept); ``body`` as it is when none can be made."""
    try:
        made = fresh()
    except _FAILED:
        return body
    return {**made, **{key: value for key, value in body.items() if key not in made or pointer.startswith(f"/{key}")}}


def _resolved(document: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    """A parameter, or the ``#/components/parameters/…`` one it refers to (changed in place: shared)."""
    ref = parameter.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
        found = document.get("components", {}).get("parameters", {}).get(ref.rsplit("/", 1)[-1])
        return found if isinstance(found, dict) else parameter
    return parameter


def with_examples(document: dict[str, Any], contract: Contract, live: LiveData) -> dict[str, Any]:
    """``document`` (a copy of the contract's bundled document) with the live request examples put in.

    Every operation with a JSON body also gets its edge examples (``suites.property.edges``): its live
    (or the contract's) example with long text in one free-text field each.
    """
    for operation_id, operation in contract.operations.items():
        media = ((operation.spec.get("requestBody") or {}).get("content") or {}).get("application/json")
        if not isinstance(media, dict):
            continue
        media = document["paths"][operation.path][operation.method.lower()]["requestBody"]["content"][
            "application/json"
        ]
        named = _named_examples(media)
        if operation_id in live.examples:
            named = {"live": live.examples[operation_id]}
        named.update(live.variants.get(operation_id, {}))
        base = next(iter(named.values()), None)
        if not isinstance(base, dict):
            continue
        edges = edge_examples(media.get("schema"), base, lambda ref: _resolve(document, ref))
        fresh = live.fresh.get(operation_id)
        extra: dict[str, Any] = {}
        for edge in edges:
            body = edge.body
            if fresh is not None:
                body = _try_fresh(fresh, edge.pointer, body)
            extra[f"edge {edge.pointer} ({edge.length} characters)"] = body
        # Hypothesis runs explicit examples last-listed first: the live ones run before the edges (they may
        # use up what only serves once, such as a cart to check out).
        media.pop("example", None)
        media["examples"] = {name: {"value": value} for name, value in {**extra, **named}.items()}
    for path, values in live.parameters.items():
        item = document["paths"][path]
        specs = [item, *(item[m] for m in ("get", "post", "put", "patch", "delete") if m in item)]
        for spec in specs:
            for parameter in spec.get("parameters") or []:
                parameter = _resolved(document, parameter)
                if parameter.get("name") in values:
                    parameter.pop("examples", None)
                    parameter["example"] = values[parameter["name"]]
    for operation_id, values in live.operation_parameters.items():
        operation = contract.operations[operation_id]
        item = document["paths"][operation.path]
        spec = item[operation.method.lower()]
        inherited = [_resolved(document, p) for p in [*(item.get("parameters") or []), *(spec.get("parameters") or [])]]
        own = [p for p in inherited if p.get("name") not in values]
        for parameter in inherited:
            if parameter.get("name") in values:  # a copy of its own: the path's other operations keep theirs
                own.append(
                    {**{k: v for k, v in parameter.items() if k != "examples"}, "example": values[parameter["name"]]}
                )
        spec["parameters"] = own
    return document
