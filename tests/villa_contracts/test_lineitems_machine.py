"""The line-item order state machine (``suites.property.lineitems_machine``) on a real mock socket."""

from __future__ import annotations

import httpx
import pytest

from suites.context import RunContext
from suites.property.lineitems_machine import MISSING_ORDER, LineItemsMachine, LineItemsSession
from tests.villa_contracts.test_machine import mock_target

pytestmark = pytest.mark.socket

SHIRT_M, SHIRT_L = 36, 37
"""Variants with little stock (10 and 2, contracts/data/lineitems.yaml)."""


def _sell_out(base_url: str, variant: int, units: int) -> None:
    """The second user buys and pays every unit of ``variant`` (paid orders never give their stock back)."""
    with httpx.Client(base_url=base_url) as http:
        token = http.post("/__admin/users/second.user@villa.example/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        address = {"firstname": "A", "lastname": "B", "address1": "1 Road", "zipcode": "10110", "phone": "0812345678"}
        body = {"line_items": [{"variant_id": variant, "quantity": units}], "ship_address": address}
        order = http.post("/api/v1/orders.json", json=body, headers=headers).json()
        payment = {"reference_id": f"PAYID-{order['total_cents']}-x"}
        paid = http.post(f"/api/orders/{order['id']}/payments", json=payment, headers=headers)
        assert paid.status_code == 201, paid.text


def test_an_order_refused_for_stock_still_enters_the_bundle() -> None:
    # Whether an order is made depends on the stock earlier examples left: if a refusal added nothing to
    # the bundle, a replayed example would draw differently and Hypothesis would call a correct mock flaky.
    with mock_target() as target:
        _sell_out(target.base_url, SHIRT_M, 10)
        with RunContext(target) as context:
            machine = type("Machine", (LineItemsMachine,), {"session": LineItemsSession(context)})()
            made = machine.start()
            refused = machine.create(0, None, [(SHIRT_L, 3)])
    assert len(made.values) == 3 and made.values[2] == MISSING_ORDER  # its third order is of the sold-out shirt
    assert refused.values == (MISSING_ORDER,)
    assert not machine.failed
