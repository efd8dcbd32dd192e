"""How a collection gets the credential of each security scheme of its contract.

Three sources, decided per scheme from the contract:

``cognito``
    An HTTP bearer scheme (``type: http, scheme: bearer``): the Cognito ID token. The collection
    logs in first (Cognito's ``InitiateAuth``) and keeps it in ``{{idToken}}``.
``operation``
    A key an operation of the contract issues (the shop's ``Authorization: Token <key>`` of
    ``POST /api/shop/auth/token``). That operation runs first; its test script keeps the key in a
    collection variable named after the scheme (``{{tokenKey}}``).
``environment``
    A shared secret nothing issues (the payment gateway's ``X-Gateway-Key``): an environment
    variable named after the scheme (``{{gatewayKey}}``). The mock's environment holds its public
    test value (``contracts/data/<contract>.yaml``, the scheme's name in snake case); the dev
    template leaves it empty, and ``postman run`` fills it from ``VILLA_<CONTRACT>_<SCHEME>``
    (``VILLA_SHOP_GATEWAY_KEY``). A request whose key is empty is skipped, never failed.

The scheme's ``x-villa`` says it outright::

    tokenKey:  {type: apiKey, in: header, name: Authorization,
                x-villa: {issuedBy: obtainToken, tokenPointer: /token, prefix: "Token "}}
    gatewayKey: {type: apiKey, in: header, name: X-Gateway-Key,
                 x-villa: {environmentVariable: VILLA_SHOP_GATEWAY_KEY, mockValue: shop.gateway_key}}

Without it, the contract's own words decide. The issuer is an open operation whose answer has a
``token`` (or ``key``) string, one that takes a ``username`` and a ``password`` first (it logs the
environment's test account in): among those whose path the scheme's description names, else
among all of them for a key sent in ``Authorization`` (a caller's own key; a key in a header of its
own, such as ``X-Gateway-Key``, is shared and comes from the environment). The prefix of an
``Authorization`` key is the description's first ```Word <key>``` template (```Token <key>```).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from villa_contracts.contract._bundle import resolve
from villa_contracts.errors import ContractError
from villa_contracts.postman._parts import answer_properties, pointer_parts, request_properties

if TYPE_CHECKING:
    from villa_contracts.contract import Contract, Contracts, Operation

Source = Literal["cognito", "operation", "environment"]
ID_TOKEN = "idToken"
"""The variable the Cognito login fills, whatever a bearer scheme is called."""
TOKEN_FIELDS = ("token", "key", "access_token", "accessToken")
_TEMPLATE = re.compile(r"`([A-Za-z][A-Za-z0-9_-]*) <[^<>`]+>`")


@dataclass(frozen=True, slots=True)
class Credential:
    """What a security scheme wants, and where the collection gets it.

    Attributes:
        scheme: the security scheme's name.
        source: ``cognito``, ``operation`` or ``environment`` (see the module).
        variable: the Postman variable that holds it.
        key: the header (or query parameter) that carries it.
        where: ``header`` or ``query``.
        prefix: what comes before it in the value (``Bearer ``, ``Token ``, or nothing).
        issuer: the operationId that issues it (source ``operation``).
        pointer: where the key is in the issuer's answer (source ``operation``).
        env_var: the variable ``postman run`` reads it from on a real backend (source ``environment``).
        mock_value: its public test value on the mock (source ``environment``), if the data has one.
    """

    scheme: str
    source: Source
    variable: str
    key: str = "Authorization"
    where: str = "header"
    prefix: str = ""
    issuer: str | None = None
    pointer: tuple[str, ...] = ()
    env_var: str | None = None
    mock_value: str | None = None

    @property
    def value(self) -> str:
        """The header's value, the credential as a ``{{variable}}``."""
        return f"{self.prefix}{{{{{self.variable}}}}}"


