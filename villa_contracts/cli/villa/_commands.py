"""The commands of the SDK manual's ``villa`` CLI (section 8), on the reference client.

Each prints what a person needs (the order id, the calculated total, each violation, the 3-D Secure
page of a charge) and never a password, a token or a card number (cards show as ``514950xxxxxx9007``).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import click

from villa_contracts.cli.villa._session import Context, Session
from villa_contracts.domain.cards import mask as mask_card
from villa_contracts.domain.money import fmt, to_satang
from villa_contracts.errors import UsageError
from villa_contracts.redact import redact

pass_context = click.make_pass_decorator(Context)
ORDER_FILE = click.Path(dir_okay=False, allow_dash=True, path_type=Path)


def read_order(path: Path) -> dict[str, Any]:
    """An order document from a JSON file (``-``: standard input).

    Raises:
        UsageError: the file cannot be read, or is not a JSON object.
    """
    try:
        raw = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
        document = json.loads(raw.decode("utf-8-sig"))
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"{path} is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise UsageError(f"{path} is not an order document (a JSON object)")
    return document


def _when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(epoch))


@click.command("health")
@pass_context
def health(ctx: Context) -> None:
    """Check that the backend answers (GET /api/health)."""
    with ctx.client(login=False) as client:
        started = time.perf_counter()  # the request only: building the client (its contracts) is not the backend's
        answer = client.health()
        took = (time.perf_counter() - started) * 1000
    service = " ".join(str(answer[k]) for k in ("service", "version") if answer.get(k))
    click.echo(f"{answer.get('status', '?')}: {client.settings.base_url} answers{f' ({service})' if service else ''} "
               f"in {took:.0f} ms")  # fmt: skip


@click.group("config")
def config() -> None:
    """The SDK configuration."""


@config.command("show")
@pass_context
def config_show(ctx: Context) -> None:
    """Print the active configuration (secrets are shown as set or not, never their value)."""
    settings = ctx.settings
    session = ctx.session()
    prefix = "/api/payment3" if settings.env == "prod" else "/api/payment3devapi"
    # No pool configured: `villa auth login` asks a mock for its own (nothing is asked here).
    unset = (
        "(not set)" if settings.cognito_client_id or settings.cognito_user_pool_id else "(not set: a mock's, at login)"
    )
    rows = [
        ("VILLA_BASE_URL", settings.base_url),
        ("VILLA_ENV", f"{settings.env} (payments under {prefix})"),
        ("VILLA_COGNITO_REGION", settings.cognito_region),
        ("VILLA_COGNITO_USER_POOL_ID", settings.cognito_user_pool_id or unset),
        ("VILLA_COGNITO_CLIENT_ID", settings.cognito_client_id or unset),
        ("VILLA_COGNITO_CLIENT_SECRET", "(set)" if settings.cognito_client_secret else unset),
        ("Cognito endpoint", settings.cognito_url if settings.cognito_client_id or settings.cognito_user_pool_id
         or settings.cognito_endpoint else f"{settings.cognito_url} (a mock's: {settings.base_url}, at login)"),
        ("VILLA_CUSTOMER_ID", settings.customer_id or "(not set)"),
        ("VILLA_MID", settings.mid or "(not set)"),
        (".env file", str(ctx.env_file) if ctx.env_file else "(none read)"),
        ("session", f"{session.username}, sub {session.sub}, until {_when(session.expires_at)}" if session else
         "not logged in"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        click.echo(f"{name:<{width}}  {value}")


@click.group("auth")
def auth() -> None:
    """Cognito login and ID token checks."""


@auth.command("login")
@click.option("--username", required=True, envvar="VILLA_USERNAME", help="The user name or e-mail.")
@click.option("--password", prompt=True, hide_input=True, envvar="VILLA_PASSWORD",
              help="The password (prompted for when not given).")  # fmt: skip
@pass_context
def login(ctx: Context, username: str, password: str) -> None:
    """Log in with Cognito (USER_PASSWORD_AUTH); the next commands use the session.

    Against a villa-contracts mock, the pool and app client need no variable: they are asked from the mock.
    """
    with ctx.client(login=False, cognito=True) as client:
        session = Session.of(username, client.login(username, password))
    path = ctx.session_path
    session.save(path)
    click.echo(f"logged in as {username} (sub {session.sub}); ID token valid until {_when(session.expires_at)}")
    click.echo(f"session kept in {path} (readable by you only)")


@auth.command("verify-token")
@click.option("--token", envvar="ID_TOKEN", help="The ID token to verify. Default: the session's.")
@pass_context
def verify_token(ctx: Context, token: str | None) -> None:
    """Verify an ID token: signature against the pool's JWKS, exp, iss, aud and token_use=id."""
    from villa_contracts.client import AuthError

    session = None if token else ctx.session()
    if token is None and session is None:
        raise UsageError("no token to verify: give --token, or log in first with `villa auth login`")
    with ctx.client(login=False, cognito=True) as client:
        try:
            verified = client.verify_id_token(token or session.tokens.id_token)  # type: ignore[union-attr]
        except AuthError as exc:
            click.echo(f"invalid ID token: {redact(str(exc))}", err=True)
            sys.exit(1)
    click.echo(f"valid ID token: sub {verified.sub}, email {verified.email or '-'}, expires {_when(verified.exp)}")


