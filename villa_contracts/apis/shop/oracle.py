"""The shop API's checks of observed traffic (the validating proxy): they register on import."""

from __future__ import annotations

from suites.proxy import shop_oracle  # noqa: F401 - registers its traffic checks
