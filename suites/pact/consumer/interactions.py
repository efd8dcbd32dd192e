"""Building blocks of the consumer interactions: example values, provider-state matchers, a client.

Ids, tokens and timestamps are matchers, never literals. Values a provider must make up in a state
(the user's ID token and ``sub``, the order id, the card token, the charge id) are provider-state
generators: the verifier replaces ``${token}`` etc. with what the state-change call answered.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from pact import generate, match
from pact.match.matcher import AbstractMatcher, GenericMatcher

from villa_contracts.apis.villa import PACT_SHIPPING as SHIPPING
from villa_contracts.client import Settings, Tokens, VillaClient

SUB = "7d1c6f0e-3b8a-4c52-9e1f-2a6b8d4c0e11"
FOREIGN_SUB = "00000000-0000-4000-8000-000000000000"
ORDER_ID = "100026000001"
CARD_TOKEN = "tokn_test_22dfcd7646fb8793ce19"
CHARGE_ID = "chrg_test_946ff72829e8c36c13df"
TIMESTAMP = 1795454527.85
UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"

UNPAID_ORDER = "user U has an unpaid order O for one 25281 on branch 1000"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


# An unsigned JWT in Cognito's shape: the client reads its ``sub`` (ownerId); the provider never
# sees it, because the verifier sends the token its state answered instead.
ID_TOKEN = ".".join(
    (_b64({"alg": "RS256", "typ": "JWT"}), _b64({"sub": SUB, "token_use": "id", "exp": 4102444800}), "c2lnbmF0dXJl")
)


def from_state(expression: str, example: Any, kind: str = "type") -> AbstractMatcher[Any]:
    """A value the provider state supplies (``${name}``), matched by type (or ``kind``)."""
    return GenericMatcher(kind, value=example, generator=generate.provider_state(expression))  # type: ignore[arg-type]


def bearer() -> AbstractMatcher[Any]:
    """The ``Authorization`` header: any bearer token, replayed with the state's ``${token}``."""
    return GenericMatcher(
        "regex",
        value=f"Bearer {ID_TOKEN}",
        regex=r"^Bearer \S+$",
        generator=generate.provider_state("Bearer ${token}"),
    )


def order_id() -> AbstractMatcher[Any]:
    """The order id of the state, 12 digits."""
    return GenericMatcher("regex", value=ORDER_ID, regex=r"^\d{12}$", generator=generate.provider_state("${orderId}"))


def sub() -> AbstractMatcher[Any]:
    """The state's user's ``sub`` (ownerId, basketId, userId)."""
    return GenericMatcher("regex", value=SUB, regex=UUID, generator=generate.provider_state("${sub}"))


def error_body() -> AbstractMatcher[Any]:
    """The contract's error body, matched by type."""
    return match.like({"error": "what went wrong", "code": "some_code", "details": []})


def order_document(*, paid: bool = False) -> AbstractMatcher[Any]:
    """An order as the backend answers it (the fields the SDK reads), matched by type."""
    payment: dict[str, Any] = {
        "paymentId": ORDER_ID,
        "subTotal": 79.0,
        "shippingAmount": 95.0,
        "discountAmount": 0.0,
        "grandTotal": 174.0,
        "status": "PAID" if paid else "PENDING",
        "isPaid": paid,
        "totalPaid": 174.0 if paid else 0.0,
    }
    return match.like(
        {
            "orderId": match.regex(ORDER_ID, regex=r"^\d{12}$"),
            "ownerId": match.regex(SUB, regex=UUID),
            "basketId": match.regex(SUB, regex=UUID),
            "branchId": "1000",
            "productList": match.each_like({"cprcode": 25281, "quantity": 1, "price": 79.0, "rowTotal": 79.0}, min=1),
            "orderDate": match.number(TIMESTAMP),
            "payment": payment,
        }
    )


def order_payload(owner: Any = None) -> dict[str, Any]:
    """The order the SDK builds: one 25281 on branch 1000, delivered."""
    return {
        "orderId": ORDER_ID,
        "ownerId": owner or SUB,
        "basketId": SUB,
        "branchId": "1000",
        "productList": [{"cprcode": 25281, "quantity": 1}],
        "orderSource": "WEB",
        "shipping": SHIPPING,
    }


def order_payload_matchers(owner: Any = None) -> dict[str, Any]:
    """``order_payload`` with the state's values as provider-state generators."""
    return {**order_payload(), "orderId": order_id(), "ownerId": owner or sub(), "basketId": sub()}


def client(base_url: str, http: httpx.Client, *, logged_in: bool = True) -> VillaClient:
    """The reference client on ``base_url``, holding ``ID_TOKEN`` as if logged in."""
    villa = VillaClient(Settings(base_url=base_url), http=http)
    if logged_in:
        # The SDK's login is Cognito's business, outside this pact: give the client its tokens.
        villa.auth._tokens = Tokens(id_token=ID_TOKEN, access_token=ID_TOKEN, refresh_token=None, expires_in=3600)
    return villa
