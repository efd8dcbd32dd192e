"""Postman collections generated from the contracts, Newman to run them, and a check of a team's own collection.

``contracts/postman/`` holds one collection (v2.1) per backend API contract and two environments
(the local mock, a dev template); ``villa-contracts postman export`` writes them and a test fails
when they differ from a fresh export by one byte. They are never edited by hand.
"""

from __future__ import annotations

from villa_contracts.postman._collection import (
    DEV_ENVIRONMENT,
    MOCK_ENVIRONMENT,
    build_collection,
    build_environments,
    collection_file,
    export,
    generate,
    stale,
)
from villa_contracts.postman._schema import draft07

__all__ = [
    "DEV_ENVIRONMENT",
    "MOCK_ENVIRONMENT",
    "build_collection",
    "build_environments",
    "collection_file",
    "draft07",
    "export",
    "generate",
    "stale",
]
