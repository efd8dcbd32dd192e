"""Side by side, in one run: the mock on each store and worker count against a bare handler, driven by wrk.

What it prints:

1. ``POST /api/order/get`` (a real order, a real ID token) under ``wrk -t1 -c16`` against: a bare
   Starlette handler on the mock's stack (uvicorn, uvloop, httptools, orjson; no checks), then
   ``villa-contracts serve`` on memory, SQLite and Redis with 1 worker, SQLite and Redis with 2,
   ``--rounds`` times in turn (the machine may be shared: medians of the rounds are shown, and
   mock/bare is taken within each round). req/s, p50, p99 (wrk's), RSS of the server's processes
   after the load (the largest of the rounds), and mock/bare.
2. The store-size curve: median latency of create, get and update (in process, through the whole
   app) with 0, 10,000 and 100,000 orders already stored, per store.
3. The default gate's time (``villa-contracts gate``, embedded mock).

Pinning: wrk runs on core 1 (``taskset -c 1``); a 1-worker server on core 0 (``taskset -c 0``);
a 2-worker server may use both cores (it then shares core 1 with wrk;
``bench/scale_and_rss.py`` measures 2 workers against 1 with wrk on a core of its own). The Redis server is not
pinned. With ``--profile``, the memory mock also runs once under cProfile and the top functions
by own time are printed.

    .venv/bin/python bench/fast_and_shared.py                       # everything (~8 minutes)
    .venv/bin/python bench/fast_and_shared.py --seconds 5 --no-gate --sizes 0,10000

Needs wrk (``apt-get install wrk``) and, for the Redis rows, a Redis server (``--redis``).
The test suite never runs this; it only checks ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VILLA = Path(sys.executable).with_name("villa-contracts")
SERVERS = ("bare", "memory", "sqlite", "redis", "sqlite-2", "redis-2")
WRK_LUA = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.body = os.getenv("BENCH_BODY")
"""


@dataclass
class Load:
    """What wrk measured against one server."""

    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    rss_mib: float
    errors: int


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            time.sleep(0.3)  # let every worker come up
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not start")


def _tree(pid: int) -> list[int]:
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split() if (task / "children").exists() else []
        for child in children:
            pids += _tree(int(child))
    return pids


def _rss_mib(pid: int) -> float:
    total = 0
    for each in _tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(match.group(1)) if match else 0
    return total / 1024


