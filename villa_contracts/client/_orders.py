"""Orders: the ``Order`` document wrapper and the order endpoints (generate id, create, get, update).

The Villa SDK's notes list create/get/list; the backend contract has no list operation, so
``OrdersApi.list()`` only says so (``NO_LIST``) rather than call an endpoint no contract promises.

``Order`` is a thin, read-only view of the contract's order document (``contracts/villa/schemas/order.yaml``);
the document itself is the dict, sent and received as is.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NoReturn

from villa_contracts.client._transport import Transport
from villa_contracts.domain.money import to_decimal, to_satang
from villa_contracts.errors import ClientError, UsageError

NO_LIST = (
    "the Villa backend contract (contracts/villa/openapi.yaml) has no list operation: keep the ids "
    "generate_order_id()/create() return and read each order with get(order_id) (see docs/sdk.md)"
)


def _money(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return to_decimal(to_satang(value))
    except UsageError:
        return None


def _object(operation_id: str, answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise ClientError(f"{operation_id} answered {type(answer).__name__}, not a JSON object")
    return answer


@dataclass(frozen=True, slots=True)
class GeneratedOrderId:
    """A new order id issued by the backend.

    Attributes:
        order_id: the 12-digit id (branch, year, sequence).

    """

    order_id: str


@dataclass(frozen=True, slots=True)
class Order:
    """An order document (the contract's ``Order``), with accessors for the fields flows read.

    Attributes:
        raw: the document; use ``to_api_payload()`` for a copy to send or change.

    """

    raw: dict[str, Any] = field(repr=False)

    @classmethod
    def from_api(cls, document: Mapping[str, Any]) -> Order:
        """Wrap a copy of ``document``.

        Args:
            document: an order document.

        Returns:
            The order.

        """
        return cls(copy.deepcopy(dict(document)))

    @property
    def order_id(self) -> str | None:
        """``orderId``."""
        return self.raw.get("orderId")

    @property
    def owner_id(self) -> str | None:
        """``ownerId`` (the owner's Cognito ``sub``)."""
        return self.raw.get("ownerId")

    @property
    def basket_id(self) -> str | None:
        """``basketId``."""
        return self.raw.get("basketId")

    @property
    def branch_id(self) -> str | None:
        """``branchId``."""
        return self.raw.get("branchId")

    @property
    def payment(self) -> dict[str, Any]:
        """``payment`` (empty when absent)."""
        payment = self.raw.get("payment")
        return payment if isinstance(payment, dict) else {}

    @property
    def grand_total(self) -> Decimal | None:
        """``payment.grandTotal`` in THB, or None when absent."""
        return _money(self.payment.get("grandTotal"))

    @property
    def total_paid(self) -> Decimal | None:
        """``payment.totalPaid`` in THB, or None when absent."""
        return _money(self.payment.get("totalPaid"))

    @property
    def payment_status(self) -> str | None:
        """``payment.status`` (``PENDING`` until paid, then ``PAID``)."""
        status = self.payment.get("status")
        return status if isinstance(status, str) else None

    @property
    def is_paid(self) -> bool:
        """Whether ``payment.isPaid`` is true."""
        return self.payment.get("isPaid") is True

    def to_api_payload(self) -> dict[str, Any]:
        """Return a deep copy of the document, as the API takes it.

        Returns:
            The order document.

        """
        return copy.deepcopy(self.raw)


def as_payload(order: Order | Mapping[str, Any]) -> dict[str, Any]:
    """Return the document of an ``Order`` or of a plain mapping.

    Args:
        order: an ``Order`` or an order document.

    Returns:
        A deep copy of the document.

    """
    return order.to_api_payload() if isinstance(order, Order) else copy.deepcopy(dict(order))


class OrdersApi:
    """The order endpoints (``client.orders``).

    Args:
        transport: calls the backend with the caller's ID token.

    """

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def generate_order_id(self, branch_id: str) -> GeneratedOrderId:
        """Reserve a new order id for a branch (``POST /api/order2/gentele``).

        Args:
            branch_id: the branch, a 4-digit string such as ``"1000"``.

        Returns:
            The new id.

        Raises:
            ApiError: the backend refused (unknown branch 404, no login 401...).

        """
        answer = _object("generateOrderId", self._transport.call("generateOrderId", {"branchId": str(branch_id)}))
        order_id = answer.get("orderId")
        if not isinstance(order_id, str):
            raise ClientError("generateOrderId answered without a string orderId")
        return GeneratedOrderId(order_id)

    def create(self, order: Order | Mapping[str, Any]) -> Order:
        """Create an order from a generated id (``POST /api/order/create``).

        Args:
            order: the order to create.

        Returns:
            The stored order, priced by the backend.

        Raises:
            ApiError: the backend refused (invalid 400, not the owner 403, id unknown or used, stock 409...).

        """
        return Order(_object("createOrder", self._transport.call("createOrder", as_payload(order))))

    def get(self, order_id: str) -> Order:
        """Read one of the caller's orders (``POST /api/order/get``).

        Args:
            order_id: the order id.

        Returns:
            The stored order.

        Raises:
            ApiError: no such order for this caller (404), no login (401).

        """
        return Order(_object("getOrder", self._transport.call("getOrder", {"orderId": str(order_id)})))

    def update(self, order: Order | Mapping[str, Any]) -> Order:
        """Replace an unpaid order's document (``POST /api/order/update``).

        Args:
            order: the whole new document.

        Returns:
            The order as now stored.

        Raises:
            ApiError: the backend refused (paid order 409, not found 404...).

        """
        return Order(_object("updateOrder", self._transport.call("updateOrder", as_payload(order))))

    def list(self) -> NoReturn:
        """There is no such call: the contract has no list operation (the SDK's notes list one).

        Raises:
            UsageError: always, saying what to do instead (``NO_LIST``).

        """
        raise UsageError(NO_LIST)
