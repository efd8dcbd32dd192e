"""villa-contracts: contract tests and a stateful mock of the Villa Market backend.

Example:
    >>> from villa_contracts import ContractValidator, load
    >>> ContractValidator(load()["villa"]).document("Order", {"orderId": "1", "ownerId": "u", "basketId": "u"})
    []
"""

from __future__ import annotations

import typing as _typing

from villa_contracts._lazy import lazy_names

# What each public name is imported from, on first use (PEP 562): ``import villa_contracts`` stays cheap, so
# every command starts without loading the client, the contracts and their validators it may not need.
_PUBLIC = {
    # Client in the Villa SDK's shape
    "AuthError": "villa_contracts.client",
    "Order": "villa_contracts.client",
    "OrderBuilder": "villa_contracts.client",
    "PrePaymentResult": "villa_contracts.client",
    "Settings": "villa_contracts.client",
    "Tokens": "villa_contracts.client",
    "VillaClient": "villa_contracts.client",
    # Contracts
    "Contract": "villa_contracts.contract",
    "Contracts": "villa_contracts.contract",
    "ContractValidator": "villa_contracts.contract",
    "Operation": "villa_contracts.contract",
    "Violation": "villa_contracts.contract",
    "load": "villa_contracts.contract",
    # Errors
    "ApiError": "villa_contracts.errors",
    "ClientError": "villa_contracts.errors",
    "ConfigError": "villa_contracts.errors",
    "ContractError": "villa_contracts.errors",
    "UsageError": "villa_contracts.errors",
    "VillaContractsError": "villa_contracts.errors",
}

if _typing.TYPE_CHECKING:
    from villa_contracts.client import AuthError, Order, OrderBuilder, PrePaymentResult, Settings, Tokens, VillaClient
    from villa_contracts.contract import Contract, Contracts, ContractValidator, Operation, Violation, load
    from villa_contracts.errors import (
        ApiError,
        ClientError,
        ConfigError,
        ContractError,
        UsageError,
        VillaContractsError,
    )


__getattr__ = lazy_names(__name__, _PUBLIC, globals())


__version__ = "0.2.0"

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
