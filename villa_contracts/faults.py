"""Faults on demand: one rules document, the same in the mock (``serve --faults``, ``/__admin/faults``) and the proxy.

A document::

    {"rules": [
        {"operation": "createOrder", "probability": 0.3, "seed": 1, "effect": {"status": 503}},
        {"method": "POST", "path": "/api/payment/charge", "effect": {"latencyMs": [100, 300]}}
    ]}

A rule names an operation by ``operationId`` (``contract.operationId`` when several contracts share
one) or by ``method`` and ``path`` (a path template of a contract, or any path, e.g. ``POST /`` for
the Cognito protocol). Its ``effect`` is one of:

- ``latencyMs``: wait this many milliseconds (or between ``[min, max]``) before handling;
- ``status``: answer this error status, never running the handler, with the contract's error body;
  a status the operation does not declare is refused at load time unless ``"undeclared": true``;
- ``drop``: close the connection without an answer;
- ``truncate``: send part of the body (``true``: half; a number: that many bytes), then close;
- ``slowBodyMs``: send the body in parts over this many milliseconds.

Determinism: each rule has its own ``random.Random(seed)`` (``seed`` 0 by default), advanced by exactly
one draw ``u`` per request the rule matches; it fires when ``u < probability`` (1 by default), and a
latency range takes ``min + (max - min) * u / probability``. The same seed and the same requests give
the same faults. When several rules fire on one request, the first one's effect applies.

This module has no I/O and no web framework: the mock (``mock_server``) and the proxy
(``suites.proxy``) both apply what ``Faults.draw`` decides.
"""

from __future__ import annotations

import random
import re
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.errors import UsageError

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts

HEADER = "X-Villa-Injected-Fault"
"""The header that marks an answer whose fault was injected: ``<rule index>:<effect>``."""

INJECTED = "injected by the mock"
"""How the gate and the proxy name a problem that only an injected fault caused (a warning, never a failure)."""

EFFECTS = ("latencyMs", "status", "drop", "truncate", "slowBodyMs")

_NUMBER = {"type": "number", "minimum": 0, "maximum": 600000}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["rules"],
    "properties": {
        "rules": {
            "type": "array",
            "maxItems": 100,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["effect"],
                "properties": {
                    "operation": {"type": "string", "minLength": 1, "maxLength": 200},
                    "method": {"type": "string", "pattern": "^[A-Za-z]{1,10}$"},
                    "path": {"type": "string", "pattern": "^/", "maxLength": 500},
                    "probability": {"type": "number", "minimum": 0, "maximum": 1},
                    "seed": {"type": "integer"},
                    "effect": {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "latencyMs": {
                                "oneOf": [
                                    _NUMBER,
                                    {"type": "array", "prefixItems": [_NUMBER, _NUMBER], "minItems": 2, "maxItems": 2},
                                ]
                            },
                            "status": {"type": "integer", "minimum": 400, "maximum": 599},
                            "undeclared": {"type": "boolean"},
                            "drop": {"const": True},
                            "truncate": {"oneOf": [{"const": True}, {"type": "integer", "minimum": 0}]},
                            "slowBodyMs": _NUMBER,
                        },
                        "oneOf": [{"required": [name]} for name in EFFECTS],
                        "dependentRequired": {"undeclared": ["status"]},
                    },
                },
                "oneOf": [{"required": ["operation"]}, {"required": ["method", "path"]}],
            },
        }
    },
}
"""The JSON Schema of a rules document."""


class FaultsError(UsageError):
    """A rules document that cannot be used; ``pointer`` says where (a JSON pointer)."""

    def __init__(self, message: str, pointer: str) -> None:
        super().__init__(f"{pointer or '/'}: {message}")
        self.message = message
        self.pointer = pointer


@dataclass(frozen=True, slots=True)
class Injected:
    """A fault drawn for one request: which rule, its effect and the value drawn."""

    rule: int
    effect: str
    value: Any
    operation_id: str | None = None
    contract: str | None = None

    @property
    def label(self) -> str:
        """The header's value and the journal's note: ``0:status=503``, ``1:latencyMs=200``, ``2:drop``."""
        shown = "" if self.value is True else f"={self.value:g}" if isinstance(self.value, float) else f"={self.value}"
        return f"{self.rule}:{self.effect}{shown}"

    def kept(self, length: int) -> int:
        """How many bytes of a ``length``-byte body a truncate lets through (half, or the number asked; never all)."""
        return length // 2 if self.value is True else min(int(self.value), max(length - 1, 0))

    def error_body(self) -> dict[str, Any]:
        """The body of an injected status: the contracts' error shape (``error``, ``code``, ``details``)."""
        return {
            "error": f"fault injected by rule {self.rule}: {self.value}",
            "code": "injected_fault",
            "details": [],
        }


SLOW_PARTS = 10
"""Parts a ``slowBodyMs`` body is sent in, a tenth of the time before each."""


