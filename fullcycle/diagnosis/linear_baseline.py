"""The linear baseline: scikit-learn ``LogisticRegression`` (one per label for multilabel)
or ``Ridge``, on standardized numeric columns and one-hot categorical codes. A network that
cannot beat it is not using its nonlinearity (seed 001, step 2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from fullcycle.diagnosis.baseline_outputs import (
    class_probabilities,
    constant_outputs,
    prior_outputs,
)

# lbfgs iterations: enough for a floor on standardized inputs; a baseline need not converge
# to the last digit, and an unconverged fit only makes the floor a little higher.
_MAX_ITER = 200


def linear_features(n_features: int, categorical: Sequence[tuple[int, int]]) -> Any:
    """Standardize numeric columns, one-hot the categorical codes (unseen codes → zeros)."""
    cat_cols = [col for col, _ in categorical]
    numeric = [col for col in range(n_features) if col not in set(cat_cols)]
    if not cat_cols:
        return StandardScaler()
    encoder = OneHotEncoder(
        categories=[np.arange(card, dtype=np.float64) for _, card in categorical],
        handle_unknown="ignore",
    )
    return ColumnTransformer([("categorical", encoder, cat_cols),
                              ("numeric", StandardScaler(), numeric)])


def fit_linear(task: str, X: np.ndarray, y: np.ndarray, n_classes: int,
                categorical: Sequence[tuple[int, int]], seed: int) -> Any:
    """Fit the linear baseline; returns a function X -> outputs in the metric's format."""
    def features() -> Any:
        return linear_features(X.shape[1], categorical)

    if task == "regression":
        model = make_pipeline(features(), Ridge(alpha=1.0))
        model.fit(X, y)
        return model.predict
    if task in ("binary", "multiclass"):
        if len(np.unique(y)) < 2:  # one class only: the best linear model is the constant
            prior = prior_outputs(task, y, n_classes)
            return lambda Z: constant_outputs(prior, len(Z))
        model = make_pipeline(features(), LogisticRegression(max_iter=_MAX_ITER,
                                                             random_state=seed))
        model.fit(X, y.astype(int))
        if task == "binary":
            return lambda Z: class_probabilities(model, Z, 2)[:, 1]
        return lambda Z: class_probabilities(model, Z, n_classes)
    # multilabel: one logistic regression per label, on the rows where that label is known
    per_label: list[Any] = []
    for j in range(y.shape[1]):
        known = ~np.isnan(y[:, j])
        labels = y[known, j].astype(int)
        if len(np.unique(labels)) < 2:
            p = float(labels.mean()) if len(labels) else 0.0
            per_label.append(lambda Z, p=p: np.full(len(Z), p))
            continue
        model = make_pipeline(features(), LogisticRegression(max_iter=_MAX_ITER,
                                                             random_state=seed))
        model.fit(X[known], labels)
        per_label.append(lambda Z, m=model: m.predict_proba(Z)[:, 1])
    return lambda Z: np.column_stack([predict(Z) for predict in per_label])
