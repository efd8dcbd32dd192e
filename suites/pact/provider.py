"""Provider verification: replay the pacts against a running provider with pact-python's ``Verifier``.

Example:
    >>> result = verify_pacts("http://127.0.0.1:8080")  # doctest: +SKIP
    >>> result.ok, result.failed  # doctest: +SKIP
    (True, ())

"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pact import Verifier

from suites.pact.pacts import PROVIDER

DEFAULT_PACT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "pacts"
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


def verify_pacts(
    base_url: str,
    *,
    state_change_url: str | None = None,
    pact_dir: Path | None = None,
) -> VerificationResult:
    """Verify every pact in ``pact_dir`` against the provider at ``base_url``.

    Args:
        base_url: the provider, e.g. ``http://127.0.0.1:8080``.
        state_change_url: where provider states are set up; ``{base_url}/__admin/provider-states`` by default.
        pact_dir: the pact files; ``contracts/pacts`` by default.

    Returns:
        The verification result (``ok`` False when an interaction failed).

    Raises:
        FileNotFoundError: ``pact_dir`` holds no pact file.

    """
    os.environ.setdefault("PACT_DO_NOT_TRACK", "true")
    pact_dir = pact_dir or DEFAULT_PACT_DIR
    files = sorted(Path(pact_dir).glob("*.json"))
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
