"""The cart-checkout store's data (``contracts/data/shop.yaml``): payment and shipping methods, addresses, token keys.

Plain values that ``villa_contracts.domain.shop`` (which re-exports every name here) decides with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from villa_contracts.domain.catalog import read_data
from villa_contracts.domain.money import Satang, to_satang

REDIRECT, DIRECT = "redirect", "direct"


@dataclass(frozen=True, slots=True)
class PaymentMethod:
    """A payment method: ``redirect`` (an external gateway page) or ``direct`` (processed at once)."""

    id: int
    name: str
    kind: str
    active: bool
    supports: frozenset[str]
    down: bool = False


@dataclass(frozen=True, slots=True)
class ShippingMethod:
    """A shipping method and its fee."""

    id: int
    name: str
    fee: Satang
    active: bool
    supports: frozenset[str]


@dataclass(frozen=True, slots=True)
class Address:
    """A customer's address (``owner``: an identity; in ``ShopData.addresses``, the owner's user name)."""

    id: int
    owner: str
    line1: str
    city: str
    postcode: str
    phone: str
    line2: str = ""


@dataclass(frozen=True, slots=True)
class KeyPolicy:
    """Shop token keys: how long one lives on the mock's clock, and how many are kept at most."""

    lifetime_seconds: float
    max_keys: int

    def __post_init__(self) -> None:
        if not (self.lifetime_seconds > 0 and self.max_keys > 0):
            raise ValueError(f"token keys need a lifetime and a maximum above 0, not {self!r}")

    def expires_at(self, issued_at: float) -> float:
        """When a key issued at ``issued_at`` stops working."""
        return issued_at + self.lifetime_seconds

    def evictions(self, kept: int, oldest_guests: Sequence[str], oldest: Sequence[str]) -> list[str]:
        """The keys forgotten when ``kept`` are kept: past ``max_keys``, the oldest guest keys first, then any.

        ``oldest_guests`` and ``oldest`` are the oldest guest keys and the oldest keys, oldest first.
        """
        excess = max(kept - self.max_keys, 0)
        chosen = list(oldest_guests[:excess])
        chosen += [key for key in oldest if key not in chosen][: excess - len(chosen)]
        return chosen


def key_is_live(expires_at: float, now: float) -> bool:
    """Whether a token key that expires at ``expires_at`` still works at ``now``."""
    return now < expires_at


@dataclass(frozen=True, slots=True)
class ShopData:
    """The store's data (``contracts/data/shop.yaml``); build it with ``ShopData.from_contract(load())``."""

    branch: str
    currency: str
    content: dict[int, str]
    profiles: dict[str, dict[str, str]]
    addresses: tuple[Address, ...]
    payment_methods: dict[int, PaymentMethod]
    shipping_methods: dict[int, ShippingMethod]
    gateway_key: str = field(repr=False)
    token_keys: KeyPolicy

    @classmethod
    def from_contract(cls, contracts: Any) -> ShopData:
        """Read ``shop`` from the contracts' shared data (``ContractError``: the file is malformed)."""
        return read_data(contracts, "shop", cls._read)

    @classmethod
    def _read(cls, raw: Any) -> ShopData:
        return cls(
            branch=str(raw["branch"]),
            currency=str(raw["currency"]),
            content={int(code): str(kind) for code, kind in raw["content"].items()},
            profiles={str(name): {k: str(v) for k, v in p.items()} for name, p in raw["profiles"].items()},
            addresses=tuple(
                Address(
                    int(a["id"]),
                    str(a["owner"]),
                    str(a["line1"]),
                    str(a["city"]),
                    str(a["postcode"]),
                    str(a["phone"]),
                    str(a.get("line2", "")),
                )
                for a in raw["addresses"]
            ),  # fmt: skip
            payment_methods={
                int(m["id"]): PaymentMethod(
                    int(m["id"]),
                    str(m["name"]),
                    str(m["kind"]),
                    bool(m["active"]),
                    frozenset(m["supports"]),
                    bool(m.get("down", False)),
                )
                for m in raw["payment_methods"]
            },  # fmt: skip
            shipping_methods={
                int(m["id"]): ShippingMethod(
                    int(m["id"]), str(m["name"]), to_satang(m["fee"]), bool(m["active"]), frozenset(m["supports"])
                )
                for m in raw["shipping_methods"]
            },  # fmt: skip
            gateway_key=str(raw["gateway_key"]),
            token_keys=KeyPolicy(float(raw["token_keys"]["lifetime_seconds"]), int(raw["token_keys"]["max_keys"])),
        )
