"""The SDK manual's Python examples (sections 4 to 7), as written, against a running mock.

Import lines included: ``villa_backend_sdk`` re-exports the reference client. The snippets run in
order in one namespace, as in one session; ``client`` (which section 3 logs in) is a fixture. The
manual's placeholders are made real on the mock by the fixtures: the account ``user@example.com``
/ ``your-password`` whose ``sub`` is ``owner-1``, and the order id ``order-1`` issued to it on
branch 1000 (a backend issues ids itself; the manual names one). The admin API refuses that
password (the pool's policy), so the fixture writes the mock's state directly.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

from mock_server.app import create_app
from mock_server.handlers.orders import ISSUED
from mock_server.runner import RunningServer, serve_in_thread
from tests.fixtures.fault_toolkit import mock_state
from villa_contracts.client import VillaClient
from villa_contracts.target import mock_environ, probe

pytestmark = pytest.mark.socket

SECTION_4_BUILD = """\
from villa_backend_sdk import OrderBuilder

order = (
    OrderBuilder()
    .with_ids(order_id="order-1", owner_id="owner-1", basket_id="basket-1")
    .with_branch("1000")
    .add_product(cprcode=25281, quantity=1)
    .with_delivery_shipping(
        shipping_postcode="10330",
        shipping_phone="0812345678",
        shipping_address="123 Sukhumvit Rd",
    )
    .with_payment_totals(grand_total=174.0)
    .build()
)
"""
SECTION_4_API = """\
generated = client.orders.generate_order_id("1000")
created = client.orders.create(order)
fetched = client.orders.get(created.order_id)
"""
SECTION_5 = """\
# 1. Local JSON Schema check (bundled order.yaml)
client.schema_validator.validate_order(order.to_api_payload())

# 2. Remote pricing APIs
result = client.pre_payment.validate(
    order,
    expected_grand_total=174.0,
)
print(result.valid, result.errors, result.calculated_grand_total)

if not result.valid:
    raise SystemExit("Fix order before payment")
"""
SECTION_6 = """\
token = client.payments.create_card_token(
    client.payments.build_card_token_request(
        order_id=order.order_id,
        basket_id=order.basket_id,
        grand_total=str(result.calculated_grand_total or 174),
    )
)

payment = client.payments.initiate_card_payment(
    client.payments.build_card_payment_request(
        order_id=order.order_id,
        basket_id=order.basket_id,
        grand_total=str(result.calculated_grand_total or 174),
        token=token.card_token,
    )
)
print(payment.redirect_url)
"""
SECTION_7 = """\
from villa_backend_sdk import VillaClient, OrderBuilder

client = VillaClient.from_env()
client.login("user@example.com", "your-password")

order = (
    OrderBuilder()
    .with_ids(order_id="order-1", owner_id="owner-1", basket_id="basket-1")
    .with_branch("1000")
    .add_product(cprcode=25281, quantity=1)
    .with_payment_totals(grand_total=174.0)
    .build()
)

check = client.pre_payment.validate(order, expected_grand_total=174.0)
if check.valid:
    token = client.payments.create_card_token(
        client.payments.build_card_token_request(
            order_id=order.order_id,
            basket_id=order.basket_id,
            grand_total="174",
        )
    )
    print("Token:", token.card_token)
"""


@pytest.fixture
def manual_mock(monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    apps: list[Any] = []

    def build(url: str) -> Any:
        apps.append(create_app(base_url=url))
        return apps[0]

    with serve_in_thread(build) as server:
        state = mock_state(apps[0])
        # What the manual's placeholders stand for, made real (see the module docstring).
        state.auth._users.create("user@example.com", "your-password", email="user@example.com", confirmed=True,
                                 sub="owner-1")  # fmt: skip
        state.store.put(ISSUED, "order-1", {"issuedTo": "owner-1", "branchId": "1000", "at": state.clock.now()})
        cognito = probe(server.base_url)
        assert cognito is not None
        for name, value in mock_environ(server.base_url, cognito).items():
            monkeypatch.setenv(name, value)
        yield server


def test_sections_4_to_7_run_as_written(manual_mock: RunningServer, capsys: pytest.CaptureFixture[str]) -> None:
    client = VillaClient.from_env()
    client.login("user@example.com", "your-password")  # section 3
    namespace: dict[str, Any] = {"client": client}
    for snippet in (SECTION_4_BUILD, SECTION_4_API, SECTION_5, SECTION_6, SECTION_7):
        exec(compile(textwrap.dedent(snippet), "<manual>", "exec"), namespace)  # noqa: S102
    # Section 4: the order was created, priced by the backend, and read back.
    assert namespace["generated"].order_id.startswith("1000")
    assert namespace["created"].order_id == "order-1" and namespace["created"].owner_id == "owner-1"
    assert namespace["fetched"].grand_total == 174 and namespace["fetched"].payment_status == "PENDING"
    # Section 5: both pricing APIs agree on 174.00.
    assert namespace["result"].valid and namespace["result"].calculated_grand_total == 174.0
    # Section 6: the default test card is approved at once (no 3-D Secure page to open).
    assert namespace["payment"].transaction_state == "Authorized" and namespace["payment"].redirect_url is None
    # Section 7: a fresh client, login, validation and a card token.
    assert namespace["check"].valid and namespace["token"].card_token.startswith("tokn_test_")
    printed = capsys.readouterr().out.splitlines()
    assert printed[:2] == ["True [] 174.0", "None"]
    assert printed[2].startswith("Token: tokn_test_")
    namespace["client"].close()
    client.close()
