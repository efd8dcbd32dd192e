"""The line-item order API's business checks (they register on import): the gate and the proxy run them."""

from __future__ import annotations

from suites.property import lineitems_checks  # noqa: F401 - registers the line-item API's business checks
