"""``villa-contracts serve``: run the mock Villa backend."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import click

from villa_contracts.cli import options

SERVE_EPILOG = """\b
Examples:
  villa-contracts serve --port 8080
  villa-contracts serve --port 8080 --db /tmp/villa.db       # state survives restarts
  villa-contracts serve --admin-token "$(openssl rand -hex 16)"
  villa-contracts serve --cors-origin https://app.example.test   # a browser app there may call it
  villa-contracts serve --store redis://127.0.0.1:6379/0 --workers 2   # shared state, 2 processes
  villa-contracts serve --scenario villa-payments   # start from a shipped state (docs/scenarios.md)
  curl -s http://127.0.0.1:8080/__admin/scenario > state.json   # take the state; --scenario state.json

\b
Point the Villa SDK at it:
  curl -s http://127.0.0.1:8080/__admin/cognito    # pool id, client id and secret
  export VILLA_BASE_URL=http://127.0.0.1:8080 VILLA_COGNITO_ENDPOINT=http://127.0.0.1:8080

\b
Exit codes:
  0  stopped (Ctrl-C, SIGTERM)
  1  --workers: the service could not go on (a worker failed at start, or workers kept dying:
     more than 5 deaths within 60 s); a worker that dies is otherwise replaced, in one log line
  2  could not start (port in use, unknown host, unusable --db, no Redis at --store,
     --workers over the in-memory store, a --scenario that cannot be loaded)
