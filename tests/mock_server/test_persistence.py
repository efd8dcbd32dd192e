"""With --db, state survives the server being killed with SIGKILL and started again."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from villa_contracts.contract import load

pytestmark = pytest.mark.socket


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(db: Path, port: int) -> subprocess.Popen[bytes]:
    log = (db.parent / "serve.log").open("ab")
    villa = Path(sys.executable).with_name("villa-contracts")
    proc = subprocess.Popen(
        [str(villa), "serve", "--port", str(port), "--db", str(db)],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=0.5).status_code == 200:
                log.close()  # the child keeps its own copy of the descriptor
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    log.close()
    raise AssertionError(f"mock did not start: {(db.parent / 'serve.log').read_text()}")


def test_order_survives_sigkill(tmp_path: Path) -> None:
    db, port = tmp_path / "villa.db", _free_port()
    base = f"http://127.0.0.1:{port}"
    user = load().data("users")[0]
    proc = _start(db, port)
    try:
        token = httpx.post(f"{base}/__admin/users/{user['username']}/tokens").json()["IdToken"]
        headers = {"Authorization": f"Bearer {token}"}
        order_id = httpx.post(f"{base}/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()[
            "orderId"
        ]
        body = {
            "orderId": order_id,
            "ownerId": user["sub"],
            "basketId": user["sub"],
            "productList": [{"cprcode": 25281, "quantity": 1}],
        }
        created = httpx.post(f"{base}/api/order/create", json=body, headers=headers).json()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    proc = _start(db, port)
    try:
        # The token was signed with the persisted key: it is still valid after the restart.
        fetched = httpx.post(f"{base}/api/order/get", json={"orderId": order_id}, headers=headers)
        assert fetched.status_code == 200
        assert fetched.json() == created
        next_id = httpx.post(f"{base}/api/order2/gentele", json={"branchId": "1000"}, headers=headers).json()["orderId"]
        assert next_id != order_id
    finally:
        proc.terminate()
        proc.wait(10)
