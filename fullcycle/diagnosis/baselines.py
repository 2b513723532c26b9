"""Simple baselines first: an input-independent predictor, a linear model, boosted trees.

Seed 000 ("build a simple baseline") and seed 003 ("build the initial system quickly, then
iterate"): before any network is trained, two floors are measured on train and dev so that
every later number can be read against them:

- ``majority`` (classification) / ``mean`` (regression): predicts the training class
  frequencies or the training mean whatever the input. A network that cannot beat it has
  learned nothing from the inputs.
- ``linear``: scikit-learn ``LogisticRegression`` (one per label for multilabel) or
  ``Ridge``, on standardized numeric columns and one-hot categorical codes. A network that
  cannot beat it is not using its nonlinearity.
- ``gradient_boosting``: scikit-learn ``HistGradientBoostingClassifier`` / ``Regressor``
  (one per label for multilabel), categorical codes as native categories, seeded, with early
  stopping. The strong simple model for tables (PRODUCT.md, step 2): its dev error is an
  error known to be achievable, so the best baseline bounds the Bayes error from above
  when no human-level error is given (issue 11).
- ``tfidf`` (when the table has free-text columns): TF-IDF of word uni- and bigrams, the
  other columns beside them, and a logistic regression (``Ridge`` for regression) — the
  strong simple model for text, hard to beat on short texts. The linear model then sees
  the table's columns only (token ids are not numbers to weigh).

Errors use `fullcycle.metrics` (1 − accuracy, 1 − F1, RMSE, ...) exactly as the engine
does, so the baselines sit in the same column as every experiment.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from fullcycle.diagnosis.baseline_outputs import constant_outputs, prior_outputs
from fullcycle.diagnosis.boosting_baseline import (
    MAX_BOOSTING_ROWS,
    MAX_TREE_CATEGORIES,
    fit_boosting,
)
from fullcycle.diagnosis.linear_baseline import fit_linear
from fullcycle.errors import FullcycleError
from fullcycle.metrics import default_metric, metric_error

TASKS = ("regression", "binary", "multiclass", "multilabel", "multitask")

#: The linear model is fitted on at most this many training rows (a seeded sample), so the
#: baselines take seconds inside a time-budgeted run; a linear model's error has long
#: stopped moving by then.
MAX_LINEAR_ROWS = 50_000


def _as_2d(name: str, X: Any) -> np.ndarray:
    array = np.asarray(X, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2:
        raise FullcycleError(f"{name} must be a 2-D (rows, features) table, got shape "
                             f"{array.shape}; pass one row per example")
    if not np.isfinite(array).all():
        raise FullcycleError(f"{name} holds NaN or infinite values; impute or drop them first "
                             "(fullcycle.data.prepare adds missing-value indicators)")
    return array


def _as_target(name: str, task: str, y: Any, n: int) -> np.ndarray:
    target = np.asarray(y, dtype=np.float64)
    if len(target) != n:
        raise FullcycleError(f"{name} has {len(target)} rows but its features have {n}; "
                             "pass features and targets of the same rows")
    if task == "multilabel":
        target = target.reshape(n, -1)
        if not np.isin(target[~np.isnan(target)], (0.0, 1.0)).all():
            raise FullcycleError(f"{name} must hold 0/1 (or NaN for unknown) per label for "
                                 "a multilabel task; encode each label as 0 and 1")
        return target
    target = target.reshape(-1)
    if not np.isfinite(target).all():
        raise FullcycleError(f"{name} holds NaN or infinite targets; drop those rows first")
    if task == "binary" and not np.isin(target, (0.0, 1.0)).all():
        raise FullcycleError(f"{name} must hold 0/1 labels for a binary task; encode the "
                             "classes as 0 and 1")
    if task == "multiclass" and ((target < 0).any() or (target != np.round(target)).any()):
        raise FullcycleError(f"{name} must hold class codes 0..C-1 for a multiclass task; "
                             "encode the classes as integers")
    return target


def baselines(
    task: str,
    X_train: Any,
    y_train: Any,
    X_dev: Any,
    y_dev: Any,
    metric: str | None = None,
    *,
    train_dev: tuple[Any, Any] | None = None,
    categorical: Sequence[tuple[int, int]] = (),
    max_rows: int = MAX_LINEAR_ROWS,
    max_boosting_rows: int = MAX_BOOSTING_ROWS,
    seed: int = 0,
    text_start: int | None = None,
    texts: dict[str, Any] | None = None,
    heads: Sequence[tuple[str, int]] = (),
    head_metrics: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Train and dev errors of the input-independent predictor, a linear model and boosted
    trees.

    Args:
        task: ``"regression"``, ``"binary"``, ``"multiclass"`` or ``"multilabel"``.
        X_train, X_dev: (rows, features) numbers without NaN.
        y_train, y_dev: as `fullcycle.data` delivers them (0/1, class codes, values, or an
            (n, L) 0/1 matrix with NaN for a missing label).
        metric: a `fullcycle.metrics` name; the task's default (seed 003's single number)
            when omitted.
        train_dev: ``(X, y)`` of the train-dev set (training distribution, not trained on;
            seed 003) when dev data comes from another distribution; adds its error.
        categorical: (column, cardinality) pairs whose float codes are one-hot encoded for
            the linear model (``Preprocessor.categorical``).
        max_rows: the linear model is fitted on a seeded sample of at most this many rows.
        max_boosting_rows: the same for the boosted trees.
        seed: seeds the sample and the solver.
        text_start: the first column of token ids in X (``Preprocessor.n_tabular``); the
            linear model uses the columns before it.
        texts: the raw text columns per split (``{"train": DataFrame, "dev": ...,
            "train_dev": ...}``), for the TF-IDF + logistic regression baseline.
        heads, head_metrics: a multitask problem's ``(task, width)`` per target and each
            target's metric; every baseline is fitted per target on its labelled rows and
            its error is the mean of the targets' errors (``per_head`` holds them).

    Returns:
        One dict per baseline — ``mean``/``majority``, ``linear``, ``gradient_boosting``,
        ``tfidf`` on text — floor first: ``{"name", "model", "metric", "train_error",
        "train_dev_error" (None without a train-dev set), "dev_error", "train_rows",
        "fit_seconds", "description"}``.
    """
    if task not in TASKS:
        raise FullcycleError(f"unknown task {task!r}; use one of: {', '.join(TASKS)}")
    if task == "multitask":
        return _per_head(X_train, y_train, X_dev, y_dev, train_dev, categorical, max_rows,
                         max_boosting_rows, seed, text_start, texts, heads, head_metrics)
    X_tr, X_dv = _as_2d("X_train", X_train), _as_2d("X_dev", X_dev)
    if len(X_tr) == 0 or len(X_dv) == 0:
        raise FullcycleError("baselines need a non-empty training and dev set; "
                             "split off dev rows first")
    if X_tr.shape[1] != X_dv.shape[1]:
        raise FullcycleError(f"X_train has {X_tr.shape[1]} features but X_dev has "
                             f"{X_dv.shape[1]}; transform both with the same preprocessor")
    y_tr = _as_target("y_train", task, y_train, len(X_tr))
    y_dv = _as_target("y_dev", task, y_dev, len(X_dv))
    held_out = [("dev_error", X_dv, y_dv)]
    if train_dev is not None and len(train_dev[0]) > 0:
        X_td = _as_2d("X_train_dev", train_dev[0])
        held_out.append(("train_dev_error", X_td,
                         _as_target("y_train_dev", task, train_dev[1], len(X_td))))
    for column, cardinality in categorical:
        if not 0 <= column < X_tr.shape[1] or cardinality < 1:
            raise FullcycleError(f"categorical column {column} (cardinality {cardinality}) is "
                                 f"outside the {X_tr.shape[1]} feature columns; pass (column "
                                 "index, number of categories)")
    for label, limit in (("max_rows", max_rows), ("max_boosting_rows", max_boosting_rows)):
        if limit < 1:
            raise FullcycleError(f"{label} must be a positive number of rows, got {limit}")
    if text_start is not None:
        X_tr, X_dv = X_tr[:, :text_start], X_dv[:, :text_start]
        held_out = [(k, X_h[:, :text_start], y_h) for k, X_h, y_h in held_out]
    metric = metric or default_metric(task, y_tr)
    n_classes = 2
    if task == "multiclass":
        n_classes = int(max(y_tr.max(), *(y.max() for _, _, y in held_out))) + 1

    def errors(predict: Any, X_fit: np.ndarray, y_fit: np.ndarray) -> dict[str, Any]:
        out: dict[str, Any] = {
            "train_error": metric_error(metric, task, predict(X_fit), y_fit, from_logits=False),
            "train_dev_error": None,
        }
        for key, X_h, y_h in held_out:
            out[key] = metric_error(metric, task, predict(X_h), y_h, from_logits=False)
        return out

    results: list[dict[str, Any]] = []
    start = time.perf_counter()
    prior = prior_outputs(task, y_tr, n_classes)
    measured = errors(lambda Z: constant_outputs(prior, len(Z)), X_tr, y_tr)
    floor = "mean" if task == "regression" else "majority"
    results.append({
        "name": floor, "model": "constant", "metric": metric, **measured,
        "train_rows": len(X_tr),
        "fit_seconds": time.perf_counter() - start,
        "description": ("predicts the training mean for every row" if floor == "mean" else
                        "predicts the training class frequencies for every row"),
    })

    rows = _sample_rows(len(X_tr), max_rows, seed)
    strong = []
    if texts is not None and task in ("regression", "binary", "multiclass"):
        from fullcycle.diagnosis.text_baseline import tfidf_baseline

        strong.append(tfidf_baseline(task, metric, texts, (X_tr, y_tr), held_out, rows,
                                     n_classes, categorical, seed))
    if X_tr.shape[1] == 0:  # text only: the TF-IDF model is the linear model
        return results + strong
    start = time.perf_counter()
    X_fit, y_fit = X_tr[rows], y_tr[rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        predict = fit_linear(task, X_fit, y_fit, n_classes, categorical, seed)
    measured = errors(predict, X_fit, y_fit)
    name = "Ridge" if task == "regression" else "LogisticRegression"
    results.append({
        "name": "linear", "model": name, "metric": metric, **measured,
        "train_rows": len(rows),
        "fit_seconds": time.perf_counter() - start,
        "description": (f"scikit-learn {name}"
                        + (" per label" if task == "multilabel" else "")
                        + (", categorical codes one-hot" if categorical else "")
                        + (f", fitted on a sample of {len(rows)} of {len(X_tr)} rows"
                           if len(rows) < len(X_tr) else "")),
    })

    start = time.perf_counter()
    rows = _sample_rows(len(X_tr), max_boosting_rows, seed)
    X_fit, y_fit = X_tr[rows], y_tr[rows]
    # One OpenMP thread: measured 1.5 s against 52 s with two threads for 1,000 rows on a busy
    # 2-core machine (spinning threads), and no fight with torch's threads in the same run.
    with threadpool_limits(limits=1, user_api="openmp"):
        predict, rounds = fit_boosting(task, X_fit, y_fit, n_classes, categorical, seed)
        measured = errors(predict, X_fit, y_fit)
    name = "HistGradientBoosting" + ("Regressor" if task == "regression" else "Classifier")
    as_categories = [c for c, k in categorical if k <= MAX_TREE_CATEGORIES]
    results.append({
        "name": "gradient_boosting", "model": name, "metric": metric, **measured,
        "train_rows": len(rows),
        "fit_seconds": time.perf_counter() - start,
        "description": (f"scikit-learn {name}"
                        + (" per label" if task == "multilabel" else "")
                        + f", {rounds} boosting rounds (early stopping)"
                        + (f", {len(as_categories)} categorical column(s) as categories"
                           if as_categories else "")
                        + (f", fitted on a sample of {len(rows)} of {len(X_tr)} rows"
                           if len(rows) < len(X_tr) else "")),
    })
    return results + strong


def _sample_rows(n: int, limit: int, seed: int) -> np.ndarray:
    """All row numbers, or a seeded sorted sample of ``limit`` of them."""
    rows = np.arange(n)
    if n > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))
    return rows


