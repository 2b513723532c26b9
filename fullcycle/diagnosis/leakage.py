"""Columns that alone predict the target almost perfectly: the classic sign of a leak.

A column computed from the target, or recorded only after it is known (a refund flag for
"will churn", a diagnosis code for "has the disease"), makes every model look perfect on
the splits and useless in production. No recipe move can see it: the errors are simply
low. So, beside the baselines, each input column gets its own small decision tree (fit on
train, scored on dev); a column whose tree alone reaches a near-perfect dev score is named,
with the fix (`--ignore COLUMN`) if it is a leak (one line per input column, whether its
values or its missing-value flag give it away). It is a warning, not a verdict — a
genuinely decisive feature looks the same — so nothing is dropped.

Near-perfect means: classification dev error at most `CLASSIFICATION_ERROR` (1%) where the
majority class errs on at least `MIN_MAJORITY_ERROR` (5%) of the rows; regression R² on dev
of at least `MIN_R2` (0.995). scikit-learn fits the trees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CLASSIFICATION_ERROR = 0.01
MIN_MAJORITY_ERROR = 0.05
MIN_R2 = 0.995
MAX_ROWS = 5000  # per split: enough for a depth-4 tree to be near-perfect if it can be
MAX_COLUMNS = 200
TREE_DEPTH = 4  # classification: a few thresholds separate a leaked column's classes
# regression: an R² of 0.995 needs a fine step function of the column (256 leaves)
REGRESSION_DEPTH, MIN_LEAF = 8, 5


@dataclass(frozen=True)
class Leak:
    """One column that predicts the target alone, and how well."""

    column: str  # the feature (a column, its missing-value flag, a date's part)
    source: str  # the input column it comes from: what --ignore takes
    score: float  # dev error (classification) or dev R² (regression)
    reference: float  # the majority class's dev error, or R² 0 of the mean

    def line(self, task: str) -> str:
        what = (f"dev error {self.score:.4f} against {self.reference:.4f} for the majority "
                "class" if task != "regression" else f"dev R² {self.score:.4f}")
        shown = (f"'{self.source}'" if self.column == self.source
                 else f"'{self.source}' (as {self.column})")
        return (f"column {shown} alone predicts the target almost perfectly ({what}): "
                "if it is computed from the target or known only after it, it is a leak — "
                f"leave it out with --ignore {self.source}")


def single_column_leaks(task: str, x_train: np.ndarray, y_train: np.ndarray,
                        x_dev: np.ndarray, y_dev: np.ndarray, names: Sequence[str],
                        sources: Sequence[str] | None = None, *, seed: int = 0) -> list[Leak]:
    """Columns of the preprocessed matrices (named by `names`, from the input columns
    `sources`) that alone predict a binary, multiclass or regression target almost perfectly
    on dev; none for other tasks or too few dev rows to tell (fewer than 100)."""
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    if task not in ("binary", "multiclass", "regression") or len(y_dev) < 100:
        return []
    rng = np.random.default_rng(seed)
    x_train, y_train = _sample(x_train, y_train, rng)
    x_dev, y_dev = _sample(x_dev, y_dev, rng)
    y_train, y_dev = np.asarray(y_train).ravel(), np.asarray(y_dev).ravel()
    if task == "regression":
        spread = float(np.var(y_dev))
        if spread == 0.0:
            return []
        make = lambda: DecisionTreeRegressor(max_depth=REGRESSION_DEPTH,  # noqa: E731
                                             min_samples_leaf=MIN_LEAF, random_state=seed)
    else:
        _, counts = np.unique(y_dev, return_counts=True)
        majority_error = 1.0 - counts.max() / len(y_dev)
        if majority_error < MIN_MAJORITY_ERROR:
            return []
        make = lambda: DecisionTreeClassifier(max_depth=TREE_DEPTH, random_state=seed)  # noqa: E731
    sources = list(sources) if sources is not None else list(names)
    leaks = []
    for j, name in enumerate(list(names)[:MAX_COLUMNS]):
        if any(leak.source == sources[j] for leak in leaks):
            continue  # one warning per input column (its values and its missing flag)
        column_train, column_dev = x_train[:, j:j + 1], x_dev[:, j:j + 1]
        if np.ptp(column_train) == 0:
            continue
        predicted = make().fit(column_train, y_train).predict(column_dev)
        if task == "regression":
            r2 = 1.0 - float(np.mean((predicted - y_dev) ** 2)) / spread
            if r2 >= MIN_R2:
                leaks.append(Leak(name, sources[j], r2, 0.0))
        else:
            error = float(np.mean(predicted != y_dev))
            if error <= CLASSIFICATION_ERROR:
                leaks.append(Leak(name, sources[j], error, majority_error))
    return leaks


def _sample(x: np.ndarray, y: np.ndarray, rng: np.random.Generator
            ) -> tuple[np.ndarray, np.ndarray]:
    x = np.nan_to_num(np.asarray(x, dtype=np.float64), nan=-1e9)
    if len(x) <= MAX_ROWS:
        return x, np.asarray(y)
    keep = np.sort(rng.choice(len(x), MAX_ROWS, replace=False))
    return x[keep], np.asarray(y)[keep]
