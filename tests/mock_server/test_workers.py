"""Several mock processes share one state through Redis: ``serve --store redis://…`` and ``--workers``.

Real ``villa-contracts serve`` processes on real ports (127.0.0.1): an order made through one is
read, updated and paid through the other; concurrent orders of the last units across both never
oversell; the clock and a reset act on both.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.redis_store import REDIS_URL
from villa_contracts.contract import load

pytestmark = pytest.mark.socket

VILLA = Path(sys.executable).with_name("villa-contracts")
USERS = load().data("users")
CARDS = load().data("test_cards")["cards"]
APPROVE = next(number for number, c in CARDS.items() if c["outcome"] == "approve")
OLIVE_OIL, ARI = 164687, "1002"  # 25 units in stock at branch 1002


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(tmp_path: Path, *args: str, port: int = 0) -> Iterator[str]:
    """``villa-contracts serve <args>`` on ``port`` (a free one by default) until the block ends; yields its URL."""
    port = port or _free_port()
    log_path = tmp_path / f"serve-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(VILLA), "serve", "--port", str(port), *args], stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"mock did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _headers(base: str, user: dict[str, Any]) -> dict[str, str]:
    token = httpx.post(f"{base}/__admin/users/{user['username']}/tokens").json()["IdToken"]
    return {"Authorization": f"Bearer {token}"}


def _order_body(
    base: str, headers: dict[str, str], user: dict[str, Any], branch: str, lines: list[Any]
) -> dict[str, Any]:
    issued = httpx.post(f"{base}/api/order2/gentele", json={"branchId": branch}, headers=headers)
    assert issued.status_code == 200, issued.text
    return {
        "orderId": issued.json()["orderId"],
        "ownerId": user["sub"],
        "basketId": user["sub"],
        "branchId": branch,
        "productList": [{"cprcode": code, "quantity": quantity} for code, quantity in lines],
    }


@pytest.fixture
def pair(tmp_path: Path, redis_prefix: str) -> Iterator[tuple[str, str]]:
    """Two mock processes on two ports, one Redis prefix, one public URL (as behind a load balancer)."""
    port = _free_port()
    store = ("--store", REDIS_URL, "--store-prefix", redis_prefix, "--public-url", f"http://127.0.0.1:{port}")
    with serving(tmp_path, *store, port=port) as one, serving(tmp_path, *store) as two:
        yield one, two


def test_an_order_made_on_one_process_is_read_updated_and_paid_on_the_other(pair: tuple[str, str]) -> None:
    one, two = pair
    user = USERS[0]
    # A token issued by one process verifies on the other: the signing key lives in the store.
    headers = _headers(one, user)
    body = _order_body(one, headers, user, "1000", [(25281, 1)])
    created = httpx.post(f"{one}/api/order/create", json=body, headers=headers)
    assert created.status_code == 200, created.text

    fetched = httpx.post(f"{two}/api/order/get", json={"orderId": body["orderId"]}, headers=headers)
    assert fetched.status_code == 200 and fetched.json() == created.json()

    body["productList"] = [{"cprcode": 25281, "quantity": 2}]
    updated = httpx.post(f"{two}/api/order/update", json=body, headers=headers)
    assert updated.status_code == 200, updated.text
    again = httpx.post(f"{one}/api/order/get", json={"orderId": body["orderId"]}, headers=headers).json()
    assert again["productList"][0]["quantity"] == 2

    total = again["payment"]["grandTotal"]
    token = httpx.post(
        f"{two}/api/payment3devapi/cardtoken",
        json={"orderId": body["orderId"], "basketId": user["sub"], "grandTotal": str(total),
              "card": {"number": APPROVE, "expirationMonth": "12", "expirationYear": "2030"}},
        headers=headers,
    )  # fmt: skip
    assert token.status_code == 200, token.text
    charge = httpx.post(
        f"{two}/api/payment3devapi/charge",
        json={"orderId": body["orderId"], "basketId": user["sub"], "grandTotal": total,
              "token": token.json()["cardToken"]},
        headers=headers,
    )  # fmt: skip
    assert charge.status_code == 200 and charge.json()["transaction_state"] == "Authorized", charge.text
    verified = httpx.post(
        f"{one}/api/payment3devapi/verify",
        json={"orderId": body["orderId"], "chargeId": charge.json()["chargeId"]},
        headers=headers,
    )
    assert verified.status_code == 200 and verified.json()["paid"], verified.text
    paid = httpx.post(f"{two}/api/order/get", json={"orderId": body["orderId"]}, headers=headers).json()
    assert paid["payment"]["isPaid"] and paid["payment"]["status"] == "PAID", paid["payment"]
    # Paid, so neither process lets it change.
    assert httpx.post(f"{two}/api/order/update", json=body, headers=headers).status_code == 409


def test_concurrent_orders_of_the_last_units_across_processes_never_oversell(pair: tuple[str, str]) -> None:
    one, two = pair
    user = USERS[0]
    headers = _headers(one, user)
    # 25 units: 12 orders of 5 units, half through each process, at once: exactly 5 can be served.
    bodies = [_order_body(one, headers, user, ARI, [(OLIVE_OIL, 5)]) for _ in range(12)]

    def create(index: int) -> int:
        base = (one, two)[index % 2]
        return httpx.post(f"{base}/api/order/create", json=bodies[index], headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(create, range(12)))
    assert sorted(statuses) == [200] * 5 + [409] * 7, statuses
    for base in (one, two):
        units = httpx.get(f"{base}/__admin/stock").json()["branches"][ARI][str(OLIVE_OIL)]
        assert units == {"stock": 25, "reserved": 25, "free": 0}


def test_time_travel_and_reset_act_on_every_process(pair: tuple[str, str]) -> None:
    one, two = pair
    user = USERS[0]
    headers = _headers(one, user)
    body = _order_body(one, headers, user, "1000", [(25281, 1)])
    assert httpx.post(f"{one}/api/order/create", json=body, headers=headers).status_code == 200

    assert httpx.post(f"{one}/__admin/clock", json={"advanceSeconds": 3600}).status_code == 200
    assert httpx.get(f"{two}/__admin/clock").json()["offsetSeconds"] == 3600

    assert httpx.post(f"{two}/__admin/reset").status_code == 200
    assert httpx.get(f"{one}/__admin/clock").json()["offsetSeconds"] == 0
    gone = httpx.post(f"{one}/api/order/get", json={"orderId": body["orderId"]}, headers=_headers(one, user))
    assert gone.status_code == 404


def test_workers_share_one_port_over_redis(tmp_path: Path, redis_prefix: str) -> None:
    user = USERS[0]
    with serving(tmp_path, "--store", REDIS_URL, "--store-prefix", redis_prefix, "--workers", "2") as base:
        headers = _headers(base, user)
        body = _order_body(base, headers, user, "1000", [(25281, 1)])
        assert httpx.post(f"{base}/api/order/create", json=body, headers=headers).status_code == 200
        # Fresh connections land on either worker; every one sees the order.
        for _ in range(8):
            got = httpx.post(f"{base}/api/order/get", json={"orderId": body["orderId"]}, headers=headers)
            assert got.status_code == 200 and got.json()["orderId"] == body["orderId"]


def test_workers_over_the_in_memory_store_are_refused() -> None:
    done = subprocess.run(
        [str(VILLA), "serve", "--port", "0", "--workers", "2"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "--workers 2 needs a store the processes share" in done.stderr


def _children(pid: int) -> set[int]:
    return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


def test_a_worker_killed_under_load_is_replaced_and_the_service_answers(tmp_path: Path, redis_prefix: str) -> None:
    # kill -9 of one worker stopped the other one too: the mock exited 0, logged nothing, the port went dark.
    port = _free_port()
    store = ("--store", REDIS_URL, "--store-prefix", redis_prefix, "--workers", "2")
    with serving(tmp_path, *store, port=port) as base:
        (supervisor,) = [int(p) for p in os.listdir("/proc") if p.isdigit() and _serves(int(p), port)]
        deadline = time.monotonic() + 60  # a bound for a broken run, never a speed
        while len(_children(supervisor)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        victim = min(_children(supervisor))
        statuses: list[int | str] = []
        stop = threading.Event()

        def client() -> None:
            while not stop.is_set():
                try:
                    statuses.append(httpx.get(f"{base}/api/health", timeout=10).status_code)
                except httpx.TransportError as exc:
                    statuses.append(type(exc).__name__)

        sender = threading.Thread(target=client, daemon=True)
        sender.start()
        os.kill(victim, signal.SIGKILL)
        log = tmp_path / f"serve-{port}.log"
        while f"worker {victim} was killed by SIGKILL" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        while len(_children(supervisor)) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        stop.set()
        sender.join(30)
        assert statuses and statuses[-1] == 200, statuses[-20:]
        for _ in range(8):  # fresh connections land on either worker, the new one included
            assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200
        assert victim not in _children(supervisor)


def _serves(pid: int, port: int) -> bool:
    """Whether process ``pid`` is the ``villa-contracts serve --port <port>`` this test started (not a worker)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return parent == os.getpid() and b"serve" in argv and str(port).encode() in argv
