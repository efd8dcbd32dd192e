"""What a suite runs against: a base URL and two logged-in test accounts."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Account:
    """A logged-in test account (the ID token is a secret: never print it)."""

    username: str
    sub: str
    id_token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        """The Authorization header the Villa API wants."""
        return {"Authorization": f"Bearer {self.id_token}"}


@dataclass(frozen=True, slots=True)
class Target:
    """A backend under test.

    Attributes:
        base_url: where the Villa API is.
        accounts: two test accounts (the suites check that neither sees the other's orders).
        is_mock: the target is a villa-contracts mock (its catalog is the contract's data, and it
            has the admin API).
        env: ``dev`` or ``prod`` (VILLA_ENV): chooses the payment path prefix.
        allow_payments: payment operations may be called (refused on prod unless allowed).
        seed: the seed every generator uses, so that two runs make the same requests.
        max_examples: generated examples per operation.
        rate_limit: most requests per second (None: no limit).
    """

    base_url: str
    accounts: tuple[Account, Account]
    is_mock: bool = True
    env: str = "dev"
    allow_payments: bool = True
    seed: int = 0
    max_examples: int = 20
    rate_limit: float | None = None

    @property
    def payment_prefix(self) -> str:
        """``/api/payment3devapi`` on dev, ``/api/payment3`` on prod."""
        return "/api/payment3" if self.env == "prod" else "/api/payment3devapi"
