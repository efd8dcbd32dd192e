"""Two workers against one on Redis with wrk on a core of its own, and the mock's RSS under a 5-minute load.

What it prints:

1. **Scaling** (``POST /api/order/get`` under ``wrk -t1 -c16``, 1 worker and then 2, ``--rounds``
   times in turn). wrk runs alone on core 1 (``taskset -c 1``). Everything else runs on core 0: a
   Redis server of the bench's own (``taskset -c 0``, nothing saved) and the mock's processes
   (``taskset -c 0``). Two pinnings:

   - *one core for all workers*: on a 2-core machine, two workers then share the one core a
     single worker had, so no gain is possible there; the row shows that, and the CPU time each
     request cost (user + system of the mock's processes), which tells whether a second worker
     adds cost of its own (contention) or only divides the same work;
   - *a share of a core per worker* (``--worker-share``, default 30 %): each mock process gets
     its own CPU quota (a cgroup of its own, ``cpu.cfs_quota_us`` or ``cpu.max``), so two
     workers have twice the CPU of one, as on a machine with a core per worker; Redis stays
     uncapped on core 0. Needs root and a writable cgroup ``cpu`` controller; otherwise this
     pinning is skipped with one line saying why.

   req/s, p50, p99 (wrk's) and 2 workers / 1 worker, medians of the rounds.
2. **RSS under load** (``--soak-seconds``, default 300, per store): wrk drives a mix of calls
   (read an order, update it, price a basket, a refused body, a call without a token) against
   the mock on memory, SQLite and Redis; the RSS of the mock's process is sampled every
   ``--sample-seconds``. Printed: the samples, the growth over the run after the first minute,
   and the 5xx answers (counted by wrk's ``response`` hook; any is a bug).

    .venv/bin/python bench/scale_and_rss.py                      # both (~17 minutes)
    .venv/bin/python bench/scale_and_rss.py --no-rss             # scaling only (~3 minutes)
    .venv/bin/python bench/scale_and_rss.py --no-scaling --soak-seconds 60 --stores memory

Needs wrk (``apt-get install wrk``) and redis-server on the PATH. The test suite never runs this;
it only checks ``--help``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fast_and_shared as shared  # noqa: E402

WRK_MIX = """
local token = os.getenv("BENCH_TOKEN")
local calls = {
  {"POST", "/api/order/get", "Bearer " .. token, [==[%(get)s]==]},
  {"POST", "/api/order/update", "Bearer " .. token, [==[%(update)s]==]},
  {"POST", "/api/webPayment/calculateGrandtotal", "Bearer " .. token, [==[%(price)s]==]},
  {"POST", "/api/order/get", "Bearer " .. token, [==[{"orderId": [1, 2]}]==]},
  {"POST", "/api/order/get", "", [==[%(get)s]==]},
}
local n = 0
fivexx = 0
threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  n = n + 1
  local call = calls[(n %% #calls) + 1]
  local headers = {["Content-Type"] = "application/json"}
  if call[3] ~= "" then headers["Authorization"] = call[3] end
  return wrk.format(call[1], call[2], headers, call[4])
end

function response(status, headers, body)
  if status >= 500 then fivexx = fivexx + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("fivexx") end
  io.write(string.format("5xx: %%d\\n", total))
end
"""


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of ``pids`` so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


class CpuQuota:
    """A CPU quota per process: a cgroup of its own in the ``cpu`` controller (v1 or v2)."""

    def __init__(self, share: float) -> None:
        """Cap each process given to ``cap`` at ``share`` of one core."""
        self.share = share
        self.groups: list[Path] = []
        v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
        controllers = v2 / "cgroup.controllers"
        if (v1 / "cgroup.procs").exists():
            self.root, self.v2 = v1, False
        elif controllers.exists() and "cpu" in controllers.read_text().split():
            self.root, self.v2 = v2, True
        else:
            raise OSError("no cgroup cpu controller is mounted")
        probe = self.root / f"villa-bench-probe-{os.getpid()}"
        probe.mkdir()  # PermissionError / OSError when not allowed
        probe.rmdir()

    def cap(self, pid: int) -> None:
        """Put ``pid`` in a group of its own with the quota."""
        group = self.root / f"villa-bench-{pid}"
        group.mkdir(exist_ok=True)
        period = 100_000
        quota = int(self.share * period)
        if self.v2:
            (group / "cpu.max").write_text(f"{quota} {period}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(period))
            (group / "cpu.cfs_quota_us").write_text(str(quota))
        (group / "cgroup.procs").write_text(str(pid))
        self.groups.append(group)

    def release(self) -> None:
        """Remove the groups (their processes have ended)."""
        for group in self.groups:
            for _ in range(50):
                try:
                    group.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        self.groups = []


@contextmanager
def private_redis(core: str) -> Iterator[str]:
    """A Redis server of the bench's own on ``core`` (nothing saved), as a URL."""
    port = shared._free_port()
    command = ["taskset", "-c", core, "redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        shared._wait(port, proc)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def _scaling_once(
    workers: int, url: str, quota: CpuQuota | None, args: argparse.Namespace, lua: Path
) -> dict[str, float]:
    port = shared._free_port()
    command = [str(shared.VILLA), "serve", "--port", str(port), "--store", url]
    command += ["--store-prefix", f"villa-bench:{uuid.uuid4().hex[:8]}:"]
    if workers > 1:
        command += ["--workers", str(workers)]
    with shared._server(command, "0", port) as proc:
        pids = shared._tree(proc.pid)
        if quota is not None:
            for pid in pids:
                quota.cap(pid)
        prepared = shared._prepare(f"http://127.0.0.1:{port}")
        cpu_before, started = _cpu_seconds(pids), time.monotonic()
        rps, p50, p99, errors = shared._wrk(port, prepared, args.seconds, args.connections, lua)
        cpu = _cpu_seconds(pids) - cpu_before
        took = time.monotonic() - started
    if quota is not None:
        quota.release()
    # wrk's warm-up (2 s) is inside the CPU window: count its requests at the measured rate.
    served = rps * took
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors, "cpu_us": cpu / served * 1e6 if served else 0.0}


def run_scaling(args: argparse.Namespace, workdir: Path) -> None:
    """Print 1 worker against 2 on Redis, wrk alone on core 1, per pinning."""
    lua = workdir / "order_get.lua"
    lua.write_text(shared.WRK_LUA)
    pinnings: list[tuple[str, CpuQuota | None]] = [("one core for all workers (core 0)", None)]
    try:
        label = f"{args.worker_share:.0%} of a core per worker (cgroup quota, core 0)"
        pinnings.append((label, CpuQuota(args.worker_share)))
    except OSError as exc:
        print(f"   (skipping the quota pinning: {exc}; run as root where the cgroup cpu controller is writable)")
    print(
        f"\n== scaling on Redis: POST /api/order/get, wrk -t1 -c{args.connections} -d{args.seconds:.0f}s alone on "
        f"core 1; the bench's own redis-server and the mock's processes on core 0; {args.rounds} round(s), medians"
    )
    print(f"{'pinning':<52}{'workers':>8}{'req/s':>8}{'p50 ms':>8}{'p99 ms':>8}{'CPU µs/req':>11}{'non-2xx':>8}")
    with private_redis("0") as url:
        for label, quota in pinnings:
            runs: dict[int, list[dict[str, float]]] = {1: [], 2: []}
            for _ in range(args.rounds):
                for workers in (1, 2):
                    runs[workers].append(_scaling_once(workers, url, quota, args, lua))
            for workers in (1, 2):
                rows = runs[workers]
                median = {key: statistics.median(r[key] for r in rows) for key in ("rps", "p50", "p99", "cpu_us")}
                errors = int(sum(r["errors"] for r in rows))
                print(
                    f"{label if workers == 1 else '':<52}{workers:>8}{median['rps']:>8.0f}{median['p50']:>8.2f}"
                    f"{median['p99']:>8.2f}{median['cpu_us']:>11.0f}{errors:>8}"
                )
            ratios = [two["rps"] / one["rps"] for one, two in zip(runs[1], runs[2], strict=True)]
            shown = ", ".join(f"{r:.2f}" for r in ratios)
            print(f"{'':<52}2 workers / 1: {statistics.median(ratios):.2f}x (rounds: {shown})")
    print(f"   load average after: {shared._load_average()} (this machine has {os.cpu_count()} cores)")


def _mix(prepared: dict[str, Any]) -> str:
    order = prepared["order"]
    update = {key: order[key] for key in ("orderId", "ownerId", "basketId", "branchId")}
    update["productList"] = [{"cprcode": 25281, "quantity": 1}, {"cprcode": 188468, "quantity": 2}]
    price = {"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 2}]}
    return WRK_MIX % {
        "get": prepared["body"],
        "update": json.dumps(update),
        "price": json.dumps(price),
    }


def _sample_rss(pid: int, every: float, stop: threading.Event, out: list[tuple[float, float]]) -> None:
    started = time.monotonic()
    while not stop.wait(every):
        out.append((time.monotonic() - started, shared._rss_mib(pid)))


def run_rss(args: argparse.Namespace, workdir: Path) -> None:
    """Print the RSS of the mock, per store, under ``--soak-seconds`` of mixed load."""
    print(
        f"\n== RSS under load: {args.soak_seconds:.0f} s of wrk -t1 -c{args.connections} per store, a mix of "
        "get / update / price / refused body / no token; RSS sampled every "
        f"{args.sample_seconds:.0f} s (mock on core 0, wrk on core 1)"
    )
    with private_redis("0") as url:
        for store in args.stores:
            port = shared._free_port()
            command = [str(shared.VILLA), "serve", "--port", str(port)]
            if store == "sqlite":
                command += ["--db", str(workdir / f"rss-{port}.db")]
            elif store == "redis":
                command += ["--store", url, "--store-prefix", f"villa-bench:{uuid.uuid4().hex[:8]}:"]
            with shared._server(command, "0", port) as proc:
                prepared = shared._prepare(f"http://127.0.0.1:{port}")
                lua = workdir / f"mix-{store}.lua"
                lua.write_text(_mix(prepared))
                samples: list[tuple[float, float]] = [(0.0, shared._rss_mib(proc.pid))]
                stop = threading.Event()
                sampler = threading.Thread(target=_sample_rss, args=(proc.pid, args.sample_seconds, stop, samples))
                sampler.start()
                env = {**os.environ, "BENCH_TOKEN": prepared["token"]}
                wrk = ["taskset", "-c", "1", "wrk", "-t1", f"-c{args.connections}", "-s", str(lua)]
                wrk += [f"-d{args.soak_seconds:.0f}s", f"http://127.0.0.1:{port}/"]
                out = subprocess.run(wrk, env=env, capture_output=True, text=True, check=True).stdout
                stop.set()
                sampler.join()
            _print_rss(store, samples, out)


def _print_rss(store: str, samples: list[tuple[float, float]], wrk_out: str) -> None:
    import re

    rps = re.search(r"Requests/sec:\s+([0-9.]+)", wrk_out)
    total = re.search(r"(\d+) requests in", wrk_out)
    fivexx = re.search(r"5xx: (\d+)", wrk_out)
    after_minute = [mib for t, mib in samples if t >= 60] or [samples[-1][1]]
    series = " ".join(f"{mib:.0f}" for _, mib in samples)
    rate = float(rps.group(1)) if rps else 0.0
    count = int(total.group(1)) if total else 0
    print(
        f"{store:<8} {rate:>7.0f} req/s, {count:>9,} requests, 5xx {fivexx.group(1) if fivexx else '?'}; "
        f"RSS MiB: start {samples[0][1]:.0f}, at 1 min {after_minute[0]:.0f}, "
        f"max {max(m for _, m in samples):.0f}, end {samples[-1][1]:.0f} "
        f"(after the first minute: {after_minute[-1] - after_minute[0]:+.1f} MiB)"
    )
    print(f"         samples: {series}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``--help`` shows it)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scaling run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk's keep-alive connections (default 16)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 1 and 2 workers in turn (default 3)")
    parser.add_argument(
        "--worker-share", type=float, default=0.30, help="CPU quota of each mock process, in cores (default 0.30)"
    )
    parser.add_argument("--soak-seconds", type=float, default=300.0, help="load per store for RSS (default 300)")
    parser.add_argument("--sample-seconds", type=float, default=15.0, help="RSS sampling interval (default 15)")
    parser.add_argument(
        "--stores", default="memory,sqlite,redis", type=lambda s: [x for x in s.split(",") if x],
        help="stores of the RSS runs (default memory,sqlite,redis)",
    )  # fmt: skip
    parser.add_argument("--no-scaling", action="store_true", help="skip the scaling runs")
    parser.add_argument("--no-rss", action="store_true", help="skip the RSS runs")
    args = parser.parse_args(argv)
    unknown = [s for s in args.stores if s not in ("memory", "sqlite", "redis")]
    if unknown:
        parser.error(f"--stores: unknown {unknown}; known: memory, sqlite, redis")
    if not 0 < args.worker_share <= 1:
        parser.error("--worker-share: a share of one core, above 0 and at most 1 (e.g. 0.3)")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run what the options ask for; exit 2 when wrk or redis-server is missing."""
    args = parse_args(argv)
    for tool, package in (("wrk", "wrk"), ("redis-server", "redis-server"), ("taskset", "util-linux")):
        if shutil.which(tool) is None:
            print(f"bench: {tool} is not installed (apt-get install {package})", file=sys.stderr)
            return 2
    sys.path.insert(0, str(shared.ROOT))
    print(f"{os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_scaling:
            run_scaling(args, Path(tmp))
        if not args.no_rss:
            run_rss(args, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
