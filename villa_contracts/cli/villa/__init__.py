"""The Villa SDK manual's ``villa`` command line (section 8), on villa-contracts' reference client.

It reads the manual's variables (``VILLA_*``) from the environment and from ``.env`` in the current
directory (variables already set win), and keeps villa-contracts' promises: exit 0 when the command
did what it was asked, 1 when the backend said no (a refused login or call, an invalid order, a
declined card), 2 when it could not run (options, settings, files, an unreachable backend, no
login), 3 when interrupted; an error is one line on stderr (``--debug`` adds the traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from villa_contracts import __version__
from villa_contracts.cli.villa._commands import COMMANDS
from villa_contracts.cli.villa._session import Context, load_dotenv
from villa_contracts.client import _settings
from villa_contracts.client._settings import DEFAULT_BASE_URL, PRODUCTION_BASE_URL
from villa_contracts.errors import ApiError, NotAnswering, VillaContractsError

EPILOG = """\b
Examples:
  villa health
  villa config show
  villa auth login --username user@example.com --password 'secret'
  villa order generate-id --branch-id 1000
  villa order get --order-id ORDER_ID > order.json
  villa order validate-schema --file tests/fixtures/goodSample.json
  villa validate pre-payment --file tests/fixtures/goodSample.json --expected-grand-total 500
  villa --env dev payment charge --order-id ORDER_ID --basket-id BASKET_ID --amount 174 \\
      --validate --order-file order.json

\b
Settings: VILLA_BASE_URL (default: the local mock, http://127.0.0.1:8080), VILLA_ENV,
VILLA_COGNITO_CLIENT_ID, VILLA_COGNITO_USER_POOL_ID, VILLA_COGNITO_CLIENT_SECRET, VILLA_COGNITO_REGION,
VILLA_COGNITO_ENDPOINT (against a mock, all unset: villa asks the mock), VILLA_CUSTOMER_ID, VILLA_MID,
from the environment or ./.env (VILLA_ENV_FILE names another file); .env.example lists them all,
docs/sdk.md is the manual.

\b
Exit codes:
  0  done
  1  the backend said no (login refused, call refused, invalid order, card declined, a
     --validate order whose file's grand total, --amount and the backend's total differ)
  2  the command could not run (options, settings such as a VILLA_ID_TOKEN that is not a JWT,
     files, backend unreachable, not logged in, a --validate order file of another order
     than --order-id)
  3  interrupted
"""


@click.group(epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="villa")  # the package's, without importlib.metadata
# No click envvar= here: the variables are read from the environment and .env together (Context.environ).
@click.option(
    "--env",
    "env",
    type=click.Choice(["dev", "prod"]),
    help="dev (payments under /api/payment3devapi) or prod (/api/payment3). [env: VILLA_ENV; default: dev]",
)
@click.option("--customer-id", help="Default customer / owner id sent with payments. [env: VILLA_CUSTOMER_ID]")
@click.option("--merchant-id", help="KBank merchant id (15 digits). [env: VILLA_MID]")
@click.option(
    "--base-url",
    help=f"The backend: production ({PRODUCTION_BASE_URL}) only when given here or in VILLA_BASE_URL. "
    f"[env: VILLA_BASE_URL; default: {DEFAULT_BASE_URL}, the local mock `villa-contracts serve` runs]",
)
@click.option("--allow-prod-payments", is_flag=True, help="Allow a real card charge on a prod backend.")
@click.option("--debug", is_flag=True, help="Show the traceback of an error.")
@click.pass_context
def villa(
    click_ctx: click.Context,
    env: str | None,
    customer_id: str | None,
    merchant_id: str | None,
    base_url: str | None,
    allow_prod_payments: bool,
    debug: bool,
) -> None:
    """Villa Market backend: Cognito login, orders, pre-payment validation and card payment."""
    ctx = click_ctx.find_object(Context) or Context(dict(os.environ))
    for name, value in (("VILLA_ENV", env), ("VILLA_CUSTOMER_ID", customer_id), ("VILLA_MID", merchant_id),
                        ("VILLA_BASE_URL", base_url)):  # fmt: skip
        if value:
            ctx.environ[name] = value
    if allow_prod_payments:
        ctx.environ["VILLA_ALLOW_PROD_PAYMENTS"] = "1"
    click_ctx.obj = ctx


for _command in COMMANDS:
    villa.add_command(_command)


def context(environ: dict[str, str] | None = None) -> Context:
    """The commands' context: ``environ`` (default: the process's) with ``.env`` (or ``$VILLA_ENV_FILE``) merged in.

    Raises:
        ConfigError: the file exists but cannot be read.
    """
    environ = dict(os.environ if environ is None else environ)
    path = Path(environ.get("VILLA_ENV_FILE") or ".env")
    read = load_dotenv(path, environ)
    return Context(environ, path.resolve() if read else None)


def nothing_configured() -> str:
    """The one line shown when no backend is configured and the default address does not answer."""
    default = _settings.DEFAULT_BASE_URL
    return (
        f"error: no backend configured, and nothing answers at {default} (the local mock's address): "
        f"for a mock, run `villa-contracts serve` (then VILLA_BASE_URL={default}, or put it in .env); "
        "for a backend, set VILLA_BASE_URL=URL (or --base-url URL)"
    )


def main() -> None:
    """Console-script entry point (``villa``): run the CLI, turn every error into its exit code."""
    debug = "--debug" in sys.argv[1:]
    ctx: Context | None = None
    try:
        ctx = context()
        villa(standalone_mode=False, obj=ctx)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted (exit 3)", err=True)
        sys.exit(3)
    except click.UsageError as exc:
        from villa_contracts.cli._root import usage_line

        click.echo(usage_line(exc), err=True)
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(2)
    except NotAnswering as exc:
        if debug:
            traceback.print_exc()
        if ctx is not None and not ctx.environ.get("VILLA_BASE_URL", "").strip():
            click.echo(nothing_configured(), err=True)
        else:
            click.echo(f"error: {' '.join(str(exc).split())[:400]}", err=True)
        sys.exit(2)
    except (VillaContractsError, OSError) as exc:
        if debug:
            traceback.print_exc()
        from villa_contracts.client._auth import AuthError  # imported here: `villa --help` starts without httpx

        refused = isinstance(exc, ApiError | AuthError)
        text = " ".join(str(exc).split()) or type(exc).__name__
        click.echo(f"{'refused' if refused else 'error'}: {text[:400]}", err=True)
        sys.exit(1 if refused else 2)
    except Exception:
        traceback.print_exc()
        click.echo("This is a bug of the villa command: please report it with the command and traceback.", err=True)
        sys.exit(2)
