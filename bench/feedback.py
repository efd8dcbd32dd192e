"""What users and contributors wait for: start-ups, the mock and the proxy getting ready, the gate, the tests.

Prints, for the checkout at ``--root`` (default: this one; another checkout gives the "before" of a change,
run with this checkout's virtualenv):

- start-up of ``villa --help``, ``villa-contracts --version``, ``villa-contracts gate|serve|proxy --help``:
  the median of ``--repeat`` runs, beside ``python -c pass`` (the interpreter alone);
- ``serve``: from the command to the first answer of ``/api/health``;
- ``proxy``: from the command to a listening port; how long it takes to report a busy port, and an
  unreachable upstream;
- the default gate on the embedded mock (``--gate``, seed 11): its wall time and each phase's;
- ``proxy check`` (``--proxy-check``): a gate run through the proxy (``--max-examples 10``) is recorded once
  (into ``--recording DIR``, kept when it exists, so two checkouts check the same traffic), then checked
  again offline: its wall time beside the checking time it reports, the median of ``--repeat`` runs;
- the test command (``--tests``: ``bash .ci/test`` with its own arguments, ~15 minutes).

Each command runs as the console script does (``python -c "from … import main; main()"`` in ``--root``),
so two checkouts compare on one interpreter. Run it on a quiet machine: its figures are times.

Usage: ``.venv/bin/python bench/feedback.py [--root DIR] [--repeat 7] [--gate] [--proxy-check] [--tests]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true", "PACT_DO_NOT_TRACK": "true"}
STARTUPS = (
    ("villa --help", "villa_contracts.cli.villa", ["--help"]),
    ("villa-contracts --version", "villa_contracts.cli", ["--version"]),
    ("villa-contracts gate --help", "villa_contracts.cli", ["gate", "--help"]),
    ("villa-contracts serve --help", "villa_contracts.cli", ["serve", "--help"]),
    ("villa-contracts proxy --help", "villa_contracts.cli", ["proxy", "--help"]),
)


def script(module: str, args: list[str]) -> list[str]:
    """The command line of a console script's entry point, run from the checkout in the working directory."""
    return [sys.executable, "-c", f"import sys; sys.argv[0] = 'x'; from {module} import main; main()", *args]


def free_port() -> int:
    """A port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def timed(command: list[str], root: Path) -> float:
    """Seconds ``command`` takes to run to its end (its output discarded)."""
    started = time.perf_counter()
    subprocess.run(command, cwd=root, env=ENV, capture_output=True, check=False, timeout=600)
    return time.perf_counter() - started


def until(ready: object, process: subprocess.Popen[bytes], limit: float = 120.0) -> float:
    """Seconds from now until ``ready()`` is true (``inf`` when the process ends first or ``limit`` passes)."""
    started = time.perf_counter()
    while time.perf_counter() - started < limit:
        if ready():  # type: ignore[operator]
            return time.perf_counter() - started
        if process.poll() is not None:
            return float("inf")
        time.sleep(0.01)
    return float("inf")


def answers(url: str) -> bool:
    """Whether ``url`` answers an HTTP GET (any status)."""
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def listening(port: int) -> bool:
    """Whether something accepts connections on ``port``."""
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve(root: Path, port: int) -> subprocess.Popen[bytes]:
    """``villa-contracts serve`` of the checkout at ``root`` on ``port``, its output discarded."""
    command = script("villa_contracts.cli", ["serve", "--port", str(port)])
    return subprocess.Popen(command, cwd=root, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def serve_ready(root: Path) -> float:
    """Seconds from ``serve`` to its first answer of /api/health."""
    port = free_port()
    started = time.perf_counter()
    process = serve(root, port)
    try:
        until(lambda: answers(f"http://127.0.0.1:{port}/api/health"), process)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=30)


def _listen(root: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], int, float]:
    """Start the proxy with ``args``: the process, its port and the seconds it took to listen."""
    port = free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        script("villa_contracts.cli", [*args, "--listen-port", str(port)]),
        cwd=root,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    until(lambda: listening(port), process)
    return process, port, time.perf_counter() - started


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)


def proxy_times(root: Path, upstream: str, confdir: str) -> tuple[float, float, float, float]:
    """Seconds of the proxy to listen (making its CA, then with it made), to report a busy port, an unreachable one.

    A confdir is kept between runs (``.villa-proxy`` by default): only the first run makes the CA.
    """
    args = ["proxy", "--upstream", upstream, "--confdir", confdir, "--report-dir", confdir]
    process, port, first = _listen(root, args)
    try:
        busy = timed(script("villa_contracts.cli", [*args, "--listen-port", str(port)]), root)
    finally:
        _stop(process)
    process, _, listen = _listen(root, args)
    _stop(process)
    nowhere = f"http://127.0.0.1:{free_port()}"
    unreachable = timed(
        script("villa_contracts.cli", ["proxy", "--upstream", nowhere, "--confdir", confdir, "--listen-port", "0"]),
        root,
    )
    return first, listen, busy, unreachable


def gate(root: Path, work: str) -> tuple[float, int, dict[str, float]]:
    """The default gate on the embedded mock (seed 11): wall seconds, exit code, seconds per phase."""
    command = script("villa_contracts.cli", ["gate", "--seed", "11", "--no-progress", "--report-dir", work])
    started = time.perf_counter()
    done = subprocess.run(command + ["--run-id", "feedback"], cwd=root, env=ENV, capture_output=True, check=False)
    seconds = time.perf_counter() - started
    phases: dict[str, float] = {}
    summary = Path(work) / "feedback" / "summary.json"
    if summary.exists():
        for entry in json.loads(summary.read_text()).get("phases", []):
            phases[str(entry.get("name"))] = float(entry.get("seconds") or 0)
    return seconds, done.returncode, phases


def record(root: Path, upstream: str, directory: Path, work: str) -> float:
    """Record a gate run (seed 11, 10 examples) through the proxy into ``directory``: its ``flows.mitm``'s MB."""
    args = ["proxy", "--upstream", upstream, "--confdir", work, "--report-dir", work, "--record", str(directory)]
    process, port, _ = _listen(root, args)
    try:
        command = ["gate", "--base-url", f"http://127.0.0.1:{port}", "--seed", "11", "--max-examples", "10"]
        command += ["--no-progress", "--report-dir", work, "--run-id", "recorded"]
        subprocess.run(script("villa_contracts.cli", command), cwd=root, env=ENV, capture_output=True, check=False)
    finally:
        _stop(process)
    flows = directory / "flows.mitm"
    return flows.stat().st_size / 1e6 if flows.exists() else 0.0