@click.group("order")
def order() -> None:
    """Order ids and order documents."""


@order.command("generate-id")
@click.option("--branch-id", default="1000", show_default=True, help="The branch, 4 digits.")
@pass_context
def generate_id(ctx: Context, branch_id: str) -> None:
    """Generate an order id (POST /api/order2/gentele)."""
    with ctx.client() as client:
        click.echo(client.orders.generate_order_id(branch_id).order_id)


@order.command("get")
@click.option("--order-id", "order_id", help="The order id (as `villa payment` takes it).")
@click.argument("positional_id", metavar="[ORDER_ID]", required=False)
@pass_context
def get(ctx: Context, order_id: str | None, positional_id: str | None) -> None:
    """Fetch one of your orders and print it as JSON.

    The order is --order-id, as `villa payment` takes it; the SDK manual's positional form,
    villa order get ORDER_ID, works too.
    """
    if order_id and positional_id and order_id != positional_id:
        raise UsageError(f"two order ids: --order-id {order_id} and {positional_id}; give one")
    order_id = order_id or positional_id
    if not order_id:
        raise UsageError("which order? give --order-id ID (villa order get --order-id ID)")
    with ctx.client() as client:
        fetched = client.orders.get(order_id)
    click.echo(redact(json.dumps(fetched.raw, indent=2, ensure_ascii=False)))


@order.command("list")
@pass_context
def list_orders(ctx: Context) -> None:
    """Not available: the contract has no list operation (docs/sdk.md)."""
    raise UsageError(
        "villa order list: the Villa backend contract has no list operation; keep the ids `villa order create` "
        "prints and read each with `villa order get --order-id ID` (see docs/sdk.md)"
    )


@order.command("create")
@click.option("--file", "file", required=True, type=ORDER_FILE, help="The order document (JSON; - for stdin).")
@click.option("--order-id", help="A generated order id. Default: a new one for the document's branch.")
@pass_context
def create(ctx: Context, file: Path, order_id: str | None) -> None:
    """Create an order from a document, owned by you (ownerId and basketId become your sub)."""
    document = read_order(file)
    with ctx.client() as client:
        sub = client.owner_id
        branch = str(document.get("branchId") or "1000")
        order_id = order_id or client.orders.generate_order_id(branch).order_id
        stored = client.orders.create({**document, "orderId": order_id, "ownerId": sub, "basketId": sub})
    total = stored.grand_total
    click.echo(f"created order {stored.order_id} (basket {stored.basket_id}) on branch {stored.branch_id}: "
               f"grand total {total:.2f} THB, {stored.payment_status}")  # fmt: skip


