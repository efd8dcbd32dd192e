"""Loading the contracts/ directory (one contract per API), validating against it, and linting it."""

from __future__ import annotations

import typing as _typing

from villa_contracts._lazy import lazy_names
from villa_contracts.contract._loader import Contract, Contracts, Operation, default_contracts_dir, load
from villa_contracts.contract._validate import ContractValidator, OperationValidator, Violation

# The linter is imported on first use: checking traffic (`proxy check`) or serving never lints.
_PUBLIC = dict.fromkeys(("DOCUMENT", "LintResult", "lint"), "villa_contracts.contract._lint")

if _typing.TYPE_CHECKING:
    from villa_contracts.contract._lint import DOCUMENT, LintResult, lint

__getattr__ = lazy_names(__name__, _PUBLIC, globals())

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
