"""OpenAPI 3.1 (JSON Schema 2020-12) schemas as JSON Schema draft-07, for Postman's ``jsonSchema`` assertion.

Postman and Newman check ``pm.response.to.have.jsonSchema(schema)`` with Ajv 6, which knows drafts
04 to 07 only: an unknown ``$schema`` or ``format`` makes it throw, ``$defs`` is not a keyword and a
``$ref`` hides its siblings. ``draft07`` turns one schema of a contract into a self-contained draft-07
schema with the components it needs under ``definitions``; every conversion keeps the verdicts the
same, except for 2020-12 keywords draft-07 cannot express (``unevaluated*``, ``minContains``...),
which are dropped and so only ever make the embedded schema more lenient than the contract's.
"""

from __future__ import annotations

from typing import Any

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
COMPONENTS = "#/components/schemas/"

# Formats Ajv 6 validates; any other (OpenAPI's int32, the contracts' own branch-id...) would throw.
AJV6_FORMATS = frozenset(
    {"date", "time", "date-time", "uri", "uri-reference", "uri-template", "url", "email", "hostname", "ipv4",
     "ipv6", "regex", "uuid", "json-pointer", "json-pointer-uri-fragment", "relative-json-pointer"}
)  # fmt: skip
# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_ONE = ("additionalProperties", "items", "additionalItems", "contains", "propertyNames", "not", "if", "then", "else")
_MANY = ("allOf", "anyOf", "oneOf")
_MAP = ("properties", "patternProperties", "definitions", "$defs", "dependentSchemas")
# 2020-12 keywords with no draft-07 form, and OpenAPI annotations Ajv does not need.
_DROPPED = frozenset(
    {"$schema", "$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$vocabulary", "unevaluatedProperties",
     "unevaluatedItems", "minContains", "maxContains", "example", "discriminator", "xml", "externalDocs",
     "deprecated", "contentSchema"}
)  # fmt: skip


def _ref(ref: str) -> str:
    if ref.startswith(COMPONENTS):
        ref = "#/definitions/" + ref[len(COMPONENTS) :]
    return ref.replace("/$defs/", "/definitions/")


def convert(node: Any) -> Any:
    """One schema (and every schema inside it) in draft-07 form; refs still name their components.

    Args:
        node: a JSON Schema 2020-12 schema (a mapping or a boolean).

    Returns:
        The draft-07 schema.
    """
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-"):
            continue
        if key == "$ref":
            continue
        if key == "format" and value not in AJV6_FORMATS:
            continue
        if key == "examples" and not isinstance(value, list):
            continue
        if key == "items" and "prefixItems" in node:
            continue  # becomes additionalItems, below
        if key in _ONE:
            out[key] = convert(value)
        elif key in _MANY:
            out[key] = [convert(v) for v in value]
        elif key in _MAP:
            name = {"$defs": "definitions", "dependentSchemas": "dependencies"}.get(key) or key
            out.setdefault(name, {}).update({k: convert(v) for k, v in value.items()})
        elif key == "prefixItems":
            out["items"] = [convert(v) for v in value]
        elif key == "dependentRequired":
            out.setdefault("dependencies", {}).update(value)
        else:
            out[key] = value
    if "prefixItems" in node and "items" in node:
        # 2020-12's items after prefixItems is draft-07's additionalItems.
        out["additionalItems"] = convert(node["items"])
    if "$ref" in node:
        ref = {"$ref": _ref(str(node["$ref"]))}
        # In draft-07 a $ref's siblings are ignored; 2020-12 applies them: keep both through allOf.
        return {**out, "allOf": [ref, *out.get("allOf", [])]} if out else ref
    return out


def _refs(node: Any) -> set[str]:
    """The component names ``node`` refers to (directly)."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(COMPONENTS):
            found.add(ref[len(COMPONENTS) :].split("/", 1)[0])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def draft07(openapi: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """A self-contained draft-07 copy of ``schema``, a schema of the bundled document ``openapi``.

    Args:
        openapi: the contract's bundled OpenAPI document (its ``components.schemas`` resolve refs).
        schema: a schema of it, e.g. a response's ``{"$ref": "#/components/schemas/Order"}``.

    Returns:
        ``{"$schema": draft-07, ..., "definitions": {every component it reaches}}``.
    """
    components: dict[str, Any] = (openapi.get("components") or {}).get("schemas") or {}
    needed: set[str] = set()
    pending = _refs(schema)
    while pending:
        name = pending.pop()
        if name in needed or name not in components:
            continue
        needed.add(name)
        pending |= _refs(components[name])
    root = convert(schema)
    if not isinstance(root, dict):
        root = {} if root is True else {"not": {}}
    result: dict[str, Any] = {"$schema": DRAFT_07, **root}
    if needed:
        definitions = dict(result.get("definitions") or {})
        definitions.update({name: convert(components[name]) for name in sorted(needed)})
        result["definitions"] = definitions
    return result
