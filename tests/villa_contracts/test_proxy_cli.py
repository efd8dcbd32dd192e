"""``villa-contracts proxy`` as people run it: a process, its lines, its exit codes, SIGTERM and SIGKILL."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.faults import serve_broken
from tests.fixtures.traffic import drive

SCRIPT = str(Path(sys.executable).parent / "villa-contracts")
WAIT = 60.0  # a safety net for a stuck process, never a measure of speed
pytestmark = pytest.mark.socket


class Proxy:
    """A ``villa-contracts proxy`` process whose output is read line by line as it comes."""

    def __init__(self, *args: str) -> None:
        environ = {k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}
        self.process = subprocess.Popen(
            [SCRIPT, "proxy", "--listen-port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**environ, "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.ended = False
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def until(self, pattern: str) -> re.Match[str]:
        """Read lines until one matches ``pattern``."""
        while True:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                self.ended = True
            assert line is not None, "the proxy ended:\n" + "\n".join(self.seen)
            self.seen.append(line)
            found = re.search(pattern, line)
            if found:
                return found

    def rest(self) -> list[str]:
        """Every line until the process ends."""
        while not self.ended:
            line = self.lines.get(timeout=WAIT)
            if line is None:
                self.ended = True
            else:
                self.seen.append(line)
        return self.seen

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(WAIT)
        self.rest()  # the reader has closed the pipe once it returns


@pytest.fixture
def broken_total() -> Iterator[str]:
    with serve_broken("total_off_by_one_satang") as url:
        yield url


def start(url: str, tmp_path: Path, *extra: str) -> tuple[Proxy, str]:
    args = ["--upstream", url, "--report-dir", str(tmp_path / "reports"), "--run-id", "live"]
    proxy = Proxy(*args, "--confdir", str(tmp_path / "conf"), *extra)
    return proxy, proxy.until(r"listening on (http://127\.0\.0\.1:\d+)").group(1)


def test_sigterm_ends_the_run_with_its_verdict_and_frees_the_port(broken_total: str, tmp_path: Path) -> None:
    proxy, url = start(broken_total, tmp_path, "--record", str(tmp_path / "rec"))
    try:
        drive(url)
        proxy.until(r"^✗ villa\.calculateGrandtotal .* · grand_total · response /grandTotal: expected grandTotal")
        proxy.process.send_signal(signal.SIGTERM)
        lines = proxy.rest()
        assert proxy.process.wait(WAIT) == 1
    finally:
        proxy.kill()
    assert lines[-1].startswith("FAILED (exit code 1)") and "Summary of run live" in lines
    assert json.loads((tmp_path / "reports" / "live" / "summary.json").read_text())["verdict"] == "FAILED"
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5)
    assert (tmp_path / "rec" / "traffic.har").is_file()


def test_a_killed_proxy_leaves_reports_with_every_violation_it_printed(broken_total: str, tmp_path: Path) -> None:
    proxy, url = start(broken_total, tmp_path, "--record", str(tmp_path / "rec"))
    try:
        drive(url)
        proxy.until(r"^✗ .* · grand_total ·")
        proxy.process.send_signal(signal.SIGKILL)  # no clean-up of any kind
        printed = [line for line in proxy.rest() if line.startswith("✗ ")]
    finally:
        proxy.kill()
    data = json.loads((tmp_path / "reports" / "live" / "summary.json").read_text())
    assert data["verdict"] == "INCOMPLETE" and printed
    reported = {(f["check"], f["title"]) for f in data["failures"]}
    for line in printed:
        check, located, said = re.fullmatch(r"✗ .*? · (\w+) · (\w+ \S+): (.*)", line).groups()  # type: ignore[union-attr]
        assert any(c == check and t.startswith(f"{located}: {said[:60]}") for c, t in reported), line
    # The recording is whole up to the kill, and is checked again to the same verdict.
    result = subprocess.run(
        [SCRIPT, "proxy", "check", str(tmp_path / "rec"), "--report-dir", str(tmp_path / "again"), "--run-id", "x"],
        capture_output=True, text=True, timeout=WAIT, env={**os.environ, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    again = json.loads((tmp_path / "again" / "x" / "summary.json").read_text())
    assert {(f["operation"], f["check"]) for f in again["failures"]} >= {("calculateGrandtotal", "grand_total")}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--upstream", "http://127.0.0.1:9"], "is unreachable"),
        (["--upstream", "ftp://example"], "--upstream: upstream 'ftp://example' is not an http(s) URL"),
        ([], "--upstream URL is required"),
        (["--upstream", "http://127.0.0.1:9", "--contract", "nope"], "no contract 'nope'"),
    ],
)
def test_a_proxy_that_cannot_run_says_why_in_one_line_and_exits_2(args: list[str], said: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [SCRIPT, "proxy", *args, "--report-dir", str(tmp_path)], capture_output=True, text=True, timeout=WAIT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("VILLA_")}, "NO_COLOR": "1"},
    )  # fmt: skip
    assert result.returncode == 2 and said in result.stderr and "Traceback" not in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) <= 3  # click's usage line, at most


def test_a_busy_port_exits_2_with_one_line(broken_total: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = str(busy.getsockname()[1])
        result = subprocess.run(
            [SCRIPT, "proxy", "--upstream", broken_total, "--listen-port", port, "--report-dir", str(tmp_path),
             "--confdir", str(tmp_path / "conf")],
            capture_output=True, text=True, timeout=WAIT, env={**os.environ, "NO_COLOR": "1"},
        )  # fmt: skip
    assert result.returncode == 2 and "address already in use" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_banner_says_where_to_point_the_clients_and_what_is_fenced(capsys: pytest.CaptureFixture[str]) -> None:
    from types import SimpleNamespace

    from villa_contracts.cli.proxy import _banner

    settings: dict[str, object] = {
        "villa_upstream": "https://dev.example", "villa_env": "prod", "villa_run_id": "r1", "villa_catalog": "off",
        "villa_allow_prod_payments": False, "villa_rate_limit": 5.0,
    }  # fmt: skip
    reverse = SimpleNamespace(mode="reverse", url="http://127.0.0.1:8081")
    _banner(reverse, ["villa", "shop"], settings, Path("reports/r1"), Path("rec"))  # type: ignore[arg-type]
    assert capsys.readouterr().out.splitlines() == [
        "villa-contracts proxy · run r1",
        "  listening on http://127.0.0.1:8081 → https://dev.example: point the clients' base URL at "
        "http://127.0.0.1:8081",
        "  contracts: villa, shop · env prod · catalog prices not checked",
        "  reports: reports/r1/index.html (kept up to date) · recording: rec",
        "  prod: payment operations are refused by the proxy, never forwarded",
        "  forwarding at most 5 requests per second",
        "Ctrl-C to stop.",
    ]
    regular = SimpleNamespace(mode="regular", host="0.0.0.0", port=8081, ca_cert=Path("/conf/ca.pem"))
    _banner(regular, ["villa"], {**settings, "villa_env": "dev", "villa_rate_limit": 0.0}, Path("r"), None)  # type: ignore[arg-type]
    out = capsys.readouterr().out
    assert "  HTTP proxy on 0.0.0.0:8081: checks the traffic to https://dev.example" in out
    assert "CA certificate: /conf/ca.pem" in out and "prod:" not in out and "forwarding" not in out
