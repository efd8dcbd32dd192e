"""A client of the shop API (seeds 002 and 003): what a storefront calls, paths from the ``shop`` contract.

Example:
    >>> shop = ShopClient("http://127.0.0.1:8080")  # doctest: +SKIP
    >>> shop.login("test.user@villa.example", "VillaTest123!")  # doctest: +SKIP
    >>> shop.add_item(25281, 1)  # doctest: +SKIP
    >>> shop.checkout(address=123, payment_method=1, shipping_method=2).next_step  # doctest: +SKIP
    'http://127.0.0.1:8080/mock/gateway/pay_…'

Errors are ``ApiError`` (with the answer's status and body); the token key is sent as
``Authorization: Token <key>`` and never logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import Transport, http_client
from villa_contracts.contract import Contract, load


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """What a checkout answers: where to pay (redirect method) or the paid order's key (direct method)."""

    next_step: str | None
    order_key: str | None

    @property
    def external_id(self) -> str | None:
        """The payment attempt's external id, the last part of ``next_step``."""
        return self.next_step.rstrip("/").rsplit("/", 1)[-1] if self.next_step else None


class ShopClient:
    """The shop API as one customer (a user or a guest).

    Args:
        base_url: where the backend is.
        http: the HTTP client (a new one when None; a Starlette ``TestClient`` works).
        contract: the shop contract (the shipped one when None).
        token: a token key the customer already has.
    """

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.Client | None = None,
        contract: Contract | None = None,
        token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.contract = contract or load()["shop"]
        self.token = token
        self.customer: str | None = None
        self._owned = http is None
        self._http = http or http_client(timeout=30)
        self._transport = Transport(Settings(base_url=self.base_url), self._http, self.contract, lambda: None)

    def call(self, operation_id: str, body: Any = None, *, query: dict[str, Any] | None = None, **path: Any) -> Any:
        """Call a shop operation with the customer's token key; answers its decoded JSON.

        Raises:
            ApiError: a non-2xx answer.
            ClientError: the backend cannot be reached or did not answer JSON.
        """
        operation = self.contract.operation(operation_id)
        url = self.base_url + operation.path.format(**path)
        if query:
            url += "?" + urlencode(query)
        headers = {"Authorization": f"Token {self.token}"} if self.token and operation.secured else {}
        return self._transport.request(operation_id, operation.method, url, body, headers)

    # --- customer -----------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Get a token key for a user of the Villa user directory; answers the customer identity."""
        answer = self.call("obtainToken", {"username": username, "password": password})
        self.token, self.customer = answer["token"], answer["customer"]
        return str(self.customer)

    def start_guest(self) -> str:
        """Become a new anonymous customer; answers the identity (``guest:…``)."""
        answer = self.call("startGuest")
        self.token, self.customer = answer["token"], answer["customer"]
        return str(self.customer)

    def profile(self) -> dict[str, Any]:
        """The profile and whether it is complete."""
        return dict(self.call("getProfile"))

    def update_profile(self, **fields: str) -> dict[str, Any]:
        """Complete or change the profile (``first_name``, ``last_name``, ``phone``, ``email``)."""
        return dict(self.call("updateProfile", fields))

    def addresses(self) -> list[dict[str, Any]]:
        """The customer's addresses."""
        return list(self.call("listAddresses")["results"])

    def add_address(self, line1: str, city: str, postcode: str, phone: str, line2: str = "") -> int:
        """Add an address; answers its id."""
        body = {"line1": line1, "city": city, "postcode": postcode, "phone": phone, "line2": line2}
        return int(self.call("addAddress", body)["id"])

    # --- cart and checkout --------------------------------------------------------------------

    def cart(self) -> dict[str, Any]:
        """The cart, priced."""
        return dict(self.call("getCart"))

    def add_item(self, product_id: int, quantity: int = 1) -> dict[str, Any]:
        """Add units of a product; answers the cart."""
        return dict(self.call("addCartItem", {"product_id": product_id, "quantity": quantity}))

    def change_item(self, product_id: int, quantity: int) -> dict[str, Any]:
        """Set a line's quantity; answers the cart."""
        return dict(self.call("changeCartItem", {"quantity": quantity}, product_id=product_id))

    def remove_item(self, product_id: int) -> dict[str, Any]:
        """Remove a line; answers the cart."""
        return dict(self.call("removeCartItem", product_id=product_id))

    def payment_methods(self) -> list[dict[str, Any]]:
        """The active payment methods."""
        return list(self.call("listPaymentMethods")["results"])

    def shipping_methods(self) -> list[dict[str, Any]]:
        """The active shipping methods."""
        return list(self.call("listShippingMethods")["results"])

    def checkout(
        self, *, address: int, payment_method: int, shipping_method: int, notes: str | None = None
    ) -> CheckoutResult:
        """Check the cart out (seed 002)."""
        body: dict[str, Any] = {
            "address": address,
            "payment_method": payment_method,
            "shipping_method": shipping_method,
        }
        if notes is not None:
            body["notes"] = notes
        answer = self.call("checkoutCart", body)
        return CheckoutResult(answer.get("next_step"), answer.get("order_key"))

    # --- orders (seed 003) --------------------------------------------------------------------

    def orders(self, page: int = 1, page_size: int = 10) -> dict[str, Any]:
        """One page of the customer's orders, newest first."""
        return dict(self.call("listOrders", query={"page": page, "page_size": page_size}))

    def order(self, order_key: str) -> dict[str, Any]:
        """One of the customer's orders."""
        return dict(self.call("getOrder", order_key=order_key))

    def order_to_pay(self, order_key: str) -> dict[str, Any]:
        """The order, while it is unpaid."""
        return dict(self.call("getOrderToPay", order_key=order_key))

    def attempts(self, order_key: str) -> list[dict[str, Any]]:
        """The order's payment attempts, oldest first."""
        return list(self.call("listPaymentAttempts", order_key=order_key)["results"])

    def new_attempt(self, order_key: str) -> CheckoutResult:
        """A new payment attempt on an unpaid order: where to pay."""
        return CheckoutResult(self.call("createPaymentAttempt", order_key=order_key)["next_step"], None)

    def decide_on_gateway(self, next_step: str, action: str) -> dict[str, Any]:
        """As the payer on the mock gateway's page: ``approve``, ``decline`` or ``abandon``."""
        return dict(self._transport.request("gatewayDecision", "POST", next_step, {"action": action}, {}))

    def close(self) -> None:
        """Close the HTTP client (only one this client made)."""
        if self._owned:
            self._http.close()

    def __enter__(self) -> ShopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
