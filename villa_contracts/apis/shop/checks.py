"""The shop's business checks (they register on import): the gate and the proxy run them."""

from __future__ import annotations

from suites.property import shop_checks, shop_rule_checks  # noqa: F401 - register the shop's business checks
