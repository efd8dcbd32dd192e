"""Business-rule checks that schemas cannot express, as Schemathesis checks.

They judge every response the Schemathesis engine gets (and are usable with the ``schemathesis``
CLI through ``SCHEMATHESIS_HOOKS=suites.property.checks``). What they need to know about the run
(the two accounts, whether the target's catalog is the contract's) is set with ``configure()``.

- ``grand_total``: grandTotal = subTotal + deliveryFee − discounts; subTotal = Σ rowTotal; rowTotal = price × quantity.
- ``owner_is_caller``: an order answered to a caller has ``ownerId`` = the caller's ``sub``.
- ``foreign_order_hidden``: an order one account can read is 404 for the other account.
- ``unique_order_ids``: generated order ids never repeat.
- ``paid_stays_paid``: once seen paid, an order is always answered paid and unchanged.
- ``declined_never_paid``: only an Authorized charge settles an order.
- ``catalog_prices``: amounts never drift from the catalog (only when the target uses the contract's data).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from schemathesis import Case, CheckContext, Response

from villa_contracts.contract import load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.money import fmt, to_satang
from villa_contracts.target import Target

ORDER_OPS = {"createOrder", "getOrder", "updateOrder"}
VERIFY_OPS = {"verifyPayment", "verifyPaymentDev"}


@dataclass(slots=True)
class _RunState:
    target: Target | None = None
    data: BusinessData | None = None
    seen_ids: set[str] = field(default_factory=set)
    paid: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


STATE = _RunState()


def configure(target: Target) -> None:
    """Point the checks at a run's target (and forget what an earlier run saw)."""
    STATE.target = target
    STATE.data = BusinessData.from_contract(load()) if target.is_mock else None
    STATE.seen_ids.clear()
    STATE.paid.clear()


def operation_id(case: Case[Any]) -> str:
    """The operationId of a case's operation."""
    return str(case.operation.definition.raw.get("operationId", case.operation.label))


