"""Judge one exchange: its operation (or the known traffic it is), its request and answer, and the business checks.

``TrafficJudge.judge`` matches the exchange to an operation of the checked contracts
(``Contracts.match``), validates the request (path, query, body) and the answer (status, media
type, body) with the contract's validators, then runs the traffic checks of
``suites.proxy.traffic_checks``. It never sends a request: the proxy only watches. Traffic that is
no operation is sorted by ``suites.proxy.known``: the Cognito protocol and the OpenID discovery
documents, a method the contract does not list on one of its paths (``unsupported_method``),
Schemathesis's probes; anything else is *undocumented*, a warning.

Every exchange gets a verdict, and ``judge`` never raises: a 5xx answer fails ``not_a_server_error``
whatever the exchange is, and what the proxy cannot judge (no answer, a body too large or nested too
deeply to validate, a check that failed to decide) is an ``unjudged`` warning that says why.

A request the contract refuses is the client's fault: a warning (``request_schema_conformance``)
while the backend refuses it too, a failure when the backend answers 2xx (``negative_data_rejection``,
Schemathesis's name: it accepted what the contract forbids). The requests of testing tools, which say
so (Schemathesis, the Pact verifier: ``suites.proxy.known.tester``), are invalid on purpose: only
the backend's answer is judged. Values redacted in a
recording (``Exchange.redacted``) are not judged again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from suites.property.checks import CARD_DATA_CODE, caller_sub_of_headers
from suites.proxy.exchange import Body, Exchange, is_json_media, parse_body, path_parameters
from suites.proxy.findings import UNDOCUMENTED, Finding, Verdict
from suites.proxy.known import (
    COGNITO,
    COGNITO_PREFIX,
    DISCOVERY,
    PROBE,
    SERVER_ERROR,
    UNJUDGED,
    UNSUPPORTED_METHOD,
    cognito_findings,
    cognito_operation,
    discovery_document,
    discovery_findings,
    is_preflight,
    is_probe,
    method_findings,
    server_error,
    tester,
    unjudged,
)
from suites.proxy.traffic_checks import CheckSetup, Seen, checks_for
from villa_contracts.contract import ContractValidator, Violation
from villa_contracts.domain.errors import STATUS

if TYPE_CHECKING:
    from collections.abc import Mapping

    from villa_contracts.contract import Contract, Contracts, Operation, OperationValidator

SCHEMA_CHECKS = (
    "request_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
_BY_KEYWORD = {"status": "status_code_conformance", "content": "content_type_conformance"}
FORM = "application/x-www-form-urlencoded"
CARD_DATA_STATUS = STATUS["invalid"]
"""The status of card data refused (``villa_contracts.domain.cards.refuse_card_data``, an ``invalid`` refusal)."""
Decided = dict[str, list[Finding]]


class Unreadable(Exception):
    """A body the proxy does not read (over ``MAX_PARSED`` bytes): it cannot be validated."""


def _redacted(exchange: Exchange, pointer: str, violation: Violation | None = None) -> bool:
    """Whether a violation at ``pointer`` is of a value the recording redacted (then it is not judged again).

    A value recorded in its own JSON type (``Exchange.typed``) is still judged for its type.
    """
    if violation is not None and violation.keyword == "type" and pointer in exchange.typed:
        return False
    return any(pointer == gone or pointer.startswith(gone + "/") for gone in exchange.redacted)


def _followed(found: list[Violation], what: str) -> list[Violation]:
    """``found``, unless the validator could not follow ``what`` (nested too deeply): then it was not validated."""
    for violation in found:
        if violation.keyword == "maxDepth":
            raise Unreadable(f"{what} {violation.message} (at {violation.pointer or '/'})")
    return found


def _why(exc: Exception) -> str:
    return str(exc) if isinstance(exc, Unreadable) else f"{type(exc).__name__}: {exc}"[:300]


def request_violations(exchange: Exchange, operation: Operation, validator: OperationValidator) -> list[Violation]:
    """What is wrong with the request: path and query parameters, and the body (pointers as the mock's 400s).

    Raises:
        Unreadable: the body is too large to read, or nested too deeply to validate.
    """
    _, found = validator.params(path_parameters(operation.path, exchange.path), exchange.query_values())
    found = [v for v in found if not _redacted(exchange, f"/request{v.pointer}")]
    accepted = list(validator.request_media)
    if not accepted:
        return found
    body = parse_body(exchange.request_body, exchange.request_header("content-type"), form_ok=FORM in accepted)
    in_body: list[Violation] = []
    if body.unreadable:
        raise Unreadable(f"the request's body was not read: {body.error}")
    if body.kind == "empty":
        if validator.body_required:
            in_body.append(Violation("", f"{operation.operation_id} needs a body: it has none", "required"))
    elif body.kind == "json":
        media = "application/json" if "application/json" in accepted else body.media
        in_body += _followed(validator.request(body.value, media), "the request's body is")
    elif body.kind == "form":
        in_body += validator.request(body.value, body.media)
    elif body.kind == "invalid":
        in_body.append(Violation("", body.error, "type"))
    else:
        media = body.media or "no Content-Type"
        in_body.append(
            Violation("", f"media type {media!r} is not accepted (accepted: {', '.join(accepted)})", "content")
        )
    return found + [v for v in in_body if not _redacted(exchange, f"/request/body{v.pointer}", v)]


def response_violations(exchange: Exchange, validator: OperationValidator, body: Body) -> list[Violation]:
    """What is wrong with the answer: an undocumented status or media type, or a body off its schema.

    Raises:
        Unreadable: the body is too large to read, or nested too deeply to validate.
    """
    status = exchange.status
    assert status is not None
    key = validator.declared_status(status)
    if key is None:
        return validator.response(status, None)
    declared = validator.responses[key]
    if exchange.method == "HEAD" or status in (204, 304):
        return []
    if body.unreadable:
        raise Unreadable(f"the answer's body was not read: {body.error}")
    if body.kind == "empty":
        if not declared:
            return []
        return [Violation("", f"the answer has no body; {', '.join(declared)} is documented for {key}", "content")]
    media = "application/json" if body.kind == "json" and is_json_media(body.media) else body.media
    if declared and media not in declared:
        return [Violation("", f"media type {media or 'none'!r} is not documented for status {key}", "content")]
    if body.kind == "invalid":
        return [Violation("", body.error, "type")]
    if body.kind in ("json", "text"):
        found = _followed(validator.response(status, body.value, media), "the answer's body is")
        return [v for v in found if not _redacted(exchange, f"/response/body{v.pointer}", v)]
    return []


def _verdict(
    exchange: Exchange, contract: str, operation: str, label: str, decided: Decided, *, documented: bool = False
) -> Verdict:
    """A verdict of what was decided, with ``not_a_server_error`` decided on every answered exchange."""
    if exchange.answered:
        found = server_error(exchange, documented=documented)
        decided[SERVER_ERROR] = [found] if found is not None else []
    judged = tuple((check, tuple(findings)) for check, findings in decided.items())
    return Verdict(exchange, contract, operation, label, judged=judged)


def _path_table(contracts: Contracts) -> list[tuple[re.Pattern[str], list[Operation]]]:
    """Each path of the contracts with its operations, the paths without parameters first."""
    by_path: dict[str, list[Operation]] = {}
    for operation in contracts.operations():
        by_path.setdefault(operation.path, []).append(operation)
    table = []
    for path in sorted(by_path, key=lambda p: (p.count("{"), p)):
        pattern = re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)))
        table.append((pattern, by_path[path]))
    return table


class TrafficJudge:
    """Judges exchanges against the checked contracts; one per run (its checks remember what they saw).

    Args:
        contracts: every contract (an exchange of an unchecked contract is left alone, not undocumented).
        names: the contracts to check (every backend API when empty).
        prices: the catalog in satang by ``(cprcode, branch)``, when the upstream prices from it.
    """

    def __init__(
        self, contracts: Contracts, names: Sequence[str] = (), *, prices: Mapping[tuple[int, str], int] | None = None
    ) -> None:
        self.contracts = contracts
        self.selected = {contract.name: contract for contract in contracts.select(tuple(names))}
        self.validators = {name: ContractValidator.of(contract) for name, contract in self.selected.items()}
        self.checks = {name: checks_for(CheckSetup(name, prices, contracts)) for name in self.selected}
        self._paths = _path_table(contracts)

    def operations(self) -> list[Operation]:
        """Every operation of the checked contracts."""
        return [op for contract in self.selected.values() for op in contract.operations.values()]

    def judge(self, exchange: Exchange, *, outside: bool = False) -> Verdict:
        """Everything the contracts say about ``exchange`` (it never raises: what it cannot judge, it says).

        Args:
            exchange: the exchange.
            outside: the request's path is not below the upstream's base path (no operation of it).
        """
        try:
            return self._judge(exchange, outside=outside)
        except Exception as exc:  # a bug of a check, a validator's recursion limit: said, never hidden
            return self.unjudged(exchange, f"the proxy failed to judge it: {_why(exc)}")

    def unjudged(self, exchange: Exchange, reason: str) -> Verdict:
        """The verdict on an exchange the proxy cannot judge: an ``unjudged`` warning (and a 5xx fails)."""
        operation = self.contracts.match(exchange.method, exchange.path) or next(
            iter(self._on_path(exchange.path)), None
        )
        if operation is not None and operation.contract not in self.selected:
            return self._unchecked(exchange, operation)
        label = f"{exchange.method} {exchange.path}"
        names = (operation.contract, operation.operation_id, label) if operation else ("", label, label)
        return _verdict(exchange, *names, {UNJUDGED: [unjudged(reason)]})

    def _judge(self, exchange: Exchange, *, outside: bool) -> Verdict:
        if not exchange.answered:
            return self.unjudged(exchange, f"no answer from the upstream: {exchange.error or 'none'}")
        known = self._known(exchange)
        if known is not None:
            return known
        deliberate = tester(exchange) is not None
        if outside:
            return self._undocumented(exchange, deliberate, where="outside the upstream's base path")
        operation = self.contracts.match(exchange.method, exchange.path)
        if operation is not None:
            if operation.contract not in self.selected:
                return self._unchecked(exchange, operation)
            return self._operation(exchange, operation, deliberate)
        on_path = self._on_path(exchange.path)
        if on_path:
            return self._other_method(exchange, on_path, deliberate)
        return self._undocumented(exchange, deliberate)

    def _on_path(self, path: str) -> list[Operation]:
        """The operations of the contracts' path ``path`` is (empty: no contract has it)."""
        return next((ops for pattern, ops in self._paths if pattern.fullmatch(path)), [])

    @staticmethod
    def _known(exchange: Exchange) -> Verdict | None:
        """The Cognito protocol, a discovery document, a probe of Schemathesis's; None for anything else."""
        label = f"{exchange.method} {exchange.path}"
        cognito, document = cognito_operation(exchange), discovery_document(exchange)
        if cognito is None and document is None:
            return _verdict(exchange, "", PROBE, label, {}) if is_probe(exchange) else None
        answer = parse_body(exchange.response_body, exchange.response_header("content-type"), form_ok=False)
        decided: Decided = {}
        if answer.unreadable:
            decided[UNJUDGED] = [unjudged(f"the answer was not read: {answer.error}", "response")]
        if cognito is not None:
            if not answer.unreadable:
                decided[COGNITO] = cognito_findings(exchange, answer)
            return _verdict(exchange, "", f"cognito {cognito}", f"{label} ({COGNITO_PREFIX}{cognito})", decided)
        assert document is not None
        if not answer.unreadable:
            decided[DISCOVERY] = discovery_findings(exchange, answer, document)
        return _verdict(exchange, "", f"discovery {document}", label, decided)

    def _unchecked(self, exchange: Exchange, operation: Operation) -> Verdict:
        """An operation of a contract not checked: left alone, unless it answered a server error."""
        if server_error(exchange) is not None:
            return _verdict(exchange, operation.contract, operation.operation_id, operation.label, {})
        why = (
            "no answer from the upstream"
            if not exchange.answered
            else f"contract {operation.contract!r} is not checked"
        )
        return Verdict(exchange, operation.contract, operation.operation_id, operation.label, note=why)

    def _undocumented(self, exchange: Exchange, deliberate: bool, where: str = "") -> Verdict:
        """A path no contract has: the client's warning; a testing tool's, only when the backend answers 2xx."""
        label = f"{exchange.method} {exchange.path}"
        decided: Decided = {}
        if not deliberate or exchange.succeeded:
            place = f" ({where})" if where else ""
            message = (
                f"expected: an operation of {', '.join(self.selected)}\ngot: {label}{place}, answered {exchange.status}"
            )
            decided[UNDOCUMENTED] = [Finding(UNDOCUMENTED, "request", "", message, warning=True, severity="low")]
        return _verdict(exchange, "", PROBE if deliberate else label, label, decided)

    def _other_method(self, exchange: Exchange, operations: list[Operation], deliberate: bool) -> Verdict:
        """A method the contract does not list on one of its paths, counted with the path's first operation."""
        first = operations[0]
        if first.contract not in self.selected:
            return self._unchecked(exchange, first)
        decided: Decided = {}
        if exchange.method != "OPTIONS":  # answered by frameworks and CORS layers as they see fit
            decided[UNSUPPORTED_METHOD] = method_findings(exchange, operations)
        if not deliberate and not is_preflight(exchange):
            listed = ", ".join(sorted({op.method for op in operations}))
            message = (
                f"expected: a method the contract lists on {first.path} ({listed})\n"
                f"got: {exchange.method}, answered {exchange.status}"
            )
            decided[UNDOCUMENTED] = [Finding(UNDOCUMENTED, "request", "", message, warning=True, severity="low")]
        return _verdict(exchange, first.contract, first.operation_id, f"{exchange.method} {first.path}", decided)

    def _operation(self, exchange: Exchange, operation: Operation, deliberate: bool) -> Verdict:
        name, op_id = operation.contract, operation.operation_id
        validator = self.validators[name].operation(op_id)
        decided: Decided = {check: [] for check in SCHEMA_CHECKS}
        if deliberate:
            del decided["request_schema_conformance"]  # a testing tool sends invalid requests on purpose
        if exchange.succeeded:
            decided["negative_data_rejection"] = []
        valid = self._judge_request(exchange, operation, validator, decided, deliberate)
        body = parse_body(exchange.response_body, exchange.response_header("content-type"), form_ok=False)
        if valid and exchange.status == CARD_DATA_STATUS:
            decided["refused_as_declared"] = _refused_as_declared(self.selected[name], body)
        try:
            violations = response_violations(exchange, validator, body)
        except Exception as exc:
            decided.setdefault(UNJUDGED, []).append(unjudged(f"the answer was not validated: {_why(exc)}", "response"))
            violations = []
        for violation in violations:
            check = _BY_KEYWORD.get(violation.keyword, "response_schema_conformance")
            message = (
                f"expected: the answer the contract documents\ngot: {violation.pointer or '/'}: {violation.message}"
            )
            decided[check].append(Finding(check, "response", violation.pointer, message))
        request = parse_body(exchange.request_body, exchange.request_header("content-type"))
        caller = caller_sub_of_headers({"Authorization": exchange.request_header("authorization")})
        seen = Seen(exchange, operation, self.selected[name], self.validators[name], request, body, caller)
        for traffic_check in self.checks[name]:
            try:
                found = traffic_check.judge(seen)
            except Exception as exc:  # an oracle that cannot decide says so; the other checks still judge
                reason = f"{type(traffic_check).__name__} could not decide: {_why(exc)}"
                decided.setdefault(UNJUDGED, []).append(unjudged(reason, "response"))
                continue
            for check_name, findings in found.items():
                decided.setdefault(check_name, []).extend(findings)
        documented = validator.declared_status(exchange.status or 0) == str(exchange.status)
        return _verdict(exchange, name, op_id, operation.label, decided, documented=documented)

    @staticmethod
    def _judge_request(
        exchange: Exchange, operation: Operation, validator: OperationValidator, decided: Decided, deliberate: bool
    ) -> bool:
        """Add the request's findings to ``decided``; True when it was validated and the contract accepts it."""
        try:
            violations = request_violations(exchange, operation, validator)
        except Exception as exc:  # too large, or nested deeper than the validator goes
            for undecided in ("request_schema_conformance", "negative_data_rejection"):
                decided.pop(undecided, None)
            if exchange.succeeded or not deliberate:
                decided.setdefault(UNJUDGED, []).append(unjudged(f"the request was not validated: {_why(exc)}"))
            return False
        for violation in violations:
            finding = _request_finding(exchange, violation, deliberate)
            if finding is None:
                decided.setdefault("negative_data_rejection", [])  # refused, as the contract wants
            else:
                decided.setdefault(finding.check, []).append(finding)
        return not violations


def _refused_as_declared(contract: Contract, body: Body) -> list[Finding]:
    """``refused_as_declared``: a request the contract accepts, answered 400, is refused only for card data.

    The gate's check of the same name (``suites.property.checks``): every contract refuses card data
    with a 400 of code ``card_data``; where its rules answer no other 400, any other is a wrong refusal.
    """
    if CARD_DATA_STATUS in contract.refusal_statuses:
        return []
    value = body.value if body.kind == "json" else None
    if isinstance(value, dict) and value.get("code") == CARD_DATA_CODE:
        return []
    message = (
        f"expected: a request the contract accepts answered 2xx, or refused 400 only for card data (code "
        f"{CARD_DATA_CODE!r})\ngot: 400 {str(value)[:300] if value is not None else '(not JSON)'}"
    )
    return [Finding("refused_as_declared", "response", "", message)]


def _request_finding(exchange: Exchange, violation: Violation, deliberate: bool) -> Finding | None:
    where = violation.pointer or "/"
    if exchange.succeeded:
        message = (
            f"expected: a 4xx: the contract refuses this request ({where}: {violation.message})\ngot: {exchange.status}"
        )
        return Finding("negative_data_rejection", "request", violation.pointer, message)
    if deliberate:
        return None
    message = (
        f"expected: a request the contract accepts\ngot: {where}: {violation.message} (answered {exchange.status})"
    )
    return Finding("request_schema_conformance", "request", violation.pointer, message, warning=True, severity="medium")


__all__ = ["SCHEMA_CHECKS", "TrafficJudge", "Unreadable", "request_violations", "response_violations"]
