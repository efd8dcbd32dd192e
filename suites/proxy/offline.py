"""Check a recording again, offline, against today's contracts (``villa-contracts proxy check DIR``).

Yesterday's traffic judged by a changed contract shows what the change would break, before any
client meets it. The recording's exchanges go through the same judge, checks and reports as live
traffic, in the order they were recorded (the stateful checks see them as they happened). What
the recording redacted is not judged again (``Exchange.redacted``); card data the live answer
showed is known from the recording's notes (``Exchange.card_data``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from suites.proxy.flows import REFUSED_KEY, bare_exchange, metadata_of, seen_exchange
from suites.proxy.judge import TrafficJudge
from suites.proxy.ledger import Ledger
from suites.proxy.session import TrafficSession
from suites.proxy.upstream import parse_upstream

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from pathlib import Path

    from suites.proxy.findings import Finding, Verdict
    from suites.proxy.recording import Recording
    from villa_contracts.contract import Contracts
    from villa_contracts.reports import RunRecord


def recheck(
    recording: Recording,
    contracts: Contracts,
    *,
    names: Sequence[str] = (),
    prices: Mapping[tuple[int, str], int] | None = None,
    run_id: str,
    report_dir: Path | None = None,
    listener: Callable[[Verdict, list[Finding]], None] | None = None,
) -> tuple[RunRecord, dict[str, Path]]:
    """Judge every exchange of ``recording`` and write the reports.

    Args:
        recording: the recording read back (``suites.proxy.recording.read_recording``).
        contracts: the contracts to judge by (today's, or a changed copy).
        names: the contracts to check (every backend API when empty).
        prices: the catalog, when the recorded upstream priced from it.
        run_id: the run's id in its reports.
        report_dir: where the reports go.
        listener: told of each verdict, as live.

    Returns:
        The run's record (its outcome is the verdict) and the report files.
    """
    upstream = str(recording.meta.get("upstream") or "")
    base_path = parse_upstream(upstream)[3] if upstream else ""
    judge = TrafficJudge(contracts, names, prices=prices)
    ledger = Ledger(
        run_id=run_id,
        target=upstream or "(recording)",
        contracts=tuple(judge.selected),
        operations=judge.operations(),
        started_at=time.time(),
    )
    session = TrafficSession(judge, ledger, report_dir=report_dir, listener=listener)
    for flow in recording.flows:
        try:
            refused = metadata_of(flow).get(REFUSED_KEY)
            if not refused:
                exchange, outside = seen_exchange(flow, base_path)
        except Exception as exc:  # a recorded flow it cannot read is still reported, as live (suites.proxy.addon)
            session.unjudged(bare_exchange(flow), f"the check could not read it: {type(exc).__name__}: {exc}"[:300])
            continue
        if refused:
            contract, _, operation = str(refused).partition(".")
            session.refuse(contract, operation, "refused by the prod payments fence when recorded: never forwarded")
            continue
        session.handle(exchange, outside=outside)
    return session.finish()
