"""Consumer tests: the reference client against pact-python's mock server."""

from __future__ import annotations
