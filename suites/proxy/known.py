"""Traffic the proxy knows without a contract operation, and the verdicts every exchange can get whatever it is.

Not every request a backend's clients send is an operation of a contract, and not every one that
is not is *undocumented*:

- the Cognito JSON protocol (``POST`` with ``X-Amz-Target: AWSCognitoIdentityProviderService.<Op>``,
  what an AWS SDK sends to log in) and the OpenID discovery documents (``/<pool>/.well-known/…``):
  protocols of their own, judged by what an AWS SDK relies on (``cognito_protocol``, ``oidc_discovery``);
- a method the contract does not list on one of its paths: a correct backend answers 405
  (``unsupported_method``, Schemathesis's check, with its allowances);
- a browser's CORS preflight (``OPTIONS`` with ``Access-Control-Request-Method``): HTTP's, not the
  client's;
- the requests of testing tools, which say so (Schemathesis: ``X-Schemathesis-TestCaseId`` on every
  test case, ``X-Schemathesis-Probe`` on every probe; the Pact verifier: its ``User-Agent``): a fuzzer
  sends invalid data, wrong methods and odd paths on purpose, a pact replays a consumer's refused
  requests on purpose, so their requests are never the client's fault: only the backend's answers
  are judged.

Whatever an exchange is, two verdicts hold for all: a 5xx answer is a failure (``not_a_server_error``:
a server error is never hidden), and an exchange the proxy cannot judge is a warning that says why
(``unjudged``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from suites.proxy.findings import Finding, Where
from villa_contracts.domain.errors import STATUS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from suites.proxy.exchange import Body, Exchange
    from villa_contracts.contract import Operation
    from villa_contracts.failures import Severity

SERVER_ERROR = "not_a_server_error"
UNJUDGED = "unjudged"
UNSUPPORTED_METHOD = "unsupported_method"
COGNITO = "cognito_protocol"
DISCOVERY = "oidc_discovery"
COGNITO_PREFIX = "AWSCognitoIdentityProviderService."
PROBE = "schemathesis probe"
"""The operation Schemathesis's probes and its requests to paths no contract has are counted under."""
_PROBER_HEADERS = ("x-schemathesis-testcaseid", "x-schemathesis-probe")
_DISCOVERY = re.compile(r"/[^/]+/\.well-known/(jwks\.json|openid-configuration)")


def cognito_operation(exchange: Exchange) -> str | None:
    """The Cognito operation a request calls (``InitiateAuth``), None when it is not the Cognito protocol."""
    target = exchange.request_header("x-amz-target").strip()
    if exchange.method != "POST" or not target.startswith(COGNITO_PREFIX):
        return None
    return target[len(COGNITO_PREFIX) :] or "(none)"


def discovery_document(exchange: Exchange) -> str | None:
    """``jwks.json`` or ``openid-configuration`` when the request reads a pool's discovery document."""
    found = _DISCOVERY.fullmatch(exchange.path) if exchange.method in ("GET", "HEAD") else None
    return found.group(1) if found else None


def tester(exchange: Exchange) -> str | None:
    """The testing tool that sent the request, by what it says of itself (None: any other client).

    Schemathesis puts ``X-Schemathesis-TestCaseId`` on every test case and ``X-Schemathesis-Probe``
    on every probe; the Pact verifier, which replays consumer pacts (their refused requests
    included), sends ``User-Agent: pact_verifier/<version>``. Both send invalid requests on purpose.
    """
    if any(exchange.request_header(name) for name in _PROBER_HEADERS):
        return "Schemathesis"
    if exchange.request_header("user-agent").startswith("pact_verifier/"):
        return "the Pact verifier"
    return None


def is_probe(exchange: Exchange) -> bool:
    """Whether the request is one of Schemathesis's probes (of the server, not of an operation)."""
    return bool(exchange.request_header("x-schemathesis-probe"))


def is_preflight(exchange: Exchange) -> bool:
    """Whether the request is a CORS preflight (a browser's, before a cross-origin call)."""
    return exchange.method == "OPTIONS" and bool(exchange.request_header("access-control-request-method"))


