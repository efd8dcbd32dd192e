"""Token keys of the shop API: ``Authorization: Token <key>`` (Django REST framework's TokenAuthentication).

A key is 40 random hex characters handed out once; only its SHA-256 is stored (``shop_token_keys``).
A key names a *customer identity*: ``user:<sub>`` for a user of the one user directory (the same
users the Villa login knows) or ``guest:anon_<12 hex>`` for an anonymous customer.

Keys are bounded in time and number (``contracts/data/shop.yaml`` ``token_keys``, decided by
``villa_contracts.domain.shop.KeyPolicy``): a key works for its lifetime on the mock's clock, and
at most ``max_keys`` are kept, the oldest guest keys forgotten first. Every key is filed in issue
order in the ordered list ``shop_token_keys:all`` (guest keys in ``shop_token_keys:guests`` too),
so eviction and the sweeper (``expire_due``) look only at the oldest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Final

from mock_server.auth.tokens import Principal
from mock_server.errors import Unauthorized
from mock_server.ids import hex_id
from mock_server.storage import Storage
from villa_contracts.domain.clock import Clock
from villa_contracts.domain.shop import KeyPolicy, key_is_live

KEYS: Final = "shop_token_keys"
EVERY_KEY: Final = "shop_token_keys:all"
GUEST_KEYS: Final = "shop_token_keys:guests"
SWEEP_BATCH: Final = 200
"""Keys one sweep forgets at most: a request never pays for a whole day's keys expiring at once."""
_HOW = "send 'Authorization: Token <key>' with a key from POST /api/shop/auth/token (or /api/shop/auth/guest)"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class TokenKeys:
    """Issued token keys, kept in storage, expiring on the mock's clock, bounded in number."""

    def __init__(self, store: Storage, clock: Clock, policy: Callable[[], KeyPolicy]) -> None:
        """Keep keys in ``store``, dated by ``clock``; ``policy()`` (called once, on first use) bounds them."""
        self._store = store
        self._clock = clock
        self._policy_source = policy
        self._policy: KeyPolicy | None = None

    @property
    def policy(self) -> KeyPolicy:
        """The keys' lifetime and maximum number (read on first use)."""
        if self._policy is None:
            self._policy = self._policy_source()
        return self._policy

    def issue(self, identity: str, username: str, email: str | None, *, guest: bool = False) -> str:
        """A new key for ``identity`` (the key itself is never stored); past the maximum, the oldest go."""
        policy = self.policy
        key = hex_id("", 20)
        digest = _digest(key)
        expires_at = policy.expires_at(self._clock.now())
        record = {"identity": identity, "username": username, "email": email, "expires_at": expires_at}
        with self._store.transaction():
            self._store.put(KEYS, digest, record)
            # Filed in issue order (a sequence: one instant may issue several): with one lifetime for
            # every key, the order they expire in too.
            issued = self._store.next_sequence(KEYS)
            self._store.index_put(EVERY_KEY, digest, issued)
            if guest:
                self._store.index_put(GUEST_KEYS, digest, issued)
        self._evict(policy)
        return key

    def _evict(self, policy: KeyPolicy) -> None:
        """Forget the keys past the maximum, the oldest guest keys first."""
        kept = self._store.index_count(EVERY_KEY)
        excess = kept - policy.max_keys
        if excess <= 0:
            return
        guests = self._store.index_range(GUEST_KEYS, 0, excess)
        oldest = self._store.index_range(EVERY_KEY, 0, 2 * excess) if len(guests) < excess else []
        with self._store.transaction():
            for digest in policy.evictions(kept, guests, oldest):
                self._forget(digest)

    def _forget(self, digest: str) -> None:
        self._store.delete(KEYS, digest)
        self._store.index_drop(EVERY_KEY, digest)
        self._store.index_drop(GUEST_KEYS, digest)

    def expire_due(self, now: float) -> float:
        """Forget the keys past their lifetime at ``now``, oldest first; answer when the next one is due.

        At most ``SWEEP_BATCH`` keys go per call; when more are due, the answer is ``now`` (the next
        request's sweep goes on). A key past its lifetime is refused before it is forgotten.
        """
        oldest = self._store.index_range(EVERY_KEY, 0, SWEEP_BATCH)
        if not oldest:
            return now + self.policy.lifetime_seconds
        records = self._store.get_many(KEYS, oldest)
        due = [d for d, r in zip(oldest, records, strict=True) if r is None or not key_is_live(r["expires_at"], now)]
        if due:
            with self._store.transaction():
                for digest, record in zip(due, self._store.get_many(KEYS, due), strict=True):
                    if record is None or not key_is_live(record["expires_at"], now):
                        self._forget(digest)
        if len(due) < len(oldest):
            first_live = records[len(due)]
            return float(first_live["expires_at"]) if first_live else now
        return now if len(oldest) == SWEEP_BATCH else now + self.policy.lifetime_seconds

    def principal(self, authorization: str | None) -> Principal:
        """The customer behind an ``Authorization: Token <key>`` header.

        Raises:
            Unauthorized: no header, another scheme, a key this mock never issued, or one past its
                lifetime. The message never contains the key.
        """
        if authorization is None or not authorization.strip():
            raise Unauthorized(f"authentication required: {_HOW}")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "token":
            shown = repr(scheme) if scheme.isalpha() and len(scheme) <= 20 else "this scheme"
            raise Unauthorized(f"Authorization scheme {shown} is not accepted by the shop API: {_HOW}")
        key = key.strip()
        record = self._store.get(KEYS, _digest(key)) if key and len(key) <= 256 else None
        if record is None or not key_is_live(float(record.get("expires_at", 0)), self._clock.now()):
            hours = self.policy.lifetime_seconds / 3600
            raise Unauthorized(
                f"unknown or expired token key (a key works {hours:g} hours on the mock's clock): {_HOW}"
            )
        return Principal(sub=str(record["identity"]), username=str(record["username"]), email=record.get("email"))
