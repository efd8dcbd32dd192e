"""Pagination judged (``suites.property.paging``), and the checks that walk a list's pages (shop_pages, li_pages).

The pure rules are tested on lists paged correctly and wrongly; the checks on in-process fake backends
(an ``httpx.MockTransport``): a correct one, broken ones, and one whose list changes while it is read.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from suites.property.lineitems_checks import li_pages
from suites.property.paging import (
    PAGE_LIMIT,
    Page,
    Walk,
    already_read,
    confirmed,
    expected_size,
    filtered,
    message,
    page_problems,
    parameter_bounds,
    query_int,
    read_page,
    walk,
    walk_problems,
)
from suites.property.shop_checks import shop_pages
from villa_contracts.contract import load

Pager = Callable[[list[str], int, int], list[str]]


def correct(items: list[str], number: int, size: int) -> list[str]:
    return items[(number - 1) * size : number * size]


def shifted(items: list[str], number: int, size: int) -> list[str]:
    """Page n answers page n−1's items."""
    return correct(items, max(number - 1, 1), size)


def past_end_repeats_last(items: list[str], number: int, size: int) -> list[str]:
    last = max(math.ceil(len(items) / size), 1)
    return correct(items, min(number, last), size)


def overlapping(items: list[str], number: int, size: int) -> list[str]:
    """Page n starts with page n−1's last item."""
    own = correct(items, number, size)
    return own if number == 1 else (correct(items, number - 1, size)[-1:] + own)[:size]


def pager(
    items: list[str], size: int, *, paging: Pager = correct, counted: bool = True, total_pages: int | None = None
):
    """A fetch over ``items`` that answers like the shop's list (``count``, echo) or the line-item one."""
    calls: list[int] = []

    def fetch(number: int) -> Page | None:
        calls.append(number)
        body: dict[str, Any] = {
            "total_pages": math.ceil(len(items) / size) if total_pages is None else total_pages,
            "results": [{"key": item} for item in paging(items, number, size)],
        }
        if counted:
            body.update(count=len(items), page=number, page_size=size)
        return read_page(number, 200, body, items="results", id_key="key", counted=counted)

    return fetch, calls


def keys(n: int) -> list[str]:
    return [f"ORD-{i:04d}" for i in range(n, 0, -1)]


# --- the pure rules -------------------------------------------------------------------------------


@given(n=st.integers(0, 60), size=st.integers(1, 12), counted=st.booleans())
def test_a_correctly_paged_list_breaks_no_rule(n: int, size: int, counted: bool) -> None:
    items = keys(n)
    fetch, _ = pager(items, size, counted=counted)
    walked = walk(fetch)
    assert walked is not None
    assert walk_problems(walked, page_size=size, check="pages", whole=items if walked.complete else None) == []
    if walked.complete:
        assert walked.listed() == items


def test_a_walk_reads_every_page_then_the_one_past_the_end() -> None:
    fetch, calls = pager(keys(25), 10)
    walked = walk(fetch)
    assert walked is not None and walked.complete
    assert calls == [1, 2, 3, 4]
    assert walked.listed() == keys(25)


def test_a_long_list_is_walked_politely_and_says_so() -> None:
    fetch, calls = pager(keys(370), 10)
    walked = walk(fetch)
    assert walked is not None
    assert calls == [*range(1, PAGE_LIMIT + 1), 37, 38]
    assert not walked.complete
    assert walked.listed() == keys(370)[: PAGE_LIMIT * 10]
    assert "the first 10, the last and the next" in walked.describe("GET /x?page_size=10")
    assert walk_problems(walked, page_size=10, check="pages") == []


def test_an_empty_list_is_one_empty_page() -> None:
    fetch, calls = pager([], 10)
    walked = walk(fetch)
    assert walked is not None and calls == [1]
    assert walk_problems(walked, page_size=10, check="pages", whole=[]) == []


def test_a_page_that_cannot_be_read_gives_no_walk() -> None:
    assert walk(lambda number: None) is None
    fetch, _ = pager(keys(30), 10)
    assert walk(lambda number: fetch(number) if number < 3 else None) is None


def test_page_n_answering_page_n_minus_1_is_caught_with_the_pages_and_ids() -> None:
    items = keys(3)
    fetch, _ = pager(items, 1, paging=shifted)
    walked = walk(fetch)
    assert walked is not None
    problems = walk_problems(walked, page_size=1, check="shop_pages", whole=items, whole_name="page 1 of 100")
    text = message(walked.describe("GET /api/shop/orders?page_size=1"), problems)
    assert "expected: pages 1 and 2 disjoint\ngot: both list [ORD-0003] (1)" in text
    assert "page 4 (page_size 1) is past the end (total_pages 3, count 3): no items" in text
    assert "missing [ORD-0001] (1)" in text
    assert text.startswith("GET /api/shop/orders?page_size=1: read pages 1, 2, 3, 4 (every page")


