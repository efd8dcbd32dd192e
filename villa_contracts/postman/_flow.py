"""The run of a collection, planned from a contract's links: which request feeds which, and in what order.

A link ``{operationId: T, requestBody: {orderId: $response.body#/orderId}}`` on an answer of S says
T's ``orderId`` is S's answer's. In the collection, S's test script stores that value in a collection
variable and T's body names it (``"orderId": "{{Order.orderId}}"``). The variable is named after the
*schema* of the answer (``Order``), not the operation, so every answer of that schema (create, get,
update) refreshes it: a request always takes the latest state of the resource (a card token is made
for the total of the order as last updated, not as created).

Each target takes its values from one source, the first in document order (its *parent*). The run is
a walk of that tree from each root in document order: side trips (requests no link leads on from,
such as reading the order back) before the request that leads on, so that the 3-D Secure page is
passed before the charge is verified. A second chain from one answer (the prod payment path after
the dev one, both from one order) would find its resource used up: it gets fresh data, its first
request re-sending the requests it descends from (``Step.replay``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.errors import ContractError

if TYPE_CHECKING:
    from villa_contracts.contract import Contract, Operation

_RESPONSE = re.compile(r"^\$response\.body(?:#(/.*))?$")
_REQUEST = re.compile(r"^\$request\.body(?:#(/.*))?$")
Path = tuple[str, ...]


def pointer_parts(pointer: str) -> Path:
    """``/payment/grandTotal`` → ``("payment", "grandTotal")``."""
    if not pointer.strip("/"):
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/"))


def dig(value: Any, parts: Path) -> Any:
    """The value at ``parts`` inside ``value``, or None."""
    for part in parts:
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def success(operation: Operation) -> tuple[str, dict[str, Any]]:
    """The operation's first 2xx status and its response object (what its example answers)."""
    for status in sorted(operation.responses):
        if status.startswith("2"):
            return status, dict(operation.responses[status] or {})
    raise ContractError(f"{operation.contract}.{operation.operation_id} declares no 2xx response")


