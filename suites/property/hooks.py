"""The business checks as Schemathesis checks, and the project's Schemathesis hooks.

The gate's runner registers them (``register``) before each run; the ``schemathesis`` CLI loads this
module with ``SCHEMATHESIS_HOOKS=suites.property.hooks`` (the Villa API's checks then, with no run's
context: each judges what one response shows). The checks themselves (``suites.property.checks`` and
each API's) import no Schemathesis: the proxy runs them on traffic without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import schemathesis
from hypothesis import strategies as st

from suites.property.checks import BUSINESS_CHECKS, caller_sub_of_headers, operation_id, refused_as_declared

if TYPE_CHECKING:
    from schemathesis import Case

_REGISTERED: set[str] = set()


def register() -> None:
    """Tell Schemathesis of every business check loaded so far, and of ``refused_as_declared`` (each once)."""
    for check in (*BUSINESS_CHECKS, refused_as_declared):
        if check.__name__ not in _REGISTERED:
            schemathesis.check(check)
            _REGISTERED.add(check.__name__)


@schemathesis.hook
def before_call(ctx: Any, case: Case[Any], kwargs: dict[str, Any]) -> None:
    """Fill the caller's ``sub`` into the placeholders of the gentele → createOrder link."""
    if operation_id(case) != "createOrder" or not isinstance(case.body, dict):
        return
    sub = caller_sub_of_headers(case.headers or {}) or caller_sub_of_headers(kwargs.get("headers") or {})
    for key in ("ownerId", "basketId"):
        if case.body.get(key) == "" and sub is not None:
            case.body[key] = sub


def _branches() -> list[str]:
    from villa_contracts.contract import load

    return sorted(str(branch) for branch in load().data("catalog")["branches"])


# Generated branch ids are mostly the catalog's (a real backend has them too), sometimes any 4 digits:
# with random ones only, no generated order id ever exists, and no stateful chain gets past its first step.
schemathesis.openapi.format(
    "branch-id", st.one_of(st.sampled_from(_branches()), st.from_regex(r"\A[0-9]{4}\Z", fullmatch=True))
)
register()
