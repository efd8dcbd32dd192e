"""Card payments on the mock gateway: token → charge (→ 3-D Secure) → verify.

Card numbers are never stored: a token keeps the masked number and the outcome its card leads to.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, Response

from mock_server.handlers.orders import CHARGES, ORDER_CHARGES, ORDERS, charges_of
from mock_server.handlers.orders import charge_facts as _facts
from villa_contracts.domain import cards
from villa_contracts.domain import orders as order_rules
from villa_contracts.domain import payments as rules
from villa_contracts.domain.money import to_json

if TYPE_CHECKING:
    from mock_server.dispatch import Call
    from mock_server.state import MockState

TOKENS = "card_tokens"
TOKEN_TTL = 15 * 60


def _paid_by(order: dict[str, Any]) -> str | None:
    return str((order.get("payment") or {}).get("gbpReferenceNo")) if order_rules.is_paid(order) else None


def _payable(order: dict[str, Any] | None) -> rules.PayableOrder:
    """The payment rules' view of a stored order (``rules.MISSING`` when there is none)."""
    if order is None:
        return rules.MISSING
    return rules.PayableOrder(
        str(order.get("ownerId")),
        order_rules.is_paid(order),
        _paid_by(order),
        order_rules.grand_total(order),
        expired=order_rules.is_expired_record(order),
    )


def create_card_token(call: Call) -> tuple[int, Any]:
    """``POST /api/payment3(devapi)/cardtoken``: a one-use token for one order."""
    state, body = call.state, call.body
    order = state.store.get(ORDERS, str(body["orderId"]))
    rules.decide_card_token(
        body["orderId"], caller=call.sub, payer=body.get("userId"), sent=body["grandTotal"], order=_payable(order)
    )
    assert order is not None
    number = (body.get("card") or {}).get("number") or state.data.default_card
    outcome = rules.charge_outcome(state.data, number)
    card = state.data.cards.get(number)
    token = state.ids.hex_id("tokn_test_", 10)
    record = {
        "token": token,
        "orderId": body["orderId"],
        "owner": call.sub,
        "masked": cards.mask(number),
        "brand": card.brand if card else "UNKNOWN",
        "gatewayDown": outcome is None,
        "outcome": None
        if outcome is None
        else {
            "transaction_state": outcome.transaction_state,
            "status": outcome.status,
            "needs_3ds": outcome.needs_3ds,
            "failure_code": outcome.failure_code,
            "failure_message": outcome.failure_message,
        },
        "expiresAt": state.clock.now() + TOKEN_TTL,
        "used": False,
    }
    state.store.put(TOKENS, token, record)
    return 200, {
        "cardToken": token,
        "orderId": body["orderId"],
        "grandTotal": to_json(order_rules.grand_total(order)),
        "maskedCardNo": record["masked"],
        "brand": record["brand"],
        "expiresAt": record["expiresAt"],
    }


def _charge_json(charge: dict[str, Any]) -> dict[str, Any]:
    return {key: charge[key] for key in (
        "chargeId", "object", "orderId", "amount", "currency", "transaction_state", "status", "redirect_url",
        "maskedCardNo", "failure_code", "failure_message", "created",
    )}  # fmt: skip


