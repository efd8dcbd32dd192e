"""How a state-machine run is reported: its result, and each mismatch as a ``Failure`` with a reproduction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from suites.property.session import token_variable
from villa_contracts.failures import Failure, Severity
from villa_contracts.faults import HEADER, INJECTED

if TYPE_CHECKING:
    from suites.property.session import Mismatch
    from villa_contracts.target import Target

_CRITICAL = {"ownership", "declined_never_paid", "paid_stays_paid", "client_cannot_pay", "card_masked"}
_MEDIUM = {"expected_status", "response_shape", "order_id_format", "flaky"}


@dataclass(frozen=True, slots=True)
class MachineResult:
    """The outcome of a state-machine run.

    Attributes:
        failures: the invariants the target broke (empty when it held up).
        steps: HTTP calls made, shrinking included.
        statuses: the HTTP statuses seen, per operationId.
        seconds: wall time of the run.
    """

    failures: tuple[Failure, ...]
    steps: int
    statuses: dict[str, set[int]]
    seconds: float


def leaves(error: BaseException) -> Iterator[BaseException]:
    """Every exception inside ``error`` (itself when it is not a group)."""
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            yield from leaves(inner)
    else:
        yield error


def to_failure(error: Mismatch, *, seed: int, note: str | None, target: Target) -> Failure:
    """The report of a mismatch: expected vs got, Hypothesis' minimal sequence, and curl commands."""
    # Hypothesis attaches the minimal sequence it replayed to the exception as notes.
    steps = [str(line) for line in getattr(error, "__notes__", [])]
    message = f"expected: {error.expected}\ngot: {error.got}"
    if note:
        message += "\n" + note
    if steps:
        message += f"\n\nMinimal sequence found by Hypothesis (seed {seed}):\n" + "\n".join(steps)
    reproduction = "\n".join(call.curl(target.base_url.rstrip("/")) for call in error.calls)
    for index, account in enumerate(target.accounts):  # never the real token
        message = message.replace(account.id_token, token_variable(index))
        reproduction = reproduction.replace(account.id_token, token_variable(index))
    severity: Severity = "critical" if error.check in _CRITICAL else "medium" if error.check in _MEDIUM else "high"
    title = error.title
    if error.injected is not None:  # a fault the mock injected (docs/faults.md): reported as a warning
        title, severity = f"{INJECTED} ({HEADER}: {error.injected}): {title}", "low"
    return Failure(
        operation=error.operation,
        check=f"state_machine:{error.check}",
        title=title,
        message=message,
        severity=severity,
        reproduction=reproduction,
        seed=seed,
    )