"""


def _cors_origins(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from mock_server.cors import parse_origin

    try:
        return tuple(parse_origin(value) for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None


@contextmanager
def _scenario_refused(source: str | None) -> Iterator[None]:
    """A scenario the mock refuses is a bad ``--scenario`` (one line, exit 2), as a file it cannot read is."""
    from mock_server.scenario import ScenarioError
    from villa_contracts.errors import ConfigError

    try:
        yield
    except ScenarioError as exc:
        raise ConfigError(f"--scenario {source}: {exc}") from None


@click.command("serve", epilog=SERVE_EPILOG)
@options.host
@options.port
@options.db
@click.option(
    "--store", "store_url", envvar="VILLA_MOCK_STORE", metavar="URL",
    help="Keep the state in Redis (redis://host:port/db), shared by every mock process that names it.",
)  # fmt: skip
@click.option(
    "--store-prefix", default="villa:", show_default=True, envvar="VILLA_MOCK_STORE_PREFIX",
    help="Prefix of every Redis key of this mock's state (mocks with the same one share it).",
)  # fmt: skip
@click.option(
    "--workers", default=1, show_default=True, type=click.IntRange(1, 64), envvar="VILLA_MOCK_WORKERS",
    help="Processes serving the port; more than 1 needs a shared store (--db or --store).",
)  # fmt: skip
@click.option(
    "--public-url", envvar="VILLA_MOCK_PUBLIC_URL", metavar="URL",
    help="The URL clients reach the mock at (its token issuer, its links), when not http://HOST:PORT: "
    "the load balancer's, for mocks on several hosts sharing --store.",
)  # fmt: skip
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
    "--cors-origin", "cors_origins", multiple=True, envvar="VILLA_MOCK_CORS_ORIGINS", metavar="ORIGIN",
    callback=_cors_origins,
    help="Let browser pages of ORIGIN call the API (never /__admin): scheme://host[:port], scheme://host:* "
    "for any port, or * for any (repeatable). Default: http://localhost:* and http://127.0.0.1:*.",
)  # fmt: skip
@click.option(
    "--seed",
    "id_seed",
    type=int,
    envvar="VILLA_MOCK_SEED",
    help="Draw the ids the mock makes up (charges, card tokens, payment attempts, new users' subs) from this seed: "
    "a gate run with the same --seed against a fresh mock then sends the same requests. One process only.",
)
@click.option(
    "--faults", "faults_file", type=click.Path(dir_okay=False), envvar="VILLA_MOCK_FAULTS", metavar="FILE",
    help="Inject faults on demand from this YAML or JSON rules file (docs/faults.md; /__admin/faults changes them).",
)  # fmt: skip
@click.option(
    "--scenario", "scenario_source", envvar="VILLA_MOCK_SCENARIO", metavar="NAME|FILE",
    help="Start from this state instead of an empty one: a shipped scenario's name (contracts/scenarios) or a JSON "
    "file as GET /__admin/scenario exports it (docs/scenarios.md). It replaces what --db or --store held.",
)  # fmt: skip
@click.option(
    "--access-log", is_flag=True, envvar="VILLA_MOCK_ACCESS_LOG",
    help="Log one line per request (off by default: the journal, /__admin/journal, records every call).",
)  # fmt: skip
def command(
    host: str,
    port: int,
    db_path: str | None,
    store_url: str | None,
    store_prefix: str,
    workers: int,
    public_url: str | None,
    no_admin: bool,
    admin_token: str | None,
    allowed_hosts: tuple[str, ...],
    allowed_origins: tuple[str, ...],
    cors_origins: tuple[str, ...],
    id_seed: int | None,
    faults_file: str | None,
    scenario_source: str | None,
    access_log: bool,
) -> None:
    """Serve the stateful mock backend: every contract's API and Cognito-compatible auth on one origin.

    Stop it with Ctrl-C (or SIGTERM). Exit 0 when stopped, 1 when workers could not go on (they failed at
    start or kept dying), 2 when it cannot start (port in use, unknown host, a --db that cannot be opened,
    no Redis at --store, --workers over the in-memory store, a --scenario that cannot be loaded).
    """
    from mock_server.runner import serve_forever, serve_workers

    _check_combination(db_path=db_path, store_url=store_url, workers=workers, id_seed=id_seed)
    serve = _Serve(
        host=host, port=port, db_path=db_path, store_url=store_url, store_prefix=store_prefix, workers=workers,
        public_url=public_url, no_admin=no_admin, admin_token=admin_token, allowed_hosts=allowed_hosts,
        allowed_origins=allowed_origins, cors_origins=cors_origins, id_seed=id_seed, faults_file=faults_file,
        faults=_read_faults(faults_file), scenario_source=scenario_source, scenario=_read_scenario(scenario_source),
    )  # fmt: skip
    if workers == 1:
        serve_forever(serve.build, host=host, port=port, access_log=access_log)  # type: ignore[arg-type]
        return
    serve.load_scenario_once()
    code = serve_workers(
        serve.build,  # type: ignore[arg-type]
        host=host,
        port=port,
        workers=workers,
        access_log=access_log,
        on_listening=serve.banner,
    )
    # Not click's Exit: run with standalone_mode=False, click hands its code back as a return value,
    # which the console script dropped (the mock exited 0 when its workers could not go on).
    sys.exit(code)


def _check_combination(*, db_path: str | None, store_url: str | None, workers: int, id_seed: int | None) -> None:
    """Refuse options that cannot go together (a usage error, exit 2)."""
    if store_url and db_path:
        raise click.UsageError("give --db FILE (SQLite) or --store URL (Redis), not both")
    if workers > 1 and not (store_url or db_path):
        raise click.UsageError(
            f"--workers {workers} needs a store the processes share: add --db FILE or --store redis://host:port/db "
            "(the in-memory store is one process's own)"
        )
    if workers > 1 and id_seed is not None:
        raise click.UsageError(f"--seed with --workers {workers}: every worker would draw the same ids; use one worker")


def _read_faults(faults_file: str | None) -> dict[str, Any] | None:
    """The ``--faults`` rules document, or None without the option (a bad file is a bad parameter)."""
    if faults_file is None:
        return None
    from villa_contracts.contract import load
    from villa_contracts.faults import FaultsError, read_file

    try:
        return read_file(faults_file, load()).document
    except FaultsError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None


def _read_scenario(scenario_source: str | None) -> dict[str, Any] | None:
    """The ``--scenario`` state, or None without the option (one that cannot be read is a ``ConfigError``)."""
    if scenario_source is None:
        return None
    from mock_server import scenario as scenarios
    from villa_contracts.contract import load
    from villa_contracts.errors import ConfigError

    try:
        return scenarios.read_file(scenario_source, load())
    except scenarios.ScenarioError as exc:
        raise ConfigError(f"--scenario {exc}") from None


@dataclass(frozen=True)
class _Serve:
    """What ``serve`` was asked for: how each process builds its app and what the banner says."""

    host: str
    port: int
    db_path: str | None
    store_url: str | None
    store_prefix: str
    workers: int
    public_url: str | None
    no_admin: bool
    admin_token: str | None
    allowed_hosts: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    cors_origins: tuple[str, ...]
    id_seed: int | None
    faults_file: str | None
    faults: dict[str, Any] | None
    scenario_source: str | None
    scenario: dict[str, Any] | None

    def url(self, url: str) -> str:
        """The URL clients reach the mock at: ``--public-url``, else the one it listens on."""
        return self.public_url.rstrip("/") if self.public_url else url

    def load_scenario_once(self) -> None:
        """With ``--workers``: open the store once (a bad --db or --store is reported before any worker starts).

        The scenario is loaded then, once, into the shared store: a worker put in a dead one's place must not
        reload it.
        """
        from mock_server.app import create_app
        from mock_server.storage import open_storage

        store = open_storage(self.db_path, url=self.store_url, prefix=self.store_prefix)
        try:
            if self.scenario is not None:
                with _scenario_refused(self.scenario_source):
                    create_app(
                        base_url=self.url(f"http://{self.host}:{self.port}"), store=store, scenario=self.scenario
                    )
        finally:
            store.close()

    def build(self, url: str) -> object:
        """The app of one process, reached at ``url`` (the banner follows it with one process)."""
        from mock_server.app import create_app
        from mock_server.storage import open_storage

        url = self.url(url)
        with _scenario_refused(self.scenario_source):
            app = create_app(
                base_url=url,
                store=open_storage(self.db_path, url=self.store_url, prefix=self.store_prefix),
                enable_admin=not self.no_admin,
                admin_token=self.admin_token,
                allowed_hosts=self.allowed_hosts,
                allowed_origins=self.allowed_origins,
                cors_origins=self.cors_origins or None,
                seed=self.id_seed,
                faults=self.faults,
                scenario=self.scenario if self.workers == 1 else None,
            )
        if self.workers == 1:
            self.banner(url)
        return app

    def banner(self, url: str) -> None:
        """Where the mock is and what it keeps (only once the app is built: a bad --db or contract prints none)."""
        from mock_server.storage.redis import shown_url

        url = self.url(url)
        click.echo(f"villa mock on {url}  (contracts: {url}/openapi/<name>.json", err=True, nl=False)
        click.echo(")" if self.no_admin else f", admin: {url}/__admin/cognito)", err=True)
        if self.db_path:
            click.echo(f"state kept in {self.db_path}", err=True)
        if self.store_url:
            click.echo(f"state kept in Redis {shown_url(self.store_url)} under {self.store_prefix!r}", err=True)
        if self.workers > 1:
            click.echo(f"{self.workers} worker processes", err=True)
        if self.faults is not None:
            click.echo(f"faults injected: {len(self.faults['rules'])} rule(s) from {self.faults_file}", err=True)
        if self.scenario is not None:
            click.echo(
                f"started from scenario {self.scenario_source} (GET {url}/__admin/scenario takes the state)", err=True
            )
