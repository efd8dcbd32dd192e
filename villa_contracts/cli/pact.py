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
Exit codes:
  0  every interaction held
  1  an interaction failed (each one is named)
  2  the verification could not run (no pact files, unreachable provider)
"""


@click.group("pact")
def group() -> None:
    """Consumer-driven contracts: the Villa SDK's pacts, verified against a provider."""


def _report(result: VerificationResult) -> None:
    failed = {description for description, _ in result.failed}
    for description in result.interactions:
        click.echo(f"{'FAIL' if description in failed else 'ok  '}  {description}")
    for description, reason in result.failed:
        click.echo(f"failed: {description}: {reason}", err=True)
    click.echo(
        f"{len(result.interactions) - len(failed)} of {len(result.interactions)} interactions verified", err=True
    )


def _reachable(base_url: str) -> None:
    """Raise ``OSError`` when nothing answers at ``base_url`` (so the exit code is 2, not 1)."""
    import httpx

    try:
        httpx.get(base_url, timeout=10)
    except httpx.HTTPError as exc:
        raise OSError(f"the provider at {base_url} does not answer: {type(exc).__name__}") from None


@group.command("verify", epilog=EPILOG)
@options.base_url
@options.state_change_url
@click.option(
    "--pact-dir", type=click.Path(file_okay=False, path_type=Path), envvar="VILLA_PACT_DIR",
    help="Directory of the pact files. Default: contracts/pacts.",
)  # fmt: skip
@click.option("--verbose", is_flag=True, help="Print the verifier's full report.")
def verify(base_url: str | None, state_change_url: str | None, pact_dir: Path | None, verbose: bool) -> None:
    """Replay every pact interaction against the provider (default: an embedded mock)."""
    from suites.pact.provider import verify_pacts
    from villa_contracts.cli._embedded import target_url

    try:
        if base_url:
            _reachable(base_url)
        with target_url(base_url) as (url, _):
            result = verify_pacts(url, state_change_url=state_change_url, pact_dir=pact_dir)
    except (OSError, RuntimeError, ValueError) as exc:
        click.echo(f"error: cannot verify: {exc}", err=True)
        sys.exit(2)
    if verbose:
        click.echo(result.output)
    _report(result)
    if not result.interactions:
        click.echo("error: the verifier ran no interaction (is the provider reachable?)", err=True)
        sys.exit(2)
    sys.exit(0 if result.ok else 1)


command = group
