"""What a baseline outputs, in the format `fullcycle.metrics` scores: the training prior
(the input-independent floor), a constant per row, class probabilities of a fitted model."""

from __future__ import annotations

from typing import Any

import numpy as np


def class_probabilities(model: Any, X: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, n_classes) probabilities; classes the model never saw get probability 0."""
    proba = np.zeros((len(X), n_classes))
    proba[:, model.classes_.astype(int)] = model.predict_proba(X)
    return proba


def constant_outputs(value: np.ndarray, n: int) -> np.ndarray:
    """`value` (a number, or one row of probabilities) repeated for `n` rows."""
    return np.broadcast_to(value, (n, *np.shape(value))).copy()


def prior_outputs(task: str, y: np.ndarray, n_classes: int) -> np.ndarray:
    """What the input-independent predictor outputs: prior probabilities or the mean."""
    if task == "regression":
        return np.asarray(y.mean())
    if task == "binary":
        return np.asarray(y.mean())
    if task == "multiclass":
        return np.bincount(y.astype(int), minlength=n_classes) / len(y)
    known = ~np.isnan(y)
    counts = known.sum(axis=0)
    return np.where(known, y, 0.0).sum(axis=0) / np.maximum(counts, 1)  # unknown label: 0
