"""Reports of a gate run: handlers of its event stream (see ``villa_contracts.events``).

``ReportWriter`` writes ``<directory>/<run-id>/junit.xml``, ``summary.json``, ``index.html`` and
``results.sarif`` (SARIF 2.1.0); ``ConsoleReporter`` shows the run as it goes and ends with a
one-screen summary. All of them render one ``RunRecord``, so their counts (``Counts``) agree.

Example:
    >>> import click
    >>> from pathlib import Path
    >>> writer = ReportWriter.from_dir(Path("reports"))
    >>> console = ConsoleReporter(click.echo, color=False, reports=writer)
    >>> for event in events:  # doctest: +SKIP
    ...     writer.handle(event)
    ...     console.handle(event)
    >>> writer.close()  # doctest: +SKIP
    {'junit': PosixPath('reports/<run-id>/junit.xml'), 'summary': ..., 'html': ..., 'sarif': ...}
"""

from __future__ import annotations

# The record every report is rendered from
from villa_contracts.reports._counts import SEVERITIES, Counts

# Handlers
from villa_contracts.reports.console import ConsoleReporter, summary_lines
from villa_contracts.reports.html_report import html_report
from villa_contracts.reports.junit import failure_text, junit_xml
from villa_contracts.reports.record import PhaseRecord, PhaseStatus, RunRecord, Verdict
from villa_contracts.reports.sarif import LEVELS, SARIF_SCHEMA, sarif_json, sarif_log
from villa_contracts.reports.writer import FILES, SARIF_COPY, Handler, ReportWriter, run_directory_name, summary_json

__all__ = [
    "FILES",
    "LEVELS",
    "SARIF_COPY",
    "SARIF_SCHEMA",
    "SEVERITIES",
    "ConsoleReporter",
    "Counts",
    "Handler",
    "PhaseRecord",
    "PhaseStatus",
    "ReportWriter",
    "RunRecord",
    "Verdict",
    "failure_text",
    "html_report",
    "junit_xml",
    "run_directory_name",
    "sarif_json",
    "sarif_log",
    "summary_json",
    "summary_lines",
]
