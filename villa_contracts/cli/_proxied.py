"""``gate --via-proxy``: the gate's own traffic through the validating proxy, its verdicts in the gate's report."""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from suites.proxy.addon import ContractProxy
    from villa_contracts.events import Event


@contextlib.contextmanager
def via_proxy(
    enabled: bool, url: str, *, contracts: tuple[str, ...], env: str | None, allow_prod_payments: bool
) -> Iterator[tuple[str, ContractProxy | None]]:
    """Yield ``(the URL the gate sends to, the proxy's addon)``: a proxy in front of ``url`` when enabled.

    The proxy (reverse mode, a free 127.0.0.1 port, a throw-away confdir) stops when the block ends.
    """
    if not enabled:
        yield url, None
        return
    from suites.proxy.addon import ContractProxy
    from suites.proxy.server import start_proxy

    addon = ContractProxy(listener=lambda verdict, new: None)  # the gate's report shows them
    settings = {
        "villa_upstream": url,
        "villa_contracts": list(contracts),
        "villa_env": env or "dev",
        "villa_allow_prod_payments": allow_prod_payments,
        "villa_run_id": time.strftime("%Y%m%d-%H%M%S"),
    }
    with tempfile.TemporaryDirectory(prefix="villa-proxy-") as confdir:
        with start_proxy(addon, upstream=url, confdir=Path(confdir), settings=settings) as proxy:
            yield proxy.url, addon


def traffic_events(addon: ContractProxy) -> list[Event]:
    """The proxy's ``traffic`` phase, finished, for the gate's event stream."""
    session = addon.session
    return [] if session is None else session.ledger.phase_events(seconds=session.seconds)
