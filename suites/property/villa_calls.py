"""The Villa machine's HTTP and verdicts: one call as a user, a status against the model's, a failure.

``suites.property.machine.VillaMachine`` builds its rules on these; every request is a JSON ``POST``
as one of the two accounts (``Session.headers``), kept for the example's reproduction.
"""

from __future__ import annotations

from typing import Any, ClassVar, NoReturn

import httpx

from suites.property.invariants import Problem
from suites.property.model import Expect
from suites.property.session import Answer, Call, Session

MISSING_ORDER_ID = "100000000000"
MISSING_CHARGE_ID = "chrg_test_missing"


class VillaCalls:
    """Calls and verdicts of one example (``calls`` for its reproduction; ``failed`` once one failed)."""

    session: ClassVar[Session]

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Call] = []
        self.failed = False

    def _sub(self, user: int) -> str:
        return self.session.target.accounts[user].sub

    def _call(self, operation: str, path: str, body: Any, user: int | None) -> Answer:
        session = self.session
        url = session.base + path
        headers = session.headers[user] if user is not None else {}
        try:
            response = session.http.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            self.calls.append(Call(operation, url, user, body, None))
            self._fail(operation, "no_answer", f"{operation} did not answer", "an HTTP answer", type(exc).__name__)
        session.steps += 1
        session.statuses[operation].add(response.status_code)
        self.calls.append(Call(operation, url, user, body, response.status_code))
        answer = Answer(response.status_code, None, response.text)
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json" and not media.endswith("+json"):
            got = f"HTTP {answer.status} {media or 'without Content-Type'}: {answer.snippet(200)}"
            self._fail(operation, "content_type", f"{operation} did not answer JSON", "application/json", got)
        try:
            return Answer(response.status_code, response.json(), response.text)
        except ValueError:
            self._fail(operation, "content_type", f"{operation} answered malformed JSON", "JSON", answer.snippet())

    def _fail(
        self, operation: str, check: str, title: str, expected: str, got: str, *, keeps_ledger: bool = False
    ) -> NoReturn:
        """Raise the mismatch (the target may now differ from the model: stop trusting the stock ledger)."""
        self.failed = True
        if not keeps_ledger:
            self.session.ledger.trusted = False
        raise self.session.mismatch(operation, operation, check, title, expected, got, self.calls)

    def _status(self, operation: str, answer: Answer, expect: Expect, *, keeps_ledger: bool = False) -> None:
        if answer.status not in expect.statuses:
            self._fail(
                operation,
                expect.check,
                f"{operation} answered {answer.status}; the model expected {expect.status}",
                f"HTTP {expect.status} ({expect.why})",
                f"HTTP {answer.status}: {answer.snippet()}",
                keeps_ledger=keeps_ledger,
            )

    def _problems(self, operation: str, problems: list[Problem], *, keeps_ledger: bool = False) -> None:
        if problems:
            first = problems[0]
            more = "".join(f"\n  also {p.check}: expected {p.expected}, got {p.got}" for p in problems[1:])
            title, got = f"{operation}: {first.expected}", first.got + more
            self._fail(operation, first.check, title, first.expected, got, keeps_ledger=keeps_ledger)

    def _like_missing(self, operation: str, answer: Answer, user: int, path: str, missing_body: Any) -> None:
        """Someone else's record must answer exactly like a missing one, and leak nothing of it."""
        if operation not in self.session.missing:
            self.session.missing[operation] = self._call(operation, path, missing_body, user)
        missing = self.session.missing[operation]
        if answer.status != missing.status or answer.doc.get("code") != missing.doc.get("code"):
            self._fail(
                operation,
                "ownership",
                f"{operation} answers the other user's record unlike a missing one",
                f"HTTP {missing.status} code {missing.doc.get('code')!r}, as for a missing id",
                f"HTTP {answer.status} code {answer.doc.get('code')!r}",
            )
        owner = self._sub(1 - user)
        if owner in answer.text:
            self._fail(
                operation, "ownership", f"{operation} leaks the owner's id", "no trace of the owner", answer.snippet()
            )
