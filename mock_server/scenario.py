"""Scenarios: the mock's whole state as one JSON document, to start from (``serve --scenario``) or take (GET).

A scenario holds what the mock keeps, as it keeps it: the user directory (password hashes, never a
password), every API's records by kind and key, the store's counters and ordered lists, and the
clock's instant. ``export`` reads it (``GET /__admin/scenario``), ``load`` puts it back whole
(``serve --scenario FILE``, ``PUT /__admin/scenario``): the same records, so the same answers.
Its shape is the admin contract's ``Scenario`` schema; docs/scenarios.md says why records and not
steps.

Never in a scenario (secrets, or tokens a client holds; a load keeps the signing key and drops the
rest, as a reset does): the token signing key, refresh tokens, the shop's token keys, card tokens.

Loading is all or nothing: the document is checked whole first (the schema, then what the schema
cannot say: user names and subs unique, Villa orders valid ``Order`` documents of a known owner),
then the store is replaced in one step (``Storage.restore``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from mock_server.auth.errors import CognitoError
from mock_server.auth.keys import KIND as SIGNING_KEY
from mock_server.auth.token_keys import EVERY_KEY, GUEST_KEYS
from mock_server.auth.token_keys import KEYS as SHOP_TOKEN_KEYS
from mock_server.auth.users import REFRESH, SUBS, USERS, check_username, hash_password, user_record
from mock_server.handlers.orders import ORDERS
from mock_server.handlers.payments import TOKENS as CARD_TOKENS
from mock_server.shared_clock import KIND as CLOCK
from mock_server.shared_clock import StoredClock
from mock_server.storage import Snapshot
from villa_contracts.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path

    from mock_server.state import MockState
    from villa_contracts.contract import Contracts

FORMAT: Final = 1
"""The version of the document (its ``scenario`` key)."""
BASE_URL: Final = "{baseUrl}"
"""Stands for the mock's own URL in exported records (a 3-D Secure link), so a scenario loads on any port."""
NEVER_EXPORTED: Final = {
    SIGNING_KEY: "the token signing key is the mock's secret",
    REFRESH: "refresh tokens are a client's (log in again)",
    SHOP_TOKEN_KEYS: "the shop's token keys are a client's (ask for a key again)",
    CARD_TOKENS: "card tokens are one-use, a client's (ask for a token again)",
    USERS: "users go in /users",
    SUBS: "users go in /users",
    CLOCK: "the clock goes in /clock",
}
"""Record kinds a scenario never holds in ``records``, and why."""
SECRET_INDEXES: Final = frozenset({EVERY_KEY, GUEST_KEYS})
"""Ordered lists of the shop's token keys: never exported either."""


class ScenarioError(ConfigError):
    """A scenario document that cannot be loaded: ``message`` says what, ``pointer`` where (a JSON pointer)."""

    def __init__(self, message: str, pointer: str = "") -> None:
        """Say what is wrong and where."""
        self.message, self.pointer = message, pointer
        super().__init__(f"{message} (at {pointer})" if pointer else message)

    def detail(self) -> dict[str, str]:
        """The contract's error detail."""
        return {"pointer": self.pointer, "message": self.message}


@dataclass(frozen=True, slots=True)
class Loaded:
    """What a load did: the users the directory holds, the records loaded, the clock, how much older the state is."""

    users: int
    records: int
    now: float
    aged_seconds: float

    def as_json(self) -> dict[str, Any]:
        """The admin contract's ``ScenarioLoaded``."""
        return {"loaded": True, "users": self.users, "records": self.records, "now": self.now,
                "agedSeconds": self.aged_seconds}  # fmt: skip


