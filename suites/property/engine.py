"""The one state-machine engine: calls, expectations, failures, skips, reproductions and the run, for every API.

An API brings a machine (``ApiMachine`` subclass: its Hypothesis rules, which build requests and ask its
model what each must answer) and a model (pure predictions, from its domain's ``decide_*`` functions, unit
tested without a server). The engine does the rest the same way for every API:

- ``call`` sends one request through the run's rate-limited client, as an actor (one of the run's two
  accounts, a guest, or nobody) and keeps it as a ``Sent`` for the reproduction (a pastable curl line);
- ``expect`` compares an answer's status with the model's ``Expect``; ``refused`` with a refusal of the
  domain (its status; on a mock, its very message); ``same`` and ``problems`` compare documents;
- ``fail`` raises the mismatch Hypothesis shrinks and ``reporting`` turns into a ``Failure``;
- skips: past the shrink budget, or once the run is stopped, an example makes no calls (``skip``);
- ``run_machine`` runs a machine class with the run's seed and settings (``stateful.run_rules``).

Example:
    >>> class Echo(ApiMachine):  # doctest: +SKIP
    ...     API = "echo"
    ...     @rule()
    ...     def ping(self) -> None:
    ...         self.expect("ping", self.call("ping", "GET", "/api/echo/ping", None), Expect(200, "pong", "always"))
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar, cast

import httpx
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine

from suites.property.model import Expect
from suites.property.session import Answer, RunSession

if TYPE_CHECKING:
    from suites.property.invariants import Problem
    from suites.property.reporting import MachineResult
    from villa_contracts.domain.errors import RuleViolation


@dataclass(frozen=True, slots=True)
class Sent:
    """One request a machine sent: what a reproduction replays.

    Attributes:
        operation: its operationId.
        method: the HTTP method.
        url: the full URL.
        shown: the credential headers as a reproduction shows them (``Authorization: Bearer $VILLA_ID_TOKEN``).
        body: the JSON body (None: none).
        status: the answer's status (None: no answer).
    """

    operation: str
    method: str
    url: str
    shown: tuple[tuple[str, str], ...]
    body: Any
    status: int | None

    def curl(self, base_url: str) -> str:
        """The request as a curl command on ``$VILLA_BASE_URL``, credentials from ``villa-contracts tokens``."""
        path = self.url[len(base_url) :] if self.url.startswith(base_url) else self.url
        parts = ["curl", "-sS", "-X", self.method, f'"$VILLA_BASE_URL"{shlex.quote(path)}']
        parts += [f'-H "{name}: {value}"' for name, value in self.shown]
        if self.body is not None:
            parts += ["-H", "'Content-Type: application/json'", "--data", shlex.quote(json.dumps(self.body))]
        return " ".join(parts) + f"  # {self.operation} -> {self.status if self.status is not None else 'no answer'}"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who sends a request: its headers, and how a reproduction shows them (never the secret itself)."""

    headers: Mapping[str, str] = field(default_factory=dict)
    shown: tuple[tuple[str, str], ...] = ()


NOBODY = Actor()
"""A request without credentials."""

_F = TypeVar("_F", bound=Callable[..., Any])


def step(fn: _F) -> _F:
    """Mark the example failed when a rule raises, so that teardown does not pile more calls on it.

    For a rule of any machine with a ``failed`` flag (``ApiMachine``'s, or a machine of its own).
    """

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except BaseException:
            self.failed = True
            raise

    wrapper.__name__, wrapper.__qualname__, wrapper.__doc__ = fn.__name__, fn.__qualname__, fn.__doc__
    return cast(_F, wrapper)


def _is_final() -> bool:
    try:
        return bool(current_build_context().is_final)
    except Exception:  # outside a Hypothesis run
        return False


def skips(session: RunSession) -> bool:
    """Whether an example starting now makes no calls: the run was stopped, or the shrink budget is spent.

    Past the shrink budget examples pass without calls, but the final replay always runs for real.
    """
    return (session.shrink_spent() and not _is_final()) or session.stopped


