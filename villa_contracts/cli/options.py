"""Options shared by several subcommands, each declared once with its help and environment variable."""

from __future__ import annotations

import click

host = click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="VILLA_MOCK_HOST", help="Interface to listen on."
)
port = click.option(
    "--port", default=8080, show_default=True, type=click.IntRange(0, 65535), envvar="VILLA_MOCK_PORT",
    help="Port to listen on (0: any free port).",
)  # fmt: skip
db = click.option(
    "--db", "db_path", type=click.Path(dir_okay=False), envvar="VILLA_MOCK_DB",
    help="Keep the mock's state in this SQLite file so it survives restarts (default: in memory).",
)  # fmt: skip
base_url = click.option(
    "--base-url", envvar="VILLA_BASE_URL",
    help="Target backend (e.g. https://dev.example). Default: an embedded mock on a free port.",
)  # fmt: skip
env = click.option(
    "--env", type=click.Choice(["dev", "prod"]), envvar="VILLA_ENV",
    help="The target's environment: payment paths (dev: /api/payment3devapi) and the prod fence. [default: dev]",
)  # fmt: skip
seed = click.option(
    "--seed", type=int, envvar="VILLA_GATE_SEED", help="Seed of every generator: same seed, same requests."
)
max_examples = click.option(
    "--max-examples", default=100, show_default=True, type=click.IntRange(1, 10_000), envvar="VILLA_GATE_MAX_EXAMPLES",
    help="Generated examples per operation (deeper: more; faster: fewer).",
)  # fmt: skip
rate_limit = click.option(
    "--rate-limit", type=click.FloatRange(min=0.1), envvar="VILLA_GATE_RATE_LIMIT",
    help="At most this many requests per second (be polite to shared environments).",
)  # fmt: skip
state_change_url = click.option(
    "--state-change-url", envvar="VILLA_PACT_STATE_CHANGE_URL",
    help="The provider's Pact state-change URL. Default: a mock's own ({base-url}/__admin/provider-states).",
)  # fmt: skip
contract = click.option(
    "--contract", "contracts", multiple=True, envvar="VILLA_CONTRACTS",
    help="Check only this contract (repeatable; e.g. --contract villa). Default: every backend API.",
)  # fmt: skip
admin_token = click.option(
    "--admin-token", envvar="VILLA_MOCK_ADMIN_TOKEN",
    help="The admin token of a mock started with `serve --admin-token` (sent as X-Villa-Admin-Token).",
)  # fmt: skip
