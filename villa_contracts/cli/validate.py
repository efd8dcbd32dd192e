"""``villa-contracts validate``: check documents against the contract's schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

SCHEMAS = {"order": "Order"}


@click.command("validate")
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)))
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def command(kind: str, files: tuple[Path, ...]) -> None:
    """Validate JSON documents of KIND (e.g. an order) and print every violation with its JSON pointer.

    Exit 0 when every file is valid, 1 when one is not, 2 when a file cannot be read.
    """
    from villa_contracts.contract import ContractValidator, load

    validator = ContractValidator(load()["villa"])
    invalid = 0
    for path in files:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            click.echo(f"{path}: cannot read JSON: {exc}", err=True)
            sys.exit(2)
        violations = validator.document(SCHEMAS[kind], document)
        if violations:
            invalid += 1
            click.echo(f"{path}: INVALID {kind}, {len(violations)} violation(s)")
            for v in violations:
                click.echo(f"  {v.pointer or '/'}: {v.message}")
        else:
            click.echo(f"{path}: valid {kind}")
    sys.exit(1 if invalid else 0)
