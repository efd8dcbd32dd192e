"""The shop's business checks (seeds 002 and 003), as Schemathesis checks of the gate.

- ``shop_totals``: line totals, items totals, item counts and ``total = items_total + shipping_fee``
  add up to the satang, in carts, orders and snapshots.
- ``shop_catalog_prices``: unit prices are the catalog's at the store's branch and fees the
  shipping method's (only on a mock: it uses the contract's data).
- ``shop_status``: HOLD is unpaid without a snapshot, PROCESSING paid with one, CANCELLED never paid;
  an order once PROCESSING or CANCELLED never goes back to HOLD.
- ``shop_owner``: an order answered to a caller is the caller's (``customer`` = their identity).
- ``shop_foreign_order_hidden``: an order one account reads is 404 for the other account.
- ``shop_snapshot``: a snapshot is what the order bought, and once seen it never changes.
- ``shop_cart_kept``: a redirect checkout leaves the cart as it was (the cart goes only after a
  successful payment); a direct checkout (processed at once) empties it.
- ``shop_one_payment``: an order is paid by exactly one attempt: the PAID attempt is its snapshot's,
  there is exactly one, and a callback processes an order at most once.
- ``shop_pages``: the order list's pages (``suites.property.paging``): each answer's totals, size
  and echo; and, with a run's context, every page of the same ``page_size`` read again: disjoint,
  together the caller's whole list (one page of the largest size), a page past the end empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from suites.property.checks import BusinessCheck, _raise, business_check, get_as, orders_listed, unexpected
from suites.property.invariants import Problem
from suites.property.paging import (
    Judgement,
    Page,
    Walk,
    already_read,
    confirmed,
    message,
    page_problems,
    parameter_bounds,
    query_int,
    query_of,
    read_page,
    walk,
    walk_problems,
)
from suites.property.shop_invariants import (
    cart_problems,
    order_total_problems,
    snapshot_problems,
    status_problems,
)
from villa_contracts.domain import shop as rules
from villa_contracts.domain.errors import refusal_of
from villa_contracts.domain.money import fmt
from villa_contracts.domain.shop import CANCELLED, HOLD, PAID, PROCESSING, REDIRECT, ShopData

if TYPE_CHECKING:
    from collections.abc import Mapping

    from schemathesis import Response

    from suites.context import RunContext
    from villa_contracts.contract import Contracts

CART_OPS = {"getCart", "addCartItem", "changeCartItem", "removeCartItem"}
ORDER_OPS = {"getOrder", "getOrderToPay"}


def orders_in(op: str, body: Any) -> list[dict[str, Any]]:
    """The order documents an answer of ``op`` carries."""
    return orders_listed(op, body, order_ops=ORDER_OPS, list_ops={"listOrders"}, items="results")


def hidden_status(order_key: Any) -> int:
    """The status an order answers to another customer (``rules.require_visible``): a missing order's."""
    hidden = refusal_of(rules.require_visible, order_key, "its owner", "another customer")
    assert hidden is not None
    return hidden.status


def _header(response: Response, name: str) -> str:
    value = response.request.headers.get(name) or ""
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


class ShopCheck(BusinessCheck):
    """A business check of the shop contract."""

    CONTRACTS: ClassVar[frozenset[str]] = frozenset({"shop"})

    def __init__(self, context: RunContext | None = None, contract: str = "shop") -> None:
        super().__init__(context, contract)
        self.seen: dict[str, Any] = {}

    def get(self, path: str, authorization: str) -> Any:
        """``GET`` through the run's paced client with the same token key (None without a context)."""
        if self.context is None:
            return None
        answer = self.context.http.get(f"{self.context.base_url}{path}", headers={"Authorization": authorization})
        return answer.json() if answer.status_code == 200 else None

    def key(self, index: int) -> str | None:
        """Account ``index``'s ``Authorization`` value (its token key), or None."""
        from suites.auth import token_key_headers

        if self.context is None:
            return None
        headers = token_key_headers(self.context, index)
        return headers["Authorization"] if headers else None

    def other_key(self, mine: str) -> str | None:
        """The token key of the run's account that is not ``mine``."""
        return next((key for key in (self.key(0), self.key(1)) if key is not None and key != mine), None)

    def identity(self, authorization: str) -> str | None:
        """The customer identity of a token key (its profile's ``customer``), once per key."""
        if authorization not in self.seen:
            profile = self.get("/api/shop/profile", authorization)
            self.seen[authorization] = profile.get("customer") if isinstance(profile, dict) else None
        found = self.seen[authorization]
        return str(found) if found is not None else None


