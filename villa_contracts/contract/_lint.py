"""Contract lint: each OpenAPI document is valid and every operation is usable by the suites.

Checks, per operation: ``documented`` (operationId and summary), ``examples`` (a request example
when there is a body, and an example for a success response), ``examples_valid`` (every example
validates against its own schema), ``error_responses`` (400/413/415 for bodies, 400 for parameters, 401 when secured,
all in one of the contract's error schemas: ``x-villa.errorSchemas``, default ``[Error]``) and
``links_resolve``; for the whole document, ``openapi_valid`` (reported on the operation
``DOCUMENT``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from villa_contracts.contract._bundle import resolve
from villa_contracts.contract._loader import Contract
from villa_contracts.contract._validate import ContractValidator

DOCUMENT = "(document)"
"""The operation name of document-wide lint checks."""


@dataclass(frozen=True, slots=True)
class LintResult:
    """One lint check on one operation of a contract (``DOCUMENT`` for document-wide checks)."""

    contract: str
    operation: str
    check: str
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        """Whether nothing was wrong."""
        return not self.problems


def _examples(doc: dict[str, Any], media: dict[str, Any]) -> list[tuple[str, Any]]:
    found = [("example", media["example"])] if "example" in media else []
    for name, example in (media.get("examples") or {}).items():
        found.append((name, resolve(doc, example).get("value")))
    return found


def _error_refs(contract: Contract) -> set[str]:
    extension = contract.openapi.get("x-villa") or {}
    names = extension.get("errorSchemas", ["Error"]) if isinstance(extension, dict) else ["Error"]
    return {f"#/components/schemas/{name}" for name in names}


def _lint_operation(contract: Contract, validator: ContractValidator, op_id: str) -> list[LintResult]:
    op = contract.operations[op_id]
    error_refs = _error_refs(contract)
    doc, spec = contract.openapi, op.spec
    documented = [] if spec.get("summary") else ["no summary"]
    examples: list[str] = []
    invalid: list[str] = []
    errors: list[str] = []
    ov = validator.operation(op_id)
    body = resolve(doc, spec.get("requestBody") or {})
    json_body = (body.get("content") or {}).get("application/json")
    if json_body is not None:
        request_examples = _examples(doc, json_body)
        if not request_examples:
            examples.append("the JSON request body has no example")
        for name, value in request_examples:
            invalid += [f"request example {name}: {v.pointer or '/'}: {v.message}" for v in ov.request(value)]
        errors += [f"no {s} response" for s in ("400", "413", "415") if s not in op.responses]
    if spec.get("parameters") and "400" not in op.responses:
        errors.append("has parameters but no 400 response (a parameter that breaks its schema is answered 400)")
    if op.secured and "401" not in op.responses:
        errors.append("secured but no 401 response")
    success_examples = 0
    for status, response in op.responses.items():
        response = resolve(doc, response)
        for media_type, media in (response.get("content") or {}).items():
            found = _examples(doc, media)
            if str(status).startswith("2"):
                success_examples += len(found)
            if media_type == "application/json":
                for name, value in found:
                    invalid += [
                        f"{status} example {name}: {v.pointer or '/'}: {v.message}"
                        for v in ov.response(int(status), value)
                    ]
            if not str(status).startswith("2") and media.get("schema", {}).get("$ref") not in error_refs:
                errors.append(f"{status} does not use an error schema ({', '.join(sorted(error_refs))})")
    if not success_examples:
        examples.append("no example for a success response")
    links: list[str] = []
    for status, response in op.responses.items():
        for name, link in (resolve(doc, response).get("links") or {}).items():
            if link.get("operationId") not in contract.operations:
                links.append(f"{status} link {name} points to unknown operationId {link.get('operationId')!r}")
    name = contract.name
    return [
        LintResult(name, op_id, "documented", tuple(documented)),
        LintResult(name, op_id, "examples", tuple(examples)),
        LintResult(name, op_id, "examples_valid", tuple(invalid)),
        LintResult(name, op_id, "error_responses", tuple(errors)),
        LintResult(name, op_id, "links_resolve", tuple(links)),
    ]


def lint(contract: Contract) -> list[LintResult]:
    """Lint one contract; every result names its contract, operation and check."""
    import schemathesis

    problems: list[str] = []
    if not str(contract.openapi.get("openapi", "")).startswith("3.1"):
        problems.append(f"openapi={contract.openapi.get('openapi')!r}: the contracts are OpenAPI 3.1")
    try:
        # A deep copy: schemathesis writes into the document it loads, and the contract is shared.
        schemathesis.openapi.from_dict(copy.deepcopy(contract.openapi)).validate()
    except Exception as exc:  # any loader or meta-schema error is a lint problem, reported as such
        problems.append(f"not a valid OpenAPI document: {exc}")
    validator = ContractValidator(contract)
    if not contract.operations:
        problems.append("the document declares no operation")
    results = [LintResult(contract.name, DOCUMENT, "openapi_valid", tuple(problems))]
    for op_id in sorted(contract.operations):
        results += _lint_operation(contract, validator, op_id)
    return results
