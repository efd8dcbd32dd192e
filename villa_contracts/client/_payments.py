"""Card payments (``client.payments``): card token, charge, 3-D Secure, verify.

Paths follow ``VILLA_ENV``: dev calls ``/api/payment3devapi/*``, prod ``/api/payment3/*`` (the
contract's ``*Dev`` operations and the plain ones). Request bodies hold card numbers and tokens:
nothing here logs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from villa_contracts.client._orders import Order
from villa_contracts.client._payment_types import Amount, CardToken, ChargeResult, VerifyResult, amount_text
from villa_contracts.client._pricing_requests import thb
from villa_contracts.client._settings import Settings
from villa_contracts.client._transport import Transport
from villa_contracts.errors import ClientError, UsageError

ThreeDSAction = Literal["complete", "refuse"]


def _field(answer: Any, operation_id: str, key: str) -> Any:
    if not isinstance(answer, dict) or key not in answer:
        raise ClientError(f"{operation_id} answered without {key!r}")
    return answer[key]


class PaymentsApi:
    """The payment endpoints.

    Args:
        transport: calls the backend with the caller's ID token.
        settings: the environment (payment paths), customer id and merchant id.
        owner_id: returns the logged-in user's ``sub``, or None.
        allow_prod_payments: allow charges on a non-local prod backend.

    """

    def __init__(
        self, transport: Transport, settings: Settings, owner_id: Callable[[], str | None], *, allow_prod_payments: bool
    ) -> None:
        self._transport = transport
        self._settings = settings
        self._owner_id = owner_id
        self._allow_prod = allow_prod_payments
        self._suffix = "Dev" if settings.env == "dev" else ""

    @property
    def path_prefix(self) -> str:
        """``/api/payment3devapi`` on dev, ``/api/payment3`` on prod."""
        return "/api/payment3devapi" if self._settings.env == "dev" else "/api/payment3"

    def _who(self, body: dict[str, Any]) -> dict[str, Any]:
        owner = self._owner_id()
        if owner:
            body["userId"] = owner
        if self._settings.customer_id:
            body["customerId"] = self._settings.customer_id
        return body

    def build_card_token_request(
        self,
        order_id: str,
        basket_id: str,
        grand_total: Amount,
        *,
        card_number: str | None = None,
        expiration_month: str = "12",
        expiration_year: str = "2030",
        security_code: str = "123",
    ) -> dict[str, Any]:
        """Build the card-token request (contract ``CardTokenRequest``).

        Args:
            order_id: the order.
            basket_id: the order's basket.
            grand_total: the amount to pay, THB.
            card_number: a test card; without one the gateway uses its default card.
            expiration_month: two digits.
            expiration_year: four digits.
            security_code: the CVV.

        Returns:
            The request body (holds the card number: do not log it).

        """
        body = self._who({"orderId": order_id, "basketId": basket_id, "grandTotal": amount_text(grand_total)})
        if card_number is not None:
            body["card"] = {
                "number": card_number,
                "expirationMonth": expiration_month,
                "expirationYear": expiration_year,
                "securityCode": security_code,
            }
        return body

    def create_card_token(self, request: Mapping[str, Any]) -> CardToken:
        """Tokenise a card for an order (``POST {prefix}/cardtoken``).

        Args:
            request: from ``build_card_token_request``.

        Returns:
            The token.

        Raises:
            ApiError: the backend refused (amount not the grand total 409, not the owner 403...).

        """
        op = "createCardToken" + self._suffix
        answer = self._transport.call(op, dict(request))
        return CardToken(
            card_token=str(_field(answer, op, "cardToken")),
            masked_card_no=str(_field(answer, op, "maskedCardNo")),
            brand=str(_field(answer, op, "brand")),
        )

    def build_card_payment_request(
        self, order_id: str, basket_id: str, grand_total: Amount, token: str
    ) -> dict[str, Any]:
        """Build the charge request (contract ``ChargeRequest``), with the merchant id when set.

        Args:
            order_id: the order.
            basket_id: the order's basket.
            grand_total: the amount, THB (must be the order's grand total).
            token: the card token.

        Returns:
            The request body.

        """
        body = self._who(
            {"orderId": order_id, "basketId": basket_id, "grandTotal": amount_text(grand_total), "token": token}
        )
        if self._settings.mid:
            body["mid"] = self._settings.mid
        return body

    def initiate_card_payment(self, request: Mapping[str, Any]) -> ChargeResult:
        """Charge an order with a card token (``POST {prefix}/charge``).

        Args:
            request: from ``build_card_payment_request``.

        Returns:
            The charge; when ``needs_3ds``, send the card holder to ``redirect_url``.

        Raises:
            UsageError: a prod backend that is not local, and the client was not built with
                ``allow_prod_payments=True``.
            ApiError: the backend refused (409 amount, 503 gateway down...).

        """
        if self._settings.env == "prod" and not self._settings.is_local and not self._allow_prod:
            raise UsageError(
                f"refusing to charge a card on the prod backend {self._settings.base_url}: "
                "build the client with allow_prod_payments=True to do it on purpose"
            )
        op = "createCharge" + self._suffix
        answer = self._transport.call(op, dict(request))
        return ChargeResult(
            charge_id=str(_field(answer, op, "chargeId")),
            transaction_state=str(_field(answer, op, "transaction_state")),
            status=str(_field(answer, op, "status")),
            redirect_url=answer.get("redirect_url"),
            amount=thb(_field(answer, op, "amount")),
            failure_code=answer.get("failure_code"),
            failure_message=answer.get("failure_message"),
        )

    def complete_3ds(self, redirect_url: str, action: ThreeDSAction = "complete") -> str:
        """Act as the card holder on the mock bank's 3-D Secure page (no ID token is sent there).

        Args:
            redirect_url: the charge's ``redirect_url``.
            action: ``complete`` (Authorized) or ``refuse`` (Declined).

        Returns:
            The charge's new ``transaction_state``.

        Raises:
            UsageError: an unknown action.
            ApiError: the page refused (charge not waiting for 3-D Secure 409, unknown 404).

        """
        if action not in ("complete", "refuse"):
            raise UsageError(f"action={action!r} must be 'complete' or 'refuse'")
        answer = self._transport.post_url("threeDSecureSubmit", redirect_url, {"action": action})
        return str(_field(answer, "threeDSecureSubmit", "transaction_state"))

    def verify(self, order_id: str, charge_id: str) -> VerifyResult:
        """Settle a charge into its order (``POST {prefix}/verify``); idempotent.

        Args:
            order_id: the order.
            charge_id: the charge.

        Returns:
            Whether the order is paid, the charge's state and the order.

        Raises:
            ApiError: no such charge for the order (404).

        """
        op = "verifyPayment" + self._suffix
        answer = self._transport.call(op, {"orderId": order_id, "chargeId": charge_id})
        order = _field(answer, op, "order")
        if not isinstance(order, dict):
            raise ClientError(f"{op} answered an order that is not a JSON object")
        return VerifyResult(
            paid=_field(answer, op, "paid") is True,
            transaction_state=str(_field(answer, op, "transaction_state")),
            order=Order(order),
        )
