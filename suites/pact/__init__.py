"""Pact consumer suite (the Villa SDK's interactions) and provider verification of the pacts."""

from __future__ import annotations
