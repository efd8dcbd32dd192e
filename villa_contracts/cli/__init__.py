"""The ``villa-contracts`` command line.

Exit codes: 0 success, 1 the target or document broke the contract, 2 the command could not run
(usage, config, connection, files), 3 the run was interrupted (INCOMPLETE). Every error a user can
cause is one line on stderr saying what to do; a traceback appears only with ``--debug``, or for a
real bug of this tool, which then says how to report it.
"""

from __future__ import annotations

import sqlite3
import sys
import traceback

import click

from villa_contracts.cli import flow, gate, pact, postman, proxy, serve, tokens, validate
from villa_contracts.errors import VillaContractsError
from villa_contracts.events import EXIT_ERROR, EXIT_INCOMPLETE

EPILOG = """\b
Exit codes:
  0  everything held
  1  a contract was violated (invalid document, failed check or flow step)
  2  the command could not run (bad options, config, files, unreachable target)
  3  the run was interrupted (Ctrl-C, SIGTERM) before it finished: INCOMPLETE

\b
Quick start:
  villa-contracts gate                 check the embedded mock against every contract
  villa-contracts serve --port 8080    serve the mock for the Villa SDK
  villa-contracts flow                 run the checkout flow on an embedded mock
  villa-contracts validate order FILE  check an order document
"""

REPORT_A_BUG = (
    "This is a bug of villa-contracts, not of your target or input: please report it to the maintainers "
    "with the command you ran and the traceback above."
)


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="villa-contracts", prog_name="villa-contracts")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (for reporting a problem).")
def cli(debug: bool) -> None:
    """Contract tests and a stateful mock of the Villa Market backend, from one set of contracts."""


cli.add_command(serve.command)
cli.add_command(validate.command)
cli.add_command(flow.command)
cli.add_command(gate.command)
cli.add_command(pact.command)
cli.add_command(tokens.command)
cli.add_command(postman.command)
cli.add_command(proxy.command)


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:399] + "…"


def main() -> None:
    """Console-script entry point: run the CLI; turn every error into its documented exit code."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted: the command did not finish (exit 3, INCOMPLETE)", err=True)
        sys.exit(EXIT_INCOMPLETE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_ERROR)
    except (VillaContractsError, OSError, sqlite3.Error) as exc:
        if debug:
            traceback.print_exc()
        said = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc  # no "[Errno 98]" noise
        click.echo(f"error: {_one_line(said)}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception:
        traceback.print_exc()
        click.echo(REPORT_A_BUG, err=True)
        sys.exit(EXIT_ERROR)
