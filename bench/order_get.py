"""Benchmark: ``POST /api/order/get`` on the mock vs a bare Starlette handler, same JSON, same run.

Each server runs in its own process (uvicorn, one worker, on 127.0.0.1); a load process with
keep-alive connections sends requests for a fixed time and records every latency. The mock path
is the full one: ID-token check, request validation, storage read, response validation, journal.

    .venv/bin/python bench/order_get.py [--seconds 10] [--connections 16]

Target (issue #2): the mock keeps at least half the bare handler's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import statistics
import time
from typing import Any


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_mock(port: int, ready: Any, out: Any) -> None:
    import uvicorn
    from starlette.testclient import TestClient

    from mock_server.app import create_app
    from villa_contracts.contract import load

    app = create_app(base_url=f"http://127.0.0.1:{port}")
    user = load().data("users")[0]
    with TestClient(app) as client:  # prepare an order through the app itself
        token = client.post(f"/__admin/users/{user['username']}/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        order_id = client.post("/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()["orderId"]
        body = {"orderId": order_id, "ownerId": user["sub"], "basketId": user["sub"], "branchId": "1000",
                "productList": [{"cprcode": 25281, "quantity": 1}, {"cprcode": 188468, "quantity": 2}]}  # fmt: skip
        order = client.post("/api/order/create", json=body, headers=headers).json()
    out.put({"token": token, "orderId": order_id, "order": order})
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error", access_log=False)


def _serve_bare(port: int, order: dict[str, Any]) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def get(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(order)

    uvicorn.run(Starlette(routes=[Route("/api/order/get", get, methods=["POST"])]), host="127.0.0.1", port=port,
                log_level="error", access_log=False)  # fmt: skip


async def _load(port: int, request: bytes, seconds: float, connections: int) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            )
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {head[:40]!r} {body[:200]!r}")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return latencies


def _wait(port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server on {port} did not start")


def _measure(
    name: str, port: int, body: bytes, token: str | None, seconds: float, connections: int
) -> dict[str, float]:
    auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
    request = (b"POST /api/order/get HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" + auth +
               f"Content-Length: {len(body)}\r\n\r\n".encode() + body)  # fmt: skip
    asyncio.run(_load(port, request, 1.0, connections))  # warm-up
    latencies = sorted(asyncio.run(_load(port, request, seconds, connections)))
    result = {
        "requests": len(latencies),
        "rps": len(latencies) / seconds,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }
    print(f"{name:<34} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms"
          f"   ({result['requests']} requests)")  # fmt: skip
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per server (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    mock_port, bare_port = _free_port(), _free_port()
    ready, out = ctx.Event(), ctx.Queue()
    mock = ctx.Process(target=_serve_mock, args=(mock_port, ready, out), daemon=True)
    mock.start()
    prepared = out.get(timeout=60)
    bare = ctx.Process(target=_serve_bare, args=(bare_port, prepared["order"]), daemon=True)
    bare.start()
    try:
        _wait(mock_port)
        _wait(bare_port)
        body = json.dumps({"orderId": prepared["orderId"]}).encode()
        print(
            f"POST /api/order/get, {args.connections} connections, {args.seconds:.0f} s each, one uvicorn worker each"
        )
        bare_r = _measure("bare Starlette handler (same JSON)", bare_port, body, None, args.seconds, args.connections)
        mock_r = _measure(
            "villa mock (token + validation)", mock_port, body, prepared["token"], args.seconds, args.connections
        )
        ratio = mock_r["rps"] / bare_r["rps"]
        verdict = "meets" if ratio >= 0.5 else "MISSES"
        print(f"mock/bare throughput: {ratio:.2f}  ({verdict} the target of at least 0.50)")
    finally:
        for proc in (mock, bare):
            proc.terminate()
            proc.join(5)


if __name__ == "__main__":
    main()
