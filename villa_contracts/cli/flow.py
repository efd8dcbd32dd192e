"""``villa-contracts flow``: the seeds' flows, end to end, printing each step (one flow per contract)."""

from __future__ import annotations

import secrets
import sys
import time
from typing import TYPE_CHECKING

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.flows import Step

FLOW_EPILOG = """\b
Examples:
  villa-contracts flow                                   # every flow, on an embedded mock
  villa-contracts flow --contract villa                  # the Villa SDK checkout only
  villa-contracts flow --base-url http://127.0.0.1:8080  # a running mock, no variables needed

\b
Exit codes:
  0  every step of every flow held
  1  a step failed (it is named, with what came back)
  2  the flow could not run (target unreachable, Cognito not configured or unreachable)
  3  interrupted
"""


def _print_step(step: Step) -> None:
    mark = click.style("ok  ", fg="green") if step.ok else click.style("FAIL", fg="red", bold=True)
    click.echo(f"  {step.number:>2}. {mark} {step.name:<44} {step.detail}  ({step.seconds * 1000:.0f} ms)")


@click.command("flow", epilog=FLOW_EPILOG)
@options.base_url
@options.contract
@options.admin_token
@click.option("--username", envvar="VILLA_TEST_USERNAME", help="Sign up this user (default: a fresh one per run).")
@click.option("--password", envvar="VILLA_TEST_PASSWORD", help="Password for the new user.")
@click.option(
    "--confirmation-code", envvar="VILLA_TEST_CONFIRMATION_CODE",
    help="Sign-up confirmation code (the mock's is in contracts/data/cognito.yaml).",
)  # fmt: skip
def command(
    base_url: str | None,
    contracts: tuple[str, ...],
    admin_token: str | None,
    username: str | None,
    password: str | None,
    confirmation_code: str | None,
) -> None:
    """Run the seeds' flows with the reference clients and print each step.

    The Villa SDK checkout (villa): sign up + login, generate an id, build, pre-payment validation
    (174.00), create, card token, card payment, 3-D Secure, verify, and read the order back paid.
    Every other contract that has a flow runs its own, step by step.

    Without --base-url (or VILLA_BASE_URL) it starts an embedded mock on a free port and stops it
    afterwards. Against a running mock it reads the Cognito settings from the mock itself; against
    another backend they come from the VILLA_COGNITO_* variables.
    """
    from suites.flows import FlowTarget, flow_for, flows
    from villa_contracts.cli._embedded import target_url
    from villa_contracts.contract import load
    from villa_contracts.target import client_settings

    everything = load()
    chosen = [c.name for c in everything.select(contracts)]
    known = flows()
    missing = [name for name in chosen if name not in known]
    if contracts and missing:
        raise click.UsageError(f"--contract: no flow for {', '.join(missing)}; flows: {', '.join(known)}")
    names = [name for name in chosen if name in known]
    cognito = everything.data("cognito")
    username = username or f"flow-{secrets.token_hex(4)}@villa.example"
    password = password or f"Flow-{secrets.token_hex(6)}A1"
    failed = []
    with target_url(base_url) as (url, embedded):
        if embedded:
            click.echo(f"embedded mock on {url}")
        settings, is_mock = client_settings(url, admin_token=admin_token)
        target = FlowTarget(
            base_url=url,
            settings=settings,
            is_mock=is_mock,
            username=username,
            password=password,
            email=username,
            confirmation_code=confirmation_code or str(cognito["confirmationCode"]),
            admin_token=admin_token,
        )
        for name in names:
            flow = flow_for(name)
            assert flow is not None
            started = time.perf_counter()
            click.echo(f"{name}: flow against {url} as {username}")
            result = flow(target, _print_step)
            seconds = time.perf_counter() - started
            if result.ok:
                click.echo(
                    click.style(f"{name}: flow passed: {len(result.steps)} steps in {seconds:.1f} s", fg="green")
                )
            else:
                failed.append(name)
                click.echo(click.style(f"{name}: flow FAILED", fg="red", bold=True), err=True)
    if failed:
        sys.exit(1)
