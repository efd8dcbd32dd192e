"""``results.sarif``: the run's failures as SARIF 2.1.0, for code scanning (GitHub, GitLab, IDEs).

One result per failure the other reports list (:meth:`RunRecord.located`, worst first):

- ``ruleId``: the check; the rule lists the phases it ran in.
- ``kind`` ``fail`` and ``level`` from the failure's severity (``LEVELS``: critical and high are
  errors, medium a warning, low a note). A warning of the run (a finding that does not fail it)
  is a result too, of ``kind`` ``review`` and level ``none``: the counts match the other reports.
- the location: the contract file and the line of the operation at stake (or of a schema the
  failure names; the document's first line for document-wide checks), found by
  :class:`~villa_contracts.reports._locations.ContractLines`; the operation is also its logical
  location (``villa.getOrder``).
- the message: what failed, what was expected and what came back, and the reproduction (curl
  lines, the seed). Text is cleaned and long texts truncated as in the other reports.

The run's counts (:class:`~villa_contracts.reports.record.Counts`) are the run's ``properties``.
"""

from __future__ import annotations

import hashlib
import json
import re
from importlib import metadata
from typing import TYPE_CHECKING, Any

from villa_contracts.reports._text import clean, iso_time, truncate

if TYPE_CHECKING:
    from villa_contracts.failures import Failure
    from villa_contracts.reports._locations import ContractLines
    from villa_contracts.reports.record import RunRecord

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
"""The official SARIF 2.1.0 schema (OASIS, errata 01); ``tests/fixtures/sarif-schema-2.1.0.json`` is a copy."""
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
"""SARIF level of each severity."""


def _version() -> str:
    try:
        return metadata.version("villa-contracts")
    except metadata.PackageNotFoundError:
        return "0"


def _message(failure: Failure, run_seed: int | None) -> str:
    parts = [f"{failure.operation} · {failure.check}: {failure.title}", truncate(failure.message or "(no message)")]
    if failure.reproduction:
        parts.append("Reproduce:\n" + truncate(failure.reproduction))
    seed = failure.seed if failure.seed is not None else run_seed
    if seed is not None:
        parts.append(f"seed: {seed}")
    return clean("\n\n".join(parts))


def _fingerprint(contract: str, failure: Failure) -> str:
    # Stable across runs (no seed, no ids from the message): code scanning tracks an alert by it.
    key = "\x1f".join((contract, failure.operation, failure.check, failure.title))
    return hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()[:32]


def _location(contract: str, failure: Failure, lines: ContractLines | None, fallback: str) -> list[dict[str, Any]]:
    where = contract or fallback
    place = lines.place(where, failure.operation, f"{failure.title}\n{failure.message}") if lines and where else None
    location: dict[str, Any] = {}
    if place is not None:
        location["physicalLocation"] = {"artifactLocation": {"uri": place.uri}, "region": {"startLine": place.line}}
    name = clean(failure.operation)
    location["logicalLocations"] = [
        {"name": name, "fullyQualifiedName": f"{contract}.{name}" if contract else name, "kind": "resource"}
    ]
    return [location]


def _invocation(record: RunRecord) -> dict[str, Any]:
    code = record.exit_code
    invocation: dict[str, Any] = {"executionSuccessful": code in (0, 1)}  # 1: it ran, and found failures
    if code is not None:
        invocation["exitCode"] = code
    invocation["exitCodeDescription"] = record.verdict
    if record.finish is not None and record.finish.reason:
        invocation["properties"] = {"reason": clean(record.finish.reason)}
    if record.start is not None:
        invocation["startTimeUtc"] = iso_time(record.start.started_at)
        if record.finish is not None:
            invocation["endTimeUtc"] = iso_time(record.start.started_at + record.finish.seconds)
    return invocation


def sarif_log(record: RunRecord, lines: ContractLines | None = None) -> dict[str, Any]:
    """Render the run as a SARIF 2.1.0 log (one run, one result per failure and per warning).

    Args:
        record: the run.
        lines: where each contract's operations are written (None: results name no file).

    Returns:
        The log, ready for ``json.dumps``.

    Example:
        >>> from villa_contracts.reports import RunRecord
        >>> sarif_log(RunRecord())["runs"][0]["results"]
        []
    """
    run_contracts = record.start.contracts if record.start else ()
    fallback = run_contracts[0] if run_contracts else ""  # undocumented traffic: the first checked contract
    rules: dict[str, dict[str, Any]] = {}
    results = []
    findings = [(phase, contract, f, False) for phase, contract, f in record.located()]
    findings += [(phase, contract, f, True) for phase, contract, f in record.located(warnings=True)]
    for phase, contract, failure, warning in findings:
        check = clean(failure.check)
        rule = rules.setdefault(check, {"id": check, "index": len(rules), "phases": []})
        if phase not in rule["phases"]:
            rule["phases"].append(phase)
        results.append(
            {
                "ruleId": check,
                "ruleIndex": rule["index"],
                "kind": "review" if warning else "fail",
                "level": "none" if warning else LEVELS.get(failure.severity, "error"),
                "message": {"text": _message(failure, record.seed)},
                "locations": _location(contract, failure, lines, fallback),
                "partialFingerprints": {"villaContractsFinding/v1": _fingerprint(contract, failure)},
                "properties": {
                    "severity": failure.severity,
                    "phase": phase,
                    "contract": contract,
                    "operation": clean(failure.operation),
                    "warning": warning,
                    "seed": failure.seed if failure.seed is not None else record.seed,
                },
            }
        )
    command = record.start.command if record.start else "gate"
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "villa-contracts",
                "semanticVersion": _version(),
                "rules": [
                    {
                        "id": rule["id"],
                        "shortDescription": {"text": f"villa-contracts check {rule['id']}"},
                        "properties": {"phases": rule["phases"]},
                    }
                    for rule in rules.values()
                ],
            }
        },
        "automationDetails": {"id": f"villa-contracts/{command}/{re.sub(r'[^A-Za-z0-9._-]+', '-', record.run_id)}"},
        "invocations": [_invocation(record)],
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"counts": record.counts().as_json(), "verdict": record.verdict, "target": record.target},
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def sarif_json(record: RunRecord, lines: ContractLines | None = None) -> bytes:
    """Render the run as ``results.sarif``: :func:`sarif_log`, indented by 2, UTF-8.

    Args:
        record: the run.
        lines: where each contract's operations are written.

    Returns:
        The document, ending in a newline.
    """
    text = json.dumps(sarif_log(record, lines), indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8", errors="backslashreplace")
