"""The report files of a run: ``junit.xml``, ``summary.json`` and ``index.html`` in one directory.

:class:`ReportWriter` is a handler of the gate's event stream. It only records while the run goes
on and writes the three files when closed, so a run that breaks half way still leaves reports of
what it did (marked ``INCOMPLETE``) as long as the caller closes the writer in a ``finally``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from villa_contracts.reports.html_report import html_report
from villa_contracts.reports.junit import junit_xml
from villa_contracts.reports.record import RunRecord

if TYPE_CHECKING:
    from villa_contracts.events import Event

FILES = {"junit": "junit.xml", "summary": "summary.json", "html": "index.html"}
"""Report kind → file name inside the run's directory."""


class Handler(Protocol):
    """Anything that consumes the gate's events: :class:`ReportWriter`, ``ConsoleReporter``, ``RunRecord``."""

    def handle(self, event: Event) -> None:
        """Take the next event of the run."""


def run_directory_name(run_id: str) -> str:
    """A directory name for a run id (``reports/<name>``): safe on every file system, never outside the parent.

    Args:
        run_id: the id from ``RunStarted``.

    Returns:
        ``run_id`` with anything but letters, digits, ``.``, ``_`` and ``-`` replaced by ``-``;
        ``run`` if nothing is left.

    Example:
        >>> run_directory_name("2025-06-01T09:30 ../x")
        '2025-06-01T09-30-..-x'
    """
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", run_id).strip(".-")
    return name or "run"


def _write(path: Path, data: bytes) -> None:
    # Through a temporary file and a rename, so CI never uploads a half-written report.
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def summary_json(record: RunRecord) -> bytes:
    """Render the run as ``summary.json``: :meth:`RunRecord.as_json`, keys sorted, indented by 2.

    Args:
        record: the run.

    Returns:
        The document, UTF-8 encoded, ending in a newline.
    """
    text = json.dumps(record.as_json(), indent=2, sort_keys=True, ensure_ascii=False)
    # A lone surrogate (a body decoded with surrogateescape) cannot be UTF-8; backslashreplace
    # writes it as "\udc80", which is exactly JSON's escape for it, so the file stays valid JSON.
    return (text + "\n").encode("utf-8", errors="backslashreplace")


class ReportWriter:
    """Writes the JUnit, JSON and HTML reports of a run from its events.

    Example:
        >>> writer = ReportWriter.from_dir(Path("reports") / run_directory_name("20250601-093000-42"))
        >>> for event in events:  # doctest: +SKIP
        ...     writer.handle(event)
        >>> writer.close()["html"]  # doctest: +SKIP
        PosixPath('reports/20250601-093000-42/index.html')

    Attributes:
        directory: where the reports go.
        record: what the writer has learnt of the run so far.
    """

    def __init__(self, directory: Path) -> None:
        """Write into ``directory``; prefer :meth:`from_dir`.

        Args:
            directory: the run's report directory, e.g. ``Path("reports/20250601-093000-42")``.
        """
        self.directory = directory
        self.record = RunRecord()

    @classmethod
    def from_dir(cls, directory: Path) -> ReportWriter:
        """A writer that puts the reports in ``directory`` (made, with its parents, when they are written).

        Args:
            directory: the run's report directory, usually ``reports/<run-id>`` (see
                :func:`run_directory_name` for a user-given run id).

        Returns:
            A writer with nothing recorded yet.
        """
        return cls(Path(directory))

    def handle(self, event: Event) -> None:
        """Record one event of the run.

        Args:
            event: the next event, in the order the gate emitted them.
        """
        self.record.handle(event)

    def check_writable(self) -> None:
        """Make the directory and prove a file can be written in it.

        Raises:
            OSError: with a message naming the directory and saying what to do.
        """
        probe = self.directory / ".write-test"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot write reports to {self.directory}: {exc.strerror} (choose another --report-dir)"
            ) from None

    @property
    def paths(self) -> dict[str, Path]:
        """Where :meth:`close` writes (or wrote) each report, by kind (``junit``, ``summary``, ``html``)."""
        return {kind: self.directory / name for kind, name in FILES.items()}

    def close(self) -> dict[str, Path]:
        """Write the reports of what was recorded; may be called again to rewrite them.

        A run that never finished (or never started) is reported as ``INCOMPLETE``.

        Returns:
            The written files by kind, as :attr:`paths`.

        Raises:
            OSError: the directory or a file could not be written.
        """
        paths = self.paths
        self.directory.mkdir(parents=True, exist_ok=True)
        _write(paths["junit"], junit_xml(self.record))
        _write(paths["summary"], summary_json(self.record))
        _write(paths["html"], html_report(self.record).encode("utf-8"))
        return paths
