"""Every bad invocation, through the real console script: the documented exit code, one line, no traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.runner import serve_in_thread

SCRIPT = str(Path(sys.executable).parent / "villa-contracts")
pytestmark = pytest.mark.socket


def run(*args: str, timeout: float = 60, env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    started = time.monotonic()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}
    result = subprocess.run(
        [SCRIPT, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**environ, "NO_COLOR": "1", **(env or {})},
    )
    return result.returncode, result.stdout, result.stderr, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        yield int(sock.getsockname()[1])


@pytest.fixture
def plain_http_server(tmp_path: Path) -> Iterator[str]:
    """``python3 -m http.server``: answers HTTP, but is no Villa backend and no Pact provider."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def assert_one_line(stdout: str, stderr: str, *needles: str) -> None:
    assert "Traceback" not in stdout + stderr, stdout + stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_serve_on_a_port_in_use(busy_port: int) -> None:
    code, out, err, _ = run("serve", "--port", str(busy_port))
    assert code == 2
    assert_one_line(out, err, "cannot listen on", str(busy_port))
    assert "villa mock on" not in out + err


def test_serve_on_an_unknown_host() -> None:
    code, out, err, _ = run("serve", "--host", "no-such-host.invalid", "--port", "0")
    assert code == 2
    assert_one_line(out, err, "no-such-host.invalid")


@pytest.mark.parametrize("kind", ["unopenable", "not-a-database"])
def test_serve_with_a_db_it_cannot_use(kind: str, tmp_path: Path) -> None:
    path = "/proc/villa.db"
    if kind == "not-a-database":
        path = str(tmp_path / "notes.db")
        Path(path).write_text("these are not the tables you are looking for\n" * 100)
    code, out, err, _ = run("serve", "--port", "0", "--db", path)
    assert code == 2
    assert_one_line(out, err, f"--db {path}")
    assert "villa mock on" not in out + err


def test_gate_with_a_report_dir_it_cannot_write() -> None:
    code, out, err, _ = run("gate", "--report-dir", "/proc/x", "--max-examples", "1")
    assert code == 2
    assert_one_line(out, err, "cannot write reports to /proc/x")
    assert "lint" not in out  # refused before any phase ran


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["gate", "--phases", "lint,nope"], "--phases"),
        (["gate", "--contract", "nope"], "no contract 'nope'"),
        (["gate", "--coverage", "maybe"], "--coverage"),
        (["validate", "invoice", "x.json"], "'invoice' is not 'order'"),
        (["serve", "--port", "99999"], "--port"),
        (["serve", "--seed", "1", "--workers", "2", "--db", "x.db"], "--seed with --workers 2"),
        (["serve", "--faults", "pyproject.toml"], "--faults"),
        (["gate", "--no-such-option"], "--no-such-option'. (see villa-contracts gate --help)"),
    ],
)
def test_usage_errors(args: list[str], needle: str) -> None:
    code, out, err, _ = run(*args)
    assert code == 2
    assert_one_line(out, err, needle)


def test_gate_refuses_the_admin_contract_in_one_line(tmp_path: Path) -> None:
    # Its operations are the mock's own: a gate over it would run no check and still look green.
    code, out, err, _ = run("gate", "--contract", "admin", "--report-dir", str(tmp_path))
    assert code == 2
    assert_one_line(out, err, "--contract admin: the mock's own admin API is not a backend API the gate checks")
    assert "choose from lineitems, shop, villa" in err
    assert not list(tmp_path.iterdir())  # refused before a run began


def test_gate_at_an_unreachable_target(tmp_path: Path) -> None:
    code, out, err, _ = run("gate", "--base-url", f"http://127.0.0.1:{free_port()}", "--report-dir", str(tmp_path))
    assert code == 2
    assert_one_line(out, err, "gate could not run:", "unreachable", f"reports in {tmp_path}")
    assert not out.strip(), out  # nothing ran: no summary of phases that never started
    assert list(tmp_path.glob("*/summary.json")), "the reports still say why"


def test_gate_at_a_backend_that_is_no_mock_without_test_credentials(plain_http_server: str, tmp_path: Path) -> None:
    code, out, err, _ = run("gate", "--base-url", plain_http_server, "--report-dir", str(tmp_path))
    assert code == 2
    assert_one_line(out, err, "gate could not run:", "VILLA_TEST_USERNAME", "VILLA_COGNITO_CLIENT_ID")
    assert not out.strip(), out


def test_flow_at_an_unreachable_target() -> None:
    code, out, err, _ = run("flow", "--base-url", f"http://127.0.0.1:{free_port()}")
    assert code == 2
    assert_one_line(out, err, "unreachable")


def test_flow_at_a_backend_without_cognito_settings(plain_http_server: str) -> None:
    code, out, err, _ = run("flow", "--base-url", plain_http_server)
    assert code == 2
    assert_one_line(out, err, "VILLA_COGNITO_CLIENT_ID")


def test_flow_with_an_unreachable_cognito(plain_http_server: str) -> None:
    env = {
        "VILLA_COGNITO_CLIENT_ID": "x",
        "VILLA_COGNITO_USER_POOL_ID": "ap-southeast-1_x",
        "VILLA_COGNITO_ENDPOINT": f"http://127.0.0.1:{free_port()}",
    }
    code, out, err, _ = run("flow", "--base-url", plain_http_server, env=env)
    assert code == 2
    assert_one_line(out, err, "Cognito at", "unreachable")


