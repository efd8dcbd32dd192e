"""The Villa SDK API (seeds 000, 001): order ids, orders, pricing and card payments with 3-D Secure.

Its contract is ``contracts/villa/``; its parts (``mock``, ``suite``, ``oracle``) are found by discovery
(``villa_contracts.apis``).
"""

from __future__ import annotations

from typing import Any

PACT_SHIPPING: dict[str, Any] = {
    "shippingType": "DELIVERY",
    "shippingAddress": "168 Sukhumvit 33 Road",
    "shippingPostcode": "10110",
    "shippingPhone": "0812345678",
    "scheduleList": [{"scheduleId": 1, "mode": "REGULAR"}],
}
"""The shipping of the order the Villa pacts expect and their provider states store (one regular delivery)."""
