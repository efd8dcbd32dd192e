"""What the collection reads of an operation: its success answer, schemas' properties, examples, JSON pointers."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from villa_contracts.contract._bundle import resolve
from villa_contracts.errors import ContractError

if TYPE_CHECKING:
    from villa_contracts.contract import Contract, Operation

Path = tuple[str, ...]


def pointer_parts(pointer: str) -> Path:
    """``/payment/grandTotal`` → ``("payment", "grandTotal")``."""
    if not pointer.strip("/"):
        return ()
    return tuple(p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/"))


def pointer(parts: Path) -> str:
    """``("results", "0", "amount")`` → ``/results/0/amount``."""
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


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


def schema_properties(openapi: dict[str, Any], schema: Any) -> dict[str, Any]:
    """The top-level properties of a schema (through ``$ref``, ``allOf``, ``oneOf`` and ``anyOf``)."""
    schema = resolve(openapi, schema)
    if not isinstance(schema, dict):
        return {}
    found = {str(k): resolve(openapi, v) for k, v in (schema.get("properties") or {}).items()}
    for key in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(key) or []:
            for name, value in schema_properties(openapi, branch).items():
                found.setdefault(name, value)
    return found


def answer_properties(contract: Contract, operation: Operation) -> dict[str, Any]:
    """The top-level properties of the operation's 2xx JSON answer."""
    return schema_properties(contract.openapi, json_schema(resolve(contract.openapi, success(operation)[1])) or {})


def request_properties(contract: Contract, operation: Operation) -> dict[str, Any]:
    """The top-level properties of the operation's JSON request body."""
    body = resolve(contract.openapi, operation.spec.get("requestBody") or {}) or {}
    media = (body.get("content") or {}).get("application/json")
    return schema_properties(contract.openapi, media.get("schema")) if isinstance(media, dict) else {}


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


def folder(operation: Operation) -> str:
    """The collection folder an operation's request is in: its first tag."""
    return operation.tags[0] if operation.tags else "default"


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
