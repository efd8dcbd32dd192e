"""How every report counts and orders findings: :class:`Counts`, and failures worst first.

Two units keep one label everywhere: *checks* (one operation × one check; "N checks failed" decides the verdict)
and *findings* (the "failures" a failed check found, and the "warnings" that never fail the run). Failures and
warnings are listed worst first: by severity (critical, high, medium, low), then operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from villa_contracts.failures import Failure
from villa_contracts.reports._text import count_checks, plural

if TYPE_CHECKING:
    from collections.abc import Iterable

    from villa_contracts.events import CheckFinished
    from villa_contracts.failures import Severity

DOCUMENT = "(document)"
"""The operation name of document-wide lint checks (not an operation of the API)."""
SEVERITIES: tuple[Severity, ...] = ("critical", "high", "medium", "low")
"""Severities, worst first: the order every report lists failures in (then by operation)."""

_Located = TypeVar("_Located", bound=tuple[object, ...])


def severity_rank(severity: str) -> int:
    """``0`` for critical to ``3`` for low (an unknown severity after them all)."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def worst_first(items: Iterable[_Located]) -> list[_Located]:
    """Tuples ending in a :class:`Failure`, by severity (critical first), then operation; else in run order."""
    return sorted(items, key=lambda item: _order(item[-1]))


def by_severity(failures: Iterable[Failure]) -> list[Failure]:
    """Failures by severity (critical first), then operation; else in the order given."""
    return sorted(failures, key=_order)


def _order(failure: object) -> tuple[int, str]:
    assert isinstance(failure, Failure)
    return severity_rank(failure.severity), failure.operation


def failed(check: CheckFinished) -> bool:
    """Whether a check failed the run; a check that reports failures failed, whatever its ``passed`` says.

    A warning (``check.warning``) is shown but never fails the run.

    Args:
        check: the event.

    Returns:
        True when the check did not hold and is not a mere warning.
    """
    return (not check.passed or bool(check.failures)) and not check.warning


def warned(check: CheckFinished) -> bool:
    """Whether a check is a finding lowered to a warning."""
    return check.warning and (not check.passed or bool(check.failures))


def failures_of(check: CheckFinished) -> tuple[Failure, ...]:
    """The failures of a failed check, never empty: a bare failed check gets one saying so.

    Args:
        check: a failed check.

    Returns:
        Its failures, or one placeholder when the check failed without giving any.
    """
    if check.failures:
        return check.failures
    placeholder = Failure(
        operation=check.operation,
        check=check.check,
        title="check failed without details",
        message="The check reported a failure but no message.",
    )
    return (placeholder,)


@dataclass(frozen=True, slots=True)
class Counts:
    """The numbers every report shows: computed once (:meth:`RunRecord.counts`), labelled alike everywhere.

    Attributes:
        checks: checks decided (one operation × one check).
        passed: checks that did not fail (a check lowered to a warning passed).
        failed: checks that failed: "N checks failed", what makes the run fail.
        failures: what the failed checks found: "N failures", each listed once in every report.
        warnings: findings lowered to warnings: "N warnings", never failing the run.
        operations: operations of a contract the checks judged.
        skipped: things not done, each with its reason.
    """

    checks: int = 0
    passed: int = 0
    failed: int = 0
    failures: int = 0
    warnings: int = 0
    operations: int = 0
    skipped: int = 0

    @classmethod
    def of(cls, checks: Iterable[CheckFinished], skipped: int = 0) -> Counts:
        """Count ``checks`` (and ``skipped`` things not done)."""
        checks = list(checks)
        failed_count = sum(1 for check in checks if failed(check))
        operations = {(c.contract, c.operation) for c in checks if c.contract and c.operation != DOCUMENT}
        return cls(
            checks=len(checks),
            passed=len(checks) - failed_count,
            failed=failed_count,
            failures=sum(len(failures_of(check)) for check in checks if failed(check)),
            warnings=sum(len(failures_of(check)) for check in checks if warned(check)),
            operations=len(operations),
            skipped=skipped,
        )

    def failed_text(self) -> str:
        """``2 checks failed (3 failures)``: the one way every report says it."""
        return f"{plural(self.failed, 'check')} failed ({plural(self.failures, 'failure')})"

    def phrase(self) -> str:
        """The verdict's reason: ``2 checks failed (3 failures)``, or ``all 7 checks held``; warnings added."""
        text = self.failed_text() if self.failed else f"all {count_checks(self.checks)} held"
        return text + (f", {plural(self.warnings, 'warning')}" if self.warnings else "")

    def as_json(self) -> dict[str, int]:
        """The ``counts`` object of ``summary.json`` (and of the SARIF run's properties)."""
        return {
            "checks": self.checks,
            "passed": self.passed,
            "failed": self.failed,
            "failures": self.failures,
            "warnings": self.warnings,
            "operations": self.operations,
            "skipped": self.skipped,
        }
