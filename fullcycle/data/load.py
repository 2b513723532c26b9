"""Load a table (CSV, Parquet, or a pandas DataFrame) and validate it at the door.

Everything a user can get wrong about the file itself — it is missing, empty, not a table,
malformed — ends here as a `FullcycleError` that names the file and the fix.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

TableSource = str | Path | pd.DataFrame | np.ndarray

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt", ".gz", ".bz2", ".zip", ".xz"}


def load_table(source: TableSource, *, name: str = "data") -> pd.DataFrame:
    """Return the table as a DataFrame with a fresh 0..n-1 index.

    `source` may be a path to a CSV (any delimiter pandas sniffs: comma, tab, semicolon)
    or Parquet file, a DataFrame (copied, never modified) or a 2-D NumPy array (columns
    named "0", "1", ... as `pd.DataFrame(array)` names them, so ``target=0`` is the first).
    `name` is how the table is called in error messages ("data", "dev data").
    """
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        label = f"the {name} DataFrame"
    elif isinstance(source, np.ndarray):
        if source.ndim != 2:
            raise FullcycleError(
                f"the {name} array has {source.ndim} dimension(s); give a 2-D array "
                "(rows, columns), or (X, y) with X 2-D"
            )
        frame = pd.DataFrame(source)
        label = f"the {name} array"
    elif isinstance(source, str | Path):
        path = Path(source)
        label = str(path)
        frame = _read_file(path)
    else:
        raise FullcycleError(
            f"cannot read the {name} from a {type(source).__name__}; give a path to a CSV or "
            "Parquet file, a pandas DataFrame, a 2-D NumPy array, or (X, y)"
        )
    if frame.shape[0] == 0:
        raise FullcycleError(f"{label} has no rows; give a file with a header and data rows")
    if frame.shape[1] == 0:
        raise FullcycleError(f"{label} has no columns; give a file with a header row")
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise FullcycleError(
            f"{label} has duplicate column names {duplicated}; rename them so each is unique"
        )
    return frame.reset_index(drop=True)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FullcycleError(f"file not found: {path}; check the path")
    if path.is_dir():
        raise FullcycleError(f"{path} is a folder; give a CSV or Parquet file")
    if path.stat().st_size == 0:
        raise FullcycleError(f"{path} is empty; give a file with a header and data rows")
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        try:
            return pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise FullcycleError(
                f"{path} is not a readable Parquet file ({_short(exc)}); re-export it"
            ) from None
    if suffix not in _CSV:
        raise FullcycleError(
            f"{path} has an unknown extension '{suffix}'; give a .csv or .parquet file"
        )
    return _read_csv(path)


def _read_csv(path: Path) -> pd.DataFrame:
    sep = _sniff_separator(path)
    try:
        return pd.read_csv(path, sep=sep, skipinitialspace=True, low_memory=False)
    except pd.errors.EmptyDataError:
        raise FullcycleError(
            f"{path} has no data; give a file with a header and data rows"
        ) from None
    except pd.errors.ParserError as exc:
        raise FullcycleError(
            f"{path} is malformed ({_short(exc)}); every row must have as many fields "
            "as the header — fix or remove the bad rows"
        ) from None
    except UnicodeDecodeError:
        raise FullcycleError(f"{path} is not UTF-8 text; save it as UTF-8 CSV") from None
    except (OSError, ValueError) as exc:
        raise FullcycleError(f"{path} could not be read ({_short(exc)})") from None


def _sniff_separator(path: Path) -> str:
    """Comma unless the header clearly uses tab or semicolon (European exports)."""
    if path.suffix.lower() in {".gz", ".bz2", ".zip", ".xz"}:
        return ","
    try:
        with path.open("r", encoding="utf-8", errors="replace", newline="") as handle:
            head = handle.read(8192)
    except OSError:
        return ","
    if "\x00" in head:
        raise FullcycleError(f"{path} looks binary, not CSV text; give a CSV or Parquet file")
    try:
        dialect = csv.Sniffer().sniff(head.split("\n", 1)[0], delimiters=",;\t|")
        return dialect.delimiter
    except csv.Error:
        return ","


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:160] + ("…" if len(text) > 160 else "")