def json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema of a response object, if it answers JSON."""
    media = (response.get("content") or {}).get("application/json")
    schema = media.get("schema") if isinstance(media, dict) else None
    return schema if isinstance(schema, dict) else None


def request_example(operation: Operation) -> Any:
    """The operation's JSON request example (``example`` or the first of ``examples``), or None."""
    content = (operation.spec.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json")
    if not isinstance(media, dict):
        return None
    if "example" in media:
        return copy.deepcopy(media["example"])
    for example in (media.get("examples") or {}).values():
        if isinstance(example, dict) and "value" in example:
            return copy.deepcopy(example["value"])
    return None


def variable_prefix(operation: Operation) -> str:
    """What the variables an operation's answers fill are named after: the answer's schema, else the operation."""
    schema = json_schema(success(operation)[1]) or {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/schemas/") and ref.count("/") == 3:
        return ref.rsplit("/", 1)[-1]
    return operation.operation_id


@dataclass
class Step:
    """One request of the run.

    Attributes:
        operation: its operation.
        body: its JSON body: the contract's example with linked values as ``"{{variable}}"``.
        path_values: path parameters as ``{{variable}}`` (linked) or the contract's example.
        parent: the step whose answer feeds it.
        replay: when it starts a second chain from one answer, the steps to re-send first (root first).
    """

    operation: Operation
    body: Any = None
    path_values: dict[str, str] = field(default_factory=dict)
    parent: Step | None = None
    replay: list[Step] = field(default_factory=list)


@dataclass
class Plan:
    """The planned run of one contract: the steps in run order and what each answer stores.

    Attributes:
        steps: every operation's step, in the order a collection runs them.
        captures: per operationId, ``(variable, JSON pointer parts)`` its 2xx answer stores.
        variables: every variable that holds a JSON value from an answer.
    """

    steps: list[Step]
    captures: dict[str, list[tuple[str, Path]]]
    variables: list[str]


def _links(contract: Contract) -> list[tuple[Operation, Operation, dict[str, Any]]]:
    """Every ``(source, target, link)`` of the contract's 2xx answers, in document order."""
    found = []
    for source in contract.operations.values():
        for status, response in source.responses.items():
            if not status.startswith("2"):
                continue
            for link in ((response or {}).get("links") or {}).values():
                target = contract.operations.get(str((link or {}).get("operationId")))
                if target is not None and target is not source:
                    found.append((source, target, link))
    return found


def _ancestor(step: Step | None, candidate: Step) -> bool:
    while step is not None:
        if step is candidate:
            return True
        step = step.parent
    return False


def _identify(value: Any, identities: dict[str, str]) -> Any:
    """``value`` with every string that is a known user's identity replaced by its ``{{variable}}``."""
    if isinstance(value, str) and value in identities:
        return "{{" + identities[value] + "}}"
    if isinstance(value, dict):
        return {k: _identify(v, identities) for k, v in value.items()}
    if isinstance(value, list):
        return [_identify(v, identities) for v in value]
    return value


class _Planner:
    def __init__(self, contract: Contract, identities: dict[str, str]) -> None:
        self.contract = contract
        self.steps = {
            op_id: Step(op, _identify(request_example(op), identities)) for op_id, op in contract.operations.items()
        }
        for step in self.steps.values():
            for parameter in step.operation.spec.get("parameters") or []:
                if isinstance(parameter, dict) and parameter.get("in") == "path":
                    example = parameter.get("example", (parameter.get("schema") or {}).get("example", ""))
                    step.path_values[str(parameter["name"])] = str(example)
        self.captures: dict[str, list[tuple[str, Path]]] = {}
        self.variables: list[str] = []

    def variable(self, source: Operation, parts: Path) -> str:
        name = ".".join((variable_prefix(source), *parts)) if parts else variable_prefix(source)
        # Every answer of the same schema stores it: the variable follows the resource's latest state.
        for operation in self.contract.operations.values():
            if variable_prefix(operation) == variable_prefix(source):
                kept = self.captures.setdefault(operation.operation_id, [])
                if (name, parts) not in kept:
                    kept.append((name, parts))
        if name not in self.variables:
            self.variables.append(name)
        return name

    def value(self, source: Step, expression: Any) -> Any:
        """The template value of a link expression (None: the link gives no usable value)."""
        if not isinstance(expression, str):
            return None
        response = _RESPONSE.match(expression)
        if response:
            return "{{" + self.variable(source.operation, pointer_parts(response.group(1) or "")) + "}}"
        request = _REQUEST.match(expression)
        if request:
            return copy.deepcopy(dig(source.body, pointer_parts(request.group(1) or "")))
        return None  # a literal: the suites' placeholder, the example keeps its own value

    def feed(self, source: Step, target: Step, link: dict[str, Any]) -> None:
        body = link.get("requestBody")
        if isinstance(body, str) and _RESPONSE.match(body) and isinstance(target.body, dict):
            body = self._whole_body(source, target, body)
        if isinstance(body, dict) and isinstance(target.body, dict):
            for key, expression in body.items():
                value = self.value(source, expression)
                if value is not None and key in target.body:
                    target.body[key] = value
        for name, expression in (link.get("parameters") or {}).items():
            value = self.value(source, expression)
            if isinstance(value, str) and name in target.path_values:
                target.path_values[name] = value

    def _whole_body(self, source: Step, target: Step, expression: str) -> dict[str, str]:
        """A whole-answer link, field by field: the fields the target's example shares with the answer's example.

        Such a field names the same resource in both examples (its id, its owner); the others are
        what the target's example changes, and it keeps them.
        """
        root = pointer_parts(_RESPONSE.match(expression).group(1) or "")  # type: ignore[union-attr]
        answer = dig(response_example(self.contract, source.operation), root)
        if not isinstance(answer, dict):
            return {}
        prefix = "".join("/" + p for p in root)
        return {
            key: f"$response.body#{prefix}/{key}"
            for key, value in target.body.items()
            if key in answer and answer[key] == value
        }

    def plan(self) -> Plan:
        links = _links(self.contract)
        for source_op, target_op, _ in links:
            source, target = self.steps[source_op.operation_id], self.steps[target_op.operation_id]
            if target.parent is None and not _ancestor(source, target):
                target.parent = source
        walked = self._walk(list(self.steps.values()))
        # Feed in run order: a source's own body is templated before a `$request.body` link reads it.
        for target in walked:
            for source_op, target_op, link in links:
                if target_op is target.operation and target.parent is self.steps[source_op.operation_id]:
                    self.feed(target.parent, target, link)
        return Plan(walked, self.captures, self.variables)

    def _walk(self, order: list[Step]) -> list[Step]:
        children: dict[int, list[Step]] = {id(step): [] for step in order}
        for step in order:
            if step.parent is not None:
                children[id(step.parent)].append(step)
        leads_on = {source.operation_id for source, _, _ in _links(self.contract)}

        def size(step: Step) -> int:
            return 1 + sum(size(child) for child in children[id(step)])

        walked: list[Step] = []

        def visit(step: Step, ancestors: list[Step]) -> None:
            walked.append(step)
            # Side trips first, then the requests that lead on (a stable sort keeps document order).
            kids = sorted(children[id(step)], key=lambda s: s.operation.operation_id in leads_on)
            chains = 0
            for child in kids:
                if size(child) > 1:
                    chains += 1
                    if chains > 1:
                        child.replay = [*ancestors, step]
                visit(child, [*ancestors, step])

        for step in order:
            if step.parent is None:
                visit(step, [])
        return walked


def response_example(contract: Contract, operation: Operation) -> Any:
    """The JSON example of the operation's 2xx answer (``example`` or the first of ``examples``)."""
    media = (success(operation)[1].get("content") or {}).get("application/json") or {}
    if "example" in media:
        return media["example"]
    for example in (media.get("examples") or {}).values():
        if isinstance(example, dict):
            ref = example.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/examples/"):
                example = (contract.openapi.get("components") or {}).get("examples", {}).get(ref.rsplit("/", 1)[-1])
            if isinstance(example, dict) and "value" in example:
                return example["value"]
    return None


def plan(contract: Contract, identities: dict[str, str] | None = None) -> Plan:
    """Plan the run of ``contract``'s collection from its examples and links.

    Args:
        contract: one API's contract.
        identities: example values that stand for the logged-in user (a test user's ``sub``) and the
            variable that holds the caller's own at run time (``sub``).

    Returns:
        Its steps in run order, and what each answer stores.

    Raises:
        ContractError: an operation declares no 2xx response.
    """
    return _Planner(contract, identities or {}).plan()