def snake(name: str) -> str:
    """``gatewayKey`` → ``gateway_key``."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def _extension(node: Any) -> dict[str, Any]:
    extension = node.get("x-villa") if isinstance(node, dict) else None
    return extension if isinstance(extension, dict) else {}


def _issuers(contract: Contract) -> list[tuple[Operation, str]]:
    """Open operations whose answer carries a key (``token``), with that field; logins of an account first."""
    found = []
    for operation in contract.operations.values():
        if operation.secured or operation.mock_only:
            continue
        answer = answer_properties(contract, operation)
        field = next((f for f in TOKEN_FIELDS if (answer.get(f) or {}).get("type") == "string"), None)
        if field is not None:
            found.append((operation, field))
    login = {"username", "password"}
    return sorted(found, key=lambda pair: not login <= set(request_properties(contract, pair[0])))


def _mock_value(contracts: Contracts | None, contract: Contract, scheme: str, given: Any) -> str | None:
    """The scheme's public test value: ``x-villa.mockValue`` (``data.key``) or ``data/<contract>.yaml``'s snake name."""
    if contracts is None:
        return None
    data_name, _, key = str(given).partition(".") if given else (contract.name, "", snake(scheme))
    try:
        data = contracts.data(data_name)
    except ContractError:
        return None
    value = data.get(key) if isinstance(data, dict) else None
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def credential(contract: Contract, scheme: str, contracts: Contracts | None = None) -> Credential:
    """Where a collection gets the credential of ``scheme``, a security scheme of ``contract``.

    Raises:
        ContractError: the scheme is not declared, or its ``x-villa.issuedBy`` names no operation.
    """
    schemes = (contract.openapi.get("components") or {}).get("securitySchemes") or {}
    spec = resolve(contract.openapi, schemes.get(scheme))
    if not isinstance(spec, dict):
        raise ContractError(f"contract {contract.name!r}: no security scheme {scheme!r} in components")
    marker = _extension(spec)
    if spec.get("type") == "http":
        name = str(spec.get("scheme") or "bearer")
        if name.lower() == "bearer" and not marker.get("issuedBy") and not marker.get("environmentVariable"):
            return Credential(scheme, "cognito", ID_TOKEN, prefix="Bearer ")
        key, where, prefix = "Authorization", "header", f"{name[:1].upper()}{name[1:]} "
    else:
        key = str(spec.get("name") or "Authorization")
        where = "query" if spec.get("in") == "query" else "header"
        template = _TEMPLATE.search(str(spec.get("description") or "")) if key.lower() == "authorization" else None
        prefix = f"{template.group(1)} " if template else ""
    if "prefix" in marker:
        prefix = str(marker["prefix"])
    issuer = _issuer(contract, scheme, spec, marker, per_user=key.lower() == "authorization")
    if issuer is not None:
        operation, pointer = issuer
        return Credential(scheme, "operation", scheme, key, where, prefix, operation, pointer)
    mock_value = _mock_value(contracts, contract, scheme, marker.get("mockValue"))
    env_var = str(marker.get("environmentVariable") or f"VILLA_{snake(contract.name)}_{snake(scheme)}".upper())
    return Credential(scheme, "environment", scheme, key, where, prefix, env_var=env_var, mock_value=mock_value)


def _issuer(
    contract: Contract, scheme: str, spec: dict[str, Any], marker: dict[str, Any], *, per_user: bool
) -> tuple[str, tuple[str, ...]] | None:
    """The operation that issues the scheme's key and where the key is in its answer (None: nothing issues it)."""
    if marker.get("issuedBy"):
        operation = contract.operations.get(str(marker["issuedBy"]))
        if operation is None:
            raise ContractError(f"contract {contract.name!r}: security scheme {scheme!r}: x-villa.issuedBy "
                                f"names no operation ({marker['issuedBy']!r})")  # fmt: skip
        if marker.get("tokenPointer"):
            return operation.operation_id, pointer_parts(str(marker["tokenPointer"]))
        answer = answer_properties(contract, operation)
        return operation.operation_id, (next((f for f in TOKEN_FIELDS if f in answer), "token"),)
    if marker.get("environmentVariable") or marker.get("mockValue"):
        return None
    candidates = _issuers(contract)
    description = str(spec.get("description") or "")
    named = [(op, field) for op, field in candidates if op.path in description]
    if named:
        return named[0][0].operation_id, (named[0][1],)
    if candidates and per_user:  # an Authorization key is a caller's own: a login issues it
        return candidates[0][0].operation_id, (candidates[0][1],)
    return None


def credentials(contract: Contract, contracts: Contracts | None = None) -> dict[str, Credential]:
    """The credential of every scheme the contract's operations use (the first of each operation's schemes)."""
    used = dict.fromkeys(op.schemes[0] for op in contract.operations.values() if op.schemes)
    return {scheme: credential(contract, scheme, contracts) for scheme in used}


def needs_cognito(contract: Contract) -> bool:
    """Whether the contract's collection logs in with Cognito (a scheme carries the ID token)."""
    return any(c.source == "cognito" for c in credentials(contract).values())


def from_environment(contracts: Contracts) -> list[Credential]:
    """Every environment credential of the backend APIs, once per variable (contract order)."""
    found: dict[str, Credential] = {}
    for contract in contracts.apis:
        for item in credentials(contract, contracts).values():
            if item.source == "environment":
                found.setdefault(item.variable, item)
    return list(found.values())