def _per_head(X_train: Any, y_train: Any, X_dev: Any, y_dev: Any, train_dev: Any,
              categorical: Sequence[tuple[int, int]], max_rows: int,
              max_boosting_rows: int, seed: int,
              text_start: int | None, texts: dict[str, Any] | None,
              heads: Sequence[tuple[str, int]], head_metrics: Sequence[str]
              ) -> list[dict[str, Any]]:
    """Multitask: each baseline per target on its labelled rows, errors averaged."""
    if not heads or len(heads) != len(head_metrics):
        raise FullcycleError("a multitask baseline needs heads=[(task, width), ...] and one "
                             "metric per head")
    y_tr = np.asarray(y_train, dtype=np.float64).reshape(len(y_train), -1)
    y_dv = np.asarray(y_dev, dtype=np.float64).reshape(len(y_dev), -1)
    combined: dict[str, dict[str, Any]] = {}
    for j, ((head, _), metric) in enumerate(zip(heads, head_metrics, strict=True)):
        keep_tr, keep_dv = ~np.isnan(y_tr[:, j]), ~np.isnan(y_dv[:, j])
        if keep_tr.sum() < 2 or keep_dv.sum() < 1:
            continue
        td = None
        if train_dev is not None and len(train_dev[0]):
            y_td = np.asarray(train_dev[1], dtype=np.float64).reshape(len(train_dev[1]), -1)
            keep_td = ~np.isnan(y_td[:, j])
            td = (np.asarray(train_dev[0])[keep_td], y_td[keep_td, j])
        part = None if texts is None else {
            "train": texts["train"][keep_tr], "dev": texts["dev"][keep_dv],
            **({"train_dev": texts["train_dev"][keep_td]} if td is not None
               and "train_dev" in texts else {})}
        rows = baselines(head, np.asarray(X_train)[keep_tr], y_tr[keep_tr, j],
                         np.asarray(X_dev)[keep_dv], y_dv[keep_dv, j], metric,
                         train_dev=td, categorical=categorical, max_rows=max_rows,
                         max_boosting_rows=max_boosting_rows, seed=seed,
                         text_start=text_start, texts=part)
        for row in rows:
            name = "majority" if row["name"] in ("majority", "mean") else row["name"]
            entry = combined.setdefault(name, {"name": name, "model": "per target",
                                               "metric": "mean_task_error", "per_head": [],
                                               "train_rows": row["train_rows"],
                                               "fit_seconds": 0.0,
                                               "description": row["description"]})
            entry["per_head"].append({k: row[k] for k in ("model", "metric", "train_error",
                                                          "train_dev_error", "dev_error")})
            entry["fit_seconds"] += row["fit_seconds"]
    for entry in combined.values():
        for key in ("train_error", "train_dev_error", "dev_error"):
            values = [h[key] for h in entry["per_head"] if h[key] is not None]
            entry[key] = float(np.mean(values)) if values else None
        entry["description"] = (f"{entry['name']} per target ({len(entry['per_head'])} "
                                "targets), errors averaged")
    return list(combined.values())
