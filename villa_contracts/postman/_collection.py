"""Postman collections (v2.1) and environments generated from the contracts, byte for byte reproducible.

One collection per backend API contract: a login folder when a security scheme carries the Cognito
ID token (Cognito's JSON protocol, as the app and the SDK speak it), then a folder per tag with a
request per operation, in the order of ``_flow.plan`` (an operation that issues a credential, such
as the shop's token key, first). Each request sends its scheme's credential (``_auth``), the
contract's example body, takes linked values from earlier answers, and tests the status the
contract expects and the answer against the operation's response schema.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from villa_contracts.postman import _auth
from villa_contracts.postman import _scripts as scripts
from villa_contracts.postman._auth import ID_TOKEN, Credential
from villa_contracts.postman._flow import Plan, Step, plan
from villa_contracts.postman._parts import folder, json_schema, success, variable_prefix
from villa_contracts.postman._schema import draft07

if TYPE_CHECKING:
    from villa_contracts.contract import Contract, Contracts, Operation

SCHEMA_V21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
_NAMESPACE = uuid.UUID("6f1e8a52-0c1d-4b7e-9a55-3c2b8e7d9f10")  # fixed: the same ids on every export
MOCK_ENVIRONMENT = "mock.postman_environment.json"
DEV_ENVIRONMENT = "dev.postman_environment.json"
COGNITO_TARGET = "AWSCognitoIdentityProviderService.InitiateAuth"
AWS_COGNITO = "https://cognito-idp.{region}.amazonaws.com/"
DEV_CLIENT_ID = "6k932iah7v1hgnd33a53c3v1mj"
"""The SDK manual's dev app client (villa-backend-sdk-dev): public, like its pool id."""


def collection_file(contract: str) -> str:
    """The file name of a contract's collection (``villa.postman_collection.json``)."""
    return f"{contract}.postman_collection.json"


def _id(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(parts)))


def auth_of(credential: Credential | None) -> dict[str, Any]:
    """A request's Postman ``auth``: its credential the way its security scheme sends it (None: open)."""
    if credential is None:
        return {"type": "noauth"}
    if credential.source == "cognito":  # Postman's own bearer auth: `Authorization: Bearer <ID token>`
        return {"type": "bearer", "bearer": [{"key": "token", "value": f"{{{{{ID_TOKEN}}}}}", "type": "string"}]}
    return _apikey(credential.key, credential.value, credential.where)


def _apikey(key: str, value: str, where: str) -> dict[str, Any]:
    return {
        "type": "apikey",
        "apikey": [
            {"key": "key", "value": key, "type": "string"},
            {"key": "value", "value": value, "type": "string"},
            {"key": "in", "value": where, "type": "string"},
        ],
    }


def auth_header(auth: dict[str, Any]) -> dict[str, str]:
    """The header(s) a Postman ``auth`` sends (for requests a script sends itself)."""
    if auth["type"] == "bearer":
        return {"Authorization": "Bearer " + next(e["value"] for e in auth["bearer"] if e["key"] == "token")}
    if auth["type"] == "apikey":
        fields = {entry["key"]: entry["value"] for entry in auth["apikey"]}
        return {fields["key"]: fields["value"]} if fields.get("in") == "header" else {}
    return {}


def _url(path: str, path_values: dict[str, str]) -> dict[str, Any]:
    segments = [seg[1:-1] if seg.startswith("{") and seg.endswith("}") else seg for seg in path.strip("/").split("/")]
    names = {seg[1:-1] for seg in path.strip("/").split("/") if seg.startswith("{")}
    shown = [f":{seg}" if seg in names else seg for seg in segments]
    url: dict[str, Any] = {"raw": "{{baseUrl}}/" + "/".join(shown), "host": ["{{baseUrl}}"], "path": shown}
    if names:
        url["variable"] = [{"key": name, "value": path_values.get(name, "")} for name in sorted(names)]
    return url


