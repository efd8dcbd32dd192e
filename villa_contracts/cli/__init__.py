"""The ``villa-contracts`` command line.

Exit codes: 0 success, 1 the target or document broke the contract, 2 the command could not run
(usage, config, connection, files), 3 the run was interrupted (INCOMPLETE). Every error a user can
cause is one line on stderr saying what to do; a traceback appears only with ``--debug``, or for a
real bug of this tool, which then says how to report it.
"""

from __future__ import annotations

import typing as _typing

from villa_contracts._lazy import lazy_names

# The group and its entry point are imported on first use (PEP 562): the ``villa`` command, a subpackage
# of this one, starts without loading every ``villa-contracts`` command.
_PUBLIC = ("cli", "main", "REPORT_A_BUG", "EPILOG", "COMMANDS")

if _typing.TYPE_CHECKING:
    from villa_contracts.cli._root import COMMANDS, EPILOG, REPORT_A_BUG, cli, main


__getattr__ = lazy_names(__name__, dict.fromkeys(_PUBLIC, "villa_contracts.cli._root"), globals())


__all__ = ["COMMANDS", "EPILOG", "REPORT_A_BUG", "cli", "main"]
