"""Why a business rule refuses something, in a form both the mock and the suites understand.

``STATUS`` is the one table from a refusal's kind to the HTTP status every API of the contracts
answers with: the mock renders a ``RuleViolation`` with it, and the suites' oracle predicts with it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from villa_contracts.errors import VillaContractsError

RuleKind = Literal["invalid", "forbidden", "not_found", "conflict", "unavailable"]

STATUS: Final[dict[RuleKind, int]] = {
    "invalid": 400,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,
}
"""The HTTP status of each kind of refusal."""


class RuleViolation(VillaContractsError):
    """A request that is well-formed but that the backend's rules refuse.

    Attributes:
        kind: ``invalid`` (a business validation, 400), ``forbidden`` (the caller may not: 403),
            ``not_found`` (unknown branch, product, coupon, order, token; or someone else's: 404),
            ``conflict`` (the state forbids it: paid order, id used, amount mismatch, out of stock:
            409) or ``unavailable`` (a payment service is down: 503).
        message: for a person: what is wrong and how to go on.
        pointer: JSON pointer of the field at fault in the request, "" for the request as a whole.
        rule: the invariant at stake (``ownership``, ``paid_stays_paid``...), which the suites name
            their checks after.
    """

    def __init__(self, kind: RuleKind, message: str, pointer: str = "", *, rule: str = "") -> None:
        super().__init__(message)
        self.kind: RuleKind = kind
        self.message = message
        self.pointer = pointer
        self.rule = rule or kind

    @property
    def status(self) -> int:
        """The HTTP status this refusal is answered with."""
        return STATUS[self.kind]


def refusal_of(rule: Callable[..., object], *args: Any, **kwargs: Any) -> RuleViolation | None:
    """Call a rule of the domain; return its refusal, or None when it lets the request through.

    How the suites ask the domain what a request gets (``refusal_of(rules.require_visible, key, owner,
    caller).status``) instead of writing the status down again.
    """
    try:
        rule(*args, **kwargs)
    except RuleViolation as exc:
        return exc
    return None