def _guard(operation: Operation, credential: Credential | None) -> str | None:
    """Where the gate would not call it, neither does the collection (see ``suites.context.RunContext.may_call``)."""
    if credential is not None and credential.source == "environment":
        # A shared key nothing issues: without it in the environment, the request is not tested (not failed).
        return scripts.guard(
            f"pm.variables.get({scripts.js(credential.variable)})",
            f"no {credential.variable} in the environment ({credential.env_var} for `villa-contracts postman run`)",
        )
    if operation.mock_only:
        return scripts.guard('pm.variables.get("isMock") === "true"', "only the mock has this operation")
    if operation.path.startswith("/api/payment3devapi/"):
        return scripts.guard(
            'pm.variables.get("isMock") === "true" || pm.variables.get("villaEnv") !== "prod"',
            "a prod backend pays on /api/payment3",
        )
    if operation.path.startswith("/api/payment3/"):
        return scripts.guard(
            'pm.variables.get("isMock") === "true" || '
            '(pm.variables.get("villaEnv") === "prod" && pm.variables.get("allowProdPayments") === "true")',
            "/api/payment3 is the live gateway: only on prod with allowProdPayments=true (a mock: always)",
        )
    return None


@dataclass
class _Builder:
    contract: Contract
    plan: Plan
    credentials: dict[str, Credential]

    def credential(self, operation: Operation) -> Credential | None:
        return self.credentials[operation.schemes[0]] if operation.schemes else None

    def linked(self, value: Any) -> list[str]:
        text = json.dumps(value)
        return [name for name in self.plan.variables if "{{" + name + "}}" in text]

    def replay_step(self, step: Step) -> dict[str, Any]:
        operation = step.operation
        url = _url(operation.path, step.path_values)["raw"]
        for name, value in step.path_values.items():
            url = url.replace(f":{name}", value)
        header = {**auth_header(auth_of(self.credential(operation))), "Content-Type": "application/json"}
        return {
            "name": operation.operation_id,
            "method": operation.method,
            "url": url,
            "header": header,
            "body": step.body,
            "status": int(success(operation)[0]),
            "captures": [[name, list(path)] for name, path in self.plan.captures.get(operation.operation_id, [])],
        }

    def item(self, step: Step) -> dict[str, Any]:
        operation = step.operation
        status, response = success(operation)
        pre: list[str] = []
        guard = _guard(operation, self.credential(operation))
        if guard:
            pre.append(guard)
        # The replay calls fillLinked() once its answers are in (pm.sendRequest is asynchronous).
        linked = self.linked([step.body, step.path_values])
        if linked or step.replay:
            pre.append(scripts.fill(linked, now=not step.replay))
        if step.replay:
            replayed = sorted({v for s in step.replay for v in self.linked([s.body, s.path_values])})
            pre.append(scripts.replay([self.replay_step(s) for s in step.replay], replayed))
        schema = json_schema(response)
        content = response.get("content") or {}
        media = next(iter(content), None)
        test = [scripts.tests(operation.label, status, draft07(self.contract.openapi, schema) if schema else None,
                              variable_prefix(operation) if schema else "", media)]  # fmt: skip
        if self.plan.captures.get(operation.operation_id):
            test.append(scripts.captures(status, self.plan.captures[operation.operation_id]))
        for issued in self.credentials.values():
            if issued.issuer == operation.operation_id:
                sent = f"{issued.key}: {issued.value}"
                test.append(scripts.credential(status, issued.variable, issued.pointer, sent))
        request: dict[str, Any] = {
            "auth": auth_of(self.credential(operation)),
            "method": operation.method,
            "header": [],
            "url": _url(operation.path, step.path_values),
            "description": str(operation.spec.get("description") or operation.spec.get("summary") or "").strip(),
        }
        if step.body is not None:
            request["header"] = [{"key": "Content-Type", "value": "application/json"}]
            request["body"] = {"mode": "raw", "raw": json.dumps(step.body, indent=2, ensure_ascii=False),
                               "options": {"raw": {"language": "json"}}}  # fmt: skip
        events = [{"listen": "test", "script": _script("\n".join(test))}]
        if pre:
            events.insert(0, {"listen": "prerequest", "script": _script("\n".join(pre))})
        return {
            "name": f"{operation.operation_id}: {operation.spec.get('summary') or operation.label}",
            "event": events,
            "request": request,
        }


def _script(text: str) -> dict[str, Any]:
    return {"type": "text/javascript", "exec": scripts.lines(text)}


