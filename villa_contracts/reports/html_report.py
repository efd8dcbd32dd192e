"""``index.html``: the run on one self-contained page for people (inline CSS, no script, no fetches).

Sections: a header with the verdict and how to rerun (target, seed, run id), the run's counts
(:meth:`RunRecord.counts`, labelled as every report labels them), phase timings, the coverage of
each operation (statuses answered × checks passed and failed; an operation skipped on purpose says
why), what was skipped, every failure worst first with its message and curl reproduction, the
warnings, and the full list of checks. Every value goes through :func:`_e`: failure messages quote
response bodies, which may hold any markup.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from villa_contracts.reports._counts import failed, warned
from villa_contracts.reports._text import clean, count_checks, duration, iso_time, truncate

if TYPE_CHECKING:
    from villa_contracts.events import CheckFinished
    from villa_contracts.failures import Failure
    from villa_contracts.reports.record import RunRecord

# The policy blocks scripts and fetches even if some value ever escaped escaping.
_CSP = "default-src 'none'; style-src 'unsafe-inline'"

_CSS = """
:root { --ok: #1a7f37; --bad: #cf222e; --err: #9a6700; --muted: #57606a; --line: #d0d7de; --soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: #1f2328; background: #fff; }
main, header > div { max-width: 1180px; margin: 0 auto; padding: 0 24px; }
header { color: #fff; padding: 20px 0 16px; margin-bottom: 24px; }
header.PASSED { background: var(--ok); } header.FAILED { background: var(--bad); }
header.ERROR, header.INCOMPLETE { background: var(--err); }
h1 { margin: 0 0 10px; font-size: 26px; letter-spacing: .02em; }
h1 small { font-size: 15px; font-weight: 400; opacity: .9; margin-left: 10px; }
header .reason { margin: -6px 0 12px; opacity: .95; }
header dl { display: flex; flex-wrap: wrap; gap: 4px 28px; margin: 0; }
header dt { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; opacity: .8; }
header dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
h2 { font-size: 18px; border-bottom: 1px solid var(--line); padding-bottom: 6px; margin: 28px 0 12px; }
.tiles { display: flex; gap: 12px; flex-wrap: wrap; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: 10px 16px; min-width: 130px; }
.tile b { display: block; font-size: 24px; } .tile span { color: var(--muted); }
.tile.bad b { color: var(--bad); } .tile.ok b { color: var(--ok); }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--line); padding: 5px 8px; text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
td.hit { text-align: center; font-weight: 600; }
.s2 { color: var(--ok); } .s3 { color: #0969da; } .s4 { color: var(--err); } .s5 { color: var(--bad); }
.pill { display: inline-block; border-radius: 10px; padding: 0 8px; font-size: 12px; font-weight: 600; color: #fff; }
.pill.passed { background: var(--ok); } .pill.failed, .pill.critical, .pill.high { background: var(--bad); }
.pill.warning, .pill.medium { background: var(--err); } .pill.low { background: #8c959f; }
.pill.error, .pill.running, .pill.interrupted { background: var(--err); }
.pill.not-run, .pill.skipped { background: #8c959f; }
.bar { background: #0969da; height: 8px; border-radius: 4px; min-width: 2px; }
a { color: #0969da; } a.bad { color: var(--bad); }
article { border: 1px solid var(--line); border-left: 4px solid var(--bad); border-radius: 6px;
  padding: 10px 16px; margin: 12px 0; }
article.warning { border-left-color: var(--err); }
article h3 { margin: 0 0 4px; font-size: 15px; }
article .where { color: var(--muted); font-size: 13px; }
article .where code { color: #1f2328; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px;
  overflow: auto; max-height: 420px; white-space: pre-wrap; word-break: break-word; font-size: 12.5px;
  margin: 4px 0 10px; }
.label { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: 600; }
.muted { color: var(--muted); }
footer { max-width: 1180px; margin: 32px auto; padding: 0 24px; color: var(--muted); font-size: 12px; }
"""


def _e(value: object) -> str:
    return html.escape(clean(str(value)), quote=True)


def _status_class(status: int) -> str:
    return f"s{status // 100}"


def _header(record: RunRecord) -> str:
    start, finish = record.start, record.finish
    code = "—" if record.exit_code is None else str(record.exit_code)
    reason = f'<p class="reason">{_e(finish.reason)}</p>' if finish and finish.reason else ""
    command = start.command if start else "gate"
    meta: dict[str, object] = {
        "Target": record.target or "—",
        "Mock": ("embedded" if start.embedded_mock else "no") if start else "—",
        "Seed": "—" if record.seed is None else record.seed,
        "Max examples": start.max_examples if start else "—",
        "Run id": record.run_id or "—",
        "Started": iso_time(start.started_at) if start else "—",
        "Took": duration(finish.seconds) if finish else "—",
    }
    if command != "gate":  # a proxy run generates nothing: no mock, seed or examples of its own
        for name in ("Mock", "Seed", "Max examples"):
            del meta[name]
    items = "".join(f"<div><dt>{_e(name)}</dt><dd>{_e(value)}</dd></div>" for name, value in meta.items())
    return (
        f'<header class="{record.verdict}"><div>'
        f"<h1>{record.verdict}<small>exit code {_e(code)} · villa-contracts {_e(command)}</small></h1>"
        f"{reason}<dl>{items}</dl></div></header>"
    )


def _reproduce(record: RunRecord) -> str:
    steps = record.reproduce()
    if not steps:
        return ""
    lines = "\n".join(steps.values())
    return (
        '<h2 id="reproduce">Reproduce</h2><p class="muted">Run it again with the same seed, or set the '
        "variables the failures' curl lines read (<code>$VILLA_BASE_URL</code>, <code>$VILLA_ID_TOKEN</code>, "
        f"<code>$VILLA_ID_TOKEN_2</code>):</p><pre>{_e(lines)}</pre>"
    )


def _tiles(record: RunRecord) -> str:
    counts = record.counts()
    tiles = [
        ("", counts.checks, "checks"),
        ("ok", counts.passed, "passed"),
        ("bad" if counts.failed else "", counts.failed, "checks failed"),
        ("bad" if counts.failures else "", counts.failures, "failures"),
        ("", counts.warnings, "warnings"),
        ("", counts.operations, "operations"),
        ("", counts.skipped, "skipped"),
    ]
    cells = "".join(
        f'<div class="tile {kind}"><b>{count}</b><span>{label}</span></div>' for kind, count, label in tiles
    )
    return f'<div class="tiles">{cells}</div>'


def _phases(record: RunRecord) -> str:
    longest = max((phase.seconds for phase in record.phases.values()), default=0.0) or 1.0
    rows = []
    for phase in record.phases.values():
        took = duration(phase.seconds) if phase.started else "—"
        bar = f'<div class="bar" style="width:{100 * phase.seconds / longest:.1f}%"></div>' if phase.started else ""
        counts = phase.counts
        notes = "".join(f"<br><span class=muted>{_e(truncate(note, 300))}</span>" for note in phase.notes[:10])
        rows.append(
            f"<tr><td><b>{_e(phase.name)}</b><br><span class=muted>{_e(phase.description)}</span>{notes}</td>"
            f'<td><span class="pill {phase.status.replace(" ", "-")}">{_e(phase.status)}</span></td>'
            f'<td class="num">{counts.checks}</td><td class="num">{counts.failed}</td>'
            f'<td class="num">{counts.failures}</td><td class="num">{counts.warnings}</td>'
            f'<td class="num">{counts.skipped}</td>'
            f'<td class="num">{_e(took)}</td><td style="width:25%">{bar}</td>'
            f'<td class="code">{_e(truncate(phase.error or "", 500))}</td></tr>'
        )
    head = '<tr><th>Phase</th><th>Status</th><th class="num">Checks</th><th class="num">Checks failed</th>'
    head += '<th class="num">Failures</th><th class="num">Warnings</th><th class="num">Skipped</th>'
    head += '<th class="num">Time</th><th></th><th>Error</th></tr>'
    return f'<h2 id="phases">Phases</h2><table>{head}{"".join(rows)}</table>'


def _coverage(record: RunRecord, anchors: dict[tuple[str, str], str]) -> str:
    operations = record.operations()
    if not operations:
        return '<h2 id="coverage">Coverage</h2><p class="muted">No operation was exercised.</p>'
    phases = [name for name, phase in record.phases.items() if any(name in c.statuses for c in operations.values())]
    head = "<tr><th>Contract</th><th>Operation</th><th>2xx</th>"
    head += "".join(f"<th>{_e(phase)}</th>" for phase in phases)
    head += '<th class="num">Passed</th><th>Failed checks</th></tr>'
    reasons = record.skip_reasons()
    rows = []
    for (contract, operation), coverage in operations.items():
        why = reasons.get((contract, operation))
        if coverage.succeeded:
            reached = '<td class="hit s2">✓</td>'
        elif why and not coverage.all_statuses:  # skipped on purpose: say why, never a bare ✗
            reached = f'<td class="muted" title="{_e("; ".join(why))}">skipped: {_e("; ".join(why))}</td>'
        else:
            reached = '<td class="hit s5" title="never 2xx">✗</td>'
        cells = "".join(
            '<td class="code">'
            + " ".join(f'<span class="{_status_class(s)}">{s}</span>' for s in sorted(coverage.statuses.get(phase, ())))
            + "</td>"
            for phase in phases
        )
        bad = [name for name, verdict in coverage.checks.items() if verdict != "passed"]
        links = ", ".join(
            f'<a class="bad" href="#{anchors.get((operation, name), "failures")}">{_e(name)}</a>'
            + (" (warning)" if coverage.checks[name] == "warning" else "")
            for name in bad
        )
        good = [name for name, verdict in coverage.checks.items() if verdict == "passed"]
        passed = f'<span title="{_e(", ".join(good))}">{len(good)}</span>'
        rows.append(
            f'<tr><td class="code">{_e(contract)}</td><td class="code">{_e(operation)}</td>{reached}{cells}'
            f'<td class="num">{passed}</td><td>{links}</td></tr>'
        )
    note = (
        '<p class="muted">The statuses each phase got per operation; ✗ marks an operation that never '
        "answered 2xx (its success path was not tested); one skipped on purpose says why.</p>"
    )
    return f'<h2 id="coverage">Coverage</h2>{note}<table>{head}{"".join(rows)}</table>'


def _skips(record: RunRecord) -> str:
    rows = [
        f'<tr><td>{_e(phase.name)}</td><td class="code">{_e(skip.subject)}</td><td>{_e(skip.reason)}</td></tr>'
        for phase in record.phases.values()
        for skip in phase.skips
    ]
    if not rows:
        return ""
    head = "<tr><th>Phase</th><th>Not done</th><th>Why</th></tr>"
    return f'<h2 id="skipped">Skipped</h2><table>{head}{"".join(rows)}</table>'


def _failure(anchor: str, number: int, phase: str, failure: Failure, run_seed: int | None, kind: str) -> str:
    seed = failure.seed if failure.seed is not None else run_seed
    reproduction = (
        f'<div class="label">Reproduce</div><pre>{_e(truncate(failure.reproduction))}</pre>'
        if failure.reproduction
        else ""
    )
    severity = f'<span class="pill {_e(failure.severity)}">{_e(failure.severity)}</span>'
    return (
        f'<article id="{anchor}-{number}" class="{kind}"><h3>{number}. {severity} {_e(failure.title)}</h3>'
        f'<div class="where"><code>{_e(failure.operation)}</code> · <code>{_e(failure.check)}</code>'
        f" · phase {_e(phase)} · severity {_e(failure.severity)} · seed {_e('—' if seed is None else seed)}</div>"
        f'<div class="label">Message</div><pre>{_e(truncate(failure.message or "(no message)"))}</pre>'
        f"{reproduction}</article>"
    )


def _findings(record: RunRecord, anchors: dict[tuple[str, str], str]) -> str:
    """The failures, then the warnings, each worst first, numbered; ``anchors`` gets each check's first."""
    counts = record.counts()
    failures, warnings = record.failures, record.warnings
    for number, (_, failure) in enumerate(failures, start=1):
        anchors.setdefault((failure.operation, failure.check), f"failure-{number}")
    for number, (_, failure) in enumerate(warnings, start=1):
        anchors.setdefault((failure.operation, failure.check), f"warning-{number}")
    if failures:
        items = "".join(
            _failure("failure", n, phase, f, record.seed, "failure") for n, (phase, f) in enumerate(failures, start=1)
        )
        section = f'<h2 id="failures">Failures ({counts.failures})</h2>'
        section += f'<p class="muted">From {_e(counts.failed_text())}; worst first: by severity, then operation.</p>'
        section += items
    else:
        section = '<h2 id="failures">Failures (0)</h2><p class="muted">None.</p>'
    if warnings:
        items = "".join(
            _failure("warning", n, phase, f, record.seed, "warning") for n, (phase, f) in enumerate(warnings, start=1)
        )
        section += f'<h2 id="warnings">Warnings ({counts.warnings}, not failing the run)</h2>{items}'
    return section


def _check_row(check: CheckFinished) -> str:
    result = "failed" if failed(check) else "warning" if warned(check) else "passed"
    statuses = " ".join(map(str, sorted(set(check.statuses))))
    return (
        f'<tr><td class="code">{_e(check.operation)}</td><td class="code">{_e(check.check)}</td>'
        f'<td><span class="pill {result}">{result}</span></td><td class="num">{check.calls}</td>'
        f'<td class="code">{_e(statuses)}</td><td class="num">{_e(duration(check.seconds))}</td></tr>'
    )


def _checks(record: RunRecord) -> str:
    head = '<tr><th>Operation</th><th>Check</th><th>Result</th><th class="num">Calls</th><th>Statuses</th>'
    head += '<th class="num">Time</th></tr>'
    parts = ['<h2 id="checks">All checks</h2>']
    for phase in record.phases.values():
        if phase.checks:
            summary = f"{_e(phase.name)} — {count_checks(len(phase.checks))}, {phase.failed} failed"
            rows = "".join(_check_row(check) for check in phase.checks)
            parts.append(f"<details{' open' if phase.failed else ''}><summary>{summary}</summary>")
            parts.append(f"<table>{head}{rows}</table></details>")
    return "".join(parts)


def html_report(record: RunRecord) -> str:
    """Render the run as one self-contained HTML page.

    Args:
        record: the run.

    Returns:
        The page: inline CSS only, no script, no external resource; every value HTML-escaped and
        long messages truncated (the full text is in ``summary.json``).

    Example:
        >>> from villa_contracts.reports import RunRecord
        >>> "<script" in html_report(RunRecord())
        False
    """
    anchors: dict[tuple[str, str], str] = {}
    failure_section = _findings(record, anchors)
    title = f"{record.verdict} · villa-contracts {record.start.command if record.start else 'gate'} · {record.run_id}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>\n"
        f"{_header(record)}\n<main>{_tiles(record)}\n{_phases(record)}\n{_coverage(record, anchors)}\n"
        f"{_skips(record)}\n"
        f"{failure_section}\n{_reproduce(record)}\n{_checks(record)}\n</main>\n"
        '<footer>villa-contracts · machine-readable: <a href="summary.json">summary.json</a>, '
        '<a href="junit.xml">junit.xml</a>, <a href="results.sarif">results.sarif</a></footer>\n</body></html>\n'
    )
