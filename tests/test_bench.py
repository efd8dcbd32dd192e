"""The bench scripts parse their command line (they are never run by the tests: no test depends on speed)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _bench():
    spec = importlib.util.spec_from_file_location("fast_and_shared", ROOT / "bench" / "fast_and_shared.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["fast_and_shared"] = module
    spec.loader.exec_module(module)
    return module


def test_bench_options_parse() -> None:
    bench = _bench()
    args = bench.parse_args(["--seconds", "3", "--servers", "bare,redis-2", "--no-gate", "--sizes", "0,10"])
    assert args.seconds == 3.0 and args.servers == ["bare", "redis-2"] and args.no_gate and args.sizes == "0,10"
    defaults = bench.parse_args([])
    assert defaults.servers == list(bench.SERVERS) and defaults.sizes == "0,10000,100000"


def test_bench_help_and_unknown_server(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    with pytest.raises(SystemExit) as shown:
        bench.parse_args(["--help"])
    assert shown.value.code == 0 and "wrk" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        bench.parse_args(["--servers", "nginx"])
    assert refused.value.code == 2 and "unknown ['nginx']" in capsys.readouterr().err


def _scale_and_rss():
    _bench()  # it imports fast_and_shared from its own folder
    sys.path.insert(0, str(ROOT / "bench"))
    spec = importlib.util.spec_from_file_location("scale_and_rss", ROOT / "bench" / "scale_and_rss.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scale_and_rss_options_parse(capsys: pytest.CaptureFixture[str]) -> None:
    bench = _scale_and_rss()
    args = bench.parse_args(["--soak-seconds", "60", "--stores", "memory,redis", "--worker-share", "0.4"])
    assert args.soak_seconds == 60.0 and args.stores == ["memory", "redis"] and args.worker_share == 0.4
    with pytest.raises(SystemExit) as shown:
        bench.parse_args(["--help"])
    assert shown.value.code == 0 and "wrk" in capsys.readouterr().out
    for bad, said in ((["--stores", "mongo"], "unknown ['mongo']"), (["--worker-share", "2"], "--worker-share")):
        with pytest.raises(SystemExit) as refused:
            bench.parse_args(bad)
        assert refused.value.code == 2 and said in capsys.readouterr().err


def test_list_scale_options_parse(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("list_scale", ROOT / "bench" / "list_scale.py")
    assert spec and spec.loader
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = bench.parse_args(["--orders", "2000", "--stores", "memory,sqlite", "--seconds", "3"])
    assert args.orders == 2000 and args.stores == ["memory", "sqlite"] and args.seconds == 3.0
    assert bench.parse_args([]).orders == 10_000 and bench.parse_args([]).stores == ["memory", "sqlite", "redis"]
    with pytest.raises(SystemExit) as shown:
        bench.parse_args(["--help"])
    assert shown.value.code == 0 and "wrk" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        bench.parse_args(["--stores", "mongo"])
    assert refused.value.code == 2 and "unknown ['mongo']" in capsys.readouterr().err


def test_feedback_help() -> None:
    shown = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "feedback.py"), "--help"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "--root" in shown.stdout and "--tests" in shown.stdout