def _login() -> dict[str, Any]:
    body = {
        "AuthFlow": "USER_PASSWORD_AUTH",
        "ClientId": "{{cognitoClientId}}",
        "AuthParameters": {"USERNAME": "{{username}}", "PASSWORD": "{{password}}", "SECRET_HASH": "{{secretHash}}"},
    }
    return {
        "name": "Log in (Cognito USER_PASSWORD_AUTH)",
        "event": [
            {"listen": "prerequest", "script": _script(scripts.LOGIN_PRE_REQUEST)},
            {"listen": "test", "script": _script(scripts.LOGIN_TEST)},
        ],
        "request": {
            "auth": {"type": "noauth"},
            "method": "POST",
            "header": [
                {"key": "Content-Type", "value": "application/x-amz-json-1.1"},
                {"key": "X-Amz-Target", "value": COGNITO_TARGET},
            ],
            "body": {"mode": "raw", "raw": json.dumps(body, indent=2), "options": {"raw": {"language": "json"}}},
            "url": {"raw": "{{cognitoUrl}}", "host": ["{{cognitoUrl}}"]},
            "description": "Cognito's JSON protocol (as boto3 and the Villa SDK send it). Stores the ID token "
            "in `idToken` and its `sub` in `sub` (collection variables) for every later request.",
        },
    }  # fmt: skip


def identities(contracts: Contracts) -> dict[str, str]:
    """Example values that stand for the caller: every test user's ``sub`` becomes ``{{sub}}``."""
    return {str(user["sub"]): "sub" for user in contracts.data("users") if user.get("sub")}


def accounts(contracts: Contracts) -> dict[str, str]:
    """Example values that are a test account's: its user name and password, the environment's at run time."""
    found: dict[str, str] = {}
    for user in contracts.data("users"):
        found.update({str(user[key]): key for key in ("username", "password") if user.get(key)})
    return found


def build_collection(contract: Contract, contracts: Contracts) -> dict[str, Any]:
    """The Postman collection (v2.1) of one API contract.

    Args:
        contract: a backend API's contract.
        contracts: every contract (their shared business data: the test users, the mock's keys).

    Returns:
        The collection, as JSON-ready data.
    """
    credentials = _auth.credentials(contract, contracts)
    issuers = tuple(c.issuer for c in credentials.values() if c.issuer is not None)
    steps = plan(contract, identities(contracts), first=issuers, accounts=accounts(contracts))
    builder = _Builder(contract, steps, credentials)
    cognito = any(c.source == "cognito" for c in credentials.values())
    descriptions = {str(t.get("name")): str(t.get("description") or "") for t in contract.openapi.get("tags") or []}
    folders: dict[str, dict[str, Any]] = {}
    if cognito:  # the login first, in the folder "auth" (with the operations of a tag "auth", if any)
        login = " ".join(filter(None, ["Log in first: every request uses the ID token.", descriptions.get("auth")]))
        folders["auth"] = {"name": "auth", "description": login, "item": [_login()]}
    for step in builder.plan.steps:
        tag = folder(step.operation)
        folders.setdefault(tag, {"name": tag, "description": descriptions.get(tag, ""), "item": []})
        folders[tag]["item"].append(builder.item(step))
    variables = []
    if cognito:
        variables += [
            {"key": ID_TOKEN, "value": "", "type": "string", "description": "Set by the login request."},
            {"key": "sub", "value": "", "type": "string", "description": "The logged-in user's sub (ID token)."},
        ]
    for issued in credentials.values():
        if issued.source == "operation":
            variables.append({"key": issued.variable, "value": "", "type": "string",
                              "description": f"Set by {issued.issuer}: the {issued.scheme} credential "
                                             f"({issued.key}: {issued.value})."})  # fmt: skip
    first = "logs in" if cognito else f"gets its key first ({', '.join(issuers)})" if issuers else "starts"
    info = contract.openapi.get("info") or {}
    return {
        "info": {
            "_postman_id": _id("collection", contract.name),
            "name": f"{contract.title} ({contract.name})",
            "description": (
                f"Generated from contracts/{contract.name}/openapi.yaml by `villa-contracts postman export` "
                f"(contract version {info.get('version', '?')}): do not edit by hand. Run it top to bottom: it "
                f"{first}, then walks the API with the contract's examples, each request chained to the answers "
                "before it as the contract's links say."
            ),
            "schema": SCHEMA_V21,
        },
        "item": list(folders.values()),
        "variable": variables,
    }  # fmt: skip


