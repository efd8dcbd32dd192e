"""``villa-contracts tokens``: the shell variables a failure's curl reproduction reads."""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from villa_contracts.target import Target

from villa_contracts.cli import options

EPILOG = """\b
Examples:
  villa-contracts serve --port 8080 &
  eval "$(villa-contracts tokens --base-url http://127.0.0.1:8080 --seed 42)"
  curl -sS -X POST "$VILLA_BASE_URL"/api/order/get -H "Authorization: Bearer $VILLA_ID_TOKEN" ...

\b
Exit codes:
  0  the exports were printed
  2  the target is unreachable or refused the login
"""


@click.command("tokens", epilog=EPILOG)
@click.option("--base-url", envvar="VILLA_BASE_URL", required=True, help="The target (a running mock, or any backend).")
@click.option("--seed", type=int, envvar="VILLA_GATE_SEED", default=0, show_default=True,
              help="The gate run's seed: on a mock, its two accounts are made from it.")  # fmt: skip
@options.admin_token
def command(base_url: str, seed: int, admin_token: str | None) -> None:
    """Print ``export`` lines for the variables a failure's curl reproduction reads.

    VILLA_BASE_URL, VILLA_ID_TOKEN and VILLA_ID_TOKEN_2 (on a villa-contracts mock the two accounts
    are the ones a gate run with --seed makes, created when missing, so a fresh mock works; on
    another backend they are the VILLA_TEST_* accounts), the shop's token keys of the same accounts
    (VILLA_SHOP_TOKEN, VILLA_SHOP_TOKEN_2) and, on a mock, its gateway key (VILLA_SHOP_GATEWAY_KEY),
    and the contract's test cards (VILLA_CARD_<last 4 digits>, VILLA_CARD_CVV), which reports never
    show. Tokens and keys are secrets: evaluate the output, do not log it.
    """
    from villa_contracts.contract import load
    from villa_contracts.redact import CVV_VARIABLE, card_variable
    from villa_contracts.target import resolve_target

    target = resolve_target(base_url, seed=seed, admin_token=admin_token)
    click.echo(f"export VILLA_BASE_URL={shlex.quote(target.base_url)}")
    click.echo(f"export VILLA_ID_TOKEN={shlex.quote(target.accounts[0].id_token)}  # {target.accounts[0].username}")
    click.echo(f"export VILLA_ID_TOKEN_2={shlex.quote(target.accounts[1].id_token)}  # {target.accounts[1].username}")
    _shop_exports(target)
    for number in load().data("test_cards")["cards"]:
        click.echo(f"export {card_variable(str(number))}={shlex.quote(str(number))}")
    click.echo(f"export {CVV_VARIABLE}=123")


def _shop_exports(target: Target) -> None:
    """The shop's token keys (when the target has the shop API) and the mock's gateway key."""
    from suites.auth import gateway_key, shop_token_key
    from suites.context import RunContext
    from villa_contracts.errors import ConfigError

    with RunContext(target) as context:
        for index, suffix in ((0, ""), (1, "_2")):
            try:
                key = shop_token_key(context, index)
            except ConfigError:
                click.echo(f"# no shop token key for {target.accounts[index].username}: the target has no shop API")
                break
            click.echo(f"export VILLA_SHOP_TOKEN{suffix}={shlex.quote(key)}  # {target.accounts[index].username}")
        gateway = gateway_key(context)
        if gateway:
            click.echo(f"export VILLA_SHOP_GATEWAY_KEY={shlex.quote(gateway)}")
