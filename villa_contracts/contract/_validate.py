"""Validate requests, responses and documents against the contract, reporting every violation.

Each schema is compiled once (jsonschema-rs by default, for speed on the mock's hot path; the pure
Python ``jsonschema`` engine gives the same verdicts and is kept for cross-checking).
"""

from __future__ import annotations

import itertools
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import jsonschema_rs

from villa_contracts.contract._bundle import resolve
from villa_contracts.contract._depth import MAX_DEPTH, too_deep_in_value
from villa_contracts.contract._loader import schema_root
from villa_contracts.errors import ContractError
from villa_contracts.redact import redact

if TYPE_CHECKING:
    from villa_contracts.contract._loader import Contract, Operation

Engine = Literal["rust", "python"]


@dataclass(frozen=True, slots=True)
class Violation:
    """One way a value breaks its schema.

    Attributes:
        pointer: JSON pointer to the offending value ("" for the whole value).
        message: what is wrong.
        keyword: the JSON Schema keyword that failed (``type``, ``required``, ...).
    """

    pointer: str
    message: str
    keyword: str

    def as_detail(self) -> dict[str, str]:
        """The contract's error-detail form."""
        return {"pointer": self.pointer, "message": self.message}


MESSAGE_LIMIT = 300
"""How much of a violation message is kept: messages quote the offending value, which may be huge."""
MAX_VIOLATIONS = 50
"""At most this many violations are reported for one value (a huge invalid array has one per item)."""


def _said(message: str, pointer: str = "") -> str:
    """A violation message as it may be shown, journaled or logged: short, and without card data.

    A CVV is known by its key, which a message about its value does not carry (``987 is not of
    type 'string'`` at ``/card/securityCode``): the message is masked as if the key preceded it.
    """
    short = message if len(message) <= MESSAGE_LIMIT else message[: MESSAGE_LIMIT - 1] + "…"
    key = pointer.rsplit("/", 1)[-1]
    if key:
        keyed = redact(f"{key}: {short}")
        if keyed.startswith(f"{key}: "):
            return keyed[len(key) + 2 :]
    return redact(short)


