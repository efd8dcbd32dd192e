"""The business data the rules need, read from the contract's data files into value objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from villa_contracts.domain.money import Satang, to_satang
from villa_contracts.errors import ContractError, VillaContractsError

_Read = TypeVar("_Read")


def read_data(contracts: Any, name: str, read: Callable[[Any], _Read]) -> _Read:
    """``read(contracts.data(name))``: one data file of the contracts (``contracts/data/<name>.yaml``) as values.

    Raises:
        ContractError: the file is malformed (a key missing, a value of the wrong type); the message names it.
    """
    try:
        return read(contracts.data(name))
    except (KeyError, TypeError, ValueError, AttributeError, re.error, VillaContractsError) as exc:
        raise ContractError(f"contracts/data/{name}.yaml is malformed: {exc!r}") from exc


@dataclass(frozen=True, slots=True)
class Offer:
    """A product's price and stock at one branch."""

    original_price: Satang
    price: Satang
    stock: int


@dataclass(frozen=True, slots=True)
class Product:
    """A catalog product."""

    cprcode: int
    name: str
    offers: dict[str, Offer] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon: ``amount`` off when the subtotal reaches ``min_subtotal``."""

    code: str
    amount: Satang
    min_subtotal: Satang


@dataclass(frozen=True, slots=True)
class TestCard:
    """A test card of the mock gateway and what a charge with it does."""

    __test__ = False  # not a pytest test class

    number: str
    outcome: str
    brand: str
    failure_code: str | None = None


@dataclass(frozen=True, slots=True)
class BusinessData:
    """Catalog, delivery fees, coupons and test cards.

    Build it with ``BusinessData.from_contract(load())``.
    """

    branches: dict[str, str]
    products: dict[int, Product]
    delivery_fees: dict[str, Satang]
    preorder_fee: Satang
    pickup_fee: Satang
    coupons: dict[str, Coupon]
    cards: dict[str, TestCard]
    default_card: str

    @classmethod
    def from_contract(cls, contract: Any) -> BusinessData:
        """Read ``catalog``, ``delivery``, ``coupons`` and ``test_cards`` from a ``Contract``."""
        try:
            catalog = contract.data("catalog")
            delivery = contract.data("delivery")
            coupons = contract.data("coupons")
            cards = contract.data("test_cards")
            products = {
                int(code): Product(
                    int(code),
                    str(p["productName"]),
                    {
                        str(branch): Offer(to_satang(o["originalPrice"]), to_satang(o["price"]), int(o["stock"]))
                        for branch, o in p["prices"].items()
                    },
                )
                for code, p in catalog["products"].items()
            }
            return cls(
                branches={str(b): str(v.get("name", b)) for b, v in catalog["branches"].items()},
                products=products,
                delivery_fees={str(mode): to_satang(fee) for mode, fee in delivery["fees"].items()},
                preorder_fee=to_satang(delivery["preOrder"]),
                pickup_fee=to_satang(delivery["pickup"]),
                coupons={
                    str(code): Coupon(str(code), to_satang(c["amount"]), to_satang(c.get("minSubTotal", "0")))
                    for code, c in coupons.items()
                },
                cards={
                    str(num): TestCard(str(num), str(c["outcome"]), str(c["brand"]), c.get("failureCode"))
                    for num, c in cards["cards"].items()
                },
                default_card=str(cards["default"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ContractError(f"business data in {contract.root / 'data'} is malformed: {exc!r}") from exc

    def card_with_outcome(self, outcome: str) -> TestCard:
        """The first test card whose outcome is ``outcome``."""
        for card in self.cards.values():
            if card.outcome == outcome:
                return card
        raise ContractError(f"no test card with outcome {outcome!r} in test_cards.yaml")

    def prices(self) -> dict[tuple[int, str], Satang]:
        """The catalog's prices in satang by ``(cprcode, branch)``."""
        return {
            (code, branch): offer.price
            for code, product in self.products.items()
            for branch, offer in product.offers.items()
        }