def shipped(contracts: Contracts) -> dict[str, Path]:
    """The scenarios shipped with the contracts (``contracts/scenarios/<name>.json``), by name."""
    folder = contracts.scenarios_dir
    return {path.stem: path for path in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def read_file(source: str, contracts: Contracts) -> dict[str, Any]:
    """Read the scenario ``source``: a shipped scenario's name, or a JSON file's path.

    Raises:
        ScenarioError: no such scenario, the file cannot be read, or it is not a JSON object.
    """
    from pathlib import Path

    known = shipped(contracts)
    path = known.get(source) or Path(source)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        names = ", ".join(known) or "none"
        raise ScenarioError(f"{source}: no such file, nor a shipped scenario (shipped: {names})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ScenarioError(f"{source} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ScenarioError(f"{source}: a scenario is a JSON object, not {type(document).__name__}")
    return document


def _swap_base_url(value: Any, old: str, new: str) -> Any:
    """``value`` with every string that starts with ``old`` starting with ``new`` instead."""
    if isinstance(value, str):
        return new + value[len(old) :] if value.startswith(old) else value
    if isinstance(value, dict):
        return {key: _swap_base_url(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_swap_base_url(item, old, new) for item in value]
    return value


def export(state: MockState) -> dict[str, Any]:
    """The mock's state now, as a scenario document (``GET /__admin/scenario``)."""
    taken = state.store.snapshot()
    base_url = state.base_url.rstrip("/")
    users = []
    for user in sorted(taken.records.get(USERS, {}).values(), key=lambda u: str(u["key"])):
        users.append({key: value for key, value in user.items() if key != "key"})
    records = {
        kind: {key: _swap_base_url(record, base_url, BASE_URL) for key, record in sorted(found.items())}
        for kind, found in sorted(taken.records.items())
        if kind not in NEVER_EXPORTED and found
    }
    indexes = {name: members for name, members in sorted(taken.indexes.items()) if name not in SECRET_INDEXES}
    return {
        "scenario": FORMAT,
        "clock": {"now": state.clock.now()},
        "users": users,
        "records": records,
        "counters": dict(sorted(taken.counters.items())),
        "indexes": indexes,
    }


def _check_shape(state: MockState, document: Any) -> None:
    violations = state.validators["admin"].document("Scenario", document)
    if violations:
        first = violations[0]
        more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
        raise ScenarioError(f"not a scenario: {first.message}{more}; see docs/scenarios.md", first.pointer)


def _users(state: MockState, document: dict[str, Any], now: float) -> dict[str, dict[str, Any]]:
    """The directory after the load: the contract's test users, then the scenario's (one of a name replaces it)."""
    policy = state.auth.pool.password_policy
    users: dict[str, dict[str, Any]] = {}
    for entry in state.contracts.data("users"):
        record = user_record(entry["username"], sub=entry["sub"], email=entry.get("email"), status="CONFIRMED",
                             password_hash=hash_password(entry["password"]), now=now)  # fmt: skip
        users[record["key"]] = record
    given: dict[str, int] = {}
    for index, entry in enumerate(document["users"]):
        where = f"/users/{index}"
        username = entry["username"]
        try:
            check_username(username)
        except CognitoError as exc:
            raise ScenarioError(exc.message, f"{where}/username") from None
        key = username.casefold()
        if key in given:
            raise ScenarioError(f"user {username!r} is given twice (also /users/{given[key]})", f"{where}/username")
        given[key] = index
        if "password" in entry:
            broken = policy.first_violation(entry["password"])
            if broken:
                raise ScenarioError(f"Password did not conform with policy: {broken}", f"{where}/password")
            password_hash = hash_password(entry["password"])
        else:
            password_hash = dict(entry["passwordHash"])
        record = user_record(username, sub=entry["sub"], email=entry.get("email"),
                             status=entry.get("status", "CONFIRMED"), password_hash=password_hash, now=now)  # fmt: skip
        record["createdAt"] = entry.get("createdAt", now)
        record["updatedAt"] = entry.get("updatedAt", now)
        users[key] = record
    subs: dict[str, str] = {}
    for record in users.values():
        other = subs.setdefault(record["sub"], record["username"])
        if other != record["username"]:
            index = given.get(record["key"], given.get(other.casefold(), 0))
            raise ScenarioError(f"sub {record['sub']!r} is given to both {other!r} and {record['username']!r}",
                                f"/users/{index}/sub")  # fmt: skip
    return users


def _records(state: MockState, document: dict[str, Any], subs: set[str]) -> dict[str, dict[str, Any]]:
    """The scenario's records, checked: no kind it may not hold, Villa orders valid and owned by a user."""
    from mock_server.fastjson import dumps

    base_url = state.base_url.rstrip("/")
    records: dict[str, dict[str, Any]] = {}
    for kind, found in document["records"].items():
        if kind in NEVER_EXPORTED:
            raise ScenarioError(f"a scenario holds no {kind!r} records: {NEVER_EXPORTED[kind]}", f"/records/{kind}")
        for key, record in found.items():
            where = f"/records/{kind}/{key.replace('~', '~0').replace('/', '~1')}"
            try:
                dumps(record)
            except TypeError as exc:
                raise ScenarioError(f"not storable: {exc}", where) from None
            if kind == ORDERS:
                violations = state.validators["villa"].document("Order", record)
                if violations:
                    raise ScenarioError(f"not a Villa order: {violations[0].message}", where + violations[0].pointer)
                if str(record.get("orderId")) != key:
                    raise ScenarioError(f"order {key!r} holds orderId {record.get('orderId')!r}", where + "/orderId")
                if record.get("ownerId") not in subs:
                    raise ScenarioError(f"ownerId {record.get('ownerId')!r} is no user's sub: add the user to /users",
                                        where + "/ownerId")  # fmt: skip
        records[kind] = {key: _swap_base_url(record, BASE_URL, base_url) for key, record in found.items()}
    for name in document.get("indexes") or {}:
        if name in SECRET_INDEXES:
            raise ScenarioError(f"a scenario holds no {name!r} list: the shop's token keys are a client's",
                                f"/indexes/{name}")  # fmt: skip
    return records


def load(state: MockState, document: Any) -> Loaded:
    """Replace the mock's whole state by the scenario ``document`` (``serve --scenario``, ``PUT /__admin/scenario``).

    Every check runs before anything changes; the store is then replaced in one step, so a refused
    document, or a store that fails, leaves the state as it was. Tokens signed before still verify
    (the signing key stays); refresh tokens, shop token keys and card tokens are gone, as after a reset.

    Raises:
        ScenarioError: the document cannot be loaded (``pointer`` says where); nothing changed.
        StoreUnavailable: the store failed; nothing changed.

    Example:
        >>> from mock_server.app import create_app
        >>> state = create_app().state.mock
        >>> load(state, export(state)).users
        2
    """
    _check_shape(state, document)
    clock = state.clock
    base = clock.now() - clock.offset  # the wall clock (or a test's frozen one): the offset is never negative
    instant = float(document["clock"]["now"])
    offset = max(0.0, instant - base)
    users = _users(state, document, base + offset)
    records = _records(state, document, {user["sub"] for user in users.values()})
    records[USERS] = users
    records[SUBS] = {user["sub"]: {"key": key} for key, user in users.items()}
    signing = state.store.get(SIGNING_KEY, "signing")  # the one record of its kind (mock_server.auth.keys)
    if signing is not None:  # kept: tokens issued before still verify, and JWKS clients need not refetch
        records[SIGNING_KEY] = {"signing": signing}
    if isinstance(clock, StoredClock):
        records[CLOCK] = {"offset": {"seconds": offset}}  # with the records: every process moves with them
    snapshot = Snapshot(
        records=records,
        counters={name: int(value) for name, value in (document.get("counters") or {}).items()},
        indexes={name: dict(members) for name, members in (document.get("indexes") or {}).items()},
    )
    state.store.restore(snapshot)
    if isinstance(clock, StoredClock):
        clock.refresh()
    else:
        clock.reset()
        clock.advance(offset)
    state.sweep_memo.clear()  # what is due now is the scenario's, not what this process last saw
    loaded = sum(len(found) for kind, found in records.items() if kind not in NEVER_EXPORTED)
    return Loaded(users=len(users), records=loaded, now=clock.now(), aged_seconds=max(0.0, base - instant))