def _pointer(parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Compiled(Protocol):
    def violations(self, instance: Any) -> list[Violation]: ...


def _too_deep(instance: Any) -> list[Violation]:
    """The violation of a value nested too deeply for an engine to follow (it recurses once a level).

    jsonschema-rs gives up near 255 levels, the Python engine near a few hundred; the mock refuses
    a body past ``MAX_DEPTH`` levels before validating it, but a document validated elsewhere
    (``villa-contracts validate``, the proxy) may be any depth.
    """
    where = too_deep_in_value(instance, MAX_DEPTH) or ""
    message = f"nested deeper than {MAX_DEPTH} levels of arrays and objects: too deep to validate"
    return [Violation(where[:MESSAGE_LIMIT], message, "maxDepth")]


class _RustSchema:
    __slots__ = ("_validator", "_schema", "_python")

    def __init__(self, schema: dict[str, Any]) -> None:
        self._validator = jsonschema_rs.Draft202012Validator(schema)
        self._schema = schema
        self._python: _PythonSchema | None = None

    def violations(self, instance: Any) -> list[Violation]:
        try:
            if self._validator.is_valid(instance):
                return []
            errors = list(self._validator.iter_errors(instance))
        except UnicodeEncodeError:
            # Text with a lone surrogate ("\ud800" in JSON) has no UTF-8 form to hand to Rust.
            self._python = self._python or _PythonSchema(self._schema)
            return self._python.violations(instance)
        except ValueError as exc:
            if "recursion limit" in str(exc).lower():
                return _too_deep(instance)
            raise
        found = [
            Violation(
                _pointer(e.instance_path)[:MESSAGE_LIMIT],
                _said(e.message, _pointer(e.instance_path)),
                str(e.schema_path[-1]) if e.schema_path else "",
            )
            for e in errors
        ]
        return sorted(found, key=lambda v: (v.pointer, v.message))


class _PythonSchema:
    __slots__ = ("_validator",)

    def __init__(self, schema: dict[str, Any]) -> None:
        import jsonschema  # here: only text with a lone surrogate needs it, and it takes 40 ms to import

        self._validator = jsonschema.Draft202012Validator(schema)

    def violations(self, instance: Any) -> list[Violation]:
        try:
            found = [
                Violation(
                    _pointer(e.absolute_path)[:MESSAGE_LIMIT],
                    _said(e.message, _pointer(e.absolute_path)),
                    str(e.validator),
                )
                for e in itertools.islice(self._validator.iter_errors(instance), MAX_VIOLATIONS)
            ]
        except RecursionError:
            return _too_deep(instance)
        return sorted(found, key=lambda v: (v.pointer, v.message))


def compile_schema(schema: dict[str, Any], engine: Engine = "rust") -> _Compiled:
    """Compile a root schema with the chosen engine."""
    return _RustSchema(schema) if engine == "rust" else _PythonSchema(schema)


_MAX_PARAMETER = 512  # characters; a longer query or path value is refused, not parsed


@dataclass(frozen=True, slots=True)
class _Parameter:
    """A path or query parameter: its name, whether it is required, and its compiled schema."""

    name: str
    where: str
    required: bool
    kind: str
    schema: _Compiled

    @classmethod
    def of(cls, doc: dict[str, Any], spec: dict[str, Any], engine: Engine) -> _Parameter:
        where = str(spec.get("in"))
        if where not in ("path", "query"):
            raise ContractError(f"parameter {spec.get('name')!r}: only path and query parameters are supported")
        schema = resolve(doc, spec.get("schema") or {})
        kind = schema.get("type", "string") if isinstance(schema.get("type", "string"), str) else "string"
        return cls(
            str(spec["name"]),
            where,
            bool(spec.get("required")) or where == "path",
            str(kind),
            compile_schema(schema_root(doc, spec.get("schema") or {}), engine),
        )

    def read(self, given: list[str]) -> tuple[Any, list[Violation]]:
        pointer = f"/{self.where}/{self.name}"
        if not given:
            problem = Violation(pointer, f"{self.where} parameter {self.name!r} is required", "required")
            return None, [problem] if self.required else []
        if len(given) > 1:
            return None, [Violation(pointer, f"{self.where} parameter {self.name!r} is given more than once", "type")]
        text = given[0]
        if len(text) > _MAX_PARAMETER:
            return None, [Violation(pointer, f"longer than {_MAX_PARAMETER} characters", "maxLength")]
        value: Any = text
        if self.kind == "integer":
            # ASCII digits only: int() would also read '²' or Arabic-Indic digits.
            value = int(text) if re.fullmatch(r"-?[0-9]{1,18}", text) else text
        elif self.kind == "number":
            value = float(text) if re.fullmatch(r"-?[0-9]{1,18}(\.[0-9]{1,18})?", text) else text
        elif self.kind == "boolean":
            value = {"true": True, "false": False}.get(text, text)
        problems = [Violation(pointer, v.message, v.keyword) for v in self.schema.violations(value)]
        return value, problems


class OperationValidator:
    """Request and response validators of one operation, compiled once."""

    def __init__(self, contract: Contract, operation: Operation, engine: Engine = "rust") -> None:
        self.operation = operation
        doc = contract.openapi
        body = resolve(doc, operation.spec.get("requestBody") or {})
        self.body_required = bool(body.get("required"))
        self.request_media = {
            media: compile_schema(schema_root(doc, spec.get("schema") or {}), engine)
            for media, spec in (body.get("content") or {}).items()
        }
        self.parameters = tuple(
            _Parameter.of(doc, resolve(doc, raw), engine) for raw in operation.spec.get("parameters") or ()
        )
        self.responses: dict[str, dict[str, _Compiled | None]] = {}
        for status, response in operation.responses.items():
            response = resolve(doc, response)
            self.responses[str(status)] = {
                media: (compile_schema(schema_root(doc, spec["schema"]), engine) if "schema" in spec else None)
                for media, spec in (response.get("content") or {}).items()
            }

    def params(
        self, path: Mapping[str, str], query: Mapping[str, Sequence[str]]
    ) -> tuple[dict[str, Any], list[Violation]]:
        """Read the path and query parameters, typed by their schemas, and say what is wrong with them.

        Args:
            path: the path parameters, as matched.
            query: each query parameter's values (a repeated parameter has several).

        Returns:
            The typed values by name (those that were given), and the violations, with pointers
            ``/path/<name>`` or ``/query/<name>``.
        """
        values: dict[str, Any] = {}
        found: list[Violation] = []
        for parameter in self.parameters:
            given = [path[parameter.name]] if parameter.where == "path" and parameter.name in path else []
            if parameter.where == "query":
                given = list(query.get(parameter.name, ()))
            value, problems = parameter.read(given)
            found += problems
            if given and not problems:
                values[parameter.name] = value
        known = {p.name for p in self.parameters if p.where == "query"}
        for name in query:
            if name not in known:
                found.append(
                    Violation(
                        f"/query/{name}",
                        f"unknown query parameter {name!r} (known: {', '.join(sorted(known)) or 'none'})",
                        "additionalProperties",
                    )
                )
        return values, found

    def request(self, body: Any, media_type: str = "application/json") -> list[Violation]:
        """Violations of a request body (already parsed)."""
        schema = self.request_media.get(media_type)
        if schema is None:
            return [Violation("", f"media type {media_type!r} is not accepted", "content")]
        return schema.violations(body)

    def declared_status(self, status: int) -> str | None:
        """The responses key that covers ``status`` (exact, ``4XX`` or ``default``)."""
        for key in (str(status), f"{str(status)[0]}XX", "default"):
            if key in self.responses:
                return key
        return None

    def response(self, status: int, body: Any, media_type: str = "application/json") -> list[Violation]:
        """Violations of a response: undeclared status, undeclared media type, or schema."""
        key = self.declared_status(status)
        if key is None:
            declared = ", ".join(sorted(self.responses))
            return [Violation("", f"status {status} is not declared (declared: {declared})", "status")]
        media = self.responses[key]
        if not media:
            return []
        if media_type not in media:
            return [Violation("", f"media type {media_type!r} is not declared for status {key}", "content")]
        schema = media[media_type]
        return schema.violations(body) if schema is not None else []


_SHARED: weakref.WeakKeyDictionary[Contract, dict[Engine, ContractValidator]] = weakref.WeakKeyDictionary()


class ContractValidator:
    """Validators of every operation and named schema of a contract, compiled on first use."""

    def __init__(self, contract: Contract, engine: Engine = "rust") -> None:
        self.contract = contract
        self.engine: Engine = engine
        self._operations: dict[str, OperationValidator] = {}
        self._schemas: dict[str, _Compiled] = {}

    @classmethod
    def of(cls, contract: Contract, engine: Engine = "rust") -> ContractValidator:
        """The validator of ``contract`` shared by everything in this process that validates against it.

        Compiling an operation's schemas takes a few milliseconds; a mock built again on the same contracts
        (each part of a side-by-side gate, each test) reuses what an earlier one compiled.
        """
        shared = _SHARED.setdefault(contract, {})
        if engine not in shared:
            shared[engine] = cls(contract, engine)
        return shared[engine]

    def operation(self, operation_id: str) -> OperationValidator:
        """The validator of ``operation_id``."""
        validator = self._operations.get(operation_id)
        if validator is None:
            if operation_id not in self.contract.operations:
                raise ContractError(f"no operation {operation_id!r} in the contract")
            validator = OperationValidator(self.contract, self.contract.operations[operation_id], self.engine)
            self._operations[operation_id] = validator
        return validator

    def document(self, schema_name: str, instance: Any) -> list[Violation]:
        """Violations of ``instance`` against ``components.schemas[schema_name]`` (e.g. ``Order``)."""
        compiled = self._schemas.get(schema_name)
        if compiled is None:
            compiled = compile_schema(self.contract.schema(schema_name), self.engine)
            self._schemas[schema_name] = compiled
        return compiled.violations(instance)
