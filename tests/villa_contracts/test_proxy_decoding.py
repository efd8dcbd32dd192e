"""The proxy undoes a content-encoding within a bound: a bomb stays small, whatever its encoding."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import brotli
import pytest
import zstandard

from suites.proxy.decoding import bounded

BODY = b'{"orderId": "100026000001"}'
BIG = b"0" * 50_000_000
LIMIT = 1024

ENCODERS = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_a_body_is_decoded_whole_within_the_bound(encoding: str) -> None:
    assert bounded(ENCODERS[encoding](BODY), encoding, LIMIT) == BODY


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_a_bomb_is_cut_one_byte_past_the_bound_and_never_inflated_whole(encoding: str) -> None:
    bomb = ENCODERS[encoding](BIG)
    assert len(bomb) < 200_000  # small on the wire
    tracemalloc.start()
    try:
        decoded = bounded(bomb, encoding, LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded == b"0" * (LIMIT + 1)
    assert peak < 20_000_000  # never the 50 MB it inflates to


def test_brotli_is_not_inflated_at_all_its_output_cannot_be_bounded() -> None:
    bomb = brotli.compress(BIG)
    assert len(bomb) < 1000 and bounded(bomb, "br", LIMIT) == bomb


def test_raw_deflate_identity_unknown_and_broken_bodies() -> None:
    raw_deflate = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    assert bounded(raw_deflate.compress(BODY) + raw_deflate.flush(), "deflate", LIMIT) == BODY
    assert bounded(BODY, "", LIMIT) == BODY and bounded(BODY, "identity", LIMIT) == BODY
    assert bounded(BODY, "compress", LIMIT) == BODY  # unknown: as it came
    assert bounded(b"not gzip at all", "gzip", LIMIT) == b"not gzip at all"  # judged as it came
    assert bounded(gzip.compress(BODY), "identity, gzip", LIMIT) == BODY  # the last encoding is undone
    assert len(bounded(b"x" * 5000, "", LIMIT)) == LIMIT + 1
