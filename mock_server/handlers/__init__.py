"""The mock's handlers: one per operationId of each contract, found in each API's folder (its ``mock`` part).

``handlers_of()`` answers ``{contract: {operationId: handler}}``: the admin API's (the mock's own, here)
and every API package's ``HANDLERS`` (``villa_contracts.apis``); ``create_app`` refuses to start when a
contract's operations and its handlers differ.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mock_server.handlers import admin
from villa_contracts.apis import parts

if TYPE_CHECKING:
    from mock_server.dispatch import Handler


def handlers_of() -> dict[str, dict[str, Handler]]:
    """Every contract's handlers by operationId: the admin API's and each API package's ``HANDLERS``."""
    found: dict[str, dict[str, Handler]] = {"admin": dict(admin.HANDLERS)}
    for api, module in parts("mock"):
        found[api.name] = dict(module.HANDLERS)
    return found


__all__ = ["handlers_of"]