@business_check
class shop_totals(ShopCheck):  # noqa: N801 - the check's name in reports
    """Carts, orders and snapshots add up."""

    OPERATIONS = frozenset({*CART_OPS, *ORDER_OPS, "listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every cart and order document of the answer."""
        if op in CART_OPS:
            _raise(cart_problems(body))
        for order in orders_in(op, body):
            _raise(order_total_problems(order))


@business_check
class shop_catalog_prices(ShopCheck):  # noqa: N801
    """Unit prices are the catalog's and fees the shipping method's (on a mock, which uses the contract's data)."""

    OPERATIONS = frozenset({*CART_OPS, *ORDER_OPS, "listOrders"})

    def __init__(self, context: RunContext | None = None, contract: str = "shop") -> None:
        super().__init__(context, contract)
        self.prices: dict[int, int] = {}
        self.fees: dict[int, int] = {}
        if context is not None and context.target.is_mock:
            shop = ShopData.from_contract(context.contracts)
            for code, product in context.data.products.items():
                if shop.branch in product.offers:
                    self.prices[code] = product.offers[shop.branch].price
            self.fees = {m.id: m.fee for m in shop.shipping_methods.values()}

    def use_catalog(self, prices: Mapping[tuple[int, str], int], contracts: Contracts | None) -> None:
        """Judge against ``(cprcode, branch) → satang`` (the proxy's catalog): the shop's branch, its shipping fees."""
        if contracts is None:
            return
        shop = ShopData.from_contract(contracts)
        self.prices = {code: price for (code, branch), price in prices.items() if branch == shop.branch}
        self.fees = {m.id: m.fee for m in shop.shipping_methods.values()}

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Cart lines and order lines."""
        if not self.prices or not isinstance(body, dict):
            return
        lines = list(body.get("items") or []) if op in CART_OPS else []
        problems: list[Problem] = []
        for order in orders_in(op, body):
            lines += order.get("items") or []
            method = (order.get("shipping_method") or {}).get("id")
            if isinstance(method, int) and method in self.fees and order.get("shipping_fee") != fmt(self.fees[method]):
                problems.append(
                    Problem(
                        "shop_catalog_prices", f"shipping_fee {fmt(self.fees[method])}", repr(order.get("shipping_fee"))
                    )
                )
        for item in lines:
            code = item.get("product_id") if isinstance(item, dict) else None
            price = self.prices.get(code) if isinstance(code, int) else None
            if price is not None and item.get("unit_price") != fmt(price):
                problems.append(
                    Problem(
                        "shop_catalog_prices",
                        f"product {item.get('product_id')}: unit_price {fmt(price)} (the catalog's)",
                        repr(item.get("unit_price")),
                    )
                )
        _raise(problems)


@business_check
class shop_status(ShopCheck):  # noqa: N801
    """Status and payment agree, and an order never goes back to HOLD."""

    OPERATIONS = frozenset({*ORDER_OPS, "listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer, against the last status seen."""
        for order in orders_in(op, body):
            _raise(status_problems(order))
            key, status = str(order.get("order_key")), order.get("status")
            before = self.seen.get(key)
            if before in (PROCESSING, CANCELLED) and status != before:
                raise unexpected(f"order {key} stays {before}", status)
            if before == HOLD or before is None:
                self.seen[key] = status


@business_check
class shop_owner(ShopCheck):  # noqa: N801
    """Orders answered to a caller are the caller's."""

    OPERATIONS = frozenset({*ORDER_OPS, "listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every order document of the answer, against the caller's identity."""
        orders = orders_in(op, body)
        if not orders:
            return
        identity = self.identity(_header(response, "Authorization"))
        for order in orders:
            if identity is not None and order.get("customer") != identity:
                raise unexpected(
                    f"order {order.get('order_key')} of the caller {identity}", f"customer {order.get('customer')!r}"
                )


@business_check
class shop_foreign_order_hidden(ShopCheck):  # noqa: N801
    """An order one account reads is 404 for the other account, exactly like a missing one."""

    OPERATIONS = frozenset({"getOrder"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Ask for the order with the other account's token key."""
        context = self.context
        if context is None or op != "getOrder" or not isinstance(body, dict):
            return
        other = self.other_key(_header(response, "Authorization"))
        if other is None:
            return
        key = body.get("order_key")
        probe = context.http.get(f"{context.base_url}/api/shop/orders/{key}", headers={"Authorization": other})
        hidden = hidden_status(key)
        if probe.status_code != hidden:
            raise unexpected(f"order {key} is {hidden} to another customer", probe.status_code)


@business_check
class shop_snapshot(ShopCheck):  # noqa: N801
    """A snapshot is what the order bought and never changes once taken."""

    OPERATIONS = frozenset({*ORDER_OPS, "listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Every paid order document of the answer, against the first snapshot seen of it."""
        for order in orders_in(op, body):
            _raise(snapshot_problems(order))
            snapshot, key = order.get("snapshot"), str(order.get("order_key"))
            if snapshot is None:
                continue
            before = self.seen.setdefault(key, snapshot)
            if before != snapshot:
                raise unexpected(f"the snapshot of order {key} unchanged: {before!r}", repr(snapshot))


@business_check
class shop_cart_kept(ShopCheck):  # noqa: N801
    """A redirect checkout keeps the cart (gone only after a successful payment); a direct one empties it."""

    OPERATIONS = frozenset({"checkoutCart"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Read the caller's cart after each successful checkout."""
        if op != "checkoutCart" or not isinstance(body, dict):
            return
        cart = self.get("/api/shop/cart", _header(response, "Authorization"))
        if not isinstance(cart, dict):
            return
        count = cart.get("item_count")
        if "next_step" in body and not count:
            raise unexpected("the cart kept after a redirect checkout (not paid yet)", "an empty cart")
        if "order_key" in body and count:
            raise unexpected("the cart deleted after a direct checkout (paid at once)", f"{count} item(s) left")


@business_check
class shop_one_payment(ShopCheck):  # noqa: N801
    """An order is paid by exactly one attempt, the one its snapshot names; a callback processes it once."""

    OPERATIONS = frozenset({"paymentCallback", *ORDER_OPS, "listOrders"})

    def judge(self, op: str, body: Any, response: Response) -> None:
        """Callbacks, and the attempts of every paid redirect order answered."""
        if op == "paymentCallback" and isinstance(body, dict) and body.get("processed"):
            key = str(body.get("order_key"))
            if key in self.seen:
                again = f"processed again by {body.get('external_id')} (first by {self.seen[key]})"
                raise unexpected(f"order {key} processed to paid once", again)
            self.seen[key] = body.get("external_id")
        for order in orders_in(op, body):
            if order.get("status") != PROCESSING or (order.get("payment_method") or {}).get("kind") != REDIRECT:
                continue
            attempts = self.get(
                f"/api/shop/orders/{order.get('order_key')}/attempts", _header(response, "Authorization")
            )
            if not isinstance(attempts, dict):
                continue
            paid = [a.get("external_id") for a in attempts.get("results") or [] if a.get("status") == PAID]
            named = (order.get("snapshot") or {}).get("payment_external_id")
            if paid != [named]:
                raise unexpected(
                    f"order {order.get('order_key')} paid by exactly one attempt, {named}", f"PAID attempts {paid}"
                )


@business_check
class shop_pages(ShopCheck):  # noqa: N801
    """The order list's pages are disjoint, together the caller's whole list, totals consistent, past the end empty."""

    OPERATIONS = frozenset({"listOrders"})

    OPERATION: ClassVar[str] = "listOrders"

    def __init__(self, context: RunContext | None = None, contract: str = "shop") -> None:
        super().__init__(context, contract)
        from villa_contracts.contract import load

        shop = (context.contracts if context is not None else load())["shop"]
        operation = shop.operations[self.OPERATION]
        self.path = operation.path
        self.page = parameter_bounds(shop.openapi, operation.spec, "page")
        self.size = parameter_bounds(shop.openapi, operation.spec, "page_size")
        self.walked: dict[tuple[str, int], Walk] = {}

    def judge(self, op: str, body: Any, response: Response) -> None:
        """A list answer on its own; then (once per list seen) every page of its ``page_size``, read twice on doubt."""
        if op != self.OPERATION:
            return
        query = query_of(str(response.request.url))
        number = query_int(query, "page", self.page[0], low=self.page[1], high=self.page[2])
        size = query_int(query, "page_size", self.size[0], low=self.size[1], high=self.size[2])
        if number is None or size is None:
            return
        page = read_page(number, 200, body, items="results", id_key="order_key", counted=True)
        if page is None:
            return
        problems = page_problems(page, page_size=size, check="shop_pages")
        if problems:
            raise AssertionError(message(f"GET {self.path}?page={number}&page_size={size} as answered", problems))
        authorization = _header(response, "Authorization")
        if self.context is None or already_read(page, self.walked.get((authorization, size))):
            return  # the proxy (no context) sends nothing; a list already walked as it is now is not read again
        problems, headline = confirmed(lambda: self._read(authorization, size))
        if problems:
            raise AssertionError(message(headline, problems))

    def _read(self, authorization: str, size: int) -> Judgement | None:
        largest = self.size[2] or size
        whole = None if size == largest else self._fetch(authorization, largest, 1)
        walked = walk(lambda n: self._fetch(authorization, size, n), max_page=self.page[2])
        if walked is None or (size != largest and whole is None):
            return None
        self.walked[(authorization, size)] = walked
        one_page = whole is not None and whole.status == 200 and (whole.total_pages or 0) <= 1
        known = whole.ids if whole and one_page and not page_problems(whole, page_size=largest, check="") else None
        problems = walk_problems(walked, page_size=size, check="shop_pages", whole=known,
                                 whole_name=f"page 1 of page_size {largest}")  # fmt: skip
        signature = (whole.signature if whole else None, walked.signature)
        return signature, problems, walked.describe(f"GET {self.path}?page_size={size}")

    def _fetch(self, authorization: str, size: int, number: int) -> Page | None:
        assert self.context is not None
        got = get_as(self.context, self.path, {"page": number, "page_size": size}, authorization)
        return None if got is None else read_page(number, *got, items="results", id_key="order_key", counted=True)
