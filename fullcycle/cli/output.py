"""How commands talk to people and to scripts.

People get Rich tables and progress; scripts pass ``--json`` and get exactly one JSON
document on stdout (nothing else is printed there), or ``--quiet`` and get nothing but errors.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

# Human output goes to stdout; with --json it is silenced so stdout holds one document.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN/inf become null, numpy scalars become Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if hasattr(value, "tolist") and callable(value.tolist):
        return _clean(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(obj: Any) -> str:
    """Serialize for --json output and run files (NaN -> null, numpy -> Python)."""
    return json.dumps(_clean(obj), indent=2, sort_keys=False)


def emit_json(obj: Any) -> None:
    """Print the one JSON document of a --json command."""
    sys.stdout.write(to_json(obj) + "\n")
    sys.stdout.flush()


def quiet_console(quiet: bool, as_json: bool) -> Console:
    """The console a command writes human output to (silent under --quiet or --json)."""
    if quiet or as_json:
        return Console(quiet=True)
    return console