def proxy_check(root: Path, directory: Path, work: str, repeat: int) -> tuple[float, float, int]:
    """``proxy check`` of the recording: median wall seconds, median checking seconds it reports, its exit code."""
    command = script("villa_contracts.cli", ["proxy", "check", str(directory), "--report-dir", work])
    walls, checks, code = [], [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=root, env=ENV, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        said = re.search(r" in ([0-9.]+)s", done.stdout)
        checks.append(float(said.group(1)) if said else float("nan"))
        code = done.returncode
    return statistics.median(walls), statistics.median(checks), code


def main() -> int:
    """Print every figure, one per line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to measure (default: this one)")
    parser.add_argument("--repeat", type=int, default=7, help="runs of each start-up (their median is shown)")
    parser.add_argument("--gate", action="store_true", help="also time the default gate on the embedded mock")
    parser.add_argument("--tests", action="store_true", help="also time the test command (bash .ci/test)")
    parser.add_argument("--proxy-check", action="store_true", help="also time `proxy check` of a recorded gate run")
    parser.add_argument("--recording", type=Path, help="where --proxy-check keeps its recording (default: temporary)")
    options = parser.parse_args()
    root = options.root.resolve()
    head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    print(f"checkout {root} ({head.stdout.strip()}), load {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores", flush=True)
    base = statistics.median(timed([sys.executable, "-c", "pass"], root) for _ in range(options.repeat))
    print(f"start-up  {'python -c pass':34} {base * 1000:6.0f} ms", flush=True)
    for name, module, args in STARTUPS:
        median = statistics.median(timed(script(module, args), root) for _ in range(options.repeat))
        print(f"start-up  {name:34} {median * 1000:6.0f} ms  ({median / base:.1f}x python)", flush=True)
    print(f"serve     {'first answer of /api/health':34} {serve_ready(root):6.2f} s", flush=True)
    with tempfile.TemporaryDirectory() as work:
        mock = serve(root, port := free_port())
        recording = options.recording or Path(work) / "recording"
        try:
            until(lambda: answers(f"http://127.0.0.1:{port}/api/health"), mock)
            first, listen, busy, unreachable = proxy_times(root, f"http://127.0.0.1:{port}", work)
            if options.proxy_check and not (recording / "flows.mitm").exists():
                size = record(root, f"http://127.0.0.1:{port}", recording, work)
                print(f"proxy     {'recorded a gate run (flows.mitm)':34} {size:6.1f} MB", flush=True)
        finally:
            mock.terminate()
            mock.wait(timeout=30)
        print(f"proxy     {'listening, first run (makes its CA)':34} {first:6.2f} s", flush=True)
        print(f"proxy     {'listening, its CA made':34} {listen:6.2f} s", flush=True)
        print(f"proxy     {'reports a busy port':34} {busy:6.2f} s", flush=True)
        print(f"proxy     {'reports an unreachable upstream':34} {unreachable:6.2f} s", flush=True)
        if options.proxy_check:
            wall, check, code = proxy_check(root, recording, work, options.repeat)
            ratio = f"({wall / check:.1f}x its checking time, {check:.2f} s)"
            print(f"proxy     {'check of the recording':34} {wall:6.2f} s  {ratio}  exit {code}", flush=True)
        if options.gate:
            seconds, code, phases = gate(root, work)
            parts = ", ".join(f"{name} {value:.1f} s" for name, value in phases.items())
            print(f"gate      {'default, embedded mock, seed 11':34} {seconds:6.1f} s  exit {code}  ({parts})")
    if options.tests:
        started = time.perf_counter()
        done = subprocess.run(["bash", ".ci/test"], cwd=root, env=ENV, capture_output=True, check=False)
        print(f"tests     {'bash .ci/test':34} {time.perf_counter() - started:6.0f} s  exit {done.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
