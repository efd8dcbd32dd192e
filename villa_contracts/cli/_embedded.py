"""The one place a command starts the embedded mock: when no base URL is given."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def target_url(
    base_url: str | None, *, log_level: str = "error", seed: int | None = None
) -> Iterator[tuple[str, bool]]:
    """Yield ``(base URL, embedded)``: the given URL, or a fresh embedded mock on a free 127.0.0.1 port.

    The embedded mock draws the ids it makes up from ``seed`` (a run's seed: clients echo those ids, so
    only then does one seed send the same requests). It stops when the block ends.
    """
    if base_url:
        yield base_url.rstrip("/"), False
        return
    from mock_server.app import create_app
    from mock_server.runner import serve_in_thread

    with serve_in_thread(lambda url: create_app(base_url=url, seed=seed), log_level=log_level) as server:
        yield server.base_url, True
