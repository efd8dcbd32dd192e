"""What a proxy run has seen so far, folded into the gate's events so the gate's report writers render it.

Every check that judged an exchange counts a call on its ``(contract, operation, check)``; each
distinct finding is kept once (with how often it was seen), at most ``MAX_FAILURES`` per check: one
kept finding is one failure (or one warning) in every report, and the distinct findings past the
cap are counted in a note of the phase, never as a failure of their own. A check whose findings
are failures and warnings both is reported as a failed check (its failures) and a warned one.
``Ledger.run_events`` is the run as events at any moment (``RunStarted``, the ``traffic`` phase's
``CheckFinished``/``Skipped``/``Progress``): the reports are rendered from it as often as needed,
and ``Ledger.phase_events`` is the same phase inside another run's stream (``gate --via-proxy``).
The ledger is thread-safe: the proxy adds from its event loop while reports are written elsewhere.
"""

from __future__ import annotations

import json
import shlex
import threading
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from suites.auth import SHELL_HEADERS
from suites.proxy.exchange import parse_body
from suites.proxy.redaction import scrub_json, scrub_text
from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, Progress, RunStarted, Skipped
from villa_contracts.failures import Failure

if TYPE_CHECKING:
    from collections.abc import Sequence

    from suites.proxy.exchange import Exchange
    from suites.proxy.findings import Finding, Verdict
    from villa_contracts.contract import Operation

PHASE = "traffic"
DESCRIPTION = "every exchange through the proxy, checked against the contracts and the business rules"
MAX_FAILURES = 25
"""Distinct findings kept per operation and check (the rest are counted)."""


def curl_of(exchange: Exchange) -> str:
    """A curl command that sends the request again, against ``$VILLA_BASE_URL`` with the credentials' variables.

    Credentials become the variables ``villa-contracts tokens`` exports (``suites.auth.SHELL_HEADERS``:
    ``$VILLA_ID_TOKEN``, the shop's ``$VILLA_SHOP_TOKEN`` and ``$VILLA_SHOP_GATEWAY_KEY``). Secrets are
    left out; card numbers become the shell variables of ``villa_contracts.redact`` (``Failure`` puts
    them there), so the line can be pasted as it is.
    """
    query = "&".join(f"{name}={scrub_text(value)[0]}" for name, value in exchange.query)
    url = exchange.path + (f"?{query}" if query else "")
    parts = [f'curl -sS -X {exchange.method} "$VILLA_BASE_URL"{shlex.quote(url)}']
    authorization = exchange.request_header("authorization")
    if authorization:
        scheme = "tokenKey" if authorization.strip().lower().startswith("token ") else "idToken"
        parts.append('-H "{}: {}"'.format(*SHELL_HEADERS[scheme]))
    if exchange.request_header("x-gateway-key"):
        parts.append('-H "{}: {}"'.format(*SHELL_HEADERS["gatewayKey"]))
    content_type = exchange.request_header("content-type")
    if content_type:
        parts.append(f"-H {shlex.quote('Content-Type: ' + content_type)}")
    body = parse_body(exchange.request_body, content_type)
    text = ""
    if body.kind == "json":
        try:
            text = json.dumps(scrub_json(body.value)[0], ensure_ascii=False, separators=(",", ":"))
        except RecursionError:  # nested too deeply to walk: scrubbed as text below
            body = replace(body, kind="text")
    if body.kind in ("form", "text", "invalid", "too-deep"):
        text = scrub_text(exchange.request_body.decode("utf-8", "replace"))[0]
    if text:
        parts.append(f"-d {shlex.quote(text[:4000])}")
    return " ".join(parts)


@dataclass(slots=True)
class _Seen:
    finding: Finding
    label: str
    status: int | None
    reproduction: str
    times: int = 1


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    statuses: set[int] = field(default_factory=set)
    findings: dict[tuple[str, str, bool], _Seen] = field(default_factory=dict)
    more: set[tuple[str, str, bool]] = field(default_factory=set)  # distinct findings past MAX_FAILURES

    def failures(self, operation: str, check: str, *, warnings: bool) -> tuple[Failure, ...]:
        """The kept findings of one kind (failures, or warnings) as failures of the reports."""
        found = []
        for (_, _, warning), seen in self.findings.items():
            if warning is not warnings:
                continue
            times = f" (seen {seen.times} times)" if seen.times > 1 else ""
            status = "no answer" if seen.status is None else seen.status
            found.append(
                Failure(
                    operation=operation,
                    check=check,
                    title=f"{seen.finding.located}: {seen.finding.summary}"[:300],
                    message=f"{seen.label} → {status}{times}\n{seen.finding.message}",
                    severity=seen.finding.severity,
                    reproduction=seen.reproduction,
                )
            )
        return tuple(found)


