"""Bundle the OpenAPI document and the schema files it ``$ref``s into one self-contained document.

External schema files become entries of ``components.schemas`` (``schemas/order.yaml`` → ``Order``
when the document already names it so, else the file's title), their internal refs are rewritten to
point inside that entry, and ``$ref`` path items are inlined. Tools that read the bundle (the mock's
validators, schemathesis via ``/openapi.json``) never touch the file system again.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from villa_contracts.errors import ContractError


def _pointer_get(doc: Any, pointer: str, where: str) -> Any:
    node = doc
    for part in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise ContractError(f"$ref {where!r} points at nothing (missing {part!r})") from None
    return node


def bundle(document: dict[str, Any], root: Path, read: Callable[[Path], Any]) -> dict[str, Any]:
    """Return a copy of ``document`` with every external ``$ref`` brought inside it.

    Args:
        document: the parsed openapi.yaml.
        root: the directory relative refs are resolved against.
        read: how to parse a referenced file.

    Raises:
        ContractError: a reference points to a missing file or location.
    """
    doc = copy.deepcopy(document)
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    # Which component name each external file gets: the name whose whole value is a ref to it.
    names: dict[str, str] = {}
    for name, value in list(schemas.items()):
        if isinstance(value, dict) and set(value) == {"$ref"} and not value["$ref"].startswith("#"):
            names[value["$ref"].split("#", 1)[0]] = name
    loaded: dict[str, str] = {}

    def component_for(file_ref: str) -> str:
        if file_ref in loaded:
            return loaded[file_ref]
        path = (root / file_ref).resolve()
        if not path.is_file():
            raise ContractError(f"$ref to {file_ref!r}: no such file under {root}")
        content = read(path)
        name = names.get(file_ref) or str(content.get("title") or path.stem.title())
        loaded[file_ref] = name
        prefix = f"#/components/schemas/{name}"
        schemas[name] = rewrite(content, prefix)
        return name

    def rewrite(node: Any, local_prefix: str | None) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "$ref" and isinstance(value, str):
                    out[key] = resolve_ref(value, local_prefix)
                elif key == "$schema" and local_prefix is not None:
                    continue  # a sub-schema of the bundle follows the document's dialect
                else:
                    out[key] = rewrite(value, local_prefix)
            return out
        if isinstance(node, list):
            return [rewrite(item, local_prefix) for item in node]
        return node

    def resolve_ref(ref: str, local_prefix: str | None) -> str:
        file_part, _, fragment = ref.partition("#")
        if not file_part:
            return f"{local_prefix}{fragment}" if local_prefix else ref
        return f"#/components/schemas/{component_for(file_part)}{fragment}"

    for name in list(schemas):
        value = schemas[name]
        if isinstance(value, dict) and set(value) == {"$ref"} and not value["$ref"].startswith("#"):
            component_for(value["$ref"].split("#", 1)[0])
    for key in list(doc):
        if key != "components":
            doc[key] = rewrite(doc[key], None)
    for section, value in list(doc["components"].items()):
        if section != "schemas":
            doc["components"][section] = rewrite(value, None)
    for name in list(schemas):
        if name not in loaded.values():
            schemas[name] = rewrite(schemas[name], None)

    for path, item in list((doc.get("paths") or {}).items()):
        if isinstance(item, dict) and "$ref" in item:
            doc["paths"][path] = copy.deepcopy(_pointer_get(doc, item["$ref"].lstrip("#"), item["$ref"]))
    return doc


def resolve(doc: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref``s of ``node`` until it is not a reference."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        node = _pointer_get(doc, node["$ref"].lstrip("#"), node["$ref"])
        seen += 1
        if seen > 32:
            raise ContractError("$ref cycle")
    return node
