"""One handler per operationId of each contract; ``HANDLERS[contract][operationId]`` is its function.

``create_app`` refuses to start when a contract's operations and its handlers differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server.handlers import admin, lineitems, meta, orders, payments, pricing, shop, shop_orders

if TYPE_CHECKING:
    from mock_server.dispatch import Handler

VILLA: dict[str, Handler] = {
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

SHOP: dict[str, Handler] = {
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

LINEITEMS: dict[str, Handler] = {
    "createLineItemOrder": lineitems.create_order,
    "payLineItemOrder": lineitems.pay_order,
    # The seed names both paths for one list.
    "listLineItemOrdersJson": lineitems.list_orders,
    "listLineItemOrders": lineitems.list_orders,
}

HANDLERS: dict[str, dict[str, Handler]] = {
    "villa": VILLA,
    "admin": dict(admin.HANDLERS),
    "shop": SHOP,
    "lineitems": LINEITEMS,
}

__all__ = ["HANDLERS"]
