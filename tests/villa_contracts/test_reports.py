"""Reports from a synthetic gate event stream: JUnit, summary.json, HTML and console output."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from villa_contracts.events import (
    CheckFinished,
    Event,
    PhaseFinished,
    PhaseStarted,
    Progress,
    RunFinished,
    RunStarted,
    Skipped,
)
from villa_contracts.failures import Failure
from villa_contracts.reports import (
    ConsoleReporter,
    ReportWriter,
    RunRecord,
    html_report,
    junit_xml,
    run_directory_name,
    summary_json,
    summary_lines,
)
from villa_contracts.reports._text import MESSAGE_LIMIT, clean, redact_url, truncate

HOSTILE = '<script>alert("x")</script> ]]> &amp; \x00\x1b[31mred\x07 \ud800 café'
CURL = "curl -X POST 'http://127.0.0.1:8080/orders' -H 'content-type: application/json' -d '{\"items\":[]}'"
HUGE = "x" * (MESSAGE_LIMIT * 25)


def schema_failure(message: str = HOSTILE, seed: int | None = 42) -> Failure:
    return Failure(
        operation="createOrder",
        check="response_schema_conformance",
        title="Response violates the Order schema",
        message=message,
        reproduction=CURL,
        seed=seed,
    )


def run_events(*, failing: bool = True, finished: bool = True) -> list[Event]:
    """Three phases: lint passes, schemathesis has two failed checks, state-machine breaks."""
    events: list[Event] = [
        RunStarted(
            run_id="20250601-093000-ab12",
            target="https://user:secret@staging.example.com/api",
            embedded_mock=False,
            seed=42,
            max_examples=25,
            started_at=1748770200.0,
            phases=("lint", "schemathesis", "state-machine", "pact"),
        ),
        PhaseStarted("lint", "Lint the contract"),
        CheckFinished("lint", "(document)", "openapi_valid", passed=True, seconds=0.01, contract="villa"),
        CheckFinished("lint", "getOrder", "examples_valid", passed=True, seconds=0.02, contract="villa"),
        PhaseFinished("lint", seconds=0.05),
        PhaseStarted("schemathesis", "Generated requests against every operation"),
        Progress("schemathesis", "8 operations selected"),
        CheckFinished(
            "schemathesis", "getOrder", "not_a_server_error", True, calls=25, statuses=(200, 404, 200), contract="villa"
        ),
        CheckFinished(
            "schemathesis", "getOrder", "status_code_conformance", True, calls=25, statuses=(404, 200), contract="villa"
        ),
        CheckFinished(
            "schemathesis", "createOrder", "not_a_server_error", True, calls=25, statuses=(201, 400), contract="villa"
        ),
    ]
    if failing:
        events += [
            CheckFinished(
                "schemathesis",
                "createOrder",
                "response_schema_conformance",
                passed=False,
                failures=(schema_failure(), schema_failure(HUGE, seed=None)),
                calls=25,
                statuses=(201, 422),
                seconds=1.5,
                contract="villa",
            ),
            CheckFinished(
                "schemathesis", "payOrder", "grand_total", passed=False, calls=3, statuses=(200,), contract="villa"
            ),
        ]
    else:
        events.append(
            CheckFinished(
                "schemathesis", "createOrder", "response_schema_conformance", True, calls=25, statuses=(201,),
                contract="villa",
            )
        )  # fmt: skip
    events.append(PhaseFinished("schemathesis", seconds=3.25))
    if failing:
        events += [PhaseStarted("state-machine", "Stateful flows"), PhaseFinished("state-machine", 0.5, error="boom")]
    if finished:
        events.append(RunFinished(exit_code=1 if failing else 0, seconds=4.0, statuses={"listOrders": [200, 401]}))
    return events


def record_of(events: list[Event]) -> RunRecord:
    record = RunRecord()
    for event in events:
        record.handle(event)
    return record


# JUnit


def test_junit_has_one_testcase_per_operation_and_check_with_correct_counts() -> None:
    root = ET.fromstring(junit_xml(record_of(run_events())))
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("time")) == ("8", "2", "1", "4.000")
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    assert list(suites) == ["lint", "schemathesis", "state-machine"]  # "pact" never started
    schemathesis = suites["schemathesis"]
    names = [case.get("name") for case in schemathesis.findall("testcase")]
    assert len(names) == len(set(names)) == 5
    assert "createOrder :: response_schema_conformance" in names
    assert {case.get("classname") for case in schemathesis.findall("testcase")} == {"schemathesis.villa"}
    assert (schemathesis.get("tests"), schemathesis.get("failures"), schemathesis.get("errors")) == ("5", "2", "0")
    assert schemathesis.get("time") == "3.250"
    assert schemathesis.findtext("system-out") == "8 operations selected"
    error = suites["state-machine"].find("testcase/error")
    assert error is not None and error.get("message") == "boom"
    assert suites["state-machine"].get("errors") == "1"


def test_junit_failure_holds_messages_reproduction_and_seed() -> None:
    root = ET.fromstring(junit_xml(record_of(run_events())))
    case = root.find(".//testcase[@name='createOrder :: response_schema_conformance']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "response_schema_conformance"
    assert failure.get("message") == "Response violates the Order schema (and 1 more)"
    text = failure.text or ""
    assert clean(HOSTILE) in text  # markup survives as text; control characters become visible escapes
    assert "\\x1b[31m" in text and "\x1b" not in text and "\\ud800" in text
    assert text.count(CURL) == 2
    assert text.count("seed: 42") == 2  # the second failure has no seed: the run's is shown
    assert "truncated" in text and len(text) < 3 * MESSAGE_LIMIT
    bare = root.find(".//testcase[@name='payOrder :: grand_total']/failure")
    assert bare is not None and bare.get("message") == "check failed without details"


def test_junit_of_a_passing_run_has_no_failures() -> None:
    root = ET.fromstring(junit_xml(record_of(run_events(failing=False))))
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "0", "0")
    assert root.find(".//failure") is None and root.find(".//error") is None


# summary.json


def test_summary_json_content() -> None:
    data = json.loads(summary_json(record_of(run_events())))
    assert data["runId"] == "20250601-093000-ab12"
    assert data["target"] == "https://staging.example.com/api"  # credentials dropped
    assert (data["embeddedMock"], data["seed"], data["maxExamples"]) == (False, 42, 25)
    assert (data["startedAt"], data["seconds"], data["exitCode"], data["reason"]) == (
        "2025-06-01T09:30:00Z",
        4.0,
        1,
        "",
    )
    assert [(p["name"], p["status"], p["checks"], p["failed"], p["error"]) for p in data["phases"]] == [
        ("lint", "passed", 2, 0, None),
        ("schemathesis", "failed", 5, 2, None),
        ("state-machine", "error", 0, 0, "boom"),
        ("pact", "not run", 0, 0, None),
    ]
    villa = data["operations"]["villa"]
    assert villa["getOrder"] == {
        "statuses": {"schemathesis": [200, 404]},
        "succeeded": True,
        "checks": {"examples_valid": "passed", "not_a_server_error": "passed", "status_code_conformance": "passed"},
    }
    assert villa["createOrder"]["statuses"] == {"schemathesis": [201, 400, 422]}
    assert villa["createOrder"]["checks"]["response_schema_conformance"] == "failed"
    assert "(document)" not in villa  # lint's document-wide check is no operation
    counts = {"checks": 7, "passed": 5, "failed": 2, "failures": 3, "warnings": 0, "operations": 3, "skipped": 0}
    assert data["counts"] == counts
    first = data["failures"][0]
    assert first == {**schema_failure().as_json(), "phase": "schemathesis", "contract": "villa"}  # not cleaned
    assert len(data["failures"][1]["message"]) == len(HUGE)  # full text kept here only
    assert [f["check"] for f in data["failures"]] == ["response_schema_conformance"] * 2 + ["grand_total"]


def test_summary_json_is_deterministic_with_sorted_keys() -> None:
    raw = summary_json(record_of(run_events()))
    assert raw == summary_json(record_of(run_events()))
    orders: list[list[str]] = []

    def remember_order(pairs: list[tuple[str, object]]) -> dict[str, object]:
        orders.append([key for key, _ in pairs])
        return dict(pairs)

    json.loads(raw, object_pairs_hook=remember_order)
    assert orders and all(keys == sorted(keys) for keys in orders)
    assert raw.startswith(b'{\n  "counts": {\n    "checks": 7,')


# HTML


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.urls += [value or "" for name, value in attrs if name in {"src", "href", "action", "srcset"}]


def parse_html(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


def test_html_escapes_everything_and_is_self_contained() -> None:
    page = html_report(record_of(run_events()))
    tags = parse_html(page)
    assert "script" not in tags.tags and "link" not in tags.tags and "img" not in tags.tags
    assert all(url.startswith("#") or url in {"summary.json", "junit.xml", "results.sarif"} for url in tags.urls)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; ]]&gt; &amp;amp;" in page
    assert "\x00" not in page and "\x1b" not in page and "\\x1b[31m" in page
    assert html.escape(CURL, quote=True) in page
    assert "truncated; the full text is in summary.json" in page
    assert len(page) < 10 * MESSAGE_LIMIT + 20_000


def test_html_shows_verdict_coverage_failures_and_timings() -> None:
    page = html_report(record_of(run_events()))
    assert '<header class="FAILED">' in page and "exit code 1" in page
    for text in ("https://staging.example.com/api", "20250601-093000-ab12", "2025-06-01T09:30:00Z", "Seed"):
        assert text in page
    assert "secret" not in page
    assert page.count("<article") == 3 and 'id="failure-1"' in page
    assert '<a class="bad" href="#failure-1">response_schema_conformance</a>' in page
    assert '<a class="bad" href="#failure-3">grand_total</a>' in page
    assert page.count('<td class="code">villa</td>') == 3  # three operations of the villa contract
    assert "3.25s" in page and "boom" in page and "not run" in page
    passing = html_report(record_of(run_events(failing=False)))
    assert '<header class="PASSED">' in passing and "<article" not in passing


# Writer


def test_writer_writes_the_four_reports_in_its_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "reports" / "20250601-093000-ab12"
    writer = ReportWriter.from_dir(run_dir)
    assert writer.paths == {
        "junit": run_dir / "junit.xml",
        "summary": run_dir / "summary.json",
        "html": run_dir / "index.html",
        "sarif": run_dir / "results.sarif",
    }
    for event in run_events():
        writer.handle(event)
    paths = writer.close()
    assert paths == writer.paths
    assert sorted(p.name for p in run_dir.iterdir()) == ["index.html", "junit.xml", "results.sarif", "summary.json"]
    ET.parse(paths["junit"])
    assert json.loads(paths["summary"].read_text("utf-8"))["exitCode"] == 1
    assert paths["html"].read_text("utf-8").startswith("<!DOCTYPE html>")


def test_an_interrupted_run_still_gets_reports(tmp_path: Path) -> None:
    events = run_events(finished=False)[:-1]  # the state-machine phase starts and never finishes
    writer = ReportWriter.from_dir(tmp_path)
    for event in events:
        writer.handle(event)
    paths = writer.close()
    summary = json.loads(paths["summary"].read_text("utf-8"))
    assert (summary["verdict"], summary["exitCode"], summary["seconds"]) == ("INCOMPLETE", None, None)
    error = ET.parse(paths["junit"]).find(".//testsuite[@name='state-machine']/testcase/error")
    assert error is not None and error.get("message") == "the phase did not finish"


def test_a_run_that_could_not_start_gets_reports(tmp_path: Path) -> None:
    writer = ReportWriter.from_dir(tmp_path / "r")
    writer.handle(RunFinished(exit_code=2, seconds=0.1, reason="target unreachable"))
    paths = writer.close()
    summary = json.loads(paths["summary"].read_text("utf-8"))
    assert (summary["verdict"], summary["exitCode"], summary["reason"], summary["runId"]) == (
        "ERROR",
        2,
        "target unreachable",
        "",
    )
    assert ET.parse(paths["junit"]).getroot().get("tests") == "0"
    assert "target unreachable" in paths["html"].read_text("utf-8")


@pytest.mark.parametrize(
    ("run_id", "name"), [("abc-1", "abc-1"), ("../../etc", "etc"), ("a/b c", "a-b-c"), ("..", "run"), ("", "run")]
)
def test_run_directory_name_stays_inside(run_id: str, name: str) -> None:
    assert run_directory_name(run_id) == name


# Console


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def console_lines(
    events: list[Event], *, color: bool = False, progress: bool = True, clock: FakeClock | None = None
) -> list[str]:
    lines: list[str] = []
    writer = ReportWriter.from_dir(Path("out"))
    reporter = ConsoleReporter(
        lines.append, color=color, progress=progress, reports=writer, clock=clock or FakeClock(), every=5.0
    )
    for event in events:
        writer.handle(event)
        reporter.handle(event)
    return lines


def test_console_shows_phases_progress_and_summary() -> None:
    lines = console_lines(run_events())
    text = "\n".join(lines)
    assert lines[0] == "villa-contracts gate · run 20250601-093000-ab12"
    assert lines[1] == "target https://staging.example.com/api · seed 42 · max examples 25"
    assert "secret" not in text
    assert "lint  Lint the contract" in lines
    assert "  ✗ villa.createOrder · response_schema_conformance" in lines  # each failure as it is found
    assert "  schemathesis: failed · 5 checks, 3 passed, 2 failed (3 failures) · 3.25s" in lines
    assert "  error: boom" in lines
    assert "7 checks on 3 operations: 5 passed, 2 failed (3 failures)" in lines
    assert "Failures (3)" in lines  # every failure, as the other reports count them; like ones share a line
    head = "  createOrder · response_schema_conformance (×2) [schemathesis · high]: Response violates the Order schema"
    assert head in lines
    assert "  payOrder · grand_total [schemathesis · high]: check failed without details" in lines
    assert f"  junit    {Path('out/junit.xml')}" in lines
    assert f"  sarif    {Path('out/results.sarif')}" in lines
    assert lines[-1] == "FAILED (exit code 1) in 4.00s"
    assert "\x1b" not in text and "\x00" not in text


def counted_lines(steps: list[tuple[str, str, int, int, float]], every: float = 5.0) -> list[str]:
    """Progress lines shown for ``(phase, message, done, total, clock)`` events."""
    clock = FakeClock()
    lines: list[str] = []
    reporter = ConsoleReporter(lines.append, color=False, clock=clock, every=every)
    for phase, message, done, total, now in steps:
        clock.now = now
        reporter.handle(Progress(phase, message, done, total))
    return lines


def left_in(line: str) -> float:
    match = re.search(r"about (?:(\d+)m (\d\d)s|([\d.]+)s) left", line)
    assert match, line
    minutes, seconds, plain = match.groups()
    return float(plain) if plain else int(minutes) * 60 + int(seconds)


def test_console_counts_progress_at_most_every_few_seconds_with_an_estimate() -> None:
    steps = [("schemathesis", "villa: fuzzing", done, 10, now) for done, now in ((1, 101.0), (2, 102.0), (5, 110.0))]
    lines = counted_lines([*steps, ("schemathesis", "villa: fuzzing", 10, 10, 111.0)])
    assert lines == [
        "  villa: fuzzing 1/10",  # the first one, at once (too early for an estimate)
        "  villa: fuzzing 5/10 · about 11.2s left in this step",  # 4 more in the 9 s since the first: 2.25 s each
        "  villa: fuzzing 10/10",  # complete: always shown
    ]


def test_an_estimate_waits_for_a_basis() -> None:
    # Example 1/50 took 55 s (the step's set-up rides on it): no estimate yet, and none from that one alone.
    steps = [("state-machine", "villa: examples", 0, 50, 0.0), ("state-machine", "villa: examples", 1, 50, 55.0)]
    steps += [("state-machine", "villa: examples", 2, 50, 61.0)]
    assert not any("left" in line for line in counted_lines(steps))


def test_an_estimate_is_within_three_times_the_truth() -> None:
    # A step whose first unit carries a long set-up, then a steady pace of 2 s a unit: 50 units.
    times = [0.0, 40.0, *(40.0 + 2 * n for n in range(1, 50))]
    steps = [("schemathesis", "villa: examples", done, 50, now) for done, now in enumerate(times)]
    lines = counted_lines(steps, every=0.0)
    estimates = [(line, times[int(re.search(r" (\d+)/50", line).group(1))]) for line in lines if "left" in line]
    assert estimates, lines
    for line, now in estimates:
        truth = times[-1] - now
        assert truth / 3 <= left_in(line) <= truth * 3, (line, truth)


def test_a_step_of_the_same_name_in_another_phase_is_timed_afresh() -> None:
    # The gate's "villa: examples" in schemathesis took minutes; the state machine's step of the same name 20 s.
    earlier = [("schemathesis", "villa: examples", done, 15, 10.0 * done) for done in range(16)]
    later = [("state-machine", "villa: examples", done, 10, 1000.0 + 2 * done) for done in range(1, 6)]
    lines = counted_lines([*earlier, *later], every=0.0)
    estimate = next(line for line in lines if "left" in line and "/10" in line)
    assert estimate == "  villa: examples 3/10 · about 14.0s left in this step"  # 2 s each, 7 to go; not 72 min


def test_console_shows_skips_and_an_interrupted_run() -> None:
    events: list[Event] = [
        RunStarted("r", "http://x", True, 1, 5, 0.0, ("lint", "pact")),
        PhaseStarted("lint", ""),
        CheckFinished("lint", "getOrder", "documented", True, contract="villa"),
        PhaseFinished("lint", 0.1),
        PhaseStarted("pact", ""),
        Skipped("pact", "every pact", "the target is not a mock"),
        PhaseFinished("pact", 0.0),
    ]
    lines = console_lines(events)
    assert "  skipped: every pact: the target is not a mock" in lines
    assert "  pact: skipped · 0 checks, 0 passed, 0 failed · 0.00s" in lines
    record = record_of(events)
    assert record.phases["pact"].status == "skipped" and record.outcome() == (0, "all 1 check held")
    summary = summary_lines(record)
    assert "Skipped (1, each with why)" in summary and "  every pact [pact]: the target is not a mock" in summary
    cut = [*events[:4], PhaseStarted("pact", ""), PhaseFinished("pact", 0.2, interrupted=True)]
    record = record_of(cut)
    assert record.phases["pact"].status == "interrupted"
    assert record.outcome() == (3, "interrupted: not finished: pact")
    lines = console_lines([*cut, RunFinished(3, 0.3, "interrupted: not finished: pact")])
    assert lines[-1] == "INCOMPLETE (exit code 3) in 0.30s: interrupted: not finished: pact"


def test_a_warning_is_reported_but_does_not_fail_the_run() -> None:
    uncovered = Failure(operation="verify", check="coverage", title="never answered 2xx", message="got: 404")
    events: list[Event] = [
        PhaseStarted("schemathesis", ""),
        CheckFinished("schemathesis", "getOrder", "coverage", True, statuses=(200,), contract="villa"),
        CheckFinished("schemathesis", "verify", "coverage", False, (uncovered,), statuses=(404,), contract="villa",
                      warning=True),
        PhaseFinished("schemathesis", 1.0),
    ]  # fmt: skip
    record = record_of(events)
    assert record.outcome() == (0, "all 2 checks held, 1 warning")
    assert record.failures == [] and [f for _, f in record.warnings] == [uncovered]
    assert record.operations()[("villa", "verify")].checks == {"coverage": "warning"}
    assert not record.operations()[("villa", "verify")].succeeded
    assert "Warnings (1, not failing the run)" in summary_lines(record)


def test_console_without_progress_shows_only_the_summary() -> None:
    lines = console_lines(run_events(), progress=False)
    assert lines == summary_lines(record_of(run_events()), paths=ReportWriter.from_dir(Path("out")).paths)
    assert lines[1] == "Summary of run 20250601-093000-ab12 (seed 42)"


def test_console_colors_only_when_asked() -> None:
    assert any("\x1b[" in line for line in console_lines(run_events(), color=True))
    assert not any("\x1b[" in line for line in console_lines(run_events(), color=False))


def test_summary_lines_lists_at_most_limit_failures() -> None:
    many = [CheckFinished("p", f"op{i}", "c", passed=False) for i in range(30)]
    lines = summary_lines(record_of([PhaseStarted("p", ""), *many]), limit=5)
    assert sum("· c [p · high]: check failed without details" in line for line in lines) == 5
    assert "  … and 25 more failures (see the reports)" in lines
    assert lines[-1] == "INCOMPLETE (no exit code)"


# Text helpers


def test_clean_and_truncate() -> None:
    assert clean("tab\tnew\nline\r ok") == "tab\tnew\nline\r ok"
    assert clean("\x00\x1b\x7f\x85\ud800\ufffe") == "\\x00\\x1b\\x7f\\x85\\ud800\\ufffe"
    assert truncate("short") == "short"
    cut = truncate("y" * 5000, 4000)
    assert cut.startswith("y" * 4000) and "[1000 more characters truncated" in cut


def test_redact_url() -> None:
    assert redact_url("https://u:p@host:8443/x?q=1") == "https://host:8443/x?q=1"
    assert redact_url("http://[::1]:80/") == "http://[::1]:80/"
    assert redact_url("http://user@[::1]/") == "http://[::1]/"


def test_progress_outside_a_phase_adds_no_phase() -> None:
    record = record_of([Progress("", "starting the embedded mock"), *run_events(failing=False)])
    assert list(record.phases) == ["lint", "schemathesis", "state-machine", "pact"]


def test_junit_shows_skips_as_skipped_and_an_interruption_as_an_error() -> None:
    events: list[Event] = [
        RunStarted("r", "http://x", True, 1, 5, 0.0, ("pact", "state-machine")),
        PhaseStarted("pact", ""),
        Skipped("pact", "villa", "no pact names contract 'villa' as its provider", "villa"),
        PhaseFinished("pact", 0.0),
        PhaseStarted("state-machine", ""),
        PhaseFinished("state-machine", 0.4, interrupted=True),
    ]
    root = ET.fromstring(junit_xml(record_of(events)))
    pact = root.find("testsuite[@name='pact']")
    assert pact is not None and (pact.get("tests"), pact.get("skipped"), pact.get("failures")) == ("1", "1", "0")
    skipped = pact.find("testcase/skipped")
    assert skipped is not None and skipped.get("message") == "no pact names contract 'villa' as its provider"
    error = root.find("testsuite[@name='state-machine']/testcase/error")
    assert error is not None and "interrupted" in str(error.get("message"))


def test_a_failure_line_says_expected_and_got_in_the_checks_own_words() -> None:
    from villa_contracts.reports.console import expected_got

    both = Failure(operation="getOrder", check="status_code_conformance", title="t", message="Expected: 200\nGot: 404")
    assert expected_got(both) == "expected 200, got 404"
    # Schemathesis says both in one sentence: quoted as it is, never "expected ?".
    said = "Missing required header accepted\n\nGot 404 when missing required 'Authorization' header, expected 401"
    one = Failure(operation="createCharge", check="missing_required_header", title="t", message=said)
    assert expected_got(one) == "Got 404 when missing required 'Authorization' header, expected 401"


def test_a_failure_quoting_a_card_number_says_it_is_masked_in_the_report() -> None:
    failure = Failure(operation="createCardTokenDev", check="card_masked", title="t",
                      message='"5149500000009007" does not match "^[0-9]{6}x+[0-9]{4}$"')  # fmt: skip
    assert "5149500000009007" not in failure.message and "514950xxxxxx9007" in failure.message
    assert "masked in this report" in failure.message  # else a masked number "does not match" the mask


# One source for every count; failures worst first everywhere.


def mixed_events() -> list[Event]:
    """Two failed checks (one with a critical and a low failure), a bare failed check, two warnings, a skip."""
    low = Failure(operation="createOrder", check="grand_total", title="off by a satang", message="m", severity="low")
    critical = Failure(operation="createOrder", check="grand_total", title="500", message="m", severity="critical")
    medium = Failure(operation="alpha", check="content_type", title="text/plain", message="m", severity="medium")
    warning = Failure(operation="verify", check="coverage", title="never 2xx", message="m", severity="high")
    return [
        RunStarted("mixed", "http://x", True, 1, 5, 0.0, ("schemathesis",), ("villa",)),
        PhaseStarted("schemathesis", ""),
        CheckFinished("schemathesis", "alpha", "content_type", False, (medium,), contract="villa"),
        CheckFinished("schemathesis", "createOrder", "grand_total", False, (low, critical), contract="villa"),
        CheckFinished("schemathesis", "payOrder", "paid_stays_paid", False, contract="villa"),  # no details: high
        CheckFinished("schemathesis", "verify", "coverage", False, (warning, warning), contract="villa", warning=True),
        CheckFinished("schemathesis", "getOrder", "not_a_server_error", True, statuses=(200,), contract="villa"),
        Skipped("schemathesis", "villa.createCharge", "skipped by design: a payment operation on VILLA_ENV=prod",
                "villa"),
        PhaseFinished("schemathesis", 2.0),
        RunFinished(1, 2.5, "3 checks failed (4 failures), 2 warnings"),
    ]  # fmt: skip


def test_every_report_reads_its_counts_from_the_record() -> None:
    from villa_contracts.reports import sarif_log

    record = record_of(mixed_events())
    counts = record.counts()
    assert (counts.checks, counts.passed, counts.failed, counts.failures, counts.warnings, counts.skipped) == (
        5, 2, 3, 4, 2, 1,
    )  # fmt: skip
    assert record.outcome() == (1, "3 checks failed (4 failures), 2 warnings")
    assert json.loads(summary_json(record))["counts"] == counts.as_json()
    lines = summary_lines(record)
    total = "5 checks on 5 operations: 2 passed, 3 failed (4 failures), 2 warnings; 1 skipped"
    assert f"{total}; 4 operations never answered 2xx" in lines
    assert "Failures (4)" in lines and "Warnings (2, not failing the run)" in lines
    assert "  schemathesis  failed       5 checks, 3 failed (4 failures), 2 warnings, 1 skipped    2.00s" in lines
    page = html_report(record)
    tiles = dict(re.findall(r"<b>(\d+)</b><span>([^<]+)</span>", page)[i][::-1] for i in range(7))
    assert tiles == {"checks": "5", "passed": "2", "checks failed": "3", "failures": "4", "warnings": "2",
                     "operations": "5", "skipped": "1"}  # fmt: skip
    assert '<h2 id="failures">Failures (4)</h2>' in page and page.count('<article id="failure-') == 4
    assert '<h2 id="warnings">Warnings (2, not failing the run)</h2>' in page
    assert page.count('<article id="warning-') == 2
    root = ET.fromstring(junit_xml(record))
    assert root.get("failures") == "3"
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert (properties["checks_failed"], properties["failures"], properties["warnings"]) == ("3", "4", "2")
    results = sarif_log(record)["runs"][0]["results"]
    assert [r["kind"] for r in results] == ["fail"] * 4 + ["review"] * 2


def test_failures_are_listed_worst_first_then_by_operation_everywhere() -> None:
    from villa_contracts.reports import sarif_log

    record = record_of(mixed_events())
    expected = [("critical", "createOrder"), ("high", "payOrder"), ("medium", "alpha"), ("low", "createOrder")]
    assert [(f.severity, f.operation) for _, f in record.failures] == expected
    assert [(f["severity"], f["operation"]) for f in json.loads(summary_json(record))["failures"]] == expected
    heads = [line for line in summary_lines(record) if re.match(r"  \w+ · \w+.* \[schemathesis · ", line)]
    assert [re.search(r"· (\w+)\]", h).group(1) for h in heads if "coverage" not in h] == [  # type: ignore[union-attr]
        "critical", "high", "medium", "low",
    ]  # fmt: skip
    page = html_report(record)
    order = re.findall(r'<article id="failure-\d+" class="failure"><h3>\d+\. <span class="pill (\w+)">', page)
    assert order == ["critical", "high", "medium", "low"]
    sarif = sarif_log(record)["runs"][0]["results"][:4]
    assert [(r["properties"]["severity"], r["properties"]["operation"]) for r in sarif] == expected
    cases = ET.fromstring(junit_xml(record)).findall(".//testcase")
    failing = [case.get("name") for case in cases if case.find("failure") is not None]
    assert failing == ["createOrder :: grand_total", "payOrder :: paid_stays_paid", "alpha :: content_type"]
    text = ET.fromstring(junit_xml(record)).find(".//testcase[@name='createOrder :: grand_total']/failure")
    assert text is not None and (text.text or "").index("critical") < (text.text or "").index("low")


def test_an_operation_skipped_by_design_says_why_and_is_no_bare_cross() -> None:
    events: list[Event] = [
        PhaseStarted("lint", ""),
        CheckFinished("lint", "createCharge", "documented", True, contract="villa"),
        CheckFinished("lint", "getOrder", "documented", True, contract="villa"),
        PhaseFinished("lint", 0.1),
        PhaseStarted("schemathesis", ""),
        Skipped("schemathesis", "villa.createCharge", "skipped by design: a payment operation on VILLA_ENV=prod",
                "villa"),
        Skipped("schemathesis", "catalog_prices", "off: the target is not the mock", "villa"),
        PhaseFinished("schemathesis", 0.1),
    ]  # fmt: skip
    record = record_of(events)
    page = html_report(record)
    assert "skipped: schemathesis: skipped by design: a payment operation on VILLA_ENV=prod" in page
    assert page.count('title="never 2xx">✗') == 1  # getOrder: never called, and nothing says why
    operations = json.loads(summary_json(record))["operations"]["villa"]
    assert operations["createCharge"]["skipped"] == [
        "schemathesis: skipped by design: a payment operation on VILLA_ENV=prod"
    ]
    assert "skipped" not in operations["getOrder"]
    summary = summary_lines(record)
    assert "  catalog_prices [schemathesis]: off: the target is not the mock" in summary
    assert "2 checks on 2 operations: 2 passed, 0 failed; 2 skipped; 1 operation never answered 2xx" in summary


def test_a_paid_order_that_changed_names_only_what_changed() -> None:
    from suites.property.checks import paid_stays_paid

    payment = {"paymentId": "1", "grandTotal": 174.0, "status": "PAID", "isPaid": True, "paymentLog": ["chrg_1"]}
    paid = {"orderId": "1", "ownerId": "u", "productList": [{"cprcode": 25281, "quantity": 1}], "payment": payment}
    check = paid_stays_paid()
    check.judge("getOrder", paid, None)  # type: ignore[arg-type]
    reverted = {**paid, "payment": {**payment, "status": "PENDING", "isPaid": False}}
    with pytest.raises(AssertionError) as raised:
        check.judge("getOrder", reverted, None)  # type: ignore[arg-type]
    message = str(raised.value)
    assert message == (
        "expected: order 1, once paid, answered paid and unchanged\n"
        "got: payment.status was 'PAID', now 'PENDING'; payment.isPaid was True, now False"
    )
    relisted = {**paid, "productList": [{"cprcode": 25281, "quantity": 2}]}
    with pytest.raises(AssertionError, match=r"got: productList\[0\]\.quantity was 1, now 2$"):
        check.judge("getOrder", relisted, None)  # type: ignore[arg-type]


def test_a_server_error_names_its_status_method_and_path() -> None:
    from types import SimpleNamespace

    from schemathesis.core.failures import ServerError
    from schemathesis.openapi.checks import RejectedPositiveData, UndefinedStatusCode

    from suites.property.runner import _described
    from villa_contracts.reports.console import expected_got

    request = SimpleNamespace(method="POST", uri="http://127.0.0.1:9/api/calculateCost/getCost?x=1")
    answered = SimpleNamespace(request=request, response=SimpleNamespace(status_code=500, content=b'{"error": "boom"}'))
    title, message = _described(ServerError(operation="POST /api/calculateCost/getCost", status_code=500), answered)
    assert title == "Server error: 500 Internal Server Error"
    assert message.splitlines() == [
        "expected: an answer that is not a server error (5xx)",
        "got: 500 Internal Server Error to POST /api/calculateCost/getCost",
        'body: {"error": "boom"}',
    ]
    failure = Failure(operation="getCost", check="not_a_server_error", title=title, message=message)
    assert expected_got(failure) == (
        "expected an answer that is not a server error (5xx), got 500 Internal Server Error to POST "
        "/api/calculateCost/getCost"
    )
    said = "Received: 500\nDocumented: 200"
    undocumented = UndefinedStatusCode(operation="op", status_code=500, defined_status_codes=["200"],
                                       allowed_status_codes=[200], message=said)  # fmt: skip
    assert _described(undocumented, answered)[1] == said  # it says what came already
    refused = RejectedPositiveData(operation="op", status_code=500, allowed_statuses=["2xx"],
                                   message="Valid data should have been accepted\nExpected: 2xx")  # fmt: skip
    assert _described(refused, answered)[1].splitlines()[-1] == (
        "got: 500 Internal Server Error to POST /api/calculateCost/getCost"
    )


def test_catalog_prices_is_off_not_passed_where_the_catalog_is_not_the_contracts() -> None:
    from suites.context import RunContext
    from suites.property.checks import catalog_prices
    from villa_contracts.target import Account, Target

    accounts = (Account("a", "sub-a", "token"), Account("b", "sub-b", "token"))
    real = RunContext(Target("http://backend.example", accounts, is_mock=False, env="prod", allow_payments=False))
    mock = RunContext(Target("http://127.0.0.1:1", accounts))
    try:
        reason = catalog_prices.off(real)
        assert reason is not None and reason.startswith("off: ")
        assert catalog_prices.off(mock) is None
        assert catalog_prices(real).after_response(None, None, None) is True  # type: ignore[arg-type]  # not run
        charge = real.contracts["villa"].operations["createCharge"]
        assert (
            real.why_not(charge)
            == "skipped by design: a payment operation on VILLA_ENV=prod (--allow-prod-payments calls it)"
        )
        assert mock.why_not(charge) is None and mock.may_call(charge)
    finally:
        real.close()
        mock.close()


def test_the_proxy_ledger_counts_kept_findings_and_notes_the_rest() -> None:
    from suites.proxy.exchange import Exchange
    from suites.proxy.findings import Finding, Verdict
    from suites.proxy.ledger import MAX_FAILURES, Ledger

    ledger = Ledger(run_id="r", target="http://x", contracts=("villa",), operations=(), started_at=0.0)
    exchange = Exchange("POST", "/api/order/get", status=200)

    def judged(*found: Finding) -> Verdict:
        return Verdict(exchange, "villa", "getOrder", "POST /api/order/get", judged=(("grand_total", found),))

    ledger.add(judged(Finding("grand_total", "request", "/q", "expected: a\ngot: b", warning=True)))
    for n in range(MAX_FAILURES + 3):
        for _ in range(2):  # each seen twice: one finding
            ledger.add(judged(Finding("grand_total", "response", f"/n/{n}", "expected: 1\ngot: 2")))
    record = record_of(ledger.run_events(seconds=1.0))
    counts = record.counts()
    # One check: failed with its failures, warned with its warning; 25 kept in all, the 4 others a note.
    assert (counts.checks, counts.failed, counts.failures, counts.warnings) == (2, 1, MAX_FAILURES - 1, 1)
    assert not any("more findings" in f.title for _, f in record.failures)
    assert any("4 more distinct finding(s), not kept" in note for note in record.phases["traffic"].notes)


def test_warnings_of_one_check_share_a_line_in_the_console() -> None:
    refused = [
        Failure(operation="getCost", check="request_schema_conformance", title=f"request /x/{n}: refused", message="m",
                severity="medium")
        for n in range(40)
    ]  # fmt: skip
    events: list[Event] = [
        PhaseStarted("traffic", ""),
        CheckFinished("traffic", "getCost", "request_schema_conformance", False, tuple(refused), contract="villa",
                      warning=True),
        PhaseFinished("traffic", 1.0),
    ]  # fmt: skip
    lines = summary_lines(record_of(events))
    assert "Warnings (40, not failing the run)" in lines
    assert [line for line in lines if "request_schema_conformance" in line] == [
        "  getCost · request_schema_conformance (×40) [traffic · medium]: request /x/0: refused"
    ]


def test_a_selected_contract_that_nothing_tested_makes_the_gate_unable_to_judge() -> None:
    def run(phases: tuple[str, ...], command: str = "gate") -> tuple[int, str]:
        events: list[Event] = [
            RunStarted("r", "http://x", False, 1, 5, 0.0, phases, contracts=("shop", "villa"), command=command),
            PhaseStarted("lint", "lint"),
            CheckFinished("lint", "(document)", "openapi_valid", True, contract="shop"),
            CheckFinished("lint", "(document)", "openapi_valid", True, contract="villa"),
            PhaseFinished("lint", 0.1),
        ]
        if "schemathesis" in phases:
            events += [
                PhaseStarted("schemathesis", "s"),
                CheckFinished("schemathesis", "getOrder", "not_a_server_error", True, calls=3, contract="villa"),
                Skipped("schemathesis", "shop", "no operation of shop may be called on this target", "shop"),
                PhaseFinished("schemathesis", 0.1),
            ]
        return record_of(events).outcome()

    code, reason = run(("lint", "schemathesis"))
    assert code == 2 and reason.startswith("nothing was tested on shop:")
    assert run(("lint",))[0] == 0  # lint alone was asked for: the documents are what it judges
    assert run(("lint", "schemathesis"), command="proxy")[0] == 0  # a proxy judges what its clients send