def _environment(name: str, values: list[tuple[str, str, bool]]) -> dict[str, Any]:
    return {
        "id": _id("environment", name),
        "name": name,
        "values": [
            {"key": key, "value": value, "type": "secret" if secret else "default", "enabled": True}
            for key, value, secret in values
        ],
        "_postman_variable_scope": "environment",
    }


def build_environments(contracts: Contracts) -> dict[str, dict[str, Any]]:
    """The mock's environment (what its ``/__admin/cognito`` answers, on port 8080) and a dev template.

    Both hold every shared key a contract's collection reads from the environment (``_auth``): the
    mock's public test value, and empty in the dev template (a secret there).

    Args:
        contracts: the contracts (their Cognito and user data).

    Returns:
        File name → environment.
    """
    cognito = contracts.data("cognito")
    client = cognito["appClients"][0]
    user = contracts.data("users")[0]
    mock = "http://127.0.0.1:8080"
    # Shared keys nothing issues (the payment gateway's): the mock's public test value, empty in dev.
    keys = _auth.from_environment(contracts)
    common = [
        ("cognitoRegion", str(cognito["region"]), False),
        ("cognitoUserPoolId", str(cognito["userPoolId"]), False),
    ]
    return {
        MOCK_ENVIRONMENT: _environment("villa-contracts mock (villa-contracts serve --port 8080)", [
            ("baseUrl", mock, False), ("cognitoUrl", mock + "/", False), *common,
            ("cognitoClientId", str(client["clientId"]), False),
            ("cognitoClientSecret", str(client.get("clientSecret") or ""), True),
            # The mock's public test account (contracts/data/users.yaml): never a real one.
            ("username", str(user["username"]), False), ("password", str(user["password"]), True),
            ("villaEnv", "dev", False), ("isMock", "true", False), ("allowProdPayments", "false", False),
            *((key.variable, key.mock_value or "", True) for key in keys),
        ]),
        DEV_ENVIRONMENT: _environment("Villa dev (template: fill in baseUrl, the client secret and a test account)", [
            ("baseUrl", "", False), ("cognitoUrl", AWS_COGNITO.format(region=cognito["region"]), False), *common,
            ("cognitoClientId", DEV_CLIENT_ID, False), ("cognitoClientSecret", "", True),
            ("username", "", False), ("password", "", True),
            ("villaEnv", "dev", False), ("isMock", "false", False), ("allowProdPayments", "false", False),
            *((key.variable, "", True) for key in keys),
        ]),
    }  # fmt: skip


def render(document: dict[str, Any]) -> bytes:
    """A collection or environment as it is written: indented JSON, UTF-8, ending with a newline."""
    return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def generate(contracts: Contracts) -> dict[str, bytes]:
    """Every file of ``contracts/postman``: a collection per backend API contract and the environments.

    Args:
        contracts: the contracts.

    Returns:
        File name → content.
    """
    files = {collection_file(c.name): render(build_collection(c, contracts)) for c in contracts.apis}
    files.update({name: render(env) for name, env in build_environments(contracts).items()})
    return files


def stale(contracts: Contracts, directory: Path | None = None) -> list[str]:
    """The files of ``directory`` (default ``contracts/postman``) that are not a fresh export: the sync check.

    Returns:
        Names of files that differ by a byte, are missing, or are collections of no contract.
    """
    directory = directory or contracts.root / "postman"
    files = generate(contracts)
    found = [n for n, data in files.items() if not (directory / n).is_file() or (directory / n).read_bytes() != data]
    found += sorted(p.name for p in directory.glob("*.postman_collection.json") if p.name not in files)
    return found


def export(contracts: Contracts, directory: Path | None = None) -> dict[Path, bool]:
    """Write ``generate(contracts)`` to ``directory`` (default ``contracts/postman``).

    Collections of contracts that no longer exist are removed, so the directory is exactly the export.

    Returns:
        Each path written or removed → whether it changed.
    """
    directory = directory or contracts.root / "postman"
    directory.mkdir(parents=True, exist_ok=True)
    changed: dict[Path, bool] = {}
    files = generate(contracts)
    for name, content in files.items():
        path = directory / name
        old = path.read_bytes() if path.is_file() else None
        if old != content:
            path.write_bytes(content)
        changed[path] = old != content
    for stale in sorted(directory.glob("*.postman_collection.json")):
        if stale.name not in files:
            stale.unlink()
            changed[stale] = True
    return changed
