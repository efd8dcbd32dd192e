"""Pact provider states on the mock (the admin contract's ``setUpProviderState``).

The Pact verifier posts ``{"state", "params", "action": "setup" | "teardown"}`` before each
interaction. A setup builds what the state says by calling the mock's own handlers in-process (a
fresh user, an order, a card token, a charge, a paid order) and answers the values the interaction
needs (``token``, ``sub``, ``orderId``, ``cardToken``, ``chargeId``); the pacts' provider-state
generators (``${token}``, ``${orderId}``…) inject them into the replayed request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from mock_server.auth import Principal
from mock_server.dispatch import Call
from mock_server.errors import NotFound
from mock_server.handlers import orders, payments
from villa_contracts.apis.villa import PACT_SHIPPING as SHIPPING

if TYPE_CHECKING:
    from mock_server.state import MockState

BRANCH = "1000"
PRODUCT = 25281

Values = dict[str, Any]
Setup = Callable[["_World", dict[str, Any]], Values]
STATES: dict[str, Setup] = {}


def provider_state(name: str) -> Callable[[Setup], Setup]:
    """Register the setup of the provider state called ``name`` (the words the pacts use)."""

    def register(fn: Setup) -> Setup:
        STATES[name] = fn
        return fn

    return register


class _World:
    """One setup's view of the mock: a fresh user and in-process calls of the mock's handlers."""

    def __init__(self, state: MockState) -> None:
        self.state = state
        username = state.ids.hex_id("pact-", 6) + "@villa.example"
        # A throw-away test user the provider state hands to the consumer: its password is test data.
        self.password = state.ids.hex_id("Pact-", 8) + "-Aa1"
        user = state.auth.admin_create_user(username, self.password, email=username)
        self.username, self.sub = username, str(user["sub"])
        self.values: Values = {"sub": self.sub, "token": state.auth.issue_tokens(username)["IdToken"]}

    def call(self, operation_id: str, handler: Callable[[Call], Any], body: dict[str, Any]) -> dict[str, Any]:
        principal = Principal(sub=self.sub, username=self.username, email=self.username)
        operation = self.state.contracts["villa"].operation(operation_id)
        call = Call(self.state, operation, body, principal)
        _, answer = handler(call)
        return cast(dict[str, Any], answer)

    def order(self) -> Values:
        order_id = self.call("generateOrderId", orders.generate_order_id, {"branchId": BRANCH})["orderId"]
        body = {
            "orderId": order_id,
            "ownerId": self.sub,
            "basketId": self.sub,
            "branchId": BRANCH,
            "productList": [{"cprcode": PRODUCT, "quantity": 1}],
            "orderSource": "WEB",
            "shipping": SHIPPING,
        }
        doc = self.call("createOrder", orders.create_order, body)
        self.values.update(orderId=order_id, grandTotal=f"{doc['payment']['grandTotal']:.2f}")
        return self.values

    def card_token(self, outcome: str) -> Values:
        self.order()
        number = next(n for n, card in self.state.data.cards.items() if _outcome(card) == outcome)
        body = {
            "orderId": self.values["orderId"],
            "basketId": self.sub,
            "grandTotal": self.values["grandTotal"],
            "card": {"number": number, "expirationMonth": "12", "expirationYear": "2030", "securityCode": "123"},
        }
        self.values["cardToken"] = self.call("createCardTokenDev", payments.create_card_token, body)["cardToken"]
        return self.values

    def charge(self) -> Values:
        self.card_token("approve")
        body = {
            "orderId": self.values["orderId"],
            "basketId": self.sub,
            "grandTotal": self.values["grandTotal"],
            "token": self.values["cardToken"],
        }
        self.values["chargeId"] = self.call("createChargeDev", payments.create_charge, body)["chargeId"]
        return self.values


def _outcome(card: Any) -> str:
    outcome = getattr(card, "outcome", None)
    return str(outcome if outcome is not None else card.get("outcome"))


@provider_state("user U is logged in")
def _logged_in(world: _World, params: dict[str, Any]) -> Values:
    return world.values


@provider_state("user U's ID token has expired")
def _expired(world: _World, params: dict[str, Any]) -> Values:
    # The mock's clock only moves forward, as a real provider's does: the token issued above
    # expires, and whatever is issued later is issued at the new time.
    world.state.clock.advance(world.state.auth.pool.token_validity_seconds + 60)
    return world.values


@provider_state("user U has an unpaid order O for one 25281 on branch 1000")
def _unpaid(world: _World, params: dict[str, Any]) -> Values:
    return world.order()


@provider_state("user U has an issued order id O on branch 1000")
def _issued(world: _World, params: dict[str, Any]) -> Values:
    world.values["orderId"] = world.call("generateOrderId", orders.generate_order_id, {"branchId": BRANCH})["orderId"]
    return world.values


@provider_state("user U has a card token T for unpaid order O")
def _token(world: _World, params: dict[str, Any]) -> Values:
    return world.card_token(str(params.get("outcome", "approve")))


@provider_state("user U has an Authorized charge C on order O")
def _charged(world: _World, params: dict[str, Any]) -> Values:
    return world.charge()


@provider_state("order O is paid")
def _paid(world: _World, params: dict[str, Any]) -> Values:
    world.charge()
    world.call(
        "verifyPaymentDev",
        payments.verify_payment,
        {"orderId": world.values["orderId"], "chargeId": world.values["chargeId"]},
    )
    return world.values


def set_up(state: MockState, name: str, params: dict[str, Any]) -> Values:
    """Build provider state ``name`` on the mock and return the values its interactions need.

    Raises:
        NotFound: no such state (the message lists the known ones).

    """
    setup = STATES.get(name)
    if setup is None:
        raise NotFound(f"no provider state {name!r}; known states: {sorted(STATES)}")
    return setup(_World(state), params)
