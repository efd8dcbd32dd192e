"""The executable business rules of the Villa backend: pure Python, no I/O."""

from __future__ import annotations