def server_error(exchange: Exchange, *, documented: bool = False) -> Finding | None:
    """``not_a_server_error``: a 5xx answer fails, except a 5xx other than 500 that the operation documents.

    Args:
        exchange: the exchange.
        documented: the operation's contract lists this very status (a 503 "gateway unavailable").
    """
    status = exchange.status
    if status is None or status < 500 or (documented and status != 500):
        return None
    message = f"expected: not a server error\ngot: {status} to {exchange.method} {exchange.path}"
    return Finding(SERVER_ERROR, "response", "", message)


def unjudged(reason: str, where: Where = "request") -> Finding:
    """``unjudged``: a warning that says why the proxy could not judge (part of) an exchange."""
    message = f"expected: an exchange the proxy can judge\ngot: {reason}"
    return Finding(UNJUDGED, where, "", message, warning=True, severity="medium")


def method_findings(exchange: Exchange, operations: Sequence[Operation]) -> list[Finding]:
    """``unsupported_method``: the answer to a method the contract does not list on a path it has.

    A correct backend answers 405 with an ``Allow`` header. As Schemathesis's check does, it also
    accepts 401 or 403 where every operation of the path is secured (authentication runs before
    routing), 404 where the path has parameters (the resource may not exist) and 429 (rate limits
    run first). A 5xx is ``not_a_server_error``'s.
    """
    status = exchange.status
    if status is None or status >= 500 or status == 429:
        return []
    listed = ", ".join(sorted({op.method for op in operations}))
    path = operations[0].path
    if status == 405:
        if exchange.response_header("allow"):
            return []
        message = f"expected: 405 with an Allow header ({listed})\ngot: 405 without Allow"
        return [Finding(UNSUPPORTED_METHOD, "response", "/headers/allow", message, severity="medium")]
    if status in (401, 403) and all(op.secured for op in operations):
        return []
    if status == STATUS["not_found"] and "{" in path:  # the resource the path names may not exist
        return []
    message = f"expected: 405: the contract lists {listed} on {path}, not {exchange.method}\ngot: {status}"
    severity: Severity = "high" if 200 <= status < 300 else "medium"
    return [Finding(UNSUPPORTED_METHOD, "response", "", message, severity=severity)]


def cognito_findings(exchange: Exchange, body: Body) -> list[Finding]:
    """``cognito_protocol``: an answer an AWS SDK can read (a JSON object; an error with its ``__type``)."""
    status = exchange.status
    if status is None or status >= 500:
        return []
    if body.kind != "json" or not isinstance(body.value, dict):
        got = f"{body.kind} body" + (f" ({body.media})" if body.media else "")
        message = f"expected: a JSON object (application/x-amz-json-1.1), as an AWS SDK reads it\ngot: {got}"
        return [Finding(COGNITO, "response", "", message, severity="medium")]
    if status >= 400 and not isinstance(body.value.get("__type"), str):
        message = f"expected: an error with its __type (e.g. NotAuthorizedException)\ngot: {status} without __type"
        return [Finding(COGNITO, "response", "/__type", message, severity="medium")]
    return []


def discovery_findings(exchange: Exchange, body: Body, document: str) -> list[Finding]:
    """``oidc_discovery``: a pool's JWKS has its ``keys``, its OpenID configuration its ``issuer`` and ``jwks_uri``."""
    if exchange.status != 200 or exchange.method == "HEAD":
        return []
    wanted = ("keys",) if document == "jwks.json" else ("issuer", "jwks_uri")
    value = body.value if body.kind == "json" and isinstance(body.value, dict) else None
    missing = [key for key in wanted if value is None or key not in value]
    if not missing:
        return []
    got = f"{body.kind} body" if value is None else f"no {', '.join(missing)}"
    message = f"expected: a {document} document with {', '.join(wanted)}\ngot: {got}"
    return [Finding(DISCOVERY, "response", "", message, severity="medium")]
