"""The cart checkout (seed 002) with the order service behind it (seed 003), step by step, with ``ShopClient``.

Ten steps: a token key for the flow's user (signed up through Cognito first when new), the profile
completed, an address added, the active payment and shipping methods, one 25281 (chilled) in the
cart, a redirect checkout (``next_step``), the payer approving on the gateway's page, the order
read back PROCESSING and paid by one attempt with the cart gone, a direct checkout (cash on
delivery, dry goods) answering ``order_key``, and the order list with both, newest first.
Details never contain the password or the token key.
"""

from __future__ import annotations

from collections.abc import Callable

from suites.flows.steps import FlowResult, FlowTarget, Report, StepFailed, run_steps
from villa_contracts.client import AuthError, ShopClient, VillaClient
from villa_contracts.domain import shop as shop_rules
from villa_contracts.domain.errors import refusal_of
from villa_contracts.errors import ApiError

CHILLED, DRY = 25281, 188468
REDIRECT_METHOD, DIRECT_METHOD, COLD_CHAIN, EXPRESS = 1, 3, 2, 6
EXPECTED_TOTAL = "174.00"


def _refused_credentials(status: int) -> bool:
    """Whether a login answered ``status`` was refused for its credentials (``require_credentials``): a new user."""
    refusal = refusal_of(shop_rules.require_credentials, False)
    return refusal is not None and status == refusal.status


