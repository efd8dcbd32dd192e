"""The admin API (``contracts/admin``): the only way tests steer the mock.

Reset, users (create, confirm, tokens), the clock, the request journal, faults, scenarios (the whole
state, taken and loaded) and the emulated Cognito pool's settings. Requests are validated against
the admin contract before a handler runs, so bad input gets a 400 and changes nothing. Off with
``create_app(enable_admin=False)``; behind ``X-Villa-Admin-Token`` when the mock has an admin token.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from mock_server.dispatch import Call


def reset(call: Call) -> tuple[int, Any]:
    """``POST /__admin/reset``."""
    call.state.reset()
    return 200, {"reset": True, "users": [u["username"] for u in call.state.auth.list_users()]}


def list_users(call: Call) -> tuple[int, Any]:
    """``GET /__admin/users``."""
    return 200, {"users": call.state.auth.list_users()}


def create_user(call: Call) -> tuple[int, Any]:
    """``POST /__admin/users``: 201 with the user, 409 when the name or sub is taken."""
    body = call.body
    user = call.state.auth.admin_create_user(
        body["username"],
        body["password"],
        email=body.get("email"),
        confirmed=body.get("confirmed", True),
        sub=body.get("sub"),
    )
    return 201, user


def confirm_user(call: Call) -> tuple[int, Any]:
    """``POST /__admin/users/{username}/confirm``."""
    call.state.auth.admin_confirm_user(call.params["username"])
    return 200, {"confirmed": True}


def issue_tokens(call: Call) -> tuple[int, Any]:
    """``POST /__admin/users/{username}/tokens``: log in without a password."""
    return 200, call.state.auth.issue_tokens(call.params["username"])


def _clock(call: Call) -> dict[str, Any]:
    return {"now": call.state.clock.now(), "offsetSeconds": call.state.clock.offset}


def get_clock(call: Call) -> tuple[int, Any]:
    """``GET /__admin/clock``."""
    return 200, _clock(call)


def advance_clock(call: Call) -> tuple[int, Any]:
    """``POST /__admin/clock``: the contract bounds ``advanceSeconds`` (finite, 0 to ten years).

    A move that would take the clock to the end of its range (2100-01-01T00:00:00Z) is refused with a
    400 (``villa_contracts.domain.clock.check_advance``, in the clock's own ``advance``).
    """
    call.state.clock.advance(float(call.body["advanceSeconds"]))
    return 200, _clock(call)


def get_journal(call: Call) -> tuple[int, Any]:
    """``GET /__admin/journal?limit=N``."""
    journal = call.state.journal
    entries = journal.entries(int(call.params.get("limit", 200)))
    return 200, {"mockBugs": journal.mock_bugs, "entries": [e.as_json() for e in entries]}


def clear_journal(call: Call) -> tuple[int, Any]:
    """``DELETE /__admin/journal``."""
    call.state.journal.clear()
    return 200, {"cleared": True}


def get_faults(call: Call) -> tuple[int, Any]:
    """``GET /__admin/faults``: the rules in force."""
    return 200, call.state.faults.document


def set_faults(call: Call) -> tuple[int, Any]:
    """``PUT /__admin/faults``: replace the rules (400 with the JSON pointer of what is wrong)."""
    from mock_server.errors import BadRequest
    from villa_contracts.faults import Faults, FaultsError

    try:
        call.state.faults = Faults.load(call.body, call.state.contracts)
    except FaultsError as exc:
        refused = BadRequest(f"fault rules: {exc}", [{"pointer": exc.pointer, "message": exc.message}])
        return refused.status_code, refused.body()
    return 200, call.state.faults.document


def clear_faults(call: Call) -> tuple[int, Any]:
    """``DELETE /__admin/faults``: no faults any more."""
    from villa_contracts.faults import Faults

    call.state.faults = Faults.empty()
    return 200, {"cleared": True}


def get_scenario(call: Call) -> tuple[int, Any]:
    """``GET /__admin/scenario``: the whole state as a scenario document (docs/scenarios.md)."""
    from mock_server.scenario import export

    return 200, export(call.state)


def set_scenario(call: Call) -> tuple[int, Any]:
    """``PUT /__admin/scenario``: replace the whole state, all or nothing (400 with the JSON pointer of the fault)."""
    from mock_server.errors import BadRequest
    from mock_server.scenario import ScenarioError, load

    try:
        loaded = load(call.state, call.body)
    except ScenarioError as exc:
        refused = BadRequest(f"scenario: {exc}", [exc.detail()])
        return refused.status_code, refused.body()
    return 200, loaded.as_json()


def get_cognito(call: Call) -> tuple[int, Any]:
    """``GET /__admin/cognito``."""
    return 200, call.state.auth.cognito_info()


def get_payment_service(call: Call) -> tuple[int, Any]:
    """``GET /__admin/payment-service``."""
    from mock_server.handlers.shop_orders import payment_service_up

    return 200, {"up": payment_service_up(call.state)}


def set_payment_service(call: Call) -> tuple[int, Any]:
    """``PUT /__admin/payment-service``: the shop's payment service up or down."""
    from mock_server.handlers.shop_orders import PAYMENT_SERVICE, SWITCHES

    call.state.store.put(SWITCHES, PAYMENT_SERVICE, {"up": bool(call.body["up"])})
    return 200, {"up": bool(call.body["up"])}


def get_stock(call: Call) -> tuple[int, Any]:
    """``GET /__admin/stock``: per branch and product, its stock and what orders of every API hold."""
    from mock_server.expiry import sweep
    from mock_server.handlers.orders import STOCK

    state = call.state
    sweep(state)  # what expired is free again
    branches: dict[str, dict[str, dict[str, int]]] = {}
    for code, product in state.data.products.items():
        for branch, offer in product.offers.items():
            reserved = int((state.store.get(STOCK, branch) or {}).get(str(code), 0))
            units = {"stock": offer.stock, "reserved": reserved, "free": offer.stock - reserved}
            branches.setdefault(branch, {})[str(code)] = units
    return 200, {"branches": branches}


def set_up_provider_state(call: Call) -> tuple[int, Any] | JSONResponse:
    """``POST /__admin/provider-states``: the Pact verifier's state change."""
    from mock_server.provider_states import set_up

    body = call.body
    if body.get("action", "setup") == "teardown" or not body.get("state"):
        return 200, {}
    return 200, set_up(call.state, body["state"], body.get("params") or {})


def set_line_item_order_state(call: Call) -> tuple[int, Any]:
    """``PUT /__admin/lineitems/orders/{id}/state``: a merchant's delivery of a completed line-item order."""
    from mock_server.handlers.lineitems import move_state

    return move_state(call)


def get_line_item_stock(call: Call) -> tuple[int, Any]:
    """``GET /__admin/lineitems/stock``: the line-item API's variants, their stock and reservations."""
    from mock_server.handlers.lineitems import variant_stock

    return variant_stock(call)


HANDLERS = {
    "reset": reset,
    "listUsers": list_users,
    "createUser": create_user,
    "confirmUser": confirm_user,
    "issueTokens": issue_tokens,
    "getClock": get_clock,
    "advanceClock": advance_clock,
    "getJournal": get_journal,
    "clearJournal": clear_journal,
    "getFaults": get_faults,
    "setFaults": set_faults,
    "clearFaults": clear_faults,
    "getScenario": get_scenario,
    "setScenario": set_scenario,
    "getCognito": get_cognito,
    "setUpProviderState": set_up_provider_state,
    "getPaymentService": get_payment_service,
    "getStock": get_stock,
    "setPaymentService": set_payment_service,
    "setLineItemOrderState": set_line_item_order_state,
    "getLineItemStock": get_line_item_stock,
}
