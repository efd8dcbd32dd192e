"""HTTP to the Villa backend: paths from the contract, the ID token, JSON in and out, ApiError.

Every call names its contract ``operationId``; the method and path come from ``contracts/``, so the
client cannot drift from the contract. Only the status and the operation are logged, never a body
or a header (bodies carry tokens and card numbers).
"""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Callable
from typing import Any

import httpx

from villa_contracts.client._settings import Settings
from villa_contracts.contract import Contract
from villa_contracts.errors import ApiError, ClientError, ContractError, NotAnswering

log = logging.getLogger("villa_contracts.client")

USER_AGENT = "villa-contracts-client/0.1"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The process' TLS context for httpx (``verify=``): verifying as httpx does by default, made once."""
    return httpx.create_ssl_context()


def http_client(**options: Any) -> httpx.Client:
    """An ``httpx.Client`` (``options`` as httpx takes them) with one TLS context for the whole process.

    It verifies TLS as httpx does by default; httpx would load the CA bundle again for every client (about
    30 ms), and a gate run makes several.
    """
    return httpx.Client(verify=tls_context(), **options)


def decode_body(response: httpx.Response) -> Any:
    """Decode the JSON body of ``response``, or return its text when it is not JSON.

    Args:
        response: an HTTP response.

    Returns:
        The decoded JSON value, or the raw text.

    """
    try:
        return response.json()
    except ValueError:
        return response.text


class Transport:
    """Calls contract operations on the backend with the caller's ID token.

    Args:
        settings: where the backend is.
        http: the HTTP client (may be a Starlette ``TestClient``).
        contract: the contract giving each operation's method and path.
        id_token: returns the current ID token, or None before login.

    """

    def __init__(
        self, settings: Settings, http: httpx.Client, contract: Contract, id_token: Callable[[], str | None]
    ) -> None:
        self._settings = settings
        self._http = http
        self._contract = contract
        self._id_token = id_token

    def call(self, operation_id: str, body: Any) -> Any:
        """Call a contract operation and return its decoded JSON answer.

        Args:
            operation_id: the contract's operationId (e.g. ``createOrder``).
            body: the JSON request body (None for operations without one).

        Returns:
            The decoded JSON of the 2xx answer.

        Raises:
            ContractError: the contract has no such operation.
            ApiError: the backend answered a non-2xx status.
            ClientError: the backend cannot be reached or did not answer JSON.

        """
        operation = self._contract.operations.get(operation_id)
        if operation is None:
            raise ContractError(f"no operation {operation_id!r} in the contract")
        headers = {}
        token = self._id_token()
        if operation.secured and token:
            headers["Authorization"] = f"Bearer {token}"
        url = self._settings.base_url.rstrip("/") + operation.path
        return self.request(operation_id, operation.method, url, body, headers)

    def post_url(self, operation_id: str, url: str, body: Any) -> Any:
        """POST JSON to an absolute URL given by the backend (no ID token is sent there).

        Args:
            operation_id: the contract operation this URL serves, for errors.
            url: the absolute URL (e.g. a 3-D Secure ``redirect_url``).
            body: the JSON request body.

        Returns:
            The decoded JSON of the 2xx answer.

        Raises:
            ApiError: the URL answered a non-2xx status.
            ClientError: the URL cannot be reached or did not answer JSON.

        """
        return self.request(operation_id, "POST", url, body, {})

    def request(self, operation_id: str, method: str, url: str, body: Any, headers: dict[str, str]) -> Any:
        """Send one request and decode the answer.

        Args:
            operation_id: names the call in errors and logs.
            method: the HTTP method.
            url: the absolute URL.
            body: the JSON body, or None for no body.
            headers: extra headers.

        Returns:
            The decoded JSON of the 2xx answer.

        Raises:
            ApiError: a non-2xx status.
            ClientError: the target cannot be reached or did not answer JSON.

        """
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **headers}
        try:
            if body is None:
                response = self._http.request(method, url, headers=headers)
            else:
                response = self._http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            kind = NotAnswering if isinstance(exc, httpx.ConnectError) else ClientError
            raise kind(f"{operation_id}: cannot reach {url}: {type(exc).__name__}: {exc}") from None
        log.debug("%s %s %s -> HTTP %d", operation_id, method, httpx.URL(url).path, response.status_code)
        decoded = decode_body(response)
        if not response.is_success:
            raise ApiError(operation_id, response.status_code, decoded)
        if isinstance(decoded, str):
            content_type = response.headers.get("content-type", "none")
            raise ClientError(
                f"{operation_id} answered HTTP {response.status_code} with a body that is not JSON "
                f"(Content-Type {content_type})"
            )
        return decoded
