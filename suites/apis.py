"""What each API brings to the suites, found in its folder (``villa_contracts.apis``, its ``suite`` part).

An API's ``suite`` module defines ``SUITE = Suite(...)``; importing it also registers its business checks
(``@business_check``). Its ``oracle`` module registers its checks of observed traffic (``@traffic_check``).
The engine asks here, never a list of APIs of its own: adding an API edits no file of the suites.

Example:
    >>> suite_of("lineitems").moves_clock  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.apis import package, parts

if TYPE_CHECKING:
    from suites.context import RunContext
    from suites.flows.steps import FlowResult, FlowTarget, Step
    from suites.property.livedata import LiveData
    from suites.property.reporting import MachineResult
    from villa_contracts.contract import Contract

LiveSetup = Callable[["RunContext", "Contract", "LiveData"], None]
MachineRunner = Callable[..., "MachineResult"]
Flow = Callable[["FlowTarget", Callable[["Step"], None]], "FlowResult"]
Provider = Callable[["RunContext", int], "dict[str, str] | None"]


@dataclass(frozen=True, slots=True)
class Suite:
    """An API's part of the suites.

    Attributes:
        setup: sets up the live resources behind its request examples (the Schemathesis phase).
        machine: runs its state machine (``run(context, max_examples=…, seed=…, progress=…, stop=…)``).
        moves_clock: its state machine moves the mock's clock: the gate runs it after every other one.
        flow: its seed's end-to-end flow.
        credentials: the headers of the security schemes it brings, for account 0 or 1 of a run's target.
    """

    setup: LiveSetup | None = None
    machine: MachineRunner | None = None
    moves_clock: bool = False
    flow: Flow | None = None
    credentials: Mapping[str, Provider] = field(default_factory=dict)


def suite_of(name: str) -> Suite | None:
    """The suite part of API ``name`` (None: it brings none)."""
    api = package(name)
    module = api.part("suite") if api is not None else None
    return _suite(module) if module is not None else None


def suites() -> dict[str, Suite]:
    """Every API's suite part, by API name."""
    return {api.name: _suite(module) for api, module in parts("suite")}


def load_oracles() -> None:
    """Import every API's ``oracle`` part (its traffic checks register on import)."""
    parts("oracle")


def _suite(module: Any) -> Suite:
    suite = getattr(module, "SUITE", None)
    if not isinstance(suite, Suite):
        raise TypeError(f"{module.__name__} defines no SUITE = suites.apis.Suite(...)")
    return suite


__all__ = ["Suite", "load_oracles", "suite_of", "suites"]
