"""Order id generation and the order document: create, get, update.

Each handler loads what the rules need, lets ``villa_contracts.domain.orders`` decide, and stores
the outcome inside one transaction. Someone else's order answers exactly like a missing one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mock_server.expiry import sweeper
from villa_contracts.domain import cards
from villa_contracts.domain import orders as rules
from villa_contracts.domain import payments as payment_rules
from villa_contracts.domain.money import to_satang

if TYPE_CHECKING:
    from mock_server.dispatch import Call
    from mock_server.state import MockState

ORDERS = "orders"
ISSUED = "order_ids"
STOCK = "stock_reserved"
EXPIRY = "order_expiry"
EXPIRY_HEAD = "order_expiry_head"
CHARGES = "charges"
ORDER_CHARGES = "order_charges"


def charge_facts(charge: dict[str, Any]) -> payment_rules.ChargeFacts:
    """The payment rules' view of a stored charge."""
    return payment_rules.ChargeFacts(charge["chargeId"], charge["transaction_state"], to_satang(charge["amount"]))


def charges_of(state: MockState, order_id: str) -> list[dict[str, Any]]:
    """The charges made for an order (an index kept beside the charges, so no lookup scans them all)."""
    ids = (state.store.get(ORDER_CHARGES, order_id) or {}).get("charges", [])
    return [charge for charge in (state.store.get(CHARGES, charge_id) for charge_id in ids) if charge is not None]


def own_order(state: MockState, order_id: Any, sub: str) -> dict[str, Any]:
    """The caller's stored order (the domain refuses a missing or someone else's one alike)."""
    order = state.store.get(ORDERS, str(order_id))
    rules.require_visible(order_id, order.get("ownerId") if order else None, sub)
    assert order is not None
    return order


def _reserve(state: MockState, branch_id: str, before: dict[str, Any] | None, after: dict[str, Any]) -> None:
    """Move the branch's stock reservation from ``before``'s lines to ``after``'s (inside a transaction)."""
    reserved = {int(k): int(v) for k, v in (state.store.get(STOCK, branch_id) or {}).items()}
    moved = rules.reserve(state.data, branch_id, reserved, rules.stock_needs(before), rules.stock_needs(after))
    state.store.put(STOCK, branch_id, {str(k): v for k, v in moved.items()})


