"""The state machine (suites.property.machine) against the mock on a real socket: it passes on the
mock, it catches planted bugs and names the operation, and a seed fixes the request sequence."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp

from mock_server.app import create_app
from mock_server.handlers import orders, payments, pricing
from mock_server.runner import serve_in_thread
from suites.context import RunContext
from suites.property.model import Cart, Model, StockLedger
from suites.property.reporting import MachineResult
from suites.property.session import Session
from suites.property.stateful import run_machine
from tests.fixtures.fault_toolkit import handlers_replaced, json_rewriting, recording
from villa_contracts.contract import load
from villa_contracts.domain import orders as order_rules
from villa_contracts.domain.catalog import BusinessData
from villa_contracts.domain.clock import AdjustableClock
from villa_contracts.target import Account, Target

pytestmark = pytest.mark.socket

Wrap = Callable[[ASGIApp], ASGIApp]


def _accounts(base_url: str) -> tuple[Account, Account]:
    users = load().data("users")
    accounts = []
    for user in users[:2]:
        tokens = httpx.post(f"{base_url}/__admin/users/{user['username']}/tokens").json()
        accounts.append(Account(user["username"], user["sub"], tokens["IdToken"]))
    return accounts[0], accounts[1]


@contextmanager
def mock_target(
    wrap: Wrap | None = None,
    *,
    clock: AdjustableClock | None = None,
    handlers: dict[str, Any] | None = None,
    **options: Any,
) -> Iterator[Target]:
    """A fresh mock on 127.0.0.1 (its Villa ``handlers`` replaced, its app wrapped by ``wrap``) and a Target."""

    def build(url: str) -> ASGIApp:
        app = create_app(base_url=url, clock=clock, handlers=handlers_replaced(handlers or {}))
        return wrap(app) if wrap else app

    with serve_in_thread(build) as server:
        yield Target(base_url=server.base_url, accounts=_accounts(server.base_url), **options)


def _run(target: Target, **kwargs: Any) -> MachineResult:
    with RunContext(target) as context:
        return run_machine(context, **{"max_examples": 12, "seed": 0, **kwargs})


# (1) The real mock holds up.


def test_the_mock_passes() -> None:
    with mock_target() as target:
        result = _run(target, max_examples=15)
    assert result.failures == (), [f.message for f in result.failures]
    assert result.steps > 100
    for operation in ("generateOrderId", "createOrder", "getOrder", "updateOrder", "calculateGrandtotal"):
        assert 200 in result.statuses[operation], operation
    assert 404 in result.statuses["getOrder"]  # the other user's orders
    assert {"createCardTokenDev", "createChargeDev", "verifyPaymentDev"} <= set(result.statuses)
    declared = {op.operation_id: {int(s) for s in op.responses} for op in load()["villa"].operations.values()}
    for operation, statuses in result.statuses.items():
        assert statuses <= declared[operation], (operation, statuses)


def test_a_seed_whose_example_repeats_a_first_examples_choices_is_not_a_flaky_target() -> None:
    # Time could pass only after the run's first example: a precondition on the run, not on the example's own
    # choices. With this seed Hypothesis met the first example's choices again in a later one, found another
    # rule allowed there, and the correct mock failed ("Inconsistent data generation"). Now the example draws it.
    with mock_target() as target:
        result = _run(target, max_examples=100, seed=1997420260)
    assert result.failures == (), [f.message for f in result.failures]
    assert result.steps > 100


def test_the_mock_passes_as_a_foreign_backend_on_the_prod_paths() -> None:
    # is_mock False: no exact catalog or stock predictions, only consistency and the invariants.
    with mock_target(is_mock=False, env="prod") as target:
        result = _run(target, max_examples=8, seed=5)
    assert result.failures == (), [f.message for f in result.failures]
    assert "createCardToken" in result.statuses and "createCardTokenDev" not in result.statuses
    assert "threeDSecureSubmit" not in result.statuses  # the 3-D Secure page is the mock's


def test_payments_can_be_switched_off() -> None:
    with mock_target(allow_payments=False) as target:
        result = _run(target, max_examples=5)
    assert result.failures == ()
    payment_ops = {"createCardTokenDev", "createChargeDev", "verifyPaymentDev", "threeDSecureSubmit"}
    assert not payment_ops & set(result.statuses)
    assert "createOrder" in result.statuses


def test_the_rate_limit_spaces_calls() -> None:
    with mock_target(rate_limit=200.0) as target:
        result = _run(target, max_examples=2, stateful_step_count=5)
    assert result.failures == ()
    assert result.seconds >= (result.steps - 1) / 200.0


def _hold_all_salmon(target: Target) -> None:
    """An order made before the run holds every unit of 231150 (stock 3) at branch 1000."""
    alice = target.accounts[0]
    base = target.base_url
    order_id = httpx.post(f"{base}/api/order2/gentele", json={"branchId": "1000"}, headers=alice.headers).json()
    body = {
        **order_id,
        "ownerId": alice.sub,
        "basketId": alice.sub,
        "productList": [{"cprcode": 231150, "quantity": 3}],
    }
    assert httpx.post(f"{base}/api/order/create", json=body, headers=alice.headers).status_code == 200


def test_stock_held_before_the_run_is_no_false_alarm() -> None:
    # The journal shows an order stored before the run: the machine cannot know what it holds.
    with mock_target(allow_payments=False) as target:  # no clock rule: the unpaid hold must not expire
        _hold_all_salmon(target)
        result = _run(target, max_examples=12, seed=2)
    assert result.failures == (), [f.message for f in result.failures]
    assert 409 in result.statuses["createOrder"]


def test_on_a_fresh_mock_stock_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # The same run, had the machine wrongly believed the mock fresh, flags the refused salmon.
    monkeypatch.setattr(Session, "mock_holds_no_stock", lambda self: True)
    with mock_target(allow_payments=False) as target:  # no clock rule: the unpaid hold must not expire
        _hold_all_salmon(target)
        result = _run(target, max_examples=12, seed=2, shrink_seconds=2.0)
    assert {f.check for f in result.failures} == {"state_machine:expected_status"}
    assert {f.operation for f in result.failures} <= {"createOrder", "updateOrder"}  # whichever asks for salmon
    assert all("231150 is out of stock" in f.message for f in result.failures)


# (2) Planted bugs are caught, and the failure names the operation and the invariant.


def _verify_pays_declined(call: Any) -> Any:
    charge = call.state.store.get(payments.CHARGES, call.body["chargeId"])
    if charge is not None and charge["transaction_state"] == "Declined":
        charge.update(transaction_state="Authorized", status="success")
        call.state.store.put(payments.CHARGES, charge["chargeId"], charge)
    return payments.verify_payment(call)


def _get_ignores_owner(call: Any) -> Any:
    order = call.state.store.get(orders.ORDERS, str(call.body["orderId"]))
    return (200, order) if order is not None else orders.get_order(call)


def _grand_total_a_satang_off(call: Any) -> Any:
    status, body = pricing.calculate_grandtotal(call)
    return status, {**body, "grandTotal": round(body["grandTotal"] + 0.01, 2)}


def _gentele_counts_orders(call: Any) -> Any:
    # The bug: the sequence is the caller's number of orders plus one, not a counter of the branch.
    state, branch = call.state, call.body["branchId"]
    count = sum(1 for order in state.store.values(orders.ORDERS) if order.get("ownerId") == call.sub)
    order_id = order_rules.order_id(branch, time.gmtime(state.clock.now()).tm_year, count + 1)
    state.store.put(orders.ISSUED, order_id, {"issuedTo": call.sub, "branchId": branch, "at": state.clock.now()})
    return 200, {"orderId": order_id}


def _gentele_repeats_every_third_call() -> Callable[[Any], Any]:
    issued: list[Any] = []

    def handler(call: Any) -> Any:
        if len(issued) % 3 == 2:
            issued.append(issued[-1])
            return 200, {"orderId": issued[-1]}
        status, body = orders.generate_order_id(call)
        issued.append(body["orderId"])
        return status, body

    return handler


def _a_satang_more(doc: dict[str, Any]) -> dict[str, Any]:
    doc["payment"]["grandTotal"] = round(doc["payment"]["grandTotal"] + 0.01, 2)
    return doc


# createOrder answers a grandTotal 0.01 THB above what it stored.
_created_total_a_satang_off = json_rewriting(("createOrder",), _a_satang_more)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("operation_id", "handler", "wrap", "operation", "check"),
    [
        ("verifyPaymentDev", _verify_pays_declined, None, "verifyPaymentDev", "declined_never_paid"),
        ("getOrder", _get_ignores_owner, None, "getOrder", "ownership"),
        ("calculateGrandtotal", _grand_total_a_satang_off, None, "calculateGrandtotal", "grand_total"),
        ("generateOrderId", _gentele_counts_orders, None, "generateOrderId", "unique_order_ids"),
        (None, None, _created_total_a_satang_off, "createOrder", "grand_total"),
    ],
    ids=["verify-pays-declined", "get-ignores-owner", "pricing-off-by-a-satang", "gentele-repeats", "create-off"],
)
def test_planted_bugs_are_caught(
    operation_id: str | None,
    handler: Any,
    wrap: Wrap | None,
    operation: str,
    check: str,
) -> None:
    handlers = {operation_id: handler} if operation_id is not None else None
    with mock_target(wrap, handlers=handlers) as target:
        result = _run(target, max_examples=20, seed=1, shrink_seconds=1.0)
        tokens = [account.id_token for account in target.accounts]
    found = [(f.operation, f.check) for f in result.failures]
    assert (operation, f"state_machine:{check}") in found, found
    failure = next(f for f in result.failures if f.operation == operation)
    assert failure.seed == 1 and failure.title
    assert "expected" in failure.message
    # The minimal sequence Hypothesis replayed; a bug that depends on the mock's accumulated state
    # (gentele's) may not replay, and is then reported as it was first seen.
    assert any(text in failure.message for text in ("state = VillaMachine()", "did not repeat", "not replayed"))
    assert failure.reproduction.startswith("curl ") and "$VILLA_ID_TOKEN" in failure.reproduction
    assert '"$VILLA_BASE_URL"' in failure.reproduction and target.base_url not in failure.reproduction
    for token in tokens:
        assert token not in failure.reproduction and token not in failure.message


def test_a_bug_that_does_not_replay_is_still_reported() -> None:
    # A duplicate id every third call overall: Hypothesis cannot replay it, the machine still saw it.
    with mock_target(handlers={"generateOrderId": _gentele_repeats_every_third_call()}) as target:
        result = _run(target, max_examples=10, seed=1, shrink_seconds=3.0)
    assert [(f.operation, f.check) for f in result.failures] == [("generateOrderId", "state_machine:unique_order_ids")]
    assert "did not repeat" in result.failures[0].message or "not replayed" in result.failures[0].message
    assert "was answered before, to user" in result.failures[0].message


# (3) A seed fixes the requests.


def _requests(seed: int) -> list[Any]:
    calls: list[tuple[str, str, Any]] = []
    # A frozen clock: the order documents the machine sends back carry the mock's orderDate.
    with mock_target(recording(calls), clock=AdjustableClock(frozen_at=1_767_139_200.0)) as target:
        result = _run(target, max_examples=6, seed=seed)
    assert result.failures == ()
    assert len(calls) == result.steps
    # Card tokens and charge ids are random on the mock; number them in order of appearance.
    text, names = json.dumps(calls), dict[str, str]()
    for value in re.findall(r"(?:tokn|chrg)_test_[A-Za-z0-9]+", text):
        names.setdefault(value, f"<{value[:4]}{len(names)}>")
    for value, name in names.items():
        text = text.replace(value, name)
    requests: list[Any] = json.loads(text)
    return requests


def test_the_same_seed_makes_the_same_requests() -> None:
    first, second = _requests(11), _requests(11)
    assert len(first) > 20
    assert first == second
    assert _requests(12) != first


# The oracle on its own.


def _model(*, exclusive: bool = True) -> Model:
    return Model(BusinessData.from_contract(load()), strict=True, ledger=StockLedger(exclusive=exclusive))


def test_the_model_prices_with_the_domain_and_tracks_ownership_and_stock() -> None:
    model = _model()
    model.issue("100026000001", 0, "1000")
    salmon = Cart("1000", ((231150, 3),))
    assert model.expect_create(1, "100026000001", salmon).status == 404  # issued to user 0
    created = model.expect_create(0, "100026000001", salmon)
    assert created.status == 200 and created.quote is not None
    assert created.quote.grand_total == 3 * 31025 + 9500
    model.held("100026000001", salmon)  # the target answered 200: it holds the salmon now
    order = model.created("100026000001", 0, salmon, {"payment": {"grandTotal": 1026.75}})
    assert order.total == 102675
    assert model.expect_create(0, "100026000001", salmon).status == 409  # used once
    model.issue("100026000002", 0, "1000")
    assert model.expect_create(0, "100026000002", Cart("1000", ((231150, 1),))).check == "stock"
    assert model.expect_get(1, "100026000001").check == "ownership"
    assert model.expect_payable(0, "100026000001", 102676).check == "amount_must_match"
    # Unknown holds: in-stock orders may still be refused, out-of-stock ones must be.
    loose = _model(exclusive=False)
    loose.issue("100026000003", 1, "1000")
    assert loose.expect_create(1, "100026000003", salmon).statuses == (200, 409)
    assert loose.expect_create(1, "100026000003", Cart("1000", ((231150, 4),))).statuses == (409,)


def test_the_model_says_which_charges_pay() -> None:
    model = _model()
    model.issue("100026000001", 0, "1000")
    model.created("100026000001", 0, Cart("1000", ((25281, 1),)), {"payment": {"grandTotal": 174.0}})
    assert model.expect_charge_state(load().data("test_cards")["default"]) == "Authorized"
    model.charged("chrg_test_a", "100026000001", 0, "Declined", 17400)
    model.charged("chrg_test_b", "100026000001", 0, "Authorized", 17400)
    assert model.expect_verify(0, "chrg_test_a")[1] is False
    assert model.expect_verify(0, "chrg_test_a")[0].check == "declined_never_paid"
    assert model.expect_verify(0, "chrg_test_b")[1] is True
    assert model.expect_verify(1, "chrg_test_b")[0].status == 404
    # A second charge while one is Authorized and not captured: one authorization at a time.
    assert model.expect_charge(0, "100026000001", None).check == "one_charge_at_a_time"
    model.settled("100026000001", "chrg_test_b", {"payment": {"isPaid": True}})
    assert model.expect_update(0, "100026000001", Cart("1000", ())).check == "paid_stays_paid"
    assert model.expect_three_ds("chrg_test_b").status == 409
    # An Authorized charge made for another total is never captured; nor is one after the order is paid.
    model.charged("chrg_test_c", "100026000001", 0, "Authorized", 17400)
    assert model.expect_verify(0, "chrg_test_c")[0].check == "captured_once"
    model.issue("100026000002", 0, "1000")
    model.created("100026000002", 0, Cart("1000", ((25281, 2),)), {"payment": {"grandTotal": 253.0}})
    model.charged("chrg_test_d", "100026000002", 0, "Authorized", 17400)  # made before the order grew
    assert model.expect_verify(0, "chrg_test_d") == (model.expect_verify(0, "chrg_test_d")[0], False)
    assert model.expect_verify(0, "chrg_test_d")[0].check == "amount_must_match"


def test_the_model_expires_unpaid_orders_as_the_domain_decides() -> None:
    model = _model()
    created, expiry = 1_767_139_200.0, order_rules.UNPAID_EXPIRY_SECONDS
    for number, lines in ((1, ((25281, 1),)), (2, ((25281, 2),)), (3, ((231150, 1),))):
        order_id = f"10002600000{number}"
        model.issue(order_id, 0, "1000")
        cart = Cart("1000", lines)
        model.held(order_id, cart)
        doc = {"orderDate": created, "payment": {"grandTotal": 174.0, "isPaid": False}}
        model.created(order_id, 0, cart, doc)
    model.charged("chrg_test_wait", "100026000001", 0, "Pre-Authorized", 17400)  # 3-D Secure never done
    model.charged("chrg_test_no", "100026000002", 0, "Declined", 17400)  # held no money
    model.charged("chrg_test_paid", "100026000003", 0, "Authorized", 17400)
    model.settled("100026000003", "chrg_test_paid", {"orderDate": created, "payment": {"isPaid": True}})
    assert model.expire(created + expiry - 1) == ([], [])  # not yet
    kept, deleted = model.expire(created + expiry)
    assert [o.order_id for o in kept] == ["100026000001"] and kept[0].expired
    assert [o.order_id for o in deleted] == ["100026000002"]
    assert model.charges["chrg_test_wait"].state == "Voided" and model.charges["chrg_test_no"].state == "Declined"
    assert model.expect_get(0, "100026000002").status == 404  # deleted: missing to its owner too
    assert model.expect_get(0, "100026000001").status == 200  # the record of the void
    assert model.expect_verify(0, "chrg_test_wait") == (model.expect_verify(0, "chrg_test_wait")[0], False)
    assert model.expect_update(0, "100026000001", Cart("1000", ())).check == "expired_stays_expired"
    assert model.expect_charge(0, "100026000001", None).status == 409  # nothing more is charged to it
    assert model.expect_three_ds("chrg_test_wait").check == "payment_outcome"  # voided: 3-D Secure is over
    assert model.ledger.others("1000", Counter()) == {25281: 0, 231150: 1}  # only the paid order holds stock
    assert model.expire(created + 10 * expiry) == ([], [])  # each order expires once
