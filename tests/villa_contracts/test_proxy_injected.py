"""Faults injected by the proxy (``proxy --faults``, docs/faults.md): the mock's rules, applied to forwarded traffic."""

from __future__ import annotations

import json
import random
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
from villa_contracts.errors import UsageError
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


def test_the_proxy_refuses_effects_only_the_mock_applies(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="truncate"):
        with proxied(tmp_path, [{"operation": "villa.createOrder", "effect": {"truncate": True}}]):
            pass