def _price_and_store(
    state: MockState, body: dict[str, Any], branch_id: str, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Price the document from the catalog, move its stock reservation and store it (inside a transaction)."""
    doc, _ = rules.priced_document(state.data, body, branch_id=branch_id, previous=previous, now=state.clock.now())
    _reserve(state, branch_id, previous, doc)
    state.store.put(ORDERS, str(body["orderId"]), doc)
    return doc


def _expire(state: MockState, order: dict[str, Any], now: float) -> None:
    """Expire an unpaid order (inside the sweeper's transaction): its stock back, its money voided.

    ``payment_rules.decide_expiry`` decides: an order holding a charge is kept as the record of the
    void (``payment.status`` EXPIRED, one ``paymentLog`` line per charge) and each such charge is
    ``Voided``; an order holding no money is deleted. Stock, charges and record are written together.
    """
    branch_id, order_id = str(order["branchId"]), str(order["orderId"])
    reserved = {int(k): int(v) for k, v in (state.store.get(STOCK, branch_id) or {}).items()}
    moved = rules.reserve(state.data, branch_id, reserved, rules.stock_needs(order), rules.stock_needs(None))
    state.store.put(STOCK, branch_id, {str(k): v for k, v in moved.items()})
    charges = {charge["chargeId"]: charge for charge in charges_of(state, order_id)}
    expiry = payment_rules.decide_expiry(charge_facts(charge) for charge in charges.values())
    if not expiry.keep:
        state.store.delete(ORDERS, order_id)
        return
    voided = []
    for facts in expiry.voided:
        charge = charges[facts.charge_id]
        charge.update(
            transaction_state=payment_rules.VOIDED,
            status=payment_rules.VOIDED_STATUS,
            redirect_url=None,
            failure_code=payment_rules.EXPIRED_FAILURE_CODE,
            failure_message=f"voided: {rules.EXPIRED_REASON}",
        )
        state.store.put(CHARGES, facts.charge_id, charge)
        voided.append((facts.charge_id, facts.amount, str(charge["maskedCardNo"])))
    state.store.put(ORDERS, order_id, rules.mark_expired(order, voided, now=now))


@sweeper
def expire_due(state: MockState) -> float:
    """Expire every order unpaid 5 hours after its creation, oldest first (``_expire``).

    Orders join the queue (``order_expiry``) in creation order, so only its head is ever looked at.
    """
    now = state.clock.now()
    # A look without the store's lock first (as the shop's sweeper): on a store shared by processes,
    # locking on every request would serialise them all; the transaction checks again before it changes anything.
    head = int((state.store.get(EXPIRY_HEAD, "head") or {"next": 1})["next"])
    due = state.store.get(EXPIRY, str(head))
    if due is None or now < float(due["expires_at"]):
        return now + rules.UNPAID_EXPIRY_SECONDS if due is None else float(due["expires_at"])
    while True:
        with state.store.transaction():
            head = int((state.store.get(EXPIRY_HEAD, "head") or {"next": 1})["next"])
            due = state.store.get(EXPIRY, str(head))
            if due is None or now < float(due["expires_at"]):
                return now + rules.UNPAID_EXPIRY_SECONDS if due is None else float(due["expires_at"])
            order = state.store.get(ORDERS, str(due["orderId"]))
            if order is not None and rules.is_expired(order, float(due["expires_at"]), now):
                _expire(state, order, now)
            state.store.delete(EXPIRY, str(head))
            state.store.put(EXPIRY_HEAD, "head", {"next": head + 1})


def generate_order_id(call: Call) -> tuple[int, Any]:
    """``POST /api/order2/gentele``: a unique 12-digit id issued to the caller."""
    state, branch_id = call.state, call.body["branchId"]
    rules.require_branch(state.data, branch_id)
    year = time.gmtime(state.clock.now()).tm_year
    with state.store.transaction():
        order_id = rules.order_id(branch_id, year, state.store.next_sequence(f"order:{branch_id}:{year}"))
        state.store.put(ISSUED, order_id, {"issuedTo": call.sub, "branchId": branch_id, "at": state.clock.now()})
    return 200, {"orderId": order_id}


def create_order(call: Call) -> tuple[int, Any]:
    """``POST /api/order/create``: price, reserve stock and store a new order."""
    state, body = call.state, call.body
    cards.refuse_card_data(body, known=state.data.cards)
    order_id = body["orderId"]
    with state.store.transaction():
        issued = state.store.get(ISSUED, order_id) or {}
        branch_id = rules.decide_create(
            order_id,
            claimed_owner=body.get("ownerId"),
            caller=call.sub,
            issued_to=issued.get("issuedTo"),
            issued_branch=issued.get("branchId"),
            exists=state.store.get(ORDERS, order_id) is not None,
            branch=body.get("branchId"),
        )
        doc = _price_and_store(state, body, branch_id, None)
        queued = state.store.next_sequence("order_expiry")
        state.store.put(EXPIRY, str(queued), {"orderId": order_id, "expires_at": rules.expires_at(state.clock.now())})
        return 200, doc


def get_order(call: Call) -> tuple[int, Any]:
    """``POST /api/order/get``."""
    return 200, own_order(call.state, call.body["orderId"], call.sub)


def update_order(call: Call) -> tuple[int, Any]:
    """``POST /api/order/update``: replace an unpaid order's document, re-priced."""
    state, body = call.state, call.body
    cards.refuse_card_data(body, known=state.data.cards)
    order_id = body["orderId"]
    with state.store.transaction():
        stored = state.store.get(ORDERS, str(order_id))
        branch_id = rules.decide_update(
            order_id,
            owner=stored.get("ownerId") if stored else None,
            claimed_owner=body.get("ownerId"),
            caller=call.sub,
            paid=stored is not None and rules.is_paid(stored),
            stored_branch=stored["branchId"] if stored else "",
            branch=body.get("branchId"),
            expired=stored is not None and rules.is_expired_record(stored),
        )
        return 200, _price_and_store(state, body, branch_id, stored)
