"""What a column holds: numbers, dates or categories — and whether it is a row id.

Decided once on the training rows (`fullcycle.data.preprocess.Preprocessor.fit`). A column
of text that is mostly numbers is numeric with some malformed cells, not categorical; one
of date strings is dates (`fullcycle.data.dates`); free text is found before this
(`fullcycle.data.text.looks_like_text`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fullcycle.data.dates import date_format

# A text column whose non-missing values parse as numbers at least this often is numeric
# with a few malformed cells (coerced to missing, with a note), not a categorical column;
# so is one that is mostly numbers whose other cells are a few repeated codes ("unknown",
# "N/A", "?"): missing-value markers, not categories.
NUMERIC_PARSE_SHARE = 0.8
MOSTLY_NUMERIC_SHARE = 0.5
MAX_MISSING_CODES = 5
# An integer column unique per row and increasing along the file, over at least this many
# training rows, is a row identifier: a model could only learn the row order from it.
MIN_ROWS_FOR_IDENTIFIER = 20


def column_kind(column: pd.Series) -> tuple[str, pd.Series]:
    """'numeric' (with the parsed values), 'date' or 'categorical'."""
    if pd.api.types.is_bool_dtype(column):
        return "numeric", column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        return "numeric", column.astype("float64")
    parsed = pd.to_numeric(column, errors="coerce")
    present, numbers = int(column.notna().sum()), int(parsed.notna().sum())
    if present and numbers >= NUMERIC_PARSE_SHARE * present:
        return "numeric", parsed
    if present and numbers >= MOSTLY_NUMERIC_SHARE * present:
        codes = column[column.notna() & parsed.isna()].astype(str).str.strip().nunique()
        if codes <= MAX_MISSING_CODES:
            return "numeric", parsed
    if date_format(column) is not None:
        return "date", column
    return "categorical", column


def is_row_identifier(column: pd.Series) -> bool:
    """An integer column, never missing, unique per row and monotonic along the rows."""
    if (len(column) < MIN_ROWS_FOR_IDENTIFIER or not pd.api.types.is_integer_dtype(column)
            or pd.api.types.is_bool_dtype(column) or column.isna().any()):
        return False
    steps = np.diff(column.to_numpy(dtype=np.float64))
    return bool((steps > 0).all() or (steps < 0).all())
