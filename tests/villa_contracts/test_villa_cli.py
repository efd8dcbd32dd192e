"""The SDK manual's ``villa`` CLI (section 8): every example, as written, against a running mock.

The manual's placeholders are filled with the mock's: its public test account for
``user@example.com``/``secret``, an order of that account for ``order-1``/``basket-1``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mock_server.app import create_app
from mock_server.runner import RunningServer, serve_in_thread
from tests.fixtures.reference import GOOD_SAMPLE, ORDER_FIXTURES
from villa_contracts.cli.villa import main
from villa_contracts.cli.villa._session import parse_dotenv
from villa_contracts.client import _settings as client_settings
from villa_contracts.contract import load
from villa_contracts.target import mock_environ, probe

ROOT = Path(__file__).resolve().parents[2]
USER = load().data("users")[0]


def test_the_manuals_fixture_path_is_the_vendored_good_sample() -> None:
    # The manual says tests/fixtures/goodSample.json: a copy of the vendored reference fixture, kept identical.
    assert (ROOT / "tests" / "fixtures" / "goodSample.json").read_bytes() == GOOD_SAMPLE.read_bytes()


def test_parse_dotenv() -> None:
    text = """
# the manual's .env.example, filled in
VILLA_COGNITO_CLIENT_ID=6k932iah7v1hgnd33a53c3v1mj
export VILLA_ENV=dev   # inline comment
VILLA_COGNITO_CLIENT_SECRET='s3cr#t with spaces'
VILLA_BASE_URL="http://127.0.0.1:8080"
VILLA_CUSTOMER_ID=
not a line
"""
    assert parse_dotenv(text) == {
        "VILLA_COGNITO_CLIENT_ID": "6k932iah7v1hgnd33a53c3v1mj",
        "VILLA_ENV": "dev",
        "VILLA_COGNITO_CLIENT_SECRET": "s3cr#t with spaces",
        "VILLA_BASE_URL": "http://127.0.0.1:8080",
        "VILLA_CUSTOMER_ID": "",
    }


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def villa(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> Iterator[tuple[RunningServer, object]]:
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        cognito = probe(server.base_url)
        assert cognito is not None
        # The manual's set-up, with the values the mock's /__admin/cognito answers.
        for name, value in mock_environ(server.base_url, cognito).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("VILLA_SESSION_FILE", str(tmp_path / "session.json"))
        monkeypatch.chdir(ROOT)

        def run(*args: str) -> Result:
            monkeypatch.setattr(sys, "argv", ["villa", *args])
            with pytest.raises(SystemExit) as exit_:
                main()
                sys.exit(0)
            captured = capsys.readouterr()
            return Result(int(exit_.value.code or 0), captured.out, captured.err)

        yield server, run


def _login(run: object) -> Result:
    return run("auth", "login", "--username", USER["username"], "--password", USER["password"])  # type: ignore[operator,no-any-return]


@pytest.mark.socket
def test_every_example_of_section_8(villa: tuple[RunningServer, object], tmp_path: Path) -> None:
    server, run = villa
    health = run("health")  # type: ignore[operator]
    assert health.code == 0 and re.match(rf"ok: {server.base_url} answers \(villa-mock [\d.]+\) in \d+ ms", health.out)

    config = run("config", "show")  # type: ignore[operator]
    assert config.code == 0
    assert (
        "VILLA_COGNITO_CLIENT_SECRET  (set)" in config.out
        and "session                      not logged in" in config.out
    )
    assert os.environ["VILLA_COGNITO_CLIENT_SECRET"] not in config.out

    login = _login(run)
    assert login.code == 0, login.err
    assert f"logged in as {USER['username']} (sub {USER['sub']})" in login.out
    assert USER["password"] not in login.out + login.err and "eyJ" not in login.out
    assert oct(Path(os.environ["VILLA_SESSION_FILE"]).stat().st_mode & 0o777) == "0o600"

    schema = run("order", "validate-schema", "--file", "tests/fixtures/goodSample.json")  # type: ignore[operator]
    assert (schema.code, schema.out) == (
        0,
        "tests/fixtures/goodSample.json: valid order (the contract's Order schema)\n",
    )

    priced = run(  # type: ignore[operator]
        "validate", "pre-payment", "--file", "tests/fixtures/goodSample.json", "--expected-grand-total", "500"
    )
    assert priced.code == 0, priced.out + priced.err
    assert "tests/fixtures/goodSample.json: calculated grand total 500.00 THB" in priced.out
    assert "valid: ready for payment" in priced.out

    order = tmp_path / "order.json"
    order.write_text(json.dumps({"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]}))
    created = run("order", "create", "--file", str(order))  # type: ignore[operator]
    assert created.code == 0, created.err
    order_id = re.search(r"created order (\d{12}) .* grand total 174\.00 THB, PENDING", created.out).group(1)  # type: ignore[union-attr]

    # --validate checks the file of the order charged: the order as the backend keeps it.
    stored = run("order", "get", "--order-id", order_id)  # type: ignore[operator]
    assert stored.code == 0, stored.err
    order_file = tmp_path / "stored.json"
    order_file.write_text(stored.out)
    charged = run(  # type: ignore[operator]
        "--env", "dev", "payment", "charge", "--order-id", order_id, "--basket-id", USER["sub"], "--amount", "174",
        "--validate", "--order-file", str(order_file),
    )  # fmt: skip
    assert charged.code == 0, charged.out + charged.err
    assert f"{order_file}: calculated grand total 174.00 THB" in charged.out
    charge_id = re.search(
        r"charge (chrg_test_\w+): Authorized \(success\), 174\.00 THB on VISA 411111xxxxxx1111", charged.out
    )
    assert charge_id, charged.out
    verified = run("payment", "verify", "--order-id", order_id, "--charge-id", charge_id.group(1))  # type: ignore[operator]
    assert verified.code == 0 and f"order {order_id}: PAID" in verified.out

    fetched = run("order", "get", "--order-id", order_id)  # type: ignore[operator]
    assert fetched.code == 0 and json.loads(fetched.out)["payment"]["isPaid"] is True
    assert run("order", "generate-id", "--branch-id", "1000").out.strip().startswith("1000")  # type: ignore[operator]
    token = run("auth", "verify-token")  # type: ignore[operator]
    assert token.code == 0 and f"valid ID token: sub {USER['sub']}, email {USER['email']}" in token.out


@pytest.mark.socket
def test_a_3ds_card_prints_the_page_to_open_and_never_the_number(
    villa: tuple[RunningServer, object], tmp_path: Path
) -> None:
    server, run = villa
    assert _login(run).code == 0
    order = tmp_path / "order.json"
    order.write_text(json.dumps({"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]}))
    order_id = run("order", "create", "--file", str(order)).out.split()[2]  # type: ignore[operator]
    charged = run(  # type: ignore[operator]
        "payment", "charge", "--order-id", order_id, "--basket-id", USER["sub"], "--amount", "174",
        "--card", "5149500000009007",
    )  # fmt: skip
    assert charged.code == 0, charged.err
    assert "Pre-Authorized (pending), 174.00 THB on MASTERCARD 514950xxxxxx9007" in charged.out
    assert f"3-D Secure needed: open {server.base_url}/mock/3ds/chrg_test_" in charged.out
    assert "5149500000009007" not in charged.out + charged.err


@pytest.mark.socket
def test_refusals_exit_1_and_what_cannot_run_exits_2_in_one_line(
    villa: tuple[RunningServer, object], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, run = villa
    not_logged_in = run("order", "generate-id")  # type: ignore[operator]
    assert not_logged_in.code == 2 and not_logged_in.err.count("\n") == 1 and "villa auth login" in not_logged_in.err
    wrong = run("auth", "login", "--username", USER["username"], "--password", "Wrong-password1")  # type: ignore[operator]
    assert wrong.code == 1 and wrong.err.startswith("refused: NotAuthorizedException")
    assert "Wrong-password1" not in wrong.err
    assert _login(run).code == 0
    invalid = run("order", "validate-schema", "--file", str(ORDER_FIXTURES / "wrongType.json"))  # type: ignore[operator]
    assert invalid.code == 1 and "INVALID order, 4 violation(s)" in invalid.out
    off = run("validate", "pre-payment", "--file", str(GOOD_SAMPLE), "--expected-grand-total", "499")  # type: ignore[operator]
    assert off.code == 1 and "expected grand total 499.00 THB but the backend calculates 500.00 THB" in off.out
    missing = run("order", "get", "--order-id", "100026999999")  # type: ignore[operator]
    assert missing.code == 1 and missing.err.startswith("refused: getOrder answered HTTP 404")
    positional = run("order", "get", "100026999999")  # type: ignore[operator]  # the SDK manual's form
    assert (positional.code, positional.err) == (missing.code, missing.err)
    no_file = run("validate", "pre-payment", "--file", "nope.json", "--expected-grand-total", "1")  # type: ignore[operator]
    assert no_file.code == 2 and no_file.err.startswith("error: cannot read nope.json")
    monkeypatch.setenv("VILLA_BASE_URL", "http://127.0.0.1:9")
    down = run("health")  # type: ignore[operator]
    assert down.code == 2 and down.err.count("\n") == 1 and "cannot reach" in down.err


@pytest.mark.socket
def test_settings_come_from_a_dotenv_file(
    villa: tuple[RunningServer, object], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, run = villa
    lines = [f"{name}={os.environ[name]}" for name in sorted(os.environ) if name.startswith("VILLA_COGNITO")]
    (tmp_path / ".env").write_text("\n".join([f"VILLA_BASE_URL={server.base_url}", *lines]) + "\n")
    for name in [n for n in os.environ if n.startswith("VILLA_") and n != "VILLA_SESSION_FILE"]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    shown = run("config", "show")  # type: ignore[operator]
    assert f"VILLA_BASE_URL               {server.base_url}" in shown.out
    assert f".env file                    {tmp_path / '.env'}" in shown.out
    assert _login(run).code == 0


def run_villa(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    """``villa ARGS`` through its console-script entry point, without a mock."""
    monkeypatch.setattr(sys, "argv", ["villa", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
        sys.exit(0)
    captured = capsys.readouterr()
    return Result(int(exit_.value.code or 0), captured.out, captured.err)


@pytest.fixture
def unconfigured(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No VILLA_* variable and no .env: the CLI's defaults."""
    for name in [n for n in os.environ if n.startswith("VILLA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("VILLA_SESSION_FILE", str(tmp_path / "session.json"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_configuration_the_backend_is_the_local_mock_not_production(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown = run_villa(monkeypatch, capsys, "config", "show")
    assert shown.code == 0, shown.err
    assert "VILLA_BASE_URL               http://127.0.0.1:8080\n" in shown.out
    assert "shop.villamarket.com" not in shown.out
    helped = run_villa(monkeypatch, capsys, "--help")
    assert "default: http://127.0.0.1:8080, the local mock" in " ".join(helped.out.split())
    explicit = run_villa(monkeypatch, capsys, "--base-url", "https://shop.villamarket.com", "config", "show")
    assert "VILLA_BASE_URL               https://shop.villamarket.com\n" in explicit.out


def test_order_get_takes_order_id_or_the_positional_form_but_not_two_ids(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    none = run_villa(monkeypatch, capsys, "order", "get")
    assert (none.code, none.err) == (2, "error: which order? give --order-id ID (villa order get --order-id ID)\n")
    two = run_villa(monkeypatch, capsys, "order", "get", "100026000001", "--order-id", "100026000002")
    assert (two.code, two.err) == (2, "error: two order ids: --order-id 100026000002 and 100026000001; give one\n")
    same = run_villa(monkeypatch, capsys, "order", "get", "100026000001", "--order-id", "100026000001")
    assert same.code == 2 and "villa auth login" in same.err  # past the id check: it needs a login


def test_order_list_says_the_contract_has_none(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    listed = run_villa(monkeypatch, capsys, "order", "list")
    assert listed.code == 2 and listed.out == "" and listed.err.count("\n") == 1
    assert "has no list operation" in listed.err and "villa order get --order-id ID" in listed.err


@pytest.mark.parametrize("token", ["not-a-jwt-s3cr3t", "abc.s3cr3t!.def", "abc.W10.s3cr3t"])
@pytest.mark.parametrize("command", [["order", "get", "--order-id", "100026000001"], ["config", "show"]])
def test_a_malformed_villa_id_token_is_a_setting_to_fix_exit_2_in_one_line(
    unconfigured: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    token: str,
    command: list[str],
) -> None:
    monkeypatch.setenv("VILLA_ID_TOKEN", token)
    result = run_villa(monkeypatch, capsys, *command)
    assert result.code == 2 and result.err.count("\n") == 1, result.err
    assert result.err.startswith("error: VILLA_ID_TOKEN is not an ID token (not a JWT")
    assert "villa auth login --username USER" in result.err and "refused" not in result.err
    assert "s3cr3t" not in result.out + result.err
    helped = run_villa(monkeypatch, capsys, "--help")
    assert "2  the command could not run (options, settings such as a VILLA_ID_TOKEN that is not a JWT" in helped.out


def a_jwt(claims: dict[str, object]) -> str:
    """A well-formed, unsigned JWT (the CLI reads its claims; only a backend verifies it)."""

    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


@pytest.fixture
def nowhere(unconfigured: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Logged in (VILLA_ID_TOKEN) to a backend that does not answer: any request sent fails 'cannot reach'."""
    monkeypatch.setenv("VILLA_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("VILLA_ID_TOKEN", a_jwt({"sub": USER["sub"], "exp": time.time() + 3600}))
    return unconfigured


def charge_with_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], path: Path, order_id: str, amount: str
) -> Result:
    args = ["payment", "charge", "--order-id", order_id, "--basket-id", USER["sub"], "--amount", amount]
    return run_villa(monkeypatch, capsys, *args, "--validate", "--order-file", str(path))


@pytest.mark.parametrize(
    ("document", "order_id", "amount", "error"),
    [
        (
            {"orderId": "100026000002", "payment": {"grandTotal": 174}},
            "100026000001",
            "174",
            "{path} is order 100026000002 but --order-id is 100026000001: give the order file of the order charged",
        ),
        (
            {"branchId": "1000"},
            "100026000001",
            "174",
            "{path} has no orderId but --order-id is 100026000001: give the order file of the order charged",
        ),
        (
            {"orderId": "100026000001", "payment": {"grandTotal": "lots"}},
            "100026000001",
            "174",
            "{path}: payment.grandTotal 'lots' is not an amount in THB",
        ),
        (
            {"orderId": "100026000001", "payment": {"grandTotal": 174.0}},
            "100026000001",
            "lots",
            "--amount lots is not an amount in THB (e.g. 174 or 174.50)",
        ),
    ],
    ids=["other-order", "no-order-id", "file-total-not-an-amount", "not-an-amount"],
)
def test_charge_validate_refuses_an_order_file_that_is_not_what_is_charged_before_any_request(
    nowhere: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    document: dict[str, object],
    order_id: str,
    amount: str,
    error: str,
) -> None:
    path = nowhere / "order.json"
    path.write_text(json.dumps(document))
    result = charge_with_file(monkeypatch, capsys, path, order_id, amount)
    # Exit 2 with both values named, and not "cannot reach": no request was sent.
    assert (result.code, result.out, result.err) == (2, "", "error: " + error.format(path=path) + "\n")


def test_charge_validate_goes_on_when_the_order_file_is_the_order_charged(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = nowhere / "order.json"
    for total, amount in ((174, "174"), (174.5, "174.50"), (None, "174")):
        payment = {} if total is None else {"payment": {"grandTotal": total}}
        ids = {"orderId": "100026000001", "ownerId": USER["sub"], "basketId": USER["sub"], "branchId": "1000"}
        path.write_text(json.dumps({**ids, "productList": [{"cprcode": 25281, "quantity": 1}], **payment}))
        result = charge_with_file(monkeypatch, capsys, path, "100026000001", amount)
        # Past the file check, the pricing APIs are asked next: the backend is not there.
        assert result.code == 2 and "cannot reach" in result.err and "--order-id" not in result.err, result.err


def test_the_manuals_charge_example_with_another_orders_file_exits_2(
    nowhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The SDK manual charges order-1 with --order-file tests/fixtures/goodSample.json, another order.
    monkeypatch.chdir(ROOT)
    result = charge_with_file(monkeypatch, capsys, Path("tests/fixtures/goodSample.json"), "order-1", "174")
    assert result.code == 2 and result.err == (
        "error: tests/fixtures/goodSample.json is order w8JmXv7rC3GgHlee but --order-id is order-1: "
        "give the order file of the order charged\n"
    )


@pytest.mark.socket
@pytest.mark.parametrize(
    ("file_total", "amount", "differ"),
    [
        (174, "175", "{path} has 174.00 THB, --amount is 175.00 THB, the backend's order {id} has 174.00 THB"),
        (175, "174", "{path} has 175.00 THB, --amount is 174.00 THB, the backend's order {id} has 174.00 THB"),
        (175, "175", "{path} has 175.00 THB, --amount is 175.00 THB, the backend's order {id} has 174.00 THB"),
        (None, "175", "--amount is 175.00 THB, the backend's order {id} has 174.00 THB"),
    ],
    ids=["amount-differs", "file-differs", "backend-differs", "no-file-total"],
)
def test_charge_validate_compares_the_files_total_the_amount_and_the_backends_and_refuses_a_mismatch_exit_1(
    villa: tuple[RunningServer, object], tmp_path: Path, file_total: int | None, amount: str, differ: str
) -> None:
    _, run = villa
    assert _login(run).code == 0
    new = tmp_path / "new.json"
    new.write_text(json.dumps({"branchId": "1000", "productList": [{"cprcode": 25281, "quantity": 1}]}))
    order_id = run("order", "create", "--file", str(new)).out.split()[2]  # type: ignore[operator]
    document = json.loads(run("order", "get", "--order-id", order_id).out)  # type: ignore[operator]
    assert document["payment"]["grandTotal"] == 174  # the backend's total
    del document["payment"]["grandTotal"]
    if file_total is not None:
        document["payment"]["grandTotal"] = file_total
    path = tmp_path / "order.json"
    path.write_text(json.dumps(document))
    args = ["payment", "charge", "--order-id", order_id, "--basket-id", document["basketId"], "--amount", amount]
    result = run(*args, "--validate", "--order-file", str(path))  # type: ignore[operator]
    expected = "not charged: the grand totals differ: " + differ.format(path=path, id=order_id) + "\n"
    assert (result.code, result.out, result.err) == (1, "", expected)
    again = run("order", "get", "--order-id", order_id)  # type: ignore[operator]
    assert json.loads(again.out)["payment"]["status"] == "PENDING"  # nothing charged


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_with_nothing_configured_and_nothing_at_the_default_address_one_line_says_how_to_point_at_a_mock_or_backend(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stands for http://127.0.0.1:8080 with no mock running there (a free port: connection refused).
    default = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(client_settings, "DEFAULT_BASE_URL", default)
    login = ["auth", "login", "--username", USER["username"], "--password", USER["password"]]
    for command in (["health"], login, ["order", "generate-id"]):
        if command[0] == "order":
            monkeypatch.setenv("VILLA_ID_TOKEN", a_jwt({"sub": USER["sub"], "exp": time.time() + 3600}))
        result = run_villa(monkeypatch, capsys, *command)
        assert (result.code, result.out, result.err) == (
            2,
            "",
            f"error: no backend configured, and nothing answers at {default} (the local mock's address): for a "
            f"mock, run `villa-contracts serve` (then VILLA_BASE_URL={default}, or put it in .env); for a backend, "
            "set VILLA_BASE_URL=URL (or --base-url URL)\n",
        ), command
    # Configured, the same refusal is the plain one-line error: the address was chosen.
    monkeypatch.setenv("VILLA_BASE_URL", default)
    named = run_villa(monkeypatch, capsys, "health")
    assert named.code == 2 and named.err.count("\n") == 1 and "cannot reach" in named.err
    assert "villa-contracts serve" not in named.err


@pytest.fixture
def bare_mock(monkeypatch: pytest.MonkeyPatch, unconfigured: Path) -> Iterator[RunningServer]:
    """A running mock and only VILLA_BASE_URL set: no Cognito variable."""
    with serve_in_thread(lambda url: create_app(base_url=url)) as server:
        monkeypatch.setenv("VILLA_BASE_URL", server.base_url)
        yield server


@pytest.mark.socket
def test_against_a_mock_villa_learns_the_pools_client_id_and_secret_from_the_mock(
    bare_mock: RunningServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = str(probe(bare_mock.base_url)["clientSecret"])  # type: ignore[index]
    assert secret
    logged = run_villa(
        monkeypatch, capsys, "auth", "login", "--username", USER["username"], "--password", USER["password"]
    )
    assert logged.code == 0 and f"logged in as {USER['username']}" in logged.out, logged.err
    verified = run_villa(monkeypatch, capsys, "auth", "verify-token")
    assert verified.code == 0 and verified.out.startswith(f"valid ID token: sub {USER['sub']}"), verified.err
    generated = run_villa(monkeypatch, capsys, "order", "generate-id")  # the session kept is found again
    assert generated.code == 0 and re.fullmatch(r"\d{12}\n", generated.out), generated.err
    shown = run_villa(monkeypatch, capsys, "config", "show")
    assert "VILLA_COGNITO_CLIENT_SECRET  (not set: a mock's, at login)\n" in shown.out
    assert f"(a mock's: {bare_mock.base_url}, at login)" in shown.out
    for result in (logged, verified, generated, shown):
        assert secret not in result.out + result.err and USER["password"] not in result.out + result.err


@pytest.mark.socket
@pytest.mark.parametrize("admin", ["off", "protected"])
def test_when_the_mocks_admin_api_is_off_or_protected_login_says_which_variables_to_set(
    admin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], unconfigured: Path
) -> None:
    options = {"enable_admin": False} if admin == "off" else {"admin_token": "t0ken-kept"}
    with serve_in_thread(lambda url: create_app(base_url=url, **options)) as server:  # type: ignore[arg-type]
        monkeypatch.setenv("VILLA_BASE_URL", server.base_url)
        result = run_villa(monkeypatch, capsys, "auth", "login", "--username", USER["username"], "--password", "x")
    answered = "404" if admin == "off" else "401"
    assert result.code == 2 and result.out == "" and result.err.count("\n") == 1, result.err
    assert result.err.startswith(f"error: Cognito is not configured and the backend at {server.base_url} does not")
    assert f"answered {answered})" in result.err
    for variable in ("VILLA_COGNITO_USER_POOL_ID", "VILLA_COGNITO_CLIENT_ID", "VILLA_COGNITO_CLIENT_SECRET"):
        assert variable in result.err


def test_health_times_the_request_only_not_the_clients_set_up(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # It said "answers in 4426 ms" for a 3 ms endpoint: its timer included building the client. A fake clock
    # (no wall time): building the client takes 4 s of it, the request 3 ms.
    from types import SimpleNamespace

    from villa_contracts.cli.villa import _commands
    from villa_contracts.cli.villa._session import Context

    now = [100.0]

    class Client:
        settings = SimpleNamespace(base_url="http://backend.test")

        def __enter__(self) -> Client:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def health(self) -> dict[str, str]:
            now[0] += 0.003
            return {"status": "ok", "service": "villa-mock", "version": "1"}

    def build(self: Context, **options: object) -> Client:
        now[0] += 4.0
        return Client()

    monkeypatch.setattr(Context, "client", build)
    monkeypatch.setattr(_commands, "time", SimpleNamespace(perf_counter=lambda: now[0], strftime=time.strftime))
    result = run_villa(monkeypatch, capsys, "health")
    assert (result.code, result.out) == (0, "ok: http://backend.test answers (villa-mock 1) in 3 ms\n")


def test_a_usage_error_is_one_line_exit_2(
    unconfigured: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_villa(monkeypatch, capsys, "--bogus")
    assert result.code == 2 and result.err == "error: No such option '--bogus'. (see villa --help)\n", result.err
