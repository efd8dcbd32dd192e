"""The ``villa-contracts`` command group and its entry point (``villa_contracts.cli`` re-exports them)."""

from __future__ import annotations

import importlib
import sqlite3
import sys
import traceback

import click

from villa_contracts import __version__
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


COMMANDS = ("serve", "validate", "flow", "gate", "pact", "tokens", "postman", "proxy")
"""The commands, each the ``command`` of its module ``villa_contracts.cli.<name>``."""


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is used (or listed by ``--help``).

    ``villa-contracts --version`` and ``villa-contracts gate --help`` then load only what they need: the
    serve command's Starlette, the proxy's mitmproxy and the gate's engine stay unloaded until called.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Every command's name, sorted (as click lists them)."""
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """The command ``cmd_name`` from its module, or None when there is none."""
        if cmd_name not in COMMANDS:
            return None
        command: click.Command = importlib.import_module(f"villa_contracts.cli.{cmd_name}").command
        return command


@click.group(
    cls=LazyGroup,
    epilog=EPILOG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="villa-contracts")  # not importlib.metadata: it costs start-up
@click.option("--debug", is_flag=True, help="Show the traceback of an error (for reporting a problem).")
def cli(debug: bool) -> None:
    """Contract tests and a stateful mock of the Villa Market backend, from one set of contracts."""


def _one_line(exc: object) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 400 else text[:399] + "…"


def usage_line(exc: click.UsageError) -> str:
    """A usage error in one line: what is wrong, and where the command's help is."""
    where = f" (see {exc.ctx.command_path} --help)" if exc.ctx is not None else ""
    return f"error: {_one_line(exc.format_message())}{where}"


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
    except click.UsageError as exc:  # one line, as every other error: what is wrong, and where help is
        click.echo(usage_line(exc), err=True)
        sys.exit(EXIT_ERROR)
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
