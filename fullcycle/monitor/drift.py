"""Data drift of each column against the training reference, with Evidently's defaults.

Which test a column gets depends on the size of the reference (the training split the
bundle was fitted on) and on the column (Evidently's `get_default_stattest`)::

    reference ≤ 1,000 rows:
        numeric, > 5 distinct values      two-sample Kolmogorov–Smirnov, drift at p < 0.05
        categorical, or ≤ 5 values        chi-square (> 2 values) or two-proportion z-test
                                          (≤ 2 values), drift at p < 0.05
    reference > 1,000 rows:
        numeric, > 5 distinct values      Wasserstein distance / std of the reference, ≥ 0.1
        categorical, or ≤ 5 values        Jensen–Shannon distance, drift at ≥ 0.1

Small references get tests (their p-values account for sampling noise); large ones get
distances, because with enough rows a test finds every negligible difference significant.
The data set drifts when the share of drifted columns reaches ``drift_share`` (0.5).
Missing and non-finite values are left out of each test, as Evidently does; their shares
are reported beside it. SciPy computes every statistic. Free-text columns get Evidently's
domain classifier instead (`fullcycle.monitor.text_drift`): drift when a classifier tells
live texts from the reference by ROC AUC.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial import distance

SMALL_REFERENCE_ROWS = 1000
FEW_VALUES = 5
P_VALUE_THRESHOLD = 0.05
DISTANCE_THRESHOLD = 0.1
DRIFT_SHARE = 0.5
# Evidently's floor on the reference spread, so a near-constant column cannot divide by ~0.
MIN_STD = 0.001


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict: the method, its score, the threshold and what they mean."""

    column: str
    kind: str  # numeric | categorical | text | picture
    method: str  # ks | chisquare | z | wasserstein | jensenshannon | domain_classifier | none
    statistic: float | None  # the p-value of a test, the distance, or the ROC AUC
    threshold: float
    drift: bool
    # "p_value" (drift below the threshold), "distance" (at or above it), "auc" (above it)
    score: str
    reference_count: int
    live_count: int
    missing_reference: float
    missing_live: float
    distinct_values: int
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class DriftReport:
    """Every column's drift and the data set's verdict."""

    columns: list[ColumnDrift]
    share: float
    drifted: bool
    drift_share: float
    reference_rows: int
    reference_sample: int
    live_rows: int
    notes: list[str] = field(default_factory=list)

    @property
    def drifted_columns(self) -> list[str]:
        return [c.column for c in self.columns if c.drift]

    def to_dict(self) -> dict[str, Any]:
        return {"drifted": self.drifted, "share": self.share, "drift_share": self.drift_share,
                "drifted_columns": self.drifted_columns,
                "reference_rows": self.reference_rows,
                "reference_sample": self.reference_sample, "live_rows": self.live_rows,
                "columns": [c.to_dict() for c in self.columns], "notes": self.notes}


def choose_method(kind: str, distinct_values: int, reference_rows: int) -> str:
    """Evidently's default test for a column (see the table in the module docstring)."""
    few = kind == "categorical" or distinct_values <= FEW_VALUES
    if reference_rows <= SMALL_REFERENCE_ROWS:
        if not few:
            return "ks"
        return "chisquare" if distinct_values > 2 else "z"
    return "jensenshannon" if few else "wasserstein"


def column_drift(name: str, reference: pd.Series, live: pd.Series, kind: str, *,
                 reference_rows: int) -> ColumnDrift:
    """Drift of one column; ``reference_rows`` (the training split's size) picks the method."""
    if kind == "text":
        return _text_column_drift(name, reference, live, reference_rows=reference_rows)
    if kind == "picture":  # thumbnails: a domain classifier (monitor/picture_drift)
        from fullcycle.monitor.picture_drift import picture_column_drift

        return picture_column_drift(name, reference, live, reference_rows=reference_rows)
    ref, cur = _present(reference, kind), _present(live, kind)
    missing = (_share_missing(reference, len(ref)), _share_missing(live, len(cur)))
    distinct = int(pd.concat([ref, cur]).nunique())
    method = choose_method(kind, distinct, reference_rows)
    is_test = method in ("ks", "chisquare", "z")
    threshold = P_VALUE_THRESHOLD if is_test else DISTANCE_THRESHOLD
    common = dict(column=name, kind=kind, threshold=threshold,
                  score="p_value" if is_test else "distance", reference_count=len(ref),
                  live_count=len(cur), missing_reference=missing[0], missing_live=missing[1],
                  distinct_values=distinct)
    if len(ref) == 0 or len(cur) == 0:
        side = "live data" if len(cur) == 0 else "the reference"
        # Every value missing where the other side has values is itself a shift.
        return ColumnDrift(method="none", statistic=None, drift=(len(ref) == 0) != (len(cur) == 0),
                           note=f"no values in {side}", **common)  # type: ignore[arg-type]
    value = _STATISTICS[method](ref, cur)
    drift = value < threshold if is_test else value >= threshold
    return ColumnDrift(method=method, statistic=float(value), drift=bool(drift),
                       **common)  # type: ignore[arg-type]


