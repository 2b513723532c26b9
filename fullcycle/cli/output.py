"""How commands talk to people and to scripts.

People get Rich tables and progress; scripts pass ``--json`` and get exactly one JSON
document on stdout (nothing else is printed there), or ``--quiet`` and get nothing but errors.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console

from fullcycle.jsonutil import dumps

# Human output goes to stdout; with --json it is silenced so stdout holds one document.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def to_json(obj: Any) -> str:
    """Serialize for --json output and run files (NaN -> null, numpy -> Python)."""
    return dumps(obj)


def emit_json(obj: Any) -> None:
    """Print the one JSON document of a --json command."""
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


def quiet_console(quiet: bool, as_json: bool) -> Console:
    """The console a command writes human output to (silent under --quiet or --json)."""
    if quiet or as_json:
        return Console(quiet=True)
    return console
