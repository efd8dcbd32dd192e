"""``villa-contracts serve``: run the mock Villa backend."""

from __future__ import annotations

import click

from villa_contracts.cli import options


@click.command("serve")
@options.host
@options.port
@options.db
@click.option("--no-admin", is_flag=True, help="Do not serve the /__admin API.")
@click.option("--admin-token", envvar="VILLA_MOCK_ADMIN_TOKEN", help="Require X-Villa-Admin-Token on /__admin.")
def command(host: str, port: int, db_path: str | None, no_admin: bool, admin_token: str | None) -> None:
    r"""Serve the stateful mock backend (Villa API + Cognito-compatible auth on one origin).

    \b
    Point the Villa SDK at it:
      export VILLA_BASE_URL=http://127.0.0.1:8080 VILLA_COGNITO_ENDPOINT=http://127.0.0.1:8080
      curl -s http://127.0.0.1:8080/__admin/cognito   # pool id, client id and secret to export
    """
    from mock_server.app import create_app
    from mock_server.runner import serve_forever

    def build(url: str) -> object:
        click.echo(f"villa mock on {url}  (contract: {url}/openapi.json, admin: {url}/__admin/cognito)", err=True)
        if db_path:
            click.echo(f"state kept in {db_path}", err=True)
        return create_app(base_url=url, db_path=db_path, enable_admin=not no_admin, admin_token=admin_token)

    serve_forever(build, host=host, port=port)  # type: ignore[arg-type]
