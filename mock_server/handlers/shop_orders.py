"""The cart checkout (seed 002) and the store's order service behind it (seed 003).

Records, by storage kind: ``shop_orders`` by order key, filed in the ordered list
``shop_customer_orders:<identity>`` (checkout order: a page reads only its own orders);
``shop_attempts`` by external id, filed in ``shop_order_attempts:<order key>``;
``shop_holds``, a queue of unpaid orders in checkout order, which ``expire_due`` (a sweeper every
API request runs, ``mock_server.expiry``) walks from its head (``shop_hold_head``) to cancel orders
unpaid for 5 hours and release their stock. Stock is the
one reservation table of the catalog's branches (``stock_reserved``), shared with the Villa API.

Every decision is ``villa_contracts.domain.shop``'s; these functions load, call it, and store.
"""

from __future__ import annotations

import html
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.responses import HTMLResponse, Response

from mock_server.expiry import sweeper
from mock_server.handlers.orders import STOCK
from mock_server.handlers.shop import address, address_json, cart_lines, cart_of, profile_of, store_cart
from villa_contracts.domain import cards
from villa_contracts.domain import orders as order_rules
from villa_contracts.domain import shop as rules
from villa_contracts.domain.money import fmt, to_satang

if TYPE_CHECKING:
    from mock_server.dispatch import Call
    from mock_server.state import MockState

ORDERS = "shop_orders"
CUSTOMER_ORDERS = "shop_customer_orders"
ATTEMPTS = "shop_attempts"
ORDER_ATTEMPTS = "shop_order_attempts"
HOLDS = "shop_holds"
HOLD_HEAD = "shop_hold_head"
SWITCHES = "switches"
PAYMENT_SERVICE = "payment_service"
MAX_LOG = 50
"""Reports an attempt's log keeps (the newest): a gateway that repeats itself cannot grow it without bound."""


# --- stock and expiry ---------------------------------------------------------------------------


def _move_stock(state: MockState, before: Counter[int], after: Counter[int]) -> None:
    """Move the store branch's reservation from ``before`` to ``after`` (inside a transaction)."""
    branch = state.shop.branch
    reserved = {int(k): int(v) for k, v in (state.store.get(STOCK, branch) or {}).items()}
    moved = order_rules.reserve(state.data, branch, reserved, before, after)
    state.store.put(STOCK, branch, {str(k): v for k, v in moved.items()})


def free_stock(state: MockState, products: list[int]) -> dict[int, int]:
    """Units of each product left at the store's branch (stock minus every API's reservations)."""
    branch = state.shop.branch
    reserved = state.store.get(STOCK, branch) or {}
    free = {}
    for pid in products:
        product = state.data.products.get(pid)
        offer = product.offers.get(branch) if product else None
        free[pid] = (offer.stock if offer else 0) - int(reserved.get(str(pid), 0))
    return free


def _needs(order: dict[str, Any]) -> Counter[int]:
    return Counter({int(i["product_id"]): int(i["quantity"]) for i in order["items"]})


@sweeper
def expire_due(state: MockState) -> float:
    """Cancel every order unpaid 5 hours after checkout and release its stock, oldest first.

    Orders join the queue in checkout order, so only its head is ever looked at: O(1) when nothing is due.
    """
    now = state.clock.now()
    # A look without the store's lock first: on a store shared by processes, locking on every
    # request would serialise them all; the transaction below checks again before it changes anything.
    head = int((state.store.get(HOLD_HEAD, "head") or {"next": 1})["next"])
    due = state.store.get(HOLDS, str(head))
    if due is None or now < float(due["expires_at"]):
        return now + rules.EXPIRY_SECONDS if due is None else float(due["expires_at"])
    while True:
        with state.store.transaction():
            head = int((state.store.get(HOLD_HEAD, "head") or {"next": 1})["next"])
            due = state.store.get(HOLDS, str(head))
            if due is None or now < float(due["expires_at"]):
                return now + rules.EXPIRY_SECONDS if due is None else float(due["expires_at"])
            order = state.store.get(ORDERS, due["order_key"])
            if order is not None and rules.is_expired(order["status"], float(due["expires_at"]), now):
                _move_stock(state, _needs(order), Counter())
                state.store.put(ORDERS, order["order_key"], rules.cancel_unpaid(order, now=now))
            state.store.delete(HOLDS, str(head))
            state.store.put(HOLD_HEAD, "head", {"next": head + 1})


