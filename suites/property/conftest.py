"""Options and fixtures of the property suite: ``--base-url``, ``--seed``, ``--max-examples`` and a run context.

The target is ``--base-url`` or ``VILLA_BASE_URL`` (the suite is skipped without one: the repo's own
tests run it on the in-process mock), resolved as every command resolves it
(``villa_contracts.target.resolve_target``): on a villa-contracts mock the suite provisions its own
two users; elsewhere it logs in ``VILLA_TEST_USERNAME``/``_PASSWORD`` and ``VILLA_TEST_USERNAME_2``/
``_PASSWORD_2`` with the ``VILLA_COGNITO_*`` settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from suites.context import RunContext
from villa_contracts.target import resolve_target


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the suite's options (another suite's conftest may have added ``--base-url`` already)."""
    for name, default, text in (
        ("--base-url", None, "Villa backend to run the suites against (default: $VILLA_BASE_URL)"),
        ("--seed", "0", "seed of every generator (same seed, same requests)"),
        ("--max-examples", "20", "generated examples per operation"),
        ("--rate-limit", None, "at most this many requests per second"),
    ):
        try:
            parser.addoption(name, default=default, help=text)
        except ValueError:
            pass


@pytest.fixture(scope="session")
def context(pytestconfig: pytest.Config) -> Iterator[RunContext]:
    """The run: the backend under test with two logged-in accounts, and its rate-limited client."""
    url = pytestconfig.getoption("--base-url") or os.environ.get("VILLA_BASE_URL", "").strip()
    if not url:
        pytest.skip("the property suite runs against a target: pass --base-url URL or set VILLA_BASE_URL")
    rate = pytestconfig.getoption("--rate-limit")
    target = resolve_target(
        str(url),
        seed=int(pytestconfig.getoption("--seed")),
        max_examples=int(pytestconfig.getoption("--max-examples")),
        rate_limit=float(rate) if rate else None,
        admin_token=os.environ.get("VILLA_MOCK_ADMIN_TOKEN") or None,
    )
    with RunContext(target) as run:
        yield run
