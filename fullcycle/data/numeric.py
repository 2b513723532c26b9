"""Numeric columns: standardized on training statistics, heavy tails scaled robustly.

Seed 002 ("Normalizing inputs"): use the *training* mean and variance to normalize dev and
test too. Missing cells are imputed with the training median, plus a missing-indicator
column when the training rows had any.

Heavy-tailed columns (a few training rows tens of standard deviations out, as
rooms-per-household on a housing table) are not standardized: their mean and deviation are
set by those few rows, which then dominate a batch's loss and gradients. They get a
quantile-to-normal transform instead (scikit-learn's ``QuantileTransformer(
output_distribution="normal")``, reproduced here so the fitted quantiles are plain JSON
numbers in ``preprocessing.json`` and predicting needs no pickle), with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtri

from fullcycle.errors import FullcycleError

# A numeric column is heavy-tailed when a training value lies beyond HEAVY_TAIL_Z standard
# deviations (a normal sample stays within ~sqrt(2 ln n): 4.4 at 16k rows, 5.3 at a million)
# or its excess kurtosis exceeds HEAVY_TAIL_KURTOSIS (normal 0, exponential 6, Student t(5)
# 6, lognormal(0, 1) 110): one row 50σ out gives 50⁴/n, 390 at 16k rows. On small tables
# the kurtosis fires first: n rows cannot put a value beyond sqrt(n − 1) deviations.
HEAVY_TAIL_Z = 10.0
HEAVY_TAIL_KURTOSIS = 20.0
# Columns with fewer distinct training values are flags or small counts (a rare 0/1 flag
# sits 30σ out) and keep standardization: a quantile map would only rename their levels.
MIN_DISTINCT_FOR_QUANTILES = 10
# scikit-learn's QuantileTransformer defaults: 1000 quantiles, probabilities kept within
# [1e-7, 1 − 1e-7] so values beyond the training range map to ±5.2, never ±inf.
N_QUANTILES = 1000
_BOUNDS = 1e-7


@dataclass
class NumericColumn:
    name: str
    mean: float
    std: float
    median: float
    indicator: bool
    # "standard": (x − mean) / std; "quantile": through `quantiles` (training quantiles at
    # evenly spaced probabilities 0..1) to a standard normal
    scaling: str = "standard"
    quantiles: list[float] | None = None

    def scale(self, values: np.ndarray) -> np.ndarray:
        """Training-fitted scaling of float64 values without NaN."""
        if self.scaling == "quantile" and self.quantiles is not None:
            return quantile_to_normal(values, np.asarray(self.quantiles, dtype=np.float64))
        return (values - self.mean) / self.std


def fit_numeric(name: str, values: pd.Series, raw: pd.Series,
                infinite: int = 0) -> tuple[NumericColumn | None, list[str]]:
    """The column's training statistics (None when it is constant: dropped) and the notes
    to show about it. `values` are the parsed numbers, `raw` the cells as read (to count
    the malformed ones), `infinite` how many infinite cells were turned into missing."""
    notes = []
    observed = values.dropna().to_numpy(dtype=np.float64)
    bad = int(raw.notna().sum() - values.notna().sum()) - infinite
    if bad:
        junk = raw[raw.notna() & values.isna()].astype(str).value_counts().index[:3]
        notes.append(f"column '{name}': {bad} non-numeric cells "
                     f"({', '.join(repr(v) for v in junk)}) treated as missing")
    if observed.size == 0 or np.nanstd(observed) == 0.0 and not values.isna().any():
        notes.append(f"column '{name}' is constant in training rows: dropped")
        return None, notes
    std = float(np.std(observed))
    column = NumericColumn(
        name=name, mean=float(np.mean(observed)), std=std if std > 0 else 1.0,
        median=float(np.median(observed)), indicator=bool(values.isna().any()),
    )
    why = heavy_tail_reason(observed)
    if why:
        column.scaling, column.quantiles = "quantile", fit_quantiles(observed)
        notes.append(f"column '{name}' is heavy-tailed in the training rows ({why}): "
                     "quantile-transformed to a normal instead of standardized")
    return column, notes


def heavy_tail_reason(observed: np.ndarray) -> str | None:
    """Why the training values of a numeric column are heavy-tailed, or None if they are not
    (see HEAVY_TAIL_Z, HEAVY_TAIL_KURTOSIS, MIN_DISTINCT_FOR_QUANTILES)."""
    std = float(np.std(observed))
    if std == 0.0 or len(np.unique(observed)) < MIN_DISTINCT_FOR_QUANTILES:
        return None
    z = (observed - np.mean(observed)) / std
    max_z, kurtosis = float(np.max(np.abs(z))), float(np.mean(z**4) - 3.0)
    if max_z > HEAVY_TAIL_Z or kurtosis > HEAVY_TAIL_KURTOSIS:
        return f"max |z| {max_z:.1f}, excess kurtosis {kurtosis:.1f}"
    return None


def fit_quantiles(observed: np.ndarray, n_quantiles: int = N_QUANTILES) -> list[float]:
    """Training quantiles at ``min(n_quantiles, n)`` evenly spaced probabilities, as
    scikit-learn's QuantileTransformer computes them (made non-decreasing)."""
    references = np.linspace(0.0, 1.0, min(n_quantiles, len(observed)))
    quantiles = np.maximum.accumulate(np.nanpercentile(observed, references * 100))
    return [float(q) for q in quantiles]


def quantile_to_normal(values: np.ndarray, quantiles: np.ndarray) -> np.ndarray:
    """scikit-learn's ``QuantileTransformer(output_distribution="normal")`` transform of one
    column: the empirical CDF (interpolated up and down so tied quantiles map to the middle of
    their plateau), then the standard normal's inverse CDF, clipped at ±5.2."""
    references = np.linspace(0.0, 1.0, len(quantiles))
    prob = 0.5 * (np.interp(values, quantiles, references)
                  - np.interp(-values, -quantiles[::-1], -references[::-1]))
    prob[values - _BOUNDS < quantiles[0]] = 0.0
    prob[values + _BOUNDS > quantiles[-1]] = 1.0
    bound = _BOUNDS - np.spacing(1)
    with np.errstate(divide="ignore"):
        return np.clip(ndtri(prob), ndtri(bound), ndtri(1 - bound))


def parse_number(value: object, name: str) -> float:
    """A numeric cell of a record, parsed as `pd.to_numeric` would (bool counts as 0/1)."""
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise FullcycleError(f"column '{name}' must be numeric but holds {value!r}; fix that "
                             "value or send null") from None


def finite(values: pd.Series) -> pd.Series:
    """±inf is treated as missing: one infinite cell would turn the column's mean (and so
    every standardized value) into NaN."""
    return values.where(np.isfinite(values.to_numpy(dtype=np.float64, na_value=np.nan)))


def to_numeric(column: pd.Series, name: str, strict: bool) -> pd.Series:
    """A column's cells as float64 (missing and infinite as NaN); malformed cells are NaN,
    or with `strict` (predicting) an error naming the column and the fix."""
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        return finite(column.astype("float64"))
    parsed = pd.to_numeric(column, errors="coerce")
    bad = column.notna() & parsed.isna()
    if strict and bad.any():
        example = column[bad].iloc[0]
        raise FullcycleError(
            f"column '{name}' must be numeric but holds {example!r} "
            f"({int(bad.sum())} such values); fix those cells or leave them blank"
        )
    return finite(parsed.astype("float64"))
