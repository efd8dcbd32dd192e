"""Where an operation (or a schema) is written in its contract: the file and the line, for SARIF results.

The contracts are YAML. ``yaml.compose`` keeps the line of every node, so one pass over a
contract's ``openapi.yaml`` finds the line of each operation (its ``paths.<path>.<method>`` key,
known by its operationId and by ``METHOD /path``) and of each ``components.schemas.<name>``.
:class:`ContractLines` reads each contract a report needs once, when first asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from villa_contracts.reports._counts import DOCUMENT

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA = re.compile(r"components/schemas/([A-Za-z0-9._-]+)")


@dataclass(frozen=True, slots=True)
class Place:
    """A line of a contract file.

    Attributes:
        uri: the file, relative to the working directory (``contracts/villa/openapi.yaml``) when it
            lies under it (run the gate from the repository's root), else a ``file://`` URI.
        line: the line, counted from 1.
    """

    uri: str
    line: int


@dataclass(slots=True)
class _Index:
    uri: str
    operations: dict[str, int] = field(default_factory=dict)
    schemas: dict[str, int] = field(default_factory=dict)


def _uri(path: Path, base: Path) -> str:
    resolved = path.resolve()
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return resolved.as_uri()


def _mapping(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return []
    return [(key, value) for key, value in node.value if isinstance(key, yaml.ScalarNode)]


def _child(node: yaml.Node | None, name: str) -> yaml.Node | None:
    return next((value for key, value in _mapping(node) if key.value == name), None)


def index_document(text: str, uri: str) -> _Index:
    """The lines of every operation and schema of one OpenAPI document.

    Args:
        text: the YAML document.
        uri: how a report names its file.

    Returns:
        The index; empty when the text is not a YAML mapping.
    """
    found = _Index(uri)
    try:
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: ten times faster
    except yaml.YAMLError:
        return found
    for path, item in _mapping(_child(root, "paths")):
        for method, operation in _mapping(item):
            if method.value not in _METHODS:
                continue
            line = method.start_mark.line + 1
            found.operations[f"{method.value.upper()} {path.value}"] = line
            operation_id = _child(operation, "operationId")
            if isinstance(operation_id, yaml.ScalarNode):
                found.operations[str(operation_id.value)] = line
    for name, _ in _mapping(_child(_child(root, "components"), "schemas")):
        found.schemas[str(name.value)] = name.start_mark.line + 1
    return found


class ContractLines:
    """The place of each operation (or schema) of the contracts, each contract read once when first asked.

    Example:
        >>> from villa_contracts.contract import load
        >>> lines = ContractLines(load())
        >>> lines.place("villa", "getOrder").uri  # doctest: +SKIP
        'contracts/villa/openapi.yaml'
    """

    def __init__(self, contracts: Contracts | None, *, base: Path | None = None) -> None:
        """Find places in ``contracts`` (None: nowhere; every place is then unknown).

        Args:
            contracts: the contracts the run judged against.
            base: the directory URIs are relative to (default: the working directory).
        """
        self._contracts = contracts
        self._base = base if base is not None else Path.cwd()
        self._read: dict[str, _Index | None] = {}

    def _index(self, contract: str) -> _Index | None:
        if contract not in self._read:
            self._read[contract] = None
            if self._contracts is not None and contract in self._contracts.contracts:
                path = self._contracts[contract].root / "openapi.yaml"
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError:
                    return None
                self._read[contract] = index_document(text, _uri(path, self._base))
        return self._read[contract]

    def place(self, contract: str, operation: str, text: str = "") -> Place | None:
        """Where ``operation`` of ``contract`` is written.

        Args:
            contract: the contract's short name.
            operation: an operationId, ``METHOD /path``, or ``(document)`` for document-wide checks.
            text: what the failure says; a ``components/schemas/<name>`` it names is the place when
                the operation is not one of the contract's.

        Returns:
            The operation's line; else the line of a schema the text names; else the document's first
            line. None when the contract is unknown or its file cannot be read.
        """
        index = self._index(contract)
        if index is None:
            return None
        if operation != DOCUMENT and operation in index.operations:
            return Place(index.uri, index.operations[operation])
        for name in _SCHEMA.findall(text):
            if name in index.schemas:
                return Place(index.uri, index.schemas[name])
        return Place(index.uri, 1)
