"""The reference client of the Villa backend, in the Villa SDK's shape (``VillaClient``, ``OrderBuilder``).

Example:
    >>> from villa_contracts.client import VillaClient
    >>> client = VillaClient.from_env()  # doctest: +SKIP
    >>> client.login("user@example.com", "password")  # doctest: +SKIP

"""

from __future__ import annotations

import typing as _typing

from villa_contracts._lazy import lazy_names

# What each public name is imported from, on first use (PEP 562): importing one module of the client (its
# settings, for `villa --help`) does not load httpx and python-jose with every other.
_PUBLIC = {
    "AuthError": "villa_contracts.client._auth",
    "CognitoAuth": "villa_contracts.client._auth",
    "SignUpResult": "villa_contracts.client._auth",
    "Tokens": "villa_contracts.client._auth",
    "secret_hash": "villa_contracts.client._auth",
    "OrderBuilder": "villa_contracts.client._builder",
    "VillaClient": "villa_contracts.client._client",
    "VerifiedIdToken": "villa_contracts.client._jwt",
    "GeneratedOrderId": "villa_contracts.client._orders",
    "Order": "villa_contracts.client._orders",
    "OrdersApi": "villa_contracts.client._orders",
    "CardToken": "villa_contracts.client._payment_types",
    "ChargeResult": "villa_contracts.client._payment_types",
    "VerifyResult": "villa_contracts.client._payment_types",
    "mask_card": "villa_contracts.client._payment_types",
    "PaymentsApi": "villa_contracts.client._payments",
    "OrderSchemaValidator": "villa_contracts.client._pricing",
    "PrePaymentResult": "villa_contracts.client._pricing",
    "PrePaymentValidator": "villa_contracts.client._pricing",
    "Settings": "villa_contracts.client._settings",
    "CheckoutResult": "villa_contracts.client._shop",
    "http_client": "villa_contracts.client._transport",
    "tls_context": "villa_contracts.client._transport",
    "ShopClient": "villa_contracts.client._shop",
}

if _typing.TYPE_CHECKING:
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
    from villa_contracts.client._transport import http_client, tls_context


__getattr__ = lazy_names(__name__, _PUBLIC, globals())


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
    "http_client",
    "mask_card",
    "secret_hash",
    "tls_context",
]
