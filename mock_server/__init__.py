"""Mock Villa backend: an ASGI app that executes the contracts."""

from __future__ import annotations

__version__ = "0.2.0"
