"""Categorical columns: integer codes learned on the training rows, 0 for the unseen.

Code ``i + 1`` stands for the i-th most frequent training category and 0 for a value never
seen in training (the model embeds the codes, `fullcycle.models.embeddings`); a missing cell
is its own category when the training rows had missing cells. Values are compared as text,
so 3 and "3" are one category across files. A column with more distinct values than half
its rows looks like an identifier and is dropped with a note.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

# A text column with more distinct values than this share of rows (and > 50 of them) looks
# like an identifier or free text: it cannot generalize as a category, so it is dropped.
IDENTIFIER_SHARE = 0.5
# Categories beyond the most frequent MAX_CATEGORIES share the "unknown" code.
MAX_CATEGORIES = 1000
# The category a missing cell becomes.
MISSING = "<missing>"


@dataclass
class CategoricalColumn:
    name: str
    categories: list[str]  # code i+1 for categories[i]; 0 = unknown / unseen

    def lookup(self) -> dict[str, int]:
        """Category text → code."""
        return {c: i + 1 for i, c in enumerate(self.categories)}


def fit_categorical(name: str, column: pd.Series
                    ) -> tuple[CategoricalColumn | None, str | None, list[str]]:
    """(the fitted column, or None with why it is dropped, and the notes about it)."""
    text = as_text(column)
    counts = text.value_counts(dropna=True)
    if len(counts) <= 1 and not text.isna().any():
        return None, "constant", [f"column '{name}' is constant in training rows: dropped"]
    if len(counts) > 50 and len(counts) > IDENTIFIER_SHARE * text.notna().sum():
        return None, "identifier", [f"column '{name}' has {len(counts)} distinct text values "
                                    "(an identifier or free text?): dropped"]
    categories = [str(c) for c in counts.index[:MAX_CATEGORIES]]
    if text.isna().any():
        categories.append(MISSING)
    notes = ([f"column '{name}': only the {MAX_CATEGORIES} most frequent categories kept"]
             if len(counts) > MAX_CATEGORIES else [])
    return CategoricalColumn(name=name, categories=categories), None, notes


def as_text(column: pd.Series) -> pd.Series:
    """Categories compared as text, so 3 and "3" are one category across files."""
    text = column.astype("object").where(column.notna(), None)
    return text.map(lambda v: None if v is None else canonical(v))


def canonical(value: object) -> str:
    """One cell's category text: integral floats without ".0", surrounding spaces removed."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