class _ShopFlow:
    def __init__(self, target: FlowTarget, shop: ShopClient) -> None:
        self.target, self.shop = target, shop
        self.address = 0
        self.next_step = ""
        self.paid_key = ""
        self.direct_key = ""

    def log_in(self) -> str:
        target = self.target
        try:
            customer = self.shop.login(target.username, target.password)
            return f"token key for {target.username} ({customer})"
        except ApiError as exc:
            if not _refused_credentials(exc.status_code):
                raise
        with VillaClient(target.settings) as villa:  # a new user: the one user directory is Cognito's
            try:
                result = villa.register(target.username, target.password, email=target.email)
                if not result.user_confirmed and target.confirmation_code is not None:
                    villa.auth.confirm_sign_up(target.username, target.confirmation_code)
            except AuthError as exc:
                if exc.type != "UsernameExistsException":
                    raise
        customer = self.shop.login(target.username, target.password)
        return f"signed up {target.username} through Cognito; token key for {customer}"

    def complete_profile(self) -> str:
        profile = self.shop.update_profile(first_name="Flow", last_name="Customer", phone="0812345678",
                                           email=self.target.email)  # fmt: skip
        if profile.get("completed") is not True:
            raise StepFailed("completed true", repr(profile.get("completed")))
        return "first_name, last_name, phone and email set: completed"

    def add_address(self) -> str:
        self.address = self.shop.add_address("168 Sukhumvit 33 Road", "Bangkok", "10110", "0812345678")
        if self.address not in [a["id"] for a in self.shop.addresses()]:
            raise StepFailed(f"address {self.address} among the customer's", "not listed")
        return f"address {self.address}"

    def methods(self) -> str:
        payments = {m["id"]: m for m in self.shop.payment_methods()}
        shipping = {m["id"]: m for m in self.shop.shipping_methods()}
        wanted = (REDIRECT_METHOD, DIRECT_METHOD)
        if not all(i in payments for i in wanted) or not all(i in shipping for i in (COLD_CHAIN, EXPRESS)):
            raise StepFailed(f"payment methods {wanted} and shipping {COLD_CHAIN}, {EXPRESS}",
                             f"{sorted(payments)} and {sorted(shipping)}")  # fmt: skip
        kinds = ", ".join(f"{m['id']} {m['kind']}" for m in payments.values())
        return f"payment: {kinds}; shipping: " + ", ".join(f"{m['id']} ({m['fee']})" for m in shipping.values())

    def fill_cart(self) -> str:
        for item in self.shop.cart()["items"]:
            self.shop.remove_item(item["product_id"])
        cart = self.shop.add_item(CHILLED, 1)
        if cart["items_total"] != "79.00" or cart["item_count"] != 1:
            raise StepFailed("one 25281 for 79.00", f"{cart['item_count']} item(s) for {cart['items_total']}")
        return f"one {CHILLED} ({cart['items'][0]['name']}) for {cart['items_total']} THB"

    def checkout_redirect(self) -> str:
        result = self.shop.checkout(address=self.address, payment_method=REDIRECT_METHOD, shipping_method=COLD_CHAIN,
                                    notes="Please deliver after 5 PM")  # fmt: skip
        if not result.next_step:
            raise StepFailed("next_step (a redirect payment)", f"order_key {result.order_key!r}")
        self.next_step = result.next_step
        held = self.shop.orders(page=1, page_size=1)["results"][0]
        if held["status"] != "HOLD" or held["total"] != EXPECTED_TOTAL:
            raise StepFailed(f"HOLD for {EXPECTED_TOTAL}", f"{held['status']} for {held['total']}")
        self.paid_key = held["order_key"]
        return f"order {self.paid_key} HOLD for {held['total']} THB; pay at {self.next_step}"

    def approve(self) -> str:
        decided = self.shop.decide_on_gateway(self.next_step, "approve")
        if decided.get("status") != "PAID":
            raise StepFailed("attempt PAID", repr(decided.get("status")))
        return f"attempt {decided['external_id']} PAID; back to {decided['return_url']}"

    def read_paid(self) -> str:
        order = self.shop.order(self.paid_key)
        attempts = [a for a in self.shop.attempts(self.paid_key) if a["status"] == "PAID"]
        cart = self.shop.cart()
        got = (order["status"], order["paid"], len(attempts), cart["item_count"], order["snapshot"] is not None)
        if got != ("PROCESSING", True, 1, 0, True):
            shown = "{}, paid {}, {} PAID attempt(s), {} item(s) in the cart, snapshot {}".format(*got)
            raise StepFailed("PROCESSING, paid, 1 PAID attempt, empty cart, a snapshot", shown)
        return f"order {self.paid_key} PROCESSING, paid by {attempts[0]['external_id']}; cart deleted; snapshot taken"

    def checkout_direct(self) -> str:
        self.shop.add_item(DRY, 1)
        result = self.shop.checkout(address=self.address, payment_method=DIRECT_METHOD, shipping_method=EXPRESS)
        if not result.order_key:
            raise StepFailed("order_key (a direct payment)", f"next_step {result.next_step!r}")
        self.direct_key = result.order_key
        order = self.shop.order(self.direct_key)
        if order["status"] != "PROCESSING":
            raise StepFailed("PROCESSING at once", order["status"])
        return f"cash on delivery: order {self.direct_key} PROCESSING at once, {order['total']} THB"

    def list_orders(self) -> str:
        page = self.shop.orders(page=1, page_size=2)
        keys = [o["order_key"] for o in page["results"]]
        if keys != [self.direct_key, self.paid_key]:
            raise StepFailed(f"[{self.direct_key}, {self.paid_key}] newest first", repr(keys))
        return f"{page['count']} order(s), {page['total_pages']} page(s) of 2: {', '.join(keys)} newest first"


def shop_flow(target: FlowTarget, report: Report) -> FlowResult:
    """The cart checkout on ``target``: the ``FLOWS`` entry of the ``shop`` contract."""
    with ShopClient(target.base_url) as shop:
        flow = _ShopFlow(target, shop)
        plan: list[tuple[str, Callable[[], str]]] = [
            ("token key (log in)", flow.log_in),
            ("complete the profile", flow.complete_profile),
            ("add an address", flow.add_address),
            ("payment and shipping methods", flow.methods),
            (f"cart: one {CHILLED}", flow.fill_cart),
            ("checkout, redirect payment", flow.checkout_redirect),
            ("approve on the gateway page", flow.approve),
            ("order PROCESSING, cart deleted", flow.read_paid),
            ("checkout, cash on delivery", flow.checkout_direct),
            ("the order list, newest first", flow.list_orders),
        ]
        result = run_steps(plan, report, lambda: [target.password, shop.token or ""])
        return FlowResult(result.ok, result.steps, flow.paid_key or None)
