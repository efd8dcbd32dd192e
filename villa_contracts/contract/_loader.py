"""Find, read and index the contracts once.

``load()`` is the only way the rest of the project reads ``contracts/``: the mock, the suites and
the CLI all get the same parsed, cached ``Contracts``. The directory holds one folder per API, each
with its own ``openapi.yaml`` (and the schema files it ``$ref``s); ``data/`` holds the business
data every API shares (users, catalog, stock, cards), and ``pacts/`` the consumer pacts::

    contracts/
      villa/openapi.yaml   villa/schemas/order.yaml     the Villa SDK API
      admin/openapi.yaml                                the mock's admin API (role: admin)
      data/*.yaml                                       shared business data
      pacts/*.json                                      consumer pacts

A contract is known by its folder's name (``villa``), an operation by ``(contract, operationId)``.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from villa_contracts.contract._bundle import bundle
from villa_contracts.errors import ContractError

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
Role = Literal["api", "admin"]
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")


def default_contracts_dir() -> Path:
    """The contracts shipped with this package (the repo's ``contracts/`` in a checkout)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here.parent / "contracts", here / "_contracts"):
        if (candidate / "data").is_dir():
            return candidate
    raise ContractError(f"no contracts/ directory found next to {here}; pass the contracts directory explicitly")


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of a contract.

    Attributes:
        contract: the short name of its contract (``villa``).
        operation_id: its ``operationId``, unique within the contract.
        method: the HTTP method, upper case.
        path: the path template (``/mock/3ds/{chargeId}``).
        spec: the operation object of the bundled document.
        schemes: the security schemes any one of which admits a caller (empty: open).
    """

    contract: str
    operation_id: str
    method: str
    path: str
    spec: dict[str, Any] = field(repr=False)
    schemes: tuple[str, ...] = ()

    @property
    def secured(self) -> bool:
        """Whether a caller must authenticate (an empty ``security`` list opts out)."""
        return bool(self.schemes)

    @property
    def responses(self) -> dict[str, Any]:
        """The responses object, keyed by status code as a string."""
        return dict(self.spec.get("responses", {}))

    @property
    def key(self) -> tuple[str, str]:
        """``(contract, operationId)``: how the project names an operation."""
        return (self.contract, self.operation_id)

    @property
    def label(self) -> str:
        """``METHOD /path``, as HTTP tools name an operation."""
        return f"{self.method} {self.path}"

    @property
    def mock_only(self) -> bool:
        """Whether only the mock has it (``x-villa.mockOnly``, e.g. the mock bank's 3-D Secure page)."""
        extension = self.spec.get("x-villa") or {}
        return bool(extension.get("mockOnly")) if isinstance(extension, dict) else False

    @property
    def tags(self) -> tuple[str, ...]:
        """The operation's tags."""
        return tuple(str(t) for t in self.spec.get("tags") or ())


def _read_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            # libyaml's safe loader (PyYAML's wheels ship it) reads the contracts 4-10 times faster than Python's.
            return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (OSError, yaml.YAMLError) as exc:
        raise ContractError(f"cannot read {path}: {exc}") from exc


def _schemes(doc: dict[str, Any], spec: dict[str, Any]) -> tuple[str, ...]:
    requirements = spec["security"] if "security" in spec else doc.get("security") or []
    names: list[str] = []
    for requirement in requirements:
        names += [str(name) for name in requirement]
    return tuple(names)


def _with_path_parameters(spec: dict[str, Any], shared: list[Any]) -> dict[str, Any]:
    """The operation with its path item's parameters (an operation's own parameter of the same name wins)."""
    if not shared:
        return spec
    own = {(p.get("name"), p.get("in")) for p in spec.get("parameters") or [] if isinstance(p, dict)}
    merged = [p for p in shared if isinstance(p, dict) and (p.get("name"), p.get("in")) not in own]
    return {**spec, "parameters": [*merged, *(spec.get("parameters") or [])]}


class Contract:
    """One API's contract: its OpenAPI document, bundled, and its operations.

    Attributes:
        name: the short name users pick it by (its folder's name).
        root: its folder.
        source: the document as written, ``$ref``s left as they are.
        openapi: the bundled, self-contained document.
        operations: operations by operationId.
        role: ``api`` (a backend API, checked by the gate) or ``admin`` (the mock's own admin API).
    """

    def __init__(self, name: str, root: Path, shared: Contracts | None = None) -> None:
        self.name = name
        self.root = root
        self._shared = shared
        self.source: dict[str, Any] = _read_yaml(root / "openapi.yaml")
        if not isinstance(self.source, dict):
            raise ContractError(f"{root / 'openapi.yaml'} is not an OpenAPI document (a YAML mapping)")
        self.openapi: dict[str, Any] = bundle(self.source, root, _read_yaml)
        extension = self.openapi.get("x-villa") or {}
        role = extension.get("role", "api") if isinstance(extension, dict) else "api"
        if role not in ("api", "admin"):
            raise ContractError(f"contract {name!r}: x-villa.role={role!r} must be 'api' or 'admin'")
        self.role: Role = "admin" if role == "admin" else "api"
        self.operations: dict[str, Operation] = {}
        for path, item in (self.openapi.get("paths") or {}).items():
            for method in HTTP_METHODS:
                spec = (item or {}).get(method)
                if spec is None:
                    continue
                op_id = spec.get("operationId")
                where = f"Location: {name}/openapi.yaml paths/{path}/{method}"
                if not op_id:
                    raise ContractError(f"{method.upper()} {path} of contract {name!r} has no operationId ({where})")
                if op_id in self.operations:
                    raise ContractError(f"operationId {op_id!r} is used twice in contract {name!r} ({where})")
                schemes = _schemes(self.openapi, spec)
                spec = _with_path_parameters(spec, item.get("parameters") or [])
                self.operations[op_id] = Operation(name, op_id, method.upper(), path, spec, schemes)

    @property
    def refusal_statuses(self) -> tuple[int, ...]:
        """The statuses its business rules answer to a request the schema accepts (``x-villa.refusalStatuses``).

        By default 401, 403, 404, 409 and 503; an API whose rules answer 400 (the shop's checkout
        validation, as seed 002 documents it) lists 400 too.
        """
        extension = self.openapi.get("x-villa") or {}
        given = extension.get("refusalStatuses") if isinstance(extension, dict) else None
        if given is None:
            return (401, 403, 404, 409, 503)
        if not isinstance(given, list) or not all(isinstance(s, int) and 400 <= s <= 599 for s in given):
            raise ContractError(f"contract {self.name!r}: x-villa.refusalStatuses must be a list of 4xx/5xx codes")
        return tuple(given)

    @property
    def title(self) -> str:
        """The document's ``info.title``."""
        return str((self.openapi.get("info") or {}).get("title") or self.name)

    def data(self, name: str) -> Any:
        """The shared business data file ``contracts/data/<name>.yaml`` (see ``Contracts.data``)."""
        if self._shared is None:
            raise ContractError(f"contract {self.name!r} was loaded alone: it has no shared data")
        return self._shared.data(name)

    def schema(self, name: str) -> dict[str, Any]:
        """A validating root schema for ``components.schemas[name]`` (refs resolve inside it)."""
        if name not in (self.openapi.get("components") or {}).get("schemas", {}):
            raise ContractError(f"no schema named {name!r} in components.schemas of contract {self.name!r}")
        return schema_root(self.openapi, {"$ref": f"#/components/schemas/{name}"})

    def operation(self, operation_id: str) -> Operation:
        """The operation called ``operation_id``.

        Raises:
            ContractError: no such operation (the message suggests close names).
        """
        return _named(self.operations, operation_id, "operation", f" in contract {self.name!r}")

    def __repr__(self) -> str:
        return f"<Contract {self.name!r}: {len(self.operations)} operations>"


_Named = TypeVar("_Named")


def _named(table: Mapping[str, _Named], name: str, kind: str, where: str) -> _Named:
    """``table[name]``, the ``kind`` (operation, contract) called ``name``.

    Raises:
        ContractError: no such ``kind``: "no <kind> '<name>'<where>", with the closest names suggested.
    """
    try:
        return table[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(table), n=3)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise ContractError(f"no {kind} {name!r}{where}{hint}") from None


class Contracts:
    """Every contract of a contracts directory, and the business data they share.

    Attributes:
        root: the contracts directory.
        contracts: contracts by short name, sorted by name.

    Example:
        >>> contracts = load()
        >>> contracts["villa"].operation("createOrder").path
        '/api/order/create'
    """

    def __init__(self, root: Path, extra: tuple[Path, ...] = ()) -> None:
        self.root = root
        found: dict[str, Contract] = {}
        folders = [p for p in root.iterdir() if (p / "openapi.yaml").is_file()]
        for folder in sorted(folders + [p for p in extra if p.name not in {f.name for f in folders}]):
            if not _NAME.match(folder.name):
                raise ContractError(
                    f"contract folder {folder.name!r} is not a short name (lower case letters, digits, '-')"
                )
            found[folder.name] = Contract(folder.name, folder, self)
        if not found:
            raise ContractError(f"{root} holds no contract: no <name>/openapi.yaml in it")
        self.contracts = found
        self._data: dict[str, Any] = {}
        routes: dict[tuple[str, str], Operation] = {}
        for operation in self.operations():
            key = (operation.method, _shape(operation.path))
            if key in routes:
                other = routes[key]
                raise ContractError(
                    f"{operation.label} is declared by both {other.contract}.{other.operation_id} and "
                    f"{operation.contract}.{operation.operation_id}: one route, one operation"
                )
            routes[key] = operation
        self._routes = tuple(
            (op.method, re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(op.path)) + "$"), op)
            for op in routes.values()
        )

    @classmethod
    def from_path(cls, path: str | Path, *, extra: tuple[Path, ...] = ()) -> Contracts:
        """Load the contracts directory at ``path``, and the API folders ``extra`` (each with its ``openapi.yaml``).

        Raises:
            ContractError: it is not a contracts directory.
        """
        root = Path(path)
        if not root.is_dir():
            raise ContractError(f"{root} is not a contracts directory (no such directory)")
        return cls(root, extra)

    @property
    def names(self) -> tuple[str, ...]:
        """The short names of all contracts."""
        return tuple(self.contracts)

    @property
    def apis(self) -> tuple[Contract, ...]:
        """The backend APIs (every contract but the mock's admin API)."""
        return tuple(c for c in self.contracts.values() if c.role == "api")

    @property
    def pacts_dir(self) -> Path:
        """Where the consumer pacts are kept (``contracts/pacts``)."""
        return self.root / "pacts"

    @property
    def scenarios_dir(self) -> Path:
        """Where the shipped scenarios are kept (``contracts/scenarios``, docs/scenarios.md)."""
        return self.root / "scenarios"

    def __getitem__(self, name: str) -> Contract:
        """The contract called ``name``.

        Raises:
            ContractError: no such contract (the message lists the known ones).
        """
        return _named(self.contracts, name, "contract", f" (known: {', '.join(self.contracts)})")

    def __iter__(self) -> Iterator[Contract]:
        return iter(self.contracts.values())

    def __len__(self) -> int:
        return len(self.contracts)

    def select(self, names: tuple[str, ...] | list[str] = ()) -> tuple[Contract, ...]:
        """The contracts called ``names`` (all backend APIs when empty).

        Raises:
            ContractError: a name is unknown.
        """
        return tuple(self[name] for name in names) if names else self.apis

    def operations(self) -> Iterator[Operation]:
        """Every operation of every contract."""
        for contract in self.contracts.values():
            yield from contract.operations.values()

    def operation(self, contract: str, operation_id: str) -> Operation:
        """The operation ``(contract, operation_id)``."""
        return self[contract].operation(operation_id)

    def match(self, method: str, path: str) -> Operation | None:
        """The operation served at ``method path`` (a concrete path, e.g. ``/mock/3ds/chrg_1``), if any."""
        method = "GET" if method.upper() == "HEAD" else method.upper()
        path = path.split("?", 1)[0]
        for m, pattern, operation in self._routes:
            if m == method and pattern.match(path):
                return operation
        return None

    def data(self, name: str) -> Any:
        """Return the parsed business data file ``contracts/data/<name>.yaml`` (cached).

        Raises:
            ContractError: no such data file (the message lists the known ones).
        """
        if name not in self._data:
            path = self.root / "data" / f"{name}.yaml"
            if not path.is_file():
                known = sorted(p.stem for p in (self.root / "data").glob("*.yaml"))
                raise ContractError(f"no business data named {name!r}; known: {', '.join(known)}")
            self._data[name] = _read_yaml(path)
        return self._data[name]

    def __repr__(self) -> str:
        return f"<Contracts {self.root}: {', '.join(self.contracts)}>"


