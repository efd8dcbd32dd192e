"""Orders (the SDK manual's ``villa_backend_sdk.orders``): ``OrderBuilder`` and create / get / update.

``client.orders`` is an ``OrdersApi``. The manual also lists ``list``: the Villa backend contract
(``contracts/villa/openapi.yaml``) has no list operation, so ``OrdersApi.list()`` raises a
``UsageError`` that says so (see docs/sdk.md).
"""

from __future__ import annotations

from villa_contracts.client import GeneratedOrderId, Order, OrderBuilder, OrdersApi

__all__ = ["GeneratedOrderId", "Order", "OrderBuilder", "OrdersApi"]
