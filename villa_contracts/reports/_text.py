"""Text that is safe to put in a report: failure messages carry raw response bodies.

XML 1.0 cannot hold most control characters at all (not even escaped), lone surrogates cannot be
encoded as UTF-8, and a 5 MB body makes an HTML page nobody can scroll. Every writer passes
untrusted text through :func:`clean` (and :func:`truncate` where a person reads it) before escaping.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

MESSAGE_LIMIT = 4000
"""How many characters of a failure's message or reproduction the HTML and JUnit reports keep."""

# Everything XML 1.0 forbids (C0 controls except tab/newline/return, surrogates, U+FFFE/U+FFFF),
# plus DEL and the C1 controls, which are legal but turn into terminal escapes or invisible marks.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    r"""Replace the characters no report format can hold by visible escapes.

    Args:
        text: any text, typically a response body quoted in a failure message.

    Returns:
        The text with control characters (other than tab, newline and carriage return), lone
        surrogates and non-characters written as ``\x1b`` or ``\udc80``.

    Example:
        >>> clean("bell\x07 ok")
        'bell\\x07 ok'
    """
    return _UNSAFE.sub(_escape_char, text)


def truncate(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Cut ``text`` to ``limit`` characters, saying how much was left out and where to find it.

    Args:
        text: the text to shorten.
        limit: the most characters to keep.

    Returns:
        ``text`` itself when it is short enough, else its head and a note.
    """
    if len(text) <= limit:
        return text
    left_out = len(text) - limit
    return f"{text[:limit]}\n… [{left_out} more characters truncated; the full text is in summary.json]"


def redact_url(url: str) -> str:
    """Drop any user and password from a URL, so a target given as ``https://user:pw@host`` stays private.

    Args:
        url: the target's base URL.

    Returns:
        The URL without its userinfo part; anything that does not parse as a URL is returned unchanged.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal lost its brackets in .hostname
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit(parts._replace(netloc=netloc))


def iso_time(timestamp: float) -> str:
    """Format a POSIX timestamp as ISO 8601 in UTC, to the second (``2025-06-01T09:30:00Z``).

    Args:
        timestamp: seconds since the epoch.

    Returns:
        The UTC time with a ``Z`` suffix.
    """
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration(seconds: float) -> str:
    """Format a duration for people: ``0.42s``, ``12.3s``, ``2m 05s``.

    Args:
        seconds: the duration.

    Returns:
        A short human form.
    """
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s"


def plural(count: int, noun: str) -> str:
    """``1 failure``, ``2 failures``: a count with its noun in the right number.

    Args:
        count: how many.
        noun: the singular noun (``check``, ``failure``, ``warning``).

    Returns:
        The count and the noun.

    Example:
        >>> plural(2, "warning")
        '2 warnings'
    """
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def count_checks(count: int) -> str:
    """``1 check``, ``2 checks``.

    Args:
        count: how many checks.

    Returns:
        The count with the noun in the right number.
    """
    return plural(count, "check")
