"""Errors the mock answers with, each carrying its HTTP status and a stable code.

    MockError
    ├── BadRequest          400  the request breaks the contract (details: one per violation),
    │   │                        or a business validation refuses it (the domain's ``invalid``)
    │   └── CardDataRefused 400  the request holds card data (code ``card_data``; ``refuse_card_data``)
    ├── Unauthorized        401  no, or no valid, ID token (or token key, gateway key, admin token)
    ├── Forbidden           403  the token is valid but the caller may not do this (the domain's ``forbidden``)
    ├── NotFound            404  no such record for this caller; someone else's looks the same (``not_found``)
    ├── Conflict            409  the record's state forbids the change: a paid order (``conflict``)
    ├── UnsupportedMedia    415  the body is not JSON (nor a form the operation accepts)
    └── GatewayUnavailable  503  a payment service is down, or no order key is left (``unavailable``)

A refusal of the domain (``RuleViolation``) becomes the class of its status
(``villa_contracts.domain.errors.STATUS``, ``mock_server.dispatch.rule_error``); 401 and 415 are the
mock's own; a store that fails answers 503s of its own (``mock_server.storage``: ``StoreUnavailable``...).
One exception handler renders them as ``{"error": message, "code": code, "details": [...]}``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MockError(Exception):
    """An error the mock answers with; ``details`` carry JSON pointers where a field is at fault."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []

    def body(self) -> dict[str, Any]:
        """The JSON error body of the contract."""
        return {"error": self.message, "code": self.code, "details": self.details}


class BadRequest(MockError):
    """The request breaks the contract."""

    status_code = 400
    code = "invalid_request"


class CardDataRefused(BadRequest):
    """A request that holds card data (the contracts' ``CardDataRefused``): refused, never stored or echoed."""

    code = "card_data"


class Unauthorized(MockError):
    """No valid ID token."""

    status_code = 401
    code = "unauthorized"


class Forbidden(MockError):
    """The caller may not do this."""

    status_code = 403
    code = "forbidden"


class NotFound(MockError):
    """No such record for this caller."""

    status_code = 404
    code = "not_found"


class Conflict(MockError):
    """The record's state forbids the change."""

    status_code = 409
    code = "conflict"


class UnsupportedMedia(MockError):
    """The body is not JSON."""

    status_code = 415
    code = "unsupported_media_type"


class GatewayUnavailable(MockError):
    """The payment gateway is down."""

    status_code = 503
    code = "gateway_unavailable"