@contextmanager
def _server(args: list[str], cores: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["taskset", "-c", cores, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait(port, proc)
        yield proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _prepare(base: str) -> dict[str, Any]:
    """A token and an order on a running mock: what every load request asks for."""
    import httpx

    from villa_contracts.contract import load

    user = load().data("users")[0]
    with httpx.Client(base_url=base, timeout=30) as client:
        token = client.post(f"/__admin/users/{user['username']}/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        order_id = client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()["orderId"]
        body = {"orderId": order_id, "ownerId": user["sub"], "basketId": user["sub"], "branchId": "1000",
                "productList": [{"cprcode": 25281, "quantity": 1}, {"cprcode": 188468, "quantity": 2}]}  # fmt: skip
        order = client.post("/api/order/create", json=body, headers=headers)
        order.raise_for_status()
    return {"token": token, "body": json.dumps({"orderId": order_id}), "order": order.json()}


def _duration_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if match is None:
        raise RuntimeError(f"cannot read wrk's latency {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}[unit]


def _wrk(port: int, prepared: dict[str, Any], seconds: float, connections: int, lua: Path) -> tuple[float, ...]:
    env = {**os.environ, "BENCH_TOKEN": prepared["token"], "BENCH_BODY": prepared["body"]}
    url = f"http://127.0.0.1:{port}/api/order/get"
    base = ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", "--latency", "-s", str(lua)]
    subprocess.run([*base, "-d2s", url], env=env, capture_output=True, check=True)  # warm-up
    out = subprocess.run([*base, f"-d{seconds:.0f}s", url], env=env, capture_output=True, text=True, check=True).stdout
    try:
        rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]
        p50 = _duration_ms(re.search(r"^\s+50%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
        p99 = _duration_ms(re.search(r"^\s+99%\s+(\S+)", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    except (AttributeError, RuntimeError):
        raise RuntimeError(f"cannot read wrk's output:\n{out}") from None
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    if socket_errors:
        print(f"   wrk socket errors: {socket_errors.group(1)}")
    return rps, p50, p99, float(errors.group(1)) if errors else 0.0


def _mock_args(name: str, port: int, workdir: Path, redis_url: str) -> list[str]:
    args = [str(VILLA), "serve", "--port", str(port)]
    store, _, workers = name.partition("-")
    if store == "sqlite":
        args += ["--db", str(workdir / f"{name}-{port}.db")]
    elif store == "redis":
        args += ["--store", redis_url, "--store-prefix", f"villa-bench:{uuid.uuid4().hex[:8]}:"]
    if workers:
        args += ["--workers", workers]
    return args


def _load_once(name: str, args: argparse.Namespace, workdir: Path, lua: Path, prepared: dict[str, Any]) -> Load:
    port = _free_port()
    cores = "0,1" if name.endswith("-2") else "0"
    if name == "bare":
        order_file = workdir / "order.json"
        order_file.write_text(json.dumps(prepared["order"]))
        command = [sys.executable, str(ROOT / "bench" / "_bare.py"), str(port), str(order_file)]
    else:
        command = _mock_args(name, port, workdir, args.redis)
    try:
        with _server(command, cores, port) as proc:
            mine = _prepare(f"http://127.0.0.1:{port}") if name != "bare" else prepared
            rps, p50, p99, errors = _wrk(port, mine, args.seconds, args.connections, lua)
            rss = _rss_mib(proc.pid)
    finally:
        if "--store-prefix" in command:
            _wipe(args.redis, command[command.index("--store-prefix") + 1])
    return Load(name, rps, p50, p99, rss, int(errors))


def _wipe(url: str, prefix: str) -> None:
    """Delete the bench's keys from Redis."""
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


LABELS = {
    "bare": "bare Starlette handler",
    "memory": "mock, memory",
    "sqlite": "mock, SQLite",
    "redis": "mock, Redis",
    "sqlite-2": "mock, SQLite, 2 workers [cores 0,1]",
    "redis-2": "mock, Redis, 2 workers [cores 0,1]",
}


def run_load(args: argparse.Namespace, workdir: Path) -> dict[str, Load]:
    """Drive each server with wrk, ``--rounds`` times in turn; print and return the medians."""
    lua = workdir / "order_get.lua"
    lua.write_text(WRK_LUA)
    port = _free_port()  # the bare handler answers the mock's own order document
    with _server(_mock_args("memory", port, workdir, args.redis), "0", port):
        prepared = _prepare(f"http://127.0.0.1:{port}")
    names = [s for s in SERVERS if s in args.servers]
    print(
        f"\n== POST /api/order/get: wrk -t1 -c{args.connections} -d{args.seconds:.0f}s on core 1; "
        f"{args.rounds} round(s) of every server in turn, medians shown; load average {_load_average()}"
    )
    runs: dict[str, list[Load]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    for round_no in range(args.rounds):
        for name in names:
            runs[name].append(_load_once(name, args, workdir, lua, prepared))
        if "bare" in names:  # mock/bare within the round: the machine's load drifts between rounds
            bare = runs["bare"][-1].rps
            for name in names:
                ratios[name].append(runs[name][-1].rps / bare)
        each = ", ".join(f"{name} {runs[name][-1].rps:.0f}" for name in names)
        print(f"   round {round_no + 1}: req/s {each}")
    print(f"{'server':<38}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>9}{'RSS MiB':>9}{'non-2xx':>9}{'mock/bare':>11}")
    medians: dict[str, Load] = {}
    for name in names:
        rows = runs[name]
        load = Load(
            name,
            statistics.median(r.rps for r in rows),
            statistics.median(r.p50_ms for r in rows),
            statistics.median(r.p99_ms for r in rows),
            max(r.rss_mib for r in rows),
            sum(r.errors for r in rows),
        )
        medians[name] = load
        ratio = f"{statistics.median(ratios[name]):.2f}" if ratios[name] and name != "bare" else "-"
        print(
            f"{LABELS[name]:<38}{load.rps:>8.0f}{load.p50_ms:>8.2f}{load.p99_ms:>9.2f}"
            f"{load.rss_mib:>9.0f}{load.errors:>9}{ratio:>11}"
        )
    print(f"   load average after: {_load_average()} (1, 5, 15 min; this machine has {os.cpu_count()} cores)")
    return medians


def _load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _fill(store: Any, template: dict[str, Any], start: int, count: int) -> None:
    from mock_server.handlers.orders import ISSUED, ORDERS

    chunk = 1000
    for first in range(start, start + count, chunk):
        with store.transaction():
            for n in range(first, min(first + chunk, start + count)):
                order_id = f"9{n:011d}"
                store.put(ORDERS, order_id, {**template, "orderId": order_id})
                store.put(ISSUED, order_id, {"issuedTo": template["ownerId"], "branchId": "1000", "at": 0})


def run_curve(args: argparse.Namespace, workdir: Path) -> None:
    """Print the median create, get and update latency per store at each size."""
    from starlette.testclient import TestClient

    from mock_server.app import create_app
    from mock_server.handlers.orders import STOCK
    from mock_server.storage import open_storage
    from villa_contracts.contract import load

    sizes = sorted(int(s) for s in args.sizes.split(","))
    user = load().data("users")[0]
    samples = args.curve_samples
    print(f"\n== store-size curve: median ms of {samples} calls in process, through the whole app")
    print(f"{'store':<8}{'orders':>9}{'create':>9}{'get':>9}{'update':>9}")
    for kind in args.curve_stores.split(","):
        url = args.redis if kind == "redis" else None
        db = str(workdir / f"curve-{uuid.uuid4().hex[:6]}.db") if kind == "sqlite" else None
        prefix = f"villa-bench:{uuid.uuid4().hex[:8]}:"
        store = open_storage(db, url=url, prefix=prefix) if kind != "memory" else None
        app = create_app(store=store) if store is not None else create_app()
        state = app.state.mock
        client = TestClient(app)
        token = client.post(f"/__admin/users/{user['username']}/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        lines = [{"cprcode": 25281, "quantity": 1}]
        base = {"ownerId": user["sub"], "basketId": user["sub"], "branchId": "1000", "productList": lines}
        template: dict[str, Any] | None = None
        filled = 0
        for _ in range(20):  # warm-up: first calls pay for imports and caches
            oid = client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()
            client.post("/api/order/create", json={**base, **oid}, headers=headers)
            filled += 1
        first: tuple[float, float, float] | None = None
        for size in sizes:
            if size > filled:
                if template is None:
                    oid = client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()
                    template = client.post("/api/order/create", json={**base, **oid}, headers=headers).json()
                    filled += 1
                _fill(state.store, template, filled, size - filled)
                filled = size
            state.store.delete(STOCK, "1000")  # the measured creates hold stock: free it for each size
            timings: dict[str, list[float]] = {"create": [], "get": [], "update": []}
            for _ in range(samples):
                oid = client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()
                for op, body in (("create", {**base, **oid}), ("get", oid), ("update", {**base, **oid})):
                    started = time.perf_counter()
                    answer = client.post(f"/api/order/{op}", json=body, headers=headers)
                    timings[op].append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
            medians = tuple(statistics.median(timings[op]) for op in ("create", "get", "update"))
            first = first or medians  # type: ignore[assignment]
            assert first is not None
            ratios = "  ".join(f"{m / f:.2f}x" for m, f in zip(medians, first, strict=True))
            print(f"{kind:<8}{size:>9,}{medians[0]:>9.2f}{medians[1]:>9.2f}{medians[2]:>9.2f}   (vs empty: {ratios})")
        state.store.reset()
        state.store.close()


def run_gate() -> None:
    """Time the default gate (embedded mock)."""
    print("\n== the default gate: villa-contracts gate")
    with tempfile.TemporaryDirectory() as reports:
        started = time.monotonic()
        done = subprocess.run([str(VILLA), "gate", "--report-dir", reports], capture_output=True, text=True)
        took = time.monotonic() - started
    print(f"exit {done.returncode} in {took:.1f} s")


def run_profile(args: argparse.Namespace, workdir: Path) -> None:
    """The memory mock under cProfile while wrk drives it: the top functions by own time."""
    port = _free_port()
    out = workdir / "profile.txt"
    lua = workdir / "order_get.lua"
    lua.write_text(WRK_LUA)
    command = [sys.executable, str(ROOT / "bench" / "_profiled.py"), str(port), str(out)]
    with _server(command, "0", port) as proc:
        prepared = _prepare(f"http://127.0.0.1:{port}")
        _wrk(port, prepared, min(args.seconds, 5), args.connections, lua)
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    print("\n== profile of the memory mock under wrk (top functions by own time)")
    print("\n".join(out.read_text().splitlines()[:32]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``--help`` shows it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every server in turn (default 3)")
    parser.add_argument(
        "--servers", default=",".join(SERVERS), type=lambda s: [x for x in s.split(",") if x],
        help=f"which servers to load, comma-separated (default all: {','.join(SERVERS)})",
    )  # fmt: skip
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the Redis server for the Redis rows")
    parser.add_argument("--sizes", default="0,10000,100000", help="store sizes of the curve (default 0,10000,100000)")
    parser.add_argument("--curve-stores", default="memory,sqlite,redis", help="stores of the curve (comma-separated)")
    parser.add_argument("--curve-samples", type=int, default=200, help="calls per operation and size (default 200)")
    parser.add_argument("--no-load", action="store_true", help="skip the wrk runs")
    parser.add_argument("--no-curve", action="store_true", help="skip the store-size curve")
    parser.add_argument("--no-gate", action="store_true", help="skip timing the default gate")
    parser.add_argument("--profile", action="store_true", help="also profile the memory mock under load")
    args = parser.parse_args(argv)
    unknown = [s for s in args.servers if s not in SERVERS]
    if unknown:
        parser.error(f"--servers: unknown {unknown}; known: {', '.join(SERVERS)}")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run what the options ask for; exit 2 when wrk is missing."""
    args = parse_args(argv)
    if not args.no_load and shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    sys.path.insert(0, str(ROOT))
    print(f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.profile:
            run_profile(args, workdir)
        if not args.no_load:
            run_load(args, workdir)
        if not args.no_curve:
            run_curve(args, workdir)
    if not args.no_gate:
        run_gate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