@order.command("validate-schema")
@click.option("--file", "file", required=True, type=ORDER_FILE, help="The order document (JSON; - for stdin).")
@pass_context
def validate_schema(ctx: Context, file: Path) -> None:
    """Check an order document against the contract's Order schema (locally, no login)."""
    document = read_order(file)
    with ctx.client(login=False) as client:
        violations = client.schema_validator.violations(document)
    if violations:
        click.echo(f"{file}: INVALID order, {len(violations)} violation(s)")
        for violation in violations:
            click.echo(f"  {violation}")
        sys.exit(1)
    click.echo(f"{file}: valid order (the contract's Order schema)")


def _pre_payment(ctx: Context, client: Any, document: dict[str, Any], expected: Any, label: str) -> bool:
    result = client.pre_payment.validate(document, expected_grand_total=expected)
    calculated = result.calculated_grand_total
    figures = result.breakdown
    if calculated is not None:
        parts = ", ".join(f"{key} {figures[key]:.2f}" for key in ("subTotal", "deliveryFee", "cartDiscount",
                          "couponDiscount") if isinstance(figures.get(key), int | float))  # fmt: skip
        click.echo(f"{label}: calculated grand total {calculated:.2f} THB ({parts})")
    for error in result.errors:
        click.echo(f"  {error}")
    click.echo(f"{label}: {'valid: ready for payment' if result.valid else 'INVALID: fix the order before payment'}")
    return bool(result.valid)


@click.group("validate")
def validate() -> None:
    """Checks before payment."""


@validate.command("pre-payment")
@click.option("--file", "file", required=True, type=ORDER_FILE, help="The order document (JSON; - for stdin).")
@click.option("--expected-grand-total", required=True, help="What the customer is about to pay, THB.")
@pass_context
def pre_payment(ctx: Context, file: Path, expected_grand_total: str) -> None:
    """Check an order before payment: schema, both pricing APIs, and the expected grand total."""
    document = read_order(file)
    with ctx.client() as client:
        sys.exit(0 if _pre_payment(ctx, client, document, expected_grand_total, str(file)) else 1)


@click.group("payment")
def payment() -> None:
    """Card payments."""


def check_order_file(document: dict[str, Any], path: Path, order_id: str, amount: str) -> int | None:
    """Make sure the order file ``--validate`` checks is the order being charged (no request sent).

    Its ``orderId`` must be ``--order-id``; ``--amount`` and its ``payment.grandTotal`` (when it has
    one) must be amounts in THB. Their totals are compared, with the backend's, by ``compare_totals``.

    Returns:
        The file's grand total in satang, or None when it has none.

    Raises:
        UsageError: another order's file (naming both ids), or an amount that is not one.
    """
    file_id = document.get("orderId")
    if str(file_id) != order_id:
        shown = "has no orderId" if file_id is None else f"is order {file_id}"
        raise UsageError(f"{path} {shown} but --order-id is {order_id}: give the order file of the order charged")
    try:
        to_satang(amount)
    except UsageError:
        raise UsageError(f"--amount {amount} is not an amount in THB (e.g. 174 or 174.50)") from None
    grand_total = (document.get("payment") or {}).get("grandTotal")
    if grand_total is None:
        return None
    try:
        return to_satang(grand_total)
    except UsageError:
        raise UsageError(f"{path}: payment.grandTotal {grand_total!r} is not an amount in THB") from None


def compare_totals(totals: list[tuple[str, int | None]]) -> str | None:
    """What differs among the grand totals named (None: they agree); a total that is None is not compared.

    Args:
        totals: (where it comes from, satang) pairs, e.g. the order file's, ``--amount`` and the backend's.

    Returns:
        One line naming every total when any two differ, else None.
    """
    known = [(name, satang) for name, satang in totals if satang is not None]
    if len({satang for _, satang in known}) <= 1:
        return None
    return "the grand totals differ: " + ", ".join(f"{name} {fmt(satang)} THB" for name, satang in known)