# --- checkout -----------------------------------------------------------------------------------


def payment_service_up(state: MockState) -> bool:
    """Whether the payment service is up (the admin API's switch; up unless switched off)."""
    return bool((state.store.get(SWITCHES, PAYMENT_SERVICE) or {"up": True})["up"])


def _gateway_url(state: MockState, external_id: str) -> str:
    return f"{state.base_url.rstrip('/')}/mock/gateway/{external_id}"


def _new_attempt(state: MockState, order: dict[str, Any]) -> dict[str, Any]:
    """``attempt_to_pay_for_order``: a PENDING attempt for the order's total (inside a transaction)."""
    external_id = state.ids.hex_id("pay_", 10)
    attempt = {
        "external_id": external_id,
        "order_key": order["order_key"],
        "status": rules.PENDING,
        "amount": to_satang(order["total"]),
        "currency": order["currency"],
        "created_at": state.clock.now(),
        "log": [],
    }
    state.store.put(ATTEMPTS, external_id, attempt)
    state.store.index_put(
        f"{ORDER_ATTEMPTS}:{order['order_key']}", external_id, state.store.next_sequence("shop_filed")
    )
    return attempt


def _order_record(state: MockState, call: Call, checkout: rules.Checkout, profile: dict[str, str]) -> dict[str, Any]:
    now = state.clock.now()
    year = time.gmtime(now).tm_year
    key = rules.order_key(year, state.store.next_sequence(f"shop_order:{year}"))
    return {
        "order_key": key,
        "status": rules.HOLD,
        "customer": call.sub,
        "created_at": now,
        "updated_at": now,
        "items": [rules.line_json(item) for item in checkout.lines],
        "items_total": fmt(checkout.items_total),
        "shipping_fee": fmt(checkout.shipping.fee),
        "total": fmt(checkout.total),
        "currency": state.shop.currency,
        "notes": call.body.get("notes", ""),
        "address": address_json(checkout.address),
        "billing": {
            "name": f"{profile['first_name']} {profile['last_name']}".strip(),
            "phone": profile["phone"],
            "email": profile["email"],
        },
        "payment_method": {"id": checkout.payment.id, "name": checkout.payment.name, "kind": checkout.payment.kind},
        "shipping_method": {"id": checkout.shipping.id, "name": checkout.shipping.name},
        "paid": False,
        "paid_at": None,
        "snapshot": None,
        "_expires_at": rules.expires_at(now),
        "_paid_by": None,
    }


def _paid(state: MockState, order: dict[str, Any], external_id: str | None) -> dict[str, Any]:
    """``process_order_to_paid`` and the cart cleanup (inside a transaction)."""
    paid = {**rules.process_to_paid(order, external_id=external_id, now=state.clock.now()), "_paid_by": external_id}
    state.store.put(ORDERS, paid["order_key"], paid)
    customer = str(paid["customer"])
    store_cart(state, customer, rules.cart_after_payment(cart_of(state, customer)))
    return paid


