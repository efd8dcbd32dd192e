"""The report files of a run: ``junit.xml``, ``summary.json``, ``index.html`` and ``results.sarif`` in one directory.

:class:`ReportWriter` is a handler of the gate's event stream. It only records while the run goes
on and writes the files when closed, so a run that breaks half way still leaves reports of what it
did (marked ``INCOMPLETE``) as long as the caller closes the writer in a ``finally``. Every file is
rendered from the same :class:`RunRecord`, so their counts agree.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from villa_contracts.errors import ContractError
from villa_contracts.reports._locations import ContractLines
from villa_contracts.reports.html_report import html_report
from villa_contracts.reports.junit import junit_xml
from villa_contracts.reports.record import RunRecord
from villa_contracts.reports.sarif import sarif_json

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts
    from villa_contracts.events import Event

FILES = {"junit": "junit.xml", "summary": "summary.json", "html": "index.html", "sarif": "results.sarif"}
"""Report kind → file name inside the run's directory."""
SARIF_COPY = "sarif copy"
"""The kind of the extra SARIF file a writer was asked for (``gate --sarif PATH``) in :attr:`ReportWriter.paths`."""


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
        sarif_copy: another place to write ``results.sarif`` to (``gate --sarif PATH``), if any.
    """

    def __init__(self, directory: Path, *, sarif_copy: Path | None = None, contracts: Contracts | None = None) -> None:
        """Write into ``directory``; prefer :meth:`from_dir`.

        Args:
            directory: the run's report directory, e.g. ``Path("reports/20250601-093000-42")``.
            sarif_copy: write ``results.sarif`` there too.
            contracts: the contracts the run judged against, for the SARIF locations (default: ``load()``).
        """
        self.directory = directory
        self.record = RunRecord()
        self.sarif_copy = sarif_copy
        self._contracts = contracts
        self._places: ContractLines | None = None

    @classmethod
    def from_dir(
        cls, directory: Path, *, sarif_copy: Path | None = None, contracts: Contracts | None = None
    ) -> ReportWriter:
        """A writer that puts the reports in ``directory`` (made, with its parents, when they are written).

        Args:
            directory: the run's report directory, usually ``reports/<run-id>`` (see
                :func:`run_directory_name` for a user-given run id).
            sarif_copy: another file to write the SARIF log to (its directory is made when written).
            contracts: the contracts the run judged against, whose files and lines the SARIF results
                point at (default: the ones ``villa_contracts.contract.load()`` finds).

        Returns:
            A writer with nothing recorded yet.
        """
        copy = Path(sarif_copy) if sarif_copy is not None else None
        return cls(Path(directory), sarif_copy=copy, contracts=contracts)

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
        """Where :meth:`close` writes (or wrote) each report, by kind (``junit``, ``summary``, ``html``, ``sarif``).

        The extra SARIF file, when asked for, is the kind ``SARIF_COPY``.
        """
        paths = {kind: self.directory / name for kind, name in FILES.items()}
        if self.sarif_copy is not None:
            paths[SARIF_COPY] = self.sarif_copy
        return paths

    def _lines(self) -> ContractLines | None:
        # Made once: a proxy session rewrites its reports often, and each contract file is read once.
        if self._places is None:
            contracts = self._contracts
            if contracts is None:
                from villa_contracts.contract import load

                try:
                    contracts = load()
                except ContractError:  # no contracts to point at: the results still say what failed
                    return None
            self._places = ContractLines(contracts)
        return self._places

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
        sarif = sarif_json(self.record, self._lines())
        _write(paths["sarif"], sarif)
        if self.sarif_copy is not None:
            self.sarif_copy.parent.mkdir(parents=True, exist_ok=True)
            _write(self.sarif_copy, sarif)
        return paths
