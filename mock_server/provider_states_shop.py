"""Pact provider states of the shop API (``villa-shop``), registered with ``provider_states.provider_state``.

Each state builds a fresh customer (a new user of the one directory, with a shop token key) and
what it says by calling the shop's own handlers in-process, then answers the values its
interactions inject: ``username`` and ``password`` (of that fresh user only), ``tokenKey``,
``addressId``, ``orderKey`` and ``externalId``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mock_server.auth import Principal
from mock_server.dispatch import Call
from mock_server.handlers import shop, shop_orders
from mock_server.provider_states import Values, _World, provider_state

PROFILE = {"first_name": "Pact", "last_name": "Customer", "phone": "0812345678", "email": "pact@villa.example"}
ADDRESS = {"line1": "168 Sukhumvit 33 Road", "city": "Bangkok", "postcode": "10110", "phone": "0812345678"}
CHILLED, DRY = 25281, 188468


class _Customer:
    """The world's user as a shop customer: a token key and in-process calls of the shop's handlers."""

    def __init__(self, world: _World) -> None:
        self.world, self.state = world, world.state
        self.identity = f"user:{world.sub}"
        key = self.state.auth.token_keys.issue(self.identity, world.username, world.username)
        world.values.update(tokenKey=key, username=world.username, password=world.password)

    def call(self, operation_id: str, handler: Callable[[Call], Any], body: Any = None, **params: Any) -> Any:
        principal = Principal(sub=self.identity, username=self.world.username, email=self.world.username)
        operation = self.state.contracts["shop"].operation(operation_id)
        _, answer = handler(Call(self.state, operation, body, principal, params))
        return answer

    def ready(self, *products: int) -> Values:
        """A completed profile, an address and ``products`` (one each) in the cart."""
        self.call("updateProfile", shop.update_profile, PROFILE)
        self.world.values["addressId"] = self.call("addAddress", shop.add_address, ADDRESS)["id"]
        for product in products:
            self.call("addCartItem", shop.add_cart_item, {"product_id": product, "quantity": 1})
        return self.world.values

    def held_order(self) -> Values:
        """An order waiting for payment (a redirect checkout of one 25281)."""
        self.ready(CHILLED)
        body = {"address": self.world.values["addressId"], "payment_method": 1, "shipping_method": 2}
        step = self.call("checkoutCart", shop_orders.checkout_cart, body)["next_step"]
        newest = self.call("listOrders", shop_orders.list_orders, page=1, page_size=1)["results"][0]
        self.world.values.update(orderKey=newest["order_key"], externalId=step.rsplit("/", 1)[-1])
        return self.world.values

    def paid_order(self) -> Values:
        """A paid order (cash on delivery of one 188468, processed at once)."""
        self.ready(DRY)
        body = {"address": self.world.values["addressId"], "payment_method": 3, "shipping_method": 6}
        self.world.values["orderKey"] = self.call("checkoutCart", shop_orders.checkout_cart, body)["order_key"]
        return self.world.values


@provider_state("a user U with a password")
def _user(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).world.values


@provider_state("customer C has a token key")
def _customer(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).world.values


@provider_state("customer C is ready to check out one 25281")
def _ready_chilled(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).ready(CHILLED)


@provider_state("customer C is ready to check out one 188468")
def _ready_dry(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).ready(DRY)


@provider_state("customer C has an empty cart, a completed profile and an address")
def _empty(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).ready()


@provider_state("customer C has an order O waiting for payment")
def _held(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).held_order()


@provider_state("customer C has a paid order O")
def _paid(world: _World, params: dict[str, Any]) -> Values:
    return _Customer(world).paid_order()


@provider_state("order O belongs to another customer")
def _foreign(world: _World, params: dict[str, Any]) -> Values:
    other = _World(world.state)
    key = _Customer(other).held_order()["orderKey"]
    _Customer(world)
    world.values["orderKey"] = key
    return world.values
