"""Error analysis of a model's dev-set predictions (flow step 11).

Seed 003, "Error Analysis": look at the examples the model gets wrong, find why, and fix
what removes the most error first. :func:`error_analysis` works on plain arrays (true
labels, predicted probabilities or values, a DataFrame of input columns, row numbers) so
it runs on any model, and returns an :class:`ErrorAnalysis` holding

* the confusion matrix and per-class precision / recall / F1 (scikit-learn),
* error by slice of the input columns, the slices that hurt most first,
* the highest-loss examples,
* suspected label errors (confident learning via cleanlab),

and, for regression, the same analysis by absolute error instead of a confusion matrix; for
multilabel, per-label counts and scores (`fullcycle.analysis.multilabel`).
:func:`write_errors_csv` writes the dev errors with an empty ``tags`` column for a person to
fill; :func:`fullcycle.analysis.ceiling.ceiling_table` turns the filled tags into the
seeds' ceiling table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.analysis.ceiling import ceiling_table
from fullcycle.analysis.errors_csv import write_errors_csv
from fullcycle.analysis.label_errors import LabelIssue, find_label_issues, out_of_fold_proba
from fullcycle.analysis.slices import Slice, error_by_slice
from fullcycle.analysis.text import add_texts, slice_frame
from fullcycle.errors import FullcycleError

__all__ = ["ErrorAnalysis", "ceiling_table", "error_analysis", "write_errors_csv"]

CLASSIFICATION = ("binary", "multiclass")
# Regression has no "misclassified" rows: the errors worth tagging by hand are the worst
# tenth by absolute error (the tail a person can learn most from).
REGRESSION_TAIL = 0.1


@dataclass
class ErrorAnalysis:
    """Everything error analysis found on one set of predictions; ``to_dict()`` for JSON."""

    task: str
    n_examples: int
    error: float
    classes: list[str] | None = None
    confusion_matrix: list[list[int]] | None = None
    per_class: list[dict[str, Any]] | None = None
    absolute_error: dict[str, float] | None = None
    slices: list[Slice] = field(default_factory=list)
    highest_loss: list[dict[str, Any]] = field(default_factory=list)
    label_issues: list[LabelIssue] | None = None
    label_confusion: list[dict[str, Any]] | None = None
    n_label_decisions: int | None = None  # multilabel: known (example, label) pairs
    n_wrong_labels: int | None = None  # multilabel: wrong ones (the Hamming loss's numerator)
    notes: list[str] = field(default_factory=list)
    examples: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    text_columns: list[str] = field(default_factory=list)

    @property
    def error_examples(self) -> pd.DataFrame:
        """The dev examples to review by hand: misclassified ones, or regression's worst tenth."""
        return self.examples[self.examples["is_error"]].sort_values("loss", ascending=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_examples": self.n_examples,
            "n_errors": int(self.examples["is_error"].sum()) if len(self.examples) else 0,
            "error": self.error,
            "classes": self.classes,
            "confusion_matrix": self.confusion_matrix,
            "per_class": self.per_class,
            "label_confusion": self.label_confusion,
            "n_label_decisions": self.n_label_decisions,
            "n_wrong_labels": self.n_wrong_labels,
            "absolute_error": self.absolute_error,
            "slices": [s.to_dict() for s in self.slices],
            "highest_loss": self.highest_loss,
            "label_issues": None
            if self.label_issues is None
            else add_texts([i.to_dict() for i in self.label_issues], self.examples,
                           self.text_columns),
            "notes": list(self.notes),
        }


