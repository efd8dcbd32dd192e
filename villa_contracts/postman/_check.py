"""Check a team's own Postman collection against the contracts: every request must be a contract operation.

Each request is matched to an operation by method and path (``{{baseUrl}}/api/order/get``,
``/mock/3ds/:chargeId`` and ``/mock/3ds/{{chargeId}}`` all match their templates), its example
body is validated against the operation's request schema, and a secured operation must be sent
with credentials. Values that are Postman variables (``"{{orderId}}"``) are unknown until a run, so
whatever a variable stands for is not judged. Cognito calls (``X-Amz-Target``) are no Villa
operation and are only noted.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.contract import ContractValidator
from villa_contracts.errors import UsageError

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts, Operation

UNKNOWN_PATH = "unknown path"
WRONG_METHOD = "wrong method"
INVALID_BODY = "invalid body"
MISSING_AUTH = "missing auth"
_VARIABLE = re.compile(r"\{\{[^{}]+\}\}")
_SENTINEL = "\x00postman-variable\x00"


@dataclass(frozen=True, slots=True)
class Finding:
    """A request that does not match the contracts.

    Attributes:
        request: where it is in the collection (``folder / name``).
        label: ``METHOD /path`` as the request sends it.
        problem: ``unknown path``, ``wrong method``, ``invalid body`` or ``missing auth``.
        detail: what is wrong, and what the contract has instead.
    """

    request: str
    label: str
    problem: str
    detail: str


@dataclass
class CheckResult:
    """The verdict on a collection.

    Attributes:
        matched: each request that matches an operation, with it (``folder / name``, operation).
        findings: every mismatch.
        notes: requests that are not Villa operations (Cognito calls), with why they are not judged.
    """

    matched: list[tuple[str, Operation]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every request matched and nothing is wrong."""
        return not self.findings


def _requests(items: list[Any], trail: tuple[str, ...], auth: Any) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every request of ``items`` (folders walked), with its place and the auth it inherits."""
    for item in items:
        if not isinstance(item, dict):
            continue
        name = str(item.get("name") or "(unnamed)")
        own = item.get("auth")
        inherited = auth if own is None or (isinstance(own, dict) and own.get("type") == "inherit") else own
        if isinstance(item.get("item"), list):
            yield from _requests(item["item"], (*trail, name), inherited)
        elif "request" in item:
            request = item["request"]
            request = {"url": request, "method": "GET"} if isinstance(request, str) else request
            if isinstance(request, dict):
                own = request.get("auth")
                effective = auth if own is None or (isinstance(own, dict) and own.get("type") == "inherit") else own
                yield " / ".join((*trail, name)), request, effective


def _segments(url: Any) -> list[str]:
    """The path of a request's URL, segment by segment (host, query and fragment removed)."""
    if isinstance(url, dict) and isinstance(url.get("path"), list):
        return [str(p.get("value", "") if isinstance(p, dict) else p) for p in url["path"] if p != ""]
    raw = str(url.get("raw", "") if isinstance(url, dict) else url or "")
    raw = re.split(r"[?#]", raw, maxsplit=1)[0]
    raw = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://", "", raw)
    path = raw.split("/", 1)[1] if "/" in raw else ""
    return [s for s in path.split("/") if s]


def _is_variable(segment: str) -> bool:
    return segment.startswith(":") or bool(_VARIABLE.fullmatch(segment))


def _fits(template: str, segments: list[str]) -> int | None:
    """How many literal segments ``segments`` shares with ``template`` (None: it does not fit)."""
    parts = [p for p in template.split("/") if p]
    if len(parts) != len(segments):
        return None
    literal = 0
    for part, segment in zip(parts, segments, strict=True):
        if part.startswith("{") and part.endswith("}"):
            continue
        if _is_variable(segment):
            continue
        if part != segment:
            return None
        literal += 1
    return literal


def _headers(request: dict[str, Any]) -> dict[str, str]:
    found = {}
    for header in request.get("header") or []:
        if isinstance(header, dict) and not header.get("disabled"):
            found[str(header.get("key", "")).lower()] = str(header.get("value", ""))
    return found


def _has_credentials(contracts: Contracts, operation: Operation, request: dict[str, Any], auth: Any) -> bool:
    if isinstance(auth, dict) and auth.get("type") not in (None, "noauth"):
        return True
    headers = _headers(request)
    schemes = (contracts[operation.contract].openapi.get("components") or {}).get("securitySchemes") or {}
    for name in operation.schemes:
        scheme = schemes.get(name) or {}
        header = str(scheme.get("name") if scheme.get("type") == "apiKey" else "Authorization").lower()
        if headers.get(header):
            return True
    return False


