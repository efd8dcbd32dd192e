"""The shop's checkout and payment rules (seeds 002 and 003), judged in the Schemathesis phase.

Each rule is judged on what the gate's own traffic reaches (the live data sends a declined report
and a report of the wrong amount to the callback), or, where the run's own account cannot reach it,
by one probe per run as the other account or a new guest, as ``shop_foreign_order_hidden`` does:

- ``shop_callback_outcome``: a report that is not PAID never processes an order; a PAID one is
  processed only for the order's own amount and currency; once processed, the customer's cart is gone.
- ``shop_empty_cart_refused``: a checkout of an empty cart is the seed's 400 (probed as a new guest).
- ``shop_address_of_caller``: a checkout with another customer's address is refused (probed once).
- ``shop_guest_sees_own``: a new guest's order list holds none of the registered customers' orders.
- ``shop_foreign_order_unpaid``: another customer cannot start a payment attempt on an order (404).

A probe that finds the ground it needs missing (the other account's cart not empty on a shared dev
backend, no address of its own) gives no verdict rather than a wrong one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from suites.property.checks import business_check, request_json, unexpected
from suites.property.shop_checks import ShopCheck, _header, hidden_status
from villa_contracts.domain import shop as rules
from villa_contracts.domain.errors import refusal_of
from villa_contracts.domain.money import to_satang
from villa_contracts.domain.shop import PAID, PROCESSING

if TYPE_CHECKING:
    import httpx
    from schemathesis import Response

ADDRESS = {"line1": "2 Probe Lane", "city": "Bangkok", "postcode": "10110", "phone": "0812345678"}


class ShopProbe(ShopCheck):
    """A shop check that may send requests of its own, as either account or a new guest."""

    def send(self, method: str, path: str, authorization: str | None, body: Any = None) -> httpx.Response | None:
        """A request of the check's own through the run's paced client (None without a context)."""
        if self.context is None:
            return None
        headers = {"Authorization": authorization} if authorization else {}
        return self.context.http.request(method, f"{self.context.base_url}{path}", json=body, headers=headers)

    def once(self, name: str) -> bool:
        """True the first time ``name`` is asked in this run (a probe runs once)."""
        if name in self.seen:
            return False
        self.seen[name] = True
        return True


@business_check
class shop_callback_outcome(ShopProbe):  # noqa: N801 - the check's name in reports
    """A report pays only when it is PAID, of the order's amount and currency; the paid order's cart is gone."""

    OPERATIONS = frozenset({"paymentCallback"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every answered report, against what it reported and the order it names."""
        report = request_json(response)
        if op != "paymentCallback" or not isinstance(body, dict) or not isinstance(report, dict):
            return
        processed = body.get("processed") is True or body.get("order_status") == PROCESSING and body.get("processed")
        if report.get("status") != PAID and (body.get("processed") or body.get("status") == PAID):
            state = f"order {body.get('order_key')} {body.get('order_status')}, processed {body.get('processed')}"
            answered = f"{body.get('external_id')} answered status {body.get('status')}, {state}"
            raise unexpected(f"a {report.get('status')} report processes nothing", answered)
        if not processed:
            return
        key, order = self.owned(str(body.get("order_key")))
        if order is None:
            return
        total, currency = to_satang(order.get("total")), order.get("currency", "THB")
        if report.get("total_amount") != total or report.get("currency") != currency:
            sent = f"processed by a report of {report.get('total_amount')} {report.get('currency')}"
            raise unexpected(f"order {body.get('order_key')} paid only by a report of {total} {currency}", sent)
        cart = self.get("/api/shop/cart", key) if key else None
        if isinstance(cart, dict) and cart.get("item_count"):
            left = f"{cart.get('item_count')} item(s) still in it"
            raise unexpected(f"the cart of the customer of order {body.get('order_key')} gone once it is paid", left)

    def owned(self, order_key: str) -> tuple[str | None, dict[str, Any] | None]:
        """``(token key, order)`` of whichever run account owns the order (``(None, None)``: neither)."""
        for key in (self.key(0), self.key(1)):
            order = self.get(f"/api/shop/orders/{order_key}", key) if key else None
            if isinstance(order, dict):
                return key, order
        return None, None


