"""``villa-contracts postman``: export the collections, run them with Newman, check a team's own."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from villa_contracts.contract import Contracts
    from villa_contracts.postman._newman import NewmanResult

EXPORT_EPILOG = """\b
Examples:
  villa-contracts postman export                  # rewrite contracts/postman/ from contracts/
  villa-contracts postman export --check          # CI: fail if contracts/postman/ is stale

\b
Exit codes:
  0  written (or, with --check, up to date)
  1  with --check: a file differs from a fresh export (run `villa-contracts postman export`)
"""

RUN_EPILOG = """\b
Examples:
  villa-contracts postman run                                   # every collection, embedded mock
  villa-contracts postman run --base-url http://127.0.0.1:8080  # a running mock
  VILLA_TEST_USERNAME=... VILLA_TEST_PASSWORD=... VILLA_COGNITO_CLIENT_ID=... \\
  VILLA_COGNITO_USER_POOL_ID=... villa-contracts postman run --base-url https://dev.example
  VILLA_TEST_USERNAME=... VILLA_TEST_PASSWORD=... VILLA_SHOP_GATEWAY_KEY=... \\
  villa-contracts postman run --contract shop --base-url https://dev.example

\b
Each security scheme's credential: the Cognito ID token (a login first), a key an operation
issues (the shop's token key, obtained first with the test account), or a shared key from
VILLA_<CONTRACT>_<SCHEME> (VILLA_SHOP_GATEWAY_KEY; the mock's own on a mock). Without a shared
key, the requests that need it are skipped.

\b
Each collection's JUnit report is written to reports/<run-id>/newman-<contract>.xml.

\b
Exit codes:
  0  every request and assertion passed
  1  an assertion or request failed (each one is named)
  2  the run could not start (no Node.js or Newman, target unreachable, credentials missing)
"""

CHECK_EPILOG = """\b
Examples:
  villa-contracts postman check team.postman_collection.json
  villa-contracts postman check contracts/postman/*.postman_collection.json

\b
Exit codes:
  0  every request matches a contract operation, with a valid body and credentials
  1  a request does not match: unknown path, wrong method, invalid body or missing auth
  2  a file could not be read or is not a Postman collection
"""


@click.group("postman")
def group() -> None:
    """Postman collections of the contracts: export them, run them with Newman, check your own."""


def _directory(contracts: Contracts, out: Path | None) -> Path:
    return out or contracts.root / "postman"


@group.command("export", epilog=EXPORT_EPILOG)
@click.option(
    "--out", type=click.Path(file_okay=False, path_type=Path),
    help="Write here instead of contracts/postman (the committed, checked copy).",
)  # fmt: skip
@click.option("--check", is_flag=True, help="Write nothing; fail when the files differ from a fresh export.")
def export_command(out: Path | None, check: bool) -> None:
    """Generate a Postman collection (v2.1) per backend API contract, and the mock and dev environments."""
    from villa_contracts.contract import load
    from villa_contracts.postman import export, stale

    contracts = load()
    directory = _directory(contracts, out)
    if check:
        found = stale(contracts, directory)
        for name in found:
            click.echo(f"stale: {directory / name}", err=True)
        if found:
            click.echo(
                "contracts/postman is not the export of contracts/: run `villa-contracts postman export`", err=True
            )
            sys.exit(1)
        click.echo(f"{directory}: up to date")
        return
    for path, changed in export(contracts, directory).items():
        click.echo(f"{'wrote    ' if changed else 'unchanged'} {path}")


def _report(result: NewmanResult, contract: str, verbose: bool) -> None:
    if verbose or not result.ok:
        click.echo(result.output.rstrip())
    if result.error:
        click.echo(f"{contract}: error: {result.error}", err=True)
        return
    for failure in result.failures:
        click.echo(f"FAIL  {contract}: {failure}", err=True)
    passed = result.assertions - len(result.failures)
    verdict = "passed" if result.ok else "FAILED"
    click.echo(
        f"{contract}: {verdict}: {result.requests} requests, {passed} of {result.assertions} assertions passed "
        f"(JUnit: {result.junit})"
    )


@group.command("run", epilog=RUN_EPILOG)
@options.base_url
@options.contract
@options.admin_token
@click.option("--report-dir", default="reports", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the run's reports go (a folder per run).")  # fmt: skip
@click.option("--run-id", help="Name of this run's report folder. Default: date-time-postman.")
@click.option("--allow-prod-payments", is_flag=True, help="On VILLA_ENV=prod, also run the payment requests.")
@click.option("--verbose", is_flag=True, help="Show Newman's whole output even when everything passed.")
def run_command(
    base_url: str | None,
    contracts: tuple[str, ...],
    admin_token: str | None,
    report_dir: Path,
    run_id: str | None,
    allow_prod_payments: bool,
    verbose: bool,
) -> None:
    """Run each contract's collection with Newman against the embedded mock or --base-url."""
    from villa_contracts.cli._embedded import target_url
    from villa_contracts.contract import load
    from villa_contracts.postman import MOCK_ENVIRONMENT, collection_file
    from villa_contracts.postman._auth import from_environment, needs_cognito
    from villa_contracts.postman._newman import mock_environment, newman_command, run_collection, target_environment
    from villa_contracts.reports import run_directory_name
    from villa_contracts.target import probe

    newman_command()  # no Node.js or Newman: one line and exit 2, before a mock starts
    loaded = load()
    chosen = loaded.select(list(contracts))
    directory = loaded.root / "postman"
    files = {c.name: directory / collection_file(c.name) for c in chosen}
    missing = [str(p) for p in files.values() if not p.is_file()]
    if missing:
        click.echo(f"error: no collection {', '.join(missing)}: run `villa-contracts postman export`", err=True)
        sys.exit(2)
    reports = report_dir / run_directory_name(run_id or time.strftime("%Y%m%d-%H%M%S") + "-postman")
    results: list[bool] = []
    with target_url(base_url) as (url, _):
        cognito = probe(url, admin_token=admin_token)
        mock = json.loads((directory / MOCK_ENVIRONMENT).read_text(encoding="utf-8"))
        if cognito is not None:
            environment = mock_environment(mock, url, cognito)
        else:
            dev = json.loads((directory / "dev.postman_environment.json").read_text(encoding="utf-8"))
            keys = {key.variable: str(key.env_var) for key in from_environment(loaded)}
            cognito_login = any(needs_cognito(c) for c in chosen)
            environment = target_environment(dev, url, os.environ, allow_prod_payments=allow_prod_payments,
                                             cognito=cognito_login, keys=keys)  # fmt: skip
        click.echo(f"Newman: {len(files)} collection(s) against {url}{' (a mock)' if cognito else ''}")
        for name, path in files.items():
            result = run_collection(path, environment, reports / f"newman-{name}.xml")
            _report(result, name, verbose)
            if result.error or not result.requests:
                sys.exit(2)
            results.append(result.ok)
    sys.exit(0 if all(results) else 1)


@group.command("check", epilog=CHECK_EPILOG)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def check_command(files: tuple[str, ...]) -> None:
    """Match each request of Postman collection FILES to a contract operation and list what does not match."""
    from villa_contracts.contract import load
    from villa_contracts.errors import UsageError
    from villa_contracts.postman._check import check_collection

    contracts = load()
    failed = unreadable = 0
    for name in files:
        try:
            document = json.loads(Path(name).read_text(encoding="utf-8-sig"))
            result = check_collection(document, contracts)
        except (OSError, ValueError, UsageError) as exc:
            unreadable += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"{name}: cannot check: {reason}", err=True)
            continue
        for finding in result.findings:
            click.echo(f"{name}: {finding.problem}: {finding.request}: {finding.label}: {finding.detail}")
        for place, why in result.notes:
            click.echo(f"{name}: note: {place}: {why}")
        total = len(result.matched) + len(
            {f.request for f in result.findings if f.problem in ("unknown path", "wrong method")}
        )
        verdict = "OK" if result.ok else f"{len(result.findings)} problem(s)"
        click.echo(f"{name}: {verdict}: {len(result.matched)} of {total} requests match a contract operation")
        failed += not result.ok
    sys.exit(2 if unreadable else 1 if failed else 0)


command = group
