"""Find, read and index the contracts once.

``load()`` is the only way the rest of the project reads ``contracts/``: the mock, the suites and
the CLI all get the same parsed, cached ``Contract``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from villa_contracts.contract._bundle import bundle
from villa_contracts.errors import ContractError

HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def default_contracts_dir() -> Path:
    """The contracts shipped with this package (the repo's ``contracts/`` in a checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "contracts", here / "_contracts"):
        if (candidate / "openapi.yaml").is_file():
            return candidate
    raise ContractError(f"no contracts/openapi.yaml found next to {here}; pass the contracts directory explicitly")


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the OpenAPI document."""

    operation_id: str
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)

    @property
    def secured(self) -> bool:
        """Whether the operation requires the ID token (an empty ``security`` list opts out)."""
        return bool(self.spec.get("security", [{"idToken": []}]))

    @property
    def responses(self) -> dict[str, Any]:
        """The responses object, keyed by status code as a string."""
        return dict(self.spec.get("responses", {}))


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc


class Contract:
    """The parsed contracts directory.

    Attributes:
        root: the contracts directory.
        openapi: the OpenAPI document, ``$ref``s left as they are.
        operations: operations by operationId.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.source: dict[str, Any] = _read_yaml(root / "openapi.yaml")
        self.openapi: dict[str, Any] = bundle(self.source, root, _read_yaml)
        self.operations: dict[str, Operation] = {}
        for path, item in (self.openapi.get("paths") or {}).items():
            for method in HTTP_METHODS:
                spec = item.get(method)
                if spec is None:
                    continue
                op_id = spec.get("operationId")
                if not op_id:
                    raise ContractError(f"{method.upper()} {path} has no operationId (Location: paths/{path}/{method})")
                if op_id in self.operations:
                    raise ContractError(f"operationId {op_id!r} is used twice")
                self.operations[op_id] = Operation(op_id, method.upper(), path, spec)
        self._data: dict[str, Any] = {}

    @classmethod
    def from_path(cls, path: str | Path) -> Contract:
        """Load the contracts directory at ``path``."""
        root = Path(path)
        if not (root / "openapi.yaml").is_file():
            raise ContractError(f"{root} is not a contracts directory: it has no openapi.yaml")
        return cls(root)

    def data(self, name: str) -> Any:
        """Return the parsed business data file ``contracts/data/<name>.yaml`` (cached)."""
        if name not in self._data:
            path = self.root / "data" / f"{name}.yaml"
            if not path.is_file():
                known = sorted(p.stem for p in (self.root / "data").glob("*.yaml"))
                raise ContractError(f"no business data named {name!r}; known: {', '.join(known)}")
            self._data[name] = _read_yaml(path)
        return self._data[name]

    def schema(self, name: str) -> dict[str, Any]:
        """A validating root schema for ``components.schemas[name]`` (refs resolve inside it)."""
        if name not in self.openapi["components"]["schemas"]:
            raise ContractError(f"no schema named {name!r} in components.schemas")
        return schema_root(self.openapi, {"$ref": f"#/components/schemas/{name}"})

    def schema_path(self, relative: str) -> Path:
        """Absolute path of a schema file given relative to the contracts directory."""
        return self.root / relative

    def read_yaml(self, relative: str) -> Any:
        """Parse a YAML or JSON file inside the contracts directory."""
        return _read_yaml(self.root / relative)


def schema_root(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Wrap an operation's schema so that ``#/components/...`` refs resolve against the bundle."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": openapi["components"], **schema}


@functools.lru_cache(maxsize=8)
def _load_cached(root: str) -> Contract:
    return Contract.from_path(root)


def load(path: str | Path | None = None) -> Contract:
    """Load (once per directory) and return the contracts.

    Args:
        path: a contracts directory; by default the one shipped with villa-contracts.

    Returns:
        The parsed ``Contract``; the same object on every call for the same directory.

    Raises:
        ContractError: the directory or a file in it cannot be read.
    """
    root = Path(path) if path is not None else default_contracts_dir()
    return _load_cached(str(root.resolve()))
