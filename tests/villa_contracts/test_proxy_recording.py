"""A recording read back: ``proxy check`` reads ``flows.mitm`` as flow states, and sees what mitmproxy's flows show."""

from __future__ import annotations

import gc
import gzip
import json
from pathlib import Path

from mitmproxy import http, io
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow

from suites.proxy.flows import REFUSED_KEY, metadata_of, redacted, seen_exchange
from suites.proxy.recording import FLOWS, read_recording


def _flows() -> list[http.HTTPFlow]:
    plain = tflow.tflow(resp=True)
    plain.request.path = "/api/order/get?orderId=1&empty=&name=%C3%A9t%C3%A9&orderId=2"
    plain.request.headers["Content-Type"] = "application/json"
    plain.request.headers.add("X-Many", "one")
    plain.request.headers.add("X-Many", "two")
    plain.request.content = json.dumps({"orderId": "100026000001", "note": "thé"}).encode()
    plain.response.headers["Content-Type"] = "application/json"
    plain.response.content = json.dumps({"ok": True}).encode()
    zipped = tflow.tflow(resp=True)
    zipped.response.headers["Content-Encoding"] = "gzip"
    zipped.response.raw_content = gzip.compress(b'{"packed": true}')
    failed = tflow.tflow(err=True)  # the upstream never answered
    streamed = tflow.tflow(resp=True)
    streamed.response.raw_content = None  # streamed past the proxy, never held
    fenced = tflow.tflow(resp=True)
    fenced.metadata[REFUSED_KEY] = "villa.createCharge"
    outside = tflow.tflow(resp=True)
    outside.request.path = "/elsewhere/x"
    return [plain, zipped, failed, streamed, fenced, outside]


def test_a_recorded_flow_state_shows_what_its_flow_shows(tmp_path: Path) -> None:
    flows = [redacted(flow) if i % 2 else flow for i, flow in enumerate(_flows())]
    with (tmp_path / FLOWS).open("wb") as handle:
        writer = io.FlowWriter(handle)  # type: ignore[no-untyped-call]  # untyped in mitmproxy
        for flow in flows:
            writer.add(flow)
    read = read_recording(tmp_path)
    assert read.problem == "" and len(read.flows) == len(flows)
    assert all(isinstance(state, dict) for state in read.flows)
    with (tmp_path / FLOWS).open("rb") as handle:
        objects = [f for f in io.FlowReader(handle).stream() if isinstance(f, http.HTTPFlow)]
    for base in ("", "/api"):
        assert [seen_exchange(state, base) for state in read.flows] == [seen_exchange(f, base) for f in objects]
    assert [metadata_of(state) for state in read.flows] == [dict(f.metadata) for f in objects]
    assert seen_exchange(read.flows[1], "")[0].response_body == b'{"packed": true}'
    assert seen_exchange(read.flows[0], "/api")[0].query == (
        ("orderId", "1"), ("empty", ""), ("name", "été"), ("orderId", "2"))  # fmt: skip


def test_a_recording_cut_short_keeps_every_whole_flow_and_says_why(tmp_path: Path) -> None:
    with (tmp_path / FLOWS).open("wb") as handle:
        writer = io.FlowWriter(handle)  # type: ignore[no-untyped-call]  # untyped in mitmproxy
        for flow in _flows()[:2]:
            writer.add(flow)
    whole = (tmp_path / FLOWS).read_bytes()
    (tmp_path / FLOWS).write_bytes(whole + whole[:40])  # a proxy killed while writing the third
    read = read_recording(tmp_path)
    assert len(read.flows) == 2 and read.problem.startswith("reading stopped after 2 flow(s)")


def test_a_flow_of_an_older_format_is_read_whole_and_migrated(tmp_path: Path) -> None:
    # This mitmproxy's flows are read without their connections' states; an older one needs them to migrate.
    flows = _flows()[:2]
    older = [{**flow.get_state(), "version": 20} for flow in flows]
    older[0]["client_conn"]["tls_version"] = "QUIC"  # what the 20 → 21 migration rewrites
    with (tmp_path / FLOWS).open("wb") as handle:
        tnetstring.dump(older[0], handle)
        io.FlowWriter(handle).add(flows[1])  # type: ignore[no-untyped-call]  # untyped in mitmproxy
    read = read_recording(tmp_path)
    assert read.problem == "" and len(read.flows) == 2
    first, second = read.flows
    assert isinstance(first, dict) and first["client_conn"]["tls_version"] == "QUICv1"  # migrated
    assert isinstance(second, dict) and "client_conn" not in second  # this format: left unread
    assert [seen_exchange(state, "") for state in read.flows] == [seen_exchange(flow, "") for flow in flows]


def test_a_damaged_recording_says_where_reading_stopped(tmp_path: Path) -> None:
    with (tmp_path / FLOWS).open("wb") as handle:
        io.FlowWriter(handle).add(_flows()[0])  # type: ignore[no-untyped-call]  # untyped in mitmproxy
    whole = (tmp_path / FLOWS).read_bytes()
    for damaged in (whole + b"x:", whole + b"12:abc", whole + whole.replace(b":", b";", 3)):
        (tmp_path / FLOWS).write_bytes(damaged)
        read = read_recording(tmp_path)
        assert len(read.flows) == 1 and read.problem.startswith("reading stopped after 1 flow(s)"), read.problem


def test_a_recorded_flow_that_is_not_a_flows_state_is_reported_unjudged_not_a_crash(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from villa_contracts.cli import cli

    good, bad = _flows()[0], _flows()[0].get_state()
    bad["request"]["headers"] = [[b"x-half-a-header"]]  # tampered with: a header without its value
    with (tmp_path / FLOWS).open("wb") as handle:
        io.FlowWriter(handle).add(good)  # type: ignore[no-untyped-call]  # untyped in mitmproxy
        tnetstring.dump(bad, handle)
    reports = tmp_path / "reports"
    result = CliRunner().invoke(cli, ["proxy", "check", str(tmp_path), "--report-dir", str(reports), "--run-id", "r"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output and result.exit_code in (0, 1), result.output
    assert gc.get_freeze_count() == 0  # what the check froze for its reading is collectable again after it
    summary = json.loads((reports / "r" / "summary.json").read_text())
    said = [w for w in summary["warnings"] + summary["failures"] if w["check"] == "unjudged"]
    assert said and "the check could not read it: ValueError" in said[0]["message"], said
