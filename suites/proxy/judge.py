"""Judge one exchange against the contracts: its operation, its request and answer, and the business checks.

``TrafficJudge.judge`` matches the exchange to an operation of the checked contracts
(``Contracts.match``; none: *undocumented*, a warning), validates the request (path, query, body)
and the answer (status, media type, body) with the contract's validators, then runs the traffic
checks of ``suites.proxy.traffic_checks``. It never sends a request: the proxy only watches.

A request the contract refuses is the client's fault: a warning (``request_schema_conformance``)
while the backend refuses it too, a failure when the backend answers 2xx (``negative_data_rejection``,
Schemathesis's name: it accepted what the contract forbids). Values redacted
in a recording (``Exchange.redacted``) are not judged again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from suites.property.checks import caller_sub_of_headers
from suites.proxy.exchange import Body, Exchange, is_json_media, parse_body, path_parameters
from suites.proxy.findings import UNDOCUMENTED, Finding, Verdict
from suites.proxy.traffic_checks import CheckSetup, Seen, checks_for
from villa_contracts.contract import ContractValidator, Violation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from villa_contracts.contract import Contracts, Operation, OperationValidator

SCHEMA_CHECKS = (
    "request_schema_conformance",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
_BY_KEYWORD = {"status": "status_code_conformance", "content": "content_type_conformance"}
FORM = "application/x-www-form-urlencoded"


def _redacted(exchange: Exchange, pointer: str) -> bool:
    return any(pointer == gone or pointer.startswith(gone + "/") for gone in exchange.redacted)


def request_violations(exchange: Exchange, operation: Operation, validator: OperationValidator) -> list[Violation]:
    """What is wrong with the request: path and query parameters, and the body (pointers as the mock's 400s)."""
    _, found = validator.params(path_parameters(operation.path, exchange.path), exchange.query_values())
    found = [v for v in found if not _redacted(exchange, f"/request{v.pointer}")]
    accepted = list(validator.request_media)
    if not accepted:
        return found
    body = parse_body(exchange.request_body, exchange.request_header("content-type"), form_ok=FORM in accepted)
    in_body: list[Violation] = []
    if body.kind == "empty":
        if validator.body_required:
            in_body.append(Violation("", f"{operation.operation_id} needs a body: it has none", "required"))
    elif body.kind == "json":
        in_body += validator.request(body.value, "application/json" if "application/json" in accepted else body.media)
    elif body.kind == "form":
        in_body += validator.request(body.value, body.media)
    elif body.kind == "invalid":
        in_body.append(Violation("", body.error, "type"))
    else:
        media = body.media or "no Content-Type"
        in_body.append(
            Violation("", f"media type {media!r} is not accepted (accepted: {', '.join(accepted)})", "content")
        )
    return found + [v for v in in_body if not _redacted(exchange, f"/request/body{v.pointer}")]


def response_violations(exchange: Exchange, validator: OperationValidator, body: Body) -> list[Violation]:
    """What is wrong with the answer: an undocumented status or media type, or a body off its schema."""
    status = exchange.status
    assert status is not None
    key = validator.declared_status(status)
    if key is None:
        return validator.response(status, None)
    declared = validator.responses[key]
    if exchange.method == "HEAD" or status in (204, 304):
        return []
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
        found = validator.response(status, body.value, media)
        return [v for v in found if not _redacted(exchange, f"/response/body{v.pointer}")]
    return []


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
        self.validators = {name: ContractValidator(contract) for name, contract in self.selected.items()}
        self.checks = {name: checks_for(CheckSetup(name, prices, contracts)) for name in self.selected}

    def operations(self) -> list[Operation]:
        """Every operation of the checked contracts."""
        return [op for contract in self.selected.values() for op in contract.operations.values()]

    def judge(self, exchange: Exchange) -> Verdict:
        """Everything the contracts say about ``exchange``."""
        operation = self.contracts.match(exchange.method, exchange.path)
        if operation is None:
            label = f"{exchange.method} {exchange.path}"
            if not exchange.answered:
                return Verdict(exchange, "", label, label, note=f"no answer from the upstream: {exchange.error}")
            message = f"expected: an operation of {', '.join(self.selected)}\ngot: {label}, answered {exchange.status}"
            finding = Finding(UNDOCUMENTED, "request", "", message, warning=True, severity="low")
            return Verdict(exchange, "", label, label, judged=((UNDOCUMENTED, (finding,)),))
        name, op_id = operation.contract, operation.operation_id
        if name not in self.selected:
            return Verdict(exchange, name, op_id, operation.label, note=f"contract {name!r} is not checked")
        if not exchange.answered:
            return Verdict(
                exchange, name, op_id, operation.label, note=f"no answer from the upstream: {exchange.error}"
            )
        validator = self.validators[name].operation(op_id)
        decided: dict[str, list[Finding]] = {check: [] for check in SCHEMA_CHECKS}
        if exchange.succeeded:
            decided["negative_data_rejection"] = []
        for violation in request_violations(exchange, operation, validator):
            finding = _request_finding(exchange, violation)
            decided[finding.check].append(finding)
        body = parse_body(exchange.response_body, exchange.response_header("content-type"), form_ok=False)
        for violation in response_violations(exchange, validator, body):
            check = _BY_KEYWORD.get(violation.keyword, "response_schema_conformance")
            message = (
                f"expected: the answer the contract documents\ngot: {violation.pointer or '/'}: {violation.message}"
            )
            decided[check].append(Finding(check, "response", violation.pointer, message))
        request = parse_body(exchange.request_body, exchange.request_header("content-type"))
        caller = caller_sub_of_headers({"Authorization": exchange.request_header("authorization")})
        seen = Seen(exchange, operation, self.selected[name], self.validators[name], request, body, caller)
        for traffic_check in self.checks[name]:
            for check_name, findings in traffic_check.judge(seen).items():
                decided.setdefault(check_name, []).extend(findings)
        judged = tuple((check_name, tuple(findings)) for check_name, findings in decided.items())
        return Verdict(exchange, name, op_id, operation.label, judged=judged)


def _request_finding(exchange: Exchange, violation: Violation) -> Finding:
    where = violation.pointer or "/"
    if exchange.succeeded:
        message = (
            f"expected: a 4xx: the contract refuses this request ({where}: {violation.message})\ngot: {exchange.status}"
        )
        return Finding("negative_data_rejection", "request", violation.pointer, message)
    message = (
        f"expected: a request the contract accepts\ngot: {where}: {violation.message} (answered {exchange.status})"
    )
    return Finding("request_schema_conformance", "request", violation.pointer, message, warning=True, severity="medium")


__all__ = ["SCHEMA_CHECKS", "TrafficJudge", "request_violations", "response_violations"]
