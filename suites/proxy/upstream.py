"""The upstream's address, parsed without loading mitmproxy (the CLI refuses a bad one before starting it)."""

from __future__ import annotations

import errno
import socket
from urllib.parse import urlsplit


def parse_upstream(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, base path)`` of an upstream base URL.

    Raises:
        ValueError: it is not an http(s) URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"upstream {url!r} is not an http(s) URL with a host (e.g. https://dev.example)")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (0: never): the proxy says so before loading mitmproxy.

    Binds as mitmproxy's server does (``SO_REUSEADDR``), so a port in TIME_WAIT is free here as there; anything
    else that fails (an unknown interface) is left to mitmproxy's own error.
    """
    if port == 0:
        return False
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except OSError:
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False
