"""What outlives one example of the state machine: the calls, counters, stock ledger and ids seen.

Every request goes through the run context's rate-limited client. A ``Mismatch`` is an answer the
model did not predict; ``reporting`` turns it into a ``Failure``.
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from hypothesis import strategies as st

from suites.property import strategies
from suites.property.model import Cart, StockLedger

if TYPE_CHECKING:
    from suites.context import RunContext

SHRINK_SECONDS = 10.0
"""Once a failure is found, at most this long is spent replaying smaller examples against the target."""


def token_variable(user: int) -> str:
    """The shell variable a reproduction reads account ``user``'s ID token from."""
    return "$VILLA_ID_TOKEN" if user == 0 else f"$VILLA_ID_TOKEN_{user + 1}"


@dataclass(frozen=True, slots=True)
class Call:
    """One request the machine sent (what a reproduction replays)."""

    operation: str
    url: str
    user: int | None
    body: Any
    status: int | None

    def curl(self, base_url: str) -> str:
        """The request as a curl command on ``$VILLA_BASE_URL``, with the caller's token from the environment.

        The first account's token is ``$VILLA_ID_TOKEN``, the second's ``$VILLA_ID_TOKEN_2``
        (``villa-contracts tokens`` sets them).
        """
        path = self.url[len(base_url) :] if self.url.startswith(base_url) else self.url
        parts = ["curl", "-sS", "-X", "POST", f'"$VILLA_BASE_URL"{shlex.quote(path)}']
        if self.user is not None:
            parts.append(f'-H "Authorization: Bearer {token_variable(self.user)}"')
        parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(self.body))]
        return " ".join(parts) + f"  # {self.operation} -> {self.status if self.status is not None else 'no answer'}"


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer: status, decoded JSON (or None) and text."""

    status: int
    body: Any
    text: str

    @property
    def doc(self) -> dict[str, Any]:
        """The body when it is a JSON object, else ``{}``."""
        return self.body if isinstance(self.body, dict) else {}

    def snippet(self, limit: int = 600) -> str:
        """The text, cut at ``limit`` characters."""
        return self.text if len(self.text) <= limit else self.text[:limit] + "…"

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        """The answer of ``response``: its JSON when it says it is JSON and parses, else None."""
        try:
            parsed = response.json() if "json" in response.headers.get("content-type", "") else None
        except ValueError:
            parsed = None
        return cls(response.status_code, parsed, response.text)


class Replayable(Protocol):
    """A request a reproduction replays (``Call``, or another API's own call type)."""

    def curl(self, base_url: str) -> str:
        """The request as a shell command on ``$VILLA_BASE_URL``."""
        ...


class Mismatch(AssertionError):
    """An answer the model did not predict (turned into a ``Failure`` by ``reporting``)."""

    def __init__(
        self, operation: str, check: str, title: str, expected: str, got: str, calls: Sequence[Replayable]
    ) -> None:
        super().__init__(f"{operation}: {check}: {title}\nexpected: {expected}\ngot: {got}")
        self.operation, self.check, self.title = operation, check, title
        self.expected, self.got, self.calls = expected, got, tuple(calls)
        self.injected: str | None = None
        """The ``X-Villa-Injected-Fault`` of an answer of its example: the mock's doing, not the backend's."""


_MISMATCH_TYPES: dict[tuple[str, str], type[Mismatch]] = {}


def mismatch_type(operation: str, check: str) -> type[Mismatch]:
    """One exception class per operation and invariant, so that Hypothesis shrinks and reports each apart."""
    key = (operation, check)
    if key not in _MISMATCH_TYPES:
        _MISMATCH_TYPES[key] = type(f"Mismatch_{operation}_{check}", (Mismatch,), {"__module__": __name__})
    return _MISMATCH_TYPES[key]


def mock_stock(context: RunContext) -> dict[str, dict[str, dict[str, int]]] | None:
    """The mock's stock per branch and product code (``stock``, ``reserved``, ``free``); None when unknown."""
    try:
        response = context.http.get(f"{context.base_url}/__admin/stock", headers=context.target.admin_headers)
        branches = response.json()["branches"] if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return branches if isinstance(branches, dict) else None


class RunSession:
    """What one state-machine run shares across its examples, whatever the API.

    Attributes:
        strict: the target is a mock using the contract's data (exact prices and stock).
        steps: HTTP calls made.
        statuses: HTTP statuses seen per operationId.
        mismatches: the first mismatch of each (operation, check), even if not replayed.
    """

    def __init__(
        self,
        context: RunContext,
        *,
        shrink_seconds: float = SHRINK_SECONDS,
        progress: Callable[[int], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.context = context
        self.progress = progress
        self.stop = stop
        self.examples = 0
        self.target = context.target
        self.base = context.base_url
        self.data = context.data
        self.http = context.http
        self.strict = self.target.is_mock
        self.shrink_seconds = shrink_seconds
        self.steps = 0
        self.statuses: dict[str, set[int]] = defaultdict(set)
        self.first_failure: float | None = None
        self.mismatches: dict[tuple[str, str], Mismatch] = {}
        self.headers = [dict(account.headers) for account in self.target.accounts]
        """Each account's current ``Authorization`` (fresh ID tokens after the mock's clock moves: ``relogin``)."""
        if self.strict:  # a machine that ran before may have moved the mock's clock past the tokens' life
            self.relogin()

    def relogin(self) -> None:
        """New ID tokens for both accounts (the admin API's password-less login; a mock only)."""
        for index, account in enumerate(self.target.accounts):
            answer = self.http.post(
                f"{self.base}/__admin/users/{account.username}/tokens", headers=self.target.admin_headers
            )
            if answer.status_code == 200:
                self.headers[index] = {"Authorization": f"Bearer {answer.json()['IdToken']}"}

    @property
    def stopped(self) -> bool:
        """Whether the run was asked to stop (an interrupted gate): the remaining examples make no calls."""
        return self.stop is not None and self.stop.is_set()

    def mismatch(self, where: str, operation: str, check: str, title: str, expected: str, got: str,
                 calls: Sequence[Replayable]) -> Mismatch:  # fmt: skip
        """The mismatch to raise (``where``: the operation as reports name it), kept as the first of its kind."""
        if self.first_failure is None:
            self.first_failure = time.monotonic()
        error = mismatch_type(where, check)(operation, check, title, expected, got, calls)
        seen = self._injected_seen()
        if seen:  # the mock injected a fault in this example: the model cannot tell what the backend did
            error.injected = seen[0]
        self.mismatches.setdefault((operation, check), error)
        return error

    def _injected_seen(self) -> list[str]:
        seen = getattr(self.http, "injected_seen", None)
        return seen() if seen is not None else []

    def example_started(self) -> None:
        """Count an example (shrinking replays included) and tell the run's progress callback."""
        self._injected_seen().clear()
        self.examples += 1
        if self.progress is not None:
            self.progress(self.examples)

    def shrink_spent(self) -> bool:
        """Whether the time to replay smaller examples after the first failure is used up."""
        return self.first_failure is not None and time.monotonic() - self.first_failure > self.shrink_seconds


class Session(RunSession):
    """One run of the Villa API's state machine against the context's target.

    Attributes:
        ledger: units the run's own orders hold.
        seen_ids: every order id answered in the run, and the call that got it.
    """

    def __init__(self, context: RunContext, **options: Any) -> None:
        super().__init__(context, **options)
        self.ledger = StockLedger(exclusive=self.strict and self.mock_holds_no_stock())
        self.seen_ids: dict[str, Call] = {}
        self.missing: dict[str, Answer] = {}
        villa = context.contracts["villa"]
        operations = {op.path: op.operation_id for op in villa.operations.values() if op.method == "POST"}
        prefix = self.target.payment_prefix
        self.ops = {name: operations[f"{prefix}/{name}"] for name in ("cardtoken", "charge", "verify")}
        self._carts: dict[tuple[str, bool], st.SearchStrategy[Cart]] = {}

    def mock_holds_no_stock(self) -> bool:
        """Whether no order of any API holds stock on the mock now (``GET /__admin/stock``, read-only)."""
        branches = mock_stock(self.context)
        return branches is not None and all(
            units.get("reserved") == 0 for products in branches.values() for units in products.values()
        )

    def declining(self) -> st.SearchStrategy[tuple[str, str]]:
        """A test card and 3-D Secure action whose charge ends Declined."""
        return strategies.declining(self.data)

    def carts(self, branch: str, *, unknown_coupon: bool = False) -> st.SearchStrategy[Cart]:
        """Carts of ``branch`` (cached: one strategy object per branch keeps Hypothesis' choices stable)."""
        key = (branch, unknown_coupon)
        if key not in self._carts:
            self._carts[key] = strategies.carts(self.data, branch, unknown_coupon=unknown_coupon)
        return self._carts[key]