def _parse_body(raw: str) -> Any:
    """The raw body as JSON, every Postman variable standing for an unknown value."""
    quoted = json.dumps(_SENTINEL)
    text = re.sub(r'"\{\{[^{}"]+\}\}"', lambda _: quoted, raw)
    text = _VARIABLE.sub(lambda _: quoted, text)  # a bare {{variable}} outside a string
    return json.loads(text)


def _unknown_at(body: Any, pointer: str) -> bool:
    """Whether the value at ``pointer`` (or around it) is, or holds, a Postman variable."""
    node = body
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]:
        if isinstance(node, str) and _SENTINEL in node:
            return True
        node = node[int(part)] if isinstance(node, list) and part.isdigit() else (node or {}).get(part)
    return _holds_variable(node)


def _holds_variable(node: Any) -> bool:
    if isinstance(node, str):
        return _SENTINEL in node or bool(_VARIABLE.search(node))
    if isinstance(node, dict):
        return any(_holds_variable(v) for v in node.values())
    if isinstance(node, list):
        return any(_holds_variable(v) for v in node)
    return False


class _Checker:
    def __init__(self, contracts: Contracts) -> None:
        self.contracts = contracts
        self.validators = {c.name: ContractValidator.of(c) for c in contracts}
        self.operations = list(contracts.operations())

    def body(self, operation: Operation, request: dict[str, Any]) -> str | None:
        """What is wrong with the request's body (None: nothing)."""
        validator = self.validators[operation.contract].operation(operation.operation_id)
        if not validator.request_media:
            return None
        body: dict[str, Any] = request["body"] if isinstance(request.get("body"), dict) else {}
        mode, raw = body.get("mode"), body.get("raw")
        if mode != "raw" or not str(raw or "").strip():
            if validator.body_required:
                accepted = ", ".join(validator.request_media)
                sent = f"a {mode} body" if mode else "no body"
                return f"the contract requires a body ({accepted}), the request sends {sent}"
            return None
        try:
            parsed = _parse_body(str(raw))
        except ValueError as exc:
            return f"the body is not JSON: {exc}"
        violations = [v for v in validator.request(parsed) if not _unknown_at(parsed, v.pointer)]
        if not violations:
            return None
        return "; ".join(f"{v.pointer or '/'}: {v.message.replace(_SENTINEL, '{{variable}}')}" for v in violations[:5])

    def check(self, place: str, request: dict[str, Any], auth: Any, result: CheckResult) -> None:
        method = str(request.get("method") or "GET").upper()
        segments = _segments(request.get("url"))
        label = f"{method} /{'/'.join(segments)}"
        if _headers(request).get("x-amz-target", "").startswith("AWSCognitoIdentityProviderService."):
            result.notes.append((place, "a Cognito call (not an operation of the Villa APIs): not checked"))
            return
        fitting = [(score, op) for op in self.operations if (score := _fits(op.path, segments)) is not None]
        if not fitting:
            paths = sorted({op.path for op in self.operations})
            close = difflib.get_close_matches("/" + "/".join(segments), paths, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]}?" if close else ""
            result.findings.append(Finding(place, label, UNKNOWN_PATH, f"no contract operation has this path{hint}"))
            return
        best = max(score for score, _ in fitting)
        candidates = [op for score, op in fitting if score == best]
        operation = next((op for op in candidates if op.method == method), None)
        if operation is None:
            has = ", ".join(sorted(f"{op.method} ({op.contract}.{op.operation_id})" for op in candidates))
            result.findings.append(Finding(place, label, WRONG_METHOD, f"the contract has {has} at this path"))
            return
        result.matched.append((place, operation))
        where = f"{operation.contract}.{operation.operation_id}"
        problem = self.body(operation, request)
        if problem:
            result.findings.append(Finding(place, label, INVALID_BODY, f"{where}: {problem}"))
        if operation.secured and not _has_credentials(self.contracts, operation, request, auth):
            result.findings.append(
                Finding(place, label, MISSING_AUTH, f"{where} needs credentials ({', '.join(operation.schemes)})")
            )


def check_collection(document: Any, contracts: Contracts) -> CheckResult:
    """Match every request of a Postman collection (v2.0 or v2.1) to the contracts' operations.

    Args:
        document: the parsed collection.
        contracts: the contracts to match against (every contract, the admin API's too).

    Returns:
        What matched, what did not and why.

    Raises:
        UsageError: ``document`` is not a Postman collection.
    """
    if not isinstance(document, dict) or not isinstance(document.get("item"), list):
        raise UsageError("not a Postman collection: a collection (v2.0 or v2.1) has an 'info' and an 'item' list")
    checker = _Checker(contracts)
    result = CheckResult()
    for place, request, auth in _requests(document["item"], (), document.get("auth")):
        checker.check(place, request, auth, result)
    return result
