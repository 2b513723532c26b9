"""The live data a monitor run compares with the training reference.

Either a table (CSV / Parquet, as every command reads them) or what `fullcycle serve`
logged: one served-row log file (``.jsonl``) or the log directory of a server (every
worker's file). The columns the model reads must all be there; anything else (the target,
identifiers) is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from fullcycle.data.load import load_table
from fullcycle.errors import FullcycleError
from fullcycle.serve.served_log import read_served

LOG_SUFFIXES = {".jsonl", ".ndjson"}


@dataclass
class LiveData:
    """Live rows and where they came from."""

    frame: pd.DataFrame
    source: str  # "table" or "served log"
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def is_served_log(path: Path) -> bool:
    return path.is_dir() or path.suffix.lower() in LOG_SUFFIXES


def load_live(source: str | Path, columns: list[str], *, last: int | None = None) -> LiveData:
    """Read ``source`` and check it holds every column in ``columns``."""
    if last is not None and last < 1:
        raise FullcycleError("--last must be 1 or more rows")
    path = Path(source)
    if is_served_log(path):
        served = read_served(path, last=last)
        if not served.rows:
            raise FullcycleError(f"{path} holds no served rows yet; send requests to "
                                 f"fullcycle serve first, or give a CSV/Parquet file")
        live = LiveData(pd.DataFrame.from_records(served.rows), "served log",
                        [str(f) for f in served.files])
        if served.torn:
            live.notes.append(f"{served.torn} torn last line(s) skipped (a server stopped "
                              f"mid-write)")
        if served.skipped:
            live.notes.append(f"{served.skipped} unreadable line(s) skipped")
    else:
        frame = load_table(path, name="live data")
        live = LiveData(frame.iloc[-last:] if last else frame, "table", [str(path)])
    absent = [c for c in columns if c not in live.frame.columns]
    if len(absent) == len(columns):
        raise FullcycleError(
            f"{path} has none of the columns the model reads ({_shown(columns)}); give live "
            f"data with the training columns"
        )
    if absent:
        raise FullcycleError(
            f"{path} lacks column(s) {_shown(absent)} that the model reads; give live data "
            f"with every training column"
        )
    return live


def _shown(columns: list[str], limit: int = 8) -> str:
    text = ", ".join(columns[:limit])
    return text + (f", … ({len(columns)} in all)" if len(columns) > limit else "")