def _class_codes(y_true: np.ndarray, classes: list[Any] | None) -> tuple[np.ndarray, list[str]]:
    """Class codes 0..C-1 and the class names, from codes (with ``classes``) or labels."""
    if classes is None:
        labels, codes = np.unique(y_true, return_inverse=True)
        return codes.astype(int), [str(c) for c in labels]
    names = [str(c) for c in classes]
    if np.issubdtype(y_true.dtype, np.number) and np.all(np.mod(y_true, 1) == 0):
        codes = y_true.astype(int)
        if codes.min(initial=0) < 0 or codes.max(initial=0) >= len(names):
            raise FullcycleError(
                f"labels hold codes outside 0..{len(names) - 1}; pass class codes that index "
                "`classes`, or the labels themselves"
            )
        return codes, names
    lookup = {name: i for i, name in enumerate(names)}
    unknown = sorted({str(v) for v in y_true} - set(lookup))
    if unknown:
        raise FullcycleError(
            f"labels {unknown[:5]} are not among classes {names}; pass the full class list"
        )
    return np.array([lookup[str(v)] for v in y_true], dtype=int), names


def _as_proba(predictions: np.ndarray, n_classes: int) -> np.ndarray:
    """(n, C) probabilities; a 1-D input is the positive-class probability of a binary task."""
    proba = np.asarray(predictions, dtype=float)
    if proba.ndim == 1:
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or proba.shape[1] != n_classes:
        raise FullcycleError(
            f"predictions have shape {proba.shape} but there are {n_classes} classes; pass one "
            "probability column per class"
        )
    if not np.all(np.isfinite(proba)) or proba.min() < -1e-6 or proba.max() > 1 + 1e-6:
        raise FullcycleError(
            "predictions are not probabilities (outside [0, 1] or NaN); apply softmax or "
            "sigmoid to the model's outputs first"
        )
    sums = proba.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-3):
        raise FullcycleError(
            "predicted probabilities do not sum to 1 per row; apply softmax to the logits first"
        )
    return np.clip(proba, 0.0, 1.0)


def _features_frame(features: pd.DataFrame | None, n: int) -> pd.DataFrame:
    if features is None:
        return pd.DataFrame(index=range(n))
    if len(features) != n:
        raise FullcycleError(
            f"features have {len(features)} rows but there are {n} predictions; pass the input "
            "columns of the same dev rows"
        )
    return features.reset_index(drop=True)


