"""``junit.xml``: one ``<testsuite>`` per phase, one ``<testcase>`` per operation and check.

The layout is the one GitHub and GitLab test reports, Jenkins and most JUnit viewers read::

    <testsuites name="villa-contracts" tests failures errors time>
      <testsuite name="<phase>" tests failures errors skipped time timestamp>
        <properties>run id, target, seed…; the phase's counts: checks_failed, failures, warnings</properties>
        <testcase classname="<phase>.<contract>" name="<operation> :: <check>" time>
          <failure message="<title>" type="<check>">message, curl reproduction, seed</failure>
        </testcase>
        <testcase classname="<phase>.<contract>" name="<subject> :: skipped"><skipped message="<why>"/></testcase>
        <testcase classname="<phase>" name="<phase> :: phase error"><error …/></testcase>
        <system-out>the phase's progress messages</system-out>
      </testsuite>
    </testsuites>

JUnit's ``failures`` counts test cases, so it is the number of checks failed; the properties
``failures`` and ``warnings`` are the findings the other reports count (``RunRecord.counts``).
Failed test cases come first, worst first (severity, then operation), and so do the failures
inside one. ElementTree escapes markup; :func:`~villa_contracts.reports._text.clean` removes what XML cannot
hold even escaped, so any response body quoted in a failure still yields a parseable file.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING

from villa_contracts.reports._counts import by_severity, failed, failures_of, severity_rank, warned
from villa_contracts.reports._text import MESSAGE_LIMIT, clean, iso_time, truncate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from villa_contracts.events import CheckFinished
    from villa_contracts.failures import Failure
    from villa_contracts.reports.record import PhaseRecord, RunRecord

_ATTRIBUTE_LIMIT = 300
_OUTPUT_LIMIT = 20 * MESSAGE_LIMIT


def _attribute(text: str) -> str:
    # Attributes show as one-line headings in CI UIs: first line only, kept short.
    lines = clean(text).strip().splitlines() or [""]
    line = lines[0] + (" …" if len(lines) > 1 else "")
    return line if len(line) <= _ATTRIBUTE_LIMIT else f"{line[: _ATTRIBUTE_LIMIT - 2]} …"


def _seconds(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}"


def failure_text(failures: Sequence[Failure], run_seed: int | None) -> str:
    """The body of a ``<failure>`` element: each failure's message, reproduction and seed.

    Args:
        failures: the failures of one check.
        run_seed: the run's seed, shown for failures that carry none of their own.

    Returns:
        Plain text, cleaned and with long messages and reproductions truncated.
    """
    blocks = []
    failures = by_severity(failures)
    for number, failure in enumerate(failures, start=1):
        lines = [f"[{number}/{len(failures)}] {failure.title} (severity: {failure.severity})", ""]
        lines.append(truncate(failure.message) if failure.message else "(no message)")
        if failure.reproduction:
            lines += ["", "Reproduce:", truncate(failure.reproduction)]
        seed = failure.seed if failure.seed is not None else run_seed
        if seed is not None:
            lines += ["", f"seed: {seed}"]
        blocks.append("\n".join(lines))
    return clean(("\n\n" + "-" * 60 + "\n\n").join(blocks))


def _failed_first(check: CheckFinished) -> tuple[int, int, str]:
    """Failed checks first, worst first (severity, then operation); the others keep the run's order."""
    if not failed(check):
        return (1, 0, "")
    return (0, min(severity_rank(failure.severity) for failure in failures_of(check)), check.operation)


def _classname(phase: str, contract: str) -> str:
    """``<phase>.<contract>``: operationIds are unique only within a contract (``getOrder`` of two APIs)."""
    return clean(f"{phase}.{contract}" if contract else phase)


