"""Everything a handler may touch, built once per app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from villa_contracts.domain.catalog import BusinessData

if TYPE_CHECKING:
    from mock_server.auth import AuthService
    from mock_server.journal import Journal
    from mock_server.storage import Storage
    from villa_contracts.contract import Contract, ContractValidator
    from villa_contracts.domain.clock import AdjustableClock


@dataclass(slots=True)
class MockState:
    """The mock's parts: contract, validators, business data, storage, clock, auth and journal."""

    contract: Contract
    validator: ContractValidator
    data: BusinessData
    store: Storage
    clock: AdjustableClock
    auth: AuthService
    journal: Journal
    base_url: str

    def reset(self) -> None:
        """Back to the start: no orders, payments or extra users; default users; clock at offset 0."""
        self.store.reset()
        self.auth.reset()
        self.auth.seed_users(self.contract.data("users"))
        self.clock.reset()
        self.journal.clear()