def checkout_cart(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/checkout/cart``: the seed's rules in order, then the order (HOLD, stock held) and payment."""
    state, body = call.state, call.body
    cards.refuse_card_data(body, known=state.data.cards)
    # JSON Schema's integer admits 2.0: the contract bounds the ids, so int() is exact.
    address_id, payment_id, shipping_id = (int(body[key]) for key in ("address", "payment_method", "shipping_method"))
    principal = call.principal
    assert principal is not None
    with state.store.transaction():
        lines = cart_lines(state, cart_of(state, call.sub))
        profile = profile_of(state, call.sub, principal.username, principal.email)
        checkout = rules.check_checkout(
            state.shop,
            lines=lines,
            free=free_stock(state, [item.product_id for item in lines]),
            profile=profile,
            address=address(state, address_id),
            address_id=address_id,
            payment_method_id=payment_id,
            shipping_method_id=shipping_id,
            caller=call.sub,
            service_up=payment_service_up(state),
        )
        order = _order_record(state, call, checkout, profile)
        _move_stock(state, Counter(), checkout.needs)
        state.store.put(ORDERS, order["order_key"], order)
        state.store.index_put(
            f"{CUSTOMER_ORDERS}:{call.sub}", order["order_key"], state.store.next_sequence("shop_filed")
        )
        if checkout.payment.kind == rules.DIRECT:
            _paid(state, order, None)
            return 200, {"order_key": order["order_key"]}
        hold = state.store.next_sequence("shop_holds")
        state.store.put(HOLDS, str(hold), {"order_key": order["order_key"], "expires_at": order["_expires_at"]})
        attempt = _new_attempt(state, order)
    return 200, {"next_step": _gateway_url(state, attempt["external_id"])}


# --- the order service (seed 003) ---------------------------------------------------------------


def order_json(order: dict[str, Any]) -> dict[str, Any]:
    """An order as the contract answers it (without the mock's own bookkeeping)."""
    return {key: value for key, value in order.items() if not key.startswith("_")}


def _own_order(state: MockState, order_key: str, caller: str) -> dict[str, Any]:
    """``get_user_order``: the caller's order; someone else's is refused exactly like a missing one."""
    order = state.store.get(ORDERS, order_key)
    rules.require_visible(order_key, order["customer"] if order else None, caller)
    assert order is not None
    return order


def list_orders(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/orders``: ``get_user_orders`` / ``get_anonymous_user_orders``, newest first.

    Only the page's orders are read: the caller's list gives their keys and its size.
    """
    state = call.state
    page, size = int(call.params.get("page", 1)), int(call.params.get("page_size", 10))
    listing = f"{CUSTOMER_ORDERS}:{call.sub}"
    count = state.store.index_count(listing)
    start, end, total_pages = rules.page_of(count, page, size)
    orders = state.store.get_many(ORDERS, state.store.index_range(listing, start, end, descending=True))
    return 200, {
        "count": count,
        "page": page,
        "page_size": size,
        "total_pages": total_pages,
        "results": [order_json(o) for o in orders if o is not None],
    }


def get_order(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/orders/{order_key}``."""
    return 200, order_json(_own_order(call.state, call.params["order_key"], call.sub))


def get_order_to_pay(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/orders/{order_key}/pay``: ``get_order_to_pay``, only while unpaid."""
    order = _own_order(call.state, call.params["order_key"], call.sub)
    rules.require_payable(order["order_key"], order["status"])
    return 200, order_json(order)


def _attempt_json(attempt: dict[str, Any]) -> dict[str, Any]:
    return {key: attempt[key] for key in ("external_id", "status", "amount", "currency", "created_at", "log")}


def list_payment_attempts(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/orders/{order_key}/attempts``: oldest first."""
    state = call.state
    order = _own_order(state, call.params["order_key"], call.sub)
    listing = f"{ORDER_ATTEMPTS}:{order['order_key']}"
    attempts = state.store.get_many(ATTEMPTS, state.store.index_range(listing, 0, state.store.index_count(listing)))
    return 200, {"results": [_attempt_json(a) for a in attempts if a is not None]}


def create_payment_attempt(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/orders/{order_key}/attempts``: ``attempt_to_pay_for_order`` on an unpaid order."""
    state = call.state
    with state.store.transaction():
        order = _own_order(state, call.params["order_key"], call.sub)
        rules.require_payable(order["order_key"], order["status"])
        attempt = _new_attempt(state, order)
    return 201, {
        "external_id": attempt["external_id"],
        "status": attempt["status"],
        "next_step": _gateway_url(state, attempt["external_id"]),
    }


# --- the gateway --------------------------------------------------------------------------------


def _report(
    state: MockState, external_id: str, status: str, total_amount: int, currency: str
) -> tuple[dict[str, Any], dict[str, Any], rules.CallbackDecision]:
    """``update_attempt_to_pay``: decide a report, record it on the attempt, and pay when it says so.

    The record is kept even when the report is refused; the caller enforces the refusal afterwards.
    """
    with state.store.transaction():
        attempt = state.store.get(ATTEMPTS, external_id)
        rules.require_attempt(external_id, known=attempt is not None)
        assert attempt is not None
        order = state.store.get(ORDERS, attempt["order_key"])
        assert order is not None
        decision = rules.decide_callback(
            attempt_status=attempt["status"],
            order_status=order["status"],
            paid_by=order.get("_paid_by"),
            external_id=external_id,
            status=status,
            total_amount=total_amount,
            currency=currency,
            expected_amount=int(attempt["amount"]),
            expected_currency=attempt["currency"],
        )
        at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.clock.now()))
        entry = f"{at} {status} {total_amount} {currency}: {decision.outcome}"
        attempt = {**attempt, "status": decision.attempt_status, "log": [*attempt["log"], entry][-MAX_LOG:]}
        state.store.put(ATTEMPTS, external_id, attempt)
        if decision.pays:
            order = _paid(state, order, external_id)
    return attempt, order, decision


def payment_callback(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/payments/callback``: the gateway's report (authenticated by its key)."""
    body = call.body
    attempt, order, decision = _report(
        call.state, body["external_id"], body["status"], int(body["total_amount"]), body["currency"]
    )
    rules.enforce(decision)
    return 200, {
        "external_id": attempt["external_id"],
        "status": attempt["status"],
        "order_key": order["order_key"],
        "order_status": order["status"],
        "processed": decision.pays,
    }


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Mock payment gateway</title></head>
<body><h1>Mock payment gateway</h1><p>Order {order}: {amount} {currency} (attempt {attempt}, {status}).</p>
<form method="post"><button name="action" value="approve">Approve</button>
<button name="action" value="decline">Decline</button>
<button name="action" value="abandon">Abandon</button></form></body></html>"""


def gateway_page(call: Call) -> Response:
    """``GET /mock/gateway/{external_id}``: the payer's page (Approve, Decline, Abandon)."""
    attempt = call.state.store.get(ATTEMPTS, call.params["external_id"])
    rules.require_attempt(call.params["external_id"], known=attempt is not None)
    assert attempt is not None
    return HTMLResponse(
        _PAGE.format(
            order=html.escape(attempt["order_key"]),
            amount=fmt(int(attempt["amount"])),
            currency=html.escape(attempt["currency"]),
            attempt=html.escape(attempt["external_id"]),
            status=html.escape(attempt["status"]),
        )
    )


def gateway_decision(call: Call) -> tuple[int, Any]:
    """``POST /mock/gateway/{external_id}``: the gateway reports the payer's choice to the callback's logic."""
    state, external_id = call.state, call.params["external_id"]
    known = state.store.get(ATTEMPTS, external_id)
    rules.require_attempt(external_id, known=known is not None)
    assert known is not None
    status = rules.PAYER_ACTIONS[call.body["action"]]
    attempt, order, decision = _report(state, external_id, status, int(known["amount"]), known["currency"])
    rules.enforce(decision)
    return 200, {
        "external_id": external_id,
        "status": attempt["status"],
        "order_key": order["order_key"],
        "return_url": f"{state.base_url.rstrip('/')}/api/shop/orders/{order['order_key']}",
    }
