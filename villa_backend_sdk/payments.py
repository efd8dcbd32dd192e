"""Card payments (the SDK manual's ``villa_backend_sdk.payments``): card token, charge, verify.

``client.payments`` is a ``PaymentsApi``; its paths follow ``VILLA_ENV`` (dev: ``/api/payment3devapi``,
prod: ``/api/payment3``).
"""

from __future__ import annotations

from villa_contracts.client import CardToken, ChargeResult, PaymentsApi, VerifyResult, mask_card

__all__ = ["CardToken", "ChargeResult", "PaymentsApi", "VerifyResult", "mask_card"]
