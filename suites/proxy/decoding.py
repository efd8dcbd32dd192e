"""A body's content-encoding undone, never past a bound: a small gzip that inflates to 400 MiB stays small.

mitmproxy decodes a whole body in memory (and keeps the last one decoded in a module-level cache), so the
proxy never asks it to: ``bounded`` decodes ``gzip``, ``deflate`` and ``zstd`` itself and stops one byte
past ``limit``. A body longer than the limit comes back cut to ``limit + 1`` bytes, which the parser takes
as too large to judge (``exchange.parse_body``); what cannot be decoded comes back as it came. ``br`` is
not decoded: its decoder cannot bound its output (twenty bytes can inflate to gigabytes), and the proxy asks
upstreams for uncompressed answers anyway (``Accept-Encoding: identity``).

Example:
    >>> import gzip
    >>> bomb = gzip.compress(b"0" * 10_000_000)
    >>> len(bomb) < 20_000, len(bounded(bomb, "gzip", 1000))
    (True, 1001)
"""

from __future__ import annotations

import io
import zlib


def bounded(raw: bytes, encoding: str, limit: int) -> bytes:
    """``raw`` with its content-encoding undone, at most ``limit + 1`` bytes of it.

    Args:
        raw: the body as it came.
        encoding: its ``Content-Encoding`` (``""`` or ``identity``: none; several: the last one is undone).
        limit: the most bytes the caller reads; more means too large.
    """
    name = encoding.split(",")[-1].strip().lower()
    if name in ("", "identity"):
        return raw[: limit + 1]
    try:
        if name in ("gzip", "x-gzip", "deflate"):
            return _zlib(raw, name, limit)
        if name == "zstd":
            return _zstd(raw, limit)
    except Exception:  # a body that does not decode: judged as it came (the checks say it is not JSON)
        return raw[: limit + 1]
    return raw[: limit + 1]  # an encoding the proxy does not know: as it came


def _zlib(raw: bytes, name: str, limit: int) -> bytes:
    if name == "deflate":  # zlib-wrapped, or raw deflate as some servers send it
        try:
            return _inflate(raw, zlib.MAX_WBITS, limit)
        except zlib.error:
            return _inflate(raw, -zlib.MAX_WBITS, limit)
    return _inflate(raw, 16 + zlib.MAX_WBITS, limit)


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    decoder = zlib.decompressobj(wbits)
    return decoder.decompress(raw, limit + 1)


def _zstd(raw: bytes, limit: int) -> bytes:
    import zstandard

    with zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)) as reader:
        return bytes(reader.read(limit + 1))


__all__ = ["bounded"]
