"""Pre-payment validation: the order against the contract's schema, then the backend's two pricing APIs.

``validate(order, expected_grand_total)`` (1) checks the document against the contract's ``Order``
schema, (2) prices it with ``calculateGrandtotal``, (3) prices it with ``getCost`` and checks both
agree, and (4) compares the backend's grand total with the expected one to the satang. Problems are
collected in the result; only a missing or expired login (401) and backend failures (5xx) raise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from villa_contracts.client._orders import Order, as_payload
from villa_contracts.client._pricing_requests import default_delivery, get_cost_request, grand_total_request, thb
from villa_contracts.client._transport import Transport
from villa_contracts.contract import ContractValidator
from villa_contracts.errors import ApiError, UsageError

_PRICE_KEYS = ("subTotal", "deliveryFee", "cartDiscount", "couponDiscount", "grandTotal")


@dataclass(frozen=True, slots=True)
class PrePaymentResult:
    """The verdict of a pre-payment check.

    Attributes:
        valid: whether the order may be paid as it is.
        errors: what is wrong, one sentence each (schema violations as ``<pointer>: <message>``).
        calculated_grand_total: the backend's grand total (THB), when it could price the order.
        breakdown: the backend's figures (``subTotal``, ``deliveryFee``, ``cartDiscount``,
            ``couponDiscount``, ``grandTotal``, and ``getCost`` with the second API's figures).

    """

    valid: bool
    errors: list[str] = field(default_factory=list)
    calculated_grand_total: float | None = None
    breakdown: dict[str, Any] = field(default_factory=dict)


class OrderSchemaValidator:
    """Local check of order documents against the contract's ``Order`` schema (``client.schema_validator``).

    Args:
        validator: the contract's compiled validators.

    """

    def __init__(self, validator: ContractValidator) -> None:
        self._validator = validator

    def violations(self, payload: Mapping[str, Any]) -> list[str]:
        """Every violation of the order schema, as ``<pointer>: <message>`` (``(root)`` for the document).

        Args:
            payload: an order document.

        Returns:
            The violations; empty when the document is valid.

        """
        found = self._validator.document("Order", dict(payload))
        return [f"{v.pointer or '(root)'}: {v.message}" for v in found]

    def validate_order(self, payload: Mapping[str, Any]) -> None:
        """Raise unless the document satisfies the contract's order schema.

        Args:
            payload: an order document.

        Raises:
            UsageError: listing every violation.

        """
        found = self.violations(payload)
        if found:
            raise UsageError(f"the order breaks the contract's Order schema: {'; '.join(found)}")


def describe_api_error(exc: ApiError) -> str:
    """One sentence for an API error: the operation, the status, the error and each detail's pointer.

    Args:
        exc: the error.

    Returns:
        The sentence.

    """
    body = exc.body if isinstance(exc.body, dict) else {"error": exc.body}
    text = f"{exc.operation} answered HTTP {exc.status_code}: {body.get('error')}"
    details = [d for d in body.get("details") or [] if isinstance(d, dict)]
    if details:
        text += " (" + "; ".join(f"{d.get('pointer') or '(root)'}: {d.get('message')}" for d in details) + ")"
    return text


def _disagreement(grand: dict[str, Any], cost: dict[str, Any], key: str) -> list[str]:
    try:
        ours, theirs = thb(grand[key]), thb(cost[key])
    except (KeyError, UsageError):
        return [f"the pricing APIs cannot be compared: {key} is missing or not THB to the satang"]
    if ours == theirs:
        return []
    return [f"the pricing APIs disagree: calculateGrandtotal {key} {ours:.2f} THB, getCost {key} {theirs:.2f} THB"]


class PrePaymentValidator:
    """``client.pre_payment``: schema and remote pricing checks before charging a card.

    Args:
        transport: calls the backend with the caller's ID token.
        schema: the local order schema check.

    """

    def __init__(self, transport: Transport, schema: OrderSchemaValidator) -> None:
        self._transport = transport
        self._schema = schema

    def _price(self, operation_id: str, body: dict[str, Any], errors: list[str]) -> dict[str, Any] | None:
        try:
            answer = self._transport.call(operation_id, body)
        except ApiError as exc:
            if exc.status_code == 401 or exc.status_code >= 500:
                raise
            errors.append(describe_api_error(exc))
            return None
        if not isinstance(answer, dict) or "grandTotal" not in answer:
            errors.append(f"{operation_id} answered without a grandTotal")
            return None
        try:
            thb(answer["grandTotal"])
        except UsageError:
            errors.append(f"{operation_id} answered grandTotal={answer['grandTotal']!r}, not THB to the satang")
            return None
        return answer

    def validate(
        self, order: Order | Mapping[str, Any], expected_grand_total: float | int | Decimal | str
    ) -> PrePaymentResult:
        """Check an order before payment: schema, both pricing APIs, and the expected grand total.

        Args:
            order: the order (or its document).
            expected_grand_total: what the customer is about to pay, THB.

        Returns:
            The verdict; ``valid`` only when every check held.

        Raises:
            UsageError: ``expected_grand_total`` is not an amount to the satang.
            ApiError: the backend answered 401 (log in again) or 5xx.

        """
        expected = thb(expected_grand_total)
        doc = as_payload(order)
        errors = self._schema.violations(doc)
        if not errors and not doc.get("branchId"):
            errors.append("/branchId: the order has no branch; the pricing APIs need one")
        if not errors and not doc.get("productList"):
            errors.append("/productList: the order has no product")
        if errors:
            return PrePaymentResult(False, errors)
        grand = self._price("calculateGrandtotal", grand_total_request(doc), errors)
        cost_body = get_cost_request(doc)
        cost = self._price("getCost", cost_body, errors)
        breakdown: dict[str, Any] = {key: grand[key] for key in _PRICE_KEYS if key in grand} if grand else {}
        calculated = thb(grand["grandTotal"]) if grand else None
        if cost is not None:
            same_delivery = "shipping" in cost_body or default_delivery(doc.get("shipping"))
            compared = "grandTotal" if same_delivery else "subTotal"
            breakdown["getCost"] = {**{k: cost[k] for k in _PRICE_KEYS if k in cost}, "compared": compared}
            if grand is not None:
                errors.extend(_disagreement(grand, cost, compared))
        if calculated is not None:
            backend = f"the backend calculates {calculated:.2f} THB"
            if calculated != expected:
                errors.append(f"expected grand total {expected:.2f} THB but {backend}")
            sent = Order(doc).grand_total
            if sent is not None and sent != calculated:
                errors.append(f"/payment/grandTotal: the order says {sent:.2f} THB but {backend}")
        return PrePaymentResult(
            valid=not errors,
            errors=errors,
            calculated_grand_total=float(calculated) if calculated is not None else None,
            breakdown=breakdown,
        )
