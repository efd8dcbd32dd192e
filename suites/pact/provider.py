"""Provider verification: replay the pacts against a running provider with pact-python's ``Verifier``.

Example:
    >>> result = verify_pacts("http://127.0.0.1:8080")  # doctest: +SKIP
    >>> result.ok, result.failed  # doctest: +SKIP
    (True, ())

"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pact import Verifier

from suites.pact.pacts import PROVIDER
from villa_contracts.contract import Contract, Contracts, load

STATE_CHANGE_PATH = "/__admin/provider-states"


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """What the verifier found.

    Attributes:
        ok: every interaction held.
        interactions: the descriptions of the interactions verified.
        failed: ``(description, reason)`` of each one that did not hold.
        output: the verifier's own report (plain text).

    """

    ok: bool
    interactions: tuple[str, ...]
    failed: tuple[tuple[str, str], ...]
    output: str


def _failures(results: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    found: list[tuple[str, str]] = []
    for error in results.get("errors", []):
        description = str(error.get("interaction", "?"))
        mismatch = error.get("mismatch", {})
        reason = mismatch.get("message") if isinstance(mismatch, dict) else None
        if not reason and isinstance(mismatch, dict):
            reason = "; ".join(str(m.get("mismatch", m)) for m in mismatch.get("mismatches", [])) or str(mismatch)
        found.append((description, str(reason or mismatch)))
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


def verify_pacts(
    base_url: str,
    *,
    state_change_url: str | None = None,
    pact_dir: Path | None = None,
    files: list[Path] | None = None,
) -> VerificationResult:
    """Verify pacts against the provider at ``base_url``.

    Args:
        base_url: the provider, e.g. ``http://127.0.0.1:8080``.
        state_change_url: where provider states are set up; ``{base_url}/__admin/provider-states`` by default.
        pact_dir: the pact files to verify (all of them); ``contracts/pacts`` by default.
        files: verify exactly these files instead.

    Returns:
        The verification result (``ok`` False when an interaction failed).

    Raises:
        FileNotFoundError: there is no pact file to verify.

    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    pact_dir = pact_dir or load().pacts_dir
    files = sorted(Path(pact_dir).glob("*.json")) if files is None else files
    if not files:
        raise FileNotFoundError(f"no pact files in {pact_dir}; run the consumer suite (pytest suites/pact) first")
    verifier = Verifier(PROVIDER, host=urlsplit(base_url).hostname).add_transport(url=base_url)
    verifier.set_coloured_output(enabled=False)
    verifier.state_handler(state_change_url or base_url.rstrip("/") + STATE_CHANGE_PATH, body=True, teardown=True)
    for path in files:
        verifier.add_source(path)
    ok = True
    try:
        verifier.verify()
    except RuntimeError:
        ok = False
    results = verifier.results
    failed = _failures(results)
    interactions = tuple(
        str(i.get("interactionDescription") or i.get("description", "?")) for i in results.get("interactionResults", [])
    )
    return VerificationResult(
        ok=ok and not failed, interactions=interactions, failed=failed, output=verifier.output(strip_ansi=True)
    )
