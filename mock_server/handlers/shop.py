"""The shop's customer side (seed 002's prerequisites): token keys, profile, addresses, cart, methods.

A customer is an identity (``user:<sub>`` or ``guest:anon_<hex>``, see ``mock_server.auth.token_keys``).
Records, by storage kind: ``shop_profiles`` and ``shop_carts`` by identity; ``shop_addresses`` by
id, filed in the ordered list ``shop_address_index:<identity>`` (oldest first). The addresses and completed profiles of
``contracts/data/shop.yaml`` are the test users' from the start. Prices come from the shared
catalog at the store's branch; every rule is ``villa_contracts.domain.shop``'s.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from mock_server.expiry import sweeper
from villa_contracts.domain import cards
from villa_contracts.domain import shop as rules
from villa_contracts.domain.money import fmt

if TYPE_CHECKING:
    from mock_server.dispatch import Call
    from mock_server.state import MockState

PROFILES = "shop_profiles"
ADDRESSES = "shop_addresses"
ADDRESS_INDEX = "shop_address_index"
CARTS = "shop_carts"
FIRST_ADDRESS_ID = 1000
_PROFILE_FIELDS = ("first_name", "last_name", "phone", "email")


# --- token keys ---------------------------------------------------------------------------------


def obtain_token(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/auth/token``: a key for a user of the one user directory."""
    auth = call.state.auth
    user = auth.check_password(call.body["username"], call.body["password"])
    rules.require_credentials(user is not None)
    assert user is not None
    identity = rules.identity_of_user(str(user["sub"]))
    return 200, {"token": auth.token_keys.issue(identity, user["username"], user.get("email")), "customer": identity}


