"""Benchmark: a page of orders at 10,000 orders of one customer, and what two listing clients cost everyone else.

Issue 21, point 7: the line-item list read all of a caller's orders for a 10-item page; at ~2,000
orders two clients listing pushed every client's ``/api/health`` from 3 ms to ~1.1 s. Per store
(memory, SQLite, Redis), one mock process (uvicorn on 127.0.0.1) is seeded with ``--orders``
line-item orders of one user (through the API) and as many shop orders of one customer (one real
checkout, its record filed again under new keys the way checkout files them), then:

1. page latency: one keep-alive client asks, one after another, for the newest page, a deep page
   and a filtered page of line-item orders, and the newest and a deep page of shop orders
   (p50 and p99 of each);
2. other clients: ``wrk --latency`` on ``/api/health`` alone, then again while two clients list
   pages without pause (p50 and p99 of health, and how many pages the two listed).

    .venv/bin/python bench/list_scale.py [--orders 10000] [--seconds 5] [--stores memory,sqlite,redis]

Target: a page in at most 5 ms on memory and SQLite at 10,000 orders; health's p99 unchanged while
two clients list. Needs wrk (``/usr/bin/wrk``) and, for the Redis row, a Redis server (``--redis``).
Figures depend on the machine: on a shared one, compare rows of one run, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

STORES = ("memory", "sqlite", "redis")
ADDRESS = {"firstname": "A", "lastname": "B", "address1": "1 Hill", "zipcode": "47546", "phone": "555-8450"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (``--help`` shows the module's description)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=10_000, help="orders of the one customer (default 10000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of each wrk run (default 5)")
    parser.add_argument("--pages", type=int, default=200, help="requests per page kind (default 200)")
    parser.add_argument("--stores", default=",".join(STORES), help=f"stores to run (default {','.join(STORES)})")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="the Redis server of the Redis row")
    args = parser.parse_args(argv)
    args.stores = [s for s in args.stores.split(",") if s]
    unknown = [s for s in args.stores if s not in STORES]
    if unknown:
        parser.error(f"--stores: unknown {unknown}; known: {', '.join(STORES)}")
    return args


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(client: Any, orders: int) -> dict[str, str]:
    """``orders`` line-item orders of the first test user, and as many shop orders of theirs; the credentials."""
    from mock_server.handlers.shop_orders import CUSTOMER_ORDERS, ORDERS
    from villa_contracts.contract import load

    user = load().data("users")[0]
    token = client.post(f"/__admin/users/{user['username']}/tokens").json()["IdToken"]
    bearer = {"Authorization": f"Bearer {token}"}
    for n in range(orders):
        lines = [{"variant_id": 33, "quantity": 1}] if n % 3 else []
        assert client.post("/api/v1/orders.json", json={"line_items": lines, "ship_address": ADDRESS},
                           headers=bearer).status_code == 201  # fmt: skip
    key = client.post("/api/shop/auth/token", json={"username": user["username"], "password": user["password"]})
    shop = {"Authorization": f"Token {key.json()['token']}"}
    client.post("/api/shop/cart/items", json={"product_id": 188468, "quantity": 1}, headers=shop)
    client.post("/api/shop/checkout/cart", json={"address": 123, "payment_method": 3, "shipping_method": 2},
                headers=shop)  # fmt: skip
    state = client.app.state.mock
    first = client.get("/api/shop/orders", headers=shop).json()["results"][0]["order_key"]
    record, customer = state.store.get(ORDERS, first), key.json()["customer"]
    for n in range(2, orders + 1):
        order_key = f"ORD-2026-{n:06d}"
        with state.store.transaction():
            state.store.put(ORDERS, order_key, {**record, "order_key": order_key})
            state.store.index_put(f"{CUSTOMER_ORDERS}:{customer}", order_key, state.store.next_sequence("shop_filed"))
    return {"bearer": bearer["Authorization"], "shop": shop["Authorization"]}


def _serve(store_name: str, port: int, orders: int, redis_url: str, workdir: str, out: Any) -> None:
    import uvicorn
    from starlette.testclient import TestClient

    from mock_server.app import create_app
    from mock_server.storage import open_storage

    if store_name == "sqlite":
        store = open_storage(str(Path(workdir) / "bench.db"))
    elif store_name == "redis":
        store = open_storage(None, url=redis_url, prefix=f"villa-bench:{uuid.uuid4().hex[:8]}:")
    else:
        store = open_storage(None)
    app = create_app(base_url=f"http://127.0.0.1:{port}", store=store)
    with TestClient(app) as client:
        out.put(_seed(client, orders))
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)
    finally:
        if store_name == "redis":
            store.reset()


async def _get(port: int, paths: list[str], headers: dict[str, str], deadline: float | None) -> list[float]:
    """GET each path in turn on one keep-alive connection (until ``deadline``, round and round); the latencies."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    latencies: list[float] = []
    index = 0
    while deadline is None and index < len(paths) or deadline is not None and time.perf_counter() < deadline:
        path = paths[index % len(paths)]
        index += 1
        start = time.perf_counter()
        writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        latencies.append(time.perf_counter() - start)
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"{path}: {head[:60]!r}")
    writer.close()
    return latencies


