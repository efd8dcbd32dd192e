"""The Villa SDK's import name: every ``from villa_backend_sdk ... import ...`` the manuals write resolves.

The lines below are the ones the SDK manual and its checkout notes show (the seeds of issue 22), plus
the names of its module table (``villa_backend_sdk.orders``: OrderBuilder, create/get/list;
``.validation``: schema and pre-payment; ``.payments``: card token, charge, verify). docs/sdk.md's and
README.md's import lines are read from the files. Every name is the reference client's own object.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import villa_contracts.client
from villa_contracts.client import Settings, VillaClient
from villa_contracts.contract import load
from villa_contracts.errors import UsageError

ROOT = Path(__file__).resolve().parents[2]
MANUAL_IMPORTS = [
    "from villa_backend_sdk import VillaClient, OrderBuilder",
    "from villa_backend_sdk import VillaClient",
    "from villa_backend_sdk import OrderBuilder",
    "from villa_backend_sdk.orders import OrderBuilder, Order, GeneratedOrderId, OrdersApi",
    "from villa_backend_sdk.validation import OrderSchemaValidator, PrePaymentValidator, PrePaymentResult",
    "from villa_backend_sdk.payments import CardToken, ChargeResult, VerifyResult, PaymentsApi",
]
IMPORT = re.compile(r"^\s*from (villa_backend_sdk(?:\.\w+)?) import ([\w, ]+)$", re.M)


def imported_names(line: str) -> tuple[str, list[str]]:
    match = IMPORT.match(line)
    assert match, line
    return match.group(1), [name.strip() for name in match.group(2).split(",")]


@pytest.mark.parametrize("line", MANUAL_IMPORTS)
def test_the_manuals_import_line_resolves_to_the_reference_clients_object(line: str) -> None:
    namespace: dict[str, object] = {}
    exec(line, namespace)  # noqa: S102
    _, names = imported_names(line)
    for name in names:
        assert namespace[name] is getattr(villa_contracts.client, name), name


@pytest.mark.parametrize("module", ["villa_backend_sdk", "orders", "validation", "payments"])
def test_each_module_is_a_thin_re_export(module: str) -> None:
    name = module if module == "villa_backend_sdk" else f"villa_backend_sdk.{module}"
    sdk = importlib.import_module(name)
    assert sdk.__all__ == sorted(sdk.__all__) and sdk.__all__
    for exported in sdk.__all__:
        obj = getattr(sdk, exported)
        # One implementation: the same object as villa_contracts', defined there, not here.
        assert getattr(obj, "__module__", "").startswith("villa_contracts."), (exported, obj)
    defined_here = [v for v in vars(sdk).values() if getattr(v, "__module__", None) == name and callable(v)]
    assert defined_here == []


@pytest.mark.parametrize("document", ["docs/sdk.md", "README.md"])
def test_every_import_line_of_the_docs_resolves(document: str) -> None:
    lines = [match.group(0).strip() for match in IMPORT.finditer((ROOT / document).read_text(encoding="utf-8"))]
    if document == "docs/sdk.md":
        assert lines, "docs/sdk.md shows no villa_backend_sdk import"
    for line in lines:
        namespace: dict[str, object] = {}
        exec(line, namespace)  # noqa: S102
        module, names = imported_names(line)
        assert all(namespace[n] is getattr(importlib.import_module(module), n) for n in names)


def test_the_module_tables_parts_are_the_clients_attributes() -> None:
    from villa_backend_sdk.orders import OrdersApi
    from villa_backend_sdk.payments import PaymentsApi
    from villa_backend_sdk.validation import OrderSchemaValidator, PrePaymentValidator

    with VillaClient(Settings()) as client:
        assert isinstance(client.orders, OrdersApi)
        assert isinstance(client.pre_payment, PrePaymentValidator)
        assert isinstance(client.schema_validator, OrderSchemaValidator)
        assert isinstance(client.payments, PaymentsApi)


def test_the_contract_has_no_list_operation_and_orders_list_says_so() -> None:
    # If the contract gains one, expose it in OrdersApi (and `villa order list`) instead of this refusal.
    operations = [op for op in load()["villa"].operations if re.match(r"list|search|find", op, re.I)]
    assert operations == []
    with VillaClient(Settings()) as client, pytest.raises(UsageError, match="has no list operation.*get\\(order_id\\)"):
        client.orders.list()
