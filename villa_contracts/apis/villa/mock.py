"""The Villa SDK API in the mock: a handler per operationId (its sweepers and Pact states register on import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server import provider_states  # noqa: F401 - registers the Villa API's provider states
from mock_server.handlers import meta, orders, payments, pricing

if TYPE_CHECKING:
    from mock_server.dispatch import Handler

HANDLERS: dict[str, Handler] = {
    "health": meta.health,
    "generateOrderId": orders.generate_order_id,
    "createOrder": orders.create_order,
    "getOrder": orders.get_order,
    "updateOrder": orders.update_order,
    "calculateGrandtotal": pricing.calculate_grandtotal,
    "getCost": pricing.get_cost,
    # dev (/api/payment3devapi) and prod (/api/payment3) paths run the same rules.
    "createCardTokenDev": payments.create_card_token,
    "createCardToken": payments.create_card_token,
    "createChargeDev": payments.create_charge,
    "createCharge": payments.create_charge,
    "verifyPaymentDev": payments.verify_payment,
    "verifyPayment": payments.verify_payment,
    "threeDSecurePage": payments.three_d_secure_page,
    "threeDSecureSubmit": payments.three_d_secure_submit,
}
