"""The line-item order API (seed 004): create with stock reserved, PayPal payments, my orders, expiry.

Records, by storage kind: ``li_orders`` by order id, filed in its owner's ordered lists
(``li_lists:<sub>:<list>``, ``villa_contracts.domain.lineitems.listings_of``: every order, its
state's, its type's; ranked by last update), so a page of my orders reads only its own orders;
``li_used_references`` (PayPal reference id → the order it paid);
``li_stock`` (one record: units each variant's orders hold); ``li_expiry``, a queue of orders in
creation order, which ``expire_due`` (a sweeper every API request runs, ``mock_server.expiry``)
walks from its head (``li_expiry_head``) to expire orders not fully paid 5 hours after creation:
their stock back, deleted, or kept ``canceled`` with their payments refunded when they were partly paid.

Every decision is ``villa_contracts.domain.lineitems``'s; these functions load, call it, and store.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server.expiry import sweep, sweeper
from villa_contracts.domain import cards
from villa_contracts.domain import lineitems as rules

if TYPE_CHECKING:
    from mock_server.dispatch import Call
    from mock_server.state import MockState

ORDERS = "li_orders"
LISTS = "li_lists"
USED = "li_used_references"
STOCK = "li_stock"
STOCK_KEY = "variants"
EXPIRY = "li_expiry"
EXPIRY_HEAD = "li_expiry_head"


def reserved(state: MockState) -> dict[int, int]:
    """Units each variant's orders hold now."""
    return {int(k): int(v) for k, v in (state.store.get(STOCK, STOCK_KEY) or {}).items()}


def _store_reserved(state: MockState, units: dict[int, int]) -> None:
    state.store.put(STOCK, STOCK_KEY, {str(k): v for k, v in units.items()})


def _touch(state: MockState) -> int:
    return state.store.next_sequence("li_touched")


def _list_name(owner: str, listing: str) -> str:
    return f"{LISTS}:{owner}:{listing}"


