"""Options shared by several subcommands, defined once with help and environment variable."""

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
