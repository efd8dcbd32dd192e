"""Slow clients beside a normal one: does the normal client still get served, and how fast?

The attack (issue 21, point 2): ``--connections`` unauthenticated connections (1,100 by default)
that each send a request head promising a 1,000-byte body, then one body byte every ``--interval``
seconds (2 s), and connect again whenever the mock closes or answers them. It runs in a process of
its own, so that its event loop does not slow the normal client's measurements down. After
``--warmup`` seconds (long enough for every timer of the mock to have fired at least once), a
normal client sends requests one after another for ``--seconds``: the health check and an
authenticated ``/api/order2/gentele``, every other one on a fresh connection.

    .venv/bin/python bench/slow_clients.py                       # starts `villa-contracts serve`
    .venv/bin/python bench/slow_clients.py --url http://127.0.0.1:8080 --connections 200

It prints the normal client's success rate and latency percentiles, and what the attackers got.
Target: the normal client's requests at least 95 % 2xx, p99 under 1 s. Loopback only, bounded in
connections and time; the figures are the machine's, so compare them on a quiet one.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import multiprocessing as mp
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parents[1]
VILLA = Path(sys.executable).with_name("villa-contracts")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a mock already running on loopback (default: start one)")
    parser.add_argument("--connections", type=int, default=1100, help="slow connections (default 1100)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between their body bytes (default 2)")
    parser.add_argument("--warmup", type=float, default=15.0, help="seconds of attack before measuring (default 15)")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds the normal client runs (default 30)")
    args = parser.parse_args(argv)
    if args.url and urlsplit(args.url).hostname not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--url must be on loopback: this is an attack")
    if not 1 <= args.connections <= 20_000:
        parser.error("--connections must be between 1 and 20000")
    return args


def _more_files(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else wanted
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, target), hard))


# -- the attacker (a process of its own) -----------------------------------------------------------


async def _slow_connection(
    host: str, port: int, interval: float, stop: float, outcomes: collections.Counter[str]
) -> None:
    head = (
        f"POST /api/shop/auth/token HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n"
    ).encode()
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            outcomes["connect failed"] += 1
            await asyncio.sleep(interval)
            continue
        outcomes["connections"] += 1
        try:
            writer.write(head)
            while time.monotonic() < stop:
                writer.write(b"{")
                await writer.drain()
                try:
                    answer = await asyncio.wait_for(reader.read(64), interval)
                except TimeoutError:
                    continue  # nothing yet: the next byte
                status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
                outcomes[f"answered {status}" if status != "closed" else "closed without an answer"] += 1
                break
        except OSError:
            outcomes["closed without an answer"] += 1
        finally:
            writer.close()


def _attack(host: str, port: int, connections: int, interval: float, seconds: float, out: Any) -> None:
    _more_files(connections + 256)
    outcomes: collections.Counter[str] = collections.Counter()

    async def main() -> None:
        stop = time.monotonic() + seconds
        tasks = []
        for index in range(connections):
            tasks.append(asyncio.create_task(_slow_connection(host, port, interval, stop, outcomes)))
            if index % 100 == 99:
                await asyncio.sleep(0.05)  # ramp up rather than one SYN flood
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    out.put(dict(outcomes))


# -- the normal client ---------------------------------------------------------------------------


def _token(base: str) -> dict[str, str]:
    from villa_contracts.contract import load

    username = load().data("users")[0]["username"]
    token = httpx.post(f"{base}/__admin/users/{username}/tokens", timeout=10).json()["IdToken"]
    return {"Authorization": f"Bearer {token}"}


def _normal_client(base: str, seconds: float, headers: dict[str, str]) -> list[tuple[str, int | str, float]]:
    results: list[tuple[str, int | str, float]] = []
    stop = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10) as kept:
        index = 0
        while time.monotonic() < stop:
            fresh = index % 2 == 1
            kind = ("health", "gentele")[index // 2 % 2]
            index += 1
            started = time.perf_counter()
            try:
                if fresh:
                    with httpx.Client(base_url=base, timeout=10) as once:
                        answer = _call(once, kind, headers)
                else:
                    answer = _call(kept, kind, headers)
                outcome: int | str = answer.status_code
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            results.append(
                (f"{kind}, {'fresh' if fresh else 'kept-alive'} connection", outcome, time.perf_counter() - started)
            )
    return results


def _call(client: httpx.Client, kind: str, headers: dict[str, str]) -> httpx.Response:
    if kind == "health":
        return client.get("/api/health")
    return client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers)


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _report(results: list[tuple[str, int | str, float]], attack: dict[str, int], args: argparse.Namespace) -> bool:
    latencies = [seconds for _, _, seconds in results]
    ok = [r for r in results if isinstance(r[1], int) and 200 <= r[1] < 300]
    share = len(ok) / len(results) if results else 0.0
    p99 = _percentile(latencies, 0.99) if latencies else float("inf")
    print(f"slow clients: {args.connections} connections, one body byte every {args.interval:g} s, "
          f"{args.warmup:g} s before measuring; normal client for {args.seconds:g} s")  # fmt: skip
    print(f"normal client: {len(results)} requests, {share:.1%} 2xx")
    if latencies:
        ms = {name: value * 1000 for name, value in (("p50", _percentile(latencies, 0.5)),
              ("p90", _percentile(latencies, 0.9)), ("p99", p99), ("max", max(latencies)),
              ("mean", statistics.mean(latencies)))}  # fmt: skip
        print("  latency: " + ", ".join(f"{name} {value:.1f} ms" for name, value in ms.items()))
    for kind in sorted({k for k, _, _ in results}):
        statuses = collections.Counter(str(s) for k, s, _ in results if k == kind)
        print(f"  {kind}: {dict(sorted(statuses.items()))}")
    print(f"attackers: {dict(sorted(attack.items()))}")
    met = share >= 0.95 and p99 < 1.0
    print(f"target (>= 95 % 2xx, p99 < 1 s): {'met' if met else 'NOT met'}")
    return met


@contextmanager
def _mock() -> Any:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    log = open(os.devnull, "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([str(VILLA), "serve", "--port", str(port)], stdout=log, stderr=log, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the mock did not start")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def main(argv: list[str] | None = None) -> int:
    """Run the attack beside a normal client; exit 0 when the target is met."""
    args = parse_args(argv)
    with _mock() if args.url is None else _given(args.url) as base:
        parts = urlsplit(base)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        headers = _token(base)  # before the attack: the measurement is of the requests, not of this
        out: Any = mp.Queue()
        attacker = mp.Process(
            target=_attack, args=(host, port, args.connections, args.interval, args.warmup + args.seconds + 1, out)
        )
        attacker.start()
        time.sleep(args.warmup)
        results = _normal_client(base, args.seconds, headers)
        attack = out.get(timeout=args.interval * 4 + 60)
        attacker.join(30)
    return 0 if _report(results, attack, args) else 1


@contextmanager
def _given(url: str) -> Any:
    yield url.rstrip("/")


if __name__ == "__main__":
    sys.exit(main())
