"""Faults injected by the proxy (``proxy --faults``, docs/faults.md): the mock's rules, applied to forwarded traffic."""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_server.app import create_app
from mock_server.runner import serve_in_thread
from suites.proxy.addon import ContractProxy
from suites.proxy.server import RunningProxy, start_proxy
from villa_contracts.faults import HEADER

pytestmark = pytest.mark.socket


@contextmanager
def proxied(tmp_path: Path, rules: list[dict[str, Any]]) -> Iterator[RunningProxy]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"rules": rules}), encoding="utf-8")
    with serve_in_thread(lambda url: create_app(base_url=url)) as mock:
        settings = {
            "villa_upstream": mock.base_url,
            "villa_report_dir": str(tmp_path / "reports"),
            "villa_catalog": "off",
            "villa_faults": str(faults),
        }
        addon = ContractProxy(lambda verdict, new: None)
        with start_proxy(addon, upstream=mock.base_url, confdir=tmp_path / "conf", settings=settings) as proxy:
            yield proxy


def skipped(tmp_path: Path) -> dict[str, str]:
    data = json.loads((tmp_path / "reports" / "summary.json").read_text())
    return {s["subject"]: s["reason"] for s in data["phases"][0]["skipped"]}


def test_the_same_seed_gives_the_same_faults_and_they_are_reported_as_injected(tmp_path: Path) -> None:
    rule = {
        "operation": "villa.createOrder",
        "probability": 0.3,
        "seed": 1,
        "effect": {"status": 503, "undeclared": True},
    }
    runs = []
    for run in range(2):
        with proxied(tmp_path / str(run), [rule]) as proxy, httpx.Client() as client:
            answers = [client.post(f"{proxy.url}/api/order/create", json={}) for _ in range(40)]
        runs.append([a.headers.get(HEADER) for a in answers])
        assert all(a.status_code == (503 if a.headers.get(HEADER) else 401) for a in answers)
    rng = random.Random(1)
    assert runs[0] == runs[1]
    assert [label is not None for label in runs[0]] == [rng.random() < 0.3 for _ in range(40)]
    count = sum(1 for label in runs[0] if label)
    reason = skipped(tmp_path / "0")["villa.createOrder"]
    assert reason.startswith(f"{count} request(s) injected by the proxy ({HEADER}: 0:status=503)")


def test_drop_kills_the_exchange_and_latency_is_marked(tmp_path: Path) -> None:
    rules = [
        {"method": "GET", "path": "/api/health", "effect": {"drop": True}},
        {"operation": "villa.createCharge", "effect": {"latencyMs": 20}},
    ]
    with proxied(tmp_path, rules) as proxy:
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{proxy.url}/api/health")
        charged = httpx.post(f"{proxy.url}/api/payment3/charge", json={})
    assert charged.status_code == 401 and charged.headers[HEADER] == "1:latencyMs=20"
    assert skipped(tmp_path)["villa.health"] == f"1 request(s) injected by the proxy ({HEADER}: 0:drop): killed"


def test_truncate_sends_half_the_body_under_its_whole_length_then_closes(tmp_path: Path) -> None:
    with proxied(tmp_path, [{"method": "GET", "path": "/api/health", "effect": {"truncate": True}}]) as proxy:
        host, port = proxy.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while part := raw.recv(65536):  # until the proxy closes the connection
                got += part
        with pytest.raises(httpx.RemoteProtocolError):  # what a client sees: the answer ends early
            httpx.get(f"{proxy.url}/api/health")
    head, _, body = got.partition(b"\r\n\r\n")
    headers = dict(line.split(": ", 1) for line in head.decode().lower().split("\r\n")[1:])
    assert head.startswith(b"HTTP/1.1 200")
    assert headers[HEADER.lower()] == "0:truncate"
    assert len(body) == int(headers["content-length"]) // 2 > 0


def test_a_slow_body_comes_through_the_relay_whole_marked_and_judged(tmp_path: Path) -> None:
    rules = [{"method": "GET", "path": "/api/health", "effect": {"slowBodyMs": 300}}]
    with proxied(tmp_path, rules) as proxy, httpx.Client() as client:
        started = time.monotonic()
        with client.stream("GET", f"{proxy.url}/api/health") as answer:
            headed = time.monotonic() - started
            body = answer.read()
        whole = time.monotonic() - started
        again = client.get(f"{proxy.url}/api/health")  # the next one too: the relay serves each
    assert answer.status_code == 200 and json.loads(body)["status"] == "ok"
    assert answer.headers[HEADER] == "0:slowBodyMs=300" and again.json()["status"] == "ok"
    assert whole - headed >= 0.25  # the body came in parts after the head (never sooner than asked)
    data = json.loads((tmp_path / "reports" / "summary.json").read_text())
    judged = [c for c in data["checks"] if c.get("operation") == "health"] if "checks" in data else None
    assert judged is None or judged, data
    assert not data["failures"], data["failures"]