def _checks(phase: str, contract: str, operation: str, check: str, tally: _Tally) -> list[Event]:
    """One check's verdict: failed (its failures), warned (its warnings), both, or passed."""
    failures = tally.failures(operation, check, warnings=False)
    warnings = tally.failures(operation, check, warnings=True)
    statuses = tuple(sorted(tally.statuses))
    events: list[Event] = []
    if failures or not warnings:
        events.append(
            CheckFinished(phase, operation, check, passed=not failures, failures=failures, calls=tally.calls,
                          statuses=statuses, contract=contract)
        )  # fmt: skip
    if warnings:
        events.append(
            CheckFinished(phase, operation, check, passed=False, failures=warnings, calls=tally.calls,
                          statuses=statuses, contract=contract, warning=True)
        )  # fmt: skip
    if tally.more:
        note = f"{contract or '-'}.{operation} · {check}: {len(tally.more)} more distinct finding(s), not kept"
        events.append(Progress(phase, f"{note} (the first {MAX_FAILURES} are)"))
    return events


class Ledger:
    """The tallies of one proxy run.

    Args:
        run_id: the run's id (its report folder).
        target: the upstream the proxy watches.
        contracts: the checked contracts' names.
        operations: their operations (those the traffic never exercised are listed as skipped).
        started_at: when the run started (epoch seconds).
    """

    def __init__(
        self, *, run_id: str, target: str, contracts: Sequence[str], operations: Sequence[Operation], started_at: float
    ) -> None:
        self.run_id, self.target, self.contracts, self.started_at = run_id, target, tuple(contracts), started_at
        self._operations = [(op.contract, op.operation_id) for op in operations]
        self._tallies: dict[tuple[str, str, str], _Tally] = {}
        self._announced: set[tuple[str, str, str]] = set()
        self._refused: dict[tuple[str, str], tuple[int, str]] = {}
        self._unanswered = 0
        self._ignored = 0
        self._exchanges = 0
        self._lock = threading.Lock()

    @property
    def exchanges(self) -> int:
        """How many exchanges were judged (refused and unanswered ones included)."""
        return self._exchanges

    def add(self, verdict: Verdict) -> list[Finding]:
        """Count one judged exchange.

        Returns:
            What to announce: every failure, and a warning the first time its check warns about
            its operation (a fuzzer's thousand invalid requests are one line; the report has them all).
        """
        new: list[Finding] = []
        with self._lock:
            self._exchanges += 1
            if verdict.note and not verdict.judged:
                if verdict.exchange.answered:
                    self._ignored += 1
                else:
                    self._unanswered += 1
                return new
            status = verdict.exchange.status
            for check, findings in verdict.judged:
                tally = self._tallies.setdefault((verdict.contract, verdict.operation, check), _Tally())
                tally.calls += 1
                if status is not None:
                    tally.statuses.add(status)
                for finding in findings:
                    place = (verdict.contract, verdict.operation, check)
                    if not finding.warning or place not in self._announced:
                        self._announced.add(place)
                        new.append(finding)
                    key = (finding.located, finding.summary, finding.warning)
                    if key in tally.findings:
                        tally.findings[key].times += 1
                    elif len(tally.findings) >= MAX_FAILURES:
                        tally.more.add(key)
                    else:
                        tally.findings[key] = _Seen(finding, verdict.label, status, curl_of(verdict.exchange))
        return new

    def refused(self, contract: str, operation: str, reason: str) -> None:
        """Count a request a fence answered itself, never forwarding it."""
        with self._lock:
            self._exchanges += 1
            count, _ = self._refused.get((contract, operation), (0, reason))
            self._refused[(contract, operation)] = (count + 1, reason)

    def phase_events(self, *, seconds: float | None = None, phase: str = PHASE) -> list[Event]:
        """The ``traffic`` phase so far; with ``seconds`` (its duration), finished."""
        with self._lock:
            events: list[Event] = [PhaseStarted(phase, DESCRIPTION)]
            if self._unanswered:
                events.append(Progress(phase, f"{self._unanswered} request(s) got no answer from the upstream"))
            if self._ignored:
                events.append(Progress(phase, f"{self._ignored} exchange(s) of contracts not checked were left alone"))
            exercised = set()
            for (contract, operation, check), tally in sorted(self._tallies.items()):
                exercised.add((contract, operation))
                events += _checks(phase, contract, operation, check, tally)
            for (contract, operation), (count, reason) in sorted(self._refused.items()):
                events.append(Skipped(phase, f"{contract}.{operation}", f"{count} request(s) {reason}", contract))
            for contract, operation in self._operations:
                if (contract, operation) not in exercised and (contract, operation) not in self._refused:
                    events.append(
                        Skipped(phase, f"{contract}.{operation}", "the traffic did not exercise it", contract)
                    )
        if seconds is not None:
            events.append(PhaseFinished(phase, seconds))
        return events

    def run_events(self, *, seconds: float | None = None) -> list[Event]:
        """The whole run so far as events, ``RunStarted`` first (``RunFinished`` is the writer's to add)."""
        start = RunStarted(self.run_id, self.target, False, 0, 0, self.started_at, (PHASE,), self.contracts, "proxy")
        return [start, *self.phase_events(seconds=seconds)]
