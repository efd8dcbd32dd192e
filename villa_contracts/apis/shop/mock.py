"""The shop in the mock: a handler per operationId (its sweepers and Pact states register on import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server import provider_states_shop  # noqa: F401 - registers the shop's provider states
from mock_server.handlers import shop, shop_orders

if TYPE_CHECKING:
    from mock_server.dispatch import Handler

HANDLERS: dict[str, Handler] = {
    "obtainToken": shop.obtain_token,
    "startGuest": shop.start_guest,
    "getProfile": shop.get_profile,
    "updateProfile": shop.update_profile,
    "listAddresses": shop.list_addresses,
    "addAddress": shop.add_address,
    "getCart": shop.get_cart,
    "addCartItem": shop.add_cart_item,
    "changeCartItem": shop.change_cart_item,
    "removeCartItem": shop.remove_cart_item,
    "listPaymentMethods": shop.list_payment_methods,
    "listShippingMethods": shop.list_shipping_methods,
    "checkoutCart": shop_orders.checkout_cart,
    "listOrders": shop_orders.list_orders,
    "getOrder": shop_orders.get_order,
    "getOrderToPay": shop_orders.get_order_to_pay,
    "listPaymentAttempts": shop_orders.list_payment_attempts,
    "createPaymentAttempt": shop_orders.create_payment_attempt,
    "paymentCallback": shop_orders.payment_callback,
    "gatewayPage": shop_orders.gateway_page,
    "gatewayDecision": shop_orders.gateway_decision,
}
