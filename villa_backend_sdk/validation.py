"""Validation before payment (the SDK manual's ``villa_backend_sdk.validation``).

``client.schema_validator`` checks an order against the contract's Order schema locally;
``client.pre_payment`` (a ``PrePaymentValidator``) adds the backend's two pricing APIs.
"""

from __future__ import annotations

from villa_contracts.client import OrderSchemaValidator, PrePaymentResult, PrePaymentValidator

__all__ = ["OrderSchemaValidator", "PrePaymentResult", "PrePaymentValidator"]
