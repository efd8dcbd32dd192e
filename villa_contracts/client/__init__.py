"""The reference client of the Villa backend, in the Villa SDK's shape (``VillaClient``, ``OrderBuilder``).

Example:
    >>> from villa_contracts.client import VillaClient
    >>> client = VillaClient.from_env()  # doctest: +SKIP
    >>> client.login("user@example.com", "password")  # doctest: +SKIP

"""

from __future__ import annotations

from villa_contracts.client._auth import AuthError, CognitoAuth, SignUpResult, Tokens, secret_hash
from villa_contracts.client._builder import OrderBuilder
from villa_contracts.client._client import VillaClient
from villa_contracts.client._jwt import VerifiedIdToken
from villa_contracts.client._orders import GeneratedOrderId, Order, OrdersApi
from villa_contracts.client._payment_types import CardToken, ChargeResult, VerifyResult, mask_card
from villa_contracts.client._payments import PaymentsApi
from villa_contracts.client._pricing import OrderSchemaValidator, PrePaymentResult, PrePaymentValidator
from villa_contracts.client._settings import Settings
from villa_contracts.client._shop import CheckoutResult, ShopClient

__all__ = [
    "AuthError",
    "CardToken",
    "ChargeResult",
    "CheckoutResult",
    "CognitoAuth",
    "GeneratedOrderId",
    "Order",
    "OrderBuilder",
    "OrderSchemaValidator",
    "OrdersApi",
    "PaymentsApi",
    "PrePaymentResult",
    "PrePaymentValidator",
    "Settings",
    "ShopClient",
    "SignUpResult",
    "Tokens",
    "VerifiedIdToken",
    "VerifyResult",
    "VillaClient",
    "mask_card",
    "secret_hash",
]
