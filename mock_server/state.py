"""Everything a handler may touch, built once per app: one user directory, clock and store for every API."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, cast

from mock_server.ids import RANDOM, IdSource
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.lineitems import LineItemsData
from villa_contracts.domain.shop import ShopData
from villa_contracts.faults import Faults

if TYPE_CHECKING:
    from mock_server.auth import AuthService
    from mock_server.journal import Journal
    from mock_server.storage import Storage
    from villa_contracts.contract import Contracts, ContractValidator
    from villa_contracts.domain.clock import AdjustableClock


class _FromContract(Protocol):
    @classmethod
    def from_contract(cls, contracts: Any) -> Any: ...


_Data = TypeVar("_Data", bound=_FromContract)


@dataclass(slots=True)
class MockState:
    """The mock's parts: contracts, their validators, business data, storage, clock, auth and journal.

    Attributes:
        contracts: every contract the mock serves.
        validators: one compiled validator per contract, by contract name.
        data: the business data the contracts share.
        store: where every API keeps its records.
        clock: the one clock (tokens, orders, expiry).
        auth: the Cognito-compatible user pool (one user directory for every API).
        journal: the requests answered.
        base_url: where the mock is reached.
        admin_token: the token the admin API requires (None: not checked).
        ids: where the ids it makes up come from.
        faults: the faults injected on demand (``villa_contracts.faults``; none by default).
    """

    contracts: Contracts
    validators: dict[str, ContractValidator]
    data: BusinessData
    store: Storage
    clock: AdjustableClock
    auth: AuthService
    journal: Journal
    base_url: str
    admin_token: str | None = None
    ids: IdSource = RANDOM
    """Where the ids it makes up come from (a seed's, or random)."""
    faults: Faults = field(default_factory=Faults.empty)
    """The faults injected on demand (``serve --faults``, ``/__admin/faults``); each process its own."""
    sweep_memo: dict[object, float] = field(default_factory=dict)
    """``mock_server.expiry``'s per-process memo: when each sweeper is next worth running."""
    _api_data: dict[type, object] = field(default_factory=dict)

    def api_data(self, kind: type[_Data]) -> _Data:
        """An API's own data, ``kind.from_contract(contracts)``, read on first use.

        Raises:
            ContractError: the contracts have no (or a malformed) data file of that kind.
        """
        if kind not in self._api_data:
            self._api_data[kind] = kind.from_contract(self.contracts)
        return cast(_Data, self._api_data[kind])

    @property
    def shop(self) -> ShopData:
        """The store's data (``contracts/data/shop.yaml``), read on first use."""
        return self.api_data(ShopData)

    @property
    def lineitems(self) -> LineItemsData:
        """The line-item order API's data (``contracts/data/lineitems.yaml``), read on first use."""
        return self.api_data(LineItemsData)

    def begin_request(self) -> None:
        """Catch up with what other processes sharing the store changed beside records (the clock)."""
        refresh = getattr(self.clock, "refresh", None)
        if refresh is not None:
            refresh()

    def reset(self) -> None:
        """Back to the start: no orders, payments or extra users; default users; clock at offset 0.

        With a shared store (SQLite, Redis) every process sharing it sees the reset; the journal
        is each process's own.
        """
        self.store.reset()
        self.auth.reset()
        self.auth.seed_users(self.contracts.data("users"))
        self.clock.reset()
        self.journal.clear()
