"""Fixtures of the Pact suite: one ``Pact`` per test, merged and normalised into ``--pact-dir``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pact import Pact

from suites.pact.pacts import (
    CONSUMER,
    LINEITEMS_PROVIDER,
    MOBILE_CONSUMER,
    PROVIDER,
    SHOP_CONSUMER,
    SHOP_PROVIDER,
    normalise_dir,
)
from villa_contracts.contract import load

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--pact-dir`` (where the pact files are written)."""
    parser.addoption(
        "--pact-dir",
        default=str(load().pacts_dir),
        help="directory the pact files are written to (default: contracts/pacts)",
    )


@pytest.fixture(scope="session")
def pact_dir(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A scratch directory the tests merge into; normalised into ``--pact-dir`` at the end."""
    scratch = tmp_path_factory.mktemp("pacts")
    yield scratch
    normalise_dir(scratch, Path(str(request.config.getoption("--pact-dir"))))


@pytest.fixture
def pact(pact_dir: Path) -> Iterator[Pact]:
    """A fresh V4 ``Pact`` (pact-python locks a pact once served), written out after the test."""
    pact = Pact(CONSUMER, PROVIDER).with_specification("V4")
    yield pact
    pact.write_file(pact_dir, overwrite=False)


@pytest.fixture
def shop_pact(pact_dir: Path) -> Iterator[Pact]:
    """A fresh V4 ``Pact`` of the storefront (``ShopClient``) with the shop API."""
    pact = Pact(SHOP_CONSUMER, SHOP_PROVIDER).with_specification("V4")
    yield pact
    pact.write_file(pact_dir, overwrite=False)


@pytest.fixture
def mobile_pact(pact_dir: Path) -> Iterator[Pact]:
    """A fresh V4 ``Pact`` of the mobile app with the line-item order API (seed 004)."""
    pact = Pact(MOBILE_CONSUMER, LINEITEMS_PROVIDER).with_specification("V4")
    yield pact
    pact.write_file(pact_dir, overwrite=False)
