"""The oracle of the line-item order machine (seed 004): what a correct backend answers, by ``villa_contracts.domain``.

Like the Villa API's ``suites.property.model``, the model never looks at the target. It is told the
requests the machine makes and the answers it accepted, and predicts each next answer by calling the
rules of ``villa_contracts.domain.lineitems`` (pricing, stock, payments, delivery, expiry, my
orders): a ``RuleViolation`` becomes the predicted refusal (its status from
``villa_contracts.domain.errors.STATUS``, its check the rule's name). No HTTP, no Hypothesis: it is
unit tested without a server (tests/villa_contracts/test_lineitems_model.py).

Orders are the domain's records (``rules.new_order``) with ``owner`` the user's index (0 or 1).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from suites.property.model import Expect
from villa_contracts.domain import lineitems as rules
from villa_contracts.domain.errors import RuleViolation, refusal_of

REFUND_FIELDS = ("id", "state", "all_paid", "refunded_cents", "cancel_reason")
"""What a check of an order expired before this example compares (its stock counts have moved since)."""


class LineItemsModel:
    """The run's two users' line-item orders, as the domain has them, and what each next request must answer.

    Args:
        data: the contract's line-item data.

    Attributes:
        orders: order id → record.
        reserved: units every order holds per variant; None while the target's stock is not known
            (off a mock other clients move it: no count is predicted).
        used: PayPal reference id → the order it paid.
        now: how far the mock's clock moved since the model started (seconds).
        touched: the last update sequence number given (orders list by it, newest first).
    """

    def __init__(self, data: rules.LineItemsData) -> None:
        self.data = data
        self.orders: dict[int, dict[str, Any]] = {}
        self.reserved: dict[int, int] | None = None
        self.used: dict[str, int] = {}
        self.now = 0.0
        self.touched = 0

    # --- what the target shows ---------------------------------------------------------------------

    def view(self, order: Mapping[str, Any]) -> Any:
        """The domain's document of ``order`` as the target shows it (``shown``: off a mock, no stock count)."""
        return self.shown(rules.order_json(self.data, order, self.reserved or {}))

    def shown(self, doc: Any) -> Any:
        """``doc`` without what the model cannot predict: off a mock, other clients move stock (no count)."""
        if self.reserved is not None or not isinstance(doc, dict):
            return doc
        lines = [{**line, "variant": {**line["variant"], "stocks_count": None}} for line in doc.get("line_items") or []]
        return {**doc, "line_items": lines}

    # --- predictions ---------------------------------------------------------------------------------

    def expect_create(self, line_items: Sequence[Mapping[str, Any]]) -> Expect:
        """``createLineItemOrder`` of ``line_items``: 201, or the refusal (a shortage's ``quote``: the seed's body)."""
        try:
            priced = rules.price(self.data, line_items)
            if self.reserved is not None:
                rules.reserve(self.data, self.reserved, priced.needs)
        except rules.StockShortage as short:
            return Expect(short.status, short.rule, f"stock is short: {short.message}", quote=short.body())
        except RuleViolation as refusal:
            return Expect.of(refusal)
        if self.reserved is None:  # the stock is the target's (other clients hold some): sold out there, maybe
            sold_out = {vid: self.data.variants[vid].stock for vid in priced.needs}
            shortage = refusal_of(rules.reserve, self.data, sold_out, priced.needs)
            also = () if shortage is None else (shortage.status,)
            return Expect(201, "expected_status", "the variants are known", also=also)
        return Expect(201, "expected_status", "the variants are known and in stock")

    def expect_pay(self, user: int, order_id: int, reference: str) -> Expect:
        """``payLineItemOrder`` of ``order_id`` by ``user`` with ``reference``; ``quote``: the order once paid.

        Refused, the first that applies (the domain's order): a missing or someone else's order (404), a
        reference id PayPal does not know (404), one that paid already (409), an order not to pay (409).
        """
        order = self.orders.get(order_id)
        try:
            new = rules.decide_payment(
                self.data, order_id, order, str(user), reference, used_by=self.used.get(reference), touched=0
            )
        except RuleViolation as refusal:
            return Expect.of(refusal)
        assert new is not None  # the run's records and the sandbox's data: a paid order
        return Expect(201, "expected_status", "a payment PayPal knows, new, of an order to pay", quote=new)

    def expect_deliver(self, order_id: int, state: str) -> Expect:
        """A merchant's move of ``order_id`` to ``state`` (the admin API); ``quote``: the order moved."""
        order = self.orders.get(order_id)
        try:
            rules.require_known(order_id, order is not None)
            assert order is not None
            new = rules.move_delivery(order, state, touched=0)
        except RuleViolation as refusal:
            return Expect.of(refusal)
        return Expect(200, "expected_status", "a completed order may be delivered", quote=new)

    def left_to_pay(self, order_id: int) -> int:
        """Cents ``order_id`` has left to pay (100 for an order the model does not know)."""
        order = self.orders.get(order_id)
        if order is None:
            return 100
        return max(rules.priced_of(order).total_cents - int(order["paid_cents"]), 0)

    def mine(self, user: int) -> list[dict[str, Any]]:
        """Every order of ``user``."""
        return [o for o in self.orders.values() if o["owner"] == user]

    def page_number(self, user: int, state: str | None, type_: str | None, page: int | str) -> int:
        """``page`` as a number: ``last`` is the last of the filter's pages, ``past`` the one after it (empty)."""
        if isinstance(page, int):
            return page
        pages, _ = rules.my_orders(self.mine(user), state=state, type_=type_, page=1, page_size=self.data.page_size)
        return max(pages, 1) if page == "last" else pages + 1

    def my_orders(
        self, user: int, state: str | None, type_: str | None, page: int
    ) -> tuple[int, list[Mapping[str, Any]]]:
        """``(total_pages, orders of the page)`` of ``user``'s orders the filters name."""
        return rules.my_orders(self.mine(user), state=state, type_=type_, page=page, page_size=self.data.page_size)

    def listed_on(self, order: dict[str, Any]) -> int:
        """The page of its owner's unfiltered list that shows ``order``."""
        ranked = sorted(self.mine(order["owner"]), key=rules.listing_rank, reverse=True)
        return ranked.index(order) // self.data.page_size + 1

    def expected_refund(self, order: Mapping[str, Any]) -> dict[str, Any] | None:
        """What its owner's list shows of ``order`` once it expired (``REFUND_FIELDS``; None: gone)."""
        kept = rules.decide_expiry(order)
        return None if kept is None else {k: rules.order_json(self.data, kept, {})[k] for k in REFUND_FIELDS}

    def released(self, held: Mapping[int, int], listed: Iterable[Mapping[str, Any]]) -> dict[int, int]:
        """The reservations ``held`` once the ``listed`` orders (documents) not fully paid expired."""
        expected = dict(held)
        for doc in listed:
            if doc.get("state") in rules.TYPES["not_completed"]:
                needs = {int(i["variant"]["id"]): int(i["quantity"]) for i in doc.get("line_items") or []}
                expected = rules.release(expected, needs)
        return expected

    # --- what the target did (accepted answers) ------------------------------------------------------

    def created(self, order_id: int, user: int, body: Mapping[str, Any]) -> dict[str, Any]:
        """The target made order ``order_id`` of ``body`` for ``user`` (201): priced, its stock held, the newest."""
        priced = rules.price(self.data, body["line_items"])
        if self.reserved is not None:
            self.reserved = rules.reserve(self.data, self.reserved, priced.needs)
        order = rules.new_order(order_id, "", priced, body, now=self.now, touched=0)
        order["owner"] = user
        return self._store(order)

    def paid(self, reference: str, new: dict[str, Any]) -> dict[str, Any]:
        """The target took a payment with ``reference`` (201): the order is ``expect_pay``'s ``quote``."""
        self.used[reference] = int(new["id"])
        return self._store(new)

    def delivered(self, new: dict[str, Any]) -> dict[str, Any]:
        """The target moved an order (200): it is ``expect_deliver``'s ``quote``."""
        return self._store(new)

    def adopt(self, user: int, doc: Mapping[str, Any]) -> dict[str, Any]:
        """An order listed before the model started (its document), its creation long past."""
        lines = [[int(item["variant"]["id"]), int(item["quantity"]), int(item["variant"]["price_cents"])]
                 for item in doc["line_items"]]  # fmt: skip
        shipping = [[str(i["merchant"]), int(i["shipping_fee_cents"])] for i in doc["shipping_fee_items"]]
        order = {
            "id": int(doc["id"]), "owner": user, "state": doc["state"],
            "paid_cents": int(doc["total_cents"]) if doc["all_paid"] else int(doc.get("refunded_cents") or 0),
            "references": [], "created_at": float("-inf"), "touched": 0, "remarks": doc.get("remarks"),
            "ship_address": {k: v for k, v in doc["ship_address"].items() if k != "full_name"},
            "lines": lines, "shipping": shipping,
        }  # fmt: skip
        if doc["state"] == rules.CANCELED:
            order |= {"refunded_cents": doc["refunded_cents"], "cancel_reason": doc["cancel_reason"]}
        return self._store(order)

    def time_passes(self, seconds: float) -> list[tuple[int, dict[str, Any] | None]]:
        """The clock moved ``seconds``: each order due expires as ``rules.decide_expiry`` decides, its stock back.

        Returns:
            ``(order id, the record kept or None when deleted)`` of every order that expired.
        """
        self.now += seconds
        expired: list[tuple[int, dict[str, Any] | None]] = []
        for order_id, order in list(self.orders.items()):
            if not rules.is_expired(self.data, order, self.now):
                continue
            kept = rules.decide_expiry(order)
            if kept is None:
                del self.orders[order_id]
            else:
                self.orders[order_id] = kept
            if self.reserved is not None:
                self.reserved = rules.release(self.reserved, rules.priced_of(order).needs)
            expired.append((order_id, kept))
        return expired

    def _store(self, order: dict[str, Any]) -> dict[str, Any]:
        self.touched += 1
        order["touched"] = self.touched
        self.orders[int(order["id"])] = order
        return order


__all__ = ["REFUND_FIELDS", "LineItemsModel"]