def test_a_page_past_the_end_repeating_the_last_is_caught() -> None:
    fetch, _ = pager(keys(5), 2, paging=past_end_repeats_last)
    walked = walk(fetch)
    assert walked is not None
    problems = walk_problems(walked, page_size=2, check="shop_pages")
    assert [p.expected for p in problems] == [
        "page 4 (page_size 2) is past the end (total_pages 3, count 5): no items",
        "pages 3 and 4 disjoint",
    ]
    assert problems[0].got == "[ORD-0001] (1)"


def test_overlapping_pages_are_caught_without_a_count() -> None:
    fetch, _ = pager(keys(25), 10, paging=overlapping, counted=False)
    walked = walk(fetch)
    assert walked is not None
    expected = [p.expected for p in walk_problems(walked, page_size=10, check="li_pages")]
    assert expected == [
        "page 4 (page_size 10) is past the end (total_pages 3): no items",
        "pages 1 and 2 disjoint",
        "pages 3 and 4 disjoint",
    ]  # pages 2 and 3 do not share: page 2 lost its own last item to the shift


def test_total_pages_one_short_is_caught() -> None:
    fetch, _ = pager(keys(25), 10, counted=False, total_pages=2)
    walked = walk(fetch)
    assert walked is not None
    problems = walk_problems(walked, page_size=10, check="li_pages")
    assert [(p.expected, p.got) for p in problems] == [
        ("page 3 (page_size 10) is past the end (total_pages 2): no items", "[ORD-0005, ORD-0004, ORD-0003, "
         "ORD-0002, ORD-0001] (5)")
    ]  # fmt: skip


def test_the_whole_list_is_compared_as_a_set() -> None:
    # Orders of the same instant may come in any order: only what is missing or foreign counts.
    items = keys(4)
    fetch, _ = pager(items, 2)
    walked = walk(fetch)
    assert walked is not None
    assert walk_problems(walked, page_size=2, check="shop_pages", whole=items[::-1], whole_name="one page") == []
    problems = walk_problems(walked, page_size=2, check="shop_pages", whole=[*items[:3], "ORD-9999"], whole_name="x")
    assert [p.got for p in problems] == ["missing [ORD-9999] (1); not in it [ORD-0001] (1)"]


@pytest.mark.parametrize(
    ("page", "problem"),
    [
        (Page(1, 200, ("a",), total_pages=2, count=1, echo=(1, 10)), "total_pages = ⌈count 1 / 10⌉"),
        (Page(1, 200, ("a", "a"), total_pages=1, count=2, echo=(1, 10)), "page 1 (page_size 10): each item once"),
        (Page(2, 200, ("a",), total_pages=2, count=11, echo=(1, 10)), "page 2, page_size 10 answered back"),
        (Page(1, 200, ("a",), total_pages=2, count=None), "a page before the last (total_pages 2): 10 item(s)"),
        (Page(1, 200, (), total_pages=1), "the last page (total_pages 1): 1 to 10 item(s)"),
        (Page(1, 200, ("a",), total_pages=0), "page 1 (page_size 10) is past the end (total_pages 0): no items"),
    ],
)
def test_one_page_on_its_own(page: Page, problem: str) -> None:
    found = page_problems(page, page_size=10, check="pages")
    assert any(problem in p.expected for p in found), found


def test_one_correct_page_on_its_own_breaks_nothing() -> None:
    assert page_problems(Page(2, 200, ("k",), total_pages=2, count=11, echo=(2, 10)), page_size=10, check="x") == []
    assert page_problems(Page(1, 404), page_size=10, check="x") == []


def test_a_page_answered_with_an_error_status_is_named() -> None:
    pages = (Page(1, 200, tuple("abcdefghij"), total_pages=2), Page(2, 500), Page(3, 200, (), total_pages=2))
    problems = walk_problems(Walk(pages, 2, True), page_size=10, check="li_pages")
    assert [(p.expected, p.got) for p in problems][0] == ("page 2 answered 200, as page 1 did", "HTTP 500")


def test_pages_that_disagree_on_the_totals_are_caught() -> None:
    pages = (Page(1, 200, tuple("abcdefghij"), total_pages=2), Page(2, 200, ("k",), total_pages=3))
    problems = walk_problems(Walk(pages, 2, True), page_size=10, check="li_pages")
    assert problems[0].got == "total_pages 3, count None"


@pytest.mark.parametrize(
    ("number", "total", "count", "expected"),
    [(1, 3, None, (10, 10)), (3, 3, None, (1, 10)), (4, 3, None, (0, 0)), (3, 3, 25, (5, 5)), (1, 0, 0, (0, 0))],
)
def test_expected_size(number: int, total: int, count: int | None, expected: tuple[int, int]) -> None:
    assert expected_size(number, total, 10, count) == expected


