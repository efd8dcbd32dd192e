"""Records that expire with the clock (orders unpaid for 5 hours): each API registers a sweeper.

Every request of an API contract runs the sweepers before its handler, so whatever any API reads
(stock above all, which the APIs share) already reflects what expired; a sweeper looks only at the
head of its own queue, and only once the time it last answered has come (``sweep``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mock_server.state import MockState

Sweeper = Callable[["MockState"], float]
SWEEPERS: list[Sweeper] = []


def sweeper(fn: Sweeper) -> Sweeper:
    """Register ``fn(state)``, which expires whatever of one API is due at ``state.clock.now()``.

    It answers the earliest time anything of its API can next be due: its queue's head, or now plus
    the expiry when the queue is empty.
    """
    SWEEPERS.append(fn)
    return fn


def sweep(state: MockState) -> None:
    """Run every sweeper whose next due time has come.

    Every order expires a fixed time after its creation and queues in creation order, so nothing
    (in this process or another sharing the store) can fall due before the time a sweeper last
    answered, unless the clock goes back (a reset after time travel): then every sweeper runs.
    On a store shared by processes this saves the round trips of peeking at every queue on every
    request.
    """
    now = state.clock.now()
    memo = state.sweep_memo
    if memo.get("", now) <= now < memo.get("next", now):
        memo[""] = now
        return  # nothing due yet, and the clock did not go back: the common call
    if now < memo.get("", now):
        memo.clear()  # the clock went back
    memo[""] = now  # when the sweepers last looked; each sweeper's own entry is keyed by the function
    for fn in SWEEPERS:
        if now >= memo.get(fn, now):
            memo[fn] = fn(state)
    memo["next"] = min((memo.get(fn, now) for fn in SWEEPERS), default=now)  # the earliest time one is due
