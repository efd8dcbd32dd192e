"""The proxy's ``slowBodyMs``: a loopback relay that fetches the upstream's answer and sends its body in parts.

mitmproxy hands a client a body whole, or streamed as the upstream sends it; it cannot pace one
(mitmproxy issue #5208). So a request the fault picks is sent to this relay instead of the upstream
(``ContractProxy`` points the flow at it and streams its answer): the relay forwards the request to
the upstream as it came, answers the status and headers at once, then the body in
``villa_contracts.faults.SLOW_PARTS`` parts spread over the time asked, as the mock does. It keeps the
whole raw body for the proxy, which judges the upstream's answer, never the pacing.

The relay listens on 127.0.0.1 only and serves one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging

import h11
import httpx

from villa_contracts.faults import body_parts

log = logging.getLogger("villa_contracts.proxy")
MARK = "x-villa-slow-body"
"""The request header the proxy adds for the relay: ``<relay id>;<milliseconds>`` (removed before forwarding)."""
HOP_BY_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "host", "te", "upgrade"})
MAX_HEAD = 64 * 1024


class SlowRelay:
    """The relay of one proxy run: ``start`` it in the proxy's loop, then ``mark`` the requests it serves."""

    def __init__(self, upstream: str, *, verify: bool = True) -> None:
        self.upstream = upstream.rstrip("/")
        self.verify = verify
        self.port = 0
        self.bodies: dict[str, bytes] = {}
        """Each relayed answer's raw body by relay id, until the proxy takes it (``take``)."""
        self._ids = itertools.count(1)
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=MAX_HEAD)
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()

    def mark(self, milliseconds: float) -> tuple[str, str]:
        """A new relay id, and the header value that asks the relay for ``milliseconds`` of pacing."""
        relay_id = str(next(self._ids))
        return relay_id, f"{relay_id};{milliseconds:g}"

    def take(self, relay_id: str) -> bytes | None:
        """The whole raw body the relay sent for ``relay_id`` (None: it answered none)."""
        return self.bodies.pop(relay_id, None)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request, body = await _read_request(reader)
            headers = [(k.decode().lower(), v.decode("latin-1")) for k, v in request.headers]
            mark = dict(headers).get(MARK, "")
            relay_id, _, wait = mark.partition(";")
            forward = [(k, v) for k, v in headers if k not in HOP_BY_HOP and k != MARK]
            target = self.upstream + request.target.decode()
            async with httpx.AsyncClient(verify=self.verify, timeout=60) as client:
                async with client.stream(request.method.decode(), target, headers=forward, content=body) as answer:
                    raw = b"".join([chunk async for chunk in answer.aiter_raw()])
            self.bodies[relay_id] = raw
            await _send(writer, answer, raw, float(wait or 0))
        except (OSError, ValueError, h11.ProtocolError, httpx.HTTPError, asyncio.IncompleteReadError) as exc:
            log.warning("villa-contracts proxy: the slow-body relay got no answer: %s", type(exc).__name__)
        finally:
            with contextlib.suppress(OSError):
                writer.close()


async def _read_request(reader: asyncio.StreamReader) -> tuple[h11.Request, bytes]:
    """One request, head and body (Content-Length or chunked), as mitmproxy sends it."""
    connection = h11.Connection(h11.SERVER)
    request: h11.Request | None = None
    body = bytearray()
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            connection.receive_data(data)
            if not data and request is None:
                raise ValueError("the connection closed before a request")
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and request is not None:
            return request, bytes(body)
        elif isinstance(event, h11.ConnectionClosed):
            raise ValueError("the connection closed inside a request")


async def _send(writer: asyncio.StreamWriter, answer: httpx.Response, raw: bytes, milliseconds: float) -> None:
    """Status and headers now; the body in parts, a share of ``milliseconds`` before each; then close."""
    head = [f"HTTP/1.1 {answer.status_code} {answer.reason_phrase}".encode()]
    head += [f"{k}: {v}".encode("latin-1") for k, v in answer.headers.multi_items() if k.lower() not in HOP_BY_HOP]
    head += [f"content-length: {len(raw)}".encode(), b"connection: close", b"", b""]
    writer.write(b"\r\n".join(head))
    await writer.drain()
    parts = body_parts(raw)
    for part in parts:
        await asyncio.sleep(milliseconds / 1000 / len(parts))
        writer.write(part)
        await writer.drain()
