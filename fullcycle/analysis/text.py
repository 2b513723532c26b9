"""Error analysis for free text: slices by length, and the texts beside the worst rows.

A text column cannot be sliced by value (every text is its own value), so it is sliced by
its length in words instead: seed 003's error analysis asks where the errors concentrate,
and "the model fails on very short (or very long, truncated) texts" is the first question
for a text model. The highest-loss rows and the suspected label errors carry their text,
so a person reads what the model read when judging them; errors.csv has it as
``input.<column>`` for tagging.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from fullcycle.data.text import is_blank


def word_count(column: pd.Series) -> pd.Series:
    """Words per text (whitespace-separated); NaN for a missing text, 0 for an empty one."""
    return column.map(lambda v: float("nan") if v is None or (isinstance(v, float) and v != v)
                      else (0.0 if is_blank(v) else float(len(str(v).split()))))


def slice_frame(features: pd.DataFrame, text_columns: Sequence[str]) -> pd.DataFrame:
    """`features` with each text column replaced by ``<column> words`` (its word count)."""
    if not text_columns:
        return features
    frame = features.drop(columns=[c for c in text_columns if c in features.columns])
    for name in text_columns:
        if name in features.columns:
            frame[f"{name} words"] = word_count(features[name]).to_numpy()
    return frame


def add_texts(records: list[dict[str, Any]], examples: pd.DataFrame,
              text_columns: Sequence[str]) -> list[dict[str, Any]]:
    """Each record (with a ``row``) gains ``input.<column>``: the text of that row."""
    if not text_columns or not records or "row" not in examples:
        return records
    columns = [f"input.{c}" for c in text_columns if f"input.{c}" in examples.columns]
    lookup = examples.set_index("row")[columns]
    lookup = lookup[~lookup.index.duplicated()]
    out = []
    for record in records:
        row = record.get("row")
        extra = {}
        if row in lookup.index:
            extra = {c: (None if pd.isna(v) else str(v))
                     for c, v in lookup.loc[row].items()}
        out.append({**record, **extra})
    return out
