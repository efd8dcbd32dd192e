"""Pricing rules to the satang, on the contract's business data."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fixtures.reference import GOOD_SAMPLE
from villa_contracts.contract import load
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.errors import RuleViolation
from villa_contracts.domain.money import fmt, to_satang
from villa_contracts.domain.pricing import delivery_fee, price_cart

DATA = BusinessData.from_contract(load())


def test_seed_one_25281_on_branch_1000_is_174() -> None:
    assert price_cart(DATA, "1000", [{"cprcode": 25281, "quantity": 1}]).grand_total == 17400


def test_seed_with_delivery_shipping_is_still_174() -> None:
    shipping = {"shippingType": "DELIVERY", "scheduleList": [{"mode": "REGULAR"}]}
    assert price_cart(DATA, "1000", [{"cprcode": 25281, "quantity": 1}], shipping=shipping).grand_total == 17400


def test_good_sample_is_500() -> None:
    doc = json.loads(GOOD_SAMPLE.read_text())
    quote = price_cart(DATA, doc["branchId"], doc["productList"], shipping=doc["shipping"])
    assert (quote.subtotal, quote.delivery_fee, quote.grand_total) == (40500, 9500, 50000)


def test_client_prices_are_ignored() -> None:
    quote = price_cart(DATA, "1000", [{"cprcode": 25281, "quantity": 1, "price": 20, "rowTotal": 20}])
    assert quote.lines[0].price == 7900


def test_pickup_has_no_delivery_fee_and_preorder_costs_150() -> None:
    assert delivery_fee(DATA, {"shippingType": "PICKUP", "scheduleList": []}) == 0
    assert delivery_fee(DATA, {"scheduleList": [{"preOrder": "PREORDER_FIXED"}, {"mode": "EXPRESS"}]}) == 30000


def test_coupon_applies_only_above_its_minimum() -> None:
    small = price_cart(DATA, "1000", [{"cprcode": 25281, "quantity": 1}], coupon_codes=["VILLA50"])
    big = price_cart(DATA, "1000", [{"cprcode": 164687, "quantity": 3}], coupon_codes=["VILLA50"])
    assert small.coupon_discount == 0
    assert big.grand_total == 3 * 19700 + 9500 - 5000


@pytest.mark.parametrize(
    ("branch", "products", "coupons", "pointer"),
    [
        ("9999", [{"cprcode": 25281, "quantity": 1}], [], "/branchId"),
        ("1000", [{"cprcode": 1, "quantity": 1}], [], "/productList/0/cprcode"),
        ("1001", [{"cprcode": 164687, "quantity": 1}], [], "/productList/0/cprcode"),
        ("1000", [{"cprcode": 25281, "quantity": 1}], ["NOPE"], "/couponCodeList/0"),
    ],
)
def test_unknown_things_are_not_found_with_a_pointer(branch, products, coupons, pointer) -> None:
    with pytest.raises(RuleViolation) as info:
        price_cart(DATA, branch, products, coupon_codes=coupons)
    assert (info.value.kind, info.value.pointer) == ("not_found", pointer)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(c for c, p in DATA.products.items() if "1000" in p.offers)), st.integers(1, 50)
        ),
        max_size=8,
    ),
    st.lists(st.sampled_from(sorted(DATA.coupons)), max_size=3),
)
def test_grand_total_is_subtotal_plus_delivery_minus_discounts(items, coupons) -> None:
    quote = price_cart(DATA, "1000", [{"cprcode": c, "quantity": q} for c, q in items], coupon_codes=coupons)
    assert quote.subtotal == sum(DATA.products[c].offers["1000"].price * q for c, q in items)
    assert quote.grand_total == quote.subtotal + quote.delivery_fee - quote.cart_discount - quote.coupon_discount
    assert quote.grand_total >= 0


@pytest.mark.parametrize(("value", "satang"), [(174.0, 17400), ("79.95", 7995), (0.1, 10), (46, 4600)])
def test_money_is_exact(value, satang) -> None:
    assert to_satang(value) == satang
    assert fmt(satang) == f"{satang / 100:.2f}"


def test_money_refuses_fractions_of_a_satang() -> None:
    with pytest.raises(ValueError, match="2 decimals"):
        to_satang("1.005")


@pytest.mark.parametrize("value", [1.3396714032465952e308, "1e20", float("nan"), "abc", True])
def test_money_refuses_absurd_amounts_with_a_usage_error(value) -> None:
    with pytest.raises(ValueError):
        to_satang(value)