@payment.command("charge")
@click.option("--order-id", required=True, help="The order to pay (yours, unpaid).")
@click.option("--basket-id", required=True, help="The order's basket.")
@click.option("--amount", required=True, help="The amount, THB: the order's grand total.")
@click.option("--card", envvar="VILLA_TEST_CARD", help="A test card number. Default: the gateway's default card.")
@click.option(
    "--validate",
    "check",
    is_flag=True,
    help="First check --order-file: it must be this order (its orderId is --order-id, else exit 2, nothing sent); "
    "its grand total, --amount and the order's total at the backend must agree (else exit 1, the totals shown, "
    "nothing charged); then its schema and the pricing APIs.",
)
@click.option("--order-file", type=ORDER_FILE, help="The order document --validate checks (JSON; - for stdin).")
@pass_context
def charge(
    ctx: Context, order_id: str, basket_id: str, amount: str, card: str | None, check: bool, order_file: Path | None
) -> None:
    """Card payment flow: a card token for the order, then the charge (prints the 3-D Secure page when needed)."""
    if check and order_file is None:
        raise UsageError("--validate checks an order document: give it with --order-file")
    document = read_order(order_file) if check and order_file is not None else None
    file_total = None
    if document is not None and order_file is not None:
        file_total = check_order_file(document, order_file, order_id, amount)
    with ctx.client() as client:
        if document is not None and order_file is not None:
            backend_total = client.orders.get(order_id).grand_total
            differ = compare_totals([
                (f"{order_file} has", file_total),
                ("--amount is", to_satang(amount)),
                (f"the backend's order {order_id} has", None if backend_total is None else to_satang(backend_total)),
            ])  # fmt: skip
            if differ:
                click.echo(f"not charged: {differ}", err=True)
                sys.exit(1)
            if not _pre_payment(ctx, client, document, amount, str(order_file)):
                click.echo("not charged: the order file is not valid for payment", err=True)
                sys.exit(1)
        token = client.payments.create_card_token(
            client.payments.build_card_token_request(order_id, basket_id, amount, card_number=card)
        )
        result = client.payments.initiate_card_payment(
            client.payments.build_card_payment_request(order_id, basket_id, amount, token.card_token)
        )
    card_shown = mask_card(card) if card else token.masked_card_no
    click.echo(f"charge {result.charge_id}: {result.transaction_state} ({result.status}), {result.amount:.2f} THB "
               f"on {token.brand} {card_shown}")  # fmt: skip
    if result.needs_3ds:
        click.echo(f"3-D Secure needed: open {result.redirect_url}")
    if result.transaction_state == "Declined":
        click.echo(f"declined: {result.failure_message or result.failure_code}", err=True)
        sys.exit(1)
    click.echo(
        f"the order is paid once verified: villa payment verify --order-id {order_id} --charge-id {result.charge_id}"
    )


@payment.command("verify")
@click.option("--order-id", required=True, help="The order.")
@click.option("--charge-id", required=True, help="The charge (chrg_test_...).")
@pass_context
def verify(ctx: Context, order_id: str, charge_id: str) -> None:
    """Settle a charge into its order (idempotent): an Authorized charge marks the order paid."""
    with ctx.client() as client:
        result = client.payments.verify(order_id, charge_id)
    paid = "PAID" if result.paid else "not paid"
    click.echo(f"order {order_id}: {paid} (charge {charge_id} {result.transaction_state}), "
               f"total paid {result.order.total_paid or 0:.2f} THB")  # fmt: skip
    sys.exit(0 if result.paid else 1)


COMMANDS = (health, config, auth, order, validate, payment)
