"""The run of a collection, planned from a contract's links: which request feeds which, and in what order.

A link ``{operationId: T, requestBody: {orderId: $response.body#/orderId}}`` on an answer of S says
T's ``orderId`` is S's answer's. In the collection, S's test script stores that value in a collection
variable and T's body names it (``"orderId": "{{Order.orderId}}"``). The variable is named after the
*schema* of the answer (``Order``), not the operation, so every answer of that schema (create, get,
update) refreshes it: a request always takes the latest state of the resource (a card token is made
for the total of the order as last updated, not as created).

Each target takes its values from one source, the first in document order (its *parent*). A
request no link feeds, whose example shares an identifier with another operation's answer example
(the shop's callback and an attempt: ``pay_5b1e…``), is fed by the answer that shares the most of
its fields (``total_amount`` from the attempt's ``amount``): the contract's examples name the same
resource, as ``_whole_body`` reads them too.

Besides its values, a request may need another's *effect* (``Step.needs``): a checkout needs a
filled cart, the order list an order. An operation's ``x-villa: {needs: [operationId, ...]}`` says
so; without it, two readings of the contract: an operation named after another resource of the API
(``POST /api/shop/checkout/cart``, the resource ``/api/shop/cart``) needs the POSTs that fill it,
and an answer whose links read a list's element (``#/results/0/order_key``) needs an operation that
creates one (a write whose answer has an ``order_key``).

The walk visits each tree from its root, credential issuers first, then the roots in document
order: side trips (requests no link leads on from, such as reading the order back) before the
request that leads on, so that the 3-D Secure page is passed before the charge is verified; a
request whose needs have not run yet waits until they have. A collection runs a folder per tag, so
the run is the walk grouped by tag (in order of first appearance). A request re-sends what it
depends on first (``Step.replay``: its link ancestors and needs, root first) when one of them runs
after it, when a DELETE under its path came since it ran (the cart line removed again), or when it
starts a second chain from one answer, which would find its resource used up (the prod payment
path after the dev one, both from one order; the gateway's callback after the payer approved on
the gateway's page).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from villa_contracts.contract._bundle import resolve
from villa_contracts.errors import ContractError
from villa_contracts.postman._parts import (
    Path,
    answer_properties,
    dig,
    folder,
    pointer,
    pointer_parts,
    request_example,
    response_example,
    variable_prefix,
)

if TYPE_CHECKING:
    from villa_contracts.contract import Contract, Operation

_RESPONSE = re.compile(r"^\$response\.body(?:#(/.*))?$")
_REQUEST = re.compile(r"^\$request\.body(?:#(/.*))?$")
_IDENTIFIER = re.compile(r"^(?=.*[A-Za-z])(?=.*[0-9])[A-Za-z0-9_.:-]{8,}$")
"""An example value that names one thing (``pay_5b1e0c6a9d2f4e7c8a3b``, ``ORD-2026-000001``), not a word or a count."""
WRITES = ("POST", "PUT", "PATCH")
Link = tuple["Operation", "Operation", dict[str, Any]]


@dataclass
class Step:
    """One request of the run.

    Attributes:
        operation: its operation.
        body: its JSON body: the contract's example with linked values as ``"{{variable}}"``.
        path_values: path parameters as ``{{variable}}`` (linked) or the contract's example.
        parent: the step whose answer feeds it.
        needs: the steps whose effect it needs (a filled cart), besides its parent's answer.
        replay: the steps to re-send first, root first, when what it depends on is used up or comes later.
    """

    operation: Operation
    body: Any = None
    path_values: dict[str, str] = field(default_factory=dict)
    parent: Step | None = None
    needs: list[Step] = field(default_factory=list)
    replay: list[Step] = field(default_factory=list)


@dataclass
class Plan:
    """The planned run of one contract: the steps in run order and what each answer stores.

    Attributes:
        steps: every operation's step, in the order a collection runs them (grouped by folder).
        captures: per operationId, ``(variable, JSON pointer parts)`` its 2xx answer stores.
        variables: every variable that holds a JSON value from an answer.
    """

    steps: list[Step]
    captures: dict[str, list[tuple[str, Path]]]
    variables: list[str]


def _links(contract: Contract) -> list[Link]:
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


def _depends(step: Step, on: Step) -> bool:
    """Whether ``step`` depends on ``on`` through parents and needs."""
    pending, seen = [step], set()
    while pending:
        current = pending.pop()
        if current is on:
            return True
        if id(current) in seen:
            continue
        seen.add(id(current))
        pending += [*current.needs, *([current.parent] if current.parent else [])]
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


def _identifier(value: Any) -> bool:
    return isinstance(value, str) and bool(_IDENTIFIER.match(value))


def _find(value: Any, node: Any, parts: Path = ()) -> Path | None:
    """Where ``value`` is inside the example ``node`` (the first place, depth first), or None."""
    if type(node) is type(value) and node == value:
        return parts
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, child in children:
        found = _find(value, child, (*parts, str(key)))
        if found is not None:
            return found
    return None


class _Planner:
    def __init__(
        self, contract: Contract, identities: dict[str, str], first: tuple[str, ...], accounts: dict[str, str]
    ) -> None:
        self.contract = contract
        self.first = tuple(op_id for op_id in first if op_id in contract.operations)
        self.steps = {
            op_id: Step(op, _identify(request_example(op), {**identities, **(accounts if op_id in first else {})}))
            for op_id, op in contract.operations.items()
        }
        for step in self.steps.values():
            for parameter in step.operation.spec.get("parameters") or []:
                parameter = resolve(contract.openapi, parameter)
                if isinstance(parameter, dict) and parameter.get("in") == "path":
                    example = parameter.get("example", (parameter.get("schema") or {}).get("example", ""))
                    step.path_values[str(parameter["name"])] = str(example)
        self.captures: dict[str, list[tuple[str, Path]]] = {}
        self.variables: list[str] = []
        self.links: list[Link] = []
        self.fresh: set[int] = set()

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
        prefix = pointer(root)
        return {
            key: f"$response.body#{prefix}/{key}"
            for key, value in target.body.items()
            if key in answer and answer[key] == value
        }

    def _inferred(self, explicit: list[Link]) -> list[Link]:
        """Links the examples imply, for requests no link feeds (see the module)."""
        fed = {target.operation_id for _, target, _ in explicit}
        found: list[Link] = []
        for target in self.contract.operations.values():
            body = self.steps[target.operation_id].body
            if target.operation_id in fed or target.operation_id in self.first or not isinstance(body, dict):
                continue
            fields = {k: v for k, v in body.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
            fields = {k: v for k, v in fields.items() if not (isinstance(v, str) and v.startswith("{{"))}
            best: tuple[Operation, dict[str, Path]] | None = None
            for source in self.contract.operations.values():
                # Not a mock-only answer: a real backend has none, and its requests would go unfed there.
                if source is target or source.mock_only or (answer := response_example(self.contract, source)) is None:
                    continue
                shared = {k: where for k, v in fields.items() if (where := _find(v, answer)) is not None}
                if not any(_identifier(fields[k]) for k in shared):
                    continue
                if best is None or len(shared) > len(best[1]):
                    best = (source, shared)
            if best is not None:
                body_links = {k: f"$response.body#{pointer(where)}" for k, where in best[1].items()}
                found.append((best[0], target, {"operationId": target.operation_id, "requestBody": body_links}))
        return found

    def _needs(self, explicit: list[Link]) -> None:
        """Fill ``Step.needs``: ``x-villa.needs``, else what the contract's paths and links imply."""
        operations = list(self.contract.operations.values())
        paths = {op.path for op in operations}
        for step in self.steps.values():
            operation = step.operation
            marker = operation.spec.get("x-villa")
            if isinstance(marker, dict) and "needs" in marker:
                names = marker["needs"] if isinstance(marker["needs"], list) else [marker["needs"]]
                unknown = [str(n) for n in names if str(n) not in self.steps]
                if unknown:
                    raise ContractError(f"{operation.contract}.{operation.operation_id}: x-villa.needs names no "
                                        f"operation: {', '.join(unknown)}")  # fmt: skip
                wanted = [self.steps[str(n)] for n in names]
            else:
                wanted = [*self._fillers(operation, operations, paths), *self._producers(step, operations, explicit)]
            for need in wanted:
                if need is not step and need not in step.needs and not _depends(need, step):
                    step.needs.append(need)

    def _fillers(self, operation: Operation, operations: list[Operation], paths: set[str]) -> list[Step]:
        """A write named after another resource of the API (``/checkout/cart``) needs the POSTs that fill it."""
        last = operation.path.rstrip("/").rsplit("/", 1)[-1]
        if operation.method not in WRITES or last.startswith("{"):
            return []
        found = []
        for resource in sorted(paths):
            if resource == operation.path or resource.rsplit("/", 1)[-1] != last:
                continue
            if not any(p.startswith(resource + "/") for p in paths):
                continue  # a resource that holds others (the cart holds items), not one more action of that name
            fill = [op for op in operations if op.method == "POST" and op.path.startswith(resource + "/")
                    and not op.mock_only]  # fmt: skip
            found += [self.steps[op.operation_id] for op in fill if op is not operation]
        return found

    def _producers(self, step: Step, operations: list[Operation], explicit: list[Link]) -> list[Step]:
        """What a list needs whose links take a path parameter from its element (``#/results/0/order_key``).

        An element: a write whose answer has that field (an ``order_key``), not one of the list's own chains.
        """
        found = []
        for source, _, link in explicit:
            if source is not step.operation:
                continue
            for expression in (link.get("parameters") or {}).values():
                match = _RESPONSE.match(expression) if isinstance(expression, str) else None
                parts = pointer_parts(match.group(1) or "") if match else ()
                if not any(p.isdigit() for p in parts[:-1]) or parts[-1].isdigit():
                    continue
                for operation in operations:
                    candidate = self.steps[operation.operation_id]
                    if (
                        operation.method in WRITES
                        and candidate is not step
                        and operation.operation_id not in self.first
                        and not operation.mock_only
                        and not _ancestor(candidate, step)
                        and parts[-1] in answer_properties(self.contract, operation)
                    ):
                        found.append(candidate)
                        break
        return found

    def plan(self) -> Plan:
        explicit = _links(self.contract)
        self.links = [*explicit, *self._inferred(explicit)]
        for source_op, target_op, _ in self.links:
            source, target = self.steps[source_op.operation_id], self.steps[target_op.operation_id]
            if target.parent is None and not _ancestor(source, target):
                target.parent = source
        self._needs(explicit)
        walked = self._walk(list(self.steps.values()))
        # Feed in walk order: a source's own body is templated before a `$request.body` link reads it.
        for target in walked:
            for source_op, target_op, link in self.links:
                if target_op is target.operation and target.parent is self.steps[source_op.operation_id]:
                    self.feed(target.parent, target, link)
        folders: dict[str, int] = {}
        for step in walked:
            folders.setdefault(folder(step.operation), len(folders))
        run = sorted(walked, key=lambda s: folders[folder(s.operation)])  # a folder per tag: the run Postman makes
        self._replays(run)
        return Plan(run, self.captures, self.variables)

    def _walk(self, order: list[Step]) -> list[Step]:
        children: dict[int, list[Step]] = {id(step): [] for step in order}
        for step in order:
            if step.parent is not None:
                children[id(step.parent)].append(step)
        leads_on = {source.operation_id for source, _, _ in self.links}

        def size(step: Step) -> int:
            return 1 + sum(size(child) for child in children[id(step)])

        walked: list[Step] = []
        done: set[int] = set()
        waiting: list[Step] = []

        def visit(step: Step, force: bool = False) -> None:
            if not force and any(id(need) not in done for need in step.needs):
                waiting.append(step)  # until what it needs has run
                return
            walked.append(step)
            done.add(id(step))
            # Side trips first, then the requests that lead on (a stable sort keeps document order).
            kids = sorted(children[id(step)], key=lambda s: s.operation.operation_id in leads_on)
            chains = 0
            for child in kids:
                if size(child) > 1:
                    chains += 1
                    if chains > 1:
                        self.fresh.add(id(child))
                visit(child)
            release()

        def release() -> None:
            while ready := [s for s in waiting if all(id(need) in done for need in s.needs)]:
                waiting.remove(ready[0])
                visit(ready[0])

        roots = [s for s in order if s.parent is None]
        for step in sorted(roots, key=lambda s: s.operation.operation_id not in self.first):
            visit(step)
        while waiting:  # needs that never run (a cycle of needs): in document order after all
            visit(waiting.pop(0), force=True)
        return walked

    def _prerequisites(self, step: Step) -> list[Step]:
        """What ``step`` depends on (parents and needs, transitively), each after its own; credentials kept."""
        ordered: list[Step] = []
        seen: set[int] = set()

        def visit(current: Step) -> None:
            for before in [*([current.parent] if current.parent else []), *current.needs]:
                if id(before) in seen or before.operation.operation_id in self.first:
                    continue
                seen.add(id(before))
                visit(before)
                ordered.append(before)

        visit(step)
        return ordered

    def _replays(self, run: list[Step]) -> None:
        sent: dict[int, int] = {}  # when each step was last sent, itself or re-sent by another's replay
        for position, step in enumerate(run):
            before = self._prerequisites(step)
            if before and (id(step) in self.fresh or self._used_up(before, run, position, sent)):
                step.replay = before
                sent.update({id(s): position for s in before})
            sent[id(step)] = position

    @staticmethod
    def _used_up(before: list[Step], run: list[Step], position: int, sent: dict[int, int]) -> bool:
        """Whether a step it depends on has not run yet, or a DELETE under its path came since it ran."""
        for step in before:
            if id(step) not in sent:
                return True
            since = run[sent[id(step)] + 1 : position]
            path = step.operation.path
            if step.operation.method in WRITES and any(
                s.operation.method == "DELETE" and (s.operation.path + "/").startswith(path + "/") for s in since
            ):
                return True
        return False


def plan(
    contract: Contract,
    identities: dict[str, str] | None = None,
    *,
    first: tuple[str, ...] = (),
    accounts: dict[str, str] | None = None,
) -> Plan:
    """Plan the run of ``contract``'s collection from its examples, links and needs.

    Args:
        contract: one API's contract.
        identities: example values that stand for the logged-in user (a test user's ``sub``) and the
            variable that holds the caller's own at run time (``sub``).
        first: operations that run before every other (those that issue a credential).
        accounts: in the bodies of ``first``, example values that are a test account's (its user
            name, its password) and the environment variable that holds the run's own.

    Returns:
        Its steps in run order, and what each answer stores.

    Raises:
        ContractError: an operation declares no 2xx response, or its ``x-villa.needs`` names no operation.
    """
    return _Planner(contract, identities or {}, first, accounts or {}).plan()
