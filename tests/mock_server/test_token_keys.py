"""Shop token keys are bounded in time and number (issue 21, point 8).

A key works for the lifetime of ``contracts/data/shop.yaml`` on the mock's clock, then answers
401; past ``max_keys`` the oldest guest keys are forgotten first, and the sweeper forgets expired
keys in batches. Counted, never timed.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from mock_server.app import create_app
from mock_server.auth.token_keys import EVERY_KEY, KEYS, SWEEP_BATCH, TokenKeys
from mock_server.storage import MemoryStorage
from villa_contracts.contract import load
from villa_contracts.domain.clock import AdjustableClock
from villa_contracts.domain.shop import KeyPolicy, ShopData

USER = load().data("users")[0]
POLICY = ShopData.from_contract(load()).token_keys


@pytest.fixture
def clock() -> AdjustableClock:
    return AdjustableClock(frozen_at=1_767_139_200.0)


@pytest.fixture
def api(clock: AdjustableClock) -> Iterator[TestClient]:
    with TestClient(create_app(clock=clock)) as client:
        yield client


def _login_key(api: TestClient) -> str:
    answer = api.post("/api/shop/auth/token", json={"username": USER["username"], "password": USER["password"]})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _guest_key(api: TestClient) -> str:
    answer = api.post("/api/shop/auth/guest")
    assert answer.status_code == 201, answer.text
    return str(answer.json()["token"])


def _status(api: TestClient, key: str) -> int:
    return api.get("/api/shop/cart", headers={"Authorization": f"Token {key}"}).status_code


def test_the_data_decides_a_day_and_ten_thousand_keys() -> None:
    assert POLICY == KeyPolicy(86_400.0, 10_000)
    scheme = load()["shop"].openapi["components"]["securitySchemes"]["tokenKey"]["description"]
    assert f"{POLICY.lifetime_seconds / 3600:g} hours" in scheme and f"{POLICY.max_keys:,} keys" in scheme


@pytest.mark.parametrize("make", [_login_key, _guest_key], ids=["login", "guest"])
def test_a_key_works_for_its_lifetime_on_the_mocks_clock_then_answers_401(
    api: TestClient, clock: AdjustableClock, make: object
) -> None:
    key = make(api)  # type: ignore[operator]
    clock.advance(POLICY.lifetime_seconds - 1)
    assert _status(api, key) == 200
    clock.advance(1)
    answer = api.get("/api/shop/cart", headers={"Authorization": f"Token {key}"})
    assert answer.status_code == 401
    assert "unknown or expired token key (a key works 24 hours" in answer.json()["error"]
    assert key not in answer.text
    assert _status(api, make(api)) == 200  # a new key works  # type: ignore[operator]


def test_past_the_maximum_the_oldest_guest_keys_go_first(api: TestClient) -> None:
    state = api.app.state.mock  # type: ignore[attr-defined]
    state.auth.token_keys = TokenKeys(state.store, state.clock, lambda: KeyPolicy(3600.0, 6))
    first_login = _login_key(api)
    guests = [_guest_key(api) for _ in range(5)]
    second_login = _login_key(api)  # 7 keys: the oldest guest goes
    assert [_status(api, k) for k in guests] == [401, 200, 200, 200, 200]
    more = [_guest_key(api) for _ in range(4)]  # 4 more: the next 4 oldest guests go
    assert [_status(api, k) for k in guests + more] == [401] * 5 + [200] * 4
    assert _status(api, first_login) == 200 and _status(api, second_login) == 200
    assert state.store.index_count(EVERY_KEY) == 6


def test_with_no_guest_key_left_the_oldest_login_key_goes() -> None:
    store, clock = MemoryStorage(), AdjustableClock(frozen_at=1_767_139_200.0)
    keys = TokenKeys(store, clock, lambda: KeyPolicy(3600.0, 3))
    issued = []
    for n in range(5):
        issued.append(keys.issue(f"user:{n}", f"user{n}", None))
        clock.advance(1)
    assert [_known(keys, k) for k in issued] == [False, False, True, True, True]
    assert len(list(store.values(KEYS))) == 3


def _known(keys: TokenKeys, key: str) -> bool:
    try:
        keys.principal(f"Token {key}")
    except Exception:
        return False
    return True


def test_the_sweeper_forgets_expired_keys_in_batches(api: TestClient, clock: AdjustableClock) -> None:
    state = api.app.state.mock  # type: ignore[attr-defined]
    for _ in range(SWEEP_BATCH + 50):
        _guest_key(api)
    kept = _guest_key(api)
    clock.advance(POLICY.lifetime_seconds - 10)
    late = _guest_key(api)  # issued later: expires later
    clock.advance(10)  # every key but ``late`` is past its lifetime now
    sizes = []
    for _ in range(3):
        assert _status(api, late) == 200  # any API request sweeps first
        sizes.append(len(list(state.store.values(KEYS))))
    assert sizes == [52, 1, 1], sizes  # a batch per request
    assert state.store.index_count(EVERY_KEY) == 1
    assert _status(api, kept) == 401 and _status(api, late) == 200


def test_the_sweeper_answers_when_the_next_key_is_due() -> None:
    store, clock = MemoryStorage(), AdjustableClock(frozen_at=1_767_139_200.0)
    keys = TokenKeys(store, clock, lambda: KeyPolicy(100.0, 50))
    now = clock.now()
    assert keys.expire_due(now) == now + 100  # nothing kept: nothing due before a new key's lifetime
    keys.issue("guest:anon_1", "guest:anon_1", None, guest=True)
    clock.advance(30)
    keys.issue("guest:anon_2", "guest:anon_2", None, guest=True)
    assert keys.expire_due(clock.now()) == now + 100
    assert keys.expire_due(now + 100) == now + 130  # the first went; the second is next
    assert store.index_count(EVERY_KEY) == 1


def test_a_kept_key_costs_well_under_a_kibibyte_of_memory() -> None:
    # Each guest key used to hold ~4 KiB: the memory store kept orjson's bytes in their 4 KiB allocation.
    store = MemoryStorage()
    keys = TokenKeys(store, AdjustableClock(frozen_at=1_767_139_200.0), lambda: KeyPolicy(3600.0, 10_000))
    keys.issue("guest:anon_000000000000", "guest:anon_000000000000", None, guest=True)  # first-use allocations
    tracemalloc.start()
    try:
        for n in range(2000):
            keys.issue(f"guest:anon_{n:012x}", f"guest:anon_{n:012x}", None, guest=True)
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert held / 2000 < 1024, f"{held / 2000:.0f} bytes a key"
