"""Error analysis of a multi-task model: each task analysed on its own labelled rows.

Seed 003's multi-task learning shares one trunk between tasks, but each task still has its
own errors to look at: a binary head has a confusion matrix, a regression head its worst
residuals. Each head's outputs are turned into what its task reports (probabilities, or
values in the target's units), analysed with `error_analysis` on the rows where that task
has a label (a missing label is no error), and the tasks' errors are averaged into the
overall number (a regression task's RMSE divided by its training std, as in
`fullcycle.metrics.task_errors`). One errors.csv holds every task's errors with a ``task``
column.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fullcycle.analysis.errors import ErrorAnalysis, error_analysis
from fullcycle.data.task import Head, head_slices
from fullcycle.metrics import probabilities


def head_predictions(head: Head, outputs: np.ndarray, mean: float = 0.0,
                     std: float = 1.0) -> np.ndarray:
    """Probabilities (binary: (n,), multiclass: (n, C)) or values in the target's units."""
    if head.task == "regression":
        return outputs.reshape(-1) * std + mean
    return probabilities(head.task, outputs)


def multitask_analysis(heads: list[Head], encodings: list[dict], y: np.ndarray,
                       outputs: np.ndarray, *, features: pd.DataFrame | None,
                       rows: np.ndarray, text_columns: list[str] | None = None,
                       seed: int = 0) -> tuple[dict[str, Any], ErrorAnalysis]:
    """(JSON document with each task's analysis and the overall error, combined analysis
    whose examples are every task's rows for errors.csv)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(outputs), -1)
    tasks: dict[str, Any] = {}
    frames, scaled = [], []
    for j, (head, where) in enumerate(zip(heads, head_slices(heads), strict=True)):
        present = ~np.isnan(y[:, j])
        if present.sum() < 2:
            tasks[head.name] = {"task": head.task, "n_examples": int(present.sum()),
                                "notes": ["too few labelled dev rows to analyse"]}
            continue
        enc = encodings[j]
        pred = head_predictions(head, outputs[present][:, where], enc["mean"], enc["std"])
        truth = (y[present, j] * enc["std"] + enc["mean"] if head.task == "regression"
                 else y[present, j].astype(int))
        part = None if features is None else features.iloc[np.flatnonzero(present)]
        analysis = error_analysis(truth, pred, task=head.task,
                                  classes=list(map(str, head.classes)) or None,
                                  features=part, rows=rows[present], seed=seed,
                                  text_columns=text_columns)
        tasks[head.name] = analysis.to_dict()
        scaled.append(analysis.error / enc["std"] if head.task == "regression"
                      else analysis.error)
        frames.append(analysis.examples.assign(task=head.name))
    examples = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"row": [], "loss": [], "is_error": []})
    if "task" in examples:
        examples = examples[["task", *[c for c in examples.columns if c != "task"]]]
    overall = float(np.mean(scaled)) if scaled else float("nan")
    combined = ErrorAnalysis(task="multitask", n_examples=len(y), error=overall,
                             examples=examples, text_columns=list(text_columns or []))
    doc = {"task": "multitask", "n_examples": len(y), "error": overall, "tasks": tasks,
           "n_errors": int(examples["is_error"].sum()) if len(examples) else 0,
           "notes": ["overall error: the mean of the tasks' errors (regression RMSE divided "
                     "by the target's training std); each task analysed on its labelled "
                     "rows"]}
    return doc, combined