def _pct(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(int(len(ordered) * share) - 1, 0)] * 1000


def _pages(orders: int) -> dict[str, tuple[str, str]]:
    last = max(-(-orders // 10), 1)
    return {
        "items page 1": ("/api/orders.json", "bearer"),
        f"items page {last}": (f"/api/orders.json?page={last}", "bearer"),
        "items not_completed p.5": ("/api/orders.json?type=not_completed&page=5", "bearer"),
        "shop page 1": ("/api/shop/orders", "shop"),
        f"shop page {last}": (f"/api/shop/orders?page={last}", "shop"),
    }


def _listers(port: int, creds: dict[str, str], orders: int, seconds: float, out: Any) -> None:
    last = max(-(-orders // 10), 1)
    paths = [f"/api/orders.json?page={p}" for p in (1, last // 2, last)]
    shop = [f"/api/shop/orders?page={p}" for p in (1, last // 2, last)]
    deadline = time.perf_counter() + seconds

    async def both() -> tuple[list[float], list[float]]:
        return await asyncio.gather(
            _get(port, paths, {"Authorization": creds["bearer"]}, deadline),
            _get(port, shop, {"Authorization": creds["shop"]}, deadline),
        )

    out.put([len(done) for done in asyncio.run(both())])


def _wrk(port: int, seconds: float) -> tuple[float, float, int]:
    """The p50 and p99 (ms) and the requests of wrk on ``/api/health``."""
    command = ["wrk", "-t1", "-c4", f"-d{seconds:g}s", "--latency", f"http://127.0.0.1:{port}/api/health"]
    text = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}%\s+([0-9.]+)(us|ms|s)\b", text, re.MULTILINE).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    return ms("50"), ms("99"), requests


def _wait(port: int) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the mock on {port} did not start")


def run_store(ctx: Any, name: str, args: argparse.Namespace) -> None:
    """Seed one store's mock, then print its page latencies and health's p99 alone and beside two listers."""
    port, out = _free_port(), ctx.Queue()
    with tempfile.TemporaryDirectory() as workdir:
        started = time.perf_counter()
        server = ctx.Process(target=_serve, args=(name, port, args.orders, args.redis, workdir, out), daemon=True)
        server.start()
        try:
            creds = out.get(timeout=3600)
            _wait(port)
            print(f"\n== {name}: {args.orders} line-item and {args.orders} shop orders of one customer "
                  f"(seeded in {time.perf_counter() - started:.0f} s)")  # fmt: skip
            for label, (path, cred) in _pages(args.orders).items():
                headers = {"Authorization": creds[cred]}
                asyncio.run(_get(port, [path] * 20, headers, None))  # warm-up
                latencies = asyncio.run(_get(port, [path] * args.pages, headers, None))
                print(f"   {label:<26} p50 {_pct(latencies, 0.5):7.2f} ms   p99 {_pct(latencies, 0.99):7.2f} ms")
            alone = _wrk(port, args.seconds)
            listed = ctx.Queue()
            lister = ctx.Process(target=_listers, args=(port, creds, args.orders, args.seconds + 1, listed))
            lister.start()
            time.sleep(0.5)
            beside = _wrk(port, args.seconds)
            lister.join(args.seconds + 30)
            pages = listed.get(timeout=10)
            health = "   /api/health {:<16} p50 {:7.2f} ms   p99 {:7.2f} ms   ({} requests{})"
            print(health.format("alone", *alone, ""))
            print(health.format("two listing", *beside, f"; the two listed {pages[0]} + {pages[1]} pages"))
        finally:
            server.terminate()
            server.join(10)


def main(argv: list[str] | None = None) -> None:
    """Run every store of ``--stores`` in turn."""
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is needed (apt-get install wrk)")
    ctx = mp.get_context("spawn")
    print(f"list_scale: {args.orders} orders, {args.pages} requests per page kind, wrk -t1 -c4 -d{args.seconds:g}s")
    for name in args.stores:
        run_store(ctx, name, args)


if __name__ == "__main__":
    main()
