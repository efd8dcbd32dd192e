"""``villa-contracts validate``: check documents against the contract's schemas."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

SCHEMAS = {"order": ("villa", "Order")}
"""Document kinds: kind → (contract, components.schemas name)."""

EPILOG = """\b
Examples:
  villa-contracts validate order goodSample.json extraCol.json
  cat order.json | villa-contracts validate order -

\b
Exit codes:
  0  every document is valid
  1  a document breaks the contract (every violation is printed with its JSON pointer)
  2  a file could not be read or is not JSON (every file is still checked)
"""


@click.command("validate", epilog=EPILOG)
@click.argument("kind", type=click.Choice(sorted(SCHEMAS)))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
def command(kind: str, files: tuple[str, ...]) -> None:
    """Validate JSON documents of KIND (e.g. an order) and print every violation with its JSON pointer.

    FILES are paths, or - for standard input; a UTF-8 byte order mark is accepted.
    """
    from villa_contracts.contract import ContractValidator, load

    contract_name, schema = SCHEMAS[kind]
    validator = ContractValidator(load()[contract_name])
    invalid = unreadable = 0
    for name in files:
        try:
            raw = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
            document = json.loads(raw.decode("utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            unreadable += 1
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            if isinstance(exc, RecursionError):
                reason = "nested too deeply for the JSON parser (over ~1,000 levels of arrays and objects)"
            click.echo(f"{'stdin' if name == '-' else name}: cannot read JSON: {reason}", err=True)
            continue
        shown = "stdin" if name == "-" else name
        violations = validator.document(schema, document)
        if violations:
            invalid += 1
            click.echo(f"{shown}: INVALID {kind}, {len(violations)} violation(s)")
            for v in violations:
                click.echo(f"  {v.pointer or '/'}: {v.message}")
        else:
            click.echo(f"{shown}: valid {kind}")
    sys.exit(2 if unreadable else 1 if invalid else 0)
