"""``villa-contracts serve``: run the mock Villa backend."""

from __future__ import annotations

import click

from villa_contracts.cli import options

SERVE_EPILOG = """\b
Examples:
  villa-contracts serve --port 8080
  villa-contracts serve --port 8080 --db /tmp/villa.db       # state survives restarts
  villa-contracts serve --admin-token "$(openssl rand -hex 16)"

\b
Point the Villa SDK at it:
  curl -s http://127.0.0.1:8080/__admin/cognito    # pool id, client id and secret
  export VILLA_BASE_URL=http://127.0.0.1:8080 VILLA_COGNITO_ENDPOINT=http://127.0.0.1:8080

\b
Exit codes:
  0  stopped (Ctrl-C, SIGTERM)
  2  could not start (port in use, unknown host, unusable --db)
"""


@click.command("serve", epilog=SERVE_EPILOG)
@options.host
@options.port
@options.db
@click.option("--no-admin", is_flag=True, help="Do not serve the /__admin API.")
@click.option("--admin-token", envvar="VILLA_MOCK_ADMIN_TOKEN", help="Require X-Villa-Admin-Token on /__admin.")
@click.option(
    "--allow-host", "allowed_hosts", multiple=True, envvar="VILLA_MOCK_ALLOW_HOSTS",
    help="Without an admin token, /__admin answers only loopback Host names: also answer this one (repeatable).",
)  # fmt: skip
@click.option(
    "--allow-origin", "allowed_origins", multiple=True, envvar="VILLA_MOCK_ALLOW_ORIGINS",
    help="Without an admin token, /__admin refuses browser pages: allow this Origin (repeatable).",
)  # fmt: skip
@click.option(
    "--access-log", is_flag=True, envvar="VILLA_MOCK_ACCESS_LOG",
    help="Log one line per request (off by default: the journal, /__admin/journal, records every call).",
)  # fmt: skip
def command(
    host: str,
    port: int,
    db_path: str | None,
    no_admin: bool,
    admin_token: str | None,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    access_log: bool,
) -> None:
    """Serve the stateful mock backend: every contract's API and Cognito-compatible auth on one origin.

    Stop it with Ctrl-C (or SIGTERM). Exit 0 when stopped, 2 when it cannot start (port in use,
    unknown host, a --db that cannot be opened).
    """
    from mock_server.app import create_app
    from mock_server.runner import serve_forever

    def build(url: str) -> object:
        app = create_app(
            base_url=url,
            db_path=db_path,
            enable_admin=not no_admin,
            admin_token=admin_token,
            allowed_hosts=allowed_hosts,
            allowed_origins=allowed_origins,
        )
        # Only once the app is built: a bad --db or contract must not print a banner first.
        click.echo(f"villa mock on {url}  (contracts: {url}/openapi/<name>.json", err=True, nl=False)
        click.echo(")" if no_admin else f", admin: {url}/__admin/cognito)", err=True)
        if db_path:
            click.echo(f"state kept in {db_path}", err=True)
        return app

    serve_forever(build, host=host, port=port, access_log=access_log)  # type: ignore[arg-type]
