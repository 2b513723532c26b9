"""``errors.csv``: the dev errors for a person to tag, written without losing earlier tags.

Tagging errors by hand is the slow, valuable part of error analysis (seed 003), so a new
analysis never throws tags away: when the file already holds tags, it is first copied to
``errors.tagged.csv`` (``errors.tagged-2.csv``, … if taken) and the tags of rows that are
still errors are carried over into the new file.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from fullcycle.analysis.ceiling import split_tags
from fullcycle.rundir import atomic_write_text

if TYPE_CHECKING:
    from fullcycle.analysis.errors import ErrorAnalysis


def existing_tags(path: Path) -> dict[int, str]:
    """Row number -> tags cell of an errors.csv, for the rows that have tags."""
    try:
        frame = pd.read_csv(path, usecols=["row", "tags"], dtype={"tags": "string"})
    except (OSError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return {}
    return {
        int(row): str(cell)
        for row, cell in zip(frame["row"], frame["tags"], strict=True)
        if split_tags(cell) and pd.notna(row)
    }


def _free_name(path: Path) -> Path:
    candidate, n = path.with_name(f"{path.stem}.tagged.csv"), 2
    while candidate.exists():
        candidate, n = path.with_name(f"{path.stem}.tagged-{n}.csv"), n + 1
    return candidate


def write_errors_csv(analysis: ErrorAnalysis, path: str | Path) -> Path:
    """Write the dev errors, worst first, with a ``tags`` column for a person to fill.

    Columns: ``row`` (0-based row in the input file), the true and predicted value, the loss,
    the input columns (``input.<name>``) so the example can be judged, and ``tags`` (empty,
    or carried over, see module docstring). Written atomically (temporary file + rename).
    """
    path = Path(path)
    table = analysis.error_examples.drop(columns=["is_error"]).copy()
    previous = existing_tags(path) if path.exists() else {}
    if previous:
        shutil.copy2(path, _free_name(path))
    table["tags"] = [previous.get(int(row), "") for row in table["row"]]
    atomic_write_text(path, table.to_csv(index=False))
    return path