def create_charge(call: Call) -> tuple[int, Any]:
    """``POST /api/payment3(devapi)/charge``: charge the order's grand total with a token."""
    state, body = call.state, call.body
    with state.store.transaction():
        order = state.store.get(ORDERS, str(body["orderId"]))
        charges = [_facts(c) for c in charges_of(state, str(body["orderId"]))] if order is not None else []
        token = state.store.get(TOKENS, body["token"]) or {}
        facts = rules.TokenFacts(
            known=token.get("owner") == call.sub and token.get("orderId") == body["orderId"],
            used=bool(token.get("used")),
            expires_at=float(token.get("expiresAt", 0)),
            gateway_down=bool(token.get("gatewayDown")),
        )
        rules.decide_charge(
            body["orderId"],
            caller=call.sub,
            payer=body.get("userId"),
            sent=body["grandTotal"],
            order=_payable(order),
            charges=charges,
            token=facts,
            now=state.clock.now(),
        )
        assert order is not None
        outcome = token["outcome"]
        charge_id = state.ids.hex_id("chrg_test_", 10)
        redirect = f"{state.base_url.rstrip('/')}/mock/3ds/{charge_id}" if outcome["needs_3ds"] else None
        charge = {
            "chargeId": charge_id,
            "object": "charge",
            "orderId": order["orderId"],
            "owner": call.sub,
            "amount": to_json(order_rules.grand_total(order)),
            "currency": "THB",
            "transaction_state": outcome["transaction_state"],
            "status": outcome["status"],
            "redirect_url": redirect,
            "maskedCardNo": token["masked"],
            "failure_code": outcome["failure_code"],
            "failure_message": outcome["failure_message"],
            "created": state.clock.now(),
            "responseUrl": body.get("responseUrl"),
        }
        token["used"] = True
        state.store.put(TOKENS, body["token"], token)
        state.store.put(CHARGES, charge_id, charge)
        index = state.store.get(ORDER_CHARGES, order["orderId"]) or {"charges": []}
        state.store.put(ORDER_CHARGES, order["orderId"], {"charges": [*index["charges"], charge_id]})
    return 200, _charge_json(charge)


def verify_payment(call: Call) -> tuple[int, Any]:
    """``POST /api/payment3(devapi)/verify``: settle an Authorized charge into the order; idempotent."""
    state, body = call.state, call.body
    with state.store.transaction():
        charge = state.store.get(CHARGES, body["chargeId"]) or {}
        known = charge.get("owner") == call.sub and charge.get("orderId") == body["orderId"]
        order = state.store.get(ORDERS, str(body["orderId"])) if known else None
        verified = rules.decide_verify(
            body["chargeId"],
            body["orderId"],
            caller=call.sub,
            charge=_facts(charge) if known else None,
            order=_payable(order),
        )
        assert order is not None
        if verified.settles:
            order = order_rules.mark_paid(
                order, charge_id=charge["chargeId"], masked_card=charge["maskedCardNo"], now=state.clock.now()
            )
            state.store.put(ORDERS, order["orderId"], order)
    return 200, {
        "orderId": order["orderId"],
        "chargeId": charge["chargeId"],
        "transaction_state": charge["transaction_state"],
        "paid": verified.paid,
        "order": order,
    }


def _charge(state: MockState, charge_id: str) -> dict[str, Any]:
    charge = state.store.get(CHARGES, charge_id)
    rules.require_charge(charge_id, None, known=charge is not None)
    assert charge is not None
    return charge


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mock 3-D Secure</title></head>
<body><h1>Mock bank: 3-D Secure</h1><p>Charge {charge} of {amount} THB, card {masked}: {state}.</p>
<form method="post"><button name="action" value="complete">Complete</button>
<button name="action" value="refuse">Refuse</button></form></body></html>"""


def three_d_secure_page(call: Call) -> Response:
    """``GET /mock/3ds/{chargeId}``: the page with Complete and Refuse buttons."""
    charge = _charge(call.state, call.params["chargeId"])
    return HTMLResponse(
        _PAGE.format(
            charge=html.escape(charge["chargeId"]),
            amount=f"{charge['amount']:.2f}",
            masked=html.escape(charge["maskedCardNo"]),
            state=html.escape(charge["transaction_state"]),
        )
    )


def three_d_secure_submit(call: Call) -> tuple[int, Any]:
    """``POST /mock/3ds/{chargeId}``: complete (Authorized) or refuse (Declined) a Pre-Authorized charge."""
    state = call.state
    with state.store.transaction():
        charge = _charge(state, call.params["chargeId"])
        order = state.store.get(ORDERS, charge["orderId"]) or {}
        rules.check_three_ds(charge["chargeId"], charge["transaction_state"], order_paid=order_rules.is_paid(order))
        outcome = rules.three_ds_result(call.body["action"])
        charge.update(transaction_state=outcome.transaction_state, status=outcome.status)
        if outcome.failure_code:
            charge.update(failure_code=outcome.failure_code, failure_message=outcome.failure_message)
        state.store.put(CHARGES, charge["chargeId"], charge)
    return 200, {
        "chargeId": charge["chargeId"],
        "orderId": charge["orderId"],
        "transaction_state": charge["transaction_state"],
        "returnUrl": charge.get("responseUrl"),
    }
