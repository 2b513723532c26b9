"""Error analysis of a multilabel task: each label is its own yes/no decision.

There is no single confusion matrix when an example can carry several labels, so each
label gets its own 2×2 counts and precision / recall / F1; an example is an *error* when
at least one of its known labels is wrong (that is what a person reviews in errors.csv),
and the error rate is the share of wrong label decisions (Hamming loss). Missing labels
(NaN, "not annotated") are left out everywhere, as the multi-task loss leaves them out.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.analysis.label_errors import LabelIssue
from fullcycle.analysis.slices import error_by_slice
from fullcycle.errors import FullcycleError

THRESHOLD = 0.5  # a label is predicted present when its sigmoid probability reaches 0.5


def _validate(y_true: Any, proba: Any, classes: list[Any] | None) -> tuple[np.ndarray, ...]:
    try:
        y = np.asarray(y_true, dtype=float)
        p = np.asarray(proba, dtype=float)
    except (TypeError, ValueError):
        raise FullcycleError(
            "multilabel labels and predictions must be numbers: one 0/1 column per label "
            "(NaN where unknown) and one probability column per label"
        ) from None
    if y.ndim != 2 or p.shape != y.shape:
        raise FullcycleError(
            f"multilabel labels have shape {y.shape} and predictions {p.shape}; pass two "
            "(examples, labels) arrays of the same shape"
        )
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
        raise FullcycleError(
            "multilabel predictions are not probabilities; apply a sigmoid to each output first"
        )
    known = ~np.isnan(y)
    if not np.isin(y[known], (0.0, 1.0)).all():
        raise FullcycleError("multilabel labels must be 0 or 1 (NaN where unknown)")
    names = [str(c) for c in classes] if classes else [f"label_{j}" for j in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise FullcycleError(f"{len(names)} label names for {y.shape[1]} label columns")
    return y, p, known, np.array(names, dtype=object)


def _per_label(y: np.ndarray, pred: np.ndarray, known: np.ndarray, names: np.ndarray):
    per_class, confusion = [], []
    for j, name in enumerate(names):
        t, q = y[known[:, j], j].astype(bool), pred[known[:, j], j]
        tp, fp = int(np.sum(t & q)), int(np.sum(~t & q))
        fn, tn = int(np.sum(t & ~q)), int(np.sum(~t & ~q))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class.append(
            {
                "class": str(name),
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": int(t.sum()),
            }
        )
        confusion.append({"label": str(name), "tn": tn, "fp": fp, "fn": fn, "tp": tp})
    return per_class, confusion


def _label_issues(y, p, known, names, rows) -> list[LabelIssue]:
    """Confident learning on the fully annotated rows (cleanlab's multi-label mode)."""
    from cleanlab.multilabel_classification.filter import find_label_issues
    from cleanlab.multilabel_classification.rank import get_label_quality_scores

    complete = np.flatnonzero(known.all(axis=1))
    present = y[complete].sum(axis=0)
    # cleanlab estimates noise per label: each needs positives and negatives to learn from.
    if len(complete) < 10 or (present == 0).any() or (present == len(complete)).any():
        return []
    labels = [list(np.flatnonzero(y[i] == 1)) for i in complete]
    ranked = find_label_issues(
        labels, p[complete], return_indices_ranked_by="self_confidence", n_jobs=1
    )
    quality = get_label_quality_scores(labels, p[complete])
    issues = []
    for k in ranked:
        i = complete[k]
        issues.append(
            LabelIssue(
                row=int(rows[i]),
                given_label=";".join(names[y[i] == 1]) or "(none)",
                suggested_label=";".join(names[p[i] >= THRESHOLD]) or "(none)",
                label_quality=float(quality[k]),
            )
        )
    return issues


def multilabel_analysis(
    y_true: Any,
    proba: Any,
    *,
    classes: list[Any] | None,
    frame: pd.DataFrame,
    rows: np.ndarray,
    top_k: int,
    n_bins: int,
    min_slice: int,
    label_issues: bool,
    sliced: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The fields of an `ErrorAnalysis` for a multilabel task (see module docstring)."""
    y, p, known, names = _validate(y_true, proba, classes)
    pred = p >= THRESHOLD
    wrong = known & (pred != (y == 1))
    n_known = known.sum(axis=1)
    clipped = np.clip(p, 1e-12, 1 - 1e-12)
    bce = -(np.where(y == 1, np.log(clipped), np.log(1 - clipped)))
    loss = np.where(
        n_known > 0, np.nansum(np.where(known, bce, 0.0), axis=1) / np.maximum(n_known, 1), 0.0
    )
    is_error = wrong.any(axis=1)
    per_class, confusion = _per_label(y, pred, known, names)
    examples = pd.DataFrame(
        {
            "row": rows,
            "y_true": [";".join(names[(y[i] == 1) & known[i]]) for i in range(len(y))],
            "y_pred": [";".join(names[pred[i]]) for i in range(len(y))],
            "wrong_labels": [";".join(names[wrong[i]]) for i in range(len(y))],
            "loss": loss,
            "is_error": is_error,
        }
    )
    top = examples.sort_values("loss", ascending=False, kind="stable").head(top_k)
    return {
        "error": float(wrong.sum() / max(int(known.sum()), 1)),
        "n_label_decisions": int(known.sum()),
        "n_wrong_labels": int(wrong.sum()),
        "classes": [str(n) for n in names],
        "per_class": per_class,
        "label_confusion": confusion,
        "slices": error_by_slice(frame if sliced is None else sliced, is_error.astype(float),
                                 n_bins=n_bins, min_count=min_slice),
        "highest_loss": top.drop(columns=["is_error"]).to_dict("records"),
        "label_issues": _label_issues(y, p, known, names, rows) if label_issues else None,
        "examples": pd.concat([examples, frame.add_prefix("input.")], axis=1),
        "notes": [
            "multilabel: an example is an error when any known label is wrong; the "
            "error rate is the share of wrong label decisions (Hamming loss)"
        ],
    }