def _text_column_drift(name: str, reference: pd.Series, live: pd.Series, *,
                       reference_rows: int) -> ColumnDrift:
    """A text column's verdict from the domain classifier (see `text_drift`)."""
    from fullcycle.monitor.text_drift import LARGE_REFERENCE_AUC, MIN_TEXTS, text_drift

    ref, cur = reference[reference.notna()], live[live.notna()]
    common = dict(column=name, kind="text", score="auc", reference_count=len(ref),
                  live_count=len(cur), missing_reference=_share_missing(reference, len(ref)),
                  missing_live=_share_missing(live, len(cur)),
                  distinct_values=int(pd.concat([ref, cur]).map(str).nunique()))
    verdict = text_drift(ref, cur, reference_rows=reference_rows)
    if verdict is None:
        side = "live data" if len(cur) < MIN_TEXTS else "the reference"
        if len(ref) and len(cur):
            note = f"too few texts in {side} for the domain classifier (under {MIN_TEXTS})"
        else:
            note = f"no values in {side}"
        return ColumnDrift(method="none", statistic=None, threshold=LARGE_REFERENCE_AUC,
                           drift=(len(ref) == 0) != (len(cur) == 0), note=note,
                           **common)  # type: ignore[arg-type]
    return ColumnDrift(method="domain_classifier", statistic=verdict.auc,
                       threshold=verdict.threshold, drift=verdict.drift, note=verdict.note,
                       **common)  # type: ignore[arg-type]


def dataset_drift(reference: pd.DataFrame, live: pd.DataFrame, kinds: dict[str, str], *,
                  reference_rows: int, drift_share: float = DRIFT_SHARE) -> DriftReport:
    """Drift of every column in ``kinds`` (column -> numeric | categorical | text)."""
    columns = [column_drift(name, reference[name], live[name], kind,
                            reference_rows=reference_rows) for name, kind in kinds.items()]
    share = sum(c.drift for c in columns) / len(columns) if columns else 0.0
    return DriftReport(columns=columns, share=share, drifted=bool(columns) and
                       share >= drift_share, drift_share=drift_share,
                       reference_rows=reference_rows, reference_sample=len(reference),
                       live_rows=len(live))


def _present(values: pd.Series, kind: str) -> pd.Series:
    """The values a test sees: numbers as float64 without NaN/inf, categories as text."""
    if kind == "numeric":
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return numbers[np.isfinite(numbers.to_numpy())].reset_index(drop=True)
    present = values[values.notna()]
    return present.map(str).reset_index(drop=True)


def _share_missing(values: pd.Series, present: int) -> float:
    return 1.0 - present / len(values) if len(values) else 0.0


def _ks(ref: pd.Series, cur: pd.Series) -> float:
    return float(stats.ks_2samp(ref.to_numpy(), cur.to_numpy()).pvalue)


def _counts(ref: pd.Series, cur: pd.Series) -> np.ndarray:
    """A 2 × k table of counts over the categories either side holds."""
    keys = sorted(set(ref.unique()) | set(cur.unique()), key=str)
    a, b = ref.value_counts(), cur.value_counts()
    return np.array([[a.get(k, 0) for k in keys], [b.get(k, 0) for k in keys]], dtype=float)


def _chisquare(ref: pd.Series, cur: pd.Series) -> float:
    # A two-sample test of homogeneity: the reference is a sample too. (Evidently's
    # goodness-of-fit form treats reference shares as exact, which doubles the false-alarm
    # rate when both sides have ~1,000 rows, and divides by zero on a new category.)
    table = _counts(ref, cur)
    if table.shape[1] < 2:
        return 1.0
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def _z(ref: pd.Series, cur: pd.Series) -> float:
    """Two-proportion z-test (pooled), two-sided: Evidently's test for binary columns."""
    table = _counts(ref, cur)
    if table.shape[1] < 2:
        return 1.0
    n1, n2 = table.sum(axis=1)
    p1, p2 = table[0, 0] / n1, table[1, 0] / n2
    pooled = (table[0, 0] + table[1, 0]) / (n1 + n2)
    spread = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return float(2 * stats.norm.sf(abs(p1 - p2) / spread))


def _wasserstein(ref: pd.Series, cur: pd.Series) -> float:
    spread = max(float(np.std(ref.to_numpy())), MIN_STD)
    return float(stats.wasserstein_distance(ref.to_numpy(), cur.to_numpy()) / spread)


def _jensenshannon(ref: pd.Series, cur: pd.Series) -> float:
    table = _counts(ref, cur)
    shares = table / table.sum(axis=1, keepdims=True)
    return float(distance.jensenshannon(shares[0], shares[1]))


_STATISTICS = {"ks": _ks, "chisquare": _chisquare, "z": _z, "wasserstein": _wasserstein,
               "jensenshannon": _jensenshannon}
