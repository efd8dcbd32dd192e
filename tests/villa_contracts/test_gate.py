"""The gate: exit codes a CI can trust, reports, reproducibility, prod safety."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from villa_contracts.cli import cli
from villa_contracts.contract import load

pytestmark = [pytest.mark.socket, pytest.mark.slow]


def gate(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(
        cli, ["gate", "--no-progress", *args], env={"COLUMNS": "80", "NO_COLOR": "1", **(env or {})}
    )
    return result.exit_code, result.output


def summary(report_dir: Path, run_id: str) -> dict:
    return json.loads((report_dir / run_id / "summary.json").read_text())


def test_default_gate_passes_on_the_embedded_mock_and_writes_reports(tmp_path: Path) -> None:
    code, out = gate("--report-dir", str(tmp_path), "--run-id", "ok", "--seed", "1", "--max-examples", "5")
    assert code == 0, out
    files = {p.name for p in (tmp_path / "ok").iterdir()}
    assert {"junit.xml", "summary.json", "index.html"} <= files
    tree = ET.parse(tmp_path / "ok" / "junit.xml")
    names = [(c.get("classname"), c.get("name")) for c in tree.iter("testcase")]
    assert len(names) == len(set(names)) > 300
    assert ("schemathesis.villa", "getOrder :: response_schema_conformance") in names
    assert ("schemathesis.shop", "getOrder :: response_schema_conformance") in names  # one name, two APIs
    assert ("schemathesis.villa", "getOrder :: grand_total") in names
    assert ("schemathesis.shop", "getOrder :: shop_totals") in names
    data = summary(tmp_path, "ok")
    assert data["exitCode"] == 0 and data["failures"] == []
    assert {"lint", "schemathesis", "state-machine", "pact"} <= {p["name"] for p in data["phases"]}
    pact_files = (Path(__file__).resolve().parents[2] / "contracts" / "pacts").glob("*.json")
    described = {i["description"] for path in pact_files for i in json.loads(path.read_text())["interactions"]}
    # A pact interaction is a check on the operation it hits, of every provider's pact.
    assert {name.split(" :: pact: ")[1] for cls, name in names if cls.startswith("pact.")} == described
    villa = data["operations"]["villa"]
    assert all(villa[op]["succeeded"] for op in villa), [op for op in villa if not villa[op]["succeeded"]]
    assert 200 in villa["createOrder"]["statuses"]["schemathesis"]
    shop = data["operations"]["shop"]
    assert all(shop[op]["succeeded"] for op in shop), [op for op in shop if not shop[op]["succeeded"]]
    assert len(villa) == 15 and len(shop) == 21
    assert data["counts"]["operations"] == sum(len(c.operations) for c in load().apis)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_target_exits_2_with_one_line(tmp_path: Path) -> None:
    code, out = gate("--base-url", f"http://127.0.0.1:{_free_port()}", "--report-dir", str(tmp_path), "--run-id", "x")
    assert code == 2
    reason = [line for line in out.splitlines() if line.startswith("gate could not run:")]
    assert len(reason) == 1 and "unreachable" in reason[0]
    assert summary(tmp_path, "x")["exitCode"] == 2


def test_missing_credentials_for_a_real_target_name_the_variables(tmp_path: Path) -> None:
    # A target that answers but is not a mock (no /__admin): the mock with its admin API off.
    with serve_in_thread(lambda url: create_app(base_url=url, enable_admin=False)) as server:
        code, out = gate("--base-url", server.base_url, "--report-dir", str(tmp_path), "--run-id", "x")
    assert code == 2
    for name in ("VILLA_TEST_USERNAME", "VILLA_TEST_PASSWORD_2", "VILLA_COGNITO_CLIENT_ID"):
        assert name in out


def test_bad_phase_is_a_usage_error() -> None:
    assert gate("--phases", "lint,nope")[0] == 2


# Same seed, same requests: tests/villa_contracts/test_seed_repeats.py (every phase, two fresh mocks).


def test_prod_skips_payments_unless_allowed(tmp_path: Path) -> None:
    code, out = gate("--contract", "villa", "--phases", "schemathesis", "--schemathesis-phases", "examples",
                     "--max-examples", "2", "--seed", "1",
                     "--report-dir", str(tmp_path), "--run-id", "prod", env={"VILLA_ENV": "prod"})  # fmt: skip
    assert code == 0, out
    assert "payment operations are skipped" in out
    operations = summary(tmp_path, "prod")["operations"]["villa"]
    assert not any("Charge" in op or "CardToken" in op or "verify" in op for op in operations)


def test_a_failure_comes_with_a_curl_reproduction_that_reproduces_it(tmp_path: Path) -> None:
    from tests.fixtures.faults import FAULTS

    fault = FAULTS["server_error_on_valid_request"]
    with serve_in_thread(lambda url: fault.wrap(create_app(base_url=url))) as server:
        # Only where the fault is and what catches it (tests.fixtures.faults): the reproduction is the point.
        code, _ = gate("--base-url", server.base_url, "--contract", fault.contract, "--phases", "schemathesis",
                       "--schemathesis-phases", ",".join(fault.engine_phases), "--max-examples", "3", "--seed", "5",
                       "--report-dir", str(tmp_path), "--run-id", "broken")  # fmt: skip
        assert code == 1
        data = summary(tmp_path, "broken")
        failure = next(f for f in data["failures"] if f["check"] == "not_a_server_error")
        assert failure["seed"] == 5
        curl = next(line for line in failure["reproduction"].splitlines() if line.startswith("curl "))
        assert "$VILLA_ID_TOKEN" in curl and '"$VILLA_BASE_URL"' in curl and server.base_url not in curl
        # As the report says: set the variables with `villa-contracts tokens`, then paste the curl line.
        assert data["reproduce"]["variables"] == (
            f'eval "$(villa-contracts tokens --base-url {server.base_url} --seed 5)"'
        )
        script = Path(sys.executable).parent / "villa-contracts"
        shell = f'eval "$({script} tokens --base-url {server.base_url} --seed 5)"; '
        shell += f"{curl} -s -o /dev/null -w '%{{http_code}}'"
        status = subprocess.run(
            ["bash", "-c", shell], capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"}
        ).stdout
    assert status == "500"


def test_an_embedded_mock_run_says_how_to_reproduce_on_a_fresh_mock(tmp_path: Path) -> None:
    code, out = gate("--phases", "lint", "--seed", "9", "--report-dir", str(tmp_path), "--run-id", "e")
    assert code == 0, out
    steps = summary(tmp_path, "e")["reproduce"]
    contracts = " ".join(f"--contract {c.name}" for c in load().apis)
    assert steps["rerun"].startswith(f"villa-contracts gate --seed 9 --max-examples 100 {contracts} --phases lint")
    assert steps["variables"] == 'eval "$(villa-contracts tokens --base-url http://127.0.0.1:8080 --seed 9)"'


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("phase", ["schemathesis", "state-machine"])
def test_an_interrupted_gate_is_incomplete_never_green(signum: int, phase: str, tmp_path: Path) -> None:
    _interrupted(signum, phase, tmp_path, presses=1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_second_signal_while_reports_are_written_keeps_the_exit_code_and_the_reports(
    signum: int, tmp_path: Path
) -> None:
    _interrupted(signum, "schemathesis", tmp_path, presses=2)  # an impatient second Ctrl-C: not 130, not 143


def _interrupted(signum: int, phase: str, tmp_path: Path, *, presses: int) -> None:
    script = Path(sys.executable).parent / "villa-contracts"
    # 100 examples: each phase runs long enough for the signal to land in it, however loaded the machine
    args = [str(script), "gate", "--seed", "1", "--max-examples", "100", "--phases", f"lint,{phase},pact",
            "--report-dir", str(tmp_path), "--run-id", "x"]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_clean_env())
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:  # interrupt once the phase has started
        seen.append(line)
        if line.startswith(phase):
            process.send_signal(signum)
            for _ in range(presses - 1):
                time.sleep(0.2)
                if process.poll() is None:
                    process.send_signal(signum)
            break
    rest, _ = process.communicate(timeout=120)
    output = "".join(seen) + rest
    assert process.returncode == 3, output
    data = summary(tmp_path, "x")
    assert (data["verdict"], data["exitCode"]) == ("INCOMPLETE", 3)
    assert data["reason"].startswith("interrupted: not finished: ") and phase in data["reason"]
    assert {p["name"]: p["status"] for p in data["phases"]}[phase] == "interrupted"
    assert "INCOMPLETE (exit code 3)" in output and "PASSED" not in output
    assert (tmp_path / "x" / "junit.xml").is_file() and (tmp_path / "x" / "index.html").is_file()


def _clean_env() -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}, "NO_COLOR": "1"}


def test_reports_carry_no_card_number_and_no_cvv(tmp_path: Path) -> None:
    # A backend that answers card numbers unmasked: the failures quote them, the reports must not.
    from tests.fixtures.faults import FAULTS

    fault = FAULTS["unmasked_card_number"]
    with serve_in_thread(lambda url: fault.wrap(create_app(base_url=url))) as server:
        code, out = gate("--base-url", server.base_url, "--contract", fault.contract, "--phases",
                         "schemathesis,state-machine", "--max-examples", "5", "--seed", "2",
                         "--report-dir", str(tmp_path), "--run-id", "cards")  # fmt: skip
    assert code == 1, out
    from villa_contracts.contract import load

    cards = [str(number) for number in load().data("test_cards")["cards"]]
    texts = {name: (tmp_path / "cards" / name).read_text() for name in ("junit.xml", "summary.json", "index.html")}
    texts["console"] = out
    for name, text in texts.items():
        flat = re.sub(r"[\s\-]", "", text)
        assert not [c for c in cards if c in flat], name
        assert not re.search(r"securityCode\W+\d{3,4}\b", text), name
    failures = summary(tmp_path, "cards")["failures"]
    assert any("xxxxxx" in f["message"] for f in failures)  # masked where the target showed one
    reproductions = "\n".join(f["reproduction"] for f in failures)
    assert "$VILLA_CARD_" in reproductions  # a reproduction reads the test card from a variable


def test_fast_sets_each_of_its_options_unless_given() -> None:
    from villa_contracts.cli import gate

    def fast(*args: str) -> tuple[str, int, str]:
        with gate.command.make_context("gate", ["--fast", *args]) as ctx:
            params = ctx.params
            return gate._fast(params["phases"], params["max_examples"], params["schemathesis_phases"])

    assert fast() == ("lint,schemathesis,state-machine", 20, "examples,fuzzing,stateful")
    assert fast("--max-examples", "7") == ("lint,schemathesis,state-machine", 7, "examples,fuzzing,stateful")
    assert fast("--phases", "lint", "--schemathesis-phases", "examples") == ("lint", 20, "examples")
