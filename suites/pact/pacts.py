"""Pact file helpers: names, stable serialisation, and the pact-to-OpenAPI mapping."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONSUMER = "villa-backend-sdk"
PROVIDER = "villa-backend"
SHOP_CONSUMER = "villa-storefront"
SHOP_PROVIDER = "villa-shop"
MOBILE_CONSUMER = "villa-mobile"
LINEITEMS_PROVIDER = "villa-lineitems"


def normalise(doc: dict[str, Any]) -> dict[str, Any]:
    """Make a pact stable: interactions sorted by description, per-run keys and tool versions dropped."""
    interactions = sorted(doc.get("interactions", []), key=lambda i: (i.get("description", ""), json.dumps(i)))
    for interaction in interactions:
        # pact-ffi stores a per-run key; identical interactions must serialise identically.
        interaction.pop("key", None)
    metadata = dict(doc.get("metadata", {}))
    metadata.pop("pactRust", None)
    return {**doc, "interactions": interactions, "metadata": metadata}


def dumps(doc: dict[str, Any]) -> str:
    """Serialise a pact with sorted keys and a final newline."""
    return json.dumps(normalise(doc), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def normalise_dir(source: Path, target: Path) -> list[Path]:
    """Write every pact of ``source`` into ``target`` normalised; return the files written."""
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for path in sorted(source.glob("*.json")):
        out = target / path.name
        text = dumps(json.loads(path.read_text(encoding="utf-8")))
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
        written.append(out)
    return written