def _shape(path: str) -> str:
    """A path template with its parameter names erased (``/a/{x}`` and ``/a/{y}`` are one route)."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def schema_root(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Wrap an operation's schema so that ``#/components/...`` refs resolve against the bundle."""
    components = openapi.get("components") or {}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": components, **schema}


@functools.lru_cache(maxsize=8)
def _load_cached(root: str, extra: tuple[str, ...]) -> Contracts:
    return Contracts.from_path(root, extra=tuple(Path(folder) for folder in extra))


def load(path: str | Path | None = None) -> Contracts:
    """Load (once per directory) and return every contract of a contracts directory.

    With no ``path``, the contracts shipped with villa-contracts and those of the API folders found on
    ``VILLA_API_PATH`` (``villa_contracts.apis``: a folder holding its own ``openapi.yaml``).

    Args:
        path: a contracts directory; by default the one shipped with villa-contracts.

    Returns:
        The parsed ``Contracts``; the same object on every call for the same directories.

    Raises:
        ContractError: the directory or a file in it cannot be read.
    """
    if path is not None:
        return _load_cached(str(Path(path).resolve()), ())
    from villa_contracts.apis import packages

    extra = tuple(str(api.contract_dir) for api in packages() if api.contract_dir is not None)
    return _load_cached(str(default_contracts_dir().resolve()), extra)