def body_parts(data: bytes) -> list[bytes]:
    """``data`` in the ``SLOW_PARTS`` parts a ``slowBodyMs`` sends (one empty part for an empty body)."""
    step = max(1, -(-len(data) // SLOW_PARTS))
    return [data[i : i + step] for i in range(0, len(data), step)] or [b""]


ALTERING = ("status", "drop", "truncate")
"""Effects that change what the client gets (a latency or a slow body leave the answer as it was)."""


def injected_label(headers: Any) -> str | None:
    """The ``X-Villa-Injected-Fault`` of an answer's headers (any mapping), when its fault changed the answer.

    Only ``ALTERING`` effects: an answer merely delayed is still the backend's to answer for. None otherwise.
    """
    if headers is None:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(HEADER) or getter(HEADER.lower())
    if isinstance(value, list | tuple):  # schemathesis keeps every value of a header
        value = value[0] if value else None
    if not value:
        return None
    effect = str(value).partition(":")[2].partition("=")[0]
    return str(value) if effect in ALTERING else None


@dataclass(slots=True)
class Rule:
    """One rule, resolved against the contracts."""

    index: int
    method: str
    pattern: re.Pattern[str]
    operation_id: str | None
    contract: str | None
    probability: float
    seed: int
    effect: str
    value: Any
    document: dict[str, Any]
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def draw(self) -> Injected | None:
        """Advance this rule's random draws once; the fault, when it fires."""
        u = self.rng.random()
        if u >= self.probability:
            return None
        value = self.value
        if self.effect == "latencyMs" and isinstance(value, list):
            low, high = float(value[0]), float(value[1])
            value = low + (high - low) * (u / self.probability)
        elif self.effect in ("latencyMs", "slowBodyMs"):
            value = float(value)
        return Injected(self.index, self.effect, value, self.operation_id, self.contract)


def _template(path: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", path)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts if p) + r"\Z")


def validate(document: Any) -> None:
    """Check a rules document against ``SCHEMA``.

    Raises:
        FaultsError: the first violation, with its JSON pointer.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(document), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if errors:
        error = errors[0]
        pointer = "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in error.absolute_path)
        message = error.message
        if error.validator == "oneOf" and pointer.endswith("/effect"):
            message = f"an effect is exactly one of {', '.join(EFFECTS)} (with undeclared beside a status)"
        elif error.validator == "oneOf" and not pointer.endswith("latencyMs") and not pointer.endswith("truncate"):
            message = "a rule names an operation, or a method and a path (one of the two)"
        raise FaultsError(message[:300], pointer)


class Faults:
    """The rules in force: validated, resolved against the contracts, each with its own random draws.

    Thread-safe: one lock keeps each rule's draws in the order requests arrive.
    """

    def __init__(self, rules: list[Rule], document: dict[str, Any]) -> None:
        self.rules = rules
        self.document = document
        self._lock = threading.Lock()

    @classmethod
    def empty(cls) -> Faults:
        """No rules."""
        return cls([], {"rules": []})

    @classmethod
    def load(cls, document: Any, contracts: Contracts) -> Faults:
        """Validate ``document`` and resolve its rules against ``contracts``.

        Raises:
            FaultsError: the document breaks the schema, names an unknown operation, or a status its
                operation does not declare (without ``"undeclared": true``).
        """
        validate(document)
        operations = [op for contract in contracts if contract.role == "api" for op in contract.operations.values()]
        rules: list[Rule] = []
        for index, raw in enumerate(document["rules"]):
            where = f"/rules/{index}"
            effect_doc = raw["effect"]
            effect = next(name for name in EFFECTS if name in effect_doc)
            operation = None
            if "operation" in raw:
                name = raw["operation"]
                found = [
                    op for op in operations if op.operation_id == name or f"{op.contract}.{op.operation_id}" == name
                ]
                if not found:
                    raise FaultsError(f"no API operation {name!r} in the contracts", f"{where}/operation")
                if len(found) > 1:
                    names = ", ".join(f"{op.contract}.{op.operation_id}" for op in found)
                    raise FaultsError(f"{name!r} is ambiguous: name one of {names}", f"{where}/operation")
                operation = found[0]
                method, path = operation.method, operation.path
            else:
                method, path = raw["method"].upper(), raw["path"]
                operation = next((op for op in operations if op.method == method and op.path == path), None)
            if effect == "status" and not effect_doc.get("undeclared", False):
                status = effect_doc["status"]
                if operation is None:
                    raise FaultsError(
                        f"{method} {path} is no operation of the contracts: its status {status} is undeclared "
                        'by definition; say "undeclared": true to inject it anyway',
                        f"{where}/effect/status",
                    )
                declared = {str(code) for code in operation.responses}
                if str(status) not in declared and f"{str(status)[0]}XX" not in declared:
                    raise FaultsError(
                        f"{operation.operation_id} does not declare status {status} (it declares "
                        f'{", ".join(sorted(declared))}); say "undeclared": true to inject it anyway',
                        f"{where}/effect/status",
                    )
            rules.append(
                Rule(
                    index=index,
                    method=method,
                    pattern=_template(path),
                    operation_id=operation.operation_id if operation is not None else None,
                    contract=operation.contract if operation is not None else None,
                    probability=float(raw.get("probability", 1.0)),
                    seed=int(raw.get("seed", 0)),
                    effect=effect,
                    value=effect_doc[effect],
                    document=raw,
                )
            )
        return cls(rules, document)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def draw(self, method: str, path: str) -> Injected | None:
        """The fault for one request (``path`` without its query), or None.

        Every rule the request matches advances its draws once, fired or not; the first that fires wins.
        """
        if not self.rules:
            return None
        method = "GET" if method.upper() == "HEAD" else method.upper()
        chosen: Injected | None = None
        with self._lock:
            for rule in self.rules:
                if rule.method == method and rule.pattern.match(path):
                    drawn = rule.draw()
                    if chosen is None:
                        chosen = drawn
        return chosen


def read_file(path: str, contracts: Contracts) -> Faults:
    """Load a rules document from a YAML or JSON file.

    Raises:
        FaultsError: the file cannot be read or parsed, or its document cannot be used.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as exc:
        raise FaultsError(f"cannot read {path}: {exc.strerror or exc}", "") from None
    except yaml.YAMLError as exc:
        raise FaultsError(f"{path} is not YAML or JSON: {exc}", "") from None
    return Faults.load(document, contracts)
