"""Loading the contracts/ directory (one contract per API), validating against it, and linting it."""

from __future__ import annotations

from villa_contracts.contract._lint import DOCUMENT, LintResult, lint
from villa_contracts.contract._loader import Contract, Contracts, Operation, default_contracts_dir, load
from villa_contracts.contract._validate import ContractValidator, OperationValidator, Violation

__all__ = [
    "DOCUMENT",
    "Contract",
    "ContractValidator",
    "Contracts",
    "LintResult",
    "Operation",
    "OperationValidator",
    "Violation",
    "default_contracts_dir",
    "lint",
    "load",
]
