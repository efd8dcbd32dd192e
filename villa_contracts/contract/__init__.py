"""Loading the contracts/ directory, validating against it, and linting it."""

from __future__ import annotations

from villa_contracts.contract._lint import LintResult, lint
from villa_contracts.contract._loader import Contract, Operation, default_contracts_dir, load
from villa_contracts.contract._validate import ContractValidator, OperationValidator, Violation

__all__ = [
    "Contract",
    "ContractValidator",
    "LintResult",
    "Operation",
    "OperationValidator",
    "Violation",
    "default_contracts_dir",
    "lint",
    "load",
]
