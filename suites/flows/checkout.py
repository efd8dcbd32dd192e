"""The seeds' checkout flow, step by step, with the reference client against any base URL.

Ten steps: sign up + confirm + log in, generate an order id on branch 1000, build one 25281 with
delivery, validate it at 174.00 THB, create it, tokenise the contract's 3-D Secure test card, charge
(Pre-Authorized + redirect), complete 3-D Secure, verify (paid), and read the order back paid. The
first failed step stops the flow; its detail says what was expected and what came back. Details
never contain a password, a token or an unmasked card number.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from decimal import Decimal

from suites.flows.steps import FlowResult, FlowTarget, Report, Step, StepFailed, run_steps
from villa_contracts.client import AuthError, Order, VillaClient, mask_card
from villa_contracts.contract import Contracts, load

BRANCH = "1000"
PRODUCT = 25281
EXPECTED_TOTAL = Decimal("174.00")
SHIPPING = {"shipping_postcode": "10110", "shipping_phone": "0812345678", "shipping_address": "168 Sukhumvit 33 Road"}


def three_ds_test_card(contracts: Contracts | None = None) -> str:
    """Return the first test card of the contract data whose outcome is 3-D Secure.

    Args:
        contracts: the contracts; the shipped ones by default.

    Returns:
        The card number (show it only through ``mask_card``).

    Raises:
        LookupError: the contract lists no such card.

    """
    cards = (contracts or load()).data("test_cards")["cards"]
    for number, card in cards.items():
        if card.get("outcome") == "three_ds":
            return str(number)
    raise LookupError("contracts/data/test_cards.yaml lists no card with outcome three_ds")


def fresh_credentials() -> tuple[str, str, str]:
    """Make up a new user for one run: user name, a password meeting the pool policy, e-mail.

    Returns:
        ``(username, password, email)``; the user name is the e-mail.

    """
    email = f"flow-{secrets.token_hex(6)}@villa.example"
    return email, f"Flow-{secrets.token_hex(8)}-Aa1", email


class _Checkout:
    def __init__(self, client: VillaClient, username: str, password: str, email: str, code: str | None) -> None:
        self.client, self.username, self.password, self.email, self.code = client, username, password, email, code
        self.order_id: str | None = None
        self.order: Order | None = None
        self.card = three_ds_test_card()
        self.token = ""
        self.charge_id = ""
        self.redirect_url = ""

    def sign_up_and_log_in(self) -> str:
        try:
            result = self.client.register(self.username, self.password, email=self.email)
            signed_up = f"signed up {self.username}"
            if not result.user_confirmed and self.code is not None:
                self.client.auth.confirm_sign_up(self.username, self.code)
                signed_up += ", confirmed"
        except AuthError as exc:
            if exc.type != "UsernameExistsException":
                raise
            signed_up = f"{self.username} exists already"
        self.client.login(self.username, self.password)
        if not self.client.is_id_token_valid():
            raise StepFailed("an ID token that verifies against the pool's JWKS", "one that does not")
        return f"{signed_up}, logged in as sub {self.client.owner_id}; the ID token verifies"

    def generate_id(self) -> str:
        order_id = self.client.orders.generate_order_id(BRANCH).order_id
        if not (len(order_id) == 12 and order_id.isdigit()):
            raise StepFailed("a 12-digit orderId", repr(order_id))
        self.order_id = order_id
        return f"order id {order_id} on branch {BRANCH}"

    def build(self) -> str:
        builder = self.client.order_builder(order_id=self.order_id).with_branch(BRANCH)
        builder.add_product(cprcode=PRODUCT, quantity=1, price=20, row_total=20).with_delivery_shipping(**SHIPPING)
        self.order = builder.as_test_order().build()
        if self.order.owner_id != self.client.owner_id:
            raise StepFailed(f"ownerId {self.client.owner_id}", repr(self.order.owner_id))
        return f"one {PRODUCT} on branch {BRANCH}, regular delivery to {SHIPPING['shipping_postcode']}"

    def validate(self) -> str:
        assert self.order is not None
        result = self.client.pre_payment.validate(self.order, expected_grand_total=EXPECTED_TOTAL)
        if not result.valid:
            raise StepFailed(f"a valid order at {EXPECTED_TOTAL} THB", "; ".join(result.errors))
        return f"valid: schema, calculateGrandtotal and getCost agree on {EXPECTED_TOTAL} THB"

    def create(self) -> str:
        assert self.order is not None
        created = self.client.create_order(self.order)
        if created.grand_total != EXPECTED_TOTAL or created.payment_status != "PENDING":
            got = f"grand total {created.grand_total} THB, status {created.payment_status}"
            raise StepFailed(f"grand total {EXPECTED_TOTAL} THB, status PENDING", got)
        self.order = created
        return f"created {created.order_id}: grand total {created.grand_total} THB, payment PENDING"

    def card_token(self) -> str:
        assert self.order is not None and self.order.order_id and self.order.basket_id
        payments = self.client.payments
        request = payments.build_card_token_request(
            self.order.order_id, self.order.basket_id, EXPECTED_TOTAL, card_number=self.card
        )
        token = payments.create_card_token(request)
        if token.masked_card_no != mask_card(self.card):
            raise StepFailed(f"masked card {mask_card(self.card)}", repr(token.masked_card_no))
        self.token = token.card_token
        return f"card token for {token.masked_card_no} ({token.brand}, the contract's 3-D Secure test card)"

    def charge(self) -> str:
        assert self.order is not None and self.order.order_id and self.order.basket_id
        payments = self.client.payments
        request = payments.build_card_payment_request(
            self.order.order_id, self.order.basket_id, EXPECTED_TOTAL, self.token
        )
        charge = payments.initiate_card_payment(request)
        if charge.transaction_state != "Pre-Authorized" or not charge.redirect_url:
            got = f"{charge.transaction_state}, redirect_url {charge.redirect_url!r}"
            raise StepFailed("Pre-Authorized with a redirect_url", got)
        self.charge_id, self.redirect_url = charge.charge_id, charge.redirect_url
        return f"charge {charge.charge_id} of {charge.amount} THB: Pre-Authorized, 3-D Secure at {charge.redirect_url}"

    def three_d_secure(self) -> str:
        state = self.client.payments.complete_3ds(self.redirect_url, action="complete")
        if state != "Authorized":
            raise StepFailed("transaction_state Authorized", state)
        return f"3-D Secure completed: charge {self.charge_id} Authorized"

    def verify(self) -> str:
        assert self.order_id is not None
        verified = self.client.payments.verify(self.order_id, self.charge_id)
        if not verified.paid:
            raise StepFailed("paid true", f"paid false ({verified.transaction_state})")
        return f"verified: paid, {verified.transaction_state}"

    def read_back(self) -> str:
        assert self.order_id is not None
        order = self.client.orders.get(self.order_id)
        got = (order.is_paid, order.payment_status, order.total_paid)
        if got != (True, "PAID", EXPECTED_TOTAL):
            shown = "isPaid {}, status {}, totalPaid {}".format(*got)
            raise StepFailed(f"isPaid true, status PAID, totalPaid {EXPECTED_TOTAL}", shown)
        return (
            f"order {self.order_id} is PAID, totalPaid {order.total_paid} THB by {order.payment.get('paymentMethod')}"
        )


def run_checkout(
    client: VillaClient,
    *,
    username: str,
    password: str,
    email: str,
    confirmation_code: str | None,
    report: Callable[[Step], None],
) -> FlowResult:
    """Run the checkout flow, reporting each step as it ends; stop at the first failure.

    Args:
        client: a reference client on the target (not logged in).
        username: the user to sign up (or log in, when it exists already).
        password: their password (never reported).
        email: their e-mail.
        confirmation_code: the sign-up code (the mock's is in contracts/data/cognito.yaml); None to
            skip confirmation (the user must then be confirmed already).
        report: called with each ``Step`` as soon as it ends.

    Returns:
        The steps run and whether all held.

    """
    flow = _Checkout(client, username, password, email, confirmation_code)
    plan: list[tuple[str, Callable[[], str]]] = [
        ("sign up, confirm and log in", flow.sign_up_and_log_in),
        (f"generate an order id on branch {BRANCH}", flow.generate_id),
        (f"build an order of one {PRODUCT} with delivery", flow.build),
        (f"pre-payment validation at {EXPECTED_TOTAL} THB", flow.validate),
        ("create the order", flow.create),
        ("card token with the 3-D Secure test card", flow.card_token),
        ("card payment (Pre-Authorized + redirect)", flow.charge),
        ("complete 3-D Secure", flow.three_d_secure),
        ("verify the payment", flow.verify),
        ("read the order back paid", flow.read_back),
    ]

    def hidden() -> list[str]:
        tokens = flow.client.tokens
        found = [flow.password, flow.token]
        if tokens is not None:
            found += [tokens.id_token, tokens.access_token, tokens.refresh_token or ""]
        return found

    result = run_steps(plan, report, hidden)
    return FlowResult(result.ok, result.steps, flow.order_id)


def villa_flow(target: FlowTarget, report: Report) -> FlowResult:
    """The Villa SDK checkout (seeds 000/001) on ``target``: the ``FLOWS`` entry of the ``villa`` contract."""
    with VillaClient(target.settings) as client:
        return run_checkout(
            client,
            username=target.username,
            password=target.password,
            email=target.email,
            confirmation_code=target.confirmation_code,
            report=report,
        )
