"""Soak: at least 50,000 generated requests against one mock, memory and SQLite; prints figures.

A real ``villa-contracts serve`` process is driven by Schemathesis runs (every phase, every check)
and the state machine at the same time, seed after seed, until the requests it answered pass
``--requests``. Every answer is counted from the server's own access log; 5xx answers are listed,
except the 503 of the gateway-down test card (an injected fault of the contract's data). The
server's RSS is sampled every second.

Usage:
    .venv/bin/python bench/soak.py                  # memory and SQLite, 50,000 requests each
    .venv/bin/python bench/soak.py --store sqlite --requests 100000

Exit 0 when no unexpected 5xx came back and RSS stayed bounded, 1 otherwise.
"""

from __future__ import annotations

import argparse
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from suites.context import RunContext  # noqa: E402
from suites.property.runner import run_schemathesis  # noqa: E402
from suites.property.stateful import run_machine  # noqa: E402
from villa_contracts.contract import load  # noqa: E402
from villa_contracts.target import resolve_target  # noqa: E402

ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d{3})')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def count(log: Path) -> tuple[int, Counter[tuple[str, int]]]:
    """Requests answered, and the 5xx ones by (path, status)."""
    total, errors = 0, Counter[tuple[str, int]]()
    for match in ACCESS.finditer(log.read_text(errors="replace")):
        total += 1
        status = int(match["status"])
        if status >= 500:
            errors[(re.sub(r"chrg_test_\w+", "<charge>", match["path"]), status)] += 1
    return total, errors


def soak(store: str, target_requests: int, workdir: Path) -> bool:
    port = free_port()
    log = workdir / f"serve-{store}.log"
    args = [str(Path(sys.executable).parent / "villa-contracts"), "serve", "--port", str(port), "--access-log"]
    if store == "sqlite":
        args += ["--db", str(workdir / "soak.db")]
    server = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        rss_start = rss_kib(server.pid)
        samples: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(rss_kib(server.pid))
                stop.wait(1.0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.monotonic()
        contract = load()["villa"]
        seed = 0
        while count(log)[0] < target_requests:
            seed += 1
            target = resolve_target(base, seed=seed, max_examples=25)
            with RunContext(target) as context:
                # Schemathesis and the state machine at the same time, on two threads.
                machine = threading.Thread(
                    target=run_machine, args=(context,), kwargs={"max_examples": 25, "seed": seed}
                )
                machine.start()
                for _ in run_schemathesis(context, contract):
                    pass
                machine.join()
            answered, _ = count(log)
            print(f"  {store}: seed {seed}: {answered:,} requests answered, RSS {rss_kib(server.pid) / 1024:.0f} MiB",
                  flush=True)  # fmt: skip
        stop.set()
        seconds = time.monotonic() - started
        answered, errors = count(log)
        rss_end = rss_kib(server.pid)
    finally:
        server.terminate()
        server.wait(15)
    injected = {key: n for key, n in errors.items() if key[1] == 503 and "/charge" in key[0]}
    unexpected = {key: n for key, n in errors.items() if key not in injected}
    peak = max(samples or [rss_end])
    # The second half of the run must not keep growing: compare its mean with the first half's peak.
    half = samples[len(samples) // 2 :] or [rss_end]
    growth = (sum(half) / len(half)) / max(samples[: len(samples) // 2] or [rss_start]) if samples else 1.0
    print(f"\n{store}: {answered:,} requests in {seconds:.0f} s ({answered / seconds:,.0f}/s)")
    print(f"  5xx: {sum(unexpected.values())} unexpected, {sum(injected.values())} injected (gateway-down test card)")
    for (path, status), n in sorted(unexpected.items()):
        print(f"    {status} {path} ×{n}")
    print(f"  RSS: {rss_start / 1024:.0f} MiB at start, {peak / 1024:.0f} MiB peak, {rss_end / 1024:.0f} MiB at end; "
          f"second half / first half peak: {growth:.2f}")  # fmt: skip
    return not unexpected and growth < 1.25


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=["memory", "sqlite", "both"], default="both")
    parser.add_argument("--requests", type=int, default=50_000, help="requests per store (default 50,000)")
    options = parser.parse_args()
    stores = ["memory", "sqlite"] if options.store == "both" else [options.store]
    with tempfile.TemporaryDirectory() as tmp:
        results = [soak(store, options.requests, Path(tmp)) for store in stores]
    ok = all(results)
    print("\nsoak:", "held (no unexpected 5xx, RSS bounded)" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
