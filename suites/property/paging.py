"""Pagination, judged: what the pages of one list must show, as pure functions (docs/pagination.md).

A paged list answers page ``n`` (1-based) of ``page_size`` items of one ordered list. Whatever the
target, its pages obey:

- **totals agree**: every page answers the same ``total_pages`` (and ``count``, where the list
  answers one), and ``total_pages = ⌈count / page_size⌉``;
- **sizes**: a page before the last is full, the last holds 1 to ``page_size`` items, and a page
  past the end is empty (page 1 of an empty list too: ``total_pages`` 0);
- **disjoint**: no item is on two pages, nor twice on one;
- **whole**: the pages together are the caller's whole list for the filter asked (where the whole
  list is known another way: one page of the largest size, or the unfiltered list filtered);
- **echo**: a list that answers its ``page`` and ``page_size`` answers the ones asked.

``walk`` reads the pages of one query through a ``fetch`` function (the caller's HTTP, paced),
politely: at most ``PAGE_LIMIT`` pages from the first, then the last and the one past it. The
judging functions return ``Problem``s that name the page, the ids, and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from suites.property.invariants import Problem

PAGE_LIMIT = 10
"""A walk reads at most this many pages from the first (then the last page and the one past it)."""

SHOWN_IDS = 12
"""At most this many ids of a list are written into a message."""

UNASKABLE = frozenset({401, 403, 429, 502, 503, 504})
"""Statuses that say the target could not be asked now (a token aged, a rate limit, a gateway): no verdict."""


@dataclass(frozen=True, slots=True)
class Page:
    """One answered page of a list, as far as pagination goes.

    Attributes:
        number: the page asked for.
        status: the HTTP status it was answered with.
        ids: the listed items' ids, in order.
        states: each listed item's state (where the list filters by state; else empty).
        total_pages: the ``total_pages`` answered (None: none, or not an integer).
        count: the ``count`` answered, where the list answers one.
        echo: the ``(page, page_size)`` answered, where the list answers them.
    """

    number: int
    status: int
    ids: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    total_pages: int | None = None
    count: int | None = None
    echo: tuple[Any, Any] | None = None

    @property
    def signature(self) -> tuple[Any, ...]:
        """What two reads of the same page must share when the list did not change in between."""
        return (self.number, self.status, self.ids, self.states, self.total_pages, self.count)


def _integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_page(
    number: int,
    status: int,
    body: Any,
    *,
    items: str,
    id_key: str,
    state_key: str | None = None,
    counted: bool = False,
) -> Page | None:
    """The ``Page`` of one answer; None when a 200 answer is no list at all (the schema checks' business).

    Args:
        number: the page asked for.
        status: the answer's HTTP status.
        body: the answer's JSON.
        items: the key of the list of items (``results``, ``orders``).
        id_key: the key of an item's id.
        state_key: the key of an item's state, where the list filters by it.
        counted: whether the list answers ``count``, ``page`` and ``page_size``.
    """
    if status != 200:
        return Page(number, status)
    listed = body.get(items) if isinstance(body, dict) else None
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        return None
    return Page(
        number,
        status,
        ids=tuple(str(item.get(id_key)) for item in listed),
        states=tuple(str(item.get(state_key)) for item in listed) if state_key else (),
        total_pages=_integer(body.get("total_pages")),
        count=_integer(body.get("count")) if counted else None,
        echo=(body.get("page"), body.get("page_size")) if counted else None,
    )


@dataclass(frozen=True, slots=True)
class Walk:
    """The pages of one query, as read.

    Attributes:
        pages: page 1, the next ones up to ``PAGE_LIMIT``, the last page (when beyond) and the one past it.
        total_pages: page 1's ``total_pages`` (None when page 1 answered none).
        complete: whether every page up to the last was read.
    """

    pages: tuple[Page, ...]
    total_pages: int | None
    complete: bool

    @property
    def signature(self) -> tuple[Any, ...]:
        """Equal for two walks of a list that did not change."""
        return tuple(page.signature for page in self.pages)

    @property
    def numbers(self) -> list[int]:
        """The pages read, in the order read."""
        return [page.number for page in self.pages]

    def leading(self) -> list[Page]:
        """The pages read from page 1 on without a gap, up to the last page (past the end excluded)."""
        last = self.total_pages or 0
        found: list[Page] = []
        for page in self.pages:
            if page.number != len(found) + 1 or page.number > last:
                break
            found.append(page)
        return found

    def listed(self) -> list[str]:
        """The ids of the leading pages, in order (every item when the walk is complete)."""
        return [item for page in self.leading() for item in page.ids]

    def describe(self, query: str) -> str:
        """One line: the query, the pages read, and whether that was all of them."""
        read = ", ".join(str(n) for n in self.numbers)
        query = query.rstrip("?")
        whole = "every page" if self.complete else f"the first {PAGE_LIMIT}, the last and the next"
        return f"{query}: read pages {read} ({whole}; total_pages {self.total_pages} on page 1)"


Fetch = Callable[[int], Page | None]
"""Read one page of the query; None when the target could not be asked (network, rate limit): no verdict."""


def walk(fetch: Fetch, *, limit: int = PAGE_LIMIT, max_page: int | None = None) -> Walk | None:
    """Read the pages of one query: 1 to ``limit``, the last, and the one past the end.

    Args:
        fetch: reads one page.
        limit: at most this many pages from the first.
        max_page: the largest page number the query may ask (the contract's maximum), if any.

    Returns:
        The walk, or None when a page could not be read.
    """
    first = fetch(1)
    if first is None:
        return None
    total = first.total_pages
    if first.status != 200 or total is None or total < 0:
        return Walk((first,), total, False)
    numbers = list(range(2, min(total, limit) + 1))
    if total > limit:
        numbers.append(total)
    if total >= 1 and (max_page is None or total + 1 <= max_page):
        numbers.append(total + 1)
    pages = [first]
    for number in numbers:
        page = fetch(number)
        if page is None:
            return None
        pages.append(page)
    return Walk(tuple(pages), total, total <= limit)


def already_read(page: Page, last: Walk | None) -> bool:
    """Whether ``last``, a walk of the same query, read ``page`` as it is answered now (no need to walk again)."""
    if last is None:
        return False
    for read in last.pages:
        if read.number == page.number:
            return read.signature == page.signature
    first = last.pages[0]
    beyond = page.total_pages is not None and page.number > page.total_pages and not page.ids
    return beyond and (first.total_pages, first.count) == (page.total_pages, page.count)


def _show(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return f"[{shown}{', …' if len(ids) > SHOWN_IDS else ''}] ({len(ids)})"


def expected_size(number: int, total_pages: int, page_size: int, count: int | None) -> tuple[int, int]:
    """How many items page ``number`` holds at least and at most, given the list's totals."""
    if number > total_pages:
        return 0, 0
    if count is not None:
        size = max(min(page_size, count - (number - 1) * page_size), 0)
        return size, size
    return (page_size, page_size) if number < total_pages else (1, page_size)


def _size_rule(where: str, number: int, total: int, count: int | None, low: int, high: int) -> str:
    totals = f"total_pages {total}" + (f", count {count}" if count is not None else "")
    if number > total:
        return f"{where} is past the end ({totals}): no items"
    which = "the last page" if number == total else "a page before the last"
    return f"{where}, {which} ({totals}): {low if low == high else f'{low} to {high}'} item(s)"


def page_problems(page: Page, *, page_size: int, check: str) -> list[Problem]:
    """What one answered page breaks on its own: its totals, its size, a repeated id, the echo."""
    if page.status != 200:
        return []
    where = f"page {page.number} (page_size {page_size})"
    problems: list[Problem] = []
    total, count = page.total_pages, page.count
    if count is not None and total is not None and total != -(-count // page_size):
        problems.append(Problem(check, f"{where}: total_pages = ⌈count {count} / {page_size}⌉", f"total_pages {total}"))
    if total is not None:
        low, high = expected_size(page.number, total, page_size, count)
        if not low <= len(page.ids) <= high:
            problems.append(Problem(check, _size_rule(where, page.number, total, count, low, high), _show(page.ids)))
    twice = sorted({item for item in page.ids if page.ids.count(item) > 1})
    if twice:
        problems.append(Problem(check, f"{where}: each item once", f"{_show(twice)} listed twice"))
    if page.echo is not None and page.echo != (page.number, page_size):
        problems.append(Problem(check, f"{where}: page {page.number}, page_size {page_size} answered back",
                                f"page {page.echo[0]!r}, page_size {page.echo[1]!r}"))  # fmt: skip
    return problems


def walk_problems(
    walked: Walk, *, page_size: int, check: str, whole: Sequence[str] | None = None, whole_name: str = ""
) -> list[Problem]:
    """What the pages of one walk break together (and each on its own).

    Args:
        walked: the walk.
        page_size: the page size of the query.
        check: the name of the check at stake.
        whole: the caller's whole list for the query's filter, when known another way.
        whole_name: how that whole list was read (for the message).
    """
    first = walked.pages[0]
    if first.status != 200:
        return []
    problems: list[Problem] = []
    for page in walked.pages:
        if page.status != 200:
            problems.append(Problem(check, f"page {page.number} answered 200, as page 1 did", f"HTTP {page.status}"))
            continue
        if (page.total_pages, page.count) != (first.total_pages, first.count):
            problems.append(Problem(check, f"page {page.number}: the totals of page 1 (total_pages "
                                    f"{first.total_pages}, count {first.count})",
                                    f"total_pages {page.total_pages}, count {page.count}"))  # fmt: skip
        problems += page_problems(page, page_size=page_size, check=check)
    problems += _overlaps(walked, check)
    if walked.complete and walked.total_pages is not None:
        listed = walked.listed()
        if first.count is not None and len(listed) != first.count:
            problems.append(Problem(check, f"pages 1 to {walked.total_pages} list count = {first.count} items",
                                    _show(listed)))  # fmt: skip
        if whole is not None:
            problems += _whole_problems(listed, list(whole), whole_name, check)
    return problems


def _overlaps(walked: Walk, check: str) -> list[Problem]:
    seen: dict[str, int] = {}
    shared: dict[tuple[int, int], list[str]] = {}
    for page in walked.pages:
        for item in dict.fromkeys(page.ids):
            if item in seen and seen[item] != page.number:
                shared.setdefault((seen[item], page.number), []).append(item)
            seen.setdefault(item, page.number)
    return [
        Problem(check, f"pages {a} and {b} disjoint", f"both list {_show(ids)}")
        for (a, b), ids in sorted(shared.items())
    ]


def _whole_problems(listed: list[str], whole: list[str], whole_name: str, check: str) -> list[Problem]:
    # Compared as sets: the contracts order by time, and orders of the same instant may come in any order.
    missing = [item for item in whole if item not in set(listed)]
    extra = [item for item in listed if item not in set(whole)]
    if not missing and not extra:
        return []
    got = "; ".join(part for part in (f"missing {_show(missing)}" if missing else "",
                                      f"not in it {_show(extra)}" if extra else "") if part)  # fmt: skip
    return [Problem(check, f"the pages together are the whole list ({whole_name}): {_show(whole)}", got)]


def filtered(pages: Sequence[Page], keep: Callable[[str], bool]) -> list[str]:
    """The ids of ``pages`` (the unfiltered list, in order) whose state ``keep`` accepts."""
    return [item for page in pages for item, state in zip(page.ids, page.states, strict=False) if keep(state)]


def parameter_bounds(openapi: Mapping[str, Any], spec: Mapping[str, Any], name: str) -> tuple[int, int, int | None]:
    """``(default, minimum, maximum)`` of an operation's integer query parameter (1, 1, None when undeclared)."""
    components = (openapi.get("components") or {}).get("parameters") or {}
    for parameter in spec.get("parameters") or []:
        ref = parameter.get("$ref") if isinstance(parameter, Mapping) else None
        if isinstance(ref, str) and ref.startswith("#/components/parameters/"):
            parameter = components.get(ref.rsplit("/", 1)[-1]) or {}
        if isinstance(parameter, Mapping) and parameter.get("name") == name and parameter.get("in") == "query":
            schema = parameter.get("schema") or {}
            return int(schema.get("default", 1)), int(schema.get("minimum", 1)), schema.get("maximum")
    return 1, 1, None


def query_int(
    query: Mapping[str, str], name: str, default: int, *, low: int = 1, high: int | None = None
) -> int | None:
    """A whole-number query parameter within its bounds, or its default when absent; None when it is neither."""
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit():
        return None
    value = int(raw)
    return value if value >= low and (high is None or value <= high) else None


def query_of(url: str) -> dict[str, str]:
    """The query parameters of ``url`` (the first value of each)."""
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


Judgement = tuple[tuple[Any, ...], list[Problem], str]
"""What one reading of a list gives: the signature of every read, the problems found, and a headline."""


def confirmed(judge: Callable[[], Judgement | None]) -> tuple[list[Problem], str]:
    """The problems of ``judge`` when a second judgement reads exactly the same; else none.

    A list that changes while it is read (another client, an expiry on the target's clock) can look
    broken once; a broken list looks broken twice over the same reads. A correct target, read
    twice, gives no verdict only when it changed in between, and never a false one.

    Returns:
        The problems (empty: none, or no verdict) and the first judgement's headline.
    """
    first = judge()
    if first is None or not first[1]:
        return [], ""
    second = judge()
    if second is None or second[0] != first[0]:
        return [], ""
    return first[1], first[2]


def message(headline: str, problems: Sequence[Problem]) -> str:
    """A failure's message: the headline, then ``expected``/``got`` for each problem."""
    return "\n\n".join([headline, *(f"expected: {p.expected}\ngot: {p.got}" for p in problems)])
