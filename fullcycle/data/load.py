"""Load a table (CSV, Parquet, or a pandas DataFrame) and validate it at the door.

Everything a user can get wrong about the file itself — it is missing, empty, not a table,
malformed — ends here as a `FullcycleError` that names the file and the fix.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

TableSource = str | Path | pd.DataFrame | np.ndarray | Mapping | list

_PARQUET = {".parquet", ".pq"}
_CSV = {".csv", ".tsv", ".txt", ".gz", ".bz2", ".zip", ".xz"}


def load_table(source: TableSource, *, name: str = "data") -> pd.DataFrame:
    """Return the table as a DataFrame with a fresh 0..n-1 index.

    `source` may be a path to a CSV (any delimiter pandas sniffs: comma, tab, semicolon)
    or Parquet file, a folder of Parquet files (rows in file-name order), a DataFrame
    (copied, never modified), a 2-D NumPy array (columns named "0", "1", ... as
    `pd.DataFrame(array)` names them, so ``target=0`` is the first), or rows as dicts (one
    dict, or a list of them: what a JSON request holds).
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
    elif isinstance(source, Mapping) or (isinstance(source, list) and source
                                         and all(isinstance(r, Mapping) for r in source)):
        frame = _records(source, name)  # one row as a dict, or a list of them (JSON rows)
        label = f"the {name}"
    elif isinstance(source, str | Path):
        path = Path(source)
        label = str(path)
        frame = _read_file(path)
    else:
        raise FullcycleError(
            f"cannot read the {name} from a {type(source).__name__}; give a path to a CSV or "
            "Parquet file, a pandas DataFrame, a 2-D NumPy array, or rows as dicts"
        )
    if frame.shape[0] == 0:
        raise FullcycleError(f"{label} has no rows; give a file with a header and data rows")
    if frame.shape[1] == 0:
        raise FullcycleError(f"{label} has no columns; give a file with a header row")
    notes = loading_notes(frame)
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated:
        raise FullcycleError(
            f"{label} has duplicate column names {duplicated}; rename them so each is unique"
        )
    frame = frame.reset_index(drop=True)
    frame.attrs[NOTES] = notes
    return frame


def _records(rows: Mapping | list[Mapping], name: str) -> pd.DataFrame:
    rows = [rows] if isinstance(rows, Mapping) else rows
    if any(isinstance(v, list | tuple | dict) for r in rows for v in r.values()):
        raise FullcycleError(f"each row of the {name} must map a column name to one value, "
                             "e.g. {'age': 41, 'city': 'Lyon'}")
    return pd.DataFrame.from_records(rows)


def _read_file(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise FullcycleError(f"file not found: {path}; check the path")
    if path.is_dir():
        files = parquet_files(path)
        if not files:
            raise FullcycleError(f"{path} is a folder without .parquet files; give a CSV or "
                                 "Parquet file, or a folder of Parquet files")
        return pd.concat([_read_parquet(f) for f in files], ignore_index=True)
    if path.stat().st_size == 0:
        raise FullcycleError(f"{path} is empty; give a file with a header and data rows")
    suffix = path.suffix.lower()
    if suffix in _PARQUET:
        return _read_parquet(path)
    if suffix not in _CSV:
        raise FullcycleError(
            f"{path} has an unknown extension '{suffix}'; give a .csv or .parquet file"
        )
    return _read_csv(path)


def parquet_files(folder: Path) -> list[Path]:
    """The Parquet files under a folder, in name order: the order of the table's rows."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in _PARQUET)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a bad file
        raise FullcycleError(
            f"{path} is not a readable Parquet file ({_short(exc)}); re-export it"
        ) from None


def _read_csv(path: Path) -> pd.DataFrame:
    sep = _sniff_separator(path)
    try:
        frame = pd.read_csv(path, sep=sep, skipinitialspace=True, low_memory=False)
        if sep != ",":
            comma = _decimal_comma_columns(frame)
            if comma:
                thousands = "." if any(
                    frame[c].astype(str).str.contains(_GROUPED).any() for c in comma) else None
                frame = pd.read_csv(path, sep=sep, skipinitialspace=True, low_memory=False,
                                    decimal=",", thousands=thousands)
                frame.attrs[NOTES] = [
                    f"{path.name}: {sep!r}-separated with a decimal comma (a European "
                    f"export): read {len(comma)} column(s) as numbers ({', '.join(comma[:5])})"
                ]
        return frame
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


# "1,5", "-0,25", "1.234,5": numbers written with a decimal comma (and "." grouping)
_DECIMAL_COMMA = re.compile(r"^\s*[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?\s*$")
_GROUPED = re.compile(r"\d\.\d{3}(?:,|$)")
NOTES = "fullcycle_notes"  # DataFrame.attrs key: what loading noticed, for Prepared.notes
_DECIMAL_SHARE = 0.9


def _decimal_comma_columns(frame: pd.DataFrame) -> list[str]:
    """Text columns that are numbers written with a decimal comma (some cell has a comma)."""
    found = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            continue
        values = column.dropna().astype(str).iloc[:1000]
        if values.empty or not values.str.contains(",").any():
            continue
        if values.str.match(_DECIMAL_COMMA).mean() >= _DECIMAL_SHARE:
            found.append(str(name))
    return found


def loading_notes(frame: pd.DataFrame) -> list[str]:
    """What `load_table` noticed about the file (e.g. a decimal comma), for the user."""
    return list(frame.attrs.get(NOTES, []))


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
