"""Failures: the target backend broke a contract (as opposed to errors, where the tool or input is wrong)."""

from __future__ import annotations

from typing import Any, Literal

from villa_contracts.redact import holds_card_number, redact, redact_reproduction

Severity = Literal["critical", "high", "medium", "low"]


class Failure(AssertionError):
    """A contract violation by the target, with what is needed to reproduce it.

    Attributes:
        operation: the operationId (or ``METHOD /path``) where it showed.
        check: the name of the check that failed (``response_schema_conformance``, ``grand_total``...).
        title: one line, for lists.
        message: what was expected and what came back.
        severity: how bad it is.
        reproduction: a curl command (or several, one per line) that shows it again; card numbers
            and CVVs in it are read from shell variables (``villa_contracts.redact``).
        seed: the seed of the run that found it, when it came from generated data.
    """

    def __init__(
        self,
        *,
        operation: str,
        check: str,
        title: str,
        message: str,
        severity: Severity = "high",
        reproduction: str = "",
        seed: int | None = None,
    ) -> None:
        # Whatever a target answered, and however a card number arrived, no report carries it.
        if holds_card_number(message):  # else "514950xxxxxx9007 does not match ^[0-9]{6}x+[0-9]{4}$" reads absurd
            message += "\n(card numbers are masked in this report: the answer carried them in full)"
        title, message = redact(title), redact(message)
        super().__init__(f"{operation}: {check}: {title}")
        self.operation = operation
        self.check = check
        self.title = title
        self.message = message
        self.severity: Severity = severity
        self.reproduction = redact_reproduction(reproduction)
        self.seed = seed

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as it is (the gate's worker processes send failures to the parent): already redacted.
        return _restored, (self.args, dict(self.__dict__))

    def as_json(self) -> dict[str, object]:
        """The summary.json form."""
        return {
            "operation": self.operation,
            "check": self.check,
            "title": self.title,
            "message": self.message,
            "severity": self.severity,
            "reproduction": self.reproduction,
            "seed": self.seed,
        }


def _restored(args: tuple[Any, ...], state: dict[str, Any]) -> Failure:
    failure = Failure.__new__(Failure)
    failure.args = args
    failure.__dict__.update(state)
    return failure
