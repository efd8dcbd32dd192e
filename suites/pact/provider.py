"""Provider verification: replay the pacts against a running provider with pact-python's ``Verifier``.

Time is bounded: the state-change URL is checked once before anything runs (a server that is not a
Pact provider fails in seconds, not after the verifier's retries), each state change goes through
a local relay with a short timeout (which also adds the mock's admin token), and every request to
the provider has a timeout.

Example:
    >>> result = verify_pacts("http://127.0.0.1:8080")  # doctest: +SKIP
    >>> result.ok, result.failed  # doctest: +SKIP
    (True, ())

"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from pact import Verifier

from suites.pact.pacts import PROVIDER
from villa_contracts.client import http_client, tls_context
from villa_contracts.contract import Contract, Contracts, load

STATE_CHANGE_PATH = "/__admin/provider-states"
STATE_TIMEOUT = 5.0
"""Seconds a state change may take."""
REQUEST_TIMEOUT_MS = 10_000
"""Milliseconds a replayed request may take."""


class NotAProvider(Exception):
    """The state-change URL does not set up provider states: nothing could be verified."""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What the verifier found.

    Attributes:
        ok: every interaction held.
        interactions: the descriptions of the interactions verified.
        failed: ``(description, reason)`` of each one that did not hold.
        output: the verifier's own report (plain text).
        state_failures: provider states that could not be set up, with why.

    """

    ok: bool
    interactions: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    output: str
    state_failures: tuple[str, ...] = ()


