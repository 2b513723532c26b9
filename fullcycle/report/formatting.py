"""How the report and the monitor page write numbers: errors, shares, nested values."""

from __future__ import annotations

import math
from typing import Any

import jinja2

CLASSIFICATION = ("binary", "multiclass", "multilabel")


def _not_a_number(value: Any) -> str | None:
    """How a value that is not a finite number shows (``—`` when missing), else None."""
    if value is None or isinstance(value, jinja2.Undefined):
        return "—"
    if isinstance(value, float) and not math.isfinite(value):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return None


def format_error(value: Any, task: str | None) -> str:
    """An error as people read it: a percentage for classification, a number for regression."""
    shown = _not_a_number(value)
    if shown is not None:
        return shown
    if task in CLASSIFICATION:
        return f"{100 * value:.2f}%"
    return f"{value:.4g}"


def format_number(value: Any, digits: int = 4) -> str:
    """A plain number with ``digits`` significant digits; ``—`` for missing."""
    shown = _not_a_number(value)
    if shown is not None:
        return shown
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}g}"


def format_compact(value: Any, digits: int = 3) -> str:
    """A nested value on one line: ``train 360, dev 120`` rather than a Python repr."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_compact(v, digits)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(format_compact(v, digits) for v in value)
    return format_number(value, digits)


def format_share(value: Any) -> str:
    """A fraction as a percentage with one decimal; ``—`` for missing."""
    if value is None or not isinstance(value, int | float):
        return "—"
    return f"{100 * value:.1f}%"
