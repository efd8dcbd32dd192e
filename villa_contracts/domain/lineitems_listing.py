"""My line-item orders (seed 004): the ``state`` and ``type`` filters, the pages, and the owner's lists.

Every name here is also ``villa_contracts.domain.lineitems``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from villa_contracts.domain.lineitems_data import TYPES


def matches(order_state: str, *, state: str | None, type_: str | None) -> bool:
    """Whether an order in ``order_state`` is named by the ``state`` and ``type`` filters (both must hold)."""
    if state is not None and order_state != state:
        return False
    return type_ is None or order_state in TYPES[type_]


def my_orders(
    orders: Iterable[Mapping[str, Any]], *, state: str | None, type_: str | None, page: int, page_size: int
) -> tuple[int, list[Mapping[str, Any]]]:
    """``(total_pages, orders of the page)``: the filtered orders, most recently updated first."""
    chosen = sorted(
        (o for o in orders if matches(o["state"], state=state, type_=type_)),
        key=lambda o: (int(o["touched"]), int(o["id"])),
        reverse=True,
    )
    total_pages = -(-len(chosen) // page_size)
    start = (page - 1) * page_size
    return total_pages, chosen[start : start + page_size]


# Each owner's orders are filed in lists ordered by ``listing_rank``: every order, one per state, one per
# type. One list holds exactly what a pair of filters names, so a page reads only its own orders.
ALL_ORDERS = "all"


def listings_of(order_state: str) -> tuple[str, ...]:
    """The owner's lists an order in ``order_state`` is filed in: every order, its state's and its type's."""
    types = tuple(f"type={name}" for name, states in TYPES.items() if order_state in states)
    return (ALL_ORDERS, f"state={order_state}", *types)


def listing_rank(order: Mapping[str, Any]) -> int:
    """An order's place in its lists: its last update (``touched``, a sequence: unique), the newest highest."""
    return int(order["touched"])


def my_orders_listing(
    *, state: str | None, type_: str | None, page: int, page_size: int
) -> tuple[str | None, int, int]:
    """``(list, start, stop)``: the list of exactly the orders both filters name, and the page's positions.

    The list is None when no order can match both filters; positions count from the newest.
    """
    if state is not None:
        listing = f"state={state}" if type_ is None or state in TYPES[type_] else None
    else:
        listing = f"type={type_}" if type_ is not None else ALL_ORDERS
    return listing, (page - 1) * page_size, page * page_size


def my_orders_page(
    candidates: Iterable[Mapping[str, Any]], count: int, *, state: str | None, type_: str | None, page_size: int
) -> tuple[int, list[Mapping[str, Any]]]:
    """``(total_pages, orders of the page)`` from the page's candidates and the size of their list.

    ``my_orders``'s answer, without reading every order: the candidates are filtered and ordered by
    the same rules, and ``count`` (what the list of ``my_orders_listing`` holds) gives the pages.
    """
    _, chosen = my_orders(candidates, state=state, type_=type_, page=1, page_size=page_size)
    return -(-count // page_size), chosen
