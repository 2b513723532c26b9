"""Error by slice: which values of which input columns the model gets wrong most.

A slice is one value of a categorical column, or one quantile bin of a numeric column
("age in (34.0, 51.0]"). The seeds' error analysis asks where the errors come from so that
the fix with the largest payoff goes first; a slice "hurts" by the errors it holds beyond
what the overall error rate predicts for its size (``excess_errors``), so a large slice a
little worse than average can outrank a tiny slice that is always wrong.

On a small dev set most slices differ from the average by chance alone, so each
classification slice carries ``p_value``: the one-sided binomial probability of seeing at
least its errors in that many rows if the slice were no worse than the whole dev set.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

# Numeric columns with at most this many distinct values read better as categories
# (a 0/1 flag, a 1..5 rating) than as quantile bins.
MAX_DISCRETE_VALUES = 10


@dataclass(frozen=True)
class Slice:
    """One slice of the dev set and how much of the error it holds."""

    column: str
    value: str
    count: int
    errors: float
    error_rate: float
    share_of_errors: float
    excess_errors: float
    p_value: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _bin_labels(values: pd.Series, n_bins: int) -> pd.Series:
    """Quantile bins labelled ``[0.001, 0.291]``, ``(0.291, 0.54]`` with 4 significant digits.

    pandas widens the lowest edge by 0.1% so the minimum falls inside; the label shows the
    real minimum instead, closed on the left, as a person would write it.
    """
    values = values.astype(float)
    values = values.where(np.isfinite(values))  # ±inf cannot bound a bin: it joins "missing"
    bins = pd.qcut(values, q=n_bins, duplicates="drop")
    names = {}
    for i, interval in enumerate(bins.cat.categories):
        if i == 0:
            names[interval] = f"[{values.min():.4g}, {interval.right:.4g}]"
        else:
            names[interval] = f"({interval.left:.4g}, {interval.right:.4g}]"
    return bins.astype(object).map(lambda b: names.get(b, b))


def _slice_labels(values: pd.Series, n_bins: int) -> pd.Series:
    """Map a column to slice labels: its values, or quantile bins for a numeric column."""
    is_numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if is_numeric:
        values = values.where(np.isfinite(values.astype(float)))  # ±inf counts as missing
    if is_numeric and values.nunique(dropna=True) > MAX_DISCRETE_VALUES:
        labels = _bin_labels(values, n_bins)
    else:
        labels = values.astype(object).map(lambda v: v if pd.isna(v) else str(v))
    return labels.where(values.notna(), "missing").astype(str)


def error_by_slice(
    features: pd.DataFrame,
    example_error: np.ndarray,
    *,
    n_bins: int = 4,
    min_count: int = 5,
    max_values: int = 50,
) -> list[Slice]:
    """Rank slices of ``features`` by how much of ``example_error`` they hold.

    ``example_error`` is one number per row: 0/1 misclassified for classification, the
    absolute error for regression. Slices with fewer than ``min_count`` rows are left out
    (their error rate is noise); columns with more than ``max_values`` distinct values after
    binning (identifiers, free text) are skipped. Returns the slices that hurt most first.
    """
    error = np.asarray(example_error, dtype=float)
    if len(features) != len(error):
        raise ValueError(f"features have {len(features)} rows but errors {len(error)}")
    total = float(error.sum())
    overall_rate = total / len(error) if len(error) else 0.0
    is_binary = bool(np.isin(error, (0.0, 1.0)).all())
    slices: list[Slice] = []
    for column in features.columns:
        labels = _slice_labels(features[column].reset_index(drop=True), n_bins)
        if labels.nunique() > max_values or labels.nunique() < 2:
            continue
        frame = pd.DataFrame({"label": labels, "error": error})
        grouped = frame.groupby("label", sort=False)["error"].agg(["count", "sum"])
        for value, (count, errors) in grouped.iterrows():
            if count < min_count:
                continue
            slices.append(
                Slice(
                    column=str(column),
                    value=str(value),
                    count=int(count),
                    errors=float(errors),
                    error_rate=float(errors / count),
                    share_of_errors=float(errors / total) if total > 0 else 0.0,
                    excess_errors=float(errors - count * overall_rate),
                    p_value=_p_value(int(errors), int(count), overall_rate) if is_binary else None,
                )
            )
    slices.sort(key=lambda s: (-s.excess_errors, -s.error_rate, s.column, s.value))
    return slices


def _p_value(errors: int, count: int, rate: float) -> float:
    """P(at least ``errors`` errors in ``count`` rows | error rate ``rate``), one-sided."""
    from scipy.stats import binom

    return float(binom.sf(errors - 1, count, rate))
