"""``villa-contracts flow``: the seeds' checkout flow, end to end, printing each step."""

from __future__ import annotations

import secrets
import sys
import time
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.flows.checkout import Step


def _print_step(step: Step) -> None:
    mark = click.style("ok  ", fg="green") if step.ok else click.style("FAIL", fg="red", bold=True)
    click.echo(f"  {step.number:>2}. {mark} {step.name:<44} {step.detail}  ({step.seconds * 1000:.0f} ms)")


FLOW_EPILOG = """\b
Examples:
  villa-contracts flow                                   # embedded mock
  villa-contracts flow --base-url http://127.0.0.1:8080  # a running mock, no variables needed

\b
Exit codes:
  0  every step held
  1  a step failed (it is named, with what came back)
  2  the flow could not run (target unreachable, Cognito not configured or unreachable)
  3  interrupted
"""


@click.command("flow", epilog=FLOW_EPILOG)
@options.base_url
@options.admin_token
@click.option("--username", envvar="VILLA_TEST_USERNAME", help="Sign up this user (default: a fresh one per run).")
@click.option("--password", envvar="VILLA_TEST_PASSWORD", help="Password for the new user.")
@click.option(
    "--confirmation-code", envvar="VILLA_TEST_CONFIRMATION_CODE",
    help="Sign-up confirmation code (the mock's is in contracts/data/cognito.yaml).",
)  # fmt: skip
def command(
    base_url: str | None,
    admin_token: str | None,
    username: str | None,
    password: str | None,
    confirmation_code: str | None,
) -> None:
    """Run the checkout flow of the seeds with the reference client and print each step.

    Steps: sign up + login, generate an id, build, pre-payment validation (174.00), create, card
    token, card payment, 3-D Secure, verify, and read the order back paid.

    Without --base-url (or VILLA_BASE_URL) it starts an embedded mock on a free port and stops it
    afterwards. Against a running mock it reads the Cognito settings from the mock itself; against
    another backend they come from the VILLA_COGNITO_* variables.
    """
    from suites.flows.checkout import run_checkout
    from villa_contracts.cli._embedded import target_url
    from villa_contracts.client import VillaClient
    from villa_contracts.contract import load
    from villa_contracts.target import client_settings

    cognito = load().data("cognito")
    username = username or f"flow-{secrets.token_hex(4)}@villa.example"
    password = password or f"Flow-{secrets.token_hex(6)}A1"
    with target_url(base_url) as (url, embedded):
        if embedded:
            click.echo(f"embedded mock on {url}")
        settings, _ = client_settings(url, admin_token=admin_token)
        started = time.perf_counter()
        with VillaClient(settings) as client:
            click.echo(f"checkout flow against {url} as {username}")
            result = run_checkout(
                client,
                username=username,
                password=password,
                email=username,
                confirmation_code=confirmation_code or str(cognito["confirmationCode"]),
                report=_print_step,
            )
        seconds = time.perf_counter() - started
    if not result.ok:
        click.echo(click.style("checkout flow FAILED", fg="red", bold=True), err=True)
        sys.exit(1)
    click.echo(click.style(f"checkout flow passed: {len(result.steps)} steps in {seconds:.1f} s", fg="green"))
