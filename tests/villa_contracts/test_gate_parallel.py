"""The gate's parts side by side (``villa_contracts.cli._parallel``): the embedded mock's default, on every core.

Each part (a phase of a contract; Schemathesis' fuzzing apart from its other phases) runs in a worker
process on a fresh mock: the run must report what one mock and one process report, catch the planted
faults (the examples part starts as the sequential run does), and never be green when a worker dies.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from suites.gate import GatePlan
from tests.fixtures.faults import FAULTS, broken_app
from villa_contracts.cli._parallel import Part, Settings, _merged, parts_of, run_parallel, sendable
from villa_contracts.events import CheckFinished, Event, PhaseFinished, Skipped
from villa_contracts.failures import Failure
from villa_contracts.reports import RunRecord

ENGINE = ("examples", "coverage", "fuzzing", "stateful")


def _check(operation: str, check: str, *, passed: bool = True, warning: bool = False, calls: int = 1,
           statuses: tuple[int, ...] = (200,), title: str = "") -> CheckFinished:  # fmt: skip
    failures = () if passed else (Failure(operation=operation, check=check, title=title, message=title),)
    return CheckFinished("schemathesis", operation, check, passed, failures, calls=calls, statuses=statuses,
                         seconds=1.0, contract="villa", warning=warning)  # fmt: skip


def test_fuzzing_is_a_part_of_its_own_and_the_other_part_starts_with_the_examples() -> None:
    plan = GatePlan(phases=("lint", "schemathesis", "state-machine"), schemathesis_phases=ENGINE)
    parts = parts_of(plan, ("villa", "shop"))
    assert parts[:2] == [Part("lint", "villa"), Part("lint", "shop")]
    assert parts[2:6] == [
        Part("schemathesis", "villa", ("examples", "coverage", "stateful")),
        Part("schemathesis", "villa", ("fuzzing",)),
        Part("schemathesis", "shop", ("examples", "coverage", "stateful")),
        Part("schemathesis", "shop", ("fuzzing",)),
    ]
    assert parts[6:] == [Part("state-machine", "villa"), Part("state-machine", "shop")]
    alone = parts_of(GatePlan(phases=("schemathesis",), schemathesis_phases=("fuzzing",)), ("villa",))
    assert alone == [Part("schemathesis", "villa", ("fuzzing",))]


def test_a_check_that_ran_in_two_parts_is_one_check_failed_if_either_failed() -> None:
    events: list[Event] = [
        _check("createOrder", "grand_total", calls=3, statuses=(200, 400)),
        _check("createOrder", "grand_total", passed=False, calls=2, statuses=(200, 409), title="total off"),
        _check("getOrder", "not_a_server_error", passed=False, warning=True, title="injected by the mock: 503"),
        _check("getOrder", "not_a_server_error", calls=4),
        _check("health", "documented"),
        _check("health", "documented"),
    ]
    merged = {(e.operation, e.check): e for e in _merged(events) if isinstance(e, CheckFinished)}
    total = merged[("createOrder", "grand_total")]
    assert (total.passed, total.warning, total.calls, total.statuses) == (False, False, 5, (200, 400, 409))
    assert [f.title for f in total.failures] == ["total off"] and total.seconds == 2.0
    injected = merged[("getOrder", "not_a_server_error")]
    assert (injected.passed, injected.warning, injected.calls) == (False, True, 5)
    assert (merged[("health", "documented")].passed, len(merged)) == (True, 3)


def test_a_skip_is_said_once_and_not_for_a_check_another_part_evaluated() -> None:
    none_2xx = "evaluated 0 times: none of createCharge answered 2xx in this run"
    events: list[Event] = [
        Skipped("schemathesis", "declined_never_paid", none_2xx, "villa"),
        _check("verifyPayment", "declined_never_paid", calls=2),
        Skipped("schemathesis", "unique_order_ids", "off: not on this target", "villa"),
        Skipped("schemathesis", "unique_order_ids", "off: not on this target", "villa"),
    ]
    skips = [e for e in _merged(events) if isinstance(e, Skipped)]
    assert [(s.subject, s.reason) for s in skips] == [("unique_order_ids", "off: not on this target")]


def _gate(tmp_path: Path, run_id: str, *args: str) -> tuple[int, dict[str, Any]]:
    from villa_contracts.cli import cli

    env = {k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}
    result = CliRunner().invoke(cli, ["gate", *args, "--report-dir", str(tmp_path), "--run-id", run_id], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads((tmp_path / run_id / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.slow
@pytest.mark.socket
def test_side_by_side_reports_the_checks_one_mock_and_one_process_report(tmp_path: Path) -> None:
    args = ("--contract", "lineitems", "--seed", "3", "--max-examples", "5", "--no-progress")
    one_code, one = _gate(tmp_path, "one", *args, "--jobs", "1")
    two_code, two = _gate(tmp_path, "two", *args, "--jobs", "2")
    assert (one_code, two_code) == (0, 0), (one["reason"], two["reason"])
    assert two["target"].startswith("2 worker processes") and two["embeddedMock"] is True

    def checks(summary: dict[str, Any]) -> dict[str, list[str]]:
        return {op: sorted(data["checks"]) for op, data in summary["operations"]["lineitems"].items()}

    assert checks(two) == checks(one)
    assert [p["name"] for p in two["phases"]] == [p["name"] for p in one["phases"]]
    assert two["counts"]["checks"] == one["counts"]["checks"] and two["failures"] == []


def _run(plan: GatePlan, names: tuple[str, ...], settings: Settings) -> tuple[RunRecord, list[CheckFinished]]:
    record = RunRecord()
    failed: list[CheckFinished] = []
    for event in run_parallel(plan, names, settings, jobs=2):
        record.handle(event)
        if isinstance(event, CheckFinished) and not event.passed and not event.warning:
            failed.append(event)
    return record, failed


# One planted fault per contract in the Schemathesis phase (split: its examples part, its fuzzing part), and
# one that only a state machine that moves the clock catches.
PLANTED = ["total_off_by_one_satang", "shop_double_processing", "li_reference_reused", "expired_money_lost"]


@pytest.mark.slow
@pytest.mark.socket
@pytest.mark.parametrize("name", PLANTED)
def test_side_by_side_catches_planted_faults(name: str) -> None:
    fault = FAULTS[name]
    plan = GatePlan(phases=fault.phases, contracts=(fault.contract,), schemathesis_phases=("examples", "fuzzing"))
    settings = Settings(seed=1, max_examples=max(2, fault.depth), app=functools.partial(broken_app, name))
    _, failed = _run(plan, (fault.contract,), settings)
    named = [
        check
        for check in failed
        if check.operation in fault.expect and (not fault.checks or any(c in check.check for c in fault.checks))
    ]
    assert named, f"{name}: not caught side by side; failures: {[(c.operation, c.check) for c in failed]}"


@pytest.mark.slow
@pytest.mark.socket
def test_side_by_side_on_a_correct_mock_raises_no_alarm() -> None:
    plan = GatePlan(phases=("schemathesis", "state-machine"), contracts=("villa",), schemathesis_phases=("examples",
                    "fuzzing"))  # fmt: skip
    record, failed = _run(plan, ("villa",), Settings(seed=1, max_examples=10))
    assert failed == [] and record.outcome()[0] == 0, record.outcome()


def _dies(base_url: str, seed: int) -> Any:
    os._exit(3)  # a worker killed while it starts a part's mock (out of memory, say)


@pytest.mark.socket
def test_a_worker_that_dies_leaves_the_gate_unable_to_judge_never_green() -> None:
    plan = GatePlan(phases=("state-machine",), contracts=("lineitems",))
    record, _ = _run(plan, ("lineitems",), Settings(seed=1, max_examples=3, app=_dies))
    code, reason = record.outcome()
    assert code == 2, (code, reason)
    assert "state-machine: lineitems: the gate's worker processes ended before this part finished" in reason


def test_jobs_need_the_embedded_mock() -> None:
    from villa_contracts.cli import cli

    result = CliRunner().invoke(cli, ["gate", "--base-url", "http://127.0.0.1:9", "--jobs", "2"])
    assert result.exit_code == 2
    assert "--jobs 2: a --base-url run checks one backend, one part at a time; drop --jobs" in result.output
    # VILLA_GATE_JOBS, set for every run, is no usage error on a backend: that run goes on (here: unreachable).
    result = CliRunner().invoke(cli, ["gate", "--base-url", "http://127.0.0.1:9"], env={"VILLA_GATE_JOBS": "2"})
    assert result.exit_code == 2 and "--jobs" not in result.output, result.output
    assert "gate could not run" in result.output


def test_a_failure_crosses_to_the_parent_process_whole_and_still_masked() -> None:
    import pickle

    failure = Failure(operation="createCharge", check="grand_total", title="card 4111111111111111 charged",
                      message="got 4111 1111 1111 1111", reproduction="curl -d 4111111111111111", seed=7)  # fmt: skip
    copy = pickle.loads(pickle.dumps(failure))
    assert copy.as_json() == failure.as_json() and str(copy) == str(failure)
    assert "4111111111111111" not in json.dumps(copy.as_json()) and "411111xxxxxx1111" in copy.title


def test_a_finding_two_parts_made_is_listed_once_and_a_check_with_failures_is_failed() -> None:
    events: list[Event] = [
        _check("createOrder", "not_a_server_error", passed=False, title="500 on a long comment"),
        _check("createOrder", "not_a_server_error", passed=False, title="500 on a long comment"),
        dataclasses.replace(_check("getOrder", "grand_total", passed=False, title="off by one"), passed=True),
    ]
    merged = {(e.operation, e.check): e for e in _merged(events) if isinstance(e, CheckFinished)}
    assert [f.title for f in merged[("createOrder", "not_a_server_error")].failures] == ["500 on a long comment"]
    odd = merged[("getOrder", "grand_total")]  # passed=True yet with a failure: the reports count it failed
    assert (odd.passed, [f.title for f in odd.failures]) == (False, ["off by one"])


def test_an_event_that_does_not_pickle_ends_its_phase_with_an_error_never_lost() -> None:
    import pickle

    part = Part("schemathesis", "villa", ("fuzzing",))
    broken = _check("createOrder", "grand_total", passed=False, title="off by one")
    broken.failures[0].context = lambda: None  # type: ignore[attr-defined]  # what no pickle can take
    sent = pickle.loads(sendable(broken, part))
    assert isinstance(sent, PhaseFinished) and sent.phase == "schemathesis"
    assert sent.error is not None and sent.error.startswith("villa: an event of this part could not be sent")
    assert pickle.loads(sendable(_check("health", "documented"), part)) == _check("health", "documented")
