"""What the proxy concludes about one exchange: a ``Verdict`` with its ``Finding``s, and how both read in one line.

A finding is located by where it is (``request`` or ``response``) and a JSON pointer into that
message's body (``/payment/grandTotal``), its query (``/query/x``), path (``/path/chargeId``) or
headers (``/headers/content-type``). A *warning* is shown and reported but does not fail the run
(a client's invalid request that the backend rightly refused, an undocumented endpoint).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from villa_contracts.redact import redact
from villa_contracts.reports._text import clean

if TYPE_CHECKING:
    from suites.proxy.exchange import Exchange
    from villa_contracts.failures import Severity

Where = Literal["request", "response"]

UNDOCUMENTED = "undocumented"
"""The check an exchange that matches no operation of the checked contracts fails (as a warning)."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One way an exchange broke a contract.

    Attributes:
        check: the check's name (``response_schema_conformance``, ``grand_total``, ``owner_is_caller``…).
        where: ``request`` or ``response``.
        pointer: JSON pointer inside that message ("" for the whole body).
        message: what was expected and what came, for people (may span lines).
        warning: reported, but not failing the run.
        severity: how bad it is.
    """

    check: str
    where: Where
    pointer: str
    message: str
    warning: bool = False
    severity: Severity = "high"

    @property
    def located(self) -> str:
        """``response /payment/grandTotal``."""
        return f"{self.where} {self.pointer or '/'}"

    @property
    def summary(self) -> str:
        """The message on one line (``expected …, got …`` when it says both)."""
        expected = got = ""
        lines = [line.strip() for line in self.message.splitlines() if line.strip()]
        for line in lines:
            lowered = line.lower()
            if not expected and lowered.startswith("expected"):
                expected = line.split(":", 1)[1].strip() if ":" in line[:10] else line[len("expected") :].strip()
            elif not got and lowered.startswith("got"):
                got = line.split(":", 1)[1].strip() if ":" in line[:5] else line[len("got") :].strip()
        if expected or got:
            return f"expected {expected or '?'}, got {got or '?'}"
        return " ".join(lines)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything the proxy concluded about one exchange.

    Attributes:
        exchange: the exchange.
        contract: the contract of its operation ("" when it matches none of the checked contracts).
        operation: the operationId, or ``METHOD /path`` when undocumented.
        label: ``METHOD /path/template`` of the operation (the concrete path when undocumented).
        judged: each check that judged the exchange, with what it found (empty: it held).
        note: why the exchange was not judged, when it was not (refused by a fence, no answer,
            another contract's operation).
    """

    exchange: Exchange
    contract: str
    operation: str
    label: str
    judged: tuple[tuple[str, tuple[Finding, ...]], ...] = ()
    note: str = ""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding, check by check."""
        return tuple(finding for _, found in self.judged for finding in found)

    @property
    def failed(self) -> bool:
        """Whether a finding fails the run."""
        return any(not finding.warning for finding in self.findings)

    @property
    def name(self) -> str:
        """``villa.createOrder`` (or ``POST /x`` when undocumented)."""
        return f"{self.contract}.{self.operation}" if self.contract else self.operation


def finding_line(verdict: Verdict, finding: Finding, limit: int = 240) -> str:
    """One line for a finding: operation, status, check, pointer, and what was wrong.

    Example:
        ``villa.calculateGrandtotal POST /api/webPayment/calculateGrandtotal → 200 · grand_total ·
        response /grandTotal: expected grandTotal = … = 174.00 THB, got grandTotal 174.01 THB``
    """
    status = verdict.exchange.status if verdict.exchange.status is not None else "no answer"
    request = f"{verdict.exchange.method} {verdict.exchange.path}"
    head = f"{verdict.name} {request} → {status}" if verdict.contract else f"{request} → {status}"
    line = " ".join(clean(redact(f"{head} · {finding.check} · {finding.located}: {finding.summary}")).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
