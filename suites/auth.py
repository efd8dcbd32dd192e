"""How a run authenticates to each security scheme of the contracts, for any target.

``credentials()[scheme]`` turns one of the target's accounts into the headers that scheme wants:
``idToken`` (the Villa API's Cognito ID token), ``tokenKey`` (the shop's ``Token <key>``, obtained
once per run and account with the account's user name and password) and ``gatewayKey`` (the
payment gateway's shared key: the contract data's on a mock, ``VILLA_SHOP_GATEWAY_KEY`` elsewhere).
A scheme whose credentials this run does not have answers None, and ``RunContext.may_call`` then
bars the operations that need it (they are reported as not tested, never as passed).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from villa_contracts.errors import ConfigError

if TYPE_CHECKING:
    from suites.context import RunContext
    from villa_contracts.contract import Contract

Headers = dict[str, str]
Provider = Callable[["RunContext", int], "Headers | None"]
GATEWAY_KEY_VAR = "VILLA_SHOP_GATEWAY_KEY"


def _id_token(context: RunContext, index: int) -> Headers | None:
    return context.target.accounts[index].headers


def shop_token_key(context: RunContext, index: int) -> str:
    """A shop token key for account ``index`` (``POST /api/shop/auth/token``, once per run and account).

    Raises:
        ConfigError: the target refuses the account's user name and password.
    """
    import httpx  # here: the proxy's reports name these headers (SHELL_HEADERS) and send nothing

    account = context.target.accounts[index]
    try:
        answer = context.http.post(
            f"{context.base_url}/api/shop/auth/token",
            json={"username": account.username, "password": account.password},
        )
        key = answer.json().get("token") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        key = None
    if not isinstance(key, str):
        raise ConfigError(
            f"the target gave test account {account.username} no shop token key (POST /api/shop/auth/token): "
            "check that the account exists there with this password, or leave the shop out (--contract villa)"
        )
    return key


def token_key_headers(context: RunContext, index: int) -> Headers | None:
    """The shop's ``Authorization: Token <key>`` of account ``index`` (obtained once per run)."""
    return {"Authorization": f"Token {context.cached(('tokenKey', index), lambda: shop_token_key(context, index))}"}


def gateway_key(context: RunContext) -> str | None:
    """The payment gateway's shared key on this target (None: this run cannot call the callback)."""
    if context.target.is_mock:
        return str(context.contracts.data("shop")["gateway_key"])
    return os.environ.get(GATEWAY_KEY_VAR) or None


def gateway_key_headers(context: RunContext, index: int) -> Headers | None:
    """The gateway's ``X-Gateway-Key`` on this target (None: unknown; the callback is then not called)."""
    key = gateway_key(context)
    return {"X-Gateway-Key": key} if key else None


def credentials() -> dict[str, Provider]:
    """The headers of each security scheme, for account 0 or 1 of the run's target.

    ``idToken`` (the Cognito ID token every API of the Villa backend takes) is the suites' own; an API
    that brings a scheme of its own brings its provider in its suite part (``Suite.credentials``).
    """
    from suites.apis import suites

    found: dict[str, Provider] = {"idToken": _id_token}
    for suite in suites().values():
        found.update(suite.credentials)
    return found


SHELL_HEADERS: dict[str, tuple[str, str]] = {
    "idToken": ("Authorization", "Bearer $VILLA_ID_TOKEN"),
    "tokenKey": ("Authorization", "Token $VILLA_SHOP_TOKEN"),
    "gatewayKey": ("X-Gateway-Key", "$VILLA_SHOP_GATEWAY_KEY"),
}
"""Each scheme's header in a pastable reproduction: the variables ``villa-contracts tokens`` exports."""


def has_credentials(context: RunContext, scheme: str) -> bool:
    """Whether this run can authenticate to ``scheme`` (schemes the suites do not know: no)."""
    provider = credentials().get(scheme)
    return provider is not None and (scheme == "tokenKey" or provider(context, 0) is not None)


def headers_for(context: RunContext, contract: Contract, index: int = 0) -> Headers:
    """Every header the contract's security schemes want, for account ``index`` (what Schemathesis sends).

    Raises:
        ConfigError: two schemes of one contract want the same header.
    """
    schemes = sorted({scheme for op in contract.operations.values() for scheme in op.schemes})
    headers: Headers = {}
    for scheme in schemes:
        provider = credentials().get(scheme)
        given = provider(context, index) if provider is not None else None
        for name, value in (given or {}).items():
            if name in headers and headers[name] != value:
                raise ConfigError(f"contract {contract.name!r}: two security schemes both set the {name} header")
            headers[name] = value
    return headers
