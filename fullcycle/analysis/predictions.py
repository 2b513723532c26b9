"""Read the dev-set predictions a run saved (``DIR/dev_predictions.csv``).

The autopilot writes one row per dev example: ``row`` (0-based row in the input file),
``y_true``, then either ``proba_<class>`` for every class (classification, in class order)
or ``y_pred`` (regression, original units); a multilabel run writes ``y_true_<label>``
(0/1, empty when unknown) and ``proba_<label>`` per label instead. Every other column is an
input column of that example, used to slice the errors and shown in ``errors.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

PREDICTIONS_NAME = "dev_predictions.csv"
PROBA_PREFIX = "proba_"
INPUT_PREFIX = "input."


@dataclass(frozen=True)
class DevPredictions:
    """Dev labels, predictions and input columns, aligned row for row."""

    task: str
    rows: np.ndarray
    y_true: np.ndarray
    predictions: np.ndarray
    classes: list[str] | None
    features: pd.DataFrame


def read_dev_predictions(path: str | Path) -> DevPredictions:
    """Parse and validate a ``dev_predictions.csv``; problems name the file and the fix."""
    path = Path(path)
    if not path.is_file():
        raise FullcycleError(
            f"{path} not found; run `fullcycle run DATA --target COL --out {path.parent}` "
            "first, which saves the dev predictions"
        )
    try:
        frame = pd.read_csv(path, dtype={"y_true": str}, keep_default_na=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise FullcycleError(f"cannot read {path} ({exc}); re-create the run") from None
    if "y_true" not in frame.columns and any(c.startswith("y_true_") for c in frame.columns):
        return _multilabel(frame, path)
    missing = [c for c in ("row", "y_true") if c not in frame.columns]
    if missing:
        raise FullcycleError(
            f"{path} lacks column(s) {', '.join(missing)}; it must hold row, y_true and "
            "proba_<class> or y_pred columns"
        )
    if frame.empty:
        raise FullcycleError(
            f"{path} has no rows; the dev set is empty, so there is nothing to analyse"
        )
    proba_columns = [c for c in frame.columns if c.startswith(PROBA_PREFIX)]
    if not proba_columns and "y_pred" not in frame.columns:
        raise FullcycleError(
            f"{path} has neither proba_<class> columns nor a y_pred column; re-create the run"
        )
    prediction_columns = proba_columns or ["y_pred"]
    # Beside probabilities, a y_pred column is only the argmax of them: not an input.
    inputs = frame.drop(columns=["row", "y_true", "y_pred", *proba_columns], errors="ignore")
    inputs.columns = [c.removeprefix(INPUT_PREFIX) for c in inputs.columns]
    try:
        rows = frame["row"].to_numpy(dtype=np.int64)
        predictions = frame[prediction_columns].to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise FullcycleError(
            f"{path} holds non-numeric row numbers or predictions; re-create the run"
        ) from None
    if proba_columns:
        if frame["y_true"].isna().any():
            raise FullcycleError(f"{path} has rows without y_true; re-create the run")
        classes = [c.removeprefix(PROBA_PREFIX) for c in proba_columns]
        task = "binary" if len(classes) == 2 else "multiclass"
        return DevPredictions(
            task, rows, frame["y_true"].to_numpy(dtype=str), predictions, classes, inputs
        )
    try:
        y_true = frame["y_true"].astype(float).to_numpy()
    except ValueError:
        raise FullcycleError(
            f"{path} has a y_pred column but non-numeric y_true; regression needs numbers"
        ) from None
    return DevPredictions("regression", rows, y_true, predictions[:, 0], None, inputs)


def _multilabel(frame: pd.DataFrame, path: Path) -> DevPredictions:
    labels = [c.removeprefix("y_true_") for c in frame.columns if c.startswith("y_true_")]
    lacking = [label for label in labels if f"{PROBA_PREFIX}{label}" not in frame.columns]
    if "row" not in frame.columns or lacking:
        raise FullcycleError(
            f"{path} is a multilabel file without row or proba_<label> columns for "
            f"{', '.join(lacking) or 'its labels'}; re-create the run"
        )
    truth = [f"y_true_{label}" for label in labels]
    proba = [f"{PROBA_PREFIX}{label}" for label in labels]
    try:
        y_true = frame[truth].to_numpy(dtype=float)
        predictions = frame[proba].to_numpy(dtype=float)
        rows = frame["row"].to_numpy(dtype=np.int64)
    except (TypeError, ValueError):
        raise FullcycleError(
            f"{path} holds non-numeric labels or probabilities; re-create the run"
        ) from None
    inputs = frame.drop(columns=["row", *truth, *proba, "y_pred"], errors="ignore")
    inputs.columns = [c.removeprefix(INPUT_PREFIX) for c in inputs.columns]
    return DevPredictions("multilabel", rows, y_true, predictions, labels, inputs)
