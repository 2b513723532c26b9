"""The boosted-trees baseline: scikit-learn ``HistGradientBoostingClassifier`` /
``Regressor`` (one per label for multilabel), categorical codes as native categories,
seeded, with early stopping — the strong simple model for tables (PRODUCT.md, step 2),
whose dev error bounds the Bayes error from above when no human-level error is given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from fullcycle.diagnosis.baseline_outputs import (
    class_probabilities,
    constant_outputs,
    prior_outputs,
)

#: The boosted trees are fitted on at most this many training rows (a seeded sample): about
#: 12 s single-threaded at 20 features on a busy 2-core machine, within a 5-minute budget.
MAX_BOOSTING_ROWS = 100_000
# Boosting rounds at most (learning rate 0.1, scikit-learn's); early stopping on a tenth of
# the fitting rows (10 rounds without improvement) ends most fits well before.
BOOSTING_MAX_ITER = 200
# HistGradientBoosting takes categories below its 255 bins; a column with more categories
# is split on its codes as numbers (codes are ordered by frequency).
MAX_TREE_CATEGORIES = 255


def _fit_trees(options: dict[str, Any], X: np.ndarray, y: np.ndarray, task: str) -> Any:
    """One HistGradientBoosting model; early stopping holds out a tenth of the rows, so it is
    off when that tenth would be under 10 rows or miss a class."""
    if task == "regression":
        return HistGradientBoostingRegressor(**options, early_stopping=len(y) >= 100).fit(X, y)
    labels = y.astype(int)
    stop = len(labels) >= 100 and int(np.bincount(labels)[np.unique(labels)].min()) >= 10
    return HistGradientBoostingClassifier(**options, early_stopping=stop).fit(X, labels)


def fit_boosting(task: str, X: np.ndarray, y: np.ndarray, n_classes: int,
                  categorical: Sequence[tuple[int, int]], seed: int) -> tuple[Any, int]:
    """Fit the boosted-trees baseline; (X -> outputs in the metric's format, rounds run)."""
    mask = np.zeros(X.shape[1], dtype=bool)
    for column, cardinality in categorical:
        mask[column] = cardinality <= MAX_TREE_CATEGORIES
    options = {"categorical_features": mask if mask.any() else None,
               "max_iter": BOOSTING_MAX_ITER, "random_state": seed}
    if task == "regression":
        model = _fit_trees(options, X, y, task)
        return model.predict, int(model.n_iter_)
    if task in ("binary", "multiclass"):
        if len(np.unique(y)) < 2:  # one class only: the best model is the constant
            prior = prior_outputs(task, y, n_classes)
            return (lambda Z: constant_outputs(prior, len(Z))), 0
        model = _fit_trees(options, X, y, task)
        if task == "binary":
            return (lambda Z: class_probabilities(model, Z, 2)[:, 1]), int(model.n_iter_)
        return (lambda Z: class_probabilities(model, Z, n_classes)), int(model.n_iter_)
    # multilabel: one model per label, on the rows where that label is known
    per_label: list[Any] = []
    rounds = 0
    for j in range(y.shape[1]):
        known = ~np.isnan(y[:, j])
        labels = y[known, j]
        if len(np.unique(labels)) < 2:
            p = float(labels.mean()) if len(labels) else 0.0
            per_label.append(lambda Z, p=p: np.full(len(Z), p))
            continue
        model = _fit_trees(options, X[known], labels, "binary")
        rounds = max(rounds, int(model.n_iter_))
        per_label.append(lambda Z, m=model: m.predict_proba(Z)[:, 1])
    return (lambda Z: np.column_stack([predict(Z) for predict in per_label])), rounds
