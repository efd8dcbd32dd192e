"""``results.sarif``: SARIF 2.1.0 valid against the official schema, read by a real SARIF reader (sarif-tools),
one result per failure at the contract line of its operation; and, on a real failing gate, the same
counts in the console, ``index.html``, ``junit.xml``, ``summary.json`` and ``results.sarif``.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from click.testing import CliRunner
from sarif.loader import load_sarif_file

from tests.fixtures.faults import serve_broken
from villa_contracts.cli import cli
from villa_contracts.contract import load
from villa_contracts.events import CheckFinished, Event, PhaseFinished, PhaseStarted, RunFinished, RunStarted, Skipped
from villa_contracts.failures import Failure
from villa_contracts.reports import LEVELS, SARIF_SCHEMA, ReportWriter, RunRecord, sarif_log
from villa_contracts.reports._locations import ContractLines

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"
ROOT = Path(__file__).resolve().parents[2]


def validate(log: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    assert schema["id"] == SARIF_SCHEMA  # the official OASIS schema (errata 01) the logs name
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(log)


def failure(operation: str, check: str, severity: str = "high", title: str = "broken", **more: Any) -> Failure:
    return Failure(operation=operation, check=check, title=title, message="expected: x\ngot: y",
                   severity=severity, **more)  # type: ignore[arg-type]  # fmt: skip


def events() -> list[Event]:
    return [
        RunStarted("r1", "http://127.0.0.1:1", True, 7, 5, 1748770200.0, ("lint", "schemathesis"), ("villa",)),
        PhaseStarted("lint", ""),
        CheckFinished(
            "lint",
            "(document)",
            "openapi_valid",
            False,
            (failure("(document)", "openapi_valid", "medium"),),
            contract="villa",
        ),  # fmt: skip
        PhaseFinished("lint", 0.1),
        PhaseStarted("schemathesis", ""),
        CheckFinished(
            "schemathesis",
            "getOrder",
            "grand_total",
            False,
            (
                failure("getOrder", "grand_total", "low", reproduction="curl -X POST x", seed=3),
                failure("getOrder", "grand_total", "critical", title="other"),
            ),
            contract="villa",
        ),  # fmt: skip
        CheckFinished("schemathesis", "createOrder", "not_a_server_error", True, contract="villa"),
        CheckFinished(
            "schemathesis",
            "verifyPayment",
            "coverage",
            False,
            (failure("verifyPayment", "coverage"),),
            contract="villa",
            warning=True,
        ),  # fmt: skip
        CheckFinished(
            "schemathesis",
            "POST /nowhere",
            "undocumented",
            False,
            (failure("POST /nowhere", "x"),),
            contract="",
            warning=True,
        ),  # fmt: skip
        Skipped("schemathesis", "villa.createCharge", "skipped by design: a payment operation", "villa"),
        PhaseFinished("schemathesis", 1.0),
        RunFinished(1, 1.5, "2 checks failed (4 failures), 2 warnings"),
    ]


def record_of(stream: list[Event]) -> RunRecord:
    record = RunRecord()
    for event in stream:
        record.handle(event)
    return record


def operation_line(contract: str, operation_id: str) -> int:
    """The line of ``<method>:`` above ``operationId: <id>`` in the contract, found without YAML."""
    lines = (ROOT / "contracts" / contract / "openapi.yaml").read_text("utf-8").splitlines()
    at = lines.index(f"      operationId: {operation_id}")
    return next(n + 1 for n in range(at, -1, -1) if re.fullmatch(r"    (get|put|post|patch|delete):\s*", lines[n]))


def file_of(uri: str) -> Path:
    return Path(unquote(urlsplit(uri).path)) if uri.startswith("file:") else Path.cwd() / uri


def test_a_log_is_valid_sarif_2_1_0_with_one_result_per_failure_and_warning() -> None:
    record = record_of(events())
    log = sarif_log(record, ContractLines(load()))
    validate(log)
    assert log["version"] == "2.1.0" and log["$schema"] == SARIF_SCHEMA
    [run] = log["runs"]
    fails = [r for r in run["results"] if r["kind"] == "fail"]
    reviews = [r for r in run["results"] if r["kind"] == "review"]
    assert len(fails) == record.counts().failures == 3 and len(reviews) == record.counts().warnings == 2
    # Worst first, as every report lists them; the level follows the severity; a warning is level none.
    assert [(r["ruleId"], r["properties"]["severity"], r["level"]) for r in fails] == [
        ("grand_total", "critical", "error"),
        ("openapi_valid", "medium", "warning"),
        ("grand_total", "low", "note"),
    ]
    assert {r["level"] for r in reviews} == {"none"}
    rules = run["tool"]["driver"]["rules"]
    assert all(rules[r["ruleIndex"]]["id"] == r["ruleId"] for r in run["results"])
    assert run["properties"]["counts"] == record.counts().as_json()
    assert run["invocations"][0]["exitCode"] == 1 and run["invocations"][0]["executionSuccessful"] is True
    assert run["automationDetails"]["id"] == "villa-contracts/gate/r1"


def test_levels_follow_severity() -> None:
    assert LEVELS == {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
    stream = [PhaseStarted("p", "")]
    stream += [
        CheckFinished("p", "getOrder", f"c_{severity}", False, (failure("getOrder", f"c_{severity}", severity),),
                      contract="villa")
        for severity in ("low", "medium", "high", "critical")
    ]  # fmt: skip
    results = sarif_log(record_of(stream))["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [
        ("c_critical", "error"),
        ("c_high", "error"),
        ("c_medium", "warning"),
        ("c_low", "note"),
    ]


def test_a_result_points_at_the_contract_line_of_its_operation_and_carries_the_reproduction() -> None:
    results = sarif_log(record_of(events()), ContractLines(load()))["runs"][0]["results"]
    low = next(r for r in results if r["properties"]["severity"] == "low")
    [location] = low["locations"]
    physical = location["physicalLocation"]
    path = file_of(physical["artifactLocation"]["uri"])
    assert path.resolve() == (ROOT / "contracts" / "villa" / "openapi.yaml").resolve()
    assert physical["region"]["startLine"] == operation_line("villa", "getOrder")
    assert location["logicalLocations"][0]["fullyQualifiedName"] == "villa.getOrder"
    text = low["message"]["text"]
    assert text.startswith("getOrder · grand_total: broken") and "expected: x\ngot: y" in text
    assert "Reproduce:\ncurl -X POST x" in text and "seed: 3" in text
    document = next(r for r in results if r["ruleId"] == "openapi_valid")
    assert document["locations"][0]["physicalLocation"]["region"]["startLine"] == 1  # the whole document
    undocumented = next(r for r in results if r["ruleId"] == "x")  # no contract: the run's first one
    assert file_of(undocumented["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]).name == "openapi.yaml"


def test_without_contracts_a_result_still_names_its_operation() -> None:
    log = sarif_log(record_of(events()))
    validate(log)
    first = log["runs"][0]["results"][0]
    assert "physicalLocation" not in first["locations"][0]
    assert first["locations"][0]["logicalLocations"][0]["name"] == "getOrder"


def test_a_run_that_never_started_is_still_a_valid_log() -> None:
    log = sarif_log(RunRecord())
    validate(log)
    assert log["runs"][0]["results"] == [] and "exitCode" not in log["runs"][0]["invocations"][0]


def test_the_writer_writes_results_sarif_and_the_copy_sarif_tools_reads(tmp_path: Path) -> None:
    copy = tmp_path / "ci" / "gate.sarif"
    writer = ReportWriter.from_dir(tmp_path / "run", sarif_copy=copy, contracts=load())
    for event in events():
        writer.handle(event)
    paths = writer.close()
    assert paths["sarif"] == tmp_path / "run" / "results.sarif" and paths["sarif copy"] == copy
    assert paths["sarif"].read_bytes() == copy.read_bytes()
    sarif = load_sarif_file(str(copy))
    records = sarif.get_records()
    assert sarif.get_distinct_tool_names() == ["villa-contracts"]
    assert sorted(r["Severity"] for r in records) == ["error", "none", "none", "note", "warning"]
    assert {r["Code"] for r in records} == {"grand_total", "openapi_valid", "coverage", "x"}


# A real failing gate: every report counts the same.


def _tiles(page: str) -> dict[str, int]:
    return {label: int(count) for count, label in re.findall(r"<b>(\d+)</b><span>([^<]+)</span>", page)}


@pytest.fixture(scope="module")
def failing_gate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path, Path]:
    """A gate against a backend whose getCost answers 500: failures, and a coverage warning (--coverage warn)."""
    reports = tmp_path_factory.mktemp("reports")
    copy = reports / "copy" / "gate.sarif"
    with serve_broken("server_error_on_valid_request") as base_url:
        args = ["gate", "--base-url", base_url, "--contract", "villa", "--phases", "lint,schemathesis"]
        args += ["--max-examples", "5", "--seed", "1", "--coverage", "warn", "--no-progress"]
        args += ["--report-dir", str(reports), "--run-id", "counts", "--sarif", str(copy)]
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 1, result.output
    return result.output, reports / "counts", copy


@pytest.mark.socket
def test_a_failing_gate_counts_the_same_in_every_report(failing_gate: tuple[str, Path, Path]) -> None:
    output, run, copy = failing_gate
    counts = json.loads((run / "summary.json").read_text("utf-8"))["counts"]
    failed, failures, warnings = counts["failed"], counts["failures"], counts["warnings"]
    assert failed >= 2 and failures >= failed and warnings >= 1  # a real mix: several checks, and a warning

    # Console: the totals line, the sections, the verdict.
    assert f"Failures ({failures})" in output.splitlines()
    assert f"Warnings ({warnings}, not failing the run)" in output.splitlines()
    noun = "check" if failed == 1 else "checks"
    plural = "s" if failures != 1 else ""
    assert f": {failed} {noun} failed ({failures} failure{plural}), {warnings} warning" in output.splitlines()[-1]

    # HTML: tiles, headings, one article per finding.
    page = (run / "index.html").read_text("utf-8")
    tiles = _tiles(page)
    assert (tiles["checks failed"], tiles["failures"], tiles["warnings"]) == (failed, failures, warnings)
    assert f'<h2 id="failures">Failures ({failures})</h2>' in page
    assert f'<h2 id="warnings">Warnings ({warnings}, not failing the run)</h2>' in page
    assert page.count('<article id="failure-') == failures and page.count('<article id="warning-') == warnings

    # JUnit: failing test cases are checks; the findings are each suite's properties.
    root = ET.parse(run / "junit.xml").getroot()
    assert int(root.get("failures") or 0) == failed
    found = {"failures": 0, "warnings": 0, "checks_failed": 0}
    for prop in root.iter("property"):
        if prop.get("name") in found:
            found[prop.get("name") or ""] += int(prop.get("value") or 0)
    assert found == {"failures": failures, "warnings": warnings, "checks_failed": failed}

    # SARIF, read by sarif-tools: one result per failure (level from severity) and per warning (level none).
    sarif = load_sarif_file(str(run / "results.sarif"))
    severities = [record["Severity"] for record in sarif.get_records()]
    assert len(severities) - severities.count("none") == failures and severities.count("none") == warnings
    assert (run / "results.sarif").read_bytes() == copy.read_bytes()  # --sarif PATH: the same log


@pytest.mark.socket
def test_a_failing_gates_sarif_is_valid_and_points_at_the_operation(failing_gate: tuple[str, Path, Path]) -> None:
    _, run, _ = failing_gate
    log = json.loads((run / "results.sarif").read_text("utf-8"))
    validate(log)
    results = log["runs"][0]["results"]
    server_error = next(r for r in results if r["ruleId"] == "not_a_server_error")
    assert server_error["level"] == "error" and server_error["properties"]["severity"] == "critical"
    assert results[0] is server_error or results[0]["properties"]["severity"] == "critical"  # worst first
    region = server_error["locations"][0]["physicalLocation"]["region"]
    assert region["startLine"] == operation_line("villa", "getCost")
    text = server_error["message"]["text"]
    assert "got: 500 Internal Server Error to POST /api/calculateCost/getCost" in text  # status, method, path
    assert "curl -X POST" in text and "seed: 1" in text