def start_guest(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/auth/guest``: a new anonymous customer and its key (guest keys are forgotten first)."""
    identity = call.state.ids.hex_id("guest:anon_", 6)
    return 201, {"token": call.state.auth.token_keys.issue(identity, identity, None, guest=True), "customer": identity}


@sweeper
def expire_token_keys(state: MockState) -> float:
    """Forget the token keys past their lifetime (``TokenKeys.expire_due``), oldest first."""
    return state.auth.token_keys.expire_due(state.clock.now())


# --- profile ------------------------------------------------------------------------------------


def profile_of(state: MockState, identity: str, username: str, email: str | None) -> dict[str, str]:
    """The customer's profile: stored, else the data's completed one, else empty (e-mail from the login)."""
    stored = state.store.get(PROFILES, identity)
    if stored is not None:
        return {key: str(stored.get(key, "")) for key in _PROFILE_FIELDS}
    given = next((p for name, p in state.shop.profiles.items() if name.casefold() == username.casefold()), None)
    if given is not None and identity.startswith("user:"):
        return {key: given.get(key, "") for key in _PROFILE_FIELDS}
    return {"first_name": "", "last_name": "", "phone": "", "email": email or ""}


def _profile_json(identity: str, profile: dict[str, str]) -> dict[str, Any]:
    return {"customer": identity, **profile, "completed": rules.profile_complete(profile)}


def get_profile(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/profile``."""
    principal = call.principal
    assert principal is not None
    return 200, _profile_json(call.sub, profile_of(call.state, call.sub, principal.username, principal.email))


def update_profile(call: Call) -> tuple[int, Any]:
    """``PUT /api/shop/profile``: the fields given replace the stored ones."""
    cards.refuse_card_data(call.body, known=call.state.data.cards)
    principal = call.principal
    assert principal is not None
    with call.state.store.transaction():
        profile = profile_of(call.state, call.sub, principal.username, principal.email)
        profile.update({key: str(call.body[key]).strip() for key in _PROFILE_FIELDS if key in call.body})
        call.state.store.put(PROFILES, call.sub, profile)
    return 200, _profile_json(call.sub, profile)


# --- addresses ----------------------------------------------------------------------------------


def address(state: MockState, address_id: int) -> rules.Address | None:
    """Address ``address_id`` with its owner's identity (a data address: its user's), or None."""
    stored = state.store.get(ADDRESSES, str(address_id))
    if stored is not None:
        return rules.Address(**stored)
    given = next((a for a in state.shop.addresses if a.id == address_id), None)
    sub = state.auth.sub_of(given.owner) if given is not None else None
    return dataclasses.replace(given, owner=rules.identity_of_user(sub)) if given and sub else None


def _addresses_of(state: MockState, identity: str, username: str) -> list[rules.Address]:
    user = identity.startswith("user:")
    owned = [a for a in state.shop.addresses if user and a.owner.casefold() == username.casefold()]
    listing = f"{ADDRESS_INDEX}:{identity}"
    stored = state.store.get_many(ADDRESSES, state.store.index_range(listing, 0, state.store.index_count(listing)))
    return owned + [rules.Address(**record) for record in stored if record is not None]


def address_json(item: rules.Address) -> dict[str, Any]:
    """An address as the contract answers it (no owner)."""
    return {
        "id": item.id, "line1": item.line1, "line2": item.line2, "city": item.city, "postcode": item.postcode,
        "phone": item.phone,
    }  # fmt: skip


def list_addresses(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/addresses``."""
    principal = call.principal
    assert principal is not None
    return 200, {"results": [address_json(a) for a in _addresses_of(call.state, call.sub, principal.username)]}


def add_address(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/addresses``."""
    state, body = call.state, call.body
    cards.refuse_card_data(body, known=state.data.cards)
    with state.store.transaction():
        address_id = FIRST_ADDRESS_ID + state.store.next_sequence("shop_address")
        item = rules.Address(
            address_id, call.sub, body["line1"], body["city"], body["postcode"], body["phone"], body.get("line2", "")
        )
        state.store.put(ADDRESSES, str(address_id), dataclasses.asdict(item))
        state.store.index_put(f"{ADDRESS_INDEX}:{call.sub}", str(address_id), address_id)
    return 201, address_json(item)


# --- cart ---------------------------------------------------------------------------------------


def cart_of(state: MockState, identity: str) -> dict[int, int]:
    """The caller's cart: units per product, in the order they were added."""
    record = state.store.get(CARTS, identity) or {"items": []}
    return {int(pid): int(quantity) for pid, quantity in record["items"]}


def cart_lines(state: MockState, cart: dict[int, int]) -> list[rules.Line]:
    """The cart's lines, priced from the catalog now."""
    return [rules.line(state.data, state.shop, pid, quantity) for pid, quantity in cart.items()]


def store_cart(state: MockState, identity: str, cart: dict[int, int]) -> None:
    """Keep the caller's cart (an empty cart is deleted)."""
    if cart:
        state.store.put(CARTS, identity, {"items": [[pid, quantity] for pid, quantity in cart.items()]})
    else:
        state.store.delete(CARTS, identity)


def _cart_json(state: MockState, cart: dict[int, int]) -> dict[str, Any]:
    lines = cart_lines(state, cart)
    return {
        "items": [rules.line_json(item) for item in lines],
        "item_count": sum(item.quantity for item in lines),
        "items_total": fmt(rules.items_total(lines)),
        "currency": state.shop.currency,
    }


def get_cart(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/cart``."""
    return 200, _cart_json(call.state, cart_of(call.state, call.sub))


def add_cart_item(call: Call) -> tuple[int, Any]:
    """``POST /api/shop/cart/items``: more units of a product the store sells (stock is checked at checkout)."""
    # JSON Schema's integer admits 2.0: the contract bounds these, so int() is exact.
    state, product_id, quantity = call.state, int(call.body["product_id"]), int(call.body["quantity"])
    rules.line(state.data, state.shop, product_id, quantity)
    with state.store.transaction():
        cart = rules.add_to_cart(cart_of(state, call.sub), product_id, quantity)
        store_cart(state, call.sub, cart)
    return 200, _cart_json(state, cart)


def change_cart_item(call: Call) -> tuple[int, Any]:
    """``PATCH /api/shop/cart/items/{product_id}``: set a line's quantity."""
    return _set_cart_line(call, int(call.body["quantity"]))


def remove_cart_item(call: Call) -> tuple[int, Any]:
    """``DELETE /api/shop/cart/items/{product_id}``."""
    return _set_cart_line(call, None)


def _set_cart_line(call: Call, quantity: int | None) -> tuple[int, Any]:
    """Set the quantity of the cart's line of the path's product, or remove the line (None); it must be there."""
    state, product_id = call.state, call.params["product_id"]
    with state.store.transaction():
        cart = cart_of(state, call.sub)
        rules.require_in_cart(cart, product_id)
        if quantity is None:
            del cart[product_id]
        else:
            cart[product_id] = quantity
        store_cart(state, call.sub, cart)
    return 200, _cart_json(state, cart)


def list_payment_methods(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/payment-methods``: active ones only."""
    methods = [m for m in call.state.shop.payment_methods.values() if m.active]
    return 200, {
        "results": [{"id": m.id, "name": m.name, "kind": m.kind, "supports": sorted(m.supports)} for m in methods]
    }


def list_shipping_methods(call: Call) -> tuple[int, Any]:
    """``GET /api/shop/shipping-methods``: active ones only."""
    methods = [m for m in call.state.shop.shipping_methods.values() if m.active]
    return 200, {
        "results": [{"id": m.id, "name": m.name, "fee": fmt(m.fee), "supports": sorted(m.supports)} for m in methods]
    }