def test_pact_verify_at_a_server_that_is_no_provider_fails_before_any_replay(plain_http_server: str) -> None:
    # The state-change URL is checked once, first: no interaction is replayed, nothing is retried.
    code, out, err, _ = run("pact", "verify", "--base-url", plain_http_server, timeout=30)
    assert code == 2
    assert_one_line(out, err, "not a Pact state-change URL")
    assert "interactions verified" not in out + err


def test_pact_verify_without_pact_files(tmp_path: Path) -> None:
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        code, out, err, _ = run("pact", "verify", "--base-url", server.base_url, "--pact-dir", str(tmp_path))
    assert code == 2
    assert_one_line(out, err, "no pact files")


def test_validate_checks_every_file_and_reads_stdin(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_bytes(b'\xef\xbb\xbf{"orderId": "1", "ownerId": "u", "basketId": "b"}')  # with a UTF-8 BOM
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    code, out, err, _ = run("validate", "order", str(tmp_path / "missing.json"), str(broken), str(good))
    assert code == 2  # unreadable files, yet every file was checked
    assert f"{good}: valid order" in out
    assert "Traceback" not in out + err and len(err.splitlines()) == 2
    process = subprocess.run(
        [SCRIPT, "validate", "order", "-"], input='{"orderId": 1}', capture_output=True, text=True, timeout=60
    )
    assert process.returncode == 1 and "stdin: INVALID order" in process.stdout


def test_a_real_bug_shows_a_traceback_and_how_to_report_it(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    from villa_contracts import cli as cli_module
    from villa_contracts.cli import validate

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug of the tool")

    monkeypatch.setattr(validate, "json", type("Broken", (), {"loads": staticmethod(crash)}))
    monkeypatch.setattr(sys, "argv", ["villa-contracts", "validate", "order", __file__])
    with pytest.raises(SystemExit) as ended:
        cli_module.main()
    err = capsys.readouterr().err
    assert ended.value.code == 2
    assert "Traceback" in err and "RuntimeError: a bug of the tool" in err
    assert err.strip().endswith(cli_module.REPORT_A_BUG)


def test_debug_shows_the_traceback_of_an_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err, _ = run("--debug", "gate", "--base-url", url, "--report-dir", "/proc/x")
    assert code == 2 and "Traceback" in err and "cannot write reports to /proc/x" in err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_by_a_signal_exits_0_and_frees_the_port(signum: int) -> None:
    # SIGTERM killed the process by the signal (exit 143, -15 here) while --help promises 0.
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}
    # Started as a shell starts a background job (or a test runner's worker a child): SIGINT inherited ignored.
    # The port answers while the app is still being built; a SIGINT then was lost and serve ran on.
    process = subprocess.Popen(
        [SCRIPT, "serve", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),  # noqa: PLW1509 - no threads here
    )
    try:
        deadline = time.monotonic() + 60  # a bound for a broken run, not a speed
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None and time.monotonic() < deadline, "the mock did not start"
            time.sleep(0.05)
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err
    assert "Traceback" not in err
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))  # the port is free


def test_validate_says_a_document_is_too_deep_instead_of_crashing(tmp_path: Path) -> None:
    # Past ~255 levels the schema validator raised, past ~1,000 the JSON parser did: a traceback, exit 2.
    deep = tmp_path / "deep.json"
    deep.write_text('{"orderId": "1", "x": ' + "[" * 300 + "]" * 300 + "}")
    deeper = tmp_path / "deeper.json"
    deeper.write_text("[" * 5000 + "]" * 5000)
    code, out, err, _ = run("validate", "order", str(deep))
    assert code == 1 and "Traceback" not in out + err
    assert f"  /x{'/0' * 63}: nested deeper than 64 levels" in out
    code, out, err, _ = run("validate", "order", str(deeper))
    assert code == 2 and "Traceback" not in out + err
    assert err.strip() == f"{deeper}: cannot read JSON: nested too deeply for the JSON parser (over ~1,000 levels" + (
        " of arrays and objects)"
    )


def test_serve_exits_1_when_its_workers_cannot_go_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # click hands Exit's code back as a return value under standalone_mode=False: serve exited 0.
    from villa_contracts import cli as cli_module

    monkeypatch.setattr("mock_server.runner.serve_workers", lambda *args, **kwargs: 1)
    monkeypatch.setattr(sys, "argv", ["villa-contracts", "serve", "--workers", "2", "--db", str(tmp_path / "v.db")])
    with pytest.raises(SystemExit) as stopped:
        cli_module.main()
    assert stopped.value.code == 1


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "no such file, nor a shipped scenario (shipped: lineitems-orders, shop-checkout, villa-payments)"),
        ("{not json", "is not JSON"),
        ('{"scenario": 1, "clock": {"now": 1}, "users": [], "records": {}}', "(at /clock/now)"),
    ],
)
def test_serve_with_a_scenario_it_cannot_load(content: str | None, said: str, tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    code, out, err, _ = run("serve", "--port", "0", "--scenario", str(path))
    assert code == 2
    assert_one_line(out, err, "--scenario", said)
    assert "villa mock on" not in out + err
