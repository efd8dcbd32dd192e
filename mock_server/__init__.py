"""Mock Villa backend."""

from __future__ import annotations
