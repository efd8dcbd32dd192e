"""The Villa SDK's import name (``villa_backend_sdk``) on villa-contracts' reference client.

The SDK manual writes ``from villa_backend_sdk import VillaClient, OrderBuilder``; these modules make
that line work here. They are thin re-exports of ``villa_contracts.client`` (one implementation):
``villa_backend_sdk.orders``, ``villa_backend_sdk.validation`` and ``villa_backend_sdk.payments``
group the same names as the manual's module table.

Example:
    >>> from villa_backend_sdk import OrderBuilder, VillaClient
    >>> VillaClient is __import__("villa_contracts.client").client.VillaClient
    True
"""

from __future__ import annotations

from villa_contracts.client import (
    AuthError,
    CardToken,
    ChargeResult,
    CognitoAuth,
    GeneratedOrderId,
    Order,
    OrderBuilder,
    OrderSchemaValidator,
    PrePaymentResult,
    Settings,
    SignUpResult,
    Tokens,
    VerifiedIdToken,
    VerifyResult,
    VillaClient,
    mask_card,
)
from villa_contracts.errors import ApiError, ClientError, ConfigError, UsageError, VillaContractsError

__all__ = [
    "ApiError",
    "AuthError",
    "CardToken",
    "ChargeResult",
    "ClientError",
    "CognitoAuth",
    "ConfigError",
    "GeneratedOrderId",
    "Order",
    "OrderBuilder",
    "OrderSchemaValidator",
    "PrePaymentResult",
    "Settings",
    "SignUpResult",
    "Tokens",
    "UsageError",
    "VerifiedIdToken",
    "VerifyResult",
    "VillaClient",
    "VillaContractsError",
    "mask_card",
]