def _classification(
    codes: np.ndarray, proba: np.ndarray, classes: list[str], threshold: float = 0.5
) -> tuple[np.ndarray, np.ndarray, list[list[int]], list[dict[str, Any]]]:
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_pred = ((proba[:, 1] >= threshold).astype(int) if proba.shape[1] == 2
              else proba.argmax(axis=1))
    labels = list(range(len(classes)))
    matrix = confusion_matrix(codes, y_pred, labels=labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        codes, y_pred, labels=labels, zero_division=0
    )
    per_class = [
        {
            "class": classes[i],
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i in labels
    ]
    # Cross-entropy of each example: the loss the model was trained on, so "highest loss"
    # means "most confidently wrong".
    loss = -np.log(np.clip(proba[np.arange(len(codes)), codes], 1e-12, 1.0))
    return y_pred, loss, matrix.astype(int).tolist(), per_class


def error_analysis(
    y_true: Any,
    predictions: Any,
    *,
    task: str | None = None,
    classes: list[Any] | None = None,
    features: pd.DataFrame | None = None,
    rows: Any = None,
    label_proba: Any = None,
    label_features: Any = None,
    top_k: int = 20,
    n_bins: int = 4,
    min_slice: int = 5,
    label_issues: bool = True,
    seed: int = 0,
    text_columns: list[str] | None = None,
    threshold: float = 0.5,
) -> ErrorAnalysis:
    """Analyse where a model's dev-set errors come from.

    ``y_true``: class codes (with ``classes``) or labels for classification, numbers for
    regression, an (n, L) 0/1 matrix (NaN = unknown) for multilabel. ``predictions``:
    (n, C) class probabilities (or the positive-class probability for binary), predicted
    values for regression, (n, L) per-label probabilities for multilabel (pass
    ``task="multilabel"`` and the label names as ``classes``). ``task`` is inferred
    (2-D predictions or a 1-D one with ``task="binary"`` are classification, 1-D is
    regression). ``features``: the input columns of the same rows, sliced by value or
    quantile bin. ``rows``: each example's 0-based row number in the input file (default
    0..n-1); every row reported uses it.

    Label errors need out-of-sample probabilities: dev predictions of a model trained on
    the training split are, so they are used by default. Pass ``label_proba`` to use
    other out-of-fold probabilities, or ``label_features`` (a numeric matrix) to compute
    them by cross-validated logistic regression.

    ``text_columns`` name free-text columns of ``features``: they are sliced by their length
    in words, and the highest-loss rows and label issues carry their text. ``threshold``: a
    binary model's decision threshold on the second class's probability (0.5 by default).
    """
    y = np.asarray(y_true)
    pred = np.asarray(predictions)
    n = len(y)
    if n == 0:
        raise FullcycleError("no examples to analyse; pass the dev set's labels and predictions")
    if len(pred) != n:
        raise FullcycleError(
            f"{n} labels but {len(pred)} predictions; pass one prediction per dev example"
        )
    if task is None:
        task = (
            "regression" if pred.ndim == 1 else ("binary" if pred.shape[1] == 2 else "multiclass")
        )
    if task not in (*CLASSIFICATION, "regression", "multilabel"):
        raise FullcycleError(
            f"unknown task {task!r}; use regression, binary, multiclass or multilabel"
        )
    row_numbers = np.arange(n) if rows is None else np.asarray(rows).astype(int)
    if len(row_numbers) != n:
        raise FullcycleError(f"{len(row_numbers)} row numbers for {n} examples; pass one per row")
    frame = _features_frame(features, n)
    texts = [c for c in (text_columns or []) if c in frame.columns]
    result = _analyse(task, y, pred, frame, slice_frame(frame, texts), row_numbers, classes,
                      label_proba, label_features, top_k, n_bins, min_slice, label_issues, seed,
                      threshold)
    result.text_columns = texts
    if texts:
        result.highest_loss = add_texts(result.highest_loss, result.examples, texts)
        result.notes.append(f"text column(s) {', '.join(texts)} sliced by length in words")
    return result


def _analyse(task: str, y: np.ndarray, pred: np.ndarray, frame: pd.DataFrame,
             sliced: pd.DataFrame, row_numbers: np.ndarray, classes: list[Any] | None,
             label_proba: Any, label_features: Any, top_k: int, n_bins: int, min_slice: int,
             label_issues: bool, seed: int, threshold: float = 0.5) -> ErrorAnalysis:
    n = len(y)
    if task == "regression":
        return _regression(y, pred, frame, row_numbers, top_k, n_bins, min_slice, sliced)
    if task == "multilabel":
        from fullcycle.analysis.multilabel import multilabel_analysis

        fields = multilabel_analysis(
            y,
            pred,
            classes=classes,
            frame=frame,
            rows=row_numbers,
            top_k=top_k,
            n_bins=n_bins,
            min_slice=min_slice,
            label_issues=label_issues,
            sliced=sliced,
        )
        return ErrorAnalysis(task="multilabel", n_examples=n, **fields)

    if classes is None and np.issubdtype(y.dtype, np.number):
        # Codes without names: one class per probability column, even if some class has no
        # dev row (np.unique of the labels would silently drop it).
        classes = list(range(pred.shape[1] if pred.ndim == 2 else 2))
    codes, names = _class_codes(y, classes)
    proba = _as_proba(pred, len(names))
    y_pred, loss, matrix, per_class = _classification(codes, proba, names, threshold)
    wrong = y_pred != codes
    examples = pd.DataFrame(
        {
            "row": row_numbers,
            "y_true": [names[c] for c in codes],
            "y_pred": [names[c] for c in y_pred],
            "confidence": proba.max(axis=1),
            "loss": loss,
            "is_error": wrong,
        }
    )
    result = ErrorAnalysis(
        task=task,
        n_examples=n,
        error=float(wrong.mean()),
        classes=names,
        confusion_matrix=matrix,
        per_class=per_class,
        slices=error_by_slice(sliced, wrong.astype(float), n_bins=n_bins, min_count=min_slice),
        highest_loss=_top_rows(examples, top_k),
        examples=pd.concat([examples, frame.add_prefix("input.")], axis=1),
    )
    if label_issues:
        oof = _label_proba(codes, proba, label_proba, label_features, seed)
        result.label_issues = find_label_issues(codes, oof, row_numbers, names)
        if not result.label_issues and len(np.unique(codes)) < len(names):
            result.notes.append(
                "label errors not searched: some classes are absent from these rows"
            )
    return result


def _label_proba(
    codes: np.ndarray, proba: np.ndarray, label_proba: Any, label_features: Any, seed: int
) -> np.ndarray:
    if label_proba is not None:
        return _as_proba(np.asarray(label_proba), proba.shape[1])
    if label_features is not None:
        X = np.asarray(label_features, dtype=float)
        if len(X) != len(codes):
            raise FullcycleError(
                f"label_features have {len(X)} rows for {len(codes)} labels; pass the same rows"
            )
        return out_of_fold_proba(X, codes, seed=seed)
    return proba


def _regression(
    y: np.ndarray,
    pred: np.ndarray,
    frame: pd.DataFrame,
    row_numbers: np.ndarray,
    top_k: int,
    n_bins: int,
    min_slice: int,
    sliced: pd.DataFrame | None = None,
) -> ErrorAnalysis:
    try:
        y_true = y.astype(float)
        y_pred = pred.astype(float).reshape(len(y))
    except (TypeError, ValueError) as exc:
        raise FullcycleError(
            "regression targets and predictions must be numbers; pass task='multiclass' "
            "for class labels"
        ) from exc
    residual = y_pred - y_true
    abs_error = np.abs(residual)
    # The worst tenth by rank (ties broken by position), at least the single worst row.
    n_tail = max(1, int(np.ceil(len(abs_error) * REGRESSION_TAIL)))
    is_error = np.zeros(len(abs_error), dtype=bool)
    is_error[np.argsort(-abs_error, kind="stable")[:n_tail]] = True
    threshold = float(abs_error[is_error].min())
    examples = pd.DataFrame(
        {
            "row": row_numbers,
            "y_true": y_true,
            "y_pred": y_pred,
            "residual": residual,
            "abs_error": abs_error,
            "loss": residual**2,
            "is_error": is_error,
        }
    )
    q = np.quantile(abs_error, [0.5, 0.9, 0.99])
    summary = {
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(abs_error.mean()),
        "bias": float(residual.mean()),
        "median": float(q[0]),
        "p90": float(q[1]),
        "p99": float(q[2]),
        "max": float(abs_error.max()),
    }
    return ErrorAnalysis(
        task="regression",
        n_examples=len(y_true),
        error=summary["rmse"],
        absolute_error=summary,
        slices=error_by_slice(frame if sliced is None else sliced, abs_error, n_bins=n_bins,
                              min_count=min_slice),
        highest_loss=_top_rows(examples, top_k),
        examples=pd.concat([examples, frame.add_prefix("input.")], axis=1),
        notes=[
            "slices rank by absolute error (error_rate is the slice's mean absolute error); "
            f"errors.csv holds the worst tenth (absolute error {threshold:.4g} and above)"
        ],
    )


def _top_rows(examples: pd.DataFrame, k: int) -> list[dict[str, Any]]:
    top = examples.sort_values("loss", ascending=False, kind="stable").head(k)
    return [
        {key: (value.item() if hasattr(value, "item") else value) for key, value in rec.items()}
        for rec in top.drop(columns=["is_error"]).to_dict("records")
    ]
