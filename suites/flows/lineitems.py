"""The line-item checkout (seed 004), step by step, as its mobile client does it.

Four steps: the flow's user logs in to the Villa user pool (signed up through Cognito first when
new) for an ID token; the seed's order is created (state ``payment``, $400, all_paid false, stock
reserved); it is paid with a PayPal reference id of its total (the mock's sandbox knows every
``PAYID-<cents>-…``); the answer is ``completed`` with ``all_paid``; and the order is listed under
``type=completed`` and not under ``type=not_completed``. Paths are the contract's; details never
contain the password or the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import httpx

from suites.flows.steps import FlowResult, FlowTarget, Report, StepFailed, run_steps
from villa_contracts.client import AuthError, VillaClient, http_client
from villa_contracts.contract import load
from villa_contracts.domain.lineitems import SEED_ORDER


class _LineItemsFlow:
    def __init__(self, target: FlowTarget, client: VillaClient, http: httpx.Client) -> None:
        self.target, self.client, self.http = target, client, http
        self.paths = {op_id: op.path for op_id, op in load()["lineitems"].operations.items()}
        self.token = ""
        self.order: dict[str, Any] = {}

    def _call(self, op_id: str, body: Any = None, *, status: int, **params: Any) -> Any:
        path = self.paths[op_id].format(**params)
        headers = {"Authorization": f"Bearer {self.token}"}
        query = {k: v for k, v in params.items() if f"{{{k}}}" not in self.paths[op_id]}
        response = self.http.request("GET" if body is None else "POST", path, json=body, params=query, headers=headers)
        if response.status_code != status:
            raise StepFailed(f"HTTP {status} from {op_id}", f"HTTP {response.status_code}: {response.text[:300]}")
        return response.json()

    def log_in(self) -> str:
        target = self.target
        try:
            self.token = self.client.login(target.username, target.password).id_token
            return f"ID token for {target.username}"
        except AuthError:
            pass
        try:
            result = self.client.register(target.username, target.password, email=target.email)
            if not result.user_confirmed and target.confirmation_code is not None:
                self.client.auth.confirm_sign_up(target.username, target.confirmation_code)
        except AuthError as exc:
            if exc.type != "UsernameExistsException":
                raise
        self.token = self.client.login(target.username, target.password).id_token
        return f"signed up {target.username} through Cognito; ID token"

    def create(self) -> str:
        order = self._call("createLineItemOrder", SEED_ORDER, status=201)
        got = (order["state"], order["all_paid"], order["display_total"], order["total_cents"])
        if got != ("payment", False, "$400", 40000):
            raise StepFailed("payment, not paid, $400 (40000 cents)", repr(got))
        self.order = order
        counts = ", ".join(f"{line['variant']['id']}: {line['variant']['stocks_count']} left"
                           for line in order["line_items"])  # fmt: skip
        return f"order {order['id']} in state payment for {order['display_total']}; stock reserved ({counts})"

    def pay(self) -> str:
        reference = f"PAYID-{self.order['total_cents']}-flow{secrets.token_hex(6)}"
        paid = self._call("payLineItemOrder", {"reference_id": reference}, status=201, id=self.order["id"])
        if (paid["state"], paid["all_paid"]) != ("completed", True):
            raise StepFailed("completed, all_paid true", f"{paid['state']}, all_paid {paid['all_paid']}")
        return f"PayPal reference id {reference}: order {paid['id']} completed, all_paid true"

    def listed(self) -> str:
        done = [o["id"] for o in self._call("listLineItemOrdersJson", status=200, type="completed")["orders"]]
        open_ = [o["id"] for o in self._call("listLineItemOrders", status=200, type="not_completed")["orders"]]
        if self.order["id"] not in done or self.order["id"] in open_:
            raise StepFailed(f"order {self.order['id']} under type=completed only", f"completed {done}, not {open_}")
        return f"order {self.order['id']} listed under type=completed (newest first), not under not_completed"


def lineitems_flow(target: FlowTarget, report: Report) -> FlowResult:
    """The line-item checkout on ``target``: the ``FLOWS`` entry of the ``lineitems`` contract."""
    with VillaClient(target.settings) as client, http_client(base_url=target.base_url, timeout=30) as http:
        flow = _LineItemsFlow(target, client, http)
        plan: list[tuple[str, Callable[[], str]]] = [
            ("ID token (log in)", flow.log_in),
            ("create the seed's order", flow.create),
            ("pay with a PayPal reference id", flow.pay),
            ("listed as completed", flow.listed),
        ]
        result = run_steps(plan, report, lambda: [target.password, flow.token])
        order_id = str(flow.order["id"]) if flow.order else None
        return FlowResult(result.ok, result.steps, order_id)
