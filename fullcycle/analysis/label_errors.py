"""Suspected label errors by confident learning (cleanlab), from out-of-fold probabilities.

The seeds' "incorrectly labelled data" step: before deciding whether relabelling is worth
it, find the examples whose given label disagrees confidently with what a model predicts
for them. Confident learning (Northcutt et al., 2021) needs probabilities the model
produced *without* training on the example: dev-set predictions of a model fit on the
training split qualify as they are; for any other rows compute them out of fold with
:func:`out_of_fold_proba`. Flagged rows are candidates for a person to review, not verdicts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class LabelIssue:
    """One suspected label error: the row, its given label, and what the model believes."""

    row: int
    given_label: str
    suggested_label: str
    label_quality: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def out_of_fold_proba(
    X: np.ndarray, y: np.ndarray, *, folds: int = 5, seed: int = 0, model: Any = None
) -> np.ndarray:
    """Predicted class probabilities for every row from a model that never saw that row.

    ``y`` holds class codes 0..C-1. The default model is a standardized logistic regression,
    the linear baseline the recipe already trains; pass any scikit-learn classifier with
    ``predict_proba`` instead. The folds are stratified and capped by the smallest class.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(y)
    smallest = int(np.bincount(y.astype(int)).min())
    n_splits = max(2, min(folds, smallest))
    estimator = model or make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return cross_val_predict(estimator, np.asarray(X), y, cv=cv, method="predict_proba")


def find_label_issues(
    labels: np.ndarray,
    proba: np.ndarray,
    rows: np.ndarray,
    classes: list[str],
    *,
    limit: int | None = None,
) -> list[LabelIssue]:
    """Rows whose label looks wrong, most suspicious first.

    ``labels`` are class codes, ``proba`` the (n, C) out-of-fold probabilities, ``rows`` the
    0-based row numbers in the input file reported for each example. Ranked by cleanlab's
    self-confidence (the probability the model gives the given label, lowest first).
    """
    from cleanlab.filter import find_label_issues as _cleanlab_find
    from cleanlab.rank import get_label_quality_scores

    labels = np.asarray(labels).astype(int)
    proba = np.asarray(proba, dtype=float)
    present = np.unique(labels)
    # cleanlab estimates per-class noise rates; it needs every class to appear at least
    # once among the labels, which a small dev set cannot always promise.
    if len(present) < 2 or len(present) < proba.shape[1] or len(labels) < 2 * proba.shape[1]:
        return []
    ranked = _cleanlab_find(labels, proba, return_indices_ranked_by="self_confidence", n_jobs=1)
    quality = get_label_quality_scores(labels, proba, method="self_confidence")
    if limit is not None:
        ranked = ranked[:limit]
    suggested = proba.argmax(axis=1)
    return [
        LabelIssue(
            row=int(rows[i]),
            given_label=str(classes[labels[i]]),
            suggested_label=str(classes[suggested[i]]),
            label_quality=float(quality[i]),
        )
        for i in ranked
    ]