def _json(response: Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def caller_sub(response: Response) -> str | None:
    """The ``sub`` of the ID token the request carried (payload decoded, not verified)."""
    header = response.request.headers.get("Authorization") or ""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    token = header.split(" ", 1)[-1]
    try:
        payload = token.split(".")[1]
        return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["sub"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def _orders_in(op: str, body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        return []
    if op in ORDER_OPS:
        return [body]
    if op in VERIFY_OPS and isinstance(body.get("order"), dict):
        return [body["order"]]
    return []


def _satang(value: Any, where: str) -> int:
    try:
        return to_satang(value)
    except ValueError:
        raise AssertionError(f"{where}={value!r} is not an amount in THB") from None


def _check_lines(lines: Any, price_key: str = "rowTotal") -> int:
    total = 0
    for index, line in enumerate(lines or []):
        price, qty = _satang(line.get("price", 0), f"productList/{index}/price"), int(line.get("quantity", 0))
        row = _satang(line.get(price_key, line.get("settlementPrice", 0)), f"productList/{index}/{price_key}")
        if row != price * qty:
            raise AssertionError(f"productList/{index}: {price_key} {fmt(row)} ≠ price {fmt(price)} × quantity {qty}")
        total += row
    return total


@schemathesis.check
def grand_total(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Totals add up exactly, to the satang."""
    if response.status_code != 200:
        return None
    op, body = operation_id(case), _json(response)
    if op == "calculateGrandtotal" and isinstance(body, dict):
        lines = _check_lines(body.get("productList"))
        sub, fee = _satang(body["subTotal"], "subTotal"), _satang(body["deliveryFee"], "deliveryFee")
        disc = _satang(body["cartDiscount"], "cartDiscount") + _satang(body["couponDiscount"], "couponDiscount")
        grand = _satang(body["grandTotal"], "grandTotal")
        if sub != lines:
            raise AssertionError(f"subTotal {fmt(sub)} ≠ Σ rowTotal {fmt(lines)}")
        if grand != sub + fee - disc:
            raise AssertionError(
                f"grandTotal {fmt(grand)} ≠ subTotal {fmt(sub)} + deliveryFee {fmt(fee)} − discounts {fmt(disc)}"
            )
    elif op == "getCost" and isinstance(body, dict):
        lines = _check_lines(body.get("productList"), "settlementPrice")
        sub, fee = _satang(body["subTotal"], "subTotal"), _satang(body["deliveryFee"], "deliveryFee")
        grand, disc = _satang(body["grandTotal"], "grandTotal"), _satang(body["cartDiscount"], "cartDiscount")
        if sub != lines or grand != sub + fee - disc:
            raise AssertionError(
                f"getCost: grandTotal {fmt(grand)} ≠ {fmt(sub)} + {fmt(fee)} − {fmt(disc)} (Σ lines {fmt(lines)})"
            )
    for order in _orders_in(op, body):
        payment = order.get("payment") or {}
        if "grandTotal" not in payment:
            continue
        lines = _check_lines(order.get("productList"))
        sub, grand = (
            _satang(payment.get("subTotal", 0), "payment/subTotal"),
            _satang(payment["grandTotal"], "payment/grandTotal"),
        )
        fee, disc = (
            _satang(payment.get("shippingAmount", 0), "payment/shippingAmount"),
            _satang(payment.get("discountAmount", 0), "payment/discountAmount"),
        )
        if sub != lines or grand != sub + fee - disc:
            raise AssertionError(
                f"order {order.get('orderId')}: payment.grandTotal {fmt(grand)} ≠ subTotal {fmt(sub)} "
                f"+ shipping {fmt(fee)} − discount {fmt(disc)} (Σ rowTotal {fmt(lines)})"
            )
    return None


@schemathesis.check
def owner_is_caller(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Orders answered to a caller are the caller's."""
    if response.status_code != 200:
        return None
    sub = caller_sub(response)
    for order in _orders_in(operation_id(case), _json(response)):
        if sub is not None and order.get("ownerId") != sub:
            raise AssertionError(
                f"order {order.get('orderId')} has ownerId {order.get('ownerId')!r}, the caller is {sub!r}"
            )
    return None


@schemathesis.check
def foreign_order_hidden(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """An order one account reads is 404 for the other account (exactly like a missing one)."""
    target = STATE.target
    if target is None or operation_id(case) != "getOrder" or response.status_code != 200:
        return None
    body = _json(response)
    sub = caller_sub(response)
    other = next((a for a in target.accounts if a.sub != sub), None)
    if other is None or not isinstance(body, dict):
        return None
    probe = httpx.post(
        f"{target.base_url.rstrip('/')}/api/order/get",
        json={"orderId": body.get("orderId")},
        headers=other.headers,
        timeout=30,
    )
    if probe.status_code != 404:
        raise AssertionError(
            f"order {body.get('orderId')} of {sub} answered {probe.status_code} to another account (expected 404)"
        )
    return None


@schemathesis.check
def unique_order_ids(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Generated order ids never repeat."""
    if operation_id(case) != "generateOrderId" or response.status_code != 200:
        return None
    order_id = str((_json(response) or {}).get("orderId"))
    with STATE.lock:
        if order_id in STATE.seen_ids:
            raise AssertionError(f"orderId {order_id!r} was generated twice")
        STATE.seen_ids.add(order_id)
    return None


def _frozen_view(order: dict[str, Any]) -> dict[str, Any]:
    payment = dict(order.get("payment") or {})
    return {"payment": payment, "productList": order.get("productList"), "ownerId": order.get("ownerId")}


@schemathesis.check
def paid_stays_paid(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Once seen paid, an order is answered paid and unchanged."""
    if response.status_code != 200:
        return None
    for order in _orders_in(operation_id(case), _json(response)):
        order_id = str(order.get("orderId"))
        payment = order.get("payment") or {}
        with STATE.lock:
            before = STATE.paid.get(order_id)
            if before is not None and _frozen_view(order) != before:
                raise AssertionError(
                    f"order {order_id} was paid, now answered as payment={payment!r} (was {before['payment']!r})"
                )
            if payment.get("isPaid") and before is None:
                STATE.paid[order_id] = _frozen_view(order)
    return None


@schemathesis.check
def declined_never_paid(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Only an Authorized charge settles an order."""
    if operation_id(case) not in VERIFY_OPS or response.status_code != 200:
        return None
    body = _json(response) or {}
    if body.get("transaction_state") != "Authorized" and body.get("paid"):
        raise AssertionError(f"charge {body.get('chargeId')} is {body.get('transaction_state')} but verify says paid")
    return None


@schemathesis.check
def catalog_prices(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Prices are the catalog's (only on targets that use the contract's business data)."""
    data = STATE.data
    if data is None or response.status_code != 200:
        return None
    op, body = operation_id(case), _json(response)
    if not isinstance(body, dict):
        return None
    documents = _orders_in(op, body) or ([body] if op in ("calculateGrandtotal", "getCost") else [])
    for doc in documents:
        branch = str(doc.get("branchId", ""))
        for index, line in enumerate(doc.get("productList") or []):
            product = (
                data.products.get(int(line.get("cprcode", -1))) if str(line.get("cprcode", "")).isdigit() else None
            )
            offer = product.offers.get(branch) if product else None
            if offer is None or "price" not in line:
                continue
            if _satang(line["price"], "price") != offer.price:
                raise AssertionError(
                    f"productList/{index}: {line['cprcode']} priced {line['price']} at branch {branch}, "
                    f"the catalog says {fmt(offer.price)}"
                )
    return None


@schemathesis.hook
def before_call(ctx: Any, case: Case[Any], **kwargs: Any) -> None:
    """Fill the caller's ``sub`` into the placeholders of the gentele → createOrder link."""
    target = STATE.target
    if target is None or operation_id(case) != "createOrder" or not isinstance(case.body, dict):
        return
    for key in ("ownerId", "basketId"):
        if case.body.get(key) == "":
            case.body[key] = target.accounts[0].sub


BUSINESS_CHECKS = (
    "grand_total",
    "owner_is_caller",
    "foreign_order_hidden",
    "unique_order_ids",
    "paid_stays_paid",
    "declined_never_paid",
    "catalog_prices",
)