def file_in_lists(state: MockState, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
    """Keep the owner's lists in step with an order that was ``old`` and is ``new`` (None: absent)."""
    kept = set(rules.listings_of(new["state"])) if new is not None else set()
    if old is not None:
        for listing in set(rules.listings_of(old["state"])) - kept:
            state.store.index_drop(_list_name(old["owner"], listing), str(old["id"]))
    if new is not None:
        for listing in sorted(kept):
            state.store.index_put(_list_name(new["owner"], listing), str(new["id"]), rules.listing_rank(new))


@sweeper
def expire_due(state: MockState) -> float:
    """Expire every order not fully paid 5 hours after creation, oldest first: its stock back, its money refunded.

    What becomes of it is ``rules.decide_expiry``'s: deleted when nothing was paid, else kept ``canceled``
    with its payments refunded. Orders join the queue in creation order, so only its head is ever looked
    at: O(1) when nothing is due.
    """
    data = state.lineitems
    now = state.clock.now()
    # A look without the store's lock first (as the shop's sweeper): on a store shared by processes,
    # locking on every request would serialise them all; the transaction checks again before it changes anything.
    head = int((state.store.get(EXPIRY_HEAD, "head") or {"next": 1})["next"])
    due = state.store.get(EXPIRY, str(head))
    if due is None or now < float(due["expires_at"]):
        return now + data.expiry_seconds if due is None else float(due["expires_at"])
    while True:
        with state.store.transaction():
            head = int((state.store.get(EXPIRY_HEAD, "head") or {"next": 1})["next"])
            due = state.store.get(EXPIRY, str(head))
            if due is None or now < float(due["expires_at"]):
                return now + data.expiry_seconds if due is None else float(due["expires_at"])
            order = state.store.get(ORDERS, str(due["id"]))
            if order is not None and rules.is_expired(data, order, now):
                # One transaction: the stock, the refund and the record its owner reads are written together.
                _store_reserved(state, rules.release(reserved(state), rules.priced_of(order).needs))
                kept = rules.decide_expiry(order)
                if kept is None:
                    state.store.delete(ORDERS, str(order["id"]))
                else:
                    state.store.put(ORDERS, str(order["id"]), kept)
                file_in_lists(state, order, kept)
            state.store.delete(EXPIRY, str(head))
            state.store.put(EXPIRY_HEAD, "head", {"next": head + 1})


def create_order(call: Call) -> tuple[int, Any]:
    """``POST /api/v1/orders.json``: price, reserve the stock, store; short stock answers the seed's body."""
    state, body = call.state, call.body
    data = state.lineitems
    cards.refuse_card_data(body, known=state.data.cards)
    priced = rules.price(data, body["line_items"])
    with state.store.transaction():
        try:
            units = rules.reserve(data, reserved(state), priced.needs)
        except rules.StockShortage as exc:
            return exc.status, exc.body()  # the seed's body, validated as every answer is
        _store_reserved(state, units)
        order_id = state.store.next_sequence("li_order")
        now = state.clock.now()
        order = rules.new_order(order_id, call.sub, priced, body, now=now, touched=_touch(state))
        state.store.put(ORDERS, str(order_id), order)
        file_in_lists(state, None, order)
        queued = state.store.next_sequence("li_expiry")
        state.store.put(EXPIRY, str(queued), {"id": order_id, "expires_at": rules.expires_at(data, now)})
        answer = rules.order_json(data, order, units)
    return 201, answer


def pay_order(call: Call) -> tuple[int, Any]:
    """``POST /api/orders/{id}/payments``: ask the sandbox what the reference id paid, then apply it."""
    state = call.state
    data = state.lineitems
    reference_id = str(call.body["reference_id"])
    order_id = int(call.params["id"])
    with state.store.transaction():
        before = state.store.get(ORDERS, str(order_id))
        used = state.store.get(USED, reference_id)
        used_by = int(used["order"]) if used else None
        touched = _touch(state)
        order = rules.decide_payment(data, order_id, before, call.sub, reference_id, used_by=used_by, touched=touched)
        assert before is not None and order is not None  # the whole record and the sandbox's data: a paid order
        state.store.put(USED, reference_id, {"order": order["id"]})
        state.store.put(ORDERS, str(order["id"]), order)
        file_in_lists(state, before, order)
        answer = rules.order_json(data, order, reserved(state))
    return 201, answer


def list_orders(call: Call) -> tuple[int, Any]:
    """``GET /api/orders.json`` and ``GET /api/orders``: the caller's orders, filtered, newest update first.

    Only the page's orders are read: the list the filters name gives their ids and its size.
    """
    state = call.state
    data = state.lineitems
    wanted, type_ = call.params.get("state"), call.params.get("type")
    listing, start, stop = rules.my_orders_listing(
        state=wanted, type_=type_, page=int(call.params.get("page", 1)), page_size=data.page_size
    )
    count, candidates = 0, []
    if listing is not None:
        name = _list_name(call.sub, listing)
        count = state.store.index_count(name)
        ids = state.store.index_range(name, start, stop, descending=True)
        candidates = [o for o in state.store.get_many(ORDERS, ids) if o is not None]
    total_pages, chosen = rules.my_orders_page(candidates, count, state=wanted, type_=type_, page_size=data.page_size)
    units = reserved(state)
    return 200, {"total_pages": total_pages, "orders": [rules.order_json(data, o, units) for o in chosen]}


# --- the admin API's part -----------------------------------------------------------------------


def move_state(call: Call) -> tuple[int, Any]:
    """``PUT /__admin/lineitems/orders/{id}/state``: a merchant delivers (part of) a completed order."""
    state = call.state
    sweep(state)  # an expired order is gone for the admin too
    with state.store.transaction():
        before = state.store.get(ORDERS, str(int(call.params["id"])))
        rules.require_known(int(call.params["id"]), before is not None)
        assert before is not None
        order = rules.move_delivery(before, str(call.body["state"]), touched=_touch(state))
        state.store.put(ORDERS, str(order["id"]), order)
        file_in_lists(state, before, order)
    return 200, {"id": order["id"], "state": order["state"]}


def variant_stock(call: Call) -> tuple[int, Any]:
    """``GET /__admin/lineitems/stock``: every variant's stock, what orders hold, and what is free."""
    state = call.state
    data = state.lineitems
    sweep(state)  # what expired is free again
    units = reserved(state)
    return 200, {
        "variants": {
            str(vid): {"stock": v.stock, "reserved": units.get(vid, 0), "free": rules.free_stock(data, units, vid)}
            for vid, v in sorted(data.variants.items())
        }
    }