def _testcase(suite: ET.Element, check: CheckFinished, run_seed: int | None) -> None:
    case = ET.SubElement(
        suite,
        "testcase",
        classname=_classname(check.phase, check.contract),
        name=clean(f"{check.operation} :: {check.check}"),
        time=_seconds(check.seconds),
    )
    if warned(check):
        ET.SubElement(case, "system-out").text = "warning (not failing the run): " + failure_text(
            failures_of(check), run_seed
        )
        return
    if not failed(check):
        return
    failures = by_severity(failures_of(check))
    title = failures[0].title + (f" (and {len(failures) - 1} more)" if len(failures) > 1 else "")
    element = ET.SubElement(case, "failure", message=_attribute(title), type=_attribute(check.check))
    element.text = failure_text(failures, run_seed)


def _error_case(suite: ET.Element, phase: PhaseRecord) -> bool:
    # A phase that broke (or never finished) is an error, not a failure: the tool could not judge.
    if phase.error is None and phase.finished:
        return False
    if phase.error is not None:
        error = phase.error
    elif phase.interrupted:
        error = "the phase was interrupted (Ctrl-C or SIGTERM): the run is INCOMPLETE"
    else:
        error = "the phase did not finish"
    case = ET.SubElement(suite, "testcase", classname=clean(phase.name), name=clean(f"{phase.name} :: phase error"))
    case.set("time", "0.000")
    element = ET.SubElement(case, "error", message=_attribute(error or "error"), type="PhaseError")
    element.text = clean(truncate(error))
    return True


def _properties(suite: ET.Element, phase: PhaseRecord, record: RunRecord) -> None:
    properties = ET.SubElement(suite, "properties")
    values: dict[str, str] = {}
    if record.start is not None:
        values = {
            "run_id": record.run_id,
            "target": record.target,
            "embedded_mock": str(record.start.embedded_mock).lower(),
            "seed": str(record.start.seed),
            "max_examples": str(record.start.max_examples),
        }
    counts = phase.counts
    values |= {"checks_failed": str(counts.failed), "failures": str(counts.failures), "warnings": str(counts.warnings)}
    for name, value in values.items():
        ET.SubElement(properties, "property", name=name, value=clean(value))


def _suite(root: ET.Element, phase: PhaseRecord, record: RunRecord) -> tuple[int, int, int]:
    suite = ET.SubElement(root, "testsuite", name=clean(phase.name))
    _properties(suite, phase, record)
    for check in sorted(phase.checks, key=_failed_first):
        _testcase(suite, check, record.seed)
    for skip in phase.skips:
        classname = _classname(phase.name, skip.contract)
        case = ET.SubElement(suite, "testcase", classname=classname, name=clean(f"{skip.subject} :: skipped"))
        case.set("time", "0.000")
        ET.SubElement(case, "skipped", message=_attribute(skip.reason))
    errors = int(_error_case(suite, phase))
    if phase.notes:
        ET.SubElement(suite, "system-out").text = clean(truncate("\n".join(phase.notes), _OUTPUT_LIMIT))
    tests, failures = len(phase.checks) + len(phase.skips) + errors, phase.failed
    suite.set("tests", str(tests))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(len(phase.skips)))
    suite.set("time", _seconds(phase.seconds))
    if record.start is not None:
        # JUnit's schema wants a timestamp without a zone; it is UTC.
        suite.set("timestamp", iso_time(record.start.started_at).removesuffix("Z"))
    return tests, failures, errors


def junit_xml(record: RunRecord) -> bytes:
    """Render the run as a JUnit XML document.

    Phases that never started are left out: they have no test cases.

    Args:
        record: the run.

    Returns:
        The document, UTF-8 encoded, with an XML declaration.

    Example:
        >>> from villa_contracts.reports import RunRecord
        >>> junit_xml(RunRecord()).startswith(b"<?xml")
        True
    """
    root = ET.Element("testsuites", name="villa-contracts")
    totals = [0, 0, 0]
    for phase in record.phases.values():
        if phase.started:
            for index, count in enumerate(_suite(root, phase, record)):
                totals[index] += count
    seconds = record.finish.seconds if record.finish else sum(phase.seconds for phase in record.phases.values())
    for name, count in zip(("tests", "failures", "errors"), totals, strict=True):
        root.set(name, str(count))
    root.set("time", _seconds(seconds))
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
