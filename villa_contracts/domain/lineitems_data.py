"""The line-item order API's vocabulary and data (seed 004): order states, merchants, variants, amounts in cents.

``contracts/data/lineitems.yaml`` as plain values, the seed's order (``SEED_ORDER``), and how an amount
of cents is shown; every name here is also ``villa_contracts.domain.lineitems``'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from villa_contracts.domain.catalog import read_data

CREATED, PAYMENT, COMPLETED = "created", "payment", "completed"
PARTIAL_DELIVERED, DELIVERED = "partial_delivered", "delivered"
CANCELED = "canceled"
STATES = (CREATED, PAYMENT, COMPLETED, PARTIAL_DELIVERED, DELIVERED, CANCELED)
EXPIRED = "expired"
"""The ``cancel_reason`` of an order canceled because it expired not paid in full (``decide_expiry``)."""
TYPES: dict[str, frozenset[str]] = {
    "completed": frozenset({COMPLETED, PARTIAL_DELIVERED, DELIVERED}),
    "not_completed": frozenset({CREATED, PAYMENT}),
}
"""What each ``type`` filter of the seed's 2014-12-16 note names."""
DELIVERY_MOVES: dict[str, frozenset[str]] = {
    COMPLETED: frozenset({PARTIAL_DELIVERED, DELIVERED}),
    PARTIAL_DELIVERED: frozenset({DELIVERED}),
}
"""Where a merchant may move an order (the admin endpoint), from each state."""
SEED_ORDER: dict[str, Any] = {
    "remarks": "this is a remarks",
    "line_items": [{"variant_id": 33, "quantity": 2}, {"variant_id": 34, "quantity": 3}],
    "ship_address": {"firstname": "Noemi", "lastname": "Ullrich", "address1": "2315 Molly Hill",
                     "address2": "Suite 329", "zipcode": "47546", "phone": "(684) 555-8450"},
}  # fmt: skip
"""The seed's order, as its mobile client creates it (the flow's, and the Pact provider states')."""

Cents = int


@dataclass(frozen=True, slots=True)
class Merchant:
    """A merchant: its shipping fee per order and its avatar."""

    name: str
    shipping_fee_cents: Cents
    avatar: dict[str, str]


@dataclass(frozen=True, slots=True)
class Variant:
    """A variant a merchant sells, with its own stock."""

    id: int
    product: str
    options_text: str
    price_cents: Cents
    merchant: str
    stock: int
    image: int

    @property
    def images(self) -> list[dict[str, str]]:
        """The variant's images, as the seed shows them."""
        return [_image(self.image)]


def _image(number: int) -> dict[str, str]:
    base = f"/uploads/image/image/{number}"
    return {
        "url": f"{base}/gshock.jpg",
        "medium_url": f"{base}/medium_gshock.jpg",
        "thumb_url": f"{base}/thumb_gshock.jpg",
    }


@dataclass(frozen=True, slots=True)
class LineItemsData:
    """``contracts/data/lineitems.yaml``; build it with ``LineItemsData.from_contract(load())``."""

    currency: str
    page_size: int
    expiry_seconds: float
    merchants: dict[str, Merchant]
    variants: dict[int, Variant]
    references: dict[str, Cents]
    pattern: re.Pattern[str]

    @classmethod
    def from_contract(cls, contracts: Any) -> LineItemsData:
        """Read ``lineitems`` from the contracts' shared data (``ContractError``: the file is malformed)."""
        return read_data(contracts, "lineitems", cls._read)

    @classmethod
    def _read(cls, raw: Any) -> LineItemsData:
        merchants = {
            str(name): Merchant(str(name), int(m["shipping_fee_cents"]), {k: str(v) for k, v in m["avatar"].items()})
            for name, m in raw["merchants"].items()
        }
        variants = {
            int(vid): Variant(
                int(vid), str(v["product"]), str(v["options_text"]), int(v["price_cents"]), str(v["merchant"]),
                int(v["stock"]), int(v["image"]),
            )
            for vid, v in raw["variants"].items()
        }  # fmt: skip
        unknown = sorted({v.merchant for v in variants.values()} - set(merchants))
        if unknown:
            raise ValueError(f"variants name unknown merchants {unknown}")
        return cls(
            currency=str(raw["currency"]),
            page_size=int(raw["page_size"]),
            expiry_seconds=float(raw["expiry_seconds"]),
            merchants=merchants,
            variants=variants,
            references={str(ref): int(cents) for ref, cents in raw["paypal"]["references"].items()},
            pattern=re.compile(str(raw["paypal"]["pattern"])),
        )


# --- money --------------------------------------------------------------------------------------


def display(cents: Cents) -> str:
    """An amount for people, derived from its cents: ``40000`` → ``"$400"``, ``7450`` → ``"$74.50"``."""
    sign = "-" if cents < 0 else ""
    dollars, rest = divmod(abs(cents), 100)
    return f"{sign}${dollars}" if rest == 0 else f"{sign}${dollars}.{rest:02d}"


def amount(cents: Cents) -> float:
    """An amount as the seed's JSON number: ``40000`` → ``400.0`` (exact for any cents below 2**53)."""
    return cents / 100