class ApiMachine(RuleBasedStateMachine):
    """The engine's part of every API's state machine (its rules are the subclass's).

    Attributes:
        API: the contract's name (reports name operations ``<API>.<operationId>``).
        session: the run (set by ``run_machine`` on a subclass of the machine).
        calls: the requests of this example, for its reproduction.
        failed: a rule of this example raised (teardown then sends nothing more).
        skip: this example makes no calls (past the shrink budget, or the run was stopped).
    """

    API: ClassVar[str] = ""
    session: ClassVar[RunSession]

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[Sent] = []
        self.failed = False
        self.session.example_started()
        self.skip = skips(self.session)

    # --- HTTP ---------------------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        actor: Actor,
        body: Any = None,
        *,
        counted: bool = True,
    ) -> Answer:
        """Send one request as ``actor`` and keep it for the reproduction; a request without answer fails.

        ``counted``: its status counts for the operation's coverage (not the admin API's calls).
        """
        session = self.session
        url = session.base + path
        try:
            response = session.http.request(method, url, json=body, headers=dict(actor.headers))
        except httpx.HTTPError as exc:
            self.calls.append(Sent(operation, method, url, actor.shown, body, None))
            self.fail(operation, "no_answer", f"{operation} did not answer", "an HTTP answer", type(exc).__name__)
        session.steps += 1
        if counted:
            session.statuses[operation].add(response.status_code)
        self.calls.append(Sent(operation, method, url, actor.shown, body, response.status_code))
        return Answer.of(response)

    # --- verdicts -----------------------------------------------------------------------------------

    def fail(self, operation: str, check: str, title: str, expected: str, got: str) -> NoReturn:
        """Raise the mismatch of ``check`` on ``operation`` (Hypothesis shrinks it; reports show it)."""
        self.failed = True
        where = f"{self.API}.{operation}" if self.API else operation
        raise self.session.mismatch(where, operation, check, title, expected, got, self.calls)

    def expect(self, operation: str, answer: Answer, expected: Expect) -> None:
        """The answer's status must be one the model expects."""
        if answer.status not in expected.statuses:
            self.fail(
                operation,
                expected.check,
                f"{operation} answered {answer.status}; the model expected {expected.status}",
                f"HTTP {expected.status} ({expected.why})",
                f"HTTP {answer.status}: {answer.snippet()}",
            )

    def refused(self, operation: str, answer: Answer, refusal: RuleViolation) -> None:
        """The answer must be the domain's refusal: its status, and on a mock its very message."""
        self.expect(operation, answer, Expect.of(refusal))
        error = answer.doc.get("error")
        if self.session.strict and error != refusal.message:
            self.fail(
                operation, refusal.rule, f"{operation}: the refusal's message", repr(refusal.message), repr(error)
            )

    def same(self, operation: str, check: str, what: str, expected: Any, got: Any) -> None:
        """Two documents must be equal (each shown cut short in the failure)."""
        if expected != got:
            shown = json.dumps(expected, sort_keys=True)[:1500], json.dumps(got, sort_keys=True)[:1500]
            self.fail(operation, check, f"{operation}: {what}", *shown)

    def problems(self, operation: str, found: Sequence[Problem]) -> None:
        """Fail on the first problem an invariant found (the others are named in its message)."""
        if found:
            first = found[0]
            more = "".join(f"\n  also {p.check}: expected {p.expected}, got {p.got}" for p in found[1:])
            self.fail(operation, first.check, f"{operation}: {first.expected}", first.expected, first.got + more)


def run_machine(machine: type[ApiMachine], session: RunSession, **options: Any) -> MachineResult:
    """Run ``machine``'s rules with ``session`` (``options``: ``max_examples``, ``seed``, ``stateful_step_count``)."""
    from suites.property.stateful import run_rules

    return run_rules(session.context, machine, session, **options)


__all__ = ["NOBODY", "Actor", "ApiMachine", "Expect", "Sent", "run_machine", "skips", "step"]
