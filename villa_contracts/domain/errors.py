"""Why a business rule refuses something, in a form both the mock and the suites understand."""

from __future__ import annotations

from typing import Literal

from villa_contracts.errors import VillaContractsError

RuleKind = Literal["not_found", "conflict", "forbidden"]


class RuleViolation(VillaContractsError):
    """A request that is well-formed but that the backend's rules refuse.

    Attributes:
        kind: ``not_found`` (unknown branch, product, coupon, order, token), ``conflict`` (the
            state forbids it: paid order, id used, amount mismatch, out of stock) or ``forbidden``
            (the caller is not the owner).
        pointer: JSON pointer of the field at fault in the request, "" for the request as a whole.
    """

    def __init__(self, kind: RuleKind, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.kind: RuleKind = kind
        self.message = message
        self.pointer = pointer
