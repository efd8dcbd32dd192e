"""Errors raised by villa-contracts.

Two families are kept apart. *Errors* mean the tool or its input is wrong; *failures* mean the
target backend broke a contract (see ``villa_contracts.failures``).

    VillaContractsError
    ├── ContractError (ValueError)      the contracts/ files are missing or malformed
    ├── ConfigError (ValueError)        settings or environment variables are wrong or missing
    ├── UsageError (ValueError)         a call was made with arguments that cannot work
    └── ClientError                     the reference client got an answer it cannot use
        ├── NotAnswering                nothing answers at the address (connection refused)
        └── ApiError                    the backend answered with an error status
"""

from __future__ import annotations

from typing import Any


class VillaContractsError(Exception):
    """Base class of every error raised by villa-contracts."""


class ContractError(VillaContractsError, ValueError):
    """The contract files cannot be loaded or are inconsistent."""


class ConfigError(VillaContractsError, ValueError):
    """Settings are missing or invalid; the message names the variable to set."""


class UsageError(VillaContractsError, ValueError):
    """An API of this library was called with arguments that cannot work."""


class ClientError(VillaContractsError):
    """The reference client could not complete a call."""


class NotAnswering(ClientError):
    """Nothing answers at the backend's address: the connection was refused (or the host is unknown)."""


class ApiError(ClientError):
    """The backend answered with an error status.

    Attributes:
        status_code: the HTTP status.
        body: the decoded JSON body, or the raw text when it was not JSON.
        operation: the operationId or path that was called.
    """

    def __init__(self, operation: str, status_code: int, body: Any) -> None:
        self.operation = operation
        self.status_code = status_code
        self.body = body
        detail = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"{operation} answered HTTP {status_code}: {detail}")
