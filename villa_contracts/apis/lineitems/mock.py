"""The line-item order API in the mock: a handler per operationId (its sweeper and Pact states register on import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server import provider_states_lineitems  # noqa: F401 - registers the line-item API's provider states
from mock_server.handlers import lineitems

if TYPE_CHECKING:
    from mock_server.dispatch import Handler

HANDLERS: dict[str, Handler] = {
    "createLineItemOrder": lineitems.create_order,
    "payLineItemOrder": lineitems.pay_order,
    # The seed names both paths for one list.
    "listLineItemOrdersJson": lineitems.list_orders,
    "listLineItemOrders": lineitems.list_orders,
}