def _failures(results: dict[str, Any], state_failures: list[str]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    states = "; ".join(state_failures)
    for error in results.get("errors", []):
        description = str(error.get("interaction", "?"))
        mismatch = error.get("mismatch", {})
        reason = mismatch.get("message") if isinstance(mismatch, dict) else None
        if not reason and isinstance(mismatch, dict):
            reason = "; ".join(str(m.get("mismatch", m)) for m in mismatch.get("mismatches", [])) or str(mismatch)
        reason = str(reason or mismatch)
        if states:
            reason += f" (provider states that could not be set up: {states})"
        found.append((description, reason))
    return tuple(found)


def provider_name(contract: Contract) -> str | None:
    """The provider name consumer pacts give ``contract`` (its ``x-villa.pactProvider``)."""
    extension = contract.openapi.get("x-villa") or {}
    name = extension.get("pactProvider") if isinstance(extension, dict) else None
    return str(name) if name else None


def pact_files(contracts: Contracts, contract: Contract, pact_dir: Path | None = None) -> list[Path]:
    """The pact files (in ``pact_dir``, by default ``contracts/pacts``) whose provider is ``contract``."""
    provider = provider_name(contract)
    if provider is None:
        return []
    found = []
    for path in sorted(Path(pact_dir or contracts.pacts_dir).glob("*.json")):
        try:
            named = json.loads(path.read_text(encoding="utf-8")).get("provider", {}).get("name")
        except (OSError, ValueError, AttributeError):
            continue
        if named == provider:
            found.append(path)
    return found


class _StateRelay:
    """A local state-change endpoint for the verifier: forwards each change to the provider's own URL.

    It answers the verifier at once: with the provider's values, or with ``{}`` when the provider
    failed (recorded in ``failures``), so the verifier never retries with back-off; the interaction
    then fails on its own, quickly, and the reason says its state could not be set up.
    """

    def __init__(self, upstream: str, headers: dict[str, str]) -> None:
        self.upstream = upstream
        self.failures: list[str] = []
        relay = self
        client = http_client(timeout=STATE_TIMEOUT, headers=headers)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                answer = b"{}"
                try:
                    response = client.post(relay.upstream, content=body, headers={"content-type": "application/json"})
                    if response.status_code == 200 and isinstance(response.json(), dict):
                        answer = response.content
                    else:
                        relay.failures.append(f"{_state_of(body)}: HTTP {response.status_code} {response.text[:200]}")
                except (httpx.HTTPError, ValueError) as exc:
                    relay.failures.append(f"{_state_of(body)}: {type(exc).__name__}")
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
                return

        self._client = client
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pact-state-relay", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._client.close()


def _state_of(body: bytes) -> str:
    try:
        return str(json.loads(body).get("state") or "(no state)")
    except (ValueError, AttributeError):
        return "(unreadable state change)"


def check_state_change_url(url: str, headers: dict[str, str]) -> None:
    """Raise ``NotAProvider`` unless ``url`` answers a teardown state change as a Pact provider does (200, JSON)."""
    try:
        response = httpx.post(
            url, json={"state": "", "action": "teardown"}, headers=headers, verify=tls_context(), timeout=STATE_TIMEOUT
        )
    except httpx.HTTPError as exc:
        raise NotAProvider(f"the state-change URL {url} does not answer: {type(exc).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise NotAProvider(
            f"{url} is not a Pact state-change URL: a teardown got HTTP {response.status_code}"
            f"{'' if isinstance(body, dict) else ', not a JSON object'}"
            " (give the provider's own with --state-change-url)"
        )


def verify_pacts(
    base_url: str,
    *,
    state_change_url: str | None = None,
    pact_dir: Path | None = None,
    files: list[Path] | None = None,
    admin_token: str | None = None,
) -> VerificationResult:
    """Verify pacts against the provider at ``base_url``.

    Args:
        base_url: the provider, e.g. ``http://127.0.0.1:8080``.
        state_change_url: where provider states are set up; ``{base_url}/__admin/provider-states`` by default.
        pact_dir: the pact files to verify (all of them); ``contracts/pacts`` by default.
        files: verify exactly these files instead.
        admin_token: the mock's admin token (sent to the state-change URL), if it has one.

    Returns:
        The verification result (``ok`` False when an interaction failed).

    Raises:
        FileNotFoundError: there is no pact file to verify.
        NotAProvider: the state-change URL does not set up provider states.

    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    pact_dir = pact_dir or load().pacts_dir
    files = sorted(Path(pact_dir).glob("*.json")) if files is None else files
    if not files:
        raise FileNotFoundError(f"no pact files in {pact_dir}; run the consumer suite (pytest suites/pact) first")
    upstream = state_change_url or base_url.rstrip("/") + STATE_CHANGE_PATH
    headers = {"X-Villa-Admin-Token": admin_token} if admin_token else {}
    check_state_change_url(upstream, headers)
    groups: dict[str, list[Path]] = {}
    for path in files:
        groups.setdefault(_provider_of(path), []).append(path)
    relay = _StateRelay(upstream, headers)
    ok, results, outputs = True, [], []
    try:
        # One verifier per provider: a pact names the API it is for (x-villa.pactProvider).
        for provider, group in sorted(groups.items()):
            verifier = Verifier(provider, host=urlsplit(base_url).hostname).add_transport(url=base_url)
            verifier.set_coloured_output(enabled=False)
            verifier.set_request_timeout(REQUEST_TIMEOUT_MS)
            verifier.state_handler(relay.url, body=True, teardown=True)
            for path in group:
                verifier.add_source(path)
            try:
                verifier.verify()
            except RuntimeError:
                ok = False
            results.append(verifier.results)
            outputs.append(verifier.output(strip_ansi=True))
    finally:
        relay.close()
    merged = {
        "interactionResults": [i for r in results for i in r.get("interactionResults", [])],
        "errors": [e for r in results for e in r.get("errors", [])],
    }
    failed = _failures(merged, relay.failures)
    interactions = tuple(
        str(i.get("interactionDescription") or i.get("description", "?")) for i in merged["interactionResults"]
    )
    return VerificationResult(
        ok=ok and not failed,
        interactions=interactions,
        failed=failed,
        output="\n".join(outputs),
        state_failures=tuple(relay.failures),
    )


def _provider_of(path: Path) -> str:
    try:
        named = json.loads(path.read_text(encoding="utf-8")).get("provider", {}).get("name")
    except (OSError, ValueError, AttributeError):
        named = None
    return str(named) if named else PROVIDER


def interactions_of(files: list[Path], contracts: Contracts) -> dict[str, tuple[str, int | None]]:
    """Each interaction's operation (matched by method and path in ``contracts``) and expected status."""
    found: dict[str, tuple[str, int | None]] = {}
    for path in files:
        for interaction in json.loads(path.read_text(encoding="utf-8")).get("interactions", []):
            request, response = interaction.get("request") or {}, interaction.get("response") or {}
            operation = contracts.match(str(request.get("method", "GET")), str(request.get("path", "")))
            status = response.get("status")
            found[str(interaction.get("description"))] = (
                operation.operation_id if operation is not None else f"{request.get('method')} {request.get('path')}",
                status if isinstance(status, int) else None,
            )
    return found
