"""``OrderBuilder``: the SDK's fluent way to write an order document.

It writes the contract's ``Order`` (``contracts/schemas/order.yaml``) and nothing else: the keys it
sets are the document's, and ``build()`` refuses an order the backend could not take (no id, no
owner, no branch, no product). Prices given to ``add_product`` are sent as given, but the backend
ignores them and prices from its catalog.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from villa_contracts.client._orders import Order
from villa_contracts.errors import UsageError

Number = int | float | Decimal


def _json_number(value: Number, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise UsageError(f"{name}={value!r} is not a number")
    return float(value) if isinstance(value, Decimal) else value


class OrderBuilder:
    """Builds an order document step by step; every ``with_*``/``add_*``/``as_*`` returns the builder.

    Args:
        order_id: the generated order id.
        owner_id: the owner's Cognito ``sub``.
        basket_id: the basket (on real orders equal to ``owner_id``, the default).

    Example:
        >>> order = (
        ...     OrderBuilder()
        ...     .with_ids(order_id="100026000001", owner_id="sub-1", basket_id="sub-1")
        ...     .with_branch("1000")
        ...     .add_product(cprcode=25281, quantity=1)
        ...     .build()
        ... )
        >>> order.raw["productList"]
        [{'cprcode': 25281, 'quantity': 1}]

    """

    def __init__(self, order_id: str | None = None, owner_id: str | None = None, basket_id: str | None = None) -> None:
        self._order_id = order_id
        self._owner_id = owner_id
        self._basket_id = basket_id
        self._branch_id: str | None = None
        self._products: list[dict[str, Any]] = []
        self._shipping: dict[str, Any] | None = None
        self._grand_total: float | None = None
        self._coupons: list[str] = []
        self._extra: dict[str, Any] = {}

    def with_ids(self, order_id: str, owner_id: str, basket_id: str) -> OrderBuilder:
        """Set the order, owner and basket ids.

        Args:
            order_id: the generated order id.
            owner_id: the owner's Cognito ``sub``.
            basket_id: the basket id.

        Returns:
            The builder.

        """
        self._order_id, self._owner_id, self._basket_id = order_id, owner_id, basket_id
        return self

    def with_branch(self, branch_id: str) -> OrderBuilder:
        """Set the branch the order is for.

        Args:
            branch_id: a 4-digit branch id such as ``"1000"``.

        Returns:
            The builder.

        """
        self._branch_id = str(branch_id)
        return self

    def add_product(
        self, cprcode: int, quantity: int, price: Number | None = None, row_total: Number | None = None
    ) -> OrderBuilder:
        """Add a product line.

        Args:
            cprcode: the Villa product code.
            quantity: units, at least 1.
            price: a unit price to send (ignored by the backend).
            row_total: a row total to send (ignored by the backend).

        Returns:
            The builder.

        Raises:
            UsageError: ``cprcode`` is not an integer or ``quantity`` not a positive integer.

        """
        if isinstance(cprcode, bool) or not isinstance(cprcode, int):
            raise UsageError(f"cprcode={cprcode!r} must be an integer product code")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise UsageError(f"quantity={quantity!r} must be an integer of at least 1")
        line: dict[str, Any] = {"cprcode": cprcode, "quantity": quantity}
        if price is not None:
            line["price"] = _json_number(price, "price")
        if row_total is not None:
            line["rowTotal"] = _json_number(row_total, "row_total")
        self._products.append(line)
        return self

    def with_delivery_shipping(
        self, shipping_postcode: str, shipping_phone: str, shipping_address: str, schedule_mode: str = "REGULAR"
    ) -> OrderBuilder:
        """Deliver the order (shippingType DELIVERY) with one schedule of the given mode.

        Args:
            shipping_postcode: the postcode.
            shipping_phone: the phone number.
            shipping_address: the address.
            schedule_mode: ``REGULAR``, ``EXPRESS`` or ``NATIONWIDE``.

        Returns:
            The builder.

        """
        self._shipping = {
            "shippingType": "DELIVERY",
            "shippingAddress": shipping_address,
            "shippingPostcode": shipping_postcode,
            "shippingPhone": shipping_phone,
            "scheduleList": [{"scheduleId": 1, "mode": schedule_mode}],
        }
        return self

    def with_pickup(
        self, shipping_phone: str = "", shipping_address: str = "", shipping_postcode: str = ""
    ) -> OrderBuilder:
        """Collect the order at the branch (shippingType PICKUP, no delivery fee).

        Contact details already given with ``with_delivery_shipping`` are kept when not given here.

        Args:
            shipping_phone: a phone number to reach the customer.
            shipping_address: an address, if any.
            shipping_postcode: a postcode, if any.

        Returns:
            The builder.

        """
        previous = self._shipping or {}
        self._shipping = {
            "shippingType": "PICKUP",
            "shippingAddress": shipping_address or previous.get("shippingAddress", ""),
            "shippingPostcode": shipping_postcode or previous.get("shippingPostcode", ""),
            "shippingPhone": shipping_phone or previous.get("shippingPhone", ""),
            "scheduleList": [],
        }
        return self

    def with_payment_totals(self, grand_total: Number) -> OrderBuilder:
        """Record the grand total the client expects (sent as ``payment.grandTotal``; the backend sets its own).

        Args:
            grand_total: THB.

        Returns:
            The builder.

        """
        self._grand_total = float(_json_number(grand_total, "grand_total"))
        return self

    def with_coupons(self, *codes: str) -> OrderBuilder:
        """Add coupon codes (``couponCodeList``).

        Args:
            *codes: coupon codes such as ``"WELCOME20"``.

        Returns:
            The builder.

        """
        self._coupons.extend(str(code) for code in codes)
        return self

    def as_test_order(self) -> OrderBuilder:
        """Mark the order as a test order (orderSource WEB, specialComment "TEST ORDER").

        Returns:
            The builder.

        """
        self._extra.update(orderSource="WEB", specialComment="TEST ORDER")
        return self

    def build(self) -> Order:
        """Build the order document.

        Returns:
            The order.

        Raises:
            UsageError: naming everything missing (order id, owner id, branch, product).

        """
        missing = [
            name
            for name, ok in (
                ("order id", self._order_id),
                ("owner id", self._owner_id),
                ("branch (with_branch)", self._branch_id),
                ("at least one product (add_product)", self._products),
            )
            if not ok
        ]
        if missing:
            raise UsageError(f"cannot build the order: missing {', '.join(missing)}")
        doc: dict[str, Any] = {
            "orderId": self._order_id,
            "ownerId": self._owner_id,
            "basketId": self._basket_id or self._owner_id,
            "branchId": self._branch_id,
            "productList": copy.deepcopy(self._products),
            **self._extra,
        }
        if self._shipping is not None:
            doc["shipping"] = copy.deepcopy(self._shipping)
        if self._coupons:
            doc["couponCodeList"] = list(self._coupons)
        if self._grand_total is not None:
            doc["payment"] = {"grandTotal": self._grand_total}
        return Order(doc)
