"""``villa-contracts flow``: the seeds' checkout flow, end to end, printing each step."""

from __future__ import annotations

import secrets
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from villa_contracts.cli import options

if TYPE_CHECKING:
    from suites.flows.checkout import Step


def _print_step(step: Step) -> None:
    mark = click.style("ok  ", fg="green") if step.ok else click.style("FAIL", fg="red", bold=True)
    click.echo(f"  {step.number:>2}. {mark} {step.name:<44} {step.detail}  ({step.seconds * 1000:.0f} ms)")


def _embedded_settings(base_url: str) -> dict[str, str]:
    import httpx

    cognito = httpx.get(f"{base_url}/__admin/cognito", timeout=10).json()
    return {
        "VILLA_BASE_URL": base_url,
        "VILLA_ENV": "dev",
        "VILLA_COGNITO_ENDPOINT": base_url,
        "VILLA_COGNITO_USER_POOL_ID": cognito["userPoolId"],
        "VILLA_COGNITO_CLIENT_ID": cognito["clientId"],
        "VILLA_COGNITO_CLIENT_SECRET": cognito["clientSecret"],
        "VILLA_COGNITO_REGION": cognito["region"],
    }


@click.command("flow")
@options.base_url
@click.option("--username", envvar="VILLA_TEST_USERNAME", help="Sign up this user (default: a fresh one per run).")
@click.option("--password", envvar="VILLA_TEST_PASSWORD", help="Password for the new user.")
@click.option(
    "--confirmation-code", envvar="VILLA_TEST_CONFIRMATION_CODE",
    help="Sign-up confirmation code (the mock's is in contracts/data/cognito.yaml).",
)  # fmt: skip
def command(base_url: str | None, username: str | None, password: str | None, confirmation_code: str | None) -> None:
    r"""Run the checkout flow of the seeds with the reference client and print each step.

    \b
    sign up + login → generate id → build → pre-payment validate (174.00) → create →
    card token → card payment → 3-D Secure → verify → get shows the order paid

    Without --base-url (or VILLA_BASE_URL) it starts an embedded mock on a free port and stops it
    afterwards. Exit 0 when every step held, 1 when a step failed, 2 when the flow could not run.
    """
    import os

    from suites.flows.checkout import run_checkout
    from villa_contracts.client import Settings, VillaClient
    from villa_contracts.contract import load

    server = None
    if base_url is None:
        from mock_server.app import create_app
        from mock_server.runner import serve_in_thread

        server = serve_in_thread(lambda url: create_app(base_url=url))
        base_url = server.base_url
        click.echo(f"embedded mock on {base_url}")
        environ: dict[str, Any] = {**os.environ, **_embedded_settings(base_url)}
    else:
        environ = {**os.environ, "VILLA_BASE_URL": base_url}
    cognito = load().data("cognito")
    username = username or f"flow-{secrets.token_hex(4)}@villa.example"
    password = password or f"Flow-{secrets.token_hex(6)}A1"
    try:
        started = time.perf_counter()
        with VillaClient(Settings.from_env(environ)) as client:
            click.echo(f"checkout flow against {base_url} as {username}")
            result = run_checkout(
                client,
                username=username,
                password=password,
                email=username,
                confirmation_code=confirmation_code or str(cognito["confirmationCode"]),
                report=_print_step,
            )
        seconds = time.perf_counter() - started
        if result.ok:
            click.echo(click.style(f"checkout flow passed: {len(result.steps)} steps in {seconds:.1f} s", fg="green"))
        else:
            click.echo(click.style("checkout flow FAILED", fg="red", bold=True), err=True)
            sys.exit(1)
    finally:
        if server is not None:
            server.stop()
