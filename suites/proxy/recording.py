"""A recording of the traffic: every exchange, redacted, in mitmproxy's flow format and as HAR.

A recording directory holds ``flows.mitm`` (mitmproxy's own format: ``mitmproxy -r``, ``mitmdump
-r`` and ``villa-contracts proxy check`` read it), ``traffic.har`` (for browsers' dev tools and HAR
viewers) and ``recording.json`` (what was watched, with which contracts). Each flow is redacted
(``suites.proxy.flows.redacted``) before a byte of it is written; ``flows.mitm`` is appended and
flushed flow by flow, so a killed proxy leaves every flow it had finished. HAR is one JSON
document: its entries are kept on disk as they come (not in memory: a day of traffic is large) and
the file is rewritten atomically every few seconds while it is under ``HAR_LIVE_LIMIT``, and at the end.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

from mitmproxy import exceptions, version

from suites.proxy.flows import FlowState
from villa_contracts.errors import UsageError

if TYPE_CHECKING:
    from mitmproxy import http
    from mitmproxy.connection import Server

FLOWS = "flows.mitm"
HAR = "traffic.har"
META = "recording.json"
ENTRIES = ".traffic.har.entries"
HAR_LIVE_LIMIT = 32 * 1024 * 1024
"""Past this many bytes of HAR entries, ``traffic.har`` is written at the end only (``flows.mitm`` stays live)."""


def _atomic(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.chmod(temporary, 0o600)
    os.replace(temporary, path)


class Recorder:
    """Writes redacted flows into a new recording directory.

    Args:
        directory: the recording's directory (made, readable by its owner only).
        meta: what ``recording.json`` says about the run (upstream, contracts, catalog…).

    Raises:
        UsageError: the directory holds a recording already.
    """

    def __init__(self, directory: Path, meta: dict[str, Any]) -> None:
        self.directory = directory
        if (directory / FLOWS).exists():
            raise UsageError(f"{directory} holds a recording already: give --record a new directory")
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _atomic(directory / META, (json.dumps({**meta, "format": 1}, indent=2, sort_keys=True) + "\n").encode())
        descriptor = os.open(directory / FLOWS, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(descriptor, "ab")
        from mitmproxy import io  # here: `proxy check` reads a recording without mitmproxy's flows (0.2 s to import)
        from mitmproxy.addons.savehar import SaveHar  # here: mitmproxy's addons take 0.3 s to import

        self._writer = io.FlowWriter(self._file)  # type: ignore[no-untyped-call]  # untyped in mitmproxy

        self._har = SaveHar()
        self._servers: set[Server] = set()
        self._entries = open(directory / ENTRIES, "a", encoding="utf-8")  # open as long as the recorder
        os.chmod(directory / ENTRIES, 0o600)
        self._har_written = -1
        self.count = 0

    def add(self, flow: http.HTTPFlow) -> None:
        """Append one flow (redacted already) and flush it to the file."""
        self._writer.add(flow)
        self._file.flush()
        self._entries.write(json.dumps(self._har.flow_entry(flow, self._servers), ensure_ascii=False) + "\n")
        self._entries.flush()
        self.count += 1

    def write_har(self, *, final: bool = False) -> None:
        """Rewrite ``traffic.har`` with every flow so far, when there are new ones (past the limit: only when final)."""
        entries = self.directory / ENTRIES
        if self._har_written == self.count or (not final and entries.stat().st_size > HAR_LIVE_LIMIT):
            return
        envelope = json.dumps(self._har.make_har([]), ensure_ascii=False)
        head, _, tail = envelope.partition('"entries": []')
        temporary = self.directory / f".{HAR}.tmp"
        with entries.open(encoding="utf-8") as lines, temporary.open("w", encoding="utf-8") as out:
            out.write(head + '"entries": [')
            for number, line in enumerate(lines):
                out.write((", " if number else "") + line.rstrip("\n"))
            out.write("]" + tail + "\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.directory / HAR)
        self._har_written = self.count

    def close(self) -> None:
        """Write the HAR file and close the recording's files."""
        self._entries.flush()
        self.write_har(final=True)
        self._entries.close()
        self._file.close()
        (self.directory / ENTRIES).unlink(missing_ok=True)


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording read back.

    Attributes:
        meta: ``recording.json`` (empty when the directory has none).
        flows: its HTTP flows, in the order they were recorded: from ``flows.mitm``, each as the state
            mitmproxy keeps (``suites.proxy.flows`` reads an exchange from it without building a flow: a
            tenth of the time); from a HAR file, mitmproxy's flows.
        problem: why reading stopped early, if it did (a flow cut short by a killed proxy).
    """

    meta: dict[str, Any]
    flows: tuple[http.HTTPFlow | FlowState, ...]
    problem: str = ""


def read_recording(path: Path) -> Recording:
    """Read a recording directory (or a ``.mitm`` or ``.har`` file).

    Raises:
        UsageError: there is no recording at ``path``.
    """
    directory = path if path.is_dir() else path.parent
    source = path / FLOWS if path.is_dir() else path
    if not source.is_file():
        raise UsageError(
            f"{path} holds no recording (no {FLOWS}): record one with `villa-contracts proxy --record DIR`"
        )
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8")) if (directory / META).is_file() else {}
    except ValueError as exc:
        raise UsageError(f"{directory / META} is not JSON: {exc}") from None
    flows: list[http.HTTPFlow | FlowState] = []
    problem = ""
    with source.open("rb") as handle, _collector_paused():
        try:
            if handle.peek(4)[:4].lstrip(b"\xef\xbb\xbf").startswith(b"{"):  # a HAR file: mitmproxy reads it
                from mitmproxy import http, io

                flows += [flow for flow in io.FlowReader(handle).stream() if isinstance(flow, http.HTTPFlow)]
            else:
                flows += _states(handle)
        except exceptions.FlowReadException as exc:
            problem = f"reading stopped after {len(flows)} flow(s): {exc} (a proxy killed while writing one?)"
    return Recording(meta if isinstance(meta, dict) else {}, tuple(flows), problem)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a recording is read.

    A recording is read into many small objects, none of them garbage; the collector's passes over them
    took a fifth of the reading.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _states(handle: BinaryIO) -> Iterator[FlowState]:
    """The HTTP flows' states of a ``flows.mitm`` file, migrated to this mitmproxy's format (as its reader does).

    A flow of this mitmproxy's format is read without its connections' states (nothing judged comes from
    them, and they are about half of a flow's values); an older one is read whole and migrated.
    """
    while True:
        try:
            item = _item(handle)
            if item is None:
                return
            tag, data = item
            state: Any = _flow_state(data) if tag == ord("}") else None
            if state is None or state.get("version") != version.FLOW_FORMAT_VERSION:
                state = _older(tag, data)
        except (ValueError, TypeError, IndexError, AttributeError) as exc:
            raise exceptions.FlowReadException(f"Invalid data format: {exc}") from exc  # type: ignore[no-untyped-call]
        if isinstance(state, dict) and state.get("type") == "http":
            yield cast(FlowState, state)


def _older(tag: int, data: bytes) -> Any:
    """A flow of another format (or not a flow), read whole and migrated to this one, as mitmproxy's reader does."""
    from mitmproxy.io import compat, tnetstring

    return compat.migrate_flow(tnetstring.parse(tag, memoryview(data)))  # type: ignore[arg-type]


def _item(handle: BinaryIO) -> tuple[int, bytes] | None:
    """The type tag and data of the next tnetstring in ``handle`` (None at its end), as mitmproxy's reader reads it."""
    prefix = handle.read(1)
    if prefix == b"":
        return None
    while prefix[-1:].isdigit() and len(prefix) <= 12:
        prefix += handle.read(1)
    if prefix[-1:] != b":" or not prefix[:-1].isdigit():
        raise ValueError("not a tnetstring: missing or invalid length prefix")
    length = int(prefix[:-1])
    data, tag = handle.read(length), handle.read(1)
    if len(data) != length or len(tag) != 1:
        raise ValueError("not a tnetstring: cut short")
    return tag[0], data


_UNREAD = frozenset({"client_conn", "server_conn"})
"""A flow's members that a recorded flow's state is read without."""


def _flow_state(data: bytes) -> dict[str, Any] | None:
    """A flow's top-level state from its tnetstring's data, its connections' states unread (None: keys not text)."""
    state: dict[str, Any] = {}
    at = 0
    while at < len(data):
        key, at = _value(data, at)
        if not isinstance(key, str):
            return None  # an old format's bytes keys: read whole and migrated
        if key in _UNREAD:
            at = _span(data, at)[1] + 1
        else:
            state[key], at = _value(data, at)
    return state


def _span(data: bytes, at: int) -> tuple[int, int]:
    """Where the data of the tnetstring at ``at`` starts and ends (its type tag is at the end)."""
    colon = data.index(b":", at, at + 13)
    digits = data[at:colon]
    if not digits.isdigit():
        raise ValueError(f"not a tnetstring: invalid length prefix {digits!r}")
    start = colon + 1
    end = start + int(digits)
    if end >= len(data):
        raise ValueError("not a tnetstring: data cut short")
    return start, end


def _value(data: bytes, at: int) -> tuple[Any, int]:
    """The value of the tnetstring at ``at`` and where the next one starts (mitmproxy's ``tnetstring.pop``)."""
    start, end = _span(data, at)
    tag = data[end]
    if tag == 0x3B:  # ; text
        return data[start:end].decode("utf-8"), end + 1
    if tag == 0x2C:  # , bytes
        return data[start:end], end + 1
    if tag == 0x7D:  # } a mapping
        mapping: dict[Any, Any] = {}
        at = start
        while at < end:
            key, at = _value(data, at)
            mapping[key], at = _value(data, at)
        if at != end:
            raise ValueError("not a tnetstring: a mapping overruns its length")
        return mapping, end + 1
    if tag == 0x5D:  # ] a list
        items = []
        at = start
        while at < end:
            item, at = _value(data, at)
            items.append(item)
        if at != end:
            raise ValueError("not a tnetstring: a list overruns its length")
        return items, end + 1
    return _scalar(tag, data[start:end]), end + 1


def _scalar(tag: int, text: bytes) -> int | float | bool | None:
    """A number, a boolean or null (mitmproxy's ``tnetstring.parse`` of the other tags)."""
    if tag == 0x23:  # # an integer
        return int(text)
    if tag == 0x5E:  # ^ a float
        return float(text)
    if tag == 0x21 and text in (b"true", b"false"):  # ! a boolean
        return text == b"true"
    if tag == 0x7E and not text:  # ~ null
        return None
    raise ValueError(f"not a tnetstring: type {chr(tag)!r} with {text[:20]!r}")


def meta_for(*, upstream: str, contracts: tuple[str, ...], catalog: bool, mode: str) -> dict[str, Any]:
    """What ``recording.json`` says about a live run."""
    return {
        "upstream": upstream,
        "contracts": list(contracts),
        "catalog": catalog,
        "mode": mode,
        "startedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": "villa-contracts proxy",
    }
