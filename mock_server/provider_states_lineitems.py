"""Pact provider states of the line-item order API (``villa-lineitems``), registered with ``provider_state``.

Each state makes a fresh user of the one directory (its ID token is ``token``) and what it says by
calling the API's own handlers in-process, then answers the values its interactions inject:
``orderId`` and ``referenceId`` (a PayPal reference id of the order's total, never used).
"""

from __future__ import annotations

from typing import Any

from mock_server.auth import Principal
from mock_server.dispatch import Call
from mock_server.handlers import lineitems
from mock_server.provider_states import Values, _World, provider_state
from villa_contracts.domain.lineitems import SEED_ORDER


def _call(world: _World, operation_id: str, body: Any = None, **params: Any) -> Any:
    principal = Principal(sub=world.sub, username=world.username, email=world.username)
    operation = world.state.contracts["lineitems"].operation(operation_id)
    call = Call(world.state, operation, body, principal, params)
    if operation_id == "createLineItemOrder":
        answer = lineitems.create_order(call)
        assert isinstance(answer, tuple), "the state's order is in stock"
        return answer[1]
    return lineitems.pay_order(call)[1]


def _reference(world: _World, cents: int) -> str:
    return world.state.ids.hex_id(f"PAYID-{cents}-pact", 8)


def _order(world: _World) -> Values:
    order = _call(world, "createLineItemOrder", SEED_ORDER)
    world.values.update(orderId=order["id"], referenceId=_reference(world, int(order["total_cents"])))
    return world.values


@provider_state("user U may order")
def _user(world: _World, params: dict[str, Any]) -> Values:
    return world.values


@provider_state("user U has the seed's order O waiting for payment")
def _waiting(world: _World, params: dict[str, Any]) -> Values:
    return _order(world)


@provider_state("user U has a completed order O")
def _completed(world: _World, params: dict[str, Any]) -> Values:
    _order(world)
    _call(world, "payLineItemOrder", {"reference_id": world.values["referenceId"]}, id=world.values["orderId"])
    world.values["referenceId"] = _reference(world, 1)
    return world.values


@provider_state("order O of the seed belongs to another user")
def _foreign(world: _World, params: dict[str, Any]) -> Values:
    other = _World(world.state)
    world.values.update(orderId=_order(other)["orderId"], referenceId=other.values["referenceId"])
    return world.values
