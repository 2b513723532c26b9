"""A short profile of a table: what each column holds, what is missing, how the target looks."""

from __future__ import annotations

import pandas as pd


def profile_table(frame: pd.DataFrame, targets: list[str], limit: int = 200) -> dict:
    """Per-column kind, missing share and distinct count; the first `limit` columns listed."""
    columns = []
    for name in frame.columns[:limit]:
        column = frame[name]
        kind = ("numeric" if pd.api.types.is_numeric_dtype(column) else "text")
        entry = {
            "name": str(name),
            "kind": kind,
            "missing": int(column.isna().sum()),
            "missing_share": float(column.isna().mean()),
            "distinct": int(column.nunique(dropna=True)),
            "role": "target" if name in targets else "feature",
        }
        if kind == "numeric" and column.notna().any():
            entry.update(min=float(column.min()), max=float(column.max()),
                         mean=float(column.mean()))
        columns.append(entry)
    return {"n_rows": int(len(frame)), "n_columns": int(frame.shape[1]), "columns": columns,
            "missing_cells": int(frame.isna().sum().sum())}
