"""The Villa SDK API's business checks (they register on import): the gate and the proxy run them."""

from __future__ import annotations

from suites.property import checks  # noqa: F401 - registers the Villa API's business checks
