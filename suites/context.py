"""One run's context: the target, the contracts, the business data, and the one HTTP client every request goes through.

A gate run (or a suite run alone) builds one ``RunContext``; the Schemathesis checks, the state
machine and the pact step all get it explicitly (no module-global run state), and every request
any of them sends itself goes through ``context.http``, which keeps to the target's rate limit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from villa_contracts.client import http_client
from villa_contracts.contract import Contracts, load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.faults import injected_label

if TYPE_CHECKING:
    from villa_contracts.contract import Operation
    from villa_contracts.target import Target

TIMEOUT_SECONDS = 30.0
INJECTED_RETRIES = 8
"""Times a data set-up's call answered with an injected fault (``X-Villa-Injected-Fault``) is sent again."""


class PacedClient:
    """An ``httpx.Client`` that sends at most ``rate_limit`` requests per second (thread-safe).

    Args:
        rate_limit: requests per second; None for no limit.
        timeout: seconds before a request gives up.
    """

    def __init__(self, rate_limit: float | None, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.client = http_client(timeout=timeout, follow_redirects=False)
        self.interval = 1.0 / rate_limit if rate_limit else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._injected = threading.local()

    def pace(self) -> None:
        """Wait until the next request may go."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + self.interval
        if wait > 0:
            time.sleep(wait)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request when the rate limit allows it."""
        self.pace()
        response = self.client.request(method, url, **kwargs)
        label = injected_label(response.headers)
        if label:  # a fault the mock injected (docs/faults.md): whoever judges this answer asks
            self.injected_seen().append(label)
        return response

    def set_up(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A data set-up's call: sent again, up to ``INJECTED_RETRIES`` times, while the mock injected a fault.

        Such a fault replaced the answer before the call was handled (``villa_contracts.faults.ALTERING``): it
        is not the set-up's answer, and sending it again changes nothing on the backend.
        """
        response = self.request(method, url, **kwargs)
        for _ in range(INJECTED_RETRIES):
            if injected_label(response.headers) is None:
                break
            response = self.request(method, url, **kwargs)
        return response

    def injected_seen(self) -> list[str]:
        """This thread's answers marked ``X-Villa-Injected-Fault`` since it last cleared the list."""
        seen = getattr(self._injected, "labels", None)
        if seen is None:
            seen = self._injected.labels = []
        return seen

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """``POST`` (paced)."""
        return self.request("POST", url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        """``GET`` (paced)."""
        return self.request("GET", url, **kwargs)

    def close(self) -> None:
        """Close the connections."""
        self.client.close()


@dataclass
class RunContext:
    """What one run of the suites shares.

    Attributes:
        target: the backend and its accounts.
        contracts: the contracts the run checks.
        http: the one rate-limited client for requests the suites send themselves.
        data: the contracts' business data (catalog, cards).
    """

    target: Target
    contracts: Contracts = field(default_factory=load)
    http: PacedClient = field(init=False)
    data: BusinessData = field(init=False)

    judged: set[tuple[str, str]] = field(init=False, default_factory=set)
    """``(business check, test case id)`` of every answer a business check judged (its evaluations)."""

    _cache: dict[Any, Any] = field(init=False, default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.http = PacedClient(self.target.rate_limit)
        self.data = BusinessData.from_contract(self.contracts)

    def cached(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``'s value, made once per run (credentials the run obtains, such as a shop token key)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def renew(self, key: Any, make: Callable[[], Any]) -> Any:
        """``make()``'s value again, for ``cached`` to answer from now on (a credential the mock's clock aged)."""
        self._cache[key] = make()
        return self._cache[key]

    def may_call(self, operation: Operation) -> bool:
        """Whether this run may call ``operation`` on its target (:meth:`why_not` says why it may not)."""
        return self.why_not(operation) is None

    def why_not(self, operation: Operation) -> str | None:
        """Why this run may not call ``operation`` on its target, for the reports; None when it may.

        Not: operations whose security scheme this run has no credentials for (``suites.auth``),
        operations only the mock has (``x-villa.mockOnly``) on a real backend, payment operations
        when payments are not allowed (prod), payment paths of the other environment on a real
        backend (a dev backend's ``/api/payment3`` is the live gateway).
        """
        from suites.auth import has_credentials

        target = self.target
        if operation.schemes and not any(has_credentials(self, scheme) for scheme in operation.schemes):
            return f"no credentials for its security scheme ({', '.join(operation.schemes)})"
        if operation.mock_only and not target.is_mock:
            return "skipped by design: only the mock has it (x-villa.mockOnly)"
        if "payments" in operation.tags and not target.allow_payments:
            return "skipped by design: a payment operation on VILLA_ENV=prod (--allow-prod-payments calls it)"
        prefix = target.payment_prefix
        other_environment = operation.path.startswith("/api/payment3") and not operation.path.startswith(prefix + "/")
        if other_environment and not target.is_mock:
            return f"skipped by design: the other environment's payment path (this target pays through {prefix})"
        return None

    @property
    def base_url(self) -> str:
        """The target's base URL, without a trailing slash."""
        return self.target.base_url.rstrip("/")

    def close(self) -> None:
        """Release the HTTP client."""
        self.http.close()

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
