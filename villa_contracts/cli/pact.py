"""``villa-contracts pact``: verify the committed Pact files against a provider."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.pact.provider import VerificationResult

EPILOG = """\b
Examples:
  villa-contracts pact verify                                    # the embedded mock
  villa-contracts pact verify --base-url http://127.0.0.1:8080   # a running mock
  villa-contracts pact verify --base-url https://dev.example \\
      --state-change-url https://dev.example/_pact/provider-states

\b
Exit codes:
  0  every interaction held
  1  an interaction failed (each one is named, with why)
  2  the verification could not run (no pact files, provider unreachable, the state-change
     URL does not set up provider states)
"""


@click.group("pact")
def group() -> None:
    """Consumer-driven contracts: the consumers' pacts, verified against a provider."""


def _report(result: VerificationResult, *, verbose: bool) -> None:
    failed = dict(result.failed)
    if verbose:
        click.echo(result.output)
        for description in result.interactions:
            click.echo(f"{'FAIL' if description in failed else 'ok  '}  {description}")
    for description, reason in result.failed:
        click.echo(f"FAIL  {description}: {' '.join(reason.split())[:300]}", err=True)
    verified = len(result.interactions) - len(failed)
    click.echo(f"{verified} of {len(result.interactions)} interactions verified", err=True)


def _reachable(base_url: str) -> None:
    """Raise ``OSError`` when nothing answers at ``base_url`` (so the exit code is 2, not 1)."""
    import httpx

    from villa_contracts.client import tls_context

    try:
        httpx.get(base_url, verify=tls_context(), timeout=10)
    except httpx.HTTPError as exc:
        raise OSError(f"the provider at {base_url} does not answer: {type(exc).__name__}") from None


@group.command("verify", epilog=EPILOG)
@options.base_url
@options.state_change_url
@options.admin_token
@click.option(
    "--pact-dir", type=click.Path(file_okay=False, path_type=Path), envvar="VILLA_PACT_DIR",
    help="Directory of the pact files. Default: contracts/pacts.",
)  # fmt: skip
@click.option("--verbose", is_flag=True, help="Also print the verifier's full report and every interaction.")
def verify(
    base_url: str | None, state_change_url: str | None, admin_token: str | None, pact_dir: Path | None, verbose: bool
) -> None:
    """Replay every pact interaction against the provider (default: an embedded mock), with provider states."""
    from suites.gate import stdout_silenced
    from suites.pact.provider import NotAProvider, verify_pacts
    from villa_contracts.cli._embedded import target_url

    try:
        if base_url:
            _reachable(base_url)
        with target_url(base_url) as (url, _), stdout_silenced():
            # pact-ffi prints its own report on file descriptor 1; it is shown (once) with --verbose.
            result = verify_pacts(url, state_change_url=state_change_url, pact_dir=pact_dir, admin_token=admin_token)
    except (FileNotFoundError, NotAProvider) as exc:
        click.echo(f"error: cannot verify: {exc}", err=True)
        sys.exit(2)
    _report(result, verbose=verbose)
    if not result.interactions:
        click.echo("error: the verifier ran no interaction (is the provider reachable?)", err=True)
        sys.exit(2)
    sys.exit(0 if result.ok else 1)


command = group
