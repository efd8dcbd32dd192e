"""Records that expire with the clock (orders unpaid for 5 hours): each API registers a sweeper.

Every request of an API contract runs the sweepers before its handler, so whatever any API reads
(stock above all, which the APIs share) already reflects what expired; a sweeper looks only at the
head of its own queue, so a request where nothing is due pays a lookup or two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mock_server.state import MockState

Sweeper = Callable[["MockState"], None]
SWEEPERS: list[Sweeper] = []


def sweeper(fn: Sweeper) -> Sweeper:
    """Register ``fn(state)``, which expires whatever of one API is due at ``state.clock.now()``."""
    SWEEPERS.append(fn)
    return fn


def sweep(state: MockState) -> None:
    """Run every sweeper."""
    for fn in SWEEPERS:
        fn(state)