def test_read_page() -> None:
    body = {"count": 1, "page": 1, "page_size": 10, "total_pages": 1, "results": [{"order_key": "K", "status": "HOLD"}]}
    page = read_page(1, 200, body, items="results", id_key="order_key", counted=True)
    assert page == Page(1, 200, ("K",), (), 1, 1, (1, 10))
    orders = {"total_pages": 1, "orders": [{"id": 7, "state": "payment"}]}
    assert read_page(1, 200, orders, items="orders", id_key="id", state_key="state") == Page(
        1, 200, ("7",), ("payment",), 1
    )
    assert read_page(2, 404, None, items="orders", id_key="id") == Page(2, 404)
    assert read_page(1, 200, {"orders": "none"}, items="orders", id_key="id") is None
    assert read_page(1, 200, {"orders": [], "total_pages": True}, items="orders", id_key="id") == Page(1, 200)


def test_already_read() -> None:
    fetch, _ = pager(keys(15), 10)
    walked = walk(fetch)
    assert walked is not None
    assert already_read(walked.pages[1], walked)
    assert already_read(Page(9, 200, (), total_pages=2, count=15, echo=(9, 10)), walked)  # far past the end
    assert not already_read(Page(9, 200, (), total_pages=2, count=16, echo=(9, 10)), walked)  # the list grew
    assert not already_read(Page(1, 200, ("new",), total_pages=2, count=16), walked)
    assert not already_read(walked.pages[0], None)


def test_confirmed_needs_the_same_reads_twice() -> None:
    answers = iter([(("a",), ["p"], "h"), (("b",), ["p"], "h")])
    assert confirmed(lambda: next(answers)) == ([], "")  # the list changed in between: no verdict
    answers = iter([(("a",), ["p"], "h"), (("a",), ["p"], "h")])
    assert confirmed(lambda: next(answers)) == (["p"], "h")
    reads: list[int] = []

    def clean() -> tuple[tuple[str, ...], list[str], str]:
        reads.append(1)
        return ("a",), [], "h"

    assert confirmed(clean) == ([], "") and reads == [1]  # a clean list is read once
    assert confirmed(lambda: None) == ([], "")


def test_filtered() -> None:
    pages = [Page(1, 200, ("1", "2", "3"), ("payment", "completed", "created"), 1)]
    assert filtered(pages, lambda state: state != "completed") == ["1", "3"]


def test_query_int() -> None:
    assert query_int({}, "page", 1) == 1
    assert query_int({"page": "7"}, "page", 1, high=100) == 7
    assert query_int({"page": "0"}, "page", 1) is None
    assert query_int({"page": "101"}, "page", 1, high=100) is None
    assert query_int({"page": "-1"}, "page", 1) is None


def test_parameter_bounds_follow_the_contract() -> None:
    contracts = load()
    shop, lineitems = contracts["shop"], contracts["lineitems"]
    assert parameter_bounds(shop.openapi, shop.operations["listOrders"].spec, "page_size") == (10, 1, 100)
    spec = lineitems.operations["listLineItemOrders"].spec
    assert parameter_bounds(lineitems.openapi, spec, "page") == (1, 1, 100000)  # through its $ref
    assert parameter_bounds(lineitems.openapi, spec, "page_size") == (1, 1, None)


# --- the checks on fake backends ------------------------------------------------------------------

BASE = "http://backend.test"


class Backend:
    """A fake shop and line-item list: ``orders`` (newest first) of one caller, paged by ``paging``."""

    def __init__(self, orders: list[tuple[str, str]], paging: Pager = correct) -> None:
        self.orders = orders
        self.paging = paging
        self.reads = 0
        self.on_read: Callable[[Backend], None] = lambda backend: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.reads += 1
        self.on_read(self)
        query = dict(request.url.params)
        number = int(query.get("page", "1"))
        if request.url.path == "/api/shop/orders":
            size = int(query.get("page_size", "10"))
            keys = [key for key, _ in self.orders]
            results = [{"order_key": key} for key in self.paging(keys, number, size)]
            total = math.ceil(len(keys) / size)
            body = {"count": len(keys), "page": number, "page_size": size, "total_pages": total, "results": results}
            return httpx.Response(200, json=body)
        state, type_ = query.get("state"), query.get("type")
        chosen = [(key, s) for key, s in self.orders if (state is None or s == state)
                  and (type_ is None or (s in ("created", "payment")) == (type_ == "not_completed"))]  # fmt: skip
        states = dict(chosen)
        page = self.paging([key for key, _ in chosen], number, 10)
        body = {
            "total_pages": math.ceil(len(chosen) / 10),
            "orders": [{"id": int(k), "state": states[k]} for k in page],
        }
        return httpx.Response(200, json=body)


