"""villa-contracts: contract tests and a stateful mock of the Villa Market backend.

Example:
    >>> from villa_contracts import ContractValidator, load
    >>> ContractValidator(load()["villa"]).document("Order", {"orderId": "1", "ownerId": "u", "basketId": "u"})
    []
"""

from __future__ import annotations

# Client in the Villa SDK's shape
from villa_contracts.client import (
    AuthError,
    Order,
    OrderBuilder,
    PrePaymentResult,
    Settings,
    Tokens,
    VillaClient,
)

# Contracts
from villa_contracts.contract import Contract, Contracts, ContractValidator, Operation, Violation, load

# Errors
from villa_contracts.errors import (
    ApiError,
    ClientError,
    ConfigError,
    ContractError,
    UsageError,
    VillaContractsError,
)

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
    "ClientError",
    "ConfigError",
    "Contract",
    "ContractError",
    "ContractValidator",
    "Contracts",
    "Operation",
    "Order",
    "OrderBuilder",
    "PrePaymentResult",
    "Settings",
    "Tokens",
    "UsageError",
    "VillaClient",
    "VillaContractsError",
    "Violation",
    "__version__",
    "load",
]
