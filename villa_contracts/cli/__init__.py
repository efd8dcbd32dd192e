"""The ``villa-contracts`` command line.

Exit codes: 0 success, 1 the target or document broke the contract, 2 usage, config or
connection error.
"""

from __future__ import annotations

import sys

import click

from villa_contracts.cli import flow, gate, pact, serve, validate
from villa_contracts.errors import VillaContractsError

EPILOG = """\b
Exit codes:
  0  everything held
  1  a contract was violated (invalid document, failed flow step)
  2  the command could not run (bad options, config, unreachable target)

\b
Quick start:
  villa-contracts flow                 run the checkout flow on an embedded mock
  villa-contracts serve --port 8080    serve the mock for the Villa SDK
  villa-contracts validate order FILE  check an order document
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="villa-contracts", prog_name="villa-contracts")
def cli() -> None:
    """Contract tests and a stateful mock of the Villa Market backend, from one set of contracts."""


cli.add_command(serve.command)
cli.add_command(validate.command)
cli.add_command(flow.command)
cli.add_command(gate.command)
cli.add_command(pact.command)


def main() -> None:
    """Console-script entry point: run the CLI and turn library errors into exit code 2."""
    try:
        cli(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except VillaContractsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
