"""The strong simple baseline for text: TF-IDF and a logistic regression (scikit-learn).

PRODUCT.md step 2: "a strong simple model (... TF-IDF + logistic regression for text)".
Word uni- and bigrams with sublinear term frequency (1 + log tf) and words seen in at least
two training texts, one vectorizer per text column, fitted on the training rows only; the
table's other columns (standardized, categories one-hot) sit beside them. The regularization
strength C is chosen by 3-fold cross-validation on the training rows (never on dev), from a
short log-scale ladder (seed 000: search on a log scale): an untuned C can put the floor
several points too high, and a floor that is too easy to beat says nothing.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold, StratifiedKFold

from fullcycle.errors import FullcycleError
from fullcycle.metrics import metric_error

C_LADDER = (0.5, 2.0, 8.0)  # inverse regularization, one factor of 4 apart
ALPHA_LADDER = (0.3, 1.0, 3.0)  # Ridge
MIN_ROWS_FOR_CV = 150
MAX_ITER = 1000


def _texts(frame: Any, name: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise FullcycleError(f"texts[{name!r}] must be a DataFrame of the text columns")
    frame = frame.reset_index(drop=True)
    return frame.astype("object").where(frame.notna(), "")


class _Design:
    """TF-IDF per text column beside the scaled table columns; fitted on training rows."""

    def __init__(self, categorical: Sequence[tuple[int, int]]) -> None:
        self.categorical = categorical
        self.vectorizers: list[TfidfVectorizer] = []
        self.table: Any = None

    def fit(self, texts: pd.DataFrame, X: np.ndarray) -> _Design:
        from fullcycle.diagnosis.linear_baseline import linear_features

        for column in texts.columns:
            vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2,
                                         strip_accents="unicode", max_features=200_000)
            try:
                vectorizer.fit(texts[column].astype(str))
            except ValueError:  # too few words for min_df=2: keep every word
                vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
                vectorizer.fit(texts[column].astype(str).where(texts[column] != "", "_"))
            self.vectorizers.append(vectorizer)
        if X.shape[1]:
            self.table = linear_features(X.shape[1], self.categorical).fit(X)
        return self

    def transform(self, texts: pd.DataFrame, X: np.ndarray) -> sparse.csr_matrix:
        parts = [v.transform(texts[c].astype(str))
                 for v, c in zip(self.vectorizers, texts.columns, strict=True)]
        if self.table is not None:
            parts.append(sparse.csr_matrix(self.table.transform(X)))
        return sparse.hstack(parts).tocsr()


def _fit(task: str, Z: sparse.csr_matrix, y: np.ndarray, strength: float, seed: int) -> Any:
    if task == "regression":
        return Ridge(alpha=strength).fit(Z, y)
    return LogisticRegression(C=strength, max_iter=MAX_ITER, random_state=seed).fit(Z, y)


def _outputs(task: str, model: Any, Z: sparse.csr_matrix, n_classes: int) -> np.ndarray:
    if task == "regression":
        return model.predict(Z)
    proba = np.zeros((Z.shape[0], n_classes))
    proba[:, model.classes_.astype(int)] = model.predict_proba(Z)
    return proba[:, 1] if task == "binary" else proba


def _choose_strength(task: str, metric: str, texts: pd.DataFrame, X: np.ndarray,
                     y: np.ndarray, n_classes: int, categorical: Sequence[tuple[int, int]],
                     seed: int) -> float:
    ladder = ALPHA_LADDER if task == "regression" else C_LADDER
    if len(y) < MIN_ROWS_FOR_CV:
        return ladder[1]
    folds = (KFold(3, shuffle=True, random_state=seed) if task == "regression"
             else StratifiedKFold(3, shuffle=True, random_state=seed))
    scores = {s: [] for s in ladder}
    for fit_idx, val_idx in folds.split(X, y if task != "regression" else None):
        design = _Design(categorical).fit(texts.iloc[fit_idx], X[fit_idx])
        Z_fit = design.transform(texts.iloc[fit_idx], X[fit_idx])
        Z_val = design.transform(texts.iloc[val_idx], X[val_idx])
        for strength in ladder:
            model = _fit(task, Z_fit, y[fit_idx], strength, seed)
            scores[strength].append(metric_error(metric, task, _outputs(
                task, model, Z_val, n_classes), y[val_idx], from_logits=False))
    return min(ladder, key=lambda s: float(np.mean(scores[s])))


def tfidf_baseline(task: str, metric: str, texts: dict[str, Any],
                   train: tuple[np.ndarray, np.ndarray],
                   held_out: list[tuple[str, np.ndarray, np.ndarray]], rows: np.ndarray,
                   n_classes: int, categorical: Sequence[tuple[int, int]], seed: int
                   ) -> dict[str, Any]:
    """The ``tfidf`` row of `fullcycle.diagnosis.baselines.baselines` (same fields)."""
    if task not in ("regression", "binary", "multiclass"):
        raise FullcycleError(f"the TF-IDF baseline handles regression, binary and multiclass "
                             f"targets, not {task}; fit one per target")
    start = time.perf_counter()
    X_tr, y_tr = train
    text_tr = _texts(texts.get("train"), "train").iloc[rows].reset_index(drop=True)
    X_fit, y_fit = X_tr[rows], y_tr[rows] if task == "regression" else y_tr[rows].astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        strength = _choose_strength(task, metric, text_tr, X_fit, y_fit, n_classes,
                                    categorical, seed)
        design = _Design(categorical).fit(text_tr, X_fit)
        model = _fit(task, design.transform(text_tr, X_fit), y_fit, strength, seed)
    out: dict[str, Any] = {"train_error": metric_error(
        metric, task, _outputs(task, model, design.transform(text_tr, X_fit), n_classes),
        y_fit, from_logits=False), "train_dev_error": None}
    for key, X_h, y_h in held_out:
        split = key.removesuffix("_error")
        text_h = _texts(texts.get(split), split)
        out[key] = metric_error(metric, task, _outputs(task, model, design.transform(
            text_h, X_h), n_classes), y_h, from_logits=False)
    name = "Ridge" if task == "regression" else "LogisticRegression"
    knob = "alpha" if task == "regression" else "C"
    vocabulary = sum(len(v.vocabulary_) for v in design.vectorizers)
    return {
        "name": "tfidf", "model": f"TF-IDF + {name}", "metric": metric, **out,
        "train_rows": len(rows), "fit_seconds": time.perf_counter() - start,
        "description": (f"TF-IDF of word 1-2-grams ({vocabulary} terms from "
                        f"{', '.join(map(str, text_tr.columns))})"
                        + (" beside the table's columns" if X_tr.shape[1] else "")
                        + f", scikit-learn {name}, {knob} {strength:g} by 3-fold CV on train"),
    }