def context_for(backend: Backend) -> Any:
    http = httpx.Client(transport=httpx.MockTransport(backend))
    return SimpleNamespace(http=http, base_url=BASE, contracts=load())


def answered(backend: Backend, path: str, **query: Any) -> tuple[Any, Any]:
    """What the check is given: the body of one call and a response carrying its request."""
    url = f"{BASE}{path}?{urlencode(query)}" if query else f"{BASE}{path}"
    response = httpx.Client(transport=httpx.MockTransport(backend)).get(url, headers={"Authorization": "Token k"})
    request = SimpleNamespace(url=str(response.request.url), headers={"Authorization": "Token k"})
    return response.json(), SimpleNamespace(request=request, status_code=200)


def shop_orders(n: int) -> list[tuple[str, str]]:
    return [(key, "HOLD") for key in keys(n)]


def test_shop_pages_holds_on_a_correct_list_and_walks_it_once() -> None:
    backend = Backend(shop_orders(7))
    check = shop_pages(context_for(backend))
    body, response = answered(backend, "/api/shop/orders", page=2, page_size=3)
    check.judge("listOrders", body, response)
    assert backend.reads == 1 + 1 + 4  # the answer, page 1 of the largest size, pages 1 to 3 and 4
    check.judge("listOrders", body, response)
    assert backend.reads == 6  # the same list, as it was walked: not read again


@pytest.mark.parametrize(("paging", "says"), [(shifted, "pages 1 and 2 disjoint"), (past_end_repeats_last, "page 4")])
def test_shop_pages_catches_a_broken_list(paging: Pager, says: str) -> None:
    backend = Backend(shop_orders(7), paging)
    body, response = answered(backend, "/api/shop/orders", page=1, page_size=3)
    with pytest.raises(AssertionError, match=says) as failure:
        shop_pages(context_for(backend)).judge("listOrders", body, response)
    assert str(failure.value).startswith("GET /api/shop/orders?page_size=3: read pages 1, 2, 3, 4")


def test_shop_pages_gives_no_verdict_on_a_list_that_changes_while_read() -> None:
    backend = Backend(shop_orders(7))
    body, response = answered(backend, "/api/shop/orders", page=1, page_size=3)

    def grow(backend: Backend) -> None:  # another client checks out between every two reads
        backend.orders.insert(0, (f"NEW-{backend.reads:04d}", "HOLD"))

    backend.on_read = grow
    shop_pages(context_for(backend)).judge("listOrders", body, response)
    assert backend.reads > 1 + 1 + 5  # it read the list a second time before it gave no verdict


def test_shop_pages_without_a_context_judges_the_answer_alone() -> None:
    backend = Backend(shop_orders(7), shifted)
    body, response = answered(backend, "/api/shop/orders", page=2, page_size=3)
    shop_pages(None).judge("listOrders", body, response)  # shifted, but nothing on the page shows it
    assert backend.reads == 1
    body["total_pages"] = 2
    with pytest.raises(AssertionError, match="total_pages = ⌈count 7 / 3⌉"):
        shop_pages(None).judge("listOrders", body, response)


def li_orders() -> list[tuple[str, str]]:
    return [(str(i), ("payment", "completed", "created")[i % 3]) for i in range(40, 0, -1)]


def test_li_pages_holds_on_a_correct_list_with_filters() -> None:
    backend = Backend(li_orders())
    body, response = answered(backend, "/api/orders.json", type="not_completed")
    li_pages(context_for(backend)).judge("listLineItemOrdersJson", body, response)
    assert backend.reads == 1 + 4 + 5  # the answer; the filter's pages 1 to 3 and 4; the unfiltered 1 to 4 and 5


def test_li_pages_catches_overlapping_pages() -> None:
    backend = Backend(li_orders(), overlapping)
    body, response = answered(backend, "/api/orders")
    with pytest.raises(AssertionError, match="pages 1 and 2 disjoint"):
        li_pages(context_for(backend)).judge("listLineItemOrders", body, response)


def test_li_pages_catches_a_filter_that_leaves_orders_out() -> None:
    backend = Backend(li_orders())
    body, response = answered(backend, "/api/orders.json", state="payment")
    original = backend.__call__

    def without_one(request: httpx.Request) -> httpx.Response:
        answer = original(request)
        if request.url.params.get("state") == "payment":  # order 27 is in payment, but never listed
            doc = answer.json()
            doc["orders"] = [o for o in doc["orders"] if o["id"] != 27]
            return httpx.Response(200, json=doc)
        return answer

    context = context_for(backend)
    context.http = httpx.Client(transport=httpx.MockTransport(without_one))
    with pytest.raises(AssertionError, match=r"missing \[27\]"):
        li_pages(context).judge("listLineItemOrdersJson", body, response)