@business_check
class shop_empty_cart_refused(ShopProbe):  # noqa: N801
    """A checkout of an empty cart is the seed's first refusal (400)."""

    OPERATIONS = frozenset({"checkoutCart"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Once, after a checkout went through: the same checkout as a new guest, whose cart is empty."""
        if op != "checkoutCart" or not self.once("probed"):
            return
        guest = self.send("POST", "/api/shop/auth/guest", None)
        token = guest.json().get("token") if guest is not None and guest.status_code == 201 else None
        if not isinstance(token, str):
            return
        answer = self.send("POST", "/api/shop/checkout/cart", f"Token {token}", request_json(response))
        empty = refusal_of(rules.check_cart_not_empty, [])
        assert empty is not None
        if answer is not None and answer.status_code != empty.status:
            raise unexpected(
                f"{empty.status} to a checkout of an empty cart (the seed's first rule)", answer.status_code
            )


@business_check
class shop_address_of_caller(ShopProbe):  # noqa: N801
    """A checkout with an address that is not the caller's is refused."""

    OPERATIONS = frozenset({"checkoutCart"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Once, after a checkout went through: the same checkout with an address of the other account."""
        request = request_json(response)
        if op != "checkoutCart" or not isinstance(request, dict) or not self.once("probed"):
            return
        mine = _header(response, "Authorization")
        other = self.other_key(mine)
        made = self.send("POST", "/api/shop/addresses", other, ADDRESS) if other else None
        cart = self.get("/api/shop/cart", mine)
        if made is None or made.status_code != 201 or not isinstance(cart, dict) or not cart.get("item_count"):
            return  # no foreign address to try, or nothing left to check out: no verdict
        foreign = made.json().get("id")
        answer = self.send("POST", "/api/shop/checkout/cart", mine, {**request, "address": foreign})
        if answer is not None and 200 <= answer.status_code < 300:
            refused = f"a checkout with address {foreign} of another customer refused (address_of_caller)"
            raise unexpected(refused, answer.status_code)


@business_check
class shop_guest_sees_own(ShopProbe):  # noqa: N801
    """A new guest's order list is its own: none of the registered customers' orders."""

    OPERATIONS = frozenset({"listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Once, after a list answered: a new guest's list."""
        if op != "listOrders" or not self.once("probed"):
            return
        guest = self.send("POST", "/api/shop/auth/guest", None)
        token = guest.json().get("token") if guest is not None and guest.status_code == 201 else None
        if not isinstance(token, str):
            return
        listed = self.get("/api/shop/orders", f"Token {token}")
        if isinstance(listed, dict) and (listed.get("count") or listed.get("results")):
            customers = sorted({str(o.get("customer")) for o in listed.get("results") or [] if isinstance(o, dict)})
            raise unexpected("a new guest's order list is empty", f"count {listed.get('count')}, orders of {customers}")


@business_check
class shop_foreign_order_unpaid(ShopProbe):  # noqa: N801
    """Another customer cannot start a payment attempt on an order: 404, as for an order that does not exist."""

    OPERATIONS = frozenset({"getOrder"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """After each order read: a payment attempt on it as the other account."""
        if op != "getOrder" or not isinstance(body, dict):
            return
        other = self.other_key(_header(response, "Authorization"))
        answer = self.send("POST", f"/api/shop/orders/{body.get('order_key')}/attempts", other) if other else None
        hidden = hidden_status(body.get("order_key"))
        if answer is not None and answer.status_code != hidden:
            hides = f"{hidden} to another customer's payment attempt on order {body.get('order_key')}"
            raise unexpected(hides, answer.status_code)
