"""The Hypothesis strategies of the property suites, in one place.

Carts of a branch's catalog products, the two users and who acts, test cards and 3-D Secure
actions. ``register_profiles()`` adds the ``ci`` settings profile the repo's own tests use.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from suites.property.model import Cart
from villa_contracts.contract import load
from villa_contracts.domain.catalog import BusinessData

UNKNOWN_COUPON = "NO-SUCH-COUPON"
"""A coupon code no catalog has (pricing must refuse it)."""

USERS = st.sampled_from((0, 1))
"""One of the target's two accounts."""

WHO = st.sampled_from(("owner", "owner", "owner", "other"))
"""Who acts on a record: mostly its owner, sometimes the other user."""

THREE_DS = st.sampled_from(("complete", "refuse", "leave"))
"""What the card holder does on the 3-D Secure page."""


@functools.cache
def _shipped_data() -> BusinessData:
    return BusinessData.from_contract(load())


BRANCHES = st.deferred(lambda: st.sampled_from(sorted(_shipped_data().branches)))
"""A branch of the shipped catalog."""

CARDS = st.deferred(lambda: st.sampled_from(list(_shipped_data().cards)))
"""A test card of the shipped data (approve, decline, 3-D Secure, gateway down)."""


def declining(data: BusinessData) -> st.SearchStrategy[tuple[str, str]]:
    """A test card and 3-D Secure action whose charge ends Declined."""
    cards = data.cards.values()
    choices = [(c.number, "refuse") for c in cards if c.outcome == "three_ds"]
    choices += [(c.number, "leave") for c in cards if c.outcome == "decline"]
    return st.sampled_from(sorted(choices))


def carts(data: BusinessData, branch: str, *, unknown_coupon: bool = False) -> st.SearchStrategy[Cart]:
    """Carts of one to three of ``branch``'s products (1–3 units each), a delivery choice and coupons."""
    offered = sorted(code for code, product in data.products.items() if branch in product.offers)
    lines: st.SearchStrategy[tuple[tuple[int, int], ...]] = (
        st.lists(
            st.tuples(st.sampled_from(offered), st.integers(1, 3)),
            min_size=1,
            max_size=3,
            unique_by=lambda line: line[0],
        ).map(tuple)
        if offered
        else st.just(())
    )
    codes = sorted(data.coupons) + ([UNKNOWN_COUPON] if unknown_coupon else [])
    coupons = st.lists(st.sampled_from(codes), max_size=2, unique=True).map(tuple)
    delivery = st.sampled_from((None, *sorted(data.delivery_fees), "PICKUP"))
    return st.builds(Cart, st.just(branch), lines, delivery, coupons)


def register_profiles() -> None:
    """Register the ``ci`` profile: deterministic, no deadline, no example database."""
    settings.register_profile(
        "ci",
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
