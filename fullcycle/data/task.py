"""Infer the learning task from the target column(s).

A float target with many distinct values is regression; a target with two values is binary;
a few discrete values (integers or strings) make a multiclass task; several 0/1 columns make
a multilabel task; several targets of mixed kinds (a 0/1 label, a class, a number) make a
multi-task problem (seed 003: one network, one trunk, one head per task, each task's loss
summed with its missing labels left out). `--task` overrides the guess, and the checks that
follow (one class only, non-numeric regression target) still apply, per target.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

TASKS = ("regression", "binary", "multiclass", "multilabel", "multitask")
HEAD_TASKS = ("regression", "binary", "multiclass")

# An integer target with more distinct values than this is treated as regression (counts,
# prices in whole units); below it, as classes. Users override with --task.
MAX_CLASSES_FOR_INTEGER_TARGET = 20
# A text target with more distinct values than this, most rows having their own, names rows
# (a customer id, a free-text comment) rather than classes.
MAX_TEXT_CLASSES = 100


@dataclass(frozen=True)
class Head:
    """One task of a multi-task problem: its target column, kind and label space."""

    name: str
    task: str  # regression | binary | multiclass
    classes: tuple = ()

    @property
    def width(self) -> int:
        """Outputs this head takes: C logits for C classes, one otherwise."""
        return len(self.classes) if self.task == "multiclass" else 1

    def to_dict(self) -> dict:
        return {"name": self.name, "task": self.task, "classes": list(self.classes)}


def head_slices(heads: tuple[Head, ...] | list[Head]) -> list[slice]:
    """Where each head's outputs sit in the model's concatenated output vector."""
    out, start = [], 0
    for head in heads:
        out.append(slice(start, start + head.width))
        start += head.width
    return out


@dataclass(frozen=True)
class TaskInfo:
    """The task and the label space it implies."""

    task: str
    targets: tuple[str, ...]
    classes: tuple  # class labels (binary / multiclass) or label columns (multilabel)
    heads: tuple[Head, ...] = field(default=())  # multitask: one per target


def infer_task(frame: pd.DataFrame, targets: list[str], override: str | None = None) -> TaskInfo:
    """Decide regression / binary / multiclass / multilabel from the target values."""
    if override is not None and override not in TASKS:
        raise FullcycleError(f"unknown task '{override}'; use one of: {', '.join(TASKS)}")
    if override == "multitask" and len(targets) < 2:
        raise FullcycleError("--task multitask needs several targets; pass --target a,b,c")
    if len(targets) > 1 and override in (None, "multitask") and (
            override == "multitask" or not _all_zero_one(frame, targets)):
        return _multitask(frame, targets)
    if len(targets) > 1 or override == "multilabel":
        return _multilabel(frame, targets, override)
    column = targets[0]
    values = frame[column].dropna()
    if values.empty:
        raise FullcycleError(
            f"target column '{column}' has no values; choose a column with labels"
        )
    distinct = values.unique()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    task = override or _guess(values, distinct, numeric)
    if task == "regression":
        if not numeric:
            raise FullcycleError(
                f"target '{column}' is not numeric (e.g. {distinct[0]!r}) but the task is "
                "regression; convert it to numbers or use --task multiclass"
            )
        return TaskInfo("regression", (column,), ())
    if not numeric and len(distinct) > MAX_TEXT_CLASSES and len(distinct) > 0.5 * len(values):
        examples = ", ".join(repr(v) for v in distinct[:3])
        raise FullcycleError(
            f"target '{column}' has {len(distinct):,} distinct values in {len(values):,} rows "
            f"({examples}, …): an identifier or free text, not a label; choose another "
            "--target"
        )
    if len(distinct) < 2:
        raise FullcycleError(
            f"target '{column}' has only one class ({distinct[0]!r}); a classifier needs at "
            "least two — check the file or the target column"
        )
    if task == "binary" and len(distinct) != 2:
        raise FullcycleError(
            f"--task binary but target '{column}' has {len(distinct)} classes; "
            "use --task multiclass"
        )
    return TaskInfo(task, (column,), tuple(_sorted_labels(distinct)))


def _guess(values: pd.Series, distinct: np.ndarray, numeric: bool) -> str:
    if len(distinct) == 2:
        return "binary"
    if not numeric:
        return "multiclass"
    is_integral = pd.api.types.is_integer_dtype(values) or bool(
        np.all(np.equal(np.mod(values.to_numpy(dtype=float), 1), 0))
    )
    if is_integral and len(distinct) <= MAX_CLASSES_FOR_INTEGER_TARGET:
        return "multiclass"
    return "regression"


def _all_zero_one(frame: pd.DataFrame, targets: list[str]) -> bool:
    return all(set(pd.unique(frame[c].dropna())).issubset({0, 1}) for c in targets)


def _multitask(frame: pd.DataFrame, targets: list[str]) -> TaskInfo:
    """One head per target, each inferred (and checked) as a single-target task would be."""
    heads = []
    for column in targets:
        info = infer_task(frame, [column])
        heads.append(Head(column, info.task, info.classes))
    return TaskInfo("multitask", tuple(targets), tuple(targets), tuple(heads))


def _multilabel(frame: pd.DataFrame, targets: list[str], override: str | None) -> TaskInfo:
    for column in targets:
        values = frame[column].dropna()
        if not set(pd.unique(values)).issubset({0, 1}):
            raise FullcycleError(
                f"multilabel target '{column}' must hold only 0/1 (blank = unknown); "
                f"found {sorted(map(str, pd.unique(values)))[:5]}"
            )
        if values.nunique() < 2:
            raise FullcycleError(
                f"label column '{column}' has only one value; drop it from --target"
            )
    return TaskInfo("multilabel", tuple(targets), tuple(targets))


def _sorted_labels(distinct: np.ndarray) -> list:
    items = [v.item() if hasattr(v, "item") else v for v in distinct]
    try:
        return sorted(items)
    except TypeError:
        return sorted(items, key=str)
