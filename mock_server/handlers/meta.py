"""Health."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mock_server import __version__

if TYPE_CHECKING:
    from mock_server.dispatch import Call


def health(call: Call) -> tuple[int, Any]:
    """``GET /api/health``."""
    return 200, {"status": "ok", "service": "villa-mock", "version": __version__}
