"""The proxy's fences: payments never forwarded to prod, and a rate limit on what it forwards.

``PaymentFence`` knows payment operations as the gate does (tag ``payments``, any contract) and
matches a path leniently (any method, case, trailing or doubled slashes, percent-encoding): a
backend that routes ``/API/payment3/charge/`` to the charge must not get it either. ``Pacer``
spaces forwarded requests by ``1 / rate`` seconds; it says how long to wait, the caller waits.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts, Operation

REFUSED_CODE = "refused_by_proxy"
REFUSED_HEADER = "X-Villa-Proxy"


def normalised(path: str) -> str:
    """``path`` as a backend may route it: decoded, no ``;params``, no doubled or trailing slash."""
    decoded = unquote(path.split("?", 1)[0]).split(";", 1)[0]
    return re.sub(r"/{2,}", "/", decoded).rstrip("/") or "/"


class PaymentFence:
    """Refuses payment operations on prod unless allowed.

    Args:
        contracts: every contract (the fence covers them all, checked or not).
        env: ``dev`` or ``prod``.
        allowed: ``--allow-prod-payments``.
    """

    def __init__(self, contracts: Contracts, *, env: str, allowed: bool) -> None:
        self.active = env == "prod" and not allowed
        self._routes = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)) + "$", re.IGNORECASE), op)
            for op in contracts.operations()
            if "payments" in op.tags
        ]

    def refuses(self, path: str) -> Operation | None:
        """The payment operation a request to ``path`` would reach, when the fence refuses it (any method)."""
        if not self.active:
            return None
        wanted = normalised(path)
        return next((op for pattern, op in self._routes if pattern.match(wanted)), None)


def refusal(operation: Operation) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The answer the proxy gives instead of forwarding: status, the contract's error body, headers."""
    message = (
        f"villa-contracts proxy: {operation.contract}.{operation.operation_id} is a payment operation and the "
        "environment is prod: it was not forwarded (start the proxy with --allow-prod-payments to forward it)"
    )
    body = {"error": message, "code": REFUSED_CODE, "details": []}
    return 403, body, {"Content-Type": "application/json", REFUSED_HEADER: "refused: payments on prod"}


class Pacer:
    """Spaces requests ``1 / rate`` seconds apart (thread-safe).

    Args:
        rate: requests per second; None for no limit.
        clock: seconds (tests pass a fake one).

    Example:
        >>> now = [0.0]
        >>> pacer = Pacer(2.0, clock=lambda: now[0])
        >>> pacer.delay(), pacer.delay(), pacer.delay()
        (0.0, 0.5, 1.0)
    """

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def delay(self) -> float:
        """Reserve the next slot; return how many seconds to wait for it."""
        if not self.interval:
            return 0.0
        with self._lock:
            now = self._clock()
            wait = max(self._next - now, 0.0)
            self._next = max(now, self._next) + self.interval
        return wait
